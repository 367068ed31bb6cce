//! Connection discipline against the real binary: as many idle connections
//! as this process may open (up to 20,000, from 64 addresses, never sending
//! a byte) are held against the REST and JSON-RPC ports, and a client that
//! sends requests is still served on both.
//!
//! A test binary of its own: it fills this process's file-descriptor table,
//! which would starve tests running beside it.

#[allow(dead_code, unused_imports)]
#[path = "it/support.rs"]
mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use support::{free_port, NodeProcess};
use tokio::net::{TcpSocket, TcpStream};

/// Descriptors left for the test harness, the HTTP client and the runtime.
const MARGIN: usize = 500;
/// Most idle connections held.
const MOST: usize = 20_000;
/// Source addresses the idle connections come from (127.0.1.1 and on).
const SOURCES: usize = 64;

/// This process's limit of open files (Linux), or a conservative guess.
fn open_file_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(1024)
}

async fn idle_connection(i: usize, to: SocketAddr) -> std::io::Result<TcpStream> {
    let s = TcpSocket::new_v4()?;
    let source = Ipv4Addr::new(127, 0, 1, 1 + (i % SOURCES) as u8);
    s.bind(SocketAddr::new(IpAddr::V4(source), 0))?;
    s.connect(to).await
}

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_do_not_lock_out_a_client() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = NodeProcess::start(dir.path(), port, &["--no-p2p"]);
    let rest: SocketAddr = ([127, 0, 0, 1], port).into();
    let rpc: SocketAddr = ([127, 0, 0, 1], port + 1).into();
    let want = open_file_limit().saturating_sub(MARGIN).min(MOST);
    assert!(want >= 1000, "too few file descriptors to test with");

    // Open them, 256 at a time; a connection the node closes at once still
    // counts as opened (the attacker's cost is the same).
    let mut held = Vec::with_capacity(want);
    let mut failed = 0;
    let mut next = 0;
    while next < want {
        let batch: Vec<_> = (next..(next + 256).min(want))
            .map(|i| {
                let to = if i % 2 == 0 { rest } else { rpc };
                tokio::spawn(idle_connection(i, to))
            })
            .collect();
        next += batch.len();
        for t in batch {
            match t.await.unwrap() {
                Ok(c) => held.push(c),
                Err(_) => failed += 1,
            }
        }
    }
    assert!(
        held.len() >= want * 9 / 10,
        "only {} of {want} connections opened ({failed} failed)",
        held.len()
    );

    // A well-behaved client, from its own address, on both ports.
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let t = Instant::now();
    let live = client
        .get(format!("http://{rest}/health/live"))
        .send()
        .await
        .expect("the REST API answers");
    let rest_latency = t.elapsed();
    assert!(live.status().is_success(), "{}", live.status());
    let cookie = std::fs::read_to_string(dir.path().join("dev").join(".cookie")).unwrap();
    let (user, pass) = cookie.trim().split_once(':').unwrap();
    let t = Instant::now();
    let info: Value = client
        .post(format!("http://{rpc}/"))
        .basic_auth(user, Some(pass))
        .json(&json!({"jsonrpc": "1.0", "id": 1, "method": "getblockchaininfo", "params": []}))
        .send()
        .await
        .expect("the JSON-RPC answers")
        .json()
        .await
        .unwrap();
    let rpc_latency = t.elapsed();
    assert_eq!(info["result"]["chain"], "dev", "{info}");
    // Figures for BENCHMARKS.md; no assertion on time (the machine is shared).
    eprintln!(
        "{} idle connections held: REST answered in {rest_latency:?}, JSON-RPC in {rpc_latency:?}",
        held.len()
    );

    // The node says what it did: capped, refused, evicted.
    let metrics = client
        .get(format!("http://{rest}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for listener in ["rest", "rpc"] {
        let open = metric(
            &metrics,
            &format!("luminex_http_connections{{listener=\"{listener}\"}}"),
        );
        let cap = metric(
            &metrics,
            &format!("luminex_http_limits{{listener=\"{listener}\",limit=\"max_connections\"}}"),
        );
        assert!(
            cap > 0.0 && open <= cap,
            "{listener}: {open} open, cap {cap}"
        );
        // With 64 addresses the table fills before any address reaches its
        // own cap: newcomers are closed as "full", the well-behaved client
        // evicted an idle one.
        let refused: f64 = ["per-client", "full", "evicted"]
            .iter()
            .map(|reason| {
                metric(
                    &metrics,
                    &format!(
                        "luminex_http_connections_refused_total{{listener=\"{listener}\",reason=\"{reason}\"}}"
                    ),
                )
            })
            .sum();
        assert!(refused > 0.0, "{listener}: nothing refused\n{metrics}");
    }
    drop(held);
    node.stop();
}
