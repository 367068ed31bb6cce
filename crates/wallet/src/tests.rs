use super::*;
use luminex_ledger::testkit::TestChain;

/// The unspent outputs `chain` holds for `lock`, as a wallet spends them.
fn outputs_of(chain: &TestChain, lock: Lock) -> Vec<(OutPoint, TxOut)> {
    chain
        .coins_of(&lock)
        .into_iter()
        .map(|(o, c)| (o, c.output))
        .collect()
}

#[test]
fn mnemonic_restores_the_same_keys_and_file_is_private() {
    let spec = ChainSpec::preset("dev").unwrap();
    let (mut w, phrase) = Wallet::create(&spec, SchemeId::MlDsa65, "pw");
    w.new_address(&spec);
    let r = Wallet::restore(&spec, SchemeId::MlDsa65, &phrase, "other").unwrap();
    assert_eq!(r.file.addresses[0], w.file.addresses[0]);
    // Typed in capitals, with stray whitespace: the same wallet.
    let shouted = format!("  {} \n", phrase.to_uppercase().replace(' ', " \t "));
    let r = Wallet::restore(&spec, SchemeId::MlDsa65, &shouted, "other").unwrap();
    assert_eq!(r.file.addresses[0], w.file.addresses[0]);
    assert_eq!(*r.file.recovery_phrase("other").unwrap(), *phrase);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.json");
    w.save(&path, true).unwrap();
    assert!(matches!(w.save(&path, true), Err(WalletError::Exists(_))));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        !text.contains(phrase.as_str()),
        "the mnemonic is never stored in clear"
    );
    let l = Wallet::load(&path, &spec, "pw").unwrap();
    assert_eq!(l.file.addresses, w.file.addresses);
    assert_eq!(l.keys()[1].public_key(), w.keys()[1].public_key());
    assert!(matches!(
        Wallet::load(&path, &spec, "bad"),
        Err(WalletError::Keystore(_))
    ));
    assert!(matches!(
        Wallet::restore(&spec, SchemeId::MlDsa65, "not a phrase", "x"),
        Err(WalletError::Mnemonic(_))
    ));
    // A mistyped word is named as the user counts: from 1.
    let words: Vec<&str> = phrase.split_whitespace().collect();
    for at in [0, words.len() - 1] {
        let mut typo = words.clone();
        typo[at] = "notaword";
        let Err(e) = Wallet::restore(&spec, SchemeId::MlDsa65, &typo.join(" "), "x") else {
            panic!("a phrase with a typo restored");
        };
        let want = format!("word {} is not in the word list", at + 1);
        assert!(e.to_string().contains(&want), "{e}");
    }
}

#[test]
fn version_1_files_keep_their_keys_and_change_address() {
    let spec = ChainSpec::preset("dev").unwrap();
    let (w, phrase) = Wallet::create(&spec, SchemeId::MlDsa65, "pw");
    let mut v1 = w.file.clone();
    v1.version = 1;
    let legacy = derive(&w.master, &v1, KeyChain::Receive, 0);
    v1.addresses = vec![spec.address(lock_of(&legacy)).to_string()];
    v1.change.clear();
    assert_ne!(v1.addresses[0], w.file.addresses[0], "another derivation");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v1.json");
    std::fs::write(&path, serde_json::to_vec(&v1).unwrap()).unwrap();
    let mut l = Wallet::load(&path, &spec, "pw").unwrap();
    assert_eq!(l.keys()[0].public_key(), legacy.public_key());
    assert_eq!(l.next_change(&spec), lock_of(&legacy));
    // A file whose addresses are not its keys' is refused.
    let mut bad = w.file.clone();
    bad.addresses[0] = v1.addresses[0].clone();
    std::fs::write(&path, serde_json::to_vec(&bad).unwrap()).unwrap();
    assert!(matches!(
        Wallet::load(&path, &spec, "pw"),
        Err(WalletError::Malformed(_))
    ));
    let _ = phrase;
}

