//! The operator's dashboard under `/admin`: monitoring, peers, mempool and
//! the audit log, behind a login with two keys (docs/web.md).
//!
//! - **Who may reach it**: loopback clients only, unless the node is
//!   configured to allow others ([`AdminOptions::allow_remote`]).
//! - **Who may see it**: a browser logged in with the viewer or the
//!   operator key ([`access`]); sessions end after idling.
//! - **Who may act**: the operator key only. Every action is a POST from a
//!   form carrying the session's CSRF token; a missing or forged token, an
//!   expired session or a viewer's attempt gets a page saying so and changes
//!   nothing. Every attempt, done or refused, goes to the audit log
//!   ([`audit`]).
//! - **Guessing**: past [`AdminOptions::failed_logins_per_minute`] wrong
//!   keys, login is refused for [`AdminOptions::login_lockout`], the right
//!   key included, and the lockout is audited once (not every refused
//!   attempt: the audit log is fsynced and must not become a way to fill
//!   the disk).

pub mod access;
pub mod alerts;
pub mod audit;
mod pages;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use luminex_service::Node;
use maud::{html, Markup};
use parking_lot::Mutex;

use crate::i18n::{t, t_args};

use access::{Keys, Lookup, Role, Session, Sessions};
use audit::{AuditLog, Entry};

/// How the dashboard is reached and guarded.
#[derive(Debug, Clone)]
pub struct AdminOptions {
    /// Serve `/admin` to clients other than loopback (off by default: put
    /// a TLS proxy in front before turning it on).
    pub allow_remote: bool,
    /// A session ends after this long without a request.
    pub idle: Duration,
    /// Wrong keys accepted per minute (a burst of this many, then one every
    /// 60/n seconds) before login locks.
    pub failed_logins_per_minute: u32,
    /// How long login stays locked once the wrong keys exceed the rate.
    pub login_lockout: Duration,
}

impl Default for AdminOptions {
    fn default() -> AdminOptions {
        AdminOptions {
            allow_remote: false,
            idle: Duration::from_secs(15 * 60),
            failed_logins_per_minute: 10,
            login_lockout: Duration::from_secs(60),
        }
    }
}

/// The dashboard's state: keys, sessions, audit log.
pub struct Admin {
    node: Arc<Node>,
    keys: Keys,
    sessions: Sessions,
    audit: AuditLog,
    opts: AdminOptions,
    /// Where the keys are kept, named on the login page.
    key_files: String,
    /// The last reading of (time, CPU seconds, transactions accepted), for
    /// rates between two views of the monitoring page.
    sample: Mutex<Option<(Instant, f64, u64)>>,
    /// The node's effective configuration, secrets already redacted.
    settings: Vec<(String, String)>,
    /// Wrong keys presented at login, against their allowed rate.
    throttle: access::LoginThrottle,
    /// Entries not made by the operator (refusals, viewer logins) written
    /// to the audit log, against their allowed rate
    /// ([`LIMITED_AUDITS_PER_MINUTE`]).
    limited: governor::DefaultDirectRateLimiter,
    /// Those past the rate since the last one written.
    limited_skipped: std::sync::atomic::AtomicU64,
}

/// Audit entries that anyone, or a viewer, can cause (every refusal, a
/// viewer's login) written per minute at most; past that they are counted,
/// and the next one written says how many were not. The operator's own
/// actions are always written, and a flood of the others cannot rotate
/// them out of the log quickly.
pub const LIMITED_AUDITS_PER_MINUTE: u32 = 30;

impl Admin {
    /// The dashboard of `node` with these keys, an audit log in
    /// `audit_path`, and `key_files` (where the keys are kept, shown on the
    /// login page: never the keys).
    pub fn new(
        node: Arc<Node>,
        operator_key: &str,
        viewer_key: &str,
        audit_path: impl Into<PathBuf>,
        key_files: impl Into<String>,
        opts: AdminOptions,
    ) -> Result<Admin, String> {
        let per_minute = std::num::NonZeroU32::new(opts.failed_logins_per_minute)
            .ok_or("failed_logins_per_minute must be at least 1")?;
        Ok(Admin {
            throttle: access::LoginThrottle::new(per_minute, opts.login_lockout),
            node,
            keys: Keys::new(operator_key, viewer_key)?,
            sessions: Sessions::new(opts.idle),
            audit: AuditLog::new(audit_path),
            opts,
            key_files: key_files.into(),
            sample: Mutex::new(None),
            settings: Vec::new(),
            limited: governor::RateLimiter::direct(governor::Quota::per_minute(
                std::num::NonZeroU32::new(LIMITED_AUDITS_PER_MINUTE).expect("positive"),
            )),
            limited_skipped: std::sync::atomic::AtomicU64::new(0),
        })
    }

