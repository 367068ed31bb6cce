//! The JSON-RPC transport: HTTP POST on its own port, Basic
//! authentication with the cookie or configured credentials (Bitcoin
//! Core's rules), single calls and batches, JSON-RPC 1.0 requests answered
//! as 2.0.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jsonrpsee::RpcModule;
use serde_json::value::RawValue;
use serde_json::{json, Value};

use super::RpcContext;

/// Accepted credentials: `user:password` pairs.
#[derive(Clone, Default)]
pub struct RpcAuth {
    /// Accepted `user:password` strings.
    pub credentials: Vec<String>,
}

impl RpcAuth {
    fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(v) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some(b64) = v.strip_prefix("Basic ") else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
            return false;
        };
        self.credentials
            .iter()
            .any(|c| constant_time_eq(c.as_bytes(), &decoded))
    }
}

/// Compares without an early exit, so timing does not reveal a prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Bounds of one JSON-RPC request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RpcLimits {
    /// Calls in one batch.
    pub max_batch: usize,
    /// Bytes of one request body.
    pub max_request_bytes: usize,
}

impl RpcLimits {
    /// Default calls per batch.
    pub const DEFAULT_MAX_BATCH: usize = 1_000;

    /// Defaults for a chain whose blocks are at most `max_block_bytes`:
    /// room for a `submitblock` of the largest block in hex.
    pub fn for_blocks(max_block_bytes: usize) -> RpcLimits {
        RpcLimits {
            max_batch: Self::DEFAULT_MAX_BATCH,
            max_request_bytes: max_block_bytes.saturating_mul(2).saturating_add(1 << 20),
        }
    }
}

/// Shared state of the RPC server.
pub struct RpcServer {
    /// The methods.
    pub module: RpcModule<RpcContext>,
    /// Who may call them.
    pub auth: RpcAuth,
    /// Size bounds of requests.
    pub limits: RpcLimits,
}

/// A batch of at most `max` calls, left unparsed: counting stops at the
/// first call past the bound, so an over-sized batch costs no more than
/// reading it.
struct BoundedBatch<'a>(Vec<&'a serde_json::value::RawValue>);

struct BatchSeed(usize);

impl<'de> serde::de::DeserializeSeed<'de> for BatchSeed {
    type Value = BoundedBatch<'de>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> serde::de::Visitor<'de> for BatchSeed {
    type Value = BoundedBatch<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "an array of at most {} calls", self.0)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut calls = Vec::new();
        while let Some(c) = seq.next_element::<&'de serde_json::value::RawValue>()? {
            if calls.len() == self.0 {
                return Err(serde::de::Error::custom(TOO_MANY));
            }
            calls.push(c);
        }
        Ok(BoundedBatch(calls))
    }
}

const TOO_MANY: &str = "too many calls in the batch";

/// Reads a batch of at most `max` calls; `Ok(None)` if it has more.
fn read_batch(body: &[u8], max: usize) -> Result<Option<BoundedBatch<'_>>, serde_json::Error> {
    use serde::de::DeserializeSeed;
    let mut de = serde_json::Deserializer::from_slice(body);
    match BatchSeed(max).deserialize(&mut de) {
        Ok(b) => {
            de.end()?;
            Ok(Some(b))
        }
        Err(e) if e.to_string().starts_with(TOO_MANY) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A JSON-RPC error answer with the HTTP status Bitcoin Core gives it:
/// 400 for an invalid request, 500 for a parse error.
fn error_reply(status: StatusCode, code: i32, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({ "jsonrpc": "2.0", "id": null, "error": { "code": code, "message": message } }),
        ),
    )
        .into_response()
}

/// The answer when the work queue is full: Bitcoin Core's status and text.
pub fn overloaded() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        "Work queue depth exceeded",
    )
        .into_response()
}

/// One call's members, each kept as its JSON text (so an id comes back
/// exactly as it was sent, and numbers are never re-read).
type Members = std::collections::BTreeMap<String, Box<RawValue>>;

/// What one call gets.
enum Reply {
    /// An answer (a result or an error from the method).
    Answer(Box<RawValue>),
    /// Bitcoin Core's -32600 for a malformed request, which did not run:
    /// HTTP 400 when it is the whole request.
    Refused(Box<RawValue>),
    /// Nothing: a notification.
    Silent,
}

