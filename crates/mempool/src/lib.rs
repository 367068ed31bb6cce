//! The mempool: valid transactions waiting for a block.
//!
//! * **Admission** goes through the ledger's tiers 1 and 2 against the chain's
//!   UTXO set plus the outputs of transactions already in the pool, so a
//!   payment may spend unconfirmed change. Admission is split into
//!   [`Mempool::check`] (shared access), signature verification (no lock at
//!   all, results recorded in the [`SigCache`] that block validation reads)
//!   and [`Mempool::insert`] (exclusive access, re-checks the inputs), so many
//!   clients verify signatures in parallel.
//! * **Conflicts**: a transaction spending an output another pool transaction
//!   spends is rejected with the conflicting txid (no replacement).
//! * **Order**: by fee rate; [`Mempool::select`] fills a block in that order,
//!   parents before children.
//! * **Size cap**: past `max_bytes` the cheapest transactions (with their
//!   descendants) are evicted; a newcomer cheaper than all of them is refused.
//! * **Chain limits**: as Bitcoin Core's defaults, a transaction is refused
//!   if it would have more than 25 unconfirmed ancestors or give one of them
//!   more than 25 unconfirmed descendants (each counting itself), so what
//!   eviction and block building walk per transaction stays small
//!   ([`ChainLimits`]).
//! * **Expiry**: transactions that can no longer be included are dropped when
//!   a block connects.
//! * **Staking** (chains with a `[staking]` table, ADR 0031): a staking
//!   transaction must apply to the staking state after the tip plus the pool
//!   transactions admitted before it, in admission order; blocks are built
//!   so that each staking transaction applies in block order (see the
//!   `staking` module). The owner of the pool sets the state after the tip
//!   with [`Mempool::set_staking_state`] whenever the tip changes;
//!   [`Mempool::block_connected`] advances it by itself for callers that
//!   keep no store.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod chains;
mod eviction;
mod staking;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use luminex_ledger::{
    check_transaction, check_tx_inputs, verify_signatures, AuthorityError, BlockError, ChainSpec,
    Coin, ErrorClass, InputCheck, SigCache, StakingState, TxError, UtxoView,
};

pub use crate::chains::ChainLimits;
use crate::staking::StakingPool;
use luminex_primitives::{Amount, Hash, Lock, OutPoint, Transaction, TxOut};

/// Why a transaction was not admitted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MempoolError {
    /// The transaction is invalid.
    #[error(transparent)]
    Invalid(#[from] TxError),
    /// Already in the pool.
    #[error("transaction {0} is already in the mempool")]
    AlreadyKnown(Hash),
    /// Spends an output a pool transaction already spends.
    #[error("input {input} is already spent by mempool transaction {by}")]
    Conflict {
        /// The contested output.
        input: OutPoint,
        /// The pool transaction spending it.
        by: Hash,
    },
    /// Double-signing evidence travels as consensus gossip and enters
    /// blocks through their proposers (ADR 0039), not through the mempool.
    #[error("evidence transactions are not relayed: proposers add them to blocks")]
    EvidenceNotRelayed,
    /// The node's storage stopped after a failed write (a full disk, say):
    /// what the mempool accepted now could never be mined here, nor
    /// survive the restart the node needs (the reason given).
    #[error("the node's storage stopped ({0}): no transaction is accepted until it is restarted")]
    Halted(String),
    /// It would have more unconfirmed ancestors in the pool than the
    /// limit allows (itself counted).
    #[error("too long a chain of unconfirmed transactions: it would have more than {limit} unconfirmed ancestors, itself counted; wait for its parents to be confirmed")]
    TooManyAncestors {
        /// The limit ([`ChainLimits::ancestors`]).
        limit: usize,
    },
    /// It would give a pool transaction it spends (directly or not) more
    /// unconfirmed descendants than the limit allows (that transaction
    /// counted).
    #[error("too long a chain of unconfirmed transactions: mempool transaction {of} would have more than {limit} unconfirmed descendants, itself counted; wait for it to be confirmed")]
    TooManyDescendants {
        /// The ancestor whose descendants would pass the limit.
        of: Hash,
        /// The limit ([`ChainLimits::descendants`]).
        limit: usize,
    },
    /// The pool is full and this transaction pays too little to displace any.
    /// `lowest` is the rate to beat: the lowest of what stayed for paying
    /// at least as much (a package as a whole, or one transaction).
    #[error(
        "mempool is full; a fee rate of {} base units per byte is not above the lowest it would displace, {}",
        per_byte(*fee_rate),
        per_byte(*lowest)
    )]
    Full {
        /// Its fee rate (base units per kB).
        fee_rate: u64,
        /// The rate to beat.
        lowest: u64,
    },
}

