//! Header-first block download, without I/O.
//!
//! The [`Syncer`] decides what to ask which peer: headers from the peer with
//! the most work, then blocks in chunks spread over every peer that has
//! them, a bounded window ahead of the last block handed to the chain, and
//! a bounded number of bytes between the network and the chain: blocks
//! downloaded, handed out and not yet imported, and those asked for,
//! counted at the size of the largest block seen lately.
//! Blocks come out of [`Syncer::take_ready`] strictly in chain order, each
//! with the peer that served it (to blame if it proves invalid). Time,
//! sockets and validation stay outside, so the logic is tested by feeding it
//! events — see the seeded simulation in the crate's tests.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash as StdHash;

use luminex_primitives::{Block, Encode, Hash, Header};

use crate::wire::{Request, MAX_BLOCKS_PER_REQUEST, MAX_HEADERS};

/// Tuning of the download.
#[derive(Debug, Clone, Copy)]
pub struct SyncConfig {
    /// Blocks asked for in one request.
    pub blocks_per_request: usize,
    /// Requests outstanding per peer.
    pub max_in_flight_per_peer: usize,
    /// Blocks downloaded ahead of the last one handed to the chain.
    pub window: usize,
    /// Bytes of blocks held between the network and the chain: downloaded
    /// and not yet imported, plus those asked for (estimated). One request
    /// is always allowed when nothing is held, however large its block.
    pub max_buffered_bytes: usize,
    /// Size assumed for a block before any has been received (the chain's
    /// largest block is the safe choice).
    pub first_block_estimate: usize,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            blocks_per_request: 4,
            max_in_flight_per_peer: 4,
            window: 1_024,
            max_buffered_bytes: 256 << 20,
            first_block_estimate: 4 << 20,
        }
    }
}

/// Received block sizes remembered for the in-flight estimate.
const RECENT_SIZES: usize = 32;

/// What the local chain looks like, given to [`Syncer::poll`].
#[derive(Debug, Clone)]
pub struct Local {
    /// Height of the tip.
    pub height: u64,
    /// Work of the tip, big-endian.
    pub work: [u8; 32],
    /// Block locator of the main chain.
    pub locator: Vec<Hash>,
}

/// Why a peer's answer is refused (the peer is at fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// An answer to nothing we asked.
    #[error("unsolicited response")]
    Unsolicited,
    /// Headers that do not link to each other or to a known block.
    #[error("headers do not connect")]
    Disconnected,
    /// More headers than allowed.
    #[error("too many headers")]
    TooMany,
    /// A header fails the chain's context-free header check (its proof
    /// of work).
    #[error("header fails the chain's header check")]
    BadHeader,
    /// A block that was not requested.
    #[error("block not requested")]
    Unrequested,
    /// The peer's headers end below the height it claimed: its claim is
    /// believed only as far as they reach, and it is asked for headers
    /// again only once it claims more work.
    #[error("headers do not back the claimed height")]
    Unbacked,
}

/// Sync progress, for the API and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct Progress {
    /// Whether blocks are being downloaded or a peer has more work.
    pub syncing: bool,
    /// The best height a peer reported, believed only as far as the
    /// headers it served reach (or the last header queued, if higher).
    pub best_peer_height: u64,
    /// Height of the last header queued for download.
    pub target_height: u64,
    /// Blocks waiting in the download window (requested or received).
    pub pending_blocks: usize,
}

#[derive(Debug)]
struct PeerState {
    /// The height it claimed last.
    height: u64,
    /// The work it claimed last.
    work: [u8; 32],
    in_flight: usize,
    /// The highest height its headers have reached.
    backed: u64,
    /// A work claim its headers did not back (an empty or short answer, or
    /// a stall): it is not asked for headers until it claims more.
    disproved: Option<[u8; 32]>,
}

impl PeerState {
    /// Whether its claim may be tried: not one it failed to back before.
    fn credible(&self) -> bool {
        self.disproved.is_none_or(|d| self.work > d)
    }

    /// The height its claim is believed to: all of it at or below our own
    /// height (it says it is behind), otherwise as far as its headers
    /// reached.
    fn believed_height(&self, local: u64) -> u64 {
        if self.height <= local {
            self.height
        } else {
            self.backed.min(self.height).max(local)
        }
    }
}

