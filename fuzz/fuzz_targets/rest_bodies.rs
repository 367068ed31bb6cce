//! REST API requests: every JSON body the API deserializes and every query
//! or path parameter it parses by hand, through the API's router (its
//! guards, extractors and handlers' checks) over an in-memory `dev` node
//! with staking. The first byte picks the route; the rest is the body, the
//! query string or the path parameter.
#![no_main]
use std::net::SocketAddr;
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{header, Request};
use libfuzzer_sys::fuzz_target;
use luminex_api::guard::AdminKeys;
use luminex_api::ApiOptions;
use luminex_ledger::staking::StakingParams;
use luminex_ledger::ChainSpec;
use luminex_primitives::Amount;
use tower::ServiceExt;

/// The admin key; its SHA-256 is configured below.
const ADMIN_KEY: &str = "fuzz-admin-key";
const ADMIN_KEY_SHA256: &str = "6712f9c9ac960f9c86c92a7be5a3ac97dfc1d9d3c25d16cd7955a68088401848";

/// Where the rest of the input goes.
#[derive(Clone, Copy)]
enum Part {
    /// The body of a POST with this content type.
    Body(&'static str),
    /// The query string of a GET.
    Query,
    /// A path parameter of a GET (`{}` in the path).
    Path,
}

/// Routes that read what a client sends. `{addr}` is a valid address.
const ROUTES: &[(&str, Part)] = &[
    ("/transactions/broadcast", Part::Body("application/json")),
    (
        "/transactions/broadcast",
        Part::Body("application/octet-stream"),
    ),
    ("/transactions/create", Part::Body("application/json")),
    ("/pst/inspect", Part::Body("application/json")),
    ("/pst/combine", Part::Body("application/json")),
    ("/pst/finalize", Part::Body("application/json")),
    ("/pst/broadcast", Part::Body("application/json")),
    ("/admin/nodes/add", Part::Body("application/json")),
    ("/admin/nodes/remove", Part::Body("application/json")),
    ("/blocks", Part::Query),
    ("/search", Part::Query),
    ("/transactions/estimate-fee", Part::Query),
    ("/staking/rewards", Part::Query),
    ("/staking/unbonding", Part::Query),
    ("/address/{addr}/utxos", Part::Query),
    ("/address/{addr}/transactions", Part::Query),
    ("/blocks/{}", Part::Path),
    ("/transactions/{}", Part::Path),
    ("/address/{}/balance", Part::Path),
    ("/staking/validators/{}", Part::Path),
    ("/staking/validators/{}/delegations", Part::Path),
    ("/staking/delegations/{}", Part::Path),
    ("/staking/accounts/{}", Part::Path),
];

struct Harness {
    runtime: tokio::runtime::Runtime,
    router: axum::Router,
    address: String,
}

fn harness() -> &'static Harness {
    static H: OnceLock<Harness> = OnceLock::new();
    H.get_or_init(|| {
        let mut spec = ChainSpec::preset("dev").expect("the dev preset");
        if spec.staking.is_none() {
            spec.staking = Some(StakingParams::new(
                Amount::from_base(1_000_000).expect("in range"),
                10,
            ));
        }
        let node = luminex_service::testkit::memory_node_for(spec);
        let address = node.spec.address(node.reward_lock).to_string();
        let opts = ApiOptions {
            admin_keys: AdminKeys::from_hex(&[ADMIN_KEY_SHA256.to_string()]).expect("a key hash"),
            ..ApiOptions::default()
        };
        Harness {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            router: luminex_api::router_with(node, opts),
            address,
        }
    })
}

/// Percent-encodes all but unreserved characters (and, in a query, `=`
/// and `&`, so the fuzzer can form several parameters).
fn encode(bytes: &[u8], query: bool) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (query && matches!(b, b'=' | b'&'))
        {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let h = harness();
    let (path, part) = ROUTES[usize::from(pick) % ROUTES.len()];
    let path = path.replace("{addr}", &h.address);
    let builder = Request::builder()
        .header("x-api-key", ADMIN_KEY)
        // As the server adds it; loopback clients skip the rate limits.
        .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40_000))));
    let req = match part {
        Part::Body(content_type) => builder
            .method("POST")
            .uri(path)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(rest.to_vec())),
        Part::Query => builder
            .method("GET")
            .uri(format!("{path}?{}", encode(rest, true)))
            .body(Body::empty()),
        Part::Path => builder
            .method("GET")
            .uri(path.replace("{}", &encode(rest, false)))
            .body(Body::empty()),
    }
    .expect("an encoded request is valid");
    // A panic anywhere (a blocking handler's thread too) aborts the run.
    let _ = h.runtime.block_on(h.router.clone().oneshot(req));
});
