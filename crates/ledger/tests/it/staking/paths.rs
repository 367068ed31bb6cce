//! Every path of the staking kinds, good and bad: stake, delegation,
//! unbonding, unstake, node registration, unjail, account creation, the
//! tier-one shapes and overspending into stake.

use super::*;

#[test]
fn stake_bonds_coins_and_the_validator_must_sign() {
    let mut s = Staked::new(false);
    let supply = s.supply();
    let v = validator_key(1);
    let tx = s.tx(0, stake(&v, 2 * MIN), Some(&v));
    assert_eq!(check_transaction(&tx, s.spec()).map(|_| ()), Ok(()));
    let spent = s.coin(0).1.output.amount;
    s.mine(vec![tx.clone()]).unwrap();
    let record = s.state.validator(&id(&v)).unwrap();
    assert_eq!(record.self_bond, amount(2 * MIN));
    assert_eq!(s.state.bonded_power(&id(&v)), 2 * MIN);
    // The inputs paid the bond, the fee (to the coinbase) and the change.
    let change = tx.outputs[0].amount;
    assert!(change.base() + 2 * MIN < spent.base());
    assert_eq!(s.supply(), supply + u128::from(s.spec().subsidy(1).base()));

    // A top-up of any size once the minimum is met.
    let top = s.tx(0, stake(&v, 1), Some(&v));
    s.mine(vec![top]).unwrap();
    assert_eq!(
        s.state.validator(&id(&v)).unwrap().self_bond,
        amount(2 * MIN + 1)
    );

    // The validator's signature is verified with the inputs' (it is the
    // witness after the inputs').
    let mut forged = s.tx(0, stake(&v, MIN), Some(&v));
    let last = forged.witnesses.len() - 1;
    signature_bytes_mut(&mut forged.witnesses[last])[0] ^= 1;
    match s.mine(vec![forged]) {
        Err(BlockError::Tx {
            error: TxError::BadSignature { input, .. },
            ..
        }) => assert_eq!(input, 1),
        other => panic!("expected a bad signature, got {other:?}"),
    }
}

#[test]
fn stake_below_the_minimum_or_for_another_key_is_refused() {
    let mut s = Staked::new(false);
    let v = validator_key(1);
    let e = s.refused(vec![s.tx(0, stake(&v, MIN - 1), Some(&v))]);
    assert_eq!(
        e,
        StakingError::BelowMinimum {
            bond: amount(MIN - 1),
            min: amount(MIN)
        }
    );
    assert_eq!(e.code(), "stake-below-minimum");
    // Bonding to a key whose owner did not sign.
    let other = validator_key(2);
    let e = s.refused(vec![s.tx(0, stake(&v, MIN), Some(&other))]);
    assert_eq!(
        e,
        StakingError::NotOwner {
            owner: id(&v),
            signer: id(&other)
        }
    );
}

#[test]
fn delegation_adds_power_and_needs_a_validator() {
    let mut s = Staked::new(false);
    let v = validator_key(1);
    let d = s.key(1);
    // Delegating to a key that never staked.
    let e = s.refused(vec![s.tx(1, delegate(&v, 500), Some(&d))]);
    assert_eq!(e, StakingError::UnknownValidator(id(&v)));
    assert_eq!(e.code(), "unknown-validator");

    s.mine(vec![s.tx(0, stake(&v, MIN), Some(&v))]).unwrap();
    s.mine(vec![s.tx(1, delegate(&v, 500), Some(&d))]).unwrap();
    s.mine(vec![s.tx(1, delegate(&v, 250), Some(&d))]).unwrap();
    assert_eq!(s.state.bonded_power(&id(&v)), MIN + 750);
    assert_eq!(s.state.delegation(&id(&v), &id(&d)), Some(amount(750)));
    let list: Vec<_> = s.state.delegations_of(&id(&v)).collect();
    assert_eq!(list, vec![(&id(&d), &amount(750))]);

    // A validator delegating to itself stakes instead.
    let e = s.refused(vec![s.tx(0, delegate(&v, 10), Some(&v))]);
    assert_eq!(e, StakingError::SelfDelegation(id(&v)));
}

