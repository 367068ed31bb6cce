//! Damaged data found while the node runs.
//!
//! A read whose bytes fail their checksum ([`StoreError::Damaged`]) fails
//! the same way every time: the disk, or someone's hand, changed the files
//! under the data directory. The node cannot mend it, but it must not hide
//! it either: the chain store wraps its database in [`Watched`], which
//! records the first damaged read and counts them all, and the node's
//! readiness, metrics and API errors say so (ADR 0075).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::kv::{Batch, KvStore, Rows, StoreError};
use crate::tables::TableId;

/// The damaged reads a store has met since it opened.
#[derive(Debug, Default)]
pub struct DamageLog {
    first: RwLock<Option<String>>,
    count: AtomicU64,
}

impl DamageLog {
    /// Records `e` if it shows damage; other errors are left alone.
    pub fn note(&self, e: &StoreError) {
        if !e.is_damage() {
            return;
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first.write();
        if first.is_none() {
            tracing::error!(error = %e, remedy = crate::kv::DAMAGE_REMEDY, "damaged data in the database");
            *first = Some(e.to_string());
        }
    }

    /// The first damaged read, if any.
    pub fn first(&self) -> Option<String> {
        self.first.read().clone()
    }

    /// Damaged reads so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

/// A [`KvStore`] that records in a [`DamageLog`] every damaged read of the
/// store it wraps, and otherwise passes everything through.
pub(crate) struct Watched {
    inner: Arc<dyn KvStore>,
    log: Arc<DamageLog>,
}

impl Watched {
    /// `inner`, watched by `log`.
    pub(crate) fn new(inner: Arc<dyn KvStore>, log: Arc<DamageLog>) -> Watched {
        Watched { inner, log }
    }
}

impl KvStore for Watched {
    fn get_raw(&self, table: TableId, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner
            .get_raw(table, key)
            .inspect_err(|e| self.log.note(e))
    }

    fn scan_raw(
        &self,
        table: TableId,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Rows, StoreError> {
        self.inner
            .scan_raw(table, prefix, after, reverse, limit)
            .inspect_err(|e| self.log.note(e))
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.inner.commit(batch)
    }

    fn commit_unsynced(&self, batch: Batch) -> Result<(), StoreError> {
        self.inner.commit_unsynced(batch)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.inner.sync()
    }

    fn disk_space(&self) -> u64 {
        self.inner.disk_space()
    }

    fn settle(&self) -> Result<(), StoreError> {
        self.inner.settle()
    }

    fn block_file_bytes(&self) -> u64 {
        self.inner.block_file_bytes()
    }
}
