//! Proof-of-work fork choice through the node service: order independence,
//! a 3-deep reorganisation compared with a node that only saw the winner,
//! and the reorg depth limit.

use luminex_ledger::testkit::PowFields;
use std::collections::HashSet;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use luminex_consensus::mining::grind;
use luminex_consensus::pow::target_from_compact;
use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, transfer, TestChain};
use luminex_ledger::ChainSpec;
use luminex_primitives::{Amount, Block, SchemeId, Transaction, TxOut};
use luminex_service::Node;
use luminex_storage::ChainError;

use crate::support::memory_node_for;

/// qbtc with an easy proof of work for tests.
pub fn test_qbtc() -> ChainSpec {
    let mut s = ChainSpec::preset("qbtc").unwrap();
    s.genesis.bits = 0x207fffff;
    s.pow.as_mut().unwrap().pow_limit_bits = 0x207fffff;
    s.coinbase_maturity = 1;
    s
}

/// Grinds the nonce until the header meets its target.
pub fn solve(b: &mut Block) {
    let target = target_from_compact(b.header.pow().bits).unwrap();
    b.header.pow_mut().nonce =
        grind(b.header.pow(), target, 0, u32::MAX, &AtomicBool::new(false)).unwrap();
}

/// Builds a branch of valid proof-of-work blocks.
struct Builder(TestChain);

impl Builder {
    fn new(spec: &ChainSpec, base: &[Block]) -> Builder {
        let mut c = TestChain::new(spec.clone());
        for b in base {
            c.connect(b.clone()).unwrap();
        }
        Builder(c)
    }

    /// A block `step` seconds after the tip with `txs`.
    fn mine(&mut self, txs: Vec<Transaction>, step: u32) -> Block {
        let fees = self.0.fees_of(&txs);
        let mut b = self.0.build_block(txs, fees);
        b.header.pow_mut().time = self.0.tip().pow().time + step;
        solve(&mut b);
        self.0.connect(b.clone()).unwrap();
        b
    }

    fn blocks(&self) -> Vec<Block> {
        self.0.blocks[1..].to_vec()
    }
}

/// A base chain of `base_len` blocks and two branches on it: `a_len`
/// blocks one second apart and `b_len` blocks two seconds apart.
fn fork(
    spec: &ChainSpec,
    base_len: usize,
    a_len: usize,
    b_len: usize,
) -> (Builder, Builder, Builder) {
    let mut base = Builder::new(spec, &[]);
    for _ in 0..base_len {
        base.mine(vec![], 1);
    }
    let mut a = Builder::new(spec, &base.blocks());
    let mut b = Builder::new(spec, &base.blocks());
    for _ in 0..a_len {
        a.mine(vec![], 1);
    }
    for _ in 0..b_len {
        b.mine(vec![], 2);
    }
    (base, a, b)
}

fn feed(node: &Node, blocks: &[Block]) {
    for b in blocks {
        node.accept_block(b).unwrap();
    }
}

fn mempool(node: &Node) -> HashSet<luminex_primitives::Hash> {
    node.mempool.read().entries().map(|e| e.txid).collect()
}

#[test]
fn blocks_in_any_order_end_on_the_same_most_work_tip() {
    let spec = test_qbtc();
    let (base, a, b) = fork(&spec, 2, 3, 5);
    let winner = b.0.tip().hash();
    let a_only = &a.blocks()[2..];
    let b_only = &b.blocks()[2..];
    let mut orders: Vec<Vec<Block>> = vec![
        [base.blocks(), a_only.to_vec(), b_only.to_vec()].concat(),
        [base.blocks(), b_only.to_vec(), a_only.to_vec()].concat(),
    ];
    // Newest first: every block but the last is an orphan when it arrives.
    let mut rev = orders[0].clone();
    rev.reverse();
    orders.push(rev);
    // Interleaved.
    let mut mixed = base.blocks();
    for (i, x) in b_only.iter().enumerate() {
        if let Some(y) = a_only.get(i) {
            mixed.push(y.clone());
        }
        mixed.push(x.clone());
    }
    orders.push(mixed);
    let mut sets = Vec::new();
    for order in orders {
        let node = memory_node_for(spec.clone());
        for blk in &order {
            let _ = node.accept_block(blk).unwrap();
        }
        assert_eq!(node.chain.tip().hash, winner);
        assert_eq!(node.chain.tip().height, 7);
        node.chain.check_consistency().unwrap();
        sets.push(node.chain.all_utxos().unwrap());
    }
    assert!(sets.windows(2).all(|w| w[0] == w[1]));
    assert_eq!(sets[0], b.0.utxos);
}