/// A fee rate in base units per 1,000 bytes, written per byte (the unit
/// of the API and the chain spec's `min_fee_rate`): `1`, `1.5`, `0.001`.
fn per_byte(per_kb: u64) -> String {
    let (whole, frac) = (per_kb / 1000, per_kb % 1000);
    match frac {
        0 => whole.to_string(),
        f => format!("{whole}.{f:03}").trim_end_matches('0').to_string(),
    }
}

impl MempoolError {
    /// The class of the rejection.
    pub fn class(&self) -> ErrorClass {
        match self {
            MempoolError::Invalid(e) => e.class(),
            MempoolError::Conflict { .. } => ErrorClass::Consensus,
            MempoolError::AlreadyKnown(_)
            | MempoolError::Full { .. }
            | MempoolError::EvidenceNotRelayed
            | MempoolError::Halted(_)
            | MempoolError::TooManyAncestors { .. }
            | MempoolError::TooManyDescendants { .. } => ErrorClass::Policy,
        }
    }

    /// A short stable code.
    pub fn code(&self) -> &'static str {
        match self {
            MempoolError::Invalid(e) => e.code(),
            MempoolError::AlreadyKnown(_) => "already-known",
            MempoolError::Conflict { .. } => "double-spend",
            MempoolError::Full { .. } => "mempool-full",
            MempoolError::EvidenceNotRelayed => "evidence-not-relayed",
            MempoolError::Halted(_) => "storage-halted",
            MempoolError::TooManyAncestors { .. } | MempoolError::TooManyDescendants { .. } => {
                "too-long-mempool-chain"
            }
        }
    }
}

/// A transaction in the pool.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The transaction.
    pub tx: Arc<Transaction>,
    /// Its id.
    pub txid: Hash,
    /// Its witness id.
    pub wtxid: Hash,
    /// Encoded size.
    pub size: usize,
    /// Fee paid.
    pub fee: Amount,
    /// Fee per 1,000 bytes (the ordering key).
    pub fee_rate: u64,
    /// Admission order, for stable ordering among equal fee rates.
    pub sequence: u64,
    /// When it entered the pool, in Unix seconds as its admitter's clock
    /// gave it ([`Mempool::insert_at`]; 0 when none was given).
    pub time: u64,
    /// The chain's height when it entered the pool (the tip's: the block
    /// it was admitted for is the next).
    pub height: u64,
}

/// A transaction that passed the stateless checks, with its ids.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The transaction.
    pub tx: Arc<Transaction>,
    /// Its id.
    pub txid: Hash,
    /// Its witness id.
    pub wtxid: Hash,
    /// Encoded size.
    pub size: usize,
}

impl Candidate {
    /// Tier 1 checks (no pool or chain state needed).
    pub fn new(tx: Transaction, spec: &ChainSpec) -> Result<Candidate, MempoolError> {
        let size = check_transaction(&tx, spec)?;
        if tx.kind.evidence().is_some() {
            return Err(MempoolError::EvidenceNotRelayed);
        }
        Ok(Candidate {
            txid: tx.txid(),
            wtxid: tx.wtxid(),
            size,
            tx: Arc::new(tx),
        })
    }

    /// Verifies the signatures unless the cache knows them, and records them.
    /// `genesis` is the chain's genesis hash ([`ChainSpec::genesis_hash`]),
    /// part of the message every signature commits to.
    pub fn verify(
        &self,
        check: &InputCheck,
        cache: &SigCache,
        genesis: &Hash,
    ) -> Result<(), MempoolError> {
        if !cache.contains(&self.wtxid) {
            verify_signatures(&self.tx, genesis, &check.spent)?;
            cache.insert(self.wtxid);
        }
        Ok(())
    }
}

/// The transactions of a new block with what the pool knows of them
/// ([`Mempool::block_payload_with_ids`]).
#[derive(Debug, Clone)]
pub struct BlockPayload {
    /// A coinbase, then the pool transactions, in block order.
    pub txs: Vec<Transaction>,
    /// The fees the pool transactions pay.
    pub fees: Amount,
    /// The transactions' ids, in block order.
    pub txids: Vec<Hash>,
    /// The transactions' witness ids, in block order.
    pub wtxids: Vec<Hash>,
}

