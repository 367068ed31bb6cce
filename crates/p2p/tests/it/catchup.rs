//! Catch-up on BFT chains (ADR 0044), two real networks on loopback: a
//! node that is behind asks a peer that is ahead for certified blocks and
//! takes them in order until it has caught up, asking for the next ones
//! while the chain takes an answer (ADR 0051); nodes that are ahead push
//! nothing; a peer that serves a false certificate is banned.

use std::sync::Arc;
use std::time::Duration;

use luminex_p2p::{ChainAccess, NetConfig, Role, Status, Verdict};
use luminex_primitives::{Block, CommitCertificate, Encode, Hash, SystemClock, Transaction};
use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use crate::memchain::{branch, genesis};
use crate::net::{config, start_on, wait_for, GenesisOnly, CHAIN_ID};

/// A chain that grows only by certified blocks, as a BFT chain does: a
/// block is taken when it is the next height and its "certificate" names
/// it (the real check of signatures is the engine's, tested there).
struct CertChain {
    genesis: Hash,
    blocks: Mutex<Vec<(Block, CommitCertificate)>>,
    /// Serves certificates that name another block.
    liar: bool,
    /// The height, watched by the test.
    height: watch::Sender<u64>,
    /// Certified blocks offered to this chain (all batches).
    offered: Mutex<usize>,
    /// The highest height served to a peer, and its change.
    served: Arc<Served>,
    /// Holds the first answer offered until the chain this is set to
    /// served a height past it (or a minute passed); whether it did.
    hold_first: Option<(Arc<Served>, Mutex<Option<bool>>)>,
    /// One answer taken at a time, as the consensus task does.
    taking: Mutex<()>,
    /// A height its status claims instead of its own (it has none of the
    /// blocks up to there).
    claims: Option<u64>,
    /// While false, taking certified blocks waits (the test opens it).
    gate: Option<Arc<(Mutex<bool>, Condvar)>>,
}

/// The highest height a chain served to a peer, and its change.
type Served = (Mutex<u64>, Condvar);

fn certificate(height: u64, block: &Block) -> CommitCertificate {
    CommitCertificate {
        height,
        round: 0,
        block_hash: block.hash(),
        signers: vec![],
        signatures: vec![],
    }
}

impl CertChain {
    /// A chain holding the first `n` blocks of `all` (after genesis).
    fn new(all: &[Block], n: usize, liar: bool) -> Arc<CertChain> {
        let blocks = all[..n]
            .iter()
            .enumerate()
            .map(|(i, b)| (b.clone(), certificate(i as u64 + 1, b)))
            .collect();
        Arc::new(CertChain {
            genesis: genesis().hash(),
            blocks: Mutex::new(blocks),
            liar,
            height: watch::channel(n as u64).0,
            offered: Mutex::new(0),
            served: Arc::default(),
            hold_first: None,
            taking: Mutex::new(()),
            claims: None,
            gate: None,
        })
    }

    /// This chain, taking no certified blocks until `gate` is opened.
    fn gated(self: Arc<Self>, gate: &Arc<(Mutex<bool>, Condvar)>) -> Arc<CertChain> {
        let mut c = Arc::into_inner(self).expect("not shared yet");
        c.gate = Some(gate.clone());
        Arc::new(c)
    }

    /// This chain, claiming to be at `height`.
    fn claiming(self: Arc<Self>, height: u64) -> Arc<CertChain> {
        let mut c = Arc::into_inner(self).expect("not shared yet");
        c.claims = Some(height);
        Arc::new(c)
    }

    /// This chain, holding the first answer it is offered until `ahead`
    /// served a height past it.
    fn holding_first_until(self: Arc<Self>, ahead: &CertChain) -> Arc<CertChain> {
        let mut c = Arc::into_inner(self).expect("not shared yet");
        c.hold_first = Some((ahead.served.clone(), Mutex::new(None)));
        Arc::new(c)
    }

    fn tip(&self) -> (u64, Hash) {
        let b = self.blocks.lock();
        (
            b.len() as u64,
            b.last().map_or(self.genesis, |(b, _)| b.hash()),
        )
    }
}

