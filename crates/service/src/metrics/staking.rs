//! The staking metrics (ADR 0031): coins bonded and unbonding, validators
//! with stake, jailed validators, registered nodes, the reward pot and
//! the nodes live in the current epoch (ADR 0038), read from the
//! staking state after the tip when metrics are scraped; and the
//! punishments of ADR 0039 — slashes by offence and jailings — counted as
//! the blocks that carry them connect. Like the consensus metrics they are
//! exported on every chain, at zero on chains whose spec has no
//! `[staking]` table, so dashboards and alerts need no per-chain variants.
//!
//! Punishments are not transactions (downtime is judged from the
//! certificates blocks carry), so they are counted from the staking state:
//! after each batch of connected blocks, the punished offences and jail
//! entries are compared with those after the batch before
//! ([`Punishments::since`]). A new punished offence is a double-sign slash;
//! a jail entry that is new or renewed (another `until`), not for a new
//! double-sign offence, is a downtime slash (the ledger jails only with a
//! slash); a validator entering jail is a jailing. A jail served and
//! incurred again within one batch (a long catch-up) counts once; the
//! counters start at zero with the process, from the state it opened.

use std::collections::{BTreeMap, BTreeSet};

use luminex_ledger::staking::JailEntry;
use luminex_ledger::StakingState;
use luminex_primitives::Hash;
use parking_lot::Mutex;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::Node;

/// Label set of a slash.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OffenceLabels {
    /// `double_sign` or `downtime`.
    pub offence: String,
}

/// The offences that slash (ADR 0039).
pub const OFFENCES: [&str; 2] = ["double_sign", "downtime"];

/// The punishment records of a staking state: what [`Punishments::since`]
/// compares.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Punishments {
    /// Punished double-sign offences: (height, validator).
    pub offences: BTreeSet<(u64, Hash)>,
    /// Jailed validators.
    pub jails: BTreeMap<Hash, JailEntry>,
}

/// What changed between two [`Punishments`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PunishmentCounts {
    /// Double-sign offences punished.
    pub double_sign: u64,
    /// Downtime slashes.
    pub downtime: u64,
    /// Validators that entered jail.
    pub jailed: u64,
}

impl Punishments {
    /// The records of `state`.
    pub fn of(state: &StakingState) -> Punishments {
        Punishments {
            offences: state.punished().copied().collect(),
            jails: state.jails().map(|(id, j)| (*id, *j)).collect(),
        }
    }

    /// The punishments between `before` and `self`.
    pub fn since(&self, before: &Punishments) -> PunishmentCounts {
        let new: Vec<&(u64, Hash)> = self.offences.difference(&before.offences).collect();
        let double_signers: BTreeSet<Hash> = new.iter().map(|(_, v)| *v).collect();
        let mut counts = PunishmentCounts {
            double_sign: new.len() as u64,
            ..PunishmentCounts::default()
        };
        for (id, jail) in &self.jails {
            let prior = before.jails.get(id);
            if prior.is_none() {
                counts.jailed += 1;
            }
            let renewed = prior.is_none_or(|p| p.until != jail.until);
            if renewed && !double_signers.contains(id) {
                counts.downtime += 1;
            }
        }
        counts
    }
}

/// The staking gauges.
#[derive(Default)]
pub struct StakingMetrics {
    /// Coins bonded (own stake and delegations), base units.
    pub bonded: Gauge,
    /// Coins in unbonding entries (still slashable), base units.
    pub unbonding: Gauge,
    /// Validators with own stake bonded.
    pub validators: Gauge,
    /// Jailed validators.
    pub jailed: Gauge,
    /// Registered nodes.
    pub registered_nodes: Gauge,
    /// Coins in the reward pot, waiting for the epoch's payout, base units.
    pub reward_pot: Gauge,
    /// Registered nodes that sent a heartbeat in the epoch of the next
    /// block.
    pub live_nodes: Gauge,
    /// Slashes, by offence.
    pub slashes: Family<OffenceLabels, Counter>,
    /// Validators that entered jail.
    pub jailings: Counter,
    /// The punishment records after the last blocks observed (`None`
    /// before the first observation).
    seen: Mutex<Option<Punishments>>,
}

