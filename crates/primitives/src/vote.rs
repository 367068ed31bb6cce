//! BFT votes, the chain domain they are signed over, and double-signing
//! evidence: two conflicting signed votes of one validator.
//!
//! These live here rather than in the consensus crate because a block can
//! carry evidence (the `evidence` transaction kind, tag 10, ADR 0039): the
//! ledger checks and punishes it, and the ledger does not depend on the
//! consensus engine. The engine re-exports everything here under its old
//! paths.

use crate::codec::{Decode, DecodeError, Encode, Reader, Sink};
use crate::hash::Domain;
use crate::{Hash, Lock, Signature};

/// Domain of vote digests.
pub const VOTE: Domain = Domain("luminex/bft-vote");
/// Domain of [`ChainDomain`].
pub const CHAIN_DOMAIN: Domain = Domain("luminex/bft-chain");

/// What every consensus signature of one chain commits to.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct ChainDomain(pub Hash);

impl ChainDomain {
    /// The domain of the chain with `chain_id` and genesis `genesis`.
    pub fn new(chain_id: u32, genesis: Hash) -> ChainDomain {
        let mut h = CHAIN_DOMAIN.hasher();
        h.update(&chain_id.to_le_bytes());
        h.update(&genesis.0);
        ChainDomain(h.finish())
    }
}

/// The two votes of a Tendermint round.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum VoteKind {
    /// First-phase vote.
    Prevote = 1,
    /// Second-phase vote; a quorum for one block commits it.
    Precommit = 2,
}

/// A vote for a block (or for nothing, `nil`) at a height and round.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Vote {
    /// Prevote or precommit.
    pub kind: VoteKind,
    /// Height.
    pub height: u64,
    /// Round.
    pub round: u32,
    /// The block, or `None` for nil.
    pub block: Option<Hash>,
    /// The voter's id.
    pub validator: Hash,
}

/// The digest a validator signs for a vote (the voter is bound by its key).
pub fn vote_digest(
    domain: &ChainDomain,
    kind: VoteKind,
    height: u64,
    round: u32,
    block: Option<&Hash>,
) -> Hash {
    let mut h = VOTE.hasher();
    h.update(&domain.0 .0);
    h.update(&[kind as u8]);
    h.update(&height.to_le_bytes());
    h.update(&round.to_le_bytes());
    match block {
        None => h.update(&[0]),
        Some(b) => {
            h.update(&[1]);
            h.update(&b.0);
        }
    }
    h.finish()
}

impl Vote {
    /// The digest to sign.
    pub fn digest(&self, domain: &ChainDomain) -> Hash {
        vote_digest(
            domain,
            self.kind,
            self.height,
            self.round,
            self.block.as_ref(),
        )
    }
}

fn put_opt_hash<S: Sink>(s: &mut S, h: &Option<Hash>) {
    match h {
        None => s.put(&[0]),
        Some(h) => {
            s.put(&[1]);
            s.put(&h.0);
        }
    }
}

fn opt_hash(r: &mut Reader<'_>, field: &'static str) -> Result<Option<Hash>, DecodeError> {
    match r.u8(field)? {
        0 => Ok(None),
        1 => Ok(Some(Hash::decode(r)?)),
        tag => Err(DecodeError::UnknownTag {
            field,
            tag: tag.into(),
        }),
    }
}

impl Encode for Vote {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&[self.kind as u8]);
        s.put(&self.height.to_le_bytes());
        s.put(&self.round.to_le_bytes());
        put_opt_hash(s, &self.block);
        self.validator.encode_to(s);
    }
}

impl Decode for Vote {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let kind = match r.u8("vote kind")? {
            1 => VoteKind::Prevote,
            2 => VoteKind::Precommit,
            tag => {
                return Err(DecodeError::UnknownTag {
                    field: "vote kind",
                    tag: tag.into(),
                })
            }
        };
        Ok(Vote {
            kind,
            height: r.u64("vote height")?,
            round: r.u32("vote round")?,
            block: opt_hash(r, "vote block")?,
            validator: Hash::decode(r)?,
        })
    }
}

/// A vote with its signature.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct SignedVote {
    /// The vote.
    pub vote: Vote,
    /// The voter's signature over [`Vote::digest`].
    pub signature: Signature,
}

impl Encode for SignedVote {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.vote.encode_to(s);
        self.signature.encode_to(s);
    }
}

impl Decode for SignedVote {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(SignedVote {
            vote: Vote::decode(r)?,
            signature: Signature::decode(r)?,
        })
    }
}

/// Two conflicting signed votes by one validator: proof of misbehaviour.
/// Checked against the validator set of its height by
/// `luminex_ledger::evidence::check_evidence`.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct DuplicateVoteEvidence {
    /// The vote counted first.
    pub first: SignedVote,
    /// The conflicting vote.
    pub second: SignedVote,
}

/// What evidence punishes: one validator at one height. Evidence of the
/// same validator at the same height (another round, another pair of
/// votes) is the same offence, so a pool keeps one and a chain punishes
/// it once.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct EvidenceKey {
    /// The offender's id.
    pub validator: Hash,
    /// The height of its votes.
    pub height: u64,
}

impl DuplicateVoteEvidence {
    /// The same evidence with its two votes in canonical order (by their
    /// encodings), so that one pair of votes has one encoding whichever a
    /// node saw first.
    pub fn canonical(self) -> DuplicateVoteEvidence {
        if self.first.encode() <= self.second.encode() {
            self
        } else {
            DuplicateVoteEvidence {
                first: self.second,
                second: self.first,
            }
        }
    }

    /// Whether the votes are in canonical order.
    pub fn is_canonical(&self) -> bool {
        self.first.encode() <= self.second.encode()
    }

    /// The offence it proves.
    pub fn key(&self) -> EvidenceKey {
        EvidenceKey {
            validator: self.first.vote.validator,
            height: self.first.vote.height,
        }
    }

    /// The height of the votes.
    pub fn height(&self) -> u64 {
        self.first.vote.height
    }
}

impl Encode for DuplicateVoteEvidence {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.first.encode_to(s);
        self.second.encode_to(s);
    }
}

impl Decode for DuplicateVoteEvidence {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(DuplicateVoteEvidence {
            first: SignedVote::decode(r)?,
            second: SignedVote::decode(r)?,
        })
    }
}

/// The only payload version of [`EvidenceReport`] so far.
pub const EVIDENCE_PAYLOAD_VERSION: u8 = 1;

/// `evidence` (tag 10, ADR 0039): double-signing evidence carried in a
/// block, and who is paid the reporter's share of the slash. A proposer
/// adds it from its evidence pool; it has no inputs, outputs or
/// witnesses (the votes' signatures are its proof).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct EvidenceReport {
    /// The evidence, its votes in canonical order.
    pub evidence: DuplicateVoteEvidence,
    /// Where the reporter's share of the slash is paid.
    pub reporter: Lock,
}

impl Encode for EvidenceReport {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&[EVIDENCE_PAYLOAD_VERSION]);
        self.evidence.encode_to(s);
        self.reporter.encode_to(s);
    }
}

impl Decode for EvidenceReport {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("evidence payload version")? {
            EVIDENCE_PAYLOAD_VERSION => {}
            v => {
                return Err(DecodeError::UnknownTag {
                    field: "evidence payload version",
                    tag: v.into(),
                })
            }
        }
        Ok(EvidenceReport {
            evidence: DuplicateVoteEvidence::decode(r)?,
            reporter: Lock::decode(r)?,
        })
    }
}
