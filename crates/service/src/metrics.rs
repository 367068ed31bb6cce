//! Prometheus metrics (`prometheus-client`), served at `/metrics` in the
//! OpenMetrics text format. Names start with `luminex_`; every metric has
//! help text and, where it has one, a unit. Counters are updated where things
//! happen; gauges of state (height, mempool, disk, process) are refreshed
//! when scraped.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

use parking_lot::Mutex;

use crate::Node;

mod admission;
mod consensus;
mod staking;

pub use admission::{AdmissionMetrics, StageLabels, REFUSALS};
use consensus::ConsensusSeen;
pub use consensus::{RebuiltLabels, StepLabels, TimeoutStep};
pub use staking::StakingMetrics;

/// Label set of a peer count.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DirectionLabels {
    /// `inbound` or `outbound`.
    pub direction: String,
}

/// Label set of a rejection.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    /// Stable rejection code (`bad-signature`, `double-spend`, …).
    pub reason: String,
}

/// Label set of an API request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The matched route template (`/blocks/{id}`), or `unmatched`.
    pub route: String,
    /// HTTP status code.
    pub status: String,
}

/// Label set of a Stratum worker.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WorkerLabels {
    /// The worker name (`mining.authorize`'s user).
    pub worker: String,
}

/// Label set of a Stratum share.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShareLabels {
    /// The worker name.
    pub worker: String,
    /// `accepted`, or why it was refused (`stale`, `duplicate`, …).
    pub result: String,
}

/// Label set of an HTTP listener (`rest` or `rpc`).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLabels {
    /// Which listener.
    pub listener: String,
}

/// Label set of a connection a listener closed on arrival or evicted.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerRefusalLabels {
    /// Which listener.
    pub listener: String,
    /// `per-client` (its address holds its cap), `full` (no fairer victim
    /// to evict) or `evicted` (an idle connection closed for a newcomer).
    pub reason: String,
}

/// Label set of a listener's configured limit.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ListenerLimitLabels {
    /// Which listener.
    pub listener: String,
    /// `max_connections`, `max_per_client`, `header_timeout_seconds`,
    /// `body_timeout_seconds`, `workers` or `work_queue`.
    pub limit: String,
}

