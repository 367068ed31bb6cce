//! Checking what is stored against a replay of the main chain.

use super::commit::{address_deltas, IndexKeys};
use super::*;

impl ChainStore {
    /// Replays every main-chain block from genesis in memory (validating it
    /// again, signatures included) and checks that what is stored agrees
    /// with the replay: the tip record and the in-memory tip, the height
    /// index and header records, undo data, the UTXO set, the address UTXO
    /// index, the transaction index, the address history and, on chains
    /// with a `[staking]` table, the staking state (stored and in memory).
    /// Nothing of a disconnected block may remain in the indexes, and an
    /// index the store does not keep must be empty.
    pub fn check_consistency(&self) -> Result<ConsistencyReport, ChainError> {
        let tip = self.tip();
        let inconsistent = |m: String| Err(ChainError::Inconsistent(m));
        match self.kv.get(META_TIP, &TIP_KEY.to_string())? {
            Some(t) if t.hash == tip.hash && t.height == tip.height => {}
            other => {
                return inconsistent(format!(
                    "stored tip {other:?} is not the tip in memory ({} at {})",
                    tip.hash, tip.height
                ))
            }
        }
        let mut utxos: HashMap<OutPoint, Coin> = HashMap::new();
        let mut tx_index: HashMap<Hash, TxLocation> = HashMap::new();
        let mut history: HashMap<Vec<u8>, AddressDelta> = HashMap::new();
        let mut keys = IndexKeys::default();
        let cache = SigCache::new(1);
        let mut prev: Option<Header> = None;
        let mut replayed = luminex_ledger::StakingState::genesis(&self.spec);
        for height in 0..=tip.height {
            let Some(hash) = self.hash_at(height)? else {
                return inconsistent(format!("no block at height {height}"));
            };
            if self.index.read().main.get(height as usize) != Some(&hash) {
                return inconsistent(format!(
                    "the main chain in memory differs from the height index at {height}"
                ));
            }
            match self.header(&hash)? {
                Some(r) if r.height == height && !r.invalid => {}
                other => {
                    return inconsistent(format!(
                        "header record of {hash} at height {height} is {other:?}"
                    ))
                }
            }
            let Some(block) = self.block(&hash)? else {
                return inconsistent(format!("block {hash} at height {height} missing"));
            };
            if self.kv.get_raw(UNDO.id, &hash.to_key())?.is_none() {
                return inconsistent(format!("undo data of {hash} at height {height} missing"));
            }
            let (mut connected, spent) = match prev {
                None => (connect_genesis(&block), HashMap::new()),
                Some(p) => {
                    let ctx = BlockContext {
                        height,
                        prev_hash: p.hash(),
                    };
                    // The coins the block spends from before it, as the
                    // address history was written with.
                    let spent: HashMap<OutPoint, Coin> = block
                        .txs
                        .iter()
                        .skip(1)
                        .flat_map(|t| t.inputs.iter())
                        .filter_map(|op| utxos.get(op).map(|c| (*op, *c)))
                        .collect();
                    (
                        connect_block(&block, &utxos, &ctx, &self.spec, &cache)?,
                        spent,
                    )
                }
            };
            for (index, (txid, wtxid)) in connected.txids.iter().zip(&connected.wtxids).enumerate()
            {
                tx_index.insert(
                    *txid,
                    TxLocation {
                        block: hash,
                        height,
                        index: index as u32,
                        wtxid: *wtxid,
                    },
                );
            }
            let mut released = Vec::new();
            if self.stakes() && prev.is_some() {
                let signers = self.commit_signers(&block, height)?;
                let seats = self.seats_record(height)?;
                let mut undo = replayed.apply_block_with(
                    &block,
                    &connected.txids,
                    height,
                    connected.fees,
                    &self.spec,
                    signers.as_ref(),
                    seats
                        .as_ref()
                        .map(luminex_ledger::staking::Seats::of)
                        .as_ref(),
                )?;
                if let Some(r) = self.consensus_record(height)? {
                    let seated = self.seated(&r, height);
                    replayed.note_election(height, seated, &self.spec, &mut undo);
                }
                released = undo.released;
            }
            let deltas = address_deltas(
                &block,
                &connected.txids,
                height,
                &spent,
                &released,
                &mut keys,
            );
            for (key, delta) in deltas {
                history.insert(key.to_key(), delta);
            }
            connected.changes.created.extend(released);
            connected.changes.apply_to(&mut utxos);
            prev = Some(block.header);
        }
        if self.stakes() {
            let stored = super::staking::load(self.kv.as_ref(), &self.spec)?;
            if stored != replayed || *self.staking.read() != replayed {
                return inconsistent("the staking state differs from the replay".into());
            }
        }
        if self.hash_at(tip.height + 1)?.is_some() {
            return inconsistent("a block is indexed above the tip".into());
        }
        let stored = self.all_utxos()?;
        if stored != utxos {
            return inconsistent(format!(
                "stored UTXO set ({} coins) differs from the replay ({} coins)",
                stored.len(),
                utxos.len()
            ));
        }
        if !self.indexes.address {
            history.clear();
        }
        // The address-UTXO index, with the cache's changes applied, is the
        // UTXO set; each row under its coin's address.
        let indexed = {
            let cache = self.utxos.hold();
            let rows = self.kv.scan(ADDRESS_UTXOS, &[], None, false, usize::MAX)?;
            if let Some((k, _)) = rows
                .iter()
                .find(|(k, c)| c.output.lock.index_key() != k.address)
            {
                return inconsistent(format!(
                    "address UTXO index holds {}:{} under another address",
                    k.outpoint.txid, k.outpoint.vout
                ));
            }
            let mut indexed: HashMap<OutPoint, Coin> =
                rows.into_iter().map(|(k, c)| (k.outpoint, c)).collect();
            if self.indexes.address {
                cache.overlay(&mut indexed);
            }
            indexed
        };
        let indexed_utxos = if self.indexes.address {
            &utxos
        } else {
            &HashMap::new()
        };
        if indexed != *indexed_utxos {
            return inconsistent("address UTXO index differs from the UTXO set".into());
        }
        if !self.indexes.tx {
            tx_index.clear();
        }
        let stored_index: HashMap<Hash, TxLocation> = self
            .kv
            .scan(TX_INDEX, &[], None, false, usize::MAX)?
            .into_iter()
            .collect();
        if stored_index != tx_index {
            return inconsistent(format!(
                "transaction index ({} entries) differs from the replay ({} entries)",
                stored_index.len(),
                tx_index.len()
            ));
        }
        let stored_history: HashMap<Vec<u8>, AddressDelta> = self
            .kv
            .scan(ADDRESS_TXS, &[], None, false, usize::MAX)?
            .into_iter()
            .map(|(k, d)| (k.to_key(), d))
            .collect();
        if stored_history != history {
            return inconsistent(format!(
                "address history ({} entries) differs from the replay ({} entries)",
                stored_history.len(),
                history.len()
            ));
        }
        Ok(ConsistencyReport {
            height: tip.height,
            utxos: utxos.len(),
        })
    }
}
