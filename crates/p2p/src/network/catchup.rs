//! Catch-up on BFT chains (ADR 0044): a node that is behind asks one peer
//! that is ahead for the finalized blocks it misses, with their commit
//! certificates, a few at a time, and asks again until it has caught up.
//!
//! Nothing is pushed: a node that is ahead only answers. (Before, every
//! node ahead gossiped whole certified blocks to everyone whenever a
//! peer's height announcement said it was behind; under load four
//! validators moved gigabytes between them that way for blocks the slow
//! peer was already committing.) A node one height behind waits a little
//! before it asks, since it is usually committing that block itself.

use std::time::Duration;

use libp2p::PeerId;
use luminex_primitives::{Block, CommitCertificate};

use super::peer::Offence;
use super::{ChainAccess, Done, Net, Purpose, Verdict};
use crate::wire::{self, Request, Response};

/// How long a node whose peers are only one or two heights ahead waits,
/// with its own height not moving, before it asks for the blocks: it is
/// most likely deciding or committing them at that moment.
pub(super) const CATCH_UP_GRACE: Duration = Duration::from_secs(2);

/// A gap of at least this many heights is fetched at once.
const CATCH_UP_AT_ONCE: u64 = 3;

/// The catch-up's state: at most one request in flight.
#[derive(Debug, Default)]
pub(super) struct CatchUp {
    /// The peer asked and the first height asked for, until its blocks
    /// have been taken (or the request failed).
    asked: Option<(PeerId, u64)>,
    /// Since when (monotonic time) a peer has been seen ahead of this
    /// node's height, and that height.
    behind_since: Option<(u64, Duration)>,
}

impl CatchUp {
    /// Whether to ask for blocks now, given this node's height, the peer
    /// furthest ahead and its height: the peer and the first height to
    /// ask for.
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
        if self.asked.is_some() {
            return None;
        }
        let since = self.behind_since.map_or(now, |(_, t)| t);
        if theirs - ours >= CATCH_UP_AT_ONCE || now.saturating_sub(since) >= CATCH_UP_GRACE {
            self.asked = Some((peer, ours + 1));
            return Some((peer, ours + 1));
        }
        None
    }

    /// The request in flight ended (answered and taken, or failed).
    pub(super) fn finished(&mut self) {
        self.asked = None;
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
    /// Asks the peer furthest ahead for the certified blocks this node
    /// misses, when that is due (BFT chains only).
    pub(super) fn drive_catch_up(&mut self) {
        if self.cfg.block_sync {
            return;
        }
        let ours = self.chain.status().height;
        let best = self
            .peers
            .iter()
            .filter(|(id, _)| !self.banned.contains_key(id))
            .filter_map(|(id, p)| p.height.map(|h| (*id, h)))
            .max_by_key(|&(id, h)| (h, id));
        let now = self.clock.monotonic();
        if let Some((peer, from)) = self.catch_up.due(ours, best, now) {
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
            // It has nothing after all (its height moved back? a node
            // that pruned): ask again later, maybe someone else.
            Response::NotFound | Response::RateLimited | Response::Certified(_) => {
                self.catch_up.finished();
                return;
            }
            _ => {
                self.catch_up.finished();
                self.offend(
                    peer,
                    Offence::BadSyncAnswer,
                    "wrong answer to a catch-up request",
                );
                return;
            }
        };
        if let Err(why) = check_answer(from, &blocks) {
            self.catch_up.finished();
            self.offend(peer, Offence::BadSyncAnswer, why);
            return;
        }
        if let Some(p) = self.peers.get_mut(&peer) {
            p.blocks += blocks.len() as u64;
        }
        let chain = self.chain.clone();
        let done = self.done_tx.clone();
        tokio::task::spawn_blocking(move || {
            let verdict = chain.certified(blocks);
            let _ = done.send(Done::Certified { peer, verdict });
        });
    }

    /// The chain took (or refused) a peer's certified blocks: ask for more
    /// at once if still behind.
    pub(super) fn on_certified_taken(&mut self, peer: PeerId, verdict: Verdict) {
        self.catch_up.finished();
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

    /// A catch-up request failed (no answer in time, the connection
    /// dropped): asked again at the next status.
    pub(super) fn on_certified_failed(&mut self) {
        self.catch_up.finished();
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
    fn a_large_gap_is_asked_for_at_once_and_one_request_at_a_time() {
        let mut c = CatchUp::default();
        let p = PeerId::random();
        assert_eq!(c.due(10, Some((p, 13)), secs(0)), Some((p, 11)));
        assert_eq!(c.asked, Some((p, 11)));
        // In flight: nothing more, however far behind.
        assert_eq!(c.due(10, Some((p, 100)), secs(0)), None);
        c.finished();
        // Taken: the next ones at once.
        assert_eq!(c.due(26, Some((p, 100)), secs(1)), Some((p, 27)));
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
        c.finished();
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
}
