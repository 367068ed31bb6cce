//! The real binary: start a dev node on 127.0.0.1, use the wallet CLI,
//! restart, check nothing was lost.

use std::io::{Read, Write};

use crate::support::{free_port, luminex, ok, NodeProcess};

fn balance_total(dir: &std::path::Path, port: u16, wallet: &str) -> String {
    crate::support::total_of(&ok(dir, port, &["wallet", "--wallet", wallet, "balance"]))
}

#[test]
fn wallet_send_restart_and_balances_survive() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let node = NodeProcess::start(d, port, &["--block-time-ms", "300"]);

    let out = ok(d, port, &["wallet", "--wallet", "alice", "new"]);
    assert!(out.contains("recovery phrase"));
    let alice = ok(d, port, &["wallet", "--wallet", "alice", "address"])
        .trim()
        .to_string();
    ok(
        d,
        port,
        &["wallet", "--wallet", "bob", "new", "--scheme", "ml-dsa-44"],
    );
    let bob = ok(d, port, &["wallet", "--wallet", "bob", "address"])
        .trim()
        .to_string();
    ok(
        d,
        port,
        &["wallet", "--wallet", "dev0", "import-dev", "--index", "0"],
    );

    ok(
        d,
        port,
        &[
            "wallet", "--wallet", "dev0", "send", "--to", &alice, "--amount", "100", "--wait",
        ],
    );
    assert_eq!(balance_total(d, port, "alice"), "100");
    ok(
        d,
        port,
        &[
            "wallet", "--wallet", "alice", "send", "--to", &bob, "--amount", "12.5", "--wait",
        ],
    );
    assert_eq!(balance_total(d, port, "bob"), "12.5");
    let alice_after = balance_total(d, port, "alice");
    assert!(alice_after.starts_with("87.4999"), "{alice_after}");
    // Overspending is refused with a clear message and changes nothing.
    let out = luminex(
        d,
        port,
        &[
            "wallet", "--wallet", "bob", "send", "--to", &alice, "--amount", "13",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("insufficient funds"));
    // A wrong passphrase is refused.
    let out = crate::support::luminex_with_passphrase(
        d,
        port,
        "wrong",
        &[
            "wallet", "--wallet", "alice", "send", "--to", &bob, "--amount", "1",
        ],
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"));

    // Garbage over raw TCP does not disturb the node.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"\x00\xff garbage \r\n\r\n").unwrap();
    let mut reply = Vec::new();
    let _ = s.read_to_end(&mut reply);
    let history_before = ok(d, port, &["wallet", "--wallet", "alice", "history"]);
    assert_eq!(history_before.lines().count(), 2);
    let info = ok(d, port, &["chain", "info"]);
    let info: serde_json::Value = serde_json::from_str(&info).unwrap();
    let height = info["height"].as_u64().unwrap();
    assert_eq!(ok(d, port, &["chain", "health"]).trim(), "ok");
    // The node's address from the environment, as `luminex node` reads it
    // (config file < environment < flags), without LUMINEX_NODE.
    let by_env = |addr: &str| {
        std::process::Command::new(crate::support::bin())
            .args(["chain", "health"])
            .env("LUMINEX_DATA_DIR", d)
            .env_remove("LUMINEX_NODE")
            .env("LUMINEX_HTTP_ADDR", addr)
            .output()
            .unwrap()
    };
    let out = by_env(&format!("127.0.0.1:{port}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = by_env("not-an-address");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("LUMINEX_HTTP_ADDR"));

    node.stop();
    let node = NodeProcess::start(d, port, &["--no-produce"]);
    let info: serde_json::Value = serde_json::from_str(&ok(d, port, &["chain", "info"])).unwrap();
    assert!(info["height"].as_u64().unwrap() >= height);
    assert_eq!(balance_total(d, port, "alice"), alice_after);
    assert_eq!(balance_total(d, port, "bob"), "12.5");
    assert_eq!(
        ok(d, port, &["wallet", "--wallet", "alice", "history"]),
        history_before
    );
    node.stop();
    // The container health check fails once the node is gone.
    assert!(!luminex(d, port, &["chain", "health"]).status.success());
    let check: serde_json::Value = serde_json::from_str(&ok(d, port, &["chain", "check"])).unwrap();
    assert_eq!(check["consistent"], true);

    // The chain exported (one block at a time, from the store to the
    // file) and imported into a fresh directory ends at the same height
    // with the same coins.
    let tip = |d: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&ok(d, port, &["chain", "check"])).unwrap()
    };
    let file = d.join("chain.blocks");
    let file = file.to_str().unwrap();
    let exported = ok(d, port, &["chain", "export", "--file", file]);
    assert!(exported.starts_with("exported blocks 1..="), "{exported}");
    let fresh = tempfile::tempdir().unwrap();
    let imported = ok(fresh.path(), port, &["chain", "import", "--file", file]);
    assert!(
        imported.contains(" imported, 0 already present"),
        "{imported}"
    );
    assert_eq!(tip(fresh.path()), tip(d));

    // Into another chain: refused before anything is created, saying why.
    let elsewhere = tempfile::tempdir().unwrap();
    for (chain, why) in [
        ("qbtc", "a file of another chain?"),
        ("poa", "the file holds blocks without commit certificates"),
    ] {
        let out = luminex(
            elsewhere.path(),
            port,
            &["chain", "import", "--chain", chain, "--file", file],
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{chain}: {err}");
        assert!(err.contains(why), "{chain}: {err}");
        assert!(err.contains("the --chain"), "{err}");
        assert!(
            !elsewhere.path().join(chain).exists(),
            "{chain}: nothing created"
        );
    }
}

#[test]
fn bad_command_lines_and_configs_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    for args in [
        vec!["node", "--chain", "no-such-chain"],
        vec!["node", "--http-addr", "not-an-address"],
        vec!["node", "--block-time-ms", "-5"],
        vec!["wallet", "send", "--to", "x", "--amount", "1.000000001"],
        vec!["wallet", "--wallet", "../evil", "new"],
        vec!["wallet", "--wallet", "missing", "balance"],
        vec!["chain", "import", "--file", "/nonexistent/blocks"],
    ] {
        let out = luminex(d, port, &args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{args:?}"
        );
    }
    // An amount of 0 is refused before the wallet plans or signs anything.
    for args in [
        vec!["wallet", "send", "--to", "x", "--amount", "0"],
        vec!["wallet", "request", "--amount", "0"],
        vec![
            "wallet", "pst", "create", "--to", "x", "--amount", "0.0", "--out", "p",
        ],
        vec!["wallet", "stake", "--validator-key", "k", "--amount", "0"],
        vec!["wallet", "unstake", "--validator-key", "k", "--amount", "0"],
        vec!["wallet", "delegate", "--validator", "v", "--amount", "0"],
        vec!["wallet", "undelegate", "--validator", "v", "--amount", "0"],
    ] {
        let out = luminex(d, port, &args);
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("must be more than 0"), "{args:?}: {err}");
    }
    // Reading commands do not create a chain where there is none.
    let out_file = d.join("out.blocks").display().to_string();
    for args in [
        vec!["chain", "check"],
        vec!["chain", "export", "--file", out_file.as_str()],
    ] {
        let out = luminex(d, port, &args);
        assert!(!out.status.success(), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no dev chain database at"),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(!d.join("dev").exists(), "nothing was created");
    // A spec file that is missing, or whose name would leave the data
    // directory.
    let out = luminex(d, port, &["node", "--chain", "specs/missing.toml"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read chain spec file"));
    let spec = ok(d, port, &["chain", "spec"]).replace("name = \"dev\"", "name = \"../escape\"");
    let escape = d.join("escape.toml");
    std::fs::write(&escape, spec).unwrap();
    let out = luminex(d, port, &["node", "--chain", escape.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("name must be"));
    std::fs::write(d.join("luminex.toml"), "http_addr = 12\n").unwrap();
    let out = luminex(d, port, &["node"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("luminex.toml"));
}

#[test]
fn pending_transactions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let node = NodeProcess::start(d, port, &["--no-produce"]);
    ok(
        d,
        port,
        &["wallet", "--wallet", "dev1", "import-dev", "--index", "1"],
    );
    let to = ok(d, port, &["wallet", "--wallet", "dev1", "address"])
        .trim()
        .to_string();
    let txid = ok(
        d,
        port,
        &[
            "wallet", "--wallet", "dev1", "send", "--to", &to, "--amount", "1",
        ],
    )
    .trim()
    .to_string();
    let mempool = |d: &std::path::Path| -> u64 {
        let info: serde_json::Value =
            serde_json::from_str(&ok(d, port, &["chain", "info"])).unwrap();
        info["mempool_txs"].as_u64().unwrap()
    };
    assert_eq!(mempool(d), 1);
    node.stop();
    let node = NodeProcess::start(d, port, &["--no-produce"]);
    assert_eq!(
        mempool(d),
        1,
        "the accepted transaction is still pending after a restart"
    );
    let tx: serde_json::Value =
        serde_json::from_str(&ok(d, port, &["chain", "tx", &txid])).unwrap();
    assert_eq!(tx["status"], "pending");
    node.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_routes_on_the_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let hash = hex::encode(luminex_api::guard::hash_key("operator key"));
    let node = NodeProcess::start(dir.path(), port, &["--admin-key-hash", &hash]);
    let url = format!("http://127.0.0.1:{port}/admin/diagnostics");
    let http = reqwest::Client::new();
    assert_eq!(http.get(&url).send().await.unwrap().status(), 401);
    assert_eq!(
        http.get(&url)
            .header("x-api-key", "wrong")
            .send()
            .await
            .unwrap()
            .status(),
        403
    );
    let v: serde_json::Value = http
        .get(&url)
        .header("x-api-key", "operator key")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["chain"]["name"], "dev");
    assert!(v["process"]["resident_memory_bytes"].as_u64().unwrap() > 0);
    assert!(v["recent_logs"].is_array());
    // Loopback clients are not rate limited: a burst well past the default.
    for _ in 0..600 {
        let s = http
            .get(format!("http://127.0.0.1:{port}/health/live"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(s, 200);
    }
    node.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_restart_restarts_in_place_and_keeps_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let hash = hex::encode(luminex_api::guard::hash_key("operator key"));
    // A fixed peer-to-peer port: the restart listens on it again once the
    // first run's listener is closed (a port still held is refused).
    let listen = format!("/ip4/127.0.0.1/tcp/{}", free_port());
    let mut node = NodeProcess::start(
        dir.path(),
        port,
        &[
            "--admin-key-hash",
            &hash,
            "--block-time-ms",
            "200",
            "--listen",
            &listen,
        ],
    );
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let status = |http: reqwest::Client, base: String| async move {
        http.get(format!("{base}/health/node-status"))
            .send()
            .await
            .ok()?
            .json::<serde_json::Value>()
            .await
            .ok()
    };
    let before = status(http.clone(), base.clone()).await.unwrap();
    let url = format!("{base}/admin/node/restart");
    assert_eq!(http.post(&url).send().await.unwrap().status(), 401);
    // The RPC cookie is rewritten at every start: it marks a restart.
    let cookie = dir.path().join("dev").join(".cookie");
    let first_cookie = std::fs::read_to_string(&cookie).unwrap();
    let sent = std::time::Instant::now();
    let r = http
        .post(&url)
        .header("x-api-key", "operator key")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    // The same process answers again, freshly started, with its chain.
    let after = loop {
        let restarted = std::fs::read_to_string(&cookie).is_ok_and(|c| c != first_cookie);
        if restarted {
            if let Some(v) = status(http.clone(), base.clone()).await {
                break v;
            }
        }
        assert!(
            node.child.try_wait().unwrap().is_none(),
            "the process exited instead of restarting"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(after["height"].as_u64().unwrap() >= before["height"].as_u64().unwrap());
    // Freshly started: its uptime counts from after the request (both in
    // whole seconds, so no comparison with the reading before, which may
    // have been a fraction of a second in).
    assert!(after["uptime_secs"].as_u64().unwrap() <= sent.elapsed().as_secs());
    node.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_explorer_is_served_at_the_root() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = NodeProcess::start(dir.path(), port, &[]);
    let resp = reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let html = resp.text().await.unwrap();
    assert!(html.contains("Latest blocks"), "{html}");
    let css = reqwest::get(format!("http://127.0.0.1:{port}/static/app.css"))
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    node.stop();
}

/// The load generator against a real node, one transaction per request
/// and in batches: every transfer accepted and confirmed; a batch size the
/// node cannot take is refused before anything is sent.
#[test]
fn the_load_generator_submits_singly_and_in_batches() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let node = NodeProcess::start(d, port, &["--block-time-ms", "300"]);
    for batch in ["1", "40"] {
        let out = ok(
            d,
            port,
            &[
                "bench",
                "--txs",
                "200",
                "--concurrency",
                "3",
                "--keys",
                "8",
                "--batch",
                batch,
            ],
        );
        assert!(out.contains("accepted:       200 in"), "{out}");
        assert!(out.contains("confirmed:      200 in"), "{out}");
        assert!(!out.contains("rejected"), "{out}");
    }
    for bad in ["0", "1001"] {
        let out = luminex(d, port, &["bench", "--txs", "10", "--batch", bad]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--batch must be 1 to 1000"), "{err}");
    }
    node.stop();
}

/// A node started under a low soft limit on open files raises it to the
/// hard limit: its listeners admit more connections than a soft limit of
/// 1,024 leaves descriptors for.
#[cfg(target_os = "linux")]
#[test]
fn the_node_raises_its_open_file_limit() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let inner = crate::support::node_command(dir.path(), "dev", port, &[]);
    let mut wrapped = std::process::Command::new("bash");
    wrapped
        .args(["-c", "ulimit -Sn 200 && exec \"$0\" \"$@\""])
        .arg(inner.get_program())
        .args(inner.get_args())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null());
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            wrapped.env(k, v);
        }
    }
    let node = NodeProcess::spawn(&mut wrapped, port);
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", node.child.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let soft: u64 = line.split_whitespace().nth(3).unwrap().parse().unwrap();
    let hard: u64 = line.split_whitespace().nth(4).unwrap().parse().unwrap();
    assert!(soft > 200, "{line}");
    assert_eq!(soft, hard.min(1 << 20), "{line}");
}
