//! A reorganisation's switch: disconnecting the old branch down to the
//! fork and connecting the new one, with the new branch's signatures
//! checked on a second thread from the start.
//!
//! Signature checks are most of a switch to blocks never seen (a 1,000
//! transfer ML-DSA-87 block is ~58 ms of one core). A second thread
//! prepares the branch — context-free checks and signatures, with a
//! [`Preverifier`] as a block-file import does — while this one
//! disconnects the old branch and then connects the new one, and this one
//! helps with the checks when it would otherwise wait.
//!
//! Preparing starts before the disconnections: the coins the branch spends
//! are often ones the old branch spent too, which are not coins again until
//! the old blocks are gone. Their outputs are in the old blocks' undo data,
//! kept in memory with the recent blocks (ADR 0037) or read back, and the
//! preverifier looks there as well ([`Preverifier::expect_restored`]). Each prepared
//! block carries a signature cache of its own, so nothing checked far ahead
//! is evicted from the shared cache (whose newest entries a busy node
//! replaces first) before its block connects.

use std::sync::mpsc::{sync_channel, TryRecvError};

use parking_lot::Condvar;

use super::*;
use crate::Preverifier;

/// Least signature cache for which a switch checks its branch ahead: a
/// store finishing a switch at open (which passes a cache of one) and
/// tests with tiny caches connect one block after the other.
const REORG_PIPELINE_MIN_SIG_CACHE: u64 = 20_000;

/// Encoded bytes of branch blocks prepared and not yet connected, at most:
/// what the second thread may hold ahead of the connecting one (blocks
/// kept in memory cost nothing more; others are read from disk).
const REORG_AHEAD_BYTES: usize = 256 << 20;

/// A branch block found invalid, with its header record and the error.
pub(super) type InvalidBlock = (Hash, HeaderRecord, BlockError);

impl ChainStore {
    /// Disconnects the main chain down to `fork_height`, pushing each
    /// disconnected block to `disconnected`, then connects `branch` (oldest
    /// first), pushing each connected block to `connected`. Stops at the
    /// first invalid block of the branch and returns it. Also returns how
    /// many milliseconds the disconnections took.
    pub(super) fn switch_branch(
        &self,
        fork_height: u64,
        branch: Vec<(Hash, HeaderRecord)>,
        cache: &SigCache,
        acc: &mut Accepted,
        disconnected: &mut Vec<Arc<Block>>,
        connected: &mut Vec<Arc<Block>>,
    ) -> Result<(Option<InvalidBlock>, u64), ChainError> {
        let started = std::time::Instant::now();
        let mut disconnect = || -> Result<u64, ChainError> {
            while self.tip().height > fork_height {
                disconnected.push(self.disconnect_inner()?);
            }
            Ok(started.elapsed().as_millis() as u64)
        };
        let mut connect = |prepared: &PreparedBlock,
                           (hash, record): (Hash, HeaderRecord),
                           sigs: &SigCache,
                           verified| {
            match self.connect_tip(prepared.incoming(), record, None, sigs, true) {
                Ok((n, shared)) => {
                    acc.verified_signatures += n + verified;
                    connected.push(shared);
                    Ok(None)
                }
                Err(ChainError::Invalid(e)) => Ok(Some((hash, record, e))),
                Err(e) => Err(e),
            }
        };
        if branch.len() < 2 || cache.capacity() < REORG_PIPELINE_MIN_SIG_CACHE {
            let ms = disconnect()?;
            for (hash, record) in branch {
                let block = PreparedBlock::Unchecked(self.shared_block(&hash)?);
                if let Some(invalid) = connect(&block, (hash, record), cache, 0)? {
                    return Ok((Some(invalid), ms));
                }
            }
            return Ok((None, ms));
        }
        let old_branch = self.main_hashes_above(fork_height);
        let mut pre = Preverifier::new();
        let help = pre.helper();
        let budget = Budget::new(REORG_AHEAD_BYTES);
        let hashes: Vec<Hash> = branch.iter().map(|(h, _)| *h).collect();
        std::thread::scope(|s| {
            let (tx, rx) = sync_channel(hashes.len());
            // Every way out of this scope (an invalid block, an error)
            // closes the budget, which stops the preparing thread.
            let _close = CloseOnDrop(&budget);
            let budget = &budget;
            s.spawn(move || {
                pre.expect_restored(self.spent_by(&old_branch));
                for hash in hashes {
                    let prepared = match self.shared_block(&hash) {
                        Ok(block) => {
                            let bytes = block.encoded_len();
                            if !budget.take(bytes) {
                                break;
                            }
                            // Room for every transaction with a wide margin:
                            // a bounded cache evicts, this one should not.
                            let sigs = SigCache::new(2 * block.txs.len() + 64);
                            let (prepared, n) = pre.prepare_into(self, block, cache, &sigs);
                            Ok((prepared, n, sigs, bytes))
                        }
                        Err(e) => Err(e),
                    };
                    // The connecting side stopped: nothing more to prepare.
                    if tx.send(prepared).is_err() {
                        break;
                    }
                }
            });
            let ms = disconnect()?;
            // Signatures this thread verified helping the preparing one.
            let mut helped = 0;
            for item in branch {
                let next = match rx.try_recv() {
                    Ok(p) => Ok(p),
                    Err(TryRecvError::Empty) => {
                        helped += help.help();
                        rx.recv()
                    }
                    Err(TryRecvError::Disconnected) => rx.recv(),
                };
                let (prepared, verified, sigs, bytes) = next.map_err(|_| {
                    ChainError::Inconsistent("the reorganisation's preparing thread stopped".into())
                })??;
                budget.give_back(bytes);
                let verified = verified + std::mem::take(&mut helped);
                if let Some(invalid) = connect(&prepared, item, &sigs, verified)? {
                    return Ok((Some(invalid), ms));
                }
            }
            Ok((None, ms))
        })
    }

