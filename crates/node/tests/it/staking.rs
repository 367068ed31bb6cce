//! Staking from the CLI against a real node: a one-validator BFT chain
//! (`poa` with one development validator) with a `[staking]` table. A
//! wallet stakes for a new validator key, the stake shows on
//! `GET /staking/validators`, another wallet delegates to it, the
//! validator unstakes, and the unbonding entry — of a key in no validator
//! set — is released at its release height (ADR 0072: only stake that
//! backs a set it is a member of is held), as the API said it would be.
//! Bad arguments are refused before anything is signed.

use std::path::Path;
use std::time::{Duration, Instant};

use luminex_crypto::SigningKey;
use luminex_ledger::staking::StakingParams;
use luminex_primitives::Amount;
use serde_json::Value;

use crate::support::{confirmed_height, free_port, luminex, ok, total_of, NodeProcess};

const UNBONDING: u64 = 3;

/// `poa` with a single development validator and a `[staking]` table
/// (minimum stake 1 coin), written as a spec file.
fn spec_file(dir: &Path) -> (String, luminex_ledger::ChainSpec) {
    let mut spec = luminex_ledger::ChainSpec::preset("poa").unwrap();
    spec.name = "poa-staking-test".into();
    spec.chain_id = 9912;
    spec.bft.as_mut().unwrap().dev_validators = 1;
    // On a staking chain the set comes from stake, not governance.
    spec.bft.as_mut().unwrap().authority_changes = false;
    spec.staking = Some(StakingParams {
        // No election while the test runs: the one development validator
        // stays the set (the staked key has no node behind it).
        epoch_blocks: 1_000_000,
        ..StakingParams::new(Amount::from_coins(1).unwrap(), UNBONDING)
    });
    let p = dir.join("staking-test.toml");
    std::fs::write(&p, toml::to_string(&spec).unwrap()).unwrap();
    (p.to_str().unwrap().to_string(), spec)
}

/// `GET path` of the node's REST API as JSON.
fn get(port: u16, path: &str) -> Value {
    let url = format!("http://127.0.0.1:{port}{path}");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async { reqwest::get(&url).await.unwrap().json().await.unwrap() })
}

/// JSON-RPC `method` without parameters, authenticated by the node's
/// cookie in `<dir>/<chain>/.cookie`.
fn rpc(dir: &Path, chain: &str, port: u16, method: &str) -> Value {
    let cookie = std::fs::read_to_string(dir.join(chain).join(".cookie")).unwrap();
    let (u, p) = cookie.trim().split_once(':').unwrap();
    let body = serde_json::json!({ "jsonrpc": "1.0", "id": 1, "method": method, "params": [] });
    let url = format!("http://127.0.0.1:{}/", port + 1);
    let v: Value = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            reqwest::Client::new()
                .post(&url)
                .basic_auth(u, Some(p))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
    assert!(v["error"].is_null(), "{method}: {v}");
    v["result"].clone()
}

