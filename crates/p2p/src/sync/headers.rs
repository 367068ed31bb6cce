//! The header side of the download: which peers are asked for headers,
//! their answers checked and taken into the header tree, the tree swept of
//! what no peer backs, and the download queue kept on the best branch.

use std::hash::Hash as StdHash;

use luminex_primitives::{Hash, Header};

use super::tree::{add_work, Tip};
use super::{ChainView, Fault, Local, Pending, Slot, Syncer};
use crate::wire::MAX_HEADERS;

impl<P: Clone + Eq + StdHash + Ord> Syncer<P> {
    /// Keeps the branches that a peer's best header is on, when that
    /// header has more work than the chain or the peer is still backing a
    /// larger claim; forgets the rest.
    pub(super) fn sweep(&mut self, local: &Local) {
        let live: Vec<Hash> = self
            .peers
            .values()
            .filter(|s| s.backed_work() > local.work || s.claims_more(&local.work))
            .filter_map(|s| s.best.map(|b| b.hash))
            .collect();
        let held: Vec<bool> = self
            .peers
            .values()
            .map(|s| s.best.is_some_and(|b| self.tree.get(&b.hash).is_some()))
            .collect();
        self.tree.sweep(live);
        // A best header forgotten here (the chain does not have it) is not
        // offered as a locator again.
        for (s, held) in self.peers.values_mut().zip(held) {
            if held && s.best.is_some_and(|b| self.tree.get(&b.hash).is_none()) {
                s.forget_best();
            }
        }
        self.sweep_due = false;
        self.swept_at = local.height;
        self.serves_due = true;
    }

    /// Brings the queue in line with the best branch: extended when that
    /// branch continues it, cut back to where they part and refilled when
    /// it does not, emptied when no branch has more work than the chain.
    pub(super) fn follow_best(&mut self, local: &Local) {
        let best = self.tree.best().filter(|b| b.work > local.work);
        let Some(best) = best else {
            if self.last_queued.is_some() || !self.queue.is_empty() {
                self.clear_queue();
                self.serves_due = true;
            }
            return;
        };
        if self.last_queued.is_some_and(|(h, _)| h == best.hash) {
            return;
        }
        let stop = self.last_queued.map(|l| l.0);
        let (branch, met) = self.tree.branch(&best.hash, stop.as_ref());
        if met {
            for (hash, height) in branch {
                self.push_queue(hash, height);
            }
        } else {
            // Another branch: the queued blocks it shares stay (downloaded
            // or not), the rest of the queue goes, and its blocks follow.
            let (full, _) = self.tree.branch(&best.hash, None);
            let on_branch: std::collections::HashSet<Hash> = full.iter().map(|(h, _)| *h).collect();
            let shared = self
                .queue
                .iter()
                .take_while(|(h, _)| on_branch.contains(h))
                .count();
            let dropped: Vec<(Hash, u64)> = self.queue.drain(shared..).collect();
            for (h, _) in dropped {
                if let Some(Slot::Have(_, size, _)) = self.slots.remove(&h) {
                    self.have_bytes -= size;
                }
            }
            self.last_queued = self.queue.back().copied();
            for (hash, height) in full {
                self.push_queue(hash, height);
            }
        }
        self.serves_due = true;
    }

    fn push_queue(&mut self, hash: Hash, height: u64) {
        self.last_queued = Some((hash, height));
        if self.slots.contains_key(&hash) || self.handed.iter().any(|h| h.0 == hash) {
            return;
        }
        self.slots.insert(hash, Slot::Wanted);
        self.queue.push_back((hash, height));
    }

