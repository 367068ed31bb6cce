//! What arrives on the consensus gossip topic: proposals (whole and
//! compact), votes, status, certified blocks, replays, and requests and
//! answers for a proposal's transactions.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_consensus::bft::{ConsensusMessage, Gossip};
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
    if let Ok(g) = Gossip::decode_all(data) {
        assert_eq!(
            g.encode(),
            data,
            "a decoded gossip message re-encodes to its bytes"
        );
    }
});
