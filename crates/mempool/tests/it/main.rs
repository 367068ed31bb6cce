//! Mempool behaviour: admission, conflicts, chains, order, cap, expiry,
//! staking.

mod eviction;
mod staking;

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, sign_all, TestChain};
use luminex_ledger::{Coin, SigCache, TxError};
use luminex_mempool::{ChainLimits, Mempool, MempoolError};
use luminex_primitives::{Amount, Encode, OutPoint, SchemeId, Transaction, TxKind, TxOut};

fn keys(n: u8) -> Vec<SigningKey> {
    (0..n)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa44, &[200 + i; 32]))
        .collect()
}

/// A transfer spending `coins` (one key) to `outputs`, signed; its fee is
/// what the coins bring less the outputs.
fn spend(
    chain: &TestChain,
    key: &SigningKey,
    coins: &[(OutPoint, Coin)],
    outputs: Vec<TxOut>,
) -> Transaction {
    let mut tx = Transaction {
        version: 1,
        chain_id: chain.spec.chain_id,
        kind: TxKind::Transfer,
        inputs: coins.iter().map(|c| c.0).collect(),
        outputs,
        expiry_height: 0,
        witnesses: vec![],
        data: Vec::new(),
    };
    let spent: Vec<TxOut> = coins.iter().map(|c| c.1.output).collect();
    sign_all(&chain.spec, &mut tx, key, &spent);
    tx
}

/// `amount` base units to `to`.
fn to_key(amount: u64, to: &SigningKey) -> TxOut {
    TxOut {
        amount: Amount::from_base(amount).unwrap(),
        lock: lock_of(to),
    }
}

/// A transfer of all of `coin` to `to`, minus `fee`.
fn pay(
    chain: &TestChain,
    key: &SigningKey,
    coin: (OutPoint, Coin),
    to: &SigningKey,
    fee: u64,
) -> Transaction {
    let out = to_key(coin.1.output.amount.base() - fee, to);
    spend(chain, key, &[coin], vec![out])
}

fn out(tx: &Transaction, vout: u32) -> (OutPoint, Coin) {
    (
        OutPoint {
            txid: tx.txid(),
            vout,
        },
        Coin {
            output: tx.outputs[vout as usize],
            height: 0,
            is_coinbase: false,
        },
    )
}

fn setup(coins: usize) -> (TestChain, Vec<SigningKey>, Mempool) {
    let mut chain = TestChain::dev();
    let ks = keys(4);
    chain.fan_out(0, &ks[..1], coins, 10_000_000);
    let pool = Mempool::new(chain.spec.clone(), SigCache::new(1000), 10_000_000);
    (chain, ks, pool)
}

#[test]
fn admits_valid_and_rejects_conflicts_duplicates_and_invalid() {
    let (chain, ks, mut pool) = setup(2);
    let h = chain.height() + 1;
    let c = chain.coins_of(&lock_of(&ks[0]));
    let a = pay(&chain, &ks[0], c[0], &ks[1], 10_000);
    let txid = pool.accept(a.clone(), &chain.utxos, h).unwrap();
    assert!(pool.contains(&txid));
    assert_eq!(pool.bytes(), a.encoded_len());
    assert_eq!(
        pool.accept(a.clone(), &chain.utxos, h),
        Err(MempoolError::AlreadyKnown(txid))
    );
    // A double spend of the same coin names the transaction it conflicts with.
    let b = pay(&chain, &ks[0], c[0], &ks[2], 20_000);
    let e = pool.accept(b, &chain.utxos, h).unwrap_err();
    assert_eq!(
        e,
        MempoolError::Conflict {
            input: c[0].0,
            by: txid
        }
    );
    assert_eq!(e.code(), "double-spend");
    // A bad signature is rejected and leaves the pool unchanged.
    let mut bad = pay(&chain, &ks[0], c[1], &ks[1], 10_000);
    luminex_ledger::testkit::signature_bytes_mut(&mut bad.witnesses[0])[5] ^= 1;
    assert!(matches!(
        pool.accept(bad, &chain.utxos, h),
        Err(MempoolError::Invalid(TxError::BadSignature { .. }))
    ));
    assert_eq!(pool.len(), 1);
}

