//! Mining (proof-of-work chains): block templates (BIP 22/23), block
//! submission, `generatetoaddress` and the mining figures.

use std::sync::Arc;
use std::time::Duration;

use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;
use luminex_consensus::pow::{difficulty, target_from_compact, u256_to_f64 as to_f64};
use luminex_ledger::U256;
use luminex_primitives::commitment::committed_witness;
use luminex_primitives::{Block, Decode, Encode, Hash, Lock, MerkleCommitment};
use luminex_storage::{AcceptStatus, ChainError};
use serde_json::{json, Value};

use super::{codes, err, positional, reg, RpcContext, RpcResult};
use luminex_service::Node;

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
    let bitcoin = node.spec.merkle_commitment == MerkleCommitment::Bitcoin;
    let client_rules: Vec<&str> = request
        .get("rules")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if bitcoin && !client_rules.contains(&"segwit") {
        // As Bitcoin Core: a miner that does not know the rule would hash
        // each transaction's full data for the Merkle tree instead of
        // taking its `txid`.
        return Err(err(
            codes::INVALID_PARAMETER,
            "getblocktemplate must be called with the segwit rule set (call with {\"rules\": [\"segwit\"]})",
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
    let extranonce = ctx
        .template_extranonce
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_le_bytes();
    let (block, fees) =
        tokio::task::spawn_blocking(move || n.block_template_with(lock, &extranonce))
            .await
            .map_err(|e| err(codes::MISC, e.to_string()))?
            .map_err(|e| err(codes::MISC, e.to_string()))?;
    let tip = node.chain.tip();
    let header = *block
        .header
        .as_pow()
        .ok_or_else(|| err(codes::MISC, "getblocktemplate is for proof-of-work chains"))?;
    let min_time = {
        let parent = node.chain.tip_parent();
        let rules = node.chain.rules();
        node.chain.with_context(|h| rules.min_time(&parent, h))
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
    let target = target_from_compact(header.bits).unwrap_or(U256::ZERO);
    let mut template = json!({
        "capabilities": ["longpoll", "coinbasetxn"],
        "version": header.version,
        "rules": if bitcoin { json!(["segwit"]) } else { json!([]) },
        "vbavailable": {},
        "vbrequired": 0,
        "previousblockhash": tip.hash.to_string(),
        "transactions": transactions,
        "coinbaseaux": {},
        "coinbasevalue": cb.output_total().map(|a| a.base()).unwrap_or(0),
        "coinbasetxn": { "data": hex::encode(cb.encode()), "txid": ids[0].to_string(), "hash": cb.wtxid().to_string(), "depends": [], "fee": 0, "required": true },
        "fees": fees.base(),
        "merkleroot": header.merkle_root.to_string(),
        "longpollid": longpollid(node),
        "target": hex::encode(target.to_be_bytes::<32>()),
        "mintime": min_time,
        "mutable": ["time", "transactions", "prevblock"],
        "noncerange": "00000000ffffffff",
        "sigoplimit": 80000,
        "sizelimit": node.spec.max_block_bytes,
        "weightlimit": node.spec.max_block_bytes * 4,
        "curtime": header.time,
        "bits": format!("{:08x}", header.bits),
        "height": tip.height + 1,
    });
    if let Some(c) = bitcoin.then(|| committed_witness(cb)).flatten() {
        // BIP 141's commitment output script (OP_RETURN, push 36, the
        // `aa21a9ed` header, the 32 bytes). Here the 32 bytes sit at the
        // start of the coinbase's data instead; tools that show or check
        // the commitment read them from this field.
        template["default_witness_commitment"] = json!(format!("6a24aa21a9ed{}", hex::encode(c.0)));
    }
    Ok(template)
}

fn submit_block(node: &Node, params: Vec<Value>) -> RpcResult {
    let hex_data = super::req_str(&params, 0, "hexdata")?;
    let block = hex::decode(hex_data.trim())
        .ok()
        .and_then(|b| Block::decode_all(&b).ok())
        .ok_or_else(|| err(codes::DESERIALIZATION, "Block decode failed"))?;
    let known = |h: &Hash| node.chain.header(h).ok().flatten();
    if known(&block.hash()).is_some() {
        // Invalid (it, or a block it builds on, failed or was invalidated)
        // when the index, which marks descendants too, knows no valid
        // height for it.
        return Ok(json!(match node.chain.known_height(&block.hash()) {
            None => "duplicate-invalid",
            Some(_) => "duplicate",
        }));
    }
    if known(&block.header.prev_hash()).is_none() {
        return Ok(json!("bad-prevblk"));
    }
    Ok(match node.accept_shared(&Arc::new(block)) {
        Ok(a) => match a.status {
            AcceptStatus::MainChain => Value::Null,
            AcceptStatus::Duplicate => json!("duplicate"),
            AcceptStatus::SideBranch | AcceptStatus::Orphan => json!("inconclusive"),
        },
        Err(ChainError::Invalid(e)) => json!(e.code()),
        // It builds on a block the operator invalidated.
        Err(ChainError::Invalidated(_)) => json!("bad-prevblk"),
        Err(ChainError::ReorgTooDeep { .. }) => json!("inconclusive"),
        Err(e) => return Err(err(codes::MISC, e.to_string())),
    })
}

/// Builds, solves (on proof-of-work chains) and submits one block paying
/// `lock`, as Bitcoin Core's `generatetoaddress`. Each block's coinbase
/// carries the next template extranonce, so a block built again on the
/// same parent in the same second (after `invalidateblock` of the tip) is
/// a new block, not the one invalidated.
fn generate_one(c: &RpcContext, lock: Lock) -> Result<Hash, ErrorObjectOwned> {
    let node = &c.node;
    let extranonce = c
        .template_extranonce
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        .to_le_bytes();
    let (mut block, _) = node
        .block_template_with(lock, &extranonce)
        .map_err(|e| err(codes::MISC, e.to_string()))?;
    if node.spec.pow.is_some() {
        let header = block.header.as_pow_mut().ok_or_else(|| {
            err(
                codes::MISC,
                "a proof-of-work chain needs a proof-of-work header",
            )
        })?;
        let target =
            target_from_compact(header.bits).map_err(|e| err(codes::MISC, e.to_string()))?;
        let abort = std::sync::atomic::AtomicBool::new(false);
        loop {
            if let Some(nonce) =
                luminex_consensus::mining::grind(header, target, 0, u32::MAX, &abort)
            {
                header.nonce = nonce;
                break;
            }
            header.time += 1;
        }
    }
    let hash = block.hash();
    match node.accept_shared(&Arc::new(block)) {
        Ok(_) => Ok(hash),
        Err(e) => Err(err(codes::VERIFY, e.to_string())),
    }
}

/// An optional integer parameter at `i` that may be negative, `default`
/// when absent or null; another type or a fraction is a type error (-3).
pub(super) fn opt_i64(
    p: &[Value],
    i: usize,
    name: &str,
    default: i64,
) -> Result<i64, ErrorObjectOwned> {
    match p.get(i) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v.as_i64().ok_or_else(|| {
            err(
                codes::TYPE,
                format!("{name}: JSON value {v} is not of expected type integer"),
            )
        }),
    }
}

/// `getnetworkhashps`: Bitcoin Core's estimate of the network's hashes
/// per second at the main-chain block at `height` (the tip when negative):
/// the work of the last `nblocks` blocks over the span of their times
/// (the earliest to the latest), or, for `nblocks` of 0 or less, of the
/// blocks since the last difficulty change. 0 when the span is empty, and
/// on chains without proof of work.
fn network_hashps(node: &Node, nblocks: i64, height: i64) -> RpcResult {
    let Some(pow) = &node.spec.pow else {
        return Ok(json!(0));
    };
    let tip = node.chain.tip().height;
    let at = u64::try_from(height).map_or(tip, |h| h.min(tip));
    let lookup = match u64::try_from(nblocks) {
        Ok(n) if n > 0 => n,
        _ => at % pow.retarget_window.max(1) + 1,
    }
    .min(at);
    if lookup == 0 {
        return Ok(json!(0));
    }
    let record = |h: u64| {
        node.chain
            .hash_at(h)
            .ok()
            .flatten()
            .and_then(|hash| node.chain.header(&hash).ok().flatten())
            .ok_or_else(|| err(codes::MISC, format!("no main-chain block at height {h}")))
    };
    let last = record(at)?;
    let (mut min, mut max) = (last.header.time(), last.header.time());
    let mut first = last;
    for h in (at - lookup..at).rev() {
        first = record(h)?;
        min = min.min(first.header.time());
        max = max.max(first.header.time());
    }
    if min == max {
        return Ok(json!(0));
    }
    let work = to_f64(last.chain_work.saturating_sub(first.chain_work));
    Ok(json!(work / (max - min) as f64))
}

/// Registers the mining methods.
pub(super) fn register(m: &mut RpcModule<RpcContext>) {
    reg(m, "generatetoaddress", &["nblocks", "address"], |c, p| {
        match c.node.spec.consensus {
            luminex_ledger::spec::ConsensusKind::Bft => {
                return Err(err(
                    codes::MISC,
                    "generatetoaddress is not available on a BFT chain: its validators propose and finalize the blocks",
                ))
            }
            luminex_ledger::spec::ConsensusKind::Dev | luminex_ledger::spec::ConsensusKind::Pow => {}
        }
        // 0 is an empty answer, as Bitcoin Core's.
        let n = Some(super::req_u64(&p, 0, "nblocks")?)
            .filter(|n| *n <= 10_000)
            .ok_or_else(|| err(codes::INVALID_PARAMETER, "nblocks must be 0..=10000"))?;
        let addr = super::req_str(&p, 1, "address")?;
        let lock = c
            .node
            .spec
            .parse_address(addr)
            .map_err(|e| err(codes::NOT_FOUND, format!("Invalid address: {e}")))?
            .lock;
        if let Some(scheme) = lock.scheme().filter(|s| !c.node.spec.allows(*s)) {
            return Err(err(
                codes::NOT_FOUND,
                format!(
                    "Invalid address: {} keys are not allowed on {}",
                    scheme.name(),
                    c.node.spec.name
                ),
            ));
        }
        let hashes = (0..n)
            .map(|_| generate_one(c, lock).map(|h| json!(h.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(json!(hashes))
    });
    reg(m, "getdifficulty", &[], |c, _| {
        Ok(json!(c
            .node
            .chain
            .tip()
            .header
            .as_pow()
            .map_or(0.0, |h| difficulty(h.bits))))
    });
    reg(m, "getmininginfo", &[], |c, _| {
        let tip = c.node.chain.tip();
        // As Core: `getnetworkhashps` with its defaults (the last 120
        // blocks at the tip; 0 without proof of work).
        let hashps = network_hashps(&c.node, 120, -1)?;
        Ok(json!({
            "blocks": tip.height,
            "difficulty": tip.header.as_pow().map_or(0.0, |h| difficulty(h.bits)),
            "networkhashps": hashps,
            "pooledtx": c.node.mempool.read().len(),
            "chain": c.node.spec.name,
            "warnings": "",
        }))
    });
    reg(m, "getnetworkhashps", &["nblocks", "height"], |c, p| {
        let nblocks = opt_i64(&p, 0, "nblocks", 120)?;
        let height = opt_i64(&p, 1, "height", -1)?;
        network_hashps(&c.node, nblocks, height)
    });
    reg(m, "submitblock", &["hexdata", "dummy"], |c, p| {
        submit_block(&c.node, p)
    });
    m.register_async_method("getblocktemplate", |p, ctx, _| async move {
        block_template(ctx, positional(&p, &["template_request"])?).await
    })
    .expect("method names are unique");
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::rpc::{module, params_of, RpcContext};

    /// `getnetworkhashps` is Core's estimate: the work of the window's
    /// blocks over the span of their times, for the last `nblocks`, or
    /// since the last difficulty change for 0 or less, at a height or the
    /// tip; 0 on a chain without proof of work.
    #[tokio::test]
    async fn getnetworkhashps_over_a_window() {
        let dev = luminex_service::testkit::memory_node();
        dev.produce_block().unwrap();
        let m = module(RpcContext::new(dev, None));
        let v: Value = m
            .call("getnetworkhashps", params_of(json!([])))
            .await
            .unwrap();
        assert_eq!(v, json!(0));
        // `getmininginfo` says the same (it once had its own figure).
        let info: Value = m.call("getmininginfo", params_of(json!([]))).await.unwrap();
        assert_eq!(info["networkhashps"], v, "{info}");

        let spec = luminex_ledger::ChainSpec::preset("qbtc").unwrap();
        let window = spec.pow.as_ref().unwrap().retarget_window;
        let node = luminex_service::testkit::memory_node_for(spec);
        let key = node.spec.dev_key(0);
        let lock = match key {
            Some(k) => k.public_key().lock(),
            None => luminex_primitives::Lock::Key {
                scheme: node.spec.default_scheme,
                key_hash: luminex_primitives::Hash([7; 32]),
            },
        };
        let address = node.spec.address(lock).to_string();
        let m = module(RpcContext::new(node.clone(), None));
        // Blocks a second apart at least, so the window has a span.
        for _ in 0..4 {
            let _: Value = m
                .call("generatetoaddress", params_of(json!([1, address])))
                .await
                .unwrap();
            std::thread::sleep(std::time::Duration::from_millis(1100));
        }
        let rec = |h: u64| {
            let hash = node.chain.hash_at(h).unwrap().unwrap();
            node.chain.header(&hash).unwrap().unwrap()
        };
        let expect = |from: u64, to: u64| {
            let times: Vec<u64> = (from..=to).map(|h| rec(h).header.time()).collect();
            let span = times.iter().max().unwrap() - times.iter().min().unwrap();
            let work = rec(to).chain_work - rec(from).chain_work;
            luminex_consensus::pow::u256_to_f64(work) / span as f64
        };
        let hashps = |p: Value| {
            let m = &m;
            async move {
                m.call::<_, Value>("getnetworkhashps", params_of(p))
                    .await
                    .unwrap()
            }
        };
        assert_eq!(hashps(json!([2])).await.as_f64(), Some(expect(2, 4)));
        assert_eq!(hashps(json!([2, 3])).await.as_f64(), Some(expect(1, 3)));
        // The default 120 reaches back to the genesis here.
        assert_eq!(hashps(json!([])).await.as_f64(), Some(expect(0, 4)));
        // Since the last difficulty change: the tip's height modulo the
        // window, plus one, blocks back (here all of them).
        assert!(window > 4);
        assert_eq!(hashps(json!([0])).await.as_f64(), Some(expect(0, 4)));
        assert_eq!(hashps(json!([-1, 3])).await.as_f64(), Some(expect(0, 3)));
        let e = m
            .call::<_, Value>("getnetworkhashps", params_of(json!([1.5])))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("-3"), "{e}");
    }

    /// `submitblock` answers with Bitcoin Core's precise reasons: a block
    /// beside the tip (on its parent) whose coinbase claims another height
    /// is `bad-cb-height`, not a stored side branch (`inconclusive`);
    /// a child before its parent is `bad-txns-inputs-missingorspent`, and
    /// one transaction twice `bad-txns-duplicate`, not a bare `bad-txns`.
    /// None of them enters the chain, and the valid block still does.
    #[tokio::test]
    async fn submitted_blocks_get_cores_precise_reasons() {
        use luminex_ledger::testkit::{lock_of, transfer};
        use luminex_primitives::{Amount, Block, Encode, OutPoint, TxKind, TxOut};

        let node = luminex_service::testkit::memory_node();
        let m = module(RpcContext::new(node.clone(), None));
        let reseal = |b: &mut Block| {
            let txids: Vec<_> = b.txs.iter().map(|t| t.txid()).collect();
            let wtxids: Vec<_> = b.txs.iter().map(|t| t.wtxid()).collect();
            let root = node.spec.merkle_root_of_ids(&b.txs[0], &txids, &wtxids);
            b.header.set_merkle_root(root);
        };
        let submit = |b: Block| {
            let m = &m;
            async move {
                m.call::<_, Value>("submitblock", params_of(json!([hex::encode(b.encode())])))
                    .await
                    .unwrap()
            }
        };
        node.produce_block().unwrap();
        // A block on the tip's parent, its coinbase claiming height 2.
        let tip = node.chain.disconnect_tip().unwrap();
        let (mut beside, _) = node.block_template(node.reward_lock).unwrap();
        node.accept_block(&tip).unwrap();
        assert_eq!(node.chain.tip().hash, tip.hash());
        beside.txs[0].kind = TxKind::Coinbase { height: 2 };
        reseal(&mut beside);
        assert_eq!(submit(beside.clone()).await, "bad-cb-height");
        // Its header is kept, marked invalid (as Core's BLOCK_FAILED_VALID):
        // offered again, it is known invalid at once.
        let record = node.chain.header(&beside.hash()).unwrap().unwrap();
        assert!(record.invalid);
        assert_eq!(submit(beside.clone()).await, "duplicate-invalid");
        // A payment and a child spending it, in a block at height 2.
        let parent = luminex_service::testkit::dev_payment(&node, 5);
        let k1 = node.spec.dev_key(1).unwrap();
        let coin = luminex_ledger::Coin {
            output: parent.outputs[0],
            height: 2,
            is_coinbase: false,
        };
        let child = transfer(
            &node.spec,
            &k1,
            &[(
                OutPoint {
                    txid: parent.txid(),
                    vout: 0,
                },
                coin,
            )],
            vec![TxOut {
                amount: Amount::from_coins(4).unwrap(),
                lock: lock_of(&k1),
            }],
        );
        node.submit(parent.clone()).unwrap();
        node.submit(child.clone()).unwrap();
        let (block, _) = node.block_template(node.reward_lock).unwrap();
        assert_eq!(block.txs[1..], [parent.clone(), child.clone()]);
        let mut swapped = block.clone();
        swapped.txs.swap(1, 2);
        reseal(&mut swapped);
        assert_eq!(submit(swapped).await, "bad-txns-inputs-missingorspent");
        let mut twice = block.clone();
        twice.txs[2] = parent.clone();
        reseal(&mut twice);
        assert_eq!(submit(twice).await, "bad-txns-duplicate");
        assert_eq!(node.chain.tip().height, 1);
        assert_eq!(submit(block).await, Value::Null);
        assert_eq!(node.chain.tip().height, 2);
    }

    /// `generatetoaddress 0 address` builds nothing and answers `[]`, as
    /// Bitcoin Core does; the address is still checked, and past 10,000
    /// is -8.
    #[tokio::test]
    async fn generatetoaddress_of_no_blocks_is_empty() {
        let node = luminex_service::testkit::memory_node();
        let key = node.spec.dev_key(0).unwrap();
        let address = node.spec.address(key.public_key().lock()).to_string();
        let m = module(RpcContext::new(node.clone(), None));
        let none: Value = m
            .call("generatetoaddress", params_of(json!([0, address])))
            .await
            .unwrap();
        assert_eq!(none, json!([]));
        assert_eq!(node.chain.tip().height, 0);
        let e = m
            .call::<_, Value>("generatetoaddress", params_of(json!([0, "nonsense"])))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("-5"), "{e}");
        let e = m
            .call::<_, Value>("generatetoaddress", params_of(json!([10_001, address])))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("-8"), "{e}");
    }

    /// `generatetoaddress` refuses an address of a scheme the chain does
    /// not allow as an invalid address (-5) before building a block, as
    /// Bitcoin Core refuses an invalid address.
    #[tokio::test]
    async fn generatetoaddress_refuses_an_address_the_chain_cannot_pay() {
        let mut spec = luminex_ledger::ChainSpec::preset("dev").unwrap();
        let own = spec.dev_key(0).unwrap().public_key().scheme;
        spec.allowed_schemes = vec![own];
        spec.default_scheme = own;
        let node = luminex_service::testkit::memory_node_for(spec);
        let other = [
            luminex_primitives::SchemeId::MlDsa44,
            luminex_primitives::SchemeId::MlDsa65,
            luminex_primitives::SchemeId::MlDsa87,
        ]
        .into_iter()
        .find(|s| *s != own)
        .unwrap();
        let lock = luminex_primitives::Lock::Key {
            scheme: other,
            key_hash: luminex_primitives::Hash([5; 32]),
        };
        let address = node.spec.address(lock).to_string();
        let m = module(RpcContext::new(node.clone(), None));
        let e = m
            .call::<_, Value>("generatetoaddress", params_of(json!([1, address])))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("-5"), "{e}");
        assert!(e.to_string().contains("not allowed"), "{e}");
        assert_eq!(node.chain.tip().height, 0, "no block built");
    }
}
