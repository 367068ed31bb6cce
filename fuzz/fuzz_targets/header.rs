//! Headers (Bitcoin's 80 bytes or the BFT header) from peers and RPC.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_primitives::{Decode, Encode, Header};

fuzz_target!(|data: &[u8]| {
    if let Ok(h) = Header::decode_all(data) {
        assert_eq!(h.encode(), data, "a decoded header re-encodes to its bytes");
        let _ = h.hash();
    }
});
