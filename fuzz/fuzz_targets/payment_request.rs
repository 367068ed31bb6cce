//! Payment request URIs (`luminex:<address>?amount=…&memo=…`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_wallet::request::PaymentRequest;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = PaymentRequest::parse(text);
    }
});
