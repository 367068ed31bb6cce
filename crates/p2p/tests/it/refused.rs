//! Headers through a block the operator invalidated: the download does
//! not follow them (nor holds the peer that showed them at fault), follows
//! the best branch it may take instead, and after a restart — the
//! operator reconsidered — follows them again.

use std::collections::HashSet;

use luminex_p2p::sync::{ChainView, Local, SyncConfig, Syncer};
use luminex_p2p::wire::Request;
use luminex_primitives::{Block, Hash, Header};

use crate::memchain::branch;
use crate::sim::work;

/// A chain of genesis only, refusing the blocks in `refused`.
struct View {
    refused: HashSet<Hash>,
}

impl ChainView for View {
    fn known(&self, hash: &Hash) -> Option<(u64, [u8; 32])> {
        (*hash == crate::memchain::genesis().hash()).then(|| (0, work(0)))
    }
    fn header_work(&self, _: &Header) -> Option<[u8; 32]> {
        Some(work(4))
    }
    fn refused(&self, hash: &Hash) -> bool {
        self.refused.contains(hash)
    }
}

/// Answers every headers request from `blocks_of(peer)`; returns the
/// block requests, by peer.
fn round(
    s: &mut Syncer<u32>,
    local: &Local,
    view: &View,
    blocks_of: &dyn Fn(u32) -> Vec<Block>,
) -> Vec<(u32, Vec<Hash>)> {
    let mut wanted = Vec::new();
    for (p, t, req) in s.poll(local) {
        match &req {
            Request::Headers { locator, max } => {
                let headers = crate::answers::headers_after(&blocks_of(p), locator, *max);
                s.on_headers(t, &headers, view)
                    .unwrap_or_else(|f| panic!("peer {p} at fault: {f}"));
            }
            Request::Blocks(hashes) => wanted.push((p, hashes.clone())),
            other => panic!("{other:?}"),
        }
    }
    wanted
}

#[test]
fn headers_through_an_invalidated_block_are_not_followed_until_a_restart() {
    let g = crate::memchain::genesis();
    let mut heavy = vec![g.clone()];
    heavy.extend(branch(g.hash(), 20, 7));
    let mut light = vec![g.clone()];
    light.extend(branch(g.hash(), 10, 8));
    let blocks_of = |p: u32| if p == 1 { heavy.clone() } else { light.clone() };
    let mut s: Syncer<u32> = Syncer::new(SyncConfig::default());
    s.peer_status(1, 20, work(80));
    s.peer_status(2, 10, work(40));
    let local = Local {
        height: 0,
        work: work(0),
        locator: vec![g.hash()],
    };
    // The operator invalidated heavy block 5: it and its descendants.
    let view = View {
        refused: heavy[5..].iter().map(Block::hash).collect(),
    };
    let light_hashes: HashSet<Hash> = light[1..].iter().map(Block::hash).collect();
    let mut asked = Vec::new();
    for _ in 0..4 {
        asked.extend(round(&mut s, &local, &view, &blocks_of));
    }
    let asked: Vec<Hash> = asked.into_iter().flat_map(|(_, h)| h).collect();
    assert!(!asked.is_empty(), "the light branch is downloaded");
    assert!(
        asked.iter().all(|h| light_hashes.contains(h)),
        "only the light branch, never a block through the refused one"
    );

    // Reconsidered: the download starts over and follows the heavy branch.
    let view = View {
        refused: HashSet::new(),
    };
    s.restart();
    // The peers' claims afresh (the node asks for their statuses).
    s.peer_status(1, 20, work(80));
    s.peer_status(2, 10, work(40));
    let mut asked = Vec::new();
    for _ in 0..4 {
        asked.extend(round(&mut s, &local, &view, &blocks_of));
    }
    let asked: HashSet<Hash> = asked.into_iter().flat_map(|(_, h)| h).collect();
    let heavy_hashes: HashSet<Hash> = heavy[1..].iter().map(Block::hash).collect();
    assert!(
        asked.contains(&heavy[5].hash()) && asked.iter().all(|h| heavy_hashes.contains(h)),
        "the heavy branch's blocks, the once refused among them, are asked for once it is taken again"
    );
}

/// A peer whose claim falls (its operator invalidated a block: it follows
/// a lighter branch now) is believed at its new claim: its headers of the
/// lighter branch are followed, and are no fault for ending below the
/// claim it made before.
///
/// And after a restart no headers are asked before a peer's next status:
/// its claim may be stale (its operator's verdict at the same moment).
#[test]
fn a_peer_whose_claim_falls_is_believed_at_its_new_claim() {
    let g = crate::memchain::genesis();
    let mut heavy = vec![g.clone()];
    heavy.extend(branch(g.hash(), 20, 7));
    let mut light = vec![g.clone()];
    light.extend(branch(g.hash(), 10, 8));
    let view = View {
        refused: HashSet::new(),
    };
    let local = Local {
        height: 0,
        work: work(0),
        locator: vec![g.hash()],
    };
    let mut s: Syncer<u32> = Syncer::new(SyncConfig::default());
    s.peer_status(1, 20, work(80));
    round(&mut s, &local, &view, &|_| heavy.clone());
    // The peer now follows the light branch and says so.
    s.peer_status(1, 10, work(40));
    let mut asked = Vec::new();
    for _ in 0..4 {
        asked.extend(round(&mut s, &local, &view, &|_| light.clone()));
    }
    let light_hashes: HashSet<Hash> = light[1..].iter().map(Block::hash).collect();
    let asked: Vec<Hash> = asked.into_iter().flat_map(|(_, h)| h).collect();
    assert!(!asked.is_empty(), "the light branch is downloaded");
    assert!(asked.iter().all(|h| light_hashes.contains(h)));
    s.restart();
    assert!(
        s.poll(&local).is_empty(),
        "nothing asked before the peer's next status"
    );
}
