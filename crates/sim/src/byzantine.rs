//! Byzantine validators: the same engine as everyone, with what it sends
//! corrupted as its [`Behaviour`] dictates. Honest validators' votes are
//! recorded here too, for the no-double-signing check.

use std::sync::Arc;

use luminex_consensus::bft::{ConsensusMessage, SignedProposal, SignedVote};
use luminex_primitives::codec::Encode;
use luminex_primitives::hash::Domain;

use crate::{Behaviour, Sim, Wire};

impl Sim {
    /// Sends what node `i`'s engine broadcast, as its behaviour dictates,
    /// and records the votes honest validators sign.
    pub(crate) fn emit(&mut self, i: usize, m: ConsensusMessage) {
        let behaviour = self.cfg.behaviours[i];
        if let ConsensusMessage::Vote(v) = &m {
            if behaviour == Behaviour::Honest
                && v.vote.validator == self.nodes[i].key.public_key().key_hash()
            {
                let key = (i, v.vote.height, v.vote.round, v.vote.kind);
                match self.signed.get(&key) {
                    Some(b) if *b != v.vote.block => {
                        self.violation = Some(format!(
                            "honest validator {i} signed two {:?}s at height {} round {}",
                            v.vote.kind, v.vote.height, v.vote.round
                        ));
                        return;
                    }
                    Some(_) => {}
                    None => {
                        self.signed.insert(key, v.vote.block);
                    }
                }
            }
        }
        match behaviour {
            Behaviour::Honest | Behaviour::InvalidProposer | Behaviour::FastClock => {
                let bytes = self.encode_for(i, &m);
                self.broadcast(i, Wire::Consensus(bytes));
            }
            Behaviour::Silent => {}
            Behaviour::DoubleVoter => {
                let bytes = self.encode_for(i, &m);
                self.broadcast(i, Wire::Consensus(bytes));
                if let ConsensusMessage::Vote(v) = &m {
                    if v.vote.validator == self.nodes[i].key.public_key().key_hash() {
                        let other = self.conflicting_vote(i, v);
                        self.broadcast(i, Wire::Consensus(other.encode()));
                    }
                }
            }
            Behaviour::Equivocator => match &m {
                ConsensusMessage::Proposal(p) if self.is_own_proposal(i, p) => {
                    let other = self.other_proposal(i, p);
                    let n = self.nodes.len();
                    let first = self.encode_for(i, &m);
                    let second = self.encode_for(i, &other);
                    for to in 0..n {
                        let bytes = if to % 2 == 0 {
                            first.clone()
                        } else {
                            second.clone()
                        };
                        self.send(i, to, Wire::Consensus(bytes));
                    }
                }
                _ => {
                    let bytes = self.encode_for(i, &m);
                    self.broadcast(i, Wire::Consensus(bytes));
                }
            },
            Behaviour::Garbage => {
                let len = 1 + self.rng.below(200) as usize;
                let junk: Vec<u8> = (0..len).map(|_| self.rng.next_u64() as u8).collect();
                self.broadcast(i, Wire::Consensus(junk));
                if let ConsensusMessage::Vote(v) = &m {
                    let mut bad = v.clone();
                    if let Some(b) = bad.signature.bytes.first_mut() {
                        *b ^= 1;
                    }
                    self.broadcast(i, Wire::Consensus(ConsensusMessage::Vote(bad).encode()));
                }
            }
        }
    }

    /// The bytes node `i` sends for `m`: a proposal goes compact through
    /// its relay (which keeps the block to answer requests), as a node's
    /// consensus task sends it; a vote as it is.
    fn encode_for(&mut self, i: usize, m: &ConsensusMessage) -> Vec<u8> {
        match (m, self.nodes[i].live.as_mut()) {
            (ConsensusMessage::Proposal(p), Some(live)) => live.relay.outgoing(p).encode(),
            _ => m.encode(),
        }
    }

    fn is_own_proposal(&self, i: usize, p: &SignedProposal) -> bool {
        let Some(live) = self.nodes[i].live.as_ref() else {
            return false;
        };
        live.engine.height() == p.proposal.height
            && live.engine.machine().proposer(p.proposal.round)
                == self.nodes[i].key.public_key().key_hash()
    }

    fn conflicting_vote(&self, i: usize, v: &SignedVote) -> ConsensusMessage {
        let mut vote = v.vote;
        vote.block = match vote.block {
            Some(_) => None,
            None => Some(Domain("luminex/sim-fake-block").hash(&vote.round.to_le_bytes())),
        };
        let signature = self.nodes[i].key.sign(&vote.digest(self.rules.domain()));
        ConsensusMessage::Vote(SignedVote { vote, signature })
    }

    /// The same proposal with a different block (one millisecond later).
    fn other_proposal(&self, i: usize, p: &SignedProposal) -> ConsensusMessage {
        let mut proposal = p.proposal.clone();
        if let Some(live) = self.nodes[i].live.as_ref() {
            let parent = live.chain.tip_parent();
            if let Ok(Some(record)) = live.chain.consensus_record(parent.height) {
                let block = &p.proposal.block;
                let time = block.header.time_ms() + 1;
                proposal.block = Arc::new(live.chain.with_context(|ctx| {
                    self.rules.build_block(
                        &parent,
                        &record,
                        ctx,
                        block.last_commit.clone(),
                        self.nodes[i].key.public_key().key_hash(),
                        time,
                        block.txs.clone(),
                    )
                }));
            }
        }
        let signature = self.nodes[i]
            .key
            .sign(&proposal.digest(self.rules.domain()));
        ConsensusMessage::Proposal(Box::new(SignedProposal {
            proposal,
            signature,
        }))
    }
}
