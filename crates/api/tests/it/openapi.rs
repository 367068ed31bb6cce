//! The served OpenAPI document lists exactly the routes the router serves,
//! and responses of a sample of routes validate against it.

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use luminex_api::router;
use luminex_ledger::testkit::lock_of;
use luminex_primitives::Amount;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::support::{call, memory_node};

pub(crate) async fn get(node: &std::sync::Arc<luminex_service::Node>, uri: &str) -> (u16, Value) {
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
    let src = std::fs::read_to_string(crate::support::manifest_dir().join("src/lib.rs")).unwrap();
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
            let (s, v) = get(&node, path).await;
            // The staking and consensus routes' own 404 on a chain
            // without staking or a validator set.
            assert!(
                s != 404 || v["code"] == "no-staking" || v["code"] == "no-validators",
                "{path}"
            );
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
    let tx = crate::support::dev_payment(&node, 1);
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
        ("/blocks", "/blocks?limit=2".to_string(), 200),
        ("/search", "/search?q=1".to_string(), 200),
        ("/search", format!("/search?q={}", tx.txid()), 200),
        ("/search", format!("/search?q={a}"), 200),
        ("/stats", "/stats".to_string(), 200),
        (
            "/transactions/estimate-fee",
            "/transactions/estimate-fee?blocks=6".to_string(),
            200,
        ),
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
    let k0_address = node.spec.address(lock_of(&k0)).to_string();
    let (s, v, _) = request(
        &node,
        "POST",
        "/transactions/create",
        Some(json!({ "from": k0_address, "to": a, "amount": "1.5" })),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    validate(&doc, "/transactions/create", "post", 200, &v);
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

pub(crate) async fn request(
    node: &std::sync::Arc<luminex_service::Node>,
    method: &str,
    uri: &str,
    body: Option<Value>,
) -> (u16, Value, String) {
    let content_type = body.as_ref().map(|_| "application/json");
    let body = body.map_or_else(Vec::new, |b| b.to_string().into_bytes());
    let (status, json, ct) = call(node, method, uri, content_type, body).await;
    (status.as_u16(), json, ct)
}

/// The schema of parameter `name` of `GET path`.
fn param_schema(doc: &Value, path: &str, name: &str) -> Value {
    doc["paths"][path]["get"]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{path} has no parameters"))
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{path} has no parameter {name}"))["schema"]
        .clone()
}

fn valid(schema: &Value, value: &Value) -> bool {
    jsonschema::validator_for(schema).unwrap().is_valid(value)
}

/// schemathesis found `/blocks?from=9223372036854775808` answered 200: the
/// document says int64, so the server refuses heights past `i64::MAX`
/// wherever a request names one.
#[tokio::test]
async fn heights_past_int64_are_refused_as_the_document_says() {
    let node = memory_node();
    let (_, doc, _) = request(&node, "GET", "/openapi.json", None).await;
    let max = luminex_api::MAX_HEIGHT;
    assert_eq!(max, i64::MAX as u64);
    for (path, name) in [
        ("/blocks", "from"),
        ("/address/{address}/transactions", "from_height"),
        ("/address/{address}/transactions", "to_height"),
    ] {
        let schema = param_schema(&doc, path, name);
        assert_eq!(schema["format"], "int64", "{path} {name}");
        assert_eq!(schema["maximum"], json!(max), "{path} {name}");
    }
    let a = node
        .spec
        .address(lock_of(&node.spec.dev_key(0).unwrap()))
        .to_string();
    for (uri, expected) in [
        (format!("/blocks?from={max}"), 200),
        (format!("/blocks?from={}", max + 1), 400),
        (format!("/blocks?from={}", u64::MAX), 400),
        (
            format!("/address/{a}/transactions?from_height={}", max + 1),
            400,
        ),
        (
            format!("/address/{a}/transactions?to_height={}", max + 1),
            400,
        ),
        (format!("/address/{a}/transactions?to_height={max}"), 200),
    ] {
        let (s, v, _) = request(&node, "GET", &uri, None).await;
        assert_eq!(s, expected, "{uri}: {v}");
        if s == 400 {
            assert_eq!(v["code"], "bad-height", "{uri}");
        }
    }
    let body = |expiry: u64| json!({ "from": a, "to": a, "amount": 1, "expiry_height": expiry });
    let (s, v, _) = request(&node, "POST", "/transactions/create", Some(body(max + 1))).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("bad-height")), "{v}");
    let (s, v, _) = request(&node, "POST", "/transactions/create", Some(body(max))).await;
    assert_eq!(s, 200, "{v}");
}

