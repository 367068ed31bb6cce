//! The BFT engine of one node: the Tendermint [`HeightMachine`] of the
//! current height wrapped with everything around it that is still pure —
//! authenticating proposals and votes, signing this validator's own
//! messages after recording them, keeping proposed blocks, building the
//! commit certificate of a decision, buffering the next height's messages
//! (bounded), and what to gossip again to peers that missed something.
//!
//! The engine does no I/O. The caller (the node's consensus task, or the
//! simulation) passes a [`Host`] that builds and validates blocks against
//! the chain and durably records the validator's [`SignedState`]; it turns
//! [`Effect`]s into gossip, timers and block commits, and after committing
//! a decided block moves the engine on with [`Engine::advance`].
//!
//! **Crash safety.** Before this validator's signature on a vote or a
//! proposal leaves the engine, the [`SignedState`] that contains it is
//! handed to [`Host::persist`]; a node that restarts passes the last
//! recorded state to [`Engine::new`], and the engine then refuses to sign
//! anything that conflicts with what it signed before the crash.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use luminex_ledger::ConsensusRecord;
use luminex_primitives::codec::Encode;
use luminex_primitives::{Block, CommitCertificate, Hash, Signature};

use super::machine::{HeightMachine, Input, Output, TimeoutKind, Timeouts};
use super::message::{ConsensusMessage, Proposal, SignedProposal, SignedVote, Vote, VoteKind};
use super::rules::BftRules;
use super::votes::DuplicateVoteEvidence;

pub use super::error::MessageError;
pub use super::host::{ConsensusSigner, Host, SignedState};

/// Messages of the next height kept until this node gets there.
pub const MAX_BUFFERED: usize = 4096;
/// Bytes of them kept at most, or two of the chain's largest blocks if
/// that is more: a proposal carries its block, and they are checked only
/// when their height comes, so a peer could send anything.
pub const MAX_BUFFERED_BYTES: usize = 64 << 20;
/// Heights above the current one whose certified blocks are kept during
/// catch-up.
pub const MAX_CERTIFIED_AHEAD: u64 = 64;
/// Bytes of those blocks kept at most (they are checked only when their
/// height comes, so a peer could send anything).
pub const MAX_CERTIFIED_AHEAD_BYTES: usize = 64 << 20;
/// Rounds above the current one from which proposals are taken.
pub const MAX_PROPOSAL_ROUNDS_AHEAD: u32 = 2;

/// What the engine asks of its caller, in order.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Effect {
    /// Gossip to every peer.
    Broadcast(ConsensusMessage),
    /// Call [`Engine::timeout`] with these after `after_ms`.
    Schedule {
        /// Height.
        height: u64,
        /// Round.
        round: u32,
        /// Which timeout.
        kind: TimeoutKind,
        /// Delay.
        after_ms: u64,
    },
    /// Two conflicting votes by one validator.
    Evidence(Box<DuplicateVoteEvidence>),
    /// This validator could not record what it was about to sign, so it
    /// signed nothing (the node should stop validating and say why).
    PersistFailed(String),
    /// The height is decided: commit `block` with `certificate`, then call
    /// [`Engine::advance`].
    Commit {
        /// The block: the one the engine checked with the host, shared.
        block: Arc<Block>,
        /// Precommits of more than two thirds of the power.
        certificate: CommitCertificate,
    },
}

/// One node's BFT engine (see the module docs).
pub struct Engine {
    rules: BftRules,
    signer: Option<Box<dyn ConsensusSigner>>,
    timeouts: Timeouts,
    machine: HeightMachine,
    last_commit: Option<CommitCertificate>,
    /// Blocks proposed at this height, by hash.
    blocks: HashMap<Hash, Arc<Block>>,
    /// Validity of each proposed block, by hash.
    valid: HashMap<Hash, bool>,
    /// The proposal taken in each round (for gossip).
    proposals: BTreeMap<u32, SignedProposal>,
    signed: SignedState,
    /// A record of a later height than the chain's (a database restored
    /// from an older copy beside a newer record): nothing is signed until
    /// the chain reaches its height, where it is restored.
    ahead: Option<SignedState>,
    future: Vec<ConsensusMessage>,
    /// Their encoded bytes.
    future_bytes: usize,
    /// Certified blocks of later heights from catch-up, until their turn.
    certified_ahead: BTreeMap<u64, (Arc<Block>, CommitCertificate)>,
    locking: bool,
    decided: bool,
    /// The certificate of the height decided and not yet left. Precommits
    /// for the decided block that arrive after the quorum (CometBFT keeps
    /// collecting them during its commit timeout) are added to it, so the
    /// next block's `last_commit` names every validator that signed in
    /// time, not only the first quorum this node saw: missed-block
    /// accounting then tells a live validator from an absent one.
    decided_cert: Option<CommitCertificate>,
    /// Whether the height was decided by the votes this node counted (not
    /// by a peer's certificate during catch-up): only then is a commit
    /// pause worth waiting (see [`Engine::awaits_precommits`]).
    decided_by_votes: bool,
}

