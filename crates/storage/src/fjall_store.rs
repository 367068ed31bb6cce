//! The fjall backend: one fjall keyspace per table, one database, batches
//! committed with `PersistMode::SyncAll` (the journal is fsynced before
//! `commit` returns) — or, by `commit_unsynced`, with `PersistMode::Buffer`
//! and fsynced by a later `sync` or synced commit. The transactions of a
//! large batch (a block's) go to append-only block files instead, and the
//! database keeps a reference to each (`block_files`, ADR 0054).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use fjall::config::CompressionPolicy;
use fjall::KvSeparationOptions;
use fjall::{CompressionType, Database, Keyspace, KeyspaceCreateOptions, PersistMode};

use crate::block_files::{BlobRef, BlockFiles};
use crate::kv::{scan_bounds, Batch, KvStore, Rows, StoreError};
use crate::tables::TableId;

/// The engine's error as a [`StoreError`]: checksum mismatches and bytes
/// that do not decompress or parse are damage ([`StoreError::Damaged`]),
/// everything else (I/O, a poisoned or locked database) an engine failure.
fn engine(e: fjall::Error) -> StoreError {
    use fjall::Error as F;
    use fjall::LsmError as L;
    let damaged = matches!(
        &e,
        F::Decompress(_)
            | F::InvalidTag(_)
            | F::InvalidTrailer
            | F::Storage(
                L::ChecksumMismatch { .. }
                    | L::Decompress(_)
                    | L::InvalidTag(_)
                    | L::InvalidTrailer
                    | L::InvalidHeader(_)
                    | L::Utf8(_)
            )
    );
    if damaged {
        StoreError::Damaged(e.to_string())
    } else {
        StoreError::Engine(e.to_string())
    }
}

/// Why the database at `path` did not open, said for an operator: fjall's
/// own words for the common cases are a bare `Locked` or an OS error with
/// no file named.
fn opening(path: &Path, e: fjall::Error) -> StoreError {
    let text = e.to_string();
    let why = if text.contains("Locked") {
        "it is in use by another process (another luminex node on the same data directory?)"
            .to_string()
    } else {
        match &e {
            fjall::Error::Io(io) if io.kind() == std::io::ErrorKind::NotFound => format!(
                "a file of the database is missing ({io}); the database may be damaged: \
                 restore the data directory from a backup, or remove its db directory to sync again"
            ),
            _ => text,
        }
    };
    StoreError::Engine(format!("opening the database {}: {why}", path.display()))
}

/// Default block cache: reorganisations and block serving read recent
/// blocks back, and fjall's own default (32 MiB) holds only a few of them.
pub const DEFAULT_CACHE_BYTES: u64 = 256 << 20;

/// A batch whose transactions add up to at least this many bytes writes
/// them to the block files; a smaller one (an empty block's coinbase, a
/// few transfers) keeps them in the `txs` keyspace, so it costs no sync of
/// its own when it is committed without waiting for the disk.
pub const BLOCK_FILE_BATCH_BYTES: usize = 64 << 10;

/// The keyspace of references into the block files (the backend's own, not
/// a chain table): a transaction's key maps to its [`BlobRef`].
const REFS_KEYSPACE: &str = "txs_in_block_files";

/// A fjall database with every Luminex table, and the block files beside
/// it.
pub struct FjallStore {
    db: Database,
    tables: HashMap<TableId, Keyspace>,
    refs: Keyspace,
    files: BlockFiles,
    /// Bytes committed to the database since the journal's size was last
    /// looked at ([`FjallStore::bound_journal`]).
    since_journal_check: AtomicU64,
}

/// How long a clean close waits for the memtables to reach the tables
/// ([`KvStore::settle`]).
const SETTLE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Bytes committed between two looks at the journal's size.
const JOURNAL_CHECK_BYTES: u64 = 16 << 20;

/// Journals kept at most before fjall flushes the keyspaces holding the
/// oldest (its minimum is 64 MiB).
pub const MAX_JOURNAL_BYTES: u64 = 128 << 20;

/// Journal past which a commit waits for the flushes it asked for
/// ([`FjallStore::bound_journal`]): writes faster than the disk flushes
/// would otherwise grow it as far as they go.
const STALL_JOURNAL_BYTES: u64 = MAX_JOURNAL_BYTES + MAX_JOURNAL_BYTES / 2;

