//! Chain specs: everything that makes one chain differ from another, as
//! plain TOML. Presets are compiled in (`luminex chain spec --chain dev`
//! prints one); an operator can edit a copy and start a new chain from it.

use luminex_primitives::commitment::{self, MAX_COINBASE_EXTRA};
use luminex_primitives::header::BFT_VERSION;
use luminex_primitives::{
    Address, Amount, AmountError, BftHeader, Block, Hash, Header, Lock, MerkleCommitment,
    PowHeader, PublicKey, SchemeId, Transaction, TxKind, TxOut,
};

use crate::compact::{target_from_compact, CompactError};
use crate::staking::{StakingParams, StakingParamsError};
use crate::validators::{ConsensusRecord, Validator, ValidatorSet};
use crate::U256;
use serde::{Deserialize, Serialize};

/// How blocks are produced on the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ConsensusKind {
    /// One local producer seals blocks on a timer (the `dev` preset).
    Dev,
    /// Proof of work over Bitcoin's header, most cumulative work wins.
    Pow,
    /// A known validator set finalizes every block with a Tendermint
    /// commit certificate.
    Bft,
}

impl ConsensusKind {
    /// The name used in specs and the API.
    pub fn name(self) -> &'static str {
        match self {
            ConsensusKind::Dev => "dev",
            ConsensusKind::Pow => "pow",
            ConsensusKind::Bft => "bft",
        }
    }
}

/// A validator of the genesis set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    /// Signature scheme of its key.
    pub scheme: SchemeId,
    /// Public key, hex.
    pub public_key: String,
    /// Voting power.
    pub power: u64,
}

fn default_timeout_propose() -> u64 {
    3000
}
fn default_timeout_vote() -> u64 {
    1000
}
fn default_proposal_time_precision() -> u64 {
    1000
}
fn default_timeout_delta() -> u64 {
    500
}

impl Default for BftParams {
    fn default() -> BftParams {
        BftParams {
            validators: Vec::new(),
            dev_validators: 0,
            authority_changes: false,
            timeout_propose_ms: default_timeout_propose(),
            timeout_propose_delta_ms: default_timeout_delta(),
            timeout_prevote_ms: default_timeout_vote(),
            timeout_prevote_delta_ms: default_timeout_delta(),
            timeout_precommit_ms: default_timeout_vote(),
            timeout_precommit_delta_ms: default_timeout_delta(),
            proposer_selection: ProposerSelection::default(),
            timeout_commit_ms: 0,
            proposal_time_precision_ms: default_proposal_time_precision(),
        }
    }
}

/// How a BFT chain chooses the proposer of a round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposerSelection {
    /// Stake-weighted rotation (CometBFT's proposer priorities): over many
    /// heights each validator proposes in proportion to its power, and the
    /// order is fair in the short run too. The `poa` and `nextgen` rule.
    #[default]
    Rotation,
    /// The leader of a view (height and round) is drawn from the validators
    /// weighted by power, by a hash of the view and the set: the `almagill`
    /// rule ("leader from stake and view number"). Memoryless: the draw of
    /// one view does not depend on who led the views before it.
    StakeAndView,
}

