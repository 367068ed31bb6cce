//! The staking state of a chain with a `[staking]` table (ADR 0031): kept
//! in memory, written entry by entry in the same synced batch as each
//! block (`staking` keyspace), with each block's staking undo data beside
//! its undo data (`staking_undo`). Blocks connect and disconnect it with
//! the UTXO set, and the coins matured unbonding entries release join the
//! block's UTXO changes. On chains without the table nothing here runs.

use luminex_ledger::staking::{Seats, StakingState};
use luminex_ledger::StakingUndo;

use super::*;

/// Adds the entry writes of `undo` (against `state`) to `batch`.
fn write_entries(batch: &mut Batch, state: &StakingState, undo: &StakingUndo) {
    for (k, v) in state.writes(undo) {
        match v {
            Some(v) => batch.put(STAKING, &k, &RawValue(v)),
            None => batch.delete(STAKING, &k),
        }
    }
}

impl ChainStore {
    /// Whether this chain keeps a staking state.
    pub(super) fn stakes(&self) -> bool {
        self.spec.staking.is_some()
    }

    /// A copy of the staking state after the tip (empty on chains without
    /// a `[staking]` table).
    pub fn staking_state(&self) -> StakingState {
        self.staking.read().clone()
    }

    /// Reads the staking state after the tip without copying it.
    pub fn with_staking<T>(&self, f: impl FnOnce(&StakingState) -> T) -> T {
        f(&self.staking.read())
    }

