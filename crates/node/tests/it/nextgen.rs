//! A four-validator `nextgen` chain of real processes, with epochs of six
//! blocks and `--block-time-ms` shortening the preset's five minutes: a
//! newcomer bonds stake through the wallet CLI and starts a validator node
//! with its key; the election at the next epoch boundary seats it (ADR
//! 0033, ADR 0034), every node counts five validators, the newcomer signs
//! certificates and blocks keep finalizing; a delegator delegates to it and
//! earns its share of the epoch's rewards; it unstakes its own bond and the
//! coins come back to its payout address once its stake backs no set in
//! force, after the unbonding period.
//! Downtime is judged over windows of two epochs, with the preset's commit
//! pause (ADR 0042): no validator is jailed, the newcomer included.
//! And with downtime slashing on, a validator killed is slashed and jailed
//! by the others' blocks, which their metrics count.

use std::path::Path;

use luminex_crypto::SigningKey;
use luminex_ledger::staking::StakingParams;
use luminex_ledger::ChainSpec;
use luminex_primitives::Amount;
use serde_json::Value;

use crate::bft::{all_past, metric, Proc};
use crate::p2p::{get, wait_until};
use crate::support::{confirmed_height, ok, total_of};

const EPOCH: u64 = 6;
const UNBONDING: u64 = 6;
const NAME: &str = "nextgen-e2e";
const DOWNTIME_WINDOW: u64 = 2 * EPOCH;

/// `nextgen` with short epochs and unbonding, a minimum stake of one coin
/// and five seats, then `adjust`, written as a spec file.
fn spec_file(dir: &Path, adjust: impl FnOnce(&mut StakingParams)) -> (String, ChainSpec) {
    let mut spec = ChainSpec::preset("nextgen").unwrap();
    spec.name = NAME.into();
    spec.chain_id = 9916;
    let s = spec.staking.as_mut().unwrap();
    s.min_stake = Amount::from_coins(1).unwrap();
    s.epoch_blocks = EPOCH;
    s.unbonding_blocks = UNBONDING;
    s.max_validators = 5;
    adjust(s);
    let p = dir.join("nextgen-e2e.toml");
    std::fs::write(&p, toml::to_string(&spec).unwrap()).unwrap();
    (p.to_str().unwrap().to_string(), spec)
}

fn args(extra: &[&str], boot: Option<&str>) -> Vec<String> {
    let mut a: Vec<String> = ["--block-time-ms", "300"]
        .iter()
        .chain(extra)
        .map(|s| s.to_string())
        .collect();
    if let Some(b) = boot {
        a.extend(["--bootnodes".to_string(), b.to_string()]);
    }
    a
}

