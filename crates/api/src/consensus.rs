//! `GET /consensus/validators`: the validator sets of a BFT chain after its
//! tip — the set that finalizes the next block, the one after it, the
//! authority changes still to take effect (`poa`, ADR 0025) and, on staking
//! chains, the set the last epoch boundary elected (ADR 0033). Every BFT
//! chain answers it, authority chains included; `GET /staking/epoch` adds
//! the epoch arithmetic on staking chains.
//!
//! `GET /consensus/state`: where this node's consensus task stands in the
//! height it decides — the round, its step and proposer, each validator's
//! prevote and precommit, and who has not been heard from at the height
//! (CometBFT's `dump_consensus_state`, for finding why a chain halted).

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

/// 404 `no-validators` on a chain that is not BFT: it has no `what`.
fn bft_only(node: &Node, what: &str) -> Result<(), ApiError> {
    if node.spec.consensus == ConsensusKind::Bft {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::NOT_FOUND,
        "no-validators",
        format!(
            "chain {} has {what}: its consensus is {}",
            node.spec.name,
            node.spec.consensus.name()
        ),
    ))
}

/// `GET /consensus/validators`: the validator sets after the tip.
#[utoipa::path(get, path = "/consensus/validators", tag = "consensus",
    responses((status = 200, body = ValidatorSetsJson),
        (status = 404, description = "Not a BFT chain: no validator set (no-validators)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The consensus state after the tip cannot be read (no-consensus-state)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn validators(State(node): State<Arc<Node>>) -> ApiResult<ValidatorSetsJson> {
    bft_only(&node, "no validator set")?;
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

/// A validator's votes in the current round of `GET /consensus/state`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VoterJson {
    /// Its id (key hash of its consensus key).
    pub id: String,
    /// Its voting power.
    pub power: u64,
    /// Its prevote in the round: a block hash, `"nil"`, or null when none
    /// has arrived.
    pub prevote: Option<String>,
    /// Its precommit in the round, likewise.
    pub precommit: Option<String>,
    /// Whether any vote of it arrived at this height, in any round: false
    /// for a validator that is down, cut off, or not yet at the height.
    pub heard: bool,
    /// The latest round of the height in which a vote of it arrived (null
    /// when none did): one that stopped during the height stays at the
    /// round it last voted in while the others move on.
    pub last_round: Option<u32>,
}

/// `GET /consensus/state`.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ConsensusStateJson {
    /// The height being decided (the tip's plus one).
    pub height: u64,
    /// Its current round.
    pub round: u32,
    /// The step of the round: `propose`, `prevote`, `precommit` or
    /// `commit`.
    pub step: String,
    /// Seconds since this node entered the height.
    pub height_seconds: f64,
    /// Seconds since it entered the round.
    pub round_seconds: f64,
    /// The round's proposer (id).
    pub proposer: String,
    /// The block proposed in the round, once received.
    pub proposal: Option<String>,
    /// The block this node is locked on and the round of the lock.
    pub locked: Option<LockJson>,
    /// Voting power of the set; a decision needs more than two thirds.
    pub total_power: u64,
    /// Power of the prevotes and of the precommits of the round so far.
    pub prevote_power: u64,
    /// See `prevote_power`.
    pub precommit_power: u64,
    /// Power of the validators not heard from at this height.
    pub unheard_power: u64,
    /// The validators of the height, in set order.
    pub validators: Vec<VoterJson>,
}

/// A block and a round.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LockJson {
    /// The block.
    pub block: String,
    /// The round.
    pub round: u32,
}

/// `GET /consensus/state`: the height this node decides and each
/// validator's votes in its round.
#[utoipa::path(get, path = "/consensus/state", tag = "consensus",
    responses((status = 200, body = ConsensusStateJson),
        (status = 404, description = "Not a BFT chain (no-validators)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The consensus task has not started (no-consensus-task)", body = Problem, content_type = "application/problem+json")))]
pub(crate) async fn state(State(node): State<Arc<Node>>) -> ApiResult<ConsensusStateJson> {
    bft_only(&node, "no consensus rounds")?;
    let Some(view) = node.consensus_view.read().clone() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "no-consensus-task",
            "the consensus task has not started yet",
        ));
    };
    Ok(Json(state_json(&view, node.clock.now_millis())))
}

/// The JSON of `view` at `now_ms`.
pub fn state_json(view: &luminex_service::ConsensusView, now_ms: u64) -> ConsensusStateJson {
    use luminex_consensus::bft::Step;
    let r = &view.round;
    let vote = |v: Option<Option<luminex_primitives::Hash>>| {
        v.map(|b| b.map_or_else(|| "nil".to_string(), |h| h.to_string()))
    };
    let power_of = |f: &dyn Fn(&luminex_consensus::bft::VoterView) -> bool| {
        r.validators
            .iter()
            .filter(|v| f(v))
            .map(|v| v.power)
            .fold(0u64, u64::saturating_add)
    };
    let seconds = |since: u64| now_ms.saturating_sub(since) as f64 / 1000.0;
    ConsensusStateJson {
        height: r.height,
        round: r.round,
        step: match r.step {
            Step::Propose => "propose",
            Step::Prevote => "prevote",
            Step::Precommit => "precommit",
            Step::Commit => "commit",
        }
        .into(),
        height_seconds: seconds(view.height_since_ms),
        round_seconds: seconds(view.round_since_ms),
        proposer: r.proposer.to_string(),
        proposal: r.proposal.map(|h| h.to_string()),
        locked: r.locked.map(|(h, round)| LockJson {
            block: h.to_string(),
            round,
        }),
        total_power: power_of(&|_| true),
        prevote_power: power_of(&|v| v.prevote.is_some()),
        precommit_power: power_of(&|v| v.precommit.is_some()),
        unheard_power: power_of(&|v| !v.heard),
        validators: r
            .validators
            .iter()
            .map(|v| VoterJson {
                id: v.id.to_string(),
                power: v.power,
                prevote: vote(v.prevote),
                precommit: vote(v.precommit),
                heard: v.heard,
                last_round: v.last_round,
            })
            .collect(),
    }
}
