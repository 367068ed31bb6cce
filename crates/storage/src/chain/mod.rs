//! The chain on top of a [`KvStore`]: accept blocks, keep side branches and
//! orphans, follow the branch with the most work (reorganising block by
//! block, each step one atomic synced batch), and read blocks, transactions
//! and address data.
//!
//! * `index`: the in-memory header index and the main chain by height;
//! * `fork_choice`: accepting blocks, orphans, side branches and
//!   reorganisations;
//! * `invalidate`: the operator's `invalidateblock` and `reconsiderblock`;
//! * `commit`: connecting and disconnecting the tip, one batch each;
//! * `query`: reads of blocks, transactions, coins and address data;
//! * `consistency`: replaying the chain to check what is stored;
//! * `utxo_cache`: the coins changed since the last flush, in memory.
//! * `recent`: the last main-chain blocks with their undo data and recent
//!   side-branch blocks, in memory, so reorganisations read nothing back.
//! * `staking`: the staking state of chains with a `[staking]` table
//!   (ADR 0031), connected and disconnected with each block.

mod commit;
mod consistency;
mod fork_choice;
mod index;
mod invalidate;
mod query;
mod recent;
mod staking;
mod switch;
mod utxo_cache;

use std::collections::HashMap;
use std::sync::Arc;

use luminex_ledger::spec::ConsensusKind;
use luminex_ledger::{
    check_block, connect_block, connect_checked, connect_genesis, disconnect_block,
    disconnect_block_with_ids, BlockContext, BlockError, BlockIds, BlockUndo, ChainContext,
    ChainSpec, CheckedBlock, Coin, Connected, ConsensusRecord, ConsensusRules, Finality,
    HeaderChain, Parent, SigCache, UtxoChanges, U256,
};
use luminex_primitives::codec::put_length;
use luminex_primitives::{
    Amount, Block, CommitCertificate, Encode, Hash, Header, Lock, OutPoint, Transaction, TxOut,
};
use parking_lot::{Mutex, RwLock};
use rayon::prelude::*;

use crate::kv::{Batch, KvExt, KvStore, StoreError};
use crate::tables::*;

use commit::{connect_batch, store_body, IndexKeys};
use index::{Context, Index};
use recent::{MainData, RecentBlocks};
use utxo_cache::UtxoCache;

/// The default memory budget of the UTXO cache (`--dbcache-mb`): 1 GiB,
/// about seven million changed coins, which a machine with 24 GiB spares
/// easily (a flush's batch briefly takes as much again).
pub const DEFAULT_UTXO_CACHE_BYTES: usize = 1 << 30;

/// The default memory budget of the recent blocks kept for reorganisations
/// (`--reorg-cache-mb`): 2 GiB, a hundred blocks of 20 MB (ADR 0037). The
/// blocks are shared with whoever else holds them (the mempool's update,
/// peers being served), so this is an upper bound, not an extra copy.
pub const DEFAULT_RECENT_BLOCK_BYTES: usize = 2 << 30;

