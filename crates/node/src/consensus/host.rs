//! The engine's view of the node ([`Host`]): blocks built from the
//! mempool for proposals, blocks checked and committed through the
//! service, and the write-ahead record synced before a signature leaves.

use std::sync::Arc;

use luminex_consensus::bft::evidence::MAX_POOL;
use luminex_consensus::bft::{BftRules, EvidencePool, Host, SignedState};
use luminex_ledger::{BlockError, ChainSpec, CheckedBlock, KnownTx};
use luminex_primitives::codec::Encode;
use luminex_primitives::{Amount, Block, CommitCertificate, Hash, Transaction, TxOut};
use luminex_service::Node;
use luminex_storage::ChainError;

use super::SignedStateFile;

/// The engine's view of the node.
pub(super) struct NodeHost<'a> {
    pub(super) node: &'a Node,
    pub(super) rules: &'a BftRules,
    pub(super) wal: Option<&'a SignedStateFile>,
    /// Evidence to put in this node's proposals.
    pub(super) evidence: &'a EvidencePool,
    /// Blocks of this height that passed [`Host::validate_block`].
    pub(super) checked: &'a mut CheckedBlocks,
}

/// The blocks of the current height that passed the chain's checks, kept
/// so the one decided is committed without checking and hashing every
/// transaction again. Matched by identity (`Arc::ptr_eq`): the engine
/// commits the very block it had checked, and a block with the same hash
/// but another body never borrows these checks.
#[derive(Default)]
pub(super) struct CheckedBlocks {
    checked: Vec<CheckedBlock>,
    /// A proposal rebuilt from the mempool, about to reach the engine,
    /// with what the mempool knew of its transactions
    /// ([`luminex_consensus::bft::relay::Rebuilt::known`]).
    offered: Option<(Arc<Block>, Vec<Option<KnownTx>>)>,
}

impl CheckedBlocks {
    /// At most this many blocks (one per round a height runs to) are kept.
    const MAX: usize = 8;

    /// Keeps `checked`, forgetting the oldest past [`Self::MAX`].
    pub(super) fn keep(&mut self, checked: CheckedBlock) {
        if self.checked.len() == Self::MAX {
            self.checked.remove(0);
        }
        self.checked.push(checked);
    }

    /// The checks of this very block, forgetting every block kept.
    pub(super) fn take(&mut self, block: &Arc<Block>) -> Option<CheckedBlock> {
        let found = self
            .checked
            .iter()
            .position(|c| Arc::ptr_eq(c.block(), block));
        let checked = found.map(|i| self.checked.swap_remove(i));
        self.checked.clear();
        self.offered = None;
        checked
    }

    /// Offers what the mempool knew of a rebuilt proposal's transactions
    /// to the check of this very block, if the engine asks for one.
    pub(super) fn offer(&mut self, block: Arc<Block>, known: Vec<Option<KnownTx>>) {
        self.offered = Some((block, known));
    }

    /// Runs the context-free checks of `block`, without those of the
    /// transactions the mempool had checked when it was offered.
    fn check(&mut self, block: &Arc<Block>, spec: &ChainSpec) -> Result<CheckedBlock, BlockError> {
        match self.offered.take() {
            Some((offered, known)) if Arc::ptr_eq(&offered, block) => {
                CheckedBlock::check_known(Arc::clone(block), spec, &known)
            }
            _ => CheckedBlock::check(Arc::clone(block), spec),
        }
    }
}

/// Drops transactions from the end of `txs` until at least `over` bytes
/// are gone, and returns them. A block payload lists parents before the
/// transactions that spend them, so what is left still connects.
fn drop_to_fit(txs: &mut Vec<Transaction>, over: usize) -> Vec<Transaction> {
    let mut dropped = Vec::new();
    let mut bytes = 0;
    while bytes < over {
        match txs.pop() {
            Some(t) => {
                bytes += t.encoded_len();
                dropped.push(t);
            }
            None => break,
        }
    }
    dropped
}

impl NodeHost<'_> {
    fn now_ms(&self) -> u64 {
        self.node.clock.now_millis()
    }

    /// `payload` (a coinbase, then mempool transactions) less at least
    /// `over` bytes from its end, its coinbase paying the fees of the
    /// transactions left. `None` when a dropped transaction has left the
    /// mempool meanwhile (a block connected: this proposal is stale).
    fn trim_payload(
        &self,
        height: u64,
        mut payload: Vec<Transaction>,
        over: usize,
    ) -> Option<Vec<Transaction>> {
        if payload.is_empty() {
            return Some(payload);
        }
        let coinbase = payload.remove(0);
        let dropped = drop_to_fit(&mut payload, over);
        let pool = self.node.mempool.read();
        let mut fees = Amount::ZERO;
        for t in &dropped {
            fees = fees.checked_add(pool.get(&t.txid())?.fee).ok()?;
        }
        drop(pool);
        let outputs: Vec<TxOut> = coinbase
            .outputs
            .first()
            .and_then(|o| {
                let amount = o.amount.checked_sub(fees).ok()?;
                (amount > Amount::ZERO).then_some(TxOut { amount, ..*o })
            })
            .into_iter()
            .collect();
        let coinbase = match self.node.spec.coinbase(height, outputs, &[], &payload) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot rebuild the coinbase of a proposal");
                return None;
            }
        };
        payload.insert(0, coinbase);
        Some(payload)
    }
}

