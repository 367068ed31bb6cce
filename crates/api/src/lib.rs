//! The node's REST API (axum): the routes, their guards (rate limits, admin
//! keys), the WebSocket of chain events and the OpenAPI document. Every
//! error is an RFC 9457 problem document with a stable `code`; bad input of
//! any kind gets a 4xx, never a panic, and leaves the node's state
//! unchanged.
//!
//! It serves a [`luminex_service::Node`]; the binary (`luminex-node`) binds
//! it to a socket and the web pages (`luminex-web`) build on it.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
pub mod consensus;
pub mod create_tx;
pub mod explorer;
pub mod guard;
pub mod health;
pub mod openapi;
pub mod peers;
pub mod pst;
pub mod rewards;
pub mod serve;
pub mod staking;
pub mod submit;
pub mod types;
pub mod ws;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use luminex_ledger::ErrorClass;
use luminex_mempool::MempoolError;
use luminex_primitives::{Address, Encode, Hash};
use luminex_storage::StoreError;

use luminex_service::metrics::RouteLabels;
use luminex_service::Node;

use crate::types::*;

/// Largest request body: a maximal transaction as hex in JSON, with room.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// An API error, rendered as `application/problem+json`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    detail: String,
}

impl ApiError {
    /// Its HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// An error with a status, a stable code and a human detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code: code.to_string(),
            detail: detail.into(),
        }
    }

    pub(crate) fn bad_request(code: &str, detail: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, code, detail)
    }

    pub(crate) fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not-found", what)
    }
}

impl ApiError {
    /// The problem document this error is answered with.
    pub fn problem(self) -> Problem {
        Problem {
            kind: format!("urn:luminex:problem:{}", self.code),
            title: self
                .status
                .canonical_reason()
                .unwrap_or("Error")
                .to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
            code: self.code,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response()
    }
}

/// Gives the timeout layer's bare 408 the problem body every other error
/// has (`timeout`, naming the limit).
async fn timeout_problem(State(limit): State<std::time::Duration>, r: Response) -> Response {
    if r.status() == StatusCode::REQUEST_TIMEOUT && !r.headers().contains_key(header::CONTENT_TYPE)
    {
        return ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "timeout",
            format!(
                "the request took longer than the server's limit of {} s",
                limit.as_secs_f64()
            ),
        )
        .into_response();
    }
    r
}

/// The answer when the REST work queue is full
/// ([`serve::ConnectionLimits::work_queue`]): 503, try again in a second.
pub fn overloaded() -> Response {
    let mut r = ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "overloaded",
        "too many requests are waiting; try again shortly",
    )
    .into_response();
    r.headers_mut().insert(
        header::RETRY_AFTER,
        axum::http::HeaderValue::from_static("1"),
    );
    r
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            // The operator's choice, not a fault: 501, as a route this
            // node does not serve, and nothing in the error log.
            StoreError::IndexOff { .. } => {
                ApiError::new(StatusCode::NOT_IMPLEMENTED, "index-off", e.to_string())
            }
            // Said once, by the store, when first met (ADR 0075); the
            // caller learns what it is and what is done about it.
            _ if e.is_damage() => ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage-damaged",
                format!(
                    "the node's database is damaged and cannot give this answer ({e}); \
                     its operator should {}",
                    luminex_storage::DAMAGE_REMEDY
                ),
            ),
            _ => {
                tracing::error!(error = %e, "storage error serving a request");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "storage", e.to_string())
            }
        }
    }
}

impl From<MempoolError> for ApiError {
    fn from(e: MempoolError) -> ApiError {
        let status = match &e {
            MempoolError::Invalid(luminex_ledger::TxError::Decode(_)) => StatusCode::BAD_REQUEST,
            MempoolError::AlreadyKnown(_) | MempoolError::Conflict { .. } => StatusCode::CONFLICT,
            MempoolError::Full { .. } | MempoolError::Halted(_) => StatusCode::SERVICE_UNAVAILABLE,
            MempoolError::Invalid(_) => match e.class() {
                ErrorClass::Consensus
                | ErrorClass::Policy
                | ErrorClass::MissingInputs
                | ErrorClass::Premature => StatusCode::UNPROCESSABLE_ENTITY,
            },
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        };
        ApiError::new(status, e.code(), e.to_string())
    }
}

