//! The explorer's pages: the dashboard, blocks, transactions, addresses and
//! the search box.

pub(crate) mod address;
mod block;
mod charts;
mod dashboard;
mod tx;
mod validators;

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use luminex_primitives::Hash;
use luminex_service::Node;
use std::sync::Arc;

use crate::i18n::{t, t_args};
use crate::PageError;

pub use address::address;
pub use block::block;
pub use charts::{charts, Summaries};
pub use dashboard::dashboard;
pub use tx::transaction;
pub use validators::validators;

/// The longest search term looked at, in characters (an address is about
/// 70 characters; the search box's `maxlength`).
const MAX_TERM: usize = 200;

/// A page's path parameter, or a page saying in words (not the
/// framework's) that the address is malformed.
pub(crate) fn path_param(p: Result<Path<String>, PathRejection>) -> Result<String, PageError> {
    p.map(|Path(s)| s)
        .map_err(|_| PageError::bad_request(crate::i18n::t("error-bad-path")))
}

/// A page's query parameters, or a page saying the query is malformed.
pub(crate) fn query(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, PageError> {
    q.map(|Query(m)| m)
        .map_err(|_| PageError::bad_request(crate::i18n::t("error-bad-query")))
}

/// A 1-based page number from `?page=` (1 when absent).
pub(crate) fn page_number(q: &HashMap<String, String>) -> Result<usize, PageError> {
    match q.get("page") {
        None => Ok(1),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
            _ => Err(PageError::bad_request(t("page-number-bad"))),
        },
    }
}

/// A hash from 64 hexadecimal characters; else a 400 whose message is the
/// catalog's `what_key` (which names the kind of hash).
pub(crate) fn parse_hash(s: &str, what_key: &str) -> Result<Hash, PageError> {
    s.parse().map_err(|_| {
        PageError::bad_request(t_args(
            what_key,
            [("term", crate::format::short_str(s).into())],
        ))
    })
}

/// How long ago `then` was, seen from `now`, in the request's language
/// ("5 min ago", "vor 5 min").
pub(crate) fn ago(now: u64, then: u64) -> String {
    t_args("ago", [("age", crate::format::age(now, then).into())])
}

/// "12 confirmations", in the request's language (with its plural rule).
pub(crate) fn confirmations(n: u64) -> String {
    t_args("confirmations", [("n", n.into())])
}

/// 404: no block at `height` yet.
pub(crate) fn no_block_at(height: u64, tip: u64) -> PageError {
    // As text: Fluent would format the numbers as floating point.
    PageError::not_found(t_args(
        "no-block-at-height",
        [
            ("height", height.to_string().into()),
            ("tip", tip.to_string().into()),
        ],
    ))
}

/// `GET /find?q=`: a height, block hash, txid or address; redirects to its
/// page. 64 hexadecimal characters are always a block hash or txid, even
/// when they are all decimal digits; the length limit counts characters.
/// A malformed term gets 400 and one that names nothing 404, each with a
/// page saying so.
pub async fn find(
    State(node): State<Arc<Node>>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Redirect, PageError> {
    let q = query(q)?;
    let term = q.get("q").map(|s| s.trim()).unwrap_or("");
    if term.is_empty() {
        return Err(PageError::bad_request(t("search-empty")));
    }
    // Characters, as the box's maxlength counts them (not UTF-8 bytes).
    let len = term.chars().count();
    if len > MAX_TERM {
        return Err(PageError::bad_request(t_args(
            "search-too-long",
            [("len", len.into()), ("max", MAX_TERM.into())],
        )));
    }
    if term.len() == 64 && term.bytes().all(|b| b.is_ascii_hexdigit()) {
        let hash = parse_hash(term, "not-hex-hash")?;
        if node.chain.header(&hash)?.is_some() {
            return Ok(Redirect::to(&format!("/block/{hash}")));
        }
        if node.chain.transaction(&hash)?.is_some() || node.mempool.read().contains(&hash) {
            return Ok(Redirect::to(&format!("/tx/{hash}")));
        }
        return Err(PageError::not_found(t_args(
            "no-block-or-tx",
            [("hash", hash.to_string().into())],
        )));
    }
    // After the hashes: 64 decimal digits are a hash or txid, not a height.
    if term.bytes().all(|b| b.is_ascii_digit()) {
        let h: u64 = term
            .parse()
            .map_err(|_| PageError::bad_request(t("height-out-of-range")))?;
        return match node.chain.hash_at(h)? {
            Some(_) => Ok(Redirect::to(&format!("/block/{h}"))),
            None => Err(no_block_at(h, node.chain.tip().height)),
        };
    }
    match node.spec.parse_address(term) {
        Ok(a) => Ok(Redirect::to(&format!("/address/{a}"))),
        Err(e) => Err(PageError::bad_request(t_args(
            "search-not-understood",
            [
                ("term", crate::format::short_str(term).into()),
                ("error", e.to_string().into()),
            ],
        ))),
    }
}
