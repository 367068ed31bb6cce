//! The staking metrics (ADR 0031): coins bonded and unbonding, validators
//! with stake, jailed validators and registered nodes, read from the
//! staking state after the tip when metrics are scraped. Like the
//! consensus metrics they are exported on every chain, at zero on chains
//! whose spec has no `[staking]` table, so dashboards and alerts need no
//! per-chain variants.

use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::Node;

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
    }

    /// Sets the gauges from the staking state after `node`'s tip.
    pub(super) fn refresh(&self, node: &Node) {
        if node.spec.staking.is_none() {
            return;
        }
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
        });
    }
}
