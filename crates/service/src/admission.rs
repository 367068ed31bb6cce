//! The admission pipeline: how submitted transactions reach the mempool
//! when many clients submit at once (ADR 0046).
//!
//! One thread per request ([`Node::submit`] on tokio's blocking pool) made
//! every submission a thread handoff, a wake-up and a turn at the mempool's
//! write lock of its own: under load the node spent more of its time in
//! futex waits, context switches and lock handoffs than verifying
//! signatures. The pipeline instead has
//!
//! - a bounded queue of submissions: when it is full the caller is told at
//!   once ([`AdmitError::Overloaded`]) and answers as its work queue does;
//! - a fixed pool of verifier threads, one per core, each taking up to
//!   [`VERIFY_BATCH`] submissions at a time: the stateless checks and ids,
//!   the checks against the chain and the pool under **one** shared lock
//!   per batch, then the signatures with no lock held (results go to the
//!   signature cache that block validation reads, so a block connecting
//!   these transactions does not verify them again);
//! - one mempool writer thread, which takes every verified transaction
//!   waiting (up to [`INSERT_BATCH`]) and inserts them under **one**
//!   exclusive lock, each re-checked as [`luminex_mempool::Mempool::insert`]
//!   always does;
//! - a oneshot per submission carrying its verdict back, the same
//!   [`MempoolError`] [`Node::submit`] returns.
//!
//! The threads start on the first submission and stop when the node is
//! dropped (their queue closes). Verdicts, metrics, relaying and events are
//! those of [`Node::submit`]; only the order in which concurrent
//! submissions are decided differs, as it always could.
//!
//! # Panics, and threads that cannot start (ADR 0048)
//!
//! Nothing a submitter sends may take admission off the air, so a panic
//! (a bug, say in the mempool's handling of one odd transaction) is
//! contained where it happens and the threads go on:
//!
//! - each transaction's steps — tier 1, tier 2, the signatures, the insert,
//!   and what follows its verdict (relay, metrics, events) — run under
//!   [`std::panic::catch_unwind`]: a panic answers that submission
//!   [`AdmitError::Internal`] and only that one; the others of its batch
//!   get their verdicts as usual. A transaction whose insert panicked is
//!   taken out of the pool again (with anything spending it) in case the
//!   panic struck half-way, and the pool's indexes are rebuilt from its
//!   entries ([`Mempool::repair_indexes`](luminex_mempool::Mempool::repair_indexes));
//!   the pool's locks do not poison;
//! - the steps of a whole batch (taking the pool's locks, reading the tip)
//!   run under one more: a panic there answers every submission of the
//!   batch not yet answered [`AdmitError::Internal`];
//! - every submission is answered: a verdict that was never sent (its
//!   carrier dropped while unwinding) arrives as [`AdmitError::Internal`],
//!   never as a silent [`AdmitError::Stopped`].
//!
//! Each contained panic is logged (`tracing::error!`, with the stage and
//! the transaction id when known) and counted
//! (`luminex_admission_panics_total`); the submission is counted in
//! `luminex_admission_refused_total{reason="internal"}`.
//!
//! The threads therefore never end while the node lives. Starting them
//! can fail (the system refuses a thread): with no writer or no verifier
//! at all the submission is answered [`AdmitError::Unavailable`], naming
//! the cause, nothing is kept, and the next submission tries to start the
//! pipeline again; with some verifiers missing the pipeline runs on those
//! that started (logged).
//!
//! `luminex_admission_queue{stage}` shows the submissions waiting for a
//! verifier (`verify`) and the verified ones waiting for the writer
//! (`insert`); refusals for a full queue count as
//! `luminex_admission_refused_total{reason="overloaded"}`.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, OnceLock};

use luminex_mempool::{Candidate, MempoolError};
use luminex_primitives::{Hash, Transaction};
use parking_lot::Mutex;
use tokio::sync::oneshot;

use crate::node::StoreView;
use crate::Node;

/// Submissions waiting for a verifier; past this the answer is
/// [`AdmitError::Overloaded`]. Above the REST API's and the JSON-RPC's
/// work queues together (576 + 80), so they, not this, answer 503 first.
pub const QUEUE: usize = 1024;

