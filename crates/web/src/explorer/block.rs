//! `GET /block/{height or hash}`: a block's header, reward and
//! transactions (paged).

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use luminex_primitives::Encode;
use luminex_service::Node;
use maud::{html, Markup};

use super::{ago, confirmations};
use super::{no_block_at, page_number, parse_hash, path_param, query};
use crate::format::{bytes, coins, difficulty, grouped, short, short_str, time};
use crate::i18n::{t, t_args};
use crate::layout::{self, Live};
use crate::PageError;

/// Transactions per page of a block.
pub(crate) const TXS_PER_PAGE: usize = 25;

/// A block's page.
pub async fn block(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Markup, PageError> {
    let id = path_param(p)?;
    let q = query(q)?;
    let page = page_number(&q)?;
    let hash = if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
        let h: u64 = id
            .parse()
            .map_err(|_| PageError::bad_request(t("height-out-of-range")))?;
        node.chain
            .hash_at(h)?
            .ok_or_else(|| no_block_at(h, node.chain.tip().height))?
    } else if id.len() == 64 {
        parse_hash(&id, "not-hex-block-hash")?
    } else {
        return Err(PageError::bad_request(t_args(
            "block-id-bad",
            [("term", short_str(&id).into())],
        )));
    };
    let rec = node.chain.header(&hash)?.ok_or_else(|| {
        PageError::not_found(t_args(
            "no-block-with-hash",
            [("hash", hash.to_string().into())],
        ))
    })?;
    let block = node.chain.block(&hash)?.ok_or_else(|| {
        PageError::not_found(t_args(
            "block-body-missing",
            [("hash", hash.to_string().into())],
        ))
    })?;
    let height = rec.height;
    let tip = node.chain.tip();
    let on_main = node.chain.hash_at(height)? == Some(hash);
    let next = if on_main {
        node.chain.hash_at(height + 1)?
    } else {
        None
    };
    let finalized = on_main && node.chain.finalized().height >= height;
    let verdict = node.chain.verdict(&hash);
    let h = &block.header;
    let now = node.clock.now_unix();
    let coinbase = block.txs.first();
    let reward: u64 = coinbase
        .map(|c| c.outputs.iter().map(|o| o.amount.base()).sum())
        .unwrap_or(0);
    let fees = node.block_fees(&block, height);
    let subsidy = node.spec.subsidy(height).base();
    let to_pot = node.rewards_to_pot();
    let paid_to: Vec<String> = coinbase
        .map(|c| {
            c.outputs
                .iter()
                .map(|o| node.spec.address(o.lock).to_string())
                .collect()
        })
        .unwrap_or_default();
    let pages = block.txs.len().div_ceil(TXS_PER_PAGE).max(1);
    if page > pages {
        return Err(PageError::not_found(t_args(
            "block-pages-past",
            [
                ("height", height.to_string().into()),
                ("pages", pages.into()),
            ],
        )));
    }
    let first = (page - 1) * TXS_PER_PAGE;
    let pow = h
        .as_pow()
        .filter(|_| node.spec.consensus == luminex_ledger::spec::ConsensusKind::Pow);
    let producer = t(if pow.is_some() { "miner" } else { "producer" });

    let body = html! {
        h1 { (t_args("block-n", [("height", grouped(height).into())])) }
        p.hash.mono { (hash) }
        nav.pager aria-label=(t("neighbouring-blocks")) {
            @if height > 0 { a rel="prev" href={"/block/" (h.prev_hash())} { "← " (t_args("block-n", [("height", (height - 1).to_string().into())])) } }
            @if let Some(n) = next { a rel="next" href={"/block/" (n)} { (t_args("block-n", [("height", (height + 1).to_string().into())])) " →" } }
        }
        dl.fields {
            div { dt { (t("status")) } dd {
                @if verdict == Some((true, true)) { span.badge.warn { (t("block-invalidated")) } }
                @else if verdict == Some((true, false)) { span.badge.warn { (t("block-failed")) } }
                @else if !on_main { span.badge.warn { (t("side-branch")) } }
                @else if finalized { span.badge.ok { (t("final")) } " · " (confirmations(tip.height - height + 1)) }
                @else { span.badge.ok { (t("main-chain")) } " · " (confirmations(tip.height - height + 1)) }
            } }
            div { dt { (t("time")) } dd { time datetime=(h.time()) { (time(h.time())) } " (" (ago(now, h.time())) ")" } }
            div { dt { (t("transactions")) } dd { (block.txs.len()) } }
            div { dt { (t("size")) } dd { (bytes(block.encoded_len() as u64)) } }
            @let fees_text = fees.map_or_else(|| "—".to_string(), coins);
            @if height == 0 {
                // The genesis coinbase creates the chain's first coins: no
                // subsidy was earned and no fees were paid.
                div { dt { (t("genesis-allocation")) } dd { (coins(reward)) " " (t("genesis-allocation-note")) } }
                div { dt { (t("allocated-to")) } dd {
                    @for a in &paid_to { a.mono href={"/address/" (a)} { (short_str(a)) } " " }
                } }
            } @else if to_pot {
                // The coinbase claims nothing: subsidy and fees go to the
                // reward pot; an epoch's last coinbase pays the pot out.
                div { dt { (t("reward")) } dd { (t_args("reward-to-pot", [("total", fees.map_or_else(|| "—".to_string(), |f| coins(f.saturating_add(subsidy))).into()), ("subsidy", coins(subsidy).into()), ("fees", fees_text.into())])) } }
                @if !paid_to.is_empty() {
                    div { dt { (t("pot-payout")) } dd {
                        (coins(reward)) " → "
                        @for a in &paid_to { a.mono href={"/address/" (a)} { (short_str(a)) } " " }
                    } }
                }
            } @else {
                div { dt { (t("reward")) } dd { (coins(reward)) " " (t_args("reward-split", [("subsidy", coins(subsidy).into()), ("fees", fees_text.into())])) } }
                div { dt { (producer) } dd {
                    @for a in &paid_to { a.mono href={"/address/" (a)} { (short_str(a)) } " " }
                } }
            }
            @if let Some(b) = h.as_bft() {
                div { dt { (t("proposer")) } dd.mono { (b.proposer) } }
                div { dt { (t("validators-hash")) } dd.mono { (b.validators_hash) } }
            }
            div { dt { (t("previous-block")) } dd.mono { a href={"/block/" (h.prev_hash())} { (h.prev_hash()) } } }
            div { dt { (t("merkle-root")) } dd.mono { (h.merkle_root()) } }
            div { dt { (t("version")) } dd { (h.version()) } }
            @if let Some(p) = pow {
                div { dt { (t("target-bits")) } dd.mono { (format!("{:08x}", p.bits)) } }
                div { dt { (t("difficulty")) } dd { (difficulty(luminex_consensus::pow::difficulty(p.bits))) } }
                div { dt { (t("nonce")) } dd { (p.nonce) } }
            }
        }
        h2 #txs { (t("transactions")) }
        table.txs {
            thead { tr { th scope="col" .num { "#" } th scope="col" { (t("transaction")) } th scope="col" .num { (t("inputs")) } th scope="col" .num { (t("paid-out")) } th scope="col" .num { (t("size")) } } }
            tbody {
                @for (i, btx) in block.txs.iter().enumerate().skip(first).take(TXS_PER_PAGE) {
                    @let txid = btx.txid();
                    tr {
                        td.num { (i) }
                        td.mono { a href={"/tx/" (txid)} { (short(&txid)) } @if i == 0 { " " span.badge { (t("badge-coinbase")) } } }
                        td.num { (btx.inputs.len()) }
                        td.num { (coins(btx.outputs.iter().map(|o| o.amount.base()).sum())) }
                        td.num { (bytes(btx.encoded_len() as u64)) }
                    }
                }
            }
        }
        @if pages > 1 {
            nav.pager aria-label=(t("pages-of-transactions")) {
                @if page > 1 { a rel="prev" href={"/block/" (hash) "?page=" (page - 1) "#txs"} { "← " (t("previous")) } }
                span { (t_args("page-of", [("page", page.into()), ("pages", pages.into())])) }
                @if page < pages { a rel="next" href={"/block/" (hash) "?page=" (page + 1) "#txs"} { (t("next")) " →" } }
            }
        }
    };
    Ok(layout::page(
        &t_args("block-n", [("height", height.to_string().into())]),
        Live::Blocks,
        body,
    ))
}
