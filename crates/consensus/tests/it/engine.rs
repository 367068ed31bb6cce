//! The BFT engine's handling of what peers send: every rejection path of a
//! proposal or a vote has its own error, and a validator records what it
//! signs before sending it and never contradicts it after a restart.

use std::sync::Arc;

use luminex_consensus::bft::engine::{MAX_BUFFERED, MAX_BUFFERED_BYTES};
use luminex_consensus::bft::machine::TimeoutKind;
use luminex_consensus::bft::{
    BftRules, ConsensusMessage, Effect, Engine, Host, MessageError, Proposal, SignedProposal,
    SignedState, SignedVote, Vote, VoteKind,
};
use luminex_crypto::SigningKey;
use luminex_ledger::{ChainSpec, ConsensusRecord, Parent};
use luminex_primitives::codec::{Decode, Encode};
use luminex_primitives::{
    Amount, Block, CommitCertificate, Hash, SchemeId, Transaction, TxKind, TxOut,
};

pub(crate) fn spec() -> ChainSpec {
    ChainSpec::preset("poa").unwrap()
}

pub(crate) fn keys(spec: &ChainSpec) -> Vec<SigningKey> {
    (0..4)
        .map(|i| SigningKey::from_seed(spec.default_scheme, &ChainSpec::dev_validator_seed(i)))
        .collect()
}

/// A host over the genesis block: builds blocks on it, calls every block
/// valid unless told otherwise, records signed states (or fails to).
pub(crate) struct TestHost {
    pub(crate) spec: ChainSpec,
    pub(crate) record: ConsensusRecord,
    valid: bool,
    /// This host's clock, in ms, for [`BftRules::timely`] (`None`: every
    /// time is taken).
    now_ms: Option<u64>,
    persist_ok: bool,
    recorded: Vec<SignedState>,
    outputs: usize,
}

impl TestHost {
    pub(crate) fn new() -> TestHost {
        let spec = spec();
        TestHost {
            record: spec.bft_genesis().unwrap(),
            spec,
            valid: true,
            now_ms: None,
            persist_ok: true,
            recorded: Vec::new(),
            outputs: 1,
        }
    }

    pub(crate) fn block(&self, proposer: Hash, time_ms: u64) -> Block {
        let g = self.spec.genesis_block();
        let parent = Parent {
            hash: g.hash(),
            height: 0,
            header: g.header,
        };
        let coinbase = Transaction {
            version: 1,
            chain_id: self.spec.chain_id,
            kind: TxKind::Coinbase { height: 1 },
            inputs: vec![],
            outputs: (0..self.outputs)
                .map(|i| TxOut {
                    amount: Amount::from_base(1 + i as u64).unwrap(),
                    lock: keys(&self.spec)[0].public_key().lock(),
                })
                .collect(),
            expiry_height: 0,
            witnesses: vec![],
            data: Vec::new(),
        };
        BftRules::for_spec(&self.spec)
            .expect("a BFT spec")
            .build_block(
                &parent,
                &self.record,
                &crate::Straight(Vec::new()),
                None,
                proposer,
                time_ms,
                vec![coinbase],
            )
    }
}

impl Host for TestHost {
    fn build_block(
        &mut self,
        _height: u64,
        round: u32,
        proposer: Hash,
        _last_commit: Option<&CommitCertificate>,
    ) -> Option<Arc<Block>> {
        let t = u64::from(self.spec.genesis.time) * 1000 + 1000 + u64::from(round);
        Some(Arc::new(self.block(proposer, t)))
    }
    fn validate_block(&mut self, _block: &Arc<Block>) -> bool {
        self.valid
    }
    fn timely(&mut self, block: &Block, round: u32) -> bool {
        self.now_ms.is_none_or(|now| {
            BftRules::for_spec(&self.spec)
                .unwrap()
                .timely(block, round, now)
        })
    }
    fn persist(&mut self, state: &SignedState) -> Result<(), String> {
        if !self.persist_ok {
            return Err("disk full".into());
        }
        self.recorded.push(state.clone());
        Ok(())
    }
}

