//! Slashing (ADR 0039): double-signing evidence carried by an `evidence`
//! transaction — checked alone, against the set of its height, and against
//! the staking state (too old, punished twice) — slashes bonded and
//! unbonding stake pro rata, jails for good, pays the reporter and burns
//! the rest or credits it to the reward pot; every change undoes exactly.
//! Downtime and the spec's keys are in `downtime.rs`.

use std::collections::BTreeMap;

use luminex_crypto::SigningKey;
use luminex_ledger::evidence::{
    check_block_evidence, check_evidence, evidence_tx, evidence_txs, EvidenceError,
    MAX_EVIDENCE_PER_BLOCK,
};
use luminex_ledger::staking::{
    release_outpoint, JailEntry, StakingState, StakingUndo, UnbondingKey,
};
use luminex_ledger::testkit::lock_of;
use luminex_ledger::{
    check_transaction, BlockError, ChainContext, ChainSpec, ConsensusRecord, HeaderChain,
    StakingError, TxError, Validator, ValidatorSet,
};
use luminex_primitives::{
    Amount, Block, ChainDomain, Decode, Delegation, DuplicateVoteEvidence, Encode, Hash, Header,
    Lock, SchemeId, SignedVote, Stake, Transaction, TxKind, Unbond, Vote, VoteKind,
};

use super::staking::{Staked, MIN, UNBONDING};

pub(super) fn amount(n: u64) -> Amount {
    Amount::from_base(n).unwrap()
}

pub(super) fn validator_key(seed: u8) -> SigningKey {
    SigningKey::from_seed(SchemeId::MlDsa65, &[seed; 32])
}

pub(super) fn id(key: &SigningKey) -> Hash {
    key.public_key().key_hash()
}

pub(super) fn set_of(keys: &[&SigningKey]) -> ValidatorSet {
    ValidatorSet::new(
        keys.iter()
            .map(|k| Validator {
                public_key: k.public_key().clone(),
                power: 1,
            })
            .collect(),
    )
    .unwrap()
}

/// Consensus records by height, as a store keeps them: each holds `set`.
struct Records(BTreeMap<u64, ConsensusRecord>);

impl Records {
    fn new(set: &ValidatorSet, heights: std::ops::RangeInclusive<u64>) -> Records {
        let template = ChainSpec::preset("poa").unwrap().bft_genesis().unwrap();
        Records(
            heights
                .map(|h| {
                    (
                        h,
                        ConsensusRecord {
                            height: h,
                            priorities: vec![0; set.len()],
                            validators: set.clone(),
                            next_validators: set.clone(),
                            ..template.clone()
                        },
                    )
                })
                .collect(),
        )
    }
}

impl HeaderChain for Records {
    fn ancestor(&self, _: &Hash, _: u64) -> Option<Header> {
        None
    }
}

impl ChainContext for Records {
    fn consensus_record(&self, height: u64) -> Option<ConsensusRecord> {
        self.0.get(&height).cloned()
    }
}

fn vote(key: &SigningKey, domain: &ChainDomain, height: u64, round: u32, b: u8) -> SignedVote {
    let vote = Vote {
        kind: VoteKind::Precommit,
        height,
        round,
        block: Some(Hash([b; 32])),
        validator: id(key),
    };
    SignedVote {
        signature: key.sign(&vote.digest(domain)),
        vote,
    }
}

/// Two conflicting precommits of `key` at `height`, `round`.
pub(super) fn double_sign(
    key: &SigningKey,
    domain: &ChainDomain,
    height: u64,
    round: u32,
) -> DuplicateVoteEvidence {
    DuplicateVoteEvidence {
        first: vote(key, domain, height, round, 1),
        second: vote(key, domain, height, round, 2),
    }
    .canonical()
}

/// The staking tests' harness (its chain's signing domain signs votes).
pub(super) type Slashed = Staked;

impl Staked {
    /// Validator `v` staked with 4 × MIN, a delegation of 2 × MIN from dev
    /// key 1 and an unstake of MIN (unbonding): 6 × MIN bonded, MIN
    /// unbonding.
    pub(super) fn backed(&mut self, v: &SigningKey) {
        self.mine(vec![self.tx(
            0,
            TxKind::Stake(Stake {
                validator: v.public_key().clone(),
                amount: amount(5 * MIN),
            }),
            Some(v),
        )])
        .unwrap();
        let delegator = self.chain.keys[1].clone();
        self.mine(vec![
            self.tx(
                1,
                TxKind::Delegate(Delegation {
                    validator: id(v),
                    amount: amount(2 * MIN),
                }),
                Some(&delegator),
            ),
            self.unstake_min(v),
        ])
        .unwrap();
    }

