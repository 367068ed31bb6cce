//! Tier 3: connecting a block to the UTXO set and disconnecting it again.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use luminex_primitives::{Amount, Block, Hash, OutPoint, TxKind};
use rayon::prelude::*;

use crate::validate::{check_block, check_block_known, BlockIds, KnownTx};
use crate::{
    check_tx_inputs, verify_signatures, BlockError, BlockUndo, ChainSpec, Coin, SigCache, TxError,
    UtxoChanges, UtxoView,
};

/// A block that passed the context-free checks (tier 1, [`check_block`]),
/// with the ids of its transactions.
///
/// It is made by [`CheckedBlock::check`], or by [`CheckedBlock::assembled`]
/// for a block the node built itself from transactions it had checked, so
/// its ids are the block's own: later stages — checking signatures ahead, connecting,
/// storing — use them instead of hashing every transaction again (the
/// witnesses make that most of a block's non-signature work). It holds the
/// block itself, never a hash of it: another body under the same header
/// cannot borrow this block's checks.
#[derive(Debug, Clone)]
pub struct CheckedBlock {
    block: Arc<Block>,
    ids: BlockIds,
}

impl CheckedBlock {
    /// Runs the context-free checks of `block` under `spec`.
    pub fn check(block: Arc<Block>, spec: &ChainSpec) -> Result<CheckedBlock, BlockError> {
        let ids = check_block(&block, spec)?;
        Ok(CheckedBlock { block, ids })
    }

    /// [`CheckedBlock::check`] for a block some of whose transactions were
    /// checked before ([`check_block_known`]): a proposal rebuilt from the
    /// mempool's copies, whose ids the mempool computed at admission. Debug
    /// builds check the result against [`CheckedBlock::check`]'s.
    pub fn check_known(
        block: Arc<Block>,
        spec: &ChainSpec,
        known: &[Option<KnownTx>],
    ) -> Result<CheckedBlock, BlockError> {
        let ids = check_block_known(&block, spec, known)?;
        // Debug builds (the tests) check the ids against the block's own, so
        // ids that are not this block's fail loudly there.
        debug_assert_eq!(
            check_block(&block, spec).as_ref().ok(),
            Some(&ids),
            "known ids that are not the block's own"
        );
        Ok(CheckedBlock { block, ids })
    }

    /// A block this node assembled from transactions it had already
    /// checked (a template of its mempool's, whose Merkle root was computed
    /// from these same ids), with the ids the mempool computed at admission:
    /// the context-free checks and the hashing of every transaction are not
    /// done a second time. Connecting it still checks everything that
    /// depends on the chain (inputs, amounts, signatures through the
    /// cache). Debug builds (the tests) check the ids against the block's
    /// own, so a template that disagrees with its block fails loudly there.
    pub fn assembled(block: Arc<Block>, ids: BlockIds, spec: &ChainSpec) -> CheckedBlock {
        debug_assert_eq!(
            check_block(&block, spec).as_ref().ok(),
            Some(&ids),
            "an assembled block's ids are not its own"
        );
        CheckedBlock { block, ids }
    }

    /// The block.
    pub fn block(&self) -> &Arc<Block> {
        &self.block
    }

    /// The ids and sizes of its transactions, in block order.
    pub fn ids(&self) -> &BlockIds {
        &self.ids
    }
}

/// Where a block is being connected. Header rules (work, difficulty, time)
/// are checked before, by the chain's [`crate::ConsensusRules`].
#[derive(Debug, Clone, Copy)]
pub struct BlockContext {
    /// Height the block will have.
    pub height: u64,
    /// Hash of the current tip (the block's required parent).
    pub prev_hash: Hash,
}

/// The result of connecting a block.
#[derive(Debug, Clone)]
pub struct Connected {
    /// What to store to disconnect it later.
    pub undo: BlockUndo,
    /// What it does to the UTXO set.
    pub changes: UtxoChanges,
    /// Total fees of its transactions.
    pub fees: Amount,
    /// txids in block order.
    pub txids: Vec<Hash>,
    /// wtxids in block order (computed once, for storage to reuse).
    pub wtxids: Vec<Hash>,
    /// Signatures verified (those of transactions not in the cache).
    pub verified_signatures: usize,
}