/// Every metric the node exports.
pub struct Metrics {
    registry: Registry,
    /// Main-chain height.
    pub chain_height: Gauge,
    /// Height this node will never reorganise below (tip minus
    /// `max_reorg_depth`; BFT presets will report their own finality).
    pub finalized_height: Gauge,
    /// Transactions in the mempool.
    pub mempool_transactions: Gauge,
    /// Bytes of the mempool.
    pub mempool_bytes: Gauge,
    /// Mempool size cap.
    pub mempool_max_bytes: Gauge,
    /// Transactions admitted to the mempool.
    pub transactions_accepted: Counter,
    /// Transactions refused, by reason.
    pub transactions_rejected: Family<ReasonLabels, Counter>,
    /// Blocks connected to the main chain.
    pub blocks_connected: Counter,
    /// Blocks disconnected by reorganisations.
    pub blocks_disconnected: Counter,
    /// Reorganisations.
    pub reorgs: Counter,
    /// BFT: the height being decided.
    pub consensus_height: Gauge,
    /// BFT: the round of that height.
    pub consensus_round: Gauge,
    /// BFT: conflicting votes seen (evidence of a misbehaving validator).
    pub consensus_evidence: Counter,
    /// BFT chains: double-signing offences known and not yet carried by a
    /// block.
    pub consensus_evidence_pending: Gauge,
    /// BFT: timeouts that fired and moved this node's round on, by step.
    pub consensus_timeouts: Family<StepLabels, Counter>,
    /// BFT: rounds started after a height's first (each one a round that
    /// did not decide).
    pub consensus_round_changes: Counter,
    /// BFT: compact proposals rebuilt, by where their transactions came
    /// from.
    pub consensus_proposals_rebuilt: Family<RebuiltLabels, Counter>,
    /// BFT: validators in the set deciding the current height.
    pub consensus_validators: Gauge,
    /// BFT: their total voting power.
    pub consensus_validators_power: Gauge,
    /// BFT: validators absent from the last certificate a committed block
    /// carried.
    pub consensus_missing_validators: Gauge,
    /// BFT: their voting power.
    pub consensus_missing_validators_power: Gauge,
    /// BFT: this node's validator key's voting power in the current set
    /// (0 when it is not a member or the node only follows).
    pub consensus_validator_power: Gauge,
    /// BFT: certificates, carried by committed blocks, of heights at which
    /// this node's validator was in the set but did not sign.
    pub consensus_validator_missed_blocks: Counter,
    /// BFT: the last height whose certificate this node's validator signed.
    pub consensus_validator_last_signed_height: Gauge,
    /// BFT: time between the header times of consecutive committed blocks.
    pub consensus_block_interval_seconds: Histogram,
    consensus_seen: Mutex<ConsensusSeen>,
    /// Blocks refused, by reason.
    pub blocks_rejected: Family<ReasonLabels, Counter>,
    /// Time to validate and commit a block that changed the main chain.
    pub block_validation_seconds: Histogram,
    /// ML-DSA signature verifications performed (cache hits not counted).
    pub signature_verifications: Counter,
    /// Hashes tried by the built-in miner.
    pub miner_hashes: Counter,
    /// Bytes of the database on disk.
    pub storage_disk_bytes: Gauge,
    /// Reads of the database that found damaged data since the node
    /// started (ADR 0075): a counter, set from the store's own count.
    pub storage_damaged_reads: Counter,
    /// 1 once a write to the database failed and the store refuses every
    /// change until the node restarts, 0 otherwise.
    pub storage_halted: Gauge,
    /// CPU time of the process: a counter (it only grows), so `rate()` of
    /// it is CPU use, as node_exporter's `process_cpu_seconds_total`.
    pub process_cpu_seconds: Counter<f64, AtomicU64>,
    /// Resident memory of the process.
    pub process_resident_memory_bytes: Gauge,
    /// Seconds since start.
    pub uptime_seconds: Gauge<f64, AtomicU64>,
    /// Connected peers by direction.
    pub peers: Family<DirectionLabels, Gauge>,
    /// Peers currently banned.
    pub banned_peers: Gauge,
    /// Highest height a peer reported (the local height without peers).
    pub best_peer_height: Gauge,
    /// Seconds from the last gossiped block's timestamp to its import here.
    pub block_propagation_seconds: Gauge<f64, AtomicU64>,
    /// REST API requests by route and status.
    pub api_requests: Family<RouteLabels, Counter>,
    /// Stratum shares by worker and result.
    pub stratum_shares: Family<ShareLabels, Counter>,
    /// Blocks found by Stratum workers and accepted.
    pub stratum_blocks_found: Family<WorkerLabels, Counter>,
    /// Estimated hash rate per Stratum worker (refreshed when scraped).
    pub stratum_worker_hashrate: Family<WorkerLabels, Gauge<f64, AtomicU64>>,
    /// Open Stratum connections per worker (refreshed when scraped).
    pub stratum_worker_connections: Family<WorkerLabels, Gauge>,
    /// Open HTTP connections by listener.
    pub http_connections: Family<ListenerLabels, Gauge>,
    /// HTTP connections closed on arrival or evicted, by listener and reason.
    pub http_connections_refused: Family<ListenerRefusalLabels, Counter>,
    /// Failed accepts (such as running out of file descriptors).
    pub http_accept_errors: Family<ListenerLabels, Counter>,
    /// HTTP requests being handled, by listener.
    pub http_requests_in_flight: Family<ListenerLabels, Gauge>,
    /// HTTP requests answered 503 because the work queue was full.
    pub http_requests_shed: Family<ListenerLabels, Counter>,
    /// Each listener's configured limits.
    pub http_limits: Family<ListenerLimitLabels, Gauge>,
    /// Stake, jails and registered nodes (zero without staking).
    pub staking: StakingMetrics,
    /// The admission pipeline's queue, refusals and contained panics.
    pub admission: AdmissionMetrics,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Metrics {
        let mut r = Registry::with_prefix("luminex");
        let m = Metrics {
            registry: Registry::default(),
            chain_height: Gauge::default(),
            finalized_height: Gauge::default(),
            mempool_transactions: Gauge::default(),
            mempool_bytes: Gauge::default(),
            mempool_max_bytes: Gauge::default(),
            transactions_accepted: Counter::default(),
            transactions_rejected: Family::default(),
            blocks_connected: Counter::default(),
            blocks_disconnected: Counter::default(),
            reorgs: Counter::default(),
            consensus_height: Gauge::default(),
            consensus_round: Gauge::default(),
            consensus_evidence: Counter::default(),
            consensus_evidence_pending: Gauge::default(),
            consensus_timeouts: Family::default(),
            consensus_round_changes: Counter::default(),
            consensus_proposals_rebuilt: Family::default(),
            consensus_validators: Gauge::default(),
            consensus_validators_power: Gauge::default(),
            consensus_missing_validators: Gauge::default(),
            consensus_missing_validators_power: Gauge::default(),
            consensus_validator_power: Gauge::default(),
            consensus_validator_missed_blocks: Counter::default(),
            consensus_validator_last_signed_height: Gauge::default(),
            // 0.5 s to 43 s in steps of half: fine around poa's 1 s.
            consensus_block_interval_seconds: Histogram::new(exponential_buckets(0.5, 1.5, 12)),
            consensus_seen: Mutex::new(ConsensusSeen::default()),
            blocks_rejected: Family::default(),
            block_validation_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            signature_verifications: Counter::default(),
            miner_hashes: Counter::default(),
            storage_disk_bytes: Gauge::default(),
            storage_damaged_reads: Counter::default(),
            storage_halted: Gauge::default(),
            process_cpu_seconds: Counter::default(),
            process_resident_memory_bytes: Gauge::default(),
            uptime_seconds: Gauge::default(),
            peers: Family::default(),
            banned_peers: Gauge::default(),
            best_peer_height: Gauge::default(),
            block_propagation_seconds: Gauge::default(),
            api_requests: Family::default(),
            stratum_shares: Family::default(),
            stratum_blocks_found: Family::default(),
            stratum_worker_hashrate: Family::default(),
            stratum_worker_connections: Family::default(),
            http_connections: Family::default(),
            http_connections_refused: Family::default(),
            http_accept_errors: Family::default(),
            http_requests_in_flight: Family::default(),
            http_requests_shed: Family::default(),
            http_limits: Family::default(),
            staking: StakingMetrics::default(),
            admission: AdmissionMetrics::default(),
        };
        m.staking.register(&mut r);
        m.admission.register(&mut r);
        r.register(
            "http_connections",
            "Open HTTP connections by listener",
            m.http_connections.clone(),
        );
        r.register(
            "http_connections_refused",
            "HTTP connections closed on arrival or evicted, by listener and reason",
            m.http_connections_refused.clone(),
        );
        r.register(
            "http_accept_errors",
            "Failed accepts on an HTTP listener (such as no file descriptors left)",
            m.http_accept_errors.clone(),
        );
        r.register(
            "http_requests_in_flight",
            "HTTP requests being handled, by listener",
            m.http_requests_in_flight.clone(),
        );
        r.register(
            "http_requests_shed",
            "HTTP requests answered 503 because the work queue was full",
            m.http_requests_shed.clone(),
        );
        r.register(
            "http_limits",
            "Configured limits of each HTTP listener",
            m.http_limits.clone(),
        );
        r.register(
            "chain_height",
            "Height of the main-chain tip",
            m.chain_height.clone(),
        );
        r.register(
            "finalized_height",
            "Height below which this node will not reorganise",
            m.finalized_height.clone(),
        );
        r.register(
            "mempool_transactions",
            "Transactions waiting in the mempool",
            m.mempool_transactions.clone(),
        );
        r.register_with_unit(
            "mempool",
            "Encoded size of the mempool",
            Unit::Bytes,
            m.mempool_bytes.clone(),
        );
        r.register_with_unit(
            "mempool_max",
            "Size cap of the mempool",
            Unit::Bytes,
            m.mempool_max_bytes.clone(),
        );
        r.register(
            "transactions_accepted",
            "Transactions admitted to the mempool",
            m.transactions_accepted.clone(),
        );
        r.register(
            "transactions_rejected",
            "Transactions refused, by reason",
            m.transactions_rejected.clone(),
        );
        r.register(
            "blocks_connected",
            "Blocks connected to the main chain",
            m.blocks_connected.clone(),
        );
        r.register(
            "blocks_disconnected",
            "Blocks disconnected by reorganisations",
            m.blocks_disconnected.clone(),
        );
        r.register(
            "reorgs",
            "Reorganisations of the main chain",
            m.reorgs.clone(),
        );
        r.register(
            "consensus_height",
            "BFT chains: the height being decided",
            m.consensus_height.clone(),
        );
        r.register(
            "consensus_round",
            "BFT chains: the round of the height being decided",
            m.consensus_round.clone(),
        );
        r.register(
            "consensus_evidence",
            "BFT chains: double-signing offences (a validator at a height) this node checked \
             and kept, from its own votes or from peers' evidence",
            m.consensus_evidence.clone(),
        );
        r.register(
            "consensus_evidence_pending",
            "BFT chains: double-signing offences known and not yet carried by a block",
            m.consensus_evidence_pending.clone(),
        );
        for step in TimeoutStep::ALL {
            // Every step exported from the start, so rates begin at zero.
            let _ = m.consensus_timeouts.get_or_create(&StepLabels {
                step: step.as_str().into(),
            });
        }
        r.register(
            "consensus_timeouts",
            "BFT chains: timeouts that fired and moved the round on, by step",
            m.consensus_timeouts.clone(),
        );
        r.register(
            "consensus_round_changes",
            "BFT chains: rounds started after the first of a height (rounds that did not decide)",
            m.consensus_round_changes.clone(),
        );
        for source in ["mempool", "fetched"] {
            let _ = m.consensus_proposals_rebuilt.get_or_create(&RebuiltLabels {
                source: source.into(),
            });
        }
        r.register(
            "consensus_proposals_rebuilt",
            "BFT chains: compact proposals rebuilt, by where their transactions came from (mempool, or fetched from the proposer)",
            m.consensus_proposals_rebuilt.clone(),
        );
        r.register(
            "consensus_validators",
            "BFT chains: validators in the set deciding the current height",
            m.consensus_validators.clone(),
        );
        r.register(
            "consensus_validators_power",
            "BFT chains: total voting power of the set deciding the current height",
            m.consensus_validators_power.clone(),
        );
        r.register(
            "consensus_missing_validators",
            "BFT chains: validators absent from the last commit certificate a committed block carried",
            m.consensus_missing_validators.clone(),
        );
        r.register(
            "consensus_missing_validators_power",
            "BFT chains: voting power of the validators absent from the last commit certificate",
            m.consensus_missing_validators_power.clone(),
        );
        r.register(
            "consensus_validator_power",
            "BFT chains: voting power of this node's validator key in the current set (0 if none)",
            m.consensus_validator_power.clone(),
        );
        r.register(
            "consensus_validator_missed_blocks",
            "BFT chains: commit certificates without this node's validator's signature while it was in the set",
            m.consensus_validator_missed_blocks.clone(),
        );
        r.register(
            "consensus_validator_last_signed_height",
            "BFT chains: last height whose commit certificate this node's validator signed",
            m.consensus_validator_last_signed_height.clone(),
        );
        r.register_with_unit(
            "consensus_block_interval",
            "BFT chains: time between the header times of consecutive committed blocks",
            Unit::Seconds,
            m.consensus_block_interval_seconds.clone(),
        );
        r.register(
            "blocks_rejected",
            "Blocks refused, by reason",
            m.blocks_rejected.clone(),
        );
        r.register_with_unit(
            "block_validation",
            "Time to validate and commit a block that changed the main chain",
            Unit::Seconds,
            m.block_validation_seconds.clone(),
        );
        r.register(
            "signature_verifications",
            "Signature verifications performed (cache hits excluded)",
            m.signature_verifications.clone(),
        );
        r.register(
            "miner_hashes",
            "Hashes tried by the built-in miner",
            m.miner_hashes.clone(),
        );
        r.register_with_unit(
            "storage_disk",
            "Bytes of the database on disk",
            Unit::Bytes,
            m.storage_disk_bytes.clone(),
        );
        r.register(
            "storage_damaged_reads",
            "Reads of the database that found damaged data (a checksum mismatch) since the node started",
            m.storage_damaged_reads.clone(),
        );
        r.register(
            "storage_halted",
            "1 once a write to the database failed: the node takes no more blocks until it restarts",
            m.storage_halted.clone(),
        );
        r.register_with_unit(
            "process_cpu",
            "CPU time of the process",
            Unit::Seconds,
            m.process_cpu_seconds.clone(),
        );
        r.register_with_unit(
            "process_resident_memory",
            "Resident memory of the process",
            Unit::Bytes,
            m.process_resident_memory_bytes.clone(),
        );
        r.register_with_unit(
            "uptime",
            "Time since the node started",
            Unit::Seconds,
            m.uptime_seconds.clone(),
        );
        r.register(
            "api_requests",
            "REST API requests by route and status",
            m.api_requests.clone(),
        );
        r.register("peers", "Connected peers by direction", m.peers.clone());
        r.register(
            "banned_peers",
            "Peers banned for misbehaviour",
            m.banned_peers.clone(),
        );
        r.register(
            "best_peer_height",
            "Highest chain height reported by a peer",
            m.best_peer_height.clone(),
        );
        r.register_with_unit(
            "block_propagation",
            "Delay from the last gossiped block's timestamp to its import",
            Unit::Seconds,
            m.block_propagation_seconds.clone(),
        );
        r.register(
            "stratum_shares",
            "Stratum shares by worker and result (accepted or the reason refused)",
            m.stratum_shares.clone(),
        );
        r.register(
            "stratum_blocks_found",
            "Blocks found by Stratum workers and accepted onto the main chain",
            m.stratum_blocks_found.clone(),
        );
        r.register(
            "stratum_worker_hashrate",
            "Hashes per second of a Stratum worker, estimated from its accepted shares over ten minutes",
            m.stratum_worker_hashrate.clone(),
        );
        r.register(
            "stratum_worker_connections",
            "Open Stratum connections of a worker",
            m.stratum_worker_connections.clone(),
        );
        Metrics { registry: r, ..m }
    }

