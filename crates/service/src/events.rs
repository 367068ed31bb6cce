//! Chain events the node publishes (blocks, finalized blocks, transactions
//! entering the mempool or a block, with the addresses they touch), for the
//! WebSocket and the web pages. They pass through a bounded broadcast
//! buffer, sent only while someone listens.

use luminex_primitives::{Hash, Transaction};

use crate::Node;

/// Events kept for slow readers before they are dropped.
pub const EVENT_BUFFER: usize = 4096;

/// The highest finalized height announced to subscribers: a `finalized`
/// event goes out only when finality moves past it, so a reorganisation
/// that reconnects blocks below it announces nothing again, and the
/// heights subscribers see only grow.
#[derive(Debug)]
pub struct FinalityMark(std::sync::atomic::AtomicU64);

impl FinalityMark {
    /// A mark at `height` (the chain's finalized height when the node
    /// opened: already final, not news).
    pub fn new(height: u64) -> FinalityMark {
        FinalityMark(std::sync::atomic::AtomicU64::new(height))
    }

    /// Moves the mark to `height` if that is higher; whether it moved.
    pub fn advance(&self, height: u64) -> bool {
        self.0
            .fetch_max(height, std::sync::atomic::Ordering::AcqRel)
            < height
    }
}
/// A chain event.
#[derive(Debug, Clone)]
pub enum Event {
    /// A block joined the main chain.
    Block {
        /// Its hash.
        hash: Hash,
        /// Its height.
        height: u64,
        /// Its transactions.
        txids: Vec<Hash>,
    },
    /// A block became `max_reorg_depth` deep.
    Finalized {
        /// Its hash.
        hash: Hash,
        /// Its height.
        height: u64,
    },
    /// A transaction entered the mempool or a block.
    Tx {
        /// Its id.
        txid: Hash,
        /// Its block height when confirmed.
        height: Option<u64>,
        /// Index keys of the addresses it pays or spends from.
        addresses: Vec<Hash>,
    },
}

/// Address index keys a transaction touches: its outputs' locks and the
/// locks of the coins it spends.
pub fn touched(node: &Node, tx: &Transaction) -> Vec<Hash> {
    let mut keys: Vec<Hash> = tx.outputs.iter().map(|o| o.lock.index_key()).collect();
    for i in &tx.inputs {
        if let Some(o) = node.output_of(i) {
            keys.push(o.lock.index_key());
        }
    }
    keys.sort_unstable();
    keys.dedup();
    keys
}
