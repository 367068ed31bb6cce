//! `luminex wallet history`: the wallet's newest transactions, one line
//! each, merged from the histories of all its addresses.
//!
//! The node pages each address's history newest first. A transaction that
//! touched several of the wallet's addresses (a payment and its change)
//! must be summed over all of them, so a row is shown only once every
//! address's pages reach past it: showing the newest page of each address
//! alone would show a payment whose spending address had older pages as
//! its change output only, as money received.

use std::cmp::Reverse;
use std::collections::BTreeMap;

use luminex_api::types::{HistoryEntryJson, HistoryJson};

use crate::client::Client;

/// A row's place in every address's history: newest first, by height and
/// then by txid (lower-case hex sorts as the txid's bytes, as the node's
/// index does).
type Key = (Reverse<u64>, Reverse<String>);

fn key(height: u64, txid: &str) -> Key {
    (Reverse(height), Reverse(txid.to_ascii_lowercase()))
}

/// One address's pages read so far.
struct Address {
    /// The oldest row read (where the next page starts), if any.
    frontier: Option<Key>,
    /// The cursor of the next page; `None` once the history is read whole.
    next: Option<String>,
    /// Whether a first page was read.
    started: bool,
}

/// The histories of several addresses, merged into one as pages arrive.
pub(crate) struct HistoryMerge {
    addresses: Vec<Address>,
    /// Received and sent per transaction, over the addresses read.
    rows: BTreeMap<Key, (u64, u64)>,
    limit: usize,
}

impl HistoryMerge {
    /// A merge of `addresses` histories that will give the `limit` newest
    /// transactions.
    pub(crate) fn new(addresses: usize, limit: usize) -> HistoryMerge {
        HistoryMerge {
            addresses: (0..addresses)
                .map(|_| Address {
                    frontier: None,
                    next: None,
                    started: false,
                })
                .collect(),
            rows: BTreeMap::new(),
            limit,
        }
    }

    /// The newest row that must be exact: the `limit`-th newest read so
    /// far, or none while fewer are known (then every history is needed).
    fn cutoff(&self) -> Option<&Key> {
        self.rows.keys().nth(self.limit.checked_sub(1)?)
    }

    /// The addresses whose next page is needed, with the cursor to ask
    /// from (`None`: the first page): those not yet read, and those with
    /// more rows whose oldest row read is newer than the cutoff (their
    /// unread rows could be among the newest, or parts of them).
    pub(crate) fn wanted(&self) -> Vec<(usize, Option<String>)> {
        let cutoff = self.cutoff();
        self.addresses
            .iter()
            .enumerate()
            .filter_map(|(i, a)| {
                if !a.started {
                    return Some((i, None));
                }
                let next = a.next.clone()?;
                let needed = match (cutoff, &a.frontier) {
                    (Some(c), Some(f)) => f < c,
                    _ => true,
                };
                needed.then_some((i, Some(next)))
            })
            .collect()
    }

    /// Adds a page of address `i`'s history.
    pub(crate) fn add(&mut self, i: usize, page: Vec<HistoryEntryJson>, next: Option<String>) {
        let a = &mut self.addresses[i];
        a.started = true;
        a.next = next;
        for r in page {
            let k = key(r.height, &r.txid);
            a.frontier = Some(k.clone());
            let e = self.rows.entry(k).or_default();
            e.0 += r.received;
            e.1 += r.sent;
        }
    }

    /// The `limit` newest transactions: height, txid, received and sent.
    pub(crate) fn rows(&self) -> Vec<(u64, String, u64, u64)> {
        self.rows
            .iter()
            .take(self.limit)
            .map(|((Reverse(h), Reverse(t)), (r, s))| (*h, t.clone(), *r, *s))
            .collect()
    }
}

