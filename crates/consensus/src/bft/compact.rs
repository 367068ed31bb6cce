//! Compact proposals: a proposal's block sent as its header, its parent's
//! certificate, its coinbase and the txids of its other transactions,
//! which every validator already holds in its mempool (they were gossiped
//! on the transaction topic before the proposer took them). A receiver
//! rebuilds the block from its mempool and asks for the few transactions it
//! lacks; the proposal's signature covers the block hash and the txid
//! list, so the compact form is authenticated before anything is rebuilt
//! and may be relayed at once.
//!
//! Sending whole blocks made every transaction cross every link twice and
//! made gossip carry messages of tens of megabytes (BENCHMARKS.md, "BFT
//! network under load"). This is the block topic's compact relay applied to
//! proposals, with full txids instead of salted short ids: a proposal is
//! sent to a few validators, not to the whole network, so the 26 bytes a
//! transaction saved would buy less than the collision handling they need.
//!
//! Everything here is deterministic: the node's consensus task gives it
//! mempool lookups and the transactions that arrive.

use std::sync::Arc;

use luminex_ledger::KnownTx;
use luminex_primitives::block::MAX_BLOCK_TXS;
use luminex_primitives::codec::{put_length, Decode, DecodeError, Encode, Reader, Sink};
use luminex_primitives::{
    Block, CommitCertificate, Hash, Header, MerkleCommitment, Signature, Transaction,
};

use super::engine::{Engine, MessageError, MAX_PROPOSAL_ROUNDS_AHEAD};
use super::message::{proposal_digest, txid_list_digest, Proposal, SignedProposal};

/// A signed proposal whose block is carried as txids (see the module docs).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CompactProposal {
    /// Height.
    pub height: u64,
    /// Round.
    pub round: u32,
    /// Proof-of-lock round, as in [`Proposal::pol_round`].
    pub pol_round: Option<u32>,
    /// The block's header.
    pub header: Header,
    /// The block's certificate of its parent.
    pub last_commit: Option<CommitCertificate>,
    /// The block's first transaction, sent whole (no mempool holds it).
    pub coinbase: Option<Transaction>,
    /// Txids of the block's other transactions, in block order.
    pub txids: Vec<Hash>,
    /// The proposer's signature over the proposal's digest.
    pub signature: Signature,
}

impl CompactProposal {
    /// The compact form of `p`.
    pub fn new(p: &SignedProposal) -> CompactProposal {
        let block = &p.proposal.block;
        CompactProposal {
            height: p.proposal.height,
            round: p.proposal.round,
            pol_round: p.proposal.pol_round,
            header: block.header,
            last_commit: block.last_commit.clone(),
            coinbase: block.txs.first().cloned(),
            txids: block.txs.iter().skip(1).map(Transaction::txid).collect(),
            signature: p.signature.clone(),
        }
    }

    /// The hash of the proposed block.
    pub fn block_hash(&self) -> Hash {
        self.header.hash()
    }

    /// Transactions in the block, coinbase included.
    pub fn tx_count(&self) -> usize {
        self.txids.len() + usize::from(self.coinbase.is_some())
    }

    /// The txid expected at block index `index`, if that index is one the
    /// mempool can supply (not the coinbase, not past the end).
    fn txid_at(&self, index: u32) -> Option<&Hash> {
        let first = usize::from(self.coinbase.is_some());
        (index as usize)
            .checked_sub(first)
            .and_then(|i| self.txids.get(i))
    }

    /// The signed proposal of `block`, which must be the block this
    /// proposal names (same hash).
    pub fn with_block(self, block: Arc<Block>) -> SignedProposal {
        debug_assert_eq!(block.hash(), self.block_hash());
        SignedProposal {
            proposal: Proposal {
                height: self.height,
                round: self.round,
                pol_round: self.pol_round,
                block,
            },
            signature: self.signature,
        }
    }

    /// Checks that the proposal is signed by the proposer of its round in
    /// the engine's current height — over the block hash and the txid list
    /// carried here — so it may be relayed before its block is rebuilt. The block itself is validated when the rebuilt proposal
    /// reaches [`Engine::receive`].
    pub fn authenticate(&self, engine: &Engine) -> Result<(), MessageError> {
        let current = engine.height();
        if self.height < current || (self.height == current && engine.is_decided()) {
            return Err(MessageError::Stale {
                height: self.height,
                current,
            });
        }
        if self.height > current {
            return Err(MessageError::TooFarAhead {
                height: self.height,
                current,
            });
        }
        let round = engine.round();
        if self.round > round.saturating_add(MAX_PROPOSAL_ROUNDS_AHEAD) {
            return Err(MessageError::RoundTooFar {
                round: self.round,
                current: round,
            });
        }
        let block_height = self.header.as_bft().map(|h| h.height);
        if block_height != Some(self.height) {
            return Err(MessageError::HeightMismatch {
                block: block_height.unwrap_or(0),
                proposal: self.height,
            });
        }
        let proposer = engine.machine().proposer(self.round);
        let set = &engine.machine().record().validators;
        let index = set
            .index_of(&proposer)
            .ok_or(MessageError::UnknownValidator(proposer))?;
        let key = &set.get(index).expect("index from the set").public_key;
        let txids = txid_list_digest(
            self.coinbase
                .iter()
                .map(Transaction::txid)
                .chain(self.txids.iter().copied()),
        );
        let digest = proposal_digest(
            engine.rules().domain(),
            self.height,
            self.round,
            self.pol_round,
            &self.block_hash(),
            &txids,
        );
        luminex_crypto::verify(key, &digest, &self.signature).map_err(|_| {
            MessageError::NotProposer {
                round: self.round,
                signer: proposer,
            }
        })
    }
}

