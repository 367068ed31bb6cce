//! Double-signing evidence: the engine turns two conflicting votes into
//! evidence that any node can check alone; every way a forged or
//! meaningless piece fails has its own error; the pool keeps one piece per
//! offence until a block carries it or it expires.

use luminex_consensus::bft::evidence::{
    AddEvidence, CheckEvidence, EvidenceError, EvidenceKey, MAX_POOL,
};
use luminex_consensus::bft::{
    ConsensusMessage, DuplicateVoteEvidence, Effect, EvidencePool, Gossip, VoteKind,
};
use luminex_primitives::codec::{Decode, Encode};
use luminex_primitives::Hash;

use crate::engine::{Fixture, TestHost};

fn signed(m: ConsensusMessage) -> luminex_consensus::bft::SignedVote {
    match m {
        ConsensusMessage::Vote(v) => v,
        ConsensusMessage::Proposal(_) => unreachable!("a vote"),
    }
}

/// Evidence of validator `key` prevoting two blocks in round `round`.
fn evidence(f: &Fixture, key: usize, height: u64, round: u32) -> DuplicateVoteEvidence {
    DuplicateVoteEvidence {
        first: signed(f.vote(key, VoteKind::Prevote, height, round, Some(Hash([1; 32])))),
        second: signed(f.vote(key, VoteKind::Prevote, height, round, Some(Hash([2; 32])))),
    }
}

#[test]
fn the_engine_reports_conflicting_votes_as_evidence_anyone_can_check() {
    let f = Fixture::new();
    let mut host = TestHost::new();
    let mut e = f.engine(None, None);
    e.start(&mut host);
    let a = f.vote(2, VoteKind::Precommit, 1, 0, Some(Hash([7; 32])));
    let b = f.vote(2, VoteKind::Precommit, 1, 0, None);
    e.receive(a, &mut host).unwrap();
    let effects = e.receive(b, &mut host).unwrap();
    let ev = effects
        .into_iter()
        .find_map(|x| match x {
            Effect::Evidence(ev) => Some(*ev),
            _ => None,
        })
        .expect("conflicting votes make evidence");
    let set = &f.record.validators;
    let offender = f.keys[2].public_key().key_hash();
    assert_eq!(
        ev.check(set, f.rules.domain()),
        Ok(set.index_of(&offender).unwrap())
    );
    assert_eq!(
        ev.key(),
        EvidenceKey {
            validator: offender,
            height: 1
        }
    );
    // One pair, one encoding, whichever vote a node saw first.
    let swapped = DuplicateVoteEvidence {
        first: ev.second.clone(),
        second: ev.first.clone(),
    };
    assert_eq!(swapped.clone().canonical(), ev.clone().canonical());
    assert!(ev.clone().canonical().is_canonical());
    assert_eq!(
        swapped.check(set, f.rules.domain()),
        ev.check(set, f.rules.domain())
    );
    // Round trips alone and as gossip.
    let bytes = ev.encode();
    assert_eq!(DuplicateVoteEvidence::decode_all(&bytes).unwrap(), ev);
    let g = Gossip::Evidence(Box::new(ev.clone()));
    assert_eq!(Gossip::decode_all(&g.encode()).unwrap(), g);
    assert!(Gossip::decode_all(&g.encode()[..bytes.len()]).is_err());
}

