//! The BFT consensus task of a node on a BFT chain: it owns the engine
//! ([`luminex_consensus::bft::Engine`]), feeds it what arrives on the
//! network's consensus topic and its own timers, publishes what it signs,
//! commits decided blocks through the service, and records every vote in a
//! write-ahead file before sending it. A node without a validator key runs
//! the same task as a follower: it checks every certificate and never
//! signs.
//!
//! Catch-up needs no trust: a node behind asks a peer that is ahead for
//! finalized blocks and their certificates (ADR 0044), which the engine
//! takes only when the certificate holds against the validator set of that
//! height. A run of them is committed without waiting for the disk, while
//! a second thread checks the next block's signatures, and made durable
//! with one sync before anything is announced or signed on top of it (ADR
//! 0049).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use luminex_consensus::bft::evidence::{AddEvidence, CheckEvidence};
use luminex_consensus::bft::machine::{Step, TimeoutKind};
use luminex_consensus::bft::relay::{Lookup, Outcome};
use luminex_consensus::bft::{
    BftRules, CompactProposal, ConsensusMessage, ConsensusSigner, DuplicateVoteEvidence, Effect,
    Engine, EvidencePool, Gossip, MessageError, Pooled, ProposalRelay, Relay,
};
use luminex_crypto::SigningKey;
use luminex_ledger::KnownTx;
use luminex_p2p::Verdict;
use luminex_primitives::codec::{Decode, Encode};
use luminex_primitives::{Block, CommitCertificate, Hash, Transaction};
use luminex_service::metrics::TimeoutStep;
use luminex_service::Node;
use luminex_storage::{CertifiedBlock, Preverifier};
use tokio::sync::{mpsc, watch};

mod catchup;
mod host;
mod keys;
use catchup::CatchUpRun;
use host::{CheckedBlocks, NodeHost};
pub use keys::{read_validator_key, write_validator_key, SignedStateFile, SignedStateFiles};

/// How often a node announces its height and gossips its round again.
const TICK: Duration = Duration::from_secs(1);

/// What reaches the consensus task.
enum Inbound {
    /// A message from the consensus topic, with where to send the verdict.
    Gossip {
        data: Vec<u8>,
        reply: std::sync::mpsc::SyncSender<Verdict>,
    },
    /// Finalized blocks and their certificates, consecutive, fetched from
    /// a peer that is ahead (ADR 0044), with where to send the verdict.
    Certified {
        blocks: Vec<(Block, CommitCertificate)>,
        reply: std::sync::mpsc::SyncSender<Verdict>,
    },
    /// A timer the engine asked for.
    Timeout {
        height: u64,
        round: u32,
        kind: TimeoutKind,
    },
    /// Time to start the height after `height` (committed).
    Advance { height: u64 },
    /// The block interval's pace after `height` is reached, during a commit
    /// pause: start the next height if no precommit is missing any more.
    PaceReached { height: u64 },
}

/// How long the network waits for the consensus task's verdict on a run
/// of certified blocks, besides [`CERTIFIED_BLOCK_WAIT`] a block.
const CERTIFIED_RUN_WAIT: Duration = Duration::from_secs(60);

/// The part of the wait for a run's verdict that grows with each block.
const CERTIFIED_BLOCK_WAIT: Duration = Duration::from_secs(4);

/// The network's way into the consensus task.
#[derive(Clone)]
pub struct ConsensusHandle {
    tx: mpsc::UnboundedSender<Inbound>,
}

impl ConsensusHandle {
    /// Checks a consensus-topic message with the engine (blocking: called
    /// on the network's blocking pool). Whether gossip may relay it.
    pub fn gossip(&self, data: Vec<u8>) -> Verdict {
        let (reply, rx) = std::sync::mpsc::sync_channel(1);
        if self.tx.send(Inbound::Gossip { data, reply }).is_err() {
            return Verdict::Ignore;
        }
        rx.recv_timeout(Duration::from_secs(30))
            .unwrap_or(Verdict::Ignore)
    }

    /// Offers finalized blocks with their certificates, consecutive from
    /// the height after the tip, fetched from a peer that is ahead
    /// (blocking: called on the network's blocking pool). They are checked
    /// and committed in turn as one run (ADR 0049): the first refused ends
    /// it, and those before it are made durable before the verdict.
    /// [`Verdict::Accept`] when some moved the chain, [`Verdict::Reject`]
    /// when one was false, [`Verdict::Ignore`] when none was needed (or
    /// the task did not answer in time — one deadline for the whole run,
    /// 60 s and 4 s a block: they are asked for again later).
    pub fn certified(&self, blocks: Vec<(Block, CommitCertificate)>) -> Verdict {
        if blocks.is_empty() {
            return Verdict::Ignore;
        }
        // One deadline for the whole run, which may also wait behind the
        // run before it (ADR 0051): 60 s, and 4 s a block.
        let wait = CERTIFIED_RUN_WAIT + CERTIFIED_BLOCK_WAIT * blocks.len() as u32;
        let (reply, rx) = std::sync::mpsc::sync_channel(1);
        if self.tx.send(Inbound::Certified { blocks, reply }).is_err() {
            return Verdict::Ignore;
        }
        rx.recv_timeout(wait).unwrap_or(Verdict::Ignore)
    }
}

