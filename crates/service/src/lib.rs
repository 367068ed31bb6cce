//! The node's service: the shared state every front end uses ([`Node`]:
//! chain, mempool, signature cache, network handle) and its operations
//! (submit a transaction, build a block template, accept blocks with the
//! mempool following the main chain), the chain [`events`] it publishes,
//! its Prometheus [`metrics`], the recent-log buffer the admin routes show
//! ([`logbuf`]), the record files the mempool is saved to ([`records`]) and
//! the coins the ledger pays for a transaction ([`payouts`]).
//!
//! It sits between the chain crates (storage, mempool, p2p) and the front
//! ends (`luminex-api`, the JSON-RPC and the binary in `luminex-node`), so
//! those depend on it and never on each other's internals. It uses tokio's
//! synchronisation types only and spawns no tasks; the only threads it
//! starts are the [`admission`] pipeline's, on the first submission
//! through it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admission;
pub mod events;
pub mod held_back;
pub mod logbuf;
pub mod metrics;
mod node;
pub mod payouts;
pub mod pool;
#[cfg(test)]
mod pool_reorg_tests;
pub mod records;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use node::{mempool_for, ConsensusView, Node, StoreView};
