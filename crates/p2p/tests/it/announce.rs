//! Attack 2 of issue 19: compact block announcements with bounded cost.
//! Counts beyond what the block size limit allows are refused as they are
//! decoded; a peer gets a few announcements in progress at once; an
//! announcer that cannot give what it announced is banned.

use libp2p::request_response;
use libp2p::swarm::SwarmEvent;
use libp2p::Swarm;
use luminex_p2p::behaviour::{Behaviour, BehaviourEvent};
use luminex_p2p::compact::{self, CompactBlock};
use luminex_p2p::wire::{self, Request, Response, WireError};
use luminex_p2p::ChainAccess;
use luminex_primitives::{Block, Hash, Header, PowHeader};

use crate::net;

fn header(nonce: u32) -> Header {
    Block::new(
        PowHeader {
            version: 1,
            prev_hash: net::GENESIS,
            merkle_root: Hash([nonce as u8; 32]),
            time: 1,
            bits: 0,
            nonce,
        },
        vec![],
    )
    .header
}

/// An announcement of `n` transactions the node has never seen, with
/// distinct short ids (or all the same one).
fn announcement(nonce: u32, n: usize, distinct: bool) -> CompactBlock {
    CompactBlock {
        header: header(nonce),
        salt: 7,
        short_ids: (0..n)
            .map(|i| {
                let i = if distinct { i as u64 + 1 } else { 1 };
                let b = i.to_le_bytes();
                [b[0], b[1], b[2], b[3], b[4], b[5]]
            })
            .collect(),
        prefilled: vec![],
    }
}

#[test]
fn a_short_id_count_past_the_block_limit_is_refused_while_decoding() {
    let max_block = 4 << 20;
    let max_txs = compact::max_block_txs(max_block);
    assert_eq!(max_txs, max_block / compact::min_tx_bytes() + 1);
    // The announcement: 999,999 identical short ids, a few hundred
    // bytes once compressed.
    let frame = wire::to_frame(&announcement(1, 999_999, false));
    assert!(frame.len() < 1_000, "{} bytes", frame.len());
    assert!(matches!(
        CompactBlock::from_frame(&frame, 8 << 20, max_txs),
        Err(WireError::Decode(_))
    ));
    // At the limit it decodes.
    let full = announcement(1, max_txs, true);
    let frame = wire::to_frame(&full);
    assert_eq!(
        CompactBlock::from_frame(&frame, 8 << 20, max_txs).unwrap(),
        full
    );
    assert!(!full.has_duplicate_short_ids());
    assert!(announcement(1, 3, false).has_duplicate_short_ids());
}

/// What the attacker answers when the node asks it for an announced
/// block or its transactions.
#[derive(Clone, Copy, PartialEq)]
enum Answer {
    NotFound,
    Nothing,
}

/// Publishes `announcements` once the node subscribes, answers the node's
/// requests as told (holding the streams open when it answers nothing),
/// and returns how many requests for announced blocks and their
/// transactions came before the node dropped it.
async fn announce(
    node: libp2p::Multiaddr,
    announcements: Vec<CompactBlock>,
    answer: Answer,
) -> usize {
    let mut swarm: Swarm<Behaviour> = net::attacker();
    swarm.dial(node).unwrap();
    let frames: Vec<Vec<u8>> = announcements.iter().map(wire::to_frame).collect();
    let mut asked = 0;
    let mut held = Vec::new();
    net::publish_until_dropped(
        &mut swarm,
        &net::names().block_topic,
        &frames,
        "the node drops the announcer",
        90,
        |swarm, ev| {
            let SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            })) = ev
            else {
                return;
            };
            match request {
                luminex_p2p::behaviour::SyncRequest::Request(Request::Status) => {
                    let _ = swarm
                        .behaviour_mut()
                        .sync
                        .send_response(channel, Response::Status(net::GenesisOnly.status()));
                }
                luminex_p2p::behaviour::SyncRequest::Request(
                    Request::BlockTxs { .. } | Request::Blocks(_),
                ) => {
                    asked += 1;
                    if answer == Answer::NotFound {
                        let _ = swarm
                            .behaviour_mut()
                            .sync
                            .send_response(channel, Response::NotFound);
                    } else {
                        held.push(channel);
                    }
                }
                _ => {}
            }
        },
    )
    .await;
    asked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_announcement_bans_its_sender() {
    let (handle, addr) = net::start(net::config()).await;
    announce(
        addr,
        vec![announcement(1, 999_999, false)],
        Answer::NotFound,
    )
    .await;
    assert_eq!(handle.census().await.unwrap().banned, 1);
    net::wait_forgotten(&handle, 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announcements_that_are_not_backed_ban_their_sender() {
    let (handle, addr) = net::start(net::config()).await;
    // Duplicate short ids: the block is asked for whole; distinct ones:
    // its transactions. "Not found" to both.
    let asked = announce(
        addr,
        vec![announcement(1, 50, false), announcement(2, 50, true)],
        Answer::NotFound,
    )
    .await;
    assert_eq!(asked, 2, "one request per announcement");
    assert_eq!(handle.census().await.unwrap().banned, 1);
    net::wait_forgotten(&handle, 30).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_has_few_announcements_in_progress_and_stalling_them_bans_it() {
    let cfg = net::config();
    let max_txs = compact::max_block_txs(cfg.max_block_bytes);
    let (handle, addr) = net::start(cfg).await;
    // Forty announcements of the largest allowed block, none answered.
    let many = (0..40).map(|i| announcement(i, max_txs, true)).collect();
    let asked = announce(addr, many, Answer::Nothing).await;
    // Two in progress at once, asked for and left to time out: two strikes.
    assert_eq!(asked, 2, "only two announcements were taken up");
    // The event loop's own high-water mark: never more than two at once.
    assert_eq!(handle.info().announce.most_in_progress, 2);
    assert_eq!(handle.census().await.unwrap().banned, 1);
    net::wait_forgotten(&handle, 30).await;
}
