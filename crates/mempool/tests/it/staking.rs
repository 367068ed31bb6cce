//! Staking transactions in the pool (ADR 0031): each is checked against the
//! staking state after the tip plus the pool's earlier admissions, and a
//! block built from the pool always connects, whatever the fee order.

use luminex_crypto::SigningKey;
use luminex_ledger::staking::{RewardRule, StakingParams, StakingState};
use luminex_ledger::testkit::{lock_of, sign_all, TestChain};
use luminex_ledger::{connect_block, BlockError, ChainSpec, Coin, SigCache, StakingError, TxError};
use luminex_mempool::{Mempool, MempoolError};
use luminex_primitives::{
    Amount, Block, Delegation, Hash, Heartbeat, Lock, NodeRegistration, OutPoint, SchemeId, Stake,
    Transaction, TxKind, TxOut, Unbond, Witness,
};

const MIN: u64 = 1_000_000;

fn amount(n: u64) -> Amount {
    Amount::from_base(n).unwrap()
}

/// A dev chain with a `[staking]` table, its staking state, and a pool
/// following it as a node's does.
struct Staked {
    chain: TestChain,
    state: StakingState,
    pool: Mempool,
}

impl Staked {
    fn new() -> Staked {
        Staked::with_rewards(RewardRule::Proposer)
    }

    fn with_rewards(rewards: RewardRule) -> Staked {
        let mut spec = ChainSpec::preset("dev").unwrap();
        spec.staking = Some(StakingParams {
            rewards,
            ..StakingParams::new(amount(MIN), 3)
        });
        let state = StakingState::genesis(&spec);
        Staked {
            pool: Mempool::new(spec.clone(), SigCache::new(1000), 10_000_000),
            chain: TestChain::new(spec),
            state,
        }
    }

    fn height(&self) -> u64 {
        self.chain.height() + 1
    }

    /// The largest coin of dev key `i` not spent by the pool.
    fn coin(&self, i: usize) -> (OutPoint, Coin) {
        *self
            .chain
            .coins_of(&lock_of(&self.chain.keys[i]))
            .iter()
            .filter(|(op, _)| self.pool.spender(op).is_none())
            .max_by_key(|(_, c)| c.output.amount)
            .expect("a funded key")
    }

    /// A staking transaction paid by dev key `payer` with `fee`, acted by
    /// `actor`.
    fn tx(&self, payer: usize, kind: TxKind, actor: &SigningKey, fee: u64) -> Transaction {
        let spec = &self.chain.spec;
        let key = &self.chain.keys[payer];
        let (op, coin) = self.coin(payer);
        let change = coin.output.amount.base() - kind.bonded().base() - fee;
        let mut tx = Transaction {
            version: 1,
            chain_id: spec.chain_id,
            kind,
            inputs: vec![op],
            outputs: vec![TxOut {
                amount: amount(change),
                lock: coin.output.lock,
            }],
            expiry_height: 0,
            witnesses: vec![],
            data: Vec::new(),
        };
        sign_all(spec, &mut tx, key, &[coin.output]);
        let msg = tx
            .signature_message(&spec.genesis_hash(), &[coin.output])
            .unwrap();
        tx.witnesses.push(Witness::Key {
            public_key: actor.public_key().clone(),
            signature: actor.sign(&msg),
        });
        tx
    }

    fn accept(&mut self, tx: Transaction) -> Result<Hash, MempoolError> {
        let h = self.height();
        self.pool.accept(tx, &self.chain.utxos, h)
    }

    /// Connects a block of `txs` (UTXO tiers, then the staking state) and
    /// lets the pool follow.
    fn mine(&mut self, txs: Vec<Transaction>) -> Result<Block, BlockError> {
        let fees = self.chain.fees_of(&txs);
        let block = self.chain.build_block(txs, fees);
        let ctx = self.chain.context();
        let c = connect_block(
            &block,
            &self.chain.utxos,
            &ctx,
            &self.chain.spec,
            &self.chain.cache,
        )?;
        let undo =
            self.state
                .apply_block(&block, &c.txids, ctx.height, c.fees, &self.chain.spec)?;
        let mut changes = c.changes;
        changes.created.extend(undo.released.iter().copied());
        changes.apply_to(&mut self.chain.utxos);
        self.chain.blocks.push(block.clone());
        self.pool.block_connected(&block.txs, ctx.height);
        Ok(block)
    }

