//! Bitcoin Core-compatible JSON-RPC for mining software and tools.
//!
//! Methods are a `jsonrpsee` [`RpcModule`]; transport is an axum handler on
//! its own port so authentication follows Bitcoin Core: HTTP Basic with the
//! cookie in `<data-dir>/<chain>/.cookie` (`__cookie__:<hex>`, rewritten at
//! every start) or a configured `rpcuser`/`rpcpassword`; anything else gets
//! 401. JSON-RPC 1.0 requests (as `bitcoin-cli` and miners send) and batches
//! are accepted. Error codes are Bitcoin Core's. Differences from Bitcoin are
//! in `docs/rpc.md`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;
use luminex_consensus::pow::target_from_compact;
use luminex_ledger::{TxError, U256};
use luminex_mempool::MempoolError;
use luminex_primitives::{Block, Decode, Encode, Hash, Lock, Transaction, TxKind};
use luminex_storage::{AcceptStatus, ChainError};
use serde_json::{json, Value};

use crate::service::Node;

/// Bitcoin Core's RPC error codes used here.
pub mod codes {
    /// RPC_MISC_ERROR.
    pub const MISC: i32 = -1;
    /// RPC_INVALID_ADDRESS_OR_KEY (also "not found").
    pub const NOT_FOUND: i32 = -5;
    /// RPC_INVALID_PARAMETER.
    pub const INVALID_PARAMETER: i32 = -8;
    /// RPC_DESERIALIZATION_ERROR.
    pub const DESERIALIZATION: i32 = -22;
    /// RPC_VERIFY_ERROR.
    pub const VERIFY: i32 = -25;
    /// RPC_VERIFY_REJECTED.
    pub const VERIFY_REJECTED: i32 = -26;
    /// RPC_VERIFY_ALREADY_IN_CHAIN.
    pub const ALREADY_IN_CHAIN: i32 = -27;
}

fn err(code: i32, msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, msg.into(), None::<()>)
}

type RpcResult = Result<Value, ErrorObjectOwned>;

/// What the RPC methods work on.
pub struct RpcContext {
    /// The node.
    pub node: Arc<Node>,
    /// Where `getblocktemplate` coinbases pay.
    pub miner_lock: Option<Lock>,
}

fn param_hash(v: Option<Value>, what: &str) -> Result<Hash, ErrorObjectOwned> {
    v.as_ref()
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            err(
                codes::INVALID_PARAMETER,
                format!("{what} must be a 64-character hexadecimal string"),
            )
        })
}

fn params_vec(p: jsonrpsee::types::Params) -> Vec<Value> {
    p.parse::<Vec<Value>>().unwrap_or_default()
}

/// `value` as an f64 (for difficulty): the top 64 bits scaled.
fn to_f64(x: U256) -> f64 {
    let bits = x.bit_len();
    if bits <= 64 {
        x.as_limbs()[0] as f64
    } else {
        ((x >> (bits - 64)).as_limbs()[0] as f64) * 2f64.powi((bits - 64) as i32)
    }
}

/// Bitcoin's difficulty: the difficulty-1 target over the block's target.
pub fn difficulty(bits: u32) -> f64 {
    let one = target_from_compact(0x1d00ffff).unwrap_or(U256::MAX);
    match target_from_compact(bits) {
        Ok(t) => to_f64(one) / to_f64(t),
        Err(_) => 0.0,
    }
}

fn coins(base: u64) -> f64 {
    base as f64 / 1e8
}

fn tx_json(node: &Node, tx: &Transaction, block: Option<(Hash, u64)>) -> Value {
    let vin: Vec<Value> = match tx.kind {
        TxKind::Coinbase { height } => {
            vec![json!({ "coinbase": format!("{height:016x}"), "sequence": 0 })]
        }
        TxKind::Transfer => tx
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
            let luminex_primitives::Lock::Key { scheme, .. } = o.lock;
            json!({
                "value": coins(o.amount.base()),
                "value_base": o.amount.base(),
                "n": n,
                "scriptPubKey": { "address": node.spec.address(o.lock).to_string(), "type": scheme.name() },
            })
        })
        .collect();
    let mut v = json!({
        "txid": tx.txid().to_string(),
        "hash": tx.wtxid().to_string(),
        "version": tx.version,
        "size": tx.encoded_len(),
        "expiry_height": tx.expiry_height,
        "data": hex::encode(&tx.data),
        "vin": vin,
        "vout": vout,
        "hex": hex::encode(tx.encode()),
    });
    if let Some((hash, height)) = block {
        v["blockhash"] = json!(hash.to_string());
        v["confirmations"] = json!(node.chain.tip().height.saturating_sub(height) + 1);
    }
    v
}

