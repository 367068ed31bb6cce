//! BFT finality: Tendermint over a known validator set.
//!
//! * [`message`]: proposals, votes, their signed forms and digests;
//! * [`proposer`]: CometBFT's weighted, rotating proposer selection;
//! * [`rules`]: the chain rules a BFT block and its certificate must meet.

pub mod machine;
pub mod message;
pub mod proposer;
pub mod rules;
pub mod votes;

pub use message::{
    ChainDomain, ConsensusMessage, Proposal, SignedProposal, SignedVote, Vote, VoteKind,
};
pub use rules::BftRules;
