//! What a simulation runs: each validator's behaviour, the network's
//! faults (drops, delays, a partition, crashes, slow nodes), the chain's
//! spec, and the random configurations a sweep of seeds draws.

use luminex_ledger::spec::{ChainSpec, ProposerSelection};

use crate::Rng;

/// How a validator behaves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Behaviour {
    /// Follows the protocol.
    Honest,
    /// Sends nothing.
    Silent,
    /// Sends, next to each of its votes, a conflicting one.
    DoubleVoter,
    /// As proposer, sends one proposal to half of the peers and another
    /// to the rest.
    Equivocator,
    /// As proposer, proposes blocks that are invalid.
    InvalidProposer,
    /// Sends undecodable bytes and votes with broken signatures instead of
    /// its messages.
    Garbage,
    /// Follows the protocol by a clock [`FAST_CLOCK_MS`] ahead of the
    /// others' (within `max_future_block_time_secs`), so it dates its
    /// proposals that far ahead (ADR 0065).
    FastClock,
}

/// How far ahead of the simulated time a [`Behaviour::FastClock`]
/// validator's clock runs: 110 minutes.
pub const FAST_CLOCK_MS: u64 = 110 * 60 * 1000;

/// A simulation's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// One entry per validator.
    pub behaviours: Vec<Behaviour>,
    /// Percent of messages dropped until the network heals.
    pub drop_percent: u64,
    /// Link delays are drawn from 1..=`max_delay_ms` (plus `min_delay_ms`).
    pub max_delay_ms: u64,
    /// Least link delay.
    pub min_delay_ms: u64,
    /// Nodes cut off from the others until `heal_ms`.
    pub partitioned: Vec<usize>,
    /// When the network heals (simulated ms from the start).
    pub heal_ms: u64,
    /// Honest nodes that crash before `heal_ms`: (node, crash at, restart
    /// at), restart no later than `heal_ms`.
    pub crashes: Vec<(usize, u64, u64)>,
    /// Blocks every honest node must finalize after the network healed.
    pub blocks_after_heal: u64,
    /// The locking rule (off only to show the simulation catches it).
    pub locking: bool,
    /// Transfers submitted during the run.
    pub transfers: usize,
    /// Simulated time allowed after the heal for the required blocks.
    pub liveness_ms: u64,
    /// Whether nodes that are behind fetch certified blocks from peers
    /// (off only to let a test reach a state that catch-up would mend).
    pub catch_up: bool,
    /// How proposers are chosen (the spec's rule).
    pub proposer_selection: ProposerSelection,
    /// A staking chain (ADR 0034) instead of an authority chain.
    pub staking: Option<StakingRun>,
    /// Nodes slower than the rest: (node, ms) adds `ms` to every message
    /// the node sends or receives, so it is the last to vote at every
    /// height while still live.
    pub slow: Vec<(usize, u64)>,
}

/// A staking chain's run: the last `joiners` nodes start outside the
/// validator set and bond stake (or register as nodes) at the start, so
/// elections at epoch boundaries must seat them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StakingRun {
    /// The staking preset whose rules run (`nextgen`, `almagill`,
    /// `sidechain`): its money, accounts and staking rules, with the
    /// epochs, seats and committee below and short timeouts.
    pub preset: &'static str,
    /// Blocks per epoch.
    pub epoch_blocks: u64,
    /// Seats of a stake election.
    pub max_validators: u32,
    /// A committee of this many registered nodes instead of an election by
    /// stake (the `sidechain` design).
    pub committee_size: Option<u32>,
    /// Nodes that join: each bonds [`JOIN_STAKE`] (or registers).
    pub joiners: usize,
    /// Registered nodes (node indexes) that never send a heartbeat. On a
    /// chain that pays registered nodes for their heartbeats
    /// (`equal_registered_nodes`, ADR 0038) every other registered joiner
    /// sends one in each epoch.
    pub without_heartbeats: Vec<usize>,
}

impl Default for StakingRun {
    /// `nextgen` with 5-block epochs and 4 seats, nobody joining.
    fn default() -> StakingRun {
        StakingRun {
            preset: "nextgen",
            epoch_blocks: 5,
            max_validators: 4,
            committee_size: None,
            joiners: 0,
            without_heartbeats: Vec::new(),
        }
    }
}

