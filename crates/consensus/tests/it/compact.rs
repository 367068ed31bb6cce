//! Compact proposals: the wire forms round-trip, a block is rebuilt from
//! the mempool exactly, missing transactions are named and taken only when
//! they are the proposed ones, and only the round's proposer's signature
//! authenticates a compact proposal.

use std::collections::HashMap;
use std::sync::Arc;

use luminex_consensus::bft::compact::FillError;
use luminex_consensus::bft::{
    BftRules, CompactProposal, ConsensusMessage, Gossip, MessageError, PendingProposal, Pooled,
    SignedProposal,
};
use luminex_ledger::{KnownTx, Parent};
use luminex_primitives::codec::{Decode, Encode};
use luminex_primitives::{
    Amount, Block, Hash, MerkleCommitment, OutPoint, Signature, Transaction, TxKind, TxOut, Witness,
};

use super::engine::{Fixture, TestHost};

/// A transfer-shaped transaction (never validated here) with a witness
/// signed by one of the fixture's keys; `n` makes it unique.
pub(crate) fn tx(f: &Fixture, n: u8, signer: usize) -> Transaction {
    let key = &f.keys[signer];
    let mut t = Transaction {
        version: 2,
        chain_id: f.spec.chain_id,
        kind: TxKind::Transfer,
        inputs: vec![OutPoint {
            txid: Hash([n; 32]),
            vout: 0,
        }],
        outputs: vec![TxOut {
            amount: Amount::from_base(u64::from(n) + 1).unwrap(),
            lock: key.public_key().lock(),
        }],
        expiry_height: 0,
        witnesses: vec![],
        data: vec![n],
    };
    t.witnesses = vec![Witness::Key {
        public_key: key.public_key().clone(),
        signature: key.sign(&t.txid()),
    }];
    t
}

/// A proposal at height 1, round 0, by its proposer, of a block holding a
/// coinbase and `n` transactions.
pub(crate) fn proposal(f: &Fixture, n: u8) -> SignedProposal {
    let host = TestHost::new();
    let proposer = f.proposer(0);
    let mut block = host.block(f.keys[proposer].public_key().key_hash(), 1_000);
    let mut txs = block.txs.clone();
    txs.extend((1..=n).map(|i| tx(f, i, 1)));
    let g = f.spec.genesis_block();
    let parent = Parent {
        hash: g.hash(),
        height: 0,
        header: g.header,
    };
    block = BftRules::for_spec(&f.spec).unwrap().build_block(
        &parent,
        &f.record,
        &crate::Straight(Vec::new()),
        None,
        f.keys[proposer].public_key().key_hash(),
        block.header.time_ms(),
        txs,
    );
    match f.proposal(proposer, 0, block) {
        ConsensusMessage::Proposal(p) => *p,
        ConsensusMessage::Vote(_) => unreachable!(),
    }
}

pub(crate) fn mempool(block: &Block) -> HashMap<Hash, Arc<Transaction>> {
    block
        .txs
        .iter()
        .skip(1)
        .map(|t| (t.txid(), Arc::new(t.clone())))
        .collect()
}

#[test]
fn the_gossip_forms_round_trip_and_are_small() {
    let f = Fixture::new();
    let p = proposal(&f, 20);
    let c = CompactProposal::new(&p);
    assert_eq!(c.block_hash(), p.proposal.block.hash());
    assert_eq!(c.tx_count(), 21);
    for g in [
        Gossip::CompactProposal(Box::new(c.clone())),
        Gossip::ReplayProposal {
            time_ms: 4,
            proposal: Box::new(c.clone()),
        },
        Gossip::WantTxs {
            time_ms: 5,
            height: 1,
            block: c.block_hash(),
            indexes: vec![1, 7, 20],
        },
        Gossip::ProposalTxs {
            time_ms: 6,
            block: c.block_hash(),
            indexes: vec![3, 4],
            txs: p.proposal.block.txs[3..5].to_vec(),
        },
    ] {
        assert_eq!(Gossip::decode_all(&g.encode()).unwrap(), g);
    }
    // Twenty transfers of ~5 kB each, carried as 32 bytes each.
    let full = Gossip::Message(ConsensusMessage::Proposal(Box::new(p))).encode();
    let compact = Gossip::CompactProposal(Box::new(c)).encode();
    assert!(
        compact.len() * 5 < full.len(),
        "{} vs {}",
        compact.len(),
        full.len()
    );
}

