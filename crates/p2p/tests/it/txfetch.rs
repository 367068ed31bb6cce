//! Transactions announced by txid and fetched once (ADR 0047), three real
//! networks on loopback in a line A — B — C: what A's clients give it
//! reaches B from A and C from B (fetched once per node: at most once
//! beside a batch that arrived directly); a peer that answers with a
//! transaction nobody asked for is banned; what an announcer does not give
//! is asked of another peer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::gossipsub;
use libp2p::request_response;
use libp2p::swarm::SwarmEvent;
use luminex_p2p::behaviour::BehaviourEvent;
use luminex_p2p::wire::{self, Response};
use luminex_p2p::{ChainAccess, NetConfig, Verdict};
use luminex_primitives::{Block, Encode, Hash, SystemClock, Transaction};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::net;

/// A chain whose mempool takes any transaction and counts every offer.
#[derive(Default)]
struct Pool {
    txs: Mutex<HashMap<Hash, Transaction>>,
    /// Offers per txid (a transaction offered twice was fetched twice).
    offers: Mutex<HashMap<Hash, usize>>,
    /// How many transactions the mempool holds, watched by the test.
    held: watch::Sender<usize>,
}

impl Pool {
    fn add(&self, tx: Transaction) {
        let held = {
            let mut txs = self.txs.lock();
            txs.insert(tx.txid(), tx);
            txs.len()
        };
        // Told with the lock released: a waiter looks at `txs` while it
        // holds the watch's lock (see `holds`).
        self.held.send_replace(held);
    }
}

impl ChainAccess for Pool {
    type Prepared = Arc<Block>;
    crate::net::genesis_only_tip!();
    crate::net::genesis_only_blocks!();
    fn submit_tx(&self, tx: Transaction) -> Verdict {
        let id = tx.txid();
        *self.offers.lock().entry(id).or_insert(0) += 1;
        if self.txs.lock().contains_key(&id) {
            return Verdict::Ignore;
        }
        self.add(tx);
        Verdict::Accept
    }
    fn has_tx(&self, txid: &Hash) -> bool {
        self.txs.lock().contains_key(txid)
    }
    fn mempool_tx_encoded(&self, txid: &Hash) -> Option<Vec<u8>> {
        self.txs.lock().get(txid).map(|t| t.encode())
    }
}

/// A transaction of about 5 kB (an ML-DSA transfer's size), told apart by
/// `n`.
fn tx(n: u64) -> Transaction {
    net::coinbase_tx(n, 5_000)
}

/// A node over a pool of its own, dialling `boot`, with at most
/// `max_peers` connections.
async fn node(
    boot: Option<libp2p::Multiaddr>,
    max_peers: u32,
) -> (luminex_p2p::Handle, libp2p::Multiaddr, Arc<Pool>) {
    let pool = Arc::new(Pool::default());
    let cfg = NetConfig {
        bootnodes: boot.into_iter().collect(),
        max_peers,
        ..net::config()
    };
    let (h, addr) = net::start_on(cfg, pool.clone(), Arc::new(SystemClock::new())).await;
    (h, addr, pool)
}

