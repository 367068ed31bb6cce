//! When an importer far behind the tip makes the blocks it committed
//! without waiting for the disk durable (ADR 0040).

use std::time::{Duration, Instant};

use crate::chain::MAX_UNSYNCED_BATCHES;

/// Blocks an importer commits unsynced at most before it syncs them: the
/// store's own bound ([`MAX_UNSYNCED_BATCHES`]).
pub const SYNC_BATCH_BLOCKS: u32 = MAX_UNSYNCED_BATCHES;

/// Encoded block bytes an importer commits unsynced at most before it
/// syncs them: 256 MiB, so a run of very large blocks does not pile up
/// gigabytes in the OS's buffers.
pub const SYNC_BATCH_BYTES: usize = 256 << 20;

/// How long an importer keeps blocks unsynced at most: one second, so a
/// slow import still makes its progress durable about once a second.
pub const SYNC_BATCH_AGE: Duration = Duration::from_secs(1);

/// How long an importer with blocks to sync waits for its next block
/// before it syncs them: 50 ms. A block still being prepared (its
/// signatures checked) is waited for; a source that has run dry — a
/// download that caught up, or waits for the network — is not.
pub const SYNC_IDLE: Duration = Duration::from_millis(50);

/// The blocks an importer committed unsynced since its last sync, and
/// whether it is time to sync them: after [`SYNC_BATCH_BLOCKS`] blocks,
/// [`SYNC_BATCH_BYTES`] bytes or [`SYNC_BATCH_AGE`] since the first of
/// them. The importer also syncs when no next block came for
/// [`SYNC_IDLE`] (it is caught up, or waiting for its source), at its
/// end, and before it reports a block to anyone who could rely on it.
#[derive(Debug, Default)]
pub struct SyncBatch {
    blocks: u32,
    bytes: usize,
    since: Option<Instant>,
}

impl SyncBatch {
    /// An empty batch.
    pub fn new() -> SyncBatch {
        SyncBatch::default()
    }

    /// Counts a block of `bytes` committed unsynced; returns whether the
    /// batch is due for a sync.
    pub fn add(&mut self, bytes: usize) -> bool {
        self.blocks += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        let since = *self.since.get_or_insert_with(Instant::now);
        self.blocks >= SYNC_BATCH_BLOCKS
            || self.bytes >= SYNC_BATCH_BYTES
            || since.elapsed() >= SYNC_BATCH_AGE
    }

    /// Whether blocks were added since the last sync.
    pub fn is_empty(&self) -> bool {
        self.blocks == 0
    }

    /// Blocks added since the last sync.
    pub fn blocks(&self) -> u32 {
        self.blocks
    }

    /// The batch was synced: starts a new one.
    pub fn synced(&mut self) {
        *self = SyncBatch::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_due_at_its_block_or_byte_bound() {
        let mut b = SyncBatch::new();
        assert!(b.is_empty());
        for _ in 1..SYNC_BATCH_BLOCKS {
            assert!(!b.add(1000));
        }
        assert!(b.add(1000));
        b.synced();
        assert!(b.is_empty());
        assert!(!b.add(SYNC_BATCH_BYTES - 1));
        assert!(b.add(1));
        assert_eq!(b.blocks(), 2);
    }
}
