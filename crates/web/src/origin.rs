//! Keeping other web pages out of the dashboard and the wallet.
//!
//! Both are served to loopback clients, behind a login and per-session CSRF
//! tokens. Two ways around that remain for a page the operator happens to
//! visit, and both are closed here, before any handler runs:
//!
//! - **DNS rebinding**: a page on `attacker.example` whose name later
//!   resolves to 127.0.0.1 reaches the node as loopback, same-origin to
//!   itself. Its requests carry its own name in `Host`, so while only
//!   loopback clients are served, `Host` must name this machine
//!   (`localhost`, `*.localhost`, a loopback address), as Bitcoin Core's
//!   and Jupyter's local servers require.
//! - **Cross-site forms**: the login forms carry no session token yet, so a
//!   foreign page could post wrong keys until login locks the operator out.
//!   A form sent from another site is refused: browsers say so in
//!   `Sec-Fetch-Site`, and older ones in `Origin`, which must then name the
//!   host the request was sent to.
//!
//! Requests without these headers (command-line clients) pass: they are
//! not a browser acting for a page.

use axum::extract::Request;
use axum::http::{header, Method};

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// `Host` does not name this machine while only loopback is served.
    Host,
    /// A state-changing request sent by another site's page.
    CrossSite,
}

/// Checks `req` for the dashboard or the wallet; `allow_remote` is whether
/// clients other than loopback are served (then behind a proxy whose name
/// is not known here, so `Host` is not checked).
pub(crate) fn check(req: &Request, allow_remote: bool) -> Result<(), Refusal> {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    if !allow_remote && host.is_some_and(|h| !is_local_host(h)) {
        return Err(Refusal::Host);
    }
    if matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return Ok(());
    }
    if let Some(site) = req.headers().get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err(Refusal::CrossSite),
        };
    }
    match req.headers().get(header::ORIGIN).map(|v| v.to_str()) {
        None => Ok(()),
        Some(Ok(origin)) if !allow_remote => match (authority_of(origin), host) {
            (Some(o), Some(h)) if o.eq_ignore_ascii_case(h) => Ok(()),
            _ => Err(Refusal::CrossSite),
        },
        // Behind a proxy the Host may be rewritten: only the opaque origin
        // of a sandboxed or file page is known to be foreign.
        Some(Ok(origin)) if origin != "null" => Ok(()),
        Some(_) => Err(Refusal::CrossSite),
    }
}

impl Refusal {
    /// The refusal's title and message, in the request's language.
    pub(crate) fn text(self) -> (String, String) {
        use crate::i18n::t;
        match self {
            Refusal::Host => (t("web-foreign-host-title"), t("web-foreign-host-message")),
            Refusal::CrossSite => (t("web-cross-site-title"), t("web-cross-site-message")),
        }
    }
}

/// Largest form body the dashboard and the wallet read: their forms hold a
/// few short fields (a recovery phrase is the longest), and a larger body
/// is refused (413) before a handler sees it — and before a refusal of it
/// could be written to the audit log.
pub(crate) const MAX_FORM_BYTES: usize = 64 * 1024;

/// The `host[:port]` of an origin (`http://host:port`), if it is one.
fn authority_of(origin: &str) -> Option<&str> {
    let rest = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))?;
    (!rest.is_empty() && !rest.contains('/')).then_some(rest)
}

/// Whether a `Host` value names this machine: `localhost`, a name under
/// `.localhost`, or a loopback address, with or without a port.
fn is_local_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        // [v6]:port
        Some(rest) => match rest.split_once(']') {
            Some((v6, after)) if after.is_empty() || after.starts_with(':') => v6,
            _ => return false,
        },
        None => match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
            Some(_) => return false,
            None => host,
        },
    };
    let name = name.trim_end_matches('.');
    name.eq_ignore_ascii_case("localhost")
        || name
            .to_ascii_lowercase()
            .strip_suffix(".localhost")
            .is_some_and(|sub| !sub.is_empty())
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn req(method: &str, headers: &[(&str, &str)]) -> Request {
        let mut b = axum::http::Request::builder()
            .method(method)
            .uri("/admin/login");
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn only_names_of_this_machine_are_local_hosts() {
        for h in [
            "localhost",
            "localhost:8645",
            "LOCALHOST.:1",
            "node.localhost:8645",
            "127.0.0.1",
            "127.0.0.1:8645",
            "127.1.2.3:80",
            "[::1]",
            "[::1]:8645",
        ] {
            assert!(is_local_host(h), "{h}");
        }
        for h in [
            "attacker.example",
            "attacker.example:8645",
            "localhost.attacker.example",
            "127.0.0.1.nip.io:8645",
            ".localhost",
            "10.0.0.1:8645",
            "[::2]:8645",
            "[::1]x",
            "localhost:80a",
            "",
        ] {
            assert!(!is_local_host(h), "{h}");
        }
    }

    #[test]
    fn foreign_hosts_are_refused_unless_remote_clients_are_allowed() {
        let r = req("GET", &[("host", "rebind.attacker.example:8645")]);
        assert_eq!(check(&r, false), Err(Refusal::Host));
        assert_eq!(check(&r, true), Ok(()));
        assert_eq!(
            check(&req("GET", &[("host", "127.0.0.1:8645")]), false),
            Ok(())
        );
        // No Host at all (an HTTP/1.0 client): not a browser.
        assert_eq!(check(&req("GET", &[]), false), Ok(()));
    }

    #[test]
    fn forms_from_other_sites_are_refused() {
        let host = ("host", "127.0.0.1:8645");
        // Fetch metadata, where the browser sends it.
        for (site, ok) in [
            ("same-origin", true),
            ("none", true),
            ("same-site", false),
            ("cross-site", false),
        ] {
            let r = req("POST", &[host, ("sec-fetch-site", site)]);
            assert_eq!(check(&r, false).is_ok(), ok, "{site}");
            assert_eq!(check(&r, true).is_ok(), ok, "{site}");
        }
        // Origin otherwise: it must name the host the form was sent to.
        assert_eq!(
            check(
                &req("POST", &[host, ("origin", "http://127.0.0.1:8645")]),
                false
            ),
            Ok(())
        );
        for origin in [
            "http://localhost:23080",
            "http://127.0.0.1:9999",
            "null",
            "x",
        ] {
            let r = req("POST", &[host, ("origin", origin)]);
            assert_eq!(check(&r, false), Err(Refusal::CrossSite), "{origin}");
        }
        // Behind a proxy only the opaque origin is known to be foreign.
        let r = req("POST", &[host, ("origin", "https://node.example.com")]);
        assert_eq!(check(&r, true), Ok(()));
        let r = req("POST", &[host, ("origin", "null")]);
        assert_eq!(check(&r, true), Err(Refusal::CrossSite));
        // A command-line client sends neither.
        assert_eq!(check(&req("POST", &[host]), false), Ok(()));
        // Reading is never refused for its origin.
        let r = req("GET", &[host, ("sec-fetch-site", "cross-site")]);
        assert_eq!(check(&r, false), Ok(()));
    }
}
