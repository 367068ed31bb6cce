//! Crash safety during reorganisations: a node fed competing branches by
//! `submitblock` is killed with SIGKILL at random moments of the switch.
//!
//! Each step forks [`DEPTH`] blocks below the tip: [`DEPTH`] blocks of a
//! side branch, then the block that gives it more work, whose acceptance
//! disconnects [`DEPTH`] blocks and connects [`DEPTH`] + 1. The kill comes
//! a random time after the node logs that the reorganisation started (up to
//! the time a whole switch took in the first, unkilled step). What was
//! stored at the kill is read straight from the database and classified
//! (nothing written yet, mid-switch, done); then `luminex chain check`
//! opens it — finishing an interrupted switch — and must find a consistent
//! chain on the new branch's tip with its UTXO set.
//!
//! CI runs [`DEFAULT_KILLS`] kills. The 100-kill run (BENCHMARKS.md):
//! `LUMINEX_REORG_KILLS=100 cargo test -p luminex-node --test it sigkill_during_reorgs -- --nocapture`

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::TestChain;
use luminex_ledger::Coin;
use luminex_primitives::{Block, Encode, Hash, OutPoint, SchemeId};
use luminex_storage::tables::{META_TIP, META_UTXO_TIP, TIP_KEY, UTXO_TIP_KEY};
use luminex_storage::{FjallStore, KvExt};
use serde_json::{json, Value};

use crate::support::{free_port, node_command, ok, NodeProcess, Rng};

/// Blocks disconnected by each reorganisation.
const DEPTH: usize = 3;
/// Transfers per block (one per key), so a switch takes a while.
const TXS_PER_BLOCK: usize = 24;
/// Kills in a default run.
const DEFAULT_KILLS: usize = 10;

/// One step of the ladder: the side branch and its deciding block, and
/// the main chain's tip once it has won.
struct Step {
    blocks: Vec<Block>,
    tip: Hash,
    height: u64,
    utxos: usize,
}

/// The base (a fan-out, then [`DEPTH`] blocks) and `n` steps, each forking
/// [`DEPTH`] blocks below the previous step's tip.
fn ladder(n: usize) -> (Vec<Block>, Vec<Step>) {
    let keys: Vec<SigningKey> = (0..TXS_PER_BLOCK as u8)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa44, &[90 + i; 32]))
        .collect();
    let mut chain = TestChain::dev();
    let mut snapshots: HashMap<u64, HashMap<OutPoint, Coin>> = HashMap::new();
    let mut base = vec![chain.fan_out(0, &keys, keys.len() * 2, 100_000_000)];
    snapshots.insert(chain.height(), chain.utxos.clone());
    for _ in 0..DEPTH {
        base.push(next_block(&mut chain, &keys, 0));
        snapshots.insert(chain.height(), chain.utxos.clone());
    }
    let mut steps = Vec::new();
    for s in 1..=n as u64 {
        let fork = chain.height() - DEPTH as u64;
        chain.blocks.truncate(fork as usize + 1);
        chain.utxos = snapshots[&fork].clone();
        let mut blocks = Vec::new();
        for _ in 0..=DEPTH {
            blocks.push(next_block(&mut chain, &keys, s));
            snapshots.insert(chain.height(), chain.utxos.clone());
        }
        snapshots.retain(|h, _| *h + DEPTH as u64 >= chain.height());
        steps.push(Step {
            blocks,
            tip: chain.tip().hash(),
            height: chain.height(),
            utxos: chain.utxos.len(),
        });
    }
    (base, steps)
}

/// A block with one transfer per key from its largest coin to the next
/// key; `salt` makes the amounts, so each step's blocks are its own.
fn next_block(chain: &mut TestChain, keys: &[SigningKey], salt: u64) -> Block {
    chain.mine_ring(keys, |i| 1_000 + salt * 100 + i as u64)
}

