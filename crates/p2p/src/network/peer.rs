//! What the node keeps about each connected peer — one [`Peer`] each, so
//! everything about a peer goes when it disconnects — and misbehaviour:
//! points, bans and request rate limits.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use libp2p::{Multiaddr, PeerId};

use super::{ChainAccess, Net};
use crate::behaviour::BAN_SCORE;
use crate::wire::Request;

/// Which side dialled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// A connected peer.
pub(super) struct Peer {
    /// The address of its first connection.
    pub addr: Multiaddr,
    pub direction: Direction,
    /// Last ping round trip.
    pub rtt: Option<Duration>,
    /// Identify's agent string.
    pub agent: Option<String>,
    /// The height it reported or served last.
    pub height: Option<u64>,
    /// On BFT chains: the first height of certified blocks it answered it
    /// did not have, and when. Its later claims are believed only below
    /// it until it serves blocks again or [`UNSERVED_FOR`] has passed
    /// ([`Peer::claim`]).
    pub unserved_from: Option<(u64, Duration)>,
    /// A status request is outstanding (one at a time).
    pub status_pending: bool,
    /// When it was last asked for its status.
    pub status_asked: Option<Duration>,
    /// Misbehaviour points; [`BAN_POINTS`] bans.
    pub points: u32,
    /// Its request budgets.
    pub limits: RequestLimits,
    /// The bytes it may still make this node send.
    pub served: ServeBudget,
    /// New valid blocks it gave (for anchors).
    pub blocks: u64,
    /// When it connected ([`luminex_primitives::Clock::monotonic`] time).
    pub since: Duration,
    /// The listen addresses its latest identify gave the DHT.
    pub identified: Vec<Multiaddr>,
}

/// How long a peer's answer that it lacks certified blocks caps its
/// claims ([`Peer::claim`]).
pub(super) const UNSERVED_FOR: Duration = Duration::from_secs(60);

impl Peer {
    /// The height a status claiming `height` is believed to at `now`:
    /// below the first height it said it did not have, while that stands
    /// (a peer claiming heights it cannot serve must not make this node
    /// look behind, nor be asked again and again). It stands for
    /// [`UNSERVED_FOR`]: an honest peer that could not serve then (a node
    /// restored from a snapshot, say) is believed again after it.
    pub(super) fn claim(&self, height: u64, now: Duration) -> u64 {
        match self.unserved_from {
            Some((from, at)) if now.saturating_sub(at) < UNSERVED_FOR => {
                height.min(from.saturating_sub(1))
            }
            _ => height,
        }
    }

    pub(super) fn new(addr: Multiaddr, direction: Direction, since: Duration) -> Peer {
        Peer {
            addr,
            direction,
            blocks: 0,
            since,
            rtt: None,
            agent: None,
            height: None,
            unserved_from: None,
            status_pending: false,
            status_asked: None,
            points: 0,
            limits: RequestLimits::new(),
            served: ServeBudget::new(since),
            identified: Vec::new(),
        }
    }
}

/// Misbehaviour points; a peer reaching [`BAN_POINTS`] is banned.
#[derive(Debug, Clone, Copy)]
pub(super) enum Offence {
    InvalidBlock,
    InvalidTx,
    /// A forged or malformed consensus message.
    InvalidConsensus,
    Malformed,
    BadSyncAnswer,
    UnconnectedHeaders,
    WrongChain,
    RateLimit,
    /// A block announced and then not given (its transactions or itself:
    /// not found, or no answer in time).
    UnbackedAnnouncement,
    /// Headers that end below the height the peer claimed.
    UnbackedClaim,
    /// A headers request not answered in time
    /// ([`super::pipeline::HEADERS_TIMEOUT`]).
    StalledHeaders,
    /// A request frame not sent in time
    /// ([`crate::behaviour::REQUEST_READ_TIMEOUT`]).
    StalledRequest,
}

impl Offence {
    fn points(self) -> u32 {
        match self {
            // Invalid for everyone: the sender is at fault, at once.
            Offence::InvalidBlock
            | Offence::InvalidTx
            | Offence::InvalidConsensus
            | Offence::Malformed => 100,
            Offence::BadSyncAnswer | Offence::WrongChain => 100,
            // Headers can fail to connect after an honest reorg: five strikes.
            Offence::UnconnectedHeaders => 20,
            Offence::RateLimit => 5,
            // A request stream opened and left stalling holds a slot and
            // memory: five at once ban, the odd one from a slow link fades.
            Offence::StalledRequest => 20,
            // A claim of work the peer does not serve: the claim is
            // disproved and the next peer asked; a peer that keeps making
            // new ones is banned after a few.
            Offence::UnbackedClaim | Offence::StalledHeaders => 25,
            // An honest announcer has the block it announced: two strikes
            // (more than half a ban each, so two at once ban).
            Offence::UnbackedAnnouncement => 60,
        }
    }
}

const BAN_POINTS: u32 = 100;

type Limiter = governor::DefaultDirectRateLimiter;

