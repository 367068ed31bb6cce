//! The browser wallet under `/wallet`: the node's own wallet files (those
//! of `luminex wallet`, in `<chain dir>/wallets/`, encrypted as the CLI
//! writes them), listed, created, restored, unlocked, and used to receive
//! and send (docs/web.md).
//!
//! - **Who may reach it**: loopback clients only, unless configured
//!   ([`WalletOptions::allow_remote`]), as the dashboard.
//! - **Who may use it**: a browser logged in with the dashboard's operator
//!   key (the viewer key is refused: it may not spend). The session lives
//!   in its own `HttpOnly; SameSite=Strict; Path=/wallet` cookie and ends
//!   after [`WalletOptions::idle`]; the login form itself carries a token
//!   bound to a cookie, and every other form the session's CSRF token.
//! - **Keys never leave the node.** Unlocking a wallet decrypts it in the
//!   node's memory, tied to the session; the browser gets addresses,
//!   amounts and transaction ids, never a key. The recovery phrase is shown
//!   once, on creation, and the wallet is written only after the user has
//!   typed back three of its words. An unlocked wallet locks again after
//!   [`WalletOptions::lock_after`] without use, on logout, and when the
//!   session ends.
//! - **Nothing secret in a URL or the log**: passphrases, phrases and keys
//!   travel in POST bodies only, and no handler logs them.
//! - **Sending** is two steps: the form plans the payment (coins, fee,
//!   change) and shows exactly what will be signed; only the confirmation
//!   of that plan, by its one-time id, signs and broadcasts it.

mod funds;
mod manage;
mod send;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use luminex_service::Node;
use luminex_wallet::{PaymentPlan, Wallet};
use maud::{html, Markup};
use parking_lot::Mutex;

use crate::admin::access::{self, Keys, LoginThrottle, Lookup, Role, Session, Sessions};
use crate::i18n::{t, t_args};

/// The wallet's session cookie.
pub const SESSION_COOKIE: &str = "luminex_wallet";

/// The cookie binding the login form to the browser that fetched it.
const LOGIN_COOKIE: &str = "luminex_wallet_login";

/// How the wallet pages are reached and guarded.
#[derive(Debug, Clone)]
pub struct WalletOptions {
    /// Serve `/wallet` to clients other than loopback (off by default: put
    /// a TLS proxy in front before turning it on).
    pub allow_remote: bool,
    /// A session ends after this long without a request.
    pub idle: Duration,
    /// An unlocked wallet locks again after this long without use.
    pub lock_after: Duration,
    /// Wrong keys accepted per minute before login locks.
    pub failed_logins_per_minute: u32,
    /// How long login stays locked once the wrong keys exceed the rate.
    pub login_lockout: Duration,
}

impl Default for WalletOptions {
    fn default() -> WalletOptions {
        WalletOptions {
            allow_remote: false,
            idle: Duration::from_secs(15 * 60),
            lock_after: Duration::from_secs(5 * 60),
            failed_logins_per_minute: 10,
            login_lockout: Duration::from_secs(60),
        }
    }
}

/// A wallet unlocked by a session.
struct Open {
    wallet: Wallet,
    last_used: Instant,
}

/// A wallet being created: its phrase was shown; it is written once the
/// user has typed back the words at `check` (0-based positions).
struct Creating {
    name: String,
    wallet: Wallet,
    check: [usize; 3],
    /// The words at `check`.
    answers: [zeroize::Zeroizing<String>; 3],
}

/// A payment planned and shown, waiting for its confirmation.
struct Planned {
    wallet: String,
    plan: PaymentPlan,
}

/// What a session holds on the node's side.
#[derive(Default)]
struct Held {
    open: HashMap<String, Open>,
    creating: Option<Creating>,
    planned: HashMap<String, Planned>,
    last_seen: Option<Instant>,
}

/// The wallet pages' state.
pub struct Wallets {
    node: Arc<Node>,
    dir: PathBuf,
    keys: Keys,
    sessions: Sessions,
    throttle: LoginThrottle,
    opts: WalletOptions,
    key_file: String,
    /// Per session id: unlocked wallets, a creation in progress, planned
    /// payments. Dropped with the session.
    held: Mutex<HashMap<String, Held>>,
}

