//! `mining/grind`: the built-in miner's nonce loop on one thread, against
//! `mining/raw-sha256d-midstate`: the same two compressions per nonce with
//! nothing else — the machine's ceiling.

use std::sync::atomic::AtomicBool;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use luminex_consensus::mining::{grind, Midstate};
use luminex_ledger::U256;
use luminex_primitives::{Hash, PowHeader};

const N: u32 = 100_000;

fn bench(c: &mut Criterion) {
    let header = PowHeader {
        version: 1,
        prev_hash: Hash([1; 32]),
        merkle_root: Hash([2; 32]),
        time: 1_700_000_000,
        bits: 0x1d00ffff,
        nonce: 0,
    };
    let mut g = c.benchmark_group("mining");
    g.throughput(Throughput::Elements(u64::from(N)));
    let mid = Midstate::new(&header);
    g.bench_function("raw-sha256d-midstate", |b| {
        b.iter(|| {
            let mut acc = 0u8;
            for n in 0..N {
                acc ^= mid.hash(black_box(n))[31];
            }
            acc
        })
    });
    // A target no hash meets: the loop runs all N nonces.
    let stop = AtomicBool::new(false);
    g.bench_function("grind", |b| {
        b.iter(|| grind(&header, black_box(U256::ZERO), 0, N, &stop))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