/// Pinned derivation (docs/wallet.md): the mnemonic "abandon" × 23 +
/// "art", no BIP 39 passphrase, ML-DSA-65, account 0, on `dev`.
#[test]
fn derivation_vectors() {
    let spec = ChainSpec::preset("dev").unwrap();
    let phrase = format!("{} art", ["abandon"; 23].join(" "));
    let w = Wallet::restore(&spec, SchemeId::MlDsa65, &phrase, "pw").unwrap();
    let seed = bip39::Mnemonic::parse_normalized(&phrase)
        .unwrap()
        .to_seed("");
    let vectors = [
        (KeyChain::Receive, 0, RECEIVE_0),
        (KeyChain::Receive, 1, RECEIVE_1),
        (KeyChain::Change, 0, CHANGE_0),
    ];
    for (chain, index, (seed_hex, address)) in vectors {
        assert_eq!(
            hex::encode(key_seed(&seed, SchemeId::MlDsa65, 0, chain, index)),
            seed_hex
        );
        assert_eq!(w.address_at(&spec, chain, index), address);
    }
    // Another account or scheme, other keys.
    assert_ne!(
        key_seed(&seed, SchemeId::MlDsa65, 1, KeyChain::Receive, 0),
        key_seed(&seed, SchemeId::MlDsa65, 0, KeyChain::Receive, 0)
    );
    assert_ne!(
        key_seed(&seed, SchemeId::MlDsa44, 0, KeyChain::Receive, 0),
        key_seed(&seed, SchemeId::MlDsa65, 0, KeyChain::Receive, 0)
    );
}

const RECEIVE_0: (&str, &str) = (
    "01a26f4fe850228f0187bdbf53086008611d747654bdab89525944a2580ffb6f",
    "lmxdev1qtwvep24zr3ayyr57z67g7qd07k07n8tmghd9clpryns6r7527yzk6vmrq6",
);
const RECEIVE_1: (&str, &str) = (
    "3cef8172e43a889be90a9d16242f2d69da7c0b8438a6792e6f21d3397f2eeac6",
    "lmxdev1qga02u4k2curhvpqrh8g8z4c7z3xa30sm9sjplukvtturff6q07ccpu89d0",
);
const CHANGE_0: (&str, &str) = (
    "1e90f2c95a01ec0bb8b4e44a08e99b91ffd92d141522cfafbd91448cb5d77dea",
    "lmxdev1qfpas55mxgpee826rajmpuv4qqccsjqrnldmvx4jfce3lacqg40rvgc75rd",
);

#[test]
fn payments_select_coins_pay_fees_and_validate() {
    let mut chain = TestChain::dev();
    let spec = chain.spec.clone();
    let mut dev = Wallet::dev_key(&spec, 0, "pw");
    let (mut alice, _) = Wallet::create(&spec, SchemeId::MlDsa44, "pw");
    let coins: Vec<(OutPoint, TxOut)> = outputs_of(&chain, lock_of(&dev.keys()[0]));
    let amount = Amount::from_coins(100).unwrap();
    let tx = dev
        .pay(
            &spec,
            &coins,
            lock_of(&alice.keys()[0]),
            amount,
            spec.min_fee_rate,
        )
        .unwrap();
    chain.mine(vec![tx]).unwrap();
    let acoins: Vec<(OutPoint, TxOut)> = outputs_of(&chain, lock_of(&alice.keys()[0]));
    assert_eq!(acoins.len(), 1);
    assert_eq!(acoins[0].1.amount, amount);
    let too_much = alice.pay(&spec, &acoins, lock_of(&dev.keys()[0]), amount, 1);
    assert!(matches!(
        too_much,
        Err(WalletError::InsufficientFunds { .. })
    ));
    let back = alice
        .pay(
            &spec,
            &acoins,
            lock_of(&dev.keys()[0]),
            Amount::from_coins(40).unwrap(),
            1,
        )
        .unwrap();
    chain.mine(vec![back]).unwrap();
}

#[test]
fn a_plan_is_signed_exactly_as_shown_with_the_peeked_change() {
    let mut chain = TestChain::dev();
    let spec = chain.spec.clone();
    let dev = Wallet::dev_key(&spec, 0, "pw");
    let (mut alice, _) = Wallet::create(&spec, SchemeId::MlDsa44, "pw");
    let dev_lock = lock_of(&dev.keys()[0]);
    let coins: Vec<(OutPoint, TxOut)> = outputs_of(&chain, dev_lock);
    // A dev-key wallet has no change chain: its change is its address.
    assert_eq!(dev.peek_change(), dev_lock);
    let plan = plan_payment(
        &spec,
        &coins,
        |l| *l == dev_lock,
        lock_of(&alice.keys()[0]),
        Amount::from_coins(7).unwrap(),
        dev.peek_change(),
        spec.min_fee_rate,
        Vec::new(),
    )
    .unwrap();
    let shown = plan.tx.clone();
    let tx = dev.sign_plan(plan.clone()).unwrap();
    assert_eq!((&tx.inputs, &tx.outputs), (&shown.inputs, &shown.outputs));
    chain.mine(vec![tx]).unwrap();
    // Another wallet cannot sign it.
    assert!(matches!(alice.sign_plan(plan), Err(WalletError::NotOurs)));
    // Peeking derives nothing; the next change is the peeked one.
    let peeked = alice.peek_change();
    assert_eq!(alice.peek_change(), peeked);
    assert!(alice.file.change.is_empty());
    assert_eq!(alice.next_change(&spec), peeked);
    assert_ne!(alice.peek_change(), peeked);
}