/// Most submissions one verifier takes at a time: enough to share one
/// read lock, few enough that the cores share a burst evenly.
pub const VERIFY_BATCH: usize = 8;

/// Most verified transactions the writer inserts under one lock.
pub const INSERT_BATCH: usize = 256;

/// Why the pipeline gave no verdict of the mempool's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    /// The mempool refused the transaction (the verdict of
    /// [`Node::submit`]).
    #[error(transparent)]
    Rejected(#[from] MempoolError),
    /// The queue is full: try again shortly.
    #[error("too many transactions are waiting for admission")]
    Overloaded,
    /// Deciding this submission hit a bug (a panic, contained and logged);
    /// the pipeline goes on deciding other submissions.
    #[error("admission failed on an internal error (logged by the node)")]
    Internal,
    /// The pipeline's threads could not be started (the cause given); the
    /// next submission tries again.
    #[error("the admission pipeline could not start: {0}")]
    Unavailable(String),
    /// The pipeline stopped before deciding (its queue closed, as when the
    /// node shuts down).
    #[error("the admission pipeline stopped")]
    Stopped,
}

impl AdmitError {
    /// The `reason` label this answer counts under in
    /// `luminex_admission_refused_total` (`None` for the mempool's own
    /// refusals, counted in `luminex_transactions_rejected_total`).
    pub fn reason(&self) -> Option<&'static str> {
        match self {
            AdmitError::Rejected(_) => None,
            AdmitError::Overloaded => Some("overloaded"),
            AdmitError::Internal => Some("internal"),
            AdmitError::Unavailable(_) => Some("unavailable"),
            AdmitError::Stopped => Some("stopped"),
        }
    }
}

/// What a submitter receives.
type Verdict = Result<Hash, AdmitError>;

/// Where one submission's verdict goes. Dropped unanswered (a panic unwound
/// past it) it answers [`AdmitError::Internal`], so no submitter is left
/// without an answer or reads a bug as a stopped pipeline.
struct Reply(Option<oneshot::Sender<Verdict>>);

impl Reply {
    fn send(mut self, verdict: Verdict) {
        if let Some(s) = self.0.take() {
            let _ = s.send(verdict);
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if let Some(s) = self.0.take() {
            let _ = s.send(Err(AdmitError::Internal));
        }
    }
}

/// One submission on its way through the pipeline.
struct Job {
    node: Arc<Node>,
    tx: Transaction,
    relay: bool,
    reply: Reply,
}

/// A transaction whose signatures verified, waiting for the writer.
struct Verified {
    node: Arc<Node>,
    candidate: Candidate,
    relay: bool,
    reply: Reply,
}

/// The node's admission pipeline (its queue; the threads start on first
/// use). Part of [`Node`]; use [`Node::submit_queued`].
#[derive(Default)]
pub struct Admission {
    queue: OnceLock<SyncSender<Job>>,
    /// Held while the threads are being started, so only one caller starts
    /// them.
    starting: Mutex<()>,
}

impl Admission {
    /// The queue, starting the threads if this is the first submission (or
    /// the ones before could not start them).
    fn queue(&self) -> Result<&SyncSender<Job>, AdmitError> {
        if let Some(q) = self.queue.get() {
            return Ok(q);
        }
        let _one = self.starting.lock();
        if let Some(q) = self.queue.get() {
            return Ok(q);
        }
        let q = start().map_err(|e| AdmitError::Unavailable(e.to_string()))?;
        Ok(self.queue.get_or_init(|| q))
    }
}

/// Starts the writer and the verifiers; returns the queue's sender. Fails
/// when the writer or every verifier could not be started (what did start
/// then ends at once: its channels close).
fn start() -> std::io::Result<SyncSender<Job>> {
    let (jobs, jobs_rx) = mpsc::sync_channel::<Job>(QUEUE);
    let (verified, verified_rx) = mpsc::sync_channel::<Verified>(QUEUE);
    std::thread::Builder::new()
        .name("admit-writer".into())
        .spawn(move || writer(&verified_rx))
        .inspect_err(|e| tracing::error!(error = %e, "could not start the admission writer"))?;
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut started = 0;
    let mut failure = None;
    for i in 0..cores {
        let (rx, tx) = (jobs_rx.clone(), verified.clone());
        match std::thread::Builder::new()
            .name(format!("admit-verify-{i}"))
            .spawn(move || verifier(&rx, &tx))
        {
            Ok(_) => started += 1,
            Err(e) => {
                // Fewer verifiers still decide everything.
                tracing::error!(error = %e, "could not start an admission verifier");
                failure = Some(e);
            }
        }
    }
    match failure {
        Some(e) if started == 0 => Err(e),
        _ => Ok(jobs),
    }
}

/// Takes the first item (waiting for it) and then whatever else is ready,
/// up to `max`. `None` when the channel closed.
fn take_batch<T>(rx: &Receiver<T>, max: usize) -> Option<Vec<T>> {
    let first = rx.recv().ok()?;
    let mut batch = vec![first];
    while batch.len() < max {
        match rx.try_recv() {
            Ok(t) => batch.push(t),
            Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
        }
    }
    Some(batch)
}

/// Runs `f`, containing a panic: logs it (with the `stage` and the
/// transaction if known), counts it and returns `None`.
fn contained<T>(node: &Node, stage: &str, txid: Option<&Hash>, f: impl FnOnce() -> T) -> Option<T> {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(t) => Some(t),
        Err(payload) => {
            node.metrics.admission.panics.inc();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("(no message)");
            let txid = txid.map(ToString::to_string);
            tracing::error!(
                stage,
                txid = txid.as_deref().unwrap_or("unknown"),
                panic = message,
                "a panic while admitting transactions was contained; admission goes on"
            );
            None
        }
    }
}

