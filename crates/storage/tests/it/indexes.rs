//! The optional indexes: a store keeps only those its options name, reads
//! of one it does not keep fail with an error that names the option, one
//! turned off is deleted, and one the database lacks is not turned on.

use luminex_ledger::testkit::PowFields;
use std::sync::Arc;

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, TestChain};
use luminex_ledger::SigCache;
use luminex_primitives::SchemeId;
use luminex_storage::tables::TableId;
use luminex_storage::{
    ChainError, ChainStore, IndexSet, KvStore, MemoryStore, StoreError, StoreOptions,
};

fn open(kv: &Arc<dyn KvStore>, indexes: IndexSet) -> Result<ChainStore, ChainError> {
    let spec = TestChain::dev().spec;
    let rules = luminex_consensus::rules_for(&spec);
    ChainStore::open_with(
        kv.clone(),
        spec,
        rules,
        StoreOptions {
            utxo_cache_bytes: 0,
            indexes,
            ..StoreOptions::default()
        },
    )
}

fn rows(kv: &Arc<dyn KvStore>, table: TableId) -> usize {
    kv.scan_raw(table, &[], None, false, usize::MAX)
        .unwrap()
        .len()
}

/// A fan-out and three blocks of transfers, connected to `store`.
fn fill(store: &ChainStore) -> TestChain {
    let keys: Vec<SigningKey> = (0..3u8)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa44, &[170 + i; 32]))
        .collect();
    let mut chain = TestChain::dev();
    let mut blocks = vec![chain.fan_out(0, &keys, 6, 3_000_000)];
    for _ in 0..3 {
        let txs = chain.spend_all(&keys);
        blocks.push(chain.mine(txs).unwrap());
    }
    for b in &blocks {
        store
            .connect(b, u64::from(b.header.pow().time), &SigCache::new(1))
            .unwrap();
    }
    chain
}

#[test]
fn each_index_is_kept_only_when_asked_for() {
    let lock = lock_of(&SigningKey::from_seed(SchemeId::MlDsa44, &[170; 32]));
    for (tx, address) in [(false, true), (true, false), (false, false)] {
        let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
        let store = open(&kv, IndexSet { tx, address }).unwrap();
        let chain = fill(&store);
        let txid = chain.blocks[2].txs[1].txid();
        assert_eq!(rows(&kv, TableId::TxIndex) > 0, tx);
        assert_eq!(rows(&kv, TableId::AddressTxs) > 0, address);
        assert_eq!(rows(&kv, TableId::AddressUtxos) > 0, address);
        match store.transaction(&txid) {
            Ok(found) => assert!(tx && found.is_some()),
            Err(e @ StoreError::IndexOff { .. }) => {
                assert!(!tx);
                assert!(e.to_string().contains("--txindex"), "{e}");
            }
            Err(e) => panic!("{e}"),
        }
        match store.address_history(&lock, None, 10) {
            Ok(h) => assert!(address && !h.is_empty()),
            Err(e @ StoreError::IndexOff { .. }) => {
                assert!(!address);
                assert!(e.to_string().contains("--addressindex"), "{e}");
            }
            Err(e) => panic!("{e}"),
        }
        assert_eq!(store.balance(&lock).is_ok(), address);
        // Disconnecting and checking work without them.
        store.disconnect_tip().unwrap();
        assert_eq!(store.all_utxos().unwrap().len(), {
            let mut c = TestChain::dev();
            for b in &chain.blocks[1..chain.blocks.len() - 1] {
                c.connect(b.clone()).unwrap();
            }
            c.utxos.len()
        });
        store.check_consistency().unwrap();
    }
}

#[test]
fn an_index_turned_off_is_deleted_and_cannot_come_back() {
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let store = open(&kv, IndexSet::ALL).unwrap();
    fill(&store);
    drop(store);
    assert!(rows(&kv, TableId::TxIndex) > 0);
    let store = open(
        &kv,
        IndexSet {
            tx: false,
            address: true,
        },
    )
    .unwrap();
    assert_eq!(rows(&kv, TableId::TxIndex), 0, "deleted");
    assert!(rows(&kv, TableId::AddressTxs) > 0, "kept");
    store.check_consistency().unwrap();
    drop(store);
    match open(&kv, IndexSet::ALL) {
        Err(e @ ChainError::IndexMissing(_)) => {
            assert!(e.to_string().contains("transaction index"), "{e}")
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("the transaction index came back empty"),
    }
    // Off as before: opens.
    open(
        &kv,
        IndexSet {
            tx: false,
            address: true,
        },
    )
    .unwrap()
    .check_consistency()
    .unwrap();
}