impl Engine {
    /// An engine for the height after `record` (the consensus state after
    /// the tip), whose `last_commit` is the tip's certificate. `signer` is
    /// this validator's key (`None` on a node that only follows);
    /// `restored` is the last [`SignedState`] it recorded, if any.
    pub fn new(
        rules: BftRules,
        signer: Option<Box<dyn ConsensusSigner>>,
        timeouts: Timeouts,
        record: ConsensusRecord,
        last_commit: Option<CommitCertificate>,
        restored: Option<SignedState>,
    ) -> Engine {
        let me = signer.as_ref().map(|s| s.id());
        let height = record.height + 1;
        let mut machine =
            HeightMachine::new(record, me, timeouts).with_selection(rules.proposer_selection());
        let fresh = SignedState {
            height,
            ..SignedState::default()
        };
        let (signed, ahead) = match restored {
            Some(s) if s.height == height => {
                machine.restore(s.round, s.locked, s.valid);
                (s, None)
            }
            // This validator signed at a later height than the chain has
            // reached: at the heights up to there it may have signed
            // anything, so it signs nothing until its chain gets there.
            Some(s) if s.height > height => (fresh, Some(s)),
            _ => (fresh, None),
        };
        Engine {
            rules,
            signer,
            timeouts,
            machine,
            last_commit,
            blocks: HashMap::new(),
            valid: HashMap::new(),
            proposals: BTreeMap::new(),
            signed,
            ahead,
            future: Vec::new(),
            future_bytes: 0,
            certified_ahead: BTreeMap::new(),
            locking: true,
            decided: false,
            decided_cert: None,
            decided_by_votes: false,
        }
    }

    /// Turns the locking rule off (this height and every later one). Only
    /// to show that the simulation catches the safety violation it causes.
    pub fn disable_locking_for_testing(&mut self) {
        self.locking = false;
        self.machine.disable_locking_for_testing();
    }

    /// The chain's BFT rules.
    pub fn rules(&self) -> &BftRules {
        &self.rules
    }

    /// Whether the current height is decided (its block is being
    /// committed; the engine waits for [`Engine::advance`]).
    pub fn is_decided(&self) -> bool {
        self.decided
    }

    /// A block proposed at the current height that this engine holds
    /// (from an earlier round, or its own).
    pub fn known_block(&self, hash: &Hash) -> Option<&Arc<Block>> {
        self.blocks.get(hash)
    }

    /// Whether this engine holds the proposal of `block` in `round` of the
    /// current height (a proposal sent again needs no rebuilding).
    pub fn has_proposal(&self, round: u32, block: &Hash) -> bool {
        self.proposals
            .get(&round)
            .is_some_and(|p| p.proposal.block.hash() == *block)
    }

    /// The height being decided.
    pub fn height(&self) -> u64 {
        self.machine.height()
    }

    /// The current round.
    pub fn round(&self) -> u32 {
        self.machine.round()
    }

    /// The machine of the current height (step, lock, votes).
    pub fn machine(&self) -> &HeightMachine {
        &self.machine
    }

    /// This validator's id, if it validates.
    pub fn me(&self) -> Option<Hash> {
        self.signer.as_ref().map(|s| s.id())
    }

    /// Whether this node is in the validator set of the current height.
    pub fn is_validator(&self) -> bool {
        self.me()
            .is_some_and(|m| self.machine.record().validators.index_of(&m).is_some())
    }