/// Parameters of a BFT chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BftParams {
    /// The genesis validator set.
    #[serde(default)]
    pub validators: Vec<GenesisValidator>,
    /// Well-known development validators ([`ChainSpec::dev_validator_seed`])
    /// added to the genesis set with power 1 each; only for local chains.
    #[serde(default)]
    pub dev_validators: u32,
    /// Whether authority-change transactions may change the validator set
    /// (ADR 0025): the `poa` governance rule.
    #[serde(default)]
    pub authority_changes: bool,
    /// Time a validator waits for the proposal in round 0.
    #[serde(default = "default_timeout_propose")]
    pub timeout_propose_ms: u64,
    /// Added to the propose timeout per round.
    #[serde(default = "default_timeout_delta")]
    pub timeout_propose_delta_ms: u64,
    /// Time a validator waits for more prevotes after seeing a quorum of any.
    #[serde(default = "default_timeout_vote")]
    pub timeout_prevote_ms: u64,
    /// Added to the prevote timeout per round.
    #[serde(default = "default_timeout_delta")]
    pub timeout_prevote_delta_ms: u64,
    /// Time a validator waits for more precommits after a quorum of any.
    #[serde(default = "default_timeout_vote")]
    pub timeout_precommit_ms: u64,
    /// Added to the precommit timeout per round.
    #[serde(default = "default_timeout_delta")]
    pub timeout_precommit_delta_ms: u64,
    /// How the proposer of a round is chosen.
    #[serde(default)]
    pub proposer_selection: ProposerSelection,
    /// Longest pause after a height is decided by this node's votes, before
    /// the next one starts, while precommits of validators the decision's
    /// certificate lacks may still arrive (CometBFT's `timeout_commit`):
    /// they join the certificate the next block carries, which downtime
    /// slashing reads (ADR 0042). The pause ends early once every validator
    /// has signed, and is never longer than the block interval. 0 (the
    /// default) waits only for the block interval's pace.
    #[serde(default)]
    pub timeout_commit_ms: u64,
    /// How far ahead of a validator's clock a new proposal's time may be in
    /// round 0 (ADR 0065; CometBFT's `precision`): the bound doubles with
    /// each round up to eight times it (never past
    /// `max_future_block_time_secs`), so validators whose clocks disagree by
    /// a little more still decide in a later round. A proposal
    /// past it is prevoted nil, so one proposer with a fast clock cannot
    /// carry the chain's time ahead of everyone's.
    #[serde(default = "default_proposal_time_precision")]
    pub proposal_time_precision_ms: u64,
}

/// Proof-of-work parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowParams {
    /// The easiest allowed target, in compact form.
    pub pow_limit_bits: u32,
    /// Target time between blocks.
    pub target_spacing_secs: u64,
    /// Blocks between difficulty adjustments.
    pub retarget_window: u64,
    /// Largest factor the target may change by in one adjustment.
    pub max_adjustment: u64,
    /// Blocks whose median time a new block must exceed.
    pub median_time_span: u64,
}

/// Deepest reorganisation a node follows unless the spec says otherwise.
pub const DEFAULT_MAX_REORG_DEPTH: u64 = 100;

fn default_max_reorg_depth() -> u64 {
    DEFAULT_MAX_REORG_DEPTH
}

/// New coins per block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Monetary {
    /// Subsidy of the first blocks, in base units.
    pub initial_subsidy: Amount,
    /// Blocks between halvings of the subsidy; 0 never halves.
    pub halving_interval: u64,
}

/// A genesis output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Allocation {
    /// Receiving address (this chain's prefix).
    pub address: String,
    /// Amount in base units.
    pub amount: Amount,
}

/// The genesis block's fixed fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// Header time (Unix seconds).
    pub time: u32,
    /// Header `bits`.
    pub bits: u32,
    /// Header nonce.
    pub nonce: u32,
    /// Coins that exist from the start.
    #[serde(default)]
    pub allocations: Vec<Allocation>,
}

