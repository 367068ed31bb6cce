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
//! The importer's serial work blocks now and then — in the block files'
//! write, in a synced commit — and its core would then idle. A *filler*
//! thread takes checks too, at the kernel's lowest scheduling class
//! (Linux's `SCHED_IDLE`): it runs only on a core no other thread wants,
//! so it never slows the importer's serial work (a third thread at normal
//! priority on two cores would take a third of it). Nothing waits for the
//! filler, which may not run for a long while on a busy machine: once every
//! check is claimed, the preverifier makes again any that the filler (or a
//! helper) has not finished, and whoever finishes a check first counts it.
//!
//! It decides nothing: a transaction whose spent outputs it cannot find, or
//! whose signatures fail, is left alone, and connecting the block checks it
//! and reports the error. Caching by wtxid is sound because an outpoint fixes
//! the output it names (a txid commits to its outputs), so the spent outputs
//! found here are the ones connecting will find.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use luminex_ledger::{verify_spent_outputs, CheckedBlock, SigCache};
use luminex_primitives::{Block, Hash, OutPoint, TxOut};
use parking_lot::{Condvar, Mutex};

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
    /// Each item's outcome ([`PENDING`] until someone finished it); the
    /// first to finish an item records it, so each is counted once.
    outcome: Vec<AtomicU8>,
    next: AtomicUsize,
    cache: SigCache,
}

/// An item nobody has finished checking.
const PENDING: u8 = 0;
/// Valid, finished by the preverifier's own threads (its caller, its pool,
/// its filler).
const VALID_OWN: u8 = 1;
/// Valid, finished by a [`PreverifyHelp`] (counted by the helper).
const VALID_HELPED: u8 = 2;
/// Failed its checks (left for connection to reject).
const INVALID: u8 = 3;

impl Job {
    /// Checks transactions until none is left unclaimed; returns how many
    /// signatures this caller verified first (a helper's count; the
    /// preverifier counts its own threads' from the outcomes).
    fn work(&self, helper: bool) -> usize {
        let mut verified = 0;
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.items.len() {
                return verified;
            }
            verified += self.check(i, helper);
        }
    }

    /// Checks item `i` (again, if another thread holds it) and records its
    /// outcome unless another thread did first. The valid transaction is
    /// in the cache before its outcome is recorded, so whoever sees the
    /// outcome finds it there. Returns the signatures counted.
    fn check(&self, i: usize, helper: bool) -> usize {
        let (index, wtxid, spent) = &self.items[i];
        let tx = &self.block.txs[*index];
        let valid = verify_spent_outputs(tx, &self.genesis, spent).is_ok();
        if valid {
            self.cache.insert(*wtxid);
        }
        let outcome = match (valid, helper) {
            (false, _) => INVALID,
            (true, false) => VALID_OWN,
            (true, true) => VALID_HELPED,
        };
        let first = self.outcome[i]
            .compare_exchange(PENDING, outcome, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if first && valid {
            tx.witnesses.len()
        } else {
            0
        }
    }

    /// After every item is claimed: checks those still unfinished (held by
    /// a helper or the filler, which nobody waits for), then returns the
    /// signatures the preverifier's own threads verified.
    fn finish(&self) -> usize {
        for i in 0..self.items.len() {
            if self.outcome[i].load(Ordering::Acquire) == PENDING {
                self.check(i, false);
            }
        }
        self.items
            .iter()
            .zip(&self.outcome)
            .filter(|(_, o)| o.load(Ordering::Acquire) == VALID_OWN)
            .map(|((index, _, _), _)| self.block.txs[*index].witnesses.len())
            .sum()
    }
}

/// The block being checked, if any, with what wakes the filler thread.
#[derive(Default)]
struct Slot {
    state: Mutex<SlotState>,
    posted: Condvar,
}

#[derive(Default)]
struct SlotState {
    job: Option<Arc<Job>>,
    /// Counts the jobs posted, so the filler takes each one once.
    posted: u64,
    /// Set when the preverifier is dropped: the filler exits.
    closed: bool,
}

type Current = Arc<Slot>;

impl Slot {
    fn job(&self) -> Option<Arc<Job>> {
        self.state.lock().job.clone()
    }

    fn post(&self, job: Option<Arc<Job>>) {
        let mut s = self.state.lock();
        if job.is_some() {
            s.posted += 1;
        }
        let wake = job.is_some();
        s.job = job;
        drop(s);
        if wake {
            self.posted.notify_all();
        }
    }

    /// The filler's loop: each job posted, once, until closed.
    fn fill(&self) {
        let mut taken = 0;
        loop {
            let job = {
                let mut s = self.state.lock();
                loop {
                    if s.closed {
                        return;
                    }
                    match &s.job {
                        Some(job) if s.posted != taken => {
                            taken = s.posted;
                            break job.clone();
                        }
                        _ => self.posted.wait(&mut s),
                    }
                }
            };
            job.work(false);
        }
    }
}

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
        self.current.job().map_or(0, |job| job.work(true))
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
        let current: Current = Arc::default();
        spawn_filler(&current);
        Preverifier {
            recent: VecDeque::new(),
            restored: HashMap::new(),
            current,
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
            outcome: items.iter().map(|_| AtomicU8::new(PENDING)).collect(),
            items,
            next: AtomicUsize::new(0),
            cache: into.clone(),
        });
        self.current.post(Some(job.clone()));
        match &self.pool {
            Some(pool) => pool.in_place_scope(|s| {
                s.spawn_broadcast(|_, _| {
                    job.work(false);
                });
                job.work(false);
            }),
            None => {
                job.work(false);
            }
        }
        self.current.post(None);
        job.finish()
    }
}

