//! Sending: the form, the confirmation page showing exactly what will be
//! signed, signing and broadcasting, and the payment's live status.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use luminex_primitives::{Amount, Lock};
use luminex_wallet::{plan_payment, PaymentPlan, WalletError};
use maud::html;

use super::funds::{activity, owned, with_open};
use super::manage::{unlock_page, wallet_name};
use super::{
    acting, csrf_field, frame, frame_live, problem, viewing, visitor, with_status, FormResult,
    Planned, Visitor, Wallets,
};
use crate::format::{coins, short, short_str};
use crate::i18n::{t, t_args};
use crate::layout::Live;

// The highest fee rate accepted (base units per byte): the wallet's.
use luminex_wallet::MAX_FEE_RATE;

/// What the send form was given, shown again with a message when it is
/// refused.
#[derive(Default)]
struct Typed {
    to: String,
    amount: String,
    fee_rate: String,
}

fn send_page(
    w: &Wallets,
    v: &Visitor,
    name: &str,
    status: StatusCode,
    typed: &Typed,
    error: Option<&str>,
    spendable: u64,
) -> Response {
    let fast = w.node.estimate_fee_rate(1);
    let slow = w.node.estimate_fee_rate(6);
    let fee_rate = if typed.fee_rate.is_empty() {
        fast.to_string()
    } else {
        typed.fee_rate.clone()
    };
    let body = html! {
        h1 { (t("wallet-send")) }
        @if let Some(e) = error { p.problem role="alert" #form-error { (e) } }
        p { (t_args("wallet-spendable-now", [("amount", coins(spendable).into())])) }
        form.wallet-form method="post" action={"/wallet/w/" (name) "/send"} {
            p {
                label for="to" { (t("wallet-pay-to")) }
                input #to type="text" name="to" value=(typed.to) required autocomplete="off" spellcheck="false" autocapitalize="none";
            }
            p {
                label for="amount" { (t("wallet-amount")) }
                input #amount type="text" name="amount" value=(typed.amount) required inputmode="decimal" autocomplete="off" aria-describedby="amount-hint";
                small #amount-hint { (t("wallet-amount-hint")) }
            }
            p {
                label for="fee_rate" { (t("wallet-fee-rate")) }
                input #fee_rate type="number" name="fee_rate" value=(fee_rate) min=(w.node.spec.min_fee_rate) max=(MAX_FEE_RATE) required aria-describedby="fee-hint";
                small #fee-hint { (t_args("wallet-fee-estimate", [("fast", fast.to_string().into()), ("slow", slow.to_string().into())])) }
            }
            (csrf_field(v))
            button type="submit" { (t("wallet-review-button")) }
        }
        p { a href={"/wallet/w/" (name)} { (t("wallet-back-to-wallet")) } }
    };
    with_status(status, frame(&t("wallet-send"), v, body))
}

/// A wallet's activity, the locks of its addresses, and the change lock a
/// payment would use now.
type Spending = (super::funds::Activity, HashSet<Lock>, Lock);

/// What a payment from `name` may spend; `None` if the wallet is locked.
fn spendable_of(w: &Wallets, v: &Visitor, name: &str) -> Option<Result<Spending, Box<Response>>> {
    let (addresses, change) =
        with_open(w, v, name, |wallet| (owned(wallet), wallet.peek_change()))?;
    let locks = addresses.iter().map(|o| o.lock).collect();
    Some(activity(&w.node, &addresses).map(|a| (a, locks, change)))
}

/// `GET /wallet/w/{name}/send`: the form.
pub async fn form(
    State(w): State<Arc<Wallets>>,
    p: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let (v, name) = match viewing(&w, &headers, p) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    match spendable_of(&w, &v, &name) {
        None => unlock_page(&v, &name, StatusCode::OK, None),
        Some(Err(r)) => *r,
        Some(Ok((a, _, _))) => send_page(
            &w,
            &v,
            &name,
            StatusCode::OK,
            &Typed::default(),
            None,
            a.spendable_total(),
        ),
    }
}

/// `POST /wallet/w/{name}/send`: checks the form, plans the payment, and
/// shows what will be signed. Nothing is signed or sent yet. With `edit`
/// (the review's "Change the payment") it shows the form filled in with
/// what was given instead.
pub async fn plan(
    State(w): State<Arc<Wallets>>,
    p: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    f: FormResult,
) -> Response {
    let (form, v, name) = match acting(&w, &headers, p, f) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let field = |k: &str| {
        form.get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let typed = Typed {
        to: field("to"),
        amount: field("amount"),
        fee_rate: field("fee_rate"),
    };
    let (a, locks, change) = match spendable_of(&w, &v, &name) {
        None => {
            return unlock_page(
                &v,
                &name,
                StatusCode::UNAUTHORIZED,
                Some(&t("wallet-locked-now")),
            )
        }
        Some(Err(r)) => return *r,
        Some(Ok(x)) => x,
    };
    let spendable = a.spendable_total();
    // "Change the payment" on the review: the form again, filled in.
    if form.contains_key("edit") {
        return send_page(&w, &v, &name, StatusCode::OK, &typed, None, spendable);
    }
    let refuse =
        |status, msg: String| send_page(&w, &v, &name, status, &typed, Some(&msg), spendable);
    let spec = &w.node.spec;
    let to = match spec.parse_address(&typed.to) {
        Ok(a) => a,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                t_args(
                    "not-an-address",
                    [
                        ("term", short_str(&typed.to).into()),
                        ("chain", spec.name.to_string().into()),
                        ("error", e.to_string().into()),
                    ],
                ),
            )
        }
    };
    let amount = match typed.amount.parse::<Amount>() {
        Ok(a) if a > Amount::ZERO => a,
        // Well formed, and more than any amount: more than the wallet has.
        Err(luminex_primitives::AmountError::OutOfRange) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                t_args(
                    "wallet-amount-too-large",
                    [
                        ("term", short_str(&typed.amount).into()),
                        ("max", Amount::MAX.to_string().into()),
                        ("available", coins(a.spendable_total()).into()),
                    ],
                ),
            )
        }
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                t_args(
                    "wallet-amount-bad",
                    [("term", short_str(&typed.amount).into())],
                ),
            )
        }
    };
    let fee_rate = match typed.fee_rate.parse::<u64>() {
        Ok(r) if (spec.min_fee_rate..=MAX_FEE_RATE).contains(&r) => r,
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                t_args(
                    "wallet-fee-rate-bad",
                    [
                        ("min", spec.min_fee_rate.to_string().into()),
                        ("max", MAX_FEE_RATE.to_string().into()),
                    ],
                ),
            )
        }
    };
    let planned = plan_payment(
        spec,
        &a.spendable,
        |l| locks.contains(l),
        to.lock,
        amount,
        change,
        fee_rate,
        Vec::new(),
    );
    let plan = match planned {
        Ok(p) => p,
        Err(WalletError::InsufficientFunds { available, needed }) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                insufficient(available, needed, spendable, fee_rate),
            )
        }
        Err(e) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                t_args("wallet-payment-refused", [("error", e.to_string().into())]),
            )
        }
    };
    // The command line's `--max-fee` default is this page's ceiling: a
    // fee past it is refused, not offered for confirmation.
    let max_fee = luminex_wallet::default_max_fee();
    if plan.fee > max_fee {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            t_args(
                "wallet-fee-too-high",
                [
                    ("fee", plan.fee.to_string().into()),
                    ("max", max_fee.to_string().into()),
                ],
            ),
        );
    }
    let id = crate::admin::access::random_hex();
    let body = review(&w, &v, &name, &id, &plan, amount, fee_rate);
    w.with_held(&v.id, |h| {
        // One plan waits per wallet: a new one replaces the last.
        h.planned.retain(|_, p| p.wallet != name);
        h.planned.insert(
            id,
            Planned {
                wallet: name.clone(),
                plan,
            },
        );
    });
    frame(&t("wallet-review-title"), &v, body)
}

