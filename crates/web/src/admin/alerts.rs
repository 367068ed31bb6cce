//! The alert rules of `deploy/prometheus/alerts.yml`, evaluated by the node
//! itself on what it knows now (no Prometheus needed), and the recent
//! warnings and errors of its log.
//!
//! Rules over a time window that the node keeps no history for are
//! evaluated over the node's whole uptime and say so; rules that need
//! quantiles or changes over time are listed as left to Prometheus.

use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use luminex_ledger::spec::ConsensusKind;
use maud::html;

use super::{frame, viewer, Admin};
use crate::i18n::{t, t_args};

/// Recent warning and error lines shown at most.
const LOG_LINES: usize = 30;

/// What became of a rule here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertState {
    /// The condition holds.
    Firing,
    /// It does not.
    Ok,
    /// The node cannot evaluate it: why.
    NotHere(String),
}

/// One rule as evaluated, its texts in the request's language.
#[derive(Debug, Clone)]
pub struct Alert {
    /// The rule's name in `alerts.yml`.
    pub name: &'static str,
    /// The condition as evaluated here.
    pub condition: String,
    /// The value it was evaluated on.
    pub value: String,
    /// Firing, not, or not evaluated here.
    pub state: AlertState,
}

fn rule(
    name: &'static str,
    condition: impl Into<String>,
    value: impl Into<String>,
    firing: bool,
) -> Alert {
    Alert {
        name,
        condition: condition.into(),
        value: value.into(),
        state: if firing {
            AlertState::Firing
        } else {
            AlertState::Ok
        },
    }
}

fn not_here(name: &'static str, condition: String, why: String) -> Alert {
    Alert {
        name,
        condition,
        value: "—".into(),
        state: AlertState::NotHere(why),
    }
}

/// A count in text (Fluent would format a number as floating point).
fn n(v: impl ToString) -> fluent_bundle::FluentValue<'static> {
    v.to_string().into()
}

/// The sum of a counter family's samples in the OpenMetrics text.
fn family_total(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        // From +0: an empty sum of floats is -0, shown as "-0".
        .fold(0.0, |a, b| a + b)
}

/// Every rule of `alerts.yml`, evaluated on `admin`'s node now.
pub fn evaluate(admin: &Admin) -> Vec<Alert> {
    let node = &admin.node;
    let m = &node.metrics;
    let tip = node.chain.tip();
    let now = node.clock.now_unix();
    let since_block = now.saturating_sub(tip.header.time());
    let (bytes, max) = {
        let p = node.mempool.read();
        (p.bytes() as f64, p.max_bytes() as f64)
    };
    let fill = if max > 0.0 { bytes / max } else { 0.0 };
    let text = m.encode();
    let reorgs = m.reorgs.get();
    let rejected_blocks = family_total(&text, "luminex_blocks_rejected_total");
    let rejected_txs = family_total(&text, "luminex_transactions_rejected_total");
    let accepted_txs = m.transactions_accepted.get() as f64;
    let uptime = node.started.elapsed().as_secs_f64().max(1.0);
    let net = node.net.get().map(|n| n.info());
    let bft = node.spec.consensus == ConsensusKind::Bft;
    let mut out = vec![rule(
        "LuminexNodeDown",
        t("alert-node-down"),
        t("alert-node-down-value"),
        false,
    )];
    out.push(rule(
        "LuminexNoNewBlocks",
        t("alert-no-new-blocks"),
        t_args("alert-no-new-blocks-value", [("secs", n(since_block))]),
        since_block > 300,
    ));
    out.push(rule(
        "LuminexMempoolNearlyFull",
        t("alert-mempool-full"),
        format!("{:.1} %", 100.0 * fill),
        fill > 0.9,
    ));
    out.push(rule(
        "LuminexForkDetected",
        t("alert-fork"),
        t_args("alert-since-start", [("n", n(reorgs))]),
        reorgs > 0,
    ));
    out.push(rule(
        "LuminexInvalidBlocks",
        t("alert-invalid-blocks"),
        t_args("alert-since-start", [("n", n(rejected_blocks))]),
        rejected_blocks > 0.0,
    ));
    out.push(not_here(
        "LuminexSlowBlockValidation",
        t("alert-slow-validation"),
        t("alert-slow-validation-why"),
    ));
    out.push(rule(
        "LuminexTransactionRejectionsHigh",
        t("alert-rejections"),
        t_args(
            "alert-rejections-value",
            [
                ("rejected", n(format!("{:.2}", rejected_txs / uptime))),
                ("accepted", n(format!("{:.2}", accepted_txs / uptime))),
            ],
        ),
        rejected_txs / uptime > 10.0 * accepted_txs / uptime + 1.0,
    ));
    match &net {
        Some(i) => {
            out.push(rule(
                "LuminexPeerCountLow",
                t("alert-peers-low"),
                t_args("alert-peers-low-value", [("n", i.peers.len().into())]),
                i.peers.len() < 2,
            ));
            let lag = i.sync.best_peer_height.saturating_sub(tip.height);
            out.push(rule(
                "LuminexSyncLag",
                t("alert-sync-lag"),
                t_args("alert-sync-lag-value", [("n", n(lag))]),
                lag > 10,
            ));
        }
        None => {
            out.push(not_here(
                "LuminexPeerCountLow",
                t("alert-peers-low"),
                t("alert-networking-off"),
            ));
            out.push(not_here(
                "LuminexSyncLag",
                t("alert-sync-lag"),
                t("alert-networking-off"),
            ));
        }
    }
    if bft {
        out.push(not_here(
            "LuminexConsensusStalled",
            t("alert-consensus-stalled"),
            t("alert-consensus-stalled-why"),
        ));
        out.push(not_here(
            "LuminexBftCannotFinalize",
            t("alert-bft-cannot-finalize"),
            t("alert-bft-cannot-finalize-why"),
        ));
        let round = m.consensus_round.get();
        out.push(rule(
            "LuminexBftRoundsClimbing",
            t("alert-rounds-climbing"),
            t_args("alert-round-value", [("n", n(round))]),
            round >= 3,
        ));
        out.push(not_here(
            "LuminexBftFrequentRoundChanges",
            t("alert-frequent-round-changes"),
            t("alert-frequent-round-changes-why"),
        ));
    }
    out
}