/// The ranges and patterns of the document are the server's: the bounds
/// are accepted, one past them refused; a real address matches its pattern
/// and is served, one of the same shape with a bad checksum matches too and
/// gets the 400 `bad-address` the document declares.
#[tokio::test]
async fn ranges_and_patterns_of_the_document_are_what_the_server_enforces() {
    let node = memory_node();
    let (_, doc, _) = request(&node, "GET", "/openapi.json", None).await;
    let a = node
        .spec
        .address(lock_of(&node.spec.dev_key(0).unwrap()))
        .to_string();
    for (path, uri, name, max) in [
        ("/blocks", "/blocks".to_string(), "limit", 500),
        (
            "/address/{address}/utxos",
            format!("/address/{a}/utxos"),
            "limit",
            100_000,
        ),
        (
            "/address/{address}/transactions",
            format!("/address/{a}/transactions"),
            "limit",
            1000,
        ),
        (
            "/transactions/estimate-fee",
            "/transactions/estimate-fee".to_string(),
            "blocks",
            1008,
        ),
    ] {
        let schema = param_schema(&doc, path, name);
        assert_eq!(
            (schema["minimum"].as_u64(), schema["maximum"].as_u64()),
            (Some(1), Some(max)),
            "{path} {name}"
        );
        for (n, expected) in [(1, 200), (max, 200), (0, 400), (max + 1, 400)] {
            let (s, v, _) = request(&node, "GET", &format!("{uri}?{name}={n}"), None).await;
            assert_eq!(s, expected, "{uri}?{name}={n}: {v}");
        }
    }
    // Addresses: the pattern is this chain's.
    let schema = param_schema(&doc, "/address/{address}/balance", "address");
    assert!(valid(&schema, &json!(a)), "{schema}");
    assert!(!valid(&schema, &json!(a.to_uppercase())));
    assert!(!valid(&schema, &json!(a.replacen("lmxdev", "lmx", 1))));
    let mut bad = a.clone().into_bytes();
    let last = bad.len() - 1;
    bad[last] = if bad[last] == b'q' { b'p' } else { b'q' };
    let bad = String::from_utf8(bad).unwrap();
    assert!(valid(&schema, &json!(bad)), "a bad checksum has the shape");
    let (s, _, _) = request(&node, "GET", &format!("/address/{a}/balance"), None).await;
    assert_eq!(s, 200);
    let (s, v, ct) = request(&node, "GET", &format!("/address/{bad}/balance"), None).await;
    assert_eq!((s, v["code"].as_str()), (400, Some("bad-address")));
    validate(&doc, "/address/{address}/balance", "get", 400, &v);
    assert_eq!(ct, "application/problem+json");
    // Transaction ids and block ids.
    let txid = param_schema(&doc, "/transactions/{txid}", "txid");
    assert!(valid(&txid, &json!("ab".repeat(32))));
    assert!(!valid(&txid, &json!("ab".repeat(31))));
    let id = param_schema(&doc, "/blocks/{id}", "id");
    for (v, ok) in [
        ("0", true),
        ("9999999999999999999", true),
        ("99999999999999999999", false),
        ("p", false),
    ] {
        assert_eq!(valid(&id, &json!(v)), ok, "{v}");
    }
    // Search: a height, hash or address with ASCII blanks around it; the
    // server trims those and nothing else.
    let q = param_schema(&doc, "/search", "q");
    for (term, ok, status) in [
        ("\u{c}0\t", true, 200),
        (a.as_str(), true, 200),
        ("\u{a0}0", false, 400),
        ("", false, 400),
    ] {
        assert_eq!(valid(&q, &json!(term)), ok, "{term:?}");
        let uri = format!("/search?q={}", url_escape(term));
        let (s, v, _) = request(&node, "GET", &uri, None).await;
        assert_eq!(s, status, "{term:?}: {v}");
    }
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every content type the server sends is declared: `/docs` is HTML, the
/// history is JSON or CSV, metrics are text or OpenMetrics; and the layers
/// in front of every route (rate limit, work queue, timeout) are declared
/// on every operation.
#[tokio::test]
async fn content_types_and_common_statuses_are_declared() {
    let node = memory_node();
    let (_, doc, _) = request(&node, "GET", "/openapi.json", None).await;
    let declared = |path: &str, method: &str, status: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"][status]["content"]
            .as_object()
            .map(|c| c.keys().cloned().collect())
            .unwrap_or_default()
    };
    let (_, _, ct) = request(&node, "GET", "/docs", None).await;
    assert!(ct.starts_with("text/html"), "{ct}");
    assert_eq!(declared("/docs", "get", "200"), ["text/html"]);
    let a = node
        .spec
        .address(lock_of(&node.spec.dev_key(0).unwrap()))
        .to_string();
    let (_, _, ct) = request(
        &node,
        "GET",
        &format!("/address/{a}/transactions?format=csv"),
        None,
    )
    .await;
    assert!(ct.starts_with("text/csv"), "{ct}");
    assert!(declared("/address/{address}/transactions", "get", "200").contains(&"text/csv".into()));
    assert_eq!(
        declared("/admin/mempool", "get", "200"),
        ["application/json", "text/html"]
    );
    assert_eq!(
        declared("/transactions/broadcast", "post", "200"),
        ["application/json"]
    );
    let body = doc["paths"]["/transactions/broadcast"]["post"]["requestBody"]["content"]
        .as_object()
        .unwrap();
    assert!(body.contains_key("application/octet-stream"));
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for status in ["408", "429", "503"] {
                assert!(
                    op["responses"].get(status).is_some(),
                    "{method} {path} does not declare {status}"
                );
            }
            // Admin routes say how they authenticate, and their refusals.
            let admin = path.starts_with("/admin/") || path.starts_with("/debug/");
            assert_eq!(op.get("security").is_some(), admin, "{method} {path}");
            if admin {
                for status in ["401", "403"] {
                    assert!(op["responses"].get(status).is_some(), "{method} {path}");
                }
            }
        }
    }
    // A multisig sender is well formed but cannot be served: 422, declared.
    assert!(doc["paths"]["/transactions/create"]["post"]["responses"]["422"].is_object());
    let create = &doc["components"]["schemas"]["CreateRequest"];
    assert_eq!(create["required"], json!(["from", "to", "amount"]));
    assert_eq!(create["additionalProperties"], json!(false));
    for (path, field) in [
        ("/admin/nodes/add", "address"),
        ("/admin/nodes/remove", "peer_id"),
    ] {
        let schema =
            &doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(schema["required"], json!([field]), "{path}");
        assert_eq!(schema["additionalProperties"], json!(false), "{path}");
    }
}

