//! Typed validation errors. Each carries an [`ErrorClass`] that decides how a
//! peer is penalised and which API status a client sees.

use luminex_crypto::VerifyError;
use luminex_primitives::commitment::CommitmentError;
use luminex_primitives::{Amount, DecodeError, Hash, OutPoint, SchemeId};

/// The class of a rejection, after Bitcoin Core's `TxValidationResult`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErrorClass {
    /// Invalid under the consensus rules: the sender is at fault.
    Consensus,
    /// Valid but refused by local policy (fee, size, mempool full).
    Policy,
    /// Spends outputs this node does not know (maybe not yet).
    MissingInputs,
    /// May become valid later (immature coinbase, future time).
    Premature,
}

/// Why a transaction is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TxError {
    /// The bytes are not a canonical transaction.
    #[error("malformed transaction: {0}")]
    Decode(#[from] DecodeError),
    /// An invalid authority change (ADR 0025).
    #[error("invalid authority change: {0}")]
    Authority(#[from] crate::AuthorityError),
    /// An invalid staking transaction (ADR 0031), or an output to an
    /// address no account created where the spec requires it.
    #[error("{0}")]
    Staking(#[from] crate::StakingError),
    /// Double-signing evidence that proves nothing or cannot be carried.
    #[error("evidence: {0}")]
    Evidence(#[from] crate::evidence::EvidenceError),
    /// The transaction version is not supported.
    #[error("unsupported transaction version {0}")]
    Version(u16),
    /// Signed for another chain (replay).
    #[error("transaction is for chain {found}, this is chain {expected}")]
    WrongChain {
        /// This chain.
        expected: u32,
        /// The transaction's.
        found: u32,
    },
    /// A transfer without inputs.
    #[error("transaction has no inputs")]
    NoInputs,
    /// A transaction without outputs.
    #[error("transaction has no outputs")]
    NoOutputs,
    /// An output of zero value.
    #[error("output {0} has zero value")]
    ZeroOutput(usize),
    /// Output values overflow.
    #[error("output total out of range")]
    OutputOverflow,
    /// The same outpoint spent twice in one transaction.
    #[error("input {0}:{1} is spent twice in the transaction")]
    DuplicateInput(Hash, u32),
    /// Witness count differs from input count.
    #[error("{witnesses} witnesses for {inputs} inputs")]
    WitnessCount {
        /// Inputs.
        inputs: usize,
        /// Witnesses.
        witnesses: usize,
    },
    /// Encoded size above the spec's limit.
    #[error("transaction is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// A key or signature of a scheme this chain does not allow.
    #[error("signature scheme {0} is not allowed on this chain")]
    SchemeNotAllowed(SchemeId),
    /// An output locked to a scheme this chain does not allow.
    #[error("output {0} is locked to a scheme not allowed on this chain")]
    LockSchemeNotAllowed(usize),
    /// A coinbase outside the first position, or a malformed coinbase.
    #[error("unexpected or malformed coinbase")]
    Coinbase,
    /// An input that is neither in the UTXO set nor earlier in the block.
    #[error("input {0} is unknown or already spent")]
    MissingInput(OutPoint),
    /// An input spent earlier in the same block or by a mempool transaction.
    #[error("input {0} is already spent by another transaction")]
    DoubleSpend(OutPoint),
    /// A coinbase output spent before maturity.
    #[error("coinbase output spent at height {height}, mature at {mature_at}")]
    ImmatureCoinbase {
        /// Spending height.
        height: u64,
        /// First height it may be spent.
        mature_at: u64,
    },
    /// The expiry height has passed.
    #[error("transaction expired at height {expiry}, next block is {height}")]
    Expired {
        /// Its expiry height.
        expiry: u64,
        /// The height it would be included at.
        height: u64,
    },
    /// Outputs exceed inputs.
    #[error("outputs {outputs} exceed inputs {inputs}")]
    Overspend {
        /// Sum of inputs.
        inputs: Amount,
        /// Sum of outputs.
        outputs: Amount,
    },
    /// The fee is below the spec's minimum fee rate.
    #[error("fee {fee} base units is below the minimum {required} for {size} bytes")]
    FeeTooLow {
        /// Fee paid.
        fee: u64,
        /// Fee required.
        required: u64,
        /// Transaction size.
        size: usize,
    },
    /// The witness key does not match the lock of the spent output.
    #[error("input {0}: key does not match the spent output's lock")]
    WrongKey(usize),
    /// A signature failed to verify.
    #[error("input {input}: {error}")]
    BadSignature {
        /// Input index.
        input: usize,
        /// Why.
        error: VerifyError,
    },
    /// An output locked to a multisig policy that is not `1 <= m <= n`.
    #[error("output {0} has a bad multisig threshold")]
    BadThreshold(usize),
    /// A multisig witness does not unlock its input.
    #[error("input {input}: {error}")]
    Multisig {
        /// Input index.
        input: usize,
        /// Why.
        error: MultisigError,
    },
}

/// Why a multisig witness does not unlock the multisig lock it spends.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MultisigError {
    /// Fewer signers than the lock's threshold.
    #[error("{found} multisig signatures, the lock needs {required}")]
    TooFewSignatures {
        /// The threshold.
        required: usize,
        /// Signers in the witness.
        found: usize,
    },
    /// More signers than the threshold: exactly `m` sign, so nobody can
    /// strip or add signatures to change a spend's wtxid.
    #[error("{found} multisig signatures, the lock takes exactly {required}")]
    TooManySignatures {
        /// The threshold.
        required: usize,
        /// Signers in the witness.
        found: usize,
    },
    /// The same key position signs twice.
    #[error("key {index} of the multisig set signs twice")]
    DuplicateSigner {
        /// Its position in the set.
        index: u8,
    },
    /// Signers are not in increasing key position.
    #[error("multisig signers are not in increasing key order")]
    SignerOrder,
    /// A signer's Merkle path is malformed (position outside the set, or
    /// not the number of siblings the position needs).
    #[error("signer at key {index}: malformed Merkle path")]
    BadProof {
        /// Its claimed position in the set.
        index: u8,
    },
    /// A signer's key is not the key at its position of the set.
    #[error("signer at key {index}: key is not in the multisig set")]
    KeyNotInSet {
        /// Its claimed position in the set.
        index: u8,
    },
    /// A signer's signature does not verify (or its key or signature has
    /// the wrong size or scheme).
    #[error("signer at key {index}: {error}")]
    BadSignature {
        /// Its position in the set.
        index: u8,
        /// Why.
        error: VerifyError,
    },
}

impl MultisigError {
    /// A short stable code for APIs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            MultisigError::TooFewSignatures { .. } => "multisig-too-few-signatures",
            MultisigError::TooManySignatures { .. } => "multisig-too-many-signatures",
            MultisigError::DuplicateSigner { .. } => "multisig-duplicate-signer",
            MultisigError::SignerOrder => "multisig-signer-order",
            MultisigError::BadProof { .. } => "multisig-bad-proof",
            MultisigError::KeyNotInSet { .. } => "multisig-key-not-in-set",
            MultisigError::BadSignature { .. } => "bad-signature",
        }
    }
}