    /// Whether the height was decided by this node's votes and its
    /// certificate still lacks the precommit of some validator of the set.
    /// The caller may then hold off [`Engine::advance`] for the chain's
    /// commit timeout ([`BftRules::commit_timeout_ms`], CometBFT's
    /// `timeout_commit`): precommits that arrive meanwhile join the
    /// certificate the next block carries, so a live validator that is
    /// merely slower than the quorum is not counted as missing (ADR 0042).
    /// False once every validator signed (no reason to wait longer), before
    /// a decision, and after a decision taken from a peer's certificate (a
    /// node catching up should not pause at every block).
    pub fn awaits_precommits(&self) -> bool {
        self.decided
            && self.decided_by_votes
            && self
                .decided_cert
                .as_ref()
                .is_some_and(|c| c.signatures.len() < self.machine.record().validators.len())
    }

    /// The certificate of the height decided and not yet left, with the
    /// precommits that arrived after the decision: what the next block
    /// carries as its `last_commit` if this node proposes it.
    pub fn decided_certificate(&self) -> Option<&CommitCertificate> {
        self.decided_cert.as_ref()
    }

    /// The certificate of the previous height that this height's block
    /// carries (late precommits included).
    pub fn last_commit(&self) -> Option<&CommitCertificate> {
        self.last_commit.as_ref()
    }

    /// What this validator has signed at the current height.
    pub fn signed_state(&self) -> &SignedState {
        &self.signed
    }

    /// Starts the current height.
    pub fn start(&mut self, host: &mut dyn Host) -> Vec<Effect> {
        let out = self.machine.start();
        let mut effects = Vec::new();
        self.apply(out, host, &mut effects);
        self.resend_recorded(host, &mut effects);
        effects
    }

    /// Sends again, and counts, the votes this validator recorded at the
    /// current height before a restart. Peers that restarted meanwhile
    /// lost them, and nothing else would send them again: a network whose
    /// other validators need one of them to leave a round would wait for
    /// it forever. The same vote signed again conflicts with nothing.
    fn resend_recorded(&mut self, host: &mut dyn Host, effects: &mut Vec<Effect>) {
        let recorded: Vec<Vote> = self.signed.votes.clone();
        for vote in recorded {
            if vote.height != self.height() || self.machine.keeper().contains(&vote) {
                continue;
            }
            let Some(signer) = self.signer.as_ref() else {
                return;
            };
            let signature = signer.sign(&vote.digest(self.rules.domain()));
            let signed = SignedVote { vote, signature };
            effects.push(Effect::Broadcast(ConsensusMessage::Vote(signed.clone())));
            let out = self.machine.handle(Input::Vote(signed));
            self.apply(out, host, effects);
        }
    }

    /// The height of a signed-state record later than the chain, while the
    /// engine signs nothing until its chain reaches it.
    pub fn signing_held_until(&self) -> Option<u64> {
        self.ahead.as_ref().map(|s| s.height)
    }

    /// A scheduled timeout fired.
    pub fn timeout(
        &mut self,
        height: u64,
        round: u32,
        kind: TimeoutKind,
        host: &mut dyn Host,
    ) -> Vec<Effect> {
        if height != self.height() || self.decided {
            return Vec::new();
        }
        let out = self.machine.handle(Input::Timeout(kind, round));
        let mut effects = Vec::new();
        self.apply(out, host, &mut effects);
        effects
    }

    /// A message from a peer. An error says why it was not taken
    /// ([`MessageError::penalize`]: whether the sender is at fault).
    pub fn receive(
        &mut self,
        msg: ConsensusMessage,
        host: &mut dyn Host,
    ) -> Result<Vec<Effect>, MessageError> {
        let height = msg.height();
        let current = self.height();
        if height == current && self.decided {
            return match msg {
                ConsensusMessage::Vote(v) => self.late_precommit(v),
                ConsensusMessage::Proposal(_) => Err(MessageError::Stale { height, current }),
            };
        }
        if height < current {
            return Err(MessageError::Stale { height, current });
        }
        if height > current {
            if height == current + 1 && self.future.len() < MAX_BUFFERED {
                // A proposal's encoding holds its whole block.
                let len = msg.encoded_len();
                let room = MAX_BUFFERED_BYTES.max(2 * self.rules.max_block_bytes());
                if self.future_bytes + len <= room {
                    // Checked when this node gets there.
                    self.future.push(msg);
                    self.future_bytes += len;
                    return Ok(Vec::new());
                }
            }
            return Err(MessageError::TooFarAhead { height, current });
        }
        let input = match msg {
            ConsensusMessage::Vote(v) => self.check_vote(v)?,
            ConsensusMessage::Proposal(p) => self.check_proposal(*p, host)?,
        };
        let out = self.machine.handle(input);
        let mut effects = Vec::new();
        self.apply(out, host, &mut effects);
        Ok(effects)
    }