#[test]
fn stake_delegate_and_unstake_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (spec_path, spec) = spec_file(d);
    let port = free_port();
    let run = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend_from_slice(&["--chain", &spec_path]);
        ok(d, port, &a)
    };
    let fails = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend_from_slice(&["--chain", &spec_path]);
        let out = luminex(d, port, &a);
        assert!(!out.status.success(), "{args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    run(&["wallet", "--wallet", "rich", "import-dev", "--index", "0"]);
    run(&["wallet", "--wallet", "del", "import-dev", "--index", "1"]);
    run(&["wallet", "--wallet", "payee", "new"]);
    let payee = run(&["wallet", "--wallet", "payee", "address"])
        .trim()
        .to_string();
    let seed = [42u8; 32];
    let key_file = d.join("validator.key");
    std::fs::write(&key_file, format!("{}\n", hex::encode(seed))).unwrap();
    let key_path = key_file.to_str().unwrap();
    let id = SigningKey::from_seed(spec.default_scheme, &seed)
        .public_key()
        .key_hash()
        .to_string();

    let node = NodeProcess::start_chain(d, &spec_path, port, &["--dev-validator", "0"]);

    // Refused before signing.
    let e = fails(&[
        "wallet",
        "--wallet",
        "rich",
        "stake",
        "--validator-key",
        key_path,
        "--amount",
        "0.5",
    ]);
    assert!(e.contains("below the chain's minimum"), "{e}");
    let e = fails(&[
        "wallet",
        "--wallet",
        "del",
        "delegate",
        "--validator",
        "xyz",
        "--amount",
        "1",
    ]);
    assert!(e.contains("64 hex characters"), "{e}");
    let e = fails(&[
        "wallet",
        "--wallet",
        "del",
        "delegate",
        "--validator",
        &id,
        "--amount",
        "1",
    ]);
    assert!(e.contains("unknown validator"), "{e}");

    let out = run(&[
        "wallet",
        "--wallet",
        "rich",
        "stake",
        "--validator-key",
        key_path,
        "--amount",
        "2",
        "--wait",
    ]);
    assert!(out.contains("confirmed at height"), "{out}");
    let v = get(port, &format!("/staking/validators/{id}"));
    assert_eq!(v["self_bond"], 200_000_000, "{v}");

    run(&[
        "wallet",
        "--wallet",
        "del",
        "delegate",
        "--validator",
        &id,
        "--amount",
        "1",
        "--wait",
    ]);
    let v = get(port, &format!("/staking/validators/{id}"));
    assert_eq!(v["delegated"], 100_000_000, "{v}");
    assert_eq!(v["power"], 300_000_000, "{v}");
    // Undelegating more than the wallet delegated is refused before
    // anything is signed, as unstaking more than is bonded.
    let e = fails(&[
        "wallet",
        "--wallet",
        "del",
        "undelegate",
        "--validator",
        &id,
        "--amount",
        "1000",
    ]);
    assert!(
        e.contains("unbonding 1000") && e.contains("only 1 delegated"),
        "{e}"
    );
    let info = rpc(d, &spec.name, port, "getstakinginfo");
    assert_eq!(info["enabled"], true, "{info}");
    assert_eq!(info["rewards"], "proposer", "{info}");
    // The development validator is bonded with the minimum stake (1 coin)
    // from genesis.
    assert_eq!(info["total_bonded"], 4.0, "{info}");
    assert_eq!(info["validators"], 2, "{info}");
    // As `GET /staking`: the accounts created (none on this chain).
    assert_eq!(
        info["accounts"],
        get(port, "/staking")["accounts"],
        "{info}"
    );

    let out = run(&[
        "wallet",
        "--wallet",
        "rich",
        "unstake",
        "--validator-key",
        key_path,
        "--amount",
        "2",
        "--payout",
        &payee,
        "--wait",
    ]);
    let unstaked_at = confirmed_height(&out);
    let u = get(port, "/staking/unbonding");
    assert_eq!(u["entries"][0]["amount"], 200_000_000, "{u}");
    // The key is in no set (the one development validator is the set,
    // and no election runs): nothing holds the entry.
    assert_eq!(u["entries"][0]["held"], false, "{u}");
    assert_eq!(
        u["entries"][0]["expected_release_height"],
        unstaked_at + UNBONDING,
        "{u}"
    );

    // A node key's heartbeat (ADR 0038): refused before it is registered,
    // then once per epoch.
    let node_file = d.join("node.key");
    std::fs::write(&node_file, format!("{}\n", hex::encode([43u8; 32]))).unwrap();
    let node_path = node_file.to_str().unwrap();
    let heartbeat = [
        "wallet",
        "--wallet",
        "rich",
        "heartbeat",
        "--node-key",
        node_path,
    ];
    let e = fails(&heartbeat);
    assert!(e.contains("is not registered"), "{e}");
    // A registration needs the node key's own stake (ADR 0063).
    let register = [
        "wallet",
        "--wallet",
        "rich",
        "register-node",
        "--node-key",
        node_path,
        "--wait",
    ];
    let e = fails(&register);
    assert!(
        e.contains("below the chain's minimum 1: bond it first"),
        "{e}"
    );
    run(&[
        "wallet",
        "--wallet",
        "rich",
        "stake",
        "--validator-key",
        node_path,
        "--amount",
        "1",
        "--wait",
    ]);
    run(&register);
    let mut beat = heartbeat.to_vec();
    beat.push("--wait");
    let out = run(&beat);
    assert!(out.contains("confirmed at height"), "{out}");
    let nodes = get(port, "/staking/nodes");
    assert_eq!(nodes["nodes"][0]["last_heartbeat"], 0, "{nodes}");
    let e = fails(&heartbeat);
    assert!(e.contains("already sent a heartbeat in epoch 0"), "{e}");
    // Released at the end of the unbonding period: the payee's coin is
    // made by the block at the release height.
    let release = unstaked_at + UNBONDING;
    let deadline = Instant::now() + Duration::from_secs(120);
    while get(port, "/staking")["height"].as_u64().unwrap() < release {
        assert!(
            Instant::now() < deadline,
            "the chain did not reach height {release}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let u = get(port, "/staking/unbonding");
    assert_eq!(u["entries"], serde_json::json!([]), "{u}");
    let coins = get(port, &format!("/address/{payee}/utxos"));
    assert_eq!(coins["utxos"][0]["height"], release, "{coins}");
    assert_eq!(coins["utxos"][0]["amount"], 200_000_000, "{coins}");
    // The unstake's page says which block paid it.
    let unstake = coins["utxos"][0]["txid"].as_str().unwrap();
    let t = get(port, &format!("/transactions/{unstake}"));
    assert_eq!(t["ledger_payouts"][0]["status"], "paid", "{t}");
    assert_eq!(t["ledger_payouts"][0]["height"], release, "{t}");
    let b = total_of(&run(&["wallet", "--wallet", "payee", "balance"]));
    assert_eq!(b, "2", "released coins are the payee's");
    node.stop();
}

/// On `almagill` a block paying an address nobody created is invalid, so a
/// validator whose producer address is not an account must not propose.
/// It judged that from its own database at start and refused to start —
/// also on an empty data directory, before syncing the block that created
/// the account (a live walk: a new validator could not start). Now a
/// validator started afresh with an address nobody created starts, syncs
/// and signs, proposes nothing the others finalize while the address is
/// not an account, and proposes once it is created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_almagill_validator_proposes_once_its_producer_address_is_an_account() {
    use crate::bft::{all_past, metric, Proc};
    use crate::p2p::{get as get_json, wait_until};

    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let dev = |i: u32, boot: Option<&str>| {
        let mut a = vec!["--dev-validator".to_string(), i.to_string()];
        if let Some(b) = boot {
            a.extend(["--bootnodes".to_string(), b.to_string()]);
        }
        a
    };
    let v0 = Proc::start_on("almagill", "almagill", dev(0, None));
    let boot = v0.p2p_addr().await;
    let v1 = Proc::start_on("almagill", "almagill", dev(1, Some(&boot)));
    let v2 = Proc::start_on("almagill", "almagill", dev(2, Some(&boot)));
    all_past(&[&v0, &v1, &v2], 1, "three of four validators finalize").await;

    let cli = |a: &[&str]| {
        let mut all = a.to_vec();
        all.extend_from_slice(&["--chain", "almagill"]);
        ok(w, v0.port, &all)
    };
    cli(&["wallet", "--wallet", "x", "new"]);
    let x = cli(&["wallet", "--wallet", "x", "address"])
        .trim()
        .to_string();
    let mut args = dev(3, Some(&boot));
    args.extend(["--producer-address".to_string(), x.clone()]);
    // It starts (the test fails here if it exits during start-up).
    let v3 = Proc::start_on("almagill", "almagill", args);
    let id = get_json(v3.port, "/health/node-status").await["validator_id"]
        .as_str()
        .unwrap()
        .to_string();
    let proposer = |port: u16, h: u64| async move {
        get_json(port, &format!("/blocks/{h}")).await["bft"]["proposer"]
            .as_str()
            .unwrap()
            .to_string()
    };
    // Synced and signing; over twelve heights (three turns of its own),
    // no block of its finalizes.
    let from = v0.tip().await.0;
    wait_until("the new validator signs", 180, || async {
        metric(v3.port, "luminex_consensus_validator_last_signed_height").await > from as f64
    })
    .await;
    let from = v0.tip().await.0;
    all_past(
        &[&v0, &v3],
        from + 12,
        "blocks finalize past twelve more heights",
    )
    .await;
    for h in from + 1..=from + 12 {
        assert_ne!(proposer(v0.port, h).await, id, "block {h}");
    }

    // Created, its address receives its proposals' coinbases.
    cli(&["wallet", "--wallet", "rich", "import-dev", "--index", "0"]);
    cli(&[
        "wallet",
        "--wallet",
        "rich",
        "create-account",
        "--address",
        &x,
        "--wait",
    ]);
    let created = v0.tip().await.0;
    wait_until("a block proposed by the new validator", 180, || async {
        let tip = v0.tip().await.0;
        for h in created + 1..=tip {
            if proposer(v0.port, h).await == id {
                return true;
            }
        }
        false
    })
    .await;
    drop((v1, v2));
}

/// On `almagill` only created accounts receive: a wallet made with
/// `wallet new`, once its address is created and funded, pays with change
/// (which goes back to the address it spends from: a fresh change address
/// is no account) and makes staking transactions with change, and takes
/// no change address for either.
#[test]
fn an_almagill_wallet_pays_with_change_to_an_account_that_exists() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut spec = luminex_ledger::ChainSpec::preset("almagill").unwrap();
    spec.name = "almagill-wallet-test".into();
    spec.chain_id = 9913;
    spec.bft.as_mut().unwrap().dev_validators = 1;
    let spec_path = d.join("almagill-test.toml");
    std::fs::write(&spec_path, toml::to_string(&spec).unwrap()).unwrap();
    let spec_path = spec_path.to_str().unwrap();
    let port = free_port();
    // Wallet `name`'s command `args` (which must succeed); its output.
    let wallet = |name: &str, args: &[&str]| {
        let mut a = vec!["wallet", "--wallet", name];
        a.extend_from_slice(args);
        a.extend_from_slice(&["--chain", spec_path]);
        ok(d, port, &a)
    };
    wallet("rich", &["import-dev", "--index", "0"]);
    wallet("alice", &["new"]);
    let alice = wallet("alice", &["address"]).trim().to_string();
    let rich = wallet("rich", &["address"]).trim().to_string();
    let node = NodeProcess::start_chain(d, spec_path, port, &["--dev-validator", "0"]);
    wallet("rich", &["create-account", "--address", &alice, "--wait"]);
    wallet(
        "rich",
        &["send", "--to", &alice, "--amount", "50", "--wait"],
    );
    // A payment with change.
    wallet("alice", &["send", "--to", &rich, "--amount", "1", "--wait"]);
    // A staking transaction with change: alice creates an account.
    let bob = spec
        .address(
            SigningKey::from_seed(spec.default_scheme, &[77; 32])
                .public_key()
                .lock(),
        )
        .to_string();
    wallet("alice", &["create-account", "--address", &bob, "--wait"]);
    // A wallet whose first address was never created: its later address
    // is, and unbonded coins go there by default (the first would refuse
    // them).
    wallet("zed", &["new"]);
    let z1 = wallet("zed", &["address", "--new"]).trim().to_string();
    wallet("rich", &["create-account", "--address", &z1, "--wait"]);
    wallet("rich", &["send", "--to", &z1, "--amount", "20", "--wait"]);
    let validators = get(port, "/staking/validators");
    let v = validators["validators"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    wallet(
        "zed",
        &["delegate", "--validator", &v, "--amount", "5", "--wait"],
    );
    wallet(
        "zed",
        &["undelegate", "--validator", &v, "--amount", "5", "--wait"],
    );
    let u = get(port, "/staking/unbonding");
    assert!(
        u["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["payout"] == z1.as_str()),
        "{u}"
    );
    let file = d
        .join("almagill-wallet-test")
        .join("wallets")
        .join("alice.json");
    let file = luminex_wallet::WalletFile::read(&file, &spec).unwrap();
    assert_eq!(file.change.len(), 0, "a change address was taken");
    // The change came back to alice's address: 50 less 1 and two fees.
    let balance = get(port, &format!("/address/{alice}/balance"));
    let confirmed = balance["confirmed"].as_u64().unwrap();
    assert!(
        (48 * 100_000_000..49 * 100_000_000).contains(&confirmed),
        "{balance}"
    );
    node.stop();
}

/// A validator or node key is made and read the same way on every chain:
/// `authority keygen` and `pubkey` work on staking presets (which take no
/// authority changes), while a change is refused there with the reason.
#[test]
fn keys_are_made_on_staking_chains_but_changes_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    for chain in ["nextgen", "almagill", "sidechain"] {
        let key = d.join(format!("{chain}.key"));
        let key = key.to_str().unwrap();
        let made = ok(
            d,
            port,
            &[
                "chain",
                "--chain",
                chain,
                "authority",
                "keygen",
                "--out",
                key,
            ],
        );
        let read = ok(
            d,
            port,
            &[
                "chain",
                "--chain",
                chain,
                "authority",
                "pubkey",
                "--validator-key",
                key,
            ],
        );
        assert_eq!(made, read, "{chain}");
        let out = luminex(
            d,
            port,
            &[
                "chain",
                "--chain",
                chain,
                "authority",
                "propose",
                "--add",
                made.trim(),
                "--at",
                "100",
                "--out",
                "change.tx",
            ],
        );
        assert!(!out.status.success(), "{chain}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("does not take authority changes"), "{err}");
    }
}