#[test]
fn unconfirmed_chains_and_parent_first_selection() {
    let (chain, ks, mut pool) = setup(1);
    let h = chain.height() + 1;
    let c = chain.coins_of(&lock_of(&ks[0]));
    // Parent pays a low fee, child a high one: the child still comes second.
    let parent = pay(&chain, &ks[0], c[0], &ks[1], 6_000);
    let child = pay(&chain, &ks[1], out(&parent, 0), &ks[2], 500_000);
    pool.accept(parent.clone(), &chain.utxos, h).unwrap();
    pool.accept(child.clone(), &chain.utxos, h).unwrap();
    let sel = pool.select(usize::MAX);
    assert_eq!(
        sel.iter().map(|e| e.txid).collect::<Vec<_>>(),
        vec![parent.txid(), child.txid()]
    );
    // The selection is a valid block.
    let mut chain = chain;
    chain
        .mine(sel.iter().map(|e| (*e.tx).clone()).collect())
        .unwrap();
    // Removing the parent removes the child.
    let (chain2, ks2, mut pool2) = setup(1);
    let c2 = chain2.coins_of(&lock_of(&ks2[0]));
    let p = pay(&chain2, &ks2[0], c2[0], &ks2[1], 6_000);
    let ch = pay(&chain2, &ks2[1], out(&p, 0), &ks2[2], 6_000);
    pool2.accept(p.clone(), &chain2.utxos, h).unwrap();
    pool2.accept(ch, &chain2.utxos, h).unwrap();
    assert_eq!(pool2.remove_with_descendants(&p.txid()).len(), 2);
    assert!(pool2.is_empty());
    assert_eq!(pool2.bytes(), 0);
}

/// As Bitcoin Core's defaults: a transaction with more than 25 unconfirmed
/// ancestors (itself counted) is refused, and so is one that would give a
/// pool transaction more than 25 unconfirmed descendants (itself counted);
/// the pool is unchanged by either, and a limit set higher takes them.
#[test]
fn chains_of_unconfirmed_transactions_are_limited_to_25() {
    let (chain, ks, mut pool) = setup(2);
    let h = chain.height() + 1;
    let c = chain.coins_of(&lock_of(&ks[0]));
    let limit = ChainLimits::DEFAULT.ancestors;
    assert_eq!(limit, 25);
    // A chain of 25: the last has 24 ancestors.
    let mut txs = vec![pay(&chain, &ks[0], c[0], &ks[1], 6_000)];
    for _ in 1..limit {
        txs.push(pay(
            &chain,
            &ks[1],
            out(txs.last().unwrap(), 0),
            &ks[1],
            6_000,
        ));
    }
    for t in &txs {
        pool.accept(t.clone(), &chain.utxos, h).unwrap();
    }
    let next = pay(&chain, &ks[1], out(txs.last().unwrap(), 0), &ks[1], 6_000);
    let e = pool.accept(next.clone(), &chain.utxos, h).unwrap_err();
    assert_eq!(e, MempoolError::TooManyAncestors { limit: 25 });
    assert_eq!(e.code(), "too-long-mempool-chain");
    assert_eq!(pool.len(), limit);
    // A higher limit takes it.
    pool.set_chain_limits(ChainLimits {
        ancestors: 26,
        descendants: 26,
    });
    pool.accept(next, &chain.utxos, h).unwrap();

    // Descendants: a parent with 24 children has 25 in its package; a 25th
    // child is refused, naming the parent.
    let (chain, ks, mut pool) = setup(1);
    let c = chain.coins_of(&lock_of(&ks[0]));
    let each = 100_000;
    let outs: Vec<TxOut> = (0..limit).map(|_| to_key(each, &ks[1])).collect();
    let parent = spend(&chain, &ks[0], &c[..1], outs);
    pool.accept(parent.clone(), &chain.utxos, h).unwrap();
    for vout in 0..(limit - 1) as u32 {
        let child = pay(&chain, &ks[1], out(&parent, vout), &ks[2], 6_000);
        pool.accept(child, &chain.utxos, h).unwrap();
    }
    let last = pay(
        &chain,
        &ks[1],
        out(&parent, limit as u32 - 1),
        &ks[2],
        6_000,
    );
    let e = pool.accept(last.clone(), &chain.utxos, h).unwrap_err();
    assert_eq!(
        e,
        MempoolError::TooManyDescendants {
            of: parent.txid(),
            limit: 25
        }
    );
    assert_eq!(pool.len(), limit);
    // Once the parent is confirmed its children have no pool ancestor.
    let mut chain = chain;
    chain.mine(vec![parent.clone()]).unwrap();
    pool.block_connected(std::slice::from_ref(&parent), chain.height());
    pool.accept(last, &chain.utxos, chain.height() + 1).unwrap();
}

