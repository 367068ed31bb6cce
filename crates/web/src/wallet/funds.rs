//! An unlocked wallet's balances per address, receiving, and its history
//! (pending and confirmed) with a CSV export.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use luminex_primitives::{Hash, Lock, OutPoint, TxOut};
use luminex_service::Node;
use luminex_storage::AddressTx;
use luminex_wallet::recovery::look_ahead;
use luminex_wallet::{Wallet, WalletFile};
use maud::{html, PreEscaped};

use super::manage::{address_used, unlock_page, GAP_CHANGE, GAP_RECEIVE};
use super::{acting, csrf_field, frame, problem, viewing, FormResult, Visitor, Wallets};
use crate::explorer::address::{in_block_order, newest_first};
use crate::format::{coins, short};
use crate::i18n::{t, t_args};

/// Confirmed history rows read per address, and shown.
const HISTORY_ROWS: usize = 200;

/// One of the wallet's addresses.
pub(crate) struct Owned {
    pub address: String,
    pub lock: Lock,
    pub change: bool,
}

/// The addresses of an unlocked wallet: receive, then change.
pub(crate) fn owned(wallet: &Wallet) -> Vec<Owned> {
    let receive = wallet.keys().len();
    wallet
        .all_keys()
        .into_iter()
        .enumerate()
        .map(|(i, (k, a))| Owned {
            address: a.to_string(),
            lock: luminex_wallet::lock_of(k),
            change: i >= receive,
        })
        .collect()
}

/// An address's balance.
pub(crate) struct AddressBalance {
    pub address: String,
    pub change: bool,
    pub confirmed: u64,
    /// With pending transactions counted.
    pub pending: u64,
}

/// One transaction of the wallet's history, its amounts summed over the
/// wallet's addresses.
pub(crate) struct HistoryRow {
    pub txid: Hash,
    /// `None` while pending.
    pub height: Option<u64>,
    pub received: u64,
    pub sent: u64,
}

/// What the wallet holds and did, as the node sees it now.
pub(crate) struct Activity {
    pub balances: Vec<AddressBalance>,
    /// Coins a payment may spend now (mature, not spent by a pending
    /// transaction; pending change included).
    pub spendable: Vec<(OutPoint, TxOut)>,
    /// Pending first, then confirmed, newest first.
    pub history: Vec<HistoryRow>,
}

impl Activity {
    pub fn confirmed(&self) -> u64 {
        self.balances.iter().map(|b| b.confirmed).sum()
    }

    pub fn pending(&self) -> u64 {
        self.balances.iter().map(|b| b.pending).sum()
    }

    pub fn spendable_total(&self) -> u64 {
        self.spendable.iter().map(|(_, o)| o.amount.base()).sum()
    }
}

/// The activity of `addresses` on `node`.
pub(crate) fn activity(node: &Node, addresses: &[Owned]) -> Result<Activity, Box<Response>> {
    let page =
        |e: crate::error::PageError| Box::new(problem(e.status(), &t(e.title()), e.message()));
    let storage = |e: luminex_storage::StoreError| page(crate::error::PageError::from(e));
    let locks: HashSet<Lock> = addresses.iter().map(|o| o.lock).collect();
    let mut balances = Vec::new();
    let mut spendable = Vec::new();
    let mut ours: HashMap<OutPoint, u64> = HashMap::new();
    let mut confirmed_rows: HashMap<Hash, HistoryRow> = HashMap::new();
    // Each confirmed transaction once, for ordering by block and position.
    let mut order: Vec<AddressTx> = Vec::new();
    for o in addresses {
        let utxos = node
            .chain
            .address_utxos(&o.lock, usize::MAX)
            .map_err(storage)?;
        let confirmed: u64 = utxos.iter().map(|(_, c)| c.output.amount.base()).sum();
        let (spent, received) = {
            let pool = node.mempool.read();
            let spent: u64 = utxos
                .iter()
                .filter(|(op, _)| pool.spender(op).is_some())
                .map(|(_, c)| c.output.amount.base())
                .sum();
            let received: u64 = pool
                .unspent_outputs_to(&o.lock)
                .iter()
                .map(|(_, a)| a.base())
                .sum();
            (spent, received)
        };
        ours.extend(utxos.iter().map(|(op, c)| (*op, c.output.amount.base())));
        balances.push(AddressBalance {
            address: o.address.clone(),
            change: o.change,
            confirmed,
            pending: confirmed.saturating_sub(spent).saturating_add(received),
        });
        spendable.extend(
            luminex_api::create_tx::spendable_coins(node, &o.lock).map_err(|_| {
                problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &t("error-storage"),
                    &t("error-storage-message"),
                )
            })?,
        );
        // Whole blocks, so that no block's entries are cut short.
        let (rows, _) = newest_first(node, &o.lock, None, HISTORY_ROWS).map_err(page)?;
        for r in rows {
            if !confirmed_rows.contains_key(&r.txid) {
                order.push(r);
            }
            let row = confirmed_rows.entry(r.txid).or_insert(HistoryRow {
                txid: r.txid,
                height: Some(r.height),
                received: 0,
                sent: 0,
            });
            row.received += r.received.base();
            row.sent += r.sent.base();
        }
    }
    // Pending: what the mempool's transactions pay to the wallet and spend
    // of its coins (confirmed ones, and outputs of pending ones).
    let mut pending_rows = Vec::new();
    {
        let pool = node.mempool.read();
        for e in pool.entries() {
            for (vout, out) in e.tx.outputs.iter().enumerate() {
                if locks.contains(&out.lock) {
                    ours.insert(
                        OutPoint {
                            txid: e.txid,
                            vout: vout as u32,
                        },
                        out.amount.base(),
                    );
                }
            }
        }
        for e in pool.entries() {
            let received: u64 =
                e.tx.outputs
                    .iter()
                    .filter(|o| locks.contains(&o.lock))
                    .map(|o| o.amount.base())
                    .sum();
            let sent: u64 = e.tx.inputs.iter().filter_map(|i| ours.get(i)).sum();
            if received > 0 || sent > 0 {
                pending_rows.push((
                    e.sequence,
                    HistoryRow {
                        txid: e.txid,
                        height: None,
                        received,
                        sent,
                    },
                ));
            }
        }
    }
    pending_rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    // Newest first: by height, then by position in the block.
    order.sort_by_key(|r| std::cmp::Reverse(r.height));
    let confirmed: Vec<HistoryRow> = in_block_order(node, order)
        .map_err(page)?
        .into_iter()
        .filter_map(|r| confirmed_rows.remove(&r.txid))
        .take(HISTORY_ROWS)
        .collect();
    let history = pending_rows
        .into_iter()
        .map(|(_, r)| r)
        .chain(confirmed)
        .collect();
    Ok(Activity {
        balances,
        spendable,
        history,
    })
}

