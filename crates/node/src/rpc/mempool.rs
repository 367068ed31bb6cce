//! The mempool: submitting, testing and decoding raw transactions, its
//! contents, chains of unconfirmed transactions and fee estimates.

use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;
use luminex_ledger::TxError;
use luminex_mempool::MempoolError;
use luminex_primitives::{Decode, Transaction};
use luminex_service::admission::AdmitError;
use serde_json::{json, Value};

use super::{codes, err, reg, RpcContext, RpcResult};
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
        // When it entered the pool (Unix seconds) and the tip's height then.
        "time": e.time,
        "height": e.height,
        "depends": depends,
        "spentby": spentby,
    })
}

/// The raw transaction parameter `hexstring` at `i`: hex of the canonical
/// encoding (missing -1, not a string -3, not a transaction -22).
fn raw_tx(p: &[Value], i: usize) -> Result<Transaction, ErrorObjectOwned> {
    let s = super::req_str(p, i, "hexstring")?;
    hex::decode(s.trim())
        .ok()
        .and_then(|b| Transaction::decode_all(&b).ok())
        .ok_or_else(|| err(codes::DESERIALIZATION, "TX decode failed"))
}

/// Bitcoin Core's `reject-reason` for a refusal where it has one, else
/// this node's code for it.
fn reject_reason(e: &MempoolError) -> &'static str {
    match e {
        MempoolError::AlreadyKnown(_) => "txn-already-in-mempool",
        MempoolError::Conflict { .. } => "txn-mempool-conflict",
        MempoolError::Invalid(TxError::MissingInput(_)) => "missing-inputs",
        MempoolError::Full { .. } => "mempool full",
        _ => e.code(),
    }
}

/// The `maxfeerate` of `sendrawtransaction` and `testmempoolaccept` when
/// none is given, in base units per 1,000 bytes: Bitcoin Core's default
/// (0.10 per kvB), which refuses a transaction whose fee is out of all
/// proportion to its size — a mistyped amount or a forgotten change
/// output — unless the caller lifts it with 0.
pub const DEFAULT_MAX_FEE_RATE: u64 = 10_000_000;

/// Parameter `i`, a `maxfeerate` in coins per 1,000 bytes, as Core's
/// `AmountFromValue` and `ParseFeeRate` take it: a number or a decimal
/// string of at most 8 decimals (-3 otherwise), below 1 coin per 1,000
/// bytes (-8 otherwise, as Core refuses 1 BTC/kvB). Returns base units
/// per 1,000 bytes: the default when absent or null, `None` (no limit)
/// for 0.
fn max_fee_rate(p: &[Value], i: usize) -> Result<Option<u64>, ErrorObjectOwned> {
    let text = match p.get(i) {
        None | Some(Value::Null) => return Ok(Some(DEFAULT_MAX_FEE_RATE)),
        // A number as its digits (serde_json writes the shortest form
        // that reads back the same, exponent and all).
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::String(s)) => s.trim().to_string(),
        Some(_) => return Err(err(codes::TYPE, "Invalid amount")),
    };
    if text.starts_with('-') {
        return Err(err(codes::TYPE, "Amount out of range"));
    }
    let base = parse_fixed8(&text).ok_or_else(|| err(codes::TYPE, "Invalid amount"))?;
    if base >= 100_000_000 {
        return Err(err(
            codes::INVALID_PARAMETER,
            "Fee rates larger than or equal to 1 coin per 1,000 bytes are not accepted",
        ));
    }
    Ok((base > 0).then_some(base))
}