    /// Works out, for each peer, up to which queued block its best header
    /// has the blocks.
    pub(super) fn update_serves(&mut self) {
        let front = self.queue.front().map(|q| q.1).unwrap_or(u64::MAX);
        let mut serves = Vec::with_capacity(self.peers.len());
        for (p, s) in &self.peers {
            let mut found = 0;
            if let Some(b) = s.best {
                let mut cur = b.hash;
                while let Some(t) = self.tree.get(&cur) {
                    if t.height < front {
                        break;
                    }
                    if self.slots.contains_key(&cur) {
                        found = t.height;
                        break;
                    }
                    match self.tree.parent(&cur) {
                        Some(prev) => cur = prev,
                        None => break,
                    }
                }
            }
            serves.push((p.clone(), found));
        }
        for (p, found) in serves {
            if let Some(s) = self.peers.get_mut(&p) {
                s.serves = found;
            }
        }
        self.serves_due = false;
    }

    /// Headers answered for `token`, checked and added to the tree against
    /// what `chain` knows.
    pub fn on_headers(
        &mut self,
        token: u64,
        headers: &[Header],
        chain: &impl ChainView,
    ) -> Result<(), Fault> {
        let peer = match self.requests.remove(&token) {
            Some(Pending::Headers(p)) => p,
            Some(other) => {
                // Headers for a blocks request: the request is over (the
                // network has no other answer coming for it), and the peer
                // that would not give the blocks its headers showed is not
                // believed.
                self.requests.insert(token, other);
                self.on_blocks_stalled(token);
                return Err(Fault::WrongKind);
            }
            None => return Err(Fault::Unsolicited),
        };
        if let Some(st) = self.peers.get_mut(&peer) {
            st.asking = false;
        }
        let forgotten = self
            .peers
            .get_mut(&peer)
            .is_some_and(|st| std::mem::take(&mut st.base_forgotten));
        let r = self.add_headers(&peer, headers, chain);
        if forgotten && r == Err(Fault::Disconnected) {
            // Asked from a header the tree has forgotten since: an answer
            // that cannot connect now is nobody's fault; it is asked again
            // from the chain.
            return Ok(());
        }
        if r.is_err() {
            // Headers that do not connect or fail their checks back
            // nothing: the claim is passed over like an empty answer.
            if let Some(st) = self.peers.get_mut(&peer) {
                st.disprove();
            }
            self.sweep_due = true;
        }
        r
    }

