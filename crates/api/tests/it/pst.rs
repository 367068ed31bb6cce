//! `/pst/…`: a 2-of-3 multisig spend goes through inspect, combine,
//! finalize and broadcast; bad containers get problem documents with stable
//! codes and change nothing; responses match the OpenAPI document.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use luminex_api::router;
use luminex_ledger::testkit::{lock_of, transfer};
use luminex_primitives::{Amount, TxOut};
use luminex_service::Node;
use luminex_wallet::multisig::MultisigPolicy;
use luminex_wallet::pst::{InputPolicy, PartialTx};
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::openapi::validate;
use crate::support::{call, memory_node};

async fn post(node: &Arc<Node>, uri: &str, body: Vec<u8>) -> (StatusCode, Value, String) {
    call(node, "POST", uri, Some("application/json"), body).await
}

async fn post_json(node: &Arc<Node>, uri: &str, body: Value) -> (StatusCode, Value) {
    let (s, v, ct) = post(node, uri, serde_json::to_vec(&body).unwrap()).await;
    if !s.is_success() {
        assert_eq!(ct, "application/problem+json", "{uri}: {v}");
    }
    (s, v)
}

/// A container paying `amount` coins from the policy's coin to `to`.
fn container(
    node: &Node,
    p: &MultisigPolicy,
    to: luminex_primitives::Lock,
    amount: u64,
) -> PartialTx {
    let lock = p.lock();
    let coins: Vec<_> = node
        .chain
        .address_utxos(&lock, 10)
        .unwrap()
        .into_iter()
        .map(|(op, c)| (op, c.output))
        .collect();
    let plan = luminex_wallet::plan_payment_with(
        &node.spec,
        &coins,
        |l| *l == lock,
        to,
        Amount::from_coins(amount).unwrap(),
        lock,
        node.spec.min_fee_rate,
        Vec::new(),
        &|_| p.placeholder(),
    )
    .unwrap();
    let n = plan.tx.inputs.len();
    PartialTx::new(
        &node.spec,
        plan.tx,
        plan.spent,
        vec![InputPolicy::Multisig(p.clone()); n],
    )
    .unwrap()
}

fn hex_of(p: &PartialTx) -> String {
    hex::encode(p.to_bytes())
}