    /// An unstake of MIN of `v`'s own stake, paid to dev key 0 (which
    /// pays its fee).
    pub(super) fn unstake_min(&self, v: &SigningKey) -> Transaction {
        self.tx(
            0,
            TxKind::Unstake(Unbond {
                validator: id(v),
                amount: amount(MIN),
                payout: lock_of(&self.chain.keys[0]),
            }),
            Some(v),
        )
    }

    pub(super) fn reporter(&self) -> Lock {
        lock_of(&self.chain.keys[2])
    }
}

#[test]
fn evidence_is_checked_against_the_set_of_its_height() {
    let s = Slashed::new(false);
    let (v, w, outsider) = (validator_key(1), validator_key(2), validator_key(3));
    let set = set_of(&[&v, &w]);
    let d = &s.domain;
    let ev = double_sign(&v, d, 5, 0);
    assert_eq!(
        check_evidence(&ev, &set, d),
        Ok(set.index_of(&id(&v)).unwrap())
    );

    // Unknown validator: not a member of that height's set.
    let stranger = double_sign(&outsider, d, 5, 0);
    assert_eq!(
        check_evidence(&stranger, &set, d),
        Err(EvidenceError::UnknownValidator(id(&outsider)))
    );
    // A broken signature (the second vote's, then the first's).
    let mut forged = ev.clone();
    forged.second.signature.bytes[0] ^= 1;
    assert_eq!(
        check_evidence(&forged, &set, d),
        Err(EvidenceError::BadSignature(1))
    );
    let mut forged = ev.clone();
    forged.first.signature = forged.second.signature.clone();
    assert_eq!(
        check_evidence(&forged, &set, d),
        Err(EvidenceError::BadSignature(0))
    );
    // Signed for another chain.
    let other = ChainDomain::new(s.spec().chain_id + 1, s.spec().genesis_hash());
    assert_eq!(
        check_evidence(&double_sign(&v, &other, 5, 0), &set, d),
        Err(EvidenceError::BadSignature(0))
    );
    // No conflict: two validators, two views, one value.
    let two = DuplicateVoteEvidence {
        first: vote(&v, d, 5, 0, 1),
        second: vote(&w, d, 5, 0, 2),
    };
    assert_eq!(
        check_evidence(&two, &set, d),
        Err(EvidenceError::TwoValidators)
    );
    let views = DuplicateVoteEvidence {
        first: vote(&v, d, 5, 0, 1),
        second: vote(&v, d, 5, 1, 2),
    };
    assert_eq!(
        check_evidence(&views, &set, d),
        Err(EvidenceError::DifferentViews)
    );
    let same = DuplicateVoteEvidence {
        first: vote(&v, d, 5, 0, 1),
        second: vote(&v, d, 5, 0, 1),
    };
    assert_eq!(
        check_evidence(&same, &set, d),
        Err(EvidenceError::SameValue)
    );
    assert_eq!(EvidenceError::SameValue.code(), "evidence-same-value");
}

#[test]
fn an_evidence_transaction_has_a_shape() {
    let s = Slashed::new(false);
    let v = validator_key(1);
    let ev = double_sign(&v, &s.domain, 3, 0);
    let tx = evidence_tx(s.spec().chain_id, ev.clone(), s.reporter());
    assert!(check_transaction(&tx, s.spec()).is_ok());
    assert_eq!(tx.kind.name(), "evidence");
    // Encodes and decodes (tag 10).
    let back = <Transaction as luminex_primitives::Decode>::decode_all(
        &luminex_primitives::Encode::encode(&tx),
    )
    .unwrap();
    assert_eq!(back, tx);

    // Votes out of canonical order.
    let mut swapped = tx.clone();
    if let TxKind::Evidence(r) = &mut swapped.kind {
        std::mem::swap(&mut r.evidence.first, &mut r.evidence.second);
    }
    assert_eq!(
        check_transaction(&swapped, s.spec()),
        Err(TxError::Evidence(EvidenceError::NotCanonical))
    );
    // Inputs, outputs or witnesses.
    let mut fat = tx.clone();
    fat.inputs.push(s.coin(0).0);
    assert_eq!(
        check_transaction(&fat, s.spec()),
        Err(TxError::Evidence(EvidenceError::NotBare))
    );
    // Genesis: nobody votes at height 0.
    let genesis = evidence_tx(
        s.spec().chain_id,
        double_sign(&v, &s.domain, 0, 0),
        s.reporter(),
    );
    assert!(matches!(
        check_transaction(&genesis, s.spec()),
        Err(TxError::Evidence(EvidenceError::BadHeight { .. }))
    ));
    // A chain without staking takes none.
    let mut plain = s.spec().clone();
    plain.staking = None;
    assert_eq!(
        check_transaction(&tx, &plain),
        Err(TxError::Staking(StakingError::Disabled))
    );
}

