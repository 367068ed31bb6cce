//! QR codes in the wallet CLI: an address and a payment request drawn in
//! the terminal, and a public key carried by frames and read back.

use luminex_wallet::request::PaymentRequest;

use crate::support::ok;

#[test]
fn addresses_requests_and_keys_as_qr_codes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // No node is needed for any of these.
    let port = 1;
    ok(d, port, &["wallet", "new"]);
    let out = ok(d, port, &["wallet", "address", "--qr"]);
    let first = out.lines().next().unwrap();
    assert_eq!(out.lines().last().unwrap(), first);
    assert!(out.contains('█'), "{out}");

    // A request gets a fresh address.
    let out = ok(
        d,
        port,
        &[
            "wallet",
            "request",
            "--amount",
            "2.5",
            "--memo",
            "rent, May",
            "--qr",
        ],
    );
    assert!(out.contains('▀'), "{out}");
    let r = PaymentRequest::parse(out.lines().last().unwrap()).unwrap();
    assert_eq!(r.amount.unwrap().to_string(), "2.5");
    assert_eq!(r.memo.as_deref(), Some("rent, May"));
    let addresses = ok(d, port, &["wallet", "address", "--all"]);
    assert_eq!(addresses.lines().collect::<Vec<_>>(), [first, &r.address]);

    // A public key: frames in the terminal, read back through qr-decode.
    let out = ok(d, port, &["wallet", "export-key", "--qr"]);
    let key = out.lines().next().unwrap();
    let frames: Vec<&str> = out.lines().filter(|l| l.starts_with("LMX1/")).collect();
    assert!(frames.len() > 1, "{out}");
    assert_eq!(
        out.lines().filter(|l| l.starts_with("QR frame ")).count(),
        frames.len()
    );
    let list = d.join("frames.txt");
    std::fs::write(&list, frames.join("\n")).unwrap();
    let back = d.join("key.hex");
    ok(
        d,
        port,
        &[
            "wallet",
            "qr-decode",
            list.to_str().unwrap(),
            "--hex",
            "--out",
            back.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&back).unwrap().trim(), key);
    // Written for the owner only: the payload may be a key file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&back).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    // One frame short.
    std::fs::write(&list, frames[1..].join("\n")).unwrap();
    let out = crate::support::luminex(
        d,
        port,
        &[
            "wallet",
            "qr-decode",
            list.to_str().unwrap(),
            "--out",
            back.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!(
            "{} of {} frames read",
            frames.len() - 1,
            frames.len()
        )),
        "{err}"
    );
}
