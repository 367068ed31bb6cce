//! Fork choice at the storage level: reorganisations both ways, the roll
//! back to the old branch when a block of the winning one fails to
//! connect, and an interrupted reorganisation finished at open.

use std::sync::Arc;

use luminex_ledger::testkit::PowFields;
use luminex_ledger::{BlockError, SigCache};
use luminex_primitives::{Amount, Block};
use luminex_storage::faults::{Fault, FaultPlan, FaultyStore};
use luminex_storage::{AcceptStatus, ChainError, KvStore, MemoryStore};

use crate::chain::open_store;
use crate::forks::{accept, accept_all, assert_on, extend, keys, replay, Fork};

/// The branch with more work wins, whichever came first, and the store
/// reports exactly the blocks it disconnected and connected.
#[test]
fn the_branch_with_more_work_wins_both_ways() {
    let f = Fork::new(2, 3, 4);
    let now = f.now();
    let store = open_store(Arc::new(MemoryStore::new()), f.spec.clone()).unwrap();
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    let side = accept_all(&store, &f.b[..3], now);
    assert!(side.iter().all(|a| a.status == AcceptStatus::SideBranch));
    assert_on(&store, &f.chain_of(&f.a));

    // A signature cache that holds the branch: what the thread preparing
    // it checks ahead is still there when its blocks connect.
    let r = store
        .accept_block(&f.b[3], now, &SigCache::default())
        .unwrap();
    assert_eq!(r.status, AcceptStatus::MainChain);
    let hashes = |v: &[Arc<Block>]| v.iter().map(|b| b.hash()).collect::<Vec<_>>();
    let rev_a: Vec<_> = f.a.iter().rev().map(Block::hash).collect();
    assert_eq!(hashes(&r.disconnected), rev_a, "newest first");
    assert_eq!(
        hashes(&r.connected),
        f.b.iter().map(Block::hash).collect::<Vec<_>>()
    );
    // Every signature of B checked once: ahead, by the thread preparing
    // the branch, or when its block connected.
    let signatures: usize =
        f.b.iter()
            .flat_map(|b| b.txs.iter().skip(1))
            .map(|t| t.witnesses.len())
            .sum();
    assert!(signatures > 0);
    assert_eq!(r.verified_signatures, signatures);
    assert_on(&store, &f.chain_of(&f.b));

    // A grows past B: back again.
    let mut on_a = f.chain_of(&f.a);
    let more = crate::forks::extend(&mut on_a, &crate::forks::keys(), 2, 4_000);
    accept(&store, &more[0], now + 10).unwrap();
    assert_on(&store, &f.chain_of(&f.b));
    let r = accept(&store, &more[1], now + 10).unwrap();
    assert_eq!(r.disconnected.len(), 4);
    assert_eq!(r.connected.len(), 5);
    assert_on(&store, &on_a);
}

/// The block that makes a branch win, itself invalid: refused with its
/// own error (not kept as a side block), the old branch restored.
#[test]
fn an_invalid_block_that_would_win_is_refused_with_its_error() {
    let (f, b) = fork_with_invalid_block();
    let now = f.now();
    let store = open_store(Arc::new(MemoryStore::new()), f.spec.clone()).unwrap();
    accept_all(&store, &f.base, now);
    // A of one block only: b[1] alone gives B more work.
    accept_all(&store, &f.a[..1], now);
    accept_all(&store, &b[..1], now);
    match accept(&store, &b[1], now) {
        Err(ChainError::Invalid(e)) => {
            assert!(
                matches!(e, BlockError::CoinbaseTooLarge { .. }),
                "not the block's own error: {e}"
            )
        }
        other => panic!("expected the block's error, got {other:?}"),
    }
    assert_on(&store, &f.chain_of(&f.a[..1]));
    assert_eq!(store.known_height(&b[1].hash()), None);
}

/// Branch B with an invalid second block: `b[1]`'s coinbase pays one base
/// unit more than it may. Context-free checks cannot see it, so B is
/// stored as a side branch and only fails when connected.
fn fork_with_invalid_block() -> (Fork, Vec<Block>) {
    let f = Fork::new(2, 3, 1);
    let mut chain = f.chain_of(&f.b);
    let bad = chain.build_block(vec![], Amount::from_base(1).unwrap());
    // Children of the bad block, built on it without connecting it.
    chain.blocks.push(bad.clone());
    let mut b = vec![f.b[0].clone(), bad];
    for _ in 0..3 {
        let child = chain.build_block(vec![], Amount::ZERO);
        chain.blocks.push(child.clone());
        b.push(child);
    }
    (f, b)
}

