//! `luminex bench`: the load generator. Against running nodes of a chain
//! with development keys (`dev`, `poa`, or a `luminex chain testnet` spec)
//! it funds many fresh keys from a development key (two fan-out rounds),
//! signs N one-input, two-output transfers in advance, submits them over
//! the REST API from C concurrent clients (spread round-robin over the
//! nodes given, as fast as they go or at an offered rate), and reports
//! accepted tx/s (all responses back), then the rate at which they reached
//! a block and each transaction's latency from submission to its block.
//!
//! On a BFT chain a block connects only once its commit certificate holds,
//! so reaching a block is finality: the report says "finalized". On other
//! chains it says "confirmed" (in a block, not yet final).
//!
//! Block times come from polling the first node's tip every
//! [`WATCH_EVERY`] and reading the txids of each new block, so a latency
//! includes up to one poll interval and one request of observation delay.

mod conn;
mod stats;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use luminex_crypto::SigningKey;
use luminex_ledger::spec::ConsensusKind;
use luminex_ledger::ChainSpec;
use luminex_primitives::{
    Amount, Encode, Hash, OutPoint, SchemeId, Transaction, TxKind, TxOut, Witness,
};
use parking_lot::Mutex;
use rand::RngCore;
use rayon::prelude::*;

pub use conn::{Conn, ConnError};
use luminex_api::types::{
    BatchBroadcastResponse, BlockJson, BroadcastResponse, NodeStatusJson, TxJson, UtxosJson,
};
pub use stats::{per_second, Latencies, PercentileError};

/// Options of `luminex bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Node API URL. Repeat (or separate with commas) to spread the
    /// submissions over several nodes of one chain; blocks are watched on
    /// the first.
    #[arg(
        long = "node",
        env = "LUMINEX_NODE",
        value_delimiter = ',',
        default_value = "http://127.0.0.1:8645"
    )]
    pub nodes: Vec<String>,
    /// Chain preset or chain spec file (a testnet's `spec.toml`); by
    /// default the preset the node names. Its genesis must be the node's.
    #[arg(long)]
    pub chain: Option<String>,
    /// Transactions to submit.
    #[arg(long, default_value_t = 20_000)]
    pub txs: usize,
    /// Concurrent clients, spread round-robin over the nodes; at most 63
    /// per node (`MAX_CLIENTS_PER_NODE`).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Development key that pays for everything (the chain's genesis
    /// allocations must fund it, as `dev`'s, `poa`'s and testnets' do).
    #[arg(long, default_value_t = 3)]
    pub funder: u32,
    /// Number of fresh keys the transfers come from.
    #[arg(long, default_value_t = 64)]
    pub keys: usize,
    /// Signature scheme of the fresh keys (default: the chain's).
    #[arg(long)]
    pub scheme: Option<SchemeId>,
    /// Offered load in tx/s: transaction i is submitted no earlier than
    /// i / rate seconds after the start (default: as fast as the clients
    /// go, which measures capacity; a rate below it measures latency).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Transactions per request: 1 sends each to `POST
    /// /transactions/broadcast`, more send them together to `POST
    /// /transactions/broadcast/batch` (at most 1,000, and at most 4 MiB of
    /// transactions per request).
    #[arg(long, default_value_t = 1)]
    pub batch: usize,
}

/// Submitting clients per node at most: the REST API admits 64 connections
/// from one address by default, and the block watcher holds one more to the
/// first node. Each client holds exactly one connection ([`Conn`]).
pub const MAX_CLIENTS_PER_NODE: usize = 63;

/// How often the first node's tip is polled for new blocks.
pub const WATCH_EVERY: Duration = Duration::from_millis(20);
/// The run gives up when no submitted transaction reaches a block for this
/// long: generous, because on a loaded machine one BFT height with a large
/// block has taken 45 s (rounds failing while its proposal crawls through
/// gossip), and a run that gives up measures nothing.
const STALL: Duration = Duration::from_secs(300);
/// While waiting, a line on standard error this often when no submitted
/// transaction has reached a block meanwhile.
const STALL_NOTE: Duration = Duration::from_secs(10);

/// Per-coin amount of the load's coins.
const EACH: u64 = 1_000_000;
/// Most outputs per fan-out transaction.
const FAN: usize = 5_000;