/// Longest a commit waits for the journal to fall below
/// [`STALL_JOURNAL_BYTES`]; past it the commit goes on (and says so), so a
/// stuck flush slows the node down without stopping it.
const JOURNAL_STALL_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

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
            // Journals are dropped only once every keyspace flushed what
            // they hold, and a keyspace written rarely (most of ours)
            // flushes only when, at another keyspace's flush, the journals
            // are past this size: until then its writes sit in memory, and
            // a restart replays them all. fjall looks at the size only when
            // some memtable fills (64 MiB), so with transactions in the
            // block files the journal grew past any bound for many minutes
            // (BENCHMARKS.md, "Memory over time"); the store looks itself
            // (`bound_journal`).
            .max_journaling_size(MAX_JOURNAL_BYTES)
            // fjall's default workers for flushes and compactions (min(cores,
            // 4)). One worker saved the ~5% of CPU that fjall 3.1's worker 0
            // spends handing compaction requests back to the queue, but
            // flushes then waited behind compactions after heavy writes:
            // with one, a 5,000-transaction block took a median 1.5 s to
            // reach five loopback nodes, with the default 1.0 s (BENCHMARKS.md).
            .open()
            .map_err(|e| opening(path, e))?;
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
        let refs = db
            .keyspace(REFS_KEYSPACE, KeyspaceCreateOptions::default)
            .map_err(engine)?;
        let files = BlockFiles::open(&path.join("blocks"))?;
        Ok(FjallStore {
            db,
            tables,
            refs,
            files,
            since_journal_check: AtomicU64::new(0),
        })
    }

    /// Every keyspace: the tables' and the block files' references.
    fn keyspaces(&self) -> impl Iterator<Item = &Keyspace> {
        self.tables.values().chain(std::iter::once(&self.refs))
    }

    /// Bytes in the database's tables on disk (not its journal, nor the
    /// block files).
    pub fn table_bytes(&self) -> u64 {
        self.keyspaces().map(|ks| ks.disk_space()).sum()
    }

    /// Bytes of journal on disk (the active journal and those kept until
    /// every keyspace has flushed what they hold).
    pub fn journal_bytes(&self) -> u64 {
        self.db.journal_disk_space().unwrap_or(0)
    }

    /// Keeps the journal near [`MAX_JOURNAL_BYTES`]: past it, every
    /// keyspace's memtable is flushed (those written rarely hold the oldest
    /// journals), after which fjall drops the journals nothing needs. fjall
    /// itself looks only when a memtable fills, which keyspaces written
    /// rarely never do; their writes then sat in memory and in an
    /// ever-longer journal that a restart replayed in full. Past
    /// [`STALL_JOURNAL_BYTES`] the commit waits (at most
    /// [`JOURNAL_STALL_WAIT`]) for those flushes.
    fn bound_journal(&self, written: u64) {
        let since = self
            .since_journal_check
            .fetch_add(written, Ordering::Relaxed)
            + written;
        if since < JOURNAL_CHECK_BYTES {
            return;
        }
        self.since_journal_check.store(0, Ordering::Relaxed);
        if self.journal_bytes() <= MAX_JOURNAL_BYTES {
            return;
        }
        tracing::debug!(
            journal_bytes = self.journal_bytes(),
            "journal past its bound: flushing every keyspace"
        );
        for ks in self.keyspaces() {
            // `rotate_memtable` is the public call fjall's own tests use to
            // flush a keyspace; an empty memtable is left as it is.
            if let Err(e) = ks.rotate_memtable() {
                tracing::warn!(error = %e, "could not flush a keyspace to bound the journal");
            }
        }
        // Back-pressure, as a database stalls writes its compactions cannot
        // keep up with: the flushes run on fjall's threads, and on a loaded
        // machine the writer outran them (the journal reached twice its
        // bound). Past one and a half times the bound the writer waits.
        let deadline = std::time::Instant::now() + JOURNAL_STALL_WAIT;
        let mut stalled = false;
        while self.journal_bytes() > STALL_JOURNAL_BYTES {
            if std::time::Instant::now() >= deadline {
                tracing::warn!(
                    journal_bytes = self.journal_bytes(),
                    "journal still past its bound after waiting for flushes; writing on"
                );
                break;
            }
            stalled = true;
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        if stalled {
            tracing::debug!("writes waited for the journal's flushes");
        }
    }

    fn ks(&self, id: TableId) -> &Keyspace {
        &self.tables[&id]
    }

    /// Commits `batch`; its transactions first go to the block files
    /// (synced there) when they are many, so the database never refers to
    /// bytes a crash could lose, whatever `mode` is. The operations keep
    /// their order. A `txs` key reads its reference when it has one, else
    /// its row: a put to the files adds a reference, a put kept in the
    /// table removes any reference, and a delete removes both, so the last
    /// operation on a key is what reads see.
    fn write(&self, batch: Batch, mode: PersistMode) -> Result<(), StoreError> {
        let mut b = self.db.batch().durability(Some(mode));
        let is_tx_put =
            |(t, _, v): &(TableId, Vec<u8>, Option<Vec<u8>>)| *t == TableId::Txs && v.is_some();
        let tx_bytes: usize = batch
            .ops
            .iter()
            .filter(|op| is_tx_put(op))
            .filter_map(|(_, _, v)| v.as_ref().map(Vec::len))
            .sum();
        let to_files = tx_bytes >= BLOCK_FILE_BATCH_BYTES;
        let mut refs = if to_files {
            let values: Vec<&[u8]> = batch
                .ops
                .iter()
                .filter(|op| is_tx_put(op))
                .filter_map(|(_, _, v)| v.as_deref())
                .collect();
            self.files.append(&values)?
        } else {
            Vec::new()
        }
        .into_iter();
        let mut written = 0u64;
        for (table, key, value) in batch.ops {
            // What reaches the journal: a transaction sent to the block
            // files leaves only its reference there.
            written += match (&value, table == TableId::Txs && to_files) {
                (Some(v), false) => key.len() + v.len(),
                _ => key.len() + 16,
            } as u64;
            let ks = self.ks(table);
            match (table == TableId::Txs, value) {
                (true, Some(_)) if to_files => {
                    let r = refs.next().expect("one reference per transaction put");
                    b.insert(&self.refs, key, r.encode());
                }
                (true, Some(v)) => {
                    b.remove(&self.refs, key.clone());
                    b.insert(ks, key, v);
                }
                (true, None) => {
                    b.remove(&self.refs, key.clone());
                    b.remove(ks, key);
                }
                (false, Some(v)) => b.insert(ks, key, v),
                (false, None) => b.remove(ks, key),
            }
        }
        b.commit().map_err(engine)?;
        self.bound_journal(written);
        Ok(())
    }
}

