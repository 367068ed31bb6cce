//! The header tree: every header peers have shown that the chain does not
//! have yet, keyed by hash, with its parent, height and the cumulative work
//! of its branch. Headers of any peer go in as long as they extend a header
//! the tree or the chain knows, so competing branches sit side by side and
//! the download follows the one with the most work that headers back.
//!
//! The tree is bounded ([`MAX_TREE_HEADERS`]) and swept of what no peer
//! backs any more: a branch lives only while a connected peer's best header
//! is on it (see [`HeaderTree::sweep`]). When it is full, headers with more
//! work take the place of the branches with the least
//! ([`HeaderTree::make_room`]), so peers that fill it with cheap headers
//! cannot keep the branch with the most work out.

use std::collections::{HashMap, HashSet, VecDeque};

use luminex_primitives::Hash;

/// Headers held in the tree at most, all branches together (a few MiB).
pub const MAX_TREE_HEADERS: usize = 32_768;

/// Hashes of blocks that proved invalid, remembered so their descendants
/// are refused as headers.
const MAX_INVALID: usize = 1_024;

/// Cumulative work, big-endian (compares as a number).
pub type Work = [u8; 32];

/// `a + b`, saturating.
pub fn add_work(a: &Work, b: &Work) -> Work {
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in (0..32).rev() {
        let s = u16::from(a[i]) + u16::from(b[i]) + carry;
        out[i] = s as u8;
        carry = s >> 8;
    }
    if carry != 0 {
        [0xff; 32]
    } else {
        out
    }
}

/// A header with its place: hash, height and cumulative work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// Its hash.
    pub hash: Hash,
    /// Its height.
    pub height: u64,
    /// The work of its branch up to it.
    pub work: Work,
}

#[derive(Debug, Clone, Copy)]
struct Node {
    prev: Hash,
    height: u64,
    work: Work,
}

/// Headers not in the chain yet, by hash.
#[derive(Debug, Default)]
pub struct HeaderTree {
    nodes: HashMap<Hash, Node>,
    /// The header with the most work (the first one seen on a tie).
    best: Option<Tip>,
    /// Blocks found invalid, oldest first.
    invalid: VecDeque<Hash>,
    invalid_set: HashSet<Hash>,
}

impl HeaderTree {
    /// Headers held.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Room for this many more headers.
    pub fn room(&self) -> usize {
        MAX_TREE_HEADERS.saturating_sub(self.nodes.len())
    }

    /// The header of a hash, with its place.
    pub fn get(&self, hash: &Hash) -> Option<Tip> {
        self.nodes.get(hash).map(|n| Tip {
            hash: *hash,
            height: n.height,
            work: n.work,
        })
    }

    /// The parent of a held header.
    pub fn parent(&self, hash: &Hash) -> Option<Hash> {
        self.nodes.get(hash).map(|n| n.prev)
    }

    /// The header with the most work.
    pub fn best(&self) -> Option<Tip> {
        self.best
    }

    /// Whether a block is known to be invalid.
    pub fn is_invalid(&self, hash: &Hash) -> bool {
        self.invalid_set.contains(hash)
    }

    /// Adds a header on `prev` (which the caller checked is in the tree or
    /// the chain). Returns false when the tree is full.
    pub fn insert(&mut self, tip: Tip, prev: Hash) -> bool {
        if self.nodes.contains_key(&tip.hash) {
            return true;
        }
        if self.room() == 0 {
            return false;
        }
        self.nodes.insert(
            tip.hash,
            Node {
                prev,
                height: tip.height,
                work: tip.work,
            },
        );
        if self.best.is_none_or(|b| tip.work > b.work) {
            self.best = Some(tip);
        }
        true
    }

    /// Drops a header the chain now has (its children attach to the chain).
    pub fn remove(&mut self, hash: &Hash) {
        self.nodes.remove(hash);
    }

    /// The branch from the tree's root up to `tip`, oldest first, stopping
    /// after `stop` if it is met (then only what follows it).
    pub fn branch(&self, tip: &Hash, stop: Option<&Hash>) -> (Vec<(Hash, u64)>, bool) {
        let mut out = Vec::new();
        let mut cur = *tip;
        let mut met = false;
        while let Some(n) = self.nodes.get(&cur) {
            if Some(&cur) == stop {
                met = true;
                break;
            }
            out.push((cur, n.height));
            cur = n.prev;
        }
        if !met && Some(&cur) == stop {
            met = true;
        }
        out.reverse();
        (out, met)
    }

