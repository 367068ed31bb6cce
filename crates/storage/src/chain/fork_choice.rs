//! Fork choice: accepting blocks from anywhere, keeping orphans and side
//! branches, and reorganising to the branch with the most work.

use super::*;

/// Most blocks kept waiting for their parent.
pub(super) const MAX_ORPHANS: usize = 256;

impl ChainStore {
    /// Validates `block`, which must extend the tip, and commits it.
    pub fn connect(&self, block: &Block, now: u64, cache: &SigCache) -> Result<(), ChainError> {
        self.connect_incoming(Incoming::Plain(block), now, cache)
    }

    /// [`ChainStore::connect`] for a block from an import pipeline.
    pub fn connect_prepared(
        &self,
        block: &PreparedBlock,
        now: u64,
        cache: &SigCache,
    ) -> Result<(), ChainError> {
        self.connect_incoming(block.incoming(), now, cache)
    }

    pub(super) fn connect_incoming(
        &self,
        block: Incoming<'_>,
        now: u64,
        cache: &SigCache,
    ) -> Result<(), ChainError> {
        if block.block().header.prev_hash() != self.tip().hash {
            return Err(BlockError::BadParent.into());
        }
        self.accept_incoming(block, now, cache).map(|_| ())
    }

    /// Accepts a block from anywhere: a duplicate, an orphan (kept until its
    /// parent arrives), a side branch (stored), or a block that extends or
    /// overtakes the main chain (connected, reorganising when its branch has
    /// more work). Header rules — proof of work first — run before anything
    /// expensive.
    pub fn accept_block(
        &self,
        block: &Block,
        now: u64,
        cache: &SigCache,
    ) -> Result<Accepted, ChainError> {
        self.accept_incoming(Incoming::Plain(block), now, cache)
    }

    /// [`ChainStore::accept_block`] for a block the caller already shares (a
    /// block it built or received): connecting it does not copy it.
    pub fn accept_shared(
        &self,
        block: &Arc<Block>,
        now: u64,
        cache: &SigCache,
    ) -> Result<Accepted, ChainError> {
        self.accept_incoming(Incoming::Shared(block), now, cache)
    }

    /// [`ChainStore::accept_block`] for a block from an import pipeline:
    /// context-free checks that already ran are not repeated, and the block
    /// is shared with [`Accepted`] rather than copied.
    pub fn accept_prepared(
        &self,
        block: &PreparedBlock,
        now: u64,
        cache: &SigCache,
    ) -> Result<Accepted, ChainError> {
        self.accept_incoming(block.incoming(), now, cache)
    }

    /// [`ChainStore::accept_prepared`] without waiting for the disk (ADR
    /// 0037): for an import with more blocks at hand. Its batches survive
    /// the process's death at once, a crash of the machine only after the
    /// next [`ChainStore::sync`] or synced commit (at most
    /// [`MAX_UNSYNCED_BATCHES`] batches later), so the caller syncs before
    /// it reports the block to anyone who could rely on it.
    pub fn accept_prepared_unsynced(
        &self,
        block: &PreparedBlock,
        now: u64,
        cache: &SigCache,
    ) -> Result<Accepted, ChainError> {
        self.deferred(|| self.accept_locked(block.incoming(), now, cache))
    }

    /// [`ChainStore::connect_prepared`] without waiting for the disk, as
    /// [`ChainStore::accept_prepared_unsynced`].
    pub fn connect_prepared_unsynced(
        &self,
        block: &PreparedBlock,
        now: u64,
        cache: &SigCache,
    ) -> Result<(), ChainError> {
        if block.block().header.prev_hash() != self.tip().hash {
            return Err(BlockError::BadParent.into());
        }
        self.accept_prepared_unsynced(block, now, cache).map(|_| ())
    }

    pub(super) fn accept_incoming(
        &self,
        block: Incoming<'_>,
        now: u64,
        cache: &SigCache,
    ) -> Result<Accepted, ChainError> {
        let _w = self.write.lock();
        self.accept_locked(block, now, cache)
    }

