//! Connects the node to the peer-to-peer network: the chain adapter the
//! network reads and feeds through, and starting the network from config.

use std::sync::Arc;

use luminex_ledger::{ErrorClass, TxError};
use luminex_mempool::MempoolError;
use luminex_p2p::{BlockVerdict, ChainAccess, NetConfig, Role, Status, SyncConfig, Verdict};
use luminex_primitives::{Block, CommitCertificate, Hash, Header, Transaction};
use luminex_storage::{
    AcceptStatus, Accepted, ChainError, PreparedBlock, Preverifier, PreverifyHelp,
};
use parking_lot::Mutex;

use crate::config::Config;
use luminex_service::Node;

/// The node as the network sees it.
pub struct NodeChain {
    node: Arc<Node>,
    genesis: Hash,
    role: Role,
    preverifier: Mutex<Preverifier>,
    help: PreverifyHelp,
    consensus: Option<crate::consensus::ConsensusHandle>,
    /// Downloaded blocks committed without waiting for the disk, announced
    /// once synced (ADR 0040).
    unsynced: Mutex<Vec<Accepted>>,
}

impl NodeChain {
    /// The adapter for `node`; `consensus` takes the consensus topic's
    /// messages on BFT chains.
    pub fn new(
        node: Arc<Node>,
        role: Role,
        consensus: Option<crate::consensus::ConsensusHandle>,
    ) -> Self {
        let genesis = node.spec.genesis_block().hash();
        let preverifier = Preverifier::new();
        NodeChain {
            node,
            genesis,
            role,
            consensus,
            help: preverifier.helper(),
            preverifier: Mutex::new(preverifier),
            unsynced: Mutex::new(Vec::new()),
        }
    }
}

/// The network's view of what the chain did with a block.
fn verdict(node: &Node, hash: &Hash, accepted: Result<AcceptStatus, ChainError>) -> BlockVerdict {
    match accepted {
        Ok(status) => match status {
            AcceptStatus::Duplicate => BlockVerdict::Known,
            AcceptStatus::Orphan => BlockVerdict::Orphan,
            s => BlockVerdict::Accepted {
                height: node.chain.known_height(hash).unwrap_or(0),
                new_tip: s == AcceptStatus::MainChain,
            },
        },
        Err(ChainError::Invalid(e)) if e.class() == ErrorClass::Premature => {
            BlockVerdict::Failed(e.to_string())
        }
        Err(ChainError::Invalid(e)) => BlockVerdict::Invalid(e.to_string()),
        // A branch this node will not switch to however long it waits:
        // said once per block (the operator must act — the branch forks
        // below the deepest reorganisation allowed or the final block),
        // and not asked for again.
        Err(e @ (ChainError::ReorgTooDeep { .. } | ChainError::Finalized { .. })) => {
            tracing::warn!(block = %hash, error = %e, "a block of a branch this node will not switch to");
            BlockVerdict::Known
        }
        // Invalidated by this node's operator (`invalidateblock`): a local
        // choice, no fault of the peer's.
        Err(ChainError::Invalidated(_)) => BlockVerdict::Known,
        // A read or write that failed may pass: the block is asked for
        // again later.
        Err(e @ ChainError::Store(_)) => BlockVerdict::Failed(e.to_string()),
        // The store stopped taking changes, or found itself inconsistent:
        // asking again changes nothing (the node says why elsewhere).
        Err(e) => {
            tracing::warn!(block = %hash, error = %e, "the chain cannot take blocks");
            BlockVerdict::Known
        }
    }
}

/// How a gossiped transaction's rejection counts against its sender: only
/// what is invalid for everyone is the sender's fault. A refusal by policy
/// (known already, below the fee floor, a full pool) is nobody's; one that
/// depends on this node's view of the chain (a conflict with its mempool,
/// an input, validator, account or authority set it has not seen yet, an
/// expiry or effective height its tip passed first) may just mean the peers
/// saw transactions or blocks in another order.
pub fn tx_verdict(r: &Result<Hash, MempoolError>) -> Verdict {
    match r {
        Ok(_) => Verdict::Accept,
        Err(MempoolError::Conflict { .. }) => Verdict::Ignore,
        Err(MempoolError::Invalid(TxError::Expired { .. })) => Verdict::Ignore,
        Err(MempoolError::Invalid(TxError::Staking(e))) if e.depends_on_state() => Verdict::Ignore,
        Err(MempoolError::Invalid(TxError::Authority(e))) if e.depends_on_state() => {
            Verdict::Ignore
        }
        Err(e) if e.class() == ErrorClass::Consensus => Verdict::Reject,
        Err(_) => Verdict::Ignore,
    }
}

