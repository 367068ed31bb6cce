//! Payments built, signed and spent through the API, multisig too.

use super::*;

/// Broadcasts `tx` as raw bytes: the status and the answer.
async fn broadcast_raw(
    node: &Arc<Node>,
    tx: &luminex_primitives::Transaction,
) -> (StatusCode, serde_json::Value) {
    let (s, v, _) = call(
        node,
        "POST",
        "/transactions/broadcast",
        Some("application/octet-stream"),
        tx.encode(),
    )
    .await;
    (s, v)
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
    // An expiry the next block (height 1) is past cannot be built; the
    // next block itself can.
    node.produce_block().unwrap();
    node.produce_block().unwrap();
    for (expiry, status) in [(1, StatusCode::UNPROCESSABLE_ENTITY), (3, StatusCode::OK)] {
        let (s, e) = post_json(
            &node,
            "/transactions/create",
            &serde_json::json!({ "from": from, "to": to, "amount": "1", "expiry_height": expiry }),
        )
        .await;
        assert_eq!(s, status, "{e}");
        if s != StatusCode::OK {
            assert_eq!(e["code"], "expired");
        }
    }
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
    let (s, r) = broadcast_raw(&node, &tx).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["txid"], v["txid"]);
    let e = node.mempool.read().get(&tx.txid()).unwrap().clone();
    assert_eq!(e.fee.base(), v["fee"].as_u64().unwrap());
    assert_eq!(v["fee_coins"], e.fee.to_string());
    assert_eq!(
        v["inputs"][0]["amount_coins"],
        luminex_primitives::Amount::from_base(v["inputs"][0]["amount"].as_u64().unwrap())
            .unwrap()
            .to_string()
    );
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
        // Amounts that are no amount: bad amounts, not unreadable JSON.
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":-5}}"#),
            StatusCode::BAD_REQUEST,
            "bad-amount",
        ),
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":1.5}}"#),
            StatusCode::BAD_REQUEST,
            "bad-amount",
        ),
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":true}}"#),
            StatusCode::BAD_REQUEST,
            "bad-amount",
        ),
        // Amounts past the largest there is, however written: too large,
        // not malformed.
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":99999999999999999999}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad-amount",
        ),
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":1000000000000000001}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad-amount",
        ),
        (
            format!(r#"{{"from":"{from}","to":"{to}","amount":"99999999999"}}"#),
            StatusCode::UNPROCESSABLE_ENTITY,
            "bad-amount",
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
    // Confirmed, then broadcast again: already in the chain, not "missing
    // inputs" (its inputs are gone because it spent them).
    let confirmed = node.produce_block().unwrap();
    assert!(confirmed.txs.iter().any(|t| t.txid() == tx.txid()));
    let (s, again) = broadcast_raw(&node, &tx).await;
    assert_eq!(
        (s, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("already-in-chain")),
        "{again}"
    );
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

/// A node whose storage stopped (a failed write: a full disk) accepts no
/// transaction: it could neither mine it nor keep it across the restart
/// it needs. Broadcasting answers 503 storage-halted, singly and in a
/// batch, and the mempool stays as it was.
#[tokio::test]
async fn a_node_whose_storage_stopped_accepts_no_transaction() {
    let node = memory_node();
    let tx = crate::support::dev_payment(&node, 1);
    node.chain.close().unwrap();
    let (s, v) = broadcast_raw(&node, &tx).await;
    assert_eq!(
        (s, v["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("storage-halted")),
        "{v}"
    );
    let body = serde_json::json!({ "txs": [hex::encode(tx.encode())] });
    let (s, v) = post_json(&node, "/transactions/broadcast/batch", &body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["results"][0]["error"]["code"], "storage-halted", "{v}");
    assert!(matches!(
        node.submit(tx),
        Err(luminex_mempool::MempoolError::Halted(_))
    ));
    assert!(node.mempool.read().is_empty());
}
