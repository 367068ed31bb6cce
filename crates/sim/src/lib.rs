//! A deterministic simulation of a whole BFT network in one process.
//!
//! N validators run the real ledger, mempool, storage (memory backend) and
//! BFT engine over a simulated network — seeded delays, drops, duplicates,
//! reordering and a partition that heals — and a simulated clock, with
//! crashes that lose everything not recorded on "disk" and restarts from
//! it. Byzantine validators run the same engine with their output
//! corrupted: a proposer that sends different proposals to different
//! peers, a validator that double-votes, one that stays silent, one that
//! proposes invalid blocks, one that sends garbage.
//!
//! Checked after every event: no two honest nodes finalize different blocks
//! at one height; no honest validator ever signs two different votes for
//! one height, round and kind (across its restarts too); the coin supply of
//! every honest node equals the genesis coins plus the subsidies of its
//! blocks (every finalized transaction was validated by the chain itself).
//! After the network heals and crashed nodes are back, every honest node
//! must finalize new blocks within a bounded simulated time.
//!
//! On a staking chain ([`StakingRun`]) some nodes start outside the set and
//! a client per node bonds its stake or registers it, submitting its join
//! again each epoch until the chain has it; on a chain that pays
//! registered nodes for their heartbeats each registered client sends one
//! per epoch (but those told not to), paying a fee. The rewards every epoch
//! boundary paid are kept per node ([`Run::payouts`]), so that a test can
//! check them against what the blocks call for.
//!
//! Everything is drawn from one seed: a failing run prints its seed, and
//! [`simulate`] with that seed and configuration replays it exactly (the
//! report's `trace` digest is identical).

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::sync::Arc;

use luminex_consensus::bft::evidence::{AddEvidence, CheckEvidence};
use luminex_consensus::bft::machine::TimeoutKind;
use luminex_consensus::bft::relay::{Lookup, Outcome as RelayOutcome};
use luminex_consensus::bft::{
    BftRules, ConsensusMessage, DuplicateVoteEvidence, Effect, Gossip, ProposalRelay, Relay,
    VoteKind,
};
use luminex_crypto::SigningKey;
use luminex_ledger::spec::ChainSpec;
pub use luminex_ledger::spec::ProposerSelection;
use luminex_primitives::codec::{Decode, Encode};
use luminex_primitives::hash::Domain;
use luminex_primitives::{Block, CommitCertificate, Hash, Transaction, TxOut};

mod byzantine;
mod clients;
pub mod node;
mod rng;
mod staking;
mod workload;

use node::{NodeHost, SimNode};
pub use rng::Rng;
pub use staking::{simulate_run, Run};

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
}

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

/// What a run found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Safe, and every honest node finalized its blocks after the heal.
    Live {
        /// Lowest height an honest node reached.
        height: u64,
    },
    /// Safety broken.
    SafetyViolation(String),
    /// Nothing unsafe, but some honest node did not finalize enough blocks
    /// in the time allowed after the heal.
    NoProgress {
        /// Heights the honest nodes reached.
        heights: Vec<u64>,
    },
}

/// A run's outcome and figures.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Report {
    /// What happened.
    pub outcome: Outcome,
    /// Digest of every event in order (equal for equal seeds and configs).
    pub trace: Hash,
    /// Simulated time at the end (ms).
    pub sim_ms: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Simulated ms between consecutive finalized heights, as first seen by
    /// any honest node, after the heal.
    pub block_intervals_ms: Vec<u64>,
    /// Bytes of each commit certificate finalized (encoded), as the
    /// decision built it.
    pub certificate_bytes: Vec<usize>,
    /// Bytes of the certificate each finalized block carries of its parent
    /// (`last_commit`, encoded): the decision's with the precommits that
    /// arrived during the commit pause (ADR 0042).
    pub carried_certificate_bytes: Vec<usize>,
    /// Compact proposals nodes rebuilt only after asking for transactions
    /// (the simulation has no transaction gossip: a submission reaches one
    /// mempool).
    pub fetched_proposals: u64,
    /// Where each node ended: height, round and step, or "down".
    pub nodes: Vec<String>,
    /// Per node (empty while down), the validators (node indexes) it
    /// holds double-signing evidence against.
    pub evidence: Vec<BTreeSet<usize>>,
    /// The validator set (node indexes) that finalized each height from 1,
    /// as the first live honest node's chain records it.
    pub validator_sets: Vec<BTreeSet<usize>>,
}

