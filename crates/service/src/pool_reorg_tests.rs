//! The mempool across a proof-of-work reorganisation: what cannot come
//! back takes its spenders with it, and a pool saved after a
//! reorganisation reloads whole.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use luminex_consensus::mining::grind;
use luminex_consensus::pow::target_from_compact;
use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, transfer, PowFields, TestChain};
use luminex_ledger::{ChainSpec, Coin};
use luminex_primitives::{Amount, Block, OutPoint, SchemeId, Transaction, TxOut};

use crate::testkit::memory_node_for;
use crate::Node;

fn test_qbtc() -> ChainSpec {
    let mut s = ChainSpec::preset("qbtc").unwrap();
    s.genesis.bits = 0x207fffff;
    s.pow.as_mut().unwrap().pow_limit_bits = 0x207fffff;
    s.coinbase_maturity = 1;
    s
}

fn solve(b: &mut Block) {
    let target = target_from_compact(b.header.pow().bits).unwrap();
    b.header.pow_mut().nonce =
        grind(b.header.pow(), target, 0, u32::MAX, &AtomicBool::new(false)).unwrap();
}

struct Builder(TestChain);

impl Builder {
    fn new(spec: &ChainSpec, base: &[Block]) -> Builder {
        let mut c = TestChain::new(spec.clone());
        for b in base {
            c.connect(b.clone()).unwrap();
        }
        Builder(c)
    }
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

fn key(i: u8) -> SigningKey {
    SigningKey::from_seed(SchemeId::MlDsa44, &[i; 32])
}

fn pay(
    spec: &ChainSpec,
    from: &SigningKey,
    coin: (OutPoint, Coin),
    to: &SigningKey,
) -> Transaction {
    // Four coins from a parent's ten, three from a child's four.
    let coins = if coin.1.output.amount > Amount::from_coins(4).unwrap() {
        4
    } else {
        3
    };
    transfer(
        spec,
        from,
        &[coin],
        vec![TxOut {
            amount: Amount::from_coins(coins).unwrap(),
            lock: lock_of(to),
        }],
    )
}

fn output(tx: &Transaction, vout: u32, height: u64) -> (OutPoint, Coin) {
    (
        OutPoint {
            txid: tx.txid(),
            vout,
        },
        Coin {
            output: tx.outputs[vout as usize],
            height,
            is_coinbase: false,
        },
    )
}

/// Base: one block funding `k1` with a coin. Returns it and that coin.
fn funded(spec: &ChainSpec) -> (Builder, (OutPoint, Coin)) {
    let mut base = Builder::new(spec, &[]);
    let dev = spec.dev_key(0).unwrap();
    let coins = base.0.coins_of(&lock_of(&dev));
    let fund = transfer(
        spec,
        &dev,
        &coins,
        vec![TxOut {
            amount: Amount::from_coins(10).unwrap(),
            lock: lock_of(&key(1)),
        }],
    );
    base.mine(vec![fund], 1);
    let coin = base.0.coins_of(&lock_of(&key(1)))[0];
    (base, coin)
}

fn feed(node: &Node, blocks: &[Block]) {
    for b in blocks {
        node.accept_block(b).unwrap();
    }
}

/// A node that followed branch A, confirming `p` (k1 → alice), took `c`
/// (alice spending p's output) into its pool, then switched to branch B,
/// two blocks long, whose first block confirms a rival spend of k1's coin
/// (k1 → bob) when `rival`, and nothing otherwise. Returns the node, `p`
/// and `c`.
fn switched_under_a_child(spec: &ChainSpec, rival: bool) -> (Arc<Node>, Transaction, Transaction) {
    let (base, coin) = funded(spec);
    let (alice, bob, carol) = (key(2), key(3), key(4));
    let p = pay(spec, &key(1), coin, &alice);
    let mut a = Builder::new(spec, &base.blocks());
    a.mine(vec![p.clone()], 1);
    let mut b = Builder::new(spec, &base.blocks());
    let first = if rival {
        vec![pay(spec, &key(1), coin, &bob)]
    } else {
        vec![]
    };
    b.mine(first, 2);
    b.mine(vec![], 2);
    let node = memory_node_for(spec.clone());
    feed(&node, &base.blocks());
    feed(&node, &a.blocks()[base.blocks().len()..]);
    let c = pay(spec, &alice, output(&p, 0, node.chain.tip().height), &carol);
    node.submit(c.clone()).unwrap();
    feed(&node, &b.blocks()[base.blocks().len()..]);
    assert_eq!(node.chain.tip().hash, b.0.tip().hash(), "switched to B");
    (node, p, c)
}

/// Branch A confirms `p` (k1 → alice); the pool takes `c`, alice spending
/// p's output. Branch B, longer, confirms `p2`, a rival spend of k1's coin.
/// After the switch `p` cannot come back, so `c` spends an output that
/// exists nowhere: it must leave the pool. It stays, every template
/// carries it, and every block mined from one is refused (the built-in
/// miner and Stratum jobs just log it and mine the same template again).
#[test]
fn a_reorg_drops_pool_children_of_transactions_it_cannot_readmit() {
    let spec = test_qbtc();
    let (node, p, c) = switched_under_a_child(&spec, true);
    assert!(
        !node.mempool.read().contains(&p.txid()),
        "p conflicts with B"
    );

    let (mut block, _) = node.block_template(lock_of(&key(3))).unwrap();
    solve(&mut block);
    let mined = node.accept_block(&block);
    assert!(
        mined.is_ok(),
        "a block mined from the node's own template is refused: {mined:?}"
    );
    assert!(
        !node.mempool.read().contains(&c.txid()),
        "c spends an output of a transaction that no longer exists"
    );
}

/// After a reorganisation re-admits a disconnected parent behind a child
/// the pool already held, `save_mempool`'s "admission order (parents
/// before children)" puts the child first, and `load_mempool` at the next
/// start drops it (its input is not there yet).
#[test]
fn a_saved_pool_reloads_whole_after_a_reorg_readmitted_a_parent() {
    let spec = test_qbtc();
    let (node, p, c) = switched_under_a_child(&spec, false);
    {
        let pool = node.mempool.read();
        assert!(pool.contains(&p.txid()) && pool.contains(&c.txid()));
    }

    let path = std::env::temp_dir().join(format!("luminex-pool-reorg-{}.dat", std::process::id()));
    assert_eq!(node.save_mempool(&path).unwrap(), 2);
    // A restart: an empty pool on the same chain, reloaded from the file.
    *node.mempool.write() =
        crate::mempool_for(&node.chain, spec.clone(), node.cache.clone(), 64 << 20);
    let (admitted, dropped) = node.load_mempool(&path).unwrap();
    assert_eq!(
        (admitted, dropped),
        (2, 0),
        "the child was saved before its parent and dropped on reload"
    );
    // The file stays until the next clean stop replaces it: a start that
    // fails after loading it (a port in use), or a crash soon after, finds
    // the same transactions again.
    *node.mempool.write() =
        crate::mempool_for(&node.chain, spec.clone(), node.cache.clone(), 64 << 20);
    assert_eq!(node.load_mempool(&path).unwrap(), (2, 0));
    let _ = std::fs::remove_file(&path);
}

/// An authority change is checked after the changes the pool holds: on
/// `poa`'s four development validators, removals of validators 1, 2 and 3
/// are each admitted (validator 0 is left), and a removal of validator 0
/// after them is refused at once — the set would be empty — where it was
/// admitted and then dropped by every proposer until it expired.
#[test]
fn an_authority_change_is_checked_after_the_pooled_ones() {
    use luminex_ledger::authority::{add_signature, unsigned_change};
    use luminex_ledger::{AuthorityError, TxError};
    use luminex_mempool::MempoolError;
    use luminex_primitives::AuthorityChange;

    let spec = luminex_ledger::ChainSpec::preset("poa").unwrap();
    let node = crate::testkit::memory_node_for(spec.clone());
    let genesis = spec.genesis_hash();
    let keys: Vec<luminex_crypto::SigningKey> = (0..4)
        .map(|i| {
            luminex_crypto::SigningKey::from_seed(
                spec.default_scheme,
                &luminex_ledger::ChainSpec::dev_validator_seed(i),
            )
        })
        .collect();
    let removal = |i: usize| {
        let mut tx = unsigned_change(
            &spec,
            AuthorityChange {
                effective_height: 20 + i as u64,
                public_key: keys[i].public_key().clone(),
                power: 0,
            },
            10,
        );
        // Three of the four sign: more than two thirds of the power.
        for k in &keys[..3] {
            add_signature(&mut tx, &genesis, k);
        }
        tx
    };
    for i in 1..4 {
        node.submit(removal(i)).unwrap();
    }
    match node.submit(removal(0)) {
        Err(MempoolError::Invalid(TxError::Authority(AuthorityError::InvalidSet(_)))) => {}
        other => panic!("the last authority removed with three pooled: {other:?}"),
    }
    assert_eq!(node.mempool.read().len(), 3);
}

/// A spend of a coinbase that was mature at the next height stops being so
/// when `invalidateblock` takes the tip away: it leaves the pool with its
/// child, and the next block is made (it stayed, every template carried
/// it, and mining stopped until a restart — a live walk).
#[test]
fn a_spend_of_a_coinbase_made_immature_by_a_reorg_leaves_the_pool() {
    let mut spec = ChainSpec::preset("dev").unwrap();
    spec.coinbase_maturity = 2;
    let node = memory_node_for(spec.clone());
    let first = node.produce_block().unwrap();
    let tip = node.produce_block().unwrap();
    // The coinbase of block 1 matures at height 3, the next.
    let op = OutPoint {
        txid: first.txs[0].txid(),
        vout: 0,
    };
    let coin = (op, node.chain.coin(&op).unwrap().unwrap());
    assert!(coin.1.is_coinbase && coin.1.height == 1);
    let k0 = node.spec.dev_key(0).unwrap();
    let spend = transfer(
        &spec,
        &k0,
        &[coin],
        vec![TxOut {
            amount: Amount::from_coins(10).unwrap(),
            lock: lock_of(&key(2)),
        }],
    );
    node.submit(spend.clone()).unwrap();
    let child = pay(&spec, &key(2), output(&spend, 0, 0), &key(3));
    node.submit(child.clone()).unwrap();

    node.invalidate_block(&tip.hash()).unwrap();
    assert_eq!(node.chain.tip().height, 1);
    let pool = node.mempool.read();
    assert!(!pool.contains(&spend.txid()), "matures at 3, the next is 2");
    assert!(!pool.contains(&child.txid()), "its child goes with it");
    drop(pool);
    // Paying elsewhere than the invalidated block did, so not that block.
    let (block, _) = node.block_template(lock_of(&key(3))).unwrap();
    let made = node.accept_block(&block);
    assert!(made.is_ok(), "the next block is made: {made:?}");
    assert_eq!(node.chain.tip().height, 2);
}
