//! The chain on top of a [`KvStore`]: connect and disconnect blocks, each in
//! one atomic synced batch, and read blocks, transactions and address data.

use std::collections::HashMap;
use std::sync::Arc;

use luminex_ledger::{
    connect_block, connect_genesis, disconnect_block, BlockContext, BlockError, ChainSpec, Coin,
    Connected, SigCache, UtxoChanges,
};
use luminex_primitives::{Amount, Block, Hash, Header, Lock, OutPoint, Transaction, TxOut};
use parking_lot::{Mutex, RwLock};

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
    tip: RwLock<Tip>,
    /// Serialises writers; readers never wait for it.
    write: Mutex<()>,
}

impl ChainStore {
    /// Opens the chain in `kv`, writing the genesis block of `spec` if the
    /// store is empty.
    pub fn open(kv: Arc<dyn KvStore>, spec: ChainSpec) -> Result<ChainStore, ChainError> {
        let genesis = spec.genesis_block();
        let gh = genesis.hash();
        let tip = match kv.get(META_TIP, &TIP_KEY.to_string())? {
            None => {
                let c = connect_genesis(&genesis);
                let batch = connect_batch(&genesis, 0, &c, &HashMap::new());
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
        let header = kv
            .get(HEADERS, &tip.hash)?
            .ok_or_else(|| ChainError::Inconsistent(format!("tip {} has no header", tip.hash)))?
            .header;
        Ok(ChainStore {
            kv,
            spec,
            tip: RwLock::new(Tip {
                hash: tip.hash,
                height: tip.height,
                header,
            }),
            write: Mutex::new(()),
        })
    }

    /// The chain spec.
    pub fn spec(&self) -> &ChainSpec {
        &self.spec
    }

    /// The current tip.
    pub fn tip(&self) -> Tip {
        *self.tip.read()
    }

    /// Bytes on disk.
    pub fn disk_space(&self) -> u64 {
        self.kv.disk_space()
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
        let mut m = HashMap::new();
        for op in ops {
            if let Some(c) = self.coin(op)? {
                m.insert(*op, c);
            }
        }
        Ok(m)
    }

    /// Validates `block` on the tip and commits it with its UTXO changes,
    /// undo data and indexes in one synced batch.
    pub fn connect(
        &self,
        block: &Block,
        now: u64,
        cache: &SigCache,
    ) -> Result<Connected, ChainError> {
        let _w = self.write.lock();
        let tip = self.tip();
        if block.header.prev_hash != tip.hash {
            return Err(BlockError::BadParent.into());
        }
        let coins = self.load_coins(block.txs.iter().skip(1).flat_map(|t| t.inputs.iter()))?;
        let ctx = BlockContext {
            height: tip.height + 1,
            prev_hash: tip.hash,
            prev_time: tip.header.time,
            now,
        };
        let connected = connect_block(block, &coins, &ctx, &self.spec, cache)?;
        let batch = connect_batch(block, ctx.height, &connected, &coins);
        self.kv.commit(batch)?;
        *self.tip.write() = Tip {
            hash: block.hash(),
            height: ctx.height,
            header: block.header,
        };
        Ok(connected)
    }

    /// Disconnects the tip block in one synced batch and returns it.
    pub fn disconnect_tip(&self) -> Result<Block, ChainError> {
        let _w = self.write.lock();
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
        for (key, _) in address_deltas(&block, &txids, tip.height, &spent_coins) {
            b.delete(ADDRESS_TXS, &key);
        }
        utxo_batch(&mut b, &changes);
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
        *self.tip.write() = Tip {
            hash: block.header.prev_hash,
            height: tip.height - 1,
            header: parent.header,
        };
        Ok(block)
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
                        prev_time: p.time,
                        now: u64::from(block.header.time),
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

/// Adds the UTXO set and address-UTXO changes to a batch.
fn utxo_batch(b: &mut Batch, changes: &UtxoChanges) {
    for (op, coin) in &changes.spent {
        b.delete(UTXOS, op);
        b.delete(
            ADDRESS_UTXOS,
            &AddressUtxoKey {
                address: coin.output.lock.index_key(),
                outpoint: *op,
            },
        );
    }
    for (op, coin) in &changes.created {
        b.put(UTXOS, op, coin);
        b.put(
            ADDRESS_UTXOS,
            &AddressUtxoKey {
                address: coin.output.lock.index_key(),
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
                let d = per.entry(o.lock.index_key()).or_default();
                d.sent = d.sent.checked_add(o.amount).unwrap_or(Amount::MAX);
            }
        }
        for (vout, o) in tx.outputs.iter().enumerate() {
            let d = per.entry(o.lock.index_key()).or_default();
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

/// Everything that connecting `block` at `height` writes, as one batch.
fn connect_batch(
    block: &Block,
    height: u64,
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
        },
    );
    let wtxids: Vec<Hash> = block.txs.iter().map(|t| t.wtxid()).collect();
    for (index, (tx, wtxid)) in block.txs.iter().zip(&wtxids).enumerate() {
        b.put(TXS, wtxid, tx);
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
    b.put(BLOCKS, &hash, &BlockBody { wtxids });
    b.put(HEIGHTS, &height, &hash);
    b.put(UNDO, &hash, &c.undo);
    for (key, delta) in address_deltas(block, &c.txids, height, coins) {
        b.put(ADDRESS_TXS, &key, &delta);
    }
    utxo_batch(&mut b, &c.changes);
    b.put(META_TIP, &TIP_KEY.to_string(), &TipRecord { hash, height });
    b
}