/// A reorganisation returns a block's transaction to the pool beneath the
/// spenders that stayed: those past the chain limits leave (as Bitcoin
/// Core's `UpdateTransactionsFromBlock`), so the pool holds what admitting
/// its transactions one by one would — a chain of 25 spenders loses its
/// last (it would have 25 ancestors), 30 direct spenders lose five (the
/// parent would have 31 descendants).
#[test]
fn a_transaction_returned_beneath_its_spenders_trims_them_to_the_limits() {
    for (outputs, depth) in [(1, 25), (30, 1)] {
        let (mut chain, ks, mut pool) = setup(1);
        let c = chain.coins_of(&lock_of(&ks[0]));
        let before = chain.utxos.clone();
        let h = chain.height() + 1;
        let each = 300_000;
        let outs: Vec<TxOut> = (0..outputs).map(|_| to_key(each, &ks[1])).collect();
        let parent = spend(&chain, &ks[0], &c[..1], outs);
        chain.mine(vec![parent.clone()]).unwrap();
        let h2 = chain.height() + 1;
        // Its spenders, admitted while it is confirmed: `outputs` chains
        // of `depth`.
        let mut spenders = Vec::new();
        for vout in 0..outputs as u32 {
            let mut prev = pay(&chain, &ks[1], out(&parent, vout), &ks[2], 6_000);
            for _ in 1..depth {
                let next = pay(&chain, &ks[2], out(&prev, 0), &ks[2], 6_000);
                spenders.push(std::mem::replace(&mut prev, next));
            }
            spenders.push(prev);
        }
        for t in &spenders {
            pool.accept(t.clone(), &chain.utxos, h2).unwrap();
        }
        assert_eq!(pool.len(), 25.max(outputs));
        // Its block disconnected, the parent returns.
        pool.accept(parent.clone(), &before, h).unwrap();
        assert_eq!(pool.len(), 25, "{outputs} outputs");
        assert!(pool.contains(&parent.txid()));
        // The first 24 admitted stay, as a reload in admission order keeps.
        let kept: Vec<bool> = spenders.iter().map(|t| pool.contains(&t.txid())).collect();
        assert_eq!(kept.iter().filter(|k| **k).count(), 24);
        assert!(kept[..24].iter().all(|k| *k), "{outputs} outputs: {kept:?}");
        // Every transaction left is one the pool would admit afresh: a
        // new pool takes them all, parents first.
        let mut again = Mempool::new(chain.spec.clone(), SigCache::new(1000), 10_000_000);
        again.accept(parent.clone(), &before, h).unwrap();
        for t in spenders.iter().filter(|t| pool.contains(&t.txid())) {
            again.accept(t.clone(), &before, h).unwrap();
        }
        assert_eq!(again.len(), 25);
    }
}

