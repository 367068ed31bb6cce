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
//! thread takes checks too, in Linux's lowest scheduling class
//! (`SCHED_IDLE`): it gets a core nothing else wants, and a normal thread
//! that wakes preempts it at once (a third thread at normal priority on two
//! cores would take a third of the importer's). One filler serves the whole
//! process. Since it may get no time for a long while on a busy machine,
//! nothing ever waits for it, directly or through a lock: a preverifier
//! offers it each block's job as a weak reference, and both sides only ever
//! try the offer's lock (a job done before the filler comes to it is
//! skipped); it claims and records checks with atomics only, leaves the
//! signature cache to the preverifier, and never frees a job (retired jobs
//! wait in a list until nothing else refers to them, and a normal thread
//! frees them); and once every check
//! of a block is claimed, the preverifier makes again any that the filler
//! (or a helper) has not finished — whoever finishes a check first records
//! and counts it.
//!
//! It decides nothing: a transaction whose spent outputs it cannot find, or
//! whose signatures fail, is left alone, and connecting the block checks it
//! and reports the error. Caching by wtxid is sound because an outpoint fixes
//! the output it names (a txid commits to its outputs), so the spent outputs
//! found here are the ones connecting will find.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};

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
    /// Each item's outcome ([`PENDING`] until someone finished it); the
    /// first to finish an item records it, so each is counted once.
    outcome: Vec<AtomicU8>,
    next: AtomicUsize,
    cache: SigCache,
}

/// An item nobody has finished checking.
const PENDING: u8 = 0;
/// Valid, finished by the preverifier's own threads (its caller, its pool).
const VALID_OWN: u8 = 1;
/// Valid, finished by a [`PreverifyHelp`] (counted by the helper).
const VALID_HELPED: u8 = 2;
/// Valid, finished by the filler, which does not touch the signature
/// cache (a lock of it held by a thread that gets no time would stall the
/// threads that read it): the preverifier records it there.
const VALID_FILLED: u8 = 3;
/// Failed its checks (left for connection to reject).
const INVALID: u8 = 4;

/// Who checks a transaction.
#[derive(Clone, Copy, PartialEq)]
enum Worker {
    /// The preverifier's thread or its pool.
    Own,
    /// A [`PreverifyHelp`].
    Helper,
    /// The filler thread.
    Filler,
}

impl Job {
    /// A job checking `items` of `block`, recording the valid ones in
    /// `cache`; nothing claimed or finished yet.
    fn new(
        block: Arc<Block>,
        genesis: Hash,
        items: Vec<(usize, Hash, Vec<TxOut>)>,
        cache: SigCache,
    ) -> Job {
        Job {
            block,
            genesis,
            outcome: items.iter().map(|_| AtomicU8::new(PENDING)).collect(),
            items,
            next: AtomicUsize::new(0),
            cache,
        }
    }

    /// Checks transactions until none is left unclaimed; returns how many
    /// signatures this caller verified first (a helper's count; the
    /// preverifier counts its own threads' from the outcomes).
    fn work(&self, worker: Worker) -> usize {
        let mut verified = 0;
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            if i >= self.items.len() {
                return verified;
            }
            verified += self.check(i, worker);
        }
    }

    /// Checks item `i` (again, if another thread holds it) and records its
    /// outcome unless another thread did first. A valid transaction is in
    /// the cache before its outcome is recorded (but the filler's: see
    /// [`VALID_FILLED`]). Returns the signatures counted.
    fn check(&self, i: usize, worker: Worker) -> usize {
        let (index, wtxid, spent) = &self.items[i];
        let tx = &self.block.txs[*index];
        let valid = verify_spent_outputs(tx, &self.genesis, spent).is_ok();
        if valid && worker != Worker::Filler {
            self.cache.insert(*wtxid);
        }
        let outcome = match (valid, worker) {
            (false, _) => INVALID,
            (true, Worker::Own) => VALID_OWN,
            (true, Worker::Helper) => VALID_HELPED,
            (true, Worker::Filler) => VALID_FILLED,
        };
        let first = self.outcome[i]
            .compare_exchange(PENDING, outcome, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if first && valid {
            tx.signature_count()
        } else {
            0
        }
    }

    /// After every item is claimed: checks those still unfinished (held by
    /// a helper or the filler, which nobody waits for), records in the
    /// cache those the filler found valid, and returns the signatures the
    /// preverifier's own threads and the filler verified.
    fn finish(&self) -> usize {
        let mut verified = 0;
        for (i, (index, wtxid, _)) in self.items.iter().enumerate() {
            let outcome = match self.outcome[i].load(Ordering::Acquire) {
                PENDING => {
                    self.check(i, Worker::Own);
                    self.outcome[i].load(Ordering::Acquire)
                }
                o => o,
            };
            if outcome == VALID_FILLED {
                self.cache.insert(*wtxid);
            }
            if outcome == VALID_OWN || outcome == VALID_FILLED {
                verified += self.block.txs[*index].signature_count();
            }
        }
        verified
    }
}

