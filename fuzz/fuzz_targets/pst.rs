//! Partially signed transactions passed between signers.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_wallet::pst::PartialTx;

fuzz_target!(|data: &[u8]| {
    let _ = PartialTx::from_bytes(data);
});