    /// A block of the current height with the certificate that finalized
    /// it, from a peer that is ahead (block sync): taken only when the
    /// certificate holds against this height's validator set and the block
    /// is valid.
    pub fn certified(
        &mut self,
        block: Arc<Block>,
        certificate: CommitCertificate,
        host: &mut dyn Host,
    ) -> Result<Vec<Effect>, MessageError> {
        let height = self.height();
        if certificate.height > height {
            // Catch-up blocks may arrive out of order: keep a bounded
            // window of them, checked when their height comes.
            let held: usize = self
                .certified_ahead
                .values()
                .map(|(b, _)| b.encoded_len())
                .sum();
            if certificate.height <= height + MAX_CERTIFIED_AHEAD
                && held + block.encoded_len() <= MAX_CERTIFIED_AHEAD_BYTES
            {
                self.certified_ahead
                    .insert(certificate.height, (block, certificate));
                return Ok(Vec::new());
            }
            return Err(MessageError::TooFarAhead {
                height: certificate.height,
                current: height,
            });
        }
        if self.decided || certificate.height < height {
            return Err(MessageError::Stale {
                height: certificate.height,
                current: height,
            });
        }
        let hash = block.hash();
        self.rules
            .verify_certificate(
                &self.machine.record().validators,
                &certificate,
                height,
                &hash,
            )
            .map_err(MessageError::BadCertificate)?;
        if !host.validate_block(&block) {
            return Err(MessageError::BadCertificate(
                "a certificate for an invalid block".into(),
            ));
        }
        self.decided = true;
        self.decided_by_votes = false;
        self.decided_cert = Some(certificate.clone());
        Ok(vec![Effect::Commit { block, certificate }])
    }

    /// Moves to the height after `record` (the consensus state after the
    /// block just committed, whose certificate is `last_commit`), starts it
    /// and replays the messages buffered for it.
    pub fn advance(
        &mut self,
        record: ConsensusRecord,
        last_commit: CommitCertificate,
        host: &mut dyn Host,
    ) -> Vec<Effect> {
        let height = record.height + 1;
        self.move_to(record, last_commit);
        if let Some((block, certificate)) = self.certified_ahead.remove(&height) {
            // Caught up from peers: no need to run the height. (A block
            // held ahead is checked only now: one that fails leaves the
            // messages buffered for the height to run it with.)
            if let Ok(e) = self.certified(block, certificate, host) {
                self.clear_future();
                return e;
            }
        }
        let mut effects = self.start(host);
        self.future_bytes = 0;
        for msg in std::mem::take(&mut self.future) {
            if let Ok(e) = self.receive(msg, host) {
                effects.extend(e);
            }
        }
        effects
    }

    /// Moves to the height after `record` as [`Engine::advance`] does, but
    /// does not start it: for a node committing a run of certified blocks
    /// from a peer, which checks the next one with [`Engine::certified`]
    /// at once and starts a height only once the blocks below it are
    /// durable (ADR 0049) — with [`Engine::advance`] and the same record
    /// when that block is refused. Messages buffered for the height are
    /// dropped, as when [`Engine::advance`] finds its block held ahead.
    pub fn enter(&mut self, record: ConsensusRecord, last_commit: CommitCertificate) {
        self.move_to(record, last_commit);
        self.clear_future();
    }

    /// Drops the messages buffered for the next height.
    fn clear_future(&mut self) {
        self.future.clear();
        self.future_bytes = 0;
    }

