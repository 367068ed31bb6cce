use super::*;

/// A small transaction told apart by `n` (a coinbase of that height).
pub(crate) fn tx(n: u64) -> Transaction {
    Transaction {
        version: 1,
        chain_id: 7,
        kind: luminex_primitives::TxKind::Coinbase { height: n },
        inputs: vec![],
        outputs: vec![],
        expiry_height: 0,
        witnesses: vec![],
        data: vec![],
    }
}

#[test]
fn frames_round_trip_and_compress() {
    let req = Request::Blocks(vec![Hash([7; 32]); 100]);
    let f = to_frame(&req);
    assert_eq!(f[0], ZSTD, "repetitive bodies compress");
    assert!(f.len() < req.encoded_len() / 10);
    assert_eq!(from_frame::<Request>(&f, 1 << 20).unwrap(), req);
    let small = Request::Status;
    assert_eq!(to_frame(&small), vec![PLAIN, 0]);
    let plain = to_plain_frame(&req);
    assert_eq!(plain[0], PLAIN, "never compressed");
    assert_eq!(from_frame::<Request>(&plain, 1 << 20).unwrap(), req);
}

#[test]
fn stored_blocks_are_sent_as_blocks() {
    use luminex_primitives::{Amount, Header, Lock, TxKind, TxOut};
    let coinbase = |height| Transaction {
        version: 1,
        chain_id: 7,
        kind: TxKind::Coinbase { height },
        inputs: vec![],
        outputs: vec![TxOut {
            amount: Amount::from_base(50).unwrap(),
            lock: Lock::Key {
                scheme: luminex_primitives::SchemeId::MlDsa65,
                key_hash: Hash([height as u8; 32]),
            },
        }],
        expiry_height: 0,
        witnesses: vec![],
        data: vec![],
    };
    let blocks: Vec<Block> = (1..4u64)
        .map(|h| {
            Block::new(
                Header::decode_all(&[h as u8; 80]).unwrap(),
                vec![coinbase(h)],
            )
        })
        .collect();
    let plain = Response::Blocks(blocks.clone());
    let stored = Response::StoredBlocks(
        blocks
            .iter()
            .map(|b| EncodedBlock::new(b.encode()))
            .collect(),
    );
    assert_eq!(stored.encode(), plain.encode(), "the same bytes");
    assert_eq!(
        from_frame::<Response>(&to_frame(&stored), 1 << 20).unwrap(),
        plain
    );
}

#[test]
fn announcements_of_txids_round_trip_and_are_bounded() {
    let ids: Vec<Hash> = (0..5u8).map(|i| Hash([i; 32])).collect();
    let frame = tx_announce_frame(&ids);
    assert!(is_tx_announcement(&frame));
    assert!(!is_tx_announcement(&tx_batch_frame(&[vec![1u8]])));
    assert_eq!(txids_from_announce_frame(&frame).unwrap(), ids);
    assert!(matches!(
        txids_from_announce_frame(&tx_announce_frame(&[])),
        Err(WireError::EmptyBatch)
    ));
    let mut trailing = frame.clone();
    trailing.push(0);
    assert!(matches!(
        txids_from_announce_frame(&trailing),
        Err(WireError::Decode(DecodeError::TrailingBytes(1)))
    ));
    let mut many = vec![TX_ANNOUNCE];
    put_length(&mut many, MAX_TX_BATCH + 1);
    assert!(matches!(
        txids_from_announce_frame(&many),
        Err(WireError::Decode(DecodeError::TooLong { .. }))
    ));
    assert!(txids_from_announce_frame(&frame[..frame.len() - 1]).is_err());
    assert!(txids_from_announce_frame(&[]).is_err());
    // Asking for them, and the answer as stored: the same bytes.
    let req = Request::Txs(ids);
    assert_eq!(
        from_frame::<Request>(&to_frame(&req), 1 << 20).unwrap(),
        req
    );
    let txs = vec![tx(1), tx(2)];
    let stored = Response::StoredTxs(txs.iter().map(|t| t.encode()).collect());
    assert_eq!(stored.encode(), Response::Txs(txs.clone()).encode());
    assert_eq!(
        from_frame::<Response>(&to_frame(&stored), 1 << 20).unwrap(),
        Response::Txs(txs)
    );
}

#[test]
fn certified_blocks_round_trip_and_stored_ones_are_the_same_bytes() {
    let block = |h: u8| Block::new(Header::decode_all(&[h; 80]).unwrap(), vec![]);
    let cert = |h: u64| CommitCertificate {
        height: h,
        round: 1,
        block_hash: Hash([h as u8; 32]),
        signers: vec![],
        signatures: vec![],
    };
    let pairs: Vec<(Block, CommitCertificate)> =
        (1..4u8).map(|h| (block(h), cert(h.into()))).collect();
    let plain = Response::Certified(pairs.clone());
    let stored = Response::StoredCertified(
        pairs
            .iter()
            .map(|(b, c)| (EncodedBlock::new(b.encode()), c.clone()))
            .collect(),
    );
    assert_eq!(stored.encode(), plain.encode(), "the same bytes");
    assert_eq!(
        from_frame::<Response>(&to_frame(&stored), 1 << 20).unwrap(),
        plain
    );
    let req = Request::Certified { from: 9, max: 16 };
    assert_eq!(
        from_frame::<Request>(&to_frame(&req), 1 << 10).unwrap(),
        req
    );
    // More than a request may ask for is refused before it is read.
    let mut too_many = vec![6u8];
    put_length(&mut too_many, MAX_CERTIFIED_PER_REQUEST as usize + 1);
    assert!(Response::decode_all(&too_many).is_err());
}

