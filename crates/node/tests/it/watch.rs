//! A watch-only wallet in another data directory: the same balance as the
//! full wallet, unsigned payments the full wallet signs, and no signing.

use crate::support::{free_port, luminex, ok, total_of, NodeProcess};

#[test]
fn a_watch_only_wallet_matches_the_full_wallet_and_cannot_sign() {
    let node_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = NodeProcess::start(node_dir.path(), port, &["--block-time-ms", "300"]);
    let n = node_dir.path();
    let (full, watcher) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (f, w) = (full.path(), watcher.path());
    let file = |name: &str| f.join(name).to_str().unwrap().to_string();

    ok(f, port, &["wallet", "new"]);
    let addr = ok(f, port, &["wallet", "address"]).trim().to_string();
    ok(
        n,
        port,
        &["wallet", "--wallet", "dev0", "import-dev", "--index", "0"],
    );
    ok(
        n,
        port,
        &[
            "wallet", "--wallet", "dev0", "send", "--to", &addr, "--amount", "50", "--wait",
        ],
    );
    // A payment from the full wallet leaves change on a change address.
    let dev0 = ok(n, port, &["wallet", "--wallet", "dev0", "address"])
        .trim()
        .to_string();
    ok(
        f,
        port,
        &["wallet", "send", "--to", &dev0, "--amount", "5", "--wait"],
    );

    let export = file("watch.json");
    ok(f, port, &["wallet", "export-watch", "--out", &export]);
    ok(
        w,
        port,
        &[
            "wallet",
            "--wallet",
            "watch",
            "import-watch",
            "--file",
            &export,
        ],
    );
    let balance =
        |dir, name: &str| total_of(&ok(dir, port, &["wallet", "--wallet", name, "balance"]));
    assert_eq!(balance(w, "watch"), balance(f, "default"));
    assert!(
        balance(w, "watch").starts_with("44.99"),
        "{}",
        balance(w, "watch")
    );
    assert_eq!(
        ok(w, port, &["wallet", "--wallet", "watch", "history"]),
        ok(f, port, &["wallet", "history"])
    );

    // It cannot sign: not a payment, not a container.
    let out = luminex(
        w,
        port,
        &[
            "wallet", "--wallet", "watch", "send", "--to", &dev0, "--amount", "1",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("watch-only wallet"));
    // Nor derive a new address (ML-DSA keys have no public derivation).
    let out = luminex(
        w,
        port,
        &["wallet", "--wallet", "watch", "address", "--new"],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("derive new addresses"), "{err}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("watch-only"));
    let unsigned = file("unsigned.pst");
    let shown = ok(
        w,
        port,
        &[
            "wallet", "--wallet", "watch", "pst", "create", "--to", &dev0, "--amount", "2",
            "--out", &unsigned,
        ],
    );
    assert!(shown.contains(&format!("pays 2 to {dev0}")), "{shown}");
    let out = luminex(
        w,
        port,
        &["wallet", "--wallet", "watch", "pst", "sign", &unsigned],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("watch-only"));
    // The full wallet signs what the watch-only wallet prepared.
    ok(f, port, &["wallet", "pst", "sign", &unsigned]);
    let txid = ok(
        w,
        port,
        &["wallet", "--wallet", "watch", "pst", "broadcast", &unsigned],
    )
    .trim()
    .to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let t: serde_json::Value =
            serde_json::from_str(&ok(n, port, &["chain", "tx", &txid])).unwrap();
        if t["status"] == "confirmed" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not confirmed: {t}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(balance(w, "watch"), balance(f, "default"));
    assert!(
        balance(f, "default").starts_with("42.99"),
        "{}",
        balance(f, "default")
    );
    node.stop();
}