    /// Builds a block from the pool and connects it.
    fn mine_pool(&mut self) -> Result<Block, BlockError> {
        let reward = lock_of(&self.chain.keys[0]);
        let (txs, _) = self.pool.block_payload(self.height(), reward, &[])?;
        self.mine(txs.into_iter().skip(1).collect())
    }
}

fn validator(seed: u8) -> SigningKey {
    SigningKey::from_seed(SchemeId::MlDsa65, &[seed; 32])
}

fn id(k: &SigningKey) -> Hash {
    k.public_key().key_hash()
}

fn stake(k: &SigningKey, n: u64) -> TxKind {
    TxKind::Stake(Stake {
        validator: k.public_key().clone(),
        amount: amount(n),
    })
}

fn unstake(k: &SigningKey, n: u64, payout: Lock) -> TxKind {
    TxKind::Unstake(Unbond {
        validator: id(k),
        amount: amount(n),
        payout,
    })
}

fn staking_error(r: Result<Hash, MempoolError>) -> StakingError {
    match r {
        Err(MempoolError::Invalid(TxError::Staking(e))) => e,
        other => panic!("expected a staking refusal, got {other:?}"),
    }
}

const FEE: u64 = 200_000;

#[test]
fn below_minimum_and_second_unstake_are_refused_at_admission() {
    let mut s = Staked::new();
    let v = validator(1);
    let e = staking_error(s.accept(s.tx(0, stake(&v, MIN - 1), &v, FEE)));
    assert!(matches!(e, StakingError::BelowMinimum { .. }), "{e:?}");
    assert!(s.pool.is_empty());

    s.mine(vec![s.tx(0, stake(&v, 2 * MIN), &v, FEE)]).unwrap();
    let payout = lock_of(&v);
    s.accept(s.tx(1, unstake(&v, 2 * MIN, payout), &v, FEE))
        .unwrap();
    // The same stake again: the pool's first unstake took it.
    let e = staking_error(s.accept(s.tx(2, unstake(&v, MIN, payout), &v, FEE)));
    assert_eq!(e, StakingError::NotStaked(id(&v)));
    assert_eq!(
        MempoolError::Invalid(TxError::Staking(e)).code(),
        "not-staked"
    );
    assert_eq!(s.pool.len(), 1);
    s.mine_pool().unwrap();
    assert_eq!(s.state.validator(&id(&v)), None);
    assert!(s.pool.is_empty());
}

#[test]
fn a_delegation_may_follow_a_stake_in_the_pool() {
    let mut s = Staked::new();
    let v = validator(1);
    let d = s.chain.keys[2].clone();
    let delegate = TxKind::Delegate(Delegation {
        validator: id(&v),
        amount: amount(5_000),
    });
    let e = staking_error(s.accept(s.tx(2, delegate.clone(), &d, FEE)));
    assert_eq!(e, StakingError::UnknownValidator(id(&v)));
    s.accept(s.tx(0, stake(&v, MIN), &v, FEE)).unwrap();
    // Paying more than the stake it needs: first in fee order, yet the
    // block puts it after the stake.
    s.accept(s.tx(2, delegate, &d, 10 * FEE)).unwrap();
    let block = s.mine_pool().unwrap();
    assert_eq!(block.txs.len(), 3);
    assert!(matches!(block.txs[1].kind, TxKind::Stake(_)));
    assert!(matches!(block.txs[2].kind, TxKind::Delegate(_)));
    assert_eq!(s.state.bonded_power(&id(&v)), MIN + 5_000);
}

#[test]
fn a_block_built_from_conflicting_staking_transactions_is_valid() {
    let mut s = Staked::new();
    let v = validator(1);
    let payout = lock_of(&v);
    s.mine(vec![s.tx(0, stake(&v, MIN), &v, FEE)]).unwrap();
    // Admitted in this order: a top-up, then an unstake of everything,
    // which needs the top-up and pays a higher fee rate.
    s.accept(s.tx(1, stake(&v, MIN), &v, FEE)).unwrap();
    s.accept(s.tx(2, unstake(&v, 2 * MIN, payout), &v, 10 * FEE))
        .unwrap();
    let block = s.mine_pool().unwrap();
    assert_eq!(block.txs.len(), 3, "both, the top-up first");
    assert_eq!(s.state.validator(&id(&v)), None);

    // Another node mines an unstake of the same stake: the pool's own
    // unstake no longer applies and leaves; the next block is valid.
    s.mine(vec![s.tx(0, stake(&v, MIN), &v, FEE)]).unwrap();
    let mine = s.tx(1, unstake(&v, MIN, payout), &v, FEE);
    let txid = s.accept(mine).unwrap();
    let theirs = s.tx(3, unstake(&v, MIN, lock_of(&s.chain.keys[3])), &v, FEE);
    s.mine(vec![theirs]).unwrap();
    assert!(!s.pool.contains(&txid), "dropped: the stake is gone");
    s.mine_pool().unwrap();
}

