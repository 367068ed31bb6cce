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

use luminex_consensus::bft::{BftRules, VoteKind};
use luminex_crypto::SigningKey;
use luminex_ledger::spec::ChainSpec;
pub use luminex_ledger::spec::ProposerSelection;
use luminex_primitives::hash::Domain;
use luminex_primitives::{Hash, Transaction, TxKind, TxOut};

mod byzantine;
mod clients;
mod config;
mod engine;
mod network;
pub mod node;
mod report;
mod rng;
mod staking;
mod workload;

pub use config::{
    preset_sim_spec, random_config, sim_spec, sweep_config, Behaviour, Config, StakingRun,
    FAST_CLOCK_MS, JOIN_STAKE, LIVENESS_MS, MIN_STAKE, SIM_TIMEOUT_COMMIT_MS,
};
pub use network::TICK_MS;
use network::{Event, Wire};
use node::SimNode;
pub use report::{Outcome, Report};
pub use rng::Rng;
pub use staking::{simulate_run, Run};

const TRACE: Domain = Domain("luminex/sim-trace");

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
    /// The most a finalized block was dated ahead of the simulated time
    /// when an honest node first committed it.
    max_block_lead_ms: u64,
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
                for (j, (join, payer)) in joins.into_iter().enumerate() {
                    let node = n - joiners + j;
                    let heartbeats = !s.without_heartbeats.contains(&node);
                    let indexes = (txs.len()..txs.len() + join.len()).collect();
                    clients[node] = Some(clients::Client::new(
                        payer,
                        join.last().expect("a join has a transaction"),
                        indexes,
                        register,
                        heartbeats,
                    ));
                    txs.extend(join);
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
            max_block_lead_ms: 0,
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
        // Per node, when the transaction before reached it, if it did.
        let mut before: Vec<Option<u64>> = Vec::new();
        for tx in 0..self.txs.len() {
            // A node's registration follows its bond (it spends the bond's
            // change) to the same nodes, a millisecond later.
            if matches!(self.txs[tx].kind, TxKind::RegisterNode(_)) && !before.is_empty() {
                for (node, at) in before.iter().enumerate() {
                    if let Some(at) = at {
                        self.push(at + 1, Event::Submit { node, tx });
                    }
                }
                continue;
            }
            before.clear();
            let at = self.rng.below(self.cfg.heal_ms.max(1000) + 2000);
            let first = tx % self.nodes.len();
            for node in 0..self.nodes.len() {
                let jitter = self.rng.below(50);
                // Gossip misses a node now and then (a full mempool, a lost
                // message): a proposal carrying the transaction must then
                // bring it, asked of its proposer (ADR 0029).
                if node != first && self.rng.chance(25) {
                    before.push(None);
                    continue;
                }
                before.push(Some(at + jitter));
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
            max_block_lead_ms: self.max_block_lead_ms,
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
}
