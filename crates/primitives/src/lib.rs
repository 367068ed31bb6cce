//! Luminex primitives: hashes, amounts, keys and addresses, transactions,
//! block headers (proof of work and BFT), commit certificates,
//! blocks, the canonical binary codec and Merkle trees.
//!
//! This crate does no I/O (the one exception is [`time::SystemClock`],
//! which reads the operating system's clocks behind the [`Clock`] trait) and depends on nothing else in the workspace. Every
//! type that goes on the wire or on disk implements [`Encode`] and [`Decode`];
//! the format is specified in `docs/encoding.md`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod address;
pub mod amount;
pub mod block;
pub mod codec;
pub mod commit;
pub mod commitment;
pub mod hash;
pub mod header;
pub mod keys;
pub mod merkle;
pub mod multisig;
pub mod staking;
pub mod time;
pub mod tx;
pub mod vote;

pub use address::{Address, AddressError, Lock};
pub use amount::{Amount, AmountError};
pub use block::Block;
pub use codec::{Decode, DecodeError, Encode, Reader};
pub use commit::CommitCertificate;
pub use commitment::MerkleCommitment;
pub use hash::Hash;
pub use header::{BftHeader, Header, PowHeader};
pub use keys::{PublicKey, SchemeId, Signature};
pub use merkle::MerkleProof;
pub use multisig::{MultisigSigner, MultisigWitness};
pub use staking::{
    AccountCreation, Delegation, Heartbeat, NodeRegistration, Stake, Unbond, Unjail,
};
pub use time::{Clock, ManualClock, SystemClock};
pub use tx::{AuthorityChange, OutPoint, Transaction, TxKind, TxOut, Witness};
pub use vote::{
    ChainDomain, DuplicateVoteEvidence, EvidenceKey, EvidenceReport, SignedVote, Vote, VoteKind,
};