/// The block being checked, if any (for helpers; the filler gets its jobs
/// through [`filler`]).
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
        job.map_or(0, |job| job.work(Worker::Helper))
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
    /// The process's filler thread, if it runs.
    filler: Option<&'static Filler>,
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
            filler: filler(),
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
        let job = Arc::new(Job::new(
            block.clone(),
            chain.genesis_hash(),
            items,
            into.clone(),
        ));
        *self.current.lock() = Some(job.clone());
        if let Some(filler) = self.filler {
            filler.offer(&job);
        }
        match &self.pool {
            Some(pool) => pool.in_place_scope(|s| {
                s.spawn_broadcast(|_, _| {
                    job.work(Worker::Own);
                });
                job.work(Worker::Own);
            }),
            None => {
                job.work(Worker::Own);
            }
        }
        *self.current.lock() = None;
        let verified = job.finish();
        retire(job, &FILLER);
        verified
    }
}

/// Jobs done that the filler may still refer to, process-wide (a job can
/// outlive its preverifier); only normal threads take this lock.
static RETIRED: Mutex<Vec<Arc<Job>>> = parking_lot::const_mutex(Vec::new());

/// Keeps `job` (and every job retired before) until nothing else refers to
/// it, then frees it on this thread: the filler must never free a job or
/// its block (with glibc's allocator a large free takes the lock of the
/// arena that allocated it, which a normal thread may be waiting for), nor
/// even the last weak reference. A job is freed once this is its only
/// reference, strong or weak — after withdrawing its offer from `filler`
/// if it is still there — so nobody can take it up any more.
fn retire(job: Arc<Job>, filler: &Filler) {
    let mut retired = RETIRED.lock();
    retired.push(job);
    retired.retain(|job| {
        if Arc::weak_count(job) > 0 {
            filler.withdraw(job);
        }
        Arc::strong_count(job) > 1 || Arc::weak_count(job) > 0
    });
}

/// The filler thread (see the module docs) and the job offered to it. Its
/// side and the preverifiers' only ever *try* the offer's lock, so neither
/// waits for the other: a preverifier that finds it taken does not offer
/// its block, and the filler that finds it taken sleeps until unparked
/// (which is an atomic swap and a futex wake, no lock).
struct Filler {
    /// The job offered, as a weak reference: a job done before the filler
    /// comes to it is skipped, and nothing is kept alive for it.
    offer: TryLock<Option<Weak<Job>>>,
    thread: OnceLock<std::thread::Thread>,
    /// Ends [`Filler::run`] (tests; the process's filler runs for good).
    closed: AtomicBool,
}

impl Filler {
    const fn new() -> Filler {
        Filler {
            offer: TryLock(parking_lot::const_mutex(None)),
            thread: OnceLock::new(),
            closed: AtomicBool::new(false),
        }
    }

    /// Offers `job`, replacing any job offered and not taken.
    fn offer(&self, job: &Arc<Job>) {
        let Some(mut offer) = self.offer.try_lock() else {
            return;
        };
        *offer = Some(Arc::downgrade(job));
        drop(offer);
        if let Some(thread) = self.thread.get() {
            thread.unpark();
        }
    }

    /// Takes back the offer of `job` if it is still there (and the lock
    /// free).
    fn withdraw(&self, job: &Arc<Job>) {
        if let Some(mut offer) = self.offer.try_lock() {
            if offer
                .as_ref()
                .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(job)))
            {
                *offer = None;
            }
        }
    }

    /// The filler's loop: takes each job offered while it is still being
    /// checked, and sleeps when there is none.
    fn run(&self) {
        while !self.closed.load(Ordering::Acquire) {
            let job = self
                .offer
                .try_lock()
                .and_then(|mut offer| offer.take())
                .and_then(|job| job.upgrade());
            match job {
                Some(job) => {
                    job.work(Worker::Filler);
                }
                None => std::thread::park(),
            }
        }
    }
}

