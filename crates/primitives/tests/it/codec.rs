use luminex_primitives::*;
use proptest::prelude::*;

fn hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

fn scheme() -> impl Strategy<Value = SchemeId> {
    prop::sample::select(SchemeId::ALL.to_vec())
}

fn lock() -> impl Strategy<Value = Lock> {
    prop_oneof![
        (scheme(), hash()).prop_map(|(scheme, key_hash)| Lock::Key { scheme, key_hash }),
        (1..=255u8, any::<u8>(), hash()).prop_map(|(keys, m, root)| Lock::Multisig {
            threshold: 1 + m % keys,
            keys,
            root,
        }),
    ]
}

fn key() -> impl Strategy<Value = PublicKey> {
    (scheme(), prop::collection::vec(any::<u8>(), 0..64))
        .prop_map(|(scheme, bytes)| PublicKey { scheme, bytes })
}

fn amount() -> impl Strategy<Value = Amount> {
    (0..=Amount::MAX.base()).prop_map(|a| Amount::from_base(a).unwrap())
}

fn unbond() -> impl Strategy<Value = Unbond> {
    (hash(), amount(), lock()).prop_map(|(validator, amount, payout)| Unbond {
        validator,
        amount,
        payout,
    })
}

fn staking_kind() -> impl Strategy<Value = TxKind> {
    prop_oneof![
        (key(), amount())
            .prop_map(|(validator, amount)| TxKind::Stake(Stake { validator, amount })),
        (hash(), amount())
            .prop_map(|(validator, amount)| TxKind::Delegate(Delegation { validator, amount })),
        unbond().prop_map(TxKind::Undelegate),
        unbond().prop_map(TxKind::Unstake),
        (key(), lock())
            .prop_map(|(node, payout)| TxKind::RegisterNode(NodeRegistration { node, payout })),
        hash().prop_map(|validator| TxKind::Unjail(Unjail { validator })),
        lock().prop_map(|lock| TxKind::CreateAccount(AccountCreation { lock })),
        (hash(), any::<u64>())
            .prop_map(|(node, epoch)| TxKind::Heartbeat(Heartbeat { node, epoch })),
    ]
}

fn tx() -> impl Strategy<Value = Transaction> {
    let input = (hash(), any::<u32>()).prop_map(|(txid, vout)| OutPoint { txid, vout });
    let output = (0..=Amount::MAX.base(), lock()).prop_map(|(a, lock)| TxOut {
        amount: Amount::from_base(a).unwrap(),
        lock,
    });
    let key_witness = (
        scheme(),
        prop::collection::vec(any::<u8>(), 0..64),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(scheme, pk, sig)| Witness::Key {
            public_key: PublicKey { scheme, bytes: pk },
            signature: Signature { scheme, bytes: sig },
        });
    let signer = (
        any::<u8>(),
        scheme(),
        prop::collection::vec(any::<u8>(), 0..64),
        prop::collection::vec(hash(), 0..=8),
        prop::collection::vec(any::<u8>(), 0..64),
    )
        .prop_map(|(index, scheme, pk, path, sig)| MultisigSigner {
            index,
            public_key: PublicKey { scheme, bytes: pk },
            path,
            signature: Signature { scheme, bytes: sig },
        });
    let multisig_witness = prop::collection::vec(signer, 0..4)
        .prop_map(|signers| Witness::Multisig(MultisigWitness { signers }));
    let witness = prop_oneof![key_witness, multisig_witness];
    let kind = prop_oneof![
        Just(TxKind::Transfer),
        any::<u64>().prop_map(|height| TxKind::Coinbase { height }),
        (
            any::<u64>(),
            scheme(),
            prop::collection::vec(any::<u8>(), 0..64),
            any::<u64>()
        )
            .prop_map(|(effective_height, scheme, bytes, power)| {
                TxKind::Authority(AuthorityChange {
                    effective_height,
                    public_key: PublicKey { scheme, bytes },
                    power,
                })
            }),
        staking_kind(),
    ];
    (
        any::<u16>(),
        any::<u32>(),
        kind,
        prop::collection::vec(input, 0..4),
        prop::collection::vec(output, 0..4),
        any::<u64>(),
        prop::collection::vec(witness, 0..3),
    )
        .prop_map(
            |(version, chain_id, kind, inputs, outputs, expiry_height, witnesses)| Transaction {
                version,
                chain_id,
                kind,
                inputs,
                outputs,
                expiry_height,
                witnesses,
                data: Vec::new(),
            },
        )
}