    /// Encodes every metric as it stands (no refresh).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("encoding into a String cannot fail");
        out
    }

    /// Refreshes the state gauges from `node` and encodes everything.
    pub fn render(&self, node: &Node) -> String {
        let height = node.chain.tip().height;
        self.chain_height.set(height as i64);
        self.finalized_height
            .set(node.chain.finalized().height as i64);
        {
            let pool = node.mempool.read();
            self.mempool_transactions.set(pool.len() as i64);
            self.mempool_bytes.set(pool.bytes() as i64);
            self.mempool_max_bytes.set(pool.max_bytes() as i64);
        }
        self.staking.refresh(node);
        self.storage_disk_bytes.set(node.chain.disk_space() as i64);
        let damaged = node.chain.damaged().map_or(0, |(_, n)| n);
        // Raised to the store's count, as the CPU time below.
        self.storage_damaged_reads
            .inner()
            .fetch_max(damaged, std::sync::atomic::Ordering::Relaxed);
        self.storage_halted
            .set(i64::from(node.chain.halted().is_some()));
        self.uptime_seconds
            .set(node.started.elapsed().as_secs_f64());
        let mut best = height;
        let (mut inbound, mut outbound) = (0, 0);
        if let Some(net) = node.net.get() {
            let info = net.info();
            for p in &info.peers {
                if p.direction == "inbound" {
                    inbound += 1;
                } else {
                    outbound += 1;
                }
            }
            best = best.max(info.sync.best_peer_height);
            self.banned_peers.set(info.banned.len() as i64);
            if let Some(d) = info.last_block_delay_secs {
                self.block_propagation_seconds.set(d);
            }
        }
        for (dir, n) in [("inbound", inbound), ("outbound", outbound)] {
            self.peers
                .get_or_create(&DirectionLabels {
                    direction: dir.into(),
                })
                .set(n);
        }
        self.best_peer_height.set(best as i64);
        for w in node.pool.snapshot(node.clock.now_unix()) {
            let labels = WorkerLabels { worker: w.worker };
            self.stratum_worker_hashrate
                .get_or_create(&labels)
                .set(w.hashrate);
            self.stratum_worker_connections
                .get_or_create(&labels)
                .set(w.connections as i64);
        }
        let (cpu, rss) = process_usage();
        // Set by raising to the reading: for non-negative floats the bit
        // patterns order as the values do, so a maximum of the bits is the
        // maximum of the seconds, atomic whatever scrapes run at once.
        self.process_cpu_seconds
            .inner()
            .fetch_max(cpu.max(0.0).to_bits(), std::sync::atomic::Ordering::Relaxed);
        self.process_resident_memory_bytes.set(rss as i64);
        self.encode()
    }
}

