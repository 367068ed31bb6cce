//! Memory an attacker can make the node hold, measured: sync-protocol
//! streams that send a length prefix and then stall (issue 19, attack 3:
//! the reader holds what has arrived, not what was declared, and stalled
//! streams time out fast and cost their peer a ban), and compact block
//! announcements of the largest block allowed that are never backed
//! (attack 2: a few in progress per peer).
//!
//! A test binary of its own: it counts every allocation of the process
//! (a counting global allocator), which would count other tests too; its
//! tests take turns.

// This test uses only part of the shared helpers.
#[allow(dead_code, unused_macros, unused_imports)]
#[path = "it/net.rs"]
mod net;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::{AsyncRead, AsyncWrite, AsyncWriteExt, FutureExt};
use libp2p::request_response::{self, Codec, ProtocolSupport};
use libp2p::swarm::SwarmEvent;
use libp2p::{identity, noise, tcp, yamux, StreamProtocol, Swarm};
use luminex_p2p::behaviour::{BehaviourEvent, SyncCodec, SyncRequest};
use luminex_p2p::compact::CompactBlock;
use luminex_p2p::wire::{self, Request, Response};
use luminex_p2p::ChainAccess;
use luminex_primitives::{Block, Hash, PowHeader};

/// Bytes allocated and not freed, and their peak since the last reset.
struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Ordering::Relaxed);
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Ordering::Relaxed) + l.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Ordering::Relaxed) + new - l.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Ordering::Relaxed);
            }
        }
        q
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The tests take turns: they share the allocation counts.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Resets the peak to what is live now, and returns it.
fn reset_peak() -> usize {
    let now = live();
    PEAK.store(now, Ordering::Relaxed);
    now
}

/// A stream that delivered a length prefix and stalls.
struct PrefixOnly {
    prefix: [u8; 4],
    at: usize,
}

impl AsyncRead for PrefixOnly {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        out: &mut [u8],
    ) -> std::task::Poll<io::Result<usize>> {
        if self.at == 4 {
            return std::task::Poll::Pending;
        }
        let n = (4 - self.at).min(out.len());
        out[..n].copy_from_slice(&self.prefix[self.at..self.at + n]);
        self.at += n;
        std::task::Poll::Ready(Ok(n))
    }
}

/// Streams a peer may hold open on one connection.
const STREAMS: usize = 64;

#[test]
fn a_length_prefix_alone_does_not_make_the_reader_reserve_the_declared_size() {
    let _turn = SERIAL.blocking_lock();
    let declared = (4u32 << 20) - 1;
    let codec = SyncCodec::new(4 << 20, 32 << 20);
    let mut codecs = vec![codec; STREAMS];
    let protocol = StreamProtocol::new("/test/sync/1");
    let mut streams: Vec<PrefixOnly> = (0..STREAMS)
        .map(|_| PrefixOnly {
            prefix: declared.to_le_bytes(),
            at: 0,
        })
        .collect();
    let before = reset_peak();
    let mut reads: Vec<_> = streams
        .iter_mut()
        .zip(&mut codecs)
        .map(|(io, codec)| Box::pin(codec.read_request(&protocol, io)))
        .collect();
    for r in &mut reads {
        assert!(r.as_mut().now_or_never().is_none(), "waits for the frame");
    }
    let peak = PEAK.load(Ordering::Relaxed) - before;
    // Each reader holds its first read (4 KiB) and its future; declaring
    // 4 MiB made every one reserve and zero 1 MiB before.
    assert!(
        peak < STREAMS * 16 * 1024,
        "{STREAMS} stalled streams took {peak} bytes"
    );
    drop(reads);
}

/// An attacker's codec: every request is a length prefix declaring a large
/// frame, then nothing.
#[derive(Clone)]
struct StallCodec;

impl Codec for StallCodec {
    type Protocol = StreamProtocol;
    type Request = ();
    type Response = ();

    async fn read_request<T>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<()>
    where
        T: AsyncRead + Unpin + Send,
    {
        futures::future::pending().await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, _: &mut T) -> io::Result<()>
    where
        T: AsyncRead + Unpin + Send,
    {
        futures::future::pending().await
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, _: ()) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        io.write_all(&((4u32 << 20) - 1).to_le_bytes()).await?;
        io.flush().await?;
        futures::future::pending().await
    }

    async fn write_response<T>(&mut self, _: &StreamProtocol, _: &mut T, _: ()) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        futures::future::pending().await
    }
}

