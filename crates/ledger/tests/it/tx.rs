//! Transaction validation: signatures, tampering, replay and the distinct
//! rejection kinds.

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, sign_all, transfer, TestChain};
use luminex_ledger::{
    check_transaction, check_tx_inputs, verify_signatures, ChainSpec, ErrorClass, TxError,
};
use luminex_primitives::{Amount, Decode, Encode, SchemeId, Transaction, TxOut};

/// Full tier 1 + 2 validation of one transaction at the next height.
pub fn validate(chain: &TestChain, tx: &Transaction) -> Result<Amount, TxError> {
    let size = check_transaction(tx, &chain.spec)?;
    let check = check_tx_inputs(tx, size, &chain.utxos, chain.height() + 1, &chain.spec)?;
    verify_signatures(tx, &chain.spec.genesis_hash(), &check.spent)?;
    Ok(check.fee)
}

fn coin(amount: u64, key: &SigningKey) -> TxOut {
    TxOut {
        amount: Amount::from_base(amount).unwrap(),
        lock: lock_of(key),
    }
}

/// A chain where a key of `scheme` owns one coin, and a payment from it.
fn funded(scheme: SchemeId) -> (TestChain, SigningKey, Transaction) {
    let mut chain = TestChain::dev();
    let key = SigningKey::from_seed(scheme, &[scheme.tag(); 32]);
    chain.fan_out(0, std::slice::from_ref(&key), 1, 50_000_000);
    let coins = chain.coins_of(&lock_of(&key));
    let to = chain.keys[1].clone();
    let tx = transfer(&chain.spec, &key, &coins, vec![coin(10_000_000, &to)]);
    (chain, key, tx)
}

#[test]
fn every_scheme_verifies_and_any_byte_change_invalidates() {
    for scheme in SchemeId::ALL {
        let (chain, _, tx) = funded(scheme);
        validate(&chain, &tx).unwrap();
        let bytes = tx.encode();
        for i in 0..bytes.len() {
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            if let Ok(t) = Transaction::decode_all(&b) {
                assert!(
                    validate(&chain, &t).is_err(),
                    "{scheme}: byte {i} changed and still valid"
                );
            }
        }
    }
}

#[test]
fn miner_edits_and_cross_chain_replay_are_rejected() {
    let (chain, _, tx) = funded(SchemeId::MlDsa65);
    let bad_sig = |r: Result<Amount, TxError>| matches!(r, Err(TxError::BadSignature { .. }));
    // Redirect an output.
    let mut t = tx.clone();
    t.outputs[0].lock = lock_of(&chain.keys[3]);
    assert!(bad_sig(validate(&chain, &t)));
    // Change an amount.
    let mut t = tx.clone();
    t.outputs[0].amount = Amount::from_base(9_000_000).unwrap();
    assert!(bad_sig(validate(&chain, &t)));
    // Drop the change output (raising the fee).
    let mut t = tx.clone();
    t.outputs.pop();
    assert!(bad_sig(validate(&chain, &t)));
    // Change the expiry.
    let mut t = tx.clone();
    t.expiry_height = 1_000;
    assert!(bad_sig(validate(&chain, &t)));
    // Replay on a chain with another id: refused outright, and the signature
    // would not verify there either.
    let mut other = chain.spec.clone();
    other.chain_id += 1;
    assert_eq!(
        check_transaction(&tx, &other),
        Err(TxError::WrongChain {
            expected: other.chain_id,
            found: chain.spec.chain_id
        })
    );
    let mut t = tx.clone();
    t.chain_id = other.chain_id;
    let size = check_transaction(&t, &other).unwrap();
    let check = check_tx_inputs(&t, size, &chain.utxos, chain.height() + 1, &other).unwrap();
    assert!(matches!(
        verify_signatures(&t, &other.genesis_hash(), &check.spent),
        Err(TxError::BadSignature { .. })
    ));
}

