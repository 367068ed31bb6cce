//! Restore benchmark (ignored by default; the figures go to BENCHMARKS.md):
//!
//! cargo test --release -p luminex-node --test it bench_restore -- --ignored --nocapture
//!
//! A wallet whose receive addresses 0 to 999 were each paid once is
//! restored from its phrase alone by `luminex wallet restore` against a
//! running dev node: the gap scan derives and asks about 1,020 receive and
//! 10 change addresses over REST, then the wallet keeps the 1,000 used ones
//! plus a fresh one. Also timed in process: deriving the addresses alone
//! (ML-DSA-65 key generation), to split the figure.

use std::collections::HashSet;
use std::time::Instant;

use luminex_ledger::testkit::{lock_of, transfer, TestChain};
use luminex_primitives::{Amount, SchemeId, TxOut};
use luminex_wallet::recovery::{scan, CHANGE_GAP, RECEIVE_GAP};
use luminex_wallet::{KeyChain, Wallet, WalletFile};

use crate::p2p::{broadcast, wait_until};
use crate::support::{free_port, NodeProcess};

const USED: u32 = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with --ignored --nocapture"]
async fn bench_restore_a_wallet_with_1000_used_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let node = NodeProcess::start(d, port, &["--block-time-ms", "500"]);
    let chain = TestChain::dev();
    let spec = chain.spec.clone();
    let (original, phrase) = Wallet::create(&spec, SchemeId::MlDsa65, "x");

    let t = Instant::now();
    let addresses: Vec<String> = (0..USED)
        .map(|i| original.address_at(&spec, KeyChain::Receive, i))
        .collect();
    let derive = t.elapsed();

    // One transaction pays each of the 1,000 addresses.
    let outputs = addresses
        .iter()
        .map(|a| TxOut {
            amount: Amount::from_base(100_000).unwrap(),
            lock: spec.parse_address(a).unwrap().lock,
        })
        .collect();
    let dev = chain.keys[1].clone();
    let mut coins = chain.coins_of(&lock_of(&dev));
    coins.retain(|(_, c)| !c.is_coinbase);
    let fund = transfer(&spec, &dev, &coins[..1], outputs);
    let txid = broadcast(port, &fund).await;
    wait_until("the funding confirmed", 120, || async {
        crate::p2p::get(port, &format!("/transactions/{txid}")).await["status"] == "confirmed"
    })
    .await;

    // The scan alone, answered from memory: key derivation only.
    let used: HashSet<&str> = addresses.iter().map(String::as_str).collect();
    let t = Instant::now();
    let mut w = Wallet::restore(&spec, SchemeId::MlDsa65, &phrase, "x").unwrap();
    let found = scan(&mut w, &spec, RECEIVE_GAP, CHANGE_GAP, |a| {
        Ok::<_, ()>(used.contains(a))
    })
    .unwrap();
    let in_memory = t.elapsed();
    assert_eq!((found.receive, found.change), (USED, 0));

    // The command a user runs.
    let t = Instant::now();
    let out = std::process::Command::new(crate::support::bin())
        .args(["wallet", "--wallet", "restored", "restore"])
        .env("LUMINEX_DATA_DIR", d)
        .env("LUMINEX_NODE", format!("http://127.0.0.1:{port}"))
        .env("LUMINEX_WALLET_PASSPHRASE", "test passphrase")
        .env("LUMINEX_MNEMONIC", phrase.as_str())
        .output()
        .unwrap();
    let cli = t.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("kept 1000 receive and 0 change addresses"),
        "{stdout}"
    );
    let file = WalletFile::read(&d.join("dev/wallets/restored.json"), &spec).unwrap();
    assert_eq!(file.addresses.len() as u32, USED + 1);
    assert_eq!(file.addresses[..USED as usize], addresses[..]);

    println!("restore of a wallet with {USED} used receive addresses (ML-DSA-65):");
    println!("  derive {USED} addresses:            {derive:?}");
    println!(
        "  scan in memory ({} queries):     {in_memory:?}",
        found.queries
    );
    println!("  luminex wallet restore (REST):    {cli:?}");
    node.stop();
}
