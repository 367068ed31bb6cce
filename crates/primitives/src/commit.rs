//! Commit certificates: the precommits of more than two thirds of a
//! validator set's voting power for one block, which make the block final.
//!
//! A certificate names its signers by a bitmap over the validator set (in
//! the set's order) instead of repeating their multi-kilobyte public keys,
//! with one signature per set bit. It holds at least a quorum's and may
//! hold more: the one a block carries of its parent has every precommit
//! its proposer gathered, late ones included, because downtime slashing
//! reads the bitmap (ADR 0042). This crate carries the bytes; the consensus
//! engine checks every signature against the validator set.

use crate::codec::{put_bytes, put_seq, Decode, DecodeError, Encode, Reader, Sink};
use crate::hash::Domain;
use crate::{Hash, Signature};

/// Most validators a set may have (bounds the signer bitmap and the
/// signature list when decoding).
pub const MAX_VALIDATORS: usize = 1024;

/// Domain of [`CommitCertificate::hash`].
pub const COMMIT_HASH: Domain = Domain("luminex/commit");

/// The precommits that finalized one block.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CommitCertificate {
    /// Height of the block.
    pub height: u64,
    /// Round in which it was decided.
    pub round: u32,
    /// The block.
    pub block_hash: Hash,
    /// Bit `i` (least significant bit first within each byte) set when
    /// validator `i` of the set signed.
    pub signers: Vec<u8>,
    /// The signatures, in the order of the set bits.
    pub signatures: Vec<Signature>,
}

impl CommitCertificate {
    /// A certificate from `(validator index, signature)` pairs, for a set
    /// of `validators` validators. Indexes past the set are ignored.
    pub fn new(
        height: u64,
        round: u32,
        block_hash: Hash,
        validators: usize,
        mut signed: Vec<(usize, Signature)>,
    ) -> CommitCertificate {
        signed.retain(|(i, _)| *i < validators);
        signed.sort_by_key(|(i, _)| *i);
        signed.dedup_by_key(|(i, _)| *i);
        let mut signers = vec![0u8; validators.div_ceil(8)];
        for (i, _) in &signed {
            signers[i / 8] |= 1 << (i % 8);
        }
        CommitCertificate {
            height,
            round,
            block_hash,
            signers,
            signatures: signed.into_iter().map(|(_, s)| s).collect(),
        }
    }

    /// Indexes of the validators whose bit is set, ascending.
    pub fn signer_indexes(&self) -> Vec<usize> {
        let mut out = Vec::new();
        for (byte, b) in self.signers.iter().enumerate() {
            for bit in 0..8 {
                if b & (1 << bit) != 0 {
                    out.push(byte * 8 + bit);
                }
            }
        }
        out
    }

    /// Whether validator `index` signed.
    pub fn signed_by(&self, index: usize) -> bool {
        self.signers
            .get(index / 8)
            .is_some_and(|b| b & (1 << (index % 8)) != 0)
    }

    /// The hash a child block's header commits to.
    pub fn hash(&self) -> Hash {
        COMMIT_HASH.hash(&self.encode())
    }
}

impl Encode for CommitCertificate {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.height.to_le_bytes());
        s.put(&self.round.to_le_bytes());
        self.block_hash.encode_to(s);
        put_bytes(s, &self.signers);
        put_seq(s, &self.signatures);
    }
}

impl Decode for CommitCertificate {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let height = r.u64("commit height")?;
        let round = r.u32("commit round")?;
        let block_hash = Hash::decode(r)?;
        let signers = r
            .bytes("commit signers", MAX_VALIDATORS.div_ceil(8) as u64)?
            .to_vec();
        let signatures = r.seq(
            "commit signatures",
            MAX_VALIDATORS as u64,
            Signature::decode,
        )?;
        let c = CommitCertificate {
            height,
            round,
            block_hash,
            signers,
            signatures,
        };
        if c.signer_indexes().len() != c.signatures.len() {
            return Err(DecodeError::OutOfRange {
                field: "commit signatures (one per signer)",
            });
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SchemeId;

    fn sig(b: u8) -> Signature {
        Signature {
            scheme: SchemeId::MlDsa65,
            bytes: vec![b; 4],
        }
    }

    #[test]
    fn bitmap_and_round_trip() {
        let c = CommitCertificate::new(
            5,
            1,
            Hash([9; 32]),
            10,
            vec![
                (9, sig(9)),
                (0, sig(0)),
                (3, sig(3)),
                (3, sig(4)),
                (12, sig(1)),
            ],
        );
        assert_eq!(c.signer_indexes(), vec![0, 3, 9]);
        assert_eq!(c.signers.len(), 2);
        assert!(c.signed_by(9) && !c.signed_by(1) && !c.signed_by(100));
        assert_eq!(c.signatures, vec![sig(0), sig(3), sig(9)]);
        assert_eq!(CommitCertificate::decode_all(&c.encode()).unwrap(), c);
    }

    #[test]
    fn signature_count_must_match_the_bitmap() {
        let mut c = CommitCertificate::new(1, 0, Hash::ZERO, 4, vec![(0, sig(0)), (1, sig(1))]);
        c.signatures.pop();
        assert!(CommitCertificate::decode_all(&c.encode()).is_err());
    }
}
