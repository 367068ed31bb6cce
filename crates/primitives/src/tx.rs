//! Transactions.
//!
//! A transaction's id (`txid`) hashes everything except its witnesses; the
//! `wtxid` hashes the full encoding (DESIGN.md §3.2). The message each witness
//! signs covers the chain id, every input together with the amount and lock it
//! spends, every output and the expiry (DESIGN.md §3.3), so changing any of
//! them or replaying on another chain invalidates the signature.

use crate::codec::{put_length, put_seq, Decode, DecodeError, Encode, Reader, Sink};
use crate::hash::{SIGHASH, TXID, WTXID};
use crate::keys::{PublicKey, Signature};
use crate::multisig::{MultisigSigner, MultisigWitness};
use crate::staking::{
    AccountCreation, Delegation, Heartbeat, NodeRegistration, Stake, Unbond, Unjail,
};
use crate::{Amount, Hash, Lock};

/// Most inputs or outputs in one transaction (bounds decoding).
pub const MAX_TX_IO: u64 = 10_000;

/// Most bytes of data a version-2 transaction carries.
pub const MAX_TX_DATA: u64 = 80;

/// A reference to an output of an earlier transaction.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct OutPoint {
    /// The txid of the transaction that created the output.
    pub txid: Hash,
    /// The index of the output in that transaction.
    pub vout: u32,
}

/// `txid:vout`, as explorers and Bitcoin tools write an output.
impl std::fmt::Display for OutPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.txid, self.vout)
    }
}

impl Encode for OutPoint {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.txid.encode_to(s);
        s.put(&self.vout.to_le_bytes());
    }
}

impl Decode for OutPoint {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(OutPoint {
            txid: Hash::decode(r)?,
            vout: r.u32("vout")?,
        })
    }
}

/// An output: an amount and the lock that must be satisfied to spend it.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct TxOut {
    /// The value.
    pub amount: Amount,
    /// Who can spend it.
    pub lock: Lock,
}

impl Encode for TxOut {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.amount.encode_to(s);
        self.lock.encode_to(s);
    }
}

impl Decode for TxOut {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(TxOut {
            amount: Amount::decode(r)?,
            lock: Lock::decode(r)?,
        })
    }
}

/// A change to the validator set of an authority chain (`poa`): from
/// `effective_height` on, the validator with `public_key` has `power`
/// (0 removes it). Valid only when signed by more than two thirds of the
/// voting power of the authorities in force (ADR 0025).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct AuthorityChange {
    /// First height whose block the changed set finalizes.
    pub effective_height: u64,
    /// The authority to add, re-weight or remove.
    pub public_key: PublicKey,
    /// Its voting power from `effective_height`; 0 removes it.
    pub power: u64,
}

impl Encode for AuthorityChange {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.effective_height.to_le_bytes());
        self.public_key.encode_to(s);
        s.put(&self.power.to_le_bytes());
    }
}

impl Decode for AuthorityChange {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(AuthorityChange {
            effective_height: r.u64("effective height")?,
            public_key: PublicKey::decode(r)?,
            power: r.u64("authority power")?,
        })
    }
}

/// What a transaction does. Tags are stable; later issues add peg and
/// other kinds with their own payloads.
///
/// The staking kinds (tags 3–9, ADR 0031, and 11, ADR 0038) spend inputs and pay a fee like
/// a transfer. All but `create-account` carry one witness more than they
/// have inputs: the last witness is the key the action is for (the
/// validator, the delegator or the node), signing the same message as the
/// others ([`TxKind::takes_actor_witness`]).
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum TxKind {
    /// Moves coins from inputs to outputs.
    Transfer,
    /// The first transaction of a block: no inputs, pays the block reward.
    /// Carries the height so every coinbase has a distinct txid (BIP 34).
    Coinbase {
        /// Height of the block it belongs to.
        height: u64,
    },
    /// Changes the validator set of an authority chain. No inputs, no
    /// outputs; each witness is an authority's key and its signature.
    Authority(AuthorityChange),
    /// Bonds coins to a validator as its own stake.
    Stake(Stake),
    /// Bonds coins to another key's validator.
    Delegate(Delegation),
    /// Starts unbonding a delegation.
    Undelegate(Unbond),
    /// Starts unbonding a validator's own stake.
    Unstake(Unbond),
    /// Registers a node key for committee draws and fee sharing.
    RegisterNode(NodeRegistration),
    /// Asks for a jailed validator to be eligible again.
    Unjail(Unjail),
    /// Creates an account that may then receive coins.
    CreateAccount(AccountCreation),
    /// A registered node's liveness signal for an epoch (tag 11; fee
    /// sharing among live nodes, ADR 0038).
    Heartbeat(Heartbeat),
    /// Double-signing evidence carried in a block (tag 10, ADR 0039): no
    /// inputs, outputs or witnesses; the ledger checks the votes against
    /// the set of their height, slashes and jails the offender and pays
    /// the reporter its share.
    Evidence(Box<crate::vote::EvidenceReport>),
}

