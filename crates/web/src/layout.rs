//! The page shell: head, header with the search box, main, footer.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::i18n::{self, t, Lang};

/// What a page follows live (over the WebSocket, when JavaScript runs):
/// the embedded script reloads the page's `<main>` when it changes.
#[derive(Debug, Clone)]
pub enum Live {
    /// A static page.
    None,
    /// New blocks and mempool changes (the dashboard).
    Chain,
    /// New blocks (block pages: confirmations, the next block's link).
    Blocks,
    /// A transaction: until it is confirmed, and its confirmations after.
    Tx(String),
    /// An address's activity.
    Address(String),
}

/// A whole HTML page around `body`, in the request's language
/// ([`i18n::current`]), with a link to the same page in each other language
/// when the page is translated (served through [`i18n::middleware`]).
pub fn page(title: &str, live: Live, body: Markup) -> Markup {
    let lang = i18n::current();
    let switch_base = i18n::switch_base();
    let (kind, subject) = match &live {
        Live::None => ("", ""),
        Live::Chain => ("chain", ""),
        Live::Blocks => ("blocks", ""),
        Live::Tx(t) => ("tx", t.as_str()),
        Live::Address(a) => ("address", a.as_str()),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · Luminex" }
                link rel="stylesheet" href=(crate::assets::STYLE_PATH);
                link rel="icon" href=(crate::assets::ICON_PATH) type="image/svg+xml";
                @if !kind.is_empty() {
                    script src=(crate::assets::SCRIPT_PATH) defer {}
                }
            }
            body data-live=(kind) data-subject=(subject) {
                a.skip href="#main" { (t("skip-to-content")) }
                header.top {
                    a.brand href="/" { (PreEscaped(LOGO)) span { "Luminex" } }
                    form.search role="search" method="get" action="/find" {
                        label for="q" .visually-hidden { (t("search-label")) }
                        input #q type="search" name="q" required maxlength="200"
                            placeholder=(t("search-placeholder")) autocomplete="off";
                        button type="submit" { (t("search")) }
                    }
                }
                main #main tabindex="-1" { (body) }
                p #live-status .visually-hidden aria-live="polite" data-updated=(t("live-updated")) {}
                footer {
                    p {
                        (t("footer-served")) " · "
                        a href="/wallet" { (t("footer-wallet")) } " · "
                        a href="/admin" { (t("footer-admin")) } " · "
                        a href="/docs" { (t("footer-api")) } " · "
                        a href="/metrics" { (t("footer-metrics")) }
                    }
                    @if let Some(base) = &switch_base {
                        nav.languages aria-label=(t("footer-language")) {
                            @for (i, other) in Lang::ALL.into_iter().enumerate() {
                                @if i > 0 { " · " }
                                @if other == lang {
                                    span aria-current="true" { (other.name()) }
                                } @else {
                                    a href={ (base) "lang=" (other.code()) } lang=(other.code()) hreflang=(other.code()) { (other.name()) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The brand mark, inline so it costs no request.
const LOGO: &str = r#"<svg aria-hidden="true" width="22" height="22" viewBox="0 0 24 24"><circle cx="12" cy="12" r="10" fill="none" stroke="currentColor" stroke-width="2"/><path d="M7 12h10M12 7v10" stroke="currentColor" stroke-width="2"/></svg>"#;
