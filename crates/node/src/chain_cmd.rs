//! `luminex chain …`: inspect a running node, print chain specs, and import,
//! export or check a stopped node's data.
//!
//! Block files (`export`/`import`) are a sequence of records, each a 4-byte
//! little-endian length followed by the block's canonical encoding.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{RecvTimeoutError, TryRecvError};
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Subcommand};
use luminex_ledger::spec::ConsensusKind;
use luminex_ledger::SigCache;
use luminex_primitives::codec::{Reader as CodecReader, Sink};
use luminex_primitives::{Block, CommitCertificate, Decode, Encode};
use luminex_storage::{CertifiedBlock, PreparedBlock, Preverifier, SyncBatch, SYNC_IDLE};
use serde_json::Value;

use crate::client::Client;
use crate::config::{resolve, CommonArgs, NodeArgs};
use crate::run::{open_chain, open_existing_chain};

/// Options of `luminex chain`.
#[derive(Debug, Args)]
pub struct ChainArgs {
    #[command(flatten)]
    /// Chain and data directory.
    pub common: CommonArgs,
    /// Node API URL for `info`, `block`, `tx` and `authority` (default: the configured API address).
    #[arg(long, env = "LUMINEX_NODE", global = true)]
    pub node: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub command: ChainCommand,
}

/// Chain subcommands.
#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Show the node's chain, tip and mempool.
    Info,
    /// Ask the node's `GET /health/live`; exit 0 only when it answers "ok".
    /// Container health checks use it, so the image needs no HTTP client.
    Health,
    /// Show a block by height or hash.
    Block {
        /// Height or block hash.
        id: String,
    },
    /// Show a transaction.
    Tx {
        /// Transaction id.
        txid: String,
    },
    /// Print the chain spec as TOML (edit a copy to start a new chain).
    Spec,
    /// Append blocks from a block file to the local chain (node stopped).
    /// On a BFT chain each block comes with the certificate that finalized
    /// it, checked against the validator set of its height.
    Import {
        /// Block file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Write the local main chain to a block file (node stopped); on a BFT
    /// chain each block with the certificate that finalized it.
    Export {
        /// Block file.
        #[arg(long)]
        file: PathBuf,
    },
    /// Replay the local chain from genesis and check the stored UTXO set and
    /// indexes against it (node stopped). Prints height and coin count.
    Check,
    /// Write a local BFT network of new validators (`--chain poa`, or a
    /// staking preset, each bonded with the minimum stake): their keys, a
    /// spec whose genesis lists them, and a data directory with a config
    /// per node. Prints how to start them.
    Testnet {
        /// Validators.
        #[arg(long, default_value_t = 4)]
        validators: u32,
        /// Directory to write (must not exist or be empty).
        #[arg(long)]
        out: PathBuf,
        /// Node i listens on base+10i (REST), +1 (JSON-RPC), +2 (p2p).
        #[arg(long, default_value_t = 9100)]
        base_port: u16,
        /// Target time between blocks, milliseconds (default: the
        /// preset's; `nextgen`'s is 5 minutes, long for a local network).
        #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
        block_interval_ms: Option<u64>,
    },
    /// Govern an authority chain: propose, sign and submit a change of its
    /// validator set (docs/authority.md).
    #[command(subcommand)]
    Authority(crate::authority_cmd::AuthorityCommand),
}

async fn show(client: &Client, path: &str) -> anyhow::Result<()> {
    let v: Value = client.get(path).await?;
    println!("{}", serde_json::to_string_pretty(&v)?);
    Ok(())
}