/// A chain specification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    /// Preset or chain name; also the data directory name.
    pub name: String,
    /// Numeric chain id every transaction commits to.
    pub chain_id: u32,
    /// bech32m human-readable prefix of addresses.
    pub address_hrp: String,
    /// Block production.
    pub consensus: ConsensusKind,
    /// Target time between blocks in milliseconds.
    pub block_interval_ms: u64,
    /// Largest encoded block.
    pub max_block_bytes: usize,
    /// Largest encoded transaction.
    pub max_tx_bytes: usize,
    /// Signature schemes keys, signatures and locks may use.
    pub allowed_schemes: Vec<SchemeId>,
    /// Scheme wallets use by default.
    pub default_scheme: SchemeId,
    /// Minimum fee in base units per byte of encoded transaction.
    pub min_fee_rate: u64,
    /// Blocks before a coinbase output may be spent.
    pub coinbase_maturity: u64,
    /// How far past local time a block's time may be.
    pub max_future_block_time_secs: u64,
    /// Subsidy schedule.
    pub monetary: Monetary,
    /// Genesis block.
    pub genesis: Genesis,
    /// Proof-of-work parameters (for `consensus = "pow"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pow: Option<PowParams>,
    /// How headers commit to transactions: `tagged` (a tagged Merkle tree
    /// over wtxids) or `bitcoin` (Bitcoin's Merkle tree, the witnesses
    /// committed in the coinbase; what unmodified mining software builds).
    #[serde(default)]
    pub merkle_commitment: MerkleCommitment,
    /// Validators and timeouts (for `consensus = "bft"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bft: Option<BftParams>,
    /// Deepest reorganisation a node will follow; deeper ones are refused.
    /// On proof-of-work and `dev` chains a block this deep is final.
    #[serde(default = "default_max_reorg_depth")]
    pub max_reorg_depth: u64,
    /// Number of well-known development keys ([`ChainSpec::dev_key_seed`]);
    /// only for local test chains.
    #[serde(default)]
    pub dev_keys: u32,
    /// Proof-of-stake parameters (ADR 0031); without them the staking
    /// transaction kinds are refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub staking: Option<StakingParams>,
}

/// A spec that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// Not valid TOML for a spec.
    #[error("chain spec is not valid: {0}")]
    Parse(String),
    /// No preset of that name.
    #[error("unknown chain preset {0:?} (known: {known})", known = PRESETS.join(", "))]
    UnknownPreset(String),
    /// Fields contradict each other.
    #[error("chain spec is inconsistent: {0}")]
    Invalid(String),
    /// The `[staking]` table is unusable.
    #[error("chain spec is inconsistent: {0}")]
    Staking(#[from] StakingParamsError),
    /// A proof-of-work difficulty field is unusable.
    #[error("chain spec is inconsistent: {0}")]
    Pow(#[from] PowSpecError),
    /// The spec takes a preset's chain id with another genesis block.
    #[error(
        "chain spec {name:?} uses chain id {chain_id} of the {preset:?} preset with another \
         genesis; give it its own chain id, or allow the reuse explicitly"
    )]
    ChainIdOfPreset {
        /// The spec's name.
        name: String,
        /// The shared chain id.
        chain_id: u32,
        /// The preset that owns it.
        preset: &'static str,
    },
}

/// A proof-of-work spec whose difficulty fields no block could meet or
/// that would leave the difficulty without a floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PowSpecError {
    /// `[pow] pow_limit_bits` encodes no target.
    #[error("pow_limit_bits {bits:#010x} is not a valid compact target: {reason}")]
    PowLimitBits {
        /// The field's value.
        bits: u32,
        /// Why it is no target.
        reason: CompactError,
    },
    /// `[genesis] bits` encodes no target.
    #[error("genesis bits {bits:#010x} is not a valid compact target: {reason}")]
    GenesisBits {
        /// The field's value.
        bits: u32,
        /// Why it is no target.
        reason: CompactError,
    },
    /// `[genesis] bits` is easier than the proof-of-work limit: blocks
    /// after genesis inherit it and every one of them would be refused.
    #[error(
        "genesis bits {bits:#010x} is easier than pow_limit_bits {limit:#010x}: no block \
         could follow genesis"
    )]
    GenesisEasierThanLimit {
        /// The genesis block's bits.
        bits: u32,
        /// The spec's `pow_limit_bits`.
        limit: u32,
    },
}