impl TxError {
    /// The class of this rejection.
    pub fn class(&self) -> ErrorClass {
        match self {
            TxError::MissingInput(_) => ErrorClass::MissingInputs,
            TxError::ImmatureCoinbase { .. } => ErrorClass::Premature,
            TxError::FeeTooLow { .. } | TxError::TooLarge { .. } => ErrorClass::Policy,
            _ => ErrorClass::Consensus,
        }
    }

    /// A short stable code for APIs and metrics (`bad-signature`, …).
    pub fn code(&self) -> &'static str {
        match self {
            TxError::Decode(_) => "malformed",
            TxError::Authority(e) => e.code(),
            TxError::Staking(e) => e.code(),
            TxError::Evidence(e) => e.code(),
            TxError::Version(_) => "bad-version",
            TxError::WrongChain { .. } => "wrong-chain",
            TxError::NoInputs => "no-inputs",
            TxError::NoOutputs => "no-outputs",
            TxError::ZeroOutput(_) => "zero-output",
            TxError::OutputOverflow => "output-overflow",
            TxError::DuplicateInput(..) => "duplicate-input",
            TxError::WitnessCount { .. } => "witness-count",
            TxError::TooLarge { .. } => "tx-too-large",
            TxError::SchemeNotAllowed(_) => "scheme-not-allowed",
            TxError::LockSchemeNotAllowed(_) => "lock-scheme-not-allowed",
            TxError::Coinbase => "bad-coinbase",
            TxError::MissingInput(_) => "missing-inputs",
            TxError::DoubleSpend(_) => "double-spend",
            TxError::ImmatureCoinbase { .. } => "immature-coinbase",
            TxError::Expired { .. } => "expired",
            TxError::Overspend { .. } => "insufficient-funds",
            TxError::FeeTooLow { .. } => "fee-too-low",
            TxError::WrongKey(_) => "wrong-key",
            TxError::BadSignature { .. } => "bad-signature",
            TxError::BadThreshold(_) => "bad-multisig-threshold",
            TxError::Multisig { error, .. } => error.code(),
        }
    }
}

