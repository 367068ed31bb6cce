//! Restore from the recovery phrase alone against a real node: the gap
//! limit finds every coin, and payments never reuse a change address.

use std::path::{Path, PathBuf};

use luminex_ledger::testkit::{lock_of, transfer, TestChain};
use luminex_primitives::{Amount, SchemeId, Transaction, TxOut};
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

/// A payment of `outputs` from development key `key`'s first coin that is
/// no coinbase (each key has one: use each key once per test).
fn from_dev(chain: &TestChain, key: usize, outputs: Vec<TxOut>) -> Transaction {
    let dev = &chain.keys[key];
    let mut coins = chain.coins_of(&lock_of(dev));
    coins.retain(|(_, c)| !c.is_coinbase);
    transfer(&chain.spec, dev, &coins[..1], outputs)
}

/// Broadcasts `tx` and waits until a block confirms it.
async fn confirm(port: u16, tx: &Transaction) {
    let txid = broadcast(port, tx).await;
    wait_until("the payment confirmed", 60, || async {
        crate::p2p::get(port, &format!("/transactions/{txid}")).await["status"] == "confirmed"
    })
    .await;
}

/// The start of the tests of two files of one phrase: a dev node making a
/// block every 300 ms, and wallet `a` of a new phrase, with `receive`
/// receive addresses, saved in its data directory under the passphrase
/// the commands are given and paid 5 coins on its first address.
struct OnePhrase {
    dir: tempfile::TempDir,
    port: u16,
    node: NodeProcess,
    chain: TestChain,
    a: Wallet,
    phrase: String,
}

impl OnePhrase {
    async fn start(receive: u32) -> OnePhrase {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let node = NodeProcess::start(dir.path(), port, &["--block-time-ms", "300"]);
        let chain = TestChain::dev();
        let spec = &chain.spec;
        let (mut a, phrase) = Wallet::create(spec, SchemeId::MlDsa65, "test passphrase");
        a.extend_to(spec, receive, 0);
        let t = OnePhrase {
            dir,
            port,
            node,
            a,
            phrase: phrase.to_string(),
            chain,
        };
        t.a.save(&t.path("a"), true).unwrap();
        confirm(port, &from_dev(&t.chain, 1, t.pay_a(0, 5))).await;
        t
    }

    fn d(&self) -> &Path {
        self.dir.path()
    }

    /// Where wallet `name` is saved.
    fn path(&self, name: &str) -> PathBuf {
        let wallets = self.d().join("dev").join("wallets");
        std::fs::create_dir_all(&wallets).unwrap();
        wallets.join(format!("{name}.json"))
    }

    /// Wallet `name`'s file as saved.
    fn file(&self, name: &str) -> WalletFile {
        WalletFile::read(&self.path(name), &self.chain.spec).unwrap()
    }

    /// The outputs of a payment of `n` coins to receive address `receive`
    /// of `a`.
    fn pay_a(&self, receive: usize, n: u64) -> Vec<TxOut> {
        vec![TxOut {
            amount: Amount::from_coins(n).unwrap(),
            lock: lock_of(&self.a.keys()[receive]),
        }]
    }

    /// `luminex wallet --wallet NAME ARGS…`, which must succeed; its output.
    fn wallet(&self, name: &str, args: &[&str]) -> String {
        let mut all = vec!["wallet", "--wallet", name];
        all.extend_from_slice(args);
        ok(self.d(), self.port, &all)
    }

    /// Wallet `name` pays 1 coin to development key 2, and waits for the
    /// block.
    fn pay_one(&self, name: &str) {
        let receiver = self.chain.spec.address(lock_of(&self.chain.keys[2]));
        let to = receiver.to_string();
        self.wallet(name, &["send", "--to", &to, "--amount", "1", "--wait"]);
    }
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
    confirm(port, &from_dev(&chain, 1, outputs)).await;

