//! Every keyspace, declared once with its key and value types.
//!
//! Keys are fixed-width and big-endian where order matters (heights), so a
//! scan over a prefix returns rows in a useful order. Values use the
//! canonical codec of `luminex-primitives`.

use std::marker::PhantomData;

use luminex_ledger::{BlockUndo, Coin, ConsensusRecord, StakingUndo, U256};
use luminex_primitives::codec::{put_seq, Decode, DecodeError, Encode, Reader, Sink};
use luminex_primitives::{Amount, CommitCertificate, Hash, Header, OutPoint, Transaction};

/// The identity of a keyspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TableId {
    /// Block hash → header and height.
    Headers,
    /// Block hash → wtxids of its transactions.
    Blocks,
    /// Transaction bodies by wtxid (of every stored block).
    Txs,
    /// Main-chain height → block hash.
    Heights,
    /// Unspent outputs.
    Utxos,
    /// Block hash → undo data.
    Undo,
    /// txid → where the transaction is on the main chain.
    TxIndex,
    /// (address key, height, txid) → what the transaction did to the address.
    AddressTxs,
    /// (address key, outpoint) → coin: the address's unspent outputs.
    AddressUtxos,
    /// Named singletons (tip, finalized block, format version).
    Meta,
    /// Main-chain height → consensus state after that block (BFT chains).
    Consensus,
    /// Main-chain height → the commit certificate that finalized the block.
    Commits,
    /// The staking state after the tip, one entry per validator,
    /// delegation, unbonding entry, node, jail and account (ADR 0031).
    Staking,
    /// Block hash → what undoes the block's staking changes.
    StakingUndo,
}

impl TableId {
    /// Every table.
    pub const ALL: [TableId; 14] = [
        TableId::Headers,
        TableId::Blocks,
        TableId::Txs,
        TableId::Heights,
        TableId::Utxos,
        TableId::Undo,
        TableId::TxIndex,
        TableId::AddressTxs,
        TableId::AddressUtxos,
        TableId::Meta,
        TableId::Consensus,
        TableId::Commits,
        TableId::Staking,
        TableId::StakingUndo,
    ];

    /// The keyspace name on disk.
    pub fn name(self) -> &'static str {
        match self {
            TableId::Headers => "headers",
            TableId::Blocks => "blocks",
            TableId::Txs => "txs",
            TableId::Heights => "heights",
            TableId::Utxos => "utxos",
            TableId::Undo => "undo",
            TableId::TxIndex => "tx_index",
            TableId::AddressTxs => "address_txs",
            TableId::AddressUtxos => "address_utxos",
            TableId::Meta => "meta",
            TableId::Consensus => "consensus",
            TableId::Commits => "commits",
            TableId::Staking => "staking",
            TableId::StakingUndo => "staking_undo",
        }
    }
}

/// A typed table: its id and, at the type level, its key and value types.
pub struct Table<K, V> {
    /// Which keyspace.
    pub id: TableId,
    _types: PhantomData<fn() -> (K, V)>,
}

impl<K, V> Clone for Table<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K, V> Copy for Table<K, V> {}

impl<K, V> Table<K, V> {
    const fn new(id: TableId) -> Self {
        Table {
            id,
            _types: PhantomData,
        }
    }
}

/// A key type: encodes to bytes whose order is the intended scan order.
pub trait Key: Sized {
    /// The key bytes.
    fn to_key(&self) -> Vec<u8>;
    /// Parses key bytes.
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError>;
}

impl Key for Hash {
    fn to_key(&self) -> Vec<u8> {
        self.0.to_vec()
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        Hash::decode_all(bytes)
    }
}

impl Key for u64 {
    fn to_key(&self) -> Vec<u8> {
        self.to_be_bytes().to_vec()
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        let a: [u8; 8] = bytes
            .try_into()
            .map_err(|_| DecodeError::UnexpectedEnd("height key"))?;
        Ok(u64::from_be_bytes(a))
    }
}

impl Key for OutPoint {
    fn to_key(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(36);
        k.extend_from_slice(&self.txid.0);
        k.extend_from_slice(&self.vout.to_be_bytes());
        k
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != 36 {
            return Err(DecodeError::UnexpectedEnd("outpoint key"));
        }
        Ok(OutPoint {
            txid: Hash::from_slice(&bytes[..32])
                .ok_or(DecodeError::UnexpectedEnd("outpoint key"))?,
            vout: u32::from_be_bytes(
                bytes[32..]
                    .try_into()
                    .map_err(|_| DecodeError::UnexpectedEnd("vout"))?,
            ),
        })
    }
}

