//! Storage faults: a write that fails, an fsync that fails, a disk that
//! fills up — injected at every commit of a run that extends the chain,
//! stores a side branch and reorganises to it. Under each fault the chain
//! store returns a typed error, reports nothing connected that is not
//! durable and refuses every later change; after the fault is removed, a
//! reopened store is consistent and takes the rest of the blocks.

use std::sync::Arc;

use luminex_primitives::Block;
use luminex_storage::faults::{Fault, FaultPlan, FaultyStore};
use luminex_storage::{ChainError, ChainStore, FjallStore, KvStore, MemoryStore, StoreError, Tip};

use crate::chain::open_store;
use crate::forks::{accept, accept_all, assert_on, Fork};

/// The blocks fed after the base: A, then B, which overtakes A with its
/// last block (a reorganisation of three blocks).
fn feed(f: &Fork) -> Vec<Block> {
    f.a.iter().chain(&f.b).cloned().collect()
}

/// What a run saw before its fault.
struct Run {
    /// The last tip a successful accept reported.
    reported: Tip,
    /// Blocks accepted before the failing one.
    accepted: usize,
    /// Commits attempted up to the fault.
    commits: u64,
}

/// Feeds `blocks` to `store` until one fails; checks the failure is the
/// injected fault, typed, and that the store refuses every change after it.
fn run_until_fault(store: &ChainStore, faulty: &FaultyStore, blocks: &[Block], now: u64) -> Run {
    let mut reported = store.tip();
    for (i, b) in blocks.iter().enumerate() {
        match accept(store, b, now) {
            Ok(_) => reported = store.tip(),
            Err(e) => {
                assert!(
                    matches!(e, ChainError::Store(StoreError::Engine(ref m)) if m.contains("injected")),
                    "block {i}: not the injected fault: {e}"
                );
                assert_eq!(faulty.injected().len(), 1, "one fault injected");
                // What is in memory did not move past what was durable
                // before the failing commit.
                assert!(
                    store.tip().chain_work <= reported.chain_work,
                    "the tip moved ahead during a failed accept"
                );
                assert!(store.halted().is_some());
                let commits = faulty.commits();
                // Even with the fault gone, the store takes nothing more.
                faulty.clear();
                for later in &blocks[i..] {
                    match accept(store, later, now) {
                        Err(ChainError::Halted(reason)) => assert!(reason.contains("injected")),
                        other => panic!("a halted store accepted a block: {other:?}"),
                    }
                }
                assert!(matches!(store.disconnect_tip(), Err(ChainError::Halted(_))));
                return Run {
                    reported,
                    accepted: i,
                    commits,
                };
            }
        }
    }
    panic!("the fault was never hit");
}

/// After the crash: consistent, nothing reported is lost, and the rest of
/// the blocks lead to B's tip.
fn check_restart(store: &ChainStore, f: &Fork, run: &Run, what: &str) {
    store
        .check_consistency()
        .unwrap_or_else(|e| panic!("{what}: inconsistent after restart: {e}"));
    let tip = store.tip();
    assert!(
        tip.chain_work >= run.reported.chain_work,
        "{what}: reported tip {} at {} lost (restarted at {})",
        run.reported.hash,
        run.reported.height,
        tip.height
    );
    if tip.hash != run.reported.hash {
        // Only an interrupted reorganisation, finished at open, moves it.
        assert_eq!(tip.hash, f.b.last().unwrap().hash(), "{what}");
    }
    let now = f.now();
    let rest = &feed(f)[run.accepted..];
    for b in rest {
        if let Err(e) = accept(store, b, now) {
            panic!("{what}: block {} refused after restart: {e}", b.hash());
        }
    }
    assert_on(store, &f.chain_of(&f.b));
}

