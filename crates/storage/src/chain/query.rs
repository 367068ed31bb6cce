//! Reads: coins, headers, blocks (decoded or as stored), transactions and
//! address data.

use super::*;

/// Tries a scan of the UTXO set or an address's coins makes without
/// holding the UTXO cache — every block connected and every lookup of a
/// coin waits while it is held — each started again when a block or a
/// flush changed the cache meanwhile; after them the scan holds the cache
/// throughout (when blocks arrive faster than the scan reads, as in sync).
const OPTIMISTIC_SCANS: usize = 2;

impl ChainStore {
    /// The unspent coin at `op`: from the UTXO cache, else the database.
    pub fn coin(&self, op: &OutPoint) -> Result<Option<Coin>, StoreError> {
        match self.utxos.get(op) {
            Some(cached) => Ok(cached),
            None => self.kv.get(UTXOS, op),
        }
    }

    /// The unspent coins among `ops` (missing ones are left out): those the
    /// UTXO cache knows, then the rest from the database on every core.
    pub fn load_coins<'a>(
        &self,
        ops: impl IntoIterator<Item = &'a OutPoint>,
    ) -> Result<HashMap<OutPoint, Coin>, StoreError> {
        let mut out = HashMap::new();
        let mut missing: Vec<&OutPoint> = Vec::new();
        for op in ops {
            match self.utxos.get(op) {
                Some(Some(c)) => {
                    out.insert(*op, c);
                }
                Some(None) => {}
                None => missing.push(op),
            }
        }
        let found: Result<Vec<Option<Coin>>, StoreError> = missing
            .par_iter()
            .map(|op| self.kv.get(UTXOS, op))
            .collect();
        out.extend(
            missing
                .into_iter()
                .zip(found?)
                .filter_map(|(op, c)| c.map(|c| (*op, c))),
        );
        Ok(out)
    }

    /// What a stored block spent from before it (its undo data: every coin
    /// with its outpoint), from the recent blocks when kept there; `None`
    /// for a block never connected (a side branch's) or genesis.
    pub fn block_undo(&self, hash: &Hash) -> Result<Option<BlockUndo>, StoreError> {
        if let Some((_, main)) = self.recent.main(hash) {
            return Ok(Some(main.undo.clone()));
        }
        self.kv.get(UNDO, hash)
    }

    /// The header record of a block.
    pub fn header(&self, hash: &Hash) -> Result<Option<HeaderRecord>, StoreError> {
        self.kv.get(HEADERS, hash)
    }

    /// The main-chain block hash at `height`.
    pub fn hash_at(&self, height: u64) -> Result<Option<Hash>, StoreError> {
        self.kv.get(HEIGHTS, &height)
    }

    /// A stored block by hash (from the recent blocks kept in memory when
    /// it is among them: explorers, wallets and the load generator read
    /// the blocks just made).
    pub fn block(&self, hash: &Hash) -> Result<Option<Block>, StoreError> {
        if let Some(b) = self.recent.block(hash) {
            return Ok(Some(Block::clone(&b)));
        }
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
            last_commit: body.last_commit,
        }))
    }

    /// A stored block in its canonical encoding (what [`Block::encode`]
    /// gives), put together from the stored transactions without decoding
    /// them: serving blocks to peers is mostly this.
    pub fn block_encoded(&self, hash: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(b) = self.recent.block(hash) {
            return Ok(Some(b.encode()));
        }
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
        if h.header.is_bft() {
            match &body.last_commit {
                None => out.push(0),
                Some(c) => {
                    out.push(1);
                    c.encode_to(&mut out);
                }
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
        self.need_tx_index()?;
        let Some(location) = self.kv.get(TX_INDEX, txid)? else {
            return Ok(None);
        };
        Ok(self
            .kv
            .get(TXS, &location.wtxid)?
            .map(|tx| StoredTx { tx, location }))
    }

    /// Up to `limit` unspent outputs of an address, in outpoint order: the
    /// address-UTXO index's rows with the UTXO cache's changes applied, as
    /// of one state of the chain. The rows are read without holding the
    /// cache, so a large address does not stall block connection or
    /// admission, which read coins through it.
    pub fn address_utxos(
        &self,
        lock: &Lock,
        limit: usize,
    ) -> Result<Vec<(OutPoint, Coin)>, StoreError> {
        self.need_address_index()?;
        let address = lock.index_key();
        for _ in 0..OPTIMISTIC_SCANS {
            if let Some(coins) = self.address_utxos_scan(&address, limit, false)? {
                return Ok(coins);
            }
        }
        self.address_utxos_scan(&address, limit, true)?
            .ok_or_else(|| StoreError::Engine("the UTXO cache changed while held".into()))
    }

    /// One try of [`ChainStore::address_utxos`]: `None` when the cache
    /// changed between reading its coins and filtering a page of rows
    /// with it (never when `held`, which holds the cache throughout).
    fn address_utxos_scan(
        &self,
        address: &Hash,
        limit: usize,
        held: bool,
    ) -> Result<Option<Vec<(OutPoint, Coin)>>, StoreError> {
        /// Rows read at a time: rows the cache holds as spent are skipped,
        /// so a page may give fewer than it read.
        const PAGE: usize = 1_000;
        let first = self.utxos.hold();
        let version = first.version();
        let mut coins = first.address_coins(address);
        let held = held.then_some(first);
        let from_cache = coins.len();
        let mut after: Option<Vec<u8>> = None;
        // Every unspent coin among the first `limit` is either listed by
        // the cache or among the first `limit` unspent rows.
        while coins.len() - from_cache < limit {
            let page = limit.clamp(1, PAGE);
            let rows = self
                .kv
                .scan(ADDRESS_UTXOS, &address.0, after.as_deref(), false, page)?;
            let read = rows.len();
            if let Some((k, _)) = rows.last() {
                after = Some(k.to_key());
            }
            let now;
            let cache = match &held {
                Some(cache) => cache,
                None => match self.utxos.hold_at(version) {
                    Some(cache) => {
                        now = cache;
                        &now
                    }
                    None => return Ok(None),
                },
            };
            // A row the cache holds as spent is skipped; one it holds as
            // unspent takes the cache's value, which may be newer (the
            // row's height is the block the coin's transaction was in at
            // the last flush, before a reorganisation moved it).
            coins.extend(
                rows.into_iter()
                    .filter_map(|(k, c)| match cache.get(&k.outpoint) {
                        Some(Some(cached)) => Some((k.outpoint, cached)),
                        Some(None) => None,
                        None => Some((k.outpoint, c)),
                    }),
            );
            if read < page {
                break;
            }
        }
        drop(held);
        // `OutPoint`'s order is its key's (txid bytes, then vout); a coin
        // both listed by the cache and on disk comes once.
        coins.sort_unstable_by_key(|(op, _)| *op);
        coins.dedup_by_key(|(op, _)| *op);
        coins.truncate(limit);
        Ok(Some(coins))
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
        self.need_address_index()?;
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

    /// The optional indexes this store keeps.
    pub fn indexes(&self) -> IndexSet {
        self.indexes
    }

    fn need_tx_index(&self) -> Result<(), StoreError> {
        match self.indexes.tx {
            true => Ok(()),
            false => Err(StoreError::IndexOff {
                index: "transaction index",
                option: "--txindex",
            }),
        }
    }

    fn need_address_index(&self) -> Result<(), StoreError> {
        match self.indexes.address {
            true => Ok(()),
            false => Err(StoreError::IndexOff {
                index: "address indexes",
                option: "--addressindex",
            }),
        }
    }

    /// Every coin in the UTXO set: the database's, with the UTXO cache's
    /// changes applied, as of one state of the chain (read without holding
    /// the cache, as [`ChainStore::address_utxos`] is).
    pub fn all_utxos(&self) -> Result<HashMap<OutPoint, Coin>, StoreError> {
        self.with_all_utxos(|utxos, _| utxos)
    }

    /// The value of every coin in the UTXO set, base units: counted once by
    /// a scan of the set, then kept by every block connected or
    /// disconnected (as Bitcoin Core's coin statistics index keeps its
    /// totals), so asking again costs nothing.
    pub fn utxo_value(&self) -> Result<u128, StoreError> {
        if let Some(total) = self.utxos.hold().total() {
            return Ok(total);
        }
        self.with_all_utxos(|utxos, cache| {
            let total: u128 = utxos
                .values()
                .map(|c| u128::from(c.output.amount.base()))
                .sum();
            cache.set_total(total);
            total
        })
    }

    /// The tip and the value of every coin that exists at it: in the UTXO
    /// set and, on staking chains, held by the staking state (bonded,
    /// unbonding, the reward pot), all of the same tip. A block changes
    /// the three one after another, so they are read again while one is
    /// being applied (a live walk saw `/stats` give the supply of one
    /// block with the height of the one before).
    pub fn tip_and_supply(&self) -> Result<(Tip, u128), StoreError> {
        use std::sync::atomic::Ordering::SeqCst;
        // Counted once by a scan, outside the loop; kept by blocks after.
        self.utxo_value()?;
        loop {
            let before = self.state_seq.load(SeqCst);
            if before.is_multiple_of(2) {
                let tip = self.tip();
                let supply = self.utxo_value()? + self.staking.read().held();
                if self.state_seq.load(SeqCst) == before {
                    return Ok((tip, supply));
                }
            }
            // A block is being applied (its batch may be syncing): a
            // moment, not a spin.
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Calls `f` with every coin in the UTXO set and the cache held at the
    /// state the set is of.
    fn with_all_utxos<R>(
        &self,
        f: impl FnOnce(HashMap<OutPoint, Coin>, &mut super::utxo_cache::CacheView<'_>) -> R,
    ) -> Result<R, StoreError> {
        let scan = || -> Result<HashMap<OutPoint, Coin>, StoreError> {
            Ok(self
                .kv
                .scan(UTXOS, &[], None, false, usize::MAX)?
                .into_iter()
                .collect())
        };
        for _ in 0..OPTIMISTIC_SCANS {
            let version = self.utxos.hold().version();
            let mut utxos = scan()?;
            if let Some(mut cache) = self.utxos.hold_at(version) {
                cache.overlay(&mut utxos);
                return Ok(f(utxos, &mut cache));
            }
        }
        let mut cache = self.utxos.hold();
        let mut utxos = scan()?;
        cache.overlay(&mut utxos);
        Ok(f(utxos, &mut cache))
    }
}