fn verifier(jobs: &Mutex<Receiver<Job>>, verified: &SyncSender<Verified>) {
    loop {
        let Some(batch) = take_batch(&jobs.lock(), VERIFY_BATCH) else {
            return;
        };
        let node = batch[0].node.clone();
        node.metrics
            .admission
            .verify_queue
            .dec_by(batch.len() as i64);
        // Each transaction's steps are contained in `verify_batch`; a panic
        // in the batch's own steps answers what it had not (`Reply`).
        let Some(out) = contained(&node, "verify batch", None, || verify_batch(batch)) else {
            continue;
        };
        node.metrics.admission.insert_queue.inc_by(out.len() as i64);
        let mut out = out.into_iter();
        while let Some(v) = out.next() {
            if let Err(mpsc::SendError(v)) = verified.send(v) {
                // The writer is gone (it never ends while the node lives):
                // these submissions are answered as internal errors.
                let unsent = 1 + out.len();
                node.metrics.admission.insert_queue.dec_by(unsent as i64);
                drop((v, out));
                return;
            }
        }
    }
}

/// Tier 1, then tier 2 for the whole batch under one read lock, then the
/// signatures without a lock. Refusals are answered here; what passes goes
/// on to the writer.
fn verify_batch(batch: Vec<Job>) -> Vec<Verified> {
    let mut candidates = Vec::with_capacity(batch.len());
    for job in batch {
        let Job {
            node,
            tx,
            relay,
            reply,
        } = job;
        match contained(&node, "tier 1", None, || Candidate::new(tx, &node.spec)) {
            Some(Ok(c)) => candidates.push((node, c, relay, reply)),
            Some(Err(e)) => refuse(&node, e, reply),
            None => reply.send(Err(AdmitError::Internal)),
        }
    }
    let Some(node) = candidates.first().map(|c| c.0.clone()) else {
        return Vec::new();
    };
    let view = StoreView(&node.chain);
    let height = node.chain.tip().height + 1;
    let checks: Vec<_> = {
        let pool = node.mempool.read();
        candidates
            .iter()
            .map(|(_, c, _, _)| {
                contained(&node, "tier 2", Some(&c.txid), || {
                    pool.check(c, &view, height)
                })
            })
            .collect()
    };
    let genesis = node.chain.genesis_hash();
    let mut out = Vec::with_capacity(candidates.len());
    for ((node, c, relay, reply), check) in candidates.into_iter().zip(checks) {
        let verdict = check.and_then(|check| {
            contained(&node, "signatures", Some(&c.txid), || {
                #[cfg(test)]
                fault::hit(fault::Stage::Verify, &c.txid);
                let check = check?;
                if c.tx.authority_change().is_some() {
                    node.check_authority(&c.tx, height)?;
                }
                node.count_verifications(&c);
                c.verify(&check, &node.cache, &genesis)
            })
        });
        match verdict {
            Some(Ok(())) => out.push(Verified {
                node,
                candidate: c,
                relay,
                reply,
            }),
            Some(Err(e)) => refuse(&node, e, reply),
            None => reply.send(Err(AdmitError::Internal)),
        }
    }
    out
}

