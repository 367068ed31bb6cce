//! Values read back from the database: a damaged store must give an error,
//! never a panic. The first byte picks the table's value type.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_ledger::{BlockUndo, Coin, ConsensusRecord, StakingState, StakingUndo};
use luminex_primitives::{CommitCertificate, Decode, Encode};
use luminex_storage::tables::{AddressDelta, BlockBody, HeaderRecord, TipRecord, TxLocation};

fn round_trip<T: Decode + Encode>(data: &[u8]) {
    if let Ok(v) = T::decode_all(data) {
        assert_eq!(v.encode(), data, "a stored value re-encodes to its bytes");
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((which, rest)) = data.split_first() else {
        return;
    };
    match which % 11 {
        0 => round_trip::<HeaderRecord>(rest),
        1 => round_trip::<BlockBody>(rest),
        2 => round_trip::<TxLocation>(rest),
        3 => round_trip::<AddressDelta>(rest),
        4 => round_trip::<TipRecord>(rest),
        5 => round_trip::<ConsensusRecord>(rest),
        6 => round_trip::<CommitCertificate>(rest),
        7 => round_trip::<BlockUndo>(rest),
        8 => round_trip::<StakingUndo>(rest),
        9 => round_trip::<StakingState>(rest),
        _ => round_trip::<Coin>(rest),
    }
});