    // From the phrase alone, with the default gaps (20 receive, 10 change).
    let out = restore(d, port, "r", &phrase, &[]);
    assert!(
        out.contains("kept 44 receive and 13 change addresses"),
        "{out}"
    );
    // The address it prints to receive at is `wallet address`'s, one the
    // chain never saw.
    let printed = out
        .lines()
        .find_map(|l| l.strip_prefix("address: "))
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(
        printed,
        ok(d, port, &["wallet", "--wallet", "r", "address"]).trim()
    );
    let h = crate::p2p::get(port, &format!("/address/{printed}/transactions")).await;
    assert_eq!(h["transactions"], serde_json::json!([]), "{printed}: {h}");
    assert_eq!(
        total_of(&ok(d, port, &["wallet", "--wallet", "r", "balance"])),
        "10.12"
    );
    // The coin past the gap is found with a wider gap; nothing else changes.
    let out = restore(d, port, "wide", &phrase, &["--gap-receive", "30"]);
    assert!(out.contains("kept 71 receive"), "{out}");
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

/// `wallet backup shamir` then `wallet restore --shares`: any three of five
/// share files make the same wallet; two, or a share with a mistyped word,
/// are refused with a clear error and make no wallet.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shamir_shares_restore_the_wallet() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let node = NodeProcess::start(d, port, &["--block-time-ms", "300"]);
    let spec = TestChain::dev().spec;
    ok(d, port, &["wallet", "--wallet", "orig", "new"]);
    let shares = d.join("shares");
    let s = shares.to_str().unwrap();
    ok(
        d,
        port,
        &[
            "wallet",
            "--wallet",
            "orig",
            "backup",
            "shamir",
            "--threshold",
            "3",
            "--shares",
            "5",
            "--out",
            s,
        ],
    );
    let share = |i: u32| shares.join(format!("share-{i}-of-5.txt"));
    let wallets = d.join("dev").join("wallets");
    let orig = WalletFile::read(&wallets.join("orig.json"), &spec).unwrap();
    let restore_from = |name: &str, picks: &[u32]| {
        let mut args = vec!["wallet", "--wallet", name, "restore", "--shares"];
        let files: Vec<String> = picks
            .iter()
            .map(|&i| share(i).to_str().unwrap().to_string())
            .collect();
        args.extend(files.iter().map(String::as_str));
        crate::support::luminex(d, port, &args)
    };

