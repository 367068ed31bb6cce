//! Slots of established connections (issue 19, attack 4): peers that dial
//! in can never take the slots kept for connections this node dials, one
//! address holds only so many inbound slots, and a newcomer to full
//! inbound slots takes the place of a young peer.

use std::sync::Arc;
use std::time::Duration;

use libp2p::multiaddr::Protocol;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm};
use luminex_p2p::behaviour::{max_inbound, Behaviour};

use crate::net;

/// The peer id at the end of `addr`.
fn peer_of(addr: &Multiaddr) -> PeerId {
    match addr.iter().last() {
        Some(Protocol::P2p(peer)) => peer,
        _ => panic!("{addr} names no peer"),
    }
}

/// Drives an identity's swarm, dialled to `node`, until it holds no
/// connection to `node` (refused or closed), and returns: the caller drops
/// the swarm, so an identity turned away goes away. Driven on, its DHT
/// would dial `node` again (a bootstrap query asks the peers it knows),
/// and it would come back as a newcomer and evict another identity, so no
/// count of who holds a slot would settle. Failed dials while connected
/// (an AutoNAT dial-back, the DHT's dials to the peers `node` named) and
/// closed extra connections change nothing.
async fn drive_until_dropped(s: &mut Swarm<Behaviour>, node: PeerId) {
    loop {
        match futures::StreamExt::select_next_some(&mut *s).await {
            SwarmEvent::OutgoingConnectionError { .. } | SwarmEvent::ConnectionClosed { .. }
                if !s.is_connected(&node) =>
            {
                return
            }
            _ => {}
        }
    }
}

