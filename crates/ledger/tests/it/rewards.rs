//! Rewards and fees (ADR 0038): the three rules, remainders to the base
//! unit, heartbeats, the coinbase's allowance per rule, the supply
//! invariant (the `almagill` money rules) and undo, through the real tiers
//! (`connect_block`, then the staking state) as a node connects blocks.

use luminex_crypto::SigningKey;
use luminex_ledger::staking::{
    check_supply, mul_div, EpochWork, Recipient, RewardBasis, RewardRule, StakingParams,
    StakingParamsError, StakingState, StakingUndo,
};
use luminex_ledger::testkit::{lock_of, signature_bytes_mut, staking_tx, PowFields, TestChain};
use luminex_ledger::{
    connect_block, BlockError, ChainSpec, Coin, StakingError, TxError, UtxoChanges, Validator,
    ValidatorSet,
};
use luminex_primitives::{
    AccountCreation, Amount, Block, Decode, Delegation, Encode, Hash, Heartbeat, Lock,
    NodeRegistration, OutPoint, SchemeId, Stake, Transaction, TxKind, TxOut, Unbond,
};

use super::downtime::commit;

const MIN: u64 = 1_000_000;
/// Blocks per epoch: 5, 10, 15… are boundaries.
const EPOCH: u64 = 5;

fn amount(n: u64) -> Amount {
    Amount::from_base(n).unwrap()
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(SchemeId::MlDsa65, &[seed; 32])
}

fn id(k: &SigningKey) -> Hash {
    k.public_key().key_hash()
}

/// A dev chain without subsidy (so the pot holds only what the test puts
/// there) under `rule`, with the staking state beside it.
struct Chain {
    chain: TestChain,
    state: StakingState,
    undos: Vec<(UtxoChanges, StakingUndo)>,
    /// When set, each block carries a certificate of its parent signed by
    /// these members of this set, and the staking state sees it (as on a
    /// BFT chain).
    signing: Option<(ValidatorSet, Vec<usize>)>,
}

impl Chain {
    fn new(rule: RewardRule, accounts: bool) -> Chain {
        Chain::with_spec(rule, accounts, |_| {})
    }

    fn with_spec(rule: RewardRule, accounts: bool, f: impl FnOnce(&mut ChainSpec)) -> Chain {
        let mut spec = ChainSpec::preset("dev").unwrap();
        spec.monetary.initial_subsidy = Amount::ZERO;
        spec.staking = Some(StakingParams {
            require_account_creation: accounts,
            epoch_blocks: EPOCH,
            rewards: rule,
            commission_bps: 1_000,
            ..StakingParams::new(amount(MIN), 3)
        });
        f(&mut spec);
        let state = StakingState::genesis(&spec);
        Chain {
            chain: TestChain::new(spec),
            state,
            undos: Vec::new(),
            signing: None,
        }
    }

    fn spec(&self) -> &ChainSpec {
        &self.chain.spec
    }

    fn height(&self) -> u64 {
        self.chain.height()
    }

    /// A staking transaction paid by dev key `payer`'s largest coin.
    fn tx(&self, payer: usize, kind: TxKind, actor: Option<&SigningKey>) -> Transaction {
        let coin = *self
            .chain
            .coins_of(&lock_of(&self.chain.keys[payer]))
            .iter()
            .max_by_key(|(_, c)| c.output.amount)
            .expect("a funded key");
        staking_tx(self.spec(), &self.chain.keys[payer], &[coin], kind, actor)
    }

    /// Connects `block`: UTXO tiers, then the staking state; on error
    /// nothing changes. Returns the block's fees and its staking undo.
    fn connect(&mut self, mut block: Block) -> Result<(Amount, StakingUndo), BlockError> {
        let ctx = self.chain.context();
        if let Some((set, signers)) = &self.signing {
            block.last_commit = Some(commit(ctx.height - 1, set.len(), signers));
        }
        let c = connect_block(
            &block,
            &self.chain.utxos,
            &ctx,
            &self.chain.spec,
            &self.chain.cache,
        )?;
        let undo = self.state.apply_block_with(
            &block,
            &c.txids,
            ctx.height,
            c.fees,
            &self.chain.spec,
            self.signing.as_ref().map(|(set, _)| set),
            None,
        )?;
        let mut changes = c.changes;
        changes.created.extend(undo.released.iter().copied());
        changes.apply_to(&mut self.chain.utxos);
        self.chain.blocks.push(block);
        self.undos.push((changes, undo.clone()));
        self.check_supply();
        Ok((c.fees, undo))
    }

    /// Mines `txs`, the coinbase claiming what the rule allows.
    fn mine(&mut self, txs: Vec<Transaction>) -> Result<(Amount, StakingUndo), BlockError> {
        let fees = self.chain.fees_of(&txs);
        let block = self.chain.build_block(txs, fees);
        self.connect(block)
    }

    /// Mines empty blocks up to and excluding `height`.
    fn mine_to(&mut self, height: u64) {
        while self.height() + 1 < height {
            self.mine(vec![]).unwrap();
        }
    }