#[test]
fn undelegate_unbonds_and_the_coins_come_back_after_the_period() {
    let mut s = Staked::new(false);
    s.unheld();
    let v = validator_key(1);
    let d = s.key(1);
    let payout = lock_of(&validator_key(9));
    s.mine(vec![s.tx(0, stake(&v, MIN), Some(&v))]).unwrap();
    s.mine(vec![s.tx(1, delegate(&v, 100_000), Some(&d))])
        .unwrap();
    let supply = s.supply();

    // More than delegated; someone without a delegation.
    let e = s.refused(vec![s.tx(
        1,
        TxKind::Undelegate(unbond(&v, 100_001, payout)),
        Some(&d),
    )]);
    assert_eq!(
        e,
        StakingError::ExceedsBond {
            requested: amount(100_001),
            bonded: amount(100_000)
        }
    );
    let stranger = s.key(2);
    let e = s.refused(vec![s.tx(
        2,
        TxKind::Undelegate(unbond(&v, 1, payout)),
        Some(&stranger),
    )]);
    assert_eq!(
        e,
        StakingError::NoDelegation {
            validator: id(&v),
            delegator: id(&stranger)
        }
    );

    let tx = s.tx(1, TxKind::Undelegate(unbond(&v, 60_000, payout)), Some(&d));
    s.mine(vec![tx.clone()]).unwrap();
    let unbonded_at = s.chain.height();
    assert_eq!(s.state.delegation(&id(&v), &id(&d)), Some(amount(40_000)));
    assert_eq!(s.state.bonded_power(&id(&v)), MIN + 40_000);
    assert_eq!(s.state.total_unbonding(), 60_000);
    // Fees are paid to the coinbase, so the supply grows by the subsidy
    // only.
    let subsidy = |s: &Staked, h: u64| u128::from(s.spec().subsidy(h).base());
    assert_eq!(s.supply(), supply + subsidy(&s, unbonded_at));

    // Not before the release height.
    let released = OutPoint {
        txid: tx.txid(),
        vout: tx.outputs.len() as u32,
    };
    s.empty_blocks(UNHELD - 1);
    assert!(!s.chain.utxos.contains_key(&released));
    s.mine(vec![]).unwrap();
    assert_eq!(s.chain.height(), unbonded_at + UNHELD);
    let coin = s.chain.utxos[&released];
    assert_eq!(
        coin.output,
        TxOut {
            amount: amount(60_000),
            lock: payout
        }
    );
    assert!(!coin.is_coinbase);
    assert_eq!(s.state.total_unbonding(), 0);

    // The released coin is an ordinary output: its owner spends it.
    let owner = validator_key(9);
    let to = TxOut {
        amount: amount(100),
        lock: lock_of(&s.key(3)),
    };
    let spend = transfer(s.spec(), &owner, &[(released, coin)], vec![to]);
    s.mine(vec![spend]).unwrap();
    assert!(!s.chain.utxos.contains_key(&released));

    // Undelegating the rest removes the delegation.
    s.mine(vec![s.tx(
        1,
        TxKind::Undelegate(unbond(&v, 40_000, payout)),
        Some(&d),
    )])
    .unwrap();
    assert_eq!(s.state.delegation(&id(&v), &id(&d)), None);
}

