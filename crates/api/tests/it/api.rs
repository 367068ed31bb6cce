//! The REST API in process: every route, its happy path and its bad inputs.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use luminex_api::router;
use luminex_ledger::testkit::{lock_of, transfer};
use luminex_primitives::{Amount, Encode, OutPoint, TxOut};
use luminex_service::Node;
use serde_json::Value;
use tower::ServiceExt;

use crate::support::memory_node;

async fn call(
    node: &Arc<Node>,
    method: &str,
    uri: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value, String) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = router(node.clone())
        .oneshot(req.body(Body::from(body)).unwrap())
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

async fn post_json(node: &Arc<Node>, uri: &str, body: &Value) -> (StatusCode, Value) {
    let (s, v, _) = call(
        node,
        "POST",
        uri,
        Some("application/json"),
        serde_json::to_vec(body).unwrap(),
    )
    .await;
    (s, v)
}

async fn get(node: &Arc<Node>, uri: &str) -> (StatusCode, Value) {
    let (s, v, _) = call(node, "GET", uri, None, vec![]).await;
    (s, v)
}

/// A signed transfer of 5 coins from dev key 0 to dev key 1.
fn payment(node: &Node) -> luminex_primitives::Transaction {
    payment_from(node, 0)
}

/// A signed transfer of 5 coins from dev key `from` to dev key 1.
fn payment_from(node: &Node, from: u32) -> luminex_primitives::Transaction {
    let k0 = node.spec.dev_key(from).unwrap();
    let k1 = node.spec.dev_key(1).unwrap();
    let coins = node.chain.address_utxos(&lock_of(&k0), 10).unwrap();
    transfer(
        &node.spec,
        &k0,
        &coins[..1],
        vec![TxOut {
            amount: Amount::from_coins(5).unwrap(),
            lock: lock_of(&k1),
        }],
    )
}

fn assert_problem(status: StatusCode, v: &Value, ct: &str, expected: StatusCode) {
    assert_eq!(status, expected, "{v}");
    assert!(status.is_client_error(), "{status}");
    assert_eq!(ct, "application/problem+json");
    assert_eq!(v["status"], status.as_u16());
    assert!(v["code"].as_str().is_some_and(|c| !c.is_empty()), "{v}");
    assert!(v["detail"].is_string());
}