/// When a block of the winning branch fails to connect, the old branch is
/// restored exactly, the failing block and its descendants are known
/// invalid, and a reopened store stays on the old branch without trying
/// the invalid one again.
#[test]
fn a_failing_block_of_the_winning_branch_rolls_back_to_the_old_one() {
    let (f, b) = fork_with_invalid_block();
    let now = f.now();
    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let store = open_store(faulty.clone(), f.spec.clone()).unwrap();
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    accept_all(&store, &b[..3], now);
    let on_a = f.chain_of(&f.a);
    assert_on(&store, &on_a);
    // b[3] gives B more work: B is tried, b[1] fails, A comes back, and
    // b[3] is refused as the descendant of an invalid block.
    match accept(&store, &b[3], now) {
        Err(ChainError::Invalid(BlockError::KnownInvalid)) => {}
        other => panic!("expected the branch to be known invalid, got {other:?}"),
    }
    assert_on(&store, &on_a);
    for blk in &b[1..] {
        assert!(
            matches!(
                accept(&store, blk, now),
                Err(ChainError::Invalid(BlockError::KnownInvalid))
            ),
            "block {} is not known invalid",
            blk.hash()
        );
        assert_eq!(store.known_height(&blk.hash()), None);
    }
    // The valid block of B is still a side branch, and nothing follows it.
    assert!(store.known_height(&b[0].hash()).is_some());
    assert_eq!(
        accept(&store, &b[0], now).unwrap().status,
        AcceptStatus::Duplicate
    );
    drop(store);

    // Reopened: still on A, and no write (no reorganisation tried again).
    faulty.set_plan(FaultPlan::none());
    let store = open_store(faulty.clone(), f.spec.clone()).unwrap();
    assert_eq!(faulty.commits(), 0, "the reopened store wrote something");
    assert_on(&store, &on_a);
    for blk in &b[1..] {
        assert_eq!(store.known_height(&blk.hash()), None);
    }
}

/// A switch whose old blocks are no longer kept in memory (as after a
/// restart), with the branch prepared ahead from the undo data read back:
/// every signature of the branch is checked exactly once and the store
/// ends consistent on it.
#[test]
fn a_branch_is_prepared_ahead_without_recent_blocks_in_memory() {
    let f = Fork::new(2, 3, 4);
    let now = f.now();
    let rules = luminex_consensus::rules_for(&f.spec);
    let options = luminex_storage::StoreOptions {
        recent_block_bytes: 0,
        ..Default::default()
    };
    let store = luminex_storage::ChainStore::open_with(
        Arc::new(MemoryStore::new()),
        f.spec.clone(),
        rules,
        options,
    )
    .unwrap();
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    accept_all(&store, &f.b[..3], now);
    let r = store
        .accept_block(&f.b[3], now, &SigCache::default())
        .unwrap();
    assert_eq!((r.disconnected.len(), r.connected.len()), (3, 4));
    let signatures: usize =
        f.b.iter()
            .flat_map(|b| b.txs.iter().skip(1))
            .map(|t| t.witnesses.len())
            .sum();
    assert_eq!(r.verified_signatures, signatures);
    assert_on(&store, &f.chain_of(&f.b));
}

/// The same failure with a signature cache large enough for the branch to
/// be prepared ahead on a second thread: the thread stops at the failing
/// block and the old branch comes back whole.
#[test]
fn a_failing_block_of_a_branch_prepared_ahead_rolls_back_to_the_old_one() {
    let (f, b) = fork_with_invalid_block();
    let now = f.now();
    let store = open_store(Arc::new(MemoryStore::new()), f.spec.clone()).unwrap();
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    accept_all(&store, &b[..3], now);
    let cache = SigCache::default();
    match store.accept_block(&b[3], now, &cache) {
        Err(ChainError::Invalid(BlockError::KnownInvalid)) => {}
        other => panic!("expected the branch to be known invalid, got {other:?}"),
    }
    assert_on(&store, &f.chain_of(&f.a));
    assert_eq!(store.known_height(&b[1].hash()), None);
}

