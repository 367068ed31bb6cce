//! Staking runs (ADR 0031–0039): what the simulation adds on a staking
//! chain — the clients of joining nodes (see `clients`), the rewards each
//! epoch boundary paid as every node connected it, the supply invariant
//! after every block, and the [`Run`] a test checks them with.

use std::collections::BTreeMap;

use luminex_ledger::spec::ChainSpec;
use luminex_primitives::{Block, OutPoint, TxOut};

use crate::{clients, Config, Event, Report, Sim};

/// A run with what a test needs to check the chain itself: the spec, the
/// finalized blocks and, per node, its staking state and the rewards it
/// paid.
#[derive(Clone, Debug)]
pub struct Run {
    /// The report.
    pub report: Report,
    /// The spec the nodes ran (after the adjustment).
    pub spec: ChainSpec,
    /// The staking state each node ended with (`None` while down).
    pub states: Vec<Option<luminex_ledger::StakingState>>,
    /// The blocks from genesis to the tip of the first live honest node
    /// (honest nodes finalize the same block at every height, or the run is
    /// a safety violation).
    pub blocks: Vec<Block>,
    /// Per node, for every epoch boundary it connected, the reward outputs
    /// the boundary block paid (ADR 0038), in payout order.
    pub payouts: Vec<BTreeMap<u64, Vec<TxOut>>>,
}

/// [`crate::simulate_with`], returning the whole [`Run`].
pub fn simulate_run(seed: u64, cfg: &Config, adjust: impl FnOnce(&mut ChainSpec)) -> Run {
    let mut sim = Sim::new_with(seed, cfg.clone(), adjust);
    let report = sim.run_report();
    let states = sim
        .nodes
        .iter()
        .map(|n| n.live.as_ref().map(|l| l.chain.staking_state()))
        .collect();
    let blocks = (0..sim.nodes.len())
        .filter(|i| sim.honest(*i))
        .find_map(|i| sim.nodes[i].live.as_ref())
        .map(|live| {
            (0..=live.chain.tip().height)
                .map_while(|h| {
                    let hash = live.chain.hash_at(h).ok().flatten()?;
                    live.chain.block(&hash).ok().flatten()
                })
                .collect()
        })
        .unwrap_or_default();
    Run {
        report,
        spec: sim.spec.clone(),
        states,
        blocks,
        payouts: std::mem::take(&mut sim.payouts),
    }
}

impl Sim {
    /// Node `i` connected `block` at `height`: on a staking chain, the
    /// reward outputs an epoch boundary paid (ADR 0038) — the coins at its
    /// coinbase's txid past the coinbase's own outputs, unspent yet.
    pub(crate) fn record_payouts(&mut self, i: usize, block: &Block, height: u64) {
        let Some(p) = self.spec.staking.as_ref() else {
            return;
        };
        if !luminex_ledger::staking::is_epoch_boundary(height, p.epoch_blocks) {
            return;
        }
        let (Some(live), Some(cb)) = (self.nodes[i].live.as_ref(), block.txs.first()) else {
            return;
        };
        let txid = cb.txid();
        let mut paid = Vec::new();
        for vout in cb.outputs.len() as u32.. {
            match live.chain.coin(&OutPoint { txid, vout }) {
                Ok(Some(c)) => paid.push(c.output),
                _ => break,
            }
        }
        self.payouts[i].insert(height, paid);
    }

    /// The client of node `i`, if any, after its node committed `height`:
    /// a join submitted again or a heartbeat, to the validators deciding
    /// the next block.
    pub(crate) fn client_acts(&mut self, i: usize, height: u64) {
        let Some(client) = self.clients[i].as_mut() else {
            return;
        };
        let Some(action) = clients::act(client, i, &self.nodes[i], height, &self.spec) else {
            return;
        };
        let txs = match action {
            clients::Action::Resubmit(txs) => txs,
            clients::Action::Submit(t) => {
                self.txs.push(t);
                vec![self.txs.len() - 1]
            }
        };
        for node in clients::deciders(&self.nodes[i], height, &self.index) {
            let at = self.now + 1 + self.rng.below(self.cfg.max_delay_ms);
            // A join's transactions in order, a millisecond apart: the
            // registration spends the bond's change.
            for (k, &tx) in txs.iter().enumerate() {
                self.trace(8, i as u64, tx as u64, height);
                self.push(at + k as u64, Event::Submit { node, tx });
            }
        }
    }

    /// The coins of node `i` — spendable, bonded, unbonding, in the reward
    /// pot or burned — are the genesis coins (with the genesis validators'
    /// bonds) plus every subsidy (`staking::check_supply`, ADR 0038).
    pub(crate) fn check_supply(&self, i: usize, height: u64) -> Result<(), String> {
        let live = self.nodes[i].live.as_ref().expect("live");
        let coins = live.chain.all_utxos().map_err(|e| e.to_string())?;
        let utxos: u128 = coins
            .values()
            .map(|c| u128::from(c.output.amount.base()))
            .sum();
        live.chain
            .with_staking(|s| luminex_ledger::staking::check_supply(utxos, s, &self.spec, height))
            .map_err(|e| format!("node {i} at height {height}: {e}"))
    }
}