/// Per-peer request budgets (per second, burst), by request kind: status,
/// headers, blocks, block transactions, announced transactions. Status is
/// asked every few seconds; blocks are asked in small chunks during sync,
/// so they get the most; announced transactions are asked for once per
/// announcement, and a busy peer announces a batch every 20 ms.
const REQUEST_QUOTAS: [(u32, u32); 5] = [(10, 40), (20, 50), (200, 400), (20, 50), (400, 800)];

/// How far past its budgets a peer's requests go before it is punished:
/// within [`REQUEST_QUOTAS`] a request is answered, past them it is answered
/// `RateLimited` (an honest node syncing fast gets there, and waits), and
/// past this many times them it is an offence.
const ABUSE_FACTOR: u32 = 4;

/// A peer's request budgets, one per kind of request, and the budgets past
/// which its requests are an offence.
pub(super) struct RequestLimits {
    answered: [Limiter; 5],
    tolerated: [Limiter; 5],
}

/// What a peer's request gets under its budgets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Admit {
    /// Within the budget: answered.
    Answer,
    /// Past it: answered `RateLimited`, no offence.
    Wait,
    /// Far past it: answered `RateLimited`, and an offence.
    Abuse,
}

impl RequestLimits {
    fn new() -> Self {
        let limiters = |factor: u32| {
            REQUEST_QUOTAS.map(|(per_second, burst)| {
                let q = governor::Quota::per_second(
                    NonZeroU32::new(per_second * factor).expect("nonzero"),
                )
                .allow_burst(NonZeroU32::new(burst * factor).expect("nonzero"));
                governor::RateLimiter::direct(q)
            })
        };
        RequestLimits {
            answered: limiters(1),
            tolerated: limiters(ABUSE_FACTOR),
        }
    }

    /// What a request of this kind gets (and counts it).
    pub(super) fn admit(&self, request: &Request) -> Admit {
        let kind = match request {
            Request::Status => 0,
            Request::Headers { .. } => 1,
            Request::Blocks(_) | Request::Certified { .. } => 2,
            Request::BlockTxs { .. } => 3,
            Request::Txs(_) => 4,
        };
        let tolerated = self.tolerated[kind].check().is_ok();
        if self.answered[kind].check().is_ok() {
            Admit::Answer
        } else if tolerated {
            Admit::Wait
        } else {
            Admit::Abuse
        }
    }
}

/// The bytes a peer may make this node send in answers: a bucket that
/// refills at a rate up to a burst. An answer is charged when it is sent
/// (its size is known only then), so the level may drop below zero; while
/// it is below zero the peer's requests for headers, blocks and
/// transactions are answered `RateLimited`. The
/// request rate limits bound how often a peer asks; this bounds how much
/// it makes this node read and send (blocks of the largest size asked 200
/// times a second were within them).
pub(super) struct ServeBudget {
    level: f64,
    /// When it was last refilled ([`luminex_primitives::Clock::monotonic`]).
    at: Duration,
    /// Not yet started: full at its first use.
    fresh: bool,
}

impl ServeBudget {
    pub(super) fn new(now: Duration) -> Self {
        ServeBudget {
            level: 0.0,
            at: now,
            fresh: true,
        }
    }

    /// Whether an answer may be sent at `now`, with the bucket refilling
    /// at `rate` bytes a second up to `burst`.
    pub(super) fn allow(&mut self, now: Duration, rate: usize, burst: usize) -> bool {
        if self.fresh {
            self.fresh = false;
            self.level = burst as f64;
        } else {
            let secs = now.saturating_sub(self.at).as_secs_f64();
            self.level = (self.level + secs * rate as f64).min(burst as f64);
        }
        self.at = now;
        self.level > 0.0
    }

    /// Charges an answer of `bytes`.
    pub(super) fn charge(&mut self, bytes: usize) {
        self.level -= bytes as f64;
    }
}

impl<C: ChainAccess> Net<C> {
    /// Charges a peer for an offence, banning it at [`BAN_POINTS`]. A peer
    /// that is already gone is banned only for an offence worth a ban alone.
    pub(super) fn offend(&mut self, peer: PeerId, offence: Offence, why: &str) {
        let points = match self.peers.get_mut(&peer) {
            Some(p) => {
                p.points += offence.points();
                p.points
            }
            None => offence.points(),
        };
        tracing::warn!(%peer, ?offence, points, why, "peer misbehaved");
        if points >= BAN_POINTS {
            self.ban(peer, why);
        }
    }

    pub(super) fn ban(&mut self, peer: PeerId, why: &str) {
        tracing::warn!(%peer, why, secs = self.cfg.ban_duration.as_secs(), "banning peer");
        self.banned
            .insert(peer, self.clock.monotonic() + self.cfg.ban_duration);
        if let Some(p) = self.peers.get_mut(&peer) {
            p.points = 0;
        }
        let b = self.swarm.behaviour_mut();
        b.blocked.block_peer(peer);
        b.kad.remove_peer(&peer);
        self.forget_sync_peer(peer);
        self.publish_info();
    }

