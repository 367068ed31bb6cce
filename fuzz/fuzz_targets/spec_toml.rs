//! Chain specs (`--chain FILE`): any text gives a spec or a typed error.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_ledger::ChainSpec;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(spec) = ChainSpec::from_toml(text) {
            let _ = spec.genesis_block();
        }
    }
});
