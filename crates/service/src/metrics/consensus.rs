//! The BFT consensus metrics (CometBFT's set is the guide): where the
//! consensus task is, the timeouts that moved it on, the validator set in
//! force, and who signed the certificates committed blocks carry.
//!
//! "Missing" is read from the certificate a committed block carries for its
//! parent — the chain's copy, the same on every node — against the set that
//! signed it. Such a certificate holds the precommits its proposer had when
//! it decided: a quorum, not necessarily every validator that signed, so a
//! validator whose precommit is the last to arrive is missing from some
//! certificates in a healthy network (one of four, at most, in a set of
//! four equal validators). Alerts look at trends, not single blocks.
//!
//! Byzantine behaviour is `luminex_consensus_evidence_total`: pairs of
//! conflicting votes this node saw (evidence is not carried in blocks, so
//! there is no on-chain count of punished validators to report).

use luminex_ledger::ValidatorSet;
use luminex_primitives::{CommitCertificate, Hash};
use prometheus_client::encoding::EncodeLabelSet;

use super::{gauge, Metrics};

/// Label set of a BFT timeout.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StepLabels {
    /// The step the timeout ended: `propose`, `prevote` or `precommit`.
    pub step: String,
}

/// Label set of a rebuilt compact proposal.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RebuiltLabels {
    /// `mempool` (every transaction was there) or `fetched` (some were
    /// asked of the proposer).
    pub source: String,
}

/// The step of a BFT round whose timeout fired (the consensus crate's
/// `TimeoutKind`, named here so this crate need not depend on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeoutStep {
    /// No proposal in time: the node prevoted nil.
    Propose,
    /// Prevotes of more than two thirds, none for one block, in time: the
    /// node precommitted nil.
    Prevote,
    /// Precommits of more than two thirds, no decision, in time: the next
    /// round started.
    Precommit,
}

impl TimeoutStep {
    /// Every step, in round order.
    pub const ALL: [TimeoutStep; 3] = [
        TimeoutStep::Propose,
        TimeoutStep::Prevote,
        TimeoutStep::Precommit,
    ];

    /// The `step` label.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeoutStep::Propose => "propose",
            TimeoutStep::Prevote => "prevote",
            TimeoutStep::Precommit => "precommit",
        }
    }
}

/// What the consensus metrics remember between updates.
#[derive(Default)]
pub(super) struct ConsensusSeen {
    /// Height and round at the last update (round changes are counted
    /// within one height).
    position: Option<(u64, u32)>,
    /// Height and header time (ms) of the last committed block.
    last_commit: Option<(u64, u64)>,
}

impl Metrics {
    /// BFT: where the consensus task is — the height being decided, its
    /// round, the validator set deciding it and this node's validator id
    /// (`None` on a follower). A round later than the last one seen at the
    /// same height counts as round changes.
    pub fn consensus_position(
        &self,
        height: u64,
        round: u32,
        validators: &ValidatorSet,
        me: Option<&Hash>,
    ) {
        {
            let mut seen = self.consensus_seen.lock();
            if let Some((h, r)) = seen.position {
                if h == height && round > r {
                    self.consensus_round_changes.inc_by(u64::from(round - r));
                }
            }
            seen.position = Some((height, round));
        }
        self.consensus_height.set(gauge(height));
        self.consensus_round.set(i64::from(round));
        self.consensus_validators
            .set(gauge(validators.len() as u64));
        self.consensus_validators_power
            .set(gauge(validators.total_power()));
        let own = me
            .and_then(|id| validators.index_of(id))
            .and_then(|i| validators.get(i))
            .map_or(0, |v| v.power);
        self.consensus_validator_power.set(gauge(own));
    }

    /// BFT: a compact proposal was rebuilt, with transactions `fetched`
    /// from the proposer or from the mempool alone.
    pub fn consensus_compact_proposal(&self, fetched: bool) {
        let source = if fetched { "fetched" } else { "mempool" };
        self.consensus_proposals_rebuilt
            .get_or_create(&RebuiltLabels {
                source: source.into(),
            })
            .inc();
    }

    /// BFT: a timeout of `step` fired and moved the round on.
    pub fn consensus_timeout(&self, step: TimeoutStep) {
        self.consensus_timeouts
            .get_or_create(&StepLabels {
                step: step.as_str().into(),
            })
            .inc();
    }