    /// Keeps only the branches leading to `live` headers and forgets the
    /// rest; the best header is chosen again among what is left.
    pub fn sweep(&mut self, live: impl IntoIterator<Item = Hash>) {
        let mut keep: HashSet<Hash> = HashSet::new();
        for leaf in live {
            let mut cur = leaf;
            while let Some(n) = self.nodes.get(&cur) {
                if !keep.insert(cur) {
                    break;
                }
                cur = n.prev;
            }
        }
        self.nodes.retain(|h, _| keep.contains(h));
        self.rechoose_best();
    }

    /// Makes room for `need` more headers if it can, by forgetting the
    /// branches with the least work: never the path to the best header,
    /// nor the path to `anchor` (the header the incoming ones attach to),
    /// nor a branch whose tip has at least `floor` work. Returns the
    /// headers forgotten.
    ///
    /// The bound alone would let peers that answer first fill the tree
    /// with long branches of cheap headers and leave no room for the
    /// branch with the most work; this keeps the most work instead.
    pub fn make_room(&mut self, need: usize, floor: &Work, anchor: Option<&Hash>) -> HashSet<Hash> {
        let budget = MAX_TREE_HEADERS.saturating_sub(need);
        if self.nodes.len() <= budget {
            return HashSet::new();
        }
        let parents: HashSet<Hash> = self.nodes.values().map(|n| n.prev).collect();
        let mut leaves: Vec<(Work, Hash)> = self
            .nodes
            .iter()
            .filter(|(h, _)| !parents.contains(*h))
            .map(|(h, n)| (n.work, *h))
            .collect();
        // The most work first, then the lowest hash: the same choice every
        // time.
        leaves.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut keep: HashSet<Hash> = HashSet::new();
        let forced: Vec<Hash> = self
            .best
            .map(|b| b.hash)
            .into_iter()
            .chain(anchor.copied())
            .collect();
        for leaf in forced
            .iter()
            .copied()
            .chain(leaves.iter().map(|l| l.1))
            .collect::<Vec<_>>()
        {
            let path = self.path_outside(&leaf, &keep);
            let must =
                forced.contains(&leaf) || self.nodes.get(&leaf).is_some_and(|n| n.work >= *floor);
            if must || keep.len() + path.len() <= budget {
                keep.extend(path);
            }
        }
        let gone: HashSet<Hash> = self
            .nodes
            .keys()
            .filter(|h| !keep.contains(*h))
            .copied()
            .collect();
        self.nodes.retain(|h, _| keep.contains(h));
        self.rechoose_best();
        gone
    }

    /// The headers from `leaf` down to the first one in `keep` or the
    /// chain.
    fn path_outside(&self, leaf: &Hash, keep: &HashSet<Hash>) -> Vec<Hash> {
        let mut out = Vec::new();
        let mut cur = *leaf;
        while let Some(n) = self.nodes.get(&cur) {
            if keep.contains(&cur) {
                break;
            }
            out.push(cur);
            cur = n.prev;
        }
        out
    }

    /// Forgets every header held and the blocks found invalid.
    pub fn forget_headers(&mut self) {
        self.nodes.clear();
        self.best = None;
        self.invalid.clear();
        self.invalid_set.clear();
    }

    /// A block proved invalid: it and every header descending from it go,
    /// and are refused from now on. Returns the headers removed.
    pub fn invalidate(&mut self, hash: &Hash) -> HashSet<Hash> {
        if self.invalid_set.insert(*hash) {
            self.invalid.push_back(*hash);
            if self.invalid.len() > MAX_INVALID {
                if let Some(old) = self.invalid.pop_front() {
                    self.invalid_set.remove(&old);
                }
            }
        }
        let mut by_height: Vec<(u64, Hash, Hash)> = self
            .nodes
            .iter()
            .map(|(h, n)| (n.height, *h, n.prev))
            .collect();
        by_height.sort();
        let mut gone: HashSet<Hash> = HashSet::from([*hash]);
        for (_, h, prev) in by_height {
            if gone.contains(&prev) {
                gone.insert(h);
            }
        }
        self.nodes.retain(|h, _| !gone.contains(h));
        self.rechoose_best();
        gone.remove(hash);
        gone
    }

