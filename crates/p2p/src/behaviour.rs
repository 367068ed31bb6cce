//! The libp2p behaviour of a Luminex node and the names that keep chains
//! apart: every protocol and topic name carries the chain id and the first
//! bytes of the genesis hash, so nodes of different chains cannot exchange
//! anything even when they dial each other.

use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{
    allow_block_list, autonat, connection_limits, gossipsub, identify, identity, kad, ping,
    request_response, StreamProtocol,
};
use luminex_primitives::Hash;
use sha2::{Digest, Sha256};

use crate::wire::{from_frame, to_frame, Request, Response, Role};

/// The names of one chain's protocols and topics.
#[derive(Debug, Clone)]
pub struct ChainNames {
    /// `luminex/<chain id>-<genesis prefix>`: identify's protocol version.
    pub protocol_version: String,
    /// The sync request/response protocol.
    pub sync: StreamProtocol,
    /// The Kademlia protocol (a DHT per chain).
    pub kad: StreamProtocol,
    /// Gossip topic for transactions, in batches (ADR 0043).
    pub tx_topic: gossipsub::IdentTopic,
    /// Gossip topic for block announcements.
    pub block_topic: gossipsub::IdentTopic,
    /// Gossip topic reserved for consensus messages (BFT presets).
    pub consensus_topic: gossipsub::IdentTopic,
}

impl ChainNames {
    /// The names for a chain.
    pub fn new(chain_id: u32, genesis: &Hash) -> Self {
        let tag = format!("{chain_id}-{}", &genesis.to_string()[..16]);
        ChainNames {
            protocol_version: format!("luminex/{tag}"),
            sync: StreamProtocol::try_from_owned(format!("/luminex/{tag}/sync/1"))
                .expect("starts with a slash"),
            kad: StreamProtocol::try_from_owned(format!("/luminex/{tag}/kad/1"))
                .expect("starts with a slash"),
            // Version 2: unsigned messages (see `Behaviour::new`); the
            // transaction topic's 3: batches of transactions (ADR 0043).
            tx_topic: gossipsub::IdentTopic::new(format!("luminex/{tag}/tx/4")),
            block_topic: gossipsub::IdentTopic::new(format!("luminex/{tag}/block/2")),
            consensus_topic: gossipsub::IdentTopic::new(format!("luminex/{tag}/consensus/2")),
        }
    }
}

/// Bytes of request frames being read, across every stream of every
/// connection, default: a stream that would take more waits for nothing —
/// it fails, and the peer may ask again.
pub const REQUEST_BYTES_IN_FLIGHT: usize = 32 << 20;

/// How long a peer has to send a whole request frame once its stream is
/// open. Requests are small (a locator, a few hashes, transaction
/// indexes), so an honest peer sends one in milliseconds; a stream that
/// stalls longer fails and costs its peer points.
pub const REQUEST_READ_TIMEOUT: Duration = Duration::from_secs(5);

/// Bytes a frame's buffer may grow by before any more of it has arrived:
/// after this much, the buffer at most doubles with what has come.
const FIRST_READ: usize = 4 * 1024;

/// Bytes of frames being read, counted across streams, with a limit: what
/// a reader holds is reserved here as its buffer grows and given back when
/// it is done.
#[derive(Debug, Clone)]
pub struct FrameBudget {
    held: Arc<AtomicUsize>,
    limit: usize,
}

impl FrameBudget {
    /// A budget of `limit` bytes.
    pub fn new(limit: usize) -> Self {
        FrameBudget {
            held: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// Bytes held now.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Relaxed)
    }

    /// Reserves `bytes` more for `r`, or says there is no room.
    fn reserve(&self, r: &mut Reservation<'_>, bytes: usize) -> io::Result<()> {
        self.held
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                held.checked_add(bytes).filter(|n| *n <= self.limit)
            })
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::OutOfMemory,
                    "frames being read exceed their budget",
                )
            })?;
        r.bytes += bytes;
        Ok(())
    }
}

