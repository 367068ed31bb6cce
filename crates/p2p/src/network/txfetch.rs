//! Transactions announced by txid and fetched once (ADR 0047).
//!
//! A node sends the transactions its local clients gave it whole to its
//! own peers (a batch every [`super::TX_BATCH_DELAY`] while they keep
//! coming), and nobody relays a batch: a peer that admitted new
//! transactions from it announces their txids to its peers instead. A peer
//! that receives an announcement asks the peer that sent it for those it
//! lacks — not already in its mempool, not already being fetched from
//! someone else — admits them, and only then lets gossipsub relay the
//! announcement, so whoever receives it from this node can fetch from it.
//! Each node thus receives each transaction's bytes once, where relaying
//! whole batches sent them to it from every peer whose copy left before
//! its "I have it" (IDONTWANT) arrived: on four validators under load, ten
//! times the transactions' bytes for the three copies needed. The first
//! hop costs no round trip; on a full mesh nothing is fetched at all.

use std::collections::HashMap;

use libp2p::{gossipsub, PeerId};
use luminex_primitives::{Hash, Transaction};

use super::peer::Offence;
use super::{ChainAccess, Done, Net, Purpose, Verdict};
use crate::wire::{self, Request, Response};

/// Announcements whose transactions are being fetched at once, over all
/// peers; past that an announcement is ignored (not relayed) and its
/// transactions come another way (another announcement, a proposal's
/// fetch of what a block holds).
pub(super) const FETCHES_IN_PROGRESS: usize = 64;
/// Of them, from one peer.
pub(super) const FETCHES_PER_PEER: usize = 16;

/// An announcement whose missing transactions were asked for.
pub(super) struct TxFetch {
    /// The gossip message, judged when the transactions are in.
    id: gossipsub::MessageId,
    /// The peer that sent it, and was asked.
    source: PeerId,
    /// The txids asked for.
    txids: Vec<Hash>,
}

/// The fetches in progress.
#[derive(Default)]
pub(super) struct TxFetches {
    /// Txids being fetched, and from whom.
    in_flight: HashMap<Hash, PeerId>,
    /// Fetches per peer.
    per_peer: HashMap<PeerId, usize>,
    /// Fetches in all.
    count: usize,
}

impl TxFetches {
    /// Whether another fetch from `peer` is within the bounds.
    fn room_for(&self, peer: &PeerId) -> bool {
        self.count < FETCHES_IN_PROGRESS
            && self.per_peer.get(peer).copied().unwrap_or(0) < FETCHES_PER_PEER
    }

    /// Of `txids`, those not being fetched already; they are marked as
    /// being fetched from `peer`.
    fn start(&mut self, peer: PeerId, txids: Vec<Hash>) -> Vec<Hash> {
        let fresh: Vec<Hash> = txids
            .into_iter()
            .filter(|t| !self.in_flight.contains_key(t))
            .collect();
        if !fresh.is_empty() {
            for t in &fresh {
                self.in_flight.insert(*t, peer);
            }
            *self.per_peer.entry(peer).or_insert(0) += 1;
            self.count += 1;
        }
        fresh
    }

    /// A fetch ended (answered or failed).
    fn end(&mut self, fetch: &TxFetch) {
        for t in &fetch.txids {
            self.in_flight.remove(t);
        }
        if let Some(n) = self.per_peer.get_mut(&fetch.source) {
            *n -= 1;
            if *n == 0 {
                self.per_peer.remove(&fetch.source);
            }
        }
        self.count = self.count.saturating_sub(1);
    }

    /// How many fetches are in progress (for the census).
    pub(super) fn len(&self) -> usize {
        self.count
    }
}

/// Checks an answer against what was asked: each transaction one that was
/// asked for, none twice.
fn check_answer(asked: &[Hash], txs: &[Transaction]) -> Result<(), &'static str> {
    let mut wanted: std::collections::HashSet<&Hash> = asked.iter().collect();
    for tx in txs {
        if !wanted.remove(&tx.txid()) {
            return Err("a transaction not asked for");
        }
    }
    Ok(())
}

impl<C: ChainAccess> Net<C> {
    /// An announcement of txids: malformed, it costs its sender; otherwise
    /// the ones this node lacks are looked up off the event loop (the
    /// mempool's lock may be held by a block being connected).
    pub(super) fn on_tx_announcement(
        &mut self,
        source: PeerId,
        id: gossipsub::MessageId,
        data: &[u8],
    ) {
        let txids = match wire::txids_from_announce_frame(data) {
            Ok(t) => t,
            Err(e) => {
                self.report(&id, &source, Verdict::Reject);
                self.offend(source, Offence::Malformed, &e.to_string());
                return;
            }
        };
        if !self.tx_fetches.room_for(&source) {
            self.report(&id, &source, Verdict::Ignore);
            return;
        }
        let chain = self.chain.clone();
        let done = self.done_tx.clone();
        tokio::task::spawn_blocking(move || {
            let missing = txids.into_iter().filter(|t| !chain.has_tx(t)).collect();
            let _ = done.send(Done::Announced {
                id,
                source,
                missing,
            });
        });
    }

