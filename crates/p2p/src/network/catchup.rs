//! Catch-up on BFT chains (ADR 0044, ADR 0051): a node that is behind
//! asks a peer that is ahead for the finalized blocks it misses, with
//! their commit certificates, a few at a time, and asks again until it has
//! caught up.
//!
//! Nothing is pushed: a node that is ahead only answers. (Before, every
//! node ahead gossiped whole certified blocks to everyone whenever a
//! peer's height announcement said it was behind; under load four
//! validators moved gigabytes between them that way for blocks the slow
//! peer was already committing.) A node one height behind waits a little
//! before it asks, since it is usually committing that block itself.
//!
//! At most [`MAX_IN_FLIGHT`] requests are in flight (ADR 0051): once an
//! answer is handed to the chain, which commits it as one run (ADR 0049),
//! the blocks after it are asked for at once, so that they travel while
//! the run commits. A request counts until its blocks were taken by the
//! chain (or it failed), so at most two answers are held: the one the
//! chain commits and the one waiting for it.

use std::time::Duration;

use libp2p::PeerId;
use luminex_primitives::{Block, CommitCertificate};

use super::peer::Offence;
use super::{ChainAccess, Done, Net, Purpose, Verdict};
use crate::sync::Progress;
use crate::wire::{self, Request, Response};

/// How long a node whose peers are only one or two heights ahead waits,
/// with its own height not moving, before it asks for the blocks: it is
/// most likely deciding or committing them at that moment.
pub(super) const CATCH_UP_GRACE: Duration = Duration::from_secs(2);

/// A gap of at least this many heights is fetched at once.
const CATCH_UP_AT_ONCE: u64 = 3;

/// Catch-up requests in flight at most (ADR 0051): one whose blocks the
/// chain is committing, and the one for the blocks after them.
pub(super) const MAX_IN_FLIGHT: usize = 2;

/// A catch-up request, from the time it is sent until its blocks were
/// taken by the chain or it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct InFlight {
    /// The peer asked.
    peer: PeerId,
    /// The first height asked for.
    from: u64,
    /// The last height of its answer, once handed to the chain.
    handed: Option<u64>,
}

/// The catch-up's state: at most [`MAX_IN_FLIGHT`] requests in flight.
#[derive(Debug, Default)]
pub(super) struct CatchUp {
    /// The requests in flight, in the order they were sent (so by
    /// height).
    asked: Vec<InFlight>,
    /// Since when (monotonic time) a peer has been seen ahead of this
    /// node's height, and that height.
    behind_since: Option<(u64, Duration)>,
}

impl CatchUp {
    /// Whether to ask for blocks now, given this node's height, the peer
    /// furthest ahead and its height: the peer and the first height to
    /// ask for. With nothing in flight, that is the height after ours;
    /// while the chain commits an answer (and nothing else is in flight),
    /// the height after that answer's last.
    pub(super) fn due(
        &mut self,
        ours: u64,
        best: Option<(PeerId, u64)>,
        now: Duration,
    ) -> Option<(PeerId, u64)> {
        let Some((peer, theirs)) = best.filter(|&(_, h)| h > ours) else {
            self.behind_since = None;
            return None;
        };
        if self.behind_since.is_none_or(|(h, _)| h != ours) {
            self.behind_since = Some((ours, now));
        }
        if let Some(last) = self.asked.last() {
            // Ask further only once the last request's answer is known
            // (so where it ends), and within the bound.
            let end = last.handed?;
            if self.asked.len() >= MAX_IN_FLIGHT || theirs <= end {
                return None;
            }
            let from = end.max(ours) + 1;
            self.asked.push(InFlight {
                peer,
                from,
                handed: None,
            });
            return Some((peer, from));
        }
        let since = self.behind_since.map_or(now, |(_, t)| t);
        if theirs - ours >= CATCH_UP_AT_ONCE || now.saturating_sub(since) >= CATCH_UP_GRACE {
            self.asked.push(InFlight {
                peer,
                from: ours + 1,
                handed: None,
            });
            return Some((peer, ours + 1));
        }
        None
    }

    /// The answer to the request from `from` on was handed to the chain,
    /// its last block at height `last`. Whether that request was in
    /// flight (an answer to none is dropped).
    pub(super) fn handed(&mut self, from: u64, last: u64) -> bool {
        match self
            .asked
            .iter_mut()
            .find(|a| a.from == from && a.handed.is_none())
        {
            Some(a) => {
                a.handed = Some(last);
                true
            }
            None => false,
        }
    }

    /// The request from `from` on ended (its blocks were taken by the
    /// chain, or it failed); the others go on.
    pub(super) fn finished(&mut self, from: u64) {
        self.asked.retain(|a| a.from != from);
    }

