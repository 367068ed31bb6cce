//! Helpers: an in-process node, and real `luminex` processes.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub use luminex_service::testkit::memory_node_for;

/// The `luminex` binary built for these tests.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_luminex")
}

/// A loopback port whose successor is free too (API and JSON-RPC).
///
/// Ports come from a per-process counter below the ephemeral range, so
/// tests running in parallel never receive the same or adjacent ports
/// (binding port 0 and releasing it lets the OS hand it out again before
/// the node binds, and says nothing about the port after it).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU16, Ordering};
    static NEXT: AtomicU16 = AtomicU16::new(0);
    // Spread concurrent test processes over 20000..32000.
    let start = (std::process::id() % 375) as u16 * 32;
    loop {
        let off = NEXT.fetch_add(2, Ordering::Relaxed);
        let p = 20_000 + (start + off) % 12_000;
        let free = |p: u16| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(p) && free(p + 1) {
            return p;
        }
    }
}

/// Runs a `luminex` command with the data dir and node URL set.
pub fn luminex(dir: &Path, port: u16, args: &[&str]) -> Output {
    luminex_with_passphrase(dir, port, "test passphrase", args)
}

/// [`luminex`] with `passphrase` as the wallet passphrase.
pub fn luminex_with_passphrase(dir: &Path, port: u16, passphrase: &str, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .env("LUMINEX_DATA_DIR", dir)
        .env("LUMINEX_NODE", format!("http://127.0.0.1:{port}"))
        .env("LUMINEX_WALLET_PASSPHRASE", passphrase)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs a command that must succeed; returns its stdout.
pub fn ok(dir: &Path, port: u16, args: &[&str]) -> String {
    let out = luminex(dir, port, args);
    assert!(
        out.status.success(),
        "luminex {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The height in a `--wait` command's "confirmed at height N" line.
pub fn confirmed_height(out: &str) -> u64 {
    out.split("confirmed at height ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|h| h.parse().ok())
        .unwrap_or_else(|| panic!("no confirmation height in {out}"))
}

/// The confirmed total of `luminex wallet balance` output ("total  X (pending Y)").
pub fn total_of(balance_output: &str) -> String {
    balance_output
        .lines()
        .find_map(|l| l.strip_prefix("total  "))
        .and_then(|l| l.split(' ').next())
        .expect("balance output has a total line")
        .to_string()
}

/// The command that runs `luminex node` on `chain` with its data in `dir`,
/// REST on `port` and JSON-RPC on `port + 1`.
pub fn node_command(dir: &Path, chain: &str, port: u16, extra: &[&str]) -> Command {
    let mut c = Command::new(bin());
    c.args([
        "node",
        "--chain",
        chain,
        "--http-addr",
        &format!("127.0.0.1:{port}"),
    ])
    .args(["--rpc-addr", &format!("127.0.0.1:{}", port + 1)])
    .args(if extra.contains(&"--listen") {
        &[][..]
    } else {
        // Peer-to-peer on an OS-chosen loopback port: nodes of parallel
        // tests never collide and only meet when told.
        &["--listen", "/ip4/127.0.0.1/tcp/0"][..]
    })
    .args(extra)
    .env("LUMINEX_DATA_DIR", dir)
    .env("RUST_LOG", "warn")
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::inherit());
    c
}

/// Waits for `child` to exit, for at most `limit` (then kills it and
/// panics with `what`): a thread blocks in `wait` and reports the exit,
/// so the caller waits on that event, not on polls.
pub fn exit_within(mut child: Child, limit: Duration, what: &str) -> std::process::ExitStatus {
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(limit) {
        Ok(status) => status.unwrap(),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{what}: the process did not exit within {limit:?}");
        }
    }
}

/// A running `luminex node` process, killed on drop.
pub struct NodeProcess {
    pub child: Child,
}

impl NodeProcess {
    /// Starts a dev node and waits until its API answers.
    pub fn start(dir: &Path, port: u16, extra: &[&str]) -> NodeProcess {
        Self::start_chain(dir, "dev", port, extra)
    }

    /// Starts a node of `chain` (preset or spec file) with its JSON-RPC on
    /// `port + 1`, and waits until its API answers.
    pub fn start_chain(dir: &Path, chain: &str, port: u16, extra: &[&str]) -> NodeProcess {
        Self::spawn(&mut node_command(dir, chain, port, extra), port)
    }

    /// Starts `command` (a [`node_command`] the caller adjusted) and waits
    /// until the API on `port` and the JSON-RPC on `port + 1` answer.
    pub fn spawn(command: &mut Command, port: u16) -> NodeProcess {
        let child = command.spawn().unwrap();
        let mut p = NodeProcess { child };
        let deadline = Instant::now() + Duration::from_secs(30);
        // The REST port is bound first and the JSON-RPC port last, after
        // the RPC cookie is written: wait for both.
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", port + 1)).is_err()
        {
            if let Some(status) = p.child.try_wait().unwrap() {
                panic!("node exited during startup with {status} (its error is above)");
            }
            assert!(Instant::now() < deadline, "node did not start within 30 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        p
    }

    /// Stops the node with SIGTERM and waits for it to exit cleanly.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        assert!(status.success(), "node exited with {status}");
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small deterministic generator (xorshift), so a failure replays.
pub struct Rng(pub u64);

impl Rng {
    /// The next value.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
