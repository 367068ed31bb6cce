//! Validator sets from stake (ADR 0033, ADR 0034): what the staking state a
//! block builds on contributes to the block's consensus state and header.
//!
//! On a chain with a `[staking]` table, each block at height `h`:
//!
//! * commits in its `state_root` to the hash of the staking state after
//!   block `h - 1` — the state it builds on, as CometBFT's `AppHash` is the
//!   state after the previous block — so two nodes whose states differ
//!   refuse each other's next block;
//! * at an epoch boundary (`h = kL`) schedules the set that state elects
//!   for heights from `(k+1)L + 1` (a committee drawn by the hash of block
//!   `(k-1)L`, or the top validators by stake);
//! * drops every validator that state has jailed from the set after next
//!   and from the scheduled set, so a slashed validator stops signing two
//!   heights later rather than at the next election.
//!
//! Everything here is a pure function of the parent's consensus record,
//! the staking state and the chain's headers: every node computes the same.

use std::collections::BTreeSet;

use luminex_ledger::staking::{is_epoch_boundary, StakingParams, StakingState};
use luminex_ledger::{
    ChainContext, ConsensusRecord, Parent, ScheduledSet, Validator, ValidatorSet,
};
use luminex_primitives::hash::Domain;
use luminex_primitives::Hash;

/// Domain of a staking chain's header `state_root`: the consensus record's
/// hash and the staking state's.
pub const STATE_ROOT: Domain = Domain("luminex/state-root");

/// What the staking state a block builds on contributes to its consensus
/// state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StakeInputs {
    /// Hash of the staking state (after the parent).
    pub state_hash: Hash,
    /// At an epoch boundary: the elected set and the first height it
    /// finalizes. `None` elsewhere, and when nobody qualifies (the chain
    /// keeps the set it has).
    pub election: Option<ScheduledSet>,
    /// Jailed validators among those the record names.
    pub jailed: BTreeSet<Hash>,
}

impl StakeInputs {
    /// Reads the inputs of a block on `parent` (the chain's tip) whose
    /// parent's consensus record is `record` from `state`; `seed` gives the
    /// hash of a main-chain block by height (for committee draws).
    pub fn read(
        params: &StakingParams,
        state: &StakingState,
        record: &ConsensusRecord,
        parent: &Parent,
        seed: impl FnOnce(u64) -> Option<Hash>,
    ) -> StakeInputs {
        let height = parent.height + 1;
        let epoch = params.epoch_blocks;
        let election = if is_epoch_boundary(height, epoch) {
            // The seed is the last block of the epoch before this one,
            // final a whole epoch before the draw (ADR 0033).
            let seed_height = height - epoch;
            seed(seed_height).and_then(|seed| {
                state
                    .election(params, &seed, seed_height)
                    .ok()
                    .map(|set| ScheduledSet {
                        effective_height: height + epoch + 1,
                        set,
                    })
            })
        } else {
            None
        };
        let named = record
            .next_validators
            .validators()
            .iter()
            .chain(record.scheduled.iter().flat_map(|s| s.set.validators()))
            .chain(election.iter().flat_map(|s| s.set.validators()))
            .map(Validator::id);
        let jailed = named.filter(|id| state.jail(id).is_some()).collect();
        StakeInputs {
            state_hash: state.hash(),
            election,
            jailed,
        }
    }

    /// Reads the inputs of a block on `parent` from `chain`; `None` when
    /// the chain keeps no staking state (which a staking chain's store
    /// always does).
    pub fn from_chain(
        params: &StakingParams,
        chain: &dyn ChainContext,
        record: &ConsensusRecord,
        parent: &Parent,
    ) -> Option<StakeInputs> {
        let mut out = None;
        chain.with_staking(&mut |state| {
            out = Some(StakeInputs::read(params, state, record, parent, |h| {
                if h == parent.height {
                    return Some(parent.hash);
                }
                chain.ancestor(&parent.hash, h).map(|header| header.hash())
            }));
        });
        out
    }

    /// Applies the inputs to `next`, the consensus state after the block
    /// without them: the election is scheduled, and jailed validators leave
    /// the set after next and the schedule (unless that would leave no one).
    pub fn apply(&self, next: &mut ConsensusRecord) {
        if let Some(e) = &self.election {
            next.scheduled = Some(e.clone());
        }
        if self.jailed.is_empty() {
            return;
        }
        if let Some(set) = without(&next.next_validators, &self.jailed) {
            next.next_validators = set;
        }
        if let Some(s) = &mut next.scheduled {
            if let Some(set) = without(&s.set, &self.jailed) {
                s.set = set;
            }
        }
    }

    /// The header's `state_root` for consensus state `next`.
    pub fn state_root(&self, next: &ConsensusRecord) -> Hash {
        let mut h = STATE_ROOT.hasher();
        h.update(next.hash().as_bytes());
        h.update(self.state_hash.as_bytes());
        h.finish()
    }
}

/// `set` less the validators in `jailed`, or `None` when nothing changes or
/// nobody would be left.
fn without(set: &ValidatorSet, jailed: &BTreeSet<Hash>) -> Option<ValidatorSet> {
    let kept: Vec<Validator> = set
        .validators()
        .iter()
        .filter(|v| !jailed.contains(&v.id()))
        .cloned()
        .collect();
    if kept.len() == set.len() || kept.is_empty() {
        return None;
    }
    ValidatorSet::new(kept).ok()
}

#[cfg(test)]
mod tests {
    use luminex_primitives::{PublicKey, SchemeId};

    use super::*;

    fn v(b: u8, power: u64) -> Validator {
        Validator {
            public_key: PublicKey {
                scheme: SchemeId::MlDsa65,
                bytes: vec![b; 8],
            },
            power,
        }
    }

    fn record(set: &ValidatorSet) -> ConsensusRecord {
        ConsensusRecord {
            height: 5,
            validators: set.clone(),
            priorities: vec![0; set.len()],
            next_validators: set.clone(),
            pending: Vec::new(),
            scheduled: None,
        }
    }

    #[test]
    fn jailed_validators_leave_the_next_set_but_never_empty_it() {
        let set = ValidatorSet::new(vec![v(1, 5), v(2, 5), v(3, 5)]).unwrap();
        let mut next = record(&set);
        let inputs = StakeInputs {
            state_hash: Hash::ZERO,
            election: None,
            jailed: [v(2, 5).id()].into(),
        };
        inputs.apply(&mut next);
        assert_eq!(next.next_validators.len(), 2);
        assert_eq!(next.validators, set, "the set of the next height stays");
        let all = StakeInputs {
            jailed: set.validators().iter().map(Validator::id).collect(),
            ..inputs
        };
        let mut next = record(&set);
        all.apply(&mut next);
        assert_eq!(next.next_validators, set, "nobody left: unchanged");
    }

    #[test]
    fn the_state_root_commits_to_both_states() {
        let set = ValidatorSet::new(vec![v(1, 5)]).unwrap();
        let next = record(&set);
        let a = StakeInputs {
            state_hash: Hash::ZERO,
            election: None,
            jailed: BTreeSet::new(),
        };
        let b = StakeInputs {
            state_hash: Hash([1; 32]),
            ..a.clone()
        };
        assert_ne!(a.state_root(&next), b.state_root(&next));
        assert_ne!(a.state_root(&next), next.hash());
    }
}
