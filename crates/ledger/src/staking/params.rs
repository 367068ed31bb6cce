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
    /// as a spendable output; the stake stays slashable meanwhile. An entry
    /// whose stake still backs a validator set then (a period shorter than
    /// two epochs, or an election that seated nobody) is held until it
    /// backs none (ADR 0069).
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
    /// Who earns a block's fees (and subsidy): ADR 0038.
    #[serde(default)]
    pub rewards: RewardRule,
    /// Under [`RewardRule::StakeWeighted`], the share of a validator's
    /// reward it keeps before the rest is split between its own stake and
    /// its delegators, in basis points (1/10,000; 1000 = 10 %).
    #[serde(default = "default_commission_bps")]
    pub commission_bps: u16,
    /// Share of a double signer's bonded and unbonding stake slashed
    /// (ADR 0039), written `"n/d"`.
    #[serde(default = "default_double_sign_slash")]
    pub double_sign_slash: Ratio,
    /// Share of a validator's stake slashed for downtime.
    #[serde(default = "default_downtime_slash")]
    pub downtime_slash: Ratio,
    /// Share of a double-sign slash paid to the reporter (the proposer that
    /// carried the evidence); the rest is burned, or on a chain with a
    /// fixed supply kept for redistribution.
    #[serde(default = "default_reporter_share")]
    pub reporter_share: Ratio,
    /// Commits over which liveness is judged; 0 (the default when a spec
    /// names none) turns downtime slashing off; the staking presets turn it
    /// on. A block's certificate names the precommits its proposer
    /// gathered, so a fair measure needs the BFT table's
    /// `timeout_commit_ms` pause, during which the precommits of live but
    /// slower validators still arrive (ADR 0042).
    #[serde(default = "default_downtime_window")]
    pub downtime_window: u64,
    /// Least share of the last `downtime_window` commits a validator of the
    /// set must have signed.
    #[serde(default = "default_downtime_min_signed")]
    pub downtime_min_signed: Ratio,
    /// Blocks a validator jailed for downtime stays jailed before it may
    /// unjail (a double signer's jail is never lifted).
    #[serde(default = "default_jail_blocks")]
    pub jail_blocks: u64,
}

/// Who earns the fees and subsidy of a chain with a `[staking]` table
/// (`rewards = "…"` in the table; ADR 0038).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RewardRule {
    /// The block's proposer claims its fees and subsidy in the coinbase
    /// (the behaviour of chains without staking).
    #[default]
    Proposer,
    /// The coinbase claims nothing; fees and subsidy go to the epoch's pot,
    /// paid at the epoch's last block to the validators by the power with
    /// which they signed the epoch's commits (ADR 0068; chains without
    /// certificates: those the state elects, by power), each share split
    /// after the spec's commission between the validator's own stake and
    /// its delegators.
    StakeWeighted,
    /// The coinbase claims nothing; the epoch's pot is split equally among
    /// the registered nodes that sent a heartbeat in the epoch.
    EqualRegisteredNodes,
}

impl RewardRule {
    /// The name in a spec and the API (`proposer`, `stake_weighted`,
    /// `equal_registered_nodes`).
    pub fn name(self) -> &'static str {
        match self {
            RewardRule::Proposer => "proposer",
            RewardRule::StakeWeighted => "stake_weighted",
            RewardRule::EqualRegisteredNodes => "equal_registered_nodes",
        }
    }

    /// Whether the proposer's coinbase claims the block's fees and subsidy
    /// (otherwise they go to the pot and the coinbase claims nothing).
    pub fn proposer_claims(self) -> bool {
        self == RewardRule::Proposer
    }
}

/// Basis points in one whole.
pub const BPS: u16 = 10_000;

fn default_commission_bps() -> u16 {
    1_000
}

/// A fraction `numerator / denominator` between 0 and 1, written `"n/d"`
/// in a spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    /// Numerator.
    pub numerator: u64,
    /// Denominator (positive).
    pub denominator: u64,
}

impl Ratio {
    /// `numerator / denominator`.
    pub const fn new(numerator: u64, denominator: u64) -> Ratio {
        Ratio {
            numerator,
            denominator,
        }
    }

    /// Whether it is a fraction within `0..=1`.
    pub fn is_valid(&self) -> bool {
        self.denominator > 0 && self.numerator <= self.denominator
    }

    /// `floor(amount × self)` (a valid ratio never exceeds `amount`).
    pub fn of(&self, amount: u64) -> u64 {
        if self.denominator == 0 {
            return 0;
        }
        (u128::from(amount) * u128::from(self.numerator) / u128::from(self.denominator)) as u64
    }
}

impl std::fmt::Display for Ratio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.numerator, self.denominator)
    }
}

