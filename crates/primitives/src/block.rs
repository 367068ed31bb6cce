//! Blocks and headers.
//!
//! The header is Bitcoin's 80-byte layout, hashed with SHA-256d, so that PoW
//! presets mine exactly like Bitcoin and its tools understand the header.

use crate::codec::{put_seq, Decode, DecodeError, Encode, Reader, Sink};
use crate::hash::sha256d;
use crate::{merkle, Hash, Transaction};

/// Most transactions in one block (bounds decoding; the spec's byte limit is
/// the real constraint).
pub const MAX_BLOCK_TXS: u64 = 1_000_000;

/// An 80-byte block header.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Header {
    /// Block version.
    pub version: u32,
    /// Hash of the parent block's header.
    pub prev_hash: Hash,
    /// Merkle root of the block's wtxids ([`crate::merkle::root`]).
    pub merkle_root: Hash,
    /// Unix time in seconds.
    pub time: u32,
    /// Compact difficulty target (used by proof-of-work presets).
    pub bits: u32,
    /// Proof-of-work nonce.
    pub nonce: u32,
}

impl Header {
    /// Encoded size.
    pub const SIZE: usize = 80;

    /// The 80 bytes, in Bitcoin's layout.
    pub fn to_bytes(&self) -> [u8; 80] {
        let mut b = [0u8; 80];
        b[0..4].copy_from_slice(&self.version.to_le_bytes());
        b[4..36].copy_from_slice(&self.prev_hash.0);
        b[36..68].copy_from_slice(&self.merkle_root.0);
        b[68..72].copy_from_slice(&self.time.to_le_bytes());
        b[72..76].copy_from_slice(&self.bits.to_le_bytes());
        b[76..80].copy_from_slice(&self.nonce.to_le_bytes());
        b
    }

    /// The block hash: SHA-256d of the 80 bytes.
    pub fn hash(&self) -> Hash {
        sha256d(&self.to_bytes())
    }
}

impl Encode for Header {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.to_bytes());
    }
}

impl Decode for Header {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Header {
            version: r.u32("header version")?,
            prev_hash: Hash::decode(r)?,
            merkle_root: Hash::decode(r)?,
            time: r.u32("header time")?,
            bits: r.u32("header bits")?,
            nonce: r.u32("header nonce")?,
        })
    }
}

/// A block: a header and its transactions, the coinbase first.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions.
    pub txs: Vec<Transaction>,
}

impl Block {
    /// The block hash.
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// The Merkle root the header should carry.
    pub fn compute_merkle_root(&self) -> Hash {
        let leaves: Vec<Hash> = self.txs.iter().map(|t| t.wtxid()).collect();
        merkle::root(&leaves)
    }
}

impl Encode for Block {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.header.encode_to(s);
        put_seq(s, &self.txs);
    }
}

impl Decode for Block {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Block {
            header: Header::decode(r)?,
            txs: r.seq("transactions", MAX_BLOCK_TXS, Transaction::decode)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bitcoin's genesis header hashes to Bitcoin's genesis hash.
    #[test]
    fn bitcoin_genesis_header() {
        let h = Header {
            version: 1,
            prev_hash: Hash::ZERO,
            merkle_root: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
                .parse()
                .unwrap(),
            time: 1231006505,
            bits: 0x1d00ffff,
            nonce: 2083236893,
        };
        assert_eq!(
            h.hash().to_string(),
            "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f"
        );
        assert_eq!(Header::decode_all(&h.to_bytes()).unwrap(), h);
    }
}