/// A crash between the last disconnect of the old branch and the first
/// connect of the new one: the store opens on the new branch.
#[test]
fn an_interrupted_reorganisation_is_finished_at_open() {
    let f = Fork::new(2, 3, 4);
    let now = f.now();
    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let store = open_store(faulty.clone(), f.spec.clone()).unwrap();
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    accept_all(&store, &f.b[..3], now);
    // Accepting b[3]: commit 1 stores it, 2..=4 disconnect A's three
    // blocks, 5 would connect b[0].
    faulty.set_plan(FaultPlan::one(Fault::FailWrite { nth: 5 }));
    let err = accept(&store, &f.b[3], now).unwrap_err();
    assert!(matches!(err, ChainError::Store(_)), "{err}");
    assert_eq!(faulty.injected(), vec![Fault::FailWrite { nth: 5 }]);
    assert_eq!(store.tip().height, f.base.len() as u64, "at the fork point");
    drop(store);
    faulty.crash();
    faulty.clear();
    let store = open_store(faulty.clone(), f.spec.clone()).unwrap();
    assert_on(&store, &f.chain_of(&f.b));
}

/// The same crash with a signature cache large enough for the new branch
/// to be prepared on a second thread from the start, failing in the middle
/// of the disconnections (3) and at the first connect (5): the thread
/// stops, the error comes back, and the store opens on the new branch.
#[test]
fn a_failure_while_the_branch_is_prepared_ahead_stops_it_cleanly() {
    let f = Fork::new(2, 3, 4);
    let now = f.now();
    for nth in [3, 5] {
        let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
        let store = open_store(faulty.clone(), f.spec.clone()).unwrap();
        accept_all(&store, &f.base, now);
        accept_all(&store, &f.a, now);
        accept_all(&store, &f.b[..3], now);
        faulty.set_plan(FaultPlan::one(Fault::FailWrite { nth }));
        let err = store
            .accept_block(&f.b[3], now, &SigCache::default())
            .unwrap_err();
        assert!(matches!(err, ChainError::Store(_)), "{err}");
        assert_eq!(faulty.injected(), vec![Fault::FailWrite { nth }]);
        drop(store);
        faulty.crash();
        faulty.clear();
        let store = open_store(faulty.clone(), f.spec.clone()).unwrap();
        assert_on(&store, &f.chain_of(&f.b));
    }
}

/// A crash while rolling back from an invalid branch (after the invalid
/// block was marked, before the old branch is whole again): the store
/// opens on the old branch.
#[test]
fn an_interrupted_roll_back_is_finished_at_open() {
    let (f, b) = fork_with_invalid_block();
    let now = f.now();
    let on_a = f.chain_of(&f.a);
    // Accepting b[3]: 1 stores it, 2..=4 disconnect A, 5 connects b[0],
    // 6 marks b[1] invalid, 7 disconnects b[0], 8..=10 reconnect A.
    for nth in 6..=10 {
        let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
        let kv: Arc<dyn KvStore> = faulty.clone();
        let store = open_store(kv.clone(), f.spec.clone()).unwrap();
        accept_all(&store, &f.base, now);
        accept_all(&store, &f.a, now);
        accept_all(&store, &b[..3], now);
        faulty.set_plan(FaultPlan::one(Fault::FailWrite { nth }));
        assert!(matches!(
            accept(&store, &b[3], now),
            Err(ChainError::Store(_))
        ));
        assert_eq!(faulty.injected().len(), 1, "fault {nth} injected");
        drop(store);
        faulty.crash();
        faulty.clear();
        let store = open_store(kv, f.spec.clone()).unwrap();
        assert_on(&store, &on_a);
        assert_eq!(store.known_height(&b[1].hash()), None, "fault {nth}");
    }
}

/// Dev rules where the blocks in `heavy` add ten times the work of the
/// others: the way a proof-of-work branch of many easy blocks can outweigh
/// a few hard ones.
struct Weighted {
    inner: luminex_consensus::DevRules,
    heavy: std::collections::HashSet<luminex_primitives::Hash>,
}

