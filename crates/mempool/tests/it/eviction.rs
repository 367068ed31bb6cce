//! Eviction from a full pool: decided before anything changes, cheapest
//! package (a transaction and its descendants) as a whole first, and never
//! of a package paying at least what the newcomer pays.

use super::*;

/// Chain limits no test chain here reaches.
const UNLIMITED: ChainLimits = ChainLimits {
    ancestors: usize::MAX,
    descendants: usize::MAX,
};

/// A transfer of all of `coins` (one key) to `to`, minus `fee`.
fn pay_many(
    chain: &TestChain,
    key: &SigningKey,
    coins: &[(OutPoint, Coin)],
    to: &SigningKey,
    fee: u64,
) -> Transaction {
    let total: u64 = coins.iter().map(|c| c.1.output.amount.base()).sum();
    spend(chain, key, coins, vec![to_key(total - fee, to)])
}

/// A newcomer that the pool ends up refusing as `Full` has already
/// evicted the cheaper transactions it displaced: they are gone although
/// nothing took their place. Anyone can flush the bottom of every pool
/// this way without ever paying a fee (the refused transaction is never
/// admitted, relayed or mined).
#[test]
fn a_refused_newcomer_evicts_nothing() {
    let (chain, ks, _) = setup(4);
    let h = chain.height() + 1;
    let c = chain.coins_of(&lock_of(&ks[0]));
    let a = pay(&chain, &ks[0], c[0], &ks[1], 5_000); // cheap
    let b = pay(&chain, &ks[0], c[1], &ks[1], 50_000); // rich
    let one = a.encoded_len();
    // Room for two one-input transactions.
    let mut pool = Mempool::new(chain.spec.clone(), SigCache::new(100), one * 2 + one / 2);
    pool.accept(a.clone(), &chain.utxos, h).unwrap();
    pool.accept(b.clone(), &chain.utxos, h).unwrap();
    // Two inputs (about twice the size), a fee rate between a's and b's.
    let big = pay_many(&chain, &ks[0], &c[2..4], &ks[2], 30_000);
    let rate = |t: &Transaction, fee: u64| fee * 1000 / t.encoded_len() as u64;
    assert!(rate(&big, 30_000) > rate(&a, 5_000) && rate(&big, 30_000) < rate(&b, 50_000));
    let r = pool.accept(big.clone(), &chain.utxos, h);
    assert!(matches!(r, Err(MempoolError::Full { .. })), "{r:?}");
    assert!(!pool.contains(&big.txid()));
    assert!(
        pool.contains(&a.txid()),
        "the refused newcomer evicted `a` for nothing (pool: {} tx, {} of {} bytes)",
        pool.len(),
        pool.bytes(),
        pool.max_bytes()
    );
}

/// Eviction takes the cheapest transaction with all its descendants,
/// whatever they pay: a child paying a far higher fee rate than the
/// newcomer (a child-pays-for-parent bump) is evicted for it.
#[test]
fn eviction_never_drops_a_higher_fee_rate_than_the_newcomer_pays() {
    let (chain, ks, _) = setup(3);
    let h = chain.height() + 1;
    let c = chain.coins_of(&lock_of(&ks[0]));
    let parent = pay(&chain, &ks[0], c[0], &ks[1], 5_000);
    let child = pay(&chain, &ks[1], out(&parent, 0), &ks[2], 500_000);
    let other = pay(&chain, &ks[0], c[1], &ks[1], 40_000);
    let newcomer = pay(&chain, &ks[0], c[2], &ks[3], 20_000);
    let one = parent.encoded_len();
    // Room for three.
    let mut pool = Mempool::new(chain.spec.clone(), SigCache::new(100), one * 3 + one / 2);
    for t in [&parent, &child, &other] {
        pool.accept(t.clone(), &chain.utxos, h).unwrap();
    }
    let child_rate = pool.get(&child.txid()).unwrap().fee_rate;
    // The cheapest transaction's package holds a child paying more than the
    // newcomer, and the next cheapest pays more too: nothing may leave.
    let r = pool.accept(newcomer.clone(), &chain.utxos, h);
    // The refusal names a rate to beat above the newcomer's (the cheapest
    // entry alone, the parent, pays less, but stays with its child).
    assert!(
        matches!(r, Err(MempoolError::Full { fee_rate, lowest }) if lowest > fee_rate),
        "{r:?}"
    );
    for t in [&parent, &child, &other] {
        assert!(
            pool.contains(&t.txid()),
            "child paying {child_rate}/kB kept"
        );
    }
    // A newcomer paying more than the other transaction takes its place,
    // passing over the parent whose child pays more.
    let rich = pay(&chain, &ks[0], c[2], &ks[3], 300_000);
    pool.accept(rich.clone(), &chain.utxos, h).unwrap();
    assert!(!pool.contains(&other.txid()));
    for t in [&parent, &child, &rich] {
        assert!(pool.contains(&t.txid()));
    }
}

