//! `GET /staking/…`: the staking state after the tip (ADR 0031) — the
//! chain's parameters and totals, validators with their bonded power and
//! jail state, delegations by validator and by delegator, unbonding
//! entries, registered nodes, whether an address is a created account,
//! and the epoch with the validator sets in force and to come.
//!
//! Every route reads the state the chain store keeps after its tip (not
//! the mempool's pending view). On a chain whose spec has no `[staking]`
//! table each answers 404 `no-staking`. Validator and node ids are key
//! hashes (64 hex characters); a delegator is named by its address, whose
//! key hash is its id (a multisig address cannot act, so it has none).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use luminex_ledger::staking::{StakingParams, StakingState, ValidatorStake};
use luminex_ledger::validators::{ConsensusRecord, ValidatorSet};
use luminex_ledger::ChainSpec;
use luminex_primitives::{Amount, Hash, Lock, PublicKey};
use luminex_service::Node;
use serde::{Deserialize, Serialize};

use crate::consensus::{members, tip_record, ScheduledSetJson, SetMemberJson};
use crate::types::Problem;
use crate::{coins, limit, parse_address, parse_hash, path_param, query, ApiError, ApiResult};

/// `GET /staking`: the chain's staking parameters and totals.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StakingInfoJson {
    /// Height of the tip the figures are after.
    pub height: u64,
    /// The least own stake a validator may have bonded, base units.
    pub min_stake: u64,
    /// The same in coins.
    pub min_stake_coins: String,
    /// Blocks between an unstake or undelegation and the coins' release.
    pub unbonding_blocks: u64,
    /// Whether an address must be created (`create-account`) before it can
    /// receive coins.
    pub require_account_creation: bool,
    /// Coins bonded (own stake and delegations), base units.
    pub total_bonded: u64,
    /// The same in coins.
    pub total_bonded_coins: String,
    /// Coins in unbonding entries, base units.
    pub total_unbonding: u64,
    /// The same in coins.
    pub total_unbonding_coins: String,
    /// Validators with own stake bonded.
    pub validators_with_stake: usize,
    /// Jailed validators.
    pub jailed: usize,
    /// Delegations.
    pub delegations: usize,
    /// Unbonding entries.
    pub unbonding_entries: usize,
    /// Registered nodes.
    pub registered_nodes: usize,
    /// Created accounts (0 where accounts need no creation).
    pub accounts: usize,
}

/// A validator's stake, jail state, unbonding stake and seats in the
/// validator sets after the tip.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidatorJson {
    /// Its id: the key hash of its consensus key.
    pub id: String,
    /// The address of its consensus key; null when the node knows no key
    /// for the id (no stake bonded to it and in no set: it is known by
    /// its jail or its unbonding stake only).
    pub address: Option<String>,
    /// The key's signature scheme; null likewise.
    pub scheme: Option<String>,
    /// Own stake, base units.
    pub self_bond: u64,
    /// The same in coins.
    pub self_bond_coins: String,
    /// The sum of the delegations to it, base units.
    pub delegated: u64,
    /// The same in coins.
    pub delegated_coins: String,
    /// Voting power from stake: own plus delegated, base units.
    pub power: u64,
    /// The same in coins.
    pub power_coins: String,
    /// The part of `power` bonded for the whole current epoch (own and
    /// delegated), base units: what its share of the epoch's rewards is
    /// split by. Stake bonded during the epoch earns from the next.
    pub earning_power: u64,
    /// How many delegations it has.
    pub delegators: usize,
    /// Whether it is jailed (out of the validator set until it unjails).
    pub jailed: bool,
    /// The first height an `unjail` is accepted at (0 when not jailed).
    pub jailed_until: u64,
    /// Whether the jail is a slashing's (an `unjail` is refused while set).
    pub slashed: bool,
    /// Stake bonded to it that is unbonding (its own and its delegators'),
    /// still slashable, base units.
    pub unbonding: u64,
    /// The same in coins.
    pub unbonding_coins: String,
    /// Whether it sits in the set that finalizes the next block (false
    /// where the node keeps no consensus state).
    pub in_current_set: bool,
    /// Whether it sits in the set that finalizes the block after it.
    pub in_next_set: bool,
    /// Whether it sits in the set the last boundary elected, until that set
    /// takes over.
    pub in_scheduled_set: bool,
}

