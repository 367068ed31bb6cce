//! The chain on top of a [`KvStore`]: accept blocks, keep side branches and
//! orphans, follow the branch with the most work (reorganising block by
//! block, each step one atomic synced batch), and read blocks, transactions
//! and address data.

use std::collections::HashMap;
use std::sync::Arc;

use luminex_ledger::{
    check_block, connect_block, connect_checked, connect_genesis, disconnect_block, BlockContext,
    BlockError, BlockIds, ChainSpec, CheckedBlock, Coin, Connected, HeaderChain, HeaderRules,
    Parent, SigCache, UtxoChanges, U256,
};
use luminex_primitives::codec::put_length;
use luminex_primitives::{Amount, Block, Encode, Hash, Header, Lock, OutPoint, Transaction, TxOut};
use parking_lot::{Mutex, RwLock};
use rayon::prelude::*;

use crate::kv::{Batch, KvExt, KvStore, StoreError};
use crate::tables::*;

/// A chain-level failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The storage engine failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The block is invalid.
    #[error("invalid block: {0}")]
    Invalid(#[from] BlockError),
    /// The database belongs to another chain.
    #[error("database genesis {found} does not match the chain spec's genesis {expected}")]
    GenesisMismatch {
        /// From the spec.
        expected: Hash,
        /// On disk.
        found: Hash,
    },
    /// The genesis block cannot be disconnected.
    #[error("cannot disconnect the genesis block")]
    Genesis,
    /// A better branch forks deeper than the spec allows; it is ignored.
    #[error("refusing a reorganisation {depth} blocks deep (the limit is {max})")]
    ReorgTooDeep {
        /// Blocks that would be disconnected.
        depth: u64,
        /// The spec's `max_reorg_depth`.
        max: u64,
    },
    /// Stored data contradicts itself.
    #[error("database is inconsistent: {0}")]
    Inconsistent(String),
}

/// The main-chain tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// Block hash.
    pub hash: Hash,
    /// Height.
    pub height: u64,
    /// Header.
    pub header: Header,
    /// Cumulative work.
    pub chain_work: U256,
}

/// What [`ChainStore::accept_block`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcceptStatus {
    /// Already known.
    Duplicate,
    /// Parent unknown: kept in the orphan pool until it arrives.
    Orphan,
    /// Valid so far and stored on a side branch with less work.
    SideBranch,
    /// The main chain changed (extended or reorganised).
    MainChain,
}

/// The outcome of accepting a block, with every main-chain change it caused
/// (orphans it unlocked included), for the mempool to follow.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// What happened to the submitted block.
    pub status: AcceptStatus,
    /// Blocks connected to the main chain, in order (shared, not copied:
    /// a block of 1,000 transfers is megabytes).
    pub connected: Vec<Arc<Block>>,
    /// Blocks disconnected from the main chain, newest first.
    pub disconnected: Vec<Arc<Block>>,
    /// Signatures verified while connecting (cache hits excluded).
    pub verified_signatures: usize,
}

/// A block on its way to [`ChainStore`] through an import pipeline (sync,
/// relay, a block file), made by [`crate::Preverifier::prepare`] on another
/// thread while earlier blocks are connected.
#[derive(Debug, Clone)]
pub enum PreparedBlock {
    /// Its context-free checks passed (and its signatures were checked
    /// ahead): they are not repeated.
    Checked(CheckedBlock),
    /// Its context-free checks failed: accepting it runs them again, which
    /// reports and records the failure as for any block.
    Unchecked(Arc<Block>),
}

impl PreparedBlock {
    /// The block.
    pub fn block(&self) -> &Arc<Block> {
        match self {
            PreparedBlock::Checked(c) => c.block(),
            PreparedBlock::Unchecked(b) => b,
        }
    }

    fn incoming(&self) -> Incoming<'_> {
        match self {
            PreparedBlock::Checked(c) => Incoming::Checked(c),
            PreparedBlock::Unchecked(b) => Incoming::Shared(b),
        }
    }
}

