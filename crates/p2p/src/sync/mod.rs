//! Header-first block download from several peers at once, without I/O.
//!
//! The [`Syncer`] decides what to ask which peer. Every peer that claims
//! more work than the local chain is asked for headers, each continuing
//! from the best header it showed before, so no single peer holds the
//! download: one that answers nothing, too little or too late is charged
//! and passed over while the others go on. Headers of any peer that extend
//! a known header go into a fork-aware [header tree](tree) keyed by hash;
//! blocks are downloaded along the branch with the most work that headers
//! back, in chunks spread over the peers whose headers contain them, a
//! bounded window ahead of the last block handed to the chain, and a
//! bounded number of bytes between the network and the chain: blocks
//! downloaded, handed out and not yet imported, and those asked for,
//! counted at the size of the largest block seen lately.
//!
//! A peer's claim (its status: height and work) is believed only as far as
//! the headers it served: it decides whom to ask, never what to download.
//!
//! Blocks come out of [`Syncer::take_ready`] strictly in chain order, each
//! with the peer that served it (to blame if it proves invalid). Time,
//! sockets and validation stay outside, so the logic is tested by feeding it
//! events — see the seeded simulation in the crate's tests.

mod headers;
pub mod tree;

use std::collections::{HashMap, VecDeque};
use std::hash::Hash as StdHash;

use luminex_primitives::{Block, Encode, Hash, Header};

use crate::wire::{Request, MAX_BLOCKS_PER_REQUEST, MAX_HEADERS};
use tree::{HeaderTree, Tip, Work};

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

/// Bytes of blocks a request asks for when blocks are small: at least
/// [`SyncConfig::blocks_per_request`] blocks, more while they fit in this
/// (at most the protocol's [`MAX_BLOCKS_PER_REQUEST`]).
pub const REQUEST_TARGET_BYTES: usize = 4 << 20;

/// Received block sizes remembered for the in-flight estimate.
const RECENT_SIZES: usize = 32;

/// The local height the tree is swept again after, at the latest.
const SWEEP_EVERY: u64 = 256;

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

/// What the syncer reads of the chain when headers arrive.
pub trait ChainView {
    /// The height and cumulative work (big-endian) of a valid block the
    /// chain has, on its main chain or a side branch.
    fn known(&self, hash: &Hash) -> Option<(u64, [u8; 32])>;
    /// The work a header adds to its branch, if it passes the chain's
    /// context-free header check (its proof of work); `None` if it fails.
    fn header_work(&self, header: &Header) -> Option<[u8; 32]>;
    /// Whether the chain refuses the block by its operator's choice
    /// ([`crate::network::ChainAccess::refused`]). By default none.
    fn refused(&self, _hash: &Hash) -> bool {
        false
    }
}

/// Why a peer's answer is refused (the peer is at fault).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// An answer to nothing we asked.
    #[error("unsolicited response")]
    Unsolicited,
    /// Headers for a blocks request, or blocks for a headers request: the
    /// request failed (its blocks are wanted again, its headers asked
    /// again), and the peer is at fault.
    #[error("an answer of the wrong kind")]
    WrongKind,
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
    /// Headers that build on a block that proved invalid.
    #[error("headers build on an invalid block")]
    InvalidChain,
    /// A block that was not requested.
    #[error("block not requested")]
    Unrequested,
    /// The peer's headers end below the work it claimed: its claim is
    /// believed only as far as they reach, and it is asked for headers
    /// again only once it claims more work.
    #[error("headers do not back the claimed work")]
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
    work: Work,
    /// Block requests outstanding.
    in_flight: usize,
    /// A headers request is outstanding.
    asking: bool,
    /// The header with the most work it has shown (in the tree or the
    /// chain): its claim is believed up to there.
    best: Option<Tip>,
    /// A work claim its headers did not back (an empty or short answer, a
    /// stall, headers that do not connect): it is not asked for headers
    /// until it claims more.
    disproved: Option<Work>,
    /// The height on the download queue up to which its best header has
    /// the blocks (0: none of them).
    serves: u64,
    /// The highest height its headers have reached, for the API.
    shown: Option<u64>,
    /// It answered `RateLimited`: asked nothing until [`Syncer::resume`].
    paused: bool,
    /// The header its outstanding headers request continues from was
    /// forgotten by the tree since: an answer that does not connect is not
    /// its fault.
    base_forgotten: bool,
}

impl PeerState {
    fn new() -> Self {
        PeerState {
            height: 0,
            work: [0; 32],
            in_flight: 0,
            asking: false,
            best: None,
            disproved: None,
            serves: 0,
            shown: None,
            paused: false,
            base_forgotten: false,
        }
    }

