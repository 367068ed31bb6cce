//! The operator's dashboard in process: login with each key, roles, CSRF,
//! idle expiry, loopback only, and the audit log across a restart.

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
use luminex_primitives::{Amount, Hash, TxOut};
use luminex_service::testkit::memory_node;
use luminex_service::Node;
use luminex_web::admin::{Admin, AdminOptions};
use tower::ServiceExt;

const OPERATOR: &str = "operator-key-0123456789abcdef";
const VIEWER: &str = "viewer-key-0123456789abcdef";

struct Dash {
    node: Arc<Node>,
    admin: Arc<Admin>,
    dir: tempfile::TempDir,
}

impl Dash {
    fn new(opts: AdminOptions) -> Dash {
        let dir = tempfile::tempdir().unwrap();
        let node = memory_node();
        let admin = Arc::new(Self::admin(&node, &dir, opts));
        Dash { node, admin, dir }
    }

    fn admin(node: &Arc<Node>, dir: &tempfile::TempDir, opts: AdminOptions) -> Admin {
        Admin::new(
            node.clone(),
            OPERATOR,
            VIEWER,
            dir.path().join("admin-audit.log"),
            "the key files",
            opts,
        )
        .unwrap()
    }

    /// The node restarted: new sessions, the same audit file.
    fn restart(&mut self) {
        self.admin = Arc::new(Self::admin(&self.node, &self.dir, AdminOptions::default()));
    }

    fn router(&self) -> Router {
        luminex_web::router_with_admin(self.node.clone(), ApiOptions::default(), self.admin.clone())
    }
}

struct Resp {
    status: StatusCode,
    csp: Option<String>,
    cache: Option<String>,
    location: Option<String>,
    set_cookie: Option<String>,
    content_type: String,
    body: String,
}

const LOCAL: [u8; 4] = [127, 0, 0, 1];

