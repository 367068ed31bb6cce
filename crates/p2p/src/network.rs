//! The network task: one libp2p swarm driven by a tokio task, an importer
//! thread that hands blocks to the chain in order, and a [`Handle`] the
//! node uses to publish and to read the network's state.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::core::ConnectedPoint;
use libp2p::multiaddr::Protocol;
use libp2p::request_response::{self, OutboundRequestId};
use libp2p::swarm::{dial_opts::DialOpts, SwarmEvent};
use libp2p::{
    autonat, gossipsub, identify, identity, kad, noise, ping, tcp, yamux, Multiaddr, PeerId,
};
use luminex_primitives::{Block, Encode, Hash, Header, Transaction};
use parking_lot::RwLock;
use tokio::sync::mpsc;

use crate::behaviour::{Behaviour, BehaviourEvent, ChainNames, Limits, SyncCodec, BAN_SCORE};
use crate::compact::{CompactBlock, PartialBlock};
use crate::sync::{Local, Progress, SyncConfig, Syncer};
use crate::wire::{self, Request, Response, Role, Status};

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
    /// Whether a header carries valid proof of work (context-free check).
    fn pow_ok(&self, header: &Header) -> bool;
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
    /// Offers a prepared block to the chain.
    fn import_block(&self, block: Self::Prepared) -> BlockVerdict;
    /// Prepares a block queued for import while earlier ones are imported
    /// (its context-free checks and signatures, ahead of time). Called on
    /// one thread, in queue order; decides nothing.
    fn prepare_block(&self, block: Arc<Block>) -> Self::Prepared;
    /// Called on the importer thread when it has no prepared block: helps
    /// prepare the next one. Does nothing by default.
    fn help_prepare(&self) {}
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
    /// Connections at most.
    pub max_peers: u32,
    /// The spec's largest block.
    pub max_block_bytes: usize,
    /// The spec's largest transaction.
    pub max_tx_bytes: usize,
    /// How long a misbehaving peer stays banned.
    pub ban_duration: Duration,
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
    /// Gossipsub score.
    pub score: f64,
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
    /// Download progress.
    pub sync: Progress,
    /// Block announcement figures.
    pub announce: AnnounceStats,
    /// Seconds between a block's timestamp and its import here, last value.
    pub last_block_delay_secs: Option<f64>,
}

enum Command {
    PublishTx(Vec<u8>),
    /// A compact block's frame, with the block's transaction count and
    /// encoded size (for the announcement statistics).
    AnnounceBlock {
        frame: Vec<u8>,
        txs: usize,
        full_bytes: usize,
    },
    Dial(Multiaddr),
    Ban(PeerId),
}

/// Why the node's request to the network was refused.
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The network task has stopped.
    #[error("the network is not running")]
    Stopped,
    /// Not a valid peer id.
    #[error("invalid peer id: {0}")]
    PeerId(String),
}

/// The node's side of the network.
#[derive(Clone)]
pub struct Handle {
    tx: mpsc::UnboundedSender<Command>,
    info: Arc<RwLock<NetInfo>>,
}

impl Handle {
    /// Gossips a transaction this node accepted from a local client.
    pub fn publish_tx(&self, tx: &Transaction) {
        let _ = self.tx.send(Command::PublishTx(wire::to_plain_frame(tx)));
    }

    /// Announces a block this node produced (compactly). The announcement
    /// is built here, on the caller's thread: hashing a large block's
    /// transactions for their short ids must not hold up the event loop,
    /// which sends it.
    pub fn announce_block(&self, block: &Block) {
        let compact = CompactBlock::new(block, rand::random());
        let _ = self.tx.send(Command::AnnounceBlock {
            frame: wire::to_frame(&compact),
            txs: block.txs.len(),
            full_bytes: block.encoded_len(),
        });
    }

    /// Dials an address.
    pub fn dial(&self, addr: Multiaddr) -> Result<(), HandleError> {
        self.tx
            .send(Command::Dial(addr))
            .map_err(|_| HandleError::Stopped)
    }

    /// Disconnects and bans a peer.
    pub fn ban(&self, peer: &str) -> Result<(), HandleError> {
        let id: PeerId = peer
            .parse()
            .map_err(|e: libp2p::identity::ParseError| HandleError::PeerId(e.to_string()))?;
        self.tx
            .send(Command::Ban(id))
            .map_err(|_| HandleError::Stopped)
    }

    /// A snapshot of the network's state.
    pub fn info(&self) -> NetInfo {
        self.info.read().clone()
    }
}

/// Loads the node key from `path`, creating it (mode 0600) if missing.
pub fn load_or_create_key(path: &std::path::Path) -> std::io::Result<identity::Keypair> {
    if path.exists() {
        let bytes = std::fs::read(path)?;
        return identity::Keypair::from_protobuf_encoding(&bytes).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: not a node key: {e}", path.display()),
            )
        });
    }
    let key = identity::Keypair::generate_ed25519();
    let bytes = key
        .to_protobuf_encoding()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    std::io::Write::write_all(&mut opts.open(path)?, &bytes)?;
    Ok(key)
}

