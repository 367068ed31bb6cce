//! `GET /ws`: a WebSocket of chain events.
//!
//! Clients send `{"subscribe": "blocks" | "finalized" | "mempool"}` or
//! `{"subscribe": "address", "address": "…"}` (and `unsubscribe` likewise)
//! and receive JSON events: `block` (connected to the main chain),
//! `finalized` (the chain's finalized block: certified on BFT chains,
//! `max_reorg_depth` deep on the others; this node never reverts it),
//! `mempool_tx`, and
//! `address` (a pending or confirmed transaction paying or spending a
//! subscribed address). Events pass through a bounded broadcast buffer; a
//! connection that falls behind is closed with the reason "slow consumer".
//! An open WebSocket keeps its connection's place in the listener's table
//! ([`crate::serve::HeldConnection`]), so the connection limits count it;
//! client messages are bounded (`MAX_CLIENT_MESSAGE`, 16 KiB).

#[allow(unused_imports)] // used inside #[utoipa::path] attributes
use crate::types::Problem;
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use luminex_primitives::Hash;
use luminex_service::events::Event;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::serve::HeldConnection;
use crate::ApiError;
use luminex_service::Node;

/// Most address subscriptions per connection.
const MAX_ADDRESSES: usize = 1000;

/// Largest message (and frame) a client may send: its messages are
/// subscriptions of a few hundred bytes, and a larger one would be read
/// whole into memory before its shape is checked.
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

#[derive(Default)]
struct Subscriptions {
    blocks: bool,
    finalized: bool,
    mempool: bool,
    /// Index key → the address as the client wrote it.
    addresses: HashMap<Hash, String>,
}

impl Subscriptions {
    fn render(&self, e: &Event) -> Vec<Value> {
        match e {
            Event::Block {
                hash,
                height,
                txids,
            } if self.blocks => vec![json!({
                "type": "block", "hash": hash.to_string(), "height": height,
                "txids": txids.iter().map(|t| t.to_string()).collect::<Vec<_>>(),
            })],
            Event::Finalized { hash, height } if self.finalized => {
                vec![json!({ "type": "finalized", "hash": hash.to_string(), "height": height })]
            }
            Event::Tx {
                txid,
                height,
                addresses,
            } => {
                let mut out = Vec::new();
                if self.mempool && height.is_none() {
                    out.push(json!({ "type": "mempool_tx", "txid": txid.to_string() }));
                }
                for k in addresses {
                    if let Some(a) = self.addresses.get(k) {
                        out.push(json!({
                            "type": "address", "address": a, "txid": txid.to_string(),
                            "status": if height.is_some() { "confirmed" } else { "pending" },
                            "height": height,
                        }));
                    }
                }
                out
            }
            _ => vec![],
        }
    }

    /// Applies a client message; returns the reply.
    fn apply(&mut self, node: &Node, text: &str) -> Value {
        let err = |m: &str| json!({ "type": "error", "message": m });
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            return err("messages are JSON: {\"subscribe\": \"blocks\"}");
        };
        let (on, topic) = match (v.get("subscribe"), v.get("unsubscribe")) {
            (Some(t), None) => (true, t),
            (None, Some(t)) => (false, t),
            _ => return err("expected {\"subscribe\": topic} or {\"unsubscribe\": topic}"),
        };
        match topic.as_str() {
            Some("blocks") => self.blocks = on,
            Some("finalized") => self.finalized = on,
            Some("mempool") => self.mempool = on,
            Some("address") => {
                let Some(a) = v.get("address").and_then(Value::as_str) else {
                    return err("address subscriptions need \"address\"");
                };
                let addr = match node.spec.parse_address(a) {
                    Ok(x) => x,
                    Err(e) => return err(&e.to_string()),
                };
                let key = addr.lock.index_key();
                if on {
                    if self.addresses.len() >= MAX_ADDRESSES {
                        return err("too many address subscriptions");
                    }
                    self.addresses.insert(key, a.to_string());
                } else {
                    self.addresses.remove(&key);
                }
            }
            _ => return err("topics: blocks, finalized, mempool, address"),
        }
        json!({ "type": if on { "subscribed" } else { "unsubscribed" }, "topic": topic })
    }
}

