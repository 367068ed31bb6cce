//! A slashing block in the chain store (ADR 0039): connecting it cuts the
//! stake, jails, records the offence and adds the reporter's coin;
//! reopening loads all of it; disconnecting it restores the staking state
//! and the UTXO set exactly, and the same evidence then connects again
//! (and only once).

use std::sync::Arc;

use luminex_crypto::SigningKey;
use luminex_ledger::evidence::evidence_tx;
use luminex_ledger::staking::{release_outpoint, StakingParams};
use luminex_ledger::testkit::{lock_of, staking_tx, PowFields, TestChain};
use luminex_ledger::{ChainSpec, SigCache};
use luminex_primitives::{
    Amount, Block, ChainDomain, DuplicateVoteEvidence, Hash, SchemeId, SignedVote, Stake, TxKind,
    Vote, VoteKind,
};
use luminex_storage::{ChainStore, KvStore, MemoryStore};

use crate::forks::open_store;

const MIN: u64 = 1_000_000;

fn open(kv: &Arc<dyn KvStore>, spec: &ChainSpec) -> ChainStore {
    open_store(kv.clone(), spec, |o| o.utxo_cache_bytes = 1 << 30)
}

fn accept(store: &ChainStore, b: &Block) -> Result<(), luminex_storage::ChainError> {
    store
        .accept_block(b, u64::from(b.header.pow().time), &SigCache::new(1))
        .map(|_| ())
}

fn double_sign(key: &SigningKey, domain: &ChainDomain, height: u64) -> DuplicateVoteEvidence {
    let vote = |b: u8| {
        let vote = Vote {
            kind: VoteKind::Prevote,
            height,
            round: 0,
            block: Some(Hash([b; 32])),
            validator: key.public_key().key_hash(),
        };
        SignedVote {
            signature: key.sign(&vote.digest(domain)),
            vote,
        }
    };
    DuplicateVoteEvidence {
        first: vote(1),
        second: vote(2),
    }
    .canonical()
}

#[test]
fn a_slashing_block_connects_reopens_and_disconnects_exactly() {
    let mut spec = ChainSpec::preset("dev").unwrap();
    spec.staking = Some(StakingParams::new(Amount::from_base(MIN).unwrap(), 10));
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let mut store = open(&kv, &spec);
    let mut chain = TestChain::new(spec.clone());
    let domain = ChainDomain::new(spec.chain_id, spec.genesis_hash());
    let v = SigningKey::from_seed(SchemeId::MlDsa44, &[7; 32]);
    let id = v.public_key().key_hash();
    let coin = chain.coins_of(&lock_of(&chain.keys[0]))[0];
    let stake = TxKind::Stake(Stake {
        validator: v.public_key().clone(),
        amount: Amount::from_base(20 * MIN).unwrap(),
    });
    let tx = staking_tx(&spec, &chain.keys[0], &[coin], stake, Some(&v));
    let b1 = chain.mine(vec![tx]).unwrap();
    accept(&store, &b1).unwrap();
    let state = store.staking_state();
    let utxos = store.all_utxos().unwrap();

    let reporter = lock_of(&chain.keys[2]);
    let ev = evidence_tx(spec.chain_id, double_sign(&v, &domain, 1), reporter);
    let txid = ev.txid();
    let b2 = chain.mine(vec![ev.clone()]).unwrap();
    accept(&store, &b2).unwrap();
    // 1/20 of 20 × MIN cut, a tenth of it paid to the reporter.
    let cut = MIN;
    assert_eq!(store.with_staking(|s| s.bonded_power(&id)), 20 * MIN - cut);
    assert!(store.with_staking(|s| s.jail(&id).unwrap().slashed));
    assert!(store.with_staking(|s| s.is_punished(&id, 1)));
    let paid = store.coin(&release_outpoint(&ev, &txid)).unwrap().unwrap();
    assert_eq!(paid.output.amount, Amount::from_base(cut / 10).unwrap());
    assert_eq!(paid.output.lock, reporter);
    store.check_consistency().unwrap();
    let slashed = store.staking_state();
    let slashed_utxos = store.all_utxos().unwrap();

    // The same evidence again (another block on top) is refused.
    let again = chain.build_block(vec![ev.clone()], Amount::ZERO);
    assert!(accept(&store, &again).is_err());
    assert_eq!(store.staking_state(), slashed);

    // An unclean close: everything loads back, the reporter's coin too.
    store.close_without_flush();
    store = open(&kv, &spec);
    assert_eq!(store.staking_state(), slashed);
    assert_eq!(store.all_utxos().unwrap(), slashed_utxos);
    store.check_consistency().unwrap();

    // Disconnecting restores the state and the coins exactly.
    store.disconnect_tip().unwrap();
    assert_eq!(store.staking_state(), state);
    assert_eq!(store.all_utxos().unwrap(), utxos);
    assert_eq!(store.coin(&release_outpoint(&ev, &txid)).unwrap(), None);
    store.check_consistency().unwrap();
    // Also after a reopen, which reconnects the stored best branch.
    drop(store);
    let store = open(&kv, &spec);
    assert_eq!(store.tip().hash, b2.hash());
    assert_eq!(store.staking_state(), slashed);
    store.check_consistency().unwrap();
}
