//! Listing, creating, restoring, unlocking and locking wallets.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use luminex_wallet::recovery::{self, scan};
use luminex_wallet::{SecretKind, Wallet, WalletError, WalletFile};
use maud::html;
use rand::seq::index::sample;

use super::{
    acting, checked, csrf_field, frame, problem, task_failed, valid_name, visitor, with_status,
    Creating, FormResult, Open, Visitor, Wallets,
};
use crate::i18n::{t, t_args};

/// Gap limits of a restore (as `luminex wallet restore`'s defaults).
pub(crate) const GAP_RECEIVE: u32 = recovery::RECEIVE_GAP;
pub(crate) const GAP_CHANGE: u32 = recovery::CHANGE_GAP;

/// Whether `address` was paid or spent from in a block of the node's chain.
pub(crate) fn address_used(node: &luminex_service::Node, address: &str) -> bool {
    node.spec
        .parse_address(address)
        .ok()
        .and_then(|a| node.chain.address_history(&a.lock, None, 1).ok())
        .is_some_and(|rows| !rows.is_empty())
}

/// Shortest passphrase accepted for a new wallet.
const MIN_PASSPHRASE: usize = luminex_wallet::MIN_PASSPHRASE_CHARS;

/// One wallet file, as listed.
struct Listed {
    name: String,
    kind: &'static str,
    addresses: usize,
    unlocked: bool,
}

/// The wallet files of the directory, by name; files that are not this
/// chain's wallets are left out.
fn listed(w: &Wallets, v: &Visitor) -> Vec<Listed> {
    let Ok(entries) = std::fs::read_dir(&w.dir) else {
        return Vec::new();
    };
    let open: Vec<String> = w.with_held(&v.id, |h| h.open.keys().cloned().collect());
    let mut list: Vec<Listed> = entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let path = e.path();
            let name = path
                .file_name()?
                .to_str()?
                .strip_suffix(".json")?
                .to_string();
            if !valid_name(&name) {
                return None;
            }
            let file = WalletFile::read(&path, &w.node.spec).ok()?;
            Some(Listed {
                kind: match file.secret {
                    SecretKind::Mnemonic => "wallet-kind-phrase",
                    SecretKind::DevKey { .. } => "wallet-kind-dev-key",
                    SecretKind::WatchOnly => "wallet-kind-watch-only",
                    SecretKind::Imported => "wallet-kind-imported",
                },
                addresses: file.addresses.len() + file.change.len(),
                unlocked: open.contains(&name),
                name,
            })
        })
        .collect();
    list.sort_by(|a, b| a.name.cmp(&b.name));
    list
}

/// `GET /wallet`: the node's wallets.
pub async fn list(State(w): State<Arc<Wallets>>, headers: HeaderMap) -> Response {
    let v = match visitor(&w, &headers) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let wallets = listed(&w, &v);
    let body = html! {
        h1 { (t("wallet-title")) }
        p.note { (t("wallet-list-note")) " " code { (w.dir.display()) } }
        @if wallets.is_empty() {
            p #no-wallets { (t("wallet-none")) }
        } @else {
            table #wallets {
                caption.visually-hidden { (t("wallet-list-caption")) }
                thead { tr {
                    th scope="col" { (t("wallet-name")) } th scope="col" { (t("wallet-kind")) }
                    th scope="col" .num { (t("wallet-addresses")) } th scope="col" { (t("wallet-state")) }
                } }
                tbody {
                    @for l in &wallets {
                        tr {
                            td { a href={"/wallet/w/" (l.name)} { (l.name) } }
                            td { (t(l.kind)) }
                            td.num { (l.addresses) }
                            td { @if l.unlocked { span.badge.ok { (t("wallet-unlocked")) } } @else { span.badge { (t("wallet-locked")) } } }
                        }
                    }
                }
            }
        }
        p { a.button href="/wallet/create" { (t("wallet-nav-create")) } " " a.button href="/wallet/restore" { (t("wallet-nav-restore")) } }
    };
    frame(&t("wallet-title"), &v, body)
}

/// The fields shared by the create and restore forms.
fn name_and_passphrase_fields(name: &str) -> maud::Markup {
    html! {
        p {
            label for="name" { (t("wallet-name")) }
            input #name type="text" name="name" value=(name) required maxlength="64" pattern="[A-Za-z0-9_\\-]+" autocomplete="off" spellcheck="false" aria-describedby="name-hint";
            small #name-hint { (t("wallet-name-hint")) }
        }
        p {
            label for="passphrase" { (t("wallet-passphrase")) }
            input #passphrase type="password" name="passphrase" required minlength=(MIN_PASSPHRASE) autocomplete="new-password";
        }
        p {
            label for="passphrase2" { (t("wallet-passphrase-again")) }
            input #passphrase2 type="password" name="passphrase2" required minlength=(MIN_PASSPHRASE) autocomplete="new-password";
        }
    }
}

