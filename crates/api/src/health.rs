//! Health and monitoring: liveness, block sync, the node's status, the
//! Prometheus metrics and the Stratum workers' figures.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::Json;
use luminex_ledger::spec::ConsensusKind;
use luminex_primitives::Hash;
use luminex_service::Node;

use crate::types::*;

/// OpenMetrics when the scraper asks for it (Prometheus does), the classic
/// text format otherwise.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200, description = "Prometheus metrics: OpenMetrics when Accept asks for it, the classic text format otherwise",
    content((String = "text/plain"), (String = "application/openmetrics-text")))))]
pub(crate) async fn metrics(State(node): State<Arc<Node>>, headers: HeaderMap) -> Response {
    let body = node.metrics.render(&node);
    let wants_openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/openmetrics-text"));
    if wants_openmetrics {
        (
            [(header::CONTENT_TYPE, luminex_service::metrics::OPENMETRICS)],
            body,
        )
            .into_response()
    } else {
        let text = luminex_service::metrics::to_prometheus_text(&body);
        (
            [(
                header::CONTENT_TYPE,
                luminex_service::metrics::PROMETHEUS_TEXT,
            )],
            text,
        )
            .into_response()
    }
}

/// `GET /mining/workers`: shares, blocks and hash rate of every Stratum
/// worker (empty when the node serves no Stratum).
#[utoipa::path(get, path = "/mining/workers", tag = "mining", responses((status = 200, body = WorkersJson)))]
pub(crate) async fn mining_workers(State(node): State<Arc<Node>>) -> Json<WorkersJson> {
    let workers = node
        .pool
        .snapshot(node.clock.now_unix())
        .into_iter()
        .map(|w| WorkerJson {
            worker: w.worker,
            shares_accepted: w.shares_accepted,
            shares_rejected: w.shares_rejected,
            blocks_found: w.blocks_found,
            last_share_time: w.last_share_time,
            hashrate: w.hashrate,
            connections: w.connections,
        })
        .collect();
    Json(WorkersJson { workers })
}

/// `GET /health/live`: the process is up and can go on — 200, or 503
/// `storage-halted` once a write to the database failed: the chain store
/// then refuses every change until the node restarts (it cannot know what
/// the disk holds), so an orchestrator's liveness probe restarting it is the
/// remedy, and the restart reopens on a consistent tip.
#[utoipa::path(get, path = "/health/live", tag = "health", responses((status = 200, body = serde_json::Value), (status = 503, description = "The database refused a write: restart the node", body = serde_json::Value)))]
pub(crate) async fn live(
    State(node): State<Arc<Node>>,
) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    match node.chain.halted() {
        None => (
            axum::http::StatusCode::OK,
            Json(serde_json::json!({ "status": "ok" })),
        ),
        Some(error) => (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "storage-halted", "error": error })),
        ),
    }
}

#[utoipa::path(get, path = "/health/block-sync", tag = "health", responses((status = 200, body = BlockSyncJson)))]
pub(crate) async fn block_sync(State(node): State<Arc<Node>>) -> Json<BlockSyncJson> {
    let tip = node.chain.tip();
    let sync = node.net.get().map(|n| n.info().sync);
    let best = sync.map(|s| s.best_peer_height.max(tip.height));
    Json(BlockSyncJson {
        height: tip.height,
        hash: tip.hash.to_string(),
        syncing: sync.is_some_and(|s| s.syncing),
        best_peer_height: best,
        progress: match best {
            Some(b) if b > 0 => (tip.height as f64 / b as f64).min(1.0),
            _ => 1.0,
        },
    })
}

#[utoipa::path(get, path = "/health/node-status", tag = "health", responses((status = 200, body = NodeStatusJson)))]
pub(crate) async fn node_status(State(node): State<Arc<Node>>) -> Json<NodeStatusJson> {
    // One read of the process's counters for both figures.
    let (cpu, rss) = luminex_service::metrics::process_usage();
    let tip = node.chain.tip();
    let (txs, bytes) = {
        let p = node.mempool.read();
        (p.len(), p.bytes())
    };
    Json(NodeStatusJson {
        version: env!("CARGO_PKG_VERSION").into(),
        chain: node.spec.name.clone(),
        chain_id: node.spec.chain_id,
        address_hrp: node.spec.address_hrp.clone(),
        genesis: node
            .chain
            .hash_at(0)
            .ok()
            .flatten()
            .unwrap_or(Hash::ZERO)
            .to_string(),
        height: tip.height,
        tip: tip.hash.to_string(),
        role: node.role().into(),
        validator_id: node
            .validator_id
            .filter(|_| node.producing && node.spec.consensus == ConsensusKind::Bft)
            .map(|id| id.to_string()),
        finalized_height: node.chain.finalized().height,
        last_commit: node
            .chain
            .certificate(tip.height)
            .ok()
            .flatten()
            .map(|c| LastCommitJson {
                height: c.height,
                round: c.round,
                block: c.block_hash.to_string(),
                signers: c.signatures.len(),
            }),
        uptime_secs: node.started.elapsed().as_secs(),
        mempool_txs: txs,
        mempool_bytes: bytes,
        disk_bytes: node.chain.disk_space(),
        cpu_seconds: cpu,
        memory_bytes: rss,
        p2p: node.net.get().map(|n| {
            let i = n.info();
            P2pStatusJson {
                inbound: i.peers.iter().filter(|p| p.direction == "inbound").count(),
                outbound: i.peers.iter().filter(|p| p.direction == "outbound").count(),
                peer_id: i.peer_id,
                listen_addrs: i.listen_addrs,
                external_addrs: i.external_addrs,
                reachability: i.reachability,
                identity_clashes: i.identity_clashes,
            }
        }),
    })
}
