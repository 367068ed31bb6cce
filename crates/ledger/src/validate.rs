//! Tiers 1 and 2 of transaction validation, and context-free block checks.

use std::collections::HashSet;

use luminex_crypto::VerifyError;
use luminex_primitives::commitment::WITNESS_COMMITMENT_LEN;
use luminex_primitives::multisig::{check_membership, threshold_ok, MembershipError};
use luminex_primitives::{
    Amount, Block, Encode, Hash, Lock, MerkleCommitment, MultisigWitness, PublicKey, Signature,
    Transaction, TxKind, TxOut, Witness,
};
use rayon::prelude::*;

use crate::{BlockError, ChainSpec, Coin, MultisigError, TxError, UtxoView};

/// Tier 1: checks that need nothing but the transaction and the spec.
/// Rejects coinbases, which are only valid as the first transaction of a
/// block (see [`check_block`]).
pub fn check_transaction(tx: &Transaction, spec: &ChainSpec) -> Result<usize, TxError> {
    // Version 1 carries no data; version 2 carries 1..=80 bytes (one
    // encoding for "no data").
    match (tx.version, tx.data.len() as u64) {
        (1, 0) => {}
        (2, 1..=luminex_primitives::tx::MAX_TX_DATA) => {}
        (v, _) => return Err(TxError::Version(v)),
    }
    if tx.chain_id != spec.chain_id {
        return Err(TxError::WrongChain {
            expected: spec.chain_id,
            found: tx.chain_id,
        });
    }
    match &tx.kind {
        TxKind::Transfer => {}
        TxKind::Coinbase { .. } => return Err(TxError::Coinbase),
        TxKind::Authority(change) => {
            crate::authority::check_shape(tx, change, spec)?;
            return check_size(tx, spec);
        }
        TxKind::Evidence(_) => {
            crate::staking::check_evidence_tx(tx, spec)?;
            return check_size(tx, spec);
        }
        _ => crate::staking::check_shape(tx, spec)?,
    }
    if tx.inputs.is_empty() {
        return Err(TxError::NoInputs);
    }
    // A staking transaction may bond or spend all its inputs (no change).
    if !(tx.kind.is_staking() && tx.outputs.is_empty()) {
        check_outputs(tx, spec)?;
    }
    // The staking kinds but `create-account` add the acting key's witness.
    let witnesses = tx.inputs.len() + usize::from(tx.kind.takes_actor_witness());
    if tx.witnesses.len() != witnesses {
        return Err(TxError::WitnessCount {
            inputs: tx.inputs.len(),
            witnesses: tx.witnesses.len(),
        });
    }
    if tx.inputs.len() > 1 {
        let mut seen = HashSet::with_capacity(tx.inputs.len());
        for i in &tx.inputs {
            if !seen.insert(i) {
                return Err(TxError::DuplicateInput(i.txid, i.vout));
            }
        }
    }
    for (input, w) in tx.witnesses.iter().enumerate() {
        for (key, sig) in w.signatures() {
            for scheme in [key.scheme, sig.scheme] {
                if !spec.allows(scheme) {
                    return Err(TxError::SchemeNotAllowed(scheme));
                }
            }
        }
        match w {
            Witness::Key {
                public_key,
                signature,
            } => check_key_shape(public_key, signature)
                .map_err(|error| TxError::BadSignature { input, error })?,
            Witness::Multisig(m) => {
                for s in &m.signers {
                    check_key_shape(&s.public_key, &s.signature).map_err(|error| {
                        TxError::Multisig {
                            input,
                            error: MultisigError::BadSignature {
                                index: s.index,
                                error,
                            },
                        }
                    })?;
                }
            }
        }
    }
    check_size(tx, spec)
}

/// The encoded size of `tx`, if within the spec's limit.
fn check_size(tx: &Transaction, spec: &ChainSpec) -> Result<usize, TxError> {
    let size = tx.encoded_len();
    if size > spec.max_tx_bytes {
        return Err(TxError::TooLarge {
            size,
            max: spec.max_tx_bytes,
        });
    }
    Ok(size)
}

/// A key and a signature of the same scheme, with that scheme's sizes.
fn check_key_shape(public_key: &PublicKey, signature: &Signature) -> Result<(), VerifyError> {
    if public_key.scheme != signature.scheme {
        Err(VerifyError::SchemeMismatch {
            key: public_key.scheme,
            sig: signature.scheme,
        })
    } else if public_key.bytes.len() != public_key.scheme.public_key_len() {
        Err(VerifyError::KeyLength(public_key.bytes.len()))
    } else if signature.bytes.len() != signature.scheme.signature_len() {
        Err(VerifyError::SignatureLength(signature.bytes.len()))
    } else {
        Ok(())
    }
}

