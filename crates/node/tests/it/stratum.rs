//! Mining `qbtc` over Stratum v1 with a client written here from the public
//! protocol description (slush pool's Stratum mining protocol: newline-framed
//! JSON-RPC, `mining.subscribe` / `authorize` / `notify` / `set_difficulty`
//! / `submit`), not from the node's code: the coinbase is
//! `coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2`, hashed with SHA-256d and
//! folded with the Merkle branch by SHA-256d; the header is version, the
//! previous hash (Stratum sends it with each 32-bit word byte-swapped), the
//! root, ntime, nbits, nonce; a share's hash, read as a little-endian
//! number, must not exceed `0xffff·2^208 / difficulty`.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::support::{free_port, NodeProcess};

fn dsha(data: &[u8]) -> [u8; 32] {
    Sha256::digest(Sha256::digest(data)).into()
}

/// A 256-bit little-endian number as four u64 limbs, most significant
/// first, for comparisons.
fn le_value(h: &[u8; 32]) -> [u64; 4] {
    let limb = |i: usize| u64::from_le_bytes(h[i * 8..i * 8 + 8].try_into().unwrap());
    [limb(3), limb(2), limb(1), limb(0)]
}

/// `0xffff·2^208 / difficulty` as limbs, most significant first, a hair
/// below the exact value so float rounding never makes this client accept
/// what the server refuses.
fn share_target(difficulty: f64) -> [u64; 4] {
    let t = 65535.0 / difficulty * 2f64.powi(208) * (1.0 - 1e-9);
    let e = t.log2().floor() as i32; // 2^e <= t < 2^(e+1)
    let mantissa = (t / 2f64.powi(e - 52)) as u64; // 53 bits
    let shift = e - 52;
    assert!(
        (0..=200).contains(&shift),
        "difficulty out of this test's range"
    );
    let (limb, bit) = ((shift / 64) as usize, shift % 64);
    let mut limbs = [0u64; 4];
    limbs[3 - limb] = mantissa << bit;
    if bit > 11 && limb < 3 {
        limbs[3 - limb - 1] = mantissa >> (64 - bit);
    }
    limbs
}

/// Bitcoin's compact target as limbs, most significant first.
fn compact_target(bits: u32) -> [u64; 4] {
    let (size, mantissa) = (bits >> 24, u64::from(bits & 0x007f_ffff));
    let shift = 8 * (size as i32 - 3);
    let mut limbs = [0u64; 4];
    let (limb, bit) = ((shift / 64) as usize, shift % 64);
    limbs[3 - limb] = mantissa << bit;
    if bit > 40 && limb < 3 {
        limbs[3 - limb - 1] = mantissa >> (64 - bit);
    }
    limbs
}

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    pending: VecDeque<Value>,
    next_id: u64,
    difficulty: f64,
}

impl Client {
    fn connect(port: u16) -> Client {
        let deadline = Instant::now() + Duration::from_secs(30);
        let stream = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) => {
                    assert!(Instant::now() < deadline, "stratum port: {e}");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            writer: stream,
            pending: VecDeque::new(),
            next_id: 1,
            difficulty: 1.0,
        }
    }

    fn send_raw(&mut self, line: &str) {
        self.writer.write_all(line.as_bytes()).unwrap();
        self.writer.write_all(b"\n").unwrap();
    }

    fn read(&mut self) -> Value {
        let mut line = String::new();
        let n = self.reader.read_line(&mut line).unwrap();
        assert!(n > 0, "the server closed the connection");
        serde_json::from_str(&line).unwrap()
    }

    /// Sends a request and returns its response; notifications that
    /// arrive meanwhile are kept.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send_raw(&json!({"id": id, "method": method, "params": params}).to_string());
        loop {
            let v = self.read();
            if v["id"] == id {
                return v;
            }
            assert!(v["method"].is_string(), "unexpected message {v}");
            self.pending.push_back(v);
        }
    }

    /// The next job, with the difficulty the server set before it.
    fn next_job(&mut self) -> (Work, f64) {
        loop {
            let v = match self.pending.pop_front() {
                Some(v) => v,
                None => self.read(),
            };
            match v["method"].as_str() {
                Some("mining.set_difficulty") => {
                    self.difficulty = v["params"][0].as_f64().unwrap();
                }
                Some("mining.notify") => return (Work::from_notify(&v["params"]), self.difficulty),
                _ => panic!("unexpected message {v}"),
            }
        }
    }
}

