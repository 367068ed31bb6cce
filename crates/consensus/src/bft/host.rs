//! What the engine needs from the node around it: a signer for this
//! validator, a [`Host`] that builds and validates blocks against the
//! chain, and the write-ahead record of what the validator signed
//! ([`SignedState`]), persisted before any signature leaves the engine.

use std::sync::Arc;

use luminex_primitives::codec::{Decode, DecodeError, Encode, Reader, Sink};
use luminex_primitives::{Block, CommitCertificate, Hash, Signature};

use super::message::Vote;

/// Signs for one validator.
pub trait ConsensusSigner: Send + Sync {
    /// The validator's id (the hash of its public key).
    fn id(&self) -> Hash;
    /// Signs a digest.
    fn sign(&self, digest: &Hash) -> Signature;
}

impl ConsensusSigner for luminex_crypto::SigningKey {
    fn id(&self) -> Hash {
        self.public_key().key_hash()
    }
    fn sign(&self, digest: &Hash) -> Signature {
        luminex_crypto::SigningKey::sign(self, digest)
    }
}

/// What the engine needs from the node around it.
pub trait Host {
    /// A new block for `height` on the tip, proposed by `proposer` (this
    /// validator), carrying `last_commit`. `None` when none can be built.
    /// Shared, as [`Host::validate_block`]'s: the engine proposes and
    /// commits this very block.
    fn build_block(
        &mut self,
        height: u64,
        round: u32,
        proposer: Hash,
        last_commit: Option<&CommitCertificate>,
    ) -> Option<Arc<Block>>;
    /// Whether `block` would connect on the tip. The block is the one the
    /// engine keeps and commits, shared, so a host may remember what it
    /// learned about this very block (`Arc::ptr_eq`) for its commit.
    fn validate_block(&mut self, block: &Arc<Block>) -> bool;
    /// Whether the time of a block newly proposed in `round` is acceptable
    /// to this validator's clock ([`super::BftRules::timely`]); asked of
    /// new proposals only, never of re-proposed or certified blocks. A host
    /// without a clock takes every time.
    fn timely(&mut self, _block: &Block, _round: u32) -> bool {
        true
    }
    /// Records `state` durably; nothing this validator signs leaves the
    /// engine before the state that contains it is recorded.
    fn persist(&mut self, state: &SignedState) -> Result<(), String>;
}

/// What a validator must remember across a crash to never sign two
/// conflicting messages: what it signed at its current height, and the
/// round, lock and valid value it had reached.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct SignedState {
    /// Height.
    pub height: u64,
    /// Round reached.
    pub round: u32,
    /// Lock (block, round).
    pub locked: Option<(Hash, u32)>,
    /// Valid value (block, round).
    pub valid: Option<(Hash, u32)>,
    /// Votes signed at `height`.
    pub votes: Vec<Vote>,
    /// Proposals signed at `height`: (round, block).
    pub proposals: Vec<(u32, Hash)>,
}

/// Format version of [`SignedState`]'s encoding.
const SIGNED_STATE_VERSION: u8 = 1;
/// Most votes and proposals a recorded state may hold when decoded.
const MAX_SIGNED: u64 = 1 << 16;

fn put_lock<S: Sink>(s: &mut S, l: &Option<(Hash, u32)>) {
    match l {
        None => s.put(&[0]),
        Some((h, r)) => {
            s.put(&[1]);
            s.put(&h.0);
            s.put(&r.to_le_bytes());
        }
    }
}

fn lock(r: &mut Reader<'_>, field: &'static str) -> Result<Option<(Hash, u32)>, DecodeError> {
    match r.u8(field)? {
        0 => Ok(None),
        1 => Ok(Some((Hash::decode(r)?, r.u32(field)?))),
        tag => Err(DecodeError::UnknownTag {
            field,
            tag: tag.into(),
        }),
    }
}

impl Encode for SignedState {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&[SIGNED_STATE_VERSION]);
        s.put(&self.height.to_le_bytes());
        s.put(&self.round.to_le_bytes());
        put_lock(s, &self.locked);
        put_lock(s, &self.valid);
        s.put(&(self.votes.len() as u64).to_le_bytes());
        for v in &self.votes {
            v.encode_to(s);
        }
        s.put(&(self.proposals.len() as u64).to_le_bytes());
        for (r, h) in &self.proposals {
            s.put(&r.to_le_bytes());
            s.put(&h.0);
        }
    }
}

impl Decode for SignedState {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u8("signed state version")?;
        if version != SIGNED_STATE_VERSION {
            return Err(DecodeError::UnknownTag {
                field: "signed state version",
                tag: version.into(),
            });
        }
        let height = r.u64("signed state height")?;
        let round = r.u32("signed state round")?;
        let locked = lock(r, "signed state lock")?;
        let valid = lock(r, "signed state valid value")?;
        let n = r.u64("signed votes")?;
        if n > MAX_SIGNED {
            return Err(DecodeError::OutOfRange {
                field: "signed votes",
            });
        }
        let votes = (0..n)
            .map(|_| Vote::decode(r))
            .collect::<Result<Vec<_>, _>>()?;
        let n = r.u64("signed proposals")?;
        if n > MAX_SIGNED {
            return Err(DecodeError::OutOfRange {
                field: "signed proposals",
            });
        }
        let proposals = (0..n)
            .map(|_| Ok((r.u32("signed proposal round")?, Hash::decode(r)?)))
            .collect::<Result<Vec<_>, DecodeError>>()?;
        Ok(SignedState {
            height,
            round,
            locked,
            valid,
            votes,
            proposals,
        })
    }
}
