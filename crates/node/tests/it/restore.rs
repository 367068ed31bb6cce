//! Restore from the recovery phrase alone against a real node: the gap
//! limit finds every coin, and payments never reuse a change address.

use std::path::Path;

use luminex_ledger::testkit::{lock_of, transfer, TestChain};
use luminex_primitives::{Amount, SchemeId, TxOut};
use luminex_wallet::{KeyChain, Wallet, WalletFile};

use crate::p2p::{broadcast, wait_until};
use crate::support::{free_port, ok, total_of, NodeProcess};

fn restore(dir: &Path, port: u16, wallet: &str, phrase: &str, extra: &[&str]) -> String {
    let out = std::process::Command::new(crate::support::bin())
        .args(["wallet", "--wallet", wallet, "restore"])
        .args(extra)
        .env("LUMINEX_DATA_DIR", dir)
        .env("LUMINEX_NODE", format!("http://127.0.0.1:{port}"))
        .env("LUMINEX_WALLET_PASSPHRASE", "test passphrase")
        .env("LUMINEX_MNEMONIC", phrase)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_finds_coins_by_gap_limit_and_change_is_never_reused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let node = NodeProcess::start(d, port, &["--block-time-ms", "300"]);

    // Someone's wallet, known here only by its phrase, was paid on receive
    // addresses 5, 24 and 43 (each within 20 of the one before), on change
    // addresses 0 to 12 (as thirteen payments leave them), and on receive
    // address 70, past the gap after 43.
    let chain = TestChain::dev();
    let spec = chain.spec.clone();
    let (original, phrase) = Wallet::create(&spec, SchemeId::MlDsa65, "x");
    let to = |c: KeyChain, i: u32, base: u64| TxOut {
        amount: Amount::from_base(base).unwrap(),
        lock: spec
            .parse_address(&original.address_at(&spec, c, i))
            .unwrap()
            .lock,
    };
    let mut outputs = vec![
        to(KeyChain::Receive, 5, 100_000_000),
        to(KeyChain::Receive, 24, 200_000_000),
        to(KeyChain::Receive, 43, 300_000_000),
        to(KeyChain::Receive, 70, 900_000_000),
    ];
    for i in 0..12 {
        outputs.push(to(KeyChain::Change, i, 1_000_000));
    }
    outputs.push(to(KeyChain::Change, 12, 400_000_000));
    let dev = chain.keys[1].clone();
    let mut coins = chain.coins_of(&lock_of(&dev));
    coins.retain(|(_, c)| !c.is_coinbase);
    let fund = transfer(&spec, &dev, &coins[..1], outputs);
    let txid = broadcast(port, &fund).await;
    wait_until("the funding confirmed", 60, || async {
        crate::p2p::get(port, &format!("/transactions/{txid}")).await["status"] == "confirmed"
    })
    .await;

    // From the phrase alone, with the default gaps (20 receive, 10 change).
    let out = restore(d, port, "r", &phrase, &[]);
    assert!(
        out.contains("found 44 used receive and 13 used change addresses"),
        "{out}"
    );
    assert_eq!(
        total_of(&ok(d, port, &["wallet", "--wallet", "r", "balance"])),
        "10.12"
    );
    // The coin past the gap is found with a wider gap; nothing else changes.
    let out = restore(d, port, "wide", &phrase, &["--gap-receive", "30"]);
    assert!(out.contains("found 71 used receive"), "{out}");
    assert_eq!(
        total_of(&ok(d, port, &["wallet", "--wallet", "wide", "balance"])),
        "19.12"
    );

    // Payments from the restored wallet: each change goes to a change
    // address that was never used.
    let path = d.join("dev").join("wallets").join("r.json");
    let file = |p: &Path| WalletFile::read(p, &spec).unwrap();
    assert_eq!(file(&path).change.len(), 13);
    let receiver = spec.address(lock_of(&chain.keys[2])).to_string();
    for n in 0..3 {
        ok(
            d,
            port,
            &[
                "wallet", "--wallet", "r", "send", "--to", &receiver, "--amount", "1", "--wait",
            ],
        );
        let f = file(&path);
        assert_eq!(f.change.len(), 14 + n);
        let fresh = f.change.last().unwrap();
        assert!(!f.change[..f.change.len() - 1].contains(fresh));
        let h = crate::p2p::get(port, &format!("/address/{fresh}/transactions")).await;
        assert_eq!(
            h["transactions"].as_array().unwrap().len(),
            1,
            "the change address was new: {h}"
        );
    }
    let total = total_of(&ok(d, port, &["wallet", "--wallet", "r", "balance"]));
    assert!(
        total.starts_with("7.11"),
        "three coins and fees spent: {total}"
    );
    node.stop();
}
