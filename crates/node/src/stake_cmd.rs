//! `luminex wallet stake | unstake | delegate | undelegate | register-node |
//! unjail | create-account | heartbeat`: the staking transactions of ADR
//! 0031 and the heartbeat of ADR 0038, paid
//! from the wallet's coins (bonded amount plus fee, change back to the
//! wallet) and broadcast through the node's REST API.
//!
//! Each kind but `create-account` carries one witness more than it has
//! inputs, the acting key's signature over the same message as the inputs':
//! the validator key (`--validator-key`, the file `chain authority keygen`
//! writes and `node --validator-key` reads) for `stake`, `unstake` and
//! `unjail`; the node key (`--node-key`, same format) for `register-node`
//! and `heartbeat`;
//! the wallet's first receive key for `delegate` and `undelegate`, whose key
//! hash is then the delegator's id.
//!
//! Arguments are checked against the node's staking state before anything
//! is signed (a chain without staking, a malformed or unknown validator id,
//! a stake below the minimum); the node checks everything again.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};
use luminex_api::rewards::RewardsJson;
use luminex_api::staking::{DelegationsJson, NodesJson, StakingInfoJson, ValidatorJson};

use luminex_crypto::SigningKey;
use luminex_ledger::ChainSpec;
use luminex_primitives::{
    AccountCreation, Amount, Delegation, Encode, Hash, Heartbeat, Lock, NodeRegistration, OutPoint,
    Stake, Transaction, TxKind, TxOut, Unbond, Unjail, Witness,
};
use luminex_wallet::Wallet;

use crate::client::{Client, ClientError};

/// Options every staking command takes.
#[derive(Debug, Clone, Args)]
pub struct SendOptions {
    /// Fee rate in base units per byte (default: the chain's minimum; at
    /// most 1,000,000).
    #[arg(long)]
    pub fee_rate: Option<u64>,
    /// The most the transaction may pay in fees, in coins: a larger fee is
    /// refused, not paid.
    #[arg(long, default_value = crate::wallet_cmd::broadcast::DEFAULT_MAX_FEE)]
    pub max_fee: Amount,
    /// Wait until the transaction is in a block.
    #[arg(long)]
    pub wait: bool,
}

/// The staking subcommands of `luminex wallet`.
#[derive(Debug, Subcommand)]
pub enum StakingCommand {
    /// Bond coins of this wallet as a validator's own stake (the validator
    /// key signs too: proof that it is held).
    Stake {
        /// The validator's key file.
        #[arg(long)]
        validator_key: PathBuf,
        /// Coins to bond, e.g. 1000.
        #[arg(long, value_parser = crate::wallet_cmd::broadcast::positive_amount)]
        amount: Amount,
        #[command(flatten)]
        /// Fee rate and waiting.
        send: SendOptions,
    },
    /// Start unbonding a validator's own stake; the coins come back after
    /// the chain's unbonding period.
    Unstake {
        /// The validator's key file.
        #[arg(long)]
        validator_key: PathBuf,
        /// Coins to unbond.
        #[arg(long, value_parser = crate::wallet_cmd::broadcast::positive_amount)]
        amount: Amount,
        /// Who receives the coins when released (default: this wallet's
        /// first address).
        #[arg(long)]
        payout: Option<String>,
        #[command(flatten)]
        /// Fee rate and waiting.
        send: SendOptions,
    },
    /// Bond coins to a validator as this wallet's delegation.
    Delegate {
        /// The validator's id (64 hex characters, `GET /staking/validators`).
        #[arg(long)]
        validator: String,
        /// Coins to delegate.
        #[arg(long, value_parser = crate::wallet_cmd::broadcast::positive_amount)]
        amount: Amount,
        #[command(flatten)]
        /// Fee rate and waiting.
        send: SendOptions,
    },
    /// Start unbonding a delegation of this wallet.
    Undelegate {
        /// The validator's id.
        #[arg(long)]
        validator: String,
        /// Coins to unbond.
        #[arg(long, value_parser = crate::wallet_cmd::broadcast::positive_amount)]
        amount: Amount,
        /// Who receives the coins when released (default: this wallet's
        /// first address).
        #[arg(long)]
        payout: Option<String>,
        #[command(flatten)]
        /// Fee rate and waiting.
        send: SendOptions,
    },
    /// Register a node key (committee draws, fee sharing).
    RegisterNode {
        /// The node's key file.
        #[arg(long)]
        node_key: PathBuf,
        /// Where its share of fees is paid (default: this wallet's first
        /// address).
        #[arg(long)]
        payout: Option<String>,
        #[command(flatten)]
        /// Fee rate and waiting.
        send: SendOptions,
    },
    /// Take a jailed validator back into the running for the set.
    Unjail {
        /// The validator's key file.
        #[arg(long)]
        validator_key: PathBuf,
        #[command(flatten)]
        /// Fee rate and waiting.
        send: SendOptions,
    },
    /// Create an account, so that it can receive coins (chains requiring
    /// account creation).
    CreateAccount {
        /// The address to create.
        #[arg(long)]
        address: String,
        #[command(flatten)]
        /// Fee rate and waiting.
        send: SendOptions,
    },
    /// Say a registered node is live in the current epoch (one per node and
    /// epoch; the `equal_registered_nodes` rule pays live nodes only).
    Heartbeat {
        /// The node's key file.
        #[arg(long)]
        node_key: PathBuf,
        #[command(flatten)]
        /// Fee rate and waiting.
        send: SendOptions,
    },
}