fn refuse(node: &Node, e: MempoolError, reply: Reply) {
    let r = Err(e);
    let _ = contained(node, "refusal", None, || node.decided(&r, None, false));
    reply.send(r.map_err(AdmitError::Rejected));
}

fn writer(verified: &Receiver<Verified>) {
    while let Some(batch) = take_batch(verified, INSERT_BATCH) {
        let node = batch[0].node.clone();
        node.metrics
            .admission
            .insert_queue
            .dec_by(batch.len() as i64);
        // As in the verifiers: each insert is contained in `insert_batch`,
        // a panic in the batch's own steps answers what it had not.
        let _ = contained(&node, "insert batch", None, || insert_batch(&node, batch));
    }
}

/// Inserts a batch under one exclusive lock, then answers each submission
/// (relay, metrics and events first, as [`Node::submit`] does).
fn insert_batch(node: &Node, batch: Vec<Verified>) {
    let view = StoreView(&node.chain);
    let mut results = Vec::with_capacity(batch.len());
    {
        let mut pool = node.mempool.write();
        let height = node.chain.tip().height + 1;
        // A node whose storage stopped takes nothing more (see
        // MempoolError::Halted).
        let halted = node.chain.halted();
        for v in batch {
            let (txid, tx) = (v.candidate.txid, v.candidate.tx.clone());
            if let Some(why) = &halted {
                results.push((Err(MempoolError::Halted(why.clone())), tx, v.relay, v.reply));
                continue;
            }
            let candidate = v.candidate;
            let inserted = contained(node, "insert", Some(&txid), || {
                #[cfg(test)]
                fault::hit(fault::Stage::Insert, &txid);
                pool.insert_at(candidate, &view, height, node.clock.now_unix())
            });
            match inserted {
                Some(r) => results.push((r.map(|()| txid), tx, v.relay, v.reply)),
                None => {
                    // The panic may have struck half-way through the
                    // insert: take out whatever of it is in the pool, and
                    // rebuild the indexes from what the pool holds.
                    let _ = contained(node, "insert cleanup", Some(&txid), || {
                        pool.remove_with_descendants(&txid);
                        if pool.repair_indexes() {
                            tracing::warn!(%txid, "the mempool's indexes were repaired after a panic");
                        }
                    });
                    v.reply.send(Err(AdmitError::Internal));
                }
            }
        }
    }
    for (r, tx, relay, reply) in results {
        // The verdict stands whatever happens after it.
        let _ = contained(node, "after insert", r.as_ref().ok(), || {
            node.decided(&r, Some(&tx), relay);
        });
        reply.send(r.map_err(AdmitError::Rejected));
    }
}

impl Node {
    /// Admits `tx` through the admission pipeline (see the module
    /// [`crate::admission`]) and relays it to peers: the verdict of
    /// [`Node::submit`], reached with the work shared among many
    /// submissions. Returns [`AdmitError::Overloaded`] at once when the
    /// queue is full, [`AdmitError::Internal`] when deciding it hit a bug.
    pub async fn submit_queued(self: &Arc<Self>, tx: Transaction) -> Result<Hash, AdmitError> {
        let verdict = match self.enqueue(tx) {
            Ok(verdict) => verdict.await,
            Err(e) => Ok(Err(e)),
        };
        self.answered(verdict)
    }

    /// [`Node::submit_queued`] for a caller on a thread that may block (a
    /// JSON-RPC method): waits for the verdict on this thread. Never call
    /// it on an async worker.
    pub fn submit_queued_blocking(self: &Arc<Self>, tx: Transaction) -> Result<Hash, AdmitError> {
        let verdict = match self.enqueue(tx) {
            Ok(verdict) => verdict.blocking_recv(),
            Err(e) => Ok(Err(e)),
        };
        self.answered(verdict)
    }

