//! `GET /`: the dashboard.

use std::sync::Arc;

use axum::extract::State;
use luminex_primitives::Hash;
use luminex_service::Node;
use maud::{html, Markup};

use super::ago;
use crate::format::{age, bytes, coins, difficulty, grouped, rate_per_kb, short, time};
use crate::i18n::{t, t_args};
use crate::layout::{self, Live};
use crate::PageError;

/// Blocks listed under "Latest blocks".
const LATEST_BLOCKS: u64 = 10;
/// Transactions listed under "Latest transactions".
const LATEST_TXS: usize = 10;
/// Blocks looked back through for them: a chain whose latest blocks hold
/// only rewards still shows its latest payments, at the cost of reading
/// this many blocks' transaction counts when there are none.
const TX_SEARCH_BLOCKS: u64 = 1_000;
/// Blocks averaged for the block time and transactions per second.
const WINDOW: u64 = 100;
/// Projected blocks shown; the rest of the mempool is summed in the last.
const PROJECTED: usize = 6;

/// One projected block of the mempool.
struct Projected {
    txs: usize,
    bytes: u64,
    fees: u64,
    /// Lowest and highest fee rate (per 1,000 bytes).
    min_rate: u64,
    max_rate: u64,
}

/// The mempool cut into blocks of the chain's size limit, highest fee rate
/// first, as the producer would fill them (parents before children aside).
fn project(node: &Node) -> Vec<Projected> {
    let pool = node.mempool.read();
    let cap = node.spec.max_block_bytes.saturating_sub(1000).max(1) as u64;
    let mut out: Vec<Projected> = Vec::new();
    for e in pool.entries() {
        let size = e.size as u64;
        let start_new = match out.last() {
            None => true,
            Some(b) => b.bytes + size > cap && out.len() < PROJECTED,
        };
        if start_new {
            out.push(Projected {
                txs: 0,
                bytes: 0,
                fees: 0,
                min_rate: e.fee_rate,
                max_rate: e.fee_rate,
            });
        }
        let b = out.last_mut().expect("a block was pushed");
        b.txs += 1;
        b.bytes += size;
        b.fees += e.fee.base();
        b.min_rate = b.min_rate.min(e.fee_rate);
        b.max_rate = b.max_rate.max(e.fee_rate);
    }
    out
}

struct Recent {
    height: u64,
    hash: Hash,
    time: u64,
    txs: usize,
}

/// The dashboard: network figures, fee estimates, the projected mempool,
/// latest blocks and transactions.
pub async fn dashboard(State(node): State<Arc<Node>>) -> Result<Markup, PageError> {
    let n = node.clone();
    let lang = crate::i18n::carry();
    tokio::task::spawn_blocking(move || lang.within(|| render(&n)))
        .await
        .map_err(|_| PageError::bad_request(crate::i18n::t("error-page-not-built")))?
}

