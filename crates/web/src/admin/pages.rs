//! The dashboard's pages and actions.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::FormRejection;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;
use luminex_primitives::Hash;
use maud::{html, Markup};

use super::audit::{Entry, SHOWN};
use super::{authorize, form_fields, frame, viewer, Admin, Problem, Session};
use crate::format::{bytes, coins, grouped, rate_per_kb, short};
use crate::i18n::{t, t_args};

type FormResult = Result<Form<HashMap<String, String>>, FormRejection>;

/// Why a peer action failed, in the audit log.
const P2P_OFF: &str = "peer-to-peer networking is off on this node";

/// The page of an action that failed: why, and that nothing changed.
fn not_done(status: StatusCode, why: String) -> Response {
    Problem::new(
        status,
        t("admin-not-done"),
        t_args("admin-nothing-changed", [("why", why.into())]),
    )
    .into_response()
}

/// Transactions each mempool table shows at most.
const POOL_ROWS: usize = 50;

fn duration(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    match (d, h, m) {
        (0, 0, 0) => format!("{s} s"),
        (0, 0, _) => format!("{m} min {s} s"),
        (0, _, _) => format!("{h} h {m} min"),
        _ => format!("{d} d {h} h"),
    }
}

/// `GET /admin`: the node at a glance.
pub async fn overview(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let s = match viewer(&admin, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let node = &admin.node;
    let tip = node.chain.tip();
    let role = t(match node.role() {
        "validator" => "admin-role-validator",
        "follower" => "admin-role-follower",
        "producer" => "admin-role-producer",
        _ => "admin-role-full-node",
    });
    let net = node.net.get().map(|n| n.info());
    let (inbound, outbound) = net.as_ref().map_or((0, 0), |i| {
        let inb = i.peers.iter().filter(|p| p.direction == "inbound").count();
        (inb, i.peers.len() - inb)
    });
    let (cpu, rss) = luminex_service::metrics::process_usage();
    let accepted = node.metrics.transactions_accepted.get();
    let uptime = node.started.elapsed();
    // Rates since the previous view (or since start on the first).
    let now = Instant::now();
    let (span, cpu0, acc0) = {
        let mut last = admin.sample.lock();
        let prev = last.filter(|(t, _, _)| now.duration_since(*t).as_secs_f64() >= 1.0);
        let r = match prev {
            Some((t, c, a)) => (now.duration_since(t).as_secs_f64(), c, a),
            None => (uptime.as_secs_f64(), 0.0, 0),
        };
        if last.is_none() || prev.is_some() {
            *last = Some((now, cpu, accepted));
        }
        r
    };
    let cpu_pct = (span > 0.0).then(|| 100.0 * (cpu - cpu0).max(0.0) / span);
    let tx_rate = (span > 0.0).then(|| accepted.saturating_sub(acc0) as f64 / span);
    let (pool_txs, pool_bytes, pool_max) = {
        let p = node.mempool.read();
        (p.len(), p.bytes(), p.max_bytes())
    };
    let sync = net.as_ref().map(|i| i.sync);
    let best = sync
        .as_ref()
        .map_or(tip.height, |p| p.best_peer_height.max(tip.height));
    let progress = if best == 0 {
        100.0
    } else {
        100.0 * tip.height as f64 / best as f64
    };
    let body = html! {
        h1 { (t("admin-node-dashboard")) span.chain { " · " (t_args("admin-chain", [("chain", node.spec.name.to_string().into())])) } }
        section.figures aria-label=(t("admin-node-figures")) {
            dl {
                div { dt { (t("version")) } dd { (env!("CARGO_PKG_VERSION")) } }
                div { dt { (t("admin-uptime")) } dd #uptime { (duration(uptime.as_secs())) } }
                div { dt { (t("admin-role")) } dd { (role) } }
                div { dt { (t("height")) } dd #height { a href={"/block/" (tip.height)} { (grouped(tip.height)) } } }
                div { dt { (t("admin-sync")) } dd {
                    @if sync.as_ref().is_some_and(|p| p.syncing) { (t("admin-syncing")) " · " }
                    (t_args("admin-sync-progress", [("progress", format!("{progress:.1}").into()), ("best", grouped(best).into())]))
                } }
                div { dt { (t("admin-peers-in-out")) } dd #peers-count {
                    @if net.is_some() { (inbound) " / " (outbound) } @else { (t("admin-networking-off")) }
                } }
                div { dt { (t("admin-cpu")) } dd { @if let Some(p) = cpu_pct { (format!("{p:.1} %")) } @else { "—" } } }
                div { dt { (t("admin-memory")) } dd { (bytes(rss)) } }
                div { dt { (t("admin-disk")) } dd { (bytes(node.chain.disk_space())) } }
                div { dt { (t("mempool")) } dd #mempool-count { (t_args("txs-and-bytes", [("txs", grouped(pool_txs as u64).into()), ("bytes", bytes(pool_bytes as u64).into())])) } }
                div { dt { (t("admin-accepted-rate")) } dd { @if let Some(r) = tx_rate { (format!("{r:.2}")) } @else { "—" } } }
            }
        }
        p.note {
            (t_args(
                if acc0 == 0 && cpu0 == 0.0 { "admin-rates-since-start" } else { "admin-rates-since-view" },
                [
                    ("span", format!("{span:.0}").into()),
                    ("cpu", format!("{cpu:.1}").into()),
                    ("capacity", bytes(pool_max as u64).into()),
                    ("accepted", grouped(accepted).into()),
                ],
            ))
        }
    };
    frame(&t("admin-dashboard"), "/admin", &s, body)
}

/// `GET /admin/peers`: connected and banned peers.
pub async fn peers(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let s = match viewer(&admin, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let info = admin.node.net.get().map(|n| n.info());
    let body = html! {
        h1 { (t("admin-nav-peers")) }
        @match &info {
            None => p.note { (t("admin-p2p-off-note")) },
            Some(i) => {
                p { (t("admin-this-node")) " " code.wrap { (i.peer_id) } " · " (t_args("admin-reachability", [("reachability", i.reachability.to_string().into())])) }
                @if i.peers.is_empty() {
                    p.note #no-peers { (t("admin-no-peers")) }
                } @else {
                    table #peers {
                        caption.visually-hidden { (t("admin-connected-peers")) }
                        thead { tr {
                            th scope="col" { (t("admin-peer")) } th scope="col" { (t("address")) } th scope="col" { (t("admin-direction")) }
                            th scope="col" .num { (t("admin-ping")) } th scope="col" .num { (t("admin-score")) } th scope="col" .num { (t("height")) }
                            th scope="col" { (t("admin-actions")) }
                        } }
                        tbody {
                            @for p in &i.peers {
                                tr {
                                    td.mono.wrap title=(p.peer_id) { (crate::format::short_str(&p.peer_id)) }
                                    td.mono.wrap { (p.address) }
                                    td { (p.direction) }
                                    td.num { @if let Some(r) = p.rtt_ms { (format!("{r:.0} ms")) } @else { "—" } }
                                    td.num { (format!("{:.1}", p.score)) }
                                    td.num { @if let Some(h) = p.height { (grouped(h)) } @else { "—" } }
                                    td.actions {
                                        (action_form("/admin/peers/disconnect", "peer", &p.peer_id, &s.csrf, &t("admin-disconnect"), &t_args("admin-disconnect-peer", [("peer", p.peer_id.as_str().into())])))
                                        (action_form("/admin/peers/ban", "peer", &p.peer_id, &s.csrf, &t("admin-ban"), &t_args("admin-ban-peer-id", [("peer", p.peer_id.as_str().into())])))
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { (t("admin-add-or-ban")) }
                form.admin-login method="post" action="/admin/peers/add" {
                    p {
                        label for="add-address" { (t("admin-dial-label")) }
                        input #add-address type="text" name="address" required spellcheck="false" autocomplete="off";
                    }
                    input type="hidden" name="csrf" value=(s.csrf);
                    button type="submit" { (t("admin-add-peer")) }
                }
                form.admin-login method="post" action="/admin/peers/ban" {
                    p {
                        label for="ban-peer" { (t("admin-ban-label")) }
                        input #ban-peer type="text" name="peer" required spellcheck="false" autocomplete="off";
                    }
                    input type="hidden" name="csrf" value=(s.csrf);
                    button type="submit" { (t("admin-ban-peer")) }
                }
                h2 { (t("admin-banned")) }
                @if i.banned.is_empty() {
                    p.note { (t("admin-none-banned")) }
                } @else {
                    ul.plain { @for b in &i.banned { li.mono.wrap { (b) } } }
                }
            }
        }
    };
    frame(&t("admin-nav-peers"), "/admin/peers", &s, body)
}

fn action_form(
    action: &str,
    field: &str,
    value: &str,
    csrf: &str,
    label: &str,
    aria: &str,
) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name=(field) value=(value);
            input type="hidden" name="csrf" value=(csrf);
            button.small type="submit" aria-label=(aria) { (label) }
        }
    }
}

fn done_page(
    admin: &Admin,
    s: &super::Session,
    title: &str,
    message: String,
    back: &str,
    audited: bool,
) -> Response {
    let here = back.to_string();
    let body = html! {
        section.done role="status" {
            h1 { (title) }
            p #outcome { (message) }
            @if !audited {
                p.problem { (t("admin-audit-not-written")) }
            }
            p { a href=(back) { (t("admin-back")) } " · " a href="/admin/audit" { (t("admin-nav-audit")) } }
        }
    };
    let _ = admin;
    frame(title, &here, s, body)
}

/// An operator's form for `action`: its fields parsed, the session and
/// CSRF token checked, the operator key required; returns the trimmed
/// value of `field` (the action's subject) and the session, or the refusal
/// page (already in the audit log).
fn operator_form(
    admin: &Admin,
    headers: &HeaderMap,
    f: FormResult,
    action: &str,
    field: &str,
) -> Result<(String, Session), Box<Response>> {
    let form = form_fields(f)?;
    let subject = form
        .get(field)
        .map(|v| v.trim().to_string())
        .unwrap_or_default();
    let s = authorize(admin, headers, &form, action, &subject, true)?;
    Ok((subject, s))
}

async fn peer_action(admin: Arc<Admin>, headers: HeaderMap, f: FormResult, ban: bool) -> Response {
    let action = if ban { "ban peer" } else { "disconnect peer" };
    let (peer, s) = match operator_form(&admin, &headers, f, action, "peer") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    // Errors: the audit log's words (English, like the rest of the log)
    // and the page's.
    let result = match admin.node.net.get() {
        None => Err((P2P_OFF.to_string(), t("admin-p2p-off"))),
        Some(n) if ban => n.ban(&peer).map_err(|e| (e.to_string(), e.to_string())),
        Some(n) => n
            .disconnect(&peer)
            .map_err(|e| (e.to_string(), e.to_string())),
    };
    let (title, msg) = if ban {
        ("admin-peer-banned", "admin-peer-banned-message")
    } else {
        ("admin-peer-disconnected", "admin-peer-disconnected-message")
    };
    let done = (t(title), t_args(msg, [("peer", peer.as_str().into())]));
    peer_outcome(&admin, &s, action, &peer, result, done)
}

/// The page of a peer action that ran, and its line in the audit log: done
/// (`done` is the page's title and message), or failed (the error in the
/// log's words and in the page's), nothing changed.
fn peer_outcome(
    admin: &Admin,
    s: &Session,
    action: &str,
    subject: &str,
    result: Result<(), (String, String)>,
    done: (String, String),
) -> Response {
    match result {
        Ok(()) => {
            let audited = admin
                .audit
                .record(&Entry::now(&s.who(), action, subject, "done"));
            done_page(admin, s, &done.0, done.1, "/admin/peers", audited)
        }
        Err((logged, shown)) => {
            admin.audit.record(&Entry::now(
                &s.who(),
                action,
                subject,
                &format!("failed: {logged}"),
            ));
            not_done(StatusCode::BAD_REQUEST, shown)
        }
    }
}

/// `POST /admin/peers/add` (operator): dials an address.
pub async fn add_peer(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    f: FormResult,
) -> Response {
    let action = "add peer";
    let (address, s) = match operator_form(&admin, &headers, f, action, "address") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let result = match (admin.node.net.get(), luminex_p2p::parse_dial_addr(&address)) {
        (_, Err(e)) => {
            let term = crate::format::short_str(&address);
            Err((
                format!("“{term}” is not a multiaddr ({e})"),
                t_args(
                    "admin-not-multiaddr",
                    [("term", term.into()), ("error", e.to_string().into())],
                ),
            ))
        }
        (None, _) => Err((P2P_OFF.to_string(), t("admin-p2p-off"))),
        (Some(n), Ok(a)) => n.dial(a).map_err(|e| (e.to_string(), e.to_string())),
    };
    let done = (
        t("admin-dialing"),
        t_args(
            "admin-dialing-message",
            [("address", address.as_str().into())],
        ),
    );
    // The audit log keeps an address whole, and what is too long to be
    // one shortened.
    let subject = match address.len() <= luminex_p2p::MAX_DIAL_ADDR {
        true => address.clone(),
        false => crate::format::short_str(&address),
    };
    peer_outcome(&admin, &s, action, &subject, result, done)
}

/// `POST /admin/peers/disconnect` (operator): closes a peer's connections.
pub async fn disconnect(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    f: FormResult,
) -> Response {
    peer_action(admin, headers, f, false).await
}

/// `POST /admin/peers/ban` (operator): disconnects and bans a peer.
pub async fn ban(State(admin): State<Arc<Admin>>, headers: HeaderMap, f: FormResult) -> Response {
    peer_action(admin, headers, f, true).await
}

struct Row {
    txid: Hash,
    size: usize,
    fee: u64,
    fee_rate: u64,
    sequence: u64,
}

/// `GET /admin/mempool`: pending transactions by fee rate, the largest and
/// the oldest.
pub async fn mempool(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let s = match viewer(&admin, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let (mut rows, count, total, max) = {
        let p = admin.node.mempool.read();
        let rows: Vec<Row> = p
            .entries()
            .map(|e| Row {
                txid: e.txid,
                size: e.size,
                fee: e.fee.base(),
                fee_rate: e.fee_rate,
                sequence: e.sequence,
            })
            .collect();
        (rows, p.len(), p.bytes(), p.max_bytes())
    };
    rows.sort_by(|a, b| {
        b.fee_rate
            .cmp(&a.fee_rate)
            .then(a.sequence.cmp(&b.sequence))
    });
    let by_rate: Vec<&Row> = rows.iter().take(POOL_ROWS).collect();
    let mut largest: Vec<&Row> = rows.iter().collect();
    largest.sort_by(|a, b| b.size.cmp(&a.size).then(a.sequence.cmp(&b.sequence)));
    largest.truncate(10);
    let mut oldest: Vec<&Row> = rows.iter().collect();
    oldest.sort_by_key(|r| r.sequence);
    oldest.truncate(10);
    let table = |id: &str, caption: &str, rows: &[&Row]| {
        html! {
            table id=(id) {
                caption.visually-hidden { (caption) }
                thead { tr {
                    th scope="col" { (t("transaction")) } th scope="col" .num { (t("admin-fee-rate")) } th scope="col" .num { (t("fee")) }
                    th scope="col" .num { (t("size")) } th scope="col" { (t("admin-actions")) }
                } }
                tbody {
                    @for r in rows {
                        tr {
                            td.mono { a href={"/tx/" (r.txid)} title=(r.txid) { (short(&r.txid)) } }
                            td.num { (rate_per_kb(r.fee_rate)) }
                            td.num { (coins(r.fee)) }
                            td.num { (bytes(r.size as u64)) }
                            td.actions { (action_form("/admin/mempool/remove", "txid", &r.txid.to_string(), &s.csrf, &t("admin-remove"), &t_args("admin-remove-tx", [("txid", r.txid.to_string().into())]))) }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        h1 { (t("mempool")) }
        p #pool-summary { (t_args("admin-pool-summary", [("count", grouped(count as u64).into()), ("bytes", bytes(total as u64).into()), ("max", bytes(max as u64).into())])) }
        @if rows.is_empty() {
            p.note #pool-empty { (t("admin-pool-empty")) }
        } @else {
            p.note { (t("admin-pool-remove-note")) }
            h2 { (t("admin-by-fee-rate")) @if count > POOL_ROWS { " " (t_args("admin-the-first", [("n", POOL_ROWS.into())])) } }
            (table("by-rate", &t("admin-caption-by-rate"), &by_rate))
            h2 { (t("admin-largest")) }
            (table("largest", &t("admin-caption-largest"), &largest))
            h2 { (t("admin-oldest")) }
            (table("oldest", &t("admin-caption-oldest"), &oldest))
        }
    };
    frame(&t("mempool"), "/admin/mempool", &s, body)
}

/// `POST /admin/mempool/remove` (operator): drops a pending transaction and
/// those spending it.
pub async fn remove_tx(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    f: FormResult,
) -> Response {
    let action = "remove transaction";
    let (txid, s) = match operator_form(&admin, &headers, f, action, "txid") {
        Ok(v) => v,
        Err(r) => return *r,
    };
    // The audit log's words (English) and the page's.
    let fail = |logged: &str, shown: &str, status: StatusCode| {
        admin.audit.record(&Entry::now(
            &s.who(),
            action,
            &txid,
            &format!("failed: {logged}"),
        ));
        not_done(status, t(shown))
    };
    let Ok(hash) = txid.parse::<Hash>() else {
        return fail(
            "that is not a transaction id (64 hexadecimal characters)",
            "admin-not-a-txid",
            StatusCode::BAD_REQUEST,
        );
    };
    let removed = admin.node.mempool.write().remove_with_descendants(&hash);
    if removed.is_empty() {
        return fail(
            "no such transaction is pending (it may have been confirmed or removed already)",
            "admin-not-pending",
            StatusCode::NOT_FOUND,
        );
    }
    let n = removed.len();
    let outcome = if n == 1 {
        "done".to_string()
    } else {
        format!("done ({} spending it removed too)", n - 1)
    };
    let audited = admin
        .audit
        .record(&Entry::now(&s.who(), action, &txid, &outcome));
    tracing::info!(%hash, removed = n, who = %s.who(), "removed a transaction from the mempool at an operator's request");
    let msg = t_args(
        "admin-tx-removed-message",
        [("txid", txid.as_str().into()), ("more", (n - 1).into())],
    );
    done_page(
        &admin,
        &s,
        &t("admin-tx-removed"),
        msg,
        "/admin/mempool",
        audited,
    )
}

/// The most pages back the audit page goes (what the rotated files hold
/// is far less).
const MAX_AUDIT_PAGE: usize = 10_000;

/// `GET /admin/audit?page=N&only=done`: admin actions, newest first, a
/// page at a time; `only=done` leaves out refusals and failures, so a
/// stream of refused attempts cannot push the operator's actions out of
/// sight. A page number that is not one reads as the first page.
pub async fn audit_page(
    State(admin): State<Arc<Admin>>,
    headers: HeaderMap,
    query: Result<
        axum::extract::Query<HashMap<String, String>>,
        axum::extract::rejection::QueryRejection,
    >,
) -> Response {
    let s = match viewer(&admin, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let q = query.map(|axum::extract::Query(q)| q).unwrap_or_default();
    let page = q
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .filter(|p| (1..=MAX_AUDIT_PAGE).contains(p))
        .unwrap_or(1);
    let only_done = q.get("only").is_some_and(|o| o == "done");
    let entries = admin.audit.page((page - 1) * SHOWN, SHOWN, |e| {
        !only_done || e.outcome.starts_with("done")
    });
    let more = matches!(&entries, Ok((_, true)));
    let entries = entries.map(|(list, _)| list);
    let filter = if only_done { "&only=done" } else { "" };
    let body = html! {
        h1 { (t("admin-nav-audit")) }
        p.note { (t_args("admin-audit-note", [("n", SHOWN.into())])) " " code { (admin.audit.path().display()) } "." }
        p {
            @if only_done { a href="/admin/audit" { (t("admin-audit-all")) } }
            @else { a href="/admin/audit?only=done" { (t("admin-audit-only-done")) } }
        }
        @if page > 1 || more {
            nav.pager aria-label=(t("admin-audit-pages")) {
                @if page > 1 { a rel="prev" href={"/admin/audit?page=" (page - 1) (filter)} { "← " (t("admin-audit-newer")) } }
                @if more { a rel="next" href={"/admin/audit?page=" (page + 1) (filter)} { (t("admin-audit-older")) " →" } }
            }
        }
        @match &entries {
            Err(e) => p.problem role="alert" { (t("admin-audit-unreadable")) " " (e) },
            Ok(list) if list.is_empty() && page > 1 => p.note #audit-empty { (t("admin-audit-no-older")) },
            Ok(list) if list.is_empty() => p.note #audit-empty { (t("admin-audit-empty")) },
            Ok(list) => table #audit {
                caption.visually-hidden { (t("admin-audit-caption")) }
                thead { tr {
                    th scope="col" { (t("admin-when")) } th scope="col" { (t("admin-who")) } th scope="col" { (t("admin-what")) }
                    th scope="col" { (t("admin-on")) } th scope="col" { (t("admin-outcome")) }
                } }
                tbody {
                    @for e in list {
                        tr {
                            td { (e.when()) }
                            td { (e.who) }
                            td { (e.action) }
                            td.mono.wrap { (e.subject) }
                            td { @if e.outcome.starts_with("done") { span.badge.ok { (e.outcome) } } @else { span.badge.warn { (e.outcome) } } }
                        }
                    }
                }
            },
        }
    };
    frame(&t("admin-nav-audit"), "/admin/audit", &s, body)
}

/// `GET /admin/settings`: the effective configuration, secrets redacted.
pub async fn settings(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let s = match viewer(&admin, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let body = html! {
        h1 { (t("admin-nav-settings")) }
        p.note {
            (t("admin-settings-note-before")) " "
            code { "luminex.toml" } " " (t("admin-settings-note-after"))
        }
        @if admin.settings.is_empty() {
            p.note { (t("admin-settings-none")) }
        } @else {
            table #settings {
                caption.visually-hidden { (t("admin-settings-caption")) }
                thead { tr { th scope="col" { (t("admin-setting")) } th scope="col" { (t("admin-value")) } } }
                tbody {
                    @for (k, v) in &admin.settings {
                        tr { td.mono { (k) } td.mono.wrap { (v) } }
                    }
                }
            }
        }
    };
    frame(&t("admin-nav-settings"), "/admin/settings", &s, body)
}
