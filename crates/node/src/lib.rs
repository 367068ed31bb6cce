//! The `luminex` node: wiring of the service (`luminex-service`), the REST
//! API (`luminex-api`), the Bitcoin-compatible JSON-RPC, the peer-to-peer
//! network, the `dev` block producer, the miner and the BFT consensus task
//! into a running node;
//! configuration; and the command-line tools (wallet, chain, load
//! generator).
//!
//! Async code lives here only; CPU-heavy work (signature verification of
//! submitted transactions, block connection) runs on the blocking pool or
//! rayon.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod authority_cmd;
pub mod bench;
pub mod chain_cmd;
pub mod cli;
pub mod client;
pub mod config;
pub mod consensus;
pub mod miner;
pub mod p2p;
pub mod producer;
pub mod rpc;
pub mod run;
pub mod stake_cmd;
pub mod stratum;
pub mod testnet;
pub mod wallet_cmd;
pub mod wallet_qr;