fn check_outputs(tx: &Transaction, spec: &ChainSpec) -> Result<(), TxError> {
    if tx.outputs.is_empty() {
        return Err(TxError::NoOutputs);
    }
    for (i, o) in tx.outputs.iter().enumerate() {
        if o.amount == Amount::ZERO {
            return Err(TxError::ZeroOutput(i));
        }
        match o.lock {
            Lock::Key { scheme, .. } => {
                if !spec.allows(scheme) {
                    return Err(TxError::LockSchemeNotAllowed(i));
                }
            }
            // The keys' schemes are behind the root: each signer's scheme is
            // checked when the output is spent.
            Lock::Multisig {
                threshold, keys, ..
            } => {
                if !threshold_ok(threshold.into(), keys.into()) {
                    return Err(TxError::BadThreshold(i));
                }
            }
        }
    }
    tx.output_total().map_err(|_| TxError::OutputOverflow)?;
    Ok(())
}

/// What tier 2 learned about a transaction.
#[derive(Debug, Clone)]
pub struct InputCheck {
    /// The coins it spends, in input order.
    pub spent: Vec<Coin>,
    /// Inputs minus outputs.
    pub fee: Amount,
}

/// Tier 2 without keys and signatures: the inputs exist and may be spent at
/// `height`, the outputs do not exceed them and the fee pays the minimum rate
/// for `size` bytes. Keys and signatures are checked separately by
/// [`verify_signatures`] so blocks can check them in parallel.
pub fn check_tx_inputs(
    tx: &Transaction,
    size: usize,
    view: &impl UtxoView,
    height: u64,
    spec: &ChainSpec,
) -> Result<InputCheck, TxError> {
    if tx.expiry_height != 0 && height > tx.expiry_height {
        return Err(TxError::Expired {
            expiry: tx.expiry_height,
            height,
        });
    }
    if matches!(tx.kind, TxKind::Authority(_) | TxKind::Evidence(_)) {
        // Spends nothing and pays nothing: an authority change's signers
        // and effect are checked against the consensus state
        // (`check_authority_change`), evidence against the set of its
        // height (`evidence::check_block_evidence`).
        return Ok(InputCheck {
            spent: Vec::new(),
            fee: Amount::ZERO,
        });
    }
    let mut spent = Vec::with_capacity(tx.inputs.len());
    let mut total = Amount::ZERO;
    for input in &tx.inputs {
        let coin = view.coin(input).ok_or(TxError::MissingInput(*input))?;
        if coin.is_coinbase {
            let mature_at = coin.height.saturating_add(spec.coinbase_maturity);
            if height < mature_at {
                return Err(TxError::ImmatureCoinbase { height, mature_at });
            }
        }
        total = total
            .checked_add(coin.output.amount)
            .map_err(|_| TxError::OutputOverflow)?;
        spent.push(coin);
    }
    // Inputs pay the outputs, the coins a `stake` or `delegate` bonds, and
    // the fee.
    let outputs = tx
        .output_total()
        .and_then(|o| o.checked_add(tx.kind.bonded()))
        .map_err(|_| TxError::OutputOverflow)?;
    let fee = total.checked_sub(outputs).map_err(|_| TxError::Overspend {
        inputs: total,
        outputs,
    })?;
    let required = spec.min_fee(size);
    if fee.base() < required {
        return Err(TxError::FeeTooLow {
            fee: fee.base(),
            required,
            size,
        });
    }
    Ok(InputCheck { spent, fee })
}

/// Tier 2 ownership: every witness carries the key its spent coin is locked
/// to (or, for a multisig lock, exactly `m` keys of its set with their
/// Merkle paths) and signs the transaction's message over the coins it
/// spends, on the chain whose genesis block hashes to `genesis`
/// ([`ChainSpec::genesis_hash`]).
pub fn verify_signatures(tx: &Transaction, genesis: &Hash, spent: &[Coin]) -> Result<(), TxError> {
    let outs: Vec<TxOut> = spent.iter().map(|c| c.output).collect();
    verify_spent_outputs(tx, genesis, &outs)
}

