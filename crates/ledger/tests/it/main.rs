//! Ledger integration tests.
mod block;
mod commitment;
mod multisig;
mod spec;
mod tx;