    /// The node's effective configuration for the settings page, as
    /// (name, value) pairs. The caller redacts secrets: this is shown as
    /// given to both roles.
    pub fn with_settings(mut self, settings: Vec<(String, String)>) -> Admin {
        self.settings = settings;
        self
    }

    /// The audit log.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// Writes `e` to the audit log within [`LIMITED_AUDITS_PER_MINUTE`]:
    /// past the rate it is only counted, and the next written says how many
    /// were not.
    fn record_limited(&self, mut e: Entry) {
        use std::sync::atomic::Ordering::Relaxed;
        if self.limited.check().is_err() {
            self.limited_skipped.fetch_add(1, Relaxed);
            return;
        }
        let skipped = self.limited_skipped.swap(0, Relaxed);
        if skipped > 0 {
            e.outcome = format!(
                "{} ({skipped} more refusals or viewer logins before this were not recorded)",
                e.outcome
            );
        }
        self.audit.record(&e);
    }

    fn session(&self, headers: &HeaderMap) -> Lookup {
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join("; ");
        self.sessions
            .lookup((!cookie.is_empty()).then_some(cookie.as_str()))
    }
}

/// The dashboard's routes (merge into the node's router with
/// [`crate::router_with_admin`], which also serves `GET /admin/mempool`).
pub(crate) fn routes(admin: Arc<Admin>) -> Router {
    Router::new()
        .route("/admin", get(pages::overview))
        .route("/admin/login", get(login_form).post(login))
        .route("/admin/logout", post(logout))
        .route("/admin/peers", get(pages::peers))
        .route("/admin/peers/add", post(pages::add_peer))
        .route("/admin/peers/disconnect", post(pages::disconnect))
        .route("/admin/peers/ban", post(pages::ban))
        .route("/admin/mempool/remove", post(pages::remove_tx))
        .route("/admin/audit", get(pages::audit_page))
        .route("/admin/alerts", get(alerts::alerts_page))
        .route("/admin/settings", get(pages::settings))
        .route_layer(from_fn_with_state(admin.clone(), guard))
        .route_layer(axum::extract::DefaultBodyLimit::max(
            crate::origin::MAX_FORM_BYTES,
        ))
        .route_layer(from_fn(crate::i18n::middleware))
        .route_layer(from_fn_with_state(admin.node.clone(), luminex_api::track))
        .with_state(admin)
        // A form's address asked for with GET: a page, not a bare 405.
        .layer(from_fn(crate::form_only_page))
}

/// Whether a request is for the mempool page rather than the REST API's
/// `GET /admin/mempool` (JSON for an API key): a GET without an API key.
pub(crate) fn is_mempool_page(req: &Request) -> bool {
    req.method() == Method::GET
        && req.uri().path() == "/admin/mempool"
        && !req.headers().contains_key("x-api-key")
        && !req.headers().contains_key(header::AUTHORIZATION)
}

/// Serves the mempool page where the REST API has its JSON route: a
/// browser's request (no API key) gets the page, an API client the JSON.
pub(crate) async fn mempool_switch(
    State(admin): State<Arc<Admin>>,
    req: Request,
    next: Next,
) -> Response {
    if !is_mempool_page(&req) {
        return next.run(req).await;
    }
    let chosen = crate::i18n::Chosen::of(&req);
    let refused = is_remote_refused(&admin, &req);
    let foreign = crate::origin::check(&req, admin.opts.allow_remote).err();
    let headers = req.headers().clone();
    let mut resp = chosen
        .render(async move {
            if refused {
                remote_refusal()
            } else if let Some(why) = foreign {
                let (title, message) = why.text();
                Problem::new(StatusCode::FORBIDDEN, title, message).into_response()
            } else {
                pages::mempool(State(admin), headers).await
            }
        })
        .await;
    private(resp.headers_mut());
    resp
}

/// Loopback only (unless allowed) and never cached.
async fn guard(State(admin): State<Arc<Admin>>, req: Request, next: Next) -> Response {
    let mut resp = match refuse_remote(&admin, &req) {
        Some(refused) => refused,
        None => match crate::origin::check(&req, admin.opts.allow_remote) {
            Ok(()) => next.run(req).await,
            Err(why) => {
                let (title, message) = why.text();
                Problem::new(StatusCode::FORBIDDEN, title, message).into_response()
            }
        },
    };
    private(resp.headers_mut());
    resp
}

/// No caching, and the pages' security headers (Content-Security-Policy,
/// no framing, no sniffing, no referrer).
fn private(h: &mut HeaderMap) {
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    crate::set_security_headers(h);
}

fn refuse_remote(admin: &Admin, req: &Request) -> Option<Response> {
    is_remote_refused(admin, req).then(remote_refusal)
}