    fn unmine(&mut self) {
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

    fn utxo_total(&self) -> u128 {
        self.chain
            .utxos
            .values()
            .map(|c| u128::from(c.output.amount.base()))
            .sum()
    }

    /// UTXOs + bonded + unbonding + pot + burned = genesis supply (no
    /// subsidy on these chains).
    fn check_supply(&self) {
        check_supply(self.utxo_total(), &self.state, self.spec(), self.height())
            .expect("the supply invariant holds after every block");
        if self.spec().monetary.initial_subsidy == Amount::ZERO {
            assert_eq!(
                self.spec().issued_supply(self.height()),
                self.spec().genesis_supply()
            );
        }
    }

    /// Mines `txs` expecting the staking error of the first refused one.
    fn refused(&mut self, txs: Vec<Transaction>) -> StakingError {
        let before = (self.state.clone(), self.chain.utxos.clone());
        match self.mine(txs) {
            Err(BlockError::Tx {
                error: TxError::Staking(e),
                ..
            }) => {
                assert_eq!((self.state.clone(), self.chain.utxos.clone()), before);
                e
            }
            other => panic!("expected a staking error, got {other:?}"),
        }
    }

    /// A block claiming `claim` in its coinbase (to dev key 0).
    fn block_claiming(&self, claim: u64) -> Block {
        let mut b = self.chain.build_block(vec![], Amount::ZERO);
        b.txs[0].outputs = vec![TxOut {
            amount: amount(claim),
            lock: lock_of(&self.chain.keys[0]),
        }];
        b.header.pow_mut().merkle_root = b.compute_merkle_root();
        b
    }
}

/// A set of `members` with these powers.
fn set_with(members: &[(&SigningKey, u64)]) -> ValidatorSet {
    ValidatorSet::new(
        members
            .iter()
            .map(|(k, power)| Validator {
                public_key: k.public_key().clone(),
                power: *power,
            })
            .collect(),
    )
    .unwrap()
}

/// The coins a block paid as rewards: (lock, amount) in payout order.
fn payouts(block: &Block, undo: &StakingUndo) -> Vec<(Lock, u64)> {
    let cb = block.txs[0].txid();
    let first = block.txs[0].outputs.len() as u32;
    undo.released
        .iter()
        .filter(|(op, _)| op.txid == cb)
        .enumerate()
        .map(|(i, (op, c))| {
            assert_eq!(
                op.vout,
                first + i as u32,
                "rewards follow the coinbase's outputs"
            );
            assert!(!c.is_coinbase, "rewards are spendable at once");
            (c.output.lock, c.output.amount.base())
        })
        .collect()
}

fn stake(v: &SigningKey, n: u64) -> TxKind {
    TxKind::Stake(Stake {
        validator: v.public_key().clone(),
        amount: amount(n),
    })
}

fn delegate(v: &SigningKey, n: u64) -> TxKind {
    TxKind::Delegate(Delegation {
        validator: id(v),
        amount: amount(n),
    })
}

fn register(node: &SigningKey) -> TxKind {
    TxKind::RegisterNode(NodeRegistration {
        node: node.public_key().clone(),
        payout: node.public_key().lock(),
    })
}

fn heartbeat(node: &SigningKey, epoch: u64) -> TxKind {
    TxKind::Heartbeat(Heartbeat {
        node: id(node),
        epoch,
    })
}

/// Tops the pot up to exactly `units` (as slashing would credit it).
fn set_pot(c: &mut Chain, units: u64) {
    let mut undo = StakingUndo::default();
    let have = c.state.pot().base();
    assert!(have <= units);
    c.state.credit_pot(amount(units - have), &mut undo).unwrap();
    // Credited coins come from somewhere: take them out of a coin, as a
    // slash takes them out of stake.
    let (op, coin) = *c
        .chain
        .coins_of(&lock_of(&c.chain.keys[3]))
        .iter()
        .max_by_key(|(_, c)| c.output.amount)
        .unwrap();
    let rest = coin.output.amount.base() - (units - have);
    c.chain.utxos.insert(
        op,
        Coin {
            output: TxOut {
                amount: amount(rest),
                ..coin.output
            },
            ..coin
        },
    );
    c.check_supply();
}

#[test]
fn stake_weighted_splits_by_power_then_commission_then_delegators() {
    let mut c = Chain::new(RewardRule::StakeWeighted, false);
    let (v1, v2, d1) = two_validators_and_a_delegation(&mut c);
    // The coinbase claims nothing: fees went to the pot.
    assert!(c.state.pot() > Amount::ZERO);
    assert!(c.chain.blocks[1].txs[0].outputs.is_empty());
    // A coinbase claiming a single unit is refused.
    let b = c.block_claiming(1);
    assert!(matches!(
        c.connect(b),
        Err(BlockError::CoinbaseTooLarge { claimed, allowed })
            if claimed == amount(1) && allowed == Amount::ZERO
    ));

    // The first boundary pays nothing: all the stake was bonded in the
    // epoch (ADR 0071), so the fees wait. The second pays them out; then
    // a pot of exactly 1,000.
    c.mine_to(EPOCH);
    let (_, undo) = c.mine(vec![]).unwrap();
    assert!(payouts(c.chain.blocks.last().unwrap(), &undo).is_empty());
    c.mine_to(2 * EPOCH + 1);
    let fees_pot = c.state.pot().base();
    let (_, undo) = c.mine(vec![]).unwrap();
    let paid: u64 = payouts(c.chain.blocks.last().unwrap(), &undo)
        .iter()
        .map(|p| p.1)
        .sum();
    assert_eq!(paid + c.state.pot().base(), fees_pot, "no unit lost");
    c.mine_to(3 * EPOCH);
    set_pot(&mut c, 1_000);
    let plan = c.state.reward_plan(
        c.spec().staking.as_ref().unwrap(),
        2,
        c.spec(),
        RewardBasis::Elected,
    );
    let (_, undo) = c.mine(vec![]).unwrap();
    // Power 4M and 2M of 6M: v1's cut 666, commission 66, rest 600 split
    // 3:1 → v1 66 + 450 = 516, d1 150; v2's cut 333, commission 33, own
    // 300 → 333. Paid 999; 1 unit carried to the next epoch.
    let got = payouts(c.chain.blocks.last().unwrap(), &undo);
    assert_eq!(
        got,
        vec![
            (v1.public_key().lock(), 516),
            (d1.public_key().lock(), 150),
            (v2.public_key().lock(), 333),
        ]
    );
    assert_eq!(c.state.pot(), amount(1));
    assert_eq!(plan.carried, amount(1));
    assert_eq!(
        plan.shares.iter().map(|s| s.recipient).collect::<Vec<_>>(),
        vec![
            Recipient::Validator(id(&v1)),
            Recipient::Delegator {
                validator: id(&v1),
                delegator: id(&d1)
            },
            Recipient::Validator(id(&v2)),
        ]
    );
    // The coins are in the UTXO set, spendable by the keys.
    let cb = c.chain.blocks.last().unwrap().txs[0].txid();
    assert_eq!(
        c.chain.utxos[&OutPoint { txid: cb, vout: 1 }].output.amount,
        amount(150)
    );

    // Disconnecting the boundary block restores the pot and removes them.
    let before_state = c.state.clone();
    c.unmine();
    assert_eq!(c.state.pot(), amount(1_000));
    assert!(!c.chain.utxos.contains_key(&OutPoint { txid: cb, vout: 0 }));
    let b = c.chain.build_block(vec![], Amount::ZERO);
    c.connect(b).unwrap();
    assert_eq!(c.state, before_state);
    round_trips(&c.state);
}

/// The state's entries (storage) and canonical encoding (its hash) carry
/// the pot, heartbeats and reward locks.
fn round_trips(state: &StakingState) {
    assert_eq!(&StakingState::from_entries(state.entries()).unwrap(), state);
    assert_eq!(&StakingState::decode_all(&state.encode()).unwrap(), state);
    let mut other = state.clone();
    other
        .credit_pot(amount(1), &mut StakingUndo::default())
        .unwrap();
    assert_ne!(other.hash(), state.hash(), "the hash commits to the pot");
}

#[test]
fn a_jailed_validator_earns_nothing_and_an_empty_set_carries_the_pot() {
    let mut c = Chain::new(RewardRule::StakeWeighted, false);
    let (v1, v2) = (key(1), key(2));
    c.mine(vec![c.tx(0, stake(&v1, MIN), Some(&v1))]).unwrap();
    c.mine_to(EPOCH);
    // Jail v1 (as the downtime rules would): nobody qualifies at the
    // boundary, so the whole pot (block 1's fee) waits for the next epoch.
    let mut undo = StakingUndo::default();
    c.state.jail_validator(id(&v1), 100, false, &mut undo);
    let pot = c.state.pot();
    assert!(pot > Amount::ZERO);
    let (_, undo) = c.mine(vec![]).unwrap();
    assert!(payouts(c.chain.blocks.last().unwrap(), &undo).is_empty());
    assert_eq!(c.state.pot(), pot);
    // v2 stakes during the next epoch: its stake, bonded in the epoch,
    // earns nothing of it (ADR 0071), so the pot waits again; at the end
    // of the one after, v2 takes it all (no delegators: commission and own
    // share are both its own).
    c.mine(vec![c.tx(1, stake(&v2, MIN), Some(&v2))]).unwrap();
    c.mine_to(2 * EPOCH);
    let (_, undo) = c.mine(vec![]).unwrap();
    assert!(payouts(c.chain.blocks.last().unwrap(), &undo).is_empty());
    c.mine_to(3 * EPOCH);
    let pot = c.state.pot().base();
    let (_, undo) = c.mine(vec![]).unwrap();
    assert_eq!(
        payouts(c.chain.blocks.last().unwrap(), &undo),
        vec![(v2.public_key().lock(), pot)]
    );
    assert_eq!(c.state.pot(), Amount::ZERO);
}

#[test]
fn equal_registered_nodes_pays_each_live_node_the_same_to_the_base_unit() {
    let mut c = Chain::new(RewardRule::EqualRegisteredNodes, false);
    let nodes: Vec<SigningKey> = (10..14).map(key).collect();
    // Block 1: four nodes' own stakes; block 2: their registrations;
    // block 3: heartbeats of three of them.
    let (f0, _) = c
        .mine(
            (0..4)
                .map(|i| c.tx(i, stake(&nodes[i], MIN), Some(&nodes[i])))
                .collect(),
        )
        .unwrap();
    let (f1, _) = c
        .mine(
            (0..4)
                .map(|i| c.tx(i, register(&nodes[i]), Some(&nodes[i])))
                .collect(),
        )
        .unwrap();
    let (f2, _) = c
        .mine(
            (0..3)
                .map(|i| c.tx(i, heartbeat(&nodes[i], 0), Some(&nodes[i])))
                .collect(),
        )
        .unwrap();
    let fees = f0.checked_add(f1).unwrap().checked_add(f2).unwrap();
    assert_eq!(c.state.live_nodes(0).count(), 3);
    c.mine_to(EPOCH);
    // The pot is the epoch's fees, all of them (no subsidy, nothing
    // claimed by the coinbase).
    assert_eq!(c.state.pot(), fees);
    // One unit more if need be, so the division leaves a remainder.
    if fees.base().is_multiple_of(3) {
        set_pot(&mut c, fees.base() + 1);
    }
    let pot = c.state.pot().base();
    let (_, undo) = c.mine(vec![]).unwrap();
    // ⌊pot / 3⌋ each, in node id order; the remainder stays in the pot.
    let each = pot / 3;
    let mut live: Vec<&SigningKey> = nodes[..3].iter().collect();
    live.sort_by_key(|k| id(k));
    assert_eq!(
        payouts(c.chain.blocks.last().unwrap(), &undo),
        live.iter()
            .map(|k| (k.public_key().lock(), each))
            .collect::<Vec<_>>()
    );
    assert_eq!(c.state.pot().base(), pot % 3);
    assert_ne!(pot % 3, 0);

    // Epoch 1: one live node (node 3, live now, not then), which no
    // leader role distinguishes: the whole pot to it, nothing carried.
    c.mine(vec![c.tx(3, heartbeat(&nodes[3], 1), Some(&nodes[3]))])
        .unwrap();
    c.mine_to(2 * EPOCH);
    let pot = c.state.pot().base();
    let (_, undo) = c.mine(vec![]).unwrap();
    assert_eq!(
        payouts(c.chain.blocks.last().unwrap(), &undo),
        vec![(nodes[3].public_key().lock(), pot)]
    );
    assert_eq!(c.state.pot(), Amount::ZERO);

    // Epoch 2: nobody live, the pot stays whole.
    c.mine_to(3 * EPOCH);
    set_pot(&mut c, 10);
    let (_, undo) = c.mine(vec![]).unwrap();
    assert!(payouts(c.chain.blocks.last().unwrap(), &undo).is_empty());
    assert_eq!(c.state.pot(), amount(10));
}

#[test]
fn heartbeats_bad_cases() {
    let mut c = Chain::new(RewardRule::EqualRegisteredNodes, false);
    let (n, other) = (key(10), key(11));
    // An unregistered node.
    let e = c.refused(vec![c.tx(0, heartbeat(&n, 0), Some(&n))]);
    assert_eq!(e, StakingError::UnknownNode(id(&n)));
    assert_eq!(e.code(), "unknown-node");
    c.mine(vec![c.tx(0, stake(&n, MIN), Some(&n))]).unwrap();
    c.mine(vec![c.tx(0, register(&n), Some(&n))]).unwrap();
    // Signed by another key than the node's.
    let e = c.refused(vec![c.tx(0, heartbeat(&n, 0), Some(&other))]);
    assert_eq!(
        e,
        StakingError::NotOwner {
            owner: id(&n),
            signer: id(&other)
        }
    );
    // For another epoch than its block's.
    let e = c.refused(vec![c.tx(0, heartbeat(&n, 1), Some(&n))]);
    assert_eq!(
        e,
        StakingError::HeartbeatEpoch {
            epoch: 1,
            current: 0
        }
    );
    // A bad signature by the node key (the witness after the inputs').
    let mut forged = c.tx(0, heartbeat(&n, 0), Some(&n));
    let last = forged.witnesses.len() - 1;
    signature_bytes_mut(&mut forged.witnesses[last])[0] ^= 1;
    match c.mine(vec![forged]) {
        Err(BlockError::Tx {
            error: TxError::BadSignature { input, .. },
            ..
        }) => assert_eq!(input, 1),
        other => panic!("expected a bad signature, got {other:?}"),
    }
    // Twice in one block, then once more in the same epoch.
    let e = c.refused(vec![
        c.tx(0, heartbeat(&n, 0), Some(&n)),
        c.tx(1, heartbeat(&n, 0), Some(&n)),
    ]);
    assert_eq!(
        e,
        StakingError::AlreadyLive {
            node: id(&n),
            epoch: 0
        }
    );
    c.mine(vec![c.tx(0, heartbeat(&n, 0), Some(&n))]).unwrap();
    let e = c.refused(vec![c.tx(0, heartbeat(&n, 0), Some(&n))]);
    assert_eq!(e.code(), "heartbeat-already-sent");
    // The next epoch takes a new one.
    c.mine_to(EPOCH + 1);
    c.mine(vec![c.tx(0, heartbeat(&n, 1), Some(&n))]).unwrap();
    assert_eq!(c.state.last_heartbeat(&id(&n)), Some(1));
    round_trips(&c.state);
    // Undone with its block.
    c.unmine();
    assert_eq!(c.state.last_heartbeat(&id(&n)), Some(0));
}

#[test]
fn proposer_rule_lets_the_coinbase_claim_fees_only() {
    let mut c = Chain::with_spec(RewardRule::Proposer, false, |spec| {
        spec.monetary.initial_subsidy = amount(50);
    });
    let v = key(1);
    let tx = c.tx(0, stake(&v, MIN), Some(&v));
    let fees = c.chain.fees_of(std::slice::from_ref(&tx));
    // The coinbase claims subsidy and fees: the pot gets nothing.
    c.mine(vec![tx]).unwrap();
    assert_eq!(
        c.chain.blocks[1].txs[0].output_total().unwrap(),
        amount(50 + fees.base())
    );
    assert_eq!(c.state.pot(), Amount::ZERO);
    // One unit more is refused.
    let b = c.block_claiming(51);
    assert!(matches!(
        c.connect(b),
        Err(BlockError::CoinbaseTooLarge { allowed, .. }) if allowed == amount(50)
    ));
    // Claiming less leaves the rest in the pot, not destroyed; the pot is
    // paid at the boundary like slashed coins credited to it, by stake.
    let b = c.block_claiming(20);
    c.connect(b).unwrap();
    assert_eq!(c.state.pot(), amount(30));
    // v's stake was bonded in epoch 0: it earns from epoch 1 (ADR 0071).
    c.mine_to(EPOCH);
    let (_, undo) = c.mine(vec![]).unwrap();
    assert!(payouts(c.chain.blocks.last().unwrap(), &undo).is_empty());
    c.mine_to(2 * EPOCH);
    let pot = c.state.pot().base();
    let (_, undo) = c.mine(vec![]).unwrap();
    assert_eq!(
        payouts(c.chain.blocks.last().unwrap(), &undo),
        vec![(v.public_key().lock(), pot)]
    );
}

#[test]
fn almagill_money_is_neither_created_nor_destroyed() {
    let mut c = Chain::new(RewardRule::StakeWeighted, true);
    let supply = c.spec().genesis_supply();
    let (v1, v2) = (key(1), key(2));
    // v1's key is a created account, v2's is not.
    c.mine(vec![c.tx(
        0,
        TxKind::CreateAccount(AccountCreation {
            lock: v1.public_key().lock(),
        }),
        None,
    )])
    .unwrap();
    c.mine(vec![
        c.tx(0, stake(&v1, MIN), Some(&v1)),
        c.tx(1, stake(&v2, MIN), Some(&v2)),
    ])
    .unwrap();
    // The stake earns from the epoch after it was bonded (ADR 0071).
    c.mine_to(2 * EPOCH);
    // An odd pot (the fees, plus a unit credited if even).
    if c.state.pot().base().is_multiple_of(2) {
        let odd = c.state.pot().base() + 1;
        set_pot(&mut c, odd);
    }
    let pot = c.state.pot().base();
    let (_, undo) = c.mine(vec![]).unwrap();
    // Equal power: ⌊pot / 2⌋ each (commission and own share both v1's);
    // v2's share cannot be paid to an uncreated address and stays in the
    // pot with the undivided unit.
    assert_eq!(
        payouts(c.chain.blocks.last().unwrap(), &undo),
        vec![(v1.public_key().lock(), pot / 2)]
    );
    assert_eq!(c.state.pot().base(), pot - pot / 2);
    // Slashed stake is credited to the pot, not burned: the invariant holds.
    let mut undo = StakingUndo::default();
    let cut = c.state.slash(&id(&v2), 1, 10, &mut undo).unwrap();
    assert_eq!(cut, amount(MIN / 10));
    c.state.credit_pot(cut, &mut undo).unwrap();
    c.check_supply();
    // A burn is recorded, so the invariant still balances on chains that
    // burn.
    let cut = c.state.slash(&id(&v2), 1, 10, &mut undo).unwrap();
    c.state.burn(cut, &mut undo).unwrap();
    c.check_supply();
    assert_eq!(c.state.burned(), cut);
    // Without the record, the invariant catches the missing coins.
    let cut = c.state.slash(&id(&v2), 1, 10, &mut undo).unwrap();
    let e = check_supply(c.utxo_total(), &c.state, c.spec(), c.height()).unwrap_err();
    assert_eq!(e.expected, supply);
    assert_eq!(e.found + u128::from(cut.base()), supply);
    // Undo of the slashes restores the state.
    c.state.undo(&undo);
    c.check_supply();
}

#[test]
fn rewards_params_parse_and_are_checked() {
    let toml = r#"
        min_stake = 1000
        unbonding_blocks = 20
        rewards = "equal_registered_nodes"
        commission_bps = 250
    "#;
    let p: StakingParams = toml::from_str(toml).unwrap();
    assert_eq!(p.rewards, RewardRule::EqualRegisteredNodes);
    assert_eq!(p.commission_bps, 250);
    let p: StakingParams = toml::from_str("min_stake = 1\nunbonding_blocks = 1").unwrap();
    assert_eq!(p.rewards, RewardRule::Proposer);
    assert_eq!(p.commission_bps, 1_000);
    assert!(toml::from_str::<StakingParams>(
        "min_stake = 1\nunbonding_blocks = 1\nrewards = \"miner\""
    )
    .is_err());
    let p = StakingParams {
        commission_bps: 10_001,
        ..StakingParams::new(amount(1), 1)
    };
    assert_eq!(p.check(), Err(StakingParamsError::Commission(10_001)));
    assert_eq!(RewardRule::StakeWeighted.name(), "stake_weighted");
}

#[test]
fn issued_supply_matches_the_sum_of_subsidies() {
    let mut spec = ChainSpec::preset("dev").unwrap();
    spec.monetary.halving_interval = 7;
    spec.monetary.initial_subsidy = amount(1_000);
    let mut sum = spec.genesis_supply();
    for h in 0..200 {
        if h > 0 {
            sum += u128::from(spec.subsidy(h).base());
        }
        assert_eq!(spec.issued_supply(h), sum, "height {h}");
    }
    spec.monetary.halving_interval = 0;
    assert_eq!(spec.issued_supply(10), spec.genesis_supply() + 10 * 1_000);
}

/// On a preset with genesis validators, their bonds are part of the genesis
/// supply: the invariant holds at genesis.
#[test]
fn genesis_bonds_count_in_the_genesis_supply() {
    for name in ["nextgen", "almagill", "sidechain"] {
        let Ok(spec) = ChainSpec::preset(name) else {
            continue;
        };
        let utxos: u128 = spec.genesis_block().txs[0]
            .outputs
            .iter()
            .map(|o| u128::from(o.amount.base()))
            .sum();
        let state = StakingState::genesis(&spec);
        check_supply(utxos, &state, &spec, 0).unwrap();
        assert_eq!(
            spec.genesis_supply(),
            utxos + StakingState::genesis_bonded(&spec),
            "{name}"
        );
    }
}

/// Where accounts must be created (`almagill`), each genesis validator's
/// key address is an account from genesis: its rewards are paid there, and
/// nothing else could create it (a testnet's validators were never paid).
/// Elsewhere the state keeps no accounts.
#[test]
fn genesis_validators_hold_accounts_where_accounts_must_be_created() {
    for name in ["nextgen", "almagill"] {
        let spec = ChainSpec::preset(name).unwrap();
        let state = StakingState::genesis(&spec);
        let set = spec.genesis_validators().unwrap();
        assert!(!set.validators().is_empty(), "{name}");
        for v in set.validators() {
            assert_eq!(
                state.is_account(&v.public_key.lock()),
                spec.requires_account_creation(),
                "{name}"
            );
        }
    }
}

/// ADR 0068: on chains with certificates an epoch's pot follows the power
/// with which each validator signed the epoch's commits — not who is
/// bonded or elected at the payout. Here v1 (power 4 MIN: 3 own, 1
/// delegated) signs every commit of the second epoch and v2 (2 MIN) three
/// of five, then unstakes everything before the boundary; v3 bonds during
/// the epoch but is not in the set. v1 earns 4 × 5 = 20 parts and v2
/// 2 × 3 = 6: v2 is paid for what it signed though nothing is bonded
/// behind it any more, v3 nothing. The record starts again after the
/// boundary, which undoes exactly; a validator slashed for double-signing
/// earns nothing, and the others share the pot.
#[test]
fn an_epochs_pot_follows_the_power_each_validator_signed_with() {
    let mut c = Chain::new(RewardRule::StakeWeighted, false);
    let (v1, v2, d1) = two_validators_and_a_delegation(&mut c);
    let v3 = key(4);
    // Up to the first boundary without certificates (its fees are paid as
    // an election would seat).
    c.mine_to(EPOCH + 1);
    assert_eq!(c.height(), EPOCH);
    assert!(c.state.work().next().is_none());
    let set = set_with(&[(&v1, 4 * MIN), (&v2, 2 * MIN)]);
    let (i1, i2) = (
        set.index_of(&id(&v1)).unwrap(),
        set.index_of(&id(&v2)).unwrap(),
    );
    let params = c.spec().staking.clone().unwrap();
    // Blocks 6–10 carry the commits of 5–9: v2 signs those of 5, 7 and 9.
    for h in EPOCH + 1..=2 * EPOCH {
        let signers = if (h - 1) % 2 == 1 {
            vec![i1, i2]
        } else {
            vec![i1]
        };
        c.signing = Some((set.clone(), signers));
        let txs = match h {
            7 => vec![c.tx(1, stake(&v3, MIN), Some(&v3))],
            8 => vec![c.tx(
                2,
                TxKind::Unstake(Unbond {
                    validator: id(&v2),
                    amount: amount(2 * MIN),
                    payout: v2.public_key().lock(),
                }),
                Some(&v2),
            )],
            _ => vec![],
        };
        if h == 2 * EPOCH {
            set_pot(&mut c, 2_600_000);
            // Commits 5–8 so far: v1 four, v2 two (5 and 7).
            let work = |k: &SigningKey| c.state.epoch_work(&id(k)).map(|w| w.signed_power);
            assert_eq!(work(&v1), Some(u128::from(4 * 4 * MIN)));
            assert_eq!(work(&v2), Some(u128::from(2 * 2 * MIN)));
            assert_eq!(work(&v3), None);
        }
        c.mine(txs).unwrap();
    }
    assert!(
        c.state.validator(&id(&v2)).is_none(),
        "v2 has nothing bonded"
    );
    // 2.6M × 20/26 = 2M to v1: commission 200k, the rest 1.8M split 3:1 →
    // v1 200k + 1.35M, d1 450k. v2: 2.6M × 6/26 = 600k, all its own.
    let undo = c.undos.last().unwrap().1.clone();
    let mut got = payouts(c.chain.blocks.last().unwrap(), &undo);
    got.sort();
    let mut want = vec![
        (v1.public_key().lock(), 1_550_000),
        (d1.public_key().lock(), 450_000),
        (v2.public_key().lock(), 600_000),
    ];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(c.state.pot(), Amount::ZERO);
    assert!(c.state.work().next().is_none(), "the record starts again");
    // The boundary's undo data (work records set and cleared) round-trips.
    assert_eq!(StakingUndo::decode_all(&undo.encode()).unwrap(), undo);
    round_trips(&c.state);

    // The boundary undoes exactly: the pot and the epoch's record return.
    let after = c.state.clone();
    c.unmine();
    assert_eq!(c.state.pot(), amount(2_600_000));
    assert_eq!(
        c.state.epoch_work(&id(&v2)).map(|w| w.signed_power),
        Some(u128::from(2 * 2 * MIN))
    );
    round_trips(&c.state);
    // Slashed for double-signing, v1 earns nothing: v2 takes the pot.
    let mut jail = StakingUndo::default();
    c.state.jail_validator(id(&v1), 100, true, &mut jail);
    let plan = c
        .state
        .reward_plan(&params, 1, c.spec(), RewardBasis::Signed);
    assert_eq!(plan.shares.len(), 1, "{plan:?}");
    assert_eq!(plan.shares[0].recipient, Recipient::Validator(id(&v2)));
    assert_eq!(plan.shares[0].amount, amount(2_600_000));
    c.state.undo(&jail);
    let b = c.chain.build_block(vec![], Amount::ZERO);
    c.connect(b).unwrap();
    assert_eq!(c.state, after);
}

/// The shares' ⌊a × b / c⌋ is exact when a × b passes 2^128 (a pot of
/// up to `Amount::MAX` times an epoch's signed power can): against
/// quotients computed with arbitrary-precision integers, and small cases
/// against plain u128 arithmetic.
#[test]
fn shares_are_exact_past_u128_products() {
    let cases: [(u128, u128, u128, u128); 25] = [
        (
            1000000000000000000,
            28800000000000000000000,
            28800000000000000000007,
            999999999999999999,
        ),
        (
            1000000000000000000,
            14400000000000000000000,
            28800000000000000000000,
            500000000000000000,
        ),
        (
            170141183460469231731687303715884105728,
            170141183460469231731687303715884105733,
            170141183460469231731687303715884105737,
            170141183460469231731687303715884105724,
        ),
        (
            340282366920938463463374607431768211455,
            340282366920938463463374607431768211454,
            340282366920938463463374607431768211455,
            340282366920938463463374607431768211454,
        ),
        (
            123456789,
            1267650600228229401496703205376,
            2535301200456458802993406410755,
            61728394,
        ),
        (
            82813228436555773595807020174486864337,
            170406960741826799190929966104430629934,
            234657620511613689441401225075580863474,
            60138471260061485631455241664158277862,
        ),
        (
            266015093215225868028040151093336171154,
            188388730781726315685392882433414704632,
            292782068126818295833359987217778316474,
            171165693651334121674411431542404598719,
        ),
        (
            60947662042988462830339223967479912659,
            9438629132365761985053904974165527347,
            164011398590094763255703979458636706540,
            3507453649281154524764547857102629608,
        ),
        (
            42097969941841653298389625141510392082,
            117732853055259920513389061445059020625,
            179747816280831581673254468239959096848,
            27573709720868173865917132087753448300,
        ),
        (
            145031140336960255343641485289279466586,
            48757724002744611174510252418030736932,
            129798873257823850036597251681680736517,
            54479581639408330847219389068713446698,
        ),
        (
            255066776867373133840872708196136719718,
            224771625960967588879932349725760528850,
            252062121300281965184844394835554649750,
            227450970694654076488468239749179300846,
        ),
        (
            194688924934736995112308407212371235972,
            298373922000617379848799363297949393257,
            333266736962441028447401510365879872594,
            174305118573558660548742387117363453241,
        ),
        (
            216289271325423588406969978525203084724,
            129191449477245465427894321075429066885,
            155880708614593347613123517613787027850,
            179257104469518280392217008871707097411,
        ),
        (
            282188715558064794887742662975924750925,
            151373975235615472688169143009198777587,
            227526462049652881751415487249346234893,
            187740921455258075169640357153879299706,
        ),
        (
            294548635836285782716807976394379577614,
            66649508055244569486297982414665245745,
            71753066587938978260990788725614082445,
            273598364646504242492974952836764961831,
        ),
        (
            296312636880626532887119774002349831618,
            182938482298694374504474204283917402179,
            199271150693736106142228594298220623019,
            272026251106351916246452253308027204936,
        ),
        (
            84581309963791746248905223023163849336,
            40618140924302745197482608288206989943,
            219964395249968963903669126926660860710,
            15618598472572164209112631570352927155,
        ),
        (
            311194848141747884727692419446229794162,
            38800280399835016102231757541913246177,
            95028842885596928588961006716703823702,
            127060869102868572398105204368811862011,
        ),
        (
            167816293742442861700697506425233182428,
            33875871942051655716252395767871538030,
            178949786073191477381567671127728350475,
            31768259696513708728591507937861545015,
        ),
        (
            36506756005278777791023847846604940968,
            105066787628638496749263598615936149715,
            288203855573452946948140756663282018160,
            13308800371824234081023367853347233778,
        ),
        (
            162768549222790071217254362328578039558,
            26141351560762294847433507097432301964,
            108279458313712469159248145732479084513,
            39296371948411819435113506022383871909,
        ),
        (
            203909295604624470632566844367652437953,
            100304172477934832573220618350219212116,
            214428863226923275969380556227376944672,
            95383395912217933455966538934889364501,
        ),
        (
            91966497041987445912981425387170166811,
            60272771805706526751564129488880178705,
            215490125793171090067832939038467576105,
            25723107588243629892072185476313007398,
        ),
        (
            272910422857849440357473111676446523820,
            88115213075813767034279729364991325891,
            133189640670622964777421333876285047554,
            180551279661451182823841110853902657730,
        ),
        (
            100516176886040353613158351579023528354,
            16621938448096955468690298341215744430,
            20391808142530704269835971405325876990,
            81933573205462643083156874427045992836,
        ),
    ];
    for (a, b, c, q) in cases {
        assert_eq!(mul_div(a, b, c), q, "{a} × {b} / {c}");
    }
    for (a, b, c) in [
        (0, 5, 7),
        (7, 0, 7),
        (10, 3, 4),
        (u128::from(u64::MAX), 3, 5),
    ] {
        assert_eq!(mul_div(a, b, c), a * b / c);
    }
    assert_eq!(mul_div(5, 5, 0), 0);
}

/// A pot of `Amount::MAX` shared by two validators of power 10^18 that
/// signed all 14,400 commits of an epoch: pot × signed power is far past
/// 2^128, and the plan still pays each exactly half, losing no unit.
#[test]
fn a_full_pot_over_a_long_epoch_of_full_power_is_split_exactly() {
    let params = StakingParams {
        rewards: RewardRule::StakeWeighted,
        commission_bps: 0,
        epoch_blocks: 14_400,
        ..StakingParams::new(amount(MIN), 3)
    };
    let mut spec = ChainSpec::preset("dev").unwrap();
    spec.staking = Some(params.clone());
    let signed = 14_400 * 1_000_000_000_000_000_000u128;
    let mut entries = vec![(vec![7u8], Amount::MAX.encode())];
    for seed in [1u8, 2] {
        let k = key(seed);
        let mut kind = vec![13u8];
        kind.extend_from_slice(&id(&k).0);
        let w = EpochWork {
            signed_power: signed,
            lock: k.public_key().lock(),
        };
        entries.push((kind, w.encode()));
    }
    let state = StakingState::from_entries(entries).unwrap();
    let plan = state.reward_plan(&params, 1, &spec, RewardBasis::Signed);
    let half = Amount::MAX.base() / 2;
    assert_eq!(
        plan.shares
            .iter()
            .map(|s| s.amount.base())
            .collect::<Vec<_>>(),
        vec![half, half]
    );
    assert_eq!(plan.carried.base(), Amount::MAX.base() - 2 * half);
}

/// Blocks 1 and 2: v1 bonds 3 MIN and v2 2 MIN, then d1 delegates 1 MIN to
/// v1. Returns (v1, v2, d1).
fn two_validators_and_a_delegation(c: &mut Chain) -> (SigningKey, SigningKey, SigningKey) {
    let (v1, v2, d1) = (key(1), key(2), key(3));
    c.mine(vec![
        c.tx(0, stake(&v1, 3 * MIN), Some(&v1)),
        c.tx(1, stake(&v2, 2 * MIN), Some(&v2)),
    ])
    .unwrap();
    c.mine(vec![c.tx(2, delegate(&v1, MIN), Some(&d1))])
        .unwrap();
    (v1, v2, d1)
}

fn undelegate(v: &SigningKey, d: &SigningKey, n: u64) -> TxKind {
    TxKind::Undelegate(Unbond {
        validator: id(v),
        amount: amount(n),
        payout: d.public_key().lock(),
    })
}

/// A pot far above any block's fees, so that a test can set it exactly
/// whatever the epoch's transactions paid.
const POT: u64 = 10_000_000;

/// The payout of the boundary block at `boundary` with a pot of exactly
/// [`POT`] (blocks are mined up to it, `before` in the block just before
/// it), sorted by lock.
fn payout_at(c: &mut Chain, boundary: u64, before: Vec<Transaction>) -> Vec<(Lock, u64)> {
    c.mine_to(boundary - 1);
    c.mine(before).unwrap();
    set_pot(c, POT);
    let (_, undo) = c.mine(vec![]).unwrap();
    assert_eq!(c.height(), boundary);
    let mut got = payouts(c.chain.blocks.last().unwrap(), &undo);
    got.sort();
    got
}

fn sorted(mut v: Vec<(Lock, u64)>) -> Vec<(Lock, u64)> {
    v.sort();
    v
}

#[test]
fn stake_bonded_late_in_an_epoch_earns_nothing_of_it() {
    let mut c = Chain::new(RewardRule::StakeWeighted, false);
    let (v1, v2, d1) = two_validators_and_a_delegation(&mut c);
    // Everything above was bonded in epoch 0: its boundary pays none of
    // it by stake (the fees wait in the pot), and seasons it.
    assert_eq!(c.state.fresh(&id(&v1), &id(&d1)), amount(MIN));
    assert_eq!(c.state.seasoned_power(&id(&v1)), 0);
    c.mine_to(EPOCH);
    let (_, undo) = c.mine(vec![]).unwrap();
    assert!(payouts(c.chain.blocks.last().unwrap(), &undo).is_empty());
    assert_eq!(c.state.fresh_stake().count(), 0, "the boundary seasons it");
    assert_eq!(c.state.seasoned_power(&id(&v1)), 4 * MIN);
    // A delegator bonds six times v1's stake one block before the end of
    // epoch 1, and v2 doubles its own bond.
    let sniper = key(4);
    let late = vec![
        c.tx(3, delegate(&v1, 6 * MIN), Some(&sniper)),
        c.tx(1, stake(&v2, 2 * MIN), Some(&v2)),
    ];
    let got = payout_at(&mut c, 2 * EPOCH, late);
    // Exactly as if they had not: 4M and 2M of seasoned power. v1's cut
    // 6,666,666, commission 666,666, the rest 3:1 between v1 and d1; v2's
    // cut 3,333,333, all its own.
    assert_eq!(
        got,
        sorted(vec![
            (v1.public_key().lock(), 666_666 + 4_500_000),
            (d1.public_key().lock(), 1_500_000),
            (v2.public_key().lock(), 3_333_333),
        ])
    );
    // From the next epoch it earns: v1 10M (3 own, 1 d1, 6 sniper) and v2
    // 4M of 14M.
    let got = payout_at(&mut c, 3 * EPOCH, vec![]);
    assert_eq!(
        got,
        sorted(vec![
            (v1.public_key().lock(), 2_642_856),
            (d1.public_key().lock(), 642_857),
            (sniper.public_key().lock(), 3_857_143),
            (v2.public_key().lock(), 2_857_142),
        ])
    );
    round_trips(&c.state);
}

#[test]
fn withdrawals_take_the_newest_stake_first() {
    let mut c = Chain::new(RewardRule::StakeWeighted, false);
    let (v1, v2, d1) = two_validators_and_a_delegation(&mut c);
    c.mine_to(EPOCH + 1);
    // d1 adds 2M and takes 2.5M back out: the 2M it added go first, so
    // 0.5M of its seasoned 1M is left, and that earns.
    c.mine(vec![c.tx(2, delegate(&v1, 2 * MIN), Some(&d1))])
        .unwrap();
    assert_eq!(c.state.fresh(&id(&v1), &id(&d1)), amount(2 * MIN));
    let state_before = c.state.clone();
    c.mine(vec![c.tx(2, undelegate(&v1, &d1, 5 * MIN / 2), Some(&d1))])
        .unwrap();
    assert_eq!(c.state.fresh(&id(&v1), &id(&d1)), Amount::ZERO);
    assert_eq!(
        c.state.delegation(&id(&v1), &id(&d1)),
        Some(amount(MIN / 2))
    );
    // Disconnecting restores what was fresh; the state round-trips with
    // entries of fresh stake in it.
    c.unmine();
    assert_eq!(c.state, state_before);
    round_trips(&c.state);
    c.mine(vec![c.tx(2, undelegate(&v1, &d1, 5 * MIN / 2), Some(&d1))])
        .unwrap();
    // v1 3.5M (3 own, 0.5 d1) and v2 2M of 5.5M.
    let got = payout_at(&mut c, 2 * EPOCH, vec![]);
    assert_eq!(
        got,
        sorted(vec![
            (v1.public_key().lock(), 5_545_454),
            (d1.public_key().lock(), 818_181),
            (v2.public_key().lock(), 3_636_363),
        ])
    );
}

#[test]
fn a_slash_leaves_fresh_stake_at_most_the_bond() {
    let mut c = Chain::new(RewardRule::StakeWeighted, false);
    let (v1, _v2, d1) = two_validators_and_a_delegation(&mut c);
    // All of d1's 1M is fresh; halving every piece leaves 0.5M, all fresh.
    let mut undo = StakingUndo::default();
    let before = c.state.clone();
    c.state.slash(&id(&v1), 1, 2, &mut undo).unwrap();
    assert_eq!(
        c.state.delegation(&id(&v1), &id(&d1)),
        Some(amount(MIN / 2))
    );
    assert_eq!(c.state.fresh(&id(&v1), &id(&d1)), amount(MIN / 2));
    assert_eq!(c.state.fresh(&id(&v1), &id(&v1)), amount(3 * MIN / 2));
    assert_eq!(c.state.seasoned_power(&id(&v1)), 0);
    c.state.undo(&undo);
    assert_eq!(c.state, before);
}

#[test]
fn the_fresh_stake_section_has_one_encoding() {
    use luminex_primitives::codec::put_length;
    let section = |amount: Amount| {
        let mut b = StakingState::default().encode();
        b.push(3);
        put_length(&mut b, 1);
        b.extend_from_slice(&[1; 32]);
        b.extend_from_slice(&[2; 32]);
        amount.encode_to(&mut b);
        b
    };
    let state = StakingState::decode_all(&section(amount(5))).unwrap();
    assert_eq!(state.fresh(&Hash([1; 32]), &Hash([2; 32])), amount(5));
    assert_ne!(state.hash(), StakingState::default().hash());
    // An entry of nothing, the section twice, or an empty section: each
    // would give one state two encodings.
    assert!(StakingState::decode_all(&section(Amount::ZERO)).is_err());
    let mut twice = section(amount(5));
    twice.extend_from_slice(&section(amount(5))[StakingState::default().encode().len()..]);
    assert!(StakingState::decode_all(&twice).is_err());
    let mut empty = StakingState::default().encode();
    empty.extend_from_slice(&[3, 0]);
    assert!(StakingState::decode_all(&empty).is_err());
}
