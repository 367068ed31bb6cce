//! 32-byte hashes: SHA-256d for block headers (Bitcoin-compatible) and
//! domain-separated ("tagged", as in BIP 340) SHA-256 for everything else, so
//! that a hash computed for one purpose can never be mistaken for another.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A 32-byte hash.
///
/// Displayed and parsed as hex in *reversed* byte order, Bitcoin's convention
/// for txids and block hashes, so that Bitcoin tooling shows the same strings.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash (the parent of a genesis block).
    pub const ZERO: Hash = Hash([0u8; 32]);

    /// The raw bytes in internal (not display) order.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Builds a hash from a slice that must be exactly 32 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Hash> {
        bytes.try_into().ok().map(Hash)
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rev = self.0;
        rev.reverse();
        f.write_str(&hex::encode(rev))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// Error parsing a hash from its display form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a hash is 64 hex characters")]
pub struct ParseHashError;

impl FromStr for Hash {
    type Err = ParseHashError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.len() != 64 {
            return Err(ParseHashError);
        }
        let mut bytes: [u8; 32] = hex::decode(s)
            .map_err(|_| ParseHashError)?
            .try_into()
            .map_err(|_| ParseHashError)?;
        bytes.reverse();
        Ok(Hash(bytes))
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// SHA-256 applied twice, as Bitcoin hashes block headers.
pub fn sha256d(data: &[u8]) -> Hash {
    Hash(Sha256::digest(Sha256::digest(data)).into())
}

/// A hashing domain. Each purpose of a hash in Luminex has its own tag.
#[derive(Debug, Clone, Copy)]
pub struct Domain(pub &'static str);

/// Domain of transaction ids (transaction without witnesses).
pub const TXID: Domain = Domain("luminex/txid");
/// Domain of witness transaction ids (the full transaction).
pub const WTXID: Domain = Domain("luminex/wtxid");
/// Domain of the message a transaction's witnesses sign.
pub const SIGHASH: Domain = Domain("luminex/sighash");
/// Domain of public key hashes committed to by addresses.
pub const KEY_HASH: Domain = Domain("luminex/keyhash");
/// Domain of Merkle leaves.
pub const MERKLE_LEAF: Domain = Domain("luminex/merkle/leaf");
/// Domain of inner Merkle nodes.
pub const MERKLE_NODE: Domain = Domain("luminex/merkle/node");
/// Domain of the leaves of a multisig key set (each a key hash).
pub const MULTISIG_LEAF: Domain = Domain("luminex/multisig/leaf");
/// Domain of the inner nodes of a multisig key set.
pub const MULTISIG_NODE: Domain = Domain("luminex/multisig/node");

impl Domain {
    /// A SHA-256 state primed with `SHA256(tag) || SHA256(tag)` (BIP 340's
    /// tagged hash), ready for the message.
    pub fn hasher(self) -> TaggedHasher {
        let tag = Sha256::digest(self.0.as_bytes());
        let mut inner = Sha256::new();
        inner.update(tag);
        inner.update(tag);
        TaggedHasher(inner)
    }

    /// The tagged hash of `data`.
    pub fn hash(self, data: &[u8]) -> Hash {
        let mut h = self.hasher();
        h.update(data);
        h.finish()
    }
}

/// An incremental tagged hasher.
#[derive(Clone)]
pub struct TaggedHasher(Sha256);

impl TaggedHasher {
    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    /// Finishes the hash.
    pub fn finish(self) -> Hash {
        Hash(self.0.finalize().into())
    }
}

impl crate::codec::Sink for TaggedHasher {
    fn put(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_reversed_and_round_trips() {
        let mut b = [0u8; 32];
        b[0] = 0xab;
        let h = Hash(b);
        let s = h.to_string();
        assert!(s.ends_with("ab"));
        assert_eq!(s.parse::<Hash>().unwrap(), h);
        assert!("zz".parse::<Hash>().is_err());
    }

    #[test]
    fn domains_separate() {
        assert_ne!(TXID.hash(b"x"), WTXID.hash(b"x"));
        assert_ne!(MERKLE_LEAF.hash(b""), MERKLE_NODE.hash(b""));
    }
}
