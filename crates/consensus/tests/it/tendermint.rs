//! A seeded simulation of the Tendermint machine: validators exchange
//! proposals and votes over a network with random delays, drops,
//! duplicates and a partition that heals, with Byzantine validators among
//! them. Checked: honest validators never decide different values, never
//! sign two different votes for one round and kind, and all decide once the
//! network has healed (with at most f Byzantine). A failing run names its
//! seed; the same seed replays the same run.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

use luminex_consensus::bft::machine::{HeightMachine, Input, Output, TimeoutKind, Timeouts};
use luminex_consensus::bft::message::{SignedVote, Vote, VoteKind};
use luminex_ledger::{ConsensusRecord, Validator, ValidatorSet};
use luminex_primitives::{Hash, PublicKey, SchemeId, Signature};

/// SplitMix64: a small seeded generator, so runs replay exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// How a validator behaves.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Behaviour {
    Honest,
    /// Sends nothing.
    Silent,
    /// Votes for every proposal it sees and for nil, in both phases.
    DoubleVoter,
    /// As proposer, sends different proposals to different peers; votes
    /// honestly otherwise.
    Equivocator,
    /// Proposes blocks the others find invalid.
    InvalidProposer,
}

#[derive(Clone, Debug)]
enum Msg {
    Proposal {
        round: u32,
        value: Hash,
        pol_round: Option<u32>,
        valid: bool,
    },
    Vote(SignedVote),
    Timeout(TimeoutKind, u32),
    /// Re-send what was sent so far this height (gossip catch-up).
    Tick,
}

/// A simulation's configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub behaviours: Vec<Behaviour>,
    pub drop_percent: u64,
    pub max_delay_ms: u64,
    /// Nodes cut off from the others until `heal_ms`.
    pub partitioned: Vec<usize>,
    pub heal_ms: u64,
    pub locking: bool,
}

/// What a run found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Every honest validator decided the same value.
    Decided(Hash),
    /// Safety broken: two honest validators decided different values, or
    /// one signed conflicting votes.
    SafetyViolation(String),
    /// Nothing unsafe, but not every honest validator decided in time.
    NoProgress { decided: usize, honest: usize },
}

const TIMEOUTS: Timeouts = Timeouts {
    propose_ms: 300,
    propose_delta_ms: 100,
    prevote_ms: 200,
    prevote_delta_ms: 100,
    precommit_ms: 200,
    precommit_delta_ms: 100,
};
const TICK_MS: u64 = 250;
/// Simulated time allowed after the network heals.
const LIVENESS_MS: u64 = 60_000;

fn record(n: usize) -> ConsensusRecord {
    let set = ValidatorSet::new(
        (0..n)
            .map(|i| Validator {
                public_key: PublicKey {
                    scheme: SchemeId::MlDsa65,
                    bytes: vec![i as u8 + 1; 16],
                },
                power: 1,
            })
            .collect(),
    )
    .unwrap();
    ConsensusRecord {
        height: 4,
        priorities: vec![0; n],
        validators: set.clone(),
        next_validators: set,
        pending: vec![],
    }
}

struct Sim {
    cfg: Config,
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Reverse<(u64, u64, usize, usize)>>,
    payloads: HashMap<u64, Msg>,
    machines: Vec<HeightMachine>,
    ids: Vec<Hash>,
    sent: Vec<Vec<Msg>>,
    signed: BTreeMap<(usize, u32, VoteKind), Option<Hash>>,
    decided: Vec<Option<Hash>>,
    violation: Option<String>,
}

impl Sim {
    fn new(seed: u64, cfg: Config) -> Sim {
        let n = cfg.behaviours.len();
        let rec = record(n);
        let ids: Vec<Hash> = (0..n).map(|i| rec.validators.id(i).unwrap()).collect();
        let machines = (0..n)
            .map(|i| {
                let mut m = HeightMachine::new(rec.clone(), Some(ids[i]), TIMEOUTS);
                if !cfg.locking {
                    m.disable_locking_for_testing();
                }
                m
            })
            .collect();
        Sim {
            rng: Rng(seed),
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            payloads: HashMap::new(),
            machines,
            ids,
            sent: vec![Vec::new(); n],
            signed: BTreeMap::new(),
            decided: vec![None; n],
            violation: None,
            cfg,
        }
    }

    fn honest(&self, i: usize) -> bool {
        self.cfg.behaviours[i] == Behaviour::Honest
    }

    fn push(&mut self, at: u64, from: usize, to: usize, msg: Msg) {
        self.seq += 1;
        self.payloads.insert(self.seq, msg);
        self.queue.push(Reverse((at, self.seq, from, to)));
    }

    fn cut(&self, a: usize, b: usize) -> bool {
        self.now < self.cfg.heal_ms
            && self.cfg.partitioned.contains(&a) != self.cfg.partitioned.contains(&b)
    }

