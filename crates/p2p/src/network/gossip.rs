//! Gossip: what arrives on each topic is checked before gossipsub may
//! forward it (accept, ignore or reject), transactions go to the mempool,
//! and compact block announcements are rebuilt from it — asking the
//! announcer for missing transactions, or for the full block.

use std::time::Duration;

use libp2p::{gossipsub, PeerId};
use luminex_primitives::{Block, Hash};

use super::peer::Offence;
use super::pipeline::Origin;
use super::{ChainAccess, Done, Net, Purpose, Verdict};
use crate::compact::{self, CompactBlock, PartialBlock};
use crate::wire::{self, Request, Response};

/// Announcements being rebuilt or fetched at once, over all peers: each
/// holds a partial block of at most [`compact::max_block_txs`] slots, or a
/// request for the full block.
pub(super) const ANNOUNCEMENTS_IN_PROGRESS: usize = 16;
/// Of them, from one peer.
pub(super) const ANNOUNCEMENTS_PER_PEER: usize = 2;

/// The longest a transaction from a local client waits for others to
/// share its gossip message (ADR 0043). A transaction that comes when the
/// last batch left longer ago than this goes out at once, alone; while
/// clients keep submitting, their transactions leave together every this
/// often, so a node sends one message (and its peers hash, acknowledge
/// and account for one) per batch instead of one per transaction.
pub const TX_BATCH_DELAY: Duration = Duration::from_millis(20);

/// Bytes of transactions a batch holds before it is sent without waiting
/// (less on chains whose gossip limit is smaller).
pub(super) const TX_BATCH_BYTES: usize = 256 * 1024;

/// Transactions from local clients waiting to be gossiped as one message.
pub(super) struct TxBatch {
    /// Their canonical encodings.
    txs: Vec<Vec<u8>>,
    /// Their bytes in the frame, length prefixes included.
    bytes: usize,
    /// Bytes past which the batch is sent.
    cap: usize,
    /// When the last batch was sent.
    last_sent: Option<tokio::time::Instant>,
}

impl TxBatch {
    /// An empty batch for a chain whose largest gossip message is
    /// `max_gossip` bytes, itself at least the largest transaction and
    /// 64 KiB: a frame holds at most the larger of the cap and one
    /// transaction, with its prefixes.
    pub(super) fn new(max_gossip: usize) -> Self {
        TxBatch {
            txs: Vec::new(),
            bytes: 0,
            cap: TX_BATCH_BYTES.min(max_gossip.saturating_sub(64 * 1024).max(1)),
            last_sent: None,
        }
    }

    /// When the batch waiting is due, if one is.
    pub(super) fn deadline(&self) -> Option<tokio::time::Instant> {
        match self.last_sent {
            Some(t) if !self.txs.is_empty() => Some(t + TX_BATCH_DELAY),
            _ => None,
        }
    }

    /// Adds a transaction; returns the frames to send now (the batch it
    /// did not fit in, and its own if that is full or the node was idle).
    fn add(&mut self, tx: Vec<u8>, now: tokio::time::Instant) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let bytes = tx.len() + 9;
        if !self.txs.is_empty() && self.bytes + bytes > self.cap {
            out.extend(self.take(now));
        }
        self.txs.push(tx);
        self.bytes += bytes;
        let idle = self
            .last_sent
            .is_none_or(|t| now.saturating_duration_since(t) >= TX_BATCH_DELAY);
        if idle || self.bytes >= self.cap || self.txs.len() >= wire::MAX_TX_BATCH {
            out.extend(self.take(now));
        }
        out
    }

    /// The frame of the transactions waiting, if any, and the batch empty.
    fn take(&mut self, now: tokio::time::Instant) -> Option<Vec<u8>> {
        if self.txs.is_empty() {
            return None;
        }
        let frame = wire::tx_batch_frame(&self.txs);
        self.txs.clear();
        self.bytes = 0;
        self.last_sent = Some(now);
        Some(frame)
    }
}

/// Judges a batch by the verdicts on its transactions, taking every one of
/// them (each submits its transaction): a valid transaction is admitted
/// even after an invalid one in the same batch, which still rejects the
/// batch and charges its sender.
pub(super) fn batch_verdict(verdicts: impl Iterator<Item = Verdict>) -> Verdict {
    verdicts.fold(Verdict::Ignore, |batch, v| match (batch, v) {
        (Verdict::Reject, _) | (_, Verdict::Reject) => Verdict::Reject,
        (Verdict::Accept, _) | (_, Verdict::Accept) => Verdict::Accept,
        (Verdict::Ignore, Verdict::Ignore) => Verdict::Ignore,
    })
}