    /// Whether its claim may be tried: not one it failed to back before.
    fn credible(&self) -> bool {
        self.disproved.is_none_or(|d| self.work > d)
    }

    fn backed(&self) -> u64 {
        self.best.map_or(0, |b| b.height)
    }

    fn backed_work(&self) -> Work {
        self.best.map_or([0; 32], |b| b.work)
    }

    /// Whether it claims work beyond ours that its headers have not shown
    /// yet, and the claim is still believed.
    fn claims_more(&self, local: &Work) -> bool {
        self.credible() && self.work > *local && self.work > self.backed_work()
    }

    /// The height its claim is believed to: all of it at or below our own
    /// height (it says it is behind), otherwise as far as its headers
    /// reached.
    fn believed_height(&self, local: u64) -> u64 {
        if self.height <= local {
            self.height
        } else {
            self.backed().min(self.height).max(local)
        }
    }

    /// Its best header is no longer in the tree: it is asked for headers
    /// from the chain again.
    fn forget_best(&mut self) {
        self.best = None;
        self.base_forgotten |= self.asking;
    }

    fn disprove(&mut self) {
        self.disproved = Some(self.work);
        self.height = self.height.min(self.backed());
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
    Headers(P),
    Blocks(P, Vec<Hash>),
}

/// The download state machine; `P` identifies a peer.
#[derive(Debug)]
pub struct Syncer<P> {
    cfg: SyncConfig,
    peers: HashMap<P, PeerState>,
    /// Headers not in the chain yet, every branch peers showed.
    tree: HeaderTree,
    /// Blocks to fetch along the best branch, in chain order, with their
    /// heights.
    queue: VecDeque<(Hash, u64)>,
    /// The last header queued (it stays after its block is handed out, so
    /// the queue is extended from it while that block is being imported).
    last_queued: Option<(Hash, u64)>,
    slots: HashMap<Hash, Slot<P>>,
    requests: HashMap<u64, Pending<P>>,
    next_token: u64,
    rotate: usize,
    /// Bytes of downloaded blocks in `slots`.
    have_bytes: usize,
    /// Blocks handed out by [`Syncer::take_ready`] that the chain has not
    /// reached yet: hash, height and size.
    handed: VecDeque<(Hash, u64, usize)>,
    /// Sizes of the blocks received last, newest last.
    recent_sizes: VecDeque<usize>,
    /// The tree is swept at the next poll (a peer left, a claim fell).
    sweep_due: bool,
    /// The local height at the last sweep.
    swept_at: u64,
    /// Which peers serve which queued blocks must be worked out again.
    serves_due: bool,
}

impl<P: Clone + Eq + StdHash + Ord> Syncer<P> {
    /// An idle syncer.
    pub fn new(cfg: SyncConfig) -> Self {
        Syncer {
            cfg,
            peers: HashMap::new(),
            tree: HeaderTree::default(),
            queue: VecDeque::new(),
            last_queued: None,
            slots: HashMap::new(),
            requests: HashMap::new(),
            next_token: 1,
            rotate: 0,
            have_bytes: 0,
            handed: VecDeque::new(),
            recent_sizes: VecDeque::new(),
            sweep_due: false,
            swept_at: 0,
            serves_due: false,
        }
    }

    /// Bytes held between the network and the chain: downloaded and not
    /// imported yet (handed out or waiting for the blocks before them).
    pub fn buffered_bytes(&self) -> usize {
        self.have_bytes + self.handed.iter().map(|h| h.2).sum::<usize>()
    }

    /// Headers held in the header tree (bounded by
    /// [`tree::MAX_TREE_HEADERS`]).
    pub fn tree_len(&self) -> usize {
        self.tree.len()
    }

    /// Requests outstanding (headers and blocks), over all peers.
    pub fn request_count(&self) -> usize {
        self.requests.len()
    }

