//! The UTXO cache: coins changed since the last flush, in memory, in front
//! of the `utxos` keyspace and the address-UTXO index (ADR 0032, ADR 0057).
//!
//! Connecting a block commits the block, its undo data and its other
//! indexes in one synced batch as before, but not its UTXO changes: those
//! go into this cache, which serves reads ahead of the database. A coin
//! created and spent between two flushes is never written at all — neither
//! to `utxos` nor to `address_utxos`, which is the UTXO set again, keyed by
//! address, and so moves with it. When the cache outgrows its budget — and
//! when the store is dropped — its changes are written in one atomic batch
//! together with the block both keyspaces are then current to
//! ([`META_UTXO_TIP`]). At open, the blocks between that block and the tip
//! are applied again from their stored bodies and undo data (after rolling
//! back any block of a branch that was since disconnected), so a crash
//! loses nothing a block commit made durable.
//!
//! An address's coins are the database's rows for it, less those the cache
//! holds as spent, plus the unspent coins the cache lists for it since the
//! last flush ([`CacheView::address_coins`]).
//!
//! Concurrency: only the chain store's writer changes the cache or
//! flushes it, and a flush leaves every entry in place until the batch is
//! committed, so a reader that finds no entry for a coin may read the
//! database: it holds the coin's latest flushed value, and no value of it
//! is newer.

use std::sync::atomic::Ordering;

use parking_lot::MutexGuard;

use super::*;

/// One cached coin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    /// The coin (kept when spent: its address names the index row that
    /// the flush deletes).
    coin: Coin,
    /// Spent.
    spent: bool,
    /// Changed since the last flush: the database does not hold this value.
    dirty: bool,
    /// Created since the last flush and absent from the database, so
    /// spending it again just forgets it.
    fresh: bool,
}

/// Bytes a cached coin takes in the map (key, entry and the map's control
/// byte), before the map's spare capacity.
const SLOT_BYTES: usize = std::mem::size_of::<(OutPoint, Entry)>() + 1;
/// Bytes an address takes in the list of coins by address, before its
/// coins and the map's spare capacity.
const ADDRESS_SLOT_BYTES: usize = std::mem::size_of::<(Hash, Vec<OutPoint>)>() + 1;

/// What the cache's lock guards.
#[derive(Default)]
struct Inner {
    /// Coins changed since the last flush (and, until the cache is next
    /// found too large, the coins that flush wrote).
    coins: HashMap<OutPoint, Entry>,
    /// With the address index: every coin created since the last flush,
    /// by the index key of its address. A coin spent since stays listed
    /// (readers skip it) until the flush empties the lists.
    by_address: HashMap<Hash, Vec<OutPoint>>,
    /// Capacity of all those lists, outpoints.
    listed: usize,
    /// Bumped by every change of the cache (a block applied, a flush
    /// finished): a reader that finds it unchanged after reading the
    /// database saw the database together with this same cache.
    version: u64,
    /// The value of every unspent coin, the database's and the cache's
    /// together, once counted ([`CacheView::set_total`]): kept current by
    /// every block applied, so it is counted once, not per query.
    total: Option<u128>,
}

impl Inner {
    fn bytes(&self) -> usize {
        self.coins.capacity() * SLOT_BYTES
            + self.by_address.capacity() * ADDRESS_SLOT_BYTES
            + self.listed * std::mem::size_of::<OutPoint>()
    }
}

/// Coins changed since the last flush, in front of the database.
pub(super) struct UtxoCache {
    inner: Mutex<Inner>,
    /// The memory budget, bytes.
    limit: usize,
    /// Whether the address-UTXO index is kept (then the cache keeps it too).
    address: bool,
}

/// A flush being made: the batch to commit, then [`UtxoCache::flushed`].
pub(super) struct Flush {
    pub(super) batch: Batch,
    /// Coins written (put or deleted).
    pub(super) coins: usize,
}

/// How [`UtxoCache::apply`] takes the coins a block creates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Created {
    /// Absent from the database: a block connected or disconnected on the
    /// state the database and the cache hold together.
    Fresh,
    /// Perhaps in the database already: blocks applied again at open. A
    /// database written in format 2 has its address-UTXO index current to
    /// the tip, ahead of its `utxos` keyspace, so a coin such a block
    /// creates may have its index row already; taking it as fresh would
    /// forget it when it is spent and leave that row behind. Spending it
    /// writes a deletion instead (at worst of a row that is not there).
    MaybeStored,
}