/// Refuses a WebSocket that another site's page opens (403
/// `cross-origin-websocket`), unless its origin is one of the configured
/// CORS origins: a page in a browser on this machine could otherwise hold
/// the connections its address may have (it shares 127.0.0.1 with the
/// operator's tools) for as long as it stays open. As for the REST API,
/// other sites are let in only through `--cors-origin`. The browser's
/// `Sec-Fetch-Site` decides where it is sent (it is not changed by a
/// reverse proxy); else `Origin` must name the host the request was sent
/// to. Clients that are not browsers send neither.
pub(crate) async fn same_origin(
    State(allowed): State<Arc<Vec<String>>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let h = req.headers();
    let origin = h
        .get(axum::http::header::ORIGIN)
        .and_then(|v| v.to_str().ok());
    let configured = origin.is_some_and(|o| allowed.iter().any(|a| a.eq_ignore_ascii_case(o)));
    let same = match h.get("sec-fetch-site").map(|v| v.as_bytes()) {
        Some(b"same-origin" | b"none") => true,
        Some(_) => false,
        None => match origin {
            None => true,
            Some(o) => {
                let host = h
                    .get(axum::http::header::HOST)
                    .and_then(|v| v.to_str().ok());
                let authority = o
                    .strip_prefix("http://")
                    .or_else(|| o.strip_prefix("https://"));
                matches!((authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
            }
        },
    };
    if same || configured {
        next.run(req).await
    } else {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "cross-origin-websocket",
            "WebSockets are open to this node's own pages and to the origins it is configured to allow (--cors-origin)",
        )
        .into_response()
    }
}

/// The upgrade handler.
#[utoipa::path(get, path = "/ws", tag = "events",
    params(
        ("Connection" = String, Header, description = "a list holding `upgrade` (any case)", pattern = "[Uu][Pp][Gg][Rr][Aa][Dd][Ee]"),
        ("Upgrade" = String, Header, description = "`websocket` (any case)", pattern = "^[Ww][Ee][Bb][Ss][Oo][Cc][Kk][Ee][Tt]$"),
        ("Sec-WebSocket-Version" = String, Header, description = "`13`", pattern = "^13$"),
        ("Sec-WebSocket-Key" = String, Header, description = "the client's nonce (RFC 6455: 16 random bytes, base64)"),
    ),
    responses((status = 101, description = "WebSocket of chain events (docs/api.md)"), (status = 400, description = "Not a WebSocket upgrade: a header missing or wrong (websocket-upgrade-required)", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Opened by another site's page whose origin is not configured (cross-origin-websocket)", body = Problem, content_type = "application/problem+json")))]
pub async fn handler(
    State(node): State<Arc<Node>>,
    held: Option<Extension<HeldConnection>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    match ws {
        Ok(ws) => ws
            .max_message_size(MAX_CLIENT_MESSAGE)
            .max_frame_size(MAX_CLIENT_MESSAGE)
            .on_upgrade(move |socket| serve(node, socket, held.map(|Extension(h)| h)))
            .into_response(),
        Err(e) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "websocket-upgrade-required",
            e.body_text(),
        )
        .into_response(),
    }
}

/// Resolves when the connection `held` is evicted or its listener stops;
/// never without one (a router served without [`crate::serve::serve`]).
async fn ended(held: &mut Option<HeldConnection>) {
    match held {
        Some(h) => h.ended().await,
        None => std::future::pending().await,
    }
}

/// How long one message may take to leave: a client that stops reading
/// fills its socket's buffers, and a send would then wait forever, out of
/// reach of eviction, shutdown and the slow-consumer rule.
const SEND_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// How long a closing frame may take before the socket is simply dropped.
const CLOSE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);

/// Sends `msg`; false if the connection is gone, the send took longer than
/// [`SEND_TIMEOUT`], or the connection was evicted or its listener stopped
/// meanwhile (then the caller drops the socket).
async fn send(socket: &mut WebSocket, msg: Message, held: &mut Option<HeldConnection>) -> bool {
    tokio::select! {
        r = tokio::time::timeout(SEND_TIMEOUT, socket.send(msg)) => matches!(r, Ok(Ok(()))),
        _ = ended(held) => false,
    }
}

async fn serve(node: Arc<Node>, mut socket: WebSocket, mut held: Option<HeldConnection>) {
    let mut rx = node.events.subscribe();
    let mut subs = Subscriptions::default();
    loop {
        tokio::select! {
            _ = ended(&mut held) => {
                let frame = CloseFrame { code: 1001, reason: "going away".into() };
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
                return;
            },
            msg = socket.recv() => match msg {
                Some(Ok(Message::Text(t))) => {
                    let reply = subs.apply(&node, t.as_str());
                    if !send(&mut socket, Message::Text(reply.to_string().into()), &mut held).await {
                        return;
                    }
                }
                // A message past the bound: say so (1009) before closing.
                Some(Err(e)) if e.to_string().contains("Message too long") => {
                    let frame = CloseFrame { code: 1009, reason: "message too big".into() };
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
                    return;
                }
                // Messages are JSON text; a binary frame gets told so
                // rather than silence.
                Some(Ok(Message::Binary(_))) => {
                    let reply = json!({ "type": "error", "message": "messages are JSON in text frames, not binary ones" });
                    if !send(&mut socket, Message::Text(reply.to_string().into()), &mut held).await {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            ev = rx.recv() => match ev {
                Ok(e) => {
                    for v in subs.render(&e) {
                        if !send(&mut socket, Message::Text(v.to_string().into()), &mut held).await {
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    let frame = CloseFrame { code: 1008, reason: format!("slow consumer: {n} events dropped").into() };
                    let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
                    return;
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}
