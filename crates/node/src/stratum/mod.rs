//! A Stratum v1 server (`--stratum-addr`, off by default): the protocol
//! pools, proxies, ASIC firmware and CPU miners speak, over newline-framed
//! JSON-RPC on TCP.
//!
//! Flow: `mining.subscribe` → `[[subscriptions], extranonce1, 4]`;
//! `mining.authorize [user, password]` (the user is `<address>.<worker>`,
//! `<address>` or `<worker>`; without an address the node's
//! `--miner-address` is paid) → `mining.set_difficulty` and `mining.notify`
//! (clean on a new tip, otherwise every `refresh`); `mining.submit [worker,
//! job, extranonce2, ntime, nonce]` is checked as a share against the
//! connection's difficulty ([`vardiff`]) and, when it meets the block
//! target, the block is submitted to the node.
//!
//! Bounds: at most `max_connections` connections, lines of at most
//! [`MAX_LINE`] bytes (a longer one closes the connection), an idle timeout,
//! a write timeout, and [`MAX_INVALID_STREAK`] invalid messages in a row
//! close the connection. Templates are built on the blocking pool and
//! blocks are submitted there too, so the server never blocks the node's
//! runtime.

pub mod job;
mod session;
pub mod vardiff;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use luminex_consensus::pow::target_from_compact;
use luminex_primitives::{Lock, MerkleCommitment};
use luminex_service::Node;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

use job::{Job, EXTRANONCE_LEN};
pub use vardiff::VardiffConfig;

/// Longest line a client may send.
pub const MAX_LINE: usize = 16 * 1024;
/// Invalid messages in a row (malformed lines, refused shares) that close a
/// connection.
pub const MAX_INVALID_STREAK: u32 = 50;
/// Jobs a connection keeps (older shares are reported stale).
const JOBS_KEPT: usize = 8;

/// Stratum server settings.
#[derive(Debug, Clone)]
pub struct StratumConfig {
    /// Connections at most.
    pub max_connections: usize,
    /// Difficulty per connection.
    pub vardiff: VardiffConfig,
    /// Bytes written in every coinbase before the extranonces (a pool tag).
    pub pool_tag: Vec<u8>,
    /// A connection silent this long is closed.
    pub idle_timeout: Duration,
    /// A write that takes this long closes the connection.
    pub write_timeout: Duration,
    /// New transactions are handed out at least this often.
    pub refresh: Duration,
}

impl Default for StratumConfig {
    fn default() -> Self {
        StratumConfig {
            max_connections: 4096,
            vardiff: VardiffConfig::default(),
            pool_tag: b"/luminex/".to_vec(),
            idle_timeout: Duration::from_secs(600),
            write_timeout: Duration::from_secs(10),
            refresh: Duration::from_secs(30),
        }
    }
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StratumError {
    /// The chain's headers do not commit the way Stratum miners compute.
    #[error("stratum needs a chain with merkle_commitment = \"bitcoin\" (such as qbtc)")]
    Commitment,
    /// The pool tag does not fit in the coinbase with the extranonces.
    #[error("pool tag is {len} bytes, at most {max} fit")]
    PoolTag {
        /// Its length.
        len: usize,
        /// What fits.
        max: usize,
    },
    /// The listener failed.
    #[error("stratum listener: {0}")]
    Io(#[from] std::io::Error),
}

/// A job as the server last published it.
#[derive(Debug, Clone)]
pub(crate) struct Published {
    pub(crate) job: Arc<Job>,
    /// Whether earlier jobs are void (a new tip).
    pub(crate) clean: bool,
}

/// What every connection shares.
pub(crate) struct Shared {
    pub(crate) node: Arc<Node>,
    pub(crate) cfg: StratumConfig,
    pub(crate) default_payout: Option<Lock>,
    pub(crate) jobs: watch::Receiver<Option<Published>>,
    next_extranonce1: AtomicU32,
}

impl Shared {
    pub(crate) fn extranonce1(&self) -> [u8; job::EXTRANONCE1_LEN] {
        self.next_extranonce1
            .fetch_add(1, Ordering::Relaxed)
            .to_be_bytes()
    }
}

/// A bound Stratum server, ready to run.
pub struct StratumServer {
    listener: TcpListener,
    shared: Arc<Shared>,
    jobs_tx: watch::Sender<Option<Published>>,
}

impl StratumServer {
    /// Binds `addr`. `default_payout` pays workers that authorize without an
    /// address.
    pub async fn bind(
        addr: SocketAddr,
        node: Arc<Node>,
        default_payout: Option<Lock>,
        cfg: StratumConfig,
    ) -> Result<StratumServer, StratumError> {
        if node.spec.merkle_commitment != MerkleCommitment::Bitcoin {
            return Err(StratumError::Commitment);
        }
        let max = luminex_primitives::commitment::MAX_COINBASE_EXTRA - EXTRANONCE_LEN;
        if cfg.pool_tag.len() > max {
            return Err(StratumError::PoolTag {
                len: cfg.pool_tag.len(),
                max,
            });
        }
        let listener = TcpListener::bind(addr).await?;
        let (jobs_tx, jobs) = watch::channel(None);
        Ok(StratumServer {
            listener,
            shared: Arc::new(Shared {
                node,
                cfg,
                default_payout,
                jobs,
                next_extranonce1: AtomicU32::new(rand::random()),
            }),
            jobs_tx,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `stop` turns true.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let StratumServer {
            listener,
            shared,
            jobs_tx,
        } = self;
        let maker = tokio::spawn(make_jobs(shared.clone(), jobs_tx, stop.clone()));
        let permits = Arc::new(Semaphore::new(shared.cfg.max_connections));
        loop {
            let accepted = tokio::select! {
                a = listener.accept() => a,
                _ = stop.changed() => break,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "stratum accept failed");
                    continue;
                }
            };
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                tracing::debug!(%peer, "stratum connection refused: at the connection limit");
                drop(stream);
                continue;
            };
            let shared = shared.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let _permit = permit;
                session::run(stream, peer, shared, stop).await;
            });
        }
        maker.abort();
    }
}

