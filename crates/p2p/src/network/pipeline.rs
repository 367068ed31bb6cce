//! The import pipeline: peers' statuses feed the [`Syncer`](crate::sync::Syncer),
//! whose requests go out and whose blocks, with relayed and fetched ones,
//! pass a prepare thread (context-free checks and signatures) and then an
//! importer thread that hands them to the chain one at a time, in order.

use std::sync::Arc;
use std::time::Duration;

use libp2p::request_response::OutboundRequestId;
use libp2p::{gossipsub, PeerId};
use luminex_primitives::{Block, Encode, Hash};
use tokio::sync::mpsc;

use super::peer::Offence;

/// How long downloads pause after the chain refused a block for now
/// ([`BlockVerdict::Failed`]) before it is asked for again, the first time.
pub(super) const SYNC_RETRY_PAUSE: Duration = Duration::from_secs(5);

/// The longest such pause: each refusal in a row doubles it up to this.
pub(super) const SYNC_RETRY_PAUSE_MAX: Duration = Duration::from_secs(120);
use super::{BlockVerdict, ChainAccess, Done, Net, Purpose, Verdict};
use crate::sync::{ChainView, Fault, Local};
use crate::wire::{Request, Response, Status};

/// Blocks prepared and waiting for the importer at most.
const PREPARED_AHEAD: usize = 2;

/// How long a peer has to answer a headers request. An answer is at most
/// 2,000 headers, sent at once by an honest peer. Every peer that claims
/// more work is asked at once, so one that sits on its request holds up
/// nobody else; past this it is charged and its claim passed over (rather
/// than its request held for the whole request timeout, 30 s).
pub(super) const HEADERS_TIMEOUT: Duration = Duration::from_secs(5);

/// A headers request in flight (one per peer at most).
pub(super) struct HeadersAsked {
    pub id: OutboundRequestId,
    pub peer: PeerId,
    /// When it was sent ([`luminex_primitives::Clock::monotonic`] time).
    pub at: Duration,
}

/// The chain as the syncer reads it.
struct View<'a, C>(&'a C);

impl<C: ChainAccess> ChainView for View<'_, C> {
    fn known(&self, hash: &Hash) -> Option<(u64, [u8; 32])> {
        self.0.known_work(hash)
    }

    fn header_work(&self, header: &luminex_primitives::Header) -> Option<[u8; 32]> {
        self.0.header_work(header)
    }

    fn refused(&self, hash: &Hash) -> bool {
        self.0.refused(hash)
    }
}

/// Where a block being imported came from.
#[derive(Debug, Clone)]
pub(super) enum Origin {
    Gossip {
        id: gossipsub::MessageId,
        source: PeerId,
        time: u64,
    },
    Sync(PeerId),
    Fetched(PeerId),
}

/// Blocks of a download imported without waiting for the disk at most
/// before the importer syncs them (`luminex_storage::SYNC_BATCH_BLOCKS`).
const SYNC_BATCH_BLOCKS: usize = 32;

/// Encoded bytes of such blocks at most before the importer syncs them
/// (`luminex_storage::SYNC_BATCH_BYTES`).
const SYNC_BATCH_BYTES: usize = 256 << 20;

/// How long such blocks wait for their sync at most
/// (`luminex_storage::SYNC_BATCH_AGE`).
const SYNC_BATCH_AGE: Duration = Duration::from_secs(1);

/// How long the importer waits for the next block before it syncs the
/// ones it holds (`luminex_storage::SYNC_IDLE`): a block still being
/// prepared is waited for, a download waiting for the network is not.
const SYNC_IDLE: Duration = Duration::from_millis(50);

/// A block on its way from the prepare thread to the importer: its hash,
/// what the chain prepared, where it came from and its encoded size.
type Prepared<C> = (Hash, <C as ChainAccess>::Prepared, Origin, usize);

/// Verdicts of blocks imported without waiting for the disk, held until
/// their sync (ADR 0040).
struct Held {
    verdicts: Vec<(Hash, Origin, BlockVerdict)>,
    bytes: usize,
    since: Option<std::time::Instant>,
}

impl Held {
    fn new() -> Held {
        Held {
            verdicts: Vec::new(),
            bytes: 0,
            since: None,
        }
    }

    /// Holds a verdict; returns whether the batch is due for its sync.
    fn hold(&mut self, hash: Hash, origin: Origin, verdict: BlockVerdict, bytes: usize) -> bool {
        self.verdicts.push((hash, origin, verdict));
        self.bytes = self.bytes.saturating_add(bytes);
        let since = *self.since.get_or_insert_with(std::time::Instant::now);
        self.verdicts.len() >= SYNC_BATCH_BLOCKS
            || self.bytes >= SYNC_BATCH_BYTES
            || since.elapsed() >= SYNC_BATCH_AGE
    }

