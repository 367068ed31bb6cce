//! The browser wallet in a real browser.

use super::*;

/// One block from the node (JSON-RPC `generatetoaddress`, with the cookie
/// the node wrote): the wallet test's node produces none by itself, so a
/// payment stays pending until the test says.
async fn generate_block(dir: &std::path::Path, port: u16, address: &str) {
    let cookie = std::fs::read_to_string(dir.join("dev").join(".cookie")).expect("the RPC cookie");
    let (user, pass) = cookie.trim().split_once(':').expect("user:password");
    let v: Value = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/", port + 1))
        .basic_auth(user, Some(pass))
        .json(&json!({"jsonrpc": "1.0", "id": 1, "method": "generatetoaddress", "params": [1, address]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v["error"].is_null(), "generatetoaddress: {v}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wallet_in_a_real_browser() {
    let Some(driver_path) = driver_or_skip() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    // No producer: blocks come when the test asks, so a payment is seen
    // pending before it is confirmed.
    let node = NodeProcess::start(d, port, &["--no-produce"]);
    let base = format!("http://127.0.0.1:{port}");
    let dev0 = dev0_wallet(d, port);
    let operator = std::fs::read_to_string(d.join("dev").join("admin-operator.key"))
        .expect("the node wrote its operator key before opening its ports");
    let (_driver, c) = start_browser(&driver_path).await;
    let shots = screenshot_dir();
    let enter = fantoccini::key::Key::Enter.to_string();

    // Log in with the keyboard alone.
    c.goto(&format!("{base}/wallet")).await.unwrap();
    wait_path(&c, "the login form", |p| p == "/wallet/login").await;
    shoot(&c, &shots, "wallet-login").await;
    tab_reaches(&c, &["#key", "form.admin-login button"]).await;
    type_into(&c, "key", &format!("{}{enter}", operator.trim())).await;
    wait_path(&c, "the wallets after logging in", |p| p == "/wallet").await;
    assert!(c
        .find(Locator::Css("a[href='/wallet/w/dev0']"))
        .await
        .is_ok());

    // Create a wallet: the phrase once, three words typed back.
    c.goto(&format!("{base}/wallet/create")).await.unwrap();
    shoot(&c, &shots, "wallet-create").await;
    tab_reaches(
        &c,
        &[
            "#name",
            "#passphrase",
            "#passphrase2",
            "form.wallet-form button",
        ],
    )
    .await;
    type_into(&c, "name", "web").await;
    type_into(&c, "passphrase", "browser passphrase").await;
    type_into(&c, "passphrase2", &format!("browser passphrase{enter}")).await;
    shown(&c, "#phrase").await;
    shoot(&c, &shots, "wallet-phrase").await;
    tab_reaches(
        &c,
        &["#word0", "#word1", "#word2", "form.wallet-form button"],
    )
    .await;
    let words: Vec<String> = serde_json::from_value(
        c.execute(
            "return [...document.querySelectorAll('#phrase li')].map(l => l.innerText.trim());",
            vec![],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    let asked: Vec<String> = serde_json::from_value(
        c.execute(
            "return [...document.querySelectorAll('label[for^=word]')].map(l => l.innerText);",
            vec![],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!((words.len(), asked.len()), (24, 3));
    for (i, label) in asked.iter().enumerate() {
        let n: usize = label.trim_start_matches("Word ").trim().parse().unwrap();
        let last = if i == 2 { enter.as_str() } else { "" };
        type_into(&c, &format!("word{i}"), &format!("{}{last}", words[n - 1])).await;
    }
    wait_path(&c, "the new wallet", |p| p == "/wallet/w/web").await;

    // Receive coins from the dev key.
    c.goto(&format!("{base}/wallet/w/web/receive"))
        .await
        .unwrap();
    shoot(&c, &shots, "wallet-receive").await;
    tab_reaches(&c, &["form[action$='/receive'] button"]).await;
    let address = c
        .find(Locator::Id("receive-address"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    crate::support::ok(
        d,
        port,
        &[
            "wallet", "--wallet", "dev0", "send", "--to", &address, "--amount", "50",
        ],
    );
    generate_block(d, port, &dev0).await;
    c.goto(&format!("{base}/wallet/w/web")).await.unwrap();
    let balance = c
        .find(Locator::Id("balance"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(balance, "50");

    // Send some back: the form, the review of what will be signed, then
    // the status page.
    c.goto(&format!("{base}/wallet/w/web/send")).await.unwrap();
    shoot(&c, &shots, "wallet-send").await;
    tab_reaches(
        &c,
        &["#to", "#amount", "#fee_rate", "form.wallet-form button"],
    )
    .await;
    type_into(&c, "to", &dev0).await;
    type_into(&c, "amount", &format!("12.5{enter}")).await;
    shown(&c, "#review-outputs").await;
    shoot(&c, &shots, "wallet-review").await;
    tab_reaches(&c, &["#sign"]).await;
    let outputs = c
        .find(Locator::Id("review-outputs"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        outputs.contains(&dev0) && outputs.contains("12.5"),
        "{outputs}"
    );
    c.find(Locator::Id("sign"))
        .await
        .unwrap()
        .send_keys(&enter)
        .await
        .unwrap();
    wait_path(&c, "the payment's page", |p| {
        p.starts_with("/wallet/w/web/tx/")
    })
    .await;
    let status = || async {
        c.execute(
            "const s = document.getElementById('tx-status'); return s ? s.dataset.status : null;",
            vec![],
        )
        .await
        .unwrap()
    };
    assert_eq!(status().await, json!("pending"));
    // Pending to confirmed without a reload: a mark set on this page
    // survives, and the live script has connected before the block.
    wait_until("the live connection", || async {
        c.execute(
            "return document.body.getAttribute('data-live-connected') === 'true';",
            vec![],
        )
        .await
        .is_ok_and(|v| v == json!(true))
    })
    .await;
    c.execute("window.stillThisPage = true;", vec![])
        .await
        .unwrap();
    generate_block(d, port, &dev0).await;
    wait_until("the payment confirmed on the page", || async {
        status().await == json!("confirmed")
    })
    .await;
    assert_eq!(
        c.execute("return window.stillThisPage === true;", vec![])
            .await
            .unwrap(),
        json!(true),
        "the page was reloaded"
    );
    shoot(&c, &shots, "wallet-payment").await;

    // The wallet: balances and history, its CSV, the list.
    c.goto(&format!("{base}/wallet/w/web")).await.unwrap();
    shoot(&c, &shots, "wallet").await;
    // The same page in German by the switch (which sets the cookie), then
    // back to English.
    c.goto(&format!("{base}/wallet/w/web?lang=de"))
        .await
        .unwrap();
    heading(&c).await;
    let lang = c
        .execute("return document.documentElement.lang;", vec![])
        .await
        .unwrap();
    assert_eq!(lang, json!("de"));
    let send = c
        .find(Locator::Css("a[href='/wallet/w/web/send']"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(send, "Senden");
    shoot(&c, &shots, "wallet-de").await;
    c.goto(&format!("{base}/wallet/w/web?lang=en"))
        .await
        .unwrap();
    tab_reaches(&c, &["form[action$='/lock'] button", "form.logout button"]).await;
    let csv: String = serde_json::from_value(
        c.execute(
            "return fetch('/wallet/w/web/history.csv').then(r => r.text());",
            vec![],
        )
        .await
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        csv.lines().filter(|l| l.contains(",confirmed,")).count(),
        2,
        "{csv}"
    );
    c.goto(&format!("{base}/wallet")).await.unwrap();
    shoot(&c, &shots, "wallet-list").await;
    c.goto(&format!("{base}/wallet/restore")).await.unwrap();
    shoot(&c, &shots, "wallet-restore").await;
    tab_reaches(
        &c,
        &[
            "#phrase",
            "#name",
            "#passphrase",
            "#passphrase2",
            "form.wallet-form button",
        ],
    )
    .await;

    // Locked, it asks for the passphrase; a wrong one says so.
    c.goto(&format!("{base}/wallet/w/web")).await.unwrap();
    heading(&c).await;
    c.find(Locator::Css("form[action$='/lock'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(&c, "the wallets after locking", |p| p == "/wallet").await;
    c.goto(&format!("{base}/wallet/w/web")).await.unwrap();
    heading(&c).await;
    tab_reaches(&c, &["#passphrase", "form.wallet-form button"]).await;
    type_into(&c, "passphrase", &format!("not the passphrase{enter}")).await;
    let error = shown(&c, "#form-error").await.text().await.unwrap();
    assert!(error.contains("Wrong passphrase"), "{error}");
    let _ = console_errors(&c).await; // the 401

    c.close().await.unwrap();
    node.stop();
}