/// A block held a parent and its child; both return to the pool beneath
/// spenders admitted meanwhile: the parent's own 20, then the child's 10.
/// What passes the parent's 25 descendants is taken from the child's
/// spenders, newest first; the parent's unrelated spenders stay.
#[test]
fn trimming_takes_only_from_what_returned_beneath() {
    let (mut chain, ks, mut pool) = setup(1);
    let c = chain.coins_of(&lock_of(&ks[0]));
    let before = chain.utxos.clone();
    let h = chain.height() + 1;
    let outs: Vec<TxOut> = (0..21).map(|_| to_key(300_000, &ks[1])).collect();
    let parent = spend(&chain, &ks[0], &c[..1], outs);
    let child_outs: Vec<TxOut> = (0..10).map(|_| to_key(20_000, &ks[2])).collect();
    let child = spend(&chain, &ks[1], &[out(&parent, 20)], child_outs);
    chain.mine(vec![parent.clone(), child.clone()]).unwrap();
    let h2 = chain.height() + 1;
    let theirs: Vec<Transaction> = (0..20)
        .map(|vout| pay(&chain, &ks[1], out(&parent, vout), &ks[3], 6_000))
        .collect();
    let mine: Vec<Transaction> = (0..10)
        .map(|vout| pay(&chain, &ks[2], out(&child, vout), &ks[3], 6_000))
        .collect();
    for t in theirs.iter().chain(&mine) {
        pool.accept(t.clone(), &chain.utxos, h2).unwrap();
    }
    // The block disconnected: parent, then child, return in block order.
    pool.accept(parent.clone(), &before, h).unwrap();
    let mut view = before.clone();
    for (vout, o) in parent.outputs.iter().enumerate() {
        view.insert(
            OutPoint {
                txid: parent.txid(),
                vout: vout as u32,
            },
            Coin {
                output: *o,
                height: h,
                is_coinbase: false,
            },
        );
    }
    pool.accept(child.clone(), &view, h).unwrap();
    assert!(theirs.iter().all(|t| pool.contains(&t.txid())));
    let kept: Vec<bool> = mine.iter().map(|t| pool.contains(&t.txid())).collect();
    // 1 + 20 + 1 + 3 = 25.
    assert_eq!(kept, [vec![true; 3], vec![false; 7]].concat());
    assert_eq!(pool.len(), 25);
}

#[test]
fn fee_rate_order_and_size_cap_evicts_the_cheapest() {
    let (chain, ks, _) = setup(6);
    let h = chain.height() + 1;
    let c = chain.coins_of(&lock_of(&ks[0]));
    let txs: Vec<Transaction> = (0..6)
        .map(|i| pay(&chain, &ks[0], c[i], &ks[1], 4_000 + 1_000 * i as u64))
        .collect();
    let one = txs[0].encoded_len();
    // Room for exactly four.
    let mut pool = Mempool::new(chain.spec.clone(), SigCache::new(100), one * 4 + one / 2);
    for t in &txs[1..5] {
        pool.accept(t.clone(), &chain.utxos, h).unwrap();
    }
    // Full: a transaction must pay above the cheapest held, and one that
    // would still fit need not.
    let cheapest = pool.entries().last().unwrap().fee_rate;
    assert_eq!(pool.admission_floor(one), Some(cheapest));
    assert_eq!(pool.admission_floor(one / 4), None);
    // Cheaper than everything in a full pool: refused.
    assert!(matches!(
        pool.accept(txs[0].clone(), &chain.utxos, h),
        Err(MempoolError::Full { .. })
    ));
    // Richer: admitted, the cheapest (txs[1]) evicted.
    pool.accept(txs[5].clone(), &chain.utxos, h).unwrap();
    assert_eq!(pool.len(), 4);
    assert!(!pool.contains(&txs[1].txid()));
    assert!(pool.bytes() <= pool.max_bytes());
    let order: Vec<_> = pool.entries().map(|e| e.txid).collect();
    assert_eq!(order, [5, 4, 3, 2].map(|i| txs[i].txid()).to_vec());
    // A block limit takes the best first.
    let sel = pool.select(one * 2);
    assert_eq!(sel.len(), 2);
    assert_eq!(sel[0].txid, txs[5].txid());
}

