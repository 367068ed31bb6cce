//! Transactions from peers and the API: decoding is canonical, and tier-1
//! validation of whatever decodes never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_ledger::{check_transaction, ChainSpec};
use luminex_primitives::{Decode, Encode, Transaction};

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = Transaction::decode_all(data) {
        assert_eq!(
            tx.encode(),
            data,
            "a decoded transaction re-encodes to its bytes"
        );
        let _ = tx.txid();
        for name in ["dev", "poa"] {
            let spec = ChainSpec::preset(name).expect("a preset");
            let _ = check_transaction(&tx, &spec);
        }
    }
});