/// A compact block waiting for its missing transactions.
pub(super) struct Rebuilding {
    partial: PartialBlock,
    id: gossipsub::MessageId,
    source: PeerId,
}

impl<C: ChainAccess> Net<C> {
    /// Tells gossipsub whether to forward a message and how to score its
    /// sender.
    pub(super) fn report(&mut self, id: &gossipsub::MessageId, source: &PeerId, v: Verdict) {
        let acceptance = match v {
            Verdict::Accept => gossipsub::MessageAcceptance::Accept,
            Verdict::Ignore => gossipsub::MessageAcceptance::Ignore,
            Verdict::Reject => gossipsub::MessageAcceptance::Reject,
        };
        self.swarm
            .behaviour_mut()
            .gossip
            .report_message_validation_result(id, source, acceptance);
    }

    /// Publishes a frame on a topic of ours.
    pub(super) fn publish(&mut self, topic: gossipsub::IdentTopic, frame: Vec<u8>) {
        // Gossipsub hashes the whole message for its id before it finds that
        // no peer takes the topic: a node alone (a `dev` chain) would hash
        // every transaction batch and block it publishes for nothing.
        let hash = topic.hash();
        let gossip = &self.swarm.behaviour().gossip;
        if !gossip
            .all_peers()
            .any(|(_, topics)| topics.contains(&&hash))
        {
            tracing::trace!(topic = %hash, "not gossiped: no peer takes the topic");
            return;
        }
        if let Err(e) = self.swarm.behaviour_mut().gossip.publish(topic, frame) {
            tracing::debug!(error = %e, "not gossiped");
        }
    }

    /// Queues a transaction from a local client for the next batch,
    /// publishing what is due.
    pub(super) fn queue_tx(&mut self, tx: Vec<u8>) {
        let now = tokio::time::Instant::now();
        for frame in self.tx_batch.add(tx, now) {
            self.publish_tx_batch(frame);
        }
    }

    /// Publishes the batch waiting, if any (its delay is over).
    pub(super) fn flush_txs(&mut self) {
        if let Some(frame) = self.tx_batch.take(tokio::time::Instant::now()) {
            self.publish_tx_batch(frame);
        }
    }

    fn publish_tx_batch(&mut self, frame: Vec<u8>) {
        let topic = self.names.tx_topic.clone();
        self.publish(topic, frame);
    }

    pub(super) fn on_gossip(
        &mut self,
        source: PeerId,
        id: gossipsub::MessageId,
        msg: gossipsub::Message,
    ) {
        if msg.topic == self.names.tx_topic.hash() {
            self.on_tx_gossip(source, id, &msg.data);
        } else if msg.topic == self.names.block_topic.hash() {
            self.on_block_gossip(source, id, &msg.data);
        } else if msg.topic == self.names.consensus_topic.hash() {
            // Checked by the consensus engine (signatures, heights) before
            // gossipsub may relay it.
            let chain = self.chain.clone();
            let done = self.done_tx.clone();
            let data = msg.data;
            tokio::task::spawn_blocking(move || {
                let verdict = chain.consensus(data);
                let _ = done.send(Done::Consensus {
                    id,
                    source,
                    verdict,
                });
            });
        } else {
            self.report(&id, &source, Verdict::Ignore);
        }
    }

    pub(super) fn on_consensus_checked(
        &mut self,
        id: gossipsub::MessageId,
        source: PeerId,
        v: Verdict,
    ) {
        self.report(&id, &source, v);
        if v == Verdict::Accept {
            self.swarm.behaviour_mut().slots.gave_tx(source);
        }
        if v == Verdict::Reject {
            self.offend(
                source,
                Offence::InvalidConsensus,
                "invalid consensus message",
            );
        }
    }

