//! The staking kinds (ADR 0031): every path of stake, delegation,
//! unbonding, node registration, unjail and account creation, good and
//! bad, through the real tiers (check_transaction, connect_block with its
//! signature checks, then the staking state); slashing; undo; the spec's
//! `[staking]` table.

use luminex_crypto::SigningKey;
use luminex_ledger::staking::{
    JailEntry, StakingParams, StakingParamsError, StakingState, StakingUndo,
};
use luminex_ledger::testkit::{lock_of, signature_bytes_mut, staking_tx, transfer, TestChain};
use luminex_ledger::{
    check_transaction, connect_block, BlockError, ChainSpec, Coin, SpecError, StakingError, TxError,
};
use luminex_primitives::{
    AccountCreation, Amount, Block, Decode, Delegation, Encode, Hash, Lock, NodeRegistration,
    OutPoint, SchemeId, Stake, Transaction, TxKind, TxOut, Unbond, Unjail, Witness,
};

pub const MIN: u64 = 1_000_000;
pub const UNBONDING: u64 = 3;

fn amount(n: u64) -> Amount {
    Amount::from_base(n).unwrap()
}

pub fn params(accounts: bool) -> StakingParams {
    StakingParams {
        require_account_creation: accounts,
        ..StakingParams::new(amount(MIN), UNBONDING)
    }
}

/// A dev chain with a `[staking]` table and the staking state beside it,
/// connecting blocks through `connect_block` (signatures and fees) and
/// then the staking state, as a node does.
pub(super) struct Staked {
    pub(super) chain: TestChain,
    pub(super) state: StakingState,
    /// Per connected block: its UTXO changes and its staking undo.
    pub(super) undos: Vec<(luminex_ledger::UtxoChanges, StakingUndo)>,
    /// The chain's signing domain (for votes in evidence).
    pub(super) domain: luminex_primitives::ChainDomain,
}

impl Staked {
    pub(super) fn new(accounts: bool) -> Staked {
        let mut spec = ChainSpec::preset("dev").unwrap();
        spec.staking = Some(params(accounts));
        let state = StakingState::genesis(&spec);
        let domain = luminex_primitives::ChainDomain::new(spec.chain_id, spec.genesis_hash());
        Staked {
            chain: TestChain::new(spec),
            state,
            undos: Vec::new(),
            domain,
        }
    }

    /// The chain's staking parameters, to change.
    pub(super) fn params(&mut self) -> &mut StakingParams {
        self.chain.spec.staking.as_mut().unwrap()
    }

    pub(super) fn spec(&self) -> &ChainSpec {
        &self.chain.spec
    }

    pub(super) fn key(&self, i: usize) -> SigningKey {
        self.chain.keys[i].clone()
    }

    /// The largest coin of dev key `i`.
    pub(super) fn coin(&self, i: usize) -> (OutPoint, Coin) {
        *self
            .chain
            .coins_of(&lock_of(&self.chain.keys[i]))
            .iter()
            .max_by_key(|(_, c)| c.output.amount)
            .expect("a funded key")
    }

    /// A staking transaction paid by dev key `payer`, acted by `actor`.
    pub(super) fn tx(&self, payer: usize, kind: TxKind, actor: Option<&SigningKey>) -> Transaction {
        staking_tx(
            self.spec(),
            &self.chain.keys[payer],
            &[self.coin(payer)],
            kind,
            actor,
        )
    }

    /// Connects a block of `txs`: UTXO tiers first, then the staking state;
    /// on any error nothing changes.
    pub(super) fn mine(&mut self, txs: Vec<Transaction>) -> Result<Block, BlockError> {
        let fees = self.chain.fees_of(&txs);
        let block = self.chain.build_block(txs, fees);
        let ctx = self.chain.context();
        let c = connect_block(
            &block,
            &self.chain.utxos,
            &ctx,
            &self.chain.spec,
            &self.chain.cache,
        )?;
        let undo =
            self.state
                .apply_block(&block, &c.txids, ctx.height, c.fees, &self.chain.spec)?;
        let mut changes = c.changes;
        changes.created.extend(undo.released.iter().copied());
        changes.apply_to(&mut self.chain.utxos);
        self.chain.blocks.push(block.clone());
        self.undos.push((changes, undo));
        Ok(block)
    }

