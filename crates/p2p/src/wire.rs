//! What peers send each other: gossip payloads and the request/response
//! protocol, in the project's canonical codec, with optional zstd
//! compression of large payloads.
//!
//! Every frame starts with one byte saying how its body is stored
//! (0 = plain, 1 = zstd). Decompression is bounded: a frame that would
//! inflate past its limit is refused before the memory is spent.

use std::borrow::Cow;

use luminex_primitives::codec::{put_length, put_seq, Sink};
use luminex_primitives::{
    Block, CommitCertificate, Decode, DecodeError, Encode, Hash, Header, Reader, Transaction,
};

use crate::compact::CompactBlock;

/// Most hashes in a block locator.
pub const MAX_LOCATOR: u64 = 64;
/// Most headers in one response.
pub const MAX_HEADERS: u64 = 2_000;
/// Most blocks asked for in one request.
pub const MAX_BLOCKS_PER_REQUEST: u64 = 128;
/// Most certified blocks asked for in one request (BFT catch-up).
pub const MAX_CERTIFIED_PER_REQUEST: u64 = 16;
/// Bodies at least this large are compressed.
pub const COMPRESS_FROM: usize = 1_024;

const PLAIN: u8 = 0;
const ZSTD: u8 = 1;

/// Why bytes from a peer were refused.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Empty frame.
    #[error("empty frame")]
    Empty,
    /// The first byte names no encoding.
    #[error("unknown frame encoding {0}")]
    UnknownEncoding(u8),
    /// The frame (or what it inflates to) is larger than allowed.
    #[error("frame exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// zstd could not decode the body.
    #[error("corrupt compressed frame: {0}")]
    Corrupt(String),
    /// A batch of gossiped transactions holds none.
    #[error("empty transaction batch")]
    EmptyBatch,
    /// The body is not a canonical encoding.
    #[error(transparent)]
    Decode(#[from] DecodeError),
}

/// zstd level for frames: a fast negative level. Blocks compress mostly
/// through long repeats (public keys of reused addresses), which the fast
/// levels find as well as level 1 — measured on sync responses: the same
/// ratio (1.63) at twice the speed.
const ZSTD_LEVEL: i32 = -3;

/// Encodes a value into a frame, compressing it when that pays.
pub fn to_frame<T: Encode>(value: &T) -> Vec<u8> {
    let mut frame = to_plain_frame(value);
    let body = &frame[1..];
    if body.len() >= COMPRESS_FROM && compressible(body) {
        if let Ok(c) = zstd::bulk::compress(body, ZSTD_LEVEL) {
            if c.len() + 1 < frame.len() {
                frame.clear();
                frame.push(ZSTD);
                frame.extend_from_slice(&c);
            }
        }
    }
    frame
}

/// Encodes a value into an uncompressed frame, for what is known not to
/// compress: a transaction is mostly an ML-DSA key and signature (random
/// bytes), and trying zstd on every gossiped one took a tenth of a node's
/// CPU under the load generator, for nothing.
pub fn to_plain_frame<T: Encode>(value: &T) -> Vec<u8> {
    let mut frame = Vec::with_capacity(value.encoded_len() + 1);
    frame.push(PLAIN);
    value.encode_to(&mut frame);
    frame
}

/// Whether compressing `body` is worth it: large bodies are judged by a
/// 64 KiB sample, since blocks are mostly ML-DSA signatures and keys, which
/// do not compress, and zstd over megabytes of them is wasted time.
fn compressible(body: &[u8]) -> bool {
    const SAMPLE: usize = 64 * 1024;
    if body.len() <= 4 * SAMPLE {
        return true;
    }
    let mid = body.len() / 2;
    let sample = &body[mid..mid + SAMPLE];
    zstd::bulk::compress(sample, ZSTD_LEVEL).is_ok_and(|c| c.len() < SAMPLE * 9 / 10)
}

