//! `GET /charts?range=`: transaction volume, fees and block times over the
//! last 100, 1,000 or 10,000 blocks.
//!
//! Each block is read once: its summary (time, transactions, fees, parent)
//! is kept in a [`Summaries`] cache shared by the requests, keyed by block
//! hash and walked from the tip by parent links, so a reorganisation is
//! followed without invalidation and a request reads only the blocks it
//! has not seen. The cache holds at most [`MAX_CACHED`] blocks; a request
//! reads at most the range plus one block. Each range's figures are kept
//! for the tip they were computed at, so between blocks a request only
//! renders them.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Extension;
use luminex_primitives::Hash;
use luminex_service::Node;
use maud::{html, Markup};
use parking_lot::Mutex;

use super::query;
use crate::chart::{Chart, Kind};
use crate::format::{coins, grouped};
use crate::i18n::{t, t_args};
use crate::layout::{self, Live};
use crate::PageError;

/// The ranges offered, in blocks; the first is the default.
pub(crate) const RANGES: [u64; 3] = [100, 1_000, 10_000];
/// Bars per chart: the range is cut into this many runs of blocks.
const BUCKETS: u64 = 50;
/// Blocks the cache holds before it forgets those older than the largest
/// range: that range, its parent, and room for new blocks and branches.
const MAX_CACHED: usize = 12_000;

/// What the charts need of a block.
#[derive(Debug, Clone, Copy)]
struct Summary {
    height: u64,
    prev: Hash,
    time_ms: u64,
    /// Transactions but the coinbase.
    txs: u64,
    /// Fees paid to the producer: the coinbase's outputs less the subsidy.
    fees: u64,
}

/// The per-block summaries the charts page reads, shared by its requests
/// (an `Extension` of the pages' router).
#[derive(Default)]
pub struct Summaries {
    by_hash: Mutex<HashMap<Hash, Summary>>,
    /// Each range's figures at the tip they were computed for: requests
    /// at the same tip only render them.
    figures: Mutex<HashMap<u64, (Hash, Arc<Figures>)>>,
}

/// What the charts of one range show, at one tip.
struct Figures {
    /// The tip's height and the lowest block of the range.
    tip: u64,
    low: u64,
    buckets: Vec<Bucket>,
    /// The mean interval between the range's blocks and their parents (ms).
    mean: Option<u64>,
}

impl Summaries {
    /// The summaries of the main chain's blocks from `low` to `tip`,
    /// lowest first, read from the cache where it has them.
    fn main_chain(
        &self,
        node: &Node,
        tip: &luminex_storage::Tip,
        low: u64,
    ) -> Result<Vec<Summary>, PageError> {
        let mut out = Vec::with_capacity((tip.height + 1).saturating_sub(low) as usize);
        let mut next = tip.hash;
        let mut missed = Vec::new();
        loop {
            // The lock is held for one look-up: blocks are read without it.
            let cached = self.by_hash.lock().get(&next).copied();
            let s = match cached {
                Some(s) => s,
                None => match read(node, &next)? {
                    Some(s) => {
                        missed.push((next, s));
                        s
                    }
                    None => break,
                },
            };
            out.push(s);
            if s.height <= low {
                break;
            }
            next = s.prev;
        }
        if !missed.is_empty() {
            let mut cache = self.by_hash.lock();
            if cache.len() + missed.len() > MAX_CACHED {
                // Keep what the largest range reads; forget the older
                // blocks and those of abandoned branches below them.
                let keep = tip.height.saturating_sub(RANGES[RANGES.len() - 1] + 1);
                cache.retain(|_, s| s.height >= keep);
            }
            cache.extend(missed);
        }
        out.reverse();
        Ok(out)
    }

    /// The figures of `range` at the current tip: computed once per tip
    /// and range, then shared.
    fn figures(&self, node: &Node, range: u64) -> Result<Arc<Figures>, PageError> {
        let tip = node.chain.tip();
        if let Some((at, f)) = self.figures.lock().get(&range) {
            if *at == tip.hash {
                return Ok(f.clone());
            }
        }
        let low = tip.height.saturating_sub(range - 1).max(1);
        let blocks = if tip.height == 0 {
            Vec::new()
        } else {
            self.main_chain(node, &tip, low - 1)?
        };
        let intervals: Vec<u64> = blocks
            .windows(2)
            .filter(|w| w[1].height >= low && w[1].height >= 2)
            .map(|w| w[1].time_ms.saturating_sub(w[0].time_ms))
            .collect();
        let f = Arc::new(Figures {
            tip: tip.height,
            low,
            buckets: buckets(&blocks, low, range),
            mean: (!intervals.is_empty())
                .then(|| intervals.iter().sum::<u64>() / intervals.len() as u64),
        });
        self.figures.lock().insert(range, (tip.hash, f.clone()));
        Ok(f)
    }
}