impl PowParams {
    /// The easiest allowed target, `pow_limit_bits` decoded.
    pub fn pow_limit(&self) -> Result<U256, PowSpecError> {
        target_from_compact(self.pow_limit_bits).map_err(|reason| PowSpecError::PowLimitBits {
            bits: self.pow_limit_bits,
            reason,
        })
    }

    /// Checks that `pow_limit_bits` and the genesis block's `bits` are
    /// targets, the genesis one no easier than the limit.
    pub fn check_difficulty(&self, genesis_bits: u32) -> Result<(), PowSpecError> {
        let limit = self.pow_limit()?;
        let genesis =
            target_from_compact(genesis_bits).map_err(|reason| PowSpecError::GenesisBits {
                bits: genesis_bits,
                reason,
            })?;
        if genesis > limit {
            return Err(PowSpecError::GenesisEasierThanLimit {
                bits: genesis_bits,
                limit: self.pow_limit_bits,
            });
        }
        Ok(())
    }
}

/// Extra coinbase bytes (pool tag, extranonce) that do not fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("coinbase extra data is {len} bytes, at most {max} fit")]
pub struct CoinbaseExtraError {
    /// Bytes asked for.
    pub len: usize,
    /// Bytes that fit.
    pub max: usize,
}

/// Names of the compiled-in presets.
pub const PRESETS: &[&str] = &["dev", "qbtc", "poa", "nextgen", "almagill", "sidechain"];

const DEV: &str = include_str!("../presets/dev.toml");
const QBTC: &str = include_str!("../presets/qbtc.toml");
const POA: &str = include_str!("../presets/poa.toml");
const NEXTGEN: &str = include_str!("../presets/nextgen.toml");
const ALMAGILL: &str = include_str!("../presets/almagill.toml");
const SIDECHAIN: &str = include_str!("../presets/sidechain.toml");

impl ChainSpec {
    /// A compiled-in preset.
    pub fn preset(name: &str) -> Result<ChainSpec, SpecError> {
        ChainSpec::from_toml(ChainSpec::preset_toml(name)?)
    }

