//! Established connections: who may hold a slot (issue 19, attack 4 —
//! seventy cheap identities held every slot of a node and kept a restarted
//! follower from its producer).
//!
//! - Inbound connections take at most [`crate::behaviour::max_inbound`]
//!   slots, at most `per_ip` of them from one IP address and `per_subnet`
//!   from one [`Subnet`] (a /24 of IPv4, a /48 of IPv6: what one operator
//!   holds cheaply).
//! - When the inbound slots are full, a newcomer takes the slot of a peer
//!   chosen by [`select_victim`], after the useful ones are protected (the
//!   model is Bitcoin Core's `AttemptToEvictConnection`); if every peer is
//!   protected, the newcomer is refused.
//! - Outbound connections take the rest, so inbound peers can never take
//!   them; peers this node found through the DHT take no more.
//! - A slot belongs to a peer, not a connection: libp2p keeps two
//!   connections to one peer when both sides dial at once (or a DHT query
//!   dials a peer that just dialled in), and the second takes no slot, in
//!   either direction; it takes the place over if the first closes.
//! - Priority peers — bootnodes, anchors and peers an operator dials — are
//!   admitted whatever the counts, in either direction, and never evicted:
//!   their identity is proved by the handshake, and there are few of them
//!   (the operator's list, at most two anchors), so a node reaches them
//!   however many identities an attacker brings.

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::hash::BuildHasher;
use std::net::IpAddr;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::swarm::behaviour::{ConnectionClosed, DialFailure, ListenFailure};
use libp2p::swarm::{
    dummy, CloseConnection, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler,
    THandlerInEvent, THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

use crate::admission::ip_of;

/// Inbound connections from one IP address at most, default.
pub const MAX_INBOUND_PER_IP: u32 = 8;
/// Inbound connections from one [`Subnet`] at most, default.
pub const MAX_INBOUND_PER_SUBNET: u32 = 16;

/// The network an address belongs to, for limits and diversity: its /24
/// (IPv4, IPv4-mapped IPv6 included) or its /48 (IPv6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Subnet {
    /// The first three bytes of an IPv4 address.
    V4([u8; 3]),
    /// The first six bytes of an IPv6 address.
    V6([u8; 6]),
    /// An address with no IP (a relay, a memory transport).
    Unknown,
}

impl Subnet {
    /// The subnet of `ip`.
    pub fn of(ip: IpAddr) -> Subnet {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        match ip {
            IpAddr::V4(a) => {
                let o = a.octets();
                Subnet::V4([o[0], o[1], o[2]])
            }
            IpAddr::V6(a) => {
                let mut s = [0; 6];
                s.copy_from_slice(&a.octets()[..6]);
                Subnet::V6(s)
            }
        }
    }
}

/// Why an established connection was refused.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// Too many inbound connections from this address.
    #[error("{0} inbound connections from {1} already")]
    PerIp(usize, IpAddr),
    /// Too many inbound connections from this subnet.
    #[error("{0} inbound connections from the subnet of {1} already")]
    PerSubnet(usize, IpAddr),
    /// The inbound slots are full and every holder is protected.
    #[error("inbound slots full ({0}), nobody to evict")]
    InboundFull(usize),
    /// The outbound slots are full.
    #[error("outbound slots full ({0})")]
    OutboundFull(usize),
}

/// What makes an inbound peer worth keeping, as [`select_victim`] sees it.
#[derive(Debug, Clone)]
pub struct Candidate<K> {
    /// Who it is.
    pub key: K,
    /// Its subnet.
    pub subnet: Subnet,
    /// A rank of its subnet keyed by a secret of this node, so an attacker
    /// cannot tell which subnets are protected for diversity.
    pub subnet_rank: u64,
    /// When it connected, as a sequence number (smaller: longer ago).
    pub since: u64,
    /// Its last ping round trip.
    pub rtt: Option<Duration>,
    /// When it last gave a new valid block (sequence number), if ever.
    pub last_block: Option<u64>,
    /// When it last gave a new valid transaction (sequence number), if ever.
    pub last_tx: Option<u64>,
}