/// A block's summary, read from the store; `None` when it is not stored.
fn read(node: &Node, hash: &Hash) -> Result<Option<Summary>, PageError> {
    let Some(rec) = node.chain.header(hash)? else {
        return Ok(None);
    };
    let txs = node.chain.tx_count(hash)?.unwrap_or(1) as u64;
    // A block of only its coinbase paid no fees.
    let fees = if txs > 1 {
        node.chain
            .block(hash)?
            .and_then(|b| node.block_fees(&b, rec.height))
            .unwrap_or(0)
    } else {
        0
    };
    Ok(Some(Summary {
        height: rec.height,
        prev: rec.header.prev_hash(),
        time_ms: rec.header.time_ms(),
        txs: txs.saturating_sub(1),
        fees,
    }))
}

/// One bar of the charts: a run of blocks.
struct Bucket {
    low: u64,
    high: u64,
    txs: u64,
    fees: u64,
    /// Mean interval between the run's blocks and their parents (ms);
    /// `None` when the run holds only block 1 (the genesis block's time is
    /// the chain's design date, not when production started).
    block_time_ms: Option<u64>,
}

/// The range a `?range=` asks for; the default when absent.
pub(crate) fn range_of(q: &HashMap<String, String>) -> Result<u64, PageError> {
    match q.get("range") {
        None => Ok(RANGES[0]),
        Some(r) => r
            .parse::<u64>()
            .ok()
            .filter(|n| RANGES.contains(n))
            .ok_or_else(|| {
                let allowed: Vec<String> = RANGES.iter().map(|n| n.to_string()).collect();
                PageError::bad_request(t_args(
                    "charts-range-bad",
                    [
                        ("range", crate::format::short_str(r).into()),
                        ("allowed", allowed.join(", ").into()),
                    ],
                ))
            }),
    }
}

