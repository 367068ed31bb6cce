//! `verify/ml-dsa-{44,65,87}`: one signature verification on one core, key
//! and signature parsed each time (as block validation does).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use luminex_crypto::{verify, SigningKey};
use luminex_primitives::{Hash, SchemeId};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("verify");
    g.throughput(Throughput::Elements(1));
    for id in SchemeId::ALL {
        let k = SigningKey::from_seed(id, &[7u8; 32]);
        let msg = Hash([1u8; 32]);
        let sig = k.sign(&msg);
        g.bench_function(id.name(), |b| {
            b.iter(|| verify(k.public_key(), &msg, &sig).unwrap())
        });
    }
    g.finish();
    let mut g = c.benchmark_group("sign");
    g.throughput(Throughput::Elements(1));
    for id in SchemeId::ALL {
        let k = SigningKey::from_seed(id, &[7u8; 32]);
        let msg = Hash([1u8; 32]);
        g.bench_function(id.name(), |b| b.iter(|| k.sign(&msg)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
