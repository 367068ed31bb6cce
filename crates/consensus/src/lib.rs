//! Luminex consensus engines behind the ledger's [`ConsensusRules`]
//! interface.
//!
//! * [`dev`]: one local producer on a timer (the `dev` preset);
//! * [`pow`]: Bitcoin's proof of work — compact targets, work, retargeting,
//!   median-time-past and future-time limits — for the `qbtc` preset;
//! * [`mining`]: nonce grinding with a precomputed SHA-256 midstate;
//! * [`bft`]: Tendermint finality over a known validator set.
//!
//! [`rules_for`] picks a spec's rules by an exhaustive match on its
//! consensus kind. Everything here is deterministic and free of I/O: time
//! comes in as an argument.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bft;
pub mod dev;
pub mod mining;
pub mod pow;

use std::sync::Arc;

use luminex_ledger::spec::ConsensusKind;
use luminex_ledger::{ChainSpec, ConsensusRules};

pub use dev::DevRules;

/// The consensus rules of a checked chain spec.
pub fn rules_for(spec: &ChainSpec) -> Arc<dyn ConsensusRules> {
    match spec.consensus {
        ConsensusKind::Dev => Arc::new(DevRules::new(spec)),
        ConsensusKind::Pow => Arc::new(
            pow::PowRules::for_spec(spec)
                .expect("a checked pow spec has a [pow] table")
                .expect("a checked pow spec has usable difficulty fields"),
        ),
        ConsensusKind::Bft => {
            Arc::new(bft::BftRules::for_spec(spec).expect("a checked bft spec has a [bft] table"))
        }
    }
}
