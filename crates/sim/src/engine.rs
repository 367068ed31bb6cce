//! Driving each node's BFT engine and proposal relay: their effects
//! carried out (broadcasts, timeouts, evidence, commits), every commit
//! checked against what the other honest nodes finalized, and the commit
//! pause for late precommits (ADR 0042).

use std::sync::Arc;

use luminex_consensus::bft::evidence::{AddEvidence, CheckEvidence};
use luminex_consensus::bft::relay::{Lookup, Outcome as RelayOutcome};
use luminex_consensus::bft::Pooled;
use luminex_consensus::bft::{
    ConsensusMessage, DuplicateVoteEvidence, Effect, Gossip, ProposalRelay, Relay,
};
use luminex_ledger::KnownTx;
use luminex_primitives::codec::Encode;
use luminex_primitives::{Block, CommitCertificate, Hash};

use crate::node::NodeHost;
use crate::{Behaviour, Event, Sim, Wire, FAST_CLOCK_MS};

impl Sim {
    pub(crate) fn boot(&mut self, i: usize) {
        let (spec, rules) = (self.spec.clone(), self.rules.clone());
        if let Err(e) = self.nodes[i].boot(&spec, &rules, self.cfg.locking) {
            self.violation = Some(format!("node {i} cannot restart: {e}"));
            return;
        }
        self.with_engine(i, |engine, host| engine.start(host));
    }

    /// [`Sim::relay`] for a message from `from`: an honest sender's
    /// message refused as wrong is a violation.
    pub(crate) fn relay_from(
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
    pub(crate) fn relay(
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
        let lookup = |id: &Hash| {
            pool.get(id).map(|e| Pooled {
                tx: e.tx.clone(),
                known: Some(KnownTx {
                    txid: e.txid,
                    wtxid: e.wtxid,
                    size: e.size,
                }),
            })
        };
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
    pub(crate) fn with_engine(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut luminex_consensus::bft::Engine, &mut NodeHost<'_>) -> Vec<Effect>,
    ) {
        let _ = self.with_engine_result(i, |e, h| Ok::<_, ()>(f(e, h)));
    }

    pub(crate) fn with_engine_result<E>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut luminex_consensus::bft::Engine, &mut NodeHost<'_>) -> Result<Vec<Effect>, E>,
    ) -> Result<(), E> {
        let node = &mut self.nodes[i];
        let now_ms = self.start_ms
            + self.now
            + if node.behaviour == Behaviour::FastClock {
                FAST_CLOCK_MS
            } else {
                0
            };
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
    pub(crate) fn apply(&mut self, i: usize, effects: Vec<Effect>) {
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
                Effect::Commit { block, certificate } => self.commit(i, block, certificate),
            }
        }
    }

    /// Node `i` keeps evidence it checked (or its engine found) and, when
    /// new, floods it on. Evidence against an honest validator breaks the
    /// engine's promise that honest votes never conflict.
    pub(crate) fn keep_evidence(&mut self, i: usize, e: DuplicateVoteEvidence) {
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
    pub(crate) fn on_evidence(&mut self, from: usize, to: usize, e: DuplicateVoteEvidence) {
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

    pub(crate) fn commit(&mut self, i: usize, block: Arc<Block>, certificate: CommitCertificate) {
        let hash = block.hash();
        let height = certificate.height;
        let honest = self.honest(i);
        let now_ms = self.start_ms + self.now;
        let Some(live) = self.nodes[i].live.as_mut() else {
            return;
        };
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
                    self.max_block_lead_ms = self
                        .max_block_lead_ms
                        .max(block.header.time_ms().saturating_sub(now_ms));
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
    pub(crate) fn end_pause_if_complete(&mut self, i: usize) {
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
    pub(crate) fn advance(&mut self, i: usize, height: u64) {
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
