//! The event loop: swarm events, the node's commands, results of blocking
//! work and timers, each handed to the part that deals with it; connections
//! and bootnodes; the state published to the node.

use std::time::Duration;

use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::multiaddr::Protocol;
use libp2p::request_response;
use libp2p::swarm::{dial_opts::DialOpts, DialError, ListenError, SwarmEvent};
use libp2p::{autonat, gossipsub, identify, kad, ping, Multiaddr, PeerId};
use tokio::sync::mpsc;

use super::anchors;
use super::handle::Command;
use super::peer::{Direction, Offence, Peer};
use super::{ChainAccess, Done, Net, PeerInfo, PeerStateCounts, Purpose};
use crate::behaviour::{BehaviourEvent, SyncRequest};
use crate::wire::{Request, Response};

/// First wait before dialling a lost bootnode again; it doubles on every
/// failed try, up to [`BOOTNODE_MAX_BACKOFF`].
pub(super) const BOOTNODE_FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between two dials of a bootnode (and the wait after one
/// turned out to be on another chain).
const BOOTNODE_MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Listen addresses of a peer kept for the DHT (from its latest identify).
const MAX_LISTEN_ADDRS: usize = 8;

/// A configured bootnode: dialled again, with backoff, whenever the node is
/// not connected to it (after a restart of either, or a partition), as
/// Bitcoin Core keeps filling its outbound slots and CometBFT redials
/// persistent peers. The DHT alone would find it again only at its next
/// periodic bootstrap.
pub(super) struct Bootnode {
    pub addr: Multiaddr,
    pub peer: Option<PeerId>,
    /// When to dial next ([`luminex_primitives::Clock::monotonic`] time).
    pub next_dial: Duration,
    pub backoff: Duration,
}

impl Bootnode {
    pub(super) fn new(addr: Multiaddr, now: Duration) -> Bootnode {
        Bootnode {
            peer: match addr.iter().last() {
                Some(Protocol::P2p(peer)) => Some(peer),
                _ => None,
            },
            addr,
            next_dial: now + BOOTNODE_FIRST_BACKOFF,
            backoff: BOOTNODE_FIRST_BACKOFF,
        }
    }

    /// Whether its wait is over at `now`.
    fn due(&self, now: Duration) -> bool {
        now >= self.next_dial
    }

    /// It was dialled at `now`: wait twice as long next time, up to the
    /// longest wait.
    fn dialled(&mut self, now: Duration) {
        self.next_dial = now + self.backoff;
        self.backoff = (self.backoff * 2).min(BOOTNODE_MAX_BACKOFF);
    }

    /// It answered at `now`: on our chain, a lost connection is redialled
    /// soon; on another chain, only now and then.
    fn identified(&mut self, now: Duration, same_chain: bool) {
        self.backoff = if same_chain {
            BOOTNODE_FIRST_BACKOFF
        } else {
            BOOTNODE_MAX_BACKOFF
        };
        self.next_dial = now + self.backoff;
    }
}

impl<C: ChainAccess> Net<C> {
    pub(super) async fn run(
        mut self,
        mut cmds: mpsc::UnboundedReceiver<Command>,
        mut done: mpsc::UnboundedReceiver<Done>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut slow = tokio::time::interval(Duration::from_secs(1));
        // The transaction batch's send time, when one waits.
        let flush = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(flush);
        loop {
            let due = self.tx_batch.deadline();
            if let Some(d) = due {
                if flush.deadline() != d {
                    flush.as_mut().reset(d);
                }
            }
            tokio::select! {
                () = &mut flush, if due.is_some() => self.flush_txs(),
                ev = self.swarm.select_next_some() => self.on_swarm(ev),
                cmd = cmds.recv() => match cmd {
                    Some(c) => self.on_command(c),
                    None => break,
                },
                Some(d) = done.recv() => self.on_done(d),
                _ = tick.tick() => self.drive_sync(),
                _ = slow.tick() => self.housekeeping(),
            }
            self.report_census_change();
        }
        tracing::info!("network stopped");
    }

    /// Sends a request and remembers what it was for.
    pub(super) fn request(
        &mut self,
        peer: PeerId,
        req: Request,
        purpose: Purpose,
    ) -> request_response::OutboundRequestId {
        let id = self
            .swarm
            .behaviour_mut()
            .sync
            .send_request(&peer, req.into());
        self.outbound.insert(id, purpose);
        id
    }

    fn housekeeping(&mut self) {
        let now = self.clock.monotonic();
        // Peers that rate-limited a sync request have refilled meanwhile.
        self.syncer.resume();
        self.police(now);
        self.check_headers_deadline(now);
        self.redial_bootnodes(now);
        self.keep_anchors();
        // Every few seconds, ask each peer where it is: a node that missed
        // announcements (a burst, a partition) notices and syncs. On BFT
        // chains every second: a node behind catches up by asking
        // (ADR 0044), and it learns it is behind from the answers.
        self.ticks += 1;
        if self.ticks.is_multiple_of(5) || !self.cfg.block_sync {
            let peers: Vec<PeerId> = self.peers.keys().copied().collect();
            for p in peers {
                self.ask_status(p);
            }
        }
        self.publish_info();
    }

    /// Dials the bootnodes the node is not connected to whose wait is over.
    fn redial_bootnodes(&mut self, now: Duration) {
        for i in 0..self.bootnodes.len() {
            let b = &self.bootnodes[i];
            let (connected, banned) = match b.peer {
                Some(p) => (self.peers.contains_key(&p), self.banned.contains_key(&p)),
                None => (self.peers.values().any(|p| p.addr == b.addr), false),
            };
            // A bootnode is a priority peer: it gets in however many
            // peers hold the other slots.
            if connected || banned || !b.due(now) {
                continue;
            }
            let addr = b.addr.clone();
            tracing::debug!(%addr, "dialling a bootnode again");
            if let Err(e) = self.swarm.dial(super::dial_opts(addr.clone())) {
                tracing::debug!(%addr, error = %e, "bootnode dial failed");
            }
            self.bootnodes[i].dialled(now);
        }
    }

    /// Writes the anchors when the best outbound peers changed: those on
    /// this chain (they told their status) that gave the most blocks, then
    /// the longest connected. An empty choice leaves the file as it was, so
    /// a node that lost its peers still has them after a restart.
    fn keep_anchors(&mut self) {
        let Some(path) = self.cfg.anchors.clone() else {
            return;
        };
        let candidates = self
            .peers
            .iter()
            .filter(|(id, p)| {
                p.direction == Direction::Outbound
                    && p.height.is_some()
                    && !self.banned.contains_key(id)
            })
            .map(|(id, p)| anchors::Candidate {
                addr: anchors::with_peer(&p.addr, *id),
                blocks: p.blocks,
                since: p.since,
            })
            .collect();
        let chosen = anchors::choose(candidates);
        if chosen.is_empty() || chosen == self.anchors {
            return;
        }
        match anchors::save(&path, &chosen) {
            Ok(()) => {
                tracing::debug!(?chosen, "anchors written");
                self.anchors = chosen;
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot write the anchors")
            }
        }
    }

    /// A node at `address` has this node's own peer id: two nodes share a
    /// `p2p_key` (a data directory copied whole) and can never connect.
    /// Said once per address at warning level, and kept for the API.
    fn identity_clash(&mut self, address: String) {
        let mut info = self.info.write();
        if info.identity_clashes.contains(&address) {
            return;
        }
        tracing::warn!(
            %address,
            peer_id = %self.swarm.local_peer_id(),
            "a node there has this node's own peer id: the two share a p2p_key (a copied data directory?) and cannot connect; give one of them its own key (stop it, delete its p2p_key file, start it again)"
        );
        if info.identity_clashes.len() >= super::MAX_IDENTITY_CLASHES {
            info.identity_clashes.remove(0);
        }
        info.identity_clashes.push(address);
        drop(info);
        self.changes.send_modify(|n| *n += 1);
    }

    pub(super) fn publish_info(&mut self) {
        let me = *self.swarm.local_peer_id();
        let with_id = |a: &Multiaddr| with_peer_id(a, me).to_string();
        let listen = self.swarm.listeners().map(with_id).collect();
        let external = self.swarm.external_addresses().map(with_id).collect();
        let gossip = &self.swarm.behaviour().gossip;
        let peers = self
            .peers
            .iter()
            .map(|(id, p)| PeerInfo {
                peer_id: id.to_string(),
                address: p.addr.to_string(),
                direction: p.direction.as_str(),
                rtt_ms: p.rtt.map(|d| d.as_secs_f64() * 1e3),
                agent: p.agent.clone(),
                height: p.height,
                headers_height: self.syncer.backed_height(id),
                score: gossip.peer_score(id).unwrap_or(0.0),
            })
            .collect();
        let mut info = self.info.write();
        info.listen_addrs = listen;
        info.external_addrs = external;
        info.peers = peers;
        info.banned = self.banned.keys().map(|p| p.to_string()).collect();
        (info.bytes_recv, info.bytes_sent) = super::byte_totals(&self.bandwidth);
        let (mono, unix) = (self.clock.monotonic(), self.clock.now_unix());
        info.bans = self
            .banned
            .iter()
            .map(|(p, end)| {
                let until = unix + end.saturating_sub(mono).as_secs();
                super::BanInfo {
                    peer_id: p.to_string(),
                    created: until.saturating_sub(self.cfg.ban_duration.as_secs()),
                    until,
                }
            })
            .collect();
        info.announce = self.announce;
        info.reachability = self.reachability.clone();
        info.last_block_delay_secs = self.last_block_delay;
        drop(info);
        self.changes.send_modify(|n| *n += 1);
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::PublishTx(tx) => self.queue_tx(tx),
            Command::PublishConsensus(data) => {
                // Transactions first: a proposal never names one that its
                // proposer still holds back in a batch (ADR 0043).
                self.flush_txs();
                let topic = self.names.consensus_topic.clone();
                self.publish(topic, data);
            }
            Command::AnnounceBlock {
                frame,
                txs,
                full_bytes,
            } => {
                self.announce.blocks += 1;
                self.announce.txs += txs as u64;
                self.announce.compact_bytes += frame.len() as u64;
                self.announce.full_bytes += full_bytes as u64;
                let topic = self.names.block_topic.clone();
                self.publish(topic, frame);
                self.publish_info();
            }
            Command::Dial(addr) => {
                if let Some(Protocol::P2p(peer)) = addr.iter().last() {
                    // The operator chose it: it gets in however many peers
                    // hold the other slots.
                    self.swarm.behaviour_mut().slots.add_priority(peer);
                    if self.banned.remove(&peer).is_some() {
                        self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                    }
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer, addr.clone());
                }
                if let Err(e) = self.swarm.dial(super::dial_opts(addr.clone())) {
                    tracing::warn!(%addr, error = %e, "dial failed");
                }
            }
            Command::Ban(peer) => self.ban(peer, "banned by an operator"),
            Command::Disconnect(peer) => {
                tracing::info!(%peer, "disconnecting peer at an operator's request");
                let _ = self.swarm.disconnect_peer_id(peer);
            }
            Command::Census(reply) => {
                let _ = reply.send(self.census());
            }
            Command::Resync => {
                tracing::info!("download restarted from the chain's tip");
                self.syncer.restart();
                // Their claims afresh, before any headers are asked.
                let peers: Vec<PeerId> = self.peers.keys().copied().collect();
                for p in peers {
                    self.ask_status(p);
                }
                self.drive_sync();
            }
        }
    }

    /// Bumps the change counter if the census moved since it was last
    /// bumped (a handful of length reads after each event).
    fn report_census_change(&mut self) {
        let c = self.census();
        if c != self.last_census {
            self.last_census = c;
            self.changes.send_modify(|n| *n += 1);
        }
    }

    /// Counts the entries kept about peers, map by map.
    fn census(&self) -> PeerStateCounts {
        PeerStateCounts {
            peers: self.peers.len(),
            sync_peers: self.syncer.peer_count(),
            headers_requests: self.headers_asked.len(),
            header_tree: self.syncer.tree_len(),
            dialing: self.dialing.len(),
            outbound_requests: self.outbound.len(),
            rebuilding: self.rebuilding.len(),
            announcements: self.announcements.len(),
            tx_fetches: self.tx_fetches.len(),
            tx_fetches_waiting: self.tx_fetches.waiting(),
            pending_incoming: self.swarm.behaviour().pending.pending(),
            banned: self.banned.len(),
            connections: self.swarm.behaviour().slots.counts().0,
            records: self.swarm.behaviour().slots.counts().1,
        }
    }

    fn on_done(&mut self, d: Done) {
        match d {
            Done::Tx {
                id,
                source,
                verdict,
                announce,
            } => self.on_tx_checked(id, source, verdict, announce),
            Done::Consensus {
                id,
                source,
                verdict,
            } => self.on_consensus_checked(id, source, verdict),
            Done::Rebuilt {
                hash,
                id,
                source,
                partial,
            } => self.on_rebuilt(hash, id, source, *partial),
            Done::Imported {
                hash,
                origin,
                verdict,
            } => self.on_imported(hash, origin, verdict),
            Done::Certified {
                peer,
                from,
                verdict,
            } => self.on_certified_taken(peer, from, verdict),
            Done::Announced {
                id,
                source,
                missing,
            } => self.on_announced(id, source, missing),
            Done::Fetched {
                id,
                source,
                verdict,
            } => self.on_fetched(id, source, verdict),
            Done::Served {
                peer,
                channel,
                response,
                bytes,
            } => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.served.charge(bytes);
                }
                self.respond(channel, response)
            }
        }
    }

    fn on_swarm(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => {
                let me = *self.swarm.local_peer_id();
                tracing::info!(address = %address.clone().with(Protocol::P2p(me)), "p2p listening");
                self.publish_info();
            }
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                self.dialing.remove(&peer_id);
                if self.peers.contains_key(&peer_id) {
                    return;
                }
                let (addr, dir) = match &endpoint {
                    ConnectedPoint::Dialer { address, .. } => {
                        (address.clone(), Direction::Outbound)
                    }
                    ConnectedPoint::Listener { send_back_addr, .. } => {
                        (send_back_addr.clone(), Direction::Inbound)
                    }
                };
                let now = self.clock.monotonic();
                self.peers.insert(peer_id, Peer::new(addr, dir, now));
                tracing::debug!(peer = %peer_id, dir = dir.as_str(), "peer connected");
                self.ask_status(peer_id);
                self.publish_info();
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.peers.remove(&peer_id);
                self.forget_sync_peer(peer_id);
                self.forget_announcements(peer_id);
                tracing::debug!(peer = %peer_id, "peer disconnected");
                self.publish_info();
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                if let Some(p) = peer_id {
                    self.dialing.remove(&p);
                }
                if let DialError::LocalPeerId { address } = &error {
                    self.identity_clash(address.to_string());
                }
                tracing::debug!(error = %error, "outgoing connection failed");
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error: ListenError::LocalPeerId { .. },
                ..
            } => self.identity_clash(send_back_addr.to_string()),
            SwarmEvent::Behaviour(b) => self.on_behaviour(b),
            _ => {}
        }
    }

    fn on_behaviour(&mut self, ev: BehaviourEvent) {
        match ev {
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                self.on_identify(peer_id, info)
            }
            BehaviourEvent::Ping(ping::Event {
                peer,
                result: Ok(rtt),
                ..
            }) => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.rtt = Some(rtt);
                }
                self.swarm.behaviour_mut().slots.ping(peer, rtt);
            }
            BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer, addresses, ..
            }) => {
                let room = (self.peers.len() + self.dialing.len()) < self.cfg.max_peers as usize;
                if room
                    && !self.peers.contains_key(&peer)
                    && !self.banned.contains_key(&peer)
                    && self.dialing.insert(peer)
                {
                    let opts = DialOpts::peer_id(peer)
                        .addresses(addresses.iter().cloned().collect())
                        .allocate_new_port()
                        .build();
                    if self.swarm.dial(opts).is_err() {
                        self.dialing.remove(&peer);
                    }
                }
            }
            BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.on_gossip(propagation_source, message_id, message),
            BehaviourEvent::Sync(ev) => self.on_sync(ev),
            BehaviourEvent::Autonat(autonat::Event::StatusChanged { new, .. }) => {
                self.reachability = match new {
                    autonat::NatStatus::Public(a) => format!("public ({a})"),
                    autonat::NatStatus::Private => "private".into(),
                    autonat::NatStatus::Unknown => "unknown".into(),
                };
                tracing::info!(reachability = %self.reachability, "reachability changed");
            }
            _ => {}
        }
    }

    fn on_identify(&mut self, peer_id: PeerId, info: identify::Info) {
        let same_chain = info.protocol_version == self.names.protocol_version;
        let now = self.clock.monotonic();
        for b in self
            .bootnodes
            .iter_mut()
            .filter(|b| b.peer == Some(peer_id))
        {
            // A bootnode on another chain is a misconfiguration: it is tried
            // again only now and then.
            if !same_chain {
                tracing::warn!(addr = %b.addr, "bootnode is on another chain");
            }
            b.identified(now, same_chain);
        }
        if !same_chain {
            tracing::info!(peer = %peer_id, theirs = %info.protocol_version, "peer is on another chain; disconnecting");
            self.swarm.behaviour_mut().kad.remove_peer(&peer_id);
            let _ = self.swarm.disconnect_peer_id(peer_id);
            return;
        }
        // The addresses it lists now replace those its identify listed
        // before, a few at most: a peer pushing identify again and again
        // with new addresses would otherwise grow its routing entry without
        // bound. Addresses the DHT has from elsewhere (the one dialled, a
        // bootnode's, an anchor's) stay.
        let listed: Vec<Multiaddr> = info
            .listen_addrs
            .into_iter()
            .take(MAX_LISTEN_ADDRS)
            .collect();
        let before = match self.peers.get_mut(&peer_id) {
            Some(p) => {
                p.agent = Some(info.agent_version);
                std::mem::replace(&mut p.identified, listed.clone())
            }
            None => Vec::new(),
        };
        let kad = &mut self.swarm.behaviour_mut().kad;
        for a in before.iter().filter(|a| !listed.contains(a)) {
            kad.remove_address(&peer_id, a);
        }
        for a in listed {
            kad.add_address(&peer_id, a);
        }
    }

    fn on_sync(&mut self, ev: request_response::Event<SyncRequest, Response>) {
        match ev {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => match request {
                SyncRequest::Request(r) => self.serve(peer, r, channel),
                // The channel is dropped unanswered.
                SyncRequest::Stalled => self.offend(
                    peer,
                    Offence::StalledRequest,
                    "request frame not sent in time",
                ),
                SyncRequest::Malformed(why) => self.offend(peer, Offence::Malformed, &why),
                SyncRequest::Busy => self.respond(channel, Response::RateLimited),
            },
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some(purpose) = self.outbound.remove(&request_id) else {
                    return;
                };
                self.on_response(peer, purpose, response);
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(%peer, %error, "request failed");
                match self.outbound.remove(&request_id) {
                    Some(Purpose::Sync(t)) => {
                        self.headers_asked.remove(&t);
                        if matches!(error, request_response::OutboundFailure::Timeout) {
                            // Blocks asked and not given in time: the
                            // others that have them are asked instead.
                            self.syncer.on_blocks_stalled(t)
                        } else {
                            self.syncer.on_failure(t)
                        }
                    }
                    Some(Purpose::BlockTxs(h) | Purpose::FullBlock(h)) => {
                        // No answer in time, or the stream dropped
                        // unanswered: the peer's doing either way.
                        let its_fault = matches!(
                            error,
                            request_response::OutboundFailure::Timeout
                                | request_response::OutboundFailure::Io(_)
                        );
                        self.on_announcement_failed(peer, h, its_fault)
                    }
                    Some(Purpose::Status) => {
                        if let Some(p) = self.peers.get_mut(&peer) {
                            p.status_pending = false;
                        }
                        if matches!(
                            error,
                            request_response::OutboundFailure::UnsupportedProtocols
                        ) {
                            // Not a node of this chain.
                            let _ = self.swarm.disconnect_peer_id(peer);
                        }
                    }
                    Some(Purpose::Certified(from)) => self.on_certified_failed(peer, from),
                    Some(Purpose::Txs(fetch)) => {
                        let its_fault = matches!(
                            error,
                            request_response::OutboundFailure::Timeout
                                | request_response::OutboundFailure::Io(_)
                        );
                        self.on_txs_failed(peer, fetch, its_fault)
                    }
                    None => {}
                }
                if let request_response::OutboundFailure::Io(e) = &error {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        self.offend(peer, Offence::Malformed, &e.to_string());
                    }
                }
            }
            _ => {}
        }
    }

    fn on_response(&mut self, peer: PeerId, purpose: Purpose, response: Response) {
        if let Response::RateLimited = response {
            tracing::debug!(%peer, "peer rate-limited us");
        }
        match purpose {
            Purpose::Status => {
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.status_pending = false;
                }
                if let Response::Status(st) = response {
                    self.on_status(peer, st);
                }
            }
            Purpose::Sync(token) => self.on_sync_response(peer, token, response),
            Purpose::BlockTxs(h) => self.on_block_txs(peer, h, response),
            Purpose::FullBlock(h) => self.on_full_block(peer, h, response),
            Purpose::Certified(from) => self.on_certified(peer, from, response),
            Purpose::Txs(fetch) => self.on_txs(peer, fetch, response),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_primitives::Clock;

    #[test]
    fn bootnode_redials_back_off_by_the_clock() {
        let clock = luminex_primitives::ManualClock::new(5_000);
        let peer = PeerId::random();
        let addr: Multiaddr = format!("/ip4/127.0.0.1/tcp/9000/p2p/{peer}")
            .parse()
            .unwrap();
        let mut b = Bootnode::new(addr, clock.monotonic());
        assert_eq!(b.peer, Some(peer));
        assert!(!b.due(clock.monotonic()));
        // Waits 1 s, then 2, 4, … up to a minute between failed dials.
        let mut waits = Vec::new();
        for _ in 0..9 {
            let start = clock.monotonic();
            while !b.due(clock.monotonic()) {
                clock.advance(Duration::from_millis(100));
            }
            waits.push((clock.monotonic() - start).as_secs());
            b.dialled(clock.monotonic());
        }
        assert_eq!(waits, [1, 1, 2, 4, 8, 16, 32, 60, 60]);
        // Once it answers on our chain, a lost connection is retried soon;
        // on another chain, only once a minute.
        b.identified(clock.monotonic(), true);
        assert_eq!(b.next_dial - clock.monotonic(), BOOTNODE_FIRST_BACKOFF);
        b.identified(clock.monotonic(), false);
        assert_eq!(b.next_dial - clock.monotonic(), BOOTNODE_MAX_BACKOFF);
    }
}

/// `addr` ending in `/p2p/<peer>`, to paste as another node's bootnode: an
/// address that already ends so (an external address configured or
/// observed with the id) is left as it is, not given a second one.
fn with_peer_id(addr: &Multiaddr, peer: PeerId) -> Multiaddr {
    addr.clone().with_p2p(peer).unwrap_or_else(|other| other)
}

#[cfg(test)]
mod peer_id_tests {
    use super::*;

    #[test]
    fn an_address_gets_the_peer_id_once() {
        let me = PeerId::random();
        let bare: Multiaddr = "/ip4/127.0.0.1/tcp/9102".parse().unwrap();
        let once = format!("{bare}/p2p/{me}");
        assert_eq!(with_peer_id(&bare, me).to_string(), once);
        assert_eq!(with_peer_id(&once.parse().unwrap(), me).to_string(), once);
    }
}