    /// Syncs the held blocks, then reports them. A block the chain could
    /// not make durable is reported as a local failure, not accepted.
    /// Returns false when the event loop is gone.
    fn release<C: ChainAccess>(&mut self, chain: &C, done: &mpsc::UnboundedSender<Done>) -> bool {
        if self.verdicts.is_empty() {
            return true;
        }
        let durable = chain.sync_imported();
        self.bytes = 0;
        self.since = None;
        for (hash, origin, verdict) in self.verdicts.drain(..) {
            let verdict = match verdict {
                BlockVerdict::Accepted { .. } if !durable => {
                    BlockVerdict::Failed("the chain could not make the block durable".into())
                }
                v => v,
            };
            if !send_verdict(done, hash, origin, verdict) {
                return false;
            }
        }
        true
    }
}

/// Reports a block's verdict to the event loop; false when it is gone.
fn send_verdict(
    done: &mpsc::UnboundedSender<Done>,
    hash: Hash,
    origin: Origin,
    verdict: BlockVerdict,
) -> bool {
    done.send(Done::Imported {
        hash,
        origin,
        verdict,
    })
    .is_ok()
}

/// Starts the prepare and import threads; blocks sent to the returned
/// channel come back, imported, as [`Done::Imported`].
pub(super) fn spawn<C: ChainAccess>(
    chain: Arc<C>,
    done: mpsc::UnboundedSender<Done>,
) -> Result<std::sync::mpsc::Sender<(Block, Origin)>, String> {
    let (import_tx, prepare_rx) = std::sync::mpsc::channel::<(Block, Origin)>();
    let (prepared_tx, import_rx) = std::sync::mpsc::sync_channel::<Prepared<C>>(PREPARED_AHEAD);
    {
        // A block is prepared (its signatures checked) on one thread while
        // the block before it is imported on another.
        let chain = chain.clone();
        std::thread::Builder::new()
            .name("luminex-prepare".into())
            .spawn(move || {
                while let Ok((block, origin)) = prepare_rx.recv() {
                    let hash = block.hash();
                    let bytes = block.encoded_len();
                    let prepared = chain.prepare_block(Arc::new(block));
                    if prepared_tx.send((hash, prepared, origin, bytes)).is_err() {
                        break;
                    }
                }
            })
            .map_err(|e| e.to_string())?;
    }
    // Blocks are imported one at a time, in arrival order: the chain
    // serialises writers anyway, and sync depends on the order.
    std::thread::Builder::new()
        .name("luminex-import".into())
        .spawn(move || import_loop(&*chain, &import_rx, &done))
        .map_err(|e| e.to_string())?;
    Ok(import_tx)
}

/// The importer: hands the prepared blocks to the chain in order. Blocks
/// of the download (far behind the tip, with more behind them) are
/// imported without waiting for the disk and their verdicts held; the
/// chain syncs them, and the verdicts go out, when no block has come for
/// [`SYNC_IDLE`] (so a download that caught up has every block durable
/// before anyone hears of it), before a
/// block from elsewhere (relayed, fetched for an announcement: imported
/// synced), and after at most [`SYNC_BATCH_BLOCKS`] blocks,
/// [`SYNC_BATCH_BYTES`] or [`SYNC_BATCH_AGE`] (ADR 0040).
fn import_loop<C: ChainAccess>(
    chain: &C,
    import_rx: &std::sync::mpsc::Receiver<Prepared<C>>,
    done: &mpsc::UnboundedSender<Done>,
) {
    let mut held = Held::new();
    loop {
        let (hash, block, origin, bytes) = match import_rx.try_recv() {
            Ok(next) => next,
            Err(std::sync::mpsc::TryRecvError::Disconnected) => break,
            Err(std::sync::mpsc::TryRecvError::Empty) => {
                chain.help_prepare();
                match import_rx.recv_timeout(SYNC_IDLE) {
                    Ok(next) => next,
                    Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                        // Caught up, or waiting for the network: what was
                        // imported becomes durable and is reported.
                        if !held.release(chain, done) {
                            return;
                        }
                        match import_rx.recv() {
                            Ok(next) => next,
                            Err(_) => break,
                        }
                    }
                }
            }
        };
        if matches!(origin, Origin::Sync(_)) {
            let verdict = chain.import_block_batched(block);
            if held.hold(hash, origin, verdict, bytes) && !held.release(chain, done) {
                return;
            }
            continue;
        }
        if !held.release(chain, done) {
            return;
        }
        let verdict = chain.import_block(block);
        if !send_verdict(done, hash, origin, verdict) {
            return;
        }
    }
    held.release(chain, done);
}