impl std::str::FromStr for Ratio {
    type Err = String;

    fn from_str(s: &str) -> Result<Ratio, String> {
        let bad = || format!("{s:?} is not a fraction \"n/d\"");
        let (n, d) = s.split_once('/').ok_or_else(bad)?;
        Ok(Ratio {
            numerator: n.trim().parse().map_err(|_| bad())?,
            denominator: d.trim().parse().map_err(|_| bad())?,
        })
    }
}

impl Serialize for Ratio {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Ratio {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ratio, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The default `double_sign_slash`: 1/20.
pub fn default_double_sign_slash() -> Ratio {
    Ratio::new(1, 20)
}

/// The default `downtime_slash`: 1/100.
pub fn default_downtime_slash() -> Ratio {
    Ratio::new(1, 100)
}

/// The default `reporter_share`: 1/10 of the slash.
pub fn default_reporter_share() -> Ratio {
    Ratio::new(1, 10)
}

/// The default `downtime_window`: 0, downtime slashing off (see
/// [`StakingParams::downtime_window`]). Deliberately not the presets'
/// windows (100 on `nextgen`, 600 on `almagill` and `sidechain`): a window
/// judges liveness fairly only alongside the `[bft]` commit pause
/// (`timeout_commit_ms`, itself 0 by default), without which live but
/// slower validators are left out of certificates and jailed (ADR 0042).
/// A spec turns both on together, as the presets do; and since the default
/// is part of the rules of every spec naming no window, changing it would
/// change those chains' rules.
pub fn default_downtime_window() -> u64 {
    0
}

/// The default `downtime_min_signed`: half the window.
pub fn default_downtime_min_signed() -> Ratio {
    Ratio::new(1, 2)
}

/// The default `jail_blocks`: 100.
pub fn default_jail_blocks() -> u64 {
    100
}

/// Longest liveness window a spec may ask for: a validator's missed
/// commits within it are kept in the staking state.
pub const MAX_DOWNTIME_WINDOW: u64 = 100_000;

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
    /// A commission above 100 %.
    #[error("staking.commission_bps is {0}, at most {BPS}")]
    Commission(u16),
    /// An unbonding period so long that release heights overflow.
    #[error("staking.unbonding_blocks is {0}, at most {MAX_UNBONDING_BLOCKS}")]
    UnbondingTooLong(u64),
    /// A slashing fraction that is not `n/d` with `0 <= n <= d`, `d > 0`.
    #[error("staking.{0} must be a fraction between 0 and 1")]
    BadRatio(&'static str),
    /// A liveness window past [`MAX_DOWNTIME_WINDOW`].
    #[error("staking.downtime_window is {0}, at most {MAX_DOWNTIME_WINDOW}")]
    DowntimeWindow(u64),
    /// A jail so long that its end height overflows.
    #[error("staking.jail_blocks is {0}, at most {MAX_UNBONDING_BLOCKS}")]
    JailTooLong(u64),
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
    /// defaults for the rest (no account creation rule, epochs of 100
    /// blocks and 100 seats — `default_epoch_blocks`, `default_max_validators` —, no
    /// committee, downtime slashing off): what a spec gets from a
    /// `[staking]` table naming only those two.
    pub fn new(min_stake: Amount, unbonding_blocks: u64) -> StakingParams {
        StakingParams {
            min_stake,
            unbonding_blocks,
            require_account_creation: false,
            epoch_blocks: default_epoch_blocks(),
            max_validators: default_max_validators(),
            committee_size: None,
            rewards: RewardRule::Proposer,
            commission_bps: default_commission_bps(),
            double_sign_slash: default_double_sign_slash(),
            downtime_slash: default_downtime_slash(),
            reporter_share: default_reporter_share(),
            downtime_window: default_downtime_window(),
            downtime_min_signed: default_downtime_min_signed(),
            jail_blocks: default_jail_blocks(),
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
        if self.commission_bps > BPS {
            return Err(StakingParamsError::Commission(self.commission_bps));
        }
        for (name, r) in [
            ("double_sign_slash", self.double_sign_slash),
            ("downtime_slash", self.downtime_slash),
            ("reporter_share", self.reporter_share),
            ("downtime_min_signed", self.downtime_min_signed),
        ] {
            if !r.is_valid() {
                return Err(StakingParamsError::BadRatio(name));
            }
        }
        if self.downtime_window > MAX_DOWNTIME_WINDOW {
            return Err(StakingParamsError::DowntimeWindow(self.downtime_window));
        }
        if self.jail_blocks > MAX_UNBONDING_BLOCKS {
            return Err(StakingParamsError::JailTooLong(self.jail_blocks));
        }
        Ok(())
    }
}
