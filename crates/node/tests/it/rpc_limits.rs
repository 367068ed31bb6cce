//! JSON-RPC request bounds on the real binary: a batch past its call limit
//! and a body past its byte limit get errors with Bitcoin Core's statuses.

use serde_json::{json, Value};

use crate::support::{free_port, NodeProcess};

#[tokio::test]
async fn over_sized_batches_and_bodies_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("luminex.toml"),
        "rpc_max_batch = 10\nrpc_max_request_bytes = 100000\n",
    )
    .unwrap();
    let port = free_port();
    let node = NodeProcess::start(dir.path(), port, &["--no-p2p"]);
    let cookie = std::fs::read_to_string(dir.path().join("dev").join(".cookie")).unwrap();
    let (user, pass) = cookie.trim().split_once(':').unwrap();
    let client = reqwest::Client::new();
    let post = |body: Vec<u8>| {
        client
            .post(format!("http://127.0.0.1:{}/", port + 1))
            .basic_auth(user, Some(pass))
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let call = json!({"jsonrpc": "1.0", "id": 1, "method": "getblockcount", "params": []});

    // At the bound: every call answered.
    let r = post(serde_json::to_vec(&vec![call.clone(); 10]).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let answers: Vec<Value> = r.json().await.unwrap();
    assert_eq!(answers.len(), 10);
    assert!(answers.iter().all(|a| a["result"].is_u64()), "{answers:?}");

    // One past it: one JSON-RPC error, HTTP 400 (Bitcoin Core's status for
    // an invalid request), and no call run.
    let r = post(serde_json::to_vec(&vec![call.clone(); 11]).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], -32600, "{e}");

    // JSON-RPC 2.0 notifications (no id) are not answered: 204 alone,
    // left out of a batch; a 1.0 request without an id is answered.
    let note = json!({"jsonrpc": "2.0", "method": "getblockcount"});
    let r = post(serde_json::to_vec(&note).unwrap()).await.unwrap();
    assert_eq!(r.status(), 204);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = post(serde_json::to_vec(&json!([note, call, note])).unwrap())
        .await
        .unwrap();
    let answers: Vec<Value> = r.json().await.unwrap();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert_eq!(answers[0]["id"], 1);
    let r = post(serde_json::to_vec(&json!([note, note])).unwrap())
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let legacy = json!({"method": "getblockcount"});
    let r = post(serde_json::to_vec(&legacy).unwrap()).await.unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(v["result"].is_u64() && v["id"].is_null(), "{v}");

    // Broken JSON: Bitcoin Core's parse error and 500.
    let r = post(b"[{\"method\": ".to_vec()).await.unwrap();
    assert_eq!(r.status(), 500);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"]["code"], -32700, "{e}");

    // A body past the byte bound: 413 before anything is parsed.
    let big = format!(
        "{{\"method\": \"getblockcount\", \"params\": [\"{}\"]}}",
        "a".repeat(200_000)
    );
    // The server answers as soon as the declared length is too large and
    // closes the connection, so the client may see the reset before it
    // reads the answer.
    match post(big.into_bytes()).await {
        Ok(r) => assert_eq!(r.status(), 413),
        Err(e) => assert!(!e.is_timeout(), "{e}"),
    }
    // And the server goes on serving (on a new connection: the pooled one
    // may be the one it just closed).
    let r = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/", port + 1))
        .basic_auth(user, Some(pass))
        .json(&call)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    node.stop();
}
