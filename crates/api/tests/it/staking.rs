//! `GET /staking/…` on a dev chain with a `[staking]` table: every route's
//! answers validate against the document, bad ids and addresses are 400s,
//! chains without staking answer 404 `no-staking`, and a staking
//! transaction the state refuses is a 422 with the staking code.

use luminex_crypto::SigningKey;
use luminex_ledger::staking::{RewardRule, StakingParams};
use luminex_ledger::testkit::{lock_of, staking_tx};
use luminex_ledger::ChainSpec;
use luminex_primitives::{
    Amount, Delegation, Encode, NodeRegistration, SchemeId, Stake, TxKind, Unbond,
};
use serde_json::{json, Value};

use crate::openapi::{get, request, validate};
use crate::support::{memory_node, memory_node_for};

const MIN: u64 = 1_000_000;

fn amount(n: u64) -> Amount {
    Amount::from_base(n).unwrap()
}

fn staking_spec() -> ChainSpec {
    let mut spec = ChainSpec::preset("dev").unwrap();
    spec.staking = Some(StakingParams::new(amount(MIN), 10));
    spec
}

/// Pays `kind` from dev key `payer`'s largest confirmed coin, acted by
/// `actor`, and mines it.
fn mine(node: &luminex_service::Node, payer: u32, kind: TxKind, actor: &SigningKey) {
    let key = node.spec.dev_key(payer).unwrap();
    let mut coins = node.chain.address_utxos(&lock_of(&key), 100).unwrap();
    coins.sort_by_key(|(_, c)| std::cmp::Reverse(c.output.amount));
    let tx = staking_tx(&node.spec, &key, &coins[..1], kind, Some(actor));
    node.submit(tx).unwrap();
    node.produce_block().unwrap();
}

/// Validator `v` stakes three times the minimum, paid by dev key 0, mined.
fn stake_three_min(node: &luminex_service::Node, v: &SigningKey) {
    mine(
        node,
        0,
        TxKind::Stake(Stake {
            validator: v.public_key().clone(),
            amount: amount(3 * MIN),
        }),
        v,
    );
}

/// Validator `v` unstakes the minimum to its own address, paid by dev
/// key 2, mined.
fn unstake_min(node: &luminex_service::Node, v: &SigningKey) {
    mine(
        node,
        2,
        TxKind::Unstake(Unbond {
            validator: v.public_key().key_hash(),
            amount: amount(MIN),
            payout: lock_of(v),
        }),
        v,
    );
}

