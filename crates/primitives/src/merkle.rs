//! Merkle trees over transaction wtxids, with inclusion proofs.
//!
//! Leaves and inner nodes are hashed under different domains, and a level with
//! an odd number of nodes *promotes* its last node instead of pairing it with
//! itself. Bitcoin's duplication of the last node made two different
//! transaction lists share a root (CVE-2012-2459); here each list of leaves has
//! its own root.

use crate::codec::{put_seq, Decode, DecodeError, Encode, Reader, Sink};
use crate::hash::{MERKLE_LEAF, MERKLE_NODE};
use crate::Hash;

fn leaf(h: &Hash) -> Hash {
    MERKLE_LEAF.hash(&h.0)
}

fn node(l: &Hash, r: &Hash) -> Hash {
    let mut h = MERKLE_NODE.hasher();
    h.update(&l.0);
    h.update(&r.0);
    h.finish()
}

fn next_level(level: &[Hash]) -> Vec<Hash> {
    level
        .chunks(2)
        .map(|c| {
            if c.len() == 2 {
                node(&c[0], &c[1])
            } else {
                c[0]
            }
        })
        .collect()
}

/// The Merkle root of `leaves`; [`Hash::ZERO`] for none.
pub fn root(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return Hash::ZERO;
    }
    let mut level: Vec<Hash> = leaves.iter().map(leaf).collect();
    while level.len() > 1 {
        level = next_level(&level);
    }
    level[0]
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
        if index >= leaves.len() {
            return None;
        }
        let mut siblings = Vec::new();
        let mut level: Vec<Hash> = leaves.iter().map(leaf).collect();
        let mut i = index;
        while level.len() > 1 {
            if let Some(s) = level.get(i ^ 1) {
                siblings.push(*s);
            }
            level = next_level(&level);
            i /= 2;
        }
        Some(MerkleProof {
            index: u32::try_from(index).ok()?,
            leaf_count: u32::try_from(leaves.len()).ok()?,
            siblings,
        })
    }

    /// Whether this proves `item` is in the tree with root `root`.
    pub fn verify(&self, item: &Hash, root: &Hash) -> bool {
        if self.index >= self.leaf_count {
            return false;
        }
        let mut h = leaf(item);
        let (mut i, mut len) = (self.index as usize, self.leaf_count as usize);
        let mut sib = self.siblings.iter();
        while len > 1 {
            if i % 2 == 1 {
                match sib.next() {
                    Some(s) => h = node(s, &h),
                    None => return false,
                }
            } else if i + 1 < len {
                match sib.next() {
                    Some(s) => h = node(&h, s),
                    None => return false,
                }
            }
            i /= 2;
            len = len.div_ceil(2);
        }
        sib.next().is_none() && h == *root
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
