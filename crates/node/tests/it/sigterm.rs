//! A SIGTERM at any moment of a node's start stops it gracefully (exit
//! status 0, never killed by the signal), and the data directory it leaves
//! opens again on a consistent chain — what a `docker stop` or a supervisor
//! restart right after start does. "Any moment" starts when the process
//! runs its own code: the first thing `main` does is catch the signal
//! (Linux shows it in `/proc/<pid>/status`); before that, while the
//! dynamic loader maps the binary, no program can.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{bin, exit_within, free_port, node_command, NodeProcess};

#[test]
fn sigterm_at_any_moment_of_start_stops_the_node_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    // Delays after the process exists: the first milliseconds (runtime,
    // arguments, configuration), opening the database, binding the
    // listeners, starting the network and the producer.
    let delays_ms = [
        0u64, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987,
    ];
    for (i, delay) in delays_ms.iter().enumerate() {
        let port = free_port();
        let child = node_command(dir.path(), "dev", port, &[]).spawn().unwrap();
        wait_until_caught(child.id());
        // The delay is the point of the test: it picks the moment of start
        // the signal hits.
        std::thread::sleep(Duration::from_millis(*delay));
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        let status = exit_within(
            child,
            Duration::from_secs(120),
            &format!("run {i}: SIGTERM at {delay} ms"),
        );
        assert!(
            status.success(),
            "run {i}: SIGTERM {delay} ms after start ended the node with {status}"
        );
    }
    // What they left opens, produces and stops cleanly.
    let port = free_port();
    let node = NodeProcess::start(dir.path(), port, &[]);
    node.stop();
}

/// Waits until process `pid` catches SIGTERM (bit 15 of `SigCgt`). Linux
/// offers no event for a change of signal disposition (`/proc` files do
/// not notify), so this polls, every 200 µs, under a generous deadline.
fn wait_until_caught(pid: u32) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let caught = status
            .lines()
            .find_map(|l| l.strip_prefix("SigCgt:"))
            .and_then(|m| u64::from_str_radix(m.trim(), 16).ok())
            .is_some_and(|m| m & (1 << (15 - 1)) != 0);
        if caught {
            return;
        }
        assert!(Instant::now() < deadline, "the node never caught SIGTERM");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Every other command keeps the default: a SIGTERM (or Ctrl-C) ends it at
/// once, even while it waits for a node that never answers.
#[test]
fn other_commands_still_die_by_sigterm() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(bin())
        .args(["chain", "--chain", "dev", "health"])
        .env("LUMINEX_NODE", format!("http://{addr}"))
        .env("LUMINEX_DATA_DIR", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // It connected and waits for an answer that never comes.
    let _conn = listener.accept().unwrap();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = exit_within(child, Duration::from_secs(30), "a waiting CLI command");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(15), "{status}");
}

/// A command whose reader goes away (`luminex … | head`) ends quietly by
/// SIGPIPE, as Unix tools do, instead of panicking on the broken pipe.
#[test]
fn a_command_whose_output_is_cut_ends_quietly() {
    use std::io::Read;
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(bin())
        .args(["chain", "--chain", "dev", "spec"])
        .env("LUMINEX_DATA_DIR", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader closes its end before reading anything.
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(!err.contains("panicked"), "{err}");
    // Killed by SIGPIPE, or done before it wrote (then successfully).
    assert!(
        status.signal() == Some(13) || status.success(),
        "{status}: {err}"
    );
}

/// `stop` over JSON-RPC (`bitcoin-cli stop`) answers, then ends the node
/// as SIGTERM does: exit status 0, and the data directory opens again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_over_rpc_ends_the_node_gracefully() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut node = NodeProcess::start(dir.path(), port, &[]);
    let cookie = std::fs::read_to_string(dir.path().join("dev").join(".cookie")).unwrap();
    let (user, password) = cookie.trim().split_once(':').unwrap();
    let answer = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/", port + 1))
        .basic_auth(user, Some(password))
        .body(r#"{"jsonrpc":"1.0","id":1,"method":"stop","params":[]}"#)
        .timeout(Duration::from_secs(60))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(answer.contains("Luminex server stopping"), "{answer}");
    let child = std::mem::replace(&mut node.child, Command::new("true").spawn().unwrap());
    let status = tokio::task::spawn_blocking(move || {
        exit_within(child, Duration::from_secs(120), "stop over RPC")
    })
    .await
    .unwrap();
    assert!(status.success(), "the node exited with {status}");
    drop(node);
    let node = NodeProcess::start(dir.path(), free_port(), &[]);
    node.stop();
}

/// A start that fails after the JSON-RPC cookie was written (here the
/// peer-to-peer address is taken) exits 1 with the reason and leaves no
/// cookie behind, as a normal shutdown does: a cookie on disk says a node
/// is running.
#[test]
fn a_failed_start_leaves_no_cookie_behind() {
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen = format!("/ip4/127.0.0.1/tcp/{}", busy.local_addr().unwrap().port());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = node_command(dir.path(), "dev", port, &["--listen", &listen])
        .spawn()
        .unwrap();
    let status = exit_within(child, Duration::from_secs(120), "a node on a taken port");
    assert_eq!(status.code(), Some(1), "{status}");
    let chain_dir = dir.path().join("dev");
    assert!(chain_dir.exists(), "the start got as far as the chain");
    assert!(
        !chain_dir.join(".cookie").exists(),
        "the cookie of a node that never ran is gone"
    );
    drop(busy);
}
