//! The served OpenAPI document lists exactly the routes the router serves,
//! and responses of a sample of routes validate against it.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use luminex_api::router;
use luminex_ledger::testkit::{lock_of, transfer};
use luminex_primitives::{Amount, TxOut};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::support::memory_node;

async fn get(node: &std::sync::Arc<luminex_service::Node>, uri: &str) -> (u16, Value) {
    let resp = router(node.clone())
        .oneshot(Request::builder().uri(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// (path, method) of every `.route("…", method(…))` in the router's source:
/// whatever is added to the router is found here.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/lib.rs")).unwrap();
    let body = &src[src.find("pub fn router_with").unwrap()..];
    let body = &body[..body.find("\n}\n").unwrap()];
    let flat: String = body
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace("( ", "(");
    let mut out = BTreeSet::new();
    let mut rest = flat.as_str();
    while let Some(i) = rest.find(".route(\"") {
        rest = &rest[i + 8..];
        let end = rest.find('"').unwrap();
        let path = rest[..end].to_string();
        let after = rest[end + 1..].trim_start_matches([',', ' ']);
        let method = after[..after.find('(').unwrap()].to_string();
        out.insert((path, method));
        rest = &rest[end..];
    }
    assert!(out.len() > 20, "{out:?}");
    out
}

#[tokio::test]
async fn the_document_lists_every_route_the_router_serves() {
    let node = memory_node();
    let (s, doc) = get(&node, "/openapi.json").await;
    assert_eq!(s, 200);
    assert_eq!(doc["openapi"].as_str().unwrap().chars().next(), Some('3'));
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((path.clone(), method.clone()));
        }
    }
    assert_eq!(documented, routes_in_source());
    // And every documented GET route without parameters answers (not the 404 fallback).
    for (path, method) in &documented {
        if method == "get"
            && !path.contains('{')
            && !path.starts_with("/admin")
            && !path.starts_with("/debug")
            && path != "/ws"
        {
            let (s, _) = get(&node, path).await;
            assert_ne!(s, 404, "{path}");
        }
    }
    let (s, _) = get(&node, "/docs").await;
    assert_eq!(s, 200);
}

/// Validates `value` against the response schema of `path`/`method`/`status`.
pub(crate) fn validate(doc: &Value, path: &str, method: &str, status: u16, value: &Value) {
    let resp = &doc["paths"][path][method]["responses"][status.to_string()];
    let content = resp["content"]
        .as_object()
        .unwrap_or_else(|| panic!("{path} {status} has no content"));
    let schema = &content.values().next().unwrap()["schema"];
    let mut root = schema.clone();
    root["components"] = doc["components"].clone();
    let v = jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("schema of {path}: {e}"));
    if let Err(e) = v.validate(value) {
        panic!("{method} {path} {status} does not match the document: {e}\n{value}");
    }
}

#[tokio::test]
async fn sample_responses_validate_against_the_document() {
    let node = memory_node();
    let k0 = node.spec.dev_key(0).unwrap();
    let k1 = node.spec.dev_key(1).unwrap();
    let coins = node.chain.address_utxos(&lock_of(&k0), 10).unwrap();
    let tx = transfer(
        &node.spec,
        &k0,
        &coins[..1],
        vec![TxOut {
            amount: Amount::from_coins(1).unwrap(),
            lock: lock_of(&k1),
        }],
    );
    node.submit(tx.clone()).unwrap();
    node.produce_block().unwrap();
    let (_, doc) = get(&node, "/openapi.json").await;
    let a = node.spec.address(lock_of(&k1)).to_string();
    let samples = [
        ("/blocks/{id}", "/blocks/1".to_string(), 200),
        ("/blocks/{id}", "/blocks/99".to_string(), 404),
        ("/blocks/{id}", "/blocks/x".to_string(), 400),
        (
            "/transactions/{txid}",
            format!("/transactions/{}", tx.txid()),
            200,
        ),
        (
            "/address/{address}/balance",
            format!("/address/{a}/balance"),
            200,
        ),
        (
            "/address/{address}/utxos",
            format!("/address/{a}/utxos"),
            200,
        ),
        (
            "/address/{address}/transactions",
            format!("/address/{a}/transactions"),
            200,
        ),
        ("/health/block-sync", "/health/block-sync".to_string(), 200),
        (
            "/health/node-status",
            "/health/node-status".to_string(),
            200,
        ),
    ];
    for (template, uri, expected) in samples {
        let (s, v) = get(&node, &uri).await;
        assert_eq!(s, expected, "{uri}");
        validate(&doc, template, "get", s, &v);
    }
    // A response that breaks the schema is caught.
    let result = std::panic::catch_unwind(|| {
        validate(
            &doc,
            "/health/block-sync",
            "get",
            200,
            &json!({ "height": "ten" }),
        )
    });
    assert!(result.is_err(), "validation must reject a wrong response");
}