    /// BFT: a block was committed at `height` with header time `time_ms`,
    /// carrying `last_commit`: its parent's certificate and the set that
    /// signed it (`None` for the first block). Sets the missing validators
    /// from that certificate's signer bitmap, counts a missed block when
    /// `me` was in the set and did not sign, and observes the interval
    /// since the previous block when that block was committed here too.
    pub fn consensus_commit(
        &self,
        height: u64,
        time_ms: u64,
        last_commit: Option<(&CommitCertificate, &ValidatorSet)>,
        me: Option<&Hash>,
    ) {
        {
            let mut seen = self.consensus_seen.lock();
            if let Some((h, t)) = seen.last_commit {
                if h + 1 == height {
                    self.consensus_block_interval_seconds
                        .observe(time_ms.saturating_sub(t) as f64 / 1000.0);
                }
            }
            seen.last_commit = Some((height, time_ms));
        }
        let Some((certificate, set)) = last_commit else {
            return;
        };
        let (mut missing, mut missing_power) = (0u64, 0u64);
        for (i, v) in set.validators().iter().enumerate() {
            if !certificate.signed_by(i) {
                missing += 1;
                missing_power = missing_power.saturating_add(v.power);
            }
        }
        self.consensus_missing_validators.set(gauge(missing));
        self.consensus_missing_validators_power
            .set(gauge(missing_power));
        if let Some(i) = me.and_then(|id| set.index_of(id)) {
            if certificate.signed_by(i) {
                self.consensus_validator_last_signed_height
                    .set(gauge(certificate.height));
            } else {
                self.consensus_validator_missed_blocks.inc();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::to_prometheus_text;
    use luminex_ledger::Validator;
    use luminex_primitives::{PublicKey, SchemeId, Signature};

    /// The value of the sample line that starts with `series` exactly.
    fn value(exposition: &str, series: &str) -> f64 {
        exposition
            .lines()
            .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("{series} not in:\n{exposition}"))
            .parse()
            .expect("a sample value")
    }

    /// A set of validators with `powers` (keys are placeholders, distinct
    /// per index and power: nothing here verifies a signature). Returns it
    /// and its ids in set order.
    fn set(powers: &[u64]) -> (ValidatorSet, Vec<Hash>) {
        let set = ValidatorSet::new(
            powers
                .iter()
                .enumerate()
                .map(|(i, p)| Validator {
                    public_key: PublicKey {
                        scheme: SchemeId::MlDsa65,
                        bytes: vec![i as u8, *p as u8, 0, 0],
                    },
                    power: *p,
                })
                .collect(),
        )
        .expect("a valid set");
        let ids = (0..set.len())
            .map(|i| set.id(i).expect("in the set"))
            .collect();
        (set, ids)
    }

    /// A certificate of `height` signed by validators `signers` of a set of
    /// `n`.
    fn certificate(height: u64, n: usize, signers: &[usize]) -> CommitCertificate {
        let sig = Signature {
            scheme: SchemeId::MlDsa65,
            bytes: vec![1; 4],
        };
        CommitCertificate::new(
            height,
            0,
            Hash::ZERO,
            n,
            signers.iter().map(|i| (*i, sig.clone())).collect(),
        )
    }

    #[test]
    fn a_fresh_node_exports_every_consensus_series_at_zero() {
        let text = to_prometheus_text(&Metrics::new().encode());
        for series in [
            "luminex_consensus_height",
            "luminex_consensus_round",
            "luminex_consensus_evidence_total",
            "luminex_consensus_evidence_pending",
            "luminex_consensus_timeouts_total{step=\"propose\"}",
            "luminex_consensus_timeouts_total{step=\"prevote\"}",
            "luminex_consensus_timeouts_total{step=\"precommit\"}",
            "luminex_consensus_round_changes_total",
            "luminex_consensus_validators",
            "luminex_consensus_validators_power",
            "luminex_consensus_missing_validators",
            "luminex_consensus_missing_validators_power",
            "luminex_consensus_validator_power",
            "luminex_consensus_validator_missed_blocks_total",
            "luminex_consensus_validator_last_signed_height",
            "luminex_consensus_block_interval_seconds_count",
        ] {
            assert_eq!(value(&text, series), 0.0, "{series}");
        }
        assert!(text.contains("# TYPE luminex_consensus_block_interval_seconds histogram"));
    }

    #[test]
    fn the_position_sets_the_validator_set_and_counts_rounds_within_a_height() {
        let m = Metrics::new();
        let (vs, ids) = set(&[1, 2, 3, 4]);
        m.consensus_position(5, 0, &vs, Some(&ids[1]));
        m.consensus_position(5, 2, &vs, Some(&ids[1]));
        // The same round again, and a new height: no round change.
        m.consensus_position(5, 2, &vs, Some(&ids[1]));
        m.consensus_position(6, 0, &vs, Some(&ids[1]));
        m.consensus_position(6, 1, &vs, Some(&ids[1]));
        let text = m.encode();
        assert_eq!(value(&text, "luminex_consensus_height"), 6.0);
        assert_eq!(value(&text, "luminex_consensus_round"), 1.0);
        assert_eq!(value(&text, "luminex_consensus_round_changes_total"), 3.0);
        assert_eq!(value(&text, "luminex_consensus_validators"), 4.0);
        assert_eq!(value(&text, "luminex_consensus_validators_power"), 10.0);
        let own = vs.get(1).expect("in the set").power as f64;
        assert_eq!(value(&text, "luminex_consensus_validator_power"), own);
        // A follower, or a key outside the set, has no power.
        let (other, other_ids) = set(&[7]);
        m.consensus_position(7, 0, &vs, None);
        assert_eq!(value(&m.encode(), "luminex_consensus_validator_power"), 0.0);
        m.consensus_position(7, 0, &vs, Some(&other_ids[0]));
        assert_eq!(value(&m.encode(), "luminex_consensus_validator_power"), 0.0);
        m.consensus_position(8, 0, &other, Some(&other_ids[0]));
        assert_eq!(value(&m.encode(), "luminex_consensus_validator_power"), 7.0);
    }

    #[test]
    fn timeouts_are_counted_by_step() {
        let m = Metrics::new();
        m.consensus_timeout(TimeoutStep::Propose);
        m.consensus_timeout(TimeoutStep::Precommit);
        m.consensus_timeout(TimeoutStep::Precommit);
        let text = m.encode();
        let of = |step: &str| {
            value(
                &text,
                &format!("luminex_consensus_timeouts_total{{step=\"{step}\"}}"),
            )
        };
        assert_eq!(of("propose"), 1.0);
        assert_eq!(of("prevote"), 0.0);
        assert_eq!(of("precommit"), 2.0);
    }

    #[test]
    fn a_commit_reports_who_is_missing_from_its_last_certificate() {
        let m = Metrics::new();
        let (vs, ids) = set(&[1, 2, 3, 4]);
        let power = |i: usize| vs.get(i).expect("in the set").power;
        // The first block carries no certificate: nothing is missing yet.
        m.consensus_commit(1, 10_000, None, Some(&ids[0]));
        let text = m.encode();
        assert_eq!(value(&text, "luminex_consensus_missing_validators"), 0.0);
        assert_eq!(
            value(&text, "luminex_consensus_block_interval_seconds_count"),
            0.0
        );
        // Block 2 carries block 1's certificate, signed by 0, 1 and 2.
        let c1 = certificate(1, 4, &[0, 1, 2]);
        m.consensus_commit(2, 11_500, Some((&c1, &vs)), Some(&ids[0]));
        let text = m.encode();
        assert_eq!(value(&text, "luminex_consensus_missing_validators"), 1.0);
        assert_eq!(
            value(&text, "luminex_consensus_missing_validators_power"),
            power(3) as f64
        );
        assert_eq!(
            value(&text, "luminex_consensus_validator_last_signed_height"),
            1.0
        );
        assert_eq!(
            value(&text, "luminex_consensus_validator_missed_blocks_total"),
            0.0
        );
        assert_eq!(
            value(&text, "luminex_consensus_block_interval_seconds_count"),
            1.0
        );
        assert_eq!(
            value(&text, "luminex_consensus_block_interval_seconds_sum"),
            1.5
        );
        // Block 3 carries block 2's certificate without validator 0 (this
        // node) and 2.
        let c2 = certificate(2, 4, &[1, 3]);
        m.consensus_commit(3, 12_500, Some((&c2, &vs)), Some(&ids[0]));
        let text = m.encode();
        assert_eq!(value(&text, "luminex_consensus_missing_validators"), 2.0);
        assert_eq!(
            value(&text, "luminex_consensus_missing_validators_power"),
            (power(0) + power(2)) as f64
        );
        assert_eq!(
            value(&text, "luminex_consensus_validator_last_signed_height"),
            1.0
        );
        assert_eq!(
            value(&text, "luminex_consensus_validator_missed_blocks_total"),
            1.0
        );
        assert_eq!(
            value(&text, "luminex_consensus_block_interval_seconds_count"),
            2.0
        );
        // A follower counts no missed block; a gap in heights (caught up
        // after a restart) observes no interval.
        let c4 = certificate(4, 4, &[1, 2, 3]);
        m.consensus_commit(5, 20_000, Some((&c4, &vs)), None);
        let text = m.encode();
        assert_eq!(
            value(&text, "luminex_consensus_validator_missed_blocks_total"),
            1.0
        );
        assert_eq!(
            value(&text, "luminex_consensus_block_interval_seconds_count"),
            2.0
        );
        assert_eq!(value(&text, "luminex_consensus_missing_validators"), 1.0);
        // A header time before the parent's (invalid, but nothing here
        // relies on it) observes zero, not a wrapped interval.
        let c5 = certificate(5, 4, &[0, 1, 2, 3]);
        m.consensus_commit(6, 19_000, Some((&c5, &vs)), None);
        let text = m.encode();
        assert_eq!(
            value(&text, "luminex_consensus_block_interval_seconds_count"),
            3.0
        );
        assert_eq!(
            value(&text, "luminex_consensus_block_interval_seconds_sum"),
            2.5
        );
        assert_eq!(value(&text, "luminex_consensus_missing_validators"), 0.0);
        assert_eq!(
            value(&text, "luminex_consensus_missing_validators_power"),
            0.0
        );
    }
}