#[test]
fn forged_or_empty_evidence_is_refused_with_its_own_error() {
    let f = Fixture::new();
    let set = &f.record.validators;
    let d = f.rules.domain();
    assert!(evidence(&f, 1, 1, 0).check(set, d).is_ok());

    let mut two = evidence(&f, 1, 1, 0);
    two.second = signed(f.vote(3, VoteKind::Prevote, 1, 0, Some(Hash([2; 32]))));
    assert_eq!(two.check(set, d), Err(EvidenceError::TwoValidators));

    for (height, round, kind) in [
        (2, 0, VoteKind::Prevote),
        (1, 1, VoteKind::Prevote),
        (1, 0, VoteKind::Precommit),
    ] {
        let mut views = evidence(&f, 1, 1, 0);
        views.second = signed(f.vote(1, kind, height, round, Some(Hash([2; 32]))));
        assert_eq!(views.check(set, d), Err(EvidenceError::DifferentViews));
    }

    let mut same = evidence(&f, 1, 1, 0);
    same.second = same.first.clone();
    assert_eq!(same.check(set, d), Err(EvidenceError::SameValue));

    let mut forged = evidence(&f, 1, 1, 0);
    forged.second.signature = forged.first.signature.clone();
    assert_eq!(forged.check(set, d), Err(EvidenceError::BadSignature(1)));
    let mut forged = evidence(&f, 1, 1, 0);
    forged.first.signature = forged.second.signature.clone();
    assert_eq!(forged.check(set, d), Err(EvidenceError::BadSignature(0)));

    // Signed for another chain: the domain differs.
    let other = luminex_consensus::bft::ChainDomain::new(9999, Hash([3; 32]));
    assert_eq!(
        evidence(&f, 1, 1, 0).check(set, &other),
        Err(EvidenceError::BadSignature(0))
    );

    // A key outside the set.
    let outsider = luminex_crypto::SigningKey::from_seed(f.spec.default_scheme, &[42; 32]);
    let mut stranger = evidence(&f, 1, 1, 0);
    for v in [&mut stranger.first, &mut stranger.second] {
        v.vote.validator = outsider.public_key().key_hash();
        v.signature = outsider.sign(&v.vote.digest(d));
    }
    assert_eq!(
        stranger.check(set, d),
        Err(EvidenceError::UnknownValidator(
            outsider.public_key().key_hash()
        ))
    );

    // Truncated bytes are a decode error, not a panic.
    let bytes = evidence(&f, 1, 1, 0).encode();
    for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
        assert!(DuplicateVoteEvidence::decode_all(&bytes[..cut]).is_err());
    }
}

#[test]
fn the_pool_keeps_one_piece_per_offence_until_included_or_expired() {
    let f = Fixture::new();
    let mut pool = EvidencePool::new(100);
    assert_eq!(pool.add(evidence(&f, 1, 5, 0), 10), AddEvidence::Added);
    // The same offence in another round is the same offence.
    assert_eq!(pool.add(evidence(&f, 1, 5, 3), 10), AddEvidence::Known);
    assert_eq!(pool.add(evidence(&f, 2, 5, 0), 10), AddEvidence::Added);
    assert_eq!(pool.add(evidence(&f, 3, 2, 0), 10), AddEvidence::Added);
    // Too old to punish.
    assert_eq!(pool.add(evidence(&f, 0, 5, 0), 106), AddEvidence::Expired);
    assert_eq!(pool.len(), 3);

    // Proposers take the oldest first.
    let heights: Vec<u64> = pool.to_propose(2).iter().map(|e| e.height()).collect();
    assert_eq!(heights, vec![2, 5]);
    assert!(pool.to_propose(10).iter().all(|e| e.is_canonical()));

    // Once a block carried it, gossip of it is not new.
    let k = evidence(&f, 3, 2, 0).key();
    pool.included([k]);
    assert_eq!(pool.len(), 2);
    assert!(pool.knows(&k));
    assert_eq!(pool.add(evidence(&f, 3, 2, 0), 10), AddEvidence::Known);

    // Everything expires with the age limit.
    pool.prune(105);
    assert_eq!(pool.len(), 2);
    assert!(!pool.knows(&k));
    pool.prune(106);
    assert!(pool.is_empty());
}

#[test]
fn the_pool_is_bounded() {
    let f = Fixture::new();
    let mut pool = EvidencePool::new(u64::MAX);
    let base = evidence(&f, 1, 1, 0);
    for i in 0..MAX_POOL as u64 {
        // Distinct offences: each height is one (the pool trusts that
        // its caller checked them; here only the keys matter).
        let mut e = base.clone();
        e.first.vote.height = i + 1;
        e.second.vote.height = i + 1;
        assert_eq!(pool.add(e, 1), AddEvidence::Added);
    }
    let mut more = base;
    more.first.vote.height = u64::MAX;
    more.second.vote.height = u64::MAX;
    assert_eq!(pool.add(more, 1), AddEvidence::Full);
    assert_eq!(pool.len(), MAX_POOL);
}