/// The pool.
pub struct Mempool {
    spec: ChainSpec,
    /// The spec's genesis hash, computed once (signatures commit to it).
    genesis: Hash,
    cache: SigCache,
    max_bytes: usize,
    entries: HashMap<Hash, Entry>,
    by_fee: BTreeSet<(u64, std::cmp::Reverse<u64>, Hash)>,
    spends: HashMap<OutPoint, Hash>,
    /// Per txid, the pool transactions spending its outputs (whether or not
    /// it is in the pool: a reorganisation may return it beneath them), so
    /// walks down a chain cost its spenders, not its outputs.
    spenders: HashMap<Hash, Vec<Hash>>,
    bytes: usize,
    sequence: u64,
    /// The staking states on chains with a `[staking]` table.
    staking: Option<StakingPool>,
    limits: ChainLimits,
}

/// The chain's UTXO set seen through the pool: outputs of pool transactions
/// are available, outputs spent by pool transactions are not.
struct PoolView<'a, V> {
    pool: &'a Mempool,
    chain: &'a V,
    height: u64,
}

impl<V: UtxoView> UtxoView for PoolView<'_, V> {
    fn coin(&self, op: &OutPoint) -> Option<Coin> {
        if self.pool.spends.contains_key(op) {
            return None;
        }
        if let Some(e) = self.pool.entries.get(&op.txid) {
            return e.tx.outputs.get(op.vout as usize).map(|o| Coin {
                output: *o,
                height: self.height,
                is_coinbase: false,
            });
        }
        self.chain.coin(op)
    }
}

fn spec_staking(spec: &ChainSpec) -> Option<StakingPool> {
    spec.staking.as_ref().map(|_| StakingPool::genesis(spec))
}

fn fee_rate(fee: Amount, size: usize) -> u64 {
    fee_rate_u128(u128::from(fee.base()), size)
}

/// [`fee_rate`] of a total that may pass one amount (a package's fees).
pub(crate) fn fee_rate_u128(fee: u128, size: usize) -> u64 {
    (fee * 1000 / size.max(1) as u128).min(u128::from(u64::MAX)) as u64
}

impl Mempool {
    /// An empty pool for `spec` holding at most `max_bytes` of transactions.
    pub fn new(spec: ChainSpec, cache: SigCache, max_bytes: usize) -> Mempool {
        Mempool {
            genesis: spec.genesis_hash(),
            cache,
            max_bytes,
            entries: HashMap::new(),
            by_fee: BTreeSet::new(),
            spends: HashMap::new(),
            spenders: HashMap::new(),
            bytes: 0,
            sequence: 0,
            staking: spec_staking(&spec),
            spec,
            limits: ChainLimits::DEFAULT,
        }
    }

    /// Sets how long chains of unconfirmed transactions the pool takes
    /// from now on (limits of at least 1; what is in the pool stays).
    pub fn set_chain_limits(&mut self, limits: ChainLimits) {
        self.limits = ChainLimits {
            ancestors: limits.ancestors.max(1),
            descendants: limits.descendants.max(1),
        };
    }

    /// Sets the staking state after the tip, `next_height` being the height
    /// of the next block, and re-checks the pool against it: transactions
    /// that no longer apply leave with their descendants, which are
    /// returned. Call it whenever the tip changes (block connected or
    /// disconnected, at start). Does nothing on chains without staking.
    pub fn set_staking_state(&mut self, state: StakingState, next_height: u64) -> Vec<Entry> {
        let Some(pool) = self.staking.as_mut() else {
            return Vec::new();
        };
        pool.base = state;
        pool.height = next_height;
        pool.dirty = true;
        pool.stale = false;
        self.refresh_staking()
    }

    /// Rebuilds the scratch staking state if a pool transaction left since
    /// it was built, dropping transactions that no longer apply (with their
    /// descendants) until the pool replays cleanly. Returns the dropped.
    fn refresh_staking(&mut self) -> Vec<Entry> {
        let mut dropped = Vec::new();
        loop {
            let Some(pool) = self.staking.as_mut() else {
                return dropped;
            };
            if !pool.dirty || pool.stale {
                return dropped;
            }
            let mut order: Vec<&Entry> = self.entries.values().collect();
            order.sort_by_key(|e| e.sequence);
            let failed = pool.replay(order.into_iter().map(|e| (&*e.tx, &e.txid)), &self.spec);
            if failed.is_empty() {
                return dropped;
            }
            for t in failed {
                dropped.extend(self.remove_with_descendants(&t));
            }
        }
    }

