//! Explorer and health routes of the REST API: block lists, search, chain
//! statistics, fee estimates and readiness.

#[allow(unused_imports)] // Problem is used inside #[utoipa::path] attributes
use crate::types::{
    BlockSummaryJson, BlocksJson, FeeEstimateJson, Problem, SearchJson, StatsJson, TpsJson,
};
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use luminex_primitives::Hash;
use serde_json::{json, Value};

use crate::{coins, limit, parse_hash, parse_height, query, ApiError};
use luminex_service::Node;

fn block_summary(node: &Node, hash: &Hash) -> Result<Option<BlockSummaryJson>, ApiError> {
    let Some(rec) = node.chain.header(hash)? else {
        return Ok(None);
    };
    let txs = node.chain.tx_count(hash)?.unwrap_or(0);
    Ok(Some(BlockSummaryJson {
        hash: hash.to_string(),
        height: rec.height,
        time: rec.header.time(),
        tx_count: txs,
        prev_hash: rec.header.prev_hash().to_string(),
    }))
}

/// `GET /blocks?from=H&limit=N`: blocks from height `from` (default: the
/// tip) downwards, latest first.
#[utoipa::path(get, path = "/blocks", tag = "explorer",
    params(("from" = Option<u64>, Query, description = "highest height listed (default: the tip)", minimum = 0, maximum = 9223372036854775807_u64),
        ("limit" = Option<u32>, Query, description = "blocks listed (default 20)", minimum = 1, maximum = 500)),
    responses((status = 200, body = BlocksJson), (status = 400, description = "Malformed request (bad-limit, bad-height)", body = Problem, content_type = "application/problem+json")))]
