//! `GET /validators`: on BFT chains, the validator set in force and how its
//! members signed the latest blocks; on others a 404 saying the chain has
//! no validators.
//!
//! "Signed" and "missed" are read from the commit certificates the chain
//! stores for its latest [`WINDOW`] blocks, against the set that finalized
//! each. A certificate holds the precommits its block's committer had when
//! it decided: a quorum, not necessarily every validator that signed, so a
//! validator missing from a few certificates is not necessarily offline
//! (the same caveat as the consensus metrics').

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::State;
use luminex_ledger::spec::ConsensusKind;
use luminex_ledger::ValidatorSet;
use luminex_primitives::Hash;
use luminex_service::Node;
use maud::{html, Markup};

use crate::format::{grouped, short};
use crate::i18n::{t, t_args};
use crate::layout::{self, Live};
use crate::PageError;

/// The latest blocks whose certificates are read.
pub(crate) const WINDOW: u64 = 100;

/// How one validator of the current set did over the window.
#[derive(Default, Clone, Copy)]
struct Record {
    /// The highest block whose certificate it signed.
    last_signed: Option<u64>,
    /// Certificates of a set it was in that it did not sign.
    missed: u64,
    /// Certificates of a set it was in.
    due: u64,
    /// Blocks of the window it proposed.
    proposed: u64,
}

/// A share of `total` to the nearest hundredth of a percent (halves up),
/// as text ("25.00 %", a no-break space before the sign), in whole-number
/// arithmetic. (It was cut, not rounded: 150 of 570 read 26.31 %.)
pub(crate) fn share(power: u64, total: u64) -> String {
    let total = u128::from(total.max(1));
    let bp = (u128::from(power) * 20_000 + total) / (2 * total);
    format!("{}.{:02}\u{a0}%", bp / 100, bp % 100)
}

/// The validators page.
pub async fn validators(State(node): State<Arc<Node>>) -> Result<Markup, PageError> {
    if node.spec.consensus != ConsensusKind::Bft {
        return Err(PageError::not_found(t_args(
            "validators-not-bft",
            [
                ("chain", node.spec.name.to_string().into()),
                ("consensus", node.spec.consensus.name().into()),
            ],
        )));
    }
    let lang = crate::i18n::carry();
    tokio::task::spawn_blocking(move || lang.within(|| render(&node)))
        .await
        .map_err(|_| PageError::bad_request(t("error-page-not-built")))?
}

fn render(node: &Node) -> Result<Markup, PageError> {
    let tip = node.chain.tip();
    let finalized = node.chain.finalized().height;
    let current = node
        .chain
        .consensus_record(tip.height)?
        .ok_or_else(|| PageError::not_found(t("validators-no-record")))?
        .validators;
    let total = current.total_power();
    let mut records: HashMap<Hash, Record> = current
        .validators()
        .iter()
        .map(|v| (v.id(), Record::default()))
        .collect();
    // The sets that finalized the window's blocks, by hash: read once each.
    let mut sets: HashMap<Hash, ValidatorSet> = HashMap::from([(current.hash(), current.clone())]);
    let low = tip.height.saturating_sub(WINDOW - 1).max(1);
    let mut certified = 0u64;
    for h in low..=tip.height {
        let Some(hash) = node.chain.hash_at(h)? else {
            break;
        };
        let Some(rec) = node.chain.header(&hash)? else {
            break;
        };
        let Some(bft) = rec.header.as_bft() else {
            continue;
        };
        if let Some(r) = records.get_mut(&bft.proposer) {
            r.proposed += 1;
        }
        let Some(cert) = node.chain.certificate(h)? else {
            continue;
        };
        let set = match sets.entry(bft.validators_hash) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                match node.chain.consensus_record(h - 1)? {
                    Some(r) if r.validators.hash() == bft.validators_hash => e.insert(r.validators),
                    _ => continue,
                }
            }
        };
        certified += 1;
        for (i, v) in set.validators().iter().enumerate() {
            let Some(r) = records.get_mut(&v.id()) else {
                continue;
            };
            r.due += 1;
            if cert.signed_by(i) {
                r.last_signed = Some(h);
            } else {
                r.missed += 1;
            }
        }
    }

    let body = html! {
        h1 { (t("validators")) }
        section.figures aria-label=(t("validators-figures")) {
            dl {
                div { dt { (t("validators-count")) } dd #validator-count { (current.len()) } }
                div { dt { (t("validators-total-power")) } dd { (grouped(total)) } }
                div { dt { (t("finalized-height")) } dd #finalized { a href={"/block/" (finalized)} { (grouped(finalized)) } } }
                div { dt { (t("validators-quorum")) } dd { (grouped(current.quorum())) } }
            }
        }
        p.note { (t_args("validators-note", [("next", (tip.height + 1).to_string().into()), ("n", certified.to_string().into()), ("low", low.to_string().into()), ("high", tip.height.to_string().into())])) }
        table #validators {
            thead { tr {
                th scope="col" { (t("validator")) }
                th scope="col" .num { (t("power")) }
                th scope="col" .num { (t("share")) }
                th scope="col" .num { (t("last-signed")) }
                th scope="col" .num { (t("missed")) }
                th scope="col" .num { (t("proposed")) }
            } }
            tbody {
                @for v in current.validators() {
                    @let r = records.get(&v.id()).copied().unwrap_or_default();
                    tr {
                        td.mono title=(v.id()) { (short(&v.id())) }
                        td.num { (grouped(v.power)) }
                        td.num { (share(v.power, total)) }
                        td.num { @if let Some(h) = r.last_signed { a href={"/block/" (h)} { (h) } } @else { "—" } }
                        td.num { (t_args("missed-of", [("missed", r.missed.to_string().into()), ("due", r.due.to_string().into())])) }
                        td.num { (r.proposed) }
                    }
                }
            }
        }
    };
    Ok(layout::page(&t("validators"), Live::Blocks, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_rounded_to_hundredths() {
        assert_eq!(share(1, 4), "25.00\u{a0}%");
        assert_eq!(share(1, 3), "33.33\u{a0}%");
        assert_eq!(share(2, 3), "66.67\u{a0}%");
        assert_eq!(share(150, 570), "26.32\u{a0}%");
        assert_eq!(share(100, 570), "17.54\u{a0}%");
        assert_eq!(share(1, 8), "12.50\u{a0}%");
        // 1/40,000 is 0.0025 %: down; 1/20,000 is 0.005 %, half: up.
        assert_eq!(share(1, 40_000), "0.00\u{a0}%");
        assert_eq!(share(1, 20_000), "0.01\u{a0}%");
        assert_eq!(share(7, 7), "100.00\u{a0}%");
        assert_eq!(share(u64::MAX, u64::MAX), "100.00\u{a0}%");
        assert_eq!(share(0, 0), "0.00\u{a0}%");
    }
}
