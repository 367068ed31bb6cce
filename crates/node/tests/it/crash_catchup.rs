//! Crash safety during a BFT catch-up (ADR 0049, ADR 0051): a follower of a
//! one-validator `poa` testnet, committing runs of certified blocks without
//! waiting for the disk and syncing once per run, is killed with SIGKILL at
//! random moments while it catches up. Every restart finds a consistent
//! chain no lower than the height the follower last reported, and it ends
//! on the validator's tip with the same UTXO set.

use std::time::Duration;

use crate::bft::Proc;
use crate::crash_sync::{checked_height, kill_moment};
use crate::p2p::wait_until;
use crate::support::{free_port, ok, Rng};

/// Kills at most (fewer if the catch-up finishes first).
const KILLS: usize = 8;
/// Heights the validator finalizes before the follower starts.
const HEIGHTS: u64 = 250;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_a_bft_catch_up_always_restarts_consistent() {
    // A testnet of one validator (it finalizes alone), blocks every 50 ms.
    let net = tempfile::tempdir().unwrap();
    let out = net.path().join("net");
    ok(
        net.path(),
        0,
        &[
            "chain",
            "--chain",
            "poa",
            "testnet",
            "--validators",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--base-port",
            &free_port().to_string(),
            "--block-interval-ms",
            "50",
        ],
    );
    let spec_path = out.join("spec.toml");
    let spec_text = std::fs::read_to_string(&spec_path).unwrap();
    assert!(
        spec_text.contains("\nblock_interval_ms = 50\n"),
        "{spec_text}"
    );
    let spec = spec_path.to_str().unwrap().to_string();
    let key = out.join("node0").join("validator.key");
    let name = "poa-testnet";

    let mut validator = Proc::start_on(
        &spec,
        name,
        vec![
            "--validator-key".to_string(),
            key.to_str().unwrap().to_string(),
        ],
    );
    // Blocks with transfers in them (the load generator funds its keys from
    // the genesis allocations), then empty ones up to HEIGHTS.
    let url = format!("http://127.0.0.1:{}", validator.port);
    ok(
        net.path(),
        validator.port,
        &[
            "bench", "--chain", &spec, "--node", &url, "--txs", "4000", "--rate", "1000",
        ],
    );
    wait_until("the validator to finalize its heights", 300, || async {
        validator.tip().await.0 >= HEIGHTS
    })
    .await;
    // The chain stops there: the validator restarts with --no-produce, so
    // it keeps its key but signs nothing, and serves what it has.
    validator.kill();
    validator.args.push("--no-produce".to_string());
    validator.restart();
    let tip = validator.tip().await;
    let boot = validator.p2p_addr().await;

    let args = vec!["--bootnodes".to_string(), boot];
    let mut follower = Proc::start_on(&spec, name, args);
    let mut rng = Rng(0x5eed_0049_0000_0001);
    let mut reported = 0u64;
    let mut kills = 0;
    for _ in 0..KILLS {
        // A random moment of what is left, the last height the follower
        // reported, then the kill.
        reported = kill_moment(follower.port, reported, tip.0, &mut rng).await;
        follower.kill();
        let h = checked_height(follower.dir.path(), &spec);
        assert!(
            h >= reported,
            "after {kills} kills: the follower reported height {reported}, restarted at {h}"
        );
        follower.restart();
        if reported == tip.0 {
            break;
        }
        kills += 1;
        reported = h;
        if h == tip.0 {
            break;
        }
    }
    eprintln!("{kills} kills landed during the catch-up");
    assert!(kills >= 1, "the catch-up finished before any kill landed");

    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    loop {
        let at = follower.tip().await;
        if at == tip {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the follower stopped at {at:?}, the validator's tip is {tip:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Told not to produce, the validator signed nothing since: its chain
    // stayed where it stopped.
    assert_eq!(
        validator.tip().await,
        tip,
        "a node run with --no-produce voted"
    );
    let want = validator.utxo_set().await;
    let got = follower.utxo_set().await;
    assert!(!want.is_null() && want == got, "{want} vs {got}");
}
