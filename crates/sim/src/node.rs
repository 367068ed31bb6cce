//! One simulated node: its "disk" (a memory key-value store and the last
//! recorded [`SignedState`]) survives a crash; everything else — chain
//! handle, mempool, signature cache, engine, timers — is rebuilt on
//! restart from the disk alone.

use std::sync::Arc;

use luminex_consensus::bft::evidence::MAX_POOL;
use luminex_consensus::bft::{BftRules, Engine, EvidencePool, Host, ProposalRelay, SignedState};
use luminex_crypto::SigningKey;
use luminex_ledger::{ChainSpec, CheckedBlock, SigCache};
use luminex_mempool::Mempool;
use luminex_primitives::{Amount, Block, CommitCertificate, Hash, Lock, TxOut};
use luminex_storage::{ChainStore, MemoryStore};

use crate::Behaviour;

/// What a crash keeps.
pub struct Disk {
    /// The chain's key-value store (every block commit is durable).
    pub kv: Arc<MemoryStore>,
    /// The validator's last recorded signed state.
    pub wal: Option<SignedState>,
}

/// What a crash loses.
pub struct Live {
    /// The chain.
    pub chain: ChainStore,
    /// Waiting transactions.
    pub mempool: Mempool,
    /// Verified signatures.
    pub cache: SigCache,
    /// The BFT engine.
    pub engine: Engine,
    /// Compact proposals in flight (ADR 0029).
    pub relay: ProposalRelay,
    /// Double-signing evidence it holds.
    pub evidence: EvidencePool,
}

/// A node of the simulation.
pub struct SimNode {
    /// Its validator key.
    pub key: SigningKey,
    /// How it behaves.
    pub behaviour: Behaviour,
    /// Survives crashes.
    pub disk: Disk,
    /// `None` while crashed.
    pub live: Option<Live>,
    /// Bumped on every restart: timers of an earlier life are ignored.
    pub epoch: u64,
}

impl SimNode {
    /// A node that has not started yet.
    pub fn new(key: SigningKey, behaviour: Behaviour) -> SimNode {
        SimNode {
            key,
            behaviour,
            disk: Disk {
                kv: Arc::new(MemoryStore::new()),
                wal: None,
            },
            live: None,
            epoch: 0,
        }
    }

    /// (Re)starts from the disk: opens the chain, builds an engine for the
    /// height after the tip with the recorded signed state.
    pub fn boot(
        &mut self,
        spec: &ChainSpec,
        rules: &BftRules,
        locking: bool,
    ) -> Result<(), String> {
        let kv: Arc<dyn luminex_storage::KvStore> = self.disk.kv.clone();
        let chain = ChainStore::open(kv, spec.clone(), luminex_consensus::rules_for(spec))
            .map_err(|e| format!("open: {e}"))?;
        let tip = chain.tip();
        let record = chain
            .consensus_record(tip.height)
            .map_err(|e| e.to_string())?
            .ok_or("no consensus state at the tip")?;
        let last_commit = chain.certificate(tip.height).map_err(|e| e.to_string())?;
        let cache = SigCache::new(1 << 14);
        let mempool = Mempool::new(spec.clone(), cache.clone(), 1 << 24);
        let signer: Box<dyn luminex_consensus::bft::ConsensusSigner> = Box::new(self.key.clone());
        let mut engine = Engine::new(
            rules.clone(),
            Some(signer),
            rules.timeouts(),
            record,
            last_commit,
            self.disk.wal.clone(),
        );
        if !locking {
            engine.disable_locking_for_testing();
        }
        self.live = Some(Live {
            chain,
            mempool,
            cache,
            engine,
            relay: ProposalRelay::new(spec.merkle_commitment),
            evidence: EvidencePool::new(u64::MAX),
        });
        self.epoch += 1;
        Ok(())
    }

    /// The height of the tip (0 while crashed).
    pub fn tip_height(&self) -> u64 {
        self.live.as_ref().map_or(0, |l| l.chain.tip().height)
    }
}

/// The [`Host`] the engine of a live node sees.
pub struct NodeHost<'a> {
    /// The chain.
    pub chain: &'a ChainStore,
    /// Its mempool.
    pub mempool: &'a Mempool,
    /// The chain's BFT rules.
    pub rules: &'a BftRules,
    /// Its signature cache.
    pub cache: &'a SigCache,
    /// The disk's signed-state record.
    pub wal: &'a mut Option<SignedState>,
    /// Simulated time.
    pub now_ms: u64,
    /// Where this node's block rewards go.
    pub reward: Lock,
    /// Builds invalid blocks when set.
    pub invalid_blocks: bool,
    /// Evidence to put in its proposals.
    pub evidence: &'a EvidencePool,
}

impl Host for NodeHost<'_> {
    fn build_block(
        &mut self,
        height: u64,
        _round: u32,
        proposer: Hash,
        last_commit: Option<&CommitCertificate>,
    ) -> Option<Arc<Block>> {
        let parent = self.chain.tip_parent();
        if parent.height + 1 != height {
            return None;
        }
        let record = self.chain.consensus_record(parent.height).ok()??;
        let (mut txs, _) = self.mempool.block_payload(height, self.reward, &[]).ok()?;
        if self.invalid_blocks {
            // A coinbase that claims more than it may.
            txs[0].outputs.push(TxOut {
                amount: Amount::from_base(1_000_000_000_000).expect("in range"),
                lock: self.reward,
            });
        }
        // Pending evidence still punishable, after the other transactions
        // (ADR 0039).
        txs.extend(self.chain.with_staking(|staking| {
            luminex_ledger::evidence::evidence_txs(
                &self.evidence.to_propose(MAX_POOL),
                staking,
                height,
                self.chain.spec(),
                self.reward,
            )
        }));
        Some(Arc::new(self.chain.with_context(|ctx| {
            self.rules.build_block(
                &parent,
                &record,
                ctx,
                last_commit.cloned(),
                proposer,
                self.now_ms,
                txs,
            )
        })))
    }

    fn timely(&mut self, block: &Block, round: u32) -> bool {
        self.rules.timely(block, round, self.now_ms)
    }

    fn validate_block(&mut self, block: &Arc<Block>) -> bool {
        CheckedBlock::check(Arc::clone(block), self.chain.spec()).is_ok_and(|checked| {
            self.chain
                .check_proposal(&checked, self.now_ms, self.cache)
                .is_ok()
        })
    }

    fn persist(&mut self, state: &SignedState) -> Result<(), String> {
        *self.wal = Some(state.clone());
        Ok(())
    }
}
