//! `multisig/verify/M-of-N`: tier-2 ownership checks of one ML-DSA-65
//! multisig input (exactly `M` key paths and `M` signatures), for the
//! 2-of-3, 3-of-5 and 7-of-10 policies; the witness size of each is printed
//! before its timing.

use criterion::{criterion_group, criterion_main, Criterion};
use luminex_ledger::testkit::{lock_of, transfer, TestChain, TestMultisig};
use luminex_ledger::verify_spent_outputs;
use luminex_primitives::{Amount, Encode, SchemeId, TxOut};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("multisig");
    for (m, n) in [(2usize, 3usize), (3, 5), (7, 10)] {
        let ms = TestMultisig::new(m, &vec![SchemeId::MlDsa65; n], n as u8);
        let mut chain = TestChain::dev();
        let key = chain.keys[0].clone();
        let mut coins = chain.coins_of(&lock_of(&key));
        coins.retain(|(_, c)| !c.is_coinbase);
        let fund = transfer(
            &chain.spec,
            &key,
            &coins[..1],
            vec![TxOut {
                amount: Amount::from_coins(1).expect("in range"),
                lock: ms.lock(),
            }],
        );
        chain.mine(vec![fund]).expect("valid funding");
        let coin = chain.coins_of(&ms.lock())[0];
        // The last m keys sign: the deepest paths of the set.
        let signers: Vec<usize> = (n - m..n).collect();
        let tx = ms.spend(&chain.spec, &coin, lock_of(&key), &signers);
        let witness = tx.witnesses[0].encoded_len();
        let paths = match &tx.witnesses[0] {
            luminex_primitives::Witness::Multisig(w) => {
                w.signers.iter().map(|s| s.path.len() * 32).sum::<usize>()
            }
            _ => unreachable!("a multisig spend"),
        };
        println!(
            "multisig {m}-of-{n} ML-DSA-65: witness {witness} bytes (paths {paths}), transaction {} bytes",
            tx.encoded_len()
        );
        let genesis = chain.spec.genesis_hash();
        let spent = [coin.1.output];
        g.bench_function(format!("verify/{m}-of-{n}"), |b| {
            b.iter(|| verify_spent_outputs(&tx, &genesis, &spent).expect("valid"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
