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

type FormResult = Result<Form<HashMap<String, String>>, FormRejection>;

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
    let role = match (node.spec.consensus, node.producing) {
        (luminex_ledger::spec::ConsensusKind::Bft, true) => "validator",
        (luminex_ledger::spec::ConsensusKind::Bft, false) => "follower",
        (_, true) => "producer",
        (_, false) => "full node",
    };
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
        h1 { "Node dashboard" span.chain { " · " (node.spec.name) " chain" } }
        section.figures aria-label="Node figures" {
            dl {
                div { dt { "Version" } dd { (env!("CARGO_PKG_VERSION")) } }
                div { dt { "Uptime" } dd #uptime { (duration(uptime.as_secs())) } }
                div { dt { "Role" } dd { (role) } }
                div { dt { "Height" } dd #height { a href={"/block/" (tip.height)} { (grouped(tip.height)) } } }
                div { dt { "Sync" } dd {
                    @if sync.as_ref().is_some_and(|p| p.syncing) { "syncing · " }
                    (format!("{progress:.1} %")) " of " (grouped(best))
                } }
                div { dt { "Peers in / out" } dd #peers-count {
                    @if net.is_some() { (inbound) " / " (outbound) } @else { "networking off" }
                } }
                div { dt { "CPU" } dd { @if let Some(p) = cpu_pct { (format!("{p:.1} %")) } @else { "—" } } }
                div { dt { "Memory" } dd { (bytes(rss)) } }
                div { dt { "Disk" } dd { (bytes(node.chain.disk_space())) } }
                div { dt { "Mempool" } dd #mempool-count { (grouped(pool_txs as u64)) " tx · " (bytes(pool_bytes as u64)) } }
                div { dt { "Accepted tx/s" } dd { @if let Some(r) = tx_rate { (format!("{r:.2}")) } @else { "—" } } }
            }
        }
        p.note {
            "CPU and accepted transactions per second are averaged since "
            @if acc0 == 0 && cpu0 == 0.0 { "the node started" } @else { "the previous view of this page" }
            (format!(" ({:.0} s); ", span)) "CPU time in all " (format!("{cpu:.1}")) " s, mempool capacity "
            (bytes(pool_max as u64)) ", " (grouped(accepted)) " transactions accepted since start."
        }
    };
    frame("Dashboard", "/admin", &s, body)
}

