//! Submitting transactions: one (`POST /transactions/broadcast`) or a
//! batch of them in one request (`POST /transactions/broadcast/batch`).
//!
//! A request costs the node more than verifying the transaction it carries
//! (~47 µs of HTTP handling against ~36 µs for an ML-DSA-65 signature on
//! this project's reference machine, BENCHMARKS.md), so a wallet or
//! exchange sending many transactions, or the load generator, sends them
//! as a batch: one request, one verdict per transaction in the same order.
//!
//! A batch is decided as if its transactions had been sent one by one in
//! its order, with the signature checks of many shared among the cores:
//!
//! - independent transactions go through the admission pipeline
//!   ([`luminex_service::admission`]) [`BATCH_WINDOW`] at a time;
//! - a transaction refused for a missing input (it spends another of the
//!   batch, not yet admitted when it was checked) is tried again after the
//!   first pass, one at a time in the batch's order, for as long as a pass
//!   admits something: a child after its parent is admitted as it would
//!   be alone;
//! - a batch in which two transactions spend the same output is decided
//!   one transaction at a time in its order, so the first spend wins as it
//!   would sent one by one.
//!
//! A request that is not a batch of well-formed transactions (bad JSON or
//! hex, bytes that are no transaction, none, more than [`MAX_BATCH_TXS`])
//! is refused whole, naming the first bad transaction, and nothing of it
//! is submitted.

use std::collections::HashSet;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::{stream, StreamExt};
use luminex_ledger::ErrorClass;
use luminex_mempool::MempoolError;
use luminex_primitives::{Decode, Hash, OutPoint, Reader, Transaction};
use luminex_service::admission::AdmitError;
use luminex_service::Node;

use crate::types::*;
use crate::{overloaded, ApiError, LimitedBody};

/// Most transactions in one batch (a 4 MiB body holds ~770 one-input
/// ML-DSA-65 transfers as raw bytes, half that as hex).
pub const MAX_BATCH_TXS: usize = 1_000;

/// A batch's transactions in the admission pipeline at once: enough to
/// keep every verifier busy, few enough that several batches at once stay
/// well inside the pipeline's queue ([`luminex_service::admission::QUEUE`]).
pub const BATCH_WINDOW: usize = 32;

/// How a request body is encoded.
enum BodyKind {
    /// `application/octet-stream`: canonical encodings.
    Raw,
    /// `application/json` (or no `Content-Type`): hex in JSON.
    Json,
}

fn body_kind(headers: &HeaderMap) -> Result<BodyKind, ApiError> {
    let media = crate::media_type(headers);
    if media.as_deref() == Some("application/octet-stream") {
        Ok(BodyKind::Raw)
    } else if media.as_deref().is_none_or(|t| t == "application/json") {
        Ok(BodyKind::Json)
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send application/json (hex) or application/octet-stream (raw bytes)",
        ))
    }
}