/// Why the wallet cannot pay: `available` is what its coins worth spending
/// at `fee_rate` hold (a coin worth no more than the fee of spending it is
/// left out), `needed` the amount plus the fee, `spendable` every coin it
/// may spend now. When the fee rate leaves coins out, the message says so
/// rather than calling the wallet's spendable coins less than they are.
fn insufficient(available: Amount, needed: Amount, spendable: u64, fee_rate: u64) -> String {
    let rate = fee_rate.to_string();
    if available.base() >= spendable {
        t_args(
            "wallet-insufficient",
            [
                ("needed", needed.to_string().into()),
                ("available", available.to_string().into()),
            ],
        )
    } else if available == Amount::ZERO {
        t_args(
            "wallet-insufficient-all-dust",
            [
                ("rate", rate.into()),
                ("spendable", coins(spendable).into()),
            ],
        )
    } else {
        t_args(
            "wallet-insufficient-some-dust",
            [
                ("needed", needed.to_string().into()),
                ("available", available.to_string().into()),
                ("rate", rate.into()),
                ("spendable", coins(spendable).into()),
            ],
        )
    }
}

/// The confirmation page: every input, output, the fee and the change, and
/// the message the signatures will sign.
fn review(
    w: &Wallets,
    v: &Visitor,
    name: &str,
    id: &str,
    plan: &PaymentPlan,
    amount: Amount,
    fee_rate: u64,
) -> maud::Markup {
    let spec = &w.node.spec;
    let to = spec.address(plan.tx.outputs[0].lock).to_string();
    html! {
        h1 { (t("wallet-review-title")) }
        p.wrap #review-summary { (t_args("wallet-review-summary", [("amount", amount.to_string().into()), ("to", to.as_str().into())])) }
        dl.fields {
            div { dt { (t("fee")) } dd #review-fee { (plan.fee.to_string()) " " span.note { "(" (t_args("wallet-per-byte", [("rate", fee_rate.to_string().into())])) ")" } } }
            div { dt { (t("wallet-signed-message")) } dd.mono.wrap { (plan.signature_message()) } }
        }
        h2 { (t("wallet-inputs")) }
        table #review-inputs {
            thead { tr { th scope="col" { (t("wallet-coin")) } th scope="col" { (t("address")) } th scope="col" .num { (t("wallet-amount")) } } }
            tbody {
                @for (op, out) in plan.tx.inputs.iter().zip(&plan.spent) {
                    tr {
                        td.mono { a href={"/tx/" (op.txid)} title=(op.txid) { (short(&op.txid)) } ":" (op.vout) }
                        td.mono.wrap { (spec.address(out.lock)) }
                        td.num { (out.amount.to_string()) }
                    }
                }
            }
        }
        h2 { (t("wallet-outputs")) }
        table #review-outputs {
            thead { tr { th scope="col" { (t("address")) } th scope="col" { (t("wallet-role")) } th scope="col" .num { (t("wallet-amount")) } } }
            tbody {
                @for (i, out) in plan.tx.outputs.iter().enumerate() {
                    tr {
                        td.mono.wrap { (spec.address(out.lock)) }
                        td { (t(if i == 0 { "wallet-payment" } else { "wallet-change" })) }
                        td.num { (out.amount.to_string()) }
                    }
                }
            }
        }
        form.wallet-form method="post" action={"/wallet/w/" (name) "/send/confirm"} {
            input type="hidden" name="plan" value=(id);
            (csrf_field(v))
            button type="submit" #sign { (t("wallet-sign-button")) }
        }
        // Back to the send form with this payment in it.
        form.wallet-form method="post" action={"/wallet/w/" (name) "/send"} {
            input type="hidden" name="to" value=(to);
            input type="hidden" name="amount" value=(amount.to_string());
            input type="hidden" name="fee_rate" value=(fee_rate);
            input type="hidden" name="edit" value="1";
            (csrf_field(v))
            button type="submit" #change-payment { (t("wallet-cancel")) }
        }
    }
}

