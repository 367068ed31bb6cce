//! Peers that dial in can never take the slots kept for connections this
//! node dials: with every inbound slot held, it still reaches a peer of its
//! choosing (issue 19, attack 4, in part).

use libp2p::swarm::SwarmEvent;
use libp2p::Swarm;
use luminex_p2p::behaviour::{max_inbound, Behaviour};

use crate::net;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inbound_peers_cannot_take_the_outbound_slots() {
    let mut cfg = net::config();
    cfg.max_peers = 6;
    let inbound = max_inbound(cfg.max_peers) as usize;
    let (node, addr) = net::start(cfg).await;
    let (other, other_addr) = net::start(net::config()).await;
    // As many identities as there are slots in all dial in and stay.
    let mut held: Vec<Swarm<Behaviour>> = Vec::new();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = net::attacker();
            s.dial(addr).unwrap();
            let connected =
                net::drive_until(&mut s, "an answer to the dial", 60, |_, ev| match ev {
                    SwarmEvent::ConnectionEstablished { .. } => Some(true),
                    SwarmEvent::OutgoingConnectionError { .. }
                    | SwarmEvent::ConnectionClosed { .. } => Some(false),
                    _ => None,
                })
                .await;
            (s, connected)
        }));
    }
    for t in tasks {
        let (s, _) = t.await.unwrap();
        held.push(s);
    }
    // Keep them driven, so their connections stay up.
    let drivers: Vec<_> = held
        .into_iter()
        .map(|mut s| {
            tokio::spawn(async move {
                loop {
                    futures::StreamExt::select_next_some(&mut s).await;
                }
            })
        })
        .collect();
    net::wait_for("the inbound slots full", 30, || {
        let h = node.clone();
        async move { (h.census().await.unwrap().peers == inbound).then_some(()) }
    })
    .await;
    // The node dials a peer of its own: a kept slot takes it.
    node.dial(other_addr).unwrap();
    net::wait_for("the outbound connection", 30, || {
        let h = node.clone();
        async move { (h.census().await.unwrap().peers == inbound + 1).then_some(()) }
    })
    .await;
    assert_eq!(other.census().await.unwrap().peers, 1);
    for d in drivers {
        d.abort();
    }
}