fn header_json(node: &Node, hash: &Hash) -> RpcResult {
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
        "confirmations": if on_main { tip.height - rec.height + 1 } else { 0 },
        "height": rec.height,
        "version": h.version,
        "versionHex": format!("{:08x}", h.version),
        "merkleroot": h.merkle_root.to_string(),
        "time": h.time,
        "nonce": h.nonce,
        "bits": format!("{:08x}", h.bits),
        "difficulty": difficulty(h.bits),
        "chainwork": hex::encode(rec.chain_work.to_be_bytes::<32>()),
        "previousblockhash": h.prev_hash.to_string(),
    });
    if on_main {
        if let Ok(Some(next)) = node.chain.hash_at(rec.height + 1) {
            v["nextblockhash"] = json!(next.to_string());
        }
    }
    Ok(v)
}

fn mempool_error(e: MempoolError) -> ErrorObjectOwned {
    match &e {
        MempoolError::Invalid(TxError::MissingInput(_)) => {
            err(codes::VERIFY, "bad-txns-inputs-missingorspent")
        }
        MempoolError::Invalid(TxError::Decode(_)) => {
            err(codes::DESERIALIZATION, "TX decode failed")
        }
        MempoolError::Conflict { .. } => err(codes::VERIFY_REJECTED, "txn-mempool-conflict"),
        _ => err(codes::VERIFY_REJECTED, format!("{}: {e}", e.code())),
    }
}

async fn block_template(ctx: Arc<RpcContext>, params: Vec<Value>) -> RpcResult {
    let node = &ctx.node;
    let lock = ctx.miner_lock.ok_or_else(|| {
        err(
            codes::MISC,
            "getblocktemplate needs --miner-address (the node builds the coinbase)",
        )
    })?;
    let request = params.first().cloned().unwrap_or(Value::Null);
    if request
        .get("mode")
        .and_then(Value::as_str)
        .is_some_and(|m| m != "template")
    {
        return Err(err(
            codes::INVALID_PARAMETER,
            "only mode \"template\" is supported",
        ));
    }
    let longpollid = |n: &Node| format!("{}{}", n.chain.tip().hash, n.mempool.read().len());
    if let Some(id) = request.get("longpollid").and_then(Value::as_str) {
        // BIP 22 long polling: answer when the tip changes (or after a minute).
        if id == longpollid(node) {
            let mut rx = node.tip_changed.subscribe();
            let _ = tokio::time::timeout(Duration::from_secs(60), rx.changed()).await;
        }
    }
    let n = node.clone();
    let (block, fees) = tokio::task::spawn_blocking(move || n.block_template(lock))
        .await
        .map_err(|e| err(codes::MISC, e.to_string()))?
        .map_err(|e| err(codes::MISC, e.to_string()))?;
    let tip = node.chain.tip();
    let min_time = {
        let parent = node.chain.tip_parent();
        let rules = node.chain.rules();
        node.chain.with_headers(|h| rules.min_time(&parent, h))
    };
    let ids: Vec<Hash> = block.txs.iter().map(|t| t.txid()).collect();
    let pool = node.mempool.read();
    let transactions: Vec<Value> = block
        .txs
        .iter()
        .enumerate()
        .skip(1)
        .map(|(i, tx)| {
            let depends: Vec<usize> = tx
                .inputs
                .iter()
                .filter_map(|inp| ids.iter().position(|t| *t == inp.txid))
                .collect();
            json!({
                "data": hex::encode(tx.encode()),
                "txid": ids[i].to_string(),
                "hash": tx.wtxid().to_string(),
                "depends": depends,
                "fee": pool.get(&ids[i]).map_or(0, |e| e.fee.base()),
                "sigops": 0,
                "weight": tx.encoded_len() * 4,
            })
        })
        .collect();
    drop(pool);
    let cb = &block.txs[0];
    let target = target_from_compact(block.header.bits).unwrap_or(U256::ZERO);
    Ok(json!({
        "capabilities": ["longpoll"],
        "version": block.header.version,
        "rules": [],
        "vbavailable": {},
        "vbrequired": 0,
        "previousblockhash": tip.hash.to_string(),
        "transactions": transactions,
        "coinbaseaux": {},
        "coinbasevalue": cb.output_total().map(|a| a.base()).unwrap_or(0),
        "coinbasetxn": { "data": hex::encode(cb.encode()), "txid": ids[0].to_string(), "hash": cb.wtxid().to_string(), "depends": [], "fee": 0, "required": true },
        "fees": fees.base(),
        "merkleroot": block.header.merkle_root.to_string(),
        "longpollid": longpollid(node),
        "target": hex::encode(target.to_be_bytes::<32>()),
        "mintime": min_time,
        "mutable": ["time", "transactions", "prevblock"],
        "noncerange": "00000000ffffffff",
        "sigoplimit": 80000,
        "sizelimit": node.spec.max_block_bytes,
        "weightlimit": node.spec.max_block_bytes * 4,
        "curtime": block.header.time,
        "bits": format!("{:08x}", block.header.bits),
        "height": tip.height + 1,
    }))
}

