//! The operator's `invalidateblock` and `reconsiderblock` at the storage
//! level: the chain leaves an invalidated block for the best valid branch,
//! refuses it and its descendants without blaming anyone, keeps the mark
//! across a restart, and comes back when the block is reconsidered; what a
//! final block or the reorganisation limit forbids changes nothing.

use std::sync::Arc;

use luminex_ledger::{BlockError, SigCache};
use luminex_primitives::{Amount, Block, Hash};
use luminex_storage::{AcceptStatus, ChainError, KvStore, MemoryStore};

use crate::chain::open_store;
use crate::forks::{accept, accept_all, assert_on, extend, keys, Fork};

fn hashes(v: &[Arc<Block>]) -> Vec<Hash> {
    v.iter().map(|b| b.hash()).collect()
}

/// A base of 2 blocks, A of 3 (the main chain) and B of 2 stored beside
/// it, all accepted into a memory store.
fn stored_fork(kv: Arc<dyn KvStore>) -> (Fork, luminex_storage::ChainStore) {
    let f = Fork::new(2, 3, 2);
    let store = open_store(kv, f.spec.clone()).unwrap();
    let now = f.now();
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    accept_all(&store, &f.b, now);
    assert_on(&store, &f.chain_of(&f.a));
    (f, store)
}

#[test]
fn an_invalidated_block_leaves_the_chain_for_the_best_valid_branch_and_comes_back() {
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let (f, store) = stored_fork(kv.clone());
    let now = f.now();
    let cache = SigCache::new(1);

    // a[1] invalidated: a[2] and a[1] leave; the chain is back at a[0],
    // where B (two blocks past the base) has more work, so B is connected.
    let r = store.invalidate_block(&f.a[1].hash(), &cache).unwrap();
    assert_eq!(r.status, AcceptStatus::MainChain);
    assert_eq!(
        hashes(&r.disconnected),
        vec![f.a[2].hash(), f.a[1].hash(), f.a[0].hash()],
        "newest first, down to the fork with B"
    );
    assert_eq!(
        hashes(&r.connected),
        f.b.iter().map(Block::hash).collect::<Vec<_>>()
    );
    assert_on(&store, &f.chain_of(&f.b));

    // The block and its descendants are refused as invalidated — no peer's
    // fault — and so is a new block built on them; a[0] is still valid.
    for b in &f.a[1..] {
        assert!(
            matches!(accept(&store, b, now), Err(ChainError::Invalidated(_))),
            "{}",
            b.hash()
        );
        assert_eq!(store.known_height(&b.hash()), None);
    }
    let mut on_a = f.chain_of(&f.a);
    let child = extend(&mut on_a, &keys(), 1, 4_000).remove(0);
    match accept(&store, &child, now + 10) {
        Err(ChainError::Invalidated(h)) => assert_eq!(h, f.a[2].hash()),
        other => panic!("expected the parent invalidated, got {other:?}"),
    }
    assert!(store.known_height(&f.a[0].hash()).is_some());

    // The mark outlives the store: reopened, it stays on B.
    drop(store);
    let store = open_store(kv.clone(), f.spec.clone()).unwrap();
    assert_on(&store, &f.chain_of(&f.b));
    assert!(matches!(
        accept(&store, &f.a[2], now),
        Err(ChainError::Invalidated(_))
    ));

    // Reconsidered (here by a descendant: its ancestors' marks go too), A
    // has the most work again and comes back, with the child built on it.
    let r = store.reconsider_block(&f.a[2].hash(), &cache).unwrap();
    assert_eq!(r.status, AcceptStatus::MainChain);
    assert_eq!(
        hashes(&r.connected),
        f.a.iter().map(Block::hash).collect::<Vec<_>>()
    );
    assert_on(&store, &f.chain_of(&f.a));
    accept(&store, &child, now + 10).unwrap();
    assert_on(&store, &on_a);
    drop(store);
    let store = open_store(kv, f.spec.clone()).unwrap();
    assert_on(&store, &on_a);
}

#[test]
fn an_invalidated_side_branch_is_never_switched_to() {
    let (f, store) = stored_fork(Arc::new(MemoryStore::new()));
    let now = f.now();
    let cache = SigCache::new(1);
    let r = store.invalidate_block(&f.b[0].hash(), &cache).unwrap();
    assert!(r.connected.is_empty() && r.disconnected.is_empty());
    assert_eq!(r.status, AcceptStatus::Duplicate);
    assert_on(&store, &f.chain_of(&f.a));
    // B grows past A: it would win, but stays refused (the second new
    // block's parent was not kept: an orphan).
    let mut on_b = f.chain_of(&f.b);
    let more = extend(&mut on_b, &keys(), 2, 4_000);
    let r = accept(&store, &more[0], now + 10);
    assert!(matches!(r, Err(ChainError::Invalidated(_))), "{r:?}");
    let r = accept(&store, &more[1], now + 10).unwrap();
    assert_eq!(r.status, AcceptStatus::Orphan);
    assert_on(&store, &f.chain_of(&f.a));
    // Invalidating it again, or a block of its branch, changes nothing.
    store.invalidate_block(&f.b[0].hash(), &cache).unwrap();
    store.invalidate_block(&f.b[1].hash(), &cache).unwrap();
    assert_on(&store, &f.chain_of(&f.a));
    // Reconsidering one block of B clears the whole line; offered again,
    // B's new blocks give it more work than A, and it wins.
    store.reconsider_block(&f.b[1].hash(), &cache).unwrap();
    assert_on(&store, &f.chain_of(&f.a));
    accept(&store, &more[0], now + 10).unwrap();
    assert_on(&store, &on_b);
}