/// A UTXO view of the base set plus what earlier transactions of the block did.
struct BlockView<'a, V> {
    base: &'a V,
    created: HashMap<OutPoint, Coin>,
    spent: HashSet<OutPoint>,
}

impl<V: UtxoView> UtxoView for BlockView<'_, V> {
    fn coin(&self, op: &OutPoint) -> Option<Coin> {
        if let Some(c) = self.created.get(op) {
            return Some(*c);
        }
        if self.spent.contains(op) {
            return None;
        }
        self.base.coin(op)
    }
}

/// Validates `block` fully against `view` and returns the UTXO changes and
/// undo data. Nothing is written: the caller commits the result atomically.
///
/// Signatures are verified in parallel on all cores, skipping transactions
/// whose wtxid is in `cache` (verified when they entered the mempool).
pub fn connect_block<V: UtxoView + Sync>(
    block: &Block,
    view: &V,
    ctx: &BlockContext,
    spec: &ChainSpec,
    cache: &SigCache,
) -> Result<Connected, BlockError> {
    if block.header.prev_hash() != ctx.prev_hash {
        return Err(BlockError::BadParent);
    }
    let ids = check_block(block, spec)?;
    connect_with_ids(block, ids, view, ctx, spec, cache)
}

/// [`connect_block`] for a block whose context-free checks already ran:
/// the same validation against `view`, without checking and hashing every
/// transaction again. `spec` must be the one `block` was checked under.
pub fn connect_checked<V: UtxoView + Sync>(
    block: &CheckedBlock,
    view: &V,
    ctx: &BlockContext,
    spec: &ChainSpec,
    cache: &SigCache,
) -> Result<Connected, BlockError> {
    if block.block.header.prev_hash() != ctx.prev_hash {
        return Err(BlockError::BadParent);
    }
    connect_with_ids(&block.block, block.ids.clone(), view, ctx, spec, cache)
}

/// Tiers 2 and 3 of [`connect_block`], given the block's tier-1 result.
fn connect_with_ids<V: UtxoView + Sync>(
    block: &Block,
    ids: BlockIds,
    view: &V,
    ctx: &BlockContext,
    spec: &ChainSpec,
    cache: &SigCache,
) -> Result<Connected, BlockError> {
    match block.txs[0].kind {
        TxKind::Coinbase { height } if height == ctx.height => {}
        TxKind::Coinbase { height } => {
            return Err(BlockError::CoinbaseHeight {
                expected: ctx.height,
                found: height,
            })
        }
        _ => return Err(BlockError::NoCoinbase),
    }

    let mut bv = BlockView {
        base: view,
        created: HashMap::with_capacity(block.txs.len() * 2),
        spent: HashSet::with_capacity(block.txs.len()),
    };
    let mut undo = Vec::with_capacity(block.txs.len());
    let mut fees = Amount::ZERO;
    let mut to_verify = Vec::with_capacity(block.txs.len());
    let tx_err = |index: usize, error: TxError| BlockError::Tx {
        index,
        txid: ids.txids[index],
        error,
    };

    for (index, tx) in block.txs.iter().enumerate().skip(1) {
        for input in &tx.inputs {
            if bv.spent.contains(input) {
                return Err(tx_err(index, TxError::DoubleSpend(*input)));
            }
        }
        let check = check_tx_inputs(tx, ids.sizes[index], &bv, ctx.height, spec)
            .map_err(|e| tx_err(index, e))?;
        for (input, coin) in tx.inputs.iter().zip(&check.spent) {
            if bv.created.remove(input).is_none() {
                undo.push((*input, *coin));
            }
            bv.spent.insert(*input);
        }
        add_outputs(&mut bv.created, block, index, ids.txids[index], ctx.height);
        fees = fees
            .checked_add(check.fee)
            .map_err(|_| tx_err(index, TxError::OutputOverflow))?;
        // An authority change's signatures are the consensus rules' to
        // check, against the validator set (`check_authority_change`).
        if !tx.inputs.is_empty() && !cache.contains(&ids.wtxids[index]) {
            to_verify.push((index, check.spent));
        }
    }

    // Subsidy plus fees, or nothing where the staking state collects them
    // for the epoch's rewards (ADR 0038).
    let allowed = spec
        .coinbase_allowance(ctx.height, fees)
        .map_err(|_| tx_err(0, TxError::OutputOverflow))?;
    let claimed = block.txs[0]
        .output_total()
        .map_err(|_| tx_err(0, TxError::OutputOverflow))?;
    if claimed > allowed {
        return Err(BlockError::CoinbaseTooLarge { claimed, allowed });
    }
    add_outputs(&mut bv.created, block, 0, ids.txids[0], ctx.height);

    // The expensive part, on every core: one job per unverified transaction.
    let genesis = if to_verify.is_empty() {
        Hash::ZERO
    } else {
        spec.genesis_hash()
    };
    if let Some((index, error)) = to_verify
        .par_iter()
        .filter_map(|(index, spent)| {
            verify_signatures(&block.txs[*index], &genesis, spent)
                .err()
                .map(|e| (*index, e))
        })
        .min_by_key(|(index, _)| *index)
    {
        return Err(tx_err(index, error));
    }

    let verified_signatures = to_verify
        .iter()
        .map(|(i, _)| block.txs[*i].signature_count())
        .sum();
    let mut created: Vec<(OutPoint, Coin)> = bv.created.into_iter().collect();
    created.sort_unstable_by_key(|(op, _)| *op);
    Ok(Connected {
        verified_signatures,
        changes: UtxoChanges {
            created,
            spent: undo.clone(),
        },
        undo: BlockUndo { spent: undo },
        fees,
        txids: ids.txids,
        wtxids: ids.wtxids,
    })
}

