//! Headers from several peers at once, on real networks over loopback: a
//! peer that sits on its headers requests holds up nobody, and a follower
//! between two branches asks both and ends on the one with more work.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::request_response::{self, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::Multiaddr;
use luminex_p2p::behaviour::{BehaviourEvent, ChainNames, SyncRequest};
use luminex_p2p::wire::{Request, Response};
use luminex_p2p::{NetConfig, Role, Status};
use luminex_primitives::{Block, Hash, ManualClock, SystemClock};
use parking_lot::Mutex;
use tokio::sync::watch;

use crate::memchain::{branch, genesis, MemChain};
use crate::net::{self, CHAIN_ID};
use crate::sim::work;

/// Headers requests a staller holds unanswered.
type Held = Arc<Mutex<Vec<ResponseChannel<Response>>>>;

/// A peer on the chain of `genesis` that says it is at `height` and never
/// answers a headers request (it keeps each one open). Returns its
/// address, a count of the headers requests it got and the requests.
async fn staller(genesis: Hash, height: u64) -> (Multiaddr, watch::Receiver<usize>, Held) {
    let mut swarm = net::attacker_on(&ChainNames::new(CHAIN_ID, &genesis));
    swarm
        .listen_on("/ip4/127.0.0.1/tcp/0".parse().unwrap())
        .unwrap();
    let me = *swarm.local_peer_id();
    let addr = net::drive_until(&mut swarm, "a listen address", 30, |_, ev| match ev {
        SwarmEvent::NewListenAddr { address, .. } => {
            Some(address.with(libp2p::multiaddr::Protocol::P2p(me)))
        }
        _ => None,
    })
    .await;
    let (asked_tx, asked) = watch::channel(0);
    let held: Held = Arc::default();
    let keep = held.clone();
    tokio::spawn(async move {
        loop {
            let SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            })) = swarm.select_next_some().await
            else {
                continue;
            };
            let answer = match request {
                SyncRequest::Request(Request::Status) => Response::Status(Status {
                    chain_id: CHAIN_ID,
                    genesis,
                    height,
                    tip: Hash([0xee; 32]),
                    work: work(height),
                    role: Role::Full,
                }),
                SyncRequest::Request(Request::Headers { .. }) => {
                    keep.lock().push(channel);
                    asked_tx.send_modify(|n| *n += 1);
                    continue;
                }
                _ => Response::NotFound,
            };
            let _ = swarm.behaviour_mut().sync.send_response(channel, answer);
        }
    });
    (addr, asked, held)
}

/// The settings of a node of the chain starting with `genesis`.
fn config(genesis: Hash, bootnodes: Vec<Multiaddr>) -> NetConfig {
    NetConfig {
        genesis,
        bootnodes,
        ..net::config()
    }
}

/// A node serving `blocks` (genesis first); its address.
async fn serving(blocks: &[Block]) -> (Arc<MemChain>, luminex_p2p::Handle, Multiaddr) {
    let chain = MemChain::new(blocks, true);
    let (handle, addr) = net::start_on(
        config(blocks[0].hash(), vec![]),
        chain.clone(),
        Arc::new(SystemClock::new()),
    )
    .await;
    (chain, handle, addr)
}

