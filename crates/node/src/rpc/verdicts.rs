//! The operator's verdicts on blocks, as Bitcoin Core's `invalidateblock`
//! and `reconsiderblock`: a way out of a branch the operator does not want
//! followed (a consensus bug, a chain split), and back. The chain store
//! does the work ([`luminex_storage::ChainStore::invalidate_block`]); the
//! node's mempool and subscribers follow as for a reorganisation.

use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;
use luminex_storage::ChainError;
use serde_json::Value;

use super::{codes, err, param_hash, reg, RpcContext};

/// Registers `invalidateblock` and `reconsiderblock`.
pub(super) fn register(m: &mut RpcModule<RpcContext>) {
    reg(m, "invalidateblock", &["blockhash"], |c, p| {
        let hash = param_hash(p.first().cloned(), "blockhash")?;
        c.node.invalidate_block(&hash).map_err(refusal)?;
        Ok(Value::Null)
    });
    reg(m, "reconsiderblock", &["blockhash"], |c, p| {
        let hash = param_hash(p.first().cloned(), "blockhash")?;
        c.node.reconsider_block(&hash).map_err(refusal)?;
        Ok(Value::Null)
    });
}

/// Bitcoin Core's answers: -5 for a block it does not know, -20
/// (`RPC_DATABASE_ERROR`) with the reason for a change the chain refuses.
fn refusal(e: ChainError) -> ErrorObjectOwned {
    match e {
        ChainError::UnknownBlock(_) => err(codes::NOT_FOUND, "Block not found"),
        ChainError::Genesis => err(
            codes::INVALID_PARAMETER,
            "the genesis block cannot be invalidated",
        ),
        // The store names the final block; the caller asked about another.
        ChainError::Finalized { height, .. } => err(
            codes::DATABASE,
            format!(
                "a final block cannot be invalidated: the chain is final up to height {height}"
            ),
        ),
        e => err(codes::DATABASE, e.to_string()),
    }
}
