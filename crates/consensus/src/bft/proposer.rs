//! Proposer selection weighted by voting power, rotating with the round:
//! CometBFT's proposer-priority algorithm. Each step adds every validator's
//! power to its priority, picks the highest (ties to the lowest id) and
//! takes the total power off the one picked. Before stepping, priorities are
//! scaled into a window of twice the total power and centred on zero, and a
//! validator that joins starts at −1.125 × the total, so that no one can
//! propose many blocks in a row after a set change.

use luminex_ledger::spec::ProposerSelection;
use luminex_ledger::{ConsensusRecord, ValidatorSet};
use luminex_primitives::hash::Domain;
use luminex_primitives::Hash;

/// Domain of the hash that draws a view's leader under
/// [`ProposerSelection::StakeAndView`].
const LEADER: Domain = Domain("luminex/bft-leader");

/// Scales priorities into a window of `2 × total` and centres them on zero.
fn normalize(priorities: &mut [i64], set: &ValidatorSet) {
    let total = set.total_power() as i128;
    let window = 2 * total;
    let (min, max) = priorities
        .iter()
        .fold((i64::MAX, i64::MIN), |(lo, hi), p| (lo.min(*p), hi.max(*p)));
    let diff = max as i128 - min as i128;
    if window > 0 && diff > window {
        let ratio = (diff + window - 1) / window;
        for p in priorities.iter_mut() {
            *p = (*p as i128 / ratio) as i64;
        }
    }
    if !priorities.is_empty() {
        let sum: i128 = priorities.iter().map(|p| *p as i128).sum();
        let avg = sum / priorities.len() as i128;
        for p in priorities.iter_mut() {
            *p = (*p as i128 - avg) as i64;
        }
    }
}

/// One step: returns the index of the validator picked.
fn step(priorities: &mut [i64], set: &ValidatorSet) -> usize {
    for (p, v) in priorities.iter_mut().zip(set.validators()) {
        *p = p.saturating_add(v.power as i64);
    }
    let mut best = 0;
    for (i, p) in priorities.iter().enumerate() {
        if *p > priorities[best] {
            best = i;
        }
    }
    priorities[best] = priorities[best].saturating_sub(set.total_power() as i64);
    best
}

/// The index of the proposer of round `round` for a set whose priorities
/// are `priorities` (as stored in the consensus state before the height).
pub fn proposer_index(set: &ValidatorSet, priorities: &[i64], round: u32) -> usize {
    let mut p = priorities.to_vec();
    normalize(&mut p, set);
    let mut chosen = 0;
    for _ in 0..=round {
        chosen = step(&mut p, set);
    }
    chosen
}

/// The index of the leader of view (`height`, `round`) drawn from `set`
/// weighted by power: a 128-bit number from a hash of the view and the
/// set's hash, reduced modulo the total power, picks the validator whose
/// share of the cumulative power (in the set's canonical order) holds it.
/// The reduction's bias is below 2^-64 for any total a `u64` can hold.
pub fn stake_and_view_index(set: &ValidatorSet, height: u64, round: u32) -> usize {
    let total = set.total_power() as u128;
    if total == 0 {
        return 0;
    }
    let mut h = LEADER.hasher();
    h.update(set.hash().as_bytes());
    h.update(&height.to_le_bytes());
    h.update(&round.to_le_bytes());
    let digest = h.finish();
    let mut first = [0u8; 16];
    first.copy_from_slice(&digest.as_bytes()[..16]);
    let mut ticket = u128::from_le_bytes(first) % total;
    for (i, v) in set.validators().iter().enumerate() {
        let power = v.power as u128;
        if ticket < power {
            return i;
        }
        ticket -= power;
    }
    set.len().saturating_sub(1)
}

/// The index in `record.validators` of the proposer of `round` at the
/// height after `record`, under `selection`.
pub fn select(selection: ProposerSelection, record: &ConsensusRecord, round: u32) -> usize {
    match selection {
        ProposerSelection::Rotation => {
            proposer_index(&record.validators, &record.priorities, round)
        }
        ProposerSelection::StakeAndView => {
            stake_and_view_index(&record.validators, record.height + 1, round)
        }
    }
}

/// The id of the proposer of `round` at the height after `record`
/// ([`Hash::ZERO`] for an empty set, which the rules never produce).
pub fn select_id(selection: ProposerSelection, record: &ConsensusRecord, round: u32) -> Hash {
    let i = select(selection, record, round);
    record.validators.id(i).unwrap_or(Hash::ZERO)
}

/// The priorities for the next height: one step after normalising.
pub fn advance(set: &ValidatorSet, priorities: &[i64]) -> Vec<i64> {
    let mut p = priorities.to_vec();
    normalize(&mut p, set);
    step(&mut p, set);
    p
}

