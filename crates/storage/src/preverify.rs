//! Checking the signatures of blocks queued for connection ahead of time.
//!
//! Connecting a block is a pipeline of serial work (coin lookups, the
//! batch, the synced commit) around one parallel step, signature checks.
//! While block *n* commits, a [`Preverifier`] on another thread checks the
//! signatures of block *n + 1* and records the valid ones in the
//! [`SigCache`], so connecting *n + 1* skips them — the same shortcut a
//! transaction admitted to the mempool gets. Sync and block-file import run
//! it one step ahead of the importer, and the importer, when it has nothing
//! to connect, helps with the checks through a [`PreverifyHelp`] (as Bitcoin
//! Core's script-check queue lets the validating thread take checks too).
//!
//! It decides nothing: a transaction whose spent outputs it cannot find, or
//! whose signatures fail, is left alone, and connecting the block checks it
//! and reports the error. Caching by wtxid is sound because an outpoint fixes
//! the output it names (a txid commits to its outputs), so the spent outputs
//! found here are the ones connecting will find.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use luminex_ledger::{verify_spent_outputs, CheckedBlock, SigCache};
use luminex_primitives::{Block, Hash, OutPoint, TxOut};
use parking_lot::Mutex;

use crate::{ChainStore, PreparedBlock};

/// Blocks whose outputs are remembered: enough to cover the blocks queued
/// between a preverifier and the importer behind it.
const RECENT_BLOCKS: usize = 32;

/// One block's checks, taken a transaction at a time by whoever works on it.
struct Job {
    block: Arc<Block>,
    /// The chain's genesis hash (signatures commit to it).
    genesis: Hash,
    /// Transactions to check: index in the block, wtxid, spent outputs.
    items: Vec<(usize, Hash, Vec<TxOut>)>,
    next: AtomicUsize,
    /// Signatures verified by the preverifier's pool threads.
    verified: AtomicUsize,
    cache: SigCache,
}

impl Job {
    /// Checks transactions until none is left unclaimed; returns how many
    /// signatures this caller verified.
    fn work(&self) -> usize {
        let mut verified = 0;
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some((index, wtxid, spent)) = self.items.get(i) else {
                return verified;
            };
            let tx = &self.block.txs[*index];
            if verify_spent_outputs(tx, &self.genesis, spent).is_ok() {
                self.cache.insert(*wtxid);
                verified += tx.witnesses.len();
            }
        }
    }
}

/// The block being checked, if any.
type Current = Arc<Mutex<Option<Arc<Job>>>>;

/// Lets another thread (the importer, while idle) take checks of the block
/// a [`Preverifier`] is working on.
#[derive(Clone)]
pub struct PreverifyHelp {
    current: Current,
}

impl PreverifyHelp {
    /// Checks transactions of the block being preverified until none is
    /// left unclaimed; returns at once when no block is being checked.
    /// Returns how many signatures it verified (the preverifier's own
    /// count leaves them out).
    pub fn help(&self) -> usize {
        let job = self.current.lock().clone();
        job.map_or(0, |job| job.work())
    }
}

/// Checks signatures of upcoming blocks; see the module docs.
pub struct Preverifier {
    /// Outputs of the blocks seen last, by txid, newest last: the coins the
    /// next blocks spend may not be committed yet.
    recent: VecDeque<HashMap<Hash, Vec<TxOut>>>,
    /// Outputs spent by blocks a reorganisation is disconnecting: they are
    /// coins again once those blocks are gone, and the branch it connects
    /// may spend them ([`Preverifier::expect_restored`]).
    restored: HashMap<OutPoint, TxOut>,
    current: Current,
    /// Threads besides the caller's, one fewer than the cores less one: the
    /// importer keeps a core for its serial work and helps when it is idle.
    pool: Option<rayon::ThreadPool>,
}

impl Default for Preverifier {
    fn default() -> Self {
        Preverifier::new()
    }
}

impl Preverifier {
    /// A preverifier that has seen no block.
    pub fn new() -> Preverifier {
        let extra = std::thread::available_parallelism()
            .map(|n| n.get().saturating_sub(2))
            .unwrap_or(0);
        let pool = (extra > 0)
            .then(|| {
                rayon::ThreadPoolBuilder::new()
                    .num_threads(extra)
                    .thread_name(|i| format!("luminex-preverify-{i}"))
                    .build()
                    .map_err(|e| tracing::warn!(error = %e, "no extra preverifier threads"))
                    .ok()
            })
            .flatten();
        Preverifier {
            recent: VecDeque::new(),
            restored: HashMap::new(),
            current: Arc::default(),
            pool,
        }
    }

