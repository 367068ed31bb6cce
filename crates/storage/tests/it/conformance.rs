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
}
