//! The mempool: submitting raw transactions, its contents and fee
//! estimates.

use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;
use luminex_ledger::TxError;
use luminex_mempool::MempoolError;
use luminex_primitives::{Decode, Transaction};
use luminex_service::admission::AdmitError;
use serde_json::{json, Value};

use super::{codes, err, reg, RpcContext};
use super::{coins, opt_bool};

fn mempool_error(e: MempoolError) -> ErrorObjectOwned {
    match &e {
        MempoolError::Invalid(TxError::MissingInput(_)) => {
            err(codes::VERIFY, "bad-txns-inputs-missingorspent")
        }
        MempoolError::Invalid(TxError::Decode(_)) => {
            err(codes::DESERIALIZATION, "TX decode failed")
        }
        MempoolError::Conflict { .. } => err(codes::VERIFY_REJECTED, "txn-mempool-conflict"),
        MempoolError::Halted(_) => err(codes::DATABASE, e.to_string()),
        _ => err(codes::VERIFY_REJECTED, format!("{}: {e}", e.code())),
    }
}

/// A pool entry as Bitcoin Core's `getmempoolentry` shows it: its size and
/// fee, and its unconfirmed ancestors and descendants (counts and sizes
/// include the entry itself, as Core's do; the chain limits are 25 each),
/// the parents it spends (`depends`) and the children spending it
/// (`spentby`).
fn entry_json(pool: &luminex_mempool::Mempool, e: &luminex_mempool::Entry) -> Value {
    let sum = |ids: &[luminex_primitives::Hash]| {
        ids.iter()
            .filter_map(|t| pool.get(t))
            .fold((e.size, e.fee.base()), |(s, f), x| {
                (s + x.size, f.saturating_add(x.fee.base()))
            })
    };
    let ancestors = pool.ancestors_of(&e.txid);
    let descendants = pool.descendants_of(&e.txid);
    let (ancestor_size, ancestor_fees) = sum(&ancestors);
    let (descendant_size, descendant_fees) = sum(&descendants);
    let mut depends: Vec<String> =
        e.tx.inputs
            .iter()
            .filter(|i| pool.contains(&i.txid))
            .map(|i| i.txid.to_string())
            .collect();
    depends.sort();
    depends.dedup();
    let spentby: Vec<String> = pool
        .spenders_of(&e.txid)
        .iter()
        .map(|t| t.to_string())
        .collect();
    json!({
        "vsize": e.size,
        "weight": e.size * 4,
        "fee": coins(e.fee.base()),
        "fees": {
            "base": coins(e.fee.base()),
            "modified": coins(e.fee.base()),
            "ancestor": coins(ancestor_fees),
            "descendant": coins(descendant_fees),
        },
        "ancestorcount": ancestors.len() + 1,
        "ancestorsize": ancestor_size,
        "descendantcount": descendants.len() + 1,
        "descendantsize": descendant_size,
        "wtxid": e.wtxid.to_string(),
        "depends": depends,
        "spentby": spentby,
    })
}

/// Registers the mempool methods.
pub(super) fn register(m: &mut RpcModule<RpcContext>) {
    reg(m, "sendrawtransaction", &["hexstring"], |c, p| {
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
        // Through the admission pipeline, as the REST API's broadcasts
        // (ADR 0046); this method runs on a thread that may block.
        match c.node.submit_queued_blocking(tx) {
            Ok(t) | Err(AdmitError::Rejected(MempoolError::AlreadyKnown(t))) => {
                Ok(json!(t.to_string()))
            }
            Err(AdmitError::Rejected(e)) => Err(mempool_error(e)),
            Err(e @ AdmitError::Internal) => Err(err(codes::INTERNAL, e.to_string())),
            Err(e) => Err(err(codes::MISC, format!("{e}; try again shortly"))),
        }
    });
    reg(m, "getrawmempool", &["verbose"], |c, p| {
        let verbose = opt_bool(&p, 0, "verbose")?.unwrap_or(false);
        let pool = c.node.mempool.read();
        if verbose {
            let mut o = serde_json::Map::new();
            for e in pool.entries() {
                o.insert(e.txid.to_string(), entry_json(&pool, e));
            }
            Ok(Value::Object(o))
        } else {
            Ok(json!(pool
                .entries()
                .map(|e| e.txid.to_string())
                .collect::<Vec<_>>()))
        }
    });
    reg(m, "getmempoolentry", &["txid"], |c, p| {
        let txid = super::param_hash(p.first().cloned(), "txid")?;
        let pool = c.node.mempool.read();
        let e = pool
            .get(&txid)
            .ok_or_else(|| err(codes::NOT_FOUND, "Transaction not in mempool"))?;
        Ok(entry_json(&pool, e))
    });
    reg(m, "getmempoolinfo", &[], |c, _| {
        // Before the pool's lock: this takes it too.
        let floor = coins(c.node.mempool_min_fee_rate() * 1000);
        let pool = c.node.mempool.read();
        let relay = coins(c.node.spec.min_fee_rate * 1000);
        Ok(json!({
            "loaded": true,
            "size": pool.len(),
            "bytes": pool.bytes(),
            "usage": pool.bytes(),
            "total_fee": coins(pool.entries().map(|e| e.fee.base()).sum()),
            "maxmempool": pool.max_bytes(),
            "mempoolminfee": floor,
            "minrelaytxfee": relay,
            "unbroadcastcount": 0,
        }))
    });
    reg(
        m,
        "estimatesmartfee",
        &["conf_target", "estimate_mode"],
        |c, p| {
            let blocks = super::req_u64(&p, 0, "conf_target")?;
            if !(1..=1008).contains(&blocks) {
                return Err(err(
                    codes::INVALID_PARAMETER,
                    "Invalid conf_target, must be between 1 and 1008",
                ));
            }
            // Accepted as Bitcoin Core names them; one estimator serves all.
            match p.get(1) {
            None | Some(Value::Null) => {}
            Some(Value::String(m))
                if ["unset", "economical", "conservative"]
                    .iter()
                    .any(|k| k.eq_ignore_ascii_case(m)) => {}
            Some(_) => {
                return Err(err(
                    codes::INVALID_PARAMETER,
                    "Invalid estimate_mode parameter, must be one of: \"unset\", \"economical\", \"conservative\"",
                ))
            }
        }
            Ok(
                json!({ "feerate": coins(c.node.estimate_fee_rate(blocks).saturating_mul(1000)), "blocks": blocks }),
            )
        },
    );
}
