//! A node's handling of compact proposals (ADR 0029), without I/O: which
//! proposals it is rebuilding, when it asks for missing transactions, which
//! requests it answers, and what it may relay. The node's consensus task
//! and the simulation drive the same [`ProposalRelay`]; they bring the
//! clock and the mempool, publish what it returns and hand the rebuilt
//! proposals to the engine.

use std::collections::BTreeMap;
use std::sync::Arc;

use luminex_ledger::KnownTx;
use luminex_primitives::{Block, Encode, Hash, MerkleCommitment, Transaction};

use super::compact::{txs_at, CompactProposal, PendingProposal, Pooled};
use super::engine::{Engine, MessageError};
use super::message::{Gossip, SignedProposal};

/// Compact proposals of the current height rebuilt at once (a proposer
/// signs one per round; a few rounds fit).
pub const MAX_PENDING: usize = 16;
/// Compact proposals of the next height kept until it starts: they cannot
/// be authenticated before (the proposer is known only there).
pub const MAX_PENDING_AHEAD: usize = 4;
/// The first wait for an answer before asking again (ms); it doubles with
/// each ask, up to [`ASK_AGAIN_MAX_MS`].
pub const ASK_AGAIN_MS: u64 = 500;
/// The longest wait between two asks (ms).
pub const ASK_AGAIN_MAX_MS: u64 = 8_000;
/// Requests for its proposal's transactions a proposer answers per block
/// (a request is unauthenticated: this bounds what one block costs it).
pub const MAX_ANSWERS: u32 = 32;
/// Transaction bytes in one answer: a large answer goes out as several
/// messages, each well under gossip's size limit and quick to relay.
pub const ANSWER_BYTES: usize = 1 << 20;

/// A node's mempool, by txid: what a relay fills proposals from.
pub type Lookup<'a> = dyn Fn(&Hash) -> Option<Pooled> + 'a;

/// Whether gossip may relay what arrived, and how to judge its sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relay {
    /// Valid: relay it.
    Accept,
    /// Not useful here (late, repeated, unknown block): drop it, no fault.
    Ignore,
    /// Wrong whenever it arrives: drop it and penalize the sender.
    Reject,
}

/// A proposal rebuilt whole, for [`Engine::receive`].
#[derive(Debug)]
pub struct Rebuilt {
    /// The proposal.
    pub proposal: SignedProposal,
    /// Whether some of its transactions were asked for (not all were in
    /// the mempool).
    pub fetched: bool,
    /// What the mempool knew of each of its transactions
    /// ([`PendingProposal::known`]).
    pub known: Vec<Option<KnownTx>>,
}

/// What the caller does after the relay handled something.
#[derive(Debug)]
pub struct Outcome {
    /// Whether gossip may relay the message that arrived.
    pub relay: Relay,
    /// Proposals now whole, for the engine.
    pub rebuilt: Vec<Rebuilt>,
    /// Messages to gossip (requests for transactions, answers).
    pub publish: Vec<Gossip>,
}

impl Outcome {
    fn new(relay: Relay) -> Outcome {
        Outcome {
            relay,
            rebuilt: Vec::new(),
            publish: Vec::new(),
        }
    }
}

/// A compact proposal being rebuilt.
struct Rebuilding {
    proposal: PendingProposal,
    /// When its missing transactions were last asked for (ms).
    asked_at: u64,
    /// How many times.
    asks: u32,
}

/// A proposal this validator sent in compact form.
struct Own {
    height: u64,
    block: Arc<Block>,
    answers: u32,
}

/// Proposals in flight at one node (see the module docs). Ordered maps:
/// what it publishes comes in the same order on every run, so the
/// simulation replays exactly.
pub struct ProposalRelay {
    commitment: MerkleCommitment,
    /// By block hash and round: the same block may be proposed again in a
    /// later round (a proof-of-lock value).
    pending: BTreeMap<(Hash, u32), Rebuilding>,
    own: BTreeMap<Hash, Own>,
}

impl ProposalRelay {
    /// A relay for a chain whose headers commit to transactions with
    /// `commitment`.
    pub fn new(commitment: MerkleCommitment) -> ProposalRelay {
        ProposalRelay {
            commitment,
            pending: BTreeMap::new(),
            own: BTreeMap::new(),
        }
    }

