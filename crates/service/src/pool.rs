//! Solo-pool accounting: shares and blocks per Stratum worker, and a hash
//! rate estimated from the difficulty of accepted shares.
//!
//! A share of difficulty `d` stands for `d × 2^32` hashes on average, so
//! the hash rate over a window is the sum of accepted difficulties times
//! 2^32 over the window's length. Difficulties are summed in one-minute
//! buckets over the last [`WINDOW_MINUTES`] minutes, so memory per worker
//! is fixed whatever the share rate. Worker names come from miners: at most
//! [`MAX_WORKERS`] are tracked, which also bounds the metrics' label sets.
//! When a new name needs room, a worker that never sent a share goes first
//! (gone, then still connected: names cost nothing to make up), then the
//! least recently active of those that have gone; a connected worker with
//! shares is never forgotten.

use std::collections::{BTreeMap, HashMap};

use parking_lot::Mutex;

/// Workers tracked at most.
pub const MAX_WORKERS: usize = 4096;
/// Minutes of shares the hash rate is estimated from.
pub const WINDOW_MINUTES: u64 = 10;

/// How a share ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ShareOutcome {
    /// Met the worker's difficulty.
    Accepted {
        /// The difficulty it met.
        difficulty: f64,
    },
    /// Refused, with a short reason (`stale`, `duplicate`,
    /// `low-difficulty`, …).
    Rejected(&'static str),
}

/// One worker's figures, as the REST route shows them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkerStats {
    /// The worker name (`mining.authorize`'s user).
    pub worker: String,
    /// Shares accepted.
    pub shares_accepted: u64,
    /// Shares rejected, by reason.
    pub shares_rejected: BTreeMap<String, u64>,
    /// Blocks found and accepted by the node.
    pub blocks_found: u64,
    /// Unix time of the last share (accepted or not); 0 if none.
    pub last_share_time: u64,
    /// Estimated hashes per second over the last ten minutes.
    pub hashrate: f64,
    /// Open connections authorized as this worker.
    pub connections: u64,
}

#[derive(Debug, Default)]
struct Worker {
    stats: WorkerStats,
    /// (minute, summed difficulty) buckets, newest last.
    buckets: Vec<(u64, f64)>,
    first_share: u64,
}

impl Worker {
    fn hashrate(&self, now: u64) -> f64 {
        let minute = now / 60;
        // `+ 0.0`: an empty float sum is -0.0, which would print as such.
        let sum = self
            .buckets
            .iter()
            .filter(|(m, _)| m + WINDOW_MINUTES > minute)
            .map(|(_, d)| d)
            .sum::<f64>()
            + 0.0;
        // Over the window, or since the first share when that is shorter.
        let span = (now.saturating_sub(self.first_share)).clamp(1, WINDOW_MINUTES * 60);
        sum * 4_294_967_296.0 / span as f64
    }
}

/// Every worker's figures.
#[derive(Debug, Default)]
pub struct PoolStats {
    workers: Mutex<HashMap<String, Worker>>,
}

impl PoolStats {
    /// Registers a connection authorized as `worker` at `now`. Returns
    /// false when the table is full of connected workers that have sent
    /// shares (the name is then refused).
    pub fn connect(&self, worker: &str, now: u64) -> bool {
        let mut w = self.workers.lock();
        if !w.contains_key(worker) && w.len() >= MAX_WORKERS {
            // Who goes first: never shared and gone, never shared and
            // connected, then gone, least recently active first.
            let victim = w
                .iter()
                .filter_map(|(k, v)| {
                    let shared = v.stats.last_share_time > 0 || v.stats.blocks_found > 0;
                    let rank = match (shared, v.stats.connections > 0) {
                        (false, false) => 0,
                        (false, true) => 1,
                        (true, false) => 2,
                        (true, true) => return None,
                    };
                    Some(((rank, v.stats.last_share_time), k))
                })
                .min()
                .map(|(_, k)| k.clone());
            match victim {
                Some(k) => {
                    w.remove(&k);
                }
                None => return false,
            }
        }
        let e = w.entry(worker.to_string()).or_insert_with(|| Worker {
            stats: WorkerStats {
                worker: worker.to_string(),
                ..WorkerStats::default()
            },
            ..Worker::default()
        });
        e.stats.connections += 1;
        if e.first_share == 0 {
            e.first_share = now;
        }
        true
    }

    /// A connection of `worker` closed.
    pub fn disconnect(&self, worker: &str) {
        if let Some(e) = self.workers.lock().get_mut(worker) {
            e.stats.connections = e.stats.connections.saturating_sub(1);
        }
    }

