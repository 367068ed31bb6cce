//! Storage faults injected on purpose (feature `testkit`): a [`KvStore`]
//! wrapper that fails writes, fails fsyncs, runs out of space and fails
//! reads at the moments a [`FaultPlan`] names.
//!
//! The plan is data, not I/O: a test says "the 3rd commit fails", "the
//! 5th commit is written but its fsync fails", "no space once 10 kB are
//! written", and the wrapper applies it to whatever backend it wraps.
//!
//! The wrapper models the difference between what a process can read and
//! what survives it. A failed write or a full disk changes nothing (the
//! backend's commit is atomic: a torn journal record is dropped at
//! recovery). A failed fsync is the worse case: the batch reached the
//! engine's memory and reads see it, but it is not durable — and later
//! commits may well be (Linux drops the dirty pages whose write-back
//! failed and reports success for the next fsync). [`FaultyStore::crash`]
//! forgets everything not durable, as a restart after a crash would.
//!
//! By default an unsynced commit ([`KvStore::commit_unsynced`]) counts as a
//! synced one. [`FaultyStore::lose_unsynced`] models it as the engine does:
//! readable at once, durable only at the next [`KvStore::sync`] or synced
//! commit, in commit order — so a crash of the machine keeps a prefix of
//! the unsynced batches ([`FaultyStore::crash_keeping`]).

use std::collections::BTreeMap;
use std::ops::RangeBounds;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::kv::{scan_bounds, Batch, KvStore, Rows, StoreError};
use crate::tables::TableId;

/// One fault a [`FaultyStore`] injects. Commits are counted from 1, from the
/// moment the plan was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The `nth` commit fails before anything is written.
    FailWrite {
        /// Which commit.
        nth: u64,
    },
    /// The `nth` commit is written but its fsync fails: reads see the
    /// batch until [`FaultyStore::crash`], which loses it.
    FailSync {
        /// Which commit.
        nth: u64,
    },
    /// Once `after_bytes` of keys and values have been written, every
    /// commit that needs more room fails with nothing written.
    NoSpace {
        /// Bytes that fit.
        after_bytes: u64,
    },
    /// The `nth` read of `table` fails if it is a get (an I/O error that
    /// may pass). Reads are counted as [`FaultyStore::reads`] counts them,
    /// gets and scans together.
    FailRead {
        /// Which table.
        table: TableId,
        /// Which read of it, counting from 1.
        nth: u64,
    },
    /// Every get of one 32-byte key of `table` fails (a damaged record),
    /// until the plan changes.
    Damaged {
        /// Which table.
        table: TableId,
        /// The key (a block hash, say).
        key: [u8; 32],
    },
}

/// The faults to inject, in any number and order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// The faults.
    pub faults: Vec<Fault>,
}

impl FaultPlan {
    /// No faults.
    pub fn none() -> FaultPlan {
        FaultPlan::default()
    }

    /// One fault.
    pub fn one(fault: Fault) -> FaultPlan {
        FaultPlan {
            faults: vec![fault],
        }
    }
}

/// Writes that reads see but a crash loses, by table and key: a value, or `None`
/// for a deletion.
type Volatile = BTreeMap<(TableId, Vec<u8>), Option<Vec<u8>>>;

#[derive(Default)]
struct State {
    plan: FaultPlan,
    /// Commits attempted since the plan was set.
    commits: u64,
    /// Bytes written since the plan was set.
    bytes: u64,
    /// Bytes of every commit attempted since the plan was set.
    sizes: Vec<u64>,
    /// Faults injected since the plan was set.
    injected: Vec<Fault>,
    /// Reads (gets and scans) by table since the plan was set.
    reads: BTreeMap<TableId, u64>,
    volatile: Volatile,
    /// Whether unsynced commits stay volatile until a sync.
    lose_unsynced: bool,
    /// Batches committed unsynced since the last sync, in order.
    unsynced: Vec<Batch>,
    /// Syncs since the plan was set: synced commits and sync calls.
    syncs: u64,
    /// What those batches write, the latest value per key.
    unsynced_view: Volatile,
}

/// A [`KvStore`] over another that injects the faults of its plan.
pub struct FaultyStore {
    inner: Arc<dyn KvStore>,
    state: Mutex<State>,
}

impl FaultyStore {
    /// Wraps `inner` with no faults planned.
    pub fn new(inner: Arc<dyn KvStore>) -> FaultyStore {
        FaultyStore {
            inner,
            state: Mutex::new(State::default()),
        }
    }

