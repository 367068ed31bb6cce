//! The chain store over both backends.

use luminex_ledger::testkit::PowFields;
use std::sync::Arc;

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, TestChain};
use luminex_ledger::SigCache;
use luminex_primitives::{Encode, SchemeId};
use luminex_storage::{ChainError, ChainStore, FjallStore, KvStore, MemoryStore};

/// A chain store with the rules of its spec.
pub fn open_store(
    kv: Arc<dyn KvStore>,
    spec: luminex_ledger::ChainSpec,
) -> Result<ChainStore, ChainError> {
    let rules = luminex_consensus::rules_for(&spec);
    ChainStore::open(kv, spec, rules)
}

fn keys() -> Vec<SigningKey> {
    (0..3u8)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa44, &[50 + i; 32]))
        .collect()
}

/// Builds 4 blocks with transfers in a test chain and connects them to `store`.
fn build(store: &ChainStore) -> TestChain {
    let mut chain = TestChain::dev();
    let ks = keys();
    let cache = SigCache::new(1);
    let b = chain.fan_out(0, &ks, 9, 3_000_000);
    store
        .connect(&b, u64::from(b.header.pow().time), &cache)
        .unwrap();
    for _ in 0..3 {
        let txs = chain.spend_all(&ks);
        let b = chain.mine(txs).unwrap();
        store
            .connect(&b, u64::from(b.header.pow().time), &cache)
            .unwrap();
    }
    chain
}

fn check_store(open: &dyn Fn() -> Arc<dyn KvStore>) {
    let store = open_store(open(), TestChain::dev().spec).unwrap();
    let chain = build(&store);
    assert_eq!(store.tip().height, 4);
    assert_eq!(store.tip().hash, chain.tip().hash());
    assert_eq!(store.all_utxos().unwrap(), chain.utxos);
    store.check_consistency().unwrap();
    // Blocks and transactions read back exactly.
    for (h, b) in chain.blocks.iter().enumerate() {
        assert_eq!(store.hash_at(h as u64).unwrap(), Some(b.hash()));
        assert_eq!(store.block(&b.hash()).unwrap().as_ref(), Some(b));
        // Served to peers from the stored bytes: the canonical encoding.
        assert_eq!(store.block_encoded(&b.hash()).unwrap(), Some(b.encode()));
        for (i, tx) in b.txs.iter().enumerate() {
            let stored = store.transaction(&tx.txid()).unwrap().unwrap();
            assert_eq!(&stored.tx, tx);
            assert_eq!(stored.location.index as usize, i);
        }
    }
    let unknown = luminex_primitives::Hash([7; 32]);
    assert_eq!(store.block_encoded(&unknown).unwrap(), None);
    // Address balances and history agree with the UTXO set.
    let k = &keys()[1];
    let lock = lock_of(k);
    let expected: u64 = chain
        .coins_of(&lock)
        .iter()
        .map(|(_, c)| c.output.amount.base())
        .sum();
    assert_eq!(store.balance(&lock).unwrap().0.base(), expected);
    let history = store.address_history(&lock, None, 100).unwrap();
    assert!(
        history.windows(2).all(|w| w[0].height >= w[1].height),
        "newest first"
    );
    let page1 = store.address_history(&lock, None, 2).unwrap();
    let last = page1.last().unwrap();
    let page2 = store
        .address_history(&lock, Some((last.height, last.txid)), 100)
        .unwrap();
    assert_eq!(page1.len() + page2.len(), history.len());

    // Disconnecting every block restores genesis exactly.
    let genesis_utxos = TestChain::dev().utxos;
    for _ in 0..4 {
        store.disconnect_tip().unwrap();
        store.check_consistency().unwrap();
    }
    assert_eq!(store.all_utxos().unwrap(), genesis_utxos);
    assert!(store.address_history(&lock, None, 100).unwrap().is_empty());
    assert!(matches!(store.disconnect_tip(), Err(ChainError::Genesis)));
    // And the blocks connect again.
    let cache = SigCache::new(1);
    for b in &chain.blocks[1..] {
        store
            .connect(b, u64::from(b.header.pow().time), &cache)
            .unwrap();
    }
    assert_eq!(store.all_utxos().unwrap(), chain.utxos);
}

