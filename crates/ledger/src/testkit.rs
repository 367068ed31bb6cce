//! Test support: an in-memory chain on a spec with funded dev keys that
//! builds valid signed transactions and blocks. Enabled by the `testkit`
//! feature; used by tests and benchmarks across the workspace.

use std::collections::HashMap;

use luminex_crypto::SigningKey;
use luminex_primitives::multisig::{key_set_path, multisig_lock};
use luminex_primitives::{
    Amount, Block, Encode, Hash, Header, Lock, MultisigSigner, MultisigWitness, OutPoint,
    PowHeader, SchemeId, Transaction, TxKind, TxOut, Witness,
};

use crate::{
    connect_block, connect_genesis, BlockContext, BlockError, ChainSpec, Coin, Connected, SigCache,
};

/// The lock paying to `key`.
pub fn lock_of(key: &SigningKey) -> Lock {
    key.public_key().lock()
}

/// The development keys of a spec.
pub fn dev_keys(spec: &ChainSpec) -> Vec<SigningKey> {
    (0..spec.dev_keys).filter_map(|i| spec.dev_key(i)).collect()
}

/// Signs every input of `tx` with `key` for the chain of `spec`, given the
/// coins spent.
pub fn sign_all(spec: &ChainSpec, tx: &mut Transaction, key: &SigningKey, spent: &[TxOut]) {
    let msg = tx
        .signature_message(&spec.genesis_hash(), spent)
        .expect("one spent output per input");
    let sig = key.sign(&msg);
    tx.witnesses = tx
        .inputs
        .iter()
        .map(|_| Witness::Key {
            public_key: key.public_key().clone(),
            signature: sig.clone(),
        })
        .collect();
}

/// An unsigned transfer from `coins` paying `outputs`, with change to the
/// first coin's lock, and a fee at the spec's minimum rate (plus a margin).
pub fn transfer(
    spec: &ChainSpec,
    key: &SigningKey,
    coins: &[(OutPoint, Coin)],
    outputs: Vec<TxOut>,
) -> Transaction {
    let mut tx = Transaction {
        version: 1,
        chain_id: spec.chain_id,
        kind: TxKind::Transfer,
        inputs: coins.iter().map(|(op, _)| *op).collect(),
        outputs,
        expiry_height: 0,
        witnesses: vec![],
        data: Vec::new(),
    };
    let input_total = Amount::sum(coins.iter().map(|(_, c)| c.output.amount)).expect("in range");
    let paid = tx.output_total().expect("in range");
    // Size with signatures, estimated from the scheme's fixed sizes.
    let scheme = key.public_key().scheme;
    let witness_len = scheme.public_key_len() + scheme.signature_len() + 8;
    let est = luminex_primitives::Encode::encoded_len(&tx) + 60 + witness_len * coins.len();
    let fee = Amount::from_base(spec.min_fee(est)).expect("in range");
    if let Ok(change) = input_total
        .checked_sub(paid)
        .and_then(|r| r.checked_sub(fee))
    {
        if change > Amount::ZERO {
            tx.outputs.push(TxOut {
                amount: change,
                lock: coins[0].1.output.lock,
            });
        }
    }
    let spent: Vec<TxOut> = coins.iter().map(|(_, c)| c.output).collect();
    sign_all(spec, &mut tx, key, &spent);
    tx
}

/// A signed staking transaction of `kind` (ADR 0031) paid from `payer`'s
/// `coins`: the inputs pay the coins the kind bonds, a fee at the spec's
/// minimum rate (plus a margin) and change to the first coin's lock. Every
/// input is signed by `payer`; `actor` (the validator, delegator or node
/// key the action is for) adds the last witness. Panics if the coins do
/// not cover the bonded amount and the fee.
pub fn staking_tx(
    spec: &ChainSpec,
    payer: &SigningKey,
    coins: &[(OutPoint, Coin)],
    kind: TxKind,
    actor: Option<&SigningKey>,
) -> Transaction {
    let mut tx = Transaction {
        version: 1,
        chain_id: spec.chain_id,
        kind,
        inputs: coins.iter().map(|(op, _)| *op).collect(),
        outputs: vec![],
        expiry_height: 0,
        witnesses: vec![],
        data: Vec::new(),
    };
    let input_total = Amount::sum(coins.iter().map(|(_, c)| c.output.amount)).expect("in range");
    let witness_len = |k: &SigningKey| {
        let scheme = k.public_key().scheme;
        scheme.public_key_len() + scheme.signature_len() + 8
    };
    let est =
        tx.encoded_len() + 60 + witness_len(payer) * coins.len() + actor.map_or(0, witness_len);
    let fee = Amount::from_base(spec.min_fee(est)).expect("in range");
    let change = input_total
        .checked_sub(tx.kind.bonded())
        .and_then(|r| r.checked_sub(fee))
        .expect("the coins cover the bonded amount and the fee");
    if change > Amount::ZERO {
        tx.outputs.push(TxOut {
            amount: change,
            lock: coins[0].1.output.lock,
        });
    }
    let spent: Vec<TxOut> = coins.iter().map(|(_, c)| c.output).collect();
    sign_all(spec, &mut tx, payer, &spent);
    if let Some(actor) = actor {
        let msg = tx
            .signature_message(&spec.genesis_hash(), &spent)
            .expect("one spent output per input");
        tx.witnesses.push(Witness::Key {
            public_key: actor.public_key().clone(),
            signature: actor.sign(&msg),
        });
    }
    tx
}

