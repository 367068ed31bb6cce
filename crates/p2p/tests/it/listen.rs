//! A listen address whose port another socket holds is refused at start,
//! whether the holder is another node (libp2p listens with `SO_REUSEPORT`,
//! which would otherwise let both bind and split the incoming peers) or
//! any other program.

use std::sync::Arc;

use libp2p::identity;
use luminex_primitives::SystemClock;

use crate::net;

fn start_listening_on(port: u16) -> Result<(), String> {
    let mut cfg = net::config();
    cfg.listen = vec![format!("/ip4/127.0.0.1/tcp/{port}").parse().unwrap()];
    luminex_p2p::start(
        cfg,
        identity::Keypair::generate_ed25519(),
        Arc::new(net::GenesisOnly),
        Arc::new(SystemClock::new()),
    )
    .map(drop)
}

#[tokio::test]
async fn a_port_another_node_or_program_listens_on_is_refused() {
    let (_first, addr) = net::start(net::config()).await;
    let port = net::tcp_port(&addr);
    let e = start_listening_on(port).unwrap_err();
    assert!(
        e.contains("listening on") && e.contains(&port.to_string()),
        "{e}"
    );

    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = other.local_addr().unwrap().port();
    assert!(start_listening_on(port).is_err());
    // Free again: the node starts on it.
    drop(other);
    start_listening_on(port).unwrap();
}

/// Two nodes with one p2p key (a data directory copied whole) can never
/// connect; the one that dials says where the other one is instead of
/// failing silently.
#[tokio::test]
async fn a_node_with_this_nodes_own_key_is_reported_not_silent() {
    let key = identity::Keypair::generate_ed25519();
    let start_with = |cfg| {
        let (handle, _task) = luminex_p2p::start(
            cfg,
            key.clone(),
            Arc::new(net::GenesisOnly),
            Arc::new(SystemClock::new()),
        )
        .unwrap();
        handle
    };
    let first = start_with(net::config());
    let addr: libp2p::Multiaddr = net::wait_for(&first, "a listen address", 30, || {
        let h = first.clone();
        async move { h.info().listen_addrs.first().cloned() }
    })
    .await
    .parse()
    .unwrap();
    // The copy is told the original's address without its peer id, as an
    // operator would write it.
    let bare: libp2p::Multiaddr = addr
        .iter()
        .filter(|p| !matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
        .collect();
    let mut cfg = net::config();
    cfg.bootnodes = vec![bare];
    let copy = start_with(cfg);
    let clash = net::wait_for(&copy, "the clash reported", 60, || {
        let h = copy.clone();
        async move { h.info().identity_clashes.first().cloned() }
    })
    .await;
    assert!(clash.contains(&net::tcp_port(&addr).to_string()), "{clash}");
    assert!(copy.info().peers.is_empty());
}