/// Runs `f` on the wallet `name` if the session has it unlocked (its idle
/// clock restarted); `None` if it is locked.
///
/// The wallet first derives any address its file gained since it was
/// unlocked (by another session or the command line), so that what `f`
/// shows is current and what it saves drops no address. It then looks a
/// restore's gaps past the addresses it keeps and keeps (and saves) those
/// found used: another file of the same phrase may have used them.
pub(crate) fn with_open<R>(
    w: &Wallets,
    v: &Visitor,
    name: &str,
    f: impl FnOnce(&mut Wallet) -> R,
) -> Option<R> {
    let spec = &w.node.spec;
    let path = w.path_of(name);
    let on_disk = WalletFile::read(&path, spec).ok();
    w.with_held(&v.id, |h| {
        h.open.get_mut(name).map(|o| {
            o.last_used = Instant::now();
            if let Some(d) = &on_disk {
                o.wallet
                    .extend_to(spec, d.addresses.len() as u32, d.change.len() as u32);
            }
            let found = look_ahead(&mut o.wallet, spec, GAP_RECEIVE, GAP_CHANGE, |a| {
                Ok::<_, std::convert::Infallible>(address_used(&w.node, a))
            });
            if found.is_ok_and(|n| n > 0) {
                if let Err(e) = o.wallet.save(&path, false) {
                    tracing::warn!(error = %e, "wallet pages: could not keep the addresses found");
                }
            }
            f(&mut o.wallet)
        })
    })
}

/// A signed amount: `+1.5`, `−0.2`.
fn net(received: u64, sent: u64) -> String {
    if received >= sent {
        format!("+{}", coins(received - sent))
    } else {
        format!("−{}", coins(sent - received))
    }
}

