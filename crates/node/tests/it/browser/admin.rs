//! The admin dashboard in a real browser: login, pages, forms.

use super::*;

/// Logs in to the dashboard with `key` and waits for its overview.
async fn admin_login(c: &Client, base: &str, key: &str) {
    c.goto(&format!("{base}/admin/login")).await.unwrap();
    let input = shown(c, "#key").await;
    input.send_keys(key.trim()).await.unwrap();
    c.find(Locator::Css("form.admin-login button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("the dashboard after logging in", || async {
        c.current_url().await.is_ok_and(|u| u.path() == "/admin")
    })
    .await;
}

/// Submits the peers page's "Add peer" form; returns the heading of the
/// page that answers.
async fn add_peer(c: &Client, base: &str, address: &str) -> String {
    c.goto(&format!("{base}/admin/peers")).await.unwrap();
    let input = shown(c, "#add-address").await;
    input.send_keys(address).await.unwrap();
    c.find(Locator::Css("form[action='/admin/peers/add'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("the answer to the form", || async {
        c.current_url()
            .await
            .is_ok_and(|u| u.path() == "/admin/peers/add")
    })
    .await;
    heading(c).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_dashboard_in_a_real_browser() {
    let Some(driver_path) = driver_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // No producer: a payment stays in the mempool while its page is read.
    let node = NodeProcess::start(dir.path(), port, &["--no-produce"]);
    let base = format!("http://127.0.0.1:{port}");
    let key = |role: &str| {
        std::fs::read_to_string(dir.path().join("dev").join(format!("admin-{role}.key")))
            .expect("the node wrote its admin keys before opening its ports")
    };
    let (_driver, c) = start_browser(&driver_path).await;
    let shots = screenshot_dir();

    // The login form, then every page with the viewer key at both widths.
    c.goto(&format!("{base}/admin")).await.unwrap();
    wait_until("the login form", || async {
        c.current_url()
            .await
            .is_ok_and(|u| u.path() == "/admin/login")
    })
    .await;
    heading(&c).await;
    assert!(axe_violations(&c).await.is_empty(), "the login page");
    std::fs::write(
        shots.join("admin-login-desktop.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    // Keyboard only: Tab reaches the key field, Enter logs in.
    let login = format!("{}{}", key("viewer").trim(), fantoccini::key::Key::Enter);
    tab_to_and_type(&c, "key", 8, &login).await;
    wait_until("the dashboard after a keyboard login", || async {
        c.current_url().await.is_ok_and(|u| u.path() == "/admin")
    })
    .await;
    let pages = [
        ("admin", "/admin"),
        ("admin-peers", "/admin/peers"),
        ("admin-mempool", "/admin/mempool"),
        ("admin-alerts", "/admin/alerts"),
        ("admin-settings", "/admin/settings"),
    ];
    for (width_name, w, h) in WIDTHS {
        c.set_window_size(w, h).await.unwrap();
        for (name, path) in pages {
            c.goto(&format!("{base}{path}")).await.unwrap();
            check_page(&c, &shots, name, path, width_name).await;
        }
    }
    c.set_window_size(1280, 900).await.unwrap();
    // Keyboard only: Tab reaches every field and button of the peers
    // page's forms (add, ban) and the log-out button.
    c.goto(&format!("{base}/admin/peers")).await.unwrap();
    heading(&c).await;
    tab_reaches(
        &c,
        &[
            "#add-address",
            "form[action='/admin/peers/add'] button",
            "#ban-peer",
            "form[action='/admin/peers/ban'] button",
            "form.logout button",
        ],
    )
    .await;

    // With a connected peer and a pending payment, Tab reaches each row's
    // forms too: disconnect and ban the peer, remove the transaction. The
    // peer produces no blocks either, so the payment stays pending.
    let listen_addr = || async {
        rest(port, "/health/node-status").await["p2p"]["listen_addrs"][0]
            .as_str()
            .map(str::to_string)
    };
    wait_until("the node's listen address", || async {
        listen_addr().await.is_some()
    })
    .await;
    let p2p = listen_addr().await.expect("a listen address, once shown");
    let peer_dir = tempfile::tempdir().unwrap();
    let peer_port = free_port();
    let peer = NodeProcess::start(
        peer_dir.path(),
        peer_port,
        &["--no-produce", "--bootnodes", &p2p],
    );
    let peer_id = rest(peer_port, "/health/node-status").await["p2p"]["peer_id"]
        .as_str()
        .expect("the peer's id")
        .to_string();
    let d = dir.path();
    let dev0 = dev0_wallet(d, port);
    let sent = crate::support::ok(
        d,
        port,
        &[
            "wallet", "--wallet", "dev0", "send", "--to", &dev0, "--amount", "1",
        ],
    );
    let txid = sent.trim().lines().last().expect("the txid").to_string();
    let disconnect =
        format!("form[action='/admin/peers/disconnect']:has(input[value='{peer_id}']) button");
    let ban = format!("form[action='/admin/peers/ban']:has(input[value='{peer_id}']) button");
    wait_until("the peer on the peers page", || async {
        c.goto(&format!("{base}/admin/peers")).await.unwrap();
        heading(&c).await;
        c.find(Locator::Css(&disconnect)).await.is_ok()
    })
    .await;
    shoot(&c, &shots, "admin-peers-rows").await;
    tab_reaches(&c, &[&disconnect, &ban]).await;
    let remove =
        format!("#by-rate form[action='/admin/mempool/remove']:has(input[value='{txid}']) button");
    wait_until("the payment on the mempool page", || async {
        c.goto(&format!("{base}/admin/mempool")).await.unwrap();
        heading(&c).await;
        c.find(Locator::Css(&remove)).await.is_ok()
    })
    .await;
    shoot(&c, &shots, "admin-mempool-rows").await;
    tab_reaches(&c, &[&remove]).await;
    let errors = console_errors(&c).await;
    assert!(errors.is_empty(), "the pages with rows: {errors:?}");
    peer.stop();

    // The viewer's action is refused and changes nothing.
    let target = "/ip4/127.0.0.1/tcp/9";
    assert_eq!(add_peer(&c, &base, target).await, "Not allowed");
    std::fs::write(
        shots.join("admin-refused-desktop.png"),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    let _ = console_errors(&c).await; // the 403 is logged by the browser

    // Log out; the operator's is accepted.
    c.goto(&format!("{base}/admin")).await.unwrap();
    heading(&c).await;
    c.find(Locator::Css("form.logout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_until("the login form after logging out", || async {
        c.current_url()
            .await
            .is_ok_and(|u| u.path() == "/admin/login")
    })
    .await;
    admin_login(&c, &base, &key("operator")).await;
    assert_eq!(add_peer(&c, &base, target).await, "Dialing");
    assert!(console_errors(&c).await.is_empty());

    // Restart the node: the session is gone, the audit log is not.
    node.stop();
    let node = NodeProcess::start(dir.path(), port, &[]);
    c.goto(&format!("{base}/admin")).await.unwrap();
    assert_eq!(heading(&c).await, "Session expired");
    let _ = console_errors(&c).await; // the 401
    admin_login(&c, &base, &key("operator")).await;
    for (width_name, w, h) in WIDTHS {
        c.set_window_size(w, h).await.unwrap();
        c.goto(&format!("{base}/admin/audit")).await.unwrap();
        heading(&c).await;
        std::fs::write(
            shots.join(format!("admin-audit-{width_name}.png")),
            c.screenshot().await.unwrap(),
        )
        .unwrap();
        if width_name == "desktop" {
            let v = axe_violations(&c).await;
            assert!(v.is_empty(), "/admin/audit: {v:#?}");
        }
    }
    let rows = c
        .execute(
            "return [...document.querySelectorAll('#audit tbody tr')].map(r => r.innerText);",
            vec![],
        )
        .await
        .unwrap();
    let rows: Vec<String> = serde_json::from_value(rows).unwrap();
    let has = |what: &str, outcome: &str| {
        rows.iter()
            .any(|r| r.contains(what) && r.contains(target) && r.contains(outcome))
    };
    assert!(
        has("add peer", "refused: the viewer key cannot act"),
        "{rows:#?}"
    );
    assert!(has("add peer", "done"), "{rows:#?}");
    assert!(rows.iter().any(|r| r.contains("viewer key")), "{rows:#?}");
    assert!(console_errors(&c).await.is_empty());

    c.close().await.unwrap();
    node.stop();
}
