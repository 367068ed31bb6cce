//! Headers from several peers at once, without I/O: competing branches
//! side by side in the header tree, the download along the one with the
//! most work, and the per-peer state bounded however many peers feed it.

use std::collections::HashMap;

use luminex_p2p::sync::tree::MAX_TREE_HEADERS;
use luminex_p2p::sync::{Local, SyncConfig, Syncer};
use luminex_p2p::wire::{Request, Response, MAX_HEADERS};
use luminex_primitives::{Block, Hash};

use crate::memchain::branch;
use crate::sim::{work, ByHeight};

/// What an honest peer holding `blocks` (genesis first, its main chain)
/// answers.
fn serve(blocks: &[Block], req: &Request) -> Response {
    match req {
        Request::Headers { locator, max } => {
            let start = locator
                .iter()
                .find_map(|h| blocks.iter().position(|b| b.hash() == *h))
                .unwrap_or(0);
            Response::Headers(
                blocks[start + 1..]
                    .iter()
                    .take(*max as usize)
                    .map(|b| b.header)
                    .collect(),
            )
        }
        Request::Blocks(hashes) => Response::Blocks(
            hashes
                .iter()
                .filter_map(|h| blocks.iter().find(|b| b.hash() == *h).cloned())
                .collect(),
        ),
        _ => Response::NotFound,
    }
}

/// A follower's chain: the blocks it imported, by hash, with heights.
struct Follower {
    blocks: HashMap<Hash, (u64, Hash)>,
    tip: (Hash, u64),
}

impl Follower {
    fn new(genesis: Hash) -> Self {
        Follower {
            blocks: HashMap::from([(genesis, (0, Hash::ZERO))]),
            tip: (genesis, 0),
        }
    }

    fn local(&self) -> Local {
        Local {
            height: self.tip.1,
            work: work(self.tip.1),
            locator: vec![self.tip.0],
        }
    }

    /// Imports a block on a known parent; the tip follows the most work
    /// (the greater height: every block is a unit of work).
    fn import(&mut self, b: &Block) {
        let prev = b.header.prev_hash();
        let (height, _) = self.blocks[&prev];
        self.blocks.insert(b.hash(), (height + 1, prev));
        if height + 1 > self.tip.1 {
            self.tip = (b.hash(), height + 1);
        }
    }
}

#[test]
fn the_follower_ends_on_the_branch_with_the_most_work_with_headers_from_both() {
    let genesis = crate::memchain::genesis();
    let shared = branch(genesis.hash(), 3, 1);
    // Peer 1: 3 shared blocks and 3 of its own (height 6); peer 2: the
    // same 3 and 6 of its own (height 9), more work.
    let mut one = vec![genesis.clone()];
    one.extend(shared.iter().cloned());
    let mut two = one.clone();
    one.extend(branch(shared[2].hash(), 3, 11));
    two.extend(branch(shared[2].hash(), 6, 22));
    let peers = [one, two];
    let mut s: Syncer<u32> = Syncer::new(SyncConfig {
        blocks_per_request: 2,
        ..SyncConfig::default()
    });
    s.peer_status(1, 6, work(6));
    s.peer_status(2, 9, work(9));
    let mut f = Follower::new(genesis.hash());
    // Both are asked for headers at once; peer 1 answers first, so the
    // download starts along its branch, and then moves to peer 2's.
    let reqs = s.poll(&f.local());
    let mut pending: Vec<(u32, u64, Request)> = reqs;
    assert_eq!(
        pending
            .iter()
            .filter(|r| matches!(r.2, Request::Headers { .. }))
            .map(|r| r.0)
            .collect::<Vec<_>>(),
        [1, 2],
        "headers asked of both"
    );
    let mut headers_from = [0usize; 2];
    for _ in 0..1_000 {
        if pending.is_empty() {
            break;
        }
        // Peer 1's answers first, in order.
        pending.sort_by_key(|r| (r.0, r.1));
        let (p, t, req) = pending.remove(0);
        let known = |h: &Hash| f.blocks.get(h).map(|b| b.0);
        match serve(&peers[p as usize - 1], &req) {
            Response::Headers(h) => {
                headers_from[p as usize - 1] += h.len();
                s.on_headers(t, &h, &ByHeight(known)).unwrap();
            }
            Response::Blocks(b) => s.on_blocks(t, b).unwrap(),
            r => panic!("{r:?}"),
        }
        for (b, _) in s.take_ready() {
            f.import(&b);
        }
        pending.extend(s.poll(&f.local()));
    }
    assert_eq!(f.tip, (peers[1][9].hash(), 9), "on the most work");
    assert_eq!(headers_from, [6, 9], "headers from both");
    let progress = s.progress(&f.local());
    assert!(!progress.syncing, "{progress:?}");
    assert_eq!(progress.best_peer_height, 9);
    // Nothing is left to download, and the branch with less work is
    // forgotten once the chain has more.
    s.poll(&f.local());
    assert_eq!(s.tree_len(), 0);
}

