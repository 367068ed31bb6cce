//! Proposer selection weighted by voting power, rotating with the round:
//! CometBFT's proposer-priority algorithm. Each step adds every validator's
//! power to its priority, picks the highest (ties to the lowest id) and
//! takes the total power off the one picked. Before stepping, priorities are
//! scaled into a window of twice the total power and centred on zero, and a
//! validator that joins starts at −1.125 × the total, so that no one can
//! propose many blocks in a row after a set change.

use luminex_ledger::ValidatorSet;

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
}