/// A decimal amount in base units (8 decimals), as Core's
/// `ParseFixedPoint` reads one: digits with an optional fraction and an
/// optional exponent (`0.1`, `1e-3`, `1.5E2`). `None` when it is malformed,
/// needs more than 8 decimals, or does not fit. Written by hand: the
/// exact rule (refuse what cannot be represented, never round) is what
/// matters, and it is a dozen lines.
fn parse_fixed8(text: &str) -> Option<u64> {
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().ok()?),
        None => (text, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digit = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digit(int) || !digit(frac) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Some(0);
    }
    // The value is `digits × 10^shift` base units.
    let shift = i64::from(exp) - frac.len() as i64 + 8;
    if shift >= 0 {
        let scale = 10u64.checked_pow(u32::try_from(shift).ok()?)?;
        digits.parse::<u64>().ok()?.checked_mul(scale)
    } else {
        let cut = usize::try_from(-shift).ok()?;
        if cut > digits.len() {
            return None;
        }
        let (keep, dropped) = digits.split_at(digits.len() - cut);
        if !dropped.bytes().all(|b| b == b'0') {
            return None;
        }
        if keep.is_empty() {
            Some(0)
        } else {
            keep.parse::<u64>().ok()
        }
    }
}

/// A fee rate in base units per 1,000 bytes, as Core's
/// `CFeeRate(fee, size).GetFeePerK()` (rounded down); shown with
/// [`coins`].
fn fee_rate(fee: luminex_primitives::Amount, size: usize) -> u64 {
    u64::try_from(u128::from(fee.base()) * 1000 / size.max(1) as u128).unwrap_or(u64::MAX)
}

/// Whether `fee` for `size` bytes exceeds `max` base units per 1,000
/// bytes, in whole units as Core compares (`fee > CFeeRate(max).GetFee(size)`,
/// the allowance rounded up).
fn exceeds(fee: luminex_primitives::Amount, size: usize, max: u64) -> bool {
    let allowed = (u128::from(max) * size as u128).div_ceil(1000);
    u128::from(fee.base()) > allowed
}

/// `testmempoolaccept`: whether the one raw transaction given would be
/// admitted now, admitting nothing. `maxfeerate` (coins per 1,000 bytes;
/// [`DEFAULT_MAX_FEE_RATE`] when not given, 0 for none) refuses one paying
/// more, as `max-fee-exceeded`.
fn test_mempool_accept(c: &RpcContext, p: &[Value]) -> RpcResult {
    let raw = match p.first() {
        Some(Value::Array(a)) => a,
        Some(v) if !v.is_null() => {
            return Err(err(
                codes::TYPE,
                "rawtxs: JSON value is not of expected type array (an array of one raw transaction in hex)",
            ))
        }
        _ => return Err(super::missing("rawtxs")),
    };
    if raw.len() != 1 {
        return Err(err(
            codes::INVALID_PARAMETER,
            "Array must contain exactly one raw transaction",
        ));
    }
    let max_rate = max_fee_rate(p, 1)?;
    let tx = raw_tx(raw, 0)?;
    let (txid, wtxid) = (tx.txid(), tx.wtxid());
    let refused = |reason: &str| {
        json!([{
            "txid": txid.to_string(),
            "wtxid": wtxid.to_string(),
            "allowed": false,
            "reject-reason": reason,
        }])
    };
    if c.node.chain.transaction(&txid).ok().flatten().is_some() {
        return Ok(refused("txn-already-known"));
    }
    match c.node.test_accept(tx) {
        Ok((cand, fee)) => {
            if max_rate.is_some_and(|m| exceeds(fee, cand.size, m)) {
                return Ok(refused("max-fee-exceeded"));
            }
            let rate = fee_rate(fee, cand.size);
            Ok(json!([{
                "txid": txid.to_string(),
                "wtxid": wtxid.to_string(),
                "allowed": true,
                "vsize": cand.size,
                "fees": { "base": coins(fee.base()), "effective-feerate": coins(rate) },
            }]))
        }
        Err(e) => Ok(refused(reject_reason(&e))),
    }
}

