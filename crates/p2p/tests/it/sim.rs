//! A seeded simulation of header-first sync: a node with only genesis
//! downloads a chain from several peers over a network that delays,
//! reorders and drops answers, with one peer that lies. The same seed
//! replays the same run exactly.

use luminex_ledger::testkit::PowFields;
use std::collections::HashMap;

use luminex_p2p::sync::{ChainView, Fault, Local, SyncConfig, Syncer};
use luminex_p2p::wire::{Request, Response};
use luminex_primitives::{Block, Hash, Header, PowHeader};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub fn chain(n: usize, salt: u32) -> Vec<Block> {
    let mut out = Vec::with_capacity(n + 1);
    let mut prev = Hash::ZERO;
    for i in 0..=n {
        let header = PowHeader {
            version: 1,
            prev_hash: prev,
            merkle_root: Hash::ZERO,
            time: i as u32,
            bits: 0,
            nonce: if i == 0 { 0 } else { salt },
        };
        prev = header.hash();
        out.push(Block::new(header, vec![]));
    }
    out
}

pub fn work(h: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&h.to_be_bytes());
    w
}

/// The chain as the syncer reads it, from a function giving the height of
/// a block it has: every header adds a unit of work, so a block's height
/// is its branch's work.
pub struct ByHeight<F>(pub F);

impl<F: Fn(&Hash) -> Option<u64>> ChainView for ByHeight<F> {
    fn known(&self, hash: &Hash) -> Option<(u64, [u8; 32])> {
        (self.0)(hash).map(|h| (h, work(h)))
    }

    fn header_work(&self, _: &Header) -> Option<[u8; 32]> {
        Some(work(1))
    }
}

/// What a peer answers; peer 3 serves blocks of another chain.
fn answer(chain: &[Block], fake: &[Block], peer: u32, req: &Request) -> Response {
    let src = if peer == 3 { fake } else { chain };
    match req {
        Request::Headers { locator, max } => {
            let start = locator
                .iter()
                .find_map(|h| chain.iter().position(|b| b.hash() == *h))
                .unwrap_or(0);
            Response::Headers(
                chain[start + 1..]
                    .iter()
                    .take(*max as usize)
                    .map(|b| b.header)
                    .collect(),
            )
        }
        Request::Blocks(hashes) => Response::Blocks(
            hashes
                .iter()
                .filter_map(|h| {
                    let i = chain.iter().position(|b| b.hash() == *h)?;
                    Some(src[i].clone())
                })
                .collect(),
        ),
        _ => Response::NotFound,
    }
}

/// Runs one simulation; returns the trace of (step, event) strings.
fn run(seed: u64, n: usize) -> (Vec<String>, Vec<Hash>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let blocks = chain(n, 1);
    let fake = chain(n, 2);
    let index: HashMap<Hash, u64> = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (b.hash(), i as u64))
        .collect();
    let mut s: Syncer<u32> = Syncer::new(SyncConfig {
        blocks_per_request: 8,
        max_in_flight_per_peer: 2,
        window: 64,
        ..SyncConfig::default()
    });
    for p in 0..4u32 {
        s.peer_status(p, n as u64, work(n as u64));
    }
    let mut committed: Vec<Hash> = vec![blocks[0].hash()];
    let mut have: HashMap<Hash, u64> = HashMap::from([(blocks[0].hash(), 0)]);
    let mut in_flight: Vec<(u64, u32, Request)> = Vec::new();
    let mut trace = Vec::new();
    let mut banned = [false; 4];
    for step in 0..20_000 {
        let height = committed.len() as u64 - 1;
        if height == n as u64 {
            break;
        }
        let local = Local {
            height,
            work: work(height),
            locator: vec![*committed.last().unwrap()],
        };
        for (p, t, r) in s.poll(&local) {
            trace.push(format!("{step} req {p} {t}"));
            in_flight.push((t, p, r));
        }
        if in_flight.is_empty() {
            continue;
        }
        // Deliver one answer at random (reordering), sometimes lose it.
        let i = rng.gen_range(0..in_flight.len());
        let (t, p, req) = in_flight.swap_remove(i);
        if rng.gen_bool(0.05) {
            trace.push(format!("{step} lost {t}"));
            s.on_failure(t);
            continue;
        }
        let result = match answer(&blocks, &fake, p, &req) {
            Response::Headers(h) => s.on_headers(t, &h, &ByHeight(|x: &Hash| have.get(x).copied())),
            Response::Blocks(b) => s.on_blocks(t, b),
            _ => Ok(()),
        };
        if let Err(Fault::Unsolicited) = result {
            // An answer to a request already given up on: ignored.
        } else if let Err(f) = result {
            assert_eq!(f, Fault::Unrequested, "only the liar is at fault");
            assert_eq!(p, 3);
            trace.push(format!("{step} ban {p}"));
            banned[p as usize] = true;
            s.remove_peer(&p);
            in_flight.retain(|r| r.1 != p);
        }
        for (b, from) in s.take_ready() {
            let h = b.hash();
            assert_eq!(
                b.header.pow().prev_hash,
                *committed.last().unwrap(),
                "in order"
            );
            assert!(!banned[from as usize] || from != 3);
            have.insert(h, index[&h]);
            committed.push(h);
        }
        trace.push(format!("{step} height {}", committed.len() - 1));
    }
    (trace, committed)
}