impl Wallets {
    /// The wallet pages of `node` over the wallet files in `dir`, with a
    /// login by the dashboard's operator key (`viewer_key` is recognised
    /// only to be refused by name); `key_file` is where the operator key
    /// is kept, named on the login page (never the key).
    pub fn new(
        node: Arc<Node>,
        dir: impl Into<PathBuf>,
        operator_key: &str,
        viewer_key: &str,
        key_file: impl Into<String>,
        opts: WalletOptions,
    ) -> Result<Wallets, String> {
        let per_minute = std::num::NonZeroU32::new(opts.failed_logins_per_minute)
            .ok_or("failed_logins_per_minute must be at least 1")?;
        Ok(Wallets {
            node,
            dir: dir.into(),
            keys: Keys::new(operator_key, viewer_key)?,
            sessions: Sessions::for_cookie(opts.idle, SESSION_COOKIE, "/wallet"),
            throttle: LoginThrottle::new(per_minute, opts.login_lockout),
            key_file: key_file.into(),
            opts,
            held: Mutex::new(HashMap::new()),
        })
    }

    /// The directory of the wallet files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path_of(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.json"))
    }

    /// The session of a request, with its id; an expired one's holdings are
    /// dropped.
    fn session(&self, headers: &HeaderMap) -> (Lookup, Option<String>) {
        let cookie = cookie_header(headers);
        let id = self.sessions.id_in(cookie.as_deref()).map(str::to_string);
        let l = self.sessions.lookup(cookie.as_deref());
        if let (Lookup::Expired, Some(id)) = (&l, &id) {
            self.held.lock().remove(id);
        }
        (l, id)
    }

    /// Runs `f` on what session `id` holds, after locking wallets idle too
    /// long and dropping the holdings of sessions idle past their end.
    fn with_held<R>(&self, id: &str, f: impl FnOnce(&mut Held) -> R) -> R {
        let mut all = self.held.lock();
        let now = Instant::now();
        let (idle, lock_after) = (self.opts.idle, self.opts.lock_after);
        all.retain(|k, h| k == id || h.last_seen.is_some_and(|t| now - t < idle));
        let h = all.entry(id.to_string()).or_default();
        h.last_seen = Some(now);
        h.open.retain(|_, o| now - o.last_used < lock_after);
        f(h)
    }
}

fn cookie_header(headers: &HeaderMap) -> Option<String> {
    let c = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ");
    (!c.is_empty()).then_some(c)
}

/// The wallet pages' routes (merge into the node's router).
pub fn routes(w: Arc<Wallets>) -> Router {
    Router::new()
        .route("/wallet", get(manage::list))
        .route("/wallet/login", get(login_form).post(login))
        .route("/wallet/logout", post(logout))
        .route(
            "/wallet/create",
            get(manage::create_form).post(manage::create),
        )
        .route("/wallet/create/confirm", post(manage::confirm_created))
        .route(
            "/wallet/restore",
            get(manage::restore_form).post(manage::restore),
        )
        .route("/wallet/w/{name}", get(funds::overview))
        .route("/wallet/w/{name}/unlock", post(manage::unlock))
        .route("/wallet/w/{name}/lock", post(manage::lock))
        .route(
            "/wallet/w/{name}/receive",
            get(funds::receive).post(funds::fresh_address),
        )
        .route("/wallet/w/{name}/history.csv", get(funds::history_csv))
        .route("/wallet/w/{name}/send", get(send::form).post(send::plan))
        .route("/wallet/w/{name}/send/confirm", post(send::confirm))
        .route("/wallet/w/{name}/tx/{txid}", get(send::status))
        .route_layer(from_fn_with_state(w.clone(), guard))
        .route_layer(axum::extract::DefaultBodyLimit::max(
            crate::origin::MAX_FORM_BYTES,
        ))
        .route_layer(from_fn(crate::i18n::middleware))
        .route_layer(from_fn_with_state(w.node.clone(), luminex_api::track))
        .with_state(w)
        // A form's address asked for with GET: a page, not a bare 405.
        .layer(from_fn(crate::form_only_page))
}

/// Loopback only (unless allowed) and never cached.
async fn guard(State(w): State<Arc<Wallets>>, req: Request, next: Next) -> Response {
    let local = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .is_some_and(|ConnectInfo(a)| a.ip().is_loopback());
    let mut resp = if w.opts.allow_remote || local {
        match crate::origin::check(&req, w.opts.allow_remote) {
            Ok(()) => next.run(req).await,
            Err(why) => {
                let (title, message) = why.text();
                problem(StatusCode::FORBIDDEN, &title, &message)
            }
        }
    } else {
        problem(
            StatusCode::FORBIDDEN,
            &t("wallet-remote-title"),
            &t("wallet-remote-message"),
        )
    };
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    crate::set_security_headers(resp.headers_mut());
    resp
}

