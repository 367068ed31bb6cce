//! Blocks from peers, block files and `submitblock`: canonical decoding,
//! and the context-free block checks never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use luminex_ledger::{check_block, ChainSpec};
use luminex_primitives::{Block, Decode, Encode};

fuzz_target!(|data: &[u8]| {
    if let Ok(block) = Block::decode_all(data) {
        assert_eq!(
            block.encode(),
            data,
            "a decoded block re-encodes to its bytes"
        );
        let _ = block.hash();
        for name in ["dev", "qbtc", "poa"] {
            let spec = ChainSpec::preset(name).expect("a preset");
            let _ = check_block(&block, &spec);
        }
    }
});