/// Bytes one reader holds of a [`FrameBudget`], given back on drop.
struct Reservation<'a> {
    budget: Option<&'a FrameBudget>,
    bytes: usize,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Some(b) = self.budget {
            b.held.fetch_sub(self.bytes, Ordering::Relaxed);
        }
    }
}

/// Size limits, budget and timeout of the sync protocol's frames.
#[derive(Debug, Clone)]
pub struct SyncCodec {
    /// Largest request frame.
    pub max_request: usize,
    /// Largest response frame (and what it may inflate to).
    pub max_response: usize,
    /// Bytes of request frames being read at once, over every stream.
    pub request_budget: FrameBudget,
    /// Time to read one request frame ([`REQUEST_READ_TIMEOUT`]).
    pub request_timeout: Duration,
}

impl SyncCodec {
    /// The codec with these frame limits, the default request budget
    /// ([`REQUEST_BYTES_IN_FLIGHT`]) and read timeout.
    pub fn new(max_request: usize, max_response: usize) -> Self {
        SyncCodec {
            max_request,
            max_response,
            request_budget: FrameBudget::new(REQUEST_BYTES_IN_FLIGHT),
            request_timeout: REQUEST_READ_TIMEOUT,
        }
    }
}

/// Reads a frame: a little-endian `u32` length, then that many bytes.
///
/// The buffer is grown (and zeroed) by what has arrived, never by what the
/// peer declared: at most twice the bytes received plus [`FIRST_READ`], each
/// byte zeroed once. With a budget, that growth is reserved from it first.
async fn read_frame<T: AsyncRead + Unpin + Send>(
    io: &mut T,
    limit: usize,
    budget: Option<&FrameBudget>,
) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len) as usize;
    if len > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame of {len} bytes exceeds the limit of {limit}"),
        ));
    }
    let mut held = Reservation { budget, bytes: 0 };
    let mut buf = Vec::new();
    let mut filled = 0;
    while filled < len {
        if filled == buf.len() {
            let grow = filled.max(FIRST_READ).min(len - filled);
            if let Some(b) = budget {
                b.reserve(&mut held, grow)?;
            }
            buf.resize(filled + grow, 0);
        }
        let n = io.read(&mut buf[filled..]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                PartialFrame { len, filled },
            ));
        }
        filled += n;
    }
    Ok(buf)
}

/// A stream that ended inside a frame, after its length: its sender
/// began a frame and gave up on it.
#[derive(Debug)]
struct PartialFrame {
    len: usize,
    filled: usize,
}

impl std::fmt::Display for PartialFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "stream closed {} bytes into a frame of {}",
            self.filled, self.len
        )
    }
}

impl std::error::Error for PartialFrame {}

/// Whether `e` is a stream that ended inside a frame.
fn is_partial_frame(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|inner| inner.is::<PartialFrame>())
}