#[test]
fn what_cannot_be_invalidated_changes_nothing() {
    let (mut f, store) = stored_fork(Arc::new(MemoryStore::new()));
    let cache = SigCache::new(1);
    assert!(matches!(
        store.invalidate_block(&Hash([7; 32]), &cache),
        Err(ChainError::UnknownBlock(_))
    ));
    assert!(matches!(
        store.reconsider_block(&Hash([7; 32]), &cache),
        Err(ChainError::UnknownBlock(_))
    ));
    let genesis = f.spec.genesis_block().hash();
    assert!(matches!(
        store.invalidate_block(&genesis, &cache),
        Err(ChainError::Genesis)
    ));
    assert_on(&store, &f.chain_of(&f.a));

    // Deeper than the reorganisation limit: refused, nothing marked.
    drop(store);
    f.spec.max_reorg_depth = 2;
    let (f2, store) = {
        let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
        let store = open_store(kv, f.spec.clone()).unwrap();
        let now = f.now();
        accept_all(&store, &f.base, now);
        accept_all(&store, &f.a, now);
        (f, store)
    };
    match store.invalidate_block(&f2.a[0].hash(), &cache) {
        Err(ChainError::ReorgTooDeep { depth: 3, max: 2 }) => {}
        other => panic!("expected the limit, got {other:?}"),
    }
    assert_on(&store, &f2.chain_of(&f2.a));
    let mut on_a = f2.chain_of(&f2.a);
    let next = extend(&mut on_a, &keys(), 1, 4_000).remove(0);
    accept(&store, &next, f2.now() + 10).unwrap();
    assert_on(&store, &on_a);
}

/// A block that failed validation, reconsidered, is tried again and fails
/// again with its own error; invalidating it by choice changes nothing.
#[test]
fn a_reconsidered_block_that_fails_is_marked_again() {
    let f = Fork::new(2, 1, 1);
    let now = f.now();
    let store = open_store(Arc::new(MemoryStore::new()), f.spec.clone()).unwrap();
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    accept_all(&store, &f.b, now);
    // On B's tip, a block whose coinbase pays one base unit too much: B
    // would win with it, it fails, A stays.
    let on_b = f.chain_of(&f.b);
    let bad = on_b.build_block(vec![], Amount::from_base(1).unwrap());
    assert!(matches!(
        accept(&store, &bad, now),
        Err(ChainError::Invalid(BlockError::CoinbaseTooLarge { .. }))
    ));
    assert_on(&store, &f.chain_of(&f.a));
    let cache = SigCache::new(1);
    let r = store.invalidate_block(&bad.hash(), &cache).unwrap();
    assert!(r.connected.is_empty() && r.disconnected.is_empty());
    assert!(matches!(
        accept(&store, &bad, now),
        Err(ChainError::Invalid(BlockError::KnownInvalid))
    ));
    // Reconsidered: tried again (B would win with it), fails again.
    store.reconsider_block(&bad.hash(), &cache).unwrap();
    assert_on(&store, &f.chain_of(&f.a));
    assert!(matches!(
        accept(&store, &bad, now),
        Err(ChainError::Invalid(BlockError::KnownInvalid))
    ));
}

/// A block that failed as a new tip was marked, never stored: reconsidered,
/// it is forgotten (not switched to without a body), and when it is
/// offered again it is validated again — failing with its own error, not
/// as a block known invalid.
#[test]
fn a_reconsidered_block_that_failed_as_a_new_tip_is_forgotten_and_checked_again() {
    let f = Fork::new(2, 1, 0);
    let now = f.now();
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let store = open_store(kv.clone(), f.spec.clone()).unwrap();
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    let on_a = f.chain_of(&f.a);
    let bad = on_a.build_block(vec![], Amount::from_base(1).unwrap());
    assert!(matches!(
        accept(&store, &bad, now),
        Err(ChainError::Invalid(BlockError::CoinbaseTooLarge { .. }))
    ));
    assert!(matches!(
        accept(&store, &bad, now),
        Err(ChainError::Invalid(BlockError::KnownInvalid))
    ));
    let cache = SigCache::new(1);
    let r = store.reconsider_block(&bad.hash(), &cache).unwrap();
    assert!(r.connected.is_empty() && r.disconnected.is_empty());
    assert_on(&store, &on_a);
    assert!(matches!(
        store.reconsider_block(&bad.hash(), &cache),
        Err(ChainError::UnknownBlock(_))
    ));
    // Forgotten on disk too: a reopened store does not know it, and checks
    // it again when it comes.
    drop(store);
    let store = open_store(kv, f.spec.clone()).unwrap();
    assert_on(&store, &on_a);
    assert!(matches!(
        store.reconsider_block(&bad.hash(), &cache),
        Err(ChainError::UnknownBlock(_))
    ));
    assert!(matches!(
        accept(&store, &bad, now),
        Err(ChainError::Invalid(BlockError::CoinbaseTooLarge { .. }))
    ));
}