/// A `mining.notify` job with the connection's extranonce1.
#[derive(Clone)]
struct Work {
    job_id: String,
    header_prefix: Vec<u8>, // version ‖ prev hash
    coinb1: Vec<u8>,
    coinb2: Vec<u8>,
    branch: Vec<[u8; 32]>,
    ntime: u32,
    bits: u32,
    clean: bool,
}

impl Work {
    fn from_notify(p: &Value) -> Work {
        let h = |i: usize| hex::decode(p[i].as_str().unwrap()).unwrap();
        let word = |i: usize| u32::from_str_radix(p[i].as_str().unwrap(), 16).unwrap();
        let mut prev = h(1);
        for w in prev.chunks_mut(4) {
            w.reverse();
        }
        let mut header_prefix = word(5).to_le_bytes().to_vec();
        header_prefix.extend(prev);
        Work {
            job_id: p[0].as_str().unwrap().to_string(),
            header_prefix,
            coinb1: h(2),
            coinb2: h(3),
            branch: p[4]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| {
                    hex::decode(b.as_str().unwrap())
                        .unwrap()
                        .try_into()
                        .unwrap()
                })
                .collect(),
            bits: word(6),
            ntime: word(7),
            clean: p[8].as_bool().unwrap(),
        }
    }

    fn header(&self, en1: &[u8], en2: &[u8; 4], nonce: u32) -> [u8; 80] {
        let coinbase = [&self.coinb1[..], en1, en2, &self.coinb2[..]].concat();
        let mut root = dsha(&coinbase);
        for b in &self.branch {
            root = dsha(&[root, *b].concat());
        }
        let mut h = [0u8; 80];
        h[..36].copy_from_slice(&self.header_prefix);
        h[36..68].copy_from_slice(&root);
        h[68..72].copy_from_slice(&self.ntime.to_le_bytes());
        h[72..76].copy_from_slice(&self.bits.to_le_bytes());
        h[76..].copy_from_slice(&nonce.to_le_bytes());
        h
    }

    fn submit_params(&self, worker: &str, en2: &[u8; 4], nonce: u32) -> Value {
        json!([
            worker,
            self.job_id,
            hex::encode(en2),
            format!("{:08x}", self.ntime),
            format!("{nonce:08x}"),
        ])
    }
}

/// A solved share: its extranonce2, nonce and whether it is a block.
#[derive(Clone, Copy, Debug)]
struct Found {
    en2: [u8; 4],
    nonce: u32,
    block: bool,
}

/// Grinds nonces from `start` until a share meets `target`.
fn grind(work: &Work, en1: &[u8], en2: [u8; 4], start: u32, target: [u64; 4]) -> Found {
    let block_target = compact_target(work.bits);
    let mut nonce = start;
    loop {
        let hash = dsha(&work.header(en1, &en2, nonce));
        let v = le_value(&hash);
        if v <= target {
            return Found {
                en2,
                nonce,
                block: v <= block_target,
            };
        }
        nonce = nonce.wrapping_add(1);
        assert_ne!(nonce, start, "nonce space exhausted");
    }
}

fn rpc(port: u16, dir: &Path, method: &str, params: Value) -> Value {
    let cookie = std::fs::read_to_string(dir.join("qbtc").join(".cookie")).unwrap();
    let (u, p) = cookie.split_once(':').unwrap();
    let out = std::process::Command::new("curl")
        .args(["-s", "-u", &format!("{u}:{p}"), "-d"])
        .arg(json!({"jsonrpc": "1.0", "id": 1, "method": method, "params": params}).to_string())
        .arg(format!("http://127.0.0.1:{}/", port + 1))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["error"].is_null(), "{method}: {v}");
    v["result"].clone()
}

