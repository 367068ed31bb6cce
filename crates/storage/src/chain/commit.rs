//! Connecting and disconnecting the tip: everything a block changes is
//! written in one atomic, synced batch — but its changes to the UTXO set,
//! which go to the UTXO cache (`utxo_cache`) and reach the database when
//! it is flushed.

use super::utxo_cache::Created;
use super::*;

impl ChainStore {
    /// Validates `block` on the tip and commits it with its undo data,
    /// indexes, consensus state, certificate (already checked by the
    /// caller) and the new finalized block in one synced batch, then
    /// applies its UTXO changes to the UTXO cache (flushing it if it is
    /// full) and keeps the block with its undo data among the recent
    /// blocks. `stored`: the block's header and body are already in the
    /// database (a side-branch block, or one disconnected before), so they
    /// are not written again. Returns the number of signatures verified and
    /// the block, shared.
    pub(super) fn connect_tip(
        &self,
        incoming: Incoming<'_>,
        record: HeaderRecord,
        certificate: Option<&CommitCertificate>,
        cache: &SigCache,
        stored: bool,
    ) -> Result<(usize, Arc<Block>), ChainError> {
        let block = incoming.block();
        let tip = self.tip();
        let parent = Parent {
            hash: tip.hash,
            height: tip.height,
            header: tip.header,
        };
        let consensus =
            self.with_context_read(|ctx| self.rules.connect_consensus(block, &parent, ctx))??;
        let coins = self.load_coins(block.txs.iter().skip(1).flat_map(|t| t.inputs.iter()))?;
        let ctx = BlockContext {
            height: tip.height + 1,
            prev_hash: tip.hash,
        };
        let mut connected = match incoming {
            Incoming::Checked(c) => connect_checked(c, &coins, &ctx, &self.spec, cache)?,
            other => connect_block(other.block(), &coins, &ctx, &self.spec, cache)?,
        };
        let hash = block.hash();
        // From the staking state's change to the tip's.
        let _changing = StateChange::begin(&self.state_seq);
        let mut staking_batch = Batch::new();
        let staking = self.connect_staking(
            block,
            &hash,
            &connected.txids,
            ctx.height,
            connected.fees,
            consensus.as_ref(),
            &mut staking_batch,
        )?;
        if let Some(s) = &staking {
            connected.changes.created.extend(s.released.iter().copied());
        }
        let mut keys = IndexKeys::default();
        let mut batch = connect_batch(
            block,
            ctx.height,
            record.chain_work,
            &connected,
            &coins,
            staking.as_ref().map_or(&[][..], |s| &s.released),
            self.indexes,
            !stored,
            &mut keys,
        );
        batch.ops.append(&mut staking_batch.ops);
        if let Some(c) = &consensus {
            batch.put(CONSENSUS, &ctx.height, c);
        }
        let finalized = match (self.rules.finality(), certificate) {
            (Finality::Certified, Some(c)) => {
                batch.put(COMMITS, &ctx.height, c);
                Some(TipRecord {
                    hash,
                    height: ctx.height,
                })
            }
            (Finality::Certified, None) => None,
            (Finality::Depth(depth), _) => self.depth_final(depth, ctx.height, hash),
        };
        if let Some(f) = &finalized {
            batch.put(META_FINALIZED, &FINALIZED_KEY.to_string(), f);
        }
        if let Err(e) = self.commit(batch) {
            if let Some(s) = &staking {
                self.revert_staking(s);
            }
            return Err(e);
        }
        self.utxos
            .apply(&connected.changes, &mut keys, Created::Fresh);
        let shared = incoming.shared();
        self.recent.insert(
            hash,
            ctx.height,
            shared.clone(),
            Some(MainData {
                undo: connected.undo,
                txids: connected.txids,
            }),
        );
        {
            let mut index = self.index.write();
            index.headers.insert(hash, record);
            index.main.push(hash);
        }
        if let Some(f) = finalized {
            *self.finalized.write() = f;
        }
        *self.tip.write() = Tip {
            hash,
            height: ctx.height,
            header: block.header,
            chain_work: record.chain_work,
        };
        self.prune_recent();
        self.flush_if_full()?;
        Ok((connected.verified_signatures, shared))
    }