#[test]
fn a_block_s_evidence_is_checked_against_the_records() {
    let mut s = Slashed::new(false);
    let (v, w, outsider) = (validator_key(1), validator_key(2), validator_key(3));
    let set = set_of(&[&v, &w]);
    let records = Records::new(&set, 0..=3);
    let d = s.domain;
    let rep = s.reporter();
    let ev = |k: &SigningKey, h: u64, r: u32| {
        evidence_tx(s.spec().chain_id, double_sign(k, &d, h, r), rep)
    };
    let block = |txs: Vec<Transaction>, s: &Slashed| s.chain.build_block(txs, Amount::ZERO);

    // Votes at 4 in a block at 4: checked against the record of 3.
    let good = block(vec![ev(&v, 4, 0), ev(&w, 2, 1)], &s);
    assert_eq!(check_block_evidence(&good, 4, &records, &d), Ok(()));
    let fails = |b: &Block, h: u64| match check_block_evidence(b, h, &records, &d) {
        Err(BlockError::Tx {
            error: TxError::Evidence(e),
            ..
        }) => e,
        other => panic!("expected an evidence error, got {other:?}"),
    };
    // From after the block.
    assert_eq!(
        fails(&block(vec![ev(&v, 5, 0)], &s), 4),
        EvidenceError::BadHeight {
            height: 5,
            block_height: 4
        }
    );
    // No record for the height (a store that lost it, or a foreign chain).
    assert_eq!(
        fails(&block(vec![ev(&v, 6, 0)], &s), 9),
        EvidenceError::NoValidatorSet(6)
    );
    // Not a member then.
    assert_eq!(
        fails(&block(vec![ev(&outsider, 2, 0)], &s), 4),
        EvidenceError::UnknownValidator(id(&outsider))
    );
    // A forged signature.
    let mut forged = ev(&v, 2, 0);
    if let TxKind::Evidence(r) = &mut forged.kind {
        r.evidence.second.signature.bytes[7] ^= 1;
    }
    assert_eq!(
        fails(&block(vec![forged], &s), 4),
        EvidenceError::BadSignature(1)
    );
    // At most MAX_EVIDENCE_PER_BLOCK.
    let many: Vec<Transaction> = (0..=MAX_EVIDENCE_PER_BLOCK as u32)
        .map(|r| ev(&v, 3, r))
        .collect();
    assert_eq!(fails(&block(many, &s), 4), EvidenceError::TooMany);
    s.chain.blocks.clear();
}

