//! A node whose storage fails: it stops taking blocks with a clear error,
//! its mempool keeps the transactions of the block that failed, and once
//! the fault is gone a restarted node is consistent and goes on.

use std::sync::Arc;

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, transfer, TestChain};
use luminex_ledger::ChainSpec;
use luminex_primitives::{Amount, SchemeId, Transaction, TxOut};
use luminex_service::testkit::node_over;
use luminex_service::Node;
use luminex_storage::faults::{Fault, FaultPlan, FaultyStore};
use luminex_storage::{ChainError, KvStore, MemoryStore};

/// Dev key 0 pays `n` coins to a fresh key, from the genesis coin.
pub fn payment(spec: &ChainSpec, n: u64) -> Transaction {
    let dev = spec.dev_key(0).unwrap();
    let chain = TestChain::new(spec.clone());
    let coins = chain.coins_of(&lock_of(&dev));
    transfer(
        spec,
        &dev,
        &coins[..1],
        vec![TxOut {
            amount: Amount::from_coins(n).unwrap(),
            lock: lock_of(&SigningKey::from_seed(SchemeId::MlDsa44, &[7; 32])),
        }],
    )
}

fn rejected_for_storage(node: &Node) -> u64 {
    node.metrics
        .blocks_rejected
        .get_or_create(&luminex_service::metrics::ReasonLabels {
            reason: "storage".into(),
        })
        .get()
}

#[test]
fn a_node_stops_taking_blocks_at_a_storage_fault_and_restarts_consistent() {
    let spec = ChainSpec::preset("dev").unwrap();
    for fault in [
        Fault::FailWrite { nth: 1 },
        Fault::FailSync { nth: 1 },
        Fault::NoSpace { after_bytes: 0 },
    ] {
        let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
        let kv: Arc<dyn KvStore> = faulty.clone();
        let node = node_over(kv.clone(), spec.clone()).unwrap();
        node.produce_block().unwrap();
        let tx = payment(&spec, 5);
        let txid = node.submit(tx).unwrap();

        faulty.set_plan(FaultPlan::one(fault));
        match node.produce_block() {
            Err(ChainError::Store(e)) => assert!(e.to_string().contains("injected"), "{e}"),
            other => panic!("{fault:?}: expected the storage error, got {other:?}"),
        }
        assert_eq!(node.chain.tip().height, 1, "{fault:?}");
        assert!(
            node.mempool.read().get(&txid).is_some(),
            "{fault:?}: the payment left the mempool with a block that failed"
        );
        // The fault is gone, the node still refuses: it cannot know what
        // the storage holds until it is restarted.
        faulty.clear();
        match node.produce_block() {
            Err(e @ ChainError::Halted(_)) => {
                assert!(e.to_string().contains("restart"), "{e}")
            }
            other => panic!("{fault:?}: a halted node produced: {other:?}"),
        }
        assert!(node.chain.halted().is_some());
        assert_eq!(rejected_for_storage(&node), 2, "{fault:?}");
        drop(node);

        // Restart: consistent at height 1, and the payment confirms.
        faulty.crash();
        let node = node_over(kv, spec.clone()).unwrap();
        let report = node.chain.check_consistency().unwrap();
        assert_eq!(report.height, 1, "{fault:?}");
        node.submit(payment(&spec, 5)).unwrap();
        node.produce_block().unwrap();
        assert!(
            node.chain.transaction(&txid).unwrap().is_some(),
            "{fault:?}"
        );
        node.chain.check_consistency().unwrap();
    }
}
