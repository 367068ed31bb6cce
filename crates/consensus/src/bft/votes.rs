//! The vote keeper: counts the voting power behind each value per round and
//! vote kind at one height, and turns two different votes by one validator
//! for the same round and kind into evidence.
//!
//! A validator that equivocates still counts for each value it signed, as
//! in the paper ("2f+1 ⟨PREVOTE, h, r, id(v)⟩" counts the senders of that
//! message): otherwise the honest validators that saw its vote for a value
//! first could lock on it while those that saw its other vote first could
//! never count the proof of that lock, and the height would stall. Safety
//! is unaffected: two quorums still share an honest validator, who signs
//! once. Memory stays bounded: at most [`MAX_VALUES_PER_VOTER`] values per
//! validator, round and kind are counted. (CometBFT bounds the same problem
//! by counting extra votes only for blocks a peer claims a quorum for.)
//!
//! Signatures are checked before votes reach the keeper; it trusts what it
//! is given. Memory is bounded: a validator may hold votes in at most
//! [`MAX_FUTURE_ROUNDS`] rounds above the current one (as CometBFT bounds a
//! peer's catch-up rounds), and each round holds at most one vote of each
//! kind per validator.

use std::collections::{BTreeMap, HashMap};

use luminex_ledger::ValidatorSet;
use luminex_primitives::Hash;

use super::message::{SignedVote, VoteKind};

/// Rounds above the current one in which one validator's votes are kept.
pub const MAX_FUTURE_ROUNDS: usize = 2;
/// Different values counted per validator, round and vote kind (its first
/// vote and conflicting ones).
pub const MAX_VALUES_PER_VOTER: usize = 3;

pub use luminex_primitives::vote::DuplicateVoteEvidence;

/// What adding a vote did.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum AddVote {
    /// Counted.
    Added,
    /// The same vote again: ignored.
    Duplicate,
    /// A different vote for the same round and kind: evidence. It counts
    /// for its value (see the module docs) unless the validator already
    /// has [`MAX_VALUES_PER_VOTER`] values counted.
    Equivocation(Box<DuplicateVoteEvidence>),
    /// Not counted: the voter is not in the set, the vote is for another
    /// height, or the voter already holds votes in too many future rounds.
    Ignored,
}

#[derive(Default, Clone, Debug)]
struct Tally {
    /// First vote of each validator (by index).
    votes: HashMap<usize, SignedVote>,
    /// Later, conflicting votes of equivocating validators.
    conflicts: HashMap<usize, Vec<SignedVote>>,
    /// Power per value (`None` = nil).
    power: HashMap<Option<Hash>, u64>,
    /// Power of the validators that voted (each once).
    total: u64,
}

impl Tally {
    /// Every vote of validator `index`, first one first.
    fn of(&self, index: usize) -> impl Iterator<Item = &SignedVote> {
        self.votes
            .get(&index)
            .into_iter()
            .chain(self.conflicts.get(&index).into_iter().flatten())
    }
}

/// The votes of one height.
#[derive(Clone, Debug)]
pub struct VoteKeeper {
    height: u64,
    set: ValidatorSet,
    rounds: BTreeMap<u32, [Tally; 2]>,
    current_round: u32,
}

impl VoteKeeper {
    /// A keeper for `height` with validator set `set`.
    pub fn new(height: u64, set: ValidatorSet) -> VoteKeeper {
        VoteKeeper {
            height,
            set,
            rounds: BTreeMap::new(),
            current_round: 0,
        }
    }

    /// The validator set.
    pub fn set(&self) -> &ValidatorSet {
        &self.set
    }

    /// Tells the keeper the machine's round (for the future-round bound).
    pub fn set_round(&mut self, round: u32) {
        self.current_round = round;
    }

    fn future_rounds_of(&self, index: usize) -> usize {
        self.rounds
            .range(self.current_round.saturating_add(1)..)
            .filter(|(_, t)| t.iter().any(|k| k.votes.contains_key(&index)))
            .count()
    }