fn staller() -> Swarm<request_response::Behaviour<StallCodec>> {
    let sync = net::names().sync;
    libp2p::SwarmBuilder::with_existing_identity(identity::Keypair::generate_ed25519())
        .with_tokio()
        .with_tcp(
            tcp::Config::default(),
            noise::Config::new,
            yamux::Config::default,
        )
        .unwrap()
        .with_behaviour(|_| {
            request_response::Behaviour::with_codec(
                StallCodec,
                [(sync, ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(Duration::from_secs(120))
                    .with_max_concurrent_streams(STREAMS),
            )
        })
        .unwrap()
        .with_swarm_config(|c| c.with_idle_connection_timeout(Duration::from_secs(120)))
        .build()
}

/// Connections of stalled streams at once (the figure).
const CONNECTIONS: usize = 10;

/// Resident memory of this process, from /proc (Linux), in bytes.
fn rss() -> Option<usize> {
    let s = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = s.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_request_streams_cost_little_memory_and_get_their_peer_banned() {
    let _turn = SERIAL.lock().await;
    let (handle, addr) = net::start(net::config()).await;
    let rss_before = rss();
    let before = reset_peak();
    let mut tasks = Vec::new();
    for _ in 0..CONNECTIONS {
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move {
            let mut swarm = staller();
            let me = *swarm.local_peer_id();
            swarm.dial(addr).unwrap();
            net::drive_until(&mut swarm, "the ban", 120, |swarm, ev| match ev {
                SwarmEvent::ConnectionEstablished { peer_id, .. } => {
                    for _ in 0..STREAMS {
                        swarm.behaviour_mut().send_request(&peer_id, ());
                    }
                    None
                }
                SwarmEvent::ConnectionClosed {
                    num_established: 0, ..
                } => Some(()),
                _ => None,
            })
            .await;
            me
        }));
    }
    let mut stallers = Vec::new();
    for t in tasks {
        stallers.push(t.await.unwrap().to_string());
    }
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    let rss_after = rss();
    // Every staller was disconnected for stalling, and banned.
    let banned = net::wait_for(&handle, "the stallers banned", 30, || {
        let h = handle.clone();
        let s = stallers.clone();
        async move {
            let b = h.info().banned;
            s.iter().all(|p| b.contains(p)).then_some(b)
        }
    })
    .await;
    assert!(banned.len() >= CONNECTIONS);
    eprintln!(
        "{CONNECTIONS} connections x {STREAMS} stalled streams: peak heap growth {} KiB \
         (both sides, in one process); resident {:?} -> {:?} KiB",
        peak / 1024,
        rss_before.map(|b| b / 1024),
        rss_after.map(|b| b / 1024),
    );
    // Before, every stream made the node reserve and zero 1 MiB: 640 MiB.
    assert!(
        peak < 64 << 20,
        "peak heap growth {peak} bytes with {CONNECTIONS} x {STREAMS} stalled streams"
    );
    net::wait_forgotten(&handle, 60).await;
}

/// Peers announcing at once, and announcements each (the figures).
const ANNOUNCERS: usize = 3;
const ANNOUNCEMENTS: u32 = 70;

/// An announcement on the test chain's genesis of `n` short ids nobody
/// has, distinct from every other announcement's.
fn unbacked_announcement(nonce: u32, n: usize) -> CompactBlock {
    let header = Block::new(
        PowHeader {
            version: 1,
            prev_hash: net::GENESIS,
            merkle_root: Hash([7; 32]),
            time: 1,
            bits: 0,
            nonce,
        },
        vec![],
    )
    .header;
    CompactBlock {
        header,
        salt: nonce as u64,
        short_ids: (0..n)
            .map(|i| {
                let b = ((nonce as u64) << 32 | i as u64).to_le_bytes();
                [b[0], b[1], b[2], b[3], b[4], b[5]]
            })
            .collect(),
        prefilled: vec![],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unbacked_announcements_of_the_largest_block_cost_little_memory() {
    let _turn = SERIAL.lock().await;
    // The dev chain's block limit (128 MiB): 35,965 short ids at most.
    let mut cfg = net::config();
    cfg.max_block_bytes = 128 << 20;
    let max_txs = luminex_p2p::compact::max_block_txs(cfg.max_block_bytes);
    let (handle, addr) = net::start(cfg).await;
    let frames: Vec<Vec<Vec<u8>>> = (0..ANNOUNCERS as u32)
        .map(|a| {
            (0..ANNOUNCEMENTS)
                .map(|i| wire::to_frame(&unbacked_announcement(a * 1000 + i, max_txs)))
                .collect()
        })
        .collect();
    let wire_bytes: usize = frames.iter().flatten().map(|f| f.len()).sum();
    let rss_before = rss();
    let before = reset_peak();
    let mut tasks = Vec::new();
    for frames in frames {
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move {
            let mut swarm = net::attacker();
            let me = swarm.local_peer_id().to_string();
            swarm.dial(addr).unwrap();
            let (mut asked, mut held) = (0, Vec::new());
            net::publish_until_dropped(
                &mut swarm,
                &net::names().block_topic,
                &frames,
                "the announcer dropped",
                120,
                |swarm, ev| {
                    let SwarmEvent::Behaviour(BehaviourEvent::Sync(
                        request_response::Event::Message {
                            message:
                                request_response::Message::Request {
                                    request, channel, ..
                                },
                            ..
                        },
                    )) = ev
                    else {
                        return;
                    };
                    match request {
                        SyncRequest::Request(Request::Status) => {
                            let st = net::GenesisOnly.status();
                            let _ = swarm
                                .behaviour_mut()
                                .sync
                                .send_response(channel, Response::Status(st));
                        }
                        // Asked for the block or its transactions: never
                        // answered, the stream held open.
                        _ => {
                            asked += 1;
                            held.push(channel);
                        }
                    }
                },
            )
            .await;
            (me, asked)
        }));
    }
    let mut announcers = Vec::new();
    for t in tasks {
        let (me, asked) = t.await.unwrap();
        assert!(asked <= 2, "{asked} announcements of one peer taken up");
        announcers.push(me);
    }
    let peak = PEAK.load(Ordering::Relaxed).saturating_sub(before);
    let rss_after = rss();
    let banned = handle.info().banned;
    assert!(
        announcers.iter().all(|a| banned.contains(a)),
        "every announcer banned"
    );
    eprintln!(
        "{ANNOUNCERS} peers x {ANNOUNCEMENTS} announcements of {max_txs} short ids \
         ({} KiB on the wire): peak heap growth {} KiB (both sides, in one process); \
         resident {:?} -> {:?} KiB",
        wire_bytes / 1024,
        peak / 1024,
        rss_before.map(|b| b / 1024),
        rss_after.map(|b| b / 1024),
    );
    // The issue saw 2.1 GB more resident memory for 210 announcements.
    assert!(peak < 300 << 20, "peak heap growth {peak} bytes");
    net::wait_forgotten(&handle, 60).await;
}