/// `n` fresh identities dial `addr` at once and keep driving their
/// swarms, so the connections that were admitted stay up; returns their
/// tasks and a count of the identities whose connection was refused or
/// closed (each counted once: it goes away then).
async fn dial_in(
    addr: &Multiaddr,
    n: usize,
) -> (
    Vec<tokio::task::JoinHandle<()>>,
    tokio::sync::watch::Receiver<usize>,
) {
    let (dropped, count) = tokio::sync::watch::channel(0);
    let dropped = Arc::new(dropped);
    let node = peer_of(addr);
    let tasks = (0..n)
        .map(|_| {
            let addr = addr.clone();
            let dropped = dropped.clone();
            tokio::spawn(async move {
                let mut s: Swarm<Behaviour> = net::attacker();
                s.dial(addr).unwrap();
                drive_until_dropped(&mut s, node).await;
                dropped.send_modify(|n| *n += 1);
            })
        })
        .collect();
    (tasks, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_peers_cannot_take_the_outbound_slots() {
    let mut cfg = net::config();
    cfg.max_peers = 6;
    let inbound = max_inbound(cfg.max_peers) as usize;
    let (node, addr) = net::start(cfg).await;
    let (other, other_addr) = net::start(net::config()).await;
    // As many identities as there are slots in all dial in and stay. The
    // wave settles first: every identity beyond the inbound slots has been
    // refused or evicted (a newcomer to full slots may take a young peer's
    // place), so no late eviction changes the count between the checks
    // below.
    let (drivers, mut dropped) = dial_in(&addr, 6).await;
    tokio::time::timeout(
        Duration::from_secs(60),
        dropped.wait_for(|n| *n >= 6 - inbound),
    )
    .await
    .expect("the identities beyond the inbound slots turned away within 60 s")
    .unwrap();
    net::wait_for(&node, "the inbound slots full", 30, || {
        let h = node.clone();
        async move { (h.census().await.unwrap().peers == inbound).then_some(()) }
    })
    .await;
    // The node dials a peer of its own (as an operator's dial, a priority
    // peer: the outbound cap itself is unit-tested in `connections`).
    node.dial(other_addr.clone()).unwrap();
    let (node_id, other_id) = (peer_of(&addr).to_string(), peer_of(&other_addr).to_string());
    net::wait_for(&node, "the outbound connection", 30, || {
        let h = node.clone();
        let listed = h.info().peers.iter().any(|p| p.peer_id == other_id);
        async move { (listed && h.census().await.unwrap().peers == inbound + 1).then_some(()) }
    })
    .await;
    // The other side knows the node. It may know more peers than the node:
    // the identities' DHT asks the node for peers and it names `other`, as
    // a DHT server does, so they may dial `other` too (and under load they
    // do before this wait ends — they are welcome there, `other` has room).
    net::wait_for(&other, "the other side of it", 30, || {
        let listed = other.info().peers.iter().any(|p| p.peer_id == node_id);
        async move { listed.then_some(()) }
    })
    .await;
    // The identities dialling in still hold no more than their slots.
    let c = node.census().await.unwrap();
    assert_eq!(c.peers, inbound + 1, "{c:?}");
    assert_eq!(*dropped.borrow(), 6 - inbound);
    for d in drivers {
        d.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_holds_few_inbound_slots() {
    let mut cfg = net::config();
    cfg.inbound_per_ip = 3;
    let (node, addr) = net::start(cfg).await;
    // Twelve identities from 127.0.0.1 dial in at once: nine are turned
    // away, three stay.
    let (drivers, mut dropped) = dial_in(&addr, 12).await;
    tokio::time::timeout(Duration::from_secs(60), dropped.wait_for(|n| *n >= 9))
        .await
        .expect("nine identities turned away within 60 s")
        .unwrap();
    let c = node.census().await.unwrap();
    assert_eq!((c.peers, c.connections), (3, 3), "{c:?}");
    assert_eq!(*dropped.borrow(), 9);
    for d in drivers {
        d.abort();
    }
}

/// One identity dialling in and staying; the watch turns true when its
/// connection is closed (and it goes away).
fn hold(
    addr: &Multiaddr,
) -> (
    tokio::task::JoinHandle<()>,
    tokio::sync::watch::Receiver<bool>,
) {
    let (closed, rx) = tokio::sync::watch::channel(false);
    let addr = addr.clone();
    let task = tokio::spawn(async move {
        let mut s: Swarm<Behaviour> = net::attacker();
        let node = peer_of(&addr);
        s.dial(addr).unwrap();
        drive_until_dropped(&mut s, node).await;
        closed.send_replace(true);
    });
    (task, rx)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newcomer_to_full_inbound_slots_evicts_a_young_peer() {
    let cfg = net::config();
    let inbound = max_inbound(cfg.max_peers) as usize;
    let (node, addr) = net::start(cfg).await;
    // Identities dial in one after another, so their order is known.
    let mut held = Vec::new();
    for i in 0..inbound {
        held.push(hold(&addr));
        net::wait_for(&node, "the identity connected", 30, || {
            let h = node.clone();
            async move { (h.census().await.unwrap().peers == i + 1).then_some(()) }
        })
        .await;
    }
    // A newcomer: admitted, and one holder evicted for it.
    let (newcomer, mut newcomer_closed) = hold(&addr);
    let mut closed: Vec<_> = held.iter().map(|(_, c)| c.clone()).collect();
    let evicted = tokio::time::timeout(Duration::from_secs(30), async {
        let waits = closed
            .iter_mut()
            .enumerate()
            .map(|(i, c)| Box::pin(async move { c.wait_for(|v| *v).await.map(|_| i) }));
        futures::future::select_all(waits).await.0.unwrap()
    })
    .await
    .expect("a holder evicted within 30 s");
    // The oldest holders are protected (the oldest of its subnet, the
    // lowest pings, then the older half of the rest): at least the first
    // 16 of 42 stay whatever the pings.
    assert!(evicted >= 16, "holder {evicted} of {inbound} evicted");
    net::wait_for(&node, "the newcomer in its place", 30, || {
        let h = node.clone();
        async move { (h.census().await.unwrap().peers == inbound).then_some(()) }
    })
    .await;
    assert!(!*newcomer_closed.borrow_and_update(), "the newcomer stays");
    newcomer.abort();
    for (t, _) in held {
        t.abort();
    }
}
