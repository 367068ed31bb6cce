//! The UTXO cache against a plain reference UTXO set (ADR 0032): random
//! blocks (transfers, some spending outputs of the same block), random
//! reorganisations and random unclean closes, with cache budgets from
//! "flush after every block" to "never flush"; after every step the cache
//! plus the database must hold exactly the reference set.

use luminex_ledger::testkit::PowFields;
use std::collections::HashMap;
use std::sync::Arc;

use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, transfer, TestChain};
use luminex_ledger::{Coin, SigCache};
use luminex_primitives::{Amount, Block, OutPoint, SchemeId, Transaction, TxOut};
use luminex_storage::{ChainStore, FjallStore, KvStore, MemoryStore};

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

/// Budgets: flush after every block, after a few, rarely, never.
const BUDGETS: [usize; 4] = [0, 4 << 10, 64 << 10, 1 << 30];

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
    }
    assert!(reorgs > 0 && closes > 0, "{reorgs} reorgs, {closes} closes");
    // A clean close flushes: reopened with no blocks to apply, the
    // database alone holds the set.
    drop(store);
    let store = open(&kv, &spec, 0);
    assert_eq!(store.all_utxos().unwrap(), chain.utxos);
    assert_eq!(store.utxo_cache_bytes(), 0, "nothing applied again");
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