/// The process's filler thread, started with the first preverifier; `None`
/// if no thread could be started. (A thread that could not enter the idle
/// class has ended: offers to it cost a weak reference each.)
fn filler() -> Option<&'static Filler> {
    static STARTED: OnceLock<bool> = OnceLock::new();
    let started = *STARTED.get_or_init(|| {
        // Threads inherit their creator's scheduling class: rayon's global
        // pool is made here, from a normal thread, if it does not exist yet,
        // so that nothing the filler calls could ever start it in the idle
        // class.
        rayon::current_num_threads();
        let spawned = std::thread::Builder::new()
            .name(FILLER_THREAD.into())
            .spawn(|| match lowest_scheduling_class() {
                Ok(()) => FILLER.run(),
                Err(e) => tracing::info!(error = %e, "no preverifier filler thread"),
            });
        match spawned {
            Ok(handle) => {
                let _ = FILLER.thread.set(handle.thread().clone());
                true
            }
            Err(e) => {
                tracing::warn!(error = %e, "no preverifier filler thread");
                false
            }
        }
    });
    started.then_some(&FILLER)
}

/// The process's filler.
static FILLER: Filler = Filler::new();

/// A mutex that can only be tried: nobody ever waits for its holder.
struct TryLock<T>(Mutex<T>);

impl<T> TryLock<T> {
    fn try_lock(&self) -> Option<parking_lot::MutexGuard<'_, T>> {
        self.0.try_lock()
    }
}

/// The filler thread's name (unique in its first 15 bytes, which is what
/// `/proc` and `top` show).
const FILLER_THREAD: &str = "luminex-filler";