/// Why a block is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BlockError {
    /// The bytes are not a canonical block.
    #[error("malformed block: {0}")]
    Decode(#[from] DecodeError),
    /// Encoded size above the spec's limit.
    #[error("block is {size} bytes, the limit is {max}")]
    TooLarge {
        /// Size.
        size: usize,
        /// Limit.
        max: usize,
    },
    /// The header's Merkle root does not match the transactions.
    #[error("merkle root mismatch")]
    BadMerkleRoot,
    /// The transaction list repeats a subtree of Bitcoin's Merkle tree, so it
    /// shares its root with another list (CVE-2012-2459).
    #[error("transaction list is mutated (duplicate subtree of the merkle tree)")]
    Mutated,
    /// The coinbase of a chain that commits to witnesses in the coinbase
    /// carries no witness commitment.
    #[error("coinbase carries no witness commitment")]
    NoWitnessCommitment,
    /// The coinbase's witness commitment does not match the witnesses.
    #[error("witness commitment mismatch")]
    BadWitnessCommitment,
    /// The first transaction is not a coinbase.
    #[error("first transaction is not a coinbase")]
    NoCoinbase,
    /// A transaction appears twice in the block (Bitcoin Core's
    /// `bad-txns-duplicate`): its second copy could only spend what the
    /// first spent.
    #[error("transaction {index} ({txid}) appears earlier in the block")]
    DuplicateTx {
        /// Position of the second copy.
        index: usize,
        /// Its txid.
        txid: Hash,
    },
    /// The coinbase height is not the block's height.
    #[error("coinbase height {found}, block height {expected}")]
    CoinbaseHeight {
        /// Block height.
        expected: u64,
        /// In the coinbase.
        found: u64,
    },
    /// The coinbase claims more than subsidy plus fees.
    #[error("coinbase pays {claimed}, at most {allowed} allowed")]
    CoinbaseTooLarge {
        /// Paid.
        claimed: Amount,
        /// Allowed.
        allowed: Amount,
    },
    /// The parent is not the current tip.
    #[error("block does not build on the tip")]
    BadParent,
    /// Time not after the parent's.
    #[error("block time {time} is not after the parent's {parent}")]
    TimeTooOld {
        /// Block time.
        time: u64,
        /// Parent time.
        parent: u64,
    },
    /// Time not after the median time of the previous blocks.
    #[error("block time {time} is not after the median time past {median}")]
    TimeNotAfterMedian {
        /// Block time.
        time: u64,
        /// Median of the previous blocks' times.
        median: u64,
    },
    /// `bits` is not the difficulty the chain requires at this height.
    #[error("block bits {found:#010x}, the chain requires {expected:#010x}")]
    BadBits {
        /// Required.
        expected: u32,
        /// Found.
        found: u32,
    },
    /// The header hash does not meet its target, or the target is invalid.
    #[error("proof of work: {0}")]
    HighHash(String),
    /// The block is known to be invalid, or descends from one.
    #[error("block is on a branch already found invalid")]
    KnownInvalid,
    /// Time too far in the future.
    #[error("block time {time} is more than the allowed drift past now ({now})")]
    TimeTooNew {
        /// Block time.
        time: u64,
        /// Local time.
        now: u64,
    },
    /// No block template: the earliest time the next block may carry (the
    /// chain's median time past, plus one) is more than the allowed drift
    /// past this node's clock, so a block mined now would be refused here.
    #[error("no block template: the next block may not be dated before {earliest}, more than the allowed drift past this node's clock ({now}); is the clock behind? (mining resumes when the clock passes {earliest} minus the drift)")]
    ClockBehindChain {
        /// The earliest time the next block may carry.
        earliest: u64,
        /// Local time.
        now: u64,
    },
    /// The header is not of the kind the chain's consensus uses.
    #[error("header kind does not match the chain's consensus")]
    WrongHeaderKind,
    /// The BFT header's height is not its parent's plus one.
    #[error("header height {found}, expected {expected}")]
    BadHeight {
        /// Parent height plus one.
        expected: u64,
        /// In the header.
        found: u64,
    },
    /// The BFT header's time (milliseconds) is not after its parent's.
    #[error("block time {time_ms} ms is before the earliest allowed {min_ms} ms")]
    BadTime {
        /// In the header.
        time_ms: u64,
        /// Parent time plus one millisecond.
        min_ms: u64,
    },
    /// The consensus state of the parent is not stored.
    #[error("no consensus state at height {0}")]
    NoConsensusState(u64),
    /// The proposer is not in the validator set.
    #[error("proposer {0} is not a validator at this height")]
    BadProposer(Hash),
    /// The header's validator-set hashes are not the chain's.
    #[error("validator set hash mismatch")]
    BadValidatorsHash,
    /// The header's consensus state root is not the state after the block.
    #[error("consensus state root mismatch")]
    BadStateRoot,
    /// The block's certificate of its parent is missing, extra or invalid.
    #[error("last commit: {0}")]
    BadLastCommit(String),
    /// A commit certificate does not finalize the block.
    #[error("commit certificate: {0}")]
    BadCertificate(String),
    /// A block of a finality chain offered without its commit certificate.
    #[error("block has no commit certificate")]
    Uncertified,
    /// A transaction in the block is invalid.
    #[error("transaction {index} ({txid}): {error}")]
    Tx {
        /// Position in the block.
        index: usize,
        /// Its txid.
        txid: Hash,
        /// Why.
        error: TxError,
    },
}