type ApiResult<T> = Result<Json<T>, ApiError>;

pub use openapi::ApiDoc;

/// A request body of at most [`MAX_BODY_BYTES`], for every route that
/// reads one: a longer body is a 413 problem (`body-too-large`) like every
/// other refusal, not axum's plain-text one — at once when its
/// `Content-Length` says so, without waiting for the bytes — and a body
/// that cannot be read (a malformed chunked encoding, a connection cut
/// mid-body) a 400 `bad-body`.
pub struct LimitedBody(
    /// The body.
    pub axum::body::Bytes,
);

impl<S: Send + Sync> axum::extract::FromRequest<S> for LimitedBody {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, _: &S) -> Result<Self, ApiError> {
        let too_large = || {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                format!("request body exceeds {MAX_BODY_BYTES} bytes"),
            )
        };
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
            return Err(too_large());
        }
        axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES)
            .await
            .map(LimitedBody)
            .map_err(|e| {
                if over_limit(&e) {
                    too_large()
                } else {
                    ApiError::bad_request(
                        "bad-body",
                        format!("the request body could not be read: {e}"),
                    )
                }
            })
    }
}

/// A JSON request body ([`LimitedBody`]'s limits), for routes that read
/// only JSON: a `Content-Type` other than `application/json` (or none) is
/// a 415 problem (`unsupported-media-type`), as the API's conventions say.
pub struct JsonBody(
    /// The body.
    pub axum::body::Bytes,
);

impl<S: Send + Sync> axum::extract::FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, s: &S) -> Result<Self, ApiError> {
        let json = media_type(req.headers()).is_none_or(|t| t == "application/json");
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send application/json",
            ));
        }
        LimitedBody::from_request(req, s)
            .await
            .map(|LimitedBody(b)| JsonBody(b))
    }
}

/// The media type of a request's `Content-Type`, without its parameters
/// and in lower case, as media types compare (RFC 9110 §8.3.1): `None`
/// without the header; an empty string for one that is not text.
pub(crate) fn media_type(headers: &HeaderMap) -> Option<String> {
    headers.get(header::CONTENT_TYPE).map(|v| {
        let t = v.to_str().unwrap_or("");
        t.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    })
}

/// Whether reading a body failed because it passed the length limit.
fn over_limit(e: &axum::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if c.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Largest height a request may name: heights are int64 in the OpenAPI
/// document (every JSON client can hold them), so larger numbers are
/// refused rather than read as a far-future height.
pub const MAX_HEIGHT: u64 = i64::MAX as u64;

/// Reads a height from a query parameter `name`: decimal, at most
/// [`MAX_HEIGHT`]; a 400 `bad-height` otherwise.
pub(crate) fn parse_height(s: &str, name: &str) -> Result<u64, ApiError> {
    s.parse::<u64>()
        .ok()
        .filter(|h| *h <= MAX_HEIGHT)
        .ok_or_else(|| {
            ApiError::bad_request(
                "bad-height",
                format!("{name} must be a height, 0..={MAX_HEIGHT}"),
            )
        })
}

/// Options of the REST API.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Per-client rate limits.
    pub limits: crate::guard::RateLimitConfig,
    /// Admin API key hashes (no keys: admin routes refuse everyone).
    pub admin_keys: crate::guard::AdminKeys,
    /// Origins allowed by CORS (none: no CORS headers).
    pub cors_origins: Vec<String>,
    /// Longest a request may take.
    pub timeout: std::time::Duration,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            limits: crate::guard::RateLimitConfig::default(),
            admin_keys: crate::guard::AdminKeys::default(),
            cors_origins: vec![],
            timeout: std::time::Duration::from_secs(30),
        }
    }
}

/// The API router over a node with default options.
pub fn router(node: Arc<Node>) -> Router {
    router_with(node, ApiOptions::default())
}

