//! m-of-n multisig over post-quantum keys, committed as a Merkle root.
//!
//! A multisig lock ([`Lock::Multisig`]) holds the threshold `m`, the key
//! count `n` and the root of a Merkle tree whose leaves are the `n` key
//! hashes ([`PublicKey::key_hash`], so each leaf also commits to its key's
//! scheme and any mix of schemes is allowed). A spender reveals only the `m`
//! keys that sign, each with its position in the set and its Merkle path,
//! instead of all `n` keys: with ML-DSA-65 a key is 1,952 bytes and a path
//! of a 10-key set is at most four 32-byte hashes (ADR 0020).
//!
//! The tree is the transaction tree's shape (an odd last node is promoted,
//! never duplicated) under its own hash domains (`luminex/multisig/leaf`,
//! `luminex/multisig/node`), so a key-set root can never be confused with a
//! block's transaction root.
//!
//! This module checks shapes and membership only; signatures are verified
//! by the ledger.

use crate::codec::{put_seq, Decode, DecodeError, Encode, Reader, Sink};
use crate::hash::{MULTISIG_LEAF, MULTISIG_NODE};
use crate::keys::{PublicKey, Signature};
use crate::merkle::TreeDomains;
use crate::{Hash, Lock};

const KEY_SET_TREE: TreeDomains = TreeDomains {
    leaf: MULTISIG_LEAF,
    node: MULTISIG_NODE,
};

/// Most keys in a multisig set (the count is encoded as one byte).
pub const MAX_MULTISIG_KEYS: usize = u8::MAX as usize;

/// Most siblings in a key's Merkle path: the depth of a tree of
/// [`MAX_MULTISIG_KEYS`] leaves.
pub const MAX_KEY_PATH: u64 = 8;

/// Why a threshold and key count make no multisig lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bad multisig threshold: {threshold} of {keys} (need 1 <= m <= n <= 255)")]
pub struct ThresholdError {
    /// The threshold `m`.
    pub threshold: usize,
    /// The key count `n`.
    pub keys: usize,
}

/// Whether `threshold` of `keys` is a valid multisig policy:
/// `1 <= threshold <= keys <= 255`.
pub fn threshold_ok(threshold: usize, keys: usize) -> bool {
    (1..=keys).contains(&threshold) && keys <= MAX_MULTISIG_KEYS
}

/// The root committed to by a multisig lock over `key_hashes`, in the order
/// given (a wallet sorts them so that the same set gives the same address).
pub fn key_set_root(key_hashes: &[Hash]) -> Hash {
    KEY_SET_TREE.root(key_hashes)
}

/// The Merkle path (siblings from the bottom up) of `key_hashes[index]`, or
/// `None` if out of range.
pub fn key_set_path(key_hashes: &[Hash], index: usize) -> Option<Vec<Hash>> {
    KEY_SET_TREE.path(key_hashes, index)
}

/// How many siblings the path of key `index` of a set of `keys` has (for
/// sizing a witness before signing).
pub fn key_path_len(index: usize, keys: usize) -> usize {
    TreeDomains::path_len(index, keys)
}

/// The lock paying to `threshold` of the keys hashed in `key_hashes`.
pub fn multisig_lock(threshold: usize, key_hashes: &[Hash]) -> Result<Lock, ThresholdError> {
    let err = ThresholdError {
        threshold,
        keys: key_hashes.len(),
    };
    if !threshold_ok(threshold, key_hashes.len()) {
        return Err(err);
    }
    Ok(Lock::Multisig {
        threshold: u8::try_from(threshold).map_err(|_| err)?,
        keys: u8::try_from(key_hashes.len()).map_err(|_| err)?,
        root: key_set_root(key_hashes),
    })
}

/// Why a revealed key is not shown to be in a multisig set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MembershipError {
    /// The path is malformed: its position is outside the set or it does not
    /// have exactly the siblings that position needs.
    #[error("malformed Merkle path")]
    BadProof,
    /// A well-formed path that leads to another root: the key is not the
    /// one at that position of the set.
    #[error("key is not in the multisig set")]
    NotInSet,
}

