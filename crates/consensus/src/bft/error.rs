//! Why the engine refuses a proposal or a vote, and which refusals prove
//! the sender wrong.

use luminex_primitives::Hash;

/// Why a consensus message was refused. [`MessageError::penalize`] tells
/// which ones prove the sender wrong rather than merely late.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
pub enum MessageError {
    /// For a height this node has finished.
    #[error("for finished height {height} (now at {current})")]
    Stale {
        /// The message's height.
        height: u64,
        /// This node's height.
        current: u64,
    },
    /// For a height more than one ahead, or the next height's buffer is
    /// full.
    #[error("for height {height}, too far ahead of {current}")]
    TooFarAhead {
        /// The message's height.
        height: u64,
        /// This node's height.
        current: u64,
    },
    /// A proposal for a round too far above the current one.
    #[error("proposal for round {round}, too far ahead of round {current}")]
    RoundTooFar {
        /// The message's round.
        round: u32,
        /// This node's round.
        current: u32,
    },
    /// Signed by a key outside the validator set.
    #[error("validator {0} is not in the set")]
    UnknownValidator(Hash),
    /// A proposal by a validator who is not the round's proposer.
    #[error("{signer} is not the proposer of round {round}")]
    NotProposer {
        /// Round.
        round: u32,
        /// Who it claims to be from.
        signer: Hash,
    },
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A proposal whose block is not for the proposal's height.
    #[error("the proposed block is for height {block}, the proposal for {proposal}")]
    HeightMismatch {
        /// The block's height.
        block: u64,
        /// The proposal's height.
        proposal: u64,
    },
    /// A proposal whose block is larger than the chain allows.
    #[error("the proposed block has {size} bytes, at most {max} allowed")]
    Oversized {
        /// Encoded size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// Already received.
    #[error("duplicate")]
    Duplicate,
    /// A certificate that does not finalize the block it came with.
    #[error("bad certificate: {0}")]
    BadCertificate(String),
    /// This validator could not record what it was about to sign.
    #[error("cannot persist the signed state: {0}")]
    Persist(String),
}

impl MessageError {
    /// Whether the sender should be penalized: the message is wrong
    /// whenever it arrives, not just late or repeated.
    pub fn penalize(&self) -> bool {
        matches!(
            self,
            MessageError::UnknownValidator(_)
                | MessageError::NotProposer { .. }
                | MessageError::BadSignature
                | MessageError::HeightMismatch { .. }
                | MessageError::Oversized { .. }
                | MessageError::BadCertificate(_)
        )
    }
}
