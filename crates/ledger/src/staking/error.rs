//! Why a staking transaction is invalid.

use luminex_primitives::{Amount, Hash, Lock};

/// Why a staking transaction (or a slash) is refused. Tier-1 errors
/// (shape, without state) and contextual ones (against [`super::StakingState`])
/// share the type; [`StakingError::code`] names each for APIs and metrics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StakingError {
    /// The chain's spec has no `[staking]` table.
    #[error("this chain does not take staking transactions")]
    Disabled,
    /// `create-account` on a chain where any address may receive coins.
    #[error("this chain does not require account creation")]
    AccountsDisabled,
    /// A stake, delegation or unbonding of zero coins.
    #[error("the amount must be positive")]
    ZeroAmount,
    /// The validator or node key is not a valid key of an allowed scheme.
    #[error("the validator or node key is not a valid key of an allowed scheme")]
    BadKey,
    /// A payout lock of a scheme the chain does not allow.
    #[error("the payout address uses a scheme the chain does not allow")]
    BadPayout,
    /// The last witness, which must be the key the action is for, is
    /// missing or is not a single key and its signature.
    #[error("the last witness must be the acting key's signature")]
    NoActorWitness,
    /// The acting key is not the one the action needs: unstaking,
    /// unjailing or bonding for someone else's validator, registering
    /// someone else's node key.
    #[error("{signer} may not act for {owner}")]
    NotOwner {
        /// The id the action is for.
        owner: Hash,
        /// The id of the key that signed.
        signer: Hash,
    },
    /// A validator's own stake would be below the spec's minimum.
    #[error("own stake {bond} is below the minimum {min}")]
    BelowMinimum {
        /// The own stake it would have.
        bond: Amount,
        /// The spec's minimum.
        min: Amount,
    },
    /// Unstaking from a validator with no own stake bonded (never staked,
    /// or already unstaked in full).
    #[error("validator {0} has no stake bonded")]
    NotStaked(Hash),
    /// Unstaking more than is bonded.
    #[error("unbonding {requested}, only {bonded} bonded")]
    ExceedsBond {
        /// Asked for.
        requested: Amount,
        /// Bonded.
        bonded: Amount,
    },
    /// Delegating to a key that is not a validator with own stake.
    #[error("{0} is not a validator")]
    UnknownValidator(Hash),
    /// A validator delegating to itself (it stakes instead).
    #[error("validator {0} cannot delegate to itself")]
    SelfDelegation(Hash),
    /// Undelegating from a validator the signer has no delegation with.
    #[error("{delegator} has no delegation with {validator}")]
    NoDelegation {
        /// The validator.
        validator: Hash,
        /// The signer.
        delegator: Hash,
    },
    /// Unjailing a validator that is not jailed.
    #[error("validator {0} is not jailed")]
    NotJailed(Hash),
    /// Unjailing before the jail's end.
    #[error("jailed until height {until}, the block is at {height}")]
    StillJailed {
        /// First height unjailing is allowed.
        until: u64,
        /// The height of the block carrying the unjail.
        height: u64,
    },
    /// Unjailing a validator whose jail is for a slashing that has not
    /// been cleared.
    #[error("validator {0} is jailed for a slashing")]
    StillSlashed(Hash),
    /// Registering a node key without the chain's minimum stake bonded to
    /// it: a registration must have stake at risk (ADR 0063).
    #[error("node {node} has {bonded} coins of its own stake bonded, less than the chain's minimum of {min}: bond it first (a stake transaction signed by the node key)")]
    NodeNotStaked {
        /// The node's id.
        node: Hash,
        /// Its own stake.
        bonded: Amount,
        /// The chain's `min_stake`.
        min: Amount,
    },
    /// Registering a node key twice.
    #[error("node {0} is already registered")]
    AlreadyRegistered(Hash),
    /// Creating an account that exists.
    #[error("the account {address} exists already")]
    AccountExists {
        /// Its address.
        address: String,
    },
    /// Paying an address no account created, where the spec requires it.
    #[error("output {output} pays {address}, which no account has created (an existing account creates it with a create-account transaction)")]
    UncreatedAccount {
        /// The output's index.
        output: u32,
        /// Its lock.
        lock: Lock,
        /// Its address.
        address: String,
    },
    /// A payout (of unbonded coins, rewards) to an address no account
    /// created, where the spec requires it.
    #[error("the payout address {address} is no account: an existing account must create it first (a create-account transaction)")]
    UncreatedPayout {
        /// The payout's lock.
        lock: Lock,
        /// Its address.
        address: String,
    },
    /// A total would leave the range of amounts.
    #[error("stake total out of range")]
    Overflow,
    /// A heartbeat from a key that is not a registered node.
    #[error("node {0} is not registered")]
    UnknownNode(Hash),
    /// A heartbeat naming another epoch than its block's.
    #[error("heartbeat for epoch {epoch}, the block is in epoch {current}")]
    HeartbeatEpoch {
        /// The epoch it names.
        epoch: u64,
        /// The epoch of the block carrying it.
        current: u64,
    },
    /// A second heartbeat of a node in one epoch.
    #[error("node {node} already sent a heartbeat in epoch {epoch}")]
    AlreadyLive {
        /// The node.
        node: Hash,
        /// The epoch.
        epoch: u64,
    },
    /// Evidence of votes at a height above the block carrying it.
    #[error("evidence of height {height} in a block at height {block}")]
    EvidenceFromFuture {
        /// The votes' height.
        height: u64,
        /// The block's height.
        block: u64,
    },
    /// Evidence older than the unbonding period: the stake it would slash
    /// may already have left.
    #[error("evidence of height {height} is too old (the oldest punishable is {oldest})")]
    EvidenceTooOld {
        /// The votes' height.
        height: u64,
        /// The oldest height still punishable.
        oldest: u64,
    },
    /// The offence was punished already (by this evidence or other
    /// evidence of the same validator at the same height).
    #[error("validator {validator} was already punished for height {height}")]
    AlreadyPunished {
        /// The offender.
        validator: Hash,
        /// The height of its votes.
        height: u64,
    },
    /// Evidence against a validator already jailed for good for double
    /// signing: a double signer is slashed once.
    #[error("validator {0} was already slashed for double signing")]
    Tombstoned(Hash),
    /// A slash fraction that is not `0 <= n/d <= 1` with `d > 0`.
    #[error("slash fraction {numerator}/{denominator} is not within 0..=1")]
    BadFraction {
        /// Numerator.
        numerator: u64,
        /// Denominator.
        denominator: u64,
    },
}

