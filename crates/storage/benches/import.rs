//! Importing a chain into a fresh fjall-backed chain store, as `luminex
//! chain import` does: a second thread decodes nothing (the blocks are in
//! memory, copied for the run before the clock starts, as the validation
//! bench's are) but prepares each block — context-free checks and
//! signatures ahead — while this one connects and commits the one before.
//! Each run also prints the CPU time the process used per transaction and
//! how many of the machine's cores that kept busy.
//!
//! The chain: a fan-out block, then [`BLOCKS`] blocks of 1,000 one-input,
//! two-output ML-DSA-65 transfers, each spending coins the blocks before
//! created (the UTXO set grows by 1,000 coins a block, as on a busy chain).
//! Figures: signatures never seen (a file import or a sync), and
//! signatures already cached (storage and validation without signatures —
//! what the chain store itself costs), the latter also with the UTXO cache
//! flushed after every block and without each optional index. Blocks are
//! committed without waiting for the disk and synced every 32 and at the
//! end (`connect_prepared_unsynced`, ADR 0037), close to what `luminex
//! chain import` does since ADR 0040 (it also syncs every second and when
//! the next block is 50 ms late); two cases sync every block, as the
//! import did before. Medians of [`RUNS`] runs.
//!
//! Run: `cargo bench -p luminex-storage --bench import`.

use std::sync::Arc;
use std::time::Instant;

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, transfer, TestChain};
use luminex_ledger::SigCache;
use luminex_primitives::{Amount, Block, SchemeId, TxOut};
use luminex_storage::{ChainStore, FjallStore, IndexSet, Preverifier, StoreOptions};
use rayon::prelude::*;

#[path = "support/cpu.rs"]
mod cpu;
use cpu::{cores, cpu_seconds, minor_faults};

const BLOCKS: usize = 30;
const TXS: usize = 1000;
const KEYS: usize = 50;
const RUNS: usize = 3;

/// The chain after genesis.
fn build() -> (TestChain, Vec<Block>) {
    let mut chain = TestChain::dev();
    let keys: Vec<SigningKey> = (0..KEYS as u8)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa65, &[i + 7; 32]))
        .collect();
    let mut blocks = vec![chain.fan_out(1, &keys, TXS, 1 << 40)];
    for _ in 0..BLOCKS {
        // The largest coins of each key: those the last blocks created.
        let jobs: Vec<_> = keys
            .iter()
            .enumerate()
            .flat_map(|(i, k)| {
                let mut coins = chain.coins_of(&lock_of(k));
                coins.sort_by_key(|(op, c)| (std::cmp::Reverse(c.output.amount), *op));
                coins
                    .into_iter()
                    .take(TXS / KEYS)
                    .map(move |c| (i, k, c))
                    .collect::<Vec<_>>()
            })
            .collect();
        let txs: Vec<_> = jobs
            .par_iter()
            .map(|(i, k, c)| {
                let half = Amount::from_base(c.1.output.amount.base() / 2).unwrap();
                transfer(
                    &chain.spec,
                    k,
                    &[*c],
                    vec![TxOut {
                        amount: half,
                        lock: lock_of(&keys[(i + 1) % KEYS]),
                    }],
                )
            })
            .collect();
        for t in &txs {
            chain.cache.insert(t.wtxid());
        }
        blocks.push(chain.mine(txs).unwrap());
    }
    (chain, blocks)
}

