//! The network task: one libp2p swarm driven by a tokio task, an importer
//! thread that hands blocks to the chain in order, and a [`Handle`] the
//! node uses to publish and to read the network's state.
//!
//! - `handle`: the node's [`Handle`] and the node key;
//! - `peer`: one `Peer` per connection (everything known about a peer
//!   goes with it), misbehaviour points, bans and request budgets;
//! - `pipeline`: statuses, the header-first download and the prepare and
//!   import threads;
//! - `gossip`: validating what peers gossip, compact block rebuilding;
//! - `serve`: answering peers' requests;
//! - `anchors`: good outbound peers kept across restarts;
//! - `event_loop`: the loop itself, connections, bootnodes and the state
//!   published to the node.

/// Inside `impl ChainAccess for …` of a unit test's chain: the reads of a
/// chain that holds nothing (no blocks past genesis, an empty mempool),
/// and a transaction submitted is ignored.
#[cfg(test)]
macro_rules! holds_nothing {
    () => {
        fn status(&self) -> crate::wire::Status {
            crate::wire::Status {
                chain_id: 0,
                genesis: luminex_primitives::Hash::ZERO,
                height: 0,
                tip: luminex_primitives::Hash::ZERO,
                work: [0; 32],
                role: crate::wire::Role::Full,
            }
        }
        fn locator(&self) -> Vec<luminex_primitives::Hash> {
            vec![]
        }
        fn height_of(&self, _: &luminex_primitives::Hash) -> Option<u64> {
            None
        }
        fn header_ok(&self, _: &luminex_primitives::Header) -> bool {
            true
        }
        fn headers_after(
            &self,
            _: &[luminex_primitives::Hash],
            _: usize,
        ) -> Vec<luminex_primitives::Header> {
            vec![]
        }
        fn block(&self, _: &luminex_primitives::Hash) -> Option<luminex_primitives::Block> {
            None
        }
        fn for_each_mempool_tx(
            &self,
            _: &mut dyn FnMut(
                &luminex_primitives::Hash,
                &std::sync::Arc<luminex_primitives::Transaction>,
            ),
        ) {
        }
        fn submit_tx(&self, _: luminex_primitives::Transaction) -> crate::network::Verdict {
            crate::network::Verdict::Ignore
        }
    };
}
#[cfg(test)]
use holds_nothing;

mod anchors;
mod catchup;
mod event_loop;
mod gossip;
mod handle;
mod peer;
mod pipeline;
mod serve;
mod txfetch;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use luminex_primitives::Clock;

use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::dial_opts::DialOpts;
use libp2p::{gossipsub, identity, noise, tcp, yamux, Multiaddr, PeerId};
use luminex_primitives::{
    Block, CommitCertificate, Encode, Hash, Header, MerkleCommitment, Transaction,
};
use parking_lot::RwLock;
use tokio::sync::mpsc;

use crate::behaviour::{Behaviour, ChainNames, Limits, SyncCodec};
use crate::compact::PartialBlock;
use crate::sync::{Progress, SyncConfig, Syncer};
use crate::wire::{Response, Role, Status};
use event_loop::Bootnode;
pub use gossip::TX_BATCH_DELAY;
use gossip::{Rebuilding, TxBatch};
pub use handle::{load_or_create_key, Handle, HandleError};
use peer::Peer;
use pipeline::Origin;

/// How a gossiped transaction or block fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Valid and new: relay it.
    Accept,
    /// Not relayed, nobody at fault (known, policy, missing inputs).
    Ignore,
    /// Invalid: the sender is at fault.
    Reject,
}

/// What the chain did with a block from the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockVerdict {
    /// Stored; `new_tip` when the main chain moved.
    Accepted {
        /// Height of the block.
        height: u64,
        /// Whether it (or blocks it unlocked) moved the tip.
        new_tip: bool,
    },
    /// Already known.
    Known,
    /// Parent unknown.
    Orphan,
    /// Invalid under consensus rules.
    Invalid(String),
    /// A local failure (storage); nobody at fault.
    Failed(String),
}

