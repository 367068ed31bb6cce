//! The `qbtc` header commitment (ADR 0015): Bitcoin's Merkle tree over the
//! coinbase's SHA-256d and the txids, the witnesses committed in the
//! coinbase, mutated lists refused without condemning the header.

use luminex_ledger::testkit::PowFields;
use luminex_ledger::testkit::{lock_of, sign_all, transfer, TestChain};
use luminex_ledger::{check_block, check_block_known, BlockError, ChainSpec, Coin, KnownTx};
use luminex_primitives::commitment::{bitcoin_root, witness_commitment};
use luminex_primitives::hash::sha256d;
use luminex_primitives::{Amount, Encode, Hash, OutPoint, Transaction, TxOut};

/// A qbtc chain whose genesis coins can be spent at once, and two signed
/// transfers (the second spends the first's change).
fn qbtc_with_two_transfers() -> (TestChain, Vec<Transaction>) {
    let mut spec = ChainSpec::preset("qbtc").unwrap();
    spec.coinbase_maturity = 0;
    let chain = TestChain::new(spec);
    let key = chain.keys[0].clone();
    let coins = chain.coins_of(&lock_of(&key));
    let out = |n: u64| TxOut {
        amount: Amount::from_base(n).unwrap(),
        lock: lock_of(&key),
    };
    let mut first = transfer(&chain.spec, &key, &coins[..1], vec![out(1_000_000)]);
    sign_all(&chain.spec, &mut first, &key, &[coins[0].1.output]);
    let change = (
        OutPoint {
            txid: first.txid(),
            vout: 1,
        },
        Coin {
            output: first.outputs[1],
            height: 1,
            is_coinbase: false,
        },
    );
    let mut second = transfer(&chain.spec, &key, &[change], vec![out(2_000_000)]);
    sign_all(&chain.spec, &mut second, &key, &[change.1.output]);
    (chain, vec![first, second])
}

#[test]
fn qbtc_headers_carry_bitcoins_merkle_root_and_a_witness_commitment() {
    let (mut chain, txs) = qbtc_with_two_transfers();
    let fees = chain.fees_of(&txs);
    let block = chain.build_block(txs, fees);
    // Leaves a Bitcoin miner computes: SHA-256d of the coinbase's bytes,
    // then the txids; three leaves, so the last is paired with itself.
    let leaves = [
        sha256d(&block.txs[0].encode()),
        block.txs[1].txid(),
        block.txs[2].txid(),
    ];
    assert_eq!(block.header.pow().merkle_root, bitcoin_root(&leaves).root);
    let wtxids: Vec<_> = block.txs.iter().map(Transaction::wtxid).collect();
    assert_eq!(block.txs[0].version, 2);
    assert_eq!(block.txs[0].data[..32], witness_commitment(&wtxids).0);
    assert!(block.txs[0].encode().len() >= 60, "stock miners' minimum");
    check_block(&block, &chain.spec).unwrap();
    chain.connect(block).unwrap();
}

#[test]
fn mutations_are_refused_without_condemning_the_header() {
    let (chain, txs) = qbtc_with_two_transfers();
    let fees = chain.fees_of(&txs);
    let block = chain.build_block(txs, fees);

    // CVE-2012-2459: the last transaction twice gives the same root.
    let mut dup = block.clone();
    dup.txs.push(dup.txs[2].clone());
    assert_eq!(
        chain.spec.merkle_root(&dup.txs),
        block.header.pow().merkle_root
    );
    let e = check_block(&dup, &chain.spec).unwrap_err();
    assert_eq!(e, BlockError::Mutated);
    assert_eq!(e.code(), "bad-txns-duplicate");
    assert!(e.is_mutation());

    // A witness changed: the header is the same, the coinbase's commitment
    // no longer matches. This is reported before the bad signature.
    let mut w = block.clone();
    luminex_ledger::testkit::signature_bytes_mut(&mut w.txs[2].witnesses[0])[0] ^= 1;
    assert_eq!(
        chain.spec.merkle_root(&w.txs),
        block.header.pow().merkle_root
    );
    let e = check_block(&w, &chain.spec).unwrap_err();
    assert_eq!(e, BlockError::BadWitnessCommitment);
    assert!(e.is_mutation());

    // Transactions swapped: not the header's list.
    let mut swapped = block.clone();
    swapped.txs.swap(1, 2);
    let e = check_block(&swapped, &chain.spec).unwrap_err();
    assert_eq!(e, BlockError::BadMerkleRoot);
    assert!(e.is_mutation());

    // A coinbase without a commitment, under a header that commits to it:
    // the block is invalid, whoever sends it.
    let mut bare = block.clone();
    bare.txs[0].version = 1;
    bare.txs[0].data.clear();
    bare.header.pow_mut().merkle_root = chain.spec.merkle_root(&bare.txs);
    let e = check_block(&bare, &chain.spec).unwrap_err();
    assert_eq!(e, BlockError::NoWitnessCommitment);
    assert!(!e.is_mutation());
}

#[test]
fn the_coinbase_extra_bytes_are_bounded() {
    let spec = ChainSpec::preset("qbtc").unwrap();
    assert!(spec.coinbase(1, vec![], &[7; 48], &[]).is_ok());
    let e = spec.coinbase(1, vec![], &[7; 49], &[]).unwrap_err();
    assert_eq!((e.len, e.max), (49, 48));
    let cb = spec.coinbase(1, vec![], b"tag", &[]).unwrap();
    assert_eq!(&cb.data[32..], b"tag");
}

#[test]
fn known_ids_spare_the_hashing_but_not_the_blocks_own_checks() {
    let (chain, txs) = qbtc_with_two_transfers();
    let fees = chain.fees_of(&txs);
    let block = chain.build_block(txs, fees);
    let known = |tx: &Transaction| KnownTx {
        txid: tx.txid(),
        wtxid: tx.wtxid(),
        size: tx.encoded_len(),
    };
    let ids = check_block(&block, &chain.spec).unwrap();
    // The mempool's ids of both transfers: the same result.
    let both = [None, Some(known(&block.txs[1])), Some(known(&block.txs[2]))];
    assert_eq!(check_block_known(&block, &chain.spec, &both).unwrap(), ids);
    // Ids offered for the coinbase are never taken.
    let mut bogus = both;
    bogus[0] = Some(KnownTx {
        txid: Hash([1; 32]),
        wtxid: Hash([2; 32]),
        size: 1,
    });
    assert_eq!(check_block_known(&block, &chain.spec, &bogus).unwrap(), ids);
    // Ids that are not the block's fail its commitments, as the
    // transactions themselves would.
    let mut wrong = both;
    wrong[2] = Some(KnownTx {
        wtxid: Hash([3; 32]),
        ..known(&block.txs[2])
    });
    let e = check_block_known(&block, &chain.spec, &wrong).unwrap_err();
    assert!(e.is_mutation(), "{e}");
    let mut wrong = both;
    wrong[1] = Some(known(&block.txs[2]));
    assert!(check_block_known(&block, &chain.spec, &wrong).is_err());
}