async fn write_frame<T: AsyncWrite + Unpin + Send>(io: &mut T, frame: &[u8]) -> io::Result<()> {
    io.write_all(&(frame.len() as u32).to_le_bytes()).await?;
    io.write_all(frame).await?;
    io.close().await
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

/// A request of the sync protocol as the codec carries it: one to send or
/// that was read, or — only ever read — a request frame that could not be
/// read, and why. libp2p reports a failed read to nobody (the request never
/// existed for it), so the codec hands it on as a request: the network then
/// knows which peer stalled or sent garbage, and charges it.
#[derive(Debug)]
pub enum SyncRequest {
    /// A well-formed request.
    Request(Request),
    /// A request frame not sent within [`SyncCodec::request_timeout`].
    Stalled,
    /// A request frame too large, or not a request.
    Malformed(String),
    /// No room to read the request: frames being read from peers hold the
    /// whole budget. Answered `RateLimited` (no fault of the requester's,
    /// which asks again later or elsewhere), not dropped — a dropped
    /// stream costs this node points at the requester, so a peer holding
    /// the budget could otherwise get it banned by its other peers.
    Busy,
}

impl From<Request> for SyncRequest {
    fn from(r: Request) -> Self {
        SyncRequest::Request(r)
    }
}

impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = Response;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        let read = read_frame(io, self.max_request, Some(&self.request_budget));
        let timeout = futures_timer::Delay::new(self.request_timeout);
        futures::pin_mut!(read);
        let f = match futures::future::select(read, timeout).await {
            futures::future::Either::Left((Ok(f), _)) => f,
            futures::future::Either::Left((Err(e), _)) => {
                return match e.kind() {
                    io::ErrorKind::InvalidData => Ok(SyncRequest::Malformed(e.to_string())),
                    // A frame begun and given up (the stream closed inside
                    // it): as a frame not finished in time. Bytes held in
                    // the shared budget that way, stream after stream,
                    // would otherwise cost nothing while other peers'
                    // requests found no room.
                    _ if is_partial_frame(&e) => Ok(SyncRequest::Stalled),
                    io::ErrorKind::OutOfMemory => Ok(SyncRequest::Busy),
                    // A stream closed before a frame, a connection lost,
                    // or no room in the budget: nobody to blame for sure.
                    _ => Err(e),
                };
            }
            futures::future::Either::Right(_) => return Ok(SyncRequest::Stalled),
        };
        Ok(match from_frame(&f, self.max_request) {
            Ok(r) => SyncRequest::Request(r),
            Err(e) => SyncRequest::Malformed(e.to_string()),
        })
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Response>
    where
        T: AsyncRead + Unpin + Send,
    {
        let f = read_frame(io, self.max_response, None).await?;
        from_frame(&f, self.max_response).map_err(invalid)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: SyncRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        match req {
            SyncRequest::Request(req) => write_frame(io, &to_frame(&req)).await,
            _ => Err(invalid("only a well-formed request can be sent")),
        }
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Response,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &to_frame(&res)).await
    }
}

pub use composed::{Behaviour, BehaviourEvent};

/// The derived event enum has undocumented variants (one per field).
#[allow(missing_docs)]
mod composed {
    use super::*;

    /// Everything a Luminex node speaks.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        /// Caps half-open inbound connections, in total and per address
        /// (first, so a refused socket is closed before anything else).
        pub pending: crate::admission::PendingLimits,
        /// Caps connections per peer.
        pub limits: connection_limits::Behaviour,
        /// Banned peers.
        pub blocked: allow_block_list::Behaviour<allow_block_list::BlockedPeers>,
        /// The slots of established connections (`--max-peers`): by
        /// direction, address and subnet, with eviction and priority peers.
        pub slots: crate::connections::Slots,
        /// Exchanges versions, roles and listen addresses.
        pub identify: identify::Behaviour,
        /// Keeps connections alive and measures round trips.
        pub ping: ping::Behaviour,
        /// Peer discovery.
        pub kad: kad::Behaviour<kad::store::MemoryStore>,
        /// Transactions, blocks and consensus messages.
        pub gossip: gossipsub::Behaviour,
        /// Status, headers, blocks and block transactions on request.
        pub sync: request_response::Behaviour<SyncCodec>,
        /// Whether this node is reachable from outside.
        pub autonat: autonat::Behaviour,
    }
}

/// Connection slots kept for the connections this node dials, at most:
/// peers that dial in can take every other slot, never these (issue 19,
/// attack 4: identities dialling in held every slot, and a node could not
/// reach its bootnode). Peers found through the DHT take no more than
/// these either; priority peers (bootnodes, anchors, peers an operator
/// dials) come on top ([`crate::connections`]).
pub const OUTBOUND_SLOTS: u32 = 8;

/// Inbound connections at most with `max_peers` connections in all: all
/// but [`OUTBOUND_SLOTS`] (half of them with fewer than 16), at least one.
pub fn max_inbound(max_peers: u32) -> u32 {
    max_peers
        .saturating_sub(OUTBOUND_SLOTS.min(max_peers / 2))
        .max(1)
}

/// Limits the behaviour is built with.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections at most (priority peers aside).
    pub max_peers: u32,
    /// Inbound connections from one IP address at most.
    pub inbound_per_ip: u32,
    /// Inbound connections from one subnet (/24, /48) at most.
    pub inbound_per_subnet: u32,
    /// Largest gossip message (compressed) and what it may inflate to.
    pub max_gossip: usize,
    /// Sync frame limits.
    pub codec: SyncCodec,
}

