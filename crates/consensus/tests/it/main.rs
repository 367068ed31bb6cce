//! Proof of work: Bitcoin's compact targets and work, retargeting, time
//! rules, and midstate mining.

mod compact;
mod engine;
mod evidence;
mod relay;

use std::sync::atomic::AtomicBool;

use luminex_consensus::mining::{grind, Midstate};
use luminex_consensus::pow::*;
use luminex_ledger::spec::{PowParams, PowSpecError};
use luminex_ledger::{
    BlockError, ChainContext, ConsensusRecord, ConsensusRules, HeaderChain, Parent, U256,
};
use luminex_primitives::{Hash, Header, PowHeader};
use proptest::prelude::*;

fn bitcoin_genesis() -> PowHeader {
    PowHeader {
        version: 1,
        prev_hash: Hash::ZERO,
        merkle_root: "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
            .parse()
            .unwrap(),
        time: 1231006505,
        bits: 0x1d00ffff,
        nonce: 2083236893,
    }
}

#[test]
fn compact_targets_match_bitcoin() {
    let t = target_from_compact(0x1d00ffff).unwrap();
    assert_eq!(t, U256::from(0xffffu64) << 208);
    assert_eq!(compact_from_target(t), 0x1d00ffff);
    assert_eq!(
        target_from_compact(0x1b0404cb).unwrap(),
        U256::from(0x0404cbu64) << 192
    );
    assert_eq!(
        compact_from_target(U256::from(0x0404cbu64) << 192),
        0x1b0404cb
    );
    // A mantissa with the top bit set is shifted into the next size.
    assert_eq!(compact_from_target(U256::from(0x80u64)), 0x02008000);
    assert_eq!(target_from_compact(0x04923456), Err(CompactError::Negative));
    assert_eq!(target_from_compact(0xff123456), Err(CompactError::Overflow));
    assert_eq!(target_from_compact(0x01003456), Err(CompactError::Zero));
    // Bitcoin's difficulty-1 block is worth 0x100010001 hashes.
    assert_eq!(work(t), U256::from(0x1_0001_0001u64));
}

#[test]
fn bitcoin_genesis_meets_its_target_and_is_found_by_grinding() {
    let g = bitcoin_genesis();
    let rules = PowRules::new(params(2016), 7200).unwrap();
    rules.header_work(&g.into()).unwrap();
    let target = target_from_compact(g.bits).unwrap();
    let found = grind(&g, target, g.nonce - 5000, 10_000, &AtomicBool::new(false));
    assert_eq!(found, Some(g.nonce));
    let mut bad = g;
    bad.nonce += 1;
    assert!(matches!(
        rules.header_work(&bad.into()),
        Err(BlockError::HighHash(_))
    ));
}

proptest! {
    #[test]
    fn midstate_hash_equals_sha256d(nonce in any::<u32>(), time in any::<u32>(), root in any::<[u8; 32]>()) {
        let mut h = bitcoin_genesis();
        h.time = time;
        h.merkle_root = Hash(root);
        let m = Midstate::new(&h);
        h.nonce = nonce;
        prop_assert_eq!(m.hash(nonce), h.hash().0);
    }

    #[test]
    fn compact_round_trips(bits in 0x03000001u32..0x20000000u32) {
        if let Ok(t) = target_from_compact(bits) {
            prop_assert_eq!(target_from_compact(compact_from_target(t)).unwrap(), t);
        }
    }
}

fn params(window: u64) -> PowParams {
    PowParams {
        pow_limit_bits: 0x207fffff,
        target_spacing_secs: 10,
        retarget_window: window,
        max_adjustment: 4,
        median_time_span: 11,
    }
}

/// A straight chain of headers indexed by height.
struct Straight(Vec<Header>);

impl HeaderChain for Straight {
    fn ancestor(&self, _tip: &Hash, height: u64) -> Option<Header> {
        self.0.get(height as usize).copied()
    }
}

impl ChainContext for Straight {
    fn consensus_record(&self, _: u64) -> Option<ConsensusRecord> {
        None
    }
}

impl Straight {
    /// `n` headers with `bits`, `spacing` seconds apart.
    fn new(n: usize, bits: u32, spacing: u32) -> Straight {
        Straight(
            (0..n)
                .map(|i| {
                    PowHeader {
                        version: 1,
                        prev_hash: Hash::ZERO,
                        merkle_root: Hash::ZERO,
                        time: 1_000_000 + i as u32 * spacing,
                        bits,
                        nonce: 0,
                    }
                    .into()
                })
                .collect(),
        )
    }
    fn parent(&self) -> Parent {
        let h = *self.0.last().unwrap();
        Parent {
            hash: h.hash(),
            height: self.0.len() as u64 - 1,
            header: h,
        }
    }
}

#[test]
fn retargeting_follows_block_times_with_a_clamp() {
    let rules = PowRules::new(params(10), 7200).unwrap();
    let bits = 0x1e00ffff;
    let old = target_from_compact(bits).unwrap();
    let next = |spacing: u32| {
        let c = Straight::new(10, bits, spacing);
        target_from_compact(rules.next_bits(&c.parent(), &c).unwrap()).unwrap()
    };
    // Between windows the bits stay.
    let c = Straight::new(5, bits, 1);
    assert_eq!(rules.next_bits(&c.parent(), &c).unwrap(), bits);
    // Too fast (5 s instead of 10): the target halves, within rounding.
    let fast = next(5);
    assert!(
        fast < old && fast > old / U256::from(3u64),
        "difficulty rises"
    );
    // Too slow (20 s): the target roughly doubles.
    let slow = next(20);
    assert!(
        slow > old && slow < old * U256::from(3u64),
        "difficulty falls"
    );
    // Extremes clamp at x4 and /4.
    assert!(next(1) >= old / U256::from(5u64) && next(0) == next(1));
    let clamped = next(1000);
    assert!(clamped <= old * U256::from(4u64) && clamped > old * U256::from(3u64));
    // Never easier than the limit.
    let easy = Straight::new(10, 0x207fffff, 1000);
    assert_eq!(
        rules.next_bits(&easy.parent(), &easy).unwrap(),
        compact_from_target(rules.pow_limit())
    );
}