impl Key for Vec<u8> {
    fn to_key(&self) -> Vec<u8> {
        self.clone()
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        Ok(bytes.to_vec())
    }
}

/// A value stored as its bytes: a staking-state entry, already in its
/// canonical encoding (`StakingState::entries`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawValue(pub Vec<u8>);

impl Encode for RawValue {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.0);
    }
}

impl Decode for RawValue {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.remaining();
        Ok(RawValue(r.take(n, "raw value")?.to_vec()))
    }
}

impl Key for String {
    fn to_key(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        String::from_utf8(bytes.to_vec()).map_err(|_| DecodeError::OutOfRange { field: "meta key" })
    }
}

/// Key of [`ADDRESS_TXS`]: address index key, height, txid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressTxKey {
    /// [`luminex_primitives::Lock::index_key`] of the address.
    pub address: Hash,
    /// Height of the block.
    pub height: u64,
    /// The transaction.
    pub txid: Hash,
}

impl Key for AddressTxKey {
    fn to_key(&self) -> Vec<u8> {
        let mut k = Vec::with_capacity(72);
        k.extend_from_slice(&self.address.0);
        k.extend_from_slice(&self.height.to_be_bytes());
        k.extend_from_slice(&self.txid.0);
        k
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != 72 {
            return Err(DecodeError::UnexpectedEnd("address tx key"));
        }
        Ok(AddressTxKey {
            address: Hash::from_slice(&bytes[..32]).ok_or(DecodeError::UnexpectedEnd("address"))?,
            height: u64::from_key(&bytes[32..40])?,
            txid: Hash::from_slice(&bytes[40..]).ok_or(DecodeError::UnexpectedEnd("txid"))?,
        })
    }
}

/// Key of [`ADDRESS_UTXOS`]: address index key and outpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressUtxoKey {
    /// [`luminex_primitives::Lock::index_key`] of the address.
    pub address: Hash,
    /// The output.
    pub outpoint: OutPoint,
}

impl Key for AddressUtxoKey {
    fn to_key(&self) -> Vec<u8> {
        let mut k = self.address.0.to_vec();
        k.extend_from_slice(&self.outpoint.to_key());
        k
    }
    fn from_key(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() != 68 {
            return Err(DecodeError::UnexpectedEnd("address utxo key"));
        }
        Ok(AddressUtxoKey {
            address: Hash::from_slice(&bytes[..32]).ok_or(DecodeError::UnexpectedEnd("address"))?,
            outpoint: OutPoint::from_key(&bytes[32..])?,
        })
    }
}

/// A stored header with its height, the cumulative work of its branch, and
/// whether it was found invalid.
///
/// On disk only the block that failed (flag 1) or that the operator
/// invalidated (flag 2, `invalidateblock`) is marked; in memory its
/// descendants are marked too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeaderRecord {
    /// The header.
    pub header: Header,
    /// Its height.
    pub height: u64,
    /// Total work from genesis to this block.
    pub chain_work: U256,
    /// The block (or an ancestor) failed validation or was invalidated by
    /// the operator.
    pub invalid: bool,
    /// Invalid only by the operator's choice (`invalidateblock` on the
    /// block or an ancestor), not because anything failed: no peer is at
    /// fault for offering it.
    pub invalidated: bool,
}

impl Encode for HeaderRecord {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.header.encode_to(s);
        s.put(&self.height.to_le_bytes());
        s.put(&self.chain_work.to_be_bytes::<32>());
        s.put(&[match (self.invalid, self.invalidated) {
            (false, _) => 0,
            (true, false) => 1,
            (true, true) => 2,
        }]);
    }
}
impl Decode for HeaderRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let header = Header::decode(r)?;
        let height = r.u64("height")?;
        let chain_work = U256::from_be_bytes(r.array::<32>("chain work")?);
        let (invalid, invalidated) = match r.u8("invalid flag")? {
            0 => (false, false),
            1 => (true, false),
            2 => (true, true),
            _ => {
                return Err(DecodeError::OutOfRange {
                    field: "invalid flag",
                })
            }
        };
        Ok(HeaderRecord {
            header,
            height,
            chain_work,
            invalid,
            invalidated,
        })
    }
}

