//! The operator's verdicts on blocks, as Bitcoin Core's `invalidateblock`
//! and `reconsiderblock`: a block marked invalid by choice leaves the main
//! chain with every block built on it, and no branch through it is
//! connected again until it is reconsidered.
//!
//! The mark is stored in the block's header record (flag 2, where a block
//! that failed validation has 1), so it holds across restarts; the
//! descendants are marked in memory, when the mark is made and at every
//! open, as for blocks that failed. A block invalid only by the operator's
//! choice is no peer's fault: offering it, or a block built on it, costs a
//! peer nothing ([`ChainError::Invalidated`]).

use super::*;

impl ChainStore {
    /// Marks block `hash` invalid by the operator's choice. When it is on
    /// the main chain the chain first goes back to its parent — refused,
    /// with nothing changed, when that would revert a final block or go
    /// deeper than the reorganisation limit — and then moves to the valid
    /// branch with the most work (which may be a side branch already
    /// stored). Once the mark is written the call succeeds, with what
    /// changed: a move to another branch that the chain refuses (past a
    /// final block, too deep) is logged and left, the node staying at the
    /// parent. A block already invalid because it or an ancestor failed
    /// validation is left as it is.
    pub fn invalidate_block(&self, hash: &Hash, cache: &SigCache) -> Result<Accepted, ChainError> {
        let _w = self.write.lock();
        self.check_running()?;
        let mut acc = Accepted::nothing();
        let (rec, on_main) = {
            let index = self.index.read();
            let rec = *index
                .headers
                .get(hash)
                .ok_or(ChainError::UnknownBlock(*hash))?;
            (rec, index.on_main(hash, rec.height))
        };
        if rec.height == 0 {
            return Err(ChainError::Genesis);
        }
        if rec.invalid && !rec.invalidated {
            return Ok(acc);
        }
        if on_main {
            // Back to the parent: a switch to a branch of no blocks, so
            // nothing on it can be invalid.
            if let Some((block, e)) = self.reorganize(rec.header.prev_hash(), cache, &mut acc)? {
                return Err(ChainError::Inconsistent(format!(
                    "going back to the parent of {hash} found {block} invalid: {e}"
                )));
            }
        }
        self.mark_invalid(hash, rec, true)?;
        tracing::warn!(block = %hash, height = rec.height, disconnected = acc.disconnected.len(), "block invalidated by the operator");
        self.follow_best_after_verdict(cache, &mut acc)?;
        if !acc.connected.is_empty() || !acc.disconnected.is_empty() {
            acc.status = AcceptStatus::MainChain;
        }
        Ok(acc)
    }

    /// Clears the invalid mark of block `hash`, of its ancestors and of its
    /// descendants — whether the operator made it or validation did, as
    /// Bitcoin Core's `reconsiderblock` — and moves to the valid branch
    /// with the most work. A block that failed validation fails again when
    /// its branch is tried, and is marked again. A block that failed as a
    /// new tip was never stored, only marked: reconsidered, it is
    /// forgotten, so a peer or `submitblock` can offer it again. As for
    /// [`ChainStore::invalidate_block`], once the marks are cleared the
    /// call succeeds with what changed.
    pub fn reconsider_block(&self, hash: &Hash, cache: &SigCache) -> Result<Accepted, ChainError> {
        let _w = self.write.lock();
        self.check_running()?;
        let mut acc = Accepted::nothing();
        let cleared: Vec<Hash> = {
            let index = self.index.read();
            if !index.headers.contains_key(hash) {
                return Err(ChainError::UnknownBlock(*hash));
            }
            index
                .lineage(hash)
                .into_iter()
                .filter(|h| index.roots.contains_key(h))
                .collect()
        };
        if !cleared.is_empty() {
            let mut b = Batch::new();
            let mut forgotten = Vec::new();
            {
                let index = self.index.read();
                for h in &cleared {
                    let Some(r) = index.headers.get(h) else {
                        continue;
                    };
                    if self.recent.block(h).is_none() && self.kv.get(BLOCKS, h)?.is_none() {
                        // Marked without its body (it failed as a new tip):
                        // no branch can be switched to through it.
                        b.delete(HEADERS, h);
                        forgotten.push(*h);
                        continue;
                    }
                    let mut r = *r;
                    r.invalid = false;
                    r.invalidated = false;
                    b.put(HEADERS, h, &r);
                }
            }
            self.commit(b)?;
            let mut index = self.index.write();
            for h in &cleared {
                index.roots.remove(h);
            }
            for h in &forgotten {
                index.headers.remove(h);
            }
            index.recompute_invalid();
            tracing::info!(block = %hash, cleared = cleared.len(), "block reconsidered by the operator");
        }
        self.follow_best_after_verdict(cache, &mut acc)?;
        if !acc.connected.is_empty() || !acc.disconnected.is_empty() {
            acc.status = AcceptStatus::MainChain;
        }
        Ok(acc)
    }

    /// Moves to the best valid branch after an operator's verdict changed
    /// the marks, passing over branches the chain will not switch to (past
    /// a final block, deeper than the limit) for the best it can reach.
    /// The verdict is on disk by now, so only a failing store fails the
    /// call, its caller otherwise told what did change.
    fn follow_best_after_verdict(
        &self,
        cache: &SigCache,
        acc: &mut Accepted,
    ) -> Result<(), ChainError> {
        match self.activate_best_chain(cache, acc) {
            Ok(_) => Ok(()),
            Err(e @ (ChainError::Store(_) | ChainError::Halted(_))) => Err(e),
            Err(e) => {
                tracing::warn!(error = %e, "the best valid branch is one this node will not switch to");
                Ok(())
            }
        }
    }
}