/// Moves the calling thread to the scheduling class that runs only when a
/// core has nothing else to run (`SCHED_IDLE`).
#[cfg(target_os = "linux")]
fn lowest_scheduling_class() -> Result<(), String> {
    use thread_priority::{
        set_thread_priority_and_policy, thread_native_id, thread_schedule_policy,
        NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy,
    };
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    // After setting the class the crate also sets the thread's niceness to
    // 0, which an unprivileged process running niced may not do: that error
    // leaves the class set, so the class itself decides.
    let set = set_thread_priority_and_policy(thread_native_id(), ThreadPriority::Min, idle);
    match thread_schedule_policy() {
        Ok(policy) if policy == idle => Ok(()),
        Ok(policy) => Err(format!("{set:?}; the thread stays in {policy:?}")),
        Err(e) => Err(format!("{set:?}; {e:?}")),
    }
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

    /// A job checking a block of `n` ML-DSA-65 transfers, and the number of
    /// signatures in it.
    fn transfers(n: usize) -> (Arc<Job>, usize) {
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
        let signatures = block.txs.iter().skip(1).map(|t| t.signature_count()).sum();
        let genesis = chain.blocks[0].hash();
        let job = Job::new(Arc::new(block), genesis, items, SigCache::new(1_000));
        (Arc::new(job), signatures)
    }

    fn all_cached(job: &Job) -> bool {
        job.items.iter().all(|(_, w, _)| job.cache.contains(w))
    }

    /// The scheduling policy of each thread of this process named `name`
    /// (as `/proc` shows it: at most 15 bytes).
    #[cfg(target_os = "linux")]
    fn policies_of_threads_named(name: &str) -> Vec<u32> {
        let mut policies = Vec::new();
        for task in std::fs::read_dir("/proc/self/task").unwrap() {
            let dir = task.unwrap().path();
            // A thread may end between the reads.
            let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
                continue;
            };
            if comm.trim_end() != &name[..name.len().min(15)] {
                continue;
            }
            if let Ok(stat) = std::fs::read_to_string(dir.join("stat")) {
                policies.push(policy_in(&stat));
            }
        }
        policies
    }

    /// The scheduling policy in a thread's `stat` line: the 41st field,
    /// counting from the first (fields after the command's closing
    /// parenthesis start at the third).
    #[cfg(target_os = "linux")]
    fn policy_in(stat: &str) -> u32 {
        let rest = &stat[stat.rfind(')').unwrap() + 1..];
        rest.split_whitespace()
            .nth(41 - 3)
            .unwrap()
            .parse()
            .unwrap()
    }

    /// The scheduling policy of the thread whose `/proc` directory is `dir`.
    #[cfg(target_os = "linux")]
    fn policy_of(dir: &std::path::Path) -> u32 {
        policy_in(&std::fs::read_to_string(dir.join("stat")).unwrap())
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn one_filler_thread_runs_in_the_idle_scheduling_class() {
        const SCHED_IDLE: u32 = 5;
        let _a = Preverifier::new();
        let _b = Preverifier::new();
        assert!(filler().is_some(), "the filler started");
        // The thread names itself and moves itself to the class as it
        // starts.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let policies = policies_of_threads_named(FILLER_THREAD);
            assert!(policies.len() <= 1, "one filler for the process");
            if policies == [SCHED_IDLE] {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the filler is in policy {policies:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        // rayon's global pool was not started from it.
        let pool = rayon::broadcast(|_| policy_of(std::path::Path::new("/proc/thread-self")));
        assert!(pool.iter().all(|p| *p != SCHED_IDLE), "{pool:?}");
    }

    #[test]
    fn the_filler_takes_a_live_offer_skips_a_dead_one_and_leaves_the_cache_alone() {
        let (dead, _) = transfers(2);
        let (job, signatures) = transfers(40);
        let filler = Filler::new();
        std::thread::scope(|s| {
            // A dead job offered before the filler starts: skipped.
            filler.offer(&dead);
            drop(dead);
            // The loop on a thread of normal priority: a busy test machine
            // may give an idle-class thread no time at all.
            let thread = s.spawn(|| filler.run());
            filler.thread.set(thread.thread().clone()).unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            // Each poll wakes the filler: one that found the lock taken by
            // the poll itself parked.
            let taken = || filler.offer.try_lock().is_some_and(|o| o.is_none());
            while !taken() {
                assert!(std::time::Instant::now() < deadline, "offer not taken");
                thread.thread().unpark();
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            filler.offer(&job);
            let done = |j: &Job| {
                j.outcome
                    .iter()
                    .all(|o| o.load(Ordering::Acquire) != PENDING)
            };
            while !done(&job) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "the filler took no checks"
                );
                thread.thread().unpark();
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            filler.closed.store(true, Ordering::Release);
            thread.thread().unpark();
        });
        assert_eq!(job.next.load(Ordering::Relaxed), job.items.len() + 1);
        assert!(job
            .outcome
            .iter()
            .all(|o| o.load(Ordering::Acquire) == VALID_FILLED));
        assert!(
            job.items.iter().all(|(_, w, _)| !job.cache.contains(w)),
            "the filler never takes the cache's locks"
        );
        assert_eq!(job.finish(), signatures, "counted as the preverifier's");
        assert!(all_cached(&job), "recorded by the preverifier");
    }

    #[test]
    fn an_offer_never_waits_for_the_filler() {
        let (job, _) = transfers(2);
        let filler = Filler::new();
        // The filler holding the offer's lock (preempted there, say).
        let held = filler.offer.try_lock().unwrap();
        filler.offer(&job);
        drop(held);
        assert!(
            filler.offer.try_lock().unwrap().is_none(),
            "not offered, and not waited for"
        );
    }

    #[test]
    fn a_job_is_freed_by_a_normal_thread_once_nothing_else_refers_to_it() {
        let (job, _) = transfers(2);
        let block = Arc::downgrade(&job.block);
        let filler = Filler::new();
        // Offered and not taken: withdrawn, then freed, by `retire`.
        filler.offer(&job);
        retire(job, &filler);
        assert!(block.upgrade().is_none(), "freed at once");
        assert!(filler.offer.try_lock().unwrap().is_none(), "withdrawn");

        let (job, _) = transfers(2);
        let block = Arc::downgrade(&job.block);
        // Taken by the filler, which holds it (strong), or holds the weak
        // reference it took and has not upgraded yet: kept either way.
        let held = job.clone();
        let taken = Arc::downgrade(&job);
        retire(job, &filler);
        drop(held);
        assert!(
            block.upgrade().is_some(),
            "the filler's weak reference keeps it"
        );
        // Dropping the filler's last reference frees nothing (the job is
        // retired); the next retirement, on a normal thread, frees it.
        drop(taken);
        retire(transfers(2).0, &filler);
        assert!(block.upgrade().is_none(), "freed by the next retirement");
    }

    #[test]
    fn checks_claimed_and_never_finished_are_made_again_and_counted_once() {
        let (job, signatures) = transfers(12);
        // Every check claimed by threads that then stalled (a filler given
        // no time, a helper gone to other work) ...
        job.next.store(job.items.len(), Ordering::Relaxed);
        // ... but one, which a helper finished and counts.
        let helped = job.check(3, Worker::Helper);
        assert!(helped > 0);
        assert_eq!(job.check(3, Worker::Own), 0, "finished twice, counted once");
        assert_eq!(job.finish(), signatures - helped);
        assert!(all_cached(&job));
        assert_eq!(job.work(Worker::Helper), 0, "nothing left to claim");
    }

    #[test]
    fn an_invalid_transaction_is_recorded_and_not_counted() {
        let (job, signatures) = transfers(6);
        let mut job = Arc::try_unwrap(job).ok().unwrap();
        // The spent output's amount changed: the signature commits to it.
        let first = &job.block.txs[job.items[0].0];
        let lost = first.signature_count();
        job.items[0].2[0].amount = luminex_primitives::Amount::from_base(1).unwrap();
        job.work(Worker::Own);
        assert_eq!(job.finish(), signatures - lost);
        assert!(!job.cache.contains(&job.items[0].1));
        assert_eq!(job.outcome[0].load(Ordering::Relaxed), INVALID);
    }
}