/// A block handed to [`ChainStore`]: borrowed as it came, shared, or with
/// its context-free checks done (its ids are then not computed again).
#[derive(Clone, Copy)]
enum Incoming<'a> {
    Plain(&'a Block),
    Shared(&'a Arc<Block>),
    Checked(&'a CheckedBlock),
}

impl Incoming<'_> {
    fn block(&self) -> &Block {
        match self {
            Incoming::Plain(b) => b,
            Incoming::Shared(b) => b,
            Incoming::Checked(c) => c.block(),
        }
    }

    /// The block as a shared value; a borrowed block is copied, once, when
    /// it is connected or kept as an orphan.
    fn shared(&self) -> Arc<Block> {
        match self {
            Incoming::Plain(b) => Arc::new((*b).clone()),
            Incoming::Shared(b) => Arc::clone(b),
            Incoming::Checked(c) => c.block().clone(),
        }
    }

    /// The context-free checks: run now for a plain block, already done for
    /// a checked one.
    fn ids(&self, spec: &ChainSpec) -> Result<std::borrow::Cow<'_, BlockIds>, BlockError> {
        match self {
            Incoming::Checked(c) => Ok(std::borrow::Cow::Borrowed(c.ids())),
            other => check_block(other.block(), spec).map(std::borrow::Cow::Owned),
        }
    }
}

/// A main-chain transaction with its location.
#[derive(Debug, Clone)]
pub struct StoredTx {
    /// The transaction.
    pub tx: Transaction,
    /// Where it is.
    pub location: TxLocation,
}

/// One entry of an address's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressTx {
    /// The transaction.
    pub txid: Hash,
    /// Its block height.
    pub height: u64,
    /// Paid to the address.
    pub received: Amount,
    /// Spent from the address.
    pub sent: Amount,
}

/// Result of [`ChainStore::check_consistency`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsistencyReport {
    /// Tip height checked.
    pub height: u64,
    /// Coins in the UTXO set.
    pub utxos: usize,
}

/// Most blocks kept waiting for their parent.
const MAX_ORPHANS: usize = 256;

/// Every known header, and the main chain by height.
#[derive(Default)]
struct Index {
    headers: HashMap<Hash, HeaderRecord>,
    main: Vec<Hash>,
}

impl Index {
    fn on_main(&self, hash: &Hash, height: u64) -> bool {
        self.main.get(height as usize) == Some(hash)
    }
}

impl HeaderChain for Index {
    fn ancestor(&self, tip: &Hash, height: u64) -> Option<Header> {
        let mut cur = *tip;
        loop {
            let rec = self.headers.get(&cur)?;
            if rec.height < height {
                return None;
            }
            if self.on_main(&cur, rec.height) {
                return self
                    .headers
                    .get(self.main.get(height as usize)?)
                    .map(|r| r.header);
            }
            if rec.height == height {
                return Some(rec.header);
            }
            cur = rec.header.prev_hash;
        }
    }
}

/// The chain state.
pub struct ChainStore {
    kv: Arc<dyn KvStore>,
    spec: ChainSpec,
    rules: Arc<dyn HeaderRules>,
    index: RwLock<Index>,
    tip: RwLock<Tip>,
    orphans: Mutex<Vec<Arc<Block>>>,
    /// Serialises writers; readers never wait for it.
    write: Mutex<()>,
}