    /// Sends `msg` from `from` to `to` over the network.
    fn send(&mut self, from: usize, to: usize, msg: Msg) {
        if from == to {
            let at = self.now;
            self.push(at, from, to, msg);
            return;
        }
        if self.cut(from, to) || (self.now < self.cfg.heal_ms && self.rng.chance(self.cfg.drop_percent)) {
            return;
        }
        let copies = if self.rng.chance(5) { 2 } else { 1 };
        for _ in 0..copies {
            let at = self.now + 1 + self.rng.below(self.cfg.max_delay_ms);
            self.push(at, from, to, msg.clone());
        }
    }

    fn broadcast(&mut self, from: usize, msg: Msg) {
        self.sent[from].push(msg.clone());
        for to in 0..self.machines.len() {
            self.send(from, to, msg.clone());
        }
    }

    fn vote_msg(&mut self, from: usize, kind: VoteKind, round: u32, value: Option<Hash>) -> Msg {
        if self.honest(from) {
            match self.signed.get(&(from, round, kind)) {
                Some(v) if *v != value => {
                    self.violation = Some(format!(
                        "validator {from} signed two {kind:?}s in round {round}"
                    ))
                }
                _ => {
                    self.signed.insert((from, round, kind), value);
                }
            }
        }
        Msg::Vote(SignedVote {
            vote: Vote {
                kind,
                height: 5,
                round,
                block: value,
                validator: self.ids[from],
            },
            signature: Signature {
                scheme: SchemeId::MlDsa65,
                bytes: vec![],
            },
        })
    }

    fn apply(&mut self, node: usize, outputs: Vec<Output>) {
        let behaviour = self.cfg.behaviours[node];
        for o in outputs {
            if behaviour == Behaviour::Silent {
                continue;
            }
            match o {
                Output::Propose {
                    round,
                    value,
                    pol_round,
                } => {
                    let value = value.unwrap_or_else(|| fresh_value(node, round));
                    match behaviour {
                        Behaviour::Equivocator => {
                            let mut other = value;
                            other.0[31] ^= 0xff;
                            let n = self.machines.len();
                            for to in 0..n {
                                let v = if to % 2 == 0 { value } else { other };
                                let m = Msg::Proposal { round, value: v, pol_round, valid: true };
                                self.send(node, to, m);
                            }
                        }
                        Behaviour::InvalidProposer => {
                            let m = Msg::Proposal { round, value, pol_round, valid: false };
                            self.broadcast(node, m);
                        }
                        _ => {
                            let m = Msg::Proposal { round, value, pol_round, valid: true };
                            self.broadcast(node, m);
                        }
                    }
                }
                Output::Vote { kind, round, value } => {
                    let m = self.vote_msg(node, kind, round, value);
                    self.broadcast(node, m);
                }
                Output::ScheduleTimeout {
                    kind,
                    round,
                    duration_ms,
                } => {
                    let at = self.now + duration_ms;
                    self.push(at, node, node, Msg::Timeout(kind, round));
                }
                Output::Evidence(_) => {}
                Output::Decide { value, .. } => {
                    self.decided[node] = Some(value);
                }
            }
        }
    }

    fn deliver(&mut self, from: usize, to: usize, msg: Msg) {
        if let Msg::Tick = msg {
            let again = self.sent[to].clone();
            for m in again {
                for peer in 0..self.machines.len() {
                    if peer != to {
                        self.send(to, peer, m.clone());
                    }
                }
            }
            let at = self.now + TICK_MS;
            self.push(at, to, to, Msg::Tick);
            return;
        }
        // A double voter answers every proposal with votes for it and nil.
        if self.cfg.behaviours[to] == Behaviour::DoubleVoter {
            if let Msg::Proposal { round, value, .. } = &msg {
                for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                    for v in [Some(*value), None] {
                        let m = self.vote_msg(to, kind, *round, v);
                        self.broadcast(to, m);
                    }
                }
            }
        }
        let input = match msg {
            Msg::Proposal {
                round,
                value,
                pol_round,
                valid,
            } => {
                // Only the round's proposer may propose.
                if self.machines[to].proposer(round) != self.ids[from] {
                    return;
                }
                Input::Proposal {
                    round,
                    value,
                    pol_round,
                    valid,
                }
            }
            Msg::Vote(v) => Input::Vote(v),
            Msg::Timeout(k, r) => Input::Timeout(k, r),
            Msg::Tick => unreachable!("handled above"),
        };
        let out = self.machines[to].handle(input);
        self.apply(to, out);
    }

    fn check(&mut self) {
        let honest: Vec<Hash> = (0..self.machines.len())
            .filter(|i| self.honest(*i))
            .filter_map(|i| self.decided[i])
            .collect();
        if honest.windows(2).any(|w| w[0] != w[1]) {
            self.violation = Some(format!("honest validators decided {honest:?}"));
        }
    }

    fn run(mut self) -> Outcome {
        for i in 0..self.machines.len() {
            let out = self.machines[i].start();
            self.apply(i, out);
            let at = TICK_MS + self.rng.below(TICK_MS);
            self.push(at, i, i, Msg::Tick);
        }
        let deadline = self.cfg.heal_ms + LIVENESS_MS;
        while let Some(Reverse((at, seq, from, to))) = self.queue.pop() {
            if at > deadline {
                break;
            }
            self.now = at;
            let msg = self.payloads.remove(&seq).expect("queued");
            self.deliver(from, to, msg);
            self.check();
            if let Some(v) = self.violation.take() {
                return Outcome::SafetyViolation(v);
            }
            let honest = (0..self.machines.len()).filter(|i| self.honest(*i)).count();
            let done = (0..self.machines.len())
                .filter(|i| self.honest(*i) && self.decided[*i].is_some())
                .count();
            if done == honest {
                let v = (0..self.machines.len())
                    .find_map(|i| self.decided[i].filter(|_| self.honest(i)))
                    .expect("some honest validator");
                return Outcome::Decided(v);
            }
        }
        let honest = (0..self.machines.len()).filter(|i| self.honest(*i)).count();
        let decided = (0..self.machines.len())
            .filter(|i| self.honest(*i) && self.decided[*i].is_some())
            .count();
        Outcome::NoProgress { decided, honest }
    }
}