    /// The main-chain blocks above `fork_height` (those a switch
    /// disconnects), tip first.
    fn main_hashes_above(&self, fork_height: u64) -> Vec<Hash> {
        let index = self.index.read();
        let mut hashes = Vec::new();
        let mut cur = self.tip().hash;
        while let Some(rec) = index.headers.get(&cur) {
            if rec.height <= fork_height {
                break;
            }
            hashes.push(cur);
            cur = rec.header.prev_hash();
        }
        hashes
    }

    /// The outputs the blocks `hashes` spent, from their undo data: kept in
    /// memory with the recent blocks, or read back (a node restarted since
    /// they connected keeps none in memory). A block whose undo data cannot
    /// be read adds nothing: its spends are then checked when the branch
    /// connects, as before.
    fn spent_by(&self, hashes: &[Hash]) -> HashMap<OutPoint, TxOut> {
        let mut spent = HashMap::new();
        for hash in hashes {
            let mut add = |undo: &BlockUndo| {
                spent.extend(undo.spent.iter().map(|(op, c)| (*op, c.output)));
            };
            match self.recent.main(hash) {
                Some((_, main)) => add(&main.undo),
                None => {
                    if let Ok(Some(undo)) = self.kv.get(UNDO, hash) {
                        add(&undo);
                    }
                }
            }
        }
        spent
    }
}

/// Bytes of prepared blocks not yet taken by the connecting thread, within
/// a limit; closing it releases a preparing thread that waits for room.
struct Budget {
    /// Bytes in flight, and whether the budget is closed.
    state: Mutex<(usize, bool)>,
    freed: Condvar,
    limit: usize,
}

impl Budget {
    fn new(limit: usize) -> Budget {
        Budget {
            state: Mutex::new((0, false)),
            freed: Condvar::new(),
            limit,
        }
    }

    /// Waits for room for `bytes` (a block larger than the whole limit gets
    /// it when nothing else is in flight); false once closed.
    fn take(&self, bytes: usize) -> bool {
        let mut s = self.state.lock();
        while !s.1 && s.0 > 0 && s.0 + bytes > self.limit {
            self.freed.wait(&mut s);
        }
        if s.1 {
            return false;
        }
        s.0 += bytes;
        true
    }

    /// Returns room taken for a block now handed over.
    fn give_back(&self, bytes: usize) {
        let mut s = self.state.lock();
        s.0 = s.0.saturating_sub(bytes);
        self.freed.notify_all();
    }

    fn close(&self) {
        self.state.lock().1 = true;
        self.freed.notify_all();
    }
}

/// Closes a [`Budget`] when dropped.
struct CloseOnDrop<'a>(&'a Budget);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_waits_for_room_and_lets_go_when_closed() {
        let budget = Budget::new(100);
        assert!(budget.take(60));
        // Over the limit with something in flight: waits until room is
        // given back.
        std::thread::scope(|s| {
            let waiter = s.spawn(|| budget.take(60));
            budget.give_back(60);
            assert!(waiter.join().unwrap());
        });
        // A block larger than the limit passes alone.
        budget.give_back(60);
        assert!(budget.take(500));
        // Closing releases a waiter with false.
        std::thread::scope(|s| {
            let waiter = s.spawn(|| budget.take(1));
            {
                let _close = CloseOnDrop(&budget);
            }
            assert!(!waiter.join().unwrap());
        });
        assert!(!budget.take(0));
    }
}