#[utoipa::path(post, path = "/transactions/broadcast", tag = "transactions",
    request_body(description = "The transaction as hex in JSON, or its raw bytes as application/octet-stream (a request without Content-Type is read as JSON)",
        content((BroadcastRequest = "application/json"), ("application/octet-stream"))),
    responses((status = 200, body = BroadcastResponse),
        (status = 400, description = "Malformed request: not JSON (bad-json), not hex (bad-hex), or bytes that are no transaction (malformed)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already known or double spend", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 4 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither application/json nor application/octet-stream", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid transaction, or one the mempool's policy refuses (too-long-mempool-chain: more than 25 unconfirmed ancestors, or an ancestor with more than 25 unconfirmed descendants)", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Admitting the transaction hit a bug (internal): contained and logged by the node, other submissions go on", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Too many transactions waiting for admission (overloaded, with Retry-After), the mempool is full and the fee too low (mempool-full), the node's storage stopped after a failed write (storage-halted), or the admission pipeline could not start or has stopped (unavailable)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn broadcast(
    State(node): State<Arc<Node>>,
    headers: HeaderMap,
    LimitedBody(bytes): LimitedBody,
) -> Result<Json<BroadcastResponse>, Response> {
    let tx = broadcast_body(&headers, &bytes).map_err(IntoResponse::into_response)?;
    let txid = tx.txid();
    // Decoding is a copy; admission (signature verification above all)
    // goes through the node's admission pipeline, whose verifier threads
    // share the mempool's locks among many submissions (ADR 0046). A full
    // pipeline answers as the full work queue does.
    let txid = node
        .submit_queued(tx)
        .await
        .map_err(|e| admit_error(in_chain(&node, &txid, e)))?;
    Ok(Json(BroadcastResponse {
        txid: txid.to_string(),
    }))
}

/// The transaction a broadcast request carries: raw bytes, or hex in JSON.
fn broadcast_body(headers: &HeaderMap, bytes: &[u8]) -> Result<Transaction, ApiError> {
    let hex_bytes;
    let raw: &[u8] = match body_kind(headers)? {
        BodyKind::Raw => bytes,
        BodyKind::Json => {
            let req: BroadcastRequest = serde_json::from_slice(bytes).map_err(|e| {
                ApiError::bad_request("bad-json", format!("expected {{\"tx\": \"<hex>\"}}: {e}"))
            })?;
            hex_bytes = hex::decode(req.tx.trim_ascii())
                .map_err(|e| ApiError::bad_request("bad-hex", e.to_string()))?;
            &hex_bytes
        }
    };
    Transaction::decode_all(raw).map_err(|e| ApiError::bad_request("malformed", e.to_string()))
}

/// The answer for a verdict of the admission pipeline: the mempool's
/// refusal as always, the work queue's 503 when the pipeline is full, 500
/// for a contained internal error, 503 when the pipeline cannot run.
/// A failed admission, or a transaction found already in the chain.
enum AdmitOutcome {
    Failed(AdmitError),
    InChain(u64),
}

/// Why a broadcast failed, once more precisely: a transaction refused
/// because it is itself in the chain (broadcast again: its inputs are
/// spent, its authority change already scheduled, …) is "already in the
/// chain", as Bitcoin Core's -27. The chain is looked up only for a
/// refusal, and the mempool's own answers (already known, a conflict)
/// stand.
fn in_chain(node: &Node, txid: &Hash, e: AdmitError) -> AdmitOutcome {
    match &e {
        AdmitError::Rejected(MempoolError::AlreadyKnown(_) | MempoolError::Conflict { .. }) => {
            AdmitOutcome::Failed(e)
        }
        AdmitError::Rejected(_) => match confirmed_height(node, txid) {
            Some(height) => AdmitOutcome::InChain(height),
            None => AdmitOutcome::Failed(e),
        },
        _ => AdmitOutcome::Failed(e),
    }
}

/// The height of the block holding `txid`, if the chain has it (and the
/// transaction index is kept).
fn confirmed_height(node: &Node, txid: &Hash) -> Option<u64> {
    match node.chain.transaction(txid) {
        Ok(Some(stored)) => Some(stored.location.height),
        _ => None,
    }
}

/// The answer to submitting `txid` again once it is in the chain, if it
/// is: 409 `already-in-chain`.
pub(crate) fn already_in_chain(node: &Node, txid: &Hash) -> Option<ApiError> {
    confirmed_height(node, txid).map(|h| admit_problem(AdmitOutcome::InChain(h)))
}

fn admit_error(e: AdmitOutcome) -> Response {
    match e {
        AdmitOutcome::Failed(AdmitError::Overloaded) => overloaded(),
        e => admit_problem(e).into_response(),
    }
}

/// [`admit_error`] as a problem of its own (a batch's item): the same
/// status and code, without the `Retry-After` header of a whole answer.
fn admit_problem(e: AdmitOutcome) -> ApiError {
    let e = match e {
        AdmitOutcome::InChain(height) => {
            return ApiError::new(
                StatusCode::CONFLICT,
                "already-in-chain",
                format!("the transaction is already in the chain, at height {height}"),
            )
        }
        AdmitOutcome::Failed(e) => e,
    };
    match e {
        AdmitError::Rejected(e) => ApiError::from(e),
        AdmitError::Overloaded => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "too many transactions are waiting for admission; try again shortly",
        ),
        e @ AdmitError::Internal => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        }
        e @ (AdmitError::Unavailable(_) | AdmitError::Stopped) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            e.to_string(),
        ),
    }
}

