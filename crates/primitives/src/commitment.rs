//! How a block header commits to the block's transactions.
//!
//! Two commitments exist, chosen by the chain spec:
//!
//! - [`MerkleCommitment::Tagged`]: the header's Merkle root is
//!   [`crate::merkle::root`] over every wtxid (domain-separated hashes, an
//!   odd node promoted). One root per list of leaves; it commits to the
//!   witnesses directly.
//! - [`MerkleCommitment::Bitcoin`]: the root is computed exactly as Bitcoin
//!   computes it, so unmodified mining software (getblocktemplate miners,
//!   Stratum v1 miners and pools) reproduces it. Leaf 0 is SHA-256d of the
//!   coinbase's full encoding (a miner hashes the coinbase bytes it was
//!   given, or `coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2`); every other
//!   leaf is the transaction's witness-free id (its txid, which a
//!   getblocktemplate miner reads from the template). Pairs are hashed with
//!   SHA-256d and an odd last node is paired with itself. The witnesses are
//!   committed separately, as BIP 141 does: the coinbase's `data` starts with
//!   [`witness_commitment`], SHA-256d of (the same Merkle tree over the
//!   wtxids, the coinbase's leaf set to zero) followed by 32 zero bytes (BIP
//!   141's witness reserved value, fixed at zero here). The rest of the
//!   coinbase's data (up to [`MAX_COINBASE_EXTRA`] bytes) is free for a pool
//!   tag and the extranonce miners roll.
//!
//! Duplicating the last node lets two transaction lists share a root
//! (CVE-2012-2459: `[a, b, c]` and `[a, b, c, c]`). [`bitcoin_root`] reports
//! such a *mutation* as Bitcoin Core's `ComputeMerkleRoot` does; a mutated
//! block is rejected without condemning its header, because the real block
//! with that header may still be valid.

use serde::{Deserialize, Serialize};

use crate::codec::Encode;
use crate::hash::sha256d;
use crate::tx::MAX_TX_DATA;
use crate::{merkle, Hash, Transaction};

/// Bytes of the witness commitment at the start of a coinbase's data.
pub const WITNESS_COMMITMENT_LEN: usize = 32;

/// Most bytes after the witness commitment in a coinbase's data (pool tag and
/// extranonce), with [`MerkleCommitment::Bitcoin`].
pub const MAX_COINBASE_EXTRA: usize = MAX_TX_DATA as usize - WITNESS_COMMITMENT_LEN;

/// The way a header's Merkle root commits to the transactions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MerkleCommitment {
    /// Tagged Merkle tree over wtxids ([`crate::merkle::root`]).
    #[default]
    Tagged,
    /// Bitcoin's Merkle tree over the coinbase's SHA-256d and the other
    /// transactions' txids, with the witnesses committed in the coinbase.
    Bitcoin,
}

/// Why transactions do not match a header's commitment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommitmentError {
    /// The transaction list repeats a subtree, so another list has the same
    /// root (CVE-2012-2459).
    #[error("transaction list is mutated (duplicate subtree)")]
    Mutated,
    /// The root differs from the header's.
    #[error("merkle root mismatch")]
    Root,
    /// The coinbase carries no witness commitment.
    #[error("coinbase has no witness commitment")]
    MissingWitnessCommitment,
    /// The coinbase's witness commitment does not match the witnesses.
    #[error("witness commitment mismatch")]
    Witness,
}

/// A Bitcoin Merkle root and whether the leaves were mutated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitcoinRoot {
    /// The root ([`Hash::ZERO`] for no leaves).
    pub root: Hash,
    /// Whether some level paired two equal nodes at an even position, so a
    /// different leaf list has the same root (CVE-2012-2459).
    pub mutated: bool,
}

fn pair(l: &Hash, r: &Hash) -> Hash {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(&l.0);
    buf[32..].copy_from_slice(&r.0);
    sha256d(&buf)
}

/// Bitcoin's Merkle root of `leaves`: SHA-256d of each pair, the last node of
/// an odd level paired with itself.
pub fn bitcoin_root(leaves: &[Hash]) -> BitcoinRoot {
    if leaves.is_empty() {
        return BitcoinRoot {
            root: Hash::ZERO,
            mutated: false,
        };
    }
    let mut mutated = false;
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        // Two equal siblings: the list with one of them removed (or with a
        // copy appended) has the same root.
        mutated |= level.chunks_exact(2).any(|c| c[0] == c[1]);
        level = level
            .chunks(2)
            .map(|c| pair(&c[0], c.get(1).unwrap_or(&c[0])))
            .collect();
    }
    BitcoinRoot {
        root: level[0],
        mutated,
    }
}

