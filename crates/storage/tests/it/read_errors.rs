//! Reads that fail (an I/O error, a damaged record) are the disk's fault,
//! never the block's: a block is not condemned for them, and a switch that
//! meets one goes back to the branch it left. And a coin a reorganisation
//! moved to another height is listed at its new height.

use std::sync::Arc;

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, transfer, PowFields, TestChain};
use luminex_ledger::SigCache;
use luminex_primitives::{Amount, Block, SchemeId, TxOut};
use luminex_storage::faults::{Fault, FaultPlan, FaultyStore};
use luminex_storage::tables::TableId;
use luminex_storage::{AcceptStatus, ChainError, KvStore, MemoryStore};

use crate::bft::{bft_spec, Net};
use crate::forks::{accept, accept_all, open_store, Fork};

#[test]
fn a_failed_read_of_consensus_state_does_not_condemn_a_certified_block() {
    let mut failed_once = 0;
    // Whichever of the block's reads of consensus state fails.
    for k in 1..=8u64 {
        let failing = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
        let net = Net::with_spec(failing.clone(), bft_spec());
        for h in 1..=2 {
            let b = net.next_block();
            let c = net.certify(&b, h, &[0, 1, 2]);
            net.accept(&b, &c).unwrap();
        }
        let b = net.next_block();
        let c = net.certify(&b, 3, &[0, 1, 2]);
        failing.set_plan(FaultPlan::one(Fault::FailRead {
            table: TableId::Consensus,
            nth: k,
        }));
        let first = net.accept(&b, &c);
        failing.clear();
        match first {
            Err(ChainError::Store(_)) => failed_once += 1,
            Ok(AcceptStatus::MainChain) => {}
            other => panic!("read {k} failed: {other:?}"),
        }
        // Offered again, it connects.
        let again = net.accept(&b, &c);
        assert!(
            matches!(again, Ok(AcceptStatus::MainChain | AcceptStatus::Duplicate)),
            "read {k} failed, then: {again:?}"
        );
        assert_eq!(net.store.tip().height, 3);
    }
    assert!(failed_once > 0, "some read failed the block's first offer");
}

#[test]
fn a_failed_read_during_a_switch_goes_back_to_the_old_branch() {
    let f = Fork::new(2, 3, 4);
    let failing = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    // No recent blocks kept: a switch reads its branch back, as after a
    // restart.
    let store = open_store(failing.clone(), &f.spec, |o| o.recent_block_bytes = 0);
    let now = f.now();
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    accept_all(&store, &f.b[..3], now);
    let a_tip = store.tip();
    // B's first block cannot be read back: the switch to B fails half-way.
    failing.set_plan(FaultPlan::one(Fault::Damaged {
        table: TableId::Blocks,
        key: f.b[0].hash().0,
    }));
    let r = accept(&store, &f.b[3], now);
    assert!(matches!(r, Err(ChainError::Store(_))), "{r:?}");
    assert_eq!(store.tip(), a_tip, "back on the old branch");
    assert!(store.halted().is_none());
    store.check_consistency().unwrap();
    // Once the record reads again, the switch happens.
    failing.clear();
    let r = accept(&store, &f.b[3], now).unwrap();
    eprintln!(
        "again: {:?}, tip {} (a {})",
        r.status,
        store.tip().height,
        a_tip.height
    );
    store.check_consistency().unwrap();
}

fn accept_dev(store: &luminex_storage::ChainStore, b: &Block) {
    store
        .accept_block(b, u64::from(b.header.pow().time), &SigCache::new(1))
        .unwrap();
}

/// A transaction a reorganisation moves to a later block after its coins
/// were flushed at the earlier one: an address's coins are listed with the
/// new height, as the UTXO set has them.
#[test]
fn address_coins_after_a_reorganisation_moved_their_transaction() {
    let key = SigningKey::from_seed(SchemeId::MlDsa44, &[201; 32]);
    let lock = lock_of(&key);
    let mut chain = TestChain::dev();
    let spec = chain.spec.clone();
    let b1 = chain.fan_out(0, std::slice::from_ref(&key), 60, 1_000_000);
    let snapshot = chain.utxos.clone();
    let coins = chain.coins_of(&lock);
    let outs: Vec<TxOut> = (0..40)
        .map(|i| TxOut {
            amount: Amount::from_base(1000 + i).unwrap(),
            lock,
        })
        .collect();
    let t = transfer(&spec, &key, &coins[..1], outs);
    let b2 = chain.mine(vec![t.clone()]).unwrap();
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    {
        let store = open_store(kv.clone(), &spec, |_| {});
        accept_dev(&store, &b1);
        accept_dev(&store, &b2);
        // Dropped: the cache is flushed, T's coins stored at height 2.
    }
    chain.blocks.truncate(2);
    chain.utxos = snapshot;
    let b2x = chain.mine(vec![]).unwrap();
    let b3x = chain.mine(vec![t]).unwrap();
    let store = open_store(kv, &spec, |_| {});
    accept_dev(&store, &b2x);
    accept_dev(&store, &b3x);
    assert_eq!(store.tip().hash, b3x.hash());
    let listed = store.address_utxos(&lock, usize::MAX).unwrap();
    assert_eq!(listed.len(), chain.coins_of(&lock).len());
    for (op, c) in &listed {
        assert_eq!(Some(*c), store.coin(op).unwrap(), "{op:?}");
    }
    assert!(listed.iter().any(|(_, c)| c.height == 3));
    store.check_consistency().unwrap();
}
