//! The `luminex` node: wiring of ledger, storage and mempool into a running
//! service, the REST API, the `dev` block producer, configuration, and the
//! command-line tools (wallet, chain, load generator).
//!
//! Async code lives here only; CPU-heavy work (signature verification of
//! submitted transactions, block connection) runs on the blocking pool or
//! rayon.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod api;
pub mod api_types;
pub mod bench;
pub mod chain_cmd;
pub mod cli;
pub mod client;
pub mod config;
pub mod create_tx;
pub mod explorer;
pub mod guard;
pub mod logbuf;
pub mod metrics;
pub mod miner;
pub mod p2p;
pub mod peers_api;
pub mod producer;
pub mod records;
pub mod rpc;
pub mod run;
pub mod service;
pub mod wallet_cmd;
pub mod ws;