impl Host for NodeHost<'_> {
    fn build_block(
        &mut self,
        height: u64,
        _round: u32,
        proposer: Hash,
        last_commit: Option<&CommitCertificate>,
    ) -> Option<Arc<Block>> {
        let started = std::time::Instant::now();
        let parent = self.node.chain.tip_parent();
        if parent.height + 1 != height {
            return None;
        }
        // Where accounts must be created, a coinbase paying an uncreated
        // address makes the block invalid: propose nothing (the round
        // passes to the next proposer) until the account exists.
        let lock = self.node.reward_lock;
        if self.node.spec.requires_account_creation()
            && !self.node.chain.with_staking(|s| s.is_account(&lock))
        {
            tracing::warn!(
                height,
                address = %self.node.spec.address(lock),
                "not proposing: this node's producer address is not a created account (`luminex wallet create-account`)"
            );
            return None;
        }
        let record = self.node.chain.consensus_record(parent.height).ok()??;
        let (txs, known) = match self.node.block_payload_known() {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot build a proposal");
                return None;
            }
        };
        let now = self.now_ms();
        let rules = &self.rules;
        // Pending double-signing evidence still punishable on this chain,
        // after the other transactions (ADR 0039).
        let evidence = self.node.chain.with_staking(|staking| {
            luminex_ledger::evidence::evidence_txs(
                &self.evidence.to_propose(MAX_POOL),
                staking,
                height,
                &self.node.spec,
                self.node.reward_lock,
            )
        });
        let chain = &self.node.chain;
        let build = |mut txs: Vec<Transaction>| {
            txs.extend(evidence.iter().cloned());
            chain.with_context(|ctx| {
                rules.build_block(
                    &parent,
                    &record,
                    ctx,
                    last_commit.cloned(),
                    proposer,
                    now,
                    txs,
                )
            })
        };
        let mut block = build(txs);
        // The mempool's payload leaves room for a header and a coinbase, not
        // for the certificate a BFT block carries in its body (~10 kB with
        // four validators): a full mempool made proposals the others
        // refused as too large, and penalized the proposer for.
        let over = block
            .encoded_len()
            .saturating_sub(self.node.spec.max_block_bytes);
        if over > 0 {
            let mut payload = std::mem::take(&mut block.txs);
            payload.truncate(payload.len() - evidence.len());
            let txs = self.trim_payload(height, payload, over)?;
            block = build(txs);
        }
        // Checked now with the ids the mempool computed at admission, so
        // its commit does not hash every witness again (ADR 0056). Only the
        // coinbase and the evidence are hashed; a transaction is matched by
        // its txid (cheap: it leaves out the witnesses).
        let block = Arc::new(block);
        let known: Vec<Option<KnownTx>> = block
            .txs
            .iter()
            .enumerate()
            .map(|(i, tx)| (i > 0).then(|| known.get(&tx.txid()).copied()).flatten())
            .collect();
        match CheckedBlock::check_known(Arc::clone(&block), &self.node.spec, &known) {
            Ok(checked) => self.checked.keep(checked),
            Err(e) => {
                tracing::error!(height, error = %e, "this node's proposal fails its own checks: not proposing it");
                return None;
            }
        }
        tracing::debug!(
            height,
            txs = block.txs.len(),
            ms = started.elapsed().as_millis() as u64,
            "proposal built"
        );
        Some(block)
    }

    fn timely(&mut self, block: &Block, round: u32) -> bool {
        let now_ms = self.now_ms();
        let ok = self.rules.timely(block, round, now_ms);
        if !ok {
            tracing::warn!(
                block = %block.hash(),
                round,
                time_ms = block.header.time_ms(),
                now_ms,
                bound_ms = self.rules.time_bound_ms(round),
                "a proposal dated further ahead of this node's clock than the round allows: prevoting nil (is this node's clock, or the proposer's, wrong?)"
            );
        }
        ok
    }

    fn validate_block(&mut self, block: &Arc<Block>) -> bool {
        let started = std::time::Instant::now();
        let r = self
            .checked
            .check(block, &self.node.spec)
            .map_err(ChainError::from)
            .and_then(|checked| {
                self.node
                    .chain
                    .check_proposal(&checked, self.now_ms(), &self.node.cache)?;
                Ok(checked)
            });
        tracing::debug!(block = %block.hash(), txs = block.txs.len(), ms = started.elapsed().as_millis() as u64, "proposal checked");
        match r {
            Ok(checked) => {
                self.checked.keep(checked);
                true
            }
            Err(e) => {
                tracing::info!(block = %block.hash(), error = %e, "proposed block is invalid");
                false
            }
        }
    }

    fn persist(&mut self, state: &SignedState) -> Result<(), String> {
        let Some(w) = self.wal else {
            return Err("a follower signs nothing".into());
        };
        // Nothing is signed on top of blocks a crash could still take back
        // (ADR 0049): a restart lower than the height signed for would not
        // restore this record. A run of caught-up blocks is synced before
        // its next height starts, so this finds nothing to do.
        if self.node.chain.has_unsynced() {
            self.node.chain.sync().map_err(|e| e.to_string())?;
        }
        w.save(state).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_primitives::TxKind;

    fn tx(data_len: usize) -> Transaction {
        Transaction {
            version: 2,
            chain_id: 1,
            kind: TxKind::Transfer,
            inputs: vec![],
            outputs: vec![],
            expiry_height: 0,
            witnesses: vec![],
            data: vec![7; data_len],
        }
    }

    /// A `dev` block with one signed transfer.
    fn block_with_a_transfer() -> (Arc<Block>, ChainSpec) {
        use luminex_ledger::testkit::{lock_of, sign_all, transfer, TestChain};
        let mut spec = ChainSpec::preset("dev").unwrap();
        spec.coinbase_maturity = 0;
        let chain = TestChain::new(spec);
        let key = chain.keys[0].clone();
        let coins = chain.coins_of(&lock_of(&key));
        let out = TxOut {
            amount: Amount::from_base(1_000_000).unwrap(),
            lock: lock_of(&key),
        };
        let mut tx = transfer(&chain.spec, &key, &coins[..1], vec![out]);
        sign_all(&chain.spec, &mut tx, &key, &[coins[0].1.output]);
        let fees = chain.fees_of(std::slice::from_ref(&tx));
        (
            Arc::new(chain.build_block(vec![tx], fees)),
            chain.spec.clone(),
        )
    }

    #[test]
    fn a_commit_borrows_the_checks_of_that_very_block_only() {
        let (block, spec) = block_with_a_transfer();
        let equal = Arc::new(Block::clone(&block));
        let mut memo = CheckedBlocks::default();
        memo.keep(CheckedBlock::check(Arc::clone(&block), &spec).unwrap());
        // An equal block in another allocation is not the one checked, and
        // a commit forgets every block kept.
        assert!(memo.take(&equal).is_none());
        assert!(memo.take(&block).is_none());
        memo.keep(CheckedBlock::check(Arc::clone(&block), &spec).unwrap());
        let checked = memo.take(&block).unwrap();
        assert!(Arc::ptr_eq(checked.block(), &block));
        // At most MAX blocks are kept, the oldest forgotten first.
        let first = Arc::new(Block::clone(&block));
        memo.keep(CheckedBlock::check(Arc::clone(&first), &spec).unwrap());
        for _ in 0..CheckedBlocks::MAX {
            memo.keep(CheckedBlock::check(Arc::clone(&block), &spec).unwrap());
        }
        assert!(memo.take(&first).is_none());
    }

    #[test]
    fn a_rebuilt_proposals_ids_serve_the_check_of_that_very_block_once() {
        let (block, spec) = block_with_a_transfer();
        let tx = &block.txs[1];
        let right = KnownTx {
            txid: tx.txid(),
            wtxid: tx.wtxid(),
            size: tx.encoded_len(),
        };
        let wrong = KnownTx {
            wtxid: Hash([7; 32]),
            ..right
        };
        let mut memo = CheckedBlocks::default();
        // The offered ids are the ones used: wrong ones fail the block's
        // commitment (a mempool's are right, being its own).
        memo.offer(Arc::clone(&block), vec![None, Some(wrong)]);
        assert!(memo.check(&block, &spec).is_err());
        // Used once: the next check of the block hashes for itself.
        assert!(memo.check(&block, &spec).is_ok());
        // Not for another allocation of the same block.
        memo.offer(Arc::new(Block::clone(&block)), vec![None, Some(wrong)]);
        assert!(memo.check(&block, &spec).is_ok());
        memo.offer(Arc::clone(&block), vec![None, Some(right)]);
        let checked = memo.check(&block, &spec).unwrap();
        assert_eq!(
            checked.ids(),
            CheckedBlock::check(Arc::clone(&block), &spec)
                .unwrap()
                .ids()
        );
    }

    #[test]
    fn a_payload_loses_just_enough_of_its_last_transactions() {
        let all: Vec<Transaction> = (1..=4).map(|i| tx(i * 10)).collect();
        let sizes: Vec<usize> = all.iter().map(Encode::encoded_len).collect();
        let mut txs = all.clone();
        assert!(drop_to_fit(&mut txs, 0).is_empty());
        assert_eq!(txs, all);
        // One byte over costs the whole last transaction, no more.
        assert_eq!(drop_to_fit(&mut txs, 1), all[3..]);
        assert_eq!(txs, all[..3]);
        // Past the last one: the one before goes too.
        let mut txs = all.clone();
        let dropped = drop_to_fit(&mut txs, sizes[3] + 1);
        assert_eq!(dropped, vec![all[3].clone(), all[2].clone()]);
        assert_eq!(txs, all[..2]);
        // More than there is: nothing left, no panic.
        let mut txs = all.clone();
        assert_eq!(drop_to_fit(&mut txs, usize::MAX).len(), 4);
        assert!(txs.is_empty());
    }
}