#[test]
fn unstake_paths() {
    let mut s = Staked::new(false);
    s.unheld();
    let v = validator_key(1);
    let w = validator_key(2);
    let payout = lock_of(&v);
    s.mine(vec![
        s.tx(0, stake(&v, 3 * MIN), Some(&v)),
        s.tx(1, stake(&w, MIN), Some(&w)),
    ])
    .unwrap();

    // Someone else's stake: w signs an unstake of v's.
    let e = s.refused(vec![s.tx(
        2,
        TxKind::Unstake(unbond(&v, MIN, payout)),
        Some(&w),
    )]);
    assert_eq!(
        e,
        StakingError::NotOwner {
            owner: id(&v),
            signer: id(&w)
        }
    );
    assert_eq!(e.code(), "staking-not-owner");
    // More than bonded.
    let e = s.refused(vec![s.tx(
        2,
        TxKind::Unstake(unbond(&v, 3 * MIN + 1, payout)),
        Some(&v),
    )]);
    assert_eq!(
        e,
        StakingError::ExceedsBond {
            requested: amount(3 * MIN + 1),
            bonded: amount(3 * MIN)
        }
    );
    // Leaving less than the minimum but not nothing.
    let e = s.refused(vec![s.tx(
        2,
        TxKind::Unstake(unbond(&v, 2 * MIN + 1, payout)),
        Some(&v),
    )]);
    assert_eq!(
        e,
        StakingError::BelowMinimum {
            bond: amount(MIN - 1),
            min: amount(MIN)
        }
    );
    // Partial, then all of it.
    s.mine(vec![s.tx(
        2,
        TxKind::Unstake(unbond(&v, MIN, payout)),
        Some(&v),
    )])
    .unwrap();
    assert_eq!(s.state.bonded_power(&id(&v)), 2 * MIN);
    s.mine(vec![s.tx(
        2,
        TxKind::Unstake(unbond(&v, 2 * MIN, payout)),
        Some(&v),
    )])
    .unwrap();
    assert_eq!(s.state.validator(&id(&v)), None);
    assert_eq!(s.state.unbonding_of(&id(&v)).count(), 2);
    // Double unstake: nothing is bonded any more.
    let e = s.refused(vec![s.tx(
        2,
        TxKind::Unstake(unbond(&v, 1, payout)),
        Some(&v),
    )]);
    assert_eq!(e, StakingError::NotStaked(id(&v)));
    assert_eq!(e.code(), "not-staked");
    // Two unstakes of the same stake in one block: the second finds it gone.
    let t1 = s.tx(1, TxKind::Unstake(unbond(&w, MIN, payout)), Some(&w));
    let t2 = s.tx(3, TxKind::Unstake(unbond(&w, MIN, payout)), Some(&w));
    match s.mine(vec![t1, t2]) {
        Err(BlockError::Tx {
            index,
            error: TxError::Staking(StakingError::NotStaked(x)),
            ..
        }) => assert_eq!((index, x), (2, id(&w))),
        other => panic!("expected the second unstake refused, got {other:?}"),
    }
    // Delegations outlive their validator's own stake until undelegated.
    s.empty_blocks(UNHELD);
    assert_eq!(s.state.total_unbonding(), 0);
    assert!(s.chain.coins_of(&payout).len() >= 2);
}

#[test]
fn register_node_paths() {
    let mut s = Staked::new(false);
    let node = validator_key(7);
    let reg = |key: &SigningKey| {
        TxKind::RegisterNode(NodeRegistration {
            node: key.public_key().clone(),
            payout: lock_of(key),
        })
    };
    let other = validator_key(8);
    let e = s.refused(vec![s.tx(0, reg(&node), Some(&other))]);
    assert!(matches!(e, StakingError::NotOwner { .. }));
    // No stake of its own: refused (ADR 0063), as it would be with less
    // than the minimum.
    let e = s.refused(vec![s.tx(0, reg(&node), Some(&node))]);
    assert_eq!(
        e,
        StakingError::NodeNotStaked {
            node: id(&node),
            bonded: Amount::ZERO,
            min: amount(MIN)
        }
    );
    assert_eq!(e.code(), "node-not-staked");
    // Bonded, then registered (both in one block, in that order).
    s.mine(vec![
        s.tx(0, stake(&node, MIN), Some(&node)),
        s.tx(1, reg(&node), Some(&node)),
    ])
    .unwrap();
    let n = s.state.node(&id(&node)).unwrap();
    assert_eq!((n.payout, n.height), (lock_of(&node), 1));
    assert_eq!(s.state.nodes().count(), 1);
    let e = s.refused(vec![s.tx(0, reg(&node), Some(&node))]);
    assert_eq!(e, StakingError::AlreadyRegistered(id(&node)));

    // Unstaking all its own stake ends the registration; undone with its
    // block.
    let all = TxKind::Unstake(unbond(&node, MIN, lock_of(&node)));
    s.mine(vec![s.tx(0, all, Some(&node))]).unwrap();
    assert!(s.state.node(&id(&node)).is_none());
    s.unmine();
    assert_eq!(s.state.node(&id(&node)).unwrap().height, 1);
}