/// Priorities of `new` given those of `old`: validators that stay keep
/// theirs, newcomers start at −1.125 × the new total.
pub fn carry_over(old: &ValidatorSet, priorities: &[i64], new: &ValidatorSet) -> Vec<i64> {
    if old == new {
        return priorities.to_vec();
    }
    let start = -((new.total_power() as i128 * 9 / 8) as i64);
    let mut p: Vec<i64> = new
        .validators()
        .iter()
        .map(|v| {
            old.index_of(&v.id())
                .and_then(|i| priorities.get(i).copied())
                .unwrap_or(start)
        })
        .collect();
    normalize(&mut p, new);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_ledger::Validator;
    use luminex_primitives::{PublicKey, SchemeId};

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

    /// Over a window of heights each validator proposes in proportion to its
    /// power, and equal powers take strict turns.
    #[test]
    fn proposals_follow_power() {
        for powers in [vec![1, 1, 1, 1], vec![1, 2, 3, 4], vec![10, 1, 1]] {
            let s = set(&powers);
            let total: u64 = powers.iter().sum();
            let mut pr = vec![0; s.len()];
            let mut counts = vec![0u64; s.len()];
            let mut last = None;
            let mut run = 0;
            let rounds = total * 50;
            for _ in 0..rounds {
                let i = proposer_index(&s, &pr, 0);
                counts[i] += 1;
                run = if last == Some(i) { run + 1 } else { 1 };
                last = Some(i);
                pr = advance(&s, &pr);
                assert!(run <= s.validators()[i].power as usize + 1);
            }
            for (i, v) in s.validators().iter().enumerate() {
                assert_eq!(counts[i], v.power * 50, "powers {powers:?}");
            }
        }
    }

    /// Later rounds of one height rotate to other proposers.
    #[test]
    fn rounds_rotate() {
        let s = set(&[1, 1, 1, 1]);
        let pr = vec![0; 4];
        let picks: Vec<usize> = (0..4).map(|r| proposer_index(&s, &pr, r)).collect();
        let mut sorted = picks.clone();
        sorted.sort();
        assert_eq!(sorted, vec![0, 1, 2, 3]);
    }

    /// A newcomer does not propose straight away, and does within a window.
    #[test]
    fn newcomer_waits_its_turn() {
        let old = set(&[1, 1, 1]);
        let mut pr = vec![0; 3];
        for _ in 0..5 {
            pr = advance(&old, &pr);
        }
        let new = set(&[1, 1, 1, 1]);
        let id3 = new
            .validators()
            .iter()
            .map(|v| v.id())
            .find(|id| old.index_of(id).is_none())
            .unwrap();
        let mut p = carry_over(&old, &pr, &new);
        let first = (0..20)
            .position(|_| {
                let i = proposer_index(&new, &p, 0);
                p = advance(&new, &p);
                new.id(i) == Some(id3)
            })
            .expect("the newcomer proposes within 20 heights");
        assert!(first >= 1, "newcomer proposed at once");
    }

    /// The same view always draws the same leader; another round, height
    /// or set draws afresh.
    #[test]
    fn stake_and_view_is_a_function_of_the_view() {
        let s = set(&[5, 1, 3, 2]);
        for h in 1..50 {
            for r in 0..4 {
                assert_eq!(
                    stake_and_view_index(&s, h, r),
                    stake_and_view_index(&s, h, r)
                );
            }
        }
        let rounds: std::collections::BTreeSet<_> =
            (0..32).map(|r| stake_and_view_index(&s, 7, r)).collect();
        assert!(rounds.len() > 1, "every round of a height drew one leader");
        let other = set(&[5, 1, 3, 3]);
        let differ = (1..200)
            .filter(|h| stake_and_view_index(&s, *h, 0) != stake_and_view_index(&other, *h, 0))
            .count();
        assert!(differ > 0, "another set drew the same leaders");
    }

    /// Over many views each validator leads in proportion to its power
    /// (the draw is deterministic, so so is this count).
    #[test]
    fn stake_and_view_follows_power() {
        let powers = [40u64, 30, 20, 9, 1];
        let s = set(&powers);
        let mut led = vec![0u64; s.len()];
        let views = 20_000u64;
        for h in 0..views / 4 {
            for r in 0..4 {
                led[stake_and_view_index(&s, h, r)] += 1;
            }
        }
        for (i, v) in s.validators().iter().enumerate() {
            let expected = views * v.power / s.total_power();
            let tolerance = views / 50; // 2 percentage points
            assert!(
                led[i].abs_diff(expected) <= tolerance,
                "validator {i} with power {} led {} of {views} views, expected about {expected}",
                v.power,
                led[i]
            );
        }
    }

    /// A set of one always draws it.
    #[test]
    fn stake_and_view_edge_sets() {
        let one = set(&[7]);
        assert!((0..100).all(|r| stake_and_view_index(&one, 3, r) == 0));
    }

    /// Selection dispatches on the spec's rule: rotation as before,
    /// stake-and-view by the view.
    #[test]
    fn select_follows_the_rule() {
        let s = set(&[1, 1, 1, 1]);
        let record = ConsensusRecord {
            height: 9,
            validators: s.clone(),
            priorities: vec![0; 4],
            next_validators: s.clone(),
            pending: Vec::new(),
            scheduled: None,
        };
        for r in 0..8 {
            assert_eq!(
                select(ProposerSelection::Rotation, &record, r),
                proposer_index(&s, &record.priorities, r)
            );
            assert_eq!(
                select(ProposerSelection::StakeAndView, &record, r),
                stake_and_view_index(&s, 10, r)
            );
        }
    }
}