/// The body of a frame, inflated if needed, at most `limit` bytes.
pub fn frame_body(frame: &[u8], limit: usize) -> Result<Cow<'_, [u8]>, WireError> {
    let (&kind, body) = frame.split_first().ok_or(WireError::Empty)?;
    match kind {
        PLAIN if body.len() > limit => Err(WireError::TooLarge { limit }),
        PLAIN => Ok(Cow::Borrowed(body)),
        ZSTD => {
            // The declared size is checked first so a small bomb cannot make
            // us allocate `limit` bytes for nothing; frames declare it (ours
            // always do), and the output buffer is then exactly that large.
            let declared = match zstd::zstd_safe::get_frame_content_size(body) {
                Ok(Some(n)) if n > limit as u64 => return Err(WireError::TooLarge { limit }),
                Ok(n) => n,
                Err(_) => return Err(WireError::Corrupt("bad zstd header".into())),
            };
            let capacity = declared.map_or(limit, |n| n as usize);
            zstd::bulk::decompress(body, capacity)
                .map(Cow::Owned)
                .map_err(|e| {
                    if declared.is_none()
                        && e.to_string().contains("Destination buffer is too small")
                    {
                        WireError::TooLarge { limit }
                    } else {
                        WireError::Corrupt(e.to_string())
                    }
                })
        }
        k => Err(WireError::UnknownEncoding(k)),
    }
}

/// Decodes a frame holding exactly one `T` of at most `limit` bytes.
pub fn from_frame<T: Decode>(frame: &[u8], limit: usize) -> Result<T, WireError> {
    let body = frame_body(frame, limit)?;
    Ok(T::decode_all(&body)?)
}

/// Most transactions in one gossiped batch (ADR 0043).
pub const MAX_TX_BATCH: usize = 1_024;

/// The gossip frame of a batch of transactions, given in their canonical
/// encodings (ADR 0043): a plain frame holding the count, then each
/// transaction as length-prefixed bytes, so a receiver bounds each one
/// before decoding it. Not compressed: transactions are mostly ML-DSA keys
/// and signatures (see [`to_plain_frame`]).
pub fn tx_batch_frame<T: AsRef<[u8]>>(txs: &[T]) -> Vec<u8> {
    let bytes: usize = txs.iter().map(|t| t.as_ref().len() + 9).sum();
    let mut frame = Vec::with_capacity(1 + 9 + bytes);
    frame.push(PLAIN);
    put_length(&mut frame, txs.len());
    for t in txs {
        let t = t.as_ref();
        put_length(&mut frame, t.len());
        frame.extend_from_slice(t);
    }
    frame
}

/// The transactions of a batch frame of at most `limit` bytes: at least
/// one and at most [`MAX_TX_BATCH`], each at most `max_tx_bytes` and a
/// canonical encoding spanning exactly its length.
pub fn txs_from_batch_frame(
    frame: &[u8],
    limit: usize,
    max_tx_bytes: usize,
) -> Result<Vec<Transaction>, WireError> {
    let body = frame_body(frame, limit)?;
    let mut r = Reader::new(&body);
    let txs = r.seq("batched transactions", MAX_TX_BATCH as u64, |r| {
        Transaction::decode_all(r.bytes("batched transaction", max_tx_bytes as u64)?)
    })?;
    r.finish()?;
    if txs.is_empty() {
        return Err(WireError::EmptyBatch);
    }
    Ok(txs)
}

/// The first byte of a transaction-topic frame that announces txids
/// instead of carrying transactions (ADR 0047); a batch frame starts with
/// a frame encoding byte (0 or 1) instead.
const TX_ANNOUNCE: u8 = 0x10;

/// The gossip frame announcing the transactions `txids` (at least one, at
/// most [`MAX_TX_BATCH`]): peers that lack them ask the announcer with
/// [`Request::Txs`] (ADR 0047).
pub fn tx_announce_frame(txids: &[Hash]) -> Vec<u8> {
    let mut frame = Vec::with_capacity(1 + 9 + 32 * txids.len());
    frame.push(TX_ANNOUNCE);
    put_seq(&mut frame, txids);
    frame
}

/// Whether a transaction-topic frame is an announcement of txids (rather
/// than a batch of transactions).
pub fn is_tx_announcement(frame: &[u8]) -> bool {
    frame.first() == Some(&TX_ANNOUNCE)
}