/// `GET /admin/peers`: connected and banned peers.
pub async fn peers(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let s = match viewer(&admin, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let info = admin.node.net.get().map(|n| n.info());
    let body = html! {
        h1 { "Peers" }
        @match &info {
            None => p.note { "Peer-to-peer networking is off on this node." },
            Some(i) => {
                p { "This node: " code.wrap { (i.peer_id) } " · reachability " (i.reachability) }
                @if i.peers.is_empty() {
                    p.note #no-peers { "No peers are connected." }
                } @else {
                    table #peers {
                        caption.visually-hidden { "Connected peers" }
                        thead { tr {
                            th scope="col" { "Peer" } th scope="col" { "Address" } th scope="col" { "Direction" }
                            th scope="col" .num { "Ping" } th scope="col" .num { "Score" } th scope="col" .num { "Height" }
                            th scope="col" { "Actions" }
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
                                        (action_form("/admin/peers/disconnect", "peer", &p.peer_id, &s.csrf, "Disconnect", &format!("Disconnect peer {}", p.peer_id)))
                                        (action_form("/admin/peers/ban", "peer", &p.peer_id, &s.csrf, "Ban", &format!("Ban peer {}", p.peer_id)))
                                    }
                                }
                            }
                        }
                    }
                }
                h2 { "Add or ban a peer" }
                form.admin-login method="post" action="/admin/peers/add" {
                    p {
                        label for="add-address" { "Address to dial (multiaddr, with /p2p/<peer id> to remember it)" }
                        input #add-address type="text" name="address" required spellcheck="false" autocomplete="off";
                    }
                    input type="hidden" name="csrf" value=(s.csrf);
                    button type="submit" { "Add peer" }
                }
                form.admin-login method="post" action="/admin/peers/ban" {
                    p {
                        label for="ban-peer" { "Peer id to ban" }
                        input #ban-peer type="text" name="peer" required spellcheck="false" autocomplete="off";
                    }
                    input type="hidden" name="csrf" value=(s.csrf);
                    button type="submit" { "Ban peer" }
                }
                h2 { "Banned" }
                @if i.banned.is_empty() {
                    p.note { "No peer is banned." }
                } @else {
                    ul.plain { @for b in &i.banned { li.mono.wrap { (b) } } }
                }
            }
        }
    };
    frame("Peers", "/admin/peers", &s, body)
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
                p.problem { "The audit log could not be written (see the node's log)." }
            }
            p { a href=(back) { "Back" } " · " a href="/admin/audit" { "Audit log" } }
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
    let result = match admin.node.net.get() {
        None => Err("peer-to-peer networking is off on this node".to_string()),
        Some(n) if ban => n.ban(&peer).map_err(|e| e.to_string()),
        Some(n) => n.disconnect(&peer).map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => {
            let audited = admin
                .audit
                .record(&Entry::now(&s.who(), action, &peer, "done"));
            let msg = if ban {
                format!("Peer {peer} is disconnected and banned.")
            } else {
                format!("Peer {peer} is disconnected; it may connect again.")
            };
            done_page(
                &admin,
                &s,
                if ban {
                    "Peer banned"
                } else {
                    "Peer disconnected"
                },
                msg,
                "/admin/peers",
                audited,
            )
        }
        Err(e) => {
            admin.audit.record(&Entry::now(
                &s.who(),
                action,
                &peer,
                &format!("failed: {e}"),
            ));
            Problem::new(
                StatusCode::BAD_REQUEST,
                "Not done",
                format!("{e}. Nothing was changed."),
            )
            .into_response()
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
    let result = match (
        admin.node.net.get(),
        address.parse::<luminex_p2p::Multiaddr>(),
    ) {
        (_, Err(e)) => Err(format!(
            "“{}” is not a multiaddr ({e})",
            crate::format::short_str(&address)
        )),
        (None, _) => Err("peer-to-peer networking is off on this node".to_string()),
        (Some(n), Ok(a)) => n.dial(a).map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => {
            let audited = admin
                .audit
                .record(&Entry::now(&s.who(), action, &address, "done"));
            done_page(
                &admin,
                &s,
                "Dialing",
                format!(
                    "The node is dialing {address}; it appears among the peers once connected."
                ),
                "/admin/peers",
                audited,
            )
        }
        Err(e) => {
            admin.audit.record(&Entry::now(
                &s.who(),
                action,
                &address,
                &format!("failed: {e}"),
            ));
            Problem::new(
                StatusCode::BAD_REQUEST,
                "Not done",
                format!("{e}. Nothing was changed."),
            )
            .into_response()
        }
    }
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
                    th scope="col" { "Transaction" } th scope="col" .num { "Fee rate" } th scope="col" .num { "Fee" }
                    th scope="col" .num { "Size" } th scope="col" { "Actions" }
                } }
                tbody {
                    @for r in rows {
                        tr {
                            td.mono { a href={"/tx/" (r.txid)} title=(r.txid) { (short(&r.txid)) } }
                            td.num { (rate_per_kb(r.fee_rate)) }
                            td.num { (coins(r.fee)) }
                            td.num { (bytes(r.size as u64)) }
                            td.actions { (action_form("/admin/mempool/remove", "txid", &r.txid.to_string(), &s.csrf, "Remove", &format!("Remove transaction {}", r.txid))) }
                        }
                    }
                }
            }
        }
    };
    let body = html! {
        h1 { "Mempool" }
        p #pool-summary { (grouped(count as u64)) " pending transactions, " (bytes(total as u64)) " of " (bytes(max as u64)) "." }
        @if rows.is_empty() {
            p.note #pool-empty { "The mempool is empty." }
        } @else {
            p.note { "Removing a transaction also removes those that spend its outputs; peers may send it again." }
            h2 { "By fee rate" @if count > POOL_ROWS { " (the first " (POOL_ROWS) ")" } }
            (table("by-rate", "Pending transactions by fee rate", &by_rate))
            h2 { "Largest" }
            (table("largest", "The largest pending transactions", &largest))
            h2 { "Oldest" }
            (table("oldest", "The oldest pending transactions", &oldest))
        }
    };
    frame("Mempool", "/admin/mempool", &s, body)
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
    let fail = |why: String, status: StatusCode| {
        admin.audit.record(&Entry::now(
            &s.who(),
            action,
            &txid,
            &format!("failed: {why}"),
        ));
        Problem::new(status, "Not done", format!("{why}. Nothing was changed.")).into_response()
    };
    let Ok(hash) = txid.parse::<Hash>() else {
        return fail(
            "that is not a transaction id (64 hexadecimal characters)".into(),
            StatusCode::BAD_REQUEST,
        );
    };
    let removed = admin.node.mempool.write().remove_with_descendants(&hash);
    if removed.is_empty() {
        return fail(
            "no such transaction is pending (it may have been confirmed or removed already)".into(),
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
    let msg = if n == 1 {
        format!("Transaction {txid} was removed from the mempool.")
    } else {
        format!(
            "Transaction {txid} and {} spending it were removed from the mempool.",
            n - 1
        )
    };
    done_page(
        &admin,
        &s,
        "Transaction removed",
        msg,
        "/admin/mempool",
        audited,
    )
}

/// `GET /admin/audit`: the newest admin actions first.
pub async fn audit_page(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let s = match viewer(&admin, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let entries = admin.audit.recent(SHOWN);
    let body = html! {
        h1 { "Audit log" }
        p.note { "Every admin action and refused attempt, newest first (the last " (SHOWN) "), kept in " code { (admin.audit.path().display()) } "." }
        @match &entries {
            Err(e) => p.problem role="alert" { "The audit log could not be read: " (e) },
            Ok(list) if list.is_empty() => p.note #audit-empty { "No admin action yet." },
            Ok(list) => table #audit {
                caption.visually-hidden { "Admin actions" }
                thead { tr {
                    th scope="col" { "When" } th scope="col" { "Who" } th scope="col" { "What" }
                    th scope="col" { "On" } th scope="col" { "Outcome" }
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
    frame("Audit log", "/admin/audit", &s, body)
}

/// `GET /admin/settings`: the effective configuration, secrets redacted.
pub async fn settings(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let s = match viewer(&admin, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let body = html! {
        h1 { "Settings" }
        p.note {
            "The configuration the node runs with: flags and environment over "
            code { "luminex.toml" } " over defaults. Passwords and keys are never shown. "
            "None of these change while the node runs: edit the file or the flags and restart."
        }
        @if admin.settings.is_empty() {
            p.note { "This node did not publish its configuration." }
        } @else {
            table #settings {
                caption.visually-hidden { "Effective configuration" }
                thead { tr { th scope="col" { "Setting" } th scope="col" { "Value" } } }
                tbody {
                    @for (k, v) in &admin.settings {
                        tr { td.mono { (k) } td.mono.wrap { (v) } }
                    }
                }
            }
        }
    };
    frame("Settings", "/admin/settings", &s, body)
}
