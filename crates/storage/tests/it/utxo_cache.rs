//! The UTXO cache against a plain reference UTXO set (ADR 0032): random
//! blocks (transfers, some spending outputs of the same block), random
//! reorganisations and random unclean closes, with cache budgets from
//! "flush after every block" to "never flush"; after every step the cache
//! plus the database must hold exactly the reference set, and each
//! address's coins (the address-UTXO index, which moves with the cache,
//! ADR 0057) exactly the reference set's coins of that address — which
//! its address history, received less sent, must add up to.

use luminex_ledger::testkit::PowFields;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, transfer, TestChain};
use luminex_ledger::{Coin, SigCache};
use luminex_primitives::{Amount, Block, Lock, OutPoint, SchemeId, Transaction, TxOut};
use luminex_storage::tables::{
    AddressUtxoKey, FormatVersion, ADDRESS_UTXOS, FORMAT_KEY, FORMAT_VERSION, META_FORMAT,
    META_UTXO_TIP, UTXO_TIP_KEY,
};
use luminex_storage::{Batch, ChainStore, FjallStore, KvExt, KvStore, MemoryStore};

use crate::forks::open_store;

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn keys() -> Vec<SigningKey> {
    (0..5u8)
        .map(|i| SigningKey::from_seed(SchemeId::MlDsa44, &[140 + i; 32]))
        .collect()
}

/// A block on the reference chain's tip: for some keys a transfer from a
/// random coin of theirs, and sometimes a second one spending the first's
/// change in the same block. `salt` makes the amounts (and so the block)
/// differ between branches.
fn random_block(chain: &mut TestChain, keys: &[SigningKey], rng: &mut Rng, salt: u64) -> Block {
    let height = chain.height() + 1;
    let mut txs: Vec<Transaction> = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        if rng.below(3) == 0 {
            continue;
        }
        let coins = chain.coins_of(&lock_of(key));
        let spendable: Vec<_> = coins
            .into_iter()
            .filter(|(_, c)| c.output.amount.base() > 100_000)
            .collect();
        if spendable.is_empty() {
            continue;
        }
        let coin = spendable[rng.below(spendable.len() as u64) as usize];
        let pay = 1_000 + salt * 10 + rng.below(1_000);
        let to = lock_of(&keys[(i + 1 + rng.below(keys.len() as u64 - 1) as usize) % keys.len()]);
        let tx = transfer(
            &chain.spec,
            key,
            &[coin],
            vec![TxOut {
                amount: Amount::from_base(pay).unwrap(),
                lock: to,
            }],
        );
        if rng.below(3) == 0 {
            // Spend the change within the block.
            let vout = (tx.outputs.len() - 1) as u32;
            let change = (
                OutPoint {
                    txid: tx.txid(),
                    vout,
                },
                Coin {
                    output: tx.outputs[vout as usize],
                    height,
                    is_coinbase: false,
                },
            );
            let second = transfer(
                &chain.spec,
                key,
                &[change],
                vec![TxOut {
                    amount: Amount::from_base(pay + 1).unwrap(),
                    lock: to,
                }],
            );
            txs.push(tx);
            txs.push(second);
        } else {
            txs.push(tx);
        }
    }
    chain.mine(txs).expect("a valid block")
}

fn open(kv: &Arc<dyn KvStore>, spec: &luminex_ledger::ChainSpec, budget: usize) -> ChainStore {
    open_store(kv.clone(), spec, |o| o.utxo_cache_bytes = budget)
}

fn accept(store: &ChainStore, b: &Block) {
    store
        .accept_block(b, u64::from(b.header.pow().time), &SigCache::new(1))
        .unwrap();
}

/// The reference set's coins of `lock`, in outpoint order.
fn coins_of(utxos: &HashMap<OutPoint, Coin>, lock: &Lock) -> Vec<(OutPoint, Coin)> {
    let mut coins: Vec<_> = utxos
        .iter()
        .filter(|(_, c)| c.output.lock == *lock)
        .map(|(op, c)| (*op, *c))
        .collect();
    coins.sort_by(|a, b| a.0.txid.0.cmp(&b.0.txid.0).then(a.0.vout.cmp(&b.0.vout)));
    coins
}

