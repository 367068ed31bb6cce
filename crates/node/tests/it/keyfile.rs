//! `wallet export-key --encrypted` and `wallet import-key`: one key moves
//! to a new wallet under its own passphrase; a wrong passphrase and a
//! changed file are refused.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn luminex(dir: &Path, key_pass: &str, args: &[&str]) -> Output {
    Command::new(crate::support::bin())
        .args(args)
        .env("LUMINEX_DATA_DIR", dir)
        .env("LUMINEX_WALLET_PASSPHRASE", "test passphrase")
        .env("LUMINEX_KEY_PASSPHRASE", key_pass)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn stdout_of(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn an_encrypted_key_file_moves_one_key() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A new wallet's passphrase has at least 8 characters (as in the
    // browser wallet); nothing is written without one.
    for short in ["", "1234567"] {
        let out = Command::new(crate::support::bin())
            .args(["wallet", "--wallet", "a", "new"])
            .env("LUMINEX_DATA_DIR", d)
            .env("LUMINEX_WALLET_PASSPHRASE", short)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("at least 8 characters"), "{err}");
    }
    assert!(!d.join("dev/wallets/a.json").exists());
    stdout_of(luminex(d, "", &["wallet", "--wallet", "a", "new"]));
    stdout_of(luminex(
        d,
        "",
        &["wallet", "--wallet", "a", "address", "--new"],
    ));
    let addresses = stdout_of(luminex(
        d,
        "",
        &["wallet", "--wallet", "a", "address", "--all"],
    ));
    let second = addresses.lines().nth(1).unwrap().to_string();
    // Without --all: the newest only, the one to give out.
    let newest = stdout_of(luminex(d, "", &["wallet", "--wallet", "a", "address"]));
    assert_eq!(newest.trim(), second);
    let key = d.join("key.json");
    let k = key.to_str().unwrap();
    let args = [
        "wallet",
        "--wallet",
        "a",
        "export-key",
        "--index",
        "1",
        "--encrypted",
        "--out",
        k,
    ];
    assert_eq!(
        stdout_of(luminex(d, "key passphrase", &args)).trim(),
        second
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Not over an existing file.
    assert!(!luminex(d, "key passphrase", &args).status.success());

    let out = stdout_of(luminex(
        d,
        "key passphrase",
        &["wallet", "--wallet", "b", "import-key", k],
    ));
    assert!(out.contains(&format!("address: {second}")), "{out}");
    let b = stdout_of(luminex(d, "", &["wallet", "--wallet", "b", "address"]));
    assert_eq!(b.trim(), second);

    let out = luminex(d, "wrong", &["wallet", "--wallet", "c", "import-key", k]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("wrong passphrase"), "{err}");

    // The clear address changed to another of the wallet's.
    let text = std::fs::read_to_string(&key).unwrap();
    let first = addresses.lines().next().unwrap();
    std::fs::write(&key, text.replace(&second, first)).unwrap();
    let out = luminex(
        d,
        "key passphrase",
        &["wallet", "--wallet", "c", "import-key", k],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the key file was changed"), "{err}");
    assert!(!d.join("dev/wallets/c.json").exists());
}

/// Commands on one wallet take turns (a lock beside the file): of four
/// `wallet new` at once, one makes the wallet and the file holds the
/// wallet it showed; the others say it exists.
#[test]
fn concurrent_commands_on_one_wallet_take_turns() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let runs: Vec<_> = (0..4)
        .map(|_| {
            Command::new(crate::support::bin())
                .args(["wallet", "--wallet", "w", "new"])
                .env("LUMINEX_DATA_DIR", d)
                .env("LUMINEX_WALLET_PASSPHRASE", "test passphrase")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Output> = runs
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let made: Vec<&Output> = outs.iter().filter(|o| o.status.success()).collect();
    assert_eq!(made.len(), 1, "exactly one makes the wallet");
    for o in outs.iter().filter(|o| !o.status.success()) {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("already exists"), "{err}");
    }
    let shown = String::from_utf8_lossy(&made[0].stdout);
    let address = stdout_of(luminex(d, "", &["wallet", "--wallet", "w", "address"]));
    assert!(
        shown.contains(&format!("address: {}", address.trim())),
        "the file holds the wallet shown: {shown}"
    );
}

/// `wallet address` shows only what the wallet's keys make: a file whose
/// address someone replaced (without the passphrase) is refused rather
/// than shown to a payer; `wallet new --scheme` of a scheme the chain does
/// not allow is refused with the schemes it does.
#[test]
fn wallet_address_checks_the_keys_and_new_checks_the_scheme() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    stdout_of(luminex(d, "", &["wallet", "--wallet", "a", "new"]));
    stdout_of(luminex(d, "", &["wallet", "--wallet", "b", "new"]));
    let other = stdout_of(luminex(d, "", &["wallet", "--wallet", "b", "address"]));
    let path = d.join("dev").join("wallets").join("a.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    json["addresses"][0] = serde_json::json!(other.trim());
    // Writes the file and asks for its address: refused, the other
    // wallet's address never shown; returns the error.
    let refused = |json: &serde_json::Value| {
        std::fs::write(&path, serde_json::to_vec(json).unwrap()).unwrap();
        let out = luminex(d, "", &["wallet", "--wallet", "a", "address"]);
        let shown = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(!out.status.success(), "{shown}");
        assert!(!shown.contains(other.trim()), "{shown}");
        String::from_utf8_lossy(&out.stderr).to_string()
    };
    let err = refused(&json);
    assert!(err.contains("do not make the addresses"), "{err}");
    // Marked watch-only as well: still opened, still refused.
    json["secret"] = serde_json::json!({ "kind": "watch-only" });
    refused(&json);

    // A chain that allows only ML-DSA-65 keys.
    let spec = d.join("narrow.toml");
    let mut narrow = luminex_ledger::ChainSpec::preset("dev").unwrap();
    narrow.name = "narrow".into();
    narrow.allowed_schemes = vec![luminex_primitives::SchemeId::MlDsa65];
    narrow.default_scheme = luminex_primitives::SchemeId::MlDsa65;
    std::fs::write(&spec, toml::to_string(&narrow).unwrap()).unwrap();
    let out = luminex(
        d,
        "",
        &[
            "wallet",
            "--chain",
            spec.to_str().unwrap(),
            "--wallet",
            "c",
            "new",
            "--scheme",
            "ml-dsa-44",
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not allowed"), "{err}");
}

/// A validator key file (a bare seed, as `authority keygen` writes it)
/// imports as a wallet of that key: the address the chain pays the
/// validator's rewards and released stake to. Anything else that is not a
/// key file is refused.
#[test]
fn a_validator_key_file_imports_as_a_wallet_of_its_address() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let seed = [7u8; 32];
    let key = d.join("validator.key");
    std::fs::write(&key, format!("{}\n", hex::encode(seed))).unwrap();
    let spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
    let expected = spec
        .address(
            luminex_crypto::SigningKey::from_seed(spec.default_scheme, &seed)
                .public_key()
                .lock(),
        )
        .to_string();
    let k = key.to_str().unwrap();
    stdout_of(luminex(
        d,
        "",
        &["wallet", "--wallet", "v", "import-key", k],
    ));
    let a = stdout_of(luminex(d, "", &["wallet", "--wallet", "v", "address"]));
    assert_eq!(a.trim(), expected);
    // 31 bytes of hex is a damaged seed file: said so, not a parser's
    // message about JSON.
    std::fs::write(&key, hex::encode([7u8; 31])).unwrap();
    let out = luminex(d, "", &["wallet", "--wallet", "w", "import-key", k]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("62 hexadecimal characters"), "{err}");
    assert!(!d.join("dev/wallets/w.json").exists());
    // Neither hex nor JSON: not a key file.
    std::fs::write(&key, "hello").unwrap();
    let out = luminex(d, "", &["wallet", "--wallet", "w", "import-key", k]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a luminex key file"), "{err}");
}