    /// Adds a vote whose signature was checked.
    pub fn add(&mut self, vote: SignedVote) -> AddVote {
        let v = vote.vote;
        if v.height != self.height {
            return AddVote::Ignored;
        }
        let Some(index) = self.set.index_of(&v.validator) else {
            return AddVote::Ignored;
        };
        let new_round = !self
            .rounds
            .get(&v.round)
            .is_some_and(|t| t.iter().any(|k| k.votes.contains_key(&index)));
        if v.round > self.current_round
            && new_round
            && self.future_rounds_of(index) >= MAX_FUTURE_ROUNDS
        {
            return AddVote::Ignored;
        }
        let power = self.set.get(index).map_or(0, |x| x.power);
        let tally = &mut self.rounds.entry(v.round).or_default()[kind_index(v.kind)];
        if let Some(first) = tally.votes.get(&index).cloned() {
            if tally.of(index).any(|x| x.vote == v) {
                return AddVote::Duplicate;
            }
            let counted = tally.conflicts.entry(index).or_default();
            if counted.len() + 1 < MAX_VALUES_PER_VOTER {
                counted.push(vote.clone());
                *tally.power.entry(v.block).or_default() += power;
            }
            return AddVote::Equivocation(Box::new(DuplicateVoteEvidence {
                first,
                second: vote,
            }));
        }
        *tally.power.entry(v.block).or_default() += power;
        tally.total += power;
        tally.votes.insert(index, vote);
        AddVote::Added
    }

    fn tally(&self, round: u32, kind: VoteKind) -> Option<&Tally> {
        self.rounds.get(&round).map(|t| &t[kind_index(kind)])
    }

    /// Power of `kind` votes for `value` in `round`.
    pub fn power_for(&self, round: u32, kind: VoteKind, value: Option<&Hash>) -> u64 {
        self.tally(round, kind)
            .and_then(|t| t.power.get(&value.copied()))
            .copied()
            .unwrap_or(0)
    }

    /// Power of all `kind` votes in `round`.
    pub fn power_any(&self, round: u32, kind: VoteKind) -> u64 {
        self.tally(round, kind).map_or(0, |t| t.total)
    }

    /// Whether more than two thirds voted `value` (`None` = nil).
    pub fn quorum_for(&self, round: u32, kind: VoteKind, value: Option<&Hash>) -> bool {
        self.power_for(round, kind, value) >= self.set.quorum()
    }

    /// Whether more than two thirds voted at all.
    pub fn quorum_any(&self, round: u32, kind: VoteKind) -> bool {
        self.power_any(round, kind) >= self.set.quorum()
    }

    /// The lowest round above `round` in which validators holding more than
    /// one third of the power sent any vote (the paper's round skip).
    pub fn skip_round(&self, round: u32) -> Option<u32> {
        self.rounds
            .range(round.saturating_add(1)..)
            .find(|(_, t)| {
                let mut voters: Vec<usize> = t[0].votes.keys().copied().collect();
                voters.extend(t[1].votes.keys().copied());
                voters.sort_unstable();
                voters.dedup();
                let power: u64 = voters
                    .iter()
                    .filter_map(|i| self.set.get(*i))
                    .map(|v| v.power)
                    .sum();
                power >= self.set.one_third_plus()
            })
            .map(|(r, _)| *r)
    }

    /// The precommits for `value` in `round`, by validator index, for a
    /// commit certificate.
    pub fn precommits_for(&self, round: u32, value: &Hash) -> Vec<(usize, SignedVote)> {
        let mut v: Vec<(usize, SignedVote)> = self
            .tally(round, VoteKind::Precommit)
            .map(|t| {
                t.votes
                    .keys()
                    .filter_map(|i| {
                        t.of(*i)
                            .find(|sv| sv.vote.block.as_ref() == Some(value))
                            .map(|sv| (*i, sv.clone()))
                    })
                    .collect()
            })
            .unwrap_or_default();
        v.sort_by_key(|(i, _)| *i);
        v
    }

    /// Whether exactly this vote was counted.
    pub fn contains(&self, vote: &super::message::Vote) -> bool {
        self.set.index_of(&vote.validator).is_some_and(|i| {
            self.tally(vote.round, vote.kind)
                .is_some_and(|t| t.of(i).any(|v| v.vote == *vote))
        })
    }

    /// The first prevote and precommit of validator `index` in `round`:
    /// `Some(None)` a vote for nil, `None` no such vote counted.
    pub fn ballot(&self, round: u32, index: usize) -> [Option<Option<Hash>>; 2] {
        let Some(t) = self.rounds.get(&round) else {
            return [None, None];
        };
        [0, 1].map(|k| t[k].votes.get(&index).map(|v| v.vote.block))
    }

