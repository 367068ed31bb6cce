//! The `[staking]` section of a chain spec.

use luminex_primitives::commit::MAX_VALIDATORS;
use luminex_primitives::Amount;
use serde::{Deserialize, Serialize};

/// Proof-of-stake parameters of a chain (the optional `[staking]` table of
/// its spec). Without the table the staking transaction kinds are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StakingParams {
    /// The least own stake (base units) a validator may have bonded: a
    /// `stake` must bring it at least this high, and an `unstake` must leave
    /// at least this much or nothing.
    pub min_stake: Amount,
    /// Blocks between an `unstake` or `undelegate` and the coins coming back
    /// as a spendable output; the stake stays slashable meanwhile.
    pub unbonding_blocks: u64,
    /// Whether an address can receive coins only after an existing account
    /// created it with a `create-account` transaction (the `almagill`
    /// rule). The genesis allocations' addresses are the first accounts.
    #[serde(default)]
    pub require_account_creation: bool,
    /// Blocks per epoch: the validator set changes only at heights that
    /// are multiples of it (ADR 0033).
    #[serde(default = "default_epoch_blocks")]
    pub epoch_blocks: u64,
    /// The most validators an election seats (the top by power).
    #[serde(default = "default_max_validators")]
    pub max_validators: u32,
    /// When set, the set is a committee of this many registered nodes drawn
    /// each epoch (the `sidechain` design) instead of the top validators.
    #[serde(default)]
    pub committee_size: Option<u32>,
}

/// The default `epoch_blocks`.
pub fn default_epoch_blocks() -> u64 {
    100
}

/// The default `max_validators`.
pub fn default_max_validators() -> u32 {
    100
}

/// Why a `[staking]` table cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StakingParamsError {
    /// Staking needs a validator set to finalize blocks.
    #[error("a [staking] table needs consensus = \"bft\"")]
    NotBft,
    /// `min_stake = 0`.
    #[error("staking.min_stake must be positive")]
    ZeroMinStake,
    /// `unbonding_blocks = 0`: stake could leave before a misbehaviour is
    /// punished.
    #[error("staking.unbonding_blocks must be positive")]
    ZeroUnbonding,
    /// `epoch_blocks` below the least delay of a set change.
    #[error("staking.epoch_blocks is {0}, at least {MIN_EPOCH_BLOCKS}")]
    EpochTooShort(u64),
    /// `max_validators` or `committee_size` of zero or past the most a
    /// commit certificate can name.
    #[error("staking.{0} must be between 1 and {MAX_VALIDATORS}")]
    SetSize(&'static str),
    /// An unbonding period so long that release heights overflow.
    #[error("staking.unbonding_blocks is {0}, at most {MAX_UNBONDING_BLOCKS}")]
    UnbondingTooLong(u64),
}

/// Longest unbonding period a spec may ask for (about 190 years of
/// one-second blocks): keeps release heights far from overflow.
pub const MAX_UNBONDING_BLOCKS: u64 = 1 << 32;

/// Shortest epoch: a set elected at a boundary takes effect at the next
/// one, which must be at least the authority rules' least change delay
/// away (the header of the block after next commits to the next set).
pub const MIN_EPOCH_BLOCKS: u64 = crate::authority::MIN_CHANGE_DELAY;

impl StakingParams {
    /// Parameters with `min_stake` and `unbonding_blocks` and the spec's
    /// defaults for the rest (no account creation rule, epochs and seats of
    /// [`default_epoch_blocks`] and [`default_max_validators`], no
    /// committee): what a spec gets from a `[staking]` table naming only
    /// those two.
    pub fn new(min_stake: Amount, unbonding_blocks: u64) -> StakingParams {
        StakingParams {
            min_stake,
            unbonding_blocks,
            require_account_creation: false,
            epoch_blocks: default_epoch_blocks(),
            max_validators: default_max_validators(),
            committee_size: None,
        }
    }

    /// Checks the parameters on their own (the spec checks the consensus).
    pub fn check(&self) -> Result<(), StakingParamsError> {
        if self.min_stake == Amount::ZERO {
            return Err(StakingParamsError::ZeroMinStake);
        }
        if self.unbonding_blocks == 0 {
            return Err(StakingParamsError::ZeroUnbonding);
        }
        if self.unbonding_blocks > MAX_UNBONDING_BLOCKS {
            return Err(StakingParamsError::UnbondingTooLong(self.unbonding_blocks));
        }
        if self.epoch_blocks < MIN_EPOCH_BLOCKS {
            return Err(StakingParamsError::EpochTooShort(self.epoch_blocks));
        }
        let size_ok = |n: u32| n >= 1 && n as usize <= MAX_VALIDATORS;
        if !size_ok(self.max_validators) {
            return Err(StakingParamsError::SetSize("max_validators"));
        }
        if self.committee_size.is_some_and(|n| !size_ok(n)) {
            return Err(StakingParamsError::SetSize("committee_size"));
        }
        Ok(())
    }
}
