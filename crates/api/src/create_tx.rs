//! `POST /transactions/create`: an unsigned payment for a client that holds
//! only its key. The node selects the sender's coins (confirmed, not spent by
//! a pending transaction, plus pending change), adds change and the fee, and
//! returns the transaction with the message every witness must sign. The
//! client signs it, adds one witness per input, and broadcasts.

#[allow(unused_imports)] // Problem is used inside #[utoipa::path] attributes
use crate::types::{CreatedTxJson, PlannedInputJson, Problem};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use luminex_primitives::{Amount, Encode, OutPoint, TxOut};
use luminex_wallet::{plan_payment, WalletError};
use serde::Deserialize;

use crate::{parse_address, ApiError, JsonBody};
use luminex_service::Node;

/// An amount in JSON: integer base units, or a decimal string of coins;
/// anything else is kept as written, so the handler refuses it as a bad
/// amount (not as unreadable JSON).
#[derive(Debug)]
pub(crate) enum AmountIn {
    Base(u64),
    Coins(String),
    Other(String),
}

impl<'de> Deserialize<'de> for AmountIn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        let text = raw.get();
        if text.starts_with('"') {
            return serde_json::from_str(text)
                .map(AmountIn::Coins)
                .map_err(serde::de::Error::custom);
        }
        Ok(json_integer(text).map_or_else(|| AmountIn::Other(text.to_string()), AmountIn::Base))
    }
}

/// The value of a JSON number that is a whole number in `u64` (`5`,
/// `5.0`, `5e2`, `-0`), read from its text: JSON Schema's `integer` is any
/// number without a fractional part, however written, and reading the text
/// (not an `f64`) never rounds one amount into another. `None` for a
/// fraction, a negative number, a number past `u64::MAX` or no number.
pub fn json_integer(text: &str) -> Option<u64> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    if mantissa.contains('.') && fraction.is_empty() {
        return None;
    }
    let all: String = [whole, fraction].concat();
    if all.bytes().all(|b| b == b'0') {
        return Some(0);
    }
    if negative {
        return None;
    }
    let exponent: i64 = match exponent {
        None => 0,
        Some(e) => {
            let e = e.strip_prefix('+').unwrap_or(e);
            if e.is_empty() || !digits(e.trim_start_matches('-')) {
                return None;
            }
            // Longer exponents put a non-zero number past u64 or below 1.
            e.parse().ok()?
        }
    };
    // Where the decimal point falls among `all`'s digits.
    let point = whole.len() as i64 + exponent;
    if point <= 0 {
        return None;
    }
    let point = point as usize;
    let (int_digits, rest) = if point >= all.len() {
        (all.clone() + &"0".repeat((point - all.len()).min(64)), "")
    } else {
        (all[..point].to_string(), &all[point..])
    };
    if !rest.bytes().all(|b| b == b'0') {
        return None;
    }
    int_digits.trim_start_matches('0').parse::<u64>().ok()
}

/// Reads an optional JSON integer with [`json_integer`] (`null`: none).
fn optional_integer<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let raw = Option::<Box<serde_json::value::RawValue>>::deserialize(d)?;
    match raw {
        None => Ok(None),
        Some(r) if r.get() == "null" => Ok(None),
        Some(r) => json_integer(r.get())
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("expected a whole number in 0..=2^64-1")),
    }
}

/// Body of `POST /transactions/create`: a payment to plan.
// The served document fills in what depends on the chain (address
// patterns, the minimum fee rate) and the amount's two forms
// (`crate::openapi::document`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRequest {
    /// Address paying: its coins are spent and it gets the change.
    pub from: String,
    /// Address paid.
    pub to: String,
    /// Amount paid: positive base units, or a decimal coin string
    /// (`"12.5"`, at most 8 decimals).
    #[schema(value_type = String)]
    pub(crate) amount: AmountIn,
    /// Base units per byte; default: the chain's minimum.
    #[schema(maximum = 1000000)]
    #[serde(default, deserialize_with = "optional_integer")]
    pub fee_rate: Option<u64>,
    /// Last height that may include it; default none.
    #[schema(maximum = 9223372036854775807_u64)]
    #[serde(default, deserialize_with = "optional_integer")]
    pub expiry_height: Option<u64>,
    /// Data to carry (hex, 1..=80 bytes); makes a version-2 transaction.
    #[schema(pattern = "^[ \\t\\n\\f\\r]*(?:[0-9a-fA-F]{2}){1,80}[ \\t\\n\\f\\r]*$")]
    pub data: Option<String>,
}