impl ChainStore {
    /// Opens the chain in `kv`, writing the genesis block of `spec` if the
    /// store is empty, loading the header index, and moving to the best
    /// valid branch if a reorganisation was interrupted.
    pub fn open(
        kv: Arc<dyn KvStore>,
        spec: ChainSpec,
        rules: Arc<dyn HeaderRules>,
    ) -> Result<ChainStore, ChainError> {
        let genesis = spec.genesis_block();
        let gh = genesis.hash();
        let tip = match kv.get(META_TIP, &TIP_KEY.to_string())? {
            None => {
                let c = connect_genesis(&genesis);
                let batch = connect_batch(&genesis, 0, U256::ZERO, &c, &HashMap::new());
                kv.commit(batch)?;
                tracing::info!(genesis = %gh, chain = %spec.name, "initialised new chain database");
                TipRecord {
                    hash: gh,
                    height: 0,
                }
            }
            Some(t) => {
                let found = kv.get(HEIGHTS, &0)?.unwrap_or(Hash::ZERO);
                if found != gh {
                    return Err(ChainError::GenesisMismatch {
                        expected: gh,
                        found,
                    });
                }
                t
            }
        };
        let mut index = Index::default();
        for (hash, rec) in kv.scan(HEADERS, &[], None, false, usize::MAX)? {
            index.headers.insert(hash, rec);
        }
        for (h, hash) in kv.scan(HEIGHTS, &[], None, false, usize::MAX)? {
            if h != index.main.len() as u64 {
                return Err(ChainError::Inconsistent(format!(
                    "height index has a gap at {h}"
                )));
            }
            index.main.push(hash);
        }
        if index.main.len() as u64 != tip.height + 1 || index.main.last() != Some(&tip.hash) {
            return Err(ChainError::Inconsistent(
                "height index does not end at the tip".into(),
            ));
        }
        let rec = *index
            .headers
            .get(&tip.hash)
            .ok_or_else(|| ChainError::Inconsistent(format!("tip {} has no header", tip.hash)))?;
        let store = ChainStore {
            kv,
            spec,
            rules,
            index: RwLock::new(index),
            tip: RwLock::new(Tip {
                hash: tip.hash,
                height: tip.height,
                header: rec.header,
                chain_work: rec.chain_work,
            }),
            orphans: Mutex::new(Vec::new()),
            write: Mutex::new(()),
        };
        {
            let _w = store.write.lock();
            let mut acc = Accepted {
                status: AcceptStatus::MainChain,
                connected: vec![],
                disconnected: vec![],
                verified_signatures: 0,
            };
            if let Err(e) = store.activate_best_chain(&SigCache::new(1), &mut acc) {
                tracing::warn!(error = %e, "could not move to the best stored branch");
            }
        }
        Ok(store)
    }

    /// The chain spec.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// The header rules.
    pub fn rules(&self) -> &Arc<dyn HeaderRules> {
        &self.rules
    }

    /// The current tip.
    pub fn tip(&self) -> Tip {
        *self.tip.read()
    }

    /// Bytes on disk.
    pub fn disk_space(&self) -> u64 {
        self.kv.disk_space()
    }

    /// Runs `f` with the header index as a [`HeaderChain`] (for header rules
    /// such as the next required `bits` or the median time past).
    pub fn with_headers<T>(&self, f: impl FnOnce(&dyn HeaderChain) -> T) -> T {
        f(&*self.index.read())
    }

    /// The parent description of the current tip, for header rules.
    pub fn tip_parent(&self) -> Parent {
        let t = self.tip();
        Parent {
            hash: t.hash,
            height: t.height,
            header: t.header,
        }
    }

    /// The unspent coin at `op`.
    pub fn coin(&self, op: &OutPoint) -> Result<Option<Coin>, StoreError> {
        self.kv.get(UTXOS, op)
    }