impl<C: ChainAccess> Net<C> {
    pub(super) fn local(&self) -> Local {
        let st = self.chain.status();
        Local {
            height: st.height,
            work: st.work,
            locator: self.chain.locator(),
        }
    }

    /// Asks a peer for its status unless a request is already out.
    /// At most one request per peer per second, well inside the peer's
    /// rate limit, however many orphans a burst of announcements produces.
    pub(super) fn ask_status(&mut self, peer: PeerId) {
        let now = self.clock.monotonic();
        let Some(p) = self.peers.get_mut(&peer) else {
            return;
        };
        if p.status_pending
            || p.status_asked
                .is_some_and(|t| now.saturating_sub(t) < Duration::from_secs(1))
        {
            return;
        }
        p.status_pending = true;
        p.status_asked = Some(now);
        self.request(peer, Request::Status, Purpose::Status);
    }

    pub(super) fn enqueue_import(&mut self, block: Block, origin: Origin) {
        self.in_import.insert(block.hash());
        let _ = self.import_tx.send((block, origin));
    }

    pub(super) fn drive_sync(&mut self) {
        let local = self.local();
        // While paused after a refusal, headers are still asked (a heavier
        // branch is still learned); blocks are not.
        let blocks = match self.sync_resume_at {
            Some(at) if self.clock.monotonic() < at => false,
            Some(_) => {
                self.sync_resume_at = None;
                true
            }
            None => true,
        };
        for (peer, token, req) in self.syncer.poll_with(&local, blocks) {
            let headers = matches!(req, Request::Headers { .. });
            let id = self.request(peer, req, Purpose::Sync(token));
            if headers {
                let at = self.clock.monotonic();
                self.headers_asked
                    .insert(token, HeadersAsked { id, peer, at });
            }
        }
        for (block, peer) in self.syncer.take_ready() {
            self.enqueue_import(block, Origin::Sync(peer));
        }
        // On BFT chains blocks come by catch-up, not from the syncer.
        let progress = if self.cfg.block_sync {
            self.syncer.progress(&local)
        } else {
            self.catch_up_progress()
        };
        let now = self.clock.monotonic();
        if progress.syncing && now.saturating_sub(self.last_progress_log) >= Duration::from_secs(5)
        {
            self.last_progress_log = now;
            tracing::info!(
                height = local.height,
                target = progress.target_height,
                best_peer = progress.best_peer_height,
                "syncing"
            );
        }
        self.info.write().sync = progress;
    }

    /// Once a second: a headers request unanswered past [`HEADERS_TIMEOUT`]
    /// disproves its peer's claim and costs the peer points; its late
    /// answer is dropped. The other peers' requests go on meanwhile.
    pub(super) fn check_headers_deadline(&mut self, now: Duration) {
        let mut late: Vec<(u64, OutboundRequestId, PeerId)> = self
            .headers_asked
            .iter()
            .filter(|(_, h)| now.saturating_sub(h.at) >= HEADERS_TIMEOUT)
            .map(|(t, h)| (*t, h.id, h.peer))
            .collect();
        if late.is_empty() {
            return;
        }
        late.sort_by_key(|l| l.0);
        for (token, id, peer) in late {
            self.headers_asked.remove(&token);
            self.outbound.remove(&id);
            if self.syncer.on_stalled(token) {
                self.offend(
                    peer,
                    Offence::StalledHeaders,
                    "headers request not answered in time",
                );
            }
        }
        self.drive_sync();
    }

    /// A peer left or was banned: the download forgets it, with its
    /// requests (their late answers are dropped).
    pub(super) fn forget_sync_peer(&mut self, peer: PeerId) {
        self.syncer.remove_peer(&peer);
        self.headers_asked.retain(|_, h| h.peer != peer);
    }

