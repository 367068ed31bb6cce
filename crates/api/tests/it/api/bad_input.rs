//! Every route's bad inputs: 4xx problems, and nothing changed.

use super::*;

/// A request (method, uri, content type, body) and the status it must get.
type Case<'a> = (&'a str, String, Option<&'a str>, Vec<u8>, StatusCode);

#[tokio::test]
async fn bad_input_gets_4xx_problems_and_changes_nothing() {
    let node = memory_node();
    let good = payment(&node);
    node.submit(good.clone()).unwrap();
    let addr = node
        .spec
        .address(node.spec.dev_key(0).unwrap().public_key().lock())
        .to_string();
    let mut bad_sig = payment_from(&node, 2);
    bad_sig.outputs[0].amount = Amount::from_coins(6).unwrap();
    let other_chain = luminex_primitives::Address {
        hrp: "lmx".into(),
        lock: node.spec.dev_key(0).unwrap().public_key().lock(),
    };
    let huge = vec![b'a'; luminex_api::MAX_BODY_BYTES + 10];
    let cases: Vec<Case> = vec![
        (
            "POST",
            "/transactions/broadcast".into(),
            Some("application/json"),
            b"{not json".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/transactions/broadcast".into(),
            Some("application/json"),
            b"{\"tx\": 5}".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/transactions/broadcast".into(),
            Some("application/json"),
            b"{\"tx\": \"zz\"}".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/transactions/broadcast".into(),
            Some("application/json"),
            b"{\"tx\": \"00\", \"x\": 1}".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/transactions/broadcast".into(),
            Some("application/json"),
            b"{\"tx\": \"0011\"}".to_vec(),
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/transactions/broadcast".into(),
            Some("application/octet-stream"),
            vec![0xff; 300],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/transactions/broadcast".into(),
            Some("application/octet-stream"),
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "POST",
            "/transactions/broadcast".into(),
            Some("text/plain"),
            b"hello".to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ),
        (
            "POST",
            "/transactions/broadcast".into(),
            Some("application/octet-stream"),
            huge,
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
        (
            "POST",
            "/transactions/broadcast".into(),
            Some("application/octet-stream"),
            bad_sig.encode(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            "POST",
            "/transactions/broadcast".into(),
            Some("application/octet-stream"),
            good.encode(),
            StatusCode::CONFLICT,
        ),
        (
            "GET",
            "/transactions/broadcast".into(),
            None,
            vec![],
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "GET",
            "/transactions/xyz".into(),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            format!("/transactions/{}", "ab".repeat(32)),
            None,
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            "/blocks/abc".into(),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            "/blocks/99999999999999999999".into(),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        // Past int64 (docs/api.md): refused, not looked up.
        (
            "GET",
            "/blocks/9223372036854775808".into(),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            "/blocks/999".into(),
            None,
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            format!("/blocks/{}", "cd".repeat(32)),
            None,
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            "GET",
            format!("/blocks/{}", "zz".repeat(32)),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            "/address/garbage/balance".into(),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            format!("/address/{other_chain}/balance"),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            "/address/%ff%fe/utxos".into(),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            "/address/lmxdev1qqqq/transactions".into(),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            format!("/address/{addr}/transactions?cursor=nonsense"),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            format!("/address/{addr}/transactions?cursor=5:abc"),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            format!("/address/{addr}/transactions?limit=0"),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            format!("/address/{addr}/transactions?limit=-3"),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "GET",
            format!("/address/{addr}/utxos?limit=99999999999"),
            None,
            vec![],
            StatusCode::BAD_REQUEST,
        ),
        (
            "DELETE",
            "/health/block-sync".into(),
            None,
            vec![],
            StatusCode::METHOD_NOT_ALLOWED,
        ),
        (
            "GET",
            "/no/such/route".into(),
            None,
            vec![],
            StatusCode::NOT_FOUND,
        ),
        (
            "POST",
            "/health/node-status".into(),
            Some("application/json"),
            b"{}".to_vec(),
            StatusCode::METHOD_NOT_ALLOWED,
        ),
    ];
    for (method, uri, ct, body, expected) in cases {
        let (s, v, content_type) = call(&node, method, &uri, ct, body).await;
        assert_problem(s, &v, &content_type, expected);
        // The node keeps serving and the mempool is unchanged.
        assert_eq!(node.mempool.read().len(), 1, "{method} {uri}");
        let (s, _) = get(&node, "/health/block-sync").await;
        assert_eq!(s, StatusCode::OK);
    }
    assert!(node.mempool.read().contains(&good.txid()));
}

/// Routes that need an index the node does not keep answer 501 with the
/// option to turn it on (the operator's choice, not a storage fault).
#[tokio::test]
async fn routes_of_an_index_turned_off_answer_501() {
    let node = luminex_service::testkit::memory_node_without_indexes();
    let addr = node
        .spec
        .address(node.spec.dev_key(0).unwrap().public_key().lock())
        .to_string();
    let txid = luminex_primitives::Hash([7; 32]);
    for (uri, option) in [
        (format!("/transactions/{txid}"), "--txindex"),
        (format!("/address/{addr}/balance"), "--addressindex"),
        (format!("/address/{addr}/utxos"), "--addressindex"),
        (format!("/address/{addr}/transactions"), "--addressindex"),
    ] {
        let (s, v, content_type) = call(&node, "GET", &uri, None, vec![]).await;
        assert_eq!(s, StatusCode::NOT_IMPLEMENTED, "{uri}: {v}");
        assert_eq!(content_type, "application/problem+json");
        assert_eq!(
            (v["status"].as_u64(), v["code"].as_str()),
            (Some(501), Some("index-off"))
        );
        assert!(v["detail"].as_str().unwrap().contains(option), "{uri}: {v}");
    }
}

/// A body declared too large is refused from its header, without reading
/// it; a body that fails while read is a 400, not a 413.
#[tokio::test]
async fn bodies_declared_too_large_or_unreadable_are_refused() {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let node = memory_node();
    let send = |body: axum::body::Body, length: Option<&str>| {
        let mut req = axum::http::Request::post("/transactions/broadcast")
            .header("content-type", "application/octet-stream");
        if let Some(l) = length {
            req = req.header("content-length", l);
        }
        let router = luminex_api::router(node.clone());
        async move {
            let resp = router.oneshot(req.body(body).unwrap()).await.unwrap();
            let status = resp.status();
            let bytes = resp.into_body().collect().await.unwrap().to_bytes();
            let v: Value = serde_json::from_slice(&bytes).unwrap();
            (status, v["code"].as_str().unwrap().to_string())
        }
    };
    // The header says 100 GB; the few bytes sent are never waited for.
    let (s, code) = send(axum::body::Body::from(vec![0u8; 10]), Some("100000000000")).await;
    assert_eq!(
        (s, code.as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body-too-large")
    );
    // A body whose stream fails midway.
    let failing = futures_util::stream::iter(vec![
        Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"00")),
        Err(std::io::Error::other("malformed chunk")),
    ]);
    let (s, code) = send(axum::body::Body::from_stream(failing), None).await;
    assert_eq!((s, code.as_str()), (StatusCode::BAD_REQUEST, "bad-body"));
    assert_eq!(node.mempool.read().len(), 0);
}
