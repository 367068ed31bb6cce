//! Identities that connect, talk and leave leave nothing behind: every map
//! the event loop keeps per peer is empty again once they are gone.

use futures::future::join_all;
use libp2p::request_response;
use libp2p::swarm::SwarmEvent;
use libp2p::Swarm;
use luminex_p2p::behaviour::{Behaviour, BehaviourEvent};
use luminex_p2p::wire::{Request, Response};
use luminex_p2p::ChainAccess;

use crate::net;

/// Identities that come and go.
const IDENTITIES: usize = 48;
/// Of them connected at once.
const AT_ONCE: usize = 12;

/// One identity: connects, answers the node's status request and asks the
/// node's status; returned connected once it has the answer.
async fn visit(node: libp2p::Multiaddr) -> Swarm<Behaviour> {
    let mut swarm = net::attacker();
    swarm.dial(node).unwrap();
    let (mut answered, mut asked) = (false, false);
    net::drive_until(&mut swarm, "the status exchange", 60, |swarm, ev| {
        match ev {
            SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                swarm
                    .behaviour_mut()
                    .sync
                    .send_request(&peer_id, Request::Status.into());
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                message: request_response::Message::Request { channel, .. },
                ..
            })) => {
                let st = net::GenesisOnly.status();
                let _ = swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, Response::Status(st));
                answered = true;
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                message:
                    request_response::Message::Response {
                        response: Response::Status(_),
                        ..
                    },
                ..
            })) => asked = true,
            _ => {}
        }
        (answered && asked).then_some(())
    })
    .await;
    swarm
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_peer_state_is_cleared_after_connect_disconnect_churn() {
    let (handle, addr) = net::start(net::config()).await;
    for _ in 0..IDENTITIES / AT_ONCE {
        let visitors = join_all((0..AT_ONCE).map(|_| visit(addr.clone()))).await;
        // While they are connected the maps hold them (else the census
        // proves nothing): each is a peer and known to the download.
        let c = handle.census().await.unwrap();
        assert_eq!(c.peers, AT_ONCE, "{c:?}");
        net::wait_for(&handle, "the visitors' statuses", 30, || {
            let h = handle.clone();
            async move { (h.census().await.unwrap().sync_peers == AT_ONCE).then_some(()) }
        })
        .await;
        // Dropping the swarms closes their connections.
        drop(visitors);
        net::wait_forgotten(&handle, 60).await;
    }
    let c = net::wait_forgotten(&handle, 60).await;
    assert_eq!(c.banned, 0, "nobody misbehaved");
    assert!(handle.info().peers.is_empty(), "no peer published either");
}