/// The Merkle branch of leaf 0 in Bitcoin's tree: the sibling at each level,
/// bottom up. A Stratum miner folds it as `root = SHA-256d(root ‖ sibling)`.
pub fn bitcoin_branch(leaves: &[Hash]) -> Vec<Hash> {
    let mut branch = Vec::new();
    let mut level = leaves.to_vec();
    while level.len() > 1 {
        branch.push(level[1]);
        level = level
            .chunks(2)
            .map(|c| pair(&c[0], c.get(1).unwrap_or(&c[0])))
            .collect();
    }
    branch
}

/// Folds a leaf-0 `branch` onto `leaf`, as a Stratum miner does.
pub fn fold_branch(leaf: Hash, branch: &[Hash]) -> Hash {
    branch.iter().fold(leaf, |acc, s| pair(&acc, s))
}

/// Leaf 0 of Bitcoin's tree: SHA-256d of the coinbase's full encoding.
pub fn coinbase_leaf(coinbase: &Transaction) -> Hash {
    sha256d(&coinbase.encode())
}

/// The witness commitment of a block whose transactions (coinbase first)
/// have `wtxids`: SHA-256d(witness root ‖ 32 zero bytes), the witness root
/// being Bitcoin's tree over the wtxids with the coinbase's replaced by zero.
/// Only `wtxids[1..]` are read.
pub fn witness_commitment(wtxids: &[Hash]) -> Hash {
    let mut leaves = Vec::with_capacity(wtxids.len().max(1));
    leaves.push(Hash::ZERO);
    leaves.extend(wtxids.iter().skip(1).copied());
    pair(&bitcoin_root(&leaves).root, &Hash::ZERO)
}

/// The data of a coinbase under [`MerkleCommitment::Bitcoin`]: the witness
/// commitment, then `extra` (pool tag, extranonce). `None` if `extra` is
/// longer than [`MAX_COINBASE_EXTRA`].
pub fn coinbase_data(commitment: &Hash, extra: &[u8]) -> Option<Vec<u8>> {
    if extra.len() > MAX_COINBASE_EXTRA {
        return None;
    }
    let mut data = Vec::with_capacity(WITNESS_COMMITMENT_LEN + extra.len());
    data.extend_from_slice(&commitment.0);
    data.extend_from_slice(extra);
    Some(data)
}

/// The witness commitment a coinbase carries (the first 32 bytes of its
/// data), if it has one.
pub fn committed_witness(coinbase: &Transaction) -> Option<Hash> {
    coinbase
        .data
        .get(..WITNESS_COMMITMENT_LEN)
        .and_then(Hash::from_slice)
}

impl MerkleCommitment {
    /// The root a header should carry for `txs` (coinbase first). Building a
    /// block: it does not look for mutations.
    pub fn root(self, txs: &[Transaction]) -> Hash {
        match self {
            MerkleCommitment::Tagged => {
                let wtxids: Vec<Hash> = txs.iter().map(Transaction::wtxid).collect();
                merkle::root(&wtxids)
            }
            MerkleCommitment::Bitcoin => bitcoin_root(&self.leaves(txs)).root,
        }
    }

    /// [`MerkleCommitment::root`] given the ids already computed: the
    /// `txids` and `wtxids` of every transaction in block order, `coinbase`
    /// being the first.
    pub fn root_of_ids(self, coinbase: &Transaction, txids: &[Hash], wtxids: &[Hash]) -> Hash {
        match self {
            MerkleCommitment::Tagged => merkle::root(wtxids),
            MerkleCommitment::Bitcoin => {
                let mut leaves = Vec::with_capacity(txids.len());
                leaves.push(coinbase_leaf(coinbase));
                leaves.extend(txids.iter().skip(1).copied());
                bitcoin_root(&leaves).root
            }
        }
    }

    /// The leaves of the commitment's tree for `txs`.
    pub fn leaves(self, txs: &[Transaction]) -> Vec<Hash> {
        match self {
            MerkleCommitment::Tagged => txs.iter().map(Transaction::wtxid).collect(),
            MerkleCommitment::Bitcoin => txs
                .iter()
                .enumerate()
                .map(|(i, t)| if i == 0 { coinbase_leaf(t) } else { t.txid() })
                .collect(),
        }
    }

    /// Checks `txs` (coinbase first) against a header's `root`.
    pub fn check(self, root: &Hash, txs: &[Transaction]) -> Result<(), CommitmentError> {
        let txids: Vec<Hash> = txs.iter().map(Transaction::txid).collect();
        let wtxids: Vec<Hash> = txs.iter().map(Transaction::wtxid).collect();
        self.check_ids(root, txs.first(), &txids, &wtxids)
    }

