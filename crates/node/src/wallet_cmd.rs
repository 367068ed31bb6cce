//! `luminex wallet …`: wallets live in `<data-dir>/<chain>/wallets/NAME.json`
//! and talk to a running node over its REST API. The passphrase comes from
//! `LUMINEX_WALLET_PASSPHRASE` or a terminal prompt and is never logged.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use luminex_primitives::{Amount, Encode, Hash, OutPoint, SchemeId, TxOut};
use luminex_wallet::multisig::export_key;
use luminex_wallet::recovery::{Found, Scan, CHANGE_GAP, RECEIVE_GAP};
use luminex_wallet::{KeyChain, Wallet, WalletFile};
use zeroize::Zeroizing;

use crate::client::Client;
use crate::config::{resolve, CommonArgs, Config, NodeArgs};
use crate::wallet_qr::{terminal, QrArgs};
use luminex_api::types::{BalanceJson, BlockSyncJson, HistoryJson, UtxosJson};

/// Rows asked for per page of an address's history (the API's most).
const HISTORY_PAGE: usize = 1_000;

pub mod broadcast;
mod history;
mod multisig;

use multisig::{run_multisig, run_pst};
pub use multisig::{MultisigCommand, PstCommand};

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
    /// Recreate a wallet from its recovery phrase (read from LUMINEX_MNEMONIC
    /// or a prompt), finding its used addresses on the node's chain: each
    /// chain of keys is scanned until `gap` addresses in a row were never used.
    Restore {
        /// Signature scheme the wallet used.
        #[arg(long)]
        scheme: Option<SchemeId>,
        /// Unused receive addresses in a row that end the scan.
        #[arg(long, default_value_t = luminex_wallet::recovery::RECEIVE_GAP)]
        gap_receive: u32,
        /// Unused change addresses in a row that end the scan.
        #[arg(long, default_value_t = luminex_wallet::recovery::CHANGE_GAP)]
        gap_change: u32,
        /// Recover the phrase from Shamir share files (`backup shamir`)
        /// instead: one share per file, at least the backup's threshold.
        #[arg(long, num_args = 1..)]
        shares: Vec<PathBuf>,
    },
    /// Back up the wallet's recovery phrase.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Show the wallet's newest receive address (the one to give out), or
    /// every receive address with `--all`, or derive a new one.
    Address {
        /// Derive and show a new address.
        #[arg(long, conflicts_with = "all")]
        new: bool,
        /// Show every receive address, oldest first, one per line.
        #[arg(long)]
        all: bool,
        /// Show the newest receive address as a QR code in the terminal.
        #[arg(long)]
        qr: bool,
    },
    /// Derive a fresh receive address and print a payment request for it
    /// (`luminex:ADDRESS?amount=…&memo=…`, docs/wallet.md).
    Request {
        /// Amount asked, in coins.
        #[arg(long, value_parser = broadcast::positive_amount)]
        amount: Option<Amount>,
        /// What the payment is for.
        #[arg(long)]
        memo: Option<String>,
        /// Also show the request as a QR code in the terminal.
        #[arg(long)]
        qr: bool,
    },
    /// Reassemble a payload from QR frames (`LMX1/…` texts, one a line, in
    /// any order, repeats allowed) and write it.
    QrDecode {
        /// Files of frames (`-` for standard input).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Write the payload as hex text (partially signed transactions and
        /// public keys are binary).
        #[arg(long)]
        hex: bool,
        /// Where to write it.
        #[arg(long)]
        out: PathBuf,
    },
    /// Show the balance of every address. A wallet of a recovery phrase
    /// first looks a restore's gaps past the addresses its file keeps
    /// (another file of the phrase may have used them), with its keys:
    /// the passphrase is asked for.
    Balance {
        /// Show the addresses the file keeps alone, without the passphrase.
        #[arg(long)]
        no_look_ahead: bool,
    },
    /// Send coins.
    Send {
        /// Receiving address.
        #[arg(long)]
        to: String,
        /// Amount in coins, e.g. 12.5.
        #[arg(long, value_parser = broadcast::positive_amount)]
        amount: Amount,
        /// Fee rate in base units per byte (default: the chain's minimum; at
        /// most 1,000,000).
        #[arg(long)]
        fee_rate: Option<u64>,
        /// The most this payment may pay in fees, in coins: a larger fee
        /// is refused, not paid.
        #[arg(long, default_value = broadcast::DEFAULT_MAX_FEE)]
        max_fee: Amount,
        /// Wait until the transaction is in a block.
        #[arg(long)]
        wait: bool,
    },
    /// Staking transactions (chains with a `[staking]` table).
    #[command(flatten)]
    Staking(crate::stake_cmd::StakingCommand),
    /// Show the wallet's newest transactions, newest first: one line per
    /// transaction with its net amount over all the wallet's addresses.
    History {
        /// Transactions shown.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Show the addresses the file keeps alone, without the passphrase
        /// (a wallet of a recovery phrase otherwise looks past them first,
        /// as `balance` does).
        #[arg(long)]
        no_look_ahead: bool,
    },
    /// Print the public key of one of the wallet's addresses, for a
    /// multisig policy (ML-DSA has no xpub: keys are exported one by one);
    /// with `--encrypted`, write the key itself to a file encrypted under a
    /// passphrase of its own (LUMINEX_KEY_PASSPHRASE or a prompt), for
    /// `import-key`.
    ExportKey {
        /// Address index.
        #[arg(long, default_value_t = 0)]
        index: usize,
        /// Export the secret key, encrypted, to `--out`.
        #[arg(long, requires = "out")]
        encrypted: bool,
        /// The key file to write (with `--encrypted`).
        #[arg(long, requires = "encrypted")]
        out: Option<PathBuf>,
        /// QR frames of the public key (or of the key file).
        #[command(flatten)]
        qr: QrArgs,
    },
    /// Create a wallet holding the one key of an encrypted key file
    /// (`export-key --encrypted`; the file's passphrase comes from
    /// LUMINEX_KEY_PASSPHRASE or a prompt), or of a validator or node key
    /// file (a seed in hex, as `authority keygen` writes): the address the
    /// chain pays a validator's rewards and released stake to.
    ImportKey {
        /// The key file.
        file: PathBuf,
    },
    /// Write the public keys of every address of the wallet, for a
    /// watch-only wallet elsewhere.
    ExportWatch {
        /// The export file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Create a watch-only wallet (balances, history, unsigned payments; no
    /// signing) from an `export-watch` file.
    ImportWatch {
        /// The export file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Multisig policies: m of a set of exported public keys.
    #[command(subcommand)]
    Multisig(MultisigCommand),
    /// Partially signed transactions: spend from a multisig address by
    /// passing a file from signer to signer.
    #[command(subcommand)]
    Pst(PstCommand),
}

/// `luminex wallet backup …`.
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Split the recovery phrase into `--shares` Shamir shares, any
    /// `--threshold` of which recover the wallet (`wallet restore --shares`);
    /// fewer tell nothing about it. Each share is a list of words to copy by
    /// hand, with a checksum (`docs/wallet.md`).
    Shamir {
        /// Shares needed to recover (at least 2).
        #[arg(long)]
        threshold: usize,
        /// Shares to make (at most 255).
        #[arg(long)]
        shares: usize,
        /// Write each share to `DIR/share-I-of-N.txt` (mode 0600) instead of
        /// printing them.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// `scheme` if the chain allows it: a wallet of another scheme would
/// receive coins that could never be spent.
fn allowed_scheme(spec: &luminex_ledger::ChainSpec, scheme: SchemeId) -> anyhow::Result<SchemeId> {
    if !spec.allows(scheme) {
        let allowed: Vec<&str> = spec.allowed_schemes.iter().map(|s| s.name()).collect();
        bail!(
            "{} keys are not allowed on {} (allowed: {}): coins sent to such a wallet could never be spent",
            scheme.name(),
            spec.name,
            allowed.join(", ")
        );
    }
    Ok(scheme)
}

fn passphrase(confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    ask_passphrase("LUMINEX_WALLET_PASSPHRASE", "Wallet passphrase", confirm)
}

/// The passphrase of an encrypted key file: LUMINEX_KEY_PASSPHRASE or a
/// prompt.
fn key_passphrase(confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    ask_passphrase("LUMINEX_KEY_PASSPHRASE", "Key file passphrase", confirm)
}

/// A passphrase from the environment variable `var`, or asked for on the
/// terminal as `what` (twice when `confirm`).
fn ask_passphrase(var: &str, what: &str, confirm: bool) -> anyhow::Result<Zeroizing<String>> {
    // A new passphrase (`confirm`) is held to the minimum wherever it
    // comes from; one that opens an existing file is taken as it is.
    let chosen = |p: Zeroizing<String>| {
        let min = luminex_wallet::MIN_PASSPHRASE_CHARS;
        if confirm && p.chars().count() < min {
            bail!("a new passphrase needs at least {min} characters ({var} or the prompt)");
        }
        Ok(p)
    };
    if let Ok(p) = std::env::var(var) {
        return chosen(Zeroizing::new(p));
    }
    let p = Zeroizing::new(
        rpassword::prompt_password(format!("{what}: ")).with_context(|| {
            format!(
                "reading the {} (set {var} when not on a terminal)",
                what.to_lowercase()
            )
        })?,
    );
    if confirm {
        let again = Zeroizing::new(rpassword::prompt_password("Repeat passphrase: ")?);
        if *again != *p {
            bail!("the passphrases differ");
        }
    }
    chosen(p)
}

struct Ctx {
    cfg: Config,
    path: PathBuf,
    client: Client,
    /// This command's hold on the wallet file (luminex_wallet::lock),
    /// released early by a command that only waits afterwards.
    lock: Option<luminex_wallet::lock::WalletLock>,
}

fn context(args: &WalletArgs) -> anyhow::Result<Ctx> {
    let cfg = resolve(&NodeArgs::for_client(&args.common)?)?;
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
    // Commands that make the wallet file lock it from the start (the lock
    // file's directory made if need be); the others lock an existing one,
    // and leave no trace where there is none (they fail, or need no file).
    let creates = matches!(
        args.command,
        WalletCommand::New { .. }
            | WalletCommand::ImportDev { .. }
            | WalletCommand::Restore { .. }
            | WalletCommand::ImportKey { .. }
            | WalletCommand::ImportWatch { .. }
    );
    let lock = if creates || path.exists() {
        let waiting = || {
            eprintln!(
                "waiting for another luminex command using wallet {} to finish…",
                args.wallet
            )
        };
        match luminex_wallet::lock::WalletLock::acquire(&path, waiting) {
            Ok(l) => Some(l),
            Err(e) if creates => return Err(e.into()),
            // Where the lock file cannot be made (a wallet readable but not
            // writable by this user, read-only media) a command on an
            // existing wallet runs unlocked, as it did before locks.
            Err(e) => {
                eprintln!("note: running without the wallet's lock: {e}");
                None
            }
        }
    } else {
        None
    };
    Ok(Ctx {
        client: Client::new(&url),
        cfg,
        path,
        lock,
    })
}

/// Saves a new wallet and prints its file and the address to receive at:
/// the newest, as `wallet address` prints it (after a restore, the first
/// address past those the chain shows used, never a used one).
fn created(w: &Wallet, ctx: &Ctx) -> anyhow::Result<()> {
    w.save(&ctx.path, true)?;
    println!("wallet: {}", ctx.path.display());
    if let Some(a) = w.file.addresses.last() {
        println!("address: {a}");
    }
    Ok(())
}

/// Runs a wallet subcommand.
pub async fn run(args: WalletArgs) -> anyhow::Result<()> {
    let mut ctx = context(&args)?;
    let spec = &ctx.cfg.spec;
    match args.command {
        WalletCommand::New { scheme } => {
            let pass = passphrase(true)?;
            let scheme = allowed_scheme(spec, scheme.unwrap_or(spec.default_scheme))?;
            let (w, phrase) = Wallet::create(spec, scheme, &pass);
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
        WalletCommand::Restore {
            scheme,
            gap_receive,
            gap_change,
            shares,
        } => {
            let phrase = if !shares.is_empty() {
                let mut read = Vec::new();
                for f in &shares {
                    read.push(read_share(f)?);
                }
                luminex_wallet::shamir::recover_mnemonic(&read)?
            } else {
                match std::env::var("LUMINEX_MNEMONIC") {
                    Ok(p) => Zeroizing::new(p),
                    Err(_) => Zeroizing::new(rpassword::prompt_password("Recovery phrase: ")?),
                }
            };
            let pass = passphrase(true)?;
            let scheme = allowed_scheme(spec, scheme.unwrap_or(spec.default_scheme))?;
            let mut w = Wallet::restore(spec, scheme, &phrase, &pass)?;
            // Addresses are found in the node's chain: one still syncing
            // may not have the blocks that used them yet.
            let sync: BlockSyncJson = ctx.client.get("/health/block-sync").await?;
            let best = sync.best_peer_height.unwrap_or(sync.height);
            if sync.syncing || best > sync.height {
                eprintln!(
                    "warning: the node is still syncing (height {} of {best}): addresses used in later blocks are not found yet; restore again once it is in sync",
                    sync.height
                );
            }
            let found = run_scan(
                &ctx.client,
                spec,
                &mut w,
                Scan::restore(gap_receive, gap_change),
            )
            .await?;
            println!(
                "kept {} receive and {} change addresses (through the last one used on each chain)",
                found.receive, found.change
            );
            created(&w, &ctx)?;
        }
        WalletCommand::Address { new, all, qr } => {
            let newest = if new {
                let pass = passphrase(false)?;
                let mut w = Wallet::load(&ctx.path, spec, &pass)?;
                let a = w.new_address(spec);
                w.save(&ctx.path, false)?;
                println!("{a}");
                warn_past_gap(&ctx.client, &w, spec).await;
                a
            } else {
                // Checked against the keys (the passphrase opens them), as
                // `request` does: an address shown to a payer from a file
                // someone rewrote would be theirs. Any file holding a secret
                // is opened (whatever kind it says it is); a watch-only
                // file's addresses must be its public keys'.
                let file = WalletFile::read(&ctx.path, spec)?;
                let addresses = if file.encrypted.is_none() {
                    let keys = file.watched_keys()?;
                    let made = keys.iter().map(|k| spec.address(k.lock()).to_string());
                    if !made.eq(file.addresses.iter().chain(&file.change).cloned()) {
                        bail!("wallet file is malformed: the public keys do not make the addresses the file lists");
                    }
                    file.addresses
                } else {
                    let pass = passphrase(false)?;
                    Wallet::load(&ctx.path, spec, &pass)?.file.addresses
                };
                let newest = addresses
                    .last()
                    .cloned()
                    .context("the wallet has no address")?;
                if all {
                    for a in &addresses {
                        println!("{a}");
                    }
                } else {
                    println!("{newest}");
                }
                newest
            };
            if qr {
                println!("{}", terminal(&newest)?);
                println!("{newest}");
            }
        }
        WalletCommand::Request { amount, memo, qr } => {
            let pass = passphrase(false)?;
            let mut w = Wallet::load(&ctx.path, spec, &pass)?;
            let address = w.new_address(spec);
            w.save(&ctx.path, false)?;
            warn_past_gap(&ctx.client, &w, spec).await;
            let uri = luminex_wallet::request::PaymentRequest {
                address,
                amount,
                memo,
            }
            .to_uri();
            if qr {
                println!("{}", terminal(&uri)?);
            }
            println!("{uri}");
        }
        WalletCommand::QrDecode { files, hex, out } => {
            let mut d = luminex_wallet::multipart::Decoder::new();
            for f in &files {
                let text = if f.as_os_str() == "-" {
                    std::io::read_to_string(std::io::stdin()).context("reading standard input")?
                } else {
                    std::fs::read_to_string(f)
                        .with_context(|| format!("reading {}", f.display()))?
                };
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    d.receive(line)?;
                }
            }
            let payload = d.payload()?;
            // Readable by the owner only: the payload may be a key file
            // (`export-key --encrypted`), written 0600 where it came from.
            let bytes = if hex {
                format!("{}\n", hex::encode(&payload)).into_bytes()
            } else {
                payload.clone()
            };
            write_owner_only(&out, &bytes)?;
            println!("{} bytes to {}", payload.len(), out.display());
        }
        WalletCommand::Balance { no_look_ahead } => {
            let addresses = shown_addresses(&ctx, no_look_ahead).await?;
            let (mut confirmed, mut pending, mut immature) = (0u64, 0u64, 0u64);
            let c = |v| Amount::from_base(v).map_or_else(|| v.to_string(), |a| a.to_string());
            for a in &addresses {
                let b: BalanceJson = ctx.client.get(&format!("/address/{a}/balance")).await?;
                // Coinbase outputs not yet mature count as confirmed but
                // cannot be spent yet: said apart.
                let u: UtxosJson = ctx
                    .client
                    .get(&format!("/address/{a}/utxos?limit={MAX_UTXOS}"))
                    .await?;
                let young: u64 = u
                    .utxos
                    .iter()
                    .filter(|x| !x.spendable)
                    .map(|x| x.amount)
                    .fold(0, u64::saturating_add);
                let note = if young > 0 {
                    format!("; immature {}", c(young))
                } else {
                    String::new()
                };
                println!(
                    "{a}  {} (pending {}{note})",
                    b.confirmed_coins, b.pending_coins
                );
                confirmed += b.confirmed;
                pending += b.pending;
                immature += young;
            }
            if immature > 0 {
                println!(
                    "total  {} (pending {}; immature {}: coinbase outputs spendable once mature; spendable now {})",
                    c(confirmed),
                    c(pending),
                    c(immature),
                    c(confirmed.saturating_sub(immature))
                );
            } else {
                println!("total  {} (pending {})", c(confirmed), c(pending));
            }
        }
        WalletCommand::Send {
            to,
            amount,
            fee_rate,
            max_fee,
            wait,
        } => {
            let to = spec.parse_address(&to).context("--to")?;
            let pass = passphrase(false)?;
            let mut w = Wallet::load(&ctx.path, spec, &pass)?;
            // Coins another file of the phrase left past this one's
            // addresses (its change) are spent too, and their change
            // addresses not taken again.
            if look_past_kept(&ctx.client, spec, &mut w).await? > 0 {
                w.save(&ctx.path, false)?;
            }
            let mut coins: Vec<(OutPoint, TxOut)> = Vec::new();
            for (key, a) in w.all_keys() {
                coins.extend(coins_at(&ctx.client, a, key.public_key().lock()).await?);
            }
            // The change address this payment takes, if it has change.
            let change = w.peek_change();
            let tx = w.pay(
                spec,
                &coins,
                to.lock,
                amount,
                fee_rate.unwrap_or(spec.min_fee_rate),
            )?;
            let fee = broadcast::fee_paid(&tx, &coins)
                .context("the payment spends coins it was not given")?;
            let out = broadcast::Outgoing {
                tx: &tx,
                fee,
                change,
                max_fee,
            };
            let txid = broadcast::broadcast(&ctx.client, spec, &mut w, &ctx.path, out).await?;
            println!("{txid}");
            if wait {
                // The file is written: other commands may use it meanwhile.
                ctx.lock = None;
                broadcast::wait_confirmed(&ctx.client, &txid).await?;
            }
        }
        WalletCommand::ExportKey {
            index,
            encrypted,
            out,
            qr,
        } => {
            let pass = passphrase(false)?;
            let w = Wallet::load(&ctx.path, spec, &pass)?;
            let Some(k) = w.keys().get(index) else {
                bail!(
                    "the wallet has {} addresses (derive more with `address --new`)",
                    w.keys().len()
                );
            };
            match out {
                Some(out) if encrypted => {
                    let key_pass = key_passphrase(true)?;
                    let f = w.export_key_file(spec, index, &key_pass)?;
                    let json = f.to_json();
                    write_private(&out, &format!("{json}\n"))?;
                    println!("{}", f.address);
                    qr.show(json.as_bytes())?;
                }
                _ => {
                    println!("{}", export_key(k.public_key()));
                    qr.show(&k.public_key().encode())?;
                }
            }
        }
        WalletCommand::ImportKey { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            // A validator or node key file (`authority keygen`, what `node
            // --validator-key` reads): a bare seed in hex, used with the
            // chain's default scheme. Its address is where the chain pays
            // the validator's rewards and released stake.
            if let Some(seed) = bare_seed(&bytes) {
                let pass = passphrase(true)?;
                created(
                    &Wallet::single_key(spec, spec.default_scheme, &seed, &pass),
                    &ctx,
                )?;
                return Ok(());
            }
            // Hex of another length: a damaged seed file, not a key file.
            if let Some(n) = hex_digits(&bytes) {
                anyhow::bail!(
                    "{}: {n} hexadecimal characters; a validator or node key file holds a seed of 64, an exported key file is JSON",
                    file.display()
                );
            }
            let f = luminex_wallet::keyfile::KeyFile::from_json(&bytes)
                .with_context(|| file.display().to_string())?;
            let key_pass = key_passphrase(false)?;
            let seed = f
                .open(spec, &key_pass)
                .with_context(|| file.display().to_string())?;
            let scheme = allowed_scheme(spec, f.scheme)?;
            let pass = passphrase(true)?;
            created(&Wallet::single_key(spec, scheme, &seed, &pass), &ctx)?;
        }
        WalletCommand::ExportWatch { out } => {
            let pass = passphrase(false)?;
            let w = Wallet::load(&ctx.path, spec, &pass)?;
            write_text(&out, &serde_json::to_string_pretty(&w.export_watch(spec))?)?;
            println!(
                "{} receive and {} change keys",
                w.keys().len(),
                w.change_keys().len()
            );
        }
        WalletCommand::ImportWatch { file } => {
            let text =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let e: luminex_wallet::watch::WatchExport = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not an export-watch file", file.display()))?;
            let f = WalletFile::watch_only(spec, &e)?;
            f.save(&ctx.path, true)?;
            println!("watch-only wallet: {}", ctx.path.display());
        }
        WalletCommand::Backup(BackupCommand::Shamir {
            threshold,
            shares,
            out,
        }) => {
            let file = WalletFile::read(&ctx.path, spec)?;
            let pass = passphrase(false)?;
            let phrase = file.recovery_phrase(&pass)?;
            let made = luminex_wallet::shamir::split_mnemonic(&phrase, threshold, shares)?;
            if let Some(dir) = &out {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
            }
            for s in &made {
                let title = format!(
                    "# luminex shamir share {} of {} (backup {:04x}): any {} of the shares restore the wallet",
                    s.index, shares, s.id, threshold
                );
                let words = s.to_words();
                let mut text = Zeroizing::new(format!("{title}\n"));
                for (i, line) in words.chunks(6).enumerate() {
                    let numbered: Vec<String> = line
                        .iter()
                        .enumerate()
                        .map(|(j, w)| format!("{:>2}. {w:<9}", i * 6 + j + 1))
                        .collect();
                    text.push_str(numbered.join(" ").trim_end());
                    text.push('\n');
                }
                match &out {
                    Some(dir) => {
                        let path = dir.join(format!("share-{}-of-{}.txt", s.index, shares));
                        write_private(&path, &text)?;
                        println!("{}", path.display());
                    }
                    None => println!("{}", text.as_str()),
                }
            }
        }
        WalletCommand::Staking(cmd) => {
            let pass = passphrase(false)?;
            crate::stake_cmd::run(spec, &ctx.client, &ctx.path, &pass, cmd, &mut ctx.lock).await?
        }
        WalletCommand::Multisig(cmd) => run_multisig(&ctx, cmd).await?,
        WalletCommand::Pst(cmd) => run_pst(&ctx, cmd).await?,
        WalletCommand::History {
            limit,
            no_look_ahead,
        } => {
            // One line per transaction, even when it touched several of the
            // wallet's addresses (a payment with change, a self-transfer).
            let addresses = shown_addresses(&ctx, no_look_ahead).await?;
            let page = limit.clamp(1, HISTORY_PAGE);
            for (height, txid, received, sent) in
                history::read(&ctx.client, &addresses, limit, page).await?
            {
                println!(
                    "{height:>8}  {txid}  {:>20}",
                    luminex_api::types::net_coins(received, sent)
                );
            }
        }
    }
    Ok(())
}

/// Reads a Shamir share file: its words, numbered or not; lines starting
/// with `#` are comments.
fn read_share(path: &std::path::Path) -> anyhow::Result<luminex_wallet::shamir::ShamirShare> {
    let text = Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?,
    );
    let words: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(str::split_whitespace)
        .filter(|w| !w.trim_end_matches('.').chars().all(|c| c.is_ascii_digit()))
        .collect();
    let joined = Zeroizing::new(words.join(" "));
    luminex_wallet::shamir::ShamirShare::from_words(&joined)
        .with_context(|| format!("share {}", path.display()))
}

/// Writes a secret to a new file readable by its owner only.
fn write_private(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

/// Writes `bytes` to `path` (replacing it), readable by the owner only.
fn write_owner_only(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    // A file that existed keeps its mode through open: set it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("setting the mode of {}", path.display()))?;
    }
    f.write_all(bytes)
        .with_context(|| format!("writing {}", path.display()))
}

fn write_text(path: &std::path::Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, format!("{text}\n")).with_context(|| format!("writing {}", path.display()))
}