    let out = restore_from("back", &[5, 1, 3]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = WalletFile::read(&wallets.join("back.json"), &spec).unwrap();
    assert_eq!(back.addresses[0], orig.addresses[0]);

    let out = restore_from("two", &[2, 4]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("2 of the 3 shares needed"), "{err}");
    assert!(!wallets.join("two.json").exists());

    // Share 4 with its third word replaced by another of the list.
    let text = std::fs::read_to_string(share(4)).unwrap();
    let third = text
        .split_whitespace()
        .skip_while(|w| *w != "3.")
        .nth(1)
        .unwrap()
        .to_string();
    let other = if third == "zoo" { "zone" } else { "zoo" };
    std::fs::write(
        share(4),
        text.replacen(&format!(" 3. {third} "), &format!(" 3. {other} "), 1),
    )
    .unwrap();
    let out = restore_from("typo", &[1, 2, 4]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("share-4-of-5.txt") && err.contains("mistyped"),
        "{err}"
    );
    assert!(!wallets.join("typo.json").exists());
    node.stop();
}

/// Addresses used only by pending transactions count as used: a wallet
/// restored while its own payment waits for a block finds the payment's
/// change address (it once restored with "0 used change addresses" and
/// never showed that change, even after it confirmed). A send the node
/// refuses gives its change address back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restore_counts_addresses_of_pending_payments() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    // Nothing is ever confirmed here.
    let node = NodeProcess::start(d, port, &["--no-produce"]);
    let chain = TestChain::dev();
    let spec = chain.spec.clone();
    let (original, phrase) = Wallet::create(&spec, SchemeId::MlDsa65, "x");
    let receive0 = original.address_at(&spec, KeyChain::Receive, 0);
    let fund = vec![TxOut {
        amount: Amount::from_coins(5).unwrap(),
        lock: spec.parse_address(&receive0).unwrap().lock,
    }];
    broadcast(port, &from_dev(&chain, 1, fund)).await;
    let out = restore(d, port, "a", &phrase, &[]);
    assert!(
        out.contains("kept 1 receive and 0 change addresses"),
        "{out}"
    );
    let receiver = spec.address(lock_of(&chain.keys[2])).to_string();
    let path = |w: &str| d.join("dev").join("wallets").join(format!("{w}.json"));
    // Wallet `a`'s command `args`.
    let wallet_a = |args: &[&str]| {
        let mut all = vec!["wallet", "--wallet", "a"];
        all.extend_from_slice(args);
        crate::support::luminex(d, port, &all)
    };
    // `args` is refused (saying `why`, if given) and takes no change
    // address.
    let refused = |args: &[&str], why: Option<&str>| {
        let out = wallet_a(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        if let Some(why) = why {
            assert!(err.contains(why), "{args:?}: {err}");
        }
        let change = WalletFile::read(&path("a"), &spec).unwrap().change.len();
        assert_eq!(change, 0, "{args:?}: {err}");
    };
    let max_fee = Some("more than --max-fee 0.1");
    // Sends that fail keep no change address: one the wallet cannot build
    // (more than it holds with the fee), one whose fee (about 1.6 coins)
    // is past the default --max-fee, and one the node refuses (a fee rate
    // under the chain's minimum).
    assert!(spec.min_fee_rate > 0);
    let send = ["send", "--to", receiver.as_str(), "--amount"];
    refused(&[&send[..], &["4.99999999"]].concat(), None);
    refused(
        &[&send[..], &["1", "--fee-rate", "30000"]].concat(),
        max_fee,
    );
    refused(&[&send[..], &["1", "--fee-rate", "0"]].concat(), None);
    // Nor do partially signed payments that were not made: one the wallet
    // cannot fund, one whose container file exists already, one past
    // --max-fee (and no container is written).
    let exists = d.join("exists.pst");
    std::fs::write(&exists, "x").unwrap();
    let (new, dear) = (d.join("new.pst"), d.join("dear.pst"));
    let path_of = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let (new_s, exists_s, dear_s) = (path_of(&new), path_of(&exists), path_of(&dear));
    let create = ["pst", "create", "--to", receiver.as_str(), "--amount"];
    refused(
        &[&create[..], &["4.99999999", "--out", &new_s]].concat(),
        None,
    );
    refused(&[&create[..], &["1", "--out", &exists_s]].concat(), None);
    let past = ["1", "--out", &dear_s, "--fee-rate", "30000"];
    refused(&[&create[..], &past[..]].concat(), max_fee);
    assert!(!dear.exists());
    ok(
        d,
        port,
        &[
            "wallet", "--wallet", "a", "send", "--to", &receiver, "--amount", "1",
        ],
    );
    assert_eq!(WalletFile::read(&path("a"), &spec).unwrap().change.len(), 1);
    // Restored while that payment is pending: its change address is found.
    let out = restore(d, port, "b", &phrase, &[]);
    assert!(
        out.contains("kept 1 receive and 1 change addresses"),
        "{out}"
    );
    let balance = |w: &str| ok(d, port, &["wallet", "--wallet", w, "balance"]);
    let total = |w: &str| {
        balance(w)
            .lines()
            .find(|l| l.starts_with("total"))
            .unwrap()
            .to_string()
    };
    assert_eq!(total("a"), total("b"));
    // A container paying more than --max-fee is made and signed when the
    // creator allows it, but not finalized or sent without the same.
    let dear = d.join("dear-signed.pst");
    let dear = dear.to_str().unwrap();
    let made = wallet_a(&[
        "pst",
        "create",
        "--to",
        &receiver,
        "--amount",
        "1",
        "--fee-rate",
        "30000",
        "--max-fee",
        "5",
        "--out",
        dear,
    ]);
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    assert!(wallet_a(&["pst", "sign", dear]).status.success());
    let tx = d.join("dear.tx");
    for args in [
        vec!["pst", "finalize", dear, "--out", tx.to_str().unwrap()],
        vec!["pst", "broadcast", dear],
    ] {
        let refused = wallet_a(&args);
        assert!(!refused.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&refused.stderr);
        assert!(err.contains("more than --max-fee 0.1"), "{args:?}: {err}");
    }
    assert!(!tx.exists());
    let finalized = wallet_a(&[
        "pst",
        "finalize",
        dear,
        "--out",
        tx.to_str().unwrap(),
        "--max-fee",
        "5",
    ]);
    assert!(finalized.status.success());
    node.stop();
}

/// `wallet balance` says which coins are immature coinbase outputs (they
/// count in the total but cannot be spent yet): a producer's first rewards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_balance_says_immature_coinbase_coins_apart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    ok(d, port, &["wallet", "--wallet", "m", "new"]);
    let addr = ok(d, port, &["wallet", "--wallet", "m", "address"]);
    // Ten blocks of maturity on dev: at two seconds a block, block 1's
    // reward stays immature for about twenty seconds, longer when the
    // machine is slow.
    let node = NodeProcess::start(
        d,
        port,
        &["--producer-address", addr.trim(), "--block-time-ms", "2000"],
    );
    wait_until("a block rewarded the wallet", 60, || async {
        crate::p2p::get(port, "/health/block-sync").await["height"]
            .as_u64()
            .is_some_and(|h| h >= 1)
    })
    .await;
    let out = ok(d, port, &["wallet", "--wallet", "m", "balance"]);
    let total = out.lines().find(|l| l.starts_with("total")).unwrap();
    // The last ten blocks' rewards are immature whatever the height.
    assert!(total.contains("immature"), "{out}");
    assert!(total.contains("spendable now"), "{out}");
    assert_ne!(total_of(&out), "0", "{out}");
    node.stop();
}

