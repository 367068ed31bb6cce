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
    /// stored). A block already invalid because it or an ancestor failed
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
        self.activate_best_chain(cache, &mut acc)?;
        if !acc.connected.is_empty() || !acc.disconnected.is_empty() {
            acc.status = AcceptStatus::MainChain;
        }
        Ok(acc)
    }

    /// Clears the invalid mark of block `hash`, of its ancestors and of its
    /// descendants — whether the operator made it or validation did, as
    /// Bitcoin Core's `reconsiderblock` — and moves to the valid branch
    /// with the most work. A block that failed validation fails again when
    /// its branch is tried, and is marked again.
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
            {
                let index = self.index.read();
                for h in &cleared {
                    if let Some(r) = index.headers.get(h) {
                        let mut r = *r;
                        r.invalid = false;
                        r.invalidated = false;
                        b.put(HEADERS, h, &r);
                    }
                }
            }
            self.commit(b)?;
            let mut index = self.index.write();
            for h in &cleared {
                index.roots.remove(h);
            }
            index.recompute_invalid();
            tracing::info!(block = %hash, cleared = cleared.len(), "block reconsidered by the operator");
        }
        self.activate_best_chain(cache, &mut acc)?;
        if !acc.connected.is_empty() || !acc.disconnected.is_empty() {
            acc.status = AcceptStatus::MainChain;
        }
        Ok(acc)
    }
}