pub async fn blocks(
    State(node): State<Arc<Node>>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<BlocksJson>, ApiError> {
    let q = query(q)?;
    let limit = limit(&q, 20, 500)?;
    let tip = node.chain.tip().height;
    let from = match q.get("from") {
        None => tip,
        Some(s) => parse_height(s, "from")?.min(tip),
    };
    let mut out = Vec::with_capacity(limit);
    for h in (0..=from).rev().take(limit) {
        if let Some(hash) = node.chain.hash_at(h)? {
            if let Some(s) = block_summary(&node, &hash)? {
                out.push(s);
            }
        }
    }
    let next_from = out
        .last()
        .map(|b| b.height)
        .filter(|h| *h > 0)
        .map(|h| h - 1);
    Ok(Json(BlocksJson {
        blocks: out,
        next_from,
    }))
}

/// `GET /search?q=`: a height, block hash, txid or address.
#[utoipa::path(get, path = "/search", tag = "explorer",
    params(("q" = String, Query, description = "a height, a block hash or txid (64 hex characters) or an address of this chain, with ASCII blanks around it allowed (the document gives the pattern for this chain)")),
    responses((status = 200, body = SearchJson), (status = 400, description = "Not a height, hash or address (bad-query), or an address of the right shape whose checksum or payload is wrong", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json")))]
pub async fn search(
    State(node): State<Arc<Node>>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<SearchJson>, ApiError> {
    let q = query(q)?;
    let term = q.get("q").map(|s| s.trim_ascii()).unwrap_or("");
    if term.is_empty() || term.len() > 200 {
        return Err(ApiError::bad_request(
            "bad-query",
            "q must be a height, block hash, txid or address",
        ));
    }
    if term.len() <= 20 && term.bytes().all(|b| b.is_ascii_digit()) {
        let h: u64 = term
            .parse()
            .map_err(|_| ApiError::bad_request("bad-height", "height out of range"))?;
        if let Some(hash) = node.chain.hash_at(h)? {
            return Ok(Json(SearchJson::Block {
                height: h,
                hash: hash.to_string(),
            }));
        }
        return Err(ApiError::not_found(format!("no block at height {h}")));
    }
    // A 64-character address (a short prefix) is not a hash: only hex is.
    if term.len() == 64 && term.bytes().all(|b| b.is_ascii_hexdigit()) {
        let hash = parse_hash(term, "hash")?;
        if let Some(rec) = node.chain.header(&hash)? {
            return Ok(Json(SearchJson::Block {
                height: rec.height,
                hash: hash.to_string(),
            }));
        }
        if let Some(t) = node.chain.transaction(&hash)? {
            return Ok(Json(SearchJson::Transaction {
                txid: hash.to_string(),
                height: Some(t.location.height),
            }));
        }
        if node.mempool.read().contains(&hash) {
            return Ok(Json(SearchJson::Transaction {
                txid: hash.to_string(),
                height: None,
            }));
        }
        return Err(ApiError::not_found(format!(
            "{term} is neither a block nor a transaction"
        )));
    }
    match node.spec.parse_address(term) {
        Ok(a) => {
            let (balance, utxos) = node.chain.balance(&a.lock)?;
            Ok(Json(SearchJson::Address {
                address: a.to_string(),
                balance: balance.base(),
                utxo_count: utxos,
            }))
        }
        Err(e) => Err(ApiError::bad_request(
            "bad-query",
            format!("not a height, hash or address: {e}"),
        )),
    }
}

/// `GET /stats`: height, transactions per second over 1 min / 5 min / 1 h
/// (from block times), average block time, mempool, difficulty, supply.
#[utoipa::path(get, path = "/stats", tag = "explorer", responses((status = 200, body = StatsJson)))]
pub async fn stats(State(node): State<Arc<Node>>) -> Result<Json<StatsJson>, ApiError> {
    let n = node.clone();
    tokio::task::spawn_blocking(move || stats_blocking(&n))
        .await
        .map_err(|e| {
            ApiError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                e.to_string(),
            )
        })?
}

/// Blocks looked at for windows and averages.
const STATS_WINDOW_BLOCKS: u64 = 4000;

fn stats_blocking(node: &Node) -> Result<Json<StatsJson>, ApiError> {
    // The supply and the height it is reported with are of one tip.
    let (tip, supply) = node.chain.tip_and_supply()?;
    let supply = u64::try_from(supply).unwrap_or(u64::MAX);
    let now = tip.header.time();
    let mut txs_in = [0u64; 3];
    let windows = [60u64, 300, 3600];
    let mut times = Vec::new();
    let lowest = tip.height.saturating_sub(STATS_WINDOW_BLOCKS);
    for h in (lowest.max(1)..=tip.height).rev() {
        let Some(hash) = node.chain.hash_at(h)? else {
            break;
        };
        let Some(rec) = node.chain.header(&hash)? else {
            break;
        };
        let age = now.saturating_sub(rec.header.time());
        if times.len() <= 100 {
            times.push(rec.header.time());
        }
        if age > 3600 && times.len() > 100 {
            break;
        }
        let txs = node.chain.tx_count(&hash)?.unwrap_or(1).saturating_sub(1) as u64;
        for (i, w) in windows.iter().enumerate() {
            if age < *w {
                txs_in[i] += txs;
            }
        }
    }
    let avg_block_time = match (times.first(), times.last()) {
        (Some(a), Some(b)) if times.len() > 1 => {
            a.saturating_sub(*b) as f64 / (times.len() - 1) as f64
        }
        _ => 0.0,
    };
    let (mempool_txs, mempool_bytes) = {
        let p = node.mempool.read();
        (p.len(), p.bytes())
    };
    Ok(Json(StatsJson {
        height: tip.height,
        tip: tip.hash.to_string(),
        tps: TpsJson {
            one_minute: txs_in[0] as f64 / 60.0,
            five_minutes: txs_in[1] as f64 / 300.0,
            one_hour: txs_in[2] as f64 / 3600.0,
        },
        average_block_time_secs: avg_block_time,
        mempool_txs,
        mempool_bytes,
        difficulty: tip
            .header
            .as_pow()
            .map_or(0.0, |h| luminex_consensus::pow::difficulty(h.bits)),
        supply,
        supply_coins: coins(supply),
    }))
}

/// `GET /transactions/estimate-fee?blocks=N`: the fee rate (base units per
/// byte) likely to confirm within N blocks, from the mempool: the minimum
/// rate if N blocks' worth of space holds the whole mempool, otherwise the
/// rate of the transaction at that depth in fee order.
#[utoipa::path(get, path = "/transactions/estimate-fee", tag = "transactions",
    params(("blocks" = Option<u32>, Query, description = "confirmation target in blocks (default 1)", minimum = 1, maximum = 1008)), responses((status = 200, body = FeeEstimateJson), (status = 400, description = "Malformed request (bad-blocks)", body = Problem, content_type = "application/problem+json")))]
pub async fn estimate_fee(
    State(node): State<Arc<Node>>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Json<FeeEstimateJson>, ApiError> {
    let q = query(q)?;
    let blocks: u64 = match q.get("blocks") {
        None => 1,
        Some(s) => match s.parse::<u64>() {
            Ok(n) if (1..=1008).contains(&n) => n,
            _ => {
                return Err(ApiError::bad_request(
                    "bad-blocks",
                    "blocks must be 1..=1008",
                ))
            }
        },
    };
    let min = node.spec.min_fee_rate;
    let rate = node.estimate_fee_rate(blocks);
    Ok(Json(FeeEstimateJson {
        blocks,
        fee_rate: rate,
        min_fee_rate: min,
        unit: "base units per byte".into(),
    }))
}

/// `GET /health/ready`: ready to serve — 200 when the chain is open and not
/// far behind its peers, 503 while it syncs more than a few blocks (so an
/// orchestrator keeps traffic away from a node still catching up), and 503
/// on a networked node that no peer has told where the chain is (none
/// connected, or none answered its status) unless it is configured as a
/// lone node (`--lone`; the default without bootnodes): alone, it cannot
/// know how far behind it is. 503 `storage-halted` when the database
/// refused a write (see `/health/live`), and 503 `storage-damaged` once a
/// read found damaged data (ADR 0075): the node goes on serving what it
/// can read, but a balancer should send its traffic elsewhere. Liveness
/// stays 200 then, as a restart does not mend the files.
#[utoipa::path(get, path = "/health/ready", tag = "health", responses((status = 200, body = serde_json::Value), (status = 503, description = "Syncing, no peers, the database halted or damaged", body = serde_json::Value)))]
pub async fn ready(State(node): State<Arc<Node>>) -> (axum::http::StatusCode, Json<Value>) {
    let height = node.chain.tip().height;
    if let Some(error) = node.chain.halted() {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "storage-halted", "height": height, "error": error })),
        );
    }
    if let Some((error, reads)) = node.chain.damaged() {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({
                "status": "storage-damaged",
                "height": height,
                "error": error,
                "damaged_reads": reads,
                "remedy": luminex_storage::DAMAGE_REMEDY,
            })),
        );
    }
    let info = node.net.get().map(|n| n.info());
    if let Some(info) = info.as_ref().filter(|i| !i.has_peer_view()) {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "no-peers", "height": height, "peers": info.peers.len() })),
        );
    }
    let best = info.map(|i| i.sync.best_peer_height).unwrap_or(0);
    if best > height + READY_LAG {
        return (
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "status": "syncing", "height": height, "best_peer_height": best })),
        );
    }
    (
        axum::http::StatusCode::OK,
        Json(json!({ "status": "ready", "height": height })),
    )
}

/// Blocks a node may trail its best peer by and still be ready.
pub const READY_LAG: u64 = 5;
