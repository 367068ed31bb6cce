//! Bitcoin's compact encoding of a 256-bit target (`nBits`,
//! `arith_uint256::SetCompact`): the spec check and the proof-of-work rules
//! decode it alike, so a target the rules cannot use never passes the check.

use crate::U256;

/// Why a compact target is unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CompactError {
    /// The sign bit is set.
    #[error("negative target")]
    Negative,
    /// Does not fit 256 bits.
    #[error("target overflows 256 bits")]
    Overflow,
    /// Zero.
    #[error("zero target")]
    Zero,
}

/// Decodes a compact target.
pub fn target_from_compact(bits: u32) -> Result<U256, CompactError> {
    let size = bits >> 24;
    let mantissa = bits & 0x007f_ffff;
    if mantissa != 0 && bits & 0x0080_0000 != 0 {
        return Err(CompactError::Negative);
    }
    if mantissa != 0
        && (size > 34 || (mantissa > 0xff && size > 33) || (mantissa > 0xffff && size > 32))
    {
        return Err(CompactError::Overflow);
    }
    let m = U256::from(mantissa);
    let t = if size <= 3 {
        m >> (8 * (3 - size) as usize)
    } else {
        m << (8 * (size - 3) as usize)
    };
    if t.is_zero() {
        return Err(CompactError::Zero);
    }
    Ok(t)
}
