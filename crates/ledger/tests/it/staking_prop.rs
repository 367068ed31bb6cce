//! Random sequences of staking transactions, jails and slashes against
//! the staking state and a UTXO set: every refused step changes nothing,
//! the state's internal sums hold, coins are conserved (UTXOs + bonded +
//! unbonding + fees + slashed = the genesis supply) after every step, and
//! undoing every block in reverse gives back the genesis state and hash.
//! Epochs are shorter than the unbonding period and some elections seat
//! nobody, so entries are held past their release height (ADR 0069).
//! A model keyspace kept by each block's entry writes (connect and
//! disconnect) always loads as the state.

use std::collections::{BTreeMap, HashMap};

use luminex_crypto::SigningKey;
use luminex_ledger::staking::{StakingState, StakingUndo};
use luminex_ledger::testkit::{lock_of, staking_tx};
use luminex_ledger::{check_transaction, check_tx_inputs, ChainSpec, Coin};
use luminex_primitives::{
    Amount, Delegation, NodeRegistration, OutPoint, Stake, TxKind, Unbond, Unjail,
};
use proptest::prelude::*;

use super::staking::{params, MIN};

#[derive(Debug, Clone)]
enum Op {
    Stake(usize, u64),
    Delegate(usize, usize, u64),
    /// Delegator, validator, percent of the delegation.
    Undelegate(usize, usize, u64),
    /// Validator, percent of its own stake.
    Unstake(usize, u64),
    Register(usize),
    Unjail(usize),
    Jail(usize, u64, bool),
    Slash(usize, u64, u64),
    /// Ends the block; at an epoch boundary, whether its election seated a
    /// set (ADR 0069: one that seats nobody keeps unbonding stake held).
    EndBlock(bool),
}

/// A share of the current stake, in percent: often all of it.
fn percent() -> impl Strategy<Value = u64> {
    prop_oneof![Just(100u64), Just(50), 0..=101u64]
}

fn op() -> impl Strategy<Value = Op> {
    let who = 0..4usize;
    prop_oneof![
        3 => (who.clone(), 0..2 * MIN).prop_map(|(w, a)| Op::Stake(w, a)),
        4 => (who.clone(), who.clone(), 0..100_000u64).prop_map(|(w, v, a)| Op::Delegate(w, v, a)),
        3 => (who.clone(), who.clone(), percent()).prop_map(|(w, v, p)| Op::Undelegate(w, v, p)),
        2 => (who.clone(), percent()).prop_map(|(w, p)| Op::Unstake(w, p)),
        1 => who.clone().prop_map(Op::Register),
        2 => who.clone().prop_map(Op::Unjail),
        1 => (who.clone(), 0..3u64, any::<bool>()).prop_map(|(w, d, s)| Op::Jail(w, d, s)),
        1 => (who, 0..=4u64, 1..=4u64).prop_map(|(w, n, d)| Op::Slash(w, n, d)),
        6 => prop_oneof![3 => Just(true), 1 => Just(false)].prop_map(Op::EndBlock),
    ]
}

struct Model {
    spec: ChainSpec,
    keys: Vec<SigningKey>,
    utxos: HashMap<OutPoint, Coin>,
    state: StakingState,
    height: u64,
    fees: u128,
    slashed: u128,
    genesis_supply: u128,
}

impl Model {
    fn new() -> Model {
        let mut spec = ChainSpec::preset("dev").unwrap();
        // Epochs shorter than the unbonding period: entries are held
        // past their release height while their stake backs a set.
        spec.staking = Some(luminex_ledger::staking::StakingParams {
            epoch_blocks: 3,
            ..params(false)
        });
        let mut utxos = HashMap::new();
        luminex_ledger::connect_genesis(&spec.genesis_block())
            .changes
            .apply_to(&mut utxos);
        let genesis_supply = utxos
            .values()
            .map(|c| u128::from(c.output.amount.base()))
            .sum();
        Model {
            keys: luminex_ledger::testkit::dev_keys(&spec),
            state: StakingState::genesis(&spec),
            spec,
            utxos,
            height: 1,
            fees: 0,
            slashed: 0,
            genesis_supply,
        }
    }

    fn supply(&self) -> u128 {
        self.utxos
            .values()
            .map(|c| u128::from(c.output.amount.base()))
            .sum::<u128>()
            + self.state.total_bonded()
            + self.state.total_unbonding()
            + self.fees
            + self.slashed
    }

    fn coin(&self, who: usize) -> (OutPoint, Coin) {
        let lock = lock_of(&self.keys[who]);
        self.utxos
            .iter()
            .filter(|(_, c)| c.output.lock == lock)
            .max_by_key(|(op, c)| (c.output.amount, **op))
            .map(|(op, c)| (*op, *c))
            .expect("a funded key")
    }

    fn id(&self, who: usize) -> luminex_primitives::Hash {
        self.keys[who].public_key().key_hash()
    }

    /// One transaction through tier 1, the UTXO tier and the staking
    /// state; returns whether it was applied.
    fn transact(&mut self, who: usize, kind: TxKind, undo: &mut StakingUndo) -> bool {
        let tx = staking_tx(
            &self.spec,
            &self.keys[who],
            &[self.coin(who)],
            kind,
            Some(&self.keys[who]),
        );
        let Ok(size) = check_transaction(&tx, &self.spec) else {
            return false;
        };
        let Ok(check) = check_tx_inputs(&tx, size, &self.utxos, self.height, &self.spec) else {
            return false;
        };
        let txid = tx.txid();
        let before = self.state.clone();
        let marks = undo.changes.len();
        if self
            .state
            .apply_tx(&tx, &txid, self.height, &self.spec, undo)
            .is_err()
        {
            assert_eq!(self.state, before, "a refused transaction changes nothing");
            assert_eq!(undo.changes.len(), marks);
            return false;
        }
        for i in &tx.inputs {
            self.utxos.remove(i);
        }
        for (vout, o) in tx.outputs.iter().enumerate() {
            self.utxos.insert(
                OutPoint {
                    txid,
                    vout: vout as u32,
                },
                Coin {
                    output: *o,
                    height: self.height,
                    is_coinbase: false,
                },
            );
        }
        self.fees += u128::from(check.fee.base());
        true
    }