pub(crate) struct Fixture {
    pub(crate) spec: ChainSpec,
    pub(crate) rules: BftRules,
    pub(crate) keys: Vec<SigningKey>,
    pub(crate) record: ConsensusRecord,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        let spec = spec();
        Fixture {
            rules: BftRules::for_spec(&spec).unwrap(),
            keys: keys(&spec),
            record: spec.bft_genesis().unwrap(),
            spec,
        }
    }

    /// The engine of validator `me` (a key index), or a follower.
    pub(crate) fn engine(&self, me: Option<usize>, restored: Option<SignedState>) -> Engine {
        Engine::new(
            self.rules.clone(),
            me.map(|i| {
                Box::new(self.keys[i].clone()) as Box<dyn luminex_consensus::bft::ConsensusSigner>
            }),
            self.rules.timeouts(),
            self.record.clone(),
            None,
            restored,
        )
    }

    fn key_of(&self, id: Hash) -> &SigningKey {
        self.keys
            .iter()
            .find(|k| k.public_key().key_hash() == id)
            .unwrap()
    }

    /// The key index of the proposer of `round` at height 1.
    pub(crate) fn proposer(&self, round: u32) -> usize {
        let id = self.rules.proposer(&self.record, round);
        self.keys
            .iter()
            .position(|k| k.public_key().key_hash() == id)
            .unwrap()
    }

    pub(crate) fn vote(
        &self,
        key: usize,
        kind: VoteKind,
        height: u64,
        round: u32,
        block: Option<Hash>,
    ) -> ConsensusMessage {
        let vote = Vote {
            kind,
            height,
            round,
            block,
            validator: self.keys[key].public_key().key_hash(),
        };
        let signature = self.keys[key].sign(&vote.digest(self.rules.domain()));
        ConsensusMessage::Vote(SignedVote { vote, signature })
    }

    pub(crate) fn proposal(&self, key: usize, round: u32, block: Block) -> ConsensusMessage {
        let proposal = Proposal {
            height: 1,
            round,
            pol_round: None,
            block: Arc::new(block),
        };
        let signature = self.keys[key].sign(&proposal.digest(self.rules.domain()));
        ConsensusMessage::Proposal(Box::new(SignedProposal {
            proposal,
            signature,
        }))
    }
}

fn err(r: Result<Vec<Effect>, MessageError>) -> MessageError {
    r.expect_err("refused")
}

#[test]
fn votes_are_refused_for_each_reason_with_its_own_error() {
    let f = Fixture::new();
    let mut host = TestHost::new();
    let mut e = f.engine(None, None);
    e.start(&mut host);
    let b = Some(Hash([7; 32]));
    // Accepted once, then a duplicate.
    let v = f.vote(0, VoteKind::Prevote, 1, 0, b);
    assert_eq!(e.receive(v.clone(), &mut host), Ok(vec![]));
    assert_eq!(err(e.receive(v, &mut host)), MessageError::Duplicate);
    // Bad signature: signed by another key.
    let mut forged = f.vote(1, VoteKind::Prevote, 1, 0, b);
    if let ConsensusMessage::Vote(sv) = &mut forged {
        sv.signature = f.keys[2].sign(&sv.vote.digest(f.rules.domain()));
    }
    let e1 = err(e.receive(forged, &mut host));
    assert_eq!(e1, MessageError::BadSignature);
    assert!(e1.penalize());
    // A validator outside the set.
    let outsider = SigningKey::from_seed(SchemeId::MlDsa65, &[9; 32]);
    let vote = Vote {
        kind: VoteKind::Prevote,
        height: 1,
        round: 0,
        block: b,
        validator: outsider.public_key().key_hash(),
    };
    let signature = outsider.sign(&vote.digest(f.rules.domain()));
    let e2 = err(e.receive(
        ConsensusMessage::Vote(SignedVote { vote, signature }),
        &mut host,
    ));
    assert!(matches!(e2, MessageError::UnknownValidator(_)));
    assert!(e2.penalize());
    // Wrong heights: a finished one, one too far ahead; the next one waits.
    let e3 = err(e.receive(f.vote(1, VoteKind::Prevote, 0, 0, b), &mut host));
    assert_eq!(
        e3,
        MessageError::Stale {
            height: 0,
            current: 1
        }
    );
    assert!(!e3.penalize());
    let e4 = err(e.receive(f.vote(1, VoteKind::Prevote, 3, 0, b), &mut host));
    assert_eq!(
        e4,
        MessageError::TooFarAhead {
            height: 3,
            current: 1
        }
    );
    assert!(!e4.penalize());
    assert_eq!(
        e.receive(f.vote(1, VoteKind::Prevote, 2, 0, b), &mut host),
        Ok(vec![])
    );
    // A vote signed for another chain (another domain) does not verify.
    let mut other = f.spec.clone();
    other.chain_id += 1;
    let other_rules = BftRules::for_spec(&other).unwrap();
    let vote = Vote {
        kind: VoteKind::Prevote,
        height: 1,
        round: 0,
        block: b,
        validator: f.keys[3].public_key().key_hash(),
    };
    let signature = f.keys[3].sign(&vote.digest(other_rules.domain()));
    assert_eq!(
        err(e.receive(
            ConsensusMessage::Vote(SignedVote { vote, signature }),
            &mut host
        )),
        MessageError::BadSignature
    );
}

