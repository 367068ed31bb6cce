//! Answers of the wrong kind, or `NotFound`, to the syncer's blocks
//! requests, fed to the syncer as the network loop feeds them: the
//! download goes on from the honest peer instead of stalling on the one
//! that would not give the blocks its headers showed.

use std::collections::HashMap;

use luminex_p2p::sync::{Fault, Local, SyncConfig, Syncer};
use luminex_p2p::wire::Request;
use luminex_primitives::{Block, Hash, Header};

use crate::sim::{chain, work, ByHeight};

/// How peer 1 answers a blocks request.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// With headers (none).
    Headers,
    /// `NotFound`.
    NotFound,
}

/// The headers of `blocks` after the first of `locator` it holds.
pub(crate) fn headers_after(blocks: &[Block], locator: &[Hash], max: u32) -> Vec<Header> {
    let start = locator
        .iter()
        .find_map(|h| blocks.iter().position(|b| b.hash() == *h))
        .unwrap_or(0);
    blocks[start + 1..]
        .iter()
        .take(max as usize)
        .map(|b| b.header)
        .collect()
}

/// Downloads `honest` from peer 0, while peer 1 shows the headers of
/// `shown` and refuses its blocks as `refusal` says. Returns the height
/// reached after at most `rounds` polls, and the faults the syncer found.
fn download(honest: &[Block], shown: &[Block], refusal: Refusal, rounds: usize) -> (u64, usize) {
    let height_of: HashMap<Hash, u64> = honest
        .iter()
        .enumerate()
        .map(|(i, b)| (b.hash(), i as u64))
        .collect();
    let mut s: Syncer<u32> = Syncer::new(SyncConfig::default());
    let (n, m) = (honest.len() as u64 - 1, shown.len() as u64 - 1);
    s.peer_status(0, n, work(n));
    s.peer_status(1, m, work(m));
    let (mut height, mut faults) = (0u64, 0);
    for _ in 0..rounds {
        let local = Local {
            height,
            work: work(height),
            locator: vec![honest[height as usize].hash()],
        };
        let view = ByHeight(|h: &Hash| height_of.get(h).copied().filter(|i| *i <= height));
        for (peer, token, request) in s.poll(&local) {
            match request {
                Request::Headers { locator, max } => {
                    let from = if peer == 0 { honest } else { shown };
                    let _ = s.on_headers(token, &headers_after(from, &locator, max), &view);
                }
                Request::Blocks(_) if peer == 1 => match refusal {
                    Refusal::Headers => {
                        assert_eq!(s.on_headers(token, &[], &view), Err(Fault::WrongKind));
                        faults += 1;
                    }
                    Refusal::NotFound => s.on_not_found(token),
                },
                Request::Blocks(hashes) => {
                    let blocks = hashes
                        .iter()
                        .filter_map(|h| height_of.get(h).map(|i| honest[*i as usize].clone()))
                        .collect();
                    s.on_blocks(token, blocks).unwrap();
                }
                other => panic!("unexpected request {other:?}"),
            }
        }
        for (b, _) in s.take_ready() {
            height = height_of[&b.hash()];
        }
        if height == n {
            break;
        }
    }
    (height, faults)
}

/// A peer answering blocks requests with headers: each such request
/// fails (it was left in flight for ever, and the download stopped at its
/// blocks), the peer is at fault and passed over.
#[test]
fn headers_for_a_blocks_request_fail_it_and_the_download_goes_on() {
    let honest = chain(3_000, 1);
    let (height, faults) = download(&honest, &honest, Refusal::Headers, 20_000);
    assert_eq!(height, 3_000);
    assert!(faults >= 1, "the peer was never asked");
}

/// A peer showing a heavier branch whose blocks it answers `NotFound`:
/// passed over as for an empty answer, so the honest chain is downloaded
/// (it was asked for ever, and the node stayed at genesis).
#[test]
fn not_found_for_shown_blocks_passes_the_peer_over() {
    let honest = chain(50, 1);
    let heavier = chain(80, 3);
    let (height, _) = download(&honest, &heavier, Refusal::NotFound, 5_000);
    assert_eq!(height, 50);
}

/// Blocks for a headers request: the request fails (headers are asked
/// again) and the peer is at fault.
#[test]
fn blocks_for_a_headers_request_fail_it() {
    let honest = chain(10, 1);
    let mut s: Syncer<u32> = Syncer::new(SyncConfig::default());
    s.peer_status(0, 10, work(10));
    let local = Local {
        height: 0,
        work: work(0),
        locator: vec![honest[0].hash()],
    };
    let asked = s.poll(&local);
    let [(0, token, Request::Headers { .. })] = asked.as_slice() else {
        panic!("expected one headers request, got {asked:?}");
    };
    assert_eq!(
        s.on_blocks(*token, vec![honest[1].clone()]),
        Err(Fault::WrongKind)
    );
    // Asked again for headers (it was marked as asking for ever).
    let again = s.poll(&local);
    assert!(
        matches!(again.as_slice(), [(0, _, Request::Headers { .. })]),
        "{again:?}"
    );
}
