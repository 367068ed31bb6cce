//! Evidence of double signing: two votes of one validator for different
//! values in the same height, round and kind. The vote keeper finds it
//! ([`super::votes::AddVote::Equivocation`]); any node can check it alone,
//! knowing only the validator set of that height and the chain's domain;
//! nodes gossip it and keep it in an [`EvidencePool`] until a block carries
//! it or it grows too old to punish (slashing itself belongs to the staking
//! state, which punishes each offender at most once per height: see
//! [`EvidenceKey`]).
//!
//! The pool is sans-I/O and deterministic (ordered maps): the node and the
//! simulation drive it alike.

use std::collections::{BTreeMap, BTreeSet};

use luminex_ledger::ValidatorSet;
use luminex_primitives::codec::{Decode, DecodeError, Encode, Reader, Sink};
use luminex_primitives::Hash;

use super::message::{ChainDomain, SignedVote};
pub use super::votes::DuplicateVoteEvidence;

/// Why a piece of evidence proves nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The two votes are by different validators.
    #[error("the votes are by two validators")]
    TwoValidators,
    /// The votes are for different heights, rounds or kinds.
    #[error("the votes are for different heights, rounds or kinds")]
    DifferentViews,
    /// Both votes are for the same value: no conflict.
    #[error("the votes are for the same value")]
    SameValue,
    /// The validator is not in the set of the evidence's height.
    #[error("validator {0} was not in the set at that height")]
    UnknownValidator(Hash),
    /// A signature does not verify (0 = the first vote, 1 = the second).
    #[error("the signature of vote {0} does not verify")]
    BadSignature(usize),
}

/// What evidence punishes: one validator at one height. Evidence of the
/// same validator at the same height (another round, another pair of
/// votes) is the same offence, so a pool keeps one and a chain punishes
/// it once.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct EvidenceKey {
    /// The offender's id.
    pub validator: Hash,
    /// The height of its votes.
    pub height: u64,
}

impl DuplicateVoteEvidence {
    /// The same evidence with its two votes in canonical order (by their
    /// encodings), so that one pair of votes has one encoding whichever a
    /// node saw first.
    pub fn canonical(self) -> DuplicateVoteEvidence {
        if self.first.encode() <= self.second.encode() {
            self
        } else {
            DuplicateVoteEvidence {
                first: self.second,
                second: self.first,
            }
        }
    }

    /// Whether the votes are in canonical order.
    pub fn is_canonical(&self) -> bool {
        self.first.encode() <= self.second.encode()
    }

    /// The offence it proves.
    pub fn key(&self) -> EvidenceKey {
        EvidenceKey {
            validator: self.first.vote.validator,
            height: self.first.vote.height,
        }
    }

    /// The height of the votes.
    pub fn height(&self) -> u64 {
        self.first.vote.height
    }

    /// Checks the evidence against `set`, the validators that voted at its
    /// height, on the chain of `domain`: one validator of the set, one
    /// height, round and kind, two values, two good signatures. Answers the
    /// offender's index in `set`.
    pub fn check(&self, set: &ValidatorSet, domain: &ChainDomain) -> Result<usize, EvidenceError> {
        let (a, b) = (&self.first.vote, &self.second.vote);
        if a.validator != b.validator {
            return Err(EvidenceError::TwoValidators);
        }
        if a.height != b.height || a.round != b.round || a.kind != b.kind {
            return Err(EvidenceError::DifferentViews);
        }
        if a.block == b.block {
            return Err(EvidenceError::SameValue);
        }
        let index = set
            .index_of(&a.validator)
            .ok_or(EvidenceError::UnknownValidator(a.validator))?;
        let key = &set.get(index).expect("index from the set").public_key;
        for (i, v) in [&self.first, &self.second].into_iter().enumerate() {
            luminex_crypto::verify(key, &v.vote.digest(domain), &v.signature)
                .map_err(|_| EvidenceError::BadSignature(i))?;
        }
        Ok(index)
    }
}