/// `GET /staking/validators`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidatorsJson {
    /// Height of the tip.
    pub height: u64,
    /// Every validator in the state, highest power first (ties by id).
    pub validators: Vec<ValidatorJson>,
}

/// One delegation.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DelegationJson {
    /// The validator's id.
    pub validator: String,
    /// The delegator's id (its key hash).
    pub delegator: String,
    /// Bonded, base units.
    pub amount: u64,
    /// The same in coins.
    pub amount_coins: String,
    /// The part of `amount` bonded for the whole current epoch, base
    /// units: what earns a share of the epoch's rewards. The rest was
    /// bonded during the epoch and earns from the next (a withdrawal
    /// takes the newest stake first).
    pub earning: u64,
}

/// A list of delegations.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DelegationsJson {
    /// Height of the tip.
    pub height: u64,
    /// The delegations, by validator then delegator id.
    pub delegations: Vec<DelegationJson>,
}

/// Stake on its way out.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnbondingJson {
    /// The end of the unbonding period: the height of the block that
    /// releases the coins unless the stake still backs a validator set
    /// then (see `held`).
    pub release_height: u64,
    /// Whether the entry is held past `release_height` because its stake
    /// still backs a validator set in force or elected then, of which its
    /// validator is a member (ADR 0069, ADR 0072): it stays unbonding, and
    /// slashable, until it backs none.
    pub held: bool,
    /// The height of the block expected to release the coins:
    /// `release_height`, or for a held entry the first height at which
    /// its stake backs no set if the coming elections seat one (an
    /// election that seats nobody keeps the set, and the entry, longer).
    pub expected_release_height: u64,
    /// The txid of the released output (the unbonding transaction's).
    pub txid: String,
    /// Its index: one past the unbonding transaction's last output.
    pub vout: u32,
    /// The validator the stake was bonded to.
    pub validator: String,
    /// Whose stake: the validator's id (an unstake) or a delegator's.
    pub owner: String,
    /// The coins after any slashing, base units.
    pub amount: u64,
    /// The same in coins.
    pub amount_coins: String,
    /// Who can spend them once released.
    pub payout: String,
}

/// `GET /staking/unbonding`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct UnbondingsJson {
    /// Height of the tip.
    pub height: u64,
    /// The entries, earliest release first.
    pub entries: Vec<UnbondingJson>,
    /// Entries left out by `limit`.
    pub more: usize,
}

/// A registered node.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodeJson {
    /// Its id: the key hash of its node key.
    pub id: String,
    /// The key's signature scheme.
    pub scheme: String,
    /// Where its share of fees is paid.
    pub payout: String,
    /// The height of the block that registered it.
    pub height: u64,
    /// The last epoch it sent a heartbeat in (ADR 0038), if any.
    pub last_heartbeat: Option<u64>,
}

/// `GET /staking/nodes`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NodesJson {
    /// Height of the tip.
    pub height: u64,
    /// Every registered node, by id.
    pub nodes: Vec<NodeJson>,
}

/// `GET /staking/accounts/{address}`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccountJson {
    /// The address.
    pub address: String,
    /// Whether this chain requires accounts to be created before they
    /// receive coins.
    pub required: bool,
    /// Whether the address is a created account (a genesis allocation or
    /// a `create-account`).
    pub created: bool,
    /// Whether a payment to it is accepted: created, or no creation needed.
    pub can_receive: bool,
}

/// The chain's staking parameters, or the 404 of a chain without them.
fn params(node: &Node) -> Result<&StakingParams, ApiError> {
    node.spec.staking.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no-staking",
            "this chain has no staking: its spec has no [staking] table",
        )
    })
}

/// A validator id from the path: 64 hex characters, else 400 `bad-validator`.
fn validator_id(p: Result<Path<String>, PathRejection>) -> Result<Hash, ApiError> {
    parse_hash(&path_param(p)?, "validator")
}

/// Who sits in the validator sets after the tip (BFT chains): the set
/// in force for the next block, the one for the block after it and the
/// one the last boundary elected, with their members' keys. Empty where
/// the node keeps no consensus state.
#[derive(Default)]
struct Seats {
    current: HashSet<Hash>,
    next: HashSet<Hash>,
    scheduled: HashSet<Hash>,
    keys: HashMap<Hash, PublicKey>,
}