/// Whether `req` comes from elsewhere than loopback while that is not
/// allowed.
fn is_remote_refused(admin: &Admin, req: &Request) -> bool {
    !admin.opts.allow_remote
        && !req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .is_some_and(|ConnectInfo(a)| a.ip().is_loopback())
}

/// The page refusing a client that is not on loopback.
fn remote_refusal() -> Response {
    Problem::new(
        StatusCode::FORBIDDEN,
        t("admin-remote-title"),
        t("admin-remote-message"),
    )
    .into_response()
}

/// A refusal or failure on the dashboard: its own page, with a way on.
/// Its title and message are in the request's language.
pub(crate) struct Problem {
    status: StatusCode,
    title: String,
    message: String,
    clear_cookie: bool,
}

impl Problem {
    pub(crate) fn new(
        status: StatusCode,
        title: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        Problem {
            status,
            title: title.into(),
            message: message.into(),
            clear_cookie: false,
        }
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let body = crate::layout::page(
            &self.title,
            crate::layout::Live::None,
            html! {
                section.problem role="alert" {
                    h1 { (self.title) }
                    p.message { (self.message) }
                    p { a href="/admin/login" { (t("admin-log-in")) } " · " a href="/admin" { (t("admin-dashboard")) } }
                }
            },
        );
        let mut resp = (self.status, body).into_response();
        if self.clear_cookie {
            if let Ok(v) = HeaderValue::from_str(&access::clear_cookie()) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
        }
        resp
    }
}

/// The session of a page view: a live one, or the page to show instead (the
/// login form's address, or a page saying the session expired).
pub(crate) fn viewer(admin: &Admin, headers: &HeaderMap) -> Result<Session, Box<Response>> {
    match admin.session(headers) {
        Lookup::Active(s) => Ok(s),
        Lookup::None => Err(Box::new(
            axum::response::Redirect::to("/admin/login").into_response(),
        )),
        Lookup::Expired => Err(Box::new(expired(admin).into_response())),
    }
}

fn expired(admin: &Admin) -> Problem {
    Problem {
        clear_cookie: true,
        ..Problem::new(
            StatusCode::UNAUTHORIZED,
            t("admin-expired-title"),
            t_args(
                "admin-expired-message",
                [("minutes", (admin.sessions.idle().as_secs() / 60).into())],
            ),
        )
    }
}

/// Checks a state-changing request: a live session, the session's CSRF
/// token, and (when `needs_operator`) the operator key. A refusal is written
/// to the audit log and returned as its page; nothing has changed.
pub(crate) fn authorize(
    admin: &Admin,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
    action: &str,
    subject: &str,
    needs_operator: bool,
) -> Result<Session, Box<Response>> {
    // Recorded within a rate: anyone (or a viewer) can cause refusals, and
    // a flood of them must not rotate the operator's entries out of the log.
    let refuse = |who: &str, why: &str, p: Problem| {
        admin.record_limited(Entry::now(who, action, subject, &format!("refused: {why}")));
        Err(Box::new(p.into_response()))
    };
    let s = match admin.session(headers) {
        Lookup::Active(s) => s,
        Lookup::None => {
            return refuse(
                "not logged in",
                "not logged in",
                Problem::new(
                    StatusCode::UNAUTHORIZED,
                    t("admin-not-logged-in-title"),
                    t("admin-not-logged-in-message"),
                ),
            )
        }
        Lookup::Expired => return refuse("expired session", "session expired", expired(admin)),
    };
    if !s.csrf_ok(form.get("csrf").map(String::as_str)) {
        let why = if form.contains_key("csrf") {
            "forged CSRF token"
        } else {
            "missing CSRF token"
        };
        return refuse(
            &s.who(),
            why,
            Problem::new(
                StatusCode::FORBIDDEN,
                t("admin-form-refused-title"),
                t(if form.contains_key("csrf") {
                    "admin-form-token-wrong"
                } else {
                    "admin-form-token-missing"
                }),
            ),
        );
    }
    if needs_operator && s.role != Role::Operator {
        return refuse(
            &s.who(),
            "the viewer key cannot act",
            Problem::new(
                StatusCode::FORBIDDEN,
                t("admin-not-allowed-title"),
                t("admin-not-allowed-message"),
            ),
        );
    }
    Ok(s)
}