#[test]
fn per_peer_state_and_the_header_tree_stay_bounded() {
    let genesis = crate::memchain::genesis();
    let local = Local {
        height: 0,
        work: work(0),
        locator: vec![genesis.hash()],
    };
    let known = |h: &Hash| (*h == genesis.hash()).then_some(0);
    let mut s: Syncer<u32> = Syncer::new(SyncConfig::default());
    // Waves of peers, each on a branch of its own claiming far more work
    // than it will ever show, answering every headers request in full.
    const WAVES: u32 = 4;
    const AT_ONCE: u32 = 12;
    let mut most_tree = 0;
    let mut most_requests = 0;
    for wave in 0..WAVES {
        let ids: Vec<u32> = (0..AT_ONCE).map(|i| wave * AT_ONCE + i).collect();
        let mut branches: HashMap<u32, Vec<Block>> = HashMap::new();
        for &p in &ids {
            s.peer_status(p, 1_000_000, work(1_000_000));
            let mut b = vec![genesis.clone()];
            b.extend(branch(genesis.hash(), 3 * MAX_HEADERS as usize, 1_000 + p));
            branches.insert(p, b);
        }
        for _round in 0..4 {
            let reqs = s.poll(&local);
            most_requests = most_requests.max(s.request_count());
            assert!(
                s.headers_requests().len() <= s.peer_count(),
                "one headers request per peer"
            );
            let cfg = SyncConfig::default();
            assert!(s.request_count() <= s.peer_count() * (1 + cfg.max_in_flight_per_peer));
            for (p, t, req) in reqs {
                if let Request::Headers { .. } = req {
                    let Response::Headers(h) = serve(&branches[&p], &req) else {
                        unreachable!()
                    };
                    assert_eq!(h.len(), MAX_HEADERS as usize);
                    s.on_headers(t, &h, &ByHeight(known)).unwrap();
                    most_tree = most_tree.max(s.tree_len());
                } else {
                    s.on_failure(t);
                }
            }
        }
        assert!(
            s.tree_len() > 0,
            "the branches are held while their peers are"
        );
        for p in ids {
            s.remove_peer(&p);
        }
        s.poll(&local);
        assert_eq!(s.tree_len(), 0, "their branches go with them");
        assert_eq!(s.peer_count(), 0);
        assert_eq!(s.request_count(), 0);
    }
    // Twelve peers at 6,000 headers each would be 72,000: the tree holds
    // no more than its bound.
    assert!(most_tree <= MAX_TREE_HEADERS, "{most_tree}");
    assert!(
        most_tree >= MAX_TREE_HEADERS / 2,
        "the test fills it: {most_tree}"
    );
    assert!(most_requests > 0);
}

