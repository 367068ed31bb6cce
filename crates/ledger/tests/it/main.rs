//! Ledger integration tests.
mod block;
mod commitment;
mod downtime;
mod multisig;
mod rewards;
mod slashing;
mod spec;
mod staking;
mod staking_prop;
mod tx;
