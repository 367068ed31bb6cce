//! The staking state in the chain store (ADR 0031): written with each
//! block, loaded at open, undone with a disconnected block; the coins an
//! unbonding entry releases join the UTXO set at the release height (or
//! later, while its stake backs a validator set) and survive an unclean
//! close; the consistency check replays it all.

use std::sync::Arc;

use luminex_crypto::SigningKey;
use luminex_ledger::staking::{check_supply, RewardRule, StakingParams};
use luminex_ledger::testkit::{lock_of, staking_tx, PowFields, TestChain};
use luminex_ledger::{ChainSpec, Coin, SigCache};
use luminex_primitives::{
    Amount, Block, Heartbeat, NodeRegistration, OutPoint, SchemeId, Stake, TxKind, TxOut, Unbond,
};
use luminex_storage::{ChainStore, KvStore, MemoryStore};

use crate::forks::open_store;

const MIN: u64 = 1_000_000;

fn spec() -> ChainSpec {
    let mut spec = ChainSpec::preset("dev").unwrap();
    spec.staking = Some(StakingParams::new(Amount::from_base(MIN).unwrap(), 2));
    spec
}

fn open(kv: &Arc<dyn KvStore>, spec: &ChainSpec) -> ChainStore {
    // Never flushed by size: the unclean close leaves blocks to apply
    // again at open.
    open_store(kv.clone(), spec, |o| o.utxo_cache_bytes = 1 << 30)
}

fn accept(store: &ChainStore, b: &Block) {
    store
        .accept_block(b, u64::from(b.header.pow().time), &SigCache::new(1))
        .unwrap();
}

/// With 3-block epochs, the unstake of block 2 (due at 4) backs the set
/// in force through 6, so it is held and released by block 7 (ADR 0069).
#[test]
fn staking_state_is_stored_with_blocks_and_survives_reopen_and_disconnect() {
    let mut spec = spec();
    if let Some(p) = spec.staking.as_mut() {
        p.epoch_blocks = 3;
    }
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let mut store = open(&kv, &spec);
    let mut chain = TestChain::new(spec.clone());
    let v = SigningKey::from_seed(SchemeId::MlDsa44, &[7; 32]);
    let id = v.public_key().key_hash();
    let coin = |chain: &TestChain, i: usize| chain.coins_of(&lock_of(&chain.keys[i]))[0];

    let stake = TxKind::Stake(Stake {
        validator: v.public_key().clone(),
        amount: Amount::from_base(2 * MIN).unwrap(),
    });
    let tx = staking_tx(&spec, &chain.keys[0], &[coin(&chain, 0)], stake, Some(&v));
    let b1 = chain.mine(vec![tx]).unwrap();
    accept(&store, &b1);
    assert_eq!(store.with_staking(|s| s.bonded_power(&id)), 2 * MIN);

    // A block whose staking transaction is invalid (someone else unstakes)
    // is refused and changes nothing.
    let before = store.staking_state();
    let other = SigningKey::from_seed(SchemeId::MlDsa44, &[8; 32]);
    let unbond = Unbond {
        validator: id,
        amount: Amount::from_base(MIN).unwrap(),
        payout: lock_of(&v),
    };
    let bad = staking_tx(
        &spec,
        &chain.keys[1],
        &[coin(&chain, 1)],
        TxKind::Unstake(unbond),
        Some(&other),
    );
    let fees = chain.fees_of(std::slice::from_ref(&bad));
    let bad_block = chain.build_block(vec![bad], fees);
    assert!(store
        .accept_block(
            &bad_block,
            u64::from(bad_block.header.pow().time),
            &SigCache::new(1)
        )
        .is_err());
    assert_eq!(store.staking_state(), before);
    assert_eq!(store.tip().hash, b1.hash());

    let unstake = staking_tx(
        &spec,
        &chain.keys[1],
        &[coin(&chain, 1)],
        TxKind::Unstake(unbond),
        Some(&v),
    );
    let released = OutPoint {
        txid: unstake.txid(),
        vout: unstake.outputs.len() as u32,
    };
    let b2 = chain.mine(vec![unstake]).unwrap();
    accept(&store, &b2);
    assert_eq!(store.with_staking(|s| s.total_unbonding()), u128::from(MIN));
    // Due at 2 + 2, held through 6.
    for _ in 3..=6 {
        let b = chain.mine(vec![]).unwrap();
        accept(&store, &b);
        assert_eq!(store.coin(&released).unwrap(), None);
        assert_eq!(store.with_staking(|s| s.total_unbonding()), u128::from(MIN));
    }
    store.check_consistency().unwrap();
    let b7 = chain.mine(vec![]).unwrap();
    accept(&store, &b7);
    let coin_out = Coin {
        output: TxOut {
            amount: Amount::from_base(MIN).unwrap(),
            lock: lock_of(&v),
        },
        height: 7,
        is_coinbase: false,
    };
    assert_eq!(store.coin(&released).unwrap(), Some(coin_out));
    assert_eq!(store.with_staking(|s| s.total_unbonding()), 0);
    let mut expected = chain.utxos.clone();
    expected.insert(released, coin_out);
    assert_eq!(store.all_utxos().unwrap(), expected);
    store.check_consistency().unwrap();
    // The payout address's history has the release, at the height it was
    // paid and under the unbonding transaction's txid: it adds up to the
    // balance.
    let history = store.address_history(&lock_of(&v), None, 10).unwrap();
    assert_eq!(history.len(), 1, "{history:?}");
    assert_eq!((history[0].height, history[0].txid), (7, released.txid));
    assert_eq!(history[0].received, Amount::from_base(MIN).unwrap());
    assert_eq!(history[0].sent, Amount::ZERO);
    // A database written before (format 3) had no row for it: the opening
    // below upgrades it from the stored staking undo data.
    {
        use luminex_storage::tables::*;
        let mut b = luminex_storage::Batch::default();
        b.delete(
            ADDRESS_TXS,
            &AddressTxKey {
                address: lock_of(&v).index_key(),
                height: 7,
                txid: released.txid,
            },
        );
        b.put(META_FORMAT, &FORMAT_KEY.to_string(), &FormatVersion(3));
        kv.commit(b).unwrap();
    }
    assert!(store
        .address_history(&lock_of(&v), None, 10)
        .unwrap()
        .is_empty());

    // An unclean close: the state loads from its keyspace, the UTXO set
    // is brought up to the tip again, release included.
    let state = store.staking_state();
    store.close_without_flush();
    store = open(&kv, &spec);
    assert_eq!(store.staking_state(), state);
    assert_eq!(store.all_utxos().unwrap(), expected);
    store.check_consistency().unwrap();
    assert_eq!(
        store.address_history(&lock_of(&v), None, 10).unwrap(),
        history,
        "the upgrade wrote the row back"
    );

    // Disconnecting the releasing block takes the coin back into the
    // unbonding entry; disconnecting the unstake bonds the stake again.
    store.disconnect_tip().unwrap();
    assert_eq!(store.coin(&released).unwrap(), None);
    assert_eq!(store.with_staking(|s| s.total_unbonding()), u128::from(MIN));
    assert!(store
        .address_history(&lock_of(&v), None, 10)
        .unwrap()
        .is_empty());
    while store.tip().height > 1 {
        store.disconnect_tip().unwrap();
    }
    assert_eq!(store.with_staking(|s| s.bonded_power(&id)), 2 * MIN);
    assert_eq!(store.with_staking(|s| s.total_unbonding()), 0);
    store.check_consistency().unwrap();
    // Reopened, the store moves to the best stored branch again: the
    // disconnected blocks connect anew, with the same staking effects.
    drop(store);
    let store = open(&kv, &spec);
    assert_eq!(store.tip().hash, b7.hash());
    assert_eq!(store.staking_state(), state);
    assert_eq!(store.coin(&released).unwrap(), Some(coin_out));
    store.check_consistency().unwrap();
}