/// A payment that would spend so many coins that the transaction passes
/// the chain's size limit is refused by the wallet with a reason, and
/// takes no change address (the node would refuse it, or past 4 MiB close
/// the connection on it, which once killed the command silently).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_too_large_for_one_transaction_is_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let node = NodeProcess::start(d, port, &["--no-produce"]);
    ok(d, port, &["wallet", "--wallet", "m", "new"]);
    let addr = ok(d, port, &["wallet", "--wallet", "m", "address"]);
    // 300 coinbases of 50 coins to the wallet (all but the last ten mature).
    let cookie = std::fs::read_to_string(d.join("dev").join(".cookie")).unwrap();
    let (u, p) = cookie.trim().split_once(':').unwrap();
    let r = crate::p2p::send_json(
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/", port + 1))
            .basic_auth(u, Some(p))
            .json(&serde_json::json!({"jsonrpc": "1.0", "id": 1,
                "method": "generatetoaddress", "params": [300, addr.trim()]})),
    )
    .await;
    assert!(r["error"].is_null(), "{r}");
    let receiver = TestChain::dev()
        .spec
        .address(lock_of(&TestChain::dev().keys[2]))
        .to_string();
    // 250 coins of 50: about 1.3 MB of signatures, over dev's 1 MiB.
    let out = crate::support::luminex(
        d,
        port,
        &[
            "wallet", "--wallet", "m", "send", "--to", &receiver, "--amount", "12450",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("over the chain's limit"), "{err}");
    let path = d.join("dev").join("wallets").join("m.json");
    let spec = TestChain::dev().spec;
    assert_eq!(WalletFile::read(&path, &spec).unwrap().change.len(), 0);
    node.stop();
}

/// A new receive address after a full restore gap of addresses that
/// received nothing comes with a warning (a restore with the default gap
/// would miss a payment to it); before the gap is full, none.
#[test]
fn a_new_address_past_the_restore_gap_is_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    let node = NodeProcess::start(d, port, &["--no-produce"]);
    ok(d, port, &["wallet", "--wallet", "g", "new"]);
    let gap = luminex_wallet::recovery::RECEIVE_GAP;
    for i in 1..=gap {
        let out =
            crate::support::luminex(d, port, &["wallet", "--wallet", "g", "address", "--new"]);
        assert!(out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        if i < gap {
            assert!(!err.contains("warning"), "address {i}: {err}");
        } else {
            assert!(
                err.contains("receive addresses before this one have received nothing"),
                "address {i}: {err}"
            );
        }
    }
    node.stop();
}