/// The form fields of a POST, or a page saying the form is malformed.
pub(crate) fn form_fields(
    f: Result<axum::Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Result<HashMap<String, String>, Box<Response>> {
    f.map(|axum::Form(m)| m).map_err(|e| {
        let message = crate::error::form_refusal(e.status());
        Box::new(Problem::new(e.status(), t("error-bad-request"), message).into_response())
    })
}

/// `GET /admin/login`: the login form.
async fn login_form(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    if let Lookup::Active(_) = admin.session(&headers) {
        return axum::response::Redirect::to("/admin").into_response();
    }
    login_page(&admin, StatusCode::OK, None)
}

fn login_page(admin: &Admin, status: StatusCode, error: Option<&str>) -> Response {
    let body = html! {
        h1 { (t("admin-node-dashboard")) }
        @if let Some(e) = error {
            p.problem role="alert" #login-error { (e) }
        }
        form.admin-login method="post" action="/admin/login" {
            p {
                label for="key" { (t("admin-access-key")) }
                input #key type="password" name="key" required autocomplete="off" spellcheck="false";
            }
            button type="submit" { (t("admin-log-in")) }
        }
        p.note {
            (t("admin-keys-note-before")) " "
            code { (admin.key_files) } " " (t("admin-keys-note-after"))
        }
    };
    (
        status,
        crate::layout::page(&t("admin-log-in"), crate::layout::Live::None, body),
    )
        .into_response()
}

/// `POST /admin/login`: a key opens a session.
async fn login(
    State(admin): State<Arc<Admin>>,
    f: Result<axum::Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = match form_fields(f) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    if admin.throttle.is_locked() {
        return locked_page(&admin);
    }
    let presented = form.get("key").map(String::as_str).unwrap_or("");
    match admin.keys.check(presented) {
        Some((role, fp)) => {
            let (id, s) = admin.sessions.open(role, fp);
            let entry = Entry::now(&s.who(), "login", role.name(), "done");
            match role {
                Role::Operator => {
                    admin.audit.record(&entry);
                }
                Role::Viewer => admin.record_limited(entry),
            }
            let mut resp = axum::response::Redirect::to("/admin").into_response();
            if let Ok(v) = HeaderValue::from_str(&access::set_cookie(&id)) {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        None => {
            if admin.throttle.failed() {
                admin.audit.record(&Entry::now(
                    "unknown key",
                    "login",
                    "",
                    &format!(
                        "refused: more than {} wrong keys a minute, login locked for {} s",
                        admin.opts.failed_logins_per_minute,
                        admin.opts.login_lockout.as_secs()
                    ),
                ));
                return locked_page(&admin);
            }
            admin.audit.record(&Entry::now(
                "unknown key",
                "login",
                "",
                "refused: not the operator or viewer key",
            ));
            login_page(
                &admin,
                StatusCode::UNAUTHORIZED,
                Some(&t("admin-wrong-key")),
            )
        }
    }
}

/// The login form with 429 Too Many Requests: login is locked.
fn locked_page(admin: &Admin) -> Response {
    let secs = admin.throttle.retry_after_secs();
    let mut resp = login_page(
        admin,
        StatusCode::TOO_MANY_REQUESTS,
        Some(&t_args("admin-locked", [("secs", secs.into())])),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// `POST /admin/logout`: ends the session.
async fn logout(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    f: Result<axum::Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let form = match form_fields(f) {
        Ok(f) => f,
        Err(r) => return *r,
    };
    let s = match authorize(&admin, &headers, &form, "logout", "", false) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    admin.sessions.close(cookie.as_deref());
    admin
        .audit
        .record(&Entry::now(&s.who(), "logout", "", "done"));
    let mut resp = axum::response::Redirect::to("/admin/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&access::clear_cookie()) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

/// The dashboard's frame around a page: navigation, who is logged in, the
/// logout button.
pub(crate) fn frame(title: &str, here: &str, s: &Session, body: Markup) -> Response {
    let links = [
        ("/admin", "admin-nav-overview"),
        ("/admin/peers", "admin-nav-peers"),
        ("/admin/mempool", "mempool"),
        ("/admin/alerts", "admin-nav-alerts"),
        ("/admin/settings", "admin-nav-settings"),
        ("/admin/audit", "admin-nav-audit"),
    ]
    .map(|(href, key)| (href, t(key)));
    let page = html! {
        nav.admin aria-label=(t("admin-dashboard")) {
            ul {
                @for (href, name) in links {
                    li {
                        @if href == here {
                            a href=(href) aria-current="page" { (name) }
                        } @else {
                            a href=(href) { (name) }
                        }
                    }
                }
            }
            form.logout method="post" action="/admin/logout" {
                span.role {
                    (t(if s.role == Role::Operator { "admin-logged-in-operator" } else { "admin-logged-in-viewer" }))
                    " " code { (s.key_fp) }
                }
                input type="hidden" name="csrf" value=(s.csrf);
                button type="submit" { (t("admin-log-out")) }
            }
        }
        @if s.role == Role::Viewer {
            p.note #viewer-note { (t("admin-viewer-note")) }
        }
        (body)
    };
    crate::layout::page(title, crate::layout::Live::None, page).into_response()
}