    /// The TOML source of a preset.
    pub fn preset_toml(name: &str) -> Result<&'static str, SpecError> {
        match name {
            "dev" => Ok(DEV),
            "qbtc" => Ok(QBTC),
            "poa" => Ok(POA),
            "nextgen" => Ok(NEXTGEN),
            "almagill" => Ok(ALMAGILL),
            "sidechain" => Ok(SIDECHAIN),
            other => Err(SpecError::UnknownPreset(other.to_string())),
        }
    }

    /// Parses and checks a spec.
    pub fn from_toml(s: &str) -> Result<ChainSpec, SpecError> {
        let spec: ChainSpec = toml::from_str(s).map_err(|e| SpecError::Parse(e.to_string()))?;
        spec.check()?;
        Ok(spec)
    }

    fn check(&self) -> Result<(), SpecError> {
        let bad = |m: &str| Err(SpecError::Invalid(m.to_string()));
        // The name is the chain's directory under the data directory: no
        // separators, no "..", nothing a shell or file system treats
        // specially.
        if self.name.is_empty()
            || self.name.len() > 64
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return bad("name must be 1 to 64 letters, digits, '-' or '_'");
        }
        if bech32::Hrp::parse(&self.address_hrp).is_err() || self.address_hrp.is_empty() {
            return bad("address_hrp is not a valid bech32 prefix");
        }
        if self.address_hrp.chars().any(|c| c.is_ascii_uppercase()) {
            return bad("address_hrp must be lower case");
        }
        if self.block_interval_ms == 0 {
            return bad("block_interval_ms must be positive");
        }
        if self.max_tx_bytes == 0 || self.max_tx_bytes > self.max_block_bytes {
            return bad("max_tx_bytes must be positive and at most max_block_bytes");
        }
        if self.allowed_schemes.is_empty() || !self.allowed_schemes.contains(&self.default_scheme) {
            return bad("default_scheme must be one of allowed_schemes");
        }
        // The staking table first: the genesis validators' powers on a
        // staking chain come from its minimum stake.
        if let Some(staking) = &self.staking {
            if self.consensus != ConsensusKind::Bft {
                return Err(StakingParamsError::NotBft.into());
            }
            staking.check()?;
        }
        match self.consensus {
            ConsensusKind::Pow => {
                let Some(p) = &self.pow else {
                    return bad("consensus = \"pow\" needs a [pow] table");
                };
                if p.target_spacing_secs == 0
                    || p.retarget_window == 0
                    || p.max_adjustment == 0
                    || p.median_time_span == 0
                {
                    return bad("pow parameters must be positive");
                }
                p.check_difficulty(self.genesis.bits)?;
                if self.bft.is_some() {
                    return bad("a [bft] table needs consensus = \"bft\"");
                }
            }
            ConsensusKind::Bft => {
                if self.pow.is_some() {
                    return bad("a [pow] table needs consensus = \"pow\"");
                }
                if self
                    .bft
                    .as_ref()
                    .is_some_and(|b| b.proposal_time_precision_ms == 0)
                {
                    return bad("proposal_time_precision_ms must be positive");
                }
                let set = self.genesis_validators()?;
                if set
                    .validators()
                    .iter()
                    .any(|v| !self.allows(v.public_key.scheme))
                {
                    return bad("a genesis validator uses a scheme the chain does not allow");
                }
            }
            ConsensusKind::Dev => {
                if self.pow.is_some() || self.bft.is_some() {
                    return bad("consensus = \"dev\" takes neither a [pow] nor a [bft] table");
                }
            }
        }
        if self.staking.is_some() {
            if self.authority_changes() {
                return bad("on a staking chain the validator set comes from stake: authority_changes must be off");
            }
            let set = self.genesis_validators()?;
            if set
                .validators()
                .iter()
                .any(|v| Amount::from_base(v.power).is_none())
            {
                return bad(
                    "a genesis validator's power is its bonded stake: it must be a valid amount",
                );
            }
        }
        let mut total = Amount::ZERO;
        for a in &self.genesis.allocations {
            let addr = Address::parse(&a.address, &self.address_hrp)
                .map_err(|e| SpecError::Invalid(format!("allocation {}: {e}", a.address)))?;
            // A multisig allocation's keys are behind its root; their
            // schemes are checked when it is spent.
            if let Lock::Key { scheme, .. } = addr.lock {
                if !self.allowed_schemes.contains(&scheme) {
                    return bad("an allocation is locked to a scheme the chain does not allow");
                }
            }
            if a.amount == Amount::ZERO {
                return bad("allocations must be positive");
            }
            total = total
                .checked_add(a.amount)
                .map_err(|_| SpecError::Invalid("allocations exceed the maximum amount".into()))?;
        }
        Ok(())
    }

    /// The block subsidy at `height`.
    pub fn subsidy(&self, height: u64) -> Amount {
        let halvings = match self.monetary.halving_interval {
            0 => 0,
            n => height / n,
        };
        if halvings >= 64 {
            return Amount::ZERO;
        }
        Amount::from_base(self.monetary.initial_subsidy.base() >> halvings)
            .expect("a right shift never increases an in-range amount")
    }

    /// The most the coinbase of the block at `height` may claim when the
    /// block's transactions pay `fees`: subsidy plus fees when the
    /// proposer earns them (every chain without a `[staking]` table, and
    /// `rewards = "proposer"`), nothing under the pot rules, where the
    /// staking state collects them for the epoch's payout (ADR 0038).
    pub fn coinbase_allowance(&self, height: u64, fees: Amount) -> Result<Amount, AmountError> {
        let subsidy_and_fees = self.subsidy(height).checked_add(fees)?;
        match &self.staking {
            Some(s) if !s.rewards.proposer_claims() => Ok(Amount::ZERO),
            _ => Ok(subsidy_and_fees),
        }
    }

    /// The coins that exist at genesis, in base units: the genesis block's
    /// allocations plus, on a staking chain, the genesis validators' bonds
    /// ([`crate::StakingState::genesis_bonded`]).
    pub fn genesis_supply(&self) -> u128 {
        let allocated: u128 = self
            .genesis
            .allocations
            .iter()
            .map(|a| u128::from(a.amount.base()))
            .sum();
        let bonded = if self.staking.is_some() {
            crate::StakingState::genesis_bonded(self)
        } else {
            0
        };
        allocated + bonded
    }

    /// The coins issued by the block at `height` and all before it: the
    /// genesis supply plus the subsidy of blocks `1..=height`, in base
    /// units (without iterating over the heights).
    pub fn issued_supply(&self, height: u64) -> u128 {
        let initial = u128::from(self.monetary.initial_subsidy.base());
        let subsidies = match self.monetary.halving_interval {
            0 => initial * u128::from(height),
            n => {
                // Heights k·n ..= (k+1)·n − 1 pay initial >> k; block 0
                // pays nothing.
                let mut sum = 0u128;
                for k in 0..64u64 {
                    let Some(start) = k.checked_mul(n) else { break };
                    let start = start.max(1);
                    if start > height {
                        break;
                    }
                    let end = k
                        .checked_add(1)
                        .and_then(|k1| k1.checked_mul(n))
                        .map_or(height, |e| (e - 1).min(height));
                    if end >= start {
                        sum += (initial >> k) * u128::from(end - start + 1);
                    }
                }
                sum
            }
        };
        self.genesis_supply() + subsidies
    }

    /// Whether authority changes may change the validator set (a BFT chain
    /// whose spec says so).
    pub fn authority_changes(&self) -> bool {
        self.bft.as_ref().is_some_and(|b| b.authority_changes)
    }

    /// Whether an address must be created (`create-account`) before it
    /// can receive coins.
    pub fn requires_account_creation(&self) -> bool {
        self.staking
            .as_ref()
            .is_some_and(|s| s.require_account_creation)
    }

    /// Whether `scheme` is allowed.
    pub fn allows(&self, scheme: SchemeId) -> bool {
        self.allowed_schemes.contains(&scheme)
    }

    /// Parses an address of this chain.
    pub fn parse_address(&self, s: &str) -> Result<Address, luminex_primitives::AddressError> {
        Address::parse(s, &self.address_hrp)
    }

    /// Shows a lock as an address of this chain.
    pub fn address(&self, lock: Lock) -> Address {
        Address {
            hrp: self.address_hrp.clone(),
            lock,
        }
    }

    /// The deterministic genesis block.
    pub fn genesis_block(&self) -> Block {
        let outputs = self
            .genesis
            .allocations
            .iter()
            .map(|a| TxOut {
                amount: a.amount,
                lock: Address::parse(&a.address, &self.address_hrp)
                    .expect("allocations were checked when the spec loaded")
                    .lock,
            })
            .collect();
        let coinbase = self
            .coinbase(0, outputs, &[], &[])
            .expect("no extra coinbase bytes always fit");
        let header: Header = match self.consensus {
            ConsensusKind::Dev | ConsensusKind::Pow => PowHeader {
                version: 1,
                prev_hash: Hash::ZERO,
                merkle_root: Hash::ZERO,
                time: self.genesis.time,
                bits: self.genesis.bits,
                nonce: self.genesis.nonce,
            }
            .into(),
            ConsensusKind::Bft => {
                let record = self
                    .bft_genesis()
                    .expect("the validator set was checked when the spec loaded");
                BftHeader {
                    version: BFT_VERSION,
                    height: 0,
                    time_ms: u64::from(self.genesis.time) * 1000,
                    prev_hash: Hash::ZERO,
                    tx_root: Hash::ZERO,
                    proposer: Hash::ZERO,
                    validators_hash: record.validators.hash(),
                    next_validators_hash: record.next_validators.hash(),
                    last_commit_hash: Hash::ZERO,
                    state_root: record.hash(),
                }
                .into()
            }
        };
        let mut block = Block::new(header, vec![coinbase]);
        let root = self.merkle_root(&block.txs);
        block.header.set_merkle_root(root);
        block
    }

    /// The genesis validator set of a BFT chain.
    pub fn genesis_validators(&self) -> Result<ValidatorSet, SpecError> {
        let Some(bft) = &self.bft else {
            return Err(SpecError::Invalid(
                "consensus = \"bft\" needs a [bft] table".into(),
            ));
        };
        let mut validators = Vec::new();
        for g in &bft.validators {
            let bytes = hex::decode(&g.public_key)
                .map_err(|e| SpecError::Invalid(format!("validator public key is not hex: {e}")))?;
            if bytes.len() != g.scheme.public_key_len() {
                return Err(SpecError::Invalid(format!(
                    "a {} validator key has {} bytes, not {}",
                    g.scheme,
                    bytes.len(),
                    g.scheme.public_key_len()
                )));
            }
            validators.push(Validator {
                public_key: PublicKey {
                    scheme: g.scheme,
                    bytes,
                },
                power: g.power,
            });
        }
        // On a staking chain a validator's power is its bonded stake in
        // base units (ADR 0034): development validators start with the
        // minimum stake each.
        let dev_power = self.staking.as_ref().map_or(1, |s| s.min_stake.base());
        for i in 0..bft.dev_validators {
            let key = luminex_crypto::SigningKey::from_seed(
                self.default_scheme,
                &Self::dev_validator_seed(i),
            );
            validators.push(Validator {
                public_key: key.public_key().clone(),
                power: dev_power,
            });
        }
        ValidatorSet::new(validators)
            .map_err(|e| SpecError::Invalid(format!("genesis validators: {e}")))
    }

    /// The consensus state after the genesis block of a BFT chain: the
    /// genesis set finalizes heights 1 and 2, priorities start at zero.
    pub fn bft_genesis(&self) -> Result<ConsensusRecord, SpecError> {
        let set = self.genesis_validators()?;
        Ok(ConsensusRecord {
            height: 0,
            priorities: vec![0; set.len()],
            validators: set.clone(),
            next_validators: set,
            pending: Vec::new(),
            scheduled: None,
        })
    }

    /// The seed of well-known development validator `index` (public
    /// knowledge, like [`ChainSpec::dev_key_seed`]).
    pub fn dev_validator_seed(index: u32) -> [u8; 32] {
        luminex_primitives::hash::Domain("luminex/dev-validator")
            .hash(&index.to_le_bytes())
            .0
    }

    /// The coinbase of a block at `height` paying `outputs`, whose other
    /// transactions are `others`. `extra` (a pool tag, an extranonce) goes in
    /// the coinbase's data: with Bitcoin's commitment after the witness
    /// commitment of `others`, up to [`MAX_COINBASE_EXTRA`] bytes; with the
    /// tagged commitment alone, up to 80 bytes.
    pub fn coinbase(
        &self,
        height: u64,
        outputs: Vec<TxOut>,
        extra: &[u8],
        others: &[Transaction],
    ) -> Result<Transaction, CoinbaseExtraError> {
        let wtxids: Vec<Hash> = match self.merkle_commitment {
            MerkleCommitment::Tagged => Vec::new(),
            MerkleCommitment::Bitcoin => others.iter().map(Transaction::wtxid).collect(),
        };
        self.coinbase_with_wtxids(height, outputs, extra, &wtxids)
    }

    /// [`ChainSpec::coinbase`] given the wtxids of the other transactions,
    /// in block order (a block template has them from the mempool, and a
    /// wtxid hashes a whole transaction with its signatures). Only Bitcoin's
    /// commitment reads them.
    pub fn coinbase_with_wtxids(
        &self,
        height: u64,
        outputs: Vec<TxOut>,
        extra: &[u8],
        others_wtxids: &[Hash],
    ) -> Result<Transaction, CoinbaseExtraError> {
        let data = match self.merkle_commitment {
            MerkleCommitment::Tagged => {
                let max = luminex_primitives::tx::MAX_TX_DATA as usize;
                if extra.len() > max {
                    return Err(CoinbaseExtraError {
                        len: extra.len(),
                        max,
                    });
                }
                extra.to_vec()
            }
            MerkleCommitment::Bitcoin => {
                let mut wtxids = Vec::with_capacity(others_wtxids.len() + 1);
                wtxids.push(Hash::ZERO);
                wtxids.extend_from_slice(others_wtxids);
                commitment::coinbase_data(&commitment::witness_commitment(&wtxids), extra).ok_or(
                    CoinbaseExtraError {
                        len: extra.len(),
                        max: MAX_COINBASE_EXTRA,
                    },
                )?
            }
        };
        Ok(Transaction {
            version: if data.is_empty() { 1 } else { 2 },
            chain_id: self.chain_id,
            kind: TxKind::Coinbase { height },
            inputs: vec![],
            outputs,
            expiry_height: 0,
            witnesses: vec![],
            data,
        })
    }

    /// The Merkle root a header carries for `txs` (coinbase first) on this
    /// chain.
    pub fn merkle_root(&self, txs: &[Transaction]) -> Hash {
        self.merkle_commitment.root(txs)
    }

    /// [`ChainSpec::merkle_root`] given the transactions' ids, coinbase
    /// first ([`MerkleCommitment::root_of_ids`]).
    pub fn merkle_root_of_ids(
        &self,
        coinbase: &Transaction,
        txids: &[Hash],
        wtxids: &[Hash],
    ) -> Hash {
        self.merkle_commitment.root_of_ids(coinbase, txids, wtxids)
    }

    /// The hash of [`ChainSpec::genesis_block`]: with the chain id, the
    /// replay domain every signature commits to.
    pub fn genesis_hash(&self) -> Hash {
        self.genesis_block().hash()
    }

    /// Refuses a spec that takes a compiled-in preset's chain id with
    /// another genesis block. Signatures commit to the genesis hash, so such
    /// a chain does not share the preset's replay domain, but wallets, tools
    /// and people tell chains apart by their id: a second chain under a
    /// known id is a mistake unless its operator says otherwise.
    pub fn check_chain_id_is_its_own(&self) -> Result<(), SpecError> {
        let genesis = self.genesis_hash();
        for &name in PRESETS {
            let preset = ChainSpec::preset(name)?;
            if preset.chain_id == self.chain_id && preset.genesis_hash() != genesis {
                return Err(SpecError::ChainIdOfPreset {
                    name: self.name.clone(),
                    chain_id: self.chain_id,
                    preset: name,
                });
            }
        }
        Ok(())
    }

    /// The seed of well-known development key `index`. These keys are public
    /// knowledge: they exist so a local chain has funded accounts.
    pub fn dev_key_seed(index: u32) -> [u8; 32] {
        luminex_primitives::hash::Domain("luminex/dev-key")
            .hash(&index.to_le_bytes())
            .0
    }

    /// Development key `index`, if the spec has that many.
    pub fn dev_key(&self, index: u32) -> Option<luminex_crypto::SigningKey> {
        (index < self.dev_keys).then(|| {
            luminex_crypto::SigningKey::from_seed(self.default_scheme, &Self::dev_key_seed(index))
        })
    }

    /// The minimum fee for a transaction of `size` bytes.
    pub fn min_fee(&self, size: usize) -> u64 {
        self.min_fee_rate.saturating_mul(size as u64)
    }
}
