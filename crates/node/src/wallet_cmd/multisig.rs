//! `luminex wallet multisig …` and `luminex wallet pst …`: multisig
//! policies and the partially signed transactions that spend from them.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;
use luminex_ledger::ChainSpec;
use luminex_primitives::{Amount, Encode, PublicKey, TxOut};
use luminex_wallet::multisig::{MultisigPolicy, PolicyFile};
use luminex_wallet::pst::{InputPolicy, PartialTx};
use luminex_wallet::{Wallet, WalletFile};

use super::{coins_at, passphrase, write_text, Ctx};
use crate::client::Client;
use crate::wallet_qr::QrArgs;
use luminex_api::types::{BalanceJson, BroadcastResponse, TxJson};

/// `luminex wallet multisig …`.
#[derive(Debug, Subcommand)]
pub enum MultisigCommand {
    /// Write a policy file of `threshold` of the given exported keys and
    /// print its address.
    New {
        /// Signatures needed.
        #[arg(long)]
        threshold: usize,
        /// An exported public key (`wallet export-key`); repeat per key.
        #[arg(long = "key", required = true)]
        keys: Vec<String>,
        /// The policy file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Check a policy file and show its address, keys and balance; says
    /// whether this wallet holds one of its keys.
    Info {
        /// The policy file.
        #[arg(long)]
        policy: PathBuf,
    },
}

/// `luminex wallet pst …`. Containers are files of hex text.
#[derive(Debug, Subcommand)]
pub enum PstCommand {
    /// Build an unsigned payment from a multisig address (`--policy`) or
    /// from this wallet's addresses (a watch-only wallet's too).
    Create {
        /// The policy file of the paying multisig address.
        #[arg(long)]
        policy: Option<PathBuf>,
        /// Receiving address.
        #[arg(long)]
        to: String,
        /// Amount in coins.
        #[arg(long, value_parser = super::broadcast::positive_amount)]
        amount: Amount,
        /// Fee rate in base units per byte (default: the chain's minimum).
        #[arg(long)]
        fee_rate: Option<u64>,
        /// The most the payment may pay in fees, in coins: a larger fee is
        /// refused, not paid.
        #[arg(long, default_value = super::broadcast::DEFAULT_MAX_FEE)]
        max_fee: Amount,
        /// The container file to write.
        #[arg(long)]
        out: PathBuf,
        /// QR frames of the container.
        #[command(flatten)]
        qr: QrArgs,
    },
    /// Show what a container pays and who has signed, checked against the chain.
    Inspect {
        /// The container file.
        file: PathBuf,
        /// QR frames of the container.
        #[command(flatten)]
        qr: QrArgs,
    },
    /// Check a container against the chain, show it, and sign it with this
    /// wallet's keys.
    Sign {
        /// The container file.
        file: PathBuf,
        /// Where to write the signed container (default: over the input).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also sign inputs that spend this wallet's own single-key coins
        /// in a container whose other inputs are not this wallet's alone
        /// (a co-signer's multisig payment that also spends your coins):
        /// refused without it.
        #[arg(long)]
        sign_own_coins: bool,
        /// QR frames of the signed container.
        #[command(flatten)]
        qr: QrArgs,
    },
    /// Merge the signatures of containers of the same transaction.
    Combine {
        /// The container files.
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        /// The merged container file.
        #[arg(long)]
        out: PathBuf,
        /// QR frames of the merged container.
        #[command(flatten)]
        qr: QrArgs,
    },
    /// Build the signed transaction and write it as hex.
    Finalize {
        /// The container file.
        file: PathBuf,
        /// The transaction file to write.
        #[arg(long)]
        out: PathBuf,
        /// The most the payment may pay in fees, in coins: a container
        /// paying more is not finalized.
        #[arg(long, default_value = super::broadcast::DEFAULT_MAX_FEE)]
        max_fee: Amount,
        /// QR frames of the signed transaction.
        #[command(flatten)]
        qr: QrArgs,
    },
    /// Finalize and broadcast; prints the txid.
    Broadcast {
        /// The container file.
        file: PathBuf,
        /// The most the payment may pay in fees, in coins: a container
        /// paying more is not sent.
        #[arg(long, default_value = super::broadcast::DEFAULT_MAX_FEE)]
        max_fee: Amount,
    },
}

/// Reads a policy file and checks it.
fn read_policy(path: &std::path::Path, spec: &ChainSpec) -> anyhow::Result<MultisigPolicy> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let f: PolicyFile = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not a policy file", path.display()))?;
    Ok(MultisigPolicy::from_file(spec, &f)?)
}

