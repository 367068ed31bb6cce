//! The simulation's own checks: many seeds are safe and live, a seed
//! replays exactly, too many faulty validators stall without breaking
//! safety, and a broken locking rule is caught with a replayable seed.

mod committee;
mod rewards;
mod slashing;

use std::collections::BTreeSet;

use luminex_crypto::SigningKey;
use luminex_primitives::SchemeId;

use luminex_sim::{
    random_config, simulate, sweep_config, Behaviour, Config, Outcome, ProposerSelection,
};
use rayon::prelude::*;

/// Seeds `from..to`: even seeds 4 validators (f = 1), odd seeds 7 (f = 2),
/// with 0..=f Byzantine, partitions, drops and crashes.
fn sweep(from: u64, to: u64) {
    sweep_with(from, to, sweep_config);
}

/// [`sweep`] with each seed's configuration from `config`.
fn sweep_with(from: u64, to: u64, config: impl Fn(u64) -> Config + Sync) {
    let failures: Vec<String> = (from..to)
        .into_par_iter()
        .filter_map(|seed| {
            let cfg = config(seed);
            let r = simulate(seed, &cfg);
            match r.outcome {
                Outcome::Live { .. } => None,
                other => Some(format!(
                    "seed {seed}: {other:?}\n  config {cfg:?}\n  nodes {:?}",
                    r.nodes
                )),
            }
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The sweep's faults (partitions, drops, crashes) with one more validator
/// misbehaving: its clock 110 minutes ahead (ADR 0065), where the seed's
/// Byzantine count leaves room for one more; seeds with a full count run
/// as drawn.
#[test]
fn seeds_0_to_60_with_a_fast_clock_are_safe_and_live() {
    sweep_with(0, 60, |seed| {
        let mut cfg = sweep_config(seed);
        let n = cfg.behaviours.len();
        let f = (n - 1) / 3;
        let byzantine = cfg
            .behaviours
            .iter()
            .filter(|b| **b != Behaviour::Honest)
            .count();
        let crashed: Vec<usize> = cfg.crashes.iter().map(|c| c.0).collect();
        if byzantine < f {
            if let Some(i) =
                (0..n).find(|i| cfg.behaviours[*i] == Behaviour::Honest && !crashed.contains(i))
            {
                cfg.behaviours[i] = Behaviour::FastClock;
            }
        }
        cfg
    });
}

// 300 seeds in three tests, so the harness runs them side by side.
#[test]
fn seeds_0_to_100_are_safe_and_live() {
    sweep(0, 100);
}

#[test]
fn seeds_100_to_200_are_safe_and_live() {
    sweep(100, 200);
}

#[test]
fn seeds_200_to_300_are_safe_and_live() {
    sweep(200, 300);
}

#[test]
#[ignore = "diagnosis of one seed: SEED=27 N=7 B=1 cargo test -- --ignored one_seed"]
fn one_seed() {
    let var = |k: &str, d: u64| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let seed = var("SEED", 27);
    let cfg = random_config(seed, var("N", 7) as usize, var("B", 1) as usize);
    let r = simulate(seed, &cfg);
    println!("{cfg:?}\n{:?}\n{:#?}", r.outcome, r.nodes);
}

#[test]
fn a_seed_replays_exactly() {
    for seed in [3u64, 18] {
        let cfg = random_config(seed, 7, 2);
        let a = simulate(seed, &cfg);
        let b = simulate(seed, &cfg);
        assert_eq!(a.trace, b.trace, "seed {seed}");
        assert_eq!(a.outcome, b.outcome);
        assert_eq!(a.delivered, b.delivered);
        // Another seed is another run.
        assert_ne!(simulate(seed + 2, &cfg).trace, a.trace);
    }
}

fn quiet(behaviours: Vec<Behaviour>) -> Config {
    Config {
        behaviours,
        drop_percent: 0,
        max_delay_ms: 20,
        min_delay_ms: 0,
        partitioned: vec![],
        heal_ms: 0,
        crashes: vec![],
        blocks_after_heal: 3,
        locking: true,
        transfers: 4,
        liveness_ms: luminex_sim::LIVENESS_MS,
        catch_up: true,
        proposer_selection: ProposerSelection::Rotation,
        staking: None,
        slow: Vec::new(),
    }
}

/// The `almagill` rule (leader from stake and view) finalizes as the
/// rotation does, also with a silent validator it may draw for many views.
#[test]
fn stake_and_view_leaders_finalize() {
    use Behaviour::*;
    for behaviours in [vec![Honest; 4], vec![Honest, Silent, Honest, Honest]] {
        let cfg = Config {
            proposer_selection: ProposerSelection::StakeAndView,
            ..quiet(behaviours)
        };
        let r = simulate(5, &cfg);
        assert!(matches!(r.outcome, Outcome::Live { .. }), "{:?}", r.outcome);
    }
}

/// A validator that signs two votes in a round is caught: every honest
/// node ends holding evidence against it (found by its own vote keeper
/// or checked from a peer's gossip), and against no one else.
#[test]
fn double_voters_are_caught_by_every_honest_node() {
    use Behaviour::*;
    let cfg = quiet(vec![Honest, DoubleVoter, Honest, Honest]);
    let r = simulate(11, &cfg);
    assert!(matches!(r.outcome, Outcome::Live { .. }), "{:?}", r.outcome);
    for i in [0, 2, 3] {
        assert_eq!(
            r.evidence[i],
            std::collections::BTreeSet::from([1]),
            "node {i}"
        );
    }
}

#[test]
fn f_plus_one_silent_validators_stall_without_breaking_safety() {
    use Behaviour::*;
    let r = simulate(1, &quiet(vec![Honest, Honest, Silent, Silent]));
    match r.outcome {
        Outcome::NoProgress { heights } => assert_eq!(heights, vec![0, 0]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn f_byzantine_of_each_kind_cannot_stop_four_validators() {
    use Behaviour::*;
    for b in [
        Silent,
        DoubleVoter,
        Equivocator,
        InvalidProposer,
        Garbage,
        FastClock,
    ] {
        for pos in 0..4 {
            let mut v = vec![Honest; 4];
            v[pos] = b;
            let r = simulate(pos as u64, &quiet(v));
            assert!(
                matches!(r.outcome, Outcome::Live { height } if height >= 3),
                "{b:?} at {pos}: {:?}",
                r.outcome
            );
        }
    }
}

/// One validator whose clock runs 110 minutes ahead (within the spec's
/// `max_future_block_time_secs`) dates its proposals that far ahead: the
/// others prevote nil on them in round 0 (ADR 0065), so the chain's time
/// stays within the spec's precision of the others' clocks instead of
/// following the fast one (every later block must be later still), and
/// blocks keep finalizing.
#[test]
fn a_fast_clock_cannot_carry_the_chain_time_ahead() {
    use Behaviour::*;
    let precision = luminex_sim::preset_sim_spec("poa", 4)
        .bft
        .unwrap()
        .proposal_time_precision_ms;
    for pos in 0..4 {
        let mut v = vec![Honest; 4];
        v[pos] = FastClock;
        let cfg = Config {
            blocks_after_heal: 12,
            ..quiet(v)
        };
        let r = simulate(pos as u64, &cfg);
        assert!(
            matches!(r.outcome, Outcome::Live { height } if height >= 12),
            "fast clock at {pos}: {:?}",
            r.outcome
        );
        assert!(
            r.max_block_lead_ms <= precision,
            "fast clock at {pos}: a block dated {} ms ahead",
            r.max_block_lead_ms
        );
    }
}

#[test]
fn transfers_are_finalized_and_the_supply_is_conserved() {
    // The supply check runs on every commit; here the transfers must also
    // have made it into blocks.
    // Long enough for the transfers, submitted within the first 3 s, to
    // be in blocks (heights take ~25 simulated ms).
    let cfg = Config {
        blocks_after_heal: 200,
        ..quiet(vec![Behaviour::Honest; 4])
    };
    let r = simulate(7, &cfg);
    assert!(matches!(r.outcome, Outcome::Live { .. }), "{:?}", r.outcome);
    assert!(!r.certificate_bytes.is_empty());
    // Each transfer reached one mempool: the other validators rebuilt the
    // proposals carrying them with transactions asked of the proposer.
    assert!(r.fetched_proposals > 0, "{r:?}");
}

/// With the locking rule disabled, a double-voting validator and an
/// unreliable network make honest validators finalize different blocks;
/// the report names the seed, which replays the violation exactly, and the
/// same run with locking is safe.
#[test]
fn disabling_locking_is_caught_with_a_replayable_seed() {
    let found = (0..2000u64).into_par_iter().find_map_first(|seed| {
        let mut cfg = random_config(seed, 4, 0);
        cfg.behaviours[(seed % 4) as usize] = Behaviour::DoubleVoter;
        cfg.crashes.clear();
        cfg.locking = false;
        cfg.drop_percent = 40;
        cfg.heal_ms = 3000;
        // A stalled run is not what is looked for here: stop early; and
        // catch-up would hand the laggards the first decision before the
        // unlocked ones could contradict it.
        cfg.liveness_ms = 5_000;
        cfg.catch_up = false;
        match simulate(seed, &cfg).outcome {
            Outcome::SafetyViolation(v) => Some((seed, cfg, v)),
            _ => None,
        }
    });
    let (seed, cfg, v) = found.expect("no seed broke safety without locking");
    assert_eq!(simulate(seed, &cfg).outcome, Outcome::SafetyViolation(v));
    let safe = Config {
        locking: true,
        ..cfg
    };
    assert!(!matches!(
        simulate(seed, &safe).outcome,
        Outcome::SafetyViolation(_)
    ));
}

/// The `nextgen` and `almagill` presets (ADR 0034), each with its own
/// leader rule: two nodes outside the genesis set bond three times a
/// genesis validator's stake at the start. The set changes only where an
/// epoch's election takes effect (height `(k+1)L + 1` for the boundary
/// `kL`), ends as the top four by stake — both joiners and the two genesis
/// validators with the lowest ids — and blocks keep finalizing under it,
/// so the joiners sign. After every block the supply holds: spendable,
/// bonded and unbonding coins are the genesis coins plus the subsidies —
/// on `almagill`, which has none, exactly the genesis supply.
#[test]
fn staked_validators_are_elected_at_an_epoch_boundary() {
    use luminex_sim::StakingRun;
    for (preset, selection) in [
        ("nextgen", ProposerSelection::Rotation),
        ("almagill", ProposerSelection::StakeAndView),
    ] {
        const L: u64 = 5;
        let cfg = Config {
            transfers: 0,
            // Joins are submitted within the first 3 simulated seconds;
            // heights take some 25 ms.
            blocks_after_heal: 200,
            proposer_selection: selection,
            staking: Some(StakingRun {
                preset,
                epoch_blocks: L,
                max_validators: 4,
                committee_size: None,
                joiners: 2,
                ..StakingRun::default()
            }),
            ..quiet(vec![Behaviour::Honest; 6])
        };
        let r = simulate(11, &cfg);
        assert!(
            matches!(r.outcome, Outcome::Live { .. }),
            "{preset}: {:?} {:?} sets {:?}",
            r.outcome,
            r.nodes,
            r.validator_sets
        );
        let sets = &r.validator_sets;
        assert!(sets.len() >= 200, "{} heights", sets.len());
        assert_eq!(sets[0], (0..4).collect(), "the genesis set signs height 1");
        let mut changes = Vec::new();
        for (i, w) in sets.windows(2).enumerate() {
            if w[0] != w[1] {
                // sets[i + 1] finalizes height i + 2.
                let height = i as u64 + 2;
                assert_eq!((height - 1) % L, 0, "a set change at height {height}");
                changes.push(height);
            }
        }
        assert!(!changes.is_empty(), "the joiners were never elected");
        // The top four by stake: the joiners (3x), then the genesis
        // validators (1x each) with the lowest ids.
        let id = |i: u32| {
            SigningKey::from_seed(
                SchemeId::MlDsa65,
                &luminex_ledger::ChainSpec::dev_validator_seed(i),
            )
            .public_key()
            .key_hash()
        };
        let mut genesis: Vec<usize> = (0..4).collect();
        genesis.sort_by_key(|i| id(*i as u32));
        let expected: BTreeSet<usize> = [4, 5, genesis[0], genesis[1]].into();
        assert_eq!(sets.last(), Some(&expected), "changes at {changes:?}");
    }
}