/// The API router over a node.
pub fn router_with(node: Arc<Node>, opts: ApiOptions) -> Router {
    use axum::middleware::from_fn_with_state;
    let admin = Router::new()
        .route("/admin/mempool", get(crate::admin::mempool))
        .route("/admin/diagnostics", get(crate::admin::diagnostics))
        .route("/admin/node/restart", post(crate::admin::restart))
        .route("/debug/mempool", get(crate::admin::debug_mempool))
        .route("/debug/genesis", get(crate::admin::genesis))
        .route("/debug/peers", get(crate::peers::debug_peers))
        .route("/admin/nodes/add", post(crate::peers::nodes_add))
        .route("/admin/nodes/remove", post(crate::peers::nodes_remove))
        .route_layer(from_fn_with_state(
            Arc::new(opts.admin_keys),
            crate::guard::require_admin,
        ));
    let mut r = Router::new()
        .route("/transactions/broadcast", post(crate::submit::broadcast))
        .route(
            "/transactions/broadcast/batch",
            post(crate::submit::broadcast_batch),
        )
        .route("/transactions/create", post(crate::create_tx::create))
        .route(
            "/transactions/estimate-fee",
            get(crate::explorer::estimate_fee),
        )
        .route("/transactions/{txid}", get(transaction))
        .route("/pst/inspect", post(crate::pst::inspect))
        .route("/pst/combine", post(crate::pst::combine))
        .route("/pst/finalize", post(crate::pst::finalize))
        .route("/pst/broadcast", post(crate::pst::broadcast))
        .route("/blocks", get(crate::explorer::blocks))
        .route("/blocks/{id}", get(block))
        .route("/address/{address}/balance", get(balance))
        .route("/address/{address}/utxos", get(utxos))
        .route("/address/{address}/transactions", get(history))
        .route("/consensus/validators", get(crate::consensus::validators))
        .route("/consensus/state", get(crate::consensus::state))
        .route("/staking", get(crate::staking::info))
        .route("/staking/validators", get(crate::staking::validators))
        .route("/staking/validators/{id}", get(crate::staking::validator))
        .route(
            "/staking/validators/{id}/delegations",
            get(crate::staking::validator_delegations),
        )
        .route(
            "/staking/delegations/{address}",
            get(crate::staking::delegations_of),
        )
        .route("/staking/unbonding", get(crate::staking::unbonding))
        .route("/staking/nodes", get(crate::staking::nodes))
        .route("/staking/epoch", get(crate::staking::epoch))
        .route("/staking/accounts/{address}", get(crate::staking::account))
        .route("/staking/rewards", get(crate::rewards::rewards))
        .route("/search", get(crate::explorer::search))
        .route("/stats", get(crate::explorer::stats))
        .route("/health/block-sync", get(health::block_sync))
        .route("/health/node-status", get(health::node_status))
        .route("/health/live", get(health::live))
        .route(
            "/health/network-latency",
            get(crate::peers::network_latency),
        )
        .route("/health/ready", get(crate::explorer::ready))
        .route("/metrics", get(health::metrics))
        .route("/mining/workers", get(health::mining_workers))
        .route("/openapi.json", get(crate::openapi::openapi_json))
        .route("/docs", get(crate::openapi::docs_page))
        .route("/docs.js", get(crate::openapi::docs_script))
        .route("/docs.css", get(crate::openapi::docs_style))
        .route(
            "/ws",
            get(crate::ws::handler).route_layer(axum::middleware::from_fn_with_state(
                Arc::new(opts.cors_origins.clone()),
                crate::ws::same_origin,
            )),
        )
        .merge(admin)
        .route_layer(from_fn_with_state(
            Arc::new(crate::guard::RateLimits::new(opts.limits)),
            crate::guard::rate_limit,
        ))
        .route_layer(from_fn_with_state(node.clone(), crate::track))
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "method not allowed on this route",
            )
        })
        .layer(tower_http::compression::CompressionLayer::new())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            opts.timeout,
        ))
        .layer(axum::middleware::map_response_with_state(
            opts.timeout,
            timeout_problem,
        ));
    let origins: Vec<axum::http::HeaderValue> = opts
        .cors_origins
        .iter()
        .filter_map(|o| o.parse().ok())
        .collect();
    if !origins.is_empty() {
        r = r.layer(
            tower_http::cors::CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
                .allow_headers([header::CONTENT_TYPE]),
        );
    }
    r.with_state(node)
}