async fn send(
    d: &Dash,
    method: &str,
    uri: &str,
    cookie: Option<&str>,
    form: Option<&str>,
    from: Option<[u8; 4]>,
    extra: Option<(&str, &str)>,
) -> Resp {
    let mut b = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    if form.is_some() {
        b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    if let Some((k, v)) = extra {
        b = b.header(k, v);
    }
    let mut req = b
        .body(form.map_or_else(Body::empty, |f| Body::from(f.to_string())))
        .unwrap();
    if let Some(ip) = from {
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40_000))));
    }
    let resp = d.router().oneshot(req).await.unwrap();
    let h = |n| {
        resp.headers()
            .get(n)
            .map(|v: &axum::http::HeaderValue| v.to_str().unwrap().to_string())
    };
    let (location, set_cookie) = (h(header::LOCATION), h(header::SET_COOKIE));
    let (csp, cache) = (h(header::CONTENT_SECURITY_POLICY), h(header::CACHE_CONTROL));
    let content_type = h(header::CONTENT_TYPE).unwrap_or_default();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    Resp {
        status,
        csp,
        cache,
        location,
        set_cookie,
        content_type,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

async fn get(d: &Dash, uri: &str, cookie: Option<&str>) -> Resp {
    send(d, "GET", uri, cookie, None, Some(LOCAL), None).await
}

async fn post(d: &Dash, uri: &str, cookie: Option<&str>, form: &str) -> Resp {
    send(d, "POST", uri, cookie, Some(form), Some(LOCAL), None).await
}

/// Logs in; returns the `Cookie` header value.
async fn login(d: &Dash, key: &str) -> String {
    let r = post(d, "/admin/login", None, &format!("key={key}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location.as_deref(), Some("/admin"));
    let c = r.set_cookie.expect("a session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(c.contains(attr), "{c}");
    }
    c.split(';').next().unwrap().to_string()
}

/// The CSRF token in a page's forms.
fn csrf(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token");
    let rest = &page[at + 19..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn pending(node: &Node) -> Hash {
    let k0 = node.spec.dev_key(0).unwrap();
    let k1 = node.spec.dev_key(1).unwrap();
    let utxos = node.chain.address_utxos(&lock_of(&k0), 10).unwrap();
    let tx = transfer(
        &node.spec,
        &k0,
        &utxos[..1],
        vec![TxOut {
            amount: Amount::from_coins(5).unwrap(),
            lock: lock_of(&k1),
        }],
    );
    node.submit(tx).unwrap()
}

#[tokio::test]
async fn the_viewer_sees_the_operator_acts_and_the_audit_log_keeps_both() {
    let mut d = Dash::new(AdminOptions::default());
    let txid = pending(&d.node);

    // No session: the pages lead to the login form.
    let r = get(&d, "/admin", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/admin/login"));
    let r = get(&d, "/admin/login", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("type=\"password\""));
    assert!(!r.body.contains(OPERATOR) && !r.body.contains(VIEWER));
    // In German by the switch (which sets the cookie), with a way back.
    let german = Some(("accept-language", "en"));
    let r = send(
        &d,
        "GET",
        "/admin/login?lang=de",
        None,
        None,
        Some(LOCAL),
        german,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<html lang=\"de\">"));
    assert!(r.body.contains(">Anmelden</button>") && r.body.contains("Zugangsschlüssel"));
    assert!(r.body.contains("href=\"/admin/login?lang=en\""));
    assert!(r.set_cookie.unwrap().starts_with("luminex_lang=de;"));

    // A wrong key: a clear message, no session.
    let r = post(&d, "/admin/login", None, "key=guess-guess-guess-guess").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r
        .body
        .contains("neither the operator key nor the viewer key"));
    assert!(r.set_cookie.is_none());

    // The viewer sees every page.
    let viewer = login(&d, VIEWER).await;
    let home = get(&d, "/admin", Some(&viewer)).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    for figure in [
        "Version",
        "Uptime",
        "Role",
        "Height",
        "Sync",
        "Peers in / out",
        "CPU",
        "Memory",
        "Disk",
        "Mempool",
        "Accepted tx/s",
    ] {
        assert!(home.body.contains(figure), "{figure}");
    }
    assert!(home.body.contains("viewer key"));
    // Every dashboard answer: the pages' policy, never cached.
    for uri in [
        "/admin",
        "/admin/login",
        "/admin/mempool",
        "/admin/audit",
        "/admin/peers",
    ] {
        for cookie in [Some(viewer.as_str()), None] {
            let r = get(&d, uri, cookie).await;
            assert_eq!(
                r.csp.as_deref(),
                Some(luminex_web::CONTENT_SECURITY_POLICY),
                "{uri}"
            );
            assert_eq!(r.cache.as_deref(), Some("no-store"), "{uri}");
        }
    }
    let peers = get(&d, "/admin/peers", Some(&viewer)).await;
    assert_eq!(peers.status, StatusCode::OK);
    assert!(peers.body.contains("networking is off"));
    let pool = get(&d, "/admin/mempool", Some(&viewer)).await;
    assert!(
        pool.body.contains("href=\"/admin/mempool?lang=de\""),
        "the switch"
    );
    assert_eq!(pool.status, StatusCode::OK, "{}", pool.body);
    assert!(pool.body.contains(&format!("/tx/{txid}")), "{}", pool.body);
    assert!(
        pool.body.contains("By fee rate")
            && pool.body.contains("Largest")
            && pool.body.contains("Oldest")
    );

    // ... but cannot act, even with its own valid token.
    let token = csrf(&pool.body);
    let r = post(
        &d,
        "/admin/mempool/remove",
        Some(&viewer),
        &format!("txid={txid}&csrf={token}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("viewer key") && r.body.contains("Nothing was changed"));
    assert!(d.node.mempool.read().contains(&txid));

    // The operator can.
    let operator = login(&d, OPERATOR).await;
    let pool = get(&d, "/admin/mempool", Some(&operator)).await;
    let token = csrf(&pool.body);
    let r = post(
        &d,
        "/admin/mempool/remove",
        Some(&operator),
        &format!("txid={txid}&csrf={token}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("was removed from the mempool"));
    assert!(!d.node.mempool.read().contains(&txid));
    // Gone now: a clear message.
    let r = post(
        &d,
        "/admin/mempool/remove",
        Some(&operator),
        &format!("txid={txid}&csrf={token}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("no such transaction is pending"));
    // Peer actions need a network, and a well-formed address.
    let r = post(
        &d,
        "/admin/peers/add",
        Some(&operator),
        &format!("address=nonsense&csrf={token}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("is not a multiaddr"), "{}", r.body);
    // Nor an empty one (it parses, and names nothing), nor a long one.
    let long = "/ip4/1.2.3.4/tcp/1".repeat(100);
    for address in ["", long.as_str()] {
        let r = post(
            &d,
            "/admin/peers/add",
            Some(&operator),
            &format!("address={address}&csrf={token}"),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{address:?}");
        assert!(r.body.contains("is not a multiaddr"), "{}", r.body);
    }
    let r = post(
        &d,
        "/admin/peers/ban",
        Some(&operator),
        &format!("peer=12D3KooWabc&csrf={token}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("networking is off"));

    // The audit log, after a restart of the node.
    d.restart();
    let r = get(&d, "/admin/audit", Some(&operator)).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "sessions end with the node"
    );
    let operator = login(&d, OPERATOR).await;
    let audit = get(&d, "/admin/audit", Some(&operator)).await;
    assert_eq!(audit.status, StatusCode::OK);
    let entries = d.admin.audit().recent(100).unwrap();
    let summary: Vec<(String, String)> = entries
        .iter()
        .rev()
        .map(|e| (e.action.clone(), e.outcome.clone()))
        .collect();
    let expect = [
        ("login", "refused: not the operator or viewer key"),
        ("login", "done"),
        ("remove transaction", "refused: the viewer key cannot act"),
        ("login", "done"),
        ("remove transaction", "done"),
        ("remove transaction", "failed: no such transaction is pending (it may have been confirmed or removed already)"),
        ("add peer", "failed: “nonsense” is not a multiaddr (invalid multiaddr)"),
        ("add peer", "failed: “” is not a multiaddr (names no host, IP address or peer to dial)"),
        ("add peer", "failed: “/ip4/1.2.3.4/t….4/tcp/1” is not a multiaddr (longer than 512 bytes)"),
        ("ban peer", "failed: peer-to-peer networking is off on this node"),
        ("login", "done"),
    ];
    assert_eq!(
        summary,
        expect.map(|(a, o)| (a.to_string(), o.to_string())).to_vec()
    );
    // Newest first: the operator's removal, the viewer's refused one.
    assert!(
        entries[6].who.starts_with("operator key "),
        "{:?}",
        entries[6]
    );
    assert!(
        entries[8].who.starts_with("viewer key "),
        "{:?}",
        entries[8]
    );
    for e in &entries {
        assert!(!e.who.contains(OPERATOR) && !e.who.contains(VIEWER));
    }
    assert!(audit.body.contains("remove transaction") && audit.body.contains(&txid.to_string()));
    assert!(audit.body.contains("refused: the viewer key cannot act"));
    // Only the actions done: refusals and failures left out; one page, no
    // pager; a page number that is not one reads as the first page.
    let done = get(&d, "/admin/audit?only=done", Some(&operator)).await;
    assert_eq!(done.status, StatusCode::OK);
    assert!(done.body.contains("remove transaction"));
    assert!(
        !done.body.contains("refused: the viewer key cannot act"),
        "{}",
        done.body
    );
    assert!(!done.body.contains("rel=\"next\""));
    for bad in ["0", "x", "99999999999999999999"] {
        let r = get(&d, &format!("/admin/audit?page={bad}"), Some(&operator)).await;
        assert_eq!(r.status, StatusCode::OK, "{bad}");
        assert!(
            r.body.contains("refused: the viewer key cannot act"),
            "{bad}"
        );
    }
    let past = get(&d, "/admin/audit?page=2", Some(&operator)).await;
    assert!(past.body.contains("rel=\"prev\""));
    assert!(!past.body.contains("remove transaction"));
    assert!(past.body.contains("No older entries."));
}

#[tokio::test]
async fn a_missing_or_forged_csrf_token_or_no_session_changes_nothing() {
    let d = Dash::new(AdminOptions::default());
    let txid = pending(&d.node);
    let operator = login(&d, OPERATOR).await;
    let token = csrf(&get(&d, "/admin/mempool", Some(&operator)).await.body);

    let r = post(
        &d,
        "/admin/mempool/remove",
        Some(&operator),
        &format!("txid={txid}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("security token is missing"), "{}", r.body);
    let forged: String = token.chars().rev().collect();
    let r = post(
        &d,
        "/admin/mempool/remove",
        Some(&operator),
        &format!("txid={txid}&csrf={forged}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("security token is wrong"));
    // Another session's token is forged for this one.
    let other = login(&d, OPERATOR).await;
    let other_token = csrf(&get(&d, "/admin/mempool", Some(&other)).await.body);
    assert_ne!(other_token, token);
    let r = post(
        &d,
        "/admin/mempool/remove",
        Some(&operator),
        &format!("txid={txid}&csrf={other_token}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // No session at all.
    let r = post(
        &d,
        "/admin/mempool/remove",
        None,
        &format!("txid={txid}&csrf={token}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Not logged in"));
    // A GET does not act.
    let r = get(
        &d,
        &format!("/admin/mempool/remove?txid={txid}&csrf={token}"),
        Some(&operator),
    )
    .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert!(d.node.mempool.read().contains(&txid));

    let outcomes: Vec<String> = d
        .admin
        .audit()
        .recent(100)
        .unwrap()
        .into_iter()
        .map(|e| e.outcome)
        .collect();
    for why in [
        "refused: missing CSRF token",
        "refused: forged CSRF token",
        "refused: not logged in",
    ] {
        assert!(outcomes.iter().any(|o| o == why), "{why}: {outcomes:?}");
    }

    // Logging out needs the token too, and ends the session.
    let r = post(&d, "/admin/logout", Some(&operator), "").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post(
        &d,
        "/admin/logout",
        Some(&operator),
        &format!("csrf={token}"),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(r.set_cookie.unwrap().contains("Max-Age=0"));
    let r = get(&d, "/admin", Some(&operator)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_idle_session_expires_and_changes_nothing() {
    // Sessions that end at once: every request after login finds it expired.
    let d = Dash::new(AdminOptions {
        idle: Duration::ZERO,
        ..AdminOptions::default()
    });
    let txid = pending(&d.node);
    let operator = login(&d, OPERATOR).await;
    let r = get(&d, "/admin", Some(&operator)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Session expired"), "{}", r.body);
    assert!(r.set_cookie.unwrap().contains("Max-Age=0"));
    let r = post(
        &d,
        "/admin/mempool/remove",
        Some(&operator),
        &format!("txid={txid}&csrf=00"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body.contains("Session expired") && r.body.contains("Nothing was changed"));
    assert!(d.node.mempool.read().contains(&txid));
    assert_eq!(
        d.admin.audit().recent(1).unwrap()[0].outcome,
        "refused: session expired"
    );
}

#[tokio::test]
async fn only_loopback_clients_unless_allowed_and_the_api_keeps_its_json() {
    let d = Dash::new(AdminOptions::default());
    for (from, status) in [
        (Some([192, 0, 2, 7]), StatusCode::FORBIDDEN),
        (None, StatusCode::FORBIDDEN),
        (Some(LOCAL), StatusCode::OK),
    ] {
        let r = send(&d, "GET", "/admin/login", None, None, from, None).await;
        assert_eq!(r.status, status, "{from:?}");
        let r = send(&d, "GET", "/admin/mempool", None, None, from, None).await;
        assert_eq!(
            r.status == StatusCode::FORBIDDEN,
            status == StatusCode::FORBIDDEN,
            "{from:?}"
        );
    }
    let r = send(
        &d,
        "POST",
        "/admin/login",
        None,
        Some(&format!("key={OPERATOR}")),
        Some([192, 0, 2, 7]),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.set_cookie.is_none());
    assert!(r.body.contains("loopback"));
    assert_eq!(r.csp.as_deref(), Some(luminex_web::CONTENT_SECURITY_POLICY));

    let open = Dash::new(AdminOptions {
        allow_remote: true,
        ..AdminOptions::default()
    });
    let r = send(
        &open,
        "GET",
        "/admin/login",
        None,
        None,
        Some([192, 0, 2, 7]),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);

    // The REST API's /admin/mempool still answers API clients in JSON.
    let r = send(
        &d,
        "GET",
        "/admin/mempool",
        None,
        None,
        Some(LOCAL),
        Some(("x-api-key", "nope")),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.content_type.starts_with("application/problem+json"),
        "{}",
        r.content_type
    );
    // A browser gets the page (here: the way to the login form).
    let r = get(&d, "/admin/mempool", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location.as_deref(), Some("/admin/login"));
}

#[tokio::test]
async fn alerts_and_settings_render_for_the_viewer() {
    let dir = tempfile::tempdir().unwrap();
    let node = memory_node();
    let admin = Admin::new(
        node.clone(),
        OPERATOR,
        VIEWER,
        dir.path().join("admin-audit.log"),
        "the key files",
        AdminOptions::default(),
    )
    .unwrap()
    .with_settings(vec![
        ("rpc_user".into(), "alice (password redacted)".into()),
        ("admin_idle_minutes".into(), "15".into()),
    ]);
    let d = Dash {
        node,
        admin: Arc::new(admin),
        dir,
    };
    let viewer = login(&d, VIEWER).await;
    let r = get(&d, "/admin/alerts", Some(&viewer)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    for rule in [
        "LuminexNoNewBlocks",
        "LuminexMempoolNearlyFull",
        "LuminexPeerCountLow",
        "LuminexSlowBlockValidation",
    ] {
        assert!(r.body.contains(rule), "{rule}");
    }
    assert!(r.body.contains("networking is off"));
    assert!(r.body.contains("Recent warnings and errors"));
    let alerts = luminex_web::admin::alerts::evaluate(&d.admin);
    let state = |name: &str| {
        alerts
            .iter()
            .find(|a| a.name == name)
            .unwrap()
            .state
            .clone()
    };
    use luminex_web::admin::alerts::AlertState;
    assert_eq!(state("LuminexMempoolNearlyFull"), AlertState::Ok);
    assert_eq!(state("LuminexForkDetected"), AlertState::Ok);
    assert_eq!(state("LuminexInvalidBlocks"), AlertState::Ok);
    assert!(matches!(state("LuminexSyncLag"), AlertState::NotHere(_)));

    let r = get(&d, "/admin/settings", Some(&viewer)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("alice (password redacted)"));
    let r = get(&d, "/admin/settings", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "login first");
}

/// Guessing keys locks login: past the allowed wrong keys a minute every
/// login is refused with 429 and a Retry-After, the right key included,
/// and the lockout is audited once; when it ends the right key works.
#[tokio::test]
async fn wrong_keys_past_the_rate_lock_login_and_the_lockout_is_audited_once() {
    let d = Dash::new(AdminOptions {
        failed_logins_per_minute: 3,
        login_lockout: Duration::from_secs(3600),
        ..AdminOptions::default()
    });
    for _ in 0..3 {
        let r = post(&d, "/admin/login", None, "key=guess-guess-guess-guess").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    for key in [
        "guess-guess-guess-guess",
        OPERATOR,
        "another-wrong-key-here",
    ] {
        let r = post(&d, "/admin/login", None, &format!("key={key}")).await;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{key}");
        assert!(r.body.contains("login is locked"), "{}", r.body);
        assert!(r.set_cookie.is_none(), "no session while locked");
    }
    let entries = d.admin.audit().recent(100).unwrap();
    let locked = entries
        .iter()
        .filter(|e| e.outcome.contains("login locked"))
        .count();
    let wrong = entries
        .iter()
        .filter(|e| e.outcome == "refused: not the operator or viewer key")
        .count();
    assert_eq!((wrong, locked), (3, 1));

    // A lockout that ends at once: the right key logs in again.
    let d = Dash::new(AdminOptions {
        failed_logins_per_minute: 1,
        login_lockout: Duration::ZERO,
        ..AdminOptions::default()
    });
    let _ = post(&d, "/admin/login", None, "key=guess-guess-guess-guess").await;
    let r = post(&d, "/admin/login", None, "key=guess-guess-guess-guess").await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    login(&d, OPERATOR).await;
}

/// Another site's page cannot post to the dashboard (wrong keys to lock the
/// operator out, say) nor reach it under its own name (DNS rebinding); a
/// flood of requests without a session cannot rotate the audit log away,
/// and a form body past 64 KiB is refused unread.
#[tokio::test]
async fn other_sites_pages_are_kept_out_and_floods_cannot_rotate_the_audit_log() {
    let d = Dash::new(AdminOptions {
        failed_logins_per_minute: 3,
        login_lockout: Duration::from_secs(3600),
        ..AdminOptions::default()
    });
    let wrong = Some("key=guess-guess-guess-guess");
    for foreign in [
        ("sec-fetch-site", "cross-site"),
        ("sec-fetch-site", "same-site"),
        ("origin", "http://localhost:23080"),
        ("origin", "null"),
    ] {
        for _ in 0..5 {
            let r = send(
                &d,
                "POST",
                "/admin/login",
                None,
                wrong,
                Some(LOCAL),
                Some(foreign),
            )
            .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{foreign:?}");
            assert!(r.body.contains("another site"), "{}", r.body);
        }
    }
    // None of those counted as wrong keys: the operator still logs in,
    // from the node's own page (same origin).
    let r = send(
        &d,
        "POST",
        "/admin/login",
        None,
        Some(&format!("key={OPERATOR}")),
        Some(LOCAL),
        Some(("sec-fetch-site", "same-origin")),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    // A page reaching the node under its own name (the mempool page too,
    // which shares its address with the API's JSON), and under this
    // machine's.
    let as_host = |uri: &'static str, host: &'static str| {
        send(
            &d,
            "GET",
            uri,
            None,
            None,
            Some(LOCAL),
            Some(("host", host)),
        )
    };
    let r = as_host("/admin/login", "rebind.attacker.example:8645").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("this computer"), "{}", r.body);
    let r = as_host("/admin/mempool", "rebind.attacker.example:8645").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = as_host("/admin/login", "localhost:8645").await;
    assert_eq!(r.status, StatusCode::OK);

    // Many posts without a session, each naming a long address: a bounded
    // number of entries, each with a bounded subject, and the next one
    // recorded would say how many were not.
    let long = format!("address={}", "A".repeat(20_000));
    for _ in 0..100 {
        let r = post(&d, "/admin/peers/add", None, &long).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let entries = d.admin.audit().recent(1000).unwrap();
    let unsessioned: Vec<_> = entries
        .iter()
        .filter(|e| e.who == "not logged in")
        .collect();
    assert_eq!(
        unsessioned.len(),
        luminex_web::admin::LIMITED_AUDITS_PER_MINUTE as usize
    );
    for e in &unsessioned {
        assert!(
            e.subject.len() <= luminex_web::admin::audit::MAX_SUBJECT + '…'.len_utf8(),
            "{}",
            e.subject.len()
        );
    }
    // The operator's login is still there.
    assert!(entries
        .iter()
        .any(|e| e.action == "login" && e.outcome == "done"));
    // A form past 64 KiB: 413, nothing recorded.
    let huge = format!("address={}", "A".repeat(100_000));
    let r = post(&d, "/admin/peers/add", None, &huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(d.admin.audit().recent(1000).unwrap().len(), entries.len());
}

/// The viewer key cannot push the operator out: logging in again and
/// again ends the viewer's own older sessions, not the operator's, and its
/// refused attempts (like its logins) are recorded within a rate, so the
/// operator's entries stay in the audit log.
#[tokio::test]
async fn the_viewer_cannot_end_the_operators_session_or_flood_the_audit_log() {
    let d = Dash::new(AdminOptions::default());
    let operator = login(&d, OPERATOR).await;
    let mut viewer = String::new();
    for _ in 0..100 {
        viewer = login(&d, VIEWER).await;
    }
    let r = get(&d, "/admin", Some(&operator)).await;
    assert_eq!(r.status, StatusCode::OK, "the operator's session lives");
    for _ in 0..100 {
        let r = post(&d, "/admin/peers/ban", Some(&viewer), "peer=x&csrf=forged").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let entries = d.admin.audit().recent(1000).unwrap();
    let others = entries
        .iter()
        .filter(|e| !e.who.starts_with("operator"))
        .count();
    assert_eq!(
        others,
        luminex_web::admin::LIMITED_AUDITS_PER_MINUTE as usize
    );
    assert!(entries
        .iter()
        .any(|e| e.who.starts_with("operator") && e.action == "login"));
}

/// A form's address asked for with GET: a browser gets a page saying so,
/// with a link back and `Allow: POST`; a client not asking for HTML keeps
/// the bare 405.
#[tokio::test]
async fn a_get_on_a_forms_address_gets_a_page_when_html_is_asked_for() {
    let d = Dash::new(AdminOptions::default());
    let ask = |accept: Option<&'static str>| {
        let mut b = Request::builder().uri("/admin/mempool/remove");
        if let Some(a) = accept {
            b = b.header(header::ACCEPT, a);
        }
        let mut req = b.body(Body::empty()).unwrap();
        req.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((LOCAL, 40_000))));
        d.router().oneshot(req)
    };
    let r = ask(Some("text/html,application/xhtml+xml;q=0.9"))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    let h = |n| r.headers().get(n).unwrap().to_str().unwrap().to_string();
    assert_eq!(h(header::ALLOW), "POST");
    assert!(h(header::CONTENT_TYPE).starts_with("text/html"));
    assert_eq!(
        h(header::CONTENT_SECURITY_POLICY),
        luminex_web::CONTENT_SECURITY_POLICY
    );
    assert_eq!(h(header::CACHE_CONTROL), "no-store");
    let body = r.into_body().collect().await.unwrap().to_bytes();
    let body = String::from_utf8(body.to_vec()).unwrap();
    assert!(body.contains("takes a form"), "{body}");
    assert!(body.contains("href=\"/admin\""), "{body}");
    let r = ask(None).await.unwrap();
    assert_eq!(r.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.headers()[header::ALLOW], "POST");
    assert!(r.into_body().collect().await.unwrap().to_bytes().is_empty());
}

/// A login form sent as JSON, or larger than the node takes, is refused
/// with a page in the dashboard's words, not the framework's.
#[tokio::test]
async fn a_malformed_form_is_refused_in_the_pages_words() {
    let d = Dash::new(AdminOptions::default());
    let json = send(
        &d,
        "POST",
        "/admin/login",
        None,
        None,
        Some(LOCAL),
        Some(("content-type", "application/json")),
    )
    .await;
    assert_eq!(
        json.status,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "{}",
        json.body
    );
    assert!(
        json.body.contains("was not sent as a web form"),
        "{}",
        json.body
    );
    assert!(
        !json.body.contains("Form requests must have"),
        "{}",
        json.body
    );
    let big = format!("key={}", "a".repeat(70 * 1024));
    let r = post(&d, "/admin/login", None, &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    assert!(
        r.body.contains("larger than the node accepts"),
        "{}",
        r.body
    );
    assert!(!r.body.contains("Failed to buffer"), "{}", r.body);
}
