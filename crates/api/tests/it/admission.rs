//! Broadcasts through the admission pipeline (ADR 0046): many at once, each
//! with the verdict it would get alone.

use std::collections::HashSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use luminex_api::router;
use luminex_ledger::testkit::{lock_of, transfer};
use luminex_primitives::{Amount, Encode, Transaction, TxOut};
use luminex_service::Node;
use serde_json::Value;
use tower::ServiceExt;

use crate::support::memory_node;

async fn broadcast(node: Arc<Node>, tx: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method("POST")
        .uri("/transactions/broadcast")
        .header("content-type", "application/octet-stream")
        .body(Body::from(tx))
        .unwrap();
    let resp = router(node).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Every genesis coin of dev keys 0–2 spent once, each transfer sent twice
/// at the same time, plus a second spend of the first coin and a transfer
/// of dev key 3 with a broken signature: each distinct valid transfer is admitted
/// exactly once, its twin is already known, the conflicting pair admits
/// one, the broken one is invalid, and the mempool holds exactly what was
/// admitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_broadcasts_each_get_their_own_verdict() {
    let node = memory_node();
    let to = lock_of(&node.spec.dev_key(1).unwrap());
    let pay = |amount: u64| {
        vec![TxOut {
            amount: Amount::from_coins(amount).unwrap(),
            lock: to,
        }]
    };
    let mut txs: Vec<Transaction> = Vec::new();
    for k in 0..3 {
        let key = node.spec.dev_key(k).unwrap();
        for coin in node.chain.address_utxos(&lock_of(&key), 1000).unwrap() {
            txs.push(transfer(&node.spec, &key, &[coin], pay(5)));
        }
    }
    assert!(txs.len() >= 3, "dev keys hold genesis coins");
    let key0 = node.spec.dev_key(0).unwrap();
    let coin0 = node.chain.address_utxos(&lock_of(&key0), 1).unwrap();
    let rival = transfer(&node.spec, &key0, &coin0, pay(6));
    let key3 = node.spec.dev_key(3).unwrap();
    let coin3 = node.chain.address_utxos(&lock_of(&key3), 1).unwrap();
    let mut broken = transfer(&node.spec, &key3, &coin3, pay(7));
    // Signed for 7 coins, claims 8.
    broken.outputs[0].amount = Amount::from_coins(8).unwrap();

    let mut sends = Vec::new();
    for tx in txs.iter().chain(txs.iter()).chain([&rival, &broken]) {
        let (node, bytes) = (node.clone(), tx.encode());
        sends.push(tokio::spawn(broadcast(node, bytes)));
    }
    let mut accepted = Vec::new();
    let mut refusals = Vec::new();
    for s in sends {
        let (status, v) = s.await.unwrap();
        if status == StatusCode::OK {
            accepted.push(v["txid"].as_str().unwrap().to_string());
        } else {
            refusals.push((status, v["code"].as_str().unwrap().to_string()));
        }
    }
    let distinct: HashSet<&String> = accepted.iter().collect();
    assert_eq!(
        distinct.len(),
        accepted.len(),
        "admitted twice: {accepted:?}"
    );
    // All but one of the first coin's two spends.
    assert_eq!(accepted.len(), txs.len(), "{refusals:?}");
    let first = [txs[0].txid().to_string(), rival.txid().to_string()];
    assert_eq!(
        accepted.iter().filter(|t| first.contains(t)).count(),
        1,
        "one spend of the contested coin"
    );
    for (status, code) in &refusals {
        match code.as_str() {
            "already-known" | "double-spend" => assert_eq!(*status, StatusCode::CONFLICT),
            _ => assert_eq!(*status, StatusCode::UNPROCESSABLE_ENTITY, "{code}"),
        }
    }
    assert_eq!(
        refusals
            .iter()
            .filter(|(s, _)| *s == StatusCode::UNPROCESSABLE_ENTITY)
            .count(),
        1,
        "only the broken signature is invalid: {refusals:?}"
    );
    let pool = node.mempool.read();
    assert_eq!(pool.len(), accepted.len());
    for t in &accepted {
        assert!(pool.contains(&t.parse().unwrap()), "{t} in the pool");
    }
}
