//! The staking state and its undo through their encodings, and the
//! spec's `[staking]` table.

use super::*;

#[test]
fn state_and_undo_round_trip_through_their_encodings() {
    let mut s = Staked::new(true);
    let v = validator_key(1);
    let d = s.key(1);
    let newcomer = validator_key(3);
    s.mine(vec![
        s.tx(0, stake(&v, 2 * MIN), Some(&v)),
        s.tx(
            2,
            TxKind::CreateAccount(AccountCreation {
                lock: lock_of(&newcomer),
            }),
            None,
        ),
    ])
    .unwrap();
    s.mine(vec![
        s.tx(1, delegate(&v, 700), Some(&d)),
        s.tx(
            0,
            // A node with stake of its own (ADR 0063): the validator's key.
            TxKind::RegisterNode(NodeRegistration {
                node: v.public_key().clone(),
                payout: lock_of(&newcomer),
            }),
            Some(&v),
        ),
    ])
    .unwrap();
    s.mine(vec![s.tx(
        1,
        TxKind::Undelegate(unbond(&v, 300, lock_of(&d))),
        Some(&d),
    )])
    .unwrap();
    let mut undo = StakingUndo::default();
    s.state.jail_validator(id(&v), 9, true, &mut undo);
    let bytes = s.state.encode();
    let back = StakingState::decode_all(&bytes).unwrap();
    assert_eq!(back, s.state);
    assert_eq!(back.hash(), s.state.hash());
    for (_, u) in &s.undos {
        assert_eq!(&StakingUndo::decode_all(&u.encode()).unwrap(), u);
    }
    // Any change of the state changes its hash.
    let mut other = s.state.clone();
    other.jail_validator(id(&v), 10, true, &mut undo);
    assert_ne!(other.hash(), s.state.hash());
    // As storage entries: they load back as the state; bad keys are typed
    // errors.
    let entries = s.state.entries();
    assert_eq!(
        StakingState::from_entries(entries.clone()).unwrap(),
        s.state
    );
    let mut bad = entries.clone();
    bad[0].0.push(0);
    assert!(StakingState::from_entries(bad).is_err());
    let mut bad = entries.clone();
    bad[0].0[0] = 9;
    assert!(StakingState::from_entries(bad).is_err());
    assert!(StakingState::from_entries([(Vec::new(), Vec::new())]).is_err());
    // A state whose entries are out of order is not canonical.
    let mut two = StakingState::with_accounts([lock_of(&v), lock_of(&d)]).encode();
    let n = two.len();
    let (a, b) = two[n - 68..].split_at_mut(34);
    a.swap_with_slice(b);
    assert!(StakingState::decode_all(&two).is_err());
}

#[test]
fn the_staking_table_of_a_spec_is_checked() {
    let governed = ChainSpec::preset_toml("poa").unwrap();
    // A staking chain's set comes from stake: governance changes are off.
    assert!(matches!(
        ChainSpec::from_toml(&format!(
            "{governed}\n[staking]\nmin_stake = 1\nunbonding_blocks = 1\n"
        )),
        Err(SpecError::Invalid(m)) if m.contains("authority_changes")
    ));
    let poa = governed.replace("authority_changes = true", "authority_changes = false");
    let with = |table: &str| ChainSpec::from_toml(&format!("{poa}\n[staking]\n{table}\n"));
    let spec =
        with("min_stake = 1000\nunbonding_blocks = 20\nrequire_account_creation = true").unwrap();
    assert_eq!(
        spec.staking,
        Some(StakingParams {
            require_account_creation: true,
            ..StakingParams::new(amount(1000), 20)
        })
    );
    assert!(spec.requires_account_creation());
    // The table survives a round trip through TOML.
    let again = ChainSpec::from_toml(&toml::to_string(&spec).unwrap()).unwrap();
    assert_eq!(again, spec);
    // Account creation defaults to off.
    let spec = with("min_stake = 1\nunbonding_blocks = 1").unwrap();
    assert!(!spec.requires_account_creation());
    assert_eq!(
        with("min_stake = 0\nunbonding_blocks = 20"),
        Err(SpecError::Staking(StakingParamsError::ZeroMinStake))
    );
    assert_eq!(
        with("min_stake = 1\nunbonding_blocks = 0"),
        Err(SpecError::Staking(StakingParamsError::ZeroUnbonding))
    );
    assert_eq!(
        with("min_stake = 1\nunbonding_blocks = 9999999999999"),
        Err(SpecError::Staking(StakingParamsError::UnbondingTooLong(
            9_999_999_999_999
        )))
    );
    assert!(matches!(
        with("min_stake = 1\nunbonding_blocks = 1\nslash = 3"),
        Err(SpecError::Parse(_))
    ));
    // Epochs and set sizes (ADR 0033).
    let spec = with("min_stake = 1\nunbonding_blocks = 1\nepoch_blocks = 3\nmax_validators = 7\ncommittee_size = 10").unwrap();
    let p = spec.staking.unwrap();
    assert_eq!(
        (p.epoch_blocks, p.max_validators, p.committee_size),
        (3, 7, Some(10))
    );
    assert_eq!(
        with("min_stake = 1\nunbonding_blocks = 1\nepoch_blocks = 2"),
        Err(SpecError::Staking(StakingParamsError::EpochTooShort(2)))
    );
    assert_eq!(
        with("min_stake = 1\nunbonding_blocks = 1\nmax_validators = 0"),
        Err(SpecError::Staking(StakingParamsError::SetSize(
            "max_validators"
        )))
    );
    assert_eq!(
        with("min_stake = 1\nunbonding_blocks = 1\ncommittee_size = 100000"),
        Err(SpecError::Staking(StakingParamsError::SetSize(
            "committee_size"
        )))
    );
    // Staking needs a validator set.
    let dev = ChainSpec::preset_toml("dev").unwrap();
    assert_eq!(
        ChainSpec::from_toml(&format!(
            "{dev}\n[staking]\nmin_stake = 1\nunbonding_blocks = 1\n"
        )),
        Err(SpecError::Staking(StakingParamsError::NotBft))
    );
    // The presets before staking have no table: their genesis and hash
    // are unchanged; the staking presets have one.
    for name in ["dev", "qbtc", "poa"] {
        assert_eq!(ChainSpec::preset(name).unwrap().staking, None);
    }
    for name in ["nextgen", "almagill", "sidechain"] {
        assert!(ChainSpec::preset(name).unwrap().staking.is_some());
    }
}