/// Minimum stake of a simulated staking chain (base units); genesis
/// validators start with it.
pub const MIN_STAKE: u64 = 100_000_000;
/// What each joining node bonds: more than any genesis validator, so an
/// election by stake seats it.
pub const JOIN_STAKE: u64 = 3 * MIN_STAKE;

/// Simulated time allowed by default after the heal for the required
/// blocks.
pub const LIVENESS_MS: u64 = 60_000;
/// The spec the simulation runs: the `poa` preset with `n` development
/// validators and short timeouts.
pub fn sim_spec(n: usize) -> ChainSpec {
    preset_sim_spec("poa", n)
}

/// BFT preset `preset` with `n` development validators and short
/// timeouts.
///
/// # Panics
///
/// If `preset` is not a BFT preset.
pub fn preset_sim_spec(preset: &str, n: usize) -> ChainSpec {
    let mut spec = ChainSpec::preset(preset).expect("a preset");
    let bft = spec.bft.as_mut().expect("a BFT preset");
    bft.dev_validators = n as u32;
    bft.timeout_propose_ms = 300;
    bft.timeout_propose_delta_ms = 100;
    bft.timeout_prevote_ms = 200;
    bft.timeout_prevote_delta_ms = 100;
    bft.timeout_precommit_ms = 200;
    bft.timeout_precommit_delta_ms = 100;
    // A preset that pauses after a decision for late precommits (ADR 0042)
    // pauses at the same scale as these timeouts.
    bft.timeout_commit_ms = bft.timeout_commit_ms.min(SIM_TIMEOUT_COMMIT_MS);
    spec
}

/// The commit pause of [`preset_sim_spec`] on presets that have one.
pub const SIM_TIMEOUT_COMMIT_MS: u64 = 100;

/// A random configuration of `n` validators with `byzantine` of them
/// misbehaving, drawn from `seed`: drops, delays, maybe a partition that
/// heals and a crash and restart of an honest node.
pub fn random_config(seed: u64, n: usize, byzantine: usize) -> Config {
    let mut rng = Rng::new(seed ^ 0x5151_5151_5151_5151);
    let kinds = [
        Behaviour::Silent,
        Behaviour::DoubleVoter,
        Behaviour::Equivocator,
        Behaviour::InvalidProposer,
        Behaviour::Garbage,
    ];
    let mut behaviours = vec![Behaviour::Honest; n];
    let mut placed = 0;
    while placed < byzantine {
        let i = rng.below(n as u64) as usize;
        if behaviours[i] == Behaviour::Honest {
            behaviours[i] = kinds[rng.below(kinds.len() as u64) as usize];
            placed += 1;
        }
    }
    let partitioned: Vec<usize> = (0..n).filter(|_| rng.chance(25)).collect();
    let disrupted = !partitioned.is_empty() || rng.chance(50);
    let heal_ms = if disrupted { 500 + rng.below(4000) } else { 0 };
    let mut crashes = Vec::new();
    if heal_ms > 0 && rng.chance(50) {
        let honest: Vec<usize> = (0..n)
            .filter(|i| behaviours[*i] == Behaviour::Honest)
            .collect();
        let node = honest[rng.below(honest.len() as u64) as usize];
        let at = rng.below(heal_ms);
        let back = at + rng.below(heal_ms - at + 1);
        crashes.push((node, at, back));
    }
    Config {
        behaviours,
        drop_percent: if heal_ms > 0 { rng.below(30) } else { 0 },
        max_delay_ms: 1 + rng.below(60),
        min_delay_ms: 0,
        partitioned,
        heal_ms,
        crashes,
        blocks_after_heal: 2,
        locking: true,
        transfers: 4,
        liveness_ms: LIVENESS_MS,
        catch_up: true,
        // Drawn last, so the draws above stay what they were before the
        // rule was part of the configuration.
        proposer_selection: if rng.chance(50) {
            ProposerSelection::StakeAndView
        } else {
            ProposerSelection::Rotation
        },
        staking: None,
        slow: Vec::new(),
    }
}

/// The configuration of seed `seed` in a sweep: even seeds 4 validators
/// (f = 1), odd seeds 7 (f = 2), with 0..=f of them Byzantine in turn.
pub fn sweep_config(seed: u64) -> Config {
    let (n, f) = if seed.is_multiple_of(2) {
        (4, 1)
    } else {
        (7, 2)
    };
    random_config(seed, n, (seed as usize / 2) % (f + 1))
}
