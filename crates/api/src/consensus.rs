//! `GET /consensus/validators`: the validator sets of a BFT chain after its
//! tip — the set that finalizes the next block, the one after it, the
//! authority changes still to take effect (`poa`, ADR 0025) and, on staking
//! chains, the set the last epoch boundary elected (ADR 0033). Every BFT
//! chain answers it, authority chains included; `GET /staking/epoch` adds
//! the epoch arithmetic on staking chains.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use luminex_ledger::spec::ConsensusKind;
use luminex_ledger::validators::{ConsensusRecord, ValidatorSet};
use luminex_service::Node;
use serde::{Deserialize, Serialize};

use crate::types::Problem;
use crate::{ApiError, ApiResult};

/// A member of a validator set.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SetMemberJson {
    /// Its id: the key hash of its consensus key.
    pub id: String,
    /// The address of its consensus key.
    pub address: String,
    /// Voting power (bonded stake in base units on staking chains; 1 per
    /// authority or committee member).
    pub power: u64,
}

/// A whole validator set scheduled by an election.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduledSetJson {
    /// The first height it finalizes.
    pub effective_height: u64,
    /// Its members, by id.
    pub validators: Vec<SetMemberJson>,
}

/// One validator's change still to take effect (an authority change).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PendingChangeJson {
    /// The first height the changed set finalizes.
    pub effective_height: u64,
    /// The validator added, re-weighted or removed.
    pub id: String,
    /// The address of its consensus key.
    pub address: String,
    /// Its voting power from then on; 0 removes it.
    pub power: u64,
}

/// `GET /consensus/validators`: the sets in force and to come.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ValidatorSetsJson {
    /// Height of the tip the sets follow.
    pub height: u64,
    /// The set that finalizes block `height + 1`.
    pub current: Vec<SetMemberJson>,
    /// Total voting power of `current`; a certificate needs more than two
    /// thirds of it.
    pub current_power: u64,
    /// The set that finalizes block `height + 2`.
    pub next: Vec<SetMemberJson>,
    /// Changes for later heights, in the order they take effect.
    pub pending: Vec<PendingChangeJson>,
    /// On staking chains: the set the last epoch boundary elected, until it
    /// takes over.
    pub scheduled: Option<ScheduledSetJson>,
}

/// The members of `set`, in the set's order.
pub(crate) fn members(node: &Node, set: &ValidatorSet) -> Vec<SetMemberJson> {
    set.validators()
        .iter()
        .map(|v| SetMemberJson {
            id: v.id().to_string(),
            address: node.spec.address(v.public_key.lock()).to_string(),
            power: v.power,
        })
        .collect()
}

/// The tip's height and the consensus state after it, or 503
/// `no-consensus-state`.
pub(crate) fn tip_record(node: &Node) -> Result<(u64, ConsensusRecord), ApiError> {
    let height = node.chain.tip().height;
    let record = node
        .chain
        .consensus_record(height)
        .ok()
        .flatten()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "no-consensus-state",
                "the consensus state after the tip cannot be read",
            )
        })?;
    Ok((height, record))
}

/// `GET /consensus/validators`: the validator sets after the tip.
#[utoipa::path(get, path = "/consensus/validators", tag = "consensus",
    responses((status = 200, body = ValidatorSetsJson),
        (status = 404, description = "Not a BFT chain: no validator set (no-validators)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The consensus state after the tip cannot be read (no-consensus-state)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn validators(State(node): State<Arc<Node>>) -> ApiResult<ValidatorSetsJson> {
    if node.spec.consensus != ConsensusKind::Bft {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "no-validators",
            format!(
                "chain {} has no validator set: its consensus is {}",
                node.spec.name,
                node.spec.consensus.name()
            ),
        ));
    }
    let (height, record) = tip_record(&node)?;
    let pending = record
        .pending
        .iter()
        .map(|c| PendingChangeJson {
            effective_height: c.effective_height,
            id: c.validator.id().to_string(),
            address: node.spec.address(c.validator.public_key.lock()).to_string(),
            power: c.validator.power,
        })
        .collect();
    Ok(Json(ValidatorSetsJson {
        height,
        current: members(&node, &record.validators),
        current_power: record.validators.total_power(),
        next: members(&node, &record.next_validators),
        pending,
        scheduled: record.scheduled.as_ref().map(|s| ScheduledSetJson {
            effective_height: s.effective_height,
            validators: members(&node, &s.set),
        }),
    }))
}
