//! `POST /transactions/broadcast/batch`: one verdict per transaction, in
//! order, as if sent one by one; a request that is no batch of
//! transactions is refused whole and submits nothing.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use luminex_api::router;
use luminex_ledger::testkit::{lock_of, transfer};
use luminex_ledger::Coin;
use luminex_primitives::{Amount, Encode, OutPoint, Transaction, TxOut};
use luminex_service::Node;
use serde_json::{json, Value};
use tower::ServiceExt;

use crate::support::memory_node;

async fn post(node: &Arc<Node>, content_type: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method("POST")
        .uri("/transactions/broadcast/batch")
        .header("content-type", content_type)
        .body(Body::from(body))
        .unwrap();
    let resp = router(node.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The transactions back to back, as `application/octet-stream` sends them.
fn raw(txs: &[&Transaction]) -> Vec<u8> {
    txs.iter().flat_map(|t| t.encode()).collect()
}

/// Each result's txid, or its error's code.
fn verdicts(v: &Value) -> Vec<String> {
    v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| match r["txid"].as_str() {
            Some(t) => t.to_string(),
            None => r["error"]["code"].as_str().unwrap().to_string(),
        })
        .collect()
}

/// Transfers of every genesis coin of dev keys 0–2 to dev key 1.
fn genesis_transfers(node: &Node) -> Vec<Transaction> {
    let to = lock_of(&node.spec.dev_key(1).unwrap());
    let mut txs = Vec::new();
    for k in 0..3 {
        let key = node.spec.dev_key(k).unwrap();
        for coin in node.chain.address_utxos(&lock_of(&key), 1000).unwrap() {
            txs.push(transfer(
                &node.spec,
                &key,
                &[coin],
                vec![TxOut {
                    amount: Amount::from_coins(5).unwrap(),
                    lock: to,
                }],
            ));
        }
    }
    assert!(txs.len() >= 3, "dev keys hold genesis coins");
    txs
}

/// A transfer of `parent`'s first output (paid to dev key 1), one coin
/// less: the fee.
fn child_of(node: &Node, parent: &Transaction) -> Transaction {
    let key = node.spec.dev_key(1).unwrap();
    let coin = (
        OutPoint {
            txid: parent.txid(),
            vout: 0,
        },
        Coin {
            output: parent.outputs[0],
            height: 1,
            is_coinbase: false,
        },
    );
    transfer(
        &node.spec,
        &key,
        &[coin],
        vec![TxOut {
            amount: Amount::from_base(
                parent.outputs[0].amount.base() - Amount::from_coins(1).unwrap().base(),
            )
            .unwrap(),
            lock: lock_of(&node.spec.dev_key(1).unwrap()),
        }],
    )
}

/// Independent transfers, one sent twice, a child after its parent, a
/// broken signature and a child whose parent is nowhere: each gets the
/// verdict it would get alone, in the request's order, and the pool holds
/// exactly the admitted ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_transaction_gets_its_verdict_in_order() {
    let node = memory_node();
    let txs = genesis_transfers(&node);
    let child = child_of(&node, &txs[0]);
    let mut broken = txs[1].clone();
    broken.outputs[0].amount = Amount::from_coins(6).unwrap();
    let orphan = child_of(&node, &broken);
    let mut batch: Vec<&Transaction> = txs.iter().collect();
    batch.extend([&txs[2], &child, &broken, &orphan]);
    let (status, v) = post(&node, "application/octet-stream", raw(&batch)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let got = verdicts(&v);
    let mut want: Vec<String> = txs.iter().map(|t| t.txid().to_string()).collect();
    want.push("already-known".into());
    want.push(child.txid().to_string());
    // The broken copy spends txs[1]'s coin too: it conflicts before its
    // signature is looked at, as it would alone.
    want.push("double-spend".into());
    want.push("missing-inputs".into());
    assert_eq!(got, want);
    assert_eq!(v["accepted"], txs.len() + 1);
    assert_eq!(v["results"][txs.len()]["error"]["status"], 409);
    let pool = node.mempool.read();
    assert_eq!(pool.len(), txs.len() + 1);
    assert!(pool.contains(&child.txid()));
}

/// A child before its parent in the batch is admitted, as it would be sent
/// after it; two spends of one coin: the first in the batch wins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn children_first_and_double_spends_are_decided_in_order() {
    let node = memory_node();
    let txs = genesis_transfers(&node);
    let child = child_of(&node, &txs[0]);
    let grandchild = child_of(&node, &child);
    let (status, v) = post(
        &node,
        "application/octet-stream",
        raw(&[&grandchild, &child, &txs[0]]),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        verdicts(&v),
        [&grandchild, &child, &txs[0]].map(|t| t.txid().to_string())
    );

    let key = node.spec.dev_key(1).unwrap();
    let coin = node.chain.address_utxos(&lock_of(&key), 1).unwrap();
    let pay = |coins: u64| {
        transfer(
            &node.spec,
            &key,
            &coin,
            vec![TxOut {
                amount: Amount::from_coins(coins).unwrap(),
                lock: lock_of(&node.spec.dev_key(0).unwrap()),
            }],
        )
    };
    let (first, second) = (pay(7), pay(8));
    for _ in 0..3 {
        let (status, v) = post(&node, "application/octet-stream", raw(&[&first, &second])).await;
        assert_eq!(status, StatusCode::OK, "{v}");
        let got = verdicts(&v);
        // The first time the first spend is admitted; after that it is
        // already known, and the second is always the double spend.
        assert!(
            got[0] == first.txid().to_string() || got[0] == "already-known",
            "{got:?}"
        );
        assert_eq!(got[1], "double-spend");
    }
    assert!(node.mempool.read().contains(&first.txid()));
}