pub(crate) fn path_param(p: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    p.map(|Path(s)| s)
        .map_err(|e| ApiError::bad_request("bad-path", e.body_text()))
}

pub(crate) fn parse_hash(s: &str, what: &str) -> Result<Hash, ApiError> {
    s.parse().map_err(|_| {
        ApiError::bad_request(
            &format!("bad-{what}"),
            format!("{what} must be 64 hex characters"),
        )
    })
}

pub(crate) fn parse_address(node: &Node, s: &str) -> Result<Address, ApiError> {
    node.spec
        .parse_address(s)
        .map_err(|e| ApiError::bad_request("bad-address", e.to_string()))
}

/// Which transactions of an address to list: received, sent or all.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // the document's shape of the parameter; the handler reads strings
enum Direction {
    In,
    Out,
    All,
}

/// How to answer a history request: JSON or CSV.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(dead_code)] // the document's shape of the parameter; the handler reads strings
enum HistoryFormat {
    Json,
    Csv,
}

pub(crate) use types::coins;

/// Runs `f` on tokio's blocking pool: CPU-bound work (signature
/// verification, a transaction's admission) that must not stall an async
/// worker.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
}

#[utoipa::path(get, path = "/transactions/{txid}", tag = "transactions",
    params(("txid" = String, Path, description = "transaction id (64 hex characters)", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = TxJson), (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json")))]
async fn transaction(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<TxJson> {
    let txid = parse_hash(&path_param(p)?, "txid")?;
    let tip = node.chain.tip().height;
    let (tx, status, block_hash, height) = if let Some(s) = node.chain.transaction(&txid)? {
        (
            s.tx,
            "confirmed",
            Some(s.location.block.to_string()),
            Some(s.location.height),
        )
    } else if let Some(e) = node.mempool.read().get(&txid) {
        ((*e.tx).clone(), "pending", None, None)
    } else {
        return Err(ApiError::not_found(format!(
            "transaction {txid} is not known"
        )));
    };
    let inputs: Vec<InputJson> = tx
        .inputs
        .iter()
        .map(|i| {
            let out = node.output_of(i);
            InputJson {
                txid: i.txid.to_string(),
                vout: i.vout,
                amount: out.map(|o| o.amount.base()),
                amount_coins: out.map(|o| o.amount.to_string()),
                address: out.map(|o| node.spec.address(o.lock).to_string()),
            }
        })
        .collect();
    let fee = node.fee_of(&tx).map(|f| f.base());
    let ledger_payouts = match height {
        Some(h) => ledger_payouts(&node, &tx, &txid, h)?,
        None => Vec::new(),
    };
    Ok(Json(TxJson {
        txid: txid.to_string(),
        wtxid: tx.wtxid().to_string(),
        status: status.into(),
        block_hash,
        height,
        confirmations: height.map_or(0, |h| tip.saturating_sub(h) + 1),
        kind: tx.kind.name().into(),
        authority: AuthorityJson::of(&tx),
        fee,
        fee_coins: fee.map(coins),
        size: tx.encoded_len(),
        expiry_height: tx.expiry_height,
        data: (!tx.data.is_empty()).then(|| hex::encode(&tx.data)),
        inputs,
        outputs: tx
            .outputs
            .iter()
            .enumerate()
            .map(|(vout, o)| OutputJson {
                vout: vout as u32,
                amount: o.amount.base(),
                amount_coins: o.amount.to_string(),
                address: node.spec.address(o.lock).to_string(),
                lock: o.lock.kind_name().into(),
                multisig: MultisigJson::of(&o.lock),
            })
            .collect(),
        ledger_payouts,
    }))
}

/// What the ledger pays for the confirmed transaction `tx` (at `height`),
/// as JSON ([`Node::ledger_payouts`]).
fn ledger_payouts(
    node: &Node,
    tx: &luminex_primitives::Transaction,
    txid: &luminex_primitives::Hash,
    height: u64,
) -> Result<Vec<LedgerPayoutJson>, ApiError> {
    Ok(node
        .ledger_payouts(tx, txid, height)?
        .into_iter()
        .map(|p| LedgerPayoutJson {
            vout: p.outpoint.vout,
            amount: p.coin.output.amount.base(),
            amount_coins: p.coin.output.amount.to_string(),
            address: node.spec.address(p.coin.output.lock).to_string(),
            kind: p.kind.name().into(),
            height: p.height,
            status: p.status.name().into(),
        })
        .collect())
}

#[utoipa::path(get, path = "/blocks/{id}", tag = "explorer",
    params(("id" = String, Path, description = "height (at most 19 digits) or block hash (64 hex characters)", pattern = "^(?:[0-9]{1,19}|[0-9a-fA-F]{64})$")),
    responses((status = 200, body = BlockJson), (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Not found", body = Problem, content_type = "application/problem+json")))]
async fn block(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<BlockJson> {
    let id = path_param(p)?;
    let hash = if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        // Heights are int64 (docs/api.md): past that, a 400 `bad-height`.
        let height = parse_height(&id, "height")?;
        node.chain
            .hash_at(height)?
            .ok_or_else(|| ApiError::not_found(format!("no block at height {height}")))?
    } else if id.len() == 64 {
        parse_hash(&id, "block-id")?
    } else {
        return Err(ApiError::bad_request(
            "bad-block-id",
            "expected a height or a 64-hex block hash",
        ));
    };
    let rec = node
        .chain
        .header(&hash)?
        .ok_or_else(|| ApiError::not_found(format!("block {hash} is not known")))?;
    let block = node
        .chain
        .block(&hash)?
        .ok_or_else(|| ApiError::not_found(format!("block {hash} is not known")))?;
    let tip = node.chain.tip().height;
    let h = block.header;
    let on_main = node.chain.hash_at(rec.height)? == Some(hash);
    let finalized = on_main && node.chain.finalized().height >= rec.height;
    Ok(Json(BlockJson {
        hash: hash.to_string(),
        height: rec.height,
        confirmations: if on_main {
            tip.saturating_sub(rec.height) + 1
        } else {
            0
        },
        in_main_chain: on_main,
        invalid: match node.chain.verdict(&hash) {
            Some((true, false)) => Some("failed".into()),
            Some((true, true)) => Some("invalidated".into()),
            _ => None,
        },
        version: h.version(),
        prev_hash: h.prev_hash().to_string(),
        merkle_root: h.merkle_root().to_string(),
        time: h.time(),
        bits: h.as_pow().map(|p| p.bits),
        nonce: h.as_pow().map(|p| p.nonce),
        bft: h.as_bft().map(|b| BftHeaderJson {
            time_ms: b.time_ms,
            proposer: b.proposer.to_string(),
            validators_hash: b.validators_hash.to_string(),
            next_validators_hash: b.next_validators_hash.to_string(),
            last_commit_hash: b.last_commit_hash.to_string(),
            state_root: b.state_root.to_string(),
            finalized,
        }),
        size: block.encoded_len(),
        tx_count: block.txs.len(),
        txids: block.txs.iter().map(|t| t.txid().to_string()).collect(),
    }))
}

#[utoipa::path(get, path = "/address/{address}/balance", tag = "explorer",
    params(("address" = String, Path, description = "bech32m address of this chain")), responses((status = 200, body = BalanceJson), (status = 400, description = "An address of the right shape whose checksum or payload is wrong (bad-address)", body = Problem, content_type = "application/problem+json")))]
async fn balance(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<BalanceJson> {
    let addr = parse_address(&node, &path_param(p)?)?;
    let utxos = node.chain.address_utxos(&addr.lock, usize::MAX)?;
    let confirmed: u64 = utxos.iter().map(|(_, c)| c.output.amount.base()).sum();
    let pool = node.mempool.read();
    let spent: u64 = utxos
        .iter()
        .filter(|(op, _)| pool.spender(op).is_some())
        .map(|(_, c)| c.output.amount.base())
        .sum();
    let incoming: u64 = pool
        .unspent_outputs_to(&addr.lock)
        .iter()
        .map(|(_, a)| a.base())
        .sum();
    let pending = confirmed - spent + incoming;
    let mempool_txs = pool.txs_paying_to(&addr.lock);
    Ok(Json(BalanceJson {
        address: addr.to_string(),
        confirmed,
        confirmed_coins: coins(confirmed),
        pending,
        pending_coins: coins(pending),
        utxo_count: utxos.len(),
        mempool_txs,
        lock: addr.lock.kind_name().into(),
        multisig: MultisigJson::of(&addr.lock),
    }))
}

pub(crate) fn query(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, ApiError> {
    q.map(|Query(m)| m)
        .map_err(|e| ApiError::bad_request("bad-query", e.body_text()))
}

pub(crate) fn limit(
    q: &HashMap<String, String>,
    default: usize,
    max: usize,
) -> Result<usize, ApiError> {
    match q.get("limit") {
        None => Ok(default),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=max).contains(&n) => Ok(n),
            _ => Err(ApiError::bad_request(
                "bad-limit",
                format!("limit must be 1..={max}"),
            )),
        },
    }
}

#[utoipa::path(get, path = "/address/{address}/utxos", tag = "explorer",
    params(("address" = String, Path, description = "bech32m address of this chain"), ("limit" = Option<u32>, Query, description = "most confirmed outputs listed (default 1000)", minimum = 1, maximum = 100000)),
    responses((status = 200, body = UtxosJson), (status = 400, description = "Malformed request (bad-limit), or an address of the right shape whose checksum or payload is wrong (bad-address)", body = Problem, content_type = "application/problem+json")))]
async fn utxos(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<UtxosJson> {
    let addr = parse_address(&node, &path_param(p)?)?;
    let q = query(q)?;
    let limit = limit(&q, 1000, 100_000)?;
    let confirmed = node.chain.address_utxos(&addr.lock, limit)?;
    let next_height = node.chain.tip().height + 1;
    let maturity = node.spec.coinbase_maturity;
    let pool = node.mempool.read();
    let mut out: Vec<UtxoJson> = confirmed
        .iter()
        .filter(|(op, _)| pool.spender(op).is_none())
        .map(|(op, c)| UtxoJson {
            txid: op.txid.to_string(),
            vout: op.vout,
            amount: c.output.amount.base(),
            amount_coins: c.output.amount.to_string(),
            height: Some(c.height),
            confirmed: true,
            coinbase: c.is_coinbase,
            spendable: !c.is_coinbase || c.height + maturity <= next_height,
        })
        .collect();
    for (op, amount) in pool.unspent_outputs_to(&addr.lock) {
        out.push(UtxoJson {
            txid: op.txid.to_string(),
            vout: op.vout,
            amount: amount.base(),
            amount_coins: amount.to_string(),
            height: None,
            confirmed: false,
            coinbase: false,
            spendable: true,
        });
    }
    Ok(Json(UtxosJson {
        address: addr.to_string(),
        utxos: out,
    }))
}

#[utoipa::path(get, path = "/address/{address}/transactions", tag = "explorer",
    params(("address" = String, Path, description = "bech32m address of this chain"), ("limit" = Option<u32>, Query, description = "rows per page (default 50)", minimum = 1, maximum = 1000),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page: <height>:<txid>", pattern = "^[0-9]{1,19}:[0-9a-fA-F]{64}$"),
        ("direction" = inline(Option<Direction>), Query, description = "incoming, outgoing or all transactions (default all)"),
        ("from_height" = Option<u64>, Query, description = "lowest height listed", minimum = 0, maximum = 9223372036854775807_u64),
        ("to_height" = Option<u64>, Query, description = "highest height listed", minimum = 0, maximum = 9223372036854775807_u64),
        ("format" = inline(Option<HistoryFormat>), Query, description = "json (default) or csv")),
    responses((status = 200, description = "A page of history, newest first; as CSV the next cursor is in X-Next-Cursor", content((HistoryJson = "application/json"), (String = "text/csv")),
            headers(("x-next-cursor" = String, description = "next page's cursor (CSV only)"))),
        (status = 400, description = "Malformed request (bad-limit, bad-cursor, bad-direction, bad-format, bad-height), or an address of the right shape whose checksum or payload is wrong (bad-address)", body = Problem, content_type = "application/problem+json")))]
