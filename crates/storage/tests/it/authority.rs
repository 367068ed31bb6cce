//! Authority changes on a BFT chain (ADR 0025): more than two thirds of the
//! authorities in force add or remove one from a later height; the set
//! changes exactly there, certificates need a quorum of the new set, and
//! every malformed, under-signed, replayed or conflicting change is refused
//! by the proposer, the block rules and the mempool's check alike.

use std::sync::Arc;

use luminex_crypto::SigningKey;
use luminex_ledger::authority::{
    add_signature, check_authority_change, unsigned_change, AuthorityError, MAX_CHANGE_DELAY,
};
use luminex_ledger::{check_transaction, BlockError, ChainSpec, TxError};
use luminex_primitives::{Amount, AuthorityChange, Block, PublicKey, Transaction, TxOut, Witness};
use luminex_storage::{AcceptStatus, MemoryStore};

use crate::bft::{bft_spec, invalid, Net};

fn gov_net() -> Net {
    let mut spec = bft_spec();
    spec.bft.as_mut().unwrap().authority_changes = true;
    let mut net = Net::with_spec(Arc::new(MemoryStore::new()), spec);
    // A fifth key, not a validator at genesis.
    net.keys.push(SigningKey::from_seed(
        net.spec.default_scheme,
        &ChainSpec::dev_validator_seed(4),
    ));
    net
}

/// A change of `key` to `power` from `effective`, signed by `signers`.
fn change(
    net: &Net,
    key: &PublicKey,
    power: u64,
    effective: u64,
    expiry: u64,
    signers: &[usize],
) -> Transaction {
    let mut tx = unsigned_change(
        &net.spec,
        AuthorityChange {
            effective_height: effective,
            public_key: key.clone(),
            power,
        },
        expiry,
    );
    for i in signers {
        add_signature(&mut tx, &net.spec.genesis_hash(), &net.keys[*i]);
    }
    tx
}

/// Extends the chain by one block carrying `txs`, certified by `signers`.
fn extend(net: &Net, txs: Vec<Transaction>, signers: &[usize]) -> Block {
    let b = net.next_block_with(txs);
    let h = net.store.tip().height + 1;
    let cert = net.certify(&b, h, signers);
    assert_eq!(net.accept(&b, &cert).unwrap(), AcceptStatus::MainChain);
    b
}

/// The next block with `txs` forced in, as a proposer that skips the
/// rules would build it.
fn forced_block(net: &Net, txs: Vec<Transaction>) -> Block {
    let mut b = net.next_block();
    b.txs.extend(txs);
    let root = b.compute_merkle_root();
    b.header.set_merkle_root(root);
    b
}

/// Tells whether an error is the expected one.
type ErrorCheck = fn(&AuthorityError) -> bool;

fn authority_error(e: BlockError) -> AuthorityError {
    match e {
        BlockError::Tx {
            error: TxError::Authority(a),
            ..
        } => a,
        other => panic!("expected an authority error, got {other:?}"),
    }
}

#[test]
fn an_authority_joins_from_its_effective_height() {
    let net = gov_net();
    let new = net.keys[4].public_key().clone();
    // Three of four authorities sign: more than two thirds.
    let tx = change(&net, &new, 1, 5, 2, &[0, 1, 2]);
    let b1 = extend(&net, vec![tx.clone()], &[0, 1, 2]);
    assert_eq!(b1.txs.len(), 2, "the proposer keeps a valid change");
    assert_eq!(net.record(1).pending.len(), 1);
    // The set that finalizes block h is record(h - 1).validators.
    for h in 2..=3 {
        extend(&net, vec![], &[0, 1, 2]);
        assert_eq!(net.record(h).validators.len(), 4);
    }
    extend(&net, vec![], &[1, 2, 3]);
    let rec = net.record(4);
    assert_eq!(rec.validators.len(), 5);
    assert!(rec.validators.index_of(&new.key_hash()).is_some());
    assert!(rec.pending.is_empty());
    // Block 5 needs four of five now: the old three are not enough.
    let b5 = net.next_block();
    assert!(matches!(
        invalid(net.accept(&b5, &net.certify(&b5, 5, &[0, 1, 2]))),
        BlockError::BadCertificate(_)
    ));
    assert_eq!(
        net.accept(&b5, &net.certify(&b5, 5, &[0, 1, 2, 4]))
            .unwrap(),
        AcceptStatus::MainChain
    );
    // Once in force, the change cannot be carried again.
    let again = forced_block(&net, vec![tx]);
    assert!(matches!(
        authority_error(invalid(
            net.accept(&again, &net.certify(&again, 6, &[0, 1, 2, 4]))
        )),
        AuthorityError::Expired { .. }
    ));
}