/// The decimal coin pattern of `/transactions/create` accepts exactly the
/// positive amounts the server parses.
#[test]
fn the_coin_pattern_is_the_amount_parser() {
    let schema = json!({ "type": "string", "pattern": luminex_api::create_tx::COINS_PATTERN });
    for s in [
        "1",
        "0.00000001",
        "000.5",
        "12.5",
        "9999999999.99999999",
        "10000000000",
        "10000000000.00000000",
        "0,5",
        "0",
        "0.0",
        "00.00000000",
        "1.",
        ".5",
        "1.000000001",
        "10000000000.00000001",
        "10000000001",
        "-1",
        " 1",
    ] {
        let parsed = s.parse::<Amount>().is_ok_and(|a| a != Amount::ZERO);
        assert_eq!(valid(&schema, &json!(s)), parsed, "{s:?}");
    }
}

/// schemathesis sent `"amount": 487233504.0`, an integer to JSON Schema,
/// and got a 400: integers are read from their text, however written, and
/// never rounded.
#[tokio::test]
async fn json_integers_are_whole_numbers_however_written() {
    use luminex_api::create_tx::json_integer;
    for (text, value) in [
        ("5", Some(5)),
        ("5.0", Some(5)),
        ("5.000", Some(5)),
        ("5e2", Some(500)),
        ("5E+2", Some(500)),
        ("500e-2", Some(5)),
        ("0.5e1", Some(5)),
        ("-0", Some(0)),
        ("0.0e5", Some(0)),
        ("18446744073709551615", Some(u64::MAX)),
        ("18446744073709551616", None),
        ("999999999999999999.0", Some(999_999_999_999_999_999)),
        ("1e30", None),
        ("1e-1", None),
        ("5.5", None),
        ("-5", None),
        ("1e999999999999999999999", None),
    ] {
        assert_eq!(json_integer(text), value, "{text}");
    }
    let node = memory_node();
    let a = node
        .spec
        .address(lock_of(&node.spec.dev_key(0).unwrap()))
        .to_string();
    for (amount, fee_rate, expected) in [
        ("100000000.0", "1.0", 200),
        ("1e8", "1e0", 200),
        ("100000000", "null", 200),
        ("1.5", "1", 400),
        ("100000000", "1.5", 400),
    ] {
        let body =
            format!(r#"{{"from":"{a}","to":"{a}","amount":{amount},"fee_rate":{fee_rate}}}"#);
        let resp = router(node.clone())
            .oneshot(
                Request::builder()
                    .method("POST")
                    .uri("/transactions/create")
                    .header("content-type", "application/json")
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), expected, "{amount} {fee_rate}");
    }
}

