//! WebSocket events: new blocks, finalized blocks, mempool transactions and
//! address activity for transactions the test sends.

use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use luminex_api::router;
use luminex_ledger::testkit::lock_of;
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

async fn next(rx: &mut SplitStream<Ws>) -> Value {
    loop {
        let m = tokio::time::timeout(Duration::from_secs(60), rx.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        if let Message::Text(t) = m {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// Serves `node`'s API on a loopback port; returns the address.
async fn serve(node: &std::sync::Arc<luminex_service::Node>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(node.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn say(tx: &mut SplitSink<Ws, Message>, rx: &mut SplitStream<Ws>, msg: &str) -> Value {
    tx.send(Message::Text(msg.into())).await.unwrap();
    next(rx).await
}

#[tokio::test(flavor = "multi_thread")]
async fn subscribers_receive_block_mempool_and_address_events() {
    // Finalized = max_reorg_depth deep; one block for the test.
    let mut spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    spec.max_reorg_depth = 1;
    let node = crate::support::memory_node_for(spec);
    let addr = serve(&node).await;

    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let (mut tx, mut rx) = ws.split();
    let k1 = node.spec.dev_key(1).unwrap();
    let watched = node.spec.address(lock_of(&k1)).to_string();
    for sub in [
        json!({"subscribe": "blocks"}),
        json!({"subscribe": "mempool"}),
        json!({"subscribe": "finalized"}),
        json!({"subscribe": "address", "address": watched}),
    ] {
        assert_eq!(
            say(&mut tx, &mut rx, &sub.to_string()).await["type"],
            "subscribed"
        );
    }
    // Bad messages get an error reply; the connection stays.
    for bad in [
        "not json",
        r#"{"subscribe": "address", "address": "lmx1garbage"}"#,
        r#"{"subscribe": "weather"}"#,
    ] {
        assert_eq!(say(&mut tx, &mut rx, bad).await["type"], "error", "{bad}");
    }

    // A binary frame is answered with an error, and the socket stays
    // open: a text message after it is still served.
    tx.send(Message::Binary(
        br#"{"subscribe":"blocks"}"#.to_vec().into(),
    ))
    .await
    .unwrap();
    let e = next(&mut rx).await;
    assert_eq!(e["type"], "error", "{e}");
    assert!(
        e["message"].as_str().unwrap().contains("text frames"),
        "{e}"
    );
    let r = say(&mut tx, &mut rx, r#"{"subscribe": "blocks"}"#).await;
    assert_eq!(r["type"], "subscribed", "{r}");

    let payment = crate::support::dev_payment(&node, 3);
    let txid = payment.txid().to_string();
    node.submit(payment).unwrap();
    let mut got = [next(&mut rx).await, next(&mut rx).await];
    got.sort_by_key(|v| v["type"].as_str().unwrap().to_string());
    assert_eq!(got[0]["type"], "address");
    assert_eq!(
        (
            got[0]["txid"].as_str().unwrap(),
            got[0]["status"].as_str().unwrap()
        ),
        (txid.as_str(), "pending")
    );
    assert_eq!(got[1], json!({ "type": "mempool_tx", "txid": txid }));

    let n = node.clone();
    let block = tokio::task::spawn_blocking(move || n.produce_block())
        .await
        .unwrap()
        .unwrap();
    let mut events = Vec::new();
    while events.len() < 2 {
        events.push(next(&mut rx).await);
    }
    let confirmed = events
        .iter()
        .find(|e| e["type"] == "address")
        .expect("address event");
    assert_eq!(
        (
            confirmed["status"].as_str().unwrap(),
            confirmed["height"].as_u64().unwrap()
        ),
        ("confirmed", 1)
    );
    let b = events
        .iter()
        .find(|e| e["type"] == "block")
        .expect("block event");
    assert_eq!(b["hash"], block.hash().to_string());
    assert!(b["txids"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t == &json!(txid)));
    // Block 1 made genesis final, which always was: no news. Block 2
    // makes block 1 final.
    assert!(
        events.iter().all(|e| e["type"] != "finalized"),
        "{events:?}"
    );
    let n = node.clone();
    tokio::task::spawn_blocking(move || n.produce_block())
        .await
        .unwrap()
        .unwrap();
    let b = next(&mut rx).await;
    assert_eq!(
        (b["type"].as_str(), b["height"].as_u64()),
        (Some("block"), Some(2))
    );
    let f = next(&mut rx).await;
    assert_eq!(f["type"], "finalized", "{f}");
    assert_eq!(f["height"], 1);
    assert_eq!(f["hash"], block.hash().to_string());
    // A reorganisation that replaces block 2 reconnects a block that
    // finalizes block 1 again: not announced twice. The next event is
    // finality moving on, to the new block 2.
    for topic in ["blocks", "mempool"] {
        let r = say(
            &mut tx,
            &mut rx,
            &json!({ "unsubscribe": topic }).to_string(),
        )
        .await;
        assert_eq!(r["type"], "unsubscribed");
    }
    let r = say(
        &mut tx,
        &mut rx,
        &json!({"unsubscribe": "address", "address": watched}).to_string(),
    )
    .await;
    assert_eq!(r["type"], "unsubscribed");
    let n = node.clone();
    tokio::task::spawn_blocking(move || {
        luminex_service::testkit::side_branch_at_tip(&n);
        n.produce_block()
    })
    .await
    .unwrap()
    .unwrap();
    let f = next(&mut rx).await;
    assert_eq!(
        (f["type"].as_str(), f["height"].as_u64()),
        (Some("finalized"), Some(2)),
        "{f}"
    );
    assert_eq!(
        f["hash"],
        node.chain.hash_at(2).unwrap().unwrap().to_string()
    );

    // A plain GET without the upgrade is a 400 problem.
    let resp = reqwest::get(format!("http://{addr}/ws")).await.unwrap();
    assert_eq!(resp.status(), 400);
}

/// `ws` split, subscribed to blocks (the answer read).
async fn subscribed_to_blocks(ws: Ws) -> (SplitSink<Ws, Message>, SplitStream<Ws>) {
    let (mut tx, mut rx) = ws.split();
    assert_eq!(
        say(&mut tx, &mut rx, r#"{"subscribe": "blocks"}"#).await["type"],
        "subscribed"
    );
    (tx, rx)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_consumer_is_dropped_with_a_close_reason() {
    let node = crate::support::memory_node();
    let addr = serve(&node).await;
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws"))
        .await
        .unwrap();
    let (_tx, mut rx) = subscribed_to_blocks(ws).await;
    // Publish far more than the buffer while the client reads nothing.
    let txids = vec![luminex_primitives::Hash([7; 32]); 100];
    for height in 0..(luminex_service::events::EVENT_BUFFER as u64 * 4) {
        let e = luminex_service::events::Event::Block {
            hash: luminex_primitives::Hash::ZERO,
            height,
            txids: txids.clone(),
        };
        // Fails once the lagging subscriber is gone: that is the point.
        let _ = node.events.send(std::sync::Arc::new(e));
    }
    // Reading now, the client finds the close frame after what was buffered.
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(20), rx.next())
            .await
            .unwrap()
        {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    let frame = close.expect("a close frame with a reason");
    assert_eq!(u16::from(frame.code), 1008);
    assert!(
        frame.reason.starts_with("slow consumer"),
        "{}",
        frame.reason
    );
}

/// A WebSocket opened from `source` (any 127/8 address) to the node's
/// listener at `to`.
async fn ws_from(source: std::net::Ipv4Addr, to: std::net::SocketAddr) -> Ws {
    try_ws_from(source, to).await.expect("a WebSocket")
}

async fn try_ws_from(source: std::net::Ipv4Addr, to: std::net::SocketAddr) -> Option<Ws> {
    let s = tokio::net::TcpSocket::new_v4().unwrap();
    s.bind(std::net::SocketAddr::new(source.into(), 0)).unwrap();
    let stream = s.connect(to).await.ok()?;
    tokio_tungstenite::client_async(format!("ws://{to}/ws"), MaybeTlsStream::Plain(stream))
        .await
        .ok()
        .map(|(ws, _)| ws)
}

/// The next close frame's code, skipping other messages; `None` if the
/// connection ended without one.
async fn close_code(rx: &mut SplitStream<Ws>) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(60), rx.next())
            .await
            .expect("the server closes the WebSocket")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

/// `node`'s API served with connection discipline and `max_per_client` on
/// a loopback port: its address, what stops it, and the server's task.
async fn serve_limited(
    node: &std::sync::Arc<luminex_service::Node>,
    max_per_client: usize,
) -> (
    std::net::SocketAddr,
    std::sync::Arc<tokio::sync::Notify>,
    tokio::task::JoinHandle<()>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = std::sync::Arc::new(tokio::sync::Notify::new());
    let s = stop.clone();
    let limits = luminex_api::serve::ConnectionLimits {
        max_connections: 16,
        max_per_client,
        ..luminex_api::serve::ConnectionLimits::default()
    };
    let server = tokio::spawn(luminex_api::serve::serve(
        listener,
        router(node.clone()),
        "rest",
        limits,
        node.metrics.clone(),
        luminex_api::overloaded,
        async move { s.notified().await },
    ));
    (addr, stop, server)
}

/// A WebSocket from `source` subscribed to blocks (the server's answer
/// read), or `None` if the connection is refused.
async fn subscribed_from(
    source: std::net::Ipv4Addr,
    to: std::net::SocketAddr,
) -> Option<(SplitSink<Ws, Message>, SplitStream<Ws>)> {
    let (mut tx, mut rx) = try_ws_from(source, to).await?.split();
    tx.send(Message::Text(r#"{"subscribe": "blocks"}"#.into()))
        .await
        .ok()?;
    match tokio::time::timeout(Duration::from_secs(60), rx.next()).await {
        Ok(Some(Ok(Message::Text(_)))) => Some((tx, rx)),
        _ => None,
    }
}

/// [`subscribed_from`], tried again until `limit` has passed (then the test
/// fails saying `why`): for a place the server frees in its own time.
async fn subscribed_within(
    source: std::net::Ipv4Addr,
    to: std::net::SocketAddr,
    limit: Duration,
    why: &str,
) -> (SplitSink<Ws, Message>, SplitStream<Ws>) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(ws) = subscribed_from(source, to).await {
            return ws;
        }
        assert!(tokio::time::Instant::now() < deadline, "{why}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A client that stops reading fills its socket's buffers, and the node's
/// next send would wait forever, holding the connection's place out of
/// reach of the slow-consumer rule (it never falls 4,096 events behind):
/// the send gives up after 10 s and the place is freed.
#[tokio::test(flavor = "multi_thread")]
async fn a_websocket_that_stops_reading_is_dropped_after_the_send_timeout() {
    let node = crate::support::memory_node();
    let (addr, stop, server) = serve_limited(&node, 1).await;
    let source = std::net::Ipv4Addr::new(127, 0, 0, 21);
    // A small receive buffer fills sooner.
    let stuck = {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.set_recv_buffer_size(4096).unwrap();
        s.bind(std::net::SocketAddr::new(source.into(), 0)).unwrap();
        let stream = s.connect(addr).await.unwrap();
        let (ws, _) = tokio_tungstenite::client_async(
            format!("ws://{addr}/ws"),
            MaybeTlsStream::Plain(stream),
        )
        .await
        .unwrap();
        subscribed_to_blocks(ws).await
    };
    // The address's one place is taken.
    assert!(subscribed_from(source, addr).await.is_none());
    // Large events, far fewer than the event buffer holds, that the client
    // never reads: ~150 kB of JSON each, ~30 MB in all.
    const EVENTS: usize = 200;
    const _: () = assert!(EVENTS < luminex_service::events::EVENT_BUFFER);
    let txids = vec![luminex_primitives::Hash([7; 32]); 2_000];
    for height in 0..EVENTS as u64 {
        let e = luminex_service::events::Event::Block {
            hash: luminex_primitives::Hash::ZERO,
            height,
            txids: txids.clone(),
        };
        node.events.send(std::sync::Arc::new(e)).unwrap();
    }
    // The place frees once a send has waited 10 s: until a deadline.
    let fresh = subscribed_within(
        source,
        addr,
        Duration::from_secs(120),
        "the WebSocket that stopped reading kept its place",
    )
    .await;
    drop((stuck, fresh));
    stop.notify_one();
    joined(server).await;
}

/// Waits for a stopped server's task to return.
async fn joined(server: tokio::task::JoinHandle<()>) {
    tokio::time::timeout(Duration::from_secs(60), server)
        .await
        .expect("serve returns once its WebSockets closed")
        .unwrap();
}

/// Upgraded connections stay in the listener's connection table: they
/// count against the per-client cap until they close, their messages are
/// bounded, and they close when the listener stops.
#[tokio::test(flavor = "multi_thread")]
async fn websockets_count_against_the_connection_limits_and_close_at_shutdown() {
    let node = crate::support::memory_node();
    let (addr, stop, server) = serve_limited(&node, 2).await;
    let crowd = std::net::Ipv4Addr::new(127, 0, 0, 20);
    let (mut tx1, mut rx1) = ws_from(crowd, addr).await.split();
    let (mut tx2, mut rx2) = ws_from(crowd, addr).await.split();
    for (tx, rx) in [(&mut tx1, &mut rx1), (&mut tx2, &mut rx2)] {
        assert_eq!(
            say(tx, rx, r#"{"subscribe": "blocks"}"#).await["type"],
            "subscribed"
        );
    }
    // A third connection from the same address is past the cap.
    let mut third = {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(std::net::SocketAddr::new(crowd.into(), 0)).unwrap();
        s.connect(addr).await.unwrap()
    };
    // (It is closed unanswered: a request on it gets nothing back.)
    let _ = tokio::io::AsyncWriteExt::write_all(
        &mut third,
        b"GET /health/live HTTP/1.1\r\nhost: x\r\n\r\n",
    )
    .await;
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::io::AsyncReadExt::read(&mut third, &mut buf),
    )
    .await
    .expect("the third connection is closed");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    // A message past the bound closes that WebSocket (1009: too big) …
    tx1.send(Message::Text("x".repeat(64 * 1024).into()))
        .await
        .unwrap();
    assert_eq!(close_code(&mut rx1).await, Some(1009));
    drop((tx1, rx1));
    // … and frees its place: a new one from the address is served, once
    // the server has seen the first go (no fixed wait: until a deadline).
    let (mut tx3, mut rx3) = subscribed_within(
        crowd,
        addr,
        Duration::from_secs(60),
        "the closed WebSocket's place was never freed",
    )
    .await;
    // The listener stops: its WebSockets are closed as going away (1001)
    // and serve returns.
    stop.notify_one();
    assert_eq!(close_code(&mut rx2).await, Some(1001));
    assert_eq!(close_code(&mut rx3).await, Some(1001));
    drop((&mut tx2, &mut tx3));
    joined(server).await;
}

/// Another site's page cannot open WebSockets to the node (it could hold
/// the connections its browser's address may have); the node's own pages,
/// clients that are not browsers, and configured CORS origins can.
#[tokio::test(flavor = "multi_thread")]
async fn websockets_from_other_sites_are_refused_unless_configured() {
    let node = crate::support::memory_node();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let opts = luminex_api::ApiOptions {
        cors_origins: vec!["https://explorer.example".into()],
        ..luminex_api::ApiOptions::default()
    };
    let app = luminex_api::router_with(node.clone(), opts);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    for refused in [
        &[("origin", "http://evil.example")][..],
        &[
            ("origin", "http://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        &[
            ("origin", "http://localhost:1"),
            ("sec-fetch-site", "same-site"),
        ],
        &[("origin", "null")],
    ] {
        match ws_with_headers(addr, refused).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
                assert_eq!(r.status(), 403, "{refused:?}")
            }
            other => panic!("{refused:?}: expected 403, got {:?}", other.map(|_| ())),
        }
    }
    let own = format!("http://{addr}");
    for allowed in [
        &[][..],
        &[
            ("sec-fetch-site", "same-origin"),
            ("origin", "http://proxy.example"),
        ],
        &[("origin", own.as_str())],
        &[
            ("origin", "https://explorer.example"),
            ("sec-fetch-site", "cross-site"),
        ],
    ] {
        assert!(ws_with_headers(addr, allowed).await.is_ok(), "{allowed:?}");
    }
}

/// Opens `/ws` at `addr` with `headers` added to the handshake.
async fn ws_with_headers(
    addr: std::net::SocketAddr,
    headers: &[(&str, &str)],
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{addr}/ws").into_client_request().unwrap();
    for (k, v) in headers {
        req.headers_mut().insert(
            axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}
