//! Block headers: Bitcoin's 80-byte header for proof of work and the
//! `dev` chain ([`PowHeader`]), and the BFT header ([`BftHeader`]) that
//! carries what a finality engine checks — the height, the proposer, the
//! validator sets and the commit of the previous block.
//!
//! A [`Header`] is one or the other. On the wire the two are told apart by
//! their first four bytes (the version): a BFT header's version has its top
//! three bits set ([`BFT_VERSION`]), a value no proof-of-work header uses
//! (Bitcoin's BIP 9 versions have the top bits `001`).

use crate::codec::{Decode, DecodeError, Encode, Reader, Sink};
use crate::hash::{sha256d, Domain};
use crate::Hash;

/// Version of every BFT header.
pub const BFT_VERSION: u32 = 0xE000_0001;

/// Top three bits of a version that mark a BFT header.
const BFT_VERSION_MASK: u32 = 0xE000_0000;

/// Domain of the BFT header hash.
pub const BFT_HEADER: Domain = Domain("luminex/bft-header");

/// An 80-byte block header in Bitcoin's layout, hashed with SHA-256d.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct PowHeader {
    /// Block version.
    pub version: u32,
    /// Hash of the parent block's header.
    pub prev_hash: Hash,
    /// Merkle root of the block's transactions ([`crate::Block::compute_merkle_root`]).
    pub merkle_root: Hash,
    /// Unix time in seconds.
    pub time: u32,
    /// Compact difficulty target (used by proof-of-work presets).
    pub bits: u32,
    /// Proof-of-work nonce.
    pub nonce: u32,
}

impl PowHeader {
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

    fn decode_after_version(version: u32, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(PowHeader {
            version,
            prev_hash: Hash::decode(r)?,
            merkle_root: Hash::decode(r)?,
            time: r.u32("header time")?,
            bits: r.u32("header bits")?,
            nonce: r.u32("header nonce")?,
        })
    }
}

impl Encode for PowHeader {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.to_bytes());
    }
}

impl Decode for PowHeader {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u32("header version")?;
        PowHeader::decode_after_version(version, r)
    }
}

/// The header of a block on a BFT chain (CometBFT's header is the model):
/// 208 bytes, hashed with the tagged hash [`BFT_HEADER`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct BftHeader {
    /// Always [`BFT_VERSION`].
    pub version: u32,
    /// Block height (genesis is 0).
    pub height: u64,
    /// Proposal time, Unix milliseconds.
    pub time_ms: u64,
    /// Hash of the parent block.
    pub prev_hash: Hash,
    /// Merkle root of the block's transactions.
    pub tx_root: Hash,
    /// Validator id (key hash) of the proposer.
    pub proposer: Hash,
    /// Hash of the validator set that finalizes this block.
    pub validators_hash: Hash,
    /// Hash of the validator set that finalizes the next block.
    pub next_validators_hash: Hash,
    /// Hash of the commit certificate of the parent carried in this block
    /// ([`crate::CommitCertificate::hash`]; zero at height 1 and genesis).
    pub last_commit_hash: Hash,
    /// Hash of the consensus state after this block (validator sets,
    /// proposer priorities, pending changes).
    pub state_root: Hash,
}

impl BftHeader {
    /// Encoded size.
    pub const SIZE: usize = 4 + 8 + 8 + 32 * 7;

    /// The block hash.
    pub fn hash(&self) -> Hash {
        BFT_HEADER.hash(&self.encode())
    }

    fn decode_after_version(version: u32, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if version != BFT_VERSION {
            return Err(DecodeError::OutOfRange {
                field: "BFT header version",
            });
        }
        Ok(BftHeader {
            version,
            height: r.u64("header height")?,
            time_ms: r.u64("header time")?,
            prev_hash: Hash::decode(r)?,
            tx_root: Hash::decode(r)?,
            proposer: Hash::decode(r)?,
            validators_hash: Hash::decode(r)?,
            next_validators_hash: Hash::decode(r)?,
            last_commit_hash: Hash::decode(r)?,
            state_root: Hash::decode(r)?,
        })
    }
}

impl Encode for BftHeader {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.version.to_le_bytes());
        s.put(&self.height.to_le_bytes());
        s.put(&self.time_ms.to_le_bytes());
        for h in [
            &self.prev_hash,
            &self.tx_root,
            &self.proposer,
            &self.validators_hash,
            &self.next_validators_hash,
            &self.last_commit_hash,
            &self.state_root,
        ] {
            s.put(&h.0);
        }
    }
}

impl Decode for BftHeader {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u32("header version")?;
        BftHeader::decode_after_version(version, r)
    }
}

/// A block header of either kind.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Header {
    /// Bitcoin's 80-byte header (proof of work, `dev`).
    Pow(PowHeader),
    /// The BFT header.
    Bft(BftHeader),
}

impl Header {
    /// The block hash.
    pub fn hash(&self) -> Hash {
        match self {
            Header::Pow(h) => h.hash(),
            Header::Bft(h) => h.hash(),
        }
    }

