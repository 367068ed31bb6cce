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