fn rest(port: u16, path: &str) -> String {
    let out = std::process::Command::new("curl")
        .args(["-s", &format!("http://127.0.0.1:{port}{path}")])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_stratum_client_mines_blocks_and_bad_shares_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let stratum_port = free_port();
    let miner = {
        let k =
            luminex_crypto::SigningKey::from_seed(luminex_primitives::SchemeId::MlDsa87, &[9; 32]);
        luminex_ledger::ChainSpec::preset("qbtc")
            .unwrap()
            .address(k.public_key().lock())
            .to_string()
    };
    // qbtc with coinbase maturity 1, so the genesis coins can be spent.
    let spec = {
        let mut spec = luminex_ledger::ChainSpec::preset("qbtc").unwrap();
        spec.coinbase_maturity = 1;
        let p = d.join("qbtc-test.toml");
        std::fs::write(&p, toml::to_string(&spec).unwrap()).unwrap();
        p.to_str().unwrap().to_string()
    };
    let node = NodeProcess::start_chain(
        d,
        &spec,
        port,
        &[
            "--miner-address",
            &miner,
            "--stratum-addr",
            &format!("127.0.0.1:{stratum_port}"),
        ],
    );
    let mut c = Client::connect(stratum_port);

    // Subscribe: [[subscriptions], extranonce1, extranonce2 size].
    let r = c.call("mining.subscribe", json!(["test-miner/1.0"]));
    let en1 = hex::decode(r["result"][1].as_str().unwrap()).unwrap();
    assert_eq!(r["result"][2], 4, "{r}");
    // A difficulty of 2^-20 (about 4,096 hashes a share; the chain's
    // blocks take about 65,536).
    let difficulty = 1.0 / 1_048_576.0;
    assert_eq!(
        c.call("mining.suggest_difficulty", json!([difficulty]))["result"],
        true
    );
    // Submitting before authorizing is refused.
    let r = c.call(
        "mining.submit",
        json!(["alice", "1", "00000000", "00000000", "00000000"]),
    );
    assert_eq!(r["error"][0], 24, "{r}");
    // The worker name without an address: the node's --miner-address is paid.
    assert_eq!(
        c.call("mining.authorize", json!(["alice", "x"]))["result"],
        true
    );
    let (work, d0) = c.next_job();
    assert_eq!(d0, difficulty);
    assert!(work.clean);
    let target = share_target(d0);

    // A malformed line gets an error, and the connection stays usable.
    c.send_raw("this is not json");
    let e = c.read();
    assert!(e["id"].is_null() && e["error"][0].is_i64(), "{e}");

    // A share below the difficulty.
    let mut low = 0u32;
    while le_value(&dsha(&work.header(&en1, &[0; 4], low))) <= target {
        low += 1;
    }
    let r = c.call("mining.submit", work.submit_params("alice", &[0; 4], low));
    assert_eq!(r["error"][0], 23, "low difficulty: {r}");

    // A payment waits in the mempool: it is not in this job, so it goes
    // into the block after the next one's template is built.
    rpc(
        port,
        d,
        "sendrawtransaction",
        json!([hex::encode(luminex_primitives::Encode::encode(
            &genesis_spend(&spec)
        ))]),
    );

    // Shares until a block: the first block solution is kept back (it
    // goes stale); the first plain share is sent twice (the copy is a
    // duplicate); the next block solution is submitted.
    let mut kept: Option<Found> = None;
    let mut duplicate_checked = false;
    let mut accepted = 0;
    let mut en2 = [0u8; 4];
    let mut nonce = 0u32;
    let block_share = loop {
        let f = grind(&work, &en1, en2, nonce, target);
        nonce = f.nonce.wrapping_add(1);
        if nonce == 0 {
            en2[0] += 1;
        }
        if f.block && kept.is_none() {
            kept = Some(f);
            continue;
        }
        if f.block && !duplicate_checked {
            continue; // a plain share first
        }
        let r = c.call(
            "mining.submit",
            work.submit_params("alice", &f.en2, f.nonce),
        );
        assert_eq!(r["result"], true, "share accepted: {r}");
        accepted += 1;
        if f.block {
            break f;
        }
        if !duplicate_checked {
            let r = c.call(
                "mining.submit",
                work.submit_params("alice", &f.en2, f.nonce),
            );
            assert_eq!(r["error"][0], 22, "duplicate: {r}");
            duplicate_checked = true;
        }
    };

    // The block is on the chain: a clean job follows, and the kept block
    // solution of the old job is stale.
    let next = loop {
        let (w, _) = c.next_job();
        if w.clean {
            break w;
        }
    };
    assert_ne!(next.header_prefix, work.header_prefix);
    assert_eq!(rpc(port, d, "getblockcount", json!([])), 1);
    let kept = kept.unwrap();
    let r = c.call(
        "mining.submit",
        work.submit_params("alice", &kept.en2, kept.nonce),
    );
    assert_eq!(r["error"][0], 21, "stale: {r}");

    // The block's coinbase is this connection's, with its extranonces; the
    // block had no fees and the chain no subsidy, so it pays nothing.
    let hash = rpc(port, d, "getblockhash", json!([1]));
    let raw = hex::decode(rpc(port, d, "getblock", json!([hash, 0])).as_str().unwrap()).unwrap();
    let coinbase = [&work.coinb1[..], &en1, &block_share.en2, &work.coinb2[..]].concat();
    assert_eq!(&raw[81..81 + coinbase.len()], &coinbase[..]);

    // A second miner names its payout address in its worker name and
    // mines the next block, which carries the payment: its fee is paid to
    // that address.
    let payee = luminex_ledger::ChainSpec::preset("qbtc")
        .unwrap()
        .address(
            luminex_crypto::SigningKey::from_seed(luminex_primitives::SchemeId::MlDsa87, &[8; 32])
                .public_key()
                .lock(),
        )
        .to_string();
    let rig2 = format!("{payee}.rig2");
    let mut c2 = Client::connect(stratum_port);
    let r = c2.call("mining.subscribe", json!([]));
    let en1b = hex::decode(r["result"][1].as_str().unwrap()).unwrap();
    assert_ne!(en1b, en1, "each connection has its own extranonce1");
    c2.call("mining.suggest_difficulty", json!([difficulty]));
    assert_eq!(
        c2.call("mining.authorize", json!([rig2, ""]))["result"],
        true
    );
    // One connection authorizes a few workers, not thousands: past 16 it
    // is refused (and the others keep mining).
    let mut c3 = Client::connect(stratum_port);
    c3.call("mining.subscribe", json!([]));
    for i in 0..16 {
        let name = format!("{payee}.w{i}");
        assert_eq!(
            c3.call("mining.authorize", json!([name, ""]))["result"],
            true
        );
    }
    let r = c3.call("mining.authorize", json!([format!("{payee}.w16"), ""]));
    let said = r["error"][1].as_str().unwrap_or_default();
    assert!(said.contains("too many workers on this connection"), "{r}");
    let (job2, d2) = c2.next_job();
    let mut nonce = 0;
    let mut accepted2 = 0;
    loop {
        let f = grind(&job2, &en1b, [0; 4], nonce, share_target(d2));
        nonce = f.nonce + 1;
        let r = c2.call("mining.submit", job2.submit_params(&rig2, &f.en2, f.nonce));
        assert_eq!(r["result"], true, "{r}");
        accepted2 += 1;
        if f.block {
            break;
        }
    }
    assert_eq!(rpc(port, d, "getblockcount", json!([])), 2);
    let hash = rpc(port, d, "getblockhash", json!([2]));
    let blk = rpc(port, d, "getblock", json!([hash, 2]));
    assert_eq!(blk["tx"].as_array().unwrap().len(), 2, "{blk}");
    assert_eq!(blk["tx"][0]["vout"][0]["scriptPubKey"]["address"], payee);
    // The first connection is still up.
    assert_eq!(
        c.call("mining.extranonce.subscribe", json!([]))["result"],
        true
    );

    // Accounting per worker: REST and metrics.
    let workers: Value = serde_json::from_str(&rest(port, "/mining/workers")).unwrap();
    let list = workers["workers"].as_array().unwrap();
    let alice = list.iter().find(|w| w["worker"] == "alice").unwrap();
    assert_eq!(alice["shares_accepted"], accepted, "{workers}");
    assert_eq!(alice["blocks_found"], 1);
    assert_eq!(alice["shares_rejected"]["low-difficulty"], 1);
    assert_eq!(alice["shares_rejected"]["duplicate"], 1);
    assert_eq!(alice["shares_rejected"]["stale"], 1);
    assert!(alice["hashrate"].as_f64().unwrap() > 0.0);
    assert_eq!(alice["connections"], 1);
    let second = list.iter().find(|w| w["worker"] == rig2.as_str()).unwrap();
    assert_eq!(second["shares_accepted"], accepted2);
    assert_eq!(second["blocks_found"], 1);
    let metrics = rest(port, "/metrics");
    assert!(
        metrics.contains("luminex_stratum_blocks_found_total{worker=\"alice\"} 1"),
        "{metrics}"
    );
    node.stop();
}

/// A signed payment from the genesis allocation (dev key 0) to itself.
fn genesis_spend(spec_path: &str) -> luminex_primitives::Transaction {
    use luminex_ledger::testkit::{lock_of, sign_all, transfer};
    let spec =
        luminex_ledger::ChainSpec::from_toml(&std::fs::read_to_string(spec_path).unwrap()).unwrap();
    let key = spec.dev_key(0).unwrap();
    let genesis = spec.genesis_block();
    let coin = (
        luminex_primitives::OutPoint {
            txid: genesis.txs[0].txid(),
            vout: 0,
        },
        luminex_ledger::Coin {
            output: genesis.txs[0].outputs[0],
            height: 0,
            is_coinbase: true,
        },
    );
    let mut tx = transfer(
        &spec,
        &key,
        &[coin],
        vec![luminex_primitives::TxOut {
            amount: luminex_primitives::Amount::from_base(1_000_000).unwrap(),
            lock: lock_of(&key),
        }],
    );
    sign_all(&spec, &mut tx, &key, &[coin.1.output]);
    tx
}