/// Every route that reads a body takes up to 4 MiB and refuses more with
/// the declared 413 problem — the routes reading JSON bodies answered
/// axum's plain-text 413 past 2 MiB.
#[tokio::test]
async fn bodies_up_to_4_mib_are_read_and_longer_ones_are_a_413_problem() {
    let node = memory_node();
    let (_, doc, _) = request(&node, "GET", "/openapi.json", None).await;
    for (path, field, under) in [
        ("/pst/inspect", "pst", 400),
        ("/pst/finalize", "pst", 400),
        ("/pst/broadcast", "pst", 400),
        ("/transactions/broadcast", "tx", 400),
        ("/transactions/create", "data", 400),
    ] {
        assert!(
            doc["paths"][path]["post"]["responses"]["413"].is_object(),
            "{path}"
        );
        for (len, expected) in [(3 << 20, under), (5 << 20, 413)] {
            let body = json!({ field: "ab".repeat(len / 2) });
            let (s, v, ct) = request(&node, "POST", path, Some(body)).await;
            assert_eq!(s, expected, "{path} with {len} bytes: {v}");
            assert_eq!(ct, "application/problem+json", "{path}");
            if s == 413 {
                assert_eq!(v["code"], "body-too-large");
            }
        }
    }
}

/// A request that outlives the server's timeout (here a body that never
/// ends) is a 408 with a problem body, as the document says, not an empty
/// answer.
#[tokio::test]
async fn a_request_past_the_timeout_is_a_408_problem() {
    let node = memory_node();
    let (_, doc) = get(&node, "/openapi.json").await;
    let opts = luminex_api::ApiOptions {
        timeout: std::time::Duration::from_millis(200),
        ..Default::default()
    };
    let never = futures_util::stream::pending::<Result<axum::body::Bytes, std::io::Error>>();
    let resp = luminex_api::router_with(node, opts)
        .oneshot(
            Request::post("/transactions/broadcast")
                .header("content-type", "application/json")
                .body(Body::from_stream(never))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 408);
    assert_eq!(resp.headers()["content-type"], "application/problem+json");
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["code"], "timeout", "{v}");
    assert!(v["detail"].as_str().unwrap().contains("0.2 s"), "{v}");
    validate(&doc, "/transactions/broadcast", "post", 408, &v);
}

/// `/docs` runs under a policy that allows no inline script or style:
/// the page loads its script and style sheet from the node (`/docs.js`,
/// `/docs.css`, each with its content type and the same policy) and
/// carries neither inline.
#[tokio::test]
async fn the_docs_page_allows_no_inline_code() {
    let node = memory_node();
    let mut bodies = Vec::new();
    for (path, ct) in [
        ("/docs", "text/html"),
        ("/docs.js", "text/javascript"),
        ("/docs.css", "text/css"),
    ] {
        let resp = router(node.clone())
            .oneshot(Request::builder().uri(path).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{path}");
        let h = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert!(
            h("content-type").starts_with(ct),
            "{path}: {}",
            h("content-type")
        );
        let csp = h("content-security-policy");
        assert_eq!(csp, luminex_api::openapi::DOCS_CSP, "{path}");
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe"),
            "{csp}"
        );
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        let bytes = resp.into_body().collect().await.unwrap().to_bytes();
        bodies.push(String::from_utf8(bytes.to_vec()).unwrap());
    }
    let html = &bodies[0];
    assert!(
        html.contains(r#"<script src="docs.js"></script>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"<link rel="stylesheet" href="docs.css">"#),
        "{html}"
    );
    assert_eq!(
        html.matches("<script").count(),
        1,
        "one script, from a file"
    );
    assert!(
        !html.contains("<style") && !html.contains("style="),
        "{html}"
    );
    for handler in ["onclick=", "onload=", "onerror=", "javascript:"] {
        assert!(!html.contains(handler), "{handler} in {html}");
    }
    assert!(bodies[1].contains("fetch('openapi.json')"));
}
