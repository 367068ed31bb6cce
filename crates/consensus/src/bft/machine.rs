//! The Tendermint state machine of one height, as in "The latest gossip on
//! BFT consensus" (Buchman, Kwon, Milosevic, arXiv 1807.04938, Algorithm 1).
//!
//! Pure and synchronous: inputs are proposals (already authenticated, with
//! the validity of their block decided by the caller), signature-checked
//! votes and timeouts; outputs are what to propose, which votes to sign and
//! broadcast, timeouts to schedule, evidence, and the decision. No clock,
//! no I/O. Each rule is tagged with the line numbers of Algorithm 1.
//!
//! After every input the "upon" rules are evaluated until none applies, so
//! the order in which messages arrive does not matter, only what has been
//! received.

use std::collections::BTreeMap;

use luminex_ledger::spec::ProposerSelection;
use luminex_ledger::ConsensusRecord;
use luminex_primitives::Hash;

use super::message::{SignedVote, VoteKind};
use super::votes::{AddVote, DuplicateVoteEvidence, VoteKeeper};

/// Where a round is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Step {
    /// Waiting for the proposal.
    Propose,
    /// Prevoted.
    Prevote,
    /// Precommitted.
    Precommit,
    /// Decided.
    Commit,
}

/// The three timeouts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum TimeoutKind {
    /// Waiting for a proposal.
    Propose,
    /// Waiting for prevotes after a quorum of any.
    Prevote,
    /// Waiting for precommits after a quorum of any.
    Precommit,
}

/// Timeout durations, growing linearly with the round.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Timeouts {
    /// Propose, round 0 (ms).
    pub propose_ms: u64,
    /// Added per round.
    pub propose_delta_ms: u64,
    /// Prevote, round 0.
    pub prevote_ms: u64,
    /// Added per round.
    pub prevote_delta_ms: u64,
    /// Precommit, round 0.
    pub precommit_ms: u64,
    /// Added per round.
    pub precommit_delta_ms: u64,
}

impl Timeouts {
    /// The duration of `kind` in `round`.
    pub fn duration_ms(&self, kind: TimeoutKind, round: u32) -> u64 {
        let (base, delta) = match kind {
            TimeoutKind::Propose => (self.propose_ms, self.propose_delta_ms),
            TimeoutKind::Prevote => (self.prevote_ms, self.prevote_delta_ms),
            TimeoutKind::Precommit => (self.precommit_ms, self.precommit_delta_ms),
        };
        base.saturating_add(delta.saturating_mul(u64::from(round)))
    }
}

/// An input to the machine.
#[derive(Clone, Debug)]
pub enum Input {
    /// A proposal from the proposer of `round` (the caller checked who
    /// signed it), and whether its block is valid.
    Proposal {
        /// Round.
        round: u32,
        /// The proposed block.
        value: Hash,
        /// Its proof-of-lock round.
        pol_round: Option<u32>,
        /// The block is valid on this node's chain.
        valid: bool,
        /// The block's time is acceptable to this validator's clock
        /// (ADR 0065): asked only before prevoting for a new value (line
        /// 22), as Proposer-Based Timestamps do; a value decided or locked
        /// by others' votes is taken whatever the clock says.
        timely: bool,
    },
    /// A vote whose signature was checked.
    Vote(SignedVote),
    /// A scheduled timeout fired.
    Timeout(TimeoutKind, u32),
}

/// What the machine asks of its driver.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Output {
    /// This validator proposes in `round`: `value` again with its
    /// `pol_round` (the paper's validValue), or a new block when `None`.
    Propose {
        /// Round.
        round: u32,
        /// Block to propose again.
        value: Option<Hash>,
        /// Its proof-of-lock round.
        pol_round: Option<u32>,
    },
    /// Sign and broadcast this vote.
    Vote {
        /// Prevote or precommit.
        kind: VoteKind,
        /// Round.
        round: u32,
        /// Block or nil.
        value: Option<Hash>,
    },
    /// Feed back `Input::Timeout(kind, round)` after `duration_ms`.
    ScheduleTimeout {
        /// Which.
        kind: TimeoutKind,
        /// Round.
        round: u32,
        /// When, from now.
        duration_ms: u64,
    },
    /// Two conflicting votes by one validator.
    Evidence(Box<DuplicateVoteEvidence>),
    /// The height is decided: commit `value` with the precommits of `round`.
    Decide {
        /// Round of the precommit quorum.
        round: u32,
        /// The block.
        value: Hash,
    },
}