/// The wtxids of a block's transactions, in order, and on BFT chains the
/// parent's certificate the block carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockBody {
    /// wtxids.
    pub wtxids: Vec<Hash>,
    /// The block's `last_commit` (encoded only when present, so bodies of
    /// other chains keep their layout).
    pub last_commit: Option<CommitCertificate>,
}

impl Encode for BlockBody {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        put_seq(s, &self.wtxids);
        if let Some(c) = &self.last_commit {
            s.put(&[1]);
            c.encode_to(s);
        }
    }
}
impl Decode for BlockBody {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let wtxids = r.seq(
            "block body",
            luminex_primitives::block::MAX_BLOCK_TXS,
            Hash::decode,
        )?;
        let last_commit = if r.remaining() == 0 {
            None
        } else {
            match r.u8("last commit flag")? {
                1 => Some(CommitCertificate::decode(r)?),
                tag => {
                    return Err(DecodeError::UnknownTag {
                        field: "last commit flag",
                        tag: tag.into(),
                    })
                }
            }
        };
        Ok(BlockBody {
            wtxids,
            last_commit,
        })
    }
}

/// Where a main-chain transaction is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxLocation {
    /// Its block.
    pub block: Hash,
    /// The block's height.
    pub height: u64,
    /// Position in the block.
    pub index: u32,
    /// Its wtxid (key into [`TXS`]).
    pub wtxid: Hash,
}

impl Encode for TxLocation {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.block.encode_to(s);
        s.put(&self.height.to_le_bytes());
        s.put(&self.index.to_le_bytes());
        self.wtxid.encode_to(s);
    }
}
impl Decode for TxLocation {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxLocation {
            block: Hash::decode(r)?,
            height: r.u64("height")?,
            index: r.u32("index")?,
            wtxid: Hash::decode(r)?,
        })
    }
}

/// What a transaction did to one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AddressDelta {
    /// Paid to the address.
    pub received: Amount,
    /// Spent from the address.
    pub sent: Amount,
}

impl Encode for AddressDelta {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.received.encode_to(s);
        self.sent.encode_to(s);
    }
}
impl Decode for AddressDelta {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AddressDelta {
            received: Amount::decode(r)?,
            sent: Amount::decode(r)?,
        })
    }
}

/// The main-chain tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TipRecord {
    /// Tip hash.
    pub hash: Hash,
    /// Tip height.
    pub height: u64,
}

impl Encode for TipRecord {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.hash.encode_to(s);
        s.put(&self.height.to_le_bytes());
    }
}
impl Decode for TipRecord {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TipRecord {
            hash: Hash::decode(r)?,
            height: r.u64("height")?,
        })
    }
}

/// Headers by block hash.
pub const HEADERS: Table<Hash, HeaderRecord> = Table::new(TableId::Headers);
/// Block bodies (wtxid lists) by block hash.
pub const BLOCKS: Table<Hash, BlockBody> = Table::new(TableId::Blocks);
/// Transactions by wtxid.
pub const TXS: Table<Hash, Transaction> = Table::new(TableId::Txs);
/// Main-chain block hash by height.
pub const HEIGHTS: Table<u64, Hash> = Table::new(TableId::Heights);
/// The UTXO set.
pub const UTXOS: Table<OutPoint, Coin> = Table::new(TableId::Utxos);
/// Undo data by block hash.
pub const UNDO: Table<Hash, BlockUndo> = Table::new(TableId::Undo);
/// Main-chain transaction locations by txid.
pub const TX_INDEX: Table<Hash, TxLocation> = Table::new(TableId::TxIndex);
/// Address history.
pub const ADDRESS_TXS: Table<AddressTxKey, AddressDelta> = Table::new(TableId::AddressTxs);
/// Unspent outputs by address.
pub const ADDRESS_UTXOS: Table<AddressUtxoKey, Coin> = Table::new(TableId::AddressUtxos);
/// The tip.
pub const META_TIP: Table<String, TipRecord> = Table::new(TableId::Meta);

