//! Slashing: own, delegated and unbonding stake cut pro rata, remainders,
//! and a block with a bad staking transaction that changes nothing.

use super::*;

#[test]
fn slashing_cuts_own_delegated_and_unbonding_stake_pro_rata() {
    let mut s = Staked::new(false);
    let v = validator_key(1);
    let (d1, d2) = (s.key(1), s.key(2));
    let payout = lock_of(&v);
    s.mine(vec![s.tx(0, stake(&v, 3 * MIN), Some(&v))]).unwrap();
    s.mine(vec![
        s.tx(1, delegate(&v, 1001), Some(&d1)),
        s.tx(2, delegate(&v, 3), Some(&d2)),
    ])
    .unwrap();
    s.mine(vec![s.tx(
        1,
        TxKind::Undelegate(unbond(&v, 501, payout)),
        Some(&d1),
    )])
    .unwrap();
    let before = s.state.clone();
    let total = 3 * MIN + 500 + 3 + 501;
    assert_eq!(
        u128::from(s.state.bonded_power(&id(&v))) + s.state.total_unbonding(),
        u128::from(total)
    );

    let mut undo = StakingUndo::default();
    let cut = s.state.slash(&id(&v), 1, 3, &mut undo).unwrap();
    // Exactly floor(total / 3), no unit lost or made up.
    assert_eq!(cut.base(), total / 3);
    let after = u128::from(s.state.bonded_power(&id(&v))) + s.state.total_unbonding();
    assert_eq!(after + u128::from(cut.base()), u128::from(total));
    // Each piece lost its share, rounded down or up by at most one unit.
    let own = s.state.validator(&id(&v)).unwrap();
    let lost = |before: u64, now: u64| {
        let exact = before as f64 * cut.base() as f64 / total as f64;
        let l = (before - now) as f64;
        assert!((l - exact).abs() < 1.0, "{before} lost {l}, share {exact}");
    };
    lost(3 * MIN, own.self_bond.base());
    lost(500, s.state.delegation(&id(&v), &id(&d1)).unwrap().base());
    lost(3, s.state.delegation(&id(&v), &id(&d2)).unwrap().base());
    let unbonding: u64 = s
        .state
        .unbonding_of(&id(&v))
        .map(|(_, e)| e.amount.base())
        .sum();
    lost(501, unbonding);
    // The validator's delegated total is still the sum of its delegations.
    let sum: u64 = s.state.delegations_of(&id(&v)).map(|(_, a)| a.base()).sum();
    assert_eq!(own.delegated.base(), sum);

    // Deterministic: the same slash of the same state cuts the same.
    let mut again = before.clone();
    let mut undo2 = StakingUndo::default();
    assert_eq!(again.slash(&id(&v), 1, 3, &mut undo2).unwrap(), cut);
    assert_eq!(again.hash(), s.state.hash());
    // Undo restores the stake exactly.
    s.state.undo(&undo);
    assert_eq!(s.state, before);

    // A full slash removes everything; bad fractions are refused.
    let all = s.state.slash(&id(&v), 1, 1, &mut undo).unwrap();
    assert_eq!(all.base(), total);
    assert_eq!(s.state.bonded_power(&id(&v)), 0);
    assert_eq!(s.state.total_unbonding(), 0);
    assert_eq!(
        s.state.slash(&id(&v), 2, 1, &mut undo),
        Err(StakingError::BadFraction {
            numerator: 2,
            denominator: 1
        })
    );
    assert!(s.state.slash(&id(&v), 0, 0, &mut undo).is_err());
    // An unknown validator has nothing to lose.
    assert_eq!(
        s.state.slash(&Hash([9; 32]), 1, 2, &mut undo),
        Ok(Amount::ZERO)
    );
}

#[test]
fn slashing_remainders_go_to_the_largest_fractions() {
    let s = Staked::new(false);
    let mut state = StakingState::default();
    let v = validator_key(1);
    let mut undo = StakingUndo::default();
    let tx = s.tx(0, stake(&v, MIN), Some(&v));
    state
        .apply_tx(&tx, &tx.txid(), 1, s.spec(), &mut undo)
        .unwrap();
    for i in 0..3 {
        let d = s.key(i + 1);
        let t = s.tx(i + 1, delegate(&v, 1), Some(&d));
        state
            .apply_tx(&t, &t.txid(), 1, s.spec(), &mut undo)
            .unwrap();
    }
    let cut = state.slash(&id(&v), 1, 1_000_000, &mut undo).unwrap();
    assert_eq!(cut.base(), (MIN + 3) / 1_000_000);
    // Own stake MIN + 3 delegations of 1: floor((MIN+3)/10^6) = 1 unit,
    // taken from the own stake (largest remainder).
    assert_eq!(state.validator(&id(&v)).unwrap().self_bond, amount(MIN - 1));
    assert_eq!(state.validator(&id(&v)).unwrap().delegated, amount(3));
}

#[test]
fn a_block_with_a_bad_staking_tx_changes_nothing_and_blocks_disconnect() {
    let mut s = Staked::new(false);
    s.unheld();
    let genesis_state = s.state.clone();
    let genesis_utxos = s.chain.utxos.clone();
    let v = validator_key(1);
    let d = s.key(1);
    s.mine(vec![s.tx(0, stake(&v, 2 * MIN), Some(&v))]).unwrap();
    s.mine(vec![s.tx(1, delegate(&v, 700), Some(&d))]).unwrap();
    s.mine(vec![
        s.tx(
            1,
            TxKind::Undelegate(unbond(&v, 300, lock_of(&d))),
            Some(&d),
        ),
        s.tx(2, TxKind::Unstake(unbond(&v, MIN, lock_of(&v))), Some(&v)),
    ])
    .unwrap();
    let mid = s.state.hash();
    // A good transaction then a bad one: the block is refused whole.
    let good = s.tx(3, delegate(&v, 5), Some(&s.key(3)));
    let bad = s.tx(
        2,
        TxKind::Unstake(unbond(&v, 10 * MIN, lock_of(&v))),
        Some(&v),
    );
    assert!(s.mine(vec![good, bad]).is_err());
    assert_eq!(s.state.hash(), mid);
    // Through the releases and back.
    s.empty_blocks(UNHELD + 1);
    assert_eq!(s.state.total_unbonding(), 0);
    while !s.undos.is_empty() {
        s.unmine();
    }
    assert_eq!(s.state, genesis_state);
    assert_eq!(s.state.hash(), genesis_state.hash());
    assert_eq!(s.chain.utxos, genesis_utxos);
}