impl BlockError {
    /// A short stable code, after Bitcoin Core's BIP 22 reject reasons.
    pub fn code(&self) -> &'static str {
        match self {
            BlockError::Decode(_) => "bad-block-encoding",
            BlockError::TooLarge { .. } => "bad-blk-length",
            BlockError::BadMerkleRoot => "bad-txnmrklroot",
            BlockError::Mutated => "bad-txns-duplicate",
            BlockError::NoWitnessCommitment => "bad-witness-commitment",
            BlockError::BadWitnessCommitment => "bad-witness-merkle-match",
            BlockError::NoCoinbase => "bad-cb-missing",
            BlockError::CoinbaseHeight { .. } => "bad-cb-height",
            BlockError::CoinbaseTooLarge { .. } => "bad-cb-amount",
            BlockError::BadParent => "bad-prevblk",
            BlockError::TimeTooOld { .. } | BlockError::TimeNotAfterMedian { .. } => "time-too-old",
            BlockError::TimeTooNew { .. } | BlockError::ClockBehindChain { .. } => "time-too-new",
            BlockError::BadBits { .. } => "bad-diffbits",
            BlockError::HighHash(_) => "high-hash",
            BlockError::KnownInvalid => "bad-prevblk",
            // Bitcoin Core's reasons where it has one of its own.
            BlockError::Tx { error, .. } => match error {
                TxError::MissingInput(_) | TxError::DoubleSpend(_) => {
                    "bad-txns-inputs-missingorspent"
                }
                TxError::DuplicateInput(..) => "bad-txns-inputs-duplicate",
                TxError::Overspend { .. } => "bad-txns-in-belowout",
                TxError::ImmatureCoinbase { .. } => "bad-txns-premature-spend-of-coinbase",
                TxError::NoInputs => "bad-txns-vin-empty",
                TxError::NoOutputs => "bad-txns-vout-empty",
                TxError::OutputOverflow => "bad-txns-txouttotal-toolarge",
                _ => "bad-txns",
            },
            BlockError::DuplicateTx { .. } => "bad-txns-duplicate",
            BlockError::WrongHeaderKind => "bad-header-kind",
            BlockError::BadHeight { .. } => "bad-height",
            BlockError::BadTime { .. } => "bad-time",
            BlockError::NoConsensusState(_) => "bad-prevblk",
            BlockError::BadProposer(_) => "bad-proposer",
            BlockError::BadValidatorsHash => "bad-validators-hash",
            BlockError::BadStateRoot => "bad-state-root",
            BlockError::BadLastCommit(_) => "bad-last-commit",
            BlockError::BadCertificate(_) => "bad-commit",
            BlockError::Uncertified => "uncertified",
        }
    }

    /// Whether the transactions do not match what the header commits to (a
    /// wrong Merkle root, a mutated list, witnesses that differ from the
    /// coinbase's commitment). Such a block says nothing about its header:
    /// the block the header was mined for may still arrive and be valid, so
    /// the header must not be marked invalid (Bitcoin Core's
    /// `BLOCK_MUTATED`).
    pub fn is_mutation(&self) -> bool {
        matches!(
            self,
            BlockError::BadMerkleRoot | BlockError::Mutated | BlockError::BadWitnessCommitment
        )
    }

    /// The class of this rejection.
    pub fn class(&self) -> ErrorClass {
        match self {
            BlockError::TimeTooNew { .. } | BlockError::ClockBehindChain { .. } => {
                ErrorClass::Premature
            }
            BlockError::BadParent | BlockError::NoConsensusState(_) => ErrorClass::MissingInputs,
            BlockError::Tx { error, .. } => match error.class() {
                ErrorClass::Policy => ErrorClass::Consensus,
                c => c,
            },
            _ => ErrorClass::Consensus,
        }
    }
}

impl From<CommitmentError> for BlockError {
    fn from(e: CommitmentError) -> Self {
        match e {
            CommitmentError::Mutated => BlockError::Mutated,
            CommitmentError::MissingWitnessCommitment => BlockError::NoWitnessCommitment,
            CommitmentError::Witness => BlockError::BadWitnessCommitment,
            // Root, and any later variant: the transactions are not the
            // header's.
            _ => BlockError::BadMerkleRoot,
        }
    }
}