impl TxKind {
    /// The kind's name in the API and CLI (`transfer`, `stake`,
    /// `register-node`, …).
    pub fn name(&self) -> &'static str {
        match self {
            TxKind::Transfer => "transfer",
            TxKind::Coinbase { .. } => "coinbase",
            TxKind::Authority(_) => "authority",
            TxKind::Stake(_) => "stake",
            TxKind::Delegate(_) => "delegate",
            TxKind::Undelegate(_) => "undelegate",
            TxKind::Unstake(_) => "unstake",
            TxKind::RegisterNode(_) => "register-node",
            TxKind::Unjail(_) => "unjail",
            TxKind::CreateAccount(_) => "create-account",
            TxKind::Heartbeat(_) => "heartbeat",
            TxKind::Evidence(_) => "evidence",
        }
    }

    /// Whether this is one of the staking kinds (tags 3–9 and 11).
    pub fn is_staking(&self) -> bool {
        !matches!(
            self,
            TxKind::Transfer | TxKind::Coinbase { .. } | TxKind::Authority(_) | TxKind::Evidence(_)
        )
    }

    /// The evidence an `evidence` transaction carries.
    pub fn evidence(&self) -> Option<&crate::vote::EvidenceReport> {
        match self {
            TxKind::Evidence(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the transaction carries, after its input witnesses, the
    /// witness of the key the action is for.
    pub fn takes_actor_witness(&self) -> bool {
        self.is_staking() && !matches!(self, TxKind::CreateAccount(_))
    }

    /// The coins the transaction moves from its inputs into stake (a
    /// `stake` or `delegate`), zero otherwise: inputs pay outputs, this
    /// and the fee.
    pub fn bonded(&self) -> Amount {
        match self {
            TxKind::Stake(s) => s.amount,
            TxKind::Delegate(d) => d.amount,
            _ => Amount::ZERO,
        }
    }
}

impl Encode for TxKind {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        match self {
            TxKind::Transfer => s.put(&[0]),
            TxKind::Coinbase { height } => {
                s.put(&[1]);
                s.put(&height.to_le_bytes());
            }
            TxKind::Authority(change) => {
                s.put(&[2]);
                change.encode_to(s);
            }
            TxKind::Stake(p) => {
                s.put(&[3]);
                p.encode_to(s);
            }
            TxKind::Delegate(p) => {
                s.put(&[4]);
                p.encode_to(s);
            }
            TxKind::Undelegate(p) => {
                s.put(&[5]);
                p.encode_to(s);
            }
            TxKind::Unstake(p) => {
                s.put(&[6]);
                p.encode_to(s);
            }
            TxKind::RegisterNode(p) => {
                s.put(&[7]);
                p.encode_to(s);
            }
            TxKind::Unjail(p) => {
                s.put(&[8]);
                p.encode_to(s);
            }
            TxKind::CreateAccount(p) => {
                s.put(&[9]);
                p.encode_to(s);
            }
            TxKind::Heartbeat(p) => {
                s.put(&[11]);
                p.encode_to(s);
            }
            TxKind::Evidence(p) => {
                s.put(&[10]);
                p.encode_to(s);
            }
        }
    }
}

impl Decode for TxKind {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("kind")? {
            0 => Ok(TxKind::Transfer),
            1 => Ok(TxKind::Coinbase {
                height: r.u64("coinbase height")?,
            }),
            2 => Ok(TxKind::Authority(AuthorityChange::decode(r)?)),
            3 => Ok(TxKind::Stake(Stake::decode(r)?)),
            4 => Ok(TxKind::Delegate(Delegation::decode(r)?)),
            5 => Ok(TxKind::Undelegate(Unbond::decode(r)?)),
            6 => Ok(TxKind::Unstake(Unbond::decode(r)?)),
            7 => Ok(TxKind::RegisterNode(NodeRegistration::decode(r)?)),
            8 => Ok(TxKind::Unjail(Unjail::decode(r)?)),
            9 => Ok(TxKind::CreateAccount(AccountCreation::decode(r)?)),
            11 => Ok(TxKind::Heartbeat(Heartbeat::decode(r)?)),
            10 => Ok(TxKind::Evidence(Box::new(
                crate::vote::EvidenceReport::decode(r)?,
            ))),
            tag => Err(DecodeError::UnknownTag {
                field: "kind",
                tag: tag.into(),
            }),
        }
    }
}

