//! `luminex-sim`: runs many seeded simulations of the BFT network and
//! reports what they found, or measures finality latency and certificate
//! sizes in a fault-free network with a fixed link delay.
//!
//! ```text
//! cargo run --release -p luminex-sim -- seeds --count 10000
//! cargo run --release -p luminex-sim -- latency --validators 4,10,100 --delay-ms 50
//! ```

use std::time::Instant;

use clap::{Parser, Subcommand};
use luminex_sim::{
    simulate, simulate_with, sweep_config, Behaviour, Config, Outcome, ProposerSelection,
};
use rayon::prelude::*;

#[derive(Parser)]
#[command(about = "Seeded whole-network simulation of the BFT engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs seeds `from..from+count`: even seeds with 4 validators, odd
    /// with 7, up to f of them Byzantine; partitions, drops, crashes.
    Seeds {
        /// First seed.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// How many seeds.
        #[arg(long, default_value_t = 10_000)]
        count: u64,
    },
    /// Fault-free network with a fixed link delay: block interval (time
    /// to finality of each height) and certificate bytes.
    Latency {
        /// Validator counts, comma separated.
        #[arg(long, value_delimiter = ',', default_value = "4,10,100")]
        validators: Vec<usize>,
        /// One-way link delay (ms).
        #[arg(long, default_value_t = 50)]
        delay_ms: u64,
        /// Heights to finalize.
        #[arg(long, default_value_t = 10)]
        blocks: u64,
        /// The spec's commit pause (ms): how long a node waits after a
        /// decision for the precommits its certificate lacks (ADR 0042).
        #[arg(long, default_value_t = 0)]
        timeout_commit_ms: u64,
    },
}

fn main() {
    let cli = Cli::parse();
    match cli.command {
        Command::Seeds { from, count } => {
            let started = Instant::now();
            let results: Vec<(u64, Outcome)> = (from..from + count)
                .into_par_iter()
                .map(|seed| (seed, simulate(seed, &sweep_config(seed)).outcome))
                .collect();
            let live = results
                .iter()
                .filter(|(_, o)| matches!(o, Outcome::Live { .. }))
                .count();
            let mut bad = 0;
            for (seed, o) in &results {
                if !matches!(o, Outcome::Live { .. }) {
                    bad += 1;
                    println!("seed {seed}: {o:?} (config {:?})", sweep_config(*seed));
                }
            }
            println!(
                "{count} seeds from {from}: {live} safe and live, {bad} not, in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            if bad > 0 {
                std::process::exit(1);
            }
        }
        Command::Latency {
            validators,
            delay_ms,
            blocks,
            timeout_commit_ms,
        } => {
            for n in validators {
                let cfg = Config {
                    behaviours: vec![Behaviour::Honest; n],
                    drop_percent: 0,
                    max_delay_ms: 1,
                    min_delay_ms: delay_ms.saturating_sub(1),
                    partitioned: vec![],
                    heal_ms: 0,
                    crashes: vec![],
                    blocks_after_heal: blocks,
                    locking: true,
                    transfers: 0,
                    liveness_ms: luminex_sim::LIVENESS_MS,
                    catch_up: true,
                    proposer_selection: ProposerSelection::Rotation,
                    staking: None,
                    slow: Vec::new(),
                };
                let started = Instant::now();
                let (r, _) = simulate_with(1, &cfg, |spec| {
                    if let Some(bft) = spec.bft.as_mut() {
                        bft.timeout_commit_ms = timeout_commit_ms;
                    }
                });
                let mut iv = r.block_intervals_ms.clone();
                iv.sort_unstable();
                let median = iv.get(iv.len() / 2).copied().unwrap_or(0);
                let cert = r.certificate_bytes.last().copied().unwrap_or(0);
                let carried = r.carried_certificate_bytes.last().copied().unwrap_or(0);
                println!(
                    "{n} validators, {delay_ms} ms links, {timeout_commit_ms} ms commit pause: {:?}; median time per finalized height {median} ms (simulated); commit certificate {cert} bytes at the decision, {carried} carried by the next block; {:.1} s wall",
                    r.outcome,
                    started.elapsed().as_secs_f64()
                );
            }
        }
    }
}