#[test]
fn truncated_and_lying_compact_forms_are_refused() {
    let f = Fixture::new();
    let c = CompactProposal::new(&proposal(&f, 3));
    let bytes = Gossip::CompactProposal(Box::new(c)).encode();
    for cut in [1, 10, bytes.len() / 2, bytes.len() - 1] {
        assert!(Gossip::decode_all(&bytes[..cut]).is_err(), "cut at {cut}");
    }
    // An answer that claims more indexes than it carries transactions.
    let lying = Gossip::ProposalTxs {
        time_ms: 1,
        block: Hash([1; 32]),
        indexes: vec![1, 2],
        txs: vec![],
    }
    .encode();
    assert!(Gossip::decode_all(&lying).is_err());
    // A count of a million indexes with nothing behind it.
    let mut want = vec![6u8];
    want.extend(1u64.to_le_bytes());
    want.extend(1u64.to_le_bytes());
    want.extend([0u8; 32]);
    want.extend([0xfe, 0x40, 0x42, 0x0f, 0x00]);
    assert!(Gossip::decode_all(&want).is_err());
}

#[test]
fn a_block_whose_transactions_are_all_in_the_mempool_is_rebuilt_exactly() {
    let f = Fixture::new();
    let p = proposal(&f, 10);
    let pool = mempool(&p.proposal.block);
    let mut r = PendingProposal::new(CompactProposal::new(&p));
    assert_eq!(r.missing(), (1..=10).collect::<Vec<u32>>());
    r.fill_from(|id| pool.get(id).cloned().map(Pooled::from));
    assert!(r.missing().is_empty());
    let rebuilt = r.finish(MerkleCommitment::Tagged).unwrap().unwrap();
    assert_eq!(rebuilt, p);
}

#[test]
fn missing_transactions_are_named_and_only_the_proposed_ones_are_taken() {
    let f = Fixture::new();
    let p = proposal(&f, 6);
    let block = &p.proposal.block;
    let mut pool = mempool(block);
    pool.remove(&block.txs[2].txid());
    pool.remove(&block.txs[5].txid());
    let mut r = PendingProposal::new(CompactProposal::new(&p));
    r.fill_from(|id| pool.get(id).cloned().map(Pooled::from));
    assert_eq!(r.missing(), vec![2, 5]);
    assert!(r.finish(MerkleCommitment::Tagged).is_none());
    // Wrong transaction, wrong index, the coinbase's index, wrong counts:
    // refused, nothing taken.
    assert_eq!(
        r.supply(&[2, 5], vec![block.txs[5].clone(), block.txs[2].clone()]),
        Err(FillError::Txid(2))
    );
    assert_eq!(
        r.supply(&[7], vec![block.txs[2].clone()]),
        Err(FillError::Index(7))
    );
    assert_eq!(
        r.supply(&[0], vec![block.txs[0].clone()]),
        Err(FillError::Index(0))
    );
    assert_eq!(
        r.supply(&[2, 5], vec![block.txs[2].clone()]),
        Err(FillError::Counts { indexes: 2, txs: 1 })
    );
    assert_eq!(r.missing(), vec![2, 5]);
    // The right ones complete the block.
    r.supply(&[2], vec![block.txs[2].clone()]).unwrap();
    assert_eq!(r.missing(), vec![5]);
    r.supply(&[5], vec![block.txs[5].clone()]).unwrap();
    assert_eq!(r.finish(MerkleCommitment::Tagged).unwrap().unwrap(), p);
}

#[test]
fn a_mempool_transaction_with_another_witness_makes_the_node_ask_for_all() {
    let f = Fixture::new();
    let p = proposal(&f, 4);
    let block = &p.proposal.block;
    let mut pool = mempool(block);
    // Same txid, another signature (ML-DSA signing is randomized).
    let mut other = block.txs[3].clone();
    other.witnesses = vec![Witness::Key {
        public_key: f.keys[1].public_key().clone(),
        signature: f.keys[1].sign(&other.txid()),
    }];
    assert_eq!(other.txid(), block.txs[3].txid());
    assert_ne!(other.wtxid(), block.txs[3].wtxid());
    pool.insert(other.txid(), Arc::new(other));
    let mut r = PendingProposal::new(CompactProposal::new(&p));
    r.fill_from(|id| pool.get(id).cloned().map(Pooled::from));
    assert!(r.missing().is_empty());
    assert!(matches!(r.finish(MerkleCommitment::Tagged), Some(Err(_))));
    assert_eq!(r.missing(), vec![1, 2, 3, 4]);
    r.supply(&[1, 2, 3, 4], block.txs[1..].to_vec()).unwrap();
    assert_eq!(r.finish(MerkleCommitment::Tagged).unwrap().unwrap(), p);
}

/// What a mempool records of `tx` at admission.
fn known(tx: &Transaction) -> KnownTx {
    KnownTx {
        txid: tx.txid(),
        wtxid: tx.wtxid(),
        size: tx.encoded_len(),
    }
}