fn create_page(v: &Visitor, status: StatusCode, name: &str, error: Option<&str>) -> Response {
    let body = html! {
        h1 { (t("wallet-create-title")) }
        @if let Some(e) = error { p.problem role="alert" #form-error { (e) } }
        p.note { (t("wallet-create-note")) }
        form.wallet-form method="post" action="/wallet/create" {
            (name_and_passphrase_fields(name))
            (csrf_field(v))
            button type="submit" { (t("wallet-create-button")) }
        }
    };
    with_status(status, frame(&t("wallet-create-title"), v, body))
}

/// `GET /wallet/create`.
pub async fn create_form(State(w): State<Arc<Wallets>>, headers: HeaderMap) -> Response {
    match visitor(&w, &headers) {
        Ok(v) => create_page(&v, StatusCode::OK, "", None),
        Err(r) => *r,
    }
}

/// A new wallet's name and passphrase, checked: the message key of what is
/// wrong, else both.
fn new_name_and_passphrase(
    w: &Wallets,
    form: &std::collections::HashMap<String, String>,
) -> Result<(String, zeroize::Zeroizing<String>), (StatusCode, String)> {
    let name = form.get("name").map(|s| s.trim()).unwrap_or("").to_string();
    if !valid_name(&name) {
        return Err((StatusCode::BAD_REQUEST, t("wallet-bad-name")));
    }
    if w.path_of(&name).exists() {
        return Err((
            StatusCode::CONFLICT,
            t_args("wallet-exists", [("name", name.as_str().into())]),
        ));
    }
    let pass = zeroize::Zeroizing::new(form.get("passphrase").cloned().unwrap_or_default());
    if pass.chars().count() < MIN_PASSPHRASE {
        return Err((
            StatusCode::BAD_REQUEST,
            t_args("wallet-passphrase-short", [("min", MIN_PASSPHRASE.into())]),
        ));
    }
    if form.get("passphrase2").map(String::as_str) != Some(pass.as_str()) {
        return Err((StatusCode::BAD_REQUEST, t("wallet-passphrases-differ")));
    }
    Ok((name, pass))
}

/// `POST /wallet/create`: a fresh phrase, shown once; the wallet is kept in
/// the node's memory until the user types back three of its words.
pub async fn create(State(w): State<Arc<Wallets>>, headers: HeaderMap, f: FormResult) -> Response {
    let (form, v) = match checked(&w, &headers, f) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let typed_name = form.get("name").cloned().unwrap_or_default();
    let (name, pass) = match new_name_and_passphrase(&w, &form) {
        Ok(x) => x,
        Err((status, msg)) => return create_page(&v, status, &typed_name, Some(&msg)),
    };
    let spec = w.node.spec.clone();
    let Ok((wallet, phrase)) =
        tokio::task::spawn_blocking(move || Wallet::create(&spec, spec.default_scheme, &pass))
            .await
    else {
        return task_failed();
    };
    let words: zeroize::Zeroizing<Vec<String>> =
        zeroize::Zeroizing::new(phrase.split_whitespace().map(str::to_string).collect());
    let mut check = [0usize; 3];
    let mut picked = sample(&mut rand::rngs::OsRng, words.len(), 3).into_vec();
    picked.sort_unstable();
    check.copy_from_slice(&picked);
    w.with_held(&v.id, |h| {
        h.creating = Some(Creating {
            name: name.clone(),
            wallet,
            check,
            answers: check.map(|i| zeroize::Zeroizing::new(words[i].clone())),
        })
    });
    let body = html! {
        h1 { (t("wallet-phrase-title")) }
        p.problem role="note" { (t("wallet-phrase-once")) }
        ol.phrase #phrase {
            @for word in words.iter() { li { span.mono { (word) } } }
        }
        p { (t("wallet-phrase-then")) }
        (confirm_form(&v, &check))
    };
    frame(&t("wallet-phrase-title"), &v, body)
}

/// The form asking for the words at `check`.
fn confirm_form(v: &Visitor, check: &[usize; 3]) -> maud::Markup {
    html! {
        form.wallet-form method="post" action="/wallet/create/confirm" {
            @for (i, pos) in check.iter().enumerate() {
                p {
                    label for={"word" (i)} { (t_args("wallet-word-n", [("n", (pos + 1).into())])) }
                    input id={"word" (i)} type="text" name={"word" (i)} required autocomplete="off" spellcheck="false" autocapitalize="none";
                }
            }
            (csrf_field(v))
            button type="submit" { (t("wallet-confirm-button")) }
        }
    }
}

