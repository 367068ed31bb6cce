//! The `dev` engine: one local producer seals a block on a timer. Every
//! block is one unit of work, times never go back and may not run more
//! than the spec allows past local time. Blocks are final at the spec's
//! reorganisation depth, like proof of work.

use luminex_ledger::spec::ConsensusKind;
use luminex_ledger::{BlockError, ChainContext, ChainSpec, ConsensusRules, Finality, Parent, U256};
use luminex_primitives::{Hash, Header, PowHeader};

/// The `dev` rules.
#[derive(Debug, Clone)]
pub struct DevRules {
    max_future: u64,
    max_reorg_depth: u64,
}

impl DevRules {
    /// Rules for `spec`.
    pub fn new(spec: &ChainSpec) -> DevRules {
        DevRules {
            max_future: spec.max_future_block_time_secs,
            max_reorg_depth: spec.max_reorg_depth,
        }
    }
}

fn pow_header(h: &Header) -> Result<&PowHeader, BlockError> {
    h.as_pow().ok_or(BlockError::WrongHeaderKind)
}

impl ConsensusRules for DevRules {
    fn kind(&self) -> ConsensusKind {
        ConsensusKind::Dev
    }

    fn finality(&self) -> Finality {
        Finality::Depth(self.max_reorg_depth)
    }

    fn header_work(&self, header: &Header) -> Result<U256, BlockError> {
        pow_header(header)?;
        Ok(U256::from(1u64))
    }

    fn min_time(&self, parent: &Parent, _: &dyn ChainContext) -> u64 {
        parent.header.time()
    }

    fn check_header(
        &self,
        header: &Header,
        parent: &Parent,
        _: &dyn ChainContext,
        now_ms: u64,
    ) -> Result<(), BlockError> {
        let h = pow_header(header)?;
        let (time, parent_time, now) = (u64::from(h.time), parent.header.time(), now_ms / 1000);
        if time < parent_time {
            return Err(BlockError::TimeTooOld {
                time,
                parent: parent_time,
            });
        }
        if time > now.saturating_add(self.max_future) {
            return Err(BlockError::TimeTooNew { time, now });
        }
        Ok(())
    }

    fn template_header(
        &self,
        parent: &Parent,
        _: &dyn ChainContext,
        now_ms: u64,
    ) -> Result<Header, BlockError> {
        let p = pow_header(&parent.header)?;
        // The parent is further ahead of this node's clock than its own
        // checks allow (the clock went back): a block dated now would be
        // refused as too old, one dated at the parent as too new. Say so,
        // as the proof-of-work template does; the producer waits.
        let earliest = u64::from(p.time);
        if earliest > (now_ms / 1000).saturating_add(self.max_future) {
            return Err(BlockError::ClockBehindChain {
                earliest,
                now: now_ms / 1000,
            });
        }
        let now = u32::try_from(now_ms / 1000).unwrap_or(u32::MAX);
        Ok(PowHeader {
            version: 1,
            prev_hash: parent.hash,
            merkle_root: Hash::ZERO,
            time: now.max(p.time),
            bits: p.bits,
            nonce: 0,
        }
        .into())
    }
}