#[test]
fn sync_downloads_in_order_despite_loss_reordering_and_a_liar() {
    for seed in 0..8 {
        let (_, committed) = run(seed, 500);
        assert_eq!(committed.len(), 501, "seed {seed}: reached the tip");
        assert_eq!(
            committed,
            chain(500, 1).iter().map(|b| b.hash()).collect::<Vec<_>>()
        );
    }
}

#[test]
fn simulation_replays_exactly() {
    let (a, _) = run(42, 300);
    let (b, _) = run(42, 300);
    assert_eq!(a, b);
    let (c, _) = run(43, 300);
    assert_ne!(a, c, "another seed takes another path");
}

#[test]
fn headers_that_do_not_connect_are_a_fault() {
    let mut s: Syncer<u32> = Syncer::new(SyncConfig::default());
    s.peer_status(1, 10, work(10));
    let local = Local {
        height: 0,
        work: work(0),
        locator: vec![Hash([1; 32])],
    };
    let reqs = s.poll(&local);
    let (_, t, _) = reqs.into_iter().next().expect("asks for headers");
    let other = chain(5, 9);
    let r = s.on_headers(
        t,
        &other[2..].iter().map(|b| b.header).collect::<Vec<_>>(),
        &ByHeight(|_: &Hash| None),
    );
    assert_eq!(r, Err(Fault::Disconnected));
    assert_eq!(s.on_blocks(77, vec![]), Err(Fault::Unsolicited));
}

/// A chain of `n` blocks of `size` bytes each (padding in a transaction:
/// the syncer only moves blocks, it does not validate them).
fn heavy_chain(n: usize, size: usize) -> Vec<Block> {
    let mut blocks = chain(n, 1);
    let mut prev = Hash::ZERO;
    for b in blocks.iter_mut() {
        b.header.pow_mut().prev_hash = prev;
        b.txs = vec![luminex_primitives::Transaction {
            version: 2,
            chain_id: 1,
            kind: luminex_primitives::TxKind::Transfer,
            inputs: vec![],
            outputs: vec![],
            expiry_height: 0,
            witnesses: vec![],
            data: vec![0; size],
        }];
        prev = b.hash();
    }
    blocks
}