    /// [`MerkleCommitment::check`] given the ids already computed (`txids`
    /// and `wtxids` of every transaction, in block order).
    pub fn check_ids(
        self,
        root: &Hash,
        coinbase: Option<&Transaction>,
        txids: &[Hash],
        wtxids: &[Hash],
    ) -> Result<(), CommitmentError> {
        match self {
            MerkleCommitment::Tagged => {
                if merkle::root(wtxids) != *root {
                    return Err(CommitmentError::Root);
                }
            }
            MerkleCommitment::Bitcoin => {
                let mut leaves = Vec::with_capacity(txids.len());
                if let Some(cb) = coinbase {
                    leaves.push(coinbase_leaf(cb));
                    leaves.extend(txids.iter().skip(1).copied());
                }
                let computed = bitcoin_root(&leaves);
                if computed.mutated {
                    return Err(CommitmentError::Mutated);
                }
                if computed.root != *root {
                    return Err(CommitmentError::Root);
                }
                if let Some(cb) = coinbase {
                    let found =
                        committed_witness(cb).ok_or(CommitmentError::MissingWitnessCommitment)?;
                    if found != witness_commitment(wtxids) {
                        return Err(CommitmentError::Witness);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(b: u8) -> Hash {
        Hash([b; 32])
    }

    /// Both commitments give the same root from the ids a template already
    /// holds as from the transactions.
    #[test]
    fn a_root_from_the_ids_is_the_root_from_the_transactions() {
        let tx = |n: u8, witnessed: bool| Transaction {
            version: 2,
            chain_id: 1,
            kind: if n == 0 {
                crate::TxKind::Coinbase { height: 7 }
            } else {
                crate::TxKind::Transfer
            },
            inputs: vec![],
            outputs: vec![],
            expiry_height: 0,
            witnesses: if witnessed {
                vec![crate::tx::Witness::placeholder(crate::SchemeId::MlDsa44)]
            } else {
                vec![]
            },
            data: vec![n; 3],
        };
        for n in [1u8, 2, 5] {
            let txs: Vec<Transaction> = (0..n).map(|i| tx(i, i > 0)).collect();
            let txids: Vec<Hash> = txs.iter().map(Transaction::txid).collect();
            let wtxids: Vec<Hash> = txs.iter().map(Transaction::wtxid).collect();
            for c in [MerkleCommitment::Tagged, MerkleCommitment::Bitcoin] {
                assert_eq!(
                    c.root_of_ids(&txs[0], &txids, &wtxids),
                    c.root(&txs),
                    "{c:?}, {n}"
                );
            }
        }
    }

    /// Bitcoin block 100,000's four txids give its header's Merkle root.
    #[test]
    fn bitcoin_block_100000_root() {
        let txids: Vec<Hash> = [
            "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87",
            "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
            "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4",
            "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let r = bitcoin_root(&txids);
        assert_eq!(
            r.root.to_string(),
            "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766"
        );
        assert!(!r.mutated);
        assert_eq!(fold_branch(txids[0], &bitcoin_branch(&txids)), r.root);
    }

    #[test]
    fn a_duplicated_last_leaf_is_a_mutation_with_the_same_root() {
        let three = [h(1), h(2), h(3)];
        let four = [h(1), h(2), h(3), h(3)];
        let (a, b) = (bitcoin_root(&three), bitcoin_root(&four));
        assert_eq!(a.root, b.root);
        assert!(!a.mutated);
        assert!(b.mutated);
        // Duplicated subtrees higher up too: [1,2,3,4,5,6,5,6].
        let six = [h(1), h(2), h(3), h(4), h(5), h(6)];
        let eight = [h(1), h(2), h(3), h(4), h(5), h(6), h(5), h(6)];
        assert_eq!(bitcoin_root(&six).root, bitcoin_root(&eight).root);
        assert!(!bitcoin_root(&six).mutated);
        assert!(bitcoin_root(&eight).mutated);
    }

    #[test]
    fn branches_fold_to_the_root_for_every_size() {
        for n in 1..20u8 {
            let leaves: Vec<Hash> = (0..n).map(h).collect();
            let b = bitcoin_branch(&leaves);
            assert_eq!(
                fold_branch(leaves[0], &b),
                bitcoin_root(&leaves).root,
                "{n}"
            );
        }
        assert_eq!(bitcoin_root(&[]).root, Hash::ZERO);
    }
}
