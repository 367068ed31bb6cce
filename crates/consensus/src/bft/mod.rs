//! BFT finality: Tendermint over a known validator set.
//!
//! * [`message`]: proposals, votes, their signed forms and digests;
//! * [`compact`]: proposals carried as txids and rebuilt from the mempool;
//! * [`relay`]: a node's compact proposals in flight (asks and answers);
//! * [`epochs`]: validator sets from stake — elections at epoch
//!   boundaries, jailed validators dropped, the staking state's hash in the
//!   header;
//! * [`evidence`]: double-signing evidence, checked alone, and its pool;
//! * [`proposer`]: proposer choice — CometBFT's weighted rotation, or a
//!   stake-weighted draw per view;
//! * [`rules`]: the chain rules a BFT block and its certificate must meet;
//! * [`votes`]: the vote keeper;
//! * [`machine`]: the Tendermint state machine of one height;
//! * [`engine`]: one node's engine around it (authentication, signing
//!   after recording, certificates, buffering, re-gossip).

pub mod compact;
pub mod engine;
pub mod epochs;
pub mod error;
pub mod evidence;
pub mod host;
pub mod machine;
pub mod message;
pub mod proposer;
pub mod relay;
pub mod rules;
pub mod votes;

pub use compact::{CompactProposal, PendingProposal, Pooled};
pub use engine::{ConsensusSigner, Effect, Engine, Host, MessageError, SignedState};
pub use evidence::{DuplicateVoteEvidence, EvidenceKey, EvidencePool};
pub use machine::{RoundView, Step, VoterView};
pub use message::{
    ChainDomain, ConsensusMessage, Gossip, Proposal, SignedProposal, SignedVote, Vote, VoteKind,
};
pub use relay::{ProposalRelay, Relay};
pub use rules::BftRules;
