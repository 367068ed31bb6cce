//! Luminex consensus engines behind the ledger's [`HeaderRules`] interface.
//!
//! * [`pow`]: Bitcoin's proof of work — compact targets, work, retargeting,
//!   median-time-past and future-time limits — for the `qbtc` preset.
//! * [`mining`]: nonce grinding with a precomputed SHA-256 midstate.
//!
//! [`rules_for`] picks a spec's rules. Everything here is deterministic and
//! free of I/O: time comes in as an argument.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod mining;
pub mod pow;

use std::sync::Arc;

use luminex_ledger::spec::ConsensusKind;
use luminex_ledger::{ChainSpec, DevRules, HeaderRules};

/// The header rules of a chain spec.
pub fn rules_for(spec: &ChainSpec) -> Arc<dyn HeaderRules> {
    match (spec.consensus, &spec.pow) {
        (ConsensusKind::Pow, Some(p)) => Arc::new(pow::PowRules::new(
            p.clone(),
            spec.max_future_block_time_secs,
        )),
        _ => Arc::new(DevRules::new(spec)),
    }
}