/// Peers protected for network diversity: the longest connected of each
/// of this many subnets (those ranked highest by the node's secret).
const PROTECT_SUBNETS: usize = 4;
/// Peers protected for the lowest ping.
const PROTECT_PING: usize = 8;
/// Peers protected for the latest new transactions.
const PROTECT_TX: usize = 4;
/// Peers protected for the latest new blocks.
const PROTECT_BLOCK: usize = 4;

/// Removes up to `n` candidates, the first after sorting by `key` (and
/// only those `keep` accepts).
fn protect<K, T: Ord>(
    c: &mut Vec<Candidate<K>>,
    n: usize,
    keep: impl Fn(&Candidate<K>) -> bool,
    key: impl Fn(&Candidate<K>) -> T,
) {
    c.sort_by_key(|x| key(x));
    let mut taken = 0;
    c.retain(|x| {
        if taken < n && keep(x) {
            taken += 1;
            false
        } else {
            true
        }
    });
}

/// The inbound peer to evict for a newcomer, or `None` when every one is
/// protected. Protected, in this order: the longest-connected peer of each
/// of `PROTECT_SUBNETS` subnets (by the node's secret rank), the
/// `PROTECT_PING` lowest pings, the `PROTECT_TX` latest transaction
/// relayers, the `PROTECT_BLOCK` latest block relayers, then half of the
/// rest by time connected. Of the others, the subnet with the most peers
/// loses its youngest peer: an attacker with many identities in few
/// subnets evicts its own, not the peers that have been useful or long
/// connected.
pub fn select_victim<K: Copy>(mut c: Vec<Candidate<K>>) -> Option<K> {
    // Diversity: the oldest peer of each of a few subnets.
    let mut subnets: Vec<(u64, Subnet)> = c.iter().map(|x| (x.subnet_rank, x.subnet)).collect();
    subnets.sort_by_key(|(rank, _)| std::cmp::Reverse(*rank));
    subnets.dedup();
    for (_, s) in subnets.into_iter().take(PROTECT_SUBNETS) {
        protect(&mut c, 1, |x| x.subnet == s, |x| x.since);
    }
    protect(
        &mut c,
        PROTECT_PING,
        |x| x.rtt.is_some(),
        |x| x.rtt.unwrap_or(Duration::MAX),
    );
    protect(
        &mut c,
        PROTECT_TX,
        |x| x.last_tx.is_some(),
        |x| std::cmp::Reverse(x.last_tx),
    );
    protect(
        &mut c,
        PROTECT_BLOCK,
        |x| x.last_block.is_some(),
        |x| std::cmp::Reverse(x.last_block),
    );
    let half = c.len() / 2;
    protect(&mut c, half, |_| true, |x| x.since);
    // The largest subnet left (ties: the one with the youngest peer), and
    // its youngest peer.
    let mut groups: HashMap<Subnet, (usize, u64, K)> = HashMap::new();
    for x in &c {
        let g = groups.entry(x.subnet).or_insert((0, x.since, x.key));
        g.0 += 1;
        if x.since >= g.1 {
            g.1 = x.since;
            g.2 = x.key;
        }
    }
    groups
        .into_values()
        .max_by_key(|(n, youngest, _)| (*n, *youngest))
        .map(|(_, _, k)| k)
}

/// One established connection.
#[derive(Debug)]
struct Conn {
    peer: PeerId,
    ip: Option<IpAddr>,
    inbound: bool,
    /// Admitted as a priority peer: in no count, never evicted.
    priority: bool,
    /// A further connection of a peer that already holds a place (both
    /// sides dialled at once, or a DHT query dialled a peer that had just
    /// dialled in): in no count, so one peer never takes two slots.
    extra: bool,
    since: u64,
}

/// What a peer has done for this node lately.
#[derive(Debug, Default, Clone, Copy)]
struct Record {
    rtt: Option<Duration>,
    last_block: Option<u64>,
    last_tx: Option<u64>,
}

