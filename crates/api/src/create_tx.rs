//! `POST /transactions/create`: an unsigned payment for a client that holds
//! only its key. The node selects the sender's coins (confirmed, not spent by
//! a pending transaction, plus pending change), adds change and the fee, and
//! returns the transaction with the message every witness must sign. The
//! client signs it, adds one witness per input, and broadcasts.

#[allow(unused_imports)] // used inside #[utoipa::path] attributes
use crate::types::Problem;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use luminex_primitives::{Amount, Encode, OutPoint, TxOut};
use luminex_wallet::{plan_payment, WalletError};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{parse_address, ApiError};
use luminex_service::Node;

/// An amount in JSON: integer base units, or a decimal string of coins.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum AmountIn {
    Base(u64),
    Coins(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    from: String,
    to: String,
    amount: AmountIn,
    /// Base units per byte; default: the chain's minimum.
    fee_rate: Option<u64>,
    /// Last height that may include it; default none.
    expiry_height: Option<u64>,
    /// Data to carry (hex, 1..=80 bytes); makes a version-2 transaction.
    data: Option<String>,
}

/// The coins of `lock` a new payment may spend.
pub fn spendable_coins(
    node: &Node,
    lock: &luminex_primitives::Lock,
) -> Result<Vec<(OutPoint, TxOut)>, ApiError> {
    let next_height = node.chain.tip().height + 1;
    let maturity = node.spec.coinbase_maturity;
    let confirmed = node.chain.address_utxos(lock, 100_000)?;
    let pool = node.mempool.read();
    let mut coins: Vec<(OutPoint, TxOut)> = confirmed
        .into_iter()
        .filter(|(op, c)| {
            pool.spender(op).is_none() && (!c.is_coinbase || c.height + maturity <= next_height)
        })
        .map(|(op, c)| (op, c.output))
        .collect();
    coins.extend(
        pool.unspent_outputs_to(lock)
            .into_iter()
            .map(|(op, amount)| {
                (
                    op,
                    TxOut {
                        amount,
                        lock: *lock,
                    },
                )
            }),
    );
    Ok(coins)
}

/// The handler.
#[utoipa::path(post, path = "/transactions/create", tag = "transactions",
    request_body(content = serde_json::Value, description = "from, to, amount, fee_rate?, expiry_height?, data? (hex, 1..=80 bytes)"),
    responses((status = 200, body = serde_json::Value), (status = 400, description = "Malformed request", body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem)))]
pub async fn create(State(node): State<Arc<Node>>, body: Bytes) -> Result<Json<Value>, ApiError> {
    let req: CreateRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "bad-json",
            format!(
                "expected {{\"from\", \"to\", \"amount\"[, \"fee_rate\", \"expiry_height\", \"data\"]}}: {e}"
            ),
        )
    })?;
    let from = parse_address(&node, &req.from)?;
    // A multisig coin needs keys and Merkle paths from several signers: it
    // is spent through a partially signed transaction, not a bare message.
    let Some(scheme) = from.lock.scheme() else {
        return Err(ApiError::bad_request(
            "multisig-from",
            "a multisig address is spent through a partially signed transaction",
        ));
    };
    let to = parse_address(&node, &req.to)?;
    let bad_amount = || {
        ApiError::bad_request(
            "bad-amount",
            "amount is positive base units or a decimal coin string",
        )
    };
    let amount = match req.amount {
        AmountIn::Base(b) => Amount::from_base(b).ok_or_else(bad_amount)?,
        AmountIn::Coins(s) => s.parse::<Amount>().map_err(|_| bad_amount())?,
    };
    if amount == Amount::ZERO {
        return Err(bad_amount());
    }
    let fee_rate = req.fee_rate.unwrap_or(node.spec.min_fee_rate);
    if fee_rate < node.spec.min_fee_rate || fee_rate > 1_000_000 {
        return Err(ApiError::bad_request(
            "bad-fee-rate",
            format!("fee_rate must be {}..=1000000", node.spec.min_fee_rate),
        ));
    }
    let data = match &req.data {
        None => Vec::new(),
        Some(h) => {
            let d = hex::decode(h.trim())
                .map_err(|e| ApiError::bad_request("bad-data", format!("data must be hex: {e}")))?;
            let max = luminex_primitives::tx::MAX_TX_DATA as usize;
            if d.is_empty() || d.len() > max {
                return Err(ApiError::bad_request(
                    "bad-data",
                    format!("data must be 1..={max} bytes"),
                ));
            }
            d
        }
    };
    let coins = spendable_coins(&node, &from.lock)?;
    let mut plan = plan_payment(
        &node.spec,
        &coins,
        |l| *l == from.lock,
        to.lock,
        amount,
        from.lock,
        fee_rate,
        data,
    )
    .map_err(|e| match e {
        WalletError::InsufficientFunds { .. } => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "insufficient-funds",
            e.to_string(),
        ),
        other => ApiError::bad_request("bad-amount", other.to_string()),
    })?;
    if let Some(h) = req.expiry_height {
        plan.tx.expiry_height = h;
    }
    Ok(Json(json!({
        "tx": hex::encode(plan.tx.encode()),
        "txid": plan.tx.txid().to_string(),
        "fee": plan.fee.base(),
        "inputs": plan.tx.inputs.iter().zip(&plan.spent).map(|(i, o)| json!({
            "txid": i.txid.to_string(), "vout": i.vout, "amount": o.amount.base(),
        })).collect::<Vec<_>>(),
        "signature_message": hex::encode(plan.signature_message().0),
        "witnesses_needed": plan.tx.inputs.len(),
        "scheme": scheme.name(),
    })))
}