/// Misbehaviour points; a peer reaching [`BAN_POINTS`] is banned.
#[derive(Debug, Clone, Copy)]
enum Offence {
    InvalidBlock,
    InvalidTx,
    Malformed,
    BadSyncAnswer,
    UnconnectedHeaders,
    WrongChain,
    RateLimit,
}

impl Offence {
    fn points(self) -> u32 {
        match self {
            // Invalid for everyone: the sender is at fault, at once.
            Offence::InvalidBlock | Offence::InvalidTx | Offence::Malformed => 100,
            Offence::BadSyncAnswer | Offence::WrongChain => 100,
            // Headers can fail to connect after an honest reorg: five strikes.
            Offence::UnconnectedHeaders => 20,
            Offence::RateLimit => 5,
        }
    }
}

const BAN_POINTS: u32 = 100;

/// Results coming back to the event loop from blocking work.
enum Done {
    Tx {
        id: gossipsub::MessageId,
        source: PeerId,
        verdict: Verdict,
    },
    Rebuilt {
        id: gossipsub::MessageId,
        source: PeerId,
        partial: Result<PartialBlock, String>,
    },
    Imported {
        hash: Hash,
        origin: Origin,
        verdict: BlockVerdict,
    },
    Served {
        channel: request_response::ResponseChannel<Response>,
        response: Response,
    },
}

/// Blocks prepared and waiting for the importer at most.
const PREPARED_AHEAD: usize = 2;

/// Where a block being imported came from.
#[derive(Debug, Clone)]
enum Origin {
    Gossip {
        id: gossipsub::MessageId,
        source: PeerId,
        time: u32,
    },
    Sync(PeerId),
    Fetched(PeerId),
}

/// What an outbound request was for.
enum Purpose {
    Status,
    Sync(u64),
    BlockTxs(Hash),
    FullBlock(Hash),
}

/// A compact block waiting for its missing transactions.
struct Rebuilding {
    partial: PartialBlock,
    id: gossipsub::MessageId,
    source: PeerId,
}

type RateLimiter = governor::DefaultKeyedRateLimiter<PeerId>;

/// Per-peer request budgets (per second, burst), by request kind: status,
/// headers, blocks, block transactions. Status is asked every few seconds;
/// blocks are asked in small chunks during sync, so they get the most.
const REQUEST_QUOTAS: [(u32, u32); 4] = [(10, 40), (20, 50), (200, 400), (20, 50)];

fn limiters() -> [RateLimiter; 4] {
    REQUEST_QUOTAS.map(|(per_second, burst)| {
        let q = governor::Quota::per_second(NonZeroU32::new(per_second).expect("nonzero"))
            .allow_burst(NonZeroU32::new(burst).expect("nonzero"));
        governor::RateLimiter::keyed(q)
    })
}

