//! `luminex bench`: the load generator. Against a running `dev` node it
//! funds many fresh keys from a development key (two fan-out rounds), signs
//! N one-input, two-output transfers in advance, submits them over the REST
//! API from C concurrent clients, and reports accepted tx/s (all responses
//! back) and confirmed tx/s (all in blocks).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use luminex_crypto::SigningKey;
use luminex_ledger::ChainSpec;
use luminex_primitives::{
    Amount, Encode, Hash, OutPoint, SchemeId, Transaction, TxKind, TxOut, Witness,
};
use rand::RngCore;
use rayon::prelude::*;

use crate::client::{Client, ClientError};
use luminex_api::types::{BroadcastResponse, NodeStatusJson, TxJson, UtxosJson};

/// Options of `luminex bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Node API URL.
    #[arg(long, env = "LUMINEX_NODE", default_value = "http://127.0.0.1:8645")]
    pub node: String,
    /// Transactions to submit.
    #[arg(long, default_value_t = 20_000)]
    pub txs: usize,
    /// Concurrent clients.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Development key that pays for everything.
    #[arg(long, default_value_t = 3)]
    pub funder: u32,
    /// Number of fresh keys the transfers come from.
    #[arg(long, default_value_t = 64)]
    pub keys: usize,
    /// Signature scheme of the fresh keys (default: the chain's).
    #[arg(long)]
    pub scheme: Option<SchemeId>,
}

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

async fn wait_confirmed(client: &Client, txid: &str, limit: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        match client.get::<TxJson>(&format!("/transactions/{txid}")).await {
            Ok(t) if t.status == "confirmed" => return Ok(()),
            Ok(_) | Err(ClientError::Problem(_)) => {}
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

/// Runs the load generator.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.txs == 0 || args.concurrency == 0 || args.keys == 0 {
        bail!("--txs, --concurrency and --keys must be positive");
    }
    let client = Client::new(&args.node);
    let status: NodeStatusJson = client.get("/health/node-status").await?;
    let spec =
        ChainSpec::preset(&status.chain).context("the load generator needs a preset chain")?;
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
    let u: UtxosJson = client.get(&format!("/address/{addr}/utxos")).await?;
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
    let r: BroadcastResponse = client
        .post_bytes("/transactions/broadcast", t1.encode())
        .await?;
    eprintln!("funding {} distributor keys ({})", rounds, r.txid);

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
        let _: BroadcastResponse = client
            .post_bytes("/transactions/broadcast", t.encode())
            .await?;
    }
    let last_fan = fan_txs
        .last()
        .map(|t| t.txid().to_string())
        .unwrap_or_default();
    wait_confirmed(&client, &last_fan, Duration::from_secs(120)).await?;
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

    // Timed: submit everything from C clients.
    let signed = Arc::new(signed);
    let cursor = Arc::new(AtomicUsize::new(0));
    let accepted = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (signed, cursor, accepted, client) = (
            signed.clone(),
            cursor.clone(),
            accepted.clone(),
            client.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut first_error = None;
            loop {
                let i = cursor.fetch_add(1, Ordering::Relaxed);
                let Some((_, tx)) = signed.get(i) else { break };
                match client
                    .post_bytes::<BroadcastResponse>("/transactions/broadcast", tx.clone())
                    .await
                {
                    Ok(_) => {
                        accepted.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => {
                        first_error.get_or_insert(e.to_string());
                    }
                }
            }
            first_error
        }));
    }
    let mut errors = Vec::new();
    for t in tasks {
        if let Some(e) = t.await? {
            errors.push(e);
        }
    }
    let accept_time = start.elapsed();
    let accepted = accepted.load(Ordering::Relaxed);
    if let Some((last, _)) = signed.iter().rev().find(|_| accepted > 0) {
        wait_confirmed(&client, &last.to_string(), Duration::from_secs(600)).await?;
    }
    // Every accepted transaction is confirmed once the mempool has drained.
    loop {
        let s: NodeStatusJson = client.get("/health/node-status").await?;
        if s.mempool_txs == 0 {
            break;
        }
        if start.elapsed() > Duration::from_secs(600) {
            bail!("mempool did not drain");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let confirm_time = start.elapsed();
    let accepted_tps = accepted as f64 / accept_time.as_secs_f64();
    let confirmed_tps = accepted as f64 / confirm_time.as_secs_f64();
    println!(
        "transactions:   {n} ({} MB, {} bytes each)",
        bytes / 1_000_000,
        bytes / n.max(1)
    );
    println!("concurrency:    {}", args.concurrency);
    println!(
        "accepted:       {accepted} in {:.2} s = {accepted_tps:.0} tx/s",
        accept_time.as_secs_f64()
    );
    println!(
        "confirmed:      {accepted} in {:.2} s = {confirmed_tps:.0} tx/s",
        confirm_time.as_secs_f64()
    );
    if !errors.is_empty() {
        println!("rejected:       {} (first: {})", n - accepted, errors[0]);
    }
    Ok(())
}