    /// The state of a new, unstarted height after `record`.
    fn move_to(&mut self, record: ConsensusRecord, last_commit: CommitCertificate) {
        let height = record.height + 1;
        let mut machine = HeightMachine::new(record, self.me(), self.timeouts)
            .with_selection(self.rules.proposer_selection());
        if !self.locking {
            machine.disable_locking_for_testing();
        }
        self.machine = machine;
        // The caller's certificate is the one the chain stored at the
        // decision; the one kept here may have gained late precommits.
        let last_commit = match self.decided_cert.take() {
            Some(c)
                if c.height == last_commit.height
                    && c.block_hash == last_commit.block_hash
                    && c.signatures.len() > last_commit.signatures.len() =>
            {
                c
            }
            _ => last_commit,
        };
        self.last_commit = Some(last_commit);
        self.blocks.clear();
        self.valid.clear();
        self.proposals.clear();
        // What this validator signed at this height — recorded before a
        // restart (held ahead until now), or signed before the height was
        // left and entered again (a certified block refused after `enter`)
        // — stands: the machine resumes from it and it is never replaced.
        if self.signed.height != height {
            self.signed = SignedState {
                height,
                ..SignedState::default()
            };
        }
        match self.ahead.take() {
            Some(s) if s.height == height => self.signed = s,
            Some(s) if s.height > height => self.ahead = Some(s),
            _ => {}
        }
        self.machine
            .restore(self.signed.round, self.signed.locked, self.signed.valid);
        self.decided = false;
        self.decided_by_votes = false;
        self.certified_ahead = self.certified_ahead.split_off(&height);
    }

    /// What to gossip again to peers that may have missed it: the
    /// proposals of this height (from the current round down) and every
    /// vote counted in the current and the previous round.
    pub fn regossip(&self) -> Vec<ConsensusMessage> {
        if self.decided {
            return Vec::new();
        }
        let round = self.round();
        let mut out: Vec<ConsensusMessage> = self
            .proposals
            .range(round.saturating_sub(1)..=round)
            .map(|(_, p)| ConsensusMessage::Proposal(Box::new(p.clone())))
            .collect();
        // Rounds whose votes are gossiped: the current and the previous
        // one, and the proof-of-lock rounds (the round of this node's valid
        // value, and the POL round of the proposals it holds), without
        // whose prevotes a peer cannot accept a re-proposed value (lines
        // 28–33) and the height could stall with validators locked on it.
        let mut rounds: Vec<u32> = vec![round.saturating_sub(1), round];
        if let Some((_, vr)) = self.machine.valid() {
            rounds.push(vr);
            if vr + 1 < round {
                if let Some(p) = self.proposals.get(&vr) {
                    out.push(ConsensusMessage::Proposal(Box::new(p.clone())));
                }
            }
        }
        rounds.extend(
            self.proposals
                .range(round.saturating_sub(1)..=round)
                .filter_map(|(_, p)| p.proposal.pol_round),
        );
        rounds.sort_unstable();
        rounds.dedup();
        for r in rounds {
            let votes = self.machine.keeper().votes_of_round(r);
            let pol_only = r + 1 < round;
            out.extend(
                votes
                    .into_iter()
                    .filter(|v| !pol_only || v.vote.kind == VoteKind::Prevote)
                    .map(ConsensusMessage::Vote),
            );
        }
        out
    }

    /// A precommit for the block this node decided, after the decision:
    /// added to the certificate the next block will carry. Anything else
    /// for the decided height is stale.
    fn late_precommit(&mut self, v: SignedVote) -> Result<Vec<Effect>, MessageError> {
        let height = v.vote.height;
        let stale = MessageError::Stale {
            height,
            current: height,
        };
        let Some(cert) = self.decided_cert.as_mut() else {
            return Err(stale);
        };
        if v.vote.kind != VoteKind::Precommit
            || v.vote.round != cert.round
            || v.vote.block != Some(cert.block_hash)
        {
            return Err(stale);
        }
        let set = &self.machine.record().validators;
        let index = set
            .index_of(&v.vote.validator)
            .ok_or(MessageError::UnknownValidator(v.vote.validator))?;
        if cert.signed_by(index) {
            return Err(MessageError::Duplicate);
        }
        let key = &set.get(index).expect("index from the set").public_key;
        luminex_crypto::verify(key, &v.vote.digest(self.rules.domain()), &v.signature)
            .map_err(|_| MessageError::BadSignature)?;
        let mut signed: Vec<(usize, Signature)> = cert
            .signer_indexes()
            .into_iter()
            .zip(std::mem::take(&mut cert.signatures))
            .collect();
        signed.push((index, v.signature));
        *cert = CommitCertificate::new(height, cert.round, cert.block_hash, set.len(), signed);
        Ok(Vec::new())
    }