impl luminex_ledger::ConsensusRules for Weighted {
    fn kind(&self) -> luminex_ledger::spec::ConsensusKind {
        self.inner.kind()
    }
    fn finality(&self) -> luminex_ledger::Finality {
        self.inner.finality()
    }
    fn header_work(
        &self,
        header: &luminex_primitives::Header,
    ) -> Result<luminex_ledger::U256, BlockError> {
        let one = self.inner.header_work(header)?;
        Ok(if self.heavy.contains(&header.hash()) {
            one * luminex_ledger::U256::from(10u64)
        } else {
            one
        })
    }
    fn check_header(
        &self,
        header: &luminex_primitives::Header,
        parent: &luminex_ledger::Parent,
        chain: &dyn luminex_ledger::ChainContext,
        now_ms: u64,
    ) -> Result<(), BlockError> {
        self.inner.check_header(header, parent, chain, now_ms)
    }
    fn min_time(
        &self,
        parent: &luminex_ledger::Parent,
        chain: &dyn luminex_ledger::ChainContext,
    ) -> u64 {
        self.inner.min_time(parent, chain)
    }
    fn template_header(
        &self,
        parent: &luminex_ledger::Parent,
        chain: &dyn luminex_ledger::ChainContext,
        now_ms: u64,
    ) -> Result<luminex_primitives::Header, BlockError> {
        self.inner.template_header(parent, chain, now_ms)
    }
}

/// On a chain final by depth, a winning branch longer than the finality
/// depth whose last block is invalid: finality must not have moved while
/// the branch connected, so the store goes back to the old branch (it
/// stayed on the branch's valid prefix, unable to disconnect blocks made
/// final half-way through the switch).
#[test]
fn a_long_branch_failing_at_its_end_rolls_back_past_the_finality_depth() {
    // A: two heavy blocks (work 20). B: 20 light blocks (work 20, a tie
    // that keeps A) and an invalid 21st that makes B the heavier.
    let f = Fork::new(2, 2, 20);
    let mut spec = f.spec.clone();
    spec.max_reorg_depth = 3;
    let chain = f.chain_of(&f.b);
    let bad = chain.build_block(vec![], Amount::from_base(1).unwrap());
    let rules = Arc::new(Weighted {
        inner: luminex_consensus::DevRules::new(&spec),
        heavy: f.a.iter().map(Block::hash).collect(),
    });
    let store =
        luminex_storage::ChainStore::open(Arc::new(MemoryStore::new()), spec, rules).unwrap();
    let now = f.now();
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    accept_all(&store, &f.b, now);
    let on_a = f.chain_of(&f.a);
    assert_on(&store, &on_a);
    let final_before = store.finalized();
    match accept(&store, &bad, now) {
        Err(ChainError::Invalid(BlockError::CoinbaseTooLarge { .. })) => {}
        other => panic!("expected the bad block's own error, got {other:?}"),
    }
    assert_on(&store, &on_a);
    assert_eq!(store.finalized(), final_before, "finality moved");
    assert_eq!(store.known_height(&bad.hash()), None);
    // B's valid blocks stay a side branch.
    assert!(store.known_height(&f.b[19].hash()).is_some());

    // A valid 21st block: B wins, and finality catches up at once.
    let good = chain.build_block(vec![], Amount::ZERO);
    let r = accept(&store, &good, now).unwrap();
    assert_eq!((r.disconnected.len(), r.connected.len()), (2, 21));
    let tip = store.tip();
    assert_eq!(tip.hash, good.hash());
    assert_eq!(store.finalized().height, tip.height - 3);
    assert_eq!(
        store.finalized().hash,
        f.b[tip.height as usize - 3 - f.base.len() - 1].hash()
    );
}

