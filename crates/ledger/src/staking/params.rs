//! The `[staking]` section of a chain spec.

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
    /// An unbonding period so long that release heights overflow.
    #[error("staking.unbonding_blocks is {0}, at most {MAX_UNBONDING_BLOCKS}")]
    UnbondingTooLong(u64),
}

/// Longest unbonding period a spec may ask for (about 190 years of
/// one-second blocks): keeps release heights far from overflow.
pub const MAX_UNBONDING_BLOCKS: u64 = 1 << 32;

impl StakingParams {
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
        Ok(())
    }
}
