//! The BFT chain rules behind the ledger's [`ConsensusRules`]: a block's
//! header must carry the right height, a validator as proposer, the hashes
//! of the validator sets in force, the parent's commit certificate and the
//! consensus state after it; a block is connected only with a certificate
//! of more than two thirds of the voting power of the set in force.

use luminex_ledger::authority::{self, AuthorityError};
use luminex_ledger::spec::{BftParams, ConsensusKind, ProposerSelection};
use luminex_ledger::staking::StakingParams;
use luminex_ledger::{
    check_authority_change, BlockError, ChainContext, ChainSpec, ConsensusRecord, ConsensusRules,
    Finality, Parent, PendingChange, TxError, ValidatorSet, U256,
};
use luminex_primitives::header::BFT_VERSION;
use luminex_primitives::{BftHeader, Block, CommitCertificate, Hash, Header, Transaction, TxKind};
use rayon::prelude::*;

use super::epochs::StakeInputs;
use super::message::{vote_digest, ChainDomain, VoteKind};
use super::proposer;

/// How many times the timeliness bound of a new proposal doubles with the
/// rounds (ADR 0065): at most 8 × the spec's precision. Validators whose
/// clocks disagree by a little more than the precision still agree by
/// round 3; a faulty proposer that reaches a later round (the earlier ones
/// failing) still cannot date its block more than 8 × the precision ahead
/// of the others' clocks.
pub const MAX_TIME_BOUND_DOUBLINGS: u32 = 3;

/// The rules of a BFT chain.
#[derive(Debug, Clone)]
pub struct BftRules {
    domain: ChainDomain,
    params: BftParams,
    max_block_bytes: usize,
    genesis: Hash,
    authority_changes: bool,
    staking: Option<StakingParams>,
    max_future_ms: u64,
    precision_ms: u64,
}

impl BftRules {
    /// The rules of `spec` (`None` unless it is a checked BFT spec).
    pub fn for_spec(spec: &ChainSpec) -> Option<BftRules> {
        let params = spec.bft.clone()?;
        let genesis = spec.genesis_block().hash();
        Some(BftRules {
            domain: ChainDomain::new(spec.chain_id, genesis),
            params,
            max_block_bytes: spec.max_block_bytes,
            genesis,
            authority_changes: spec.authority_changes(),
            staking: spec.staking.clone(),
            max_future_ms: spec.max_future_block_time_secs.saturating_mul(1000),
            precision_ms: spec
                .bft
                .as_ref()
                .map_or(0, |b| b.proposal_time_precision_ms),
        })
    }

    /// Whether a block proposed in `round` is dated no further ahead of
    /// `now_ms` (this validator's clock) than the round allows (ADR 0065):
    /// the spec's `proposal_time_precision_ms` in round 0, doubling with
    /// each round up to [`MAX_TIME_BOUND_DOUBLINGS`] times, never more than
    /// `max_future_block_time_secs`. A validator
    /// prevotes nil on a new proposal that is not (the paper's line 22 with
    /// Proposer-Based Timestamps' `timely`), so one proposer with a fast
    /// clock cannot carry the chain's time ahead of everyone's (every later
    /// block must be later still), while validators whose clocks disagree
    /// by more than the precision still agree once a round's bound covers
    /// it. Only new proposals are held to the clock: a re-proposed value
    /// with a proof of lock, and a certified block, are taken whatever this
    /// node's clock says.
    pub fn timely(&self, block: &Block, round: u32, now_ms: u64) -> bool {
        block.header.time_ms() <= now_ms.saturating_add(self.time_bound_ms(round))
    }

    /// How far ahead of a validator's clock a proposal of `round` may be
    /// dated (see [`BftRules::timely`]).
    pub fn time_bound_ms(&self, round: u32) -> u64 {
        let doublings = round.min(MAX_TIME_BOUND_DOUBLINGS);
        self.precision_ms
            .saturating_mul(1 << doublings)
            .min(self.max_future_ms)
    }

    /// The signing domain of the chain.
    pub fn domain(&self) -> &ChainDomain {
        &self.domain
    }

    /// The chain's BFT parameters (timeouts, genesis validators).
    pub fn params(&self) -> &BftParams {
        &self.params
    }

    /// The largest block the chain takes, in encoded bytes.
    pub fn max_block_bytes(&self) -> usize {
        self.max_block_bytes
    }