fn block() -> impl Strategy<Value = Block> {
    (
        any::<(u32, u32, u32, u32)>(),
        hash(),
        prop::collection::vec(tx(), 0..4),
    )
        .prop_map(|((version, time, bits, nonce), prev_hash, txs)| {
            // Versions with the top three bits set mark BFT headers.
            let mut b = Block::new(
                PowHeader {
                    version: version & 0x1fff_ffff,
                    prev_hash,
                    merkle_root: Hash::ZERO,
                    time,
                    bits,
                    nonce,
                },
                txs,
            );
            let root = b.compute_merkle_root();
            b.header.set_merkle_root(root);
            b
        })
}

proptest! {
    #[test]
    fn tx_round_trip(t in tx()) {
        let bytes = t.encode();
        prop_assert_eq!(bytes.len(), t.encoded_len());
        prop_assert_eq!(Transaction::decode_all(&bytes).unwrap(), t);
    }

    #[test]
    fn block_round_trip(b in block()) {
        let bytes = b.encode();
        prop_assert_eq!(Block::decode_all(&bytes).unwrap(), b);
    }

    /// Trailing bytes are rejected and every strict prefix fails to decode.
    #[test]
    fn trailing_and_truncated_rejected(t in tx(), extra in prop::collection::vec(any::<u8>(), 1..8)) {
        let bytes = t.encode();
        let mut long = bytes.clone();
        long.extend_from_slice(&extra);
        prop_assert!(matches!(Transaction::decode_all(&long), Err(DecodeError::TrailingBytes(_))));
        for cut in [0, bytes.len() / 2, bytes.len() - 1] {
            prop_assert!(Transaction::decode_all(&bytes[..cut]).is_err());
        }
    }

    /// Canonical form: whatever a mutated byte string decodes to re-encodes to
    /// exactly those bytes, so no value has two encodings.
    #[test]
    fn any_accepted_bytes_are_canonical(t in tx(), pos in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = t.encode();
        let i = pos.index(bytes.len());
        bytes[i] = byte;
        if let Ok(decoded) = Transaction::decode_all(&bytes) {
            prop_assert_eq!(decoded.encode(), bytes);
        }
    }

    /// Random garbage never panics the decoder.
    #[test]
    fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Transaction::decode_all(&bytes);
        let _ = Block::decode_all(&bytes);
    }

    #[test]
    fn txid_ignores_witnesses_wtxid_does_not(t in tx()) {
        let mut stripped = t.clone();
        stripped.witnesses.clear();
        prop_assert_eq!(stripped.txid(), t.txid());
        if !t.witnesses.is_empty() {
            prop_assert_ne!(stripped.wtxid(), t.wtxid());
        }
    }
}

#[test]
fn out_of_range_values_rejected() {
    let t = Transaction {
        version: 1,
        chain_id: 7,
        kind: TxKind::Transfer,
        inputs: vec![],
        outputs: vec![TxOut {
            amount: Amount::from_base(5).unwrap(),
            lock: Lock::Key {
                scheme: SchemeId::MlDsa65,
                key_hash: Hash([1; 32]),
            },
        }],
        expiry_height: 0,
        witnesses: vec![],
        data: Vec::new(),
    };
    let bytes = t.encode();
    // version(2) chain(4) kind(1) inputs(1) outputs count(1) → amount at 9.
    let mut over = bytes.clone();
    over[9..17].copy_from_slice(&(Amount::MAX.base() + 1).to_le_bytes());
    assert_eq!(
        Transaction::decode_all(&over),
        Err(DecodeError::OutOfRange { field: "amount" })
    );
    // Unknown kind tag.
    let mut kind = bytes.clone();
    kind[6] = 12;
    assert!(matches!(
        Transaction::decode_all(&kind),
        Err(DecodeError::UnknownTag { field: "kind", .. })
    ));
    // Unknown scheme in the lock.
    let mut scheme = bytes.clone();
    scheme[18] = 0;
    assert!(matches!(
        Transaction::decode_all(&scheme),
        Err(DecodeError::UnknownTag {
            field: "scheme",
            ..
        })
    ));
    // A huge output count is refused before allocation.
    let mut count = bytes[..8].to_vec();
    count.extend_from_slice(&[0xfe, 0xff, 0xff, 0xff, 0x7f]);
    assert!(matches!(
        Transaction::decode_all(&count),
        Err(DecodeError::TooLong { .. })
    ));
}
