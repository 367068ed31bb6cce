//! A peer that sends garbage is disconnected and banned, and the honest
//! node keeps its tip and mempool. The attacker is a libp2p swarm built in
//! the test from the project's own behaviour, so it speaks the protocols
//! correctly and lies only in the payloads.

use luminex_ledger::testkit::PowFields;
use std::time::Duration;

use futures_util::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{gossipsub, identity, noise, tcp, yamux, Multiaddr, Swarm};
use luminex_ledger::ChainSpec;
use luminex_p2p::behaviour::{Behaviour, BehaviourEvent, ChainNames, Limits, SyncCodec};
use luminex_p2p::compact::CompactBlock;
use luminex_p2p::wire;
use luminex_p2p::Role;
use luminex_primitives::{Block, PowHeader};

use crate::p2p::{broadcast, dev_transfers, TestNode};

const KEY: &str = "bad-peer-test-key";

fn attacker(names: &ChainNames) -> Swarm<Behaviour> {
    let limits = Limits {
        max_peers: 8,
        max_gossip: 4 << 20,
        codec: SyncCodec::new(4 << 20, 64 << 20),
    };
    let names = names.clone();
    libp2p::SwarmBuilder::with_existing_identity(identity::Keypair::generate_ed25519())
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|k| {
            Behaviour::new(k, &names, Role::Full, limits)
                .map_err(Box::<dyn std::error::Error + Send + Sync>::from)
        })
        .unwrap()
        .build()
}

/// What an attacker does once connected.
enum Attack {
    /// Publish these payloads on a topic once the node subscribes to it.
    Gossip(gossipsub::IdentTopic, Vec<Vec<u8>>),
    /// Send this many status requests at once, beyond the rate limit.
    Flood(usize),
}

/// Connects a fresh attacker, carries out `attack`, and returns once the
/// node has dropped it.
async fn attack(node_addr: &Multiaddr, names: &ChainNames, attack: Attack) -> Swarm<Behaviour> {
    let mut swarm = attacker(names);
    swarm.dial(node_addr.clone()).unwrap();
    let mut sent = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
            .await
            .expect("the node disconnects the attacker within 30 s");
        match (&attack, ev) {
            (
                Attack::Gossip(topic, payloads),
                SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Subscribed {
                    topic: t,
                    ..
                })),
            ) if t == topic.hash() && !sent => {
                sent = true;
                for p in payloads {
                    swarm
                        .behaviour_mut()
                        .gossip
                        .publish(topic.clone(), p.clone())
                        .unwrap();
                }
            }
            (Attack::Flood(n), SwarmEvent::ConnectionEstablished { peer_id, .. }) if !sent => {
                sent = true;
                for _ in 0..*n {
                    swarm
                        .behaviour_mut()
                        .sync
                        .send_request(&peer_id, wire::Request::Status.into());
                }
            }
            (
                _,
                SwarmEvent::ConnectionClosed {
                    num_established: 0, ..
                },
            ) if sent => return swarm,
            _ => {}
        }
    }
}

async fn banned(node: &TestNode) -> Vec<String> {
    let v = node.admin_get("/debug/peers", KEY).await;
    v["banned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_sending_garbage_is_banned_and_the_node_keeps_its_state() {
    let hash = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(KEY));
    let node = TestNode::start("dev", &["--no-produce", "--admin-key-hash", &hash]);
    let addr: Multiaddr = node.p2p_addr().await.parse().unwrap();
    let txs = dev_transfers();
    let txid = broadcast(node.port, &txs[0]).await;
    let tip = node.tip().await;

    let spec = ChainSpec::preset("dev").unwrap();
    let genesis = spec.genesis_block();
    let names = ChainNames::new(spec.chain_id, &genesis.hash());

    // Malformed: not a transaction.
    let malformed = vec![vec![0u8, 0xff, 0xff, 0x01]];
    // Oversized: a frame larger than the chain's largest transaction.
    let oversized = vec![{
        let mut f = vec![0u8];
        f.resize(spec.max_tx_bytes + 10, 7);
        f
    }];
    // Invalid transactions: well-formed, with broken signatures.
    let invalid_txs: Vec<Vec<u8>> = txs[1..3]
        .iter()
        .map(|t| {
            let mut t = t.clone();
            luminex_ledger::testkit::signature_bytes_mut(&mut t.witnesses[0])[5] ^= 0x55;
            wire::to_frame(&t)
        })
        .collect();
    // An invalid block: on genesis, well-formed, but without a coinbase.
    let mut block = Block::new(
        PowHeader {
            version: 1,
            prev_hash: genesis.hash(),
            merkle_root: Default::default(),
            time: genesis.header.pow().time + 1,
            bits: genesis.header.pow().bits,
            nonce: 0,
        },
        vec![],
    );
    block.header.pow_mut().merkle_root = block.compute_merkle_root();
    let invalid_block = vec![wire::to_frame(&CompactBlock::new(&block, 1))];

    let tx = || names.tx_topic.clone();
    for (what, how) in [
        ("malformed", Attack::Gossip(tx(), malformed)),
        ("oversized", Attack::Gossip(tx(), oversized)),
        ("invalid transactions", Attack::Gossip(tx(), invalid_txs)),
        (
            "invalid block",
            Attack::Gossip(names.block_topic.clone(), invalid_block),
        ),
        ("request flood", Attack::Flood(400)),
    ] {
        let mut swarm = attack(&addr, &names, how).await;
        let peer = *swarm.local_peer_id();
        assert!(
            banned(&node).await.contains(&peer.to_string()),
            "{what}: the attacker is banned"
        );
        // The banned identity cannot come back: its next connection is
        // refused as soon as the node learns who it is.
        swarm.dial(addr.clone()).unwrap();
        let refused = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match swarm.select_next_some().await {
                    SwarmEvent::ConnectionClosed { .. }
                    | SwarmEvent::OutgoingConnectionError { .. } => return,
                    _ => {}
                }
            }
        })
        .await;
        assert!(refused.is_ok(), "{what}: a banned peer is refused");
    }
    assert_eq!(node.tip().await, tip, "tip unchanged");
    assert!(
        node.mempool_has(&txid).await,
        "mempool kept the honest transaction"
    );
    crate::p2p::wait_until("the attackers gone", 10, || async {
        node.peers().await == 0
    })
    .await;
}