/// The `limit` newest transactions of `addresses`, read from the node a
/// page of at most `page` rows at a time.
pub(crate) async fn read(
    client: &Client,
    addresses: &[String],
    limit: usize,
    page: usize,
) -> anyhow::Result<Vec<(u64, String, u64, u64)>> {
    let mut merge = HistoryMerge::new(addresses.len(), limit);
    loop {
        let wanted = merge.wanted();
        if wanted.is_empty() {
            return Ok(merge.rows());
        }
        for (i, cursor) in wanted {
            let mut path = format!("/address/{}/transactions?limit={page}", addresses[i]);
            if let Some(c) = cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let h: HistoryJson = client.get(&path).await?;
            merge.add(i, h.transactions, h.next_cursor);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row of `txid` (a number, as 64 hex digits) at `height`.
    fn row(height: u64, txid: u8, received: u64, sent: u64) -> HistoryEntryJson {
        HistoryEntryJson {
            txid: format!("{txid:064x}"),
            height,
            received,
            received_coins: String::new(),
            sent,
            sent_coins: String::new(),
            net_coins: String::new(),
        }
    }

    /// Serves `histories` (each newest first) a page at a time to a merge
    /// and returns its rows and the pages it read.
    fn merged(
        histories: &[Vec<HistoryEntryJson>],
        limit: usize,
        page: usize,
    ) -> (Vec<(u64, String, u64, u64)>, usize) {
        let mut m = HistoryMerge::new(histories.len(), limit);
        let mut pages = 0;
        loop {
            let wanted = m.wanted();
            if wanted.is_empty() {
                return (m.rows(), pages);
            }
            for (i, cursor) in wanted {
                let from: usize = cursor.map_or(0, |c| c.parse().unwrap());
                let rows: Vec<_> = histories[i].iter().skip(from).take(page).cloned().collect();
                let next = (from + page < histories[i].len()).then(|| (from + page).to_string());
                m.add(i, rows, next);
                pages += 1;
            }
        }
    }

    /// Every row of every history, summed per transaction, newest first.
    fn whole(histories: &[Vec<HistoryEntryJson>], limit: usize) -> Vec<(u64, String, u64, u64)> {
        let mut m = HistoryMerge::new(histories.len(), limit);
        for (i, h) in histories.iter().enumerate() {
            m.add(i, h.clone(), None);
        }
        m.rows()
    }

    #[test]
    fn a_payment_past_the_first_page_of_its_address_is_summed_whole() {
        // The paying address received 25 block rewards after paying (tx 1
        // at height 10); the payment's change went to a change address.
        let mut paying: Vec<_> = (0..25).map(|i| row(100 - i, 50 + i as u8, 5, 0)).collect();
        paying.push(row(10, 1, 0, 1_000));
        let change = vec![row(10, 1, 600, 0)];
        let histories = [paying, change];
        let (rows, _) = merged(&histories, 30, 20);
        let payment = rows.iter().find(|r| r.0 == 10).unwrap();
        assert_eq!((payment.2, payment.3), (600, 1_000), "sent and its change");
        assert_eq!(rows, whole(&histories, 30));
    }

    #[test]
    fn the_newest_rows_are_those_of_the_whole_histories() {
        // Three addresses, interleaved heights, transactions shared by two.
        let a: Vec<_> = (0..40).map(|i| row(200 - 3 * i, i as u8, 1, 0)).collect();
        let b: Vec<_> = (0..40)
            .map(|i| row(199 - 2 * i, 100 + i as u8, 0, 2))
            .collect();
        let c: Vec<_> = a
            .iter()
            .step_by(4)
            .map(|r| HistoryEntryJson {
                received: 7,
                ..r.clone()
            })
            .collect();
        let histories = [a, b, c];
        for (limit, page) in [(1, 1), (5, 3), (20, 20), (50, 7), (200, 1000)] {
            let (rows, pages) = merged(&histories, limit, page);
            assert_eq!(rows, whole(&histories, limit), "limit {limit}, page {page}");
            let all: usize = histories
                .iter()
                .map(|h| h.len().div_ceil(page).max(1))
                .sum();
            assert!(pages <= all, "{pages} pages of {all}");
            if limit <= 5 {
                // A few rows need the first pages, not 90 rows' worth.
                assert!(pages < all / 4, "limit {limit}: {pages} pages of {all}");
            }
        }
    }

    #[test]
    fn empty_histories_are_read_once() {
        let (rows, pages) = merged(&[vec![], vec![]], 20, 20);
        assert!(rows.is_empty());
        assert_eq!(pages, 2);
    }
}