    /// Disconnects the tip: UTXO changes and staking state.
    pub(super) fn unmine(&mut self) {
        let (changes, undo) = self.undos.pop().expect("a block to disconnect");
        for (op, _) in &changes.created {
            self.chain.utxos.remove(op);
        }
        for (op, coin) in &changes.spent {
            self.chain.utxos.insert(*op, *coin);
        }
        self.state.undo(&undo);
        self.chain.blocks.pop();
    }

    /// Mines `txs` expecting the staking error `e` on the first of them.
    pub(super) fn refused(&mut self, txs: Vec<Transaction>) -> StakingError {
        let before = (self.state.clone(), self.chain.utxos.clone());
        match self.mine(txs) {
            Err(BlockError::Tx {
                error: TxError::Staking(e),
                ..
            }) => {
                assert_eq!(
                    (self.state.clone(), self.chain.utxos.clone()),
                    before,
                    "a refused block changes nothing"
                );
                e
            }
            other => panic!("expected a staking error, got {other:?}"),
        }
    }

    pub(super) fn supply(&self) -> u128 {
        self.chain
            .utxos
            .values()
            .map(|c| u128::from(c.output.amount.base()))
            .sum::<u128>()
            + self.state.total_bonded()
            + self.state.total_unbonding()
            + u128::from(self.state.pot().base())
            + u128::from(self.state.burned().base())
    }

    fn empty_blocks(&mut self, n: u64) {
        for _ in 0..n {
            self.mine(vec![]).unwrap();
        }
    }
}

fn stake(key: &SigningKey, n: u64) -> TxKind {
    TxKind::Stake(Stake {
        validator: key.public_key().clone(),
        amount: amount(n),
    })
}

fn delegate(validator: &SigningKey, n: u64) -> TxKind {
    TxKind::Delegate(Delegation {
        validator: validator.public_key().key_hash(),
        amount: amount(n),
    })
}

fn unbond(validator: &SigningKey, n: u64, payout: Lock) -> Unbond {
    Unbond {
        validator: validator.public_key().key_hash(),
        amount: amount(n),
        payout,
    }
}

fn id(key: &SigningKey) -> Hash {
    key.public_key().key_hash()
}

fn validator_key(seed: u8) -> SigningKey {
    SigningKey::from_seed(SchemeId::MlDsa65, &[seed; 32])
}

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
    s.empty_blocks(UNBONDING - 1);
    assert!(!s.chain.utxos.contains_key(&released));
    s.mine(vec![]).unwrap();
    assert_eq!(s.chain.height(), unbonded_at + UNBONDING);
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
    s.empty_blocks(UNBONDING);
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
    s.mine(vec![s.tx(0, reg(&node), Some(&node))]).unwrap();
    let n = s.state.node(&id(&node)).unwrap();
    assert_eq!((n.payout, n.height), (lock_of(&node), 1));
    assert_eq!(s.state.nodes().count(), 1);
    let e = s.refused(vec![s.tx(0, reg(&node), Some(&node))]);
    assert_eq!(e, StakingError::AlreadyRegistered(id(&node)));
}

#[test]
fn unjail_paths() {
    let mut s = Staked::new(false);
    let v = validator_key(1);
    let unjail = TxKind::Unjail(Unjail { validator: id(&v) });
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
            lock: lock_of(&newcomer)
        }
    );
    assert_eq!(e.code(), "uncreated-account");
    // An unbonding payout to an uncreated address is refused too.
    let v = validator_key(1);
    s.mine(vec![s.tx(0, stake(&v, MIN), Some(&v))]).unwrap();
    let e = s.refused(vec![s.tx(
        1,
        TxKind::Unstake(unbond(&v, MIN, lock_of(&newcomer))),
        Some(&v),
    )]);
    assert!(matches!(
        e,
        StakingError::UncreatedAccount {
            output: u32::MAX,
            ..
        }
    ));

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
    assert_eq!(e, StakingError::AccountExists(lock_of(&newcomer)));
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
    s.empty_blocks(UNBONDING + 1);
    assert_eq!(s.state.total_unbonding(), 0);
    while !s.undos.is_empty() {
        s.unmine();
    }
    assert_eq!(s.state, genesis_state);
    assert_eq!(s.state.hash(), genesis_state.hash());
    assert_eq!(s.chain.utxos, genesis_utxos);
}

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
            TxKind::RegisterNode(NodeRegistration {
                node: newcomer.public_key().clone(),
                payout: lock_of(&newcomer),
            }),
            Some(&newcomer),
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
