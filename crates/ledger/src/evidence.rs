//! Double-signing evidence as the ledger sees it (ADR 0039): the checks a
//! piece of evidence must pass before anyone acts on it, and the checks of
//! the `evidence` transactions a block carries.
//!
//! Three tiers, like transactions:
//!
//! 1. [`check_shape`]: the evidence alone — one validator, one height,
//!    round and kind, two values, votes in canonical order (so one pair of
//!    votes has one encoding);
//! 2. [`check_evidence`]: against the validator set that voted at its
//!    height, on the chain's [`ChainDomain`] — the offender is a member and
//!    both signatures verify (the engine's evidence pool uses this alone);
//! 3. [`check_block_evidence`]: every `evidence` transaction of a block
//!    against the consensus record of its height (the set in force then),
//!    at most [`MAX_EVIDENCE_PER_BLOCK`] of them and none from after the
//!    block. The BFT rules call it when connecting a block.
//!
//! Whether the offence is still punishable (not older than the unbonding
//! period, not punished before) is the staking state's to decide, when it
//! applies the transaction (`StakingState::apply_tx`).

use luminex_primitives::{
    Block, ChainDomain, DuplicateVoteEvidence, EvidenceKey, EvidenceReport, Hash, Lock,
    Transaction, TxKind,
};

use crate::{BlockError, ChainContext, ChainSpec, StakingState, TxError, ValidatorSet};

/// Most `evidence` transactions one block may carry. Each holds two votes
/// with their post-quantum signatures (a few kilobytes); a byzantine
/// validator needs stake to sign at all, so honest chains see few, and the
/// bound keeps a flood from crowding out payments.
pub const MAX_EVIDENCE_PER_BLOCK: usize = 8;

/// Why a piece of evidence proves nothing, or cannot be carried.
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
    /// The votes are not in canonical order (a block carries one encoding
    /// per pair of votes).
    #[error("the votes are not in canonical order")]
    NotCanonical,
    /// The validator is not in the set of the evidence's height.
    #[error("validator {0} was not in the set at that height")]
    UnknownValidator(Hash),
    /// A signature does not verify (0 = the first vote, 1 = the second).
    #[error("the signature of vote {0} does not verify")]
    BadSignature(usize),
    /// Evidence of a height no vote can have been cast at yet (or of the
    /// genesis height, at which nobody votes).
    #[error("evidence of height {height} in a block at height {block_height}")]
    BadHeight {
        /// The votes' height.
        height: u64,
        /// The height of the block carrying it.
        block_height: u64,
    },
    /// The chain does not know the validator set of the evidence's height.
    #[error("no validator set known for height {0}")]
    NoValidatorSet(u64),
    /// More `evidence` transactions than a block may carry.
    #[error("more than {MAX_EVIDENCE_PER_BLOCK} pieces of evidence in one block")]
    TooMany,
    /// An `evidence` transaction with inputs, outputs or witnesses.
    #[error("an evidence transaction has no inputs, outputs or witnesses")]
    NotBare,
}

impl EvidenceError {
    /// A short stable code for APIs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            EvidenceError::TwoValidators => "evidence-two-validators",
            EvidenceError::DifferentViews => "evidence-different-views",
            EvidenceError::SameValue => "evidence-same-value",
            EvidenceError::NotCanonical => "evidence-not-canonical",
            EvidenceError::UnknownValidator(_) => "evidence-unknown-validator",
            EvidenceError::BadSignature(_) => "evidence-bad-signature",
            EvidenceError::BadHeight { .. } => "evidence-bad-height",
            EvidenceError::NoValidatorSet(_) => "evidence-no-validator-set",
            EvidenceError::TooMany => "evidence-too-many",
            EvidenceError::NotBare => "evidence-not-bare",
        }
    }
}

/// Tier 1: what the evidence shows on its own — two votes of one
/// validator for different values in one height, round and kind. Order is
/// not checked here (the engine's pool takes either order and stores the
/// canonical one); a block's evidence must also be canonical.
pub fn check_conflict(evidence: &DuplicateVoteEvidence) -> Result<(), EvidenceError> {
    let (a, b) = (&evidence.first.vote, &evidence.second.vote);
    if a.validator != b.validator {
        return Err(EvidenceError::TwoValidators);
    }
    if a.height != b.height || a.round != b.round || a.kind != b.kind {
        return Err(EvidenceError::DifferentViews);
    }
    if a.block == b.block {
        return Err(EvidenceError::SameValue);
    }
    Ok(())
}

/// Tier 1 of a carried piece of evidence: [`check_conflict`], votes in
/// canonical order, and a height above genesis.
pub fn check_shape(evidence: &DuplicateVoteEvidence) -> Result<(), EvidenceError> {
    check_conflict(evidence)?;
    if !evidence.is_canonical() {
        return Err(EvidenceError::NotCanonical);
    }
    if evidence.height() == 0 {
        return Err(EvidenceError::BadHeight {
            height: 0,
            block_height: 0,
        });
    }
    Ok(())
}