#[tokio::test]
async fn every_staking_route_answers_as_documented() {
    let node = memory_node_for(staking_spec());
    let (_, doc) = get(&node, "/openapi.json").await;
    let v = SigningKey::from_seed(SchemeId::MlDsa65, &[1; 32]);
    let vid = v.public_key().key_hash().to_string();
    let d = node.spec.dev_key(1).unwrap();
    let d_address = node.spec.address(lock_of(&d)).to_string();
    // The node registered is the validator's key: a registration needs
    // stake of its own (ADR 0063).
    let n = v.clone();

    stake_three_min(&node, &v);
    mine(
        &node,
        1,
        TxKind::Delegate(Delegation {
            validator: v.public_key().key_hash(),
            amount: amount(5_000),
        }),
        &d,
    );
    unstake_min(&node, &v);
    mine(
        &node,
        3,
        TxKind::RegisterNode(NodeRegistration {
            node: n.public_key().clone(),
            payout: lock_of(&n),
        }),
        &n,
    );

    let (s, info) = get(&node, "/staking").await;
    assert_eq!(s, 200, "{info}");
    validate(&doc, "/staking", "get", 200, &info);
    assert_eq!(info["min_stake"], MIN);
    assert_eq!(info["total_bonded"], 2 * MIN + 5_000);
    assert_eq!(info["total_unbonding"], MIN);
    assert_eq!(info["validators_with_stake"], 1);
    assert_eq!(info["registered_nodes"], 1);

    let (s, list) = get(&node, "/staking/validators").await;
    assert_eq!(s, 200);
    validate(&doc, "/staking/validators", "get", 200, &list);
    let one = &list["validators"][0];
    assert_eq!(one["id"], vid.as_str());
    assert_eq!(one["self_bond"], 2 * MIN);
    assert_eq!(one["delegated"], 5_000);
    assert_eq!(one["power"], 2 * MIN + 5_000);
    assert_eq!(one["delegators"], 1);
    assert_eq!(one["jailed"], false);

    let (s, got) = get(&node, &format!("/staking/validators/{vid}")).await;
    assert_eq!(s, 200);
    validate(&doc, "/staking/validators/{id}", "get", 200, &got);
    assert_eq!(&got, one);

    let (s, ds) = get(&node, &format!("/staking/validators/{vid}/delegations")).await;
    assert_eq!(s, 200);
    validate(
        &doc,
        "/staking/validators/{id}/delegations",
        "get",
        200,
        &ds,
    );
    assert_eq!(
        ds["delegations"][0]["delegator"],
        d.public_key().key_hash().to_string()
    );
    let (s, mine_ds) = get(&node, &format!("/staking/delegations/{d_address}")).await;
    assert_eq!(s, 200);
    validate(&doc, "/staking/delegations/{address}", "get", 200, &mine_ds);
    assert_eq!(mine_ds["delegations"], ds["delegations"]);

    let (s, u) = get(&node, "/staking/unbonding").await;
    assert_eq!(s, 200);
    validate(&doc, "/staking/unbonding", "get", 200, &u);
    assert_eq!(u["entries"][0]["amount"], MIN);
    assert_eq!(u["entries"][0]["owner"], vid.as_str());
    assert_eq!(u["more"], 0);

    let (s, ns) = get(&node, "/staking/nodes").await;
    assert_eq!(s, 200);
    validate(&doc, "/staking/nodes", "get", 200, &ns);
    assert_eq!(ns["nodes"][0]["id"], n.public_key().key_hash().to_string());

    let (s, acc) = get(&node, &format!("/staking/accounts/{d_address}")).await;
    assert_eq!(s, 200);
    validate(&doc, "/staking/accounts/{address}", "get", 200, &acc);
    assert_eq!(acc["required"], false);
    assert_eq!(acc["can_receive"], true);

    // Bad input: 400s with their codes, all as documented.
    let bad = [
        (
            "/staking/validators/{id}",
            "/staking/validators/xyz".to_string(),
            400,
            "bad-validator",
        ),
        (
            "/staking/validators/{id}/delegations",
            "/staking/validators/12/delegations".to_string(),
            400,
            "bad-validator",
        ),
        (
            "/staking/delegations/{address}",
            "/staking/delegations/lmx1notanaddress".to_string(),
            400,
            "bad-address",
        ),
        (
            "/staking/accounts/{address}",
            "/staking/accounts/nope".to_string(),
            400,
            "bad-address",
        ),
        (
            "/staking/unbonding",
            "/staking/unbonding?limit=0".to_string(),
            400,
            "bad-limit",
        ),
        (
            "/staking/validators/{id}",
            format!("/staking/validators/{}", "ab".repeat(32)),
            404,
            "not-found",
        ),
        (
            "/staking/validators/{id}/delegations",
            format!("/staking/validators/{}/delegations", "ab".repeat(32)),
            404,
            "not-found",
        ),
    ];
    for (template, uri, status, code) in bad {
        let (s, v) = get(&node, &uri).await;
        assert_eq!((s, v["code"].as_str()), (status, Some(code)), "{uri}: {v}");
        validate(&doc, template, "get", s, &v);
    }
    // A limit leaves entries out and says how many.
    unstake_min(&node, &v);
    let (_, u) = get(&node, "/staking/unbonding?limit=1").await;
    assert_eq!(
        (u["entries"].as_array().unwrap().len(), &u["more"]),
        (1, &json!(1))
    );

    // The metrics follow the state.
    let text = node.metrics.render(&node);
    let value = |series: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|r| r.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("{series} not in:\n{text}"))
            .to_string()
    };
    assert_eq!(
        value("luminex_staking_bonded_base_units"),
        (MIN + 5_000).to_string()
    );
    assert_eq!(
        value("luminex_staking_unbonding_base_units"),
        (2 * MIN).to_string()
    );
    assert_eq!(value("luminex_staking_validators"), "1");
    assert_eq!(value("luminex_staking_jailed_validators"), "0");
    assert_eq!(value("luminex_staking_registered_nodes"), "1");
}