/// Checks that `key_hash` is key `index` of the set of `keys` keys with root
/// `root`, through `siblings`.
pub fn check_membership(
    key_hash: &Hash,
    index: usize,
    keys: usize,
    siblings: &[Hash],
    root: &Hash,
) -> Result<(), MembershipError> {
    match KEY_SET_TREE.fold(key_hash, index, keys, siblings) {
        None => Err(MembershipError::BadProof),
        Some(r) if r == *root => Ok(()),
        Some(_) => Err(MembershipError::NotInSet),
    }
}

/// One signer of a multisig input: its key, its position in the set, the
/// Merkle path proving the position, and its signature over the
/// transaction's message.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MultisigSigner {
    /// Position of the key in the set (0-based, the lock's leaf order).
    pub index: u8,
    /// The key.
    pub public_key: PublicKey,
    /// Siblings from the leaf up to the root (promoted levels have none).
    pub path: Vec<Hash>,
    /// The signature.
    pub signature: Signature,
}

impl Encode for MultisigSigner {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&[self.index]);
        self.public_key.encode_to(s);
        put_seq(s, &self.path);
        self.signature.encode_to(s);
    }
}

impl Decode for MultisigSigner {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MultisigSigner {
            index: r.u8("signer index")?,
            public_key: PublicKey::decode(r)?,
            path: r.seq("signer path", MAX_KEY_PATH, Hash::decode)?,
            signature: Signature::decode(r)?,
        })
    }
}

/// The `m` signers of a multisig input, in strictly increasing key index.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct MultisigWitness {
    /// The signers.
    pub signers: Vec<MultisigSigner>,
}

impl Encode for MultisigWitness {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_seq(s, &self.signers);
    }
}

impl Decode for MultisigWitness {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(MultisigWitness {
            signers: r.seq("signers", MAX_MULTISIG_KEYS as u64, MultisigSigner::decode)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes(n: u8) -> Vec<Hash> {
        (0..n).map(|i| Hash([i + 1; 32])).collect()
    }

    #[test]
    fn every_key_of_every_set_size_proves_membership() {
        for n in 1..=20u8 {
            let set = hashes(n);
            let root = key_set_root(&set);
            for i in 0..n as usize {
                let path = key_set_path(&set, i).unwrap();
                assert_eq!(path.len(), key_path_len(i, n as usize));
                assert!((path.len() as u64) <= MAX_KEY_PATH);
                assert_eq!(
                    check_membership(&set[i], i, n as usize, &path, &root),
                    Ok(())
                );
                // Another key at that position is not in the set.
                assert_eq!(
                    check_membership(&Hash([0xee; 32]), i, n as usize, &path, &root),
                    Err(MembershipError::NotInSet)
                );
                // A path with a sibling too many or too few is malformed.
                let mut long = path.clone();
                long.push(Hash::ZERO);
                assert_eq!(
                    check_membership(&set[i], i, n as usize, &long, &root),
                    Err(MembershipError::BadProof)
                );
                if let Some((_, short)) = path.split_last() {
                    assert_eq!(
                        check_membership(&set[i], i, n as usize, short, &root),
                        Err(MembershipError::BadProof)
                    );
                }
            }
            assert_eq!(
                check_membership(&set[0], n as usize, n as usize, &[], &root),
                Err(MembershipError::BadProof)
            );
        }
    }

    #[test]
    fn a_key_set_root_is_not_a_transaction_root() {
        let set = hashes(3);
        assert_ne!(key_set_root(&set), crate::merkle::root(&set));
    }

    #[test]
    fn thresholds() {
        assert!(threshold_ok(1, 1));
        assert!(threshold_ok(7, 10));
        assert!(threshold_ok(255, 255));
        assert!(!threshold_ok(0, 3));
        assert!(!threshold_ok(4, 3));
        assert!(!threshold_ok(1, 256));
        assert!(multisig_lock(0, &hashes(3)).is_err());
        assert!(multisig_lock(2, &[]).is_err());
        let Ok(Lock::Multisig {
            threshold, keys, ..
        }) = multisig_lock(2, &hashes(3))
        else {
            panic!("2 of 3 is a lock")
        };
        assert_eq!((threshold, keys), (2, 3));
    }
}