impl UtxoCache {
    pub(super) fn new(limit: usize, address: bool) -> UtxoCache {
        UtxoCache {
            inner: Mutex::new(Inner::default()),
            limit,
            address,
        }
    }

    /// What the cache knows of `op`: `Some(Some(coin))` unspent,
    /// `Some(None)` spent, `None` not cached (the database has it right).
    pub(super) fn get(&self, op: &OutPoint) -> Option<Option<Coin>> {
        self.inner
            .lock()
            .coins
            .get(op)
            .map(|e| (!e.spent).then_some(e.coin))
    }

    /// Holds the cache unchanged (no block applied, no flush finished) while
    /// the caller reads the database: for a consistent scan.
    pub(super) fn hold(&self) -> CacheView<'_> {
        CacheView(self.inner.lock())
    }

    /// The cache held, if it is still at `version`: database rows read
    /// since the cache was at that version, overlaid with this view, are
    /// one consistent state. The database's coins change only when a flush
    /// commits, and a flush's batch holds exactly the cache's unflushed
    /// changes, so a row read before or after that commit gives the same
    /// answer once the still-unchanged cache is applied; the flush's end
    /// ([`UtxoCache::flushed`]) and every block bump the version.
    pub(super) fn hold_at(&self, version: u64) -> Option<CacheView<'_>> {
        let inner = self.inner.lock();
        (inner.version == version).then_some(CacheView(inner))
    }

    /// Applies a block's UTXO changes (connecting or disconnecting it);
    /// `keys` gives the index keys of the created coins' addresses.
    pub(super) fn apply(&self, changes: &UtxoChanges, keys: &mut IndexKeys, created: Created) {
        let mut inner = self.inner.lock();
        inner.version += 1;
        if let Some(total) = inner.total {
            let sum = |coins: &[(OutPoint, Coin)]| -> u128 {
                coins
                    .iter()
                    .map(|(_, c)| u128::from(c.output.amount.base()))
                    .sum()
            };
            // A change that would take it below zero cannot happen on a
            // consistent set; it is counted again rather than trusted.
            inner.total = (total + sum(&changes.created)).checked_sub(sum(&changes.spent));
        }
        let Inner {
            coins,
            by_address,
            listed,
            ..
        } = &mut *inner;
        for (op, coin) in &changes.spent {
            match coins.get_mut(op) {
                Some(e) if e.fresh => {
                    coins.remove(op);
                }
                Some(e) => {
                    e.coin = *coin;
                    e.spent = true;
                    e.dirty = true;
                }
                None => {
                    coins.insert(
                        *op,
                        Entry {
                            coin: *coin,
                            spent: true,
                            dirty: true,
                            fresh: false,
                        },
                    );
                }
            }
        }
        for (op, coin) in &changes.created {
            match coins.get_mut(op) {
                // Spent in the cache but perhaps still in the database (a
                // block disconnected and connected again): written over.
                Some(e) => {
                    e.coin = *coin;
                    e.spent = false;
                    e.dirty = true;
                }
                // Not cached: the database holds the coin's value at the
                // last flush, and that is "spent or never made" (a coin is
                // created only where none is unspent) — unless blocks are
                // applied again at open (`Created::MaybeStored`).
                None => {
                    coins.insert(
                        *op,
                        Entry {
                            coin: *coin,
                            spent: false,
                            dirty: true,
                            fresh: created == Created::Fresh,
                        },
                    );
                }
            }
            if self.address {
                let list = by_address.entry(keys.of(&coin.output.lock)).or_default();
                let before = list.capacity();
                list.push(*op);
                *listed += list.capacity() - before;
            }
        }
    }

    /// Bytes the cache takes now (its maps' whole allocations).
    pub(super) fn bytes(&self) -> usize {
        self.inner.lock().bytes()
    }

    /// Whether the cache has outgrown its budget and should be flushed.
    pub(super) fn over_budget(&self) -> bool {
        self.bytes() > self.limit
    }

    /// Entries in the cache, and how many are not yet flushed.
    pub(super) fn len(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        (
            inner.coins.len(),
            inner.coins.values().filter(|e| e.dirty).count(),
        )
    }

    /// The batch that writes every unflushed change (to `utxos` and, when
    /// kept, to the address-UTXO index) and records that both are then
    /// current to `tip`. The cache is unchanged until
    /// [`UtxoCache::flushed`] is called after the batch is committed.
    pub(super) fn flush_batch(&self, tip: TipRecord) -> Flush {
        let inner = self.inner.lock();
        let mut batch = Batch::new();
        let mut coins = 0;
        let mut keys = IndexKeys::default();
        for (op, e) in inner.coins.iter().filter(|(_, e)| e.dirty) {
            coins += 1;
            let address = self.address.then(|| AddressUtxoKey {
                address: keys.of(&e.coin.output.lock),
                outpoint: *op,
            });
            if e.spent {
                batch.delete(UTXOS, op);
                if let Some(k) = &address {
                    batch.delete(ADDRESS_UTXOS, k);
                }
            } else {
                batch.put(UTXOS, op, &e.coin);
                if let Some(k) = &address {
                    batch.put(ADDRESS_UTXOS, k, &e.coin);
                }
            }
        }
        batch.put(META_UTXO_TIP, &UTXO_TIP_KEY.to_string(), &tip);
        Flush { batch, coins }
    }

    /// After a flush's batch is committed: spent coins are forgotten and the
    /// rest kept as clean entries (they are the coins most likely to be
    /// spent next) — unless the cache is over half its budget, when
    /// everything is dropped and the memory returned. The lists by address
    /// are emptied: the database now holds every coin they named.
    pub(super) fn flushed(&self) {
        let mut inner = self.inner.lock();
        inner.version += 1;
        inner.by_address = HashMap::new();
        inner.listed = 0;
        if inner.bytes() > self.limit / 2 {
            inner.coins = HashMap::new();
            return;
        }
        inner.coins.retain(|_, e| !e.spent);
        for e in inner.coins.values_mut() {
            e.dirty = false;
            e.fresh = false;
        }
    }
}