fn render(node: &Node) -> Result<Markup, PageError> {
    let tip = node.chain.tip();
    let now = node.clock.now_unix();
    // The window for averages leaves the genesis block out: its time is
    // the chain's design date, not when the node started producing.
    let window_low = tip.height.saturating_sub(WINDOW).max(1);
    let lowest = window_low.min(tip.height.saturating_sub(LATEST_BLOCKS - 1));
    let mut recent = Vec::new();
    let mut window_txs = 0u64;
    let mut oldest_time = tip.header.time();
    for h in (lowest..=tip.height).rev() {
        let Some(hash) = node.chain.hash_at(h)? else {
            break;
        };
        let Some(rec) = node.chain.header(&hash)? else {
            break;
        };
        let txs = node.chain.tx_count(&hash)?.unwrap_or(0);
        if h >= window_low {
            oldest_time = rec.header.time();
            // Transactions of the blocks after the oldest one in the window.
            if h > window_low {
                window_txs += txs.saturating_sub(1) as u64;
            }
        }
        if (recent.len() as u64) < LATEST_BLOCKS {
            recent.push(Recent {
                height: h,
                hash,
                time: rec.header.time(),
                txs,
            });
        }
    }
    let span = tip.header.time().saturating_sub(oldest_time);
    let blocks_in_span = tip.height.saturating_sub(window_low);
    let block_time = (blocks_in_span > 0).then(|| span as f64 / blocks_in_span as f64);
    let tps = (span > 0).then(|| window_txs as f64 / span as f64);

    // Latest transactions: pending ones (newest admitted first), then those
    // of the latest blocks.
    let mut pending: Vec<(u64, Hash, u64, u64)> = node
        .mempool
        .read()
        .entries()
        .map(|e| (e.sequence, e.txid, e.fee_rate, e.size as u64))
        .collect();
    pending.sort_by_key(|p| std::cmp::Reverse(p.0));
    pending.truncate(LATEST_TXS);
    let mut confirmed: Vec<(Hash, u64, u64)> = Vec::new();
    let search_low = tip.height.saturating_sub(TX_SEARCH_BLOCKS - 1).max(1);
    for h in (search_low..=tip.height).rev() {
        if confirmed.len() >= LATEST_TXS {
            break;
        }
        let Some(hash) = node.chain.hash_at(h)? else {
            break;
        };
        if node.chain.tx_count(&hash)?.unwrap_or(0) <= 1 {
            continue;
        }
        if let Some(block) = node.chain.block(&hash)? {
            for t in block.txs.iter().skip(1).take(LATEST_TXS - confirmed.len()) {
                let out: u64 = t.outputs.iter().map(|o| o.amount.base()).sum();
                confirmed.push((t.txid(), h, out));
            }
        }
    }
    // Whether "none" means none since genesis or none lately.
    let searched_all = search_low <= 1;

    let (pool_txs, pool_bytes) = {
        let p = node.mempool.read();
        (p.len(), p.bytes() as u64)
    };
    let projected = project(node);
    let estimates = [1u64, 3, 6].map(|n| (n, node.estimate_fee_rate(n)));
    let pow = tip
        .header
        .as_pow()
        .filter(|_| node.spec.consensus == luminex_ledger::spec::ConsensusKind::Pow)
        .map(|p| {
            let d = luminex_consensus::pow::difficulty(p.bits);
            // Expected hashes per block are difficulty × 2³²; over the average
            // block time that is the network's hash rate.
            let rate = block_time
                .filter(|t| *t > 0.0)
                .map(|t| d * 4_294_967_296.0 / t);
            (p.bits, d, rate)
        });
    // Genesis allocations and stakes plus every subsidy so far (the
    // ledger's supply invariant's figure).
    let supply = u64::try_from(node.spec.issued_supply(tip.height)).unwrap_or(u64::MAX);
    // Finality and the validators on BFT chains.
    let bft = (node.spec.consensus == luminex_ledger::spec::ConsensusKind::Bft)
        .then(|| node.chain.finalized().height);

    let body = html! {
        h1 { (t("explorer")) span.chain { " · " (t_args("chain-of", [("chain", node.spec.name.to_string().into()), ("consensus", node.spec.consensus.name().into())])) } }
        section.figures aria-label=(t("network-figures")) {
            dl {
                div { dt { (t("height")) } dd #height { a href={"/block/" (tip.height)} { (grouped(tip.height)) } } }
                div { dt { (t("last-block")) } dd { (ago(now, tip.header.time())) } }
                div { dt { (t("block-time")) } dd { @if let Some(t) = block_time { (format!("{t:.1}")) " s" } @else { "—" } } }
                div { dt { (t("tps")) } dd { @if let Some(t) = tps { (format!("{t:.2}")) } @else { "—" } } }
                div { dt { (t("mempool")) } dd { (t_args("txs-and-bytes", [("txs", grouped(pool_txs as u64).into()), ("bytes", bytes(pool_bytes).into())])) } }
                div { dt { (t("supply")) } dd { (coins(supply)) } }
                @if let Some(f) = bft {
                    div { dt { (t("finalized-height")) } dd #finalized { a href={"/block/" (f)} { (grouped(f)) } } }
                }
                @if let Some((bits, d, rate)) = pow {
                    div { dt { (t("difficulty")) } dd { (difficulty(d)) } }
                    div { dt { (t("target-bits")) } dd { code { (format!("{bits:08x}")) } } }
                    div { dt { (t("hash-rate")) } dd { @if let Some(r) = rate { (hashrate(r)) } @else { "—" } } }
                }
            }
        }
        p { a href="/charts" { (t("charts-link")) } @if bft.is_some() { " · " a href="/validators" { (t("validators-link")) } } }
        section aria-labelledby="fees-h" {
            h2 #fees-h { (t("fee-estimates")) }
            p.note { (t("fee-estimates-note")) }
            ul.fees {
                @for (n, rate) in estimates {
                    li { span.label { @if n == 1 { (t("next-block")) } @else { (t_args("within-blocks", [("n", n.into())])) } } strong { (rate) } }
                }
            }
        }
        section aria-labelledby="mempool-h" {
            h2 #mempool-h { (t("mempool-next-blocks")) }
            @if projected.is_empty() {
                p.note { (t("mempool-empty")) }
            } @else {
                ol.projected {
                    @for (i, b) in projected.iter().enumerate() {
                        li {
                            span.label { @if i == 0 { (t("next-block")) } @else if i + 1 == projected.len() && projected.len() == PROJECTED { (t_args("blocks-and-more", [("n", i.into())])) } @else { "+" (i) } }
                            strong { (rate_per_kb(b.min_rate)) "–" (rate_per_kb(b.max_rate)) } " " (t("per-byte"))
                            span { (t_args("projected-block", [("txs", b.txs.to_string().into()), ("bytes", bytes(b.bytes).into()), ("fees", coins(b.fees).into())])) }
                        }
                    }
                }
            }
        }
        div.columns {
            section aria-labelledby="blocks-h" {
                h2 #blocks-h { (t("latest-blocks")) }
                table #latest-blocks {
                    thead { tr { th scope="col" { (t("height")) } th scope="col" { (t("hash")) } th scope="col" { (t("age")) } th scope="col" .num { (t("txs")) } } }
                    tbody {
                        @for b in &recent {
                            tr {
                                td { a href={"/block/" (b.height)} { (b.height) } }
                                td.mono { a href={"/block/" (b.hash)} { (short(&b.hash)) } }
                                td { time datetime=(b.time) title=(time(b.time)) { (age(now, b.time)) } }
                                td.num { (b.txs) }
                            }
                        }
                    }
                }
            }
            section aria-labelledby="txs-h" {
                h2 #txs-h { (t("latest-transactions")) }
                @if pending.is_empty() && confirmed.is_empty() {
                    @if searched_all {
                        p.note { (t("no-transactions-yet")) }
                    } @else {
                        p.note { (t_args("no-recent-transactions", [("n", TX_SEARCH_BLOCKS.into())])) }
                    }
                } @else {
                    table #latest-txs {
                        thead { tr { th scope="col" { (t("transaction")) } th scope="col" { (t("status")) } } }
                        tbody {
                            @for (_, txid, rate, size) in &pending {
                                tr {
                                    td.mono { a href={"/tx/" (txid)} { (short(txid)) } }
                                    td { span.badge.pending { (t("badge-pending")) } " " (rate_per_kb(*rate)) "/B · " (bytes(*size)) }
                                }
                            }
                            @for (txid, height, out) in &confirmed {
                                tr {
                                    td.mono { a href={"/tx/" (txid)} { (short(txid)) } }
                                    td { (t("in-block-short")) " " a href={"/block/" (height)} { (height) } " · " (coins(*out)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        p.updated { (t("tip")) " " a.mono href={"/block/" (tip.hash)} { (short(&tip.hash)) } " " (t_args("tip-at", [("time", time(tip.header.time()).into())])) }
    };
    Ok(layout::page(&t("explorer"), Live::Chain, body))
}

fn hashrate(h: f64) -> String {
    let units = ["H/s", "kH/s", "MH/s", "GH/s", "TH/s", "PH/s", "EH/s"];
    let mut v = h;
    let mut i = 0;
    while v >= 1000.0 && i + 1 < units.len() {
        v /= 1000.0;
        i += 1;
    }
    format!("{v:.2} {}", units[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_rates_read_well() {
        assert_eq!(hashrate(12.0), "12.00 H/s");
        assert_eq!(hashrate(1.5e9), "1.50 GH/s");
    }
}
