//! Multisig policies: `m` of a set of exported public keys.
//!
//! ML-DSA has no public derivation (no xpub), so a multisig wallet is built
//! from the participants' exported public keys. The policy file lists them
//! with the threshold; every participant can recompute the address from it
//! and check that their own key is in it. Keys are kept sorted by key hash,
//! so the same set and threshold always give the same address whatever
//! order the participants' keys were collected in.

use luminex_ledger::ChainSpec;
use luminex_primitives::multisig::{key_set_path, multisig_lock, threshold_ok};
use luminex_primitives::{Decode, Encode, Hash, Lock, PublicKey, Witness};
use serde::{Deserialize, Serialize};

/// A multisig policy could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The threshold is not `1 <= m <= n <= 255`.
    #[error("threshold {threshold} of {keys} keys is not 1 <= m <= n <= 255")]
    Threshold {
        /// `m`.
        threshold: usize,
        /// `n`.
        keys: usize,
    },
    /// The same key twice.
    #[error("key {0} appears twice in the policy")]
    DuplicateKey(Hash),
    /// A key of a scheme the chain does not allow, or of the wrong size.
    #[error("key {0} is not a valid key of a scheme this chain allows")]
    BadKey(Hash),
    /// An exported key is not the hex of a public key's encoding.
    #[error("not an exported public key: {0}")]
    KeyEncoding(String),
    /// The policy file is for another chain.
    #[error("policy is for chain {found}, not {expected}")]
    WrongChain {
        /// This chain.
        expected: String,
        /// The file's.
        found: String,
    },
    /// The policy file is malformed.
    #[error("policy file is malformed: {0}")]
    Malformed(String),
}

/// `threshold` of `keys` (sorted by key hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MultisigPolicy {
    /// Signatures needed.
    pub threshold: u8,
    /// The set, sorted by key hash.
    pub keys: Vec<PublicKey>,
}

/// A public key as exported by `luminex wallet export-key`: the hex of its
/// canonical encoding (scheme tag, length, bytes).
pub fn export_key(key: &PublicKey) -> String {
    hex::encode(key.encode())
}

/// Parses an exported public key.
pub fn import_key(s: &str) -> Result<PublicKey, PolicyError> {
    let bytes = hex::decode(s.trim()).map_err(|e| PolicyError::KeyEncoding(e.to_string()))?;
    PublicKey::decode_all(&bytes).map_err(|e| PolicyError::KeyEncoding(e.to_string()))
}

impl MultisigPolicy {
    /// A policy of `threshold` of `keys` (any order) for the chain of `spec`.
    pub fn new(
        spec: &ChainSpec,
        threshold: usize,
        mut keys: Vec<PublicKey>,
    ) -> Result<MultisigPolicy, PolicyError> {
        if !threshold_ok(threshold, keys.len()) {
            return Err(PolicyError::Threshold {
                threshold,
                keys: keys.len(),
            });
        }
        for k in &keys {
            if !spec.allows(k.scheme) || k.bytes.len() != k.scheme.public_key_len() {
                return Err(PolicyError::BadKey(k.key_hash()));
            }
        }
        keys.sort_by_key(|k| k.key_hash());
        for pair in keys.windows(2) {
            if pair[0] == pair[1] {
                return Err(PolicyError::DuplicateKey(pair[0].key_hash()));
            }
        }
        Ok(MultisigPolicy {
            threshold: u8::try_from(threshold).map_err(|_| PolicyError::Threshold {
                threshold,
                keys: keys.len(),
            })?,
            keys,
        })
    }

    /// The key hashes, the leaves of the set's tree.
    pub fn key_hashes(&self) -> Vec<Hash> {
        self.keys.iter().map(|k| k.key_hash()).collect()
    }

    /// The lock paying to this policy.
    pub fn lock(&self) -> Lock {
        multisig_lock(self.threshold.into(), &self.key_hashes())
            .expect("a policy's threshold was checked when it was made")
    }

    /// The position of `key` in the set, if it is there.
    pub fn position(&self, key: &PublicKey) -> Option<usize> {
        self.keys.iter().position(|k| k == key)
    }

    /// The Merkle path of key `index`.
    pub fn path(&self, index: usize) -> Option<Vec<Hash>> {
        key_set_path(&self.key_hashes(), index)
    }

