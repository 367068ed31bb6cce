//! Proof of work as Bitcoin defines it: SHA-256d of the 80-byte header, read
//! as a little-endian 256-bit number, must not exceed the target encoded in
//! `bits` (Bitcoin's compact format, `arith_uint256::SetCompact`); each block
//! adds `2^256 / (target + 1)` work; every `retarget_window` blocks the
//! target scales by the time the window took (clamped to
//! `max_adjustment`); a block's time must exceed the median of the previous
//! `median_time_span` blocks and may not run more than the spec's limit past
//! local time.

use luminex_ledger::spec::{ConsensusKind, PowParams, PowSpecError};
use luminex_ledger::{
    BlockError, ChainContext, ChainSpec, ConsensusRules, Finality, HeaderChain, Parent, U256,
};
use luminex_primitives::{Hash, Header, PowHeader};

pub use luminex_ledger::compact::{target_from_compact, CompactError};

/// Encodes a target in compact form (rounding down, as Bitcoin does).
pub fn compact_from_target(t: U256) -> u32 {
    let mut size = t.bit_len().div_ceil(8) as u32;
    let mut compact = if size <= 3 {
        (t.as_limbs()[0] << (8 * (3 - size))) as u32
    } else {
        (t >> (8 * (size - 3) as usize)).as_limbs()[0] as u32
    };
    if compact & 0x0080_0000 != 0 {
        compact >>= 8;
        size += 1;
    }
    compact | (size << 24)
}

/// Work of a block with `target`: `2^256 / (target + 1)`.
pub fn work(target: U256) -> U256 {
    (!target / (target + U256::from(1u64))) + U256::from(1u64)
}

/// The header hash as Bitcoin compares it with the target.
pub fn hash_value(h: &Hash) -> U256 {
    U256::from_le_bytes(h.0)
}

/// `x` as the nearest `f64` (its top 64 bits, scaled), for figures such as
/// difficulty and hash rate.
pub fn u256_to_f64(x: U256) -> f64 {
    let bits = x.bit_len();
    if bits <= 64 {
        x.as_limbs()[0] as f64
    } else {
        ((x >> (bits - 64)).as_limbs()[0] as f64) * 2f64.powi((bits - 64) as i32)
    }
}

/// Bitcoin's difficulty: the difficulty-1 target over the block's target
/// (0 for `bits` that encode no valid target).
pub fn difficulty(bits: u32) -> f64 {
    // Bitcoin's difficulty-1 target, 0x1d00ffff decoded: 0xffff << 208.
    let one = U256::from(0xffffu64) << 208;
    match target_from_compact(bits) {
        Ok(t) => u256_to_f64(one) / u256_to_f64(t),
        Err(_) => 0.0,
    }
}

/// Proof-of-work header rules.
#[derive(Debug, Clone)]
pub struct PowRules {
    params: PowParams,
    pow_limit: U256,
    max_future: u64,
    max_reorg_depth: u64,
}

impl PowRules {
    /// Rules with `params`; `max_future` bounds block time past local time.
    /// Refused when `pow_limit_bits` encodes no target: the rules never
    /// run without a floor on the difficulty.
    pub fn new(params: PowParams, max_future: u64) -> Result<PowRules, PowSpecError> {
        let pow_limit = params.pow_limit()?;
        Ok(PowRules {
            params,
            pow_limit,
            max_future,
            max_reorg_depth: luminex_ledger::spec::DEFAULT_MAX_REORG_DEPTH,
        })
    }

    /// The rules of a proof-of-work spec: `None` without a `[pow]` table,
    /// which a checked spec of kind `pow` always has; an error for difficulty
    /// fields the spec check refuses.
    pub fn for_spec(spec: &ChainSpec) -> Option<Result<PowRules, PowSpecError>> {
        let p = spec.pow.clone()?;
        Some(p.check_difficulty(spec.genesis.bits).and_then(|()| {
            PowRules::new(p, spec.max_future_block_time_secs)
                .map(|r| r.with_max_reorg_depth(spec.max_reorg_depth))
        }))
    }

    /// Blocks this deep are final (reorganisations deeper are refused).
    pub fn with_max_reorg_depth(mut self, depth: u64) -> PowRules {
        self.max_reorg_depth = depth;
        self
    }

    /// The `bits` a block on top of `parent` must carry.
    pub fn next_bits(&self, parent: &Parent, chain: &dyn HeaderChain) -> Result<u32, BlockError> {
        self.required_bits(parent, chain)
    }

    /// The easiest allowed target.
    pub fn pow_limit(&self) -> U256 {
        self.pow_limit
    }