/// What the network needs from the chain. Methods may block (storage,
/// validation); the network calls the slow ones off its event loop.
pub trait ChainAccess: Send + Sync + 'static {
    /// What [`ChainAccess::prepare_block`] works out about a block, handed
    /// back with it to [`ChainAccess::import_block`].
    type Prepared: Send + 'static;
    /// The local status (height, tip, work).
    fn status(&self) -> Status;
    /// A block locator of the main chain.
    fn locator(&self) -> Vec<Hash>;
    /// The height of a known valid block (main chain or side branch).
    fn height_of(&self, hash: &Hash) -> Option<u64>;
    /// Whether a header passes the chain's context-free header check (its
    /// proof of work, on proof-of-work chains): what is checked before a
    /// header is queued for download or an announcement is rebuilt.
    fn header_ok(&self, header: &Header) -> bool;
    /// The work a header adds to its branch (big-endian), if it passes
    /// [`ChainAccess::header_ok`]: what competing branches of headers are
    /// weighed by before their blocks are downloaded. By default one unit
    /// per header.
    fn header_work(&self, header: &Header) -> Option<[u8; 32]> {
        let mut one = [0u8; 32];
        one[31] = 1;
        self.header_ok(header).then_some(one)
    }
    /// The height and cumulative work (big-endian, as in [`Status::work`])
    /// of a valid block the chain has, on its main chain or a side branch.
    /// By default its height as its work, matching the default
    /// [`ChainAccess::header_work`].
    fn known_work(&self, hash: &Hash) -> Option<(u64, [u8; 32])> {
        self.height_of(hash).map(|h| {
            let mut work = [0u8; 32];
            work[24..].copy_from_slice(&h.to_be_bytes());
            (h, work)
        })
    }
    /// Whether the chain refuses block `hash` by its operator's choice
    /// (`invalidateblock` on it or an ancestor): the download does not
    /// follow headers through it, and a peer that shows them is not at
    /// fault. By default none.
    fn refused(&self, _hash: &Hash) -> bool {
        false
    }
    /// Main-chain headers after the first locator hash on the main chain.
    fn headers_after(&self, locator: &[Hash], max: usize) -> Vec<Header>;
    /// A stored block.
    fn block(&self, hash: &Hash) -> Option<Block>;
    /// A stored block in its canonical encoding, to serve it. By default the
    /// stored block encoded again; a chain that keeps the encoding returns
    /// it as it is.
    fn block_encoded(&self, hash: &Hash) -> Option<Vec<u8>> {
        self.block(hash).map(|b| b.encode())
    }
    /// Visits every mempool transaction with its wtxid.
    fn for_each_mempool_tx(&self, f: &mut dyn FnMut(&Hash, &Arc<Transaction>));
    /// Offers a transaction to the mempool.
    fn submit_tx(&self, tx: Transaction) -> Verdict;
    /// Whether the mempool holds the transaction `txid` (an announced one
    /// is then not fetched). False by default.
    fn has_tx(&self, txid: &Hash) -> bool {
        let _ = txid;
        false
    }
    /// A mempool transaction's canonical encoding, to serve a peer that
    /// asks for it after an announcement (ADR 0047). None by default.
    fn mempool_tx_encoded(&self, txid: &Hash) -> Option<Vec<u8>> {
        let _ = txid;
        None
    }
    /// Offers a prepared block to the chain.
    fn import_block(&self, block: Self::Prepared) -> BlockVerdict;
    /// Offers a prepared block of a download far behind the tip (more
    /// blocks wait behind it): the chain may commit it without waiting for
    /// the disk, several blocks sharing one sync, and tell nobody of it
    /// until [`ChainAccess::sync_imported`] made it durable (ADR 0040). The
    /// network reports its verdict only after that. By default the same
    /// as [`ChainAccess::import_block`].
    fn import_block_batched(&self, block: Self::Prepared) -> BlockVerdict {
        self.import_block(block)
    }
    /// Makes every block taken by [`ChainAccess::import_block_batched`]
    /// durable, then lets the chain announce them (new-tip events and the
    /// like). Called when the importer has no next block at hand, before
    /// it imports a block from elsewhere, and after at most 32 blocks, 256
    /// MiB or a second of them. Returns whether they are durable: false
    /// when the storage failed. Does nothing by default.
    fn sync_imported(&self) -> bool {
        true
    }
    /// Prepares a block queued for import while earlier ones are imported
    /// (its context-free checks and signatures, ahead of time). Called on
    /// one thread, in queue order; decides nothing.
    fn prepare_block(&self, block: Arc<Block>) -> Self::Prepared;
    /// Called on the importer thread when it has no prepared block: helps
    /// prepare the next one. Does nothing by default.
    fn help_prepare(&self) {}
    /// A message gossiped on the consensus topic (BFT chains): whether to
    /// relay it ([`Verdict::Accept`]), drop it quietly (late, repeated) or
    /// drop it and penalize the sender. Chains without BFT consensus
    /// ignore the topic.
    fn consensus(&self, data: Vec<u8>) -> Verdict {
        let _ = data;
        Verdict::Ignore
    }
    /// The finalized block at `height` in its canonical encoding, with the
    /// certificate that finalized it (BFT chains), to serve a peer that is
    /// catching up. None by default, and for a height not finalized here.
    fn certified_encoded(&self, height: u64) -> Option<(Vec<u8>, CommitCertificate)> {
        let _ = height;
        None
    }
    /// Finalized blocks with their certificates from a peer this node is
    /// behind, consecutive from the height after its tip (BFT chains):
    /// [`Verdict::Accept`] when they moved the chain, [`Verdict::Reject`]
    /// when one fails (a false certificate, an invalid block: the peer is
    /// penalized), [`Verdict::Ignore`] when they were not needed any more.
    /// Blocking: called on the network's blocking pool.
    fn certified(&self, blocks: Vec<(Block, CommitCertificate)>) -> Verdict {
        let _ = blocks;
        Verdict::Ignore
    }
}