/// Syncs `blocks` while the chain imports one block every `slow` steps;
/// returns the most bytes ever held (downloaded and not imported, plus in
/// flight) and whether the tip was reached.
fn held_while_importing_slowly(blocks: &[Block], cfg: SyncConfig, slow: usize) -> (usize, bool) {
    use luminex_primitives::Encode;
    let n = blocks.len() - 1;
    let size = |h: &Hash| {
        blocks
            .iter()
            .find(|b| b.hash() == *h)
            .unwrap()
            .encoded_len()
    };
    let mut s: Syncer<u32> = Syncer::new(cfg);
    for p in 0..4u32 {
        s.peer_status(p, n as u64, work(n as u64));
    }
    let mut height = 0u64;
    let mut import_queue: std::collections::VecDeque<Block> = Default::default();
    let mut in_flight: Vec<(u64, u32, Request)> = Vec::new();
    let mut peak = 0;
    for step in 0..100_000 {
        if height == n as u64 {
            return (peak, true);
        }
        let local = Local {
            height,
            work: work(height),
            locator: vec![blocks[height as usize].hash()],
        };
        in_flight.extend(s.poll(&local).into_iter().map(|(p, t, r)| (t, p, r)));
        // Everything asked for is answered at once: the network is fast.
        for (t, p, req) in std::mem::take(&mut in_flight) {
            match answer(blocks, blocks, p, &req) {
                Response::Headers(h) => {
                    // The local chain knows the blocks it imported.
                    let known = |x: &Hash| {
                        blocks[..=height as usize]
                            .iter()
                            .position(|b| b.hash() == *x)
                            .map(|i| i as u64)
                    };
                    s.on_headers(t, &h, &ByHeight(known)).unwrap();
                }
                Response::Blocks(b) => s.on_blocks(t, b).unwrap(),
                _ => {}
            }
        }
        import_queue.extend(s.take_ready().into_iter().map(|(b, _)| b));
        let queued: usize = import_queue.iter().map(|b| b.encoded_len()).sum();
        let requested: usize = in_flight
            .iter()
            .map(|(_, _, r)| match r {
                Request::Blocks(h) => h.iter().map(size).sum(),
                _ => 0,
            })
            .sum();
        assert!(
            s.buffered_bytes() >= queued,
            "the syncer counts what it handed out"
        );
        peak = peak.max(s.buffered_bytes() + requested);
        // The chain is slow.
        if step % slow == 0 && import_queue.pop_front().is_some() {
            height += 1;
        }
    }
    (peak, false)
}

#[test]
fn the_download_holds_at_most_its_byte_budget() {
    const SIZE: usize = 10_000;
    let blocks = heavy_chain(300, SIZE);
    let budget = 100_000;
    let cfg = SyncConfig {
        blocks_per_request: 4,
        max_in_flight_per_peer: 4,
        window: 1_024,
        max_buffered_bytes: budget,
        first_block_estimate: 50_000,
    };
    let (peak, done) = held_while_importing_slowly(&blocks, cfg, 3);
    assert!(done, "reached the tip");
    assert!(peak <= budget, "held {peak} bytes, budget {budget}");
    // Without the budget the same run holds far more: the test can fail.
    let unbounded = SyncConfig {
        max_buffered_bytes: usize::MAX,
        ..cfg
    };
    let (peak, done) = held_while_importing_slowly(&blocks, unbounded, 3);
    assert!(done);
    assert!(peak > 5 * budget, "held only {peak} bytes without a budget");
    // A block larger than the whole budget is still fetched, one at a time.
    let (_, done) = held_while_importing_slowly(
        &heavy_chain(20, 3 * budget),
        SyncConfig {
            first_block_estimate: 3 * budget,
            ..cfg
        },
        2,
    );
    assert!(done, "progress with blocks larger than the budget");
}

/// A syncer with `cfg` at genesis of `blocks`, whose one peer (1) has sent
/// the headers of all of them; the local chain it polls with.
fn syncer_with_headers(blocks: &[Block], cfg: SyncConfig) -> (Syncer<u32>, Local) {
    let n = blocks.len() as u64 - 1;
    let mut s: Syncer<u32> = Syncer::new(cfg);
    s.peer_status(1, n, work(n));
    let local = Local {
        height: 0,
        work: work(0),
        locator: vec![blocks[0].hash()],
    };
    let (_, t, _) = s.poll(&local).pop().expect("headers");
    let headers: Vec<Header> = blocks[1..].iter().map(|b| b.header).collect();
    s.on_headers(
        t,
        &headers,
        &ByHeight(|h: &Hash| (*h == blocks[0].hash()).then_some(0)),
    )
    .unwrap();
    (s, local)
}