/// Why transactions offered for a compact proposal were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    /// Indexes and transactions of different counts.
    #[error("{indexes} indexes for {txs} transactions")]
    Counts {
        /// Indexes given.
        indexes: usize,
        /// Transactions given.
        txs: usize,
    },
    /// An index outside the block or of its coinbase.
    #[error("index {0} is not a mempool transaction of the block")]
    Index(u32),
    /// A transaction whose txid is not the one the proposal names there.
    #[error("the transaction at index {0} is not the one proposed")]
    Txid(u32),
}

/// A mempool's transaction offered to a proposal being rebuilt, with what
/// the mempool's admission found about it (its ids and size, under this
/// chain's spec), when known: the rebuilt block is then neither hashed nor
/// checked again for it.
#[derive(Clone, Debug)]
pub struct Pooled {
    /// The transaction.
    pub tx: Arc<Transaction>,
    /// Its ids and size from the mempool's admission, if known.
    pub known: Option<KnownTx>,
}

impl From<Arc<Transaction>> for Pooled {
    fn from(tx: Arc<Transaction>) -> Pooled {
        Pooled { tx, known: None }
    }
}

/// A compact proposal being rebuilt.
#[derive(Clone, Debug)]
pub struct PendingProposal {
    compact: CompactProposal,
    /// The block's transactions as far as known, coinbase first.
    slots: Vec<Option<Arc<Transaction>>>,
    /// What the mempool knew of the transaction in each slot.
    known: Vec<Option<KnownTx>>,
}

impl PendingProposal {
    /// Starts rebuilding `compact`: only its coinbase is known.
    pub fn new(compact: CompactProposal) -> PendingProposal {
        let mut slots: Vec<Option<Arc<Transaction>>> = vec![None; compact.tx_count()];
        if let Some(c) = &compact.coinbase {
            slots[0] = Some(Arc::new(c.clone()));
        }
        let known = vec![None; slots.len()];
        PendingProposal {
            compact,
            slots,
            known,
        }
    }

    /// The proposal.
    pub fn compact(&self) -> &CompactProposal {
        &self.compact
    }

    /// Fills the missing transactions that `lookup` (the mempool, by txid)
    /// has.
    pub fn fill_from(&mut self, mut lookup: impl FnMut(&Hash) -> Option<Pooled>) {
        let first = usize::from(self.compact.coinbase.is_some());
        let slots = self.slots[first..].iter_mut().zip(&mut self.known[first..]);
        for ((slot, known), txid) in slots.zip(&self.compact.txids) {
            if slot.is_none() {
                if let Some(p) = lookup(txid) {
                    *slot = Some(p.tx);
                    // Ids for another txid would be another transaction's.
                    *known = p.known.filter(|k| k.txid == *txid);
                }
            }
        }
    }

    /// What the mempool knew of each transaction of the block (none for
    /// the coinbase and for transactions asked for), for
    /// [`luminex_ledger::CheckedBlock::check_known`].
    pub fn known(&self) -> &[Option<KnownTx>] {
        &self.known
    }