#[test]
fn unjail_paths() {
    let mut s = Staked::new(false);
    let v = validator_key(1);
    let unjail = TxKind::Unjail(Unjail { validator: id(&v) });
    // A key that never staked is no validator at all.
    let e = s.refused(vec![s.tx(0, unjail.clone(), Some(&v))]);
    assert_eq!(e, StakingError::UnknownValidator(id(&v)));
    s.mine(vec![s.tx(0, stake(&v, 2 * MIN), Some(&v))]).unwrap();
    let e = s.refused(vec![s.tx(0, unjail.clone(), Some(&v))]);
    assert_eq!(e, StakingError::NotJailed(id(&v)));

    // Jailed (as the slashing rules will) until height 5.
    let mut undo = StakingUndo::default();
    s.state.jail_validator(id(&v), 5, false, &mut undo);
    assert_eq!(
        s.state.jail(&id(&v)),
        Some(&JailEntry {
            until: 5,
            slashed: false
        })
    );
    // Someone else cannot unjail it.
    let w = validator_key(2);
    let e = s.refused(vec![s.tx(0, unjail.clone(), Some(&w))]);
    assert!(matches!(e, StakingError::NotOwner { .. }));
    // Too early: the next block is at height 2.
    let e = s.refused(vec![s.tx(0, unjail.clone(), Some(&v))]);
    assert_eq!(
        e,
        StakingError::StillJailed {
            until: 5,
            height: 2
        }
    );
    s.empty_blocks(3);
    // At 5, but slashed and not cleared.
    s.state.jail_validator(id(&v), 5, true, &mut undo);
    let e = s.refused(vec![s.tx(0, unjail.clone(), Some(&v))]);
    assert_eq!(e, StakingError::StillSlashed(id(&v)));
    assert_eq!(e.code(), "still-slashed");
    // Cleared, but the slash left the own stake below the minimum.
    s.state.jail_validator(id(&v), 5, false, &mut undo);
    let cut = s.state.slash(&id(&v), 3, 4, &mut undo).unwrap();
    assert_eq!(cut, amount(3 * MIN / 2));
    let e = s.refused(vec![s.tx(0, unjail.clone(), Some(&v))]);
    assert_eq!(
        e,
        StakingError::BelowMinimum {
            bond: amount(MIN / 2),
            min: amount(MIN)
        }
    );
    // Topped up, it unjails.
    s.mine(vec![s.tx(0, stake(&v, MIN), Some(&v))]).unwrap();
    s.mine(vec![s.tx(0, unjail, Some(&v))]).unwrap();
    assert_eq!(s.state.jail(&id(&v)), None);
}

#[test]
fn accounts_must_be_created_before_they_receive_coins() {
    let mut s = Staked::new(true);
    let newcomer = validator_key(5);
    let pay = |s: &Staked, to: &SigningKey| {
        transfer(
            s.spec(),
            &s.chain.keys[0],
            &[s.coin(0)],
            vec![TxOut {
                amount: amount(5000),
                lock: lock_of(to),
            }],
        )
    };
    // Genesis allocations are accounts; the newcomer is not.
    assert!(s.state.is_account(&lock_of(&s.key(1))));
    assert!(!s.state.is_account(&lock_of(&newcomer)));
    let e = s.refused(vec![pay(&s, &newcomer)]);
    assert_eq!(
        e,
        StakingError::UncreatedAccount {
            output: 0,
            lock: lock_of(&newcomer),
            address: s.chain.spec.address(lock_of(&newcomer)).to_string(),
        }
    );
    assert!(e.to_string().starts_with("output 0 pays lmx"), "{e}");
    assert_eq!(e.code(), "uncreated-account");
    // An unbonding payout to an uncreated address is refused too.
    let v = validator_key(1);
    s.mine(vec![s.tx(0, stake(&v, MIN), Some(&v))]).unwrap();
    let e = s.refused(vec![s.tx(
        1,
        TxKind::Unstake(unbond(&v, MIN, lock_of(&newcomer))),
        Some(&v),
    )]);
    assert!(
        matches!(e, StakingError::UncreatedPayout { lock, .. } if lock == lock_of(&newcomer)),
        "{e:?}"
    );
    assert_eq!(e.code(), "uncreated-account");
    assert!(e.to_string().contains("payout address lmx"), "{e}");

    // An existing account creates it; then it receives coins.
    let create = TxKind::CreateAccount(AccountCreation {
        lock: lock_of(&newcomer),
    });
    let c = s.tx(1, create.clone(), None);
    assert_eq!(c.witnesses.len(), c.inputs.len());
    s.mine(vec![c]).unwrap();
    assert!(s.state.is_account(&lock_of(&newcomer)));
    s.mine(vec![pay(&s, &newcomer)]).unwrap();
    let e = s.refused(vec![s.tx(1, create, None)]);
    assert_eq!(
        e,
        StakingError::AccountExists {
            address: s.chain.spec.address(lock_of(&newcomer)).to_string()
        }
    );
    // Creation and payment in one block, in that order.
    let late = validator_key(6);
    let c = s.tx(
        2,
        TxKind::CreateAccount(AccountCreation {
            lock: lock_of(&late),
        }),
        None,
    );
    s.mine(vec![c, pay(&s, &late)]).unwrap();

    // Without the rule, create-account is not a transaction at all.
    let plain = Staked::new(false);
    let c = plain.tx(
        0,
        TxKind::CreateAccount(AccountCreation {
            lock: lock_of(&late),
        }),
        None,
    );
    assert_eq!(
        check_transaction(&c, plain.spec()),
        Err(TxError::Staking(StakingError::AccountsDisabled))
    );
}