#[tokio::test]
async fn a_stake_below_the_minimum_is_refused_with_its_code() {
    let node = memory_node_for(staking_spec());
    let v = SigningKey::from_seed(SchemeId::MlDsa65, &[1; 32]);
    let key = node.spec.dev_key(0).unwrap();
    let coins = node.chain.address_utxos(&lock_of(&key), 1).unwrap();
    let tx = staking_tx(
        &node.spec,
        &key,
        &coins,
        TxKind::Stake(Stake {
            validator: v.public_key().clone(),
            amount: amount(MIN - 1),
        }),
        Some(&v),
    );
    let (s, body, _) = request(
        &node,
        "POST",
        "/transactions/broadcast",
        Some(json!({ "tx": hex::encode(tx.encode()) })),
    )
    .await;
    assert_eq!(
        (s, body["code"].as_str()),
        (422, Some("stake-below-minimum")),
        "{body}"
    );
    assert!(node.mempool.read().is_empty());
}

#[tokio::test]
async fn chains_without_staking_answer_404_on_every_staking_route() {
    let node = memory_node();
    let (_, doc) = get(&node, "/openapi.json").await;
    let a = node
        .spec
        .address(lock_of(&node.spec.dev_key(0).unwrap()))
        .to_string();
    let id = "ab".repeat(32);
    let routes = [
        ("/staking", "/staking".to_string()),
        ("/staking/validators", "/staking/validators".to_string()),
        (
            "/staking/validators/{id}",
            format!("/staking/validators/{id}"),
        ),
        (
            "/staking/validators/{id}/delegations",
            format!("/staking/validators/{id}/delegations"),
        ),
        (
            "/staking/delegations/{address}",
            format!("/staking/delegations/{a}"),
        ),
        ("/staking/unbonding", "/staking/unbonding".to_string()),
        ("/staking/nodes", "/staking/nodes".to_string()),
        (
            "/staking/accounts/{address}",
            format!("/staking/accounts/{a}"),
        ),
        ("/staking/epoch", "/staking/epoch".to_string()),
        ("/staking/rewards", "/staking/rewards".to_string()),
    ];
    for (template, uri) in routes {
        let (s, v): (u16, Value) = get(&node, &uri).await;
        assert_eq!((s, v["code"].as_str()), (404, Some("no-staking")), "{uri}");
        validate(&doc, template, "get", 404, &v);
    }
}

/// `GET /staking/epoch` on the `nextgen` preset at genesis: epoch 0, the
/// first boundary one epoch on, the four development validators in force
/// with the minimum stake as power, nothing scheduled yet.
#[tokio::test]
async fn the_epoch_route_names_the_sets_in_force() {
    let spec = ChainSpec::preset("nextgen").unwrap();
    let p = spec.staking.clone().unwrap();
    let node = memory_node_for(spec);
    let (_, doc) = get(&node, "/openapi.json").await;
    let (s, e) = get(&node, "/staking/epoch").await;
    assert_eq!(s, 200, "{e}");
    validate(&doc, "/staking/epoch", "get", 200, &e);
    assert_eq!(e["height"], 0);
    assert_eq!(e["epoch"], 0);
    assert_eq!(e["epoch_blocks"], p.epoch_blocks);
    assert_eq!(e["next_boundary"], p.epoch_blocks);
    assert_eq!(e["election"], "stake");
    assert_eq!(e["seats"], p.max_validators);
    let current = e["current"].as_array().unwrap();
    assert_eq!(current.len(), 4);
    assert!(current.iter().all(|m| m["power"] == p.min_stake.base()));
    assert_eq!(e["next"], e["current"]);
    assert!(e["scheduled"].is_null());
}