/// Network settings.
#[derive(Debug, Clone)]
pub struct NetConfig {
    /// Chain id of the spec.
    pub chain_id: u32,
    /// Genesis hash.
    pub genesis: Hash,
    /// This node's role.
    pub role: Role,
    /// Addresses to listen on.
    pub listen: Vec<Multiaddr>,
    /// Nodes to bootstrap from (none: this is a bootstrap node).
    pub bootnodes: Vec<Multiaddr>,
    /// Addresses others should dial, when known.
    pub external: Vec<Multiaddr>,
    /// Connections at most, priority peers (bootnodes, anchors, peers an
    /// operator dials) aside.
    pub max_peers: u32,
    /// Inbound connections from one IP address at most
    /// ([`crate::connections::MAX_INBOUND_PER_IP`] by default).
    pub inbound_per_ip: u32,
    /// Inbound connections from one subnet (/24, /48) at most
    /// ([`crate::connections::MAX_INBOUND_PER_SUBNET`] by default).
    pub inbound_per_subnet: u32,
    /// Where the anchors are kept (outbound peers dialled first after a
    /// restart); none: no anchors.
    pub anchors: Option<PathBuf>,
    /// How the chain's headers commit to transactions (checked when a
    /// block is rebuilt from an announcement).
    pub merkle_commitment: MerkleCommitment,
    /// The spec's largest block.
    pub max_block_bytes: usize,
    /// Whether blocks are downloaded from peers with more work and
    /// announced (proof-of-work and dev chains). BFT chains catch up
    /// through their consensus topic instead, where every block comes with
    /// the certificate that finalized it.
    pub block_sync: bool,
    /// The spec's largest transaction.
    pub max_tx_bytes: usize,
    /// How long a misbehaving peer stays banned.
    pub ban_duration: Duration,
    /// Whether this node may be alone: a lone node (a dev chain, a
    /// network's first node) is ready to serve with no peers; any other
    /// node is not ready until a peer has told it where the chain is.
    pub lone: bool,
    /// Download tuning.
    pub sync: SyncConfig,
}