    /// The timeouts of the chain's spec.
    pub fn timeouts(&self) -> super::machine::Timeouts {
        let p = &self.params;
        super::machine::Timeouts {
            propose_ms: p.timeout_propose_ms,
            propose_delta_ms: p.timeout_propose_delta_ms,
            prevote_ms: p.timeout_prevote_ms,
            prevote_delta_ms: p.timeout_prevote_delta_ms,
            precommit_ms: p.timeout_precommit_ms,
            precommit_delta_ms: p.timeout_precommit_delta_ms,
        }
    }

    /// The spec's `timeout_commit_ms`: the longest pause after a decision
    /// by votes during which late precommits still join the certificate
    /// the next block carries (see [`super::Engine::awaits_precommits`]).
    pub fn commit_timeout_ms(&self) -> u64 {
        self.params.timeout_commit_ms
    }

    /// The consensus state after the block at `height`.
    fn state_at(chain: &dyn ChainContext, height: u64) -> Result<ConsensusRecord, BlockError> {
        chain
            .consensus_record(height)
            .ok_or(BlockError::NoConsensusState(height))
    }

    /// The consensus state after a block at `record.height + 1` whose
    /// consensus state before it is `record` and which schedules `changes`
    /// (its authority changes, in block order): the next set takes over,
    /// priorities step once, changes due two heights on apply, the block's
    /// own changes join those pending, a scheduled set due two heights on
    /// replaces the set after next.
    pub fn next_state(record: &ConsensusRecord, changes: &[PendingChange]) -> ConsensusRecord {
        let height = record.height + 1;
        let stepped = proposer::advance(&record.validators, &record.priorities);
        let priorities =
            proposer::carry_over(&record.validators, &stepped, &record.next_validators);
        let (due, mut pending): (Vec<_>, Vec<_>) = record
            .pending
            .iter()
            .cloned()
            .partition(|c| c.effective_height <= height + 2);
        pending.extend_from_slice(changes);
        // A change that would leave an unusable set is not applied (the
        // rules refuse such a change when it is scheduled).
        let mut next_validators = authority::apply(&record.next_validators, &due)
            .unwrap_or_else(|_| record.next_validators.clone());
        let mut scheduled = record.scheduled.clone();
        if let Some(s) = scheduled.take_if(|s| s.effective_height <= height + 2) {
            next_validators = s.set;
        }
        ConsensusRecord {
            height,
            validators: record.next_validators.clone(),
            priorities,
            next_validators,
            pending,
            scheduled,
        }
    }

    /// What the staking state the block on `parent` builds on contributes
    /// to its consensus state (`None` on chains without staking); an error
    /// when a staking chain's store has no staking state.
    pub fn stake_inputs(
        &self,
        chain: &dyn ChainContext,
        record: &ConsensusRecord,
        parent: &Parent,
    ) -> Result<Option<StakeInputs>, BlockError> {
        let Some(params) = &self.staking else {
            return Ok(None);
        };
        StakeInputs::from_chain(params, chain, record, parent)
            .map(Some)
            .ok_or(BlockError::NoConsensusState(parent.height))
    }

    /// The consensus state after a block on `parent` (whose state is
    /// `record`) that schedules `changes`, and the `state_root` its header
    /// must carry: [`BftRules::next_state`], then on staking chains the
    /// staking state's election, jailings and hash (ADR 0034).
    pub fn next_state_and_root(
        record: &ConsensusRecord,
        changes: &[PendingChange],
        stake: Option<&StakeInputs>,
    ) -> (ConsensusRecord, Hash) {
        let mut next = Self::next_state(record, changes);
        match stake {
            Some(s) => {
                s.apply(&mut next);
                let root = s.state_root(&next);
                (next, root)
            }
            None => {
                let root = next.hash();
                (next, root)
            }
        }
    }

    /// The validator-set changes `txs` schedule in a block at `height`
    /// whose parent's consensus state is `record`, or the index of the
    /// first invalid authority change and why.
    pub fn block_changes(
        &self,
        record: &ConsensusRecord,
        height: u64,
        txs: &[Transaction],
    ) -> Result<Vec<PendingChange>, (usize, AuthorityError)> {
        let mut changes = Vec::new();
        for (i, tx) in txs.iter().enumerate() {
            if !matches!(tx.kind, TxKind::Authority(_)) {
                continue;
            }
            if !self.authority_changes {
                return Err((i, AuthorityError::Disabled));
            }
            let change = check_authority_change(tx, record, height, &self.genesis, &changes)
                .map_err(|e| (i, e))?;
            changes.push(change);
        }
        Ok(changes)
    }