impl ChainAccess for NodeChain {
    type Prepared = PreparedBlock;

    fn status(&self) -> Status {
        let t = self.node.chain.tip();
        Status {
            chain_id: self.node.spec.chain_id,
            genesis: self.genesis,
            height: t.height,
            tip: t.hash,
            work: t.chain_work.to_be_bytes::<32>(),
            role: self.role,
        }
    }

    fn locator(&self) -> Vec<Hash> {
        self.node.chain.locator()
    }

    fn height_of(&self, hash: &Hash) -> Option<u64> {
        self.node.chain.known_height(hash)
    }

    fn header_ok(&self, header: &Header) -> bool {
        self.node.chain.rules().header_work(header).is_ok()
    }

    fn header_work(&self, header: &Header) -> Option<[u8; 32]> {
        let work = self.node.chain.rules().header_work(header).ok()?;
        Some(work.to_be_bytes::<32>())
    }

    fn known_work(&self, hash: &Hash) -> Option<(u64, [u8; 32])> {
        // Valid blocks only (the index marks invalid branches), with the
        // cumulative work the store keeps for each header.
        let height = self.node.chain.known_height(hash)?;
        let record = self.node.chain.header(hash).ok().flatten()?;
        Some((height, record.chain_work.to_be_bytes::<32>()))
    }

    fn refused(&self, hash: &Hash) -> bool {
        self.node.chain.is_invalidated(hash)
    }

    fn headers_after(&self, locator: &[Hash], max: usize) -> Vec<Header> {
        self.node.chain.headers_after(locator, max)
    }

    fn block(&self, hash: &Hash) -> Option<Block> {
        self.node.chain.block(hash).ok().flatten()
    }

    fn block_encoded(&self, hash: &Hash) -> Option<Vec<u8>> {
        self.node.chain.block_encoded(hash).ok().flatten()
    }

    fn for_each_mempool_tx(&self, f: &mut dyn FnMut(&Hash, &Arc<Transaction>)) {
        let pool = self.node.mempool.read();
        for e in pool.entries() {
            f(&e.wtxid, &e.tx);
        }
    }

    fn has_tx(&self, txid: &Hash) -> bool {
        self.node.mempool.read().contains(txid)
    }

    fn mempool_tx_encoded(&self, txid: &Hash) -> Option<Vec<u8>> {
        let tx = self.node.mempool.read().get(txid).map(|e| e.tx.clone())?;
        Some(luminex_primitives::Encode::encode(&*tx))
    }

    fn submit_tx(&self, tx: Transaction) -> Verdict {
        tx_verdict(&self.node.submit_from_peer(tx))
    }

    fn consensus(&self, data: Vec<u8>) -> Verdict {
        match &self.consensus {
            Some(c) => c.gossip(data),
            None => Verdict::Ignore,
        }
    }

    fn certified_encoded(&self, height: u64) -> Option<(Vec<u8>, CommitCertificate)> {
        self.consensus.as_ref()?;
        let chain = &self.node.chain;
        let hash = chain.hash_at(height).ok()??;
        let certificate = chain.certificate(height).ok()??;
        let block = chain.block_encoded(&hash).ok()??;
        Some((block, certificate))
    }

    fn certified(&self, blocks: Vec<(Block, CommitCertificate)>) -> Verdict {
        match &self.consensus {
            Some(c) => c.certified(blocks),
            None => Verdict::Ignore,
        }
    }

    fn import_block(&self, block: PreparedBlock) -> BlockVerdict {
        let hash = block.block().hash();
        let accepted = self.node.accept_prepared_from_peer(&block);
        verdict(&self.node, &hash, accepted.map(|acc| acc.status))
    }

    fn import_block_batched(&self, block: PreparedBlock) -> BlockVerdict {
        let hash = block.block().hash();
        let accepted = self.node.accept_prepared_unsynced(&block).map(|acc| {
            let status = acc.status;
            self.unsynced.lock().push(acc);
            status
        });
        verdict(&self.node, &hash, accepted)
    }

    fn sync_imported(&self) -> bool {
        let accepted = std::mem::take(&mut *self.unsynced.lock());
        match self.node.publish_synced(&accepted) {
            Ok(()) => {
                tracing::debug!(
                    blocks = accepted.len(),
                    height = self.node.chain.tip().height,
                    "downloaded blocks synced"
                );
                true
            }
            Err(e) => {
                tracing::error!(error = %e, "could not make the downloaded blocks durable");
                false
            }
        }
    }