impl StakingError {
    /// Whether the refusal comes from the staking state the transaction
    /// was checked against rather than from the transaction alone: a node
    /// whose state is ahead or behind, or that saw pending transactions in
    /// another order, may find the same transaction valid (a delegation to
    /// a validator whose stake it has seen, the first of two unbondings of
    /// one bond, a heartbeat of the epoch it is still in).
    pub fn depends_on_state(&self) -> bool {
        !matches!(
            self,
            StakingError::Disabled
                | StakingError::AccountsDisabled
                | StakingError::ZeroAmount
                | StakingError::BadKey
                | StakingError::BadPayout
                | StakingError::NoActorWitness
                | StakingError::NotOwner { .. }
                | StakingError::SelfDelegation(_)
                | StakingError::BadFraction { .. }
        )
    }

    /// A short stable code for APIs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            StakingError::Disabled => "staking-disabled",
            StakingError::AccountsDisabled => "accounts-disabled",
            StakingError::ZeroAmount => "staking-zero-amount",
            StakingError::BadKey => "staking-bad-key",
            StakingError::BadPayout => "staking-bad-payout",
            StakingError::NoActorWitness => "staking-no-actor-witness",
            StakingError::NotOwner { .. } => "staking-not-owner",
            StakingError::BelowMinimum { .. } => "stake-below-minimum",
            StakingError::NotStaked(_) => "not-staked",
            StakingError::ExceedsBond { .. } => "unbond-exceeds-bond",
            StakingError::UnknownValidator(_) => "unknown-validator",
            StakingError::SelfDelegation(_) => "self-delegation",
            StakingError::NoDelegation { .. } => "no-delegation",
            StakingError::NotJailed(_) => "not-jailed",
            StakingError::StillJailed { .. } => "still-jailed",
            StakingError::StillSlashed(_) => "still-slashed",
            StakingError::NodeNotStaked { .. } => "node-not-staked",
            StakingError::AlreadyRegistered(_) => "node-already-registered",
            StakingError::AccountExists { .. } => "account-exists",
            StakingError::UncreatedAccount { .. } | StakingError::UncreatedPayout { .. } => {
                "uncreated-account"
            }
            StakingError::Overflow => "stake-overflow",
            StakingError::BadFraction { .. } => "bad-slash-fraction",
            StakingError::UnknownNode(_) => "unknown-node",
            StakingError::HeartbeatEpoch { .. } => "heartbeat-wrong-epoch",
            StakingError::AlreadyLive { .. } => "heartbeat-already-sent",
            StakingError::EvidenceFromFuture { .. } => "evidence-from-future",
            StakingError::EvidenceTooOld { .. } => "evidence-too-old",
            StakingError::AlreadyPunished { .. } => "evidence-already-punished",
            StakingError::Tombstoned(_) => "validator-tombstoned",
        }
    }
}
