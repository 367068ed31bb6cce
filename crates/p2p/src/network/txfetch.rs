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
//!
//! An announcement this node cannot act on at once — past the bounds on
//! fetches, or naming transactions already being fetched from another
//! peer — waits (up to [`WAITING_MAX`]) and is looked at again when a
//! fetch ends: so when a fetch fails (no answer in time, or fewer
//! transactions than asked) the transactions are asked of the next peer
//! that announced them. A peer cannot keep a transaction from this node by
//! announcing it first and never answering: it costs the peer, and the
//! transactions are then asked of other peers (up to [`ASKED_MAX`] in
//! all) — gossipsub delivers an announcement once whoever relays it, so
//! the honest relayers of the same announcement are not known by name.

use std::collections::{HashMap, VecDeque};

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
/// Announcements waiting for room or for another peer's fetch to end;
/// past that an announcement is ignored (not relayed).
pub(super) const WAITING_MAX: usize = 256;
/// Waiting announcements looked at again each time a fetch ends.
const RETRIES_PER_FETCH: usize = 4;
/// Peers asked for an announcement's transactions at most: its sender,
/// then others while they are not given.
const ASKED_MAX: usize = 3;

/// An announcement whose missing transactions were asked for.
pub(super) struct TxFetch {
    /// The gossip message, judged when the transactions are in (none for
    /// the rest of an announcement another fetch was started for).
    id: Option<gossipsub::MessageId>,
    /// The peer that sent it.
    source: PeerId,
    /// The txids asked for.
    txids: Vec<Hash>,
    /// The peers asked so far, the one asked now last.
    asked: Vec<PeerId>,
}

/// An announcement (or the part of one) not acted on yet.
pub(super) struct Waiting {
    /// The gossip message, if it has not been judged yet.
    id: Option<gossipsub::MessageId>,
    /// The peer that sent it.
    source: PeerId,
    /// The txids it named that this node lacked.
    txids: Vec<Hash>,
}

/// The fetches in progress and the announcements waiting.
#[derive(Default)]
pub(super) struct TxFetches {
    /// Txids being fetched, and from whom.
    in_flight: HashMap<Hash, PeerId>,
    /// Fetches per peer.
    per_peer: HashMap<PeerId, usize>,
    /// Fetches in all.
    count: usize,
    /// Announcements waiting, oldest first.
    waiting: VecDeque<Waiting>,
}

impl TxFetches {
    /// Whether another fetch from `peer` is within the bounds.
    fn room_for(&self, peer: &PeerId) -> bool {
        self.count < FETCHES_IN_PROGRESS
            && self.per_peer.get(peer).copied().unwrap_or(0) < FETCHES_PER_PEER
    }

    /// Splits `txids` into those not being fetched already, which are
    /// marked as being fetched from `peer`, and those being fetched.
    fn start(&mut self, peer: PeerId, txids: Vec<Hash>) -> (Vec<Hash>, Vec<Hash>) {
        let (fresh, busy): (Vec<Hash>, Vec<Hash>) = txids
            .into_iter()
            .partition(|t| !self.in_flight.contains_key(t));
        if !fresh.is_empty() {
            for t in &fresh {
                self.in_flight.insert(*t, peer);
            }
            *self.per_peer.entry(peer).or_insert(0) += 1;
            self.count += 1;
        }
        (fresh, busy)
    }

    /// Puts an announcement aside until a fetch ends; gives it back when
    /// [`WAITING_MAX`] are waiting already.
    #[must_use]
    fn wait(&mut self, w: Waiting) -> Option<Waiting> {
        if self.waiting.len() >= WAITING_MAX {
            return Some(w);
        }
        self.waiting.push_back(w);
        None
    }

    /// Whether another announcement can be put aside.
    fn can_wait(&self) -> bool {
        self.waiting.len() < WAITING_MAX
    }

    /// The oldest waiting announcement.
    fn next_waiting(&mut self) -> Option<Waiting> {
        self.waiting.pop_front()
    }

    /// A fetch ended (answered or failed).
    fn end(&mut self, fetch: &TxFetch) {
        for t in &fetch.txids {
            self.in_flight.remove(t);
        }
        // Counted against the peer asked, which after a failed fetch is
        // another than the announcement's source.
        let asked = fetch.asked.last().unwrap_or(&fetch.source);
        if let Some(n) = self.per_peer.get_mut(asked) {
            *n -= 1;
            if *n == 0 {
                self.per_peer.remove(asked);
            }
        }
        self.count = self.count.saturating_sub(1);
    }

