//! The node and its peers: `getpeerinfo`, `getconnectioncount`, `uptime`
//! and `stop`, in Bitcoin Core's shapes (`getnetworkinfo` is with the chain's
//! state in [`super::chain`]).

use jsonrpsee::RpcModule;
use serde_json::{json, Value};

use super::{codes, err, reg, RpcContext};

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
    reg(m, "getconnectioncount", &[], |c, _| {
        Ok(json!(c.node.net.get().map_or(0, |n| n.info().peers.len())))
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
