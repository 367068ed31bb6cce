//! Authority changes: the governance transaction of an authority chain
//! (`poa`, ADR 0025). A [`TxKind::Authority`] transaction adds, re-weights
//! or removes one validator from a later height. It spends nothing and pays
//! no fee; its witnesses are authorities' keys and their signatures over
//! the transaction's signature message (no spent outputs), and it is valid
//! only when those authorities hold more than two thirds of the voting
//! power in force at the height of the block that carries it.
//!
//! Checks come in the same tiers as transfers: [`check_shape`] needs only
//! the transaction and the spec; [`check_authority_change`] needs the
//! consensus state the block builds on and verifies the signatures.

use std::collections::HashSet;

use luminex_primitives::{AuthorityChange, Hash, Transaction, TxKind, Witness};

use crate::validators::{ConsensusRecord, PendingChange, Validator, ValidatorSet};
use crate::ChainSpec;

/// The fewest heights between the block that carries a change and the
/// change's effective height: the set that finalizes block `H + 2` is
/// fixed once block `H` is (the header of `H + 1` commits to it).
pub const MIN_CHANGE_DELAY: u64 = 3;

/// The most heights ahead a change may be scheduled: bounds how long a
/// pending change sits in the consensus state.
pub const MAX_CHANGE_DELAY: u64 = 100_000;

/// Why an authority change is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthorityError {
    /// The chain's spec does not take authority changes.
    #[error("this chain does not take authority changes")]
    Disabled,
    /// Inputs, outputs, data or a version other than 1.
    #[error("an authority change has version 1, no inputs, no outputs and no data")]
    Shape,
    /// No signatures at all.
    #[error("an authority change needs the signatures of the authorities")]
    NoSigners,
    /// A witness that is not a single key and its signature.
    #[error("witness {0} is not a key witness")]
    NotKeyWitness(usize),
    /// Expiry 0 (never) or past the effective height.
    #[error(
        "expiry height {expiry} must be set and no later than the effective height {effective}"
    )]
    BadExpiry {
        /// The transaction's expiry height.
        expiry: u64,
        /// The change's effective height.
        effective: u64,
    },
    /// Carried by a block past its expiry height.
    #[error("expired at height {expiry}, the block is at {height}")]
    Expired {
        /// The transaction's expiry height.
        expiry: u64,
        /// The height of the block that would carry it.
        height: u64,
    },
    /// The key of the validator is of a scheme the chain does not allow,
    /// or has the wrong length for its scheme.
    #[error("the validator key is not a valid key of an allowed scheme")]
    BadKey,
    /// Effective too early for a block at `height`.
    #[error("effective height {effective} is too soon for a block at {height} (at least {MIN_CHANGE_DELAY} later)")]
    TooSoon {
        /// The change's effective height.
        effective: u64,
        /// The height of the block that would carry it.
        height: u64,
    },
    /// Effective too far ahead.
    #[error("effective height {effective} is more than {MAX_CHANGE_DELAY} after {height}")]
    TooFar {
        /// The change's effective height.
        effective: u64,
        /// The height of the block that would carry it.
        height: u64,
    },
    /// A signer that is not an authority in force.
    #[error("signer {0} is not an authority")]
    UnknownSigner(Hash),
    /// One authority signed twice.
    #[error("authority {0} signed twice")]
    DuplicateSigner(Hash),
    /// A signature that does not verify.
    #[error("the signature of authority {0} is invalid")]
    BadSignature(Hash),
    /// The signers hold too little voting power.
    #[error(
        "signers hold {power} of {total} voting power, more than two thirds ({needed}) needed"
    )]
    NotEnoughPower {
        /// The signers' power.
        power: u64,
        /// The set's total power.
        total: u64,
        /// The least power that is a quorum.
        needed: u64,
    },
    /// A change for this validator is already scheduled.
    #[error("a change for validator {0} is already scheduled")]
    AlreadyPending(Hash),
    /// Removing a key that is not a validator.
    #[error("{0} is not a validator")]
    NotAValidator(Hash),
    /// The validator would have the power it already has.
    #[error("validator {0} already has that power")]
    NoChange(Hash),
    /// The set after the change would be unusable (empty, too large, too
    /// much power).
    #[error("the validator set after the change would be invalid: {0}")]
    InvalidSet(crate::ValidatorSetError),
}

