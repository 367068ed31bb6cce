//! `GET /address/{address}`: balance, QR code, pending and confirmed
//! history (paged).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use luminex_primitives::Hash;
use luminex_service::Node;
use luminex_storage::AddressTx;
use maud::{html, Markup, PreEscaped};

use super::{path_param, query};
use crate::format::{coins, short, short_str};
use crate::i18n::{t, t_args};
use crate::layout::{self, Live};
use crate::PageError;

/// History rows per page.
pub(crate) const ROWS_PER_PAGE: usize = 25;
/// The most history entries the balance chart reads (and the rest of the
/// oldest block they reach): its work per request is bounded whatever the
/// address's history.
pub(crate) const CHART_ENTRIES: usize = 200;

/// The balance after each of `history`'s entries (newest first, by height
/// and position in the block: [`newest_first`]), oldest first, from the
/// balance now: each entry's balance before it is its balance after less
/// what it received plus what it sent. Exact in base units whatever part
/// of the history is read.
pub(crate) fn balances(now: u64, history: &[AddressTx]) -> Vec<(u64, u64)> {
    let mut after = now;
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(history.len());
    for r in history {
        out.push((r.height, after));
        after = after
            .saturating_sub(r.received.base())
            .saturating_add(r.sent.base());
    }
    out.reverse();
    out
}

/// Where an older page of history starts: the store's (height, txid) of
/// the last entry read.
pub(crate) type Cursor = (u64, Hash);

/// Up to `n` entries of the history of `lock` before `before`, newest
/// first by (height, position in the block), and the cursor of the older
/// page when older ones remain. A page ends at a block's end: the store
/// orders one block's entries by txid, so the rest of the last block is
/// read too, and the cursor (the store's last entry read) passes the whole
/// block.
pub(crate) fn newest_first(
    node: &Node,
    lock: &luminex_primitives::Lock,
    before: Option<Cursor>,
    n: usize,
) -> Result<(Vec<AddressTx>, Option<Cursor>), PageError> {
    let mut rows = node.chain.address_history(lock, before, n + 1)?;
    if rows.len() <= n || n == 0 {
        return Ok((in_block_order(node, rows)?, None));
    }
    let cut = rows[n - 1].height;
    // Read on while the last entry read is still in the cut block.
    while let Some(last) = rows.last().filter(|r| r.height == cut) {
        let next = node
            .chain
            .address_history(lock, Some((last.height, last.txid)), 100)?;
        if next.is_empty() {
            break;
        }
        rows.extend(next);
    }
    let keep = rows
        .iter()
        .enumerate()
        .position(|(i, r)| i >= n && r.height != cut)
        .unwrap_or(rows.len());
    let more = keep < rows.len();
    rows.truncate(keep);
    let cursor = more
        .then(|| rows.last().map(|r| (r.height, r.txid)))
        .flatten();
    Ok((in_block_order(node, rows)?, cursor))
}

/// `rows` (whole blocks' entries, by descending height) with each block's
/// entries by descending position in it: the later in a block, the newer.
pub(crate) fn in_block_order(
    node: &Node,
    mut rows: Vec<AddressTx>,
) -> Result<Vec<AddressTx>, PageError> {
    let mut position: HashMap<Hash, usize> = HashMap::new();
    let mut i = 0;
    while i < rows.len() {
        let h = rows[i].height;
        let end = i + rows[i..].iter().take_while(|r| r.height == h).count();
        // One entry needs no order; more need the block's.
        if end - i > 1 {
            if let Some(block) = match node.chain.hash_at(h)? {
                Some(hash) => node.chain.block(&hash)?,
                None => None,
            } {
                position.extend(block.txs.iter().enumerate().map(|(p, tx)| (tx.txid(), p)));
            }
        }
        i = end;
    }
    rows.sort_by(|a, b| {
        let pos = |r: &AddressTx| position.get(&r.txid).copied().unwrap_or(0);
        b.height.cmp(&a.height).then(pos(b).cmp(&pos(a)))
    });
    Ok(rows)
}