fn add_outputs(
    created: &mut HashMap<OutPoint, Coin>,
    block: &Block,
    index: usize,
    txid: Hash,
    height: u64,
) {
    let tx = &block.txs[index];
    for (vout, output) in tx.outputs.iter().enumerate() {
        created.insert(
            OutPoint {
                txid,
                vout: vout as u32,
            },
            Coin {
                output: *output,
                height,
                is_coinbase: index == 0 && height > 0,
            },
        );
    }
}

/// The UTXO changes of the genesis block, whose outputs are spendable at once.
pub fn connect_genesis(block: &Block) -> Connected {
    let mut created = HashMap::new();
    let txids: Vec<Hash> = block.txs.iter().map(|t| t.txid()).collect();
    for (i, txid) in txids.iter().enumerate() {
        add_outputs(&mut created, block, i, *txid, 0);
    }
    let wtxids = block.txs.iter().map(|t| t.wtxid()).collect();
    let mut created: Vec<_> = created.into_iter().collect();
    created.sort_unstable_by_key(|(op, _)| *op);
    Connected {
        undo: BlockUndo::default(),
        changes: UtxoChanges {
            created,
            spent: vec![],
        },
        fees: Amount::ZERO,
        txids,
        wtxids,
        verified_signatures: 0,
    }
}

/// The UTXO changes that undo `block` given its undo data: remove every
/// output it created that is unspent at its end (outputs a later
/// transaction of the same block spent never reached the set), restore
/// every coin it spent from before it.
pub fn disconnect_block(block: &Block, height: u64, undo: &BlockUndo) -> UtxoChanges {
    let txids: Vec<Hash> = block.txs.iter().map(|t| t.txid()).collect();
    disconnect_block_with_ids(block, height, undo, &txids)
}

/// [`disconnect_block`] with the block's transaction ids already known
/// (`txids` in block order, as [`Connected::txids`] holds them): hashing a
/// large block's transactions again is most of the work otherwise.
pub fn disconnect_block_with_ids(
    block: &Block,
    height: u64,
    undo: &BlockUndo,
    txids: &[Hash],
) -> UtxoChanges {
    let mut removed = HashMap::new();
    for (index, txid) in txids.iter().enumerate().take(block.txs.len()) {
        add_outputs(&mut removed, block, index, *txid, height);
    }
    for tx in block.txs.iter().skip(1) {
        for input in &tx.inputs {
            removed.remove(input);
        }
    }
    let mut spent: Vec<_> = removed.into_iter().collect();
    spent.sort_unstable_by_key(|(op, _)| *op);
    UtxoChanges {
        created: undo.spent.clone(),
        spent,
    }
}