#[test]
fn chains_without_staking_write_no_staking_state() {
    let spec = ChainSpec::preset("dev").unwrap();
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let store = open(&kv, &spec);
    let mut chain = TestChain::new(spec.clone());
    let b = chain.mine(vec![]).unwrap();
    accept(&store, &b);
    for t in [
        luminex_storage::tables::TableId::Staking,
        luminex_storage::tables::TableId::StakingUndo,
    ] {
        assert!(kv.scan_raw(t, &[], None, false, 10).unwrap().is_empty());
    }
    assert_eq!(store.staking_state(), Default::default());
}

/// Rewards (ADR 0038) in the store: on an `equal_registered_nodes` chain the
/// pot (subsidy and fees), a heartbeat and the boundary's payout are
/// stored with their blocks, survive an unclean close, and disconnecting
/// restores the pot and heartbeat exactly and takes the paid coin back; the
/// supply invariant holds at every step.
#[test]
fn rewards_connect_and_disconnect_exactly() {
    let mut spec = spec();
    if let Some(p) = spec.staking.as_mut() {
        p.epoch_blocks = 3;
        p.rewards = RewardRule::EqualRegisteredNodes;
    }
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let mut store = open(&kv, &spec);
    let mut chain = TestChain::new(spec.clone());
    let n = SigningKey::from_seed(SchemeId::MlDsa44, &[9; 32]);
    let nid = n.public_key().key_hash();
    let coin = |chain: &TestChain, i: usize| chain.coins_of(&lock_of(&chain.keys[i]))[0];
    let supply_ok = |store: &ChainStore| {
        let utxos: u128 = store
            .all_utxos()
            .unwrap()
            .values()
            .map(|c| u128::from(c.output.amount.base()))
            .sum();
        let height = store.tip().height;
        store
            .with_staking(|s| check_supply(utxos, s, &spec, height))
            .unwrap();
    };

    let register = TxKind::RegisterNode(NodeRegistration {
        node: n.public_key().clone(),
        payout: lock_of(&n),
    });
    // Its own stake first (ADR 0063), then the registration, in one block.
    let own = TxKind::Stake(Stake {
        validator: n.public_key().clone(),
        amount: spec.staking.as_ref().unwrap().min_stake,
    });
    let b1 = chain
        .mine(vec![
            staking_tx(&spec, &chain.keys[2], &[coin(&chain, 2)], own, Some(&n)),
            staking_tx(
                &spec,
                &chain.keys[0],
                &[coin(&chain, 0)],
                register,
                Some(&n),
            ),
        ])
        .unwrap();
    accept(&store, &b1);
    assert!(b1.txs[0].outputs.is_empty(), "the coinbase claims nothing");
    supply_ok(&store);
    let beat = TxKind::Heartbeat(Heartbeat {
        node: nid,
        epoch: 0,
    });
    let b2 = chain
        .mine(vec![staking_tx(
            &spec,
            &chain.keys[1],
            &[coin(&chain, 1)],
            beat,
            Some(&n),
        )])
        .unwrap();
    accept(&store, &b2);
    let before_payout = store.staking_state();
    assert_eq!(before_payout.last_heartbeat(&nid), Some(0));
    let b3 = chain.mine(vec![]).unwrap();
    let pot = before_payout.pot().base() + spec.subsidy(3).base();
    accept(&store, &b3);
    let paid = OutPoint {
        txid: b3.txs[0].txid(),
        vout: 0,
    };
    let reward = Coin {
        output: TxOut {
            amount: Amount::from_base(pot).unwrap(),
            lock: lock_of(&n),
        },
        height: 3,
        is_coinbase: false,
    };
    assert_eq!(store.coin(&paid).unwrap(), Some(reward));
    assert_eq!(store.with_staking(|s| s.pot()), Amount::ZERO);
    supply_ok(&store);
    store.check_consistency().unwrap();
    // The reward is in the recipient's history under the coinbase's txid.
    let history = store.address_history(&lock_of(&n), None, 10).unwrap();
    let row = history
        .iter()
        .find(|r| r.txid == paid.txid)
        .expect("the reward in the history");
    assert_eq!((row.height, row.received), (3, reward.output.amount));

    // An unclean close: the pot, heartbeat and paid coin come back.
    let state = store.staking_state();
    store.close_without_flush();
    store = open(&kv, &spec);
    assert_eq!(store.staking_state(), state);
    assert_eq!(store.coin(&paid).unwrap(), Some(reward));
    store.check_consistency().unwrap();

    // Disconnecting the boundary block restores the state before it and
    // removes the coin; then the heartbeat goes with its block.
    store.disconnect_tip().unwrap();
    assert_eq!(store.staking_state(), before_payout);
    assert_eq!(store.coin(&paid).unwrap(), None);
    supply_ok(&store);
    store.disconnect_tip().unwrap();
    assert_eq!(store.with_staking(|s| s.last_heartbeat(&nid)), None);
    supply_ok(&store);
    store.check_consistency().unwrap();
    drop(store);
    let store = open(&kv, &spec);
    assert_eq!(store.tip().hash, b3.hash());
    assert_eq!(store.staking_state(), state);
    assert_eq!(store.coin(&paid).unwrap(), Some(reward));
    store.check_consistency().unwrap();
}