/// Reads a container file (hex text).
fn read_pst(path: &std::path::Path, spec: &ChainSpec) -> anyhow::Result<PartialTx> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let bytes =
        hex::decode(text.trim()).with_context(|| format!("{} is not hex text", path.display()))?;
    let p = PartialTx::from_bytes(&bytes)?;
    p.check(spec)?;
    Ok(p)
}
/// The chain's output at each input of `p` (`None` if the node knows none).
async fn chain_outputs(
    client: &Client,
    spec: &ChainSpec,
    p: &PartialTx,
) -> anyhow::Result<Vec<Option<TxOut>>> {
    let mut v = Vec::new();
    for op in &p.tx.inputs {
        let t: Result<TxJson, _> = client.get(&format!("/transactions/{}", op.txid)).await;
        let out = match t {
            Ok(t) => match t.outputs.get(op.vout as usize) {
                Some(o) => Some(TxOut {
                    amount: Amount::from_base(o.amount).context("amount from node")?,
                    lock: spec.parse_address(&o.address)?.lock,
                }),
                None => None,
            },
            Err(crate::client::ClientError::Problem(pr)) if pr.status == 404 => None,
            Err(e) => return Err(e.into()),
        };
        v.push(out);
    }
    Ok(v)
}

/// The inputs of `p` that are spent already — in a block, or by a pending
/// transaction — as `txid:vout`: a payment spending them would be refused.
async fn spent_inputs(
    client: &Client,
    spec: &ChainSpec,
    p: &PartialTx,
) -> anyhow::Result<Vec<String>> {
    let mut spent = Vec::new();
    for (op, x) in p.tx.inputs.iter().zip(&p.inputs) {
        let address = spec.address(x.spent.lock).to_string();
        let u: luminex_api::types::UtxosJson = client
            .get(&format!("/address/{address}/utxos?limit=100000"))
            .await?;
        let unspent = u
            .utxos
            .iter()
            .any(|c| c.vout == op.vout && c.txid == op.txid.to_string());
        if !unspent {
            spent.push(format!("{}:{}", op.txid, op.vout));
        }
    }
    Ok(spent)
}

pub(super) async fn run_multisig(ctx: &Ctx, cmd: MultisigCommand) -> anyhow::Result<()> {
    let spec = &ctx.cfg.spec;
    match cmd {
        MultisigCommand::New {
            threshold,
            keys,
            out,
        } => {
            let keys = keys
                .iter()
                .map(|k| luminex_wallet::multisig::import_key(k))
                .collect::<Result<Vec<_>, _>>()?;
            let p = MultisigPolicy::new(spec, threshold, keys)?;
            let f = p.to_file(spec);
            if out.exists() {
                bail!("{} exists already", out.display());
            }
            write_text(&out, &serde_json::to_string_pretty(&f)?)?;
            println!("{}", f.address);
        }
        MultisigCommand::Info { policy } => {
            let p = read_policy(&policy, spec)?;
            let address = spec.address(p.lock()).to_string();
            println!("address: {address}");
            println!("policy: {} of {} keys", p.threshold, p.keys.len());
            let mine: Vec<String> = match WalletFile::read(&ctx.path, spec) {
                Ok(f) => f.addresses,
                Err(_) => Vec::new(),
            };
            for (i, k) in p.keys.iter().enumerate() {
                let own = mine.contains(&spec.address(k.lock()).to_string());
                println!(
                    "key {i}: {} {}{}",
                    k.scheme,
                    k.key_hash(),
                    if own { " (this wallet)" } else { "" }
                );
            }
            let b: BalanceJson = ctx
                .client
                .get(&format!("/address/{address}/balance"))
                .await?;
            println!(
                "balance: {} (pending {})",
                b.confirmed_coins, b.pending_coins
            );
        }
    }
    Ok(())
}