#[test]
fn double_sign_slashes_jails_pays_the_reporter_and_burns_the_rest() {
    let mut s = Slashed::new(false);
    let v = validator_key(1);
    s.backed(&v);
    let supply = s.supply();
    let before = s.state.clone();
    let utxos = s.chain.utxos.clone();
    let height = s.chain.height() + 1;
    let tx = evidence_tx(
        s.spec().chain_id,
        double_sign(&v, &s.domain, 2, 0),
        s.reporter(),
    );
    let txid = tx.txid();
    s.mine(vec![tx.clone()]).unwrap();

    // 1/20 of 5 × MIN own − MIN unstaked, 2 × MIN delegated and MIN
    // unbonding: 7 × MIN × 1/20.
    let cut = 7 * MIN / 20;
    let val = s.state.validator(&id(&v)).unwrap();
    assert_eq!(val.self_bond, amount(4 * MIN - 4 * MIN / 20));
    assert_eq!(val.delegated, amount(2 * MIN - 2 * MIN / 20));
    let unbonding: u64 = s
        .state
        .unbonding_of(&id(&v))
        .map(|(_, e)| e.amount.base())
        .sum();
    assert_eq!(unbonding, MIN - MIN / 20);
    assert_eq!(
        s.state.jail(&id(&v)),
        Some(&JailEntry {
            until: height + s.spec().staking.as_ref().unwrap().jail_blocks,
            slashed: true
        })
    );
    assert!(s.state.is_punished(&id(&v), 2));
    // The reporter's tenth, spendable at once at the transaction's release
    // outpoint; the rest burned, and counted (the supply, burned coins
    // included, changed only by the subsidy).
    let share = cut / 10;
    let coin = s.chain.utxos[&release_outpoint(&tx, &txid)];
    assert_eq!(coin.output.amount, amount(share));
    assert_eq!(coin.output.lock, s.reporter());
    assert!(!coin.is_coinbase);
    assert_eq!(s.state.burned(), amount(cut - share));
    assert_eq!(
        s.supply(),
        supply + u128::from(s.spec().subsidy(height).base())
    );
    // Slashed for good: no unjail.
    let unjail = s.tx(
        0,
        TxKind::Unjail(luminex_primitives::Unjail { validator: id(&v) }),
        Some(&v),
    );
    assert_eq!(s.refused(vec![unjail]), StakingError::StillSlashed(id(&v)));

    // Disconnecting the block restores everything.
    s.unmine();
    assert_eq!(s.state, before);
    assert_eq!(s.chain.utxos, utxos);
}

#[test]
fn the_same_offence_is_punished_once() {
    let mut s = Slashed::new(false);
    let v = validator_key(1);
    s.backed(&v);
    let ev = |r: u32, s: &Slashed| {
        evidence_tx(
            s.spec().chain_id,
            double_sign(&v, &s.domain, 2, r),
            s.reporter(),
        )
    };
    s.mine(vec![ev(0, &s)]).unwrap();
    let twice = StakingError::AlreadyPunished {
        validator: id(&v),
        height: 2,
    };
    // The same evidence again, and other evidence of the same offence
    // (another round of the same height).
    assert_eq!(s.refused(vec![ev(0, &s)]), twice);
    assert_eq!(s.refused(vec![ev(1, &s)]), twice);
    assert_eq!(twice.code(), "evidence-already-punished");
    // Both in one block.
    s.unmine();
    assert_eq!(s.refused(vec![ev(0, &s), ev(1, &s)]), twice);
    s.mine(vec![ev(0, &s)]).unwrap();
    // A double signer is slashed once: evidence of another height is
    // refused too, once it is jailed for good.
    let other = evidence_tx(
        s.spec().chain_id,
        double_sign(&v, &s.domain, 3, 0),
        s.reporter(),
    );
    let e = s.refused(vec![other]);
    assert_eq!(e, StakingError::Tombstoned(id(&v)));
    assert_eq!(e.code(), "validator-tombstoned");
    // A proposer leaves all of it out.
    let pending = [
        double_sign(&v, &s.domain, 2, 1),
        double_sign(&v, &s.domain, 3, 0),
    ];
    let h = s.chain.height() + 1;
    assert!(evidence_txs(&pending, &s.state, h, s.spec(), s.reporter()).is_empty());
    // Another validator's offence at the same height is its own; duplicates
    // in the pool go in once.
    let w = validator_key(2);
    let pending = [
        double_sign(&w, &s.domain, 2, 0),
        double_sign(&w, &s.domain, 2, 1),
    ];
    let txs = evidence_txs(&pending, &s.state, h, s.spec(), s.reporter());
    assert_eq!(txs.len(), 1);
    s.mine(txs).unwrap();
    assert!(s.state.is_punished(&id(&w), 2));
}