    fn prepare_block(&self, block: Arc<Block>) -> PreparedBlock {
        let (prepared, n) =
            self.preverifier
                .lock()
                .prepare(&self.node.chain, block, &self.node.cache);
        self.node.metrics.signature_verifications.inc_by(n as u64);
        prepared
    }

    fn help_prepare(&self) {
        // Checks the preverifier's own count leaves out.
        let n = self.help.help();
        self.node.metrics.signature_verifications.inc_by(n as u64);
    }
}

/// Starts the network for `node` when the config enables it.
pub fn start(
    cfg: &Config,
    node: &Arc<Node>,
    consensus: Option<crate::consensus::ConsensusHandle>,
) -> anyhow::Result<Option<tokio::task::JoinHandle<()>>> {
    if !cfg.p2p.enabled {
        tracing::info!("peer-to-peer networking disabled");
        return Ok(None);
    }
    let key_path = cfg.chain_dir.join("p2p_key");
    let key = luminex_p2p::load_or_create_key(&key_path)
        .map_err(|e| anyhow::anyhow!("node key {}: {e}", key_path.display()))?;
    let role = if cfg.produce || cfg.mine || consensus.is_some() {
        Role::Producer
    } else {
        Role::Full
    };
    let net_cfg = NetConfig {
        chain_id: cfg.spec.chain_id,
        genesis: cfg.spec.genesis_block().hash(),
        role,
        listen: cfg.p2p.listen.clone(),
        bootnodes: cfg.p2p.bootnodes.clone(),
        external: cfg.p2p.external.clone(),
        max_peers: cfg.p2p.max_peers,
        inbound_per_ip: cfg.p2p.inbound_per_ip,
        inbound_per_subnet: cfg.p2p.inbound_per_subnet,
        anchors: Some(cfg.chain_dir.join("anchors.json")),
        merkle_commitment: cfg.spec.merkle_commitment,
        max_block_bytes: cfg.spec.max_block_bytes,
        block_sync: cfg.spec.consensus != luminex_ledger::spec::ConsensusKind::Bft,
        max_tx_bytes: cfg.spec.max_tx_bytes,
        ban_duration: cfg.p2p.ban,
        lone: cfg.p2p.lone,
        sync: SyncConfig {
            // Until blocks arrive, assume the largest the chain allows.
            first_block_estimate: cfg.spec.max_block_bytes,
            ..SyncConfig::default()
        },
    };
    let chain = Arc::new(NodeChain::new(node.clone(), role, consensus));
    let (handle, task) = luminex_p2p::start(net_cfg, key.clone(), chain, node.clock.clone())
        .map_err(|e| anyhow::anyhow!("starting the network: {e}"))?;
    tracing::info!(peer_id = %key.public().to_peer_id(), "p2p identity");
    let _ = node.net.set(handle);
    Ok(Some(task))
}

