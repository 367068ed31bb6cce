//! Transactions from peers and the API: decoding is canonical, and tier-1
//! validation of whatever decodes never panics.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_ledger::staking::StakingParams;
use luminex_ledger::{check_transaction, ChainSpec};
use luminex_primitives::{Amount, Decode, Encode, Transaction};

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
        // And on a chain that takes the staking kinds (ADR 0031).
        let mut staked = ChainSpec::preset("dev").expect("a preset");
        staked.staking = Some(StakingParams {
            require_account_creation: true,
            ..StakingParams::new(Amount::from_base(1).expect("in range"), 1)
        });
        let _ = check_transaction(&tx, &staked);
    }
});