/// `POST /wallet/w/{name}/send/confirm`: signs the plan shown (by its
/// one-time id), broadcasts it, and leads to its status page.
pub async fn confirm(
    State(w): State<Arc<Wallets>>,
    p: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    f: FormResult,
) -> Response {
    let (form, v, name) = match acting(&w, &headers, p, f) {
        Ok(x) => x,
        Err(r) => return *r,
    };
    let id = form.get("plan").cloned().unwrap_or_default();
    let planned = w.with_held(&v.id, |h| match h.planned.get(&id) {
        Some(p) if p.wallet == name => h.planned.remove(&id),
        _ => None,
    });
    let Some(Planned { plan, .. }) = planned else {
        return problem(
            StatusCode::CONFLICT,
            &t("wallet-not-sent"),
            &t("wallet-no-plan"),
        );
    };
    // A fresh change address, if the payment has change (on a chain where
    // only created accounts receive, change goes back to a spent coin's
    // address: nothing to keep).
    let change = plan
        .tx
        .outputs
        .get(1)
        .map(|o| o.lock)
        .filter(|_| !w.node.spec.requires_account_creation());
    let signed = with_open(&w, &v, &name, |wallet| {
        if change.is_some_and(|c| c != wallet.peek_change()) {
            return None;
        }
        Some(wallet.sign_plan(plan))
    });
    let tx = match signed {
        None => {
            return unlock_page(
                &v,
                &name,
                StatusCode::UNAUTHORIZED,
                Some(&t("wallet-locked-now")),
            )
        }
        Some(None) => {
            return problem(
                StatusCode::CONFLICT,
                &t("wallet-not-sent"),
                &t("wallet-changed"),
            )
        }
        Some(Some(Err(e))) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                &t("wallet-not-sent"),
                &e.to_string(),
            )
        }
        Some(Some(Ok(tx))) => tx,
    };
    let node = w.node.clone();
    let submitted = tokio::task::spawn_blocking(move || node.submit(tx)).await;
    let txid = match submitted {
        Ok(Ok(txid)) => txid,
        Ok(Err(e)) => {
            return problem(
                StatusCode::UNPROCESSABLE_ENTITY,
                &t("wallet-not-sent"),
                &t_args("wallet-refused-by-node", [("error", e.to_string().into())]),
            )
        }
        Err(_) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                &t("wallet-not-sent"),
                &t("error-page-not-built"),
            )
        }
    };
    tracing::info!(wallet = %name, %txid, "payment sent from the wallet pages");
    // The change address is kept in the file (the payment is out: a
    // failure to write is reported, not undone).
    let (path, spec) = (w.path_of(&name), w.node.spec.clone());
    let kept = with_open(&w, &v, &name, |wallet| {
        if change.is_some() {
            wallet.next_change(&spec);
        }
        wallet.save(&path, false)
    });
    if let Some(Err(e)) = kept {
        tracing::warn!(wallet = %name, error = %e, "could not keep the change address");
    }
    Redirect::to(&format!("/wallet/w/{name}/tx/{txid}")).into_response()
}