/// The txids of an announcement frame: at least one, at most
/// [`MAX_TX_BATCH`], nothing after them.
pub fn txids_from_announce_frame(frame: &[u8]) -> Result<Vec<Hash>, WireError> {
    let (&kind, body) = frame.split_first().ok_or(WireError::Empty)?;
    if kind != TX_ANNOUNCE {
        return Err(WireError::UnknownEncoding(kind));
    }
    let mut r = Reader::new(body);
    let txids = r.seq("announced txids", MAX_TX_BATCH as u64, Hash::decode)?;
    r.finish()?;
    if txids.is_empty() {
        return Err(WireError::EmptyBatch);
    }
    Ok(txids)
}

/// What a node is for, as it tells its peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Validates and relays; produces nothing.
    Full,
    /// Produces blocks (a miner, a dev producer or a validator).
    Producer,
}

impl Role {
    fn tag(self) -> u8 {
        match self {
            Role::Full => 0,
            Role::Producer => 1,
        }
    }

    /// The name used in the identify agent string.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Full => "full",
            Role::Producer => "producer",
        }
    }
}

/// A node's view of its chain, exchanged when peers connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    /// The chain id of the spec.
    pub chain_id: u32,
    /// The genesis block hash.
    pub genesis: Hash,
    /// Main-chain height.
    pub height: u64,
    /// Main-chain tip.
    pub tip: Hash,
    /// Cumulative work of the tip, big-endian (compares as bytes).
    pub work: [u8; 32],
    /// The node's role.
    pub role: Role,
}

impl Encode for Status {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.chain_id.to_le_bytes());
        self.genesis.encode_to(s);
        s.put(&self.height.to_le_bytes());
        self.tip.encode_to(s);
        s.put(&self.work);
        s.put(&[self.role.tag()]);
    }
}

impl Decode for Status {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Status {
            chain_id: r.u32("chain id")?,
            genesis: Hash::decode(r)?,
            height: r.u64("height")?,
            tip: Hash::decode(r)?,
            work: r.array("work")?,
            role: match r.u8("role")? {
                0 => Role::Full,
                1 => Role::Producer,
                t => {
                    return Err(DecodeError::UnknownTag {
                        field: "role",
                        tag: t.into(),
                    })
                }
            },
        })
    }
}

/// A request of the sync protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The peer's [`Status`].
    Status,
    /// Main-chain headers after the first locator hash the peer knows.
    Headers {
        /// Hashes from the tip backwards, sparser with depth.
        locator: Vec<Hash>,
        /// Most headers wanted (capped at [`MAX_HEADERS`]).
        max: u32,
    },
    /// Whole blocks by hash.
    Blocks(Vec<Hash>),
    /// Some transactions of a block, by index (compact block repair).
    BlockTxs {
        /// The block.
        block: Hash,
        /// Indexes into its transaction list, ascending.
        indexes: Vec<u32>,
    },
    /// Mempool transactions by txid, after an announcement (ADR 0047); at
    /// most [`MAX_TX_BATCH`].
    Txs(Vec<Hash>),
    /// Finalized blocks with the certificates that finalized them, from a
    /// height on (BFT chains: how a node that is behind catches up).
    Certified {
        /// The first height wanted.
        from: u64,
        /// Most blocks wanted (capped at [`MAX_CERTIFIED_PER_REQUEST`]).
        max: u32,
    },
}

/// A response of the sync protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// The responder's status.
    Status(Status),
    /// Consecutive headers, oldest first.
    Headers(Vec<Header>),
    /// The blocks asked for that the responder has, in request order.
    Blocks(Vec<Block>),
    /// [`Response::Blocks`] as the responder stores them: sent exactly as
    /// `Blocks` (same bytes), without decoding and encoding every
    /// transaction again. Received as `Blocks`.
    StoredBlocks(Vec<EncodedBlock>),
    /// The transactions asked for, in request order.
    BlockTxs {
        /// The block.
        block: Hash,
        /// Its transactions at the requested indexes.
        txs: Vec<Transaction>,
    },
    /// Consecutive finalized blocks from the height asked for, each with
    /// its commit certificate.
    Certified(Vec<(Block, CommitCertificate)>),
    /// [`Response::Certified`] as the responder stores the blocks: the
    /// same bytes, without decoding and encoding the blocks again.
    /// Received as `Certified`.
    StoredCertified(Vec<(EncodedBlock, CommitCertificate)>),
    /// The transactions asked for that the responder has, in request
    /// order.
    Txs(Vec<Transaction>),
    /// [`Response::Txs`] as the responder holds them, encoded: the same
    /// bytes. Received as `Txs`.
    StoredTxs(Vec<Vec<u8>>),
    /// The responder does not have what was asked for.
    NotFound,
    /// The requester exceeded its rate limit.
    RateLimited,
}

