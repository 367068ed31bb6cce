//! API guards: rate limits (429 with Retry-After, recovery after the
//! window, tighter limits on expensive routes, loopback exemption), admin
//! API keys (401 / 403), gzip and CORS.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use luminex_api::guard::{hash_key, AdminKeys, RateLimitConfig};
use luminex_api::{router_with, ApiOptions};
use tower::ServiceExt;

use crate::support::memory_node;

/// A client address used only as a rate-limit key (no traffic is sent).
const CLIENT: &str = "198.51.100.7:40000";

async fn send(
    r: &Router,
    uri: &str,
    from: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut req = Request::builder().uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(from.parse::<SocketAddr>().unwrap()));
    let resp = r.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes();
    (
        parts.status,
        parts.headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

fn limited(exempt_loopback: bool) -> Router {
    router_with(
        memory_node(),
        ApiOptions {
            limits: RateLimitConfig {
                per_second: 1,
                burst: 3,
                expensive_per_second: 1,
                expensive_burst: 1,
                exempt_loopback,
            },
            ..ApiOptions::default()
        },
    )
}

#[tokio::test]
async fn a_burst_past_the_limit_gets_429_and_recovers_after_the_window() {
    let r = limited(false);
    for _ in 0..3 {
        assert_eq!(
            send(&r, "/health/live", CLIENT, &[]).await.0,
            StatusCode::OK
        );
    }
    let (s, h, body) = send(&r, "/health/live", CLIENT, &[]).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = h
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry));
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["code"], "rate-limited");
    // Another client is not affected.
    assert_eq!(
        send(&r, "/health/live", "198.51.100.8:1", &[]).await.0,
        StatusCode::OK
    );
    // After the window the client is served again.
    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(
        send(&r, "/health/live", CLIENT, &[]).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn expensive_routes_have_a_tighter_limit_and_loopback_is_exempt() {
    let r = limited(false);
    assert_eq!(send(&r, "/stats", CLIENT, &[]).await.0, StatusCode::OK);
    assert_eq!(
        send(&r, "/stats", CLIENT, &[]).await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The ordinary budget is separate.
    assert_eq!(send(&r, "/blocks/0", CLIENT, &[]).await.0, StatusCode::OK);
    let r = limited(true);
    for _ in 0..20 {
        assert_eq!(
            send(&r, "/stats", "127.0.0.1:5000", &[]).await.0,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn admin_routes_need_a_valid_key() {
    let r = router_with(
        memory_node(),
        ApiOptions {
            admin_keys: AdminKeys(vec![hash_key("correct key")]),
            ..ApiOptions::default()
        },
    );
    for route in [
        "/admin/mempool",
        "/admin/diagnostics",
        "/debug/mempool",
        "/debug/genesis",
    ] {
        let (s, _, body) = send(&r, route, CLIENT, &[]).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{route}");
        assert!(body.contains("\"code\":\"unauthorized\""));
        assert_eq!(
            send(&r, route, CLIENT, &[("x-api-key", "wrong")]).await.0,
            StatusCode::FORBIDDEN,
            "{route}"
        );
        assert_eq!(
            send(&r, route, CLIENT, &[("authorization", "Bearer wrong")])
                .await
                .0,
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            send(&r, route, CLIENT, &[("x-api-key", "correct key")])
                .await
                .0,
            StatusCode::OK,
            "{route}"
        );
        assert_eq!(
            send(
                &r,
                route,
                CLIENT,
                &[("authorization", "Bearer correct key")]
            )
            .await
            .0,
            StatusCode::OK
        );
    }
    let (_, _, body) = send(
        &r,
        "/debug/genesis",
        CLIENT,
        &[("x-api-key", "correct key")],
    )
    .await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["spec"]["name"], "dev");
    // The peer list needs the key too; without networking it is a 503 problem.
    let peers = |h: &'static [(&'static str, &'static str)]| send(&r, "/debug/peers", CLIENT, h);
    assert_eq!(peers(&[]).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        peers(&[("x-api-key", "wrong")]).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, _, body) = peers(&[("x-api-key", "correct key")]).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("p2p-disabled"));
    // Without configured keys, admin routes refuse everyone.
    let r = router_with(memory_node(), ApiOptions::default());
    assert_eq!(
        send(&r, "/admin/mempool", CLIENT, &[("x-api-key", "anything")])
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn gzip_and_cors() {
    let r = router_with(
        memory_node(),
        ApiOptions {
            cors_origins: vec!["http://localhost:3000".into()],
            ..ApiOptions::default()
        },
    );
    let (s, h2, _) = send(
        &r,
        "/blocks/0",
        CLIENT,
        &[
            ("accept-encoding", "gzip"),
            ("origin", "http://localhost:3000"),
        ],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(h2.get("content-encoding").unwrap(), "gzip");
    assert_eq!(
        h2.get("access-control-allow-origin").unwrap(),
        "http://localhost:3000"
    );
    let (_, h3, _) = send(
        &r,
        "/blocks/0",
        CLIENT,
        &[("origin", "http://evil.example")],
    )
    .await;
    assert!(h3.get("access-control-allow-origin").is_none());
}
