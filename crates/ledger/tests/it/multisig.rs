//! Multisig locks: m-of-n spends over post-quantum keys committed as a
//! Merkle root, and each way a multisig witness can be wrong.

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, sign_all, transfer, TestChain, TestMultisig};
use luminex_ledger::{check_transaction, Coin, MultisigError, TxError};
use luminex_primitives::multisig::key_set_path;
use luminex_primitives::{
    Amount, Decode, Encode, Lock, OutPoint, SchemeId, Transaction, TxOut, Witness,
};

use crate::tx::validate;

const ML65: SchemeId = SchemeId::MlDsa65;

/// A dev chain where `ms`'s lock owns one confirmed coin of 0.5 coins.
fn funded(ms: &TestMultisig) -> (TestChain, (OutPoint, Coin)) {
    let mut chain = TestChain::dev();
    let key = chain.keys[0].clone();
    let mut coins = chain.coins_of(&lock_of(&key));
    coins.sort_by_key(|(_, c)| std::cmp::Reverse(c.output.amount));
    let fund = transfer(
        &chain.spec,
        &key,
        &coins[..1],
        vec![TxOut {
            amount: Amount::from_base(50_000_000).unwrap(),
            lock: ms.lock(),
        }],
    );
    chain.mine(vec![fund]).unwrap();
    let coin = chain.coins_of(&ms.lock())[0];
    (chain, coin)
}

fn multisig_error(r: Result<Amount, TxError>) -> MultisigError {
    match r {
        Err(TxError::Multisig { input: 0, error }) => error,
        other => panic!("expected a multisig error, got {other:?}"),
    }
}

/// Re-signs input 0 of `tx` with `signers`, paying a fee that covers any
/// number of signers.
fn resign(
    ms: &TestMultisig,
    chain: &TestChain,
    tx: &mut Transaction,
    coin: &TxOut,
    signers: &[usize],
) {
    tx.outputs[0].amount = Amount::from_base(40_000_000).unwrap();
    let msg = tx
        .signature_message(&chain.spec.genesis_hash(), &[*coin])
        .unwrap();
    tx.witnesses = vec![ms.witness(signers, &msg)];
}

#[test]
fn two_of_three_spends_and_confirms() {
    let ms = TestMultisig::new(2, &[ML65; 3], 7);
    let (mut chain, coin) = funded(&ms);
    let to = lock_of(&SigningKey::from_seed(ML65, &[0x55; 32]));
    for signers in [[0, 1], [0, 2], [1, 2]] {
        let tx = ms.spend(&chain.spec, &coin, to, &signers);
        validate(&chain, &tx).unwrap();
    }
    let tx = ms.spend(&chain.spec, &coin, to, &[0, 2]);
    chain.mine(vec![tx.clone()]).unwrap();
    assert!(chain.coins_of(&ms.lock()).is_empty());
    assert_eq!(chain.coins_of(&to).len(), 1);
    // The witness round-trips through the codec.
    assert_eq!(Transaction::decode_all(&tx.encode()).unwrap(), tx);
}

#[test]
fn seven_of_ten_and_mixed_schemes_spend() {
    let ms = TestMultisig::new(7, &[ML65; 10], 8);
    let (chain, coin) = funded(&ms);
    let to = lock_of(&chain.keys[1]);
    validate(
        &chain,
        &ms.spend(&chain.spec, &coin, to, &[0, 1, 3, 4, 6, 8, 9]),
    )
    .unwrap();

    let mixed = TestMultisig::new(
        2,
        &[SchemeId::MlDsa44, SchemeId::MlDsa65, SchemeId::MlDsa87],
        9,
    );
    let (chain, coin) = funded(&mixed);
    validate(&chain, &mixed.spend(&chain.spec, &coin, to, &[0, 2])).unwrap();
    // A chain that does not allow one of the signers' schemes refuses it.
    let mut spec = chain.spec.clone();
    spec.allowed_schemes = vec![SchemeId::MlDsa44, SchemeId::MlDsa65];
    assert_eq!(
        check_transaction(&mixed.spend(&chain.spec, &coin, to, &[0, 2]), &spec),
        Err(TxError::SchemeNotAllowed(SchemeId::MlDsa87))
    );
}