#[test]
fn distinct_error_kinds() {
    let (mut chain, key, tx) = funded(SchemeId::MlDsa65);
    let coins = chain.coins_of(&lock_of(&key));
    let to = chain.keys[1].clone();
    // Overspend.
    let mut t = Transaction {
        outputs: vec![coin(60_000_000, &to)],
        ..tx.clone()
    };
    sign_all(&chain.spec, &mut t, &key, &[coins[0].1.output]);
    assert!(matches!(
        validate(&chain, &t),
        Err(TxError::Overspend { .. })
    ));
    assert_eq!(
        validate(&chain, &t).unwrap_err().code(),
        "insufficient-funds"
    );
    // Fee below the minimum rate.
    let mut t = Transaction {
        outputs: vec![coin(50_000_000 - 10, &to)],
        ..tx.clone()
    };
    sign_all(&chain.spec, &mut t, &key, &[coins[0].1.output]);
    let e = validate(&chain, &t).unwrap_err();
    assert!(matches!(e, TxError::FeeTooLow { .. }));
    assert_eq!(e.class(), ErrorClass::Policy);
    // Expired.
    let mut t = Transaction {
        expiry_height: chain.height(),
        ..tx.clone()
    };
    sign_all(&chain.spec, &mut t, &key, &[coins[0].1.output]);
    assert!(matches!(validate(&chain, &t), Err(TxError::Expired { .. })));
    // Unknown input.
    let mut t = tx.clone();
    t.inputs[0].vout = 999;
    let e = validate(&chain, &t).unwrap_err();
    assert!(matches!(e, TxError::MissingInput(_)));
    assert_eq!(e.class(), ErrorClass::MissingInputs);
    // Someone else's key.
    let mut t = tx.clone();
    sign_all(&chain.spec, &mut t, &chain.keys[2], &[coins[0].1.output]);
    assert_eq!(validate(&chain, &t), Err(TxError::WrongKey(0)));
    // Wrong scheme: a chain that only allows ML-DSA-87.
    let mut spec87 = chain.spec.clone();
    spec87.allowed_schemes = vec![SchemeId::MlDsa87];
    assert_eq!(
        check_transaction(&tx, &spec87),
        Err(TxError::LockSchemeNotAllowed(0))
    );
    let mut t = tx.clone();
    for o in &mut t.outputs {
        let luminex_primitives::Lock::Key { key_hash, .. } = o.lock else {
            unreachable!("the payment pays keys")
        };
        o.lock = luminex_primitives::Lock::Key {
            scheme: SchemeId::MlDsa87,
            key_hash,
        };
    }
    assert_eq!(
        check_transaction(&t, &spec87),
        Err(TxError::SchemeNotAllowed(SchemeId::MlDsa65))
    );
    // Structural errors.
    let mut t = tx.clone();
    t.witnesses.pop();
    assert!(matches!(
        check_transaction(&t, &chain.spec),
        Err(TxError::WitnessCount { .. })
    ));
    let mut t = tx.clone();
    t.inputs.push(t.inputs[0]);
    t.witnesses.push(t.witnesses[0].clone());
    assert!(matches!(
        check_transaction(&t, &chain.spec),
        Err(TxError::DuplicateInput(..))
    ));
    let mut t = tx.clone();
    t.outputs[0].amount = Amount::ZERO;
    assert_eq!(
        check_transaction(&t, &chain.spec),
        Err(TxError::ZeroOutput(0))
    );
    let mut small = chain.spec.clone();
    small.max_tx_bytes = 1000;
    assert!(matches!(
        check_transaction(&tx, &small),
        Err(TxError::TooLarge { .. })
    ));
    // Immature coinbase: block 1's coinbase, spent at height 2.
    let cb = chain.blocks[1].txs[0].clone();
    let cb_coin = chain
        .utxos
        .iter()
        .find(|(op, _)| op.txid == cb.txid())
        .map(|(o, c)| (*o, *c))
        .unwrap();
    let t = transfer(
        &chain.spec,
        &chain.keys[0],
        &[cb_coin],
        vec![coin(1_000_000, &to)],
    );
    let e = validate(&chain, &t).unwrap_err();
    assert!(matches!(e, TxError::ImmatureCoinbase { .. }));
    assert_eq!(e.class(), ErrorClass::Premature);
    // ... and valid once mature.
    for _ in 0..chain.spec.coinbase_maturity {
        chain.mine(vec![]).unwrap();
    }
    validate(&chain, &t).unwrap();
}

#[test]
fn wrong_chain_preset_rejected_by_id() {
    let spec = ChainSpec::preset("dev").unwrap();
    let (_, _, mut tx) = funded(SchemeId::MlDsa44);
    tx.chain_id = 4242;
    assert!(matches!(
        check_transaction(&tx, &spec),
        Err(TxError::WrongChain { .. })
    ));
}

/// Version 2 carries 1..=80 bytes of data, committed to by the txid and the
/// signatures; version 1 carries none; no other version is valid.
#[test]
fn data_rides_in_version_two_only() {
    let (chain, key, tx) = funded(SchemeId::MlDsa65);
    let coins = chain.coins_of(&lock_of(&key));
    let mut v2 = tx.clone();
    v2.version = 2;
    v2.data = b"order 17".to_vec();
    v2.witnesses.clear();
    sign_all(&chain.spec, &mut v2, &key, &[coins[0].1.output]);
    assert!(validate(&chain, &v2).is_ok());
    assert_ne!(v2.txid(), tx.txid(), "the txid commits to the data");
    let back = Transaction::decode_all(&v2.encode()).unwrap();
    assert_eq!(back, v2);
    // Changing the data breaks the signature.
    let mut tampered = v2.clone();
    tampered.data[0] ^= 1;
    assert!(matches!(
        validate(&chain, &tampered),
        Err(TxError::BadSignature { .. })
    ));
    // Shapes that are not allowed.
    for (version, data) in [(1, vec![1u8]), (2, vec![]), (2, vec![0; 81]), (3, vec![1])] {
        let mut t = v2.clone();
        t.version = version;
        t.data = data;
        assert_eq!(
            check_transaction(&t, &chain.spec),
            Err(TxError::Version(version))
        );
    }
    // More than 80 bytes cannot even be decoded.
    let mut long = v2.clone();
    long.data = vec![0; 81];
    assert!(Transaction::decode_all(&long.encode()).is_err());
}

/// Signatures commit to the genesis hash: a copy of the `dev` spec with the
/// same chain id and the same genesis outputs (so the same genesis outpoints)
/// but another genesis time refuses a payment signed for `dev`.
#[test]
fn a_signature_for_one_genesis_is_refused_under_another() {
    let dev = TestChain::dev();
    let mut spec = dev.spec.clone();
    spec.genesis.time += 1;
    let copy = TestChain::new(spec);
    assert_eq!(copy.spec.chain_id, dev.spec.chain_id);
    assert_ne!(copy.spec.genesis_hash(), dev.spec.genesis_hash());
    let key = &dev.keys[0];
    let coins = dev.coins_of(&lock_of(key));
    assert_eq!(
        coins,
        copy.coins_of(&lock_of(key)),
        "same genesis outpoints"
    );
    let tx = transfer(
        &dev.spec,
        key,
        &coins[..1],
        vec![coin(1_000_000, &dev.keys[1])],
    );
    assert!(validate(&dev, &tx).is_ok());
    assert!(matches!(
        validate(&copy, &tx),
        Err(TxError::BadSignature { input: 0, .. })
    ));
}
