//! Partially signed transactions over REST (`docs/pst.md`): inspect a
//! container against the node's chain, combine the signatures of several,
//! finalize one into a signed transaction, and broadcast it. The node holds
//! no keys: signing stays with the wallets (`luminex wallet pst sign`).
//!
//! Containers travel as hex in JSON (`{"pst": "<hex>"}`), as the CLI writes
//! them. Every refusal is a problem document whose `code` names the
//! container error (`pst-…`); a bad container never changes the node.

#[allow(unused_imports)] // used inside #[utoipa::path] attributes
use crate::types::{BroadcastResponse, Problem};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use luminex_primitives::Encode;
use luminex_service::Node;
use luminex_wallet::pst::{InputPolicy, PartialTx, PstError};
use serde::{Deserialize, Serialize};

use crate::{ApiError, JsonBody};

/// A request carrying one container.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PstRequest {
    /// The container, hex (as `luminex wallet pst` writes it).
    #[schema(pattern = "^[ \\t\\n\\f\\r]*(?:[0-9a-fA-F]{2})+[ \\t\\n\\f\\r]*$")]
    pub pst: String,
}

/// A request carrying containers of one transaction to merge.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PstCombineRequest {
    /// 2 to 255 containers, hex.
    // The served document gives each item the pattern of `PstRequest::pst`.
    #[schema(min_items = 2, max_items = 255)]
    pub psts: Vec<String>,
}

/// One input of a container, checked against the chain.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PstInputJson {
    /// Transaction id of the spent output.
    pub txid: String,
    /// Its output index.
    pub vout: u32,
    /// Amount the container says the output holds, base units.
    pub amount: u64,
    /// The same in coins.
    pub amount_coins: String,
    /// Address the container says it pays.
    pub address: String,
    /// `key`, or `multisig`.
    pub policy: String,
    /// Keys that may sign (1 for a key).
    pub keys: usize,
    /// Signatures needed.
    pub threshold: usize,
    /// Signatures present, by key position in the policy.
    pub signed_by: Vec<u8>,
    /// Whether the node knows the spent output and it is as claimed
    /// (`null`: the node does not know the output).
    pub matches_chain: Option<bool>,
}

/// One output of the transaction.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PstOutputJson {
    /// Base units.
    pub amount: u64,
    /// The same in coins.
    pub amount_coins: String,
    /// Address paid.
    pub address: String,
}

/// A container, as a signer would be shown it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PstJson {
    /// The container, hex (after combining, the merged one).
    pub pst: String,
    /// Id of the transaction it will make.
    pub txid: String,
    /// The inputs.
    pub inputs: Vec<PstInputJson>,
    /// The outputs.
    pub outputs: Vec<PstOutputJson>,
    /// Fee, base units (inputs minus outputs as the container claims them).
    pub fee: u64,
    /// The same in coins.
    pub fee_coins: String,
    /// Whether every input has the signatures it needs.
    pub complete: bool,
    /// What the transaction does, in words (as `pst inspect` prints).
    pub description: String,
}

/// A finalized transaction.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FinalizedJson {
    /// The signed transaction, hex (ready for `/transactions/broadcast`).
    pub tx: String,
    /// Its id.
    pub txid: String,
}

/// The problem for a container error: 400 for bytes that are no container,
/// 422 for a container that is refused.
fn problem(e: PstError) -> ApiError {
    let (status, code) = match &e {
        PstError::Magic | PstError::Version(_) | PstError::Decode(_) => {
            (StatusCode::BAD_REQUEST, "bad-pst")
        }
        PstError::WrongChain => (StatusCode::UNPROCESSABLE_ENTITY, "pst-wrong-chain"),
        PstError::SpentMismatch { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "pst-spent-mismatch"),
        PstError::DifferentTransaction => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "pst-different-transaction",
        ),
        PstError::BadSignature { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "pst-bad-signature"),
        PstError::Incomplete { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "pst-incomplete"),
        _ => (StatusCode::UNPROCESSABLE_ENTITY, "pst-invalid"),
    };
    ApiError::new(status, code, e.to_string())
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request("bad-json", format!("expected {shape}: {e}")))
}

/// Decodes and checks a hex container for the node's chain.
fn read(node: &Node, hex_text: &str) -> Result<PartialTx, ApiError> {
    let bytes = hex::decode(hex_text.trim_ascii())
        .map_err(|e| ApiError::bad_request("bad-hex", format!("pst must be hex: {e}")))?;
    let p = PartialTx::from_bytes(&bytes).map_err(problem)?;
    p.check(&node.spec).map_err(problem)?;
    Ok(p)
}

/// The node's view of each spent output.
fn chain_outputs(node: &Node, p: &PartialTx) -> Vec<Option<luminex_primitives::TxOut>> {
    p.tx.inputs.iter().map(|op| node.output_of(op)).collect()
}

