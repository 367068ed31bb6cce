//! A 2-of-3 multisig spend by three wallets in three separate data
//! directories, through partially signed transaction files, against the
//! real binary; and every refusal on the way.

use std::path::Path;

use luminex_wallet::pst::PartialTx;

use crate::support::{free_port, luminex, ok, NodeProcess};

fn fails(dir: &Path, port: u16, args: &[&str], expected: &str) {
    let out = luminex(dir, port, args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "luminex {args:?} succeeded");
    assert!(err.contains(expected), "luminex {args:?}: {err}");
}

fn edit_pst(from: &Path, to: &Path, f: impl FnOnce(&mut PartialTx)) {
    let bytes = hex::decode(std::fs::read_to_string(from).unwrap().trim()).unwrap();
    let mut p = PartialTx::from_bytes(&bytes).unwrap();
    f(&mut p);
    std::fs::write(to, hex::encode(p.to_bytes())).unwrap();
}

#[test]
fn two_of_three_wallets_spend_through_container_files() {
    let node_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = NodeProcess::start(node_dir.path(), port, &["--block-time-ms", "300"]);
    let n = node_dir.path();
    let files = tempfile::tempdir().unwrap();
    let f = |name: &str| files.path().join(name);
    let fs = |name: &str| f(name).to_str().unwrap().to_string();

    // Three participants, each with a wallet in a data directory of its own,
    // and an outsider.
    let people: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut keys = Vec::new();
    for p in &people {
        ok(p.path(), port, &["wallet", "new"]);
        keys.push(
            ok(p.path(), port, &["wallet", "export-key"])
                .trim()
                .to_string(),
        );
    }
    let (a, b, c, outsider) = (
        people[0].path(),
        people[1].path(),
        people[2].path(),
        people[3].path(),
    );
    let policy = fs("policy.json");
    let address = ok(
        a,
        port,
        &[
            "wallet",
            "multisig",
            "new",
            "--threshold",
            "2",
            "--key",
            &keys[0],
            "--key",
            &keys[1],
            "--key",
            &keys[2],
            "--out",
            &policy,
        ],
    )
    .trim()
    .to_string();
    // Each participant checks the policy: same address, own key in it.
    for p in [b, c] {
        let info = ok(
            p,
            port,
            &["wallet", "multisig", "info", "--policy", &policy],
        );
        assert!(info.contains(&format!("address: {address}")), "{info}");
        assert!(info.contains("(this wallet)"), "{info}");
    }
    let info = ok(
        outsider,
        port,
        &["wallet", "multisig", "info", "--policy", &policy],
    );
    assert!(!info.contains("(this wallet)"), "{info}");

    // Fund the multisig address from a dev key.
    ok(
        n,
        port,
        &["wallet", "--wallet", "dev0", "import-dev", "--index", "0"],
    );
    ok(
        n,
        port,
        &[
            "wallet", "--wallet", "dev0", "send", "--to", &address, "--amount", "10", "--wait",
        ],
    );
    let receiver = ok(outsider, port, &["wallet", "address"])
        .trim()
        .to_string();
    let unsigned = fs("unsigned.pst");
    let shown = ok(
        a,
        port,
        &[
            "wallet", "pst", "create", "--policy", &policy, "--to", &receiver, "--amount", "3",
            "--out", &unsigned,
        ],
    );
    assert!(shown.contains(&format!("pays 3 to {receiver}")), "{shown}");
    assert!(shown.contains("2 of 3 keys; 0 of 2 signatures"), "{shown}");

    // A signs; one signature is not enough.
    let signed_a = fs("a.pst");
    let out = ok(
        a,
        port,
        &["wallet", "pst", "sign", &unsigned, "--out", &signed_a],
    );
    assert!(
        out.contains(&format!("pays 3 to {receiver}")),
        "the signer sees what it signs: {out}"
    );
    fails(
        a,
        port,
        &["wallet", "pst", "broadcast", &signed_a],
        "1 of 2 signatures",
    );
    // A again: no second signature from the same key.
    fails(
        a,
        port,
        &["wallet", "pst", "sign", &signed_a],
        "none of this wallet's keys can sign",
    );
    let twice = fs("twice.pst");
    ok(
        a,
        port,
        &[
            "wallet", "pst", "combine", &signed_a, &signed_a, "--out", &twice,
        ],
    );
    fails(
        a,
        port,
        &["wallet", "pst", "finalize", &twice, "--out", &fs("tx")],
        "1 of 2 signatures",
    );
    // A key outside the set.
    fails(
        outsider,
        port,
        &["wallet", "pst", "sign", &signed_a],
        "none of this wallet's keys can sign",
    );
    // Tampered containers: an output redirected after A signed, and a
    // claimed spent amount that is not the chain's.
    let redirected = f("redirected.pst");
    edit_pst(&f("a.pst"), &redirected, |p| {
        p.tx.outputs[0].amount = luminex_primitives::Amount::from_coins(9).unwrap();
    });
    fails(
        b,
        port,
        &["wallet", "pst", "sign", redirected.to_str().unwrap()],
        "signature of key",
    );
    let lying = f("lying.pst");
    edit_pst(&f("unsigned.pst"), &lying, |p| {
        p.inputs[0].spent.amount = luminex_primitives::Amount::from_coins(20).unwrap();
    });
    fails(
        b,
        port,
        &["wallet", "pst", "sign", lying.to_str().unwrap()],
        "the chain says",
    );
    fails(
        b,
        port,
        &["wallet", "pst", "inspect", lying.to_str().unwrap()],
        "the chain says",
    );
    // Nothing changed: the coins are where they were, nothing is pending.
    let info = ok(
        b,
        port,
        &["wallet", "multisig", "info", "--policy", &policy],
    );
    assert!(info.contains("balance: 10 (pending 10)"), "{info}");

    // C signs its own copy; the two files combine and the spend confirms.
    // C's container reaches A as QR frames (in any order) and is combined
    // from what A's side reassembles.
    let signed_c = fs("c.pst");
    let frames = fs("c-frames");
    let out = ok(
        c,
        port,
        &[
            "wallet", "pst", "sign", &unsigned, "--out", &signed_c, "--qr-dir", &frames,
        ],
    );
    assert!(out.contains("QR frame(s) in"), "{out}");
    let list = f("c-frames").join("frames.txt");
    let mut lines: Vec<String> = std::fs::read_to_string(&list)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert!(lines.len() > 1, "a signed container needs several frames");
    let svgs = std::fs::read_dir(f("c-frames"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".svg")
        })
        .count();
    assert_eq!(svgs, lines.len(), "one SVG per frame");
    lines.reverse();
    std::fs::write(&list, lines.join("\n")).unwrap();
    let scanned = fs("c-scanned.pst");
    ok(
        a,
        port,
        &[
            "wallet",
            "qr-decode",
            list.to_str().unwrap(),
            "--hex",
            "--out",
            &scanned,
        ],
    );
    assert_eq!(
        std::fs::read_to_string(&scanned).unwrap(),
        std::fs::read_to_string(&signed_c).unwrap()
    );
    let both = fs("both.pst");
    let out = ok(
        a,
        port,
        &[
            "wallet", "pst", "combine", &signed_a, &scanned, "--out", &both,
        ],
    );
    assert!(out.contains("2 of 2 signatures"), "{out}");
    let inspected = ok(b, port, &["wallet", "pst", "inspect", &both]);
    assert!(inspected.contains("as on the chain"), "{inspected}");
    let txid = ok(b, port, &["wallet", "pst", "broadcast", &both])
        .trim()
        .to_string();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let t: serde_json::Value =
            serde_json::from_str(&ok(n, port, &["chain", "tx", &txid])).unwrap();
        if t["status"] == "confirmed" {
            assert_eq!(t["outputs"][0]["amount"], 300_000_000);
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not confirmed: {t}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        crate::support::total_of(&ok(outsider, port, &["wallet", "balance"])),
        "3"
    );
    // The same container once its inputs are spent: inspect says so, and
    // nobody signs it.
    let inspected = ok(b, port, &["wallet", "pst", "inspect", &both]);
    assert!(inspected.contains("spent already:"), "{inspected}");
    let refused = crate::support::luminex(b, port, &["wallet", "pst", "sign", &both]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("spent already"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let info = ok(
        b,
        port,
        &["wallet", "multisig", "info", "--policy", &policy],
    );
    assert!(
        info.contains("balance: 6.99"),
        "the change came back: {info}"
    );
    node.stop();
}