    /// The highest height a peer's headers have reached (none before it
    /// has sent any).
    pub fn backed_height(&self, peer: &P) -> Option<u64> {
        self.peers.get(peer).and_then(|s| s.shown)
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

    /// A peer reported its tip in a status message.
    pub fn peer_status(&mut self, peer: P, height: u64, work: [u8; 32]) {
        let st = self.peers.entry(peer).or_insert_with(PeerState::new);
        if work > st.work {
            st.work = work;
            st.height = height;
        } else if work == st.work {
            // A claim it failed to back stays believed only as far as its
            // headers reached.
            st.height = if st.credible() {
                height
            } else {
                height.min(st.backed())
            };
        } else {
            // Less than it claimed before: it moved to a lighter branch (its
            // operator invalidated a block). The new claim replaces the old
            // and is believed afresh; what its headers showed of the branch
            // it left is forgotten. Kept, the old claim would make every
            // later request of its headers end "below the claim" (a fault)
            // and hide the branch it follows now.
            st.work = work;
            st.height = height;
            st.disproved = None;
            st.forget_best();
            st.serves = 0;
            self.serves_due = true;
            self.sweep_due = true;
        }
    }

    /// A peer disconnected: its requests go back to the queue, and the
    /// branches only it backed are forgotten at the next poll.
    pub fn remove_peer(&mut self, peer: &P) {
        self.peers.remove(peer);
        let tokens: Vec<u64> = self
            .requests
            .iter()
            .filter(|(_, r)| match r {
                Pending::Headers(p) | Pending::Blocks(p, _) => p == peer,
            })
            .map(|(t, _)| *t)
            .collect();
        for t in tokens {
            self.on_failure(t);
        }
        self.sweep_due = true;
        self.serves_due = true;
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
        self.poll_with(local, true)
    }

    /// [`Syncer::poll`], asking for blocks only when `blocks` (downloads
    /// paused: headers only).
    pub fn poll_with(&mut self, local: &Local, blocks: bool) -> Vec<(P, u64, Request)> {
        let mut out = Vec::new();
        // Handed-out blocks the chain has reached are no longer held here,
        // and their headers are the chain's now.
        while let Some(&(h, height, _)) = self.handed.front() {
            if height > local.height {
                break;
            }
            self.handed.pop_front();
            if Some(h) != self.tree.best().map(|b| b.hash) {
                self.tree.remove(&h);
            }
        }
        if self.sweep_due
            || local.height >= self.swept_at.saturating_add(SWEEP_EVERY)
            || local.height < self.swept_at
            || (self.queue.is_empty() && local.height != self.swept_at)
            || self.tree.room() < MAX_HEADERS as usize
        {
            self.sweep(local);
        }
        self.follow_best(local);
        if self.serves_due {
            self.update_serves();
        }
        // A peer that answered `RateLimited` is asked nothing until resumed.
        let mut peers: Vec<P> = self
            .peers
            .iter()
            .filter(|(_, st)| !st.paused)
            .map(|(p, _)| p.clone())
            .collect();
        peers.sort();
        // Headers: from every peer that claims more work than it has shown
        // (and than the chain has), one request each, continuing from the
        // best header it showed, while its headers are not too far ahead
        // of the chain.
        let ahead = local
            .height
            .saturating_add((self.cfg.window + 2 * MAX_HEADERS as usize) as u64);
        // Asked even when the tree is full: headers with more work than its
        // weakest branches take their place (`HeaderTree::make_room`).
        for p in &peers {
            let st = &self.peers[p];
            if st.asking || !st.claims_more(&local.work) || st.backed() >= ahead {
                continue;
            }
            let mut locator = Vec::new();
            if let Some(b) = st.best {
                locator.push(b.hash);
            }
            locator.extend(local.locator.iter().copied());
            locator.truncate(crate::wire::MAX_LOCATOR as usize);
            let t = self.token();
            self.requests.insert(t, Pending::Headers(p.clone()));
            if let Some(st) = self.peers.get_mut(p) {
                st.asking = true;
                st.base_forgotten = false;
            }
            out.push((
                p.clone(),
                t,
                Request::Headers {
                    locator,
                    max: MAX_HEADERS as u32,
                },
            ));
        }
        if peers.is_empty() || !blocks {
            return out;
        }
        // Blocks: chunks of the window to peers with spare capacity whose
        // headers have them, while the bytes held stay within budget.
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
        // Small blocks go in larger requests (up to the protocol's cap), so
        // a chain of tiny blocks is not asked for a few at a time: that
        // would run into the peer's limit on requests a second.
        // Two such requests fit in the byte budget.
        let per = (REQUEST_TARGET_BYTES / estimate)
            .min(self.cfg.max_buffered_bytes / estimate / 2)
            .max(self.cfg.blocks_per_request)
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
            let top = chunk.last().map(|c| c.1).unwrap_or(0);
            let n = peers.len();
            let mut chosen = None;
            for i in 0..n {
                let p = &peers[(self.rotate + i) % n];
                let st = &self.peers[p];
                if st.in_flight < self.cfg.max_in_flight_per_peer && st.serves >= top {
                    chosen = Some(p.clone());
                    self.rotate = (self.rotate + i + 1) % n;
                    break;
                }
            }
            // Nobody free has these: later chunks are higher still.
            let Some(peer) = chosen else { break };
            held += cost;
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

    /// Blocks answered for `token`. Blocks not returned go back to the queue.
    pub fn on_blocks(&mut self, token: u64, blocks: Vec<Block>) -> Result<(), Fault> {
        let (peer, hashes) = match self.requests.remove(&token) {
            Some(Pending::Blocks(p, h)) => (p, h),
            Some(other) => {
                // Blocks for a headers request: the request is over (the
                // network has no other answer coming for it).
                self.requests.insert(token, other);
                self.on_failure(token);
                return Err(Fault::WrongKind);
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
                    // Nothing at all: the peer lacks these blocks although
                    // its headers had them, so what it showed is not
                    // believed (not asked again for blocks or headers
                    // until it claims more). A shorter answer only ran into
                    // the responder's size budget: the rest is asked for
                    // again, from it or another peer.
                    if !answered_some {
                        self.pass_over(&peer);
                    }
                    self.slots.insert(h, Slot::Wanted)
                }
            };
        }
        fault.map_or(Ok(()), Err)
    }

    /// What a peer showed is not believed: it is asked for neither headers
    /// nor blocks until it claims more work.
    fn pass_over(&mut self, peer: &P) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.disprove();
            st.serves = 0;
            st.best = None;
            self.sweep_due = true;
        }
    }

