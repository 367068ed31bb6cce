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

/// Shared state of the RPC server.
pub struct RpcServer {
    /// The methods.
    pub module: RpcModule<RpcContext>,
    /// Who may call them.
    pub auth: RpcAuth,
}

async fn call(module: &RpcModule<RpcContext>, mut req: Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    if let Value::Object(o) = &mut req {
        // Bitcoin tools speak JSON-RPC 1.0; answer them all as 2.0.
        o.insert("jsonrpc".into(), json!("2.0"));
        if o.get("params").is_none_or(Value::is_null) {
            o.insert("params".into(), json!([]));
        }
        if !o.contains_key("id") {
            o.insert("id".into(), Value::Null);
        }
    }
    match module.raw_json_request(&req.to_string(), 1).await {
        Ok((resp, _)) => serde_json::from_str(resp.get()).unwrap_or(Value::Null),
        Err(_) => {
            json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32600, "message": "Invalid Request" } })
        }
    }
}

async fn handle(State(s): State<Arc<RpcServer>>, headers: HeaderMap, body: Bytes) -> Response {
    if !s.auth.allows(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"jsonrpc\"")],
            "",
        )
            .into_response();
    }
    let reply = match serde_json::from_slice::<Value>(&body) {
        Err(_) => {
            json!({ "jsonrpc": "2.0", "id": null, "error": { "code": -32700, "message": "Parse error" } })
        }
        Ok(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(call(&s.module, i).await);
            }
            Value::Array(out)
        }
        Ok(req) => call(&s.module, req).await,
    };
    axum::Json(reply).into_response()
}

/// The RPC HTTP router.
pub fn router(server: Arc<RpcServer>) -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::post(handle))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(server)
}

/// Writes a fresh cookie (`__cookie__:<random hex>`, mode 0600) and returns
/// the credential.
pub fn write_cookie(path: &std::path::Path) -> std::io::Result<String> {
    use rand::RngCore;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let cred = format!("__cookie__:{}", hex::encode(secret));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    std::io::Write::write_all(&mut opts.open(path)?, cred.as_bytes())?;
    Ok(cred)
}