    /// Also looks for spent outputs among `restored`: the outputs that
    /// blocks being disconnected spent, which are coins again once they
    /// are gone. A reorganisation prepares its branch with them while it
    /// is still disconnecting the old one. Sound for the same reason as
    /// the rest: an outpoint fixes the output it names.
    pub(crate) fn expect_restored(&mut self, restored: HashMap<OutPoint, TxOut>) {
        self.restored = restored;
    }

    /// A handle for other threads to help with the checks.
    pub fn helper(&self) -> PreverifyHelp {
        PreverifyHelp {
            current: self.current.clone(),
        }
    }

    /// Prepares `block` for [`ChainStore::accept_prepared`]: its context-free
    /// checks, then, when they pass, its signatures ([`Preverifier::run`]).
    /// Returns the prepared block and how many signatures were verified.
    pub fn prepare(
        &mut self,
        chain: &ChainStore,
        block: Arc<Block>,
        cache: &SigCache,
    ) -> (PreparedBlock, usize) {
        self.prepare_into(chain, block, cache, cache)
    }

    /// [`Preverifier::prepare`] recording the valid signatures in `into`:
    /// those `known` holds are copied there, the others checked. A
    /// reorganisation gives each block of its branch a cache of its own,
    /// so that nothing it checked far ahead is evicted from a busy shared
    /// cache before the block connects.
    pub(crate) fn prepare_into(
        &mut self,
        chain: &ChainStore,
        block: Arc<Block>,
        known: &SigCache,
        into: &SigCache,
    ) -> (PreparedBlock, usize) {
        match CheckedBlock::check(block.clone(), chain.spec()) {
            Ok(checked) => {
                let n = self.run_into(chain, &checked, known, into);
                (PreparedBlock::Checked(checked), n)
            }
            Err(_) => (PreparedBlock::Unchecked(block), 0),
        }
    }

    /// Checks the signatures of `block`'s transactions that `cache` does not
    /// hold and whose spent outputs are in `chain`'s UTXO set or were
    /// created by a block recently passed here; records the valid ones in
    /// `cache`. Returns how many signatures it verified. The block's ids come
    /// from its context-free checks ([`CheckedBlock`]), so nothing is hashed
    /// here twice.
    pub fn run(&mut self, chain: &ChainStore, block: &CheckedBlock, cache: &SigCache) -> usize {
        self.run_into(chain, block, cache, cache)
    }

    /// [`Preverifier::run`] recording in `into`; see
    /// [`Preverifier::prepare_into`].
    fn run_into(
        &mut self,
        chain: &ChainStore,
        block: &CheckedBlock,
        known: &SigCache,
        into: &SigCache,
    ) -> usize {
        let ids = block.ids();
        let block = block.block();
        let outputs = block
            .txs
            .iter()
            .zip(&ids.txids)
            .map(|(t, txid)| (*txid, t.outputs.clone()))
            .collect();
        if self.recent.len() == RECENT_BLOCKS {
            self.recent.pop_front();
        }
        self.recent.push_back(outputs);
        let find = |op: &OutPoint| -> Option<TxOut> {
            match self.recent.iter().rev().find_map(|m| m.get(&op.txid)) {
                Some(outs) => outs.get(op.vout as usize).copied(),
                None => match self.restored.get(op) {
                    Some(out) => Some(*out),
                    None => chain.coin(op).ok().flatten().map(|c| c.output),
                },
            }
        };
        // Only transactions not in the cache (a block relayed after its
        // transactions went through the mempool has none left) and whose
        // spent outputs are all found.
        let items: Vec<(usize, Hash, Vec<TxOut>)> = block
            .txs
            .iter()
            .zip(&ids.wtxids)
            .enumerate()
            .skip(1)
            .filter(|(_, (_, wtxid))| {
                if into.contains(wtxid) {
                    return false;
                }
                if known.contains(wtxid) {
                    into.insert(**wtxid);
                    return false;
                }
                true
            })
            .filter_map(|(i, (tx, wtxid))| {
                let spent = tx.inputs.iter().map(find).collect::<Option<Vec<TxOut>>>()?;
                Some((i, *wtxid, spent))
            })
            .collect();
        if items.is_empty() {
            return 0;
        }
        let job = Arc::new(Job {
            block: block.clone(),
            genesis: chain.genesis_hash(),
            items,
            next: AtomicUsize::new(0),
            verified: AtomicUsize::new(0),
            cache: into.clone(),
        });
        *self.current.lock() = Some(job.clone());
        let own = match &self.pool {
            Some(pool) => pool.in_place_scope(|s| {
                s.spawn_broadcast(|_, _| {
                    job.verified.fetch_add(job.work(), Ordering::Relaxed);
                });
                job.work()
            }),
            None => job.work(),
        };
        *self.current.lock() = None;
        own + job.verified.load(Ordering::Relaxed)
    }
}