/// The cache held still, for reading it together with the database.
pub(super) struct CacheView<'a>(MutexGuard<'a, Inner>);

impl CacheView<'_> {
    /// The cache's version ([`UtxoCache::hold_at`]).
    pub(super) fn version(&self) -> u64 {
        self.0.version
    }

    /// Applies the cache to `utxos`, a scan of the `utxos` keyspace (or of
    /// the address-UTXO index) made while this view was held.
    pub(super) fn overlay(&self, utxos: &mut HashMap<OutPoint, Coin>) {
        for (op, e) in self.0.coins.iter() {
            if e.spent {
                utxos.remove(op);
            } else {
                utxos.insert(*op, e.coin);
            }
        }
    }

    /// The value of the whole UTXO set, if counted since the store opened.
    pub(super) fn total(&self) -> Option<u128> {
        self.0.total
    }

    /// Records the value of the whole UTXO set, counted from a scan read
    /// while this view was held; blocks applied from now on keep it.
    pub(super) fn set_total(&mut self, total: u128) {
        self.0.total = Some(total);
    }

    /// What the cache holds of `op`: `Some(None)` spent, `Some(Some(coin))`
    /// unspent (perhaps newer than the database's row: a transaction a
    /// reorganisation put in another block), `None` not cached.
    pub(super) fn get(&self, op: &OutPoint) -> Option<Option<Coin>> {
        self.0.coins.get(op).map(|e| (!e.spent).then_some(e.coin))
    }

    /// The unspent coins created since the last flush whose address has
    /// the index key `address` (some may be in the database too, and a
    /// coin created twice — disconnected and connected again — comes
    /// twice: the caller sorts and deduplicates).
    pub(super) fn address_coins(&self, address: &Hash) -> Vec<(OutPoint, Coin)> {
        let Some(list) = self.0.by_address.get(address) else {
            return Vec::new();
        };
        list.iter()
            .filter_map(|op| {
                let e = self.0.coins.get(op)?;
                (!e.spent).then_some((*op, e.coin))
            })
            .collect()
    }
}

impl ChainStore {
    /// Writes the UTXO cache's changes to the database in one synced batch
    /// with the block they are current to (the tip), so the next open has
    /// no blocks to apply again. The store does this by itself when the
    /// cache is full and when it is dropped.
    pub fn flush(&self) -> Result<(), ChainError> {
        let _w = self.write.lock();
        self.check_running()?;
        self.flush_inner()
    }