#[derive(Clone, Copy, Debug)]
struct Proposed {
    value: Hash,
    pol_round: Option<u32>,
    valid: bool,
    timely: bool,
}

/// A height's state as an operator reads it (`GET /consensus/state`, as
/// CometBFT's `dump_consensus_state`): who has voted what in the current
/// round, and who has not been heard from at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundView {
    /// The height being decided.
    pub height: u64,
    /// Its current round.
    pub round: u32,
    /// The step of the round.
    pub step: Step,
    /// The round's proposer.
    pub proposer: Hash,
    /// The block proposed in the round, once received.
    pub proposal: Option<Hash>,
    /// The lock (block and round), if any.
    pub locked: Option<(Hash, u32)>,
    /// The valid value (block and round), if any.
    pub valid: Option<(Hash, u32)>,
    /// The validators of the height, in set order.
    pub validators: Vec<VoterView>,
}

/// One validator in a [`RoundView`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoterView {
    /// Its id.
    pub id: Hash,
    /// Its voting power.
    pub power: u64,
    /// Its prevote in the round: `Some(None)` for nil, `None` none yet.
    pub prevote: Option<Option<Hash>>,
    /// Its precommit in the round, likewise.
    pub precommit: Option<Option<Hash>>,
    /// Whether any vote of it arrived at this height.
    pub heard: bool,
    /// The latest round of the height in which a vote of it arrived: a
    /// validator that stopped mid-height is heard, but rounds behind.
    pub last_round: Option<u32>,
}

/// The consensus state of one height.
#[derive(Clone, Debug)]
pub struct HeightMachine {
    height: u64,
    record: ConsensusRecord,
    me: Option<Hash>,
    timeouts: Timeouts,
    selection: ProposerSelection,
    round: u32,
    step: Step,
    locked: Option<(Hash, u32)>,
    valid: Option<(Hash, u32)>,
    proposals: BTreeMap<u32, Proposed>,
    keeper: VoteKeeper,
    decided: Option<(Hash, u32)>,
    prevote_timeout_in: Option<u32>,
    precommit_timeout_in: Option<u32>,
    locked_in: Option<u32>,
    locking: bool,
    started: bool,
}

impl HeightMachine {
    /// A machine for the height after `record` (whose validators vote), run
    /// by validator `me` (`None` for a node that only follows).
    pub fn new(record: ConsensusRecord, me: Option<Hash>, timeouts: Timeouts) -> HeightMachine {
        let height = record.height + 1;
        HeightMachine {
            keeper: VoteKeeper::new(height, record.validators.clone()),
            height,
            record,
            me,
            timeouts,
            selection: ProposerSelection::default(),
            round: 0,
            step: Step::Propose,
            locked: None,
            valid: None,
            proposals: BTreeMap::new(),
            decided: None,
            prevote_timeout_in: None,
            precommit_timeout_in: None,
            locked_in: None,
            locking: true,
            started: false,
        }
    }

    /// The machine choosing proposers by `selection` (the chain's rule;
    /// [`ProposerSelection::Rotation`] unless set).
    pub fn with_selection(mut self, selection: ProposerSelection) -> HeightMachine {
        self.selection = selection;
        self
    }

    /// Turns the locking rules off. Only to show that the simulation
    /// catches the safety violation this causes.
    pub fn disable_locking_for_testing(&mut self) {
        self.locking = false;
    }

    /// Restores what a validator persisted before a crash: the round it had
    /// reached, its lock and its valid value (lines 36–43 only ever move
    /// them forward, so restarting with them keeps every earlier vote safe).
    pub fn restore(&mut self, round: u32, locked: Option<(Hash, u32)>, valid: Option<(Hash, u32)>) {
        self.round = round;
        self.locked = locked;
        self.valid = valid;
    }

    /// The height.
    pub fn height(&self) -> u64 {
        self.height
    }

    /// The current round.
    pub fn round(&self) -> u32 {
        self.round
    }