/// Runs a chain subcommand.
pub async fn run(args: ChainArgs) -> anyhow::Result<()> {
    let cfg = resolve(&NodeArgs::for_client(&args.common)?)?;
    let client = Client::new(
        &args
            .node
            .clone()
            .unwrap_or_else(|| format!("http://{}", cfg.http_addr)),
    );
    match args.command {
        ChainCommand::Info => show(&client, "/health/node-status").await,
        ChainCommand::Health => {
            let v: Value = client.get("/health/live").await?;
            match v.get("status").and_then(Value::as_str) {
                Some("ok") => {
                    println!("ok");
                    Ok(())
                }
                _ => anyhow::bail!("the node answered /health/live with {v}"),
            }
        }
        ChainCommand::Block { id } => show(&client, &format!("/blocks/{id}")).await,
        ChainCommand::Tx { txid } => show(&client, &format!("/transactions/{txid}")).await,
        ChainCommand::Testnet {
            validators,
            out,
            base_port,
            block_interval_ms,
        } => {
            let mut spec = cfg.spec.clone();
            if let Some(ms) = block_interval_ms {
                spec.block_interval_ms = ms;
            }
            let t = crate::testnet::write_testnet(&spec, validators, &out, base_port)?;
            print!("{}", crate::testnet::instructions(&t));
            Ok(())
        }
        ChainCommand::Authority(cmd) => crate::authority_cmd::run(cmd, &cfg.spec, &client).await,
        ChainCommand::Spec => {
            print!("{}", toml::to_string(&cfg.spec)?);
            Ok(())
        }
        ChainCommand::Import { file } => {
            tokio::task::spawn_blocking(move || import(&cfg, &file)).await?
        }
        ChainCommand::Export { file } => {
            tokio::task::spawn_blocking(move || export(&cfg, &file)).await?
        }
        ChainCommand::Check => {
            let chain = open_existing_chain(&cfg)?;
            let r = tokio::task::spawn_blocking(move || chain.check_consistency()).await??;
            println!(
                "{}",
                serde_json::json!({ "height": r.height, "utxos": r.utxos, "consistent": true })
            );
            Ok(())
        }
    }
}

/// Largest block record accepted from a file.
const MAX_RECORD: usize = 256 * 1024 * 1024;

/// Signature-cache entries for an import: the blocks between the
/// preverifier and the importer, with room to spare.
const IMPORT_SIG_CACHE: usize = 100_000;

/// Blocks decoded and preverified ahead of the one being connected.
const IMPORT_LOOKAHEAD: usize = 2;

/// A record of a BFT chain's block file: the block, then the certificate
/// that finalized it. Import needs both: a BFT block is connected only
/// with a certificate that holds against the validator set of its height
/// (a node trusts no file more than a peer), and the certificate of block
/// `h` otherwise travels only in block `h + 1`, which the tip lacks.
struct CertifiedRecord {
    block: Block,
    certificate: CommitCertificate,
}

impl Encode for CertifiedRecord {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.block.encode_to(s);
        self.certificate.encode_to(s);
    }
}

/// Decodes one record of a block file: a block, and on a BFT chain
/// (`certified`) its certificate after it.
fn decode_record(
    bytes: &[u8],
    certified: bool,
) -> anyhow::Result<(Block, Option<CommitCertificate>)> {
    if !certified {
        return Ok((
            Block::decode_all(bytes).context("malformed block in file")?,
            None,
        ));
    }
    let mut r = CodecReader::new(bytes);
    let block = Block::decode(&mut r).context("malformed block in file")?;
    let certificate = CommitCertificate::decode(&mut r)
        .and_then(|c| r.finish().map(|()| c))
        .context("malformed commit certificate in file (a BFT chain's block file holds each block with its certificate)")?;
    Ok((block, Some(certificate)))
}

/// The first record of a block file, decoded; a record of the other form
/// (a BFT chain's blocks with their certificates, or plain blocks) says
/// which chain the file is not.
fn decode_first(bytes: &[u8], certified: bool, chain: &str) -> anyhow::Result<Block> {
    match decode_record(bytes, certified) {
        Ok((block, _)) => Ok(block),
        Err(e) if decode_record(bytes, !certified).is_ok() => {
            let (file, this) = if certified {
                (
                    "blocks without commit certificates (a chain that is not BFT)",
                    "a BFT chain",
                )
            } else {
                (
                    "a BFT chain's blocks with their commit certificates",
                    "not a BFT chain",
                )
            };
            anyhow::bail!(
                "the file holds {file}, and chain {chain} is {this}: pass the --chain \
                 the file was exported from (its first record, read as this chain's: {e:#})"
            )
        }
        Err(e) => Err(e),
    }
}