    /// The unspent coins among `ops` (missing ones are left out).
    pub fn load_coins<'a>(
        &self,
        ops: impl IntoIterator<Item = &'a OutPoint>,
    ) -> Result<HashMap<OutPoint, Coin>, StoreError> {
        let ops: Vec<&OutPoint> = ops.into_iter().collect();
        let found: Result<Vec<Option<Coin>>, StoreError> =
            ops.par_iter().map(|op| self.coin(op)).collect();
        Ok(ops
            .into_iter()
            .zip(found?)
            .filter_map(|(op, c)| c.map(|c| (*op, c)))
            .collect())
    }

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

    fn connect_incoming(
        &self,
        block: Incoming<'_>,
        now: u64,
        cache: &SigCache,
    ) -> Result<(), ChainError> {
        if block.block().header.prev_hash != self.tip().hash {
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

    fn accept_incoming(
        &self,
        block: Incoming<'_>,
        now: u64,
        cache: &SigCache,
    ) -> Result<Accepted, ChainError> {
        let _w = self.write.lock();
        let mut acc = Accepted {
            status: AcceptStatus::Duplicate,
            connected: vec![],
            disconnected: vec![],
            verified_signatures: 0,
        };
        acc.status = self.accept_one(block, now, cache, &mut acc)?;
        // Orphans whose parent is now known.
        if matches!(
            acc.status,
            AcceptStatus::SideBranch | AcceptStatus::MainChain
        ) {
            let mut parents = vec![block.block().hash()];
            while let Some(parent) = parents.pop() {
                let children: Vec<Arc<Block>> = {
                    let mut o = self.orphans.lock();
                    let (c, rest): (Vec<_>, Vec<_>) =
                        o.drain(..).partition(|b| b.header.prev_hash == parent);
                    *o = rest;
                    c
                };
                for child in children {
                    match self.accept_one(Incoming::Shared(&child), now, cache, &mut acc) {
                        Ok(_) => parents.push(child.hash()),
                        Err(e) => {
                            tracing::info!(block = %child.hash(), error = %e, "orphan rejected")
                        }
                    }
                }
            }
        }
        Ok(acc)
    }

    fn accept_one(
        &self,
        incoming: Incoming<'_>,
        now: u64,
        cache: &SigCache,
        acc: &mut Accepted,
    ) -> Result<AcceptStatus, ChainError> {
        let block = incoming.block();
        let hash = block.hash();
        let parent = {
            let index = self.index.read();
            if let Some(rec) = index.headers.get(&hash) {
                if rec.invalid {
                    return Err(BlockError::KnownInvalid.into());
                }
                // Stored but off the main chain (it was disconnected) and
                // now extending the tip: connect it again.
                let rec = *rec;
                if index.on_main(&hash, rec.height) || block.header.prev_hash != self.tip().hash {
                    return Ok(AcceptStatus::Duplicate);
                }
                drop(index);
                acc.verified_signatures += self.connect_tip(incoming, rec, cache)?;
                acc.connected.push(incoming.shared());
                return Ok(AcceptStatus::MainChain);
            }
            match index.headers.get(&block.header.prev_hash) {
                None => None,
                Some(p) if p.invalid => return Err(BlockError::KnownInvalid.into()),
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
        let work = self.rules.header_work(&block.header)?;
        let p = Parent {
            hash: block.header.prev_hash,
            height: parent.height,
            header: parent.header,
        };
        self.rules
            .check_header(&block.header, &p, &*self.index.read(), now)?;
        let record = HeaderRecord {
            header: block.header,
            height: parent.height + 1,
            chain_work: parent.chain_work.saturating_add(work),
            invalid: false,
        };
        let tip = self.tip();
        if block.header.prev_hash == tip.hash {
            match self.connect_tip(incoming, record, cache) {
                Ok(n) => {
                    acc.verified_signatures += n;
                    acc.connected.push(incoming.shared());
                    return Ok(AcceptStatus::MainChain);
                }
                Err(ChainError::Invalid(e)) => {
                    self.mark_invalid(&hash, record)?;
                    return Err(e.into());
                }
                Err(e) => return Err(e),
            }
        }
        // A side branch. One forking deeper than the reorg limit can never
        // become main: do not store it (this bounds side branches on disk).
        let fork_height = {
            let index = self.index.read();
            let mut cur = (block.header.prev_hash, parent.height);
            while !index.on_main(&cur.0, cur.1) {
                let Some(r) = index.headers.get(&cur.0) else {
                    break;
                };
                cur = (r.header.prev_hash, r.height.saturating_sub(1));
            }
            cur.1
        };
        let depth = tip.height.saturating_sub(fork_height);
        if depth > self.spec.max_reorg_depth {
            return Err(ChainError::ReorgTooDeep {
                depth,
                max: self.spec.max_reorg_depth,
            });
        }
        // Check what needs no UTXO set, then store it.
        let ids = incoming.ids(&self.spec)?;
        let mut b = Batch::new();
        b.put(HEADERS, &hash, &record);
        store_body(&mut b, block, &hash, &ids.wtxids);
        self.kv.commit(b)?;
        self.index.write().headers.insert(hash, record);
        if record.chain_work > tip.chain_work {
            let before = acc.connected.len();
            self.activate_best_chain(cache, acc)?;
            if acc.connected.len() > before && self.tip().hash == hash {
                return Ok(AcceptStatus::MainChain);
            }
        }
        Ok(AcceptStatus::SideBranch)
    }

    /// Moves the main chain to the valid stored branch with the most work,
    /// if it has more than the tip.
    fn activate_best_chain(&self, cache: &SigCache, acc: &mut Accepted) -> Result<(), ChainError> {
        loop {
            let tip = self.tip();
            let best = {
                let index = self.index.read();
                index
                    .headers
                    .iter()
                    .filter(|(_, r)| !r.invalid && r.chain_work > tip.chain_work)
                    .max_by(|a, b| a.1.chain_work.cmp(&b.1.chain_work).then(b.0.cmp(a.0)))
                    .map(|(h, _)| *h)
            };
            let Some(best) = best else { return Ok(()) };
            match self.reorganize(best, cache, acc) {
                Ok(()) => return Ok(()),
                // A block of that branch was invalid: it is marked; try the next best.
                Err(ChainError::Invalid(e)) => {
                    tracing::warn!(error = %e, "best branch is invalid");
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Disconnects to the fork point with `target`'s branch and connects the
    /// branch, restoring the old chain if a block of it is invalid.
    fn reorganize(
        &self,
        target: Hash,
        cache: &SigCache,
        acc: &mut Accepted,
    ) -> Result<(), ChainError> {
        let (fork_height, branch) = {
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
                cur = rec.header.prev_hash;
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
        if depth > 0 {
            tracing::info!(depth, from = %tip.hash, to = %target, "reorganising");
        }
        let mut disconnected = Vec::new();
        while self.tip().height > fork_height {
            disconnected.push(self.disconnect_inner()?);
        }
        let mut connected: Vec<Arc<Block>> = Vec::new();
        for (hash, record) in branch.into_iter().rev() {
            let block = self
                .block(&hash)?
                .ok_or_else(|| ChainError::Inconsistent(format!("branch block {hash} missing")))?;
            match self.connect_tip(Incoming::Plain(&block), record, cache) {
                Ok(n) => {
                    acc.verified_signatures += n;
                    connected.push(Arc::new(block));
                }
                Err(ChainError::Invalid(e)) => {
                    self.mark_invalid(&hash, record)?;
                    // Back to the old chain, which was valid.
                    while self.tip().height > fork_height {
                        self.disconnect_inner()?;
                    }
                    for old in disconnected.iter().rev() {
                        let rec = self.header(&old.hash())?.ok_or_else(|| {
                            ChainError::Inconsistent("old tip header missing".into())
                        })?;
                        self.connect_tip(Incoming::Plain(old), rec, cache)?;
                    }
                    return Err(e.into());
                }
                Err(e) => return Err(e),
            }
        }
        acc.disconnected
            .extend(disconnected.into_iter().map(Arc::new));
        acc.connected.extend(connected);
        Ok(())
    }

    fn mark_invalid(&self, hash: &Hash, mut record: HeaderRecord) -> Result<(), ChainError> {
        record.invalid = true;
        let mut b = Batch::new();
        b.put(HEADERS, hash, &record);
        self.kv.commit(b)?;
        let mut index = self.index.write();
        index.headers.insert(*hash, record);
        // Descendants are invalid too.
        let mut frontier = vec![*hash];
        while let Some(h) = frontier.pop() {
            let children: Vec<Hash> = index
                .headers
                .iter()
                .filter(|(_, r)| r.header.prev_hash == h && !r.invalid)
                .map(|(c, _)| *c)
                .collect();
            for c in children {
                if let Some(r) = index.headers.get_mut(&c) {
                    r.invalid = true;
                }
                frontier.push(c);
            }
        }
        Ok(())
    }

    /// Validates `block` on the tip and commits it with its UTXO changes,
    /// undo data and indexes in one synced batch. Returns the number of
    /// signatures verified.
    fn connect_tip(
        &self,
        incoming: Incoming<'_>,
        record: HeaderRecord,
        cache: &SigCache,
    ) -> Result<usize, ChainError> {
        let block = incoming.block();
        let tip = self.tip();
        let coins = self.load_coins(block.txs.iter().skip(1).flat_map(|t| t.inputs.iter()))?;
        let ctx = BlockContext {
            height: tip.height + 1,
            prev_hash: tip.hash,
        };
        let connected = match incoming {
            Incoming::Checked(c) => connect_checked(c, &coins, &ctx, &self.spec, cache)?,
            other => connect_block(other.block(), &coins, &ctx, &self.spec, cache)?,
        };
        let hash = block.hash();
        let batch = connect_batch(block, ctx.height, record.chain_work, &connected, &coins);
        self.kv.commit(batch)?;
        {
            let mut index = self.index.write();
            index.headers.insert(hash, record);
            index.main.push(hash);
        }
        *self.tip.write() = Tip {
            hash,
            height: ctx.height,
            header: block.header,
            chain_work: record.chain_work,
        };
        Ok(connected.verified_signatures)
    }

    /// Disconnects the tip block in one synced batch and returns it.
    pub fn disconnect_tip(&self) -> Result<Block, ChainError> {
        let _w = self.write.lock();
        self.disconnect_inner()
    }

    fn disconnect_inner(&self) -> Result<Block, ChainError> {
        let tip = self.tip();
        if tip.height == 0 {
            return Err(ChainError::Genesis);
        }
        let block = self
            .block(&tip.hash)?
            .ok_or_else(|| ChainError::Inconsistent(format!("tip block {} missing", tip.hash)))?;
        let undo = self.kv.get(UNDO, &tip.hash)?.ok_or_else(|| {
            ChainError::Inconsistent(format!("undo data of {} missing", tip.hash))
        })?;
        let changes = disconnect_block(&block, tip.height, &undo);
        let spent_coins: HashMap<OutPoint, Coin> = undo.spent.iter().copied().collect();
        let txids: Vec<Hash> = block.txs.iter().map(|t| t.txid()).collect();
        let mut b = Batch::new();
        b.delete(HEIGHTS, &tip.height);
        b.delete(UNDO, &tip.hash);
        for txid in &txids {
            b.delete(TX_INDEX, txid);
        }
        let mut keys = IndexKeys::default();
        for (key, _) in address_deltas(&block, &txids, tip.height, &spent_coins, &mut keys) {
            b.delete(ADDRESS_TXS, &key);
        }
        utxo_batch(&mut b, &changes, &mut keys);
        let parent = self
            .kv
            .get(HEADERS, &block.header.prev_hash)?
            .ok_or_else(|| ChainError::Inconsistent("parent header missing".into()))?;
        b.put(
            META_TIP,
            &TIP_KEY.to_string(),
            &TipRecord {
                hash: block.header.prev_hash,
                height: tip.height - 1,
            },
        );
        self.kv.commit(b)?;
        self.index.write().main.pop();
        *self.tip.write() = Tip {
            hash: block.header.prev_hash,
            height: tip.height - 1,
            header: parent.header,
            chain_work: parent.chain_work,
        };
        Ok(block)
    }

    /// The height of a known block that is not marked invalid (main chain
    /// or side branch), from the in-memory index.
    pub fn known_height(&self, hash: &Hash) -> Option<u64> {
        let index = self.index.read();
        index
            .headers
            .get(hash)
            .filter(|r| !r.invalid)
            .map(|r| r.height)
    }

    /// A block locator of the main chain: the tip, the nine blocks below
    /// it, then hashes at doubling distances back to genesis.
    pub fn locator(&self) -> Vec<Hash> {
        let index = self.index.read();
        let mut out = Vec::new();
        let Some(mut h) = index.main.len().checked_sub(1) else {
            return out;
        };
        let mut step = 1;
        loop {
            out.push(index.main[h]);
            if h == 0 {
                break;
            }
            if out.len() >= 10 {
                step *= 2;
            }
            h = h.saturating_sub(step);
        }
        out
    }

    /// Up to `max` main-chain headers after the first `locator` hash that is
    /// on the main chain (after genesis when none is).
    pub fn headers_after(&self, locator: &[Hash], max: usize) -> Vec<Header> {
        let index = self.index.read();
        let start = locator
            .iter()
            .find_map(|h| {
                let r = index.headers.get(h)?;
                index.on_main(h, r.height).then_some(r.height + 1)
            })
            .unwrap_or(1) as usize;
        index
            .main
            .iter()
            .skip(start)
            .take(max)
            .filter_map(|h| index.headers.get(h).map(|r| r.header))
            .collect()
    }

    /// The header record of a block.
    pub fn header(&self, hash: &Hash) -> Result<Option<HeaderRecord>, StoreError> {
        self.kv.get(HEADERS, hash)
    }

    /// The main-chain block hash at `height`.
    pub fn hash_at(&self, height: u64) -> Result<Option<Hash>, StoreError> {
        self.kv.get(HEIGHTS, &height)
    }

    /// A stored block by hash.
    pub fn block(&self, hash: &Hash) -> Result<Option<Block>, StoreError> {
        let Some(h) = self.kv.get(HEADERS, hash)? else {
            return Ok(None);
        };
        let Some(body) = self.kv.get(BLOCKS, hash)? else {
            return Ok(None);
        };
        let mut txs = Vec::with_capacity(body.wtxids.len());
        for w in &body.wtxids {
            match self.kv.get(TXS, w)? {
                Some(tx) => txs.push(tx),
                None => return Ok(None),
            }
        }
        Ok(Some(Block {
            header: h.header,
            txs,
        }))
    }

    /// A stored block in its canonical encoding (what [`Block::encode`]
    /// gives), put together from the stored transactions without decoding
    /// them: serving blocks to peers is mostly this.
    pub fn block_encoded(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(h) = self.kv.get(HEADERS, hash)? else {
            return Ok(None);
        };
        let Some(body) = self.kv.get(BLOCKS, hash)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        h.header.encode_to(&mut out);
        put_length(&mut out, body.wtxids.len());
        for w in &body.wtxids {
            // Stored as `Transaction::encode` wrote it (see `store_body`).
            match self.kv.get_raw(TXS.id, &w.to_key())? {
                Some(raw) => out.extend_from_slice(&raw),
                None => return Ok(None),
            }
        }
        Ok(Some(out))
    }

    /// Number of transactions of a stored block (without reading them).
    pub fn tx_count(&self, hash: &Hash) -> Result<Option<usize>, StoreError> {
        Ok(self.kv.get(BLOCKS, hash)?.map(|b| b.wtxids.len()))
    }

    /// A main-chain transaction by txid.
    pub fn transaction(&self, txid: &Hash) -> Result<Option<StoredTx>, StoreError> {
        let Some(location) = self.kv.get(TX_INDEX, txid)? else {
            return Ok(None);
        };
        Ok(self
            .kv
            .get(TXS, &location.wtxid)?
            .map(|tx| StoredTx { tx, location }))
    }

    /// Up to `limit` unspent outputs of an address.
    pub fn address_utxos(
        &self,
        lock: &Lock,
        limit: usize,
    ) -> Result<Vec<(OutPoint, Coin)>, StoreError> {
        let rows = self
            .kv
            .scan(ADDRESS_UTXOS, &lock.index_key().0, None, false, limit)?;
        Ok(rows.into_iter().map(|(k, c)| (k.outpoint, c)).collect())
    }

    /// Total of an address's unspent outputs and their count.
    pub fn balance(&self, lock: &Lock) -> Result<(Amount, usize), StoreError> {
        let utxos = self.address_utxos(lock, usize::MAX)?;
        let total = Amount::sum(utxos.iter().map(|(_, c)| c.output.amount))
            .map_err(|_| StoreError::Engine("balance overflow".into()))?;
        Ok((total, utxos.len()))
    }

    /// An address's history, newest first, starting before `before`
    /// (height, txid) when given.
    pub fn address_history(
        &self,
        lock: &Lock,
        before: Option<(u64, Hash)>,
        limit: usize,
    ) -> Result<Vec<AddressTx>, StoreError> {
        let address = lock.index_key();
        let after = before.map(|(height, txid)| {
            AddressTxKey {
                address,
                height,
                txid,
            }
            .to_key()
        });
        let rows = self
            .kv
            .scan(ADDRESS_TXS, &address.0, after.as_deref(), true, limit)?;
        Ok(rows
            .into_iter()
            .map(|(k, d)| AddressTx {
                txid: k.txid,
                height: k.height,
                received: d.received,
                sent: d.sent,
            })
            .collect())
    }

    /// Every coin in the UTXO set.
    pub fn all_utxos(&self) -> Result<HashMap<OutPoint, Coin>, StoreError> {
        Ok(self
            .kv
            .scan(UTXOS, &[], None, false, usize::MAX)?
            .into_iter()
            .collect())
    }

    /// Replays every main-chain block from genesis in memory (validating it
    /// again, signatures included) and checks that the stored UTXO set, the
    /// address UTXO index and the tip agree with the replay.
    pub fn check_consistency(&self) -> Result<ConsistencyReport, ChainError> {
        let tip = self.tip();
        let inconsistent = |m: String| Err(ChainError::Inconsistent(m));
        let mut utxos: HashMap<OutPoint, Coin> = HashMap::new();
        let cache = SigCache::new(1);
        let mut prev: Option<Header> = None;
        for height in 0..=tip.height {
            let Some(hash) = self.hash_at(height)? else {
                return inconsistent(format!("no block at height {height}"));
            };
            let Some(block) = self.block(&hash)? else {
                return inconsistent(format!("block {hash} at height {height} missing"));
            };
            match prev {
                None => connect_genesis(&block).changes.apply_to(&mut utxos),
                Some(p) => {
                    let ctx = BlockContext {
                        height,
                        prev_hash: p.hash(),
                    };
                    connect_block(&block, &utxos, &ctx, &self.spec, &cache)?
                        .changes
                        .apply_to(&mut utxos);
                }
            }
            prev = Some(block.header);
        }
        if self.hash_at(tip.height + 1)?.is_some() {
            return inconsistent("a block is indexed above the tip".into());
        }
        let stored = self.all_utxos()?;
        if stored != utxos {
            return inconsistent(format!(
                "stored UTXO set ({} coins) differs from the replay ({} coins)",
                stored.len(),
                utxos.len()
            ));
        }
        let indexed = self.kv.scan(ADDRESS_UTXOS, &[], None, false, usize::MAX)?;
        if indexed.len() != utxos.len()
            || indexed.iter().any(|(k, c)| {
                utxos.get(&k.outpoint) != Some(c) || c.output.lock.index_key() != k.address
            })
        {
            return inconsistent("address UTXO index differs from the UTXO set".into());
        }
        Ok(ConsistencyReport {
            height: tip.height,
            utxos: utxos.len(),
        })
    }
}

/// Address index keys of the locks one batch touches: each is a hash, and
/// the same lock comes up for a coin's address history and again for its
/// address-UTXO entry (and for every coin of an address that recurs).
#[derive(Default)]
struct IndexKeys(HashMap<Lock, Hash>);

impl IndexKeys {
    fn of(&mut self, lock: &Lock) -> Hash {
        *self.0.entry(*lock).or_insert_with(|| lock.index_key())
    }
}

/// Adds the UTXO set and address-UTXO changes to a batch.
fn utxo_batch(b: &mut Batch, changes: &UtxoChanges, keys: &mut IndexKeys) {
    for (op, coin) in &changes.spent {
        b.delete(UTXOS, op);
        b.delete(
            ADDRESS_UTXOS,
            &AddressUtxoKey {
                address: keys.of(&coin.output.lock),
                outpoint: *op,
            },
        );
    }
    for (op, coin) in &changes.created {
        b.put(UTXOS, op, coin);
        b.put(
            ADDRESS_UTXOS,
            &AddressUtxoKey {
                address: keys.of(&coin.output.lock),
                outpoint: *op,
            },
            coin,
        );
    }
}

/// What each transaction of `block` did to each address it touched.
/// `spent` must hold every coin the block spent from before the block.
fn address_deltas(
    block: &Block,
    txids: &[Hash],
    height: u64,
    spent: &HashMap<OutPoint, Coin>,
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
    out
}

/// Writes a block's transactions and its wtxid list (`wtxids` in block
/// order, as computed by validation).
fn store_body(b: &mut Batch, block: &Block, hash: &Hash, wtxids: &[Hash]) {
    b.put_many(TXS, wtxids, &block.txs);
    b.put(
        BLOCKS,
        hash,
        &BlockBody {
            wtxids: wtxids.to_vec(),
        },
    );
}

/// Everything that connecting `block` at `height` writes, as one batch.
fn connect_batch(
    block: &Block,
    height: u64,
    chain_work: U256,
    c: &Connected,
    coins: &HashMap<OutPoint, Coin>,
) -> Batch {
    let hash = block.hash();
    let mut b = Batch::new();
    b.put(
        HEADERS,
        &hash,
        &HeaderRecord {
            header: block.header,
            height,
            chain_work,
            invalid: false,
        },
    );
    store_body(&mut b, block, &hash, &c.wtxids);
    for (index, wtxid) in c.wtxids.iter().enumerate() {
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
    let mut keys = IndexKeys::default();
    for (key, delta) in address_deltas(block, &c.txids, height, coins, &mut keys) {
        b.put(ADDRESS_TXS, &key, &delta);
    }
    utxo_batch(&mut b, &c.changes, &mut keys);
    b.put(META_TIP, &TIP_KEY.to_string(), &TipRecord { hash, height });
    b
}