/// A signed transaction from `coin` paying `outputs`, change back to `key`.
fn pay_many(
    spec: &ChainSpec,
    key: &SigningKey,
    coin: (OutPoint, TxOut),
    mut outputs: Vec<TxOut>,
) -> anyhow::Result<Transaction> {
    let scheme = key.public_key().scheme;
    let mut tx = Transaction {
        version: 1,
        chain_id: spec.chain_id,
        kind: TxKind::Transfer,
        inputs: vec![coin.0],
        outputs: outputs.clone(),
        expiry_height: 0,
        witnesses: vec![Witness::placeholder(scheme)],
        data: Vec::new(),
    };
    tx.outputs.push(coin.1);
    let fee = spec.min_fee(tx.encoded_len());
    let paid: u64 = outputs.iter().map(|o| o.amount.base()).sum();
    let change = coin
        .1
        .amount
        .base()
        .checked_sub(paid + fee)
        .context("coin too small for the load")?;
    if change > 0 {
        outputs.push(TxOut {
            amount: Amount::from_base(change).context("amount")?,
            lock: coin.1.lock,
        });
    }
    tx.outputs = outputs;
    let msg = tx
        .signature_message(&spec.genesis_hash(), &[coin.1])
        .context("one input")?;
    tx.witnesses = vec![Witness::Key {
        public_key: key.public_key().clone(),
        signature: key.sign(&msg),
    }];
    Ok(tx)
}

