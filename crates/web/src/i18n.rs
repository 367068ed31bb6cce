//! The pages' languages: message catalogs and choosing the reader's language.
//!
//! Every string a page shows comes from a catalog in Project Fluent's format
//! (`crates/web/i18n/<code>.ftl`, embedded in the binary with `include_str!`
//! and read by the `fluent-bundle` crate: no build step, no files at run
//! time). English (`en`) is complete; a key missing from another catalog is
//! looked up in English instead, and a test checks that none is missing.
//!
//! The language of a request ([`choose`]): a `?lang=xx` switch (remembered
//! in the `luminex_lang` cookie), else that cookie, else the best language of
//! the `Accept-Language` header by its q-values, else English. The
//! [`middleware`] decides it once per request and keeps it in a task-local
//! for the request's handler, so the templates and the error pages ask
//! [`t`] without each handler passing the language down.

use std::future::Future;
use std::sync::OnceLock;

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

pub use fluent_bundle::FluentValue;

/// A language the pages are written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// English, the complete catalog and the fallback.
    En,
    /// German.
    De,
}

impl Lang {
    /// Every language, English first.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::De];

    /// Its code: the `?lang=` value, the cookie's value, `<html lang>`.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
        }
    }

    /// Its name in itself, for the switch.
    pub fn name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::De => "Deutsch",
        }
    }

    /// The language of a code (`en`, `DE`); `None` for any other.
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL
            .into_iter()
            .find(|l| l.code().eq_ignore_ascii_case(code))
    }

    /// The catalog's source.
    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("../i18n/en.ftl"),
            Lang::De => include_str!("../i18n/de.ftl"),
        }
    }
}

/// The name of the cookie remembering the switch.
pub const COOKIE: &str = "luminex_lang";

/// The catalogs, parsed once.
fn bundle(lang: Lang) -> &'static FluentBundle<FluentResource> {
    static BUNDLES: OnceLock<Vec<FluentBundle<FluentResource>>> = OnceLock::new();
    let all = BUNDLES.get_or_init(|| Lang::ALL.into_iter().map(parse).collect());
    &all[Lang::ALL.iter().position(|l| *l == lang).unwrap_or(0)]
}

/// A catalog as a bundle. The catalogs are part of the source and a test
/// parses each, so a syntax error cannot reach a release.
fn parse(lang: Lang) -> FluentBundle<FluentResource> {
    let resource = FluentResource::try_new(lang.source().to_string())
        .unwrap_or_else(|(_, errs)| panic!("catalog {}: {errs:?}", lang.code()));
    let id = lang
        .code()
        .parse()
        .unwrap_or_else(|e| panic!("language id {}: {e:?}", lang.code()));
    let mut b = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: the pages are HTML with
    // `lang` set, and the marks would get in the way of copying a hash.
    b.set_use_isolating(false);
    if let Err(errs) = b.add_resource(resource) {
        panic!("catalog {}: {errs:?}", lang.code());
    }
    b
}

/// The keys of a catalog, for the completeness test.
pub fn keys(lang: Lang) -> Vec<String> {
    let res = FluentResource::try_new(lang.source().to_string())
        .unwrap_or_else(|(_, errs)| panic!("catalog {}: {errs:?}", lang.code()));
    res.entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect()
}

/// The message `key` in `lang` with `args`; from English when `lang` lacks
/// it (or fails to format it); the key itself when English lacks it too.
pub fn message(lang: Lang, key: &str, args: Option<&FluentArgs>) -> String {
    lookup(&[bundle(lang), bundle(Lang::En)], key, args).unwrap_or_else(|| {
        tracing::warn!(key, "no such message");
        key.to_string()
    })
}

/// The first of `bundles` that has `key` and formats it without error.
fn lookup(
    bundles: &[&FluentBundle<FluentResource>],
    key: &str,
    args: Option<&FluentArgs>,
) -> Option<String> {
    for b in bundles {
        let Some(pattern) = b.get_message(key).and_then(|m| m.value()) else {
            continue;
        };
        let mut errs = Vec::new();
        let s = b.format_pattern(pattern, args, &mut errs);
        if errs.is_empty() {
            return Some(s.into_owned());
        }
        tracing::warn!(key, ?errs, "message failed to format");
    }
    None
}