/// Pattern of an amount as a decimal coin string: positive, at most
/// 10,000,000,000 coins (`Amount::MAX`), at most 8 decimals.
pub const COINS_PATTERN: &str = concat!(
    "^(?:0*[1-9][0-9]{0,9}(?:\\.[0-9]{1,8})?",
    "|0*10000000000(?:\\.0{1,8})?",
    "|0+\\.(?:[1-9][0-9]{0,7}|0[1-9][0-9]{0,6}|00[1-9][0-9]{0,5}|000[1-9][0-9]{0,4}",
    "|0000[1-9][0-9]{0,3}|00000[1-9][0-9]{0,2}|000000[1-9][0-9]?|0000000[1-9]))$"
);

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
    request_body(content = CreateRequest, description = "from, to, amount, fee_rate?, expiry_height?, data? (hex, 1..=80 bytes)"),
    responses((status = 200, body = CreatedTxJson), (status = 400, description = "Malformed request (bad-json, bad-fee-rate, bad-data, bad-height), an amount that is not a whole number of base units above 0 or a decimal coin string (bad-amount), or an address of the right shape with a bad checksum or payload (bad-address)", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not enough spendable coins (insufficient-funds), an amount, or an amount and fee, past the largest amount (bad-amount), or a multisig sender (multisig-from), or, where accounts must be created, a recipient no account has created (uncreated-account)", body = Problem, content_type = "application/problem+json"), (status = 415, description = "Not application/json (unsupported-media-type)", body = Problem, content_type = "application/problem+json")))]
pub async fn create(
    State(node): State<Arc<Node>>,
    JsonBody(body): JsonBody,
) -> Result<Json<CreatedTxJson>, ApiError> {
    let req: CreateRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::bad_request(
            "bad-json",
            format!(
                "expected {{\"from\", \"to\", \"amount\"[, \"fee_rate\", \"expiry_height\", \"data\"]}}: {e}"
            ),
        )
    })?;
    let from = parse_address(&node, &req.from)?;
    let to = parse_address(&node, &req.to)?;
    let malformed = |what: &str| {
        ApiError::bad_request(
            "bad-amount",
            format!("amount {what}: it is a whole number of base units above 0, or a decimal coin string"),
        )
    };
    // Well formed but more than any amount can be: as a payment too large
    // to carry (below).
    let too_large = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad-amount",
            format!("amount out of range: at most {} coins", Amount::MAX),
        )
    };
    let amount = match req.amount {
        AmountIn::Base(b) => Amount::from_base(b).ok_or_else(too_large)?,
        AmountIn::Coins(s) => s.parse::<Amount>().map_err(|e| match e {
            luminex_primitives::AmountError::OutOfRange => too_large(),
            e => malformed(&format!("\"{s}\": {e}")),
        })?,
        // A whole number past u64 (`99999999999999999999`, `1e30`) is
        // too large; a fraction, a negative number or no number is
        // malformed.
        AmountIn::Other(text) => match serde_json::from_str::<f64>(&text) {
            Ok(x) if x >= 1.0 && x.fract() == 0.0 => return Err(too_large()),
            _ => return Err(malformed(&text)),
        },
    };
    if amount == Amount::ZERO {
        return Err(malformed("0"));
    }
    let fee_rate = req.fee_rate.unwrap_or(node.spec.min_fee_rate);
    let max = luminex_wallet::MAX_FEE_RATE;
    if fee_rate < node.spec.min_fee_rate || fee_rate > max {
        return Err(ApiError::bad_request(
            "bad-fee-rate",
            format!("fee_rate must be {}..={max}", node.spec.min_fee_rate),
        ));
    }
    if req.expiry_height.is_some_and(|h| h > crate::MAX_HEIGHT) {
        return Err(ApiError::bad_request(
            "bad-height",
            format!("expiry_height must be 0..={}", crate::MAX_HEIGHT),
        ));
    }
    // An expiry the next block is already past: a transaction that could
    // never be broadcast (0 means none).
    let next = node.chain.tip().height + 1;
    if let Some(expiry) = req.expiry_height.filter(|h| *h != 0 && next > *h) {
        return Err(ApiError::from(luminex_mempool::MempoolError::Invalid(
            luminex_ledger::TxError::Expired {
                expiry,
                height: next,
            },
        )));
    }
    let data = match &req.data {
        None => Vec::new(),
        Some(h) => {
            let d = hex::decode(h.trim_ascii())
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
    // A multisig coin needs keys and Merkle paths from several signers: it
    // is spent through a partially signed transaction, not a bare message.
    let Some(scheme) = from.lock.scheme() else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "multisig-from",
            "a multisig address is spent through a partially signed transaction",
        ));
    };
    // Where accounts must be created, a payment to an address no account
    // (nor a pool transaction) created is refused now, as broadcasting it
    // would be: not handed out to be signed first.
    if !node.mempool.read().can_receive(&to.lock) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "uncreated-account",
            format!(
                "{} is not a created account on {}: an existing account creates it first with a create-account transaction",
                req.to.trim(),
                node.spec.name
            ),
        ));
    }
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
        // The amount and fee past the largest amount: well formed, but
        // no payment can carry it.
        other => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad-amount",
            other.to_string(),
        ),
    })?;
    if let Some(h) = req.expiry_height {
        plan.tx.expiry_height = h;
    }
    Ok(Json(CreatedTxJson {
        tx: hex::encode(plan.tx.encode()),
        txid: plan.tx.txid().to_string(),
        fee: plan.fee.base(),
        fee_coins: plan.fee.to_string(),
        inputs: plan
            .tx
            .inputs
            .iter()
            .zip(&plan.spent)
            .map(|(i, o)| PlannedInputJson {
                txid: i.txid.to_string(),
                vout: i.vout,
                amount: o.amount.base(),
                amount_coins: o.amount.to_string(),
            })
            .collect(),
        signature_message: hex::encode(plan.signature_message().0),
        witnesses_needed: plan.tx.inputs.len(),
        scheme: scheme.name().into(),
    }))
}