/// A base of 2 blocks, A of `a` and B of `b` (at most `a`) on a store
/// with reorganisations of at most `depth`: B's blocks each arrive after
/// A's of the same height, so they are stored as side blocks while they
/// are within the limit. A's blocks past B's are not accepted yet.
fn interleaved(a: usize, b: usize, depth: u64) -> (Fork, luminex_storage::ChainStore) {
    let mut f = Fork::new(2, a, b);
    f.spec.max_reorg_depth = depth;
    let now = f.now();
    let store = open_store(Arc::new(MemoryStore::new()), f.spec.clone()).unwrap();
    accept_all(&store, &f.base, now);
    for i in 0..b {
        accept_all(&store, &f.a[i..=i], now);
        let r = accept_all(&store, &f.b[i..=i], now);
        assert_eq!(r[0].status, AcceptStatus::SideBranch);
    }
    (f, store)
}

/// Invalidating a block succeeds once the mark is written, even when the
/// best valid branch left is one the chain will not switch to (it forks
/// below the final block): the chain stays at the parent and the call
/// says what it disconnected.
#[test]
fn an_invalidation_whose_best_branch_is_below_the_final_block_stays_at_the_parent() {
    let (f, store) = interleaved(5, 3, 3);
    let now = f.now();
    accept_all(&store, &f.a[3..], now);
    assert_on(&store, &f.chain_of(&f.a));
    // Without a[2] the tip is a[1] (height 4, the final block), and B
    // (height 5) has more work but forks below it.
    let r = store
        .invalidate_block(&f.a[2].hash(), &SigCache::new(1))
        .unwrap();
    assert_eq!(
        hashes(&r.disconnected),
        vec![f.a[4].hash(), f.a[3].hash(), f.a[2].hash()]
    );
    assert!(r.connected.is_empty());
    assert_eq!(r.status, AcceptStatus::MainChain);
    assert_on(&store, &f.chain_of(&f.a[..2]));
    assert!(matches!(
        accept(&store, &f.a[4], now),
        Err(ChainError::Invalidated(_))
    ));
}

/// After an invalidation the chain moves to the best branch it can reach:
/// a heavier stored branch forking below the final block is passed over
/// for a lighter one forking above it.
#[test]
fn an_invalidation_moves_to_the_best_branch_the_chain_can_reach() {
    let (f, store) = interleaved(5, 4, 4);
    let now = f.now();
    // D: one block on a[1] (height 4), beside a[2].
    let mut on_a1 = f.chain_of(&f.a[..2]);
    let d = extend(&mut on_a1, &keys(), 1, 5_000);
    assert_eq!(
        accept_all(&store, &d, now)[0].status,
        AcceptStatus::SideBranch
    );
    // A's last block: the final block is now at height 3, above B's fork.
    accept_all(&store, &f.a[4..], now);
    assert_on(&store, &f.chain_of(&f.a));
    // Without a[2], B (height 6) has the most work but cannot be reached;
    // D (height 5) can, and has more than a[1].
    let r = store
        .invalidate_block(&f.a[2].hash(), &SigCache::new(1))
        .unwrap();
    assert_eq!(
        hashes(&r.disconnected),
        vec![f.a[4].hash(), f.a[3].hash(), f.a[2].hash()]
    );
    assert_eq!(hashes(&r.connected), vec![d[0].hash()]);
    assert_on(&store, &on_a1);
}

/// A heavier branch the chain cannot reach any more does not keep it from
/// one it can: after an invalidation leaves B (more work, forking below
/// the final block) stored, a side branch growing past the tip is switched
/// to by ordinary acceptance, not refused for B's depth.
#[test]
fn a_heavier_unreachable_branch_does_not_stop_a_reachable_one() {
    let (f, store) = interleaved(5, 4, 4);
    let now = f.now();
    accept_all(&store, &f.a[4..], now);
    assert_on(&store, &f.chain_of(&f.a));
    // Without a[2] the tip is a[1] (height 4); B (height 6) has more work
    // but forks at height 2, below the final block (a[0], height 3).
    store
        .invalidate_block(&f.a[2].hash(), &SigCache::new(1))
        .unwrap();
    assert_on(&store, &f.chain_of(&f.a[..2]));
    // G, on a[0]: its first block ties with the tip and is stored beside
    // it; its second has more work than the tip (less than B): the chain
    // moves to G.
    let mut g_chain = f.chain_of(&f.a[..1]);
    let g = extend(&mut g_chain, &keys(), 2, 6_000);
    assert_eq!(
        accept_all(&store, &g[..1], now)[0].status,
        AcceptStatus::SideBranch
    );
    let r = accept_all(&store, &g[1..], now);
    assert_eq!(r[0].status, AcceptStatus::MainChain);
    assert_on(&store, &g_chain);
}
