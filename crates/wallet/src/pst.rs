//! Partially signed transactions (PST): a container that carries an
//! unsigned transaction from signer to signer until enough have signed.
//!
//! Modelled on Bitcoin's BIP 174 (PSBT): the container holds the unsigned
//! transaction and, for each input, what a signer needs to check it (the
//! output it spends: amount and lock; the key or multisig policy that may
//! sign it) and the signatures collected so far. Each signer recomputes the
//! signed message from these, so a signer that has checked the spent
//! outputs against its own view of the chain knows exactly what it signs.
//! Unlike PSBT's key-value maps the format is fixed (one canonical
//! encoding, `docs/pst.md`), versioned by its header.
//!
//! Encoding, in the canonical codec (`docs/encoding.md`):
//!
//! ```text
//! magic "lmxpst" (6 bytes) | version u8 (1)
//! chain id u32 | genesis hash (32)
//! unsigned transaction (its witness sequence empty)
//! inputs (seq, one per transaction input):
//!   spent output (TxOut)
//!   policy: u8 0 = key: public key
//!           u8 1 = multisig: threshold u8, keys (seq of public keys, the set's order)
//!   signatures (seq): key position u8 (0 for a key policy), signature
//! ```

use std::collections::BTreeMap;
use std::fmt::Write as _;

use luminex_crypto::SigningKey;
use luminex_ledger::ChainSpec;
use luminex_primitives::codec::{put_seq, Sink};
use luminex_primitives::{
    Amount, Decode, DecodeError, Encode, Hash, Lock, MultisigSigner, MultisigWitness, PublicKey,
    Reader, Signature, Transaction, TxOut, Witness,
};

use crate::multisig::{MultisigPolicy, PolicyError};

/// The first bytes of every container.
pub const MAGIC: &[u8; 6] = b"lmxpst";
/// The container version this build reads and writes.
pub const VERSION: u8 = 1;

/// Why a container is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PstError {
    /// Not a container.
    #[error("not a partially signed transaction (bad magic)")]
    Magic,
    /// A container version this build does not know.
    #[error("partially signed transaction version {0} is not supported (this build reads 1)")]
    Version(u8),
    /// The bytes are not a canonical container.
    #[error("malformed partially signed transaction: {0}")]
    Decode(#[from] DecodeError),
    /// For another chain.
    #[error("the transaction is for another chain")]
    WrongChain,
    /// Inputs of the container and of the transaction differ in number, or
    /// the transaction already carries witnesses.
    #[error("the container's inputs do not match its transaction")]
    Shape,
    /// An input's policy does not make the lock of the output it spends.
    #[error("input {0}: its policy does not match the spent output's lock")]
    PolicyMismatch(usize),
    /// An input's claimed spent output is not the chain's.
    #[error("input {input}: the container says it spends {claimed}, the chain says {actual}")]
    SpentMismatch {
        /// Input index.
        input: usize,
        /// What the container claims.
        claimed: String,
        /// What the chain has.
        actual: String,
    },
    /// Two containers of different transactions.
    #[error("the containers are for different transactions")]
    DifferentTransaction,
    /// A signature that does not verify, or from a position outside the set.
    #[error("input {input}: the signature of key {index} is invalid")]
    BadSignature {
        /// Input index.
        input: usize,
        /// Key position.
        index: u8,
    },
    /// Not enough signatures to finalize.
    #[error("input {input}: {have} of {need} signatures")]
    Incomplete {
        /// Input index.
        input: usize,
        /// Signatures present.
        have: usize,
        /// Signatures needed.
        need: usize,
    },
    /// None of the signer's keys may sign any input still needing one.
    #[error("none of this wallet's keys can sign this transaction")]
    NothingToSign,
    /// A policy in the container is invalid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
}

/// Who may sign an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputPolicy {
    /// One key.
    Key(PublicKey),
    /// `m` of a set.
    Multisig(MultisigPolicy),
}

impl InputPolicy {
    fn lock(&self) -> luminex_primitives::Lock {
        match self {
            InputPolicy::Key(k) => k.lock(),
            InputPolicy::Multisig(p) => p.lock(),
        }
    }