#[test]
fn connected_blocks_remove_included_conflicting_and_expired() {
    let (mut chain, ks, mut pool) = setup(3);
    let h = chain.height() + 1;
    let c = chain.coins_of(&lock_of(&ks[0]));
    let included = pay(&chain, &ks[0], c[0], &ks[1], 10_000);
    let conflicted = pay(&chain, &ks[0], c[1], &ks[1], 10_000);
    let rival = pay(&chain, &ks[0], c[1], &ks[2], 20_000);
    let mut expiring = pay(&chain, &ks[0], c[2], &ks[1], 10_000);
    expiring.expiry_height = h;
    sign_all(&chain.spec, &mut expiring, &ks[0], &[c[2].1.output]);
    for t in [&included, &conflicted, &expiring] {
        pool.accept(t.clone(), &chain.utxos, h).unwrap();
    }
    let block = chain.mine(vec![included.clone(), rival]).unwrap();
    pool.block_connected(&block.txs, chain.height());
    assert!(
        pool.is_empty(),
        "included, conflicted and expired are all gone"
    );
    assert_eq!(pool.bytes(), 0);
    // An already-expired transaction is refused.
    assert!(matches!(
        pool.accept(expiring, &chain.utxos, chain.height() + 1),
        Err(MempoolError::Invalid(TxError::Expired { .. }))
    ));
}

#[test]
fn mempool_admission_fills_the_signature_cache_for_blocks() {
    let (mut chain, ks, _) = setup(1);
    let cache = SigCache::new(100);
    let mut pool = Mempool::new(chain.spec.clone(), cache.clone(), 1 << 20);
    let c = chain.coins_of(&lock_of(&ks[0]));
    let t = pay(&chain, &ks[0], c[0], &ks[1], 10_000);
    pool.accept(t.clone(), &chain.utxos, chain.height() + 1)
        .unwrap();
    assert!(cache.contains(&t.wtxid()));
    chain.cache = cache;
    chain.mine(vec![t]).unwrap();
}

/// A payload's ids are its transactions' ids, and its coinbase commits to
/// the same witnesses as one built from the transactions.
#[test]
fn a_payload_carries_its_transactions_ids() {
    let (chain, ks, mut pool) = setup(3);
    let h = chain.height() + 1;
    for c in chain.coins_of(&lock_of(&ks[0])) {
        pool.accept(pay(&chain, &ks[0], c, &ks[1], 10_000), &chain.utxos, h)
            .unwrap();
    }
    let p = pool
        .block_payload_with_ids(h, lock_of(&ks[2]), b"tag")
        .unwrap();
    assert_eq!(p.txs.len(), 4);
    let txids: Vec<_> = p.txs.iter().map(Transaction::txid).collect();
    let wtxids: Vec<_> = p.txs.iter().map(Transaction::wtxid).collect();
    assert_eq!((p.txids.clone(), p.wtxids.clone()), (txids, wtxids));
    let (txs, fees) = pool.block_payload(h, lock_of(&ks[2]), b"tag").unwrap();
    assert_eq!((txs, fees), (p.txs.clone(), p.fees));
    let others: Vec<Transaction> = p.txs[1..].to_vec();
    for commitment in [
        luminex_primitives::MerkleCommitment::Tagged,
        luminex_primitives::MerkleCommitment::Bitcoin,
    ] {
        let mut spec = chain.spec.clone();
        spec.merkle_commitment = commitment;
        let outputs = p.txs[0].outputs.clone();
        assert_eq!(
            spec.coinbase_with_wtxids(h, outputs.clone(), b"tag", &p.wtxids[1..]),
            spec.coinbase(h, outputs, b"tag", &others)
        );
        assert_eq!(
            spec.merkle_root_of_ids(&p.txs[0], &p.txids, &p.wtxids),
            spec.merkle_root(&p.txs)
        );
    }
}

