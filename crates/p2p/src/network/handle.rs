//! The node's side of the network: a [`Handle`] that sends commands to the
//! event loop and reads the state it publishes, and the node key.

use std::sync::Arc;

use libp2p::{identity, Multiaddr, PeerId};
use luminex_primitives::{Block, Encode, Hash, Transaction};
use parking_lot::RwLock;
use tokio::sync::mpsc;

use super::{NetInfo, PeerStateCounts};
use crate::compact::CompactBlock;
use crate::wire;

/// What the node asks of the event loop.
pub(super) enum Command {
    /// A transaction's canonical encoding, for the next batch (ADR 0043).
    PublishTx(Vec<u8>),
    /// A compact block's frame, with the block's transaction count and
    /// encoded size (for the announcement statistics).
    AnnounceBlock {
        frame: Vec<u8>,
        txs: usize,
        full_bytes: usize,
    },
    /// A consensus-topic message (BFT chains), already encoded.
    PublishConsensus(Vec<u8>),
    Dial(Multiaddr),
    Ban(PeerId),
    /// Closes every connection to a peer without banning it: it may
    /// connect again.
    Disconnect(PeerId),
    /// Counts what the event loop keeps per peer.
    Census(tokio::sync::oneshot::Sender<PeerStateCounts>),
    /// The download starts over from the chain's tip.
    Resync,
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
    pub(super) tx: mpsc::UnboundedSender<Command>,
    pub(super) info: Arc<RwLock<NetInfo>>,
    pub(super) changes: tokio::sync::watch::Receiver<u64>,
}

impl Handle {
    /// Gossips a transaction this node accepted from a local client, in
    /// a batch with the others accepted within a few milliseconds
    /// ([`crate::network::TX_BATCH_DELAY`], ADR 0043).
    pub fn publish_tx(&self, tx: &Transaction) {
        let _ = self.tx.send(Command::PublishTx(tx.encode()));
    }

    /// Announces a block this node produced (compactly). The announcement
    /// is built here, on the caller's thread: hashing a large block's
    /// transactions for their short ids must not hold up the event loop,
    /// which sends it.
    pub fn announce_block(&self, block: &Block) {
        self.announce(block, CompactBlock::new(block, rand::random()));
    }

    /// [`Handle::announce_block`] given the wtxids of the block's
    /// transactions after the coinbase ([`CompactBlock::with_wtxids`]).
    pub fn announce_block_with_wtxids(&self, block: &Block, wtxids: &[Hash]) {
        self.announce(
            block,
            CompactBlock::with_wtxids(block, wtxids, rand::random()),
        );
    }

    fn announce(&self, block: &Block, compact: CompactBlock) {
        let _ = self.tx.send(Command::AnnounceBlock {
            frame: wire::to_frame(&compact),
            txs: block.txs.len(),
            full_bytes: block.encoded_len(),
        });
    }

    /// Gossips a consensus message (a BFT proposal or vote, a height
    /// announcement, a certified block) on the chain's consensus topic.
    pub fn publish_consensus(&self, data: Vec<u8>) {
        let _ = self.tx.send(Command::PublishConsensus(data));
    }

    /// A counter the event loop bumps whenever what it keeps about peers
    /// ([`Handle::census`]) or what it publishes ([`Handle::info`])
    /// changes: wait on it to see the network change, instead of polling.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changes.clone()
    }

    /// Dials an address.
    pub fn dial(&self, addr: Multiaddr) -> Result<(), HandleError> {
        self.tx
            .send(Command::Dial(addr))
            .map_err(|_| HandleError::Stopped)
    }

    /// Disconnects and bans a peer.
    pub fn ban(&self, peer: &str) -> Result<(), HandleError> {
        let id = self.other_peer(peer)?;
        self.tx
            .send(Command::Ban(id))
            .map_err(|_| HandleError::Stopped)
    }

    /// Closes the connections to a peer without banning it (an operator's
    /// "disconnect"): the peer, or discovery, may connect again later.
    pub fn disconnect(&self, peer: &str) -> Result<(), HandleError> {
        let id = self.other_peer(peer)?;
        self.tx
            .send(Command::Disconnect(id))
            .map_err(|_| HandleError::Stopped)
    }

    /// Starts the download over from the chain's tip, forgetting what it
    /// queued and handed to the chain: for when the chain's view of which
    /// blocks it takes changed without a block arriving (an operator's
    /// `invalidateblock` or `reconsiderblock`). Blocks the chain refused
    /// as invalidated and now takes are asked for again.
    pub fn resync(&self) -> Result<(), HandleError> {
        self.tx
            .send(Command::Resync)
            .map_err(|_| HandleError::Stopped)
    }

    /// A snapshot of the network's state.
    pub fn info(&self) -> NetInfo {
        self.info.read().clone()
    }

    /// How many entries the event loop keeps about peers, map by map: what
    /// a leak check after connect/disconnect churn counts.
    pub async fn census(&self) -> Result<PeerStateCounts, HandleError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.tx
            .send(Command::Census(tx))
            .map_err(|_| HandleError::Stopped)?;
        rx.await.map_err(|_| HandleError::Stopped)
    }
}

impl Handle {
    /// A peer id to act on: well formed and not this node's own.
    fn other_peer(&self, peer: &str) -> Result<PeerId, HandleError> {
        let id = parse_peer(peer)?;
        if id.to_string() == self.info.read().peer_id {
            return Err(HandleError::PeerId(
                "that is this node's own peer id".into(),
            ));
        }
        Ok(id)
    }
}

fn parse_peer(peer: &str) -> Result<PeerId, HandleError> {
    peer.parse()
        .map_err(|e: libp2p::identity::ParseError| HandleError::PeerId(e.to_string()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn handle() -> (Handle, mpsc::UnboundedReceiver<Command>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let info = Arc::new(RwLock::new(NetInfo::default()));
        let (_, changes) = tokio::sync::watch::channel(0);
        (Handle { tx, info, changes }, rx)
    }

    #[test]
    fn disconnect_sends_the_peer_to_the_event_loop() {
        let (h, mut rx) = handle();
        let peer = PeerId::random();
        h.disconnect(&peer.to_string()).unwrap();
        match rx.try_recv() {
            Ok(Command::Disconnect(p)) => assert_eq!(p, peer),
            _ => panic!("expected a disconnect command"),
        }
    }

    #[test]
    fn disconnect_refuses_a_malformed_peer_id_and_a_stopped_network() {
        let (h, mut rx) = handle();
        assert!(matches!(
            h.disconnect("not-a-peer"),
            Err(HandleError::PeerId(_))
        ));
        assert!(rx.try_recv().is_err(), "nothing was sent");
        // Nor this node's own id (it would list itself as banned).
        let me = PeerId::random();
        h.info.write().peer_id = me.to_string();
        for r in [h.disconnect(&me.to_string()), h.ban(&me.to_string())] {
            assert!(matches!(r, Err(HandleError::PeerId(m)) if m.contains("own")));
        }
        assert!(rx.try_recv().is_err(), "nothing was sent");
        drop(rx);
        assert!(matches!(
            h.disconnect(&PeerId::random().to_string()),
            Err(HandleError::Stopped)
        ));
    }
}
