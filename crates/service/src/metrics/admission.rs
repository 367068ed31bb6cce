//! The admission pipeline's metrics (ADR 0046, ADR 0048): how many
//! submissions wait at each stage, why submissions got no verdict of the
//! mempool's, and how many panics the pipeline contained. The gauges are
//! kept by the pipeline as it goes (an atomic add per submission and per
//! batch), not refreshed when scraped.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::ReasonLabels;

/// Label set of an admission stage.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StageLabels {
    /// `verify` (waiting for a verifier thread) or `insert` (verified,
    /// waiting for the mempool writer).
    pub stage: String,
}

/// Why a submission got no verdict of the mempool's: the `reason` of
/// `luminex_admission_refused_total`, one per [`crate::admission::AdmitError`]
/// other than a refusal by the mempool.
pub const REFUSALS: [&str; 4] = ["overloaded", "internal", "unavailable", "stopped"];

/// The admission pipeline's metrics.
pub struct AdmissionMetrics {
    /// Submissions waiting, by stage.
    pub queue: Family<StageLabels, Gauge>,
    /// `queue{stage="verify"}`, held so the pipeline need not look it up.
    pub verify_queue: Gauge,
    /// `queue{stage="insert"}`, held likewise.
    pub insert_queue: Gauge,
    /// Submissions answered without a verdict of the mempool's, by reason
    /// ([`REFUSALS`]).
    pub refused: Family<ReasonLabels, Counter>,
    /// Panics caught while admitting (each one a bug, logged).
    pub panics: Counter,
}

impl Default for AdmissionMetrics {
    fn default() -> Self {
        let queue = Family::<StageLabels, Gauge>::default();
        let stage = |s: &str| {
            queue
                .get_or_create(&StageLabels { stage: s.into() })
                .clone()
        };
        let (verify_queue, insert_queue) = (stage("verify"), stage("insert"));
        let refused = Family::<ReasonLabels, Counter>::default();
        for reason in REFUSALS {
            // Every reason exported from the start, so rates begin at zero.
            let _ = refused.get_or_create(&ReasonLabels {
                reason: reason.into(),
            });
        }
        AdmissionMetrics {
            queue,
            verify_queue,
            insert_queue,
            refused,
            panics: Counter::default(),
        }
    }
}

impl AdmissionMetrics {
    /// Counts a submission answered without the mempool's verdict.
    pub fn refused(&self, reason: &'static str) {
        self.refused
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .inc();
    }

    pub(super) fn register(&self, r: &mut Registry) {
        r.register(
            "admission_queue",
            "Transaction submissions waiting in the admission pipeline, by stage (verify: for a \
             verifier thread; insert: verified, for the mempool writer)",
            self.queue.clone(),
        );
        r.register(
            "admission_refused",
            "Transaction submissions answered without the mempool's verdict, by reason \
             (overloaded: queue full; internal: a contained panic; unavailable: threads could \
             not start; stopped: the pipeline closed)",
            self.refused.clone(),
        );
        r.register(
            "admission_panics",
            "Panics caught while admitting transactions (each one a bug, logged); admission goes on",
            self.panics.clone(),
        );
    }
}
