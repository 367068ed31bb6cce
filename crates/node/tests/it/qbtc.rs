//! The `qbtc` chain end to end: the built-in miner earns fees on a real
//! node, and an external mining loop using only JSON-RPC mines blocks.

use luminex_ledger::testkit::PowFields;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use luminex_consensus::mining::grind;
use luminex_consensus::pow::target_from_compact;
use luminex_primitives::{Block, Decode, Encode, Hash};
use serde_json::{json, Value};

use crate::support::{free_port, ok, NodeProcess};

/// The qbtc preset with coinbase maturity 1 (so tests can spend quickly),
/// written as a spec file.
fn spec_file(dir: &Path) -> String {
    let mut spec = luminex_ledger::ChainSpec::preset("qbtc").unwrap();
    spec.coinbase_maturity = 1;
    let p = dir.join("qbtc-test.toml");
    std::fs::write(&p, toml::to_string(&spec).unwrap()).unwrap();
    p.to_str().unwrap().to_string()
}

fn chain_ok(d: &Path, spec: &str, port: u16, args: &[&str]) -> String {
    let mut a = args.to_vec();
    a.extend_from_slice(&["--chain", spec]);
    ok(d, port, &a)
}

/// Total balance of a wallet.
fn balance(d: &Path, spec: &str, port: u16, wallet: &str) -> String {
    crate::support::total_of(&chain_ok(
        d,
        spec,
        port,
        &["wallet", "--wallet", wallet, "balance"],
    ))
}

#[test]
fn the_built_in_miner_mines_transactions_and_earns_their_fees() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let spec = spec_file(d);
    let port = free_port();
    // Wallets first: the node needs the miner's address.
    let wallet = |args: &[&str]| {
        let mut a = vec!["wallet"];
        a.extend_from_slice(args);
        chain_ok(d, &spec, port, &a)
    };
    wallet(&["--wallet", "miner", "new"]);
    let miner = wallet(&["--wallet", "miner", "address"]).trim().to_string();
    wallet(&["--wallet", "rich", "import-dev", "--index", "0"]);
    wallet(&["--wallet", "alice", "new"]);
    let alice = wallet(&["--wallet", "alice", "address"]).trim().to_string();
    let node = NodeProcess::start_chain(
        d,
        &spec,
        port,
        &["--mine", "--miner-address", &miner, "--threads", "2"],
    );
    assert!(
        balance(d, &spec, port, "miner") == "0",
        "subsidy is zero: nothing before fees"
    );
    let status = chain_ok(d, &spec, port, &["chain", "info"]);
    assert!(status.contains("\"role\": \"producer\""), "{status}");
    wallet(&[
        "--wallet", "rich", "send", "--to", &alice, "--amount", "5", "--wait",
    ]);
    assert_eq!(balance(d, &spec, port, "alice"), "5");
    // The fee of that transaction went to the miner.
    let fee: f64 = balance(d, &spec, port, "miner").parse().unwrap();
    assert!(fee > 0.0, "the miner earned the fee");
    let info: Value = serde_json::from_str(&chain_ok(d, &spec, port, &["chain", "info"])).unwrap();
    assert!(info["height"].as_u64().unwrap() >= 1);
    node.stop();
}

struct Rpc {
    url: String,
    auth: Option<(String, String)>,
    http: reqwest::Client,
}

impl Rpc {
    async fn raw(&self, method: &str, params: Value) -> reqwest::Response {
        let mut r = self
            .http
            .post(&self.url)
            .json(&json!({ "jsonrpc": "1.0", "id": "t", "method": method, "params": params }));
        if let Some((u, p)) = &self.auth {
            r = r.basic_auth(u, Some(p));
        }
        r.send().await.unwrap()
    }

    async fn call(&self, method: &str, params: Value) -> Value {
        let v: Value = self.raw(method, params).await.json().await.unwrap();
        assert!(v["error"].is_null(), "{method}: {v}");
        v["result"].clone()
    }