/// A JSON-RPC call with the node's cookie; `Err` when the connection
/// fails (the node was killed).
fn rpc(dir: &Path, port: u16, method: &str, params: Value) -> Result<Value, String> {
    let cookie =
        std::fs::read_to_string(dir.join("dev").join(".cookie")).map_err(|e| e.to_string())?;
    let (user, pass) = cookie.trim().split_once(':').expect("user:password");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let v: Value = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/", port + 1))
            .basic_auth(user, Some(pass))
            .json(&json!({"jsonrpc": "1.0", "id": 1, "method": method, "params": params}))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        match v["error"].is_null() {
            true => Ok(v["result"].clone()),
            false => Err(format!("{method}: {v}")),
        }
    })
}

fn submit(dir: &Path, port: u16, block: &Block) -> Result<Value, String> {
    rpc(
        dir,
        port,
        "submitblock",
        json!([hex::encode(block.encode())]),
    )
}

/// A node that logs when a reorganisation starts: the events come on the
/// returned channel (stderr is drained to its end by a thread). Only those
/// after the chain is open count: opening may finish a switch a kill
/// interrupted, which is not the one a test waits for.
fn start_node(dir: &Path, port: u16) -> (NodeProcess, mpsc::Receiver<Instant>) {
    let mut cmd = node_command(dir, "dev", port, &["--no-produce"]);
    cmd.env(
        "RUST_LOG",
        "warn,luminex_storage=info,luminex_node::run=info",
    )
    .stderr(Stdio::piped());
    let mut node = NodeProcess::spawn(&mut cmd, port);
    let stderr = node.child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut open = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            open |= line.contains("chain opened");
            if open && line.contains("reorganising") {
                let _ = tx.send(Instant::now());
            }
        }
    });
    (node, rx)
}

/// The tip record as the database holds it, read without opening the
/// chain (which would finish an interrupted switch).
fn stored_tip(dir: &Path) -> (Hash, u64) {
    let kv = FjallStore::open(&dir.join("dev").join("db")).unwrap();
    let t = kv.get(META_TIP, &TIP_KEY.to_string()).unwrap().unwrap();
    (t.hash, t.height)
}

#[test]
fn sigkill_during_reorgs_always_restarts_consistent() {
    kill_during_reorgs(false, false);
}

/// The same with a warm UTXO cache: each kill's database is checked on a
/// copy, so the original is never flushed after the first step — every
/// start applies all the blocks since then to the cache again (rolling
/// back the branches that lost), and every switch runs on a cache full of
/// unflushed coins.
#[test]
fn sigkill_during_reorgs_with_a_warm_utxo_cache_always_restarts_consistent() {
    kill_during_reorgs(true, false);
}

/// Reorganisations from memory (ADR 0037): before each killed switch the
/// same node process first makes a whole switch, so the blocks the killed
/// one disconnects — and their undo data — are the recent blocks it
/// connected, disconnected without reading them back; the UTXO cache is
/// warm too, as above.
#[test]
fn sigkill_during_reorgs_from_memory_always_restarts_consistent() {
    kill_during_reorgs(true, true);
}