/// A count or power as a gauge value (saturating: gauges are `i64`).
fn gauge(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// CPU seconds and resident bytes of this process, from `/proc` (zeros
/// where it is not available).
pub fn process_usage() -> (f64, u64) {
    #[cfg(target_os = "linux")]
    {
        let ticks = 100.0; // USER_HZ on every Linux platform in use
        let cpu = std::fs::read_to_string("/proc/self/stat")
            .ok()
            .and_then(|s| {
                // Fields after the command name, which may contain spaces.
                let rest = s.rsplit_once(')')?.1;
                let f: Vec<&str> = rest.split_whitespace().collect();
                let utime: f64 = f.get(11)?.parse().ok()?;
                let stime: f64 = f.get(12)?.parse().ok()?;
                Some((utime + stime) / ticks)
            })
            .unwrap_or(0.0);
        let rss = std::fs::read_to_string("/proc/self/statm")
            .ok()
            .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
            .map_or(0, |pages| pages * 4096);
        (cpu, rss)
    }
    #[cfg(not(target_os = "linux"))]
    {
        (0.0, 0)
    }
}

/// Content type of the OpenMetrics exposition.
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
/// Content type of the classic Prometheus text exposition.
pub const PROMETHEUS_TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Converts the OpenMetrics exposition to the classic Prometheus text
/// format (for tools such as `promtool check metrics` that read only it):
/// counter metadata names the `_total` sample, `# UNIT` and `# EOF` go.
/// `prometheus-client` writes only OpenMetrics, hence this small rewrite.
pub fn to_prometheus_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let meta = ["# HELP ", "# TYPE "].into_iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(name)
                .then(|| format!("{p}{name}_total {tail}"))
        });
        out.push_str(meta.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}
