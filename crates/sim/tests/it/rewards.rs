//! Rewards follow the work (ADR 0068): on a BFT staking chain an epoch's
//! pot is shared by the power with which each validator signed the
//! epoch's commits, so a validator that stays in the set but signs nothing
//! earns nothing, however long it escapes the downtime rules.

use luminex_crypto::SigningKey;
use luminex_ledger::ChainSpec;
use luminex_primitives::Lock;
use luminex_sim::{simulate_run, Behaviour, Config, Outcome, StakingRun};

fn lock(spec: &ChainSpec, i: u32) -> Lock {
    SigningKey::from_seed(spec.default_scheme, &ChainSpec::dev_validator_seed(i))
        .public_key()
        .lock()
}

/// Seven `nextgen` validators of equal stake, node 5 silent from the
/// start; the downtime rules off (window 0), so it is never jailed and
/// stays in the set. Every epoch boundary pays the six that sign — each
/// of them something — and never the silent one, and every honest node
/// pays exactly the same.
#[test]
fn a_validator_that_signs_nothing_earns_nothing_while_it_stays_in_the_set() {
    use Behaviour::*;
    let behaviours = vec![Honest, Honest, Honest, Honest, Honest, Silent, Honest];
    let cfg = Config {
        transfers: 0,
        blocks_after_heal: 30,
        staking: Some(StakingRun {
            max_validators: 7,
            ..StakingRun::default()
        }),
        ..super::quiet(behaviours.clone())
    };
    let run = simulate_run(68, &cfg, |s| {
        s.staking.as_mut().expect("a staking chain").downtime_window = 0;
    });
    assert!(
        matches!(run.report.outcome, Outcome::Live { .. }),
        "{:?}",
        run.report.outcome
    );
    let silent = lock(&run.spec, 5);
    let signers: Vec<Lock> = (0..7u32)
        .filter(|i| *i != 5)
        .map(|i| lock(&run.spec, i))
        .collect();
    let honest: Vec<usize> = (0..7).filter(|i| behaviours[*i] == Honest).collect();
    let first = &run.payouts[honest[0]];
    // The first epoch's commits start at block 1's; from the second
    // boundary on, every boundary pays all six signers.
    let paying: Vec<u64> = first
        .iter()
        .filter(|(_, paid)| !paid.is_empty())
        .map(|(h, _)| *h)
        .collect();
    assert!(paying.len() >= 4, "boundaries that paid: {paying:?}");
    for (height, paid) in first {
        assert!(
            paid.iter().all(|o| o.lock != silent),
            "boundary {height} paid the silent validator: {paid:?}"
        );
        if *height > 5 {
            for l in &signers {
                assert!(
                    paid.iter().any(|o| o.lock == *l && o.amount.base() > 0),
                    "boundary {height} paid nothing to a signer: {paid:?}"
                );
            }
        }
    }
    for i in &honest[1..] {
        for (height, paid) in &run.payouts[*i] {
            if let Some(p) = first.get(height) {
                assert_eq!(p, paid, "node {i} at boundary {height}");
            }
        }
    }
    // The silent validator is still in the set at the end: only the reward
    // rule kept its share from it.
    let last = run.report.validator_sets.last().expect("heights");
    assert!(last.contains(&5), "{last:?}");
}
