//! Chain queries: blocks, headers, transactions, the UTXO set, the
//! chain's tips and state, and the optional indexes, in Bitcoin Core's
//! shapes.

use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;
use luminex_primitives::{Encode, OutPoint};
use serde_json::{json, Value};

use super::shapes::{
    add_pool_prevouts, add_spent, header_json, median_time, script_pub_key, spent_coins,
    stripped_size, tx_json,
};
use super::{codes, err, reg, RpcContext, RpcResult};
use super::{coins, opt_bool, param_hash};
use luminex_consensus::pow::difficulty;
use luminex_service::Node;

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
        // In coins, as Bitcoin Core gives it (the supply fits a u64 amount).
        "total_amount": super::coins_wide(total),
        "total_amount_base": u64::try_from(total).unwrap_or(u64::MAX),
        "hash_serialized": hex::encode(h.finalize()),
    }))
}

/// A `verbosity` (or `verbose`) parameter read as Bitcoin Core reads it:
/// `default` when absent, a boolean as 0 or 1, a number below 0 as 0 (the
/// hex); above 2 as 2 with `clamp_high`, else refused (-8).
fn verbosity(v: Option<&Value>, default: u64, clamp_high: bool) -> Result<u64, ErrorObjectOwned> {
    match v {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(u64::from(*b)),
        Some(v) => match v.as_i64() {
            Some(n) if n <= 2 || clamp_high => Ok(n.clamp(0, 2) as u64),
            Some(_) => Err(err(codes::INVALID_PARAMETER, "verbosity must be 0, 1 or 2")),
            None => Err(err(
                codes::TYPE,
                format!("verbosity: JSON value {v} is not of expected type bool or number"),
            )),
        },
    }
}