    /// Flushes the UTXO cache and refuses every later change
    /// ([`ChainError::Halted`]): for a node that stops, or restarts in
    /// place while other holders of the store may still drop it later (a
    /// closed store writes nothing when dropped).
    pub fn close(&self) -> Result<(), ChainError> {
        let _w = self.write.lock();
        self.check_running()?;
        let flushed = self.flush_inner();
        if flushed.is_ok() {
            // Not an error for the close: the next open replays more.
            if let Err(e) = self.kv.settle() {
                tracing::warn!(error = %e, "could not write the database's memtables at close");
            }
        }
        self.flush_on_drop.store(false, Ordering::Relaxed);
        let mut halted = self.halted.write();
        if halted.is_none() {
            *halted = Some("the chain store was closed".into());
        }
        flushed
    }

    /// Memory the UTXO cache takes now, bytes.
    pub fn utxo_cache_bytes(&self) -> usize {
        self.utxos.bytes()
    }

    /// Drops the store without flushing the UTXO cache, as a crash would:
    /// the next open applies the blocks since the last flush again (tests).
    pub fn close_without_flush(self) {
        self.flush_on_drop.store(false, Ordering::Relaxed);
    }

    /// Flushes the UTXO cache if it has outgrown its budget (the writer
    /// calls this after each block).
    pub(super) fn flush_if_full(&self) -> Result<(), ChainError> {
        if self.utxos.over_budget() {
            self.flush_inner()?;
        }
        Ok(())
    }

    /// Flushes the cache (the caller holds the write lock).
    fn flush_inner(&self) -> Result<(), ChainError> {
        let tip = self.tip();
        let tip = TipRecord {
            hash: tip.hash,
            height: tip.height,
        };
        let flush = self.utxos.flush_batch(tip);
        let bytes = self.utxos.bytes();
        tracing::info!(
            coins = flush.coins,
            cache_mb = bytes >> 20,
            height = tip.height,
            "flushing the UTXO cache"
        );
        self.commit(flush.batch)?;
        self.utxos.flushed();
        tracing::debug!(height = tip.height, "UTXO cache flushed");
        Ok(())
    }

    /// At open: brings the UTXO set from the block the `utxos` keyspace is
    /// current to up to the tip, through the cache — rolling back the
    /// blocks of a branch disconnected since the last flush, then applying
    /// the main chain's blocks after it, each from its stored body and undo
    /// data (they were validated when they were connected).
    pub(super) fn catch_up_utxos(&self) -> Result<(), ChainError> {
        let Some(mut at) = self.kv.get(META_UTXO_TIP, &UTXO_TIP_KEY.to_string())? else {
            return Err(ChainError::Inconsistent(
                "no record of the block the UTXO set is current to".into(),
            ));
        };
        let tip = self.tip();
        let (mut back, mut forward) = (0u64, 0u64);
        loop {
            let on_main = self.index.read().on_main(&at.hash, at.height);
            if on_main {
                break;
            }
            let (block, undo) = self.block_and_undo(&at.hash)?;
            let mut changes = disconnect_block(&block, at.height, &undo);
            changes.spent.extend(self.released_by(&at.hash)?);
            self.utxos
                .apply(&changes, &mut IndexKeys::default(), Created::MaybeStored);
            at = TipRecord {
                hash: block.header.prev_hash(),
                height: at.height.checked_sub(1).ok_or_else(|| {
                    ChainError::Inconsistent("the UTXO set's block is off the chain".into())
                })?,
            };
            back += 1;
        }
        for height in at.height + 1..=tip.height {
            let hash = self.index.read().main[height as usize];
            let (block, undo) = self.block_and_undo(&hash)?;
            let mut changes = connect_changes(&block, height, &undo);
            changes.created.extend(self.released_by(&hash)?);
            self.utxos
                .apply(&changes, &mut IndexKeys::default(), Created::MaybeStored);
            forward += 1;
        }
        if back + forward > 0 {
            tracing::info!(
                rolled_back = back,
                applied = forward,
                tip = tip.height,
                "brought the UTXO set up to the tip after an unclean stop"
            );
        }
        Ok(())
    }