/// Whether address `a` was used: a transaction in the chain, or a pending
/// one (the change of a payment just sent).
async fn address_used(client: &Client, a: &str) -> anyhow::Result<bool> {
    let h: HistoryJson = client
        .get(&format!("/address/{a}/transactions?limit=1"))
        .await?;
    if !h.transactions.is_empty() {
        return Ok(true);
    }
    let b: BalanceJson = client.get(&format!("/address/{a}/balance")).await?;
    Ok(b.mempool_txs > 0)
}

/// Runs `scan` on `w`, asking the node whether each address was used.
async fn run_scan(
    client: &Client,
    spec: &luminex_ledger::ChainSpec,
    w: &mut Wallet,
    mut scan: Scan,
) -> anyhow::Result<Found> {
    while let Some(a) = scan.next_address(w, spec) {
        scan.report(address_used(client, &a).await?);
    }
    Ok(scan.finish(w, spec))
}

/// Looks a restore's default gaps past the addresses `w` keeps on each
/// chain and keeps those up to the last used one found (another file of
/// the same phrase may have used them); how many were added.
async fn look_past_kept(
    client: &Client,
    spec: &luminex_ledger::ChainSpec,
    w: &mut Wallet,
) -> anyhow::Result<u32> {
    let scan = Scan::past_kept(w, RECEIVE_GAP, CHANGE_GAP);
    Ok(run_scan(client, spec, w, scan).await?.added)
}