#[test]
fn an_authority_is_removed_and_the_rest_carry_on() {
    let net = gov_net();
    let gone = net.keys[3].public_key().clone();
    extend(
        &net,
        vec![change(&net, &gone, 0, 4, 3, &[0, 1, 3])],
        &[0, 1, 2],
    );
    extend(&net, vec![], &[0, 1, 2]);
    extend(&net, vec![], &[0, 1, 2]);
    let rec = net.record(3);
    assert_eq!(rec.validators.len(), 3);
    assert!(rec.validators.index_of(&gone.key_hash()).is_none());
    // Two of the remaining three are not a quorum; all three are.
    let b4 = net.next_block();
    assert!(matches!(
        invalid(net.accept(&b4, &net.certify(&b4, 4, &[0, 1]))),
        BlockError::BadCertificate(_)
    ));
    assert_eq!(
        net.accept(&b4, &net.certify(&b4, 4, &[0, 1, 2])).unwrap(),
        AcceptStatus::MainChain
    );
}

#[test]
fn every_bad_change_is_refused() {
    let net = gov_net();
    let genesis = net.spec.genesis_hash();
    let new = net.keys[4].public_key().clone();
    let rec = net.record(0);
    let check = |tx: &Transaction| check_authority_change(tx, &rec, 1, &genesis, &[]);
    assert!(check(&change(&net, &new, 1, 5, 2, &[0, 1, 2])).is_ok());
    let cases: Vec<(Transaction, ErrorCheck)> = vec![
        // Two of four signers hold half the power.
        (change(&net, &new, 1, 5, 2, &[0, 1]), |e| {
            matches!(e, AuthorityError::NotEnoughPower { power: 2, .. })
        }),
        // The candidate cannot vote itself in.
        (change(&net, &new, 1, 5, 2, &[0, 1, 4]), |e| {
            matches!(e, AuthorityError::UnknownSigner(_))
        }),
        // Effective too soon: the next two sets are already fixed.
        (change(&net, &new, 1, 3, 2, &[0, 1, 2]), |e| {
            matches!(e, AuthorityError::TooSoon { .. })
        }),
        (
            change(&net, &new, 1, 2 + MAX_CHANGE_DELAY, 2, &[0, 1, 2]),
            |e| matches!(e, AuthorityError::TooFar { .. }),
        ),
        // Removing a key that is not an authority.
        (change(&net, &new, 0, 5, 2, &[0, 1, 2]), |e| {
            matches!(e, AuthorityError::NotAValidator(_))
        }),
        // An authority at the power it has.
        (
            change(&net, net.keys[0].public_key(), 1, 5, 2, &[0, 1, 2]),
            |e| matches!(e, AuthorityError::NoChange(_)),
        ),
        // Expired before this block.
        (change(&net, &new, 1, 5, 0, &[0, 1, 2]), |e| {
            matches!(e, AuthorityError::Expired { .. })
        }),
    ];
    for (tx, expected) in &cases {
        let e = check(tx).unwrap_err();
        assert!(expected(&e), "{e:?}");
    }
    // One signer twice.
    let mut twice = change(&net, &new, 1, 5, 2, &[0, 1]);
    twice.witnesses.push(twice.witnesses[0].clone());
    assert!(matches!(
        check(&twice),
        Err(AuthorityError::DuplicateSigner(_))
    ));
    // A signature over another change.
    let mut forged = change(&net, &new, 1, 5, 2, &[0, 1, 2]);
    let other = change(&net, &new, 1, 6, 2, &[0]);
    forged.witnesses[0] = other.witnesses[0].clone();
    assert!(matches!(
        check(&forged),
        Err(AuthorityError::BadSignature(_))
    ));
    // Signed for another chain: the signatures do not verify here.
    let mut foreign = change(&net, &new, 1, 5, 2, &[]);
    for k in &net.keys[..3] {
        add_signature(&mut foreign, &luminex_primitives::Hash([7; 32]), k);
    }
    assert!(matches!(
        check(&foreign),
        Err(AuthorityError::BadSignature(_))
    ));
    // A second change of the same key while the first is scheduled, in the
    // same block or a later one.
    let first = check(&change(&net, &new, 1, 5, 2, &[0, 1, 2])).unwrap();
    assert!(matches!(
        check_authority_change(
            &change(&net, &new, 2, 6, 2, &[0, 1, 2]),
            &rec,
            1,
            &genesis,
            &[first]
        ),
        Err(AuthorityError::AlreadyPending(_))
    ));
    // Removing the last authority would leave no validator at all.
    let removals: Vec<_> = (0..3)
        .map(|i| {
            check_authority_change(
                &change(&net, net.keys[i].public_key(), 0, 5, 2, &[0, 1, 2]),
                &rec,
                1,
                &genesis,
                &[],
            )
            .unwrap()
        })
        .collect();
    assert!(matches!(
        check_authority_change(
            &change(&net, net.keys[3].public_key(), 0, 5, 2, &[0, 1, 2]),
            &rec,
            1,
            &genesis,
            &removals
        ),
        Err(AuthorityError::InvalidSet(_))
    ));
    // Every set on the way must be usable, not only the last: removing all
    // four authorities from height 5 is refused even though a new one is
    // added from height 6 (the removals would leave no set at 5).
    let later_add = check(&change(&net, &new, 1, 6, 2, &[0, 1, 2])).unwrap();
    let mut scheduled = vec![later_add];
    for i in 0..3 {
        let removal = check_authority_change(
            &change(&net, net.keys[i].public_key(), 0, 5, 2, &[0, 1, 2]),
            &rec,
            1,
            &genesis,
            &scheduled,
        )
        .unwrap();
        scheduled.push(removal);
    }
    assert!(matches!(
        check_authority_change(
            &change(&net, net.keys[3].public_key(), 0, 5, 2, &[0, 1, 2]),
            &rec,
            1,
            &genesis,
            &scheduled
        ),
        Err(AuthorityError::InvalidSet(_))
    ));
    // The same four removals from height 6, with the add: one set, usable.
    let mut together = vec![scheduled[0].clone()];
    for i in 0..4 {
        let removal = check_authority_change(
            &change(&net, net.keys[i].public_key(), 0, 6, 2, &[0, 1, 2]),
            &rec,
            1,
            &genesis,
            &together,
        )
        .unwrap();
        together.push(removal);
    }
    // Tier 1: the shape of the transaction.
    let shape = |tx: &Transaction| match check_transaction(tx, &net.spec) {
        Err(TxError::Authority(e)) => e,
        other => panic!("expected an authority error, got {other:?}"),
    };
    let mut never = change(&net, &new, 1, 5, 0, &[0, 1, 2]);
    never.expiry_height = 0;
    assert!(matches!(shape(&never), AuthorityError::BadExpiry { .. }));
    let mut late = change(&net, &new, 1, 5, 6, &[0, 1, 2]);
    late.expiry_height = 6;
    assert!(matches!(shape(&late), AuthorityError::BadExpiry { .. }));
    let mut with_output = change(&net, &new, 1, 5, 2, &[0, 1, 2]);
    with_output.outputs.push(TxOut {
        amount: Amount::from_base(1).unwrap(),
        lock: new.lock(),
    });
    assert!(matches!(shape(&with_output), AuthorityError::Shape));
    let mut with_data = change(&net, &new, 1, 5, 2, &[0, 1, 2]);
    with_data.version = 2;
    with_data.data = vec![1];
    assert!(matches!(shape(&with_data), AuthorityError::Shape));
    let mut no_signers = change(&net, &new, 1, 5, 2, &[]);
    assert!(matches!(shape(&no_signers), AuthorityError::NoSigners));
    no_signers.witnesses.push(Witness::Key {
        public_key: new.clone(),
        signature: luminex_primitives::Signature {
            scheme: new.scheme,
            bytes: vec![0; 3],
        },
    });
    assert!(matches!(
        shape(&no_signers),
        AuthorityError::NotKeyWitness(0)
    ));
    let bad_key = PublicKey {
        scheme: new.scheme,
        bytes: vec![1; 5],
    };
    assert!(matches!(
        shape(&change(&net, &bad_key, 1, 5, 2, &[0, 1, 2])),
        AuthorityError::BadKey
    ));
}