/// The bytes of a witness's first signature, for tests that tamper with
/// one. Panics on a multisig witness without signers.
pub fn signature_bytes_mut(w: &mut Witness) -> &mut Vec<u8> {
    match w {
        Witness::Key { signature, .. } => &mut signature.bytes,
        Witness::Multisig(m) => &mut m.signers[0].signature.bytes,
    }
}

/// An m-of-n set of signing keys, in the set's key order.
pub struct TestMultisig {
    /// How many must sign.
    pub threshold: usize,
    /// The keys.
    pub keys: Vec<SigningKey>,
}

impl TestMultisig {
    /// `threshold` of `schemes.len()` keys, key `i` of scheme `schemes[i]`
    /// from a seed made of `seed` and `i`.
    pub fn new(threshold: usize, schemes: &[SchemeId], seed: u8) -> TestMultisig {
        let keys = schemes
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut sd = [seed; 32];
                sd[0] = i as u8;
                SigningKey::from_seed(*s, &sd)
            })
            .collect();
        TestMultisig { threshold, keys }
    }

    /// The key hashes, the leaves of the set's tree.
    pub fn key_hashes(&self) -> Vec<Hash> {
        self.keys
            .iter()
            .map(|k| k.public_key().key_hash())
            .collect()
    }

    /// The lock.
    pub fn lock(&self) -> Lock {
        multisig_lock(self.threshold, &self.key_hashes()).expect("a valid test threshold")
    }

    /// Key `index`'s signature over `msg`, with its Merkle path.
    pub fn signer(&self, index: usize, msg: &Hash) -> MultisigSigner {
        MultisigSigner {
            index: index as u8,
            public_key: self.keys[index].public_key().clone(),
            path: key_set_path(&self.key_hashes(), index).expect("index in the set"),
            signature: self.keys[index].sign(msg),
        }
    }

    /// The witness of `signers` (key positions, in the order given) over
    /// `msg`.
    pub fn witness(&self, signers: &[usize], msg: &Hash) -> Witness {
        Witness::Multisig(MultisigWitness {
            signers: signers.iter().map(|&i| self.signer(i, msg)).collect(),
        })
    }

    /// A transaction spending `coin` (locked to this set) to `to`, less the
    /// minimum fee (with a margin of 100 bytes, so tests may grow the
    /// witness a little), signed by `signers`.
    pub fn spend(
        &self,
        spec: &ChainSpec,
        coin: &(OutPoint, Coin),
        to: Lock,
        signers: &[usize],
    ) -> Transaction {
        let mut tx = Transaction {
            version: 1,
            chain_id: spec.chain_id,
            kind: TxKind::Transfer,
            inputs: vec![coin.0],
            outputs: vec![TxOut {
                amount: coin.1.output.amount,
                lock: to,
            }],
            expiry_height: 0,
            witnesses: vec![Witness::multisig_placeholder(
                &signers
                    .iter()
                    .map(|&i| (i as u8, self.keys[i].public_key().scheme))
                    .collect::<Vec<_>>(),
                self.keys.len(),
            )],
            data: Vec::new(),
        };
        let fee = spec.min_fee(tx.encoded_len() + 100);
        tx.outputs[0].amount = coin
            .1
            .output
            .amount
            .checked_sub(Amount::from_base(fee).expect("in range"))
            .expect("the coin pays the fee");
        let msg = tx
            .signature_message(&spec.genesis_hash(), &[coin.1.output])
            .expect("one input");
        tx.witnesses = vec![self.witness(signers, &msg)];
        tx
    }
}

/// A chain kept in memory.
pub struct TestChain {
    /// The spec.
    pub spec: ChainSpec,
    /// The UTXO set.
    pub utxos: HashMap<OutPoint, Coin>,
    /// Every block from genesis.
    pub blocks: Vec<Block>,
    /// The dev keys.
    pub keys: Vec<SigningKey>,
    /// Signature cache (empty unless a test fills it).
    pub cache: SigCache,
}

