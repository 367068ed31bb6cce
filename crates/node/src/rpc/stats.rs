//! `getblockstats`: a block's fees, fee rates, sizes and counts, as
//! Bitcoin Core computes them (amounts in base units, as Core's are in
//! satoshis; fee rates in base units per byte, Core's per virtual byte);
//! `getchaintxstats`: the chain's transaction count and rate over a window.

use std::collections::HashMap;

use jsonrpsee::RpcModule;
use luminex_primitives::{Encode, Hash, OutPoint, TxOut};
use serde_json::{json, Map, Value};

use super::mining::opt_i64;
use super::shapes::median_time;
use super::{codes, err, param_hash, reg, RpcContext, RpcResult};
use luminex_service::Node;

/// The statistics, in the order Bitcoin Core lists them.
const STATS: &[&str] = &[
    "avgfee",
    "avgfeerate",
    "avgtxsize",
    "blockhash",
    "feerate_percentiles",
    "height",
    "ins",
    "maxfee",
    "maxfeerate",
    "maxtxsize",
    "medianfee",
    "mediantxsize",
    "minfee",
    "minfeerate",
    "mintxsize",
    "outs",
    "subsidy",
    "time",
    "total_out",
    "total_size",
    "total_weight",
    "totalfee",
    "txs",
    "utxo_increase",
];

/// The median of `v` (sorted here), the mean of the two middle values
/// when even, truncated: Core's `CalculateTruncatedMedian`.
fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    match v.len() {
        0 => 0,
        n if n % 2 == 0 => (v[n / 2 - 1] + v[n / 2]) / 2,
        n => v[n / 2],
    }
}

/// The fee rates at which the transactions' cumulative size, cheapest
/// first, passes 10, 25, 50, 75 and 90 % of the total: Core's
/// `feerate_percentiles` (weighted by size, not by count).
fn percentiles(mut rates: Vec<(u64, u64)>) -> [u64; 5] {
    rates.sort_unstable();
    let total: u64 = rates.iter().map(|r| r.1).sum();
    // Exact: the cumulative size reaches p % of the total when
    // sum × 100 ≥ total × p (Core compares against the exact fraction).
    let marks = [10u64, 25, 50, 75, 90].map(|p| u128::from(total) * u128::from(p));
    let mut out = [0u64; 5];
    let (mut next, mut sum) = (0, 0u64);
    for (rate, size) in &rates {
        sum += size;
        while next < 5 && u128::from(sum) * 100 >= marks[next] {
            out[next] = *rate;
            next += 1;
        }
    }
    for o in out.iter_mut().skip(next) {
        *o = rates.last().map_or(0, |r| r.0);
    }
    out
}

/// Every statistic of the block `hash`.
fn block_stats(node: &Node, hash: &Hash) -> RpcResult {
    let block = node
        .chain
        .block(hash)
        .map_err(|e| err(codes::MISC, e.to_string()))?
        .ok_or_else(|| err(codes::NOT_FOUND, "Block not found"))?;
    let record = node
        .chain
        .header(hash)
        .map_err(|e| err(codes::MISC, e.to_string()))?
        .ok_or_else(|| err(codes::NOT_FOUND, "Block not found"))?;
    let spent = match node
        .chain
        .block_undo(hash)
        .map_err(|e| err(codes::MISC, e.to_string()))?
    {
        Some(undo) => undo.spent,
        None if record.height == 0 => Vec::new(),
        None => {
            return Err(err(
                codes::MISC,
                "Can't read undo data from disk: the block was never connected",
            ))
        }
    };
    let mut coins: HashMap<OutPoint, TxOut> =
        spent.into_iter().map(|(op, c)| (op, c.output)).collect();
    let (mut ins, mut outs, mut total_out, mut total_size) = (0u64, 0u64, 0u128, 0u64);
    let mut total_weight = 0u64;
    let (mut fees, mut sizes, mut rates) = (Vec::new(), Vec::new(), Vec::new());
    for tx in &block.txs {
        let txid = tx.txid();
        outs += tx.outputs.len() as u64;
        if !tx.is_coinbase() {
            let size = tx.encoded_len() as u64;
            // BIP 141's weight as `getblock` gives it: the bytes without
            // the witness list three times more, the whole once.
            let mut body = luminex_primitives::codec::Counter::default();
            tx.encode_body(&mut body);
            total_weight += body.0 as u64 * 3 + size;
            let inputs: u128 = tx
                .inputs
                .iter()
                .filter_map(|i| coins.get(i))
                .map(|o| u128::from(o.amount.base()))
                .sum();
            let out: u128 = tx.outputs.iter().map(|o| u128::from(o.amount.base())).sum();
            let bonded = u128::from(tx.kind.bonded().base());
            let fee = u64::try_from(inputs.saturating_sub(out + bonded)).unwrap_or(u64::MAX);
            ins += tx.inputs.len() as u64;
            total_out += out;
            total_size += size;
            fees.push(fee);
            sizes.push(size);
            rates.push((fee / size.max(1), size));
        }
        for (vout, o) in tx.outputs.iter().enumerate() {
            coins.insert(
                OutPoint {
                    txid,
                    vout: vout as u32,
                },
                *o,
            );
        }
    }
    let n = fees.len() as u64;
    let totalfee: u64 = fees.iter().sum();
    let avg = |sum: u64| sum.checked_div(n).unwrap_or(0);
    let rate_values: Vec<u64> = rates.iter().map(|r| r.0).collect();
    Ok(json!({
        "avgfee": avg(totalfee),
        "avgfeerate": totalfee.checked_div(total_size).unwrap_or(0),
        "avgtxsize": avg(total_size),
        "blockhash": hash.to_string(),
        "feerate_percentiles": percentiles(rates),
        "height": record.height,
        "ins": ins,
        "maxfee": fees.iter().max().copied().unwrap_or(0),
        "maxfeerate": rate_values.iter().max().copied().unwrap_or(0),
        "maxtxsize": sizes.iter().max().copied().unwrap_or(0),
        "medianfee": median(&mut fees.clone()),
        "mediantxsize": median(&mut sizes.clone()),
        "minfee": fees.iter().min().copied().unwrap_or(0),
        "minfeerate": rate_values.iter().min().copied().unwrap_or(0),
        "mintxsize": sizes.iter().min().copied().unwrap_or(0),
        "outs": outs,
        "subsidy": node.spec.subsidy(record.height).base(),
        "time": record.header.time(),
        "total_out": u64::try_from(total_out).unwrap_or(u64::MAX),
        "total_size": total_size,
        "total_weight": total_weight,
        "totalfee": totalfee,
        "txs": block.txs.len(),
        "utxo_increase": outs as i64 - ins as i64,
    }))
}

