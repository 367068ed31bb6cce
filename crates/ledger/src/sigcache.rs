//! The verified-signature cache shared by the mempool and block validation
//! (DESIGN.md §3.7), so a transaction admitted to the mempool is not verified
//! again when its block connects.
//!
//! Keyed by wtxid: the wtxid commits to the transaction with its witnesses,
//! and the coins the signatures cover are fixed by the input outpoints (a
//! txid commits to its outputs), so one wtxid's signatures are valid
//! everywhere or nowhere.

use std::sync::Arc;

use luminex_primitives::Hash;

/// A bounded, thread-safe set of wtxids whose signatures verified.
#[derive(Clone)]
pub struct SigCache {
    inner: Arc<quick_cache::sync::Cache<Hash, ()>>,
}

impl SigCache {
    /// A cache holding up to `capacity` entries.
    pub fn new(capacity: usize) -> SigCache {
        SigCache {
            inner: Arc::new(quick_cache::sync::Cache::new(capacity.max(1))),
        }
    }

    /// Records that every signature of `wtxid` verified.
    pub fn insert(&self, wtxid: Hash) {
        self.inner.insert(wtxid, ());
    }

    /// Whether `wtxid`'s signatures are known to verify.
    pub fn contains(&self, wtxid: &Hash) -> bool {
        self.inner.get(wtxid).is_some()
    }

    /// Most entries it holds.
    pub fn capacity(&self) -> u64 {
        self.inner.capacity()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.inner.len()
    }

    /// Whether the cache is empty.
    pub fn is_empty(&self) -> bool {
        self.inner.is_empty()
    }
}

impl Default for SigCache {
    fn default() -> Self {
        SigCache::new(200_000)
    }
}
