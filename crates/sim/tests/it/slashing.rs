//! Slashing in the simulated network (ADR 0039): on a staking chain,
//! proposers put the double signer's evidence in a block and it is
//! punished exactly once; a silent validator is jailed for downtime; both
//! leave the validator set; no honest validator is touched; every node ends
//! with the same punishments, and the supply check (stake, the reward pot
//! and burned coins counted) holds after every block.

use luminex_crypto::SigningKey;
use luminex_ledger::ChainSpec;
use luminex_primitives::Hash;
use luminex_sim::{simulate_with, Behaviour, Config, Outcome, StakingRun};

fn id(spec: &ChainSpec, i: u32) -> Hash {
    SigningKey::from_seed(spec.default_scheme, &ChainSpec::dev_validator_seed(i))
        .public_key()
        .key_hash()
}

#[test]
fn a_double_signer_is_slashed_once_and_a_silent_validator_is_jailed() {
    use Behaviour::*;
    let behaviours = vec![Honest, Honest, DoubleVoter, Honest, Honest, Silent, Honest];
    let cfg = Config {
        transfers: 0,
        blocks_after_heal: 40,
        staking: Some(StakingRun {
            preset: "nextgen",
            epoch_blocks: 5,
            max_validators: 7,
            committee_size: None,
            joiners: 0,
            ..StakingRun::default()
        }),
        ..super::quiet(behaviours.clone())
    };
    let mut spec = None;
    let (report, states) = simulate_with(21, &cfg, |s| {
        let p = s.staking.as_mut().expect("a staking chain");
        p.downtime_window = 8;
        p.jail_blocks = 4;
        // Punished offences are remembered for the unbonding period: long
        // enough here to see them at the end.
        p.unbonding_blocks = 1_000;
        spec = Some(s.clone());
    });
    let spec = spec.expect("the spec");
    assert!(
        matches!(report.outcome, Outcome::Live { .. }),
        "{:?}",
        report.outcome
    );
    let (double, silent) = (id(&spec, 2), id(&spec, 5));
    let mut seen = Vec::new();
    for (i, state) in states.iter().enumerate() {
        if behaviours[i] != Honest {
            continue;
        }
        let s = state.as_ref().expect("an honest node is up");
        // Punished once, whatever number of heights it signed twice at.
        let offences: Vec<u64> = s
            .punished()
            .filter(|(_, v)| *v == double)
            .map(|(h, _)| *h)
            .collect();
        assert_eq!(offences.len(), 1, "node {i}: {offences:?}");
        assert!(s.jail(&double).is_some_and(|j| j.slashed), "node {i}");
        // Slashed: less than the genesis bond is left.
        assert!(
            s.bonded_power(&double) < luminex_sim::MIN_STAKE,
            "node {i}: {}",
            s.bonded_power(&double)
        );
        // Jailed for downtime: it may come back after its jail.
        let jail = s.jail(&silent).copied();
        assert!(jail.is_some_and(|j| !j.slashed), "node {i}: {jail:?}");
        for (k, b) in behaviours.iter().enumerate() {
            if *b == Honest {
                assert!(s.jail(&id(&spec, k as u32)).is_none(), "node {i}: {k}");
            }
        }
        // Burned: one double-sign slash less the reporter's tenth, and one
        // downtime slash, of genesis bonds of MIN_STAKE each.
        let min = luminex_sim::MIN_STAKE;
        assert_eq!(
            s.burned().base(),
            min / 20 - min / 200 + min / 100,
            "node {i}"
        );
        seen.push((offences, s.jail(&double).copied(), jail));
    }
    // Every honest node punished the same offence the same way.
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
    // Both left the set; the honest five finalize on.
    let last = report.validator_sets.last().expect("heights");
    assert!(!last.contains(&2) && !last.contains(&5), "{last:?}");
}
