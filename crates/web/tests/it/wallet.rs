//! The browser wallet in process: login, creating a wallet with its
//! phrase check, restoring, unlocking, receiving, sending through the
//! confirmation page, and bad input of every kind getting a clear page
//! while nothing changes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use luminex_api::ApiOptions;
use luminex_ledger::testkit::{lock_of, transfer};
use luminex_primitives::{Amount, TxOut};
use luminex_service::testkit::memory_node;
use luminex_service::Node;
use luminex_web::wallet::{WalletOptions, Wallets};
use tower::ServiceExt;

const OPERATOR: &str = "operator-key-0123456789abcdef";
const VIEWER: &str = "viewer-key-0123456789abcdef";
const PASS: &str = "correct horse battery";
const LOCAL: [u8; 4] = [127, 0, 0, 1];

struct Site {
    node: Arc<Node>,
    wallets: Arc<Wallets>,
    _dir: tempfile::TempDir,
}

impl Site {
    fn new(opts: WalletOptions) -> Site {
        let dir = tempfile::tempdir().unwrap();
        let node = memory_node();
        let wallets = Arc::new(
            Wallets::new(
                node.clone(),
                dir.path().join("wallets"),
                OPERATOR,
                VIEWER,
                "the key file",
                opts,
            )
            .unwrap(),
        );
        Site {
            node,
            wallets,
            _dir: dir,
        }
    }

    fn router(&self) -> Router {
        luminex_web::router_with(self.node.clone(), ApiOptions::default())
            .merge(luminex_web::wallet::routes(self.wallets.clone()))
    }

    fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.wallets.dir())
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }
}

struct Resp {
    status: StatusCode,
    location: Option<String>,
    set_cookie: Vec<String>,
    cache: Option<String>,
    content_type: String,
    body: String,
}

async fn send(
    s: &Site,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    form: Option<&str>,
    from: [u8; 4],
) -> Resp {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    if form.is_some() {
        b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    let mut req = b
        .body(form.map_or_else(Body::empty, |f| Body::from(f.to_string())))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((from, 40_000))));
    let resp = s.router().oneshot(req).await.unwrap();
    let h = |n| {
        resp.headers()
            .get(n)
            .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_string())
    };
    let (location, cache) = (h(header::LOCATION), h(header::CACHE_CONTROL));
    let content_type = h(header::CONTENT_TYPE).unwrap_or_default();
    let set_cookie = resp
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        location,
        set_cookie,
        cache,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn get(s: &Site, uri: &str, cookie: &str) -> Resp {
    send(s, "GET", uri, Some(cookie), None, LOCAL).await
}

async fn post(s: &Site, uri: &str, cookie: &str, form: &str) -> Resp {
    send(s, "POST", uri, Some(cookie), Some(form), LOCAL).await
}

/// The value of a hidden field in a page.
fn field(page: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\" value=\"");
    let at = page
        .find(&needle)
        .unwrap_or_else(|| panic!("no {name} in {page}"));
    let rest = &page[at + needle.len()..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_string()
}

/// Logs in with `key`; the login page's own token and cookie included.
async fn try_login(s: &Site, key: &str) -> Resp {
    let page = send(s, "GET", "/wallet/login", None, None, LOCAL).await;
    assert_eq!(page.status, StatusCode::OK);
    let bound = cookie_pair(&page.set_cookie[0]);
    let token = field(&page.body, "login");
    post(
        s,
        "/wallet/login",
        &bound,
        &format!("key={key}&login={token}"),
    )
    .await
}