#[test]
fn memory_chain_store() {
    check_store(&|| Arc::new(MemoryStore::new()));
}

#[test]
fn fjall_chain_store_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let utxos;
    {
        let store = open_store(
            Arc::new(FjallStore::open(dir.path()).unwrap()),
            TestChain::dev().spec,
        )
        .unwrap();
        let chain = build(&store);
        utxos = chain.utxos;
    }
    let store = open_store(
        Arc::new(FjallStore::open(dir.path()).unwrap()),
        TestChain::dev().spec,
    )
    .unwrap();
    assert_eq!(store.tip().height, 4);
    assert_eq!(store.all_utxos().unwrap(), utxos);
    store.check_consistency().unwrap();
    drop(store);
    let dir2 = tempfile::tempdir().unwrap();
    check_store(&|| Arc::new(FjallStore::open(dir2.path()).unwrap()));
}

/// Block files deleted or cut short, or a database that lost its records
/// beside block files that still hold a chain, stop the store at open with
/// a clear error instead of surfacing as failed reads later, or as a new
/// chain started over the old one.
#[test]
fn lost_or_damaged_block_files_are_refused_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestChain::dev().spec;
    let open = |path: &std::path::Path| {
        open_store(Arc::new(FjallStore::open(path).unwrap()), spec.clone())
    };
    // An unclean stop first: the UTXO set on disk lags the tip, and a
    // failed open must not record it as current (the open after the
    // repair brings it up to the tip).
    let store = open(dir.path()).unwrap();
    let utxos = build(&store).utxos;
    store.close_without_flush();
    let file = dir.path().join("blocks").join("blk00000.dat");
    let whole = std::fs::read(&file).unwrap();
    std::fs::write(&file, &whole[..whole.len() / 2]).unwrap();
    let e = open(dir.path()).err().expect("a file cut short is refused");
    assert!(e.to_string().contains("block 4 "), "{e}");
    std::fs::remove_file(&file).unwrap();
    let e = open(dir.path()).err().expect("a deleted file is refused");
    assert!(e.to_string().contains("block 4 "), "{e}");
    assert!(e.to_string().contains("cannot be read"), "{e}");
    // Put back, the chain opens as it was.
    std::fs::write(&file, &whole).unwrap();
    let store = open(dir.path()).unwrap();
    assert_eq!(store.tip().height, 4);
    assert!(
        store.all_utxos().unwrap() == utxos,
        "the UTXO set is brought up to the tip, not recorded as current by the failed opens"
    );
    store.check_consistency().unwrap();
    drop(store);
    // No chain in the database, a chain's worth in its block files.
    let fresh = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(fresh.path().join("blocks")).unwrap();
    std::fs::write(
        fresh.path().join("blocks").join("blk00000.dat"),
        vec![7u8; 2 << 20],
    )
    .unwrap();
    let e = open(fresh.path())
        .err()
        .expect("no new chain over old block files");
    assert!(e.to_string().contains("holds no chain"), "{e}");
}

/// A byte changed in a block file after the store opened fails that
/// block's reads as damage, every time, and the store keeps the first such
/// read and their count (ADR 0075) while it goes on serving the rest. A
/// read that merely fails (an I/O error that may pass) is not damage.
#[test]
fn a_damaged_block_is_reported_as_damage_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let spec = TestChain::dev().spec;
    let open = || {
        open_store(
            Arc::new(FjallStore::open(dir.path()).unwrap()),
            spec.clone(),
        )
    };
    let store = open().unwrap();
    build(&store);
    drop(store);
    let store = open().unwrap();
    let hashes: Vec<_> = (1..=4)
        .map(|h| store.hash_at(h).unwrap().unwrap())
        .collect();
    for h in &hashes {
        store.block(h).unwrap().unwrap();
    }
    assert_eq!(store.damaged(), None);
    // The first blob of the first block file: a block below the tip (the
    // open checks the tip's).
    let file = dir.path().join("blocks").join("blk00000.dat");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[100] ^= 0x01;
    std::fs::write(&file, &bytes).unwrap();
    let store = {
        drop(store);
        open().unwrap()
    };
    let mut damaged = 0;
    for _round in 0..2 {
        for h in &hashes {
            match store.block(h) {
                Ok(b) => assert_eq!(b.unwrap().hash(), *h),
                Err(e) => {
                    assert!(e.is_damage(), "{e}");
                    assert!(e.to_string().contains("checksum mismatch"), "{e}");
                    damaged += 1;
                }
            }
        }
    }
    assert!(damaged >= 2, "the damaged block fails each time it is read");
    let (first, count) = store.damaged().expect("the damage is recorded");
    assert!(first.contains("blk00000.dat"), "{first}");
    assert_eq!(count, damaged);
    assert_eq!(store.tip().height, 4, "the store serves on");
    assert!(store.halted().is_none());
}

