//! `staking/...`: the staking state's per-block costs with `V` validators
//! and 10 delegations each (1,000 validators: 10,000 delegations) — the
//! commitment hash over the whole state, the entry writes of a block that
//! touched one validator, a slash of one validator, a full copy, an epoch
//! transition's election — and applying one `delegate`; and what a BFT
//! chain's blocks add since rewards follow signed power (ADR 0068): a block
//! whose certificate every member signed (the work record and liveness of
//! `V` signers), and the boundary block that pays the epoch out by it.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use luminex_ledger::staking::{StakingParams, StakingState, StakingUndo};
use luminex_ledger::ChainSpec;
use luminex_primitives::{
    Amount, Block, CommitCertificate, Delegation, Hash, OutPoint, PowHeader, PublicKey, SchemeId,
    Signature, Stake, Transaction, TxKind, Witness,
};

fn key(i: u32, tag: u8) -> PublicKey {
    let mut bytes = vec![tag; SchemeId::MlDsa65.public_key_len()];
    bytes[..4].copy_from_slice(&i.to_le_bytes());
    PublicKey {
        scheme: SchemeId::MlDsa65,
        bytes,
    }
}

/// A transaction of `kind` acted by `actor`, with one input; signatures are
/// not checked by the state.
fn tx(kind: TxKind, actor: &PublicKey, n: u32) -> Transaction {
    let w = Witness::Key {
        public_key: actor.clone(),
        signature: Signature {
            scheme: SchemeId::MlDsa65,
            bytes: vec![],
        },
    };
    Transaction {
        version: 1,
        chain_id: 1001,
        kind,
        inputs: vec![OutPoint {
            txid: Hash([1; 32]),
            vout: n,
        }],
        outputs: vec![],
        expiry_height: 0,
        witnesses: vec![w.clone(), w],
        data: vec![],
    }
}

fn state(spec: &ChainSpec, validators: u32) -> StakingState {
    let mut s = StakingState::default();
    let mut undo = StakingUndo::default();
    let amount = Amount::from_base(1_000_000).expect("in range");
    for v in 0..validators {
        let vk = key(v, 1);
        let t = tx(
            TxKind::Stake(Stake {
                validator: vk.clone(),
                amount,
            }),
            &vk,
            v,
        );
        s.apply_tx(&t, &t.txid(), 1, spec, &mut undo)
            .expect("a valid stake");
        for d in 0..10 {
            let dk = key(v * 10 + d, 2);
            let t = tx(
                TxKind::Delegate(Delegation {
                    validator: vk.key_hash(),
                    amount,
                }),
                &dk,
                v * 10 + d,
            );
            s.apply_tx(&t, &t.txid(), 1, spec, &mut undo)
                .expect("a valid delegation");
        }
    }
    s
}

/// A block at `height` holding only a coinbase that claims nothing (the
/// state puts the subsidy in the pot), carrying a certificate of its parent
/// that all `signers` members signed (the state reads only its bitmap).
fn signed_block(height: u64, signers: usize) -> Block {
    let coinbase = Transaction {
        version: 1,
        chain_id: 1001,
        kind: TxKind::Coinbase { height },
        inputs: vec![],
        outputs: vec![],
        expiry_height: 0,
        witnesses: vec![],
        data: vec![],
    };
    let mut bits = vec![0xff_u8; signers.div_ceil(8)];
    if !signers.is_multiple_of(8) {
        bits[signers / 8] = (1u8 << (signers % 8)) - 1;
    }
    let mut block = Block::new(
        PowHeader {
            version: 1,
            prev_hash: Hash::ZERO,
            merkle_root: Hash::ZERO,
            time: 0,
            bits: 0,
            nonce: 0,
        },
        vec![coinbase],
    );
    block.last_commit = Some(CommitCertificate {
        height: height - 1,
        round: 0,
        block_hash: Hash::ZERO,
        signers: bits,
        signatures: vec![],
    });
    block
}

