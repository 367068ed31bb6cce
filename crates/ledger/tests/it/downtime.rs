//! Slashing (ADR 0039), continued: downtime over a window of commits
//! slashes less and jails for a while, every change undoes exactly; the
//! new state entries survive storage and undo encodings; the `[staking]`
//! slashing keys and their defaults.

use std::collections::BTreeMap;

use luminex_ledger::evidence::evidence_tx;
use luminex_ledger::staking::{
    JailEntry, Ratio, StakingParams, StakingParamsError, StakingState, StakingUndo,
};
use luminex_ledger::{ChainSpec, SpecError};
use luminex_primitives::{Amount, CommitCertificate, Hash};

use super::slashing::{amount, double_sign, id, set_of, validator_key, Slashed};
use super::staking::{MIN, UNBONDING};

/// A certificate of the commit at `height` over a set of `n`, signed by
/// `signers` (signatures are not what liveness looks at).
pub(super) fn commit(height: u64, n: usize, signers: &[usize]) -> CommitCertificate {
    let mut bits = vec![0u8; n.div_ceil(8)];
    for i in signers {
        bits[i / 8] |= 1 << (i % 8);
    }
    CommitCertificate {
        height,
        round: 0,
        block_hash: Hash([height as u8; 32]),
        signers: bits,
        signatures: Vec::new(),
    }
}

#[test]
fn downtime_over_a_window_slashes_less_and_jails_for_a_while() {
    let mut s = Slashed::new(false);
    let v = validator_key(1);
    s.backed(&v);
    {
        let p = s.params();
        p.downtime_window = 10;
        p.downtime_min_signed = Ratio::new(1, 2);
        p.downtime_slash = Ratio::new(1, 100);
        p.jail_blocks = 7;
    }
    let others = [validator_key(5), validator_key(6), validator_key(7)];
    let set = set_of(&[&v, &others[0], &others[1], &others[2]]);
    let vi = set.index_of(&id(&v)).unwrap();
    let all: Vec<usize> = (0..4).filter(|i| *i != vi).collect();
    let spec = s.spec().clone();
    let mut undos = Vec::new();
    let mut states = vec![s.state.clone()];
    let bonded = s.state.total_bonded() + s.state.total_unbonding();
    // Commits 10..: v signs the first 4, then misses. After 10 commits it
    // has signed 4 of 10 (< 5): slashed and jailed at the tenth.
    for (k, at) in (10u64..20).enumerate() {
        let signers: Vec<usize> = if k < 4 { (0..4).collect() } else { all.clone() };
        let mut undo = StakingUndo::default();
        s.state
            .apply_liveness(&commit(at, 4, &signers), &set, at + 1, &spec, &mut undo)
            .unwrap();
        if k < 9 {
            assert!(s.state.jail(&id(&v)).is_none(), "commit {at}");
        }
        if k == 0 {
            // Every member gets a record when first seen…
            for o in &others {
                assert_eq!(s.state.liveness(&id(o)).unwrap().since, 10);
            }
        } else if k < 4 {
            // …and signing changes nothing after that.
            assert!(undo.changes.is_empty(), "commit {at}: {:?}", undo.changes);
        }
        undos.push(undo);
        states.push(s.state.clone());
    }
    assert_eq!(
        s.state.jail(&id(&v)),
        Some(&JailEntry {
            until: 20 + 7,
            slashed: false
        })
    );
    assert!(s.state.liveness(&id(&v)).is_none());
    // 1/100 of the 7 × MIN backing it, burned.
    assert_eq!(
        s.state.total_bonded() + s.state.total_unbonding(),
        bonded - u128::from(7 * MIN / 100)
    );
    assert_eq!(s.state.burned(), amount(7 * MIN / 100));
    // A jailed member is not tracked again while it stays in the set.
    let mut undo = StakingUndo::default();
    s.state
        .apply_liveness(&commit(20, 4, &all), &set, 21, &spec, &mut undo)
        .unwrap();
    assert!(s.state.liveness(&id(&v)).is_none());
    // A member that leaves the set is forgotten.
    let smaller = set_of(&[&v, &others[0], &others[1]]);
    let mut undo2 = StakingUndo::default();
    s.state
        .apply_liveness(&commit(21, 3, &[0, 1, 2]), &smaller, 22, &spec, &mut undo2)
        .unwrap();
    assert!(s.state.liveness(&id(&others[2])).is_none());
    s.state.undo(&undo2);
    s.state.undo(&undo);
    // Every block undoes to the state before it.
    while let Some(u) = undos.pop() {
        assert_eq!(&s.state, states.last().unwrap());
        states.pop();
        s.state.undo(&u);
    }
    assert_eq!(&s.state, states.last().unwrap());
    // The jail ends: unjail after `until`.
}

