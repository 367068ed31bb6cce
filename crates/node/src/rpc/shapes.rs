//! The JSON shapes of blocks, headers and transactions, as Bitcoin Core's
//! verbose answers give them: a transaction with its inputs' spent coins,
//! a header with its median time past and neighbours, a block's stripped
//! size. Used by the chain and mempool methods.

use std::collections::HashMap;

use jsonrpsee::types::ErrorObjectOwned;
use luminex_ledger::Coin;
use luminex_primitives::{Block, Encode, Hash, Header, OutPoint, Transaction, TxKind, TxOut};
use serde_json::{json, Value};

use super::{codes, coins, err, RpcResult};
use luminex_consensus::pow::difficulty;
use luminex_service::Node;

/// A transaction as Bitcoin Core's verbose `getrawtransaction` shows it,
/// with its block's hash and confirmations when `block` is given.
pub(super) fn tx_json(node: &Node, tx: &Transaction, block: Option<(Hash, u64)>) -> Value {
    let vin: Vec<Value> = match &tx.kind {
        TxKind::Coinbase { height } => {
            vec![json!({ "coinbase": format!("{height:016x}"), "sequence": 0 })]
        }
        // Spend nothing: the change itself is in `authority` below; the
        // evidence's votes are its proof.
        TxKind::Authority(_) | TxKind::Evidence(_) => Vec::new(),
        // Transfers and the staking kinds spend inputs.
        _ => tx
            .inputs
            .iter()
            .map(|i| json!({ "txid": i.txid.to_string(), "vout": i.vout }))
            .collect(),
    };
    let vout: Vec<Value> = tx
        .outputs
        .iter()
        .enumerate()
        .map(|(n, o)| {
            json!({
                "value": coins(o.amount.base()),
                "value_base": o.amount.base(),
                "n": n,
                "scriptPubKey": script_pub_key(node, o),
            })
        })
        .collect();
    let mut v = json!({
        "txid": tx.txid().to_string(),
        "hash": tx.wtxid().to_string(),
        "version": tx.version,
        "size": tx.encoded_len(),
        // No witness discount: every byte counts once (weight as Core's,
        // four units a byte), and no lock time (transactions expire instead).
        "vsize": tx.encoded_len(),
        "weight": tx.encoded_len() * 4,
        "locktime": 0,
        "expiry_height": tx.expiry_height,
        "data": hex::encode(&tx.data),
        "vin": vin,
        "vout": vout,
        "hex": hex::encode(tx.encode()),
    });
    if let Some((hash, height)) = block {
        v["blockhash"] = json!(hash.to_string());
        v["confirmations"] = json!(node.chain.tip().height.saturating_sub(height) + 1);
        // As Bitcoin Core: both are the block's time.
        if let Ok(Some(rec)) = node.chain.header(&hash) {
            v["time"] = json!(rec.header.time());
            v["blocktime"] = json!(rec.header.time());
        }
    }
    if let Some(a) = luminex_api::types::AuthorityJson::of(tx) {
        v["authority"] = json!(a);
    }
    v
}

/// The coins the transactions of block `hash` (at `height`) spend: its
/// undo data, and the outputs of its own transactions (a later one may
/// spend an earlier one's). `None` for a block never connected, which has
/// no undo data.
pub(super) fn spent_coins(
    node: &Node,
    hash: &Hash,
    height: u64,
    block: &Block,
) -> Result<Option<HashMap<OutPoint, Coin>>, ErrorObjectOwned> {
    let undo = node
        .chain
        .block_undo(hash)
        .map_err(|e| err(codes::MISC, e.to_string()))?;
    let mut coins: HashMap<OutPoint, Coin> = match undo {
        Some(u) => u.spent.into_iter().collect(),
        None if height == 0 => HashMap::new(),
        None => return Ok(None),
    };
    for tx in &block.txs {
        let txid = tx.txid();
        for (vout, o) in tx.outputs.iter().enumerate() {
            let op = OutPoint {
                txid,
                vout: vout as u32,
            };
            coins.insert(
                op,
                Coin {
                    output: *o,
                    height,
                    is_coinbase: tx.is_coinbase(),
                },
            );
        }
    }
    Ok(Some(coins))
}

/// Core's details of a transaction's spent coins on `v` (its [`tx_json`]):
/// `fee` in coins when every coin it spends is known (what it spends less
/// what it creates and bonds), and with `prevouts` each input's `prevout`
/// (`generated`, `height`, `value`, `scriptPubKey`) where its coin is known.
pub(super) fn add_spent(
    node: &Node,
    v: &mut Value,
    tx: &Transaction,
    coin: impl Fn(&OutPoint) -> Option<Coin>,
    prevouts: bool,
) {
    if tx.is_coinbase() || tx.inputs.is_empty() {
        return;
    }
    let spent: Vec<Option<Coin>> = tx.inputs.iter().map(&coin).collect();
    if spent.iter().all(Option::is_some) {
        let total: u128 = spent
            .iter()
            .flatten()
            .map(|c| u128::from(c.output.amount.base()))
            .sum();
        let out: u128 = tx
            .outputs
            .iter()
            .map(|o| u128::from(o.amount.base()))
            .sum::<u128>()
            + u128::from(tx.kind.bonded().base());
        v["fee"] = super::coins_wide(total.saturating_sub(out));
    }
    if !prevouts {
        return;
    }
    if let Some(vin) = v["vin"].as_array_mut().filter(|a| a.len() == spent.len()) {
        for (i, c) in vin.iter_mut().zip(&spent) {
            if let Some(c) = c {
                i["prevout"] = prevout_json(node, &c.output, c.is_coinbase, Some(c.height));
            }
        }
    }
}