    /// On a chain final by `depth`, the block that becomes final when
    /// `hash` is the tip at `height`, if finality moves (not while a
    /// reorganisation holds it).
    fn depth_final(&self, depth: u64, height: u64, hash: Hash) -> Option<TipRecord> {
        if self
            .holding_finality
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return None;
        }
        let final_height = height.saturating_sub(depth);
        if final_height <= self.finalized().height {
            return None;
        }
        // The new tip's own hash is not in the index yet.
        let hash = if final_height == height {
            Some(hash)
        } else {
            self.index.read().main.get(final_height as usize).copied()
        };
        hash.map(|hash| TipRecord {
            hash,
            height: final_height,
        })
    }

    /// Moves finality on a chain final by depth to where the tip puts it
    /// (after a reorganisation that held it).
    pub(super) fn catch_up_depth_finality(&self) -> Result<(), ChainError> {
        let Finality::Depth(depth) = self.rules.finality() else {
            return Ok(());
        };
        let tip = self.tip();
        if let Some(f) = self.depth_final(depth, tip.height, tip.hash) {
            let mut batch = Batch::new();
            batch.put(META_FINALIZED, &FINALIZED_KEY.to_string(), &f);
            self.commit(batch)?;
            *self.finalized.write() = f;
        }
        Ok(())
    }

    /// Checks that `block` would connect on the tip — its header against
    /// the consensus rules (at `now_ms`), its consensus state, every
    /// transaction against the UTXO set — without writing anything: a BFT
    /// validator's check of a proposal before it prevotes for it. Verified
    /// signatures go into `cache`, so committing the block later is cheap;
    /// `checked` carries the block's context-free checks, so committing it
    /// as [`CertifiedBlock::Checked`] does not repeat them either.
    pub fn check_proposal(
        &self,
        checked: &CheckedBlock,
        now_ms: u64,
        cache: &SigCache,
    ) -> Result<(), ChainError> {
        let block: &Block = checked.block();
        let tip = self.tip();
        if block.header.prev_hash() != tip.hash {
            return Err(BlockError::BadParent.into());
        }
        let parent = Parent {
            hash: tip.hash,
            height: tip.height,
            header: tip.header,
        };
        let consensus = self.with_context_read(|ctx| {
            self.rules
                .check_header(&block.header, &parent, ctx, now_ms)?;
            self.rules.connect_consensus(block, &parent, ctx)
        })??;
        let coins = self.load_coins(block.txs.iter().skip(1).flat_map(|t| t.inputs.iter()))?;
        let ctx = BlockContext {
            height: tip.height + 1,
            prev_hash: tip.hash,
        };
        let connected = connect_checked(checked, &coins, &ctx, &self.spec, cache)?;
        if self.stakes() {
            let signers = self.commit_signers(block, ctx.height)?;
            let seats = self.seats_record(ctx.height)?;
            // Applied and undone under the state's lock: unchanged after.
            let mut state = self.staking.write();
            let mut undo = state.apply_block_with(
                block,
                &connected.txids,
                ctx.height,
                connected.fees,
                &self.spec,
                signers.as_ref(),
                seats
                    .as_ref()
                    .map(luminex_ledger::staking::Seats::of)
                    .as_ref(),
            )?;
            if let Some(r) = &consensus {
                let seated = self.seated(r, ctx.height);
                state.note_election(ctx.height, seated, &self.spec, &mut undo);
            }
            state.undo(&undo);
        }
        Ok(())
    }

    /// Disconnects the tip block in one synced batch and returns it.
    pub fn disconnect_tip(&self) -> Result<Block, ChainError> {
        let _w = self.write.lock();
        self.check_running()?;
        self.disconnect_inner().map(Arc::unwrap_or_clone)
    }

    /// Disconnects the tip (the caller holds the write lock). The block and
    /// its undo data come from the recent blocks when kept there.
    pub(super) fn disconnect_inner(&self) -> Result<Arc<Block>, ChainError> {
        let tip = self.tip();
        if tip.height == 0 {
            return Err(ChainError::Genesis);
        }
        self.check_not_final(tip.height - 1)?;
        let (block, main) = match self.recent.main(&tip.hash) {
            Some(kept) => kept,
            None => {
                let block = self.block(&tip.hash)?.ok_or_else(|| {
                    ChainError::Inconsistent(format!("tip block {} missing", tip.hash))
                })?;
                let undo = self.kv.get(UNDO, &tip.hash)?.ok_or_else(|| {
                    ChainError::Inconsistent(format!("undo data of {} missing", tip.hash))
                })?;
                let txids = block.txs.par_iter().map(|t| t.txid()).collect();
                (Arc::new(block), Arc::new(MainData { undo, txids }))
            }
        };
        let (undo, txids) = (&main.undo, &main.txids);
        let mut changes = disconnect_block_with_ids(&block, tip.height, undo, txids);
        let spent_coins: HashMap<OutPoint, Coin> = undo.spent.iter().copied().collect();
        // From the staking state's change to the tip's.
        let _changing = StateChange::begin(&self.state_seq);
        let mut b = Batch::new();
        let released = self
            .disconnect_staking(&tip.hash, &mut b)?
            .map(|s| s.released)
            .unwrap_or_default();
        changes.spent.extend(released.iter().copied());
        b.delete(HEIGHTS, &tip.height);
        // The undo data stays: if the process stops before the UTXO cache
        // is next flushed, the `utxos` keyspace may still be current to
        // this block, and opening rolls it back with it.
        b.delete(CONSENSUS, &tip.height);
        b.delete(COMMITS, &tip.height);
        if self.indexes.tx {
            for txid in txids {
                b.delete(TX_INDEX, txid);
            }
        }
        // The address-UTXO index changes with the UTXO set, in the cache.
        let mut keys = IndexKeys::default();
        if self.indexes.address {
            let deltas = address_deltas(
                &block,
                txids,
                tip.height,
                &spent_coins,
                &released,
                &mut keys,
            );
            for (key, _) in deltas {
                b.delete(ADDRESS_TXS, &key);
            }
        }
        let parent = self
            .index
            .read()
            .headers
            .get(&block.header.prev_hash())
            .copied()
            .ok_or_else(|| ChainError::Inconsistent("parent header missing".into()))?;
        b.put(
            META_TIP,
            &TIP_KEY.to_string(),
            &TipRecord {
                hash: block.header.prev_hash(),
                height: tip.height - 1,
            },
        );
        self.commit(b)?;
        self.utxos.apply(&changes, &mut keys, Created::Fresh);
        self.recent.disconnected(&tip.hash);
        self.index.write().main.pop();
        *self.tip.write() = Tip {
            hash: block.header.prev_hash(),
            height: tip.height - 1,
            header: parent.header,
            chain_work: parent.chain_work,
        };
        self.flush_if_full()?;
        Ok(block)
    }
}

