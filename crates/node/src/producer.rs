//! The `dev` block producer: seals a block from the mempool every interval,
//! or, with an interval of zero, as soon as transactions are waiting (as
//! `anvil`'s automine and `reth --dev` do): one block after another while
//! the mempool holds any, none while it is empty.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use luminex_service::Node;

/// On demand (an interval of zero), how often an empty mempool is looked
/// at again, and the pause after a block that sealed no transaction or
/// failed (so a mempool whose transactions cannot go into the next block
/// does not make a stream of empty blocks).
pub const ON_DEMAND_POLL: Duration = Duration::from_millis(10);

/// Runs until `shutdown` turns true; finishes the block in progress first.
/// `interval` zero seals on demand.
pub async fn run(node: Arc<Node>, interval: Duration, shutdown: watch::Receiver<bool>) {
    if interval.is_zero() {
        on_demand(node, shutdown).await;
    } else {
        every(node, interval, shutdown).await;
    }
}

/// A block every `interval`, empty or not.
async fn every(node: Arc<Node>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    let mut failing = Failing::default();
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
        seal(&node, &mut failing).await;
    }
}

/// A block as soon as the mempool holds a transaction and the previous
/// block is done.
async fn on_demand(node: Arc<Node>, mut shutdown: watch::Receiver<bool>) {
    let mut failing = Failing::default();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let waiting = !node.mempool.read().is_empty();
        if waiting && seal(&node, &mut failing).await > 0 {
            continue;
        }
        // After a failure, wait as the miner does (a clock behind the
        // chain is put right in seconds or hours, not milliseconds).
        let pause = if failing.0.is_some() {
            FAILED_PAUSE
        } else {
            ON_DEMAND_POLL
        };
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = shutdown.changed() => {}
        }
    }
}

/// On demand, the pause after a block that failed.
pub const FAILED_PAUSE: Duration = Duration::from_secs(1);

/// The last failure logged, so one that persists is logged once (and its
/// end once), not at every attempt.
#[derive(Default)]
struct Failing(Option<String>);

/// Seals one block; how many transactions it took (none if it failed).
async fn seal(node: &Arc<Node>, failing: &mut Failing) -> usize {
    let n = node.clone();
    let start = Instant::now();
    let failed = match tokio::task::spawn_blocking(move || n.produce_block()).await {
        Ok(Ok(block)) => {
            let txs = block.txs.len() - 1;
            tracing::info!(
                height = node.chain.tip().height,
                hash = %block.hash(),
                txs,
                ms = start.elapsed().as_millis() as u64,
                "sealed block"
            );
            if failing.0.take().is_some() {
                tracing::info!("blocks seal again");
            }
            return txs;
        }
        // A clock behind the chain by its kind: its message names the
        // moment, which changes at every attempt.
        Ok(Err(luminex_storage::ChainError::Invalid(
            e @ luminex_ledger::BlockError::ClockBehindChain { .. },
        ))) => (e.code().to_string(), e.to_string()),
        Ok(Err(e)) => (e.to_string(), e.to_string()),
        Err(e) => (
            format!("task: {e}"),
            format!("block production task failed: {e}"),
        ),
    };
    if failing.0.as_ref() != Some(&failed.0) {
        tracing::error!(error = %failed.1, "block production failed (logged once while it keeps failing)");
        failing.0 = Some(failed.0);
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_ledger::testkit::{lock_of, transfer};
    use luminex_primitives::{Amount, TxOut};

    /// On demand, every block the producer seals carries transactions:
    /// each of three transfers submitted one after another reaches a block
    /// of its own or shares one, and no block is empty.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_demand_seals_blocks_only_for_waiting_transactions() {
        let node = luminex_service::testkit::memory_node();
        let (stop, stopped) = watch::channel(false);
        let producer = tokio::spawn(run(node.clone(), Duration::ZERO, stopped));
        let mut tips = node.tip_changed.subscribe();
        let to = lock_of(&node.spec.dev_key(1).unwrap());
        for k in 0..3 {
            let key = node.spec.dev_key(k).unwrap();
            let coin = node.chain.address_utxos(&lock_of(&key), 1).unwrap();
            let tx = transfer(
                &node.spec,
                &key,
                &coin,
                vec![TxOut {
                    amount: Amount::from_coins(1).unwrap(),
                    lock: to,
                }],
            );
            let txid = node.submit(tx).unwrap();
            tokio::time::timeout(Duration::from_secs(120), async {
                while node.chain.transaction(&txid).unwrap().is_none() {
                    tips.changed().await.unwrap();
                }
            })
            .await
            .expect("the transfer sealed within 120 s");
        }
        let tip = node.chain.tip().height;
        assert!((1..=3).contains(&tip), "one to three blocks, not {tip}");
        for h in 1..=tip {
            let hash = node.chain.hash_at(h).unwrap().unwrap();
            let txs = node.chain.tx_count(&hash).unwrap().unwrap();
            assert!(txs > 1, "block {h} carries a transfer");
        }
        stop.send_replace(true);
        tokio::time::timeout(Duration::from_secs(60), producer)
            .await
            .expect("the producer stops")
            .unwrap();
    }
}
