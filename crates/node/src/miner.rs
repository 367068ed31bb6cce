//! The built-in proof-of-work miner: builds a template from the mempool
//! (fees and subsidy to the miner address), grinds nonces on N threads with
//! a precomputed midstate, and starts over when the tip changes or the
//! template is a few seconds old (to pick up new transactions).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use luminex_consensus::mining::grind;
use luminex_consensus::pow::target_from_compact;
use luminex_primitives::Lock;
use parking_lot::Mutex;

use luminex_service::Node;

/// Nonces a thread tries between checks for a new tip.
const CHUNK: u32 = 1 << 16;
/// Age after which a template is rebuilt.
const TEMPLATE_AGE: Duration = Duration::from_secs(5);
/// Longest pause after the node refused the miner's blocks again and again.
const MAX_REFUSAL_BACKOFF: Duration = Duration::from_secs(30);

/// How long the miner waits before its next template after the node
/// refused `refused` of its blocks in a row: not at all after one (a race
/// with a peer's block), then 100 ms doubling up to
/// [`MAX_REFUSAL_BACKOFF`], so a block the node always refuses (its own
/// template's fault) does not spin the miner and the log.
fn refusal_backoff(refused: u32) -> Duration {
    match refused {
        0 | 1 => Duration::ZERO,
        n => Duration::from_millis(100)
            .saturating_mul(1u32 << (n - 2).min(16))
            .min(MAX_REFUSAL_BACKOFF),
    }
}

/// Mines on `threads` threads until `stop` is set. Blocking: run it on its
/// own thread.
pub fn run(node: Arc<Node>, reward: Lock, threads: usize, stop: Arc<AtomicBool>) {
    let threads = threads.max(1);
    // The last template error logged: one that persists is logged once,
    // not every second (a clock behind the chain's time by its kind: its
    // message names the moment).
    let mut failing: Option<String> = None;
    // Blocks the node refused in a row: the first refusal is logged, then
    // one line each time the count doubles, with a pause growing alike.
    let mut refused: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        let (mut block, _) = match node.block_template(reward) {
            Ok(t) => {
                if failing.take().is_some() {
                    tracing::info!("block templates build again: mining");
                }
                t
            }
            Err(e) => {
                let key = match e {
                    luminex_ledger::BlockError::ClockBehindChain { .. } => e.code().to_string(),
                    _ => e.to_string(),
                };
                if failing.as_ref() != Some(&key) {
                    tracing::error!(error = %e, "cannot build a block template: not mining until one builds (retrying every second)");
                    failing = Some(key);
                }
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
        };
        let Some(header) = block.header.as_pow().copied() else {
            tracing::error!("the miner needs a proof-of-work chain");
            return;
        };
        let Ok(target) = target_from_compact(header.bits) else {
            tracing::error!(bits = header.bits, "template has an invalid target");
            std::thread::sleep(Duration::from_secs(1));
            continue;
        };
        let prev = header.prev_hash;
        let abort = AtomicBool::new(false);
        let found = Mutex::new(None);
        let started = Instant::now();
        let slice = u32::MAX / threads as u32;
        std::thread::scope(|s| {
            for t in 0..threads as u32 {
                let (abort, found, stop, node) = (&abort, &found, &stop, &node);
                s.spawn(move || {
                    let mut n = t * slice;
                    let end = n.saturating_add(slice);
                    while n < end {
                        if abort.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) {
                            return;
                        }
                        let count = CHUNK.min(end - n);
                        if let Some(nonce) = grind(&header, target, n, count, abort) {
                            *found.lock() = Some(nonce);
                            abort.store(true, Ordering::Relaxed);
                            return;
                        }
                        node.metrics.miner_hashes.inc_by(u64::from(count));
                        n += count;
                        if node.chain.tip().hash != prev || started.elapsed() > TEMPLATE_AGE {
                            abort.store(true, Ordering::Relaxed);
                            return;
                        }
                    }
                });
            }
        });
        let Some(nonce) = *found.lock() else { continue };
        if let Some(h) = block.header.as_pow_mut() {
            h.nonce = nonce;
        }
        let block = std::sync::Arc::new(block);
        match node.accept_shared(&block) {
            Ok(_) => {
                if refused > 1 {
                    tracing::info!(refused, "mined blocks are accepted again");
                }
                refused = 0;
                tracing::info!(
                    height = node.chain.tip().height,
                    hash = %block.hash(),
                    txs = block.txs.len() - 1,
                    "mined block"
                );
            }
            Err(e) => {
                refused = refused.saturating_add(1);
                let pause = refusal_backoff(refused);
                if refused == 1 {
                    tracing::warn!(error = %e, "mined block was rejected");
                } else if refused.is_power_of_two() {
                    tracing::warn!(
                        error = %e,
                        refused,
                        pause_ms = pause.as_millis() as u64,
                        "mined blocks keep being rejected: pausing between templates"
                    );
                }
                if !pause.is_zero() {
                    sleep_unless_stopped(pause, &stop);
                }
            }
        }
    }
}

/// Sleeps `pause`, waking early once `stop` is set.
fn sleep_unless_stopped(pause: Duration, stop: &AtomicBool) {
    let deadline = Instant::now() + pause;
    while !stop.load(Ordering::Relaxed) {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        std::thread::sleep(left.min(Duration::from_millis(100)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One refusal costs nothing; refusals in a row back off, doubling,
    /// up to the cap, and never overflow however many there are.
    #[test]
    fn repeated_refusals_back_off() {
        assert_eq!(refusal_backoff(0), Duration::ZERO);
        assert_eq!(refusal_backoff(1), Duration::ZERO);
        assert_eq!(refusal_backoff(2), Duration::from_millis(100));
        assert_eq!(refusal_backoff(3), Duration::from_millis(200));
        for n in 2..12 {
            assert!(refusal_backoff(n + 1) >= refusal_backoff(n), "{n}");
        }
        assert_eq!(refusal_backoff(20), MAX_REFUSAL_BACKOFF);
        assert_eq!(refusal_backoff(u32::MAX), MAX_REFUSAL_BACKOFF);
    }
}