    /// A witness of the largest size `threshold` signers of this set can
    /// produce, zero-filled: what a payment's fee is computed on.
    pub fn placeholder(&self) -> Witness {
        let n = self.keys.len();
        let mut cost: Vec<(usize, usize)> = self
            .keys
            .iter()
            .enumerate()
            .map(|(i, k)| {
                let path = luminex_primitives::multisig::key_path_len(i, n);
                (
                    k.scheme.public_key_len() + k.scheme.signature_len() + 32 * path,
                    i,
                )
            })
            .collect();
        cost.sort_by(|a, b| b.cmp(a));
        let mut chosen: Vec<usize> = cost
            .iter()
            .take(self.threshold.into())
            .map(|c| c.1)
            .collect();
        chosen.sort_unstable();
        let signers: Vec<(u8, luminex_primitives::SchemeId)> = chosen
            .iter()
            .map(|&i| (i as u8, self.keys[i].scheme))
            .collect();
        Witness::multisig_placeholder(&signers, n)
    }

    /// The policy file's contents for the chain of `spec`.
    pub fn to_file(&self, spec: &ChainSpec) -> PolicyFile {
        PolicyFile {
            version: 1,
            chain: spec.name.clone(),
            threshold: self.threshold,
            keys: self.keys.iter().map(export_key).collect(),
            address: spec.address(self.lock()).to_string(),
        }
    }

    /// Reads a policy file's contents, checking its chain, its keys and
    /// that its address is the one the keys and threshold make.
    pub fn from_file(spec: &ChainSpec, f: &PolicyFile) -> Result<MultisigPolicy, PolicyError> {
        if f.version != 1 {
            return Err(PolicyError::Malformed(format!("version {}", f.version)));
        }
        if f.chain != spec.name {
            return Err(PolicyError::WrongChain {
                expected: spec.name.clone(),
                found: f.chain.clone(),
            });
        }
        let keys = f
            .keys
            .iter()
            .map(|k| import_key(k))
            .collect::<Result<Vec<_>, _>>()?;
        let p = MultisigPolicy::new(spec, f.threshold.into(), keys)?;
        let address = spec.address(p.lock()).to_string();
        if address != f.address {
            return Err(PolicyError::Malformed(format!(
                "the keys and threshold make address {address}, the file says {}",
                f.address
            )));
        }
        Ok(p)
    }
}

/// A multisig policy file (JSON): what each participant receives and checks.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyFile {
    /// Format version (1).
    pub version: u32,
    /// Chain name.
    pub chain: String,
    /// Signatures needed.
    pub threshold: u8,
    /// Exported public keys, sorted by key hash.
    pub keys: Vec<String>,
    /// The address the keys and threshold make (checked when read).
    pub address: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_crypto::SigningKey;
    use luminex_primitives::SchemeId;

    fn keys(n: u8) -> Vec<PublicKey> {
        (0..n)
            .map(|i| {
                SigningKey::from_seed(SchemeId::MlDsa65, &[i + 1; 32])
                    .public_key()
                    .clone()
            })
            .collect()
    }

    #[test]
    fn the_address_does_not_depend_on_key_order_and_files_are_checked() {
        let spec = ChainSpec::preset("dev").unwrap();
        let ks = keys(3);
        let a = MultisigPolicy::new(&spec, 2, ks.clone()).unwrap();
        let mut rev = ks.clone();
        rev.reverse();
        let b = MultisigPolicy::new(&spec, 2, rev).unwrap();
        assert_eq!(a.lock(), b.lock());
        let file = a.to_file(&spec);
        assert_eq!(MultisigPolicy::from_file(&spec, &file).unwrap(), a);
        let mut lying = file.clone();
        lying.threshold = 1;
        assert!(matches!(
            MultisigPolicy::from_file(&spec, &lying),
            Err(PolicyError::Malformed(_))
        ));
        let mut other = file.clone();
        other.chain = "qbtc".into();
        assert!(matches!(
            MultisigPolicy::from_file(&spec, &other),
            Err(PolicyError::WrongChain { .. })
        ));
        assert!(matches!(
            MultisigPolicy::new(&spec, 0, ks.clone()),
            Err(PolicyError::Threshold { .. })
        ));
        assert!(matches!(
            MultisigPolicy::new(&spec, 4, ks.clone()),
            Err(PolicyError::Threshold { .. })
        ));
        let mut dup = ks.clone();
        dup.push(ks[0].clone());
        assert!(matches!(
            MultisigPolicy::new(&spec, 2, dup),
            Err(PolicyError::DuplicateKey(_))
        ));
        assert_eq!(import_key(&export_key(&ks[1])).unwrap(), ks[1]);
        assert!(import_key("zz").is_err());
    }
}