/// Shows sync progress as a progress bar while stderr is a terminal (the
/// network logs progress lines either way). Ends when `stop` turns true.
pub async fn progress_bar(node: Arc<Node>, mut stop: tokio::sync::watch::Receiver<bool>) {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return;
    }
    let mut bar: Option<indicatif::ProgressBar> = None;
    let mut tick = tokio::time::interval(std::time::Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => break,
        }
        let Some(net) = node.net.get() else { continue };
        let sync = net.info().sync;
        let height = node.chain.tip().height;
        let target = sync.target_height.max(sync.best_peer_height);
        match (&bar, sync.syncing && target > height) {
            (None, true) => {
                let b = indicatif::ProgressBar::new(target);
                b.set_style(
                    indicatif::ProgressStyle::with_template(
                        "syncing {bar:40} {pos}/{len} blocks ({per_sec}, eta {eta})",
                    )
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
                );
                b.set_position(height);
                bar = Some(b);
            }
            (Some(b), true) => {
                b.set_length(target);
                b.set_position(height);
            }
            (Some(b), false) => {
                b.finish_and_clear();
                bar = None;
            }
            (None, false) => {}
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_ledger::{AuthorityError, StakingError};
    use luminex_p2p::sync::tree::add_work;
    use luminex_primitives::{Amount, Lock, OutPoint, SchemeId};

    /// A gossiped transaction costs its sender only when it is invalid for
    /// every node; policy refusals and refusals that depend on what this
    /// node has seen are ignored.
    #[test]
    fn only_transactions_invalid_for_everyone_reject_their_sender() {
        let op = OutPoint {
            txid: Hash([1; 32]),
            vout: 0,
        };
        let coins = |n| Amount::from_base(n).unwrap();
        let invalid = |e: TxError| Err(MempoolError::Invalid(e));
        let staking = |e: StakingError| invalid(TxError::Staking(e));
        let authority = |e: AuthorityError| invalid(TxError::Authority(e));
        let ignored = [
            Err(MempoolError::AlreadyKnown(Hash([2; 32]))),
            Err(MempoolError::Conflict {
                input: op,
                by: Hash([3; 32]),
            }),
            Err(MempoolError::Full {
                fee_rate: 1,
                lowest: 2,
            }),
            Err(MempoolError::EvidenceNotRelayed),
            Err(MempoolError::TooManyAncestors { limit: 25 }),
            Err(MempoolError::TooManyDescendants {
                of: Hash([11; 32]),
                limit: 25,
            }),
            invalid(TxError::FeeTooLow {
                fee: 1,
                required: 2,
                size: 3,
            }),
            invalid(TxError::MissingInput(op)),
            invalid(TxError::ImmatureCoinbase {
                height: 5,
                mature_at: 100,
            }),
            invalid(TxError::Expired {
                expiry: 9,
                height: 10,
            }),
            staking(StakingError::UnknownValidator(Hash([4; 32]))),
            staking(StakingError::UncreatedAccount {
                output: 0,
                lock: Lock::Key {
                    scheme: SchemeId::MlDsa65,
                    key_hash: Hash([8; 32]),
                },
                address: "lmxam1q".into(),
            }),
            staking(StakingError::ExceedsBond {
                requested: coins(2),
                bonded: coins(1),
            }),
            staking(StakingError::AlreadyLive {
                node: Hash([5; 32]),
                epoch: 3,
            }),
            authority(AuthorityError::UnknownSigner(Hash([9; 32]))),
            authority(AuthorityError::TooSoon {
                effective: 12,
                height: 11,
            }),
            authority(AuthorityError::Expired {
                expiry: 9,
                height: 10,
            }),
            authority(AuthorityError::AlreadyPending(Hash([10; 32]))),
            authority(AuthorityError::NotEnoughPower {
                power: 1,
                total: 4,
                needed: 3,
            }),
        ];
        for r in &ignored {
            assert_eq!(tx_verdict(r), Verdict::Ignore, "{r:?}");
        }
        let rejected = [
            invalid(TxError::NoInputs),
            invalid(TxError::Overspend {
                inputs: coins(1),
                outputs: coins(2),
            }),
            invalid(TxError::WrongChain {
                expected: 1,
                found: 2,
            }),
            staking(StakingError::ZeroAmount),
            staking(StakingError::SelfDelegation(Hash([6; 32]))),
            authority(AuthorityError::Shape),
            authority(AuthorityError::BadSignature(Hash([11; 32]))),
            authority(AuthorityError::DuplicateSigner(Hash([12; 32]))),
        ];
        for r in &rejected {
            assert_eq!(tx_verdict(r), Verdict::Reject, "{r:?}");
        }
        assert_eq!(tx_verdict(&Ok(Hash([7; 32]))), Verdict::Accept);
    }

    /// The header tree weighs a branch as the chain does: the chain's work
    /// for the block it attaches to plus each header's work must come to
    /// the work a peer on that branch claims in its status, or an honest
    /// peer's headers would look short of its claim.
    #[test]
    fn headers_weigh_what_the_chain_counts() {
        let node = luminex_service::testkit::memory_node();
        let chain = NodeChain::new(node.clone(), Role::Full, None);
        let genesis = chain.status();
        let (height, mut work) = chain.known_work(&genesis.tip).expect("genesis is known");
        assert_eq!((height, work), (0, genesis.work));
        for _ in 0..3 {
            let b = node.produce_block().expect("a dev block");
            work = add_work(
                &work,
                &chain.header_work(&b.header).expect("a valid header"),
            );
        }
        let tip = chain.status();
        assert_eq!(tip.height, 3);
        assert_eq!(work, tip.work);
        assert_eq!(chain.known_work(&tip.tip), Some((3, tip.work)));
        assert_eq!(chain.known_work(&Hash([7; 32])), None);
    }
}