#[test]
fn proposals_are_refused_for_each_reason_with_its_own_error() {
    let f = Fixture::new();
    let mut host = TestHost::new();
    let mut e = f.engine(None, None);
    e.start(&mut host);
    let p0 = f.proposer(0);
    let block = host.block(f.keys[p0].public_key().key_hash(), 1_767_225_602_000);
    // Not the proposer of the round.
    let other = (p0 + 1) % 4;
    let e1 = err(e.receive(f.proposal(other, 0, block.clone()), &mut host));
    assert!(
        matches!(e1, MessageError::NotProposer { round: 0, .. }),
        "{e1:?}"
    );
    assert!(e1.penalize());
    // A round too far ahead.
    let e2 = err(e.receive(f.proposal(f.proposer(9), 9, block.clone()), &mut host));
    assert_eq!(
        e2,
        MessageError::RoundTooFar {
            round: 9,
            current: 0
        }
    );
    // A proposal whose block is not a BFT block of its height (here a
    // proof-of-work genesis block).
    let pow_block = ChainSpec::preset("dev").unwrap().genesis_block();
    let e3 = err(e.receive(f.proposal(p0, 0, pow_block), &mut host));
    assert_eq!(
        e3,
        MessageError::HeightMismatch {
            block: 0,
            proposal: 1
        }
    );
    assert!(e3.penalize());
    // An oversized block.
    let mut small = f.spec.clone();
    small.max_block_bytes = 4096;
    small.max_tx_bytes = 4096;
    let small_rules = BftRules::for_spec(&small).unwrap();
    let mut e_small = Engine::new(
        small_rules,
        None,
        f.rules.timeouts(),
        small.bft_genesis().unwrap(),
        None,
        None,
    );
    let mut big_host = TestHost::new();
    big_host.outputs = 200;
    let big = big_host.block(f.keys[p0].public_key().key_hash(), 1_767_225_602_000);
    let proposal = Proposal {
        height: 1,
        round: 0,
        pol_round: None,
        block: Arc::new(big),
    };
    // Signed under the small spec's domain (another genesis hash).
    let small_domain = *BftRules::for_spec(&small).unwrap().domain();
    let signature = f.keys[p0].sign(&proposal.digest(&small_domain));
    let e4 = err(e_small.receive(
        ConsensusMessage::Proposal(Box::new(SignedProposal {
            proposal,
            signature,
        })),
        &mut big_host,
    ));
    assert!(
        matches!(e4, MessageError::Oversized { max: 4096, .. }),
        "{e4:?}"
    );
    assert!(e4.penalize());
    // The right one is taken; the same again is a duplicate.
    let ok = f.proposal(p0, 0, block);
    e.receive(ok.clone(), &mut host).unwrap();
    assert_eq!(err(e.receive(ok, &mut host)), MessageError::Duplicate);
}

#[test]
fn garbage_bytes_do_not_decode_into_messages() {
    for bytes in [&[][..], &[0xff; 3][..], &[1, 2, 3, 4, 5, 6, 7, 8, 9][..]] {
        assert!(ConsensusMessage::decode_all(bytes).is_err());
    }
}

/// Four validators in one process: a height is decided and the decision
/// carries a certificate that verifies against the set.
#[test]
fn four_engines_decide_a_block_with_a_valid_certificate() {
    let f = Fixture::new();
    let mut hosts: Vec<TestHost> = (0..4).map(|_| TestHost::new()).collect();
    let mut engines: Vec<Engine> = (0..4).map(|i| f.engine(Some(i), None)).collect();
    let mut queue: Vec<(usize, ConsensusMessage)> = Vec::new();
    let mut commits = Vec::new();
    let handle = |i: usize,
                  effects: Vec<Effect>,
                  queue: &mut Vec<(usize, ConsensusMessage)>,
                  commits: &mut Vec<(usize, Arc<Block>, CommitCertificate)>| {
        for e in effects {
            match e {
                Effect::Broadcast(m) => queue.push((i, m)),
                Effect::Commit { block, certificate } => commits.push((i, block, certificate)),
                _ => {}
            }
        }
    };
    for i in 0..4 {
        let eff = engines[i].start(&mut hosts[i]);
        handle(i, eff, &mut queue, &mut commits);
    }
    while let Some((from, m)) = queue.pop() {
        // Round-trip through the wire encoding.
        let m = ConsensusMessage::decode_all(&m.encode()).unwrap();
        for to in (0..4).filter(|t| *t != from) {
            if let Ok(eff) = engines[to].receive(m.clone(), &mut hosts[to]) {
                handle(to, eff, &mut queue, &mut commits);
            }
        }
    }
    assert_eq!(commits.len(), 4);
    let hash = commits[0].1.hash();
    for (_, b, c) in &commits {
        assert_eq!(b.hash(), hash);
        f.rules
            .verify_certificate(&f.record.validators, c, 1, &hash)
            .unwrap();
    }
    // Every validator recorded its votes before sending them.
    for h in &hosts {
        let last = h.recorded.last().unwrap();
        assert_eq!(last.height, 1);
        assert!(last.votes.iter().any(|v| v.kind == VoteKind::Precommit));
    }
}