/// The charts page.
pub async fn charts(
    State(node): State<Arc<Node>>,
    Extension(summaries): Extension<Arc<Summaries>>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Result<Markup, PageError> {
    let range = range_of(&query(q)?)?;
    let lang = crate::i18n::carry();
    tokio::task::spawn_blocking(move || lang.within(|| render(&node, &summaries, range)))
        .await
        .map_err(|_| PageError::bad_request(t("error-page-not-built")))?
}

fn buckets(blocks: &[Summary], low: u64, range: u64) -> Vec<Bucket> {
    let size = range.div_ceil(BUCKETS).max(1);
    let mut out: Vec<Bucket> = Vec::new();
    let mut prev_time: Option<u64> = None;
    let mut intervals = (0u64, 0u64);
    for s in blocks {
        if s.height < low {
            // The parent of the lowest block: its time starts the first
            // interval.
            prev_time = Some(s.time_ms);
            continue;
        }
        if out.last().is_none_or(|b| s.height >= b.low + size) {
            if let Some(b) = out.last_mut() {
                b.block_time_ms = (intervals.1 > 0).then(|| intervals.0 / intervals.1);
            }
            intervals = (0, 0);
            out.push(Bucket {
                low: s.height,
                high: s.height,
                txs: 0,
                fees: 0,
                block_time_ms: None,
            });
        }
        let b = out.last_mut().expect("a bucket was pushed");
        b.high = s.height;
        b.txs = b.txs.saturating_add(s.txs);
        b.fees = b.fees.saturating_add(s.fees);
        if let Some(p) = prev_time.filter(|_| s.height >= 2) {
            intervals.0 = intervals.0.saturating_add(s.time_ms.saturating_sub(p));
            intervals.1 += 1;
        }
        prev_time = Some(s.time_ms);
    }
    if let Some(b) = out.last_mut() {
        b.block_time_ms = (intervals.1 > 0).then(|| intervals.0 / intervals.1);
    }
    out
}

/// Milliseconds as seconds with up to three decimals, exactly ("2.5 s").
pub(crate) fn seconds(ms: u64) -> String {
    let (s, frac) = (ms / 1000, ms % 1000);
    if frac == 0 {
        format!("{s} s")
    } else {
        let f = format!("{frac:03}");
        format!("{s}.{} s", f.trim_end_matches('0'))
    }
}

fn render(node: &Node, summaries: &Summaries, range: u64) -> Result<Markup, PageError> {
    let f = summaries.figures(node, range)?;
    let (tip, low, buckets, mean) = (f.tip, f.low, &f.buckets, f.mean);
    let label = |b: &Bucket| {
        if b.low == b.high {
            b.low.to_string()
        } else {
            format!("{}–{}", b.low, b.high)
        }
    };
    let total_txs: u64 = buckets.iter().map(|b| b.txs).sum();
    let total_fees: u64 = buckets.iter().fold(0, |a, b| a.saturating_add(b.fees));
    let blocks_label = t("charts-blocks");
    let count = |v: u64| grouped(v);
    let coin_value = |v: u64| coins(v);
    let time_value = |v: u64| seconds(v);
    let span = t_args(
        "charts-span",
        [
            ("low", low.to_string().into()),
            ("high", tip.to_string().into()),
        ],
    );
    let volume = Chart {
        id: "volume",
        title: t("charts-volume"),
        desc: t_args(
            "charts-volume-desc",
            [
                ("span", span.as_str().into()),
                ("txs", grouped(total_txs).into()),
            ],
        ),
        x_label: blocks_label.clone(),
        y_label: t("charts-transactions"),
        table_label: t("charts-table"),
        points: buckets.iter().map(|b| (label(b), b.txs)).collect(),
        value: &count,
        kind: Kind::Bars,
    };
    let fees = Chart {
        id: "fees",
        title: t("charts-fees"),
        desc: t_args(
            "charts-fees-desc",
            [
                ("span", span.as_str().into()),
                ("fees", coins(total_fees).into()),
            ],
        ),
        x_label: blocks_label.clone(),
        y_label: t("charts-fees-axis"),
        table_label: t("charts-table"),
        points: buckets.iter().map(|b| (label(b), b.fees)).collect(),
        value: &coin_value,
        kind: Kind::Bars,
    };
    let times: Vec<(String, u64)> = buckets
        .iter()
        .filter_map(|b| b.block_time_ms.map(|ms| (label(b), ms)))
        .collect();
    let block_times = Chart {
        id: "block-times",
        title: t("charts-block-times"),
        desc: t_args(
            "charts-block-times-desc",
            [
                ("span", span.as_str().into()),
                ("mean", mean.map_or_else(|| "—".to_string(), seconds).into()),
            ],
        ),
        x_label: blocks_label,
        y_label: t("charts-block-time-axis"),
        table_label: t("charts-table"),
        points: times,
        value: &time_value,
        kind: Kind::Bars,
    };
    let body = html! {
        h1 { (t("charts")) }
        nav.pager aria-label=(t("charts-ranges")) {
            @for r in RANGES {
                @if r == range {
                    strong aria-current="page" { (t_args("charts-last-blocks", [("n", grouped(r).into())])) }
                } @else {
                    a href={ "/charts?range=" (r) } { (t_args("charts-last-blocks", [("n", grouped(r).into())])) }
                }
            }
        }
        @if buckets.is_empty() {
            p.note { (t("charts-no-blocks")) }
        } @else {
            p.note { (span) @if tip < range { " · " (t_args("charts-fewer", [("n", grouped(tip).into())])) } }
            section aria-labelledby="volume-h" {
                h2 #volume-h { (t("charts-volume")) }
                (volume.render())
            }
            section aria-labelledby="fees-h" {
                h2 #fees-h { (t("charts-fees")) }
                (fees.render())
            }
            section aria-labelledby="times-h" {
                h2 #times-h { (t("charts-block-times")) }
                (block_times.render())
            }
        }
    };
    Ok(layout::page(&t("charts"), Live::None, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(height: u64, time_ms: u64, txs: u64, fees: u64) -> Summary {
        Summary {
            height,
            prev: Hash::ZERO,
            time_ms,
            txs,
            fees,
        }
    }

    #[test]
    fn the_cache_reads_each_block_once_and_follows_the_tip() {
        let node = luminex_service::testkit::memory_node();
        for _ in 0..5 {
            node.produce_block().unwrap();
        }
        let cache = Summaries::default();
        let heights = |v: &[Summary]| v.iter().map(|s| s.height).collect::<Vec<_>>();
        assert_eq!(
            heights(&cache.main_chain(&node, &node.chain.tip(), 2).unwrap()),
            [2, 3, 4, 5]
        );
        assert_eq!(cache.by_hash.lock().len(), 4);
        for _ in 0..3 {
            node.produce_block().unwrap();
        }
        // The new blocks are read; the cached ones are not again (a
        // summary marked in the cache is returned as marked).
        let marked = node.chain.hash_at(4).unwrap().unwrap();
        cache.by_hash.lock().get_mut(&marked).unwrap().txs = 77;
        let again = cache.main_chain(&node, &node.chain.tip(), 0).unwrap();
        assert_eq!(again[4].txs, 77);
        cache.by_hash.lock().get_mut(&marked).unwrap().txs = 0;
        let again = cache.main_chain(&node, &node.chain.tip(), 0).unwrap();
        assert_eq!(heights(&again), (0..=8).collect::<Vec<_>>());
        assert_eq!(cache.by_hash.lock().len(), 9);
        let fresh = Summaries::default()
            .main_chain(&node, &node.chain.tip(), 0)
            .unwrap();
        for (a, b) in again.iter().zip(&fresh) {
            assert_eq!(
                (a.height, a.prev, a.time_ms, a.txs, a.fees),
                (b.height, b.prev, b.time_ms, b.txs, b.fees)
            );
        }
    }

    #[test]
    fn figures_are_computed_once_per_tip_and_range() {
        let node = luminex_service::testkit::memory_node();
        node.produce_block().unwrap();
        let cache = Summaries::default();
        let a = cache.figures(&node, 100).unwrap();
        assert!(Arc::ptr_eq(&a, &cache.figures(&node, 100).unwrap()));
        assert!(!Arc::ptr_eq(&a, &cache.figures(&node, 1000).unwrap()));
        node.produce_block().unwrap();
        let b = cache.figures(&node, 100).unwrap();
        assert!(!Arc::ptr_eq(&a, &b));
        assert_eq!((a.tip, b.tip, b.low), (1, 2, 1));
    }

    #[test]
    fn seconds_are_exact() {
        assert_eq!(seconds(0), "0 s");
        assert_eq!(seconds(2500), "2.5 s");
        assert_eq!(seconds(1001), "1.001 s");
        assert_eq!(seconds(60_000), "60 s");
    }

    #[test]
    fn buckets_sum_and_average() {
        // Blocks 0..=5 (0 the parent of the lowest, 1); a range of 100 makes
        // buckets of 2 blocks.
        let blocks = [
            s(0, 0, 0, 0),
            s(1, 999_000, 1, 10),
            s(2, 1_000_000, 2, 20),
            s(3, 1_002_000, 3, 30),
            s(4, 1_006_000, 0, 0),
            s(5, 1_007_000, 5, u64::MAX),
        ];
        let b = buckets(&blocks, 1, 100);
        assert_eq!(b.len(), 3);
        assert_eq!((b[0].low, b[0].high, b[0].txs, b[0].fees), (1, 2, 3, 30));
        // Block 1's interval (from genesis) is left out.
        assert_eq!(b[0].block_time_ms, Some(1000));
        assert_eq!(b[1].block_time_ms, Some(3000));
        assert_eq!((b[2].low, b[2].high, b[2].fees), (5, 5, u64::MAX));
        assert_eq!(b[2].block_time_ms, Some(1000));
        // A range of only block 1 has no block time.
        let b = buckets(&blocks[..2], 1, 100);
        assert_eq!(b[0].block_time_ms, None);
    }

    #[test]
    fn ranges_are_whitelisted() {
        let q = |v: &str| HashMap::from([("range".to_string(), v.to_string())]);
        assert_eq!(range_of(&HashMap::new()).unwrap(), 100);
        assert_eq!(range_of(&q("10000")).unwrap(), 10_000);
        for bad in ["0", "99", "100000", "-1", "1e3", "all", ""] {
            assert!(range_of(&q(bad)).is_err(), "{bad}");
        }
    }
}
