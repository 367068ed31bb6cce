//! The REST API in process: every route, its happy path and its bad inputs.
//!
//! The helpers every file shares and the routes' happy paths are here;
//! `bad_input` sends every route what it must refuse, `payments` builds,
//! signs and spends payments (multisig too) through the API.

use std::sync::Arc;

use axum::http::StatusCode;
use luminex_ledger::testkit::{lock_of, transfer};
use luminex_primitives::{Amount, Encode, OutPoint, TxOut};
use luminex_service::Node;
use serde_json::Value;

use crate::support::{call, memory_node};

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

mod bad_input;
mod payments;

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
    // Every amount has its coins beside it.
    let fee = luminex_primitives::Amount::from_base(v["fee"].as_u64().unwrap()).unwrap();
    assert_eq!(v["fee_coins"], fee.to_string());
    let input = luminex_primitives::Amount::from_base(v["inputs"][0]["amount"].as_u64().unwrap());
    assert_eq!(v["inputs"][0]["amount_coins"], input.unwrap().to_string());
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
    // The same figures as the JSON, base units and coins in named columns.
    let resp = tower::ServiceExt::oneshot(
        luminex_api::router(node.clone()),
        axum::http::Request::get(format!("/address/{k1}/transactions?format=csv"))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    let csv = String::from_utf8(
        http_body_util::BodyExt::collect(resp.into_body())
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    let (_, json) = get(&node, &format!("/address/{k1}/transactions")).await;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("txid,height,received,received_coins,sent,sent_coins,net_coins")
    );
    let first = &json["transactions"][0];
    let row = format!(
        "{},{},{},{},{},{},{}",
        first["txid"].as_str().unwrap(),
        first["height"],
        first["received"],
        first["received_coins"].as_str().unwrap(),
        first["sent"],
        first["sent_coins"].as_str().unwrap(),
        first["net_coins"].as_str().unwrap()
    );
    assert_eq!(lines.next(), Some(row.as_str()), "{csv}");
    let (s, v) = get(&node, "/health/ready").await;
    assert_eq!((s, v["height"].as_u64().unwrap()), (StatusCode::OK, 2));
    let (_, v) = get(&node, "/health/node-status").await;
    assert!(v["memory_bytes"].as_u64().unwrap() > 0);
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

/// A read that finds damaged data answers a typed 500 that says what to
/// do, and from then on the node is not ready (ADR 0075) while it stays
/// live and serves what it can read; `/metrics` counts the damaged reads.
#[tokio::test]
async fn a_damaged_read_fails_readiness_not_liveness() {
    use luminex_storage::faults::{Fault, FaultPlan, FaultyStore};
    use luminex_storage::tables::TableId;
    use luminex_storage::{KvStore, MemoryStore};

    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    let kv: Arc<dyn KvStore> = faulty.clone();
    let spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    let node = luminex_service::testkit::node_over(kv, spec).unwrap();
    node.produce_block().unwrap();
    let hash = node.chain.tip().hash;
    // The transaction index row of the block's coinbase: every read of it
    // fails its checksum.
    let coinbase = node.chain.block(&hash).unwrap().unwrap().txs[0].txid();
    let uri = format!("/transactions/{coinbase}");
    assert_eq!(get(&node, &uri).await.0, StatusCode::OK);
    faulty.set_plan(FaultPlan::one(Fault::Damaged {
        table: TableId::TxIndex,
        key: coinbase.0,
    }));
    let (s, v) = get(&node, &uri).await;
    assert_eq!(s, StatusCode::INTERNAL_SERVER_ERROR, "{v}");
    assert_eq!(v["code"], "storage-damaged", "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .contains("move its chain directory aside"),
        "{v}"
    );
    let (s, v) = get(&node, "/health/ready").await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{v}");
    assert_eq!(v["status"], "storage-damaged", "{v}");
    assert_eq!(v["damaged_reads"], 1, "{v}");
    assert_eq!(get(&node, "/health/live").await.0, StatusCode::OK);
    assert_eq!(
        get(&node, &format!("/blocks/{hash}")).await.0,
        StatusCode::OK
    );
    node.produce_block().unwrap();
    let text = luminex_service::metrics::to_prometheus_text(&node.metrics.render(&node));
    assert!(
        text.lines()
            .any(|l| l == "luminex_storage_damaged_reads_total 1"),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "luminex_storage_halted 0"),
        "{text}"
    );
}

