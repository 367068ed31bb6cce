//! Dev chains with competing branches, for the fork-choice and fault
//! tests, and the store the tests open.

use std::sync::Arc;

use luminex_ledger::testkit::TestChain;
use luminex_ledger::{ChainSpec, SigCache};
use luminex_primitives::{Block, SchemeId};
use luminex_storage::{Accepted, ChainError, ChainStore, KvStore, StoreOptions};

use luminex_crypto::SigningKey;

/// Blocks 1.. of a common base and two branches forking at its tip.
pub struct Fork {
    /// The dev spec.
    pub spec: ChainSpec,
    /// Blocks shared by both branches (the first a fan-out to [`keys`]).
    pub base: Vec<Block>,
    /// Branch A on the base.
    pub a: Vec<Block>,
    /// Branch B on the base: other transfers, so its UTXO set differs.
    pub b: Vec<Block>,
}

/// The keys that own the coins moved in every block.
pub fn keys() -> Vec<SigningKey> {
    (0..3u8)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa44, &[70 + i; 32]))
        .collect()
}

/// A test chain with `blocks` connected.
pub fn replay(spec: &ChainSpec, blocks: &[Block]) -> TestChain {
    let mut chain = TestChain::new(spec.clone());
    for b in blocks {
        chain.connect(b.clone()).expect("replayed blocks are valid");
    }
    chain
}

/// `n` blocks on `chain`, each with one transfer per key paying `pay` base
/// units to the next key (the change back to the owner).
pub fn extend(chain: &mut TestChain, keys: &[SigningKey], n: usize, pay: u64) -> Vec<Block> {
    (0..n).map(|_| chain.mine_ring(keys, |_| pay)).collect()
}

impl Fork {
    /// A base of `base` blocks (at least 1, the fan-out), branch A of `a`
    /// blocks and branch B of `b` blocks on it.
    pub fn new(base: usize, a: usize, b: usize) -> Fork {
        let ks = keys();
        let mut chain = TestChain::dev();
        let mut base_blocks = vec![chain.fan_out(0, &ks, 12, 1_000_000)];
        base_blocks.extend(extend(&mut chain, &ks, base - 1, 1_000));
        let mut on_a = replay(&chain.spec, &base_blocks);
        let a = extend(&mut on_a, &ks, a, 2_000);
        let b = extend(&mut chain, &ks, b, 3_000);
        Fork {
            spec: chain.spec,
            base: base_blocks,
            a,
            b,
        }
    }

    /// A time no block of the fork is ahead of.
    pub fn now(&self) -> u64 {
        self.base
            .iter()
            .chain(&self.a)
            .chain(&self.b)
            .map(|b| b.header.time())
            .max()
            .unwrap_or(0)
    }

    /// The test chain of the base followed by `branch`.
    pub fn chain_of(&self, branch: &[Block]) -> TestChain {
        let all: Vec<Block> = self.base.iter().chain(branch).cloned().collect();
        replay(&self.spec, &all)
    }
}

/// Accepts `blocks` in order; panics on a failure.
pub fn accept_all(store: &ChainStore, blocks: &[Block], now: u64) -> Vec<Accepted> {
    let cache = SigCache::new(1);
    blocks
        .iter()
        .map(|b| {
            store
                .accept_block(b, now, &cache)
                .unwrap_or_else(|e| panic!("block {} refused: {e}", b.hash()))
        })
        .collect()
}

/// Accepts one block with a fresh signature cache.
pub fn accept(store: &ChainStore, block: &Block, now: u64) -> Result<Accepted, ChainError> {
    store.accept_block(block, now, &SigCache::new(1))
}

/// The consistency checker, and the tip is `chain`'s with its UTXO set.
pub fn assert_on(store: &ChainStore, chain: &TestChain) {
    let report = store
        .check_consistency()
        .unwrap_or_else(|e| panic!("store inconsistent: {e}"));
    assert_eq!(report.height, chain.height());
    assert_eq!(store.tip().hash, chain.tip().hash(), "tip");
    assert_eq!(store.all_utxos().unwrap(), chain.utxos, "UTXO set");
}

/// A store of `spec` on `kv`, with the default options as `adjust` leaves
/// them; panics if it cannot open.
pub fn open_store(
    kv: Arc<dyn KvStore>,
    spec: &ChainSpec,
    adjust: impl FnOnce(&mut StoreOptions),
) -> ChainStore {
    let mut options = StoreOptions::default();
    adjust(&mut options);
    ChainStore::open_with(
        kv,
        spec.clone(),
        luminex_consensus::rules_for(spec),
        options,
    )
    .unwrap()
}