    /// A block on `parent` (whose consensus state is `record`) carrying
    /// `txs` (coinbase first) less any authority change that is not valid
    /// there, the parent's certificate (none on genesis), `proposer` and a
    /// time no earlier than one millisecond after the parent's. `chain` is
    /// the chain whose tip is `parent` (for the staking state on staking
    /// chains); without the staking state a staking chain's block carries a
    /// state root the others refuse.
    #[allow(clippy::too_many_arguments)]
    pub fn build_block(
        &self,
        parent: &Parent,
        record: &ConsensusRecord,
        chain: &dyn ChainContext,
        last_commit: Option<CommitCertificate>,
        proposer: Hash,
        time_ms: u64,
        mut txs: Vec<Transaction>,
    ) -> Block {
        let height = parent.height + 1;
        // A mempool may hold changes that an earlier block made stale: drop
        // them rather than propose a block the others refuse.
        let mut changes = Vec::new();
        txs.retain(|tx| {
            if !matches!(tx.kind, TxKind::Authority(_)) {
                return true;
            }
            if !self.authority_changes {
                return false;
            }
            match check_authority_change(tx, record, height, &self.genesis, &changes) {
                Ok(change) => {
                    changes.push(change);
                    true
                }
                Err(_) => false,
            }
        });
        let header = BftHeader {
            version: BFT_VERSION,
            height,
            time_ms: time_ms.max(parent.header.time_ms().saturating_add(1)),
            prev_hash: parent.hash,
            tx_root: Hash::ZERO,
            proposer,
            validators_hash: record.validators.hash(),
            next_validators_hash: record.next_validators.hash(),
            last_commit_hash: last_commit.as_ref().map_or(Hash::ZERO, |c| c.hash()),
            state_root: {
                let stake = self.stake_inputs(chain, record, parent).ok().flatten();
                Self::next_state_and_root(record, &changes, stake.as_ref()).1
            },
        };
        let mut block = Block {
            header: header.into(),
            txs,
            last_commit,
        };
        let root = block.compute_merkle_root();
        block.header.set_merkle_root(root);
        block
    }

    /// The proposer of `round` at the height after `record`, by the
    /// chain's [`ProposerSelection`].
    pub fn proposer(&self, record: &ConsensusRecord, round: u32) -> Hash {
        proposer::select_id(self.params.proposer_selection, record, round)
    }

    /// How this chain chooses proposers.
    pub fn proposer_selection(&self) -> ProposerSelection {
        self.params.proposer_selection
    }

    /// Checks that `cert` holds valid precommits of more than two thirds of
    /// `set`'s power for `block_hash` at `height`. Signatures are verified
    /// in parallel.
    pub fn verify_certificate(
        &self,
        set: &ValidatorSet,
        cert: &CommitCertificate,
        height: u64,
        block_hash: &Hash,
    ) -> Result<(), String> {
        if cert.height != height {
            return Err(format!("for height {}, not {height}", cert.height));
        }
        if cert.block_hash != *block_hash {
            return Err("for another block".into());
        }
        if cert.signers.len() != set.len().div_ceil(8) {
            return Err("signer bitmap does not fit the validator set".into());
        }
        let signers = cert.signer_indexes();
        if signers.iter().any(|i| *i >= set.len()) {
            return Err("signer bitmap names a validator past the set".into());
        }
        if signers.len() != cert.signatures.len() {
            return Err("one signature per signer required".into());
        }
        let power: u64 = signers
            .iter()
            .filter_map(|i| set.get(*i))
            .map(|v| v.power)
            .sum();
        if power < set.quorum() {
            return Err(format!(
                "signers hold {power} of {} voting power, {} needed",
                set.total_power(),
                set.quorum()
            ));
        }
        let digest = vote_digest(
            &self.domain,
            VoteKind::Precommit,
            height,
            cert.round,
            Some(block_hash),
        );
        signers
            .par_iter()
            .zip(cert.signatures.par_iter())
            .try_for_each(|(i, sig)| {
                let v = set.get(*i).ok_or("unknown signer")?;
                luminex_crypto::verify(&v.public_key, &digest, sig)
                    .map_err(|_| "a precommit signature is invalid")
            })
            .map_err(str::to_string)
    }
}

