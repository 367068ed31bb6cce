//! Admin and debug routes (behind [`crate::guard::require_admin`]):
//! mempool contents, diagnostics (resources, storage, chain), genesis.

#[allow(unused_imports)] // used inside #[utoipa::path] attributes
use crate::types::Problem;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use luminex_primitives::Encode;
use serde_json::{json, Value};

use luminex_service::Node;

/// `GET /admin/mempool`: every waiting transaction, highest fee rate first.
#[utoipa::path(get, path = "/admin/mempool", tag = "admin", responses((status = 200, description = "JSON for a request with an API key; `luminex node` serves the operator's dashboard page (HTML) at this address to a request without one (docs/web.md)",
    content((serde_json::Value = "application/json"), (String = "text/html"))), (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Wrong API key", body = Problem, content_type = "application/problem+json")))]
pub async fn mempool(State(node): State<Arc<Node>>) -> Json<Value> {
    let pool = node.mempool.read();
    let txs: Vec<Value> = pool
        .entries()
        .map(|e| json!({ "txid": e.txid.to_string(), "size": e.size, "fee": e.fee.base(), "fee_rate_per_kb": e.fee_rate }))
        .collect();
    Json(
        json!({ "count": pool.len(), "bytes": pool.bytes(), "max_bytes": pool.max_bytes(), "transactions": txs }),
    )
}

/// `GET /debug/mempool`: the same with each transaction's encoding.
#[utoipa::path(get, path = "/debug/mempool", tag = "admin", responses((status = 200, body = serde_json::Value), (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Wrong API key", body = Problem, content_type = "application/problem+json")))]
pub async fn debug_mempool(State(node): State<Arc<Node>>) -> Json<Value> {
    let pool = node.mempool.read();
    let txs: Vec<Value> = pool
        .entries()
        .map(|e| json!({ "txid": e.txid.to_string(), "wtxid": e.wtxid.to_string(), "fee": e.fee.base(), "hex": hex::encode(e.tx.encode()) }))
        .collect();
    Json(json!({ "transactions": txs }))
}

/// `GET /admin/diagnostics`: resource use, storage and chain state.
#[utoipa::path(get, path = "/admin/diagnostics", tag = "admin", responses((status = 200, body = serde_json::Value), (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Wrong API key", body = Problem, content_type = "application/problem+json")))]
pub async fn diagnostics(State(node): State<Arc<Node>>) -> Json<Value> {
    let (cpu, rss) = luminex_service::metrics::process_usage();
    let tip = node.chain.tip();
    let pool = node.mempool.read();
    Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_secs": node.started.elapsed().as_secs(),
        "process": { "cpu_seconds": cpu, "resident_memory_bytes": rss },
        "storage": { "disk_bytes": node.chain.disk_space() },
        "chain": { "name": node.spec.name, "height": tip.height, "tip": tip.hash.to_string(), "chain_work": hex::encode(tip.chain_work.to_be_bytes::<32>()) },
        "mempool": { "count": pool.len(), "bytes": pool.bytes() },
        "signature_cache_entries": node.cache.len(),
        "peers": node.net.get().map(|n| serde_json::to_value(n.info().peers).unwrap_or(Value::Null)).unwrap_or(json!([])),
        "recent_logs": luminex_service::logbuf::global().lines(),
    }))
}

/// `GET /debug/genesis`: the genesis block and the chain spec.
#[utoipa::path(get, path = "/debug/genesis", tag = "admin", responses((status = 200, body = serde_json::Value), (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Wrong API key", body = Problem, content_type = "application/problem+json")))]
pub async fn genesis(State(node): State<Arc<Node>>) -> Json<Value> {
    let g = node.spec.genesis_block();
    Json(json!({
        "hash": g.hash().to_string(),
        "hex": hex::encode(g.encode()),
        "spec": serde_json::to_value(&node.spec).unwrap_or(Value::Null),
    }))
}

/// `POST /admin/node/restart`: a graceful restart in place — services stop,
/// the mempool is saved, the database closes, and everything starts again
/// from the configuration. Answers 202 before it begins.
#[utoipa::path(post, path = "/admin/node/restart", tag = "admin", responses((status = 202, body = serde_json::Value), (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Wrong API key", body = Problem, content_type = "application/problem+json")))]
pub async fn restart(State(node): State<Arc<Node>>) -> (axum::http::StatusCode, Json<Value>) {
    tracing::warn!("restart requested through the admin API");
    node.restart.notify_one();
    (
        axum::http::StatusCode::ACCEPTED,
        Json(json!({ "status": "restarting" })),
    )
}
