//! Helpers: an in-process node, and a request to its router.

pub use luminex_service::testkit::{memory_node, memory_node_for};

use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

/// This crate's directory: the one cargo gives the test at run time, so a
/// build shared between two checkouts reads the files of the checkout
/// being tested (the compile-time value names whichever checkout built
/// it); the compile-time one when run outside cargo.
pub fn manifest_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

pub use luminex_service::testkit::dev_payment;

/// Sends one request to a fresh router of `node`: its status, its body as
/// JSON (`Null` when it is not JSON) and its content type.
pub async fn call(
    node: &std::sync::Arc<luminex_service::Node>,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (axum::http::StatusCode, Value, String) {
    let mut req = axum::http::Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = luminex_api::router(node.clone())
        .oneshot(req.body(axum::body::Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json, ct)
}
