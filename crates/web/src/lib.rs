//! The node's web pages, served by `luminex node` beside the REST API on the
//! same port (`http://127.0.0.1:8645/` by default).
//!
//! The explorer: a dashboard (latest blocks and transactions, the mempool as
//! projected next blocks by fee rate, fee estimates and network figures),
//! block, transaction and address pages (with a balance-over-time chart),
//! charts of transaction volume, fees and block times (`/charts`), and one
//! search box. Pages are
//! rendered on the server from compile-time-checked `maud` templates and
//! work without JavaScript; one small script of ours, embedded in the binary
//! like the style sheet, refreshes them from the node's WebSocket. Every
//! response carries a strict Content-Security-Policy: the pages load nothing
//! from anywhere but the node (ADR 0019, docs/web.md).
//!
//! Bad input (a malformed search, an unknown block, a bad address) gets an
//! HTML page with a clear message and a 4xx status, never a panic.
//!
//! The pages speak English and German ([`i18n`]): strings live in message
//! catalogs, and the language comes from a `?lang=` switch, a cookie or the
//! `Accept-Language` header.
//!
//! The operator's dashboard ([`admin`], `/admin`): monitoring, peers,
//! mempool and an audit log, behind a login with an operator and a viewer
//! key, served to loopback clients only unless configured otherwise.
//!
//! The browser wallet ([`wallet`], `/wallet`): the node's own wallet files
//! listed, created, restored, unlocked, receiving and sending through a
//! confirmation page, behind a login with the operator key; keys never
//! leave the node.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod admin;
mod assets;
mod chart;
mod error;
mod explorer;
mod format;
pub mod i18n;
mod layout;
mod origin;
pub mod qr;
pub mod wallet;

use std::sync::Arc;

use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use luminex_api::guard::{RateLimitConfig, RateLimits};
use luminex_api::ApiOptions;
use luminex_service::Node;

pub use error::PageError;

/// The Content-Security-Policy of every page: scripts, styles, images and
/// connections from the node itself only; no frames, no plugins, forms
/// posting only back to the node.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; \
frame-ancestors 'none'; base-uri 'none'";

/// The REST API and the web pages on one router: what `luminex node` serves.
///
/// A request no route takes gets the pages' "not found" page when it asks
/// for HTML (`Accept: text/html`, as a browser does), and the REST API's
/// JSON problem otherwise.
pub fn router_with(node: Arc<Node>, opts: ApiOptions) -> Router {
    let limits = opts.limits;
    let timeout = opts.timeout;
    let api = luminex_api::router_with(node.clone(), opts);
    let page = Router::new()
        .fallback(|| async { PageError::not_found(i18n::t("no-such-page")) })
        .layer(from_fn(i18n::middleware))
        .layer(from_fn(security_headers));
    api.clone().merge(pages(node, limits, timeout)).fallback(
        move |req: axum::extract::Request| async move {
            // The API's router alone takes no route this one does not: the
            // request meets its own fallback, with all its layers.
            let to = if wants_html(req.headers()) { page } else { api };
            match tower::ServiceExt::oneshot(to, req).await {
                Ok(r) => r,
                Err(never) => match never {},
            }
        },
    )
}

/// Gives the bare 405 of a form's address asked for with another method
/// (`GET /admin/mempool/remove`, say) a page saying it takes a form, with
/// a link back, in the request's language, when the client asks for HTML.
/// The `Allow` header stays. A layer of the dashboard's and the wallet's
/// routes (their route layers do not see a method no route takes).
pub(crate) async fn form_only_page(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let html = wants_html(req.headers());
    let chosen = i18n::Chosen::of(&req);
    let back = if req.uri().path().starts_with("/wallet") {
        ("/wallet", "wallet-back-to-wallets")
    } else {
        ("/admin", "admin-back")
    };
    let resp = next.run(req).await;
    if resp.status() != StatusCode::METHOD_NOT_ALLOWED
        || !html
        || resp.headers().contains_key(header::CONTENT_TYPE)
    {
        return resp;
    }
    let allow = resp.headers().get(header::ALLOW).cloned();
    chosen.render(async move { form_only(back, allow) }).await
}

/// The page of [`form_only_page`]: 405, linking to `back` (its address and
/// the link's catalog key).
fn form_only(back: (&str, &str), allow: Option<HeaderValue>) -> Response {
    let title = i18n::t("error-method-not-allowed");
    let body = layout::page(
        &title,
        layout::Live::None,
        maud::html! {
            section.problem role="alert" {
                h1 { (title) }
                p.message { (i18n::t("error-method-not-allowed-message")) }
                p { a href=(back.0) { (i18n::t(back.1)) } }
            }
        },
    );
    let mut page = (StatusCode::METHOD_NOT_ALLOWED, body).into_response();
    if let Some(allow) = allow {
        page.headers_mut().insert(header::ALLOW, allow);
    }
    page.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    set_security_headers(page.headers_mut());
    page
}

/// Whether the client asks for HTML: `text/html` with a quality above 0
/// and above that of JSON (`application/json` or
/// `application/problem+json`), as RFC 9110 weighs the `Accept` header.
/// A browser names `text/html`; `curl` and API clients send `*/*` or JSON.
fn wants_html(h: &axum::http::HeaderMap) -> bool {
    let (mut html, mut json) = (0.0f32, 0.0f32);
    for range in h
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
    {
        let mut parts = range.split(';');
        let kind = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        // A quality that does not parse counts as 1, as if absent.
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0)
            .clamp(0.0, 1.0);
        match kind.as_str() {
            "text/html" => html = html.max(q),
            "application/json" | "application/problem+json" => json = json.max(q),
            _ => {}
        }
    }
    html > 0.0 && html > json
}