    /// Tier 2 without signatures against the chain (`chain`, next block at
    /// `height`) and the pool. Needs only shared access.
    pub fn check(
        &self,
        c: &Candidate,
        chain: &impl UtxoView,
        height: u64,
    ) -> Result<InputCheck, MempoolError> {
        if self.entries.contains_key(&c.txid) {
            return Err(MempoolError::AlreadyKnown(c.txid));
        }
        for input in &c.tx.inputs {
            if let Some(by) = self.spends.get(input) {
                return Err(MempoolError::Conflict {
                    input: *input,
                    by: *by,
                });
            }
        }
        self.check_authority_conflict(&c.tx)?;
        let view = PoolView {
            pool: self,
            chain,
            height,
        };
        let inputs = check_tx_inputs(&c.tx, c.size, &view, height, &self.spec)?;
        // A fee that with the block's subsidy passes the largest amount:
        // no block can carry it (its coinbase allowance overflows), so it
        // would wait in the pool for ever.
        if self.spec.subsidy(height).checked_add(inputs.fee).is_err() {
            return Err(MempoolError::Invalid(TxError::OutputOverflow));
        }
        // Before any signature is verified, and under the shared lock: a
        // refused chain costs little to send again.
        self.check_chain_limits(&c.tx)?;
        Ok(inputs)
    }

    /// An authority change of a key another pool transaction changes is
    /// refused as the chain refuses it once the first is in a block
    /// (`authority-already-pending`): no block could carry both, so the
    /// second would only wait and expire. Re-run at insertion under the
    /// exclusive lock, so two such changes never both enter. Authority
    /// changes are rare: a scan of the pool costs nothing worth an index.
    fn check_authority_conflict(&self, tx: &Transaction) -> Result<(), MempoolError> {
        let Some(change) = tx.authority_change() else {
            return Ok(());
        };
        let key = &change.public_key;
        let pending = self.entries.values().any(|e| {
            e.tx.authority_change()
                .is_some_and(|other| other.public_key == *key)
        });
        if pending {
            return Err(MempoolError::Invalid(TxError::Authority(
                AuthorityError::AlreadyPending(key.key_hash()),
            )));
        }
        Ok(())
    }

    /// [`Mempool::check`] again (the pool or chain may have changed since),
    /// the signatures if the cache does not know them (callers verify
    /// first; this keeps admission safe if one does not), and the fee rate
    /// the pool orders `c` by. An authority change pays no fee and goes
    /// first: it is rare, small and bounded by the authorities who sign it,
    /// and a chain whose validators must change should not wait behind
    /// fee-paying load.
    fn checked_rate(
        &self,
        c: &Candidate,
        chain: &impl UtxoView,
        height: u64,
    ) -> Result<(InputCheck, u64), MempoolError> {
        let check = self.check(c, chain, height)?;
        if !self.cache.contains(&c.wtxid) {
            c.verify(&check, &self.cache, &self.genesis)?;
        }
        let rate = if c.tx.authority_change().is_some() {
            u64::MAX
        } else {
            fee_rate(check.fee, c.size)
        };
        Ok((check, rate))
    }

    /// Adds a candidate whose signatures verified, re-checking its inputs
    /// (the pool or chain may have changed since [`Mempool::check`]), for
    /// the block at `height`; its entry records no time.
    pub fn insert(
        &mut self,
        c: Candidate,
        chain: &impl UtxoView,
        height: u64,
    ) -> Result<(), MempoolError> {
        self.insert_at(c, chain, height, 0)
    }

    /// [`Mempool::insert`], the entry recording `time` (Unix seconds) as
    /// when it entered the pool. The pool keeps no clock of its own.
    pub fn insert_at(
        &mut self,
        c: Candidate,
        chain: &impl UtxoView,
        height: u64,
        time: u64,
    ) -> Result<(), MempoolError> {
        let (check, rate) = self.checked_rate(&c, chain, height)?;
        // What leaves to make room is decided before anything changes: a
        // newcomer refused as `Full` evicts nothing.
        let evict = self.eviction_for(&c, rate)?;
        self.refresh_staking();
        if let Some(pool) = self.staking.as_mut() {
            if StakingPool::concerns(&c.tx, &self.spec) {
                pool.admit(&c.tx, &c.txid, &self.spec)
                    .map_err(|e| MempoolError::Invalid(TxError::Staking(e)))?;
            }
        }
        for input in &c.tx.inputs {
            self.spends.insert(*input, c.txid);
            let of = self.spenders.entry(input.txid).or_default();
            if !of.contains(&c.txid) {
                of.push(c.txid);
            }
        }
        self.sequence += 1;
        self.by_fee
            .insert((rate, std::cmp::Reverse(self.sequence), c.txid));
        self.bytes += c.size;
        let c_txid = c.txid;
        self.entries.insert(
            c.txid,
            Entry {
                tx: c.tx,
                txid: c.txid,
                wtxid: c.wtxid,
                size: c.size,
                fee: check.fee,
                fee_rate: rate,
                sequence: self.sequence,
                time,
                height: height.saturating_sub(1),
            },
        );
        if self.spenders.contains_key(&c_txid) {
            self.trim_below(&c_txid);
        }
        for txid in evict {
            self.remove_with_descendants(&txid);
        }
        Ok(())
    }

