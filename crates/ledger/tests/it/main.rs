//! Ledger integration tests.
mod block;
mod spec;
mod tx;
