//! Pinned encodings. These bytes are the wire and disk format: if this test
//! fails, the format changed. Regenerating the constants is an explicit
//! approval of a new format (and `docs/encoding.md` must change with them).

use luminex_primitives::*;

pub fn sample_tx() -> Transaction {
    Transaction {
        version: 1,
        chain_id: 1001,
        kind: TxKind::Transfer,
        inputs: vec![OutPoint {
            txid: Hash([0x11; 32]),
            vout: 1,
        }],
        outputs: vec![TxOut {
            amount: Amount::from_base(150_000_000).unwrap(),
            lock: Lock::Key {
                scheme: SchemeId::MlDsa65,
                key_hash: Hash([0x22; 32]),
            },
        }],
        expiry_height: 500,
        witnesses: vec![Witness {
            public_key: PublicKey {
                scheme: SchemeId::MlDsa65,
                bytes: vec![0xaa, 0xbb],
            },
            signature: Signature {
                scheme: SchemeId::MlDsa65,
                bytes: vec![0xcc],
            },
        }],
        data: Vec::new(),
    }
}

const TX_HEX: &str = "0100e903000000011111111111111111111111111111111111111111111111111111111111111111010000000180d1f0080000000000022222222222222222222222222222222222222222222222222222222222222222f401000000000000010202aabb0201cc";

#[test]
fn transaction_vector() {
    let tx = sample_tx();
    assert_eq!(hex::encode(tx.encode()), TX_HEX);
    assert_eq!(
        Transaction::decode_all(&hex::decode(TX_HEX).unwrap()).unwrap(),
        tx
    );
    assert_eq!(
        tx.txid().to_string(),
        "9d33cff0f145cb9707272b7f8338674c8236e5a12009aacadb533e9407f8e48c"
    );
    assert_eq!(
        tx.wtxid().to_string(),
        "3034e5a7e65991198e6713efd3627901b05ffdad057eef955047211df6bf7774"
    );
    let spent = [TxOut {
        amount: Amount::from_base(200_000_000).unwrap(),
        lock: Lock::Key {
            scheme: SchemeId::MlDsa65,
            key_hash: Hash([0x33; 32]),
        },
    }];
    // Signed for the `dev` chain: its genesis hash is part of the message.
    let dev_genesis: Hash = "02fabde0fcf8678e2d394460f66f1ef6df61a89a84ca62225cd5da46f86da268"
        .parse()
        .unwrap();
    assert_eq!(
        tx.signature_message(&dev_genesis, &spent)
            .unwrap()
            .to_string(),
        "f01d56382bc0314ca714b7bc3bcb1ae51bac93781ba891e220a1add170149e0b"
    );
    // Another genesis, another message.
    assert_ne!(
        tx.signature_message(&Hash::ZERO, &spent),
        tx.signature_message(&dev_genesis, &spent)
    );
    let addr = Address {
        hrp: "lmxdev".into(),
        lock: tx.outputs[0].lock,
    };
    assert_eq!(
        addr.to_string(),
        "lmxdev1qg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyg3zyguas6y"
    );
}

#[test]
fn merkle_vector() {
    let leaves: Vec<Hash> = (1..=3u8).map(|i| Hash([i; 32])).collect();
    assert_eq!(
        merkle::root(&leaves).to_string(),
        "2f3cf41394748c9add54a5148f7332b3360c04b82c4abebb599b3a57c564017b"
    );
}

/// Bitcoin's tree (the `qbtc` header commitment, ADR 0015) over the same
/// three leaves: the third is paired with itself. Computed independently
/// with Python's hashlib.
#[test]
fn bitcoin_merkle_vector() {
    let leaves: Vec<Hash> = (1..=3u8).map(|i| Hash([i; 32])).collect();
    let r = commitment::bitcoin_root(&leaves);
    assert_eq!(
        r.root.to_string(),
        "acbd47d5022a6c5e954ad677df8ec221c893f871889826df53f0f1ad3f023e22"
    );
    assert!(!r.mutated);
    // A coinbase-only block's witness commitment: SHA-256d of 64 zero bytes.
    assert_eq!(
        commitment::witness_commitment(&[Hash([9; 32])]).to_string(),
        "f98c4e9736d8eb8bb46299798906695c755369a3df99a93ffdded1713f1cf6e2"
    );
}
