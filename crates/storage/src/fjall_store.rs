//! The fjall backend: one fjall keyspace per table, one database, batches
//! committed with `PersistMode::SyncAll` (the journal is fsynced before
//! `commit` returns) — or, by `commit_unsynced`, with `PersistMode::Buffer`
//! and fsynced by a later `sync` or synced commit.

use std::collections::HashMap;
use std::path::Path;

use fjall::config::CompressionPolicy;
use fjall::KvSeparationOptions;
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use crate::kv::{scan_bounds, Batch, KvStore, Rows, StoreError};
use crate::tables::TableId;

fn engine(e: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(e.to_string())
}

/// Default block cache: reorganisations and block serving read recent
/// blocks back, and fjall's own default (32 MiB) holds only a few of them.
pub const DEFAULT_CACHE_BYTES: u64 = 256 << 20;

/// A fjall database with every Luminex table.
pub struct FjallStore {
    db: Database,
    tables: HashMap<TableId, Keyspace>,
}

impl FjallStore {
    /// Opens (or creates) the database at `path` with the default block
    /// cache ([`DEFAULT_CACHE_BYTES`]), recovering from the journal after a
    /// crash.
    pub fn open(path: &Path) -> Result<FjallStore, StoreError> {
        FjallStore::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// Opens the database with a block cache of `cache_bytes`.
    pub fn open_with_cache(path: &Path, cache_bytes: u64) -> Result<FjallStore, StoreError> {
        // Transactions are mostly ML-DSA keys and signatures, which are
        // random bytes: LZ4 on them costs CPU on the commit path (fjall
        // compresses journal values above 4 KiB by default) and saves
        // nothing. Other tables are small.
        let db = Database::builder(path)
            .cache_size(cache_bytes)
            .journal_compression(CompressionType::None)
            // fjall's default workers for flushes and compactions (min(cores,
            // 4)). One worker saved the ~5% of CPU that fjall 3.1's worker 0
            // spends handing compaction requests back to the queue, but
            // flushes then waited behind compactions after heavy writes:
            // with one, a 5,000-transaction block took a median 1.5 s to
            // reach five loopback nodes, with the default 1.0 s (BENCHMARKS.md).
            .open()
            .map_err(engine)?;
        let mut tables = HashMap::new();
        for id in TableId::ALL {
            let ks = db
                .keyspace(id.name(), || {
                    let opts = KeyspaceCreateOptions::default();
                    if id == TableId::Txs {
                        // Transactions are large and written once: kept in
                        // blob files, they are not rewritten by every
                        // compaction of their keys.
                        opts.data_block_compression_policy(CompressionPolicy::disabled())
                            .with_kv_separation(Some(
                                KvSeparationOptions::default().compression(CompressionType::None),
                            ))
                    } else {
                        opts
                    }
                })
                .map_err(engine)?;
            tables.insert(id, ks);
        }
        Ok(FjallStore { db, tables })
    }

    fn ks(&self, id: TableId) -> &Keyspace {
        &self.tables[&id]
    }

    fn write(&self, batch: Batch, mode: PersistMode) -> Result<(), StoreError> {
        let mut b = self.db.batch().durability(Some(mode));
        for (table, key, value) in batch.ops {
            let ks = self.ks(table);
            match value {
                Some(v) => b.insert(ks, key, v),
                None => b.remove(ks, key),
            }
        }
        b.commit().map_err(engine)
    }
}

impl KvStore for FjallStore {
    fn get_raw(&self, table: TableId, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.ks(table).get(key).map_err(engine)?.map(|v| v.to_vec()))
    }

    fn scan_raw(
        &self,
        table: TableId,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Rows, StoreError> {
        let Some((lo, hi)) = scan_bounds(prefix, after, reverse) else {
            return Ok(vec![]);
        };
        let iter = self.ks(table).range::<Vec<u8>, _>((lo, hi));
        let mut out = Vec::new();
        let mut push = |g: fjall::Guard| -> Result<bool, StoreError> {
            let (k, v) = g.into_inner().map_err(engine)?;
            if !k.starts_with(prefix) {
                return Ok(false);
            }
            out.push((k.to_vec(), v.to_vec()));
            Ok(out.len() < limit)
        };
        if reverse {
            for g in iter.rev() {
                if !push(g)? {
                    break;
                }
            }
        } else {
            for g in iter {
                if !push(g)? {
                    break;
                }
            }
        }
        Ok(out)
    }

    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.write(batch, PersistMode::SyncAll)
    }

    fn commit_unsynced(&self, batch: Batch) -> Result<(), StoreError> {
        // Into the OS's buffers: a killed process loses nothing, a crashed
        // machine what the next `sync` would have made durable.
        self.write(batch, PersistMode::Buffer)
    }

    fn sync(&self) -> Result<(), StoreError> {
        self.db.persist(PersistMode::SyncAll).map_err(engine)
    }

    fn disk_space(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }
}