/// One connected peer, as reported by the API.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PeerInfo {
    /// Peer id.
    pub peer_id: String,
    /// Remote address.
    pub address: String,
    /// `inbound` or `outbound`.
    pub direction: &'static str,
    /// Last ping round trip in milliseconds.
    pub rtt_ms: Option<f64>,
    /// Identify agent string (version and role).
    pub agent: Option<String>,
    /// Height the peer reported.
    pub height: Option<u64>,
    /// The highest height its headers have reached in the download (its
    /// claim is believed that far); none before it sent any.
    pub headers_height: Option<u64>,
    /// Gossipsub score.
    pub score: f64,
}

/// Entries the event loop keeps about peers, by map. Every one of them is
/// emptied when the peers it is about disconnect (bans excepted, which run
/// out): identities that come and go leave nothing behind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PeerStateCounts {
    /// Connected peers (each with its address, agent, ping, height, points
    /// and request budgets).
    pub peers: usize,
    /// Peers the header-first download knows.
    pub sync_peers: usize,
    /// Headers requests in flight (one per peer at most).
    pub headers_requests: usize,
    /// Headers in the download's header tree: branches that connected
    /// peers' headers back (bounded in total,
    /// [`crate::sync::tree::MAX_TREE_HEADERS`]).
    pub header_tree: usize,
    /// Peers being dialled.
    pub dialing: usize,
    /// Requests sent and not answered.
    pub outbound_requests: usize,
    /// Compact blocks waiting for their missing transactions.
    pub rebuilding: usize,
    /// Announcements being rebuilt or fetched.
    pub announcements: usize,
    /// Announcements of transactions whose transactions are being fetched
    /// (ADR 0047).
    pub tx_fetches: usize,
    /// Announcements of transactions waiting for a fetch to end.
    pub tx_fetches_waiting: usize,
    /// Inbound connections accepted and not yet established.
    pub pending_incoming: usize,
    /// Banned peers (kept until their ban ends).
    pub banned: usize,
    /// Established connections in the slot table.
    pub connections: usize,
    /// Peers with a record of what they did for this node (relays, ping),
    /// for eviction.
    pub records: usize,
}

/// Byte counts of block announcements, for the compact-relay benchmark.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct AnnounceStats {
    /// Blocks announced by this node.
    pub blocks: u64,
    /// Transactions in them.
    pub txs: u64,
    /// Bytes of the compact announcements (frames as sent).
    pub compact_bytes: u64,
    /// Bytes of the same blocks in full (their canonical encoding,
    /// uncompressed).
    pub full_bytes: u64,
    /// Compact blocks received that were rebuilt entirely from the mempool.
    pub rebuilt_from_mempool: u64,
    /// Compact blocks that needed missing transactions fetched.
    pub rebuilt_with_fetch: u64,
    /// Compact blocks that fell back to a full-block download.
    pub full_fallbacks: u64,
    /// The most announcements that were being rebuilt or fetched at once.
    pub most_in_progress: u64,
}

/// The network's state, as the API shows it.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct NetInfo {
    /// This node's peer id.
    pub peer_id: String,
    /// Listen addresses with `/p2p/<peer id>`, ready for `--bootnodes`.
    pub listen_addrs: Vec<String>,
    /// Confirmed external addresses.
    pub external_addrs: Vec<String>,
    /// AutoNAT's verdict: `unknown`, `public` or `private`.
    pub reachability: String,
    /// Connected peers.
    pub peers: Vec<PeerInfo>,
    /// Currently banned peers.
    pub banned: Vec<String>,
    /// Bytes received over every connection since the network started
    /// (JSON-RPC's `getnettotals`; not in the API's JSON).
    #[serde(skip)]
    pub bytes_recv: u64,
    /// Bytes sent over every connection since the network started.
    #[serde(skip)]
    pub bytes_sent: u64,
    /// The same bans with when each began and ends, for JSON-RPC's
    /// `listbanned` (not in the API's JSON, which lists `banned`).
    #[serde(skip)]
    pub bans: Vec<BanInfo>,
    /// Download progress.
    pub sync: Progress,
    /// Block announcement figures.
    pub announce: AnnounceStats,
    /// Seconds between a block's timestamp and its import here, last value.
    pub last_block_delay_secs: Option<f64>,
    /// Configured as a lone node ([`NetConfig::lone`]).
    pub lone: bool,
    /// Addresses where a node answered with this node's own peer id (a
    /// copied `p2p_key`): the two can never connect. At most
    /// [`MAX_IDENTITY_CLASHES`], the newest last.
    pub identity_clashes: Vec<String>,
}