    /// A peer's status arrived.
    pub(super) fn on_status(&mut self, peer: PeerId, st: Status) {
        let local = self.chain.status();
        if st.chain_id != local.chain_id || st.genesis != local.genesis {
            self.offend(peer, Offence::WrongChain, "status names another chain");
            return;
        }
        let first = match self.peers.get_mut(&peer) {
            Some(p) => {
                let claim = p.claim(st.height, self.clock.monotonic());
                p.height.replace(claim).is_none()
            }
            None => false,
        };
        // A peer's first status gives the node its view of the network
        // (readiness): published at once, not at the next second's
        // housekeeping, which a fast sync can finish before.
        if first {
            self.publish_info();
        }
        if !self.cfg.block_sync {
            self.drive_catch_up();
            return;
        }
        self.syncer.peer_status(peer, st.height, st.work);
        self.drive_sync();
    }

    /// An answer to a request of the syncer.
    pub(super) fn on_sync_response(&mut self, peer: PeerId, token: u64, response: Response) {
        match response {
            Response::Headers(headers) => {
                let chain = self.chain.clone();
                let r = self.syncer.on_headers(token, &headers, &View(&*chain));
                self.headers_asked.remove(&token);
                match r {
                    Ok(()) | Err(Fault::Unsolicited) => {}
                    Err(Fault::Disconnected) => {
                        self.offend(peer, Offence::UnconnectedHeaders, "headers do not connect")
                    }
                    Err(Fault::Unbacked) => self.offend(
                        peer,
                        Offence::UnbackedClaim,
                        "headers end below the claimed work",
                    ),
                    Err(f) => self.offend(peer, Offence::BadSyncAnswer, &f.to_string()),
                }
            }
            Response::Blocks(blocks) => match self.syncer.on_blocks(token, blocks) {
                Ok(()) | Err(Fault::Unsolicited) => {}
                Err(f) => self.offend(peer, Offence::BadSyncAnswer, &f.to_string()),
            },
            other => {
                let headers = self.headers_asked.remove(&token).is_some();
                if headers && !matches!(other, Response::RateLimited) {
                    // An honest peer answers a headers request with
                    // headers (or, out of budget, `RateLimited`).
                    self.syncer.on_stalled(token);
                    self.offend(
                        peer,
                        Offence::StalledHeaders,
                        "headers request answered without headers",
                    );
                } else if matches!(other, Response::NotFound) {
                    // Blocks its headers showed, not found: as an empty
                    // answer, the peer is not believed (asked again only
                    // once it claims more work); the blocks go elsewhere.
                    self.syncer.on_not_found(token);
                } else {
                    if matches!(other, Response::RateLimited) {
                        self.syncer.pause(&peer);
                    }
                    self.syncer.on_failure(token);
                    return;
                }
            }
        }
        self.drive_sync();
    }