#[test]
fn transaction_batches_round_trip_and_are_bounded() {
    use luminex_primitives::{Amount, Lock, TxKind, TxOut};
    // Of different sizes: n × 10 outputs.
    let tx = |n: u8| Transaction {
        version: 1,
        chain_id: 7,
        kind: TxKind::Coinbase { height: n.into() },
        inputs: vec![],
        outputs: vec![
            TxOut {
                amount: Amount::from_base(50).unwrap(),
                lock: Lock::Key {
                    scheme: luminex_primitives::SchemeId::MlDsa65,
                    key_hash: Hash([n; 32]),
                },
            };
            usize::from(n) * 10
        ],
        expiry_height: 0,
        witnesses: vec![],
        data: vec![],
    };
    let txs: Vec<Transaction> = (1..=3).map(tx).collect();
    let encoded: Vec<Vec<u8>> = txs.iter().map(|t| t.encode()).collect();
    let frame = tx_batch_frame(&encoded);
    let largest = encoded.iter().map(Vec::len).max().unwrap();
    assert_eq!(txs_from_batch_frame(&frame, 1 << 20, largest).unwrap(), txs);
    // A transaction past the limit is refused before it is decoded.
    assert!(matches!(
        txs_from_batch_frame(&frame, 1 << 20, largest - 1),
        Err(WireError::Decode(DecodeError::TooLong { .. }))
    ));
    // So is a frame past its limit, an empty batch, a count past the
    // most a batch holds, bytes that are not a transaction, and bytes
    // after the last transaction.
    assert!(matches!(
        txs_from_batch_frame(&frame, frame.len() - 2, largest),
        Err(WireError::TooLarge { .. })
    ));
    assert!(matches!(
        txs_from_batch_frame(&tx_batch_frame::<Vec<u8>>(&[]), 100, 100),
        Err(WireError::EmptyBatch)
    ));
    let mut many = vec![PLAIN];
    put_length(&mut many, MAX_TX_BATCH + 1);
    assert!(matches!(
        txs_from_batch_frame(&many, 1 << 20, largest),
        Err(WireError::Decode(DecodeError::TooLong { .. }))
    ));
    assert!(matches!(
        txs_from_batch_frame(&tx_batch_frame(&[vec![1u8, 2, 3]]), 100, 100),
        Err(WireError::Decode(_))
    ));
    let mut trailing = frame.clone();
    trailing.push(0);
    assert!(matches!(
        txs_from_batch_frame(&trailing, 1 << 20, largest),
        Err(WireError::Decode(DecodeError::TrailingBytes(1)))
    ));
    // A transaction's own bytes must span its length exactly.
    let mut padded = encoded[0].clone();
    padded.push(0);
    assert!(matches!(
        txs_from_batch_frame(&tx_batch_frame(&[padded]), 1 << 20, largest + 1),
        Err(WireError::Decode(DecodeError::TrailingBytes(1)))
    ));
}

#[test]
fn bombs_and_garbage_are_refused() {
    let big = Request::Blocks(vec![Hash([0; 32]); 128]);
    let f = to_frame(&big);
    assert!(matches!(
        from_frame::<Request>(&f, 100),
        Err(WireError::TooLarge { .. })
    ));
    assert!(matches!(
        from_frame::<Request>(&[], 100),
        Err(WireError::Empty)
    ));
    assert!(matches!(
        from_frame::<Request>(&[9, 1, 2], 100),
        Err(WireError::UnknownEncoding(9))
    ));
    assert!(matches!(
        from_frame::<Request>(&[ZSTD, 1, 2, 3], 100),
        Err(WireError::Corrupt(_))
    ));
    assert!(matches!(
        from_frame::<Request>(&[PLAIN, 77], 100),
        Err(WireError::Decode(_))
    ));
    assert!(matches!(
        from_frame::<Request>(&[PLAIN, 0, 0], 100),
        Err(WireError::Decode(_))
    ));
}

/// A zstd frame (our kind byte first) compressing `body` whole, which
/// declares its content size.
fn declared(body: &[u8]) -> Vec<u8> {
    let mut f = vec![ZSTD];
    f.extend(zstd::bulk::compress(body, ZSTD_LEVEL).unwrap());
    f
}

#[test]
fn compressed_frames_that_do_not_declare_or_misstate_their_size() {
    let req = Request::Blocks(vec![Hash([7; 32]); 6]);
    let body = req.encode();
    assert!(body.len() < 256);
    // Streamed frames carry no content size: inflated up to the limit.
    let mut streamed = vec![ZSTD];
    streamed.extend(zstd::stream::encode_all(&body[..], 1).unwrap());
    assert_eq!(
        zstd::zstd_safe::get_frame_content_size(&streamed[1..]).unwrap(),
        None
    );
    assert_eq!(from_frame::<Request>(&streamed, 1 << 20).unwrap(), req);
    assert!(matches!(
        from_frame::<Request>(&streamed, body.len() - 1),
        Err(WireError::TooLarge { .. })
    ));
    // A declared size smaller than the content: corrupt, not a panic or
    // a larger allocation. The header of a small single-segment frame
    // is magic (4 bytes), descriptor, then a one-byte content size.
    let mut lying = declared(&body);
    assert_eq!(from_frame::<Request>(&lying, 1 << 20).unwrap(), req);
    assert_eq!(lying[5] & 0xE0, 0x20, "single segment, one-byte size");
    assert_eq!(lying[6] as usize, body.len());
    lying[6] = 10;
    assert!(matches!(
        from_frame::<Request>(&lying, 1 << 20),
        Err(WireError::Corrupt(_))
    ));
}
