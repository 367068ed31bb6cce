//! Wallet files as read from disk (before the passphrase is asked for).
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_wallet::WalletFile;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<WalletFile>(data);
});