/// [`verify_signatures`] given only the outputs the inputs spend (their
/// heights and coinbase flags play no part in ownership).
pub fn verify_spent_outputs(
    tx: &Transaction,
    genesis: &Hash,
    spent: &[TxOut],
) -> Result<(), TxError> {
    for (input, (w, out)) in tx.witnesses.iter().zip(spent).enumerate() {
        match (w, out.lock) {
            (Witness::Key { public_key, .. }, Lock::Key { scheme, key_hash }) => {
                if public_key.scheme != scheme || public_key.key_hash() != key_hash {
                    return Err(TxError::WrongKey(input));
                }
            }
            (
                Witness::Multisig(m),
                Lock::Multisig {
                    threshold,
                    keys,
                    root,
                },
            ) => check_multisig_keys(m, threshold.into(), keys.into(), &root)
                .map_err(|error| TxError::Multisig { input, error })?,
            _ => return Err(TxError::WrongKey(input)),
        }
    }
    let msg = tx
        .signature_message(genesis, spent)
        .ok_or(TxError::WitnessCount {
            inputs: tx.inputs.len(),
            witnesses: spent.len(),
        })?;
    for (input, w) in tx.witnesses.iter().enumerate() {
        match w {
            Witness::Key {
                public_key,
                signature,
            } => luminex_crypto::verify(public_key, &msg, signature)
                .map_err(|error| TxError::BadSignature { input, error })?,
            Witness::Multisig(m) => {
                for s in &m.signers {
                    luminex_crypto::verify(&s.public_key, &msg, &s.signature).map_err(|error| {
                        TxError::Multisig {
                            input,
                            error: MultisigError::BadSignature {
                                index: s.index,
                                error,
                            },
                        }
                    })?;
                }
            }
        }
    }
    Ok(())
}

/// The keys of a multisig witness against its lock (signatures aside):
/// exactly `threshold` signers, in strictly increasing key position, each
/// key proven to be at its position of the set of `keys` with root `root`.
fn check_multisig_keys(
    w: &MultisigWitness,
    threshold: usize,
    keys: usize,
    root: &Hash,
) -> Result<(), MultisigError> {
    let found = w.signers.len();
    if found < threshold {
        return Err(MultisigError::TooFewSignatures {
            required: threshold,
            found,
        });
    }
    if found > threshold {
        return Err(MultisigError::TooManySignatures {
            required: threshold,
            found,
        });
    }
    for pair in w.signers.windows(2) {
        match pair[0].index.cmp(&pair[1].index) {
            std::cmp::Ordering::Less => {}
            std::cmp::Ordering::Equal => {
                return Err(MultisigError::DuplicateSigner {
                    index: pair[0].index,
                })
            }
            std::cmp::Ordering::Greater => return Err(MultisigError::SignerOrder),
        }
    }
    for s in &w.signers {
        check_membership(
            &s.public_key.key_hash(),
            s.index.into(),
            keys,
            &s.path,
            root,
        )
        .map_err(|e| match e {
            MembershipError::BadProof => MultisigError::BadProof { index: s.index },
            MembershipError::NotInSet => MultisigError::KeyNotInSet { index: s.index },
        })?;
    }
    Ok(())
}

/// Ids of a block's transactions, computed once by [`check_block`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockIds {
    /// txids in block order.
    pub txids: Vec<Hash>,
    /// wtxids in block order.
    pub wtxids: Vec<Hash>,
    /// Encoded size of each transaction.
    pub sizes: Vec<usize>,
}

/// Tier 1 for blocks: Merkle root (and witness commitment), size, coinbase
/// position and every transaction's context-free checks.
///
/// The transactions are checked against the header's commitment first: a
/// block whose transactions are not the ones its header commits to fails
/// with an error for which [`BlockError::is_mutation`] holds, whatever else
/// is wrong with it, so a peer cannot get a valid header condemned by
/// sending it with altered transactions or witnesses.
pub fn check_block(block: &Block, spec: &ChainSpec) -> Result<BlockIds, BlockError> {
    check_block_known(block, spec, &[])
}

/// The ids and encoded size of a transaction that passed
/// [`check_transaction`] under the spec a block is checked with — a
/// mempool's, computed when it admitted the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownTx {
    /// Its txid.
    pub txid: Hash,
    /// Its wtxid.
    pub wtxid: Hash,
    /// Its encoded size ([`check_transaction`]'s result).
    pub size: usize,
}

/// Whether `block`'s transactions are the ones its header commits to: the
/// Merkle root, and where the chain uses Bitcoin's commitment the witness
/// commitment too. A block that fails this is a mutated copy (a peer
/// altered the body of a real header), so whatever else is wrong with it
/// says nothing about the block the header was made for; a store checks
/// this before it condemns a header whose block failed in another way.
pub fn body_matches_header(block: &Block, spec: &ChainSpec) -> bool {
    let Some(coinbase) = block.txs.first() else {
        return false;
    };
    let (txids, wtxids): (Vec<Hash>, Vec<Hash>) =
        block.txs.par_iter().map(|t| (t.txid(), t.wtxid())).unzip();
    match spec.merkle_commitment.check_ids(
        &block.header.merkle_root(),
        Some(coinbase),
        &txids,
        &wtxids,
    ) {
        Ok(()) => true,
        // The root matched, so this is the header's own coinbase: a
        // coinbase without a witness commitment is the block's fault.
        Err(luminex_primitives::commitment::CommitmentError::MissingWitnessCommitment) => true,
        Err(_) => false,
    }
}