    fn threshold(&self) -> usize {
        match self {
            InputPolicy::Key(_) => 1,
            InputPolicy::Multisig(p) => p.threshold.into(),
        }
    }

    fn key(&self, index: u8) -> Option<&PublicKey> {
        match self {
            InputPolicy::Key(k) => (index == 0).then_some(k),
            InputPolicy::Multisig(p) => p.keys.get(usize::from(index)),
        }
    }
}

/// One input's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PstInput {
    /// The output it spends.
    pub spent: TxOut,
    /// Who may sign it.
    pub policy: InputPolicy,
    /// Signatures so far, by key position.
    pub signatures: BTreeMap<u8, Signature>,
}

/// A partially signed transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartialTx {
    /// The transaction, without witnesses.
    pub tx: Transaction,
    /// The chain's genesis hash (part of the signed message).
    pub genesis: Hash,
    /// One entry per input.
    pub inputs: Vec<PstInput>,
}

impl PartialTx {
    /// A container for `tx` (its witnesses are dropped) spending `spent`
    /// under `policies`, for the chain of `spec`.
    pub fn new(
        spec: &ChainSpec,
        mut tx: Transaction,
        spent: Vec<TxOut>,
        policies: Vec<InputPolicy>,
    ) -> Result<PartialTx, PstError> {
        tx.witnesses.clear();
        if spent.len() != tx.inputs.len() || policies.len() != tx.inputs.len() {
            return Err(PstError::Shape);
        }
        let p = PartialTx {
            tx,
            genesis: spec.genesis_hash(),
            inputs: spent
                .into_iter()
                .zip(policies)
                .map(|(spent, policy)| PstInput {
                    spent,
                    policy,
                    signatures: BTreeMap::new(),
                })
                .collect(),
        };
        p.check(spec)?;
        Ok(p)
    }

    /// The message every signature signs.
    pub fn message(&self) -> Hash {
        let spent: Vec<TxOut> = self.inputs.iter().map(|i| i.spent).collect();
        self.tx
            .signature_message(&self.genesis, &spent)
            .expect("a checked container has one spent output per input")
    }

    /// Checks the container on its own: its chain, its shape, that every
    /// policy makes the lock it claims to spend and that every signature
    /// present verifies. (Whether the spent outputs are the chain's is
    /// checked by the caller against a node: [`PartialTx::check_spent`].)
    pub fn check(&self, spec: &ChainSpec) -> Result<(), PstError> {
        if self.tx.chain_id != spec.chain_id || self.genesis != spec.genesis_hash() {
            return Err(PstError::WrongChain);
        }
        if !self.tx.witnesses.is_empty() || self.inputs.len() != self.tx.inputs.len() {
            return Err(PstError::Shape);
        }
        for (i, input) in self.inputs.iter().enumerate() {
            if let InputPolicy::Multisig(p) = &input.policy {
                // Re-derive: the keys must be sorted, distinct and allowed.
                let again = MultisigPolicy::new(spec, p.threshold.into(), p.keys.clone())?;
                if again != *p {
                    return Err(PstError::PolicyMismatch(i));
                }
            }
            if input.policy.lock() != input.spent.lock {
                return Err(PstError::PolicyMismatch(i));
            }
        }
        let msg = self.message();
        for (input, x) in self.inputs.iter().enumerate() {
            for (&index, sig) in &x.signatures {
                let ok = x
                    .policy
                    .key(index)
                    .is_some_and(|k| luminex_crypto::verify(k, &msg, sig).is_ok());
                if !ok {
                    return Err(PstError::BadSignature { input, index });
                }
            }
        }
        Ok(())
    }

    /// Checks each claimed spent output against `actual` (the chain's
    /// output at that outpoint, `None` if the chain has none).
    pub fn check_spent(&self, spec: &ChainSpec, actual: &[Option<TxOut>]) -> Result<(), PstError> {
        for (input, (x, a)) in self.inputs.iter().zip(actual).enumerate() {
            if Some(x.spent) != *a {
                let show = |o: &TxOut| format!("{} to {}", o.amount, spec.address(o.lock));
                return Err(PstError::SpentMismatch {
                    input,
                    claimed: show(&x.spent),
                    actual: a.as_ref().map_or("no such output".into(), show),
                });
            }
        }
        Ok(())
    }

