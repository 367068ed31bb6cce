//! Catching up on a run of certified blocks from a peer (ADR 0049): the
//! blocks are committed without waiting for the disk while a second thread
//! checks the next one's signatures, then synced once; what they changed
//! is announced, and the height after them started, only once they are
//! durable.

use std::sync::mpsc::{sync_channel, TryRecvError};
use std::sync::Arc;

use luminex_p2p::Verdict;
use luminex_primitives::{Block, CommitCertificate};
use luminex_storage::{Accepted, SyncBatch};

use super::Consensus;

/// Certified blocks from a peer committed without waiting for the disk
/// (ADR 0049): what they changed, announced once they are synced, and
/// when that is due.
#[derive(Default)]
pub(super) struct CatchUpRun {
    /// What each block committed and not yet synced changed.
    pub(super) accepted: Vec<Accepted>,
    /// When to sync them before the run ends ([`SyncBatch`]).
    pub(super) batch: SyncBatch,
    /// The last block committed: its height and time.
    pub(super) last: Option<(u64, u64)>,
}

impl Consensus {
    /// Certified blocks from a peer, consecutive (ADR 0044), committed as
    /// one run (ADR 0049): each is checked and committed without waiting
    /// for the disk while a second thread checks the signatures of the
    /// next one into the signature cache; the run is synced (also on the
    /// way when [`SyncBatch`] says so) and what it changed announced
    /// before the height after it starts — so nothing is signed on top
    /// of a block that is not durable. The first block refused ends the
    /// run.
    pub(super) fn on_certified_run(&mut self, blocks: Vec<(Block, CommitCertificate)>) -> Verdict {
        let mut pre = self.preverifier.take().unwrap_or_default();
        let help = pre.helper();
        let chain = self.node.chain.clone();
        let cache = self.node.cache.clone();
        let metrics = self.node.metrics.clone();
        let (tx, rx) = sync_channel::<(Arc<Block>, CommitCertificate)>(1);
        self.run = Some(CatchUpRun::default());
        let mut verdict = Verdict::Ignore;
        let pre = std::thread::scope(|s| {
            // One block ahead of the one committing: its signatures go into
            // the cache, where checking and committing it find them.
            let preparing = s.spawn(move || {
                for (block, certificate) in blocks {
                    let block = Arc::new(block);
                    let (prepared, n) = pre.prepare(&chain, block.clone(), &cache);
                    drop(prepared);
                    metrics.signature_verifications.inc_by(n as u64);
                    if tx.send((block, certificate)).is_err() {
                        break;
                    }
                }
                pre
            });
            loop {
                let next = match rx.try_recv() {
                    Ok(b) => Some(b),
                    // Its signatures are still being checked: help.
                    Err(TryRecvError::Empty) => {
                        let n = help.help();
                        self.node.metrics.signature_verifications.inc_by(n as u64);
                        rx.recv().ok()
                    }
                    Err(TryRecvError::Disconnected) => None,
                };
                let Some((block, certificate)) = next else {
                    break;
                };
                let height = certificate.height;
                // The block before was committed in this run: move to this
                // height without starting it.
                let last = self.run.as_ref().and_then(|r| r.last).map(|(h, _)| h);
                let entered =
                    last == Some(self.engine.height()) && last.map(|h| h + 1) == Some(height);
                if entered {
                    if let Err(e) = self.enter_after(height - 1) {
                        tracing::error!(height, error = %e, "no consensus state after a committed block");
                        break;
                    }
                }
                match self.on_certified(Arc::unwrap_or_clone(block), certificate) {
                    Verdict::Accept => verdict = Verdict::Accept,
                    Verdict::Reject => {
                        verdict = Verdict::Reject;
                        break;
                    }
                    // Not needed any more (decided meanwhile by votes):
                    // the next may still be.
                    Verdict::Ignore => {}
                }
                // A height entered and not decided is started below.
                if entered && self.engine.height() == height && !self.engine.is_decided() {
                    break;
                }
            }
            // Stops the preparing thread.
            drop(rx);
            preparing.join().ok()
        });
        self.preverifier = pre;
        let run = self.run.take().unwrap_or_default();
        if !self.sync_run(run.accepted) {
            // Nothing is announced, and no height starts on top of blocks
            // that are not durable (the store refuses every change now).
            return Verdict::Ignore;
        }
        if let Some((height, time_ms)) = run.last {
            if self.engine.height() == height {
                // Caught up: no proposal of it was seen here.
                self.next_height_after(height, None, time_ms);
            } else {
                // The height after it was entered for a block that was
                // refused: run it now.
                self.start_after(height);
            }
        }
        verdict
    }

    /// Makes the blocks of a run committed so far durable, then announces
    /// what they changed; whether they are durable.
    pub(super) fn sync_run(&mut self, accepted: Vec<Accepted>) -> bool {
        if accepted.is_empty() && !self.node.chain.has_unsynced() {
            return true;
        }
        let blocks = accepted.len();
        match tokio::task::block_in_place(|| self.node.publish_synced(&accepted)) {
            Ok(()) => {
                tracing::debug!(
                    blocks,
                    height = self.node.chain.tip().height,
                    "caught-up blocks synced"
                );
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "could not make the caught-up blocks durable");
                false
            }
        }
    }

    /// Moves the engine to the height after `height`, committed, without
    /// starting it.
    fn enter_after(&mut self, height: u64) -> Result<(), String> {
        match (
            self.node.chain.consensus_record(height),
            self.node.chain.certificate(height),
        ) {
            (Ok(Some(r)), Ok(Some(c))) => {
                self.engine.enter(r, c);
                self.note_membership();
                Ok(())
            }
            other => Err(format!("{other:?}")),
        }
    }
}