/// `GET /consensus/validators` answers on every BFT chain, authority
/// chains included, and agrees with `/staking/epoch` where both answer; a
/// chain without a validator set answers 404 `no-validators`.
#[tokio::test]
async fn the_validator_sets_are_served_on_every_bft_chain() {
    let poa = memory_node_for(ChainSpec::preset("poa").unwrap());
    let (_, doc) = get(&poa, "/openapi.json").await;
    let (s, v) = get(&poa, "/consensus/validators").await;
    assert_eq!(s, 200, "{v}");
    validate(&doc, "/consensus/validators", "get", 200, &v);
    assert_eq!(v["height"], 0);
    let current = v["current"].as_array().unwrap();
    assert_eq!(current.len(), 4);
    let genesis = poa.spec.bft_genesis().unwrap();
    for (m, g) in current.iter().zip(genesis.validators.validators()) {
        assert_eq!(m["id"], g.id().to_string());
        assert_eq!(m["power"], 1);
    }
    assert_eq!(v["current_power"], 4);
    assert_eq!(v["next"], v["current"]);
    assert_eq!(v["pending"], json!([]));
    assert!(v["scheduled"].is_null());

    let nextgen = memory_node_for(ChainSpec::preset("nextgen").unwrap());
    let (s, v) = get(&nextgen, "/consensus/validators").await;
    assert_eq!(s, 200, "{v}");
    let (_, e) = get(&nextgen, "/staking/epoch").await;
    assert_eq!(v["current"], e["current"]);
    assert_eq!(v["next"], e["next"]);

    for node in [
        memory_node(),
        memory_node_for(ChainSpec::preset("qbtc").unwrap()),
    ] {
        let (s, v) = get(&node, "/consensus/validators").await;
        assert_eq!((s, v["code"].as_str()), (404, Some("no-validators")), "{v}");
        validate(&doc, "/consensus/validators", "get", 404, &v);
    }
}