/// The slot table: admits established connections by direction, address
/// and subnet, evicts for newcomers, and lets priority peers in.
pub struct Slots {
    max_inbound: usize,
    max_outbound: usize,
    per_ip: usize,
    per_subnet: usize,
    priority: HashSet<PeerId>,
    conns: HashMap<ConnectionId, Conn>,
    records: HashMap<PeerId, Record>,
    /// Orders connections and relays (a logical clock).
    seq: u64,
    secret: RandomState,
    /// Evicted peers whose connections are still to be closed.
    to_close: VecDeque<PeerId>,
    waker: Option<Waker>,
    evictions: u64,
}

impl Slots {
    /// A table of `max_inbound` inbound and `max_outbound` outbound slots,
    /// with at most `per_ip` inbound connections from an address and
    /// `per_subnet` from a subnet.
    pub fn new(max_inbound: u32, max_outbound: u32, per_ip: u32, per_subnet: u32) -> Slots {
        Slots {
            max_inbound: max_inbound as usize,
            max_outbound: max_outbound as usize,
            per_ip: per_ip as usize,
            per_subnet: per_subnet as usize,
            priority: HashSet::new(),
            conns: HashMap::new(),
            records: HashMap::new(),
            seq: 0,
            secret: RandomState::new(),
            to_close: VecDeque::new(),
            waker: None,
            evictions: 0,
        }
    }

    /// Makes `peer` a priority peer (a bootnode, an anchor, a peer an
    /// operator dials): admitted whatever the counts, never evicted.
    pub fn add_priority(&mut self, peer: PeerId) {
        self.priority.insert(peer);
    }

    /// Established connections held, and peers with a record of what they
    /// did (both emptied as peers disconnect).
    pub fn counts(&self) -> (usize, usize) {
        (self.conns.len(), self.records.len())
    }

    /// Inbound peers evicted for newcomers since the start.
    pub fn evictions(&self) -> u64 {
        self.evictions
    }