/// A refusal or failure: its own page saying what happened and that
/// nothing changed, with a way on.
pub(crate) fn problem(status: StatusCode, title: &str, message: &str) -> Response {
    let body = html! {
        section.problem role="alert" {
            h1 { (title) }
            p.message #problem-message { (message) }
            p { a href="/wallet" { (t("wallet-back-to-wallets")) } }
        }
    };
    (
        status,
        crate::layout::page(title, crate::layout::Live::None, body),
    )
        .into_response()
}

/// `resp` with `status`.
fn with_status(status: StatusCode, mut resp: Response) -> Response {
    *resp.status_mut() = status;
    resp
}

/// The page of a blocking task (key derivation, encryption) that died.
fn task_failed() -> Response {
    problem(
        StatusCode::INTERNAL_SERVER_ERROR,
        &t("wallet-not-done"),
        &t("error-page-not-built"),
    )
}

/// A wallet page's session and the wallet its path names, or the page to
/// show instead.
fn viewing(
    w: &Wallets,
    headers: &HeaderMap,
    p: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
) -> Result<(Visitor, String), Box<Response>> {
    let v = visitor(w, headers)?;
    Ok((v, manage::wallet_name(w, p)?))
}

/// A wallet form's fields, its session (CSRF token checked) and the wallet
/// its path names, or the refusal page.
fn acting(
    w: &Wallets,
    headers: &HeaderMap,
    p: Result<axum::extract::Path<String>, axum::extract::rejection::PathRejection>,
    f: FormResult,
) -> Result<(HashMap<String, String>, Visitor, String), Box<Response>> {
    let (form, v) = checked(w, headers, f)?;
    Ok((form, v, manage::wallet_name(w, p)?))
}

/// A session with its id, or the page to show instead.
pub(crate) struct Visitor {
    id: String,
    session: Session,
}

/// The session of a page view: a live one, or the page to show instead (the
/// login form's address, or a page saying the session expired).
fn visitor(w: &Wallets, headers: &HeaderMap) -> Result<Visitor, Box<Response>> {
    match w.session(headers) {
        (Lookup::Active(session), Some(id)) => Ok(Visitor { id, session }),
        (Lookup::Expired, _) => Err(Box::new(expired(w))),
        _ => Err(Box::new(Redirect::to("/wallet/login").into_response())),
    }
}