/// `getmempoolancestors` / `getmempooldescendants`: a pool transaction's
/// unconfirmed ancestors or descendants, as txids or (`verbose`) as
/// `getmempoolentry` objects by txid.
fn relatives(c: &RpcContext, p: &[Value], ancestors: bool) -> RpcResult {
    let txid = super::param_hash(p.first().cloned(), "txid")?;
    let verbose = opt_bool(p, 1, "verbose")?.unwrap_or(false);
    let pool = c.node.mempool.read();
    if !pool.contains(&txid) {
        return Err(err(codes::NOT_FOUND, "Transaction not in mempool"));
    }
    let ids = if ancestors {
        pool.ancestors_of(&txid)
    } else {
        pool.descendants_of(&txid)
    };
    if verbose {
        let mut o = serde_json::Map::new();
        for e in ids.iter().filter_map(|t| pool.get(t)) {
            o.insert(e.txid.to_string(), entry_json(&pool, e));
        }
        Ok(Value::Object(o))
    } else {
        Ok(json!(ids.iter().map(|t| t.to_string()).collect::<Vec<_>>()))
    }
}

/// Registers the mempool methods.
pub(super) fn register(m: &mut RpcModule<RpcContext>) {
    reg(m, "testmempoolaccept", &["rawtxs", "maxfeerate"], |c, p| {
        test_mempool_accept(c, &p)
    });
    reg(m, "decoderawtransaction", &["hexstring"], |c, p| {
        let tx = raw_tx(&p, 0)?;
        let mut v = super::shapes::tx_json(&c.node, &tx, None);
        if let Some(o) = v.as_object_mut() {
            // Core's decoding carries no hex of the transaction given.
            o.remove("hex");
        }
        Ok(v)
    });
    reg(m, "getmempoolancestors", &["txid", "verbose"], |c, p| {
        relatives(c, &p, true)
    });
    reg(m, "getmempooldescendants", &["txid", "verbose"], |c, p| {
        relatives(c, &p, false)
    });
    reg(
        m,
        "sendrawtransaction",
        &["hexstring", "maxfeerate"],
        |c, p| {
            let tx = raw_tx(&p, 0)?;
            let max_rate = max_fee_rate(&p, 1)?;
            let txid = tx.txid();
            if c.node.chain.transaction(&txid).ok().flatten().is_some() {
                return Err(err(
                    codes::ALREADY_IN_CHAIN,
                    "Transaction already in block chain",
                ));
            }
            // The fee is known only against the inputs: a dry run of admission
            // (its signature checks are cached for the real one). Its refusal
            // is the answer — going on would admit a transaction whose fee
            // was never compared with the cap — except "already known",
            // which the submission answers with the txid.
            if let Some(max) = max_rate {
                match c.node.test_accept(tx.clone()) {
                    Ok((cand, fee)) if exceeds(fee, cand.size, max) => {
                        return Err(err(
                            codes::VERIFY,
                            "Fee exceeds maximum configured by user (e.g. -maxtxfee, maxfeerate)",
                        ));
                    }
                    Ok(_) | Err(MempoolError::AlreadyKnown(_)) => {}
                    Err(e) => return Err(mempool_error(e)),
                }
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
        },
    );
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
            "total_fee": super::coins_wide(pool.entries().map(|e| u128::from(e.fee.base())).sum()),
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

#[cfg(test)]
mod tests {
    use luminex_primitives::Encode;
    use serde_json::{json, Value};

    use crate::rpc::{module, RpcContext};

    use crate::rpc::params_of as params;

    /// `testmempoolaccept` with a `maxfeerate` below what the transaction
    /// pays refuses it as `max-fee-exceeded`, 0 means no limit, and a
    /// negative one is -8; nothing is admitted either way.
    #[tokio::test]
    async fn testmempoolaccept_applies_a_given_maxfeerate() {
        let node = luminex_service::testkit::memory_node();
        let tx = luminex_service::testkit::dev_payment(&node, 2);
        let raw = hex::encode(tx.encode());
        let m = module(RpcContext::new(node.clone(), None));
        let ok: Value = m
            .call("testmempoolaccept", params(json!([[raw]])))
            .await
            .unwrap();
        assert_eq!(ok[0]["allowed"], true, "{ok}");
        let rate = ok[0]["fees"]["effective-feerate"].as_f64().unwrap();
        assert!(rate > 0.0, "{ok}");
        let capped: Value = m
            .call(
                "testmempoolaccept",
                params(json!([[raw], format!("{:.8}", rate / 2.0)])),
            )
            .await
            .unwrap();
        assert_eq!(capped[0]["allowed"], false, "{capped}");
        assert_eq!(capped[0]["reject-reason"], "max-fee-exceeded");
        let unlimited: Value = m
            .call("testmempoolaccept", params(json!([[raw], 0])))
            .await
            .unwrap();
        assert_eq!(unlimited[0]["allowed"], true, "{unlimited}");
        // Core's answers to bad caps: -3 for a negative or malformed one,
        // -8 for 1 coin per 1,000 bytes or more (no cap that high).
        for (bad, text) in [
            (json!(-1), "Amount out of range"),
            (json!("-0.1"), "Amount out of range"),
            (json!("0.123456789"), "Invalid amount"),
            // A number needing more decimals than there are base units
            // once turned the cap off (rounded to 0).
            (json!(0.000000001), "Invalid amount"),
            (json!(1e-9), "Invalid amount"),
            (json!(0.999999999), "Invalid amount"),
            (json!(true), "Invalid amount"),
            (json!(1), "larger than or equal to 1 coin"),
            (json!("99"), "larger than or equal to 1 coin"),
            // Past what an amount can hold: Core's "Invalid amount" too.
            (json!(1e300), "Invalid amount"),
        ] {
            let e = m
                .call::<_, Value>("testmempoolaccept", params(json!([[raw], bad])))
                .await
                .unwrap_err();
            assert!(e.to_string().contains(text), "{bad}: {e}");
        }
        let e = m
            .call::<_, Value>("testmempoolaccept", params(json!([raw])))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("array"), "{e}");
        assert!(node.mempool.read().is_empty());
    }

    /// Without a `maxfeerate`, both methods apply Core's default (0.10 coins
    /// per 1,000 bytes): a payment that forgot its change output, giving
    /// the rest of its coin to the miner, is refused (`max-fee-exceeded`,
    /// -25) until the caller lifts the cap with 0. (An ordinary payment
    /// passes under it: the test above.)
    #[tokio::test]
    async fn an_absurd_fee_is_refused_by_default() {
        use luminex_ledger::testkit::{lock_of, sign_all};
        let node = luminex_service::testkit::memory_node();
        let mut tx = luminex_service::testkit::dev_payment(&node, 2);
        // Drop the change: almost the whole coin becomes the fee.
        tx.outputs.truncate(1);
        let k0 = node.spec.dev_key(0).unwrap();
        let spent = node
            .chain
            .coin(&tx.inputs[0])
            .unwrap()
            .map(|c| c.output)
            .unwrap();
        assert_eq!(spent.lock, lock_of(&k0));
        sign_all(&node.spec, &mut tx, &k0, &[spent]);
        let raw = hex::encode(tx.encode());
        let m = module(RpcContext::new(node.clone(), None));
        let tested: Value = m
            .call("testmempoolaccept", params(json!([[raw]])))
            .await
            .unwrap();
        assert_eq!(tested[0]["reject-reason"], "max-fee-exceeded", "{tested}");
        let e = m
            .call::<_, Value>("sendrawtransaction", params(json!([raw])))
            .await
            .unwrap_err();
        assert!(
            e.to_string().contains("(e.g. -maxtxfee, maxfeerate)"),
            "{e}"
        );
        assert!(node.mempool.read().is_empty());
        // A bad cap is refused before anything else.
        let e = m
            .call::<_, Value>("sendrawtransaction", params(json!([raw, "lots"])))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("Invalid amount"), "{e}");
        // Lifted with 0 (here as a string amount), it is sent.
        let txid: Value = m
            .call("sendrawtransaction", params(json!([raw, "0"])))
            .await
            .unwrap();
        assert_eq!(txid, json!(tx.txid().to_string()));
        // Sent again with the cap: the dry run finds it known, and the
        // answer is its txid, as for any resubmission.
        let again: Value = m
            .call("sendrawtransaction", params(json!([raw])))
            .await
            .unwrap();
        assert_eq!(again, txid);
    }

    /// As Bitcoin Core: a pool entry (`getmempoolentry`, `getrawmempool
    /// true`) says when it entered the pool (`time`, the node's clock in
    /// Unix seconds) and the tip's height then (`height`).
    #[tokio::test]
    async fn pool_entries_carry_their_time_and_height() {
        let node = luminex_service::testkit::memory_node();
        let tx = luminex_service::testkit::dev_payment(&node, 2);
        node.produce_block().unwrap();
        let before = node.clock.now_unix();
        let txid = node.submit(tx).unwrap().to_string();
        let after = node.clock.now_unix();
        let m = module(RpcContext::new(node.clone(), None));
        let e: Value = m
            .call("getmempoolentry", params(json!([txid])))
            .await
            .unwrap();
        let time = e["time"].as_u64().unwrap();
        assert!(before <= time && time <= after, "{e}");
        assert!(time > 0, "{e}");
        assert_eq!(e["height"], 1, "{e}");
        let all: Value = m
            .call("getrawmempool", params(json!([true])))
            .await
            .unwrap();
        assert_eq!(all[&txid]["time"], e["time"], "{all}");
        assert_eq!(all[&txid]["height"], 1, "{all}");
    }

    /// Amounts as Core's `ParseFixedPoint` reads them: plain, fractional
    /// and exponent forms to 8 decimals exactly; anything needing more,
    /// malformed, or too large is refused, never rounded.
    #[test]
    fn fee_rates_parse_as_fixed_point() {
        use super::parse_fixed8 as p;
        for (text, base) in [
            ("0", 0),
            ("0.1", 10_000_000),
            ("0.10000000", 10_000_000),
            (".5", 50_000_000),
            ("5.", 500_000_000),
            ("1e-3", 100_000),
            ("1E-8", 1),
            ("1.5e2", 15_000_000_000),
            ("0.00000001", 1),
            ("1e+2", 10_000_000_000),
        ] {
            assert_eq!(p(text), Some(base), "{text}");
        }
        for bad in [
            "",
            ".",
            "1e",
            "e5",
            "0.000000001",
            "1e-9",
            "12a",
            "1.2.3",
            "1e40",
            "1e999999999999",
        ] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    /// The cap is compared in whole base units, the allowance rounded up
    /// (Core's `fee > CFeeRate(max).GetFee(size)`): a fee exactly at the
    /// cap passes, one unit more does not — where the floating-point rate
    /// of 6,460,000 over 646 bytes reads 0.10000000000000002.
    #[test]
    fn a_fee_exactly_at_the_cap_passes() {
        use luminex_primitives::Amount;
        let max = super::DEFAULT_MAX_FEE_RATE;
        let fee = |n| Amount::from_base(n).unwrap();
        assert!(!super::exceeds(fee(6_460_000), 646, max));
        assert!(super::exceeds(fee(6_460_001), 646, max));
        // Shown exactly: 0.10000000, where a float rate read 0.10000000000000002.
        assert_eq!(super::fee_rate(fee(6_460_000), 646), 10_000_000);
        // 333 bytes at 0.10: 3,330,000; rounded up where it does not divide.
        assert!(!super::exceeds(fee(3_330_000), 333, max));
        assert!(!super::exceeds(fee(34), 333, 100));
        assert!(super::exceeds(fee(35), 333, 100));
    }
}