    /// A batch of transactions (ADR 0043), or an announcement of txids
    /// (ADR 0047, see `txfetch`): malformed, it costs its sender at once;
    /// otherwise every transaction goes to the mempool off the event loop
    /// and the batch is judged by what they were — rejected if any is
    /// invalid. A batch is never relayed whole: the transactions it brought
    /// that were new here are announced by txid to this node's peers, who
    /// ask for those they lack (ADR 0047).
    fn on_tx_gossip(&mut self, source: PeerId, id: gossipsub::MessageId, data: &[u8]) {
        if wire::is_tx_announcement(data) {
            return self.on_tx_announcement(source, id, data);
        }
        let txs = match wire::txs_from_batch_frame(data, self.tx_frame_limit, self.cfg.max_tx_bytes)
        {
            Ok(txs) => txs,
            Err(e) => {
                self.report(&id, &source, Verdict::Reject);
                self.offend(source, Offence::Malformed, &e.to_string());
                return;
            }
        };
        let chain = self.chain.clone();
        let done = self.done_tx.clone();
        tokio::task::spawn_blocking(move || {
            let mut new = Vec::new();
            let verdict = batch_verdict(txs.into_iter().map(|tx| {
                let txid = tx.txid();
                let v = chain.submit_tx(tx);
                if v == Verdict::Accept {
                    new.push(txid);
                }
                v
            }));
            let _ = done.send(Done::Tx {
                id,
                source,
                verdict,
                announce: new,
            });
        });
    }

    fn on_block_gossip(&mut self, source: PeerId, id: gossipsub::MessageId, data: &[u8]) {
        let limit = self.cfg.max_block_bytes / 4 + 1024;
        let max_txs = compact::max_block_txs(self.cfg.max_block_bytes);
        let compact = match CompactBlock::from_frame(data, limit, max_txs) {
            Ok(c) => c,
            Err(e) => {
                self.report(&id, &source, Verdict::Reject);
                self.offend(source, Offence::Malformed, &e.to_string());
                return;
            }
        };
        let hash = compact.hash();
        if self.chain.height_of(&hash).is_some() || self.announcements.contains_key(&hash) {
            self.report(&id, &source, Verdict::Ignore);
            return;
        }
        let parent = &compact.header.prev_hash();
        if self.chain.height_of(parent).is_none() && !self.in_import.contains(parent) {
            // We are behind: ask the announcer where it is; sync follows.
            self.report(&id, &source, Verdict::Ignore);
            self.ask_status(source);
            return;
        }
        if !self.chain.header_ok(&compact.header) {
            self.report(&id, &source, Verdict::Reject);
            self.offend(
                source,
                Offence::InvalidBlock,
                "announced header fails the chain's header check",
            );
            return;
        }
        // Bounded work for announcements: a few per peer, a few in all.
        // Past that the block is not lost: the announcer's status is asked
        // and sync fetches what is really there.
        let from_peer = self
            .announcements
            .values()
            .filter(|p| **p == source)
            .count();
        if from_peer >= ANNOUNCEMENTS_PER_PEER
            || self.announcements.len() >= ANNOUNCEMENTS_IN_PROGRESS
        {
            self.report(&id, &source, Verdict::Ignore);
            self.ask_status(source);
            return;
        }
        self.announcements.insert(hash, source);
        self.announce.most_in_progress = self
            .announce
            .most_in_progress
            .max(self.announcements.len() as u64);
        if compact.has_duplicate_short_ids() {
            self.report(&id, &source, Verdict::Ignore);
            self.announce.full_fallbacks += 1;
            self.request(
                source,
                Request::Blocks(vec![hash]),
                Purpose::FullBlock(hash),
            );
            return;
        }
        let chain = self.chain.clone();
        let done = self.done_tx.clone();
        tokio::task::spawn_blocking(move || {
            let partial = compact
                .reconstruct(|visit| chain.for_each_mempool_tx(visit))
                .map_err(|e| e.to_string());
            let _ = done.send(Done::Rebuilt {
                hash,
                id,
                source,
                partial: Box::new(partial),
            });
        });
    }

    /// The mempool's verdict on a batch of whole transactions, with the
    /// txids it brought that were new (`announce`): the batch is never
    /// relayed (rejected if a transaction was invalid, ignored otherwise);
    /// its new transactions are announced instead, so no peer is sent them
    /// whole twice (ADR 0047).
    pub(super) fn on_tx_checked(
        &mut self,
        id: gossipsub::MessageId,
        source: PeerId,
        v: Verdict,
        announce: Vec<Hash>,
    ) {
        let relay = if v == Verdict::Reject {
            Verdict::Reject
        } else {
            Verdict::Ignore
        };
        self.report(&id, &source, relay);
        if !announce.is_empty() {
            let topic = self.names.tx_topic.clone();
            self.publish(topic, wire::tx_announce_frame(&announce));
        }
        if v == Verdict::Accept {
            self.swarm.behaviour_mut().slots.gave_tx(source);
        }
        if v == Verdict::Reject {
            self.offend(source, Offence::InvalidTx, "invalid transaction");
        }
    }