/// Registers the chain methods.
pub(super) fn register(m: &mut RpcModule<RpcContext>) {
    reg(m, "gettxoutsetinfo", &[], |c, _| utxo_set_info(&c.node));
    reg(m, "getblockcount", &[], |c, _| {
        Ok(json!(c.node.chain.tip().height))
    });
    reg(m, "getbestblockhash", &[], |c, _| {
        Ok(json!(c.node.chain.tip().hash.to_string()))
    });
    reg(m, "getblockhash", &["height"], |c, p| {
        let h = super::req_u64(&p, 0, "height")?;
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
    reg(m, "getblockheader", &["blockhash", "verbose"], |c, p| {
        let hash = param_hash(p.first().cloned(), "blockhash")?;
        let verbose = opt_bool(&p, 1, "verbose")?.unwrap_or(true);
        let mut v = header_json(&c.node, &hash)?;
        if verbose {
            // From the stored body's list of transaction ids, without
            // reading the transactions (left out for a header whose block
            // is not held).
            if let Ok(Some(n)) = c.node.chain.tx_count(&hash) {
                v["nTx"] = json!(n);
            }
            Ok(v)
        } else {
            let rec = c
                .node
                .chain
                .header(&hash)
                .ok()
                .flatten()
                .ok_or_else(|| err(codes::NOT_FOUND, "Block not found"))?;
            Ok(json!(hex::encode(rec.header.encode())))
        }
    });
    reg(
        m,
        "getblock",
        &["blockhash", "verbosity|verbose"],
        |c, p| {
            let hash = param_hash(p.first().cloned(), "blockhash")?;
            // 3 (Core's transactions with their prevouts) is not served.
            let verbosity = verbosity(p.get(1), 1, false)?;
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
            let stripped = stripped_size(&block);
            v["size"] = json!(block.encoded_len());
            v["strippedsize"] = json!(stripped);
            // BIP 141's weight: the stripped bytes four times, the
            // witnesses once.
            v["weight"] = json!(stripped * 3 + block.encoded_len());
            v["nTx"] = json!(block.txs.len());
            // As Bitcoin Core: a block's transactions carry no block hash or
            // confirmations of their own (the block's are above; its
            // transactions may be elsewhere now, if it is off the main chain).
            // At 2 each one's fee (from the block's undo data; none for a
            // block never connected).
            v["tx"] = if verbosity >= 2 {
                let height = v["height"].as_u64().unwrap_or(0);
                let spent = spent_coins(&c.node, &hash, height, &block)?;
                json!(block
                    .txs
                    .iter()
                    .map(|t| {
                        let mut j = tx_json(&c.node, t, None);
                        if let Some(coins) = &spent {
                            add_spent(&c.node, &mut j, t, |op| coins.get(op).cloned(), false);
                        }
                        j
                    })
                    .collect::<Vec<_>>())
            } else {
                json!(block
                    .txs
                    .iter()
                    .map(|t| t.txid().to_string())
                    .collect::<Vec<_>>())
            };
            Ok(v)
        },
    );
    reg(
        m,
        "getrawtransaction",
        &["txid", "verbosity|verbose", "blockhash"],
        |c, p| {
            let txid = param_hash(p.first().cloned(), "txid")?;
            // Core's verbosity (a boolean `verbose` before 25.0): 0 hex, 1
            // the object, 2 the object with the fee and each input's prevout.
            let verbosity = verbosity(p.get(1), 0, true)?;
            // A block to look in, as Bitcoin Core's third parameter: it must be
            // known and stored, and is read whatever the indexes (a side
            // branch's too: `in_active_chain` says which).
            let in_block = match p.get(2) {
                None | Some(Value::Null) => None,
                Some(v) => {
                    let hash = param_hash(Some(v.clone()), "blockhash")?;
                    let misc = |e: luminex_storage::StoreError| err(codes::MISC, e.to_string());
                    let Some(rec) = c.node.chain.header(&hash).map_err(misc)? else {
                        return Err(err(codes::NOT_FOUND, "Block hash not found"));
                    };
                    let Some(b) = c.node.chain.block(&hash).map_err(misc)? else {
                        return Err(err(codes::MISC, "Block not available"));
                    };
                    let Some(tx) = b.txs.into_iter().find(|t| t.txid() == txid) else {
                        return Err(err(
                            codes::NOT_FOUND,
                            "No such transaction found in the provided block",
                        ));
                    };
                    let active = c.node.chain.hash_at(rec.height).map_err(misc)? == Some(hash);
                    Some((tx, hash, rec.height, active))
                }
            };
            let (tx, block, pool_fee, in_active_chain) =
                if let Some((tx, hash, height, active)) = in_block {
                    (tx, Some((hash, height)), None, Some(active))
                } else if let Some(s) = c
                    .node
                    .chain
                    .transaction(&txid)
                    .map_err(|e| err(codes::MISC, e.to_string()))?
                {
                    (
                        s.tx,
                        Some((s.location.block, s.location.height)),
                        None,
                        None,
                    )
                } else if let Some(e) = c.node.mempool.read().get(&txid) {
                    ((*e.tx).clone(), None, Some(e.fee), None)
                } else {
                    return Err(err(
                        codes::NOT_FOUND,
                        "No such mempool or blockchain transaction",
                    ));
                };
            if verbosity == 0 {
                return Ok(json!(hex::encode(tx.encode())));
            }
            let mut v = tx_json(&c.node, &tx, block);
            if let Some(active) = in_active_chain {
                v["in_active_chain"] = json!(active);
                if !active {
                    // As Core: a block off the main chain confirms nothing.
                    v["confirmations"] = json!(0);
                }
            }
            if verbosity == 2 {
                match block {
                    Some((hash, height)) => {
                        let b = c
                            .node
                            .chain
                            .block(&hash)
                            .map_err(|e| err(codes::MISC, e.to_string()))?;
                        let coins = match &b {
                            Some(b) => spent_coins(&c.node, &hash, height, b)?,
                            None => None,
                        };
                        if let Some(coins) = coins {
                            add_spent(&c.node, &mut v, &tx, |op| coins.get(op).cloned(), true);
                        }
                    }
                    None => {
                        // In the pool: the fee it was admitted with, and the
                        // prevouts of the coins it spends from the chain (a
                        // pool parent's outputs have no block yet).
                        add_spent(
                            &c.node,
                            &mut v,
                            &tx,
                            |op| c.node.chain.coin(op).ok().flatten(),
                            true,
                        );
                        add_pool_prevouts(&c.node, &mut v, &tx);
                        if let Some(fee) = pool_fee {
                            v["fee"] = coins(fee.base());
                        }
                    }
                }
            }
            Ok(v)
        },
    );
    reg(m, "getblockchaininfo", &[], |c, _| {
        let tip = c.node.chain.tip();
        let (headers, ibd) = download_state(c, tip.header.time(), tip.height);
        // The tip's, as getblockheader gives it (the earliest time a next
        // block may carry, less one, is not it on chains without a median
        // rule).
        let mtp = median_time(&c.node, &tip.hash, tip.height, tip.header.time());
        Ok(json!({
            "chain": c.node.spec.name,
            "blocks": tip.height,
            "headers": headers,
            "bestblockhash": tip.hash.to_string(),
            "difficulty": tip.header.as_pow().map_or(0.0, |h| difficulty(h.bits)),
            "time": tip.header.time(),
            "mediantime": mtp,
            "verificationprogress": if headers > 0 { tip.height as f64 / headers as f64 } else { 1.0 },
            "initialblockdownload": ibd,
            "chainwork": hex::encode(tip.chain_work.to_be_bytes::<32>()),
            "size_on_disk": c.node.chain.disk_space(),
            "pruned": false,
            "warnings": "",
        }))
    });
    reg(m, "getstakinginfo", &[], |c, _| Ok(staking_info(&c.node)));
    reg(m, "gettxout", &["txid", "n", "include_mempool"], |c, p| {
        let txid = param_hash(p.first().cloned(), "txid")?;
        let vout = u32::try_from(super::req_u64(&p, 1, "n")?)
            .map_err(|_| err(codes::INVALID_PARAMETER, "n out of range"))?;
        let mempool = opt_bool(&p, 2, "include_mempool")?.unwrap_or(true);
        tx_out(&c.node, OutPoint { txid, vout }, mempool)
    });
    reg(m, "getchaintips", &[], |c, _| chain_tips(&c.node));
    reg(m, "getindexinfo", &["index_name"], |c, p| {
        let only = match p.first() {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(v) => {
                return Err(err(
                    codes::TYPE,
                    format!("index_name: JSON value {v} is not of expected type string"),
                ))
            }
        };
        let indexes = c.node.chain.indexes();
        let tip = c.node.chain.tip().height;
        let mut o = serde_json::Map::new();
        for (name, on) in [("txindex", indexes.tx), ("addressindex", indexes.address)] {
            if on && only.as_deref().is_none_or(|n| n == name) {
                // Written with each block's commit: never behind the tip.
                o.insert(
                    name.into(),
                    json!({ "synced": true, "best_block_height": tip }),
                );
            }
        }
        Ok(Value::Object(o))
    });
    reg(m, "getnetworkinfo", &[], |c, _| {
        let relay = coins(c.node.spec.min_fee_rate * 1000);
        // The peers the network reports (none when it is off).
        let net = c.node.net.get().map(|h| h.info());
        let peers = net.as_ref().map_or(&[][..], |i| &i.peers[..]);
        let inbound = peers.iter().filter(|p| p.direction == "inbound").count();
        let localaddresses: Vec<Value> = net
            .as_ref()
            .map(|i| {
                i.external_addrs
                    .iter()
                    .map(|a| json!({ "address": a }))
                    .collect()
            })
            .unwrap_or_default();
        Ok(json!({
            "version": 100,
            "subversion": format!("/luminex:{}/", env!("CARGO_PKG_VERSION")),
            "protocolversion": 1,
            "localservices": "0000000000000000",
            "localrelay": true,
            "timeoffset": 0,
            "networkactive": net.is_some(),
            "connections": peers.len(),
            "connections_in": inbound,
            "connections_out": peers.len() - inbound,
            "networks": [],
            "relayfee": relay,
            "incrementalfee": relay,
            "localaddresses": localaddresses,
            "warnings": "",
        }))
    });
}

/// A tip older than this keeps a node in its initial block download, as
/// Bitcoin Core's `-maxtipage` (24 hours).
const MAX_TIP_AGE_SECS: u64 = 24 * 60 * 60;

/// The height of the best header known (the tip's, or the last header the
/// download has queued) and whether the node is still in its initial block
/// download. It has left it once it is not downloading and either its tip
/// is less than a day old or a peer's headers have shown it where the chain
/// is (a node without a network, or configured as lone, has nothing to
/// download); as Bitcoin Core's, the flag then latches to false. Before
/// any peer has answered, a node restarted days behind is still in it.
fn download_state(c: &RpcContext, tip_time: u64, height: u64) -> (u64, bool) {
    use std::sync::atomic::Ordering;
    let info = c.node.net.get().map(|n| n.info());
    // The best height headers have shown: the last one queued for
    // download, or a peer's claim as far as its headers backed it (the
    // queue empties between batches; this does not).
    let headers = info.as_ref().map_or(height, |i| {
        i.sync
            .target_height
            .max(i.sync.best_peer_height)
            .max(height)
    });
    if c.left_ibd.load(Ordering::Relaxed) {
        return (headers, false);
    }
    let caught_up = match &info {
        None => true,
        Some(i) if i.lone => true,
        Some(i) => {
            let downloading = i.sync.syncing && i.sync.best_peer_height > height;
            let now = c.node.clock.now_millis() / 1000;
            let recent = now.saturating_sub(tip_time) < MAX_TIP_AGE_SECS;
            let shown = i.peers.iter().any(|p| p.headers_height.is_some());
            !downloading && (recent || shown)
        }
    };
    if caught_up {
        c.left_ibd.store(true, Ordering::Relaxed);
    }
    (headers, !caught_up)
}

/// `gettxout`: an unspent output as Bitcoin Core shows it, or `null` when
/// it is spent or unknown. With `mempool`, an output a pool transaction
/// spends is `null` and one a pool transaction creates has 0
/// confirmations.
fn tx_out(node: &Node, op: OutPoint, mempool: bool) -> RpcResult {
    let tip = node.chain.tip();
    let (output, confirmations, coinbase) = {
        let pool = node.mempool.read();
        if mempool && pool.spender(&op).is_some() {
            return Ok(Value::Null);
        }
        let pooled = mempool
            .then(|| pool.get(&op.txid))
            .flatten()
            .map(|e| e.tx.outputs.get(op.vout as usize).copied());
        match pooled {
            Some(Some(out)) => (out, 0, false),
            Some(None) => return Ok(Value::Null),
            None => {
                drop(pool);
                match node
                    .chain
                    .coin(&op)
                    .map_err(|e| err(codes::MISC, e.to_string()))?
                {
                    Some(coin) => (
                        coin.output,
                        tip.height.saturating_sub(coin.height) + 1,
                        coin.is_coinbase,
                    ),
                    None => return Ok(Value::Null),
                }
            }
        }
    };
    Ok(json!({
        "bestblock": tip.hash.to_string(),
        "confirmations": confirmations,
        "value": coins(output.amount.base()),
        "value_base": output.amount.base(),
        "scriptPubKey": script_pub_key(node, &output),
        "coinbase": coinbase,
    }))
}

/// `getchaintips`: the main chain's tip (`active`) and the last block of
/// each side branch the node holds, with its height, its length from the
/// main chain (`branchlen`) and its status, as Bitcoin Core's: `invalid`
/// when a block of it failed validation (or the operator invalidated
/// one), `valid-fork` when every block of it was connected once and so
/// fully validated (the branch was the main chain before a
/// reorganisation), else `valid-headers` (its blocks are stored but were
/// never connected).
fn chain_tips(node: &Node) -> RpcResult {
    let tips = node
        .chain
        .chain_tips()
        .map_err(|e| err(codes::MISC, e.to_string()))?;
    Ok(json!(tips
        .iter()
        .map(|t| json!({
            "height": t.height,
            "hash": t.hash.to_string(),
            "branchlen": t.height - t.fork_height,
            "status": tip_status(t),
        }))
        .collect::<Vec<_>>()))
}

/// The `status` of a branch's tip in `getchaintips`.
fn tip_status(t: &luminex_storage::ChainTip) -> &'static str {
    if t.active {
        "active"
    } else if t.invalid {
        "invalid"
    } else if t.validated {
        "valid-fork"
    } else {
        "valid-headers"
    }
}

/// `getstakinginfo`: the staking parameters and totals after the tip, as
/// `GET /staking` (amounts in coins, as the other methods give them),
/// with the reward rule and the reward pot (ADR 0038);
/// `enabled: false` and nothing else on chains without a `[staking]` table.
fn staking_info(node: &Node) -> Value {
    let Some(p) = &node.spec.staking else {
        return json!({ "enabled": false });
    };
    let height = node.chain.tip().height;
    node.chain.with_staking(|s| {
        let sum = super::coins_wide;
        json!({
            "enabled": true,
            "height": height,
            "accounts": s.account_count(),
            "min_stake": coins(p.min_stake.base()),
            "unbonding_blocks": p.unbonding_blocks,
            "require_account_creation": p.require_account_creation,
            "total_bonded": sum(s.total_bonded()),
            "total_unbonding": sum(s.total_unbonding()),
            "validators": s.validators().filter(|(_, v)| v.self_bond.base() > 0).count(),
            "jailed": s.jails().count(),
            "delegations": s.delegations().count(),
            "unbonding_entries": s.unbonding().count(),
            "registered_nodes": s.nodes().count(),
            "rewards": p.rewards.name(),
            "reward_pot": coins(s.pot().base()),
        })
    })
}

#[cfg(test)]
mod tests {
    use jsonrpsee::core::params::ArrayParams;
    use serde_json::Value;

    use crate::rpc::{module, RpcContext};

    fn params(hash: &str, verbosity: Option<u8>) -> ArrayParams {
        let mut p = ArrayParams::new();
        p.insert(hash).unwrap();
        if let Some(v) = verbosity {
            p.insert(v).unwrap();
        }
        p
    }

    /// A call with named parameters, as `bitcoin-cli -named` sends it: the
    /// whole answer (result or error).
    async fn named(m: &jsonrpsee::RpcModule<RpcContext>, method: &str, params: Value) -> Value {
        let req =
            serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (resp, _) = m.raw_json_request(&req.to_string(), 1).await.unwrap();
        serde_json::from_str(resp.get()).unwrap()
    }

    /// Core's names and values: `getrawtransaction` takes `verbosity`
    /// (alias `verbose`); at 2 it adds the fee and each input's prevout (a
    /// pool transaction: the fee it was admitted with); 3 is -8, and the
    /// same parameter under both names is an error. `getblock` takes
    /// `verbose` as an alias of `verbosity`.
    #[tokio::test]
    async fn getrawtransaction_verbosity_and_getblock_verbose() {
        use luminex_primitives::Encode;
        use serde_json::json;
        let node = luminex_service::testkit::memory_node();
        let tx = luminex_service::testkit::dev_payment(&node, 2);
        let txid = tx.txid().to_string();
        let spent = node.chain.coin(&tx.inputs[0]).unwrap().unwrap();
        node.submit(tx.clone()).unwrap();
        let fee = node.mempool.read().get(&tx.txid()).unwrap().fee.base();
        let fee_coins = format!("{}.{:08}", fee / 100_000_000, fee % 100_000_000);
        let m = module(RpcContext::new(node.clone(), None));
        let pooled = named(
            &m,
            "getrawtransaction",
            json!({"txid": txid, "verbosity": 2}),
        )
        .await;
        assert_eq!(
            pooled["result"]["fee"].as_f64(),
            fee_coins.parse().ok(),
            "{pooled}"
        );
        // A child spending the pooled payment: its input's prevout is the
        // parent's output, with no height (the parent has no block).
        let child = {
            use luminex_ledger::testkit::{lock_of, transfer};
            let k1 = node.spec.dev_key(1).unwrap();
            let parent_out = luminex_ledger::Coin {
                output: tx.outputs[0],
                height: 0,
                is_coinbase: false,
            };
            transfer(
                &node.spec,
                &k1,
                &[(
                    luminex_primitives::OutPoint {
                        txid: tx.txid(),
                        vout: 0,
                    },
                    parent_out,
                )],
                vec![luminex_primitives::TxOut {
                    amount: luminex_primitives::Amount::from_coins(1).unwrap(),
                    lock: lock_of(&k1),
                }],
            )
        };
        node.submit(child.clone()).unwrap();
        let c = named(
            &m,
            "getrawtransaction",
            json!([child.txid().to_string(), 2]),
        )
        .await;
        let prevout = &c["result"]["vin"][0]["prevout"];
        assert_eq!(prevout["value_base"], tx.outputs[0].amount.base(), "{c}");
        assert_eq!(prevout["generated"], false, "{c}");
        assert!(prevout.get("height").is_none(), "{c}");
        let block = node.produce_block().unwrap();
        for params in [
            json!({"txid": txid, "verbosity": 1}),
            json!({"txid": txid, "verbose": true}),
            json!([txid, 1]),
        ] {
            let v = named(&m, "getrawtransaction", params.clone()).await;
            assert_eq!(v["result"]["txid"], txid, "{params}: {v}");
            assert!(v["result"].get("fee").is_none(), "{v}");
        }
        let hex = named(
            &m,
            "getrawtransaction",
            json!({"txid": txid, "verbose": false}),
        )
        .await;
        assert_eq!(hex["result"], hex::encode(tx.encode()));
        let v = named(&m, "getrawtransaction", json!([txid, 2])).await;
        let r = &v["result"];
        assert_eq!(r["fee"].as_f64(), fee_coins.parse().ok(), "{v}");
        let prevout = &r["vin"][0]["prevout"];
        assert_eq!(prevout["value_base"], spent.output.amount.base(), "{v}");
        assert_eq!(prevout["height"], spent.height, "{v}");
        assert_eq!(prevout["generated"], spent.is_coinbase, "{v}");
        assert_eq!(
            prevout["scriptPubKey"]["address"],
            node.spec.address(spent.output.lock).to_string()
        );
        let e = named(
            &m,
            "getrawtransaction",
            json!({"txid": txid, "verbose": 1, "verbosity": 1}),
        )
        .await;
        assert_eq!(e["error"]["code"], -8, "{e}");
        // As Core: verbosity 0 or less is the hex, 2 or more the fullest.
        let low = named(&m, "getrawtransaction", json!([txid, -1])).await;
        assert_eq!(low["result"], hex::encode(tx.encode()), "{low}");
        let high = named(&m, "getrawtransaction", json!([txid, 3])).await;
        assert_eq!(high["result"], v["result"], "{high}");
        let hash = block.hash().to_string();
        // With the block named, `in_active_chain`.
        let inb = named(&m, "getrawtransaction", json!([txid, 1, hash])).await;
        assert_eq!(inb["result"]["in_active_chain"], true, "{inb}");
        assert!(v["result"].get("in_active_chain").is_none(), "{v}");

        let low = named(&m, "getblock", json!([hash, -1])).await;
        assert_eq!(low["result"], hex::encode(block.encode()), "{low}");
        let one = named(&m, "getblock", json!({"blockhash": hash, "verbose": true})).await;
        assert_eq!(one["result"]["tx"][1], txid, "{one}");
        let raw = named(&m, "getblock", json!({"blockhash": hash, "verbose": false})).await;
        assert_eq!(raw["result"], hex::encode(block.encode()));
        // The block left for a side branch is still read when named: the
        // transaction, not in the active chain, with no confirmations; a
        // transaction it does not hold, or a block not known, is -5.
        let side = luminex_service::testkit::side_branch_at_tip(&node);
        assert_eq!(side, block.hash());
        let r = named(&m, "getrawtransaction", json!([txid, 1, hash])).await;
        assert_eq!(r["result"]["in_active_chain"], false, "{r}");
        assert_eq!(r["result"]["confirmations"], 0, "{r}");
        assert_eq!(r["result"]["blockhash"], hash, "{r}");
        let new_cb = node
            .chain
            .block(&node.chain.tip().hash)
            .unwrap()
            .unwrap()
            .txs[0]
            .txid();
        let r = named(
            &m,
            "getrawtransaction",
            json!([new_cb.to_string(), 1, hash]),
        )
        .await;
        assert_eq!(r["error"]["code"], -5, "{r}");
        let r = named(&m, "getrawtransaction", json!([txid, 1, "00".repeat(32)])).await;
        assert_eq!(r["error"]["code"], -5, "{r}");
    }

    /// As Bitcoin Core: the genesis block's header and block carry no
    /// `previousblockhash` (it was all zeros, a block that does not exist);
    /// the next block's names the genesis.
    #[tokio::test]
    async fn the_genesis_block_has_no_previous_block() {
        let node = luminex_service::testkit::memory_node();
        let genesis = node.chain.tip().hash.to_string();
        let one = node.produce_block().unwrap().hash().to_string();
        let m = module(RpcContext::new(node.clone(), None));
        for method in ["getblockheader", "getblock"] {
            let g: Value = m.call(method, params(&genesis, None)).await.unwrap();
            assert_eq!(g["height"], 0, "{g}");
            assert!(g.get("previousblockhash").is_none(), "{method}: {g}");
            assert_eq!(g["nextblockhash"], one, "{g}");
            let b: Value = m.call(method, params(&one, None)).await.unwrap();
            assert_eq!(b["previousblockhash"], genesis, "{method}: {b}");
        }
    }

    /// The fields Bitcoin Core always returns: `getblock`'s `strippedsize`
    /// (without witnesses), `weight` (stripped × 3 + size, as BIP 141),
    /// `mediantime` and, at verbosity 2, each non-coinbase transaction's
    /// `fee`; `getblockheader`'s `mediantime` and
    /// `nTx`; a mined transaction's `time` and `blocktime`.
    #[tokio::test]
    async fn blocks_and_transactions_carry_cores_fields() {
        use luminex_primitives::Encode;
        use serde_json::json;
        let node = luminex_service::testkit::memory_node();
        // Spending a genesis coin (made before any block reward exists).
        let tx = luminex_service::testkit::dev_payment(&node, 2);
        let mut times = vec![node.chain.tip().header.time()];
        for _ in 0..3 {
            times.push(node.produce_block().unwrap().header.time());
        }
        node.submit(tx.clone()).unwrap();
        let fee = node.mempool.read().get(&tx.txid()).unwrap().fee.base();
        let block = node.produce_block().unwrap();
        times.push(block.header.time());
        let hash = block.hash().to_string();
        let m = module(RpcContext::new(node.clone(), None));
        let v: Value = m.call("getblock", params(&hash, Some(2))).await.unwrap();
        let size = block.encoded_len();
        let witnesses: usize = block
            .txs
            .iter()
            .map(|t| {
                let mut body = Vec::new();
                t.encode_body(&mut body);
                t.encoded_len() - body.len()
            })
            .sum();
        assert!(witnesses > 0);
        assert_eq!(v["size"], size, "{v}");
        assert_eq!(v["strippedsize"], size - witnesses, "{v}");
        assert_eq!(v["weight"], (size - witnesses) * 3 + size, "{v}");
        let mut sorted = times.clone();
        sorted.sort_unstable();
        assert_eq!(v["mediantime"], sorted[sorted.len() / 2], "{v}");
        assert!(v["tx"][0].get("fee").is_none(), "the coinbase pays none");
        assert_eq!(v["tx"][1]["fee"].as_f64(), Some(fee as f64 / 1e8), "{v}");
        assert!(v["tx"][1]["vin"][0].get("prevout").is_none());
        let h: Value = m.call("getblockheader", params(&hash, None)).await.unwrap();
        assert_eq!(h["nTx"], 2, "{h}");
        assert_eq!(h["mediantime"], v["mediantime"]);
        let info: Value = m
            .call(
                "getblockchaininfo",
                jsonrpsee::core::params::ArrayParams::new(),
            )
            .await
            .unwrap();
        assert_eq!(info["mediantime"], v["mediantime"], "the tip's");
        let genesis = node.chain.hash_at(0).unwrap().unwrap().to_string();
        let g: Value = m
            .call("getblockheader", params(&genesis, None))
            .await
            .unwrap();
        assert_eq!(g["mediantime"], times[0], "{g}");
        let t: Value = m
            .call(
                "getrawtransaction",
                crate::rpc::params_of(json!([tx.txid().to_string(), true])),
            )
            .await
            .unwrap();
        assert_eq!(t["time"], block.header.time(), "{t}");
        assert_eq!(t["blocktime"], block.header.time(), "{t}");
    }

    /// `getindexinfo` lists the indexes the store keeps, each at the tip,
    /// and only the one asked for; a node without them lists none.
    #[tokio::test]
    async fn getindexinfo_lists_the_indexes_kept() {
        let node = luminex_service::testkit::memory_node();
        node.produce_block().unwrap();
        let m = module(RpcContext::new(node.clone(), None));
        let all: Value = m.call("getindexinfo", ArrayParams::new()).await.unwrap();
        let at_tip = serde_json::json!({ "synced": true, "best_block_height": 1 });
        assert_eq!(all["txindex"], at_tip, "{all}");
        assert_eq!(all["addressindex"], at_tip, "{all}");
        let mut p = ArrayParams::new();
        p.insert("txindex").unwrap();
        let one: Value = m.call("getindexinfo", p).await.unwrap();
        assert_eq!(one, serde_json::json!({ "txindex": at_tip }));
        let bare = luminex_service::testkit::memory_node_without_indexes();
        let m = module(RpcContext::new(bare, None));
        let none: Value = m.call("getindexinfo", ArrayParams::new()).await.unwrap();
        assert_eq!(none, serde_json::json!({}));
    }

    /// `gettxout` of a block reward says so and counts confirmations from
    /// its block; an output index past the transaction's is `null`.
    #[tokio::test]
    async fn gettxout_of_a_block_reward() {
        let node = luminex_service::testkit::memory_node();
        let block = node.produce_block().unwrap();
        node.produce_block().unwrap();
        let m = module(RpcContext::new(node.clone(), None));
        let reward = block.txs[0].txid().to_string();
        let mut p = ArrayParams::new();
        p.insert(&reward).unwrap();
        p.insert(0).unwrap();
        let out: Value = m.call("gettxout", p).await.unwrap();
        assert_eq!(out["coinbase"], true, "{out}");
        assert_eq!(out["confirmations"], 2, "{out}");
        assert_eq!(out["bestblock"], node.chain.tip().hash.to_string());
        let mut p = ArrayParams::new();
        p.insert(&reward).unwrap();
        p.insert(99).unwrap();
        let past: Value = m.call("gettxout", p).await.unwrap();
        assert!(past.is_null(), "{past}");
    }

    /// As Bitcoin Core: a block off the main chain has -1 confirmations in
    /// `getblockheader` and `getblock`, and the transactions `getblock`
    /// lists at verbosity 2 carry no block hash or confirmations of their
    /// own (one of them is pending again, or in another block).
    #[tokio::test]
    async fn a_side_branch_block_has_minus_one_confirmations() {
        let node = luminex_service::testkit::memory_node();
        node.submit(luminex_service::testkit::dev_payment(&node, 2))
            .unwrap();
        node.produce_block().unwrap();
        let side = luminex_service::testkit::side_branch_at_tip(&node);
        let m = module(RpcContext::new(node.clone(), None));
        let header: Value = m
            .call("getblockheader", params(&side.to_string(), None))
            .await
            .unwrap();
        assert_eq!(header["confirmations"], -1, "{header}");
        assert!(header.get("nextblockhash").is_none());
        let block: Value = m
            .call("getblock", params(&side.to_string(), Some(2)))
            .await
            .unwrap();
        assert_eq!(block["confirmations"], -1);
        let txs = block["tx"].as_array().unwrap();
        assert_eq!(txs.len(), 2, "{block}");
        for tx in txs {
            assert!(tx.get("confirmations").is_none(), "{tx}");
            assert!(tx.get("blockhash").is_none(), "{tx}");
        }
        let tip = node.chain.tip().hash.to_string();
        let main: Value = m.call("getblockheader", params(&tip, None)).await.unwrap();
        assert_eq!(main["confirmations"], 1);
    }
}
