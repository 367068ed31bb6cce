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
    let node = NodeProcess::start(dir.path(), port, &[]);
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
