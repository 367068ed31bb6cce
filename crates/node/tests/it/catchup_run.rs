//! A run of certified blocks caught up from a peer (ADR 0049), through the
//! consensus task of a follower on the `poa` preset: committed with one
//! sync for the run rather than one per block, and announced once synced;
//! a crash of the machine before the sync loses only blocks never
//! announced, which are then simply committed again; a false certificate
//! in the middle of a run ends it after the blocks before it, which are
//! made durable, and the peer that sent it is to be penalized.

use std::sync::Arc;
use std::time::Duration;

use luminex_consensus::bft::message::{vote_digest, VoteKind};
use luminex_consensus::bft::BftRules;
use luminex_crypto::SigningKey;
use luminex_ledger::testkit::{lock_of, transfer, TestChain};
use luminex_ledger::{ChainSpec, Coin};
use luminex_node::consensus::{self, ConsensusHandle};
use luminex_p2p::Verdict;
use luminex_primitives::{
    Amount, Block, CommitCertificate, OutPoint, SchemeId, Transaction, TxKind, TxOut,
};
use luminex_service::events::Event;
use luminex_service::testkit::{memory_node_for, node_over};
use luminex_service::Node;
use luminex_storage::faults::FaultyStore;
use luminex_storage::{KvStore, MemoryStore};
use tokio::sync::watch;

/// A chain of certified blocks on `poa`, each carrying two transfers that
/// spend the change of the two in the block before (so checking a block's
/// signatures ahead needs the outputs of the one before it).
struct Source {
    spec: ChainSpec,
    rules: BftRules,
    validators: Vec<SigningKey>,
    node: Arc<Node>,
    /// The two spenders and the coin each spends next.
    payers: Vec<(SigningKey, (OutPoint, Coin))>,
}

impl Source {
    fn new() -> Source {
        let spec = ChainSpec::preset("poa").unwrap();
        let genesis = TestChain::new(spec.clone());
        let payers = (0..2)
            .map(|i| {
                let key = spec.dev_key(i).unwrap();
                let coin = genesis.coins_of(&lock_of(&key))[0];
                (key, coin)
            })
            .collect();
        Source {
            rules: BftRules::for_spec(&spec).unwrap(),
            validators: (0..4)
                .map(|i| {
                    SigningKey::from_seed(spec.default_scheme, &ChainSpec::dev_validator_seed(i))
                })
                .collect(),
            node: memory_node_for(spec.clone()),
            payers,
            spec,
        }
    }

    /// The next block with its certificate (signed by three of the four
    /// validators), committed here too.
    fn next(&mut self) -> (Block, CommitCertificate) {
        let chain = &self.node.chain;
        let parent = chain.tip_parent();
        let height = parent.height + 1;
        let mut txs = vec![Transaction {
            version: 1,
            chain_id: self.spec.chain_id,
            kind: TxKind::Coinbase { height },
            inputs: vec![],
            outputs: vec![],
            expiry_height: 0,
            witnesses: vec![],
            data: Vec::new(),
        }];
        for (key, coin) in &mut self.payers {
            let tx = transfer(
                &self.spec,
                key,
                &[*coin],
                vec![TxOut {
                    amount: Amount::from_coins(1).unwrap(),
                    lock: lock_of(&SigningKey::from_seed(SchemeId::MlDsa44, &[7; 32])),
                }],
            );
            // The change, the transfer's second output, is spent next.
            *coin = (
                OutPoint {
                    txid: tx.txid(),
                    vout: 1,
                },
                Coin {
                    output: tx.outputs[1],
                    height,
                    is_coinbase: false,
                },
            );
            txs.push(tx);
        }
        let record = chain.consensus_record(parent.height).unwrap().unwrap();
        let last_commit = chain.certificate(parent.height).unwrap();
        let block = chain.with_context(|ctx| {
            self.rules.build_block(
                &parent,
                &record,
                ctx,
                last_commit,
                self.rules.proposer(&record, 0),
                parent.header.time_ms() + 1000,
                txs,
            )
        });
        assert_eq!(block.txs.len(), 3, "both transfers kept");
        let certificate = self.certify(&block, height, &[0, 1, 2]);
        self.node
            .accept_certified(&Arc::new(block.clone()), &certificate)
            .unwrap();
        (block, certificate)
    }

