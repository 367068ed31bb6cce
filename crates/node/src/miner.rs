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

/// Mines on `threads` threads until `stop` is set. Blocking: run it on its
/// own thread.
pub fn run(node: Arc<Node>, reward: Lock, threads: usize, stop: Arc<AtomicBool>) {
    let threads = threads.max(1);
    // The last template error logged: one that persists is logged once,
    // not every second (a clock behind the chain's time by its kind: its
    // message names the moment).
    let mut failing: Option<String> = None;
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
                tracing::info!(
                    height = node.chain.tip().height,
                    hash = %block.hash(),
                    txs = block.txs.len() - 1,
                    "mined block"
                );
            }
            Err(e) => tracing::warn!(error = %e, "mined block was rejected"),
        }
    }
}