/// Address index keys of the locks one batch touches: each is a hash, and
/// the same lock comes up for a coin's address history and again for its
/// address-UTXO entry (and for every coin of an address that recurs).
#[derive(Default)]
pub(super) struct IndexKeys(HashMap<Lock, Hash>);

impl IndexKeys {
    pub(super) fn of(&mut self, lock: &Lock) -> Hash {
        *self.0.entry(*lock).or_insert_with(|| lock.index_key())
    }
}

/// What each transaction of `block` did to each address it touched.
/// `spent` must hold every coin the block spent from before the block.
pub(super) fn address_deltas(
    block: &Block,
    txids: &[Hash],
    height: u64,
    spent: &HashMap<OutPoint, Coin>,
    released: &[(OutPoint, Coin)],
    keys: &mut IndexKeys,
) -> Vec<(AddressTxKey, AddressDelta)> {
    let mut created: HashMap<OutPoint, TxOut> = HashMap::new();
    let mut out = Vec::new();
    for (tx, txid) in block.txs.iter().zip(txids) {
        let mut per: HashMap<Hash, AddressDelta> = HashMap::new();
        for input in &tx.inputs {
            let output = spent
                .get(input)
                .map(|c| c.output)
                .or_else(|| created.get(input).copied());
            if let Some(o) = output {
                let d = per.entry(keys.of(&o.lock)).or_default();
                d.sent = d.sent.checked_add(o.amount).unwrap_or(Amount::MAX);
            }
        }
        for (vout, o) in tx.outputs.iter().enumerate() {
            let d = per.entry(keys.of(&o.lock)).or_default();
            d.received = d.received.checked_add(o.amount).unwrap_or(Amount::MAX);
            created.insert(
                OutPoint {
                    txid: *txid,
                    vout: vout as u32,
                },
                *o,
            );
        }
        for (address, delta) in per {
            out.push((
                AddressTxKey {
                    address,
                    height,
                    txid: *txid,
                },
                delta,
            ));
        }
    }
    // Coins the ledger pays at this block (ADR 0031: matured unbonding
    // entries under their unbonding transaction's txid, rewards under the
    // coinbase's) are received at this height like any output: without them
    // an address's history would not add up to its balance. A row of the
    // same address and txid (a reward beside a coinbase output) takes them
    // in, so each key is written once.
    if released.is_empty() {
        return out;
    }
    let mut at: HashMap<(Hash, Hash), usize> = out
        .iter()
        .enumerate()
        .map(|(i, (k, _))| ((k.address, k.txid), i))
        .collect();
    for (op, coin) in released {
        let address = keys.of(&coin.output.lock);
        let i = *at.entry((address, op.txid)).or_insert_with(|| {
            out.push((
                AddressTxKey {
                    address,
                    height,
                    txid: op.txid,
                },
                AddressDelta::default(),
            ));
            out.len() - 1
        });
        let d = &mut out[i].1;
        d.received = d
            .received
            .checked_add(coin.output.amount)
            .unwrap_or(Amount::MAX);
    }
    out
}