/// Gossip message ids are content hashes: the same payload from two
/// publishers is one message.
fn message_id(m: &gossipsub::Message) -> gossipsub::MessageId {
    gossipsub::MessageId::from(Sha256::digest(&m.data)[..20].to_vec())
}

/// Peer scoring: a message the application rejects costs a peer heavily,
/// and the penalty decays slowly, so a peer that keeps sending garbage
/// drops below the graylist threshold and is banned by the network loop.
fn score_params(
    names: &ChainNames,
) -> (gossipsub::PeerScoreParams, gossipsub::PeerScoreThresholds) {
    let mut params = gossipsub::PeerScoreParams::default();
    for topic in [&names.tx_topic, &names.block_topic, &names.consensus_topic] {
        let t = gossipsub::TopicScoreParams {
            topic_weight: 1.0,
            // Reward time in the mesh a little, punish invalid messages a lot.
            time_in_mesh_weight: 0.01,
            time_in_mesh_quantum: Duration::from_secs(1),
            time_in_mesh_cap: 100.0,
            first_message_deliveries_weight: 0.5,
            first_message_deliveries_decay: 0.9,
            first_message_deliveries_cap: 100.0,
            mesh_message_deliveries_weight: 0.0,
            mesh_failure_penalty_weight: 0.0,
            invalid_message_deliveries_weight: -40.0,
            invalid_message_deliveries_decay: 0.99,
            ..Default::default()
        };
        params.topics.insert(topic.hash(), t);
    }
    params.app_specific_weight = 1.0;
    // Loopback tests run many peers from one address.
    params.ip_colocation_factor_weight = 0.0;
    // A message this node could not send to a peer in time says this node
    // is busy (its send queue to the peer is backed up), not that the peer
    // misbehaves. Gossipsub's default costs the peer 0.2 a message: under
    // load, four BFT validators on two cores banned each other for a day
    // within seconds and stopped finalizing.
    params.slow_peer_weight = 0.0;
    // Gossipsub keeps the counters of a departed peer whose score is not
    // positive (every fresh identity's) for this long, so reconnecting does
    // not wash a bad score clean; its default of an hour let identities
    // that connect and leave pile up entries. A peer that earned a ban is
    // remembered by the network loop's own ban list for the whole ban.
    params.retain_score = GOSSIP_SCORE_RETAINED;
    let thresholds = gossipsub::PeerScoreThresholds {
        gossip_threshold: -20.0,
        publish_threshold: -40.0,
        graylist_threshold: -80.0,
        accept_px_threshold: 10.0,
        opportunistic_graft_threshold: 5.0,
    };
    (params, thresholds)
}

/// How long gossipsub remembers a departed peer's score.
pub const GOSSIP_SCORE_RETAINED: Duration = Duration::from_secs(300);

/// Score below which the network loop bans a peer.
pub const BAN_SCORE: f64 = -80.0;