    /// Once a second: bans run out, peers with a gossip score below the
    /// threshold are banned, and misbehaviour points decay.
    pub(super) fn police(&mut self, now: Duration) {
        let expired = expired_bans(&self.banned, now);
        for p in expired {
            self.banned.remove(&p);
            self.swarm.behaviour_mut().blocked.unblock_peer(p);
            tracing::info!(peer = %p, "ban expired");
        }
        let low: Vec<PeerId> = self
            .peers
            .keys()
            .filter(|p| {
                self.swarm
                    .behaviour()
                    .gossip
                    .peer_score(p)
                    .is_some_and(|s| s < BAN_SCORE)
            })
            .copied()
            .collect();
        for p in low {
            self.ban(p, "gossip score below the ban threshold");
        }
        // Misbehaviour points decay by one a second: only sustained or
        // serious misbehaviour reaches a ban.
        for p in self.peers.values_mut() {
            p.points = p.points.saturating_sub(1);
        }
    }
}

/// The peers whose ban (ending at the [`luminex_primitives::Clock::monotonic`]
/// time in `banned`) is over at `now`.
fn expired_bans(banned: &HashMap<PeerId, Duration>, now: Duration) -> Vec<PeerId> {
    banned
        .iter()
        .filter(|(_, until)| **until <= now)
        .map(|(p, _)| *p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_primitives::Clock;

    /// Status requests at once: the burst is answered, the next ones wait
    /// uncharged up to four times the burst, and only past that are they
    /// an offence.
    #[test]
    fn requests_past_the_budget_wait_and_only_far_past_it_offend() {
        let limits = RequestLimits::new();
        let (_, burst) = REQUEST_QUOTAS[0];
        let mut got = std::collections::HashMap::new();
        // Far more than both budgets: however long a loaded machine holds
        // the loop up, only a few seconds' refill (40 a second at most) is
        // taken from the surplus.
        for _ in 0..burst * ABUSE_FACTOR + 1_000 {
            *got.entry(limits.admit(&Request::Status)).or_insert(0u32) += 1;
        }
        assert!(got[&Admit::Answer] >= burst, "{got:?}");
        assert!(got[&Admit::Wait] >= burst * (ABUSE_FACTOR - 1), "{got:?}");
        assert!(got[&Admit::Abuse] >= 500, "{got:?}");
        // Another kind has its own budget.
        assert_eq!(limits.admit(&Request::Txs(vec![])), Admit::Answer);
    }

    #[test]
    fn a_peer_makes_this_node_send_at_most_its_byte_budget() {
        let clock = luminex_primitives::ManualClock::new(1_000_000);
        let (rate, burst) = (100, 400);
        let mut b = ServeBudget::new(clock.monotonic());
        // A burst's worth, then one answer past it: refused until refilled.
        let mut sent = 0;
        while b.allow(clock.monotonic(), rate, burst) {
            b.charge(150);
            sent += 150;
        }
        assert_eq!(sent, 450, "answers until the bucket is below zero");
        clock.advance(Duration::from_millis(400));
        assert!(!b.allow(clock.monotonic(), rate, burst), "-50 + 40");
        clock.advance(Duration::from_millis(200));
        assert!(b.allow(clock.monotonic(), rate, burst), "-10 + 20");
        // Over a long run, the rate: a second's refill a second.
        let mut sent = 0;
        for _ in 0..1_000 {
            clock.advance(Duration::from_millis(100));
            while b.allow(clock.monotonic(), rate, burst) {
                b.charge(30);
                sent += 30;
            }
        }
        assert!((10_000..=10_000 + 30 + burst).contains(&sent), "{sent}");
        // Idle time refills it only up to the burst.
        clock.advance(Duration::from_secs(3600));
        let mut sent = 0;
        while b.allow(clock.monotonic(), rate, burst) {
            b.charge(1);
            sent += 1;
        }
        assert!(sent <= burst + 1, "{sent}");
    }

    #[test]
    fn a_ban_ends_when_the_clock_says_so() {
        let clock = luminex_primitives::ManualClock::new(1_000_000);
        let a = PeerId::random();
        let b = PeerId::random();
        let mut banned = HashMap::new();
        banned.insert(a, clock.monotonic() + Duration::from_secs(10));
        banned.insert(b, clock.monotonic() + Duration::from_secs(60));
        assert!(expired_bans(&banned, clock.monotonic()).is_empty());
        clock.advance(Duration::from_millis(9_999));
        assert!(expired_bans(&banned, clock.monotonic()).is_empty());
        clock.advance(Duration::from_millis(1));
        assert_eq!(expired_bans(&banned, clock.monotonic()), vec![a]);
        clock.advance(Duration::from_secs(3600));
        let mut all = expired_bans(&banned, clock.monotonic());
        all.sort();
        let mut both = vec![a, b];
        both.sort();
        assert_eq!(all, both);
    }
}
