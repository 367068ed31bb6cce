//! The simulated network and the event queue: every message is dropped,
//! delayed, duplicated or cut off by the partition as the seed draws, and
//! each event is handed to the node it concerns.

use std::cmp::Reverse;
use std::sync::Arc;

use luminex_consensus::bft::machine::TimeoutKind;
use luminex_consensus::bft::Gossip;
use luminex_primitives::codec::Decode;
use luminex_primitives::{Block, CommitCertificate};

use crate::{clients, workload, Sim};

/// How often a node re-gossips and announces its height.
pub const TICK_MS: u64 = 400;
/// Blocks sent at once to a peer that is behind.
const SYNC_BATCH: u64 = 8;

/// What crosses the simulated network.
#[derive(Clone, Debug)]
pub(crate) enum Wire {
    /// An encoded consensus message (or garbage).
    Consensus(Vec<u8>),
    /// "I am deciding this height."
    Status(u64),
    /// A finalized block with its certificate (block sync).
    Certified(Arc<Block>, CommitCertificate),
}

#[derive(Clone, Debug)]
pub(crate) enum Event {
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

impl Sim {
    pub(crate) fn push(&mut self, at: u64, e: Event) {
        self.seq += 1;
        self.events.insert(self.seq, e);
        self.queue.push(Reverse((at, self.seq)));
    }

    pub(crate) fn cut(&self, a: usize, b: usize) -> bool {
        self.now < self.cfg.heal_ms
            && self.cfg.partitioned.contains(&a) != self.cfg.partitioned.contains(&b)
    }

    pub(crate) fn send(&mut self, from: usize, to: usize, wire: Wire) {
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

    pub(crate) fn broadcast(&mut self, from: usize, wire: Wire) {
        for to in 0..self.nodes.len() {
            self.send(from, to, wire.clone());
        }
    }

    pub(crate) fn handle(&mut self, event: Event) {
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
    pub(crate) fn tick(&mut self, node: usize) {
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

    pub(crate) fn deliver(&mut self, from: usize, to: usize, wire: Wire) {
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
                let r = self.with_engine_result(to, |e, h| e.certified(block, cert, h));
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
}
