//! Gossiped batches of transactions (ADR 0043): every transaction of a
//! decodable batch reaches the mempool, even after an invalid one, and the
//! invalid one still costs its sender.

use std::sync::Arc;

use luminex_p2p::wire;
use luminex_p2p::{ChainAccess, Verdict};
use luminex_primitives::{Block, Encode, Transaction, TxKind};
use parking_lot::Mutex;

use crate::net;

/// The height a coinbase of this test's batches carries to be invalid.
const INVALID: u64 = 2;

/// A chain that records the transactions offered to its mempool, in order
/// (by their coinbase heights), and finds those of height [`INVALID`]
/// invalid.
#[derive(Default)]
struct Recording {
    offered: Mutex<Vec<u64>>,
}

impl ChainAccess for Recording {
    type Prepared = Arc<Block>;
    crate::net::genesis_only_tip!();
    crate::net::genesis_only_blocks!();
    fn submit_tx(&self, tx: Transaction) -> Verdict {
        let TxKind::Coinbase { height } = tx.kind else {
            return Verdict::Reject;
        };
        self.offered.lock().push(height);
        if height == INVALID {
            Verdict::Reject
        } else {
            Verdict::Accept
        }
    }
}

/// A transaction that decodes, told apart by `height`.
fn tx(height: u64) -> Transaction {
    net::coinbase_tx(height, 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn valid_transactions_after_an_invalid_one_in_a_batch_are_admitted() {
    let chain = Arc::new(Recording::default());
    let (handle, addr) = net::start_on(
        net::config(),
        chain.clone(),
        Arc::new(luminex_primitives::SystemClock::new()),
    )
    .await;
    let mut swarm = net::attacker();
    swarm.dial(addr).unwrap();
    let frame = wire::tx_batch_frame(&[1, INVALID, 3].map(|h| tx(h).encode()));
    net::publish_until_dropped(
        &mut swarm,
        &net::names().tx_topic,
        &[frame],
        "the node drops the sender of an invalid transaction",
        90,
        |_, _| {},
    )
    .await;
    // The node judged the batch only after offering all of it.
    assert_eq!(*chain.offered.lock(), vec![1, INVALID, 3]);
    assert_eq!(handle.census().await.unwrap().banned, 1);
}