    /// The parent's hash.
    pub fn prev_hash(&self) -> Hash {
        match self {
            Header::Pow(h) => h.prev_hash,
            Header::Bft(h) => h.prev_hash,
        }
    }

    /// The transaction commitment.
    pub fn merkle_root(&self) -> Hash {
        match self {
            Header::Pow(h) => h.merkle_root,
            Header::Bft(h) => h.tx_root,
        }
    }

    /// Sets the transaction commitment.
    pub fn set_merkle_root(&mut self, root: Hash) {
        match self {
            Header::Pow(h) => h.merkle_root = root,
            Header::Bft(h) => h.tx_root = root,
        }
    }

    /// Block time in Unix seconds.
    pub fn time(&self) -> u64 {
        match self {
            Header::Pow(h) => u64::from(h.time),
            Header::Bft(h) => h.time_ms / 1000,
        }
    }

    /// Block time in Unix milliseconds.
    pub fn time_ms(&self) -> u64 {
        match self {
            Header::Pow(h) => u64::from(h.time) * 1000,
            Header::Bft(h) => h.time_ms,
        }
    }

    /// The version field.
    pub fn version(&self) -> u32 {
        match self {
            Header::Pow(h) => h.version,
            Header::Bft(h) => h.version,
        }
    }

    /// The proof-of-work header, if it is one.
    pub fn as_pow(&self) -> Option<&PowHeader> {
        match self {
            Header::Pow(h) => Some(h),
            Header::Bft(_) => None,
        }
    }

    /// The proof-of-work header, mutably, if it is one.
    pub fn as_pow_mut(&mut self) -> Option<&mut PowHeader> {
        match self {
            Header::Pow(h) => Some(h),
            Header::Bft(_) => None,
        }
    }

    /// The BFT header, if it is one.
    pub fn as_bft(&self) -> Option<&BftHeader> {
        match self {
            Header::Pow(_) => None,
            Header::Bft(h) => Some(h),
        }
    }

    /// Whether this is a BFT header.
    pub fn is_bft(&self) -> bool {
        matches!(self, Header::Bft(_))
    }
}

impl From<PowHeader> for Header {
    fn from(h: PowHeader) -> Header {
        Header::Pow(h)
    }
}

impl From<BftHeader> for Header {
    fn from(h: BftHeader) -> Header {
        Header::Bft(h)
    }
}

impl Encode for Header {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        match self {
            Header::Pow(h) => h.encode_to(s),
            Header::Bft(h) => h.encode_to(s),
        }
    }
}

impl Decode for Header {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u32("header version")?;
        if version & BFT_VERSION_MASK == BFT_VERSION_MASK {
            BftHeader::decode_after_version(version, r).map(Header::Bft)
        } else {
            PowHeader::decode_after_version(version, r).map(Header::Pow)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bitcoin's genesis header hashes to Bitcoin's genesis hash.
    #[test]
    fn bitcoin_genesis_header() {
        let h = PowHeader {
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
        assert_eq!(PowHeader::decode_all(&h.to_bytes()).unwrap(), h);
        assert_eq!(Header::decode_all(&h.to_bytes()).unwrap(), Header::Pow(h));
    }

    fn bft() -> BftHeader {
        BftHeader {
            version: BFT_VERSION,
            height: 7,
            time_ms: 1_700_000_000_123,
            prev_hash: Hash([1; 32]),
            tx_root: Hash([2; 32]),
            proposer: Hash([3; 32]),
            validators_hash: Hash([4; 32]),
            next_validators_hash: Hash([5; 32]),
            last_commit_hash: Hash([6; 32]),
            state_root: Hash([7; 32]),
        }
    }

    #[test]
    fn bft_header_round_trip_and_size() {
        let h = Header::Bft(bft());
        let bytes = h.encode();
        assert_eq!(bytes.len(), BftHeader::SIZE);
        assert_eq!(Header::decode_all(&bytes).unwrap(), h);
        assert_eq!(h.hash(), BFT_HEADER.hash(&bytes));
        assert_eq!(h.time(), 1_700_000_000);
    }

    #[test]
    fn bft_header_with_another_marked_version_is_refused() {
        let mut h = bft();
        h.version = 0xE000_0002;
        assert!(matches!(
            Header::decode_all(&h.encode()),
            Err(DecodeError::OutOfRange { .. })
        ));
    }

    #[test]
    fn every_field_changes_the_hash() {
        let base = bft().hash();
        let mut variants = Vec::new();
        let mut h = bft();
        h.height += 1;
        variants.push(h);
        let mut h = bft();
        h.time_ms += 1;
        variants.push(h);
        for i in 0..7 {
            let mut h = bft();
            let f = [
                &mut h.prev_hash,
                &mut h.tx_root,
                &mut h.proposer,
                &mut h.validators_hash,
                &mut h.next_validators_hash,
                &mut h.last_commit_hash,
                &mut h.state_root,
            ];
            f.into_iter().nth(i).unwrap().0[0] ^= 0xff;
            variants.push(h);
        }
        for v in variants {
            assert_ne!(v.hash(), base);
        }
    }
}
