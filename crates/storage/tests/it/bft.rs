//! A BFT chain in the store: blocks are connected only with a valid commit
//! certificate, become final at once, and a final block is never reverted.

use std::sync::Arc;

use luminex_consensus::bft::message::{vote_digest, VoteKind};
use luminex_consensus::bft::BftRules;
use luminex_crypto::SigningKey;
use luminex_ledger::spec::{BftParams, ConsensusKind};
use luminex_ledger::{BlockError, ChainSpec, ConsensusRecord, Parent, SigCache};
use luminex_primitives::{Block, CommitCertificate, Hash, Transaction, TxKind};
use luminex_storage::{AcceptStatus, ChainError, ChainStore, KvStore, MemoryStore};

use crate::chain::open_store;

pub(crate) fn bft_spec() -> ChainSpec {
    let mut spec = ChainSpec::preset("dev").unwrap();
    spec.consensus = ConsensusKind::Bft;
    spec.bft = Some(BftParams {
        dev_validators: 4,
        ..BftParams::default()
    });
    spec
}

fn validator_keys(spec: &ChainSpec) -> Vec<SigningKey> {
    (0..4)
        .map(|i| SigningKey::from_seed(spec.default_scheme, &ChainSpec::dev_validator_seed(i)))
        .collect()
}

pub(crate) fn coinbase(spec: &ChainSpec, height: u64) -> Transaction {
    Transaction {
        version: 1,
        chain_id: spec.chain_id,
        kind: TxKind::Coinbase { height },
        inputs: vec![],
        outputs: vec![],
        expiry_height: 0,
        witnesses: vec![],
        data: Vec::new(),
    }
}

pub(crate) struct Net {
    pub(crate) spec: ChainSpec,
    pub(crate) rules: BftRules,
    pub(crate) keys: Vec<SigningKey>,
    pub(crate) store: ChainStore,
    cache: SigCache,
}

impl Net {
    fn new(kv: Arc<dyn KvStore>) -> Net {
        Net::with_spec(kv, bft_spec())
    }

    /// A chain of `spec`, a BFT spec with the four development validators.
    pub(crate) fn with_spec(kv: Arc<dyn KvStore>, spec: ChainSpec) -> Net {
        Net {
            rules: BftRules::for_spec(&spec).unwrap(),
            keys: validator_keys(&spec),
            store: open_store(kv, spec.clone()).unwrap(),
            spec,
            cache: SigCache::new(1),
        }
    }

    pub(crate) fn record(&self, height: u64) -> ConsensusRecord {
        self.store.consensus_record(height).unwrap().unwrap()
    }

    /// The next block on the tip, carrying the tip's certificate.
    pub(crate) fn next_block(&self) -> Block {
        self.next_block_with(Vec::new())
    }

    /// The next block on the tip carrying `txs` after the coinbase (less
    /// any authority change the proposer's rules drop).
    pub(crate) fn next_block_with(&self, txs: Vec<Transaction>) -> Block {
        let time_ms = self.store.tip_parent().header.time_ms() + 1000;
        self.next_block_at(time_ms, txs)
    }

    /// [`Net::next_block_with`] at time `time_ms`.
    pub(crate) fn next_block_at(&self, time_ms: u64, txs: Vec<Transaction>) -> Block {
        let parent = self.store.tip_parent();
        let record = self.record(parent.height);
        let last_commit = self.store.certificate(parent.height).unwrap();
        self.store.with_context(|ctx| {
            self.rules.build_block(
                &parent,
                &record,
                ctx,
                last_commit,
                self.rules.proposer(&record, 0),
                time_ms,
                std::iter::once(coinbase(&self.spec, parent.height + 1))
                    .chain(txs)
                    .collect(),
            )
        })
    }

