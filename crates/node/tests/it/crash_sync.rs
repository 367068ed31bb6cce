//! Crash safety during a download (ADR 0040): a node syncing from a peer,
//! its blocks committed without waiting for the disk and synced in
//! batches, is killed with SIGKILL at random moments. Every restart finds
//! a consistent chain no lower than the height the node last reported,
//! and the node ends on its peer's tip with the same UTXO set.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::p2p::{broadcast, dev_transfers, get, wait_until, TestNode};
use crate::support::{free_port, ok, NodeProcess, Rng};

/// Blocks the peer has (a few with transfers, most empty).
const BLOCKS: u64 = 900;
/// Kills at most (fewer if the download finishes first).
const KILLS: usize = 8;

pub(crate) async fn height(port: u16) -> u64 {
    get(port, "/health/node-status").await["height"]
        .as_u64()
        .unwrap()
}

/// `luminex chain check` on a stopped node's data (`dir`, chain `chain`):
/// asserts it is consistent and returns its height.
pub(crate) fn checked_height(dir: &Path, chain: &str) -> u64 {
    let report: Value =
        serde_json::from_str(&ok(dir, 0, &["chain", "check", "--chain", chain])).unwrap();
    assert_eq!(report["consistent"], true, "{report}");
    report["height"].as_u64().unwrap()
}

/// Waits for a random moment in the first half of what is left of a
/// download: until the node at `port` passes a height drawn from (`from`,
/// `from + (to - from) / 2`], polled every 5 ms, then returns the height it
/// reports. A random *height* rather than a random delay: a node that
/// downloads faster than expected (a quiet machine, a faster build) is
/// still killed in the middle, several times over.
pub(crate) async fn kill_moment(port: u16, from: u64, to: u64, rng: &mut Rng) -> u64 {
    let target = (from + 1 + rng.next() % (to.saturating_sub(from) / 2).max(1)).min(to);
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let h = height(port).await;
        if h >= target {
            return h;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the download stopped at {h}, below {target}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_download_always_restarts_consistent() {
    let source = TestNode::start("dev", &["--no-produce"]);
    let addr = source.p2p_addr().await;
    let spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    let to = spec
        .address(spec.dev_key(1).unwrap().public_key().lock())
        .to_string();
    for tx in dev_transfers() {
        broadcast(source.port, &tx).await;
    }
    for _ in 0..BLOCKS / 300 {
        source.rpc("generatetoaddress", json!([300, to])).await;
    }
    let tip = source.tip().await;
    assert_eq!(tip.0, BLOCKS);

    let dir = tempfile::tempdir().unwrap();
    let args = ["--no-produce", "--bootnodes", &addr];
    let mut rng = Rng(0x5eed_0040_0000_0001);
    let mut reported = 0u64;
    let mut kills = 0;
    for _ in 0..KILLS {
        let port = free_port();
        let node = NodeProcess::start_chain(dir.path(), "dev", port, &args);
        // A random moment of what is left, the last height the node
        // reported, then the kill.
        reported = kill_moment(port, reported, BLOCKS, &mut rng).await;
        drop(node);
        if reported == BLOCKS {
            break;
        }
        kills += 1;
        let h = checked_height(dir.path(), "dev");
        assert!(
            h >= reported,
            "kill {kills}: the node reported height {reported}, restarted at {h}"
        );
        reported = h;
    }
    eprintln!("{kills} kills landed during the download");
    assert!(kills >= 1, "the download finished before any kill landed");

    // The last start finishes the download.
    let port = free_port();
    let last = TestNode {
        _process: NodeProcess::start_chain(dir.path(), "dev", port, &args),
        port,
        dir,
        chain: "dev".into(),
    };
    wait_until("the download to finish", 180, || async {
        last.tip().await == tip
    })
    .await;
    let want = source.rpc("gettxoutsetinfo", json!([])).await;
    let got = last.rpc("gettxoutsetinfo", json!([])).await;
    assert_eq!(want, got, "same UTXO set");
}