#[test]
fn nothing_is_signed_when_it_cannot_be_recorded() {
    let f = Fixture::new();
    let me = (f.proposer(0) + 1) % 4;
    let mut host = TestHost::new();
    host.persist_ok = false;
    let mut e = f.engine(Some(me), None);
    e.start(&mut host);
    // The propose timeout makes it prevote nil, which it cannot record.
    let eff = e.timeout(1, 0, TimeoutKind::Propose, &mut host);
    assert!(eff.iter().any(|e| matches!(e, Effect::PersistFailed(_))));
    assert!(!eff.iter().any(|e| matches!(e, Effect::Broadcast(_))));
    assert!(e.signed_state().votes.is_empty());
}

#[test]
fn a_restarted_validator_repeats_its_recorded_vote_instead_of_contradicting_it() {
    let f = Fixture::new();
    let me = (f.proposer(0) + 1) % 4;
    let block = Hash([5; 32]);
    let before = SignedState {
        height: 1,
        round: 0,
        locked: None,
        valid: None,
        votes: vec![Vote {
            kind: VoteKind::Prevote,
            height: 1,
            round: 0,
            block: Some(block),
            validator: f.keys[me].public_key().key_hash(),
        }],
        proposals: vec![],
    };
    // The recorded state survives its encoding.
    assert_eq!(SignedState::decode_all(&before.encode()).unwrap(), before);
    let mut host = TestHost::new();
    let mut e = f.engine(Some(me), Some(before));
    e.start(&mut host);
    // After the restart the proposal never comes: the machine asks for a
    // nil prevote, and the engine sends the one it signed before.
    let eff = e.timeout(1, 0, TimeoutKind::Propose, &mut host);
    let sent: Vec<&Vote> = eff
        .iter()
        .filter_map(|e| match e {
            Effect::Broadcast(ConsensusMessage::Vote(v)) => Some(&v.vote),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].block, Some(block));
    let _ = f.key_of(sent[0].validator);
}

/// A restarted validator sends the votes it recorded again as soon as it
/// starts, and gossips them again later: peers that restarted meanwhile
/// lost them, and a round another validator needs one of them to leave
/// would otherwise never end.
#[test]
fn a_restarted_validator_sends_its_recorded_votes_again() {
    let f = Fixture::new();
    let me = (f.proposer(0) + 1) % 4;
    let id = f.keys[me].public_key().key_hash();
    let block = Hash([5; 32]);
    let vote = |kind, round, block| Vote {
        kind,
        height: 1,
        round,
        block,
        validator: id,
    };
    let recorded = vec![
        vote(VoteKind::Prevote, 0, Some(block)),
        vote(VoteKind::Precommit, 0, None),
    ];
    let before = SignedState {
        height: 1,
        round: 0,
        locked: None,
        valid: None,
        votes: recorded.clone(),
        proposals: vec![],
    };
    let mut host = TestHost::new();
    let mut e = f.engine(Some(me), Some(before));
    let eff = e.start(&mut host);
    let sent: Vec<Vote> = eff
        .iter()
        .filter_map(|e| match e {
            Effect::Broadcast(ConsensusMessage::Vote(v)) => Some(v.vote),
            _ => None,
        })
        .collect();
    assert_eq!(sent, recorded);
    let again: Vec<Vote> = e
        .regossip()
        .into_iter()
        .filter_map(|m| match m {
            ConsensusMessage::Vote(v) if v.vote.validator == id => Some(v.vote),
            _ => None,
        })
        .collect();
    assert_eq!(again, recorded, "gossiped again later too");
    // Nothing new was recorded: the same votes.
    assert!(host.recorded.is_empty());
}