fn clamp(v: u128) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl StakingMetrics {
    /// Registers the gauges in `r` (prefixed `luminex_` by it).
    pub(super) fn register(&self, r: &mut Registry) {
        r.register(
            "staking_bonded_base_units",
            "Staking chains: coins bonded to validators, own stake and delegations (base units)",
            self.bonded.clone(),
        );
        r.register(
            "staking_unbonding_base_units",
            "Staking chains: coins unbonding, still slashable until released (base units)",
            self.unbonding.clone(),
        );
        r.register(
            "staking_validators",
            "Staking chains: validators with own stake bonded",
            self.validators.clone(),
        );
        r.register(
            "staking_jailed_validators",
            "Staking chains: validators jailed out of the set",
            self.jailed.clone(),
        );
        r.register(
            "staking_registered_nodes",
            "Staking chains: registered node keys",
            self.registered_nodes.clone(),
        );
        r.register(
            "staking_reward_pot_base_units",
            "Staking chains: coins in the reward pot, paid out at the epoch's last block (base units)",
            self.reward_pot.clone(),
        );
        r.register(
            "staking_live_nodes",
            "Staking chains: registered nodes with a heartbeat in the current epoch",
            self.live_nodes.clone(),
        );
        for offence in OFFENCES {
            // Every offence exported from the start, so rates begin at zero.
            let _ = self.slashes.get_or_create(&OffenceLabels {
                offence: offence.into(),
            });
        }
        r.register(
            "staking_slashes",
            "Staking chains: validators slashed by blocks this node connected, by offence \
             (double_sign: evidence carried in a block; downtime: too few signed commits)",
            self.slashes.clone(),
        );
        r.register(
            "staking_jailings",
            "Staking chains: validators jailed out of the set by blocks this node connected",
            self.jailings.clone(),
        );
    }

    /// Counts the punishments in `state` since the last state observed (the
    /// first observation only records it): called with the state after
    /// the tip whenever blocks connect.
    pub fn observe(&self, state: &StakingState) {
        let now = Punishments::of(state);
        let mut seen = self.seen.lock();
        if let Some(before) = seen.as_ref() {
            let c = now.since(before);
            for (offence, n) in [("double_sign", c.double_sign), ("downtime", c.downtime)] {
                if n > 0 {
                    self.slashes
                        .get_or_create(&OffenceLabels {
                            offence: offence.into(),
                        })
                        .inc_by(n);
                }
            }
            self.jailings.inc_by(c.jailed);
        }
        *seen = Some(now);
    }

    /// Sets the gauges from the staking state after `node`'s tip.
    pub(super) fn refresh(&self, node: &Node) {
        let Some(params) = &node.spec.staking else {
            return;
        };
        let epoch =
            luminex_ledger::staking::epoch_of(node.chain.tip().height + 1, params.epoch_blocks);
        node.chain.with_staking(|s| {
            self.bonded.set(clamp(s.total_bonded()));
            self.unbonding.set(clamp(s.total_unbonding()));
            self.validators.set(
                s.validators()
                    .filter(|(_, v)| v.self_bond.base() > 0)
                    .count() as i64,
            );
            self.jailed.set(s.jails().count() as i64);
            self.registered_nodes.set(s.nodes().count() as i64);
            self.reward_pot.set(clamp(u128::from(s.pot().base())));
            self.live_nodes.set(s.live_nodes(epoch).count() as i64);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_ledger::StakingUndo;

    fn id(b: u8) -> Hash {
        Hash([b; 32])
    }

    fn jail(until: u64, slashed: bool) -> JailEntry {
        JailEntry { until, slashed }
    }

    #[test]
    fn new_offences_and_jails_are_counted_by_kind() {
        let before = Punishments {
            offences: BTreeSet::from([(3, id(1))]),
            jails: BTreeMap::from([(id(1), jail(u64::MAX, true)), (id(2), jail(40, false))]),
        };
        // Validator 3 double-signed (slashed and jailed for good), 4 was
        // jailed for downtime, 2 served its jail and left it, 1 is as it
        // was.
        let now = Punishments {
            offences: BTreeSet::from([(3, id(1)), (9, id(3))]),
            jails: BTreeMap::from([
                (id(1), jail(u64::MAX, true)),
                (id(3), jail(u64::MAX, true)),
                (id(4), jail(60, false)),
            ]),
        };
        assert_eq!(
            now.since(&before),
            PunishmentCounts {
                double_sign: 1,
                downtime: 1,
                jailed: 2,
            }
        );
        assert_eq!(now.since(&now), PunishmentCounts::default());
    }

    #[test]
    fn a_jailed_validator_punished_again_is_slashed_not_jailed_again() {
        // Jailed for downtime, then its double signing is punished: one
        // more double-sign slash, no jailing and no downtime slash.
        let before = Punishments {
            offences: BTreeSet::new(),
            jails: BTreeMap::from([(id(5), jail(50, false))]),
        };
        let now = Punishments {
            offences: BTreeSet::from([(44, id(5))]),
            jails: BTreeMap::from([(id(5), jail(u64::MAX, true))]),
        };
        let c = now.since(&before);
        assert_eq!((c.double_sign, c.downtime, c.jailed), (1, 0, 0));
        // Jailed again for downtime after unjailing in between: a renewed
        // term is a downtime slash.
        let again = Punishments {
            offences: BTreeSet::new(),
            jails: BTreeMap::from([(id(5), jail(90, false))]),
        };
        let c = again.since(&before);
        assert_eq!((c.double_sign, c.downtime, c.jailed), (0, 1, 0));
    }

    #[test]
    fn the_counters_move_as_the_state_observed_changes() {
        let m = StakingMetrics::default();
        let mut r = Registry::with_prefix("luminex");
        m.register(&mut r);
        let mut state = StakingState::default();
        let mut undo = StakingUndo::default();
        state.set_jail(id(7), Some(jail(30, false)), &mut undo);
        // The first observation is the baseline: jails from before the
        // process started are not counted.
        m.observe(&state);
        assert_eq!(m.jailings.get(), 0);
        state.set_jail(id(8), Some(jail(35, false)), &mut undo);
        m.observe(&state);
        m.observe(&state);
        let downtime = OffenceLabels {
            offence: "downtime".into(),
        };
        let double = OffenceLabels {
            offence: "double_sign".into(),
        };
        assert_eq!(m.jailings.get(), 1);
        assert_eq!(m.slashes.get_or_create(&downtime).get(), 1);
        assert_eq!(m.slashes.get_or_create(&double).get(), 0);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &r).unwrap();
        assert!(
            text.contains("luminex_staking_slashes_total{offence=\"downtime\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("luminex_staking_slashes_total{offence=\"double_sign\"} 0"),
            "{text}"
        );
        assert!(text.contains("luminex_staking_jailings_total 1"), "{text}");
    }
}
