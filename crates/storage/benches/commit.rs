//! `commit/block-*`: connecting a block of 1-input, 2-output ML-DSA-65
//! transfers to a fjall-backed chain store — UTXO lookups, one atomic batch
//! with every index, fsynced — with signatures already in the cache (as for
//! blocks built from the mempool), so the figure is the storage cost.

use luminex_ledger::testkit::PowFields;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use luminex_ledger::testkit::TestChain;
use luminex_ledger::SigCache;
use luminex_storage::{ChainStore, FjallStore, KvStore, MemoryStore};

const TXS: usize = 2000;

fn bench(c: &mut Criterion) {
    let (chain, block) = TestChain::with_transfer_block(TXS);
    let fan = chain.blocks[1].clone();
    let cache = SigCache::new(TXS * 4);
    for b in [&fan, &block] {
        for tx in &b.txs {
            cache.insert(tx.wtxid());
        }
    }
    let now = u64::from(block.header.pow().time);
    let mut g = c.benchmark_group("commit");
    g.sample_size(10);
    g.throughput(Throughput::Elements(TXS as u64));
    let mut run = |name: &str, open: &dyn Fn(&std::path::Path) -> Arc<dyn KvStore>| {
        g.bench_function(format!("block-{TXS}tx-{name}"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().unwrap();
                    let rules = luminex_consensus::rules_for(&chain.spec);
                    let store =
                        ChainStore::open(open(dir.path()), chain.spec.clone(), rules).unwrap();
                    store.connect(&fan, now, &cache).unwrap();
                    let start = Instant::now();
                    store.connect(&block, now, &cache).unwrap();
                    total += start.elapsed();
                }
                total
            })
        });
    };
    run("fjall", &|p| Arc::new(FjallStore::open(p).unwrap()));
    run("memory", &|_| Arc::new(MemoryStore::new()));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