impl Drop for Preverifier {
    fn drop(&mut self) {
        self.current.state.lock().closed = true;
        self.current.posted.notify_all();
    }
}

/// Starts the filler thread of `slot` (see the module docs); it exits when
/// the preverifier is dropped. Without the lowest scheduling class there is
/// no filler: at normal priority it would compete with the importer.
fn spawn_filler(slot: &Current) {
    // Threads inherit their creator's scheduling class: rayon's global pool
    // is made here, from a normal thread, if it does not exist yet, so that
    // nothing the filler calls could ever start it in the idle class.
    rayon::current_num_threads();
    let slot = slot.clone();
    let spawned = std::thread::Builder::new()
        .name("luminex-preverify-filler".into())
        .spawn(move || match lowest_scheduling_class() {
            Ok(()) => slot.fill(),
            Err(e) => tracing::debug!(error = %e, "no preverifier filler thread"),
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "no preverifier filler thread");
    }
}

/// Moves the calling thread to the scheduling class that runs only when a
/// core has nothing else to run (`SCHED_IDLE`).
#[cfg(target_os = "linux")]
fn lowest_scheduling_class() -> Result<(), String> {
    use thread_priority::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadPriority, ThreadSchedulePolicy,
    };
    set_thread_priority_and_policy(
        thread_native_id(),
        ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    )
    .map_err(|e| format!("{e:?}"))
}

/// Elsewhere no class is known to run only on idle cores.
#[cfg(not(target_os = "linux"))]
fn lowest_scheduling_class() -> Result<(), String> {
    Err("no idle scheduling class on this system".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_ledger::testkit::TestChain;
    use std::time::{Duration, Instant};

    /// A job checking a block of `n` ML-DSA-65 transfers, and the number of
    /// signatures in it.
    fn job(n: usize) -> (Arc<Job>, usize) {
        let (chain, block) = TestChain::with_transfer_block(n);
        let items: Vec<_> = block
            .txs
            .iter()
            .enumerate()
            .skip(1)
            .map(|(i, tx)| {
                let spent = tx.inputs.iter().map(|op| chain.utxos[op].output);
                (i, tx.wtxid(), spent.collect())
            })
            .collect();
        let signatures = block.txs.iter().skip(1).map(|t| t.witnesses.len()).sum();
        let job = Job {
            block: Arc::new(block),
            genesis: chain.blocks[0].hash(),
            outcome: items.iter().map(|_| AtomicU8::new(PENDING)).collect(),
            items,
            next: AtomicUsize::new(0),
            cache: SigCache::new(1_000),
        };
        (Arc::new(job), signatures)
    }

    fn all_cached(job: &Job) -> bool {
        job.items.iter().all(|(_, w, _)| job.cache.contains(w))
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn the_filler_thread_runs_in_the_idle_scheduling_class() {
        use thread_priority::{
            thread_schedule_policy, NormalThreadSchedulePolicy, ThreadSchedulePolicy,
        };
        let policy = std::thread::spawn(|| {
            lowest_scheduling_class().unwrap();
            thread_schedule_policy().unwrap()
        })
        .join()
        .unwrap();
        assert_eq!(
            policy,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
    }

    #[test]
    fn a_posted_job_is_taken_by_the_filler_loop_and_counted_as_the_preverifiers() {
        let (job, signatures) = job(40);
        let slot: Current = Arc::default();
        // The loop at normal priority: a busy test machine may give an idle
        // thread no time at all.
        let filler = {
            let slot = slot.clone();
            std::thread::spawn(move || slot.fill())
        };
        slot.post(Some(job.clone()));
        let deadline = Instant::now() + Duration::from_secs(120);
        while job
            .outcome
            .iter()
            .any(|o| o.load(Ordering::Acquire) == PENDING)
        {
            assert!(Instant::now() < deadline, "the filler took no checks");
            std::thread::sleep(Duration::from_millis(2));
        }
        slot.post(None);
        assert_eq!(job.finish(), signatures);
        assert!(all_cached(&job));
        slot.state.lock().closed = true;
        slot.posted.notify_all();
        filler.join().unwrap();
    }

    #[test]
    fn checks_claimed_and_never_finished_are_made_again_and_counted_once() {
        let (job, signatures) = job(12);
        // Every check claimed by threads that then stalled (a filler given
        // no time, a helper gone to other work) ...
        job.next.store(job.items.len(), Ordering::Relaxed);
        // ... but one, which a helper finished and counts.
        let helped = job.check(3, true);
        assert!(helped > 0);
        assert_eq!(job.check(3, false), 0, "finished twice, counted once");
        assert_eq!(job.finish(), signatures - helped);
        assert!(all_cached(&job));
        assert_eq!(job.work(true), 0, "nothing left to claim");
    }

    #[test]
    fn an_invalid_transaction_is_recorded_and_not_counted() {
        let (job, signatures) = job(6);
        let mut job = Arc::try_unwrap(job).ok().unwrap();
        // The spent output's amount changed: the signature commits to it.
        let first = &job.block.txs[job.items[0].0];
        let lost = first.witnesses.len();
        job.items[0].2[0].amount = luminex_primitives::Amount::from_base(1).unwrap();
        job.work(false);
        assert_eq!(job.finish(), signatures - lost);
        assert!(!job.cache.contains(&job.items[0].1));
        assert_eq!(job.outcome[0].load(Ordering::Relaxed), INVALID);
    }
}
