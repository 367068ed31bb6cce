//! Recent blocks in memory (ADR 0037): the main chain's last blocks with
//! their undo data, and the side-branch blocks stored lately, so a
//! reorganisation of up to the spec's `max_reorg_depth` reads no block and
//! no undo data back from the database.
//!
//! Every block here is also stored (an entry is added only after the batch
//! that wrote the block is committed): the cache saves reads, never holds
//! the only copy. It is bounded twice: a block at or below the tip's height
//! less `max_reorg_depth` can never be disconnected or connected again, so
//! it is dropped as the tip moves; and the entries' bytes stay within a
//! budget, the lowest blocks going first (the deeper a block, the less
//! likely a reorganisation reaches it).

use std::collections::BTreeSet;

use super::*;

/// What disconnecting a main-chain block needs besides the block.
#[derive(Debug)]
pub(super) struct MainData {
    /// Its undo data, as committed.
    pub(super) undo: BlockUndo,
    /// Its transactions' ids in block order.
    pub(super) txids: Vec<Hash>,
}

/// One cached block.
struct Entry {
    block: Arc<Block>,
    height: u64,
    /// Set while the block is on the main chain.
    main: Option<Arc<MainData>>,
    bytes: usize,
}

#[derive(Default)]
struct Inner {
    map: HashMap<Hash, Entry>,
    /// The entries by height, lowest first, for eviction.
    order: BTreeSet<(u64, Hash)>,
    bytes: usize,
}

/// Recently connected and side-branch blocks, within a byte budget.
pub(super) struct RecentBlocks {
    inner: Mutex<Inner>,
    limit: usize,
}

/// Bytes an entry takes: the block's encoding (about what it takes decoded;
/// shared with the callers that hold it) and its undo data and ids.
fn entry_bytes(block: &Block, main: Option<&MainData>) -> usize {
    let main = main.map_or(0, |m| {
        m.undo.spent.len() * std::mem::size_of::<(OutPoint, Coin)>()
            + m.txids.len() * std::mem::size_of::<Hash>()
    });
    block.encoded_len() + main
}

impl RecentBlocks {
    pub(super) fn new(limit: usize) -> RecentBlocks {
        RecentBlocks {
            inner: Mutex::new(Inner::default()),
            limit,
        }
    }

    /// Keeps `block` (stored at `height`), with `main` when it is now on the
    /// main chain, replacing what was kept of it. A block larger than the
    /// whole budget is not kept.
    pub(super) fn insert(
        &self,
        hash: Hash,
        height: u64,
        block: Arc<Block>,
        main: Option<MainData>,
    ) {
        let bytes = entry_bytes(&block, main.as_ref());
        let mut inner = self.inner.lock();
        inner.remove(&hash);
        if bytes > self.limit {
            return;
        }
        inner.bytes += bytes;
        inner.order.insert((height, hash));
        inner.map.insert(
            hash,
            Entry {
                block,
                height,
                main: main.map(Arc::new),
                bytes,
            },
        );
        while inner.bytes > self.limit {
            let Some(&(_, lowest)) = inner.order.first() else {
                break;
            };
            inner.remove(&lowest);
        }
    }

    /// Whether the budget lets any block be kept.
    pub(super) fn keeps_any(&self) -> bool {
        self.limit > 0
    }

    /// The block, if kept.
    pub(super) fn block(&self, hash: &Hash) -> Option<Arc<Block>> {
        self.inner.lock().map.get(hash).map(|e| e.block.clone())
    }

    /// The block and what disconnecting it needs, if kept as a main-chain
    /// block.
    pub(super) fn main(&self, hash: &Hash) -> Option<(Arc<Block>, Arc<MainData>)> {
        let inner = self.inner.lock();
        let e = inner.map.get(hash)?;
        Some((e.block.clone(), e.main.clone()?))
    }

    /// The block left the main chain: it stays as a side-branch block,
    /// without its undo data.
    pub(super) fn disconnected(&self, hash: &Hash) {
        let mut inner = self.inner.lock();
        let Some(e) = inner.map.get_mut(hash) else {
            return;
        };
        if e.main.take().is_some() {
            let bytes = entry_bytes(&e.block, None);
            let freed = e.bytes - bytes;
            e.bytes = bytes;
            inner.bytes -= freed;
        }
    }