/// `chain_tips` lists the main chain's tip and each side branch's last
/// block with the height it forked at, highest first; a branch that wins
/// swaps places with the old one, which is then known valid (its blocks
/// were connected), unlike a branch whose blocks were only stored.
#[test]
fn chain_tips_list_the_main_tip_and_each_side_branch() {
    let f = Fork::new(2, 3, 4);
    let now = f.now();
    let store = open_store(Arc::new(MemoryStore::new()), f.spec.clone()).unwrap();
    accept_all(&store, &f.base, now);
    let tips = store.chain_tips().unwrap();
    assert_eq!(tips.len(), 1, "{tips:?}");
    assert!(tips[0].active && tips[0].validated);
    assert_eq!((tips[0].height, tips[0].fork_height), (2, 2));

    accept_all(&store, &f.a, now);
    accept_all(&store, &f.b[..2], now);
    let tips = store.chain_tips().unwrap();
    assert_eq!(tips.len(), 2, "{tips:?}");
    assert_eq!(tips[0].hash, f.a[2].hash());
    assert!(tips[0].active && !tips[0].invalid);
    assert_eq!(tips[0].height, 5);
    assert_eq!(tips[1].hash, f.b[1].hash());
    assert!(!tips[1].active && !tips[1].invalid);
    assert!(
        !tips[1].validated,
        "b's blocks were stored, never connected"
    );
    assert_eq!((tips[1].height, tips[1].fork_height), (4, 2));

    accept_all(&store, &f.b[2..], now);
    let tips = store.chain_tips().unwrap();
    assert_eq!(tips.len(), 2, "{tips:?}");
    assert_eq!((tips[0].hash, tips[0].active), (f.b[3].hash(), true));
    assert_eq!(tips[0].height, 6);
    assert_eq!((tips[1].hash, tips[1].active), (f.a[2].hash(), false));
    assert_eq!((tips[1].height, tips[1].fork_height), (5, 2));
    assert!(tips[1].validated, "a was the main chain: {tips:?}");
    assert!(!tips[1].invalid);

    // A block on the old branch that was never connected: the branch
    // through it is not known valid, though its other blocks are.
    let mut on_a = replay(&f.spec, &[f.base.clone(), f.a.clone()].concat());
    let c = extend(&mut on_a, &keys(), 1, 2_000).remove(0);
    let r = accept(&store, &c, now.max(c.header.time())).unwrap();
    assert_eq!(r.status, AcceptStatus::SideBranch, "as much work as b");
    let tips = store.chain_tips().unwrap();
    assert_eq!(tips.len(), 2, "{tips:?}");
    let on_c = tips.iter().find(|t| t.hash == c.hash()).unwrap();
    assert_eq!((on_c.height, on_c.fork_height, on_c.active), (6, 2, false));
    assert!(!on_c.validated, "{tips:?}");
}

/// A side-branch block whose coinbase claims another height is refused and
/// its header marked invalid, as Bitcoin Core marks it: a child is refused
/// as known invalid instead of being kept as an orphan, and the block
/// offered again is refused at once. A copy of a valid block with its
/// coinbase changed (the header's merkle root then does not match)
/// condemns only itself: the real block is still accepted.
#[test]
fn a_side_branch_block_with_a_wrong_coinbase_height_is_known_invalid() {
    let f = Fork::new(2, 3, 2);
    let now = f.now();
    let store = open_store(Arc::new(MemoryStore::new()), f.spec.clone()).unwrap();
    accept_all(&store, &f.base, now);
    accept_all(&store, &f.a, now);
    let on_a = f.chain_of(&f.a);
    let mut chain = f.chain_of(&[]);
    let mut bad = chain.build_block(vec![], Amount::ZERO);
    bad.txs[0].kind = luminex_primitives::TxKind::Coinbase { height: 99 };
    bad.header.pow_mut().merkle_root = bad.compute_merkle_root();
    match accept(&store, &bad, now) {
        Err(ChainError::Invalid(BlockError::CoinbaseHeight { found: 99, .. })) => {}
        other => panic!("expected a wrong coinbase height, got {other:?}"),
    }
    chain.blocks.push(bad.clone());
    let child = chain.build_block(vec![], Amount::ZERO);
    for b in [&child, &bad] {
        match accept(&store, b, now) {
            Err(ChainError::Invalid(BlockError::KnownInvalid)) => {}
            other => panic!("expected known invalid, got {other:?}"),
        }
    }
    assert_on(&store, &on_a);

    let mut copy = f.b[0].clone();
    copy.txs[0].kind = luminex_primitives::TxKind::Coinbase { height: 99 };
    assert!(accept(&store, &copy, now).is_err());
    accept_all(&store, &f.b, now);
    assert!(store.known_height(&f.b[1].hash()).is_some());
    assert_on(&store, &on_a);
}