impl ChainAccess for CertChain {
    type Prepared = Arc<Block>;
    crate::net::genesis_only_blocks!();
    fn status(&self) -> Status {
        let (height, tip) = self.tip();
        Status {
            chain_id: CHAIN_ID,
            genesis: crate::net::GENESIS,
            height: self.claims.unwrap_or(height),
            tip,
            work: [0; 32],
            role: Role::Producer,
        }
    }
    fn locator(&self) -> Vec<Hash> {
        vec![self.tip().1]
    }
    fn height_of(&self, hash: &Hash) -> Option<u64> {
        let b = self.blocks.lock();
        b.iter()
            .position(|(b, _)| b.hash() == *hash)
            .map(|i| i as u64 + 1)
    }
    fn submit_tx(&self, tx: Transaction) -> Verdict {
        GenesisOnly.submit_tx(tx)
    }
    fn certified_encoded(&self, height: u64) -> Option<(Vec<u8>, CommitCertificate)> {
        {
            let (max, changed) = &*self.served;
            let mut max = max.lock();
            *max = (*max).max(height);
            changed.notify_all();
        }
        let b = self.blocks.lock();
        let (block, cert) = b.get(usize::try_from(height).ok()?.checked_sub(1)?)?;
        let mut cert = cert.clone();
        if self.liar {
            cert.block_hash = Hash([0xEE; 32]);
        }
        Some((block.encode(), cert))
    }
    fn certified(&self, blocks: Vec<(Block, CommitCertificate)>) -> Verdict {
        if let Some(gate) = &self.gate {
            let (open, changed) = &**gate;
            let mut open = open.lock();
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            while !*open && !changed.wait_until(&mut open, deadline).timed_out() {}
        }
        let _taking = self.taking.lock();
        *self.offered.lock() += blocks.len();
        if let (Some((served, seen)), Some((_, last))) = (&self.hold_first, blocks.last()) {
            let mut seen = seen.lock();
            if seen.is_none() {
                // Committing this answer "takes" until the peer served the
                // heights after it, asked for meanwhile.
                let (max, changed) = &**served;
                let mut max = max.lock();
                let deadline = std::time::Instant::now() + Duration::from_secs(60);
                while *max <= last.height && !changed.wait_until(&mut max, deadline).timed_out() {}
                *seen = Some(*max > last.height);
            }
        }
        let mut verdict = Verdict::Ignore;
        for (block, cert) in blocks {
            if cert.block_hash != block.hash() {
                return Verdict::Reject;
            }
            let mut b = self.blocks.lock();
            if cert.height != b.len() as u64 + 1 {
                continue;
            }
            b.push((block, cert));
            self.height.send_replace(b.len() as u64);
            verdict = Verdict::Accept;
        }
        verdict
    }
}

fn bft_config() -> NetConfig {
    NetConfig {
        block_sync: false,
        ..config()
    }
}

/// 40 blocks on the test genesis.
fn chain_of_40() -> Vec<Block> {
    branch(genesis().hash(), 40, 7)
}

/// Starts a node on each of `peers` and one on `behind` that knows them
/// (as bootnodes, in that order), and waits until `behind` holds all 40
/// blocks; the peers' handles and `behind`'s.
async fn catch_up_from(
    peers: &[&Arc<CertChain>],
    behind: &Arc<CertChain>,
) -> (Vec<luminex_p2p::Handle>, luminex_p2p::Handle) {
    let clock = Arc::new(SystemClock::new());
    let mut handles = Vec::new();
    let mut bootnodes = Vec::new();
    for p in peers {
        let (h, addr) = start_on(bft_config(), (*p).clone(), clock.clone()).await;
        handles.push(h);
        bootnodes.push(addr);
    }
    let cfg = NetConfig {
        bootnodes,
        ..bft_config()
    };
    let (b, _) = start_on(cfg, behind.clone(), clock).await;
    let mut height = behind.height.subscribe();
    tokio::time::timeout(Duration::from_secs(120), height.wait_for(|h| *h == 40))
        .await
        .expect("caught up to 40 within 120 s")
        .unwrap();
    (handles, b)
}

