//! The web pages in a real browser: Debian's `chromium`, driven over
//! WebDriver (`chromium-driver`, through `fantoccini`), against the real
//! binary producing blocks. One node and one browser session serve every
//! check, to keep the added CI time small.
//!
//! Without `chromedriver` the test is skipped, except under `CI=true`
//! (`.ci/run` installs it), where a missing browser fails the run.
//!
//! Screenshots of each page type at desktop and phone widths are written to
//! `$LUMINEX_SCREENSHOTS`, or `screenshots/` under Cargo's test temporary
//! directory (docs/web.md).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

use crate::support::{free_port, NodeProcess};

/// Longest wait for anything the browser or the node should do.
const DEADLINE: Duration = Duration::from_secs(60);

/// Window sizes: a desktop and a phone.
const WIDTHS: [(&str, u32, u32); 2] = [("desktop", 1280, 900), ("phone", 390, 844)];

fn chromedriver() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("chromedriver"))
        .find(|p| p.is_file())
}

/// `chromedriver`, killed when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// ChromeDriver's log endpoint (a vendor extension of WebDriver): the
/// browser console's entries since the last call.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.into()))
    }
}

/// Console errors ("SEVERE" entries) since the last call.
async fn console_errors(c: &Client) -> Vec<String> {
    let v = c.issue_cmd(BrowserLog).await.expect("the browser log");
    v.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["level"] == "SEVERE")
        .map(|e| e["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn start_browser(driver_path: &PathBuf) -> (Driver, Client) {
    let port = free_port();
    let child = Command::new(driver_path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let driver = Driver(child);
    let until = Instant::now() + DEADLINE;
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "chromedriver did not listen");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // English whatever the machine's locale: the pages follow the
    // browser's Accept-Language, and the checks read English text.
    let mut options = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                 "--disable-gpu", "--window-size=1280,900", "--lang=en-US"],
        "prefs": { "intl.accept_languages": "en-US,en" },
    });
    if std::path::Path::new("/usr/bin/chromium").exists() {
        options["binary"] = json!("/usr/bin/chromium");
    }
    let caps = json!({
        "goog:chromeOptions": options,
        "goog:loggingPrefs": { "browser": "ALL" },
    });
    let caps = caps.as_object().expect("an object").clone();
    let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{port}"))
        .await
        .expect("a WebDriver session");
    (driver, client)
}

fn screenshot_dir() -> PathBuf {
    let dir = std::env::var_os("LUMINEX_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots"));
    std::fs::create_dir_all(&dir).expect("the screenshot directory");
    dir
}