/// [`check_block`] for a block some of whose transactions were checked
/// before: `known[i]`, when present, holds what [`check_transaction`] and
/// the hashing found for transaction `i` (never the coinbase), which must
/// be this very transaction — a BFT proposal rebuilt from the mempool's
/// own copies. Those are not hashed or checked again; everything about the
/// block itself (its commitment, size and coinbase) is.
pub fn check_block_known(
    block: &Block,
    spec: &ChainSpec,
    known: &[Option<KnownTx>],
) -> Result<BlockIds, BlockError> {
    // No transactions at all is never what a header commits to (a block
    // has at least its coinbase): a copy whose list was emptied, refused
    // as mutated so that its header is not condemned.
    let Some(coinbase) = block.txs.first() else {
        return Err(BlockError::BadMerkleRoot);
    };
    // Ids and tier-1 checks of every transaction, on every core: hashing the
    // witnesses for the wtxids is most of the non-signature work of a block.
    // A transaction's error is reported after the commitment check.
    let per_tx: Vec<(Hash, Hash, Result<usize, TxError>)> = block
        .txs
        .par_iter()
        .enumerate()
        .map(|(index, tx)| {
            if let Some(k) = known.get(index).copied().flatten().filter(|_| index > 0) {
                return (k.txid, k.wtxid, Ok(k.size));
            }
            let size = if index == 0 {
                Ok(tx.encoded_len())
            } else {
                check_transaction(tx, spec)
            };
            (tx.txid(), tx.wtxid(), size)
        })
        .collect();
    let mut txids = Vec::with_capacity(per_tx.len());
    let mut wtxids = Vec::with_capacity(per_tx.len());
    let mut checked = Vec::with_capacity(per_tx.len());
    for (t, w, r) in per_tx {
        txids.push(t);
        wtxids.push(w);
        checked.push(r);
    }
    spec.merkle_commitment.check_ids(
        &block.header.merkle_root(),
        Some(coinbase),
        &txids,
        &wtxids,
    )?;
    let size = block.encoded_len();
    if size > spec.max_block_bytes {
        return Err(BlockError::TooLarge {
            size,
            max: spec.max_block_bytes,
        });
    }
    if !coinbase.is_coinbase()
        || !coinbase.inputs.is_empty()
        || !coinbase.witnesses.is_empty()
        || coinbase.chain_id != spec.chain_id
        || !coinbase_version_ok(coinbase, spec)
    {
        return Err(BlockError::NoCoinbase);
    }
    // A transaction twice (the commitment above matched, so the header's
    // own list has it twice): Bitcoin Core's `bad-txns-duplicate`, rather
    // than a double spend found while connecting.
    let mut seen = HashSet::with_capacity(txids.len());
    if let Some(index) = txids.iter().position(|t| !seen.insert(*t)) {
        return Err(BlockError::DuplicateTx {
            index,
            txid: txids[index],
        });
    }
    let mut sizes = Vec::with_capacity(checked.len());
    for (index, r) in checked.into_iter().enumerate() {
        match r {
            Ok(s) => sizes.push(s),
            Err(error) => {
                return Err(BlockError::Tx {
                    index,
                    txid: txids[index],
                    error,
                })
            }
        }
    }
    let cb_check = Transaction {
        kind: TxKind::Transfer,
        ..coinbase.clone()
    };
    // A coinbase may have no outputs (nothing to claim on a zero-subsidy chain).
    if !cb_check.outputs.is_empty() {
        check_outputs(&cb_check, spec).map_err(|error| BlockError::Tx {
            index: 0,
            txid: txids[0],
            error,
        })?;
    }
    Ok(BlockIds {
        txids,
        wtxids,
        sizes,
    })
}

/// A coinbase's version and data: version 1 without data or version 2 with
/// 1–80 bytes, as any transaction; with Bitcoin's commitment, version 2 (its
/// data starts with the witness commitment, checked with the Merkle root).
fn coinbase_version_ok(coinbase: &Transaction, spec: &ChainSpec) -> bool {
    let len = coinbase.data.len();
    match (spec.merkle_commitment, coinbase.version) {
        (MerkleCommitment::Tagged, 1) => len == 0,
        (MerkleCommitment::Tagged, 2) => len > 0,
        (MerkleCommitment::Bitcoin, 2) => len >= WITNESS_COMMITMENT_LEN,
        _ => false,
    }
}
