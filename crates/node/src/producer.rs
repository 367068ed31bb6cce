//! The `dev` block producer: seals a block from the mempool every interval.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use luminex_service::Node;

/// Runs until `shutdown` turns true; finishes the block in progress first.
pub async fn run(node: Arc<Node>, interval: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => break,
        }
        if *shutdown.borrow() {
            break;
        }
        let n = node.clone();
        let start = Instant::now();
        match tokio::task::spawn_blocking(move || n.produce_block()).await {
            Ok(Ok(block)) => tracing::info!(
                height = node.chain.tip().height,
                hash = %block.hash(),
                txs = block.txs.len() - 1,
                ms = start.elapsed().as_millis() as u64,
                "sealed block"
            ),
            Ok(Err(e)) => tracing::error!(error = %e, "block production failed"),
            Err(e) => tracing::error!(error = %e, "block production task failed"),
        }
    }
}
