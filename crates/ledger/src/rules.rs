//! The consensus-engine boundary: what a chain's consensus requires of a
//! block beyond its transactions, and how the chain decides what is final.
//!
//! The ledger defines the interface; `luminex-consensus` implements it three
//! times — `dev` (one local producer), proof of work, and BFT finality —
//! and picks one by an exhaustive match on [`ConsensusKind`].

pub use ruint::aliases::U256;

use luminex_primitives::{Block, CommitCertificate, Hash, Header};

use crate::spec::ConsensusKind;
use crate::validators::ConsensusRecord;
use crate::BlockError;

/// The parent of a header being checked.
#[derive(Debug, Clone, Copy)]
pub struct Parent {
    /// Its hash.
    pub hash: Hash,
    /// Its height.
    pub height: u64,
    /// Its header.
    pub header: Header,
}

/// Read access to known headers, for looking back along a branch.
pub trait HeaderChain {
    /// The header at `height` on the branch that ends at block `tip`.
    fn ancestor(&self, tip: &Hash, height: u64) -> Option<Header>;
}

/// What consensus rules may read of the chain: headers along a branch and,
/// on BFT chains, the consensus state after each main-chain block.
pub trait ChainContext: HeaderChain {
    /// The consensus state after the main-chain block at `height`.
    fn consensus_record(&self, height: u64) -> Option<ConsensusRecord>;

    /// Calls `f` with the staking state after the tip (the state a block
    /// on the tip builds on) and returns true, or returns false on chains
    /// without staking.
    fn with_staking(&self, f: &mut dyn FnMut(&crate::staking::StakingState)) -> bool {
        let _ = f;
        false
    }
}

/// How a chain decides that a block can no longer be reverted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finality {
    /// Probabilistic: a block this many blocks below the tip is treated as
    /// final (reorganisations deeper than this are refused).
    Depth(u64),
    /// Deterministic: a block is final once a commit certificate of the
    /// validator set finalizes it; blocks are connected only with one.
    Certified,
}

/// A chain's consensus rules.
pub trait ConsensusRules: Send + Sync {
    /// Which engine this is.
    fn kind(&self) -> ConsensusKind;

    /// How blocks become final.
    fn finality(&self) -> Finality;

    /// Checks that need only the header and returns the work the block
    /// adds to its branch. Cheap: runs before anything expensive.
    fn header_work(&self, header: &Header) -> Result<U256, BlockError>;

    /// Checks against the parent, its ancestors and (BFT) the consensus
    /// state; `now_ms` is local time in Unix milliseconds.
    fn check_header(
        &self,
        header: &Header,
        parent: &Parent,
        chain: &dyn ChainContext,
        now_ms: u64,
    ) -> Result<(), BlockError>;

    /// The smallest time, in Unix seconds, a block on `parent` may carry.
    fn min_time(&self, parent: &Parent, chain: &dyn ChainContext) -> u64;

    /// The header of a new block on `parent` at local time `now_ms`, with
    /// a zero transaction root (the producer fills it in). Chains whose
    /// blocks need more than a template (BFT: the consensus state and the
    /// parent's certificate) return [`BlockError::WrongHeaderKind`].
    fn template_header(
        &self,
        parent: &Parent,
        chain: &dyn ChainContext,
        now_ms: u64,
    ) -> Result<Header, BlockError>;

    /// Checks what the block carries for consensus beyond its header (BFT:
    /// the parent's certificate) and returns the consensus state after it,
    /// which the chain stores with the block; `None` on chains without one.
    fn connect_consensus(
        &self,
        _block: &Block,
        _parent: &Parent,
        _chain: &dyn ChainContext,
    ) -> Result<Option<ConsensusRecord>, BlockError> {
        Ok(None)
    }

    /// Checks that `certificate` finalizes the block `block_hash` at
    /// `height`, whose parent is the main-chain block at `height - 1`.
    fn check_certificate(
        &self,
        _certificate: &CommitCertificate,
        _block_hash: &Hash,
        _height: u64,
        _chain: &dyn ChainContext,
    ) -> Result<(), BlockError> {
        Err(BlockError::BadCertificate(
            "this chain does not use commit certificates".into(),
        ))
    }
}