    /// Whether [`Mempool::insert`] would admit `c` now, changing nothing
    /// the pool holds (Bitcoin Core's `testmempoolaccept`): the same checks
    /// against the chain and the pool, its signatures (unless verified
    /// before), room in the pool and, where the staking state has a say,
    /// that state. Returns the fee it pays.
    pub fn test_accept(
        &mut self,
        c: &Candidate,
        chain: &impl UtxoView,
        height: u64,
    ) -> Result<Amount, MempoolError> {
        let (check, rate) = self.checked_rate(c, chain, height)?;
        self.eviction_for(c, rate)?;
        if let Some(pool) = self.staking.as_mut() {
            if StakingPool::concerns(&c.tx, &self.spec) {
                let mut order: Vec<&Entry> = self.entries.values().collect();
                order.sort_by_key(|e| e.sequence);
                pool.would_admit(
                    &c.tx,
                    &c.txid,
                    &self.spec,
                    order.into_iter().map(|e| (&*e.tx, &e.txid)),
                )
                .map_err(|e| MempoolError::Invalid(TxError::Staking(e)))?;
            }
        }
        Ok(check.fee)
    }

    /// All admission steps in one call: tier 1, tier 2, signatures, insert.
    pub fn accept(
        &mut self,
        tx: Transaction,
        chain: &impl UtxoView,
        height: u64,
    ) -> Result<Hash, MempoolError> {
        let c = Candidate::new(tx, &self.spec)?;
        let check = self.check(&c, chain, height)?;
        c.verify(&check, &self.cache, &self.genesis)?;
        let txid = c.txid;
        self.insert(c, chain, height)?;
        Ok(txid)
    }

    fn remove_entry(&mut self, txid: &Hash) -> Option<Entry> {
        let e = self.entries.remove(txid)?;
        if let Some(pool) = self.staking.as_mut() {
            // Later pool transactions may have depended on this one's
            // staking effects: rebuild before the scratch state is used.
            if StakingPool::concerns(&e.tx, &self.spec) {
                pool.dirty = true;
            }
        }
        self.by_fee
            .remove(&(e.fee_rate, std::cmp::Reverse(e.sequence), e.txid));
        for input in &e.tx.inputs {
            if self.spends.get(input) == Some(txid) {
                self.spends.remove(input);
            }
            if let Some(of) = self.spenders.get_mut(&input.txid) {
                of.retain(|t| t != txid);
                if of.is_empty() {
                    self.spenders.remove(&input.txid);
                }
            }
        }
        self.bytes -= e.size;
        Some(e)
    }

    /// Rebuilds the fee order, the spend index and the byte count from the
    /// pool's entries, and has the staking view rebuilt: after a panic
    /// that may have struck half-way through a change (ADR 0048), so that
    /// no index names a transaction the pool does not hold — a leftover
    /// spend would refuse every later spender of that coin as a conflict,
    /// a leftover place in the fee order would make [`Mempool::entries`]
    /// fail. Returns whether anything was out of step.
    pub fn repair_indexes(&mut self) -> bool {
        let by_fee: BTreeSet<_> = self
            .entries
            .values()
            .map(|e| (e.fee_rate, std::cmp::Reverse(e.sequence), e.txid))
            .collect();
        let spends: HashMap<OutPoint, Hash> = self
            .entries
            .values()
            .flat_map(|e| e.tx.inputs.iter().map(move |i| (*i, e.txid)))
            .collect();
        let mut spenders: HashMap<Hash, Vec<Hash>> = HashMap::new();
        for (input, txid) in &spends {
            let of = spenders.entry(input.txid).or_default();
            if !of.contains(txid) {
                of.push(*txid);
            }
        }
        let same_spenders = spenders.len() == self.spenders.len()
            && spenders.iter().all(|(k, v)| {
                self.spenders
                    .get(k)
                    .is_some_and(|w| w.len() == v.len() && v.iter().all(|t| w.contains(t)))
            });
        let bytes = self.entries.values().map(|e| e.size).sum();
        let repaired =
            by_fee != self.by_fee || spends != self.spends || !same_spenders || bytes != self.bytes;
        self.by_fee = by_fee;
        self.spends = spends;
        self.spenders = spenders;
        self.bytes = bytes;
        if let Some(pool) = self.staking.as_mut() {
            pool.dirty = true;
        }
        repaired
    }

