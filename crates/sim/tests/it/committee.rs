//! The `sidechain` design in the simulated network (ADR 0033, ADR 0038):
//! 30 nodes register, a committee of 10 is drawn from them each epoch, and
//! each epoch's fees are shared equally by the registered nodes that sent a
//! heartbeat in it. One run serves both tests (it takes minutes in a debug
//! build).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::OnceLock;

use luminex_primitives::{Hash, Lock, OutPoint, TxKind};
use luminex_sim::{simulate_run, Behaviour, Config, Outcome, Run, StakingRun};

/// Blocks per epoch.
const L: u64 = 5;
/// Nodes 0–3 are the genesis validators; 4–33 register.
const NODES: usize = 34;
/// Registered nodes that never send a heartbeat.
const WITHOUT_HEARTBEATS: [usize; 3] = [7, 19, 30];

/// The run both tests check.
fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let cfg = Config {
            transfers: 0,
            blocks_after_heal: 200,
            staking: Some(StakingRun {
                preset: "sidechain",
                epoch_blocks: L,
                max_validators: 100,
                committee_size: Some(10),
                joiners: 30,
                without_heartbeats: WITHOUT_HEARTBEATS.to_vec(),
            }),
            ..super::quiet(vec![Behaviour::Honest; NODES])
        };
        let run = simulate_run(5, &cfg, |_| {});
        assert!(
            matches!(run.report.outcome, Outcome::Live { .. }),
            "{:?}",
            run.report.outcome
        );
        run
    })
}

/// 30 nodes register at the start and a committee of 10 is drawn from
/// them at every epoch boundary (ADR 0033). Every set change falls where an
/// election takes effect; once enough nodes are registered each committee
/// has 10 members, all registered nodes, and consecutive committees differ.
/// Every node computes the same committee: blocks commit to their consensus
/// state, so a node that drew another would refuse them, which the
/// simulation reports as a violation. Nodes that send no heartbeat are
/// left out once enough others do.
#[test]
fn a_committee_of_ten_is_drawn_from_thirty_registered_nodes_each_epoch() {
    let sets = &run().report.validator_sets;
    // (height the set first finalizes, the set)
    let mut committees: Vec<(u64, &BTreeSet<usize>)> = Vec::new();
    for (i, w) in sets.windows(2).enumerate() {
        if w[0] != w[1] {
            let height = i as u64 + 2;
            assert_eq!((height - 1) % L, 0, "a set change at height {height}");
            committees.push((height, &w[1]));
        }
    }
    for (_, c) in &committees {
        assert!(
            c.iter().all(|i| *i >= 4),
            "a committee of registered nodes: {c:?}"
        );
    }
    let first_full = committees
        .iter()
        .position(|(_, c)| c.len() == 10)
        .expect("a committee of ten");
    let full = &committees[first_full..];
    assert!(full.len() >= 5, "{} full committees", full.len());
    // From then on a fresh committee of ten every epoch: a change at every
    // height an election takes effect (a draw that repeats the committee
    // before it has odds of one in 30-choose-10, about 3e-8).
    for w in full.windows(2) {
        assert_eq!(
            w[1].0 - w[0].0,
            L,
            "no fresh committee between {} and {}",
            w[0].0,
            w[1].0
        );
        assert_eq!(w[1].1.len(), 10);
    }
    // Live nodes are drawn first (ADR 0074): the registered nodes that
    // never send a heartbeat sit only in seats the live ones leave, and
    // once the others have sent theirs there are none.
    for (h, c) in &full[full.len() - 5..] {
        assert!(
            WITHOUT_HEARTBEATS.iter().all(|i| !c.contains(i)),
            "a node without heartbeats sits in the committee of {h}: {c:?}"
        );
    }
}

/// What one epoch boundary must pay, worked out from the blocks alone.
#[derive(Debug)]
struct Expected {
    /// The pot before the payout: what was carried plus the epoch's fees.
    pot: u128,
    /// Registered nodes with a heartbeat in the epoch.
    live: usize,
    /// Payout address → amount.
    shares: BTreeMap<Lock, u64>,
}