/// Whether `lang`'s own catalog has `key` (no fallback).
pub fn has(lang: Lang, key: &str) -> bool {
    bundle(lang).has_message(key)
}

/// What a request is rendered with.
#[derive(Debug, Clone)]
struct Context {
    lang: Lang,
    /// The request's path and query without `lang`, ending in `?` or `&`:
    /// append `lang=xx` for the same page in another language.
    switch_base: String,
}

tokio::task_local! {
    static CURRENT: Context;
}

/// The language of the request being handled; English outside
/// [`middleware`] (the operator's dashboard, whose texts are English only
/// for now, and tests of the templates).
pub fn current() -> Lang {
    CURRENT.try_with(|c| c.lang).unwrap_or(Lang::En)
}

/// The address of the request being handled, its query kept but for
/// `lang`, ending in `?` or `&`, for the language switch's links; `None`
/// outside [`middleware`]: a page not translated yet (the operator's
/// dashboard) is English throughout and offers no switch.
pub(crate) fn switch_base() -> Option<String> {
    CURRENT.try_with(|c| c.switch_base.clone()).ok()
}

/// The request's language and path, to carry into a blocking task
/// (`spawn_blocking` leaves task-locals behind).
pub(crate) struct Carried(Option<Context>);

/// What [`Carried::within`] restores in another thread.
pub(crate) fn carry() -> Carried {
    Carried(CURRENT.try_with(|c| c.clone()).ok())
}

impl Carried {
    /// Runs `f` with the carried language and path.
    pub(crate) fn within<R>(self, f: impl FnOnce() -> R) -> R {
        match self.0 {
            Some(c) => CURRENT.sync_scope(c, f),
            None => f(),
        }
    }
}

/// The message `key` in the request's language.
pub fn t(key: &str) -> String {
    message(current(), key, None)
}

/// The message `key` in the request's language, with arguments.
pub fn t_args<'a>(key: &str, args: impl IntoIterator<Item = (&'a str, FluentValue<'a>)>) -> String {
    let mut a = FluentArgs::new();
    for (k, v) in args {
        a.set(k, v);
    }
    message(current(), key, Some(&a))
}

/// The most `Accept-Language` entries looked at: a huge header costs no
/// more than this.
const MAX_RANGES: usize = 32;

/// The best of our languages for an `Accept-Language` value: the range with
/// the highest q-value that names one (its primary subtag, so `de-AT` is
/// German), earlier ranges winning ties; `None` when none does. `*` stands for
/// English. Malformed ranges and q-values are skipped, not fatal.
pub fn from_accept_language(value: &str) -> Option<Lang> {
    let mut best: Option<(u16, Lang)> = None;
    for range in value.split(',').take(MAX_RANGES) {
        let mut parts = range.split(';');
        let tag = parts.next().unwrap_or("").trim();
        let mut q = Some(1000u16);
        for p in parts {
            let p = p.trim();
            if let Some(v) = p.strip_prefix("q=").or_else(|| p.strip_prefix("Q=")) {
                q = qvalue(v.trim());
            }
        }
        let Some(q) = q.filter(|q| *q > 0) else {
            continue;
        };
        let lang = if tag == "*" {
            Some(Lang::En)
        } else {
            let primary = tag.split('-').next().unwrap_or("");
            Lang::from_code(primary)
        };
        if let Some(l) = lang {
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, l));
            }
        }
    }
    best.map(|(_, l)| l)
}

/// A q-value (`0` to `1` with up to three decimals) in thousandths; `None`
/// when malformed.
fn qvalue(v: &str) -> Option<u16> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac_n: u16 = format!("{frac:0<3}").parse().ok()?;
    match int {
        "0" => Some(frac_n),
        "1" if frac_n == 0 => Some(1000),
        _ => None,
    }
}

/// The value of `?lang=` in a query string, when it names a language.
fn from_query(query: Option<&str>) -> Option<Lang> {
    query?
        .split('&')
        .filter_map(|kv| kv.strip_prefix("lang="))
        .find_map(Lang::from_code)
}

