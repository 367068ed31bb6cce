//! The same behaviour from every [`KvStore`] backend.

use std::sync::Arc;

use luminex_primitives::Hash;
use luminex_storage::tables::{TableId, HEIGHTS};
use luminex_storage::{Batch, FjallStore, KvStore, MemoryStore};

fn suite(open: &dyn Fn() -> Arc<dyn KvStore>) {
    let kv = open();
    assert_eq!(
        kv.get_raw(TableId::Heights, &7u64.to_be_bytes()).unwrap(),
        None
    );

    // A batch across tables is applied as a whole.
    let mut b = Batch::new();
    for h in 0..10u64 {
        b.put(HEIGHTS, &h, &Hash([h as u8; 32]));
    }
    let mut other = Batch::new();
    other.ops_for_test(TableId::Meta, b"k", Some(b"v"));
    kv.commit(b).unwrap();
    kv.commit(other).unwrap();
    assert_eq!(
        kv.get_raw(TableId::Heights, &3u64.to_be_bytes()).unwrap(),
        Some(vec![3u8; 32])
    );
    assert_eq!(
        kv.get_raw(TableId::Meta, b"k").unwrap(),
        Some(b"v".to_vec())
    );
    // Tables are separate namespaces.
    assert_eq!(
        kv.get_raw(TableId::Blocks, &3u64.to_be_bytes()).unwrap(),
        None
    );

    // Scans: forward, reverse, after a key, limits, prefixes.
    let keys = |rows: Vec<(Vec<u8>, Vec<u8>)>| -> Vec<u64> {
        rows.into_iter()
            .map(|(k, _)| u64::from_be_bytes(k.try_into().unwrap()))
            .collect()
    };
    let all = kv
        .scan_raw(TableId::Heights, &[], None, false, 100)
        .unwrap();
    assert_eq!(keys(all), (0..10).collect::<Vec<_>>());
    let rev = kv.scan_raw(TableId::Heights, &[], None, true, 3).unwrap();
    assert_eq!(keys(rev), vec![9, 8, 7]);
    let after = kv
        .scan_raw(TableId::Heights, &[], Some(&4u64.to_be_bytes()), false, 2)
        .unwrap();
    assert_eq!(keys(after), vec![5, 6]);
    let before = kv
        .scan_raw(TableId::Heights, &[], Some(&4u64.to_be_bytes()), true, 10)
        .unwrap();
    assert_eq!(keys(before), vec![3, 2, 1, 0]);
    let prefix = kv
        .scan_raw(TableId::Heights, &[0, 0, 0, 0, 0, 0, 0, 5], None, false, 10)
        .unwrap();
    assert_eq!(keys(prefix), vec![5]);
    assert!(kv
        .scan_raw(TableId::Heights, &[1], None, false, 10)
        .unwrap()
        .is_empty());
    // An `after` key beyond the prefix is an empty range, not a panic.
    assert!(kv
        .scan_raw(TableId::Heights, &[0], Some(&[0xff; 9]), false, 10)
        .unwrap()
        .is_empty());
    assert!(kv
        .scan_raw(TableId::Heights, &[0xff], None, false, 10)
        .unwrap()
        .is_empty());

    // Deletes, and a put and delete of one key in one batch.
    let mut b = Batch::new();
    b.delete(HEIGHTS, &0);
    b.put(HEIGHTS, &20, &Hash([20; 32]));
    b.delete(HEIGHTS, &20);
    kv.commit(b).unwrap();
    assert_eq!(
        kv.get_raw(TableId::Heights, &0u64.to_be_bytes()).unwrap(),
        None
    );
    assert_eq!(
        kv.get_raw(TableId::Heights, &20u64.to_be_bytes()).unwrap(),
        None
    );
    assert_eq!(
        kv.scan_raw(TableId::Heights, &[], None, false, 100)
            .unwrap()
            .len(),
        9
    );

    // Transactions: a small batch's stay in their table, a large batch's
    // may go elsewhere (the fjall backend's block files); reads, scans and
    // deletes see one table either way.
    let small = |n: u8| vec![n; 100];
    let large = |n: u8| vec![n; 40_000];
    let mut b = Batch::new();
    b.ops_for_test(TableId::Txs, &[1; 32], Some(&small(1)));
    b.ops_for_test(TableId::Txs, &[3; 32], Some(&small(3)));
    kv.commit(b).unwrap();
    let mut b = Batch::new();
    b.ops_for_test(TableId::Txs, &[2; 32], Some(&large(2)));
    b.ops_for_test(TableId::Txs, &[4; 32], Some(&large(4)));
    b.ops_for_test(TableId::Meta, b"with-txs", Some(b"yes"));
    kv.commit_unsynced(b).unwrap();
    kv.sync().unwrap();
    assert_eq!(kv.get_raw(TableId::Txs, &[2; 32]).unwrap(), Some(large(2)));
    assert_eq!(kv.get_raw(TableId::Txs, &[3; 32]).unwrap(), Some(small(3)));
    assert_eq!(kv.get_raw(TableId::Txs, &[5; 32]).unwrap(), None);
    assert_eq!(
        kv.get_raw(TableId::Meta, b"with-txs").unwrap(),
        Some(b"yes".to_vec())
    );
    let all = kv.scan_raw(TableId::Txs, &[], None, false, 10).unwrap();
    let firsts: Vec<u8> = all.iter().map(|(k, _)| k[0]).collect();
    assert_eq!(firsts, vec![1, 2, 3, 4]);
    assert_eq!(all[1].1, large(2));
    assert_eq!(all[2].1, small(3));
    let rev = kv.scan_raw(TableId::Txs, &[], None, true, 3).unwrap();
    let firsts: Vec<u8> = rev.iter().map(|(k, _)| k[0]).collect();
    assert_eq!(firsts, vec![4, 3, 2]);
    let after = kv
        .scan_raw(TableId::Txs, &[], Some(&[2; 32]), false, 1)
        .unwrap();
    assert_eq!(after, vec![(vec![3; 32], small(3))]);
    let mut b = Batch::new();
    b.ops_for_test(TableId::Txs, &[1; 32], None);
    b.ops_for_test(TableId::Txs, &[2; 32], None);
    kv.commit(b).unwrap();
    assert_eq!(kv.get_raw(TableId::Txs, &[2; 32]).unwrap(), None);
    let left: Vec<u8> = kv
        .scan_raw(TableId::Txs, &[], None, false, 10)
        .unwrap()
        .iter()
        .map(|(k, _)| k[0])
        .collect();
    assert_eq!(left, vec![3, 4]);
    // The last operation on a key is what reads see, in one batch (a
    // delete then a put) and across batches (a small put over a large one).
    let mut b = Batch::new();
    b.ops_for_test(TableId::Txs, &[3; 32], None);
    b.ops_for_test(TableId::Txs, &[3; 32], Some(&large(30)));
    b.ops_for_test(TableId::Txs, &[6; 32], Some(&large(6)));
    kv.commit(b).unwrap();
    assert_eq!(kv.get_raw(TableId::Txs, &[3; 32]).unwrap(), Some(large(30)));
    let mut b = Batch::new();
    b.ops_for_test(TableId::Txs, &[3; 32], Some(&small(31)));
    kv.commit(b).unwrap();
    assert_eq!(kv.get_raw(TableId::Txs, &[3; 32]).unwrap(), Some(small(31)));
    let mut b = Batch::new();
    b.ops_for_test(TableId::Txs, &[6; 32], None);
    kv.commit(b).unwrap();
    let left: Vec<(u8, usize)> = kv
        .scan_raw(TableId::Txs, &[], None, false, 10)
        .unwrap()
        .iter()
        .map(|(k, v)| (k[0], v.len()))
        .collect();
    assert_eq!(left, vec![(3, 100), (4, 40_000)]);
}