#[test]
fn header_checks_have_distinct_errors() {
    let rules = PowRules::new(params(2016), 7200).unwrap();
    let c = Straight::new(20, 0x207fffff, 10);
    let p = c.parent();
    let now = p.header.time();
    let now_ms = now * 1000;
    let check = |h: &PowHeader| rules.check_header(&(*h).into(), &p, &c, now_ms);
    let mut h = PowHeader {
        version: 1,
        prev_hash: p.hash,
        merkle_root: Hash::ZERO,
        time: p.header.time() as u32 + 10,
        bits: 0x207fffff,
        nonce: 0,
    };
    check(&h).unwrap();
    h.bits = 0x207ffffe;
    assert!(matches!(check(&h), Err(BlockError::BadBits { .. })));
    h.bits = 0x207fffff;
    // At or below the median of the last 11 times.
    h.time = c.0[14].time() as u32;
    assert!(matches!(
        check(&h),
        Err(BlockError::TimeNotAfterMedian { .. })
    ));
    h.time = c.0[15].time() as u32 + 1;
    check(&h).unwrap();
    h.time = (now + 7201) as u32;
    assert!(matches!(check(&h), Err(BlockError::TimeTooNew { .. })));
    // A template is built only with a time the node's own checks accept:
    // with the chain's median time more than the drift past the clock, no
    // template (a block mined on it would be refused here).
    let min = rules.min_time(&p, &c);
    assert_eq!(min, c.0[14].time() + 1);
    let at = |now: u64| rules.template_header(&p, &c, now * 1000);
    let t = at(min - 7200).unwrap();
    assert_eq!(t.time(), min);
    rules.check_header(&t, &p, &c, (min - 7200) * 1000).unwrap();
    assert_eq!(
        at(min - 7201).map(|h| h.time()),
        Err(BlockError::ClockBehindChain {
            earliest: min,
            now: min - 7201
        })
    );
    // A target above the limit, and insufficient work.
    let strict = PowRules::new(
        PowParams {
            pow_limit_bits: 0x1d00ffff,
            ..params(2016)
        },
        7200,
    )
    .unwrap();
    let mut easy = bitcoin_genesis();
    easy.bits = 0x1e00ffff;
    assert!(matches!(
        strict.header_work(&easy.into()),
        Err(BlockError::HighHash(_))
    ));
}

/// Rules are never built with a `pow_limit_bits` that encodes no target:
/// there is no "no limit" fallback for the difficulty to fall through.
#[test]
fn rules_refuse_a_limit_that_is_no_target() {
    for (bits, reason) in [
        (0, CompactError::Zero),
        (0xffff_ffff, CompactError::Negative),
        (0xff12_3456, CompactError::Overflow),
    ] {
        let p = PowParams {
            pow_limit_bits: bits,
            ..params(2016)
        };
        assert_eq!(
            PowRules::new(p, 7200).unwrap_err(),
            PowSpecError::PowLimitBits { bits, reason }
        );
    }
    let spec = luminex_ledger::ChainSpec::preset("qbtc").unwrap();
    let rules = PowRules::for_spec(&spec).unwrap().unwrap();
    assert_eq!(rules.pow_limit(), target_from_compact(0x1f00ffff).unwrap());
    // A spec built in code, past the TOML check, is refused all the same.
    let mut easy_genesis = spec.clone();
    easy_genesis.genesis.bits = 0x207fffff;
    assert!(matches!(
        PowRules::for_spec(&easy_genesis),
        Some(Err(PowSpecError::GenesisEasierThanLimit { .. }))
    ));
}

/// The `dev` template, like proof of work's, is built only with a time the
/// node's own checks accept: a parent dated more than the drift past the
/// clock (the clock went back) gives no template but an error that says
/// so, not a block the node then refuses as too new.
#[test]
fn dev_template_waits_for_a_clock_behind_the_chain() {
    use luminex_consensus::dev::DevRules;
    use luminex_ledger::ChainSpec;
    let spec = ChainSpec::preset("dev").unwrap();
    let drift = spec.max_future_block_time_secs;
    let rules = DevRules::new(&spec);
    let c = Straight::new(3, 0x207fffff, 10);
    let p = c.parent();
    let parent_time = p.header.time();
    let at = |now: u64| rules.template_header(&p, &c, now * 1000);
    // At the edge of the drift: dated at the parent, and accepted.
    let t = at(parent_time - drift).unwrap();
    assert_eq!(t.time(), parent_time);
    rules
        .check_header(&t, &p, &c, (parent_time - drift) * 1000)
        .unwrap();
    // One second further back: no template.
    assert_eq!(
        at(parent_time - drift - 1).map(|h| h.time()),
        Err(BlockError::ClockBehindChain {
            earliest: parent_time,
            now: parent_time - drift - 1
        })
    );
    // A clock ahead of the parent dates the block now.
    assert_eq!(at(parent_time + 5).unwrap().time(), parent_time + 5);
}