/// A running consensus task.
pub struct Consensus {
    node: Arc<Node>,
    rules: BftRules,
    engine: Engine,
    wal: Option<SignedStateFile>,
    tx: mpsc::UnboundedSender<Inbound>,
    /// Height and round at the last tick, and for how many ticks.
    last_position: ((u64, u32), u32),
    /// Compact proposals in flight (ADR 0029).
    relay: ProposalRelay,
    /// Double-signing evidence no block has carried yet.
    evidence: EvidencePool,
    /// The pause after a finalized block before the next height starts
    /// (the spec's interval unless `--block-time-ms` shortens it).
    block_interval_ms: u64,
    /// A commit pause under way (ADR 0042): the height committed, and
    /// whether the block interval's pace has been reached (the pause may
    /// then end as soon as every validator's precommit is in).
    pause: Option<(u64, bool)>,
    /// A run of caught-up blocks being committed (ADR 0049).
    run: Option<CatchUpRun>,
    /// Checks the signatures of a run's next block while one commits;
    /// away while a run uses it.
    preverifier: Option<Preverifier>,
    /// Blocks of this height checked with the chain, for their commit.
    checked: CheckedBlocks,
    /// When proposed blocks first reached this node, for the pace.
    proposals_seen: Arrivals,
    /// Whether this node's validator key was in the set of the height
    /// last entered (`None` without a key), to log when that changes.
    member: Option<bool>,
}

/// Proposals whose arrival is kept for the pace ([`pace_ms`]): a few per
/// round are honest, anything may be sent.
const MAX_PROPOSALS_SEEN: usize = 64;

/// When each proposed block of the current height or the next first
/// reached this node (or left it, its own), by its monotonic clock: the
/// next height's pace counts from there ([`pace_ms`]). Noted before a
/// proposal's signature is checked, so at most [`MAX_PROPOSALS_SEEN`] are
/// kept: past them a height paces from the block's time alone.
#[derive(Default)]
struct Arrivals(std::collections::BTreeMap<(u64, Hash), Duration>);

impl Arrivals {
    /// Notes `block`, proposed for `height`, arriving `now`, while this
    /// node decides `current`.
    fn note(&mut self, height: u64, block: Hash, current: u64, now: Duration) {
        if (height == current || height == current + 1) && self.0.len() < MAX_PROPOSALS_SEEN {
            self.0.entry((height, block)).or_insert(now);
        }
    }

    /// How long before `now` `block` of `height` (committed) arrived, if it
    /// was noted; forgets every arrival of `height` and below.
    fn take(&mut self, height: u64, block: Option<Hash>, now: Duration) -> Option<u64> {
        let seen = block
            .and_then(|b| self.0.get(&(height, b)))
            .map(|at| u64::try_from(now.saturating_sub(*at).as_millis()).unwrap_or(u64::MAX));
        self.0.retain(|(h, _), _| *h > height);
        seen
    }
}

/// How long after committing a block dated `time_ms` the next height
/// waits: until one block interval after the block's time by this node's
/// clock (`now_ms`), never longer than the interval — or, if the block's
/// proposal reached this node `seen_ms_ago` ms ago, until one interval
/// after that, when sooner. The arrival is read on the monotonic clock, so
/// a validator whose clock is behind the proposer's does not wait the
/// whole interval after every commit (the block's time is then ahead of
/// its clock): it would start each height late, fall a height behind,
/// drop the proposals of the height after next and, as proposer, miss its
/// turn (a re-test: one validator 30 s behind stalled a `poa` chain 4–5 s
/// every 10–15 s).
fn pace_ms(interval_ms: u64, time_ms: u64, now_ms: u64, seen_ms_ago: Option<u64>) -> u64 {
    let by_time = time_ms.saturating_add(interval_ms).saturating_sub(now_ms);
    let by_arrival = seen_ms_ago.map_or(u64::MAX, |ago| interval_ms.saturating_sub(ago));
    by_time.min(by_arrival).min(interval_ms)
}

/// Heights double-signing evidence is kept on a chain without staking
/// (where nothing punishes it): a week of one-second blocks. A staking
/// chain keeps it for its unbonding period, past which blocks refuse it.
const EVIDENCE_MAX_AGE: u64 = 7 * 24 * 3600;

