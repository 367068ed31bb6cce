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
        witnesses: vec![Witness::Key {
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

/// A 2-of-3 multisig lock over the key hashes `11…11`, `22…22`, `33…33`
/// and a transaction spending it with keys 0 and 2. The key-set root and
/// the paths were computed independently with Python's hashlib.
#[test]
fn multisig_vector() {
    let set: Vec<Hash> = [0x11u8, 0x22, 0x33]
        .iter()
        .map(|b| Hash([*b; 32]))
        .collect();
    let root = multisig::key_set_root(&set);
    assert_eq!(
        root.to_string(),
        "ffb7d9898dcee28017645f965780a1938c7c9f103877987ea7d4068fe61fc0b3"
    );
    let hex32 = |s: &str| Hash::from_slice(&hex::decode(s).unwrap()).unwrap();
    assert_eq!(
        multisig::key_set_path(&set, 0).unwrap(),
        vec![
            hex32("f085c4b3fa6f1cc004bb9db01c30cc9bd1cf551aae56a347569cbaff31bff9f9"),
            hex32("4a41b66ee76ee1beb6116ccef5e9f5d6ac378af472c4d91ca9bd6fc5cf909be4"),
        ]
    );
    assert_eq!(
        multisig::key_set_path(&set, 2).unwrap(),
        vec![hex32(
            "be2d8c9a1df2317207ff70ef3c6355e3daa911828407636b02ca2d02ac072957"
        )]
    );
    let lock = multisig::multisig_lock(2, &set).unwrap();
    assert_eq!(hex::encode(lock.encode()), LOCK_HEX);
    assert_eq!(
        Address {
            hrp: "lmxdev".into(),
            lock
        }
        .to_string(),
        MULTISIG_ADDRESS
    );
    let signer = |index: u8, key: u8, sig: u8| MultisigSigner {
        index,
        public_key: PublicKey {
            scheme: SchemeId::MlDsa65,
            bytes: vec![key],
        },
        path: multisig::key_set_path(&set, index.into()).unwrap(),
        signature: Signature {
            scheme: SchemeId::MlDsa65,
            bytes: vec![sig],
        },
    };
    let tx = Transaction {
        version: 1,
        chain_id: 1001,
        kind: TxKind::Transfer,
        inputs: vec![OutPoint {
            txid: Hash([0x44; 32]),
            vout: 0,
        }],
        outputs: vec![TxOut {
            amount: Amount::from_base(150_000_000).unwrap(),
            lock,
        }],
        expiry_height: 0,
        witnesses: vec![Witness::Multisig(MultisigWitness {
            signers: vec![signer(0, 0xaa, 0xbb), signer(2, 0xcc, 0xdd)],
        })],
        data: Vec::new(),
    };
    assert_eq!(hex::encode(tx.encode()), MULTISIG_TX_HEX);
    assert_eq!(Transaction::decode_all(&tx.encode()).unwrap(), tx);
    assert_eq!(tx.txid().to_string(), MULTISIG_TXID);
    assert_eq!(tx.wtxid().to_string(), MULTISIG_WTXID);
}

const LOCK_HEX: &str = "010203b3c01fe68f06d4a77e987738109f7c8c93a18057965f641780e2ce8d89d9b7ff";
const MULTISIG_ADDRESS: &str =
    "lmxdev1qqpq8v7qrlng7pk55alfsaeczz0heryn5xq909jlvstcpckw3kyandll9twpxa";
const MULTISIG_TX_HEX: &str = "0100e903000000014444444444444444444444444444444444444444444444444444444444444444000000000180d1f00800000000010203b3c01fe68f06d4a77e987738109f7c8c93a18057965f641780e2ce8d89d9b7ff0000000000000000010002000201aa02f085c4b3fa6f1cc004bb9db01c30cc9bd1cf551aae56a347569cbaff31bff9f94a41b66ee76ee1beb6116ccef5e9f5d6ac378af472c4d91ca9bd6fc5cf909be40201bb020201cc01be2d8c9a1df2317207ff70ef3c6355e3daa911828407636b02ca2d02ac0729570201dd";
const MULTISIG_TXID: &str = "d51dcef5daa4a389485918a15475a8f674ed77e5a6b0840b4b84963265f2f8a8";
const MULTISIG_WTXID: &str = "148043bcd3adb3cc3a09eef2735be4acd771681d284386872c2fcdbddec3f2d9";

/// An authority change (tag 2, ADR 0025): effective height, key, power,
/// no inputs or outputs, one authority's witness.
#[test]
fn authority_change_vector() {
    let tx = Transaction {
        version: 1,
        chain_id: 1301,
        kind: TxKind::Authority(AuthorityChange {
            effective_height: 500,
            public_key: PublicKey {
                scheme: SchemeId::MlDsa65,
                bytes: vec![0xdd, 0xee],
            },
            power: 1,
        }),
        inputs: vec![],
        outputs: vec![],
        expiry_height: 497,
        // The sample transfer's witness: one authority's key and signature.
        witnesses: sample_tx().witnesses,
        data: Vec::new(),
    };
    const HEX: &str = "01001505000002f4010000000000000202ddee01000000000000000000f101000000000000010202aabb0201cc";
    assert_eq!(hex::encode(tx.encode()), HEX);
    assert_eq!(
        Transaction::decode_all(&hex::decode(HEX).unwrap()).unwrap(),
        tx
    );
    // The change is in the signed message: another power, another message.
    let mut other = tx.clone();
    if let TxKind::Authority(c) = &mut other.kind {
        c.power = 2;
    }
    assert_ne!(
        tx.signature_message(&Hash::ZERO, &[]),
        other.signature_message(&Hash::ZERO, &[])
    );
    assert!(tx.signature_message(&Hash::ZERO, &[]).is_some());
    // Tag 10 is not a kind.
    let mut bad = hex::decode(HEX).unwrap();
    bad[6] = 10;
    assert!(Transaction::decode_all(&bad).is_err());
}

fn key_lock(b: u8) -> Lock {
    Lock::Key {
        scheme: SchemeId::MlDsa65,
        key_hash: Hash([b; 32]),
    }
}

/// The staking kinds (tags 3–9, ADR 0031): each payload starts with its
/// version byte 1.
fn staking_kinds() -> Vec<(TxKind, &'static str)> {
    let amount = Amount::from_base(5_000).unwrap();
    let key = PublicKey {
        scheme: SchemeId::MlDsa65,
        bytes: vec![0xdd, 0xee],
    };
    let unbond = Unbond {
        validator: Hash([0x44; 32]),
        amount,
        payout: key_lock(0x55),
    };
    vec![
        (
            TxKind::Stake(Stake {
                validator: key.clone(),
                amount,
            }),
            "03010202ddee8813000000000000",
        ),
        (
            TxKind::Delegate(Delegation {
                validator: Hash([0x44; 32]),
                amount,
            }),
            "040144444444444444444444444444444444444444444444444444444444444444448813000000000000",
        ),
        (
            TxKind::Undelegate(unbond),
            "05014444444444444444444444444444444444444444444444444444444444444444881300000000000000025555555555555555555555555555555555555555555555555555555555555555",
        ),
        (
            TxKind::Unstake(unbond),
            "06014444444444444444444444444444444444444444444444444444444444444444881300000000000000025555555555555555555555555555555555555555555555555555555555555555",
        ),
        (
            TxKind::RegisterNode(NodeRegistration {
                node: key,
                payout: key_lock(0x66),
            }),
            "07010202ddee00026666666666666666666666666666666666666666666666666666666666666666",
        ),
        (
            TxKind::Unjail(Unjail {
                validator: Hash([0x44; 32]),
            }),
            "08014444444444444444444444444444444444444444444444444444444444444444",
        ),
        (
            TxKind::CreateAccount(AccountCreation {
                lock: key_lock(0x77),
            }),
            "090100027777777777777777777777777777777777777777777777777777777777777777",
        ),
        (
            TxKind::Heartbeat(Heartbeat {
                node: Hash([0x88; 32]),
                epoch: 0x0102,
            }),
            "0b0188888888888888888888888888888888888888888888888888888888888888880201000000000000",
        ),
    ]
}

#[test]
fn staking_kind_vectors() {
    for (kind, hex_) in staking_kinds() {
        assert_eq!(hex::encode(kind.encode()), hex_, "{kind:?}");
        let bytes = hex::decode(hex_).unwrap();
        assert_eq!(TxKind::decode_all(&bytes).unwrap(), kind);
        // An unknown payload version is a typed error, not a guess.
        let mut bad = bytes.clone();
        bad[1] = 2;
        assert_eq!(
            TxKind::decode_all(&bad),
            Err(DecodeError::UnknownTag {
                field: "staking payload version",
                tag: 2
            })
        );
        // Every strict prefix is truncated.
        for n in 0..bytes.len() {
            assert!(
                matches!(
                    TxKind::decode_all(&bytes[..n]),
                    Err(DecodeError::UnexpectedEnd(_))
                ),
                "{kind:?} cut at {n}"
            );
        }
        assert!(matches!(
            TxKind::decode_all(&[bytes.clone(), vec![0]].concat()),
            Err(DecodeError::TrailingBytes(1))
        ));
    }
    assert_eq!(
        TxKind::decode_all(&[12]),
        Err(DecodeError::UnknownTag {
            field: "kind",
            tag: 12
        })
    );
}

/// The `evidence` kind (tag 10, ADR 0039): tag, payload version 1, the two
/// signed votes, the reporter's lock; other versions and truncations are
/// refused.
#[test]
fn evidence_kind_vector() {
    let vote = |b: u8| SignedVote {
        vote: Vote {
            kind: VoteKind::Prevote,
            height: 7,
            round: 1,
            block: Some(Hash([b; 32])),
            validator: Hash([9; 32]),
        },
        signature: Signature {
            scheme: SchemeId::MlDsa44,
            bytes: vec![b; 4],
        },
    };
    let report = EvidenceReport {
        evidence: DuplicateVoteEvidence {
            first: vote(1),
            second: vote(2),
        },
        reporter: Lock::Key {
            scheme: SchemeId::MlDsa44,
            key_hash: Hash([3; 32]),
        },
    };
    let kind = TxKind::Evidence(Box::new(report.clone()));
    let bytes = kind.encode();
    assert_eq!(bytes[..2], [10, 1]);
    assert_eq!(
        bytes[2..],
        [report.evidence.encode(), report.reporter.encode()].concat()[..]
    );
    assert_eq!(TxKind::decode_all(&bytes).unwrap(), kind);
    assert_eq!(kind.name(), "evidence");
    assert!(!kind.is_staking());
    assert_eq!(kind.evidence(), Some(&report));
    let mut v2 = bytes.clone();
    v2[1] = 2;
    assert!(matches!(
        TxKind::decode_all(&v2),
        Err(DecodeError::UnknownTag {
            field: "evidence payload version",
            tag: 2
        })
    ));
    for n in 0..bytes.len() {
        assert!(TxKind::decode_all(&bytes[..n]).is_err(), "cut at {n}");
    }
}

/// A whole `stake` transaction: one input, a change output, the input's
/// witness and then the validator's.
#[test]
fn stake_transaction_vector() {
    let mut tx = sample_tx();
    tx.kind = staking_kinds()[0].0.clone();
    let w = tx.witnesses[0].clone();
    tx.witnesses.push(w);
    const HEX: &str = "0100e903000003010202ddee8813000000000000011111111111111111111111111111111111111111111111111111111111111111010000000180d1f0080000000000022222222222222222222222222222222222222222222222222222222222222222f401000000000000020202aabb0201cc0202aabb0201cc";
    assert_eq!(hex::encode(tx.encode()), HEX);
    assert_eq!(
        Transaction::decode_all(&hex::decode(HEX).unwrap()).unwrap(),
        tx
    );
    assert_eq!(
        tx.txid().to_string(),
        "4fd3fbbbc285144f2b7b678577b9bf72e96b06d0e7f8f7e35ab078ac4665e67a"
    );
    assert!(tx.kind.takes_actor_witness());
    assert_eq!(tx.kind.bonded(), Amount::from_base(5_000).unwrap());
    // The payload is in the signed message: another amount, another message.
    let spent = [sample_tx().outputs[0]];
    let mut other = tx.clone();
    if let TxKind::Stake(s) = &mut other.kind {
        s.amount = Amount::from_base(5_001).unwrap();
    }
    assert_ne!(
        tx.signature_message(&Hash::ZERO, &spent),
        other.signature_message(&Hash::ZERO, &spent)
    );
}
