//! Blocks: a [`Header`] (Bitcoin's 80-byte header for proof of work and
//! `dev`, the BFT header for finality chains), the transactions, and on BFT
//! chains the commit certificate of the parent block.

use crate::codec::{put_seq, Decode, DecodeError, Encode, Reader, Sink};
use crate::{merkle, CommitCertificate, Hash, Header, Transaction};

/// Most transactions in one block (bounds decoding; the spec's byte limit is
/// the real constraint).
pub const MAX_BLOCK_TXS: u64 = 1_000_000;

/// A block: a header and its transactions, the coinbase first.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions.
    pub txs: Vec<Transaction>,
    /// On BFT chains, the certificate that finalized the parent (its hash is
    /// the header's `last_commit_hash`); absent at height 1 and on other
    /// chains. Encoded only after a BFT header, so proof-of-work blocks keep
    /// Bitcoin's layout.
    pub last_commit: Option<CommitCertificate>,
}

impl Block {
    /// A block without a parent certificate.
    pub fn new(header: impl Into<Header>, txs: Vec<Transaction>) -> Block {
        Block {
            header: header.into(),
            txs,
            last_commit: None,
        }
    }

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
        if self.header.is_bft() {
            match &self.last_commit {
                None => s.put(&[0]),
                Some(c) => {
                    s.put(&[1]);
                    c.encode_to(s);
                }
            }
        }
    }
}

impl Decode for Block {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = Header::decode(r)?;
        let txs = r.seq("transactions", MAX_BLOCK_TXS, Transaction::decode)?;
        let last_commit = if header.is_bft() {
            match r.u8("last commit flag")? {
                0 => None,
                1 => Some(CommitCertificate::decode(r)?),
                tag => {
                    return Err(DecodeError::UnknownTag {
                        field: "last commit flag",
                        tag: tag.into(),
                    })
                }
            }
        } else {
            None
        };
        Ok(Block {
            header,
            txs,
            last_commit,
        })
    }
}
