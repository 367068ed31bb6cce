//! Reorganisations from memory (ADR 0037): with the recent blocks warm, a
//! switch of branches reads no header, block body, transaction or undo
//! data back from the database; with none kept it reads them all, and a
//! store opened cold still switches correctly.

use std::sync::Arc;

use luminex_primitives::Encode;
use luminex_storage::faults::{FaultPlan, FaultyStore};
use luminex_storage::tables::TableId;
use luminex_storage::{ChainStore, KvStore, MemoryStore};

use crate::forks::{accept, accept_all, assert_on, open_store, Fork};

/// The tables a block and its undo data are read from.
const BLOCK_TABLES: [TableId; 4] = [
    TableId::Headers,
    TableId::Blocks,
    TableId::Txs,
    TableId::Undo,
];

fn open(kv: Arc<dyn KvStore>, f: &Fork, recent_block_bytes: usize) -> ChainStore {
    open_store(kv, &f.spec, |o| o.recent_block_bytes = recent_block_bytes)
}

fn block_reads(faulty: &FaultyStore) -> Vec<(TableId, u64)> {
    BLOCK_TABLES
        .iter()
        .map(|t| (*t, faulty.reads(*t)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Accepts A, then B's first blocks as a side branch, counts the reads of
/// accepting the block that gives B more work, and checks the result.
fn switch(f: &Fork, faulty: &Arc<FaultyStore>, store: &ChainStore) -> Vec<(TableId, u64)> {
    let now = f.now();
    accept_all(store, &f.base, now);
    accept_all(store, &f.a, now);
    accept_all(store, &f.b[..f.b.len() - 1], now);
    faulty.set_plan(FaultPlan::none());
    let r = accept(store, f.b.last().unwrap(), now).unwrap();
    let reads = block_reads(faulty);
    assert_eq!(r.disconnected.len(), f.a.len());
    assert_eq!(r.connected.len(), f.b.len());
    assert_on(store, &f.chain_of(&f.b));
    reads
}

#[test]
fn a_reorganisation_with_warm_recent_blocks_reads_no_block_back() {
    let f = Fork::new(2, 4, 5);
    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let store = open(faulty.clone(), &f, 64 << 20);
    assert_eq!(switch(&f, &faulty, &store), vec![]);
    // A's blocks stay as side-branch blocks (without undo data), B's are
    // kept with theirs: a switch back would read nothing either.
    let (blocks, bytes) = store.recent_blocks();
    assert_eq!(blocks, f.base.len() + f.a.len() + f.b.len());
    assert!(bytes > 0);
}

/// Blocks read by hash (the API, peers) come from memory while kept, and
/// are the same as read back from the database.
#[test]
fn recent_blocks_are_served_from_memory_as_the_database_has_them() {
    let f = Fork::new(2, 4, 5);
    let now = f.now();
    let mut served = Vec::new();
    for recent in [64 << 20, 0] {
        let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
        let store = open(faulty.clone(), &f, recent);
        accept_all(&store, &f.base, now);
        accept_all(&store, &f.a, now);
        faulty.set_plan(FaultPlan::none());
        let blocks: Vec<_> =
            f.a.iter()
                .map(|b| {
                    let hash = b.hash();
                    let block = store.block(&hash).unwrap().unwrap();
                    assert_eq!(&block, b);
                    let encoded = store.block_encoded(&hash).unwrap().unwrap();
                    assert_eq!(encoded, b.encode());
                    (block, encoded)
                })
                .collect();
        let reads = block_reads(&faulty);
        if recent > 0 {
            assert_eq!(reads, vec![]);
        } else {
            assert!(reads.iter().any(|(t, _)| *t == TableId::Txs), "{reads:?}");
        }
        served.push(blocks);
    }
    assert_eq!(served[0], served[1]);
}

#[test]
fn without_recent_blocks_a_reorganisation_reads_them_back() {
    let f = Fork::new(2, 4, 5);
    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let store = open(faulty.clone(), &f, 0);
    let reads = switch(&f, &faulty, &store);
    for table in BLOCK_TABLES {
        assert!(
            reads.iter().any(|(t, _)| *t == table),
            "no read of {table:?}: {reads:?}"
        );
    }
    assert_eq!(store.recent_blocks(), (0, 0));
}

/// Reopened, the store keeps nothing in memory: the switch reads what it
/// needs from the database and ends in the same state.
#[test]
fn a_store_opened_cold_switches_from_the_database() {
    let f = Fork::new(2, 4, 5);
    let now = f.now();
    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let store = open(faulty.clone(), &f, 64 << 20);
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    accept_all(&store, &f.b[..f.b.len() - 1], now);
    drop(store);
    let store = open(faulty.clone(), &f, 64 << 20);
    faulty.set_plan(FaultPlan::none());
    let r = accept(&store, f.b.last().unwrap(), now).unwrap();
    assert_eq!(r.connected.len(), f.b.len());
    assert!(faulty.reads(TableId::Undo) > 0);
    assert_on(&store, &f.chain_of(&f.b));
}

/// The budget bounds what is kept, and blocks beyond the reorganisation
/// limit are dropped as the tip moves.
#[test]
fn the_recent_blocks_stay_within_their_budget_and_reach() {
    let f = Fork::new(2, 12, 1);
    let now = f.now();
    let mut spec = f.spec.clone();
    spec.max_reorg_depth = 4;
    let rules = luminex_consensus::rules_for(&spec);
    let store = ChainStore::open(Arc::new(MemoryStore::new()), spec, rules).unwrap();
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    assert_eq!(
        store.recent_blocks().0,
        4,
        "the last max_reorg_depth blocks"
    );
    let one = store.recent_blocks().1 / 4;
    let small = open(Arc::new(MemoryStore::new()), &f, one * 2 + one / 2);
    accept_all(&small, &f.base, now);
    accept_all(&small, &f.a, now);
    let (blocks, bytes) = small.recent_blocks();
    assert!(
        blocks <= 2 && bytes <= one * 2 + one / 2,
        "{blocks} blocks, {bytes} bytes"
    );
}