impl Seats {
    /// The seats of the sets in `record`.
    fn of(record: &ConsensusRecord) -> Seats {
        let mut keys = HashMap::new();
        let mut ids = |set: &ValidatorSet| -> HashSet<Hash> {
            set.validators()
                .iter()
                .map(|v| {
                    let id = v.id();
                    keys.entry(id).or_insert_with(|| v.public_key.clone());
                    id
                })
                .collect()
        };
        let current = ids(&record.validators);
        let next = ids(&record.next_validators);
        let scheduled = record
            .scheduled
            .as_ref()
            .map_or_else(HashSet::new, |s| ids(&s.set));
        Seats {
            current,
            next,
            scheduled,
            keys,
        }
    }

    /// The seats after the tip at `height`, if the node keeps its
    /// consensus state.
    fn after(node: &Node, height: u64) -> Seats {
        node.chain
            .consensus_record(height)
            .ok()
            .flatten()
            .map_or_else(Seats::default, |r| Seats::of(&r))
    }

    /// Whether `id` sits in any of the sets.
    fn seated(&self, id: &Hash) -> bool {
        self.keys.contains_key(id)
    }
}

/// What the API shows of validator `id`: its stake record `v` (none once
/// it holds no stake), `unbonding` the stake bonded to it still unbonding
/// (base units), its jail and its seats.
fn validator_json(
    spec: &ChainSpec,
    state: &StakingState,
    id: &Hash,
    v: Option<&ValidatorStake>,
    unbonding: u64,
    seats: &Seats,
) -> ValidatorJson {
    let jail = state.jail(id);
    let key = v.map(|v| &v.public_key).or_else(|| seats.keys.get(id));
    let (self_bond, delegated) =
        v.map_or((Amount::ZERO, Amount::ZERO), |v| (v.self_bond, v.delegated));
    let power = v.map_or(0, ValidatorStake::power);
    ValidatorJson {
        id: id.to_string(),
        address: key.map(|k| spec.address(k.lock()).to_string()),
        scheme: key.map(|k| k.scheme.name().to_string()),
        self_bond: self_bond.base(),
        self_bond_coins: self_bond.to_string(),
        delegated: delegated.base(),
        delegated_coins: delegated.to_string(),
        power,
        power_coins: coins(power),
        earning_power: state.seasoned_power(id),
        delegators: state.delegations_of(id).count(),
        jailed: jail.is_some(),
        jailed_until: jail.map_or(0, |j| j.until),
        slashed: jail.is_some_and(|j| j.slashed),
        unbonding,
        unbonding_coins: coins(unbonding),
        in_current_set: seats.current.contains(id),
        in_next_set: seats.next.contains(id),
        in_scheduled_set: seats.scheduled.contains(id),
    }
}

/// Validator `id` as `GET /staking/validators/{id}` shows it, or `None`
/// when the node knows nothing of the id: no stake record (dropped once
/// it holds no stake), no seat in a set after the tip, no jail and no
/// unbonding stake. A validator that unstaked everything is still shown
/// while it sits in a set, or its stake is unbonding.
fn validator_view(
    spec: &ChainSpec,
    state: &StakingState,
    seats: &Seats,
    id: &Hash,
) -> Option<ValidatorJson> {
    let v = state.validator(id);
    let mut entries = state.unbonding_of(id).peekable();
    let unbonding_known = entries.peek().is_some();
    let unbonding = saturating(entries.map(|(_, e)| u128::from(e.amount.base())).sum());
    let known = v.is_some() || seats.seated(id) || state.jail(id).is_some() || unbonding_known;
    known.then(|| validator_json(spec, state, id, v, unbonding, seats))
}

fn delegation_json(
    state: &StakingState,
    validator: &Hash,
    delegator: &Hash,
    amount: Amount,
) -> DelegationJson {
    DelegationJson {
        validator: validator.to_string(),
        delegator: delegator.to_string(),
        amount: amount.base(),
        amount_coins: coins(amount.base()),
        earning: state.seasoned(validator, delegator, amount),
    }
}

