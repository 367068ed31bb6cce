//! The pool's view of the staking state (ADR 0031), on chains whose spec
//! has a `[staking]` table.
//!
//! The rule: a staking transaction is admitted only if it applies to the
//! staking state after the tip (the *base*) plus every pool transaction
//! admitted before it, in admission order (the *scratch* state). So two
//! unstakes of the same stake cannot both enter, nor a delegation to a
//! validator that no pool or chain transaction makes one. Transfers go
//! through the same check, which refuses them only where the spec
//! requires account creation and an output pays an uncreated account.
//!
//! When the base changes (a block connects, a reorganisation) or a pool
//! transaction leaves (mined by someone else, evicted, expired), the
//! scratch state is rebuilt from the base by replaying the pool in
//! admission order; a transaction that no longer applies leaves the pool
//! with its descendants, and the replay starts again.
//!
//! ADR 0035 records the choice.
//!
//! Block building does not trust the pool's order: the block's order is
//! by fee rate, not admission, so [`StakingPool::filter_for_block`]
//! replays the selected transactions on a copy of the base in block order
//! and leaves out (or moves after their dependencies) those that would
//! fail, so a built block always connects.

use luminex_ledger::staking::StakingState;
use luminex_ledger::{ChainSpec, StakingError, StakingUndo};
use luminex_primitives::{Hash, Transaction};

/// The base and scratch staking states of a pool.
#[derive(Debug, Clone)]
pub(crate) struct StakingPool {
    /// The staking state after the tip.
    pub(crate) base: StakingState,
    /// The height of the next block (the one pool transactions are checked
    /// for).
    pub(crate) height: u64,
    /// `base` plus the pool's transactions in admission order, unless
    /// `dirty`.
    pub(crate) scratch: StakingState,
    /// Set when a pool transaction left: `scratch` must be rebuilt before
    /// it is used.
    pub(crate) dirty: bool,
    /// Set when a block connected that `base` was not the parent state of
    /// (a reorganisation): `base` is unknown until the owner sets it, and
    /// nothing is dropped meanwhile.
    pub(crate) stale: bool,
}

impl StakingPool {
    /// The pool of a chain at genesis of `spec` (the genesis accounts,
    /// nothing bonded), checking for block 1.
    pub(crate) fn genesis(spec: &ChainSpec) -> StakingPool {
        let base = StakingState::genesis(spec);
        StakingPool {
            scratch: base.clone(),
            base,
            height: 1,
            dirty: false,
            stale: false,
        }
    }

    /// Whether the staking state has a say on `tx` under `spec`: staking
    /// kinds always, every transaction where accounts must be created.
    pub(crate) fn concerns(tx: &Transaction, spec: &ChainSpec) -> bool {
        tx.kind.is_staking() || spec.requires_account_creation()
    }

    /// Applies `tx` to the scratch state, returning the undo to take it
    /// back if the pool refuses it for another reason.
    pub(crate) fn admit(
        &mut self,
        tx: &Transaction,
        txid: &Hash,
        spec: &ChainSpec,
    ) -> Result<StakingUndo, StakingError> {
        let mut undo = StakingUndo::default();
        self.scratch
            .apply_tx(tx, txid, self.height, spec, &mut undo)?;
        Ok(undo)
    }

