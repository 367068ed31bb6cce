//! Routes about peers: round-trip times, the peer list, and the admin
//! routes that dial or ban a peer.

#[allow(unused_imports)] // used inside #[utoipa::path] attributes
use crate::types::Problem;
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{ApiError, JsonBody};
use luminex_service::Node;

fn network(node: &Node) -> Result<&luminex_p2p::Handle, ApiError> {
    node.net.get().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "p2p-disabled",
            "peer-to-peer networking is not running on this node",
        )
    })
}

/// `GET /health/network-latency`: each peer's last ping round trip.
#[utoipa::path(get, path = "/health/network-latency", tag = "health", responses((status = 200, body = serde_json::Value)))]
pub async fn network_latency(State(node): State<Arc<Node>>) -> Json<Value> {
    let peers: Vec<Value> = node
        .net
        .get()
        .map(|n| n.info().peers)
        .unwrap_or_default()
        .into_iter()
        .map(|p| json!({ "peer_id": p.peer_id, "address": p.address, "rtt_ms": p.rtt_ms }))
        .collect();
    let rtts: Vec<f64> = peers.iter().filter_map(|p| p["rtt_ms"].as_f64()).collect();
    let median = median(rtts);
    Json(json!({ "peers": peers, "median_rtt_ms": median }))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(v[v.len() / 2])
}

/// `GET /debug/peers`: the network's full state (peers, bans, sync).
#[utoipa::path(get, path = "/debug/peers", tag = "admin", responses((status = 200, body = serde_json::Value), (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Wrong API key", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Networking disabled", body = Problem, content_type = "application/problem+json")))]
pub async fn debug_peers(State(node): State<Arc<Node>>) -> Result<Json<Value>, ApiError> {
    let info = network(&node)?.info();
    Ok(Json(serde_json::to_value(info).unwrap_or(Value::Null)))
}

/// Body of `POST /admin/nodes/add`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct AddNode {
    /// The peer's multiaddr, with `/p2p/<peer id>` when known.
    address: String,
}

/// Body of `POST /admin/nodes/remove`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RemoveNode {
    /// The peer's id (base58).
    peer_id: String,
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("bad-json", format!("expected {shape}: {e}")))
}

/// `POST /admin/nodes/add` with `{"address": "<multiaddr>"}`: dials a peer
/// (lifting its ban if it had one).
#[utoipa::path(post, path = "/admin/nodes/add", tag = "admin", request_body = inline(AddNode), responses((status = 202, body = serde_json::Value), (status = 400, description = "Bad address", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Wrong API key", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Networking disabled", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Not application/json (unsupported-media-type)", body = Problem, content_type = "application/problem+json")))]
pub async fn nodes_add(
    State(node): State<Arc<Node>>,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let req: AddNode = parse(&body, r#"{"address": "<multiaddr>"}"#)?;
    let addr = luminex_p2p::parse_dial_addr(&req.address).map_err(|e| {
        let shown: String = req.address.chars().take(80).collect();
        ApiError::bad_request("bad-multiaddr", format!("{shown:?}: {e}"))
    })?;
    network(&node)?.dial(addr.clone()).map_err(|e| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "p2p-stopped",
            e.to_string(),
        )
    })?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "status": "dialing", "address": addr.to_string() })),
    ))
}

/// `POST /admin/nodes/remove` with `{"peer_id": "..."}`: disconnects and
/// bans a peer for the configured ban period.
#[utoipa::path(post, path = "/admin/nodes/remove", tag = "admin", request_body = inline(RemoveNode), responses((status = 200, body = serde_json::Value), (status = 400, description = "Bad peer id", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No API key", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Wrong API key", body = Problem, content_type = "application/problem+json"), (status = 503, description = "Networking disabled", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Not application/json (unsupported-media-type)", body = Problem, content_type = "application/problem+json")))]
pub async fn nodes_remove(
    State(node): State<Arc<Node>>,
    JsonBody(body): JsonBody,
) -> Result<Json<Value>, ApiError> {
    let req: RemoveNode = parse(&body, r#"{"peer_id": "<peer id>"}"#)?;
    network(&node)?.ban(&req.peer_id).map_err(|e| match e {
        luminex_p2p::HandleError::PeerId(m) => ApiError::bad_request("bad-peer-id", m),
        e => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "p2p-stopped",
            e.to_string(),
        ),
    })?;
    Ok(Json(json!({ "status": "banned", "peer_id": req.peer_id })))
}