/// Why a staking command refused its arguments before signing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StakingArgError {
    /// The node's chain has no `[staking]` table.
    #[error("this chain has no staking (its spec has no [staking] table)")]
    NoStaking,
    /// A validator id that is not 64 hex characters.
    #[error("--validator must be a validator id of 64 hex characters, not {0:?}")]
    BadValidatorId(String),
    /// No validator with own stake has this id.
    #[error("unknown validator {0}: it has no own stake bonded (see `GET /staking/validators`)")]
    UnknownValidator(Hash),
    /// The stake would leave the validator's own stake below the minimum.
    #[error("own stake would be {bond}, below the chain's minimum {min}")]
    BelowMinimum {
        /// Own stake after the transaction.
        bond: Amount,
        /// The chain's minimum.
        min: Amount,
    },
    /// Unbonding more than is bonded.
    #[error("unbonding {requested}, only {bonded} bonded")]
    ExceedsBond {
        /// Asked for.
        requested: Amount,
        /// Bonded.
        bonded: Amount,
    },
    /// Undelegating more than the wallet's first key delegated.
    #[error("unbonding {requested}, only {delegated} delegated to {validator} by this wallet's first address (the delegator of `delegate`)")]
    ExceedsDelegation {
        /// Asked for.
        requested: Amount,
        /// Delegated.
        delegated: Amount,
        /// The validator.
        validator: Hash,
    },
    /// Registering a node key without the chain's minimum stake of its own
    /// (ADR 0063).
    #[error("node {node} has {bonded} of its own stake bonded, below the chain's minimum {min}: bond it first (`luminex wallet stake --validator-key <the node key> --amount {min}`; a stake still waiting for a block counts once it is in one)")]
    NodeNotStaked {
        /// The node's id.
        node: Hash,
        /// Its own stake.
        bonded: Amount,
        /// The chain's minimum.
        min: Amount,
    },
    /// A heartbeat for a node key that is not registered.
    #[error("node {0} is not registered (see `GET /staking/nodes`; `luminex wallet register-node` first)")]
    UnregisteredNode(Hash),
    /// The node already sent its heartbeat for the current epoch.
    #[error("node {node} already sent a heartbeat in epoch {epoch}")]
    AlreadyLive {
        /// The node's id.
        node: Hash,
        /// The current epoch.
        epoch: u64,
    },
    /// Covering the bonded amount and the fee takes more coins than one
    /// transaction may spend.
    #[error("this needs more coins than one transaction can spend: {inputs} coins already make {size} bytes, over the chain's limit of {max} bytes: first send smaller amounts to yourself to merge coins")]
    TooLarge {
        /// Coins taken when the size passed the limit.
        inputs: usize,
        /// The transaction's size then (at least).
        size: usize,
        /// The chain's `max_tx_bytes`.
        max: usize,
    },
    /// The wallet's coins do not cover the bonded amount and the fee.
    #[error("the wallet holds {available}, {needed} needed (bonded amount and fee)")]
    InsufficientFunds {
        /// Spendable coins of the wallet.
        available: Amount,
        /// Bonded amount plus fee.
        needed: Amount,
    },
}

