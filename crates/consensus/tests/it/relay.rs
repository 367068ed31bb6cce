//! The compact-proposal relay between nodes: a receiver that lacks
//! transactions asks, the proposer answers in parts, the proposal is
//! rebuilt exactly; wrong answers are rejected; asks back off; a proposer
//! answers a bounded number of requests; the same block proposed in two
//! rounds is rebuilt for each.

use std::collections::HashMap;
use std::sync::Arc;

use luminex_consensus::bft::relay::{answer_chunks, Outcome, MAX_ANSWERS};
use luminex_consensus::bft::{CompactProposal, Gossip, Pooled, ProposalRelay, Relay};
use luminex_primitives::{Encode, Hash, MerkleCommitment, Transaction};

use super::compact::{mempool, proposal, tx};
use super::engine::{Fixture, TestHost};

fn none(_: &Hash) -> Option<Pooled> {
    None
}

/// The requests in an outcome.
fn wants(out: &Outcome) -> Vec<(Hash, Vec<u32>)> {
    out.publish
        .iter()
        .filter_map(|g| match g {
            Gossip::WantTxs { block, indexes, .. } => Some((*block, indexes.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_receiver_without_the_transactions_asks_and_rebuilds_from_the_answer() {
    let f = Fixture::new();
    let mut host = TestHost::new();
    let mut engine = f.engine(None, None);
    engine.start(&mut host);
    let p = proposal(&f, 40);
    let mut proposer = ProposalRelay::new(MerkleCommitment::Tagged);
    let Gossip::CompactProposal(c) = proposer.outgoing(&p) else {
        panic!("a proposal goes out compact");
    };
    // Half the transactions are in the receiver's mempool.
    let pool: HashMap<Hash, Arc<Transaction>> = mempool(&p.proposal.block)
        .into_iter()
        .filter(|(_, t)| t.data[0] % 2 == 0)
        .collect();
    let lookup = |id: &Hash| pool.get(id).cloned().map(Pooled::from);
    let mut receiver = ProposalRelay::new(MerkleCommitment::Tagged);
    let out = receiver.on_compact(&engine, *c.clone(), 1_000, &lookup);
    assert_eq!(out.relay, Relay::Accept);
    assert!(out.rebuilt.is_empty());
    let asked = wants(&out);
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].1.len(), 20);
    // The same proposal again (another peer relayed it): nothing new.
    let again = receiver.on_compact(&engine, *c, 1_001, &lookup);
    assert_eq!(again.relay, Relay::Ignore);
    // The proposer answers; tiny parts here would be several messages.
    let answer = proposer.on_want(1, asked[0].0, &asked[0].1, 1_002);
    assert_eq!(answer.relay, Relay::Accept);
    let mut rebuilt = Vec::new();
    for g in answer.publish {
        let Gossip::ProposalTxs {
            block,
            indexes,
            txs,
            ..
        } = g
        else {
            panic!("answers only");
        };
        let out = receiver.on_txs(block, &indexes, &txs, 1_003, &lookup);
        assert_eq!(out.relay, Relay::Accept);
        rebuilt.extend(out.rebuilt);
    }
    assert_eq!(rebuilt.len(), 1);
    assert!(rebuilt[0].fetched);
    assert_eq!(rebuilt[0].proposal, p);
    assert_eq!(receiver.pending(), 0);
    // The engine takes it.
    engine
        .receive(
            luminex_consensus::bft::ConsensusMessage::Proposal(Box::new(
                rebuilt.pop().unwrap().proposal,
            )),
            &mut host,
        )
        .unwrap();
}

#[test]
fn wrong_answers_are_rejected_and_unknown_ones_ignored() {
    let f = Fixture::new();
    let mut host = TestHost::new();
    let mut engine = f.engine(None, None);
    engine.start(&mut host);
    let p = proposal(&f, 4);
    let hash = p.proposal.block.hash();
    let mut receiver = ProposalRelay::new(MerkleCommitment::Tagged);
    let out = receiver.on_compact(&engine, CompactProposal::new(&p), 0, &none);
    assert_eq!(wants(&out)[0].1, vec![1, 2, 3, 4]);
    // Another transaction at index 1.
    let other = tx(&f, 99, 2);
    let out = receiver.on_txs(hash, &[1], &[other], 1, &none);
    assert_eq!(out.relay, Relay::Reject);
    // An answer for a block nobody here is rebuilding.
    let out = receiver.on_txs(Hash([5; 32]), &[1], &p.proposal.block.txs[1..2], 1, &none);
    assert_eq!(out.relay, Relay::Ignore);
    // A request for a block this node did not propose and is not
    // rebuilding: not relayed.
    assert_eq!(
        receiver.on_want(1, Hash([5; 32]), &[1], 1).relay,
        Relay::Ignore
    );
    // One it is rebuilding: relayed towards the proposer; out of range: not.
    assert_eq!(receiver.on_want(1, hash, &[1, 4], 1).relay, Relay::Accept);
    assert_eq!(receiver.on_want(1, hash, &[9], 1).relay, Relay::Ignore);
    // A forged proposal: refused before anything is kept.
    let mut forged = CompactProposal::new(&p);
    forged.txids.reverse();
    let mut fresh = ProposalRelay::new(MerkleCommitment::Tagged);
    assert_eq!(
        fresh.on_compact(&engine, forged, 0, &none).relay,
        Relay::Reject
    );
    assert_eq!(fresh.pending(), 0);
}

#[test]
fn asks_back_off_and_a_proposer_answers_a_bounded_number() {
    let f = Fixture::new();
    let mut host = TestHost::new();
    let mut engine = f.engine(None, None);
    engine.start(&mut host);
    let p = proposal(&f, 3);
    let mut receiver = ProposalRelay::new(MerkleCommitment::Tagged);
    let out = receiver.on_compact(&engine, CompactProposal::new(&p), 10_000, &none);
    assert_eq!(wants(&out).len(), 1);
    // Asked at 10 s: the next ask waits 1 s, the one after 2 s.
    assert!(wants(&receiver.tick(&engine, 10_900, &none)).is_empty());
    assert_eq!(wants(&receiver.tick(&engine, 11_000, &none)).len(), 1);
    assert!(wants(&receiver.tick(&engine, 12_900, &none)).is_empty());
    assert_eq!(wants(&receiver.tick(&engine, 13_000, &none)).len(), 1);
    // The transactions reached the mempool meanwhile: rebuilt at the
    // tick, no ask.
    let pool = mempool(&p.proposal.block);
    let lookup = |id: &Hash| pool.get(id).cloned().map(Pooled::from);
    let out = receiver.tick(&engine, 13_100, &lookup);
    assert!(wants(&out).is_empty());
    assert_eq!(out.rebuilt.len(), 1);
    assert!(out.rebuilt[0].fetched, "it had asked");

    let mut proposer = ProposalRelay::new(MerkleCommitment::Tagged);
    proposer.outgoing(&p);
    let hash = p.proposal.block.hash();
    for _ in 0..MAX_ANSWERS {
        assert_eq!(proposer.on_want(1, hash, &[1], 0).publish.len(), 1);
    }
    let over = proposer.on_want(1, hash, &[1], 0);
    assert!(over.publish.is_empty());
    // Indexes past the block: the requester is wrong.
    let mut proposer = ProposalRelay::new(MerkleCommitment::Tagged);
    proposer.outgoing(&p);
    assert_eq!(proposer.on_want(1, hash, &[4], 0).relay, Relay::Reject);
    // Another height: not this proposal.
    assert_eq!(proposer.on_want(2, hash, &[1], 0).relay, Relay::Ignore);
}

#[test]
fn answers_are_split_by_bytes_and_keep_every_transaction_once() {
    let f = Fixture::new();
    let txs: Vec<Transaction> = (1..=10).map(|i| tx(&f, i, 1)).collect();
    let size = txs[0].encoded_len();
    assert!(txs.iter().all(|t| t.encoded_len() == size));
    let indexes: Vec<u32> = (1..=10).collect();
    let parts = answer_chunks(indexes.clone(), txs.clone(), 3 * size);
    assert_eq!(
        parts.iter().map(|(i, _)| i.len()).collect::<Vec<_>>(),
        vec![3, 3, 3, 1]
    );
    let (is, ts): (Vec<u32>, Vec<Transaction>) = parts
        .into_iter()
        .flat_map(|(i, t)| i.into_iter().zip(t))
        .unzip();
    assert_eq!((is, ts), (indexes.clone(), txs.clone()));
    // A limit below one transaction: one a part, none dropped.
    assert_eq!(answer_chunks(indexes, txs, 1).len(), 10);
    assert!(answer_chunks(vec![], vec![], 1).is_empty());
}