/// The JSON form: hex strings, the same verdicts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_batches_carry_hex() {
    let node = memory_node();
    let txs = genesis_transfers(&node);
    let body = json!({ "txs": txs.iter().map(|t| hex::encode(t.encode())).collect::<Vec<_>>() });
    let (status, v) = post(&node, "application/json", body.to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(
        verdicts(&v),
        txs.iter().map(|t| t.txid().to_string()).collect::<Vec<_>>()
    );
}

/// Media types compare without regard to case and parameters (RFC 9110):
/// `Application/JSON; charset=utf-8` is JSON, `APPLICATION/OCTET-STREAM`
/// raw bytes; a type that only starts like one is neither.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_types_compare_without_case() {
    let node = memory_node();
    let txs = genesis_transfers(&node);
    let (first, rest) = txs.split_at(1);
    let body = json!({ "txs": [hex::encode(first[0].encode())] });
    let (status, v) = post(
        &node,
        "Application/JSON; charset=utf-8",
        body.to_string().into_bytes(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(verdicts(&v), vec![first[0].txid().to_string()]);
    let (status, v) = post(
        &node,
        "APPLICATION/OCTET-STREAM",
        raw(&rest.iter().collect::<Vec<_>>()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(verdicts(&v).len(), rest.len());
    let (status, v) = post(&node, "application/jsonx", body.to_string().into_bytes()).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
}

/// Requests that are no batch of transactions: refused whole with a
/// problem naming the first bad one, and nothing is submitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_batch_is_refused_whole() {
    let node = memory_node();
    let txs = genesis_transfers(&node);
    let good = hex::encode(txs[0].encode());
    let cases: Vec<(&str, Vec<u8>, StatusCode, &str, &str)> = vec![
        (
            "application/json",
            json!({ "txs": [] }).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "empty-batch",
            "",
        ),
        (
            "application/octet-stream",
            Vec::new(),
            StatusCode::BAD_REQUEST,
            "empty-batch",
            "",
        ),
        (
            "application/json",
            json!({ "txs": [good, good, "zz"] })
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "bad-hex",
            "transaction 2",
        ),
        (
            "application/json",
            json!({ "txs": [good, "00"] }).to_string().into_bytes(),
            StatusCode::BAD_REQUEST,
            "malformed",
            "transaction 1",
        ),
        (
            "application/json",
            json!({ "txs": [good], "extra": 1 })
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "bad-json",
            "",
        ),
        (
            "application/json",
            b"[1, 2".to_vec(),
            StatusCode::BAD_REQUEST,
            "bad-json",
            "",
        ),
        (
            "application/octet-stream",
            {
                // Two whole transactions, then half of the third.
                let mut b = raw(&[&txs[0], &txs[1]]);
                let third = txs[2].encode();
                b.extend_from_slice(&third[..third.len() / 2]);
                b
            },
            StatusCode::BAD_REQUEST,
            "malformed",
            "transaction 2",
        ),
        (
            "application/json",
            json!({ "txs": vec!["00"; luminex_api::submit::MAX_BATCH_TXS + 1] })
                .to_string()
                .into_bytes(),
            StatusCode::BAD_REQUEST,
            "batch-too-large",
            "",
        ),
        (
            "application/octet-stream",
            // Empty transactions decode (admission would refuse them):
            // more than a batch holds is refused before the 1,001st is read.
            {
                let empty = Transaction {
                    inputs: Vec::new(),
                    outputs: Vec::new(),
                    witnesses: Vec::new(),
                    ..txs[0].clone()
                };
                empty
                    .encode()
                    .repeat(luminex_api::submit::MAX_BATCH_TXS + 1)
            },
            StatusCode::BAD_REQUEST,
            "batch-too-large",
            "",
        ),
        (
            "text/plain",
            good.clone().into_bytes(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "",
        ),
    ];
    for (content_type, body, status, code, detail) in cases {
        let (got, v) = post(&node, content_type, body).await;
        assert_eq!((got, v["code"].as_str()), (status, Some(code)), "{v}");
        assert!(v["detail"].as_str().unwrap().contains(detail), "{v}");
    }
    assert_eq!(node.mempool.read().len(), 0, "nothing submitted");
}