/// The language the `luminex_lang` cookie names, if any.
fn from_cookie(headers: &HeaderMap) -> Option<Lang> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .find_map(Lang::from_code)
}

/// The language of a request, and whether it came from the switch (and
/// should be remembered): `?lang=`, else the cookie, else `Accept-Language`,
/// else English. Unknown or malformed values of each are passed over.
pub fn choose(query: Option<&str>, headers: &HeaderMap) -> (Lang, bool) {
    if let Some(l) = from_query(query) {
        return (l, true);
    }
    let chosen = from_cookie(headers).or_else(|| {
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(from_accept_language)
    });
    (chosen.unwrap_or(Lang::En), false)
}

/// The `Set-Cookie` value remembering a switch to `lang` for a year.
pub fn set_cookie(lang: Lang) -> String {
    format!(
        "{COOKIE}={}; Path=/; SameSite=Lax; HttpOnly; Max-Age=31536000",
        lang.code()
    )
}

/// `uri`'s path and query without its `lang` parameters, ready for one:
/// `/block/7?page=2&` or `/block/7?`.
fn switch_base_of(uri: &axum::http::Uri) -> String {
    let path = uri.path();
    // A path of "//host" would make the switch's links leave the node.
    let mut base = if path.starts_with('/') && !path.starts_with("//") {
        path.to_string()
    } else {
        "/".to_string()
    };
    base.push('?');
    for kv in uri.query().unwrap_or("").split('&') {
        if !kv.is_empty() && kv != "lang" && !kv.starts_with("lang=") {
            base.push_str(kv);
            base.push('&');
        }
    }
    base
}

/// Chooses the request's language, renders the page in it, remembers a
/// switch in the cookie, and tells caches the page varies by language.
pub async fn middleware(req: Request, next: Next) -> Response {
    let chosen = Chosen::of(&req);
    chosen.render(next.run(req)).await
}

/// The language chosen for a request, and whether by the switch.
pub(crate) struct Chosen {
    context: Context,
    switched: bool,
}

impl Chosen {
    /// The choice for `req` ([`choose`]).
    pub(crate) fn of(req: &Request) -> Chosen {
        let (lang, switched) = choose(req.uri().query(), req.headers());
        Chosen {
            context: Context {
                lang,
                switch_base: switch_base_of(req.uri()),
            },
            switched,
        }
    }