/// ADR 0069: an offence cuts only the unbonding stake that still backed
/// the offender's power when it was committed. With 5-block epochs, the
/// unstake of block 2 is left out by the election at block 5 and out of
/// the set in force from block 11; the unstake of block 12 is in it through
/// block 20. Evidence of an offence at height 11 cuts the own bond, the
/// delegation and the second entry, not the first.
#[test]
fn unbonding_that_no_longer_backed_the_offender_is_not_cut() {
    let mut s = Slashed::new(false);
    {
        let p = s.params();
        p.epoch_blocks = 5;
        p.unbonding_blocks = 20;
    }
    let v = validator_key(1);
    s.backed(&v);
    while s.chain.height() < 11 {
        s.mine(vec![]).unwrap();
    }
    s.mine(vec![s.unstake_min(&v)]).unwrap();
    assert_eq!(s.chain.height(), 12);
    let entries: Vec<(UnbondingKey, u64)> = s
        .state
        .unbonding_of(&id(&v))
        .map(|(k, e)| (*k, e.amount.base()))
        .collect();
    assert_eq!(
        entries
            .iter()
            .map(|(k, _)| k.release_height)
            .collect::<Vec<_>>(),
        vec![22, 32]
    );
    let params = s.spec().staking.clone().unwrap();
    for (h, first, second) in [
        (10, true, true),
        (11, false, true),
        (20, false, true),
        (21, false, false),
    ] {
        assert_eq!(
            s.state.unbonding_backed_at(&entries[0].0, h, &params),
            first,
            "{h}"
        );
        assert_eq!(
            s.state.unbonding_backed_at(&entries[1].0, h, &params),
            second,
            "{h}"
        );
    }
    // When the elections at 5 and 10 seat nobody, the genesis set stays in
    // force through 20, and both entries back it until then; the election
    // at 15 seats a set without either (both began before it), in force
    // from 21. (A note at a height that is no boundary is ignored.)
    {
        let mut kept = s.state.clone();
        let mut undo = StakingUndo::default();
        let spec = s.spec().clone();
        kept.note_election(5, false, &spec, &mut undo);
        kept.note_election(7, false, &spec, &mut undo);
        kept.note_election(10, false, &spec, &mut undo);
        kept.note_election(15, true, &spec, &mut undo);
        assert_eq!(kept.unseated().copied().collect::<Vec<_>>(), vec![5, 10]);
        for (h, first, second) in [(11, true, true), (20, true, true), (21, false, false)] {
            assert_eq!(
                kept.unbonding_backed_at(&entries[0].0, h, &params),
                first,
                "{h}"
            );
            assert_eq!(
                kept.unbonding_backed_at(&entries[1].0, h, &params),
                second,
                "{h}"
            );
        }
        // Kept in storage and in the state's encoding (and so its hash),
        // and undone.
        assert_eq!(StakingState::from_entries(kept.entries()).unwrap(), kept);
        assert_eq!(StakingState::decode_all(&kept.encode()).unwrap(), kept);
        assert_ne!(kept.hash(), s.state.hash());
        assert_eq!(StakingUndo::decode_all(&undo.encode()).unwrap(), undo);
        kept.undo(&undo);
        assert_eq!(kept, s.state);
        assert_eq!(kept.hash(), s.state.hash());
    }
    let before = s.state.clone();
    let tx = evidence_tx(
        s.spec().chain_id,
        double_sign(&v, &s.domain, 11, 0),
        s.reporter(),
    );
    s.mine(vec![tx]).unwrap();
    // 3 × MIN own, 2 × MIN delegated and the second entry's MIN: 6 × MIN
    // × 1/20. The first entry keeps all of its MIN.
    let val = s.state.validator(&id(&v)).unwrap();
    assert_eq!(val.self_bond, amount(3 * MIN - 3 * MIN / 20));
    assert_eq!(val.delegated, amount(2 * MIN - 2 * MIN / 20));
    let after: Vec<u64> = s
        .state
        .unbonding_of(&id(&v))
        .map(|(_, e)| e.amount.base())
        .collect();
    assert_eq!(after, vec![MIN, MIN - MIN / 20]);
    let cut = 6 * MIN / 20;
    assert_eq!(s.state.burned(), amount(cut - cut / 10));
    s.unmine();
    assert_eq!(s.state, before);
}