    /// The error a call answers with (it must fail).
    async fn call_err(&self, method: &str, params: Value) -> Value {
        let v: Value = self.raw(method, params).await.json().await.unwrap();
        assert!(!v["error"].is_null(), "{method}: {v}");
        v["error"].clone()
    }
}

/// SHA-256d, written here from its definition (not the node's helper).
fn dsha(data: &[u8]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    Sha256::digest(Sha256::digest(data)).into()
}

/// A getblocktemplate miner's Merkle root, written from BIP 22/23 and
/// Bitcoin's Merkle tree as stock miners compute it: leaf 0 is SHA-256d of
/// `coinbasetxn.data`, the others each template transaction's `txid` (byte
/// order reversed from its hex, as the template has `segwit` in `rules`);
/// pairs are hashed with SHA-256d, an odd last node paired with itself.
fn gbt_merkle_root(t: &Value) -> [u8; 32] {
    assert!(
        t["rules"].as_array().unwrap().iter().any(|r| r == "segwit"),
        "{t}"
    );
    let cb = hex::decode(t["coinbasetxn"]["data"].as_str().unwrap()).unwrap();
    assert!(cb.len() >= 60, "stock miners refuse shorter coinbases");
    let mut level = vec![dsha(&cb)];
    for x in t["transactions"].as_array().unwrap() {
        let mut id: [u8; 32] = hex::decode(x["txid"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        id.reverse();
        level.push(id);
    }
    while level.len() > 1 {
        if level.len() % 2 == 1 {
            level.push(*level.last().unwrap());
        }
        level = level
            .chunks(2)
            .map(|p| dsha(&[p[0], p[1]].concat()))
            .collect();
    }
    level[0]
}

/// Builds a block from a getblocktemplate answer as a stock miner does:
/// the 80-byte header from the template's fields and its own Merkle root,
/// then the transaction count and `coinbasetxn.data` and each `data`.
/// Returns the block decoded from those bytes; `nonce` unsolved.
fn block_from_template(t: &Value) -> Block {
    let mut raw = Vec::new();
    raw.extend_from_slice(&(t["version"].as_u64().unwrap() as u32).to_le_bytes());
    let mut prev = hex::decode(t["previousblockhash"].as_str().unwrap()).unwrap();
    prev.reverse();
    raw.extend_from_slice(&prev);
    raw.extend_from_slice(&gbt_merkle_root(t));
    raw.extend_from_slice(&(t["curtime"].as_u64().unwrap() as u32).to_le_bytes());
    let bits = u32::from_str_radix(t["bits"].as_str().unwrap(), 16).unwrap();
    raw.extend_from_slice(&bits.to_le_bytes());
    raw.extend_from_slice(&0u32.to_le_bytes());
    let txs = t["transactions"].as_array().unwrap();
    assert!(txs.len() < 0xfc, "one-byte count in this test");
    raw.push(txs.len() as u8 + 1);
    raw.extend(hex::decode(t["coinbasetxn"]["data"].as_str().unwrap()).unwrap());
    for x in txs {
        raw.extend(hex::decode(x["data"].as_str().unwrap()).unwrap());
    }
    Block::decode_all(&raw).unwrap()
}

/// Two signed transfers from the genesis allocation (dev key 0), the second
/// spending the first's change.
fn chained_transfers(spec_path: &str) -> Vec<luminex_primitives::Transaction> {
    use luminex_ledger::testkit::{lock_of, sign_all, transfer};
    use luminex_ledger::Coin;
    use luminex_primitives::{Amount, OutPoint, TxOut};
    let spec =
        luminex_ledger::ChainSpec::from_toml(&std::fs::read_to_string(spec_path).unwrap()).unwrap();
    let key = spec.dev_key(0).unwrap();
    let genesis = spec.genesis_block();
    let coin = |tx: &luminex_primitives::Transaction, vout: u32| {
        (
            OutPoint {
                txid: tx.txid(),
                vout,
            },
            Coin {
                output: tx.outputs[vout as usize],
                height: 0,
                is_coinbase: tx.is_coinbase(),
            },
        )
    };
    let pay = |n: u64| TxOut {
        amount: Amount::from_base(n).unwrap(),
        lock: lock_of(&spec.dev_key(0).unwrap()),
    };
    let first_coin = coin(&genesis.txs[0], 0);
    let mut first = transfer(&spec, &key, &[first_coin], vec![pay(1_000_000)]);
    sign_all(&spec, &mut first, &key, &[first_coin.1.output]);
    let change = coin(&first, 1);
    let mut second = transfer(&spec, &key, &[change], vec![pay(2_000_000)]);
    sign_all(&spec, &mut second, &key, &[change.1.output]);
    vec![first, second]
}

fn solve(b: &mut Block) {
    let target = target_from_compact(b.header.pow().bits).unwrap();
    b.header.pow_mut().nonce =
        grind(b.header.pow(), target, 0, u32::MAX, &AtomicBool::new(false)).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_external_miner_using_only_rpc_mines_accepted_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_path_buf();
    let spec = spec_file(&d);
    let port = free_port();
    let miner_addr = {
        let k =
            luminex_crypto::SigningKey::from_seed(luminex_primitives::SchemeId::MlDsa87, &[9; 32]);
        luminex_ledger::ChainSpec::preset("qbtc")
            .unwrap()
            .address(k.public_key().lock())
            .to_string()
    };
    let node = NodeProcess::start_chain(
        &d,
        &spec,
        port,
        &[
            "--miner-address",
            &miner_addr,
            "--rpc-user",
            "alice",
            "--rpc-password",
            "s3cret",
        ],
    );
    let url = format!("http://127.0.0.1:{}/", port + 1);
    let cookie = std::fs::read_to_string(d.join("qbtc").join(".cookie")).unwrap();
    let (u, p) = cookie.split_once(':').unwrap();
    let rpc = Rpc {
        url: url.clone(),
        auth: Some((u.into(), p.into())),
        http: reqwest::Client::new(),
    };
    let user = Rpc {
        url: url.clone(),
        auth: Some(("alice".into(), "s3cret".into())),
        http: reqwest::Client::new(),
    };

    // No credentials, or wrong ones: 401.
    let anon = Rpc {
        url: url.clone(),
        auth: None,
        http: reqwest::Client::new(),
    };
    assert_eq!(anon.raw("getblockcount", json!([])).await.status(), 401);
    let wrong = Rpc {
        url,
        auth: Some(("alice".into(), "nope".into())),
        http: reqwest::Client::new(),
    };
    assert_eq!(wrong.raw("getblockcount", json!([])).await.status(), 401);
    assert_eq!(user.call("getblockcount", json!([])).await, 0);
    // Not mining itself (no --mine, no Stratum): a full node, whoever
    // mines through its RPC.
    let status: Value = reqwest::get(format!("http://127.0.0.1:{port}/health/node-status"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(status["role"], "full");
    // Refused before the body is read: a caller without credentials who
    // declares 100 MB gets 401 without sending a byte of it.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port + 1))
            .await
            .unwrap();
        s.write_all(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n",
        )
        .await
        .unwrap();
        let mut head = [0u8; 12];
        tokio::time::timeout(Duration::from_secs(60), s.read_exact(&mut head))
            .await
            .expect("an answer before the body")
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&head), "HTTP/1.1 401");
    }

    // Mine three blocks: getblocktemplate -> header -> grind -> submitblock.
    let mut stale = None;
    for h in 1..=3u64 {
        if h == 2 {
            // Two transactions (the second spends the first's change): three
            // leaves, so the miner duplicates the last node.
            let pair = chained_transfers(&spec);
            // Tested first: it would be admitted, and nothing is.
            let parent_hex = hex::encode(pair[0].encode());
            let t = rpc.call("testmempoolaccept", json!([[parent_hex]])).await;
            assert_eq!(t[0]["allowed"], true, "{t}");
            assert_eq!(t[0]["txid"], pair[0].txid().to_string(), "{t}");
            assert_eq!(t[0]["vsize"], pair[0].encoded_len(), "{t}");
            assert!(t[0]["fees"]["base"].as_f64().unwrap() > 0.0, "{t}");
            assert_eq!(rpc.call("getrawmempool", json!([])).await, json!([]));
            // The child alone: its parent is nowhere yet.
            let t = rpc
                .call(
                    "testmempoolaccept",
                    json!([[hex::encode(pair[1].encode())]]),
                )
                .await;
            assert_eq!(t[0]["allowed"], false, "{t}");
            assert_eq!(t[0]["reject-reason"], "missing-inputs", "{t}");
            let two = rpc
                .call_err("testmempoolaccept", json!([[parent_hex, parent_hex]]))
                .await;
            assert_eq!(two["code"], -8, "{two}");
            let decoded = rpc
                .call(
                    "decoderawtransaction",
                    json!([hex::encode(pair[1].encode())]),
                )
                .await;
            assert_eq!(decoded["txid"], pair[1].txid().to_string(), "{decoded}");
            assert_eq!(decoded["vin"][0]["txid"], pair[0].txid().to_string());
            assert_eq!(decoded["vsize"], pair[1].encoded_len(), "{decoded}");
            assert_eq!(decoded["weight"], pair[1].encoded_len() * 4);
            let bad = rpc.call_err("decoderawtransaction", json!(["00ff"])).await;
            assert_eq!(bad["code"], -22, "{bad}");
            for tx in &pair {
                rpc.call("sendrawtransaction", json!([hex::encode(tx.encode())]))
                    .await;
            }
            let t = rpc.call("testmempoolaccept", json!([[parent_hex]])).await;
            assert_eq!(t[0]["reject-reason"], "txn-already-in-mempool", "{t}");
            // The child lists its unconfirmed parent; the parent none.
            let pool = rpc.call("getrawmempool", json!([true])).await;
            let (parent, child) = (pair[0].txid().to_string(), pair[1].txid().to_string());
            assert_eq!(pool[&child]["depends"], json!([parent]), "{pool}");
            assert_eq!(pool[&parent]["depends"], json!([]), "{pool}");
            // Ancestors and descendants count the entry itself, as Bitcoin
            // Core's; the parent lists its child as spending it.
            assert_eq!(pool[&parent]["spentby"], json!([child]), "{pool}");
            assert_eq!(pool[&parent]["descendantcount"], 2, "{pool}");
            assert_eq!(pool[&child]["ancestorcount"], 2, "{pool}");
            assert_eq!(pool[&child]["descendantcount"], 1, "{pool}");
            let sizes =
                pool[&parent]["vsize"].as_u64().unwrap() + pool[&child]["vsize"].as_u64().unwrap();
            assert_eq!(pool[&parent]["descendantsize"], sizes, "{pool}");
            assert_eq!(pool[&child]["ancestorsize"], sizes, "{pool}");
            let entry = rpc.call("getmempoolentry", json!([child])).await;
            assert_eq!(entry, pool[&child]);
            let missing = rpc
                .call_err("getmempoolentry", json!([Hash::ZERO.to_string()]))
                .await;
            assert_eq!(missing["code"], -5, "{missing}");
            assert_eq!(
                rpc.call("getmempoolancestors", json!([child])).await,
                json!([parent])
            );
            let below = rpc
                .call("getmempooldescendants", json!([parent, true]))
                .await;
            assert_eq!(below[&child], pool[&child], "{below}");
            let missing = rpc
                .call_err("getmempoolancestors", json!([Hash::ZERO.to_string()]))
                .await;
            assert_eq!(missing["code"], -5, "{missing}");
            // The parent's change is spent in the pool; the child's output
            // is unconfirmed; the genesis coin the parent spends is still
            // unspent on the chain alone.
            assert!(rpc.call("gettxout", json!([parent, 1])).await.is_null());
            let out = rpc.call("gettxout", json!([child, 0])).await;
            assert_eq!(out["confirmations"], 0, "{out}");
            assert_eq!(out["coinbase"], false, "{out}");
            let spent_in_pool = pair[0].inputs[0];
            let args = json!([spent_in_pool.txid.to_string(), spent_in_pool.vout]);
            assert!(rpc.call("gettxout", args).await.is_null());
            let args = json!([spent_in_pool.txid.to_string(), spent_in_pool.vout, false]);
            let out = rpc.call("gettxout", args).await;
            // The genesis allocation is not a mined reward: no maturity.
            assert_eq!(out["coinbase"], false, "{out}");
            assert_eq!(out["confirmations"], 2, "{out}");
        }
        let t = rpc
            .call("getblocktemplate", json!([{ "rules": ["segwit"] }]))
            .await;
        assert_eq!(t["height"], h);
        assert_eq!(
            t["transactions"].as_array().unwrap().len(),
            if h == 2 { 2 } else { 0 }
        );
        let mut b = block_from_template(&t);
        if h == 2 {
            // Keep a competing block on the same parent for the stale check.
            let mut s = b.clone();
            s.header.pow_mut().time += 1;
            solve(&mut s);
            stale = Some(s);
        }
        solve(&mut b);
        let r = rpc
            .call("submitblock", json!([hex::encode(b.encode())]))
            .await;
        assert!(r.is_null(), "block {h} accepted: {r}");
        assert_eq!(
            rpc.call("getbestblockhash", json!([])).await,
            b.hash().to_string()
        );
        // The same block again.
        assert_eq!(
            rpc.call("submitblock", json!([hex::encode(b.encode())]))
                .await,
            "duplicate"
        );
    }
    assert_eq!(rpc.call("getblockcount", json!([])).await, 3);
    // A block on an old tip: valid, but not the best chain.
    let stale = stale.unwrap();
    assert_eq!(
        rpc.call("submitblock", json!([hex::encode(stale.encode())]))
            .await,
        "inconclusive"
    );
    // Two tips now: the main chain's, and the stale block one off it.
    let tips = rpc.call("getchaintips", json!([])).await;
    assert_eq!(
        tips,
        json!([
            { "height": 3, "hash": rpc.call("getbestblockhash", json!([])).await, "branchlen": 0, "status": "active" },
            { "height": 2, "hash": stale.hash().to_string(), "branchlen": 1, "status": "valid-headers" },
        ])
    );
    let info = rpc.call("getblockchaininfo", json!([])).await;
    assert_eq!(info["headers"], 3, "{info}");
    assert_eq!(info["initialblockdownload"], false, "{info}");
    assert_eq!(info["verificationprogress"], 1.0, "{info}");

    // The operator invalidates block 2: the chain goes back to block 1,
    // where the stale block (same parent) is now the best valid branch.
    let tip = rpc.call("getbestblockhash", json!([])).await;
    let second = rpc.call("getblockhash", json!([2])).await;
    let r = rpc.call("invalidateblock", json!([second.clone()])).await;
    assert!(r.is_null(), "{r}");
    assert_eq!(rpc.call("getblockcount", json!([])).await, 2);
    assert_eq!(
        rpc.call("getbestblockhash", json!([])).await,
        stale.hash().to_string()
    );
    let tips = rpc.call("getchaintips", json!([])).await;
    assert_eq!(
        tips,
        json!([
            { "height": 3, "hash": tip, "branchlen": 2, "status": "invalid" },
            { "height": 2, "hash": stale.hash().to_string(), "branchlen": 0, "status": "active" },
        ])
    );
    // The REST block says why it is off the main chain.
    let rest_block = |hash: &Value| {
        let url = format!("http://127.0.0.1:{port}/blocks/{}", hash.as_str().unwrap());
        async move {
            reqwest::get(url)
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    for h in [&second, &tip] {
        let b = rest_block(h).await;
        assert_eq!(b["invalid"], "invalidated", "{b}");
        assert_eq!(b["in_main_chain"], false, "{b}");
    }
    let b = rest_block(&json!(stale.hash().to_string())).await;
    assert!(b.get("invalid").is_none(), "{b}");
    // Blocks of the invalidated branch offered again are refused.
    let again = rpc.call("getblock", json!([tip.clone(), 0])).await;
    assert_eq!(
        rpc.call("submitblock", json!([again])).await,
        "duplicate-invalid"
    );
    // Unknown blocks and the genesis block are refused with Core's codes.
    let e = rpc
        .call_err("invalidateblock", json!([Hash::ZERO.to_string()]))
        .await;
    assert_eq!(e["code"], -5, "{e}");
    let genesis = rpc.call("getblockhash", json!([0])).await;
    let e = rpc.call_err("invalidateblock", json!([genesis])).await;
    assert_eq!(e["code"], -8, "{e}");
    let e = rpc.call_err("reconsiderblock", json!(["zz"])).await;
    assert_eq!(e["code"], -8, "{e}");
    // Reconsidered: the longer branch is valid again and comes back.
    let r = rpc.call("reconsiderblock", json!([second])).await;
    assert!(r.is_null(), "{r}");
    assert_eq!(rpc.call("getbestblockhash", json!([])).await, tip);
    assert_eq!(rpc.call("getblockcount", json!([])).await, 3);
    let b = rest_block(&second).await;
    assert!(b.get("invalid").is_none(), "{b}");
    assert_eq!(b["in_main_chain"], true, "{b}");
    // The stale block was the main chain's tip meanwhile, so connected
    // and fully validated: its branch is a valid fork now, no longer
    // stored headers alone.
    let tips = rpc.call("getchaintips", json!([])).await;
    assert_eq!(
        tips,
        json!([
            { "height": 3, "hash": tip, "branchlen": 0, "status": "active" },
            { "height": 2, "hash": stale.hash().to_string(), "branchlen": 1, "status": "valid-fork" },
        ])
    );

    // Tampered submissions get BIP 22 reasons.
    // Without the segwit rule the template is refused (such a miner would
    // hash each transaction's full data into the tree).
    let r: Value = rpc
        .raw("getblocktemplate", json!([]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -8, "{r}");
    let t = rpc
        .call("getblocktemplate", json!([{ "rules": ["segwit"] }]))
        .await;
    let mut b = block_from_template(&t);
    let mut unsolved = b.clone();
    while luminex_consensus::pow::hash_value(&unsolved.hash())
        <= target_from_compact(unsolved.header.pow().bits).unwrap()
    {
        unsolved.header.pow_mut().nonce += 1;
    }
    assert_eq!(
        rpc.call("submitblock", json!([hex::encode(unsolved.encode())]))
            .await,
        "high-hash"
    );
    let mut bad_root = b.clone();
    bad_root.header.pow_mut().merkle_root.0[0] ^= 1;
    solve(&mut bad_root);
    assert_eq!(
        rpc.call("submitblock", json!([hex::encode(bad_root.encode())]))
            .await,
        "bad-txnmrklroot"
    );
    let mut orphan = b.clone();
    orphan.header.pow_mut().prev_hash = Hash([7; 32]);
    solve(&mut orphan);
    assert_eq!(
        rpc.call("submitblock", json!([hex::encode(orphan.encode())]))
            .await,
        "bad-prevblk"
    );
    let mut bad_bits = b.clone();
    // Harder than required is still wrong; easier than the limit is high-hash.
    bad_bits.header.pow_mut().bits = 0x1f00fffe;
    solve(&mut bad_bits);
    assert_eq!(
        rpc.call("submitblock", json!([hex::encode(bad_bits.encode())]))
            .await,
        "bad-diffbits"
    );
    let r: Value = rpc
        .raw("submitblock", json!(["zz"]))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(r["error"]["code"], -22);
    solve(&mut b);
    assert!(rpc
        .call("submitblock", json!([hex::encode(b.encode())]))
        .await
        .is_null());

    // Read methods and Bitcoin Core error codes.
    let best = rpc.call("getbestblockhash", json!([])).await;
    let blk = rpc.call("getblock", json!([best, 2])).await;
    assert_eq!(blk["height"], 4);
    assert!(blk["tx"][0]["vin"][0]["coinbase"].is_string());
    assert!(rpc.call("getblock", json!([best, 0])).await.is_string());
    let hdr = rpc.call("getblockheader", json!([best, false])).await;
    assert_eq!(hdr.as_str().unwrap().len(), 160);
    assert_eq!(rpc.call("getblockhash", json!([4])).await, best);
    // By name, as `bitcoin-cli -named` sends them.
    assert_eq!(rpc.call("getblockhash", json!({"height": 4})).await, best);
    let named = rpc
        .call("getblock", json!({"blockhash": best, "verbosity": 0}))
        .await;
    assert!(named.is_string());
    let coinbase = blk["tx"][0]["txid"].clone();
    let found = rpc
        .call("getrawtransaction", json!([coinbase, true, best]))
        .await;
    assert_eq!(found["txid"], coinbase);
    assert_eq!(
        rpc.call("estimatesmartfee", json!([6, "ECONOMICAL"])).await["blocks"],
        6
    );
    for (method, params, code) in [
        ("getblockhash", json!([99]), -8),
        ("getblock", json!(["00".repeat(32)]), -5),
        ("getrawtransaction", json!(["00".repeat(32)]), -5),
        ("sendrawtransaction", json!(["0011"]), -22),
        ("nosuchmethod", json!([]), -32601),
        ("getblock", json!([best, 3]), -8),
        // Parameters as Bitcoin Core checks them: too many, wrong types,
        // out of range, unknown names.
        ("getblockcount", json!([1, 2, 3]), -1),
        ("getblockhash", json!([4, 5]), -1),
        ("getblockheader", json!([best, "yes"]), -3),
        ("getrawtransaction", json!(["00".repeat(32), "x"]), -3),
        (
            "getrawtransaction",
            json!([blk["tx"][0]["txid"], true, "00".repeat(32)]),
            -5,
        ),
        ("estimatesmartfee", json!([100_000]), -8),
        ("estimatesmartfee", json!([6, "bogus"]), -8),
        ("getblockhash", json!({"hight": 4}), -8),
        ("getblockhash", json!(["x"]), -3),
        ("getblockhash", json!([1.5]), -3),
        ("getblockhash", json!([-1]), -8),
        ("getblockhash", json!([]), -1),
        ("estimatesmartfee", json!(["six"]), -3),
        ("generatetoaddress", json!(["1", best]), -3),
    ] {
        let r: Value = rpc.raw(method, params).await.json().await.unwrap();
        assert_eq!(r["error"]["code"], code, "{method}: {r}");
    }
    for m in [
        "getblockchaininfo",
        "getmininginfo",
        "getnetworkinfo",
        "getmempoolinfo",
        "getrawmempool",
        "getdifficulty",
    ] {
        rpc.call(m, json!([])).await;
    }
    assert_eq!(
        rpc.call("getstakinginfo", json!([])).await,
        json!({ "enabled": false }),
        "no staking on qbtc"
    );
    assert!(
        rpc.call("estimatesmartfee", json!([6])).await["feerate"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    let cb = blk["tx"][0]["txid"].as_str().unwrap().to_string();
    let raw = rpc.call("getrawtransaction", json!([cb, true])).await;
    assert_eq!(raw["confirmations"], 1);
    node.stop();
    assert!(
        !d.join("qbtc").join(".cookie").exists(),
        "the cookie is removed at shutdown"
    );
}