    /// Runs `page` in the chosen language; the response remembers a switch
    /// and varies by the language's sources.
    pub(crate) async fn render(self, page: impl Future<Output = Response>) -> Response {
        let lang = self.context.lang;
        let mut resp = CURRENT.scope(self.context, page).await;
        let h = resp.headers_mut();
        if self.switched {
            if let Ok(v) = HeaderValue::from_str(&set_cookie(lang)) {
                h.append(header::SET_COOKIE, v);
            }
        }
        h.append(
            header::VARY,
            HeaderValue::from_static("accept-language, cookie"),
        );
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_english_key_is_in_every_catalog() {
        let en = keys(Lang::En);
        assert!(en.len() > 10);
        for lang in Lang::ALL {
            let missing: Vec<&String> = en.iter().filter(|k| !has(lang, k)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", lang.code());
            let extra: Vec<String> = keys(lang)
                .into_iter()
                .filter(|k| !has(Lang::En, k))
                .collect();
            assert!(extra.is_empty(), "{} has unknown {extra:?}", lang.code());
        }
    }

    #[test]
    fn every_message_formats_in_every_language() {
        // Every variable named in the catalogs gets a placeholder value.
        let mut args = FluentArgs::new();
        for lang in Lang::ALL {
            for part in lang.source().split('$').skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect();
                args.set(name, "1");
            }
        }
        for lang in Lang::ALL {
            for k in keys(Lang::En) {
                let b = bundle(lang);
                let p = b.get_message(&k).and_then(|m| m.value()).unwrap();
                let mut errs = Vec::new();
                let s = b.format_pattern(p, Some(&args), &mut errs);
                assert!(errs.is_empty(), "{} {k}: {errs:?}", lang.code());
                assert!(!s.trim().is_empty(), "{} {k} is empty", lang.code());
            }
        }
    }

    #[test]
    fn a_message_missing_or_broken_in_german_comes_in_english() {
        let catalog = |lang: &str, src: &str| {
            let mut b = FluentBundle::new_concurrent(vec![lang.parse().unwrap()]);
            b.set_use_isolating(false);
            b.add_resource(FluentResource::try_new(src.to_string()).unwrap())
                .unwrap();
            b
        };
        let en = catalog("en", "a = one\nb = two\nc = at { $h }\n");
        let de = catalog("de", "a = eins\nc = bei { $x }\n");
        let mut args = FluentArgs::new();
        args.set("h", "7");
        let get = |key| lookup(&[&de, &en], key, Some(&args));
        assert_eq!(get("a").as_deref(), Some("eins"));
        assert_eq!(get("b").as_deref(), Some("two"), "missing in German");
        assert_eq!(get("c").as_deref(), Some("at 7"), "German names no $h");
        assert_eq!(get("d"), None);
    }

    #[test]
    fn a_missing_message_falls_back_to_english_then_to_its_key() {
        assert_eq!(message(Lang::De, "no-such-key", None), "no-such-key");
        // Outside a request the language is English.
        assert_eq!(current(), Lang::En);
        assert_eq!(t("search"), message(Lang::En, "search", None));
        assert_ne!(message(Lang::De, "search", None), t("search"));
    }

    #[test]
    fn accept_language_honours_q_values() {
        use Lang::*;
        for (v, want) in [
            ("de", Some(De)),
            ("de-AT,de;q=0.9,en;q=0.8", Some(De)),
            ("en-US,en;q=0.9,de;q=0.8", Some(En)),
            ("fr-FR,fr;q=0.9,de;q=0.7,en;q=0.5", Some(De)),
            ("en;q=0.5, de;q=0.8", Some(De)),
            ("en;q=0.8, de;q=0.8", Some(En)),
            ("DE-ch", Some(De)),
            ("de;q=0, en;q=0.1", Some(En)),
            ("fr, *;q=0.1", Some(En)),
            ("fr, ja", None),
            ("", None),
            ("de;q=2, en;q=0.3", Some(En)),
            ("de;q=abc", None),
            ("de;q=0.1234, en;q=0.001", Some(En)),
            (";;;,,,=", None),
            ("de;q=1.000", Some(De)),
            ("de;q=1.5", None),
            ("deutsch", None),
        ] {
            assert_eq!(from_accept_language(v), want, "{v:?}");
        }
    }

    #[test]
    fn a_huge_accept_language_is_cut_not_refused() {
        let mut v = "fr;q=0.5,".repeat(10_000);
        v.push_str("de");
        assert_eq!(from_accept_language(&v), None, "past the first ranges");
        let v = format!("de;q=0.2,{}", "x".repeat(1 << 20));
        assert_eq!(from_accept_language(&v), Some(Lang::De));
    }

    #[test]
    fn the_switch_keeps_the_rest_of_the_query() {
        for (uri, base) in [
            ("/", "/?"),
            ("/block/7?page=2", "/block/7?page=2&"),
            ("/block/7?lang=de&page=2&lang", "/block/7?page=2&"),
            (
                "/address/x?before=5%3Aab&&lang=xx",
                "/address/x?before=5%3Aab&",
            ),
            ("//elsewhere/x?q=1", "/?q=1&"),
        ] {
            assert_eq!(switch_base_of(&uri.parse().unwrap()), base, "{uri}");
        }
    }

    #[test]
    fn the_switch_wins_over_the_cookie_over_the_header() {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_static("de"));
        assert_eq!(choose(None, &h), (Lang::De, false));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("luminex_session=abc; luminex_lang=en"),
        );
        assert_eq!(choose(None, &h), (Lang::En, false));
        assert_eq!(choose(Some("page=2&lang=de"), &h), (Lang::De, true));
        assert_eq!(choose(Some("lang=xx"), &h), (Lang::En, false));
        h.insert(header::COOKIE, HeaderValue::from_static("luminex_lang=xx"));
        assert_eq!(choose(Some("lang="), &h), (Lang::De, false));
        assert_eq!(
            choose(Some("lang=xx"), &HeaderMap::new()),
            (Lang::En, false)
        );
    }
}
