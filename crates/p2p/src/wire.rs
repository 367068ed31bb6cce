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

impl Request {
    /// The request's kind, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Headers { .. } => "headers",
            Request::Blocks(_) => "blocks",
            Request::BlockTxs { .. } => "block-txs",
            Request::Txs(_) => "txs",
            Request::Certified { .. } => "certified",
        }
    }
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
pub(crate) mod tests;