/// The canonical encoding of a block, as storage holds it, to serve it
/// without decoding it first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedBlock(Vec<u8>);

impl EncodedBlock {
    /// Wraps `bytes`, which must be a block's canonical encoding (what
    /// [`Encode::encode`] gives for a [`Block`]): it is sent as it is.
    pub fn new(bytes: Vec<u8>) -> EncodedBlock {
        EncodedBlock(bytes)
    }

    /// Its size in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty (never, for a real block).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn put_u32s<S: Sink>(s: &mut S, v: &[u32]) {
    put_length(s, v.len());
    for x in v {
        s.put(&x.to_le_bytes());
    }
}

impl Encode for Request {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        match self {
            Request::Status => s.put(&[0]),
            Request::Headers { locator, max } => {
                s.put(&[1]);
                put_seq(s, locator);
                s.put(&max.to_le_bytes());
            }
            Request::Blocks(hashes) => {
                s.put(&[2]);
                put_seq(s, hashes);
            }
            Request::BlockTxs { block, indexes } => {
                s.put(&[3]);
                block.encode_to(s);
                put_u32s(s, indexes);
            }
            Request::Txs(txids) => {
                s.put(&[5]);
                put_seq(s, txids);
            }
            Request::Certified { from, max } => {
                s.put(&[4]);
                s.put(&from.to_le_bytes());
                s.put(&max.to_le_bytes());
            }
        }
    }
}

impl Decode for Request {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("request tag")? {
            0 => Request::Status,
            1 => Request::Headers {
                locator: r.seq("locator", MAX_LOCATOR, Hash::decode)?,
                max: r.u32("max headers")?,
            },
            2 => Request::Blocks(r.seq("block hashes", MAX_BLOCKS_PER_REQUEST, Hash::decode)?),
            3 => Request::BlockTxs {
                block: Hash::decode(r)?,
                indexes: r.seq(
                    "tx indexes",
                    luminex_primitives::block::MAX_BLOCK_TXS,
                    |r| r.u32("tx index"),
                )?,
            },
            5 => Request::Txs(r.seq("txids", MAX_TX_BATCH as u64, Hash::decode)?),
            4 => Request::Certified {
                from: r.u64("first certified height")?,
                max: r.u32("most certified blocks")?,
            },
            t => {
                return Err(DecodeError::UnknownTag {
                    field: "request",
                    tag: t.into(),
                })
            }
        })
    }
}

impl Encode for Response {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        match self {
            Response::Status(st) => {
                s.put(&[0]);
                st.encode_to(s);
            }
            Response::Headers(h) => {
                s.put(&[1]);
                put_seq(s, h);
            }
            Response::Blocks(b) => {
                s.put(&[2]);
                put_seq(s, b);
            }
            Response::StoredBlocks(b) => {
                s.put(&[2]);
                put_length(s, b.len());
                for block in b {
                    s.put(&block.0);
                }
            }
            Response::BlockTxs { block, txs } => {
                s.put(&[3]);
                block.encode_to(s);
                put_seq(s, txs);
            }
            Response::NotFound => s.put(&[4]),
            Response::RateLimited => s.put(&[5]),
            Response::Txs(txs) => {
                s.put(&[7]);
                put_seq(s, txs);
            }
            Response::StoredTxs(txs) => {
                s.put(&[7]);
                put_length(s, txs.len());
                for t in txs {
                    s.put(t);
                }
            }
            Response::Certified(c) => {
                s.put(&[6]);
                put_length(s, c.len());
                for (block, certificate) in c {
                    block.encode_to(s);
                    certificate.encode_to(s);
                }
            }
            Response::StoredCertified(c) => {
                s.put(&[6]);
                put_length(s, c.len());
                for (block, certificate) in c {
                    s.put(&block.0);
                    certificate.encode_to(s);
                }
            }
        }
    }
}

