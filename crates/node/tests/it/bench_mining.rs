//! Mining benchmarks (ignored by default; figures go to BENCHMARKS.md):
//!
//! cargo test --release -p luminex-node --test it bench_mining -- --ignored --nocapture --test-threads 1
//!
//! - the time to build a `qbtc` block template for a full 32 MiB block;
//! - the Stratum server's capacity: connections held, and shares validated
//!   per second over TCP (the clients run on the same two cores).

use luminex_ledger::testkit::PowFields;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use luminex_consensus::mining::grind;
use luminex_consensus::pow::target_from_compact;
use luminex_crypto::SigningKey;
use luminex_ledger::testkit::TestChain;
use luminex_ledger::ChainSpec;
use luminex_primitives::SchemeId;
use serde_json::{json, Value};

use crate::support::{free_port, memory_node_for, NodeProcess};

fn qbtc_for_bench() -> ChainSpec {
    let mut spec = ChainSpec::preset("qbtc").unwrap();
    spec.coinbase_maturity = 0;
    spec
}

#[test]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
fn bench_mining_template_for_a_full_block() {
    let spec = qbtc_for_bench();
    let node = memory_node_for(spec.clone());
    let mut chain = TestChain::new(spec.clone());
    // ~6,400 one-input, two-output ML-DSA-65 transfers: more than 32 MiB.
    let keys: Vec<SigningKey> = (0..50u8)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa65, &[i; 32]))
        .collect();
    let n = 6_400;
    let mut fan = chain.fan_out(0, &keys, n, 1_000_000);
    let target = target_from_compact(fan.header.pow().bits).unwrap();
    fan.header.pow_mut().nonce = grind(
        fan.header.pow(),
        target,
        0,
        u32::MAX,
        &AtomicBool::new(false),
    )
    .expect("the pow limit is easy");
    node.accept_block(&fan).unwrap();
    let txs = chain.spend_all(&keys);
    let t = Instant::now();
    for tx in txs {
        node.submit(tx).unwrap();
    }
    eprintln!("mempool filled in {:?}", t.elapsed());
    let mut times = Vec::new();
    let mut size = 0;
    let mut count = 0;
    for _ in 0..7 {
        let t = Instant::now();
        let (block, _) = node.block_template(node.reward_lock).unwrap();
        times.push(t.elapsed());
        size = luminex_primitives::Encode::encoded_len(&block);
        count = block.txs.len();
    }
    times.sort();
    eprintln!(
        "template: {count} transactions, {size} bytes; median {:?} (min {:?}, max {:?})",
        times[3], times[0], times[6]
    );
}

struct Conn {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let deadline = Instant::now() + Duration::from_secs(30);
        let s = loop {
            match TcpStream::connect(("127.0.0.1", port)) {
                Ok(s) => break s,
                Err(e) => {
                    assert!(Instant::now() < deadline, "{e}");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        };
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        Conn {
            reader: BufReader::new(s.try_clone().unwrap()),
            writer: s,
        }
    }

    fn send(&mut self, v: Value) {
        let mut b = v.to_string().into_bytes();
        b.push(b'\n');
        self.writer.write_all(&b).unwrap();
    }

    fn read(&mut self) -> Value {
        let mut l = String::new();
        assert!(self.reader.read_line(&mut l).unwrap() > 0, "closed");
        serde_json::from_str(&l).unwrap()
    }

    /// Subscribes and authorizes; returns extranonce1 and the first job.
    fn start(&mut self, worker: &str) -> (Vec<u8>, Value) {
        self.send(json!({"id": 1, "method": "mining.subscribe", "params": []}));
        let r = self.read();
        let en1 = hex::decode(r["result"][1].as_str().unwrap()).unwrap();
        self.send(json!({"id": 2, "method": "mining.authorize", "params": [worker, ""]}));
        loop {
            let v = self.read();
            if v["method"] == "mining.notify" {
                return (en1, v["params"].clone());
            }
        }
    }
}

#[test]
#[ignore = "benchmark: run with --release -- --ignored --nocapture"]
fn bench_mining_stratum_capacity() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Shares of difficulty 2^-32: nearly every hash is one, so the clients
    // spend little to make them and the server's validation is measured.
    std::fs::write(
        d.join("luminex.toml"),
        "stratum_min_difficulty = 2.3283064365386963e-10\n\
         stratum_initial_difficulty = 2.3283064365386963e-10\n\
         stratum_max_difficulty = 2.3283064365386963e-10\n",
    )
    .unwrap();
    let port = free_port();
    let sport = free_port();
    let miner = ChainSpec::preset("qbtc")
        .unwrap()
        .address(
            SigningKey::from_seed(SchemeId::MlDsa87, &[9; 32])
                .public_key()
                .lock(),
        )
        .to_string();
    let node = NodeProcess::start_chain(
        d,
        "qbtc",
        port,
        &[
            "--miner-address",
            &miner,
            "--stratum-addr",
            &format!("127.0.0.1:{sport}"),
        ],
    );
    // Held connections: subscribed, authorized, each given a job.
    let held = 1_000;
    let t = Instant::now();
    let mut idle: Vec<Conn> = (0..held)
        .map(|i| {
            let mut c = Conn::open(sport);
            c.start(&format!("idle{i}"));
            c
        })
        .collect();
    eprintln!(
        "{held} connections subscribed and authorized in {:?}",
        t.elapsed()
    );