    /// Precommits for `block` at `height` by validators `signers` (indexes
    /// into the key list), as a certificate.
    pub(crate) fn certify(
        &self,
        block: &Block,
        height: u64,
        signers: &[usize],
    ) -> CommitCertificate {
        let set = self.record(height - 1).validators;
        let digest = vote_digest(
            self.rules.domain(),
            VoteKind::Precommit,
            height,
            0,
            Some(&block.hash()),
        );
        let signed = signers
            .iter()
            .map(|i| {
                let k = &self.keys[*i];
                let index = set.index_of(&k.public_key().key_hash()).unwrap();
                (index, k.sign(&digest))
            })
            .collect();
        CommitCertificate::new(height, 0, block.hash(), set.len(), signed)
    }

    pub(crate) fn accept(
        &self,
        block: &Block,
        cert: &CommitCertificate,
    ) -> Result<AcceptStatus, ChainError> {
        self.store
            .accept_certified(&Arc::new(block.clone()), cert, 2_000_000_000, &self.cache)
            .map(|a| a.status)
    }
}

/// Tells whether an error is the expected one.
type ErrorCheck = fn(&BlockError) -> bool;

pub(crate) fn invalid(r: Result<AcceptStatus, ChainError>) -> BlockError {
    match r {
        Err(ChainError::Invalid(e)) => e,
        other => panic!("expected an invalid block, got {other:?}"),
    }
}

#[test]
fn certified_blocks_connect_and_are_final_at_once() {
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let net = Net::new(kv.clone());
    assert_eq!(net.store.finalized().height, 0);
    for h in 1..=3 {
        let b = net.next_block();
        let c = net.certify(&b, h, &[0, 1, 2]);
        assert_eq!(net.accept(&b, &c).unwrap(), AcceptStatus::MainChain);
        assert_eq!(net.store.finalized().height, h);
        assert_eq!(net.store.finalized().hash, b.hash());
        assert_eq!(net.store.certificate(h).unwrap(), Some(c.clone()));
        // No reorganisation can reach a final block: none is kept in
        // memory for one.
        assert_eq!(net.store.recent_blocks(), (0, 0));
        // The stored block gives back its parent's certificate.
        assert_eq!(net.store.block(&b.hash()).unwrap().unwrap(), b);
        // The same block again is a duplicate.
        assert_eq!(net.accept(&b, &c).unwrap(), AcceptStatus::Duplicate);
    }
    // A final block is never disconnected.
    assert!(matches!(
        net.store.disconnect_tip(),
        Err(ChainError::Finalized { height: 3, .. })
    ));
    // Finality survives a restart.
    let tip = net.store.tip();
    drop(net);
    let net = Net::new(kv);
    assert_eq!(net.store.tip().hash, tip.hash);
    assert_eq!(net.store.finalized().height, 3);
    let b = net.next_block();
    let c = net.certify(&b, 4, &[1, 2, 3]);
    assert_eq!(net.accept(&b, &c).unwrap(), AcceptStatus::MainChain);
}

#[test]
fn bad_certificates_are_refused_without_marking_the_block() {
    let net = Net::new(Arc::new(MemoryStore::new()));
    let b = net.next_block();
    // Two of four is not more than two thirds.
    let weak = net.certify(&b, 1, &[0, 1]);
    assert!(matches!(
        invalid(net.accept(&b, &weak)),
        BlockError::BadCertificate(_)
    ));
    // A forged signature.
    let mut forged = net.certify(&b, 1, &[0, 1, 2]);
    forged.signatures[1].bytes[10] ^= 1;
    assert!(matches!(
        invalid(net.accept(&b, &forged)),
        BlockError::BadCertificate(_)
    ));
    // One validator counted twice is still one validator.
    let mut twice = net.certify(&b, 1, &[0, 1]);
    twice.signers = vec![0b0000_0111];
    twice.signatures.push(twice.signatures[0].clone());
    assert!(matches!(
        invalid(net.accept(&b, &twice)),
        BlockError::BadCertificate(_)
    ));
    // A certificate of another block, or another height.
    let other = rebuild(&b, |h| h.time_ms += 1);
    let for_other = net.certify(&other, 1, &[0, 1, 2]);
    assert!(matches!(
        invalid(net.accept(&b, &for_other)),
        BlockError::BadCertificate(_)
    ));
    // Without a certificate at all.
    assert!(matches!(
        net.store.accept_block(&b, 2_000_000_000, &net.cache),
        Err(ChainError::Invalid(BlockError::Uncertified))
    ));
    // None of that marked the block: with a good certificate it connects.
    let good = net.certify(&b, 1, &[1, 2, 3]);
    assert_eq!(net.accept(&b, &good).unwrap(), AcceptStatus::MainChain);
}