/// A signed-state record of a later height than the chain (a database
/// restored from an older copy, the record kept): the validator may have
/// signed anything at the heights in between, so it signs nothing — no
/// proposal, no vote — until its chain reaches the record's height.
#[test]
fn a_record_ahead_of_the_chain_holds_every_signature() {
    let f = Fixture::new();
    let me = f.proposer(0);
    let ahead = SignedState {
        height: 5,
        round: 0,
        locked: None,
        valid: None,
        votes: vec![],
        proposals: vec![(0, Hash([9; 32]))],
    };
    let mut host = TestHost::new();
    let mut e = f.engine(Some(me), Some(ahead));
    assert_eq!(e.signing_held_until(), Some(5));
    let mut eff = e.start(&mut host);
    eff.extend(e.timeout(1, 0, TimeoutKind::Propose, &mut host));
    assert!(
        !eff.iter().any(|e| matches!(e, Effect::Broadcast(_))),
        "signed at height 1: {eff:?}"
    );
    assert!(host.recorded.is_empty());
}

/// A precommit for the decided block that arrives after the quorum joins
/// the certificate the next block carries; anything else for the decided
/// height is refused with its own error.
#[test]
fn late_precommits_join_the_certificate_the_next_block_carries() {
    let f = Fixture::new();
    let mut hosts: Vec<TestHost> = (0..4).map(|_| TestHost::new()).collect();
    let mut engines: Vec<Engine> = (0..4).map(|i| f.engine(Some(i), None)).collect();
    let mut queue: Vec<(usize, ConsensusMessage)> = Vec::new();
    let mut commits: Vec<(usize, CommitCertificate)> = Vec::new();
    let late_id = f.keys[3].public_key().key_hash();
    let mut held = Vec::new();
    for i in 0..4 {
        for e in engines[i].start(&mut hosts[i]) {
            if let Effect::Broadcast(m) = e {
                queue.push((i, m));
            }
        }
    }
    while let Some((from, m)) = queue.pop() {
        for to in (0..4).filter(|t| *t != from) {
            // Validator 3's precommits reach validator 0 only later.
            let late = matches!(&m, ConsensusMessage::Vote(v)
                if v.vote.validator == late_id && v.vote.kind == VoteKind::Precommit);
            if to == 0 && late {
                held.push(m.clone());
                continue;
            }
            if let Ok(eff) = engines[to].receive(m.clone(), &mut hosts[to]) {
                for e in eff {
                    match e {
                        Effect::Broadcast(m) => queue.push((to, m)),
                        Effect::Commit { certificate, .. } => commits.push((to, certificate)),
                        _ => {}
                    }
                }
            }
        }
    }
    let (_, cert) = commits.iter().find(|(i, _)| *i == 0).cloned().unwrap();
    assert_eq!(cert.signatures.len(), 3, "decided on the first quorum");
    // A precommit is missing: a commit pause is worth waiting.
    assert!(engines[0].awaits_precommits());
    // Validator 1 got every precommit in time: nothing to wait for.
    assert!(engines[1].is_decided() && !engines[1].awaits_precommits());
    let ConsensusMessage::Vote(late) = held.pop().unwrap() else {
        unreachable!()
    };
    // A forged late precommit is refused (and the sender penalized).
    let mut forged = late.clone();
    forged.signature.bytes[7] ^= 1;
    assert_eq!(
        err(engines[0].receive(ConsensusMessage::Vote(forged), &mut hosts[0])),
        MessageError::BadSignature
    );
    // A precommit for another block, or a prevote, is merely stale.
    let other = f.vote(3, VoteKind::Precommit, 1, cert.round, Some(Hash([9; 32])));
    assert!(matches!(
        err(engines[0].receive(other, &mut hosts[0])),
        MessageError::Stale { .. }
    ));
    let prevote = f.vote(3, VoteKind::Prevote, 1, cert.round, Some(cert.block_hash));
    assert!(matches!(
        err(engines[0].receive(prevote, &mut hosts[0])),
        MessageError::Stale { .. }
    ));
    // The real one joins, once.
    assert_eq!(
        engines[0].receive(ConsensusMessage::Vote(late.clone()), &mut hosts[0]),
        Ok(Vec::new())
    );
    assert!(!engines[0].awaits_precommits(), "every validator signed");
    assert_eq!(
        engines[0].decided_certificate().unwrap().signatures.len(),
        4
    );
    assert_eq!(
        err(engines[0].receive(ConsensusMessage::Vote(late), &mut hosts[0])),
        MessageError::Duplicate
    );
    // Moving on with the chain's (quorum) certificate, the engine carries
    // the larger one, which still verifies.
    let record = BftRules::next_state(&f.record, &[]);
    engines[0].advance(record, cert.clone(), &mut hosts[0]);
    let carried = engines[0].last_commit().unwrap().clone();
    assert_eq!(carried.signatures.len(), 4);
    assert_eq!(carried.block_hash, cert.block_hash);
    f.rules
        .verify_certificate(&f.record.validators, &carried, 1, &cert.block_hash)
        .unwrap();
}