/// `getchaintxstats`, as Bitcoin Core answers it: at main-chain block
/// `blockhash` (the tip by default), the transactions from genesis to it,
/// and over the window of its last `nblocks` blocks (by default the blocks
/// of 30 days at the spec's interval, at most the block's height − 1) the
/// count, the span of median times and the rate. The count is summed from
/// each block's record (there is no running total to read), a read per
/// block from genesis.
fn chain_tx_stats(node: &Node, p: &[Value]) -> RpcResult {
    let misc = |e: luminex_storage::StoreError| err(codes::MISC, e.to_string());
    let tip = node.chain.tip();
    let (hash, height, time) = match p.get(1) {
        None | Some(Value::Null) => (tip.hash, tip.height, tip.header.time()),
        Some(_) => {
            let hash = param_hash(p.get(1).cloned(), "blockhash")?;
            let rec = node
                .chain
                .header(&hash)
                .map_err(misc)?
                .ok_or_else(|| err(codes::NOT_FOUND, "Block not found"))?;
            if node.chain.hash_at(rec.height).map_err(misc)? != Some(hash) {
                return Err(err(codes::INVALID_PARAMETER, "Block is not in main chain"));
            }
            (hash, rec.height, rec.header.time())
        }
    };
    let below = i64::try_from(height).unwrap_or(i64::MAX).saturating_sub(1);
    let count = match p.first() {
        None | Some(Value::Null) => {
            let month = 30 * 24 * 3600 * 1000 / node.spec.block_interval_ms.max(1);
            i64::try_from(month).unwrap_or(i64::MAX).min(below).max(0)
        }
        Some(_) => {
            let n = opt_i64(p, 0, "nblocks", 0)?;
            if n < 0 || (n > 0 && n > below) {
                return Err(err(
                    codes::INVALID_PARAMETER,
                    "Invalid block count: should be between 0 and the block's height - 1",
                ));
            }
            n
        }
    } as u64;
    let past = height - count;
    let (mut total, mut window) = (0u64, 0u64);
    let mut past_hash = hash;
    for h in 0..=height {
        let Some(at) = node.chain.hash_at(h).map_err(misc)? else {
            return Err(err(codes::MISC, format!("no main-chain block at {h}")));
        };
        let n = node.chain.tx_count(&at).map_err(misc)?.unwrap_or(0) as u64;
        total += n;
        if h > past {
            window += n;
        }
        if h == past {
            past_hash = at;
        }
    }
    let mut o = Map::new();
    o.insert("time".into(), json!(time));
    o.insert("txcount".into(), json!(total));
    o.insert("window_final_block_hash".into(), json!(hash.to_string()));
    o.insert("window_final_block_height".into(), json!(height));
    o.insert("window_block_count".into(), json!(count));
    if count > 0 {
        let past_time = node
            .chain
            .header(&past_hash)
            .map_err(misc)?
            .map_or(0, |r| r.header.time());
        let interval = median_time(node, &hash, height, time) as i64
            - median_time(node, &past_hash, past, past_time) as i64;
        o.insert("window_interval".into(), json!(interval));
        o.insert("window_tx_count".into(), json!(window));
        if interval > 0 {
            o.insert("txrate".into(), json!(window as f64 / interval as f64));
        }
    }
    Ok(Value::Object(o))
}