    // Submitters: each pipelines shares of its newest job.
    let submitters = 4;
    let accepted = Arc::new(AtomicU64::new(0));
    let answered = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..submitters)
        .map(|i| {
            let (accepted, answered, stop) = (accepted.clone(), answered.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut c = Conn::open(sport);
                let worker = format!("bench{i}");
                let (_en1, job) = c.start(&worker);
                let job = Arc::new(parking_lot::Mutex::new(job));
                let Conn { mut reader, writer } = c;
                let reader_job = job.clone();
                // One token per answer: the writer blocks on it to keep at
                // most 256 requests in flight.
                let (answers_tx, answers) = std::sync::mpsc::channel::<()>();
                let r = std::thread::spawn(move || loop {
                    let mut l = String::new();
                    if reader.read_line(&mut l).unwrap_or(0) == 0 {
                        return;
                    }
                    let v: Value = serde_json::from_str(&l).unwrap();
                    if v["method"] == "mining.notify" {
                        *reader_job.lock() = v["params"].clone();
                    } else if v["id"].is_u64() {
                        answered.fetch_add(1, Ordering::Relaxed);
                        if v["result"] == true {
                            accepted.fetch_add(1, Ordering::Relaxed);
                        }
                        if answers_tx.send(()).is_err() {
                            return;
                        }
                    }
                });
                let mut w = std::io::BufWriter::new(writer);
                let (mut en2, mut nonce, mut in_flight) = (0u32, 0u32, 0u32);
                let mut id = 10u64;
                while !stop.load(Ordering::Relaxed) {
                    // At difficulty 2^-32 almost every nonce is a share
                    // (a block about once in 65,536): no grinding needed.
                    let p = job.lock().clone();
                    for _ in 0..64 {
                        nonce = nonce.wrapping_add(1);
                        if nonce == 0 {
                            en2 += 1;
                        }
                        let line = json!({"id": id, "method": "mining.submit", "params": [
                            worker, p[0], hex::encode(en2.to_be_bytes()), p[7], format!("{nonce:08x}")]});
                        id += 1;
                        if writeln!(w, "{line}").is_err() {
                            return;
                        }
                        in_flight += 1;
                    }
                    if w.flush().is_err() {
                        break;
                    }
                    while in_flight > 256 {
                        if answers.recv().is_err() {
                            break;
                        }
                        in_flight -= 1;
                    }
                }
                drop(w);
                let _ = r.join();
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(3));
    let (a0, n0, t0) = (
        accepted.load(Ordering::Relaxed),
        answered.load(Ordering::Relaxed),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(10));
    let (a1, n1, secs) = (
        accepted.load(Ordering::Relaxed),
        answered.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64(),
    );
    stop.store(true, Ordering::Relaxed);
    eprintln!(
        "shares answered {:.0}/s, accepted {:.0}/s, with {held} idle connections held",
        (n1 - n0) as f64 / secs,
        (a1 - a0) as f64 / secs
    );
    // The held connections are still up.
    for c in idle.iter_mut().take(10) {
        c.send(json!({"id": 99, "method": "mining.extranonce.subscribe", "params": []}));
    }
    node.stop();
    for t in threads {
        let _ = t.join();
    }
}