impl TestChain {
    /// A chain at genesis of `spec`.
    pub fn new(spec: ChainSpec) -> TestChain {
        let genesis = spec.genesis_block();
        let mut utxos = HashMap::new();
        connect_genesis(&genesis).changes.apply_to(&mut utxos);
        TestChain {
            keys: dev_keys(&spec),
            spec,
            utxos,
            blocks: vec![genesis],
            cache: SigCache::new(1),
        }
    }

    /// A chain at genesis of the `dev` preset.
    pub fn dev() -> TestChain {
        TestChain::new(ChainSpec::preset("dev").expect("the dev preset parses"))
    }

    /// Height of the tip.
    pub fn height(&self) -> u64 {
        self.blocks.len() as u64 - 1
    }

    /// The tip header.
    pub fn tip(&self) -> &Header {
        &self.blocks.last().expect("genesis is always there").header
    }

    /// Unspent coins locked to `lock`, sorted by outpoint.
    pub fn coins_of(&self, lock: &Lock) -> Vec<(OutPoint, Coin)> {
        let mut v: Vec<_> = self
            .utxos
            .iter()
            .filter(|(_, c)| c.output.lock == *lock)
            .map(|(o, c)| (*o, *c))
            .collect();
        v.sort_by_key(|(o, _)| *o);
        v
    }

    /// The context for connecting the next block.
    pub fn context(&self) -> BlockContext {
        BlockContext {
            height: self.height() + 1,
            prev_hash: self.tip().hash(),
        }
    }

    /// The context for connecting a block at `height` on the block before it.
    pub fn context_for(&self, height: u64) -> BlockContext {
        let parent = &self.blocks[height as usize - 1].header;
        BlockContext {
            height,
            prev_hash: parent.hash(),
        }
    }

    /// A block on the tip with `txs`, its coinbase claiming what the spec
    /// allows (subsidy plus `fees`, or nothing under a pot reward rule) to
    /// dev key 0.
    pub fn build_block(&self, txs: Vec<Transaction>, fees: Amount) -> Block {
        let height = self.height() + 1;
        let reward = self
            .spec
            .coinbase_allowance(height, fees)
            .expect("in range");
        let outputs = if reward == Amount::ZERO {
            vec![]
        } else {
            vec![TxOut {
                amount: reward,
                lock: lock_of(&self.keys[0]),
            }]
        };
        let coinbase = self
            .spec
            .coinbase(height, outputs, &[], &txs)
            .expect("no extra coinbase bytes always fit");
        let mut all = vec![coinbase];
        all.extend(txs);
        let mut b = Block::new(
            PowHeader {
                version: 1,
                prev_hash: self.tip().hash(),
                merkle_root: Hash::ZERO,
                time: self.tip().time() as u32 + 1,
                bits: self.spec.genesis.bits,
                nonce: 0,
            },
            all,
        );
        let root = self.spec.merkle_root(&b.txs);
        b.header.set_merkle_root(root);
        b
    }

    /// Validates and connects `block`.
    pub fn connect(&mut self, block: Block) -> Result<Connected, BlockError> {
        let c = connect_block(
            &block,
            &self.utxos,
            &self.context(),
            &self.spec,
            &self.cache,
        )?;
        c.changes.apply_to(&mut self.utxos);
        self.blocks.push(block);
        Ok(c)
    }

    /// Fees of `txs` against the current UTXO set (outputs created by earlier
    /// txs of the list count as inputs).
    pub fn fees_of(&self, txs: &[Transaction]) -> Amount {
        let mut view = self.utxos.clone();
        let mut fees = Amount::ZERO;
        for tx in txs {
            let txid = tx.txid();
            let inputs =
                Amount::sum(tx.inputs.iter().map(|i| view[i].output.amount)).expect("in range");
            for i in &tx.inputs {
                view.remove(i);
            }
            for (vout, o) in tx.outputs.iter().enumerate() {
                view.insert(
                    OutPoint {
                        txid,
                        vout: vout as u32,
                    },
                    Coin {
                        output: *o,
                        height: 0,
                        is_coinbase: false,
                    },
                );
            }
            fees = fees
                .checked_add(
                    inputs
                        .checked_sub(tx.output_total().expect("in range"))
                        .and_then(|r| r.checked_sub(tx.kind.bonded()))
                        .expect("no overspend"),
                )
                .expect("in range");
        }
        fees
    }

    /// Builds, connects and returns a block with `txs`.
    pub fn mine(&mut self, txs: Vec<Transaction>) -> Result<Block, BlockError> {
        let fees = self.fees_of(&txs);
        let b = self.build_block(txs, fees);
        self.connect(b.clone())?;
        Ok(b)
    }