/// A chain where `k1` owns two coins, and a payment from each.
fn two_payments(spec: &ChainSpec) -> (Builder, Transaction, Transaction, SigningKey, SigningKey) {
    let mut base = Builder::new(spec, &[]);
    let dev = spec.dev_key(0).unwrap();
    let k1 = SigningKey::from_seed(SchemeId::MlDsa44, &[1; 32]);
    let alice = SigningKey::from_seed(SchemeId::MlDsa44, &[2; 32]);
    let bob = SigningKey::from_seed(SchemeId::MlDsa44, &[3; 32]);
    let coins = base.0.coins_of(&lock_of(&dev));
    let each = TxOut {
        amount: Amount::from_coins(10).unwrap(),
        lock: lock_of(&k1),
    };
    let fund = transfer(spec, &dev, &coins, vec![each, each]);
    base.mine(vec![fund.clone()], 1);
    let c = base.0.coins_of(&lock_of(&k1));
    let pay = |i: usize, to: &SigningKey| {
        transfer(
            spec,
            &k1,
            &c[i..=i],
            vec![TxOut {
                amount: Amount::from_coins(4).unwrap(),
                lock: lock_of(to),
            }],
        )
    };
    let (x, y) = (pay(0, &alice), pay(1, &bob));
    (base, x, y, alice, bob)
}

#[test]
fn a_three_block_reorg_leaves_the_state_of_a_node_that_only_saw_the_winner() {
    let spec = test_qbtc();
    let (base, x, y, alice, bob) = two_payments(&spec);
    let mut a = Builder::new(&spec, &base.blocks());
    a.mine(vec![x.clone()], 1);
    a.mine(vec![], 1);
    a.mine(vec![], 1);
    let mut b = Builder::new(&spec, &base.blocks());
    b.mine(vec![y.clone()], 2);
    for _ in 0..3 {
        b.mine(vec![], 2);
    }

    let saw_both = memory_node_for(spec.clone());
    feed(&saw_both, &a.blocks());
    assert_eq!(saw_both.chain.tip().hash, a.0.tip().hash());
    assert_eq!(
        saw_both.chain.balance(&lock_of(&alice)).unwrap().0,
        Amount::from_coins(4).unwrap()
    );
    let acc = saw_both.accept_block(b.blocks().last().unwrap());
    // The last block of B arrives first: an orphan until its parents come.
    assert!(acc.is_ok());
    feed(&saw_both, &b.blocks());
    assert_eq!(saw_both.chain.tip().hash, b.0.tip().hash());

    let only_winner = memory_node_for(spec.clone());
    feed(&only_winner, &b.blocks());
    only_winner.submit(x.clone()).unwrap();

    assert_eq!(
        saw_both.chain.all_utxos().unwrap(),
        only_winner.chain.all_utxos().unwrap()
    );
    for k in [&alice, &bob] {
        assert_eq!(
            saw_both.chain.balance(&lock_of(k)).unwrap(),
            only_winner.chain.balance(&lock_of(k)).unwrap()
        );
    }
    assert_eq!(
        saw_both.chain.balance(&lock_of(&alice)).unwrap().0,
        Amount::ZERO
    );
    // x was disconnected with branch A and is pending again.
    assert_eq!(mempool(&saw_both), mempool(&only_winner));
    assert!(mempool(&saw_both).contains(&x.txid()));
    saw_both.chain.check_consistency().unwrap();
    // A transaction of the losing branch is no longer indexed.
    assert!(saw_both.chain.transaction(&x.txid()).unwrap().is_none());
}

