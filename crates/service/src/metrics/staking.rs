//! The staking metrics (ADR 0031): coins bonded and unbonding, validators
//! with stake, jailed validators, registered nodes, the reward pot and
//! the nodes live in the current epoch (ADR 0038), read from the
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
    /// Coins in the reward pot, waiting for the epoch's payout, base units.
    pub reward_pot: Gauge,
    /// Registered nodes that sent a heartbeat in the epoch of the next
    /// block.
    pub live_nodes: Gauge,
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