    /// A compact block rebuilt from the mempool, as far as it goes.
    pub(super) fn on_rebuilt(
        &mut self,
        hash: Hash,
        id: gossipsub::MessageId,
        source: PeerId,
        partial: Result<PartialBlock, String>,
    ) {
        match partial {
            Err(e) => {
                self.announcements.remove(&hash);
                self.report(&id, &source, Verdict::Reject);
                self.offend(source, Offence::Malformed, &e);
            }
            Ok(p) if !self.peers.contains_key(&source) => {
                // The announcer left meanwhile: nobody to ask.
                self.announcements.remove(&p.header.hash());
                self.report(&id, &source, Verdict::Ignore);
            }
            Ok(p) if p.missing.is_empty() => {
                let hash = p.header.hash();
                match p.complete(vec![], self.cfg.merkle_commitment) {
                    Ok(b) => {
                        self.announcements.remove(&hash);
                        self.announce.rebuilt_from_mempool += 1;
                        self.import_gossiped(b, id, source)
                    }
                    Err(_) => {
                        self.announce.full_fallbacks += 1;
                        self.report(&id, &source, Verdict::Ignore);
                        self.request(
                            source,
                            Request::Blocks(vec![hash]),
                            Purpose::FullBlock(hash),
                        );
                    }
                }
            }
            Ok(p) => {
                let hash = p.header.hash();
                let indexes = p.missing.clone();
                self.rebuilding.insert(
                    hash,
                    Rebuilding {
                        partial: p,
                        id,
                        source,
                    },
                );
                self.request(
                    source,
                    Request::BlockTxs {
                        block: hash,
                        indexes,
                    },
                    Purpose::BlockTxs(hash),
                );
            }
        }
    }

    /// The announcer's answer to a request for a block's missing
    /// transactions: the block is completed, or the full block asked for
    /// (a short-id collision). An announcer that cannot give the
    /// transactions of the block it announced is charged for it.
    pub(super) fn on_block_txs(&mut self, peer: PeerId, h: Hash, response: Response) {
        match response {
            Response::BlockTxs { block, txs } if block == h => {
                let Some(r) = self.rebuilding.remove(&h) else {
                    self.announcements.remove(&h);
                    return;
                };
                match r.partial.complete(txs, self.cfg.merkle_commitment) {
                    Ok(b) => {
                        self.announcements.remove(&h);
                        self.announce.rebuilt_with_fetch += 1;
                        self.import_gossiped(b, r.id, r.source);
                    }
                    Err(e) => {
                        tracing::debug!(block = %h, error = %e, "compact block repair failed; fetching the full block");
                        self.announce.full_fallbacks += 1;
                        self.report(&r.id, &r.source, Verdict::Ignore);
                        self.request(peer, Request::Blocks(vec![h]), Purpose::FullBlock(h));
                    }
                }
            }
            Response::RateLimited => self.drop_announcement(h),
            _ => {
                self.drop_announcement(h);
                self.offend(
                    peer,
                    Offence::UnbackedAnnouncement,
                    "cannot give the transactions of the block it announced",
                );
            }
        }
    }

    /// Forgets an announcement in progress and its partial block.
    fn drop_announcement(&mut self, h: Hash) {
        self.announcements.remove(&h);
        if let Some(r) = self.rebuilding.remove(&h) {
            self.report(&r.id, &r.source, Verdict::Ignore);
        }
    }

    /// A request for a block's missing transactions, or for an announced
    /// block, failed: the announcement is dropped (sync fetches the block
    /// if it is real), and an announcer that let it time out or dropped it
    /// unanswered is charged.
    pub(super) fn on_announcement_failed(&mut self, peer: PeerId, h: Hash, its_fault: bool) {
        self.drop_announcement(h);
        if its_fault {
            self.offend(
                peer,
                Offence::UnbackedAnnouncement,
                "did not answer for the block it announced",
            );
        }
    }

    /// Every announcement of a peer that left.
    pub(super) fn forget_announcements(&mut self, peer: PeerId) {
        let gone: Vec<Hash> = self
            .announcements
            .iter()
            .filter(|(_, p)| **p == peer)
            .map(|(h, _)| *h)
            .collect();
        for h in gone {
            self.drop_announcement(h);
        }
    }