/// `POST /wallet/create/confirm`: the three words right, the wallet is
/// written (and stays unlocked); wrong, nothing is written and the user may
/// try again or start over.
pub async fn confirm_created(
    State(w): State<Arc<Wallets>>,
    headers: HeaderMap,
    f: FormResult,
) -> Response {
    let (form, v) = match checked(&w, &headers, f) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let outcome = w.with_held(&v.id, |h| {
        let Some(c) = &h.creating else {
            return Err(None);
        };
        let right = c.answers.iter().enumerate().all(|(i, want)| {
            form.get(&format!("word{i}"))
                .is_some_and(|typed| *luminex_wallet::normalize_phrase(typed) == **want)
        });
        if !right {
            return Err(Some(c.check));
        }
        let c = h.creating.take().expect("checked above");
        Ok(c)
    });
    let c = match outcome {
        Ok(c) => c,
        Err(None) => {
            return problem(
                StatusCode::CONFLICT,
                &t("wallet-not-done"),
                &t("wallet-no-creation"),
            )
        }
        Err(Some(check)) => {
            let body = html! {
                h1 { (t("wallet-phrase-title")) }
                p.problem role="alert" #form-error { (t("wallet-words-wrong")) }
                (confirm_form(&v, &check))
                p { a href="/wallet/create" { (t("wallet-start-over")) } }
            };
            return with_status(
                StatusCode::BAD_REQUEST,
                frame(&t("wallet-phrase-title"), &v, body),
            );
        }
    };
    if let Err(e) = c.wallet.save(&w.path_of(&c.name), true) {
        tracing::warn!(error = %e, "could not write a new wallet");
        return problem(
            StatusCode::CONFLICT,
            &t("wallet-not-done"),
            &t_args("wallet-not-written", [("error", e.to_string().into())]),
        );
    }
    tracing::info!(wallet = %c.name, "wallet created from the wallet pages");
    let path = format!("/wallet/w/{}", c.name);
    w.with_held(&v.id, |h| {
        h.open.insert(
            c.name,
            Open {
                wallet: c.wallet,
                last_used: Instant::now(),
            },
        )
    });
    Redirect::to(&path).into_response()
}