/// Tier 2: checks `evidence` against `set`, the validators that voted at
/// its height, on the chain of `domain`: one validator of the set, one
/// height, round and kind, two values, two good signatures. Answers the
/// offender's index in `set`.
pub fn check_evidence(
    evidence: &DuplicateVoteEvidence,
    set: &ValidatorSet,
    domain: &ChainDomain,
) -> Result<usize, EvidenceError> {
    check_conflict(evidence)?;
    let id = evidence.first.vote.validator;
    let index = set
        .index_of(&id)
        .ok_or(EvidenceError::UnknownValidator(id))?;
    let key = &set.get(index).expect("index from the set").public_key;
    for (i, v) in [&evidence.first, &evidence.second].into_iter().enumerate() {
        luminex_crypto::verify(key, &v.vote.digest(domain), &v.signature)
            .map_err(|_| EvidenceError::BadSignature(i))?;
    }
    Ok(index)
}

/// [`check_evidence`] as a method, for the engine and its callers.
pub trait CheckEvidence {
    /// See [`check_evidence`].
    fn check(&self, set: &ValidatorSet, domain: &ChainDomain) -> Result<usize, EvidenceError>;
}

impl CheckEvidence for DuplicateVoteEvidence {
    fn check(&self, set: &ValidatorSet, domain: &ChainDomain) -> Result<usize, EvidenceError> {
        check_evidence(self, set, domain)
    }
}

/// Tier 3, for the consensus rules: every `evidence` transaction of
/// `block` (at `height`, on the chain's main branch up to its parent)
/// proves a double sign by a member of the set that voted at the
/// evidence's height — the set in force after the consensus record of the
/// height below — on the chain of `domain`; no evidence is from after the
/// block's height; at most [`MAX_EVIDENCE_PER_BLOCK`] of them.
pub fn check_block_evidence(
    block: &Block,
    height: u64,
    chain: &dyn ChainContext,
    domain: &ChainDomain,
) -> Result<(), BlockError> {
    let mut count = 0usize;
    for (index, tx) in block.txs.iter().enumerate() {
        let TxKind::Evidence(report) = &tx.kind else {
            continue;
        };
        let fail = |error: EvidenceError| BlockError::Tx {
            index,
            txid: tx.txid(),
            error: TxError::Evidence(error),
        };
        count += 1;
        if count > MAX_EVIDENCE_PER_BLOCK {
            return Err(fail(EvidenceError::TooMany));
        }
        let ev = &report.evidence;
        let at = ev.height();
        if at == 0 || at > height {
            return Err(fail(EvidenceError::BadHeight {
                height: at,
                block_height: height,
            }));
        }
        let record = chain
            .consensus_record(at - 1)
            .ok_or_else(|| fail(EvidenceError::NoValidatorSet(at)))?;
        check_evidence(ev, &record.validators, domain).map_err(fail)?;
    }
    Ok(())
}

/// The `evidence` transaction carrying `evidence` (put in canonical order)
/// on chain `chain_id`, paying the reporter's share to `reporter`.
pub fn evidence_tx(chain_id: u32, evidence: DuplicateVoteEvidence, reporter: Lock) -> Transaction {
    Transaction {
        version: 1,
        chain_id,
        kind: TxKind::Evidence(Box::new(EvidenceReport {
            evidence: evidence.canonical(),
            reporter,
        })),
        inputs: Vec::new(),
        outputs: Vec::new(),
        expiry_height: 0,
        witnesses: Vec::new(),
        data: Vec::new(),
    }
}

/// Whether a block at `height` may still punish `evidence` on a chain
/// whose staking state (after the block's parent) is `staking`: not from
/// after the block, not older than the unbonding period, not punished yet,
/// against a validator not already jailed for good.
/// What a proposer checks before adding it.
pub fn punishable(
    evidence: &DuplicateVoteEvidence,
    staking: &StakingState,
    height: u64,
    spec: &ChainSpec,
) -> bool {
    let Some(params) = &spec.staking else {
        return false;
    };
    let key = evidence.key();
    key.height >= 1
        && key.height <= height
        && height - key.height <= params.unbonding_blocks
        && !staking.is_punished(&key.validator, key.height)
        && !staking.jail(&key.validator).is_some_and(|j| j.slashed)
}

/// The `evidence` transactions a proposer of the block at `height` adds,
/// from `candidates` (pending evidence, in the order to prefer): those
/// still [`punishable`], one per offence, at most
/// [`MAX_EVIDENCE_PER_BLOCK`], each paying `reporter` (the proposer's
/// payout address). A proposer puts them after the block's other
/// transactions, so a slash never changes what those find.
pub fn evidence_txs<'a>(
    candidates: impl IntoIterator<Item = &'a DuplicateVoteEvidence>,
    staking: &StakingState,
    height: u64,
    spec: &ChainSpec,
    reporter: Lock,
) -> Vec<Transaction> {
    let mut seen = std::collections::BTreeSet::new();
    candidates
        .into_iter()
        .filter(|e| check_shape(&(*e).clone().canonical()).is_ok())
        .filter(|e| punishable(e, staking, height, spec) && seen.insert(e.key()))
        .take(MAX_EVIDENCE_PER_BLOCK)
        .map(|e| evidence_tx(spec.chain_id, e.clone(), reporter))
        .collect()
}

/// The offences the `evidence` transactions of `block` punish.
pub fn block_offences(block: &Block) -> Vec<EvidenceKey> {
    block
        .txs
        .iter()
        .filter_map(|t| t.kind.evidence())
        .map(|r| r.evidence.key())
        .collect()
}