/// A height taken from a peer's certificate (catch-up) is not worth a
/// commit pause, however few precommits that certificate names.
#[test]
fn a_decision_from_a_peers_certificate_awaits_no_precommits() {
    let f = Fixture::new();
    let mut host = TestHost::new();
    let block = host.block(f.keys[f.proposer(0)].public_key().key_hash(), 1);
    let hash = block.hash();
    let signed = (0..3)
        .map(|i| {
            let ConsensusMessage::Vote(v) = f.vote(i, VoteKind::Precommit, 1, 0, Some(hash)) else {
                unreachable!()
            };
            (
                f.record.validators.index_of(&v.vote.validator).unwrap(),
                v.signature,
            )
        })
        .collect();
    let cert = CommitCertificate::new(1, 0, hash, 4, signed);
    let mut e = f.engine(Some(3), None);
    e.start(&mut host);
    assert!(!e.awaits_precommits(), "not decided yet");
    let eff = e.certified(Arc::new(block), cert, &mut host).unwrap();
    assert!(matches!(eff.as_slice(), [Effect::Commit { .. }]));
    assert!(e.is_decided() && !e.awaits_precommits());
}

/// A certificate may name more signers than a quorum needs — every one of
/// them must have signed the block, though: the bitmap is what downtime
/// slashing reads (ADR 0042).
#[test]
fn a_certificate_with_every_signer_verifies_and_one_bad_extra_signature_fails_it() {
    let f = Fixture::new();
    let hash = Hash([3; 32]);
    let sig = |i: usize, block: Hash, round: u32| {
        let ConsensusMessage::Vote(v) = f.vote(i, VoteKind::Precommit, 1, round, Some(block))
        else {
            unreachable!()
        };
        (
            f.record.validators.index_of(&v.vote.validator).unwrap(),
            v.signature,
        )
    };
    let set = &f.record.validators;
    let all = CommitCertificate::new(1, 0, hash, 4, (0..4).map(|i| sig(i, hash, 0)).collect());
    assert_eq!(all.signer_indexes(), vec![0, 1, 2, 3]);
    f.rules.verify_certificate(set, &all, 1, &hash).unwrap();
    // The fourth signed another block, or another round: it may not be
    // named, although the other three are a quorum.
    for stray in [sig(3, Hash([4; 32]), 0), sig(3, hash, 1)] {
        let mut signed: Vec<_> = (0..3).map(|i| sig(i, hash, 0)).collect();
        signed.push(stray);
        let c = CommitCertificate::new(1, 0, hash, 4, signed);
        assert_eq!(c.signatures.len(), 4);
        assert!(f.rules.verify_certificate(set, &c, 1, &hash).is_err());
    }
    // A signature whose bit is missing, or a bit without its signature.
    let mut c = all.clone();
    c.signatures.pop();
    assert!(f.rules.verify_certificate(set, &c, 1, &hash).is_err());
}

/// A record held ahead is restored when the chain gets to its height by
/// [`Engine::enter`] (catch-up), and stays when that height is entered
/// again by [`Engine::advance`] (its certified block refused): the
/// validator never signs a second proposal or vote there.
#[test]
fn a_height_entered_twice_keeps_what_was_signed_there() {
    let f = Fixture::new();
    let mut host = TestHost::new();
    let block = host.block(f.keys[f.proposer(0)].public_key().key_hash(), 1);
    let signed = (0..3)
        .map(|i| {
            let ConsensusMessage::Vote(v) =
                f.vote(i, VoteKind::Precommit, 1, 0, Some(block.hash()))
            else {
                unreachable!()
            };
            (
                f.record.validators.index_of(&v.vote.validator).unwrap(),
                v.signature,
            )
        })
        .collect();
    let cert = CommitCertificate::new(1, 0, block.hash(), 4, signed);
    let r1 = BftRules::next_state(&f.record, &[]);
    // The proposer of height 2, round 0, which recorded a proposal and a
    // prevote there before its database was replaced by an older one.
    let proposer = f.rules.proposer(&r1, 0);
    let me = f
        .keys
        .iter()
        .position(|k| k.public_key().key_hash() == proposer)
        .unwrap();
    let (proposed, prevoted) = (Hash([8; 32]), Hash([7; 32]));
    let record = SignedState {
        height: 2,
        round: 0,
        locked: None,
        valid: None,
        votes: vec![Vote {
            kind: VoteKind::Prevote,
            height: 2,
            round: 0,
            block: Some(prevoted),
            validator: proposer,
        }],
        proposals: vec![(0, proposed)],
    };
    let mut e = f.engine(Some(me), Some(record.clone()));
    assert_eq!(e.signing_held_until(), Some(2));
    e.enter(r1.clone(), cert.clone());
    assert_eq!(e.signing_held_until(), None);
    assert_eq!(e.signed_state(), &record);
    let mut eff = e.advance(r1, cert, &mut host);
    eff.extend(e.timeout(2, 0, TimeoutKind::Propose, &mut host));
    for effect in &eff {
        match effect {
            Effect::Broadcast(ConsensusMessage::Proposal(p)) => {
                assert_eq!(p.proposal.block.hash(), proposed, "a second proposal")
            }
            Effect::Broadcast(ConsensusMessage::Vote(v)) if v.vote.height == 2 => {
                assert_eq!(v.vote.block, Some(prevoted), "a second prevote: {v:?}")
            }
            _ => {}
        }
    }
    assert_eq!(e.signed_state().votes, record.votes);
    assert_eq!(e.signed_state().proposals, record.proposals);
}

