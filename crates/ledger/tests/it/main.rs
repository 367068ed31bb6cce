//! Ledger integration tests.
mod block;
mod commitment;
mod spec;
mod tx;
