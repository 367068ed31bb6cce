//! An in-memory backend with the same semantics, for tests and simulation.

use std::collections::{BTreeMap, HashMap};

use parking_lot::RwLock;

use crate::kv::{scan_bounds, Batch, KvStore, Rows, StoreError};
use crate::tables::TableId;

/// One table: ordered keys to values.
type TableMap = BTreeMap<Vec<u8>, Vec<u8>>;

/// Tables in ordered maps behind one lock (so batches are atomic).
#[derive(Default)]
pub struct MemoryStore {
    tables: RwLock<HashMap<TableId, TableMap>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl KvStore for MemoryStore {
    fn get_raw(&self, table: TableId, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tables
            .read()
            .get(&table)
            .and_then(|t| t.get(key).cloned()))
    }

    fn scan_raw(
        &self,
        table: TableId,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Rows, StoreError> {
        let guard = self.tables.read();
        let Some(t) = guard.get(&table) else {
            return Ok(vec![]);
        };
        let Some((lo, hi)) = scan_bounds(prefix, after, reverse) else {
            return Ok(vec![]);
        };
        let range = t.range((lo, hi)).filter(|(k, _)| k.starts_with(prefix));
        let rows: Rows = if reverse {
            range
                .rev()
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        } else {
            range
                .take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        Ok(rows)
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let mut guard = self.tables.write();
        for (table, key, value) in batch.ops {
            let t = guard.entry(table).or_default();
            match value {
                Some(v) => {
                    t.insert(key, v);
                }
                None => {
                    t.remove(&key);
                }
            }
        }
        Ok(())
    }

    fn disk_space(&self) -> u64 {
        0
    }
}