    /// Connecting the block `hash` at `height` (whose txids are `txids`
    /// and whose transactions paid `fees`): applies its staking
    /// transactions, its share of the reward pot, releases and (at an
    /// epoch boundary) reward payouts to the state in memory, adds their
    /// writes and undo data to `batch`, and returns the undo data (its
    /// released coins — matured unbonding entries and rewards — join the
    /// block's UTXO changes). `None` on chains without staking. On error
    /// nothing changed.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn connect_staking(
        &self,
        block: &Block,
        hash: &Hash,
        txids: &[Hash],
        height: u64,
        fees: Amount,
        record: Option<&luminex_ledger::ConsensusRecord>,
        batch: &mut Batch,
    ) -> Result<Option<StakingUndo>, ChainError> {
        if !self.stakes() {
            return Ok(None);
        }
        let signers = self.commit_signers(block, height)?;
        let seats = self.seats_record(height)?;
        let mut state = self.staking.write();
        let mut undo = state.apply_block_with(
            block,
            txids,
            height,
            fees,
            &self.spec,
            signers.as_ref(),
            seats.as_ref().map(Seats::of).as_ref(),
        )?;
        if let Some(r) = record {
            state.note_election(height, self.seated(r, height), &self.spec, &mut undo);
        }
        write_entries(batch, &state, &undo);
        batch.put(STAKING_UNDO, hash, &undo);
        Ok(Some(undo))
    }

    /// Whether the election of the block at `height`, whose consensus
    /// record is `record`, seated a set (ADR 0069): the record schedules
    /// one to take over an epoch after the block. (Only boundaries elect.)
    pub(super) fn seated(&self, record: &luminex_ledger::ConsensusRecord, height: u64) -> bool {
        let epoch = self.spec.staking.as_ref().map_or(0, |p| p.epoch_blocks);
        record
            .scheduled
            .as_ref()
            .is_some_and(|s| s.effective_height == height + epoch + 1)
    }

    /// The set whose members signed the certificate `block` (at `height`)
    /// carries: the set in force at `height - 1`, kept in the consensus
    /// record of `height - 2`. `None` when the block carries none (the
    /// first block) — then liveness is not tracked for it.
    pub(super) fn commit_signers(
        &self,
        block: &Block,
        height: u64,
    ) -> Result<Option<luminex_ledger::ValidatorSet>, ChainError> {
        if block.last_commit.is_none() || height < 2 {
            return Ok(None);
        }
        let record = self.consensus_record(height - 2)?.ok_or_else(|| {
            ChainError::Inconsistent(format!("consensus state of height {} missing", height - 2))
        })?;
        Ok(Some(record.validators))
    }

    /// The consensus record of the block before `height`, whose sets tell
    /// which unbonding stake is held at `height` ([`Seats::of`], ADR
    /// 0072): on BFT chains, where every block has one; `None` on the
    /// others, which hold by the time rule alone.
    pub(super) fn seats_record(
        &self,
        height: u64,
    ) -> Result<Option<luminex_ledger::ConsensusRecord>, ChainError> {
        if self.spec.consensus != ConsensusKind::Bft || height == 0 {
            return Ok(None);
        }
        let record = self.consensus_record(height - 1)?.ok_or_else(|| {
            ChainError::Inconsistent(format!("consensus state of height {} missing", height - 1))
        })?;
        Ok(Some(record))
    }

    /// Reverses [`ChainStore::connect_staking`] in memory after its batch
    /// failed to commit.
    pub(super) fn revert_staking(&self, undo: &StakingUndo) {
        self.staking.write().undo(undo);
    }

    /// Disconnecting the tip block `hash`: undoes its staking changes in
    /// memory, adds the entry writes to `batch` and returns the undo data,
    /// whose released coins leave the UTXO set. The undo data stays
    /// stored, like the block's own, for the UTXO catch-up at open. (If
    /// the batch fails the store halts, and the next open loads the state
    /// from disk.)
    pub(super) fn disconnect_staking(
        &self,
        hash: &Hash,
        batch: &mut Batch,
    ) -> Result<Option<StakingUndo>, ChainError> {
        if !self.stakes() {
            return Ok(None);
        }
        let undo = self.kv.get(STAKING_UNDO, hash)?.ok_or_else(|| {
            ChainError::Inconsistent(format!("staking undo data of {hash} missing"))
        })?;
        let mut state = self.staking.write();
        state.undo(&undo);
        write_entries(batch, &state, &undo);
        Ok(Some(undo))
    }

    /// The coins the ledger paid at the stored block `hash` — matured
    /// unbonding entries and rewards (ADR 0031) — with their outpoints;
    /// empty on chains without staking or for a block never connected.
    pub fn ledger_payouts(&self, hash: &Hash) -> Result<Vec<(OutPoint, Coin)>, StoreError> {
        if !self.stakes() {
            return Ok(Vec::new());
        }
        Ok(self
            .kv
            .get::<_, luminex_ledger::staking::StakingUndo>(STAKING_UNDO, hash)?
            .map(|u| u.released)
            .unwrap_or_default())
    }

    /// The coins the stored block `hash` released (empty on chains without
    /// staking): for bringing the UTXO set up to the tip at open.
    pub(super) fn released_by(&self, hash: &Hash) -> Result<Vec<(OutPoint, Coin)>, ChainError> {
        if !self.stakes() {
            return Ok(Vec::new());
        }
        let undo = self.kv.get(STAKING_UNDO, hash)?.ok_or_else(|| {
            ChainError::Inconsistent(format!("staking undo data of {hash} missing"))
        })?;
        Ok(undo.released)
    }
}

/// The staking state stored in `kv` (empty on chains without staking).
pub(super) fn load(kv: &dyn KvStore, spec: &ChainSpec) -> Result<StakingState, ChainError> {
    if spec.staking.is_none() {
        return Ok(StakingState::default());
    }
    let rows = kv.scan_raw(STAKING.id, &[], None, false, usize::MAX)?;
    StakingState::from_entries(rows).map_err(|error| {
        StoreError::Corrupt {
            table: STAKING.id.name(),
            error,
        }
        .into()
    })
}

/// The genesis staking state's entries, for a new database.
pub(super) fn genesis_entries(batch: &mut Batch, spec: &ChainSpec) {
    if spec.staking.is_none() {
        return;
    }
    for (k, v) in StakingState::genesis(spec).entries() {
        batch.put(STAKING, &k, &RawValue(v));
    }
}
