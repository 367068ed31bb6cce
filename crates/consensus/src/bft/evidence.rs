//! Evidence of double signing: two votes of one validator for different
//! values in the same height, round and kind. The vote keeper finds it
//! ([`super::votes::AddVote::Equivocation`]); any node can check it alone
//! ([`CheckEvidence::check`]), knowing only the validator set of that
//! height and the chain's domain; nodes gossip it and keep it in an
//! [`EvidencePool`] until a block carries it (an `evidence` transaction a
//! proposer adds, ADR 0039) or it grows too old to punish. The types and
//! checks live in the primitives and the ledger, which verify and punish
//! the evidence blocks carry; slashing belongs to the staking state, which
//! punishes each offender at most once per height (see [`EvidenceKey`]).
//!
//! The pool is sans-I/O and deterministic (ordered maps): the node and the
//! simulation drive it alike.

use std::collections::{BTreeMap, BTreeSet};

pub use luminex_ledger::evidence::{CheckEvidence, EvidenceError, MAX_EVIDENCE_PER_BLOCK};
pub use luminex_primitives::vote::{DuplicateVoteEvidence, EvidenceKey, EvidenceReport};

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
