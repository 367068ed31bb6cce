//! Anchors: outbound peers that served this node well, kept in a file so
//! that after a restart they are dialled first, as priority peers, before
//! the DHT or identities dialling in can fill the slots (Bitcoin Core's
//! `anchors.dat` does this for its block-relay connections). The file is
//! rewritten whenever the choice changes, so a crash keeps it too.

use std::path::Path;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// Anchors kept at most.
pub(super) const MAX_ANCHORS: usize = 2;

/// The anchors file's content.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct AnchorsFile {
    /// Multiaddrs ending in `/p2p/<peer id>`.
    anchors: Vec<String>,
}

/// The anchors in `path`, each with its peer id. A missing file means
/// none; an unreadable or malformed one is logged and means none (the node
/// still has its bootnodes and the DHT).
pub(super) fn load(path: &Path) -> Vec<(PeerId, Multiaddr)> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Vec::new(),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the anchors");
            return Vec::new();
        }
    };
    let file: AnchorsFile = match serde_json::from_str(&text) {
        Ok(f) => f,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "malformed anchors file, ignored");
            return Vec::new();
        }
    };
    file.anchors
        .iter()
        .filter_map(|a| a.parse::<Multiaddr>().ok())
        .filter_map(|a| match a.iter().last() {
            Some(Protocol::P2p(p)) => Some((p, a)),
            _ => None,
        })
        .take(MAX_ANCHORS)
        .collect()
}

/// Writes `anchors` to `path` (a temporary file renamed over it, so a
/// crash leaves the old file or the new one).
pub(super) fn save(path: &Path, anchors: &[Multiaddr]) -> std::io::Result<()> {
    let file = AnchorsFile {
        anchors: anchors.iter().map(|a| a.to_string()).collect(),
    };
    let text = serde_json::to_string_pretty(&file).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// `addr` ending in `/p2p/<peer>`.
pub(super) fn with_peer(addr: &Multiaddr, peer: PeerId) -> Multiaddr {
    match addr.iter().last() {
        Some(Protocol::P2p(_)) => addr.clone(),
        _ => addr.clone().with(Protocol::P2p(peer)),
    }
}

/// A connected outbound peer, as a candidate anchor.
pub(super) struct Candidate {
    pub addr: Multiaddr,
    /// New valid blocks it gave.
    pub blocks: u64,
    /// When it connected ([`luminex_primitives::Clock::monotonic`] time).
    pub since: std::time::Duration,
}

/// The anchors among `candidates`: those that gave the most blocks, then
/// the longest connected.
pub(super) fn choose(mut candidates: Vec<Candidate>) -> Vec<Multiaddr> {
    candidates.sort_by_key(|c| (std::cmp::Reverse(c.blocks), c.since));
    candidates
        .into_iter()
        .take(MAX_ANCHORS)
        .map(|c| c.addr)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn addr(peer: PeerId) -> Multiaddr {
        format!("/ip4/10.0.0.1/tcp/8647/p2p/{peer}")
            .parse()
            .unwrap()
    }

    #[test]
    fn anchors_survive_a_restart_and_bad_files_mean_none() {
        let dir = tempfile_dir();
        let path = dir.join("anchors.json");
        assert!(load(&path).is_empty(), "no file, no anchors");
        let (a, b, c) = (PeerId::random(), PeerId::random(), PeerId::random());
        save(&path, &[addr(a), addr(b), addr(c)]).unwrap();
        let got = load(&path);
        assert_eq!(got, vec![(a, addr(a)), (b, addr(b))], "at most two");
        std::fs::write(&path, "{ not json").unwrap();
        assert!(load(&path).is_empty());
        std::fs::write(&path, r#"{"anchors": ["/ip4/10.0.0.1/tcp/1", "junk"]}"#).unwrap();
        assert!(load(&path).is_empty(), "only addresses with a peer id");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn useful_then_long_connected_peers_are_chosen() {
        let p: Vec<PeerId> = (0..4).map(|_| PeerId::random()).collect();
        let cand = |i: usize, blocks, since| Candidate {
            addr: addr(p[i]),
            blocks,
            since: Duration::from_secs(since),
        };
        let chosen = choose(vec![
            cand(0, 0, 1),
            cand(1, 5, 50),
            cand(2, 0, 0),
            cand(3, 9, 60),
        ]);
        assert_eq!(chosen, vec![addr(p[3]), addr(p[1])]);
        let chosen = choose(vec![cand(0, 0, 10), cand(2, 0, 5)]);
        assert_eq!(chosen, vec![addr(p[2]), addr(p[0])]);
        let bare: Multiaddr = "/ip4/10.0.0.1/tcp/8647".parse().unwrap();
        assert_eq!(with_peer(&bare, p[0]), addr(p[0]));
        assert_eq!(with_peer(&addr(p[0]), p[0]), addr(p[0]));
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("luminex-anchors-{}", PeerId::random()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