/// `test_accept` answers what `accept` would, and changes nothing: a valid
/// transfer's fee, then the same refusals as admission (a conflict, a bad
/// signature, a full pool that it cannot evict from), the pool unchanged
/// throughout.
#[test]
fn test_accept_decides_as_admission_and_changes_nothing() {
    let (chain, ks, _) = setup(4);
    let h = chain.height() + 1;
    let c = chain.coins_of(&lock_of(&ks[0]));
    let txs: Vec<Transaction> = (0..3)
        .map(|i| pay(&chain, &ks[0], c[i], &ks[1], 5_000 + 1_000 * i as u64))
        .collect();
    let one = txs[0].encoded_len();
    let mut pool = Mempool::new(chain.spec.clone(), SigCache::new(100), one * 2 + one / 2);
    let test = |pool: &mut Mempool, tx: &Transaction| {
        let c = luminex_mempool::Candidate::new(tx.clone(), &chain.spec).unwrap();
        pool.test_accept(&c, &chain.utxos, h)
    };
    assert_eq!(
        test(&mut pool, &txs[1]),
        Ok(Amount::from_base(6_000).unwrap())
    );
    assert!(pool.is_empty(), "nothing admitted");
    pool.accept(txs[1].clone(), &chain.utxos, h).unwrap();
    pool.accept(txs[2].clone(), &chain.utxos, h).unwrap();
    // Full, and paying less than everything held.
    assert!(matches!(
        test(&mut pool, &txs[0]),
        Err(MempoolError::Full { .. })
    ));
    // A double spend of a pooled coin.
    let conflict = pay(&chain, &ks[0], c[1], &ks[2], 50_000);
    assert!(matches!(
        test(&mut pool, &conflict),
        Err(MempoolError::Conflict { .. })
    ));
    // A bad signature on a coin nobody spends.
    let mut bad = pay(&chain, &ks[0], c[3], &ks[1], 90_000);
    luminex_ledger::testkit::signature_bytes_mut(&mut bad.witnesses[0])[5] ^= 1;
    assert!(matches!(
        test(&mut pool, &bad),
        Err(MempoolError::Invalid(TxError::BadSignature { .. }))
    ));
    // Richer than the cheapest held: it would be admitted (evicting), yet
    // nothing leaves now.
    let rich = pay(&chain, &ks[0], c[3], &ks[1], 90_000);
    assert_eq!(
        test(&mut pool, &rich),
        Ok(Amount::from_base(90_000).unwrap())
    );
    let held: Vec<_> = pool.entries().map(|e| e.txid).collect();
    assert_eq!(held, vec![txs[2].txid(), txs[1].txid()]);
}