    /// Replaces the plan and restarts the commit and byte counts.
    pub fn set_plan(&self, plan: FaultPlan) {
        let mut s = self.state.lock();
        s.plan = plan;
        s.commits = 0;
        s.bytes = 0;
        s.sizes.clear();
        s.injected.clear();
        s.reads.clear();
        s.syncs = 0;
    }

    /// Removes every fault (the disk is repaired, space freed).
    pub fn clear(&self) {
        self.set_plan(FaultPlan::none());
    }

    /// The faults injected since the plan was set, in order.
    pub fn injected(&self) -> Vec<Fault> {
        self.state.lock().injected.clone()
    }

    /// Commits attempted since the plan was set.
    pub fn commits(&self) -> u64 {
        self.state.lock().commits
    }

    /// Bytes of keys and values of every commit attempted since the plan
    /// was set, in order (to aim a [`Fault::NoSpace`] at one of them).
    pub fn commit_sizes(&self) -> Vec<u64> {
        self.state.lock().sizes.clone()
    }

    /// The process dies: whatever was written without a successful fsync
    /// is lost. What remains is what the wrapped store holds.
    pub fn crash(&self) {
        let mut s = self.state.lock();
        s.volatile.clear();
        s.unsynced.clear();
        s.unsynced_view.clear();
    }

    /// Reads of `table` (gets and scans) since the plan was set: tests
    /// check with it that a path is served from memory.
    pub fn reads(&self, table: TableId) -> u64 {
        self.state.lock().reads.get(&table).copied().unwrap_or(0)
    }

    /// Whether some writes are visible but not durable.
    pub fn has_volatile_writes(&self) -> bool {
        let s = self.state.lock();
        !s.volatile.is_empty() || !s.unsynced.is_empty()
    }

    /// From now on an unsynced commit is readable at once but durable only
    /// once a later sync or synced commit returns; [`FaultyStore::crash`]
    /// loses it before that.
    pub fn lose_unsynced(&self) {
        self.state.lock().lose_unsynced = true;
    }

    /// Syncs (fsyncs) since the plan was set: each synced commit and each
    /// [`KvStore::sync`]. An unsynced commit counts here only while
    /// [`FaultyStore::lose_unsynced`] is off (it is then a synced one).
    pub fn syncs(&self) -> u64 {
        self.state.lock().syncs
    }

    /// Batches committed unsynced and not yet durable.
    pub fn unsynced_batches(&self) -> usize {
        self.state.lock().unsynced.len()
    }

    /// The machine crashes after the engine wrote the first `kept` of the
    /// unsynced batches to disk (the journal keeps them in order and drops
    /// a torn tail): those survive, the later ones and every write whose
    /// fsync failed are lost.
    pub fn crash_keeping(&self, kept: usize) -> Result<(), StoreError> {
        let mut s = self.state.lock();
        s.volatile.clear();
        s.unsynced_view.clear();
        let batches = std::mem::take(&mut s.unsynced);
        for batch in batches.into_iter().take(kept) {
            self.inner.commit(batch)?;
        }
        Ok(())
    }

    /// Makes the unsynced batches durable, in order (the caller holds the
    /// state's lock, so no read sees them half moved).
    fn persist_unsynced(&self, s: &mut State) -> Result<(), StoreError> {
        s.unsynced_view.clear();
        for batch in std::mem::take(&mut s.unsynced) {
            for (table, key, _) in &batch.ops {
                s.volatile.remove(&(*table, key.clone()));
            }
            self.inner.commit(batch)?;
        }
        Ok(())
    }

    /// The fault planned for the next commit, counting it; a failed write
    /// or a full disk is returned as the error, with nothing written.
    fn next_fault(&self, s: &mut State, batch: &Batch) -> Result<Option<Fault>, StoreError> {
        s.commits += 1;
        let (n, size) = (s.commits, batch_bytes(batch));
        s.sizes.push(size);
        let fault = s.plan.faults.iter().copied().find(|f| match *f {
            Fault::FailWrite { nth } | Fault::FailSync { nth } => nth == n,
            Fault::NoSpace { after_bytes } => s.bytes + size > after_bytes,
            Fault::FailRead { .. } | Fault::Damaged { .. } => false,
        });
        match fault {
            Some(f @ Fault::FailWrite { .. }) => {
                s.injected.push(f);
                Err(StoreError::Engine(format!(
                    "injected fault: write of commit {n} failed (I/O error)"
                )))
            }
            Some(f @ Fault::NoSpace { .. }) => {
                s.injected.push(f);
                Err(StoreError::Engine(format!(
                    "injected fault: no space left on device (commit {n}, {size} bytes)"
                )))
            }
            other => Ok(other),
        }
    }
}

