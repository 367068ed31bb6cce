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

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use luminex_ledger::staking::{StakingParams, StakingState, ValidatorStake};
use luminex_primitives::{Amount, Hash, Lock};
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

/// A validator's stake and jail state.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidatorJson {
    /// Its id: the key hash of its consensus key.
    pub id: String,
    /// The address of its consensus key.
    pub address: String,
    /// The key's signature scheme.
    pub scheme: String,
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
    /// still backs a validator set in force or elected then (ADR 0069):
    /// it stays unbonding, and slashable, until it backs none.
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

fn validator_json(
    node: &Node,
    state: &StakingState,
    id: &Hash,
    v: &ValidatorStake,
) -> ValidatorJson {
    let jail = state.jail(id);
    ValidatorJson {
        id: id.to_string(),
        address: node.spec.address(v.public_key.lock()).to_string(),
        scheme: v.public_key.scheme.name().to_string(),
        self_bond: v.self_bond.base(),
        self_bond_coins: v.self_bond.to_string(),
        delegated: v.delegated.base(),
        delegated_coins: v.delegated.to_string(),
        power: v.power(),
        power_coins: coins(v.power()),
        earning_power: state.seasoned_power(id),
        delegators: state.delegations_of(id).count(),
        jailed: jail.is_some(),
        jailed_until: jail.map_or(0, |j| j.until),
        slashed: jail.is_some_and(|j| j.slashed),
    }
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
    let mut validators = node.chain.with_staking(|s| {
        s.validators()
            .map(|(id, v)| validator_json(&node, s, id, v))
            .collect::<Vec<_>>()
    });
    validators.sort_by(|a, b| b.power.cmp(&a.power).then_with(|| a.id.cmp(&b.id)));
    Ok(Json(ValidatorsJson { height, validators }))
}

/// `GET /staking/validators/{id}`: one validator.
#[utoipa::path(get, path = "/staking/validators/{id}", tag = "staking",
    params(("id" = String, Path, description = "validator id: the key hash of its consensus key (64 hex characters)", pattern = "^[0-9a-fA-F]{64}$")),
    responses((status = 200, body = ValidatorJson),
        (status = 400, description = "Not 64 hex characters (bad-validator)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such validator (not-found), or no staking on this chain (no-staking)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn validator(
    State(node): State<Arc<Node>>,
    p: Result<Path<String>, PathRejection>,
) -> ApiResult<ValidatorJson> {
    params(&node)?;
    let id = validator_id(p)?;
    node.chain
        .with_staking(|s| s.validator(&id).map(|v| validator_json(&node, s, &id, v)))
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no validator {id}")))
}

/// `GET /staking/validators/{id}/delegations`: the delegations to a
/// validator; 404 `not-found` for an id with neither a stake record nor
/// delegations (as `GET /staking/validators/{id}`).
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
    let (known, delegations) = node.chain.with_staking(|s| {
        let delegations: Vec<DelegationJson> = s
            .delegations_of(&id)
            .map(|(d, a)| delegation_json(s, &id, d, *a))
            .collect();
        (
            s.validator(&id).is_some() || !delegations.is_empty(),
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
    let (entries, total) = node.chain.with_staking(|s| {
        let entries: Vec<UnbondingJson> = s
            .unbonding()
            .take(n)
            .map(|(k, e)| {
                let expected = s.expected_release(k, p, height + 1);
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