struct Net<C: ChainAccess> {
    swarm: libp2p::Swarm<Behaviour>,
    names: ChainNames,
    cfg: NetConfig,
    chain: Arc<C>,
    info: Arc<RwLock<NetInfo>>,
    done_tx: mpsc::UnboundedSender<Done>,
    import_tx: std::sync::mpsc::Sender<(Block, Origin)>,
    syncer: Syncer<PeerId>,
    outbound: HashMap<OutboundRequestId, Purpose>,
    rebuilding: HashMap<Hash, Rebuilding>,
    points: HashMap<PeerId, u32>,
    banned: HashMap<PeerId, Instant>,
    rtt: HashMap<PeerId, Duration>,
    agents: HashMap<PeerId, String>,
    heights: HashMap<PeerId, u64>,
    connected: HashMap<PeerId, (Multiaddr, &'static str)>,
    dialing: HashSet<PeerId>,
    /// Peers with a status request outstanding (one at a time each).
    status_pending: HashSet<PeerId>,
    /// When each peer was last asked for its status.
    status_asked: HashMap<PeerId, Instant>,
    /// Blocks handed to the importer and not yet reported back.
    in_import: HashSet<Hash>,
    ticks: u64,
    limiters: [RateLimiter; 4],
    announce: AnnounceStats,
    last_block_delay: Option<f64>,
    reachability: String,
    last_progress_log: Instant,
    bootnodes: Vec<Bootnode>,
}

/// First wait before dialling a lost bootnode again; it doubles on every
/// failed try, up to [`BOOTNODE_MAX_BACKOFF`].
const BOOTNODE_FIRST_BACKOFF: Duration = Duration::from_secs(1);
/// Longest wait between two dials of a bootnode (and the wait after one
/// turned out to be on another chain).
const BOOTNODE_MAX_BACKOFF: Duration = Duration::from_secs(60);

/// A configured bootnode: dialled again, with backoff, whenever the node is
/// not connected to it (after a restart of either, or a partition), as
/// Bitcoin Core keeps filling its outbound slots and CometBFT redials
/// persistent peers. The DHT alone would find it again only at its next
/// periodic bootstrap.
struct Bootnode {
    addr: Multiaddr,
    peer: Option<PeerId>,
    next_dial: Instant,
    backoff: Duration,
}

/// Starts the network on the current tokio runtime.
pub fn start<C: ChainAccess>(
    cfg: NetConfig,
    key: identity::Keypair,
    chain: Arc<C>,
) -> Result<(Handle, tokio::task::JoinHandle<()>), String> {
    let names = ChainNames::new(cfg.chain_id, &cfg.genesis);
    let block_frame = cfg.max_block_bytes + 64 * 1024;
    let limits = Limits {
        max_peers: cfg.max_peers,
        // A compact block of the largest block, or the largest transaction.
        max_gossip: (cfg.max_block_bytes / 64).max(cfg.max_tx_bytes) + 64 * 1024,
        codec: SyncCodec {
            max_request: 4 << 20,
            max_response: block_frame.max(32 << 20),
        },
    };
    let role = cfg.role;
    let n2 = names.clone();
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
    for addr in &cfg.bootnodes {
        if let Some(Protocol::P2p(peer)) = addr.iter().last() {
            swarm.behaviour_mut().kad.add_address(&peer, addr.clone());
        }
        if let Err(e) = swarm.dial(addr.clone()) {
            tracing::warn!(%addr, error = %e, "cannot dial bootnode");
        }
    }
    if cfg.bootnodes.is_empty() {
        tracing::info!("no bootnodes: running as a bootstrap node");
    }
    let bootnodes = cfg
        .bootnodes
        .iter()
        .map(|addr| Bootnode {
            addr: addr.clone(),
            peer: match addr.iter().last() {
                Some(Protocol::P2p(peer)) => Some(peer),
                _ => None,
            },
            next_dial: Instant::now() + BOOTNODE_FIRST_BACKOFF,
            backoff: BOOTNODE_FIRST_BACKOFF,
        })
        .collect();
    let info = Arc::new(RwLock::new(NetInfo {
        peer_id: swarm.local_peer_id().to_string(),
        reachability: "unknown".into(),
        ..Default::default()
    }));
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (done_tx, done_rx) = mpsc::unbounded_channel();
    let (import_tx, prepare_rx) = std::sync::mpsc::channel::<(Block, Origin)>();
    let (prepared_tx, import_rx) =
        std::sync::mpsc::sync_channel::<(Hash, C::Prepared, Origin)>(PREPARED_AHEAD);
    {
        // A block is prepared (its signatures checked) on one thread while
        // the block before it is imported on another.
        let chain = chain.clone();
        std::thread::Builder::new()
            .name("luminex-prepare".into())
            .spawn(move || {
                while let Ok((block, origin)) = prepare_rx.recv() {
                    let hash = block.hash();
                    let prepared = chain.prepare_block(Arc::new(block));
                    if prepared_tx.send((hash, prepared, origin)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| e.to_string())?;
    }
    {
        // Blocks are imported one at a time, in arrival order: the chain
        // serialises writers anyway, and sync depends on the order.
        let chain = chain.clone();
        let done = done_tx.clone();
        std::thread::Builder::new()
            .name("luminex-import".into())
            .spawn(move || loop {
                let (hash, block, origin) = match import_rx.try_recv() {
                    Ok(next) => next,
                    Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
                    Err(std::sync::mpsc::TryRecvError::Empty) => {
                        chain.help_prepare();
                        match import_rx.recv() {
                            Ok(next) => next,
                            Err(_) => break,
                        }
                    }
                };
                let verdict = chain.import_block(block);
                if done
                    .send(Done::Imported {
                        hash,
                        origin,
                        verdict,
                    })
                    .is_err()
                {
                    break;
                }
            })
            .map_err(|e| e.to_string())?;
    }
    let net = Net {
        swarm,
        names,
        syncer: Syncer::new(cfg.sync),
        cfg,
        chain,
        info: info.clone(),
        done_tx,
        import_tx,
        outbound: HashMap::new(),
        rebuilding: HashMap::new(),
        points: HashMap::new(),
        banned: HashMap::new(),
        rtt: HashMap::new(),
        agents: HashMap::new(),
        heights: HashMap::new(),
        connected: HashMap::new(),
        dialing: HashSet::new(),
        status_pending: HashSet::new(),
        status_asked: HashMap::new(),
        in_import: HashSet::new(),
        ticks: 0,
        limiters: limiters(),
        announce: AnnounceStats::default(),
        last_block_delay: None,
        reachability: "unknown".into(),
        last_progress_log: Instant::now(),
        bootnodes,
    };
    let task = tokio::spawn(net.run(cmd_rx, done_rx));
    Ok((Handle { tx: cmd_tx, info }, task))
}

impl<C: ChainAccess> Net<C> {
    async fn run(
        mut self,
        mut cmds: mpsc::UnboundedReceiver<Command>,
        mut done: mpsc::UnboundedReceiver<Done>,
    ) {
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut slow = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                ev = self.swarm.select_next_some() => self.on_swarm(ev),
                cmd = cmds.recv() => match cmd {
                    Some(c) => self.on_command(c),
                    None => break,
                },
                Some(d) = done.recv() => self.on_done(d),
                _ = tick.tick() => self.drive_sync(),
                _ = slow.tick() => self.housekeeping(),
            }
        }
        tracing::info!("network stopped");
    }

    fn local(&self) -> Local {
        let st = self.chain.status();
        Local {
            height: st.height,
            work: st.work,
            locator: self.chain.locator(),
        }
    }

    fn offend(&mut self, peer: PeerId, offence: Offence, why: &str) {
        let p = self.points.entry(peer).or_insert(0);
        *p += offence.points();
        tracing::warn!(%peer, ?offence, points = *p, why, "peer misbehaved");
        if *p >= BAN_POINTS {
            self.ban(peer, why);
        }
    }

    fn ban(&mut self, peer: PeerId, why: &str) {
        tracing::warn!(%peer, why, secs = self.cfg.ban_duration.as_secs(), "banning peer");
        self.banned
            .insert(peer, Instant::now() + self.cfg.ban_duration);
        self.points.remove(&peer);
        let b = self.swarm.behaviour_mut();
        b.blocked.block_peer(peer);
        b.kad.remove_peer(&peer);
        self.syncer.remove_peer(&peer);
        self.publish_info();
    }

    fn request(&mut self, peer: PeerId, req: Request, purpose: Purpose) {
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, req);
        self.outbound.insert(id, purpose);
    }

    /// Asks a peer for its status unless a request is already out.
    /// At most one request per peer per second, well inside the peer's
    /// rate limit, however many orphans a burst of announcements produces.
    fn ask_status(&mut self, peer: PeerId) {
        let now = Instant::now();
        if self
            .status_asked
            .get(&peer)
            .is_some_and(|t| now.duration_since(*t) < Duration::from_secs(1))
        {
            return;
        }
        if self.status_pending.insert(peer) {
            self.status_asked.insert(peer, now);
            self.request(peer, Request::Status, Purpose::Status);
        }
    }

    fn enqueue_import(&mut self, block: Block, origin: Origin) {
        self.in_import.insert(block.hash());
        let _ = self.import_tx.send((block, origin));
    }

    fn drive_sync(&mut self) {
        let local = self.local();
        for (peer, token, req) in self.syncer.poll(&local) {
            self.request(peer, req, Purpose::Sync(token));
        }
        for (block, peer) in self.syncer.take_ready() {
            self.enqueue_import(block, Origin::Sync(peer));
        }
        let progress = self.syncer.progress(&local);
        if progress.syncing && self.last_progress_log.elapsed() >= Duration::from_secs(5) {
            self.last_progress_log = Instant::now();
            tracing::info!(
                height = local.height,
                target = progress.target_height,
                best_peer = progress.best_peer_height,
                "syncing"
            );
        }
        self.info.write().sync = progress;
    }

    fn housekeeping(&mut self) {
        let now = Instant::now();
        let expired: Vec<PeerId> = self
            .banned
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for p in expired {
            self.banned.remove(&p);
            self.swarm.behaviour_mut().blocked.unblock_peer(p);
            tracing::info!(peer = %p, "ban expired");
        }
        let low: Vec<PeerId> = self
            .connected
            .keys()
            .filter(|p| {
                self.swarm
                    .behaviour()
                    .gossip
                    .peer_score(p)
                    .is_some_and(|s| s < BAN_SCORE)
            })
            .copied()
            .collect();
        for p in low {
            self.ban(p, "gossip score below the ban threshold");
        }
        for l in &self.limiters {
            l.retain_recent();
        }
        self.redial_bootnodes(now);
        // Misbehaviour points decay by one a second: only sustained or
        // serious misbehaviour reaches a ban.
        self.points.retain(|_, p| {
            *p = p.saturating_sub(1);
            *p > 0
        });
        // Every few seconds, ask each peer where it is: a node that missed
        // announcements (a burst, a partition) notices and syncs.
        self.ticks += 1;
        if self.ticks.is_multiple_of(5) {
            let peers: Vec<PeerId> = self.connected.keys().copied().collect();
            for p in peers {
                self.ask_status(p);
            }
        }
        self.publish_info();
    }

    /// Dials the bootnodes the node is not connected to whose wait is over.
    fn redial_bootnodes(&mut self, now: Instant) {
        for i in 0..self.bootnodes.len() {
            let b = &self.bootnodes[i];
            let (connected, banned) = match b.peer {
                Some(p) => (
                    self.connected.contains_key(&p),
                    self.banned.contains_key(&p),
                ),
                None => (self.connected.values().any(|(a, _)| *a == b.addr), false),
            };
            let full = self.connected.len() >= self.cfg.max_peers as usize;
            if connected || banned || full || now < b.next_dial {
                continue;
            }
            let addr = b.addr.clone();
            tracing::debug!(%addr, "dialling a bootnode again");
            if let Err(e) = self.swarm.dial(addr.clone()) {
                tracing::debug!(%addr, error = %e, "bootnode dial failed");
            }
            let b = &mut self.bootnodes[i];
            b.next_dial = now + b.backoff;
            b.backoff = (b.backoff * 2).min(BOOTNODE_MAX_BACKOFF);
        }
    }

    fn publish_info(&mut self) {
        let me = *self.swarm.local_peer_id();
        let with_id = |a: &Multiaddr| a.clone().with(Protocol::P2p(me)).to_string();
        let listen = self.swarm.listeners().map(with_id).collect();
        let external = self.swarm.external_addresses().map(with_id).collect();
        let gossip = &self.swarm.behaviour().gossip;
        let peers = self
            .connected
            .iter()
            .map(|(p, (addr, dir))| PeerInfo {
                peer_id: p.to_string(),
                address: addr.to_string(),
                direction: dir,
                rtt_ms: self.rtt.get(p).map(|d| d.as_secs_f64() * 1e3),
                agent: self.agents.get(p).cloned(),
                height: self.heights.get(p).copied(),
                score: gossip.peer_score(p).unwrap_or(0.0),
            })
            .collect();
        let mut info = self.info.write();
        info.listen_addrs = listen;
        info.external_addrs = external;
        info.peers = peers;
        info.banned = self.banned.keys().map(|p| p.to_string()).collect();
        info.announce = self.announce;
        info.reachability = self.reachability.clone();
        info.last_block_delay_secs = self.last_block_delay;
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::PublishTx(frame) => {
                let topic = self.names.tx_topic.clone();
                if let Err(e) = self.swarm.behaviour_mut().gossip.publish(topic, frame) {
                    tracing::debug!(error = %e, "transaction not gossiped");
                }
            }
            Command::AnnounceBlock {
                frame,
                txs,
                full_bytes,
            } => {
                self.announce.blocks += 1;
                self.announce.txs += txs as u64;
                self.announce.compact_bytes += frame.len() as u64;
                self.announce.full_bytes += full_bytes as u64;
                let topic = self.names.block_topic.clone();
                if let Err(e) = self.swarm.behaviour_mut().gossip.publish(topic, frame) {
                    tracing::debug!(error = %e, "block not gossiped");
                }
                self.publish_info();
            }
            Command::Dial(addr) => {
                if let Some(Protocol::P2p(peer)) = addr.iter().last() {
                    if self.banned.remove(&peer).is_some() {
                        self.swarm.behaviour_mut().blocked.unblock_peer(peer);
                    }
                    self.swarm
                        .behaviour_mut()
                        .kad
                        .add_address(&peer, addr.clone());
                }
                if let Err(e) = self.swarm.dial(addr.clone()) {
                    tracing::warn!(%addr, error = %e, "dial failed");
                }
            }
            Command::Ban(peer) => self.ban(peer, "banned by an operator"),
        }
    }