/// Waits until `pool` holds every transaction of `txids`.
async fn holds(pool: &Pool, txids: &[Hash], what: &str) {
    let mut held = pool.held.subscribe();
    let all = || {
        let txs = pool.txs.lock();
        txids.iter().filter(|t| txs.contains_key(t)).count()
    };
    tokio::time::timeout(
        Duration::from_secs(120),
        held.wait_for(|_| all() == txids.len()),
    )
    .await
    .unwrap_or_else(|_| panic!("{what}: {} of {} within 120 s", all(), txids.len()))
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announced_transactions_reach_every_node_through_a_relay_fetched_once() {
    // C may also find A through B's DHT and connect to it: then a
    // transaction can reach C whole from A while C, having just heard of
    // it from B, fetches it from B — at most one fetch beside the batch.
    let (a, a_addr, pool_a) = node(None, 50).await;
    let (_b, b_addr, pool_b) = node(Some(a_addr), 50).await;
    let (_c, _, pool_c) = node(Some(b_addr), 50).await;
    // Gossip meshes form on heartbeats: A announces one transaction after
    // another until C has one (each announcement a new message).
    let mut probe = 1_000;
    loop {
        let t = tx(probe);
        pool_a.add(t.clone());
        a.publish_tx(&t);
        let mut held = pool_c.held.subscribe();
        if tokio::time::timeout(Duration::from_secs(2), held.wait_for(|h| *h >= 1))
            .await
            .is_ok()
        {
            break;
        }
        probe += 1;
        assert!(probe < 1_060, "no announcement reached C in two minutes");
    }
    // 200 transactions of ~5 kB, given to A as clients would give them
    // (the probes sent before the meshes formed may not all have arrived).
    let mut txids = Vec::new();
    for n in 0..200 {
        let t = tx(n);
        txids.push(t.txid());
        pool_a.add(t.clone());
        a.publish_tx(&t);
    }
    holds(&pool_b, &txids, "B has A's transactions").await;
    holds(&pool_c, &txids, "C has them through B").await;
    for (name, pool) in [("B", &pool_b), ("C", &pool_c)] {
        let offers = pool.offers.lock();
        let more: Vec<_> = offers.values().filter(|n| **n > 2).collect();
        assert!(
            more.is_empty(),
            "{name} was offered {} transactions more than twice",
            more.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_answering_with_transactions_not_asked_for_is_banned() {
    let (handle, addr, pool) = node(None, 50).await;
    let mut swarm = net::attacker();
    swarm.dial(addr).unwrap();
    let topic = net::names().tx_topic;
    let announced = tx(1);
    let frame = wire::tx_announce_frame(&[announced.txid()]);
    let mut sent = false;
    net::drive_until(
        &mut swarm,
        "the node drops the peer that answered with other transactions",
        90,
        |swarm, ev| {
            match ev {
                SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Subscribed {
                    topic: t,
                    ..
                })) if t == topic.hash() && !sent => {
                    sent = true;
                    swarm
                        .behaviour_mut()
                        .gossip
                        .publish(topic.clone(), frame.clone())
                        .expect("published to the subscribed node");
                }
                SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                    message: request_response::Message::Request { channel, .. },
                    ..
                })) => {
                    // Asked for the announced one; answers with another.
                    let _ = swarm
                        .behaviour_mut()
                        .sync
                        .send_response(channel, Response::Txs(vec![tx(2)]));
                }
                SwarmEvent::ConnectionClosed {
                    num_established: 0, ..
                } => return Some(()),
                _ => {}
            }
            None
        },
    )
    .await;
    assert_eq!(handle.census().await.unwrap().banned, 1);
    assert_eq!(*pool.held.borrow(), 0, "nothing taken");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_an_announcer_does_not_give_are_asked_of_another_peer() {
    // H holds X in its mempool and announces nothing; N is connected to H.
    let (_h, h_addr, pool_h) = node(None, 50).await;
    let x = tx(7);
    pool_h.add(x.clone());
    let (n, n_addr, pool_n) = node(Some(h_addr), 50).await;
    net::wait_for(&n, "N connected to H", 120, || {
        let n = n.clone();
        async move { (n.census().await.ok()?.connections >= 1).then_some(()) }
    })
    .await;
    // M announces X to N first and, asked for it, has none of it.
    let mut m = net::attacker();
    m.dial(n_addr).unwrap();
    let topic = net::names().tx_topic;
    let frame = wire::tx_announce_frame(&[x.txid()]);
    let mut held = pool_n.held.subscribe();
    let (mut sent, mut asked) = (false, false);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while !pool_n.has_tx(&x.txid()) {
        tokio::select! {
            ev = m.select_next_some() => match ev {
                SwarmEvent::Behaviour(BehaviourEvent::Gossip(gossipsub::Event::Subscribed {
                    topic: t,
                    ..
                })) if t == topic.hash() && !sent => {
                    sent = true;
                    m.behaviour_mut()
                        .gossip
                        .publish(topic.clone(), frame.clone())
                        .expect("published to the subscribed node");
                }
                SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                    message: request_response::Message::Request { channel, .. },
                    ..
                })) => {
                    asked = true;
                    let _ = m.behaviour_mut().sync.send_response(channel, Response::NotFound);
                }
                _ => {}
            },
            _ = held.changed() => {}
            _ = tokio::time::sleep_until(deadline) => {
                panic!("N has X within 120 s (M announced it: {sent}, was asked: {asked})")
            }
        }
    }
    assert!(asked, "N asked the announcer first");
    assert_eq!(*pool_n.offers.lock().get(&x.txid()).unwrap(), 1);
}