#[test]
fn reorgs_deeper_than_the_limit_are_refused() {
    let mut spec = test_qbtc();
    spec.max_reorg_depth = 2;
    let (_base, a, b) = fork(&spec, 1, 3, 4);
    let node = memory_node_for(spec);
    feed(&node, &a.blocks());
    // B forks 3 blocks below A's tip: switching would be a 3-deep reorg.
    let b_only = &b.blocks()[1..];
    assert!(matches!(
        node.accept_block(&b_only[0]),
        Err(ChainError::ReorgTooDeep { depth: 3, max: 2 })
    ));
    // Not stored, so the rest of B waits as orphans and never switches.
    assert!(node.chain.header(&b_only[0].hash()).unwrap().is_none());
    for blk in &b_only[1..] {
        assert_eq!(
            node.accept_block(blk).unwrap().status,
            luminex_storage::AcceptStatus::Orphan
        );
    }
    assert_eq!(node.chain.tip().hash, a.0.tip().hash());
    node.chain.check_consistency().unwrap();
}

/// A side branch within the limit is kept; the switch itself is refused when
/// the branch grows past the limit before overtaking.
#[test]
fn a_side_branch_is_kept_only_within_the_reorg_limit() {
    let mut spec = test_qbtc();
    spec.max_reorg_depth = 2;
    let mut base = Builder::new(&spec, &[]);
    base.mine(vec![], 1);
    let mut a = Builder::new(&spec, &base.blocks());
    let mut b = Builder::new(&spec, &base.blocks());
    let node = memory_node_for(spec);
    feed(&node, &base.blocks());
    let a1 = a.mine(vec![], 1);
    let a2 = a.mine(vec![], 1);
    feed(&node, &[a1, a2]);
    // B1 forks 2 deep: allowed and stored as a side branch.
    let b1 = b.mine(vec![], 2);
    assert_eq!(
        node.accept_block(&b1).unwrap().status,
        luminex_storage::AcceptStatus::SideBranch
    );
    // A grows: B now forks 3 deep and B2 is refused.
    let a3 = a.mine(vec![], 1);
    node.accept_block(&a3).unwrap();
    let b2 = b.mine(vec![], 2);
    assert!(matches!(
        node.accept_block(&b2),
        Err(ChainError::ReorgTooDeep { .. })
    ));
    assert_eq!(node.chain.tip().hash, a3.hash());
}

#[test]
fn invalid_work_and_bits_are_rejected_before_storing() {
    let spec = test_qbtc();
    let node: Arc<Node> = memory_node_for(spec.clone());
    let mut b = Builder::new(&spec, &[]);
    let good = b.mine(vec![], 1);
    let mut wrong_bits = good.clone();
    wrong_bits.header.pow_mut().bits = 0x1f7fffff;
    solve(&mut wrong_bits);
    assert!(matches!(
        node.accept_block(&wrong_bits),
        Err(ChainError::Invalid(
            luminex_ledger::BlockError::BadBits { .. }
        ))
    ));
    let mut high = good.clone();
    while luminex_consensus::pow::hash_value(&high.hash())
        <= target_from_compact(high.header.pow().bits).unwrap()
    {
        high.header.pow_mut().nonce += 1;
    }
    assert!(matches!(
        node.accept_block(&high),
        Err(ChainError::Invalid(luminex_ledger::BlockError::HighHash(_)))
    ));
    assert!(
        node.chain.header(&high.hash()).unwrap().is_none(),
        "nothing stored"
    );
    node.accept_block(&good).unwrap();
    assert_eq!(node.chain.tip().height, 1);
}
