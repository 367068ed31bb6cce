//! The node's shared state and its operations: submit a transaction, produce
//! a block, and the queries the API serves.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use luminex_ledger::spec::ConsensusKind;
use luminex_ledger::{
    check_authority_change, AuthorityError, BlockError, BlockIds, ChainSpec, CheckedBlock, Coin,
    ErrorClass, Finality, KnownTx, SigCache, TxError, UtxoView,
};
use luminex_mempool::{Candidate, Mempool, MempoolError};
use luminex_primitives::{Amount, Block, Hash, Lock, OutPoint, Transaction, TxKind, TxOut};
use luminex_storage::{
    AcceptStatus, Accepted, CertifiedBlock, ChainError, ChainStore, PreparedBlock,
};
use parking_lot::RwLock;

use luminex_primitives::Clock;

/// The running node's state, shared by the API, the producer and tools.
pub struct Node {
    /// The chain spec.
    pub spec: ChainSpec,
    /// The chain state.
    pub chain: Arc<ChainStore>,
    /// Waiting transactions.
    pub mempool: RwLock<Mempool>,
    /// Verified-signature cache shared by mempool and block validation.
    pub cache: SigCache,
    /// Wall clock.
    pub clock: Arc<dyn Clock>,
    /// When the node started.
    pub started: Instant,
    /// Where block rewards go when this node produces blocks.
    pub reward_lock: Lock,
    /// Whether this node produces blocks.
    pub producing: bool,
    /// On BFT chains, the id (key hash) of the validator key this node
    /// signs consensus messages with; `None` without one. Whether it
    /// validates depends on the set in force, not on this alone.
    pub validator_id: Option<Hash>,
    /// Announces every new tip (long polling, miners).
    pub tip_changed: tokio::sync::watch::Sender<Hash>,
    /// Prometheus metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Chain events for WebSocket subscribers.
    pub events: tokio::sync::broadcast::Sender<Arc<crate::events::Event>>,
    /// The highest finalized height [`Node::events`] announced.
    pub finality_mark: crate::events::FinalityMark,
    /// Asks the running node to restart gracefully.
    pub restart: Arc<tokio::sync::Notify>,
    /// The peer-to-peer network, once started.
    pub net: std::sync::OnceLock<luminex_p2p::Handle>,
    /// Shares and blocks per Stratum worker (empty without a Stratum
    /// server).
    pub pool: crate::pool::PoolStats,
    /// The admission pipeline [`Node::submit_queued`] uses (its threads
    /// start on the first submission).
    pub admission: crate::admission::Admission,
    /// Held from a block's acceptance until the mempool has followed it,
    /// so two acceptances (the miner's, a peer's) do not interleave their
    /// mempool updates: one's view of the chain would be the other's
    /// half-way.
    pub follow_order: parking_lot::Mutex<()>,
    /// Transactions of disconnected blocks waiting for the pool's chain
    /// limits to let them in ([`crate::held_back`]).
    pub held_back: crate::held_back::HeldBack,
    /// On BFT chains, where the consensus task stands, as it last published
    /// it (`GET /consensus/state`); `None` without a consensus task.
    pub consensus_view: RwLock<Option<ConsensusView>>,
}

/// What the consensus task publishes of the height it decides.
#[derive(Clone, Debug)]
pub struct ConsensusView {
    /// The height's state: round, step, proposer, votes.
    pub round: luminex_consensus::bft::RoundView,
    /// When this node entered the height (Unix milliseconds).
    pub height_since_ms: u64,
    /// When it entered the round (Unix milliseconds).
    pub round_since_ms: u64,
}

impl Node {
    /// Publishes `round` as the consensus task's position, noting when the
    /// height and the round began.
    pub fn publish_consensus(&self, round: luminex_consensus::bft::RoundView) {
        let now = self.clock.now_millis();
        let mut view = self.consensus_view.write();
        let (height_since_ms, round_since_ms) = match view.as_ref() {
            Some(v) if v.round.height == round.height && v.round.round == round.round => {
                (v.height_since_ms, v.round_since_ms)
            }
            Some(v) if v.round.height == round.height => (v.height_since_ms, now),
            _ => (now, now),
        };
        *view = Some(ConsensusView {
            round,
            height_since_ms,
            round_since_ms,
        });
    }
}

/// The chain's UTXO set as a [`UtxoView`] for the mempool. A storage error
/// is logged and reads as a missing coin, so the transaction is refused
/// rather than accepted on unchecked data.
pub struct StoreView<'a>(pub &'a ChainStore);

impl UtxoView for StoreView<'_> {
    fn coin(&self, op: &OutPoint) -> Option<Coin> {
        match self.0.coin(op) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "storage error reading the UTXO set");
                None
            }
        }
    }
}