    /// Whether [`StakingPool::admit`] would take `tx` after the pool's
    /// transactions `in_pool` (admission order), changing nothing: on the
    /// scratch state, taken back at once, or — when the scratch state must
    /// be rebuilt first — on a copy rebuilt from the base (rebuilding in
    /// place would drop the pool transactions that no longer apply, a
    /// change a dry run must not make).
    pub(crate) fn would_admit<'a>(
        &mut self,
        tx: &Transaction,
        txid: &Hash,
        spec: &ChainSpec,
        in_pool: impl Iterator<Item = (&'a Transaction, &'a Hash)>,
    ) -> Result<(), StakingError> {
        if self.dirty && !self.stale {
            let mut copy = StakingPool {
                base: self.base.clone(),
                height: self.height,
                scratch: StakingState::default(),
                dirty: true,
                stale: false,
            };
            copy.replay(in_pool, spec);
            return copy.admit(tx, txid, spec).map(|_| ());
        }
        let undo = self.admit(tx, txid, spec)?;
        self.scratch.undo(&undo);
        Ok(())
    }

    /// Replays `txs` (admission order) on the base. Returns the txids that
    /// no longer apply; the scratch state is then the base plus the others.
    pub(crate) fn replay<'a>(
        &mut self,
        txs: impl Iterator<Item = (&'a Transaction, &'a Hash)>,
        spec: &ChainSpec,
    ) -> Vec<Hash> {
        let mut scratch = self.base.clone();
        let mut failed = Vec::new();
        let mut undo = StakingUndo::default();
        for (tx, txid) in txs {
            if !Self::concerns(tx, spec) {
                continue;
            }
            if scratch
                .apply_tx(tx, txid, self.height, spec, &mut undo)
                .is_err()
            {
                failed.push(*txid);
            }
            // Undo data is not needed: the scratch state is thrown away
            // whole when rebuilt.
            undo.changes.clear();
        }
        self.scratch = scratch;
        self.dirty = false;
        failed
    }

    /// The transactions of `selected` (block order, parents before
    /// children; `in_pool` tells whether a txid is a pool transaction) that
    /// connect in a block at `height` on the base: each in turn is applied
    /// to a copy of the base; one that fails, or spends an output of a pool
    /// transaction not (yet) included, waits, and is tried again after the
    /// next that succeeds, so a delegation paying more than the stake it
    /// needs still follows that stake. What never applies is left out.
    /// Returns the indices of `selected` to include, in block order.
    pub(crate) fn filter_for_block(
        &self,
        selected: &[(&Transaction, Hash)],
        in_pool: impl Fn(&Hash) -> bool,
        height: u64,
        spec: &ChainSpec,
    ) -> Vec<usize> {
        let mut state = self.base.clone();
        let mut undo = StakingUndo::default();
        let mut included = std::collections::HashSet::new();
        let mut order = Vec::with_capacity(selected.len());
        let mut pending: Vec<usize> = (0..selected.len()).collect();
        loop {
            let mut progress = false;
            let mut waiting = Vec::new();
            for i in pending {
                let (tx, txid) = selected[i];
                let parents_in = tx
                    .inputs
                    .iter()
                    .all(|op| !in_pool(&op.txid) || included.contains(&op.txid));
                let applies = parents_in
                    && (!Self::concerns(tx, spec)
                        || state.apply_tx(tx, &txid, height, spec, &mut undo).is_ok());
                undo.changes.clear();
                if applies {
                    included.insert(txid);
                    order.push(i);
                    progress = true;
                } else {
                    waiting.push(i);
                }
            }
            if !progress || waiting.is_empty() {
                break;
            }
            pending = waiting;
        }
        order
    }
}

/// Applies the staking side of a connected block's transactions (with
/// their txids) at `height`, then its releases — by the time rule alone,
/// without the block's validator sets, so it may hold an entry the chain
/// releases (ADR 0072): a node replaces this state with the chain's after
/// every block ([`crate::Mempool::set_staking_state`]). On error the state
/// is as before.
pub(crate) fn apply_block_txs<'a>(
    state: &mut StakingState,
    txs: impl Iterator<Item = (&'a Transaction, &'a Hash)>,
    height: u64,
    spec: &ChainSpec,
) -> Result<(), StakingError> {
    let mut undo = StakingUndo::default();
    for (tx, txid) in txs {
        if let Err(e) = state.apply_tx(tx, txid, height, spec, &mut undo) {
            state.undo(&undo);
            return Err(e);
        }
    }
    if let Some(params) = &spec.staking {
        state.release(height, params, None, &mut undo);
    }
    Ok(())
}