#[test]
fn a_failed_read_is_not_damage() {
    use luminex_storage::faults::{Fault, FaultPlan, FaultyStore};
    use luminex_storage::tables::TableId;
    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let store = open_store(faulty.clone(), TestChain::dev().spec).unwrap();
    build(&store);
    let h = store.hash_at(2).unwrap().unwrap();
    faulty.set_plan(FaultPlan::one(Fault::FailRead {
        table: TableId::Headers,
        nth: 1,
    }));
    let e = store.header(&h).unwrap_err();
    assert!(!e.is_damage(), "{e}");
    assert_eq!(store.damaged(), None);
    faulty.set_plan(FaultPlan::one(Fault::Damaged {
        table: TableId::Headers,
        key: h.0,
    }));
    assert!(store.header(&h).unwrap_err().is_damage());
    assert_eq!(store.damaged().map(|d| d.1), Some(1));
}

#[test]
fn a_database_of_another_chain_is_refused() {
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    open_store(kv.clone(), TestChain::dev().spec).unwrap();
    let mut other = TestChain::dev().spec;
    other.genesis.time += 1;
    assert!(matches!(
        open_store(kv, other),
        Err(ChainError::GenesisMismatch { .. })
    ));
}

#[test]
fn invalid_blocks_change_nothing() {
    let store = open_store(Arc::new(MemoryStore::new()), TestChain::dev().spec).unwrap();
    let mut chain = TestChain::dev();
    let mut b = chain.build_block(vec![], luminex_primitives::Amount::ZERO);
    b.header.pow_mut().merkle_root.0[0] ^= 1;
    let before = store.all_utxos().unwrap();
    assert!(matches!(
        store.connect(&b, u64::from(b.header.pow().time), &SigCache::new(1)),
        Err(ChainError::Invalid(_))
    ));
    assert_eq!(store.tip().height, 0);
    assert_eq!(store.all_utxos().unwrap(), before);
    let good = chain.mine(vec![]).unwrap();
    store
        .connect(&good, u64::from(good.header.pow().time), &SigCache::new(1))
        .unwrap();
}

/// A block whose transactions are not the ones its header commits to is
/// refused, and the header is not marked invalid: the real block is
/// accepted afterwards (Bitcoin Core's `BLOCK_MUTATED`). So is a copy whose
/// transaction list was emptied.
#[test]
fn a_mutated_copy_does_not_condemn_the_real_block() {
    let store = open_store(Arc::new(MemoryStore::new()), TestChain::dev().spec).unwrap();
    let mut chain = build(&store);
    let ks = keys();
    let txs = chain.spend_all(&ks);
    let fees = chain.fees_of(&txs);
    let block = chain.build_block(txs, fees);
    let mut altered = block.clone();
    luminex_ledger::testkit::signature_bytes_mut(&mut altered.txs[1].witnesses[0])[0] ^= 1;
    // The same header with no transactions at all: also a mutated copy,
    // however early it is refused (a block has at least its coinbase).
    let mut emptied = block.clone();
    emptied.txs.clear();
    assert_eq!(emptied.hash(), block.hash());
    let cache = SigCache::new(1);
    let now = u64::from(block.header.pow().time);
    for copy in [&altered, &emptied] {
        match store.accept_block(copy, now, &cache) {
            Err(ChainError::Invalid(e)) => assert!(e.is_mutation(), "{e}"),
            other => panic!("the altered copy was not refused: {other:?}"),
        }
    }
    let r = store.accept_block(&block, now, &cache).unwrap();
    assert_eq!(r.status, luminex_storage::AcceptStatus::MainChain);
    chain.connect(block).unwrap();
    assert_eq!(store.tip().hash, chain.tip().hash());
}