/// Registers `getblockstats` and `getchaintxstats`.
pub(super) fn register(m: &mut RpcModule<RpcContext>) {
    reg(m, "getchaintxstats", &["nblocks", "blockhash"], |c, p| {
        chain_tx_stats(&c.node, &p)
    });
    reg(m, "getblockstats", &["hash_or_height", "stats"], |c, p| {
        let hash = match p.first() {
            Some(Value::Number(_)) => {
                let height = super::req_u64(&p, 0, "hash_or_height")?;
                let tip = c.node.chain.tip().height;
                c.node
                    .chain
                    .hash_at(height)
                    .map_err(|e| err(codes::MISC, e.to_string()))?
                    .ok_or_else(|| {
                        err(
                            codes::INVALID_PARAMETER,
                            format!("Target block height {height} after current tip {tip}"),
                        )
                    })?
            }
            Some(Value::String(_)) => param_hash(p.first().cloned(), "hash_or_height")?,
            None | Some(Value::Null) => return Err(super::missing("hash_or_height")),
            Some(v) => {
                return Err(err(
                    codes::TYPE,
                    format!(
                        "hash_or_height: JSON value {v} is not of expected type string or number"
                    ),
                ))
            }
        };
        let wanted: Option<Vec<String>> = match p.get(1) {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(
                a.iter()
                    .map(|v| {
                        v.as_str()
                            .filter(|s| STATS.contains(s))
                            .map(str::to_string)
                            .ok_or_else(|| {
                                err(
                                    codes::INVALID_PARAMETER,
                                    format!(
                                        "Invalid selected statistic '{}'",
                                        v.as_str().unwrap_or(&v.to_string())
                                    ),
                                )
                            })
                    })
                    .collect::<Result<_, _>>()?,
            ),
            Some(v) => {
                return Err(err(
                    codes::TYPE,
                    format!("stats: JSON value {v} is not of expected type array"),
                ))
            }
        };
        let all = block_stats(&c.node, &hash)?;
        Ok(match wanted {
            // As Bitcoin Core: an empty selection is every statistic.
            None => all,
            Some(names) if names.is_empty() => all,
            Some(names) => {
                let mut o = Map::new();
                for n in names {
                    o.insert(n.clone(), all[&n].clone());
                }
                Value::Object(o)
            }
        })
    });
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::rpc::{module, RpcContext};

    use crate::rpc::params_of as params;

    #[test]
    fn medians_and_size_weighted_percentiles() {
        assert_eq!(median(&mut [5, 1, 3]), 3);
        assert_eq!(median(&mut [4, 1, 3, 2]), 2);
        assert_eq!(median(&mut []), 0);
        // Rate 1 over 90 bytes, rate 10 over 10: the 90th percentile of
        // size is still at rate 1.
        assert_eq!(percentiles(vec![(10, 10), (1, 90)]), [1, 1, 1, 1, 1]);
        assert_eq!(percentiles(vec![(10, 50), (1, 50)]), [1, 1, 1, 10, 10]);
        assert_eq!(percentiles(Vec::new()), [0; 5]);
        // 300 of 3,005 bytes is under 10 %: the 10th percentile is the
        // next rate (truncating the mark to 300 would have said 1).
        assert_eq!(
            percentiles(vec![(1, 300), (10, 2_705)]),
            [10, 10, 10, 10, 10]
        );
    }

    /// `getchaintxstats` counts every transaction from genesis and, over
    /// its window, the blocks, transactions and median-time span; bad
    /// arguments get Core's codes.
    #[tokio::test]
    async fn getchaintxstats_counts_the_chain_and_its_window() {
        let node = luminex_service::testkit::memory_node();
        let mut txs = vec![node
            .chain
            .tx_count(&node.chain.tip().hash)
            .unwrap()
            .unwrap() as u64];
        for k in 0..3 {
            let tx = luminex_service::testkit::dev_payment(&node, k + 1);
            node.submit(tx).unwrap();
            let block = node.produce_block().unwrap();
            txs.push(block.txs.len() as u64);
        }
        let m = module(RpcContext::new(node.clone(), None));
        let s: Value = m.call("getchaintxstats", params(json!([]))).await.unwrap();
        let total: u64 = txs.iter().sum();
        assert_eq!(s["txcount"], total, "{s}");
        assert_eq!(s["window_final_block_height"], 3, "{s}");
        assert_eq!(
            s["window_final_block_hash"],
            node.chain.tip().hash.to_string()
        );
        // By default the window is at most the height − 1.
        assert_eq!(s["window_block_count"], 2, "{s}");
        assert_eq!(s["window_tx_count"], txs[2] + txs[3], "{s}");
        assert!(s["window_interval"].is_i64(), "{s}");
        // One block, at block 2 by hash.
        let two = node.chain.hash_at(2).unwrap().unwrap().to_string();
        let s: Value = m
            .call("getchaintxstats", params(json!([1, two.clone()])))
            .await
            .unwrap();
        assert_eq!(s["txcount"], txs[0] + txs[1] + txs[2], "{s}");
        assert_eq!(s["window_block_count"], 1, "{s}");
        assert_eq!(s["window_tx_count"], txs[2], "{s}");
        // An empty window has no interval, count or rate.
        let s: Value = m.call("getchaintxstats", params(json!([0]))).await.unwrap();
        assert_eq!(s["window_block_count"], 0, "{s}");
        assert!(s.get("window_tx_count").is_none(), "{s}");
        assert!(s.get("txrate").is_none(), "{s}");
        for (args, code) in [
            (json!([3]), codes::INVALID_PARAMETER),
            (json!([-1]), codes::INVALID_PARAMETER),
            (json!([2, two]), codes::INVALID_PARAMETER),
            (json!([1, Hash::ZERO.to_string()]), codes::NOT_FOUND),
            (json!(["x"]), codes::TYPE),
            (json!([1, "zz"]), codes::INVALID_PARAMETER),
            // A hash of another JSON type is Core's type error.
            (json!([1, 5]), codes::TYPE),
        ] {
            let e = m
                .call::<_, Value>("getchaintxstats", params(args.clone()))
                .await
                .unwrap_err();
            assert!(e.to_string().contains(&code.to_string()), "{args}: {e}");
        }
    }

    /// A block with one payment: its fee is the pool's, every fee
    /// statistic agrees, by height or hash; a selection returns only the
    /// statistics named; genesis has none; bad arguments are Core's errors.
    #[tokio::test]
    async fn getblockstats_of_a_block_with_one_payment() {
        let node = luminex_service::testkit::memory_node();
        let tx = luminex_service::testkit::dev_payment(&node, 2);
        let txid = node.submit(tx.clone()).unwrap();
        let fee = node.mempool.read().get(&txid).unwrap().fee.base();
        let block = node.produce_block().unwrap();
        let m = module(RpcContext::new(node.clone(), None));
        let s: Value = m.call("getblockstats", params(json!([1]))).await.unwrap();
        assert_eq!(s["txs"], 2, "{s}");
        assert_eq!(s["totalfee"], fee, "{s}");
        assert_eq!(s["minfee"], fee);
        assert_eq!(s["maxfee"], fee);
        assert_eq!(s["medianfee"], fee);
        assert_eq!(s["ins"], tx.inputs.len());
        assert_eq!(s["total_size"], tx.encoded_len());
        let mut body = luminex_primitives::codec::Counter::default();
        tx.encode_body(&mut body);
        assert_eq!(s["total_weight"], body.0 * 3 + tx.encoded_len(), "{s}");
        let rate = fee / tx.encoded_len() as u64;
        assert_eq!(
            s["feerate_percentiles"],
            json!([rate, rate, rate, rate, rate])
        );
        assert_eq!(s["blockhash"], block.hash().to_string());
        let by_hash: Value = m
            .call("getblockstats", params(json!([block.hash().to_string()])))
            .await
            .unwrap();
        assert_eq!(by_hash, s);
        let some: Value = m
            .call("getblockstats", params(json!([1, ["totalfee", "txs"]])))
            .await
            .unwrap();
        assert_eq!(some, json!({ "totalfee": fee, "txs": 2 }));
        let empty: Value = m
            .call("getblockstats", params(json!([1, []])))
            .await
            .unwrap();
        assert_eq!(empty, s, "an empty selection is every statistic");
        let genesis: Value = m.call("getblockstats", params(json!([0]))).await.unwrap();
        assert_eq!(genesis["totalfee"], 0, "{genesis}");
        for (args, code) in [
            (json!([99]), codes::INVALID_PARAMETER),
            (json!([1, ["nosuchstat"]]), codes::INVALID_PARAMETER),
            (json!([Hash::ZERO.to_string()]), codes::NOT_FOUND),
            (json!([true]), codes::TYPE),
        ] {
            let e = m
                .call::<_, Value>("getblockstats", params(args.clone()))
                .await
                .unwrap_err();
            assert!(e.to_string().contains(&code.to_string()), "{args}: {e}");
        }
    }
}