/// Copies `from` into `to`, recursively (the database of a killed node).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// `warm`: the UTXO cache is never flushed after the first step;
/// `recent`: each killed switch follows a whole one in the same process.
fn kill_during_reorgs(warm: bool, recent: bool) {
    let kills_wanted: usize = std::env::var("LUMINEX_REORG_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_KILLS);
    // One step to calibrate, one per kill (two with `recent`).
    let per_kill = 1 + usize::from(recent);
    let (base, steps) = ladder(kills_wanted * per_kill + 1);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let mut rng = Rng(0x5eed_0000_0e0e_0014);

    // The base, and a first switch timed from its log line to its answer.
    let (node, reorgs) = start_node(d, port);
    for b in &base {
        assert_eq!(submit(d, port, b).unwrap(), Value::Null, "base block");
    }
    for b in &steps[0].blocks[..DEPTH] {
        assert_eq!(submit(d, port, b).unwrap(), "inconclusive", "side block");
    }
    assert_eq!(
        submit(d, port, &steps[0].blocks[DEPTH]).unwrap(),
        Value::Null
    );
    let answered = Instant::now();
    let started = reorgs
        .recv_timeout(Duration::from_secs(60))
        .expect("the node logged the reorganisation");
    let window = answered
        .saturating_duration_since(started)
        .max(Duration::from_millis(1));
    node.stop();

    let (mut before_first_write, mut mid_switch, mut done) = (0, 0, 0);
    let mut answered_before_kill = 0;
    for k in (1..steps.len()).step_by(per_kill) {
        let (mut node, reorgs) = start_node(d, port);
        if recent {
            // A whole switch first: its blocks are the recent ones the
            // killed switch disconnects.
            for b in &steps[k].blocks {
                let r = submit(d, port, b).unwrap();
                assert!(
                    r == Value::Null || r == "inconclusive" || r == "duplicate",
                    "warm-up block: {r}"
                );
            }
            reorgs
                .recv_timeout(Duration::from_secs(120))
                .expect("the node logged the warm-up reorganisation");
        }
        let k = k + per_kill - 1;
        let (prev, step) = (&steps[k - 1], &steps[k]);
        for b in &step.blocks[..DEPTH] {
            let r = submit(d, port, b).unwrap();
            assert!(r == "inconclusive" || r == "duplicate", "side block: {r}");
        }
        let (deciding, path) = (step.blocks[DEPTH].clone(), d.to_path_buf());
        let (answer_tx, answer) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = answer_tx.send(submit(&path, port, &deciding));
        });
        reorgs
            .recv_timeout(Duration::from_secs(120))
            .expect("the node logged the reorganisation");
        std::thread::sleep(Duration::from_nanos(
            rng.next() % window.as_nanos().max(1) as u64,
        ));
        let reported = matches!(answer.try_recv(), Ok(Ok(Value::Null)));
        let _ = node.child.kill();
        let _ = node.child.wait();
        drop(node);
        answered_before_kill += usize::from(reported);
        // The database as the kill left it, before anything opens it.
        let copy = tempfile::tempdir().unwrap();
        if warm {
            copy_dir(
                &d.join("dev").join("db"),
                &copy.path().join("dev").join("db"),
            );
        }

        let (hash, height) = stored_tip(d);
        if hash == prev.tip {
            before_first_write += 1;
        } else if hash == step.tip {
            done += 1;
        } else {
            mid_switch += 1;
            assert!(
                height >= prev.height - DEPTH as u64 && height <= step.height,
                "stored tip at {height}, outside the switch"
            );
        }
        assert!(
            !reported || hash == step.tip,
            "the switch was reported and is not stored"
        );
        // Opening finishes the switch: the new branch, consistent.
        let checked = if warm {
            // Nothing was flushed since the first step stopped cleanly.
            let kv = FjallStore::open(&d.join("dev").join("db")).unwrap();
            let flushed = kv
                .get(META_UTXO_TIP, &UTXO_TIP_KEY.to_string())
                .unwrap()
                .unwrap();
            assert_eq!(
                flushed.hash, steps[0].tip,
                "kill {k}: the cache was flushed"
            );
            drop(kv);
            copy.path()
        } else {
            d
        };
        let report: Value =
            serde_json::from_str(&ok(checked, 0, &["chain", "check", "--chain", "dev"])).unwrap();
        assert_eq!(report["consistent"], true);
        assert_eq!(report["height"].as_u64().unwrap(), step.height, "kill {k}");
        assert_eq!(
            report["utxos"].as_u64().unwrap() as usize,
            step.utxos,
            "kill {k}"
        );
    }
    println!(
        "sigkill_during_reorgs (warm UTXO cache: {warm}, recent blocks: {recent}): {kills_wanted} kills (switch window {window:?}): \
         {before_first_write} before the first write, {mid_switch} mid-switch, \
         {done} after the last write ({answered_before_kill} answered before the kill); \
         every restart consistent on the new branch"
    );
}
