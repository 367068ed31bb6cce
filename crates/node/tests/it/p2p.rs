//! Real `luminex` processes talking over libp2p on 127.0.0.1: discovery
//! from one bootnode, transaction and block gossip, a late node syncing
//! 2,000 blocks, chain isolation, a healed partition on `qbtc`, and a
//! follower between two `qbtc` forks.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use luminex_ledger::testkit::{dev_keys, TestChain};
use luminex_primitives::Encode;
use serde_json::{json, Value};
use tempfile::TempDir;

use crate::support::{free_port, NodeProcess};

/// A node under test: its process, API port and data directory.
pub struct TestNode {
    pub _process: NodeProcess,
    pub port: u16,
    pub dir: TempDir,
    pub chain: String,
}

impl TestNode {
    pub fn start(chain: &str, extra: &[&str]) -> TestNode {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let process = NodeProcess::start_chain(dir.path(), chain, port, extra);
        TestNode {
            _process: process,
            port,
            dir,
            chain: chain.into(),
        }
    }

    pub async fn get(&self, path: &str) -> Value {
        get(self.port, path).await
    }

    /// A GET of an admin route with an API key.
    pub async fn admin_get(&self, path: &str, key: &str) -> Value {
        send_json(
            reqwest::Client::new()
                .get(format!("http://127.0.0.1:{}{path}", self.port))
                .header("x-api-key", key),
        )
        .await
    }

    /// A JSON-RPC call authenticated with the node's cookie.
    pub async fn rpc(&self, method: &str, params: Value) -> Value {
        let cookie = std::fs::read_to_string(self.dir.path().join(&self.chain).join(".cookie"))
            .expect("cookie written");
        let (u, p) = cookie.trim().split_once(':').unwrap();
        let v = send_json(
            reqwest::Client::new()
                .post(format!("http://127.0.0.1:{}/", self.port + 1))
                .basic_auth(u, Some(p))
                .json(&json!({"jsonrpc": "1.0", "id": 1, "method": method, "params": params})),
        )
        .await;
        assert!(v["error"].is_null(), "{method}: {v}");
        v["result"].clone()
    }