/// A long chain of cheap transactions with one child paying a high rate
/// at its end is weighed as a whole: a newcomer paying far more than the
/// package does takes its place (the child alone paying more than the
/// newcomer pinned the whole chain).
#[test]
fn a_high_rate_child_does_not_pin_a_cheap_chain() {
    const K: usize = 50;
    let mut chain = TestChain::dev();
    let ks = keys(4);
    chain.fan_out(0, &ks[..1], 2, 100_000_000);
    let h = chain.height() + 1;
    let c = chain.coins_of(&lock_of(&ks[0]));
    let mut txs = vec![pay(&chain, &ks[0], c[0], &ks[1], 3_900)];
    for _ in 1..K {
        let prev = txs.last().unwrap();
        txs.push(pay(&chain, &ks[1], out(prev, 0), &ks[1], 3_900));
    }
    let tail = pay(&chain, &ks[1], out(txs.last().unwrap(), 0), &ks[1], 500_000);
    let bytes: usize = txs.iter().map(|t| t.encoded_len()).sum::<usize>() + tail.encoded_len();
    let mut pool = Mempool::new(chain.spec.clone(), SigCache::new(100_000), bytes);
    // Longer chains than the default limits, for the walk's sake.
    pool.set_chain_limits(UNLIMITED);
    for t in txs.iter().chain([&tail]) {
        pool.accept(t.clone(), &chain.utxos, h).unwrap();
    }
    let newcomer = pay(&chain, &ks[0], c[1], &ks[2], 200_000);
    let tail_rate = pool.get(&tail.txid()).unwrap().fee_rate;
    pool.accept(newcomer.clone(), &chain.utxos, h).unwrap();
    assert!(pool.get(&newcomer.txid()).unwrap().fee_rate < tail_rate);
    assert!(pool.contains(&newcomer.txid()));
    assert!(pool.bytes() <= pool.max_bytes());
}

/// `coin` split in two outputs to `to`, minus `fee`.
fn split(
    chain: &TestChain,
    key: &SigningKey,
    coin: (OutPoint, Coin),
    to: &SigningKey,
    fee: u64,
) -> Transaction {
    let half = (coin.1.output.amount.base() - fee) / 2;
    spend(
        chain,
        key,
        &[coin],
        vec![to_key(half, to), to_key(half, to)],
    )
}

/// A chain of equal-rate transactions is walked newest (tail) first, each
/// ancestor's package holding the ones after it: bytes that may leave are
/// counted once, so a large newcomer finds the room behind.
#[test]
fn a_large_newcomer_finds_room_behind_an_equal_rate_chain() {
    let mut chain = TestChain::dev();
    let ks = keys(4);
    chain.fan_out(0, &ks[..1], 120, 100_000_000);
    let h = chain.height() + 1;
    let c = chain.coins_of(&lock_of(&ks[0]));
    const N: usize = 300;
    let mut txs = vec![pay(&chain, &ks[0], c[0], &ks[1], 3_900)];
    for _ in 1..N {
        let prev = txs.last().unwrap();
        txs.push(pay(&chain, &ks[1], out(prev, 0), &ks[1], 3_900));
    }
    let bytes: usize = txs.iter().map(|t| t.encoded_len()).sum();
    let mut pool = Mempool::new(chain.spec.clone(), SigCache::new(100_000), bytes);
    // Longer chains than the default limits, for the walk's sake.
    pool.set_chain_limits(UNLIMITED);
    for t in &txs {
        pool.accept(t.clone(), &chain.utxos, h).unwrap();
    }
    let newcomer = pay_many(&chain, &ks[0], &c[1..101], &ks[2], 50_000_000);
    let r = pool.accept(newcomer.clone(), &chain.utxos, h);
    assert!(
        r.is_ok(),
        "refused although {N} cheaper txs could leave: {r:?}"
    );
}

/// The cheapest transaction's package holds the newcomer's parent, so it
/// stays; a cheap chain inside it is still weighed on its own, and leaves.
#[test]
fn a_package_that_stays_hides_no_cheap_chain_inside_it() {
    let mut chain = TestChain::dev();
    let ks = keys(4);
    chain.fan_out(0, &ks[..1], 2, 100_000_000);
    let h = chain.height() + 1;
    let c = chain.coins_of(&lock_of(&ks[0]));
    let p = split(&chain, &ks[0], c[0], &ks[1], 4_000); // cheapest
    let mut ys = vec![pay(&chain, &ks[1], out(&p, 0), &ks[1], 5_000)];
    for _ in 1..5 {
        let prev = ys.last().unwrap();
        ys.push(pay(&chain, &ks[1], out(prev, 0), &ks[1], 5_000));
    }
    let z = pay(&chain, &ks[1], out(&p, 1), &ks[1], 5_000);
    let all: Vec<&Transaction> = std::iter::once(&p).chain(ys.iter()).chain([&z]).collect();
    let bytes: usize = all.iter().map(|t| t.encoded_len()).sum();
    let mut pool = Mempool::new(chain.spec.clone(), SigCache::new(100_000), bytes);
    // Longer chains than the default limits, for the walk's sake.
    pool.set_chain_limits(UNLIMITED);
    for t in &all {
        pool.accept((*t).clone(), &chain.utxos, h).unwrap();
    }
    // Spends z (its parent), pays 10x the Y chain's rate.
    let newcomer = pay(&chain, &ks[1], out(&z, 0), &ks[2], 60_000);
    let r = pool.accept(newcomer.clone(), &chain.utxos, h);
    assert!(
        r.is_ok(),
        "refused although the Y chain (rate 4,000/tx) could leave: {r:?}"
    );
    assert!(!pool.contains(&ys[4].txid()));
    assert!(pool.contains(&z.txid()) && pool.contains(&p.txid()));
}
