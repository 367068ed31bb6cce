//! Stratum jobs and share checks, free of I/O.
//!
//! A job is a block template cut the way Stratum v1 hands it out: the
//! coinbase's encoding split around the extranonce (`coinb1`, `coinb2`),
//! the Merkle branch of the coinbase in Bitcoin's tree (ADR 0015), and the
//! header fields. A miner rebuilds the coinbase as
//! `coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2`, hashes it with SHA-256d,
//! folds the branch and grinds the header's nonce. The payout lock differs
//! per connection, so the coinbase is made per connection from the job's
//! template coinbase (the witness commitment does not depend on it).

use std::sync::Arc;

use luminex_consensus::pow::hash_value;
use luminex_ledger::U256;
use luminex_primitives::commitment::{bitcoin_branch, fold_branch};
use luminex_primitives::hash::sha256d;
use luminex_primitives::{Amount, Block, Encode, Hash, Lock, PowHeader, Transaction, TxOut};

/// Bytes of extranonce1, assigned per connection.
pub const EXTRANONCE1_LEN: usize = 4;
/// Bytes of extranonce2, rolled by the miner.
pub const EXTRANONCE2_LEN: usize = 4;
/// Both extranonces, at the end of the coinbase's data.
pub const EXTRANONCE_LEN: usize = EXTRANONCE1_LEN + EXTRANONCE2_LEN;

/// The share target of `difficulty` (`diff1 / difficulty`), computed as
/// miners do; difficulties below 1 give targets above diff 1.
pub fn target_for_difficulty(difficulty: f64) -> U256 {
    if !(difficulty.is_finite() && difficulty > 0.0) {
        return U256::MAX;
    }
    // 0xffff / difficulty as a 53-bit mantissa times a power of two.
    let mut m = 65535.0 / difficulty;
    let mut shift: i32 = 208;
    while m < (1u64 << 52) as f64 && shift > 0 {
        m *= 2.0;
        shift -= 1;
    }
    while m >= (1u64 << 53) as f64 {
        m /= 2.0;
        shift += 1;
    }
    if shift >= 256 - 53 {
        return U256::MAX;
    }
    U256::from(m as u64) << (shift as usize)
}

/// One unit of work handed to every connection.
#[derive(Debug)]
pub struct Job {
    /// Its id in `mining.notify` (hex of a counter).
    pub id: String,
    /// Height of the block.
    pub height: u64,
    /// The template's header (nonce 0; the Merkle root is per connection).
    pub header: PowHeader,
    /// Earliest header time the chain accepts (median time past + 1).
    pub min_time: u32,
    /// The block target.
    pub block_target: U256,
    /// The template coinbase, ending in [`EXTRANONCE_LEN`] zero bytes of
    /// data; its outputs are replaced by the connection's payout.
    pub coinbase: Transaction,
    /// What the coinbase pays (subsidy plus fees).
    pub reward: Amount,
    /// The block's other transactions.
    pub others: Arc<Vec<Transaction>>,
    /// The coinbase's Merkle branch.
    pub branch: Vec<Hash>,
}

/// A job's coinbase for one payout, split around the extranonces.
#[derive(Debug, Clone)]
pub struct CoinbaseParts {
    /// Encoding up to the extranonces.
    pub coinb1: Vec<u8>,
    /// Encoding after the extranonces.
    pub coinb2: Vec<u8>,
}

/// Why a share is refused (Stratum's conventional error codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// The job is unknown or was replaced by a new tip.
    #[error("job not found (stale)")]
    Stale,
    /// The same share was already submitted.
    #[error("duplicate share")]
    Duplicate,
    /// The hash does not meet the connection's difficulty.
    #[error("low difficulty share")]
    LowDifficulty,
    /// The submitted fields do not parse or are out of range.
    #[error("{0}")]
    Malformed(&'static str),
    /// The time is outside what the chain accepts.
    #[error("ntime out of range")]
    Time,
}