    /// The first listen address with `/p2p/<id>`, once the node has one.
    pub async fn p2p_addr(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let s = self.get("/health/node-status").await;
            if let Some(a) = s["p2p"]["listen_addrs"][0].as_str() {
                return a.to_string();
            }
            assert!(Instant::now() < deadline, "no listen address");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn peers(&self) -> u64 {
        let s = self.get("/health/node-status").await;
        s["p2p"]["inbound"].as_u64().unwrap() + s["p2p"]["outbound"].as_u64().unwrap()
    }

    pub async fn tip(&self) -> (u64, String) {
        let s = self.get("/health/node-status").await;
        (
            s["height"].as_u64().unwrap(),
            s["tip"].as_str().unwrap().to_string(),
        )
    }

    pub async fn mempool_has(&self, txid: &str) -> bool {
        reqwest::get(format!(
            "http://127.0.0.1:{}/transactions/{txid}",
            self.port
        ))
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap()["status"]
            == "pending"
    }
}

pub async fn get(port: u16, path: &str) -> Value {
    send_json(reqwest::Client::new().get(format!("http://127.0.0.1:{port}{path}"))).await
}

/// Sends a request and parses its JSON body.
pub async fn send_json(r: reqwest::RequestBuilder) -> Value {
    r.send().await.unwrap().json().await.unwrap()
}

/// Polls `f` every 50 ms until it holds; fails after `secs`.
pub async fn wait_until<F, Fut>(what: &str, secs: u64, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Signed transfers spending the dev genesis allocations.
pub fn dev_transfers() -> Vec<luminex_primitives::Transaction> {
    let chain = TestChain::dev();
    chain.spend_all(&dev_keys(&chain.spec))
}

pub async fn broadcast(port: u16, tx: &luminex_primitives::Transaction) -> String {
    let r = send_json(
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/transactions/broadcast"))
            .json(&json!({ "tx": hex::encode(tx.encode()) })),
    )
    .await;
    r["txid"]
        .as_str()
        .unwrap_or_else(|| panic!("broadcast: {r}"))
        .to_string()
}

fn dev_address(dir: &Path) -> String {
    let _ = dir;
    let spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    spec.address(spec.dev_key(1).unwrap().public_key().lock())
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_gossip_and_a_late_node_syncs_2000_blocks() {
    // One bootstrap node that produces on request only; four that know
    // only the bootstrap node.
    let boot = TestNode::start("dev", &["--no-produce"]);
    let boot_addr = boot.p2p_addr().await;
    let mut nodes = vec![boot];
    for _ in 0..4 {
        nodes.push(TestNode::start(
            "dev",
            &["--no-produce", "--bootnodes", &boot_addr],
        ));
    }
    // Everyone finds everyone (through the bootstrap node's DHT).
    for n in &nodes {
        wait_until("full discovery", 60, || async { n.peers().await >= 4 }).await;
    }
    // A transaction sent to one node reaches every mempool.
    let txs = dev_transfers();
    let txid = broadcast(nodes[3].port, &txs[0]).await;
    for n in &nodes {
        wait_until("the transaction in every mempool", 30, || async {
            n.mempool_has(&txid).await
        })
        .await;
    }
    // A block produced on one node reaches every node.
    let addr = dev_address(nodes[0].dir.path());
    nodes[0].rpc("generatetoaddress", json!([1, addr])).await;
    let tip = nodes[0].tip().await;
    assert_eq!(tip.0, 1);
    for n in &nodes {
        wait_until("block 1 everywhere", 30, || async { n.tip().await == tip }).await;
        assert!(!n.mempool_has(&txid).await, "the block confirmed it");
    }
    // 2,000 more blocks, then a sixth node syncs them all.
    for _ in 0..4 {
        nodes[2].rpc("generatetoaddress", json!([500, addr])).await;
    }
    let tip = nodes[2].tip().await;
    assert_eq!(tip.0, 2_001);
    for n in &nodes {
        wait_until("2,001 blocks everywhere", 180, || async {
            n.tip().await == tip
        })
        .await;
    }
    let late = TestNode::start("dev", &["--no-produce", "--bootnodes", &boot_addr]);
    wait_until("the late node synced", 180, || async {
        late.tip().await == tip
    })
    .await;
    assert_eq!(late.get("/health/ready").await["status"], "ready");
    let want = nodes[0].rpc("gettxoutsetinfo", json!([])).await;
    let got = late.rpc("gettxoutsetinfo", json!([])).await;
    assert_eq!(want, got, "same UTXO set");
    // Amounts in coins as Bitcoin Core gives them, and exactly in base units.
    // The coins are exact text with 8 decimals (checked digit for digit in
    // the transport's tests); read here as an f64, they agree to its
    // rounding.
    let base = got["total_amount_base"].as_u64().unwrap();
    let total = got["total_amount"].as_f64().unwrap();
    assert!(
        (total - base as f64 / 1e8).abs() <= total * 4.0 * f64::EPSILON,
        "{total} for {base}"
    );
    // The peers the late node is connected to.
    let info = late.rpc("getnetworkinfo", json!([])).await;
    let count = |k: &str| info[k].as_u64().unwrap();
    assert!(count("connections") >= 1, "{info}");
    assert_eq!(
        count("connections"),
        count("connections_in") + count("connections_out")
    );
    assert_eq!(info["networkactive"], true);
    wait_until("sync to report done", 60, || async {
        let s = late.get("/health/block-sync").await;
        s["syncing"] == false && s["height"] == 2_001 && s["best_peer_height"] == 2_001
    })
    .await;
    let chain = late.rpc("getblockchaininfo", json!([])).await;
    assert_eq!(chain["initialblockdownload"], false, "{chain}");
    assert_eq!(chain["headers"], 2_001, "{chain}");
    assert_eq!(chain["verificationprogress"], 1.0, "{chain}");
    // The peers, each with its peer id, and its agent string once
    // identify has answered (on a loaded machine a connection can come
    // before that).
    let connected = late.rpc("getconnectioncount", json!([])).await;
    assert!(connected.as_u64().unwrap() >= 1, "{connected}");
    wait_until("every peer identified", 120, || async {
        let peers = late.rpc("getpeerinfo", json!([])).await;
        let peers = peers.as_array().unwrap().clone();
        for p in &peers {
            assert!(
                p["peer_id"].as_str().is_some_and(|id| !id.is_empty()),
                "{p}"
            );
        }
        !peers.is_empty()
            && peers
                .iter()
                .all(|p| p["subver"].as_str().unwrap().contains("luminex"))
    })
    .await;
    assert!(late.rpc("uptime", json!([])).await.as_u64().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_of_different_chains_do_not_exchange_blocks() {
    let dev = TestNode::start("dev", &["--no-produce"]);
    let dev_addr = dev.p2p_addr().await;
    let qbtc = TestNode::start("qbtc", &["--bootnodes", &dev_addr]);
    let addr = dev_address(dev.dir.path());
    dev.rpc("generatetoaddress", json!([3, addr])).await;
    // Give the qbtc node time to dial, identify and be turned away: a
    // negative result can only be observed by waiting. On a loaded machine
    // identify can take longer than that: then the connection must still
    // end, without any block crossing it.
    tokio::time::sleep(Duration::from_secs(3)).await;
    wait_until("no connection surviving identify", 60, || async {
        qbtc.peers().await == 0 && dev.peers().await == 0
    })
    .await;
    assert_eq!(qbtc.tip().await.0, 0, "no dev block reached the qbtc node");
    assert_eq!(dev.tip().await.0, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_healed_partition_ends_on_the_most_work_tip() {
    let key = "partition-test-key";
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(key));
    let admin = ["--admin-key-hash", hash.as_str()];
    let a = TestNode::start("qbtc", &admin);
    let a_addr = a.p2p_addr().await;
    let mut args = admin.to_vec();
    args.extend(["--bootnodes", a_addr.as_str()]);
    let b = TestNode::start("qbtc", &args);
    let c = TestNode::start("qbtc", &admin);
    let c_addr = c.p2p_addr().await;
    let mut args = admin.to_vec();
    args.extend(["--bootnodes", c_addr.as_str()]);
    let d = TestNode::start("qbtc", &args);
    for n in [&a, &b, &c, &d] {
        wait_until("group links", 30, || async { n.peers().await == 1 }).await;
    }
    let spec = luminex_ledger::ChainSpec::preset("qbtc").unwrap();
    let miner = spec
        .address(spec.dev_key(0).unwrap().public_key().lock())
        .to_string();
    // Group one mines 3 blocks, group two 6: same difficulty, so group
    // two's branch has more work.
    a.rpc("generatetoaddress", json!([3, miner])).await;
    c.rpc("generatetoaddress", json!([6, miner])).await;
    let (ta, tc) = (a.tip().await, c.tip().await);
    wait_until("group one agrees", 30, || async { b.tip().await == ta }).await;
    wait_until("group two agrees", 30, || async { d.tip().await == tc }).await;
    // Heal: B dials C through the admin API.
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{}/admin/nodes/add", b.port);
    let bad = http
        .post(&url)
        .header("x-api-key", key)
        .json(&json!({"address": "not a multiaddr"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let r = http
        .post(&url)
        .header("x-api-key", key)
        .json(&json!({ "address": c_addr }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    for n in [&a, &b, &c, &d] {
        wait_until("the most-work tip everywhere", 60, || async {
            n.tip().await == tc
        })
        .await;
    }
    let lat = a.get("/health/network-latency").await;
    assert!(lat["peers"].as_array().is_some());

    // Remove (ban) a peer by hand: the key is required, the id checked.
    let c_id = c.get("/health/node-status").await["p2p"]["peer_id"]
        .as_str()
        .unwrap()
        .to_string();
    let url = format!("http://127.0.0.1:{}/admin/nodes/remove", b.port);
    let body = json!({ "peer_id": c_id });
    for (key, want) in [(None, 401), (Some("wrong"), 403)] {
        let mut r = http.post(&url).json(&body);
        if let Some(k) = key {
            r = r.header("x-api-key", k);
        }
        assert_eq!(r.send().await.unwrap().status(), want);
    }
    for bad in [
        json!({ "peer_id": "nope" }),
        json!({ "peer": c_id }),
        json!([]),
    ] {
        let r = http
            .post(&url)
            .header("x-api-key", key)
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{bad}");
    }
    let r = http
        .post(&url)
        .header("x-api-key", key)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_until("the removed peer banned", 60, || async {
        let peers = b.admin_get("/debug/peers", key).await;
        peers["banned"].as_array().unwrap().contains(&json!(c_id))
    })
    .await;
    wait_until("the removed peer disconnected", 60, || async {
        let peers = b.admin_get("/debug/peers", key).await;
        !peers["peers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["peer_id"] == json!(c_id))
    })
    .await;
}

/// Two `qbtc` (proof-of-work) nodes share 20 blocks, then mine apart: one
/// 3 blocks more, the other 6, so the second branch has more work. A new
/// follower that knows both asks both for headers at once and ends on the
/// branch with more work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_between_two_forks_asks_both_and_ends_on_the_most_work() {
    let key = "forks-test-key";
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(key));
    let admin = ["--admin-key-hash", hash.as_str()];
    let a = TestNode::start("qbtc", &admin);
    let a_addr = a.p2p_addr().await;
    let mut args = admin.to_vec();
    args.extend(["--bootnodes", a_addr.as_str()]);
    let c = TestNode::start("qbtc", &args);
    let c_addr = c.p2p_addr().await;
    let spec = luminex_ledger::ChainSpec::preset("qbtc").unwrap();
    let miner = spec
        .address(spec.dev_key(0).unwrap().public_key().lock())
        .to_string();
    wait_until("the two linked", 30, || async { c.peers().await == 1 }).await;
    a.rpc("generatetoaddress", json!([20, miner])).await;
    let shared = a.tip().await;
    wait_until("both on the shared blocks", 60, || async {
        c.tip().await == shared
    })
    .await;
    // Apart: the second bans the first, then each mines its own branch.
    let id = |n: &TestNode| {
        let port = n.port;
        async move {
            crate::p2p::get(port, "/health/node-status").await["p2p"]["peer_id"]
                .as_str()
                .unwrap()
                .to_string()
        }
    };
    let (a_id, c_id) = (id(&a).await, id(&c).await);
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/admin/nodes/remove", c.port))
        .header("x-api-key", key)
        .json(&json!({ "peer_id": a_id }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    wait_until("the two apart", 30, || async {
        a.peers().await == 0 && c.peers().await == 0
    })
    .await;
    a.rpc("generatetoaddress", json!([3, miner])).await;
    c.rpc("generatetoaddress", json!([6, miner])).await;
    let (ta, tc) = (a.tip().await, c.tip().await);
    assert_eq!((ta.0, tc.0), (23, 26));
    let boots = format!("{a_addr},{c_addr}");
    let f = TestNode::start(
        "qbtc",
        &["--admin-key-hash", hash.as_str(), "--bootnodes", &boots],
    );
    wait_until("the follower on the most work", 60, || async {
        f.tip().await == tc
    })
    .await;
    // Each peer's headers reached its own branch's tip in the follower's
    // download (the published peer list is refreshed every second).
    let shown = |peers: &Value, id: &str| {
        peers["peers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["peer_id"] == json!(id))
            .map(|p| p["headers_height"].clone())
    };
    wait_until(
        "each peer's headers height in the peer list",
        120,
        || async {
            let peers = f.admin_get("/debug/peers", key).await;
            (shown(&peers, &a_id), shown(&peers, &c_id)) == (Some(json!(23)), Some(json!(26)))
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_node_key_persists_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let id = |port| async move {
        get(port, "/health/node-status").await["p2p"]["peer_id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let port = free_port();
    let n = NodeProcess::start(dir.path(), port, &["--no-produce"]);
    let first = id(port).await;
    n.stop();
    let key = dir.path().join("dev").join("p2p_key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the node key is private");
    }
    let port = free_port();
    let n = NodeProcess::start(dir.path(), port, &["--no-produce"]);
    assert_eq!(id(port).await, first, "same identity after a restart");
    n.stop();
    // A corrupt key file is a clear start-up error, not a new identity.
    std::fs::write(&key, b"garbage").unwrap();
    let port = free_port();
    let (http, rpc) = (
        format!("127.0.0.1:{port}"),
        format!("127.0.0.1:{}", port + 1),
    );
    let out = crate::support::luminex(
        dir.path(),
        port,
        &[
            "node",
            "--no-produce",
            "--listen",
            "/ip4/127.0.0.1/tcp/0",
            "--http-addr",
            &http,
            "--rpc-addr",
            &rpc,
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a node key"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_reconnects_to_its_bootnode_and_catches_up() {
    // A bootstrap node on a fixed port, so that it can come back on it
    // (with its persistent key: the same peer id), and a node that knows
    // only it.
    let (dir, port, p2p_port) = (tempfile::tempdir().unwrap(), free_port(), free_port());
    let listen = format!("/ip4/127.0.0.1/tcp/{p2p_port}");
    let start = |dir: &Path| {
        NodeProcess::start_chain(dir, "dev", port, &["--no-produce", "--listen", &listen])
    };
    let boot = TestNode {
        _process: start(dir.path()),
        port,
        dir,
        chain: "dev".into(),
    };
    let boot_addr = boot.p2p_addr().await;
    let node = TestNode::start("dev", &["--no-produce", "--bootnodes", &boot_addr]);
    wait_until("connected", 90, || async { node.peers().await == 1 }).await;
    // The bootstrap node goes away; the other node's dials fail for a while.
    let TestNode { _process, dir, .. } = boot;
    _process.stop();
    wait_until("the peer gone", 30, || async { node.peers().await == 0 }).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    // It comes back and moves on; the other node finds it again by itself.
    let boot = TestNode {
        _process: start(dir.path()),
        port,
        dir,
        chain: "dev".into(),
    };
    let addr = dev_address(boot.dir.path());
    boot.rpc("generatetoaddress", json!([5, addr])).await;
    let tip = boot.tip().await;
    assert_eq!(tip.0, 5);
    // Sooner than the DHT's periodic bootstrap (every 30 s) would find it:
    // the node dials its lost bootnode again, with backoff.
    wait_until("reconnected and caught up", 20, || async {
        node.tip().await == tip
    })
    .await;
    assert_eq!(node.peers().await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_networked_node_is_ready_only_once_a_peer_answers_unless_lone() {
    let status = |n: &TestNode| {
        let port = n.port;
        async move { get(port, "/health/ready").await["status"].clone() }
    };
    // Without bootnodes a node is lone by default: ready with no peers.
    let boot = TestNode::start("dev", &["--no-produce"]);
    let boot_addr = boot.p2p_addr().await;
    assert_eq!(status(&boot).await, "ready");
    // Told it is not lone, the same node is not ready alone.
    let strict = TestNode::start("dev", &["--no-produce", "--lone=false"]);
    strict.p2p_addr().await;
    assert_eq!(status(&strict).await, "no-peers");
    // With a bootnode that never answers: not ready.
    let nobody = luminex_p2p::identity::Keypair::generate_ed25519()
        .public()
        .to_peer_id();
    let nowhere = format!("/ip4/127.0.0.1/tcp/{}/p2p/{nobody}", free_port());
    let stranded = TestNode::start("dev", &["--no-produce", "--bootnodes", &nowhere]);
    stranded.p2p_addr().await;
    assert_eq!(status(&stranded).await, "no-peers");
    // With one that answers: ready once it has, and not ready again once
    // it is gone.
    let follower = TestNode::start("dev", &["--no-produce", "--bootnodes", &boot_addr]);
    wait_until("the follower ready", 60, || async {
        status(&follower).await == "ready"
    })
    .await;
    drop(boot);
    wait_until("the follower not ready without its peer", 60, || async {
        status(&follower).await == "no-peers"
    })
    .await;
}

/// The operator's `invalidateblock` on a follower: it leaves the branch,
/// refuses the producer's new blocks on it without holding them against
/// the producer (it stays connected), and after `reconsiderblock`
/// downloads what it refused and catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalidated_branch_is_refused_without_blame_and_rejoined_when_reconsidered() {
    let producer = TestNode::start("dev", &["--no-produce"]);
    let addr = dev_address(producer.dir.path());
    let boot = producer.p2p_addr().await;
    let node = TestNode::start("dev", &["--no-produce", "--bootnodes", &boot]);
    wait_until("connected", 90, || async { node.peers().await == 1 }).await;
    producer.rpc("generatetoaddress", json!([10, addr])).await;
    let tip = producer.tip().await;
    wait_until("the follower at the tip", 90, || async {
        node.tip().await == tip
    })
    .await;

    let fifth = node.rpc("getblockhash", json!([5])).await;
    assert!(node.rpc("invalidateblock", json!([fifth])).await.is_null());
    assert_eq!(node.tip().await.0, 4);
    producer.rpc("generatetoaddress", json!([5, addr])).await;
    let tip = producer.tip().await;
    assert_eq!(tip.0, 15);
    // The follower hears of them (gossip, or the producer's status): its
    // view of the producer's height moves; its own tip does not.
    wait_until("the follower told of height 15", 90, || async {
        node.rpc("getpeerinfo", json!([])).await[0]["startingheight"] == 15
    })
    .await;
    assert_eq!(node.tip().await.0, 4, "still off the invalidated branch");
    assert_eq!(node.peers().await, 1, "the producer is not blamed");

    assert!(node.rpc("reconsiderblock", json!([fifth])).await.is_null());
    wait_until("the follower back at the producer's tip", 90, || async {
        node.tip().await == tip
    })
    .await;
    assert_eq!(node.peers().await, 1);

    // The producer invalidates its tip and mines at once: a new block on
    // the same parent (another extranonce), not the one invalidated.
    assert!(producer
        .rpc("invalidateblock", json!([tip.1.clone()]))
        .await
        .is_null());
    let mined = producer.rpc("generatetoaddress", json!([1, addr])).await;
    assert_ne!(mined[0], tip.1.as_str());
    assert_eq!(producer.tip().await.0, 15);
}