impl AuthorityError {
    /// Whether a node could refuse the change while another accepts it:
    /// the refusal depends on the height or the authority set the node has
    /// seen (a change announced by a peer a block ahead, or behind), not on
    /// the transaction alone. Such a refusal is not held against the peer
    /// that relayed the change.
    pub fn depends_on_state(&self) -> bool {
        !matches!(
            self,
            AuthorityError::Disabled
                | AuthorityError::Shape
                | AuthorityError::NoSigners
                | AuthorityError::NotKeyWitness(_)
                | AuthorityError::BadExpiry { .. }
                | AuthorityError::BadKey
                | AuthorityError::DuplicateSigner(_)
                | AuthorityError::BadSignature(_)
        )
    }

    /// A short stable code for APIs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            AuthorityError::Disabled => "authority-changes-disabled",
            AuthorityError::Shape => "authority-bad-shape",
            AuthorityError::NoSigners => "authority-no-signers",
            AuthorityError::NotKeyWitness(_) => "authority-bad-witness",
            AuthorityError::BadExpiry { .. } => "authority-bad-expiry",
            AuthorityError::Expired { .. } => "expired",
            AuthorityError::BadKey => "authority-bad-key",
            AuthorityError::TooSoon { .. } => "authority-too-soon",
            AuthorityError::TooFar { .. } => "authority-too-far",
            AuthorityError::UnknownSigner(_) => "authority-unknown-signer",
            AuthorityError::DuplicateSigner(_) => "authority-duplicate-signer",
            AuthorityError::BadSignature(_) => "bad-signature",
            AuthorityError::NotEnoughPower { .. } => "authority-not-enough-power",
            AuthorityError::AlreadyPending(_) => "authority-already-pending",
            AuthorityError::NotAValidator(_) => "authority-not-a-validator",
            AuthorityError::NoChange(_) => "authority-no-change",
            AuthorityError::InvalidSet(_) => "authority-invalid-set",
        }
    }
}

/// Tier 1: what can be checked from the transaction and the spec alone.
/// `change` is `tx`'s payload.
pub fn check_shape(
    tx: &Transaction,
    change: &AuthorityChange,
    spec: &ChainSpec,
) -> Result<(), AuthorityError> {
    if !spec.authority_changes() {
        return Err(AuthorityError::Disabled);
    }
    if tx.version != 1 || !tx.data.is_empty() || !tx.inputs.is_empty() || !tx.outputs.is_empty() {
        return Err(AuthorityError::Shape);
    }
    if tx.witnesses.is_empty() {
        return Err(AuthorityError::NoSigners);
    }
    if tx.expiry_height == 0 || tx.expiry_height > change.effective_height {
        return Err(AuthorityError::BadExpiry {
            expiry: tx.expiry_height,
            effective: change.effective_height,
        });
    }
    let key = &change.public_key;
    if !spec.allows(key.scheme) || key.bytes.len() != key.scheme.public_key_len() {
        return Err(AuthorityError::BadKey);
    }
    for (i, w) in tx.witnesses.iter().enumerate() {
        match w {
            Witness::Key {
                public_key,
                signature,
            } if public_key.scheme == signature.scheme
                && spec.allows(public_key.scheme)
                && public_key.bytes.len() == public_key.scheme.public_key_len()
                && signature.bytes.len() == signature.scheme.signature_len() => {}
            _ => return Err(AuthorityError::NotKeyWitness(i)),
        }
    }
    Ok(())
}

/// The validator set `set` with `changes` applied in order (power 0
/// removes, any other power adds or re-weights).
pub fn apply<'a>(
    set: &ValidatorSet,
    changes: impl IntoIterator<Item = &'a PendingChange>,
) -> Result<ValidatorSet, crate::ValidatorSetError> {
    let mut v = set.validators().to_vec();
    for c in changes {
        let id = c.validator.id();
        v.retain(|x| x.id() != id);
        if c.validator.power > 0 {
            v.push(c.validator.clone());
        }
    }
    ValidatorSet::new(v)
}

