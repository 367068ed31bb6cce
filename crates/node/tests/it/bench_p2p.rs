//! Network benchmark (ignored by default; figures go to BENCHMARKS.md):
//!
//! ```text
//! cargo test --release -p luminex-node --test it bench_p2p -- --ignored --nocapture
//! ```
//!
//! Five real nodes on loopback. Measures the time for a 5,000-transaction
//! block to reach all of them with mempools in sync, the bytes of its
//! compact announcement against the full block, and how fast a new node
//! syncs empty blocks (blocks/s) and full blocks (tx/s). Set
//! `LUMINEX_BENCH_KEEP_CHAIN=<file>` to keep the block file for profiling
//! `luminex chain import`.

use std::time::{Duration, Instant};

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::TestChain;
use luminex_primitives::{Encode, SchemeId};
use serde_json::{json, Value};

use crate::p2p::{wait_until, TestNode};
use crate::support::free_port;

const KEY: &str = "bench-key";
/// Empty blocks at the start of the chain.
const EMPTY: u64 = 1_000;

async fn announce(node: &TestNode) -> Value {
    node.admin_get("/debug/peers", KEY).await["announce"].clone()
}

async fn mempool_len(node: &TestNode) -> u64 {
    node.get("/health/node-status").await["mempool_txs"]
        .as_u64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
async fn bench_p2p_propagation_and_sync() {
    const BLOCK_TXS: usize = 5_000;
    const SYNC_BLOCKS: usize = 40;
    const PER_BLOCK: usize = 1_000;
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(KEY));
    let base = ["--no-produce", "--admin-key-hash", hash.as_str()];
    let boot = TestNode::start("dev", &base);
    let boot_addr = boot.p2p_addr().await;
    let mut with_boot = base.to_vec();
    with_boot.extend(["--bootnodes", boot_addr.as_str()]);
    let mut nodes = vec![boot];
    for _ in 0..4 {
        nodes.push(TestNode::start("dev", &with_boot));
    }
    for n in &nodes {
        wait_until("discovery", 60, || async { n.peers().await >= 4 }).await;
    }
    let spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    let addr = spec
        .address(spec.dev_key(1).unwrap().public_key().lock())
        .to_string();

    // Empty-block sync speed.
    nodes[0]
        .rpc("generatetoaddress", json!([EMPTY, addr]))
        .await;
    let tip = nodes[0].tip().await;
    for n in &nodes {
        wait_until("empty blocks everywhere", 300, || async {
            n.tip().await == tip
        })
        .await;
    }
    let late = TestNode::start("dev", &with_boot);
    let t = Instant::now();
    wait_until("empty sync", 600, || async { late.tip().await == tip }).await;
    let empty_secs = t.elapsed().as_secs_f64();
    drop(late);

    // The workload, built off-line on the same chain: a fan-out, then
    // SYNC_BLOCKS blocks of PER_BLOCK transfers, then BLOCK_TXS transfers
    // left for the mempools.
    let mut chain = TestChain::dev();
    for h in 1..=tip.0 {
        let hash = nodes[0].rpc("getblockhash", json!([h])).await;
        let hex = nodes[0].rpc("getblock", json!([hash, 0])).await;
        let b =
            luminex_primitives::Decode::decode_all(&hex::decode(hex.as_str().unwrap()).unwrap())
                .unwrap();
        chain.connect(b).unwrap();
    }
    let keys: Vec<SigningKey> = (0..50u8)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa65, &[i; 32]))
        .collect();
    let mut blocks = vec![chain.fan_out(1, &keys, BLOCK_TXS + SYNC_BLOCKS * PER_BLOCK, 1_000_000)];
    let mut txs = chain.spend_all(&keys);
    let pending = txs.split_off(SYNC_BLOCKS * PER_BLOCK);
    for chunk in txs.chunks(PER_BLOCK) {
        blocks.push(chain.mine(chunk.to_vec()).unwrap());
    }
    for b in &blocks {
        let r = nodes[0]
            .rpc("submitblock", json!([hex::encode(b.encode())]))
            .await;
        assert!(r.is_null(), "submitblock: {r}");
    }
    let tip = nodes[0].tip().await;
    for n in &nodes {
        wait_until("workload blocks everywhere", 300, || async {
            n.tip().await == tip
        })
        .await;
    }

    // Fill every mempool through gossip.
    let http = reqwest::Client::new();
    // At most 32 at once: the REST API admits 64 connections per client
    // address (issue 14), and each request in flight holds one.
    for chunk in pending.chunks(32) {
        let futs = chunk.iter().map(|tx| {
            http.post(format!(
                "http://127.0.0.1:{}/transactions/broadcast",
                nodes[0].port
            ))
            .json(&json!({ "tx": hex::encode(tx.encode()) }))
            .send()
        });
        for r in futures_util::future::join_all(futs).await {
            assert!(r.unwrap().status().is_success());
        }
    }
    for n in &nodes {
        wait_until("mempools in sync", 300, || async {
            mempool_len(n).await == BLOCK_TXS as u64
        })
        .await;
    }
    let before = announce(&nodes[0]).await;
    let t = Instant::now();
    nodes[0].rpc("generatetoaddress", json!([1, addr])).await;
    let produced = t.elapsed();
    let tip = nodes[0].tip().await;
    let mut reached = Vec::new();
    for n in &nodes[1..] {
        while n.tip().await != tip {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        reached.push(t.elapsed());
    }
    let after = announce(&nodes[0]).await;
    let d = |k: &str| after[k].as_u64().unwrap() - before[k].as_u64().unwrap();
    let (compact, full) = (d("compact_bytes"), d("full_bytes"));
    let last = reached.iter().max().unwrap();
    println!(
        "propagation: {BLOCK_TXS}-tx block produced in {:.0} ms, on all 5 nodes after {:.0} ms (propagation {:.0} ms)",
        produced.as_secs_f64() * 1e3,
        last.as_secs_f64() * 1e3,
        (*last - produced).as_secs_f64() * 1e3
    );
    println!(
        "announcement: compact {compact} bytes, full {full} bytes ({:.2}%)",
        compact as f64 * 100.0 / full as f64
    );

    // Full-block sync speed.
    let total_txs: usize = blocks.iter().map(|b| b.txs.len()).sum::<usize>() + BLOCK_TXS + 1;
    // Steady state: from the fan-out block (height EMPTY + 1) to the tip,
    // polled every few milliseconds.
    let steady_txs: usize = blocks[1..].iter().map(|b| b.txs.len()).sum::<usize>() + BLOCK_TXS + 1;
    // First right after the workload, while the five nodes still flush and
    // compact what they just stored (on the same two cores as the new
    // node); then again once they are idle, as peers on machines of their
    // own would be.
    let busy = sync_late(&with_boot, tip.0).await;
    drop(busy.node);
    wait_until_idle(&nodes).await;
    let LateSync {
        node: late,
        full_secs,
        steady_secs,
        peak_rss_mib,
    } = sync_late(&with_boot, tip.0).await;
    // The same chain imported from a file by one node, no network: the
    // import rate that sync is compared with.
    let TestNode {
        _process: process,
        dir,
        port,
        ..
    } = late;
    process.stop();
    let file = dir.path().join("chain.bin");
    crate::support::ok(
        dir.path(),
        port,
        &["chain", "export", "--file", file.to_str().unwrap()],
    );
    if let Ok(keep) = std::env::var("LUMINEX_BENCH_KEEP_CHAIN") {
        std::fs::copy(&file, keep).unwrap();
    }
    let fresh = tempfile::tempdir().unwrap();
    let t = Instant::now();
    crate::support::ok(
        fresh.path(),
        free_port(),
        &["chain", "import", "--file", file.to_str().unwrap()],
    );
    let import_secs = t.elapsed().as_secs_f64();
    println!(
        "import from a file (same chain, one process): {import_secs:.2} s ({:.0} tx/s)",
        total_txs as f64 / import_secs
    );
    println!(
        "sync: {EMPTY} empty blocks in {empty_secs:.2} s ({:.0} blocks/s); {} blocks with {total_txs} txs in {full_secs:.2} s ({:.0} tx/s) — includes start-up and discovery",
        EMPTY as f64 / empty_secs,
        tip.0,
        total_txs as f64 / full_secs
    );
    println!(
        "sync, full blocks only, peers idle: {} blocks with {steady_txs} txs in {steady_secs:.2} s ({:.0} tx/s)",
        blocks.len(),
        steady_txs as f64 / steady_secs
    );
    println!(
        "sync, full blocks only, right after the workload (peers still writing it): {:.2} s ({:.0} tx/s)",
        busy.steady_secs,
        steady_txs as f64 / busy.steady_secs
    );
    println!(
        "sync, peak resident memory of the new node (default UTXO cache of {} MiB): {peak_rss_mib:.0} MiB, and {:.0} MiB right after the workload",
        luminex_storage::DEFAULT_UTXO_CACHE_BYTES >> 20,
        busy.peak_rss_mib
    );
}