/// Builds a job now (on the blocking pool).
async fn build_job(shared: &Shared, id: u64) -> Option<Arc<Job>> {
    let node = shared.node.clone();
    let mut extra = shared.cfg.pool_tag.clone();
    extra.extend_from_slice(&[0; EXTRANONCE_LEN]);
    // Outputs are replaced per connection; any lock builds the template.
    let lock = shared.default_payout.unwrap_or(Lock::Key {
        scheme: node.spec.default_scheme,
        key_hash: luminex_primitives::Hash::ZERO,
    });
    tokio::task::spawn_blocking(move || {
        let (block, _fees) = match node.block_template_with(lock, &extra) {
            Ok(t) => t,
            Err(e) => {
                tracing::warn!(error = %e, "stratum: no block template");
                return None;
            }
        };
        let cb = block.txs.first()?;
        let luminex_primitives::TxKind::Coinbase { height } = cb.kind else {
            return None;
        };
        let reward = cb.output_total().ok()?;
        let min_time = {
            let parent = node.chain.tip_parent();
            let rules = node.chain.rules();
            u32::try_from(node.chain.with_context(|h| rules.min_time(&parent, h)))
                .unwrap_or(u32::MAX)
        };
        let target = target_from_compact(block.header.as_pow()?.bits).ok()?;
        Job::from_template(format!("{id:x}"), height, block, reward, min_time, target).map(Arc::new)
    })
    .await
    .ok()
    .flatten()
}

/// Publishes a clean job on every new tip and a fresh one (new
/// transactions, new time) every `refresh`.
async fn make_jobs(
    shared: Arc<Shared>,
    tx: watch::Sender<Option<Published>>,
    mut stop: watch::Receiver<bool>,
) {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let mut tips = shared.node.tip_changed.subscribe();
    let mut tip = *tips.borrow_and_update();
    let mut clean = true;
    loop {
        let id = NEXT.fetch_add(1, Ordering::Relaxed);
        if let Some(job) = build_job(&shared, id).await {
            // A tip that moved while building makes this job clean too.
            let now_tip = job.header.prev_hash;
            clean |= now_tip != tip;
            tip = now_tip;
            tx.send_replace(Some(Published { job, clean }));
            clean = false;
        }
        tokio::select! {
            r = tips.changed() => {
                if r.is_err() {
                    return;
                }
                let new = *tips.borrow_and_update();
                clean = new != tip;
            }
            _ = tokio::time::sleep(shared.cfg.refresh) => {}
            _ = stop.changed() => return,
        }
    }
}
