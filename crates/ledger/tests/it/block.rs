//! Block connection: double spends, coinbase rules, size, Merkle root, and
//! connect/disconnect round trips.

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::PowFields;
use luminex_ledger::testkit::{lock_of, transfer, TestChain};
use luminex_ledger::{
    connect_block, connect_checked, disconnect_block, BlockError, CheckedBlock, SigCache, TxError,
};
use luminex_primitives::{Amount, SchemeId, TxOut};

fn keys(n: u8) -> Vec<SigningKey> {
    (0..n)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa44, &[100 + i; 32]))
        .collect()
}

/// A transfer from `coins` of `amount` base units to `to`, change to the owner.
fn pay(
    chain: &TestChain,
    key: &SigningKey,
    coins: &[(luminex_primitives::OutPoint, luminex_ledger::Coin)],
    amount: u64,
    to: &SigningKey,
) -> luminex_primitives::Transaction {
    transfer(
        &chain.spec,
        key,
        coins,
        vec![TxOut {
            amount: Amount::from_base(amount).unwrap(),
            lock: lock_of(to),
        }],
    )
}

fn tx_error(r: Result<impl std::fmt::Debug, BlockError>) -> TxError {
    match r {
        Err(BlockError::Tx { error, .. }) => error,
        other => panic!("expected a transaction error, got {other:?}"),
    }
}

/// A chain where the first of two keys owns one coin of 0.1 coins.
fn one_coin() -> (
    TestChain,
    Vec<SigningKey>,
    Vec<(luminex_primitives::OutPoint, luminex_ledger::Coin)>,
) {
    let mut chain = TestChain::dev();
    let ks = keys(2);
    chain.fan_out(0, &ks[..1], 1, 10_000_000);
    let c = chain.coins_of(&lock_of(&ks[0]));
    (chain, ks, c)
}

#[test]
fn double_spend_within_a_block_is_rejected() {
    let (mut chain, ks, c) = one_coin();
    let pay = |to: &SigningKey| {
        vec![TxOut {
            amount: Amount::from_base(1_000_000).unwrap(),
            lock: lock_of(to),
        }]
    };
    let a = transfer(&chain.spec, &ks[0], &c, pay(&ks[1]));
    let b = transfer(&chain.spec, &ks[0], &c, pay(&chain.keys[0]));
    let fees = chain.fees_of(std::slice::from_ref(&a));
    let block = chain.build_block(vec![a.clone(), b], fees.checked_add(fees).unwrap());
    assert!(matches!(
        tx_error(chain.connect(block)),
        TxError::DoubleSpend(_)
    ));
}

#[test]
fn double_spend_across_blocks_is_rejected() {
    let (mut chain, ks, c) = one_coin();
    let a = pay(&chain, &ks[0], &c, 1_000_000, &ks[1]);
    let b = pay(&chain, &ks[0], &c, 2_000_000, &ks[1]);
    chain.mine(vec![a]).unwrap();
    let fees = Amount::from_base(10_000_000).unwrap();
    let block = chain.build_block(vec![b], fees);
    assert!(matches!(
        tx_error(chain.connect(block)),
        TxError::MissingInput(_)
    ));
}

#[test]
fn spending_an_output_created_earlier_in_the_block_is_allowed() {
    let (mut chain, ks, c) = one_coin();
    let a = pay(&chain, &ks[0], &c, 5_000_000, &ks[1]);
    let a_out = (
        luminex_primitives::OutPoint {
            txid: a.txid(),
            vout: 0,
        },
        luminex_ledger::Coin {
            output: a.outputs[0],
            height: chain.height() + 1,
            is_coinbase: false,
        },
    );
    let b = pay(&chain, &ks[1], &[a_out], 1_000_000, &ks[0]);
    let before = chain.utxos.clone();
    let block = chain.mine(vec![a, b]).unwrap();
    // a's first output was created and spent inside the block: not in the set.
    assert!(!chain.utxos.contains_key(&a_out.0));
    // Disconnect restores the exact set.
    let height = chain.height();
    let c = connect_block(
        &block,
        &before,
        &chain.context_for(height),
        &chain.spec,
        &SigCache::new(1),
    )
    .unwrap();
    let mut after = before.clone();
    c.changes.apply_to(&mut after);
    assert_eq!(after, chain.utxos);
    let undo = disconnect_block(&block, height, &c.undo);
    // Disconnecting removes what connecting created and restores what it
    // spent, exactly: not the output spent inside the block (the running
    // value of the UTXO set is kept from these lists).
    assert!(!undo.spent.iter().any(|(op, _)| *op == a_out.0));
    assert_eq!(undo.spent, c.changes.created);
    assert_eq!(undo.created, c.changes.spent);
    undo.apply_to(&mut after);
    assert_eq!(after, before);
}

#[test]
fn connect_then_disconnect_restores_the_exact_utxo_set() {
    let mut chain = TestChain::dev();
    let ks = keys(4);
    chain.fan_out(0, &ks, 40, 2_000_000);
    for _ in 0..3 {
        let before = chain.utxos.clone();
        let txs = chain.spend_all(&ks);
        let fees = chain.fees_of(&txs);
        let block = chain.build_block(txs, fees);
        let ctx = chain.context();
        let c = connect_block(&block, &chain.utxos, &ctx, &chain.spec, &SigCache::new(1)).unwrap();
        let mut after = before.clone();
        c.changes.apply_to(&mut after);
        assert_ne!(after, before);
        let mut undone = after.clone();
        disconnect_block(&block, ctx.height, &c.undo).apply_to(&mut undone);
        assert_eq!(undone, before);
        chain.connect(block).unwrap();
        assert_eq!(chain.utxos, after);
    }
}