#[test]
fn a_multisig_spend_counts_one_verification_per_signer() {
    let ms = TestMultisig::new(7, &[ML65; 10], 8);
    let (chain, coin) = funded(&ms);
    let to = lock_of(&chain.keys[1]);
    let tx = ms.spend(&chain.spec, &coin, to, &[0, 1, 3, 4, 6, 8, 9]);
    assert_eq!((tx.witnesses.len(), tx.signature_count()), (1, 7));
    let fees = chain.fees_of(std::slice::from_ref(&tx));
    let block = chain.build_block(vec![tx], fees);
    let connected = luminex_ledger::connect_block(
        &block,
        &chain.utxos,
        &chain.context(),
        &chain.spec,
        &luminex_ledger::SigCache::new(1),
    )
    .unwrap();
    assert_eq!(connected.verified_signatures, 7);
}

#[test]
fn any_byte_change_invalidates_a_multisig_spend() {
    let ms = TestMultisig::new(2, &[SchemeId::MlDsa44; 3], 10);
    let (chain, coin) = funded(&ms);
    let tx = ms.spend(&chain.spec, &coin, lock_of(&chain.keys[1]), &[0, 1]);
    validate(&chain, &tx).unwrap();
    let bytes = tx.encode();
    // Every byte: body, signer indexes, keys, paths and signatures.
    for i in 0..bytes.len() {
        let mut b = bytes.clone();
        b[i] ^= 0x01;
        if let Ok(t) = Transaction::decode_all(&b) {
            assert!(
                validate(&chain, &t).is_err(),
                "byte {i} changed and still valid"
            );
        }
    }
}

#[test]
fn signer_count_and_order_errors() {
    let ms = TestMultisig::new(2, &[ML65; 3], 11);
    let (chain, coin) = funded(&ms);
    let to = lock_of(&chain.keys[1]);
    let base = ms.spend(&chain.spec, &coin, to, &[0, 1]);
    let mut tx = base.clone();
    resign(&ms, &chain, &mut tx, &coin.1.output, &[1]);
    assert_eq!(
        multisig_error(validate(&chain, &tx)),
        MultisigError::TooFewSignatures {
            required: 2,
            found: 1
        }
    );
    assert_eq!(
        validate(&chain, &tx).unwrap_err().code(),
        "multisig-too-few-signatures"
    );
    let mut tx = base.clone();
    resign(&ms, &chain, &mut tx, &coin.1.output, &[]);
    assert!(matches!(
        multisig_error(validate(&chain, &tx)),
        MultisigError::TooFewSignatures { found: 0, .. }
    ));
    let mut tx = base.clone();
    resign(&ms, &chain, &mut tx, &coin.1.output, &[0, 1, 2]);
    assert!(matches!(
        multisig_error(validate(&chain, &tx)),
        MultisigError::TooManySignatures { found: 3, .. }
    ));
    let mut tx = base.clone();
    resign(&ms, &chain, &mut tx, &coin.1.output, &[1, 1]);
    assert_eq!(
        multisig_error(validate(&chain, &tx)),
        MultisigError::DuplicateSigner { index: 1 }
    );
    let mut tx = base.clone();
    resign(&ms, &chain, &mut tx, &coin.1.output, &[2, 0]);
    assert_eq!(
        multisig_error(validate(&chain, &tx)),
        MultisigError::SignerOrder
    );
}