/// A new proposal dated further ahead of this validator's clock than
/// round 0 allows (the spec's `proposal_time_precision_ms`, ADR 0065) is
/// prevoted nil (it is valid otherwise).
#[test]
fn a_proposal_from_the_far_future_is_prevoted_nil() {
    let f = Fixture::new();
    let proposer = f.proposer(0);
    let me = (proposer + 1) % 4;
    let mut host = TestHost::new();
    let genesis_ms = u64::from(f.spec.genesis.time) * 1000;
    let ahead = f.spec.bft.as_ref().unwrap().proposal_time_precision_ms;
    host.now_ms = Some(genesis_ms + 1_000);
    let far = host.block(
        f.keys[proposer].public_key().key_hash(),
        genesis_ms + 1_000 + ahead + 1,
    );
    let far_hash = far.hash();
    let mut e = f.engine(Some(me), None);
    e.start(&mut host);
    let eff = e.receive(f.proposal(proposer, 0, far), &mut host).unwrap();
    let prevotes: Vec<Option<Hash>> = eff
        .iter()
        .filter_map(|e| match e {
            Effect::Broadcast(ConsensusMessage::Vote(v)) if v.vote.kind == VoteKind::Prevote => {
                Some(v.vote.block)
            }
            _ => None,
        })
        .collect();
    assert_eq!(prevotes, vec![None]);
    // The clock only keeps this validator from prevoting for a new value:
    // once the others prevote for it, it precommits it (line 36, valid
    // only), and their precommits decide it.
    let others: Vec<usize> = (0..4).filter(|i| *i != me).collect();
    let mut from_others = |kind: VoteKind| -> Vec<Effect> {
        others
            .iter()
            .flat_map(|i| {
                e.receive(f.vote(*i, kind, 1, 0, Some(far_hash)), &mut host)
                    .unwrap()
            })
            .collect()
    };
    let precommits: Vec<Option<Hash>> = from_others(VoteKind::Prevote)
        .into_iter()
        .filter_map(|e| match e {
            Effect::Broadcast(ConsensusMessage::Vote(v)) if v.vote.kind == VoteKind::Precommit => {
                Some(v.vote.block)
            }
            _ => None,
        })
        .collect();
    assert_eq!(precommits, vec![Some(far_hash)]);
    let committed: Vec<Hash> = from_others(VoteKind::Precommit)
        .into_iter()
        .filter_map(|e| match e {
            Effect::Commit { block, .. } => Some(block.hash()),
            _ => None,
        })
        .collect();
    assert_eq!(committed, vec![far_hash]);
    // Within the bound: a prevote for it.
    let mut host = TestHost::new();
    host.now_ms = Some(genesis_ms + 1_000);
    let near = host.block(
        f.keys[proposer].public_key().key_hash(),
        genesis_ms + 1_000 + ahead,
    );
    let hash = near.hash();
    let mut e = f.engine(Some(me), None);
    e.start(&mut host);
    let eff = e.receive(f.proposal(proposer, 0, near), &mut host).unwrap();
    assert!(eff.iter().any(|e| matches!(e,
        Effect::Broadcast(ConsensusMessage::Vote(v)) if v.vote.block == Some(hash))));
}

