//! The explorer's pages: the dashboard, blocks, transactions, addresses and
//! the search box.

mod address;
mod block;
mod dashboard;
mod tx;

use std::collections::HashMap;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::Redirect;
use luminex_primitives::Hash;
use luminex_service::Node;
use std::sync::Arc;

use crate::PageError;

pub use address::address;
pub use block::block;
pub use dashboard::dashboard;
pub use tx::transaction;

/// The longest search term looked at (an address is about 70 characters).
const MAX_TERM: usize = 200;

pub(crate) fn path_param(p: Result<Path<String>, PathRejection>) -> Result<String, PageError> {
    p.map(|Path(s)| s)
        .map_err(|e| PageError::bad_request(e.body_text()))
}

pub(crate) fn query(
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<HashMap<String, String>, PageError> {
    q.map(|Query(m)| m)
        .map_err(|e| PageError::bad_request(e.body_text()))
}

/// A 1-based page number from `?page=` (1 when absent).
pub(crate) fn page_number(q: &HashMap<String, String>) -> Result<usize, PageError> {
    match q.get("page") {
        None => Ok(1),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
            _ => Err(PageError::bad_request(
                "the page number must be a whole number from 1",
            )),
        },
    }
}

pub(crate) fn parse_hash(s: &str, what: &str) -> Result<Hash, PageError> {
    s.parse().map_err(|_| {
        PageError::bad_request(format!(
            "“{}” is not a {what}: expected 64 hexadecimal characters",
            crate::format::short_str(s)
        ))
    })
}

/// `GET /find?q=`: a height, block hash, txid or address; redirects to its
/// page. A malformed term gets 400 and one that names nothing 404, each with
/// a page saying so.
pub async fn find(
    State(node): State<Arc<Node>>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Redirect, PageError> {
    let q = query(q)?;
    let term = q.get("q").map(|s| s.trim()).unwrap_or("");
    if term.is_empty() {
        return Err(PageError::bad_request(
            "type a block height, a block hash, a transaction id or an address",
        ));
    }
    if term.len() > MAX_TERM {
        return Err(PageError::bad_request(format!(
            "the search is too long ({} characters; at most {MAX_TERM})",
            term.len()
        )));
    }
    if term.bytes().all(|b| b.is_ascii_digit()) {
        let h: u64 = term
            .parse()
            .map_err(|_| PageError::bad_request("that height is out of range"))?;
        return match node.chain.hash_at(h)? {
            Some(_) => Ok(Redirect::to(&format!("/block/{h}"))),
            None => Err(PageError::not_found(format!(
                "there is no block at height {h} yet (the tip is at {})",
                node.chain.tip().height
            ))),
        };
    }
    if term.len() == 64 && term.bytes().all(|b| b.is_ascii_hexdigit()) {
        let hash = parse_hash(term, "hash")?;
        if node.chain.header(&hash)?.is_some() {
            return Ok(Redirect::to(&format!("/block/{hash}")));
        }
        if node.chain.transaction(&hash)?.is_some() || node.mempool.read().contains(&hash) {
            return Ok(Redirect::to(&format!("/tx/{hash}")));
        }
        return Err(PageError::not_found(format!(
            "no block or transaction has the hash {hash}"
        )));
    }
    match node.spec.parse_address(term) {
        Ok(a) => Ok(Redirect::to(&format!("/address/{a}"))),
        Err(e) => Err(PageError::bad_request(format!(
            "“{}” is not a height, a 64-character hash or an address of this chain ({e})",
            crate::format::short_str(term)
        ))),
    }
}