#[test]
fn headers_must_match_the_consensus_state() {
    let net = Net::new(Arc::new(MemoryStore::new()));
    let b1 = net.next_block();
    net.accept(&b1, &net.certify(&b1, 1, &[0, 1, 2])).unwrap();
    let good = net.next_block();
    // A body that does not match its header (the certificate dropped or
    // swapped) is refused without marking the header invalid.
    let mut stripped = good.clone();
    stripped.last_commit = None;
    let mut swapped = good.clone();
    swapped.last_commit = Some(net.certify(&b1, 1, &[1, 2, 3]));
    for bad in [stripped, swapped] {
        assert!(matches!(
            invalid(net.accept(&bad, &net.certify(&bad, 2, &[0, 1, 2]))),
            BlockError::BadLastCommit(_)
        ));
    }
    let cases: Vec<(Block, ErrorCheck)> = vec![
        (rebuild(&good, |h| h.state_root = Hash([1; 32])), |e| {
            matches!(e, BlockError::BadStateRoot)
        }),
        (rebuild(&good, |h| h.validators_hash = Hash([1; 32])), |e| {
            matches!(e, BlockError::BadValidatorsHash)
        }),
        (rebuild(&good, |h| h.proposer = Hash([1; 32])), |e| {
            matches!(e, BlockError::BadProposer(_))
        }),
        (rebuild(&good, |h| h.height = 5), |e| {
            matches!(e, BlockError::BadHeight { .. })
        }),
        (rebuild(&good, |h| h.time_ms = 1), |e| {
            matches!(e, BlockError::BadTime { .. })
        }),
        (
            rebuild(&good, |h| h.last_commit_hash = Hash([1; 32])),
            |e| matches!(e, BlockError::BadLastCommit(_)),
        ),
    ];
    for (bad, expected) in cases {
        let e = invalid(net.accept(&bad, &net.certify(&bad, 2, &[0, 1, 2])));
        assert!(expected(&e), "unexpected error {e:?}");
        assert_eq!(net.store.tip().height, 1);
    }
    net.accept(&good, &net.certify(&good, 2, &[0, 2, 3]))
        .unwrap();
    assert_eq!(net.store.tip().height, 2);
}

#[test]
fn a_block_conflicting_with_a_final_one_is_refused() {
    let net = Net::new(Arc::new(MemoryStore::new()));
    let b1 = net.next_block();
    net.accept(&b1, &net.certify(&b1, 1, &[0, 1, 2])).unwrap();
    // Another block at height 1, even with a quorum (which only Byzantine
    // validators could produce), does not replace it.
    let genesis = net.store.hash_at(0).unwrap().unwrap();
    let rec = net.store.header(&genesis).unwrap().unwrap();
    let parent = Parent {
        hash: genesis,
        height: 0,
        header: rec.header,
    };
    let record = net.record(0);
    let rival = net.store.with_context(|ctx| {
        net.rules.build_block(
            &parent,
            &record,
            ctx,
            None,
            net.rules.proposer(&record, 1),
            parent.header.time_ms() + 5000,
            vec![coinbase(&net.spec, 1)],
        )
    });
    assert_ne!(rival.hash(), b1.hash());
    let cert = net.certify(&rival, 1, &[0, 1, 2, 3]);
    assert!(matches!(
        net.accept(&rival, &cert),
        Err(ChainError::Finalized { height: 1, .. })
    ));
    assert_eq!(net.store.tip().hash, b1.hash());
}

/// `block` with its BFT header changed by `f` (the transactions and the
/// parent's certificate kept).
fn rebuild(block: &Block, f: impl FnOnce(&mut luminex_primitives::BftHeader)) -> Block {
    let mut b = block.clone();
    let mut h = *b.header.as_bft().unwrap();
    f(&mut h);
    b.header = h.into();
    b
}