    /// Drops every block at or below `height`: none of them can be
    /// disconnected or connected any more.
    pub(super) fn forget_up_to(&self, height: u64) {
        let mut inner = self.inner.lock();
        while let Some(&(h, hash)) = inner.order.first() {
            if h > height {
                break;
            }
            inner.remove(&hash);
        }
    }

    /// Blocks kept and their bytes.
    pub(super) fn len(&self) -> (usize, usize) {
        let inner = self.inner.lock();
        (inner.map.len(), inner.bytes)
    }
}

impl Inner {
    fn remove(&mut self, hash: &Hash) {
        if let Some(e) = self.map.remove(hash) {
            self.order.remove(&(e.height, *hash));
            self.bytes -= e.bytes;
        }
    }
}

impl ChainStore {
    /// A stored block, shared: from the recent blocks when kept there, else
    /// read from the database.
    pub(super) fn shared_block(&self, hash: &Hash) -> Result<Arc<Block>, ChainError> {
        if let Some(b) = self.recent.block(hash) {
            return Ok(b);
        }
        self.block(hash)?
            .map(Arc::new)
            .ok_or_else(|| ChainError::Inconsistent(format!("block {hash} missing")))
    }

    /// Drops the recent blocks that no reorganisation can reach from the
    /// current tip: those at or below the tip's height less
    /// `max_reorg_depth`, and those at or below the finalized block, which
    /// is never disconnected — on BFT chains the tip itself, so a validator
    /// keeps no block here once it is committed (hundreds of megabytes of
    /// full blocks otherwise, and a fresh page for every one).
    pub(super) fn prune_recent(&self) {
        let by_depth = self.tip().height.checked_sub(self.spec.max_reorg_depth);
        let floor = by_depth.max(Some(self.finalized().height));
        if let Some(floor) = floor {
            self.recent.forget_up_to(floor);
        }
    }

    /// Blocks kept in memory for reorganisations, and the bytes they take.
    pub fn recent_blocks(&self) -> (usize, usize) {
        self.recent.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_primitives::Transaction;

    fn block(n: u8, txs: usize) -> Arc<Block> {
        let mut b = ChainSpec::preset("dev").unwrap().genesis_block();
        b.txs = (0..txs)
            .map(|i| {
                let mut t: Transaction = b.txs[0].clone();
                t.outputs[0].amount = Amount::from_base(u64::from(n) * 1000 + i as u64).unwrap();
                t
            })
            .collect();
        Arc::new(b)
    }

    fn hash(n: u8) -> Hash {
        Hash([n; 32])
    }

    #[test]
    fn the_lowest_blocks_go_first_when_over_budget() {
        let one = block(1, 1).encoded_len();
        let recent = RecentBlocks::new(one * 3);
        for n in 1..=4u8 {
            recent.insert(hash(n), u64::from(n), block(n, 1), None);
        }
        assert!(recent.block(&hash(1)).is_none());
        assert!(recent.block(&hash(4)).is_some());
        assert_eq!(recent.len(), (3, one * 3));
    }

    #[test]
    fn a_disconnected_block_stays_without_its_undo_data() {
        let recent = RecentBlocks::new(1 << 20);
        let main = MainData {
            undo: BlockUndo::default(),
            txids: vec![Hash::ZERO; 4],
        };
        recent.insert(hash(1), 1, block(1, 1), Some(main));
        assert!(recent.main(&hash(1)).is_some());
        let with = recent.len().1;
        recent.disconnected(&hash(1));
        assert!(recent.main(&hash(1)).is_none());
        assert!(recent.block(&hash(1)).is_some());
        assert_eq!(recent.len().1, with - 4 * 32);
    }

    #[test]
    fn blocks_out_of_reorg_reach_are_forgotten() {
        let recent = RecentBlocks::new(1 << 20);
        for n in 1..=5u8 {
            recent.insert(hash(n), u64::from(n), block(n, 1), None);
        }
        recent.forget_up_to(3);
        assert_eq!(recent.len().0, 2);
        assert!(recent.block(&hash(3)).is_none());
        assert!(recent.block(&hash(4)).is_some());
    }

    #[test]
    fn a_block_over_the_whole_budget_is_not_kept() {
        let recent = RecentBlocks::new(10);
        recent.insert(hash(1), 1, block(1, 3), None);
        assert_eq!(recent.len(), (0, 0));
    }
}
