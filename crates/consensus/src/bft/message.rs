//! Consensus messages — proposals and votes — their signed forms and
//! canonical encodings, and the digests validators sign.
//!
//! Every digest is a tagged hash over a [`ChainDomain`] (the chain id and
//! the genesis hash), separate from transaction signatures' domain, so a
//! vote can neither be replayed on another chain nor passed off as a
//! transaction signature.

use std::sync::Arc;

use luminex_primitives::block::MAX_BLOCK_TXS;
use luminex_primitives::codec::put_length;
use luminex_primitives::codec::{Decode, DecodeError, Encode, Reader, Sink};
use luminex_primitives::hash::Domain;
use luminex_primitives::{Block, CommitCertificate, Hash, Signature, Transaction};

use super::compact::{decode_pol_round, CompactProposal};
use luminex_primitives::vote::DuplicateVoteEvidence;

pub use luminex_primitives::vote::{
    vote_digest, ChainDomain, SignedVote, Vote, VoteKind, CHAIN_DOMAIN, VOTE,
};

/// Domain of proposal digests.
pub const PROPOSAL: Domain = Domain("luminex/bft-proposal");
/// Domain of the digest of a proposed block's txid list.
pub const PROPOSAL_TXIDS: Domain = Domain("luminex/bft-proposal-txids");

/// A proposer's block for a height and round, with the round in which it
/// was last seen to gather a quorum of prevotes (`pol_round`), if any.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Proposal {
    /// Height.
    pub height: u64,
    /// Round.
    pub round: u32,
    /// Proof-of-lock round (`validRound` in the paper), or `None` (−1).
    pub pol_round: Option<u32>,
    /// The proposed block, shared: the engine keeps it, commits it and
    /// hands it to the host without copying tens of megabytes.
    pub block: Arc<Block>,
}

impl Proposal {
    /// The digest the proposer signs. It covers the block by its hash and
    /// the list of its txids: a proposal travels as that list (ADR 0029),
    /// and a relay that altered it would otherwise pass authentication and
    /// make honest answers look wrong.
    pub fn digest(&self, domain: &ChainDomain) -> Hash {
        proposal_digest(
            domain,
            self.height,
            self.round,
            self.pol_round,
            &self.block.hash(),
            &txid_list_digest(self.block.txs.iter().map(Transaction::txid)),
        )
    }
}

/// The digest of a block's txids, in block order.
pub fn txid_list_digest(txids: impl IntoIterator<Item = Hash>) -> Hash {
    let mut h = PROPOSAL_TXIDS.hasher();
    for t in txids {
        h.update(&t.0);
    }
    h.finish()
}

/// The digest of a proposal of `block` (whose txid list has digest
/// `txids`) at `height`/`round`.
pub fn proposal_digest(
    domain: &ChainDomain,
    height: u64,
    round: u32,
    pol_round: Option<u32>,
    block: &Hash,
    txids: &Hash,
) -> Hash {
    let mut h = PROPOSAL.hasher();
    h.update(&domain.0 .0);
    h.update(&height.to_le_bytes());
    h.update(&round.to_le_bytes());
    h.update(&pol_round.map_or(-1i64, i64::from).to_le_bytes());
    h.update(&block.0);
    h.update(&txids.0);
    h.finish()
}

/// A proposal with the proposer's signature.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SignedProposal {
    /// The proposal.
    pub proposal: Proposal,
    /// Over [`Proposal::digest`].
    pub signature: Signature,
}

impl Encode for SignedProposal {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        let p = &self.proposal;
        s.put(&p.height.to_le_bytes());
        s.put(&p.round.to_le_bytes());
        s.put(&p.pol_round.map_or(-1i64, i64::from).to_le_bytes());
        p.block.encode_to(s);
        self.signature.encode_to(s);
    }
}

impl Decode for SignedProposal {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let height = r.u64("proposal height")?;
        let round = r.u32("proposal round")?;
        let pol_round = decode_pol_round(r, round)?;
        Ok(SignedProposal {
            proposal: Proposal {
                height,
                round,
                pol_round,
                block: Arc::new(Block::decode(r)?),
            },
            signature: Signature::decode(r)?,
        })
    }
}

/// A message of the consensus protocol, as gossiped.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum ConsensusMessage {
    /// A signed proposal.
    Proposal(Box<SignedProposal>),
    /// A signed vote.
    Vote(SignedVote),
}

impl ConsensusMessage {
    /// The height the message is for.
    pub fn height(&self) -> u64 {
        match self {
            ConsensusMessage::Proposal(p) => p.proposal.height,
            ConsensusMessage::Vote(v) => v.vote.height,
        }
    }
}