fn submit_block(node: &Node, params: Vec<Value>) -> RpcResult {
    let hex_data = params
        .first()
        .and_then(Value::as_str)
        .ok_or_else(|| err(codes::INVALID_PARAMETER, "hexdata must be a string"))?;
    let block = hex::decode(hex_data.trim())
        .ok()
        .and_then(|b| Block::decode_all(&b).ok())
        .ok_or_else(|| err(codes::DESERIALIZATION, "Block decode failed"))?;
    let known = |h: &Hash| node.chain.header(h).ok().flatten();
    if let Some(rec) = known(&block.hash()) {
        return Ok(json!(if rec.invalid {
            "duplicate-invalid"
        } else {
            "duplicate"
        }));
    }
    if known(&block.header.prev_hash).is_none() {
        return Ok(json!("bad-prevblk"));
    }
    Ok(match node.accept_shared(&Arc::new(block)) {
        Ok(a) => match a.status {
            AcceptStatus::MainChain => Value::Null,
            AcceptStatus::Duplicate => json!("duplicate"),
            AcceptStatus::SideBranch | AcceptStatus::Orphan => json!("inconclusive"),
        },
        Err(ChainError::Invalid(e)) => json!(e.code()),
        Err(ChainError::ReorgTooDeep { .. }) => json!("inconclusive"),
        Err(e) => return Err(err(codes::MISC, e.to_string())),
    })
}

/// Builds, solves (on proof-of-work chains) and submits one block paying
/// `lock`, as Bitcoin Core's `generatetoaddress`.
fn generate_one(node: &Node, lock: Lock) -> Result<Hash, ErrorObjectOwned> {
    let (mut block, _) = node
        .block_template(lock)
        .map_err(|e| err(codes::MISC, e.to_string()))?;
    if node.spec.pow.is_some() {
        let target =
            target_from_compact(block.header.bits).map_err(|e| err(codes::MISC, e.to_string()))?;
        let abort = std::sync::atomic::AtomicBool::new(false);
        loop {
            if let Some(nonce) =
                luminex_consensus::mining::grind(&block.header, target, 0, u32::MAX, &abort)
            {
                block.header.nonce = nonce;
                break;
            }
            block.header.time += 1;
        }
    }
    let hash = block.hash();
    match node.accept_shared(&Arc::new(block)) {
        Ok(_) => Ok(hash),
        Err(e) => Err(err(codes::VERIFY, e.to_string())),
    }
}

/// `gettxoutsetinfo`: size, total and a hash of the UTXO set (SHA-256 over
/// the sorted encoded outpoints and coins), for comparing nodes.
fn utxo_set_info(node: &Node) -> RpcResult {
    use sha2::Digest;
    let tip = node.chain.tip();
    let set = node
        .chain
        .all_utxos()
        .map_err(|e| err(codes::MISC, e.to_string()))?;
    let mut entries: Vec<(Vec<u8>, Vec<u8>)> = set
        .iter()
        .map(|(op, c)| (op.encode(), c.encode()))
        .collect();
    entries.sort();
    let mut h = sha2::Sha256::new();
    let mut total: u128 = 0;
    for (op, coin) in &entries {
        h.update(op);
        h.update(coin);
    }
    for c in set.values() {
        total += u128::from(c.output.amount.base());
    }
    Ok(json!({
        "height": tip.height,
        "bestblock": tip.hash.to_string(),
        "txouts": set.len(),
        "total_amount": total.to_string(),
        "hash_serialized": hex::encode(h.finalize()),
    }))
}

