//! What a run found and measured.

use std::collections::BTreeSet;

use luminex_primitives::Hash;

/// What a run found.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Outcome {
    /// Safe, and every honest node finalized its blocks after the heal.
    Live {
        /// Lowest height an honest node reached.
        height: u64,
    },
    /// Safety broken.
    SafetyViolation(String),
    /// Nothing unsafe, but some honest node did not finalize enough blocks
    /// in the time allowed after the heal.
    NoProgress {
        /// Heights the honest nodes reached.
        heights: Vec<u64>,
    },
}

/// A run's outcome and figures.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Report {
    /// What happened.
    pub outcome: Outcome,
    /// Digest of every event in order (equal for equal seeds and configs).
    pub trace: Hash,
    /// Simulated time at the end (ms).
    pub sim_ms: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Simulated ms between consecutive finalized heights, as first seen by
    /// any honest node, after the heal.
    pub block_intervals_ms: Vec<u64>,
    /// Bytes of each commit certificate finalized (encoded), as the
    /// decision built it.
    pub certificate_bytes: Vec<usize>,
    /// Bytes of the certificate each finalized block carries of its parent
    /// (`last_commit`, encoded): the decision's with the precommits that
    /// arrived during the commit pause (ADR 0042).
    pub carried_certificate_bytes: Vec<usize>,
    /// Compact proposals nodes rebuilt only after asking for transactions
    /// (the simulation has no transaction gossip: a submission reaches one
    /// mempool).
    pub fetched_proposals: u64,
    /// The most a finalized block was dated ahead of the simulated time
    /// when an honest node first committed it (ADR 0065 bounds it by the
    /// spec's `proposal_time_precision_ms`, whatever one validator's clock
    /// says).
    pub max_block_lead_ms: u64,
    /// Where each node ended: height, round and step, or "down".
    pub nodes: Vec<String>,
    /// Per node (empty while down), the validators (node indexes) it
    /// holds double-signing evidence against.
    pub evidence: Vec<BTreeSet<usize>>,
    /// The validator set (node indexes) that finalized each height from 1,
    /// as the first live honest node's chain records it.
    pub validator_sets: Vec<BTreeSet<usize>>,
}