    /// The chain's verdict on a block handed to the importer.
    pub(super) fn on_imported(&mut self, hash: Hash, origin: Origin, verdict: BlockVerdict) {
        self.in_import.remove(&hash);
        let peer = match &origin {
            Origin::Gossip { source, .. } => *source,
            Origin::Sync(p) | Origin::Fetched(p) => *p,
        };
        let gossip_verdict = match &verdict {
            BlockVerdict::Accepted { height, .. } => {
                if matches!(origin, Origin::Sync(_)) {
                    self.sync_retry_pause = SYNC_RETRY_PAUSE;
                }
                if let Some(p) = self.peers.get_mut(&peer) {
                    p.height = Some(p.height.unwrap_or(0).max(*height));
                    p.blocks += 1;
                }
                self.swarm.behaviour_mut().slots.gave_block(peer);
                Verdict::Accept
            }
            BlockVerdict::Known => Verdict::Ignore,
            BlockVerdict::Failed(why) => {
                // Nobody's fault, and not for good: a block dated too far
                // ahead of this node's clock becomes acceptable as the clock
                // moves on (Bitcoin Core's `time-too-new`), a storage error
                // may pass. A downloaded one is asked for again after a
                // pause; taken as handled, it was never asked again and the
                // sync stopped there.
                tracing::info!(block = %hash, %peer, why, "block refused for now");
                // Once per pause: the blocks after a refused one in the same
                // batch are refused too, and count as one refusal.
                let now = self.clock.monotonic();
                let paused = self.sync_resume_at.is_some_and(|at| now < at);
                if matches!(origin, Origin::Sync(_)) && !paused {
                    self.syncer.reset();
                    self.sync_resume_at = Some(now + self.sync_retry_pause);
                    self.sync_retry_pause = (self.sync_retry_pause * 2).min(SYNC_RETRY_PAUSE_MAX);
                }
                Verdict::Ignore
            }
            BlockVerdict::Orphan => {
                self.ask_status(peer);
                Verdict::Ignore
            }
            BlockVerdict::Invalid(why) => {
                tracing::warn!(block = %hash, %peer, why, "invalid block from peer");
                if matches!(origin, Origin::Sync(_)) {
                    self.syncer.on_invalid(&hash);
                }
                self.offend(peer, Offence::InvalidBlock, why);
                Verdict::Reject
            }
        };
        if let Origin::Gossip { id, source, time } = origin {
            if let BlockVerdict::Accepted { .. } = verdict {
                let now = self.clock.now_millis() as f64 / 1000.0;
                self.last_block_delay = Some((now - time as f64).max(0.0));
            }
            self.report(&id, &source, gossip_verdict);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use libp2p::PeerId;
    use luminex_primitives::PowHeader;
    use parking_lot::Mutex;

    use super::*;

    /// A chain that records which blocks are durable: a batched import is
    /// not until the next sync or synced import.
    #[derive(Default)]
    struct Recorder {
        durable: Mutex<HashSet<Hash>>,
        pending: Mutex<Vec<Hash>>,
        syncs: Mutex<usize>,
        fail_sync: bool,
    }

    impl Recorder {
        fn persist(&self) {
            let pending: Vec<Hash> = self.pending.lock().drain(..).collect();
            self.durable.lock().extend(pending);
        }
    }

    impl ChainAccess for Recorder {
        type Prepared = Arc<Block>;

        super::super::holds_nothing!();
        fn import_block(&self, block: Arc<Block>) -> BlockVerdict {
            // A synced commit makes every batch before it durable too.
            self.persist();
            self.durable.lock().insert(block.hash());
            BlockVerdict::Accepted {
                height: 1,
                new_tip: true,
            }
        }
        fn import_block_batched(&self, block: Arc<Block>) -> BlockVerdict {
            self.pending.lock().push(block.hash());
            BlockVerdict::Accepted {
                height: 1,
                new_tip: true,
            }
        }
        fn sync_imported(&self) -> bool {
            *self.syncs.lock() += 1;
            if self.fail_sync {
                return false;
            }
            self.persist();
            true
        }
        fn prepare_block(&self, block: Arc<Block>) -> Arc<Block> {
            block
        }
    }

    fn block(n: u32) -> Block {
        Block::new(
            PowHeader {
                version: 1,
                prev_hash: Hash::ZERO,
                merkle_root: Hash::ZERO,
                time: n,
                bits: 0,
                nonce: n,
            },
            vec![],
        )
    }

    /// Feeds 40 downloaded blocks and one fetched block; returns the
    /// verdicts in the order they were reported, each with whether the
    /// block was durable when it was.
    fn run(chain: Arc<Recorder>) -> Vec<(Hash, BlockVerdict, bool)> {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        let import = spawn(chain.clone(), done_tx).unwrap();
        let peer = PeerId::random();
        let mut sent = Vec::new();
        for n in 0..40 {
            let b = block(n);
            sent.push(b.hash());
            import.send((b, Origin::Sync(peer))).unwrap();
        }
        let b = block(1000);
        sent.push(b.hash());
        import.send((b, Origin::Fetched(peer))).unwrap();
        let mut out = Vec::new();
        while out.len() < sent.len() {
            let Some(Done::Imported { hash, verdict, .. }) = done_rx.blocking_recv() else {
                panic!("the importer stopped");
            };
            let durable = chain.durable.lock().contains(&hash);
            out.push((hash, verdict, durable));
        }
        let order: Vec<Hash> = out.iter().map(|o| o.0).collect();
        assert_eq!(order, sent, "verdicts in import order");
        out
    }

    #[test]
    fn a_downloaded_block_is_reported_only_once_it_is_durable() {
        let chain = Arc::new(Recorder::default());
        for (hash, verdict, durable) in run(chain.clone()) {
            assert!(durable, "block {hash} reported before its sync");
            assert!(matches!(verdict, BlockVerdict::Accepted { .. }));
        }
        assert!(chain.pending.lock().is_empty());
        let syncs = *chain.syncs.lock();
        assert!(
            syncs >= 2,
            "40 blocks are at least two batches ({syncs} syncs)"
        );
    }

    #[test]
    fn blocks_the_chain_could_not_make_durable_are_not_reported_accepted() {
        let chain = Arc::new(Recorder {
            fail_sync: true,
            ..Recorder::default()
        });
        let out = run(chain);
        for (hash, verdict, _) in &out[..40] {
            assert!(
                matches!(verdict, BlockVerdict::Failed(_)),
                "block {hash}: {verdict:?}"
            );
        }
        assert!(matches!(out[40].1, BlockVerdict::Accepted { .. }));
    }
}