/// Each key's address: all its coins, and the first few of them.
fn check_addresses(
    store: &ChainStore,
    utxos: &HashMap<OutPoint, Coin>,
    keys: &[SigningKey],
    step: usize,
) {
    for key in keys {
        let lock = lock_of(key);
        let want = coins_of(utxos, &lock);
        assert_eq!(
            store.address_utxos(&lock, usize::MAX).unwrap(),
            want,
            "step {step}: an address's coins"
        );
        // The address history agrees: what it received less what it
        // sent is what it holds (the blocks spend outputs created earlier
        // in the same block too).
        let history = store.address_history(&lock, None, usize::MAX).unwrap();
        let received: u64 = history.iter().map(|t| t.received.base()).sum();
        let sent: u64 = history.iter().map(|t| t.sent.base()).sum();
        let held: u64 = want.iter().map(|(_, c)| c.output.amount.base()).sum();
        assert_eq!(received - sent, held, "step {step}: an address's history");
        let few = want.len() / 2;
        assert_eq!(
            store.address_utxos(&lock, few).unwrap(),
            want[..few],
            "step {step}: an address's first {few} coins"
        );
    }
}

/// Budgets: flush after every block, after a few, rarely, never.
const BUDGETS: [usize; 4] = [0, 4 << 10, 64 << 10, 1 << 30];

/// The value of a UTXO set, base units.
fn value(utxos: &HashMap<OutPoint, Coin>) -> u128 {
    utxos
        .values()
        .map(|c| u128::from(c.output.amount.base()))
        .sum()
}

fn run_model(kv: Arc<dyn KvStore>, seed: u64, steps: usize) {
    let mut rng = Rng(seed);
    let ks = keys();
    let mut chain = TestChain::dev();
    let spec = chain.spec.clone();
    let mut snapshots: HashMap<u64, HashMap<OutPoint, Coin>> = HashMap::new();
    snapshots.insert(0, chain.utxos.clone());
    let mut store = open(&kv, &spec, BUDGETS[rng.below(4) as usize]);
    let fan = chain.fan_out(0, &ks, 15, 50_000_000);
    accept(&store, &fan);
    snapshots.insert(chain.height(), chain.utxos.clone());
    let (mut reorgs, mut closes) = (0, 0);
    for step in 0..steps {
        match rng.below(10) {
            // A reorganisation: a branch from 1 to 3 blocks below the tip,
            // one block longer than what it replaces.
            0 | 1 if chain.height() > 4 => {
                let depth = 1 + rng.below(3);
                let fork = chain.height() - depth;
                chain.blocks.truncate(fork as usize + 1);
                chain.utxos = snapshots[&fork].clone();
                for _ in 0..=depth {
                    let b = random_block(&mut chain, &ks, &mut rng, step as u64 + 1);
                    snapshots.insert(chain.height(), chain.utxos.clone());
                    accept(&store, &b);
                }
                reorgs += 1;
            }
            // An unclean close (nothing flushed), and a reopen with a new
            // budget.
            2 => {
                store.close_without_flush();
                store = open(&kv, &spec, BUDGETS[rng.below(4) as usize]);
                closes += 1;
            }
            _ => {
                let b = random_block(&mut chain, &ks, &mut rng, 0);
                snapshots.insert(chain.height(), chain.utxos.clone());
                accept(&store, &b);
            }
        }
        assert_eq!(store.tip().hash, chain.tip().hash(), "step {step}: tip");
        assert_eq!(
            store.all_utxos().unwrap(),
            chain.utxos,
            "step {step}: the cache and the database differ from the reference"
        );
        for (op, coin) in chain.utxos.iter().take(5) {
            assert_eq!(store.coin(op).unwrap(), Some(*coin));
        }
        // The set's value, counted once (on some steps only, so blocks
        // and reorganisations also keep a count made long before them).
        if step % 7 == 0 || rng.below(3) == 0 {
            assert_eq!(
                store.utxo_value().unwrap(),
                value(&chain.utxos),
                "step {step}: the UTXO set's value"
            );
        }
        check_addresses(&store, &chain.utxos, &ks, step);
    }
    assert!(reorgs > 0 && closes > 0, "{reorgs} reorgs, {closes} closes");
    // A clean close flushes: reopened with no blocks to apply, the
    // database alone holds the set.
    drop(store);
    let store = open(&kv, &spec, 0);
    assert_eq!(store.all_utxos().unwrap(), chain.utxos);
    assert_eq!(store.utxo_value().unwrap(), value(&chain.utxos));
    assert_eq!(store.utxo_cache_bytes(), 0, "nothing applied again");
    check_addresses(&store, &chain.utxos, &ks, steps);
    store.check_consistency().unwrap();
}

/// A database of format 2 kept its address-UTXO index current to the tip
/// while its `utxos` keyspace lagged. Opened by this build, the blocks
/// applied again bring both to the tip, and the index stays right when
/// blocks then spend the coins those blocks created — before a flush,
/// after one, and after a crash between (whether the crash comes first or
/// the flush).
#[test]
fn a_format_2_database_is_upgraded_with_its_address_index_ahead() {
    for crash in [false, true] {
        format_2_upgrade(crash);
    }
}