#[test]
fn memory_backend_conforms() {
    suite(&|| Arc::new(MemoryStore::new()));
}

#[test]
fn fjall_backend_conforms_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    suite(&|| Arc::new(FjallStore::open(dir.path()).unwrap()));
    // Everything committed is there after reopening.
    let kv = FjallStore::open(dir.path()).unwrap();
    assert_eq!(
        kv.scan_raw(TableId::Heights, &[], None, false, 100)
            .unwrap()
            .len(),
        9
    );
    assert_eq!(
        kv.get_raw(TableId::Meta, b"k").unwrap(),
        Some(b"v".to_vec())
    );
    assert_eq!(
        kv.get_raw(TableId::Txs, &[4; 32]).unwrap(),
        Some(vec![4; 40_000])
    );
    assert_eq!(
        kv.scan_raw(TableId::Txs, &[], None, false, 10)
            .unwrap()
            .len(),
        2
    );
    // The large batch's transactions went to the block files.
    let files: Vec<_> = std::fs::read_dir(dir.path().join("blocks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files, vec!["blk00000.dat".to_string()]);
    assert!(kv.disk_space() >= 80_000);
}

/// A database another process (here another store) holds is refused with
/// words an operator can act on, naming the database.
#[test]
fn a_database_in_use_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let held = FjallStore::open(dir.path()).unwrap();
    let e = FjallStore::open(dir.path())
        .err()
        .expect("in use")
        .to_string();
    assert!(e.contains("in use by another process"), "{e}");
    assert!(e.contains(&dir.path().display().to_string()), "{e}");
    drop(held);
    FjallStore::open(dir.path()).unwrap();
}