#[test]
fn blocks_with_bad_changes_are_refused_and_proposers_drop_them() {
    let net = gov_net();
    let new = net.keys[4].public_key().clone();
    let weak = change(&net, &new, 1, 5, 2, &[0, 1]);
    // A proposer leaves out a change that is not valid on its tip.
    assert_eq!(net.next_block_with(vec![weak.clone()]).txs.len(), 1);
    // A block that carries one anyway is refused, and names it.
    let b = forced_block(&net, vec![weak.clone()]);
    match invalid(net.accept(&b, &net.certify(&b, 1, &[0, 1, 2]))) {
        BlockError::Tx {
            index: 1,
            txid,
            error: TxError::Authority(AuthorityError::NotEnoughPower { .. }),
        } => assert_eq!(txid, weak.txid()),
        other => panic!("unexpected {other:?}"),
    }
    // Two changes of one key in one block: the proposer keeps the first.
    let a = change(&net, &new, 1, 5, 2, &[0, 1, 2]);
    let b2 = change(&net, &new, 2, 6, 2, &[0, 1, 2]);
    let block = net.next_block_with(vec![a.clone(), b2.clone()]);
    assert_eq!(block.txs[1..], *std::slice::from_ref(&a));
    let both = forced_block(&net, vec![a, b2]);
    assert!(matches!(
        authority_error(invalid(
            net.accept(&both, &net.certify(&both, 1, &[0, 1, 2]))
        )),
        AuthorityError::AlreadyPending(_)
    ));
    // The good block connects after all that.
    assert_eq!(
        net.accept(&block, &net.certify(&block, 1, &[0, 1, 2]))
            .unwrap(),
        AcceptStatus::MainChain
    );
}

#[test]
fn chains_without_authority_changes_refuse_them() {
    let mut net = Net::with_spec(Arc::new(MemoryStore::new()), bft_spec());
    net.keys.push(SigningKey::from_seed(
        net.spec.default_scheme,
        &ChainSpec::dev_validator_seed(4),
    ));
    let tx = change(&net, net.keys[4].public_key(), 1, 5, 2, &[0, 1, 2]);
    assert_eq!(
        check_transaction(&tx, &net.spec),
        Err(TxError::Authority(AuthorityError::Disabled))
    );
    assert_eq!(net.next_block_with(vec![tx.clone()]).txs.len(), 1);
    let b = forced_block(&net, vec![tx]);
    assert!(matches!(
        authority_error(invalid(net.accept(&b, &net.certify(&b, 1, &[0, 1, 2])))),
        AuthorityError::Disabled
    ));
}