    /// Signs every input that one of `keys` may sign and that still needs
    /// signatures; returns how many signatures were added.
    pub fn sign<'k>(
        &mut self,
        spec: &ChainSpec,
        keys: impl IntoIterator<Item = &'k SigningKey>,
    ) -> Result<usize, PstError> {
        self.check(spec)?;
        let keys: Vec<&SigningKey> = keys.into_iter().collect();
        let msg = self.message();
        let mut added = 0;
        for x in &mut self.inputs {
            if x.signatures.len() >= x.policy.threshold() {
                continue;
            }
            for k in &keys {
                let index = match &x.policy {
                    InputPolicy::Key(pk) => (pk == k.public_key()).then_some(0u8),
                    InputPolicy::Multisig(p) => p
                        .position(k.public_key())
                        .and_then(|i| u8::try_from(i).ok()),
                };
                if let Some(index) = index {
                    if let std::collections::btree_map::Entry::Vacant(e) = x.signatures.entry(index)
                    {
                        e.insert(k.sign(&msg));
                        added += 1;
                    }
                }
            }
        }
        if added == 0 {
            return Err(PstError::NothingToSign);
        }
        Ok(added)
    }

    /// The inputs (indexes) that spend a coin of one of `keys` alone (a
    /// single-key policy), and whether some input is not `keys`' to spend
    /// alone (a multisig policy they cannot meet by themselves, another
    /// key).
    pub fn own_key_inputs<'k>(
        &self,
        keys: impl IntoIterator<Item = &'k SigningKey>,
    ) -> (Vec<usize>, bool) {
        let keys: Vec<&SigningKey> = keys.into_iter().collect();
        let ours = |pk: &PublicKey| keys.iter().any(|k| k.public_key() == pk);
        let own: Vec<usize> = self
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, x)| matches!(&x.policy, InputPolicy::Key(pk) if ours(pk)))
            .map(|(i, _)| i)
            .collect();
        let others = self.inputs.iter().any(|x| match &x.policy {
            InputPolicy::Key(pk) => !ours(pk),
            InputPolicy::Multisig(p) => {
                p.keys.iter().filter(|pk| ours(pk)).count() < usize::from(p.threshold)
            }
        });
        (own, others)
    }

    /// Adds the signatures of `other`, a container of the same transaction.
    pub fn combine(&mut self, spec: &ChainSpec, other: &PartialTx) -> Result<(), PstError> {
        self.check(spec)?;
        other.check(spec)?;
        let same = self.tx == other.tx
            && self.genesis == other.genesis
            && self
                .inputs
                .iter()
                .zip(&other.inputs)
                .all(|(a, b)| a.spent == b.spent && a.policy == b.policy);
        if !same {
            return Err(PstError::DifferentTransaction);
        }
        for (a, b) in self.inputs.iter_mut().zip(&other.inputs) {
            for (i, s) in &b.signatures {
                a.signatures.entry(*i).or_insert_with(|| s.clone());
            }
        }
        Ok(())
    }

    /// The signed transaction, once every input has enough signatures: a
    /// multisig input takes the first `m` signers by key position.
    pub fn finalize(&self, spec: &ChainSpec) -> Result<Transaction, PstError> {
        self.check(spec)?;
        let mut tx = self.tx.clone();
        for (input, x) in self.inputs.iter().enumerate() {
            let need = x.policy.threshold();
            if x.signatures.len() < need {
                return Err(PstError::Incomplete {
                    input,
                    have: x.signatures.len(),
                    need,
                });
            }
            let w = match &x.policy {
                InputPolicy::Key(k) => Witness::Key {
                    public_key: k.clone(),
                    signature: x.signatures[&0].clone(),
                },
                InputPolicy::Multisig(p) => Witness::Multisig(MultisigWitness {
                    signers: x
                        .signatures
                        .iter()
                        .take(need)
                        .map(|(&index, sig)| MultisigSigner {
                            index,
                            public_key: p.keys[usize::from(index)].clone(),
                            path: p.path(index.into()).expect("a checked position"),
                            signature: sig.clone(),
                        })
                        .collect(),
                }),
            };
            tx.witnesses.push(w);
        }
        Ok(tx)
    }

    /// The fee the transaction pays: what its inputs spend less its
    /// outputs (`None` when the outputs exceed the inputs or the sums
    /// leave the range of amounts).
    pub fn fee(&self) -> Option<Amount> {
        let spent = Amount::sum(self.inputs.iter().map(|x| x.spent.amount)).ok()?;
        spent.checked_sub(self.tx.output_total().ok()?).ok()
    }

    /// What a signer is asked to sign, for a person to read.
    pub fn describe(&self, spec: &ChainSpec) -> String {
        self.describe_for(spec, &|_| false)
    }

    /// [`PartialTx::describe`] for the wallet whose addresses `mine` tells
    /// apart: its inputs and outputs are marked, and a last line says what
    /// the wallet spends and gets back — so a signer sees a coin of its
    /// own slipped into a payment it signs for others.
    pub fn describe_for(&self, spec: &ChainSpec, mine: &dyn Fn(&Lock) -> bool) -> String {
        let mut s = String::new();
        let mark = |lock: &Lock| if mine(lock) { " — this wallet's" } else { "" };
        let total_in = Amount::sum(self.inputs.iter().map(|i| i.spent.amount));
        let total_out = self.tx.output_total();
        let _ = writeln!(s, "transaction {} on chain {}", self.tx.txid(), spec.name);
        for (i, (op, x)) in self.tx.inputs.iter().zip(&self.inputs).enumerate() {
            let who = match &x.policy {
                InputPolicy::Key(_) => "one key".to_string(),
                InputPolicy::Multisig(p) => format!("{} of {} keys", p.threshold, p.keys.len()),
            };
            let _ = writeln!(
                s,
                "input {i}: spends {}:{} = {} from {} ({who}; {} of {} signatures){}",
                op.txid,
                op.vout,
                x.spent.amount,
                spec.address(x.spent.lock),
                x.signatures.len(),
                x.policy.threshold(),
                mark(&x.spent.lock)
            );
        }
        for (i, o) in self.tx.outputs.iter().enumerate() {
            let _ = writeln!(
                s,
                "output {i}: pays {} to {}{}",
                o.amount,
                spec.address(o.lock),
                mark(&o.lock)
            );
        }
        let spends = Amount::sum(
            self.inputs
                .iter()
                .filter(|x| mine(&x.spent.lock))
                .map(|x| x.spent.amount),
        );
        let gets = Amount::sum(
            self.tx
                .outputs
                .iter()
                .filter(|o| mine(&o.lock))
                .map(|o| o.amount),
        );
        if let (Ok(spends), Ok(gets)) = (spends, gets) {
            if spends > Amount::ZERO || gets > Amount::ZERO {
                let _ = writeln!(
                    s,
                    "this wallet: spends {spends} of its own coins, gets {gets} back"
                );
            }
        }
        match (total_in, total_out) {
            (Ok(a), Ok(b)) => match a.checked_sub(b) {
                Ok(fee) => {
                    let _ = writeln!(s, "fee: {fee}");
                }
                Err(_) => {
                    let _ = writeln!(s, "outputs exceed inputs: invalid");
                }
            },
            _ => {
                let _ = writeln!(s, "amounts out of range: invalid");
            }
        }
        if self.tx.expiry_height != 0 {
            let _ = writeln!(s, "expires after height {}", self.tx.expiry_height);
        }
        if !self.tx.data.is_empty() {
            let _ = writeln!(s, "data: {}", hex::encode(&self.tx.data));
        }
        s
    }

    /// Reads a container; `check` it before use.
    pub fn from_bytes(bytes: &[u8]) -> Result<PartialTx, PstError> {
        if bytes.len() < MAGIC.len() + 1 || &bytes[..MAGIC.len()] != MAGIC {
            return Err(PstError::Magic);
        }
        let version = bytes[MAGIC.len()];
        if version != VERSION {
            return Err(PstError::Version(version));
        }
        Ok(PartialTx::decode_all(&bytes[MAGIC.len() + 1..])?)
    }

    /// The container's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut v = MAGIC.to_vec();
        v.push(VERSION);
        self.encode_to(&mut v);
        v
    }
}