fn saturating(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// `GET /staking`: parameters and totals.
#[utoipa::path(get, path = "/staking", tag = "staking",
    responses((status = 200, body = StakingInfoJson),
        (status = 404, description = "No staking on this chain (no-staking)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn info(State(node): State<Arc<Node>>) -> ApiResult<StakingInfoJson> {
    let p = params(&node)?;
    let height = node.chain.tip().height;
    Ok(Json(node.chain.with_staking(|s| {
        let bonded = saturating(s.total_bonded());
        let unbonding = saturating(s.total_unbonding());
        StakingInfoJson {
            height,
            min_stake: p.min_stake.base(),
            min_stake_coins: p.min_stake.to_string(),
            unbonding_blocks: p.unbonding_blocks,
            require_account_creation: p.require_account_creation,
            total_bonded: bonded,
            total_bonded_coins: coins(bonded),
            total_unbonding: unbonding,
            total_unbonding_coins: coins(unbonding),
            validators_with_stake: s
                .validators()
                .filter(|(_, v)| v.self_bond.base() > 0)
                .count(),
            jailed: s.jails().count(),
            delegations: s.delegations().count(),
            unbonding_entries: s.unbonding().count(),
            registered_nodes: s.nodes().count(),
            accounts: s.account_count(),
        }
    })))
}

/// `GET /staking/validators`: every validator, highest power first.
#[utoipa::path(get, path = "/staking/validators", tag = "staking",
    responses((status = 200, body = ValidatorsJson),
        (status = 404, description = "No staking on this chain (no-staking)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn validators(State(node): State<Arc<Node>>) -> ApiResult<ValidatorsJson> {
    params(&node)?;
    let height = node.chain.tip().height;
    let seats = Seats::after(&node, height);
    let mut validators = node.chain.with_staking(|s| {
        let mut unbonding: HashMap<Hash, u128> = HashMap::new();
        for (_, e) in s.unbonding() {
            *unbonding.entry(e.validator).or_default() += u128::from(e.amount.base());
        }
        s.validators()
            .map(|(id, v)| {
                let u = saturating(unbonding.get(id).copied().unwrap_or(0));
                validator_json(&node.spec, s, id, Some(v), u, &seats)
            })
            .collect::<Vec<_>>()
    });
    validators.sort_by(|a, b| b.power.cmp(&a.power).then_with(|| a.id.cmp(&b.id)));
    Ok(Json(ValidatorsJson { height, validators }))
}

/// `GET /staking/validators/{id}`: one validator — also one that holds no
/// stake any more while it sits in a validator set after the tip, is
/// jailed or has stake unbonding; 404 when the node knows nothing of it.
#[utoipa::path(get, path = "/staking/validators/{id}", tag = "staking",
    params(("id" = String, Path, description = "validator id: the key hash of its consensus key (64 hex characters)", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = ValidatorJson),
        (status = 400, description = "Not 64 hex characters (bad-validator)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No validator the node knows of: no stake, no seat in a set, no jail, nothing unbonding (not-found); or no staking on this chain (no-staking)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn validator(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<ValidatorJson> {
    params(&node)?;
    let id = validator_id(p)?;
    let seats = Seats::after(&node, node.chain.tip().height);
    node.chain
        .with_staking(|s| validator_view(&node.spec, s, &seats, &id))
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no validator {id}")))
}

/// `GET /staking/validators/{id}/delegations`: the delegations to a
/// validator (none for one without stake); 404 `not-found` for an id the
/// node knows nothing of, as `GET /staking/validators/{id}`.
#[utoipa::path(get, path = "/staking/validators/{id}/delegations", tag = "staking",
    params(("id" = String, Path, description = "validator id: the key hash of its consensus key (64 hex characters)", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = DelegationsJson),
        (status = 400, description = "Not 64 hex characters (bad-validator)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such validator (not-found), or no staking on this chain (no-staking)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn validator_delegations(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<DelegationsJson> {
    params(&node)?;
    let id = validator_id(p)?;
    let height = node.chain.tip().height;
    let seats = Seats::after(&node, height);
    let (known, delegations) = node.chain.with_staking(|s| {
        let delegations: Vec<DelegationJson> = s
            .delegations_of(&id)
            .map(|(d, a)| delegation_json(s, &id, d, *a))
            .collect();
        // Delegations keep a stake record: known whenever there are any.
        (
            validator_view(&node.spec, s, &seats, &id).is_some(),
            delegations,
        )
    });
    if !known {
        return Err(ApiError::not_found(format!("no validator {id}")));
    }
    Ok(Json(DelegationsJson {
        height,
        delegations,
    }))
}

/// `GET /staking/delegations/{address}`: the delegations an address's key
/// made.
#[utoipa::path(get, path = "/staking/delegations/{address}", tag = "staking",
    params(("address" = String, Path, description = "the delegator's bech32m address (a single-key address)")),
    responses((status = 200, body = DelegationsJson),
        (status = 400, description = "An address of the right shape whose checksum or payload is wrong (bad-address), or a multisig address, which cannot delegate (not-a-key-address)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No staking on this chain (no-staking)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn delegations_of(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<DelegationsJson> {
    params(&node)?;
    let addr = parse_address(&node, &path_param(p)?)?;
    let Lock::Key { key_hash, .. } = addr.lock else {
        return Err(ApiError::bad_request(
            "not-a-key-address",
            "a multisig address cannot delegate: name the delegator's single-key address",
        ));
    };
    let height = node.chain.tip().height;
    let delegations = node.chain.with_staking(|s| {
        s.delegations()
            .filter(|((_, d), _)| *d == key_hash)
            .map(|((v, d), a)| delegation_json(s, v, d, *a))
            .collect()
    });
    Ok(Json(DelegationsJson {
        height,
        delegations,
    }))
}

/// `GET /staking/unbonding`: unbonding entries, earliest release height
/// first; an entry held past it while its stake backs a validator set
/// (ADR 0069) says so, with the release expected.
#[utoipa::path(get, path = "/staking/unbonding", tag = "staking",
    params(("limit" = Option<u32>, Query, description = "most entries listed (default 1000)", minimum = 1, maximum = 100000)),
    responses((status = 200, body = UnbondingsJson),
        (status = 400, description = "Malformed query (bad-query, bad-limit)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No staking on this chain (no-staking)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn unbonding(
    State(node): State<Arc<Node>>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<UnbondingsJson> {
    let p = params(&node)?;
    let q = query(q)?;
    let n = limit(&q, 1000, 100_000)?;
    let height = node.chain.tip().height;
    // The sets known after the tip: which entries they hold (ADR 0072).
    let record = node.chain.consensus_record(height)?;
    let seats = record.as_ref().map(luminex_ledger::staking::Seats::of);
    let (entries, total) = node.chain.with_staking(|s| {
        let entries: Vec<UnbondingJson> = s
            .unbonding()
            .take(n)
            .map(|(k, e)| {
                let expected = s.expected_release(k, &e.validator, p, height + 1, seats.as_ref());
                UnbondingJson {
                    release_height: k.release_height,
                    held: expected != k.release_height,
                    expected_release_height: expected,
                    txid: k.outpoint.txid.to_string(),
                    vout: k.outpoint.vout,
                    validator: e.validator.to_string(),
                    owner: e.owner.to_string(),
                    amount: e.amount.base(),
                    amount_coins: e.amount.to_string(),
                    payout: node.spec.address(e.payout).to_string(),
                }
            })
            .collect();
        (entries, s.unbonding().count())
    });
    Ok(Json(UnbondingsJson {
        height,
        more: total - entries.len(),
        entries,
    }))
}

/// `GET /staking/nodes`: registered nodes.
#[utoipa::path(get, path = "/staking/nodes", tag = "staking",
    responses((status = 200, body = NodesJson),
        (status = 404, description = "No staking on this chain (no-staking)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn nodes(State(node): State<Arc<Node>>) -> ApiResult<NodesJson> {
    params(&node)?;
    let height = node.chain.tip().height;
    let nodes = node.chain.with_staking(|s| {
        s.nodes()
            .map(|(id, n)| NodeJson {
                id: id.to_string(),
                scheme: n.public_key.scheme.name().to_string(),
                payout: node.spec.address(n.payout).to_string(),
                height: n.height,
                last_heartbeat: s.last_heartbeat(id),
            })
            .collect()
    });
    Ok(Json(NodesJson { height, nodes }))
}

/// `GET /staking/accounts/{address}`: whether an address may receive coins
/// (the account-creation rule).
#[utoipa::path(get, path = "/staking/accounts/{address}", tag = "staking",
    params(("address" = String, Path, description = "bech32m address of this chain")),
    responses((status = 200, body = AccountJson),
        (status = 400, description = "An address of the right shape whose checksum or payload is wrong (bad-address)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No staking on this chain (no-staking)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn account(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<AccountJson> {
    let required = params(&node)?.require_account_creation;
    let addr = parse_address(&node, &path_param(p)?)?;
    let created = node.chain.with_staking(|s| s.is_account(&addr.lock));
    Ok(Json(AccountJson {
        address: addr.to_string(),
        required,
        created,
        can_receive: created || !required,
    }))
}

/// `GET /staking/epoch`: where the chain is in its epoch and the validator
/// sets in force and to come (ADR 0033, ADR 0034).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EpochJson {
    /// Height of the tip.
    pub height: u64,
    /// Blocks per epoch.
    pub epoch_blocks: u64,
    /// The epoch of the next block (blocks `1..=epoch_blocks` are epoch 0).
    pub epoch: u64,
    /// The next epoch boundary: the height whose block elects a set.
    pub next_boundary: u64,
    /// How the next set is chosen: `stake` (the top validators by bonded
    /// stake) or `committee` (drawn from the registered nodes).
    pub election: String,
    /// Seats of an election (validators by stake, or committee members).
    pub seats: u32,
    /// The set that finalizes the next block, by id.
    pub current: Vec<SetMemberJson>,
    /// The set that finalizes the block after it.
    pub next: Vec<SetMemberJson>,
    /// The set the last boundary elected, until it takes over.
    pub scheduled: Option<ScheduledSetJson>,
}

/// `GET /staking/epoch`: the epoch and the validator sets.
#[utoipa::path(get, path = "/staking/epoch", tag = "staking",
    responses((status = 200, body = EpochJson),
        (status = 404, description = "No staking on this chain (no-staking)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The consensus state after the tip cannot be read (no-consensus-state)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn epoch(State(node): State<Arc<Node>>) -> ApiResult<EpochJson> {
    let p = params(&node)?;
    let (height, record) = tip_record(&node)?;
    let l = p.epoch_blocks.max(1);
    Ok(Json(EpochJson {
        height,
        epoch_blocks: l,
        epoch: luminex_ledger::staking::epoch_of(height + 1, l),
        next_boundary: (height / l + 1) * l,
        election: if p.committee_size.is_some() {
            "committee"
        } else {
            "stake"
        }
        .into(),
        seats: p.committee_size.unwrap_or(p.max_validators),
        current: members(&node, &record.validators),
        next: members(&node, &record.next_validators),
        scheduled: record.scheduled.as_ref().map(|s| ScheduledSetJson {
            effective_height: s.effective_height,
            validators: members(&node, &s.set),
        }),
    }))
}

#[cfg(test)]
mod tests {
    use luminex_ledger::staking::StakingUndo;

    use super::*;

    /// A validator of the set whose stake is all gone (its record dropped)
    /// is still shown while it sits in a set, with zero stake and its
    /// seats; out of every set, it is shown while jailed (without a key);
    /// an id the node knows nothing of is not.
    #[test]
    fn a_validator_without_stake_is_shown_while_it_sits_in_a_set() {
        let spec = ChainSpec::preset("nextgen").unwrap();
        let record = spec.bft_genesis().unwrap();
        let seats = Seats::of(&record);
        let member = record.validators.validators()[0].clone();
        let id = member.id();
        let mut state = StakingState::genesis(&spec);
        let shown = validator_view(&spec, &state, &seats, &id).unwrap();
        assert_eq!(
            shown.self_bond,
            spec.staking.as_ref().unwrap().min_stake.base()
        );
        // All its stake gone (a whole slash drops the record, as a full
        // unstake does).
        let mut undo = StakingUndo::default();
        state.slash(&id, 1, 1, &mut undo).unwrap();
        assert!(state.validator(&id).is_none());
        let v = validator_view(&spec, &state, &seats, &id).expect("still in the set");
        assert_eq!(
            (v.self_bond, v.delegated, v.power, v.unbonding),
            (0, 0, 0, 0)
        );
        assert_eq!(
            (v.in_current_set, v.in_next_set, v.in_scheduled_set),
            (true, true, false)
        );
        assert_eq!(
            v.address,
            Some(spec.address(member.public_key.lock()).to_string())
        );
        assert_eq!(v.scheme.as_deref(), Some(member.public_key.scheme.name()));
        assert!(!v.jailed);
        // Out of every set and holding nothing: unknown; jailed: shown.
        let empty = Seats::default();
        assert!(validator_view(&spec, &state, &empty, &id).is_none());
        state.jail_validator(id, 50, true, &mut undo);
        let v = validator_view(&spec, &state, &empty, &id).expect("jailed");
        assert!(v.jailed && v.slashed && !v.in_current_set);
        assert_eq!((v.address, v.scheme), (None, None));
        // An id nobody ever used.
        assert!(validator_view(&spec, &state, &seats, &Hash([7; 32])).is_none());
    }
}