/// An empty mempool of `max_bytes` for the chain `chain`, whose staking
/// state (on chains with a `[staking]` table) starts at the chain's tip.
pub fn mempool_for(
    chain: &ChainStore,
    spec: ChainSpec,
    cache: SigCache,
    max_bytes: usize,
) -> Mempool {
    let staking = spec.staking.is_some();
    let mut pool = Mempool::new(spec, cache, max_bytes);
    if staking {
        pool.set_staking_state(chain.staking_state(), chain.tip().height + 1);
    }
    pool
}

impl Node {
    /// Admits a transaction to the mempool. Signature verification runs
    /// without holding the mempool lock, so concurrent submissions verify
    /// in parallel.
    pub fn submit(&self, tx: Transaction) -> Result<Hash, MempoolError> {
        self.submit_from(tx, true)
    }

    /// Admits a transaction a peer gossiped (gossipsub relays it once it
    /// is validated, so it is not published again).
    pub fn submit_from_peer(&self, tx: Transaction) -> Result<Hash, MempoolError> {
        self.submit_from(tx, false)
    }

    fn submit_from(&self, tx: Transaction, relay: bool) -> Result<Hash, MempoolError> {
        let r = self.admit(tx);
        self.decided(&r, None, relay);
        r
    }

    /// What follows a verdict: an admitted transaction is relayed (when
    /// `relay`), counted and announced to WebSocket subscribers; a refusal
    /// is counted by reason. `tx` is the admitted transaction when the
    /// caller holds it; otherwise it is read from the pool.
    pub(crate) fn decided(
        &self,
        r: &Result<Hash, MempoolError>,
        tx: Option<&Arc<Transaction>>,
        relay: bool,
    ) {
        match r {
            Ok(txid) => {
                let wanted =
                    (relay && self.net.get().is_some()) || self.events.receiver_count() > 0;
                let tx = match tx {
                    Some(tx) => Some(tx.clone()),
                    None if wanted => self.mempool.read().get(txid).map(|e| e.tx.clone()),
                    None => None,
                };
                if relay {
                    if let (Some(net), Some(tx)) = (self.net.get(), &tx) {
                        net.publish_tx(tx);
                    }
                }
                self.metrics.transactions_accepted.inc();
                if self.events.receiver_count() > 0 {
                    if let Some(tx) = &tx {
                        let addresses = crate::events::touched(self, tx);
                        let _ = self.events.send(Arc::new(crate::events::Event::Tx {
                            txid: *txid,
                            height: None,
                            addresses,
                        }));
                    }
                }
            }
            Err(e) => {
                self.metrics
                    .transactions_rejected
                    .get_or_create(&crate::metrics::ReasonLabels {
                        reason: e.code().into(),
                    })
                    .inc();
            }
        }
    }

    /// Counts the signatures `c` will verify (none when the cache knows
    /// them).
    pub(crate) fn count_verifications(&self, c: &Candidate) {
        if !self.cache.contains(&c.wtxid) {
            self.metrics
                .signature_verifications
                .inc_by(c.tx.signature_count() as u64);
        }
    }

    /// Every check of admission before the pool's own, signatures
    /// verified outside the pool's lock: the candidate and the height of the
    /// block it would go into.
    fn verified(&self, tx: Transaction) -> Result<(Candidate, u64), MempoolError> {
        if let Some(why) = self.chain.halted() {
            return Err(MempoolError::Halted(why));
        }
        let c = Candidate::new(tx, &self.spec)?;
        let view = StoreView(&self.chain);
        let height = self.chain.tip().height + 1;
        let check = self.mempool.read().check(&c, &view, height)?;
        if c.tx.authority_change().is_some() {
            self.check_authority(&c.tx, height)?;
        }
        self.count_verifications(&c);
        c.verify(&check, &self.cache, &self.chain.genesis_hash())?;
        Ok((c, height))
    }

    fn admit(&self, tx: Transaction) -> Result<Hash, MempoolError> {
        let (c, _) = self.verified(tx)?;
        let txid = c.txid;
        self.mempool.write().insert_at(
            c,
            &StoreView(&self.chain),
            self.chain.tip().height + 1,
            self.clock.now_unix(),
        )?;
        Ok(txid)
    }