/// A payment takes a change address only when it has change: a refused
/// one, one with a fee rate past the maximum, and one sending the whole
/// balance give it back, so unused change addresses do not pile up past
/// the gap a restore scans (they once did, and the change of a later
/// payment was then never found).
#[test]
fn only_a_payment_with_change_uses_a_change_address() {
    let mut chain = TestChain::dev();
    let spec = chain.spec.clone();
    let mut dev = Wallet::dev_key(&spec, 0, "pw");
    let (mut alice, _) = Wallet::create(&spec, SchemeId::MlDsa44, "pw");
    let hundred = Amount::from_coins(100).unwrap();
    let fund = dev
        .pay(
            &spec,
            &outputs_of(&chain, lock_of(&dev.keys()[0])),
            lock_of(&alice.keys()[0]),
            hundred,
            spec.min_fee_rate,
        )
        .unwrap();
    chain.mine(vec![fund]).unwrap();
    let mine = outputs_of(&chain, lock_of(&alice.keys()[0]));
    let dev_lock = lock_of(&dev.keys()[0]);
    let n = alice.change_keys().len();
    let refused = alice.pay(&spec, &mine, dev_lock, Amount::from_coins(101).unwrap(), 1);
    assert!(matches!(
        refused,
        Err(WalletError::InsufficientFunds { .. })
    ));
    assert_eq!(alice.change_keys().len(), n);
    let rate = MAX_FEE_RATE + 1;
    let too_dear = alice.pay(&spec, &mine, dev_lock, Amount::from_coins(1).unwrap(), rate);
    assert!(matches!(too_dear, Err(WalletError::FeeRateTooHigh(r)) if r == rate));
    assert_eq!(alice.change_keys().len(), n);
    // The whole balance: the fee of a payment with change, and no change.
    let fee = plan_payment(
        &spec,
        &mine,
        |_| true,
        dev_lock,
        Amount::from_coins(1).unwrap(),
        alice.peek_change(),
        1,
        Vec::new(),
    )
    .unwrap()
    .fee;
    let all = hundred.checked_sub(fee).unwrap();
    let sweep = alice.pay(&spec, &mine, dev_lock, all, 1).unwrap();
    assert_eq!(sweep.outputs.len(), 1, "no change");
    assert_eq!(alice.change_keys().len(), n);
    // With change: the address is taken.
    let with_change = alice
        .pay(&spec, &mine, dev_lock, Amount::from_coins(1).unwrap(), 1)
        .unwrap();
    assert_eq!(alice.change_keys().len(), n + 1);
    assert_eq!(
        with_change.outputs[1].lock,
        lock_of(alice.change_keys().last().unwrap())
    );
}

/// `n` coins of `each` coins locked to `lock`, made up (not on a chain).
fn made_up_coins(lock: Lock, n: u8, each: u64) -> Vec<(OutPoint, TxOut)> {
    (0..n)
        .map(|i| {
            (
                OutPoint {
                    txid: luminex_primitives::Hash([i + 1; 32]),
                    vout: 0,
                },
                TxOut {
                    amount: Amount::from_coins(each).unwrap(),
                    lock,
                },
            )
        })
        .collect()
}

/// On a chain where only created accounts receive (`almagill`), a fresh
/// change address does not exist: change goes back to the address of the
/// largest coin spent, and no change address is taken.
#[test]
fn change_goes_back_to_a_spent_address_where_accounts_must_be_created() {
    let spec = ChainSpec::preset("almagill").unwrap();
    assert!(spec.requires_account_creation());
    let (mut alice, _) = Wallet::create(&spec, SchemeId::MlDsa44, "pw");
    let mine = lock_of(&alice.keys()[0]);
    let mut coins = made_up_coins(mine, 1, 5);
    let second = spec.parse_address(&alice.new_address(&spec)).unwrap().lock;
    coins.extend(made_up_coins(second, 1, 1));
    let to = Lock::Key {
        scheme: SchemeId::MlDsa44,
        key_hash: luminex_primitives::Hash([9; 32]),
    };
    let n = alice.change_keys().len();
    let tx = alice
        .pay(&spec, &coins, to, Amount::from_coins(2).unwrap(), 1)
        .unwrap();
    assert_eq!(tx.outputs.len(), 2);
    assert_eq!(
        tx.outputs[1].lock, mine,
        "change to the largest coin's address"
    );
    assert_eq!(alice.change_keys().len(), n, "no change address taken");
    // Elsewhere, a fresh change address as before.
    let dev = ChainSpec::preset("dev").unwrap();
    assert_eq!(change_on(&dev, to, Some(mine)), to);
}