/// `tip_and_supply` gives the supply of the tip it gives: read again and
/// again while blocks connect on another thread, it always equals what a
/// store that connected the blocks one by one had at that height. (A
/// block changes the staking state, the UTXO set and the tip one after
/// another; `/stats` read them apart and once showed one block's supply
/// with the height before.)
#[test]
fn the_supply_is_read_with_its_own_tip_while_blocks_connect() {
    let spec = spec();
    let mut chain = TestChain::new(spec.clone());
    let v = SigningKey::from_seed(SchemeId::MlDsa44, &[7; 32]);
    let coin = chain.coins_of(&lock_of(&chain.keys[0]))[0];
    let stake = TxKind::Stake(Stake {
        validator: v.public_key().clone(),
        amount: Amount::from_base(2 * MIN).unwrap(),
    });
    let tx = staking_tx(&spec, &chain.keys[0], &[coin], stake, Some(&v));
    // The staking state holds coins from block 1 on.
    let mut blocks = vec![chain.mine(vec![tx]).unwrap()];
    for _ in 0..150 {
        blocks.push(chain.mine(vec![]).unwrap());
    }
    let reference = open(&(Arc::new(MemoryStore::new()) as Arc<dyn KvStore>), &spec);
    let mut expected = vec![reference.tip_and_supply().unwrap().1];
    for b in &blocks {
        accept(&reference, b);
        expected.push(reference.tip_and_supply().unwrap().1);
    }
    assert!(expected.windows(2).all(|w| w[0] != w[1]), "each block adds");

    let store = open(&(Arc::new(MemoryStore::new()) as Arc<dyn KvStore>), &spec);
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        let reader = s.spawn(|| {
            let mut reads = 0u64;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                let (tip, supply) = store.tip_and_supply().unwrap();
                assert_eq!(supply, expected[tip.height as usize], "at {}", tip.height);
                reads += 1;
            }
            reads
        });
        for b in &blocks {
            accept(&store, b);
        }
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        assert!(reader.join().unwrap() > 0);
    });
}