    /// This validator's proposal, in the form to gossip; its block is kept
    /// to answer requests for its transactions.
    pub fn outgoing(&mut self, p: &SignedProposal) -> Gossip {
        let block = &p.proposal.block;
        self.own.entry(block.hash()).or_insert_with(|| Own {
            height: p.proposal.height,
            block: Arc::clone(block),
            answers: 0,
        });
        Gossip::CompactProposal(Box::new(CompactProposal::new(p)))
    }

    /// A proposal sent again (a stalled round), compact.
    pub fn replay(p: &SignedProposal, time_ms: u64) -> Gossip {
        Gossip::ReplayProposal {
            time_ms,
            proposal: Box::new(CompactProposal::new(p)),
        }
    }

    /// Proposals being rebuilt (for tests and metrics).
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    fn pending_at(&self, height: u64) -> usize {
        self.keys_at(height).len()
    }

    /// The proposals of `height` being rebuilt.
    fn keys_at(&self, height: u64) -> Vec<(Hash, u32)> {
        self.pending
            .iter()
            .filter(|(_, r)| r.proposal.compact().height == height)
            .map(|(k, _)| *k)
            .collect()
    }

    /// A compact proposal from a peer: authenticated against `engine`'s
    /// current height (its signature covers the block hash), then rebuilt
    /// from `mempool`; what is missing is asked for.
    pub fn on_compact(
        &mut self,
        engine: &Engine,
        c: CompactProposal,
        now_ms: u64,
        mempool: &Lookup<'_>,
    ) -> Outcome {
        let key = (c.block_hash(), c.round);
        let current = engine.height();
        if self.pending.contains_key(&key)
            || (c.height == current && engine.has_proposal(c.round, &key.0))
        {
            return Outcome::new(Relay::Ignore);
        }
        match c.authenticate(engine) {
            Ok(()) => {}
            Err(MessageError::TooFarAhead { height, .. }) if height == current + 1 => {
                // Taken up when the next height starts; not relayed before.
                if self.pending_at(height) < MAX_PENDING_AHEAD {
                    self.pending.insert(key, Rebuilding::new(c));
                }
                return Outcome::new(Relay::Ignore);
            }
            Err(e) if e.penalize() => return Outcome::new(Relay::Reject),
            Err(_) => return Outcome::new(Relay::Ignore),
        }
        // A block the engine holds already (proposed again in a later
        // round, the proof-of-lock value): the same header, so the same
        // transactions; nothing to rebuild.
        if let Some(block) = engine.known_block(&key.0) {
            let mut out = Outcome::new(Relay::Accept);
            out.rebuilt.push(Rebuilt {
                proposal: c.with_block(Arc::clone(block)),
                fetched: false,
                known: Vec::new(),
            });
            return out;
        }
        if self.pending_at(current) >= MAX_PENDING {
            return Outcome::new(Relay::Ignore);
        }
        self.pending.insert(key, Rebuilding::new(c));
        let mut out = Outcome::new(Relay::Accept);
        self.rebuild(key, now_ms, mempool, &mut out);
        out
    }

    /// Fills one pending proposal from the mempool; moves it to `out` when
    /// whole, asks for what is missing otherwise.
    fn rebuild(&mut self, key: (Hash, u32), now_ms: u64, mempool: &Lookup<'_>, out: &mut Outcome) {
        let Some(r) = self.pending.get_mut(&key) else {
            return;
        };
        r.proposal.fill_from(mempool);
        match r.proposal.finish(self.commitment) {
            Some(Ok(proposal)) => {
                let fetched = r.asks > 0;
                let known = r.proposal.known().to_vec();
                self.pending.remove(&key);
                out.rebuilt.push(Rebuilt {
                    proposal,
                    fetched,
                    known,
                });
            }
            // Some(Err): a mempool transaction with another witness; every
            // slot was emptied, ask for them all.
            Some(Err(_)) | None => {
                let wait = ASK_AGAIN_MS
                    .saturating_mul(1 << r.asks.min(8))
                    .min(ASK_AGAIN_MAX_MS);
                if r.asks == 0 || now_ms >= r.asked_at.saturating_add(wait) {
                    r.asks += 1;
                    r.asked_at = now_ms;
                    out.publish.push(Gossip::WantTxs {
                        time_ms: now_ms,
                        height: r.proposal.compact().height,
                        block: key.0,
                        indexes: r.proposal.missing(),
                    });
                }
            }
        }
    }