impl Encode for ConsensusMessage {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        match self {
            ConsensusMessage::Proposal(p) => {
                s.put(&[0]);
                p.encode_to(s);
            }
            ConsensusMessage::Vote(v) => {
                s.put(&[1]);
                v.encode_to(s);
            }
        }
    }
}

impl Decode for ConsensusMessage {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("consensus message tag")? {
            0 => Ok(ConsensusMessage::Proposal(Box::new(
                SignedProposal::decode(r)?,
            ))),
            1 => Ok(ConsensusMessage::Vote(SignedVote::decode(r)?)),
            tag => Err(DecodeError::UnknownTag {
                field: "consensus message tag",
                tag: tag.into(),
            }),
        }
    }
}

/// What BFT nodes gossip on the consensus topic: the protocol's messages
/// (encoded exactly as a [`ConsensusMessage`], tags 0 and 1), the height a
/// node is deciding (tag 2), finalized blocks with their certificates for
/// nodes that are behind (tag 3), replays of votes (tag 4), and proposals
/// in compact form (tag 5, and 8 when sent again) with the requests and
/// answers that complete them (tags 6 and 7, [`super::compact`]), and
/// double-signing evidence (tag 9, [`super::evidence`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Gossip {
    /// A proposal or a vote.
    Message(ConsensusMessage),
    /// "I am deciding `height`": peers that are ahead answer with the
    /// certified blocks it misses.
    Status {
        /// The height being decided.
        height: u64,
        /// The sender's clock (makes each announcement a new message).
        time_ms: u64,
    },
    /// A finalized block and the certificate that finalized it.
    Certified {
        /// The sender's clock (a block sent again is a new message).
        time_ms: u64,
        /// The block.
        block: Box<Block>,
        /// Its commit certificate.
        certificate: CommitCertificate,
    },
    /// Messages of the current height sent again for peers that missed
    /// them (a stalled round).
    Replay {
        /// The sender's clock (makes each replay a new message).
        time_ms: u64,
        /// The messages, at most [`MAX_REPLAY`].
        messages: Vec<ConsensusMessage>,
    },
    /// A proposal whose block is carried as txids.
    CompactProposal(Box<CompactProposal>),
    /// "I cannot rebuild this proposed block: send me these of its
    /// transactions" (answered by the proposer).
    WantTxs {
        /// The sender's clock (a request sent again is a new message).
        time_ms: u64,
        /// The proposal's height.
        height: u64,
        /// The proposed block.
        block: Hash,
        /// Block indexes of the transactions wanted, ascending.
        indexes: Vec<u32>,
    },
    /// A proposal of the current round sent again in compact form (a
    /// stalled round, as [`Gossip::Replay`] does for votes).
    ReplayProposal {
        /// The sender's clock (makes each replay a new message).
        time_ms: u64,
        /// The proposal.
        proposal: Box<CompactProposal>,
    },
    /// Transactions of a proposed block, answering [`Gossip::WantTxs`].
    ProposalTxs {
        /// The sender's clock.
        time_ms: u64,
        /// The proposed block.
        block: Hash,
        /// Block indexes of `txs`.
        indexes: Vec<u32>,
        /// The transactions.
        txs: Vec<Transaction>,
    },
    /// Evidence that a validator signed two conflicting votes
    /// ([`super::evidence`]); the same evidence is the same message, so
    /// gossip carries each piece once.
    Evidence(Box<DuplicateVoteEvidence>),
}

/// Most messages one replay carries.
pub const MAX_REPLAY: usize = 4 * MAX_REPLAY_VALIDATORS;
/// Validators a replay is sized for (votes of two rounds, two kinds).
pub const MAX_REPLAY_VALIDATORS: usize = 256;

impl Encode for Gossip {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        match self {
            Gossip::Message(m) => m.encode_to(s),
            Gossip::Status { height, time_ms } => {
                s.put(&[2]);
                s.put(&height.to_le_bytes());
                s.put(&time_ms.to_le_bytes());
            }
            Gossip::Certified {
                time_ms,
                block,
                certificate,
            } => {
                s.put(&[3]);
                s.put(&time_ms.to_le_bytes());
                block.encode_to(s);
                certificate.encode_to(s);
            }
            Gossip::Replay { time_ms, messages } => {
                s.put(&[4]);
                s.put(&time_ms.to_le_bytes());
                s.put(&(messages.len() as u32).to_le_bytes());
                for m in messages {
                    m.encode_to(s);
                }
            }
            Gossip::CompactProposal(c) => {
                s.put(&[5]);
                c.encode_to(s);
            }
            Gossip::ReplayProposal { time_ms, proposal } => {
                s.put(&[8]);
                s.put(&time_ms.to_le_bytes());
                proposal.encode_to(s);
            }
            Gossip::WantTxs {
                time_ms,
                height,
                block,
                indexes,
            } => {
                s.put(&[6]);
                s.put(&time_ms.to_le_bytes());
                s.put(&height.to_le_bytes());
                block.encode_to(s);
                put_indexes(s, indexes);
            }
            Gossip::ProposalTxs {
                time_ms,
                block,
                indexes,
                txs,
            } => {
                s.put(&[7]);
                s.put(&time_ms.to_le_bytes());
                block.encode_to(s);
                put_indexes(s, indexes);
                for t in txs {
                    t.encode_to(s);
                }
            }
            Gossip::Evidence(e) => {
                s.put(&[9]);
                e.encode_to(s);
            }
        }
    }
}