/// Why a file whose first block builds on a block the chain lacks is
/// refused.
fn not_this_chain(first: &Block, spec: &luminex_ledger::ChainSpec) -> String {
    format!(
        "the file's first block {} builds on {}, which chain {} (genesis {}) does not have: \
         a file of another chain? Pass the --chain it was exported from",
        first.hash(),
        first.header.prev_hash(),
        spec.name,
        spec.genesis_hash()
    )
}

/// Imports a block file. The blocks are committed without waiting for the
/// disk and synced in batches ([`SyncBatch`], ADR 0040): every 32 blocks,
/// 256 MiB or second, when the next block is 50 ms late, and at the end. A line `imported HEIGHT HASH` follows each block (it survives the
/// process being killed), and `synced HEIGHT` each sync: every block up to
/// that height survives a crash of the machine too.
fn import(cfg: &crate::config::Config, file: &Path) -> anyhow::Result<()> {
    // The file first: a missing one, or one of another chain, leaves no
    // new chain behind.
    let mut records = luminex_service::records::Reader::open(file, MAX_RECORD)
        .with_context(|| format!("opening {}", file.display()))?;
    let certified = cfg.spec.consensus == ConsensusKind::Bft;
    let first = records
        .next()
        .transpose()
        .context("reading the block file")?;
    let first_block = match &first {
        Some(bytes) => Some(decode_first(bytes, certified, &cfg.spec.name)?),
        None => None,
    };
    // An export starts at block 1, on its chain's genesis; a file that
    // starts later must build on a block the chain already has.
    let on_genesis = |b: &Block| b.header.prev_hash() == cfg.spec.genesis_hash();
    if let Some(b) = first_block.as_ref().filter(|b| !on_genesis(b)) {
        if !cfg.chain_dir.join("db").exists() {
            anyhow::bail!("{}", not_this_chain(b, &cfg.spec));
        }
    }
    let chain = open_chain(cfg)?;
    if let Some(b) = first_block.as_ref().filter(|b| !on_genesis(b)) {
        if chain.header(&b.header.prev_hash())?.is_none() && chain.header(&b.hash())?.is_none() {
            anyhow::bail!("{}", not_this_chain(b, &cfg.spec));
        }
    }
    let records = first.map(Ok).into_iter().chain(records);
    let cache = SigCache::new(IMPORT_SIG_CACHE);
    let (mut imported, mut skipped) = (0u64, 0u64);
    let mut pre = Preverifier::new();
    let help = pre.helper();
    let mut batch = SyncBatch::new();
    let sync = |batch: &mut SyncBatch| -> anyhow::Result<()> {
        if !batch.is_empty() {
            chain.sync().context("syncing the imported blocks")?;
            batch.synced();
            println!("synced {}", chain.tip().height);
        }
        Ok(())
    };
    std::thread::scope(|s| -> anyhow::Result<()> {
        // A second thread reads, decodes and checks the signatures of the
        // next blocks while this one connects and commits, and this one
        // helps with the checks when it has nothing to connect (see
        // `luminex_storage::Preverifier`).
        let (tx, rx) = std::sync::mpsc::sync_channel(IMPORT_LOOKAHEAD);
        let (chain_ref, cache_ref) = (&chain, &cache);
        s.spawn(move || {
            for record in records {
                let block = record.context("reading the block file").and_then(|r| {
                    let (block, certificate) = decode_record(&r, certified)?;
                    Ok((
                        pre.prepare(chain_ref, Arc::new(block), cache_ref).0,
                        certificate,
                        r.len(),
                    ))
                });
                if tx.send(block).is_err() {
                    break;
                }
            }
        });
        loop {
            let (block, certificate, bytes) = match rx.try_recv() {
                Ok(b) => b,
                Err(TryRecvError::Disconnected) => break,
                Err(TryRecvError::Empty) => {
                    help.help();
                    match rx.recv_timeout(SYNC_IDLE) {
                        Ok(b) => b,
                        Err(RecvTimeoutError::Disconnected) => break,
                        Err(RecvTimeoutError::Timeout) => {
                            // The file is slow to read: a moment to sync.
                            sync(&mut batch)?;
                            match rx.recv() {
                                Ok(b) => b,
                                Err(_) => break,
                            }
                        }
                    }
                }
            }?;
            let plain = block.block();
            let (hash, now) = (plain.hash(), plain.header.time());
            if chain.header(&hash)?.is_some() {
                skipped += 1;
                continue;
            }
            match &certificate {
                Some(c) => {
                    if plain.header.prev_hash() != chain.tip().hash {
                        anyhow::bail!("block {hash} does not extend the tip");
                    }
                    let b = match &block {
                        PreparedBlock::Checked(checked) => CertifiedBlock::Checked(checked),
                        PreparedBlock::Unchecked(b) => CertifiedBlock::Shared(b),
                    };
                    chain
                        .accept_certified_unsynced(b, c, now, &cache)
                        .with_context(|| format!("block {hash}"))?;
                }
                None => chain
                    .connect_prepared_unsynced(&block, now, &cache)
                    .with_context(|| format!("block {hash}"))?,
            }
            imported += 1;
            // A progress line per block: tests use it to kill the process mid-import.
            println!("imported {} {hash}", chain.tip().height);
            if batch.add(bytes) {
                sync(&mut batch)?;
            }
        }
        Ok(())
    })?;
    sync(&mut batch)?;
    println!(
        "done: {imported} imported, {skipped} already present, tip {}",
        chain.tip().height
    );
    Ok(())
}

