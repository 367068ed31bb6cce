//! The web pages in a real browser: Debian's `chromium`, driven over
//! WebDriver (`chromium-driver`, through `fantoccini`), against the real
//! binary producing blocks. One node and one browser session serve every
//! check, to keep the added CI time small.
//!
//! Without `chromedriver` the test is skipped, except under `CI=true`
//! (`.ci/run` installs it), where a missing browser fails the run.
//!
//! One file per surface: `explorer`, `admin` (the dashboard), `wallet`;
//! the driver, the checks every page gets and the helpers they share are
//! here.
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

mod admin;
mod explorer;
mod wallet;

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
    const AXE: &str = include_str!("../../vendor/axe-core/axe.min.js");
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

/// The element `css` selects, once it shows (up to [`DEADLINE`]).
async fn shown(c: &Client, css: &str) -> fantoccini::elements::Element {
    c.wait()
        .at_most(DEADLINE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never showed: {e}"))
}

/// The text of the element `css` selects once it shows, read in the same
/// script call that finds it: a live page swaps its `<main>` when a block
/// arrives (`live.js`), which may replace the element between a find and a
/// separate read (a stale element).
async fn shown_text(c: &Client, css: &str) -> String {
    shown(c, css).await;
    let read = "const e = document.querySelector(arguments[0]); \
                return e ? e.innerText.trim() : null;";
    let deadline = Instant::now() + DEADLINE;
    loop {
        let text = c.execute(read, vec![json!(css)]).await.unwrap();
        if let Some(text) = text.as_str() {
            return text.to_string();
        }
        // Between the swap's removal and insertion: read again.
        assert!(Instant::now() < deadline, "{css} went away");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The text of the page's heading once it shows.
async fn heading(c: &Client) -> String {
    shown_text(c, "main h1").await
}

/// Presses Tab in the element that has the focus.
async fn press_tab(c: &Client) {
    c.active_element()
        .await
        .unwrap()
        .send_keys(&fantoccini::key::Key::Tab.to_string())
        .await
        .unwrap();
}

/// Presses Tab (at most `presses` times) until the field `id` has the
/// focus, then types `text` into it: the keyboard alone reaches and fills
/// it.
async fn tab_to_and_type(c: &Client, id: &str, presses: usize, text: &str) {
    for _ in 0..presses {
        press_tab(c).await;
        let now = c.active_element().await.unwrap();
        if now.attr("id").await.unwrap().as_deref() == Some(id) {
            now.send_keys(text).await.unwrap();
            return;
        }
    }
    panic!("Tab never reached #{id}");
}

/// The development key 0's wallet `dev0`, made by the command line in the
/// node's directory `dir` (the pages list it); its address.
fn dev0_wallet(dir: &std::path::Path, port: u16) -> String {
    crate::support::ok(
        dir,
        port,
        &["wallet", "--wallet", "dev0", "import-dev", "--index", "0"],
    );
    crate::support::ok(dir, port, &["wallet", "--wallet", "dev0", "address"])
        .trim()
        .to_string()
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
        press_tab(c).await;
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

/// The chromedriver to drive, or `None` when the test is to be skipped:
/// only outside CI (`.ci/run` installs it, so there it fails the run).
fn driver_or_skip() -> Option<PathBuf> {
    let path = chromedriver();
    if path.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("chromedriver is missing: .ci/run installs chromium and chromium-driver");
        }
        eprintln!("skipped: no chromedriver (apt-get install chromium chromium-driver)");
    }
    path
}

/// Checks the page the browser shows, at the window width `width` (one
/// of [`WIDTHS`], already set): writes its screenshot as
/// `<name>-<width>.png`; asserts no console error, nothing wider than the
/// window and, at the desktop width, no serious axe-core violation.
/// `what` names the page in failures.
async fn check_page(c: &Client, shots: &std::path::Path, name: &str, what: &str, width: &str) {
    // Only waited for, not read: a live page (the dashboard) may replace
    // its heading's element between a find and a read.
    shown(c, "main h1").await;
    std::fs::write(
        shots.join(format!("{name}-{width}.png")),
        c.screenshot().await.unwrap(),
    )
    .unwrap();
    let errors = console_errors(c).await;
    assert!(errors.is_empty(), "{what} at {width} width: {errors:?}");
    let overflow = c
        .execute(
            "return document.documentElement.scrollWidth - window.innerWidth;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        overflow.as_i64().unwrap_or(0) <= 1,
        "{what} at {width} width scrolls sideways by {overflow}"
    );
    if width == "desktop" {
        let v = axe_violations(c).await;
        assert!(v.is_empty(), "{what}: {v:#?}");
    }
}

/// Screenshots of the current page at both widths as `<name>-<width>.png`,
/// each checked as [`check_page`] does; the window is left at the desktop
/// width.
async fn shoot(c: &Client, shots: &std::path::Path, name: &str) {
    for (width_name, w, h) in WIDTHS {
        c.set_window_size(w, h).await.unwrap();
        check_page(c, shots, name, name, width_name).await;
    }
    c.set_window_size(1280, 900).await.unwrap();
}

/// The text of the page's alert (`role=alert`) once it shows.
async fn alert_text(c: &Client) -> String {
    shown_text(c, "[role=alert]").await
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