#[test]
fn blocks_a_peer_sits_on_are_asked_of_the_others() {
    let genesis = crate::memchain::genesis();
    let mut blocks = vec![genesis.clone()];
    blocks.extend(branch(genesis.hash(), 8, 1));
    let known = |h: &Hash| (*h == genesis.hash()).then_some(0);
    let mut s: Syncer<u32> = Syncer::new(SyncConfig {
        blocks_per_request: 8,
        max_in_flight_per_peer: 1,
        ..SyncConfig::default()
    });
    let local = Local {
        height: 0,
        work: work(0),
        locator: vec![genesis.hash()],
    };
    s.peer_status(1, 8, work(8));
    s.peer_status(2, 8, work(8));
    for (p, t, req) in s.poll(&local) {
        let Response::Headers(h) = serve(&blocks, &req) else {
            panic!("{p}: {req:?}")
        };
        s.on_headers(t, &h, &ByHeight(known)).unwrap();
    }
    // All 8 blocks go to one peer in one request; it sits on it until
    // the request times out.
    let reqs = s.poll(&local);
    let [(p, t, Request::Blocks(_))] = reqs.as_slice() else {
        panic!("{reqs:?}")
    };
    s.on_blocks_stalled(*t);
    let again = s.poll(&local);
    let [(q, _, Request::Blocks(hashes))] = again.as_slice() else {
        panic!("{again:?}")
    };
    assert_ne!(q, p, "the other peer is asked");
    assert_eq!(hashes.len(), 8);
    // The staller is asked for nothing more until it claims more work.
    assert!(s.poll(&local).is_empty());
    s.peer_status(*p, 9, work(9));
    assert!(s.poll(&local).iter().any(|r| r.0 == *p));
}

#[test]
fn an_invalid_block_takes_its_branch_out_and_the_download_moves_on() {
    let genesis = crate::memchain::genesis();
    // Peer 1's branch has more work, but its third block is invalid;
    // peer 2's is shorter and sound.
    let mut bad = vec![genesis.clone()];
    bad.extend(branch(genesis.hash(), 6, 1));
    let mut good = vec![genesis.clone()];
    good.extend(branch(genesis.hash(), 4, 2));
    let invalid = bad[3].hash();
    let peers = [bad.clone(), good.clone()];
    let mut s: Syncer<u32> = Syncer::new(SyncConfig {
        blocks_per_request: 1,
        ..SyncConfig::default()
    });
    s.peer_status(1, 6, work(6));
    s.peer_status(2, 4, work(4));
    let mut f = Follower::new(genesis.hash());
    let mut pending = s.poll(&f.local());
    let mut refused = None;
    for _ in 0..1_000 {
        if pending.is_empty() {
            break;
        }
        pending.sort_by_key(|r| (r.0, r.1));
        let (p, t, req) = pending.remove(0);
        let known = |h: &Hash| f.blocks.get(h).map(|b| b.0);
        match serve(&peers[p as usize - 1], &req) {
            Response::Headers(h) => {
                if let Err(e) = s.on_headers(t, &h, &ByHeight(known)) {
                    refused = Some((p, e));
                }
            }
            Response::Blocks(b) => s.on_blocks(t, b).unwrap(),
            r => panic!("{r:?}"),
        }
        for (b, from) in s.take_ready() {
            if b.hash() == invalid {
                assert_eq!(from, 1);
                s.on_invalid(&invalid);
            } else if f.blocks.contains_key(&b.header.prev_hash()) {
                f.import(&b);
            }
        }
        pending.extend(s.poll(&f.local()));
    }
    assert_eq!(f.tip, (good[4].hash(), 4), "on the sound branch");
    assert!(!f.blocks.contains_key(&invalid));
    // Peer 1, asked again, sent its branch once more: refused at the
    // invalid block.
    assert_eq!(
        refused,
        Some((1, luminex_p2p::sync::Fault::InvalidChain)),
        "headers on the invalid block are refused"
    );
}

/// Work per header of the honest chain; a liar's cheap headers add 1.
const HONEST_WORK: u64 = 4;

/// A chain where a header's work shows in its nonce: the liars' branches
/// (nonce 1,000 and up) are cheap, the honest chain's headers dear.
struct Weighted<'a>(&'a HashMap<Hash, (u64, Hash)>);

impl luminex_p2p::sync::ChainView for Weighted<'_> {
    fn known(&self, hash: &Hash) -> Option<(u64, [u8; 32])> {
        self.0.get(hash).map(|b| (b.0, work(b.0 * HONEST_WORK)))
    }

    fn header_work(&self, h: &luminex_primitives::Header) -> Option<[u8; 32]> {
        let cheap = matches!(h, luminex_primitives::Header::Pow(p) if p.nonce >= 1_000);
        Some(work(if cheap { 1 } else { HONEST_WORK }))
    }
}