/// Logs in with the operator key; returns the session cookie.
async fn login(s: &Site) -> String {
    let r = try_login(s, OPERATOR).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/wallet"));
    let c = r.set_cookie.first().expect("a session cookie").clone();
    for attr in [
        "luminex_wallet=",
        "HttpOnly",
        "SameSite=Strict",
        "Path=/wallet",
    ] {
        assert!(c.contains(attr), "{c}");
    }
    cookie_pair(&c)
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            b' ' => "+".into(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The 24 words of the phrase page and the 1-based positions it asks for.
fn phrase_and_asked(page: &str) -> (Vec<String>, Vec<usize>) {
    let list = &page[page.find("id=\"phrase\"").expect("the phrase")..];
    let list = &list[..list.find("</ol>").unwrap()];
    let words: Vec<String> = list
        .split("<span class=\"mono\">")
        .skip(1)
        .map(|p| p[..p.find('<').unwrap()].to_string())
        .collect();
    (words, positions(page))
}

fn positions(page: &str) -> Vec<usize> {
    page.split("for=\"word")
        .skip(1)
        .map(|p| {
            let label = &p[p.find('>').unwrap() + 1..p.find("</label>").unwrap()];
            label.trim_start_matches("Word ").parse().unwrap()
        })
        .collect()
}

/// Creates wallet `name` through the pages; returns its receive address.
async fn create(s: &Site, cookie: &str, name: &str) -> String {
    let csrf = field(&get(s, "/wallet/create", cookie).await.body, "csrf");
    let r = post(
        s,
        "/wallet/create",
        cookie,
        &format!(
            "name={name}&passphrase={p}&passphrase2={p}&csrf={csrf}",
            p = enc(PASS)
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (words, asked) = phrase_and_asked(&r.body);
    assert_eq!(words.len(), 24);
    let answers: Vec<String> = asked
        .iter()
        .enumerate()
        .map(|(i, n)| format!("word{i}={}", words[n - 1]))
        .collect();
    let r = post(
        s,
        "/wallet/create/confirm",
        cookie,
        &format!("{}&csrf={csrf}", answers.join("&")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let file = std::fs::read_to_string(s.wallets.dir().join(format!("{name}.json"))).unwrap();
    let file: serde_json::Value = serde_json::from_str(&file).unwrap();
    file["addresses"][0].as_str().unwrap().to_string()
}

/// Pays `coins` from dev key 0 to `address` and confirms it in a block.
fn fund(node: &Node, address: &str, coins: u64) {
    let k0 = node.spec.dev_key(0).unwrap();
    let utxos = node.chain.address_utxos(&lock_of(&k0), 10).unwrap();
    let to = node.spec.parse_address(address).unwrap().lock;
    let tx = transfer(
        &node.spec,
        &k0,
        &utxos[..1],
        vec![TxOut {
            amount: Amount::from_coins(coins).unwrap(),
            lock: to,
        }],
    );
    node.submit(tx).unwrap();
    node.produce_block().unwrap();
}

#[tokio::test]
async fn only_the_operator_key_logs_in_from_loopback_with_the_forms_token() {
    let s = Site::new(WalletOptions::default());
    // No session: the pages lead to the login form.
    let r = send(&s, "GET", "/wallet", None, None, LOCAL).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/wallet/login"));
    // Elsewhere than loopback: refused, whatever the key.
    let r = send(&s, "GET", "/wallet/login", None, None, [10, 0, 0, 7]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("loopback"), "{}", r.body);
    // The login page: never cached, the key never in it.
    let page = send(&s, "GET", "/wallet/login", None, None, LOCAL).await;
    assert_eq!(page.cache.as_deref(), Some("no-store"));
    assert!(page.body.contains("type=\"password\"") && !page.body.contains(OPERATOR));
    // Without the login page's token, or with another's: refused.
    let r = send(
        &s,
        "POST",
        "/wallet/login",
        None,
        Some(&format!("key={OPERATOR}")),
        LOCAL,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("load the login page again"));
    let token = field(&page.body, "login");
    let r = post(
        &s,
        "/wallet/login",
        "luminex_wallet_login=forged",
        &format!("key={OPERATOR}&login={token}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.set_cookie.is_empty());
    // The viewer key and a wrong key: a clear message, no session.
    let r = try_login(&s, VIEWER).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("viewer key may look"), "{}", r.body);
    let r = try_login(&s, "guess-guess-guess-guess").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("not the operator key"));
    // The operator key opens a session; the list is empty.
    let c = login(&s).await;
    let r = get(&s, "/wallet", &c).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("id=\"no-wallets\""));
    // Logging out needs the CSRF token too; afterwards the cookie is dead.
    let r = post(&s, "/wallet/logout", &c, "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let csrf = field(&get(&s, "/wallet", &c).await.body, "csrf");
    let r = post(&s, "/wallet/logout", &c, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = get(&s, "/wallet", &c).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Session expired"));
}

#[tokio::test]
async fn a_wallet_is_saved_only_once_its_phrase_is_typed_back() {
    let s = Site::new(WalletOptions::default());
    let c = login(&s).await;
    let csrf = field(&get(&s, "/wallet/create", &c).await.body, "csrf");
    let form = |name: &str, p1: &str, p2: &str| {
        format!(
            "name={name}&passphrase={}&passphrase2={}&csrf={csrf}",
            enc(p1),
            enc(p2)
        )
    };
    // Bad names and passphrases: the form again with the message.
    for (f, msg) in [
        (form("no/slash", PASS, PASS), "letters, digits"),
        (form("alice", "short", "short"), "at least 8"),
        (form("alice", PASS, "another one!"), "passphrases differ"),
    ] {
        let r = post(&s, "/wallet/create", &c, &f).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{f}");
        assert!(r.body.contains(msg), "{}", r.body);
        assert!(!r.body.contains("id=\"phrase\""));
    }
    // A phrase is shown once, never written before the check.
    let r = post(&s, "/wallet/create", &c, &form("alice", PASS, PASS)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.cache.as_deref(), Some("no-store"));
    let (words, asked) = phrase_and_asked(&r.body);
    assert_eq!((words.len(), asked.len()), (24, 3));
    assert!(s.files().is_empty());
    // Wrong words: not saved, asked again without the phrase.
    let wrong = "word0=zzz&word1=zzz&word2=zzz";
    let r = post(
        &s,
        "/wallet/create/confirm",
        &c,
        &format!("{wrong}&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("do not match") && !r.body.contains("id=\"phrase\""));
    assert_eq!(positions(&r.body), asked);
    assert!(s.files().is_empty());
    // Right words, but a forged token: refused, not saved.
    let right: Vec<String> = asked
        .iter()
        .enumerate()
        .map(|(i, n)| format!("word{i}={}", words[n - 1].to_uppercase()))
        .collect();
    let right = right.join("&");
    let r = post(
        &s,
        "/wallet/create/confirm",
        &c,
        &format!("{right}&csrf=forged"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("not this session"));
    assert!(s.files().is_empty());
    // Right words (in any case): written, unlocked, listed.
    let r = post(
        &s,
        "/wallet/create/confirm",
        &c,
        &format!("{right}&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/wallet/w/alice"));
    assert_eq!(s.files(), ["alice.json"]);
    let text = std::fs::read_to_string(s.wallets.dir().join("alice.json")).unwrap();
    assert!(
        !text.contains(&words.join(" ")),
        "the phrase is stored encrypted"
    );
    let r = get(&s, "/wallet", &c).await;
    assert!(r.body.contains("href=\"/wallet/w/alice\"") && r.body.contains("unlocked"));
    // A second confirmation has nothing to confirm; a second "alice" is refused.
    let r = post(
        &s,
        "/wallet/create/confirm",
        &c,
        &format!("{right}&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = post(&s, "/wallet/create", &c, &form("alice", PASS, PASS)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("exists already"));

    // The same phrase restores the same wallet; a bad phrase is refused.
    let restore = |name: &str, phrase: &str| {
        format!(
            "name={name}&phrase={}&passphrase={p}&passphrase2={p}&csrf={csrf}",
            enc(phrase),
            p = enc(PASS)
        )
    };
    let r = post(
        &s,
        "/wallet/restore",
        &c,
        &restore("bob", "not a phrase at all"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("not a valid recovery phrase"));
    assert_eq!(s.files(), ["alice.json"]);
    let r = post(&s, "/wallet/restore", &c, &restore("bob", &words.join(" "))).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let alice = get(&s, "/wallet/w/alice/receive", &c).await.body;
    let bob = get(&s, "/wallet/w/bob/receive", &c).await.body;
    let addr = |p: &str| {
        let at = p.find("id=\"receive-address\">").unwrap() + 21;
        p[at..at + p[at..].find('<').unwrap()].to_string()
    };
    assert_eq!(addr(&alice), addr(&bob));
}

#[tokio::test]
async fn unlocking_needs_the_passphrase_and_locking_forgets_the_keys() {
    let s = Site::new(WalletOptions::default());
    let c = login(&s).await;
    let address = create(&s, &c, "carol").await;
    let csrf = field(&get(&s, "/wallet", &c).await.body, "csrf");
    // Locked: the wallet's pages ask for the passphrase.
    let r = post(&s, "/wallet/w/carol/lock", &c, &format!("csrf={csrf}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = get(&s, "/wallet/w/carol", &c).await;
    assert!(r.body.contains("is locked") && !r.body.contains(&address));
    let r = get(&s, "/wallet/w/carol/history.csv", &c).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    // A wrong passphrase: a clear message, still locked.
    let r = post(
        &s,
        "/wallet/w/carol/unlock",
        &c,
        &format!("passphrase=wrong-wrong&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Wrong passphrase"));
    assert!(get(&s, "/wallet/w/carol", &c)
        .await
        .body
        .contains("is locked"));
    // The right one unlocks it.
    let r = post(
        &s,
        "/wallet/w/carol/unlock",
        &c,
        &format!("passphrase={}&csrf={csrf}", enc(PASS)),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = get(&s, "/wallet/w/carol", &c).await;
    assert!(r.body.contains(&address) && r.body.contains("id=\"balance\""));
    // An unknown wallet: 404 with a message.
    let r = get(&s, "/wallet/w/nobody", &c).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("no wallet named"));

    // Two sessions with the wallet unlocked: an address one derives is
    // the other's newest too, and neither drops the other's on saving.
    let c2 = login(&s).await;
    let csrf2 = field(&get(&s, "/wallet", &c2).await.body, "csrf");
    let r = post(
        &s,
        "/wallet/w/carol/unlock",
        &c2,
        &format!("passphrase={}&csrf={csrf2}", enc(PASS)),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let fresh = |c: String, csrf: String| {
        let s = &s;
        async move {
            let r = post(s, "/wallet/w/carol/receive", &c, &format!("csrf={csrf}")).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
            let p = get(s, "/wallet/w/carol/receive", &c).await.body;
            let at = p.find("id=\"receive-address\">").unwrap() + 21;
            p[at..at + p[at..].find('<').unwrap()].to_string()
        }
    };
    let second = fresh(c.clone(), csrf.clone()).await;
    let p = get(&s, "/wallet/w/carol/receive", &c2).await.body;
    assert!(
        p.contains(&second),
        "the other session sees the new address"
    );
    let third = fresh(c2.clone(), csrf2.clone()).await;
    let file = std::fs::read_to_string(s.wallets.dir().join("carol.json")).unwrap();
    let file: serde_json::Value = serde_json::from_str(&file).unwrap();
    let kept: Vec<&str> = file["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(kept, [address.as_str(), second.as_str(), third.as_str()]);

    // Wallets lock by themselves after idling.
    let s = Site::new(WalletOptions {
        lock_after: Duration::ZERO,
        ..WalletOptions::default()
    });
    let c = login(&s).await;
    create(&s, &c, "dave").await;
    let r = get(&s, "/wallet/w/dave", &c).await;
    assert!(r.body.contains("is locked"), "{}", r.body);
}

#[tokio::test]
async fn an_expired_session_gets_a_page_saying_so_and_changes_nothing() {
    let s = Site::new(WalletOptions {
        idle: Duration::ZERO,
        ..WalletOptions::default()
    });
    let c = login(&s).await;
    let r = get(&s, "/wallet", &c).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Session expired"));
    assert!(r.set_cookie[0].contains("Max-Age=0"));
    let r = post(
        &s,
        "/wallet/create",
        &c,
        &format!(
            "name=eve&passphrase={p}&passphrase2={p}&csrf=x",
            p = enc(PASS)
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(s.files().is_empty());
}

#[tokio::test]
async fn a_payment_is_shown_signed_sent_and_followed_to_its_block() {
    let s = Site::new(WalletOptions::default());
    let c = login(&s).await;
    let address = create(&s, &c, "frank").await;
    fund(&s.node, &address, 50);
    let page = get(&s, "/wallet/w/frank", &c).await.body;
    assert!(page.contains("<dd id=\"balance\">50</dd>"), "{page}");
    let csrf = field(&page, "csrf");
    let back = s
        .node
        .spec
        .address(lock_of(&s.node.spec.dev_key(1).unwrap()))
        .to_string();
    let pool = || s.node.mempool.read().len();
    let form = |to: &str, amount: &str, csrf: &str| {
        format!(
            "to={}&amount={}&fee_rate={}&csrf={csrf}",
            enc(to),
            enc(amount),
            s.node.spec.min_fee_rate
        )
    };

    // Bad input: the form again with a message; nothing planned or sent.
    for (f, status, msg) in [
        (
            form("lmxdev1notanaddress", "1", &csrf),
            StatusCode::BAD_REQUEST,
            "is not an address",
        ),
        (
            form(&back, "1.234567891", &csrf),
            StatusCode::BAD_REQUEST,
            "is not an amount",
        ),
        (
            form(&back, "0", &csrf),
            StatusCode::BAD_REQUEST,
            "is not an amount",
        ),
        (
            form(&back, "-3", &csrf),
            StatusCode::BAD_REQUEST,
            "is not an amount",
        ),
        (
            form(&back, "60", &csrf),
            StatusCode::UNPROCESSABLE_ENTITY,
            "more than the wallet can spend",
        ),
        // Past the largest amount: well formed, and more than there can be.
        (
            form(&back, "90000000000", &csrf),
            StatusCode::UNPROCESSABLE_ENTITY,
            "is more than there can ever be",
        ),
        (
            form(&back, "10000000000", &csrf),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Nothing changed",
        ),
        (
            form(&back, "1", "forged"),
            StatusCode::FORBIDDEN,
            "not this session",
        ),
        (
            format!("to={}&amount=1&fee_rate=1", enc(&back)),
            StatusCode::FORBIDDEN,
            "no security token",
        ),
        (
            format!("to={}&amount=1&fee_rate=0&csrf={csrf}", enc(&back)),
            StatusCode::BAD_REQUEST,
            "fee rate must be",
        ),
        // A rate within bounds whose fee (~0.5 coin) passes the ceiling.
        (
            format!("to={}&amount=1&fee_rate=10000&csrf={csrf}", enc(&back)),
            StatusCode::UNPROCESSABLE_ENTITY,
            "more than the 0.1 this wallet pays at most",
        ),
    ] {
        let r = post(&s, "/wallet/w/frank/send", &c, &f).await;
        assert_eq!(r.status, status, "{f}: {}", r.body);
        assert!(r.body.contains(msg), "{f}: {}", r.body);
        assert!(!r.body.contains("name=\"plan\""));
        assert_eq!(pool(), 0);
    }

    // The review shows inputs, outputs, fee and change; nothing is sent.
    let r = post(&s, "/wallet/w/frank/send", &c, &form(&back, "20", &csrf)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for part in [
        "id=\"review-inputs\"",
        "id=\"review-outputs\"",
        "id=\"review-fee\"",
        ">change<",
        ">payment<",
        &back,
    ] {
        assert!(r.body.contains(part), "{part}: {}", r.body);
    }
    assert_eq!(pool(), 0);
    let plan = field(&r.body, "plan");
    // "Change the payment" brings the form back filled in; nothing planned.
    assert!(r.body.contains("id=\"change-payment\""), "{}", r.body);
    let edit = format!(
        "to={}&amount={}&fee_rate={}&edit={}&csrf={csrf}",
        enc(&field(&r.body, "to")),
        enc(&field(&r.body, "amount")),
        field(&r.body, "fee_rate"),
        field(&r.body, "edit"),
    );
    let e = post(&s, "/wallet/w/frank/send", &c, &edit).await;
    assert_eq!(e.status, StatusCode::OK, "{}", e.body);
    assert!(!e.body.contains("name=\"plan\""), "{}", e.body);
    assert_eq!(field(&e.body, "to"), back);
    assert_eq!(field(&e.body, "amount"), "20");
    let rate = s.node.spec.min_fee_rate.to_string();
    assert_eq!(field(&e.body, "fee_rate"), rate);
    // Confirming needs the CSRF token and the plan's id.
    let r = post(
        &s,
        "/wallet/w/frank/send/confirm",
        &c,
        &format!("plan={plan}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post(
        &s,
        "/wallet/w/frank/send/confirm",
        &c,
        &format!("plan=0000&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("Nothing was sent"));
    assert_eq!(pool(), 0);
    // Confirmed: signed, sent, and followed.
    let r = post(
        &s,
        "/wallet/w/frank/send/confirm",
        &c,
        &format!("plan={plan}&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let status_path = r.location.unwrap();
    assert_eq!(pool(), 1);
    let txid = status_path.rsplit('/').next().unwrap().to_string();
    let r = get(&s, &status_path, &c).await;
    assert!(r.body.contains("data-status=\"pending\""), "{}", r.body);
    assert!(r.body.contains("data-live=\"tx\"") && r.body.contains(&txid));
    // The same plan cannot be sent twice.
    let r = post(
        &s,
        "/wallet/w/frank/send/confirm",
        &c,
        &format!("plan={plan}&csrf={csrf}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(pool(), 1);
    // The history and its CSV list it as pending, then confirmed.
    let csv = get(&s, "/wallet/w/frank/history.csv", &c).await;
    assert!(csv.content_type.starts_with("text/csv"));
    assert!(csv
        .body
        .starts_with("txid,status,height,received,sent,net\n"));
    assert!(
        csv.body.contains(&format!("{txid},pending,,")),
        "{}",
        csv.body
    );
    s.node.produce_block().unwrap();
    let r = get(&s, &status_path, &c).await;
    assert!(r.body.contains("data-status=\"confirmed\""), "{}", r.body);
    let csv = get(&s, "/wallet/w/frank/history.csv", &c).await.body;
    assert!(csv.contains(&format!("{txid},confirmed,")), "{csv}");
    let received = csv
        .lines()
        .find(|l| !l.contains(&txid) && l.contains(",confirmed,"))
        .unwrap();
    assert!(received.ends_with(",50,0,+50"), "{csv}");
    // The change came back to a change address the file keeps.
    let file = std::fs::read_to_string(s.wallets.dir().join("frank.json")).unwrap();
    let change: Vec<String> = serde_json::from_str::<serde_json::Value>(&file).unwrap()["change"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert_eq!(change.len(), 1);
    let page = get(&s, "/wallet/w/frank", &c).await.body;
    assert!(page.contains(&change[0]), "{page}");
    // A malformed txid on the status page: 400 with a message.
    let r = get(&s, "/wallet/w/frank/tx/xyz", &c).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("is not a transaction id"));
    // A transaction of the chain that is not the wallet's (the genesis
    // coinbase), and one the node does not know: 404 pages saying so.
    let genesis = s.node.spec.genesis_block().txs[0].txid();
    let r = get(&s, &format!("/wallet/w/frank/tx/{genesis}"), &c).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(r.body.contains("not this wallet"), "{}", r.body);
    assert!(!r.body.contains("data-status"), "{}", r.body);
    let unknown = "ab".repeat(32);
    let r = get(&s, &format!("/wallet/w/frank/tx/{unknown}"), &c).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    assert!(
        r.body.contains("does not know this transaction"),
        "{}",
        r.body
    );
    // The wallet's own payment is still shown.
    let r = get(&s, &status_path, &c).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("data-status=\"confirmed\""), "{}", r.body);
}

/// The wallet keeps other sites' pages out as the dashboard does: a page
/// reaching it under its own name (DNS rebinding) and a form another site
/// posts are refused before the wallet reads them; a body past 64 KiB is
/// refused unread.
#[tokio::test]
async fn other_sites_pages_are_kept_out_of_the_wallet() {
    let s = Site::new(WalletOptions::default());
    let raw = |method: &str, uri: &str, header: (&str, &str), body: String| {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header.0, header.1)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((LOCAL, 40_000))));
        s.router().oneshot(req)
    };
    let r = raw(
        "GET",
        "/wallet/login",
        ("host", "rebind.attacker.example"),
        String::new(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = raw(
        "GET",
        "/wallet/login",
        ("host", "127.0.0.1:8645"),
        String::new(),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let r = raw(
        "POST",
        "/wallet/login",
        ("origin", "http://attacker.example"),
        format!("key={OPERATOR}"),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let body = r.into_body().collect().await.unwrap().to_bytes();
    assert!(String::from_utf8_lossy(&body).contains("another site"));
    let r = raw(
        "POST",
        "/wallet/restore",
        ("sec-fetch-site", "same-origin"),
        format!("phrase={}", "abandon ".repeat(10_000)),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// A fee rate at which every coin costs more to spend than it holds: the
/// refusal says so and names what is spendable, not "can spend (0)".
#[tokio::test]
async fn a_fee_rate_that_leaves_every_coin_out_is_named() {
    let s = Site::new(WalletOptions::default());
    let c = login(&s).await;
    let address = create(&s, &c, "gina").await;
    fund(&s.node, &address, 1);
    let page = get(&s, "/wallet/w/gina/send", &c).await.body;
    let csrf = field(&page, "csrf");
    let back = s
        .node
        .spec
        .address(lock_of(&s.node.spec.dev_key(1).unwrap()))
        .to_string();
    let r = post(
        &s,
        "/wallet/w/gina/send",
        &c,
        &format!("to={}&amount=0.01&fee_rate=20000&csrf={csrf}", enc(&back)),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("worth less than the fee of spending it"),
        "{}",
        r.body
    );
    assert!(r.body.contains("(spendable now: 1)"), "{}", r.body);
    assert!(!r.body.contains("can spend now (0)"), "{}", r.body);
    assert_eq!(s.node.mempool.read().len(), 0);
}

/// Two payments to the wallet in one block: its history puts the later in
/// the block first, whatever their txids' order.
#[tokio::test]
async fn history_within_a_block_is_in_block_order() {
    use luminex_ledger::Coin;
    use luminex_primitives::OutPoint;
    let s = Site::new(WalletOptions::default());
    let c = login(&s).await;
    let address = create(&s, &c, "grace").await;
    let to = s.node.spec.parse_address(&address).unwrap().lock;
    let k0 = s.node.spec.dev_key(0).unwrap();
    let utxos = s.node.chain.address_utxos(&lock_of(&k0), 1).unwrap();
    // `a` pays the wallet with change to key 0; `b` spends that change
    // and pays the wallet again, so it comes later in the block. Pick
    // amounts so that ordering by txid would put `a` first.
    let (a, b) = (2..50)
        .find_map(|coins| {
            let pay = |n| TxOut {
                amount: Amount::from_coins(n).unwrap(),
                lock: to,
            };
            let a = transfer(&s.node.spec, &k0, &utxos, vec![pay(coins)]);
            let change = OutPoint {
                txid: a.txid(),
                vout: 1,
            };
            let coin = Coin {
                output: a.outputs[1],
                height: 0,
                is_coinbase: false,
            };
            let b = transfer(&s.node.spec, &k0, &[(change, coin)], vec![pay(1)]);
            (a.txid() < b.txid()).then_some((a, b))
        })
        .unwrap();
    let (ta, tb) = (a.txid(), b.txid());
    s.node.submit(a).unwrap();
    s.node.submit(b).unwrap();
    let block = s.node.produce_block().unwrap();
    let pos = |t| block.txs.iter().position(|x| x.txid() == t).unwrap();
    assert!(pos(ta) < pos(tb));
    let page = get(&s, "/wallet/w/grace", &c).await.body;
    let history = &page[page.find("id=\"history\"").unwrap()..];
    let at = |t: luminex_primitives::Hash| history.find(&format!("/tx/{t}")).unwrap();
    assert!(at(tb) < at(ta), "the later in the block first: {history}");
    let csv = get(&s, "/wallet/w/grace/history.csv", &c).await.body;
    let at = |t: luminex_primitives::Hash| csv.find(&t.to_string()).unwrap();
    assert!(at(tb) < at(ta), "{csv}");
}

/// A GET on a wallet form's address: a page with a link back to the
/// wallets, not an empty 405, when the browser asks for HTML.
#[tokio::test]
async fn a_get_on_a_forms_address_gets_a_page() {
    let s = Site::new(WalletOptions::default());
    let mut req = Request::builder()
        .uri("/wallet/w/anna/send/confirm?lang=de")
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((LOCAL, 40_000))));
    let r = s.router().oneshot(req).await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()[header::ALLOW], "POST");
    let body = r.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.contains("lang=\"de\""), "{body}");
    assert!(body.contains("Formular"), "{body}");
    assert!(body.contains("href=\"/wallet\""), "{body}");
}

/// Two files of one phrase: the change of a payment the first makes after
/// the second was restored goes to a change address the second never
/// derived. The second's page looks past its addresses, finds it, shows
/// the same balance, and keeps the address in its file.
#[tokio::test]
async fn a_restored_file_finds_the_change_another_file_of_its_phrase_used() {
    use luminex_primitives::{OutPoint, SchemeId};
    use luminex_wallet::Wallet;
    let s = Site::new(WalletOptions::default());
    let c = login(&s).await;
    let spec = s.node.spec.clone();
    let (mut ida, phrase) = Wallet::create(&spec, SchemeId::MlDsa65, PASS);
    let ida_path = s.wallets.dir().join("ida.json");
    std::fs::create_dir_all(s.wallets.dir()).unwrap();
    ida.save(&ida_path, true).unwrap();
    fund(&s.node, &ida.file.addresses[0], 50);
    let csrf = field(&get(&s, "/wallet/restore", &c).await.body, "csrf");
    let r = post(
        &s,
        "/wallet/restore",
        &c,
        &format!(
            "name=ida2&phrase={}&passphrase={p}&passphrase2={p}&csrf={csrf}",
            enc(&phrase),
            p = enc(PASS)
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // `ida` pays 20 back to key 0: 30 less the fee to change address 0.
    let coins: Vec<(OutPoint, TxOut)> = s
        .node
        .chain
        .address_utxos(&luminex_wallet::lock_of(&ida.keys()[0]), 10)
        .unwrap()
        .into_iter()
        .map(|(op, coin)| (op, coin.output))
        .collect();
    let back = lock_of(&s.node.spec.dev_key(0).unwrap());
    let amount = Amount::from_coins(20).unwrap();
    let tx = ida
        .pay(&spec, &coins, back, amount, spec.min_fee_rate)
        .unwrap();
    ida.save(&ida_path, false).unwrap();
    let change = tx.outputs[1].amount;
    s.node.submit(tx).unwrap();
    s.node.produce_block().unwrap();
    let page = get(&s, "/wallet/w/ida2", &c).await.body;
    assert!(
        page.contains(&format!("<dd id=\"balance\">{change}</dd>")),
        "{page}"
    );
    assert!(page.contains(&ida.file.change[0]), "{page}");
    let file = std::fs::read_to_string(s.wallets.dir().join("ida2.json")).unwrap();
    assert!(file.contains(&ida.file.change[0]), "kept in the file");
}