pub(super) async fn run_pst(ctx: &Ctx, cmd: PstCommand) -> anyhow::Result<()> {
    let spec = &ctx.cfg.spec;
    match cmd {
        PstCommand::Create {
            policy: None,
            to,
            amount,
            fee_rate,
            max_fee,
            out,
            qr,
        } => {
            let to = spec.parse_address(&to).context("--to")?;
            let file = WalletFile::read(&ctx.path, spec)?;
            // The keys of the wallet's addresses, and where change goes.
            let (keys, change, mut wallet) = if file.encrypted.is_none() {
                let keys = file.watched_keys()?;
                let first = keys.first().context("the wallet has no keys")?.lock();
                (keys, first, None)
            } else {
                let pass = passphrase(false)?;
                let w = Wallet::load(&ctx.path, spec, &pass)?;
                let keys = w
                    .all_keys()
                    .iter()
                    .map(|(k, _)| k.public_key().clone())
                    .collect::<Vec<_>>();
                // Taken for keeps only once the container is written and
                // has change: attempts that fail, or pay without change,
                // must not use up change addresses past a restore's gap.
                (keys, w.peek_change(), Some(w))
            };
            if out.exists() {
                bail!("{} exists already", out.display());
            }
            let mut coins = Vec::new();
            for k in &keys {
                let a = spec.address(k.lock()).to_string();
                coins.extend(coins_at(&ctx.client, &a, k.lock()).await?);
            }
            let by_lock: std::collections::HashMap<luminex_primitives::Lock, PublicKey> =
                keys.iter().map(|k| (k.lock(), k.clone())).collect();
            let plan = luminex_wallet::plan_payment(
                spec,
                &coins,
                |l| by_lock.contains_key(l),
                to.lock,
                amount,
                change,
                fee_rate.unwrap_or(spec.min_fee_rate),
                Vec::new(),
            )?;
            let policies = plan
                .spent
                .iter()
                .map(|o| InputPolicy::Key(by_lock[&o.lock].clone()))
                .collect();
            super::broadcast::check_max_fee(plan.fee, max_fee)?;
            let takes_change = plan.tx.outputs.iter().any(|o| o.lock == change);
            let pst = PartialTx::new(spec, plan.tx, plan.spent, policies)?;
            write_text(&out, &hex::encode(pst.to_bytes()))?;
            if let Some(w) = wallet.as_mut().filter(|_| takes_change) {
                // The file lock is held: nothing took this address since.
                w.next_change(spec);
                w.save(&ctx.path, false)?;
            }
            print!("{}", pst.describe(spec));
            qr.show(&pst.to_bytes())?;
        }
        PstCommand::Create {
            policy: Some(policy),
            to,
            amount,
            fee_rate,
            max_fee,
            out,
            qr,
        } => {
            let p = read_policy(&policy, spec)?;
            let to = spec.parse_address(&to).context("--to")?;
            let lock = p.lock();
            let address = spec.address(lock).to_string();
            let coins = coins_at(&ctx.client, &address, lock).await?;
            let plan = luminex_wallet::plan_payment_with(
                spec,
                &coins,
                |l| *l == lock,
                to.lock,
                amount,
                lock,
                fee_rate.unwrap_or(spec.min_fee_rate),
                Vec::new(),
                &|_| p.placeholder(),
            )?;
            super::broadcast::check_max_fee(plan.fee, max_fee)?;
            let n = plan.tx.inputs.len();
            let pst = PartialTx::new(
                spec,
                plan.tx,
                plan.spent,
                vec![InputPolicy::Multisig(p.clone()); n],
            )?;
            if out.exists() {
                bail!("{} exists already", out.display());
            }
            write_text(&out, &hex::encode(pst.to_bytes()))?;
            print!("{}", pst.describe(spec));
            qr.show(&pst.to_bytes())?;
        }
        PstCommand::Inspect { file, qr } => {
            let p = read_pst(&file, spec)?;
            let mine = wallet_locks(ctx, spec);
            print!("{}", p.describe_for(spec, &|l| mine.contains(l)));
            p.check_spent(spec, &chain_outputs(&ctx.client, spec, &p).await?)?;
            println!("spent outputs: as on the chain");
            let spent = spent_inputs(&ctx.client, spec, &p).await?;
            if !spent.is_empty() {
                println!(
                    "spent already: {} (this payment can no longer be sent)",
                    spent.join(", ")
                );
            }
            qr.show(&p.to_bytes())?;
        }
        PstCommand::Sign {
            file,
            out,
            sign_own_coins,
            qr,
        } => {
            let mut p = read_pst(&file, spec)?;
            p.check_spent(spec, &chain_outputs(&ctx.client, spec, &p).await?)?;
            let spent = spent_inputs(&ctx.client, spec, &p).await?;
            if !spent.is_empty() {
                bail!(
                    "not signing: {} spent already, so this payment can no longer be sent (make a new one)",
                    spent.join(", ")
                );
            }
            let mine = wallet_locks(ctx, spec);
            print!("{}", p.describe_for(spec, &|l| mine.contains(l)));
            let pass = passphrase(false)?;
            let w = Wallet::load(&ctx.path, spec, &pass)?;
            let keys = w.all_keys();
            let (own, others) = p.own_key_inputs(keys.iter().map(|(k, _)| *k));
            if !own.is_empty() && others && !sign_own_coins {
                bail!(
                    "not signing: input(s) {} spend this wallet's own coins, in a payment whose other inputs are not this wallet's alone; check what the outputs pay above, then pass --sign-own-coins if you mean to",
                    own.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
                );
            }
            let added = p.sign(spec, keys.iter().map(|(k, _)| *k))?;
            write_text(out.as_ref().unwrap_or(&file), &hex::encode(p.to_bytes()))?;
            println!("signed: {added} signature(s) added");
            qr.show(&p.to_bytes())?;
        }
        PstCommand::Combine { files, out, qr } => {
            let mut first = read_pst(&files[0], spec)?;
            for f in &files[1..] {
                first.combine(spec, &read_pst(f, spec)?)?;
            }
            write_text(&out, &hex::encode(first.to_bytes()))?;
            print!("{}", first.describe(spec));
            qr.show(&first.to_bytes())?;
        }
        PstCommand::Finalize {
            file,
            out,
            max_fee,
            qr,
        } => {
            let p = read_pst(&file, spec)?;
            let fee = p
                .fee()
                .context("the container's outputs exceed its inputs")?;
            super::broadcast::check_max_fee(fee, max_fee)?;
            let tx = p.finalize(spec)?;
            write_text(&out, &hex::encode(tx.encode()))?;
            println!("{}", tx.txid());
            qr.show(&tx.encode())?;
        }
        PstCommand::Broadcast { file, max_fee } => {
            let p = read_pst(&file, spec)?;
            p.check_spent(spec, &chain_outputs(&ctx.client, spec, &p).await?)?;
            let fee = p
                .fee()
                .context("the container's outputs exceed its inputs")?;
            super::broadcast::check_max_fee(fee, max_fee)?;
            let tx = p.finalize(spec)?;
            let r: BroadcastResponse = ctx
                .client
                .post_bytes("/transactions/broadcast", tx.encode())
                .await?;
            println!("{}", r.txid);
        }
    }
    Ok(())
}

/// The locks of the addresses the wallet file lists (none when there is
/// no readable wallet file): a container's inputs and outputs that are
/// this wallet's are marked when shown.
fn wallet_locks(
    ctx: &Ctx,
    spec: &ChainSpec,
) -> std::collections::HashSet<luminex_primitives::Lock> {
    WalletFile::read(&ctx.path, spec)
        .map(|f| {
            f.addresses
                .iter()
                .chain(&f.change)
                .filter_map(|a| spec.parse_address(a).ok().map(|a| a.lock))
                .collect()
        })
        .unwrap_or_default()
}
