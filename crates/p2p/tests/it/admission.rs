//! Attack 6 of issue 19: half-open connections are capped per IP address
//! and in total; past the caps a socket is closed at once, so sockets that
//! never speak cannot take every file descriptor.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use futures::stream::{FuturesUnordered, StreamExt};
use luminex_p2p::admission::{MAX_PENDING_INCOMING, MAX_PENDING_PER_IP};
use luminex_p2p::Handle;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpSocket, TcpStream};

use crate::net;

async fn open(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    s.connect(to).await.unwrap()
}

async fn wait_pending(handle: &Handle, want: usize) {
    net::wait_for(handle, &format!("{want} half-open connections"), 30, || {
        let h = handle.clone();
        async move { (h.census().await.unwrap().pending_incoming == want).then_some(()) }
    })
    .await;
}

/// Waits until `n` of `sockets` are closed by the node (a read gives end
/// of file); then closes the others.
async fn closed_by_node(sockets: Vec<TcpStream>, n: usize) {
    let mut reads: FuturesUnordered<_> = sockets
        .into_iter()
        .map(|mut s| async move {
            let mut b = [0u8; 64];
            loop {
                match s.read(&mut b).await {
                    Ok(0) | Err(_) => return,
                    // The node's side of a handshake: still open.
                    Ok(_) => continue,
                }
            }
        })
        .collect();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut closed = 0;
    while closed < n {
        match tokio::time::timeout_at(deadline, reads.next()).await {
            Ok(Some(())) => closed += 1,
            Ok(None) => unreachable!("fewer sockets than {n}"),
            Err(_) => panic!("{closed} of {n} sockets closed by the node within 30 s"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_are_capped_per_address_and_in_total() {
    let (handle, addr) = net::start(net::config()).await;
    let port = net::tcp_port(&addr);
    let to = SocketAddr::from(([127, 0, 0, 1], port));
    // One address opens more than its share: the rest are closed at once.
    let extra = 8;
    let mut one = Vec::new();
    for _ in 0..MAX_PENDING_PER_IP + extra {
        one.push(open(Ipv4Addr::new(127, 0, 0, 1), to).await);
    }
    wait_pending(&handle, MAX_PENDING_PER_IP).await;
    closed_by_node(one, extra).await;
    wait_pending(&handle, 0).await;
    // Many addresses: the total cap holds.
    let sources = MAX_PENDING_INCOMING / MAX_PENDING_PER_IP + 2;
    let mut many = Vec::new();
    for s in 0..sources {
        for _ in 0..MAX_PENDING_PER_IP {
            many.push(open(Ipv4Addr::new(127, 0, 1, 1 + s as u8), to).await);
        }
    }
    wait_pending(&handle, MAX_PENDING_INCOMING).await;
    let refused = sources * MAX_PENDING_PER_IP - MAX_PENDING_INCOMING;
    closed_by_node(many, refused).await;
    wait_pending(&handle, 0).await;
    // A real peer still gets in.
    let mut peer = net::attacker();
    peer.dial(addr).unwrap();
    net::drive_until(&mut peer, "the peer connected", 30, |_, ev| {
        matches!(ev, libp2p::swarm::SwarmEvent::ConnectionEstablished { .. }).then_some(())
    })
    .await;
    net::wait_for(&handle, "the peer connected", 30, || {
        let h = handle.clone();
        async move { (h.census().await.unwrap().peers == 1).then_some(()) }
    })
    .await;
    drop(peer);
    net::wait_forgotten(&handle, 30).await;
}
