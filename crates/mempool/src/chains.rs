//! Chains of unconfirmed transactions in the pool: Bitcoin Core's limits
//! on how many ancestors and descendants one may have ([`ChainLimits`]),
//! the walks up and down a chain they need (bounded, through the index of
//! spenders by txid), and the trimming of spenders past the limits when a
//! reorganisation returns a transaction beneath them.

use std::collections::HashSet;

use luminex_primitives::{Hash, Transaction};

use crate::{Mempool, MempoolError};

/// How long chains of unconfirmed transactions the pool takes (Bitcoin
/// Core's `-limitancestorcount` and `-limitdescendantcount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainLimits {
    /// Most pool transactions a newcomer may spend, directly or not, plus
    /// one (itself).
    pub ancestors: usize,
    /// Most pool transactions spending one pool transaction, directly or
    /// not, plus one (itself), once a newcomer joins them.
    pub descendants: usize,
}

impl ChainLimits {
    /// Bitcoin Core's defaults: 25 and 25.
    pub const DEFAULT: ChainLimits = ChainLimits {
        ancestors: 25,
        descendants: 25,
    };
}

impl Default for ChainLimits {
    fn default() -> ChainLimits {
        ChainLimits::DEFAULT
    }
}

impl Mempool {
    /// Refuses `tx` if it would pass the chain limits: more pool ancestors
    /// than allowed, or an ancestor with too many descendants. At most
    /// `ancestors × descendants` transactions are visited.
    pub(crate) fn check_chain_limits(&self, tx: &Transaction) -> Result<(), MempoolError> {
        let limits = self.limits;
        let Some(ancestors) = self.ancestors_upto(tx, limits.ancestors - 1) else {
            return Err(MempoolError::TooManyAncestors {
                limit: limits.ancestors,
            });
        };
        for a in ancestors {
            // Its descendants and itself, plus the newcomer.
            if self
                .with_descendants_upto(&a, limits.descendants - 1)
                .is_none()
            {
                return Err(MempoolError::TooManyDescendants {
                    of: a,
                    limit: limits.descendants,
                });
            }
        }
        Ok(())
    }

    /// The pool transactions `tx` spends, directly or not, or `None` past
    /// `limit` of them.
    pub(crate) fn ancestors_upto(&self, tx: &Transaction, limit: usize) -> Option<Vec<Hash>> {
        let in_pool = |t: &Transaction| -> Vec<Hash> {
            t.inputs
                .iter()
                .map(|i| i.txid)
                .filter(|p| self.entries.contains_key(p))
                .collect()
        };
        let mut ancestors: Vec<Hash> = Vec::new();
        let mut seen: HashSet<Hash> = HashSet::new();
        let mut stack = in_pool(tx);
        while let Some(t) = stack.pop() {
            if !seen.insert(t) {
                continue;
            }
            ancestors.push(t);
            if ancestors.len() > limit {
                return None;
            }
            if let Some(e) = self.entries.get(&t) {
                stack.extend(in_pool(&e.tx));
            }
        }
        Some(ancestors)
    }

    /// After `txid` joined beneath transactions already in the pool (a
    /// reorganisation returning a block's transaction whose spenders stayed),
    /// its descendants past the chain limits leave, as Bitcoin Core's
    /// `UpdateTransactionsFromBlock` does: each one with too many ancestors
    /// (with its own descendants), then, while `txid` or one of its
    /// ancestors has too many descendants, the newest admitted of `txid`'s
    /// own descendants (with theirs) — never `txid`, never a transaction
    /// outside what it returned beneath. So the pool always holds what
    /// admitting its transactions one by one would (a saved pool reloads
    /// whole).
    pub(crate) fn trim_below(&mut self, txid: &Hash) {
        let limits = self.limits;
        for d in self.with_descendants(txid).into_iter().skip(1) {
            let too_deep = self
                .entries
                .get(&d)
                .is_some_and(|e| self.ancestors_upto(&e.tx, limits.ancestors - 1).is_none());
            if too_deep {
                self.remove_with_descendants(&d);
            }
        }
        let mut tops = self
            .entries
            .get(txid)
            .and_then(|e| self.ancestors_upto(&e.tx, usize::MAX))
            .unwrap_or_default();
        tops.push(*txid);
        // `txid`'s own descendants, oldest admitted first.
        let mut own: Vec<(u64, Hash)> = self
            .with_descendants(txid)
            .into_iter()
            .skip(1)
            .filter_map(|d| self.entries.get(&d).map(|e| (e.sequence, d)))
            .collect();
        own.sort_unstable();
        for top in tops {
            let mut count = self.with_descendants(&top).len();
            while count > limits.descendants {
                let Some((_, newest)) = own.pop() else {
                    break;
                };
                if self.entries.contains_key(&newest) {
                    count -= self.remove_with_descendants(&newest).len();
                }
            }
        }
    }

    /// `txid` and every pool transaction that spends it, directly or not.
    pub(crate) fn with_descendants(&self, txid: &Hash) -> Vec<Hash> {
        self.with_descendants_upto(txid, usize::MAX)
            .unwrap_or_default()
    }

    /// [`Mempool::with_descendants`], or `None` past `limit` transactions.
    pub(crate) fn with_descendants_upto(&self, txid: &Hash, limit: usize) -> Option<Vec<Hash>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        let mut stack = vec![*txid];
        while let Some(t) = stack.pop() {
            if !self.entries.contains_key(&t) || !seen.insert(t) {
                continue;
            }
            out.push(t);
            if out.len() > limit {
                return None;
            }
            if let Some(children) = self.spenders.get(&t) {
                stack.extend(children.iter().copied());
            }
        }
        Some(out)
    }

    /// The pool transactions `txid` spends, directly or not (empty if it is
    /// not in the pool).
    pub fn ancestors_of(&self, txid: &Hash) -> Vec<Hash> {
        self.entries
            .get(txid)
            .and_then(|e| self.ancestors_upto(&e.tx, usize::MAX))
            .unwrap_or_default()
    }

    /// The pool transactions spending `txid`, directly or not (empty if it
    /// is not in the pool).
    pub fn descendants_of(&self, txid: &Hash) -> Vec<Hash> {
        let mut all = self.with_descendants(txid);
        if !all.is_empty() {
            all.remove(0);
        }
        all
    }

    /// The pool transactions spending an output of `txid` directly, in
    /// txid order.
    pub fn spenders_of(&self, txid: &Hash) -> Vec<Hash> {
        if !self.entries.contains_key(txid) {
            return Vec::new();
        }
        let mut out = self.spenders.get(txid).cloned().unwrap_or_default();
        out.sort();
        out
    }
}