/// Replays the money of the chain from its transactions — not with the
/// ledger's reward code: every transaction's fee is what its inputs (looked
/// up in the outputs of earlier transactions) hold beyond its outputs and
/// the coins it bonds; each block adds its subsidy and fees, less what its
/// coinbase claims, to the pot; the registered nodes (`register-node`) with
/// a `heartbeat` in an epoch's blocks are its live nodes, and the epoch's
/// last block pays each ⌊pot / live⌋, the rest staying in the pot
/// (ADR 0038's remainder rule).
fn expected_payouts(run: &Run) -> (BTreeMap<u64, Expected>, BTreeMap<Hash, Lock>) {
    let mut coins: HashMap<OutPoint, u64> = HashMap::new();
    let mut registered: BTreeMap<Hash, Lock> = BTreeMap::new();
    let mut live: BTreeSet<Hash> = BTreeSet::new();
    let mut pot: u128 = 0;
    let mut expected = BTreeMap::new();
    for (height, block) in run.blocks.iter().enumerate() {
        let height = height as u64;
        let mut fees: u128 = 0;
        for (i, tx) in block.txs.iter().enumerate() {
            let txid = tx.txid();
            if i > 0 {
                let inputs: u128 = tx
                    .inputs
                    .iter()
                    .map(|op| u128::from(*coins.get(op).expect("an input the chain created")))
                    .sum();
                let outputs: u128 = tx.outputs.iter().map(|o| u128::from(o.amount.base())).sum();
                fees += inputs - outputs - u128::from(tx.kind.bonded().base());
            }
            for (vout, o) in tx.outputs.iter().enumerate() {
                let op = OutPoint {
                    txid,
                    vout: vout as u32,
                };
                coins.insert(op, o.amount.base());
            }
            match &tx.kind {
                TxKind::RegisterNode(n) => {
                    registered.insert(n.node.key_hash(), n.payout);
                }
                TxKind::Heartbeat(h) => {
                    assert_eq!(h.epoch, (height - 1) / L, "a heartbeat of another epoch");
                    assert!(
                        registered.contains_key(&h.node),
                        "an unregistered heartbeat"
                    );
                    assert!(live.insert(h.node), "two heartbeats of a node in an epoch");
                }
                _ => {}
            }
        }
        if height == 0 {
            continue;
        }
        let coinbase = &block.txs[0];
        let claimed: u128 = coinbase
            .outputs
            .iter()
            .map(|o| u128::from(o.amount.base()))
            .sum();
        pot += u128::from(run.spec.subsidy(height).base()) + fees - claimed;
        if height.is_multiple_of(L) {
            let n = live.len();
            let each = if n == 0 { 0 } else { pot / n as u128 };
            let mut shares = BTreeMap::new();
            if each > 0 {
                let txid = coinbase.txid();
                for (k, id) in live.iter().enumerate() {
                    let lock = registered[id];
                    let amount = u64::try_from(each).expect("in range");
                    assert!(shares.insert(lock, amount).is_none(), "one payout address");
                    // The paid coins, in case a later transaction spends them.
                    let vout = (coinbase.outputs.len() + k) as u32;
                    coins.insert(OutPoint { txid, vout }, amount);
                }
            }
            expected.insert(
                height,
                Expected {
                    pot,
                    live: n,
                    shares,
                },
            );
            pot -= each * n as u128;
            live.clear();
        }
    }
    (expected, registered)
}

/// The `sidechain` rewards (ADR 0038): each of the 30 registered nodes but
/// three sends a heartbeat in every epoch, paying its fee; every node
/// connects, at every epoch's last block, exactly the payouts the blocks
/// call for — each registered node with a heartbeat in the epoch gets
/// ⌊pot / live⌋ of the epoch's pot (its fees plus what the epoch before
/// carried), to the base unit, and nobody else anything. The three without
/// heartbeats are registered and never paid. The supply invariant holds
/// after every block on every node (the simulation checks it at each
/// commit: the run would end in a violation).
#[test]
fn live_registered_nodes_share_each_epochs_fees_equally() {
    let run = run();
    let (expected, registered) = expected_payouts(run);
    assert_eq!(registered.len(), 30, "every joiner registered");
    let id = |i: usize| {
        luminex_crypto::SigningKey::from_seed(
            run.spec.default_scheme,
            &luminex_ledger::ChainSpec::dev_validator_seed(i as u32),
        )
        .public_key()
        .key_hash()
    };
    let idle: BTreeSet<Lock> = WITHOUT_HEARTBEATS
        .iter()
        .map(|i| *registered.get(&id(*i)).expect("registered"))
        .collect();
    // Epochs that paid (nearly) every node that sends heartbeats.
    let full = expected
        .values()
        .filter(|e| e.live >= 25 && !e.shares.is_empty())
        .count();
    assert!(
        full >= 10,
        "{full} epochs paid 25 or more live nodes: {expected:#?}"
    );
    let mut ever_paid: BTreeSet<Lock> = BTreeSet::new();
    for (node, payouts) in run.payouts.iter().enumerate() {
        // Every boundary the node connected, from the first.
        let boundaries: Vec<u64> = payouts.keys().copied().collect();
        let all: Vec<u64> = (1..=boundaries.len() as u64).map(|k| k * L).collect();
        assert_eq!(boundaries, all, "node {node}");
        assert!(
            boundaries.len() >= 30,
            "node {node}: {} epochs",
            boundaries.len()
        );
        for (height, paid) in payouts {
            let e = expected.get(height).expect("a boundary of the blocks");
            let got: BTreeMap<Lock, u64> = paid.iter().map(|o| (o.lock, o.amount.base())).collect();
            assert_eq!(
                got.len(),
                paid.len(),
                "node {node} at {height}: one payout each"
            );
            assert_eq!(
                got, e.shares,
                "node {node} at {height}: pot {} live {}",
                e.pot, e.live
            );
            assert!(
                got.keys().all(|l| !idle.contains(l)),
                "node {node} at {height}"
            );
            ever_paid.extend(got.keys());
        }
    }
    // Each of the 27 that send heartbeats was paid in some epoch.
    assert_eq!(ever_paid.len(), 27, "{ever_paid:?}");
}

/// The draw at the first boundary finds no registered node yet and seats
/// nobody, so the chain keeps its genesis set: every node records that
/// boundary, and only it, as unseated (ADR 0069) — the slashing rules
/// need it to know which election seated the set in force — and the set
/// first changes where the second boundary's draw takes over.
#[test]
fn a_draw_that_seats_nobody_is_recorded_by_every_node() {
    let run = run();
    for (i, s) in run.states.iter().enumerate() {
        let s = s.as_ref().unwrap_or_else(|| panic!("node {i} is up"));
        assert_eq!(
            s.unseated().copied().collect::<Vec<_>>(),
            vec![L],
            "node {i}"
        );
    }
    let sets = &run.report.validator_sets;
    let first_change = sets
        .windows(2)
        .position(|w| w[0] != w[1])
        .map(|i| i as u64 + 2)
        .expect("a set change");
    assert_eq!(first_change, 2 * L + L + 1);
}