/// Two files of one phrase: `b`, restored before `a` paid, spends the
/// change `a`'s payment left on a change address `b` never derived, and
/// sends its own change to the next one, not to that address again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_finds_the_change_another_file_of_the_phrase_used() {
    let t = OnePhrase::start(1).await;
    restore(t.d(), t.port, "b", &t.phrase, &[]);
    t.pay_one("a");
    t.pay_one("b");
    let (a, b) = (t.file("a"), t.file("b"));
    assert_eq!(a.change.len(), 1);
    assert_eq!(b.change.len(), 2, "a's change kept, b's own change new");
    assert_eq!(b.change[0], a.change[0]);
    assert_eq!(
        total_of(&t.wallet("b", &["balance"])).split('.').next(),
        Some("2"),
        "5 less two payments of 1 and their fees"
    );
    t.node.stop();
}

/// Two files of one phrase restored while the original `a` had used only
/// its first address: once `a` is paid on its fifth receive address and
/// its payment's change lands on a change address, `balance` and
/// `history` of the restored files look past the addresses they keep and
/// show what `a` shows, and keep (save) the addresses found.
/// `--no-look-ahead` shows the file's list alone, without the keys.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn balance_and_history_find_what_another_file_of_the_phrase_used() {
    let t = OnePhrase::start(5).await;
    for w in ["b", "c"] {
        let out = restore(t.d(), t.port, w, &t.phrase, &[]);
        assert!(out.contains("kept 1 receive and 0 change"), "{out}");
    }
    // `a` is paid on receive address 4, then pays from receive address 0
    // (its change to change address 0).
    confirm(t.port, &from_dev(&t.chain, 3, t.pay_a(4, 3))).await;
    t.pay_one("a");
    let shape = |w: &str| (t.file(w).addresses.len(), t.file(w).change.len());
    assert_eq!(shape("a"), (5, 1));
    let a_total = total_of(&t.wallet("a", &["balance"]));
    assert!(a_total.starts_with("6.99"), "5 + 3 - 1 - fee: {a_total}");
    let a_history = t.wallet("a", &["history"]);
    assert_eq!(a_history.lines().count(), 3, "{a_history}");

    // The file's list alone: the coins `a` left past it are not there,
    // and the keys are not opened (a wrong passphrase does not matter).
    let args = ["wallet", "--wallet", "c", "balance", "--no-look-ahead"];
    let listed = crate::support::luminex_with_passphrase(t.d(), t.port, "wrong", &args);
    assert!(listed.status.success(), "{listed:?}");
    assert_eq!(total_of(&String::from_utf8_lossy(&listed.stdout)), "0");
    // Without it, a wrong passphrase is refused with the way round it.
    let looked = crate::support::luminex_with_passphrase(
        t.d(),
        t.port,
        "wrong",
        &["wallet", "--wallet", "c", "balance"],
    );
    let err = String::from_utf8_lossy(&looked.stderr);
    assert!(
        !looked.status.success()
            && err.contains("--no-look-ahead")
            && err.contains("wrong passphrase"),
        "{err}"
    );
    let listed = t.wallet("b", &["history", "--no-look-ahead"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert_eq!(shape("b"), (2, 0));

    // Looking ahead: what `a` shows, and the addresses kept.
    assert_eq!(t.wallet("b", &["history"]), a_history);
    assert_eq!(total_of(&t.wallet("c", &["balance"])), a_total);
    for w in ["b", "c"] {
        assert_eq!(t.file(w).addresses, t.file("a").addresses, "{w}");
        assert_eq!(t.file(w).change, t.file("a").change, "{w}");
    }
    t.node.stop();
}