/// The proof that authorises spending one input.
///
/// Encoded as a tagged union whose tag is the first byte: a key witness
/// starts with its public key, whose first byte is a scheme tag (1–3); a
/// multisig witness starts with 0, which is never a scheme tag (ADR 0020).
/// So key witnesses keep the encoding they had before multisig existed.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Witness {
    /// Spends a [`crate::Lock::Key`]: the key and its signature over
    /// [`Transaction::signature_message`].
    Key {
        /// The key; its hash must match the spent output's lock.
        public_key: PublicKey,
        /// The signature.
        signature: Signature,
    },
    /// Spends a [`crate::Lock::Multisig`]: exactly `threshold` keys of the
    /// set, each with its Merkle path and its signature over the same
    /// message.
    Multisig(MultisigWitness),
}

/// The first byte of a multisig witness.
const MULTISIG_WITNESS_TAG: u8 = 0;

impl Witness {
    /// The signatures checking this witness verifies: one for a key, one
    /// per signer of a multisig set.
    pub fn signature_count(&self) -> usize {
        match self {
            Witness::Key { .. } => 1,
            Witness::Multisig(m) => m.signers.len(),
        }
    }

    /// A key witness of `scheme`'s exact key and signature sizes with zero
    /// bytes, for computing a transaction's signed size before signing.
    pub fn placeholder(scheme: crate::SchemeId) -> Witness {
        Witness::Key {
            public_key: PublicKey {
                scheme,
                bytes: vec![0; scheme.public_key_len()],
            },
            signature: Signature {
                scheme,
                bytes: vec![0; scheme.signature_len()],
            },
        }
    }

    /// A multisig witness of the exact size that signers `signers` (their
    /// schemes and positions) of a set of `keys` keys produce, with zero
    /// bytes, for computing a transaction's signed size before signing.
    pub fn multisig_placeholder(signers: &[(u8, crate::SchemeId)], keys: usize) -> Witness {
        Witness::Multisig(MultisigWitness {
            signers: signers
                .iter()
                .map(|&(index, scheme)| MultisigSigner {
                    index,
                    public_key: PublicKey {
                        scheme,
                        bytes: vec![0; scheme.public_key_len()],
                    },
                    path: vec![Hash::ZERO; crate::multisig::key_path_len(index.into(), keys)],
                    signature: Signature {
                        scheme,
                        bytes: vec![0; scheme.signature_len()],
                    },
                })
                .collect(),
        })
    }

    /// Every key and signature the witness carries.
    pub fn signatures(&self) -> Vec<(&PublicKey, &Signature)> {
        match self {
            Witness::Key {
                public_key,
                signature,
            } => vec![(public_key, signature)],
            Witness::Multisig(m) => m
                .signers
                .iter()
                .map(|s| (&s.public_key, &s.signature))
                .collect(),
        }
    }
}

impl Encode for Witness {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        match self {
            Witness::Key {
                public_key,
                signature,
            } => {
                public_key.encode_to(s);
                signature.encode_to(s);
            }
            Witness::Multisig(m) => {
                s.put(&[MULTISIG_WITNESS_TAG]);
                m.encode_to(s);
            }
        }
    }
}

impl Decode for Witness {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        if r.peek_u8("witness")? == MULTISIG_WITNESS_TAG {
            r.u8("witness")?;
            return Ok(Witness::Multisig(MultisigWitness::decode(r)?));
        }
        Ok(Witness::Key {
            public_key: PublicKey::decode(r)?,
            signature: Signature::decode(r)?,
        })
    }
}