#[test]
fn tier_one_shapes() {
    let s = Staked::new(false);
    let v = validator_key(1);
    let spec = s.spec().clone();
    let check = |tx: &Transaction| check_transaction(tx, &spec).map(|_| ());
    // Zero amounts.
    let mut tx = s.tx(0, stake(&v, MIN), Some(&v));
    tx.kind = stake(&v, 0);
    assert_eq!(check(&tx), Err(StakingError::ZeroAmount.into()));
    tx.kind = delegate(&v, 0);
    assert_eq!(check(&tx), Err(StakingError::ZeroAmount.into()));
    // A validator key of the wrong length.
    let mut bad = v.public_key().clone();
    bad.bytes.pop();
    tx.kind = TxKind::Stake(Stake {
        validator: bad,
        amount: amount(MIN),
    });
    assert_eq!(check(&tx), Err(StakingError::BadKey.into()));
    // No acting key's witness.
    let mut tx = s.tx(0, stake(&v, MIN), Some(&v));
    tx.witnesses.pop();
    assert!(matches!(
        check(&tx),
        Err(TxError::Staking(StakingError::NoActorWitness))
    ));
    // Two extra witnesses.
    let mut tx = s.tx(0, stake(&v, MIN), Some(&v));
    tx.witnesses.push(tx.witnesses[1].clone());
    assert!(matches!(check(&tx), Err(TxError::WitnessCount { .. })));
    // A multisig witness cannot act.
    let mut tx = s.tx(0, stake(&v, MIN), Some(&v));
    *tx.witnesses.last_mut().unwrap() = Witness::multisig_placeholder(&[(0, SchemeId::MlDsa65)], 1);
    assert_eq!(check(&tx), Err(StakingError::NoActorWitness.into()));
    // No inputs: a staking transaction pays its fee like a transfer.
    let mut tx = s.tx(0, stake(&v, MIN), Some(&v));
    tx.inputs.clear();
    assert_eq!(check(&tx), Err(TxError::NoInputs));
    // No outputs is fine (everything bonded or paid as fee).
    let mut tx = s.tx(0, stake(&v, MIN), Some(&v));
    tx.outputs.clear();
    assert_eq!(check(&tx), Ok(()));

    // On a chain without [staking], every staking kind is refused.
    let plain = TestChain::dev();
    let tx = s.tx(0, stake(&v, MIN), Some(&v));
    assert_eq!(
        check_transaction(&tx, &plain.spec),
        Err(TxError::Staking(StakingError::Disabled))
    );
}

#[test]
fn overspending_into_stake_is_refused() {
    let s = Staked::new(false);
    let v = validator_key(1);
    let mut tx = s.tx(0, stake(&v, MIN), Some(&v));
    // Claim to bond more than the inputs hold beside the change.
    tx.kind = stake(&v, s.coin(0).1.output.amount.base());
    let block = s.chain.build_block(vec![tx], Amount::ZERO);
    let c = &s.chain;
    match connect_block(&block, &c.utxos, &c.context(), &c.spec, &c.cache) {
        Err(BlockError::Tx {
            error: TxError::Overspend { .. },
            ..
        }) => {}
        other => panic!("expected an overspend, got {other:?}"),
    }
}