/// The addresses `balance` and `history` show: those the file keeps,
/// receive then change, and first, unless `no_look_ahead`, for a wallet
/// of a recovery phrase, those another file of the phrase used past them
/// (found as `send` finds them, with the keys the passphrase opens, and
/// saved). Other wallets (watch-only, imported or development keys,
/// version 1) have none to find and need no passphrase.
async fn shown_addresses(ctx: &Ctx, no_look_ahead: bool) -> anyhow::Result<Vec<String>> {
    let spec = &ctx.cfg.spec;
    let file = WalletFile::read(&ctx.path, spec)?;
    let file = if no_look_ahead || !file.has_chains() {
        file
    } else {
        let pass = passphrase(false).context(
            "looking past the addresses the wallet file keeps takes its keys (--no-look-ahead shows those addresses alone)",
        )?;
        let mut w = Wallet::load(&ctx.path, spec, &pass).context(
            "opening the wallet's keys to look past the addresses its file keeps (--no-look-ahead shows those addresses alone)",
        )?;
        if look_past_kept(&ctx.client, spec, &mut w).await? > 0 {
            w.save(&ctx.path, false)?;
        }
        w.file
    };
    Ok(file.addresses.into_iter().chain(file.change).collect())
}

/// Warns when the receive address just derived follows a full restore
/// gap of addresses that received nothing: a restore with the default gap
/// stops before it, so a payment to it would not be found. Says nothing
/// when the node cannot tell.
async fn warn_past_gap(client: &Client, w: &Wallet, spec: &luminex_ledger::ChainSpec) {
    let n = w.keys().len() as u32;
    if n <= RECEIVE_GAP {
        return;
    }
    for i in (n - 1 - RECEIVE_GAP..n - 1).rev() {
        let a = w.address_at(spec, KeyChain::Receive, i);
        match address_used(client, &a).await {
            Ok(false) => {}
            Ok(true) | Err(_) => return,
        }
    }
    eprintln!(
        "warning: the {RECEIVE_GAP} receive addresses before this one have received nothing: a restore stops {RECEIVE_GAP} unused addresses past the last used one, so it would miss a payment to this address (use one of them, or restore with a larger --gap-receive)"
    );
}

