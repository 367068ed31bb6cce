//! Compact block announcements (BIP 152-style) from the block topic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_p2p::compact::CompactBlock;
use luminex_primitives::{Decode, Encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = CompactBlock::decode_all(data) {
        assert_eq!(
            c.encode(),
            data,
            "a decoded announcement re-encodes to its bytes"
        );
    }
});