fn bft_header(h: &Header) -> Result<&BftHeader, BlockError> {
    h.as_bft().ok_or(BlockError::WrongHeaderKind)
}

impl ConsensusRules for BftRules {
    fn kind(&self) -> ConsensusKind {
        ConsensusKind::Bft
    }

    fn finality(&self) -> Finality {
        Finality::Certified
    }

    fn header_work(&self, header: &Header) -> Result<U256, BlockError> {
        bft_header(header)?;
        Ok(U256::from(1u64))
    }

    fn check_header(
        &self,
        header: &Header,
        parent: &Parent,
        chain: &dyn ChainContext,
        _now_ms: u64,
    ) -> Result<(), BlockError> {
        let h = bft_header(header)?;
        let expected = parent.height + 1;
        if h.height != expected {
            return Err(BlockError::BadHeight {
                expected,
                found: h.height,
            });
        }
        let min_ms = parent.header.time_ms().saturating_add(1);
        if h.time_ms < min_ms {
            return Err(BlockError::BadTime {
                time_ms: h.time_ms,
                min_ms,
            });
        }
        let record = Self::state_at(chain, parent.height)?;
        if h.validators_hash != record.validators.hash()
            || h.next_validators_hash != record.next_validators.hash()
        {
            return Err(BlockError::BadValidatorsHash);
        }
        if record.validators.index_of(&h.proposer).is_none() {
            return Err(BlockError::BadProposer(h.proposer));
        }
        Ok(())
    }

    fn min_time(&self, parent: &Parent, _: &dyn ChainContext) -> u64 {
        parent.header.time_ms().saturating_add(1).div_ceil(1000)
    }

    fn template_header(
        &self,
        _: &Parent,
        _: &dyn ChainContext,
        _: u64,
    ) -> Result<Header, BlockError> {
        Err(BlockError::WrongHeaderKind)
    }

    fn connect_consensus(
        &self,
        block: &Block,
        parent: &Parent,
        chain: &dyn ChainContext,
    ) -> Result<Option<ConsensusRecord>, BlockError> {
        let h = bft_header(&block.header)?;
        let record = Self::state_at(chain, parent.height)?;
        luminex_ledger::evidence::check_block_evidence(block, h.height, chain, &self.domain)?;
        match (&block.last_commit, parent.height) {
            (None, 0) if h.last_commit_hash == Hash::ZERO => {}
            (None, 0) => {
                return Err(BlockError::BadLastCommit(
                    "the first block commits to no certificate".into(),
                ))
            }
            (Some(_), 0) => {
                return Err(BlockError::BadLastCommit(
                    "the first block carries no certificate".into(),
                ))
            }
            (None, _) => return Err(BlockError::BadLastCommit("missing".into())),
            (Some(c), ph) => {
                if c.hash() != h.last_commit_hash {
                    return Err(BlockError::BadLastCommit(
                        "does not match the header's hash".into(),
                    ));
                }
                let set = Self::state_at(chain, ph - 1)?.validators;
                self.verify_certificate(&set, c, ph, &parent.hash)
                    .map_err(BlockError::BadLastCommit)?;
            }
        }
        let changes =
            self.block_changes(&record, h.height, &block.txs)
                .map_err(|(index, error)| BlockError::Tx {
                    index,
                    txid: block.txs[index].txid(),
                    error: TxError::Authority(error),
                })?;
        let stake = self.stake_inputs(chain, &record, parent)?;
        let (next, root) = Self::next_state_and_root(&record, &changes, stake.as_ref());
        if h.state_root != root {
            return Err(BlockError::BadStateRoot);
        }
        Ok(Some(next))
    }

    fn check_certificate(
        &self,
        certificate: &CommitCertificate,
        block_hash: &Hash,
        height: u64,
        chain: &dyn ChainContext,
    ) -> Result<(), BlockError> {
        let set = Self::state_at(chain, height.saturating_sub(1))?.validators;
        self.verify_certificate(&set, certificate, height, block_hash)
            .map_err(BlockError::BadCertificate)
    }
}
