//! Encrypted single-key export files.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_wallet::keyfile::KeyFile;

fuzz_target!(|data: &[u8]| {
    let _ = KeyFile::from_json(data);
});