fn format_2_upgrade(crash: bool) {
    let ks = keys();
    let mut chain = TestChain::dev();
    let spec = chain.spec.clone();
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let mut rng = Rng(0x5eed_0f02);
    // Flushed after every block, then never: the `utxos` keyspace is
    // current to the fan-out block.
    let store = open(&kv, &spec, 0);
    accept(&store, &chain.fan_out(0, &ks, 6, 50_000_000));
    store.close_without_flush();
    let store = open(&kv, &spec, 1 << 30);
    for step in 0..6 {
        let b = random_block(&mut chain, &ks, &mut rng, step);
        accept(&store, &b);
    }
    store.close_without_flush();
    // What format 2 held: the address-UTXO index at the tip.
    let mut b = Batch::default();
    for (k, _) in kv
        .scan(ADDRESS_UTXOS, &[], None, false, usize::MAX)
        .unwrap()
    {
        b.delete(ADDRESS_UTXOS, &k);
    }
    for (op, coin) in &chain.utxos {
        let key = AddressUtxoKey {
            address: coin.output.lock.index_key(),
            outpoint: *op,
        };
        b.put(ADDRESS_UTXOS, &key, coin);
    }
    b.put(META_FORMAT, &FORMAT_KEY.to_string(), &FormatVersion(2));
    kv.commit(b).unwrap();
    let mut store = open(&kv, &spec, 1 << 30);
    assert_eq!(
        kv.get(META_FORMAT, &FORMAT_KEY.to_string()).unwrap(),
        Some(FormatVersion(FORMAT_VERSION))
    );
    store.check_consistency().unwrap();
    check_addresses(&store, &chain.utxos, &ks, 0);
    // Blocks that spend the coins the replayed blocks created (among
    // others), with nothing flushed.
    for step in 6..12 {
        let b = random_block(&mut chain, &ks, &mut rng, step);
        accept(&store, &b);
        check_addresses(&store, &chain.utxos, &ks, step as usize);
    }
    if crash {
        store.close_without_flush();
        store = open(&kv, &spec, 1 << 30);
        check_addresses(&store, &chain.utxos, &ks, 12);
    }
    store.check_consistency().unwrap();
    store.flush().unwrap();
    drop(store);
    let store = open(&kv, &spec, 0);
    assert_eq!(store.utxo_cache_bytes(), 0, "nothing applied again");
    check_addresses(&store, &chain.utxos, &ks, 1);
    store.check_consistency().unwrap();
}

#[test]
fn the_cache_and_the_database_equal_a_reference_utxo_set_memory() {
    for seed in [0x5eed_0001, 0x5eed_0002, 0x5eed_0003] {
        run_model(Arc::new(MemoryStore::new()), seed, 60);
    }
}

#[test]
fn the_cache_and_the_database_equal_a_reference_utxo_set_fjall() {
    let dir = tempfile::tempdir().unwrap();
    run_model(
        Arc::new(FjallStore::open(dir.path()).unwrap()),
        0x5eed_f1a1,
        40,
    );
}

/// An address with more coins than a page of the index (1,000 rows), the
/// first of them spent since the last flush: their rows are still on disk,
/// so the query reads past the first page to fill its limit.
#[test]
fn an_address_with_more_coins_than_a_page_of_rows() {
    let ks = keys();
    let mut chain = TestChain::dev();
    let spec = chain.spec.clone();
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let store = open(&kv, &spec, 1 << 30);
    accept(&store, &chain.fan_out(0, &ks[..1], 2_500, 200_000));
    store.flush().unwrap();
    let lock = lock_of(&ks[0]);
    let first: Vec<_> = coins_of(&chain.utxos, &lock)[..20].to_vec();
    let tx = transfer(
        &chain.spec,
        &ks[0],
        &first,
        vec![TxOut {
            amount: Amount::from_base(1_000).unwrap(),
            lock: lock_of(&ks[1]),
        }],
    );
    let b = chain.mine(vec![tx]).expect("a valid block");
    accept(&store, &b);
    let want = coins_of(&chain.utxos, &lock);
    assert!(want.len() > 2_000);
    for limit in [1, 999, 1_000, 1_001, 2_000, usize::MAX] {
        let got = store.address_utxos(&lock, limit).unwrap();
        assert_eq!(got, want[..limit.min(want.len())], "limit {limit}");
    }
    check_addresses(&store, &chain.utxos, &ks, 0);
    store.check_consistency().unwrap();
}