#[tokio::test]
async fn a_two_of_three_spend_goes_through_the_pst_routes() {
    let node = memory_node();
    let spec = node.spec.clone();
    let keys: Vec<_> = (0..3).map(|i| spec.dev_key(i).unwrap()).collect();
    let policy = MultisigPolicy::new(
        &spec,
        2,
        keys.iter().map(|k| k.public_key().clone()).collect(),
    )
    .unwrap();
    let coins = node.chain.address_utxos(&lock_of(&keys[0]), 10).unwrap();
    let fund = transfer(
        &spec,
        &keys[0],
        &coins[..1],
        vec![TxOut {
            amount: Amount::from_coins(5).unwrap(),
            lock: policy.lock(),
        }],
    );
    node.submit(fund).unwrap();
    node.produce_block().unwrap();
    let (_, doc) = post_json(&node, "/pst/inspect", json!({"pst": "00"})).await;
    assert_eq!(doc["code"], "bad-pst");
    let doc: Value = {
        let resp = router(node.clone())
            .oneshot(
                Request::builder()
                    .uri("/openapi.json")
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
            .unwrap();
        serde_json::from_slice(&resp.into_body().collect().await.unwrap().to_bytes()).unwrap()
    };

    let receiver = lock_of(&keys[1]);
    let unsigned = container(&node, &policy, receiver, 1);
    let mut a = unsigned.clone();
    a.sign(&spec, [&keys[0]]).unwrap();
    let mut c = unsigned.clone();
    c.sign(&spec, [&keys[2]]).unwrap();

    // Inspect: a multisig input of the chain, not yet complete.
    let (s, v) = post_json(&node, "/pst/inspect", json!({"pst": hex_of(&a)})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    validate(&doc, "/pst/inspect", "post", 200, &v);
    assert_eq!(v["txid"], unsigned.tx.txid().to_string());
    assert_eq!(v["complete"], false);
    let input = &v["inputs"][0];
    assert_eq!(input["policy"], "multisig");
    assert_eq!(
        (input["threshold"].as_u64(), input["keys"].as_u64()),
        (Some(2), Some(3))
    );
    assert_eq!(input["signed_by"].as_array().unwrap().len(), 1);
    assert_eq!(input["matches_chain"], true);
    assert_eq!(v["outputs"][0]["amount"], 100_000_000);
    assert!(v["description"]
        .as_str()
        .unwrap()
        .contains("1 of 2 signatures"));

    // One signature is not enough.
    let (s, v) = post_json(&node, "/pst/finalize", json!({"pst": hex_of(&a)})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("pst-incomplete"))
    );
    let (s, v) = post_json(&node, "/pst/broadcast", json!({"pst": hex_of(&a)})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("pst-incomplete"))
    );

    // Containers of another transaction do not combine.
    let other = container(&node, &policy, receiver, 2);
    let (s, v) = post_json(
        &node,
        "/pst/combine",
        json!({"psts": [hex_of(&a), hex_of(&other)]}),
    )
    .await;
    assert_eq!(
        (s, v["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("pst-different-transaction")
        )
    );

    // A container that understates what it spends is refused at broadcast.
    let mut lying = unsigned.clone();
    lying.inputs[0].spent.amount = Amount::from_coins(4).unwrap();
    let (s, v) = post_json(&node, "/pst/inspect", json!({"pst": hex_of(&lying)})).await;
    assert_eq!(
        (s, &v["inputs"][0]["matches_chain"]),
        (StatusCode::OK, &json!(false))
    );
    let (s, v) = post_json(&node, "/pst/broadcast", json!({"pst": hex_of(&lying)})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("pst-spent-mismatch"))
    );

    // A signature over another transaction is refused.
    let mut forged = other.clone();
    forged.inputs[0].signatures = a.inputs[0].signatures.clone();
    let (s, v) = post_json(&node, "/pst/inspect", json!({"pst": hex_of(&forged)})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("pst-bad-signature"))
    );

    // Combine, finalize, broadcast.
    let (s, v) = post_json(
        &node,
        "/pst/combine",
        json!({"psts": [hex_of(&a), hex_of(&c), hex_of(&a)]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    validate(&doc, "/pst/combine", "post", 200, &v);
    assert_eq!(v["complete"], true);
    let both = v["pst"].as_str().unwrap().to_string();
    let (s, fin) = post_json(&node, "/pst/finalize", json!({"pst": both})).await;
    assert_eq!(s, StatusCode::OK, "{fin}");
    validate(&doc, "/pst/finalize", "post", 200, &fin);
    assert_eq!(fin["txid"], unsigned.tx.txid().to_string());
    assert!(
        node.mempool.read().is_empty(),
        "nothing was submitted so far"
    );
    let (s, v) = post_json(&node, "/pst/broadcast", json!({"pst": both})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    validate(&doc, "/pst/broadcast", "post", 200, &v);
    assert_eq!(v["txid"], fin["txid"]);
    let (s, v) = post_json(&node, "/pst/broadcast", json!({"pst": both})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{v}");
    node.produce_block().unwrap();
    let confirmed = node.chain.transaction(&unsigned.tx.txid()).unwrap();
    assert!(confirmed.is_some());
    // Broadcast again once confirmed: already in the chain, as
    // /transactions/broadcast says, not a container whose outputs are gone.
    let (s, v) = post_json(&node, "/pst/broadcast", json!({"pst": both})).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::CONFLICT, Some("already-in-chain")),
        "{v}"
    );
}

#[tokio::test]
async fn malformed_requests_are_problems() {
    let node = memory_node();
    for (uri, body, code) in [
        ("/pst/inspect", json!({"pst": "zz"}), "bad-hex"),
        ("/pst/inspect", json!({"pst": "00"}), "bad-pst"),
        (
            "/pst/finalize",
            json!({"pst": hex::encode(b"lmxpst\x02")}),
            "bad-pst",
        ),
        ("/pst/inspect", json!({"tx": "00"}), "bad-json"),
        ("/pst/combine", json!({"psts": ["00"]}), "bad-pst-count"),
        ("/pst/broadcast", json!([]), "bad-json"),
    ] {
        let (s, v) = post_json(&node, uri, body).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some(code)),
            "{uri} {v}"
        );
    }
    let (s, v, ct) = post(&node, "/pst/inspect", b"not json".to_vec()).await;
    assert_eq!(
        (s, ct.as_str()),
        (StatusCode::BAD_REQUEST, "application/problem+json")
    );
    assert_eq!(v["code"], "bad-json");
    // JSON only: another media type is 415; none is read as JSON.
    let body = serde_json::to_vec(&json!({"pst": "zz"})).unwrap();
    for route in ["/pst/inspect", "/pst/broadcast", "/transactions/create"] {
        for ct in [
            "text/plain",
            "application/octet-stream",
            "application/jsonx",
        ] {
            let (s, v, _) = call(&node, "POST", route, Some(ct), body.clone()).await;
            assert_eq!(
                (s, v["code"].as_str()),
                (
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    Some("unsupported-media-type")
                ),
                "{route} {ct}"
            );
        }
    }
    for ct in [None, Some("application/json; charset=utf-8")] {
        let (s, v, _) = call(&node, "POST", "/pst/inspect", ct, body.clone()).await;
        assert_eq!(
            (s, v["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("bad-hex"))
        );
    }
}