impl Behaviour {
    /// The behaviour of a node with `key` on the chain `names`.
    pub fn new(
        key: &identity::Keypair,
        names: &ChainNames,
        role: Role,
        limits: Limits,
    ) -> Result<Self, String> {
        let peer_id = key.public().to_peer_id();
        // Gossip is unsigned, with no author or sequence number (as
        // Ethereum's consensus layer does, "StrictNoSign"): what it carries
        // proves itself (ML-DSA signatures, proof of work) and message ids
        // are content hashes, so an ed25519 signature over every message
        // proved nothing and cost the publisher a signature and every hop a
        // verification — 14% of a node's CPU under the load generator.
        // Peers are scored by who forwarded a message, not who wrote it.
        let gossip_cfg = gossipsub::ConfigBuilder::default()
            .validation_mode(gossipsub::ValidationMode::Anonymous)
            .validate_messages()
            .message_id_fn(message_id)
            .max_transmit_size(limits.max_gossip)
            .heartbeat_interval(Duration::from_millis(500))
            .build()
            .map_err(|e| e.to_string())?;
        let mut gossip =
            gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Anonymous, gossip_cfg)?;
        let (params, thresholds) = score_params(names);
        gossip.with_peer_score(params, thresholds)?;
        for t in [&names.tx_topic, &names.block_topic, &names.consensus_topic] {
            gossip.subscribe(t).map_err(|e| e.to_string())?;
        }
        let mut kad_cfg = kad::Config::new(names.kad.clone());
        kad_cfg.set_periodic_bootstrap_interval(Some(Duration::from_secs(30)));
        let mut kad =
            kad::Behaviour::with_config(peer_id, kad::store::MemoryStore::new(peer_id), kad_cfg);
        kad.set_mode(Some(kad::Mode::Server));
        let agent = format!("luminex/{} ({})", env!("CARGO_PKG_VERSION"), role.as_str());
        Ok(Behaviour {
            pending: crate::admission::PendingLimits::new(
                crate::admission::MAX_PENDING_INCOMING,
                crate::admission::MAX_PENDING_PER_IP,
            ),
            limits: connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established_per_peer(Some(2)),
            ),
            blocked: Default::default(),
            slots: crate::connections::Slots::new(
                max_inbound(limits.max_peers),
                limits.max_peers - max_inbound(limits.max_peers),
                limits.inbound_per_ip,
                limits.inbound_per_subnet,
            ),
            identify: identify::Behaviour::new(
                identify::Config::new(names.protocol_version.clone(), key.public())
                    .with_agent_version(agent),
            ),
            ping: ping::Behaviour::new(ping::Config::new().with_interval(Duration::from_secs(5))),
            kad,
            gossip,
            sync: request_response::Behaviour::with_codec(
                limits.codec,
                [(names.sync.clone(), request_response::ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(30))
                    .with_max_concurrent_streams(64),
            ),
            autonat: autonat::Behaviour::new(
                peer_id,
                autonat::Config {
                    only_global_ips: false,
                    boot_delay: Duration::from_secs(5),
                    ..Default::default()
                },
            ),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::executor::block_on;
    use futures::io::Cursor;

    fn framed(len: u32, body: &[u8]) -> Cursor<Vec<u8>> {
        let mut bytes = len.to_le_bytes().to_vec();
        bytes.extend_from_slice(body);
        Cursor::new(bytes)
    }

    #[test]
    fn inbound_connections_leave_slots_for_outbound_ones() {
        assert_eq!(max_inbound(50), 42);
        assert_eq!(max_inbound(16), 8);
        assert_eq!(max_inbound(6), 3);
        assert_eq!(max_inbound(1), 1);
    }

    #[test]
    fn only_what_a_peer_sends_lowers_its_score() {
        let names = ChainNames::new(1, &Hash::ZERO);
        let (params, thresholds) = score_params(&names);
        params.validate().unwrap();
        assert_eq!(params.slow_peer_weight, 0.0);
        assert_eq!(params.retain_score, GOSSIP_SCORE_RETAINED);
        assert!(thresholds.graylist_threshold >= BAN_SCORE);
    }

    #[test]
    fn frames_are_read_whole_and_bounded() {
        let body = vec![5u8; 3 << 20];
        let got = block_on(read_frame(
            &mut framed(body.len() as u32, &body),
            4 << 20,
            None,
        ))
        .unwrap();
        assert_eq!(got, body);
        // A stream ending early is an error, not a short frame; inside a
        // frame, one that says so.
        let err = block_on(read_frame(&mut framed(100, &[1; 10]), 1 << 20, None)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(is_partial_frame(&err), "{err}");
        let err = block_on(read_frame(&mut Cursor::new(vec![1, 0]), 1 << 20, None)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(!is_partial_frame(&err), "before the length: {err}");
        // A length past the limit is refused before anything is read.
        let err = block_on(read_frame(&mut framed(u32::MAX, &[]), 1 << 20, None)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        // Bytes after the frame stay unread.
        let mut two = framed(2, &[1, 2, 3, 4]);
        assert_eq!(
            block_on(read_frame(&mut two, 10, None)).unwrap(),
            vec![1, 2]
        );
        assert_eq!(two.position(), 6);
    }

    /// A peer's stream: some bytes, then nothing more for as long as the
    /// reader waits.
    struct Stalling {
        bytes: Vec<u8>,
        at: usize,
    }

    impl AsyncRead for Stalling {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            out: &mut [u8],
        ) -> std::task::Poll<io::Result<usize>> {
            let rest = &self.bytes[self.at..];
            if rest.is_empty() {
                return std::task::Poll::Pending;
            }
            let n = rest.len().min(out.len()).min(1_000);
            out[..n].copy_from_slice(&rest[..n]);
            self.at += n;
            std::task::Poll::Ready(Ok(n))
        }
    }

    fn stalling(declared: u32, sent: usize) -> Stalling {
        let mut bytes = declared.to_le_bytes().to_vec();
        bytes.resize(4 + sent, 9);
        Stalling { bytes, at: 0 }
    }

    #[test]
    fn a_frame_is_held_by_what_arrived_not_by_what_was_declared() {
        use futures::FutureExt;
        let budget = FrameBudget::new(1 << 30);
        // A length prefix alone: no more than the first read is reserved,
        // however large the declared frame.
        let mut io = stalling(4 << 20, 0);
        {
            let read = read_frame(&mut io, 4 << 20, Some(&budget));
            futures::pin_mut!(read);
            assert!(read.as_mut().now_or_never().is_none(), "still waiting");
            assert_eq!(budget.held(), FIRST_READ);
        }
        assert_eq!(budget.held(), 0, "given back when the reader is dropped");
        // With some bytes in, at most twice those bytes plus the first read.
        for sent in [1, 5_000, 100_000, 1_000_000] {
            let mut io = stalling(4 << 20, sent);
            let read = read_frame(&mut io, 4 << 20, Some(&budget));
            futures::pin_mut!(read);
            assert!(read.as_mut().now_or_never().is_none(), "still waiting");
            assert!(budget.held() >= sent, "{sent}: what arrived is counted");
            assert!(
                budget.held() <= 2 * sent + FIRST_READ,
                "{sent}: {}",
                budget.held()
            );
        }
        assert_eq!(budget.held(), 0);
    }

    #[test]
    fn frames_being_read_share_one_budget() {
        use futures::FutureExt;
        let budget = FrameBudget::new(64 * 1024);
        let mut a = stalling(1 << 20, 30_000);
        let read_a = read_frame(&mut a, 1 << 20, Some(&budget));
        futures::pin_mut!(read_a);
        assert!(read_a.as_mut().now_or_never().is_none());
        let held = budget.held();
        assert!(held >= 30_000);
        // A second stream gets what is left and fails past it, without
        // touching the first one's bytes.
        let mut b = stalling(1 << 20, 60_000);
        let err = block_on(read_frame(&mut b, 1 << 20, Some(&budget))).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
        assert_eq!(budget.held(), held);
        // As the codec reads requests: no room is `Busy` (answered, not
        // dropped), a frame given up half-way is the sender's stall.
        let mut codec = SyncCodec::new(1 << 20, 1 << 20);
        codec.request_budget = budget.clone();
        let p = StreamProtocol::new("/t");
        let mut c = stalling(1 << 20, 60_000);
        let r = block_on(request_response::Codec::read_request(
            &mut codec, &p, &mut c,
        ))
        .unwrap();
        assert!(matches!(r, SyncRequest::Busy), "{r:?}");
        let mut gave_up = framed(1 << 10, &[1; 100]);
        let r = block_on(request_response::Codec::read_request(
            &mut codec,
            &p,
            &mut gave_up,
        ))
        .unwrap();
        assert!(matches!(r, SyncRequest::Stalled), "{r:?}");
        // A whole frame within budget reads, and gives its bytes back.
        let body = vec![3u8; 10_000];
        let got = block_on(read_frame(
            &mut framed(body.len() as u32, &body),
            1 << 20,
            Some(&budget),
        ))
        .unwrap();
        assert_eq!(got, body);
        assert_eq!(budget.held(), held);
    }
}
