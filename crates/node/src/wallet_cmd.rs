//! `luminex wallet …`: wallets live in `<data-dir>/<chain>/wallets/NAME.json`
//! and talk to a running node over its REST API. The passphrase comes from
//! `LUMINEX_WALLET_PASSPHRASE` or a terminal prompt and is never logged.

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use luminex_primitives::{Amount, Encode, Hash, OutPoint, SchemeId, TxOut};
use luminex_wallet::{Wallet, WalletFile};
use zeroize::Zeroizing;

use crate::client::Client;
use crate::config::{resolve, CommonArgs, Config, NodeArgs};
use luminex_api::types::{BalanceJson, BroadcastResponse, HistoryJson, TxJson, UtxosJson};

/// Options of `luminex wallet`.
#[derive(Debug, Args)]
pub struct WalletArgs {
    #[command(flatten)]
    /// Chain and data directory.
    pub common: CommonArgs,
    /// Wallet name.
    #[arg(long, env = "LUMINEX_WALLET", default_value = "default", global = true)]
    pub wallet: String,
    /// Node API URL (default: the configured API address).
    #[arg(long, env = "LUMINEX_NODE", global = true)]
    pub node: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: WalletCommand,
}

/// Wallet subcommands.
#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// Create a wallet with a new 24-word recovery phrase.
    New {
        /// Signature scheme (default: the chain's).
        #[arg(long)]
        scheme: Option<SchemeId>,
    },
    /// Create a wallet holding one of the chain's well-known development keys.
    ImportDev {
        /// Dev key index.
        #[arg(long, default_value_t = 0)]
        index: u32,
    },
    /// Recreate a wallet from its recovery phrase (read from LUMINEX_MNEMONIC or a prompt).
    Restore {
        /// Signature scheme the wallet used.
        #[arg(long)]
        scheme: Option<SchemeId>,
        /// Number of addresses to derive.
        #[arg(long, default_value_t = 1)]
        addresses: u32,
    },
    /// Show the wallet's addresses (or derive a new one).
    Address {
        /// Derive and show a new address.
        #[arg(long)]
        new: bool,
    },
    /// Show the balance of every address.
    Balance,
    /// Send coins.
    Send {
        /// Receiving address.
        #[arg(long)]
        to: String,
        /// Amount in coins, e.g. 12.5.
        #[arg(long)]
        amount: Amount,
        /// Fee rate in base units per byte (default: the chain's minimum).
        #[arg(long)]
        fee_rate: Option<u64>,
        /// Wait until the transaction is in a block.
        #[arg(long)]
        wait: bool,
    },
    /// Show transactions of the wallet's addresses, newest first.
    History {
        /// Entries per address.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
}

fn passphrase(confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    if let Ok(p) = std::env::var("LUMINEX_WALLET_PASSPHRASE") {
        return Ok(Zeroizing::new(p));
    }
    let p = Zeroizing::new(rpassword::prompt_password("Wallet passphrase: ").context(
        "reading the passphrase (set LUMINEX_WALLET_PASSPHRASE when not on a terminal)",
    )?);
    if confirm {
        let again = Zeroizing::new(rpassword::prompt_password("Repeat passphrase: ")?);
        if *again != *p {
            bail!("the passphrases differ");
        }
    }
    Ok(p)
}

struct Ctx {
    cfg: Config,
    path: PathBuf,
    client: Client,
}

fn context(args: &WalletArgs) -> anyhow::Result<Ctx> {
    let cfg = resolve(&NodeArgs {
        common: args.common.clone(),
        ..NodeArgs::default()
    })?;
    if args.wallet.is_empty()
        || !args
            .wallet
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("wallet names use letters, digits, '-' and '_'");
    }
    let path = cfg
        .chain_dir
        .join("wallets")
        .join(format!("{}.json", args.wallet));
    let url = args
        .node
        .clone()
        .unwrap_or_else(|| format!("http://{}", cfg.http_addr));
    Ok(Ctx {
        client: Client::new(&url),
        cfg,
        path,
    })
}

fn created(w: &Wallet, ctx: &Ctx) -> anyhow::Result<()> {
    w.save(&ctx.path, true)?;
    println!("wallet: {}", ctx.path.display());
    println!("address: {}", w.file.addresses[0]);
    Ok(())
}