fn export(cfg: &crate::config::Config, file: &Path) -> anyhow::Result<()> {
    let chain = open_existing_chain(cfg)?;
    let tip = chain.tip().height;
    // One block at a time from the store to the file: a chain is larger
    // than memory.
    let block_at = |h: u64| -> anyhow::Result<Block> {
        let hash = chain
            .hash_at(h)?
            .with_context(|| format!("no block at height {h}"))?;
        chain
            .block(&hash)?
            .with_context(|| format!("missing block {hash} at height {h}"))
    };
    let failed = |e: anyhow::Error| std::io::Error::other(format!("{e:#}"));
    let written = if chain.spec().consensus == ConsensusKind::Bft {
        // Each block's certificate: stored per height, or else the copy
        // the next block carries.
        let certified = |h: u64| -> anyhow::Result<CertifiedRecord> {
            let block = block_at(h)?;
            let certificate = match chain.certificate(h)? {
                Some(c) => c,
                None if h < tip => block_at(h + 1)?
                    .last_commit
                    .with_context(|| format!("no commit certificate of height {h}"))?,
                None => anyhow::bail!("no commit certificate of height {h}"),
            };
            Ok(CertifiedRecord { block, certificate })
        };
        luminex_service::records::write_each(file, (1..=tip).map(|h| certified(h).map_err(failed)))
    } else {
        luminex_service::records::write_each(file, (1..=tip).map(|h| block_at(h).map_err(failed)))
    };
    written.with_context(|| format!("writing {}", file.display()))?;
    println!("exported blocks 1..={tip}");
    Ok(())
}

/// Writes `blocks` as a block file (used by tests and tools).
pub fn write_block_file(path: &std::path::Path, blocks: &[Block]) -> std::io::Result<()> {
    luminex_service::records::write(path, blocks).map(|_| ())
}
