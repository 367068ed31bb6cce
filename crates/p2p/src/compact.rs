//! Compact block relay in the manner of BIP 152: a block is announced as
//! its header, a per-block salt and a 6-byte short id for each transaction
//! (the coinbase sent whole). A receiver rebuilds the block from its
//! mempool, asks the sender only for the transactions it lacks, and falls
//! back to the full block when the rebuilt block does not match its header
//! (a short-id collision).
//!
//! Short ids are SipHash-2-4 of the wtxid keyed by SHA-256 of the header and
//! the salt, so an attacker cannot precompute collisions for a block it does
//! not know.

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::Arc;

use luminex_primitives::codec::{put_length, Sink};
use luminex_primitives::{
    Block, Decode, DecodeError, Encode, Hash, Header, MerkleCommitment, Reader, Transaction,
};
use sha2::{Digest, Sha256};
use siphasher::sip::SipHasher24;

/// A 6-byte short transaction id.
pub type ShortId = [u8; 6];

/// Bytes of the smallest transaction a block can hold besides its
/// coinbase: every other one carries at least one witness, a key and a
/// signature of the smallest scheme (ML-DSA-44: 1,312 + 2,420 bytes).
pub fn min_tx_bytes() -> usize {
    let s = luminex_primitives::SchemeId::MlDsa44;
    s.public_key_len() + s.signature_len()
}

/// Most transactions a block of at most `max_block_bytes` can hold: its
/// coinbase and as many of the smallest transactions as fit. An
/// announcement with more short ids cannot be a valid block.
pub fn max_block_txs(max_block_bytes: usize) -> usize {
    (max_block_bytes / min_tx_bytes() + 1).min(luminex_primitives::block::MAX_BLOCK_TXS as usize)
}

/// A block announcement: header, salt, short ids and prefilled transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactBlock {
    /// The block header.
    pub header: Header,
    /// Salt for the short-id key, chosen by the sender.
    pub salt: u64,
    /// Short ids of the transactions not prefilled, in block order.
    pub short_ids: Vec<ShortId>,
    /// Transactions sent whole, with their index in the block (ascending).
    pub prefilled: Vec<(u32, Transaction)>,
}

/// The keys of the short-id hash for one header and salt.
fn sip_keys(header: &Header, salt: u64) -> (u64, u64) {
    let mut h = Sha256::new();
    h.update(header.encode());
    h.update(salt.to_le_bytes());
    let d = h.finalize();
    let k0 = u64::from_le_bytes(d[0..8].try_into().expect("8 bytes"));
    let k1 = u64::from_le_bytes(d[8..16].try_into().expect("8 bytes"));
    (k0, k1)
}

/// Computes short ids for one block announcement.
#[derive(Clone, Copy)]
pub struct ShortIdHasher {
    k0: u64,
    k1: u64,
}

impl ShortIdHasher {
    /// The hasher for a header and salt.
    pub fn new(header: &Header, salt: u64) -> Self {
        let (k0, k1) = sip_keys(header, salt);
        ShortIdHasher { k0, k1 }
    }

    /// The short id of a wtxid.
    pub fn short_id(&self, wtxid: &Hash) -> ShortId {
        let mut h = SipHasher24::new_with_keys(self.k0, self.k1);
        h.write(&wtxid.0);
        let v = h.finish().to_le_bytes();
        [v[0], v[1], v[2], v[3], v[4], v[5]]
    }
}

impl CompactBlock {
    /// The announcement of `block` with salt `salt`: the coinbase prefilled,
    /// every other transaction as a short id.
    pub fn new(block: &Block, salt: u64) -> Self {
        let wtxids: Vec<Hash> = block.txs.iter().skip(1).map(|t| t.wtxid()).collect();
        Self::with_wtxids(block, &wtxids, salt)
    }

    /// [`CompactBlock::new`] given the wtxids of the block's transactions
    /// after the coinbase, in order (a node announcing the block it made
    /// has them; a wtxid hashes a whole transaction with its signatures).
    pub fn with_wtxids(block: &Block, wtxids: &[Hash], salt: u64) -> Self {
        debug_assert_eq!(wtxids.len(), block.txs.len().saturating_sub(1));
        let hasher = ShortIdHasher::new(&block.header, salt);
        let prefilled = block
            .txs
            .first()
            .map(|cb| (0, cb.clone()))
            .into_iter()
            .collect();
        let short_ids = wtxids.iter().map(|w| hasher.short_id(w)).collect();
        CompactBlock {
            header: block.header,
            salt,
            short_ids,
            prefilled,
        }
    }

    /// The block hash.
    pub fn hash(&self) -> Hash {
        self.header.hash()
    }

    /// Transactions in the block.
    pub fn tx_count(&self) -> usize {
        self.short_ids.len() + self.prefilled.len()
    }

    /// Decodes an announcement from a gossip frame of at most `limit`
    /// bytes (inflated), refusing more than `max_txs` transactions from
    /// their counts alone, before anything is allocated for them.
    pub fn from_frame(
        frame: &[u8],
        limit: usize,
        max_txs: usize,
    ) -> Result<CompactBlock, crate::wire::WireError> {
        let body = crate::wire::frame_body(frame, limit)?;
        let mut r = Reader::new(&body);
        let c = CompactBlock::decode_within(&mut r, max_txs as u64)?;
        r.finish()?;
        Ok(c)
    }