/// Key of the tip in [`META_TIP`].
pub const TIP_KEY: &str = "tip";
/// The highest final block (never disconnected).
pub const META_FINALIZED: Table<String, TipRecord> = Table::new(TableId::Meta);
/// The database's format version ([`FORMAT_VERSION`] when written).
pub const META_FORMAT: Table<String, FormatVersion> = Table::new(TableId::Meta);
/// Key of the format version in [`META_FORMAT`].
pub const FORMAT_KEY: &str = "format";
/// The format this code writes. A database without a version was written
/// before versions were recorded, in format 1.
///
/// Format 2 (ADR 0032): the `utxos` keyspace may lag the tip — it is
/// current to the block in [`META_UTXO_TIP`], and the blocks after it are
/// applied again at open. A format-1 database (whose `utxos` keyspace
/// always matched the tip) is upgraded by recording its tip there; a build
/// that reads only format 1 refuses a format-2 database rather than take a
/// lagging UTXO set for the tip's.
///
/// Format 3 (ADR 0057): the address-UTXO index ([`ADDRESS_UTXOS`]) lags
/// with the `utxos` keyspace — it is written when the UTXO cache is
/// flushed, current to the same block. A format-2 database (whose index
/// matched the tip) needs no rewrite: the blocks applied again at open
/// bring both up to the tip, taking the coins they create as perhaps
/// stored already, so that spending one deletes its index row. A build that reads only formats 1–2 refuses a
/// format-3 database rather than serve a lagging index as the tip's.
///
/// Format 4: the address history ([`ADDRESS_TXS`]) has rows for the coins
/// the ledger pays on staking chains (ADR 0031: matured unbonding entries
/// and rewards, outputs of no transaction), received at the height paid
/// under the unbonding transaction's or the coinbase's txid. An older
/// database is upgraded at open from its stored staking undo data, in the
/// batch that records the new version.
pub const FORMAT_VERSION: u32 = 4;
/// The oldest format this code reads (and upgrades).
pub const OLDEST_FORMAT: u32 = 1;
/// The block the `utxos` keyspace (and, from format 3, the address-UTXO
/// index) is current to.
pub const META_UTXO_TIP: Table<String, TipRecord> = Table::new(TableId::Meta);
/// Key of that block in [`META_UTXO_TIP`].
pub const UTXO_TIP_KEY: &str = "utxo_tip";
/// The optional indexes the database keeps. A database without the record
/// kept them all.
pub const META_INDEXES: Table<String, IndexSet> = Table::new(TableId::Meta);
/// Key of the index set in [`META_INDEXES`].
pub const INDEXES_KEY: &str = "indexes";

/// Which optional indexes a chain store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexSet {
    /// The transaction index ([`TX_INDEX`]): a main-chain transaction by
    /// txid (the explorer, `getrawtransaction`).
    pub tx: bool,
    /// The address indexes ([`ADDRESS_TXS`], [`ADDRESS_UTXOS`]): an
    /// address's history, coins and balance (the explorer, wallets).
    pub address: bool,
}

impl IndexSet {
    /// Every index.
    pub const ALL: IndexSet = IndexSet {
        tx: true,
        address: true,
    };
}

impl Encode for IndexSet {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&[u8::from(self.tx) | (u8::from(self.address) << 1)]);
    }
}

impl Decode for IndexSet {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let flags = r.u8("index flags")?;
        if flags > 3 {
            return Err(DecodeError::OutOfRange {
                field: "index flags",
            });
        }
        Ok(IndexSet {
            tx: flags & 1 != 0,
            address: flags & 2 != 0,
        })
    }
}

/// The format version of a database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatVersion(pub u32);

impl Encode for FormatVersion {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.0.to_le_bytes());
    }
}

impl Decode for FormatVersion {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(FormatVersion(r.u32("format version")?))
    }
}

/// Key of the finalized block in [`META_FINALIZED`].
pub const FINALIZED_KEY: &str = "finalized";
/// Consensus state after each main-chain block (BFT chains).
pub const CONSENSUS: Table<u64, ConsensusRecord> = Table::new(TableId::Consensus);
/// The certificate that finalized each main-chain block (BFT chains).
pub const COMMITS: Table<u64, CommitCertificate> = Table::new(TableId::Commits);
/// The staking state's entries (chains with a `[staking]` table).
pub const STAKING: Table<Vec<u8>, RawValue> = Table::new(TableId::Staking);
/// Staking undo data by block hash (chains with a `[staking]` table).
pub const STAKING_UNDO: Table<Hash, StakingUndo> = Table::new(TableId::StakingUndo);