    /// The verdict a submitter gets, counted in
    /// `luminex_admission_refused_total` when it is not the mempool's.
    fn answered(&self, verdict: Result<Verdict, oneshot::error::RecvError>) -> Verdict {
        let verdict = verdict.unwrap_or(Err(AdmitError::Stopped));
        if let Some(reason) = verdict.as_ref().err().and_then(AdmitError::reason) {
            self.metrics.admission.refused(reason);
        }
        verdict
    }

    fn enqueue(
        self: &Arc<Self>,
        tx: Transaction,
    ) -> Result<oneshot::Receiver<Verdict>, AdmitError> {
        let queue = self.admission.queue()?;
        let (reply, verdict) = oneshot::channel();
        let job = Job {
            node: self.clone(),
            tx,
            relay: true,
            reply: Reply(Some(reply)),
        };
        // Counted before it is sent, so a verifier never takes it first.
        let waiting = &self.metrics.admission.verify_queue;
        waiting.inc();
        match queue.try_send(job) {
            Ok(()) => Ok(verdict),
            Err(e) => {
                // The job goes unsent, its reply with it (no one listens).
                waiting.dec();
                Err(match e {
                    TrySendError::Full(_) => AdmitError::Overloaded,
                    TrySendError::Disconnected(_) => AdmitError::Stopped,
                })
            }
        }
    }
}

/// A test-only fault: admission panics for chosen transactions at a chosen
/// stage. Not compiled outside the unit tests.
#[cfg(test)]
mod fault {
    use std::sync::{Mutex, PoisonError};

    use luminex_primitives::Hash;