/// `/stats` keeps the supply per tip: each new block is counted.
#[tokio::test]
async fn the_supply_follows_the_tip() {
    let node = memory_node();
    for blocks in 0..3u64 {
        let (_, v) = get(&node, "/stats").await;
        assert_eq!(
            v["supply"].as_u64().unwrap(),
            4 * 25_000_000_000_000_000 + blocks * 5_000_000_000
        );
        node.produce_block().unwrap();
    }
}

/// A block off the main chain says so: not in the main chain, no
/// confirmations (the main chain's block at its height has them).
#[tokio::test]
async fn a_side_branch_block_has_no_confirmations() {
    let node = memory_node();
    node.produce_block().unwrap();
    let side = luminex_service::testkit::side_branch_at_tip(&node);
    node.produce_block().unwrap();
    let (s, v) = get(&node, &format!("/blocks/{side}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["height"], 1);
    assert_eq!(v["in_main_chain"], false, "{v}");
    assert_eq!(v["confirmations"], 0, "{v}");
    let (_, main) = get(&node, "/blocks/1").await;
    assert_eq!(main["in_main_chain"], true);
    assert_eq!(main["confirmations"], 2);
    assert_ne!(main["hash"], v["hash"]);
}

/// A history filtered by direction fills its page when matching rows are
/// rare: dev key 0 pays once, then earns a coinbase in each of 60 blocks;
/// its only outgoing transaction is found with a page of 2 (it was once
/// left out of pages that read 2 rows a step, 40 in all).
#[tokio::test]
async fn a_filtered_history_reads_past_rare_matches() {
    let node = memory_node();
    let k0 = node
        .spec
        .address(node.spec.dev_key(0).unwrap().public_key().lock())
        .to_string();
    let tx = payment(&node);
    node.submit(tx.clone()).unwrap();
    for _ in 0..60 {
        node.produce_block().unwrap();
    }
    let (_, all) = get(&node, &format!("/address/{k0}/transactions?limit=1000")).await;
    let incoming = all["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["received"].as_u64() > t["sent"].as_u64())
        .count();
    assert!(incoming > 40, "coinbases paid to dev key 0: {all}");
    let (_, v) = get(
        &node,
        &format!("/address/{k0}/transactions?direction=out&limit=2"),
    )
    .await;
    let txids: Vec<&str> = v["transactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["txid"].as_str().unwrap())
        .collect();
    assert_eq!(txids, vec![tx.txid().to_string()], "{v}");
}

/// `role` follows the validator set, not the configuration: a BFT node
/// whose key is in the set that finalizes the next block is a
/// `validator`; one configured with a key not in it (removed by an
/// authority change, or never added) is a `follower` that names the key
/// it would validate with; a node without a key a follower naming none.
#[tokio::test]
async fn the_role_follows_membership_of_the_validator_set() {
    let spec = luminex_ledger::ChainSpec::preset("poa").unwrap();
    let with_key = |index: Option<u32>| {
        let mut node = Arc::into_inner(crate::support::memory_node_for(spec.clone()))
            .expect("a fresh node has one owner");
        node.producing = index.is_some();
        node.validator_id = index.map(|i| {
            luminex_crypto::SigningKey::from_seed(
                spec.default_scheme,
                &luminex_ledger::ChainSpec::dev_validator_seed(i),
            )
            .public_key()
            .key_hash()
        });
        Arc::new(node)
    };
    let member = with_key(Some(0));
    let id = member.validator_id.unwrap();
    assert!(member
        .chain
        .consensus_record(0)
        .unwrap()
        .unwrap()
        .validators
        .index_of(&id)
        .is_some());
    let (_, st) = get(&member, "/health/node-status").await;
    assert_eq!(st["role"], "validator", "{st}");
    assert_eq!(st["validator_id"], id.to_string(), "{st}");
    let outsider = with_key(Some(9));
    let (_, st) = get(&outsider, "/health/node-status").await;
    assert_eq!(st["role"], "follower", "{st}");
    assert_eq!(
        st["validator_id"],
        outsider.validator_id.unwrap().to_string(),
        "{st}"
    );
    let keyless = with_key(None);
    let (_, st) = get(&keyless, "/health/node-status").await;
    assert_eq!(st["role"], "follower", "{st}");
    assert_eq!(st["validator_id"], Value::Null, "{st}");
}