    /// What this node does for the chain: `producer` (a `dev` or
    /// proof-of-work node that seals or mines blocks) or `full`; on BFT
    /// chains `validator` while its key ([`Node::validator_id`]) is in the
    /// set that finalizes the next block, `follower` otherwise — a key is
    /// configuration, a seat is the chain's (an authority change may have
    /// removed it, or never added it).
    pub fn role(&self) -> &'static str {
        match (self.spec.consensus, self.producing) {
            (ConsensusKind::Bft, true) if self.in_validator_set() => "validator",
            (ConsensusKind::Bft, _) => "follower",
            (_, true) => "producer",
            (_, false) => "full",
        }
    }

    /// Whether this node's validator key is in the set that finalizes the
    /// block after the tip.
    pub fn in_validator_set(&self) -> bool {
        self.validator_id.is_some_and(|id| {
            self.chain
                .consensus_record(self.chain.tip().height)
                .ok()
                .flatten()
                .is_some_and(|r| r.validators.index_of(&id).is_some())
        })
    }

    /// Whether the mempool would admit `tx` now, admitting nothing
    /// (Bitcoin Core's `testmempoolaccept`): the checks of
    /// [`Node::submit`], the signatures verified outside the pool's lock,
    /// then the pool's own verdict ([`Mempool::test_accept`]). Returns the
    /// candidate (its ids and size) and the fee it pays.
    pub fn test_accept(&self, tx: Transaction) -> Result<(Candidate, Amount), MempoolError> {
        let (c, height) = self.verified(tx)?;
        let fee = self
            .mempool
            .write()
            .test_accept(&c, &StoreView(&self.chain), height)?;
        Ok((c, fee))
    }

    /// An authority change against the consensus state at the tip, as the
    /// next block would check it (signers, power, schedule) after the
    /// changes the pool already holds: a change that would leave no usable
    /// set together with them is refused now, not left to wait for a
    /// block that could never carry both (proposers drop it).
    pub(crate) fn check_authority(
        &self,
        tx: &Transaction,
        height: u64,
    ) -> Result<(), MempoolError> {
        let invalid = |e: AuthorityError| MempoolError::Invalid(TxError::Authority(e));
        let record = self
            .chain
            .consensus_record(height - 1)
            .ok()
            .flatten()
            .ok_or(invalid(AuthorityError::Disabled))?;
        let pooled: Vec<luminex_ledger::PendingChange> = self
            .mempool
            .read()
            .entries()
            .filter_map(|e| e.tx.authority_change())
            .map(|c| luminex_ledger::PendingChange {
                effective_height: c.effective_height,
                validator: luminex_ledger::Validator {
                    public_key: c.public_key.clone(),
                    power: c.power,
                },
            })
            .collect();
        self.metrics
            .signature_verifications
            .inc_by(tx.signature_count() as u64);
        check_authority_change(tx, &record, height, &self.chain.genesis_hash(), &pooled)
            .map_err(invalid)?;
        Ok(())
    }

    /// A block template on the tip: mempool transactions by fee rate, a
    /// coinbase paying subsidy plus fees to `reward`, the required `bits`,
    /// and a time no earlier than the rules allow. The nonce is 0 and the
    /// header's work is not done. Returns the block and its fees.
    pub fn block_template(&self, reward: Lock) -> Result<(Block, Amount), BlockError> {
        self.block_template_with(reward, &[])
    }

    /// [`Node::block_template`] with `coinbase_extra` (a pool tag, an
    /// extranonce) in the coinbase's data ([`ChainSpec::coinbase`]), so
    /// miners given different bytes never search the same space.
    pub fn block_template_with(
        &self,
        reward: Lock,
        coinbase_extra: &[u8],
    ) -> Result<(Block, Amount), BlockError> {
        self.template(reward, coinbase_extra)
            .map(|(block, payload)| (block, payload.fees))
    }

    /// [`Node::block_template_with`], with the transactions' ids the
    /// mempool holds: the Merkle root and the coinbase's witness commitment
    /// are built from them instead of hashing every transaction again.
    fn template(
        &self,
        reward: Lock,
        coinbase_extra: &[u8],
    ) -> Result<(Block, luminex_mempool::BlockPayload), BlockError> {
        let tip = self.chain.tip();
        let height = tip.height + 1;
        let parent = self.chain.tip_parent();
        let rules = self.chain.rules();
        let now_ms = self.clock.now_unix().saturating_mul(1000);
        let header = self
            .chain
            .with_context(|ctx| rules.template_header(&parent, ctx, now_ms))?;
        let mut payload =
            self.mempool
                .read()
                .block_payload_with_ids(height, reward, coinbase_extra)?;
        let txs = std::mem::take(&mut payload.txs);
        let root = self
            .spec
            .merkle_root_of_ids(&txs[0], &payload.txids, &payload.wtxids);
        let mut block = Block::new(header, txs);
        block.header.set_merkle_root(root);
        Ok((block, payload))
    }

    /// Accepts a block from the miner, RPC or a peer and makes the mempool
    /// follow the main chain: transactions of connected blocks leave it,
    /// those of disconnected blocks come back when still valid.
    pub fn accept_block(&self, block: &Block) -> Result<Accepted, ChainError> {
        let acc = self.accept_with(|chain, now, cache| chain.accept_block(block, now, cache))?;
        self.announce_accepted(block, &acc, None);
        Ok(acc)
    }

    /// [`Node::accept_block`] for a block the caller shares (one it built or
    /// mined): connecting it does not copy it.
    pub fn accept_shared(&self, block: &Arc<Block>) -> Result<Accepted, ChainError> {
        let acc = self.accept_with(|chain, now, cache| chain.accept_shared(block, now, cache))?;
        self.announce_accepted(block, &acc, None);
        Ok(acc)
    }

    /// Announces `block` to peers when it was stored (main chain or side
    /// branch).
    /// `wtxids` are those of its transactions after the coinbase, when
    /// known.
    fn announce_accepted(&self, block: &Block, acc: &Accepted, wtxids: Option<&[Hash]>) {
        if matches!(
            acc.status,
            AcceptStatus::MainChain | AcceptStatus::SideBranch
        ) {
            if let Some(net) = self.net.get() {
                match wtxids {
                    Some(w) => net.announce_block_with_wtxids(block, w),
                    None => net.announce_block(block),
                }
            }
        }
    }

    /// Marks block `hash` invalid by the operator's choice (Bitcoin Core's
    /// `invalidateblock`): the chain leaves it and every block built on it
    /// for the best valid branch, and the mempool follows (transactions of
    /// the blocks left come back when still valid). See
    /// [`ChainStore::invalidate_block`].
    pub fn invalidate_block(&self, hash: &Hash) -> Result<Accepted, ChainError> {
        let acc = self.accept_with(|chain, _, cache| chain.invalidate_block(hash, cache))?;
        self.resync();
        Ok(acc)
    }

    /// Clears the invalid marks of block `hash`, its ancestors and its
    /// descendants (Bitcoin Core's `reconsiderblock`) and moves to the best
    /// valid branch. See [`ChainStore::reconsider_block`].
    pub fn reconsider_block(&self, hash: &Hash) -> Result<Accepted, ChainError> {
        let acc = self.accept_with(|chain, _, cache| chain.reconsider_block(hash, cache))?;
        self.resync();
        Ok(acc)
    }

    /// After the operator changed which blocks the chain takes: the
    /// download starts over from the tip, so blocks refused before (and
    /// forgotten by the download as handled) are asked for again.
    fn resync(&self) {
        if let Some(net) = self.net.get() {
            let _ = net.resync();
        }
    }

    /// Accepts a block from the network: as [`Node::accept_block`], without
    /// announcing it (gossipsub relays what the network validated).
    pub fn accept_block_from_peer(&self, block: &Block) -> Result<Accepted, ChainError> {
        self.accept_with(|chain, now, cache| chain.accept_block(block, now, cache))
    }

    /// Accepts a block the network prepared ahead (its context-free checks
    /// and signatures done on another thread): as
    /// [`Node::accept_block_from_peer`], without repeating that work.
    pub fn accept_prepared_from_peer(&self, block: &PreparedBlock) -> Result<Accepted, ChainError> {
        self.accept_with(|chain, now, cache| chain.accept_prepared(block, now, cache))
    }

    /// [`Node::accept_prepared_from_peer`] for a download far behind the
    /// tip (ADR 0040): the block is committed without waiting for the disk
    /// ([`ChainStore::accept_prepared_unsynced`]) and the mempool follows
    /// at once, but nobody is told — no new-tip notice, no events — until
    /// the caller makes it durable with [`Node::publish_synced`].
    pub fn accept_prepared_unsynced(&self, block: &PreparedBlock) -> Result<Accepted, ChainError> {
        self.accept_quietly(|chain, now, cache| chain.accept_prepared_unsynced(block, now, cache))
    }

    /// Makes the blocks accepted by [`Node::accept_prepared_unsynced`]
    /// durable ([`ChainStore::sync`]), then announces what they changed
    /// (the new tip, the WebSocket events), in order. Nothing is announced
    /// when the sync fails.
    pub fn publish_synced(&self, accepted: &[Accepted]) -> Result<(), ChainError> {
        self.chain.sync()?;
        for acc in accepted {
            self.announce_tip(acc);
        }
        Ok(())
    }

    /// Commits a block a BFT engine decided (or a peer's block with the
    /// certificate that finalized it), with the mempool and events
    /// following as for any block. Not announced: BFT blocks travel inside
    /// proposals and catch-up messages.
    pub fn accept_certified<'a>(
        &self,
        block: impl Into<CertifiedBlock<'a>>,
        certificate: &luminex_primitives::CommitCertificate,
    ) -> Result<Accepted, ChainError> {
        let block = block.into();
        self.accept_with(|chain, now, cache| chain.accept_certified(block, certificate, now, cache))
    }

    /// [`Node::accept_certified`] for a block caught up from a peer with
    /// more to follow (ADR 0049): committed without waiting for the disk
    /// ([`ChainStore::accept_certified_unsynced`]), the mempool following
    /// at once, and nothing announced until [`Node::publish_synced`].
    pub fn accept_certified_unsynced<'a>(
        &self,
        block: impl Into<CertifiedBlock<'a>>,
        certificate: &luminex_primitives::CommitCertificate,
    ) -> Result<Accepted, ChainError> {
        let block = block.into();
        self.accept_quietly(|chain, now, cache| {
            chain.accept_certified_unsynced(block, certificate, now, cache)
        })
    }

    /// The transactions of a new block on the tip — a coinbase paying the
    /// subsidy and fees to this node's reward address, then the best
    /// mempool transactions (a BFT proposal's body) — with what the
    /// mempool's admission found about each pool transaction (ids and
    /// size), by txid: a proposer checks its own block with them instead of
    /// hashing every witness again (ADR 0056).
    pub fn block_payload_known(
        &self,
    ) -> Result<(Vec<Transaction>, HashMap<Hash, KnownTx>), BlockError> {
        let height = self.chain.tip().height + 1;
        let p = self
            .mempool
            .read()
            .block_payload_with_ids(height, self.reward_lock, &[])?;
        let known = p
            .txs
            .iter()
            .zip(p.txids.iter().zip(&p.wtxids))
            .skip(1)
            .map(|(tx, (txid, wtxid))| {
                let k = KnownTx {
                    txid: *txid,
                    wtxid: *wtxid,
                    size: luminex_primitives::Encode::encoded_len(tx),
                };
                (*txid, k)
            })
            .collect();
        Ok((p.txs, known))
    }

    fn accept_with(
        &self,
        accept: impl FnOnce(&ChainStore, u64, &SigCache) -> Result<Accepted, ChainError>,
    ) -> Result<Accepted, ChainError> {
        let acc = self.accept_quietly(accept)?;
        self.announce_tip(&acc);
        Ok(acc)
    }

    /// Accepts a block, counts it in the metrics and makes the mempool
    /// follow, without announcing anything.
    fn accept_quietly(
        &self,
        accept: impl FnOnce(&ChainStore, u64, &SigCache) -> Result<Accepted, ChainError>,
    ) -> Result<Accepted, ChainError> {
        let _order = self.follow_order.lock();
        let started = std::time::Instant::now();
        let m = &self.metrics;
        let acc = match accept(&self.chain, self.clock.now_unix(), &self.cache) {
            Ok(acc) => acc,
            Err(e) => {
                let reason = match &e {
                    ChainError::Invalid(b) => b.code(),
                    ChainError::ReorgTooDeep { .. } => "reorg-too-deep",
                    ChainError::Invalidated(_) => "invalidated",
                    _ => "storage",
                };
                m.blocks_rejected
                    .get_or_create(&crate::metrics::ReasonLabels {
                        reason: reason.into(),
                    })
                    .inc();
                return Err(e);
            }
        };
        m.signature_verifications
            .inc_by(acc.verified_signatures as u64);
        if !acc.connected.is_empty() {
            m.block_validation_seconds
                .observe(started.elapsed().as_secs_f64());
            m.blocks_connected.inc_by(acc.connected.len() as u64);
        }
        if !acc.disconnected.is_empty() {
            m.blocks_disconnected.inc_by(acc.disconnected.len() as u64);
            m.reorgs.inc();
        }
        self.follow(&acc);
        Ok(acc)
    }

    fn follow(&self, acc: &Accepted) {
        if acc.connected.is_empty() && acc.disconnected.is_empty() {
            return;
        }
        let height = self.chain.tip().height;
        {
            let mut pool = self.mempool.write();
            for b in &acc.connected {
                pool.block_connected(&b.txs, height);
            }
            if self.spec.staking.is_some() {
                // The store's state is the authority, after a
                // reorganisation too.
                pool.set_staking_state(self.chain.staking_state(), height + 1);
            }
        }
        if self.spec.staking.is_some() {
            self.chain.with_staking(|s| self.metrics.staking.observe(s));
        }
        self.return_to_pool(&acc.disconnected, !acc.connected.is_empty());
        self.drop_orphaned_spenders(&acc.disconnected);
        self.drop_premature_spends(&acc.disconnected);
    }

    /// After a reorganisation: pool transactions spending a coinbase output
    /// that is not mature at the next height (the chain got shorter, or the
    /// coinbase's block moved up) can go into no block before it matures;
    /// they leave with their descendants, as Bitcoin Core's
    /// `removeForReorg` drops them. Kept, they went into every block
    /// template and every block built from one was refused, so mining
    /// stopped until a restart.
    fn drop_premature_spends(&self, disconnected: &[Arc<Block>]) {
        if disconnected.is_empty() || self.spec.coinbase_maturity == 0 {
            return;
        }
        let next = self.chain.tip().height + 1;
        // The confirmed inputs of the pool first, read with no lock on the
        // pool (the caller holds `follow_order`).
        let inputs: Vec<(Hash, OutPoint)> = {
            let pool = self.mempool.read();
            pool.entries()
                .flat_map(|e| {
                    e.tx.inputs
                        .iter()
                        .filter(|op| !pool.contains(&op.txid))
                        .map(|op| (e.txid, *op))
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let premature: Vec<Hash> = inputs
            .into_iter()
            .filter(|(_, op)| {
                matches!(self.chain.coin(op), Ok(Some(c))
                    if c.is_coinbase
                        && next < c.height.saturating_add(self.spec.coinbase_maturity))
            })
            .map(|(txid, _)| txid)
            .collect();
        if premature.is_empty() {
            return;
        }
        let mut pool = self.mempool.write();
        for txid in premature {
            let gone = pool.remove_with_descendants(&txid);
            if !gone.is_empty() {
                tracing::debug!(%txid, removed = gone.len(), "pool transaction spends a coinbase a reorganisation made immature");
            }
        }
    }

    /// After a reorganisation: pool transactions spending an output of a
    /// disconnected transaction that came back neither in the pool nor on
    /// the new chain (it conflicted with the new branch, or was a coinbase)
    /// spend nothing that exists; they leave with their descendants. Kept,
    /// they went into every block template, and every block mined from one
    /// was refused.
    fn drop_orphaned_spenders(&self, disconnected: &[Arc<Block>]) {
        if disconnected.is_empty() {
            return;
        }
        // Hashing and chain reads first, with no lock on the pool (the
        // caller holds `follow_order`: no other block changes the chain or
        // the pool's view of it meanwhile).
        let txids: Vec<(Hash, usize)> = disconnected
            .iter()
            .flat_map(|b| b.txs.iter().map(|tx| (tx.txid(), tx.outputs.len())))
            .collect();
        let spent: Vec<(OutPoint, Hash)> = {
            let pool = self.mempool.read();
            txids
                .iter()
                .filter(|(txid, _)| !pool.contains(txid))
                .flat_map(|&(txid, n)| (0..n as u32).map(move |vout| OutPoint { txid, vout }))
                .filter_map(|op| pool.spender(&op).map(|s| (op, s)))
                .collect()
        };
        let orphaned: Vec<(OutPoint, Hash)> = spent
            .into_iter()
            .filter(|(op, _)| !matches!(self.chain.coin(op), Ok(Some(_))))
            .collect();
        if orphaned.is_empty() {
            return;
        }
        let mut pool = self.mempool.write();
        for (op, txid) in orphaned {
            // Admission does not wait for `follow_order`: the parent may
            // have come back into the pool since the look above.
            if pool.contains(&op.txid) || pool.spender(&op) != Some(txid) {
                continue;
            }
            let gone = pool.remove_with_descendants(&txid);
            if !gone.is_empty() {
                tracing::debug!(%txid, removed = gone.len(), "pool transaction's input left with a reorganisation");
            }
        }
    }

    /// Tells the new tip's watchers (long polling, Stratum) and the
    /// WebSocket subscribers what `acc` changed.
    fn announce_tip(&self, acc: &Accepted) {
        if acc.connected.is_empty() && acc.disconnected.is_empty() {
            return;
        }
        self.tip_changed.send_replace(self.chain.tip().hash);
        if self.events.receiver_count() > 0 {
            self.publish(acc);
        }
    }

    /// Sends WebSocket events for the blocks `acc` connected.
    fn publish(&self, acc: &Accepted) {
        use crate::events::Event;
        for b in &acc.connected {
            let hash = b.hash();
            let Ok(Some(rec)) = self.chain.header(&hash) else {
                continue;
            };
            let txids: Vec<Hash> = b.txs.iter().map(|t| t.txid()).collect();
            for (tx, txid) in b.txs.iter().zip(&txids) {
                let addresses = crate::events::touched(self, tx);
                let _ = self.events.send(Arc::new(Event::Tx {
                    txid: *txid,
                    height: Some(rec.height),
                    addresses,
                }));
            }
            let _ = self.events.send(Arc::new(Event::Block {
                hash,
                height: rec.height,
                txids,
            }));
            // The block this one made final: itself on finality chains, the
            // one the reorganisation depth below on the others.
            let finalized = match self.chain.rules().finality() {
                Finality::Certified => Some(rec.height),
                Finality::Depth(d) => rec.height.checked_sub(d),
            };
            if let Some(f) = finalized.filter(|f| *f <= self.chain.finalized().height) {
                if !self.finality_mark.advance(f) {
                    continue;
                }
                if let Ok(Some(fh)) = self.chain.hash_at(f) {
                    let _ = self.events.send(Arc::new(Event::Finalized {
                        hash: fh,
                        height: f,
                    }));
                }
            }
        }
    }

    /// Builds a block from the mempool on the tip and connects it (the `dev`
    /// producer). Blocking: call from a blocking thread.
    pub fn produce_block(&self) -> Result<Arc<Block>, ChainError> {
        let (block, payload) = self.template(self.reward_lock, &[])?;
        // Its transactions were checked and hashed at admission, and the
        // template's root was computed from those ids: the chain store
        // takes them instead of hashing every witness again.
        let sizes = block
            .txs
            .iter()
            .map(luminex_primitives::Encode::encoded_len)
            .collect();
        let announced = payload.wtxids[1..].to_vec();
        let ids = BlockIds {
            txids: payload.txids,
            wtxids: payload.wtxids,
            sizes,
        };
        let checked = CheckedBlock::assembled(Arc::new(block), ids, &self.spec);
        let block = checked.block().clone();
        let prepared = PreparedBlock::Checked(checked);
        let accepted =
            self.accept_with(|chain, now, cache| chain.accept_prepared(&prepared, now, cache));
        match accepted {
            Ok(acc) => {
                self.announce_accepted(&block, &acc, Some(&announced));
                Ok(block)
            }
            // Past the coinbase (index 0, which is not the pool's).
            Err(ChainError::Invalid(BlockError::Tx { index, txid, error })) if index > 0 => {
                // A pool transaction became invalid (it should not happen):
                // drop it so the next block succeeds.
                tracing::warn!(%txid, %error, "dropping invalid mempool transaction");
                self.mempool.write().remove_with_descendants(&txid);
                Err(ChainError::Invalid(BlockError::Tx {
                    index: 0,
                    txid,
                    error,
                }))
            }
            Err(e) => Err(e),
        }
    }

    /// Saves the mempool's transactions, in admission order (parents before
    /// children), to `path`. Returns how many.
    pub fn save_mempool(&self, path: &std::path::Path) -> std::io::Result<usize> {
        let pool = self.mempool.read();
        let mut entries: Vec<_> = pool.entries().collect();
        entries.sort_by_key(|e| e.sequence);
        crate::records::write(path, entries.iter().map(|e| &*e.tx))
    }

    /// Re-admits transactions saved by [`Node::save_mempool`], validating
    /// each again; those no longer valid are dropped, and so is the rest of
    /// a file cut short. Returns (admitted, dropped). The file stays, as
    /// Bitcoin Core's `mempool.dat` does, until the next clean stop
    /// replaces it: a start that fails after this, or a crash soon after,
    /// loses none of what it held.
    pub fn load_mempool(&self, path: &std::path::Path) -> std::io::Result<(usize, usize)> {
        let (mut admitted, mut dropped) = (0, 0);
        // Refused for a missing input: perhaps a parent saved after it (a
        // parent a reorganisation put back in the pool after its child).
        let mut waiting = Vec::new();
        for record in crate::records::Reader::open(path, self.spec.max_tx_bytes)? {
            let Ok(record) = record else {
                dropped += 1;
                break;
            };
            let Ok(tx) = luminex_primitives::Decode::decode_all(&record) else {
                dropped += 1;
                continue;
            };
            match self.submit(Transaction::clone(&tx)) {
                Ok(_) => admitted += 1,
                Err(MempoolError::Invalid(e)) if e.class() == ErrorClass::MissingInputs => {
                    waiting.push(tx)
                }
                Err(_) => dropped += 1,
            }
        }
        // Again while a pass admits something, in the saved order.
        loop {
            let before = waiting.len();
            let mut progress = false;
            waiting.retain(|tx| match self.submit(tx.clone()) {
                Ok(_) => {
                    admitted += 1;
                    progress = true;
                    false
                }
                Err(MempoolError::Invalid(e)) if e.class() == ErrorClass::MissingInputs => true,
                Err(_) => {
                    dropped += 1;
                    false
                }
            });
            if !progress || waiting.is_empty() || waiting.len() == before {
                break;
            }
        }
        dropped += waiting.len();
        Ok((admitted, dropped))
    }

    /// The fee rate (base units per byte) likely to confirm within `blocks`
    /// blocks, from the mempool: the chain minimum if `blocks` blocks' worth
    /// of space holds the whole mempool, otherwise just above the rate of
    /// the transaction at that depth in fee order. Used by the REST API and
    /// `estimatesmartfee`.
    pub fn estimate_fee_rate(&self, blocks: u64) -> u64 {
        let capacity = (self.spec.max_block_bytes as u64).saturating_mul(blocks);
        // A full pool admits only what pays above the cheapest it holds: an
        // estimate below that would be refused however long one waits.
        let min = self.spec.min_fee_rate.max(self.mempool_min_fee_rate());
        let mut used = 0u64;
        for e in self.mempool.read().entries() {
            used += e.size as u64;
            if used > capacity {
                return (e.fee_rate / 1000 + 1).max(min);
            }
        }
        min
    }

    /// The lowest fee rate (base units per byte) a typical transfer needs
    /// to enter the mempool now: the chain's minimum, or just above the
    /// cheapest transaction held when the pool is too full for one more
    /// (`getmempoolinfo`'s `mempoolminfee`).
    pub fn mempool_min_fee_rate(&self) -> u64 {
        /// A one- or two-input post-quantum transfer, with room to spare.
        const TYPICAL_TX_BYTES: usize = 10_000;
        let floor = self.mempool.read().admission_floor(TYPICAL_TX_BYTES);
        let above = floor.map_or(0, |per_kb| per_kb / 1000 + 1);
        self.spec.min_fee_rate.max(above)
    }

    /// Total of the outputs `tx` spends, from the chain's transaction index
    /// (its inputs' creating transactions), if all are found.
    pub fn input_total(&self, tx: &Transaction) -> Option<Amount> {
        let mut total = Amount::ZERO;
        for input in &tx.inputs {
            let out = self.output_of(input)?;
            total = total.checked_add(out.amount).ok()?;
        }
        Some(total)
    }

    /// The fee `tx` pays: its inputs less its outputs and the coins it
    /// bonds (a stake or a delegation); nothing for the kinds that pay no
    /// fee (coinbases, authority changes, evidence); `None` when an input's
    /// output is not found (the transaction index is off, or it is spent
    /// from an unbonding release).
    pub fn fee_of(&self, tx: &Transaction) -> Option<Amount> {
        match tx.kind {
            TxKind::Coinbase { .. } | TxKind::Authority(_) | TxKind::Evidence(_) => {
                Some(Amount::ZERO)
            }
            _ => self
                .input_total(tx)?
                .checked_sub(tx.output_total().ok()?)
                .ok()?
                .checked_sub(tx.kind.bonded())
                .ok(),
        }
    }

    /// Whether block rewards go to the staking reward pot (the coinbase
    /// claims nothing; ADR 0038) rather than to the block's producer.
    pub fn rewards_to_pot(&self) -> bool {
        self.spec
            .staking
            .as_ref()
            .is_some_and(|p| p.rewards != luminex_ledger::staking::RewardRule::Proposer)
    }

    /// The fees `block` (at `height`) paid. Where the producer claims them,
    /// what its coinbase claimed beyond the subsidy; where they go to the
    /// reward pot, the sum of its transactions' fees ([`Node::fee_of`]:
    /// `None` when an input is not found), as its coinbase claims nothing
    /// (or pays the pot out, at an epoch's end).
    pub fn block_fees(&self, block: &Block, height: u64) -> Option<u64> {
        if self.rewards_to_pot() {
            return block.txs.iter().skip(1).try_fold(0u64, |sum, tx| {
                Some(sum.saturating_add(self.fee_of(tx)?.base()))
            });
        }
        let claimed = block
            .txs
            .first()?
            .outputs
            .iter()
            .fold(0u64, |a, o| a.saturating_add(o.amount.base()));
        Some(claimed.saturating_sub(self.spec.subsidy(height).base()))
    }

    /// The output an outpoint refers to, confirmed or in the mempool.
    pub fn output_of(&self, op: &OutPoint) -> Option<TxOut> {
        if let Ok(Some(s)) = self.chain.transaction(&op.txid) {
            return s.tx.outputs.get(op.vout as usize).copied();
        }
        let pool = self.mempool.read();
        pool.get(&op.txid)
            .and_then(|e| e.tx.outputs.get(op.vout as usize).copied())
    }
}