#[utoipa::path(post, path = "/transactions/broadcast/batch", tag = "transactions",
    request_body(description = "The transactions as hex in JSON, or their canonical encodings back to back as application/octet-stream (a request without Content-Type is read as JSON); 1 to 1,000 of them",
        content((BatchBroadcastRequest = "application/json"), ("application/octet-stream"))),
    responses((status = 200, description = "One result per transaction, in the request's order: its txid if admitted, else the problem it would have been answered with alone", body = BatchBroadcastResponse),
        (status = 400, description = "Not a batch of transactions: not JSON (bad-json), not hex (bad-hex), bytes that are no transaction (malformed), none (empty-batch) or more than 1,000 (batch-too-large); the first bad one is named and nothing is submitted", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body over 4 MiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Neither application/json nor application/octet-stream", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn broadcast_batch(
    State(node): State<Arc<Node>>,
    headers: HeaderMap,
    LimitedBody(bytes): LimitedBody,
) -> Result<Json<BatchBroadcastResponse>, ApiError> {
    let txs = batch_body(&headers, &bytes)?;
    let txids: Vec<Hash> = txs.iter().map(Transaction::txid).collect();
    let verdicts = submit_batch(&node, txs).await;
    let accepted = verdicts.iter().filter(|v| v.is_ok()).count();
    let results = verdicts
        .into_iter()
        .zip(&txids)
        .map(|(v, txid)| match v.map_err(|e| in_chain(&node, txid, e)) {
            Ok(txid) => BatchResult {
                txid: Some(txid.to_string()),
                error: None,
            },
            Err(e) => BatchResult {
                txid: None,
                error: Some(admit_problem(e).problem()),
            },
        })
        .collect();
    Ok(Json(BatchBroadcastResponse { accepted, results }))
}

fn too_many() -> ApiError {
    ApiError::bad_request(
        "batch-too-large",
        format!("a batch holds at most {MAX_BATCH_TXS} transactions"),
    )
}

/// The transactions a batch request carries, all well-formed, 1 to
/// [`MAX_BATCH_TXS`] of them.
fn batch_body(headers: &HeaderMap, bytes: &[u8]) -> Result<Vec<Transaction>, ApiError> {
    let malformed = |i: usize, e: &dyn std::fmt::Display| {
        ApiError::bad_request("malformed", format!("transaction {i}: {e}"))
    };
    let txs = match body_kind(headers)? {
        BodyKind::Raw => {
            let mut r = Reader::new(bytes);
            let mut txs = Vec::new();
            while r.remaining() > 0 {
                if txs.len() == MAX_BATCH_TXS {
                    return Err(too_many());
                }
                txs.push(Transaction::decode(&mut r).map_err(|e| malformed(txs.len(), &e))?);
            }
            txs
        }
        BodyKind::Json => {
            let req: BatchBroadcastRequest = serde_json::from_slice(bytes).map_err(|e| {
                ApiError::bad_request(
                    "bad-json",
                    format!("expected {{\"txs\": [\"<hex>\", …]}}: {e}"),
                )
            })?;
            if req.txs.len() > MAX_BATCH_TXS {
                return Err(too_many());
            }
            req.txs
                .iter()
                .enumerate()
                .map(|(i, h)| {
                    let raw = hex::decode(h.trim_ascii()).map_err(|e| {
                        ApiError::bad_request("bad-hex", format!("transaction {i}: {e}"))
                    })?;
                    Transaction::decode_all(&raw).map_err(|e| malformed(i, &e))
                })
                .collect::<Result<Vec<_>, _>>()?
        }
    };
    if txs.is_empty() {
        return Err(ApiError::bad_request(
            "empty-batch",
            "a batch holds at least one transaction",
        ));
    }
    Ok(txs)
}

/// Whether two of `txs` spend the same output.
fn spends_twice(txs: &[Transaction]) -> bool {
    let mut seen: HashSet<&OutPoint> = HashSet::new();
    txs.iter()
        .flat_map(|t| &t.inputs)
        .any(|input| !seen.insert(input))
}

/// Whether the verdict is a refusal for an input that is not there (yet).
fn missing_input(v: &Result<Hash, AdmitError>) -> bool {
    matches!(v, Err(AdmitError::Rejected(MempoolError::Invalid(e))) if e.class() == ErrorClass::MissingInputs)
}

/// Submits `txs` through the admission pipeline, as the module says: the
/// verdicts in `txs`' order.
async fn submit_batch(node: &Arc<Node>, txs: Vec<Transaction>) -> Vec<Result<Hash, AdmitError>> {
    let window = if spends_twice(&txs) { 1 } else { BATCH_WINDOW };
    let mut verdicts: Vec<Result<Hash, AdmitError>> = stream::iter(txs.iter().cloned())
        .map(|tx| node.submit_queued(tx))
        .buffered(window)
        .collect()
        .await;
    // A child checked before its parent was in the pool: try again in
    // order, as long as a pass admits something.
    loop {
        let mut progress = false;
        for (i, tx) in txs.iter().enumerate() {
            if missing_input(&verdicts[i]) {
                verdicts[i] = node.submit_queued(tx.clone()).await;
                progress |= verdicts[i].is_ok();
            }
        }
        if !progress {
            return verdicts;
        }
    }
}
