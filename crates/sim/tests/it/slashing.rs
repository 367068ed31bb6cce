//! Slashing in the simulated network (ADR 0039): on a staking chain,
//! proposers put the double signer's evidence in a block and it is
//! punished exactly once; a silent validator is jailed for downtime; both
//! leave the validator set; no honest validator is touched; every node ends
//! with the same punishments, and the supply check (stake, the reward pot
//! and burned coins counted) holds after every block.

use luminex_crypto::SigningKey;
use luminex_ledger::{ChainSpec, StakingState};
use luminex_primitives::Hash;
use luminex_sim::{simulate_with, Behaviour, Config, Outcome, Report, StakingRun};

fn id(spec: &ChainSpec, i: u32) -> Hash {
    SigningKey::from_seed(spec.default_scheme, &ChainSpec::dev_validator_seed(i))
        .public_key()
        .key_hash()
}

/// Runs `cfg` from `seed` with `adjust` applied to the spec, checks that
/// the run stayed live, and returns its report, the staking state each
/// node ended with and the spec it ran.
fn run_live(
    seed: u64,
    cfg: &Config,
    adjust: impl FnOnce(&mut ChainSpec),
) -> (Report, Vec<Option<StakingState>>, ChainSpec) {
    let mut spec = None;
    let (report, states) = simulate_with(seed, cfg, |s| {
        adjust(s);
        spec = Some(s.clone());
    });
    assert!(
        matches!(report.outcome, Outcome::Live { .. }),
        "{:?}",
        report.outcome
    );
    (report, states, spec.expect("the spec"))
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
    let (report, states, spec) = run_live(21, &cfg, |s| {
        let p = s.staking.as_mut().expect("a staking chain");
        p.downtime_window = 8;
        p.jail_blocks = 4;
        // Punished offences are remembered for the unbonding period: long
        // enough here to see them at the end.
        p.unbonding_blocks = 1_000;
    });
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

/// Runs seven validators of `nextgen` — five fast, node 4 live but the
/// slowest (every message it sends or receives takes 30 ms more than the
/// others' 1–20 ms, so it is never in the first quorum), node 5 silent —
/// with a downtime window of 10 commits for `blocks` blocks, and the
/// commit pause `timeout_commit_ms`. The staking states of the honest
/// nodes (all equal) and the spec.
fn slow_and_silent(
    timeout_commit_ms: u64,
    blocks: u64,
) -> (Vec<luminex_ledger::StakingState>, ChainSpec) {
    use Behaviour::*;
    let behaviours = vec![Honest, Honest, Honest, Honest, Honest, Silent, Honest];
    let cfg = Config {
        transfers: 0,
        blocks_after_heal: blocks,
        slow: vec![(4, 30)],
        staking: Some(StakingRun {
            max_validators: 7,
            ..StakingRun::default()
        }),
        ..super::quiet(behaviours.clone())
    };
    let (_, states, spec) = run_live(34, &cfg, |s| {
        s.bft.as_mut().expect("a BFT spec").timeout_commit_ms = timeout_commit_ms;
        let p = s.staking.as_mut().expect("a staking chain");
        p.downtime_window = 10;
        p.jail_blocks = 4;
    });
    let honest: Vec<_> = states
        .into_iter()
        .enumerate()
        .filter(|(i, _)| behaviours[*i] == Honest)
        .map(|(i, s)| s.unwrap_or_else(|| panic!("honest node {i} is up")))
        .collect();
    let jails: Vec<_> = honest
        .iter()
        .map(|s| s.jails().map(|(id, j)| (*id, *j)).collect::<Vec<_>>())
        .collect();
    assert!(jails.windows(2).all(|w| w[0] == w[1]), "{jails:?}");
    (honest, spec)
}

/// The commit pause makes downtime fair (ADR 0042): the precommits of a
/// live validator that is always the slowest arrive after the quorum but
/// within the pause, join the certificates the next blocks carry, and it
/// is never jailed over six windows — while the silent validator is, as
/// soon as it has been watched for a window.
#[test]
fn a_live_but_slowest_validator_is_never_jailed_and_a_silent_one_is() {
    let (states, spec) = slow_and_silent(luminex_sim::SIM_TIMEOUT_COMMIT_MS, 60);
    for s in &states {
        assert!(
            s.jail(&id(&spec, 5)).is_some_and(|j| !j.slashed),
            "the silent validator is jailed for downtime"
        );
        for k in [0, 1, 2, 3, 4, 6] {
            assert!(s.jail(&id(&spec, k)).is_none(), "validator {k} jailed");
        }
    }
}

/// The same network without the pause: certificates carry the first
/// quorum only, the slow validator is missing from most of them and is
/// jailed — what the pause is for.
#[test]
fn without_the_commit_pause_the_slowest_validator_is_jailed() {
    let (states, spec) = slow_and_silent(0, 25);
    for s in &states {
        assert!(s.jail(&id(&spec, 4)).is_some(), "the slow validator");
        assert!(s.jail(&id(&spec, 5)).is_some(), "the silent validator");
    }
}