fn raw(text: String) -> Box<RawValue> {
    RawValue::from_string(text).expect("JSON built here is valid")
}

/// Bitcoin Core's answer to a malformed request: -32600 with `message`,
/// and the request's id when it had one.
fn refused(id: Option<&RawValue>, message: &str) -> Reply {
    Reply::Refused(raw(format!(
        r#"{{"jsonrpc":"2.0","id":{},"error":{{"code":-32600,"message":{}}}}}"#,
        id.map_or("null", RawValue::get),
        Value::from(message)
    )))
}

/// Runs one call given as JSON text, checked as Bitcoin Core's
/// `JSONRPCRequest::parse` checks it: an object; `jsonrpc`, when present,
/// "1.0" or "2.0" (1.0 requests, as Bitcoin tools send, are answered as
/// 2.0); `params` absent, null, an array or an object.
async fn call(module: &RpcModule<RpcContext>, text: &str) -> Reply {
    let Ok(mut m) = serde_json::from_str::<Members>(text) else {
        return refused(None, "Invalid Request object");
    };
    let v2 = match m
        .get("jsonrpc")
        .map(|v| serde_json::from_str::<Value>(v.get()))
    {
        None | Some(Ok(Value::Null)) => false,
        Some(Ok(Value::String(s))) if s == "1.0" => false,
        Some(Ok(Value::String(s))) if s == "2.0" => true,
        Some(_) => return refused(m.get("id").map(|b| &**b), "JSON-RPC version not supported"),
    };
    // A 2.0 request without an id is a notification: run, not answered.
    // A 1.0 request without one is answered, with a null id.
    let notification = v2 && !m.contains_key("id");
    match m.get("params").and_then(|p| p.get().bytes().next()) {
        None | Some(b'n') => {
            m.insert("params".into(), raw("[]".into()));
        }
        Some(b'[' | b'{') => {}
        Some(_) => {
            return refused(
                m.get("id").map(|b| &**b),
                "Params must be an array or object",
            )
        }
    }
    m.insert("jsonrpc".into(), raw(r#""2.0""#.into()));
    // Bitcoin Core echoes any JSON id (negative, fractional, a boolean, an
    // array, an object, past 2^64); jsonrpsee takes only unsigned integers,
    // strings and null. It gets a stand-in, and the answer the caller's id
    // as sent (a 1.0 call without one gets null).
    let id = m
        .insert("id".into(), raw("0".into()))
        .unwrap_or_else(|| raw("null".into()));
    let req = serde_json::to_string(&m).expect("JSON text serialises");
    let reply = match module.raw_json_request(&req, 1).await {
        Ok((resp, _)) => match serde_json::from_str::<Members>(resp.get()) {
            Ok(mut answer) => {
                answer.insert("id".into(), id);
                Reply::Answer(raw(
                    serde_json::to_string(&answer).expect("JSON text serialises")
                ))
            }
            Err(_) => Reply::Answer(resp),
        },
        Err(_) => refused(Some(&id), "Invalid Request"),
    };
    if notification {
        Reply::Silent
    } else {
        reply
    }
}

/// An HTTP 200 answer of JSON text.
fn json_text(body: String) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

/// Checks the credentials before anything reads the body: a caller
/// without them must not make the node buffer up to the body limit
/// (hundreds of MiB on chains with large blocks) to be refused.
async fn authenticate(
    State(s): State<Arc<RpcServer>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    if !s.auth.allows(req.headers()) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"jsonrpc\"")],
            "",
        )
            .into_response();
    }
    next.run(req).await
}