#[derive(Debug)]
enum Slot<P> {
    Wanted,
    InFlight(u64),
    /// Downloaded, with its encoded size, and the peer that served it.
    Have(Box<Block>, usize, P),
}

#[derive(Debug)]
enum Pending<P> {
    /// Headers asked of a peer, after a block at this height.
    Headers(P, u64),
    Blocks(P, Vec<Hash>),
}

/// The download state machine; `P` identifies a peer.
#[derive(Debug)]
pub struct Syncer<P> {
    cfg: SyncConfig,
    peers: HashMap<P, PeerState>,
    /// Hashes to fetch, in chain order, with their heights.
    queue: VecDeque<(Hash, u64)>,
    /// The last header queued (it stays after its block is handed out, so
    /// the next headers still attach while that block is being imported).
    last_queued: Option<(Hash, u64)>,
    slots: HashMap<Hash, Slot<P>>,
    requests: HashMap<u64, Pending<P>>,
    headers_in_flight: bool,
    /// The last header answer was short: ask again only when a peer reports
    /// more work.
    headers_done: bool,
    next_token: u64,
    rotate: usize,
    /// Bytes of downloaded blocks in `slots`.
    have_bytes: usize,
    /// Blocks handed out by [`Syncer::take_ready`] that the chain has not
    /// reached yet: hash, height and size.
    handed: VecDeque<(Hash, u64, usize)>,
    /// Sizes of the blocks received last, newest last.
    recent_sizes: VecDeque<usize>,
}

impl<P: Clone + Eq + StdHash + Ord> Syncer<P> {
    /// An idle syncer.
    pub fn new(cfg: SyncConfig) -> Self {
        Syncer {
            cfg,
            peers: HashMap::new(),
            queue: VecDeque::new(),
            last_queued: None,
            slots: HashMap::new(),
            requests: HashMap::new(),
            headers_in_flight: false,
            headers_done: false,
            next_token: 1,
            rotate: 0,
            have_bytes: 0,
            handed: VecDeque::new(),
            recent_sizes: VecDeque::new(),
        }
    }

    /// Bytes held between the network and the chain: downloaded and not
    /// imported yet (handed out or waiting for the blocks before them).
    pub fn buffered_bytes(&self) -> usize {
        self.have_bytes + self.handed.iter().map(|h| h.2).sum::<usize>()
    }

    /// The size assumed for a block asked for: the largest received lately.
    fn block_estimate(&self) -> usize {
        self.recent_sizes
            .iter()
            .copied()
            .max()
            .unwrap_or(self.cfg.first_block_estimate)
            .max(1)
    }

    /// A peer reported its tip (in a status message or by announcing it).
    pub fn peer_status(&mut self, peer: P, height: u64, work: [u8; 32]) {
        let st = self.peers.entry(peer).or_insert(PeerState {
            height: 0,
            work: [0; 32],
            in_flight: 0,
            backed: 0,
            disproved: None,
        });
        if work > st.work {
            st.work = work;
            st.height = height;
            self.headers_done = false;
        } else if work == st.work {
            // A claim it failed to back stays believed only as far as its
            // headers reached.
            st.height = if st.credible() {
                height
            } else {
                height.min(st.backed)
            };
        }
    }

    /// A peer disconnected: its requests go back to the queue.
    pub fn remove_peer(&mut self, peer: &P) {
        self.peers.remove(peer);
        let tokens: Vec<u64> = self
            .requests
            .iter()
            .filter(|(_, r)| match r {
                Pending::Headers(p, _) | Pending::Blocks(p, _) => p == peer,
            })
            .map(|(t, _)| *t)
            .collect();
        for t in tokens {
            self.on_failure(t);
        }
    }