/// The database records its format version; a version this build does not
/// read is refused at open with a clear error, and a database from before
/// versions were recorded is taken as format 1 and gets the record.
#[test]
fn the_format_version_is_recorded_and_an_unknown_one_refused() {
    use luminex_storage::tables::{FormatVersion, FORMAT_KEY, FORMAT_VERSION, META_FORMAT};
    use luminex_storage::{Batch, KvExt};
    let spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let tip = open_store(kv.clone(), spec.clone()).unwrap().tip();
    let key = FORMAT_KEY.to_string();
    assert_eq!(
        kv.get(META_FORMAT, &key).unwrap(),
        Some(FormatVersion(FORMAT_VERSION))
    );
    // A newer format: refused, and nothing is changed.
    let mut b = Batch::default();
    b.put(META_FORMAT, &key, &FormatVersion(FORMAT_VERSION + 1));
    kv.commit(b).unwrap();
    match open_store(kv.clone(), spec.clone()) {
        Err(e @ ChainError::UnsupportedFormat { found, supported }) => {
            assert_eq!((found, supported), (FORMAT_VERSION + 1, FORMAT_VERSION));
            assert!(e.to_string().contains("not supported"), "{e}");
        }
        Err(e) => panic!("expected an unsupported format, got {e}"),
        Ok(_) => panic!("expected an unsupported format, the store opened"),
    }
    assert_eq!(
        kv.get(META_FORMAT, &key).unwrap(),
        Some(FormatVersion(FORMAT_VERSION + 1))
    );
    // No record at all (an older database): opens on its tip, recorded.
    let mut b = Batch::default();
    b.delete(META_FORMAT, &key);
    kv.commit(b).unwrap();
    assert_eq!(open_store(kv.clone(), spec).unwrap().tip(), tip);
    assert_eq!(
        kv.get(META_FORMAT, &key).unwrap(),
        Some(FormatVersion(FORMAT_VERSION))
    );
}

/// The consistency checker finds index entries that disagree with the
/// main chain: a transaction-index entry gone, an address-history entry
/// left from a disconnected block, a tip record that is not the tip.
#[test]
fn the_consistency_checker_finds_stale_indexes() {
    use luminex_storage::tables::{
        AddressDelta, AddressTxKey, TipRecord, ADDRESS_TXS, META_TIP, TIP_KEY, TX_INDEX,
    };
    use luminex_storage::{Batch, KvExt};
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let store = open_store(kv.clone(), TestChain::dev().spec).unwrap();
    let chain = build(&store);
    store.check_consistency().unwrap();
    let txid = chain.blocks[2].txs[1].txid();
    let location = kv.get(TX_INDEX, &txid).unwrap().unwrap();
    let tip = store.tip();
    let stray = AddressTxKey {
        address: luminex_primitives::Hash([9; 32]),
        height: 3,
        txid,
    };
    type Damage = Box<dyn Fn(&mut Batch)>;
    let damages: Vec<(Damage, Damage)> = vec![
        (
            Box::new(move |b| b.delete(TX_INDEX, &txid)),
            Box::new(move |b| b.put(TX_INDEX, &txid, &location)),
        ),
        (
            Box::new(move |b| b.put(ADDRESS_TXS, &stray, &AddressDelta::default())),
            Box::new(move |b| b.delete(ADDRESS_TXS, &stray)),
        ),
        (
            Box::new(move |b| {
                b.put(
                    META_TIP,
                    &TIP_KEY.to_string(),
                    &TipRecord {
                        hash: tip.header.prev_hash(),
                        height: tip.height - 1,
                    },
                )
            }),
            Box::new(move |b| {
                b.put(
                    META_TIP,
                    &TIP_KEY.to_string(),
                    &TipRecord {
                        hash: tip.hash,
                        height: tip.height,
                    },
                )
            }),
        ),
    ];
    for (damage, repair) in damages {
        let mut b = Batch::new();
        damage(&mut b);
        kv.commit(b).unwrap();
        assert!(matches!(
            store.check_consistency(),
            Err(ChainError::Inconsistent(_))
        ));
        let mut b = Batch::new();
        repair(&mut b);
        kv.commit(b).unwrap();
        store.check_consistency().unwrap();
    }
}