fn bench(c: &mut Criterion) {
    let mut spec = ChainSpec::preset("dev").expect("the dev preset");
    spec.staking = Some(StakingParams::new(
        Amount::from_base(1).expect("in range"),
        10,
    ));
    let mut g = c.benchmark_group("staking");
    g.sample_size(20);
    for validators in [100u32, 1_000] {
        let s = state(&spec, validators);
        println!(
            "{validators} validators, {} delegations: state {} bytes",
            s.delegations().count(),
            luminex_primitives::Encode::encoded_len(&s)
        );
        g.bench_function(format!("hash/{validators}"), |b| b.iter(|| s.hash()));
        g.bench_function(format!("clone/{validators}"), |b| b.iter(|| s.clone()));
        // An epoch transition (ADR 0033): elect every validator with power
        // (at most 1,000 seats) and hash the new set, as the boundary
        // block's consensus state does.
        g.bench_function(format!("epoch-transition/{validators}"), |b| {
            b.iter(|| {
                s.elect(1_000, luminex_primitives::Amount::ZERO)
                    .expect("validators with power")
                    .hash()
            })
        });
        let target = key(validators / 2, 1).key_hash();
        g.bench_function(format!("slash-and-writes/{validators}"), |b| {
            b.iter_batched(
                || s.clone(),
                |mut s| {
                    let mut undo = StakingUndo::default();
                    s.slash(&target, 1, 20, &mut undo)
                        .expect("a valid fraction");
                    s.writes(&undo)
                },
                BatchSize::LargeInput,
            )
        });
        let dk = key(u32::MAX, 3);
        let t = tx(
            TxKind::Delegate(Delegation {
                validator: target,
                amount: Amount::from_base(5).expect("in range"),
            }),
            &dk,
            u32::MAX,
        );
        let txid = t.txid();
        g.bench_function(format!("apply-delegate/{validators}"), |b| {
            b.iter_batched(
                || s.clone(),
                |mut s| {
                    let mut undo = StakingUndo::default();
                    s.apply_tx(&t, &txid, 2, &spec, &mut undo)
                        .expect("a valid delegation");
                    let w = s.writes(&undo);
                    (s, w)
                },
                BatchSize::LargeInput,
            )
        });
    }
    // What every block of a BFT staking chain pays since ADR 0068, and the
    // boundary that pays the epoch by it (epochs of 100 blocks here).
    if let Some(p) = spec.staking.as_mut() {
        p.epoch_blocks = 100;
    }
    for validators in [100u32, 1_000] {
        let mut s = state(&spec, validators);
        let set = s.elect(1_000, Amount::ZERO).expect("validators with power");
        // The sets a block at `h` knows: this one throughout (ADR 0072).
        let seats = |h: u64| luminex_ledger::staking::Seats {
            height: h,
            in_force: &set,
            next: &set,
            scheduled: None,
        };
        let txid = [Hash([2; 32])];
        let fees = Amount::ZERO;
        // Half an epoch in which every member signed every block, then the
        // next such block: the steady cost of a block.
        // Blocks at `heights` whose certificates every member signed.
        let sign = |s: &mut StakingState, heights: std::ops::Range<u64>| {
            for h in heights {
                s.apply_block_with(
                    &signed_block(h, set.len()),
                    &txid,
                    h,
                    fees,
                    &spec,
                    Some(&set),
                    Some(&seats(h)),
                )
                .expect("a valid block");
            }
        };
        // The stake above was bonded in epoch 0, so it earns from epoch 1
        // (ADR 0071): the measured blocks are epoch 1's.
        sign(&mut s, 2..150);
        // Connecting `block` at `height` to the state as it is, and the
        // entry writes.
        let mut connect = |name: &str, block: &Block, height: u64, s: &StakingState| {
            g.bench_function(format!("{name}/{validators}"), |b| {
                b.iter_batched(
                    || s.clone(),
                    |mut s| {
                        let undo = s
                            .apply_block_with(
                                block,
                                &txid,
                                height,
                                fees,
                                &spec,
                                Some(&set),
                                Some(&seats(height)),
                            )
                            .expect("a valid block");
                        let w = s.writes(&undo);
                        (s, w)
                    },
                    BatchSize::LargeInput,
                )
            });
        };
        connect(
            "block-signed-by-all",
            &signed_block(150, set.len()),
            150,
            &s,
        );
        sign(&mut s, 150..200);
        let boundary = signed_block(200, set.len());
        let paid = s
            .clone()
            .apply_block_with(
                &boundary,
                &txid,
                200,
                fees,
                &spec,
                Some(&set),
                Some(&seats(200)),
            )
            .expect("a valid block")
            .released
            .len();
        println!("{validators} validators: the boundary pays {paid} outputs");
        connect("boundary-payout", &boundary, 200, &s);
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