/// Builds and signs a staking transaction of `kind`: coins of `keys` taken
/// largest first until they cover the bonded amount and the fee at
/// `fee_rate` (sized with every witness, the actor's included), change to
/// `change`, each input signed by its key, then `actor`'s witness.
pub fn build_staking_tx(
    spec: &ChainSpec,
    keys: &HashMap<Lock, &SigningKey>,
    coins: &[(OutPoint, TxOut)],
    kind: TxKind,
    change: Lock,
    fee_rate: u64,
    actor: Option<&SigningKey>,
) -> Result<Transaction, StakingArgError> {
    let bonded = kind.bonded();
    let mut sorted: Vec<&(OutPoint, TxOut)> = coins
        .iter()
        .filter(|(_, o)| keys.contains_key(&o.lock))
        .collect();
    sorted.sort_by(|a, b| b.1.amount.cmp(&a.1.amount).then(a.0.cmp(&b.0)));
    let available = Amount::sum(sorted.iter().map(|(_, o)| o.amount)).unwrap_or(Amount::MAX);
    let change = luminex_wallet::change_on(spec, change, sorted.first().map(|(_, o)| o.lock));
    let mut tx = Transaction {
        version: 1,
        chain_id: spec.chain_id,
        kind,
        inputs: vec![],
        outputs: vec![TxOut {
            amount: Amount::MAX,
            lock: change,
        }],
        expiry_height: 0,
        witnesses: vec![],
        data: Vec::new(),
    };
    let placeholder =
        |lock: &Lock| Witness::placeholder(lock.scheme().unwrap_or(spec.default_scheme));
    let exact = |chosen: &[&(OutPoint, TxOut)]| {
        let mut probe = tx.clone();
        probe.inputs = chosen.iter().map(|c| c.0).collect();
        probe.witnesses = chosen.iter().map(|c| placeholder(&c.1.lock)).collect();
        if let Some(a) = actor {
            probe
                .witnesses
                .push(Witness::placeholder(a.public_key().scheme));
        }
        probe.encoded_len()
    };
    let chosen = luminex_wallet::select::largest_first(
        &sorted,
        bonded,
        fee_rate,
        spec.max_tx_bytes,
        &|o| placeholder(&o.lock).encoded_len(),
        &exact,
    )
    .map_err(|e| match e {
        luminex_wallet::select::SelectError::Insufficient { available, needed } => {
            StakingArgError::InsufficientFunds { available, needed }
        }
        luminex_wallet::select::SelectError::TooLarge { inputs, size, max } => {
            StakingArgError::TooLarge { inputs, size, max }
        }
        luminex_wallet::select::SelectError::Amount => StakingArgError::InsufficientFunds {
            available,
            needed: Amount::MAX,
        },
    })?;
    tx.inputs = chosen.coins.iter().map(|c| c.0).collect();
    let spent: Vec<TxOut> = chosen.coins.iter().map(|c| c.1).collect();
    let needed = bonded.checked_add(chosen.fee).unwrap_or(Amount::MAX);
    let rest = chosen.total.checked_sub(needed).unwrap_or(Amount::ZERO);
    if rest == Amount::ZERO {
        tx.outputs.clear();
    } else {
        tx.outputs[0].amount = rest;
    }
    let msg = tx
        .signature_message(&spec.genesis_hash(), &spent)
        .expect("one spent output per input");
    let mut sigs = HashMap::new();
    tx.witnesses = spent
        .iter()
        .map(|o| {
            let key = keys[&o.lock];
            let signature = sigs.entry(o.lock).or_insert_with(|| key.sign(&msg)).clone();
            Witness::Key {
                public_key: key.public_key().clone(),
                signature,
            }
        })
        .collect();
    if let Some(a) = actor {
        tx.witnesses.push(Witness::Key {
            public_key: a.public_key().clone(),
            signature: a.sign(&msg),
        });
    }
    Ok(tx)
}

/// The node's staking parameters, or [`StakingArgError::NoStaking`].
async fn staking_info(client: &Client) -> anyhow::Result<StakingInfoJson> {
    match client.get("/staking").await {
        Ok(i) => Ok(i),
        Err(ClientError::Problem(p)) if p.status == 404 => Err(StakingArgError::NoStaking.into()),
        Err(e) => Err(e.into()),
    }
}