#[test]
fn the_builder_leaves_out_what_the_base_refuses() {
    let mut s = Staked::new();
    let v = validator(1);
    let payout = lock_of(&v);
    s.mine(vec![s.tx(0, stake(&v, MIN), &v, FEE)]).unwrap();
    s.accept(s.tx(1, unstake(&v, MIN, payout), &v, FEE))
        .unwrap();
    // The pool's owner reports a tip whose state lacks the stake (as after
    // a reorganisation the owner learns of from its store): the unstake
    // leaves the pool, and nothing invalid is built.
    let dropped = s
        .pool
        .set_staking_state(StakingState::genesis(&s.chain.spec), s.height());
    assert_eq!(dropped.len(), 1);
    assert!(s.pool.is_empty());
    let (txs, _) = s
        .pool
        .block_payload(s.height(), lock_of(&s.chain.keys[0]), &[])
        .unwrap();
    assert_eq!(txs.len(), 1, "the coinbase alone");
}

#[test]
fn pools_of_chains_without_staking_refuse_staking_kinds_at_tier_one() {
    let mut chain = TestChain::dev();
    let v = validator(1);
    let mut pool = Mempool::new(chain.spec.clone(), SigCache::new(10), 1 << 20);
    chain.mine(vec![]).unwrap();
    let (op, coin) = chain.coins_of(&lock_of(&chain.keys[0]))[0];
    let mut tx = Transaction {
        version: 1,
        chain_id: chain.spec.chain_id,
        kind: stake(&v, MIN),
        inputs: vec![op],
        outputs: vec![],
        expiry_height: 0,
        witnesses: vec![],
        data: Vec::new(),
    };
    sign_all(&chain.spec, &mut tx, &chain.keys[0], &[coin.output]);
    let h = chain.height() + 1;
    match pool.accept(tx, &chain.utxos, h) {
        Err(MempoolError::Invalid(TxError::Staking(StakingError::Disabled))) => {}
        other => panic!("expected staking-disabled, got {other:?}"),
    }
}

/// Heartbeats (ADR 0038) in the pool: one per registered node and epoch is
/// admitted, a second one in the pool or after the first is mined is
/// refused, as is one for an unregistered node; on an
/// `equal_registered_nodes` chain the built block's coinbase claims nothing
/// and the fees wait in the pot.
#[test]
fn heartbeats_are_admitted_once_per_node_and_epoch() {
    let mut s = Staked::with_rewards(RewardRule::EqualRegisteredNodes);
    let n = validator(7);
    let beat = |epoch| {
        TxKind::Heartbeat(Heartbeat {
            node: id(&n),
            epoch,
        })
    };
    let e = staking_error(s.accept(s.tx(0, beat(0), &n, FEE)));
    assert_eq!(e, StakingError::UnknownNode(id(&n)));
    let register = TxKind::RegisterNode(NodeRegistration {
        node: n.public_key().clone(),
        payout: n.public_key().lock(),
    });
    // Refused without stake of its own (ADR 0063); admitted once bonded.
    let e = staking_error(s.accept(s.tx(0, register.clone(), &n, FEE)));
    assert_eq!(e.code(), "node-not-staked");
    s.accept(s.tx(1, stake(&n, MIN), &n, FEE)).unwrap();
    s.mine_pool().unwrap();
    s.accept(s.tx(0, register, &n, FEE)).unwrap();
    s.mine_pool().unwrap();
    let first = s.tx(0, beat(0), &n, FEE);
    s.accept(first.clone()).unwrap();
    let e = staking_error(s.accept(s.tx(1, beat(0), &n, 2 * FEE)));
    assert_eq!(
        e,
        StakingError::AlreadyLive {
            node: id(&n),
            epoch: 0
        }
    );
    let block = s.mine_pool().unwrap();
    assert_eq!(block.txs[1].txid(), first.txid());
    assert!(
        block.txs[0].outputs.is_empty(),
        "the coinbase claims nothing"
    );
    assert_eq!(s.state.last_heartbeat(&id(&n)), Some(0));
    // The pot: the three blocks' subsidies and fees.
    let subsidies: u64 = (1..=3).map(|h| s.chain.spec.subsidy(h).base()).sum();
    assert_eq!(s.state.pot(), amount(subsidies + 3 * FEE));
    let e = staking_error(s.accept(s.tx(1, beat(0), &n, FEE)));
    assert_eq!(e.code(), "heartbeat-already-sent");
    let e = staking_error(s.accept(s.tx(1, beat(1), &n, FEE)));
    assert_eq!(
        e,
        StakingError::HeartbeatEpoch {
            epoch: 1,
            current: 0
        }
    );
}