/// Seconds to import `blocks` into a fresh store; `synced`: each block
/// synced on its own.
fn import(
    chain: &TestChain,
    blocks: &[Block],
    cache: &SigCache,
    options: StoreOptions,
    synced: bool,
) -> (f64, f64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let kv = Arc::new(FjallStore::open(dir.path()).unwrap());
    let rules = luminex_consensus::rules_for(&chain.spec);
    let store = ChainStore::open_with(kv, chain.spec.clone(), rules, options).unwrap();
    let blocks: Vec<Arc<Block>> = blocks.iter().map(|b| Arc::new(b.clone())).collect();
    let (cpu, faults) = (cpu_seconds(), minor_faults());
    let start = Instant::now();
    let mut pre = Preverifier::new();
    let help = pre.helper();
    let n = blocks.len();
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        let store_ref = &store;
        s.spawn(move || {
            for b in blocks {
                let p = pre.prepare(store_ref, b, cache).0;
                if tx.send(p).is_err() {
                    break;
                }
            }
        });
        loop {
            let p = match rx.try_recv() {
                Ok(p) => p,
                Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    help.help();
                    match rx.recv() {
                        Ok(p) => p,
                        Err(_) => break,
                    }
                }
            };
            let now = p.block().header.time();
            if synced {
                store.connect_prepared(&p, now, cache).unwrap();
            } else {
                store.connect_prepared_unsynced(&p, now, cache).unwrap();
            }
        }
    });
    store.sync().unwrap();
    let secs = start.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - cpu;
    let faults = minor_faults() - faults;
    assert_eq!(store.tip().height as usize, n);
    drop(store);
    (secs, cpu, faults)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    eprintln!("building {BLOCKS} blocks of {TXS} ML-DSA-65 transfers…");
    let (chain, blocks) = build();
    let txs: usize = blocks.iter().map(|b| b.txs.len()).sum();
    let all = StoreOptions::default();
    let only = |tx, address| StoreOptions {
        indexes: IndexSet { tx, address },
        ..all
    };
    let cases = [
        ("signatures never seen", false, all),
        ("signatures never seen, each block synced", false, all),
        (
            "signatures never seen, no address indexes",
            false,
            only(true, false),
        ),
        (
            "signatures never seen, no optional index",
            false,
            only(false, false),
        ),
        ("signatures cached", true, all),
        ("signatures cached, each block synced", true, all),
        (
            "signatures cached, UTXO cache flushed every block (--dbcache-mb 0)",
            true,
            StoreOptions {
                utxo_cache_bytes: 0,
                ..all
            },
        ),
        (
            "signatures cached, no transaction index",
            true,
            only(false, true),
        ),
        (
            "signatures cached, no address indexes",
            true,
            only(true, false),
        ),
        (
            "signatures cached, no optional index",
            true,
            only(false, false),
        ),
    ];
    // LUMINEX_BENCH_CASE=<part of a label> runs only the matching cases;
    // `=<label>` only the case of that exact label (to profile one).
    let only_case = std::env::var("LUMINEX_BENCH_CASE").ok();
    for (label, warm, options) in cases {
        let skip = |c: &str| match c.strip_prefix('=') {
            Some(exact) => label != exact,
            None => !label.contains(c),
        };
        if only_case.as_deref().is_some_and(skip) {
            continue;
        }
        let synced = label.ends_with("each block synced");
        let runs: Vec<(f64, f64, u64)> = (0..RUNS)
            .map(|_| {
                let cache = SigCache::new(txs * 2);
                if warm {
                    for b in &blocks {
                        for t in &b.txs {
                            cache.insert(t.wtxid());
                        }
                    }
                }
                import(&chain, &blocks, &cache, options, synced)
            })
            .collect();
        let all: Vec<String> = runs
            .iter()
            .map(|(s, _, _)| format!("{:.0}", txs as f64 / s))
            .collect();
        let secs = median(runs.iter().map(|r| r.0).collect());
        let cpu: f64 = runs.iter().map(|r| r.1).sum();
        let wall: f64 = runs.iter().map(|r| r.0).sum();
        let faults: u64 = runs.iter().map(|r| r.2).sum();
        let cores = cores();
        println!(
            "import/{}x{TXS} ({label}): median {secs:.2} s, {:.0} tx/s (runs: {} tx/s); CPU {:.1} µs/tx, {:.0} % of {cores} cores busy, {:.1} page faults/tx",
            BLOCKS + 1,
            txs as f64 / secs,
            all.join(" · "),
            cpu * 1e6 / (txs * RUNS) as f64,
            100.0 * cpu / (wall * cores as f64),
            faults as f64 / (txs * RUNS) as f64,
        );
    }
}
