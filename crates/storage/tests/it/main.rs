//! Storage tests: one conformance suite for every backend, and the chain
//! store's connect/disconnect/reopen behaviour.

mod authority;
mod bft;
mod chain;
mod conformance;
mod faults;
mod fork_choice;
mod forks;
mod indexes;
mod invalidate;
mod journal;
mod preverify;
mod read_errors;
mod recent;
mod slashing;
mod staking;
mod unsynced;
mod utxo_cache;
