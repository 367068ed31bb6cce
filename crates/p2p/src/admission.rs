//! Admission of inbound connections before they are established: each
//! accepted socket holds a file descriptor until its handshake ends (or
//! times out), so half-open connections are capped in total and per IP
//! address — beyond the caps a new socket is closed at once. Without them
//! a thousand sockets that never speak exhausted a 1,024-descriptor limit
//! and made the REST and JSON-RPC ports unreachable (issue 19, attack 6).

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::behaviour::ListenFailure;
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

/// Half-open inbound connections at most, default.
pub const MAX_PENDING_INCOMING: usize = 128;
/// Of them from one IP address, default.
pub const MAX_PENDING_PER_IP: usize = 16;

/// Why an inbound connection was refused before its handshake.
#[derive(Debug, thiserror::Error)]
pub enum Refused {
    /// Too many half-open connections in all.
    #[error("{0} half-open inbound connections already")]
    Total(usize),
    /// Too many half-open connections from this address.
    #[error("{0} half-open inbound connections from {1} already")]
    PerIp(usize, IpAddr),
}

/// Caps half-open inbound connections in total and per IP address.
#[derive(Debug)]
pub struct PendingLimits {
    max_total: usize,
    max_per_ip: usize,
    /// Each half-open connection and the address it came from.
    pending: HashMap<ConnectionId, Option<IpAddr>>,
    /// Half-open connections by address.
    per_ip: HashMap<IpAddr, usize>,
}

/// The IP address in a multiaddr, if any.
pub(crate) fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(a) => Some(IpAddr::V4(a)),
        Protocol::Ip6(a) => Some(IpAddr::V6(a)),
        _ => None,
    })
}

impl PendingLimits {
    /// Caps of `max_total` half-open inbound connections, `max_per_ip` of
    /// them from one address.
    pub fn new(max_total: usize, max_per_ip: usize) -> Self {
        PendingLimits {
            max_total,
            max_per_ip,
            pending: HashMap::new(),
            per_ip: HashMap::new(),
        }
    }

    /// Half-open inbound connections now.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Admits a new half-open connection from `remote`, or refuses it.
    fn admit(&mut self, id: ConnectionId, remote: &Multiaddr) -> Result<(), Refused> {
        if self.pending.len() >= self.max_total {
            return Err(Refused::Total(self.pending.len()));
        }
        let ip = ip_of(remote);
        if let Some(ip) = ip {
            let n = self.per_ip.get(&ip).copied().unwrap_or(0);
            if n >= self.max_per_ip {
                return Err(Refused::PerIp(n, ip));
            }
            self.per_ip.insert(ip, n + 1);
        }
        self.pending.insert(id, ip);
        Ok(())
    }

    /// A half-open connection ended: established or failed.
    fn done(&mut self, id: ConnectionId) {
        let Some(Some(ip)) = self.pending.remove(&id) else {
            return;
        };
        if let Some(n) = self.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_ip.remove(&ip);
            }
        }
    }
}

impl NetworkBehaviour for PendingLimits {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        id: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        self.admit(id, remote).map_err(|e| {
            tracing::debug!(%remote, error = %e, "inbound connection refused");
            ConnectionDenied::new(e)
        })
    }

    fn handle_established_inbound_connection(
        &mut self,
        id: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.done(id);
        Ok(dummy::ConnectionHandler)
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        _: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        if let FromSwarm::ListenFailure(ListenFailure { connection_id, .. }) = event {
            self.done(connection_id);
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

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_open_connections_are_capped_per_ip_and_in_total() {
        let mut l = PendingLimits::new(5, 2);
        let a: Multiaddr = "/ip4/10.0.0.1/tcp/1000".parse().unwrap();
        let b: Multiaddr = "/ip4/10.0.0.2/tcp/1000".parse().unwrap();
        let ids: Vec<ConnectionId> = (0..8).map(ConnectionId::new_unchecked).collect();
        l.admit(ids[0], &a).unwrap();
        l.admit(ids[1], &a).unwrap();
        assert!(matches!(l.admit(ids[2], &a), Err(Refused::PerIp(2, _))));
        l.admit(ids[3], &b).unwrap();
        l.admit(ids[4], &b).unwrap();
        // One ends: its address may open another.
        l.done(ids[0]);
        l.admit(ids[2], &a).unwrap();
        let c: Multiaddr = "/ip6/::1/tcp/1000".parse().unwrap();
        l.admit(ids[5], &c).unwrap();
        assert_eq!(l.pending(), 5);
        assert!(matches!(l.admit(ids[6], &c), Err(Refused::Total(5))));
        for id in &ids {
            l.done(*id);
        }
        assert_eq!(l.pending(), 0);
        assert!(l.per_ip.is_empty(), "nothing kept per address");
    }
}