#[test]
fn a_short_answer_is_not_taken_for_missing_blocks() {
    let blocks = chain(8, 1);
    let (mut s, local) = syncer_with_headers(
        &blocks,
        SyncConfig {
            blocks_per_request: 4,
            max_in_flight_per_peer: 1,
            ..SyncConfig::default()
        },
    );
    let reqs = s.poll(&local);
    let (_, t, Request::Blocks(asked)) = &reqs[0] else {
        panic!("asks for blocks: {reqs:?}")
    };
    assert_eq!(asked.len(), 4);
    // The responder's size budget cut its answer after two blocks.
    s.on_blocks(*t, blocks[1..3].to_vec()).unwrap();
    assert_eq!(s.take_ready().len(), 2);
    let local = Local {
        height: 2,
        work: work(2),
        locator: vec![blocks[2].hash()],
    };
    let again = s.poll(&local);
    let Some((1, t, Request::Blocks(rest))) = again.first() else {
        panic!("the same peer is asked for the rest: {again:?}")
    };
    assert_eq!(rest[0], blocks[3].hash());
    // An empty answer does mean it lacks them: it is not asked again.
    s.on_blocks(*t, vec![]).unwrap();
    assert!(s.poll(&local).is_empty(), "no peer left that has them");
}

/// Once blocks are known to be small, they are asked for many to a
/// request (up to the protocol's cap), not a few: a chain of tiny blocks
/// would otherwise take more requests a second than a peer answers. A peer
/// paused after a `RateLimited` answer is asked nothing until resumed.
#[test]
fn small_blocks_go_in_large_requests_and_a_paused_peer_waits() {
    let blocks = chain(600, 1);
    let (mut s, local) = syncer_with_headers(
        &blocks,
        SyncConfig {
            max_in_flight_per_peer: 1,
            ..SyncConfig::default()
        },
    );
    // Nothing is known of their size yet: the configured few.
    let reqs = s.poll(&local);
    let Some((1, t, Request::Blocks(asked))) = reqs.first() else {
        panic!("asks for blocks: {reqs:?}")
    };
    assert_eq!(asked.len(), SyncConfig::default().blocks_per_request);
    s.on_blocks(*t, blocks[1..=asked.len()].to_vec()).unwrap();
    let n = s.take_ready().len();
    let local = Local {
        height: n as u64,
        work: work(n as u64),
        locator: vec![blocks[n].hash()],
    };
    // Paused: nothing.
    s.pause(&1);
    assert!(s.poll(&local).is_empty());
    s.resume();
    let reqs = s.poll(&local);
    let Some((1, _, Request::Blocks(asked))) = reqs.first() else {
        panic!("asks for blocks again: {reqs:?}")
    };
    assert_eq!(
        asked.len(),
        luminex_p2p::wire::MAX_BLOCKS_PER_REQUEST as usize
    );
}

/// The request for headers among `reqs`: its peer and token.
fn headers_request(reqs: &[(u32, u64, Request)]) -> Option<(u32, u64)> {
    reqs.iter()
        .find(|r| matches!(r.2, Request::Headers { .. }))
        .map(|r| (r.0, r.1))
}

