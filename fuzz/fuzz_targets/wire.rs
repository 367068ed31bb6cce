//! Length-framed, maybe zstd-compressed sync frames and what is inside
//! them: requests, responses and the status message. A frame's body is
//! bounded by the limit whatever its header claims (no bombs). Also the
//! transaction topic's announcements of txids (ADR 0047).
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_p2p::wire::{
    frame_body, tx_announce_frame, txids_from_announce_frame, Request, Response,
};
use luminex_p2p::Status;
use luminex_primitives::{Decode, Encode};

const LIMIT: usize = 1 << 20;

fuzz_target!(|data: &[u8]| {
    if let Ok(txids) = txids_from_announce_frame(data) {
        assert!(!txids.is_empty());
        assert_eq!(tx_announce_frame(&txids), data, "canonical");
    }
    if let Ok(body) = frame_body(data, LIMIT) {
        assert!(body.len() <= LIMIT, "a frame body never exceeds the limit");
        if let Ok(r) = Request::decode_all(&body) {
            assert_eq!(r.encode(), &body[..]);
        }
        if let Ok(r) = Response::decode_all(&body) {
            assert_eq!(r.encode(), &body[..]);
        }
        if let Ok(s) = Status::decode_all(&body) {
            assert_eq!(s.encode(), &body[..]);
        }
    }
});
