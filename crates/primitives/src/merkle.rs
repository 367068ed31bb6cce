//! Merkle trees over transaction wtxids, with inclusion proofs.
//!
//! Leaves and inner nodes are hashed under different domains, and a level with
//! an odd number of nodes *promotes* its last node instead of pairing it with
//! itself. Bitcoin's duplication of the last node made two different
//! transaction lists share a root (CVE-2012-2459); here each list of leaves has
//! its own root.

use crate::codec::{put_seq, Decode, DecodeError, Encode, Reader, Sink};
use crate::hash::{Domain, MERKLE_LEAF, MERKLE_NODE};
use crate::Hash;

/// The tree shape shared by the transaction tree and the multisig key-set
/// tree ([`crate::multisig`]): leaves and inner nodes hashed under their own
/// domains, an odd last node promoted to the next level.
#[derive(Clone, Copy)]
pub(crate) struct TreeDomains {
    /// Domain of leaves.
    pub leaf: Domain,
    /// Domain of inner nodes.
    pub node: Domain,
}

/// The transaction tree's domains.
const TX_TREE: TreeDomains = TreeDomains {
    leaf: MERKLE_LEAF,
    node: MERKLE_NODE,
};

impl TreeDomains {
    fn leaf(self, h: &Hash) -> Hash {
        self.leaf.hash(&h.0)
    }

    fn node(self, l: &Hash, r: &Hash) -> Hash {
        let mut h = self.node.hasher();
        h.update(&l.0);
        h.update(&r.0);
        h.finish()
    }

    fn next_level(self, level: &[Hash]) -> Vec<Hash> {
        level
            .chunks(2)
            .map(|c| {
                if c.len() == 2 {
                    self.node(&c[0], &c[1])
                } else {
                    c[0]
                }
            })
            .collect()
    }

    /// The root of `leaves`; [`Hash::ZERO`] for none.
    pub(crate) fn root(self, leaves: &[Hash]) -> Hash {
        if leaves.is_empty() {
            return Hash::ZERO;
        }
        let mut level: Vec<Hash> = leaves.iter().map(|h| self.leaf(h)).collect();
        while level.len() > 1 {
            level = self.next_level(&level);
        }
        level[0]
    }

    /// Sibling hashes from the bottom up for `leaves[index]`, or `None` if
    /// out of range.
    pub(crate) fn path(self, leaves: &[Hash], index: usize) -> Option<Vec<Hash>> {
        if index >= leaves.len() {
            return None;
        }
        let mut siblings = Vec::new();
        let mut level: Vec<Hash> = leaves.iter().map(|h| self.leaf(h)).collect();
        let mut i = index;
        while level.len() > 1 {
            if let Some(s) = level.get(i ^ 1) {
                siblings.push(*s);
            }
            level = self.next_level(&level);
            i /= 2;
        }
        Some(siblings)
    }

    /// How many siblings the path of leaf `index` among `len` leaves has
    /// (levels where the node is promoted have none).
    pub(crate) fn path_len(index: usize, len: usize) -> usize {
        let (mut i, mut len, mut n) = (index, len, 0);
        while len > 1 {
            if i % 2 == 1 || i + 1 < len {
                n += 1;
            }
            i /= 2;
            len = len.div_ceil(2);
        }
        n
    }

    /// The root that `item` at `index` among `len` leaves leads to through
    /// `siblings`, or `None` if the path does not have exactly the siblings
    /// that position needs.
    pub(crate) fn fold(
        self,
        item: &Hash,
        index: usize,
        len: usize,
        siblings: &[Hash],
    ) -> Option<Hash> {
        if index >= len {
            return None;
        }
        let mut h = self.leaf(item);
        let (mut i, mut len) = (index, len);
        let mut sib = siblings.iter();
        while len > 1 {
            if i % 2 == 1 {
                h = self.node(sib.next()?, &h);
            } else if i + 1 < len {
                h = self.node(&h, sib.next()?);
            }
            i /= 2;
            len = len.div_ceil(2);
        }
        sib.next().is_none().then_some(h)
    }
}

/// The Merkle root of `leaves`; [`Hash::ZERO`] for none.
pub fn root(leaves: &[Hash]) -> Hash {
    TX_TREE.root(leaves)
}

/// A proof that a leaf is at `index` among `leaf_count` leaves of a root.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct MerkleProof {
    /// Position of the leaf.
    pub index: u32,
    /// Number of leaves in the tree.
    pub leaf_count: u32,
    /// Sibling hashes from the bottom up (promoted levels have none).
    pub siblings: Vec<Hash>,
}

impl MerkleProof {
    /// Builds the proof for `leaves[index]`, or `None` if out of range.
    pub fn build(leaves: &[Hash], index: usize) -> Option<MerkleProof> {
        let siblings = TX_TREE.path(leaves, index)?;
        Some(MerkleProof {
            index: u32::try_from(index).ok()?,
            leaf_count: u32::try_from(leaves.len()).ok()?,
            siblings,
        })
    }

    /// Whether this proves `item` is in the tree with root `root`.
    pub fn verify(&self, item: &Hash, root: &Hash) -> bool {
        TX_TREE.fold(
            item,
            self.index as usize,
            self.leaf_count as usize,
            &self.siblings,
        ) == Some(*root)
    }
}

impl Encode for MerkleProof {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.index.to_le_bytes());
        s.put(&self.leaf_count.to_le_bytes());
        put_seq(s, &self.siblings);
    }
}

impl Decode for MerkleProof {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MerkleProof {
            index: r.u32("proof index")?,
            leaf_count: r.u32("proof leaf count")?,
            siblings: r.seq("proof siblings", 32, Hash::decode)?,
        })
    }
}