/// A ban, with wall-clock times: the ban runs on the monotonic clock, so
/// these are its remaining time counted from the wall clock's now (and its
/// start, that less the ban's length, the same for every ban).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BanInfo {
    /// The banned peer's id.
    pub peer_id: String,
    /// When the ban began, in Unix seconds.
    pub created: u64,
    /// When it ends, in Unix seconds.
    pub until: u64,
}

/// The bytes received and sent over every connection, from the
/// transport's counters. They live in a metrics registry, whose counters
/// are not reachable one by one: its text encoding is read instead, the
/// `…_bytes_total` series of each direction summed over the protocols.
fn byte_totals(r: &libp2p::metrics::Registry) -> (u64, u64) {
    let mut text = String::new();
    if prometheus_client::encoding::text::encode(&mut text, r).is_err() {
        return (0, 0);
    }
    let (mut recv, mut sent) = (0u64, 0u64);
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some(value) = line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()) else {
            continue;
        };
        if line.contains("direction=\"Inbound\"") {
            recv += value as u64;
        } else if line.contains("direction=\"Outbound\"") {
            sent += value as u64;
        }
    }
    (recv, sent)
}

/// The most addresses [`NetInfo::identity_clashes`] keeps.
pub const MAX_IDENTITY_CLASHES: usize = 8;

impl NetInfo {
    /// Whether the node knows where its chain is from the network: a peer
    /// on its chain has told it its status, or it is a lone node.
    pub fn has_peer_view(&self) -> bool {
        self.lone || self.peers.iter().any(|p| p.height.is_some())
    }
}

/// Results coming back to the event loop from blocking work.
enum Done {
    Tx {
        id: gossipsub::MessageId,
        source: PeerId,
        verdict: Verdict,
        /// The txids the batch brought that were new, to announce (the
        /// batch itself is not relayed).
        announce: Vec<Hash>,
    },
    Consensus {
        id: gossipsub::MessageId,
        source: PeerId,
        verdict: Verdict,
    },
    Rebuilt {
        hash: Hash,
        id: gossipsub::MessageId,
        source: PeerId,
        partial: Box<Result<PartialBlock, String>>,
    },
    Imported {
        hash: Hash,
        origin: Origin,
        verdict: BlockVerdict,
    },
    /// The transactions of an announcement the chain lacks (the message
    /// is none when it was judged already).
    Announced {
        id: Option<gossipsub::MessageId>,
        source: PeerId,
        missing: Vec<Hash>,
    },
    /// The mempool's verdict on transactions fetched after an
    /// announcement.
    Fetched {
        id: Option<gossipsub::MessageId>,
        source: PeerId,
        verdict: Verdict,
    },
    /// Certified blocks from `from` on taken by the chain (BFT catch-up).
    Certified {
        peer: PeerId,
        from: u64,
        verdict: Verdict,
    },
    Served {
        peer: PeerId,
        channel: request_response::ResponseChannel<Response>,
        response: Response,
        /// The answer's encoded size, charged to the peer's serve budget.
        bytes: usize,
    },
}

/// What an outbound request was for.
enum Purpose {
    Status,
    Sync(u64),
    BlockTxs(Hash),
    FullBlock(Hash),
    /// Certified blocks from a height on (BFT catch-up).
    Certified(u64),
    /// Announced transactions (ADR 0047).
    Txs(Box<txfetch::TxFetch>),
}

