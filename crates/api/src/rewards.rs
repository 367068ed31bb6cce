//! `GET /staking/rewards`: who earns the chain's fees (ADR 0038) — the
//! spec's reward rule and commission, the epoch, the reward pot waiting for
//! the next boundary, the burned total, and the payout the boundary block
//! would make if the state stayed as it is after the tip (the same plan the
//! ledger pays: [`luminex_ledger::staking::StakingState::reward_plan`]).
//!
//! On a chain whose spec has no `[staking]` table it answers 404
//! `no-staking`, like the other staking routes.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use luminex_ledger::staking::{epoch_of, Recipient, RewardBasis};
use luminex_service::Node;
use serde::{Deserialize, Serialize};

use crate::{coins, limit, query, ApiError, ApiResult};

/// One share of the coming payout.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RewardShareJson {
    /// `validator` (commission plus the share of its own stake),
    /// `delegator` or `node` (a live registered node's equal share).
    pub kind: String,
    /// The validator's, delegator's or node's id (key hash).
    pub id: String,
    /// For a delegator, the validator it delegated to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator: Option<String>,
    /// The address the share is paid to.
    pub address: String,
    /// Base units.
    pub amount: u64,
    /// The same in coins.
    pub amount_coins: String,
}

/// What a validator has signed in the epoch so far (ADR 0068).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SignedWorkJson {
    /// The validator's id (key hash).
    pub id: String,
    /// Where its reward is paid.
    pub address: String,
    /// The power with which it signed the epoch's commits, summed over
    /// them (a decimal string: it may exceed 2^64).
    pub signed_power: String,
}

/// `GET /staking/rewards`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RewardsJson {
    /// Height of the tip the figures are after.
    pub height: u64,
    /// The spec's rule: `proposer`, `stake_weighted` or
    /// `equal_registered_nodes`.
    pub rule: String,
    /// A validator's commission under `stake_weighted`, basis points.
    pub commission_bps: u16,
    /// Blocks per epoch.
    pub epoch_blocks: u64,
    /// The epoch of the next block.
    pub epoch: u64,
    /// The height of the block that pays the pot out (the epoch's last).
    pub payout_height: u64,
    /// Coins in the pot now, base units.
    pub pot: u64,
    /// The same in coins.
    pub pot_coins: String,
    /// Coins burned so far (slashed stake a spec destroys), base units.
    pub burned: u64,
    /// Registered nodes live in the epoch (a heartbeat in it).
    pub live_nodes: usize,
    /// Whom `stake_weighted` and `proposer` pay: `signed` (chains with
    /// commit certificates: by the power each validator signed the epoch's
    /// commits with, ADR 0068) or `elected` (the others: those an election
    /// by stake seats at the payout, by power).
    pub basis: String,
    /// Under `signed`, each validator's work in the epoch so far, by id.
    pub signed: Vec<SignedWorkJson>,
    /// The payout if the state stayed as it is, in payout order.
    pub shares: Vec<RewardShareJson>,
    /// Shares left out by `limit`.
    pub more: usize,
    /// What the pot would keep for the next epoch, base units.
    pub carried: u64,
}

/// `GET /staking/rewards`: the reward rule, the pot and the coming payout.
#[utoipa::path(get, path = "/staking/rewards", tag = "staking",
    params(("limit" = Option<u32>, Query, description = "most shares listed (default 1000)", minimum = 1, maximum = 100000)),
    responses((status = 200, body = RewardsJson),
        (status = 400, description = "Malformed query (bad-query, bad-limit)", body = crate::types::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No staking on this chain (no-staking)", body = crate::types::Problem, content_type = "application/problem+json")))]
pub(crate) async fn rewards(
    State(node): State<Arc<Node>>,
    q: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> ApiResult<RewardsJson> {
    let p = node.spec.staking.as_ref().ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "no-staking",
            "this chain has no staking: its spec has no [staking] table",
        )
    })?;
    let q = query(q)?;
    let n = limit(&q, 1000, 100_000)?;
    let height = node.chain.tip().height;
    let epoch = epoch_of(height + 1, p.epoch_blocks);
    // Chains with certificates (a consensus record) pay by what was signed
    // in the epoch so far (ADR 0068).
    let basis = match node.chain.consensus_record(height)? {
        Some(_) => RewardBasis::Signed,
        None => RewardBasis::Elected,
    };
    let (plan, pot, burned, live_nodes, signed) = node.chain.with_staking(|s| {
        (
            s.reward_plan(p, epoch, &node.spec, basis),
            s.pot(),
            s.burned(),
            s.live_nodes(epoch).count(),
            s.work()
                .map(|(id, w)| SignedWorkJson {
                    id: id.to_string(),
                    address: node.spec.address(w.lock).to_string(),
                    signed_power: w.signed_power.to_string(),
                })
                .collect::<Vec<_>>(),
        )
    });
    let total = plan.shares.len();
    let shares: Vec<RewardShareJson> = plan
        .shares
        .iter()
        .take(n)
        .map(|s| {
            let (kind, id, validator) = match s.recipient {
                Recipient::Validator(v) => ("validator", v, None),
                Recipient::Delegator {
                    validator,
                    delegator,
                } => ("delegator", delegator, Some(validator.to_string())),
                Recipient::Node(id) => ("node", id, None),
            };
            RewardShareJson {
                kind: kind.to_string(),
                id: id.to_string(),
                validator,
                address: node.spec.address(s.lock).to_string(),
                amount: s.amount.base(),
                amount_coins: s.amount.to_string(),
            }
        })
        .collect();
    Ok(Json(RewardsJson {
        height,
        rule: p.rewards.name().to_string(),
        commission_bps: p.commission_bps,
        epoch_blocks: p.epoch_blocks,
        epoch,
        payout_height: (epoch + 1).saturating_mul(p.epoch_blocks),
        pot: pot.base(),
        pot_coins: coins(pot.base()),
        burned: burned.base(),
        live_nodes,
        basis: match basis {
            RewardBasis::Signed => "signed",
            RewardBasis::Elected => "elected",
        }
        .to_string(),
        signed,
        more: total - shares.len(),
        shares,
        carried: plan.carried.base(),
    }))
}