/// Every fault kind at every commit of the run, over memory.
#[test]
fn every_fault_at_every_commit_ends_on_a_consistent_restart() {
    let f = Fork::new(2, 3, 4);
    let now = f.now();
    let blocks = feed(&f);
    // A clean run counts the commits to cover.
    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let store = open_store(faulty.clone(), f.spec.clone()).unwrap();
    accept_all(&store, &f.base, now);
    faulty.set_plan(FaultPlan::none());
    accept_all(&store, &blocks, now);
    let commits = faulty.commits();
    let sizes = faulty.commit_sizes();
    assert_on(&store, &f.chain_of(&f.b));
    // 3 of A, 3 side blocks of B, then the fourth: store, 3 disconnects,
    // 4 connects.
    assert_eq!(commits, 3 + 3 + 1 + 3 + 4);

    let mut cases = 0;
    for nth in 1..=commits {
        for fault in [
            Fault::FailWrite { nth },
            Fault::FailSync { nth },
            // Room for exactly the commits before the nth.
            Fault::NoSpace { after_bytes: 0 },
        ] {
            let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
            let kv: Arc<dyn KvStore> = faulty.clone();
            let store = open_store(kv.clone(), f.spec.clone()).unwrap();
            accept_all(&store, &f.base, now);
            let fault = match fault {
                Fault::NoSpace { .. } => Fault::NoSpace {
                    after_bytes: sizes[..nth as usize - 1].iter().sum(),
                },
                other => other,
            };
            faulty.set_plan(FaultPlan::one(fault));
            let run = run_until_fault(&store, &faulty, &blocks, now);
            assert_eq!(run.commits, nth, "{fault:?} hit another commit");
            if matches!(fault, Fault::FailSync { .. }) {
                // The failed batch is readable, yet not reported connected.
                assert!(faulty.has_volatile_writes());
            }
            drop(store);
            faulty.crash();
            faulty.clear();
            let store = open_store(kv, f.spec.clone()).unwrap();
            check_restart(&store, &f, &run, &format!("{fault:?}"));
            cases += 1;
        }
    }
    assert_eq!(cases, 3 * commits);
}

/// The same over fjall, for a fault in each phase (extending the chain,
/// storing a side block, disconnecting, connecting the new branch): the
/// restart reopens the database from disk.
#[test]
fn faults_over_fjall_end_on_a_consistent_reopen() {
    let f = Fork::new(2, 3, 4);
    let now = f.now();
    let blocks = feed(&f);
    for fault in [
        Fault::FailWrite { nth: 2 },
        Fault::FailSync { nth: 5 },
        Fault::FailSync { nth: 8 },
        Fault::FailWrite { nth: 11 },
        Fault::FailSync { nth: 12 },
    ] {
        let dir = tempfile::tempdir().unwrap();
        let run = {
            let faulty = Arc::new(FaultyStore::new(Arc::new(
                FjallStore::open(dir.path()).unwrap(),
            )));
            let store = open_store(faulty.clone(), f.spec.clone()).unwrap();
            accept_all(&store, &f.base, now);
            faulty.set_plan(FaultPlan::one(fault));
            run_until_fault(&store, &faulty, &blocks, now)
        };
        let store = open_store(
            Arc::new(FjallStore::open(dir.path()).unwrap()),
            f.spec.clone(),
        )
        .unwrap();
        check_restart(&store, &f, &run, &format!("fjall {fault:?}"));
    }
}

/// A block whose commit failed at fsync is readable in the engine but not
/// in the store's tip; a store that went on would check the same block
/// again against a UTXO set that already lacks its inputs, find it
/// invalid and record that durably — condemning a valid block for good.
/// Halted, it refuses instead, and after a restart takes the block.
#[test]
fn a_block_whose_fsync_failed_is_not_condemned_when_it_comes_again() {
    let f = Fork::new(2, 3, 1);
    let now = f.now();
    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let kv: Arc<dyn KvStore> = faulty.clone();
    let store = open_store(kv.clone(), f.spec.clone()).unwrap();
    accept_all(&store, &f.base, now);
    faulty.set_plan(FaultPlan::one(Fault::FailSync { nth: 1 }));
    assert!(matches!(
        accept(&store, &f.a[0], now),
        Err(ChainError::Store(_))
    ));
    faulty.clear();
    match accept(&store, &f.a[0], now) {
        Err(ChainError::Halted(_)) => {}
        other => panic!("the block came again and got {other:?}"),
    }
    drop(store);
    faulty.crash();
    let store = open_store(kv, f.spec.clone()).unwrap();
    accept_all(&store, &f.a, now);
    assert_on(&store, &f.chain_of(&f.a));
}