/// [`catch_up_from`] one node, `ahead`.
async fn catch_up_to_40(
    ahead: &Arc<CertChain>,
    behind: &Arc<CertChain>,
) -> (Vec<luminex_p2p::Handle>, luminex_p2p::Handle) {
    catch_up_from(&[ahead], behind).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_behind_asks_and_catches_up_and_the_node_ahead_is_sent_nothing() {
    let all = chain_of_40();
    let ahead = CertChain::new(&all, 40, false);
    let behind = CertChain::new(&all, 0, false);
    // 40 blocks take three answers of at most 16.
    let (_a, b) = catch_up_to_40(&ahead, &behind).await;
    assert_eq!(behind.tip(), ahead.tip(), "the same blocks");
    assert_eq!(
        *ahead.offered.lock(),
        0,
        "the node ahead is never sent blocks it has"
    );
    // Every block was offered (once, unless an answer overtook the one
    // before it on the way to the chain).
    assert!(*behind.offered.lock() >= 40);
    assert!(b.info().banned.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_next_blocks_are_asked_for_while_the_chain_takes_an_answer() {
    let all = chain_of_40();
    let ahead = CertChain::new(&all, 40, false);
    let behind = CertChain::new(&all, 0, false).holding_first_until(&ahead);
    let (_a, b) = catch_up_to_40(&ahead, &behind).await;
    let (_, seen) = behind.hold_first.as_ref().unwrap();
    assert_eq!(
        *seen.lock(),
        Some(true),
        "the blocks after the first answer were served while the chain took it"
    );
    assert_eq!(behind.tip(), ahead.tip(), "the same blocks");
    assert!(b.info().banned.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_serving_a_false_certificate_is_banned_and_nothing_is_taken() {
    let all = chain_of_40();
    let liar = CertChain::new(&all, 40, true);
    let behind = CertChain::new(&all, 0, false);
    let clock = Arc::new(SystemClock::new());
    let (liar_handle, liar_addr) = start_on(bft_config(), liar.clone(), clock.clone()).await;
    let cfg = NetConfig {
        bootnodes: vec![liar_addr],
        ..bft_config()
    };
    let (b, _) = start_on(cfg, behind.clone(), clock).await;
    let liar_id = liar_handle.info().peer_id;
    wait_for(&b, "the liar banned", 120, || {
        let b = b.clone();
        let id = liar_id.clone();
        async move { b.info().banned.contains(&id).then_some(()) }
    })
    .await;
    assert_eq!(*behind.height.borrow(), 0, "nothing taken");
}

/// A peer claiming a far greater height than anyone, with none of the
/// blocks (it answers `NotFound`): believed only below what it could not
/// serve, so the node catches up from the honest peer (it asked the
/// boaster for ever).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_claiming_heights_it_cannot_serve_does_not_hold_up_catch_up() {
    let all = chain_of_40();
    let ahead = CertChain::new(&all, 40, false);
    let boaster = CertChain::new(&all, 0, false).claiming(1_000_000);
    let behind = CertChain::new(&all, 0, false);
    let (_peers, b) = catch_up_from(&[&boaster, &ahead], &behind).await;
    assert_eq!(behind.tip(), ahead.tip());
    // Once asked, the boaster's claims are believed only below what it
    // could not serve: caught up, the node is synced (it would read as
    // a million heights behind, and not ready, for as long as the peer
    // kept claiming).
    wait_for(&b, "synced at 40 beside the boaster", 60, || {
        let b = b.clone();
        async move {
            let s = b.info().sync;
            (!s.syncing && s.best_peer_height == 40).then_some(())
        }
    })
    .await;
}

/// A node behind a BFT peer says so (`/health/block-sync`, readiness)
/// while it catches up: syncing, with the peer's height as the best —
/// the syncer of chains synced by headers sees no peers there, so a
/// restarted validator far behind read as synced and ready. Caught up,
/// it is synced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_catching_up_says_it_is_syncing_until_it_has() {
    let all = chain_of_40();
    let ahead = CertChain::new(&all, 40, false);
    let gate: Arc<(Mutex<bool>, Condvar)> = Arc::default();
    let behind = CertChain::new(&all, 0, false).gated(&gate);
    let clock = Arc::new(SystemClock::new());
    let (_a, addr) = start_on(bft_config(), ahead.clone(), clock.clone()).await;
    let cfg = NetConfig {
        bootnodes: vec![addr],
        ..bft_config()
    };
    let (b, _) = start_on(cfg, behind.clone(), clock).await;
    wait_for(&b, "syncing towards 40", 60, || {
        let b = b.clone();
        async move {
            let s = b.info().sync;
            (s.syncing && s.best_peer_height == 40).then_some(())
        }
    })
    .await;
    assert_eq!(*behind.height.borrow(), 0, "nothing taken yet");
    {
        let (open, changed) = &*gate;
        *open.lock() = true;
        changed.notify_all();
    }
    let mut height = behind.height.subscribe();
    tokio::time::timeout(Duration::from_secs(120), height.wait_for(|h| *h == 40))
        .await
        .expect("caught up to 40 within 120 s")
        .unwrap();
    wait_for(&b, "synced at 40", 60, || {
        let b = b.clone();
        async move {
            let s = b.info().sync;
            (!s.syncing && s.best_peer_height == 40 && s.target_height >= 40).then_some(())
        }
    })
    .await;
}