/// Fees that with a block's subsidy would pass the largest amount: a
/// transaction whose fee alone does is refused (no block could carry it);
/// two whose fees do together go into different blocks, a child with the
/// parent left out. (A block template once summed them, and every block
/// built from it was invalid.)
#[test]
fn fees_past_the_largest_amount_are_refused_or_wait_for_another_block() {
    let (mut chain, ks, mut pool) = setup(1);
    let h = chain.height() + 1;
    let coin = |n: u8, amount: u64| {
        (
            OutPoint {
                txid: luminex_primitives::Hash([n; 32]),
                vout: 0,
            },
            Coin {
                output: to_key(amount, &ks[0]),
                height: 0,
                is_coinbase: false,
            },
        )
    };
    let max = Amount::MAX.base();
    let (whole, a, b) = (coin(1, max), coin(2, max / 5 * 3), coin(3, max / 5 * 3));
    for c in [whole, a, b] {
        chain.utxos.insert(c.0, c.1);
    }
    let e = pool
        .accept(pay(&chain, &ks[0], whole, &ks[1], max - 1), &chain.utxos, h)
        .unwrap_err();
    assert_eq!(e, MempoolError::Invalid(TxError::OutputOverflow));
    assert!(pool.is_empty());
    // Half the largest amount each, with a child of the second.
    let first = pay(&chain, &ks[0], a, &ks[1], max / 2);
    let second = pay(&chain, &ks[0], b, &ks[2], max / 2);
    let child = pay(&chain, &ks[2], out(&second, 0), &ks[3], 10_000);
    for t in [&first, &second, &child] {
        pool.accept(t.clone(), &chain.utxos, h).unwrap();
    }
    let (txs, fees) = pool.block_payload(h, lock_of(&ks[3]), &[]).unwrap();
    assert_eq!(txs.len(), 2, "the coinbase and one of the two");
    assert_eq!(fees, Amount::from_base(max / 2).unwrap());
    let left_out = if txs[1].txid() == first.txid() {
        &second
    } else {
        &first
    };
    assert!(txs.iter().all(|t| t.txid() != left_out.txid()));
    assert!(txs.iter().all(|t| t.txid() != child.txid()));
    let block = chain.build_block(txs[1..].to_vec(), fees);
    if let Err(e) = chain.connect(block) {
        panic!("a block of the template's transactions is valid: {e}");
    }
}

/// Two changes of one authority's key never wait in the pool together
/// (docs/authority.md: the node checks a change before it enters the
/// mempool): the second is refused with the chain's own
/// `authority-already-pending`, as it would be once the first is in a
/// block, instead of taking a txid and silently expiring. Another key's
/// change is admitted, and so is the second once the first has left.
#[test]
fn a_second_change_of_one_key_waits_for_the_first() {
    use luminex_ledger::authority::{add_signature, unsigned_change};
    use luminex_ledger::AuthorityError;
    use luminex_primitives::AuthorityChange;

    let spec = luminex_ledger::ChainSpec::preset("poa").unwrap();
    let chain = TestChain::new(spec.clone());
    let mut pool = Mempool::new(spec.clone(), SigCache::new(100), 10_000_000);
    let genesis = spec.genesis_hash();
    let signer = &luminex_ledger::testkit::dev_keys(&spec)[0];
    let [newcomer, other] = [9u8, 10].map(|s| {
        SigningKey::from_seed(SchemeId::MlDsa44, &[s; 32])
            .public_key()
            .clone()
    });
    let change = |key: &luminex_primitives::PublicKey, at: u64| {
        let mut tx = unsigned_change(
            &spec,
            AuthorityChange {
                effective_height: at,
                public_key: key.clone(),
                power: 1,
            },
            at - 3,
        );
        add_signature(&mut tx, &genesis, signer);
        tx
    };
    let first = pool.accept(change(&newcomer, 60), &chain.utxos, 1).unwrap();
    let id = newcomer.key_hash();
    assert_eq!(
        pool.accept(change(&newcomer, 70), &chain.utxos, 1),
        Err(MempoolError::Invalid(TxError::Authority(
            AuthorityError::AlreadyPending(id)
        )))
    );
    // The same refusal from the shared-access check admission runs first.
    let second = luminex_mempool::Candidate::new(change(&newcomer, 70), &spec).unwrap();
    assert!(matches!(
        pool.check(&second, &chain.utxos, 1),
        Err(MempoolError::Invalid(TxError::Authority(
            AuthorityError::AlreadyPending(_)
        )))
    ));
    assert_eq!(
        pool.accept(change(&newcomer, 60), &chain.utxos, 1),
        Err(MempoolError::AlreadyKnown(first))
    );
    pool.accept(change(&other, 70), &chain.utxos, 1).unwrap();
    assert_eq!(pool.len(), 2);
    pool.remove_with_descendants(&first);
    pool.accept(change(&newcomer, 70), &chain.utxos, 1).unwrap();
}