/// A value re-proposed with a proof-of-lock round is not held to this
/// validator's clock (line 28, ADR 0065): the others' prevotes of the
/// earlier round vouched for it, so a validator whose clock is far behind
/// prevotes it even past the largest bound of any round.
#[test]
fn a_reproposed_value_is_prevoted_whatever_the_clock_says() {
    let f = Fixture::new();
    let me = (0..4)
        .find(|i| *i != f.proposer(0) && *i != f.proposer(1))
        .unwrap();
    let mut host = TestHost::new();
    let genesis_ms = u64::from(f.spec.genesis.time) * 1000;
    let precision = f.spec.bft.as_ref().unwrap().proposal_time_precision_ms;
    host.now_ms = Some(genesis_ms + 1_000);
    let far = host.block(
        f.keys[f.proposer(0)].public_key().key_hash(),
        genesis_ms + 1_000 + 8 * precision + 1,
    );
    let hash = far.hash();
    let rules = luminex_consensus::bft::BftRules::for_spec(&f.spec).unwrap();
    assert!((0..10).all(|r| !rules.timely(&far, r, genesis_ms + 1_000)));
    let others: Vec<usize> = (0..4).filter(|i| *i != me).collect();
    let mut e = f.engine(Some(me), None);
    e.start(&mut host);
    // Round 0 without its proposal here: nil, then the others' prevotes
    // for the block (a proof of lock) and their nil precommits.
    e.timeout(1, 0, TimeoutKind::Propose, &mut host);
    for i in &others {
        e.receive(f.vote(*i, VoteKind::Prevote, 1, 0, Some(hash)), &mut host)
            .unwrap();
    }
    e.timeout(1, 0, TimeoutKind::Prevote, &mut host);
    for i in &others {
        e.receive(f.vote(*i, VoteKind::Precommit, 1, 0, None), &mut host)
            .unwrap();
    }
    e.timeout(1, 0, TimeoutKind::Precommit, &mut host);
    assert_eq!(e.round(), 1);
    // Round 1's proposer proposes it again with its proof-of-lock round.
    let proposal = Proposal {
        height: 1,
        round: 1,
        pol_round: Some(0),
        block: Arc::new(far),
    };
    let signature = f.keys[f.proposer(1)].sign(&proposal.digest(f.rules.domain()));
    let eff = e
        .receive(
            ConsensusMessage::Proposal(Box::new(SignedProposal {
                proposal,
                signature,
            })),
            &mut host,
        )
        .unwrap();
    let prevotes: Vec<Option<Hash>> = eff
        .iter()
        .filter_map(|e| match e {
            Effect::Broadcast(ConsensusMessage::Vote(v))
                if v.vote.kind == VoteKind::Prevote && v.vote.round == 1 =>
            {
                Some(v.vote.block)
            }
            _ => None,
        })
        .collect();
    assert_eq!(prevotes, vec![Some(hash)]);
}

/// Messages of the next height are kept unchecked until their height
/// comes, within a count and a byte bound: proposals carrying large blocks
/// fill the bytes (64 MiB here) long before the count, and past them a
/// message is refused as too far ahead (not penalized, not kept).
#[test]
fn messages_of_the_next_height_are_kept_within_a_byte_bound() {
    let f = Fixture::new();
    assert!(2 * f.rules.max_block_bytes() <= MAX_BUFFERED_BYTES);
    let mut host = TestHost::new();
    let mut e = f.engine(None, None);
    e.start(&mut host);
    let mut block = host.block(f.keys[0].public_key().key_hash(), 1_767_225_602_000);
    let mut big = block.txs[0].clone();
    big.version = 2;
    big.data = vec![0; 4 << 20];
    block.txs.push(big);
    let proposal = |round: u32| {
        let proposal = Proposal {
            height: 2,
            round,
            pol_round: None,
            block: Arc::new(block.clone()),
        };
        let signature = f.keys[0].sign(&proposal.digest(f.rules.domain()));
        ConsensusMessage::Proposal(Box::new(SignedProposal {
            proposal,
            signature,
        }))
    };
    // What each proposal holds: its block, whole.
    let len = proposal(0).encoded_len();
    assert!(len > block.encoded_len() && len < block.encoded_len() + 20_000);
    let fit = MAX_BUFFERED_BYTES / len;
    assert!(fit < MAX_BUFFERED, "the count would bound it first");
    for round in 0..fit as u32 {
        assert_eq!(e.receive(proposal(round), &mut host), Ok(vec![]), "{round}");
    }
    let refused = err(e.receive(proposal(fit as u32), &mut host));
    assert_eq!(
        refused,
        MessageError::TooFarAhead {
            height: 2,
            current: 1
        }
    );
    assert!(!refused.penalize());
    // A small message still fits in what is left.
    assert_eq!(
        e.receive(f.vote(1, VoteKind::Prevote, 2, 0, None), &mut host),
        Ok(vec![])
    );
}