/// A payment whose signed transaction would pass the chain's size limit
/// is refused when planned, with its size, on every path that plans one.
#[test]
fn a_payment_past_the_size_limit_is_refused_when_planned() {
    let mut spec = ChainSpec::preset("dev").unwrap();
    let (alice, _) = Wallet::create(&spec, SchemeId::MlDsa44, "pw");
    let coins = made_up_coins(lock_of(&alice.keys()[0]), 20, 1);
    let to = Lock::Key {
        scheme: SchemeId::MlDsa44,
        key_hash: luminex_primitives::Hash([9; 32]),
    };
    spec.max_tx_bytes = 20_000;
    let plan = |amount: u64| {
        plan_payment(
            &spec,
            &coins,
            |_| true,
            to,
            Amount::from_coins(amount).unwrap(),
            alice.peek_change(),
            1,
            Vec::new(),
        )
    };
    // ML-DSA-44: about 3.8 kB a spent coin with its witness.
    assert!(plan(2).is_ok());
    match plan(10) {
        Err(WalletError::TooLarge { inputs, size, max }) => {
            // Found as the coins pass the limit, before the eleven the
            // amount needs are all taken.
            assert_eq!(max, 20_000);
            assert!((5..=11).contains(&inputs), "{inputs}");
            assert!(size > max);
        }
        other => panic!("expected TooLarge, got {other:?}"),
    }
    // More than the twenty coins hold: insufficient, whatever the size.
    match plan(50) {
        Err(WalletError::InsufficientFunds { available, .. }) => {
            assert_eq!(available, Amount::from_coins(20).unwrap());
        }
        other => panic!("expected InsufficientFunds, got {other:?}"),
    }
}

/// A wallet sent 20,000 coins of one base unit (dust anyone can send for
/// little) still plans at once: the dust is worth less than the fee of
/// spending it, so it is neither taken nor counted as available, and a
/// payment its one real coin cannot cover is refused for what that coin
/// holds, not for the fee of spending the dust.
#[test]
fn dust_sent_to_a_wallet_neither_slows_nor_skews_a_payment() {
    let spec = ChainSpec::preset("dev").unwrap();
    let (alice, _) = Wallet::create(&spec, SchemeId::MlDsa44, "pw");
    let lock = lock_of(&alice.keys()[0]);
    let mut coins = made_up_coins(lock, 1, 1);
    coins.extend((0..20_000u32).map(|i| {
        (
            OutPoint {
                txid: luminex_primitives::Hash([200; 32]),
                vout: i,
            },
            TxOut {
                amount: Amount::from_base(1).unwrap(),
                lock,
            },
        )
    }));
    let to = Lock::Key {
        scheme: SchemeId::MlDsa44,
        key_hash: luminex_primitives::Hash([9; 32]),
    };
    let plan = |amount: Amount| {
        plan_payment(
            &spec,
            &coins,
            |_| true,
            to,
            amount,
            alice.peek_change(),
            1,
            Vec::new(),
        )
    };
    match plan(Amount::from_coins(1).unwrap()) {
        Err(WalletError::InsufficientFunds { available, needed }) => {
            assert_eq!(available, Amount::from_coins(1).unwrap());
            assert!(needed > available);
            // The amount and the fee of one input, not of twenty thousand.
            assert!(
                needed.base() < Amount::from_coins(1).unwrap().base() + 10_000,
                "{needed}"
            );
        }
        other => panic!("expected InsufficientFunds, got {other:?}"),
    }
    let half = Amount::from_base(Amount::from_coins(1).unwrap().base() / 2).unwrap();
    let p = plan(half).unwrap();
    assert_eq!(p.tx.inputs.len(), 1);
}

/// A wallet file whose address list was emptied (by hand, or by a bad
/// edit) is refused as malformed when opened, not accepted to panic at the
/// first payment that needs a change key.
#[test]
fn a_wallet_file_listing_no_address_is_malformed() {
    let spec = ChainSpec::preset("dev").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dev0.json");
    Wallet::dev_key(&spec, 0, "pw").save(&path, true).unwrap();
    assert!(Wallet::load(&path, &spec, "pw").is_ok());
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    json["addresses"] = serde_json::json!([]);
    std::fs::write(&path, serde_json::to_vec(&json).unwrap()).unwrap();
    match Wallet::load(&path, &spec, "pw") {
        Err(WalletError::Malformed(why)) => assert!(why.contains("no receive address"), "{why}"),
        other => panic!("expected Malformed, got {:?}", other.map(|_| ())),
    }
}
