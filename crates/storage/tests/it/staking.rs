//! The staking state in the chain store (ADR 0031): written with each
//! block, loaded at open, undone with a disconnected block; the coins an
//! unbonding entry releases join the UTXO set at the release height and
//! survive an unclean close; the consistency check replays it all.

use std::sync::Arc;

use luminex_crypto::SigningKey;
use luminex_ledger::staking::StakingParams;
use luminex_ledger::testkit::{lock_of, staking_tx, PowFields, TestChain};
use luminex_ledger::{ChainSpec, Coin, SigCache};
use luminex_primitives::{Amount, Block, OutPoint, SchemeId, Stake, TxKind, TxOut, Unbond};
use luminex_storage::{ChainStore, KvStore, MemoryStore, StoreOptions};

const MIN: u64 = 1_000_000;

fn spec() -> ChainSpec {
    let mut spec = ChainSpec::preset("dev").unwrap();
    spec.staking = Some(StakingParams::new(Amount::from_base(MIN).unwrap(), 2));
    spec
}

fn open(kv: &Arc<dyn KvStore>, spec: &ChainSpec) -> ChainStore {
    ChainStore::open_with(
        kv.clone(),
        spec.clone(),
        luminex_consensus::rules_for(spec),
        // Never flushed by size: the unclean close leaves blocks to apply
        // again at open.
        StoreOptions {
            utxo_cache_bytes: 1 << 30,
            ..StoreOptions::default()
        },
    )
    .unwrap()
}

fn accept(store: &ChainStore, b: &Block) {
    store
        .accept_block(b, u64::from(b.header.pow().time), &SigCache::new(1))
        .unwrap();
}

#[test]
fn staking_state_is_stored_with_blocks_and_survives_reopen_and_disconnect() {
    let spec = spec();
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
    let b3 = chain.mine(vec![]).unwrap();
    accept(&store, &b3);
    assert_eq!(store.coin(&released).unwrap(), None);
    // Released by the block at 2 + 2.
    let b4 = chain.mine(vec![]).unwrap();
    accept(&store, &b4);
    let coin_out = Coin {
        output: TxOut {
            amount: Amount::from_base(MIN).unwrap(),
            lock: lock_of(&v),
        },
        height: 4,
        is_coinbase: false,
    };
    assert_eq!(store.coin(&released).unwrap(), Some(coin_out));
    assert_eq!(store.with_staking(|s| s.total_unbonding()), 0);
    let mut expected = chain.utxos.clone();
    expected.insert(released, coin_out);
    assert_eq!(store.all_utxos().unwrap(), expected);
    store.check_consistency().unwrap();

    // An unclean close: the state loads from its keyspace, the UTXO set
    // is brought up to the tip again, release included.
    let state = store.staking_state();
    store.close_without_flush();
    store = open(&kv, &spec);
    assert_eq!(store.staking_state(), state);
    assert_eq!(store.all_utxos().unwrap(), expected);
    store.check_consistency().unwrap();

    // Disconnecting the releasing block takes the coin back into the
    // unbonding entry; disconnecting the unstake bonds the stake again.
    store.disconnect_tip().unwrap();
    assert_eq!(store.coin(&released).unwrap(), None);
    assert_eq!(store.with_staking(|s| s.total_unbonding()), u128::from(MIN));
    store.disconnect_tip().unwrap();
    store.disconnect_tip().unwrap();
    assert_eq!(store.with_staking(|s| s.bonded_power(&id)), 2 * MIN);
    assert_eq!(store.with_staking(|s| s.total_unbonding()), 0);
    store.check_consistency().unwrap();
    // Reopened, the store moves to the best stored branch again: the
    // disconnected blocks connect anew, with the same staking effects.
    drop(store);
    let store = open(&kv, &spec);
    assert_eq!(store.tip().hash, b4.hash());
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