impl ShareError {
    /// Stratum's error code.
    pub fn code(&self) -> i64 {
        match self {
            ShareError::Stale => 21,
            ShareError::Duplicate => 22,
            ShareError::LowDifficulty => 23,
            ShareError::Malformed(_) | ShareError::Time => 20,
        }
    }

    /// A short label for metrics and accounting.
    pub fn label(&self) -> &'static str {
        match self {
            ShareError::Stale => "stale",
            ShareError::Duplicate => "duplicate",
            ShareError::LowDifficulty => "low-difficulty",
            ShareError::Malformed(_) => "malformed",
            ShareError::Time => "time",
        }
    }
}

/// A submitted share, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Share {
    /// Extranonce2.
    pub extranonce2: [u8; EXTRANONCE2_LEN],
    /// Header time.
    pub ntime: u32,
    /// Header nonce.
    pub nonce: u32,
}

impl Share {
    /// Parses `mining.submit`'s extranonce2, ntime and nonce (hex; the two
    /// numbers big-endian, as Stratum writes them).
    pub fn parse(extranonce2: &str, ntime: &str, nonce: &str) -> Result<Share, ShareError> {
        let en2: [u8; EXTRANONCE2_LEN] = hex::decode(extranonce2)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(ShareError::Malformed("extranonce2 must be 4 bytes of hex"))?;
        let word = |s: &str, what| {
            (s.len() == 8)
                .then(|| u32::from_str_radix(s, 16).ok())
                .flatten()
                .ok_or(ShareError::Malformed(what))
        };
        Ok(Share {
            extranonce2: en2,
            ntime: word(ntime, "ntime must be 8 hex digits")?,
            nonce: word(nonce, "nonce must be 8 hex digits")?,
        })
    }
}

/// A share that met its target.
#[derive(Debug, Clone)]
pub struct Accepted {
    /// The header it hashed.
    pub header: PowHeader,
    /// Whether it also meets the block target.
    pub is_block: bool,
}

impl Job {
    /// The job's coinbase paying `lock`.
    pub fn coinbase_for(&self, lock: Lock) -> Transaction {
        let mut cb = self.coinbase.clone();
        cb.outputs = if self.reward > Amount::ZERO {
            vec![TxOut {
                amount: self.reward,
                lock,
            }]
        } else {
            vec![]
        };
        cb
    }

    /// [`Job::coinbase_for`] split around the extranonces. The coinbase's
    /// encoding ends with its data (whose last [`EXTRANONCE_LEN`] bytes are
    /// the extranonces) and the empty witness list (one byte).
    pub fn parts_for(&self, lock: Lock) -> CoinbaseParts {
        let enc = self.coinbase_for(lock).encode();
        let end = enc.len() - 1;
        CoinbaseParts {
            coinb1: enc[..end - EXTRANONCE_LEN].to_vec(),
            coinb2: enc[end..].to_vec(),
        }
    }

    /// Checks a share from a connection with `extranonce1` whose coinbase
    /// is `parts` ([`Job::parts_for`] of its payout) against
    /// `share_target`, hashing the coinbase bytes as the miner did. `now`
    /// bounds the time from above (with the chain's `max_future` seconds),
    /// the job's `min_time` from below.
    pub fn check(
        &self,
        parts: &CoinbaseParts,
        extranonce1: &[u8; EXTRANONCE1_LEN],
        share: &Share,
        share_target: U256,
        now: u64,
        max_future: u64,
    ) -> Result<Accepted, ShareError> {
        if share.ntime < self.min_time || u64::from(share.ntime) > now.saturating_add(max_future) {
            return Err(ShareError::Time);
        }
        let mut coinbase =
            Vec::with_capacity(parts.coinb1.len() + EXTRANONCE_LEN + parts.coinb2.len());
        coinbase.extend_from_slice(&parts.coinb1);
        coinbase.extend_from_slice(extranonce1);
        coinbase.extend_from_slice(&share.extranonce2);
        coinbase.extend_from_slice(&parts.coinb2);
        let header = PowHeader {
            merkle_root: fold_branch(sha256d(&coinbase), &self.branch),
            time: share.ntime,
            nonce: share.nonce,
            ..self.header
        };
        let value = hash_value(&header.hash());
        if value > share_target && value > self.block_target {
            return Err(ShareError::LowDifficulty);
        }
        Ok(Accepted {
            header,
            is_block: value <= self.block_target,
        })
    }

