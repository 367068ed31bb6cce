//! The node and its peers: `getpeerinfo`, `getconnectioncount`, `uptime`
//! and `stop`, in Bitcoin Core's shapes (`getnetworkinfo` is with the chain's
//! state in [`super::chain`]).

use jsonrpsee::RpcModule;
use serde_json::{json, Value};

use super::{codes, err, reg, RpcContext};

/// `getmemoryinfo`'s `stats`: the locked pool's figures, all 0.
fn memory_stats() -> Value {
    json!({ "locked": {
        "used": 0, "free": 0, "total": 0, "locked": 0, "chunks_used": 0, "chunks_free": 0,
    } })
}

/// Registers the network methods.
pub(super) fn register(m: &mut RpcModule<RpcContext>) {
    reg(m, "getpeerinfo", &[], |c, _| {
        let peers = c.node.net.get().map(|n| n.info().peers).unwrap_or_default();
        Ok(json!(peers
            .iter()
            .enumerate()
            .map(|(id, p)| json!({
                // Core's ids are per connection; the libp2p peer id is the
                // stable name of a peer here.
                "id": id,
                "peer_id": p.peer_id,
                "addr": p.address,
                "inbound": p.direction == "inbound",
                "connection_type": if p.direction == "inbound" { "inbound" } else { "outbound-full-relay" },
                "pingtime": p.rtt_ms.map(|ms| ms / 1000.0),
                "subver": p.agent.clone().unwrap_or_default(),
                "startingheight": p.height.map_or(-1, |h| h as i64),
                "synced_headers": p.headers_height.map_or(-1, |h| h as i64),
                "score": p.score,
            }))
            .collect::<Vec<Value>>()))
    });
    // As Bitcoin Core's: each banned peer (by its libp2p id; bans here are
    // of identities, not address ranges) with the ban's times in Unix
    // seconds.
    reg(m, "listbanned", &[], |c, _| {
        let bans = c.node.net.get().map(|n| n.info().bans).unwrap_or_default();
        let now = c.node.clock.now_unix();
        Ok(json!(bans
            .iter()
            .map(|b| json!({
                "address": b.peer_id,
                "ban_created": b.created,
                "banned_until": b.until,
                "ban_duration": b.until - b.created,
                "time_remaining": b.until.saturating_sub(now),
            }))
            .collect::<Vec<Value>>()))
    });
    // As Bitcoin Core's: the bytes every connection carried since the
    // network started (0 without one), and the clock in milliseconds.
    reg(m, "getnettotals", &[], |c, _| {
        let (recv, sent) = c.node.net.get().map_or((0, 0), |n| {
            let i = n.info();
            (i.bytes_recv, i.bytes_sent)
        });
        Ok(json!({
            "totalbytesrecv": recv,
            "totalbytessent": sent,
            "timemillis": c.node.clock.now_millis(),
        }))
    });
    // Core's shape; this server keeps no list of calls in progress or a
    // log file of its own (logs go to stderr): the call itself, and "".
    reg(m, "getrpcinfo", &[], |_, _| {
        Ok(json!({
            "active_commands": [{ "method": "getrpcinfo", "duration": 0 }],
            "logpath": "",
        }))
    });
    reg(m, "getconnectioncount", &[], |c, _| {
        Ok(json!(c.node.net.get().map_or(0, |n| n.info().peers.len())))
    });
    // Bitcoin Core's shape for the Prometheus exporters that read it. Core
    // reports its locked (mlock'd) pool for keys; this node locks no memory,
    // so every figure is an honest 0.
    reg(m, "getmemoryinfo", &["mode"], |_, p| match p.first() {
        None | Some(Value::Null) => Ok(memory_stats()),
        Some(Value::String(m)) if m == "stats" => Ok(memory_stats()),
        Some(Value::String(m)) if m == "mallocinfo" => Err(err(
            codes::INVALID_PARAMETER,
            "mallocinfo mode not available",
        )),
        Some(Value::String(m)) => Err(err(codes::INVALID_PARAMETER, format!("unknown mode {m}"))),
        Some(v) => Err(err(
            codes::TYPE,
            format!("mode: JSON value {v} is not of expected type string"),
        )),
    });
    reg(m, "uptime", &[], |c, _| {
        Ok(json!(c.node.started.elapsed().as_secs()))
    });
    // As `bitcoin-cli stop`: the node shuts down as on SIGTERM, after this
    // answer (open requests finish before the listener closes).
    reg(m, "stop", &[], |c, _| match &c.stop {
        Some(stop) => {
            tracing::info!("stop requested over JSON-RPC");
            stop.notify_one();
            Ok(json!("Luminex server stopping"))
        }
        None => Err(err(codes::MISC, "this server cannot stop the node")),
    });
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::rpc::{module, params_of, RpcContext};

    /// `getnettotals` without a network: no bytes, and the node's clock.
    #[tokio::test]
    async fn getnettotals_without_a_network() {
        let node = luminex_service::testkit::memory_node();
        let m = module(RpcContext::new(node.clone(), None));
        let before = node.clock.now_millis();
        let v: Value = m.call("getnettotals", params_of(json!([]))).await.unwrap();
        assert_eq!(v["totalbytesrecv"], 0, "{v}");
        assert_eq!(v["totalbytessent"], 0, "{v}");
        let t = v["timemillis"].as_u64().unwrap();
        assert!(before <= t && t <= node.clock.now_millis(), "{v}");
    }

    /// `getmemoryinfo` has Bitcoin Core's shape, every figure 0 (no memory
    /// is locked); `mallocinfo` and unknown modes are -8.
    #[tokio::test]
    async fn getmemoryinfo_in_cores_shape() {
        let m = module(RpcContext::new(
            luminex_service::testkit::memory_node(),
            None,
        ));
        let zero = json!({ "locked": {
            "used": 0, "free": 0, "total": 0, "locked": 0, "chunks_used": 0, "chunks_free": 0,
        } });
        for p in [json!([]), json!(["stats"])] {
            let v: Value = m.call("getmemoryinfo", params_of(p)).await.unwrap();
            assert_eq!(v, zero);
        }
        for p in [json!(["mallocinfo"]), json!(["other"])] {
            let e = m
                .call::<_, Value>("getmemoryinfo", params_of(p))
                .await
                .unwrap_err();
            assert!(e.to_string().contains("-8"), "{e}");
        }
    }
}