/// How a [`ChainStore`] keeps its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreOptions {
    /// Memory the UTXO cache may take before its changes are written to
    /// the database ([`DEFAULT_UTXO_CACHE_BYTES`] by default). A small
    /// budget flushes often (tests use it to exercise flushes); zero
    /// flushes after every block.
    pub utxo_cache_bytes: usize,
    /// The optional indexes to keep (all by default: the explorer and
    /// wallets read them). Turning one off deletes it at the next open;
    /// one the database lacks cannot be turned on
    /// ([`ChainError::IndexMissing`]).
    pub indexes: IndexSet,
    /// Memory the recent blocks kept for reorganisations may take
    /// ([`DEFAULT_RECENT_BLOCK_BYTES`] by default): the main chain's last
    /// `max_reorg_depth` blocks with their undo data and the side-branch
    /// blocks within reach. Zero keeps none (every reorganisation reads
    /// its blocks back from the database).
    pub recent_block_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> StoreOptions {
        StoreOptions {
            utxo_cache_bytes: DEFAULT_UTXO_CACHE_BYTES,
            indexes: IndexSet::ALL,
            recent_block_bytes: DEFAULT_RECENT_BLOCK_BYTES,
        }
    }
}

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
    /// No block of that hash is known.
    #[error("block {0} is not known")]
    UnknownBlock(Hash),
    /// The block, or one it builds on, was invalidated by the operator
    /// (`invalidateblock`); `reconsiderblock` undoes it.
    #[error("block {0} was invalidated by the operator")]
    Invalidated(Hash),
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
    /// The database was written in a format this version cannot read (a
    /// newer release, or damage).
    #[error("database format {found} is not supported (this build reads format {supported}); use the release that wrote it, or a fresh data directory")]
    UnsupportedFormat {
        /// On disk.
        found: u32,
        /// What this build reads and writes.
        supported: u32,
    },
    /// An earlier write failed, so the store accepts no more changes until
    /// it is opened again: its tip in memory and what the engine holds may
    /// disagree (a failed fsync can leave a batch readable but not
    /// durable), and writing on top could make durable a state that rests
    /// on a lost one.
    #[error("the chain store accepts no more changes after a storage failure ({0}); fix the storage and restart")]
    Halted(String),
    /// The options ask for an index the database was built without (it is
    /// not built after the fact).
    #[error("the database was built without the {0}, which cannot be turned on for it yet: leave it off, or start from a fresh data directory")]
    IndexMissing(&'static str),
    /// The change would revert a final block.
    #[error("block {hash} at height {height} is final and cannot be reverted")]
    Finalized {
        /// The highest final block.
        hash: Hash,
        /// Its height.
        height: u64,
    },
}

/// The tip of one branch of the block index ([`ChainStore::chain_tips`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainTip {
    /// The branch's last block.
    pub hash: Hash,
    /// Its height.
    pub height: u64,
    /// The height of the last block the branch shares with the main chain
    /// (the tip's own height for the main chain).
    pub fork_height: u64,
    /// A block of the branch failed validation.
    pub invalid: bool,
    /// Every block of the branch was connected once, so fully validated:
    /// its undo data is stored (written only when a block connects, and
    /// kept when it is disconnected). A branch that was the main chain
    /// before a reorganisation is; one whose blocks were only stored is
    /// not. Always true for the main chain.
    pub validated: bool,
    /// The branch is the main chain.
    pub active: bool,
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

impl Accepted {
    /// Nothing changed (yet).
    pub(super) fn nothing() -> Accepted {
        Accepted {
            status: AcceptStatus::Duplicate,
            connected: vec![],
            disconnected: vec![],
            verified_signatures: 0,
        }
    }
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

/// A decided block handed to [`ChainStore::accept_certified`]: shared as
/// it came, or with its context-free checks done (a proposal this
/// validator checked before voting), whose ids are then not computed
/// again.
#[derive(Clone, Copy, Debug)]
pub enum CertifiedBlock<'a> {
    /// The block as it came.
    Shared(&'a Arc<Block>),
    /// The block with its context-free checks done.
    Checked(&'a CheckedBlock),
}

impl<'a> From<&'a Arc<Block>> for CertifiedBlock<'a> {
    fn from(b: &'a Arc<Block>) -> Self {
        CertifiedBlock::Shared(b)
    }
}

impl<'a> From<&'a CheckedBlock> for CertifiedBlock<'a> {
    fn from(c: &'a CheckedBlock) -> Self {
        CertifiedBlock::Checked(c)
    }
}