    /// Requests in flight.
    #[cfg(test)]
    fn in_flight(&self) -> usize {
        self.asked.len()
    }

    /// Progress for the API and readiness, at height `ours` with `best`
    /// the highest height a peer is believed to have: catching up while a
    /// request is in flight or a peer is [`CATCH_UP_AT_ONCE`] heights or
    /// more ahead (one or two behind is a node still committing them).
    fn progress(&self, ours: u64, best: u64) -> Progress {
        let target = self
            .asked
            .iter()
            .map(|a| a.handed.unwrap_or(a.from))
            .max()
            .unwrap_or(ours)
            .max(ours);
        Progress {
            syncing: !self.asked.is_empty() || best >= ours + CATCH_UP_AT_ONCE,
            best_peer_height: best.max(ours),
            target_height: target,
            pending_blocks: self
                .asked
                .iter()
                .filter_map(|a| a.handed.map(|last| (last + 1).saturating_sub(a.from)))
                .sum::<u64>() as usize,
        }
    }
}

/// Why an answer of certified blocks is refused before the chain sees it.
fn check_answer(from: u64, blocks: &[(Block, CommitCertificate)]) -> Result<(), &'static str> {
    if blocks.len() as u64 > wire::MAX_CERTIFIED_PER_REQUEST {
        return Err("more certified blocks than asked for");
    }
    for (i, (_, certificate)) in blocks.iter().enumerate() {
        if certificate.height != from + i as u64 {
            return Err("certified blocks not consecutive from the height asked for");
        }
    }
    Ok(())
}

impl<C: ChainAccess> Net<C> {
    /// The peer furthest ahead, and its height as believed.
    fn best_peer(&self) -> Option<(PeerId, u64)> {
        self.peers
            .iter()
            .filter(|(id, _)| !self.banned.contains_key(id))
            .filter_map(|(id, p)| p.height.map(|h| (*id, h)))
            .max_by_key(|&(id, h)| (h, id))
    }

    /// Sync progress on a BFT chain, for `/health/block-sync` and
    /// readiness: the height the peer furthest ahead is believed to have
    /// (its claim, below what it did not serve), and whether this node is
    /// catching up. (The syncer, which serves chains synced by headers,
    /// sees no peers here: a restarted validator far behind read as
    /// synced and ready until it had caught up.)
    pub(super) fn catch_up_progress(&self) -> Progress {
        let ours = self.chain.status().height;
        let best = self.best_peer().map_or(0, |(_, h)| h);
        self.catch_up.progress(ours, best)
    }

    /// Asks the peer furthest ahead for the certified blocks this node
    /// misses, when that is due (BFT chains only), and publishes the
    /// progress.
    pub(super) fn drive_catch_up(&mut self) {
        if self.cfg.block_sync {
            return;
        }
        let ours = self.chain.status().height;
        let best = self.best_peer();
        let now = self.clock.monotonic();
        let due = self.catch_up.due(ours, best, now);
        self.info.write().sync = self.catch_up.progress(ours, best.map_or(0, |(_, h)| h));
        if let Some((peer, from)) = due {
            tracing::debug!(%peer, from, "asking for certified blocks");
            self.request(
                peer,
                Request::Certified {
                    from,
                    max: wire::MAX_CERTIFIED_PER_REQUEST as u32,
                },
                Purpose::Certified(from),
            );
        }
    }