#[test]
fn key_and_proof_errors() {
    // Four keys: every position's path has two siblings.
    let ms = TestMultisig::new(2, &[ML65; 4], 12);
    let (chain, coin) = funded(&ms);
    let to = lock_of(&chain.keys[1]);
    let good = ms.spend(&chain.spec, &coin, to, &[0, 1]);
    let msg = good
        .signature_message(&chain.spec.genesis_hash(), &[coin.1.output])
        .unwrap();
    let edit = |f: &mut dyn FnMut(&mut luminex_primitives::MultisigWitness)| {
        let mut t = good.clone();
        let Witness::Multisig(m) = &mut t.witnesses[0] else {
            unreachable!()
        };
        f(m);
        t
    };

    // A key outside the set, signing properly, at a position of the set.
    let outsider = SigningKey::from_seed(ML65, &[0xee; 32]);
    let t = edit(&mut |m| {
        m.signers[1].public_key = outsider.public_key().clone();
        m.signers[1].signature = outsider.sign(&msg);
    });
    assert_eq!(
        multisig_error(validate(&chain, &t)),
        MultisigError::KeyNotInSet { index: 1 }
    );
    assert_eq!(
        validate(&chain, &t).unwrap_err().code(),
        "multisig-key-not-in-set"
    );
    // A member's key claiming another member's position.
    let t = edit(&mut |m| m.signers[1].index = 3);
    assert_eq!(
        multisig_error(validate(&chain, &t)),
        MultisigError::KeyNotInSet { index: 3 }
    );
    // Malformed paths: a sibling short, a sibling too many, a position
    // outside the set.
    let t = edit(&mut |m| {
        m.signers[0].path.pop();
    });
    assert_eq!(
        multisig_error(validate(&chain, &t)),
        MultisigError::BadProof { index: 0 }
    );
    let t = edit(&mut |m| {
        let first = m.signers[0].path[0];
        m.signers[0].path.push(first);
    });
    assert_eq!(
        multisig_error(validate(&chain, &t)),
        MultisigError::BadProof { index: 0 }
    );
    let t = edit(&mut |m| m.signers[1].index = 4);
    assert_eq!(
        multisig_error(validate(&chain, &t)),
        MultisigError::BadProof { index: 4 }
    );
    // A wrong sibling: the key is not shown to be in the set.
    let t = edit(&mut |m| m.signers[0].path[0].0[0] ^= 1);
    assert_eq!(
        multisig_error(validate(&chain, &t)),
        MultisigError::KeyNotInSet { index: 0 }
    );
    // The right key and path with another key's signature.
    let t = edit(&mut |m| m.signers[1].signature = ms.keys[2].sign(&msg));
    assert!(matches!(
        multisig_error(validate(&chain, &t)),
        MultisigError::BadSignature { index: 1, .. }
    ));
    // A signature over another message (an output redirected after signing).
    let mut t = good.clone();
    t.outputs[0].lock = lock_of(&chain.keys[2]);
    assert!(matches!(
        multisig_error(validate(&chain, &t)),
        MultisigError::BadSignature { index: 0, .. }
    ));
    // A signature of the wrong size is caught before any verification.
    let t = edit(&mut |m| {
        m.signers[0].signature.bytes.pop();
    });
    assert!(matches!(
        check_transaction(&t, &chain.spec),
        Err(TxError::Multisig {
            input: 0,
            error: MultisigError::BadSignature { index: 0, .. }
        })
    ));
    // The paths are the tree's.
    let Witness::Multisig(m) = &good.witnesses[0] else {
        unreachable!()
    };
    assert_eq!(
        m.signers[1].path,
        key_set_path(&ms.key_hashes(), 1).unwrap()
    );
}

#[test]
fn witness_kind_must_match_lock_kind() {
    let ms = TestMultisig::new(1, &[ML65; 2], 13);
    let (chain, coin) = funded(&ms);
    let to = lock_of(&chain.keys[1]);
    // A single-key witness of a member on the multisig coin.
    let mut t = ms.spend(&chain.spec, &coin, to, &[0]);
    sign_all(&chain.spec, &mut t, &ms.keys[0], &[coin.1.output]);
    assert_eq!(validate(&chain, &t), Err(TxError::WrongKey(0)));
    // A multisig witness on a single-key coin.
    let key = chain.keys[0].clone();
    let mut mine = chain.coins_of(&lock_of(&key));
    mine.retain(|(_, c)| !c.is_coinbase);
    let mine = mine[0];
    let mut t = transfer(
        &chain.spec,
        &key,
        &[mine],
        vec![TxOut {
            amount: Amount::from_base(1_000_000).unwrap(),
            lock: to,
        }],
    );
    let last = t.outputs.len() - 1;
    t.outputs[last].amount = t.outputs[last]
        .amount
        .checked_sub(Amount::from_base(10_000).unwrap())
        .unwrap();
    let msg = t
        .signature_message(&chain.spec.genesis_hash(), &[mine.1.output])
        .unwrap();
    t.witnesses = vec![ms.witness(&[0], &msg)];
    assert_eq!(validate(&chain, &t), Err(TxError::WrongKey(0)));
}

#[test]
fn outputs_with_a_bad_threshold_are_refused() {
    let ms = TestMultisig::new(2, &[ML65; 3], 14);
    let (chain, coin) = funded(&ms);
    for (threshold, keys) in [(0, 3), (4, 3), (1, 0)] {
        let mut t = ms.spend(&chain.spec, &coin, lock_of(&chain.keys[1]), &[0, 1]);
        let Lock::Multisig { root, .. } = ms.lock() else {
            unreachable!()
        };
        t.outputs[0].lock = Lock::Multisig {
            threshold,
            keys,
            root,
        };
        assert_eq!(
            check_transaction(&t, &chain.spec),
            Err(TxError::BadThreshold(0))
        );
        assert_eq!(
            check_transaction(&t, &chain.spec).unwrap_err().code(),
            "bad-multisig-threshold"
        );
        // And such a lock does not even decode.
        assert!(Transaction::decode_all(&t.encode()).is_err());
    }
}