    /// Connected peers known to the syncer.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    fn token(&mut self) -> u64 {
        let t = self.next_token;
        self.next_token += 1;
        t
    }

    /// The requests to send now, each with a token to answer with.
    pub fn poll(&mut self, local: &Local) -> Vec<(P, u64, Request)> {
        let mut out = Vec::new();
        // Headers: from the peer with the most work, when it has more than
        // us and the queue is running low — among the claims not disproved,
        // so a peer that claims work it does not serve is asked once, and
        // then the next one is.
        let best = self
            .peers
            .iter()
            .filter(|(_, s)| s.work > local.work && s.credible())
            .max_by(|a, b| a.1.work.cmp(&b.1.work).then_with(|| b.0.cmp(a.0)))
            .map(|(p, _)| p.clone());
        let unfetched = self
            .queue
            .iter()
            .filter(|(h, _)| matches!(self.slots.get(h), Some(Slot::Wanted)))
            .count();
        if let Some(peer) = best {
            if !self.headers_in_flight && !self.headers_done && unfetched < self.cfg.window {
                let mut locator = Vec::new();
                let mut from = local.height;
                if let Some((h, height)) = self.last_queued {
                    locator.push(h);
                    from = height;
                }
                locator.extend(local.locator.iter().copied());
                locator.truncate(crate::wire::MAX_LOCATOR as usize);
                let t = self.token();
                self.requests
                    .insert(t, Pending::Headers(peer.clone(), from));
                self.headers_in_flight = true;
                out.push((
                    peer,
                    t,
                    Request::Headers {
                        locator,
                        max: MAX_HEADERS as u32,
                    },
                ));
            }
        }
        // Handed-out blocks the chain has reached are no longer held here.
        while self.handed.front().is_some_and(|h| h.1 <= local.height) {
            self.handed.pop_front();
        }
        // Blocks: chunks of the window to peers with spare capacity that
        // have them, while the bytes held stay within budget.
        let estimate = self.block_estimate();
        let in_flight: usize = self
            .requests
            .values()
            .map(|r| match r {
                Pending::Blocks(_, h) => h.len(),
                Pending::Headers(..) => 0,
            })
            .sum();
        let mut held = self.buffered_bytes() + in_flight * estimate;
        let mut peers: Vec<P> = self.peers.keys().cloned().collect();
        peers.sort();
        if peers.is_empty() {
            return out;
        }
        let per = self
            .cfg
            .blocks_per_request
            .min(MAX_BLOCKS_PER_REQUEST as usize);
        let mut chunk: Vec<(Hash, u64)> = Vec::new();
        let window: Vec<(Hash, u64)> = self
            .queue
            .iter()
            .take(self.cfg.window)
            .filter(|(h, _)| matches!(self.slots.get(h), Some(Slot::Wanted)))
            .copied()
            .collect();
        let mut chunks = Vec::new();
        for item in window {
            chunk.push(item);
            if chunk.len() == per {
                chunks.push(std::mem::take(&mut chunk));
            }
        }
        if !chunk.is_empty() {
            chunks.push(chunk);
        }
        for chunk in chunks {
            let cost = chunk.len() * estimate;
            if held > 0 && held + cost > self.cfg.max_buffered_bytes {
                break;
            }
            held += cost;
            let top = chunk.last().map(|c| c.1).unwrap_or(0);
            let n = peers.len();
            let mut chosen = None;
            for i in 0..n {
                let p = &peers[(self.rotate + i) % n];
                let st = &self.peers[p];
                if st.in_flight < self.cfg.max_in_flight_per_peer && st.height >= top {
                    chosen = Some(p.clone());
                    self.rotate = (self.rotate + i + 1) % n;
                    break;
                }
            }
            let Some(peer) = chosen else { break };
            let t = self.token();
            let hashes: Vec<Hash> = chunk.iter().map(|c| c.0).collect();
            for h in &hashes {
                self.slots.insert(*h, Slot::InFlight(t));
            }
            if let Some(st) = self.peers.get_mut(&peer) {
                st.in_flight += 1;
            }
            self.requests
                .insert(t, Pending::Blocks(peer.clone(), hashes.clone()));
            out.push((peer, t, Request::Blocks(hashes)));
        }
        out
    }

    /// Headers answered for `token`. `height_of` gives the height of a block
    /// the local chain has; `header_ok` is the chain's context-free header
    /// check (proof of work).
    pub fn on_headers(
        &mut self,
        token: u64,
        headers: &[Header],
        height_of: impl Fn(&Hash) -> Option<u64>,
        header_ok: impl Fn(&Header) -> bool,
    ) -> Result<(), Fault> {
        let (peer, from) = match self.requests.remove(&token) {
            Some(Pending::Headers(p, from)) => (p, from),
            Some(other) => {
                self.requests.insert(token, other);
                return Err(Fault::Unsolicited);
            }
            None => return Err(Fault::Unsolicited),
        };
        self.headers_in_flight = false;
        if headers.len() > MAX_HEADERS as usize {
            return Err(Fault::TooMany);
        }
        self.headers_done = headers.len() < MAX_HEADERS as usize;
        let Some(first) = headers.first() else {
            // Nothing after the block we asked from: the peer's chain ends
            // there.
            return self.backed_to(&peer, from);
        };
        // Where the new headers attach: the end of the queue, or a block
        // the chain already has (then the queue restarts from there).
        let start = match self.last_queued {
            Some((h, height)) if h == first.prev_hash() => height + 1,
            _ => match height_of(&first.prev_hash()) {
                Some(height) => {
                    self.clear_queue();
                    height + 1
                }
                None => return Err(Fault::Disconnected),
            },
        };
        let mut prev = first.prev_hash();
        let mut hashes = Vec::with_capacity(headers.len());
        for (i, h) in headers.iter().enumerate() {
            if h.prev_hash() != prev {
                return Err(Fault::Disconnected);
            }
            if !header_ok(h) {
                return Err(Fault::BadHeader);
            }
            prev = h.hash();
            hashes.push((prev, start + i as u64));
        }
        let reached = start + hashes.len() as u64 - 1;
        for (hash, height) in hashes {
            self.last_queued = Some((hash, height));
            if height_of(&hash).is_some() || self.slots.contains_key(&hash) {
                continue;
            }
            self.slots.insert(hash, Slot::Wanted);
            self.queue.push_back((hash, height));
        }
        if self.headers_done {
            self.backed_to(&peer, reached)
        } else {
            // A full answer: more may follow.
            if let Some(st) = self.peers.get_mut(&peer) {
                st.backed = st.backed.max(reached);
            }
            Ok(())
        }
    }

    /// A peer's last headers answer ended at `reached`: whatever it claimed
    /// beyond is disproved, and another peer may be asked.
    fn backed_to(&mut self, peer: &P, reached: u64) -> Result<(), Fault> {
        let Some(st) = self.peers.get_mut(peer) else {
            return Ok(());
        };
        st.backed = st.backed.max(reached);
        if reached >= st.height {
            return Ok(());
        }
        st.disproved = Some(st.work);
        st.height = reached;
        self.headers_done = false;
        Err(Fault::Unbacked)
    }

    /// A headers request went unanswered past its deadline: the peer's
    /// claim counts as disproved (another peer is asked), and the request
    /// as failed. Returns whether it was a headers request.
    pub fn on_stalled(&mut self, token: u64) -> bool {
        let stalled = match self.requests.get(&token) {
            Some(Pending::Headers(p, _)) => Some(p.clone()),
            _ => None,
        };
        self.on_failure(token);
        let Some(p) = stalled else {
            return false;
        };
        if let Some(st) = self.peers.get_mut(&p) {
            st.disproved = Some(st.work);
            st.height = st.height.min(st.backed);
            self.headers_done = false;
        }
        true
    }

    /// The tokens of outstanding headers requests.
    pub fn headers_requests(&self) -> Vec<u64> {
        self.requests
            .iter()
            .filter(|(_, r)| matches!(r, Pending::Headers(..)))
            .map(|(t, _)| *t)
            .collect()
    }

    /// Blocks answered for `token`. Blocks not returned go back to the queue.
    pub fn on_blocks(&mut self, token: u64, blocks: Vec<Block>) -> Result<(), Fault> {
        let (peer, hashes) = match self.requests.remove(&token) {
            Some(Pending::Blocks(p, h)) => (p, h),
            Some(other) => {
                self.requests.insert(token, other);
                return Err(Fault::Unsolicited);
            }
            None => return Err(Fault::Unsolicited),
        };
        if let Some(st) = self.peers.get_mut(&peer) {
            st.in_flight = st.in_flight.saturating_sub(1);
        }
        let mut fault = None;
        let answered_some = !blocks.is_empty();
        let mut got = HashMap::with_capacity(blocks.len());
        for b in blocks {
            let h = b.hash();
            if hashes.contains(&h) {
                let size = b.encoded_len();
                if self.recent_sizes.len() == RECENT_SIZES {
                    self.recent_sizes.pop_front();
                }
                self.recent_sizes.push_back(size);
                got.insert(h, (b, size));
            } else {
                fault = Some(Fault::Unrequested);
            }
        }
        for h in hashes {
            if !matches!(self.slots.get(&h), Some(Slot::InFlight(t)) if *t == token) {
                continue;
            }
            match got.remove(&h) {
                Some((b, size)) => {
                    self.have_bytes += size;
                    self.slots
                        .insert(h, Slot::Have(Box::new(b), size, peer.clone()))
                }
                None => {
                    // Nothing at all: the peer lacks these blocks, so it is
                    // not asked again for this height. A shorter answer
                    // only ran into the responder's size budget: the rest
                    // is asked for again, from it or another peer.
                    if !answered_some {
                        if let Some(st) = self.peers.get_mut(&peer) {
                            st.height = 0;
                        }
                    }
                    self.slots.insert(h, Slot::Wanted)
                }
            };
        }
        fault.map_or(Ok(()), Err)
    }

    /// A request failed (timeout, disconnect): its blocks are wanted again.
    pub fn on_failure(&mut self, token: u64) {
        match self.requests.remove(&token) {
            Some(Pending::Headers(..)) => self.headers_in_flight = false,
            Some(Pending::Blocks(peer, hashes)) => {
                if let Some(st) = self.peers.get_mut(&peer) {
                    st.in_flight = st.in_flight.saturating_sub(1);
                }
                for h in hashes {
                    if matches!(self.slots.get(&h), Some(Slot::InFlight(t)) if *t == token) {
                        self.slots.insert(h, Slot::Wanted);
                    }
                }
            }
            None => {}
        }
    }

    /// The peer a pending request went to.
    pub fn request_peer(&self, token: u64) -> Option<&P> {
        self.requests.get(&token).map(|r| match r {
            Pending::Headers(p, _) | Pending::Blocks(p, _) => p,
        })
    }

    /// Downloaded blocks that continue the queue, in order, each with the
    /// peer that served it.
    pub fn take_ready(&mut self) -> Vec<(Block, P)> {
        let mut out = Vec::new();
        while let Some((h, height)) = self.queue.front() {
            if !matches!(self.slots.get(h), Some(Slot::Have(..))) {
                break;
            }
            let (h, height) = (*h, *height);
            self.queue.pop_front();
            if let Some(Slot::Have(b, size, p)) = self.slots.remove(&h) {
                self.have_bytes -= size;
                self.handed.push_back((h, height, size));
                out.push((*b, p));
            }
        }
        out
    }

    /// A block handed out failed validation: everything queued after it is
    /// dropped (it cannot connect), and headers are asked for again.
    pub fn reset(&mut self) {
        self.clear_queue();
        self.headers_done = false;
    }

    fn clear_queue(&mut self) {
        self.last_queued = None;
        for (h, _) in self.queue.drain(..) {
            if let Some(Slot::Have(_, size, _)) = self.slots.remove(&h) {
                self.have_bytes -= size;
            }
        }
        // What was handed out is imported or refused by now, or will be:
        // the chain moves on from here.
        self.handed.clear();
        // Outstanding block requests now answer nothing wanted; their
        // blocks are dropped when they arrive.
    }

    /// Progress figures. Peers' claims count only as far as their headers have backed them
    /// (a peer claiming a height it cannot serve does not make the node
    /// look behind).
    pub fn progress(&self, local: &Local) -> Progress {
        let best = self
            .peers
            .values()
            .map(|s| s.believed_height(local.height))
            .max()
            .unwrap_or(0);
        let best_work = self
            .peers
            .values()
            .filter(|s| s.credible())
            .map(|s| s.work)
            .max()
            .unwrap_or([0; 32]);
        let target = self.queue.back().map(|q| q.1).unwrap_or(local.height);
        Progress {
            syncing: !self.queue.is_empty() || best_work > local.work,
            best_peer_height: best.max(target),
            target_height: target,
            pending_blocks: self.queue.len(),
        }
    }
}