    /// Precommits for `block` at `height` by the validators `signers`.
    fn certify(&self, block: &Block, height: u64, signers: &[usize]) -> CommitCertificate {
        let set = self
            .node
            .chain
            .consensus_record(height - 1)
            .unwrap()
            .unwrap()
            .validators;
        let digest = vote_digest(
            self.rules.domain(),
            VoteKind::Precommit,
            height,
            0,
            Some(&block.hash()),
        );
        let signed = signers
            .iter()
            .map(|i| {
                let k = &self.validators[*i];
                (
                    set.index_of(&k.public_key().key_hash()).unwrap(),
                    k.sign(&digest),
                )
            })
            .collect();
        CommitCertificate::new(height, 0, block.hash(), set.len(), signed)
    }

    fn blocks(&mut self, n: usize) -> Vec<(Block, CommitCertificate)> {
        (0..n).map(|_| self.next()).collect()
    }
}

/// A node of `poa` over a store that loses unsynced commits in a crash.
fn target(spec: &ChainSpec) -> (Arc<FaultyStore>, Arc<Node>) {
    let faulty = Arc::new(FaultyStore::new(Arc::new(MemoryStore::new())));
    faulty.lose_unsynced();
    let kv: Arc<dyn KvStore> = faulty.clone();
    (faulty, node_over(kv, spec.clone()).unwrap())
}

