//! Prometheus metrics: values follow what the node does, both exposition
//! formats are served, promtool accepts the output and the alert rules, the
//! rules pass their unit tests, and every metric the deploy files use is
//! exported.

use luminex_ledger::testkit::PowFields;
use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use luminex_api::router;
use luminex_ledger::testkit::{lock_of, transfer};
use luminex_primitives::{Amount, TxOut};
use tower::ServiceExt;

use crate::support::memory_node;

async fn get(
    node: &std::sync::Arc<luminex_service::Node>,
    uri: &str,
    accept: Option<&str>,
) -> (String, String) {
    let mut req = Request::builder().uri(uri);
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = router(node.clone())
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let ct = resp
        .headers()
        .get("content-type")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let body = String::from_utf8(
        resp.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    (ct, body)
}

/// The value of the sample line that starts with `series` exactly.
fn value(exposition: &str, series: &str) -> f64 {
    exposition
        .lines()
        .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
        .unwrap_or_else(|| panic!("{series} not in:\n{exposition}"))
        .parse()
        .unwrap()
}

/// A node that has accepted and refused transactions and blocks, and served
/// API requests; returns its text exposition.
async fn busy_node_metrics() -> (std::sync::Arc<luminex_service::Node>, String) {
    let node = memory_node();
    let k0 = node.spec.dev_key(0).unwrap();
    let k1 = node.spec.dev_key(1).unwrap();
    let coins = node.chain.address_utxos(&lock_of(&k0), 10).unwrap();
    let pay = |amount| {
        transfer(
            &node.spec,
            &k0,
            &coins[..1],
            vec![TxOut {
                amount: Amount::from_coins(amount).unwrap(),
                lock: lock_of(&k1),
            }],
        )
    };
    node.submit(pay(5)).unwrap();
    // A bad signature on another key's coin (not a double spend).
    let k2 = node.spec.dev_key(2).unwrap();
    let c2 = node.chain.address_utxos(&lock_of(&k2), 10).unwrap();
    let mut bad = transfer(
        &node.spec,
        &k2,
        &c2[..1],
        vec![TxOut {
            amount: Amount::from_coins(6).unwrap(),
            lock: lock_of(&k1),
        }],
    );
    bad.outputs[0].amount = Amount::from_coins(4).unwrap();
    assert!(node.submit(bad).is_err());
    let block = node.produce_block().unwrap();
    let mut invalid = (*block).clone();
    invalid.header.pow_mut().prev_hash = block.hash();
    invalid.txs[0].kind = luminex_primitives::TxKind::Coinbase { height: 2 };
    assert!(node.accept_block(&invalid).is_err());
    // What the Stratum server records for a worker's share and block.
    let now = node.clock.now_unix();
    assert!(node.pool.connect("rig1", now));
    node.pool.record_share(
        "rig1",
        luminex_service::pool::ShareOutcome::Accepted { difficulty: 1.0 },
        now,
    );
    node.metrics
        .stratum_shares
        .get_or_create(&luminex_service::metrics::ShareLabels {
            worker: "rig1".into(),
            result: "accepted".into(),
        })
        .inc();
    node.metrics
        .stratum_blocks_found
        .get_or_create(&luminex_service::metrics::WorkerLabels {
            worker: "rig1".into(),
        })
        .inc();
    get(&node, "/blocks/1", None).await;
    get(&node, "/blocks/999", None).await;
    let (ct, text) = get(&node, "/metrics", None).await;
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    (node, text)
}

#[tokio::test]
async fn metrics_follow_what_the_node_does() {
    let (node, text) = busy_node_metrics().await;
    assert_eq!(value(&text, "luminex_chain_height"), 1.0);
    assert_eq!(value(&text, "luminex_finalized_height"), 0.0);
    assert_eq!(value(&text, "luminex_transactions_accepted_total"), 1.0);
    assert_eq!(
        value(
            &text,
            "luminex_transactions_rejected_total{reason=\"bad-signature\"}"
        ),
        1.0
    );
    assert_eq!(value(&text, "luminex_blocks_connected_total"), 1.0);
    assert_eq!(
        value(
            &text,
            "luminex_blocks_rejected_total{reason=\"bad-txnmrklroot\"}"
        ),
        1.0
    );
    assert_eq!(value(&text, "luminex_block_validation_seconds_count"), 1.0);
    // Two submissions verified one signature each; the block's was cached.
    assert_eq!(value(&text, "luminex_signature_verifications_total"), 2.0);
    assert_eq!(value(&text, "luminex_mempool_transactions"), 0.0);
    // The process's CPU time is a counter (rate() of it is CPU use).
    assert!(
        text.contains("# TYPE luminex_process_cpu_seconds_total counter"),
        "{text}"
    );
    // (Its value may round to 0 this early in a test process: ticks of 10 ms.)
    assert!(value(&text, "luminex_process_cpu_seconds_total") >= 0.0);
    // Staking gauges and counters are exported at zero on a chain without
    // staking.
    for g in [
        "luminex_staking_bonded_base_units",
        "luminex_staking_unbonding_base_units",
        "luminex_staking_validators",
        "luminex_staking_jailed_validators",
        "luminex_staking_registered_nodes",
        "luminex_staking_reward_pot_base_units",
        "luminex_staking_live_nodes",
        "luminex_staking_slashes_total{offence=\"double_sign\"}",
        "luminex_staking_slashes_total{offence=\"downtime\"}",
        "luminex_staking_jailings_total",
    ] {
        assert_eq!(value(&text, g), 0.0, "{g}");
    }
    assert!(value(&text, "luminex_process_resident_memory_bytes") > 0.0);
    assert_eq!(
        value(
            &text,
            "luminex_api_requests_total{route=\"/blocks/{id}\",status=\"200\"}"
        ),
        1.0
    );
    assert_eq!(
        value(
            &text,
            "luminex_api_requests_total{route=\"/blocks/{id}\",status=\"404\"}"
        ),
        1.0
    );
    // Every metric has help text.
    for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
        let name = line.split(' ').nth(2).unwrap();
        assert!(
            text.contains(&format!("# HELP {name} ")),
            "{name} has no help"
        );
        assert!(name.starts_with("luminex_"), "{name}");
    }
    // OpenMetrics when asked for.
    let (ct, om) = get(
        &node,
        "/metrics",
        Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
    )
    .await;
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    assert!(om.trim_end().ends_with("# EOF"));
    assert!(om.contains("# UNIT luminex_mempool_bytes bytes"));
}

