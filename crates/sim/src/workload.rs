//! The simulation's workload: transfers spending the genesis coins,
//! admitted to a node's mempool as a client's submission would be.

use luminex_crypto::SigningKey;
use luminex_ledger::spec::ChainSpec;
use luminex_ledger::staking::StakingParams;
use luminex_ledger::{testkit, Coin};
use luminex_primitives::staking::{NodeRegistration, Stake};
use luminex_primitives::{Amount, Block, OutPoint, Transaction, TxKind, TxOut};

use crate::{node, StakingRun, JOIN_STAKE, MIN_STAKE};

/// Admits `tx` to a live node's mempool.
pub(crate) fn submit(
    live: &mut node::Live,
    tx: Transaction,
    spec: &ChainSpec,
) -> Result<(), String> {
    struct View<'a>(&'a luminex_storage::ChainStore);
    impl luminex_ledger::UtxoView for View<'_> {
        fn coin(&self, op: &OutPoint) -> Option<Coin> {
            self.0.coin(op).ok().flatten()
        }
    }
    let c = luminex_mempool::Candidate::new(tx, spec).map_err(|e| e.to_string())?;
    let view = View(&live.chain);
    let height = live.chain.tip().height + 1;
    let check = live
        .mempool
        .check(&c, &view, height)
        .map_err(|e| e.to_string())?;
    c.verify(&check, &live.cache, &live.chain.genesis_hash())
        .map_err(|e| e.to_string())?;
    live.mempool
        .insert(c, &view, height)
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Up to `n` signed transfers spending the genesis allocations (held by
/// the development keys), half to the next key, the rest back as change.
pub(crate) fn transfers(spec: &ChainSpec, genesis: &Block, n: usize) -> Vec<Transaction> {
    let keys = testkit::dev_keys(spec);
    let cb = &genesis.txs[0];
    let txid = cb.txid();
    let mut out = Vec::new();
    for (index, output) in cb.outputs.iter().enumerate() {
        if out.len() >= n {
            break;
        }
        let Some(k) = keys
            .iter()
            .position(|k| k.public_key().lock() == output.lock)
        else {
            continue;
        };
        let key = &keys[k];
        let to = keys[(k + 1) % keys.len()].public_key().lock();
        let coin = Coin {
            output: *output,
            height: 0,
            is_coinbase: true,
        };
        let half = Amount::from_base(output.amount.base() / 2).expect("in range");
        let op = OutPoint {
            txid,
            vout: index as u32,
        };
        let mut tx = testkit::transfer(
            spec,
            key,
            &[(op, coin)],
            vec![TxOut {
                amount: half,
                lock: to,
            }],
        );
        let spent: Vec<TxOut> = vec![*output];
        testkit::sign_all(spec, &mut tx, key, &spent);
        out.push(tx);
    }
    out
}

/// The `[staking]` table of a simulated staking chain: the preset's
/// (`base`), with the run's epochs, seats and committee, a minimum stake of
/// [`MIN_STAKE`] and an unbonding period of 5 blocks.
pub(crate) fn staking_params(base: Option<&StakingParams>, run: &StakingRun) -> StakingParams {
    let mut p = base
        .cloned()
        .unwrap_or_else(|| StakingParams::new(Amount::ZERO, 5));
    p.min_stake = Amount::from_base(MIN_STAKE).expect("in range");
    p.unbonding_blocks = 5;
    p.epoch_blocks = run.epoch_blocks;
    p.max_validators = run.max_validators;
    p.committee_size = run.committee_size;
    p
}

/// How one joining node's key in `keys` joins, paid from its own genesis
/// allocation: a bond of [`JOIN_STAKE`] to the key — and on a committee
/// chain a registration of it as a node after the bond (ADR 0063: a
/// registration needs the minimum stake of its own), paid by the bond's
/// change. Each join comes with the key that paid it (its change is that
/// key's).
pub(crate) fn joins(
    spec: &ChainSpec,
    genesis: &Block,
    keys: &[SigningKey],
    register: bool,
) -> Vec<(Vec<Transaction>, SigningKey)> {
    let payers = testkit::dev_keys(spec);
    let cb = &genesis.txs[0];
    let txid = cb.txid();
    keys.iter()
        .zip(cb.outputs.iter().enumerate())
        .filter_map(|(key, (index, output))| {
            let payer = payers
                .iter()
                .find(|k| k.public_key().lock() == output.lock)?;
            let coin = Coin {
                output: *output,
                height: 0,
                is_coinbase: true,
            };
            let op = OutPoint {
                txid,
                vout: index as u32,
            };
            let bond = TxKind::Stake(Stake {
                validator: key.public_key().clone(),
                amount: Amount::from_base(JOIN_STAKE).expect("in range"),
            });
            let bond = testkit::staking_tx(spec, payer, &[(op, coin)], bond, Some(key));
            let mut txs = vec![bond];
            if register {
                let change = (
                    OutPoint {
                        txid: txs[0].txid(),
                        vout: 0,
                    },
                    Coin {
                        output: *txs[0].outputs.first()?,
                        height: 0,
                        is_coinbase: false,
                    },
                );
                let kind = TxKind::RegisterNode(NodeRegistration {
                    node: key.public_key().clone(),
                    payout: key.public_key().lock(),
                });
                txs.push(testkit::staking_tx(spec, payer, &[change], kind, Some(key)));
            }
            Some((txs, payer.clone()))
        })
        .collect()
}