    fn on_swarm(&mut self, ev: SwarmEvent<BehaviourEvent>) {
        match ev {
            SwarmEvent::NewListenAddr { address, .. } => {
                let me = *self.swarm.local_peer_id();
                tracing::info!(address = %address.clone().with(Protocol::P2p(me)), "p2p listening");
                self.publish_info();
            }
            SwarmEvent::ConnectionEstablished {
                peer_id, endpoint, ..
            } => {
                self.dialing.remove(&peer_id);
                let (addr, dir) = match &endpoint {
                    ConnectedPoint::Dialer { address, .. } => (address.clone(), "outbound"),
                    ConnectedPoint::Listener { send_back_addr, .. } => {
                        (send_back_addr.clone(), "inbound")
                    }
                };
                if self.connected.insert(peer_id, (addr, dir)).is_none() {
                    tracing::debug!(peer = %peer_id, dir, "peer connected");
                    self.ask_status(peer_id);
                    self.publish_info();
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } => {
                self.connected.remove(&peer_id);
                self.rtt.remove(&peer_id);
                self.heights.remove(&peer_id);
                self.status_pending.remove(&peer_id);
                self.status_asked.remove(&peer_id);
                self.syncer.remove_peer(&peer_id);
                tracing::debug!(peer = %peer_id, "peer disconnected");
                self.publish_info();
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                if let Some(p) = peer_id {
                    self.dialing.remove(&p);
                }
                tracing::debug!(error = %error, "outgoing connection failed");
            }
            SwarmEvent::Behaviour(b) => self.on_behaviour(b),
            _ => {}
        }
    }

    fn on_behaviour(&mut self, ev: BehaviourEvent) {
        match ev {
            BehaviourEvent::Identify(identify::Event::Received { peer_id, info, .. }) => {
                let same_chain = info.protocol_version == self.names.protocol_version;
                for b in self
                    .bootnodes
                    .iter_mut()
                    .filter(|b| b.peer == Some(peer_id))
                {
                    // A bootnode on another chain is a misconfiguration: it
                    // is tried again only now and then.
                    b.backoff = if same_chain {
                        BOOTNODE_FIRST_BACKOFF
                    } else {
                        tracing::warn!(addr = %b.addr, "bootnode is on another chain");
                        BOOTNODE_MAX_BACKOFF
                    };
                    b.next_dial = Instant::now() + b.backoff;
                }
                if !same_chain {
                    tracing::info!(peer = %peer_id, theirs = %info.protocol_version, "peer is on another chain; disconnecting");
                    self.swarm.behaviour_mut().kad.remove_peer(&peer_id);
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                self.agents.insert(peer_id, info.agent_version);
                for a in info.listen_addrs {
                    self.swarm.behaviour_mut().kad.add_address(&peer_id, a);
                }
            }
            BehaviourEvent::Ping(ping::Event {
                peer,
                result: Ok(rtt),
                ..
            }) => {
                self.rtt.insert(peer, rtt);
            }
            BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer, addresses, ..
            }) => {
                let room =
                    (self.connected.len() + self.dialing.len()) < self.cfg.max_peers as usize;
                if room
                    && !self.connected.contains_key(&peer)
                    && !self.banned.contains_key(&peer)
                    && self.dialing.insert(peer)
                {
                    let opts = DialOpts::peer_id(peer)
                        .addresses(addresses.iter().cloned().collect())
                        .build();
                    if self.swarm.dial(opts).is_err() {
                        self.dialing.remove(&peer);
                    }
                }
            }
            BehaviourEvent::Gossip(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            }) => self.on_gossip(propagation_source, message_id, message),
            BehaviourEvent::Sync(ev) => self.on_sync(ev),
            BehaviourEvent::Autonat(autonat::Event::StatusChanged { new, .. }) => {
                self.reachability = match new {
                    autonat::NatStatus::Public(a) => format!("public ({a})"),
                    autonat::NatStatus::Private => "private".into(),
                    autonat::NatStatus::Unknown => "unknown".into(),
                };
                tracing::info!(reachability = %self.reachability, "reachability changed");
            }
            _ => {}
        }
    }

    fn report(&mut self, id: &gossipsub::MessageId, source: &PeerId, v: Verdict) {
        let acceptance = match v {
            Verdict::Accept => gossipsub::MessageAcceptance::Accept,
            Verdict::Ignore => gossipsub::MessageAcceptance::Ignore,
            Verdict::Reject => gossipsub::MessageAcceptance::Reject,
        };
        self.swarm
            .behaviour_mut()
            .gossip
            .report_message_validation_result(id, source, acceptance);
    }

    fn on_gossip(&mut self, source: PeerId, id: gossipsub::MessageId, msg: gossipsub::Message) {
        if msg.topic == self.names.tx_topic.hash() {
            let tx = match wire::from_frame::<Transaction>(&msg.data, self.cfg.max_tx_bytes) {
                Ok(tx) => tx,
                Err(e) => {
                    self.report(&id, &source, Verdict::Reject);
                    self.offend(source, Offence::Malformed, &e.to_string());
                    return;
                }
            };
            let chain = self.chain.clone();
            let done = self.done_tx.clone();
            tokio::task::spawn_blocking(move || {
                let verdict = chain.submit_tx(tx);
                let _ = done.send(Done::Tx {
                    id,
                    source,
                    verdict,
                });
            });
        } else if msg.topic == self.names.block_topic.hash() {
            let limit = self.cfg.max_block_bytes / 4 + 1024;
            let compact = match wire::from_frame::<CompactBlock>(&msg.data, limit) {
                Ok(c) => c,
                Err(e) => {
                    self.report(&id, &source, Verdict::Reject);
                    self.offend(source, Offence::Malformed, &e.to_string());
                    return;
                }
            };
            let hash = compact.hash();
            if self.chain.height_of(&hash).is_some() || self.rebuilding.contains_key(&hash) {
                self.report(&id, &source, Verdict::Ignore);
                return;
            }
            let parent = &compact.header.prev_hash;
            if self.chain.height_of(parent).is_none() && !self.in_import.contains(parent) {
                // We are behind: ask the announcer where it is; sync follows.
                self.report(&id, &source, Verdict::Ignore);
                self.ask_status(source);
                return;
            }
            if !self.chain.pow_ok(&compact.header) {
                self.report(&id, &source, Verdict::Reject);
                self.offend(
                    source,
                    Offence::InvalidBlock,
                    "announced header fails proof of work",
                );
                return;
            }
            let chain = self.chain.clone();
            let done = self.done_tx.clone();
            tokio::task::spawn_blocking(move || {
                let partial = compact
                    .reconstruct(|visit| chain.for_each_mempool_tx(visit))
                    .map_err(|e| e.to_string());
                let _ = done.send(Done::Rebuilt {
                    id,
                    source,
                    partial,
                });
            });
        } else {
            // Consensus topic: no consensus messages on these presets yet.
            self.report(&id, &source, Verdict::Ignore);
        }
    }

    fn on_sync(&mut self, ev: request_response::Event<Request, Response>) {
        match ev {
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Request {
                        request, channel, ..
                    },
                ..
            } => self.serve(peer, request, channel),
            request_response::Event::Message {
                peer,
                message:
                    request_response::Message::Response {
                        request_id,
                        response,
                    },
                ..
            } => {
                let Some(purpose) = self.outbound.remove(&request_id) else {
                    return;
                };
                self.on_response(peer, purpose, response);
            }
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(%peer, %error, "request failed");
                match self.outbound.remove(&request_id) {
                    Some(Purpose::Sync(t)) => self.syncer.on_failure(t),
                    Some(Purpose::BlockTxs(h)) => {
                        self.rebuilding.remove(&h);
                        self.request(peer, Request::Blocks(vec![h]), Purpose::FullBlock(h));
                    }
                    Some(Purpose::Status) => {
                        self.status_pending.remove(&peer);
                        if matches!(
                            error,
                            request_response::OutboundFailure::UnsupportedProtocols
                        ) {
                            // Not a node of this chain.
                            let _ = self.swarm.disconnect_peer_id(peer);
                        }
                    }
                    _ => {}
                }
                if let request_response::OutboundFailure::Io(e) = &error {
                    if e.kind() == std::io::ErrorKind::InvalidData {
                        self.offend(peer, Offence::Malformed, &e.to_string());
                    }
                }
            }
            request_response::Event::InboundFailure {
                peer,
                error: request_response::InboundFailure::Io(e),
                ..
            } if e.kind() == std::io::ErrorKind::InvalidData => {
                self.offend(peer, Offence::Malformed, &e.to_string());
            }
            _ => {}
        }
    }

    fn serve(
        &mut self,
        peer: PeerId,
        request: Request,
        channel: request_response::ResponseChannel<Response>,
    ) {
        let kind = match &request {
            Request::Status => 0,
            Request::Headers { .. } => 1,
            Request::Blocks(_) => 2,
            Request::BlockTxs { .. } => 3,
        };
        if self.limiters[kind].check_key(&peer).is_err() {
            let _ = self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, Response::RateLimited);
            self.offend(peer, Offence::RateLimit, "request rate limit exceeded");
            return;
        }
        if let Request::Status = request {
            let st = self.chain.status();
            let _ = self
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, Response::Status(st));
            return;
        }
        // Reading blocks is disk work: off the event loop.
        let chain = self.chain.clone();
        let done = self.done_tx.clone();
        let budget = self.cfg.max_block_bytes.max(16 << 20);
        tokio::task::spawn_blocking(move || {
            let response = match request {
                Request::Status => Response::NotFound,
                Request::Headers { locator, max } => Response::Headers(
                    chain.headers_after(&locator, (max as usize).min(wire::MAX_HEADERS as usize)),
                ),
                Request::Blocks(hashes) => {
                    let mut out = Vec::new();
                    let mut bytes = 0;
                    for h in hashes {
                        let Some(b) = chain.block_encoded(&h) else {
                            break;
                        };
                        bytes += b.len();
                        out.push(wire::EncodedBlock::new(b));
                        if bytes >= budget {
                            break;
                        }
                    }
                    if out.is_empty() {
                        Response::NotFound
                    } else {
                        Response::StoredBlocks(out)
                    }
                }
                Request::BlockTxs { block, indexes } => match chain.block(&block) {
                    Some(b) => {
                        let txs: Option<Vec<Transaction>> = indexes
                            .iter()
                            .map(|i| b.txs.get(*i as usize).cloned())
                            .collect();
                        match txs {
                            Some(txs) => Response::BlockTxs { block, txs },
                            None => Response::NotFound,
                        }
                    }
                    None => Response::NotFound,
                },
            };
            let _ = done.send(Done::Served { channel, response });
        });
    }

    fn on_response(&mut self, peer: PeerId, purpose: Purpose, response: Response) {
        if let Purpose::Status = purpose {
            self.status_pending.remove(&peer);
        }
        match (purpose, response) {
            (Purpose::Status, Response::Status(st)) => {
                let local = self.chain.status();
                if st.chain_id != local.chain_id || st.genesis != local.genesis {
                    self.offend(peer, Offence::WrongChain, "status names another chain");
                    return;
                }
                self.heights.insert(peer, st.height);
                self.syncer.peer_status(peer, st.height, st.work);
                self.drive_sync();
            }
            (Purpose::Sync(t), Response::Headers(headers)) => {
                let chain = self.chain.clone();
                let r = self.syncer.on_headers(
                    t,
                    &headers,
                    |h| chain.height_of(h),
                    |h| chain.pow_ok(h),
                );
                match r {
                    Ok(()) | Err(crate::sync::Fault::Unsolicited) => {}
                    Err(crate::sync::Fault::Disconnected) => {
                        self.offend(peer, Offence::UnconnectedHeaders, "headers do not connect")
                    }
                    Err(f) => self.offend(peer, Offence::BadSyncAnswer, &f.to_string()),
                }
                self.drive_sync();
            }
            (Purpose::Sync(t), Response::Blocks(blocks)) => {
                match self.syncer.on_blocks(t, blocks) {
                    Ok(()) | Err(crate::sync::Fault::Unsolicited) => {}
                    Err(f) => self.offend(peer, Offence::BadSyncAnswer, &f.to_string()),
                }
                self.drive_sync();
            }
            (Purpose::Sync(t), _) => {
                self.syncer.on_failure(t);
            }
            (Purpose::BlockTxs(h), Response::BlockTxs { block, txs }) if block == h => {
                let Some(r) = self.rebuilding.remove(&h) else {
                    return;
                };
                match r.partial.complete(txs) {
                    Ok(b) => {
                        self.announce.rebuilt_with_fetch += 1;
                        self.import_gossiped(b, r.id, r.source);
                    }
                    Err(e) => {
                        tracing::debug!(block = %h, error = %e, "compact block repair failed; fetching the full block");
                        self.announce.full_fallbacks += 1;
                        self.report(&r.id, &r.source, Verdict::Ignore);
                        self.request(peer, Request::Blocks(vec![h]), Purpose::FullBlock(h));
                    }
                }
            }
            (Purpose::BlockTxs(h), _) => {
                if let Some(r) = self.rebuilding.remove(&h) {
                    self.report(&r.id, &r.source, Verdict::Ignore);
                }
                self.announce.full_fallbacks += 1;
                self.request(peer, Request::Blocks(vec![h]), Purpose::FullBlock(h));
            }
            (Purpose::FullBlock(h), Response::Blocks(mut blocks)) => {
                if blocks.len() == 1 && blocks[0].hash() == h {
                    let b = blocks.pop().expect("one block");
                    self.enqueue_import(b, Origin::Fetched(peer));
                } else {
                    self.offend(peer, Offence::BadSyncAnswer, "wrong block returned");
                }
            }
            (_, Response::RateLimited) => tracing::debug!(%peer, "peer rate-limited us"),
            _ => {}
        }
    }

    fn import_gossiped(&mut self, block: Block, id: gossipsub::MessageId, source: PeerId) {
        let time = block.header.time;
        self.enqueue_import(block, Origin::Gossip { id, source, time });
    }

    fn on_done(&mut self, d: Done) {
        match d {
            Done::Tx {
                id,
                source,
                verdict,
            } => {
                self.report(&id, &source, verdict);
                if verdict == Verdict::Reject {
                    self.offend(source, Offence::InvalidTx, "invalid transaction");
                }
            }
            Done::Rebuilt {
                id,
                source,
                partial,
            } => match partial {
                Err(e) => {
                    self.report(&id, &source, Verdict::Reject);
                    self.offend(source, Offence::Malformed, &e);
                }
                Ok(p) if p.missing.is_empty() => {
                    let hash = p.header.hash();
                    match p.complete(vec![]) {
                        Ok(b) => {
                            self.announce.rebuilt_from_mempool += 1;
                            self.import_gossiped(b, id, source)
                        }
                        Err(_) => {
                            self.announce.full_fallbacks += 1;
                            self.report(&id, &source, Verdict::Ignore);
                            self.request(
                                source,
                                Request::Blocks(vec![hash]),
                                Purpose::FullBlock(hash),
                            );
                        }
                    }
                }
                Ok(p) => {
                    let hash = p.header.hash();
                    let indexes = p.missing.clone();
                    self.rebuilding.insert(
                        hash,
                        Rebuilding {
                            partial: p,
                            id,
                            source,
                        },
                    );
                    self.request(
                        source,
                        Request::BlockTxs {
                            block: hash,
                            indexes,
                        },
                        Purpose::BlockTxs(hash),
                    );
                }
            },
            Done::Imported {
                hash,
                origin,
                verdict,
            } => self.on_imported(hash, origin, verdict),
            Done::Served { channel, response } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response);
            }
        }
    }

    fn on_imported(&mut self, hash: Hash, origin: Origin, verdict: BlockVerdict) {
        self.in_import.remove(&hash);
        let peer = match &origin {
            Origin::Gossip { source, .. } => *source,
            Origin::Sync(p) | Origin::Fetched(p) => *p,
        };
        let gossip_verdict = match &verdict {
            BlockVerdict::Accepted { height, .. } => {
                let h = self.heights.entry(peer).or_insert(0);
                *h = (*h).max(*height);
                Verdict::Accept
            }
            BlockVerdict::Known | BlockVerdict::Failed(_) => Verdict::Ignore,
            BlockVerdict::Orphan => {
                self.ask_status(peer);
                Verdict::Ignore
            }
            BlockVerdict::Invalid(why) => {
                tracing::warn!(block = %hash, %peer, why, "invalid block from peer");
                if matches!(origin, Origin::Sync(_)) {
                    self.syncer.reset();
                }
                self.offend(peer, Offence::InvalidBlock, why);
                Verdict::Reject
            }
        };
        if let Origin::Gossip { id, source, time } = origin {
            if let BlockVerdict::Accepted { .. } = verdict {
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs_f64())
                    .unwrap_or(0.0);
                self.last_block_delay = Some((now - f64::from(time)).max(0.0));
            }
            self.report(&id, &source, gossip_verdict);
        }
    }
}