/// Queries read the database without holding the UTXO cache (so they do
/// not stall block connection); while blocks are connected and the cache
/// flushed under them, each answer is still one tip's state, and answers
/// never go back to an earlier tip. Each block moves one coin of an
/// address with more coins than a page of rows, so every tip's list of
/// its coins is different.
#[test]
fn queries_during_block_connection_see_one_state() {
    const BLOCKS: usize = 30;
    for budget in [0, 4 << 10] {
        let ks = keys();
        let mut chain = TestChain::dev();
        let spec = chain.spec.clone();
        let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
        let store = open(&kv, &spec, budget);
        accept(&store, &chain.fan_out(0, &ks[..1], 2_500, 200_000));
        store.flush().unwrap();
        let lock = lock_of(&ks[0]);
        let mut rng = Rng(budget as u64 + 7);
        let mut blocks = Vec::new();
        let mut tips = vec![coins_of(&chain.utxos, &lock)];
        for _ in 0..BLOCKS {
            let coins = coins_of(&chain.utxos, &lock);
            let spent = coins[rng.below(coins.len() as u64) as usize];
            let tx = transfer(
                &chain.spec,
                &ks[0],
                &[spent],
                vec![TxOut {
                    amount: Amount::from_base(150_000).unwrap(),
                    lock: lock_of(&ks[1]),
                }],
            );
            blocks.push(chain.mine(vec![tx]).expect("a valid block"));
            tips.push(coins_of(&chain.utxos, &lock));
        }
        let done = AtomicBool::new(false);
        let started = AtomicUsize::new(0);
        let reads = std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let (mut reads, mut last) = (0usize, 0usize);
                loop {
                    // Read after checking: the last read sees the last tip.
                    let finished = done.load(Ordering::Acquire);
                    started.fetch_add(1, Ordering::Release);
                    let all = store.address_utxos(&lock, usize::MAX).unwrap();
                    let at = tips.iter().position(|t| *t == all);
                    let at = at.unwrap_or_else(|| panic!("read {reads}: no tip has these coins"));
                    assert!(at >= last, "read {reads}: tip {at} after tip {last}");
                    last = at;
                    let first = store.address_utxos(&lock, 1_500).unwrap();
                    assert!(
                        tips[at..].iter().any(|t| t[..1_500] == first[..]),
                        "read {reads}: the first page is no later tip's"
                    );
                    let set = store.all_utxos().unwrap();
                    let at = tips[at..].iter().position(|t| coins_of(&set, &lock) == *t);
                    assert!(at.is_some(), "read {reads}: the UTXO set is no later tip's");
                    reads += 1;
                    if finished {
                        assert_eq!(last, BLOCKS, "the last read sees the last tip");
                        return reads;
                    }
                }
            });
            // Each block is connected once a read has begun, so reads and
            // connections overlap (not waiting past a deadline: a reader
            // that failed reads no more, and its panic is reported below).
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            for b in &blocks {
                let before = started.load(Ordering::Acquire);
                while started.load(Ordering::Acquire) == before
                    && std::time::Instant::now() < deadline
                {
                    std::thread::yield_now();
                }
                accept(&store, b);
            }
            done.store(true, Ordering::Release);
            reader.join().unwrap()
        });
        assert!(reads >= BLOCKS);
        assert_eq!(
            store.address_utxos(&lock, usize::MAX).unwrap(),
            tips[BLOCKS]
        );
        store.check_consistency().unwrap();
    }
}

/// Blocks that change no stored coin (coinbases of nothing, on a chain
/// without a subsidy) still move the block the UTXO set is current to:
/// closing the store records it, so the next open applies nothing again.
#[test]
fn blocks_that_change_no_coin_are_not_applied_again_at_open() {
    let mut spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    spec.monetary.initial_subsidy = luminex_primitives::Amount::ZERO;
    let mut chain = TestChain::new(spec.clone());
    let kv: Arc<dyn KvStore> = Arc::new(MemoryStore::new());
    let store = open(&kv, &spec, 1 << 30);
    for _ in 0..5 {
        let b = chain.mine(vec![]).unwrap();
        accept(&store, &b);
    }
    drop(store);
    let tip = kv
        .get(META_UTXO_TIP, &UTXO_TIP_KEY.to_string())
        .unwrap()
        .expect("a record");
    assert_eq!(tip.height, 5, "the record moved with the tip at close");
    // And an open that applied blocks again (after an unclean close) moves
    // it at its own close, even though the blocks changed no coin.
    let store = open(&kv, &spec, 1 << 30);
    for _ in 0..3 {
        let b = chain.mine(vec![]).unwrap();
        accept(&store, &b);
    }
    store.close_without_flush();
    drop(open(&kv, &spec, 1 << 30));
    let tip = kv
        .get(META_UTXO_TIP, &UTXO_TIP_KEY.to_string())
        .unwrap()
        .expect("a record");
    assert_eq!(tip.height, 8);
}
