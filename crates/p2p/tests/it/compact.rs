//! Compact block announcements: rebuilding from a mempool, fetching what is
//! missing, and detecting a wrong rebuild.

use luminex_ledger::testkit::PowFields;
use std::sync::Arc;

use luminex_p2p::compact::{CompactBlock, CompactError};
use luminex_primitives::{
    Block, Decode, Encode, Hash, MerkleCommitment, OutPoint, PowHeader, Transaction, TxKind,
};

fn tx(i: u32) -> Transaction {
    Transaction {
        version: 1,
        chain_id: 1001,
        kind: TxKind::Transfer,
        inputs: vec![OutPoint {
            txid: Hash([(i % 251) as u8; 32]),
            vout: i,
        }],
        outputs: vec![],
        expiry_height: 0,
        witnesses: vec![],
        data: Vec::new(),
    }
}

fn block(n: u32) -> Block {
    let mut b = Block::new(
        PowHeader {
            version: 1,
            prev_hash: Hash([9; 32]),
            merkle_root: Hash::ZERO,
            time: 1,
            bits: 0,
            nonce: 0,
        },
        (0..=n).map(tx).collect(),
    );
    b.header.pow_mut().merkle_root = b.compute_merkle_root();
    b
}

fn pool(txs: &[Transaction]) -> Vec<(Hash, Arc<Transaction>)> {
    txs.iter()
        .map(|t| (t.wtxid(), Arc::new(t.clone())))
        .collect()
}

#[test]
fn a_block_rebuilds_from_a_full_mempool() {
    let b = block(500);
    let c = CompactBlock::new(&b, 42);
    assert_eq!(CompactBlock::decode_all(&c.encode()).unwrap(), c);
    let mempool = pool(&b.txs[1..]);
    let partial = c
        .reconstruct(|visit| mempool.iter().for_each(|(w, t)| visit(w, t)))
        .unwrap();
    assert!(partial.missing.is_empty());
    assert_eq!(
        partial.complete(vec![], MerkleCommitment::Tagged).unwrap(),
        b
    );
}

/// The announcement a producer builds from the wtxids it already holds is
/// the one built from the block.
#[test]
fn an_announcement_from_known_wtxids_is_the_same() {
    let b = block(20);
    let wtxids: Vec<Hash> = b.txs.iter().skip(1).map(Transaction::wtxid).collect();
    assert_eq!(
        CompactBlock::with_wtxids(&b, &wtxids, 9).encode(),
        CompactBlock::new(&b, 9).encode()
    );
}

#[test]
fn missing_transactions_are_named_and_filled() {
    let b = block(100);
    let c = CompactBlock::new(&b, 7);
    // The mempool lacks every third transaction, and holds strangers.
    let mut have: Vec<Transaction> = b.txs[1..]
        .iter()
        .enumerate()
        .filter(|(i, _)| (i + 1) % 3 != 0)
        .map(|(_, t)| t.clone())
        .collect();
    have.extend((1000..1050).map(tx));
    let mempool = pool(&have);
    let partial = c
        .reconstruct(|visit| mempool.iter().for_each(|(w, t)| visit(w, t)))
        .unwrap();
    let want: Vec<u32> = (1..=100).filter(|i| i % 3 == 0).collect();
    assert_eq!(partial.missing, want);
    let fill: Vec<Transaction> = want.iter().map(|i| b.txs[*i as usize].clone()).collect();
    assert_eq!(
        partial
            .clone()
            .complete(fill.clone(), MerkleCommitment::Tagged)
            .unwrap(),
        b
    );
    // A wrong fill is caught by the Merkle root; a short one by the count.
    let mut wrong = fill.clone();
    wrong[0] = tx(5000);
    assert_eq!(
        partial.clone().complete(wrong, MerkleCommitment::Tagged),
        Err(CompactError::Mismatch)
    );
    assert_eq!(
        partial.complete(fill[1..].to_vec(), MerkleCommitment::Tagged),
        Err(CompactError::WrongFill)
    );
}

#[test]
fn the_announcement_is_a_small_fraction_of_the_block() {
    let b = block(5_000);
    let compact = CompactBlock::new(&b, 1).encoded_len();
    let full = b.encoded_len();
    // 6 bytes per transaction plus the header and the coinbase.
    assert!(compact < 5_000 * 6 + 200, "{compact}");
    assert!(compact * 2 < full, "{compact} vs {full}");
}

#[test]
fn bad_prefilled_indexes_are_refused() {
    let b = block(3);
    let mut c = CompactBlock::new(&b, 1);
    c.prefilled[0].0 = 10;
    assert_eq!(
        c.reconstruct(|_| {}).map(|_| ()),
        Err(CompactError::BadPrefilled)
    );
}