/// Starts the spec's four development validators, the first the others'
/// bootnode, and waits until they finalize blocks; returns the first and
/// the other three.
async fn start_four(spec_path: &str) -> (Proc, Vec<Proc>) {
    let v0 = Proc::start_on(spec_path, NAME, args(&["--dev-validator", "0"], None));
    let boot = v0.p2p_addr().await;
    let others: Vec<Proc> = (1..4)
        .map(|i| {
            Proc::start_on(
                spec_path,
                NAME,
                args(&["--dev-validator", &i.to_string()], Some(&boot)),
            )
        })
        .collect();
    let four: Vec<&Proc> = std::iter::once(&v0).chain(&others).collect();
    all_past(&four, 2, "blocks finalize with four validators").await;
    (v0, others)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_staked_validator_joins_at_the_next_epoch_and_its_unstaked_coins_return() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let (spec_path, spec) = spec_file(w, |s| s.downtime_window = DOWNTIME_WINDOW);
    let (v0, others) = start_four(&spec_path).await;
    let boot = v0.p2p_addr().await;
    let four: Vec<&Proc> = std::iter::once(&v0).chain(&others).collect();
    assert_eq!(metric(v0.port, "luminex_consensus_validators").await, 4.0);

    let cli = |a: &[&str]| -> String {
        let mut all = a.to_vec();
        all.extend_from_slice(&["--chain", &spec_path]);
        ok(w, v0.port, &all)
    };
    cli(&["wallet", "--wallet", "rich", "import-dev", "--index", "0"]);
    cli(&["wallet", "--wallet", "del", "import-dev", "--index", "1"]);
    cli(&["wallet", "--wallet", "payee", "new"]);
    let payee = cli(&["wallet", "--wallet", "payee", "address"])
        .trim()
        .to_string();
    let seed = [7u8; 32];
    let key_file = w.join("newcomer.key");
    std::fs::write(&key_file, format!("{}\n", hex::encode(seed))).unwrap();
    let key_path = key_file.to_str().unwrap();
    let id = SigningKey::from_seed(spec.default_scheme, &seed)
        .public_key()
        .key_hash()
        .to_string();

    // Two coins: more than any development validator's one.
    let out = cli(&[
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
    let staked_at = v0.tip().await.0;
    let newcomer = Proc::start_on(
        &spec_path,
        NAME,
        args(&["--validator-key", key_path], Some(&boot)),
    );
    // The boundary after the stake elects it; the set of the epoch after
    // that one includes it.
    let boundary = (staked_at / EPOCH + 1) * EPOCH;
    let effective = boundary + EPOCH + 1;
    let five: Vec<&Proc> = four.iter().copied().chain([&newcomer]).collect();
    let epoch: Value = get(v0.port, "/staking/epoch").await;
    assert_eq!(epoch["epoch_blocks"], EPOCH, "{epoch}");
    all_past(&five, effective + 2, "blocks finalize past the new set").await;
    for n in &five {
        wait_until("every node counts five validators", 120, || async {
            metric(n.port, "luminex_consensus_validators").await == 5.0
        })
        .await;
    }
    let epoch: Value = get(v0.port, "/staking/epoch").await;
    let current: Vec<&str> = epoch["current"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert!(current.contains(&id.as_str()), "{epoch}");
    wait_until("the newcomer signs certificates", 180, || async {
        metric(
            newcomer.port,
            "luminex_consensus_validator_last_signed_height",
        )
        .await
            >= effective as f64
    })
    .await;

    // A delegation to it.
    cli(&[
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
    let v: Value = get(v0.port, &format!("/staking/validators/{id}")).await;
    assert_eq!(v["delegated"], 100_000_000, "{v}");
    assert_eq!(v["power"], 300_000_000, "{v}");
    // nextgen shares fees and subsidy by stake at each epoch's last block
    // (ADR 0038), stake bonded for the whole epoch (ADR 0071): the
    // delegator's share of the newcomer's reward reaches its address from
    // the epoch after the delegation.
    let coins = |s: String| s.parse::<f64>().unwrap();
    let before = coins(total_of(&cli(&["wallet", "--wallet", "del", "balance"])));
    wait_until("the delegator earns a reward", 180, || async {
        coins(total_of(&cli(&["wallet", "--wallet", "del", "balance"]))) > before
    })
    .await;

    // It unstakes its own bond; the coins come back to the payee after the
    // unbonding period while blocks keep finalizing.
    let out = cli(&[
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
    all_past(
        &five,
        unstaked_at + UNBONDING + 1,
        "blocks finalize past the unbonding period",
    )
    .await;
    wait_until("the unstaked coins reach the payee", 120, || async {
        total_of(&cli(&["wallet", "--wallet", "payee", "balance"])) == "2"
    })
    .await;
    // Held past its release height (ADR 0069, ADR 0072): the newcomer sat
    // in the set in force then, which an election before the unstake
    // seated, counting the stake. (Each election seats all five, and the
    // unbonding period is shorter than two epochs.)
    let coins: Value = get(v0.port, &format!("/address/{payee}/utxos")).await;
    let paid = coins["utxos"][0]["height"].as_u64().unwrap();
    assert!(
        paid > unstaked_at + UNBONDING,
        "released at {paid}, unstaked at {unstaked_at}: {coins}"
    );
    // The unstake's page finds the block that released it, past its
    // release height.
    let unstake = coins["utxos"][0]["txid"].as_str().unwrap();
    let t: Value = get(v0.port, &format!("/transactions/{unstake}")).await;
    assert_eq!(t["ledger_payouts"][0]["status"], "paid", "{t}");
    assert_eq!(t["ledger_payouts"][0]["height"], paid, "{t}");
    // Every validator signed enough of every window: nobody was jailed for
    // downtime, over many more heights than a window (waited for: a loaded
    // machine may not have got that far yet).
    all_past(&five, 3 * DOWNTIME_WINDOW, "three downtime windows").await;
    let h = v0.tip().await.0;
    let staking: Value = get(v0.port, "/staking").await;
    assert_eq!(staking["jailed"], 0, "{staking}");
    // All five agree on the chain.
    all_past(&five, h, "all five follow").await;
    let hash = get(v0.port, &format!("/blocks/{h}")).await["hash"].clone();
    for n in &five {
        assert_eq!(get(n.port, &format!("/blocks/{h}")).await["hash"], hash);
    }
}

/// Downtime on a network of real processes (ADR 0039), seen in the
/// metrics: with a window of eight commits, a validator killed once blocks
/// finalize is slashed and jailed by the blocks the other three finalize
/// without it, and each of them counts one downtime slash and one jailing,
/// as many as its gauge of jailed validators shows, and no double signing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validator_down_is_jailed_for_downtime_and_the_metrics_count_it() {
    let work = tempfile::tempdir().unwrap();
    let (spec_path, spec) = spec_file(work.path(), |s| s.downtime_window = 8);
    let (v0, mut others) = start_four(&spec_path).await;
    others[2].kill();
    let id = SigningKey::from_seed(spec.default_scheme, &ChainSpec::dev_validator_seed(3))
        .public_key()
        .key_hash()
        .to_string();
    wait_until("the validator that is down jailed", 180, || async {
        get(v0.port, &format!("/staking/validators/{id}")).await["jailed"] == true
    })
    .await;
    // Counters move as blocks connect, the gauge is read at the scrape:
    // wait for one scrape that has them all agree (one more jailing between
    // two reads would otherwise look like a mismatch).
    for n in [&v0, &others[0], &others[1]] {
        wait_until(
            "one downtime slash and jailing per jailed validator",
            120,
            || async {
                let text = reqwest::get(format!("http://127.0.0.1:{}/metrics", n.port))
                    .await
                    .unwrap()
                    .text()
                    .await
                    .unwrap();
                let value = |name: &str| {
                    text.lines()
                        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
                        .unwrap_or(-1.0)
                };
                let jailed = value("luminex_staking_jailed_validators");
                jailed >= 1.0
                    && value("luminex_staking_jailings_total") == jailed
                    && value("luminex_staking_slashes_total{offence=\"downtime\"}") == jailed
                    && value("luminex_staking_slashes_total{offence=\"double_sign\"}") == 0.0
            },
        )
        .await;
    }
}