fn promtool() -> &'static str {
    if Command::new("promtool").arg("--version").output().is_err() {
        panic!("promtool not found: install it with `apt-get install prometheus` (README, Tests)");
    }
    "promtool"
}

fn deploy_dir() -> std::path::PathBuf {
    crate::support::manifest_dir().join("../../deploy")
}

#[tokio::test]
async fn promtool_accepts_the_metrics_and_the_alert_rules() {
    let (_, text) = busy_node_metrics().await;
    let mut child = Command::new(promtool())
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let rules = deploy_dir().join("prometheus/alerts.yml");
    let out = Command::new(promtool())
        .args(["check", "rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The alert rules' unit tests (`deploy/prometheus/alerts.test.yml`): each
/// BFT rule fires on the failure it is for, and only then.
#[test]
fn promtool_passes_the_alert_rules_unit_tests() {
    let out = Command::new(promtool())
        .args(["test", "rules", "alerts.test.yml"])
        .current_dir(deploy_dir().join("prometheus"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool test rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `luminex_…` names in a text.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find("luminex_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.insert(tail[..end].to_string());
        rest = &tail[end..];
    }
    names
}

#[tokio::test]
async fn every_metric_in_the_rules_and_dashboards_is_exported() {
    let (_, text) = busy_node_metrics().await;
    let exported: BTreeSet<String> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect();
    let mut files = vec![
        deploy_dir().join("prometheus/alerts.yml"),
        deploy_dir().join("prometheus/alerts.test.yml"),
    ];
    for e in std::fs::read_dir(deploy_dir().join("grafana")).unwrap() {
        files.push(e.unwrap().path());
    }
    assert!(files.len() >= 5, "rules, their tests and three dashboards");
    let mut used = BTreeSet::new();
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        if f.extension().is_some_and(|e| e == "json") {
            let v: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(
                v["panels"].as_array().is_some_and(|p| !p.is_empty()),
                "{}",
                f.display()
            );
        }
        let names = metric_names(&text);
        assert!(!names.is_empty(), "{} uses no metric", f.display());
        used.extend(names);
    }
    let missing: Vec<_> = used.iter().filter(|n| !exported.contains(*n)).collect();
    assert!(missing.is_empty(), "used but not exported: {missing:?}");
}

/// Every dashboard is laid out without overlaps, with unique panel ids and
/// query ids, and every query is PromQL that promtool parses (each checked
/// as a recording rule).
#[test]
fn every_dashboard_query_parses_and_panels_do_not_overlap() {
    let mut rules = Vec::new();
    for e in std::fs::read_dir(deploy_dir().join("grafana")).unwrap() {
        let path = e.unwrap().path();
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = path.display();
        let panels = v["panels"].as_array().unwrap();
        let mut ids = BTreeSet::new();
        let mut cells = BTreeSet::new();
        for p in panels {
            assert!(
                ids.insert(p["id"].as_u64().unwrap()),
                "{name}: panel id twice: {p}"
            );
            let g = &p["gridPos"];
            let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| g[k].as_u64().unwrap());
            assert!(
                x + w <= 24,
                "{name}: panel {} is wider than the grid",
                p["id"]
            );
            for cell in (x..x + w).flat_map(|c| (y..y + h).map(move |r| (c, r))) {
                assert!(
                    cells.insert(cell),
                    "{name}: panel {} overlaps another",
                    p["id"]
                );
            }
            let mut refs = BTreeSet::new();
            for t in p["targets"].as_array().into_iter().flatten() {
                assert!(refs.insert(t["refId"].as_str().unwrap()), "{name}: {t}");
                rules.push(serde_json::json!({
                    "record": format!("dashboard:query_{}", rules.len()),
                    "expr": t["expr"].as_str().unwrap(),
                }));
            }
        }
    }
    // JSON is YAML: promtool reads the rules file as it is.
    let file = std::env::temp_dir().join(format!(
        "luminex-dashboard-queries-{}.json",
        std::process::id()
    ));
    let doc = serde_json::json!({ "groups": [{ "name": "dashboards", "rules": rules }] });
    std::fs::write(&file, doc.to_string()).unwrap();
    let out = Command::new(promtool())
        .args(["check", "rules"])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(
        out.status.success(),
        "promtool check rules on the dashboards' queries: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