/// Runs a wallet subcommand.
pub async fn run(args: WalletArgs) -> anyhow::Result<()> {
    let ctx = context(&args)?;
    let spec = &ctx.cfg.spec;
    match args.command {
        WalletCommand::New { scheme } => {
            let pass = passphrase(true)?;
            let (w, phrase) = Wallet::create(spec, scheme.unwrap_or(spec.default_scheme), &pass);
            created(&w, &ctx)?;
            println!(
                "recovery phrase (write it down; it is shown once):\n{}",
                phrase.as_str()
            );
        }
        WalletCommand::ImportDev { index } => {
            if index >= spec.dev_keys {
                bail!("chain {} has {} dev keys", spec.name, spec.dev_keys);
            }
            let pass = passphrase(true)?;
            created(&Wallet::dev_key(spec, index, &pass), &ctx)?;
        }
        WalletCommand::Restore { scheme, addresses } => {
            let phrase = match std::env::var("LUMINEX_MNEMONIC") {
                Ok(p) => Zeroizing::new(p),
                Err(_) => Zeroizing::new(rpassword::prompt_password("Recovery phrase: ")?),
            };
            let pass = passphrase(true)?;
            let mut w =
                Wallet::restore(spec, scheme.unwrap_or(spec.default_scheme), &phrase, &pass)?;
            for _ in 1..addresses.max(1) {
                w.new_address(spec);
            }
            created(&w, &ctx)?;
        }
        WalletCommand::Address { new } => {
            if new {
                let pass = passphrase(false)?;
                let mut w = Wallet::load(&ctx.path, spec, &pass)?;
                println!("{}", w.new_address(spec));
                w.save(&ctx.path, false)?;
            } else {
                for a in WalletFile::read(&ctx.path, spec)?.addresses {
                    println!("{a}");
                }
            }
        }
        WalletCommand::Balance => {
            let file = WalletFile::read(&ctx.path, spec)?;
            let (mut confirmed, mut pending) = (0u64, 0u64);
            for a in &file.addresses {
                let b: BalanceJson = ctx.client.get(&format!("/address/{a}/balance")).await?;
                println!("{a}  {} (pending {})", b.confirmed_coins, b.pending_coins);
                confirmed += b.confirmed;
                pending += b.pending;
            }
            let c = |v| Amount::from_base(v).map_or_else(|| v.to_string(), |a| a.to_string());
            println!("total  {} (pending {})", c(confirmed), c(pending));
        }
        WalletCommand::Send {
            to,
            amount,
            fee_rate,
            wait,
        } => {
            let to = spec.parse_address(&to).context("--to")?;
            let pass = passphrase(false)?;
            let w = Wallet::load(&ctx.path, spec, &pass)?;
            let mut coins: Vec<(OutPoint, TxOut)> = Vec::new();
            for (i, a) in w.file.addresses.iter().enumerate() {
                let u: UtxosJson = ctx.client.get(&format!("/address/{a}/utxos")).await?;
                let lock = w.keys()[i].public_key().lock();
                for x in u.utxos.into_iter().filter(|x| x.spendable) {
                    let txid: Hash = x
                        .txid
                        .parse()
                        .map_err(|_| anyhow::anyhow!("bad txid from node"))?;
                    let amount = Amount::from_base(x.amount).context("amount from node")?;
                    coins.push((OutPoint { txid, vout: x.vout }, TxOut { amount, lock }));
                }
            }
            let tx = w.pay(
                spec,
                &coins,
                to.lock,
                amount,
                fee_rate.unwrap_or(spec.min_fee_rate),
            )?;
            let r: BroadcastResponse = ctx
                .client
                .post_bytes("/transactions/broadcast", tx.encode())
                .await?;
            println!("{}", r.txid);
            if wait {
                loop {
                    let t: TxJson = ctx.client.get(&format!("/transactions/{}", r.txid)).await?;
                    if t.status == "confirmed" {
                        println!("confirmed at height {}", t.height.unwrap_or_default());
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            }
        }
        WalletCommand::History { limit } => {
            let file = WalletFile::read(&ctx.path, spec)?;
            // One line per transaction, even when it touched several of the
            // wallet's addresses (a payment with change, a self-transfer).
            let mut merged: BTreeMap<(Reverse<u64>, String), (u64, u64)> = BTreeMap::new();
            for a in &file.addresses {
                let h: HistoryJson = ctx
                    .client
                    .get(&format!("/address/{a}/transactions?limit={limit}"))
                    .await?;
                for r in h.transactions {
                    let e = merged.entry((Reverse(r.height), r.txid)).or_default();
                    e.0 += r.received;
                    e.1 += r.sent;
                }
            }
            for ((Reverse(height), txid), (received, sent)) in merged {
                println!(
                    "{height:>8}  {txid}  {:>20}",
                    luminex_api::types::net_coins(received, sent)
                );
            }
        }
    }
    Ok(())
}