/// The event loop's state.
struct Net<C: ChainAccess> {
    swarm: libp2p::Swarm<Behaviour>,
    /// The transport's byte counters ([`byte_totals`]).
    bandwidth: libp2p::metrics::Registry,
    names: ChainNames,
    cfg: NetConfig,
    chain: Arc<C>,
    info: Arc<RwLock<NetInfo>>,
    done_tx: mpsc::UnboundedSender<Done>,
    import_tx: std::sync::mpsc::Sender<(Block, Origin)>,
    syncer: Syncer<PeerId>,
    outbound: HashMap<OutboundRequestId, Purpose>,
    rebuilding: HashMap<Hash, Rebuilding>,
    /// Transactions from local clients waiting to be gossiped together.
    tx_batch: TxBatch,
    /// Certified blocks asked for by a node that is behind (BFT chains).
    catch_up: catchup::CatchUp,
    /// Announced transactions being fetched (ADR 0047).
    tx_fetches: txfetch::TxFetches,
    /// The largest transaction batch frame taken from a peer: the largest
    /// gossip message.
    tx_frame_limit: usize,
    /// Announcements being rebuilt or fetched, with their announcers.
    announcements: HashMap<Hash, PeerId>,
    /// Connected peers: everything known about each.
    peers: HashMap<PeerId, Peer>,
    /// Banned peers and when their bans end ([`Clock::monotonic`] time).
    banned: HashMap<PeerId, Duration>,
    /// Peers being dialled after the DHT found them.
    dialing: HashSet<PeerId>,
    /// Blocks handed to the importer and not yet reported back.
    in_import: HashSet<Hash>,
    /// The headers requests in flight (one per peer at most), by sync
    /// token, to give up on each in time.
    headers_asked: HashMap<u64, pipeline::HeadersAsked>,
    ticks: u64,
    announce: AnnounceStats,
    last_block_delay: Option<f64>,
    reachability: String,
    last_progress_log: Duration,
    /// Blocks are downloaded again no earlier than this (monotonic): a
    /// block the chain could not take for now (dated too far ahead of this
    /// node's clock, a storage error) is asked for again after a pause.
    sync_resume_at: Option<Duration>,
    /// The pause before the next such retry: doubled by each refusal up to
    /// [`pipeline::SYNC_RETRY_PAUSE_MAX`], back to the first once a
    /// downloaded block is accepted.
    sync_retry_pause: Duration,
    bootnodes: Vec<Bootnode>,
    /// The anchors last written.
    anchors: Vec<Multiaddr>,
    /// Bumped when the census or the published info changes.
    changes: tokio::sync::watch::Sender<u64>,
    /// The census when `changes` was last bumped.
    last_census: PeerStateCounts,
    /// Every time the loop reads: bans, backoffs, rate limits, delays.
    clock: Arc<dyn Clock>,
}

/// Room on the consensus topic for what comes with a block: the commit
/// certificate of a certified block (a quorum's signatures: 222 kB for 100
/// ML-DSA-65 validators) and a proposal's signature and fields.
const CONSENSUS_ENVELOPE: usize = 1 << 20;

/// The largest gossip message, sent or taken. Transactions and compact
/// block announcements need the larger of the largest transaction and a
/// 64th of the largest block. On a BFT chain (no block sync) the consensus
/// topic carries whole blocks — every proposal — so the limit must fit the largest block and
/// its envelope: gossipsub drops a larger message unsent, and a proposer
/// whose block it drops stalls the height for as long as its mempool holds
/// more than the limit.
/// How this node dials `addr`: from a port of its own, not the listening
/// port. libp2p dials from the listening port by default (port reuse), so
/// every connection between two nodes has the same four-tuple; after one
/// closes, the side that closed it holds that tuple in TIME_WAIT for a
/// minute, and redials fail with "address already in use" all that time
/// (libp2p falls back to a new port only on "address not available"). Seen
/// as a sync test whose every dial failed for 60 s under load.
pub(crate) fn dial_opts(addr: Multiaddr) -> DialOpts {
    DialOpts::unknown_peer_id()
        .address(addr)
        .allocate_new_port()
        .build()
}

/// Most bytes of an address an operator may ask the node to dial (one with
/// a DNS name and a peer id takes about 150).
pub const MAX_DIAL_ADDR: usize = 512;

