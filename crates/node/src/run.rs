//! Starting and stopping a node.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use luminex_ledger::SigCache;
use luminex_mempool::Mempool;
use luminex_storage::{ChainStore, FjallStore};
use tokio::sync::watch;

use crate::clock::SystemClock;
use crate::config::Config;
use crate::service::Node;

/// Opens the chain database of `cfg` (creating it with genesis if new).
pub fn open_chain(cfg: &Config) -> anyhow::Result<ChainStore> {
    let db = cfg.chain_dir.join("db");
    std::fs::create_dir_all(&db).with_context(|| format!("creating {}", db.display()))?;
    let kv = FjallStore::open(&db).with_context(|| format!("opening database {}", db.display()))?;
    let rules = luminex_consensus::rules_for(&cfg.spec);
    Ok(ChainStore::open(Arc::new(kv), cfg.spec.clone(), rules)?)
}

/// Runs a node until SIGINT or SIGTERM.
pub async fn run_node(cfg: Config) -> anyhow::Result<()> {
    let chain = Arc::new(open_chain(&cfg)?);
    let reward_lock = match &cfg.producer_address {
        Some(a) => {
            cfg.spec
                .parse_address(a)
                .context("--producer-address")?
                .lock
        }
        None => cfg
            .spec
            .dev_key(0)
            .map(|k| k.public_key().lock())
            .context("this chain has no dev keys: set --producer-address")?,
    };
    let cache = SigCache::default();
    let node = Arc::new(Node {
        mempool: parking_lot::RwLock::new(Mempool::new(
            cfg.spec.clone(),
            cache.clone(),
            cfg.mempool_max_bytes,
        )),
        spec: cfg.spec.clone(),
        chain: chain.clone(),
        cache,
        clock: Arc::new(SystemClock),
        started: Instant::now(),
        reward_lock,
        producing: cfg.produce,
        tip_changed: tokio::sync::watch::channel(chain.tip().hash).0,
    });
    let mempool_file = cfg.chain_dir.join("mempool.dat");
    if mempool_file.exists() {
        let n = node.clone();
        let file = mempool_file.clone();
        match tokio::task::spawn_blocking(move || n.load_mempool(&file)).await? {
            Ok((admitted, dropped)) => {
                tracing::info!(admitted, dropped, "restored the saved mempool")
            }
            Err(e) => tracing::warn!(error = %e, "could not restore the saved mempool"),
        }
    }
    let tip = chain.tip();
    tracing::info!(chain = %cfg.spec.name, height = tip.height, tip = %tip.hash, dir = %cfg.chain_dir.display(), "chain opened");

    let listener = tokio::net::TcpListener::bind(cfg.http_addr)
        .await
        .with_context(|| format!("binding the API to {}", cfg.http_addr))?;
    tracing::info!(addr = %listener.local_addr()?, "REST API listening");

    let (stop_tx, stop_rx) = watch::channel(false);
    let producer = cfg.produce.then(|| {
        tokio::spawn(crate::producer::run(
            node.clone(),
            cfg.block_time,
            stop_rx.clone(),
        ))
    });
    let mut api_stop = stop_rx.clone();
    let server = axum::serve(listener, crate::api::router(node.clone())).with_graceful_shutdown(
        async move {
            let _ = api_stop.changed().await;
        },
    );
    let server = tokio::spawn(async move { server.await });

    shutdown_signal().await;
    tracing::info!("shutting down");
    let _ = stop_tx.send(true);
    if let Some(p) = producer {
        let _ = p.await;
    }
    let _ = server.await;
    match node.save_mempool(&mempool_file) {
        Ok(n) => tracing::info!(transactions = n, "saved the mempool"),
        Err(e) => tracing::warn!(error = %e, "could not save the mempool"),
    }
    drop(node);
    tracing::info!(height = chain.tip().height, "stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