    /// A request for transactions of a proposed block: answered when it is
    /// this validator's proposal, relayed when the block is being rebuilt
    /// here too (the proposer may be a hop away).
    pub fn on_want(&mut self, height: u64, block: Hash, indexes: &[u32], now_ms: u64) -> Outcome {
        let Some(own) = self.own.get_mut(&block) else {
            let known = self.pending.iter().any(|((h, _), r)| {
                *h == block
                    && indexes
                        .iter()
                        .all(|i| (*i as usize) < r.proposal.compact().tx_count())
            });
            return Outcome::new(if known { Relay::Accept } else { Relay::Ignore });
        };
        if own.height != height {
            return Outcome::new(Relay::Ignore);
        }
        let Some(txs) = txs_at(&own.block, indexes) else {
            return Outcome::new(Relay::Reject);
        };
        if own.answers >= MAX_ANSWERS {
            return Outcome::new(Relay::Ignore);
        }
        own.answers += 1;
        let mut out = Outcome::new(Relay::Accept);
        for (indexes, txs) in answer_chunks(indexes.to_vec(), txs, ANSWER_BYTES) {
            out.publish.push(Gossip::ProposalTxs {
                time_ms: now_ms,
                block,
                indexes,
                txs,
            });
        }
        out
    }

    /// Transactions of a proposed block: taken by every proposal of that
    /// block being rebuilt, when they are the ones it names.
    pub fn on_txs(
        &mut self,
        block: Hash,
        indexes: &[u32],
        txs: &[Transaction],
        now_ms: u64,
        mempool: &Lookup<'_>,
    ) -> Outcome {
        let keys: Vec<(Hash, u32)> = self
            .pending
            .keys()
            .filter(|(h, _)| *h == block)
            .copied()
            .collect();
        if keys.is_empty() {
            return Outcome::new(Relay::Ignore);
        }
        let mut out = Outcome::new(Relay::Accept);
        for key in keys {
            let r = self.pending.get_mut(&key).expect("listed");
            if r.proposal.supply(indexes, txs.to_vec()).is_err() {
                return Outcome::new(Relay::Reject);
            }
            self.rebuild(key, now_ms, mempool, &mut out);
        }
        out
    }

    /// Once a tick: the proposals of `engine`'s height go on being rebuilt
    /// (their transactions may have reached the mempool since, or an
    /// answer was lost).
    pub fn tick(&mut self, engine: &Engine, now_ms: u64, mempool: &Lookup<'_>) -> Outcome {
        let mut out = Outcome::new(Relay::Accept);
        for k in self.keys_at(engine.height()) {
            self.rebuild(k, now_ms, mempool, &mut out);
        }
        out
    }

    /// After `engine` moved to a new height: forgets the proposals of the
    /// heights left and takes up those of the new one that came early.
    pub fn advanced(&mut self, engine: &Engine, now_ms: u64, mempool: &Lookup<'_>) -> Outcome {
        let current = engine.height();
        self.own.retain(|_, o| o.height >= current);
        self.pending
            .retain(|_, r| r.proposal.compact().height >= current);
        let mut out = Outcome::new(Relay::Accept);
        for k in self.keys_at(current) {
            if self.pending[&k].asks > 0 {
                continue;
            }
            if self.pending[&k]
                .proposal
                .compact()
                .authenticate(engine)
                .is_ok()
            {
                self.rebuild(k, now_ms, mempool, &mut out);
            } else {
                self.pending.remove(&k);
            }
        }
        out
    }
}

impl Rebuilding {
    fn new(c: CompactProposal) -> Rebuilding {
        Rebuilding {
            proposal: PendingProposal::new(c),
            asked_at: 0,
            asks: 0,
        }
    }
}

/// Splits an answer into parts of at most `max_bytes` of transactions (a
/// transaction larger than that makes a part of its own).
pub fn answer_chunks(
    indexes: Vec<u32>,
    txs: Vec<Transaction>,
    max_bytes: usize,
) -> Vec<(Vec<u32>, Vec<Transaction>)> {
    let mut out: Vec<(Vec<u32>, Vec<Transaction>)> = Vec::new();
    let mut bytes = 0;
    for (i, tx) in indexes.into_iter().zip(txs) {
        let n = tx.encoded_len();
        match out.last_mut() {
            Some((is, ts)) if bytes + n <= max_bytes => {
                is.push(i);
                ts.push(tx);
                bytes += n;
            }
            _ => {
                out.push((vec![i], vec![tx]));
                bytes = n;
            }
        }
    }
    out
}
