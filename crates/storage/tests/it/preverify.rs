//! The preverifier: checks signatures ahead of connection and decides
//! nothing.

use luminex_ledger::testkit::PowFields;
use std::sync::Arc;

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::TestChain;
use luminex_ledger::{BlockError, SigCache, TxError};
use luminex_primitives::{Block, OutPoint, SchemeId};
use luminex_storage::{ChainError, ChainStore, MemoryStore, PreparedBlock, Preverifier};

use crate::chain::open_store;

fn keys() -> Vec<SigningKey> {
    (0..3u8)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa44, &[80 + i; 32]))
        .collect()
}

/// A store holding a fan-out block, the test chain that built it, and two
/// further blocks not yet connected to the store: the second spends
/// outputs the first creates.
fn setup() -> (ChainStore, TestChain, Vec<Block>) {
    let store = open_store(Arc::new(MemoryStore::new()), TestChain::dev().spec).unwrap();
    let mut chain = TestChain::dev();
    let ks = keys();
    let b = chain.fan_out(0, &ks, 6, 3_000_000);
    store
        .connect(&b, u64::from(b.header.pow().time), &SigCache::new(1))
        .unwrap();
    let mut next = Vec::new();
    for _ in 0..2 {
        let txs = chain.spend_all(&ks);
        next.push(chain.mine(txs).unwrap());
    }
    (store, chain, next)
}

fn signatures(b: &Block) -> usize {
    b.txs.iter().skip(1).map(|t| t.witnesses.len()).sum()
}

#[test]
fn checks_queued_blocks_and_connecting_them_skips_the_checks() {
    let (store, _, next) = setup();
    let cache = SigCache::new(1_000);
    let mut pre = Preverifier::new();
    // The second block spends outputs of the first, which is not in the
    // store yet: the preverifier remembers the outputs it has seen.
    let mut prepared = Vec::new();
    for b in &next {
        let (p, n) = pre.prepare(&store, Arc::new(b.clone()), &cache);
        assert_eq!(n, signatures(b));
        let PreparedBlock::Checked(checked) = &p else {
            panic!("a valid block passes its context-free checks");
        };
        assert_eq!(checked.ids().wtxids.len(), b.txs.len());
        for tx in b.txs.iter().skip(1) {
            assert!(cache.contains(&tx.wtxid()));
        }
        // Seen already: nothing to do again.
        assert_eq!(pre.run(&store, checked, &cache), 0);
        prepared.push(p);
    }
    for p in &prepared {
        let acc = store
            .accept_prepared(p, u64::from(p.block().header.pow().time), &cache)
            .unwrap();
        assert_eq!(acc.verified_signatures, 0, "every signature was cached");
        assert!(
            Arc::ptr_eq(&acc.connected[0], p.block()),
            "the connected block is shared, not copied"
        );
    }
}

/// Tier 1 for `block` after its transactions were changed by hand: the
/// header commits to the new wtxids again.
fn recommit(mut block: Block) -> Arc<Block> {
    block.header.pow_mut().merkle_root = block.compute_merkle_root();
    Arc::new(block)
}

#[test]
fn a_block_failing_its_context_free_checks_is_rejected_on_import() {
    let (store, _, next) = setup();
    let mut bad = next[0].clone();
    luminex_ledger::testkit::signature_bytes_mut(&mut bad.txs[1].witnesses[0])[10] ^= 1; // the header no longer commits to it
    let cache = SigCache::new(1_000);
    let mut pre = Preverifier::new();
    let (p, n) = pre.prepare(&store, Arc::new(bad), &cache);
    assert_eq!(n, 0, "nothing checked ahead for a block that fails tier 1");
    assert!(matches!(p, PreparedBlock::Unchecked(_)));
    let now = u64::from(p.block().header.pow().time);
    let err = store.accept_prepared(&p, now, &cache).unwrap_err();
    assert!(
        matches!(err, ChainError::Invalid(BlockError::BadMerkleRoot)),
        "{err}"
    );
    // Not remembered as invalid: the transactions are not the header's, so
    // the real block may still come (ADR 0015), and it connects.
    let err = store.accept_prepared(&p, now, &cache).unwrap_err();
    assert!(
        matches!(err, ChainError::Invalid(BlockError::BadMerkleRoot)),
        "{err}"
    );
    let real = Arc::new(next[0].clone());
    let (p, _) = pre.prepare(&store, real, &cache);
    store.accept_prepared(&p, now, &cache).unwrap();
}

#[test]
fn a_bad_signature_is_left_for_connection_to_reject() {
    let (store, _, next) = setup();
    let mut bad = next[0].clone();
    let sig = luminex_ledger::testkit::signature_bytes_mut(&mut bad.txs[1].witnesses[0]);
    sig[10] ^= 1;
    let bad = recommit(bad);
    let cache = SigCache::new(1_000);
    let mut pre = Preverifier::new();
    let (p, n) = pre.prepare(&store, bad.clone(), &cache);
    assert_eq!(n, signatures(&bad) - 1);
    assert!(!cache.contains(&bad.txs[1].wtxid()));
    let err = store
        .connect_prepared(&p, u64::from(bad.header.pow().time), &cache)
        .unwrap_err();
    assert!(
        matches!(
            err,
            ChainError::Invalid(BlockError::Tx {
                index: 1,
                error: TxError::BadSignature { .. },
                ..
            })
        ),
        "{err}"
    );
}

#[test]
fn a_transaction_spending_an_unknown_output_is_skipped() {
    let (store, _, next) = setup();
    let mut b = next[0].clone();
    b.txs[1].inputs[0] = OutPoint {
        txid: luminex_primitives::Hash([7; 32]),
        vout: 0,
    };
    let b = recommit(b);
    let cache = SigCache::new(1_000);
    let mut pre = Preverifier::new();
    assert_eq!(pre.prepare(&store, b.clone(), &cache).1, signatures(&b) - 1);
    assert!(!cache.contains(&b.txs[1].wtxid()));
}

#[test]
fn help_returns_at_once_when_nothing_is_being_checked() {
    let pre = Preverifier::new();
    pre.helper().help();
}