impl Encode for DuplicateVoteEvidence {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.first.encode_to(s);
        self.second.encode_to(s);
    }
}

impl Decode for DuplicateVoteEvidence {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(DuplicateVoteEvidence {
            first: SignedVote::decode(r)?,
            second: SignedVote::decode(r)?,
        })
    }
}

/// Most pieces of evidence a pool holds. Each offender needs more than a
/// third of the set's power to forge a fork, so an honest chain sees few;
/// the bound only stops a flood of old or forged ones from growing memory.
pub const MAX_POOL: usize = 1024;

/// What adding evidence to the pool did.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum AddEvidence {
    /// New: kept, to gossip and to propose.
    Added,
    /// The offence is already in the pool, or a block already carried it.
    Known,
    /// Older than the pool's age limit: not punishable any more.
    Expired,
    /// The pool is full.
    Full,
}

/// Evidence a node has seen and no block has carried yet.
#[derive(Clone, Debug)]
pub struct EvidencePool {
    max_age: u64,
    pending: BTreeMap<EvidenceKey, DuplicateVoteEvidence>,
    /// Offences a finalized block carried, kept until they expire so that
    /// gossip of them is not taken for new.
    included: BTreeSet<EvidenceKey>,
}

impl EvidencePool {
    /// An empty pool that keeps evidence for `max_age` heights (the
    /// chain's unbonding period: stake can be slashed only while bonded).
    pub fn new(max_age: u64) -> EvidencePool {
        EvidencePool {
            max_age,
            pending: BTreeMap::new(),
            included: BTreeSet::new(),
        }
    }

    /// Whether evidence of `height` is too old at `tip`.
    pub fn is_expired(&self, height: u64, tip: u64) -> bool {
        tip.saturating_sub(height) > self.max_age
    }

    /// Adds evidence already [checked](DuplicateVoteEvidence::check), when
    /// the finalized tip is `tip`. The pool stores its canonical form.
    pub fn add(&mut self, evidence: DuplicateVoteEvidence, tip: u64) -> AddEvidence {
        let key = evidence.key();
        if self.is_expired(key.height, tip) {
            return AddEvidence::Expired;
        }
        if self.pending.contains_key(&key) || self.included.contains(&key) {
            return AddEvidence::Known;
        }
        if self.pending.len() >= MAX_POOL {
            return AddEvidence::Full;
        }
        self.pending.insert(key, evidence.canonical());
        AddEvidence::Added
    }

    /// Whether the offence is pending or was carried by a block.
    pub fn knows(&self, key: &EvidenceKey) -> bool {
        self.pending.contains_key(key) || self.included.contains(key)
    }

    /// Up to `max` pending pieces of evidence, oldest height first, for a
    /// proposer to put in its block.
    pub fn to_propose(&self, max: usize) -> Vec<DuplicateVoteEvidence> {
        let mut all: Vec<&DuplicateVoteEvidence> = self.pending.values().collect();
        all.sort_by_key(|e| (e.height(), e.key().validator));
        all.into_iter().take(max).cloned().collect()
    }

    /// Pending evidence, by offence.
    pub fn pending(&self) -> impl Iterator<Item = &DuplicateVoteEvidence> {
        self.pending.values()
    }

    /// Number of pending pieces.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }

    /// A finalized block carried these offences: they leave the pending
    /// set and are remembered until they expire.
    pub fn included(&mut self, keys: impl IntoIterator<Item = EvidenceKey>) {
        for key in keys {
            self.pending.remove(&key);
            self.included.insert(key);
        }
    }

    /// Drops what has expired at `tip`.
    pub fn prune(&mut self, tip: u64) {
        let max_age = self.max_age;
        let live = |k: &EvidenceKey| tip.saturating_sub(k.height) <= max_age;
        self.pending.retain(|k, _| live(k));
        self.included.retain(live);
    }
}