fn view(node: &Node, p: &PartialTx) -> PstJson {
    let spec = &node.spec;
    let actual = chain_outputs(node, p);
    let inputs = p
        .tx
        .inputs
        .iter()
        .zip(&p.inputs)
        .zip(&actual)
        .map(|((op, x), chain)| {
            let (policy, keys, threshold) = match &x.policy {
                InputPolicy::Key(_) => ("key", 1, 1),
                InputPolicy::Multisig(m) => ("multisig", m.keys.len(), usize::from(m.threshold)),
            };
            PstInputJson {
                txid: op.txid.to_string(),
                vout: op.vout,
                amount: x.spent.amount.base(),
                amount_coins: x.spent.amount.to_string(),
                address: spec.address(x.spent.lock).to_string(),
                policy: policy.into(),
                keys,
                threshold,
                signed_by: x.signatures.keys().copied().collect(),
                matches_chain: chain.map(|c| c == x.spent),
            }
        })
        .collect();
    let total_in: u64 = p.inputs.iter().map(|i| i.spent.amount.base()).sum();
    let total_out: u64 = p.tx.outputs.iter().map(|o| o.amount.base()).sum();
    PstJson {
        pst: hex::encode(p.to_bytes()),
        txid: p.tx.txid().to_string(),
        inputs,
        outputs: p
            .tx
            .outputs
            .iter()
            .map(|o| PstOutputJson {
                amount: o.amount.base(),
                amount_coins: o.amount.to_string(),
                address: spec.address(o.lock).to_string(),
            })
            .collect(),
        fee: total_in.saturating_sub(total_out),
        fee_coins: crate::coins(total_in.saturating_sub(total_out)),
        complete: p.finalize(spec).is_ok(),
        description: p.describe(spec),
    }
}

/// `POST /pst/inspect`: what a container pays, who has signed, and whether
/// its claimed spent outputs are the chain's.
#[utoipa::path(post, path = "/pst/inspect", tag = "pst",
    request_body = PstRequest,
    responses((status = 200, body = PstJson), (status = 400, description = "Not hex, or not a container", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A refused container (pst-wrong-chain, pst-bad-signature, pst-invalid)", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Not application/json (unsupported-media-type)", body = Problem, content_type = "application/problem+json")))]
pub async fn inspect(
    State(node): State<Arc<Node>>,
    JsonBody(body): JsonBody,
) -> Result<Json<PstJson>, ApiError> {
    let req: PstRequest = json_body(&body, "{\"pst\": \"<hex>\"}")?;
    let p = read(&node, &req.pst)?;
    Ok(Json(view(&node, &p)))
}

/// `POST /pst/combine`: merges the signatures of containers of one
/// transaction.
#[utoipa::path(post, path = "/pst/combine", tag = "pst",
    request_body = PstCombineRequest,
    responses((status = 200, body = PstJson), (status = 400, description = "Not hex, not a container, or fewer than two", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Containers of different transactions (pst-different-transaction), or a refused one", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Not application/json (unsupported-media-type)", body = Problem, content_type = "application/problem+json")))]
pub async fn combine(
    State(node): State<Arc<Node>>,
    JsonBody(body): JsonBody,
) -> Result<Json<PstJson>, ApiError> {
    let req: PstCombineRequest = json_body(&body, "{\"psts\": [\"<hex>\", \"<hex>\", …]}")?;
    if req.psts.len() < 2 || req.psts.len() > 255 {
        return Err(ApiError::bad_request(
            "bad-pst-count",
            "psts holds 2 to 255 containers",
        ));
    }
    let mut first = read(&node, &req.psts[0])?;
    for h in &req.psts[1..] {
        first
            .combine(&node.spec, &read(&node, h)?)
            .map_err(problem)?;
    }
    Ok(Json(view(&node, &first)))
}

/// `POST /pst/finalize`: the signed transaction of a container with every
/// signature it needs.
#[utoipa::path(post, path = "/pst/finalize", tag = "pst",
    request_body = PstRequest,
    responses((status = 200, body = FinalizedJson), (status = 400, description = "Not hex, or not a container", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Too few signatures (pst-incomplete), or a refused container", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Not application/json (unsupported-media-type)", body = Problem, content_type = "application/problem+json")))]
pub async fn finalize(
    State(node): State<Arc<Node>>,
    JsonBody(body): JsonBody,
) -> Result<Json<FinalizedJson>, ApiError> {
    let req: PstRequest = json_body(&body, "{\"pst\": \"<hex>\"}")?;
    let tx = read(&node, &req.pst)?
        .finalize(&node.spec)
        .map_err(problem)?;
    Ok(Json(FinalizedJson {
        tx: hex::encode(tx.encode()),
        txid: tx.txid().to_string(),
    }))
}

/// `POST /pst/broadcast`: checks the container's spent outputs against the
/// chain, finalizes it and submits the transaction.
#[utoipa::path(post, path = "/pst/broadcast", tag = "pst",
    request_body = PstRequest,
    responses((status = 200, body = BroadcastResponse), (status = 400, description = "Not hex, or not a container", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Already known, already in the chain (already-in-chain), or a double spend", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Spent outputs not the chain's (pst-spent-mismatch), too few signatures (pst-incomplete), a refused container, or an invalid transaction", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Not application/json (unsupported-media-type)", body = Problem, content_type = "application/problem+json")))]
pub async fn broadcast(
    State(node): State<Arc<Node>>,
    JsonBody(body): JsonBody,
) -> Result<Json<BroadcastResponse>, ApiError> {
    let req: PstRequest = json_body(&body, "{\"pst\": \"<hex>\"}")?;
    let txid = crate::blocking(move || {
        let p = read(&node, &req.pst)?;
        let submitted = (|| {
            p.check_spent(&node.spec, &chain_outputs(&node, &p))
                .map_err(problem)?;
            let tx = p.finalize(&node.spec).map_err(problem)?;
            Ok::<_, ApiError>(node.submit(tx)?)
        })();
        // Broadcast again after it confirmed: its spent outputs are gone
        // from the chain, which is not the container's fault.
        submitted.map_err(|e| match e.status() {
            StatusCode::CONFLICT => e,
            _ => crate::submit::already_in_chain(&node, &p.tx.txid()).unwrap_or(e),
        })
    })
    .await?;
    Ok(Json(BroadcastResponse {
        txid: txid.to_string(),
    }))
}