    /// Whether the database's record of the block the UTXO set is current
    /// to is the tip (an unreadable record counts as not).
    fn utxos_at_tip(&self) -> bool {
        let tip = self.tip();
        matches!(
            self.kv.get(META_UTXO_TIP, &UTXO_TIP_KEY.to_string()),
            Ok(Some(r)) if r == TipRecord { hash: tip.hash, height: tip.height }
        )
    }

    fn block_and_undo(&self, hash: &Hash) -> Result<(Block, BlockUndo), ChainError> {
        let block = self
            .block(hash)?
            .ok_or_else(|| ChainError::Inconsistent(format!("block {hash} missing")))?;
        let undo = self
            .kv
            .get(UNDO, hash)?
            .ok_or_else(|| ChainError::Inconsistent(format!("undo data of {hash} missing")))?;
        Ok((block, undo))
    }
}

impl Drop for ChainStore {
    fn drop(&mut self) {
        if !self.flush_on_drop.load(Ordering::Relaxed) || self.halted().is_some() {
            return;
        }
        // Nothing to write only if no coin changed since the last flush and
        // that flush was at the tip: blocks may change no stored coin (a
        // coinbase of nothing, an import onto a flushed set) and still move
        // the tip, and then the record of the block the set is current to
        // must move too, or every later open applies them again.
        if self.utxos.len().1 == 0 && self.utxos_at_tip() {
            if self.has_unsynced() {
                if let Err(e) = self.kv.sync() {
                    tracing::error!(error = %e, "could not sync the last blocks at close");
                    return;
                }
            }
        } else if let Err(e) = self.flush_inner() {
            tracing::error!(error = %e, "could not flush the UTXO cache at close: the next start applies the blocks since the last flush again");
            return;
        }
        if let Err(e) = self.kv.settle() {
            tracing::warn!(error = %e, "could not write the database's memtables at close");
        }
    }
}