impl KvStore for FjallStore {
    fn get_raw(&self, table: TableId, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if table == TableId::Txs {
            if let Some(r) = self.refs.get(key).map_err(engine)? {
                return self.files.read(&BlobRef::decode(&r)?).map(Some);
            }
        }
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
        let rows = scan_keyspace(self.ks(table), prefix, after, reverse, limit)?;
        if table != TableId::Txs {
            return Ok(rows);
        }
        // Rows of the `txs` keyspace and rows in the block files, merged in
        // key order: the first `limit` of each hold the first `limit` of
        // both.
        let mut merged: std::collections::BTreeMap<Vec<u8>, Vec<u8>> = rows.into_iter().collect();
        for (k, r) in scan_keyspace(&self.refs, prefix, after, reverse, limit)? {
            let value = self.files.read(&BlobRef::decode(&r)?)?;
            merged.insert(k, value);
        }
        let rows: Box<dyn Iterator<Item = _>> = if reverse {
            Box::new(merged.into_iter().rev())
        } else {
            Box::new(merged.into_iter())
        };
        Ok(rows.take(limit).collect())
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
        self.db.disk_space().unwrap_or(0) + self.files.disk_space()
    }

    fn settle(&self) -> Result<(), StoreError> {
        // Every keyspace's memtable flushed: the journal's contents are
        // then in the tables, and an open skips what they hold instead of
        // replaying it. Waited for with a deadline (fjall's own wait has
        // none, and a flush that fails — a full disk — would hold the
        // close for ever); past it the next open replays more, nothing
        // worse.
        let all: Vec<&Keyspace> = self.keyspaces().collect();
        for ks in &all {
            ks.rotate_memtable().map_err(engine)?;
        }
        let deadline = std::time::Instant::now() + SETTLE_WAIT;
        while all.iter().any(|ks| ks.sealed_memtable_count() > 0) {
            if std::time::Instant::now() >= deadline {
                return Err(StoreError::Engine(format!(
                    "memtables not flushed within {} s",
                    SETTLE_WAIT.as_secs()
                )));
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Ok(())
    }

    fn block_file_bytes(&self) -> u64 {
        self.files.disk_space()
    }
}

/// Up to `limit` rows of `ks` under `prefix` (see [`KvStore::scan_raw`]).
fn scan_keyspace(
    ks: &Keyspace,
    prefix: &[u8],
    after: Option<&[u8]>,
    reverse: bool,
    limit: usize,
) -> Result<Rows, StoreError> {
    let Some((lo, hi)) = scan_bounds(prefix, after, reverse) else {
        return Ok(vec![]);
    };
    let iter = ks.range::<Vec<u8>, _>((lo, hi));
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