/// `GET /consensus/state` shows what the consensus task published: the
/// round, each validator's votes (nil told apart from none) and who has
/// not been heard from, with the powers summed; 503 before the task runs,
/// 404 on a chain without rounds. Every answer validates.
#[tokio::test]
async fn the_consensus_state_shows_each_validators_votes() {
    use luminex_consensus::bft::{RoundView, Step, VoterView};
    use luminex_primitives::Hash;
    let poa = memory_node_for(ChainSpec::preset("poa").unwrap());
    let (_, doc) = get(&poa, "/openapi.json").await;
    let (s, v) = get(&poa, "/consensus/state").await;
    assert_eq!(
        (s, v["code"].as_str()),
        (503, Some("no-consensus-task")),
        "{v}"
    );
    validate(&doc, "/consensus/state", "get", 503, &v);

    let set = poa.spec.bft_genesis().unwrap().validators;
    let ids: Vec<Hash> = set.validators().iter().map(|v| v.id()).collect();
    let block = Hash([7; 32]);
    let ballots = [
        (Some(Some(block)), Some(Some(block)), true),
        (Some(Some(block)), Some(None), true),
        (Some(None), None, true),
        (None, None, false),
    ];
    let view = RoundView {
        height: 1,
        round: 2,
        step: Step::Precommit,
        proposer: ids[1],
        proposal: Some(block),
        locked: Some((block, 2)),
        valid: Some((block, 2)),
        validators: ids
            .iter()
            .zip(ballots)
            .map(|(id, (prevote, precommit, heard))| VoterView {
                id: *id,
                power: 1,
                prevote,
                precommit,
                heard,
                last_round: heard.then_some(2),
            })
            .collect(),
    };
    poa.publish_consensus(view.clone());
    let (s, v) = get(&poa, "/consensus/state").await;
    assert_eq!(s, 200, "{v}");
    validate(&doc, "/consensus/state", "get", 200, &v);
    assert_eq!(
        (v["height"].as_u64(), v["round"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(v["step"], "precommit");
    assert_eq!(v["proposer"], ids[1].to_string());
    assert_eq!(v["locked"]["round"], 2);
    assert_eq!(
        (
            v["total_power"].as_u64(),
            v["prevote_power"].as_u64(),
            v["precommit_power"].as_u64(),
            v["unheard_power"].as_u64()
        ),
        (Some(4), Some(3), Some(2), Some(1))
    );
    let voters = v["validators"].as_array().unwrap();
    assert_eq!(voters[1]["precommit"], "nil");
    assert_eq!(voters[2]["prevote"], "nil");
    assert!(voters[2]["precommit"].is_null());
    assert_eq!(voters[3]["heard"], false);
    assert!(voters[3]["last_round"].is_null());
    assert_eq!(voters[0]["last_round"], 2);
    // The same round published again keeps when it began; a new round
    // starts its clock, not the height's.
    let since = poa.consensus_view.read().clone().unwrap();
    poa.publish_consensus(view.clone());
    let again = poa.consensus_view.read().clone().unwrap();
    assert_eq!(again.round_since_ms, since.round_since_ms);
    poa.publish_consensus(RoundView { round: 3, ..view });
    let next = poa.consensus_view.read().clone().unwrap();
    assert_eq!(next.height_since_ms, since.height_since_ms);
    assert!(next.round_since_ms >= since.round_since_ms);

    let (s, v) = get(&memory_node(), "/consensus/state").await;
    assert_eq!((s, v["code"].as_str()), (404, Some("no-validators")), "{v}");
    validate(&doc, "/consensus/state", "get", 404, &v);
}

/// `GET /staking/rewards` on a `stake_weighted` chain: the pot holds the
/// fees (the coinbases claim nothing), and the coming payout splits it
/// between the validator and its delegator, as documented.
#[tokio::test]
async fn rewards_show_the_pot_and_the_coming_payout() {
    let mut spec = staking_spec();
    if let Some(p) = spec.staking.as_mut() {
        p.rewards = RewardRule::StakeWeighted;
        p.epoch_blocks = 5;
    }
    let node = memory_node_for(spec);
    let (_, doc) = get(&node, "/openapi.json").await;
    let v = SigningKey::from_seed(SchemeId::MlDsa65, &[1; 32]);
    let d = node.spec.dev_key(1).unwrap();
    stake_three_min(&node, &v);
    mine(
        &node,
        1,
        TxKind::Delegate(Delegation {
            validator: v.public_key().key_hash(),
            amount: amount(MIN),
        }),
        &d,
    );
    // Stake bonded in this epoch earns from the next (ADR 0071): nothing
    // behind v earns yet, so the coming payout pays nobody.
    let vid = v.public_key().key_hash();
    let (_, j) = get(&node, &format!("/staking/validators/{vid}")).await;
    assert_eq!(
        (j["power"].as_u64(), j["earning_power"].as_u64()),
        (Some(4 * MIN), Some(0)),
        "{j}"
    );
    let (_, j) = get(&node, &format!("/staking/validators/{vid}/delegations")).await;
    validate(&doc, "/staking/validators/{id}/delegations", "get", 200, &j);
    assert_eq!(j["delegations"][0]["amount"].as_u64(), Some(MIN), "{j}");
    assert_eq!(j["delegations"][0]["earning"].as_u64(), Some(0), "{j}");
    let (_, r) = get(&node, "/staking/rewards").await;
    assert_eq!(r["shares"], serde_json::json!([]), "{r}");
    assert_eq!(r["carried"], r["pot"], "{r}");
    // Past the boundary it all earns.
    while node.chain.tip().height < 6 {
        node.produce_block().unwrap();
    }
    let (_, j) = get(&node, &format!("/staking/validators/{vid}/delegations")).await;
    assert_eq!(j["delegations"][0]["earning"].as_u64(), Some(MIN), "{j}");
    let (s, r) = get(&node, "/staking/rewards").await;
    assert_eq!(s, 200, "{r}");
    validate(&doc, "/staking/rewards", "get", 200, &r);
    assert_eq!(r["rule"], "stake_weighted");
    // A chain without certificates pays as an election would seat.
    assert_eq!(r["basis"], "elected");
    assert_eq!(r["signed"], serde_json::json!([]));
    assert_eq!(r["epoch"], 1);
    assert_eq!(r["payout_height"], 10);
    let pot = r["pot"].as_u64().unwrap();
    assert!(pot > 0, "{r}");
    let shares = r["shares"].as_array().unwrap();
    assert_eq!(shares.len(), 2, "{r}");
    assert_eq!(shares[0]["kind"], "validator");
    assert_eq!(shares[1]["kind"], "delegator");
    assert_eq!(shares[1]["id"], d.public_key().key_hash().to_string());
    assert_eq!(
        shares[1]["address"],
        node.spec.address(lock_of(&d)).to_string()
    );
    let paid: u64 = shares.iter().map(|s| s["amount"].as_u64().unwrap()).sum();
    assert_eq!(paid + r["carried"].as_u64().unwrap(), pot);
    let text = node.metrics.render(&node);
    assert!(
        text.lines()
            .any(|l| l == format!("luminex_staking_reward_pot_base_units {pot}")),
        "{text}"
    );
    let (_, r) = get(&node, "/staking/rewards?limit=1").await;
    validate(&doc, "/staking/rewards", "get", 200, &r);
    assert_eq!(r["more"], 1);
    let (s, bad) = get(&node, "/staking/rewards?limit=0").await;
    assert_eq!((s, bad["code"].as_str()), (400, Some("bad-limit")));
}

/// `GET /stats` counts every coin that exists: a stake moves coins out of
/// the UTXO set into the staking state, it does not shrink the supply,
/// which is what the schedule issued (the ledger's supply invariant).
#[tokio::test]
async fn staking_does_not_shrink_the_supply() {
    let node = memory_node_for(staking_spec());
    let v = SigningKey::from_seed(SchemeId::MlDsa65, &[1; 32]);
    stake_three_min(&node, &v);
    let (s, stats) = get(&node, "/stats").await;
    assert_eq!(s, 200, "{stats}");
    let issued = node.spec.issued_supply(node.chain.tip().height);
    assert_eq!(
        u128::from(stats["supply"].as_u64().unwrap()),
        issued,
        "{stats}"
    );
    let (_, staking) = get(&node, "/staking").await;
    assert_eq!(staking["total_bonded"], 3 * MIN);
}

/// `GET /transactions/{txid}` shows what the ledger pays for a
/// transaction (ADR 0031): an unstake's release, pending until its height
/// and paid after, and a reward under the paying block's coinbase; the
/// payout address's history lists both where they were paid.
#[tokio::test]
async fn transactions_show_the_coins_the_ledger_pays_for_them() {
    let mut spec = staking_spec();
    if let Some(p) = spec.staking.as_mut() {
        p.rewards = RewardRule::StakeWeighted;
        p.epoch_blocks = 5;
    }
    let node = memory_node_for(spec);
    let (_, doc) = get(&node, "/openapi.json").await;
    let v = SigningKey::from_seed(SchemeId::MlDsa65, &[1; 32]);
    stake_three_min(&node, &v);
    unstake_min(&node, &v);
    let unstake_height = node.chain.tip().height;
    let block = node.chain.block(&node.chain.tip().hash).unwrap().unwrap();
    let unstake = block.txs[1].txid().to_string();
    let (s, t) = get(&node, &format!("/transactions/{unstake}")).await;
    assert_eq!(s, 200, "{t}");
    validate(&doc, "/transactions/{txid}", "get", 200, &t);
    let release = unstake_height + 10;
    assert_eq!(
        t["ledger_payouts"],
        json!([{
            "vout": block.txs[1].outputs.len(),
            "amount": MIN,
            "amount_coins": amount(MIN).to_string(),
            "address": node.spec.address(lock_of(&v)).to_string(),
            "kind": "unbonding",
            "height": release,
            "status": "pending",
        }])
    );
    while node.chain.tip().height < release {
        node.produce_block().unwrap();
    }
    let (_, t) = get(&node, &format!("/transactions/{unstake}")).await;
    validate(&doc, "/transactions/{txid}", "get", 200, &t);
    assert_eq!(t["ledger_payouts"][0]["status"], "paid", "{t}");
    assert_eq!(t["ledger_payouts"][0]["height"], release);

    // The rewards of the last epoch boundary passed, under its coinbase.
    let boundary = release / 5 * 5;
    let hash = node.chain.hash_at(boundary).unwrap().unwrap();
    let coinbase = node.chain.block(&hash).unwrap().unwrap().txs[0].txid();
    let (_, c) = get(&node, &format!("/transactions/{coinbase}")).await;
    validate(&doc, "/transactions/{txid}", "get", 200, &c);
    let rewards = c["ledger_payouts"].as_array().expect("rewards paid");
    assert!(
        rewards
            .iter()
            .all(|r| r["kind"] == "reward" && r["status"] == "paid"),
        "{c}"
    );
    let to_v = node.spec.address(lock_of(&v)).to_string();
    assert!(rewards.iter().any(|r| r["address"] == to_v.as_str()), "{c}");

    // The validator's history: the release and the rewards, as received.
    let (_, h) = get(&node, &format!("/address/{to_v}/transactions?limit=100")).await;
    let rows = h["transactions"].as_array().unwrap();
    assert!(
        rows.iter()
            .any(|r| r["txid"] == unstake.as_str() && r["height"] == release),
        "{h}"
    );
    assert!(
        rows.iter()
            .any(|r| r["txid"] == coinbase.to_string().as_str()),
        "{h}"
    );
    // A stake is paid nothing by the ledger.
    let first = node.chain.hash_at(1).unwrap().unwrap();
    let stake = node.chain.block(&first).unwrap().unwrap().txs[1].txid();
    let (_, plain) = get(&node, &format!("/transactions/{stake}")).await;
    assert!(plain.get("ledger_payouts").is_none(), "{plain}");
}

/// An unbonding entry whose stake still backs a validator set at its
/// release height is held (ADR 0069), and the API says so: with 5-block
/// epochs and 3 blocks of unbonding, the unstake of block 2 is due at 5
/// but backs the set in force through 10. `GET /staking/unbonding` shows
/// it held with its release expected at 11, the unstake's transaction
/// shows it pending until 11 — still at 10 — and paid by block 11.
#[tokio::test]
async fn a_held_unbonding_entry_shows_its_expected_release() {
    let mut spec = staking_spec();
    if let Some(p) = spec.staking.as_mut() {
        p.epoch_blocks = 5;
        p.unbonding_blocks = 3;
    }
    let node = memory_node_for(spec);
    let (_, doc) = get(&node, "/openapi.json").await;
    let v = SigningKey::from_seed(SchemeId::MlDsa65, &[1; 32]);
    stake_three_min(&node, &v);
    unstake_min(&node, &v);
    assert_eq!(node.chain.tip().height, 2);
    let block = node.chain.block(&node.chain.tip().hash).unwrap().unwrap();
    let unstake = block.txs[1].txid().to_string();
    let entry = |u: &Value| {
        (
            u["entries"][0]["release_height"].clone(),
            u["entries"][0]["held"].clone(),
            u["entries"][0]["expected_release_height"].clone(),
        )
    };
    let (s, u) = get(&node, "/staking/unbonding").await;
    assert_eq!(s, 200, "{u}");
    validate(&doc, "/staking/unbonding", "get", 200, &u);
    assert_eq!(entry(&u), (json!(5), json!(true), json!(11)));
    while node.chain.tip().height < 10 {
        node.produce_block().unwrap();
    }
    let (_, u) = get(&node, "/staking/unbonding").await;
    assert_eq!(entry(&u), (json!(5), json!(true), json!(11)));
    assert_eq!(u["entries"][0]["amount"], MIN);
    let (_, t) = get(&node, &format!("/transactions/{unstake}")).await;
    validate(&doc, "/transactions/{txid}", "get", 200, &t);
    assert_eq!(
        (
            &t["ledger_payouts"][0]["status"],
            &t["ledger_payouts"][0]["height"]
        ),
        (&json!("pending"), &json!(11)),
        "{t}"
    );
    node.produce_block().unwrap();
    let (_, u) = get(&node, "/staking/unbonding").await;
    assert_eq!(u["entries"], json!([]), "{u}");
    let (_, t) = get(&node, &format!("/transactions/{unstake}")).await;
    assert_eq!(
        (
            &t["ledger_payouts"][0]["status"],
            &t["ledger_payouts"][0]["height"]
        ),
        (&json!("paid"), &json!(11)),
        "{t}"
    );
    // The unstake of block 12 backs the set elected at 10, in force
    // through 20.
    unstake_min(&node, &v);
    let (_, u) = get(&node, "/staking/unbonding").await;
    assert_eq!(entry(&u), (json!(15), json!(true), json!(21)));
}

/// `GET /staking/validators/{id}` shows a validator that unstaked all of
/// its stake (its stake record is dropped) while its stake is unbonding —
/// with no stake and the unbonding amount — instead of a 404; an id the
/// node knows nothing of is still a 404. (Seats in a set are covered by
/// the route's unit test: this dev chain keeps no validator sets.)
#[tokio::test]
async fn a_validator_that_unstaked_everything_is_still_shown() {
    let node = memory_node_for(staking_spec());
    let (_, doc) = get(&node, "/openapi.json").await;
    let v = SigningKey::from_seed(SchemeId::MlDsa65, &[1; 32]);
    let vid = v.public_key().key_hash().to_string();
    stake_three_min(&node, &v);
    mine(
        &node,
        2,
        TxKind::Unstake(Unbond {
            validator: v.public_key().key_hash(),
            amount: amount(3 * MIN),
            payout: lock_of(&v),
        }),
        &v,
    );
    let (s, list) = get(&node, "/staking/validators").await;
    assert_eq!(s, 200);
    assert_eq!(list["validators"], json!([]), "no stake record left");
    let (s, one) = get(&node, &format!("/staking/validators/{vid}")).await;
    assert_eq!(s, 200, "{one}");
    validate(&doc, "/staking/validators/{id}", "get", 200, &one);
    assert_eq!(one["id"], vid.as_str());
    assert_eq!(
        (&one["self_bond"], &one["delegated"], &one["power"]),
        (&json!(0), &json!(0), &json!(0))
    );
    assert_eq!(one["unbonding"], 3 * MIN);
    assert_eq!(one["in_current_set"], false);
    assert_eq!(one["jailed"], false);
    let (s, ds) = get(&node, &format!("/staking/validators/{vid}/delegations")).await;
    assert_eq!(s, 200, "{ds}");
    assert_eq!(ds["delegations"], json!([]));
    let unknown = "ab".repeat(32);
    for path in [
        format!("/staking/validators/{unknown}"),
        format!("/staking/validators/{unknown}/delegations"),
    ] {
        let (s, e) = get(&node, &path).await;
        assert_eq!(
            (s, e["code"].as_str()),
            (404, Some("not-found")),
            "{path}: {e}"
        );
    }
}

/// Where accounts must be created, `POST /transactions/create` refuses a
/// payment to an address no account created (422 `uncreated-account`, as
/// broadcasting it would be) instead of handing it out to be signed; once
/// a create-account transaction for it waits in the pool, the payment is
/// made, as admission would take it after the creation.
#[tokio::test]
async fn creating_a_payment_to_an_uncreated_account_is_refused() {
    let mut spec = staking_spec();
    if let Some(p) = spec.staking.as_mut() {
        p.require_account_creation = true;
    }
    let node = memory_node_for(spec);
    let (_, doc) = get(&node, "/openapi.json").await;
    let k0 = node.spec.dev_key(0).unwrap();
    let from = node.spec.address(lock_of(&k0)).to_string();
    let new = SigningKey::from_seed(SchemeId::MlDsa65, &[9; 32]);
    let to = node.spec.address(new.public_key().lock()).to_string();
    let body = json!({ "from": from, "to": to, "amount": "1" });
    let (s, v, _) = request(&node, "POST", "/transactions/create", Some(body.clone())).await;
    assert_eq!((s, &v["code"]), (422, &json!("uncreated-account")), "{v}");
    validate(&doc, "/transactions/create", "post", 422, &v);
    assert!(v["detail"].as_str().unwrap().contains(&to), "{v}");
    // A dev key's address is a genesis account: paying it is fine.
    let k1 = node.spec.address(lock_of(&node.spec.dev_key(1).unwrap()));
    let ok_body = json!({ "from": from, "to": k1.to_string(), "amount": "1" });
    let (s, v, _) = request(&node, "POST", "/transactions/create", Some(ok_body)).await;
    assert_eq!(s, 200, "{v}");
    // Its creation in the pool: the payment can follow it there.
    let key = node.spec.dev_key(1).unwrap();
    let mut coins = node.chain.address_utxos(&lock_of(&key), 100).unwrap();
    coins.sort_by_key(|(_, c)| std::cmp::Reverse(c.output.amount));
    let create = TxKind::CreateAccount(luminex_primitives::AccountCreation {
        lock: new.public_key().lock(),
    });
    node.submit(staking_tx(&node.spec, &key, &coins[..1], create, None))
        .unwrap();
    let (s, v, _) = request(&node, "POST", "/transactions/create", Some(body)).await;
    assert_eq!(s, 200, "{v}");
}