/// The REST API, the web pages and the operator's dashboard (`/admin`) on
/// one router: what `luminex node` serves. The REST API's
/// `GET /admin/mempool` (JSON for an API key) and the dashboard's mempool
/// page share an address: a request carrying an API key gets the JSON, a
/// browser the page.
pub fn router_with_admin(node: Arc<Node>, opts: ApiOptions, admin: Arc<admin::Admin>) -> Router {
    router_with(node, opts)
        .merge(admin::routes(admin.clone()))
        .layer(from_fn_with_state(admin, admin::mempool_switch))
}

/// The web pages alone (no fallback: merge them into the API's router).
pub fn pages(node: Arc<Node>, limits: RateLimitConfig, timeout: std::time::Duration) -> Router {
    Router::new()
        .route("/", get(explorer::dashboard))
        .route("/block/{id}", get(explorer::block))
        .route("/tx/{txid}", get(explorer::transaction))
        .route("/address/{address}", get(explorer::address))
        .route("/find", get(explorer::find))
        .route("/charts", get(explorer::charts))
        .route("/validators", get(explorer::validators))
        .route("/static/{file}", get(assets::serve))
        .route_layer(from_fn_with_state(
            Arc::new(RateLimits::new(limits)),
            luminex_api::guard::rate_limit,
        ))
        .route_layer(from_fn_with_state(node.clone(), luminex_api::track))
        .layer(axum::Extension(Arc::new(explorer::Summaries::default())))
        // Inside the language's scope, so the timeout's page is translated.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            timeout,
        ))
        .layer(axum::middleware::map_response(timeout_page))
        .layer(from_fn(i18n::middleware))
        .layer(from_fn(security_headers))
        .layer(tower_http::compression::CompressionLayer::new())
        .with_state(node)
}

/// Gives the timeout layer's bare 408 the error page every other error has.
async fn timeout_page(r: Response) -> Response {
    if r.status() == StatusCode::REQUEST_TIMEOUT
        && !r.headers().contains_key(axum::http::header::CONTENT_TYPE)
    {
        return error::PageError::timeout().into_response();
    }
    r
}

/// Adds the security headers to every page and asset.
async fn security_headers(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let mut resp = next.run(req).await;
    set_security_headers(resp.headers_mut());
    resp
}

/// The security headers of every page, asset and dashboard response.
pub(crate) fn set_security_headers(h: &mut axum::http::HeaderMap) {
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        // Not `no-referrer`: under it browsers send `Origin: null` on the
        // pages' own form posts, which the dashboard and wallet must refuse
        // as they would a sandboxed page's (origin.rs). `same-origin` still
        // sends nothing to other sites.
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

#[cfg(test)]
mod tests {
    /// `Accept` weighed by quality: HTML only when preferred to JSON and
    /// not refused (q=0).
    #[test]
    fn html_is_wanted_only_when_preferred() {
        let wants = |v: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(axum::http::header::ACCEPT, v.parse().unwrap());
            super::wants_html(&h)
        };
        assert!(wants(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        ));
        assert!(wants("text/html"));
        assert!(wants("application/json;q=0.5, text/html"));
        assert!(!wants("*/*"));
        assert!(!wants("application/json"));
        assert!(!wants("text/html;q=0, application/json"));
        assert!(!wants("application/json, text/html;q=0.5"));
        assert!(!wants("text/html;q=0.1, application/json"));
        assert!(!wants("text/html;q=0"));
        assert!(!wants("text/html, application/json"));
        assert!(wants("TEXT/HTML; q=bad"));
    }

    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// The timeout layer's bare 408 becomes the error page, in the
    /// request's language; a 408 that already has a body is left alone.
    #[tokio::test]
    async fn a_bare_timeout_becomes_a_translated_page() {
        let app = Router::new()
            .route("/bare", get(|| async { StatusCode::REQUEST_TIMEOUT }))
            .route(
                "/own",
                get(|| async { (StatusCode::REQUEST_TIMEOUT, "mine") }),
            )
            .layer(axum::middleware::map_response(timeout_page))
            .layer(from_fn(i18n::middleware));
        let call = |uri: &'static str| {
            let app = app.clone();
            async move {
                let r = app
                    .oneshot(Request::get(uri).body(Body::empty()).unwrap())
                    .await
                    .unwrap();
                let status = r.status();
                let kind = r.headers()[header::CONTENT_TYPE]
                    .to_str()
                    .unwrap()
                    .to_string();
                let body = r.into_body().collect().await.unwrap().to_bytes();
                (status, kind, String::from_utf8(body.to_vec()).unwrap())
            }
        };
        let (s, kind, body) = call("/bare?lang=de").await;
        assert_eq!(s, StatusCode::REQUEST_TIMEOUT);
        assert!(kind.starts_with("text/html"), "{kind}");
        assert!(body.contains("Zeitüberschreitung"), "{body}");
        let (_, _, body) = call("/bare").await;
        assert!(body.contains("Request timed out"), "{body}");
        let (s, _, body) = call("/own").await;
        assert_eq!((s, body.as_str()), (StatusCode::REQUEST_TIMEOUT, "mine"));
    }
}