    /// Block indexes of the transactions still missing, ascending.
    pub fn missing(&self) -> Vec<u32> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.is_none())
            .map(|(i, _)| i as u32)
            .collect()
    }

    /// Checks transactions offered for block indexes `indexes` against the
    /// txids of the proposal, without taking them.
    pub fn check(&self, indexes: &[u32], txs: &[Transaction]) -> Result<(), FillError> {
        check_fill(&self.compact, indexes, txs)
    }

    /// Takes transactions for block indexes `indexes` (after the same
    /// checks as [`Self::check`]; nothing is taken when one fails).
    pub fn supply(&mut self, indexes: &[u32], txs: Vec<Transaction>) -> Result<(), FillError> {
        self.check(indexes, &txs)?;
        for (i, tx) in indexes.iter().zip(txs) {
            let slot = &mut self.slots[*i as usize];
            if slot.is_none() {
                *slot = Some(Arc::new(tx));
            }
        }
        Ok(())
    }

    /// The signed proposal once every transaction is known: `None` while
    /// some are missing. When the transactions do not match the header's
    /// commitment (a mempool transaction with the txid but another
    /// witness), every slot but the coinbase is emptied and `Some(Err)` is
    /// returned: ask for them all.
    pub fn finish(
        &mut self,
        commitment: MerkleCommitment,
    ) -> Option<Result<SignedProposal, FillError>> {
        if self.slots.iter().any(Option::is_none) {
            return None;
        }
        let txs: Vec<Transaction> = self
            .slots
            .iter()
            .map(|s| Transaction::clone(s.as_ref().expect("every slot filled")))
            .collect();
        let c = &self.compact;
        // The mempool's ids where it gave them, hashed here otherwise.
        let (txids, wtxids): (Vec<Hash>, Vec<Hash>) = txs
            .iter()
            .zip(&self.known)
            .map(|(tx, k)| match k {
                Some(k) => (k.txid, k.wtxid),
                None => (tx.txid(), tx.wtxid()),
            })
            .unzip();
        let root = c.header.merkle_root();
        if commitment
            .check_ids(&root, txs.first(), &txids, &wtxids)
            .is_err()
        {
            let first = usize::from(c.coinbase.is_some());
            for s in &mut self.slots[first..] {
                *s = None;
            }
            for k in &mut self.known[first..] {
                *k = None;
            }
            return Some(Err(FillError::Txid(first as u32)));
        }
        let block = Block {
            header: c.header,
            txs,
            last_commit: c.last_commit.clone(),
        };
        Some(Ok(SignedProposal {
            proposal: Proposal {
                height: c.height,
                round: c.round,
                pol_round: c.pol_round,
                block: Arc::new(block),
            },
            signature: c.signature.clone(),
        }))
    }
}

/// Checks transactions offered for block indexes `indexes` of `compact`.
pub fn check_fill(
    compact: &CompactProposal,
    indexes: &[u32],
    txs: &[Transaction],
) -> Result<(), FillError> {
    if indexes.len() != txs.len() {
        return Err(FillError::Counts {
            indexes: indexes.len(),
            txs: txs.len(),
        });
    }
    for (i, tx) in indexes.iter().zip(txs) {
        let want = compact.txid_at(*i).ok_or(FillError::Index(*i))?;
        if tx.txid() != *want {
            return Err(FillError::Txid(*i));
        }
    }
    Ok(())
}

/// The transactions of `block` at `indexes`; `None` when an index is out
/// of range.
pub fn txs_at(block: &Block, indexes: &[u32]) -> Option<Vec<Transaction>> {
    indexes
        .iter()
        .map(|i| block.txs.get(*i as usize).cloned())
        .collect()
}

impl Encode for CompactProposal {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.height.to_le_bytes());
        s.put(&self.round.to_le_bytes());
        s.put(&self.pol_round.map_or(-1i64, i64::from).to_le_bytes());
        self.header.encode_to(s);
        match &self.last_commit {
            None => s.put(&[0]),
            Some(c) => {
                s.put(&[1]);
                c.encode_to(s);
            }
        }
        match &self.coinbase {
            None => s.put(&[0]),
            Some(c) => {
                s.put(&[1]);
                c.encode_to(s);
            }
        }
        put_length(s, self.txids.len());
        for t in &self.txids {
            t.encode_to(s);
        }
        self.signature.encode_to(s);
    }
}

/// Reads a `-1`-or-round proof-of-lock round, which must be below `round`.
pub(crate) fn decode_pol_round(r: &mut Reader<'_>, round: u32) -> Result<Option<u32>, DecodeError> {
    let pol = r.u64("proposal pol round")? as i64;
    match pol {
        -1 => Ok(None),
        p if (0..=i64::from(u32::MAX)).contains(&p) && p < i64::from(round) => Ok(Some(p as u32)),
        _ => Err(DecodeError::OutOfRange {
            field: "proposal pol round",
        }),
    }
}

/// Reads a one-byte presence flag.
fn flag(r: &mut Reader<'_>, field: &'static str) -> Result<bool, DecodeError> {
    match r.u8(field)? {
        0 => Ok(false),
        1 => Ok(true),
        tag => Err(DecodeError::UnknownTag {
            field,
            tag: tag.into(),
        }),
    }
}

impl Decode for CompactProposal {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let height = r.u64("proposal height")?;
        let round = r.u32("proposal round")?;
        let pol_round = decode_pol_round(r, round)?;
        let header = Header::decode(r)?;
        let last_commit = if flag(r, "last commit flag")? {
            Some(CommitCertificate::decode(r)?)
        } else {
            None
        };
        let coinbase = if flag(r, "coinbase flag")? {
            Some(Transaction::decode(r)?)
        } else {
            None
        };
        let txids = r.seq("txids", MAX_BLOCK_TXS, Hash::decode)?;
        let signature = Signature::decode(r)?;
        Ok(CompactProposal {
            height,
            round,
            pol_round,
            header,
            last_commit,
            coinbase,
            txids,
            signature,
        })
    }
}