#[test]
fn a_rebuilt_block_takes_the_mempools_ids_and_they_are_still_checked() {
    let f = Fixture::new();
    let p = proposal(&f, 4);
    let block = &p.proposal.block;
    let pool = mempool(block);
    let with_ids = |id: &Hash| {
        pool.get(id).map(|tx| Pooled {
            tx: tx.clone(),
            known: Some(known(tx)),
        })
    };
    // The ids come along with each transaction the mempool gives; none
    // for the coinbase (sent whole) or for a transaction asked for.
    let mut r = PendingProposal::new(CompactProposal::new(&p));
    r.fill_from(|id| (*id != block.txs[2].txid()).then(|| with_ids(id)).flatten());
    r.supply(&[2], vec![block.txs[2].clone()]).unwrap();
    assert_eq!(r.finish(MerkleCommitment::Tagged).unwrap().unwrap(), p);
    let expected: Vec<Option<KnownTx>> = (0..5)
        .map(|i| (i != 0 && i != 2).then(|| known(&block.txs[i])))
        .collect();
    assert_eq!(r.known(), &expected[..]);

    // Ids the mempool gives under another txid are not taken.
    let mut r = PendingProposal::new(CompactProposal::new(&p));
    r.fill_from(|id| {
        with_ids(id).map(|mut pooled| {
            if *id == block.txs[1].txid() {
                pooled.known = Some(known(&block.txs[3]));
            }
            pooled
        })
    });
    assert_eq!(r.finish(MerkleCommitment::Tagged).unwrap().unwrap(), p);
    assert_eq!(r.known()[1], None);
    assert_eq!(r.known()[3], Some(known(&block.txs[3])));

    // A wrong wtxid among them fails the header's commitment, as a wrong
    // transaction would: every slot is asked for again, ids forgotten.
    let mut r = PendingProposal::new(CompactProposal::new(&p));
    r.fill_from(|id| {
        with_ids(id).map(|mut pooled| {
            if let Some(k) = pooled
                .known
                .as_mut()
                .filter(|k| k.txid == block.txs[4].txid())
            {
                k.wtxid = Hash([9; 32]);
            }
            pooled
        })
    });
    assert!(matches!(r.finish(MerkleCommitment::Tagged), Some(Err(_))));
    assert_eq!(r.missing(), vec![1, 2, 3, 4]);
    assert!(r.known().iter().all(Option::is_none));
}

#[test]
fn only_the_rounds_proposer_authenticates_a_compact_proposal() {
    let f = Fixture::new();
    let mut host = TestHost::new();
    let mut engine = f.engine(None, None);
    engine.start(&mut host);
    let p = proposal(&f, 2);
    let c = CompactProposal::new(&p);
    assert_eq!(c.authenticate(&engine), Ok(()));
    // Signed by another validator.
    let mut forged = c.clone();
    let other = (f.proposer(0) + 1) % f.keys.len();
    forged.signature = f.keys[other].sign(&p.proposal.digest(f.rules.domain()));
    assert!(matches!(
        forged.authenticate(&engine),
        Err(MessageError::NotProposer { round: 0, .. })
    ));
    // A signature over another block (the txids are not what it signs,
    // the header is).
    let mut moved = c.clone();
    moved.header.set_merkle_root(Hash([3; 32]));
    assert!(moved.authenticate(&engine).unwrap_err().penalize());
    // The txid list altered by a relay: the signature covers it.
    let mut reordered = c.clone();
    reordered.txids.swap(0, 1);
    assert!(matches!(
        reordered.authenticate(&engine),
        Err(MessageError::NotProposer { .. })
    ));
    // Garbage in the signature.
    let mut garbage = c.clone();
    garbage.signature = Signature {
        scheme: garbage.signature.scheme,
        bytes: vec![1; 10],
    };
    assert!(garbage.authenticate(&engine).unwrap_err().penalize());
    // Heights other than the current one: not the sender's fault.
    let mut ahead = c.clone();
    ahead.height = 2;
    assert!(matches!(
        ahead.authenticate(&engine),
        Err(MessageError::TooFarAhead {
            height: 2,
            current: 1
        })
    ));
    let mut round_far = c;
    round_far.round = 9;
    assert!(!round_far.authenticate(&engine).unwrap_err().penalize());
    // The rebuilt proposal is what the engine takes.
    let pool = mempool(&p.proposal.block);
    let mut r = PendingProposal::new(CompactProposal::new(&p));
    r.fill_from(|id| pool.get(id).cloned().map(Pooled::from));
    let rebuilt = r.finish(MerkleCommitment::Tagged).unwrap().unwrap();
    engine
        .receive(ConsensusMessage::Proposal(Box::new(rebuilt)), &mut host)
        .unwrap();
}