/// ADR 0069, amended: an unbonding entry is released at the first block at
/// or after its release height at which its stake backs no set in force
/// or elected, so an offence of its validator while that stake still
/// gives it power has something to cut. With 5-block epochs and 3 blocks
/// of unbonding (shorter than two epochs): the unstake of block 2 (due at
/// 5) backs the set the election at 5 keeps in force through 10 and is
/// released at 11; the unstake of block 12 (due at 15) backs the set in
/// force through 20 — through 25 when the election at 15 seats nobody —
/// is cut by a double sign at 23 and released, cut, at 26. Each release
/// disconnects exactly.
#[test]
fn unbonding_is_held_while_it_backs_a_set() {
    let mut s = Slashed::new(false);
    {
        let p = s.params();
        p.epoch_blocks = 5;
        p.unbonding_blocks = 3;
    }
    let params = s.spec().staking.clone().unwrap();
    let v = validator_key(1);
    s.backed(&v);
    let first = *s.state.unbonding_of(&id(&v)).next().unwrap().0;
    assert_eq!(first.release_height, 5);
    while s.chain.height() < 10 {
        s.mine(vec![]).unwrap();
        let h = s.chain.height();
        assert!(s.state.unbonding_backed_at(&first, h, &params), "{h}");
        if h >= 5 {
            // Held: still unbonding, still slashable, no coin yet.
            assert!(!s.chain.utxos.contains_key(&first.outpoint), "{h}");
            assert_eq!(s.state.total_unbonding(), u128::from(MIN), "{h}");
        }
        assert_eq!(
            s.state
                .expected_release(&first, &id(&v), &params, h + 1, None),
            11
        );
    }
    let before = s.state.clone();
    s.mine(vec![]).unwrap();
    let coin = s.chain.utxos[&first.outpoint];
    assert_eq!(
        (coin.output.amount, coin.output.lock, coin.height),
        (amount(MIN), lock_of(&s.chain.keys[0]), 11)
    );
    assert_eq!(s.state.total_unbonding(), 0);
    // Disconnected, the entry is back and its coin gone; connected again,
    // the same release.
    let after = s.state.clone();
    s.unmine();
    assert_eq!(s.state, before);
    assert!(!s.chain.utxos.contains_key(&first.outpoint));
    s.mine(vec![]).unwrap();
    assert_eq!(s.state, after);
    assert_eq!(s.state.hash(), after.hash());

    s.mine(vec![s.unstake_min(&v)]).unwrap();
    assert_eq!(s.chain.height(), 12);
    let second = *s.state.unbonding_of(&id(&v)).next().unwrap().0;
    assert_eq!(second.release_height, 15);
    assert_eq!(
        s.state
            .expected_release(&second, &id(&v), &params, 13, None),
        21
    );
    while s.chain.height() < 15 {
        s.mine(vec![]).unwrap();
    }
    // The election at 15 seats nobody (as the store records it with the
    // block): the set elected at 10 stays in force through 25.
    let spec = s.spec().clone();
    let undo = &mut s.undos.last_mut().unwrap().1;
    s.state.note_election(15, false, &spec, undo);
    assert_eq!(
        s.state
            .expected_release(&second, &id(&v), &params, 16, None),
        26
    );
    while s.chain.height() < 23 {
        s.mine(vec![]).unwrap();
        assert!(s.state.unbonding().any(|(k, _)| *k == second));
    }
    // A double sign at 23, reported in block 24, cuts the held entry with
    // the bonded stake: 3 × MIN own, 2 × MIN delegated, MIN unbonding.
    let ev = evidence_tx(
        s.spec().chain_id,
        double_sign(&v, &s.domain, 23, 0),
        s.reporter(),
    );
    s.mine(vec![ev]).unwrap();
    let cut: Vec<u64> = s
        .state
        .unbonding_of(&id(&v))
        .map(|(_, e)| e.amount.base())
        .collect();
    assert_eq!(cut, vec![MIN - MIN / 20]);
    s.mine(vec![]).unwrap();
    assert!(!s.chain.utxos.contains_key(&second.outpoint));
    let before = s.state.clone();
    s.mine(vec![]).unwrap();
    assert_eq!(s.chain.height(), 26);
    assert_eq!(
        s.chain.utxos[&second.outpoint].output.amount,
        amount(MIN - MIN / 20)
    );
    assert_eq!(s.state.total_unbonding(), 0);
    s.unmine();
    assert_eq!(s.state, before);
    assert!(!s.chain.utxos.contains_key(&second.outpoint));
}

