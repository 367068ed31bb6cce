//! Luminex storage.
//!
//! * [`KvStore`]: the raw engine interface — tables of byte keys and values,
//!   read, scan and one atomic, synced batch write. Two backends:
//!   [`FjallStore`] (fjall, an embedded LSM in pure Rust; DESIGN.md §5) and
//!   [`MemoryStore`] for tests and simulation. One conformance suite runs
//!   against both.
//! * [`tables`]: every keyspace declared once with its key and value types.
//! * [`ChainStore`]: the chain on top — connects a block by committing the
//!   block, its undo data and indexes in **one** synced batch, so a crash at
//!   any moment leaves a consistent tip (a download or a block-file
//!   import commits unsynced and syncs in batches, ADR 0040); its UTXO
//!   changes go to an in-memory UTXO cache flushed now and then with the
//!   block it is current to, and the blocks after that are applied again
//!   at open (ADR 0032).
//! * `faults` (feature `testkit`): a wrapper that injects write, fsync,
//!   no-space and read faults into any backend, and can lose unsynced commits
//!   in a crash as the engine would, for tests.
//! * [`Preverifier`]: checks the signatures of queued blocks while earlier
//!   ones commit (sync and block-file import).
//! * [`SyncBatch`]: when an importer far behind the tip syncs the blocks it
//!   committed without waiting for the disk (ADR 0040).
//!
//! Only this crate knows the storage engine.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod block_files;
mod chain;
mod damage;
#[cfg(feature = "testkit")]
pub mod faults;
mod fjall_store;
mod kv;
mod memory;
mod preverify;
mod sync_batch;
pub mod tables;

pub use chain::{
    AcceptStatus, Accepted, AddressTx, CertifiedBlock, ChainError, ChainStore, ChainTip,
    ConsistencyReport, PreparedBlock, StoreOptions, StoredTx, Tip, DEFAULT_RECENT_BLOCK_BYTES,
    DEFAULT_UTXO_CACHE_BYTES, MAX_UNSYNCED_BATCHES,
};
pub use fjall_store::{FjallStore, DEFAULT_CACHE_BYTES, MAX_JOURNAL_BYTES};
pub use kv::{Batch, KvExt, KvStore, StoreError, DAMAGE_REMEDY};
pub use memory::MemoryStore;
pub use preverify::{Preverifier, PreverifyHelp};
pub use sync_batch::{SyncBatch, SYNC_BATCH_AGE, SYNC_BATCH_BLOCKS, SYNC_BATCH_BYTES, SYNC_IDLE};
pub use tables::IndexSet;