/// The consensus task of a follower of `node`, and what stops it.
struct Task {
    handle: ConsensusHandle,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl Task {
    fn start(node: &Arc<Node>) -> Task {
        let dir = tempfile::tempdir().unwrap();
        let (stop, rx) = watch::channel(false);
        let (handle, task) = consensus::start(
            node.clone(),
            None,
            None,
            dir.path(),
            Duration::from_secs(1),
            rx,
        )
        .unwrap();
        Task {
            handle,
            stop,
            task,
            _dir: dir,
        }
    }

    /// Hands `blocks` to the task as the network does (from its blocking
    /// pool); the verdict for the peer that sent them.
    async fn certified(&self, blocks: &[(Block, CommitCertificate)]) -> Verdict {
        let handle = self.handle.clone();
        let blocks = blocks.to_vec();
        tokio::task::spawn_blocking(move || handle.certified(blocks))
            .await
            .unwrap()
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        self.task.await.unwrap();
    }
}

/// The heights of the block events received so far.
fn block_events(rx: &mut tokio::sync::broadcast::Receiver<Arc<Event>>) -> Vec<u64> {
    let mut heights = Vec::new();
    while let Ok(e) = rx.try_recv() {
        if let Event::Block { height, .. } = &*e {
            heights.push(*height);
        }
    }
    heights
}

/// Closes `node` as a crash would (no flush), then the machine loses what
/// was not synced but the first `kept` unsynced batches.
fn crash(node: Arc<Node>, faulty: &FaultyStore, kept: usize) {
    let node = Arc::into_inner(node).expect("the only holder of the node");
    Arc::into_inner(node.chain)
        .expect("the only holder of the chain")
        .close_without_flush();
    faulty.crash_keeping(kept).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caught_up_run_is_committed_with_one_sync_and_announced_once_durable() {
    let mut source = Source::new();
    let blocks = source.blocks(6);
    let (faulty, node) = target(&source.spec);
    let mut tips = node.tip_changed.subscribe();
    tips.mark_unchanged();
    let mut events = node.events.subscribe();
    let task = Task::start(&node);

    let syncs = faulty.syncs();
    assert_eq!(task.certified(&blocks).await, Verdict::Accept);
    assert_eq!(node.chain.tip().hash, blocks[5].0.hash());
    assert_eq!(
        faulty.syncs() - syncs,
        1,
        "six blocks caught up, one sync for them"
    );
    assert_eq!(faulty.unsynced_batches(), 0, "durable before the verdict");
    assert_eq!(*tips.borrow_and_update(), blocks[5].0.hash());
    assert_eq!(block_events(&mut events), vec![1, 2, 3, 4, 5, 6]);
    assert_eq!(node.chain.finalized().height, 6);
    node.chain.check_consistency().unwrap();
    // The spent outputs and the transfers' change are where the source has
    // them.
    for (_, (op, coin)) in &source.payers {
        assert_eq!(node.chain.coin(op).unwrap(), Some(*coin));
    }

    // Blocks already taken are not needed again; the next ones are.
    assert_eq!(task.certified(&blocks[4..]).await, Verdict::Ignore);
    let more = source.blocks(2);
    assert_eq!(task.certified(&more).await, Verdict::Accept);
    assert_eq!(node.chain.tip().hash, more[1].0.hash());
    assert_eq!(faulty.unsynced_batches(), 0);
    task.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_sync_loses_only_unannounced_blocks_which_come_again() {
    let mut source = Source::new();
    let blocks = source.blocks(6);
    for kept in [0, 1, 3] {
        let (faulty, node) = target(&source.spec);
        let mut tips = node.tip_changed.subscribe();
        tips.mark_unchanged();
        // What a run does before its sync: four blocks committed unsynced,
        // nothing announced.
        for (block, certificate) in &blocks[..4] {
            node.accept_certified_unsynced(&Arc::new(block.clone()), certificate)
                .unwrap();
        }
        assert_eq!(node.chain.tip().height, 4);
        assert!(!tips.has_changed().unwrap(), "announced before the sync");
        let unsynced = faulty.unsynced_batches();
        assert!(unsynced >= 4, "{unsynced} batches for four blocks");
        crash(node, &faulty, kept);

        // Reopened on a prefix of what was committed, consistent.
        let kv: Arc<dyn KvStore> = faulty.clone();
        let node = node_over(kv, source.spec.clone()).unwrap();
        node.chain.check_consistency().unwrap();
        let height = node.chain.tip().height;
        assert!(
            height <= 4 && (kept > 0 || height == 0),
            "kept {kept}: {height}"
        );
        if height > 0 {
            assert_eq!(node.chain.tip().hash, blocks[height as usize - 1].0.hash());
        }
        // The network asks for the blocks after its tip again.
        let task = Task::start(&node);
        assert_eq!(
            task.certified(&blocks[height as usize..]).await,
            Verdict::Accept
        );
        assert_eq!(node.chain.tip().hash, blocks[5].0.hash());
        assert_eq!(faulty.unsynced_batches(), 0);
        node.chain.check_consistency().unwrap();
        task.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_false_certificate_ends_the_run_after_the_blocks_before_it() {
    let mut source = Source::new();
    let mut blocks = source.blocks(5);
    // The third block's certificate has two of four signatures: not more
    // than two thirds of the power.
    blocks[2].1 = source.certify(&blocks[2].0, 3, &[0, 1]);
    let (faulty, node) = target(&source.spec);
    let mut events = node.events.subscribe();
    let task = Task::start(&node);

    let syncs = faulty.syncs();
    assert_eq!(task.certified(&blocks).await, Verdict::Reject);
    assert_eq!(node.chain.tip().hash, blocks[1].0.hash(), "the first two");
    assert_eq!(faulty.unsynced_batches(), 0, "and they are durable");
    assert_eq!(faulty.syncs() - syncs, 1);
    assert_eq!(block_events(&mut events), vec![1, 2]);

    // The height after them was started: the true blocks from another
    // peer are taken.
    let good = source.certify(&blocks[2].0, 3, &[1, 2, 3]);
    blocks[2].1 = good;
    assert_eq!(task.certified(&blocks[2..]).await, Verdict::Accept);
    assert_eq!(node.chain.tip().hash, blocks[4].0.hash());
    assert_eq!(block_events(&mut events), vec![3, 4, 5]);
    node.chain.check_consistency().unwrap();
    task.stop().await;
}