/// Tier 2 and 3 of an authority change carried by a block at `height`
/// whose parent's consensus state is `record`, on the chain whose genesis
/// hashes to `genesis`; `scheduled` are the changes earlier transactions of
/// the same block schedule. Returns the change to schedule.
///
/// The signers must be authorities of the set that finalizes this block
/// (`record.validators`) holding more than two thirds of its power.
pub fn check_authority_change(
    tx: &Transaction,
    record: &ConsensusRecord,
    height: u64,
    genesis: &Hash,
    scheduled: &[PendingChange],
) -> Result<PendingChange, AuthorityError> {
    let TxKind::Authority(change) = &tx.kind else {
        return Err(AuthorityError::Shape);
    };
    let effective = change.effective_height;
    if height > tx.expiry_height {
        return Err(AuthorityError::Expired {
            expiry: tx.expiry_height,
            height,
        });
    }
    if effective < height.saturating_add(MIN_CHANGE_DELAY) {
        return Err(AuthorityError::TooSoon { effective, height });
    }
    if effective > height.saturating_add(MAX_CHANGE_DELAY) {
        return Err(AuthorityError::TooFar { effective, height });
    }
    let set = &record.validators;
    let msg = tx
        .signature_message(genesis, &[])
        .ok_or(AuthorityError::Shape)?;
    let mut seen = HashSet::with_capacity(tx.witnesses.len());
    let mut power: u64 = 0;
    for w in &tx.witnesses {
        let Witness::Key {
            public_key,
            signature,
        } = w
        else {
            return Err(AuthorityError::Shape);
        };
        let id = public_key.key_hash();
        let index = set.index_of(&id).ok_or(AuthorityError::UnknownSigner(id))?;
        if !seen.insert(id) {
            return Err(AuthorityError::DuplicateSigner(id));
        }
        let v = set.get(index).ok_or(AuthorityError::UnknownSigner(id))?;
        if v.public_key != *public_key {
            return Err(AuthorityError::UnknownSigner(id));
        }
        luminex_crypto::verify(public_key, &msg, signature)
            .map_err(|_| AuthorityError::BadSignature(id))?;
        power = power.saturating_add(v.power);
    }
    if power < set.quorum() {
        return Err(AuthorityError::NotEnoughPower {
            power,
            total: set.total_power(),
            needed: set.quorum(),
        });
    }
    let validator = Validator {
        public_key: change.public_key.clone(),
        power: change.power,
    };
    let id = validator.id();
    let pending = || record.pending.iter().chain(scheduled);
    if pending().any(|c| c.validator.id() == id) {
        return Err(AuthorityError::AlreadyPending(id));
    }
    // The set as it will be once everything already scheduled applied.
    let eventual = apply(&record.next_validators, pending()).map_err(AuthorityError::InvalidSet)?;
    let current = eventual
        .index_of(&id)
        .and_then(|i| eventual.get(i))
        .map_or(0, |v| v.power);
    match (current, change.power) {
        (0, 0) => return Err(AuthorityError::NotAValidator(id)),
        (a, b) if a == b => return Err(AuthorityError::NoChange(id)),
        _ => {}
    }
    let new = PendingChange {
        effective_height: effective,
        validator,
    };
    // Changes apply as they come due (`next_state`), so every set on the
    // way must be usable, not only the last: an add due after a removal
    // of every authority would otherwise be accepted, and the removals
    // dropped when they came due.
    let all: Vec<&PendingChange> = pending().chain([&new]).collect();
    let mut heights: Vec<u64> = all.iter().map(|c| c.effective_height).collect();
    heights.sort_unstable();
    heights.dedup();
    for e in heights {
        let due = all.iter().copied().filter(|c| c.effective_height <= e);
        apply(&record.next_validators, due).map_err(AuthorityError::InvalidSet)?;
    }
    Ok(new)
}

/// An unsigned authority change for the chain of `spec`: from
/// `effective_height`, `public_key` has `power` (0 removes it); a block
/// after `expiry_height` may not carry it.
pub fn unsigned_change(
    spec: &ChainSpec,
    change: AuthorityChange,
    expiry_height: u64,
) -> Transaction {
    Transaction {
        version: 1,
        chain_id: spec.chain_id,
        kind: TxKind::Authority(change),
        inputs: Vec::new(),
        outputs: Vec::new(),
        expiry_height,
        witnesses: Vec::new(),
        data: Vec::new(),
    }
}

/// Adds `key`'s signature to the authority change `tx` on the chain whose
/// genesis hashes to `genesis` (one authority's approval). Signing twice
/// with one key replaces the earlier signature.
pub fn add_signature(tx: &mut Transaction, genesis: &Hash, key: &luminex_crypto::SigningKey) {
    let public_key = key.public_key().clone();
    let msg = tx
        .signature_message(genesis, &[])
        .expect("an authority change spends nothing");
    let signature = key.sign(&msg);
    tx.witnesses
        .retain(|w| !matches!(w, Witness::Key { public_key: k, .. } if *k == public_key));
    tx.witnesses.push(Witness::Key {
        public_key,
        signature,
    });
}