impl Encode for PartialTx {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.tx.chain_id.to_le_bytes());
        self.genesis.encode_to(s);
        self.tx.encode_to(s);
        luminex_primitives::codec::put_length(s, self.inputs.len());
        for x in &self.inputs {
            x.spent.encode_to(s);
            match &x.policy {
                InputPolicy::Key(k) => {
                    s.put(&[0]);
                    k.encode_to(s);
                }
                InputPolicy::Multisig(p) => {
                    s.put(&[1, p.threshold]);
                    put_seq(s, &p.keys);
                }
            }
            luminex_primitives::codec::put_length(s, x.signatures.len());
            for (i, sig) in &x.signatures {
                s.put(&[*i]);
                sig.encode_to(s);
            }
        }
    }
}

impl Decode for PartialTx {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let chain_id = r.u32("chain id")?;
        let genesis = Hash::decode(r)?;
        let tx = Transaction::decode(r)?;
        if tx.chain_id != chain_id {
            return Err(DecodeError::OutOfRange { field: "chain id" });
        }
        let inputs = r.seq("pst inputs", luminex_primitives::tx::MAX_TX_IO, |r| {
            let spent = TxOut::decode(r)?;
            let policy = match r.u8("policy")? {
                0 => InputPolicy::Key(PublicKey::decode(r)?),
                1 => {
                    let threshold = r.u8("threshold")?;
                    let keys = r.seq("policy keys", 255, PublicKey::decode)?;
                    InputPolicy::Multisig(MultisigPolicy { threshold, keys })
                }
                tag => {
                    return Err(DecodeError::UnknownTag {
                        field: "policy",
                        tag: tag.into(),
                    })
                }
            };
            let mut signatures = BTreeMap::new();
            let mut last: Option<u8> = None;
            for (i, sig) in r.seq("pst signatures", 255, |r| {
                Ok((r.u8("key position")?, Signature::decode(r)?))
            })? {
                // Strictly increasing positions: one encoding per container.
                if last.is_some_and(|l| l >= i) {
                    return Err(DecodeError::OutOfRange {
                        field: "key position",
                    });
                }
                last = Some(i);
                signatures.insert(i, sig);
            }
            Ok(PstInput {
                spent,
                policy,
                signatures,
            })
        })?;
        Ok(PartialTx {
            tx,
            genesis,
            inputs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan_payment_with;
    use luminex_ledger::testkit::{lock_of, transfer, TestChain};
    use luminex_primitives::{OutPoint, SchemeId};

    /// A dev chain where a 2-of-3 policy owns one coin of 0.5, the three
    /// participants' keys, and a container paying 0.2 of it to dev key 1.
    fn setup() -> (TestChain, Vec<SigningKey>, MultisigPolicy, PartialTx) {
        let mut chain = TestChain::dev();
        let keys: Vec<SigningKey> = (0..3u8)
            .map(|i| SigningKey::from_seed(SchemeId::MlDsa65, &[0x40 + i; 32]))
            .collect();
        let policy = MultisigPolicy::new(
            &chain.spec,
            2,
            keys.iter().map(|k| k.public_key().clone()).collect(),
        )
        .unwrap();
        let dev = chain.keys[0].clone();
        let mut coins = chain.coins_of(&lock_of(&dev));
        coins.retain(|(_, c)| !c.is_coinbase);
        let fund = transfer(
            &chain.spec,
            &dev,
            &coins[..1],
            vec![TxOut {
                amount: Amount::from_base(50_000_000).unwrap(),
                lock: policy.lock(),
            }],
        );
        chain.mine(vec![fund]).unwrap();
        let pst = payment(&chain, &policy, 20_000_000);
        (chain, keys, policy, pst)
    }

    fn payment(chain: &TestChain, policy: &MultisigPolicy, amount: u64) -> PartialTx {
        let coins: Vec<(OutPoint, TxOut)> = chain
            .coins_of(&policy.lock())
            .into_iter()
            .map(|(o, c)| (o, c.output))
            .collect();
        let plan = plan_payment_with(
            &chain.spec,
            &coins,
            |l| *l == policy.lock(),
            lock_of(&chain.keys[1]),
            Amount::from_base(amount).unwrap(),
            policy.lock(),
            chain.spec.min_fee_rate,
            Vec::new(),
            &|_| policy.placeholder(),
        )
        .unwrap();
        let policies = vec![InputPolicy::Multisig(policy.clone()); plan.tx.inputs.len()];
        PartialTx::new(&chain.spec, plan.tx, plan.spent, policies).unwrap()
    }

    /// A co-signer's container that also spends a single-key coin of
    /// `keys[0]`: it is marked as that wallet's when shown, with what the
    /// wallet spends and gets back, and told apart from the others.
    #[test]
    fn a_signers_own_coin_in_a_container_is_marked_and_told_apart() {
        let (mut chain, keys, policy, pst) = setup();
        let spec = chain.spec.clone();
        let own = lock_of(&keys[0]);
        let dev = chain.keys[0].clone();
        let mut coins = chain.coins_of(&lock_of(&dev));
        coins.retain(|(_, c)| !c.is_coinbase);
        let fund = transfer(
            &spec,
            &dev,
            &coins[..1],
            vec![TxOut {
                amount: Amount::from_base(30_000_000).unwrap(),
                lock: own,
            }],
        );
        chain.mine(vec![fund]).unwrap();
        let (op, coin) = chain.coins_of(&own)[0];
        let mut tx = pst.tx.clone();
        tx.inputs.push(op);
        tx.outputs[0].amount = tx.outputs[0]
            .amount
            .checked_add(coin.output.amount)
            .unwrap();
        let mut spent: Vec<TxOut> = pst.inputs.iter().map(|x| x.spent).collect();
        spent.push(coin.output);
        let mixed = PartialTx::new(
            &spec,
            tx,
            spent,
            vec![
                InputPolicy::Multisig(policy.clone()),
                InputPolicy::Key(keys[0].public_key().clone()),
            ],
        )
        .unwrap();
        assert_eq!(mixed.own_key_inputs(&keys[0..1]), (vec![1], true));
        assert_eq!(mixed.own_key_inputs(&keys[1..2]), (vec![], true));
        assert_eq!(pst.own_key_inputs(&keys[0..1]), (vec![], true));
        // A wallet holding enough of the policy's keys spends it alone.
        assert_eq!(mixed.own_key_inputs(&keys[0..2]), (vec![1], false));
        assert_eq!(pst.own_key_inputs(&keys[1..3]), (vec![], false));
        let shown = mixed.describe_for(&spec, &|l| *l == own);
        assert!(
            shown
                .lines()
                .any(|l| l.starts_with("input 1:") && l.ends_with("this wallet's")),
            "{shown}"
        );
        assert!(
            shown.contains("this wallet: spends 0.3 of its own coins, gets 0 back"),
            "{shown}"
        );
        assert!(!mixed.describe(&spec).contains("this wallet"));
    }

    fn actual(chain: &TestChain, p: &PartialTx) -> Vec<Option<TxOut>> {
        p.tx.inputs
            .iter()
            .map(|i| chain.utxos.get(i).map(|c| c.output))
            .collect()
    }

    #[test]
    fn two_of_three_sign_apart_combine_finalize_and_confirm() {
        let (mut chain, keys, policy, pst) = setup();
        let spec = chain.spec.clone();
        pst.check_spent(&spec, &actual(&chain, &pst)).unwrap();
        assert!(pst
            .describe(&spec)
            .contains("2 of 3 keys; 0 of 2 signatures"));
        // Each signer works on its own copy of the file.
        let mut a = PartialTx::from_bytes(&pst.to_bytes()).unwrap();
        assert_eq!(a.sign(&spec, &keys[0..1]).unwrap(), 1);
        let mut c = PartialTx::from_bytes(&pst.to_bytes()).unwrap();
        assert_eq!(c.sign(&spec, &keys[2..3]).unwrap(), 1);
        // One signature is not enough.
        assert_eq!(
            a.finalize(&spec),
            Err(PstError::Incomplete {
                input: 0,
                have: 1,
                need: 2
            })
        );
        // Signing again with the same key adds nothing: no duplicate signer.
        assert_eq!(a.sign(&spec, &keys[0..1]), Err(PstError::NothingToSign));
        let mut both = PartialTx::from_bytes(&a.to_bytes()).unwrap();
        both.combine(&spec, &c).unwrap();
        both.combine(&spec, &a).unwrap();
        assert_eq!(both.inputs[0].signatures.len(), 2);
        let tx = both.finalize(&spec).unwrap();
        chain.mine(vec![tx]).unwrap();
        assert!(chain.coins_of(&policy.lock()).len() == 1, "the change");
    }

    #[test]
    fn outsiders_tampering_and_other_chains_are_refused() {
        let (chain, keys, policy, pst) = setup();
        let spec = chain.spec.clone();
        // A key outside the set has nothing to sign.
        let outsider = SigningKey::from_seed(SchemeId::MlDsa65, &[0x77; 32]);
        let mut p = pst.clone();
        assert_eq!(
            p.sign(&spec, std::slice::from_ref(&outsider)),
            Err(PstError::NothingToSign)
        );
        // An outsider's signature slipped in at a member's position.
        let mut p = pst.clone();
        p.inputs[0]
            .signatures
            .insert(0, outsider.sign(&pst.message()));
        assert_eq!(
            p.check(&spec),
            Err(PstError::BadSignature { input: 0, index: 0 })
        );
        // A position outside the set.
        let mut p = pst.clone();
        p.inputs[0]
            .signatures
            .insert(7, keys[0].sign(&pst.message()));
        assert_eq!(
            p.check(&spec),
            Err(PstError::BadSignature { input: 0, index: 7 })
        );
        // Tampered after a signature: an output redirected.
        let mut signed = pst.clone();
        signed.sign(&spec, &keys[0..1]).unwrap();
        let mut t = signed.clone();
        t.tx.outputs[0].lock = lock_of(&chain.keys[2]);
        assert!(matches!(t.check(&spec), Err(PstError::BadSignature { .. })));
        assert!(matches!(
            t.combine(&spec, &signed),
            Err(PstError::BadSignature { .. })
        ));
        // Tampered before anyone signed: a larger claimed input (the fee a
        // signer would see is not the fee it pays) does not match the chain.
        let mut t = pst.clone();
        t.inputs[0].spent.amount = Amount::from_base(90_000_000).unwrap();
        assert!(matches!(
            t.check_spent(&spec, &actual(&chain, &pst)),
            Err(PstError::SpentMismatch { input: 0, .. })
        ));
        // A policy that does not make the spent lock.
        let mut t = pst.clone();
        if let InputPolicy::Multisig(p) = &mut t.inputs[0].policy {
            p.threshold = 1;
        }
        assert_eq!(t.check(&spec), Err(PstError::PolicyMismatch(0)));
        // Another transaction.
        let other = payment(&chain, &policy, 10_000_000);
        let mut p = pst.clone();
        assert_eq!(
            p.combine(&spec, &other),
            Err(PstError::DifferentTransaction)
        );
        // Another chain.
        let mut qbtc = ChainSpec::preset("qbtc").unwrap();
        qbtc.chain_id = spec.chain_id;
        assert_eq!(pst.check(&qbtc), Err(PstError::WrongChain));
    }

    #[test]
    fn container_encoding_is_versioned_and_strict() {
        let (chain, keys, _, mut pst) = setup();
        pst.sign(&chain.spec, &keys[1..2]).unwrap();
        let bytes = pst.to_bytes();
        assert_eq!(&bytes[..6], b"lmxpst");
        assert_eq!(PartialTx::from_bytes(&bytes).unwrap(), pst);
        let mut v2 = bytes.clone();
        v2[6] = 2;
        assert_eq!(PartialTx::from_bytes(&v2), Err(PstError::Version(2)));
        assert_eq!(PartialTx::from_bytes(b"psbt\xff"), Err(PstError::Magic));
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            PartialTx::from_bytes(&long),
            Err(PstError::Decode(DecodeError::TrailingBytes(1)))
        ));
        for cut in [7, bytes.len() / 2, bytes.len() - 1] {
            assert!(PartialTx::from_bytes(&bytes[..cut]).is_err());
        }
    }
}
