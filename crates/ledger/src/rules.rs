//! Header rules: what a chain's consensus requires of a block header beyond
//! its transactions — its work (proof of work, or one unit per block) and
//! contextual checks against its ancestors (difficulty, time). The ledger
//! defines the interface; `luminex-consensus` implements proof of work.

pub use ruint::aliases::U256;

use luminex_primitives::{Hash, Header};

use crate::{BlockError, ChainSpec};

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

/// A chain's header rules.
pub trait HeaderRules: Send + Sync {
    /// Checks that need only the header and returns the work the block
    /// adds to its branch. Cheap: runs before anything expensive.
    fn header_work(&self, header: &Header) -> Result<U256, BlockError>;

    /// The `bits` a block on top of `parent` must carry.
    fn next_bits(&self, parent: &Parent, chain: &dyn HeaderChain) -> Result<u32, BlockError>;

    /// The smallest time a block on top of `parent` may carry.
    fn min_time(&self, parent: &Parent, chain: &dyn HeaderChain) -> u32;

    /// Checks against the parent and its ancestors; `now` is local time.
    fn check_header(
        &self,
        header: &Header,
        parent: &Parent,
        chain: &dyn HeaderChain,
        now: u64,
    ) -> Result<(), BlockError>;
}

/// The `dev` rules: every block is one unit of work, times never go back
/// and may not run more than the spec allows past local time.
#[derive(Debug, Clone)]
pub struct DevRules {
    max_future: u64,
}

impl DevRules {
    /// Rules for `spec`.
    pub fn new(spec: &ChainSpec) -> DevRules {
        DevRules {
            max_future: spec.max_future_block_time_secs,
        }
    }
}

impl HeaderRules for DevRules {
    fn header_work(&self, _header: &Header) -> Result<U256, BlockError> {
        Ok(U256::from(1u64))
    }

    fn next_bits(&self, parent: &Parent, _: &dyn HeaderChain) -> Result<u32, BlockError> {
        Ok(parent.header.bits)
    }

    fn min_time(&self, parent: &Parent, _: &dyn HeaderChain) -> u32 {
        parent.header.time
    }

    fn check_header(
        &self,
        header: &Header,
        parent: &Parent,
        _: &dyn HeaderChain,
        now: u64,
    ) -> Result<(), BlockError> {
        if header.time < parent.header.time {
            return Err(BlockError::TimeTooOld {
                time: header.time,
                parent: parent.header.time,
            });
        }
        if u64::from(header.time) > now.saturating_add(self.max_future) {
            return Err(BlockError::TimeTooNew {
                time: header.time,
                now,
            });
        }
        Ok(())
    }
}