async fn rest(port: u16, path: &str) -> Value {
    reqwest::get(format!("http://127.0.0.1:{port}{path}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Waits until `check` holds, polling the browser up to [`DEADLINE`].
async fn wait_until<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let until = Instant::now() + DEADLINE;
    while !check().await {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Serious or critical axe-core violations on the current page.
async fn axe_violations(c: &Client) -> Vec<String> {
    const AXE: &str = include_str!("../vendor/axe-core/axe.min.js");
    c.execute(&format!("{AXE}\nreturn true;"), vec![])
        .await
        .expect("axe-core loads");
    let v = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] }).then(r => done(
               r.violations
                 .filter(v => v.impact === 'serious' || v.impact === 'critical')
                 .map(v => v.id + ' (' + v.impact + '): ' + v.help + ' at ' +
                      v.nodes.map(n => n.target.join(' ')).join(', '))));",
            vec![],
        )
        .await
        .expect("axe-core runs");
    serde_json::from_value(v).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_explorer_in_a_real_browser() {
    let Some(driver_path) = chromedriver() else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("chromedriver is missing: .ci/run installs chromium and chromium-driver");
        }
        eprintln!("skipped: no chromedriver (apt-get install chromium chromium-driver)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let node = NodeProcess::start(dir.path(), port, &[]);
    let base = format!("http://127.0.0.1:{port}");
    let (_driver, c) = start_browser(&driver_path).await;

    // Names of each kind, from the REST API once block 1 exists.
    let until = Instant::now() + DEADLINE;
    while rest(port, "/health/block-sync").await["height"]
        .as_u64()
        .unwrap_or(0)
        < 1
    {
        assert!(Instant::now() < until, "the dev node produced no block");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let block = rest(port, "/blocks/1").await;
    let hash = block["hash"].as_str().unwrap().to_string();
    let txid = block["txids"][0].as_str().unwrap().to_string();
    let tx = rest(port, &format!("/transactions/{txid}")).await;
    let address = tx["outputs"][0]["address"].as_str().unwrap().to_string();

    let pages = [
        ("dashboard", "/".to_string()),
        ("block", "/block/1".to_string()),
        ("transaction", format!("/tx/{txid}")),
        ("address", format!("/address/{address}")),
        ("charts", "/charts".to_string()),
    ];
    let shots = screenshot_dir();
    for (width_name, w, h) in WIDTHS {
        c.set_window_size(w, h).await.unwrap();
        for (name, path) in &pages {
            c.goto(&format!("{base}{path}")).await.unwrap();
            c.wait()
                .at_most(DEADLINE)
                .for_element(Locator::Css("main h1"))
                .await
                .unwrap();
            let png = c.screenshot().await.unwrap();
            std::fs::write(shots.join(format!("{name}-{width_name}.png")), png).unwrap();
            let errors = console_errors(&c).await;
            assert!(errors.is_empty(), "{path} at {w}px: {errors:?}");
            // Nothing wider than the window.
            let overflow = c
                .execute(
                    "return document.documentElement.scrollWidth - window.innerWidth;",
                    vec![],
                )
                .await
                .unwrap();
            assert!(
                overflow.as_i64().unwrap_or(0) <= 1,
                "{path} at {w}px scrolls sideways by {overflow}"
            );
            if width_name == "desktop" {
                let v = axe_violations(&c).await;
                assert!(v.is_empty(), "{path}: {v:#?}");
            }
        }
    }
    // An error page explains itself (its 400 is logged by the browser).
    c.goto(&format!("{base}/find?q=nonsense")).await.unwrap();
    let alert = c
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css("[role=alert]"))
        .await
        .unwrap();
    assert!(alert.text().await.unwrap().contains("is not a height"));
    std::fs::write(shots.join("error-phone.png"), c.screenshot().await.unwrap()).unwrap();
    let _ = console_errors(&c).await;
    c.set_window_size(1280, 900).await.unwrap();

    // The search box finds a height, a block hash, a txid and an address.
    for (term, expected) in [
        ("1".to_string(), "/block/1".to_string()),
        (hash.clone(), format!("/block/{hash}")),
        (txid.clone(), format!("/tx/{txid}")),
        (address.clone(), format!("/address/{address}")),
    ] {
        c.goto(&format!("{base}/")).await.unwrap();
        let q = c
            .wait()
            .at_most(DEADLINE)
            .for_element(Locator::Id("q"))
            .await
            .unwrap();
        q.send_keys(&term).await.unwrap();
        c.find(Locator::Css("form.search button"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_until(&format!("the search for {term}"), || async {
            c.current_url()
                .await
                .is_ok_and(|u| u.path() == expected.as_str())
        })
        .await;
        c.wait()
            .at_most(DEADLINE)
            .for_element(Locator::Css("main h1"))
            .await
            .unwrap();
    }

    // Keyboard only: Tab reaches the search box, Enter searches.
    c.goto(&format!("{base}/")).await.unwrap();
    c.wait()
        .at_most(DEADLINE)
        .for_element(Locator::Id("q"))
        .await
        .unwrap();
    let mut reached = false;
    for _ in 0..6 {
        let active = c.active_element().await.unwrap();
        active
            .send_keys(&fantoccini::key::Key::Tab.to_string())
            .await
            .unwrap();
        let now = c.active_element().await.unwrap();
        if now.attr("id").await.unwrap().as_deref() == Some("q") {
            reached = true;
            now.send_keys(&format!("1{}", fantoccini::key::Key::Enter))
                .await
                .unwrap();
            break;
        }
    }
    assert!(reached, "Tab never reached the search box");
    wait_until("the keyboard search", || async {
        c.current_url().await.is_ok_and(|u| u.path() == "/block/1")
    })
    .await;

    // The charts: Tab reaches the range links and each chart's table; the
    // address's balance chart is drawn with its table.
    c.goto(&format!("{base}/charts")).await.unwrap();
    heading(&c).await;
    tab_reaches(
        &c,
        &["a[href='/charts?range=1000']", "figure.chart summary"],
    )
    .await;
    c.goto(&format!("{base}/address/{address}")).await.unwrap();
    heading(&c).await;
    c.find(Locator::Css("figure.chart svg[role=img] title"))
        .await
        .expect("the balance chart");
    // A dev chain has no validators: the page says so with a 404.
    c.goto(&format!("{base}/validators")).await.unwrap();
    let alert = c
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css("[role=alert]"))
        .await
        .unwrap();
    assert!(alert.text().await.unwrap().contains("not a BFT chain"));
    let _ = console_errors(&c).await;

    // A new block appears on the dashboard without a reload.
    c.goto(&format!("{base}/")).await.unwrap();
    c.wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css("body[data-live-connected]"))
        .await
        .unwrap();
    c.execute("window.notReloaded = true; return true;", vec![])
        .await
        .unwrap();
    // Read in one script call: the live refresh may replace the element
    // between a find and a read.
    let height_js = "const e = document.getElementById('height'); return e ? e.textContent : null;";
    let first = c.execute(height_js, vec![]).await.unwrap();
    assert!(first.is_string(), "the dashboard shows the height");
    wait_until("a new block on the dashboard", || async {
        c.execute(height_js, vec![])
            .await
            .is_ok_and(|h| h.is_string() && h != first)
    })
    .await;
    let same_page = c
        .execute("return window.notReloaded === true;", vec![])
        .await
        .unwrap();
    assert_eq!(same_page, json!(true), "the page was reloaded");
    let errors = console_errors(&c).await;
    assert!(errors.is_empty(), "after live updates: {errors:?}");

    // A BFT chain (`poa`, this node a follower at genesis): the dashboard
    // shows the finalized height, the validators page the set.
    let bft_dir = tempfile::tempdir().unwrap();
    let bft_port = free_port();
    let bft = NodeProcess::start_chain(bft_dir.path(), "poa", bft_port, &[]);
    let bft_base = format!("http://127.0.0.1:{bft_port}");
    c.goto(&format!("{bft_base}/")).await.unwrap();
    heading(&c).await;
    c.find(Locator::Id("finalized"))
        .await
        .expect("the finalized height");
    c.find(Locator::Css("a[href='/validators']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_path(&c, "the validators page", |p| p == "/validators").await;
    shoot(&c, &shots, "validators").await;
    let count = c
        .find(Locator::Id("validator-count"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(count, "4", "the poa preset's four validators");
    bft.stop();

    c.close().await.unwrap();
    node.stop();
}

/// Logs in to the dashboard with `key` and waits for its overview.
async fn admin_login(c: &Client, base: &str, key: &str) {
    c.goto(&format!("{base}/admin/login")).await.unwrap();
    let input = c
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Id("key"))
        .await
        .unwrap();
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

/// The text of the page's heading once it shows.
async fn heading(c: &Client) -> String {
    c.wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css("main h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Submits the peers page's "Add peer" form; returns the heading of the
/// page that answers.
async fn add_peer(c: &Client, base: &str, address: &str) -> String {
    c.goto(&format!("{base}/admin/peers")).await.unwrap();
    let input = c
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Id("add-address"))
        .await
        .unwrap();
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
    let Some(driver_path) = chromedriver() else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("chromedriver is missing: .ci/run installs chromium and chromium-driver");
        }
        eprintln!("skipped: no chromedriver (apt-get install chromium chromium-driver)");
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
    let mut reached = false;
    for _ in 0..8 {
        let active = c.active_element().await.unwrap();
        active
            .send_keys(&fantoccini::key::Key::Tab.to_string())
            .await
            .unwrap();
        let now = c.active_element().await.unwrap();
        if now.attr("id").await.unwrap().as_deref() == Some("key") {
            reached = true;
            now.send_keys(&format!(
                "{}{}",
                key("viewer").trim(),
                fantoccini::key::Key::Enter
            ))
            .await
            .unwrap();
            break;
        }
    }
    assert!(reached, "Tab never reached the key field");
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
            heading(&c).await;
            std::fs::write(
                shots.join(format!("{name}-{width_name}.png")),
                c.screenshot().await.unwrap(),
            )
            .unwrap();
            let errors = console_errors(&c).await;
            assert!(errors.is_empty(), "{path} at {w}px: {errors:?}");
            let overflow = c
                .execute(
                    "return document.documentElement.scrollWidth - window.innerWidth;",
                    vec![],
                )
                .await
                .unwrap();
            assert!(
                overflow.as_i64().unwrap_or(0) <= 1,
                "{path} at {w}px scrolls sideways by {overflow}"
            );
            if width_name == "desktop" {
                let v = axe_violations(&c).await;
                assert!(v.is_empty(), "{path}: {v:#?}");
            }
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
    let until = Instant::now() + DEADLINE;
    let p2p = loop {
        let s = rest(port, "/health/node-status").await;
        if let Some(a) = s["p2p"]["listen_addrs"][0].as_str() {
            break a.to_string();
        }
        assert!(Instant::now() < until, "the node has no listen address");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
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
    crate::support::ok(
        d,
        port,
        &["wallet", "--wallet", "dev0", "import-dev", "--index", "0"],
    );
    let dev0 = crate::support::ok(d, port, &["wallet", "--wallet", "dev0", "address"])
        .trim()
        .to_string();
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

/// Presses Tab from the top of the page until each of `selectors` has had
/// the focus: the keyboard alone reaches every field and button of a form.
async fn tab_reaches(c: &Client, selectors: &[&str]) {
    c.execute(
        "if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0);",
        vec![],
    )
    .await
    .unwrap();
    let mut reached = vec![false; selectors.len()];
    for _ in 0..80 {
        c.active_element()
            .await
            .unwrap()
            .send_keys(&fantoccini::key::Key::Tab.to_string())
            .await
            .unwrap();
        let now = c
            .execute(
                "const a = document.activeElement; return arguments[0].map(s => !!a && a.matches(s));",
                vec![json!(selectors)],
            )
            .await
            .unwrap();
        let now: Vec<bool> = serde_json::from_value(now).unwrap();
        for (r, n) in reached.iter_mut().zip(now) {
            *r |= n;
        }
        if reached.iter().all(|r| *r) {
            return;
        }
    }
    let missed: Vec<&&str> = selectors
        .iter()
        .zip(&reached)
        .filter(|(_, r)| !**r)
        .map(|(s, _)| s)
        .collect();
    panic!("Tab never reached {missed:?}");
}

/// Screenshots of the current page at both widths as `<name>-<width>.png`;
/// at each width no console error and nothing wider than the window, and
/// at the desktop width no serious axe-core violation.
async fn shoot(c: &Client, shots: &std::path::Path, name: &str) {
    for (width_name, w, h) in WIDTHS {
        c.set_window_size(w, h).await.unwrap();
        heading(c).await;
        std::fs::write(
            shots.join(format!("{name}-{width_name}.png")),
            c.screenshot().await.unwrap(),
        )
        .unwrap();
        let overflow = c
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            overflow.as_i64().unwrap_or(0) <= 1,
            "{name} at {w}px scrolls sideways by {overflow}"
        );
        if width_name == "desktop" {
            let v = axe_violations(c).await;
            assert!(v.is_empty(), "{name}: {v:#?}");
        }
    }
    c.set_window_size(1280, 900).await.unwrap();
    let errors = console_errors(c).await;
    assert!(errors.is_empty(), "{name}: {errors:?}");
}

/// Types `text` into the field `id`.
async fn type_into(c: &Client, id: &str, text: &str) {
    c.find(Locator::Id(id))
        .await
        .unwrap()
        .send_keys(text)
        .await
        .unwrap();
}

/// Waits until the browser is at `path`.
async fn wait_path(c: &Client, what: &str, path: impl Fn(&str) -> bool) {
    wait_until(what, || async {
        c.current_url().await.is_ok_and(|u| path(u.path()))
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_wallet_in_a_real_browser() {
    let Some(driver_path) = chromedriver() else {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("chromedriver is missing: .ci/run installs chromium and chromium-driver");
        }
        eprintln!("skipped: no chromedriver (apt-get install chromium chromium-driver)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = free_port();
    // No producer: blocks come when the test asks, so a payment is seen
    // pending before it is confirmed.
    let node = NodeProcess::start(d, port, &["--no-produce"]);
    let base = format!("http://127.0.0.1:{port}");
    // The dev key's wallet, made by the command line in the same directory
    // the pages list.
    crate::support::ok(
        d,
        port,
        &["wallet", "--wallet", "dev0", "import-dev", "--index", "0"],
    );
    let dev0 = crate::support::ok(d, port, &["wallet", "--wallet", "dev0", "address"])
        .trim()
        .to_string();
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
    c.wait()
        .at_most(DEADLINE)
        .for_element(Locator::Id("phrase"))
        .await
        .unwrap();
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
    c.wait()
        .at_most(DEADLINE)
        .for_element(Locator::Id("review-outputs"))
        .await
        .unwrap();
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
    let error = c
        .wait()
        .at_most(DEADLINE)
        .for_element(Locator::Id("form-error"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(error.contains("Wrong passphrase"), "{error}");
    let _ = console_errors(&c).await; // the 401

    c.close().await.unwrap();
    node.stop();
}