/// Parses an address an operator asks the node to dial (the admin API and
/// dashboard): a multiaddr of at most [`MAX_DIAL_ADDR`] bytes that names
/// somewhere to dial — the empty multiaddr parses, and names nothing.
pub fn parse_dial_addr(s: &str) -> Result<Multiaddr, String> {
    if s.len() > MAX_DIAL_ADDR {
        return Err(format!("longer than {MAX_DIAL_ADDR} bytes"));
    }
    let addr: Multiaddr = s.parse().map_err(|e| format!("{e}"))?;
    let names_a_place = addr.iter().any(|p| {
        matches!(
            p,
            Protocol::Ip4(_)
                | Protocol::Ip6(_)
                | Protocol::Dns(_)
                | Protocol::Dns4(_)
                | Protocol::Dns6(_)
                | Protocol::P2p(_)
        )
    });
    if !names_a_place {
        return Err("names no host, IP address or peer to dial".into());
    }
    Ok(addr)
}

/// Fails when another socket already listens on `addr`'s TCP port.
/// libp2p's TCP transport sets `SO_REUSEPORT` on its listeners, so a
/// second node (of the same user) would bind the same port without an
/// error and the kernel would split incoming peers between the two; a
/// plain bind, without that option, is refused by any listener on the
/// port. Port 0 (any free port) and addresses other than an IP with a
/// TCP port are left to the transport.
fn port_free(addr: &Multiaddr) -> std::io::Result<()> {
    let mut ip = None;
    let mut port = None;
    for p in addr.iter() {
        match p {
            Protocol::Ip4(a) => ip = Some(std::net::IpAddr::V4(a)),
            Protocol::Ip6(a) => ip = Some(std::net::IpAddr::V6(a)),
            Protocol::Tcp(t) => port = Some(t),
            _ => {}
        }
    }
    match (ip, port) {
        (Some(ip), Some(port)) if port != 0 => std::net::TcpListener::bind((ip, port)).map(drop),
        _ => Ok(()),
    }
}

fn max_gossip(max_block_bytes: usize, max_tx_bytes: usize, block_sync: bool) -> usize {
    let relay = (max_block_bytes / 64).max(max_tx_bytes) + 64 * 1024;
    if block_sync {
        relay
    } else {
        relay.max(max_block_bytes + CONSENSUS_ENVELOPE)
    }
}

