//! Checking what is stored against a replay of the main chain.

use super::*;

impl ChainStore {
    /// Replays every main-chain block from genesis in memory (validating it
    /// again, signatures included) and checks that the stored UTXO set, the
    /// address UTXO index and the tip agree with the replay.
    pub fn check_consistency(&self) -> Result<ConsistencyReport, ChainError> {
        let tip = self.tip();
        let inconsistent = |m: String| Err(ChainError::Inconsistent(m));
        let mut utxos: HashMap<OutPoint, Coin> = HashMap::new();
        let cache = SigCache::new(1);
        let mut prev: Option<Header> = None;
        for height in 0..=tip.height {
            let Some(hash) = self.hash_at(height)? else {
                return inconsistent(format!("no block at height {height}"));
            };
            let Some(block) = self.block(&hash)? else {
                return inconsistent(format!("block {hash} at height {height} missing"));
            };
            match prev {
                None => connect_genesis(&block).changes.apply_to(&mut utxos),
                Some(p) => {
                    let ctx = BlockContext {
                        height,
                        prev_hash: p.hash(),
                    };
                    connect_block(&block, &utxos, &ctx, &self.spec, &cache)?
                        .changes
                        .apply_to(&mut utxos);
                }
            }
            prev = Some(block.header);
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
        let indexed = self.kv.scan(ADDRESS_UTXOS, &[], None, false, usize::MAX)?;
        if indexed.len() != utxos.len()
            || indexed.iter().any(|(k, c)| {
                utxos.get(&k.outpoint) != Some(c) || c.output.lock.index_key() != k.address
            })
        {
            return inconsistent("address UTXO index differs from the UTXO set".into());
        }
        Ok(ConsistencyReport {
            height: tip.height,
            utxos: utxos.len(),
        })
    }
}