impl Decode for Response {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match r.u8("response tag")? {
            0 => Response::Status(Status::decode(r)?),
            1 => Response::Headers(r.seq("headers", MAX_HEADERS, Header::decode)?),
            2 => Response::Blocks(r.seq("blocks", MAX_BLOCKS_PER_REQUEST, Block::decode)?),
            3 => Response::BlockTxs {
                block: Hash::decode(r)?,
                txs: r.seq(
                    "transactions",
                    luminex_primitives::block::MAX_BLOCK_TXS,
                    Transaction::decode,
                )?,
            },
            4 => Response::NotFound,
            5 => Response::RateLimited,
            7 => Response::Txs(r.seq("transactions", MAX_TX_BATCH as u64, Transaction::decode)?),
            6 => {
                Response::Certified(r.seq("certified blocks", MAX_CERTIFIED_PER_REQUEST, |r| {
                    Ok((Block::decode(r)?, CommitCertificate::decode(r)?))
                })?)
            }
            t => {
                return Err(DecodeError::UnknownTag {
                    field: "response",
                    tag: t.into(),
                })
            }
        })
    }
}

/// A gossip message, by topic.
#[derive(Debug, Clone)]
pub enum Gossip {
    /// A transaction for the mempool.
    Tx(Transaction),
    /// A new block, compactly.
    Block(CompactBlock),
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small transaction told apart by `n` (a coinbase of that height).
    pub(crate) fn tx(n: u64) -> Transaction {
        Transaction {
            version: 1,
            chain_id: 7,
            kind: luminex_primitives::TxKind::Coinbase { height: n },
            inputs: vec![],
            outputs: vec![],
            expiry_height: 0,
            witnesses: vec![],
            data: vec![],
        }
    }

    #[test]
    fn frames_round_trip_and_compress() {
        let req = Request::Blocks(vec![Hash([7; 32]); 100]);
        let f = to_frame(&req);
        assert_eq!(f[0], ZSTD, "repetitive bodies compress");
        assert!(f.len() < req.encoded_len() / 10);
        assert_eq!(from_frame::<Request>(&f, 1 << 20).unwrap(), req);
        let small = Request::Status;
        assert_eq!(to_frame(&small), vec![PLAIN, 0]);
        let plain = to_plain_frame(&req);
        assert_eq!(plain[0], PLAIN, "never compressed");
        assert_eq!(from_frame::<Request>(&plain, 1 << 20).unwrap(), req);
    }

    #[test]
    fn stored_blocks_are_sent_as_blocks() {
        use luminex_primitives::{Amount, Header, Lock, TxKind, TxOut};
        let coinbase = |height| Transaction {
            version: 1,
            chain_id: 7,
            kind: TxKind::Coinbase { height },
            inputs: vec![],
            outputs: vec![TxOut {
                amount: Amount::from_base(50).unwrap(),
                lock: Lock::Key {
                    scheme: luminex_primitives::SchemeId::MlDsa65,
                    key_hash: Hash([height as u8; 32]),
                },
            }],
            expiry_height: 0,
            witnesses: vec![],
            data: vec![],
        };
        let blocks: Vec<Block> = (1..4u64)
            .map(|h| {
                Block::new(
                    Header::decode_all(&[h as u8; 80]).unwrap(),
                    vec![coinbase(h)],
                )
            })
            .collect();
        let plain = Response::Blocks(blocks.clone());
        let stored = Response::StoredBlocks(
            blocks
                .iter()
                .map(|b| EncodedBlock::new(b.encode()))
                .collect(),
        );
        assert_eq!(stored.encode(), plain.encode(), "the same bytes");
        assert_eq!(
            from_frame::<Response>(&to_frame(&stored), 1 << 20).unwrap(),
            plain
        );
    }