/// Writes a block's transactions and its wtxid list (`wtxids` in block
/// order, as computed by validation).
pub(super) fn store_body(b: &mut Batch, block: &Block, hash: &Hash, wtxids: &[Hash]) {
    b.put_many(TXS, wtxids, &block.txs);
    b.put(
        BLOCKS,
        hash,
        &BlockBody {
            wtxids: wtxids.to_vec(),
            last_commit: block.last_commit.clone(),
        },
    );
}

/// Everything that connecting `block` at `height` writes, as one batch
/// (the optional indexes only when kept; the header and body only with
/// `write_body`, for a block not stored yet) — but its UTXO changes, which
/// go to the UTXO cache with those of the address-UTXO index. `keys`
/// keeps the addresses' index keys for the cache.
#[allow(clippy::too_many_arguments)]
pub(super) fn connect_batch(
    block: &Block,
    height: u64,
    chain_work: U256,
    c: &Connected,
    coins: &HashMap<OutPoint, Coin>,
    released: &[(OutPoint, Coin)],
    indexes: IndexSet,
    write_body: bool,
    keys: &mut IndexKeys,
) -> Batch {
    let hash = block.hash();
    let mut b = Batch::new();
    if write_body {
        b.put(
            HEADERS,
            &hash,
            &HeaderRecord {
                header: block.header,
                height,
                chain_work,
                invalid: false,
                invalidated: false,
            },
        );
        store_body(&mut b, block, &hash, &c.wtxids);
    }
    for (index, wtxid) in c.wtxids.iter().enumerate().filter(|_| indexes.tx) {
        b.put(
            TX_INDEX,
            &c.txids[index],
            &TxLocation {
                block: hash,
                height,
                index: index as u32,
                wtxid: *wtxid,
            },
        );
    }
    b.put(HEIGHTS, &height, &hash);
    b.put(UNDO, &hash, &c.undo);
    if indexes.address {
        for (key, delta) in address_deltas(block, &c.txids, height, coins, released, keys) {
            b.put(ADDRESS_TXS, &key, &delta);
        }
    }
    b.put(META_TIP, &TIP_KEY.to_string(), &TipRecord { hash, height });
    b
}