#[test]
fn peers_filling_the_header_tree_with_cheap_branches_do_not_stall_the_sync() {
    const HONEST: usize = 12_000;
    const LIARS: u32 = 6;
    let genesis = crate::memchain::genesis();
    let mut honest = vec![genesis.clone()];
    honest.extend(branch(genesis.hash(), HONEST, 7));
    let index: HashMap<Hash, usize> = honest
        .iter()
        .enumerate()
        .map(|(i, b)| (b.hash(), i))
        .collect();
    // Each liar has a branch of its own from genesis, longer than the
    // honest chain but with less work, claims far more work than either,
    // answers every headers request first and in full, and has no blocks.
    let liars: Vec<Vec<Block>> = (1..=LIARS)
        .map(|p| {
            let mut b = vec![genesis.clone()];
            b.extend(branch(genesis.hash(), 2 * HONEST, 1_000 + p));
            b
        })
        .collect();
    let liar_index: Vec<HashMap<Hash, usize>> = liars
        .iter()
        .map(|l| l.iter().enumerate().map(|(i, b)| (b.hash(), i)).collect())
        .collect();
    let mut s: Syncer<u32> = Syncer::new(SyncConfig::default());
    for p in 1..=LIARS {
        s.peer_status(p, 1_000_000, work(1_000_000_000));
    }
    let honest_id = LIARS + 1;
    s.peer_status(honest_id, HONEST as u64, work(HONEST as u64 * HONEST_WORK));
    let mut f = Follower::new(genesis.hash());
    let local = |f: &Follower| Local {
        height: f.tip.1,
        work: work(f.tip.1 * HONEST_WORK),
        locator: vec![f.tip.0],
    };
    let mut pending = s.poll(&local(&f));
    let mut most_tree = 0;
    let mut rounds = 0u64;
    while f.tip.1 < HONEST as u64 && !pending.is_empty() && rounds < 2_000 {
        rounds += 1;
        // Each round the liars' answers come first, and they claim more
        // work again (as a status a second would).
        pending.sort_by_key(|r| (r.0 == honest_id, r.1));
        for (p, t, req) in std::mem::take(&mut pending) {
            let (blocks, idx) = if p == honest_id {
                (&honest, &index)
            } else {
                (&liars[p as usize - 1], &liar_index[p as usize - 1])
            };
            let r = match req {
                Request::Headers { locator, max } => {
                    let start = locator
                        .iter()
                        .find_map(|h| idx.get(h))
                        .copied()
                        .unwrap_or(0);
                    let h: Vec<_> = blocks[start + 1..]
                        .iter()
                        .take(max as usize)
                        .map(|b| b.header)
                        .collect();
                    s.on_headers(t, &h, &Weighted(&f.blocks))
                }
                Request::Blocks(hashes) if p == honest_id => {
                    let b = hashes.iter().map(|h| honest[index[h]].clone()).collect();
                    s.on_blocks(t, b)
                }
                Request::Blocks(_) => {
                    s.on_not_found(t);
                    Ok(())
                }
                r => panic!("{r:?}"),
            };
            if p == honest_id {
                r.unwrap_or_else(|e| panic!("the honest peer was refused: {e}"));
            }
            most_tree = most_tree.max(s.tree_len());
            for (b, _) in s.take_ready() {
                f.import(&b);
            }
        }
        for p in 1..=LIARS {
            s.peer_status(p, 1_000_000 + rounds, work(1_000_000_000 + rounds));
        }
        pending = s.poll(&local(&f));
    }
    assert_eq!(
        f.tip,
        (honest[HONEST].hash(), HONEST as u64),
        "synced the honest chain ({rounds} rounds)"
    );
    assert!(most_tree <= MAX_TREE_HEADERS, "{most_tree}");
    assert!(
        most_tree > MAX_TREE_HEADERS - MAX_HEADERS as usize,
        "the liars filled the tree: {most_tree}"
    );
}