#[test]
fn a_validator_at_the_minimum_is_not_punished_and_zero_window_is_off() {
    let mut s = Slashed::new(false);
    let v = validator_key(1);
    s.backed(&v);
    s.params().downtime_window = 4;
    let w = validator_key(5);
    let set = set_of(&[&v, &w]);
    let vi = set.index_of(&id(&v)).unwrap();
    let spec = s.spec().clone();
    // Signs every other commit: 2 of 4 = the minimum (1/2).
    for at in 1u64..=12 {
        let signers: Vec<usize> = if at % 2 == 0 {
            vec![0, 1]
        } else {
            vec![1 - vi]
        };
        let mut undo = StakingUndo::default();
        s.state
            .apply_liveness(&commit(at, 2, &signers), &set, at + 1, &spec, &mut undo)
            .unwrap();
    }
    assert!(s.state.jail(&id(&v)).is_none());
    // Missed commits older than the window are dropped when the list
    // changes.
    assert!(s.state.liveness(&id(&v)).unwrap().missed.len() <= 4);
    // Off: nothing recorded.
    let mut off = s.spec().clone();
    off.staking.as_mut().unwrap().downtime_window = 0;
    let mut undo = StakingUndo::default();
    let before = s.state.clone();
    s.state
        .apply_liveness(&commit(13, 2, &[]), &set, 14, &off, &mut undo)
        .unwrap();
    assert_eq!(s.state, before);
}

#[test]
fn the_new_state_survives_storage_entries() {
    let mut s = Slashed::new(true);
    let v = validator_key(1);
    s.backed(&v);
    let tx = evidence_tx(
        s.spec().chain_id,
        double_sign(&v, &s.domain, 2, 0),
        s.reporter(),
    );
    let before = s.state.clone();
    s.mine(vec![tx]).unwrap();
    let w = validator_key(5);
    let set = set_of(&[&v, &w]);
    s.params().downtime_window = 10;
    let spec = s.spec().clone();
    let mut undo = StakingUndo::default();
    s.state
        .apply_liveness(&commit(3, 2, &[]), &set, 4, &spec, &mut undo)
        .unwrap();
    assert!(s.state.liveness(&id(&w)).is_some());
    assert!(s.state.pot() > Amount::ZERO);
    let entries = s.state.entries();
    assert_eq!(
        StakingState::from_entries(entries.clone()).unwrap(),
        s.state
    );
    // The writes after undoing bring a stored copy back.
    let mut stored: BTreeMap<Vec<u8>, Vec<u8>> = entries.into_iter().collect();
    let (_, block_undo) = s.undos.last().unwrap().clone();
    s.state.undo(&undo);
    s.state.undo(&block_undo);
    let mut all = block_undo.clone();
    all.changes.extend(undo.changes.iter().cloned());
    for (k, v) in s.state.writes(&all) {
        match v {
            Some(v) => stored.insert(k, v),
            None => stored.remove(&k),
        };
    }
    assert_eq!(StakingState::from_entries(stored).unwrap(), before);
    // Undo data encodes.
    let bytes = luminex_primitives::Encode::encode(&all);
    assert_eq!(
        <StakingUndo as luminex_primitives::Decode>::decode_all(&bytes).unwrap(),
        all
    );
    // And the state's canonical encoding.
    let bytes = luminex_primitives::Encode::encode(&before);
    assert_eq!(
        <StakingState as luminex_primitives::Decode>::decode_all(&bytes).unwrap(),
        before
    );
}

