//! Eviction from a full pool, planned before anything changes: packages
//! (a transaction and its descendants) weighed by their fee rate as a
//! whole, cheapest first, none paying at least the newcomer's; a newcomer
//! that cannot make room is refused as full and evicts nothing.

use std::collections::HashSet;

use luminex_primitives::Hash;

use crate::{fee_rate_u128, Candidate, Entry, Mempool, MempoolError};

/// Transactions an eviction plan looks at past the point where enough
/// could leave ([`Mempool::insert`]).
const EVICTION_LOOKAHEAD: usize = 64;

/// Transactions an eviction plan weighs at most, over all the packages it
/// looks at ([`Mempool::insert`]).
const EVICTION_VISITS: usize = 20_000;

impl Mempool {
    /// The transactions to evict (each with its descendants) for `c`,
    /// paying `rate`, to fit: cheapest first, passing over a package (a
    /// transaction and its descendants) that pays at least `rate` as a
    /// whole (a child paying for its parent) or holds one of the
    /// newcomer's parents — and everything in it. `Full` when what may
    /// leave does not make room.
    pub(crate) fn eviction_for(&self, c: &Candidate, rate: u64) -> Result<Vec<Hash>, MempoolError> {
        let Some(need) = (self.bytes + c.size)
            .checked_sub(self.max_bytes)
            .filter(|n| *n > 0)
        else {
            return Ok(Vec::new());
        };
        // The refusal names the rate to beat: the lowest of what stayed for
        // paying at least the newcomer's (a package as a whole, or the
        // transaction alone the walk stopped at).
        let mut to_beat: Option<u64> = None;
        let full = |to_beat: Option<u64>| MempoolError::Full {
            fee_rate: rate,
            lowest: to_beat.unwrap_or_else(|| self.by_fee.first().map_or(0, |(r, _, _)| *r)),
        };
        let parents: HashSet<Hash> = c.tx.inputs.iter().map(|i| i.txid).collect();
        // Packages (a transaction and its descendants) that may leave, with
        // their fee rate as a whole, met cheapest transaction first. A
        // transaction in a package that may leave is not weighed again as a
        // package of its own; a package that stays hides nothing (its
        // members are weighed in their turn). Bytes that may leave are
        // counted once each. The walk goes a little past the point where
        // enough could leave, so a package cheaper as a whole than the next
        // transaction alone is found too, and stops once it has looked at
        // `EVICTION_VISITS` transactions in all (long unconfirmed chains
        // would otherwise cost their length squared).
        let mut leaving: HashSet<Hash> = HashSet::new();
        let mut candidates: Vec<(u64, usize, Hash, Vec<Hash>)> = Vec::new();
        let mut evictable = 0;
        let mut past_enough = 0;
        let mut visits = 0;
        for (order, &(r, _, txid)) in self.by_fee.iter().enumerate() {
            if r >= rate {
                to_beat = Some(to_beat.map_or(r, |b| b.min(r)));
                break;
            }
            if past_enough >= EVICTION_LOOKAHEAD {
                break;
            }
            if evictable >= need {
                past_enough += 1;
            }
            if leaving.contains(&txid) {
                continue;
            }
            let Some(package) = self.with_descendants_upto(&txid, EVICTION_VISITS - visits) else {
                break;
            };
            visits += package.len();
            let members: Vec<&Entry> = package.iter().filter_map(|d| self.entries.get(d)).collect();
            let fees: u128 = members.iter().map(|e| u128::from(e.fee.base())).sum();
            let size: usize = members.iter().map(|e| e.size).sum();
            // An authority change (rate u64::MAX, no fee) is never weighed
            // by its fee; the newcomer's parents stay with it.
            let package_rate = fee_rate_u128(fees, size);
            let priority = members.iter().any(|e| e.fee_rate == u64::MAX);
            if package_rate >= rate && !priority {
                to_beat = Some(to_beat.map_or(package_rate, |b| b.min(package_rate)));
            }
            if package_rate >= rate || priority || package.iter().any(|d| parents.contains(d)) {
                continue;
            }
            for d in &package {
                if leaving.insert(*d) {
                    evictable += self.entries.get(d).map_or(0, |e| e.size);
                }
            }
            candidates.push((package_rate, order, txid, package));
        }
        // The cheapest packages as a whole leave first.
        candidates.sort_unstable_by_key(|c| (c.0, c.1));
        let mut chosen: HashSet<Hash> = HashSet::new();
        let mut roots = Vec::new();
        let mut freed = 0;
        for (_, _, root, package) in candidates {
            if freed >= need {
                break;
            }
            for d in package {
                if chosen.insert(d) {
                    freed += self.entries.get(&d).map_or(0, |e| e.size);
                }
            }
            roots.push(root);
        }
        if freed < need {
            return Err(full(to_beat));
        }
        Ok(roots)
    }
}