    fn check_vote(&mut self, v: SignedVote) -> Result<Input, MessageError> {
        let set = &self.machine.record().validators;
        let Some(index) = set.index_of(&v.vote.validator) else {
            return Err(MessageError::UnknownValidator(v.vote.validator));
        };
        if self.machine.keeper().contains(&v.vote) {
            return Err(MessageError::Duplicate);
        }
        let key = &set.get(index).expect("index from the set").public_key;
        luminex_crypto::verify(key, &v.vote.digest(self.rules.domain()), &v.signature)
            .map_err(|_| MessageError::BadSignature)?;
        Ok(Input::Vote(v))
    }

    fn check_proposal(
        &mut self,
        p: SignedProposal,
        host: &mut dyn Host,
    ) -> Result<Input, MessageError> {
        let round = p.proposal.round;
        let current = self.round();
        if round > current.saturating_add(MAX_PROPOSAL_ROUNDS_AHEAD) {
            return Err(MessageError::RoundTooFar { round, current });
        }
        let proposer = self.machine.proposer(round);
        let set = &self.machine.record().validators;
        let index = set
            .index_of(&proposer)
            .ok_or(MessageError::UnknownValidator(proposer))?;
        let block_height = p.proposal.block.header.as_bft().map(|h| h.height);
        if block_height != Some(p.proposal.height) {
            return Err(MessageError::HeightMismatch {
                block: block_height.unwrap_or(0),
                proposal: p.proposal.height,
            });
        }
        let hash = p.proposal.block.hash();
        if self
            .proposals
            .get(&round)
            .is_some_and(|q| q.proposal.block.hash() == hash)
        {
            return Err(MessageError::Duplicate);
        }
        let size = p.proposal.block.encoded_len();
        let max = self.rules.max_block_bytes();
        if size > max {
            return Err(MessageError::Oversized { size, max });
        }
        let key = &set.get(index).expect("index from the set").public_key;
        luminex_crypto::verify(key, &p.proposal.digest(self.rules.domain()), &p.signature)
            .map_err(|_| MessageError::NotProposer {
                round,
                signer: proposer,
            })?;
        let valid = match self.valid.get(&hash) {
            Some(v) => *v,
            None => {
                let v = host.validate_block(&p.proposal.block);
                self.valid.insert(hash, v);
                v
            }
        };
        let pol_round = p.proposal.pol_round;
        // Only a new value is held to this validator's clock (ADR 0065).
        let timely = pol_round.is_some() || host.timely(&p.proposal.block, round);
        self.blocks
            .entry(hash)
            .or_insert_with(|| Arc::clone(&p.proposal.block));
        self.proposals.entry(round).or_insert(p);
        Ok(Input::Proposal {
            round,
            value: hash,
            pol_round,
            valid,
            timely,
        })
    }

    /// Carries out the machine's outputs, feeding this validator's own
    /// messages back into it.
    fn apply(&mut self, outputs: Vec<Output>, host: &mut dyn Host, effects: &mut Vec<Effect>) {
        let mut queue: std::collections::VecDeque<Output> = outputs.into();
        while let Some(o) = queue.pop_front() {
            match o {
                Output::Propose {
                    round,
                    value,
                    pol_round,
                } => match self.propose(round, value, pol_round, host, effects) {
                    Some(input) => queue.extend(self.machine.handle(input)),
                    // Nothing proposed (no block could be built, or a
                    // different block was recorded for this round before a
                    // restart): wait out the round like any validator, so
                    // this one still prevotes (nil) and the round can end.
                    None => effects.push(Effect::Schedule {
                        height: self.height(),
                        round,
                        kind: TimeoutKind::Propose,
                        after_ms: self.timeouts.duration_ms(TimeoutKind::Propose, round),
                    }),
                },
                Output::Vote { kind, round, value } => {
                    if let Some(v) = self.sign_vote(kind, round, value, host, effects) {
                        queue.extend(self.machine.handle(Input::Vote(v)));
                    }
                }
                Output::ScheduleTimeout {
                    kind,
                    round,
                    duration_ms,
                } => effects.push(Effect::Schedule {
                    height: self.height(),
                    round,
                    kind,
                    after_ms: duration_ms,
                }),
                Output::Evidence(e) => effects.push(Effect::Evidence(e)),
                Output::Decide { round, value } => {
                    let Some(block) = self.blocks.get(&value).cloned() else {
                        // A decision is only reached on a proposal this node
                        // holds (the machine decides on valid proposals).
                        continue;
                    };
                    let set = &self.machine.record().validators;
                    let signed = self
                        .machine
                        .keeper()
                        .precommits_for(round, &value)
                        .into_iter()
                        .map(|(i, v)| (i, v.signature))
                        .collect();
                    let certificate =
                        CommitCertificate::new(self.height(), round, value, set.len(), signed);
                    self.decided = true;
                    self.decided_by_votes = true;
                    self.decided_cert = Some(certificate.clone());
                    effects.push(Effect::Commit { block, certificate });
                }
            }
        }
    }