async fn handle(State(s): State<Arc<RpcServer>>, body: Bytes) -> Response {
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    let reply = match first {
        Some(b'[') => match read_batch(&body, s.limits.max_batch) {
            Err(_) => return error_reply(StatusCode::INTERNAL_SERVER_ERROR, -32700, "Parse error"),
            Ok(None) => {
                return error_reply(
                    StatusCode::BAD_REQUEST,
                    -32600,
                    &format!(
                        "Invalid Request: a batch may hold at most {} calls",
                        s.limits.max_batch
                    ),
                )
            }
            // An empty batch has an empty answer, as Bitcoin Core gives it
            // (200 and `[]`: batch clients read a body).
            Ok(Some(BoundedBatch(items))) if items.is_empty() => Some("[]".to_string()),
            Ok(Some(BoundedBatch(items))) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    match call(&s.module, i.get()).await {
                        Reply::Answer(r) | Reply::Refused(r) => out.push(r),
                        Reply::Silent => {}
                    }
                }
                // A batch of notifications only has nothing to answer.
                (!out.is_empty()).then(|| {
                    let parts: Vec<&str> = out.iter().map(|r| r.get()).collect();
                    format!("[{}]", parts.join(","))
                })
            }
        },
        _ => match serde_json::from_slice::<&RawValue>(&body) {
            Err(_) => return error_reply(StatusCode::INTERNAL_SERVER_ERROR, -32700, "Parse error"),
            // Valid JSON, but neither an object nor an array: Bitcoin
            // Core's parse error for it.
            Ok(_) if first != Some(b'{') => {
                return error_reply(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    -32700,
                    "Top-level object parse error",
                )
            }
            Ok(req) => match call(&s.module, req.get()).await {
                Reply::Answer(r) => Some(r.get().to_string()),
                Reply::Refused(r) => {
                    return (
                        StatusCode::BAD_REQUEST,
                        [(header::CONTENT_TYPE, "application/json")],
                        r.get().to_string(),
                    )
                        .into_response()
                }
                Reply::Silent => None,
            },
        },
    };
    match reply {
        Some(r) => json_text(r),
        None => StatusCode::NO_CONTENT.into_response(),
    }
}

/// The RPC HTTP router.
pub fn router(server: Arc<RpcServer>) -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::post(handle))
        .route_layer(axum::middleware::from_fn_with_state(
            server.clone(),
            authenticate,
        ))
        .layer(axum::extract::DefaultBodyLimit::max(
            server.limits.max_request_bytes,
        ))
        .with_state(server)
}

/// Writes a fresh cookie (`__cookie__:<random hex>`, mode 0600) and returns
/// the credential. A file already at `path` (left from an earlier run, or
/// put there by someone else with a mode or owner of their choosing) is
/// removed first and the cookie written to a file created new, so only
/// this process's user can read it.
pub fn write_cookie(path: &std::path::Path) -> std::io::Result<String> {
    use rand::RngCore;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let cred = format!("__cookie__:{}", hex::encode(secret));
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    std::io::Write::write_all(&mut opts.open(path)?, cred.as_bytes())?;
    Ok(cred)
}

/// The cookie file of a running node: written by [`CookieFile::write`]
/// and removed when dropped, so every way out of the node after it was
/// written — a normal shutdown, a start that fails on a later step (a
/// taken port), an error or a panic — takes it away: a cookie on disk says
/// a node runs.
#[derive(Debug)]
pub struct CookieFile {
    path: std::path::PathBuf,
}

impl CookieFile {
    /// Writes a fresh cookie at `path` ([`write_cookie`]); returns the
    /// guard and the credential.
    pub fn write(path: &std::path::Path) -> std::io::Result<(CookieFile, String)> {
        let cred = write_cookie(path)?;
        Ok((
            CookieFile {
                path: path.to_path_buf(),
            },
            cred,
        ))
    }

    /// Where the cookie is.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }
}

