//! The raw key-value interface every backend implements.

use std::ops::Bound;

use crate::tables::{Key, Table, TableId};
use luminex_primitives::{Decode, Encode};
use rayon::prelude::*;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The engine failed (an I/O error, a refused write).
    #[error("storage engine: {0}")]
    Engine(String),
    /// Stored bytes failed their checksum or did not decompress: the disk
    /// or the files under the data directory are damaged. Reading the same
    /// record again gives the same error.
    #[error("damaged data: {0}")]
    Damaged(String),
    /// A stored value did not decode: the database is corrupt or from an
    /// incompatible version.
    #[error("corrupt value in {table}: {error}")]
    Corrupt {
        /// Table name.
        table: &'static str,
        /// Decoding error.
        error: luminex_primitives::DecodeError,
    },
    /// The read needs an index this node does not keep.
    #[error("this node does not keep the {index} (it is off: {option})")]
    IndexOff {
        /// Which index.
        index: &'static str,
        /// The option that turns it on.
        option: &'static str,
    },
}

impl StoreError {
    /// Whether the error shows damaged data (a checksum mismatch, a value
    /// that does not decode) rather than a failure that may pass.
    pub fn is_damage(&self) -> bool {
        matches!(self, StoreError::Damaged(_) | StoreError::Corrupt { .. })
    }
}

/// What an operator does about damaged data, said wherever it is found.
pub const DAMAGE_REMEDY: &str =
    "stop the node, move its chain directory aside (keep it for a report) \
     and start it again to sync the chain from its peers, or `luminex chain import` an export";

/// One atomic write: puts and deletes across tables, applied all or nothing.
#[derive(Default, Debug)]
pub struct Batch {
    pub(crate) ops: Vec<(TableId, Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Writes `value` at `key` in `table`.
    pub fn put<K: Key, V: Encode + Decode>(&mut self, table: Table<K, V>, key: &K, value: &V) {
        self.ops
            .push((table.id, key.to_key(), Some(value.encode())));
    }

    /// Writes `values[i]` at `keys[i]` in `table`, encoding on every core
    /// (for many large values, such as a block's transactions).
    pub fn put_many<K: Key + Sync, V: Encode + Decode + Sync>(
        &mut self,
        table: Table<K, V>,
        keys: &[K],
        values: &[V],
    ) {
        let rows: Vec<_> = keys
            .par_iter()
            .zip(values)
            .map(|(k, v)| (table.id, k.to_key(), Some(v.encode())))
            .collect();
        self.ops.extend(rows);
    }

    /// Deletes `key` from `table`.
    pub fn delete<K: Key, V: Encode + Decode>(&mut self, table: Table<K, V>, key: &K) {
        self.ops.push((table.id, key.to_key(), None));
    }

    /// Adds a raw operation (for backend conformance tests).
    #[doc(hidden)]
    pub fn ops_for_test(&mut self, table: TableId, key: &[u8], value: Option<&[u8]>) {
        self.ops
            .push((table, key.to_vec(), value.map(<[u8]>::to_vec)));
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// Raw rows returned by a scan.
pub type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// A storage backend.
pub trait KvStore: Send + Sync {
    /// The value at `key`.
    fn get_raw(&self, table: TableId, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Up to `limit` rows whose keys start with `prefix`, in key order (or
    /// reverse order), starting strictly after `after` when given.
    fn scan_raw(
        &self,
        table: TableId,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Rows, StoreError>;

    /// Applies `batch` atomically and durably: when this returns, the batch
    /// survives a crash; if the process dies during the call, either all of
    /// it or none of it is visible after restart.
    fn commit(&self, batch: Batch) -> Result<(), StoreError>;

    /// Applies `batch` atomically without waiting for the disk: it survives
    /// the process's death (a SIGKILL) once this returns, and a crash of
    /// the machine once a later [`KvStore::sync`] or synced commit returns.
    /// Batches become durable in the order they were committed, so a crash
    /// keeps a prefix of them. The default is a synced commit.
    fn commit_unsynced(&self, batch: Batch) -> Result<(), StoreError> {
        self.commit(batch)
    }

    /// Makes every batch committed so far durable.
    fn sync(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Bytes used on disk (0 for memory).
    fn disk_space(&self) -> u64;

    /// At a clean close: writes what the database holds only in memory and
    /// its journal into its tables, so the next open has little to replay
    /// (in time and memory). Nothing for a store without a journal.
    fn settle(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Bytes in the append-only block files beside the database (0 for
    /// a store without them): the chain store checks that a database that
    /// holds no chain has none to speak of.
    fn block_file_bytes(&self) -> u64 {
        0
    }
}

/// Typed access on top of any [`KvStore`].
pub trait KvExt: KvStore {
    /// The decoded value at `key`.
    fn get<K: Key, V: Encode + Decode>(
        &self,
        table: Table<K, V>,
        key: &K,
    ) -> Result<Option<V>, StoreError> {
        match self.get_raw(table.id, &key.to_key())? {
            None => Ok(None),
            Some(bytes) => V::decode_all(&bytes)
                .map(Some)
                .map_err(|error| StoreError::Corrupt {
                    table: table.id.name(),
                    error,
                }),
        }
    }

    /// Decoded rows under `prefix`.
    fn scan<K: Key, V: Encode + Decode>(
        &self,
        table: Table<K, V>,
        prefix: &[u8],
        after: Option<&[u8]>,
        reverse: bool,
        limit: usize,
    ) -> Result<Vec<(K, V)>, StoreError> {
        let corrupt = |error| StoreError::Corrupt {
            table: table.id.name(),
            error,
        };
        self.scan_raw(table.id, prefix, after, reverse, limit)?
            .into_iter()
            .map(|(k, v)| {
                Ok((
                    K::from_key(&k).map_err(corrupt)?,
                    V::decode_all(&v).map_err(corrupt)?,
                ))
            })
            .collect()
    }
}

impl<T: KvStore + ?Sized> KvExt for T {}

/// The lower and upper key bounds of a scan.
pub(crate) type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// Key bounds of a scan under `prefix` after `after` (exclusive) in the given
/// direction, or `None` when the range is empty.
pub(crate) fn scan_bounds(prefix: &[u8], after: Option<&[u8]>, reverse: bool) -> Option<KeyRange> {
    let end = prefix_end(prefix);
    let upper = || end.clone().map_or(Bound::Unbounded, Bound::Excluded);
    let (lo, hi) = match (after, reverse) {
        (Some(a), false) => (Bound::Excluded(a.to_vec()), upper()),
        (Some(a), true) => (
            Bound::Included(prefix.to_vec()),
            Bound::Excluded(a.to_vec()),
        ),
        (None, _) => (Bound::Included(prefix.to_vec()), upper()),
    };
    if let (Bound::Excluded(l) | Bound::Included(l), Bound::Excluded(h)) = (&lo, &hi) {
        if l >= h {
            return None;
        }
    }
    Some((lo, hi))
}

/// The smallest key greater than every key starting with `prefix`, or `None`
/// when there is none (the prefix is all 0xff).
pub(crate) fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}