/// Waits until `rx` holds a value `ok` accepts, or panics after `secs`.
async fn wait_watch<T>(
    rx: &mut watch::Receiver<T>,
    what: &str,
    secs: u64,
    ok: impl Fn(&T) -> bool,
) {
    tokio::time::timeout(Duration::from_secs(secs), rx.wait_for(|v| ok(v)))
        .await
        .unwrap_or_else(|_| panic!("{what}: not within {secs} s"))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_sitting_on_its_headers_request_holds_up_nobody() {
    const N: usize = 40;
    let g = genesis();
    let mut blocks = vec![g.clone()];
    blocks.extend(branch(g.hash(), N, 1));
    let (_, _honest, honest_addr) = serving(&blocks).await;
    // On the same chain and a block further, so it has the most work,
    // and it never answers headers.
    let (staller_addr, mut asked, held) = staller(g.hash(), N as u64 + 1).await;
    // From the staller's headers request on, the follower's clock stays
    // short of its own deadline on headers requests (5 s), so that
    // deadline never passes the staller over: only asking the other peer
    // at the same time gets the download past it. The clock is not frozen
    // either: a node asks a peer's status again only a second after the
    // last time (by this clock), and a status exchange lost while the
    // connections come up must be retried. So it moves 1.2 s every 3 s of
    // real time: until the staller is asked (nothing of it can time out
    // before), then three times at most (3.6 s). (Three steps from the
    // start would leave a machine still connecting after 9 s with a clock
    // that no longer moves.)
    let follower = MemChain::new(&blocks[..1], true);
    let clock = Arc::new(ManualClock::new(1_000_000));
    let (_f, _) = net::start_on(
        config(g.hash(), vec![staller_addr, honest_addr]),
        follower.clone(),
        clock.clone(),
    )
    .await;
    let was_asked = asked.clone();
    let stepping = tokio::spawn(async move {
        let mut after_the_ask = 0;
        while after_the_ask < 3 {
            tokio::time::sleep(Duration::from_secs(3)).await;
            if *was_asked.borrow() > 0 {
                after_the_ask += 1;
            }
            clock.advance(Duration::from_millis(1_200));
        }
    });
    wait_watch(&mut asked, "the staller asked for headers", 60, |n| *n > 0).await;
    let mut tip = follower.tip.subscribe();
    let top = (N as u64, blocks[N].hash());
    wait_watch(&mut tip, "the follower synced", 60, |t| *t == top).await;
    // It got there while the staller still sat on its request: nobody
    // waited for the request to time out (30 s).
    stepping.abort();
    let held = held.lock();
    assert_eq!(held.len(), 1, "the staller was asked once");
    assert!(held[0].is_open(), "its request was still open");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_between_two_branches_asks_both_and_ends_on_the_most_work() {
    let g = genesis();
    let shared = branch(g.hash(), 3, 1);
    let mut one = vec![g.clone()];
    one.extend(shared.iter().cloned());
    let mut two = one.clone();
    one.extend(branch(shared[2].hash(), 3, 11));
    two.extend(branch(shared[2].hash(), 6, 22));
    let (_, _a, a_addr) = serving(&one).await;
    let (_, _b, b_addr) = serving(&two).await;
    // The follower imports nothing until it has heard from both.
    let follower = MemChain::new(std::slice::from_ref(&g), false);
    let (f, _) = net::start_on(
        config(g.hash(), vec![a_addr, b_addr]),
        follower.clone(),
        Arc::new(SystemClock::new()),
    )
    .await;
    // Headers of both branches are in its header tree: 3 shared, 3 of the
    // first branch and 6 of the second.
    net::wait_for(&f, "headers from both peers", 60, || {
        let f = f.clone();
        async move { (f.census().await.unwrap().header_tree == 12).then_some(()) }
    })
    .await;
    follower.open_gate();
    let mut tip = follower.tip.subscribe();
    let top = (9, two[9].hash());
    wait_watch(&mut tip, "the follower on the second branch", 60, |t| {
        *t == top
    })
    .await;
    // Synced: the branch with less work is forgotten.
    net::wait_for(&f, "the header tree emptied", 60, || {
        let f = f.clone();
        async move { (f.census().await.unwrap().header_tree == 0).then_some(()) }
    })
    .await;
}

/// A follower syncing a long chain of tiny blocks from one peer as fast as
/// loopback allows stays within that peer's request limits: it is not
/// banned on the way (it once was, 200 block requests a second in, and
/// then stopped short of the tip for a day).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fast_sync_of_tiny_blocks_is_not_punished() {
    const N: usize = 3_000;
    let g = genesis();
    let mut blocks = vec![g.clone()];
    blocks.extend(branch(g.hash(), N, 1));
    let (_, server, server_addr) = serving(&blocks).await;
    let follower = MemChain::new(&blocks[..1], true);
    let (_f, _) = net::start_on(
        config(g.hash(), vec![server_addr]),
        follower.clone(),
        Arc::new(SystemClock::new()),
    )
    .await;
    let mut tip = follower.tip.subscribe();
    let top = (N as u64, blocks[N].hash());
    wait_watch(&mut tip, "the follower synced", 120, |t| *t == top).await;
    let info = server.info();
    assert!(info.banned.is_empty(), "banned: {:?}", info.banned);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_block_refused_for_now_is_downloaded_again() {
    const N: usize = 30;
    let g = genesis();
    let mut blocks = vec![g.clone()];
    blocks.extend(branch(g.hash(), N, 1));
    let (_, _server, addr) = serving(&blocks).await;
    // The follower's chain refuses block 10 once, as one dated too far
    // ahead of its clock (it becomes acceptable as the clock moves on):
    // the download must come back for it, not take it as handled.
    let follower = MemChain::new(&blocks[..1], true);
    follower.refuse_once(blocks[10].hash());
    let (_f, _) = net::start_on(
        config(g.hash(), vec![addr]),
        follower.clone(),
        Arc::new(SystemClock::new()),
    )
    .await;
    let mut tip = follower.tip.subscribe();
    let top = (N as u64, blocks[N].hash());
    wait_watch(
        &mut tip,
        "the follower synced past the refused block",
        120,
        |t| *t == top,
    )
    .await;
    assert_eq!(follower.refused(), 1);
}