    /// Removes a transaction and everything spending its outputs.
    pub fn remove_with_descendants(&mut self, txid: &Hash) -> Vec<Entry> {
        let mut gone: Vec<Entry> = self
            .with_descendants(txid)
            .into_iter()
            .filter_map(|t| self.remove_entry(&t))
            .collect();
        // In admission order (the walk's order is not).
        gone.sort_unstable_by_key(|e| e.sequence);
        gone
    }

    /// Updates the pool for a block connected at `height`: drops its
    /// transactions, anything conflicting with them (and descendants), and
    /// transactions that expire before the next height. On staking chains
    /// the block is applied to the staking state after the tip (a caller
    /// keeping the chain's own state sets it with
    /// [`Mempool::set_staking_state`] after this) and pool transactions
    /// that no longer apply leave.
    pub fn block_connected(&mut self, txs: &[Transaction], height: u64) {
        if let Some(pool) = self.staking.as_mut() {
            if pool.stale || pool.height != height {
                // Not on the base (a reorganisation): wait for
                // set_staking_state rather than guess.
                pool.stale = true;
            } else {
                let txids: Vec<Hash> = txs.iter().map(|t| t.txid()).collect();
                let block_txs = txs.iter().zip(&txids);
                if staking::apply_block_txs(&mut pool.base, block_txs, height, &self.spec).is_err()
                {
                    pool.stale = true;
                }
            }
            pool.height = height + 1;
            pool.dirty = true;
        }
        for tx in txs {
            let txid = tx.txid();
            if self.remove_entry(&txid).is_none() {
                for input in &tx.inputs {
                    if let Some(other) = self.spends.get(input).copied() {
                        self.remove_with_descendants(&other);
                    }
                }
            }
        }
        let expired: Vec<Hash> = self
            .entries
            .values()
            .filter(|e| e.tx.expiry_height != 0 && e.tx.expiry_height <= height)
            .map(|e| e.txid)
            .collect();
        for t in expired {
            self.remove_with_descendants(&t);
        }
        self.refresh_staking();
    }

    /// Transactions for a block of at most `max_bytes`, highest fee rate
    /// first, every parent before its children.
    pub fn select(&self, max_bytes: usize) -> Vec<Entry> {
        let mut included: HashSet<Hash> = HashSet::new();
        let mut out = Vec::new();
        let mut used = 0usize;
        let mut pending: Vec<&Entry> = self
            .by_fee
            .iter()
            .rev()
            .map(|(_, _, t)| &self.entries[t])
            .collect();
        loop {
            let mut progress = false;
            let mut deferred = Vec::new();
            for e in pending {
                if used + e.size > max_bytes {
                    continue;
                }
                let ready =
                    e.tx.inputs
                        .iter()
                        .all(|i| !self.entries.contains_key(&i.txid) || included.contains(&i.txid));
                if ready {
                    used += e.size;
                    included.insert(e.txid);
                    out.push(e.clone());
                    progress = true;
                } else {
                    deferred.push(e);
                }
            }
            if !progress || deferred.is_empty() {
                break;
            }
            pending = deferred;
        }
        out
    }

    /// The transactions of a new block at `height`: a coinbase paying the
    /// subsidy plus fees to `reward` (with `coinbase_extra` in its data,
    /// see [`ChainSpec::coinbase`]) followed by the best transactions that
    /// fit the block with room for a header and the coinbase. Returns them
    /// with the fees they pay.
    pub fn block_payload(
        &self,
        height: u64,
        reward: Lock,
        coinbase_extra: &[u8],
    ) -> Result<(Vec<Transaction>, Amount), BlockError> {
        self.block_payload_with_ids(height, reward, coinbase_extra)
            .map(|p| (p.txs, p.fees))
    }