/// A certified block with a transaction appended that the header does not
/// commit to is a mutated copy, even though the body's consensus checks
/// (here: an authority change on a chain that takes none) refuse it before
/// the commitment is compared: the header is not condemned, and the real
/// block connects with the same certificate afterwards.
#[test]
fn a_body_refused_before_its_commitment_does_not_condemn_the_header() {
    use luminex_primitives::AuthorityChange;
    let net = Net::new(Arc::new(MemoryStore::new()));
    let b = net.next_block();
    let c = net.certify(&b, 1, &[0, 1, 2]);
    let mut mutated = b.clone();
    mutated.txs.push(luminex_ledger::authority::unsigned_change(
        &net.spec,
        AuthorityChange {
            effective_height: 10,
            public_key: net.keys[0].public_key().clone(),
            power: 0,
        },
        5,
    ));
    assert_eq!(mutated.hash(), b.hash());
    let e = invalid(net.accept(&mutated, &c));
    assert!(
        !luminex_ledger::body_matches_header(&mutated, &net.spec),
        "{e}"
    );
    assert_eq!(
        net.accept(&b, &c).map_err(|e| e.to_string()),
        Ok(AcceptStatus::MainChain)
    );
}

/// A new proposal dated further ahead of the validator's clock than its
/// round allows (ADR 0065: the spec's `proposal_time_precision_ms` in round
/// 0, doubling per round up to 8 times it, never past
/// `max_future_block_time_secs`) is not
/// timely (validators prevote nil on it: the engine asks `BftRules::timely`
/// of new proposals only), so one faulty proposer cannot carry the chain's
/// time into the future; the chain itself holds no block to the clock, and
/// once certified the same block is checked and accepted whatever the clock
/// says.
#[test]
fn a_block_from_the_far_future_is_not_timely_but_is_accepted_once_certified() {
    let net = Net::new(Arc::new(MemoryStore::new()));
    let precision = net.spec.bft.as_ref().unwrap().proposal_time_precision_ms;
    let max_ms = net.spec.max_future_block_time_secs * 1000;
    assert!(precision > 0 && precision < max_ms);
    let now_ms = net.store.tip_parent().header.time_ms() + 5_000;
    let at_limit = net.next_block_at(now_ms + precision, Vec::new());
    assert!(net.rules.timely(&at_limit, 0, now_ms));
    let past_limit = net.next_block_at(now_ms + precision + 1, Vec::new());
    assert!(!net.rules.timely(&past_limit, 0, now_ms));
    // Later, by the validator's clock, it is timely; so it is in round 1,
    // whose bound is twice round 0's.
    assert!(net.rules.timely(&past_limit, 0, now_ms + 1));
    assert!(net.rules.timely(&past_limit, 1, now_ms));
    assert_eq!(net.rules.time_bound_ms(1), 2 * precision);
    // The bound stops doubling at 8 × the precision, in any round (and
    // never passes max_future_block_time_secs).
    let far = net.next_block_at(now_ms + 8 * precision + 1, Vec::new());
    for round in [3, 4, 20, 63, 64, 1_000, u32::MAX] {
        assert_eq!(
            net.rules.time_bound_ms(round),
            8 * precision,
            "round {round}"
        );
        assert!(!net.rules.timely(&far, round, now_ms));
    }
    assert!(net.rules.timely(&far, 3, now_ms + 1));
    let past_limit = net.next_block_at(now_ms + max_ms + 1, Vec::new());
    // The chain's own checks of it pass with the earlier clock.
    let checked =
        luminex_ledger::CheckedBlock::check(Arc::new(past_limit.clone()), &net.spec).unwrap();
    net.store
        .check_proposal(&checked, now_ms, &SigCache::new(1))
        .unwrap();
    let c = net.certify(&past_limit, 1, &[0, 1, 2]);
    assert_eq!(
        net.accept(&past_limit, &c).unwrap(),
        AcceptStatus::MainChain
    );
}