fn restore_page(v: &Visitor, status: StatusCode, name: &str, error: Option<&str>) -> Response {
    let body = html! {
        h1 { (t("wallet-restore-title")) }
        @if let Some(e) = error { p.problem role="alert" #form-error { (e) } }
        p.note { (t_args("wallet-restore-note", [("receive", GAP_RECEIVE.into()), ("change", GAP_CHANGE.into())])) }
        form.wallet-form method="post" action="/wallet/restore" {
            p {
                label for="phrase" { (t("wallet-phrase")) }
                textarea #phrase name="phrase" rows="4" required autocomplete="off" spellcheck="false" autocapitalize="none" {}
            }
            (name_and_passphrase_fields(name))
            (csrf_field(v))
            button type="submit" { (t("wallet-restore-button")) }
        }
    };
    with_status(status, frame(&t("wallet-restore-title"), v, body))
}

/// `GET /wallet/restore`.
pub async fn restore_form(State(w): State<Arc<Wallets>>, headers: HeaderMap) -> Response {
    match visitor(&w, &headers) {
        Ok(v) => restore_page(&v, StatusCode::OK, "", None),
        Err(r) => *r,
    }
}

/// `POST /wallet/restore`: a wallet from its phrase, with the addresses it
/// used found on the node's chain (gap limits as the CLI's).
pub async fn restore(State(w): State<Arc<Wallets>>, headers: HeaderMap, f: FormResult) -> Response {
    let (form, v) = match checked(&w, &headers, f) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let typed_name = form.get("name").cloned().unwrap_or_default();
    let (name, pass) = match new_name_and_passphrase(&w, &form) {
        Ok(x) => x,
        Err((status, msg)) => return restore_page(&v, status, &typed_name, Some(&msg)),
    };
    let phrase = zeroize::Zeroizing::new(form.get("phrase").cloned().unwrap_or_default());
    let node = w.node.clone();
    let restored = tokio::task::spawn_blocking(move || -> Result<Wallet, WalletError> {
        let spec = &node.spec;
        let mut wallet = Wallet::restore(spec, spec.default_scheme, &phrase, &pass)?;
        let Ok(_) = scan(&mut wallet, spec, GAP_RECEIVE, GAP_CHANGE, |a| {
            Ok::<_, std::convert::Infallible>(address_used(&node, a))
        });
        Ok(wallet)
    })
    .await;
    let wallet = match restored {
        Ok(Ok(wallet)) => wallet,
        Ok(Err(WalletError::Mnemonic(_))) => {
            return restore_page(
                &v,
                StatusCode::BAD_REQUEST,
                &typed_name,
                Some(&t("wallet-phrase-bad")),
            )
        }
        Ok(Err(e)) => {
            return restore_page(
                &v,
                StatusCode::BAD_REQUEST,
                &typed_name,
                Some(&e.to_string()),
            )
        }
        Err(_) => return task_failed(),
    };
    if let Err(e) = wallet.save(&w.path_of(&name), true) {
        return problem(
            StatusCode::CONFLICT,
            &t("wallet-not-done"),
            &t_args("wallet-not-written", [("error", e.to_string().into())]),
        );
    }
    tracing::info!(wallet = %name, "wallet restored from the wallet pages");
    let path = format!("/wallet/w/{name}");
    w.with_held(&v.id, |h| {
        h.open.insert(
            name,
            Open {
                wallet,
                last_used: Instant::now(),
            },
        )
    });
    Redirect::to(&path).into_response()
}

/// A wallet's name from the path, checked: it names a wallet file.
pub(crate) fn wallet_name(
    w: &Wallets,
    p: Result<Path<String>, PathRejection>,
) -> Result<String, Box<Response>> {
    let name = crate::explorer::path_param(p).map_err(|e| Box::new(e.into_response()))?;
    if !valid_name(&name) || !w.path_of(&name).is_file() {
        return Err(Box::new(problem(
            StatusCode::NOT_FOUND,
            &t("error-not-found"),
            &t_args(
                "wallet-no-such",
                [("name", crate::format::short_str(&name).into())],
            ),
        )));
    }
    Ok(name)
}

/// The page of a locked wallet: the passphrase form.
pub(crate) fn unlock_page(
    v: &Visitor,
    name: &str,
    status: StatusCode,
    error: Option<&str>,
) -> Response {
    let body = html! {
        h1 { (t_args("wallet-named", [("name", name.into())])) }
        @if let Some(e) = error { p.problem role="alert" #form-error { (e) } }
        p { (t("wallet-is-locked")) }
        form.wallet-form method="post" action={"/wallet/w/" (name) "/unlock"} {
            p {
                label for="passphrase" { (t("wallet-passphrase")) }
                input #passphrase type="password" name="passphrase" required autocomplete="current-password";
            }
            (csrf_field(v))
            button type="submit" { (t("wallet-unlock-button")) }
        }
    };
    with_status(status, frame(name, v, body))
}

/// `POST /wallet/w/{name}/unlock`: decrypts the wallet into the session.
pub async fn unlock(
    State(w): State<Arc<Wallets>>,
    p: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    f: FormResult,
) -> Response {
    let (form, v, name) = match acting(&w, &headers, p, f) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let pass = zeroize::Zeroizing::new(form.get("passphrase").cloned().unwrap_or_default());
    let (path, node) = (w.path_of(&name), w.node.clone());
    let loaded = tokio::task::spawn_blocking(move || Wallet::load(&path, &node.spec, &pass)).await;
    match loaded {
        Ok(Ok(wallet)) => {
            w.with_held(&v.id, |h| {
                h.open.insert(
                    name.clone(),
                    Open {
                        wallet,
                        last_used: Instant::now(),
                    },
                )
            });
            Redirect::to(&format!("/wallet/w/{name}")).into_response()
        }
        Ok(Err(WalletError::Keystore(_))) => unlock_page(
            &v,
            &name,
            StatusCode::UNAUTHORIZED,
            Some(&t("wallet-wrong-passphrase")),
        ),
        Ok(Err(WalletError::WatchOnly)) => unlock_page(
            &v,
            &name,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&t("wallet-watch-only")),
        ),
        Ok(Err(e)) => unlock_page(
            &v,
            &name,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(&e.to_string()),
        ),
        Err(_) => task_failed(),
    }
}

/// `POST /wallet/w/{name}/lock`: forgets the decrypted wallet.
pub async fn lock(
    State(w): State<Arc<Wallets>>,
    p: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    f: FormResult,
) -> Response {
    let (_, v, name) = match acting(&w, &headers, p, f) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    w.with_held(&v.id, |h| {
        h.open.remove(&name);
        h.planned.retain(|_, p| p.wallet != name);
    });
    Redirect::to("/wallet").into_response()
}