    /// [`Mempool::block_payload`] with the transactions' ids, which the
    /// pool already holds: a template's Merkle root, witness commitment and
    /// compact announcement need them, and each wtxid hashes a whole
    /// transaction with its signatures.
    pub fn block_payload_with_ids(
        &self,
        height: u64,
        reward: Lock,
        coinbase_extra: &[u8],
    ) -> Result<BlockPayload, BlockError> {
        let coinbase_error = || BlockError::Tx {
            index: 0,
            txid: Hash::ZERO,
            error: TxError::Coinbase,
        };
        // Room for the header and a coinbase.
        let budget = self.spec.max_block_bytes.saturating_sub(4096);
        let mut entries = self.select(budget);
        if let Some(pool) = &self.staking {
            let selected: Vec<(&Transaction, Hash)> =
                entries.iter().map(|e| (&*e.tx, e.txid)).collect();
            let keep = pool.filter_for_block(&selected, |t| self.contains(t), height, &self.spec);
            let mut kept = Vec::with_capacity(keep.len());
            for i in keep {
                kept.push(entries[i].clone());
            }
            entries = kept;
        }
        // The fees with the subsidy stay within the largest amount (a block
        // whose coinbase allowance overflows is invalid): a transaction that
        // would pass it waits for a later block, and its descendants with it.
        let subsidy = self.spec.subsidy(height);
        let mut fees = Amount::ZERO;
        let mut left_out: HashSet<Hash> = HashSet::new();
        entries.retain(|e| {
            let total = fees.checked_add(e.fee).ok();
            let fits = total.is_some_and(|t| subsidy.checked_add(t).is_ok());
            if !fits || e.tx.inputs.iter().any(|i| left_out.contains(&i.txid)) {
                left_out.insert(e.txid);
                return false;
            }
            fees = total.unwrap_or(fees);
            true
        });
        // Subsidy plus fees, or nothing where the staking state collects
        // them for the epoch's rewards (ADR 0038).
        let reward_amount = self
            .spec
            .coinbase_allowance(height, fees)
            .unwrap_or(Amount::MAX);
        let outputs = if reward_amount > Amount::ZERO {
            vec![TxOut {
                amount: reward_amount,
                lock: reward,
            }]
        } else {
            vec![]
        };
        let others: Vec<Transaction> = entries.iter().map(|e| (*e.tx).clone()).collect();
        let others_wtxids: Vec<Hash> = entries.iter().map(|e| e.wtxid).collect();
        // The extra bytes come from the node (an extranonce, a configured
        // pool tag checked at start): too many is a bug, reported as a bad
        // coinbase.
        let coinbase = self
            .spec
            .coinbase_with_wtxids(height, outputs, coinbase_extra, &others_wtxids)
            .map_err(|_| coinbase_error())?;
        let mut txids = Vec::with_capacity(others.len() + 1);
        txids.push(coinbase.txid());
        txids.extend(entries.iter().map(|e| e.txid));
        let mut wtxids = Vec::with_capacity(others.len() + 1);
        wtxids.push(coinbase.wtxid());
        wtxids.extend(others_wtxids);
        let mut txs = Vec::with_capacity(others.len() + 1);
        txs.push(coinbase);
        txs.extend(others);
        Ok(BlockPayload {
            txs,
            fees,
            txids,
            wtxids,
        })
    }

    /// A transaction in the pool.
    pub fn get(&self, txid: &Hash) -> Option<&Entry> {
        self.entries.get(txid)
    }

    /// Whether the pool holds `txid`.
    pub fn contains(&self, txid: &Hash) -> bool {
        self.entries.contains_key(txid)
    }

    /// Which pool transaction spends `op`, if any.
    pub fn spender(&self, op: &OutPoint) -> Option<Hash> {
        self.spends.get(op).copied()
    }

    /// Whether a payment to `lock` can be admitted as far as accounts go:
    /// always, unless the spec requires account creation; then if the
    /// staking state after the tip has the account or a pool transaction
    /// creates it (a payment may follow its creation into the pool).
    pub fn can_receive(&self, lock: &Lock) -> bool {
        if !self.spec.requires_account_creation() {
            return true;
        }
        let Some(pool) = &self.staking else {
            return true;
        };
        pool.base.is_account(lock)
            || self.entries.values().any(|e| {
                matches!(&e.tx.kind, luminex_primitives::TxKind::CreateAccount(c) if c.lock == *lock)
            })
    }

    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the pool is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Total encoded bytes.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The size cap.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    /// The fee rate (base units per 1,000 bytes) a transaction of `size`
    /// bytes must be above to enter now: the lowest the pool holds when it
    /// would not fit without displacing something, else `None`.
    pub fn admission_floor(&self, size: usize) -> Option<u64> {
        if self.bytes + size <= self.max_bytes {
            return None;
        }
        self.by_fee.first().map(|(rate, _, _)| *rate)
    }

