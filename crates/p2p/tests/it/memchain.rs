//! A chain kept in memory for network tests: it stores any block whose
//! parent it has, follows the branch with the most blocks (a unit of work
//! each, as [`ChainAccess`]'s defaults count), serves headers and blocks,
//! counts the headers requests it answered, and can hold its imports back
//! until a test opens its gate.

use std::collections::HashMap;
use std::sync::Arc;

use luminex_p2p::{BlockVerdict, ChainAccess, Role, Status, Verdict};
use luminex_primitives::{Block, Hash, Header, PowHeader, Transaction};
use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

use crate::net::CHAIN_ID;
use crate::sim::work;

/// `n` blocks on `parent`, told apart from other branches by `salt`.
pub fn branch(parent: Hash, n: usize, salt: u32) -> Vec<Block> {
    let mut prev = parent;
    (0..n)
        .map(|i| {
            let b = Block::new(
                PowHeader {
                    version: 1,
                    prev_hash: prev,
                    merkle_root: Hash::ZERO,
                    time: i as u32,
                    bits: 0,
                    nonce: salt,
                },
                vec![],
            );
            prev = b.hash();
            b
        })
        .collect()
}

/// The genesis block of these chains.
pub fn genesis() -> Block {
    branch(Hash::ZERO, 1, 0).remove(0)
}

struct Inner {
    blocks: HashMap<Hash, (Block, u64)>,
    main: Vec<Hash>,
}

/// An in-memory chain.
pub struct MemChain {
    inner: Mutex<Inner>,
    open: Mutex<bool>,
    opened: Condvar,
    /// Height and hash of the tip, watched by tests.
    pub tip: watch::Sender<(u64, Hash)>,
    /// Headers requests answered.
    pub headers_served: watch::Sender<usize>,
    /// A block refused once "for now" (as one dated past the clock's
    /// drift), and how many times it was refused.
    refuse_once: Mutex<(Option<Hash>, usize)>,
}

impl MemChain {
    /// A chain holding `blocks` (genesis first, each on the one before or
    /// on an earlier one), its gate open or shut.
    pub fn new(blocks: &[Block], open: bool) -> Arc<MemChain> {
        let g = blocks[0].hash();
        let chain = Arc::new(MemChain {
            inner: Mutex::new(Inner {
                blocks: HashMap::from([(g, (blocks[0].clone(), 0))]),
                main: vec![g],
            }),
            open: Mutex::new(open),
            opened: Condvar::new(),
            tip: watch::channel((0, g)).0,
            headers_served: watch::channel(0).0,
            refuse_once: Mutex::new((None, 0)),
        });
        for b in &blocks[1..] {
            chain.add(b.clone());
        }
        chain
    }

    /// The first import of `hash` is refused for now
    /// ([`BlockVerdict::Failed`]), as a block dated too far ahead is.
    pub fn refuse_once(&self, hash: Hash) {
        *self.refuse_once.lock() = (Some(hash), 0);
    }

    /// How many imports were refused for now.
    pub fn refused(&self) -> usize {
        self.refuse_once.lock().1
    }

    /// Lets imports through.
    pub fn open_gate(&self) {
        *self.open.lock() = true;
        self.opened.notify_all();
    }

    /// The tip: height and hash.
    pub fn tip(&self) -> (u64, Hash) {
        *self.tip.borrow()
    }

    fn add(&self, b: Block) -> BlockVerdict {
        let mut inner = self.inner.lock();
        let hash = b.hash();
        if inner.blocks.contains_key(&hash) {
            return BlockVerdict::Known;
        }
        let Some(&(_, parent)) = inner.blocks.get(&b.header.prev_hash()) else {
            return BlockVerdict::Orphan;
        };
        let height = parent + 1;
        inner.blocks.insert(hash, (b, height));
        let new_tip = height as usize >= inner.main.len();
        if new_tip {
            // The main chain follows the new block back to where it joins.
            let mut branch = vec![hash];
            let mut cur = hash;
            loop {
                let prev = inner.blocks[&cur].0.header.prev_hash();
                let h = inner.blocks[&prev].1 as usize;
                if inner.main.get(h) == Some(&prev) {
                    inner.main.truncate(h + 1);
                    break;
                }
                branch.push(prev);
                cur = prev;
            }
            inner.main.extend(branch.into_iter().rev());
            self.tip.send_replace((height, hash));
        }
        BlockVerdict::Accepted { height, new_tip }
    }
}

impl ChainAccess for MemChain {
    type Prepared = Arc<Block>;

    fn status(&self) -> Status {
        let (height, tip) = self.tip();
        let genesis = self.inner.lock().main[0];
        Status {
            chain_id: CHAIN_ID,
            genesis,
            height,
            tip,
            work: work(height),
            role: Role::Full,
        }
    }

    fn locator(&self) -> Vec<Hash> {
        let inner = self.inner.lock();
        let mut out = Vec::new();
        let mut i = inner.main.len() - 1;
        let mut step = 1;
        loop {
            out.push(inner.main[i]);
            if i == 0 {
                return out;
            }
            if out.len() >= 10 {
                step *= 2;
            }
            i = i.saturating_sub(step);
        }
    }

    fn height_of(&self, hash: &Hash) -> Option<u64> {
        self.inner.lock().blocks.get(hash).map(|b| b.1)
    }

    fn header_ok(&self, _: &Header) -> bool {
        true
    }

    fn headers_after(&self, locator: &[Hash], max: usize) -> Vec<Header> {
        self.headers_served.send_modify(|n| *n += 1);
        let inner = self.inner.lock();
        let start = locator
            .iter()
            .find_map(|h| {
                let (_, height) = inner.blocks.get(h)?;
                (inner.main.get(*height as usize) == Some(h)).then_some(*height as usize)
            })
            .unwrap_or(0);
        inner.main[start + 1..]
            .iter()
            .take(max)
            .map(|h| inner.blocks[h].0.header)
            .collect()
    }

    fn block(&self, hash: &Hash) -> Option<Block> {
        self.inner.lock().blocks.get(hash).map(|b| b.0.clone())
    }

    fn for_each_mempool_tx(&self, _: &mut dyn FnMut(&Hash, &Arc<Transaction>)) {}

    fn submit_tx(&self, _: Transaction) -> Verdict {
        Verdict::Ignore
    }

    fn import_block(&self, block: Arc<Block>) -> BlockVerdict {
        let mut open = self.open.lock();
        while !*open {
            self.opened.wait(&mut open);
        }
        drop(open);
        {
            let mut refuse = self.refuse_once.lock();
            if refuse.0 == Some(block.hash()) {
                *refuse = (None, refuse.1 + 1);
                return BlockVerdict::Failed("dated too far ahead of this clock".into());
            }
        }
        self.add((*block).clone())
    }

    fn prepare_block(&self, block: Arc<Block>) -> Arc<Block> {
        block
    }
}
