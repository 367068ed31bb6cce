//! The `luminex` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::bench::BenchArgs;
use crate::chain_cmd::ChainArgs;
use crate::config::NodeArgs;
use crate::wallet_cmd::WalletArgs;

/// Luminex: a post-quantum blockchain node.
#[derive(Debug, Parser)]
#[command(name = "luminex", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a node (`luminex node --chain dev`).
    Node(Box<NodeArgs>),
    /// Manage a wallet and send coins through a running node.
    Wallet(WalletArgs),
    /// Inspect the chain (info, a block, a transaction, the spec); import, export and check chain data; make a local testnet.
    Chain(ChainArgs),
    /// Load generator: fund keys on a dev or BFT network, submit signed transfers, report
    /// tx/s and submission-to-block latency.
    Bench(BenchArgs),
}

/// Parses the command line, runs the command, and maps errors to exit code 1.
pub fn main() -> ExitCode {
    // `main` has already caught SIGTERM and SIGINT
    // (`run::catch_early_signals`): a signal during start stops a node
    // gracefully.
    let cli = Cli::parse();
    crate::run::early_signals_for_node(matches!(cli.command, Command::Node(_)));
    let mut filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,fjall=warn,lsm_tree=warn"));
    // libp2p warns about routine events (a message validated after it left
    // gossipsub's cache, a DHT bootstrap with no peers yet); keep them out
    // unless RUST_LOG asks for libp2p explicitly.
    if !std::env::var("RUST_LOG").is_ok_and(|v| v.contains("libp2p")) {
        for d in [
            "libp2p_gossipsub=error",
            "libp2p_kad=error",
            "libp2p_request_response=error",
        ] {
            if let Ok(d) = d.parse() {
                filter = filter.add_directive(d);
            }
        }
    }
    {
        use tracing_subscriber::layer::SubscriberExt;
        use tracing_subscriber::util::SubscriberInitExt;
        tracing_subscriber::registry()
            .with(filter)
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .with(luminex_service::logbuf::RecentLogsLayer(
                luminex_service::logbuf::global(),
            ))
            .init();
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Node(args) => {
                let cfg = crate::config::resolve(&args)?;
                crate::run::run_node(cfg).await
            }
            Command::Wallet(args) => crate::wallet_cmd::run(args).await,
            Command::Chain(args) => crate::chain_cmd::run(args).await,
            Command::Bench(args) => crate::bench::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", describe(&e));
            ExitCode::FAILURE
        }
    }
}

/// An error and its causes, joined by ": ", each said once: a cause whose
/// text the message before it already ends with (an error that shows its
/// source and also returns it as its source) is not repeated.
fn describe(e: &anyhow::Error) -> String {
    let mut out = String::new();
    let mut last = String::new();
    for cause in e.chain() {
        let msg = cause.to_string();
        if last.is_empty() || !last.ends_with(&msg) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&msg);
        }
        last = msg;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::describe;

    #[derive(Debug, thiserror::Error)]
    #[error("merkle root mismatch")]
    struct Root;

    /// Shows its source and returns it too.
    #[derive(Debug, thiserror::Error)]
    #[error("invalid block: {0}")]
    struct Invalid(#[source] Root);

    #[test]
    fn each_cause_is_said_once() {
        let e = anyhow::Error::new(Invalid(Root)).context("importing block 7");
        assert_eq!(
            describe(&e),
            "importing block 7: invalid block: merkle root mismatch"
        );
        let plain = anyhow::Error::new(Root).context("reading");
        assert_eq!(describe(&plain), "reading: merkle root mismatch");
    }
}