/// An address's page.
pub async fn address(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Markup, PageError> {
    let raw = path_param(p)?;
    let addr = node.spec.parse_address(&raw).map_err(|e| {
        PageError::bad_request(t_args(
            "not-an-address",
            [
                ("term", short_str(&raw).into()),
                ("chain", node.spec.name.to_string().into()),
                ("error", e.to_string().into()),
            ],
        ))
    })?;
    let q = query(q)?;
    let before = match q.get("before") {
        None => None,
        Some(c) => {
            let bad = || PageError::bad_request(t("older-link-bad"));
            let (h, t) = c.split_once(':').ok_or_else(bad)?;
            Some((
                h.parse::<u64>().map_err(|_| bad())?,
                t.parse::<Hash>().map_err(|_| bad())?,
            ))
        }
    };
    let lock = addr.lock;
    let utxos = node.chain.address_utxos(&lock, usize::MAX)?;
    let confirmed: u64 = utxos.iter().map(|(_, c)| c.output.amount.base()).sum();
    let (outgoing, incoming, spent) = {
        let pool = node.mempool.read();
        let mut outgoing = BTreeSet::new();
        let mut spent = 0u64;
        for (op, c) in &utxos {
            if let Some(s) = pool.spender(op) {
                outgoing.insert(s);
                spent += c.output.amount.base();
            }
        }
        let incoming = pool.unspent_outputs_to(&lock);
        (outgoing, incoming, spent)
    };
    let received: u64 = incoming.iter().map(|(_, a)| a.base()).sum();
    let pending_balance = confirmed.saturating_sub(spent).saturating_add(received);
    let pending_txs: BTreeSet<Hash> = outgoing
        .iter()
        .copied()
        .chain(incoming.iter().map(|(op, _)| op.txid))
        .collect();
    let (rows, older) = newest_first(&node, &lock, before, ROWS_PER_PAGE)?;
    let older = older.map(|(h, txid)| format!("{h}:{txid}"));
    let text = addr.to_string();
    // The chart on the first page only, from the newest entries.
    let chart = if before.is_none() && !rows.is_empty() {
        let (history, _) = newest_first(&node, &lock, None, CHART_ENTRIES)?;
        let points: Vec<(String, u64)> = balances(confirmed, &history)
            .into_iter()
            .map(|(h, b)| (h.to_string(), b))
            .collect();
        let value = |v: u64| coins(v);
        let desc = t_args(
            "balance-chart-desc",
            [
                ("n", points.len().to_string().into()),
                (
                    "first",
                    points
                        .first()
                        .map(|p| p.0.clone())
                        .unwrap_or_default()
                        .into(),
                ),
                ("balance", coins(confirmed).into()),
            ],
        );
        Some(
            crate::chart::Chart {
                id: "balance-chart",
                title: t("balance-chart"),
                desc,
                x_label: t("balance-chart-x"),
                y_label: t("balance-chart-y"),
                table_label: t("charts-table"),
                points,
                value: &value,
                kind: crate::chart::Kind::Steps,
            }
            .render(),
        )
    } else {
        None
    };
    let qr = crate::qr::svg(
        &text,
        &t_args("qr-of-address", [("address", text.as_str().into())]),
    );

    let body = html! {
        h1 { (t("address")) }
        div.address-head {
            div {
                p.hash.mono #address { (text) }
                dl.fields {
                    div { dt { (t("balance")) } dd #balance { (coins(confirmed)) } }
                    @if pending_balance != confirmed {
                        div { dt { (t("with-pending")) } dd { (coins(pending_balance)) } }
                    }
                    div { dt { (t("unspent-outputs")) } dd { (utxos.len()) } }
                }
            }
            @if let Some(svg) = qr { figure.qr { (PreEscaped(svg)) figcaption { (t("scan-to-pay")) } } }
        }
        @if !pending_txs.is_empty() {
            section aria-labelledby="pending-h" {
                h2 #pending-h { (t("pending")) }
                ul.plain {
                    @for tx in &pending_txs {
                        li { a.mono href={"/tx/" (tx)} { (short(tx)) } " " span.badge.pending { @if outgoing.contains(tx) { (t("badge-sending")) } @else { (t("badge-receiving")) } } }
                    }
                }
            }
        }
        @if let Some(chart) = chart {
            section aria-labelledby="balance-chart-h" {
                h2 #balance-chart-h { (t("balance-chart")) }
                (chart)
            }
        }
        section aria-labelledby="history-h" {
            h2 #history-h { (t("history")) }
            @if rows.is_empty() {
                p.note { @if before.is_some() { (t("no-older-transactions")) } @else { (t("no-confirmed-transactions")) } }
            } @else {
                table #history {
                    thead { tr { th scope="col" { (t("transaction")) } th scope="col" .num { (t("block")) } th scope="col" .num { (t("received")) } th scope="col" .num { (t("sent")) } } }
                    tbody {
                        @for r in &rows {
                            tr {
                                td.mono { a href={"/tx/" (r.txid)} { (short(&r.txid)) } }
                                td.num { a href={"/block/" (r.height)} { (r.height) } }
                                td.num { (coins(r.received.base())) }
                                td.num { (coins(r.sent.base())) }
                            }
                        }
                    }
                }
            }
            nav.pager aria-label=(t("pages-of-history")) {
                @if before.is_some() { a href={"/address/" (text)} { (t("newest")) } }
                @if let Some(c) = older { a rel="next" href={"/address/" (text) "?before=" (c) "#history"} { (t("older")) " →" } }
            }
        }
    };
    Ok(layout::page("Address", Live::Address(text.clone()), body))
}
