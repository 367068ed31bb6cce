//! Nonce grinding with a precomputed SHA-256 midstate.
//!
//! The 80-byte header spans two SHA-256 blocks; only the second holds the
//! nonce. The first block's compression is done once per template
//! ([`Midstate::new`]), so each nonce costs two compressions: the header's
//! second block, and the 32-byte first digest. The SHA-256 initial state and
//! padding are FIPS 180-4's; `sha2::compress256` uses SHA-NI when present.

use std::sync::atomic::{AtomicBool, Ordering};

use luminex_ledger::U256;
use luminex_primitives::PowHeader;
use sha2::digest::generic_array::GenericArray;

/// FIPS 180-4 §5.3.3: the SHA-256 initial hash value.
const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

fn compress(state: &mut [u32; 8], block: &[u8; 64]) {
    sha2::compress256(state, std::slice::from_ref(GenericArray::from_slice(block)));
}

/// A header with the first 64 bytes already compressed.
#[derive(Clone)]
pub struct Midstate {
    state: [u32; 8],
    second: [u8; 64],
}

impl Midstate {
    /// Precomputes the midstate of `header` (its nonce is ignored).
    pub fn new(header: &PowHeader) -> Midstate {
        let bytes = header.to_bytes();
        let mut state = IV;
        let mut first = [0u8; 64];
        first.copy_from_slice(&bytes[..64]);
        compress(&mut state, &first);
        let mut second = [0u8; 64];
        second[..16].copy_from_slice(&bytes[64..]);
        second[16] = 0x80;
        second[56..].copy_from_slice(&(80u64 * 8).to_be_bytes());
        Midstate { state, second }
    }

    /// SHA-256d of the header with `nonce`, in the byte order of
    /// [`luminex_primitives::Hash`].
    #[inline]
    pub fn hash(&self, nonce: u32) -> [u8; 32] {
        let mut block = self.second;
        block[12..16].copy_from_slice(&nonce.to_le_bytes());
        let mut s1 = self.state;
        compress(&mut s1, &block);
        let mut inner = [0u8; 64];
        for (i, w) in s1.iter().enumerate() {
            inner[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
        }
        inner[32] = 0x80;
        inner[56..].copy_from_slice(&(32u64 * 8).to_be_bytes());
        let mut s2 = IV;
        compress(&mut s2, &inner);
        let mut out = [0u8; 32];
        for (i, w) in s2.iter().enumerate() {
            out[4 * i..4 * i + 4].copy_from_slice(&w.to_be_bytes());
        }
        out
    }
}

/// Whether a hash (as bytes, read little-endian) is at most `target`
/// (as little-endian bytes): compare from the most significant byte.
#[inline]
pub fn meets(hash: &[u8; 32], target_le: &[u8; 32]) -> bool {
    for i in (0..32).rev() {
        if hash[i] != target_le[i] {
            return hash[i] < target_le[i];
        }
    }
    true
}

/// Tries nonces `start..start + count` (wrapping) and returns the first
/// whose hash meets `target`. Checks `stop` every 4,096 nonces.
pub fn grind(
    header: &PowHeader,
    target: U256,
    start: u32,
    count: u32,
    stop: &AtomicBool,
) -> Option<u32> {
    let mid = Midstate::new(header);
    let target_le: [u8; 32] = target.to_le_bytes();
    let mut nonce = start;
    for i in 0..count {
        if i % 4096 == 0 && stop.load(Ordering::Relaxed) {
            return None;
        }
        if meets(&mid.hash(nonce), &target_le) {
            return Some(nonce);
        }
        nonce = nonce.wrapping_add(1);
    }
    None
}