    fn required_bits(&self, parent: &Parent, chain: &dyn HeaderChain) -> Result<u32, BlockError> {
        let p = &self.params;
        let parent_header = pow_header(&parent.header)?;
        let height = parent.height + 1;
        if !height.is_multiple_of(p.retarget_window) {
            return Ok(parent_header.bits);
        }
        let first_height = parent.height + 1 - p.retarget_window;
        let first = chain.ancestor(&parent.hash, first_height).ok_or_else(|| {
            BlockError::HighHash(format!("ancestor at height {first_height} unknown"))
        })?;
        let span = p.target_spacing_secs.saturating_mul(p.retarget_window);
        let actual = parent.header.time() as i64 - first.time() as i64;
        let actual = (actual.max(0) as u64).clamp(
            span / p.max_adjustment,
            span.saturating_mul(p.max_adjustment),
        );
        let old = target_from_compact(parent_header.bits)
            .map_err(|e| BlockError::HighHash(e.to_string()))?;
        let (a, s) = (U256::from(actual), U256::from(span.max(1)));
        let new = old
            .checked_mul(a)
            .map(|x| x / s)
            .unwrap_or_else(|| (old / s).saturating_mul(a));
        Ok(compact_from_target(new.min(self.pow_limit)))
    }

    /// Median time of the `median_time_span` blocks ending at `parent`.
    pub fn median_time_past(&self, parent: &Parent, chain: &dyn HeaderChain) -> u64 {
        let n = self.params.median_time_span.min(parent.height + 1);
        let mut times: Vec<u64> = (0..n)
            .filter_map(|i| {
                if i == 0 {
                    Some(parent.header.time())
                } else {
                    chain
                        .ancestor(&parent.hash, parent.height - i)
                        .map(|h| h.time())
                }
            })
            .collect();
        times.sort_unstable();
        times[times.len() / 2]
    }
}

fn pow_header(h: &Header) -> Result<&PowHeader, BlockError> {
    h.as_pow().ok_or(BlockError::WrongHeaderKind)
}

impl ConsensusRules for PowRules {
    fn kind(&self) -> ConsensusKind {
        ConsensusKind::Pow
    }

    fn finality(&self) -> Finality {
        Finality::Depth(self.max_reorg_depth)
    }

    fn min_time(&self, parent: &Parent, chain: &dyn ChainContext) -> u64 {
        self.median_time_past(parent, chain).saturating_add(1)
    }

    fn header_work(&self, header: &Header) -> Result<U256, BlockError> {
        let h = pow_header(header)?;
        let target =
            target_from_compact(h.bits).map_err(|e| BlockError::HighHash(e.to_string()))?;
        if target > self.pow_limit {
            return Err(BlockError::HighHash(
                "target above the proof-of-work limit".into(),
            ));
        }
        if hash_value(&h.hash()) > target {
            return Err(BlockError::HighHash("hash above the target".into()));
        }
        Ok(work(target))
    }

    fn check_header(
        &self,
        header: &Header,
        parent: &Parent,
        chain: &dyn ChainContext,
        now_ms: u64,
    ) -> Result<(), BlockError> {
        let h = pow_header(header)?;
        let expected = self.required_bits(parent, chain)?;
        if h.bits != expected {
            return Err(BlockError::BadBits {
                expected,
                found: h.bits,
            });
        }
        let median = self.median_time_past(parent, chain);
        let time = u64::from(h.time);
        if time <= median {
            return Err(BlockError::TimeNotAfterMedian { time, median });
        }
        let now = now_ms / 1000;
        if time > now.saturating_add(self.max_future) {
            return Err(BlockError::TimeTooNew { time, now });
        }
        Ok(())
    }

    fn template_header(
        &self,
        parent: &Parent,
        chain: &dyn ChainContext,
        now_ms: u64,
    ) -> Result<Header, BlockError> {
        let bits = self.required_bits(parent, chain)?;
        let min_time = self.min_time(parent, chain);
        let now = now_ms / 1000;
        // The earliest time the next block may carry is further ahead of
        // this node's clock than its own checks allow: a block mined now
        // would be refused here (as Bitcoin Core refuses to build such a
        // template). The caller waits for the clock (or for it to be put
        // right).
        if min_time > now.saturating_add(self.max_future) {
            return Err(BlockError::ClockBehindChain {
                earliest: min_time,
                now,
            });
        }
        let time = now.max(min_time);
        Ok(PowHeader {
            version: 1,
            prev_hash: parent.hash,
            merkle_root: Hash::ZERO,
            time: u32::try_from(time).unwrap_or(u32::MAX),
            bits,
            nonce: 0,
        }
        .into())
    }
}