/// A validator's record, `None` if the node has none.
async fn validator(client: &Client, id: &Hash) -> anyhow::Result<Option<ValidatorJson>> {
    match client.get(&format!("/staking/validators/{id}")).await {
        Ok(v) => Ok(Some(v)),
        Err(ClientError::Problem(p)) if p.status == 404 && p.code == "not-found" => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn parse_validator_id(s: &str) -> Result<Hash, StakingArgError> {
    let t = s.trim();
    if t.len() != 64 {
        return Err(StakingArgError::BadValidatorId(s.to_string()));
    }
    t.parse()
        .map_err(|_| StakingArgError::BadValidatorId(s.to_string()))
}

fn amount(base: u64) -> Amount {
    Amount::from_base(base).unwrap_or(Amount::MAX)
}

/// Runs a staking subcommand for the wallet at `path`.
pub async fn run(
    spec: &ChainSpec,
    client: &Client,
    path: &std::path::Path,
    passphrase: &str,
    cmd: StakingCommand,
    lock: &mut Option<luminex_wallet::lock::WalletLock>,
) -> anyhow::Result<()> {
    let info = staking_info(client).await?;
    let min = amount(info.min_stake);
    let mut w = Wallet::load(path, spec, passphrase)?;
    let first = w
        .keys()
        .first()
        .cloned()
        .context("the wallet has no keys")?;
    let mut coins: Vec<(OutPoint, TxOut)> = Vec::new();
    for (key, a) in w.all_keys() {
        coins.extend(crate::wallet_cmd::coins_at(client, a, key.public_key().lock()).await?);
    }
    // Unbonded coins go to the first address by default — on a chain where
    // only created accounts receive, to the address of the wallet's largest
    // coin instead (it exists; the first address may never have been
    // created).
    let largest = coins
        .iter()
        .max_by(|a, b| a.1.amount.cmp(&b.1.amount).then(b.0.cmp(&a.0)))
        .map(|(_, o)| o.lock);
    let default_payout = luminex_wallet::change_on(spec, first.public_key().lock(), largest);
    let payout_lock = |payout: &Option<String>| -> anyhow::Result<Lock> {
        match payout {
            Some(a) => Ok(spec.parse_address(a).context("--payout")?.lock),
            None => Ok(default_payout),
        }
    };
    let read_key = |p: &PathBuf| crate::consensus::read_validator_key(p, spec);
    let (kind, actor, send) = match cmd {
        StakingCommand::Stake {
            validator_key,
            amount: a,
            send,
        } => {
            let key = read_key(&validator_key)?;
            let id = key.public_key().key_hash();
            let own = validator(client, &id)
                .await?
                .map_or(Amount::ZERO, |v| amount(v.self_bond));
            let bond = own.checked_add(a).unwrap_or(Amount::MAX);
            if bond < min {
                return Err(StakingArgError::BelowMinimum { bond, min }.into());
            }
            let kind = TxKind::Stake(Stake {
                validator: key.public_key().clone(),
                amount: a,
            });
            (kind, Some(key), send)
        }
        StakingCommand::Unstake {
            validator_key,
            amount: a,
            payout,
            send,
        } => {
            let key = read_key(&validator_key)?;
            let id = key.public_key().key_hash();
            let bonded = validator(client, &id)
                .await?
                .map_or(Amount::ZERO, |v| amount(v.self_bond));
            if a > bonded {
                return Err(StakingArgError::ExceedsBond {
                    requested: a,
                    bonded,
                }
                .into());
            }
            let left = bonded.checked_sub(a).unwrap_or(Amount::ZERO);
            if left > Amount::ZERO && left < min {
                return Err(StakingArgError::BelowMinimum { bond: left, min }.into());
            }
            let kind = TxKind::Unstake(Unbond {
                validator: id,
                amount: a,
                payout: payout_lock(&payout)?,
            });
            (kind, Some(key), send)
        }
        StakingCommand::Delegate {
            validator: v,
            amount: a,
            send,
        } => {
            let id = parse_validator_id(&v)?;
            let record = match validator(client, &id).await? {
                Some(v) if v.self_bond > 0 => v,
                _ => return Err(StakingArgError::UnknownValidator(id).into()),
            };
            // Allowed, but the stake earns nothing while the validator
            // cannot be elected (ADR 0066), and can still be slashed.
            let min = staking_info(client).await?.min_stake;
            if record.slashed {
                eprintln!("warning: validator {id} is jailed after a double sign and cannot be unjailed: it is not elected, and this delegation earns nothing while that lasts");
            } else if record.jailed {
                eprintln!(
                    "warning: validator {id} is jailed until height {}: the delegation earns nothing until it is unjailed",
                    record.jailed_until
                );
            } else if record.self_bond < min {
                eprintln!("warning: validator {id}'s own stake is below the chain's minimum: it is not elected, and the delegation earns nothing until it stakes more");
            }
            let kind = TxKind::Delegate(Delegation {
                validator: id,
                amount: a,
            });
            (kind, Some(first.clone()), send)
        }
        StakingCommand::Undelegate {
            validator: v,
            amount: a,
            payout,
            send,
        } => {
            let id = parse_validator_id(&v)?;
            // The delegator is the wallet's first key: what it delegated to
            // `id`, so that more is refused before anything is signed.
            let address = spec.address(first.public_key().lock());
            let mine: DelegationsJson = client
                .get(&format!("/staking/delegations/{address}"))
                .await?;
            let delegated = mine
                .delegations
                .iter()
                .find(|d| d.validator == id.to_string())
                .map_or(Amount::ZERO, |d| amount(d.amount));
            if a > delegated {
                return Err(StakingArgError::ExceedsDelegation {
                    requested: a,
                    delegated,
                    validator: id,
                }
                .into());
            }
            let kind = TxKind::Undelegate(Unbond {
                validator: id,
                amount: a,
                payout: payout_lock(&payout)?,
            });
            (kind, Some(first.clone()), send)
        }
        StakingCommand::RegisterNode {
            node_key,
            payout,
            send,
        } => {
            let key = read_key(&node_key)?;
            let id = key.public_key().key_hash();
            let bonded = validator(client, &id)
                .await?
                .map_or(Amount::ZERO, |v| amount(v.self_bond));
            if bonded < min {
                return Err(StakingArgError::NodeNotStaked {
                    node: id,
                    bonded,
                    min,
                }
                .into());
            }
            let kind = TxKind::RegisterNode(NodeRegistration {
                node: key.public_key().clone(),
                payout: payout_lock(&payout)?,
            });
            (kind, Some(key), send)
        }
        StakingCommand::Unjail {
            validator_key,
            send,
        } => {
            let key = read_key(&validator_key)?;
            let kind = TxKind::Unjail(Unjail {
                validator: key.public_key().key_hash(),
            });
            (kind, Some(key), send)
        }
        StakingCommand::CreateAccount { address, send } => {
            let lock = spec.parse_address(&address).context("--address")?.lock;
            (TxKind::CreateAccount(AccountCreation { lock }), None, send)
        }
        StakingCommand::Heartbeat { node_key, send } => {
            let key = read_key(&node_key)?;
            let id = key.public_key().key_hash();
            let nodes: NodesJson = client.get("/staking/nodes").await?;
            let Some(node) = nodes.nodes.iter().find(|n| n.id == id.to_string()) else {
                return Err(StakingArgError::UnregisteredNode(id).into());
            };
            let rewards: RewardsJson = client.get("/staking/rewards").await?;
            let epoch = rewards.epoch;
            if node.last_heartbeat == Some(epoch) {
                return Err(StakingArgError::AlreadyLive { node: id, epoch }.into());
            }
            (
                TxKind::Heartbeat(Heartbeat { node: id, epoch }),
                Some(key),
                send,
            )
        }
    };
    let fee_rate = send.fee_rate.unwrap_or(spec.min_fee_rate);
    if fee_rate > luminex_wallet::MAX_FEE_RATE {
        return Err(luminex_wallet::WalletError::FeeRateTooHigh(fee_rate).into());
    }
    let change = w.next_change(spec);
    let keys: HashMap<Lock, &SigningKey> = w
        .keys()
        .iter()
        .chain(w.change_keys())
        .map(|k| (k.public_key().lock(), k))
        .collect();
    let tx = build_staking_tx(spec, &keys, &coins, kind, change, fee_rate, actor.as_ref())?;
    let fee = crate::wallet_cmd::broadcast::fee_paid(&tx, &coins)
        .context("the transaction spends coins it was not given")?;
    let out = crate::wallet_cmd::broadcast::Outgoing {
        tx: &tx,
        fee,
        change,
        max_fee: send.max_fee,
    };
    let txid = crate::wallet_cmd::broadcast::broadcast(client, spec, &mut w, path, out).await?;
    println!("{txid}");
    if send.wait {
        // The wallet file is written: other commands may use it meanwhile.
        *lock = None;
        crate::wallet_cmd::broadcast::wait_confirmed(client, &txid).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_ledger::staking::{StakingParams, StakingState, StakingUndo};
    use luminex_ledger::testkit::{lock_of, TestChain};
    use luminex_primitives::SchemeId;

    #[test]
    fn built_staking_transactions_pay_their_fee_and_apply() {
        let mut spec = ChainSpec::preset("dev").unwrap();
        spec.staking = Some(StakingParams::new(Amount::from_base(1_000_000).unwrap(), 2));
        let mut chain = TestChain::new(spec.clone());
        chain.mine(vec![]).unwrap();
        let payer = chain.keys[0].clone();
        let v = SigningKey::from_seed(SchemeId::MlDsa65, &[9; 32]);
        let coins: Vec<(OutPoint, TxOut)> = chain
            .coins_of(&lock_of(&payer))
            .into_iter()
            .map(|(op, c)| (op, c.output))
            .collect();
        let keys: HashMap<Lock, &SigningKey> = [(lock_of(&payer), &payer)].into();
        let kind = TxKind::Stake(Stake {
            validator: v.public_key().clone(),
            amount: Amount::from_base(2_000_000).unwrap(),
        });
        let tx =
            build_staking_tx(&spec, &keys, &coins, kind, lock_of(&payer), 1, Some(&v)).unwrap();
        assert_eq!(tx.witnesses.len(), tx.inputs.len() + 1);
        // Valid in a block: tiers, signatures, fee; then the staking state.
        let block = chain.mine(vec![tx.clone()]).unwrap();
        let mut state = StakingState::genesis(&spec);
        let mut undo = StakingUndo::default();
        state
            .apply_tx(&tx, &tx.txid(), chain.height(), &spec, &mut undo)
            .unwrap();
        assert_eq!(state.bonded_power(&v.public_key().key_hash()), 2_000_000);
        assert_eq!(block.txs.len(), 2);
        // Too little money is a typed refusal.
        let all = Amount::sum(coins.iter().map(|(_, o)| o.amount)).unwrap();
        let kind = TxKind::Stake(Stake {
            validator: v.public_key().clone(),
            amount: all,
        });
        assert!(matches!(
            build_staking_tx(&spec, &keys, &coins, kind, lock_of(&payer), 1, Some(&v)),
            Err(StakingArgError::InsufficientFunds { .. })
        ));
        assert!(matches!(
            parse_validator_id("abc"),
            Err(StakingArgError::BadValidatorId(_))
        ));
    }

    /// `wallet register-node` then `wallet heartbeat`: both signed by the
    /// node key after the inputs, valid in blocks and applied to the state.
    #[test]
    fn built_heartbeats_apply() {
        let mut spec = ChainSpec::preset("dev").unwrap();
        spec.staking = Some(StakingParams::new(Amount::from_base(1_000_000).unwrap(), 2));
        let mut chain = TestChain::new(spec.clone());
        let payer = chain.keys[0].clone();
        let n = SigningKey::from_seed(SchemeId::MlDsa44, &[8; 32]);
        let keys: HashMap<Lock, &SigningKey> = [(lock_of(&payer), &payer)].into();
        let mut state = StakingState::genesis(&spec);
        let mut undo = StakingUndo::default();
        let kinds = [
            // A registration needs the node key's own stake (ADR 0063).
            TxKind::Stake(Stake {
                validator: n.public_key().clone(),
                amount: Amount::from_base(1_000_000).unwrap(),
            }),
            TxKind::RegisterNode(NodeRegistration {
                node: n.public_key().clone(),
                payout: n.public_key().lock(),
            }),
            TxKind::Heartbeat(Heartbeat {
                node: n.public_key().key_hash(),
                epoch: 0,
            }),
        ];
        for kind in kinds {
            let coins: Vec<(OutPoint, TxOut)> = chain
                .coins_of(&lock_of(&payer))
                .into_iter()
                .map(|(op, c)| (op, c.output))
                .collect();
            let tx =
                build_staking_tx(&spec, &keys, &coins, kind, lock_of(&payer), 1, Some(&n)).unwrap();
            chain.mine(vec![tx.clone()]).unwrap();
            state
                .apply_tx(&tx, &tx.txid(), chain.height(), &spec, &mut undo)
                .unwrap();
        }
        assert_eq!(state.last_heartbeat(&n.public_key().key_hash()), Some(0));
    }
}