    /// Records a share of `worker` at `now` (Unix seconds).
    pub fn record_share(&self, worker: &str, outcome: ShareOutcome, now: u64) {
        let mut w = self.workers.lock();
        let Some(e) = w.get_mut(worker) else { return };
        e.stats.last_share_time = now;
        match outcome {
            ShareOutcome::Accepted { difficulty } => {
                e.stats.shares_accepted += 1;
                let minute = now / 60;
                match e.buckets.last_mut() {
                    Some((m, d)) if *m == minute => *d += difficulty,
                    _ => e.buckets.push((minute, difficulty)),
                }
                let keep_from = minute.saturating_sub(WINDOW_MINUTES);
                e.buckets.retain(|(m, _)| *m > keep_from);
            }
            ShareOutcome::Rejected(reason) => {
                *e.stats
                    .shares_rejected
                    .entry(reason.to_string())
                    .or_default() += 1;
            }
        }
    }

    /// Records a block found by `worker` and accepted by the node.
    pub fn record_block(&self, worker: &str) {
        if let Some(e) = self.workers.lock().get_mut(worker) {
            e.stats.blocks_found += 1;
        }
    }

    /// Every worker's figures at `now`, by name.
    pub fn snapshot(&self, now: u64) -> Vec<WorkerStats> {
        let w = self.workers.lock();
        let mut v: Vec<WorkerStats> = w
            .values()
            .map(|e| WorkerStats {
                hashrate: e.hashrate(now),
                ..e.stats.clone()
            })
            .collect();
        v.sort_by(|a, b| a.worker.cmp(&b.worker));
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_blocks_and_hashrate_per_worker() {
        let p = PoolStats::default();
        assert!(p.connect("alice", 1_000));
        for i in 0..60 {
            p.record_share(
                "alice",
                ShareOutcome::Accepted { difficulty: 1.0 },
                1_000 + i * 10,
            );
        }
        p.record_share("alice", ShareOutcome::Rejected("stale"), 1_600);
        p.record_block("alice");
        let s = &p.snapshot(1_600)[0];
        assert_eq!(s.shares_accepted, 60);
        assert_eq!(s.shares_rejected["stale"], 1);
        assert_eq!(s.blocks_found, 1);
        assert_eq!(s.last_share_time, 1_600);
        // 60 shares of difficulty 1 in 600 s: 2^32 / 10 hashes a second,
        // less the oldest minute's bucket, which left the window.
        let exact = 4_294_967_296.0 / 10.0;
        assert!(
            s.hashrate > 0.85 * exact && s.hashrate <= exact,
            "{}",
            s.hashrate
        );
        // Shares of unknown workers are not recorded.
        p.record_share("mallory", ShareOutcome::Rejected("stale"), 1_600);
        assert_eq!(p.snapshot(1_600).len(), 1);
        // Twenty minutes later the window is empty.
        assert_eq!(p.snapshot(2_800)[0].hashrate, 0.0);
    }

    #[test]
    fn the_table_is_bounded() {
        let p = PoolStats::default();
        for i in 0..MAX_WORKERS {
            assert!(p.connect(&format!("w{i}"), 1));
        }
        // Connected names that never sent a share make room.
        assert!(p.connect("one-more", 1));
        assert_eq!(p.snapshot(1).len(), MAX_WORKERS);
    }

    /// Names made up by one client cannot push out the workers that mined:
    /// gone workers with shares stay ahead of connected names with none,
    /// and connected workers with shares are never pushed out.
    #[test]
    fn workers_with_shares_outlast_made_up_names() {
        let p = PoolStats::default();
        assert!(p.connect("miner", 1));
        p.record_share("miner", ShareOutcome::Accepted { difficulty: 1.0 }, 5);
        p.record_block("miner");
        p.disconnect("miner");
        assert!(p.connect("active", 1));
        p.record_share("active", ShareOutcome::Accepted { difficulty: 1.0 }, 6);
        for i in 0..3 * MAX_WORKERS {
            assert!(p.connect(&format!("hog{i}"), 10), "hog{i}");
        }
        let names: Vec<String> = p.snapshot(10).into_iter().map(|s| s.worker).collect();
        assert_eq!(names.len(), MAX_WORKERS);
        assert!(names.contains(&"miner".to_string()));
        assert!(names.contains(&"active".to_string()));
        // A worker without shares shows a hash rate of 0, not -0.
        let hog = p
            .snapshot(10)
            .into_iter()
            .find(|s| s.worker.starts_with("hog"))
            .unwrap();
        assert!(hog.hashrate == 0.0 && hog.hashrate.is_sign_positive());
        // Only when every name is a connected worker with shares is a new
        // one refused.
        let full = PoolStats::default();
        for i in 0..MAX_WORKERS {
            let n = format!("w{i}");
            assert!(full.connect(&n, 1));
            full.record_share(&n, ShareOutcome::Rejected("stale"), 2);
        }
        assert!(!full.connect("one-more", 3));
    }
}