/// A node that synced the chain from scratch.
struct LateSync {
    node: TestNode,
    /// From its start to the tip.
    full_secs: f64,
    /// From its first full block (past the empty blocks) to the tip.
    steady_secs: f64,
    /// Its peak resident memory up to the tip, in MiB.
    peak_rss_mib: f64,
}

/// Starts a new node that knows only the bootstrap node and waits until it
/// reaches height `tip`.
async fn sync_late(with_boot: &[&str], tip: u64) -> LateSync {
    let late = TestNode::start("dev", with_boot);
    let t = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut fan_out_at = None;
    loop {
        let h = late.tip().await.0;
        if fan_out_at.is_none() && h > EMPTY {
            fan_out_at = Some(t.elapsed());
        }
        if h == tip {
            break;
        }
        assert!(Instant::now() < deadline, "full sync timed out at {h}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let full_secs = t.elapsed().as_secs_f64();
    let steady_secs = full_secs - fan_out_at.expect("passed the empty blocks").as_secs_f64();
    let peak_rss_mib = peak_rss_mib(late._process.child.id());
    LateSync {
        node: late,
        full_secs,
        steady_secs,
        peak_rss_mib,
    }
}

/// The process's peak resident memory so far (`VmHWM`), in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/<pid>/status");
    kb / 1024.0
}

/// Waits until `nodes` together use under 5% of a core over a second (their
/// storage has flushed what the workload wrote), for at most two minutes.
async fn wait_until_idle(nodes: &[TestNode]) {
    async fn cpu(nodes: &[TestNode]) -> f64 {
        let mut sum = 0.0;
        for n in nodes {
            sum += n.get("/health/node-status").await["cpu_seconds"]
                .as_f64()
                .unwrap();
        }
        sum
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut before = cpu(nodes).await;
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = cpu(nodes).await;
        if now - before < 0.05 {
            return;
        }
        before = now;
    }
    println!("note: the nodes were still busy after two minutes");
}