#[tokio::test]
async fn broadcast_confirm_and_query_every_route() {
    let node = memory_node();
    let tx = payment(&node);
    let txid = tx.txid().to_string();
    // JSON form.
    let body = serde_json::to_vec(&serde_json::json!({ "tx": hex::encode(tx.encode()) })).unwrap();
    let (s, v, _) = call(
        &node,
        "POST",
        "/transactions/broadcast",
        Some("application/json"),
        body.clone(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["txid"], txid);
    // The same again: a conflict with itself.
    let (s, v, ct) = call(
        &node,
        "POST",
        "/transactions/broadcast",
        Some("application/json"),
        body,
    )
    .await;
    assert_problem(s, &v, &ct, StatusCode::CONFLICT);
    assert_eq!(v["code"], "already-known");
    // Pending.
    let (s, v) = get(&node, &format!("/transactions/{txid}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "pending");
    assert!(v["fee"].as_u64().unwrap() > 0);
    let k1 = node
        .spec
        .address(node.spec.dev_key(1).unwrap().public_key().lock())
        .to_string();
    let (_, b) = get(&node, &format!("/address/{k1}/balance")).await;
    assert_eq!(
        b["pending"].as_u64().unwrap() - b["confirmed"].as_u64().unwrap(),
        500_000_000
    );

    // Produce a block: confirmed everywhere.
    let block = node.produce_block().unwrap();
    assert_eq!(block.txs.len(), 2);
    let (s, v) = get(&node, &format!("/transactions/{txid}")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "confirmed");
    assert_eq!(v["height"], 1);
    assert_eq!(v["confirmations"], 1);
    for id in ["1".to_string(), block.hash().to_string()] {
        let (s, v) = get(&node, &format!("/blocks/{id}")).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["hash"], block.hash().to_string());
        assert_eq!(v["txids"][1], txid);
    }
    let (_, b) = get(&node, &format!("/address/{k1}/balance")).await;
    assert_eq!(
        b["confirmed"].as_u64().unwrap(),
        25_000_000_000_000_000 + 500_000_000
    );
    assert_eq!(b["confirmed_coins"], "250000005");
    let (_, u) = get(&node, &format!("/address/{k1}/utxos")).await;
    assert_eq!(u["utxos"].as_array().unwrap().len(), 2);
    let (_, h) = get(&node, &format!("/address/{k1}/transactions?limit=1")).await;
    assert_eq!(h["transactions"][0]["txid"], txid);
    let cursor = h["next_cursor"].as_str().unwrap().to_string();
    let (s, h2) = get(
        &node,
        &format!("/address/{k1}/transactions?cursor={cursor}"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        h2["transactions"].as_array().unwrap().len(),
        1,
        "the genesis allocation"
    );
    let (_, sync) = get(&node, "/health/block-sync").await;
    assert_eq!(sync["height"], 1);
    assert_eq!(sync["hash"], block.hash().to_string());
    let (_, st) = get(&node, "/health/node-status").await;
    assert_eq!(st["chain"], "dev");
    assert_eq!(st["mempool_txs"], 0);

    // Raw-bytes form, spending the new coin.
    let k1key = node.spec.dev_key(1).unwrap();
    let coin = (
        OutPoint {
            txid: tx.txid(),
            vout: 0,
        },
        luminex_ledger::Coin {
            output: tx.outputs[0],
            height: 1,
            is_coinbase: false,
        },
    );
    let t2 = transfer(
        &node.spec,
        &k1key,
        &[coin],
        vec![TxOut {
            amount: Amount::from_coins(1).unwrap(),
            lock: lock_of(&k1key),
        }],
    );
    let (s, v, _) = call(
        &node,
        "POST",
        "/transactions/broadcast",
        Some("application/octet-stream"),
        t2.encode(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

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

#[tokio::test]
async fn explorer_routes() {
    let node = memory_node();
    let tx = payment(&node);
    node.submit(tx.clone()).unwrap();
    let b1 = node.produce_block().unwrap();
    let b2 = node.produce_block().unwrap();
    let (s, v) = get(&node, "/blocks").await;
    assert_eq!(s, StatusCode::OK);
    let heights: Vec<u64> = v["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, vec![2, 1, 0]);
    assert_eq!(v["blocks"][0]["hash"], b2.hash().to_string());
    assert_eq!(v["blocks"][1]["tx_count"], 2);
    let (_, v) = get(&node, "/blocks?from=1&limit=1").await;
    assert_eq!(v["blocks"][0]["height"], 1);
    assert_eq!(v["next_from"], 0);

    let (_, v) = get(&node, "/search?q=1").await;
    assert_eq!(
        (v["kind"].as_str().unwrap(), v["hash"].as_str().unwrap()),
        ("block", b1.hash().to_string().as_str())
    );
    let (_, v) = get(&node, &format!("/search?q={}", b2.hash())).await;
    assert_eq!(v["height"], 2);
    let (_, v) = get(&node, &format!("/search?q={}", tx.txid())).await;
    assert_eq!(
        (v["kind"].as_str().unwrap(), v["height"].as_u64().unwrap()),
        ("transaction", 1)
    );
    let k1 = node
        .spec
        .address(node.spec.dev_key(1).unwrap().public_key().lock())
        .to_string();
    let (_, v) = get(&node, &format!("/search?q={k1}")).await;
    assert_eq!(v["kind"], "address");
    assert_eq!(v["utxo_count"], 2);

    let (_, v) = get(&node, "/stats").await;
    assert_eq!(v["height"], 2);
    // Four genesis allocations plus two subsidies (fees recycle).
    assert_eq!(
        v["supply"].as_u64().unwrap(),
        4 * 25_000_000_000_000_000 + 2 * 5_000_000_000
    );
    assert!(v["tps"]["1h"].as_f64().unwrap() > 0.0);

    let (s, v) = get(&node, "/transactions/estimate-fee?blocks=2").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["fee_rate"], node.spec.min_fee_rate);

    // History filters and CSV.
    let (_, v) = get(&node, &format!("/address/{k1}/transactions?direction=in")).await;
    assert_eq!(
        v["transactions"].as_array().unwrap().len(),
        2,
        "genesis allocation and the payment"
    );
    let (_, v) = get(&node, &format!("/address/{k1}/transactions?direction=out")).await;
    assert!(v["transactions"].as_array().unwrap().is_empty());
    let (_, v) = get(
        &node,
        &format!("/address/{k1}/transactions?from_height=1&to_height=1"),
    )
    .await;
    assert_eq!(v["transactions"][0]["txid"], tx.txid().to_string());
    assert_eq!(v["transactions"].as_array().unwrap().len(), 1);
    let (s, _, ct) = call(
        &node,
        "GET",
        &format!("/address/{k1}/transactions?format=csv"),
        None,
        vec![],
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(ct.starts_with("text/csv"));
    let (s, v) = get(&node, "/health/ready").await;
    assert_eq!((s, v["height"].as_u64().unwrap()), (StatusCode::OK, 2));
    let (_, v) = get(&node, "/health/node-status").await;
    assert!(v["memory_bytes"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn create_sign_and_broadcast_a_payment() {
    let node = memory_node();
    let k0 = node.spec.dev_key(0).unwrap();
    let from = node.spec.address(k0.public_key().lock()).to_string();
    let to = node
        .spec
        .address(node.spec.dev_key(1).unwrap().public_key().lock())
        .to_string();
    let (s, v) = post_json(
        &node,
        "/transactions/create",
        &serde_json::json!({ "from": from, "to": to, "amount": "2.5", "expiry_height": 100, "data": hex::encode("invoice 42") }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["witnesses_needed"], 1);
    // Sign the message with the key, add the witness, broadcast.
    let mut tx = <luminex_primitives::Transaction as luminex_primitives::Decode>::decode_all(
        &hex::decode(v["tx"].as_str().unwrap()).unwrap(),
    )
    .unwrap();
    assert!(tx.witnesses.is_empty());
    assert_eq!(tx.expiry_height, 100);
    assert_eq!((tx.version, tx.data.as_slice()), (2, &b"invoice 42"[..]));
    let msg = luminex_primitives::Hash(
        hex::decode(v["signature_message"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap(),
    );
    tx.witnesses = vec![luminex_primitives::Witness::Key {
        public_key: k0.public_key().clone(),
        signature: k0.sign(&msg),
    }];
    let (s, r, _) = call(
        &node,
        "POST",
        "/transactions/broadcast",
        Some("application/octet-stream"),
        tx.encode(),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["txid"], v["txid"]);
    let e = node.mempool.read().get(&tx.txid()).unwrap().clone();
    assert_eq!(e.fee.base(), v["fee"].as_u64().unwrap());
    let (_, shown) = get(&node, &format!("/transactions/{}", tx.txid())).await;
    assert_eq!(
        shown["data"],
        hex::encode("invoice 42"),
        "the data is shown"
    );
    // Integer base units work too, and the next payment spends the pending change.
    let body =
        serde_json::to_vec(&serde_json::json!({ "from": from, "to": to, "amount": 1000 })).unwrap();
    let (s, v2, _) = call(
        &node,
        "POST",
        "/transactions/create",
        Some("application/json"),
        body,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v2}");
    assert_eq!(v2["inputs"][0]["txid"], v["txid"]);

    let poor = node
        .spec
        .address(
            luminex_crypto::SigningKey::from_seed(luminex_primitives::SchemeId::MlDsa65, &[77; 32])
                .public_key()
                .lock(),
        )
        .to_string();
    for (body, status, code) in [
        ("{".to_string(), StatusCode::BAD_REQUEST, "bad-json"),
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":1,"memo":"x"}}"#),
            StatusCode::BAD_REQUEST,
            "bad-json",
        ),
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":-5}}"#),
            StatusCode::BAD_REQUEST,
            "bad-json",
        ),
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":99999999999999999999}}"#),
            StatusCode::BAD_REQUEST,
            "bad-json",
        ),
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":"1.000000001"}}"#),
            StatusCode::BAD_REQUEST,
            "bad-amount",
        ),
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":0}}"#),
            StatusCode::BAD_REQUEST,
            "bad-amount",
        ),
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":1,"fee_rate":0}}"#),
            StatusCode::BAD_REQUEST,
            "bad-fee-rate",
        ),
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":1,"data":"zz"}}"#),
            StatusCode::BAD_REQUEST,
            "bad-data",
        ),
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":1,"data":""}}"#),
            StatusCode::BAD_REQUEST,
            "bad-data",
        ),
        (
            format!(
                r#"{{"from":"{from}","to":"{to}","amount":1,"data":"{}"}}"#,
                "ab".repeat(81)
            ),
            StatusCode::BAD_REQUEST,
            "bad-data",
        ),
        (
            format!(r#"{{"from":"nope","to":"{to}","amount":1}}"#),
            StatusCode::BAD_REQUEST,
            "bad-address",
        ),
        (
            format!(r#"{{"from":"{poor}","to":"{to}","amount":1}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "insufficient-funds",
        ),
    ] {
        let (s, v, ct) = call(
            &node,
            "POST",
            "/transactions/create",
            Some("application/json"),
            body.into_bytes(),
        )
        .await;
        assert_eq!((s, v["code"].as_str().unwrap()), (status, code), "{v}");
        assert_eq!(ct, "application/problem+json");
    }
    assert_eq!(
        node.mempool.read().len(),
        1,
        "creating never changes the mempool"
    );
}

/// The fee estimate rises above the minimum when the mempool holds more
/// than the requested number of blocks can take.
#[tokio::test]
async fn fee_estimate_follows_mempool_depth() {
    let mut spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    spec.max_block_bytes = 12_000; // two ML-DSA-65 transfers
    let node = crate::support::memory_node_for(spec);
    for k in 0..3 {
        node.submit(payment_from(&node, k)).unwrap();
    }
    let min = node.spec.min_fee_rate;
    assert!(
        node.estimate_fee_rate(1) > min,
        "three transfers do not fit one block"
    );
    assert_eq!(node.estimate_fee_rate(2), min, "they fit two");
    let (_, v) = get(&node, "/transactions/estimate-fee?blocks=1").await;
    assert_eq!(v["fee_rate"].as_u64().unwrap(), node.estimate_fee_rate(1));
}

#[tokio::test]
async fn multisig_outputs_show_their_policy_and_spend_through_the_api() {
    use luminex_ledger::testkit::TestMultisig;
    let node = memory_node();
    let ms = TestMultisig::new(2, &[luminex_primitives::SchemeId::MlDsa65; 3], 21);
    let k0 = node.spec.dev_key(0).unwrap();
    let coins = node.chain.address_utxos(&lock_of(&k0), 10).unwrap();
    let fund = transfer(
        &node.spec,
        &k0,
        &coins[..1],
        vec![TxOut {
            amount: Amount::from_coins(5).unwrap(),
            lock: ms.lock(),
        }],
    );
    let (s, v) = post_json(
        &node,
        "/transactions/broadcast",
        &serde_json::json!({ "tx": hex::encode(fund.encode()) }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    node.produce_block().unwrap();
    let (_, v) = get(&node, &format!("/transactions/{}", fund.txid())).await;
    assert_eq!(v["outputs"][0]["lock"], "multisig");
    assert_eq!(v["outputs"][0]["multisig"]["threshold"], 2);
    assert_eq!(v["outputs"][0]["multisig"]["keys"], 3);
    assert_eq!(v["outputs"][1]["lock"], "ml-dsa-65");
    assert!(v["outputs"][1].get("multisig").is_none());
    let addr = node.spec.address(ms.lock()).to_string();
    assert_eq!(v["outputs"][0]["address"], addr);
    let (_, b) = get(&node, &format!("/address/{addr}/balance")).await;
    assert_eq!(b["confirmed"], 500_000_000);
    assert_eq!(b["lock"], "multisig");
    // A bare signing message cannot spend it.
    let (s, v) = post_json(
        &node,
        "/transactions/create",
        &serde_json::json!({ "from": addr, "to": addr, "amount": 1000 }),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(v["code"], "multisig-from");
    // Two of the three keys spend it; one is refused with its reason.
    let coin = node.chain.address_utxos(&ms.lock(), 10).unwrap()[0];
    let to = lock_of(&node.spec.dev_key(1).unwrap());
    let one = {
        let mut t = ms.spend(&node.spec, &coin, to, &[0, 1]);
        let msg = t
            .signature_message(&node.spec.genesis_hash(), &[coin.1.output])
            .unwrap();
        t.witnesses = vec![ms.witness(&[1], &msg)];
        t
    };
    let (s, v) = post_json(
        &node,
        "/transactions/broadcast",
        &serde_json::json!({ "tx": hex::encode(one.encode()) }),
    )
    .await;
    assert!(s.is_client_error(), "{v}");
    assert_eq!(v["code"], "multisig-too-few-signatures");
    let spend = ms.spend(&node.spec, &coin, to, &[0, 2]);
    let (s, v) = post_json(
        &node,
        "/transactions/broadcast",
        &serde_json::json!({ "tx": hex::encode(spend.encode()) }),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    node.produce_block().unwrap();
    let (_, v) = get(&node, &format!("/transactions/{}", spend.txid())).await;
    assert_eq!(v["status"], "confirmed");
    let (_, b) = get(&node, &format!("/address/{addr}/balance")).await;
    assert_eq!(b["confirmed"], 0);
}

/// A node whose database refused a write says so on both health routes:
/// liveness fails (an orchestrator restarts it, the remedy), readiness too.
#[tokio::test]
async fn a_halted_store_fails_liveness_and_readiness() {
    use luminex_storage::faults::{Fault, FaultPlan, FaultyStore};
    use luminex_storage::{KvStore, MemoryStore};

    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let kv: Arc<dyn KvStore> = faulty.clone();
    let spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    let node = luminex_service::testkit::node_over(kv, spec).unwrap();
    node.produce_block().unwrap();
    assert_eq!(get(&node, "/health/live").await.0, StatusCode::OK);
    assert_eq!(get(&node, "/health/ready").await.0, StatusCode::OK);

    faulty.set_plan(FaultPlan::one(Fault::FailSync { nth: 1 }));
    assert!(node.produce_block().is_err());
    faulty.clear();
    for route in ["/health/live", "/health/ready"] {
        let (s, v) = get(&node, route).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{route}: {v}");
        assert_eq!(v["status"], "storage-halted", "{route}");
        assert!(v["error"].as_str().unwrap().contains("injected"), "{v}");
    }
}