/// Starts the network on the current tokio runtime. The event loop reads
/// the time only from `clock` (bans, redial backoff, status rate limits,
/// block delays), so a test can drive it with a clock of its own.
pub fn start<C: ChainAccess>(
    cfg: NetConfig,
    key: identity::Keypair,
    chain: Arc<C>,
    clock: Arc<dyn Clock>,
) -> Result<(Handle, tokio::task::JoinHandle<()>), String> {
    for addr in &cfg.listen {
        port_free(addr).map_err(|e| format!("listening on {addr}: {e}"))?;
    }
    let names = ChainNames::new(cfg.chain_id, &cfg.genesis);
    let block_frame = cfg.max_block_bytes + 64 * 1024;
    let max_gossip = max_gossip(cfg.max_block_bytes, cfg.max_tx_bytes, cfg.block_sync);
    let limits = Limits {
        max_peers: cfg.max_peers,
        inbound_per_ip: cfg.inbound_per_ip,
        inbound_per_subnet: cfg.inbound_per_subnet,
        max_gossip,
        // Blocks up to the answer budget, and the certificates of certified
        // blocks (BFT catch-up) on top.
        codec: SyncCodec::new(4 << 20, block_frame.max(32 << 20) + CONSENSUS_ENVELOPE),
    };
    let role = cfg.role;
    let n2 = names.clone();
    // Counts the bytes every connection carries, each way.
    let mut bandwidth = libp2p::metrics::Registry::default();
    let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| e.to_string())?
        .with_dns()
        .map_err(|e| e.to_string())?
        .with_bandwidth_metrics(&mut bandwidth)
        .with_behaviour(|k| {
            Behaviour::new(k, &n2, role, limits)
                .map_err(Box::<dyn std::error::Error + Send + Sync>::from)
        })
        .map_err(|e| e.to_string())?
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build();
    for addr in &cfg.listen {
        swarm
            .listen_on(addr.clone())
            .map_err(|e| format!("listening on {addr}: {e}"))?;
    }
    for addr in &cfg.external {
        swarm.add_external_address(addr.clone());
    }
    // Anchors first: peers that served this node before its restart,
    // dialled before anything else can fill the slots.
    let anchors = cfg
        .anchors
        .as_deref()
        .map(anchors::load)
        .unwrap_or_default();
    for (peer, addr) in &anchors {
        tracing::info!(%addr, "dialling an anchor");
        swarm.behaviour_mut().slots.add_priority(*peer);
        swarm.behaviour_mut().kad.add_address(peer, addr.clone());
        if let Err(e) = swarm.dial(dial_opts(addr.clone())) {
            tracing::warn!(%addr, error = %e, "cannot dial anchor");
        }
    }
    for addr in &cfg.bootnodes {
        if let Some(Protocol::P2p(peer)) = addr.iter().last() {
            swarm.behaviour_mut().slots.add_priority(peer);
            swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
        }
        if let Err(e) = swarm.dial(dial_opts(addr.clone())) {
            tracing::warn!(%addr, error = %e, "cannot dial bootnode");
        }
    }
    if cfg.bootnodes.is_empty() {
        tracing::info!("no bootnodes: running as a bootstrap node");
    }
    let now = clock.monotonic();
    let bootnodes = cfg
        .bootnodes
        .iter()
        .map(|addr| Bootnode::new(addr.clone(), now))
        .collect();
    let info = Arc::new(RwLock::new(NetInfo {
        peer_id: swarm.local_peer_id().to_string(),
        reachability: "unknown".into(),
        lone: cfg.lone,
        ..Default::default()
    }));
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (changes, changes_rx) = tokio::sync::watch::channel(0);
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let import_tx = pipeline::spawn(chain.clone(), done_tx.clone())?;
    let net = Net {
        swarm,
        bandwidth,
        names,
        syncer: Syncer::new(cfg.sync),
        cfg,
        chain,
        info: info.clone(),
        done_tx,
        import_tx,
        outbound: HashMap::new(),
        rebuilding: HashMap::new(),
        tx_batch: TxBatch::new(max_gossip),
        catch_up: catchup::CatchUp::default(),
        tx_fetches: txfetch::TxFetches::default(),
        tx_frame_limit: max_gossip,
        announcements: HashMap::new(),
        peers: HashMap::new(),
        banned: HashMap::new(),
        dialing: HashSet::new(),
        in_import: HashSet::new(),
        headers_asked: HashMap::new(),
        ticks: 0,
        announce: AnnounceStats::default(),
        last_block_delay: None,
        reachability: "unknown".into(),
        last_progress_log: now,
        sync_resume_at: None,
        sync_retry_pause: pipeline::SYNC_RETRY_PAUSE,
        bootnodes,
        anchors: anchors.into_iter().map(|(_, a)| a).collect(),
        changes,
        last_census: PeerStateCounts::default(),
        clock,
    };
    let task = tokio::spawn(net.run(cmd_rx, done_rx));
    Ok((
        Handle {
            tx: cmd_tx,
            info,
            changes: changes_rx,
        },
        task,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_to_dial_names_a_place_and_is_short() {
        for good in [
            "/ip4/127.0.0.1/tcp/9102",
            "/dns4/seed.example.org/tcp/9102",
            "/ip6/::1/tcp/1/p2p/12D3KooWLoNFbhrDgwYTCjT6TUnn3fsfCovR6JZ9e1E7YvEGjkQe",
        ] {
            assert!(parse_dial_addr(good).is_ok(), "{good}");
        }
        let long = "/ip4/1.2.3.4/tcp/1".repeat(40);
        for bad in ["", "/tcp/1", "zz", long.as_str()] {
            assert!(parse_dial_addr(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_gossip_limit_fits_what_each_kind_of_chain_gossips() {
        let (block, tx) = (32 << 20, 1 << 20);
        // Relay only: the largest transaction or a compact announcement.
        assert_eq!(max_gossip(block, tx, true), tx + 64 * 1024);
        assert_eq!(max_gossip(256 << 20, tx, true), (4 << 20) + 64 * 1024);
        // BFT: a proposal of the largest size.
        assert_eq!(max_gossip(block, tx, false), block + CONSENSUS_ENVELOPE);
        // Never below the relay limit, even with tiny blocks.
        assert!(max_gossip(1000, tx, false) > tx);
    }
}
