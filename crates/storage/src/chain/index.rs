//! The in-memory header index: every known header and the main chain by
//! height, and the reads served from it.

use super::*;
use std::collections::HashSet;

/// Every known header, and the main chain by height.
#[derive(Default)]
pub(super) struct Index {
    pub(super) headers: HashMap<Hash, HeaderRecord>,
    pub(super) main: Vec<Hash>,
    /// The blocks marked invalid on disk (their descendants are marked
    /// only here): `true` for those the operator invalidated, `false` for
    /// those that failed validation.
    pub(super) roots: HashMap<Hash, bool>,
}

impl Index {
    pub(super) fn on_main(&self, hash: &Hash, height: u64) -> bool {
        self.main.get(height as usize) == Some(hash)
    }

    /// Marks every descendant of the `invalid` blocks invalid. Only the
    /// block that failed (or that the operator invalidated) is marked on
    /// disk; its descendants are marked here, when it is marked and again
    /// at every open. A descendant is invalid only by the operator's choice
    /// when every marked block on its way back is.
    pub(super) fn invalidate_descendants(&mut self, invalid: &[Hash]) {
        let children = self.children();
        for root in invalid {
            let Some(by_operator) = self.headers.get(root).map(|r| r.invalidated) else {
                continue;
            };
            let mut frontier = vec![*root];
            while let Some(h) = frontier.pop() {
                for c in children.get(&h).into_iter().flatten() {
                    if let Some(r) = self.headers.get_mut(c) {
                        r.invalidated = by_operator && (!r.invalid || r.invalidated);
                        r.invalid = true;
                        frontier.push(*c);
                    }
                }
            }
        }
    }

    /// Each known block's children.
    fn children(&self) -> HashMap<Hash, Vec<Hash>> {
        let mut children: HashMap<Hash, Vec<Hash>> = HashMap::new();
        for (hash, r) in &self.headers {
            children
                .entry(r.header.prev_hash())
                .or_default()
                .push(*hash);
        }
        children
    }

    /// Marks the blocks again from [`Index::roots`] alone, after marks
    /// were cleared.
    pub(super) fn recompute_invalid(&mut self) {
        for (hash, r) in self.headers.iter_mut() {
            let root = self.roots.get(hash);
            r.invalid = root.is_some();
            r.invalidated = root.copied().unwrap_or(false);
        }
        let roots: Vec<Hash> = self.roots.keys().copied().collect();
        self.invalidate_descendants(&roots);
    }

    /// Block `hash`, its known ancestors and its known descendants.
    pub(super) fn lineage(&self, hash: &Hash) -> Vec<Hash> {
        let mut out = vec![*hash];
        let mut cur = *hash;
        while let Some(r) = self.headers.get(&cur) {
            if r.height == 0 {
                break;
            }
            cur = r.header.prev_hash();
            if !self.headers.contains_key(&cur) {
                break;
            }
            out.push(cur);
        }
        let children = self.children();
        let mut frontier = vec![*hash];
        while let Some(h) = frontier.pop() {
            for c in children.get(&h).into_iter().flatten() {
                out.push(*c);
                frontier.push(*c);
            }
        }
        out
    }
}

/// The header index and the stored consensus states, as consensus rules
/// read them.
pub(super) struct Context<'a> {
    pub(super) index: &'a Index,
    pub(super) kv: &'a dyn KvStore,
    /// The staking state after the tip, on staking chains.
    pub(super) staking: Option<&'a luminex_ledger::StakingState>,
    /// The first read that failed: the rules saw "no record", so their
    /// verdict is about the disk, not the block
    /// ([`ChainStore::with_context_read`]).
    pub(super) failed: std::cell::RefCell<Option<StoreError>>,
}

impl HeaderChain for Context<'_> {
    fn ancestor(&self, tip: &Hash, height: u64) -> Option<Header> {
        self.index.ancestor(tip, height)
    }
}

impl ChainContext for Context<'_> {
    fn consensus_record(&self, height: u64) -> Option<ConsensusRecord> {
        match self.kv.get(CONSENSUS, &height) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(height, error = %e, "reading consensus state failed");
                self.failed.borrow_mut().get_or_insert(e);
                None
            }
        }
    }

    fn with_staking(&self, f: &mut dyn FnMut(&luminex_ledger::StakingState)) -> bool {
        match self.staking {
            Some(s) => {
                f(s);
                true
            }
            None => false,
        }
    }
}

impl HeaderChain for Index {
    fn ancestor(&self, tip: &Hash, height: u64) -> Option<Header> {
        let mut cur = *tip;
        loop {
            let rec = self.headers.get(&cur)?;
            if rec.height < height {
                return None;
            }
            if self.on_main(&cur, rec.height) {
                return self
                    .headers
                    .get(self.main.get(height as usize)?)
                    .map(|r| r.header);
            }
            if rec.height == height {
                return Some(rec.header);
            }
            cur = rec.header.prev_hash();
        }
    }
}

impl ChainStore {
    /// The parent description of the current tip, for header rules.
    pub fn tip_parent(&self) -> Parent {
        let t = self.tip();
        Parent {
            hash: t.hash,
            height: t.height,
            header: t.header,
        }
    }