    /// Decodes an announcement of at most `max_txs` transactions.
    fn decode_within(r: &mut Reader<'_>, max_txs: u64) -> Result<Self, DecodeError> {
        let header = Header::decode(r)?;
        let salt = r.u64("salt")?;
        let short_ids = r.seq("short ids", max_txs, |r| r.array::<6>("short id"))?;
        let rest = max_txs.saturating_sub(short_ids.len() as u64);
        let prefilled = r.seq("prefilled", rest, |r| {
            Ok((r.u32("prefilled index")?, Transaction::decode(r)?))
        })?;
        Ok(CompactBlock {
            header,
            salt,
            short_ids,
            prefilled,
        })
    }

    /// Whether a short id appears twice. An honest block has one only by a
    /// 48-bit collision; the block cannot be rebuilt from the mempool then
    /// and is fetched whole.
    pub fn has_duplicate_short_ids(&self) -> bool {
        let mut seen = std::collections::HashSet::with_capacity(self.short_ids.len());
        !self.short_ids.iter().all(|id| seen.insert(*id))
    }

    /// Starts rebuilding the block. `mempool` is called with a visitor that
    /// should be given every mempool transaction with its wtxid.
    pub fn reconstruct(
        &self,
        mempool: impl FnOnce(&mut dyn FnMut(&Hash, &Arc<Transaction>)),
    ) -> Result<PartialBlock, CompactError> {
        let n = self.tx_count();
        let mut slots: Vec<Option<Arc<Transaction>>> = vec![None; n];
        let mut is_prefilled = vec![false; n];
        for (i, tx) in &self.prefilled {
            let i = *i as usize;
            if i >= n || is_prefilled[i] {
                return Err(CompactError::BadPrefilled);
            }
            is_prefilled[i] = true;
            slots[i] = Some(Arc::new(tx.clone()));
        }
        // Short id → slot; a short id used twice in one block cannot be
        // resolved from the mempool, so those slots stay missing.
        let mut by_id: HashMap<ShortId, usize> = HashMap::with_capacity(self.short_ids.len());
        let mut ambiguous = Vec::new();
        let mut ids = self.short_ids.iter();
        for (slot, pre) in is_prefilled.iter().enumerate() {
            if *pre {
                continue;
            }
            let id = ids.next().ok_or(CompactError::BadPrefilled)?;
            if by_id.insert(*id, slot).is_some() {
                ambiguous.push(*id);
            }
        }
        for id in &ambiguous {
            by_id.remove(id);
        }
        let hasher = ShortIdHasher::new(&self.header, self.salt);
        let mut collided = vec![false; n];
        mempool(&mut |wtxid, tx| {
            if let Some(&slot) = by_id.get(&hasher.short_id(wtxid)) {
                if slots[slot].is_some() {
                    collided[slot] = true;
                } else {
                    slots[slot] = Some(tx.clone());
                }
            }
        });
        for (slot, c) in collided.iter().enumerate() {
            if *c {
                slots[slot] = None;
            }
        }
        let missing = slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_none())
            .map(|(i, _)| i as u32)
            .collect();
        Ok(PartialBlock {
            header: self.header,
            slots,
            missing,
        })
    }
}

/// Why a compact block cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompactError {
    /// Prefilled indexes out of range, repeated, or not ascending.
    #[error("prefilled transaction indexes are invalid")]
    BadPrefilled,
    /// The supplied transactions do not fill the missing slots.
    #[error("wrong number of missing transactions")]
    WrongFill,
    /// The rebuilt block does not match its header (a short-id collision):
    /// fetch the full block.
    #[error("rebuilt block does not match its Merkle root")]
    Mismatch,
}

/// A block being rebuilt from a compact announcement.
#[derive(Debug, Clone)]
pub struct PartialBlock {
    /// The header.
    pub header: Header,
    slots: Vec<Option<Arc<Transaction>>>,
    /// Indexes of the transactions still missing, ascending.
    pub missing: Vec<u32>,
}

impl PartialBlock {
    /// Fills the missing transactions (in the order of [`Self::missing`]) and
    /// returns the block if it matches its header's commitment (Merkle root
    /// and, with Bitcoin's commitment, the coinbase's witness commitment).
    pub fn complete(
        mut self,
        txs: Vec<Transaction>,
        commitment: MerkleCommitment,
    ) -> Result<Block, CompactError> {
        if txs.len() != self.missing.len() {
            return Err(CompactError::WrongFill);
        }
        for (i, tx) in self.missing.iter().zip(txs) {
            self.slots[*i as usize] = Some(Arc::new(tx));
        }
        let txs: Vec<Transaction> = self
            .slots
            .into_iter()
            .map(|s| Arc::unwrap_or_clone(s.expect("every slot filled")))
            .collect();
        let block = Block::new(self.header, txs);
        if commitment
            .check(&block.header.merkle_root(), &block.txs)
            .is_err()
        {
            return Err(CompactError::Mismatch);
        }
        Ok(block)
    }
}

impl Encode for CompactBlock {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.header.encode_to(s);
        s.put(&self.salt.to_le_bytes());
        put_length(s, self.short_ids.len());
        for id in &self.short_ids {
            s.put(id);
        }
        put_length(s, self.prefilled.len());
        for (i, tx) in &self.prefilled {
            s.put(&i.to_le_bytes());
            tx.encode_to(s);
        }
    }
}

impl Decode for CompactBlock {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        CompactBlock::decode_within(r, luminex_primitives::block::MAX_BLOCK_TXS)
    }
}