    /// The current step.
    pub fn step(&self) -> Step {
        self.step
    }

    /// The lock (value and round), if any.
    pub fn locked(&self) -> Option<(Hash, u32)> {
        self.locked
    }

    /// The valid value (value and round), if any.
    pub fn valid(&self) -> Option<(Hash, u32)> {
        self.valid
    }

    /// The decision, if any.
    pub fn decided(&self) -> Option<(Hash, u32)> {
        self.decided
    }

    /// The consensus state the height runs on.
    pub fn record(&self) -> &ConsensusRecord {
        &self.record
    }

    /// The votes counted so far.
    pub fn keeper(&self) -> &VoteKeeper {
        &self.keeper
    }

    /// The block proposed in `round` that this machine received, if any.
    pub fn proposal(&self, round: u32) -> Option<Hash> {
        self.proposals.get(&round).map(|p| p.value)
    }

    /// Where the height stands, for an operator: the round, its step and
    /// proposer, and each validator's votes ([`RoundView`]).
    pub fn view(&self) -> RoundView {
        let round = self.round;
        let validators = self
            .record
            .validators
            .validators()
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let [prevote, precommit] = self.keeper.ballot(round, i);
                let last_round = self.keeper.last_round_of(i);
                VoterView {
                    // The set's cached id: hashing each key on every event
                    // would cost a validator set of 100 half a millisecond.
                    id: self.record.validators.id(i).unwrap_or_else(|| v.id()),
                    power: v.power,
                    prevote,
                    precommit,
                    heard: last_round.is_some(),
                    last_round,
                }
            })
            .collect();
        RoundView {
            height: self.height,
            round,
            step: self.step,
            proposer: self.proposer(round),
            proposal: self.proposal(round),
            locked: self.locked,
            valid: self.valid,
            validators,
        }
    }

    /// The proposer of `round`.
    pub fn proposer(&self, round: u32) -> Hash {
        super::proposer::select_id(self.selection, &self.record, round)
    }

    /// Starts the height in the current round (round 0, or the restored one).
    pub fn start(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        if !self.started {
            self.started = true;
            self.start_round(self.round, &mut out);
            self.evaluate(&mut out);
        }
        out
    }

    /// Handles one input.
    pub fn handle(&mut self, input: Input) -> Vec<Output> {
        let mut out = Vec::new();
        if self.decided.is_some() {
            return out;
        }
        match input {
            Input::Proposal {
                round,
                value,
                pol_round,
                valid,
                timely,
            } => {
                if pol_round.is_some_and(|p| p >= round) {
                    return out;
                }
                // The first proposal of a round counts; a second one from
                // the same proposer is ignored.
                self.proposals.entry(round).or_insert(Proposed {
                    value,
                    pol_round,
                    valid,
                    timely,
                });
            }
            Input::Vote(v) => match self.keeper.add(v) {
                AddVote::Equivocation(e) => out.push(Output::Evidence(e)),
                AddVote::Added | AddVote::Duplicate | AddVote::Ignored => {}
            },
            Input::Timeout(kind, round) => self.on_timeout(kind, round, &mut out),
        }
        if self.started {
            self.evaluate(&mut out);
        }
        out
    }

    /// StartRound (lines 11–21).
    fn start_round(&mut self, round: u32, out: &mut Vec<Output>) {
        self.round = round;
        self.step = Step::Propose;
        self.keeper.set_round(round);
        if Some(self.proposer(round)) == self.me {
            // Lines 14–19: propose validValue if there is one, else a new value.
            out.push(Output::Propose {
                round,
                value: self.valid.map(|(v, _)| v),
                pol_round: self.valid.map(|(_, r)| r),
            });
        } else {
            // Line 21.
            out.push(self.timeout(TimeoutKind::Propose, round));
        }
    }

    fn timeout(&self, kind: TimeoutKind, round: u32) -> Output {
        Output::ScheduleTimeout {
            kind,
            round,
            duration_ms: self.timeouts.duration_ms(kind, round),
        }
    }

    fn vote(&self, kind: VoteKind, value: Option<Hash>) -> Output {
        Output::Vote {
            kind,
            round: self.round,
            value,
        }
    }

    /// Lines 57–67.
    fn on_timeout(&mut self, kind: TimeoutKind, round: u32, out: &mut Vec<Output>) {
        if round != self.round {
            return;
        }
        match kind {
            // Lines 57–60.
            TimeoutKind::Propose if self.step == Step::Propose => {
                out.push(self.vote(VoteKind::Prevote, None));
                self.step = Step::Prevote;
            }
            // Lines 61–64.
            TimeoutKind::Prevote if self.step == Step::Prevote => {
                out.push(self.vote(VoteKind::Precommit, None));
                self.step = Step::Precommit;
            }
            // Lines 65–67.
            TimeoutKind::Precommit => self.start_round(round + 1, out),
            _ => {}
        }
    }

    /// Applies the "upon" rules until none fires.
    fn evaluate(&mut self, out: &mut Vec<Output>) {
        while self.decided.is_none() && self.step_once(out) {}
    }

    fn step_once(&mut self, out: &mut Vec<Output>) -> bool {
        let r = self.round;
        let proposal = self.proposals.get(&r).copied();
        // Lines 49–54: a quorum of precommits for a valid proposal, in any
        // round, decides.
        let decision = self.proposals.iter().find_map(|(pr, p)| {
            (p.valid
                && self
                    .keeper
                    .quorum_for(*pr, VoteKind::Precommit, Some(&p.value)))
            .then_some((p.value, *pr))
        });
        if let Some((value, round)) = decision {
            self.decided = Some((value, round));
            self.step = Step::Commit;
            out.push(Output::Decide { round, value });
            return false;
        }
        if self.step == Step::Propose {
            if let Some(p) = proposal {
                match p.pol_round {
                    // Lines 22–27, with `timely` (ADR 0065).
                    None => {
                        let ok = p.valid
                            && p.timely
                            && (!self.locking || self.locked.is_none_or(|(lv, _)| lv == p.value));
                        out.push(self.vote(VoteKind::Prevote, ok.then_some(p.value)));
                        self.step = Step::Prevote;
                        return true;
                    }
                    // Lines 28–33.
                    Some(vr)
                        if vr < r
                            && self
                                .keeper
                                .quorum_for(vr, VoteKind::Prevote, Some(&p.value)) =>
                    {
                        let ok = p.valid
                            && (!self.locking
                                || self.locked.is_none_or(|(lv, lr)| lr <= vr || lv == p.value));
                        out.push(self.vote(VoteKind::Prevote, ok.then_some(p.value)));
                        self.step = Step::Prevote;
                        return true;
                    }
                    Some(_) => {}
                }
            }
        }
        // Lines 34–35.
        if self.step == Step::Prevote
            && self.prevote_timeout_in != Some(r)
            && self.keeper.quorum_any(r, VoteKind::Prevote)
        {
            self.prevote_timeout_in = Some(r);
            out.push(self.timeout(TimeoutKind::Prevote, r));
            return true;
        }
        // Lines 36–43.
        if let Some(p) = proposal {
            if p.valid
                && self.step >= Step::Prevote
                && self.locked_in != Some(r)
                && self.keeper.quorum_for(r, VoteKind::Prevote, Some(&p.value))
            {
                self.locked_in = Some(r);
                if self.step == Step::Prevote {
                    if self.locking {
                        self.locked = Some((p.value, r));
                    }
                    out.push(self.vote(VoteKind::Precommit, Some(p.value)));
                    self.step = Step::Precommit;
                }
                self.valid = Some((p.value, r));
                return true;
            }
        }
        // Lines 44–46.
        if self.step == Step::Prevote && self.keeper.quorum_for(r, VoteKind::Prevote, None) {
            out.push(self.vote(VoteKind::Precommit, None));
            self.step = Step::Precommit;
            return true;
        }
        // Lines 47–48.
        if self.precommit_timeout_in != Some(r) && self.keeper.quorum_any(r, VoteKind::Precommit) {
            self.precommit_timeout_in = Some(r);
            out.push(self.timeout(TimeoutKind::Precommit, r));
            return true;
        }
        // Lines 55–56: more than a third of the power is in a later round.
        if let Some(later) = self.keeper.skip_round(r) {
            self.start_round(later, out);
            return true;
        }
        false
    }
}