    /// Builds, connects and returns a block with one transfer per key in
    /// `keys`, from its largest coin to the next key (the last pays the
    /// first), key `i` paying `amount(i)` base units (the change goes back
    /// to it).
    pub fn mine_ring(&mut self, keys: &[SigningKey], amount: impl Fn(usize) -> u64) -> Block {
        let txs = keys
            .iter()
            .enumerate()
            .map(|(i, key)| {
                let mut coins = self.coins_of(&lock_of(key));
                coins.sort_by_key(|(op, c)| (std::cmp::Reverse(c.output.amount), *op));
                transfer(
                    &self.spec,
                    key,
                    &coins[..1],
                    vec![TxOut {
                        amount: Amount::from_base(amount(i)).expect("in range"),
                        lock: lock_of(&keys[(i + 1) % keys.len()]),
                    }],
                )
            })
            .collect();
        self.mine(txs).expect("a block of valid transfers")
    }

    /// Splits dev key `k`'s largest coin into `n` coins of `each` base units
    /// paid to `keys` round-robin, in transactions of at most 5,000 outputs
    /// each, mined into one block. Returns the block.
    pub fn fan_out(&mut self, k: usize, keys: &[SigningKey], n: usize, each: u64) -> Block {
        let key = self.keys[k].clone();
        let mut coins = self.coins_of(&lock_of(&key));
        coins.sort_by_key(|(_, c)| std::cmp::Reverse(c.output.amount));
        let mut txs = Vec::new();
        let mut source = coins[0];
        let mut remaining = n;
        let mut next_key = 0;
        while remaining > 0 {
            let m = remaining.min(5000);
            let outputs: Vec<TxOut> = (0..m)
                .map(|_| {
                    let lock = lock_of(&keys[next_key % keys.len()]);
                    next_key += 1;
                    TxOut {
                        amount: Amount::from_base(each).expect("in range"),
                        lock,
                    }
                })
                .collect();
            let tx = transfer(&self.spec, &key, &[source], outputs);
            let txid = tx.txid();
            let vout = (tx.outputs.len() - 1) as u32;
            source = (
                OutPoint { txid, vout },
                Coin {
                    output: tx.outputs[vout as usize],
                    height: self.height() + 1,
                    is_coinbase: false,
                },
            );
            txs.push(tx);
            remaining -= m;
        }
        self.mine(txs).expect("fan-out block is valid")
    }

    /// A dev chain in which 50 fresh ML-DSA-65 keys own `n` coins, and an
    /// unconnected block on its tip spending each coin in a 1-input,
    /// 2-output transfer: the benchmark workload.
    pub fn with_transfer_block(n: usize) -> (TestChain, Block) {
        let mut chain = TestChain::dev();
        let keys: Vec<SigningKey> = (0..50u8)
            .map(|i| SigningKey::from_seed(luminex_primitives::SchemeId::MlDsa65, &[i; 32]))
            .collect();
        chain.fan_out(1, &keys, n, 1_000_000);
        let txs = chain.spend_all(&keys);
        let fees = chain.fees_of(&txs);
        let block = chain.build_block(txs, fees);
        (chain, block)
    }

    /// One signed 1-input, 2-output transfer for each coin of `keys` (each
    /// coin spent by its owner), paying half to the next key and the rest as
    /// change. Not connected.
    pub fn spend_all(&self, keys: &[SigningKey]) -> Vec<Transaction> {
        let mut jobs = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let to = lock_of(&keys[(i + 1) % keys.len()]);
            for coin in self.coins_of(&lock_of(key)) {
                jobs.push((key, to, coin));
            }
        }
        use rayon::prelude::*;
        jobs.par_iter()
            .map(|(key, to, coin)| {
                let half = Amount::from_base(coin.1.output.amount.base() / 2).expect("in range");
                transfer(
                    &self.spec,
                    key,
                    &[*coin],
                    vec![TxOut {
                        amount: half,
                        lock: *to,
                    }],
                )
            })
            .collect()
    }
}

/// Field access to the proof-of-work header of a test block. Panics on a
/// BFT header: for tests and benches that build proof-of-work blocks.
pub trait PowFields {
    /// The proof-of-work header.
    fn pow(&self) -> &PowHeader;
    /// The proof-of-work header, mutably.
    fn pow_mut(&mut self) -> &mut PowHeader;
}

impl PowFields for Header {
    fn pow(&self) -> &PowHeader {
        self.as_pow().expect("a proof-of-work header")
    }

    fn pow_mut(&mut self) -> &mut PowHeader {
        self.as_pow_mut().expect("a proof-of-work header")
    }
}
