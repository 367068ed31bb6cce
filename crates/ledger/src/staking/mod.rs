//! Proof-of-stake state in the ledger (ADR 0031): the staking transaction
//! kinds' rules and the state they change.
//!
//! - `stake` bonds coins from the transaction's inputs to a validator key as
//!   its own stake (the validator's key signs); the own stake must reach
//!   the spec's `min_stake`.
//! - `delegate` / `undelegate` bond to / unbond from someone else's
//!   validator; the validator's power is its own plus delegated stake, and
//!   slashing hits delegators pro rata ([`StakingState::slash`]).
//! - `unstake` and `undelegate` start unbonding: the coins sit in an
//!   unbonding entry, still slashable, for `unbonding_blocks` blocks — and
//!   longer while its stake still backs a validator set in force or
//!   elected that its validator sits in (ADR 0069, ADR 0072); the block at
//!   the release height, or the first after it at which the stake backs no
//!   set, then creates them as an ordinary output
//!   ([`StakingState::release`]) at the unbonding transaction's txid and
//!   the index one past its outputs.
//! - `register-node` records a node key for committee draws and fee
//!   sharing; `unjail` frees a validator whose jail has ended and was not
//!   for an uncleared slashing; `create-account` lets an address receive
//!   coins where the spec requires it.
//!
//! Checks come in the ledger's tiers: [`check_shape`] with the transaction
//! and spec alone (run by `check_transaction`); [`StakingState::apply_tx`]
//! against the state, which applies the transaction if valid and records
//! the prior values in a [`StakingUndo`], from which
//! [`StakingState::undo`] restores the state exactly.
//!
//! At each epoch boundary the state elects the set of the epoch after
//! next ([`StakingState::election`]: the top validators by power, or a
//! committee of registered nodes drawn by a seed; ADR 0033).
//!
//! For storage, the state is also a set of key–value entries
//! ([`StakingState::entries`], [`StakingState::from_entries`]): a block
//! writes only the entries its changes touched ([`StakingState::writes`]),
//! in the same batch as the block, and its [`StakingUndo`] beside its undo
//! data.
//!
//! Invariant: coins in UTXOs plus bonded plus unbonding stake change only
//! by what blocks create (subsidy) and what slashing removes; a `stake`
//! or `delegate` moves coins from its inputs into stake (the inputs pay
//! outputs, the bonded amount and the fee), a release moves them back.

mod apply;
mod epoch;
mod error;
mod params;
mod rewards;
mod slashing;
mod state;
mod store;
mod unbonding;

pub use apply::{check_evidence_tx, check_shape};
pub use epoch::{epoch_of, is_epoch_boundary};
pub use error::StakingError;
pub use params::{
    Ratio, RewardRule, StakingParams, StakingParamsError, BPS, MAX_DOWNTIME_WINDOW,
    MAX_UNBONDING_BLOCKS, MIN_EPOCH_BLOCKS,
};
pub use rewards::{
    check_supply, mul_div, Recipient, RewardBasis, RewardPlan, RewardShare, SupplyMismatch,
};
pub use state::{
    EpochWork, JailEntry, Liveness, RegisteredNode, StakingChange, StakingState, StakingUndo,
    UnbondingEntry, UnbondingKey, ValidatorStake, STAKING_STATE,
};
pub use store::StakingWrite;
pub use unbonding::{release_outpoint, Seats};

/// A public key for the state's unit tests: `i` repeated, as ML-DSA-65
/// (no signature is checked, only its hash taken).
#[cfg(test)]
pub(crate) fn test_key(i: u8) -> luminex_primitives::PublicKey {
    luminex_primitives::PublicKey {
        scheme: luminex_primitives::SchemeId::MlDsa65,
        bytes: vec![i; 16],
    }
}