    /// The height of a known block that is not marked invalid (main chain
    /// or side branch), from the in-memory index.
    pub fn known_height(&self, hash: &Hash) -> Option<u64> {
        let index = self.index.read();
        index
            .headers
            .get(hash)
            .filter(|r| !r.invalid)
            .map(|r| r.height)
    }

    /// Whether block `hash` is invalid only by the operator's choice
    /// (`invalidateblock` on it or an ancestor): refused, nobody's fault.
    pub fn is_invalidated(&self, hash: &Hash) -> bool {
        self.index
            .read()
            .headers
            .get(hash)
            .is_some_and(|r| r.invalid && r.invalidated)
    }

    /// Whether block `hash` is invalid, and if so whether only by the
    /// operator's choice, as the index knows it (a block built on a marked
    /// one is marked here, though only the marked one is on disk):
    /// `None` for a block the index does not hold.
    pub fn verdict(&self, hash: &Hash) -> Option<(bool, bool)> {
        self.index
            .read()
            .headers
            .get(hash)
            .map(|r| (r.invalid, r.invalid && r.invalidated))
    }

    /// The tips of every branch the index knows, as Bitcoin Core's
    /// `getchaintips` lists them: the main chain's tip, then each block off
    /// the main chain that no known block builds on, with the height where
    /// its branch leaves the main chain and whether the branch is known
    /// valid ([`ChainTip::validated`]: a read of each of its blocks' undo
    /// records, which fails only with the store). Highest first.
    pub fn chain_tips(&self) -> Result<Vec<ChainTip>, StoreError> {
        // The branches' blocks, tip first, each with whether the walk
        // reached the main chain (a branch whose ancestors are missing
        // from the index cannot have been connected).
        let mut branches: Vec<(Vec<Hash>, bool)> = Vec::new();
        let mut tips = Vec::new();
        {
            let index = self.index.read();
            let off_main: Vec<(&Hash, &HeaderRecord)> = index
                .headers
                .iter()
                .filter(|(h, r)| !index.on_main(h, r.height))
                .collect();
            let parents: HashSet<Hash> =
                off_main.iter().map(|(_, r)| r.header.prev_hash()).collect();
            if let Some(tip) = index.main.last() {
                tips.push(ChainTip {
                    hash: *tip,
                    height: index.main.len() as u64 - 1,
                    fork_height: index.main.len() as u64 - 1,
                    invalid: false,
                    validated: true,
                    active: true,
                });
                branches.push((Vec::new(), true));
            }
            for (hash, rec) in off_main {
                if parents.contains(hash) {
                    continue;
                }
                // Back along the branch to the main chain (a branch whose
                // ancestors are missing from the index ends at its lowest
                // known block's parent height).
                let mut fork_height = rec.height.saturating_sub(1);
                let mut cur = rec.header.prev_hash();
                let mut invalid = rec.invalid;
                let mut blocks = vec![*hash];
                let mut reached_main = false;
                while let Some(r) = index.headers.get(&cur) {
                    if index.on_main(&cur, r.height) {
                        reached_main = true;
                        break;
                    }
                    invalid |= r.invalid;
                    fork_height = r.height.saturating_sub(1);
                    blocks.push(cur);
                    cur = r.header.prev_hash();
                }
                tips.push(ChainTip {
                    hash: *hash,
                    height: rec.height,
                    fork_height,
                    invalid,
                    validated: false,
                    active: false,
                });
                branches.push((blocks, reached_main && !invalid));
            }
        }
        // Undo records are read without the index's lock.
        for (tip, (blocks, candidate)) in tips.iter_mut().zip(branches) {
            if tip.active || !candidate {
                continue;
            }
            let mut connected = true;
            for h in &blocks {
                if self.kv.get_raw(UNDO.id, &h.to_key())?.is_none() {
                    connected = false;
                    break;
                }
            }
            tip.validated = connected;
        }
        tips.sort_by(|a, b| b.height.cmp(&a.height).then(a.hash.cmp(&b.hash)));
        Ok(tips)
    }

    /// A block locator of the main chain: the tip, the nine blocks below
    /// it, then hashes at doubling distances back to genesis.
    pub fn locator(&self) -> Vec<Hash> {
        let index = self.index.read();
        let mut out = Vec::new();
        let Some(mut h) = index.main.len().checked_sub(1) else {
            return out;
        };
        let mut step = 1;
        loop {
            out.push(index.main[h]);
            if h == 0 {
                break;
            }
            if out.len() >= 10 {
                step *= 2;
            }
            h = h.saturating_sub(step);
        }
        out
    }

    /// Up to `max` main-chain headers after the first `locator` hash that is
    /// on the main chain (after genesis when none is).
    pub fn headers_after(&self, locator: &[Hash], max: usize) -> Vec<Header> {
        let index = self.index.read();
        let start = locator
            .iter()
            .find_map(|h| {
                let r = index.headers.get(h)?;
                index.on_main(h, r.height).then_some(r.height + 1)
            })
            .unwrap_or(1) as usize;
        index
            .main
            .iter()
            .skip(start)
            .take(max)
            .filter_map(|h| index.headers.get(h).map(|r| r.header))
            .collect()
    }
}