#[test]
fn block_level_rules() {
    let mut chain = TestChain::dev();
    // Coinbase claiming more than subsidy + fees.
    let mut b = chain.build_block(vec![], Amount::from_base(1).unwrap());
    b.header.pow_mut().merkle_root = b.compute_merkle_root();
    assert!(matches!(
        chain.connect(b),
        Err(BlockError::CoinbaseTooLarge { .. })
    ));
    // Bad Merkle root.
    let mut b = chain.build_block(vec![], Amount::ZERO);
    b.header.pow_mut().merkle_root.0[0] ^= 1;
    assert!(matches!(chain.connect(b), Err(BlockError::BadMerkleRoot)));
    // Wrong parent.
    let mut b = chain.build_block(vec![], Amount::ZERO);
    b.header.pow_mut().prev_hash.0[0] ^= 1;
    assert!(matches!(chain.connect(b), Err(BlockError::BadParent)));
    // Oversize block.
    let ks = keys(1);
    chain.fan_out(0, &ks, 3, 1_000_000);
    let txs = chain.spend_all(&ks);
    let fees = chain.fees_of(&txs);
    let b = chain.build_block(txs, fees);
    chain.spec.max_block_bytes = 8_000;
    assert!(matches!(
        chain.connect(b.clone()),
        Err(BlockError::TooLarge { .. })
    ));
    chain.spec.max_block_bytes = 1 << 20;
    // A bad signature anywhere in the block is found (parallel verification).
    let mut bad = b.clone();
    let last = bad.txs.len() - 1;
    luminex_ledger::testkit::signature_bytes_mut(&mut bad.txs[last].witnesses[0])[10] ^= 1;
    bad.header.pow_mut().merkle_root = bad.compute_merkle_root();
    match chain.connect(bad) {
        Err(BlockError::Tx {
            index,
            error: TxError::BadSignature { .. },
            ..
        }) => assert_eq!(index, last),
        other => panic!("{other:?}"),
    }
    // Coinbase with the wrong height.
    let mut w = b.clone();
    w.txs[0].kind = luminex_primitives::TxKind::Coinbase { height: 99 };
    w.header.pow_mut().merkle_root = w.compute_merkle_root();
    assert!(matches!(
        chain.connect(w),
        Err(BlockError::CoinbaseHeight { .. })
    ));
    chain.connect(b).unwrap();
}

#[test]
fn cached_signatures_are_not_verified_again() {
    let mut chain = TestChain::dev();
    let ks = keys(1);
    chain.fan_out(0, &ks, 2, 1_000_000);
    let mut txs = chain.spend_all(&ks);
    // Corrupt a signature but mark the tx as verified: connect trusts the cache,
    // proving the cached path skips verification.
    let fees = chain.fees_of(&txs);
    luminex_ledger::testkit::signature_bytes_mut(&mut txs[0].witnesses[0])[0] ^= 1;
    let b = chain.build_block(txs, fees);
    let cache = SigCache::new(16);
    cache.insert(b.txs[1].wtxid());
    let ctx = chain.context();
    assert!(connect_block(&b, &chain.utxos, &ctx, &chain.spec, &cache).is_ok());
    assert!(connect_block(&b, &chain.utxos, &ctx, &chain.spec, &SigCache::new(1)).is_err());
}

#[test]
fn a_checked_block_connects_exactly_like_a_plain_one() {
    let mut chain = TestChain::dev();
    let ks = keys(3);
    chain.fan_out(0, &ks, 6, 2_000_000);
    let txs = chain.spend_all(&ks);
    let fees = chain.fees_of(&txs);
    let block = chain.build_block(txs, fees);
    let ctx = chain.context();
    let plain = connect_block(&block, &chain.utxos, &ctx, &chain.spec, &SigCache::new(1)).unwrap();
    let checked = CheckedBlock::check(std::sync::Arc::new(block.clone()), &chain.spec).unwrap();
    assert_eq!(checked.ids().txids, plain.txids);
    assert_eq!(checked.ids().wtxids, plain.wtxids);
    let c = connect_checked(&checked, &chain.utxos, &ctx, &chain.spec, &SigCache::new(1)).unwrap();
    assert_eq!(
        (c.changes.created, c.changes.spent, c.undo.spent, c.fees),
        (
            plain.changes.created,
            plain.changes.spent,
            plain.undo.spent,
            plain.fees
        )
    );
    assert_eq!(c.verified_signatures, plain.verified_signatures);
    // Context still matters: a checked block on the wrong parent is refused.
    let mut elsewhere = ctx;
    elsewhere.prev_hash = luminex_primitives::Hash([9; 32]);
    assert!(matches!(
        connect_checked(
            &checked,
            &chain.utxos,
            &elsewhere,
            &chain.spec,
            &SigCache::new(1)
        ),
        Err(BlockError::BadParent)
    ));
    // And tier 1 refuses what it refused before.
    let mut bad = block;
    bad.txs.swap(1, 2);
    assert!(matches!(
        CheckedBlock::check(std::sync::Arc::new(bad), &chain.spec),
        Err(BlockError::BadMerkleRoot)
    ));
}