    /// The transactions of an announcement this node lacks: asked for from
    /// its sender, unless they are already being fetched.
    pub(super) fn on_announced(
        &mut self,
        id: gossipsub::MessageId,
        source: PeerId,
        missing: Vec<Hash>,
    ) {
        if missing.is_empty() || !self.peers.contains_key(&source) {
            // Nothing new here (or nobody to ask): not relayed, since
            // whoever could want these has been sent them another way.
            self.report(&id, &source, Verdict::Ignore);
            return;
        }
        if !self.tx_fetches.room_for(&source) {
            self.report(&id, &source, Verdict::Ignore);
            return;
        }
        let txids = self.tx_fetches.start(source, missing);
        if txids.is_empty() {
            self.report(&id, &source, Verdict::Ignore);
            return;
        }
        let fetch = TxFetch {
            id,
            source,
            txids: txids.clone(),
        };
        self.request(source, Request::Txs(txids), Purpose::Txs(Box::new(fetch)));
    }

    /// The announcer's answer: its transactions go to the mempool off the
    /// event loop and the announcement is judged by them, as a batch is.
    /// A transaction that was not asked for costs the sender; fewer than
    /// asked (the announcer's block took them meanwhile) costs nothing.
    pub(super) fn on_txs(&mut self, peer: PeerId, fetch: Box<TxFetch>, response: Response) {
        self.tx_fetches.end(&fetch);
        let txs = match response {
            Response::Txs(txs) if !txs.is_empty() => txs,
            Response::Txs(_) | Response::NotFound | Response::RateLimited => {
                self.report(&fetch.id, &fetch.source, Verdict::Ignore);
                return;
            }
            _ => {
                self.report(&fetch.id, &fetch.source, Verdict::Ignore);
                self.offend(
                    peer,
                    Offence::BadSyncAnswer,
                    "wrong answer to a request for transactions",
                );
                return;
            }
        };
        if let Err(why) = check_answer(&fetch.txids, &txs) {
            self.report(&fetch.id, &fetch.source, Verdict::Reject);
            self.offend(peer, Offence::BadSyncAnswer, why);
            return;
        }
        let chain = self.chain.clone();
        let done = self.done_tx.clone();
        let TxFetch { id, source, .. } = *fetch;
        tokio::task::spawn_blocking(move || {
            let verdict =
                super::gossip::batch_verdict(txs.into_iter().map(|tx| chain.submit_tx(tx)));
            let _ = done.send(Done::Tx {
                id,
                source,
                verdict,
                announce: None,
            });
        });
    }

    /// A request for announced transactions failed (no answer in time,
    /// the connection dropped): the announcement is not relayed.
    pub(super) fn on_txs_failed(&mut self, fetch: Box<TxFetch>) {
        self.tx_fetches.end(&fetch);
        self.report(&fetch.id, &fetch.source, Verdict::Ignore);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(i: u8) -> Hash {
        Hash([i; 32])
    }

    #[test]
    fn a_txid_is_fetched_from_one_peer_at_a_time() {
        let mut f = TxFetches::default();
        let (a, b) = (PeerId::random(), PeerId::random());
        assert_eq!(f.start(a, vec![h(1), h(2)]), vec![h(1), h(2)]);
        // Announced by b meanwhile: only what a is not giving.
        assert_eq!(f.start(b, vec![h(2), h(3)]), vec![h(3)]);
        assert_eq!(f.start(b, vec![h(1), h(3)]), Vec::<Hash>::new());
        assert_eq!(f.len(), 2, "a fetch that asks nothing is not one");
        let first = TxFetch {
            id: gossipsub::MessageId::new(b"1"),
            source: a,
            txids: vec![h(1), h(2)],
        };
        f.end(&first);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f.start(b, vec![h(1)]),
            vec![h(1)],
            "asked again once a's ended"
        );
    }

    #[test]
    fn fetches_are_bounded_per_peer_and_in_all() {
        let mut f = TxFetches::default();
        let a = PeerId::random();
        for i in 0..FETCHES_PER_PEER {
            assert!(f.room_for(&a));
            f.start(a, vec![Hash([i as u8 + 1; 32])]);
        }
        assert!(!f.room_for(&a), "per peer");
        let mut n = 0u32;
        while f.room_for(&PeerId::random()) {
            let mut id = [0u8; 32];
            id[..4].copy_from_slice(&(n + 1_000).to_le_bytes());
            f.start(PeerId::random(), vec![Hash(id)]);
            n += 1;
            assert!(n < 1_000);
        }
        assert_eq!(f.len(), FETCHES_IN_PROGRESS);
    }

    #[test]
    fn an_answer_holds_only_what_was_asked_once() {
        let tx = |n: u64| Transaction {
            version: 1,
            chain_id: 7,
            kind: luminex_primitives::TxKind::Coinbase { height: n },
            inputs: vec![],
            outputs: vec![],
            expiry_height: 0,
            witnesses: vec![],
            data: vec![],
        };
        let asked = vec![tx(1).txid(), tx(2).txid()];
        assert!(check_answer(&asked, &[tx(2)]).is_ok(), "fewer is fine");
        assert!(check_answer(&asked, &[tx(1), tx(2)]).is_ok());
        assert!(check_answer(&asked, &[tx(3)]).is_err());
        assert!(check_answer(&asked, &[tx(1), tx(1)]).is_err());
    }
}
