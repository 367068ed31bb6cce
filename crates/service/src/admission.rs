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
    /// The pipeline stopped before deciding (a thread failed).
    #[error("the admission pipeline stopped")]
    Stopped,
}

/// The verdict sent back to a submitter.
type Reply = oneshot::Sender<Result<Hash, MempoolError>>;

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
}

impl Admission {
    /// The queue, starting the threads if this is the first submission.
    fn queue(&self) -> &SyncSender<Job> {
        self.queue.get_or_init(start)
    }
}

/// Starts the verifiers and the writer; returns the queue's sender.
fn start() -> SyncSender<Job> {
    let (jobs, jobs_rx) = mpsc::sync_channel::<Job>(QUEUE);
    let (verified, verified_rx) = mpsc::sync_channel::<Verified>(QUEUE);
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for i in 0..cores {
        let (rx, tx) = (jobs_rx.clone(), verified.clone());
        let spawned = std::thread::Builder::new()
            .name(format!("admit-verify-{i}"))
            .spawn(move || verifier(&rx, &tx));
        if let Err(e) = spawned {
            // Fewer verifiers still decide everything; none at all leaves
            // submissions to fail as Stopped when the queue drops.
            tracing::error!(error = %e, "could not start an admission verifier");
        }
    }
    drop(verified);
    let spawned = std::thread::Builder::new()
        .name("admit-writer".into())
        .spawn(move || writer(&verified_rx));
    if let Err(e) = spawned {
        tracing::error!(error = %e, "could not start the admission writer");
    }
    jobs
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

fn verifier(jobs: &Mutex<Receiver<Job>>, verified: &SyncSender<Verified>) {
    loop {
        let Some(batch) = take_batch(&jobs.lock(), VERIFY_BATCH) else {
            return;
        };
        for v in verify_batch(batch) {
            if let Err(mpsc::SendError(v)) = verified.send(v) {
                // The writer is gone: nobody will decide.
                drop(v);
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
        match Candidate::new(job.tx, &job.node.spec) {
            Ok(c) => candidates.push((job.node, c, job.relay, job.reply)),
            Err(e) => refuse(&job.node, e, job.reply),
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
            .map(|(_, c, _, _)| pool.check(c, &view, height))
            .collect()
    };
    let genesis = node.chain.genesis_hash();
    let mut out = Vec::with_capacity(candidates.len());
    for ((node, c, relay, reply), check) in candidates.into_iter().zip(checks) {
        let verdict = check.and_then(|check| {
            if c.tx.authority_change().is_some() {
                node.check_authority(&c.tx, height)?;
            }
            node.count_verifications(&c);
            c.verify(&check, &node.cache, &genesis)
        });
        match verdict {
            Ok(()) => out.push(Verified {
                node,
                candidate: c,
                relay,
                reply,
            }),
            Err(e) => refuse(&node, e, reply),
        }
    }
    out
}

fn refuse(node: &Node, e: MempoolError, reply: Reply) {
    node.decided(&Err(e.clone()), None, false);
    let _ = reply.send(Err(e));
}

fn writer(verified: &Receiver<Verified>) {
    while let Some(batch) = take_batch(verified, INSERT_BATCH) {
        let node = batch[0].node.clone();
        let view = StoreView(&node.chain);
        let mut results = Vec::with_capacity(batch.len());
        {
            let mut pool = node.mempool.write();
            let height = node.chain.tip().height + 1;
            for v in batch {
                let (txid, tx) = (v.candidate.txid, v.candidate.tx.clone());
                let r = pool.insert(v.candidate, &view, height).map(|()| txid);
                results.push((r, tx, v.relay, v.reply));
            }
        }
        for (r, tx, relay, reply) in results {
            node.decided(&r, Some(&tx), relay);
            let _ = reply.send(r);
        }
    }
}

impl Node {
    /// Admits `tx` through the admission pipeline (see the module
    /// [`crate::admission`]) and relays it to peers: the verdict of
    /// [`Node::submit`], reached with the work shared among many
    /// submissions. Returns [`AdmitError::Overloaded`] at once when the
    /// queue is full.
    pub async fn submit_queued(self: &Arc<Self>, tx: Transaction) -> Result<Hash, AdmitError> {
        let verdict = self.enqueue(tx)?;
        verdict
            .await
            .map_err(|_| AdmitError::Stopped)?
            .map_err(AdmitError::Rejected)
    }

    /// [`Node::submit_queued`] for a caller on a thread that may block (a
    /// JSON-RPC method): waits for the verdict on this thread. Never call
    /// it on an async worker.
    pub fn submit_queued_blocking(self: &Arc<Self>, tx: Transaction) -> Result<Hash, AdmitError> {
        let verdict = self.enqueue(tx)?;
        verdict
            .blocking_recv()
            .map_err(|_| AdmitError::Stopped)?
            .map_err(AdmitError::Rejected)
    }

    fn enqueue(
        self: &Arc<Self>,
        tx: Transaction,
    ) -> Result<oneshot::Receiver<Result<Hash, MempoolError>>, AdmitError> {
        let (reply, verdict) = oneshot::channel();
        let job = Job {
            node: self.clone(),
            tx,
            relay: true,
            reply,
        };
        match self.admission.queue().try_send(job) {
            Ok(()) => Ok(verdict),
            Err(TrySendError::Full(_)) => Err(AdmitError::Overloaded),
            Err(TrySendError::Disconnected(_)) => Err(AdmitError::Stopped),
        }
    }
}
