//! Crash safety: a node importing blocks is killed with SIGKILL at random
//! moments — and, with the UTXO cache flushed after every block, right
//! after flushes start; every restart finds a consistent tip whose UTXO set
//! matches a replay of its blocks, and nothing committed is ever lost.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, transfer, TestChain};
use luminex_primitives::{Amount, SchemeId, Transaction, TxOut};

use crate::support::{bin, ok, Rng};

// Far more blocks than 24 kills consume (about two each, more when a
// loaded machine is slow to deliver the kill), so the import never
// finishes before the kills have landed.
const BLOCKS: usize = 240;
const TXS_PER_BLOCK: usize = 40;
const KILLS: usize = 24;

fn build_chain() -> TestChain {
    let mut chain = TestChain::dev();
    let keys: Vec<SigningKey> = (0..8u8)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa44, &[i + 1; 32]))
        .collect();
    chain.fan_out(0, &keys, TXS_PER_BLOCK, 100_000_000);
    for b in 1..BLOCKS {
        let mut txs: Vec<Transaction> = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let mut coins = chain.coins_of(&lock_of(key));
            coins.sort_by_key(|(op, c)| (std::cmp::Reverse(c.output.amount), *op));
            let per_key = TXS_PER_BLOCK / keys.len();
            for coin in coins.iter().take(per_key) {
                let to = lock_of(&keys[(i + b) % keys.len()]);
                let pay = Amount::from_base(100_000).unwrap();
                txs.push(transfer(
                    &chain.spec,
                    key,
                    &[*coin],
                    vec![TxOut {
                        amount: pay,
                        lock: to,
                    }],
                ));
            }
        }
        chain.mine(txs).unwrap();
    }
    chain
}

/// When a kill lands during an import.
#[derive(Clone, Copy)]
enum KillAt {
    /// A random moment after a random number of committed blocks.
    Import,
    /// A random moment right after the UTXO cache starts a flush (with a
    /// budget of 0 it flushes after every block).
    Flush,
}

#[test]
fn sigkill_during_import_always_restarts_consistent() {
    kill_during_import(KillAt::Import, None);
}

/// The UTXO cache flushed after every block, each kill a few milliseconds
/// after a flush started: inside its synced batch, or just after it, or
/// inside the next block's.
#[test]
fn sigkill_during_utxo_cache_flushes_always_restarts_consistent() {
    kill_during_import(KillAt::Flush, Some("0"));
}

/// The height in a progress line (`imported HEIGHT HASH`, `synced HEIGHT`).
fn line_height(line: &str) -> u64 {
    line.split_whitespace()
        .nth(1)
        .and_then(|h| h.parse().ok())
        .unwrap_or_else(|| panic!("progress line without a height: {line}"))
}

fn kill_during_import(at: KillAt, dbcache_mb: Option<&str>) {
    let chain = build_chain();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let file = d.join("blocks.bin");
    luminex_node::chain_cmd::write_block_file(&file, &chain.blocks[1..]).unwrap();

    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut last_height = 0u64;
    // The highest block a progress line reported: it is committed (if
    // perhaps not synced, which only a crash of the machine could undo).
    let mut claimed = 0u64;
    let mut kills = 0;
    while kills < KILLS {
        let mut cmd = Command::new(bin());
        cmd.args(["chain", "import", "--chain", "dev", "--file"])
            .arg(&file)
            .env("LUMINEX_DATA_DIR", d);
        if let Some(mb) = dbcache_mb {
            cmd.env("LUMINEX_DBCACHE_MB", mb);
        }
        let finished = match at {
            KillAt::Import => {
                let mut child = cmd
                    .env("RUST_LOG", "error")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap();
                let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
                // Let a random number of blocks commit, then kill at a random
                // moment inside the import of a following block.
                let wait_blocks = rng.next() % 4;
                let mut finished = false;
                let mut seen = 0;
                while seen < wait_blocks {
                    match lines.next() {
                        Some(Ok(l)) if l.starts_with("imported") => {
                            seen += 1;
                            claimed = claimed.max(line_height(&l));
                        }
                        Some(Ok(l)) if l.starts_with("synced") => {
                            claimed = claimed.max(line_height(&l));
                        }
                        _ => {
                            finished = true;
                            break;
                        }
                    }
                }
                std::thread::sleep(Duration::from_micros(rng.next() % 4000));
                let _ = child.kill();
                let _ = child.wait();
                finished
            }
            KillAt::Flush => {
                let mut child = cmd
                    .env("RUST_LOG", "error,luminex_storage=info")
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap();
                let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
                // One to four blocks and their flushes.
                let wait_flushes = 1 + rng.next() % 4;
                let mut seen = 0;
                let mut finished = false;
                while seen < wait_flushes {
                    match lines.next() {
                        Some(Ok(l)) if l.contains("flushing the UTXO cache") => seen += 1,
                        Some(Ok(_)) => {}
                        _ => {
                            finished = true;
                            break;
                        }
                    }
                }
                std::thread::sleep(Duration::from_micros(rng.next() % 3000));
                let _ = child.kill();
                let _ = child.wait();
                finished
            }
        };
        if finished {
            break;
        }
        kills += 1;
        let report: serde_json::Value =
            serde_json::from_str(&ok(d, 0, &["chain", "check", "--chain", "dev"])).unwrap();
        assert_eq!(report["consistent"], true);
        let h = report["height"].as_u64().unwrap();
        assert!(
            h >= last_height,
            "height went back from {last_height} to {h}: a committed block was lost"
        );
        assert!(
            h >= claimed,
            "block {claimed} was reported imported, yet the restart is at {h}"
        );
        last_height = h;
    }
    assert!(
        kills >= 20,
        "only {kills} kills landed before the import finished"
    );
    // Finish the import: the final state is exactly the generated chain's.
    ok(
        d,
        0,
        &[
            "chain",
            "import",
            "--chain",
            "dev",
            "--file",
            file.to_str().unwrap(),
        ],
    );
    let report: serde_json::Value =
        serde_json::from_str(&ok(d, 0, &["chain", "check", "--chain", "dev"])).unwrap();
    assert_eq!(report["height"].as_u64().unwrap(), chain.height());
    assert_eq!(
        report["utxos"].as_u64().unwrap() as usize,
        chain.utxos.len()
    );
}