/// A new block of `node` for `round`.
fn fresh_value(node: usize, round: u32) -> Hash {
    let mut h = [0u8; 32];
    h[0] = node as u8;
    h[1..5].copy_from_slice(&round.to_le_bytes());
    h[5] = 1;
    Hash(h)
}

/// Runs one seeded simulation.
pub fn simulate(seed: u64, cfg: &Config) -> Outcome {
    Sim::new(seed, cfg.clone()).run()
}

/// A random configuration of `n` validators with `byzantine` of them
/// misbehaving, drawn from `seed`.
pub fn random_config(seed: u64, n: usize, byzantine: usize) -> Config {
    let mut rng = Rng(seed ^ 0x5151_5151);
    let kinds = [
        Behaviour::Silent,
        Behaviour::DoubleVoter,
        Behaviour::Equivocator,
        Behaviour::InvalidProposer,
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
    let partitioned: Vec<usize> = (0..n).filter(|_| rng.chance(30)).collect();
    Config {
        behaviours,
        drop_percent: rng.below(30),
        max_delay_ms: 1 + rng.below(100),
        heal_ms: if partitioned.is_empty() { 0 } else { 500 + rng.below(5000) },
        partitioned,
        locking: true,
    }
}

/// 300 seeds: 4 and 7 validators, up to f Byzantine, partitions, drops.
#[test]
fn three_hundred_seeds_are_safe_and_live() {
    for seed in 0..300u64 {
        let (n, f) = if seed % 2 == 0 { (4, 1) } else { (7, 2) };
        let cfg = random_config(seed, n, (seed as usize / 2) % (f + 1));
        match simulate(seed, &cfg) {
            Outcome::Decided(_) => {}
            other => panic!("seed {seed} ({cfg:?}): {other:?}"),
        }
    }
}

/// The same seed replays the same run.
#[test]
fn a_seed_replays_exactly() {
    for seed in [3u64, 17, 101] {
        let cfg = random_config(seed, 7, 2);
        assert_eq!(simulate(seed, &cfg), simulate(seed, &cfg));
    }
}

/// With f + 1 Byzantine validators the run may stall, and the report says
/// so rather than claiming a safety violation; silence never breaks safety.
#[test]
fn too_many_silent_validators_stall_without_breaking_safety() {
    let cfg = Config {
        behaviours: vec![
            Behaviour::Honest,
            Behaviour::Honest,
            Behaviour::Silent,
            Behaviour::Silent,
        ],
        drop_percent: 0,
        max_delay_ms: 20,
        partitioned: vec![],
        heal_ms: 0,
        locking: true,
    };
    assert_eq!(
        simulate(1, &cfg),
        Outcome::NoProgress {
            decided: 0,
            honest: 2
        }
    );
}

/// The simulation catches a real bug: with the locking rule disabled, a
/// double-voting validator and an unreliable network make honest
/// validators decide different values, reported with a replayable seed.
#[test]
fn disabling_locking_is_caught() {
    let found = (0..3000u64).find_map(|seed| {
        let mut cfg = random_config(seed, 4, 0);
        cfg.behaviours[(seed % 4) as usize] = Behaviour::DoubleVoter;
        cfg.locking = false;
        cfg.drop_percent = 40;
        cfg.heal_ms = 3000;
        match simulate(seed, &cfg) {
            Outcome::SafetyViolation(v) => Some((seed, cfg, v)),
            _ => None,
        }
    });
    let (seed, cfg, v) = found.expect("no seed broke safety without locking");
    // The report replays exactly from its seed.
    assert_eq!(simulate(seed, &cfg), Outcome::SafetyViolation(v));
    // And with locking, the same run is safe.
    let safe = Config { locking: true, ..cfg };
    assert!(!matches!(simulate(seed, &safe), Outcome::SafetyViolation(_)));
}