/// The prevouts of a pool transaction's inputs that spend a pool parent's
/// outputs: as a confirmed coin's, without a height (the parent has no
/// block yet). Clients that read `vin[].prevout.value` find it on every
/// input whose coin exists.
pub(super) fn add_pool_prevouts(node: &Node, v: &mut Value, tx: &Transaction) {
    let Some(vin) = v["vin"]
        .as_array_mut()
        .filter(|a| a.len() == tx.inputs.len())
    else {
        return;
    };
    let pool = node.mempool.read();
    for (i, op) in vin.iter_mut().zip(&tx.inputs) {
        if i.get("prevout").is_some() {
            continue;
        }
        let Some(out) = pool
            .get(&op.txid)
            .and_then(|e| e.tx.outputs.get(op.vout as usize))
        else {
            continue;
        };
        i["prevout"] = prevout_json(node, out, false, None);
    }
}

/// Core's `scriptPubKey` of an output: its address and the kind of lock.
pub(super) fn script_pub_key(node: &Node, out: &TxOut) -> Value {
    json!({
        "address": node.spec.address(out.lock).to_string(),
        "type": out.lock.kind_name(),
    })
}

/// Core's `prevout` of an input spending `out`: `height` only for a coin
/// of the chain (a pool parent's output has none).
fn prevout_json(node: &Node, out: &TxOut, generated: bool, height: Option<u64>) -> Value {
    let mut v = json!({
        "generated": generated,
        "value": coins(out.amount.base()),
        "value_base": out.amount.base(),
        "scriptPubKey": script_pub_key(node, out),
    });
    if let Some(h) = height {
        v["height"] = json!(h);
    }
    v
}

/// Bitcoin Core's median time past of a block: the median of the times of
/// the 11 blocks ending at it (fewer near the genesis).
pub(super) fn median_time(node: &Node, hash: &Hash, height: u64, time: u64) -> u64 {
    let mut times: Vec<u64> = node.chain.with_context(|c| {
        (1..11u64.min(height + 1))
            .filter_map(|i| c.ancestor(hash, height - i).map(|h| h.time()))
            .collect()
    });
    times.push(time);
    times.sort_unstable();
    times[times.len() / 2]
}

/// A block's size without its witnesses: each transaction's witness list
/// (its length prefix included) left out, as BIP 141's stripped size.
pub(super) fn stripped_size(block: &Block) -> usize {
    let witnesses: usize = block
        .txs
        .iter()
        .map(|t| {
            let mut body = luminex_primitives::codec::Counter::default();
            t.encode_body(&mut body);
            t.encoded_len() - body.0
        })
        .sum();
    block.encoded_len() - witnesses
}

pub(super) fn header_json(node: &Node, hash: &Hash) -> RpcResult {
    let rec = node
        .chain
        .header(hash)
        .map_err(|e| err(codes::MISC, e.to_string()))?
        .ok_or_else(|| err(codes::NOT_FOUND, "Block not found"))?;
    let tip = node.chain.tip();
    let on_main = node.chain.hash_at(rec.height).ok().flatten() == Some(*hash);
    let h = rec.header;
    let mut v = json!({
        "hash": hash.to_string(),
        // Bitcoin Core's -1 for a block off the main chain.
        "confirmations": if on_main { (tip.height.saturating_sub(rec.height) + 1) as i64 } else { -1 },
        "height": rec.height,
        "version": h.version(),
        "versionHex": format!("{:08x}", h.version()),
        "merkleroot": h.merkle_root().to_string(),
        "time": h.time(),
        "chainwork": hex::encode(rec.chain_work.to_be_bytes::<32>()),
    });
    v["mediantime"] = json!(median_time(node, hash, rec.height, h.time()));
    // As Bitcoin Core: the genesis block has no previous block to name (a
    // client walking back stops there rather than asking for zeros).
    if rec.height > 0 {
        v["previousblockhash"] = json!(h.prev_hash().to_string());
    }
    match &h {
        Header::Pow(p) => {
            v["nonce"] = json!(p.nonce);
            v["bits"] = json!(format!("{:08x}", p.bits));
            v["difficulty"] = json!(difficulty(p.bits));
        }
        Header::Bft(b) => {
            v["difficulty"] = json!(0.0);
            v["time_ms"] = json!(b.time_ms);
            v["proposer"] = json!(b.proposer.to_string());
            v["validators_hash"] = json!(b.validators_hash.to_string());
            v["next_validators_hash"] = json!(b.next_validators_hash.to_string());
            v["last_commit_hash"] = json!(b.last_commit_hash.to_string());
            v["state_root"] = json!(b.state_root.to_string());
            v["finalized"] = json!(on_main && node.chain.finalized().height >= rec.height);
        }
    }
    if on_main {
        if let Ok(Some(next)) = node.chain.hash_at(rec.height + 1) {
            v["nextblockhash"] = json!(next.to_string());
        }
    }
    Ok(v)
}
