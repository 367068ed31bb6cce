//! Multi-part QR frames scanned in any order (one frame per line).
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_wallet::multipart;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = multipart::decode(text.lines());
    }
});