/// `GET /wallet/w/{name}`: an unlocked wallet's balances and history, or
/// the form to unlock it.
pub async fn overview(
    State(w): State<Arc<Wallets>>,
    p: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let (v, name) = match viewing(&w, &headers, p) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Some(addresses) = with_open(&w, &v, &name, |wallet| owned(wallet)) else {
        return unlock_page(&v, &name, StatusCode::OK, None);
    };
    let a = match activity(&w.node, &addresses) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let tip = w.node.chain.tip().height;
    let base = format!("/wallet/w/{name}");
    let body = html! {
        h1 { (t_args("wallet-named", [("name", name.as_str().into())])) }
        section.figures aria-label=(t("wallet-balance")) {
            dl {
                div { dt { (t("balance")) } dd #balance { (coins(a.confirmed())) } }
                div { dt { (t("with-pending")) } dd #pending-balance { (coins(a.pending())) } }
                div { dt { (t("wallet-spendable")) } dd #spendable { (coins(a.spendable_total())) } }
            }
        }
        p.actions {
            a.button href={(base) "/receive"} { (t("wallet-receive")) } " "
            a.button href={(base) "/send"} { (t("wallet-send")) } " "
            a.button href={(base) "/history.csv"} download={(name) "-history.csv"} { (t("wallet-export-csv")) }
        }
        form.inline method="post" action={(base) "/lock"} {
            (csrf_field(&v))
            button type="submit" { (t("wallet-lock-button")) }
        }
        section aria-labelledby="addresses-h" {
            h2 #addresses-h { (t("wallet-addresses")) }
            table #addresses {
                thead { tr {
                    th scope="col" { (t("address")) } th scope="col" { (t("wallet-kind")) }
                    th scope="col" .num { (t("balance")) } th scope="col" .num { (t("with-pending")) }
                } }
                tbody {
                    @for b in &a.balances {
                        tr {
                            td.mono.wrap { a href={"/address/" (b.address)} { (b.address) } }
                            td { (t(if b.change { "wallet-change" } else { "wallet-receiving" })) }
                            td.num { (coins(b.confirmed)) }
                            td.num { (coins(b.pending)) }
                        }
                    }
                }
            }
        }
        section aria-labelledby="history-h" {
            h2 #history-h { (t("history")) }
            @if a.history.is_empty() {
                p.note #no-history { (t("wallet-no-history")) }
            } @else {
                table #history {
                    thead { tr {
                        th scope="col" { (t("transaction")) } th scope="col" { (t("wallet-status")) }
                        th scope="col" .num { (t("received")) } th scope="col" .num { (t("sent")) } th scope="col" .num { (t("wallet-net")) }
                    } }
                    tbody {
                        @for r in &a.history {
                            tr {
                                td.mono { a href={(base) "/tx/" (r.txid)} title=(r.txid) { (short(&r.txid)) } }
                                td { @match r.height {
                                    None => span.badge.pending { (t("pending")) },
                                    Some(h) => span.badge.ok { (crate::explorer::confirmations(tip.saturating_sub(h) + 1)) },
                                } }
                                td.num { (coins(r.received)) }
                                td.num { (coins(r.sent)) }
                                td.num { (net(r.received, r.sent)) }
                            }
                        }
                    }
                }
            }
        }
    };
    frame(&name, &v, body)
}

/// `GET /wallet/w/{name}/receive`: the newest receive address and its QR
/// code, with a button for a fresh one.
pub async fn receive(
    State(w): State<Arc<Wallets>>,
    p: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let (v, name) = match viewing(&w, &headers, p) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Some(address) = with_open(&w, &v, &name, |wallet| {
        wallet.file.addresses.last().cloned()
    }) else {
        return unlock_page(&v, &name, StatusCode::OK, None);
    };
    let Some(address) = address else {
        return problem(
            StatusCode::NOT_FOUND,
            &t("error-not-found"),
            &t("wallet-no-address"),
        );
    };
    let qr = crate::qr::svg(
        &address,
        &t_args("qr-of-address", [("address", address.as_str().into())]),
    );
    let base = format!("/wallet/w/{name}");
    let body = html! {
        h1 { (t("wallet-receive")) }
        p { (t("wallet-receive-note")) }
        div.address-head {
            p.hash.mono #receive-address { (address) }
            @if let Some(svg) = qr { figure.qr { (PreEscaped(svg)) figcaption { (t("scan-to-pay")) } } }
        }
        form.inline method="post" action={(base) "/receive"} {
            (csrf_field(&v))
            button type="submit" { (t("wallet-fresh-address")) }
        }
        p { a href=(base) { (t("wallet-back-to-wallet")) } }
    };
    frame(&t("wallet-receive"), &v, body)
}

/// `POST /wallet/w/{name}/receive`: derives a fresh receive address, keeps
/// it in the wallet file, and shows it.
pub async fn fresh_address(
    State(w): State<Arc<Wallets>>,
    p: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    f: FormResult,
) -> Response {
    let (_, v, name) = match acting(&w, &headers, p, f) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let path = w.path_of(&name);
    let spec = w.node.spec.clone();
    let saved = with_open(&w, &v, &name, |wallet| {
        wallet.new_address(&spec);
        wallet.save(&path, false)
    });
    match saved {
        None => unlock_page(
            &v,
            &name,
            StatusCode::UNAUTHORIZED,
            Some(&t("wallet-locked-now")),
        ),
        Some(Err(e)) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            &t("wallet-not-done"),
            &t_args("wallet-not-written", [("error", e.to_string().into())]),
        ),
        Some(Ok(())) => Redirect::to(&format!("/wallet/w/{name}/receive")).into_response(),
    }
}

/// `GET /wallet/w/{name}/history.csv`: the history as CSV (amounts in
/// coins, a status column: `pending` or `confirmed`).
pub async fn history_csv(
    State(w): State<Arc<Wallets>>,
    p: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let (v, name) = match viewing(&w, &headers, p) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let Some(addresses) = with_open(&w, &v, &name, |wallet| owned(wallet)) else {
        return unlock_page(
            &v,
            &name,
            StatusCode::UNAUTHORIZED,
            Some(&t("wallet-locked-now")),
        );
    };
    let a = match activity(&w.node, &addresses) {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let mut csv = String::from("txid,status,height,received,sent,net\n");
    for r in &a.history {
        let (status, height) = match r.height {
            None => ("pending", String::new()),
            Some(h) => ("confirmed", h.to_string()),
        };
        let signed = net(r.received, r.sent).replace('−', "-");
        csv.push_str(&format!(
            "{},{status},{height},{},{},{signed}\n",
            r.txid,
            coins(r.received),
            coins(r.sent)
        ));
    }
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}-history.csv\""),
            ),
        ],
        csv,
    )
        .into_response()
}