/// Starts the consensus task of a BFT chain. `key` makes this node a
/// validator; `key_file` is where it was read from (`None` for a
/// development key), beside which its signed-state record lives (in
/// `chain_dir` for a development key; [`SignedStateFiles`]); a new height
/// starts `block_interval` after the last finalized block's time.
pub fn start(
    node: Arc<Node>,
    key: Option<SigningKey>,
    key_file: Option<&Path>,
    chain_dir: &Path,
    block_interval: Duration,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<(ConsensusHandle, tokio::task::JoinHandle<()>)> {
    let rules = BftRules::for_spec(&node.spec).context("not a BFT chain")?;
    let tip = node.chain.tip();
    let record = node
        .chain
        .consensus_record(tip.height)?
        .context("no consensus state at the tip")?;
    let last_commit = node.chain.certificate(tip.height)?;
    let files = key
        .as_ref()
        .map(|_| SignedStateFiles::new(key_file, chain_dir, &node.spec.genesis_hash()).writable());
    let restored = match &files {
        Some(f) => f.load()?,
        None => None,
    };
    let wal = files.map(|f| f.primary);
    if let Some(k) = &key {
        let id = k.public_key().key_hash();
        let member = record.validators.index_of(&id).is_some();
        if member {
            tracing::info!(validator = %id, "BFT validator key loaded");
        } else {
            tracing::warn!(
                validator = %id,
                height = tip.height + 1,
                "this validator key is not in the validator set: the node follows and signs nothing until the set includes it"
            );
        }
    }
    let signer = key.map(|k| Box::new(k) as Box<dyn ConsensusSigner>);
    let timeouts = rules.timeouts();
    let engine = Engine::new(
        rules.clone(),
        signer,
        timeouts,
        record,
        last_commit,
        restored,
    );
    if let Some(h) = engine.signing_held_until() {
        tracing::warn!(
            record_height = h,
            chain_height = tip.height,
            record = %wal.as_ref().map_or_else(String::new, |w| w.path().display().to_string()),
            "this validator signed at a later height than its chain has reached (a database older than its signed-state record, or a chain directory wiped to sync again): it signs nothing until its chain gets there. Only if the whole chain was started again from genesis on purpose (every validator's data reset) is it safe to delete that record"
        );
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let relay = ProposalRelay::new(node.spec.merkle_commitment);
    let evidence = EvidencePool::new(
        node.spec
            .staking
            .as_ref()
            .map_or(EVIDENCE_MAX_AGE, |s| s.unbonding_blocks),
    );
    let mut task = Consensus {
        node,
        rules,
        engine,
        wal,
        tx: tx.clone(),
        last_position: ((0, 0), 0),
        relay,
        evidence,
        block_interval_ms: u64::try_from(block_interval.as_millis()).unwrap_or(u64::MAX),
        pause: None,
        run: None,
        preverifier: None,
        checked: CheckedBlocks::default(),
        proposals_seen: Arrivals::default(),
        member: None,
    };
    // The key's standing at the start was logged above.
    task.member = task.engine.me().map(|_| task.engine.is_validator());
    let handle = tokio::spawn(task.run(rx, stop));
    Ok((ConsensusHandle { tx }, handle))
}

impl Consensus {
    async fn run(
        mut self,
        mut rx: mpsc::UnboundedReceiver<Inbound>,
        mut stop: watch::Receiver<bool>,
    ) {
        let effects = {
            let mut host = NodeHost {
                node: &self.node,
                rules: &self.rules,
                wal: self.wal.as_ref(),
                evidence: &self.evidence,
                checked: &mut self.checked,
            };
            self.engine.start(&mut host)
        };
        self.apply(effects);
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = tick.tick() => self.on_tick(),
                msg = rx.recv() => match msg {
                    None => break,
                    Some(Inbound::Gossip { data, reply }) => {
                        let v = tokio::task::block_in_place(|| self.on_gossip(data));
                        let _ = reply.send(v);
                        self.end_pause_if_complete();
                    }
                    Some(Inbound::Certified { blocks, reply }) => {
                        let v = tokio::task::block_in_place(|| self.on_certified_run(blocks));
                        let _ = reply.send(v);
                        self.end_pause_if_complete();
                    }
                    Some(Inbound::Timeout { height, round, kind }) => {
                        let before = self.step_position();
                        let effects = tokio::task::block_in_place(|| {
                            let mut host = NodeHost { node: &self.node, rules: &self.rules, wal: self.wal.as_ref(), evidence: &self.evidence, checked: &mut self.checked };
                            self.engine.timeout(height, round, kind, &mut host)
                        });
                        if self.step_position() != before {
                            self.node.metrics.consensus_timeout(timeout_step(kind));
                        }
                        self.apply(effects);
                    }
                    Some(Inbound::Advance { height }) => self.advance(height),
                    Some(Inbound::PaceReached { height }) => {
                        if let Some((h, reached)) = self.pause.as_mut() {
                            if *h == height {
                                *reached = true;
                            }
                        }
                        self.end_pause_if_complete();
                    }
                },
            }
        }
    }

    fn publish(&self, g: &Gossip) {
        if let Some(net) = self.node.net.get() {
            net.publish_consensus(g.encode());
        }
    }

    /// Announces the height being decided and, when the round has not
    /// moved for two ticks, sends its messages again (gossip ids are
    /// content hashes: the same message published twice is dropped, so a
    /// replay is one new message carrying them).
    fn on_tick(&mut self) {
        let now = self.node.clock.now_millis();
        let out = Self::with_lookup(&self.node, |l| self.relay.tick(&self.engine, now, l));
        self.carry_out(out);
        self.publish(&Gossip::Status {
            height: self.engine.height(),
            time_ms: now,
        });
        let at = (self.engine.height(), self.engine.round());
        if self.last_position.0 == at {
            self.last_position.1 += 1;
        } else {
            self.last_position = (at, 0);
        }
        if self.last_position.1 >= 2 {
            // Proposals go again compact, each on its own; votes in one
            // replay. A replay with a whole block in it could exceed what
            // gossip carries, and then its votes were lost with it.
            let (proposals, mut votes): (Vec<_>, Vec<_>) = self
                .engine
                .regossip()
                .into_iter()
                .partition(|m| matches!(m, ConsensusMessage::Proposal(_)));
            for p in proposals {
                if let ConsensusMessage::Proposal(p) = p {
                    self.publish(&ProposalRelay::replay(&p, now));
                }
            }
            votes.truncate(luminex_consensus::bft::message::MAX_REPLAY);
            if !votes.is_empty() {
                self.publish(&Gossip::Replay {
                    time_ms: now,
                    messages: votes,
                });
            }
        }
    }

    /// Evidence from a peer: checked against the set of its height, kept
    /// and relayed when new; forged evidence costs the sender.
    fn on_evidence(&mut self, e: DuplicateVoteEvidence) -> Verdict {
        let tip = self.node.chain.tip().height;
        let height = e.height();
        // A height past the one being decided has no set to check against
        // yet; the offender's peers will send it again when it matters.
        if height == 0 || height > tip + 1 {
            return Verdict::Ignore;
        }
        if self.evidence.knows(&e.key()) || self.evidence.is_expired(height, tip) {
            return Verdict::Ignore;
        }
        let set = match self.node.chain.consensus_record(height - 1) {
            Ok(Some(r)) => r.validators,
            _ => return Verdict::Ignore,
        };
        match e.check(&set, self.rules.domain()) {
            Ok(_) => {
                self.keep_evidence(&e, tip);
                Verdict::Accept
            }
            Err(err) => {
                tracing::info!(error = %err, height, "double-signing evidence refused");
                Verdict::Reject
            }
        }
    }

    /// Puts checked evidence in the pool; whether it was new.
    fn keep_evidence(&mut self, e: &DuplicateVoteEvidence, tip: u64) -> bool {
        let added = self.evidence.add(e.clone(), tip) == AddEvidence::Added;
        if added {
            tracing::warn!(
                validator = %e.first.vote.validator,
                height = e.first.vote.height,
                round = e.first.vote.round,
                "validator signed two conflicting votes"
            );
            self.node.metrics.consensus_evidence.inc();
            self.node
                .metrics
                .consensus_evidence_pending
                .set(self.evidence.len() as i64);
        }
        added
    }

    fn on_gossip(&mut self, data: Vec<u8>) -> Verdict {
        let msg = match Gossip::decode_all(&data) {
            Ok(m) => m,
            Err(_) => return Verdict::Reject,
        };
        let msg = match msg {
            Gossip::CompactProposal(c) | Gossip::ReplayProposal { proposal: c, .. } => {
                return self.on_compact(*c)
            }
            Gossip::WantTxs {
                height,
                block,
                indexes,
                ..
            } => return self.on_want_txs(height, block, indexes),
            Gossip::ProposalTxs {
                block,
                indexes,
                txs,
                ..
            } => return self.on_proposal_txs(block, indexes, txs),
            Gossip::Evidence(e) => return self.on_evidence(*e),
            m => m,
        };
        let mut host = NodeHost {
            node: &self.node,
            rules: &self.rules,
            wal: self.wal.as_ref(),
            evidence: &self.evidence,
            checked: &mut self.checked,
        };
        // Messages and blocks of later heights are only kept, unchecked,
        // until this node gets there: not relayed (a peer could otherwise
        // push anything through the whole network at no cost to itself).
        let current = self.engine.height();
        let ahead = match &msg {
            Gossip::Message(m) => m.height() > current,
            Gossip::Certified { certificate, .. } => certificate.height > current,
            Gossip::Replay { messages, .. } => messages.iter().any(|m| m.height() > current),
            _ => false,
        };
        let r = match msg {
            Gossip::Message(m) => self.engine.receive(m, &mut host),
            Gossip::Certified {
                block, certificate, ..
            } => self
                .engine
                .certified(Arc::new(*block), certificate, &mut host),
            // Peers that are behind ask for what they miss (ADR 0044), and
            // heights are learnt from peers' own status answers: an
            // announcement of a height is read by nobody, so it goes no
            // further than the announcer's neighbours (unsigned, relaying
            // it let any peer flood the whole network at no cost).
            Gossip::Status { .. } => return Verdict::Ignore,
            // Taken apart above.
            Gossip::CompactProposal(_)
            | Gossip::ReplayProposal { .. }
            | Gossip::WantTxs { .. }
            | Gossip::ProposalTxs { .. }
            | Gossip::Evidence(_) => return Verdict::Ignore,
            Gossip::Replay { messages, .. } => {
                let mut effects = Vec::new();
                let mut bad = None;
                for m in messages {
                    match self.engine.receive(m, &mut host) {
                        Ok(e) => effects.extend(e),
                        Err(e) if e.penalize() => bad = Some(e),
                        Err(_) => {}
                    }
                }
                match bad {
                    None => Ok(effects),
                    Some(e) => {
                        self.apply(effects);
                        Err(e)
                    }
                }
            }
        };
        match self.carry_out_result(r) {
            Verdict::Accept if ahead => Verdict::Ignore,
            v => v,
        }
    }

    /// A finalized block and its certificate fetched from a peer.
    fn on_certified(&mut self, block: Block, certificate: CommitCertificate) -> Verdict {
        let mut host = NodeHost {
            node: &self.node,
            rules: &self.rules,
            wal: self.wal.as_ref(),
            evidence: &self.evidence,
            checked: &mut self.checked,
        };
        let r = self
            .engine
            .certified(Arc::new(block), certificate, &mut host);
        self.carry_out_result(r)
    }

    /// Carries out what the engine made of a message; the verdict for the
    /// network.
    fn carry_out_result(&mut self, r: Result<Vec<Effect>, MessageError>) -> Verdict {
        match r {
            Ok(effects) => {
                self.apply(effects);
                Verdict::Accept
            }
            Err(e) if e.penalize() => {
                tracing::info!(error = %e, "consensus message refused");
                Verdict::Reject
            }
            Err(MessageError::Stale { .. } | MessageError::Duplicate) => Verdict::Ignore,
            Err(_) => Verdict::Ignore,
        }
    }

    /// Runs `f` with a mempool lookup by txid, for the relay. The pool's
    /// read lock is taken once for the whole call: a rebuild looks up
    /// thousands of txids, and taking it for each one queued each lookup
    /// behind admission's writes (seconds per proposal under load).
    fn with_lookup<R>(node: &Node, f: impl FnOnce(&Lookup<'_>) -> R) -> R {
        let pool = node.mempool.read();
        let lookup = |txid: &Hash| {
            pool.get(txid).map(|e| Pooled {
                tx: e.tx.clone(),
                known: Some(KnownTx {
                    txid: e.txid,
                    wtxid: e.wtxid,
                    size: e.size,
                }),
            })
        };
        f(&lookup)
    }

    /// A proposal in compact form: authenticated (its signature covers the
    /// block hash and the txid list), then rebuilt from the mempool, asking
    /// the proposer for the transactions the mempool lacks. It is relayed
    /// as soon as it is authenticated.
    fn on_compact(&mut self, c: CompactProposal) -> Verdict {
        tracing::debug!(block = %c.block_hash(), height = c.height, round = c.round, txs = c.tx_count(), "compact proposal received");
        self.proposal_seen(c.height, c.block_hash());
        let now = self.node.clock.now_millis();
        let out = Self::with_lookup(&self.node, |l| {
            self.relay.on_compact(&self.engine, c, now, l)
        });
        self.carry_out(out)
    }

    /// A request for transactions of a proposed block.
    fn on_want_txs(&mut self, height: u64, block: Hash, indexes: Vec<u32>) -> Verdict {
        let now = self.node.clock.now_millis();
        let out = self.relay.on_want(height, block, &indexes, now);
        self.carry_out(out)
    }

    /// Transactions of a proposed block, answering a request.
    fn on_proposal_txs(
        &mut self,
        block: Hash,
        indexes: Vec<u32>,
        txs: Vec<Transaction>,
    ) -> Verdict {
        let now = self.node.clock.now_millis();
        let out = Self::with_lookup(&self.node, |l| {
            self.relay.on_txs(block, &indexes, &txs, now, l)
        });
        self.carry_out(out)
    }

    /// Publishes what the relay asks to, hands the rebuilt proposals to
    /// the engine, and returns the gossip verdict: the relay's, or a
    /// rejection when the engine finds a rebuilt proposal wrong whenever
    /// it arrives (its signature was checked: the proposer is at fault).
    fn carry_out(&mut self, out: Outcome) -> Verdict {
        for g in &out.publish {
            if let Gossip::WantTxs { block, indexes, .. } = g {
                tracing::debug!(block = %block, missing = indexes.len(), "asking for the missing transactions of a proposal");
            }
            self.publish(g);
        }
        let mut verdict = match out.relay {
            Relay::Accept => Verdict::Accept,
            Relay::Ignore => Verdict::Ignore,
            Relay::Reject => Verdict::Reject,
        };
        for r in out.rebuilt {
            let hash = r.proposal.proposal.block.hash();
            tracing::debug!(block = %hash, txs = r.proposal.proposal.block.txs.len(), fetched = r.fetched, "compact proposal rebuilt");
            self.node.metrics.consensus_compact_proposal(r.fetched);
            self.checked
                .offer(Arc::clone(&r.proposal.proposal.block), r.known);
            let result = tokio::task::block_in_place(|| {
                let mut host = NodeHost {
                    node: &self.node,
                    rules: &self.rules,
                    wal: self.wal.as_ref(),
                    evidence: &self.evidence,
                    checked: &mut self.checked,
                };
                self.engine
                    .receive(ConsensusMessage::Proposal(Box::new(r.proposal)), &mut host)
            });
            match result {
                Ok(effects) => self.apply(effects),
                Err(e) if e.penalize() => {
                    tracing::info!(block = %hash, error = %e, "rebuilt proposal refused");
                    verdict = Verdict::Reject;
                }
                Err(_) => {}
            }
        }
        verdict
    }

    /// Starts the height after `height`, which the chain has committed.
    /// Sends `msg` to this task after `ms`.
    fn send_after(&self, ms: u64, msg: Inbound) {
        let tx = self.tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            let _ = tx.send(msg);
        });
    }

    /// Ends a commit pause whose pace is reached once no validator's
    /// precommit is missing from the decided certificate.
    fn end_pause_if_complete(&mut self) {
        if let Some((height, true)) = self.pause {
            if !self.engine.awaits_precommits() {
                self.advance(height);
            }
        }
    }

    fn advance(&mut self, height: u64) {
        if self.pause.is_some_and(|(h, _)| h == height) {
            self.pause = None;
        }
        if self.engine.height() != height {
            return;
        }
        self.start_after(height);
    }

    /// Moves the engine to the height after `height`, committed, and
    /// starts it.
    fn start_after(&mut self, height: u64) {
        let (record, certificate) = match (
            self.node.chain.consensus_record(height),
            self.node.chain.certificate(height),
        ) {
            (Ok(Some(r)), Ok(Some(c))) => (r, c),
            other => {
                tracing::error!(height, ?other, "no consensus state after a committed block");
                return;
            }
        };
        let effects = tokio::task::block_in_place(|| {
            let mut host = NodeHost {
                node: &self.node,
                rules: &self.rules,
                wal: self.wal.as_ref(),
                evidence: &self.evidence,
                checked: &mut self.checked,
            };
            self.engine.advance(record, certificate, &mut host)
        });
        self.note_membership();
        self.apply(effects);
        let now = self.node.clock.now_millis();
        let out = Self::with_lookup(&self.node, |l| self.relay.advanced(&self.engine, now, l));
        self.carry_out(out);
    }

    /// Carries out the engine's effects; a commit moves it to the next
    /// height, whose effects are carried out in turn.
    fn apply(&mut self, effects: Vec<Effect>) {
        let mut queue: std::collections::VecDeque<Effect> = effects.into();
        while let Some(e) = queue.pop_front() {
            match e {
                // A proposal goes out compact; its block is kept to answer
                // requests for transactions a peer lacks.
                Effect::Broadcast(ConsensusMessage::Proposal(p)) => {
                    self.proposal_seen(p.proposal.height, p.proposal.block.hash());
                    let g = self.relay.outgoing(&p);
                    self.publish(&g);
                }
                Effect::Broadcast(m) => self.publish(&Gossip::Message(m)),
                Effect::Schedule {
                    height,
                    round,
                    kind,
                    after_ms,
                } => {
                    let tx = self.tx.clone();
                    tokio::spawn(async move {
                        tokio::time::sleep(Duration::from_millis(after_ms)).await;
                        let _ = tx.send(Inbound::Timeout {
                            height,
                            round,
                            kind,
                        });
                    });
                }
                Effect::Evidence(e) => {
                    // The engine checked both signatures before counting
                    // the votes.
                    let tip = self.node.chain.tip().height;
                    if self.keep_evidence(&e, tip) {
                        self.publish(&Gossip::Evidence(Box::new(e.canonical())));
                    }
                }
                Effect::PersistFailed(e) => {
                    tracing::error!(error = %e, "cannot record the signed state: not signing");
                }
                Effect::Commit { block, certificate } => self.commit(block, certificate),
            }
        }
        self.node.metrics.consensus_position(
            self.engine.height(),
            self.engine.round(),
            &self.engine.machine().record().validators,
            self.engine.me().as_ref(),
        );
        self.node.publish_consensus(self.engine.machine().view());
    }

    /// Commits a decided block: at once and synced, or, in a run of caught-up
    /// blocks, without waiting for the disk (the run syncs, then starts the
    /// next height). Then the next height is started at the chain's pace.
    fn commit(&mut self, block: Arc<Block>, certificate: CommitCertificate) {
        let height = certificate.height;
        let started = std::time::Instant::now();
        let in_run = self.run.is_some();
        // The engine checked this block with the host before deciding it:
        // its context-free checks are not run again.
        let checked = self.checked.take(&block);
        let decided = match &checked {
            Some(c) => CertifiedBlock::Checked(c),
            None => CertifiedBlock::Shared(&block),
        };
        let r = tokio::task::block_in_place(|| {
            if in_run {
                self.node.accept_certified_unsynced(decided, &certificate)
            } else {
                self.node.accept_certified(decided, &certificate)
            }
        });
        tracing::debug!(
            height,
            ms = started.elapsed().as_millis() as u64,
            synced = !in_run,
            "committed"
        );
        let accepted = match r {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(height, block = %block.hash(), error = %e, "a decided block was refused by the chain");
                return;
            }
        };
        tracing::info!(height, block = %block.hash(), round = certificate.round, txs = block.txs.len(), "finalized");
        self.observe_commit(height, &block);
        self.evidence
            .included(luminex_ledger::evidence::block_offences(&block));
        self.evidence.prune(height);
        self.node
            .metrics
            .consensus_evidence_pending
            .set(self.evidence.len() as i64);
        let time_ms = block.header.time_ms();
        if let Some(run) = self.run.as_mut() {
            run.accepted.push(accepted);
            run.last = Some((height, time_ms));
            if run.batch.add(block.encoded_len()) {
                let accepted = std::mem::take(&mut run.accepted);
                run.batch.synced();
                // A failure halts the store: the run's next commit fails.
                self.sync_run(accepted);
            }
            return;
        }
        self.next_height_after(height, Some(block.hash()), time_ms);
    }

    /// Notes when a proposed block first reached this node (or left it).
    fn proposal_seen(&mut self, height: u64, block: Hash) {
        let (current, now) = (self.engine.height(), self.node.clock.monotonic());
        self.proposals_seen.note(height, block, current, now);
    }

    /// Starts the height after `height` (committed: `block`, if known, made
    /// at `time_ms`) at the chain's pace.
    fn next_height_after(&mut self, height: u64, block: Option<Hash>, time_ms: u64) {
        // The next height starts one block interval after this block's
        // time (CometBFT's commit timeout): blocks come at the chain's
        // pace, not as fast as votes travel. A block caught up from peers
        // is old: the next starts at once.
        let now = self.node.clock.now_millis();
        let seen_ms_ago = self
            .proposals_seen
            .take(height, block, self.node.clock.monotonic());
        let pace = pace_ms(self.block_interval_ms, time_ms, now, seen_ms_ago);
        // Precommits the certificate lacks may still come: wait for them up
        // to the commit timeout, never past the interval, unless they are
        // all in sooner (ADR 0042).
        let pause = if self.engine.awaits_precommits() {
            self.rules.commit_timeout_ms().min(self.block_interval_ms)
        } else {
            0
        };
        if pause > pace {
            self.pause = Some((height, pace == 0));
            self.send_after(pace, Inbound::PaceReached { height });
            self.send_after(pause, Inbound::Advance { height });
        } else if pace == 0 {
            self.advance(height);
        } else {
            self.send_after(pace, Inbound::Advance { height });
        }
    }

    /// Height, round and step: a timeout that changes them fired and moved
    /// the machine on (one that arrives late changes nothing).
    fn step_position(&self) -> (u64, u32, Step) {
        (
            self.engine.height(),
            self.engine.round(),
            self.engine.machine().step(),
        )
    }

    /// Logs when this node's validator key joins or leaves the set of the
    /// height the engine is at (an authority change or an election): an
    /// operator sees when its node starts or stops signing.
    fn note_membership(&mut self) {
        let Some(id) = self.engine.me() else {
            return;
        };
        let member = self.engine.is_validator();
        let height = self.engine.height();
        match self.member.replace(member) {
            Some(false) if member => tracing::info!(
                validator = %id,
                height,
                "this validator key is in the validator set from this height: the node signs"
            ),
            Some(true) if !member => tracing::warn!(
                validator = %id,
                height,
                "this validator key left the validator set at this height: the node follows and signs nothing until the set includes it again"
            ),
            _ => {}
        }
    }

    /// The metrics of a committed block: who signed the certificate it
    /// carries (its parent's, checked against the set of the parent's
    /// height when the block connected) and its time.
    fn observe_commit(&self, height: u64, block: &Block) {
        let signed_by = block
            .last_commit
            .as_ref()
            .and_then(|c| c.height.checked_sub(1))
            .and_then(|h| self.node.chain.consensus_record(h).ok().flatten());
        let last_commit = block
            .last_commit
            .as_ref()
            .zip(signed_by.as_ref().map(|r| &r.validators));
        self.node.metrics.consensus_commit(
            height,
            block.header.time_ms(),
            last_commit,
            self.engine.me().as_ref(),
        );
    }
}