    fn check_sums(&self) {
        for (id, v) in self.state.validators() {
            let sum: u64 = self.state.delegations_of(id).map(|(_, a)| a.base()).sum();
            assert_eq!(v.delegated.base(), sum, "delegated total of {id}");
            assert!(v.power() > 0, "an empty validator record is dropped");
        }
        for ((v, _), a) in self.state.delegations() {
            assert!(*a > Amount::ZERO);
            assert!(self.state.validator(v).is_some());
        }
        for (_, e) in self.state.unbonding() {
            assert!(e.amount > Amount::ZERO);
        }
        assert_eq!(self.supply(), self.genesis_supply, "coins are conserved");
    }
}

/// Applies a block's entry writes to a model keyspace.
fn write(
    store: &mut BTreeMap<Vec<u8>, Vec<u8>>,
    writes: Vec<luminex_ledger::staking::StakingWrite>,
) {
    for (k, v) in writes {
        match v {
            Some(v) => store.insert(k, v),
            None => store.remove(&k),
        };
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_staking_conserves_coins_and_undoes_exactly(ops in prop::collection::vec(op(), 1..60)) {
        let mut m = Model::new();
        let genesis = m.state.clone();
        let genesis_hash = genesis.hash();
        let amount = |a: u64| Amount::from_base(a).unwrap();
        let mut blocks: Vec<StakingUndo> = Vec::new();
        let mut undo = StakingUndo::default();
        let mut block_start = m.state.clone();
        let mut store: BTreeMap<Vec<u8>, Vec<u8>> = genesis.entries().into_iter().collect();
        for op in ops.into_iter().chain([Op::EndBlock(true)]) {
            let payout = |m: &Model, w: usize| lock_of(&m.keys[w]);
            match op {
                Op::Stake(w, a) => {
                    let kind = TxKind::Stake(Stake { validator: m.keys[w].public_key().clone(), amount: amount(a) });
                    m.transact(w, kind, &mut undo);
                }
                Op::Delegate(w, v, a) => {
                    let kind = TxKind::Delegate(Delegation { validator: m.id(v), amount: amount(a) });
                    m.transact(w, kind, &mut undo);
                }
                Op::Undelegate(w, v, p) => {
                    let had = m.state.delegation(&m.id(v), &m.id(w)).map_or(1, |a| a.base());
                    let a = had * p / 100;
                    let kind = TxKind::Undelegate(Unbond { validator: m.id(v), amount: amount(a), payout: payout(&m, w) });
                    m.transact(w, kind, &mut undo);
                }
                Op::Unstake(w, p) => {
                    let had = m.state.validator(&m.id(w)).map_or(1, |v| v.self_bond.base());
                    let a = had * p / 100;
                    let kind = TxKind::Unstake(Unbond { validator: m.id(w), amount: amount(a), payout: payout(&m, w) });
                    m.transact(w, kind, &mut undo);
                }
                Op::Register(w) => {
                    let kind = TxKind::RegisterNode(NodeRegistration { node: m.keys[w].public_key().clone(), payout: payout(&m, w) });
                    m.transact(w, kind, &mut undo);
                }
                Op::Unjail(w) => {
                    let kind = TxKind::Unjail(Unjail { validator: m.id(w) });
                    m.transact(w, kind, &mut undo);
                }
                Op::Jail(w, d, slashed) => {
                    let id = m.id(w);
                    m.state.jail_validator(id, m.height + d, slashed, &mut undo);
                }
                Op::Slash(w, n, d) => {
                    let id = m.id(w);
                    match m.state.slash(&id, n, d, &mut undo) {
                        Ok(cut) => m.slashed += u128::from(cut.base()),
                        Err(_) => prop_assert!(n > d),
                    }
                }
                Op::EndBlock(seated) => {
                    for (op, coin) in m.state.release(m.height, m.spec.staking.as_ref().unwrap(), None, &mut undo) {
                        prop_assert!(m.utxos.insert(op, coin).is_none());
                    }
                    m.state.note_election(m.height, seated, &m.spec, &mut undo);
                    // An entry past its release height is held only while
                    // its stake backs a set (ADR 0069).
                    let p = m.spec.staking.as_ref().unwrap();
                    for (k, _) in m.state.unbonding().take_while(|(k, _)| k.release_height <= m.height) {
                        prop_assert!(m.state.unbonding_backed_at(k, m.height, p));
                    }
                    // This block's undo alone restores the state before it.
                    let mut back = m.state.clone();
                    back.undo(&undo);
                    prop_assert_eq!(&back, &block_start);
                    write(&mut store, m.state.writes(&undo));
                    prop_assert_eq!(&StakingState::from_entries(&store).unwrap(), &m.state);
                    blocks.push(std::mem::take(&mut undo));
                    block_start = m.state.clone();
                    m.height += 1;
                }
            }
            m.check_sums();
        }
        for u in blocks.iter().rev() {
            m.state.undo(u);
            write(&mut store, m.state.writes(u));
            let stored: Vec<_> = store.clone().into_iter().collect();
            prop_assert_eq!(stored, m.state.entries());
        }
        prop_assert_eq!(&m.state, &genesis);
        prop_assert_eq!(m.state.hash(), genesis_hash);
    }
}