/// Double-signing evidence enters blocks through their proposers (ADR
/// 0039), never the pool: a well-formed `evidence` transaction is refused
/// with its own code, a policy refusal (not the sender's fault).
#[test]
fn evidence_transactions_are_not_relayed() {
    use luminex_ledger::ErrorClass;
    use luminex_primitives::{ChainDomain, DuplicateVoteEvidence, SignedVote, Vote, VoteKind};
    let mut s = Staked::new();
    let spec = s.chain.spec.clone();
    let v = SigningKey::from_seed(SchemeId::MlDsa44, &[4; 32]);
    let domain = ChainDomain::new(spec.chain_id, spec.genesis_hash());
    let vote = |b: u8| {
        let vote = Vote {
            kind: VoteKind::Precommit,
            height: 1,
            round: 0,
            block: Some(Hash([b; 32])),
            validator: v.public_key().key_hash(),
        };
        SignedVote {
            signature: v.sign(&vote.digest(&domain)),
            vote,
        }
    };
    let ev = DuplicateVoteEvidence {
        first: vote(1),
        second: vote(2),
    };
    let tx = luminex_ledger::evidence::evidence_tx(spec.chain_id, ev, lock_of(&s.chain.keys[0]));
    let e = s.pool.accept(tx, &s.chain.utxos, 1).unwrap_err();
    assert_eq!(e, MempoolError::EvidenceNotRelayed);
    assert_eq!(e.code(), "evidence-not-relayed");
    assert_eq!(e.class(), ErrorClass::Policy);
}

/// A dry run (`test_accept`, RPC `testmempoolaccept`) changes nothing even
/// when the staking view must be rebuilt first: a delegation whose stake
/// left the pool stays in it (the next insert drops it, not a test), and
/// the verdict is the rebuilt view's.
#[test]
fn test_accept_leaves_the_pool_as_it_is_when_the_staking_view_is_stale() {
    let mut s = Staked::new();
    let v = validator(1);
    let d = s.chain.keys[2].clone();
    let delegate = |n| {
        TxKind::Delegate(Delegation {
            validator: id(&v),
            amount: amount(n),
        })
    };
    let staked = s.accept(s.tx(0, stake(&v, MIN), &v, FEE)).unwrap();
    let delegation = s.accept(s.tx(2, delegate(5_000), &d, FEE)).unwrap();
    // The stake leaves (as the admin page's removal does): the view of
    // the pool's staking is to be rebuilt, and the delegation no longer
    // applies.
    s.pool.remove_with_descendants(&staked);
    assert!(s.pool.contains(&delegation));
    let h = s.height();
    let test = |s: &mut Staked, tx: Transaction| {
        let c = luminex_mempool::Candidate::new(tx, &s.chain.spec).unwrap();
        s.pool.test_accept(&c, &s.chain.utxos, h)
    };
    let other = validator(3);
    let unrelated = s.tx(1, stake(&other, MIN), &other, FEE);
    assert_eq!(test(&mut s, unrelated), Ok(amount(FEE)));
    assert!(s.pool.contains(&delegation), "a dry run dropped nothing");
    assert_eq!(s.pool.len(), 1);
    // Judged on the rebuilt view: the validator is unknown there.
    let again = s.tx(1, delegate(1_000), &s.chain.keys[1].clone(), FEE);
    match test(&mut s, again) {
        Err(MempoolError::Invalid(TxError::Staking(e))) => {
            assert_eq!(e, StakingError::UnknownValidator(id(&v)))
        }
        other => panic!("expected UnknownValidator, got {other:?}"),
    }
    assert_eq!(s.pool.len(), 1);
}