#[test]
fn a_claim_is_believed_only_as_far_as_headers_back_it() {
    let blocks = chain(10, 1);
    let genesis = blocks[0].hash();
    let known = ByHeight(|h: &Hash| (*h == genesis).then_some(0));
    let mut s: Syncer<u32> = Syncer::new(SyncConfig::default());
    let local = Local {
        height: 0,
        work: work(0),
        locator: vec![genesis],
    };
    // Peer 1 claims far more than it has; peer 2 is at 10.
    s.peer_status(1, 1_000_000, work(1_000_000));
    s.peer_status(2, 10, work(10));
    assert_eq!(s.progress(&local).best_peer_height, 0, "nothing backed yet");
    // Both claim more than the chain has: both are asked at once.
    let reqs = s.poll(&local);
    let asked = headers_requests(&reqs);
    assert_eq!(asked.iter().map(|a| a.0).collect::<Vec<_>>(), [1, 2]);
    // Peer 1 answers nothing: its claim is disproved (a fault to charge
    // it with) and counts for nothing.
    assert_eq!(s.on_headers(asked[0].1, &[], &known), Err(Fault::Unbacked));
    assert_eq!(s.progress(&local).best_peer_height, 0);
    // Peer 2's headers back its height.
    let headers: Vec<Header> = blocks[1..].iter().map(|b| b.header).collect();
    assert_eq!(s.on_headers(asked[1].1, &headers, &known), Ok(()));
    let reqs = s.poll(&local);
    let progress = s.progress(&local);
    assert_eq!(progress.best_peer_height, 10);
    assert_eq!(progress.target_height, 10);
    assert!(headers_request(&reqs).is_none(), "{reqs:?}");
    assert!(reqs.iter().all(|r| r.0 == 2), "blocks only from peer 2");
    // Repeating the disproved claim changes nothing: peer 1 is not asked
    // for headers again, nor for blocks it never showed.
    s.peer_status(1, 1_000_000, work(1_000_000));
    let reqs = s.poll(&local);
    assert!(headers_request(&reqs).is_none());
    assert!(reqs.iter().all(|r| r.0 == 2), "blocks only from peer 2");
    assert_eq!(s.progress(&local).best_peer_height, 10);
    // A larger claim is tried once more.
    s.peer_status(1, 2_000_000, work(2_000_000));
    let local = Local {
        height: 10,
        work: work(10),
        locator: vec![blocks[10].hash(), genesis],
    };
    assert_eq!(headers_request(&s.poll(&local)).map(|r| r.0), Some(1));
}

/// The requests for headers among `reqs`: peer and token of each.
fn headers_requests(reqs: &[(u32, u64, Request)]) -> Vec<(u32, u64)> {
    reqs.iter()
        .filter(|r| matches!(r.2, Request::Headers { .. }))
        .map(|r| (r.0, r.1))
        .collect()
}

#[test]
fn a_peer_sitting_on_a_headers_request_holds_up_nobody() {
    let blocks = chain(5, 1);
    let genesis = blocks[0].hash();
    let known = ByHeight(|h: &Hash| (*h == genesis).then_some(0));
    let mut s: Syncer<u32> = Syncer::new(SyncConfig::default());
    let local = Local {
        height: 0,
        work: work(0),
        locator: vec![genesis],
    };
    s.peer_status(1, 1_000, work(1_000));
    s.peer_status(2, 5, work(5));
    let asked = headers_requests(&s.poll(&local));
    assert_eq!(asked.iter().map(|a| a.0).collect::<Vec<_>>(), [1, 2]);
    assert!(s.poll(&local).is_empty(), "one headers request per peer");
    // Peer 2 answers while peer 1 sits on its request: blocks are asked
    // of peer 2 at once.
    let headers: Vec<Header> = blocks[1..].iter().map(|b| b.header).collect();
    s.on_headers(asked[1].1, &headers, &known).unwrap();
    let reqs = s.poll(&local);
    assert!(
        !reqs.is_empty()
            && reqs
                .iter()
                .all(|r| r.0 == 2 && matches!(r.2, Request::Blocks(_)))
    );
    // Peer 1's deadline passes: its claim is passed over, it is not asked
    // again for it.
    assert!(s.on_stalled(asked[0].1));
    assert!(headers_requests(&s.poll(&local)).is_empty());
    // A block request's deadline is not a headers stall.
    assert!(!s.on_stalled(reqs[0].1));
}