    #[test]
    fn announcements_of_txids_round_trip_and_are_bounded() {
        let ids: Vec<Hash> = (0..5u8).map(|i| Hash([i; 32])).collect();
        let frame = tx_announce_frame(&ids);
        assert!(is_tx_announcement(&frame));
        assert!(!is_tx_announcement(&tx_batch_frame(&[vec![1u8]])));
        assert_eq!(txids_from_announce_frame(&frame).unwrap(), ids);
        assert!(matches!(
            txids_from_announce_frame(&tx_announce_frame(&[])),
            Err(WireError::EmptyBatch)
        ));
        let mut trailing = frame.clone();
        trailing.push(0);
        assert!(matches!(
            txids_from_announce_frame(&trailing),
            Err(WireError::Decode(DecodeError::TrailingBytes(1)))
        ));
        let mut many = vec![TX_ANNOUNCE];
        put_length(&mut many, MAX_TX_BATCH + 1);
        assert!(matches!(
            txids_from_announce_frame(&many),
            Err(WireError::Decode(DecodeError::TooLong { .. }))
        ));
        assert!(txids_from_announce_frame(&frame[..frame.len() - 1]).is_err());
        assert!(txids_from_announce_frame(&[]).is_err());
        // Asking for them, and the answer as stored: the same bytes.
        let req = Request::Txs(ids);
        assert_eq!(
            from_frame::<Request>(&to_frame(&req), 1 << 20).unwrap(),
            req
        );
        let txs = vec![tx(1), tx(2)];
        let stored = Response::StoredTxs(txs.iter().map(|t| t.encode()).collect());
        assert_eq!(stored.encode(), Response::Txs(txs.clone()).encode());
        assert_eq!(
            from_frame::<Response>(&to_frame(&stored), 1 << 20).unwrap(),
            Response::Txs(txs)
        );
    }

    #[test]
    fn certified_blocks_round_trip_and_stored_ones_are_the_same_bytes() {
        let block = |h: u8| Block::new(Header::decode_all(&[h; 80]).unwrap(), vec![]);
        let cert = |h: u64| CommitCertificate {
            height: h,
            round: 1,
            block_hash: Hash([h as u8; 32]),
            signers: vec![],
            signatures: vec![],
        };
        let pairs: Vec<(Block, CommitCertificate)> =
            (1..4u8).map(|h| (block(h), cert(h.into()))).collect();
        let plain = Response::Certified(pairs.clone());
        let stored = Response::StoredCertified(
            pairs
                .iter()
                .map(|(b, c)| (EncodedBlock::new(b.encode()), c.clone()))
                .collect(),
        );
        assert_eq!(stored.encode(), plain.encode(), "the same bytes");
        assert_eq!(
            from_frame::<Response>(&to_frame(&stored), 1 << 20).unwrap(),
            plain
        );
        let req = Request::Certified { from: 9, max: 16 };
        assert_eq!(
            from_frame::<Request>(&to_frame(&req), 1 << 10).unwrap(),
            req
        );
        // More than a request may ask for is refused before it is read.
        let mut too_many = vec![6u8];
        put_length(&mut too_many, MAX_CERTIFIED_PER_REQUEST as usize + 1);
        assert!(Response::decode_all(&too_many).is_err());
    }

