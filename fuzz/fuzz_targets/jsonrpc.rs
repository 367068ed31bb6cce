//! JSON-RPC requests (single calls and batches) through the node's RPC
//! router: the transport's batch bound and JSON-RPC 1.0 handling, then each
//! method's parameter parsing, over an in-memory `dev` node.
#![no_main]
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{header, Request};
use libfuzzer_sys::fuzz_target;
use luminex_node::rpc::{module, router, RpcAuth, RpcContext, RpcLimits, RpcServer};
use tower::ServiceExt;

/// `fuzz:fuzz` in Basic authentication.
const AUTH: &str = "Basic ZnV6ejpmdXp6";

struct Harness {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let node = luminex_service::testkit::memory_node();
        let limits = RpcLimits {
            max_batch: 16,
            ..RpcLimits::for_blocks(node.spec.max_block_bytes)
        };
        // No miner address: `getblocktemplate` answers at once rather than
        // long-polling for a minute.
        let server = RpcServer {
            module: module(RpcContext::new(node, None)),
            auth: RpcAuth {
                credentials: vec!["fuzz:fuzz".into()],
            },
            limits,
        };
        Harness {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            router: router(Arc::new(server)),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    // Mining a block per call would grow the chain without bound and make
    // runs depend on their history; the other methods leave it as it is
    // (a fuzzer cannot sign a transaction or a block that would be taken).
    if data.windows(8).any(|w| w.eq_ignore_ascii_case(b"generate")) {
        return;
    }
    let h = harness();
    let req = Request::post("/")
        .header(header::AUTHORIZATION, AUTH)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(data.to_vec()))
        .expect("a request");
    // A panic anywhere (a blocking method's thread too) aborts the run.
    let _ = h.runtime.block_on(h.router.clone().oneshot(req));
});