async fn history(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Response, ApiError> {
    let addr = parse_address(&node, &path_param(p)?)?;
    let q = query(q)?;
    let limit = limit(&q, 50, 1000)?;
    let height_param = |k: &str| -> Result<Option<u64>, ApiError> {
        q.get(k).map(|v| parse_height(v, k)).transpose()
    };
    let (from_height, to_height) = (height_param("from_height")?, height_param("to_height")?);
    let direction = match q.get("direction").map(String::as_str) {
        None | Some("all") => None,
        Some("in") => Some(true),
        Some("out") => Some(false),
        Some(_) => {
            return Err(ApiError::bad_request(
                "bad-direction",
                "direction is in, out or all",
            ))
        }
    };
    let csv = match q.get("format").map(String::as_str) {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::bad_request("bad-format", "format is json or csv")),
    };
    let mut before = match q.get("cursor") {
        None => to_height.map(|h| (h.saturating_add(1), Hash::ZERO)),
        Some(c) => {
            let bad = || {
                ApiError::bad_request(
                    "bad-cursor",
                    "cursor must be <height>:<txid> from next_cursor",
                )
            };
            let (h, t) = c.split_once(':').ok_or_else(bad)?;
            Some((
                h.parse::<u64>().map_err(|_| bad())?,
                t.parse::<Hash>().map_err(|_| bad())?,
            ))
        }
    };
    // Page through the index until `limit` rows pass the filters, reading
    // at most HISTORY_SCAN_PAGES pages of at least HISTORY_SCAN_ROWS rows:
    // a filter that matches rarely ends a page short (even empty) with a
    // cursor, never an unbounded scan.
    let mut rows = Vec::new();
    let mut exhausted = false;
    let scan = limit.max(HISTORY_SCAN_ROWS);
    for _ in 0..HISTORY_SCAN_PAGES {
        let page = node.chain.address_history(&addr.lock, before, scan)?;
        exhausted = page.len() < scan;
        for r in &page {
            before = Some((r.height, r.txid));
            if from_height.is_some_and(|f| r.height < f) {
                exhausted = true;
                break;
            }
            let incoming = r.received > r.sent;
            if direction.is_none_or(|d| d == incoming) {
                rows.push(*r);
                if rows.len() == limit {
                    break;
                }
            }
        }
        if exhausted || rows.len() == limit {
            break;
        }
    }
    let next_cursor = (!exhausted || rows.len() == limit)
        .then(|| before.map(|(h, t)| format!("{h}:{t}")))
        .flatten();
    if csv {
        // The JSON's columns, base units and coins named apart.
        let mut out =
            String::from("txid,height,received,received_coins,sent,sent_coins,net_coins\n");
        for r in &rows {
            out.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                r.txid,
                r.height,
                r.received.base(),
                r.received,
                r.sent.base(),
                r.sent,
                net_coins(r.received.base(), r.sent.base())
            ));
        }
        let mut resp = ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response();
        if let Some(c) = next_cursor.and_then(|c| c.parse().ok()) {
            resp.headers_mut().insert("x-next-cursor", c);
        }
        return Ok(resp);
    }
    Ok(Json(HistoryJson {
        address: addr.to_string(),
        transactions: rows
            .iter()
            .map(|r| HistoryEntryJson {
                txid: r.txid.to_string(),
                height: r.height,
                received: r.received.base(),
                received_coins: r.received.to_string(),
                sent: r.sent.base(),
                sent_coins: r.sent.to_string(),
                net_coins: net_coins(r.received.base(), r.sent.base()),
            })
            .collect(),
        next_cursor,
    })
    .into_response())
}

/// Index rows read at least per step of a filtered history page (one
/// range read each), so a small `limit` does not end pages short.
const HISTORY_SCAN_ROWS: usize = 500;

/// Steps of a history page at most: with a filter that rarely matches, a
/// page ends short after HISTORY_SCAN_PAGES × HISTORY_SCAN_ROWS rows read.
const HISTORY_SCAN_PAGES: usize = 20;

/// Axum middleware counting requests by matched route and status.
pub async fn track(
    State(node): State<Arc<Node>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let resp = next.run(req).await;
    node.metrics
        .api_requests
        .get_or_create(&RouteLabels {
            route,
            status: resp.status().as_u16().to_string(),
        })
        .inc();
    resp
}