    /// The latest round of this height in which a vote of validator
    /// `index` was counted, if any.
    pub fn last_round_of(&self, index: usize) -> Option<u32> {
        self.rounds
            .iter()
            .rev()
            .find(|(_, t)| t.iter().any(|k| k.votes.contains_key(&index)))
            .map(|(r, _)| *r)
    }

    /// Whether any vote of validator `index` was counted at this height,
    /// in any round.
    pub fn heard_from(&self, index: usize) -> bool {
        self.last_round_of(index).is_some()
    }

    /// Every counted vote of `round` (for re-gossip to lagging peers).
    /// Prevotes first, each kind in validator order (a stable order, so a
    /// seeded simulation replays exactly).
    pub fn votes_of_round(&self, round: u32) -> Vec<SignedVote> {
        let Some(t) = self.rounds.get(&round) else {
            return Vec::new();
        };
        t.iter()
            .flat_map(|k| {
                let mut v: Vec<usize> = k.votes.keys().copied().collect();
                v.sort_unstable();
                v.into_iter()
                    .flat_map(|i| k.of(i).cloned().collect::<Vec<_>>())
            })
            .collect()
    }
}

fn kind_index(kind: VoteKind) -> usize {
    match kind {
        VoteKind::Prevote => 0,
        VoteKind::Precommit => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bft::message::Vote;
    use luminex_ledger::Validator;
    use luminex_primitives::{PublicKey, SchemeId, Signature};

    fn set(powers: &[u64]) -> ValidatorSet {
        ValidatorSet::new(
            powers
                .iter()
                .enumerate()
                .map(|(i, p)| Validator {
                    public_key: PublicKey {
                        scheme: SchemeId::MlDsa65,
                        bytes: vec![i as u8; 8],
                    },
                    power: *p,
                })
                .collect(),
        )
        .unwrap()
    }

    fn vote(s: &ValidatorSet, i: usize, kind: VoteKind, round: u32, b: Option<u8>) -> SignedVote {
        SignedVote {
            vote: Vote {
                kind,
                height: 1,
                round,
                block: b.map(|x| Hash([x; 32])),
                validator: s.id(i).unwrap(),
            },
            signature: Signature {
                scheme: SchemeId::MlDsa65,
                bytes: vec![],
            },
        }
    }

    #[test]
    fn thresholds_by_power() {
        let s = set(&[1, 1, 1, 1]);
        let mut k = VoteKeeper::new(1, s.clone());
        let a = Some(&Hash([7; 32]));
        for i in 0..2 {
            assert_eq!(
                k.add(vote(&s, i, VoteKind::Prevote, 0, Some(7))),
                AddVote::Added
            );
        }
        assert!(!k.quorum_for(0, VoteKind::Prevote, a));
        k.add(vote(&s, 2, VoteKind::Prevote, 0, None));
        assert!(k.quorum_any(0, VoteKind::Prevote));
        assert!(!k.quorum_for(0, VoteKind::Prevote, a));
        k.add(vote(&s, 3, VoteKind::Prevote, 0, Some(7)));
        assert!(k.quorum_for(0, VoteKind::Prevote, a));
        assert!(!k.quorum_any(0, VoteKind::Precommit));
        // Weighted: one validator with more than two thirds is a quorum.
        let s = set(&[7, 1, 1, 1]);
        let big = (0..4).find(|i| s.get(*i).unwrap().power == 7).unwrap();
        let mut k = VoteKeeper::new(1, s.clone());
        k.add(vote(&s, big, VoteKind::Precommit, 0, Some(7)));
        assert!(k.quorum_for(0, VoteKind::Precommit, a));
        assert_eq!(k.precommits_for(0, &Hash([7; 32])).len(), 1);
    }

    /// What an operator reads of the keeper: each validator's first
    /// prevote and precommit of a round (nil told apart from none), and
    /// whether it was heard from at the height in any round.
    #[test]
    fn ballots_and_who_was_heard() {
        let s = set(&[1, 1, 1, 1]);
        let mut k = VoteKeeper::new(1, s.clone());
        k.add(vote(&s, 0, VoteKind::Prevote, 0, Some(7)));
        k.add(vote(&s, 0, VoteKind::Precommit, 0, None));
        k.add(vote(&s, 1, VoteKind::Prevote, 0, None));
        k.add(vote(&s, 2, VoteKind::Prevote, 1, Some(9)));
        assert_eq!(k.ballot(0, 0), [Some(Some(Hash([7; 32]))), Some(None)]);
        assert_eq!(k.ballot(0, 1), [Some(None), None]);
        assert_eq!(k.ballot(0, 2), [None, None]);
        assert_eq!(k.ballot(1, 2), [Some(Some(Hash([9; 32]))), None]);
        assert_eq!(k.ballot(5, 0), [None, None]);
        let heard: Vec<bool> = (0..4).map(|i| k.heard_from(i)).collect();
        assert_eq!(heard, [true, true, true, false]);
        let last: Vec<Option<u32>> = (0..4).map(|i| k.last_round_of(i)).collect();
        assert_eq!(last, [Some(0), Some(0), Some(1), None]);
    }

    #[test]
    fn equivocation_is_evidence_and_counts_for_each_value_within_a_bound() {
        let s = set(&[1, 1, 1, 1]);
        let mut k = VoteKeeper::new(1, s.clone());
        let first = vote(&s, 0, VoteKind::Prevote, 0, Some(1));
        assert_eq!(k.add(first.clone()), AddVote::Added);
        assert_eq!(k.add(first.clone()), AddVote::Duplicate);
        let second = vote(&s, 0, VoteKind::Prevote, 0, Some(2));
        match k.add(second.clone()) {
            AddVote::Equivocation(e) => {
                assert_eq!(e.first, first);
                assert_eq!(e.second, second);
            }
            other => panic!("{other:?}"),
        }
        // The validator is counted once in all, once for each value.
        assert_eq!(k.power_any(0, VoteKind::Prevote), 1);
        assert_eq!(k.power_for(0, VoteKind::Prevote, Some(&Hash([1; 32]))), 1);
        assert_eq!(k.power_for(0, VoteKind::Prevote, Some(&Hash([2; 32]))), 1);
        assert_eq!(k.add(second.clone()), AddVote::Duplicate);
        assert!(k.contains(&second.vote));
        // Past the bound, more values are evidence but not counted.
        for x in 3..10u8 {
            assert!(matches!(
                k.add(vote(&s, 0, VoteKind::Prevote, 0, Some(x))),
                AddVote::Equivocation(_)
            ));
        }
        let counted: u64 = (1..10u8)
            .map(|x| k.power_for(0, VoteKind::Prevote, Some(&Hash([x; 32]))))
            .sum();
        assert_eq!(counted, MAX_VALUES_PER_VOTER as u64);
        assert_eq!(k.votes_of_round(0).len(), MAX_VALUES_PER_VOTER);
        // A precommit in the same round is a different kind: fine.
        assert_eq!(
            k.add(vote(&s, 0, VoteKind::Precommit, 0, Some(2))),
            AddVote::Added
        );
    }

    #[test]
    fn wrong_height_unknown_voter_and_future_flooding_are_ignored() {
        let s = set(&[1, 1, 1, 1]);
        let mut k = VoteKeeper::new(1, s.clone());
        let mut v = vote(&s, 0, VoteKind::Prevote, 0, None);
        v.vote.height = 2;
        assert_eq!(k.add(v), AddVote::Ignored);
        let mut v = vote(&s, 0, VoteKind::Prevote, 0, None);
        v.vote.validator = Hash([9; 32]);
        assert_eq!(k.add(v), AddVote::Ignored);
        for r in 1..=MAX_FUTURE_ROUNDS as u32 {
            assert_eq!(
                k.add(vote(&s, 0, VoteKind::Prevote, r, None)),
                AddVote::Added
            );
        }
        assert_eq!(
            k.add(vote(&s, 0, VoteKind::Prevote, 100, None)),
            AddVote::Ignored
        );
        // Another kind in a round it already holds is fine.
        assert_eq!(
            k.add(vote(&s, 0, VoteKind::Precommit, 1, None)),
            AddVote::Added
        );
        // Once the machine moves on, room frees up.
        k.set_round(2);
        assert_eq!(
            k.add(vote(&s, 0, VoteKind::Prevote, 100, None)),
            AddVote::Added
        );
    }

    #[test]
    fn round_skip_needs_more_than_a_third() {
        let s = set(&[1, 1, 1, 1]);
        let mut k = VoteKeeper::new(1, s.clone());
        k.add(vote(&s, 0, VoteKind::Prevote, 3, None));
        assert_eq!(k.skip_round(0), None);
        k.add(vote(&s, 1, VoteKind::Precommit, 3, None));
        assert_eq!(k.skip_round(0), Some(3));
        assert_eq!(k.skip_round(3), None);
    }
}