    /// A blocks request timed out: its blocks are wanted again, from the
    /// other peers that have them, and the peer is passed over as one
    /// that answered it has none of them.
    pub fn on_blocks_stalled(&mut self, token: u64) {
        let peer = match self.requests.get(&token) {
            Some(Pending::Blocks(p, _)) => Some(p.clone()),
            _ => None,
        };
        self.on_failure(token);
        if let Some(p) = peer {
            self.pass_over(&p);
        }
    }

    /// A request answered `NotFound`. For blocks: the peer lacks the blocks
    /// its headers showed, so — as for an empty answer — what it showed is
    /// not believed until it claims more work, and the blocks are wanted
    /// again (a plain failure had it asked for them for ever). For headers:
    /// a failure.
    pub fn on_not_found(&mut self, token: u64) {
        self.on_blocks_stalled(token);
    }

    /// A request failed (timeout, disconnect): its blocks are wanted again,
    /// its headers asked again.
    pub fn on_failure(&mut self, token: u64) {
        match self.requests.remove(&token) {
            Some(Pending::Headers(peer)) => {
                if let Some(st) = self.peers.get_mut(&peer) {
                    st.asking = false;
                }
            }
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

    /// `peer` answered `RateLimited`: ask it nothing until [`Syncer::resume`]
    /// (its limit refills; asking again at once would only be refused again).
    pub fn pause(&mut self, peer: &P) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.paused = true;
        }
    }

    /// Asks paused peers again.
    pub fn resume(&mut self) {
        for st in self.peers.values_mut() {
            st.paused = false;
        }
    }

    /// The peer a pending request went to.
    pub fn request_peer(&self, token: u64) -> Option<&P> {
        self.requests.get(&token).map(|r| match r {
            Pending::Headers(p) | Pending::Blocks(p, _) => p,
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

    /// A block handed out failed validation: everything queued is dropped
    /// and downloaded again along the best branch that remains.
    pub fn reset(&mut self) {
        self.clear_queue();
        self.serves_due = true;
    }

    /// The chain's view of which blocks it takes changed (an operator's
    /// `invalidateblock` or `reconsiderblock`): the download starts over —
    /// the queue, the headers held and what each peer's headers have shown
    /// go, every peer's claim is believed again, and headers are asked for
    /// anew from the chain's tip. The blocks the download found invalid
    /// are forgotten too: a reconsidered block may be one (the chain still
    /// refuses those it has marked, and the download learns them again).
    /// So are the peers' claims, until their next status (the caller asks
    /// for it): a peer may have changed branch at the same moment (its own
    /// operator's verdict), and headers asked under its old claim would
    /// end below it — charged to an honest peer.
    pub fn restart(&mut self) {
        self.clear_queue();
        self.tree.forget_headers();
        for st in self.peers.values_mut() {
            st.forget_best();
            st.serves = 0;
            st.disproved = None;
            st.work = [0; 32];
            st.height = 0;
        }
        self.sweep_due = true;
        self.serves_due = true;
    }

    /// A block handed out proved invalid: its branch of the tree goes (and
    /// headers building on it are refused from now on), the peers that
    /// showed it are asked for headers again from the chain, and the
    /// download follows the best branch left.
    pub fn on_invalid(&mut self, hash: &Hash) {
        let gone = self.tree.invalidate(hash);
        for s in self.peers.values_mut() {
            if s.best
                .is_some_and(|b| b.hash == *hash || gone.contains(&b.hash))
            {
                s.best = None;
                s.serves = 0;
            }
        }
        self.reset();
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

    /// Progress figures. Peers' claims count only as far as their headers
    /// have backed them (a peer claiming a height it cannot serve does not
    /// make the node look behind).
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