impl Decode for Gossip {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("consensus gossip tag")? {
            0 => Ok(Gossip::Message(ConsensusMessage::Proposal(Box::new(
                SignedProposal::decode(r)?,
            )))),
            1 => Ok(Gossip::Message(ConsensusMessage::Vote(SignedVote::decode(
                r,
            )?))),
            2 => Ok(Gossip::Status {
                height: r.u64("status height")?,
                time_ms: r.u64("status time")?,
            }),
            3 => Ok(Gossip::Certified {
                time_ms: r.u64("certified time")?,
                block: Box::new(Block::decode(r)?),
                certificate: CommitCertificate::decode(r)?,
            }),
            4 => {
                let time_ms = r.u64("replay time")?;
                let n = r.u32("replay length")? as usize;
                if n > MAX_REPLAY {
                    return Err(DecodeError::OutOfRange {
                        field: "replay length",
                    });
                }
                let messages = (0..n)
                    .map(|_| ConsensusMessage::decode(r))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Gossip::Replay { time_ms, messages })
            }
            5 => Ok(Gossip::CompactProposal(Box::new(CompactProposal::decode(
                r,
            )?))),
            6 => Ok(Gossip::WantTxs {
                time_ms: r.u64("want time")?,
                height: r.u64("want height")?,
                block: Hash::decode(r)?,
                indexes: r.seq("want indexes", MAX_BLOCK_TXS, |r| r.u32("index"))?,
            }),
            7 => {
                let time_ms = r.u64("proposal txs time")?;
                let block = Hash::decode(r)?;
                let indexes = r.seq("proposal tx indexes", MAX_BLOCK_TXS, |r| r.u32("index"))?;
                // As many transactions as indexes, without reserving for
                // them before they arrive.
                let mut txs = Vec::with_capacity(indexes.len().min(1024));
                for _ in 0..indexes.len() {
                    txs.push(Transaction::decode(r)?);
                }
                Ok(Gossip::ProposalTxs {
                    time_ms,
                    block,
                    indexes,
                    txs,
                })
            }
            8 => Ok(Gossip::ReplayProposal {
                time_ms: r.u64("replay time")?,
                proposal: Box::new(CompactProposal::decode(r)?),
            }),
            9 => Ok(Gossip::Evidence(Box::new(DuplicateVoteEvidence::decode(
                r,
            )?))),
            tag => Err(DecodeError::UnknownTag {
                field: "consensus gossip tag",
                tag: tag.into(),
            }),
        }
    }
}

/// Writes a count-prefixed list of block indexes.
fn put_indexes<S: Sink>(s: &mut S, indexes: &[u32]) {
    put_length(s, indexes.len());
    for i in indexes {
        s.put(&i.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_primitives::SchemeId;

    #[test]
    fn votes_round_trip_and_digests_differ() {
        let d = ChainDomain::new(7, Hash([1; 32]));
        let v = Vote {
            kind: VoteKind::Prevote,
            height: 3,
            round: 1,
            block: Some(Hash([2; 32])),
            validator: Hash([3; 32]),
        };
        let sv = SignedVote {
            vote: v,
            signature: Signature {
                scheme: SchemeId::MlDsa44,
                bytes: vec![5; 3],
            },
        };
        let m = ConsensusMessage::Vote(sv);
        assert_eq!(ConsensusMessage::decode_all(&m.encode()).unwrap(), m);
        let mut seen = std::collections::HashSet::new();
        for kind in [VoteKind::Prevote, VoteKind::Precommit] {
            for block in [None, Some(Hash([2; 32]))] {
                for (h, r) in [(3, 1), (4, 1), (3, 2)] {
                    assert!(seen.insert(
                        Vote {
                            kind,
                            height: h,
                            round: r,
                            block,
                            ..v
                        }
                        .digest(&d)
                    ));
                }
            }
        }
        let other = ChainDomain::new(7, Hash([9; 32]));
        assert_ne!(v.digest(&d), v.digest(&other));
    }

    #[test]
    fn garbage_is_refused() {
        for bytes in [&[][..], &[2], &[1, 9], &[0, 1, 2]] {
            assert!(ConsensusMessage::decode_all(bytes).is_err());
        }
    }
}