impl Drop for CookieFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use axum::extract::State;
    use serde_json::{json, Value};

    use super::{RpcAuth, RpcLimits, RpcServer};
    use crate::rpc::{module, RpcContext};

    fn server(node: Arc<luminex_service::Node>) -> Arc<RpcServer> {
        Arc::new(RpcServer {
            module: module(RpcContext::new(node, None)),
            auth: RpcAuth::default(),
            limits: RpcLimits::for_blocks(1 << 20),
        })
    }

    /// The HTTP status and body text of the answer to `body`.
    async fn post(s: &Arc<RpcServer>, body: &str) -> (u16, String) {
        let r = super::handle(State(s.clone()), body.to_string().into()).await;
        let status = r.status().as_u16();
        let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8(bytes.to_vec()).unwrap())
    }

    /// Amounts are JSON numbers with exactly 8 decimals, as Bitcoin Core
    /// writes them, and exact: a `dev` output past 2^53 base units (which
    /// an `f64` cannot hold) comes out digit for digit, in a single call
    /// and in a batch; numeric ids and parameters still read as before.
    #[tokio::test]
    async fn amounts_are_exact_numbers_with_8_decimals() {
        let node = luminex_service::testkit::memory_node();
        let (op, coin) = node
            .chain
            .all_utxos()
            .unwrap()
            .into_iter()
            .find(|(_, c)| c.output.amount.base() > 1 << 53)
            .expect("dev holds an output past 2^53 base units");
        let base = coin.output.amount.base();
        let text = format!("{}.{:08}", base / 100_000_000, base % 100_000_000);
        assert_ne!(
            text.parse::<f64>().unwrap().to_string(),
            text,
            "an f64 would not hold it"
        );
        let s = server(node);
        let call = json!({"jsonrpc": "1.0", "id": 7, "method": "gettxout", "params": [op.txid.to_string(), op.vout]});
        let (status, body) = post(&s, &call.to_string()).await;
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(&format!("\"value\":{text},")), "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["id"], 7);
        assert_eq!(v["result"]["value_base"], base);
        let (_, body) = post(&s, &json!([call, call]).to_string()).await;
        assert_eq!(
            body.matches(&format!("\"value\":{text},")).count(),
            2,
            "{body}"
        );
        // Small amounts too: never 1e-8.
        assert_eq!(
            crate::rpc::exact(&json!({"a": crate::rpc::coins(1), "b": crate::rpc::coins(0)}))
                .unwrap()
                .get(),
            r#"{"a":0.00000001,"b":0.00000000}"#
        );
        assert_eq!(
            crate::rpc::exact(&crate::rpc::coins_wide(u128::from(u64::MAX) * 3))
                .unwrap()
                .get(),
            "553402322211.28654845"
        );
        // A string that only looks like an amount stays a string.
        assert_eq!(
            crate::rpc::exact(&json!("\u{1}amount-0:1.00000000"))
                .unwrap()
                .get(),
            r#""\u0001amount-0:1.00000000""#
        );
    }

    /// As Bitcoin Core's HTTP server: an empty batch is answered `[]` with
    /// 200 (not 204: batch clients read the body); a top-level value that
    /// is neither an object nor an array is -32700 "Top-level object parse
    /// error" with 500; `params` other than an array, an object or null, and
    /// a `jsonrpc` other than "1.0" or "2.0", are -32600 with 400 (in a
    /// batch, that call's answer); 1.0, 2.0 and a null version still run.
    #[tokio::test]
    async fn malformed_requests_get_bitcoin_cores_answers() {
        let s = server(luminex_service::testkit::memory_node());
        assert_eq!(post(&s, "[]").await, (200, "[]".to_string()));
        assert_eq!(post(&s, " [ ] ").await, (200, "[]".to_string()));
        for top in ["5", "\"getblockcount\"", "null", "true"] {
            let (status, body) = post(&s, top).await;
            assert_eq!(status, 500, "{top}: {body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["error"]["code"], -32700, "{top}: {body}");
            assert_eq!(v["error"]["message"], "Top-level object parse error");
        }
        let (status, body) = post(&s, "{\"method\": ").await;
        assert_eq!(status, 500, "{body}");
        assert!(body.contains("-32700"), "{body}");
        let bad = [
            (
                json!({"method": "getblockcount", "params": 5, "id": 1}),
                "Params must be an array or object",
            ),
            (
                json!({"method": "getblockcount", "params": "x", "id": 1}),
                "Params must be an array or object",
            ),
            (
                json!({"jsonrpc": "3.0", "method": "getblockcount", "id": 1}),
                "JSON-RPC version not supported",
            ),
            (
                json!({"jsonrpc": "1.1", "method": "getblockcount", "id": 1}),
                "JSON-RPC version not supported",
            ),
            (
                json!({"jsonrpc": 2, "method": "getblockcount", "id": 1}),
                "JSON-RPC version not supported",
            ),
        ];
        for (req, message) in &bad {
            let (status, body) = post(&s, &req.to_string()).await;
            assert_eq!(status, 400, "{req}: {body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["error"]["code"], -32600, "{req}: {body}");
            assert_eq!(v["error"]["message"], *message, "{req}: {body}");
            assert_eq!(v["id"], 1, "{req}: {body}");
        }
        for version in [json!("1.0"), json!("2.0"), Value::Null] {
            let req =
                json!({"jsonrpc": version, "method": "getblockcount", "params": null, "id": 3});
            let (status, body) = post(&s, &req.to_string()).await;
            assert_eq!(status, 200, "{req}: {body}");
            let v: Value = serde_json::from_str(&body).unwrap();
            assert_eq!(v["result"], 0, "{req}: {body}");
        }
        // In a batch: each malformed call gets its error, the others run.
        let ok = json!({"method": "getblockcount", "id": 9});
        let batch = json!([5, bad[0].0, ok, bad[2].0]);
        let (status, body) = post(&s, &batch.to_string()).await;
        assert_eq!(status, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        let codes: Vec<&Value> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["error"]["code"])
            .collect();
        assert_eq!(
            codes,
            [&json!(-32600), &json!(-32600), &Value::Null, &json!(-32600)],
            "{body}"
        );
        assert_eq!(v[0]["error"]["message"], "Invalid Request object");
        assert_eq!(v[2]["result"], 0, "{body}");
        assert_eq!(v[2]["id"], 9, "{body}");
    }

    /// As Bitcoin Core, any JSON id comes back as it was sent — negative,
    /// fractional, boolean, an array, an object, past 2^64 — on answers and
    /// errors, alone and in a batch (jsonrpsee takes only unsigned integers,
    /// strings and null: the transport lends it one and puts the caller's
    /// back).
    #[tokio::test]
    async fn any_json_id_is_echoed_unchanged() {
        let s = server(luminex_service::testkit::memory_node());
        let ids = [
            "-1",
            "1.5",
            "1.50",
            "true",
            "false",
            "[1,\"a\"]",
            "{\"k\":[2]}",
            "18446744073709551616",
            "-18446744073709551617",
            "1e400",
            "\"s\"",
            "null",
            "0",
        ];
        for id in ids {
            for method in ["getblockcount", "nosuchmethod"] {
                let req =
                    format!(r#"{{"jsonrpc":"1.0","id":{id},"method":"{method}","params":[]}}"#);
                let (status, body) = post(&s, &req).await;
                assert_eq!(status, 200, "{req}: {body}");
                assert!(body.contains(&format!("\"id\":{id}")), "{req}: {body}");
                // Read as text: 1e400 is past what a `Value` holds.
                let v: std::collections::BTreeMap<String, Box<serde_json::value::RawValue>> =
                    serde_json::from_str(&body).unwrap();
                match method {
                    "getblockcount" => assert_eq!(v["result"].get(), "0", "{body}"),
                    _ => assert!(v["error"].get().contains("-32601"), "{body}"),
                }
            }
        }
        let batch = format!(
            "[{}]",
            ids.iter()
                .map(|id| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"getblockcount"}}"#))
                .collect::<Vec<_>>()
                .join(",")
        );
        let (status, body) = post(&s, &batch).await;
        assert_eq!(status, 200, "{body}");
        let answers: Vec<&serde_json::value::RawValue> = serde_json::from_str(&body).unwrap();
        assert_eq!(answers.len(), ids.len(), "{body}");
        for (a, id) in answers.iter().zip(ids) {
            assert!(
                a.get().contains(&format!("\"id\":{id}")),
                "{id}: {}",
                a.get()
            );
        }
        // A malformed call's error carries its id too.
        let (_, body) = post(&s, r#"{"id":-7,"method":"getblockcount","params":5}"#).await;
        assert!(body.contains("\"id\":-7"), "{body}");
    }

    #[cfg(unix)]
    #[test]
    fn a_cookie_replaces_a_readable_file_with_a_private_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".cookie");
        std::fs::write(&path, "left by someone else").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        let cred = super::write_cookie(&path).unwrap();
        assert!(cred.starts_with("__cookie__:"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), cred);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