    /// The block of an accepted share from a connection with `extranonce1`
    /// paying `lock`.
    pub fn block(
        &self,
        lock: Lock,
        extranonce1: &[u8; EXTRANONCE1_LEN],
        share: &Share,
        accepted: &Accepted,
    ) -> Block {
        let mut coinbase = self.coinbase_for(lock);
        let n = coinbase.data.len();
        coinbase.data[n - EXTRANONCE_LEN..n - EXTRANONCE2_LEN].copy_from_slice(extranonce1);
        coinbase.data[n - EXTRANONCE2_LEN..].copy_from_slice(&share.extranonce2);
        let mut txs = Vec::with_capacity(self.others.len() + 1);
        txs.push(coinbase);
        txs.extend(self.others.iter().cloned());
        Block::new(accepted.header, txs)
    }

    /// Builds a job from a template `block` (with a proof-of-work header;
    /// `None` otherwise) whose coinbase ends in [`EXTRANONCE_LEN`] bytes of
    /// data.
    pub fn from_template(
        id: String,
        height: u64,
        block: Block,
        reward: Amount,
        min_time: u32,
        block_target: U256,
    ) -> Option<Job> {
        let header = *block.header.as_pow()?;
        let mut txs = block.txs;
        let others: Vec<Transaction> = txs.split_off(1);
        let coinbase = txs.pop().expect("a template has a coinbase");
        let mut leaves = Vec::with_capacity(others.len() + 1);
        // Leaf 0 never enters the branch of leaf 0.
        leaves.push(Hash::ZERO);
        leaves.extend(others.iter().map(Transaction::txid));
        Some(Job {
            id,
            height,
            header,
            min_time,
            block_target,
            coinbase,
            reward,
            others: Arc::new(others),
            branch: bitcoin_branch(&leaves),
        })
    }
}

/// Stratum's `prevhash`: the 32 header bytes with each 4-byte word
/// reversed, in hex.
pub fn stratum_prevhash(h: &Hash) -> String {
    let mut b = h.0;
    for w in b.chunks_mut(4) {
        w.reverse();
    }
    hex::encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The difficulty-1 target of Bitcoin pools.
    fn diff1() -> U256 {
        U256::from(0xffffu64) << 208
    }

    #[test]
    fn targets_follow_difficulty() {
        assert_eq!(target_for_difficulty(1.0), diff1());
        assert_eq!(target_for_difficulty(2.0), diff1() >> 1);
        assert_eq!(target_for_difficulty(1.0 / 1024.0), diff1() << 10);
        assert_eq!(target_for_difficulty(0.0), U256::MAX);
        assert!(target_for_difficulty(1e-70) == U256::MAX);
    }

    #[test]
    fn share_fields_parse_strictly() {
        let s = Share::parse("01020304", "6553f100", "0000002a").unwrap();
        assert_eq!(s.extranonce2, [1, 2, 3, 4]);
        assert_eq!(s.ntime, 0x6553f100);
        assert_eq!(s.nonce, 42);
        assert!(Share::parse("010203", "6553f100", "0000002a").is_err());
        assert!(Share::parse("01020304", "6553f10", "0000002a").is_err());
        assert!(Share::parse("01020304", "6553f100", "zz00002a").is_err());
    }

    #[test]
    fn prevhash_swaps_words() {
        let mut h = Hash::ZERO;
        h.0[..4].copy_from_slice(&[1, 2, 3, 4]);
        assert!(stratum_prevhash(&h).starts_with("04030201"));
    }
}