/// Spendable coins of `lock` at `address`, from the node.
/// The most unspent outputs of one address the node lists at once.
const MAX_UTXOS: u32 = 100_000;

pub(crate) async fn coins_at(
    client: &Client,
    address: &str,
    lock: luminex_primitives::Lock,
) -> anyhow::Result<Vec<(OutPoint, TxOut)>> {
    // Every coin the node lists (its default is the first 1,000).
    let u: UtxosJson = client
        .get(&format!("/address/{address}/utxos?limit={MAX_UTXOS}"))
        .await?;
    let mut coins = Vec::new();
    for x in u.utxos.into_iter().filter(|x| x.spendable) {
        let txid: Hash = x
            .txid
            .parse()
            .map_err(|_| anyhow::anyhow!("bad txid from node"))?;
        let amount = Amount::from_base(x.amount).context("amount from node")?;
        coins.push((OutPoint { txid, vout: x.vout }, TxOut { amount, lock }));
    }
    Ok(coins)
}

/// How many hexadecimal characters `bytes` holds when it is nothing else
/// (whitespace around them aside).
fn hex_digits(bytes: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_hexdigit())).then_some(text.len())
}

/// The seed of a validator or node key file: 64 hex characters (and
/// whitespace around them), nothing else.
fn bare_seed(bytes: &[u8]) -> Option<[u8; 32]> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if text.len() != 64 {
        return None;
    }
    hex::decode(text).ok()?.try_into().ok()
}