#[test]
fn slashing_keys_of_the_spec_with_defaults() {
    let p = StakingParams::new(amount(MIN), UNBONDING);
    assert_eq!(p.double_sign_slash, Ratio::new(1, 20));
    assert_eq!(p.downtime_slash, Ratio::new(1, 100));
    assert_eq!(p.reporter_share, Ratio::new(1, 10));
    assert_eq!(p.downtime_min_signed, Ratio::new(1, 2));
    assert_eq!(
        p.downtime_window, 0,
        "off unless the spec asks (the presets do)"
    );
    assert_eq!(p.check(), Ok(()));
    let toml = |extra: &str| format!("min_stake = {MIN}\nunbonding_blocks = {UNBONDING}\n{extra}");
    let parsed: StakingParams = toml::from_str(&toml("")).unwrap();
    assert_eq!(parsed, p);
    let parsed: StakingParams = toml::from_str(&toml(
        "double_sign_slash = \"1/3\"\ndowntime_slash = \"0/1\"\nreporter_share = \"1/1\"\ndowntime_window = 50\ndowntime_min_signed = \"3/4\"\njail_blocks = 5",
    ))
    .unwrap();
    assert_eq!(parsed.double_sign_slash, Ratio::new(1, 3));
    assert_eq!(parsed.downtime_window, 50);
    assert_eq!(parsed.jail_blocks, 5);
    assert_eq!(parsed.check(), Ok(()));
    // Written back as "n/d".
    let back = toml::to_string(&parsed).unwrap();
    assert!(back.contains("double_sign_slash = \"1/3\""), "{back}");
    // Not a fraction, or not within 0..=1.
    assert!(toml::from_str::<StakingParams>(&toml("double_sign_slash = \"half\"")).is_err());
    assert!(toml::from_str::<StakingParams>(&toml("double_sign_slash = 0.5")).is_err());
    let over: StakingParams = toml::from_str(&toml("reporter_share = \"3/2\"")).unwrap();
    assert_eq!(
        over.check(),
        Err(StakingParamsError::BadRatio("reporter_share"))
    );
    let zero: StakingParams = toml::from_str(&toml("downtime_slash = \"1/0\"")).unwrap();
    assert_eq!(
        zero.check(),
        Err(StakingParamsError::BadRatio("downtime_slash"))
    );
    let long = StakingParams {
        downtime_window: luminex_ledger::staking::MAX_DOWNTIME_WINDOW + 1,
        ..p.clone()
    };
    assert!(matches!(
        long.check(),
        Err(StakingParamsError::DowntimeWindow(_))
    ));
    // A spec carrying a bad one is refused as a whole.
    let poa = ChainSpec::preset_toml("poa").unwrap();
    assert_eq!(
        ChainSpec::from_toml(&format!(
            "{poa}\n[staking]\n{}\n",
            toml("reporter_share = \"3/2\"")
        )),
        Err(SpecError::Staking(StakingParamsError::BadRatio(
            "reporter_share"
        )))
    );
}

/// The staking presets judge downtime (ADR 0042) — over 100 commits on
/// `nextgen`'s 5-minute blocks, 600 on the 1-second blocks of `almagill`
/// and `sidechain`, each with a minimum of one half — and pause up to a
/// second after a decision for late precommits, so that certificates name
/// every live validator; `dev`, `qbtc` and `poa` have no staking, and
/// `poa` no pause: its blocks come at the interval's pace alone.
#[test]
fn the_staking_presets_judge_downtime_with_a_commit_pause() {
    for (name, window, jail) in [
        ("nextgen", 100, 12),
        ("almagill", 600, 600),
        ("sidechain", 600, 600),
    ] {
        let spec = ChainSpec::preset(name).unwrap();
        let p = spec.staking.as_ref().unwrap();
        assert_eq!(p.downtime_window, window, "{name}");
        assert_eq!(p.downtime_min_signed, Ratio::new(1, 2), "{name}");
        assert_eq!(p.downtime_slash, Ratio::new(1, 100), "{name}");
        assert_eq!(p.jail_blocks, jail, "{name}");
        assert_eq!(spec.bft.as_ref().unwrap().timeout_commit_ms, 1000, "{name}");
    }
    for name in ["dev", "qbtc", "poa"] {
        let spec = ChainSpec::preset(name).unwrap();
        assert!(spec.staking.is_none(), "{name}");
        if let Some(b) = &spec.bft {
            assert_eq!(b.timeout_commit_ms, 0, "{name}");
        }
    }
}