impl<'a> CertifiedBlock<'a> {
    /// The block.
    pub fn block(&self) -> &'a Arc<Block> {
        match self {
            CertifiedBlock::Shared(b) => b,
            CertifiedBlock::Checked(c) => c.block(),
        }
    }

    fn incoming(self) -> Incoming<'a> {
        match self {
            CertifiedBlock::Shared(b) => Incoming::Shared(b),
            CertifiedBlock::Checked(c) => Incoming::Checked(c),
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

/// The chain state.
pub struct ChainStore {
    kv: Arc<dyn KvStore>,
    spec: ChainSpec,
    /// The spec's genesis hash (signatures commit to it).
    genesis: Hash,
    rules: Arc<dyn ConsensusRules>,
    index: RwLock<Index>,
    tip: RwLock<Tip>,
    finalized: RwLock<TipRecord>,
    orphans: Mutex<Vec<Arc<Block>>>,
    /// Serialises writers; readers never wait for it.
    write: Mutex<()>,
    /// Odd while a block's changes to the staking state, the UTXO set and
    /// the tip are being applied (they are not applied at once): a reader
    /// of several of them reads again when it changed ([`StateChange`]).
    state_seq: std::sync::atomic::AtomicU64,
    /// The first failed write, after which every change is refused.
    halted: RwLock<Option<String>>,
    /// Damaged reads met since the store opened (ADR 0075).
    damage: Arc<crate::damage::DamageLog>,
    /// Coins changed since the `utxos` keyspace was last written.
    utxos: UtxoCache,
    /// Whether dropping the store flushes the UTXO cache (tests turn it
    /// off to drop a store as a crash would).
    flush_on_drop: std::sync::atomic::AtomicBool,
    /// The staking state after the tip (ADR 0031; empty on chains
    /// without a `[staking]` table).
    staking: RwLock<luminex_ledger::StakingState>,
    /// The optional indexes kept.
    indexes: IndexSet,
    /// Recent main-chain and side-branch blocks, for reorganisations.
    recent: RecentBlocks,
    /// Set while the writer commits without waiting for the disk
    /// (`*_unsynced` calls: ADR 0037).
    deferring: std::sync::atomic::AtomicBool,
    /// Set while a reorganisation connects its branch: on a chain final by
    /// depth, finality moves only once the whole branch has connected, so
    /// a block of it found invalid can still be rolled back past the depth.
    holding_finality: std::sync::atomic::AtomicBool,
    /// Batches committed without a sync since the last one.
    unsynced: std::sync::atomic::AtomicU32,
}

/// Batches committed unsynced at most before the store syncs them all
/// (ADR 0037): what a crash of the machine could take back of a sync.
pub const MAX_UNSYNCED_BATCHES: u32 = 32;

impl ChainStore {
    /// Opens the chain in `kv`, writing the genesis block of `spec` if the
    /// store is empty, loading the header index, and moving to the best
    /// valid branch if a reorganisation was interrupted.
    pub fn open(
        kv: Arc<dyn KvStore>,
        spec: ChainSpec,
        rules: Arc<dyn ConsensusRules>,
    ) -> Result<ChainStore, ChainError> {
        ChainStore::open_with(kv, spec, rules, StoreOptions::default())
    }

    /// [`ChainStore::open`] with the given options. Blocks connected after
    /// the UTXO cache was last flushed are applied again to the cache
    /// (from their stored bodies and undo data, without validating them
    /// again).
    pub fn open_with(
        kv: Arc<dyn KvStore>,
        spec: ChainSpec,
        rules: Arc<dyn ConsensusRules>,
        options: StoreOptions,
    ) -> Result<ChainStore, ChainError> {
        let damage = Arc::new(crate::damage::DamageLog::default());
        let kv: Arc<dyn KvStore> = Arc::new(crate::damage::Watched::new(kv, damage.clone()));
        let genesis = spec.genesis_block();
        let gh = genesis.hash();
        match kv.get(META_FORMAT, &FORMAT_KEY.to_string())? {
            Some(FormatVersion(FORMAT_VERSION)) => {}
            Some(FormatVersion(found)) if !(OLDEST_FORMAT..=FORMAT_VERSION).contains(&found) => {
                return Err(ChainError::UnsupportedFormat {
                    found,
                    supported: FORMAT_VERSION,
                })
            }
            // New, or format 1 (with or without its record): the `utxos`
            // keyspace of a format-1 database is current to its tip. Format
            // 2 needs no change on disk: its address-UTXO index may be
            // ahead of its `utxos` keyspace (it is the UTXO set at the
            // tip), and the blocks applied again at open take the coins
            // they create as perhaps stored (`Created::MaybeStored`), so
            // spending one later deletes its row.
            found => {
                let mut batch = Batch::default();
                batch.put(
                    META_FORMAT,
                    &FORMAT_KEY.to_string(),
                    &FormatVersion(FORMAT_VERSION),
                );
                if found.is_none_or(|f| f.0 == 1) {
                    if let Some(tip) = kv.get(META_TIP, &TIP_KEY.to_string())? {
                        batch.put(META_UTXO_TIP, &UTXO_TIP_KEY.to_string(), &tip);
                    }
                }
                if found.is_some_and(|f| f.0 < 4) && spec.staking.is_some() {
                    history_of_ledger_payouts(kv.as_ref(), &mut batch)?;
                }
                kv.commit(batch)?;
            }
        }
        let tip = match kv.get(META_TIP, &TIP_KEY.to_string())? {
            None => {
                // A database with no chain beside block files that hold one
                // lost its records (a damaged journal can read as an empty
                // one): starting a new chain over them would hide the loss.
                // A first start that stopped after writing the genesis
                // block's data leaves far less than this.
                let stray = kv.block_file_bytes();
                if stray > (1 << 20) + 4 * genesis.encoded_len() as u64 {
                    return Err(ChainError::Inconsistent(format!(
                        "the database holds no chain, but its block files hold {stray} bytes of one: \
                         the database's records were lost or damaged. Restore the data directory \
                         from a backup, or remove its db directory to sync the chain again"
                    )));
                }
                let c = connect_genesis(&genesis);
                let mut keys = IndexKeys::default();
                let mut batch = connect_batch(
                    &genesis,
                    0,
                    U256::ZERO,
                    &c,
                    &HashMap::new(),
                    &[],
                    options.indexes,
                    true,
                    &mut keys,
                );
                batch.put(META_INDEXES, &INDEXES_KEY.to_string(), &options.indexes);
                match spec.consensus {
                    ConsensusKind::Bft => {
                        let record = spec.bft_genesis().map_err(|e| {
                            ChainError::Inconsistent(format!("genesis consensus state: {e}"))
                        })?;
                        batch.put(CONSENSUS, &0, &record);
                    }
                    ConsensusKind::Dev | ConsensusKind::Pow => {}
                }
                let genesis_tip = TipRecord {
                    hash: gh,
                    height: 0,
                };
                batch.put(META_FINALIZED, &FINALIZED_KEY.to_string(), &genesis_tip);
                // The genesis coins go straight to the `utxos` keyspace
                // (and the address-UTXO index).
                for (op, coin) in &c.changes.created {
                    batch.put(UTXOS, op, coin);
                    if options.indexes.address {
                        let key = AddressUtxoKey {
                            address: keys.of(&coin.output.lock),
                            outpoint: *op,
                        };
                        batch.put(ADDRESS_UTXOS, &key, coin);
                    }
                }
                batch.put(META_UTXO_TIP, &UTXO_TIP_KEY.to_string(), &genesis_tip);
                staking::genesis_entries(&mut batch, &spec);
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
        reconcile_indexes(&*kv, options.indexes)?;
        let mut index = Index::default();
        for (hash, rec) in kv.scan(HEADERS, &[], None, false, usize::MAX)? {
            index.headers.insert(hash, rec);
        }
        // Only a block that failed is marked on disk: without this, a
        // branch through it would be tried again at every open (and its
        // descendants accepted as valid side blocks).
        index.roots = index
            .headers
            .iter()
            .filter(|(_, r)| r.invalid)
            .map(|(h, r)| (*h, r.invalidated))
            .collect();
        let invalid: Vec<Hash> = index.roots.keys().copied().collect();
        index.invalidate_descendants(&invalid);
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
        // Databases from before finality was recorded start at genesis.
        let finalized = kv
            .get(META_FINALIZED, &FINALIZED_KEY.to_string())?
            .unwrap_or(TipRecord {
                hash: gh,
                height: 0,
            });
        if index.main.get(finalized.height as usize) != Some(&finalized.hash) {
            return Err(ChainError::Inconsistent(format!(
                "finalized block {} at height {} is not on the main chain",
                finalized.hash, finalized.height
            )));
        }
        let staking = staking::load(kv.as_ref(), &spec)?;
        let store = ChainStore {
            kv,
            spec,
            genesis: gh,
            rules,
            index: RwLock::new(index),
            tip: RwLock::new(Tip {
                hash: tip.hash,
                height: tip.height,
                header: rec.header,
                chain_work: rec.chain_work,
            }),
            finalized: RwLock::new(finalized),
            orphans: Mutex::new(Vec::new()),
            write: Mutex::new(()),
            state_seq: std::sync::atomic::AtomicU64::new(0),
            halted: RwLock::new(None),
            damage,
            utxos: UtxoCache::new(options.utxo_cache_bytes, options.indexes.address),
            // Set once the UTXO set is brought up to the tip below: a store
            // dropped before that (an open that failed) must not record a
            // set it never caught up as current to the tip.
            flush_on_drop: std::sync::atomic::AtomicBool::new(false),
            staking: RwLock::new(staking),
            indexes: options.indexes,
            recent: RecentBlocks::new(options.recent_block_bytes),
            deferring: std::sync::atomic::AtomicBool::new(false),
            holding_finality: std::sync::atomic::AtomicBool::new(false),
            unsynced: std::sync::atomic::AtomicU32::new(0),
        };
        store.check_block_files()?;
        {
            let _w = store.write.lock();
            store.catch_up_utxos()?;
            store
                .flush_on_drop
                .store(true, std::sync::atomic::Ordering::Relaxed);
            let mut acc = Accepted {
                status: AcceptStatus::MainChain,
                connected: vec![],
                disconnected: vec![],
                verified_signatures: 0,
            };
            match store.activate_best_chain(&SigCache::new(1), &mut acc) {
                // Branches found invalid are logged and marked.
                Ok(_) => {}
                // The storage fails: opening on it would only fail later.
                Err(e @ (ChainError::Store(_) | ChainError::Halted(_))) => return Err(e),
                Err(e) => tracing::warn!(error = %e, "could not move to the best stored branch"),
            }
        }
        Ok(store)
    }

    /// Commits `batch` for the chain. The first failure halts the store
    /// ([`ChainError::Halted`] for every later change): after a failed
    /// write the caller cannot know what the engine holds.
    ///
    /// While the writer defers syncs (ADR 0037) the batch is committed
    /// without waiting for the disk, and every [`MAX_UNSYNCED_BATCHES`]
    /// batches they are synced together; otherwise it is synced, which
    /// makes every batch before it durable too.
    fn commit(&self, batch: Batch) -> Result<(), ChainError> {
        use std::sync::atomic::Ordering::Relaxed;
        self.check_running()?;
        let r = if self.deferring.load(Relaxed) {
            self.kv.commit_unsynced(batch).and_then(|()| {
                if self.unsynced.fetch_add(1, Relaxed) + 1 >= MAX_UNSYNCED_BATCHES {
                    self.unsynced.store(0, Relaxed);
                    self.kv.sync()
                } else {
                    Ok(())
                }
            })
        } else {
            self.unsynced.store(0, Relaxed);
            self.kv.commit(batch)
        };
        if let Err(e) = r {
            self.halt(&e);
            return Err(e.into());
        }
        Ok(())
    }

    fn halt(&self, e: &StoreError) {
        tracing::error!(error = %e, "storage write failed: the chain store accepts no more changes until it is restarted");
        *self.halted.write() = Some(e.to_string());
    }

    /// Makes every block committed unsynced durable (ADR 0037): an
    /// importer calls this when its batch is due ([`crate::SyncBatch`]),
    /// when it has no next block at hand, and before it reports the blocks
    /// to anyone who could rely on them (ADR 0040).
    pub fn sync(&self) -> Result<(), ChainError> {
        let _w = self.write.lock();
        self.sync_locked()
    }

    /// [`ChainStore::sync`] for the holder of the write lock.
    fn sync_locked(&self) -> Result<(), ChainError> {
        use std::sync::atomic::Ordering::Relaxed;
        self.check_running()?;
        if self.unsynced.swap(0, Relaxed) > 0 {
            if let Err(e) = self.kv.sync() {
                self.halt(&e);
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// At open: the tip, the last block the block files hold, read back
    /// whole, so the newest block file deleted or cut short stops the node
    /// at start with a clear error rather than surfacing later as failed
    /// reads while it goes on writing (Bitcoin Core checks its last blocks
    /// at start likewise). An older file missing is found when the files
    /// are opened (their numbers must have no gap).
    fn check_block_files(&self) -> Result<(), ChainError> {
        let tip = self.tip();
        for (height, hash) in [(tip.height, tip.hash)] {
            let problem = match self.block(&hash) {
                Ok(Some(_)) => continue,
                Ok(None) => "it is missing".to_string(),
                Err(e) => e.to_string(),
            };
            return Err(ChainError::Inconsistent(format!(
                "block {height} ({hash}) cannot be read: {problem}. The block files are \
                 damaged or missing: restore the data directory from a backup, or remove its \
                 db directory to sync the chain again"
            )));
        }
        Ok(())
    }

    /// Whether blocks were committed without a sync since the last one.
    pub fn has_unsynced(&self) -> bool {
        self.unsynced.load(std::sync::atomic::Ordering::Relaxed) > 0
    }

    /// Runs `f` under the write lock with syncs deferred: its batches are
    /// committed without waiting for the disk.
    fn deferred<T>(&self, f: impl FnOnce() -> T) -> T {
        use std::sync::atomic::Ordering::Relaxed;
        let _w = self.write.lock();
        self.deferring.store(true, Relaxed);
        let r = f();
        self.deferring.store(false, Relaxed);
        r
    }

    /// Refuses a change once a write has failed.
    fn check_running(&self) -> Result<(), ChainError> {
        match &*self.halted.read() {
            Some(reason) => Err(ChainError::Halted(reason.clone())),
            None => Ok(()),
        }
    }

    /// Why the store accepts no more changes (a write failed), if it does
    /// not: a node reports this and stops taking blocks until restarted.
    pub fn halted(&self) -> Option<String> {
        self.halted.read().clone()
    }

    /// The damaged reads of the database met since it opened: the first
    /// one's description and how many (ADR 0075). The store goes on
    /// serving what it can read; the node reports itself not ready.
    pub fn damaged(&self) -> Option<(String, u64)> {
        self.damage.first().map(|f| (f, self.damage.count()))
    }

    /// The chain spec.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// The hash of the chain's genesis block.
    pub fn genesis_hash(&self) -> Hash {
        self.genesis
    }

    /// The consensus rules.
    pub fn rules(&self) -> &Arc<dyn ConsensusRules> {
        &self.rules
    }

    /// The highest final block: it is never disconnected, whatever a peer
    /// sends. On BFT chains the last block with a commit certificate; on
    /// proof-of-work and `dev` chains the block the spec's reorganisation
    /// depth below the tip. Only moves forward.
    pub fn finalized(&self) -> TipRecord {
        *self.finalized.read()
    }

    /// The commit certificate that finalized the main-chain block at
    /// `height` (BFT chains).
    pub fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>, StoreError> {
        self.kv.get(COMMITS, &height)
    }

    /// The consensus state after the main-chain block at `height` (BFT
    /// chains).
    pub fn consensus_record(&self, height: u64) -> Result<Option<ConsensusRecord>, StoreError> {
        self.kv.get(CONSENSUS, &height)
    }

    /// Runs `f` with what consensus rules read of the chain: the header
    /// index and the stored consensus states.
    pub fn with_context<T>(&self, f: impl FnOnce(&dyn ChainContext) -> T) -> T {
        // A read that failed is logged by the context and read as missing.
        self.run_with_context(f).0
    }

    /// [`ChainStore::with_context`], failing with the store's error if a
    /// read the rules made failed: their verdict (a missing consensus
    /// state, say) would be about the disk, not the block, and must not
    /// mark a block invalid for good.
    pub(super) fn with_context_read<T>(
        &self,
        f: impl FnOnce(&dyn ChainContext) -> T,
    ) -> Result<T, StoreError> {
        match self.run_with_context(f) {
            (_, Some(e)) => Err(e),
            (out, None) => Ok(out),
        }
    }

    /// Runs `f` on the context, with the first read that failed.
    fn run_with_context<T>(
        &self,
        f: impl FnOnce(&dyn ChainContext) -> T,
    ) -> (T, Option<StoreError>) {
        let index = self.index.read();
        let staking = self.staking.read();
        let ctx = Context {
            index: &index,
            kv: &*self.kv,
            staking: self.stakes().then_some(&*staking),
            failed: Default::default(),
        };
        let out = f(&ctx);
        (out, ctx.failed.into_inner())
    }

    /// The current tip.
    pub fn tip(&self) -> Tip {
        *self.tip.read()
    }

    /// Bytes on disk.
    pub fn disk_space(&self) -> u64 {
        self.kv.disk_space()
    }
}

/// Brings the database's optional indexes in line with `wanted`: one it
/// keeps and `wanted` turns off is recorded as off, then deleted (what a
/// crash leaves of it is deleted at the next open); one it lacks is
/// refused.
fn reconcile_indexes(kv: &dyn KvStore, wanted: IndexSet) -> Result<(), ChainError> {
    let key = INDEXES_KEY.to_string();
    // Databases from before the record kept every index.
    let recorded = kv.get(META_INDEXES, &key)?;
    let kept = recorded.unwrap_or(IndexSet::ALL);
    if wanted.tx && !kept.tx {
        return Err(ChainError::IndexMissing("transaction index"));
    }
    if wanted.address && !kept.address {
        return Err(ChainError::IndexMissing("address indexes"));
    }
    if recorded != Some(wanted) {
        let mut b = Batch::new();
        b.put(META_INDEXES, &key, &wanted);
        kv.commit(b)?;
    }
    let off: &[TableId] = match (wanted.tx, wanted.address) {
        (true, true) => &[],
        (false, true) => &[TableId::TxIndex],
        (true, false) => &[TableId::AddressTxs, TableId::AddressUtxos],
        (false, false) => &[TableId::TxIndex, TableId::AddressTxs, TableId::AddressUtxos],
    };
    for &table in off {
        let mut deleted = 0usize;
        loop {
            let rows = kv.scan_raw(table, &[], None, false, 10_000)?;
            if rows.is_empty() {
                break;
            }
            deleted += rows.len();
            let mut b = Batch::new();
            for (k, _) in rows {
                b.ops.push((table, k, None));
            }
            kv.commit(b)?;
        }
        if deleted > 0 {
            tracing::info!(
                index = table.name(),
                entries = deleted,
                "deleted an index turned off"
            );
        }
    }
    Ok(())
}

/// The upgrade to format 4: the address-history rows of every coin the
/// ledger paid on the main chain (read from the blocks' staking undo
/// data), added to `batch` — merged into a row the address already has for
/// the same height and txid (a reward beside a coinbase output). Nothing
/// when the address indexes are not kept.
fn history_of_ledger_payouts(kv: &dyn KvStore, batch: &mut Batch) -> Result<(), ChainError> {
    let kept = kv
        .get(META_INDEXES, &INDEXES_KEY.to_string())?
        .is_none_or(|i| i.address);
    let Some(tip) = kv.get(META_TIP, &TIP_KEY.to_string())? else {
        return Ok(());
    };
    if !kept {
        return Ok(());
    }
    let mut rows: HashMap<Vec<u8>, (AddressTxKey, AddressDelta)> = HashMap::new();
    for height in 1..=tip.height {
        let Some(hash) = kv.get(HEIGHTS, &height)? else {
            continue;
        };
        let Some(undo) = kv.get(STAKING_UNDO, &hash)? else {
            continue;
        };
        for (op, coin) in &undo.released {
            let key = AddressTxKey {
                address: coin.output.lock.index_key(),
                height,
                txid: op.txid,
            };
            let entry = match rows.entry(key.to_key()) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let had = kv.get(ADDRESS_TXS, &key)?.unwrap_or_default();
                    v.insert((key, had))
                }
            };
            entry.1.received = entry
                .1
                .received
                .checked_add(coin.output.amount)
                .unwrap_or(Amount::MAX);
        }
    }
    for (key, delta) in rows.into_values() {
        batch.put(ADDRESS_TXS, &key, &delta);
    }
    Ok(())
}

/// A block's changes to the state being applied: [`ChainStore::state_seq`]
/// is odd from its creation until it is dropped (when the function that
/// applies them returns, whichever way).
pub(super) struct StateChange<'a>(&'a std::sync::atomic::AtomicU64);

impl<'a> StateChange<'a> {
    pub(super) fn begin(seq: &'a std::sync::atomic::AtomicU64) -> StateChange<'a> {
        seq.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        StateChange(seq)
    }
}

impl Drop for StateChange<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}
