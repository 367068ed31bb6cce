//! Proposals and votes from the consensus gossip topic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_consensus::bft::ConsensusMessage;
use luminex_primitives::{Decode, Encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ConsensusMessage::decode_all(data) {
        assert_eq!(
            m.encode(),
            data,
            "a decoded message re-encodes to its bytes"
        );
        let _ = m.height();
    }
});