    /// Where the panic strikes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(super) enum Stage {
        /// While the signatures are checked, in a verifier.
        Verify,
        /// Just before the mempool insert, in the writer, under its lock.
        Insert,
    }

    static ARMED: Mutex<Vec<(Stage, Hash)>> = Mutex::new(Vec::new());

    /// From now on, admitting `txid` panics at `stage`.
    pub(super) fn arm(stage: Stage, txid: Hash) {
        ARMED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((stage, txid));
    }

    /// Panics if `txid` is armed at `stage`.
    pub(super) fn hit(stage: Stage, txid: &Hash) {
        let armed = ARMED
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&(stage, *txid));
        if armed {
            panic!("injected fault: admitting {txid} panics at {stage:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use luminex_ledger::testkit::{lock_of, transfer};
    use luminex_ledger::Coin;
    use luminex_primitives::{Amount, OutPoint, TxOut};

    use super::fault::{arm, Stage};
    use super::*;
    use crate::metrics::ReasonLabels;
    use crate::testkit::memory_node;

    /// `n` independent transactions: each spends its own output of a
    /// fan-out transaction already in the pool.
    fn independent(node: &Node, n: usize) -> Vec<Transaction> {
        let k0 = node.spec.dev_key(0).unwrap();
        let k1 = node.spec.dev_key(1).unwrap();
        let coins = node.chain.address_utxos(&lock_of(&k0), 1).unwrap();
        let one = TxOut {
            amount: Amount::from_coins(1).unwrap(),
            lock: lock_of(&k0),
        };
        let fan = transfer(&node.spec, &k0, &coins[..1], vec![one; n]);
        let fan_id = node.submit(fan.clone()).unwrap();
        (0..n)
            .map(|i| {
                let op = OutPoint {
                    txid: fan_id,
                    vout: i as u32,
                };
                let coin = Coin {
                    output: fan.outputs[i],
                    height: node.chain.tip().height + 1,
                    is_coinbase: false,
                };
                let half = TxOut {
                    amount: Amount::from_base(50_000_000).unwrap(),
                    lock: lock_of(&k1),
                };
                transfer(&node.spec, &k0, &[(op, coin)], vec![half])
            })
            .collect()
    }

    fn refused(node: &Node, reason: &str) -> u64 {
        node.metrics
            .admission
            .refused
            .get_or_create(&ReasonLabels {
                reason: reason.into(),
            })
            .get()
    }

    fn idle(node: &Node) -> bool {
        let m = &node.metrics.admission;
        m.verify_queue.get() == 0 && m.insert_queue.get() == 0
    }

    /// A panic for one transaction answers it `Internal`, alone: the
    /// others, submitted with it and after it, are admitted, and the
    /// pipeline's threads go on.
    fn a_panic_is_contained_at(stage: Stage) {
        let node = memory_node();
        let txs = independent(&node, 6);
        let bad = txs[0].clone();
        arm(stage, bad.txid());

        assert_eq!(
            node.submit_queued_blocking(bad.clone()),
            Err(AdmitError::Internal)
        );
        assert_eq!(node.metrics.admission.panics.get(), 1);
        // The bad one again, together with good ones: only it fails.
        let verdicts: Vec<_> = std::thread::scope(|s| {
            let all = std::iter::once(&bad).chain(&txs[1..4]);
            let handles: Vec<_> = all
                .map(|tx| {
                    let node = &node;
                    s.spawn(move || node.submit_queued_blocking(tx.clone()))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(verdicts[0], Err(AdmitError::Internal));
        for (tx, verdict) in txs[1..4].iter().zip(&verdicts[1..]) {
            assert_eq!(verdict, &Ok(tx.txid()));
        }
        // And afterwards.
        for tx in &txs[4..] {
            assert_eq!(node.submit_queued_blocking(tx.clone()), Ok(tx.txid()));
        }
        assert_eq!(node.metrics.admission.panics.get(), 2);
        assert_eq!(refused(&node, "internal"), 2);
        assert_eq!(refused(&node, "stopped"), 0);
        let pool = node.mempool.read();
        assert!(!pool.contains(&bad.txid()));
        assert!(txs[1..].iter().all(|tx| pool.contains(&tx.txid())));
        assert_eq!(pool.len(), 1 + 5, "the fan-out and the good five");
        drop(pool);
        assert!(idle(&node), "every verdict is in: nothing waits");
    }

    #[test]
    fn a_panic_verifying_one_transaction_is_contained() {
        a_panic_is_contained_at(Stage::Verify);
    }

    #[test]
    fn a_panic_inserting_one_transaction_is_contained() {
        a_panic_is_contained_at(Stage::Insert);
    }

    /// With the verifiers held up (the test holds the mempool's write
    /// lock), submissions wait in the queue and the gauge shows them; a
    /// full queue answers `Overloaded`, counted; once the lock is released
    /// every waiting submission gets a verdict and the gauge returns to 0.
    #[test]
    fn the_queue_gauge_shows_waiting_submissions_and_a_full_queue_is_counted() {
        let node = memory_node();
        let tx = independent(&node, 1).remove(0);
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let gauge = &node.metrics.admission.verify_queue;
        let lock = node.mempool.write();
        let mut waiting = Vec::new();
        loop {
            match node.enqueue(tx.clone()) {
                Ok(verdict) => waiting.push(verdict),
                Err(AdmitError::Overloaded) => break,
                Err(e) => panic!("{e}"),
            }
        }
        // Each verifier holds at most one batch, stuck at the lock.
        assert!(waiting.len() >= QUEUE);
        assert!(waiting.len() <= QUEUE + cores * VERIFY_BATCH);
        let queued = gauge.get();
        assert!(queued as usize <= waiting.len());
        assert!(queued as usize + cores * VERIFY_BATCH >= QUEUE);
        assert_eq!(
            node.submit_queued_blocking(tx.clone()),
            Err(AdmitError::Overloaded)
        );
        assert_eq!(refused(&node, "overloaded"), 1);
        drop(lock);

        let verdicts: Vec<_> = waiting
            .into_iter()
            .map(|v| v.blocking_recv().unwrap())
            .collect();
        assert_eq!(verdicts.iter().filter(|v| v.is_ok()).count(), 1);
        assert!(verdicts
            .iter()
            .all(|v| matches!(v, Ok(_) | Err(AdmitError::Rejected(_)))));
        assert!(idle(&node), "every verdict is in: nothing waits");
        assert_eq!(node.metrics.admission.panics.get(), 0);
    }
}