/// `GET /wallet/w/{name}/tx/{txid}`: a payment's status, pending until a
/// block confirms it; it follows new blocks live, or on reload without
/// JavaScript. Only the wallet's own transactions (paying or spending one
/// of its addresses) are shown: another, or one the node does not know, is
/// a 404 page; a locked wallet asks to be unlocked first.
pub async fn status(
    State(w): State<Arc<Wallets>>,
    p: Result<Path<HashMap<String, String>>, PathRejection>,
    headers: HeaderMap,
) -> Response {
    let v = match visitor(&w, &headers) {
        Ok(v) => v,
        Err(r) => return *r,
    };
    let Ok(Path(params)) = p else {
        return problem(StatusCode::BAD_REQUEST, &t("error-bad-request"), "");
    };
    let name = params.get("name").cloned().unwrap_or_default();
    let name = match wallet_name(&w, Ok(Path(name))) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    let raw = params.get("txid").cloned().unwrap_or_default();
    let txid = match crate::explorer::parse_hash(&raw, "not-hex-txid") {
        Ok(h) => h,
        Err(e) => return e.into_response(),
    };
    // The wallet's addresses: the page shows only its own transactions.
    let Some(addresses) = with_open(&w, &v, &name, |wallet| owned(wallet)) else {
        return unlock_page(&v, &name, StatusCode::OK, None);
    };
    let tip = w.node.chain.tip().height;
    let (tx, confirmed) = match w.node.chain.transaction(&txid) {
        Ok(Some(s)) => (s.tx, Some(s.location.height)),
        Ok(None) => match w.node.mempool.read().get(&txid) {
            Some(e) => ((*e.tx).clone(), None),
            None => {
                return problem(
                    StatusCode::NOT_FOUND,
                    &t("wallet-payment-title"),
                    &t("wallet-tx-unknown"),
                )
            }
        },
        Err(e) => return crate::PageError::from(e).into_response(),
    };
    if !concerns(&w.node, &tx, &addresses) {
        return problem(
            StatusCode::NOT_FOUND,
            &t("wallet-payment-title"),
            &t_args("wallet-tx-not-ours", [("wallet", name.as_str().into())]),
        );
    }
    let body = html! {
        h1 { (t("wallet-payment-title")) }
        p.mono.wrap #txid { (txid) }
        @match confirmed {
            Some(h) => p #tx-status data-status="confirmed" {
                span.badge.ok { (t("wallet-confirmed")) } " "
                (t_args("wallet-confirmed-at", [("height", h.to_string().into()), ("n", (tip.saturating_sub(h) + 1).into())]))
            },
            None => p #tx-status data-status="pending" {
                span.badge.pending { (t("pending")) } " " (t("wallet-pending-note"))
            },
        }
        p.note { (t("wallet-status-live")) }
        p { a href={"/tx/" (txid)} { (t("wallet-in-explorer")) } " · " a href={"/wallet/w/" (name)} { (t("wallet-back-to-wallet")) } }
    };
    frame_live(
        &t("wallet-payment-title"),
        &v,
        Live::Tx(txid.to_string()),
        body,
    )
}

/// Whether `tx` pays one of `addresses` or spends a coin of one.
fn concerns(
    node: &luminex_service::Node,
    tx: &luminex_primitives::Transaction,
    addresses: &[super::funds::Owned],
) -> bool {
    let locks: HashSet<Lock> = addresses.iter().map(|o| o.lock).collect();
    tx.outputs.iter().any(|o| locks.contains(&o.lock))
        || tx
            .inputs
            .iter()
            .any(|i| node.output_of(i).is_some_and(|o| locks.contains(&o.lock)))
}
