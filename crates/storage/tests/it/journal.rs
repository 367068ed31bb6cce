//! fjall's journal stays near its bound when no keyspace fills a memtable:
//! writes spread thinly over many keyspaces (most of ours, once
//! transactions live in the block files) used to grow it without end.

use std::time::{Duration, Instant};

use luminex_storage::tables::TableId;
use luminex_storage::{Batch, FjallStore, KvStore, MAX_JOURNAL_BYTES};

#[test]
fn the_journal_is_bounded_when_writes_are_spread_thin() {
    let dir = tempfile::tempdir().unwrap();
    let store = FjallStore::open(dir.path()).unwrap();
    // 8 keyspaces, 40 MiB each: none reaches fjall's 64 MiB memtable, so
    // fjall alone would flush nothing and keep 320 MiB of journal.
    let tables = [
        TableId::Headers,
        TableId::Heights,
        TableId::Undo,
        TableId::TxIndex,
        TableId::AddressTxs,
        TableId::AddressUtxos,
        TableId::Consensus,
        TableId::Commits,
    ];
    const PER_TABLE: usize = 40 << 20;
    const VALUE: usize = 4 << 10;
    const PER_BATCH: usize = 64;
    let value = vec![0x5a; VALUE];
    let mut most = 0;
    let mut n = 0u64;
    for _ in 0..PER_TABLE / VALUE / PER_BATCH {
        for t in tables {
            let mut b = Batch::new();
            for _ in 0..PER_BATCH {
                n += 1;
                b.ops_for_test(t, &n.to_be_bytes(), Some(&value));
            }
            store.commit_unsynced(b).unwrap();
        }
        most = most.max(store.journal_bytes());
    }
    // The flushes it asked for run on fjall's threads: wait for them (a
    // deadline generous for a loaded machine, not a guess of how long).
    let deadline = Instant::now() + Duration::from_secs(120);
    while store.journal_bytes() > MAX_JOURNAL_BYTES && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let end = store.journal_bytes();
    assert!(end <= MAX_JOURNAL_BYTES, "journal {end} bytes at the end");
    // Past one and a half times the bound a commit waits for the flushes,
    // so however slow they are (a loaded machine) the journal passes that
    // by at most what one look's interval lets through.
    assert!(
        most < 2 * MAX_JOURNAL_BYTES,
        "journal peaked at {most} bytes"
    );
    // Every row is still there.
    for t in tables {
        assert_eq!(
            store
                .scan_raw(t, &[], None, false, usize::MAX)
                .unwrap()
                .len(),
            PER_TABLE / VALUE
        );
    }
}

#[test]
fn a_clean_close_writes_the_memtables_into_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    const ROWS: u64 = 2_000;
    let row = |n: u64| -> Vec<u8> {
        // Incompressible bytes, so the tables' size shows what they hold.
        let mut x = n.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..4_096)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    };
    {
        let store = FjallStore::open(dir.path()).unwrap();
        for chunk in 0..ROWS / 100 {
            let mut b = Batch::new();
            for n in chunk * 100..(chunk + 1) * 100 {
                b.ops_for_test(TableId::Undo, &n.to_be_bytes(), Some(&row(n)));
            }
            store.commit(b).unwrap();
        }
        let before = store.table_bytes();
        assert!(
            before < 1 << 20,
            "in the memtable, not the tables: {before}"
        );
        store.settle().unwrap();
        let after = store.table_bytes();
        assert!(after >= ROWS * 4_096, "in the tables: {after}");
    }
    let store = FjallStore::open(dir.path()).unwrap();
    for n in [0, ROWS / 2, ROWS - 1] {
        assert_eq!(
            store.get_raw(TableId::Undo, &n.to_be_bytes()).unwrap(),
            Some(row(n))
        );
    }
}