async fn wait_confirmed(client: &mut Conn, txid: &str, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        match client.get::<TxJson>(&format!("/transactions/{txid}")).await {
            Ok(t) if t.status == "confirmed" => return Ok(()),
            Ok(_) | Err(ConnError::Problem(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if start.elapsed() > limit {
            bail!("transaction {txid} not confirmed after {limit:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn outputs_of(tx: &Transaction, key: &SigningKey) -> Vec<(OutPoint, TxOut)> {
    let txid = tx.txid();
    let lock = key.public_key().lock();
    tx.outputs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.lock == lock)
        .map(|(i, o)| {
            (
                OutPoint {
                    txid,
                    vout: i as u32,
                },
                *o,
            )
        })
        .collect()
}

/// What the block watcher has seen.
#[derive(Default)]
struct Seen {
    /// Each transaction of a new block → when that block was first seen.
    at: HashMap<Hash, Instant>,
    /// Each new block's transaction count.
    blocks: Vec<usize>,
    /// The last request that failed (the watcher tries again).
    error: Option<String>,
}

/// Polls `client`'s tip (its finalized height on a BFT chain) every
/// [`WATCH_EVERY`] until `stop`, from the block after `from`, and records
/// when each new block's transactions were first seen.
async fn watch_blocks(
    mut client: Conn,
    bft: bool,
    from: u64,
    seen: Arc<Mutex<Seen>>,
    stop: Arc<AtomicBool>,
) {
    let mut next = from + 1;
    let mut tick = tokio::time::interval(WATCH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        let top = match client.get::<NodeStatusJson>("/health/node-status").await {
            Ok(s) if bft => s.finalized_height,
            Ok(s) => s.height,
            Err(e) => {
                seen.lock().error = Some(e.to_string());
                continue;
            }
        };
        let now = Instant::now();
        while next <= top {
            let b: BlockJson = match client.get(&format!("/blocks/{next}")).await {
                Ok(b) => b,
                Err(e) => {
                    seen.lock().error = Some(e.to_string());
                    break;
                }
            };
            let mut g = seen.lock();
            for t in b.txids.iter().filter_map(|t| t.parse::<Hash>().ok()) {
                g.at.entry(t).or_insert(now);
            }
            g.blocks.push(b.tx_count);
            next += 1;
        }
    }
}

/// One submission the node accepted: which transaction, and when it was sent.
struct Submitted {
    index: usize,
    sent: Instant,
}

/// Runs the load generator.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.txs == 0 || args.concurrency == 0 || args.keys == 0 || args.nodes.is_empty() {
        bail!("--txs, --concurrency, --keys and --node must be given and positive");
    }
    if !(1..=luminex_api::submit::MAX_BATCH_TXS).contains(&args.batch) {
        bail!(
            "--batch must be 1 to {} transactions",
            luminex_api::submit::MAX_BATCH_TXS
        );
    }
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0) {
            bail!("--rate must be a positive number of transactions per second");
        }
    }
    // One connection per node for the setup; the first node's then serves
    // the block watcher.
    let mut clients = args
        .nodes
        .iter()
        .map(|u| Conn::new(u))
        .collect::<Result<Vec<_>, _>>()?;
    let status: NodeStatusJson = clients[0].get("/health/node-status").await?;
    for (c, url) in clients.iter_mut().zip(&args.nodes).skip(1) {
        let s: NodeStatusJson = c.get("/health/node-status").await?;
        if s.genesis != status.genesis {
            bail!("{url} runs another chain than {}", args.nodes[0]);
        }
    }
    let spec = match &args.chain {
        Some(chain) => crate::config::load_spec(chain, true)?,
        None => ChainSpec::preset(&status.chain).with_context(|| {
            format!(
                "the node runs {:?}, not a preset: pass its spec with --chain FILE",
                status.chain
            )
        })?,
    };
    if spec.genesis_hash().to_string() != status.genesis {
        bail!(
            "the node's genesis is not the genesis of chain {:?}: pass the node's spec with --chain",
            spec.name
        );
    }
    let bft = spec.consensus == ConsensusKind::Bft;
    let funder = spec
        .dev_key(args.funder)
        .context("the funder must be a dev key of the chain")?;
    let scheme = args.scheme.unwrap_or(spec.default_scheme);
    let fresh = |n: usize| -> Vec<SigningKey> {
        (0..n)
            .map(|_| {
                let mut seed = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut seed);
                SigningKey::from_seed(scheme, &seed)
            })
            .collect()
    };
    let loaders = fresh(args.keys);
    let rounds = args.txs.div_ceil(FAN);
    let distributors = fresh(rounds);

    // Round 1: funder → one output per distributor.
    let addr = spec.address(funder.public_key().lock()).to_string();
    let u: UtxosJson = clients[0].get(&format!("/address/{addr}/utxos")).await?;
    let best = u
        .utxos
        .iter()
        .filter(|x| x.spendable)
        .max_by_key(|x| x.amount)
        .context("the funder has no spendable coins")?;
    let coin = (
        OutPoint {
            txid: best.txid.parse().map_err(|_| anyhow::anyhow!("bad txid"))?,
            vout: best.vout,
        },
        TxOut {
            amount: Amount::from_base(best.amount).context("amount")?,
            lock: funder.public_key().lock(),
        },
    );
    let per_dist = (EACH + 100_000) * FAN as u64 + 100_000_000;
    let outs = distributors
        .iter()
        .map(|k| TxOut {
            amount: Amount::from_base(per_dist).expect("in range"),
            lock: k.public_key().lock(),
        })
        .collect();
    let t1 = pay_many(&spec, &funder, coin, outs)?;
    let r: BroadcastResponse = clients[0]
        .post_bytes("/transactions/broadcast", t1.encode())
        .await?;
    eprintln!("funding {} distributor keys ({})", rounds, r.txid);
    // The fan-outs spend it: confirmed first, so that more of them than
    // the mempool's descendant limit (25) may follow.
    wait_confirmed(&mut clients[0], &r.txid, Duration::from_secs(120)).await?;

    // Round 2: each distributor → up to FAN coins for the loaders.
    let mut fan_txs = Vec::new();
    let mut next = 0usize;
    let mut left = args.txs;
    for (i, d) in distributors.iter().enumerate() {
        let m = left.min(FAN);
        left -= m;
        let outs: Vec<TxOut> = (0..m)
            .map(|_| {
                next += 1;
                TxOut {
                    amount: Amount::from_base(EACH).expect("in range"),
                    lock: loaders[next % loaders.len()].public_key().lock(),
                }
            })
            .collect();
        let coin = (
            OutPoint {
                txid: t1.txid(),
                vout: i as u32,
            },
            t1.outputs[i],
        );
        fan_txs.push(pay_many(&spec, d, coin, outs)?);
    }
    for t in &fan_txs {
        let _: BroadcastResponse = clients[0]
            .post_bytes("/transactions/broadcast", t.encode())
            .await?;
    }
    let last_fan = fan_txs
        .last()
        .map(|t| t.txid().to_string())
        .unwrap_or_default();
    for c in &mut clients {
        // Every node must know the coins before transfers spend them.
        wait_confirmed(c, &last_fan, Duration::from_secs(120)).await?;
    }
    eprintln!(
        "funded {} coins over {} keys; signing {} transfers",
        args.txs,
        loaders.len(),
        args.txs
    );

    // Sign every transfer in advance, on all cores.
    let jobs: Vec<(usize, (OutPoint, TxOut))> = loaders
        .iter()
        .enumerate()
        .flat_map(|(i, k)| {
            fan_txs
                .iter()
                .flat_map(move |t| outputs_of(t, k))
                .map(move |c| (i, c))
        })
        .collect();
    let spec2 = spec.clone();
    let loaders2 = loaders.clone();
    let signed: Vec<(Hash, Vec<u8>)> = tokio::task::spawn_blocking(move || {
        jobs.par_iter()
            .map(|(i, coin)| {
                let to = loaders2[(i + 1) % loaders2.len()].public_key().lock();
                let half = TxOut {
                    amount: Amount::from_base(EACH / 2).expect("in range"),
                    lock: to,
                };
                pay_many(&spec2, &loaders2[*i], *coin, vec![half]).map(|t| (t.txid(), t.encode()))
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })
    .await??;
    let n = signed.len();
    let bytes: usize = signed.iter().map(|(_, b)| b.len()).sum();
    let largest = signed.iter().map(|(_, b)| b.len()).max().unwrap_or(0);
    if args.batch > 1 && largest * args.batch > luminex_api::MAX_BODY_BYTES {
        bail!(
            "--batch {} of transfers of up to {largest} bytes exceeds the node's {} byte request limit",
            args.batch,
            luminex_api::MAX_BODY_BYTES
        );
    }

    // Timed: watch for blocks, submit everything from C clients spread
    // over the nodes, wait until every accepted transaction is in a block.
    let from: NodeStatusJson = clients[0].get("/health/node-status").await?;
    let from = if bft {
        from.finalized_height
    } else {
        from.height
    };
    let seen = Arc::new(Mutex::new(Seen::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let nodes = clients.len();
    // The other nodes' setup connections close here: only the watcher's
    // and the submitters' stay open.
    let watch_conn = clients.swap_remove(0);
    drop(clients);
    let watcher = tokio::spawn(watch_blocks(
        watch_conn,
        bft,
        from,
        seen.clone(),
        stop.clone(),
    ));
    let signed = Arc::new(signed);
    let cursor = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    let submitters = args.concurrency.min(MAX_CLIENTS_PER_NODE * nodes);
    for k in 0..submitters {
        let (signed, cursor, mut client) = (
            signed.clone(),
            cursor.clone(),
            Conn::new(&args.nodes[k % nodes])?,
        );
        let (rate, batch) = (args.rate, args.batch);
        tasks.push(tokio::spawn(async move {
            let mut first_error = None;
            let mut accepted = Vec::new();
            loop {
                let i = cursor.fetch_add(batch, Ordering::Relaxed);
                if i >= signed.len() {
                    break;
                }
                let end = (i + batch).min(signed.len());
                if let Some(rate) = rate {
                    let due = start + Duration::from_secs_f64(i as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                let sent = Instant::now();
                if batch == 1 {
                    match client
                        .post_bytes::<BroadcastResponse>(
                            "/transactions/broadcast",
                            signed[i].1.clone(),
                        )
                        .await
                    {
                        Ok(_) => accepted.push(Submitted { index: i, sent }),
                        Err(e) => {
                            first_error.get_or_insert(e.to_string());
                        }
                    }
                    continue;
                }
                let body: Vec<u8> = signed[i..end]
                    .iter()
                    .flat_map(|(_, b)| b.iter().copied())
                    .collect();
                match client
                    .post_bytes::<BatchBroadcastResponse>("/transactions/broadcast/batch", body)
                    .await
                {
                    Ok(r) if r.results.len() == end - i => {
                        for (k, result) in r.results.into_iter().enumerate() {
                            match (result.txid, result.error) {
                                (Some(_), _) => accepted.push(Submitted { index: i + k, sent }),
                                (None, Some(p)) => {
                                    first_error.get_or_insert(format!(
                                        "{} ({}, HTTP {})",
                                        p.detail, p.code, p.status
                                    ));
                                }
                                (None, None) => {
                                    first_error.get_or_insert(
                                        "a result with neither txid nor error".into(),
                                    );
                                }
                            }
                        }
                    }
                    Ok(r) => {
                        first_error.get_or_insert(format!(
                            "{} results for a batch of {}",
                            r.results.len(),
                            end - i
                        ));
                    }
                    Err(e) => {
                        first_error.get_or_insert(e.to_string());
                    }
                }
            }
            (accepted, first_error)
        }));
    }
    let mut accepted = Vec::new();
    let mut errors = Vec::new();
    for t in tasks {
        let (a, e) = t.await?;
        accepted.extend(a);
        errors.extend(e);
    }
    let accept_time = start.elapsed();

    // Wait until every accepted transaction is in a block, or until none
    // has arrived for STALL.
    let mut in_blocks = 0;
    let mut last_progress = Instant::now();
    let mut last_note = Instant::now();
    while in_blocks < accepted.len() {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now_in = {
            let g = seen.lock();
            accepted
                .iter()
                .filter(|s| g.at.contains_key(&signed[s.index].0))
                .count()
        };
        if now_in > in_blocks {
            in_blocks = now_in;
            last_progress = Instant::now();
        } else if last_progress.elapsed() > STALL {
            eprintln!(
                "no submitted transaction reached a block for {} s: {} of {} never did (last watcher error: {})",
                STALL.as_secs(),
                accepted.len() - in_blocks,
                accepted.len(),
                seen.lock().error.as_deref().unwrap_or("none")
            );
            break;
        } else if last_progress.elapsed() >= STALL_NOTE && last_note.elapsed() >= STALL_NOTE {
            // Say why nothing is printed (a node restarted meanwhile loses
            // its unconfirmed transactions: those never arrive).
            last_note = Instant::now();
            eprintln!(
                "waiting: {in_blocks} of {} accepted transactions are in blocks, none new for {} s (giving up after {} s; last watcher error: {})",
                accepted.len(),
                last_progress.elapsed().as_secs(),
                STALL.as_secs(),
                seen.lock().error.as_deref().unwrap_or("none")
            );
        }
    }
    stop.store(true, Ordering::Relaxed);
    watcher.await?;

    let seen = std::mem::take(&mut *seen.lock());
    let latencies = Latencies::new(
        accepted
            .iter()
            .filter_map(|s| {
                let at = seen.at.get(&signed[s.index].0)?;
                Some(at.saturating_duration_since(s.sent))
            })
            .collect(),
    );
    let first_sent = accepted.iter().map(|s| s.sent).min().unwrap_or(start);
    let last_in = accepted
        .iter()
        .filter_map(|s| seen.at.get(&signed[s.index].0).copied())
        .max()
        .unwrap_or(first_sent);
    let window = last_in.saturating_duration_since(first_sent);

    let what = if bft { "finalized" } else { "confirmed" };
    let rate = |count: usize, d: Duration| per_second(count, d).unwrap_or(0.0);
    println!(
        "transactions:   {n} ({} MB, {} bytes each)",
        bytes / 1_000_000,
        bytes / n.max(1)
    );
    println!(
        "load:           {} client(s) over {} node(s), {} per request, offered {}",
        submitters,
        nodes,
        match args.batch {
            1 => "one transaction".to_string(),
            b => format!("batches of {b}"),
        },
        match args.rate {
            Some(r) => format!("{r:.0} tx/s"),
            None => "as fast as accepted".into(),
        }
    );
    println!(
        "accepted:       {} in {:.2} s = {:.0} tx/s",
        accepted.len(),
        accept_time.as_secs_f64(),
        rate(accepted.len(), accept_time)
    );
    println!(
        "{what}:{:pad$}{} in {:.2} s = {:.0} tx/s (first submission to last block)",
        "",
        latencies.len(),
        window.as_secs_f64(),
        rate(latencies.len(), window),
        pad = 15 - what.len(),
    );
    if let (Ok(p50), Ok(p99), Some(max)) = (
        latencies.percentile(50.0),
        latencies.percentile(99.0),
        latencies.max(),
    ) {
        println!(
            "latency:        p50 {} ms, p99 {} ms, max {} ms (submission to {what} block)",
            p50.as_millis(),
            p99.as_millis(),
            max.as_millis()
        );
    }
    println!(
        "blocks:         {} new during the run, largest {} txs",
        seen.blocks.len(),
        seen.blocks.iter().max().copied().unwrap_or(0)
    );
    if !errors.is_empty() {
        println!(
            "rejected:       {} (first: {})",
            n - accepted.len(),
            errors[0]
        );
    }
    if latencies.len() < accepted.len() {
        bail!(
            "{} accepted transactions never reached a block",
            accepted.len() - latencies.len()
        );
    }
    Ok(())
}