/// A transaction.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Transaction {
    /// Format version: 1, or 2 for a transaction that carries `data`.
    pub version: u16,
    /// The chain this transaction is valid on (replay protection).
    pub chain_id: u32,
    /// What it does.
    pub kind: TxKind,
    /// The outputs it spends.
    pub inputs: Vec<OutPoint>,
    /// The outputs it creates.
    pub outputs: Vec<TxOut>,
    /// Last block height that may include it; 0 means no expiry.
    pub expiry_height: u64,
    /// One witness per input, in input order.
    pub witnesses: Vec<Witness>,
    /// Arbitrary bytes (a memo, a hash of a document), at most
    /// [`MAX_TX_DATA`], committed to by the txid and the signatures. Encoded
    /// only by version 2, which must carry some; empty in version 1.
    pub data: Vec<u8>,
}

impl Transaction {
    /// The signatures checking this transaction verifies (a multisig
    /// witness holds one per signer): what the node's verification metric
    /// counts.
    pub fn signature_count(&self) -> usize {
        self.witnesses.iter().map(Witness::signature_count).sum()
    }

    /// Encodes everything except the witnesses.
    pub fn encode_body<S: Sink>(&self, s: &mut S) {
        s.put(&self.version.to_le_bytes());
        s.put(&self.chain_id.to_le_bytes());
        self.kind.encode_to(s);
        put_seq(s, &self.inputs);
        put_seq(s, &self.outputs);
        s.put(&self.expiry_height.to_le_bytes());
        if self.version >= 2 {
            crate::codec::put_bytes(s, &self.data);
        }
    }

    /// The transaction id: hash of the body, witnesses excluded.
    pub fn txid(&self) -> Hash {
        let mut h = TXID.hasher();
        self.encode_body(&mut h);
        h.finish()
    }

    /// The witness transaction id: hash of the full encoding.
    pub fn wtxid(&self) -> Hash {
        let mut h = WTXID.hasher();
        self.encode_to(&mut h);
        h.finish()
    }

    /// Whether this is a coinbase.
    pub fn is_coinbase(&self) -> bool {
        matches!(self.kind, TxKind::Coinbase { .. })
    }

    /// The validator-set change this transaction makes, if it is one.
    pub fn authority_change(&self) -> Option<&AuthorityChange> {
        match &self.kind {
            TxKind::Authority(c) => Some(c),
            _ => None,
        }
    }

    /// The message every witness of this transaction signs, given the hash
    /// of the chain's genesis block and the outputs its inputs spend (in
    /// input order).
    ///
    /// The chain id and the genesis hash together are the replay domain: two
    /// chains that share a chain id but not a genesis (an edited copy of a
    /// preset) never accept each other's signatures.
    ///
    /// Returns `None` if `spent` does not have one entry per input.
    pub fn signature_message(&self, genesis: &Hash, spent: &[TxOut]) -> Option<Hash> {
        if spent.len() != self.inputs.len() {
            return None;
        }
        let mut h = SIGHASH.hasher();
        h.update(&self.version.to_le_bytes());
        h.update(&self.chain_id.to_le_bytes());
        h.update(&genesis.0);
        self.kind.encode_to(&mut h);
        put_length(&mut h, self.inputs.len());
        for (input, coin) in self.inputs.iter().zip(spent) {
            input.encode_to(&mut h);
            coin.encode_to(&mut h);
        }
        put_seq(&mut h, &self.outputs);
        h.update(&self.expiry_height.to_le_bytes());
        if self.version >= 2 {
            crate::codec::put_bytes(&mut h, &self.data);
        }
        Some(h.finish())
    }

    /// Sum of output amounts, or an error on overflow.
    pub fn output_total(&self) -> Result<Amount, crate::AmountError> {
        Amount::sum(self.outputs.iter().map(|o| o.amount))
    }
}

impl Encode for Transaction {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.encode_body(s);
        put_seq(s, &self.witnesses);
    }
}

impl Decode for Transaction {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let version = r.u16("version")?;
        let chain_id = r.u32("chain id")?;
        let kind = TxKind::decode(r)?;
        let inputs = r.seq("inputs", MAX_TX_IO, OutPoint::decode)?;
        let outputs = r.seq("outputs", MAX_TX_IO, TxOut::decode)?;
        let expiry_height = r.u64("expiry height")?;
        let data = if version >= 2 {
            r.bytes("data", MAX_TX_DATA)?.to_vec()
        } else {
            Vec::new()
        };
        Ok(Transaction {
            version,
            chain_id,
            kind,
            inputs,
            outputs,
            expiry_height,
            witnesses: r.seq("witnesses", MAX_TX_IO, Witness::decode)?,
            data,
        })
    }
}
