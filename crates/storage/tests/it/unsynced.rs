//! Batched syncs (ADR 0040): blocks committed without waiting for the disk
//! are lost when the machine crashes before the next sync, synced ones are
//! not, and whatever prefix of the unsynced batches the engine kept, the
//! store reopens consistent and takes the rest of the blocks.
//!
//! The fault wrapper models the engine here: an unsynced batch is readable
//! at once and durable only at the next sync or synced commit, in order.

use std::sync::Arc;

use luminex_ledger::SigCache;
use luminex_primitives::Block;
use luminex_storage::faults::FaultyStore;
use luminex_storage::{ChainStore, KvStore, MemoryStore, PreparedBlock, MAX_UNSYNCED_BATCHES};

use crate::forks::{accept_all, assert_on, open_store, Fork};

fn open(kv: Arc<dyn KvStore>, f: &Fork, utxo_cache_bytes: usize) -> ChainStore {
    open_store(kv, &f.spec, |o| o.utxo_cache_bytes = utxo_cache_bytes)
}

fn accept_unsynced(store: &ChainStore, blocks: &[Block], now: u64) {
    let cache = SigCache::new(1);
    for b in blocks {
        let prepared = PreparedBlock::Unchecked(Arc::new(b.clone()));
        store
            .accept_prepared_unsynced(&prepared, now, &cache)
            .unwrap_or_else(|e| panic!("block {} refused: {e}", b.hash()));
    }
}

/// A run: the base synced, `synced` blocks unsynced then synced by the
/// importer, then `pending` blocks unsynced. Returns the wrapper and the
/// number of batches not yet durable.
fn run(
    f: &Fork,
    feed: &[Block],
    synced: usize,
    utxo_cache_bytes: usize,
) -> (Arc<FaultyStore>, ChainStore, usize) {
    let now = f.now();
    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    faulty.lose_unsynced();
    let store = open(faulty.clone(), f, utxo_cache_bytes);
    accept_all(&store, &f.base, now);
    accept_unsynced(&store, &feed[..synced], now);
    assert!(store.has_unsynced());
    store.sync().unwrap();
    assert!(!store.has_unsynced());
    assert_eq!(
        faulty.unsynced_batches(),
        0,
        "sync made every batch durable"
    );
    accept_unsynced(&store, &feed[synced..], now);
    let pending = faulty.unsynced_batches();
    (faulty, store, pending)
}

/// A crash after the engine kept each possible prefix of the unsynced
/// batches, with the UTXO cache flushed after every block (`flush_each`)
/// or never: nothing synced is lost, nothing unsynced survives unless the
/// engine kept it, and the store reopens consistent.
fn crash_at_every_prefix(flush_each: bool) {
    // A, then B overtaking it: the unsynced part holds a reorganisation.
    let f = Fork::new(2, 3, 4);
    let feed: Vec<Block> = f.a.iter().chain(&f.b).cloned().collect();
    let cache_bytes = if flush_each { 0 } else { 64 << 20 };
    let synced = 2;
    let (_, store, pending) = run(&f, &feed, synced, cache_bytes);
    assert_on(&store, &f.chain_of(&f.b));
    drop(store);
    assert!(pending > 0);
    let synced_tip = f.a[synced - 1].hash();
    for kept in 0..=pending {
        let (faulty, store, _) = run(&f, &feed, synced, cache_bytes);
        // The process dies with the machine: no flush, no sync at close.
        store.close_without_flush();
        faulty.crash_keeping(kept).unwrap();
        let kv: Arc<dyn KvStore> = faulty.clone();
        let store = open(kv, &f, cache_bytes);
        store
            .check_consistency()
            .unwrap_or_else(|e| panic!("kept {kept}: inconsistent: {e}"));
        // Synced: at least as much work as the synced tip (a reorganisation
        // the engine kept part of is finished at open).
        let tip = store.tip();
        let synced_work = store.header(&synced_tip).unwrap().unwrap().chain_work;
        assert!(
            tip.chain_work >= synced_work,
            "kept {kept}: the synced tip was lost (reopened at {})",
            tip.height
        );
        if kept == 0 {
            assert_eq!(tip.hash, synced_tip, "nothing unsynced survives");
        }
        if kept == pending {
            assert_on(&store, &f.chain_of(&f.b));
        }
        // The rest of the blocks lead to B's tip.
        let now = f.now();
        let cache = SigCache::new(1);
        for b in &feed {
            store
                .accept_block(b, now, &cache)
                .unwrap_or_else(|e| panic!("kept {kept}: block {} refused: {e}", b.hash()));
        }
        assert_on(&store, &f.chain_of(&f.b));
    }
}

#[test]
fn unsynced_blocks_are_lost_in_a_crash_and_synced_ones_survive() {
    crash_at_every_prefix(false);
}

#[test]
fn a_crash_inside_unsynced_cache_flushes_and_a_reorganisation_reopens_consistent() {
    crash_at_every_prefix(true);
}

/// A run of blocks on one branch: each block is one batch, so a crash
/// keeping `k` unsynced batches reopens exactly `k` blocks above the
/// synced tip, with the UTXO set of that chain.
#[test]
fn a_crash_keeps_exactly_the_blocks_the_engine_wrote() {
    let f = Fork::new(2, 6, 1);
    let synced = 2;
    for kept in 0..=f.a.len() - synced {
        let (faulty, store, pending) = run(&f, &f.a, synced, 64 << 20);
        assert_eq!(pending, f.a.len() - synced, "one batch a block");
        store.close_without_flush();
        faulty.crash_keeping(kept).unwrap();
        let store = open(faulty.clone(), &f, 64 << 20);
        assert_on(&store, &f.chain_of(&f.a[..synced + kept]));
    }
}

/// The store syncs by itself after [`MAX_UNSYNCED_BATCHES`] batches: an
/// importer that never syncs loses fewer than that many in a crash.
#[test]
fn the_store_syncs_by_itself_after_a_bounded_number_of_batches() {
    let n = MAX_UNSYNCED_BATCHES as usize + 3;
    let f = Fork::new(2, n, 1);
    let now = f.now();
    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    faulty.lose_unsynced();
    let store = open(faulty.clone(), &f, 64 << 20);
    accept_all(&store, &f.base, now);
    let cache = SigCache::new(1);
    for b in &f.a {
        store
            .accept_prepared_unsynced(&PreparedBlock::Unchecked(Arc::new(b.clone())), now, &cache)
            .unwrap();
        assert!(faulty.unsynced_batches() < MAX_UNSYNCED_BATCHES as usize);
    }
    store.close_without_flush();
    faulty.crash();
    let store = open(faulty.clone(), &f, 64 << 20);
    assert_on(&store, &f.chain_of(&f.a[..MAX_UNSYNCED_BATCHES as usize]));
}