fn expired(w: &Wallets) -> Response {
    let mut r = problem(
        StatusCode::UNAUTHORIZED,
        &t("wallet-expired-title"),
        &t_args(
            "wallet-expired-message",
            [("minutes", (w.opts.idle.as_secs() / 60).into())],
        ),
    );
    if let Ok(v) = HeaderValue::from_str(&w.sessions.clear_cookie()) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// Checks a form: a live session and its CSRF token. A refusal is the page
/// to show; nothing has changed.
fn authorize(
    w: &Wallets,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Visitor, Box<Response>> {
    let v = match w.session(headers) {
        (Lookup::Active(session), Some(id)) => Visitor { id, session },
        (Lookup::Expired, _) => return Err(Box::new(expired(w))),
        _ => {
            return Err(Box::new(problem(
                StatusCode::UNAUTHORIZED,
                &t("wallet-not-logged-in-title"),
                &t("wallet-not-logged-in-message"),
            )))
        }
    };
    if !v.session.csrf_ok(form.get("csrf").map(String::as_str)) {
        return Err(Box::new(problem(
            StatusCode::FORBIDDEN,
            &t("wallet-form-refused-title"),
            &t(if form.contains_key("csrf") {
                "wallet-form-token-wrong"
            } else {
                "wallet-form-token-missing"
            }),
        )));
    }
    Ok(v)
}

type FormResult =
    Result<axum::Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>;

/// The fields of a POST, or a page saying the form is malformed.
fn form_fields(f: FormResult) -> Result<HashMap<String, String>, Box<Response>> {
    f.map(|axum::Form(m)| m).map_err(|e| {
        let message = crate::error::form_refusal(e.status());
        Box::new(problem(e.status(), &t("error-bad-request"), &message))
    })
}

/// A wallet's name: letters, digits, `-` and `_`, as the CLI accepts.
pub(crate) fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// `GET /wallet/login`: the login form, bound to this browser by a cookie.
async fn login_form(State(w): State<Arc<Wallets>>, headers: HeaderMap) -> Response {
    if let (Lookup::Active(_), _) = w.session(&headers) {
        return Redirect::to("/wallet").into_response();
    }
    login_page(&w, StatusCode::OK, None)
}

fn login_page(w: &Wallets, status: StatusCode, error: Option<&str>) -> Response {
    let token = access::random_hex();
    let body = html! {
        h1 { (t("wallet-title")) }
        @if let Some(e) = error {
            p.problem role="alert" #login-error { (e) }
        }
        form.admin-login method="post" action="/wallet/login" {
            p {
                label for="key" { (t("wallet-operator-key")) }
                input #key type="password" name="key" required autocomplete="off" spellcheck="false";
            }
            input type="hidden" name="login" value=(token);
            button type="submit" { (t("admin-log-in")) }
        }
        p.note {
            (t("wallet-key-note-before")) " "
            code { (w.key_file) } " " (t("wallet-key-note-after"))
        }
    };
    let mut r = (
        status,
        crate::layout::page(&t("wallet-log-in"), crate::layout::Live::None, body),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LOGIN_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/wallet"
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// `POST /wallet/login`: the operator key opens a session.
async fn login(State(w): State<Arc<Wallets>>, headers: HeaderMap, f: FormResult) -> Response {
    let form = match form_fields(f) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    // The form's token must be the one its page set in this browser.
    let cookie = cookie_header(&headers);
    let bound = cookie
        .as_deref()
        .and_then(|c| access::cookie_value(c, LOGIN_COOKIE));
    let sent = form.get("login").map(String::as_str);
    if bound.is_none() || sent.is_none() || bound != sent {
        return problem(
            StatusCode::FORBIDDEN,
            &t("wallet-form-refused-title"),
            &t("wallet-login-token"),
        );
    }
    if w.throttle.is_locked() {
        return locked_page(&w);
    }
    let presented = form.get("key").map(String::as_str).unwrap_or("");
    match w.keys.check(presented) {
        Some((Role::Operator, fp)) => {
            let (id, _) = w.sessions.open(Role::Operator, fp);
            tracing::info!("wallet pages: logged in with the operator key");
            let mut resp = Redirect::to("/wallet").into_response();
            if let Ok(v) = HeaderValue::from_str(&w.sessions.set_cookie(&id)) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Some((Role::Viewer, _)) => {
            login_page(&w, StatusCode::FORBIDDEN, Some(&t("wallet-viewer-refused")))
        }
        None => {
            if w.throttle.failed() {
                tracing::warn!("wallet pages: too many wrong keys, login locked");
                return locked_page(&w);
            }
            login_page(&w, StatusCode::UNAUTHORIZED, Some(&t("wallet-wrong-key")))
        }
    }
}

fn locked_page(w: &Wallets) -> Response {
    let secs = w.throttle.retry_after_secs();
    let mut resp = login_page(
        w,
        StatusCode::TOO_MANY_REQUESTS,
        Some(&t_args("admin-locked", [("secs", secs.into())])),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// `POST /wallet/logout`: ends the session and locks its wallets.
async fn logout(State(w): State<Arc<Wallets>>, headers: HeaderMap, f: FormResult) -> Response {
    let form = match form_fields(f) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let v = match authorize(&w, &headers, &form) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    w.held.lock().remove(&v.id);
    w.sessions.close(cookie_header(&headers).as_deref());
    let mut resp = Redirect::to("/wallet/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&w.sessions.clear_cookie()) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// The wallet pages' frame: the way back to the list, the logout button.
fn frame(title: &str, v: &Visitor, body: Markup) -> Response {
    frame_live(title, v, crate::layout::Live::None, body)
}

/// [`frame`] around a page that follows `live` over the WebSocket.
fn frame_live(title: &str, v: &Visitor, live: crate::layout::Live, body: Markup) -> Response {
    let page = html! {
        nav.admin aria-label=(t("wallet-title")) {
            ul {
                li { a href="/wallet" { (t("wallet-nav-wallets")) } }
                li { a href="/wallet/create" { (t("wallet-nav-create")) } }
                li { a href="/wallet/restore" { (t("wallet-nav-restore")) } }
            }
            form.logout method="post" action="/wallet/logout" {
                (csrf_field(v))
                button type="submit" { (t("admin-log-out")) }
            }
        }
        (body)
    };
    crate::layout::page(title, live, page).into_response()
}

/// The hidden CSRF field of a session's forms.
fn csrf_field(v: &Visitor) -> Markup {
    html! { input type="hidden" name="csrf" value=(v.session.csrf); }
}

/// A POST's fields and the session, checked; or the refusal page.
fn checked(
    w: &Wallets,
    headers: &HeaderMap,
    f: FormResult,
) -> Result<(HashMap<String, String>, Visitor), Box<Response>> {
    let form = form_fields(f)?;
    let v = authorize(w, headers, &form)?;
    Ok((form, v))
}
