//! An in-memory node for tests (feature `testkit`).

use std::sync::Arc;
use std::time::Instant;

use luminex_ledger::{ChainSpec, SigCache};
use luminex_primitives::SystemClock;
use luminex_storage::{ChainError, ChainStore, KvStore, MemoryStore};

use crate::Node;

/// A `dev` node over an in-memory store that does not produce on its own.
pub fn memory_node() -> Arc<Node> {
    memory_node_for(ChainSpec::preset("dev").expect("the dev preset parses"))
}

/// A node of `spec` over an in-memory store, rewarding dev key 0.
pub fn memory_node_for(spec: ChainSpec) -> Arc<Node> {
    node_over(Arc::new(MemoryStore::new()), spec).expect("an empty memory store opens")
}

/// A node of `spec` over the store `kv` (a wrapper that injects faults, a
/// store reopened after one), rewarding dev key 0.
pub fn node_over(kv: Arc<dyn KvStore>, spec: ChainSpec) -> Result<Arc<Node>, ChainError> {
    node_with(kv, spec, luminex_storage::StoreOptions::default())
}

/// A `dev` node over an in-memory store that keeps neither the
/// transaction index nor the address indexes.
pub fn memory_node_without_indexes() -> Arc<Node> {
    let options = luminex_storage::StoreOptions {
        indexes: luminex_storage::IndexSet {
            tx: false,
            address: false,
        },
        ..Default::default()
    };
    let spec = ChainSpec::preset("dev").expect("the dev preset parses");
    node_with(Arc::new(MemoryStore::new()), spec, options).expect("an empty memory store opens")
}

/// A node of `spec` over the store `kv` kept with `options` (indexes
/// turned off, a small UTXO cache), rewarding dev key 0.
pub fn node_with(
    kv: Arc<dyn KvStore>,
    spec: ChainSpec,
    options: luminex_storage::StoreOptions,
) -> Result<Arc<Node>, ChainError> {
    let cache = SigCache::new(10_000);
    let rules = luminex_consensus::rules_for(&spec);
    let chain = Arc::new(ChainStore::open_with(kv, spec.clone(), rules, options)?);
    let finalized = chain.finalized().height;
    Ok(Arc::new(Node {
        mempool: parking_lot::RwLock::new(crate::mempool_for(
            &chain,
            spec.clone(),
            cache.clone(),
            64 << 20,
        )),
        reward_lock: spec
            .dev_key(0)
            .expect("test chains have dev keys")
            .public_key()
            .lock(),
        spec,
        chain,
        cache,
        clock: Arc::new(SystemClock::new()),
        started: Instant::now(),
        producing: false,
        validator_id: None,
        tip_changed: tokio::sync::watch::channel(luminex_primitives::Hash::ZERO).0,
        metrics: Arc::new(crate::metrics::Metrics::new()),
        events: tokio::sync::broadcast::channel(crate::events::EVENT_BUFFER).0,
        finality_mark: crate::events::FinalityMark::new(finalized),
        restart: Arc::new(tokio::sync::Notify::new()),
        net: Default::default(),
        pool: Default::default(),
        admission: Default::default(),
        follow_order: Default::default(),
        held_back: Default::default(),
        consensus_view: Default::default(),
    }))
}

/// A payment of `coins` from dev key 0's first coin to dev key 1, signed
/// and not submitted.
pub fn dev_payment(node: &Node, coins: u64) -> luminex_primitives::Transaction {
    use luminex_ledger::testkit::{lock_of, transfer};
    let k0 = node.spec.dev_key(0).expect("a dev chain has dev keys");
    let utxos = node
        .chain
        .address_utxos(&lock_of(&k0), 10)
        .expect("the memory store reads");
    transfer(
        &node.spec,
        &k0,
        &utxos[..1],
        vec![luminex_primitives::TxOut {
            amount: luminex_primitives::Amount::from_coins(coins).expect("a small amount"),
            lock: lock_of(&node.spec.dev_key(1).expect("a dev chain has dev keys")),
        }],
    )
}

/// Leaves the tip block on a side branch: disconnects it and produces, at
/// its height, a block carrying a payment instead (so the two differ).
/// Returns the side-branch block's hash.
pub fn side_branch_at_tip(node: &Node) -> luminex_primitives::Hash {
    let old = node.chain.disconnect_tip().expect("the tip disconnects");
    node.submit(dev_payment(node, 1))
        .expect("the payment is admitted");
    let new = node.produce_block().expect("a block is produced");
    assert_ne!(new.hash(), old.hash());
    assert_eq!(node.chain.tip().hash, new.hash());
    old.hash()
}