    /// Records `state` before anything in it is sent.
    fn record(&mut self, host: &mut dyn Host) -> Result<(), String> {
        self.signed.round = self.machine.round();
        self.signed.locked = self.machine.locked();
        self.signed.valid = self.machine.valid();
        host.persist(&self.signed)
    }

    fn propose(
        &mut self,
        round: u32,
        value: Option<Hash>,
        pol_round: Option<u32>,
        host: &mut dyn Host,
        effects: &mut Vec<Effect>,
    ) -> Option<Input> {
        if self.ahead.is_some() {
            return None;
        }
        let signer = self.signer.as_ref()?;
        let proposer = signer.id();
        let height = self.height();
        let block = match value {
            // The valid value again; a restarted validator may not hold it.
            Some(v) => self.blocks.get(&v).cloned()?,
            None => host.build_block(height, round, proposer, self.last_commit.as_ref())?,
        };
        let hash = block.hash();
        if let Some((_, h)) = self.signed.proposals.iter().find(|(r, _)| *r == round) {
            if *h != hash {
                // Signed another block for this round before a restart.
                return None;
            }
        } else {
            self.signed.proposals.push((round, hash));
            if let Err(e) = self.record(host) {
                effects.push(Effect::PersistFailed(e));
                self.signed.proposals.pop();
                return None;
            }
        }
        let proposal = Proposal {
            height,
            round,
            pol_round,
            block,
        };
        let signature = self
            .signer
            .as_ref()?
            .sign(&proposal.digest(self.rules.domain()));
        let signed = SignedProposal {
            proposal,
            signature,
        };
        self.valid.insert(hash, true);
        self.blocks
            .entry(hash)
            .or_insert_with(|| Arc::clone(&signed.proposal.block));
        self.proposals.entry(round).or_insert(signed.clone());
        effects.push(Effect::Broadcast(ConsensusMessage::Proposal(Box::new(
            signed,
        ))));
        Some(Input::Proposal {
            round,
            value: hash,
            pol_round,
            valid: true,
            timely: true,
        })
    }

    fn sign_vote(
        &mut self,
        kind: VoteKind,
        round: u32,
        value: Option<Hash>,
        host: &mut dyn Host,
        effects: &mut Vec<Effect>,
    ) -> Option<SignedVote> {
        if self.ahead.is_some() {
            return None;
        }
        let me = self.signer.as_ref()?.id();
        self.machine.record().validators.index_of(&me)?;
        let mut vote = Vote {
            kind,
            height: self.height(),
            round,
            block: value,
            validator: me,
        };
        if let Some(earlier) = self
            .signed
            .votes
            .iter()
            .find(|v| v.kind == kind && v.round == round)
        {
            // Signed before a restart: that vote stands, whatever the
            // machine asks now.
            vote = *earlier;
        } else {
            self.signed.votes.push(vote);
            if let Err(e) = self.record(host) {
                effects.push(Effect::PersistFailed(e));
                self.signed.votes.pop();
                return None;
            }
        }
        let signature = self
            .signer
            .as_ref()?
            .sign(&vote.digest(self.rules.domain()));
        let signed = SignedVote { vote, signature };
        effects.push(Effect::Broadcast(ConsensusMessage::Vote(signed.clone())));
        Some(signed)
    }
}
