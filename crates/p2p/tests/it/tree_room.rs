//! A full header tree making room for an answer keeps the header that
//! answer attaches to: five peers fill the tree with cheap branches while
//! the honest peer's second answer is outstanding; when it comes, the
//! honest branch stays whole and the download starts at the chain's tip.

use luminex_p2p::sync::{ChainView, Local, SyncConfig, Syncer};
use luminex_p2p::wire::Request;
use luminex_primitives::{Block, Hash, Header};

use crate::memchain::branch;
use crate::sim::work;

/// A chain that has only genesis; liars' headers (nonce 1,000 and up)
/// add half the work of the honest chain's.
struct View;
impl ChainView for View {
    fn known(&self, hash: &Hash) -> Option<(u64, [u8; 32])> {
        (*hash == crate::memchain::genesis().hash()).then(|| (0, work(0)))
    }
    fn header_work(&self, h: &Header) -> Option<[u8; 32]> {
        let cheap = matches!(h, Header::Pow(p) if p.nonce >= 1_000);
        Some(work(if cheap { 2 } else { 4 }))
    }
}

/// The headers `blocks` answer `req` with.
fn headers_of(blocks: &[Block], req: &Request) -> Vec<Header> {
    let Request::Headers { locator, max } = req else {
        panic!("{req:?}")
    };
    crate::answers::headers_after(blocks, locator, *max)
}

#[test]
fn room_made_for_an_answer_keeps_the_header_it_attaches_to() {
    let g = crate::memchain::genesis();
    let mut honest = vec![g.clone()];
    honest.extend(branch(g.hash(), 6_000, 7));
    let liars: Vec<Vec<Block>> = (1..=5u32)
        .map(|p| {
            let mut b = vec![g.clone()];
            b.extend(branch(g.hash(), 6_000, 1_000 + p));
            b
        })
        .collect();
    let mut s: Syncer<u32> = Syncer::new(SyncConfig::default());
    for p in 1..=5 {
        s.peer_status(p, 1_000_000, work(1_000_000_000));
    }
    s.peer_status(6, 6_000, work(24_000));
    let local = Local {
        height: 0,
        work: work(0),
        locator: vec![g.hash()],
    };
    let blocks_of = |p: u32| {
        if p == 6 {
            &honest
        } else {
            &liars[p as usize - 1]
        }
    };
    let mut honest_blocks = Vec::new();
    let mut honest_headers = None;
    // Round 1: everyone answers 2,000 headers (honest first).
    let mut pending = s.poll(&local);
    pending.sort_by_key(|r| (r.0 != 6, r.1));
    for (p, t, req) in pending {
        match req {
            Request::Headers { .. } => s
                .on_headers(t, &headers_of(blocks_of(p), &req), &View)
                .unwrap(),
            Request::Blocks(_) => honest_blocks.push((p, t, req)),
            _ => {}
        }
    }
    // Rounds 2 and 3: only the liars answer; the honest peer's second
    // headers request stays outstanding.
    for _ in 0..2 {
        for (p, t, req) in s.poll(&local) {
            match req {
                Request::Headers { .. } if p == 6 => honest_headers = Some((t, req)),
                Request::Headers { .. } => {
                    let _ = s.on_headers(t, &headers_of(blocks_of(p), &req), &View);
                }
                _ => honest_blocks.push((p, t, req)),
            }
        }
    }
    assert_eq!(s.tree_len(), 32_000, "5 liars x 6,000 + honest 2,000");
    // The download turns to the liars' branch (the most work now).
    for (p, t, req) in s.poll(&local) {
        if let Request::Blocks(_) = req {
            honest_blocks.push((p, t, req));
        }
    }
    // The honest answer (headers 2,001..4,000, the most work in the tree).
    let (t, req) = honest_headers.expect("honest asked again");
    let h = headers_of(&honest, &req);
    assert_eq!(h[0].prev_hash(), honest[2_000].hash());
    s.on_headers(t, &h, &View).unwrap();
    let _ = s.poll(&local);
    // The download now follows the honest fragment: which block comes first?
    for (p, t, req) in s.poll(&local) {
        if let Request::Blocks(_) = req {
            honest_blocks.push((p, t, req));
        }
    }
    let mut first = None;
    for (p, t, req) in honest_blocks {
        let Request::Blocks(hs) = req else { continue };
        if p != 6 {
            s.on_not_found(t);
            continue;
        }
        let b = hs
            .iter()
            .filter_map(|x| honest.iter().find(|b| b.hash() == *x).cloned())
            .collect();
        let _ = s.on_blocks(t, b);
    }
    for _ in 0..3 {
        for (p, t, req) in s.poll(&local) {
            if let Request::Blocks(hs) = req {
                if p == 6 {
                    let b = hs
                        .iter()
                        .filter_map(|x| honest.iter().find(|b| b.hash() == *x).cloned())
                        .collect();
                    let _ = s.on_blocks(t, b);
                } else {
                    s.on_not_found(t);
                }
            }
        }
        if let Some((b, _)) = s.take_ready().into_iter().next() {
            first = Some(b);
            break;
        }
    }
    let first = first.expect("a block handed out");
    let height = honest.iter().position(|b| b.hash() == first.hash());
    assert_eq!(
        height,
        Some(1),
        "the first block handed out must extend the chain (genesis)"
    );
}