/// Simulated time allowed by default after the heal for the required
/// blocks.
pub const LIVENESS_MS: u64 = 60_000;
/// How often a node re-gossips and announces its height.
pub const TICK_MS: u64 = 400;
/// Blocks sent at once to a peer that is behind.
const SYNC_BATCH: u64 = 8;

/// What crosses the simulated network.
#[derive(Clone, Debug)]
enum Wire {
    /// An encoded consensus message (or garbage).
    Consensus(Vec<u8>),
    /// "I am deciding this height."
    Status(u64),
    /// A finalized block with its certificate (block sync).
    Certified(Arc<Block>, CommitCertificate),
}

#[derive(Clone, Debug)]
enum Event {
    Deliver {
        from: usize,
        to: usize,
        wire: Wire,
    },
    Timeout {
        node: usize,
        epoch: u64,
        height: u64,
        round: u32,
        kind: TimeoutKind,
    },
    Tick {
        node: usize,
        epoch: u64,
    },
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
    Submit {
        node: usize,
        tx: usize,
    },
    /// The commit pause after `height` ends (ADR 0042).
    Advance {
        node: usize,
        epoch: u64,
        height: u64,
    },
}

const TRACE: Domain = Domain("luminex/sim-trace");

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

struct Sim {
    cfg: Config,
    spec: ChainSpec,
    rules: BftRules,
    rng: Rng,
    /// Drops and delays of evidence gossip: a stream of its own, so that
    /// what evidence travels does not change the consensus messages'
    /// network of a seed.
    evidence_rng: Rng,
    start_ms: u64,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    events: BTreeMap<u64, Event>,
    nodes: Vec<SimNode>,
    txs: Vec<Transaction>,
    /// Every vote an honest validator signed: (node, height, round, kind).
    signed: BTreeMap<(usize, u64, u32, VoteKind), Option<Hash>>,
    /// The block finalized at each height, and the honest node that did
    /// first, when.
    finalized: BTreeMap<u64, (Hash, usize, u64)>,
    /// Heights finalized after the heal, per node.
    after_heal: Vec<u64>,
    violation: Option<String>,
    trace: luminex_primitives::hash::TaggedHasher,
    delivered: u64,
    certificate_bytes: Vec<usize>,
    carried_certificate_bytes: Vec<usize>,
    fetched_proposals: u64,
    /// Per node, the height whose commit pause is under way.
    paused: Vec<Option<u64>>,
    /// Where accounts must be created: a genesis account for rewards.
    genesis_account: Option<luminex_primitives::Lock>,
    /// Per node, the client that joins it to a staking chain.
    clients: Vec<Option<clients::Client>>,
    /// Validator ids to node indexes.
    index: BTreeMap<Hash, usize>,
    /// Per node, the rewards each epoch boundary it connected paid.
    payouts: Vec<BTreeMap<u64, Vec<TxOut>>>,
}

/// Runs one seeded simulation.
pub fn simulate(seed: u64, cfg: &Config) -> Report {
    Sim::new(seed, cfg.clone()).run()
}

/// [`simulate`] with `adjust` applied to the chain's spec (slashing
/// parameters, say), returning also the staking state each node ended with
/// (`None` while down).
pub fn simulate_with(
    seed: u64,
    cfg: &Config,
    adjust: impl FnOnce(&mut ChainSpec),
) -> (Report, Vec<Option<luminex_ledger::StakingState>>) {
    let run = simulate_run(seed, cfg, adjust);
    (run.report, run.states)
}

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

impl Sim {
    fn new(seed: u64, cfg: Config) -> Sim {
        Sim::new_with(seed, cfg, |_| {})
    }