    /// Accepts a block (the caller holds the write lock).
    fn accept_locked(
        &self,
        block: Incoming<'_>,
        now: u64,
        cache: &SigCache,
    ) -> Result<Accepted, ChainError> {
        self.check_running()?;
        let mut acc = Accepted {
            status: AcceptStatus::Duplicate,
            connected: vec![],
            disconnected: vec![],
            verified_signatures: 0,
        };
        acc.status = self.accept_one(block, None, now, cache, &mut acc)?;
        self.accept_orphans(block.block().hash(), &mut acc, now, cache);
        Ok(acc)
    }

    /// Accepts a block of a BFT chain with the certificate that finalized
    /// it. The certificate is checked against the validator set in force at
    /// the block's height before anything else; the block must extend the
    /// tip, and becomes final when it is connected. A block that conflicts
    /// with a final block is refused ([`ChainError::Finalized`]).
    pub fn accept_certified<'a>(
        &self,
        block: impl Into<CertifiedBlock<'a>>,
        certificate: &CommitCertificate,
        now: u64,
        cache: &SigCache,
    ) -> Result<Accepted, ChainError> {
        let _w = self.write.lock();
        self.accept_certified_locked(block.into(), certificate, now, cache)
    }

    /// [`ChainStore::accept_certified`] without waiting for the disk (ADR
    /// 0049): for a node catching up on a run of certified blocks from a
    /// peer. As with [`ChainStore::accept_prepared_unsynced`], its batches
    /// survive the process's death at once and a crash of the machine only
    /// after the next [`ChainStore::sync`] or synced commit, so the caller
    /// syncs before it reports the blocks or signs anything on top of them.
    pub fn accept_certified_unsynced<'a>(
        &self,
        block: impl Into<CertifiedBlock<'a>>,
        certificate: &CommitCertificate,
        now: u64,
        cache: &SigCache,
    ) -> Result<Accepted, ChainError> {
        let block = block.into();
        self.deferred(|| self.accept_certified_locked(block, certificate, now, cache))
    }

    /// Accepts a certified block (the caller holds the write lock).
    fn accept_certified_locked(
        &self,
        block: CertifiedBlock<'_>,
        certificate: &CommitCertificate,
        now: u64,
        cache: &SigCache,
    ) -> Result<Accepted, ChainError> {
        self.check_running()?;
        let mut acc = Accepted {
            status: AcceptStatus::Duplicate,
            connected: vec![],
            disconnected: vec![],
            verified_signatures: 0,
        };
        acc.status = self.accept_one(block.incoming(), Some(certificate), now, cache, &mut acc)?;
        Ok(acc)
    }

    fn accept_orphans(&self, hash: Hash, acc: &mut Accepted, now: u64, cache: &SigCache) {
        // Orphans whose parent is now known.
        if matches!(
            acc.status,
            AcceptStatus::SideBranch | AcceptStatus::MainChain
        ) {
            let mut parents = vec![hash];
            while let Some(parent) = parents.pop() {
                let children: Vec<Arc<Block>> = {
                    let mut o = self.orphans.lock();
                    let (c, rest): (Vec<_>, Vec<_>) =
                        o.drain(..).partition(|b| b.header.prev_hash() == parent);
                    *o = rest;
                    c
                };
                for child in children {
                    match self.accept_one(Incoming::Shared(&child), None, now, cache, acc) {
                        Ok(_) => parents.push(child.hash()),
                        Err(e) => {
                            tracing::info!(block = %child.hash(), error = %e, "orphan rejected")
                        }
                    }
                }
            }
        }
    }

    pub(super) fn accept_one(
        &self,
        incoming: Incoming<'_>,
        certificate: Option<&CommitCertificate>,
        now: u64,
        cache: &SigCache,
        acc: &mut Accepted,
    ) -> Result<AcceptStatus, ChainError> {
        let block = incoming.block();
        let hash = block.hash();
        // A parent certificate that is not the one the header commits to is
        // a mutated body, not an invalid block: refuse it without marking
        // the header, so the real block is still accepted.
        if let Some(h) = block.header.as_bft() {
            let carried = block.last_commit.as_ref().map_or(Hash::ZERO, |c| c.hash());
            if carried != h.last_commit_hash {
                return Err(BlockError::BadLastCommit(
                    "the carried certificate is not the one the header commits to".into(),
                )
                .into());
            }
        }
        let parent = {
            let index = self.index.read();
            if let Some(rec) = index.headers.get(&hash) {
                if rec.invalid {
                    return Err(known_invalid(&hash, rec));
                }
                // Stored but off the main chain (it was disconnected) and
                // now extending the tip: connect it again.
                let rec = *rec;
                let tip = self.tip();
                if index.on_main(&hash, rec.height) || block.header.prev_hash() != tip.hash {
                    drop(index);
                    // A stored branch with more work than the tip is one a
                    // switch failed to reach (a read or write error): the
                    // block offered again tries it again.
                    if rec.chain_work > tip.chain_work {
                        let before = acc.connected.len();
                        self.activate_best_chain(cache, acc)?;
                        if acc.connected.len() > before {
                            return Ok(AcceptStatus::MainChain);
                        }
                    }
                    return Ok(AcceptStatus::Duplicate);
                }
                drop(index);
                if let Some(c) = certificate {
                    self.check_certificate(c, &hash, rec.height)?;
                }
                let (n, shared) = self.connect_tip(incoming, rec, certificate, cache, true)?;
                acc.verified_signatures += n;
                acc.connected.push(shared);
                return Ok(AcceptStatus::MainChain);
            }
            match index.headers.get(&block.header.prev_hash()) {
                None => None,
                Some(p) if p.invalid => return Err(known_invalid(&block.header.prev_hash(), p)),
                Some(p) => Some(*p),
            }
        };
        let Some(parent) = parent else {
            let mut o = self.orphans.lock();
            if !o.iter().any(|b| b.hash() == hash) {
                if o.len() >= MAX_ORPHANS {
                    o.remove(0);
                }
                o.push(incoming.shared());
            }
            return Ok(AcceptStatus::Orphan);
        };
        let tip = self.tip();
        // Finality chains connect only certified blocks, and only on the tip
        // (every main-chain block is final).
        if self.rules.finality() == Finality::Certified {
            let Some(c) = certificate else {
                return Err(BlockError::Uncertified.into());
            };
            if block.header.prev_hash() != tip.hash {
                let fin = self.finalized();
                return Err(ChainError::Finalized {
                    hash: fin.hash,
                    height: fin.height,
                });
            }
            self.check_certificate(c, &hash, parent.height + 1)?;
        }
        let work = self.rules.header_work(&block.header)?;
        let p = Parent {
            hash: block.header.prev_hash(),
            height: parent.height,
            header: parent.header,
        };
        self.with_context_read(|ctx| {
            self.rules
                .check_header(&block.header, &p, ctx, now.saturating_mul(1000))
        })??;
        let record = HeaderRecord {
            header: block.header,
            height: parent.height + 1,
            chain_work: parent.chain_work.saturating_add(work),
            invalid: false,
            invalidated: false,
        };
        if block.header.prev_hash() == tip.hash {
            match self.connect_tip(incoming, record, certificate, cache, false) {
                Ok((n, shared)) => {
                    acc.verified_signatures += n;
                    acc.connected.push(shared);
                    return Ok(AcceptStatus::MainChain);
                }
                Err(ChainError::Invalid(e)) => {
                    // Transactions that are not the header's (a mutated
                    // list, altered witnesses) condemn only this copy: the
                    // real block may still come. Checks that run before the
                    // commitment (a BFT body's consensus checks) can fail
                    // on such a copy too, so the body is held against its
                    // header before the header is condemned.
                    if !e.is_mutation() && luminex_ledger::body_matches_header(block, &self.spec) {
                        self.mark_invalid(&hash, record, false)?;
                    }
                    return Err(e.into());
                }
                Err(e) => return Err(e),
            }
        }
        // A side branch. One forking deeper than the reorg limit can never
        // become main: do not store it (this bounds side branches on disk).
        let fork_height = {
            let index = self.index.read();
            let mut cur = (block.header.prev_hash(), parent.height);
            while !index.on_main(&cur.0, cur.1) {
                let Some(r) = index.headers.get(&cur.0) else {
                    break;
                };
                cur = (r.header.prev_hash(), r.height.saturating_sub(1));
            }
            cur.1
        };
        // The depth limit first: on a chain final by depth, a branch
        // forking below the final block is also too deep, and that is the
        // error that says why.
        let depth = tip.height.saturating_sub(fork_height);
        if depth > self.spec.max_reorg_depth {
            return Err(ChainError::ReorgTooDeep {
                depth,
                max: self.spec.max_reorg_depth,
            });
        }
        self.check_not_final(fork_height)?;
        // Check what needs no UTXO set, then store it: the block alone, and
        // its coinbase's height, which Bitcoin Core checks of every block
        // it stores (a side branch claiming another height would otherwise
        // be kept, to fail only if it ever became the main chain).
        let ids = incoming.ids(&self.spec)?;
        if let Some(luminex_primitives::TxKind::Coinbase { height }) =
            block.txs.first().map(|t| &t.kind)
        {
            if *height != record.height {
                // The coinbase is the header's (the merkle root covers it):
                // the block is invalid for good, and so is what builds on
                // it, as Bitcoin Core marks it. A copy whose transactions
                // are not the header's condemns only itself.
                if luminex_ledger::body_matches_header(block, &self.spec) {
                    self.mark_invalid(&hash, record, false)?;
                }
                return Err(BlockError::CoinbaseHeight {
                    expected: record.height,
                    found: *height,
                }
                .into());
            }
        }
        let mut b = Batch::new();
        b.put(HEADERS, &hash, &record);
        store_body(&mut b, block, &hash, &ids.wtxids);
        self.commit(b)?;
        self.index.write().headers.insert(hash, record);
        if self.recent.keeps_any() {
            self.recent
                .insert(hash, record.height, incoming.shared(), None);
        }
        if record.chain_work > tip.chain_work {
            let before = (acc.connected.len(), acc.disconnected.len());
            let failed = self.activate_best_chain(cache, acc)?;
            if acc.connected.len() > before.0 && self.tip().hash == hash {
                return Ok(AcceptStatus::MainChain);
            }
            // The branch this block leads failed to connect: the block, or
            // one before it, is invalid — not a side branch to keep. (Unless
            // the main chain moved to another branch meanwhile: the caller
            // must learn what was connected, so the answer stays Ok.)
            if (acc.connected.len(), acc.disconnected.len()) == before {
                if let Some((_, e)) = failed.into_iter().find(|(h, _)| *h == hash) {
                    return Err(e.into());
                }
                let invalid = self
                    .index
                    .read()
                    .headers
                    .get(&hash)
                    .filter(|r| r.invalid)
                    .copied();
                if let Some(r) = invalid {
                    return Err(known_invalid(&hash, &r));
                }
            }
        }
        Ok(AcceptStatus::SideBranch)
    }

    /// Moves the main chain to the valid stored branch with the most work,
    /// if it has more than the tip. Returns the blocks found invalid on the
    /// way (each branch they led was rolled back and the next best tried).
    /// A branch the chain will not switch to (it forks below the final
    /// block or deeper than the limit; one stored within reach can fall out
    /// of it, or come back by `reconsiderblock`) is passed over for the
    /// next best: it must not keep the chain from a branch it can reach.
    pub(super) fn activate_best_chain(
        &self,
        cache: &SigCache,
        acc: &mut Accepted,
    ) -> Result<Vec<(Hash, BlockError)>, ChainError> {
        let mut failed = Vec::new();
        let mut unreachable: std::collections::HashSet<Hash> = Default::default();
        loop {
            let tip = self.tip();
            let best = {
                let index = self.index.read();
                index
                    .headers
                    .iter()
                    .filter(|(h, r)| {
                        !r.invalid && r.chain_work > tip.chain_work && !unreachable.contains(*h)
                    })
                    .max_by(|a, b| a.1.chain_work.cmp(&b.1.chain_work).then(b.0.cmp(a.0)))
                    .map(|(h, _)| *h)
            };
            let Some(best) = best else {
                return Ok(failed);
            };
            let switched = match self.reorganize(best, cache, acc) {
                Err(ChainError::ReorgTooDeep { .. } | ChainError::Finalized { .. }) => {
                    // Its whole branch down to the main chain is as far.
                    let index = self.index.read();
                    let mut cur = best;
                    while let Some(r) = index.headers.get(&cur) {
                        if index.on_main(&cur, r.height) || !unreachable.insert(cur) {
                            break;
                        }
                        cur = r.header.prev_hash();
                    }
                    continue;
                }
                r => r?,
            };
            match switched {
                None => return Ok(failed),
                // A block of that branch was invalid: it is marked; try the next best.
                Some((block, e)) => {
                    tracing::warn!(%block, error = %e, "best branch is invalid");
                    failed.push((block, e));
                }
            }
        }
    }

    /// Disconnects to the fork point with `target`'s branch and connects the
    /// branch, restoring the old chain if a block of it is invalid (that
    /// block and its error are returned).
    ///
    /// Each step is its own atomic batch, but only the last is waited for
    /// (ADR 0037): the steps are committed without a sync and synced
    /// together at the end — batches become durable in order, so a crash
    /// keeps a prefix of the steps, and opening finishes the switch. Under
    /// an unsynced import the caller's sync covers them.
    pub(super) fn reorganize(
        &self,
        target: Hash,
        cache: &SigCache,
        acc: &mut Accepted,
    ) -> Result<Option<(Hash, BlockError)>, ChainError> {
        use std::sync::atomic::Ordering::Relaxed;
        let outer = self.deferring.swap(true, Relaxed);
        // Finality (by depth) waits for the whole branch: a block of it
        // found invalid must leave the way back to the old chain open.
        let held = self.holding_finality.swap(true, Relaxed);
        let r = self.reorganize_steps(target, cache, acc);
        self.holding_finality.store(held, Relaxed);
        let r = match r {
            Ok(None) if !held => self.catch_up_depth_finality().map(|()| None),
            r => r,
        };
        self.deferring.store(outer, Relaxed);
        if r.is_ok() && !outer {
            self.sync_locked()?;
        }
        r
    }

    fn reorganize_steps(
        &self,
        target: Hash,
        cache: &SigCache,
        acc: &mut Accepted,
    ) -> Result<Option<(Hash, BlockError)>, ChainError> {
        let (fork_height, mut branch) = {
            let index = self.index.read();
            let mut branch = Vec::new();
            let mut cur = target;
            loop {
                let rec = index.headers.get(&cur).ok_or_else(|| {
                    ChainError::Inconsistent(format!("branch block {cur} has no header"))
                })?;
                if index.on_main(&cur, rec.height) {
                    break (rec.height, branch);
                }
                branch.push((cur, *rec));
                cur = rec.header.prev_hash();
            }
        };
        let tip = self.tip();
        let depth = tip.height - fork_height;
        if depth > self.spec.max_reorg_depth {
            tracing::warn!(depth, max = self.spec.max_reorg_depth, %target, "refusing a reorganisation deeper than the limit");
            return Err(ChainError::ReorgTooDeep {
                depth,
                max: self.spec.max_reorg_depth,
            });
        }
        self.check_not_final(fork_height)?;
        if depth > 0 {
            tracing::info!(depth, from = %tip.hash, to = %target, "reorganising");
        }
        let started = std::time::Instant::now();
        let mut disconnected = Vec::new();
        let mut connected: Vec<Arc<Block>> = Vec::new();
        branch.reverse();
        let switched = self.switch_branch(
            fork_height,
            branch,
            cache,
            acc,
            &mut disconnected,
            &mut connected,
        );
        let (result, disconnect_ms) = match switched {
            Ok(r) => r,
            Err(e) => {
                // A read or write failed half-way (a damaged block record,
                // an I/O error): the old branch, which was valid, comes
                // back, so the tip does not stay at the fork with nobody
                // told of the blocks disconnected. A halted store changes
                // nothing more; it says why at the next change.
                if !matches!(e, ChainError::Halted(_)) && self.halted().is_none() {
                    if let Err(back) = self.restore_branch(fork_height, &disconnected, cache) {
                        tracing::error!(error = %back, "could not go back to the old branch after a failed switch");
                    }
                }
                return Err(e);
            }
        };
        if depth > 0 {
            tracing::info!(
                depth,
                connected = connected.len(),
                invalid = result.is_some(),
                disconnect_ms,
                total_ms = started.elapsed().as_millis() as u64,
                "reorganised"
            );
        }
        if let Some((hash, record, e)) = result {
            self.mark_invalid(&hash, record, false)?;
            // Back to the old chain, which was valid.
            self.restore_branch(fork_height, &disconnected, cache)?;
            return Ok(Some((hash, e)));
        }
        acc.disconnected.extend(disconnected);
        acc.connected.extend(connected);
        Ok(None)
    }

    /// Disconnects down to `fork_height` and connects `old` again (the
    /// blocks a switch disconnected, tip first): back to the branch the
    /// switch left.
    fn restore_branch(
        &self,
        fork_height: u64,
        old: &[Arc<Block>],
        cache: &SigCache,
    ) -> Result<(), ChainError> {
        while self.tip().height > fork_height {
            self.disconnect_inner()?;
        }
        for block in old.iter().rev() {
            let hash = block.hash();
            let rec = self.index.read().headers.get(&hash).copied();
            let rec =
                rec.ok_or_else(|| ChainError::Inconsistent("old tip header missing".into()))?;
            self.connect_tip(Incoming::Shared(block), rec, None, cache, true)?;
        }
        Ok(())
    }

    /// Refuses a change that would disconnect blocks above `fork_height`
    /// when a final block is among them.
    pub(super) fn check_not_final(&self, fork_height: u64) -> Result<(), ChainError> {
        let fin = self.finalized();
        if fork_height < fin.height {
            return Err(ChainError::Finalized {
                hash: fin.hash,
                height: fin.height,
            });
        }
        Ok(())
    }

    /// Checks that `certificate` finalizes block `hash` at `height`.
    pub(super) fn check_certificate(
        &self,
        certificate: &CommitCertificate,
        hash: &Hash,
        height: u64,
    ) -> Result<(), ChainError> {
        self.with_context_read(|ctx| {
            self.rules.check_certificate(certificate, hash, height, ctx)
        })??;
        Ok(())
    }

    /// Marks block `hash` (whose record is `record`) invalid, on disk and
    /// in the index with its descendants: it failed validation, or
    /// `by_operator` invalidated it.
    pub(super) fn mark_invalid(
        &self,
        hash: &Hash,
        mut record: HeaderRecord,
        by_operator: bool,
    ) -> Result<(), ChainError> {
        record.invalid = true;
        record.invalidated = by_operator;
        let mut b = Batch::new();
        b.put(HEADERS, hash, &record);
        self.commit(b)?;
        let mut index = self.index.write();
        index.headers.insert(*hash, record);
        index.roots.insert(*hash, record.invalidated);
        // Descendants are invalid too.
        index.invalidate_descendants(&[*hash]);
        Ok(())
    }
}

/// The refusal of a block because `hash` (the block, or its parent), whose
/// record is `record`, is marked invalid: no peer's fault when only the
/// operator's choice marked it.
fn known_invalid(hash: &Hash, record: &HeaderRecord) -> ChainError {
    if record.invalidated {
        ChainError::Invalidated(*hash)
    } else {
        BlockError::KnownInvalid.into()
    }
}