/// The RPC methods over `ctx`.
pub fn module(ctx: RpcContext) -> RpcModule<RpcContext> {
    let mut m = RpcModule::new(ctx);
    let reg = |m: &mut RpcModule<RpcContext>,
               name: &'static str,
               f: fn(&RpcContext, Vec<Value>) -> RpcResult| {
        m.register_blocking_method(name, move |p, ctx, _| f(&ctx, params_vec(p)))
            .expect("method names are unique");
    };
    reg(&mut m, "generatetoaddress", |c, p| {
        let n = p
            .first()
            .and_then(Value::as_u64)
            .filter(|n| (1..=10_000).contains(n))
            .ok_or_else(|| err(codes::INVALID_PARAMETER, "nblocks must be 1..=10000"))?;
        let addr = p
            .get(1)
            .and_then(Value::as_str)
            .ok_or_else(|| err(codes::INVALID_PARAMETER, "address must be a string"))?;
        let lock = c
            .node
            .spec
            .parse_address(addr)
            .map_err(|e| err(codes::NOT_FOUND, format!("Invalid address: {e}")))?
            .lock;
        let hashes = (0..n)
            .map(|_| generate_one(&c.node, lock).map(|h| json!(h.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!(hashes))
    });
    reg(&mut m, "gettxoutsetinfo", |c, _| utxo_set_info(&c.node));
    reg(&mut m, "getblockcount", |c, _| {
        Ok(json!(c.node.chain.tip().height))
    });
    reg(&mut m, "getbestblockhash", |c, _| {
        Ok(json!(c.node.chain.tip().hash.to_string()))
    });
    reg(&mut m, "getdifficulty", |c, _| {
        Ok(json!(difficulty(c.node.chain.tip().header.bits)))
    });
    reg(&mut m, "getblockhash", |c, p| {
        let h = p
            .first()
            .and_then(Value::as_u64)
            .ok_or_else(|| err(codes::INVALID_PARAMETER, "height must be a number"))?;
        match c
            .node
            .chain
            .hash_at(h)
            .map_err(|e| err(codes::MISC, e.to_string()))?
        {
            Some(hash) => Ok(json!(hash.to_string())),
            None => Err(err(codes::INVALID_PARAMETER, "Block height out of range")),
        }
    });
    reg(&mut m, "getblockheader", |c, p| {
        let hash = param_hash(p.first().cloned(), "blockhash")?;
        let verbose = p.get(1).and_then(Value::as_bool).unwrap_or(true);
        let v = header_json(&c.node, &hash)?;
        if verbose {
            Ok(v)
        } else {
            let rec = c
                .node
                .chain
                .header(&hash)
                .ok()
                .flatten()
                .ok_or_else(|| err(codes::NOT_FOUND, "Block not found"))?;
            Ok(json!(hex::encode(rec.header.to_bytes())))
        }
    });
    reg(&mut m, "getblock", |c, p| {
        let hash = param_hash(p.first().cloned(), "blockhash")?;
        let verbosity = match p.get(1) {
            Some(Value::Bool(b)) => u64::from(*b),
            Some(v) => v
                .as_u64()
                .ok_or_else(|| err(codes::INVALID_PARAMETER, "verbosity must be 0, 1 or 2"))?,
            None => 1,
        };
        let block = c
            .node
            .chain
            .block(&hash)
            .map_err(|e| err(codes::MISC, e.to_string()))?
            .ok_or_else(|| err(codes::NOT_FOUND, "Block not found"))?;
        if verbosity == 0 {
            return Ok(json!(hex::encode(block.encode())));
        }
        let mut v = header_json(&c.node, &hash)?;
        let height = v["height"].as_u64().unwrap_or(0);
        v["size"] = json!(block.encoded_len());
        v["nTx"] = json!(block.txs.len());
        v["tx"] = if verbosity >= 2 {
            json!(block
                .txs
                .iter()
                .map(|t| tx_json(&c.node, t, Some((hash, height))))
                .collect::<Vec<_>>())
        } else {
            json!(block
                .txs
                .iter()
                .map(|t| t.txid().to_string())
                .collect::<Vec<_>>())
        };
        Ok(v)
    });
    reg(&mut m, "getrawtransaction", |c, p| {
        let txid = param_hash(p.first().cloned(), "txid")?;
        let verbose = match p.get(1) {
            Some(Value::Bool(b)) => *b,
            Some(v) => v.as_u64().unwrap_or(0) > 0,
            None => false,
        };
        let (tx, block) = if let Some(s) = c
            .node
            .chain
            .transaction(&txid)
            .map_err(|e| err(codes::MISC, e.to_string()))?
        {
            (s.tx, Some((s.location.block, s.location.height)))
        } else if let Some(e) = c.node.mempool.read().get(&txid) {
            ((*e.tx).clone(), None)
        } else {
            return Err(err(
                codes::NOT_FOUND,
                "No such mempool or blockchain transaction",
            ));
        };
        Ok(if verbose {
            tx_json(&c.node, &tx, block)
        } else {
            json!(hex::encode(tx.encode()))
        })
    });
    reg(&mut m, "sendrawtransaction", |c, p| {
        let tx = p
            .first()
            .and_then(Value::as_str)
            .and_then(|s| hex::decode(s.trim()).ok())
            .and_then(|b| Transaction::decode_all(&b).ok())
            .ok_or_else(|| err(codes::DESERIALIZATION, "TX decode failed"))?;
        let txid = tx.txid();
        if c.node.chain.transaction(&txid).ok().flatten().is_some() {
            return Err(err(
                codes::ALREADY_IN_CHAIN,
                "Transaction already in block chain",
            ));
        }
        match c.node.submit(tx) {
            Ok(t) | Err(MempoolError::AlreadyKnown(t)) => Ok(json!(t.to_string())),
            Err(e) => Err(mempool_error(e)),
        }
    });
    reg(&mut m, "getrawmempool", |c, p| {
        let verbose = p.first().and_then(Value::as_bool).unwrap_or(false);
        let pool = c.node.mempool.read();
        if verbose {
            let mut o = serde_json::Map::new();
            for e in pool.entries() {
                o.insert(e.txid.to_string(), json!({ "vsize": e.size, "fee": coins(e.fee.base()), "fees": { "base": coins(e.fee.base()) }, "depends": [] }));
            }
            Ok(Value::Object(o))
        } else {
            Ok(json!(pool
                .entries()
                .map(|e| e.txid.to_string())
                .collect::<Vec<_>>()))
        }
    });
    reg(&mut m, "getmempoolinfo", |c, _| {
        let pool = c.node.mempool.read();
        let relay = coins(c.node.spec.min_fee_rate * 1000);
        Ok(json!({
            "loaded": true,
            "size": pool.len(),
            "bytes": pool.bytes(),
            "usage": pool.bytes(),
            "total_fee": coins(pool.entries().map(|e| e.fee.base()).sum()),
            "maxmempool": pool.max_bytes(),
            "mempoolminfee": relay,
            "minrelaytxfee": relay,
            "unbroadcastcount": 0,
        }))
    });
    reg(&mut m, "estimatesmartfee", |c, p| {
        let blocks = p
            .first()
            .and_then(Value::as_u64)
            .ok_or_else(|| err(codes::INVALID_PARAMETER, "conf_target must be a number"))?;
        if blocks == 0 {
            return Err(err(
                codes::INVALID_PARAMETER,
                "Invalid conf_target, must be between 1 and 1008",
            ));
        }
        Ok(
            json!({ "feerate": coins(c.node.estimate_fee_rate(blocks.min(1008)).saturating_mul(1000)), "blocks": blocks.min(1008) }),
        )
    });
    reg(&mut m, "getblockchaininfo", |c, _| {
        let tip = c.node.chain.tip();
        let mtp = {
            let parent = c.node.chain.tip_parent();
            let rules = c.node.chain.rules();
            c.node
                .chain
                .with_headers(|h| rules.min_time(&parent, h))
                .saturating_sub(1)
        };
        Ok(json!({
            "chain": c.node.spec.name,
            "blocks": tip.height,
            "headers": tip.height,
            "bestblockhash": tip.hash.to_string(),
            "difficulty": difficulty(tip.header.bits),
            "time": tip.header.time,
            "mediantime": mtp,
            "verificationprogress": 1.0,
            "initialblockdownload": false,
            "chainwork": hex::encode(tip.chain_work.to_be_bytes::<32>()),
            "size_on_disk": c.node.chain.disk_space(),
            "pruned": false,
            "warnings": "",
        }))
    });
    reg(&mut m, "getmininginfo", |c, _| {
        let tip = c.node.chain.tip();
        // Hash rate from the work and time of the last 120 blocks.
        let back = tip.height.min(120);
        let hashps = c
            .node
            .chain
            .hash_at(tip.height - back)
            .ok()
            .flatten()
            .and_then(|h| c.node.chain.header(&h).ok().flatten())
            .map(|old| {
                let secs = tip.header.time.saturating_sub(old.header.time).max(1);
                to_f64(tip.chain_work.saturating_sub(old.chain_work)) / f64::from(secs)
            })
            .unwrap_or(0.0);
        Ok(json!({
            "blocks": tip.height,
            "difficulty": difficulty(tip.header.bits),
            "networkhashps": hashps,
            "pooledtx": c.node.mempool.read().len(),
            "chain": c.node.spec.name,
            "warnings": "",
        }))
    });
    reg(&mut m, "getnetworkinfo", |c, _| {
        let relay = coins(c.node.spec.min_fee_rate * 1000);
        Ok(json!({
            "version": 100,
            "subversion": format!("/luminex:{}/", env!("CARGO_PKG_VERSION")),
            "protocolversion": 1,
            "localservices": "0000000000000000",
            "localrelay": true,
            "timeoffset": 0,
            "networkactive": true,
            "connections": 0,
            "connections_in": 0,
            "connections_out": 0,
            "networks": [],
            "relayfee": relay,
            "incrementalfee": relay,
            "localaddresses": [],
            "warnings": "",
        }))
    });
    reg(&mut m, "submitblock", |c, p| submit_block(&c.node, p));
    m.register_async_method("getblocktemplate", |p, ctx, _| async move {
        block_template(ctx, params_vec(p)).await
    })
    .expect("method names are unique");
    m
}

/// Accepted credentials: `user:password` pairs.
#[derive(Clone, Default)]
pub struct RpcAuth {
    /// Accepted `user:password` strings.
    pub credentials: Vec<String>,
}

impl RpcAuth {
    fn allows(&self, headers: &HeaderMap) -> bool {
        let Some(v) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let Some(b64) = v.strip_prefix("Basic ") else {
            return false;
        };
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(b64.trim()) else {
            return false;
        };
        self.credentials
            .iter()
            .any(|c| constant_time_eq(c.as_bytes(), &decoded))
    }
}

/// Compares without an early exit, so timing does not reveal a prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Shared state of the RPC server.
pub struct RpcServer {
    /// The methods.
    pub module: RpcModule<RpcContext>,
    /// Who may call them.
    pub auth: RpcAuth,
}

async fn call(module: &RpcModule<RpcContext>, mut req: Value) -> Value {
    let id = req.get("id").cloned().unwrap_or(Value::Null);
    if let Value::Object(o) = &mut req {
        // Bitcoin tools speak JSON-RPC 1.0; answer them all as 2.0.
        o.insert("jsonrpc".into(), json!("2.0"));
        if o.get("params").is_none_or(Value::is_null) {
            o.insert("params".into(), json!([]));
        }
        if !o.contains_key("id") {
            o.insert("id".into(), Value::Null);
        }
    }
    match module.raw_json_request(&req.to_string(), 1).await {
        Ok((resp, _)) => serde_json::from_str(resp.get()).unwrap_or(Value::Null),
        Err(_) => {
            json!({ "jsonrpc": "2.0", "id": id, "error": { "code": -32600, "message": "Invalid Request" } })
        }
    }
}

async fn handle(State(s): State<Arc<RpcServer>>, headers: HeaderMap, body: Bytes) -> Response {
    if !s.auth.allows(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Basic realm=\"jsonrpc\"")],
            "",
        )
            .into_response();
    }
    let reply = match serde_json::from_slice::<Value>(&body) {
        Err(_) => {
            json!({ "jsonrpc": "2.0", "id": null, "error": { "code": -32700, "message": "Parse error" } })
        }
        Ok(Value::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for i in items {
                out.push(call(&s.module, i).await);
            }
            Value::Array(out)
        }
        Ok(req) => call(&s.module, req).await,
    };
    axum::Json(reply).into_response()
}

/// The RPC HTTP router.
pub fn router(server: Arc<RpcServer>) -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::post(handle))
        .layer(axum::extract::DefaultBodyLimit::max(64 * 1024 * 1024))
        .with_state(server)
}

/// Writes a fresh cookie (`__cookie__:<random hex>`, mode 0600) and returns
/// the credential.
pub fn write_cookie(path: &std::path::Path) -> std::io::Result<String> {
    use rand::RngCore;
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let cred = format!("__cookie__:{}", hex::encode(secret));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    std::io::Write::write_all(&mut opts.open(path)?, cred.as_bytes())?;
    Ok(cred)
}