#[test]
fn evidence_older_than_the_unbonding_period_is_refused() {
    let mut s = Slashed::new(false);
    let v = validator_key(1);
    s.backed(&v);
    // Blocks 1 and 2 exist; evidence of 1 is punishable through block
    // 1 + UNBONDING.
    for _ in s.chain.height()..UNBONDING {
        s.mine(vec![]).unwrap();
    }
    let ev = evidence_tx(
        s.spec().chain_id,
        double_sign(&v, &s.domain, 1, 0),
        s.reporter(),
    );
    let at = s.chain.height() + 1;
    assert_eq!(at, UNBONDING + 1);
    s.mine(vec![ev.clone()]).unwrap();
    s.unmine();
    s.mine(vec![]).unwrap();
    let e = s.refused(vec![ev.clone()]);
    assert_eq!(
        e,
        StakingError::EvidenceTooOld {
            height: 1,
            oldest: 2
        }
    );
    assert_eq!(e.code(), "evidence-too-old");
    // A proposer does not offer it.
    let h = s.chain.height() + 1;
    assert!(evidence_txs(
        &[double_sign(&v, &s.domain, 1, 0)],
        &s.state,
        h,
        s.spec(),
        s.reporter()
    )
    .is_empty());
}

#[test]
fn punished_offences_are_forgotten_once_too_old_to_name() {
    let mut s = Slashed::new(false);
    let v = validator_key(1);
    s.backed(&v);
    let ev = evidence_tx(
        s.spec().chain_id,
        double_sign(&v, &s.domain, 2, 0),
        s.reporter(),
    );
    s.mine(vec![ev]).unwrap();
    assert!(s.state.is_punished(&id(&v), 2));
    // Block 2 + UNBONDING still refuses it as punished; the next as too old,
    // and the record is gone.
    while s.chain.height() < 2 + UNBONDING {
        s.mine(vec![]).unwrap();
    }
    assert!(s.state.is_punished(&id(&v), 2));
    s.mine(vec![]).unwrap();
    assert!(!s.state.is_punished(&id(&v), 2));
    let before = s.state.clone();
    s.mine(vec![]).unwrap();
    s.unmine();
    s.unmine();
    assert!(s.state.is_punished(&id(&v), 2));
    s.mine(vec![]).unwrap();
    assert_eq!(s.state, before);
}

#[test]
fn evidence_needs_a_staking_state_entry_only_to_cut_stake() {
    // A member of the set with no stake (a genesis validator of a chain
    // that bonds none) is still jailed; nothing is cut or paid.
    let mut s = Slashed::new(false);
    let v = validator_key(4);
    let supply = s.supply();
    let tx = evidence_tx(
        s.spec().chain_id,
        double_sign(&v, &s.domain, 1, 0),
        s.reporter(),
    );
    let txid = tx.txid();
    s.mine(vec![tx.clone()]).unwrap();
    assert!(s.state.jail(&id(&v)).unwrap().slashed);
    assert!(!s.chain.utxos.contains_key(&release_outpoint(&tx, &txid)));
    assert_eq!(s.supply(), supply + u128::from(s.spec().subsidy(1).base()));
}

#[test]
fn a_fixed_supply_chain_keeps_the_cut_for_redistribution() {
    let mut s = Slashed::new(true);
    // On an account chain every payee must be an account: the dev keys'
    // genesis addresses are.
    let v = validator_key(1);
    s.backed(&v);
    let supply = s.supply();
    let height = s.chain.height() + 1;
    let tx = evidence_tx(
        s.spec().chain_id,
        double_sign(&v, &s.domain, 2, 0),
        s.reporter(),
    );
    s.mine(vec![tx]).unwrap();
    let cut = 7 * MIN / 20;
    let share = cut / 10;
    // Credited to the reward pot, paid out with the epoch's rewards.
    assert_eq!(s.state.pot(), amount(cut - share));
    // Nothing burned.
    assert_eq!(s.state.burned(), Amount::ZERO);
    assert_eq!(
        s.supply(),
        supply + u128::from(s.spec().subsidy(height).base())
    );
    // A reporter that is not an account: its share joins the pool.
    s.unmine();
    let stranger = lock_of(&validator_key(9));
    let tx = evidence_tx(
        s.spec().chain_id,
        double_sign(&v, &s.domain, 2, 0),
        stranger,
    );
    let txid = tx.txid();
    s.mine(vec![tx.clone()]).unwrap();
    assert_eq!(s.state.pot(), amount(cut));
    assert!(!s.chain.utxos.contains_key(&release_outpoint(&tx, &txid)));
}