    #[test]
    fn transaction_batches_round_trip_and_are_bounded() {
        use luminex_primitives::{Amount, Lock, TxKind, TxOut};
        // Of different sizes: n × 10 outputs.
        let tx = |n: u8| Transaction {
            version: 1,
            chain_id: 7,
            kind: TxKind::Coinbase { height: n.into() },
            inputs: vec![],
            outputs: vec![
                TxOut {
                    amount: Amount::from_base(50).unwrap(),
                    lock: Lock::Key {
                        scheme: luminex_primitives::SchemeId::MlDsa65,
                        key_hash: Hash([n; 32]),
                    },
                };
                usize::from(n) * 10
            ],
            expiry_height: 0,
            witnesses: vec![],
            data: vec![],
        };
        let txs: Vec<Transaction> = (1..=3).map(tx).collect();
        let encoded: Vec<Vec<u8>> = txs.iter().map(|t| t.encode()).collect();
        let frame = tx_batch_frame(&encoded);
        let largest = encoded.iter().map(Vec::len).max().unwrap();
        assert_eq!(txs_from_batch_frame(&frame, 1 << 20, largest).unwrap(), txs);
        // A transaction past the limit is refused before it is decoded.
        assert!(matches!(
            txs_from_batch_frame(&frame, 1 << 20, largest - 1),
            Err(WireError::Decode(DecodeError::TooLong { .. }))
        ));
        // So is a frame past its limit, an empty batch, a count past the
        // most a batch holds, bytes that are not a transaction, and bytes
        // after the last transaction.
        assert!(matches!(
            txs_from_batch_frame(&frame, frame.len() - 2, largest),
            Err(WireError::TooLarge { .. })
        ));
        assert!(matches!(
            txs_from_batch_frame(&tx_batch_frame::<Vec<u8>>(&[]), 100, 100),
            Err(WireError::EmptyBatch)
        ));
        let mut many = vec![PLAIN];
        put_length(&mut many, MAX_TX_BATCH + 1);
        assert!(matches!(
            txs_from_batch_frame(&many, 1 << 20, largest),
            Err(WireError::Decode(DecodeError::TooLong { .. }))
        ));
        assert!(matches!(
            txs_from_batch_frame(&tx_batch_frame(&[vec![1u8, 2, 3]]), 100, 100),
            Err(WireError::Decode(_))
        ));
        let mut trailing = frame.clone();
        trailing.push(0);
        assert!(matches!(
            txs_from_batch_frame(&trailing, 1 << 20, largest),
            Err(WireError::Decode(DecodeError::TrailingBytes(1)))
        ));
        // A transaction's own bytes must span its length exactly.
        let mut padded = encoded[0].clone();
        padded.push(0);
        assert!(matches!(
            txs_from_batch_frame(&tx_batch_frame(&[padded]), 1 << 20, largest + 1),
            Err(WireError::Decode(DecodeError::TrailingBytes(1)))
        ));
    }

    #[test]
    fn bombs_and_garbage_are_refused() {
        let big = Request::Blocks(vec![Hash([0; 32]); 128]);
        let f = to_frame(&big);
        assert!(matches!(
            from_frame::<Request>(&f, 100),
            Err(WireError::TooLarge { .. })
        ));
        assert!(matches!(
            from_frame::<Request>(&[], 100),
            Err(WireError::Empty)
        ));
        assert!(matches!(
            from_frame::<Request>(&[9, 1, 2], 100),
            Err(WireError::UnknownEncoding(9))
        ));
        assert!(matches!(
            from_frame::<Request>(&[ZSTD, 1, 2, 3], 100),
            Err(WireError::Corrupt(_))
        ));
        assert!(matches!(
            from_frame::<Request>(&[PLAIN, 77], 100),
            Err(WireError::Decode(_))
        ));
        assert!(matches!(
            from_frame::<Request>(&[PLAIN, 0, 0], 100),
            Err(WireError::Decode(_))
        ));
    }

    /// A zstd frame (our kind byte first) compressing `body` whole, which
    /// declares its content size.
    fn declared(body: &[u8]) -> Vec<u8> {
        let mut f = vec![ZSTD];
        f.extend(zstd::bulk::compress(body, ZSTD_LEVEL).unwrap());
        f
    }

    #[test]
    fn compressed_frames_that_do_not_declare_or_misstate_their_size() {
        let req = Request::Blocks(vec![Hash([7; 32]); 6]);
        let body = req.encode();
        assert!(body.len() < 256);
        // Streamed frames carry no content size: inflated up to the limit.
        let mut streamed = vec![ZSTD];
        streamed.extend(zstd::stream::encode_all(&body[..], 1).unwrap());
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&streamed[1..]).unwrap(),
            None
        );
        assert_eq!(from_frame::<Request>(&streamed, 1 << 20).unwrap(), req);
        assert!(matches!(
            from_frame::<Request>(&streamed, body.len() - 1),
            Err(WireError::TooLarge { .. })
        ));
        // A declared size smaller than the content: corrupt, not a panic or
        // a larger allocation. The header of a small single-segment frame
        // is magic (4 bytes), descriptor, then a one-byte content size.
        let mut lying = declared(&body);
        assert_eq!(from_frame::<Request>(&lying, 1 << 20).unwrap(), req);
        assert_eq!(lying[5] & 0xE0, 0x20, "single segment, one-byte size");
        assert_eq!(lying[6] as usize, body.len());
        lying[6] = 10;
        assert!(matches!(
            from_frame::<Request>(&lying, 1 << 20),
            Err(WireError::Corrupt(_))
        ));
    }
}