    fn rechoose_best(&mut self) {
        if self.best.is_some_and(|b| self.nodes.contains_key(&b.hash)) {
            return;
        }
        // The most work, then the lowest hash: the same choice every time.
        self.best = self
            .nodes
            .iter()
            .max_by(|a, b| a.1.work.cmp(&b.1.work).then_with(|| b.0.cmp(a.0)))
            .map(|(h, n)| Tip {
                hash: *h,
                height: n.height,
                work: n.work,
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(n: u64) -> Work {
        let mut out = [0u8; 32];
        out[24..].copy_from_slice(&n.to_be_bytes());
        out
    }

    fn h(n: u8) -> Hash {
        Hash([n; 32])
    }

    #[test]
    fn work_adds_with_carry_and_saturates() {
        assert_eq!(add_work(&w(255), &w(1)), w(256));
        assert_eq!(add_work(&w(u64::MAX), &w(1))[23], 1);
        assert_eq!(add_work(&[0xff; 32], &w(1)), [0xff; 32]);
    }

    #[test]
    fn branches_sweeps_and_invalid_blocks() {
        let mut t = HeaderTree::default();
        // 1 <- 2 <- 3 and 1 <- 4 (more work), all on chain block 0.
        let tip = |n: u8, height: u64, work: u64| Tip {
            hash: h(n),
            height,
            work: w(work),
        };
        assert!(t.insert(tip(1, 1, 1), h(0)));
        assert!(t.insert(tip(2, 2, 2), h(1)));
        assert!(t.insert(tip(3, 3, 3), h(2)));
        assert_eq!(t.best().unwrap().hash, h(3));
        assert!(t.insert(tip(4, 2, 10), h(1)));
        assert_eq!(t.best().unwrap().hash, h(4));
        assert_eq!(t.branch(&h(4), None), (vec![(h(1), 1), (h(4), 2)], false));
        assert_eq!(
            t.branch(&h(3), Some(&h(1))),
            (vec![(h(2), 2), (h(3), 3)], true)
        );
        // Only what leads to 3 is kept: 4 goes, 3 is the best again.
        t.sweep([h(3)]);
        assert_eq!(t.len(), 3);
        assert_eq!(t.best().unwrap().hash, h(3));
        // 2 is invalid: 3 goes with it, and is refused after.
        let gone = t.invalidate(&h(2));
        assert_eq!(gone.len(), 1, "3 went with it");
        assert!(t.is_invalid(&h(2)));
        assert_eq!(t.best().unwrap().hash, h(1));
        t.sweep([]);
        assert!(t.is_empty());
        assert_eq!(t.best(), None);
    }

    #[test]
    fn a_full_tree_forgets_its_weakest_branches_never_the_best() {
        let mut t = HeaderTree::default();
        let mut n = 0u32;
        let mut id = || {
            n += 1;
            let mut b = [0u8; 32];
            b[..4].copy_from_slice(&n.to_be_bytes());
            Hash(b)
        };
        // The best branch: few headers, much work. Then cheap branches
        // fill the rest.
        let mut prev = h(0);
        let mut best = Vec::new();
        for i in 1..=10u64 {
            let x = id();
            assert!(t.insert(
                Tip {
                    hash: x,
                    height: i,
                    work: w(1_000 * i)
                },
                prev
            ));
            best.push(x);
            prev = x;
        }
        let mut cheap = Vec::new();
        while t.room() > 0 {
            let x = id();
            let height = 1 + (cheap.len() as u64 % 3);
            assert!(t.insert(
                Tip {
                    hash: x,
                    height,
                    work: w(height)
                },
                h(0)
            ));
            cheap.push(x);
        }
        assert!(!t.insert(
            Tip {
                hash: id(),
                height: 1,
                work: w(1)
            },
            h(0)
        ));
        // Headers with less work than every branch make no room.
        assert!(t.make_room(5, &w(1), None).is_empty());
        assert_eq!(t.room(), 0);
        // With more work they do, taking the weakest first.
        let gone = t.make_room(5, &w(2), None);
        assert_eq!(gone.len(), 5);
        assert!(gone.iter().all(|g| cheap.contains(g)));
        assert!(gone.iter().all(|g| !t.nodes.contains_key(g)));
        assert_eq!(t.room(), 5);
        // However much room is asked, the best branch stays, and so does
        // the anchor (the header an answer attaches to).
        assert!(t.nodes.contains_key(&cheap[0]));
        let gone = t.make_room(MAX_TREE_HEADERS, &[0xff; 32], Some(&cheap[0]));
        assert_eq!(gone.len(), cheap.len() - 6);
        assert!(!gone.contains(&cheap[0]));
        assert_eq!(t.len(), best.len() + 1);
        assert_eq!(t.best().unwrap().hash, best[9]);
        assert_eq!(t.branch(&best[9], None).0.len(), 10);
    }
}
