//! The clients of a staking run: for each joining node, the wallet that
//! bonds its stake or registers it, and on a chain that pays registered
//! nodes for their heartbeats (ADR 0038) sends one heartbeat per epoch.
//!
//! A client acts when its node commits a block after which the next block
//! is in a new epoch: its node's chain is then the client's view. A join
//! that is not in the chain yet (refused while the genesis coins were
//! immature, say) is submitted again; once the node is registered, a
//! heartbeat naming the new epoch is built and submitted. Heartbeats are
//! paid from the coin the registration's payer got back as change, and each
//! one's change pays the next: when a heartbeat missed its epoch (the pools
//! drop it when the epoch ends), the coin it spent is still unspent and
//! pays the next one.
//!
//! Submissions go to the validators that decide the next block (only their
//! pools matter: the simulation has no transaction gossip) and are retried
//! a little later by a validator whose own chain has not reached the
//! heartbeat's epoch yet.

use std::collections::BTreeMap;

use luminex_crypto::SigningKey;
use luminex_ledger::spec::ChainSpec;
use luminex_ledger::staking::{epoch_of, RewardRule};
use luminex_ledger::testkit;
use luminex_primitives::staking::Heartbeat;
use luminex_primitives::{Amount, Hash, OutPoint, Transaction, TxKind, Witness};

use crate::node::SimNode;

/// The wallet behind one joining node.
pub(crate) struct Client {
    /// Who paid the join, and pays the heartbeats.
    payer: SigningKey,
    /// The join transactions, in order (indexes into the run's
    /// transactions): a bond, then on a committee chain the registration.
    join: Vec<usize>,
    /// A registration (a committee chain) rather than a bond.
    register: bool,
    /// Whether it sends heartbeats.
    heartbeats: bool,
    /// The coin that pays the next heartbeat, unless `change` exists.
    coin: OutPoint,
    /// The change of the last heartbeat sent: pays the next one once
    /// that heartbeat is in the chain.
    change: Option<OutPoint>,
    /// The last epoch it acted in.
    acted: Option<u64>,
}

impl Client {
    /// The client of a node that joins with the transactions at `indexes`
    /// in the run's transactions, the last of them `last`, paid by `payer`.
    pub(crate) fn new(
        payer: SigningKey,
        last: &Transaction,
        indexes: Vec<usize>,
        register: bool,
        heartbeats: bool,
    ) -> Client {
        Client {
            payer,
            join: indexes,
            register,
            heartbeats,
            // The join's change: the only output of its last transaction.
            coin: OutPoint {
                txid: last.txid(),
                vout: 0,
            },
            change: None,
            acted: None,
        }
    }
}

/// What a client wants submitted after its node committed a block.
pub(crate) enum Action {
    /// Submit again the join transactions of these indexes, in order.
    Resubmit(Vec<usize>),
    /// Submit this new transaction (a heartbeat).
    Submit(Transaction),
}

/// What client `client` of node `node` (index `index`) does after `node`
/// committed the block at `height`: nothing unless the next block opens an
/// epoch it has not acted in.
pub(crate) fn act(
    client: &mut Client,
    index: usize,
    node: &SimNode,
    height: u64,
    spec: &ChainSpec,
) -> Option<Action> {
    let params = spec.staking.as_ref()?;
    let epoch = epoch_of(height + 1, params.epoch_blocks);
    if client.acted.is_some_and(|e| e >= epoch) {
        return None;
    }
    client.acted = Some(epoch);
    let live = node.live.as_ref()?;
    let key = node.key.public_key();
    let id = key.key_hash();
    let joined = live.chain.with_staking(|s| {
        if client.register {
            s.node(&id).is_some()
        } else {
            s.validator(&id).is_some()
        }
    });
    if !joined {
        return Some(Action::Resubmit(client.join.clone()));
    }
    if !(client.register && client.heartbeats) || params.rewards != RewardRule::EqualRegisteredNodes
    {
        return None;
    }
    // The last heartbeat's fate is settled: the chain holds every block of
    // the epoch it named.
    if let Some(change) = client.change.take() {
        if live.chain.coin(&change).ok().flatten().is_some() {
            client.coin = change;
        }
    }
    let coin = live.chain.coin(&client.coin).ok().flatten()?;
    let mut tx = testkit::staking_tx(
        spec,
        &client.payer,
        &[(client.coin, coin)],
        TxKind::Heartbeat(Heartbeat { node: id, epoch }),
        Some(&node.key),
    );
    // A fee above the minimum that differs by node and epoch, as users'
    // fees do: the pot then differs from epoch to epoch, and so does what
    // its division leaves.
    let tip = (index as u64 * 7_919 + epoch * 104_729) % 5_000;
    let change = tx.outputs.first_mut()?;
    change.amount = change.amount.checked_sub(Amount::from_base(tip)?).ok()?;
    let spent = [coin.output];
    testkit::sign_all(spec, &mut tx, &client.payer, &spent);
    let msg = tx.signature_message(&spec.genesis_hash(), &spent)?;
    tx.witnesses.push(Witness::Key {
        public_key: key.clone(),
        signature: node.key.sign(&msg),
    });
    client.change = Some(OutPoint {
        txid: tx.txid(),
        vout: 0,
    });
    Some(Action::Submit(tx))
}

/// The nodes (indexes) of the validators that decide the block after
/// `height` on `node`'s chain.
pub(crate) fn deciders(node: &SimNode, height: u64, index: &BTreeMap<Hash, usize>) -> Vec<usize> {
    let Some(live) = node.live.as_ref() else {
        return Vec::new();
    };
    match live.chain.consensus_record(height) {
        Ok(Some(record)) => record
            .validators
            .validators()
            .iter()
            .filter_map(|v| index.get(&v.id()).copied())
            .collect(),
        _ => Vec::new(),
    }
}

/// The epoch a heartbeat names.
pub(crate) fn heartbeat_epoch(tx: &Transaction) -> Option<u64> {
    match &tx.kind {
        TxKind::Heartbeat(h) => Some(h.epoch),
        _ => None,
    }
}