    /// How many fetches are in progress (for the census).
    pub(super) fn len(&self) -> usize {
        self.count
    }

    /// How many announcements are waiting (for the census).
    pub(super) fn waiting(&self) -> usize {
        self.waiting.len()
    }
}

/// Checks an answer against what was asked: each transaction one that was
/// asked for, none twice. Returns the txids asked for and not given.
fn check_answer(asked: &[Hash], txs: &[Transaction]) -> Result<Vec<Hash>, &'static str> {
    let mut wanted: std::collections::HashSet<&Hash> = asked.iter().collect();
    for tx in txs {
        if !wanted.remove(&tx.txid()) {
            return Err("a transaction not asked for");
        }
    }
    Ok(asked
        .iter()
        .filter(|t| wanted.contains(t))
        .copied()
        .collect())
}

impl<C: ChainAccess> Net<C> {
    /// Judges a gossip message, if it has not been judged yet.
    fn report_once(&mut self, id: Option<&gossipsub::MessageId>, source: &PeerId, v: Verdict) {
        if let Some(id) = id {
            self.report(id, source, v);
        }
    }

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
        if !self.tx_fetches.room_for(&source) && !self.tx_fetches.can_wait() {
            self.report(&id, &source, Verdict::Ignore);
            return;
        }
        self.look_up(Some(id), source, txids);
    }

    /// Looks up, off the event loop, which of `txids` the mempool lacks.
    fn look_up(&mut self, id: Option<gossipsub::MessageId>, source: PeerId, txids: Vec<Hash>) {
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
    /// its sender; those already being fetched from another peer, and all
    /// of them when there is no room for another fetch, wait until a fetch
    /// ends.
    pub(super) fn on_announced(
        &mut self,
        id: Option<gossipsub::MessageId>,
        source: PeerId,
        missing: Vec<Hash>,
    ) {
        if missing.is_empty() || !self.peers.contains_key(&source) {
            // Nothing new here (or nobody to ask): not relayed, since
            // whoever could want these has been sent them another way.
            self.report_once(id.as_ref(), &source, Verdict::Ignore);
            return;
        }
        if !self.tx_fetches.room_for(&source) {
            let w = Waiting {
                id,
                source,
                txids: missing,
            };
            if let Some(w) = self.tx_fetches.wait(w) {
                self.report_once(w.id.as_ref(), &source, Verdict::Ignore);
            }
            return;
        }
        let (fresh, busy) = self.tx_fetches.start(source, missing);
        // The message is judged with the fetch when there is one, else
        // when what waits is looked at again.
        let (fetch_id, wait_id) = if fresh.is_empty() {
            (None, id)
        } else {
            (id, None)
        };
        if !busy.is_empty() {
            let w = Waiting {
                id: wait_id,
                source,
                txids: busy,
            };
            if let Some(w) = self.tx_fetches.wait(w) {
                self.report_once(w.id.as_ref(), &source, Verdict::Ignore);
            }
        }
        if fresh.is_empty() {
            return;
        }
        let fetch = TxFetch {
            id: fetch_id,
            source,
            txids: fresh.clone(),
            asked: vec![source],
        };
        self.request(source, Request::Txs(fresh), Purpose::Txs(Box::new(fetch)));
    }

    /// Asks another peer for `missing`, the transactions of `fetch` its
    /// last peer did not give: the connected peer with the fewest fetches
    /// that was not asked yet, while fewer than [`ASKED_MAX`] were. Gives
    /// `fetch` back when nobody is left to ask (or nothing is missing).
    fn ask_elsewhere(
        &mut self,
        mut fetch: Box<TxFetch>,
        missing: Vec<Hash>,
    ) -> Option<Box<TxFetch>> {
        if missing.is_empty() || fetch.asked.len() >= ASKED_MAX {
            return Some(fetch);
        }
        let next = self
            .peers
            .keys()
            .filter(|p| !fetch.asked.contains(p) && self.tx_fetches.room_for(p))
            .min_by_key(|p| self.tx_fetches.per_peer.get(*p).copied().unwrap_or(0))
            .copied();
        let Some(next) = next else {
            return Some(fetch);
        };
        // Those another fetch is bringing already are left to it.
        let (fresh, _busy) = self.tx_fetches.start(next, missing);
        if fresh.is_empty() {
            return Some(fetch);
        }
        fetch.asked.push(next);
        fetch.txids = fresh.clone();
        self.request(next, Request::Txs(fresh), Purpose::Txs(fetch));
        None
    }

    /// Asks elsewhere for what `fetch` did not bring, or, with nobody left
    /// to ask, judges its announcement (ignored: not relayed).
    fn ask_elsewhere_or_drop(&mut self, fetch: Box<TxFetch>, missing: Vec<Hash>) {
        if let Some(fetch) = self.ask_elsewhere(fetch, missing) {
            self.report_once(fetch.id.as_ref(), &fetch.source, Verdict::Ignore);
        }
    }

    /// The answer of the peer asked: its transactions go to the mempool
    /// off the event loop and the announcement is judged by them, as a
    /// batch is. A transaction that was not asked for costs the peer;
    /// fewer than asked (a block took them meanwhile, or the peer is not
    /// the announcer) costs nothing, and the rest are asked of another
    /// peer.
    pub(super) fn on_txs(&mut self, peer: PeerId, mut fetch: Box<TxFetch>, response: Response) {
        self.tx_fetches.end(&fetch);
        let txs = match response {
            Response::Txs(txs) if !txs.is_empty() => txs,
            Response::Txs(_) | Response::NotFound | Response::RateLimited => {
                let missing = fetch.txids.clone();
                self.ask_elsewhere_or_drop(fetch, missing);
                self.retry_waiting();
                return;
            }
            _ => {
                self.offend(
                    peer,
                    Offence::BadSyncAnswer,
                    "wrong answer to a request for transactions",
                );
                let missing = fetch.txids.clone();
                self.ask_elsewhere_or_drop(fetch, missing);
                self.retry_waiting();
                return;
            }
        };
        let missing = match check_answer(&fetch.txids, &txs) {
            Ok(missing) => missing,
            Err(why) => {
                self.report_once(fetch.id.take().as_ref(), &fetch.source, Verdict::Reject);
                self.offend(peer, Offence::BadSyncAnswer, why);
                let missing = fetch.txids.clone();
                self.ask_elsewhere_or_drop(fetch, missing);
                self.retry_waiting();
                return;
            }
        };
        // The announcement is judged by what came; the rest is asked for
        // under no message.
        let id = fetch.id.take();
        let source = fetch.source;
        if !missing.is_empty() {
            self.ask_elsewhere(fetch, missing);
        }
        let chain = self.chain.clone();
        let done = self.done_tx.clone();
        tokio::task::spawn_blocking(move || {
            let verdict =
                super::gossip::batch_verdict(txs.into_iter().map(|tx| chain.submit_tx(tx)));
            let _ = done.send(Done::Fetched {
                id,
                source,
                verdict,
            });
        });
    }

    /// The mempool's verdict on fetched transactions: the announcement is
    /// relayed if any was new (whoever gets it from this node asks this
    /// node), and what waits is looked at again — now that these are in
    /// the mempool, a waiting announcement of them asks for nothing.
    pub(super) fn on_fetched(
        &mut self,
        id: Option<gossipsub::MessageId>,
        source: PeerId,
        verdict: Verdict,
    ) {
        self.report_once(id.as_ref(), &source, verdict);
        match verdict {
            Verdict::Accept => self.swarm.behaviour_mut().slots.gave_tx(source),
            Verdict::Reject => self.offend(source, Offence::InvalidTx, "invalid transaction"),
            Verdict::Ignore => {}
        }
        self.retry_waiting();
    }

    /// A request for announced transactions failed: they are asked of
    /// another peer. No answer in time, or the stream dropped unanswered,
    /// costs the peer asked (an honest peer answers, if only that it has
    /// none of them). What waits is looked at again.
    pub(super) fn on_txs_failed(&mut self, peer: PeerId, fetch: Box<TxFetch>, its_fault: bool) {
        self.tx_fetches.end(&fetch);
        let missing = fetch.txids.clone();
        self.ask_elsewhere_or_drop(fetch, missing);
        if its_fault {
            self.offend(
                peer,
                Offence::UnbackedAnnouncement,
                "did not answer for the transactions it announced",
            );
        }
        self.retry_waiting();
    }

    /// Looks again at the oldest few waiting announcements (a fetch ended,
    /// so there is room, or their transactions came or failed to come).
    fn retry_waiting(&mut self) {
        for _ in 0..RETRIES_PER_FETCH {
            let Some(w) = self.tx_fetches.next_waiting() else {
                return;
            };
            if self.peers.contains_key(&w.source) {
                self.look_up(w.id, w.source, w.txids);
            } else {
                self.report_once(w.id.as_ref(), &w.source, Verdict::Ignore);
            }
        }
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
        assert_eq!(f.start(a, vec![h(1), h(2)]), (vec![h(1), h(2)], vec![]));
        // Announced by b meanwhile: only what a is not giving; the rest
        // is told apart, to wait.
        assert_eq!(f.start(b, vec![h(2), h(3)]), (vec![h(3)], vec![h(2)]));
        assert_eq!(f.start(b, vec![h(1), h(3)]), (vec![], vec![h(1), h(3)]));
        assert_eq!(f.len(), 2, "a fetch that asks nothing is not one");
        let first = TxFetch {
            id: Some(gossipsub::MessageId::new(b"1")),
            source: a,
            txids: vec![h(1), h(2)],
            asked: vec![a],
        };
        f.end(&first);
        assert_eq!(f.len(), 1);
        assert_eq!(
            f.start(b, vec![h(1)]),
            (vec![h(1)], vec![]),
            "asked again once a's ended"
        );
    }

    /// A fetch asked of another peer after its source failed is counted,
    /// and ended, against that peer: announcers answering nothing cannot
    /// use up an honest peer's fetches.
    #[test]
    fn a_fetch_asked_elsewhere_ends_against_the_peer_asked() {
        let mut f = TxFetches::default();
        let (source, other) = (PeerId::random(), PeerId::random());
        for i in 0..2 * FETCHES_PER_PEER as u8 {
            let (fresh, _) = f.start(source, vec![h(i)]);
            let mut fetch = TxFetch {
                id: None,
                source,
                txids: fresh,
                asked: vec![source],
            };
            // The source answers nothing: ended, then asked of `other`.
            f.end(&fetch);
            let (fresh, _) = f.start(other, fetch.txids.clone());
            fetch.asked.push(other);
            fetch.txids = fresh;
            f.end(&fetch);
        }
        assert_eq!(f.len(), 0);
        assert!(f.per_peer.is_empty(), "{:?}", f.per_peer);
        assert!(f.room_for(&other) && f.room_for(&source));
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
    fn announcements_wait_in_order_up_to_a_bound() {
        let mut f = TxFetches::default();
        let a = PeerId::random();
        for i in 0..WAITING_MAX {
            assert!(f.can_wait());
            let w = Waiting {
                id: None,
                source: a,
                txids: vec![Hash([(i % 250) as u8; 32])],
            };
            assert!(f.wait(w).is_none());
        }
        assert!(!f.can_wait());
        let over = Waiting {
            id: Some(gossipsub::MessageId::new(b"x")),
            source: a,
            txids: vec![h(9)],
        };
        let back = f.wait(over).expect("full: given back");
        assert_eq!(back.txids, vec![h(9)], "given back, to be judged");
        assert_eq!(f.waiting(), WAITING_MAX);
        assert_eq!(f.next_waiting().map(|w| w.txids), Some(vec![h(0)]));
        assert!(f.can_wait());
    }

    #[test]
    fn an_answer_holds_only_what_was_asked_once() {
        use crate::wire::tests::tx;
        let asked = vec![tx(1).txid(), tx(2).txid()];
        assert_eq!(
            check_answer(&asked, &[tx(2)]),
            Ok(vec![tx(1).txid()]),
            "fewer is fine: the rest is told"
        );
        assert_eq!(check_answer(&asked, &[tx(1), tx(2)]), Ok(vec![]));
        assert!(check_answer(&asked, &[tx(3)]).is_err());
        assert!(check_answer(&asked, &[tx(1), tx(1)]).is_err());
    }
}
