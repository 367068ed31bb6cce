//! Transactions a reorganisation returned that the pool refused only for
//! its chain limits. A block may hold a chain of unconfirmed transactions
//! longer than the pool's 25 (its parents confirmed in the same block, or
//! in the block before): when such blocks are disconnected (a
//! reorganisation, the operator's `invalidateblock`), their transactions
//! come back one by one and those past the limits are refused. Bitcoin
//! Core's pool drops them and leaves it to wallets to broadcast them again;
//! a payment the chain had confirmed would vanish from this node. They are
//! kept here instead, oldest first, and offered to the pool again whenever
//! blocks connect (mining their parents makes room), until the pool takes
//! them or refuses them for another reason (spent, conflicting).

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use luminex_mempool::MempoolError;
use luminex_primitives::{Hash, Transaction};

use crate::Node;

/// Most transactions held back; past it the newest (the deepest of their
/// chains, which could enter only after the others) are dropped.
pub const MAX_HELD_BACK: usize = 5_000;

/// The transactions held back, oldest first.
#[derive(Default)]
pub struct HeldBack(parking_lot::Mutex<VecDeque<(Hash, Arc<Transaction>)>>);

impl HeldBack {
    /// How many wait.
    pub fn len(&self) -> usize {
        self.0.lock().len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.0.lock().is_empty()
    }
}

/// Whether the pool refused a transaction only for the length of its chain
/// of unconfirmed ancestors or descendants.
fn chain_limit(e: &MempoolError) -> bool {
    matches!(
        e,
        MempoolError::TooManyAncestors { .. } | MempoolError::TooManyDescendants { .. }
    )
}

impl Node {
    /// Gives the transactions of disconnected blocks back to the pool, in
    /// block order, holding back those refused for the chain limits; then,
    /// when blocks connected, offers the pool those held back before.
    /// Called under `follow_order`.
    pub(crate) fn return_to_pool(
        &self,
        disconnected: &[Arc<luminex_primitives::Block>],
        connected: bool,
    ) {
        let mut returned = Vec::new();
        let mut returned_ids: HashSet<Hash> = HashSet::new();
        for b in disconnected.iter().rev() {
            for tx in b.txs.iter().skip(1) {
                // A child of one held back spends what is neither in the
                // pool nor on the chain: held back with it, not refused.
                let after_held = tx.inputs.iter().any(|i| returned_ids.contains(&i.txid));
                let hold = after_held
                    || match self.submit(tx.clone()) {
                        Ok(_) => false,
                        // Invalid on the new chain (spent, conflicting):
                        // dropped.
                        Err(e) => chain_limit(&e),
                    };
                if hold {
                    let txid = tx.txid();
                    returned_ids.insert(txid);
                    returned.push((txid, Arc::new(tx.clone())));
                }
            }
        }
        if returned.is_empty() && (!connected || self.held_back.is_empty()) {
            return;
        }
        let waiting: Vec<(Hash, Arc<Transaction>)> = if connected {
            self.held_back.0.lock().drain(..).collect()
        } else {
            Vec::new()
        };
        let offered = waiting.len();
        let mut still: HashSet<Hash> = HashSet::new();
        let mut kept = VecDeque::new();
        for (txid, tx) in waiting {
            // A child of one still held back cannot enter before it.
            let after_held = tx.inputs.iter().any(|i| still.contains(&i.txid));
            let keep = after_held
                || match self.submit((*tx).clone()) {
                    Ok(_) => false,
                    Err(e) => chain_limit(&e),
                };
            if keep {
                still.insert(txid);
                kept.push_back((txid, tx));
            }
        }
        let admitted = offered - kept.len();
        let mut held = self.held_back.0.lock();
        // Those held before this reorganisation are older: they go first.
        let newer = std::mem::take(&mut *held);
        *held = kept;
        held.extend(newer);
        held.extend(returned);
        let dropped = held.len().saturating_sub(MAX_HELD_BACK);
        held.truncate(MAX_HELD_BACK);
        if admitted > 0 || dropped > 0 || !held.is_empty() {
            tracing::info!(
                admitted,
                waiting = held.len(),
                dropped,
                "transactions of disconnected blocks wait for their unconfirmed parents to be mined (the pool's chain limits)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use luminex_ledger::testkit::{lock_of, transfer};
    use luminex_ledger::Coin;
    use luminex_primitives::{Amount, OutPoint, TxOut};

    use crate::testkit::memory_node;

    /// A chain of 30 payments confirmed in two blocks (25, then 5) comes
    /// back whole when both are disconnected: the pool takes 25, holds
    /// back 5 for its ancestor limit, and takes them once the block that
    /// replaces the first one confirms their parents. None is lost.
    #[test]
    fn a_chain_longer_than_the_pool_limits_comes_back_whole() {
        let node = memory_node();
        let key = node.spec.dev_key(0).unwrap();
        let lock = lock_of(&key);
        let mut coin = node.chain.address_utxos(&lock, 1).unwrap().remove(0);
        let fee = Amount::from_base(100_000).unwrap();
        let mut chain = Vec::new();
        let next = |coin: &mut (OutPoint, Coin)| {
            let amount = coin.1.output.amount.checked_sub(fee).unwrap();
            let tx = transfer(&node.spec, &key, &[*coin], vec![TxOut { amount, lock }]);
            *coin = (
                OutPoint {
                    txid: tx.txid(),
                    vout: 0,
                },
                Coin {
                    output: tx.outputs[0],
                    height: 0,
                    is_coinbase: false,
                },
            );
            tx
        };
        for _ in 0..25 {
            let tx = next(&mut coin);
            node.submit(tx.clone()).unwrap();
            chain.push(tx);
        }
        let first = node.produce_block().unwrap();
        assert_eq!(first.txs.len(), 26);
        for _ in 0..5 {
            let tx = next(&mut coin);
            node.submit(tx.clone()).unwrap();
            chain.push(tx);
        }
        node.produce_block().unwrap();
        assert!(node.mempool.read().is_empty());

        // Both blocks leave: 25 back in the pool, 5 held back.
        node.invalidate_block(&first.hash()).unwrap();
        assert_eq!(node.chain.tip().height, 0);
        assert_eq!(node.mempool.read().len(), 25);
        assert_eq!(node.held_back.len(), 5);

        // Another first block (its coinbase differs) confirms the 25: the
        // 5 enter the pool, and the next block confirms them.
        let (other, _) = node
            .block_template_with(node.reward_lock, b"other")
            .unwrap();
        assert_eq!(other.txs.len(), 26);
        node.accept_block(&other).unwrap();
        assert_eq!(node.held_back.len(), 0);
        assert_eq!(node.mempool.read().len(), 5);
        node.produce_block().unwrap();
        for tx in &chain {
            assert!(
                node.chain.transaction(&tx.txid()).unwrap().is_some(),
                "{} confirmed",
                tx.txid()
            );
        }
    }
}
