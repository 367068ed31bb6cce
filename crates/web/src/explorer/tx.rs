//! `GET /tx/{txid}`: a transaction, confirmed or pending.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use luminex_primitives::{Encode, OutPoint, Transaction, TxKind};
use luminex_service::payouts::{PayoutKind, PayoutStatus};
use luminex_service::Node;
use maud::{html, Markup};

use super::{ago, confirmations};
use super::{parse_hash, path_param};
use crate::format::{bytes, coins, short, short_str, time};
use crate::i18n::{t, t_args};
use crate::layout::{self, Live};
use crate::PageError;

/// What became of an output.
enum Fate {
    /// Still in the UTXO set.
    Unspent,
    /// Spent by a transaction waiting in the mempool.
    Pending(luminex_primitives::Hash),
    /// Spent on the chain (the node keeps no index of the spender).
    Confirmed,
    /// The transaction itself is not confirmed yet.
    NotYet,
}

/// A transaction's page.
pub async fn transaction(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
) -> Result<Markup, PageError> {
    let txid = parse_hash(&path_param(p)?, "not-hex-txid")?;
    let tip = node.chain.tip().height;
    let (tx, location, pool_fee): (Transaction, _, _) =
        if let Some(s) = node.chain.transaction(&txid)? {
            (s.tx, Some(s.location), None)
        } else if let Some(e) = node.mempool.read().get(&txid) {
            ((*e.tx).clone(), None, Some(e.fee.base()))
        } else {
            return Err(PageError::not_found(t_args(
                "no-such-tx",
                [("hash", txid.to_string().into())],
            )));
        };
    let coinbase = matches!(tx.kind, TxKind::Coinbase { .. });
    // The genesis block's coinbase is the genesis allocation, not a reward.
    let genesis = coinbase && location.as_ref().is_some_and(|l| l.height == 0);
    let size = tx.encoded_len() as u64;
    let out_total: u64 = tx.outputs.iter().map(|o| o.amount.base()).sum();
    // Inputs pay the outputs, any coins bonded (a stake or delegation)
    // and the fee; a coinbase pays none to show.
    let fee = pool_fee.or_else(|| {
        (!coinbase)
            .then(|| node.fee_of(&tx).map(|f| f.base()))
            .flatten()
    });
    let now = node.clock.now_unix();
    let block_time = match &location {
        Some(l) => node.chain.header(&l.block)?.map(|r| r.header.time()),
        None => None,
    };
    let outputs: Vec<Fate> = (0..tx.outputs.len() as u32)
        .map(|vout| {
            let op = OutPoint { txid, vout };
            if let Some(s) = node.mempool.read().spender(&op) {
                return Ok(Fate::Pending(s));
            }
            if location.is_none() {
                return Ok(Fate::NotYet);
            }
            Ok(match node.chain.coin(&op)? {
                Some(_) => Fate::Unspent,
                None => Fate::Confirmed,
            })
        })
        .collect::<Result<_, PageError>>()?;
    let payouts = match &location {
        Some(l) => node.ledger_payouts(&tx, &txid, l.height)?,
        None => Vec::new(),
    };
    let live = if location.is_some() {
        Live::Blocks
    } else {
        Live::Tx(txid.to_string())
    };

    let body = html! {
        h1 { @if coinbase { (t("coinbase-transaction")) } @else { (t("transaction")) } }
        p.hash.mono { (txid) }
        dl.fields {
            div { dt { (t("status")) } dd #tx-status {
                @if let Some(l) = &location {
                    span.badge.ok { (t("badge-confirmed")) } " " (t("in-block")) " "
                    a href={"/block/" (l.block)} { (l.height) }
                    " · " (confirmations(tip.saturating_sub(l.height) + 1))
                    @if let Some(bt) = block_time { " · " time datetime=(bt) title=(time(bt)) { (ago(now, bt)) } }
                } @else {
                    span.badge.pending { (t("badge-pending")) } " " (t("waiting-in-mempool"))
                }
            } }
            @if let Some(f) = fee {
                div { dt { (t("fee")) } dd { (coins(f)) " " (t_args("fee-rate", [("rate", format!("{:.2}", f as f64 / size.max(1) as f64).into())])) } }
            }
            div { dt { (t("size")) } dd { (bytes(size)) } }
            div { dt { (t("paid-out")) } dd { (coins(out_total)) } }
            div { dt { (t("expiry")) } dd { @if tx.expiry_height == 0 { (t("expiry-none")) } @else { (t_args("expiry-after", [("height", tx.expiry_height.to_string().into())])) } } }
            div { dt { (t("version")) } dd { (tx.version) } }
            div { dt { (t("witness-id")) } dd.mono { (tx.wtxid()) } }
            @if !tx.data.is_empty() {
                div { dt { (t("data")) } dd {
                    @if let Some(text) = printable(&tx.data) { q { (text) } br; }
                    code.wrap { (hex::encode(&tx.data)) }
                } }
            }
        }
        div.columns {
            section aria-labelledby="inputs-h" {
                h2 #inputs-h { (t("inputs")) }
                @if coinbase {
                    p.note { @if genesis { (t("new-coins-genesis")) } @else { (t("new-coins")) } }
                } @else {
                    table.io {
                        thead { tr { th scope="col" { (t("spends")) } th scope="col" { (t("from")) } th scope="col" .num { (t("amount")) } th scope="col" { (t("signature")) } } }
                        tbody {
                            @for (i, input) in tx.inputs.iter().enumerate() {
                                @let prev = node.output_of(input);
                                tr {
                                    td.mono { a href={"/tx/" (input.txid) "#out-" (input.vout)} { (short(&input.txid)) ":" (input.vout) } }
                                    td.mono { @if let Some(o) = &prev { @let a = node.spec.address(o.lock).to_string(); a href={"/address/" (a)} { (short_str(&a)) } } @else { (t("unknown")) } }
                                    td.num { @if let Some(o) = &prev { (coins(o.amount.base())) } @else { "—" } }
                                    td { @if let Some(w) = tx.witnesses.get(i) { (witness_summary(w)) } @else { (t("missing")) } }
                                }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="outputs-h" {
                h2 #outputs-h { (t("outputs")) }
                table.io {
                    thead { tr { th scope="col" .num { "#" } th scope="col" { (t("to")) } th scope="col" .num { (t("amount")) } th scope="col" { (t("spent")) } } }
                    tbody {
                        @for (i, (o, s)) in tx.outputs.iter().zip(&outputs).enumerate() {
                            @let a = node.spec.address(o.lock).to_string();
                            tr #{"out-" (i)} {
                                td.num { (i) }
                                td.mono { a href={"/address/" (a)} { (short_str(&a)) } }
                                td.num { (coins(o.amount.base())) }
                                td { @match s {
                                    Fate::Unspent => (t("fate-unspent")),
                                    Fate::Confirmed => (t("fate-spent")),
                                    Fate::NotYet => (t("fate-not-yet")),
                                    Fate::Pending(by) => { (t("fate-by-pending")) " " a.mono href={"/tx/" (by)} { (short(by)) } },
                                } }
                            }
                        }
                    }
                }
            }
        }
        @if !payouts.is_empty() {
            section aria-labelledby="payouts-h" {
                h2 #payouts-h { (t("ledger-payouts")) }
                p.note { (t("ledger-payouts-note")) }
                table.io {
                    thead { tr { th scope="col" .num { "#" } th scope="col" { (t("to")) } th scope="col" .num { (t("amount")) } th scope="col" { (t("status")) } } }
                    tbody {
                        @for p in &payouts {
                            @let a = node.spec.address(p.coin.output.lock).to_string();
                            @let kind = match p.kind { PayoutKind::Reward => t("payout-reward"), PayoutKind::Unbonding => t("payout-unbonding") };
                            @let at = [("height", p.height.to_string().into())];
                            tr #{"out-" (p.outpoint.vout)} {
                                td.num { (p.outpoint.vout) }
                                td.mono { a href={"/address/" (a)} { (short_str(&a)) } }
                                td.num { (coins(p.coin.output.amount.base())) }
                                td { (kind) ", " @match p.status {
                                    PayoutStatus::Paid => a href={"/block/" (p.height)} { (t_args("payout-paid-at", at)) },
                                    PayoutStatus::Pending => (t_args("payout-pending-until", at)),
                                    PayoutStatus::Slashed => (t("payout-slashed")),
                                } }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(layout::page(&t("transaction"), live, body))
}

/// A witness in a table cell: the key's scheme and signature size, or the
/// number of multisig signers and their signatures' total size.
fn witness_summary(w: &luminex_primitives::Witness) -> String {
    let sigs = w.signatures();
    let size: usize = sigs.iter().map(|(_, s)| s.bytes.len()).sum();
    match w {
        luminex_primitives::Witness::Key { public_key, .. } => {
            format!("{} · {}", public_key.scheme, bytes(size as u64))
        }
        luminex_primitives::Witness::Multisig(_) => {
            format!(
                "{} · {}",
                t_args("multisig-signers", [("n", sigs.len().into())]),
                bytes(size as u64)
            )
        }
    }
}

/// `data` as text when it is UTF-8 without control characters.
fn printable(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data)
        .ok()
        .filter(|s| !s.chars().any(|c| c.is_control()))
}