    fn tick(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// `peer` gave a new valid block.
    pub fn gave_block(&mut self, peer: PeerId) {
        let t = self.tick();
        if let Some(r) = self.records.get_mut(&peer) {
            r.last_block = Some(t);
        }
    }

    /// `peer` gave a new valid transaction.
    pub fn gave_tx(&mut self, peer: PeerId) {
        let t = self.tick();
        if let Some(r) = self.records.get_mut(&peer) {
            r.last_tx = Some(t);
        }
    }

    /// `peer`'s last ping round trip.
    pub fn ping(&mut self, peer: PeerId, rtt: Duration) {
        if let Some(r) = self.records.get_mut(&peer) {
            r.rtt = Some(rtt);
        }
    }

    fn counted(&self, inbound: bool) -> impl Iterator<Item = &Conn> {
        self.conns
            .values()
            .filter(move |c| c.inbound == inbound && !c.priority && !c.extra)
    }

    /// Whether `peer` already holds a connection here.
    fn holds(&self, peer: PeerId) -> bool {
        self.conns.values().any(|c| c.peer == peer)
    }

    /// Admits an inbound connection from `peer` at `remote`, evicting
    /// another peer if the slots are full, or refuses it.
    fn admit_inbound(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        remote: &Multiaddr,
    ) -> Result<(), Refused> {
        let ip = ip_of(remote);
        let priority = self.priority.contains(&peer);
        if self.holds(peer) {
            self.insert(id, peer, ip, true, priority, true);
            return Ok(());
        }
        if !priority {
            if let Some(ip) = ip {
                let subnet = Subnet::of(ip);
                let (mut same_ip, mut same_subnet) = (0, 0);
                for c in self.counted(true) {
                    if let Some(other) = c.ip {
                        same_ip += usize::from(other == ip);
                        same_subnet += usize::from(Subnet::of(other) == subnet);
                    }
                }
                if same_ip >= self.per_ip {
                    return Err(Refused::PerIp(same_ip, ip));
                }
                if same_subnet >= self.per_subnet {
                    return Err(Refused::PerSubnet(same_subnet, ip));
                }
            }
            let inbound = self.counted(true).count();
            if inbound >= self.max_inbound {
                let victim = self.victim().ok_or(Refused::InboundFull(inbound))?;
                tracing::debug!(peer = %victim, newcomer = %peer, "evicting an inbound peer");
                self.conns.retain(|_, c| c.peer != victim);
                self.to_close.push_back(victim);
                self.evictions += 1;
                if let Some(w) = self.waker.take() {
                    w.wake();
                }
            }
        }
        self.insert(id, peer, ip, true, priority, false);
        Ok(())
    }

    fn admit_outbound(&mut self, id: ConnectionId, peer: PeerId) -> Result<(), Refused> {
        let priority = self.priority.contains(&peer);
        if self.holds(peer) {
            self.insert(id, peer, None, false, priority, true);
            return Ok(());
        }
        if !priority {
            let outbound = self.counted(false).count();
            if outbound >= self.max_outbound {
                return Err(Refused::OutboundFull(outbound));
            }
        }
        self.insert(id, peer, None, false, priority, false);
        Ok(())
    }

    fn insert(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        ip: Option<IpAddr>,
        inbound: bool,
        priority: bool,
        extra: bool,
    ) {
        let since = self.tick();
        self.conns.insert(
            id,
            Conn {
                peer,
                ip,
                inbound,
                priority,
                extra,
                since,
            },
        );
        self.records.entry(peer).or_default();
    }

    /// The inbound peer [`select_victim`] picks among the counted ones.
    fn victim(&self) -> Option<PeerId> {
        let mut by_peer: HashMap<PeerId, Candidate<PeerId>> = HashMap::new();
        for c in self.counted(true) {
            let subnet = c.ip.map(Subnet::of).unwrap_or(Subnet::Unknown);
            let r = self.records.get(&c.peer).copied().unwrap_or_default();
            let e = by_peer.entry(c.peer).or_insert(Candidate {
                key: c.peer,
                subnet,
                subnet_rank: self.secret.hash_one(subnet),
                since: c.since,
                rtt: r.rtt,
                last_block: r.last_block,
                last_tx: r.last_tx,
            });
            e.since = e.since.min(c.since);
        }
        select_victim(by_peer.into_values().collect())
    }

    /// Drops connection `id`; when it held its peer's place and the peer
    /// has another connection, that one takes the place over (one in the
    /// same direction if there is one).
    fn forget(&mut self, id: ConnectionId) -> Option<Conn> {
        let gone = self.conns.remove(&id)?;
        if !gone.extra {
            let next = self
                .conns
                .iter()
                .filter(|(_, c)| c.peer == gone.peer)
                .min_by_key(|(_, c)| (c.inbound != gone.inbound, c.since))
                .map(|(i, _)| *i);
            if let Some(c) = next.and_then(|i| self.conns.get_mut(&i)) {
                c.extra = false;
            }
        }
        Some(gone)
    }
}

impl NetworkBehaviour for Slots {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit_inbound(id, peer, remote).map_err(|e| {
            tracing::debug!(%peer, %remote, error = %e, "inbound connection refused");
            ConnectionDenied::new(e)
        })?;
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        id: ConnectionId,
        peer: PeerId,
        addr: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit_outbound(id, peer).map_err(|e| {
            tracing::debug!(%peer, %addr, error = %e, "outbound connection refused");
            ConnectionDenied::new(e)
        })?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionClosed(ConnectionClosed {
                peer_id,
                connection_id,
                remaining_established,
                ..
            }) => {
                self.forget(connection_id);
                if remaining_established == 0 {
                    self.records.remove(&peer_id);
                }
            }
            // A behaviour after this one refused the connection.
            FromSwarm::ListenFailure(ListenFailure { connection_id, .. })
            | FromSwarm::DialFailure(DialFailure { connection_id, .. }) => {
                if let Some(c) = self.forget(connection_id) {
                    if !self.holds(c.peer) {
                        self.records.remove(&c.peer);
                    }
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        if let Some(peer_id) = self.to_close.pop_front() {
            return Poll::Ready(ToSwarm::CloseConnection {
                peer_id,
                connection: CloseConnection::All,
            });
        }
        self.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(ip: &str) -> Multiaddr {
        format!("/ip4/{ip}/tcp/4000").parse().unwrap()
    }

    fn cand(key: u32, subnet: u8, since: u64) -> Candidate<u32> {
        Candidate {
            key,
            subnet: Subnet::V4([10, 0, subnet]),
            subnet_rank: subnet as u64,
            since,
            rtt: None,
            last_block: None,
            last_tx: None,
        }
    }

    #[test]
    fn subnets_are_a_24_and_a_48() {
        let s = |a: &str| Subnet::of(a.parse().unwrap());
        assert_eq!(s("10.1.2.3"), s("10.1.2.200"));
        assert_ne!(s("10.1.2.3"), s("10.1.3.3"));
        assert_eq!(s("::ffff:10.1.2.3"), s("10.1.2.9"));
        assert_eq!(s("2001:db8:1::1"), s("2001:db8:1:ffff::2"));
        assert_ne!(s("2001:db8:1::1"), s("2001:db8:2::1"));
    }

    #[test]
    fn few_peers_that_answer_pings_are_all_protected() {
        let mut c: Vec<_> = (0..9).map(|i| cand(i, 1, i as u64)).collect();
        for x in &mut c {
            x.rtt = Some(Duration::from_millis(20));
        }
        assert_eq!(select_victim(c.clone()), None);
        // Peers that never answered a ping are not protected for it.
        c[8].rtt = None;
        assert_eq!(select_victim(c), Some(8));
    }

    #[test]
    fn the_youngest_of_the_largest_subnet_is_evicted() {
        // Ten honest peers in ten subnets, connected first; thirty
        // attackers from one subnet after them.
        let mut c: Vec<_> = (0..10).map(|i| cand(i, i as u8 + 10, i as u64)).collect();
        c.extend((100..130).map(|i| cand(i, 1, i as u64)));
        assert_eq!(select_victim(c.clone()), Some(129));
        // Honest peers are never the victim while attackers are left.
        for i in 0..10 {
            c.retain(|x| x.key != 129 - i);
            let v = select_victim(c.clone()).unwrap();
            assert!(v >= 100, "{v}");
        }
    }

    #[test]
    fn peers_that_relayed_or_answer_fast_are_protected() {
        // Forty young peers in one subnet; the youngest relayed a block,
        // the next a transaction, the next answers pings fastest.
        let mut c: Vec<_> = (0..40).map(|i| cand(i, 1, i as u64)).collect();
        c[39].last_block = Some(1_000);
        c[38].last_tx = Some(1_000);
        c[37].rtt = Some(Duration::from_millis(1));
        assert_eq!(select_victim(c), Some(36));
    }

    fn ids(n: usize) -> Vec<ConnectionId> {
        (0..n).map(ConnectionId::new_unchecked).collect()
    }

    #[test]
    fn inbound_connections_are_capped_per_address_and_subnet() {
        let mut s = Slots::new(10, 2, 2, 3);
        let id = ids(10);
        s.admit_inbound(id[0], PeerId::random(), &addr("10.0.0.1"))
            .unwrap();
        s.admit_inbound(id[1], PeerId::random(), &addr("10.0.0.1"))
            .unwrap();
        let third = s.admit_inbound(id[2], PeerId::random(), &addr("10.0.0.1"));
        assert!(matches!(third, Err(Refused::PerIp(2, _))), "{third:?}");
        s.admit_inbound(id[3], PeerId::random(), &addr("10.0.0.2"))
            .unwrap();
        let sub = s.admit_inbound(id[4], PeerId::random(), &addr("10.0.0.3"));
        assert!(matches!(sub, Err(Refused::PerSubnet(3, _))), "{sub:?}");
        s.admit_inbound(id[5], PeerId::random(), &addr("10.0.1.3"))
            .unwrap();
        // A priority peer comes in whatever the counts.
        let boot = PeerId::random();
        s.add_priority(boot);
        s.admit_inbound(id[6], boot, &addr("10.0.0.1")).unwrap();
        // Closing a connection frees its place.
        s.forget(id[0]);
        s.admit_inbound(id[7], PeerId::random(), &addr("10.0.0.1"))
            .unwrap();
    }

    #[test]
    fn outbound_slots_are_capped_but_priority_peers_always_get_in() {
        let mut s = Slots::new(10, 2, 8, 16);
        let id = ids(5);
        s.admit_outbound(id[0], PeerId::random()).unwrap();
        s.admit_outbound(id[1], PeerId::random()).unwrap();
        assert!(matches!(
            s.admit_outbound(id[2], PeerId::random()),
            Err(Refused::OutboundFull(2))
        ));
        let boot = PeerId::random();
        s.add_priority(boot);
        s.admit_outbound(id[3], boot).unwrap();
        // Inbound connections do not take outbound slots, nor the reverse.
        s.admit_inbound(id[4], PeerId::random(), &addr("10.0.0.1"))
            .unwrap();
    }

    #[test]
    fn a_peer_with_two_connections_holds_one_slot() {
        // Both sides dialled at once: one peer, an outbound and an inbound
        // connection (libp2p keeps both), or two outbound ones.
        let mut s = Slots::new(1, 2, 1, 1);
        let id = ids(8);
        let twice = PeerId::random();
        s.admit_outbound(id[0], twice).unwrap();
        s.admit_inbound(id[1], twice, &addr("10.0.0.1")).unwrap();
        s.admit_outbound(id[2], twice).unwrap();
        // It holds one outbound slot: another peer still gets the second,
        // and the inbound slot and the address's quota are free.
        s.admit_outbound(id[3], PeerId::random()).unwrap();
        assert!(matches!(
            s.admit_outbound(id[4], PeerId::random()),
            Err(Refused::OutboundFull(2))
        ));
        s.admit_inbound(id[5], PeerId::random(), &addr("10.0.0.1"))
            .unwrap();
        assert_eq!(s.evictions(), 0);
        // Its first connection closes: another of its connections takes
        // the place over, and the peer leaves with its last one.
        s.forget(id[0]);
        assert_eq!(s.counted(false).count(), 2);
        s.forget(id[2]);
        assert_eq!(s.counted(false).count(), 1);
        assert_eq!(s.counted(true).count(), 2);
        s.forget(id[1]);
        assert!(!s.holds(twice));
        assert_eq!(s.counted(true).count(), 1);
    }

    #[test]
    fn a_newcomer_to_full_inbound_slots_evicts_or_is_refused() {
        // 30 slots, one address may hold them all.
        let mut s = Slots::new(30, 2, 64, 64);
        let id = ids(40);
        let mut peers = Vec::new();
        for (i, c) in id.iter().take(30).enumerate() {
            let p = PeerId::random();
            peers.push(p);
            s.admit_inbound(*c, p, &addr(&format!("10.0.{}.1", i % 3)))
                .unwrap();
        }
        // The first peer relayed a block: protected.
        s.gave_block(peers[0]);
        let newcomer = PeerId::random();
        s.admit_inbound(id[30], newcomer, &addr("10.0.9.9"))
            .unwrap();
        assert_eq!(s.evictions(), 1);
        let evicted = s.to_close.pop_front().unwrap();
        assert_ne!(evicted, peers[0]);
        assert_ne!(evicted, newcomer);
        assert_eq!(s.counted(true).count(), 30);
        // With every holder protected (here: all answer pings fast) it
        // refuses the newcomer instead.
        let mut small = Slots::new(3, 2, 64, 64);
        for c in id.iter().take(3) {
            let p = PeerId::random();
            small.admit_inbound(*c, p, &addr("10.0.0.1")).unwrap();
            small.ping(p, Duration::from_millis(5));
        }
        assert!(matches!(
            small.admit_inbound(id[3], PeerId::random(), &addr("10.0.0.1")),
            Err(Refused::InboundFull(3))
        ));
    }
}