/// The UTXO changes of connecting `block` at `height`, from the block and
/// its undo data: every output it creates that no later transaction of
/// the block spends, and every coin from before it that it spends.
pub(super) fn connect_changes(block: &Block, height: u64, undo: &BlockUndo) -> UtxoChanges {
    // Disconnecting removes the outputs unspent at the block's end and
    // restores the coins it spent: connecting is the inverse.
    let inverse = disconnect_block(block, height, undo);
    UtxoChanges {
        created: inverse.spent,
        spent: inverse.created,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_primitives::SchemeId;

    fn op(n: u8) -> OutPoint {
        OutPoint {
            txid: Hash([n; 32]),
            vout: 0,
        }
    }

    fn coin(n: u64) -> Coin {
        Coin {
            output: TxOut {
                amount: Amount::from_base(n).unwrap(),
                lock: Lock::Key {
                    scheme: SchemeId::MlDsa44,
                    key_hash: Hash::ZERO,
                },
            },
            height: n,
            is_coinbase: false,
        }
    }

    fn changes(created: &[u8], spent: &[u8]) -> UtxoChanges {
        UtxoChanges {
            created: created
                .iter()
                .map(|n| (op(*n), coin(u64::from(*n))))
                .collect(),
            spent: spent
                .iter()
                .map(|n| (op(*n), coin(u64::from(*n))))
                .collect(),
        }
    }

    #[test]
    fn a_coin_created_and_spent_between_flushes_is_never_written() {
        let cache = UtxoCache::new(1 << 20, false);
        cache.apply(
            &changes(&[1, 2], &[]),
            &mut IndexKeys::default(),
            Created::Fresh,
        );
        cache.apply(
            &changes(&[3], &[1]),
            &mut IndexKeys::default(),
            Created::Fresh,
        );
        assert_eq!(cache.get(&op(1)), None, "forgotten, not marked spent");
        let f = cache.flush_batch(TipRecord {
            hash: Hash::ZERO,
            height: 2,
        });
        assert_eq!(f.coins, 2);
        // Two puts and the tip record.
        assert_eq!(f.batch.len(), 3);
    }

    #[test]
    fn spending_a_flushed_coin_writes_a_deletion() {
        let cache = UtxoCache::new(1 << 20, false);
        cache.apply(
            &changes(&[1], &[]),
            &mut IndexKeys::default(),
            Created::Fresh,
        );
        cache.flushed();
        assert_eq!(cache.get(&op(1)), Some(Some(coin(1))), "kept clean");
        cache.apply(
            &changes(&[], &[1, 9]),
            &mut IndexKeys::default(),
            Created::Fresh,
        );
        assert_eq!(cache.get(&op(1)), Some(None));
        assert_eq!(cache.get(&op(9)), Some(None));
        let tip = TipRecord {
            hash: Hash::ZERO,
            height: 1,
        };
        assert_eq!(cache.flush_batch(tip).coins, 2);
        cache.flushed();
        assert_eq!(cache.len(), (0, 0));
    }

    #[test]
    fn a_full_cache_is_emptied_by_its_flush() {
        let cache = UtxoCache::new(SLOT_BYTES * 8, false);
        cache.apply(
            &changes(&(0..40).collect::<Vec<u8>>(), &[]),
            &mut IndexKeys::default(),
            Created::Fresh,
        );
        assert!(cache.over_budget());
        cache.flushed();
        assert_eq!(cache.len(), (0, 0));
        assert_eq!(cache.bytes(), 0);
    }

    fn address_of(n: u64) -> Hash {
        coin(n).output.lock.index_key()
    }

    #[test]
    fn the_address_index_moves_with_the_utxo_set() {
        let cache = UtxoCache::new(1 << 20, true);
        let keys = &mut IndexKeys::default();
        cache.apply(&changes(&[1, 2], &[]), keys, Created::Fresh);
        cache.flushed();
        // 3 created and spent between flushes; 1 (flushed) spent; 4 kept.
        cache.apply(&changes(&[3, 4], &[1]), keys, Created::Fresh);
        cache.apply(&changes(&[], &[3]), keys, Created::Fresh);
        {
            let view = cache.hold();
            // Every test coin has the same address.
            assert_eq!(view.address_coins(&address_of(1)), vec![(op(4), coin(4))]);
            assert!(view.get(&op(1)) == Some(None) && view.get(&op(2)) != Some(None));
        }
        let f = cache.flush_batch(TipRecord {
            hash: Hash::ZERO,
            height: 2,
        });
        assert_eq!(f.coins, 2);
        // 1: deleted from both keyspaces; 4: put in both; the tip record.
        let ops: Vec<_> = f
            .batch
            .ops
            .iter()
            .map(|(t, _, v)| (*t, v.is_some()))
            .collect();
        for want in [
            (TableId::Utxos, false),
            (TableId::AddressUtxos, false),
            (TableId::Utxos, true),
            (TableId::AddressUtxos, true),
        ] {
            assert!(ops.contains(&want), "{want:?} in {ops:?}");
        }
        assert_eq!(ops.len(), 5);
        cache.flushed();
        assert!(cache.hold().address_coins(&address_of(1)).is_empty());
    }

    #[test]
    fn a_view_at_a_version_is_refused_once_a_block_or_a_flush_changed_the_cache() {
        let cache = UtxoCache::new(1 << 20, true);
        let keys = &mut IndexKeys::default();
        let v0 = cache.hold().version();
        assert!(cache.hold_at(v0).is_some());
        // Building a flush's batch changes nothing yet.
        let _ = cache.flush_batch(TipRecord {
            hash: Hash::ZERO,
            height: 0,
        });
        assert!(cache.hold_at(v0).is_some());
        cache.apply(&changes(&[1], &[]), keys, Created::Fresh);
        assert!(cache.hold_at(v0).is_none());
        let v1 = cache.hold().version();
        assert!(cache.hold_at(v1).is_some());
        cache.flushed();
        assert!(cache.hold_at(v1).is_none());
        // A disconnection is an application too.
        let v2 = cache.hold().version();
        cache.apply(&changes(&[], &[1]), keys, Created::Fresh);
        assert!(cache.hold_at(v2).is_none());
    }

    #[test]
    fn a_coin_applied_again_at_open_is_deleted_when_spent() {
        let cache = UtxoCache::new(1 << 20, true);
        let keys = &mut IndexKeys::default();
        cache.apply(&changes(&[1], &[]), keys, Created::MaybeStored);
        cache.apply(&changes(&[], &[1]), keys, Created::Fresh);
        assert_eq!(cache.get(&op(1)), Some(None), "kept as spent");
        assert_eq!(cache.hold().get(&op(1)), Some(None));
        let f = cache.flush_batch(TipRecord {
            hash: Hash::ZERO,
            height: 2,
        });
        // Deleted from both keyspaces, and the tip record.
        assert_eq!((f.coins, f.batch.len()), (1, 3));
    }
}