    /// A peer's answer to a catch-up request: checked for shape here, then
    /// handed to the chain off the event loop (certificates and blocks are
    /// checked there).
    pub(super) fn on_certified(&mut self, peer: PeerId, from: u64, response: Response) {
        let blocks = match response {
            Response::Certified(b) if !b.is_empty() => b,
            // It has nothing from there after all (a node that pruned? a
            // claim it cannot back: finalized heights never move back):
            // its claims are believed only below that from now on, until
            // it serves blocks again. The next request goes to someone
            // else — a peer that claims the most and never serves must
            // not keep the node from catching up from the others, nor
            // make it look behind.
            Response::NotFound | Response::Certified(_) => {
                let now = self.clock.monotonic();
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.unserved_from = Some((from, now));
                }
                self.not_serving(&peer, from);
                self.catch_up.finished(from);
                return;
            }
            // No budget for us now: asked of someone else meanwhile.
            Response::RateLimited => {
                self.not_serving(&peer, from);
                self.catch_up.finished(from);
                return;
            }
            _ => {
                self.catch_up.finished(from);
                self.offend(
                    peer,
                    Offence::BadSyncAnswer,
                    "wrong answer to a catch-up request",
                );
                return;
            }
        };
        if let Err(why) = check_answer(from, &blocks) {
            self.catch_up.finished(from);
            self.offend(peer, Offence::BadSyncAnswer, why);
            return;
        }
        let last = from + blocks.len() as u64 - 1;
        if !self.catch_up.handed(from, last) {
            return;
        }
        if let Some(p) = self.peers.get_mut(&peer) {
            p.blocks += blocks.len() as u64;
            // Serving again: its claims are believed again.
            p.unserved_from = None;
        }
        let chain = self.chain.clone();
        let done = self.done_tx.clone();
        tokio::task::spawn_blocking(move || {
            let verdict = chain.certified(blocks);
            let _ = done.send(Done::Certified {
                peer,
                from,
                verdict,
            });
        });
        // The blocks after these travel while the chain commits them.
        self.drive_catch_up();
    }

    /// The chain took (or refused) a peer's certified blocks from `from`
    /// on: ask for more at once if still behind.
    pub(super) fn on_certified_taken(&mut self, peer: PeerId, from: u64, verdict: Verdict) {
        self.catch_up.finished(from);
        if verdict == Verdict::Reject {
            self.offend(
                peer,
                Offence::InvalidBlock,
                "certified block or certificate invalid",
            );
            return;
        }
        self.drive_catch_up();
    }

    /// The catch-up request from `from` on to `peer` failed (no answer in
    /// time, the connection dropped): asked again, of someone else, at the
    /// next status; another request in flight goes on.
    pub(super) fn on_certified_failed(&mut self, peer: PeerId, from: u64) {
        self.not_serving(&peer, from);
        self.catch_up.finished(from);
    }

    /// `peer` did not serve the certified blocks from `from` on: its
    /// claimed height is believed only below that until its next status,
    /// so catch-up asks another peer meanwhile.
    fn not_serving(&mut self, peer: &PeerId, from: u64) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.height = p.height.map(|h| h.min(from.saturating_sub(1)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn nothing_is_asked_while_no_peer_is_ahead() {
        let mut c = CatchUp::default();
        let p = PeerId::random();
        assert_eq!(c.due(10, None, secs(0)), None);
        assert_eq!(c.due(10, Some((p, 10)), secs(1)), None);
        assert_eq!(c.due(10, Some((p, 9)), secs(100)), None);
    }

    #[test]
    fn a_large_gap_is_asked_for_at_once_and_nothing_more_before_its_answer() {
        let mut c = CatchUp::default();
        let p = PeerId::random();
        assert_eq!(c.due(10, Some((p, 13)), secs(0)), Some((p, 11)));
        assert_eq!(c.in_flight(), 1);
        // In flight and not answered: nothing more, however far behind.
        assert_eq!(c.due(10, Some((p, 100)), secs(0)), None);
        c.finished(11);
        // Taken: the next ones at once.
        assert_eq!(c.due(26, Some((p, 100)), secs(1)), Some((p, 27)));
    }

    #[test]
    fn the_blocks_after_an_answer_are_asked_while_the_chain_commits_it_two_at_most() {
        let mut c = CatchUp::default();
        let (p, q) = (PeerId::random(), PeerId::random());
        assert_eq!(c.due(10, Some((p, 100)), secs(0)), Some((p, 11)));
        // Handed to the chain (heights 11..=26): the next from 27, of
        // the peer furthest ahead now.
        assert!(c.handed(11, 26));
        assert_eq!(c.due(10, Some((q, 100)), secs(0)), Some((q, 27)));
        assert_eq!(c.in_flight(), 2);
        // Two in flight: nothing more, even once the second is answered.
        assert_eq!(c.due(10, Some((q, 100)), secs(0)), None);
        assert!(c.handed(27, 42));
        assert_eq!(c.due(18, Some((q, 100)), secs(1)), None);
        // The first run taken: the blocks after the second asked for.
        c.finished(11);
        assert_eq!(c.due(26, Some((q, 100)), secs(2)), Some((q, 43)));
        assert_eq!(c.in_flight(), 2);
    }

    #[test]
    fn nothing_more_is_asked_from_a_peer_not_past_the_answer() {
        let mut c = CatchUp::default();
        let p = PeerId::random();
        assert_eq!(c.due(10, Some((p, 26)), secs(0)), Some((p, 11)));
        assert!(c.handed(11, 26));
        assert_eq!(c.due(10, Some((p, 26)), secs(0)), None);
        // A peer further ahead appears.
        assert_eq!(c.due(10, Some((p, 30)), secs(0)), Some((p, 27)));
    }

    #[test]
    fn the_next_request_starts_after_our_height_when_the_chain_moved_past_the_answer() {
        let mut c = CatchUp::default();
        let p = PeerId::random();
        assert_eq!(c.due(10, Some((p, 100)), secs(0)), Some((p, 11)));
        assert!(c.handed(11, 12));
        assert_eq!(c.due(15, Some((p, 100)), secs(0)), Some((p, 16)));
    }

    #[test]
    fn a_failed_request_does_not_wedge_the_other() {
        let mut c = CatchUp::default();
        let p = PeerId::random();
        assert_eq!(c.due(10, Some((p, 100)), secs(0)), Some((p, 11)));
        assert!(c.handed(11, 26));
        assert_eq!(c.due(10, Some((p, 100)), secs(0)), Some((p, 27)));
        // The second fails (timeout, connection dropped): asked again
        // from the same height while the first still commits.
        c.finished(27);
        assert_eq!(c.in_flight(), 1);
        assert_eq!(c.due(12, Some((p, 100)), secs(1)), Some((p, 27)));
        // Its late answer to the failed request would not be handed:
        // only the request in flight's is.
        assert!(c.handed(27, 42));
        assert!(!c.handed(27, 42), "handed once");
        assert!(!c.handed(99, 100), "never asked");
        // The first is refused by the chain: the second goes on, and
        // once it ends too, the catch-up starts again from our height.
        c.finished(11);
        assert_eq!(c.in_flight(), 1);
        c.finished(27);
        assert_eq!(c.in_flight(), 0);
        assert_eq!(c.due(12, Some((p, 100)), secs(3)), Some((p, 13)));
    }

    #[test]
    fn the_first_failing_before_its_answer_lets_it_be_asked_again() {
        let mut c = CatchUp::default();
        let p = PeerId::random();
        assert_eq!(c.due(10, Some((p, 100)), secs(0)), Some((p, 11)));
        c.finished(11);
        assert_eq!(c.due(10, Some((p, 100)), secs(1)), Some((p, 11)));
        assert_eq!(c.in_flight(), 1);
    }

    #[test]
    fn a_small_gap_waits_for_the_grace_while_the_height_does_not_move() {
        let mut c = CatchUp::default();
        let p = PeerId::random();
        assert_eq!(c.due(10, Some((p, 11)), secs(0)), None);
        assert_eq!(c.due(10, Some((p, 12)), secs(1)), None);
        // The node committed on its own: the wait starts again.
        assert_eq!(c.due(11, Some((p, 12)), secs(1)), None);
        assert_eq!(c.due(11, Some((p, 12)), secs(2)), None);
        // Stuck for the whole grace: asked.
        assert_eq!(
            c.due(11, Some((p, 12)), secs(1) + CATCH_UP_GRACE),
            Some((p, 12))
        );
        // Caught up: the wait is forgotten.
        c.finished(12);
        assert_eq!(c.due(12, Some((p, 12)), secs(10)), None);
        assert_eq!(c.due(12, Some((p, 13)), secs(11)), None);
    }

    #[test]
    fn answers_must_start_where_asked_and_be_consecutive() {
        use luminex_primitives::{Decode, Hash, Header};
        let pair = |h: u64| {
            (
                Block::new(Header::decode_all(&[h as u8; 80]).unwrap(), vec![]),
                CommitCertificate {
                    height: h,
                    round: 0,
                    block_hash: Hash([0; 32]),
                    signers: vec![],
                    signatures: vec![],
                },
            )
        };
        assert!(check_answer(5, &[pair(5), pair(6), pair(7)]).is_ok());
        assert!(
            check_answer(5, &[pair(6)]).is_err(),
            "not from the height asked"
        );
        assert!(check_answer(5, &[pair(5), pair(7)]).is_err(), "a gap");
        let many: Vec<_> = (5..5 + wire::MAX_CERTIFIED_PER_REQUEST + 1)
            .map(pair)
            .collect();
        assert!(check_answer(5, &many).is_err(), "more than asked");
    }

    #[test]
    fn progress_says_syncing_while_asking_or_three_heights_behind() {
        let mut c = CatchUp::default();
        let p = c.progress(10, 11);
        assert!(!p.syncing, "one behind: still committing it");
        assert_eq!((p.best_peer_height, p.target_height), (11, 10));
        assert!(c.progress(10, 13).syncing);
        assert_eq!(c.progress(10, 0).best_peer_height, 10);
        let peer = PeerId::random();
        assert_eq!(c.due(10, Some((peer, 40)), secs(0)), Some((peer, 11)));
        let p = c.progress(10, 40);
        assert!(p.syncing);
        assert_eq!((p.target_height, p.pending_blocks), (11, 0));
        assert!(c.handed(11, 26));
        let p = c.progress(10, 40);
        assert_eq!((p.target_height, p.pending_blocks), (26, 16));
        c.finished(11);
        assert!(!c.progress(40, 40).syncing);
    }
}