    /// [`Sim::new`] with `adjust` applied to the spec it builds.
    fn new_with(seed: u64, cfg: Config, adjust: impl FnOnce(&mut ChainSpec)) -> Sim {
        let n = cfg.behaviours.len();
        let joiners = cfg.staking.as_ref().map_or(0, |s| s.joiners);
        let mut spec = preset_sim_spec(
            cfg.staking.as_ref().map_or("poa", |s| s.preset),
            n - joiners,
        );
        if let Some(bft) = spec.bft.as_mut() {
            bft.proposer_selection = cfg.proposer_selection;
        }
        if let Some(s) = &cfg.staking {
            spec.staking = Some(workload::staking_params(spec.staking.as_ref(), s));
            if let Some(bft) = spec.bft.as_mut() {
                bft.authority_changes = false;
            }
            // One genesis coin per joiner to pay its transaction.
            let first = spec.genesis.allocations.clone();
            for i in first.len()..joiners {
                let mut a = first[i % first.len()].clone();
                a.amount = luminex_primitives::Amount::from_coins(1_000).expect("in range");
                spec.genesis.allocations.push(a);
            }
        }
        adjust(&mut spec);
        let rules = BftRules::for_spec(&spec).expect("a BFT spec");
        let nodes: Vec<SimNode> = (0..n)
            .map(|i| {
                let key = SigningKey::from_seed(
                    spec.default_scheme,
                    &ChainSpec::dev_validator_seed(i as u32),
                );
                SimNode::new(key, cfg.behaviours[i])
            })
            .collect();
        let genesis = spec.genesis_block();
        let mut clients: Vec<Option<clients::Client>> = (0..n).map(|_| None).collect();
        let txs = match &cfg.staking {
            None => workload::transfers(&spec, &genesis, cfg.transfers),
            Some(s) => {
                let keys: Vec<SigningKey> = (n - joiners..n)
                    .map(|i| {
                        SigningKey::from_seed(
                            spec.default_scheme,
                            &ChainSpec::dev_validator_seed(i as u32),
                        )
                    })
                    .collect();
                let register = s.committee_size.is_some();
                let joins = workload::joins(&spec, &genesis, &keys, register);
                assert_eq!(joins.len(), joiners, "a genesis coin per joiner");
                let mut txs = Vec::new();
                for (j, (tx, payer)) in joins.into_iter().enumerate() {
                    let node = n - joiners + j;
                    let heartbeats = !s.without_heartbeats.contains(&node);
                    clients[node] = Some(clients::Client::new(
                        payer,
                        &tx,
                        txs.len(),
                        register,
                        heartbeats,
                    ));
                    txs.push(tx);
                }
                txs
            }
        };
        let genesis_account = spec
            .requires_account_creation()
            .then(|| genesis.txs[0].outputs[0].lock);
        let index = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.key.public_key().key_hash(), i))
            .collect();
        Sim {
            start_ms: u64::from(spec.genesis.time) * 1000 + 1000,
            spec,
            rules,
            rng: Rng::new(seed),
            evidence_rng: Rng::new(seed ^ 0xe71d_e7ce_e71d_e7ce),
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            nodes,
            txs,
            signed: BTreeMap::new(),
            finalized: BTreeMap::new(),
            after_heal: vec![0; n],
            violation: None,
            trace: TRACE.hasher(),
            delivered: 0,
            certificate_bytes: Vec::new(),
            carried_certificate_bytes: Vec::new(),
            fetched_proposals: 0,
            paused: vec![None; n],
            genesis_account,
            clients,
            index,
            payouts: vec![BTreeMap::new(); n],
            cfg,
        }
    }

    fn honest(&self, i: usize) -> bool {
        self.cfg.behaviours[i] == Behaviour::Honest
    }

    fn push(&mut self, at: u64, e: Event) {
        self.seq += 1;
        self.events.insert(self.seq, e);
        self.queue.push(Reverse((at, self.seq)));
    }

    fn cut(&self, a: usize, b: usize) -> bool {
        self.now < self.cfg.heal_ms
            && self.cfg.partitioned.contains(&a) != self.cfg.partitioned.contains(&b)
    }

    fn send(&mut self, from: usize, to: usize, wire: Wire) {
        if from == to {
            return;
        }
        let unreliable = self.now < self.cfg.heal_ms;
        if self.cut(from, to) || (unreliable && self.rng.chance(self.cfg.drop_percent)) {
            return;
        }
        let copies = if self.rng.chance(3) { 2 } else { 1 };
        let slow: u64 = self
            .cfg
            .slow
            .iter()
            .filter(|(n, _)| *n == from || *n == to)
            .map(|(_, ms)| ms)
            .sum();
        for _ in 0..copies {
            let at =
                self.now + slow + self.cfg.min_delay_ms + 1 + self.rng.below(self.cfg.max_delay_ms);
            self.push(
                at,
                Event::Deliver {
                    from,
                    to,
                    wire: wire.clone(),
                },
            );
        }
    }

    fn broadcast(&mut self, from: usize, wire: Wire) {
        for to in 0..self.nodes.len() {
            self.send(from, to, wire.clone());
        }
    }

    fn run(mut self) -> Report {
        self.run_report()
    }

    fn run_report(&mut self) -> Report {
        for i in 0..self.nodes.len() {
            self.boot(i);
            let at = self.rng.below(TICK_MS);
            let epoch = self.nodes[i].epoch;
            self.push(at, Event::Tick { node: i, epoch });
        }
        for (node, at, back) in self.cfg.crashes.clone() {
            self.push(at, Event::Crash { node });
            self.push(back, Event::Restart { node });
        }
        for tx in 0..self.txs.len() {
            let at = self.rng.below(self.cfg.heal_ms.max(1000) + 2000);
            let first = tx % self.nodes.len();
            for node in 0..self.nodes.len() {
                let jitter = self.rng.below(50);
                // Gossip misses a node now and then (a full mempool, a lost
                // message): a proposal carrying the transaction must then
                // bring it, asked of its proposer (ADR 0029).
                if node != first && self.rng.chance(25) {
                    continue;
                }
                self.push(at + jitter, Event::Submit { node, tx });
            }
        }
        let heal = self
            .cfg
            .crashes
            .iter()
            .map(|c| c.2)
            .chain([self.cfg.heal_ms])
            .max()
            .unwrap_or(0);
        let deadline = heal + self.cfg.liveness_ms;
        let mut outcome = None;
        while let Some(Reverse((at, seq))) = self.queue.pop() {
            if at > deadline {
                break;
            }
            self.now = at;
            let event = self.events.remove(&seq).expect("queued");
            self.handle(event);
            if let Some(v) = self.violation.take() {
                outcome = Some(Outcome::SafetyViolation(v));
                break;
            }
            let done = (0..self.nodes.len())
                .filter(|i| self.honest(*i))
                .all(|i| self.after_heal[i] >= self.cfg.blocks_after_heal);
            if done && self.now >= heal {
                let height = (0..self.nodes.len())
                    .filter(|i| self.honest(*i))
                    .map(|i| self.nodes[i].tip_height())
                    .min()
                    .unwrap_or(0);
                outcome = Some(Outcome::Live { height });
                break;
            }
        }
        let outcome = outcome.unwrap_or_else(|| Outcome::NoProgress {
            heights: (0..self.nodes.len())
                .filter(|i| self.honest(*i))
                .map(|i| self.nodes[i].tip_height())
                .collect(),
        });
        let times: Vec<u64> = self
            .finalized
            .values()
            .map(|(_, _, t)| *t)
            .filter(|t| *t >= heal)
            .collect();
        let validator_sets = self.validator_sets();
        Report {
            outcome,
            trace: std::mem::replace(&mut self.trace, TRACE.hasher()).finish(),
            sim_ms: self.now,
            delivered: self.delivered,
            block_intervals_ms: times.windows(2).map(|w| w[1] - w[0]).collect(),
            nodes: self
                .nodes
                .iter()
                .map(|n| match &n.live {
                    None => "down".to_string(),
                    Some(l) => format!(
                        "h{} r{} {:?} lock {:?} valid {:?}",
                        l.engine.height(),
                        l.engine.round(),
                        l.engine.machine().step(),
                        l.engine.machine().locked().map(|(_, r)| r),
                        l.engine.machine().valid().map(|(_, r)| r),
                    ),
                })
                .collect(),
            evidence: self
                .nodes
                .iter()
                .map(|n| match &n.live {
                    None => BTreeSet::new(),
                    Some(l) => l
                        .evidence
                        .pending()
                        .filter_map(|e| {
                            let offender = e.key().validator;
                            self.nodes
                                .iter()
                                .position(|m| m.key.public_key().key_hash() == offender)
                        })
                        .collect(),
                })
                .collect(),
            validator_sets,
            certificate_bytes: std::mem::take(&mut self.certificate_bytes),
            carried_certificate_bytes: std::mem::take(&mut self.carried_certificate_bytes),
            fetched_proposals: self.fetched_proposals,
        }
    }

    /// See [`Report::validator_sets`].
    fn validator_sets(&self) -> Vec<BTreeSet<usize>> {
        let Some(live) = (0..self.nodes.len())
            .filter(|i| self.honest(*i))
            .find_map(|i| self.nodes[i].live.as_ref())
        else {
            return Vec::new();
        };
        let index: BTreeMap<Hash, usize> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| (n.key.public_key().key_hash(), i))
            .collect();
        (0..live.chain.tip().height)
            .map_while(|h| live.chain.consensus_record(h).ok().flatten())
            .map(|r| {
                r.validators
                    .validators()
                    .iter()
                    .filter_map(|v| index.get(&v.id()).copied())
                    .collect()
            })
            .collect()
    }

    fn trace(&mut self, tag: u8, a: u64, b: u64, c: u64) {
        self.trace.update(&self.now.to_le_bytes());
        self.trace.update(&[tag]);
        self.trace.update(&a.to_le_bytes());
        self.trace.update(&b.to_le_bytes());
        self.trace.update(&c.to_le_bytes());
    }

    fn boot(&mut self, i: usize) {
        let (spec, rules) = (self.spec.clone(), self.rules.clone());
        if let Err(e) = self.nodes[i].boot(&spec, &rules, self.cfg.locking) {
            self.violation = Some(format!("node {i} cannot restart: {e}"));
            return;
        }
        self.with_engine(i, |engine, host| engine.start(host));
    }

    fn handle(&mut self, event: Event) {
        match event {
            Event::Deliver { from, to, wire } => {
                if self.nodes[to].live.is_none() {
                    return;
                }
                self.delivered += 1;
                self.trace(1, from as u64, to as u64, 0);
                self.deliver(from, to, wire);
                self.end_pause_if_complete(to);
            }
            Event::Advance {
                node,
                epoch,
                height,
            } => {
                if self.nodes[node].epoch != epoch || self.nodes[node].live.is_none() {
                    return;
                }
                self.trace(8, node as u64, height, 0);
                self.advance(node, height);
            }
            Event::Timeout {
                node,
                epoch,
                height,
                round,
                kind,
            } => {
                if self.nodes[node].epoch != epoch || self.nodes[node].live.is_none() {
                    return;
                }
                self.trace(2, node as u64, height, u64::from(round));
                self.with_engine(node, |e, h| e.timeout(height, round, kind, h));
            }
            Event::Tick { node, epoch } => {
                if self.nodes[node].epoch != epoch || self.nodes[node].live.is_none() {
                    return;
                }
                self.trace(3, node as u64, 0, 0);
                self.tick(node);
                let at = self.now + TICK_MS;
                self.push(at, Event::Tick { node, epoch });
            }
            Event::Crash { node } => {
                self.trace(4, node as u64, 0, 0);
                self.nodes[node].live = None;
                self.paused[node] = None;
            }
            Event::Restart { node } => {
                self.trace(5, node as u64, 0, 0);
                self.boot(node);
                let epoch = self.nodes[node].epoch;
                self.push(self.now + 1, Event::Tick { node, epoch });
            }
            Event::Submit { node, tx } => {
                let t = self.txs[tx].clone();
                if let (Some(epoch), Some(live), Some(p)) = (
                    clients::heartbeat_epoch(&t),
                    self.nodes[node].live.as_ref(),
                    self.spec.staking.as_ref(),
                ) {
                    // A validator whose chain is still in an earlier epoch
                    // would refuse it: it gets it a little later.
                    let next = live.chain.tip().height + 1;
                    if luminex_ledger::staking::epoch_of(next, p.epoch_blocks) < epoch {
                        self.push(self.now + 5, Event::Submit { node, tx });
                        return;
                    }
                }
                if self.nodes[node].live.is_some() {
                    self.trace(6, node as u64, tx as u64, 0);
                }
                if let Some(live) = self.nodes[node].live.as_mut() {
                    let _ = workload::submit(live, t, &self.spec);
                }
            }
        }
    }

    /// Re-gossips the current height's messages and announces the height.
    fn tick(&mut self, node: usize) {
        let Some(live) = self.nodes[node].live.as_ref() else {
            return;
        };
        let height = live.engine.height();
        let msgs = live.engine.regossip();
        for m in msgs {
            self.emit(node, m);
        }
        self.relay(node, |r, engine, now, pool| r.tick(engine, now, pool));
        if self.cfg.catch_up {
            self.broadcast(node, Wire::Status(height));
        }
    }

    fn deliver(&mut self, from: usize, to: usize, wire: Wire) {
        match wire {
            Wire::Consensus(bytes) => {
                let Ok(gossip) = Gossip::decode_all(&bytes) else {
                    // Undecodable: a real node penalizes the sender.
                    return;
                };
                let msg = match gossip {
                    Gossip::Message(m) => m,
                    Gossip::CompactProposal(c) | Gossip::ReplayProposal { proposal: c, .. } => {
                        return self.relay_from(from, to, |r, engine, now, pool| {
                            r.on_compact(engine, *c, now, pool)
                        });
                    }
                    Gossip::WantTxs {
                        height,
                        block,
                        indexes,
                        ..
                    } => {
                        return self.relay_from(from, to, |r, _, now, _| {
                            r.on_want(height, block, &indexes, now)
                        });
                    }
                    Gossip::ProposalTxs {
                        block,
                        indexes,
                        txs,
                        ..
                    } => {
                        return self.relay_from(from, to, |r, _, now, pool| {
                            r.on_txs(block, &indexes, &txs, now, pool)
                        });
                    }
                    Gossip::Evidence(e) => return self.on_evidence(from, to, *e),
                    // The simulation sends these as wires of their own.
                    Gossip::Status { .. } | Gossip::Certified { .. } | Gossip::Replay { .. } => {
                        return
                    }
                };
                let r = self.with_engine_result(to, |e, h| e.receive(msg, h));
                if let Err(e) = r {
                    if e.penalize() && self.honest(from) {
                        self.violation = Some(format!(
                            "node {to} refused a message of honest node {from}: {e}"
                        ));
                    }
                }
            }
            Wire::Status(height) => {
                // A peer behind gets the blocks it misses, with their
                // certificates.
                let Some(live) = self.nodes[to].live.as_ref() else {
                    return;
                };
                let tip = live.chain.tip().height;
                let mut batch = Vec::new();
                for h in height..=tip.min(height + SYNC_BATCH - 1) {
                    let Ok(Some(hash)) = live.chain.hash_at(h) else {
                        break;
                    };
                    let (Ok(Some(block)), Ok(Some(cert))) =
                        (live.chain.block(&hash), live.chain.certificate(h))
                    else {
                        break;
                    };
                    batch.push(Wire::Certified(Arc::new(block), cert));
                }
                for w in batch {
                    self.send(to, from, w);
                }
            }
            Wire::Certified(block, cert) => {
                let r = self.with_engine_result(to, |e, h| e.certified((*block).clone(), cert, h));
                if let Err(e) = r {
                    if e.penalize() {
                        self.violation = Some(format!(
                            "node {to} refused a certified block from {from}: {e}"
                        ));
                    }
                }
            }
        }
    }

    /// [`Sim::relay`] for a message from `from`: an honest sender's
    /// message refused as wrong is a violation.
    fn relay_from(
        &mut self,
        from: usize,
        to: usize,
        f: impl FnOnce(
            &mut ProposalRelay,
            &luminex_consensus::bft::Engine,
            u64,
            &Lookup<'_>,
        ) -> RelayOutcome,
    ) {
        if self.relay(to, f) == Some(Relay::Reject) && self.honest(from) {
            self.violation = Some(format!(
                "node {to} refused a proposal message of honest node {from}"
            ));
        }
    }

    /// Runs `f` on node `i`'s proposal relay (with its engine, the
    /// simulated clock and its mempool), broadcasts what it publishes and
    /// hands the rebuilt proposals to the engine. The relay's verdict, or
    /// `None` when the node is down.
    fn relay(
        &mut self,
        i: usize,
        f: impl FnOnce(
            &mut ProposalRelay,
            &luminex_consensus::bft::Engine,
            u64,
            &Lookup<'_>,
        ) -> RelayOutcome,
    ) -> Option<Relay> {
        let now_ms = self.start_ms + self.now;
        let live = self.nodes[i].live.as_mut()?;
        let pool = &live.mempool;
        let lookup = |id: &Hash| pool.get(id).map(|e| e.tx.clone());
        let out = f(&mut live.relay, &live.engine, now_ms, &lookup);
        for g in &out.publish {
            self.broadcast(i, Wire::Consensus(g.encode()));
        }
        let mut verdict = out.relay;
        for r in out.rebuilt {
            self.fetched_proposals += u64::from(r.fetched);
            let msg = ConsensusMessage::Proposal(Box::new(r.proposal));
            if let Err(e) = self.with_engine_result(i, |e, h| e.receive(msg, h)) {
                if e.penalize() {
                    verdict = Relay::Reject;
                }
            }
        }
        Some(verdict)
    }

    /// Runs `f` on node `i`'s engine with its host and carries out the
    /// effects.
    fn with_engine(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut luminex_consensus::bft::Engine, &mut NodeHost<'_>) -> Vec<Effect>,
    ) {
        let _ = self.with_engine_result(i, |e, h| Ok::<_, ()>(f(e, h)));
    }

    fn with_engine_result<E>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut luminex_consensus::bft::Engine, &mut NodeHost<'_>) -> Result<Vec<Effect>, E>,
    ) -> Result<(), E> {
        let now_ms = self.start_ms + self.now;
        let node = &mut self.nodes[i];
        let invalid_blocks = node.behaviour == Behaviour::InvalidProposer;
        // Where accounts must be created, rewards go to a genesis account
        // (a block paying an uncreated address is invalid).
        let reward = self
            .genesis_account
            .unwrap_or_else(|| node.key.public_key().lock());
        let Some(live) = node.live.as_mut() else {
            return Ok(());
        };
        let mut host = NodeHost {
            chain: &live.chain,
            mempool: &live.mempool,
            rules: &self.rules,
            cache: &live.cache,
            wal: &mut node.disk.wal,
            now_ms,
            reward,
            invalid_blocks,
            evidence: &live.evidence,
        };
        let effects = f(&mut live.engine, &mut host)?;
        self.apply(i, effects);
        Ok(())
    }

    /// Carries out effects; commits may produce more.
    fn apply(&mut self, i: usize, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Broadcast(m) => self.emit(i, m),
                Effect::Schedule {
                    height,
                    round,
                    kind,
                    after_ms,
                } => {
                    let epoch = self.nodes[i].epoch;
                    self.push(
                        self.now + after_ms,
                        Event::Timeout {
                            node: i,
                            epoch,
                            height,
                            round,
                            kind,
                        },
                    );
                }
                Effect::Evidence(e) => self.keep_evidence(i, *e),
                Effect::PersistFailed(e) => {
                    self.violation = Some(format!("node {i} could not record its votes: {e}"));
                }
                Effect::Commit { block, certificate } => self.commit(i, *block, certificate),
            }
        }
    }

    /// Node `i` keeps evidence it checked (or its engine found) and, when
    /// new, floods it on. Evidence against an honest validator breaks the
    /// engine's promise that honest votes never conflict.
    fn keep_evidence(&mut self, i: usize, e: DuplicateVoteEvidence) {
        let offender = e.key().validator;
        if let Some(o) = self
            .nodes
            .iter()
            .position(|n| n.key.public_key().key_hash() == offender)
        {
            if self.honest(o) {
                self.violation = Some(format!(
                    "node {i} holds evidence against honest node {o} at height {}",
                    e.height()
                ));
            }
        }
        let Some(live) = self.nodes[i].live.as_mut() else {
            return;
        };
        let tip = live.chain.tip().height;
        if live.evidence.add(e.clone(), tip) == AddEvidence::Added {
            let bytes = Gossip::Evidence(Box::new(e.canonical())).encode();
            std::mem::swap(&mut self.rng, &mut self.evidence_rng);
            self.broadcast(i, Wire::Consensus(bytes));
            std::mem::swap(&mut self.rng, &mut self.evidence_rng);
        }
    }

    /// Evidence from a peer, checked against the set of its height as a
    /// node does.
    fn on_evidence(&mut self, from: usize, to: usize, e: DuplicateVoteEvidence) {
        let Some(live) = self.nodes[to].live.as_ref() else {
            return;
        };
        let height = e.height();
        let tip = live.chain.tip().height;
        if height == 0 || height > tip + 1 || live.evidence.knows(&e.key()) {
            return;
        }
        let Ok(Some(record)) = live.chain.consensus_record(height - 1) else {
            return;
        };
        match e.check(&record.validators, self.rules.domain()) {
            Ok(_) => self.keep_evidence(to, e),
            Err(err) => {
                if self.honest(from) {
                    self.violation = Some(format!(
                        "node {to} refused evidence from honest node {from}: {err}"
                    ));
                }
            }
        }
    }

    fn commit(&mut self, i: usize, block: Block, certificate: CommitCertificate) {
        let hash = block.hash();
        let height = certificate.height;
        let honest = self.honest(i);
        let now_ms = self.start_ms + self.now;
        let Some(live) = self.nodes[i].live.as_mut() else {
            return;
        };
        let block = Arc::new(block);
        if let Err(e) =
            live.chain
                .accept_certified(&block, &certificate, now_ms / 1000, &live.cache)
        {
            if honest {
                self.violation = Some(format!(
                    "node {i} decided block {hash} at {height}, which its chain refuses: {e}"
                ));
            }
            return;
        }
        live.mempool.block_connected(&block.txs, height);
        live.evidence
            .included(luminex_ledger::evidence::block_offences(&block));
        self.trace(7, i as u64, height, 0);
        if honest {
            match self.finalized.get(&height) {
                Some((h, first, _)) if *h != hash => {
                    // No hashes in the report: blocks carry randomized
                    // ML-DSA signatures, so a replay has other hashes but
                    // the same events.
                    self.violation = Some(format!(
                        "height {height}: node {first} and node {i} finalized different blocks"
                    ));
                    return;
                }
                Some(_) => {}
                None => {
                    self.finalized.insert(height, (hash, i, self.now));
                    self.certificate_bytes.push(certificate.encoded_len());
                    if let Some(c) = &block.last_commit {
                        self.carried_certificate_bytes.push(c.encoded_len());
                    }
                }
            }
            if let Err(e) = self.check_supply(i, height) {
                self.violation = Some(e);
                return;
            }
            if self.now >= self.cfg.heal_ms {
                self.after_heal[i] += 1;
            }
        }
        self.record_payouts(i, &block, height);
        self.client_acts(i, height);
        // Precommits the decision lacks may still come: the next height
        // starts after the chain's commit timeout, or once they are all in
        // (ADR 0042), as on a node.
        let live = self.nodes[i].live.as_ref().expect("live");
        if live.engine.awaits_precommits() && self.rules.commit_timeout_ms() > 0 {
            self.paused[i] = Some(height);
            let epoch = self.nodes[i].epoch;
            self.push(
                self.now + self.rules.commit_timeout_ms(),
                Event::Advance {
                    node: i,
                    epoch,
                    height,
                },
            );
        } else {
            self.advance(i, height);
        }
    }

    /// Ends node `i`'s commit pause once no validator's precommit is
    /// missing from its decided certificate.
    fn end_pause_if_complete(&mut self, i: usize) {
        let Some(height) = self.paused[i] else {
            return;
        };
        if self.nodes[i]
            .live
            .as_ref()
            .is_some_and(|l| !l.engine.awaits_precommits())
        {
            self.advance(i, height);
        }
    }

    /// Node `i` starts the height after `height`, which it committed (the
    /// engine carries the certificate with the precommits it gathered).
    fn advance(&mut self, i: usize, height: u64) {
        if self.paused[i] == Some(height) {
            self.paused[i] = None;
        }
        let Some(live) = self.nodes[i].live.as_ref() else {
            return;
        };
        if live.engine.height() != height {
            return;
        }
        match (
            live.chain.consensus_record(height),
            live.chain.certificate(height),
        ) {
            (Ok(Some(record)), Ok(Some(certificate))) => {
                self.with_engine(i, |e, h| e.advance(record, certificate, h));
                self.relay(i, |r, engine, now, pool| r.advanced(engine, now, pool));
            }
            other => {
                self.violation = Some(format!(
                    "node {i} has no consensus state after {height}: {other:?}"
                ));
            }
        }
    }
}