/// A log line's leading Unix time (seconds, as the node's log buffer
/// writes it) and the rest of the line; no time when it does not start
/// with one. The page shows the time as a UTC date, not as seconds.
fn log_time(line: &str) -> (Option<u64>, &str) {
    match line.split_once(' ') {
        Some((secs, rest)) if !secs.is_empty() && secs.bytes().all(|b| b.is_ascii_digit()) => {
            match secs.parse() {
                Ok(at) => (Some(at), rest),
                Err(_) => (None, line),
            }
        }
        _ => (None, line),
    }
}

/// The log lines as a list, each time a UTC date (in a `time` element
/// carrying the Unix time) before the rest of the line.
fn log_list(lines: &[String]) -> maud::Markup {
    html! {
        ul.plain.mono #warnings {
            @for w in lines {
                @let (at, rest) = log_time(w);
                li.wrap {
                    @if let Some(at) = at { time datetime=(at) { (crate::format::time(at)) } " " }
                    (rest)
                }
            }
        }
    }
}

/// `GET /admin/alerts`: the rules as evaluated now, and the log's recent
/// warnings.
pub async fn alerts_page(State(admin): State<Arc<Admin>>, headers: HeaderMap) -> Response {
    let s = match viewer(&admin, &headers) {
        Ok(s) => s,
        Err(r) => return *r,
    };
    let alerts = evaluate(&admin);
    let firing = alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .count();
    let mut warnings: Vec<String> = luminex_service::logbuf::global()
        .lines()
        .into_iter()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    warnings.reverse();
    warnings.truncate(LOG_LINES);
    let body = html! {
        h1 { (t("admin-nav-alerts")) }
        p #alerts-summary {
            @if firing == 0 { (t("alert-none-firing")) } @else { (t_args("alert-n-firing", [("n", firing.into())])) }
            " " (t("alert-rules-of")) " " code { "deploy/prometheus/alerts.yml" } (t("alert-rules-of-after"))
        }
        table #alerts {
            caption.visually-hidden { (t("alert-caption")) }
            thead { tr {
                th scope="col" { (t("alert-rule")) } th scope="col" { (t("alert-condition")) } th scope="col" { (t("admin-value")) } th scope="col" { (t("alert-state")) }
            } }
            tbody {
                @for a in &alerts {
                    tr {
                        td { (a.name) }
                        td { (a.condition) }
                        td { (a.value) }
                        td {
                            @match &a.state {
                                AlertState::Firing => span.badge.warn { (t("alert-firing")) },
                                AlertState::Ok => span.badge.ok { (t("alert-ok")) },
                                AlertState::NotHere(why) => { span.badge { (t("alert-not-evaluated")) } " " span.note { (why) } },
                            }
                        }
                    }
                }
            }
        }
        h2 { (t("alert-log-heading")) }
        @if warnings.is_empty() {
            p.note #no-warnings { (t("alert-log-none")) }
        } @else {
            (log_list(&warnings))
        }
    };
    frame(&t("admin-nav-alerts"), "/admin/alerts", &s, body)
}

#[cfg(test)]
mod tests {
    use super::{family_total, log_list, log_time};

    #[test]
    fn a_log_lines_unix_time_is_read_off_for_a_utc_date() {
        let line = "1796532311 WARN luminex_p2p: peer misbehaved";
        let (at, rest) = log_time(line);
        assert_eq!(at, Some(1_796_532_311));
        assert_eq!(rest, "WARN luminex_p2p: peer misbehaved");
        assert_eq!(
            crate::format::time(at.unwrap()),
            "Sun, 06 Dec 2026 04:45:11 GMT"
        );
        let list = log_list(&[line.to_string(), "ERROR x: no time".to_string()]).into_string();
        assert!(
            list.contains("<time datetime=\"1796532311\">Sun, 06 Dec 2026 04:45:11 GMT</time> WARN luminex_p2p"),
            "{list}"
        );
        assert!(!list.contains("1796532311 WARN"), "{list}");
        assert!(
            list.contains("<li class=\"wrap\">ERROR x: no time</li>"),
            "{list}"
        );
        for odd in [
            "WARN no time",
            "",
            "12x WARN",
            "99999999999999999999999 WARN x",
        ] {
            assert_eq!(log_time(odd), (None, odd));
        }
    }

    #[test]
    fn counter_families_are_summed_over_their_labels() {
        let text = "# TYPE luminex_blocks_rejected counter\n\
            luminex_blocks_rejected_total{reason=\"a\"} 2\n\
            luminex_blocks_rejected_total{reason=\"b\"} 3\n\
            luminex_blocks_rejected_created{reason=\"b\"} 1700000000.0\n\
            luminex_transactions_rejected_total{reason=\"a\"} 7\n";
        assert_eq!(family_total(text, "luminex_blocks_rejected_total"), 5.0);
        assert_eq!(
            family_total(text, "luminex_transactions_rejected_total"),
            7.0
        );
        let none = family_total(text, "luminex_reorgs_total");
        assert_eq!(none, 0.0);
        assert_eq!(format!("{none}"), "0");
    }
}