    /// The full block of an announcement that could not be rebuilt.
    pub(super) fn on_full_block(&mut self, peer: PeerId, h: Hash, response: Response) {
        self.announcements.remove(&h);
        match response {
            Response::Blocks(mut blocks) if blocks.len() == 1 && blocks[0].hash() == h => {
                let b = blocks.pop().expect("one block");
                self.enqueue_import(b, Origin::Fetched(peer));
            }
            Response::Blocks(_) => {
                self.offend(peer, Offence::BadSyncAnswer, "wrong block returned")
            }
            Response::RateLimited => {}
            _ => self.offend(
                peer,
                Offence::UnbackedAnnouncement,
                "cannot give the block it announced",
            ),
        }
    }

    fn import_gossiped(&mut self, block: Block, id: gossipsub::MessageId, source: PeerId) {
        let time = block.header.time();
        self.enqueue_import(block, Origin::Gossip { id, source, time });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(frame: &[u8]) -> usize {
        let mut r = luminex_primitives::Reader::new(&frame[1..]);
        r.length("count", u64::MAX).unwrap()
    }

    #[test]
    fn every_transaction_of_a_batch_is_submitted_and_one_invalid_rejects_it() {
        use Verdict::{Accept, Ignore, Reject};
        let judge = |verdicts: &[Verdict]| {
            let mut submitted = 0;
            let v = batch_verdict(verdicts.iter().map(|v| {
                submitted += 1;
                *v
            }));
            assert_eq!(submitted, verdicts.len(), "every transaction submitted");
            v
        };
        assert_eq!(judge(&[Accept, Reject, Accept]), Reject);
        assert_eq!(judge(&[Reject, Ignore, Accept]), Reject);
        assert_eq!(judge(&[Ignore, Accept, Ignore]), Accept);
        assert_eq!(judge(&[Ignore, Ignore]), Ignore);
        assert_eq!(judge(&[Accept]), Accept);
    }

    #[test]
    fn transactions_wait_for_a_batch_only_while_the_node_is_busy() {
        let t0 = tokio::time::Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut b = TxBatch::new(4 << 20);
        assert_eq!(b.deadline(), None);
        // Idle: the first transaction leaves at once, alone.
        let sent = b.add(vec![1; 100], t0);
        assert_eq!(sent.len(), 1);
        assert_eq!(count(&sent[0]), 1);
        assert_eq!(b.deadline(), None, "nothing waits");
        // Busy: the next ones wait for the delay after the last batch.
        assert!(b.add(vec![2; 100], ms(1)).is_empty());
        assert!(b.add(vec![3; 100], ms(5)).is_empty());
        assert_eq!(b.deadline(), Some(t0 + TX_BATCH_DELAY));
        let frame = b.take(ms(20)).unwrap();
        assert_eq!(count(&frame), 2);
        assert_eq!(b.deadline(), None);
        assert_eq!(b.take(ms(21)), None, "an empty batch is never sent");
        // Idle again once the delay has passed since the last batch.
        assert_eq!(b.add(vec![4; 100], ms(45)).len(), 1);
    }

    #[test]
    fn a_full_batch_leaves_without_waiting_and_fits_the_gossip_limit() {
        let t0 = tokio::time::Instant::now();
        let max_gossip = 200 * 1024;
        let mut b = TxBatch::new(max_gossip);
        assert!(b.cap <= max_gossip - 64 * 1024);
        b.add(vec![0; 10], t0);
        let mut frames = Vec::new();
        for i in 0..100 {
            frames.extend(b.add(vec![7; 10_000], t0 + Duration::from_micros(i)));
        }
        assert!(!frames.is_empty(), "full batches left before the delay");
        for f in &frames {
            assert!(f.len() <= max_gossip, "{}", f.len());
        }
        // A transaction larger than the cap goes alone, after what waited.
        b.take(t0 + Duration::from_millis(1));
        assert!(b
            .add(vec![7; 10_000], t0 + Duration::from_millis(1))
            .is_empty());
        let big = b.add(vec![8; 150 * 1024], t0 + Duration::from_millis(2));
        assert_eq!(big.len(), 2);
        assert_eq!(count(&big[1]), 1);
        assert!(big[1].len() <= max_gossip);
    }
}
