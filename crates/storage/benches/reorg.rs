//! Reorganisation of 100 blocks of 1,000 transactions: a fjall-backed chain
//! store on branch A (100 blocks past the fork) receives branch B (101
//! blocks); the block that gives B more work triggers the switch —
//! disconnect 100 blocks, validate and connect 101 — and is timed.
//!
//! Every transaction is a one-input, two-output ML-DSA-87 transfer (the
//! `qbtc` default). By default the store keeps recent blocks in memory
//! (ADR 0037), so the switch reads nothing back; one case turns that off.
//! Run: `cargo bench -p luminex-storage --bench reorg`.

use luminex_ledger::testkit::PowFields;
use std::sync::Arc;
use std::time::Instant;

use luminex_consensus::mining::grind;
use luminex_consensus::pow::target_from_compact;
use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, transfer, TestChain};
use luminex_ledger::{ChainSpec, SigCache};
use luminex_primitives::{Amount, Block, SchemeId, TxOut};
use luminex_storage::{ChainStore, FjallStore, StoreOptions};
use rayon::prelude::*;

#[path = "support/cpu.rs"]
mod cpu;
use cpu::{cores, cpu_seconds, minor_faults};

const TXS: usize = 1000;
const DEPTH: usize = 100;

fn solve(b: &mut Block) {
    let target = target_from_compact(b.header.pow().bits).unwrap();
    b.header.pow_mut().nonce = grind(
        b.header.pow(),
        target,
        0,
        u32::MAX,
        &std::sync::atomic::AtomicBool::new(false),
    )
    .unwrap();
}

/// `n` blocks on `chain`, each spending every coin of `keys` once, paying a
/// little to `sink` and the change back to the owner.
fn branch(
    chain: &mut TestChain,
    keys: &[SigningKey],
    sink: &SigningKey,
    n: usize,
    step: u32,
) -> Vec<Block> {
    let mut out = Vec::new();
    for _ in 0..n {
        let jobs: Vec<_> = keys
            .iter()
            .flat_map(|k| chain.coins_of(&lock_of(k)).into_iter().map(move |c| (k, c)))
            .collect();
        let txs: Vec<_> = jobs
            .par_iter()
            .map(|(k, c)| {
                transfer(
                    &chain.spec,
                    k,
                    &[*c],
                    vec![TxOut {
                        amount: Amount::from_base(1000).unwrap(),
                        lock: lock_of(sink),
                    }],
                )
            })
            .collect();
        for t in &txs {
            chain.cache.insert(t.wtxid());
        }
        let fees = chain.fees_of(&txs);
        let mut b = chain.build_block(txs, fees);
        b.header.pow_mut().time = chain.tip().pow().time + step;
        solve(&mut b);
        chain.connect(b.clone()).unwrap();
        out.push(b);
    }
    out
}

fn main() {
    // The store logs each switch's phases ("reorganised"); RUST_LOG=info shows them.
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let mut spec = ChainSpec::preset("qbtc").unwrap();
    spec.genesis.bits = 0x207fffff;
    spec.pow.as_mut().unwrap().pow_limit_bits = 0x207fffff;
    spec.coinbase_maturity = 1;
    spec.max_reorg_depth = 1000;
    let keys: Vec<SigningKey> = (0..20u8)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa87, &[i; 32]))
        .collect();
    let (sink_a, sink_b) = (
        SigningKey::from_seed(SchemeId::MlDsa87, &[100; 32]),
        SigningKey::from_seed(SchemeId::MlDsa87, &[101; 32]),
    );

    eprintln!(
        "building branches ({} + {} blocks of {TXS} transactions)…",
        DEPTH,
        DEPTH + 1
    );
    let mut base = TestChain::new(spec.clone());
    base.cache = SigCache::new(1 << 20);
    let fan = base.fan_out(0, &keys, TXS, 100_000_000);
    let mut fan = fan;
    fan.header.pow_mut().time = base.blocks[0].header.pow().time + 1;
    // fan_out does not grind: rebuild the base with a solved block.
    let mut base = TestChain::new(spec.clone());
    base.cache = SigCache::new(1 << 20);
    for t in &fan.txs {
        base.cache.insert(t.wtxid());
    }
    solve(&mut fan);
    base.connect(fan.clone()).unwrap();
    let replay = |blocks: &[Block]| {
        let mut c = TestChain::new(spec.clone());
        c.cache = SigCache::new(1 << 20);
        for b in blocks {
            for t in &b.txs {
                c.cache.insert(t.wtxid());
            }
            c.connect(b.clone()).unwrap();
        }
        c
    };
    let mut a = replay(&[fan.clone()]);
    let a_blocks = branch(&mut a, &keys, &sink_a, DEPTH, 1);
    let mut b = replay(&[fan.clone()]);
    let b_blocks = branch(&mut b, &keys, &sink_b, DEPTH + 1, 2);

    for (label, warm, fjall, recent) in [
        ("fjall, signatures not seen before", false, true, true),
        (
            "fjall, signatures not seen before, no recent blocks kept",
            false,
            true,
            false,
        ),
        ("fjall, signatures already cached", true, true, true),
        ("memory, signatures already cached", true, false, true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let rules = luminex_consensus::rules_for(&spec);
        let kv: Arc<dyn luminex_storage::KvStore> = if fjall {
            Arc::new(FjallStore::open(dir.path()).unwrap())
        } else {
            Arc::new(luminex_storage::MemoryStore::new())
        };
        let options = StoreOptions {
            recent_block_bytes: if recent { 2 << 30 } else { 0 },
            ..StoreOptions::default()
        };
        let store = ChainStore::open_with(kv, spec.clone(), rules, options).unwrap();
        let cache = SigCache::new(1 << 20);
        let now = u64::from(b_blocks.last().unwrap().header.pow().time);
        store.accept_block(&fan, now, &cache).unwrap();
        for blk in &a_blocks {
            store.accept_block(blk, now, &cache).unwrap();
        }
        for blk in &b_blocks[..DEPTH] {
            store.accept_block(blk, now, &cache).unwrap();
        }
        if warm {
            for blk in &b_blocks {
                for t in &blk.txs {
                    cache.insert(t.wtxid());
                }
            }
        }
        // Signatures never seen: an empty cache of a node's default size
        // (a capacity of 1 would also throw away what a reorganisation
        // checks ahead of connecting, which no node does).
        let cold = SigCache::default();
        let (cpu, faults) = (cpu_seconds(), minor_faults());
        let start = Instant::now();
        let acc = store
            .accept_block(&b_blocks[DEPTH], now, if warm { &cache } else { &cold })
            .unwrap();
        let secs = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        let faults = minor_faults() - faults;
        assert_eq!(acc.disconnected.len(), DEPTH);
        assert_eq!(acc.connected.len(), DEPTH + 1);
        assert_eq!(store.tip().hash, b_blocks[DEPTH].hash());
        println!(
            "reorg/{DEPTH}x{TXS} ({label}): {secs:.2} s — disconnect {DEPTH} + connect {} blocks, {:.0} tx/s connected; CPU {cpu:.2} s, {:.0} % of {} cores busy, {}k page faults",
            DEPTH + 1,
            ((DEPTH + 1) * TXS) as f64 / secs,
            100.0 * cpu / (secs * cores() as f64),
            cores(),
            faults / 1000
        );
    }
}
