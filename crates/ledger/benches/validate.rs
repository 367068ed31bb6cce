//! `validate/block-*`: full validation (tiers 1–3, cold signature cache) of a
//! block of 1-input, 2-output ML-DSA-65 transfers, on all cores and on one.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use luminex_ledger::testkit::TestChain;
use luminex_ledger::{connect_block, SigCache};

const TXS: usize = 2000;

fn bench(c: &mut Criterion) {
    let (chain, block) = TestChain::with_transfer_block(TXS);
    assert_eq!(block.txs.len(), TXS + 1);
    let ctx = chain.context();
    let mut g = c.benchmark_group("validate");
    g.sample_size(10);
    g.throughput(Throughput::Elements(TXS as u64));
    g.bench_function(format!("block-{TXS}tx-all-cores"), |b| {
        b.iter(|| {
            connect_block(&block, &chain.utxos, &ctx, &chain.spec, &SigCache::new(1)).unwrap()
        })
    });
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    g.bench_function(format!("block-{TXS}tx-one-core"), |b| {
        b.iter(|| {
            one.install(|| {
                connect_block(&block, &chain.utxos, &ctx, &chain.spec, &SigCache::new(1)).unwrap()
            })
        })
    });
    // Every transaction already verified by the mempool: the non-signature cost.
    let warm = SigCache::new(TXS * 2);
    for tx in &block.txs {
        warm.insert(tx.wtxid());
    }
    g.bench_function(format!("block-{TXS}tx-cached-signatures"), |b| {
        b.iter(|| connect_block(&block, &chain.utxos, &ctx, &chain.spec, &warm).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