fn batch_bytes(batch: &Batch) -> u64 {
    batch
        .ops
        .iter()
        .map(|(_, k, v)| (k.len() + v.as_ref().map_or(0, Vec::len)) as u64)
        .sum()
}

impl KvStore for FaultyStore {
    fn get_raw(&self, table: TableId, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        {
            let mut s = self.state.lock();
            let n = {
                let reads = s.reads.entry(table).or_default();
                *reads += 1;
                *reads
            };
            let fault = s.plan.faults.iter().copied().find(|f| match *f {
                Fault::FailRead { table: t, nth } => t == table && nth == n,
                Fault::Damaged { table: t, key: k } => t == table && k[..] == *key,
                _ => false,
            });
            if let Some(f) = fault {
                s.injected.push(f);
                return Err(match f {
                    Fault::Damaged { .. } => StoreError::Damaged(format!(
                        "injected fault: read {n} of {table:?} failed its checksum"
                    )),
                    _ => {
                        StoreError::Engine(format!("injected fault: read {n} of {table:?} failed"))
                    }
                });
            }
            let k = (table, key.to_vec());
            if let Some(v) = s.unsynced_view.get(&k).or_else(|| s.volatile.get(&k)) {
                return Ok(v.clone());
            }
        }
        self.inner.get_raw(table, key)
    }

    fn scan_raw(
        &self,
        table: TableId,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Rows, StoreError> {
        let mut s = self.state.lock();
        *s.reads.entry(table).or_default() += 1;
        // Unsynced writes are newer than any whose fsync failed (a failed
        // fsync halts the chain store).
        let overlay: Vec<_> = s
            .volatile
            .iter()
            .chain(s.unsynced_view.iter())
            .filter(|((t, _), _)| *t == table)
            .collect();
        if overlay.is_empty() {
            drop(s);
            return self.inner.scan_raw(table, prefix, after, reverse, limit);
        }
        // Merge the volatile writes in the scanned range over every durable
        // row of the range, then cut to the limit (test data is small).
        let mut rows: BTreeMap<Vec<u8>, Vec<u8>> = self
            .inner
            .scan_raw(table, prefix, after, false, usize::MAX)?
            .into_iter()
            .collect();
        let Some(range) = scan_bounds(prefix, after, reverse) else {
            return Ok(vec![]);
        };
        for ((_, key), value) in overlay {
            let in_range = key.starts_with(prefix) && range.contains(key);
            if !in_range {
                continue;
            }
            match value {
                Some(v) => rows.insert(key.clone(), v.clone()),
                None => rows.remove(key),
            };
        }
        let rows: Box<dyn Iterator<Item = (Vec<u8>, Vec<u8>)>> = if reverse {
            Box::new(rows.into_iter().rev())
        } else {
            Box::new(rows.into_iter())
        };
        Ok(rows.take(limit).collect())
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let mut s = self.state.lock();
        let n = s.commits + 1;
        match self.next_fault(&mut s, &batch)? {
            None => {}
            Some(f) => {
                s.injected.push(f);
                s.bytes += batch_bytes(&batch);
                for (table, key, value) in batch.ops {
                    s.volatile.insert((table, key), value);
                }
                return Err(StoreError::Engine(format!(
                    "injected fault: fsync of commit {n} failed (I/O error)"
                )));
            }
        }
        // A synced commit makes every batch before it durable too.
        s.syncs += 1;
        self.persist_unsynced(&mut s)?;
        // Durable from here: what this batch writes supersedes any volatile
        // value of the same keys.
        for (table, key, _) in &batch.ops {
            s.volatile.remove(&(*table, key.clone()));
        }
        s.bytes += batch_bytes(&batch);
        // Under the lock, so no read sees the volatile value gone and the
        // durable one not yet there.
        self.inner.commit(batch)
    }

    fn commit_unsynced(&self, batch: Batch) -> Result<(), StoreError> {
        let mut s = self.state.lock();
        if !s.lose_unsynced {
            drop(s);
            return self.commit(batch);
        }
        // Nothing is fsynced here: a planned fsync failure does not apply.
        self.next_fault(&mut s, &batch)?;
        s.bytes += batch_bytes(&batch);
        for (table, key, value) in &batch.ops {
            s.unsynced_view.insert((*table, key.clone()), value.clone());
        }
        s.unsynced.push(batch);
        Ok(())
    }

    fn sync(&self) -> Result<(), StoreError> {
        let mut s = self.state.lock();
        s.syncs += 1;
        self.persist_unsynced(&mut s)?;
        self.inner.sync()
    }

    fn disk_space(&self) -> u64 {
        self.inner.disk_space()
    }
}