    /// Every entry, highest fee rate first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.by_fee.iter().rev().map(|(_, _, t)| &self.entries[t])
    }

    /// How many pool transactions pay to `lock` (spent by another pool
    /// transaction or not): whether an address has pending activity.
    pub fn txs_paying_to(&self, lock: &luminex_primitives::Lock) -> usize {
        self.entries
            .values()
            .filter(|e| e.tx.outputs.iter().any(|o| o.lock == *lock))
            .count()
    }

    /// The outputs of pool transactions paying to `lock` that no pool
    /// transaction spends.
    pub fn unspent_outputs_to(&self, lock: &luminex_primitives::Lock) -> Vec<(OutPoint, Amount)> {
        let mut v = Vec::new();
        for e in self.entries.values() {
            for (vout, o) in e.tx.outputs.iter().enumerate() {
                let op = OutPoint {
                    txid: e.txid,
                    vout: vout as u32,
                };
                if o.lock == *lock && !self.spends.contains_key(&op) {
                    v.push((op, o.amount));
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn rejections_name_outputs_and_fee_rates_as_the_api_does() {
        let input = OutPoint {
            txid: Hash([0xab; 32]),
            vout: 3,
        };
        let by = Hash([0xcd; 32]);
        let e = MempoolError::Conflict { input, by }.to_string();
        assert!(e.contains(&format!("input {}:3 ", Hash([0xab; 32]))), "{e}");
        let full = MempoolError::Full {
            fee_rate: 1_000,
            lowest: 1_500,
        };
        assert_eq!(
            full.to_string(),
            "mempool is full; a fee rate of 1 base units per byte is not above the lowest it would displace, 1.5"
        );
        assert_eq!(per_byte(1), "0.001");
    }

    use super::*;
    use luminex_crypto::SigningKey;
    use luminex_ledger::testkit::{lock_of, sign_all, TestChain};
    use luminex_primitives::{SchemeId, TxKind};

    /// What a panic half-way through an insert could leave: a spend, a
    /// place in the fee order and bytes of a transaction the pool does not
    /// hold. The repair removes them and keeps what the pool does hold.
    #[test]
    fn repairing_the_indexes_drops_what_a_half_insert_left() {
        let mut chain = TestChain::dev();
        let key = SigningKey::from_seed(SchemeId::MlDsa44, &[7; 32]);
        chain.fan_out(0, std::slice::from_ref(&key), 2, 10_000_000);
        let coins = chain.coins_of(&lock_of(&key));
        let mut pool = Mempool::new(chain.spec.clone(), SigCache::new(100), 10_000_000);
        let pay = |coin: (OutPoint, Coin)| {
            let mut tx = Transaction {
                version: 1,
                chain_id: chain.spec.chain_id,
                kind: TxKind::Transfer,
                inputs: vec![coin.0],
                outputs: vec![luminex_primitives::TxOut {
                    amount: Amount::from_base(coin.1.output.amount.base() - 10_000).unwrap(),
                    lock: lock_of(&key),
                }],
                expiry_height: 0,
                witnesses: vec![],
                data: Vec::new(),
            };
            sign_all(&chain.spec, &mut tx, &key, &[coin.1.output]);
            tx
        };
        let height = chain.height() + 1;
        let held = pool.accept(pay(coins[0]), &chain.utxos, height).unwrap();
        assert!(!pool.repair_indexes(), "nothing to repair in a sound pool");

        let ghost = Hash([9; 32]);
        pool.spends.insert(coins[1].0, ghost);
        pool.by_fee.insert((1, std::cmp::Reverse(99), ghost));
        pool.bytes += 1234;
        assert!(pool.repair_indexes());
        assert_eq!(pool.spender(&coins[1].0), None);
        assert_eq!(pool.spender(&coins[0].0), Some(held));
        assert_eq!(
            pool.entries().map(|e| e.txid).collect::<Vec<_>>(),
            vec![held]
        );
        assert_eq!(pool.bytes(), pool.get(&held).unwrap().size);
        // The coin the ghost claimed can be spent again.
        pool.accept(pay(coins[1]), &chain.utxos, height).unwrap();
        assert_eq!(pool.len(), 2);
    }
}