    fn add_headers(
        &mut self,
        peer: &P,
        headers: &[Header],
        chain: &impl ChainView,
    ) -> Result<(), Fault> {
        if headers.len() > MAX_HEADERS as usize {
            return Err(Fault::TooMany);
        }
        // Where the first one attaches: a header in the tree or a block the
        // chain has.
        let mut last: Option<Tip> = None;
        // Headers through a block the operator refused are not followed:
        // the answer ends before the first, and the claim it backs is
        // passed over until the peer claims more (no fault of its own).
        let mut refused = false;
        if let Some(first) = headers.first() {
            let prev = first.prev_hash();
            if self.tree.is_invalid(&prev) {
                return Err(Fault::InvalidChain);
            }
            if chain.refused(&prev) {
                self.pass_over_claim(peer);
                return Ok(());
            }
            let parent = self.tree.get(&prev).or_else(|| {
                chain.known(&prev).map(|(height, work)| Tip {
                    hash: prev,
                    height,
                    work,
                })
            });
            let Some(parent) = parent else {
                return Err(Fault::Disconnected);
            };
            // Every header is checked before any goes in.
            let mut placed = Vec::with_capacity(headers.len());
            let mut prev = parent;
            for h in headers {
                if h.prev_hash() != prev.hash {
                    return Err(Fault::Disconnected);
                }
                let Some(w) = chain.header_work(h) else {
                    return Err(Fault::BadHeader);
                };
                let hash = h.hash();
                if self.tree.is_invalid(&hash) {
                    return Err(Fault::InvalidChain);
                }
                if chain.refused(&hash) {
                    refused = true;
                    break;
                }
                let known = chain.known(&hash);
                let tip = match known {
                    Some((height, work)) => Tip { hash, height, work },
                    None => Tip {
                        hash,
                        height: prev.height + 1,
                        work: add_work(&prev.work, &w),
                    },
                };
                placed.push((tip, prev.hash, known.is_some()));
                prev = tip;
            }
            // A full tree makes room for headers with more work than its
            // weakest branches.
            let fresh = placed
                .iter()
                .filter(|(tip, _, in_chain)| !in_chain && self.tree.get(&tip.hash).is_none())
                .count();
            if let Some((top, _, _)) = placed.last() {
                if self.tree.room() < fresh {
                    // The header the new ones attach to stays (the last of
                    // the answer the tree holds already, else the parent).
                    let anchor = placed
                        .iter()
                        .rev()
                        .find(|(t, _, in_chain)| !in_chain && self.tree.get(&t.hash).is_some())
                        .map_or(parent.hash, |(t, _, _)| t.hash);
                    let gone = self.tree.make_room(fresh, &top.work, Some(&anchor));
                    self.forget_bests(&gone);
                }
            }
            for (tip, prev, in_chain) in placed {
                if !in_chain && !self.tree.insert(tip, prev) {
                    // The tree is full: the rest is asked for again later;
                    // the peer is not at fault.
                    break;
                }
                last = Some(tip);
            }
            if refused {
                self.record_best(peer, last);
                self.pass_over_claim(peer);
                return Ok(());
            }
            if last.is_none_or(|l| l.hash != headers[headers.len() - 1].hash()) {
                self.record_best(peer, last);
                return Ok(());
            }
        }
        self.record_best(peer, last);
        let Some(st) = self.peers.get_mut(peer) else {
            return Ok(());
        };
        if headers.len() == MAX_HEADERS as usize || st.backed_work() >= st.work {
            // A full answer (more may follow), or the claim is backed.
            return Ok(());
        }
        // The answer ends short of the claim: it is disproved, and the
        // peer is asked again only once it claims more.
        st.disprove();
        self.sweep_due = true;
        Err(Fault::Unbacked)
    }

    /// A peer's claim rests on a branch the operator refused: passed over
    /// until it claims more, as an unbacked claim, without a fault.
    fn pass_over_claim(&mut self, peer: &P) {
        if let Some(st) = self.peers.get_mut(peer) {
            st.disprove();
        }
        self.sweep_due = true;
    }

    /// Peers whose best header was among `gone` (forgotten by the tree)
    /// are asked for headers from the chain again.
    pub(super) fn forget_bests(&mut self, gone: &std::collections::HashSet<Hash>) {
        if gone.is_empty() {
            return;
        }
        for st in self.peers.values_mut() {
            if st.best.is_some_and(|b| gone.contains(&b.hash)) {
                st.forget_best();
            }
        }
        self.serves_due = true;
    }

    /// The best header a peer has shown moves up to `tip`.
    fn record_best(&mut self, peer: &P, tip: Option<Tip>) {
        let Some(tip) = tip else { return };
        if let Some(st) = self.peers.get_mut(peer) {
            st.shown = st.shown.max(Some(tip.height));
            if st.best.is_none_or(|b| tip.work > b.work) {
                st.best = Some(tip);
                // More than it claimed: that is its claim now.
                if tip.work > st.work {
                    st.work = tip.work;
                    st.height = tip.height;
                }
                self.serves_due = true;
            }
        }
    }

    /// A headers request went unanswered past its deadline: the peer's
    /// claim counts as disproved (the other peers go on), and the request
    /// as failed. Returns whether it was a headers request.
    pub fn on_stalled(&mut self, token: u64) -> bool {
        let stalled = match self.requests.get(&token) {
            Some(Pending::Headers(p)) => Some(p.clone()),
            _ => None,
        };
        self.on_failure(token);
        let Some(p) = stalled else {
            return false;
        };
        if let Some(st) = self.peers.get_mut(&p) {
            st.disprove();
            self.sweep_due = true;
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
}