/// The metrics' name of a timeout's step.
fn timeout_step(kind: TimeoutKind) -> TimeoutStep {
    match kind {
        TimeoutKind::Propose => TimeoutStep::Propose,
        TimeoutKind::Prevote => TimeoutStep::Prevote,
        TimeoutKind::Precommit => TimeoutStep::Precommit,
    }
}

#[cfg(test)]
mod tests {
    use super::{pace_ms, Arrivals, MAX_PROPOSALS_SEEN};
    use luminex_primitives::Hash;
    use std::time::Duration;

    /// Arrivals are kept for the current height and the next only, at most
    /// 64 (anything may be sent before a signature is checked), the first
    /// of each block, and forgotten once their height is committed.
    #[test]
    fn arrivals_are_bounded_and_forgotten_with_their_height() {
        let ms = Duration::from_millis;
        let mut a = Arrivals::default();
        let block = |i: u8| Hash([i; 32]);
        a.note(10, block(1), 10, ms(1_000));
        a.note(10, block(1), 10, ms(1_500));
        a.note(12, block(2), 10, ms(1_000));
        a.note(9, block(3), 10, ms(1_000));
        a.note(11, block(4), 10, ms(1_100));
        for i in 0..200u8 {
            a.note(11, Hash([i; 32]), 10, ms(1_200));
        }
        assert_eq!(a.0.len(), MAX_PROPOSALS_SEEN);
        // Height 10 committed 250 ms after its first arrival.
        assert_eq!(a.take(10, Some(block(1)), ms(1_250)), Some(250));
        assert_eq!(a.take(10, Some(block(1)), ms(1_250)), None);
        assert!(a.0.keys().all(|(h, _)| *h == 11));
        assert_eq!(a.take(11, Some(block(4)), ms(1_300)), Some(200));
        assert!(a.0.is_empty());
        // Past the bound nothing is noted: the pace falls back on the
        // block's time.
        for i in 0..MAX_PROPOSALS_SEEN as u8 {
            a.note(12, Hash([i; 32]), 12, ms(2_000));
        }
        a.note(12, block(250), 12, ms(2_000));
        assert_eq!(a.take(12, Some(block(250)), ms(2_100)), None);
        assert_eq!(a.take(12, None, ms(2_100)), None);
    }

    /// The next height waits until one interval after the block's time by
    /// the clock, or after its proposal arrived by the monotonic clock,
    /// whichever comes first, and never longer than the interval.
    #[test]
    fn the_pace_counts_from_the_block_time_or_its_arrival_whichever_is_sooner() {
        let interval = 250;
        let now = 1_000_000;
        // In step with the proposer: the block was made 40 ms ago.
        assert_eq!(pace_ms(interval, now - 40, now, None), 210);
        assert_eq!(pace_ms(interval, now - 40, now, Some(35)), 210);
        // This node's clock 30 s behind the proposer's: its proposal came
        // 40 ms ago, so 210 ms more, not the whole interval.
        assert_eq!(pace_ms(interval, now + 30_000, now, Some(40)), 210);
        assert_eq!(pace_ms(interval, now + 30_000, now, None), interval);
        // An old block (caught up): at once, whatever arrived when.
        assert_eq!(pace_ms(interval, now - 10_000, now, Some(5)), 0);
        assert_eq!(pace_ms(interval, now + 30_000, now, Some(10_000)), 0);
    }
}
