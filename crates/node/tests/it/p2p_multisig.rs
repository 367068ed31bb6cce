//! A multisig transaction relays and confirms on a network of real nodes.

use luminex_ledger::testkit::{lock_of, transfer, TestChain, TestMultisig};
use luminex_ledger::Coin;
use luminex_primitives::{Amount, OutPoint, SchemeId, TxOut};
use serde_json::json;

use crate::p2p::{broadcast, wait_until, TestNode};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multisig_spend_relays_and_confirms_on_three_nodes() {
    // Built offline on the dev chain's deterministic genesis: a payment of
    // 10 coins from dev key 0 to a 2-of-3 address, and a spend of it signed
    // by keys 0 and 2 of the set.
    let chain = TestChain::dev();
    let ms = TestMultisig::new(2, &[SchemeId::MlDsa65; 3], 31);
    let dev = chain.keys[0].clone();
    let mut coins = chain.coins_of(&lock_of(&dev));
    coins.retain(|(_, c)| !c.is_coinbase);
    let fund = transfer(
        &chain.spec,
        &dev,
        &coins[..1],
        vec![TxOut {
            amount: Amount::from_coins(10).unwrap(),
            lock: ms.lock(),
        }],
    );
    let coin = (
        OutPoint {
            txid: fund.txid(),
            vout: 0,
        },
        Coin {
            output: fund.outputs[0],
            height: 1,
            is_coinbase: false,
        },
    );
    let to = lock_of(&chain.keys[1]);
    let spend = ms.spend(&chain.spec, &coin, to, &[0, 2]);

    let boot = TestNode::start("dev", &["--no-produce"]);
    let boot_addr = boot.p2p_addr().await;
    let nodes = [
        boot,
        TestNode::start("dev", &["--no-produce", "--bootnodes", &boot_addr]),
        TestNode::start("dev", &["--no-produce", "--bootnodes", &boot_addr]),
    ];
    for n in &nodes {
        wait_until("full discovery", 60, || async { n.peers().await >= 2 }).await;
    }
    let miner = chain.spec.address(to).to_string();
    let fund_id = broadcast(nodes[1].port, &fund).await;
    wait_until("the funding in node 0's mempool", 30, || async {
        nodes[0].mempool_has(&fund_id).await
    })
    .await;
    nodes[0].rpc("generatetoaddress", json!([1, miner])).await;
    let tip = nodes[0].tip().await;
    for n in &nodes {
        wait_until("block 1 everywhere", 30, || async { n.tip().await == tip }).await;
    }
    // The multisig spend, sent to one node, reaches every mempool and is
    // confirmed by a block another node produces.
    let spend_id = broadcast(nodes[2].port, &spend).await;
    for n in &nodes {
        wait_until("the multisig spend in every mempool", 30, || async {
            n.mempool_has(&spend_id).await
        })
        .await;
    }
    nodes[1].rpc("generatetoaddress", json!([1, miner])).await;
    let tip = nodes[1].tip().await;
    assert_eq!(tip.0, 2);
    for n in &nodes {
        wait_until("block 2 everywhere", 30, || async { n.tip().await == tip }).await;
        let t = n.get(&format!("/transactions/{spend_id}")).await;
        assert_eq!(t["status"], "confirmed", "{t}");
        assert_eq!(t["height"], 2);
    }
    let ms_address = chain.spec.address(ms.lock()).to_string();
    let b = nodes[0]
        .get(&format!("/address/{ms_address}/balance"))
        .await;
    assert_eq!(b["confirmed"], 0, "{b}");
}
