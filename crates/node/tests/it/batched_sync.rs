//! Downloaded blocks committed without waiting for the disk (ADR 0040):
//! the mempool follows them at once, but the node announces them — a new
//! tip to its watchers, WebSocket events — only once they are synced; a
//! crash of the machine before that loses them and nothing announced.

use std::sync::Arc;

use luminex_ledger::ChainSpec;
use luminex_service::events::Event;
use luminex_service::testkit::{memory_node_for, node_over};
use luminex_storage::faults::FaultyStore;
use luminex_storage::{Accepted, KvStore, MemoryStore, PreparedBlock};

use crate::storage_faults::payment;

#[test]
fn downloaded_blocks_are_announced_once_synced_and_only_those_survive_a_crash() {
    let spec = ChainSpec::preset("dev").unwrap();
    // A source chain of 7 blocks, the first confirming a payment.
    let source = memory_node_for(spec.clone());
    let tx = payment(&spec, 5);
    source.submit(tx.clone()).unwrap();
    let blocks: Vec<_> = (0..7).map(|_| source.produce_block().unwrap()).collect();

    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    faulty.lose_unsynced();
    let kv: Arc<dyn KvStore> = faulty.clone();
    let node = node_over(kv.clone(), spec.clone()).unwrap();
    let txid = node.submit(tx).unwrap();
    let mut tips = node.tip_changed.subscribe();
    tips.mark_unchanged();
    let mut events = node.events.subscribe();

    let accept = |n: &luminex_service::Node, b: &Arc<luminex_primitives::Block>| -> Accepted {
        n.accept_prepared_unsynced(&PreparedBlock::Unchecked(b.clone()))
            .unwrap()
    };
    let accepted: Vec<Accepted> = blocks[..5].iter().map(|b| accept(&node, b)).collect();
    assert_eq!(node.chain.tip().hash, blocks[4].hash());
    assert!(
        node.mempool.read().get(&txid).is_none(),
        "the mempool follows at once"
    );
    assert!(!tips.has_changed().unwrap(), "a new tip announced unsynced");
    assert!(events.try_recv().is_err(), "an event sent unsynced");
    assert!(faulty.unsynced_batches() > 0);

    node.publish_synced(&accepted).unwrap();
    assert_eq!(faulty.unsynced_batches(), 0);
    assert!(tips.has_changed().unwrap());
    assert_eq!(*tips.borrow_and_update(), blocks[4].hash());
    let mut announced = Vec::new();
    while let Ok(e) = events.try_recv() {
        if let Event::Block { height, .. } = &*e {
            announced.push(*height);
        }
    }
    assert_eq!(announced, vec![1, 2, 3, 4, 5]);

    // Two more, never synced: the machine crashes (no flush, no sync).
    for b in &blocks[5..] {
        accept(&node, b);
    }
    assert_eq!(node.chain.tip().height, 7);
    assert!(!tips.has_changed().unwrap());
    let node = Arc::into_inner(node).expect("the only holder of the node");
    Arc::into_inner(node.chain)
        .expect("the only holder of the chain")
        .close_without_flush();
    faulty.crash();

    let node = node_over(kv, spec).unwrap();
    node.chain.check_consistency().unwrap();
    assert_eq!(
        node.chain.tip().hash,
        blocks[4].hash(),
        "back to the last announced tip"
    );
    // The lost blocks come again.
    for b in &blocks[5..] {
        node.accept_shared(b).unwrap();
    }
    assert_eq!(node.chain.tip().hash, blocks[6].hash());
}
