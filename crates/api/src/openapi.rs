//! The OpenAPI 3 document of the REST API: generated from the handlers'
//! annotations (utoipa), then completed with what depends on the chain the
//! node serves.
//!
//! The document is meant to be exact — what it calls valid the server
//! accepts, what it calls invalid the server refuses, and every status and
//! content type the server can send is declared — so that a property-based
//! tester (schemathesis, `deploy/test/schemathesis.sh`) finds nothing. Two
//! things a schema cannot say are written in descriptions instead:
//!
//! - an address's bech32m checksum and payload: the pattern gives the shape
//!   (this chain's prefix, the data alphabet and the two lengths, key and
//!   multisig); an address of that shape with a bad checksum or payload is
//!   a 400 `bad-address`;
//! - whether hex is a decodable transaction or container: a 400 `malformed`
//!   or `bad-pst`, and a decodable but invalid one a 422.
//!
//! Heights are int64 in the document and the server refuses larger ones, so
//! that the numbers fit every JSON client.

use serde_json::Value;
use utoipa::openapi::{OpenApi, RefOr, Response, ResponseBuilder};
use utoipa::Modify;

use crate::types::*;
use luminex_primitives::Amount;
use luminex_service::Node;

/// The document as generated from the annotations, before the chain's
/// details are filled in ([`document`]).
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Luminex node API",
        description = "REST API of a Luminex node. Errors are RFC 9457 problem documents; see docs/api.md."
    ),
    modifiers(&CommonResponses),
    paths(
        crate::submit::broadcast,
        crate::submit::broadcast_batch,
        crate::transaction,
        crate::block,
        crate::balance,
        crate::utxos,
        crate::history,
        crate::health::block_sync,
        crate::health::node_status,
        crate::health::live,
        crate::health::metrics,
        crate::health::mining_workers,
        openapi_json,
        docs_page,
        docs_script,
        docs_style,
        crate::explorer::blocks,
        crate::explorer::search,
        crate::explorer::stats,
        crate::explorer::estimate_fee,
        crate::explorer::ready,
        crate::create_tx::create,
        crate::admin::mempool,
        crate::admin::debug_mempool,
        crate::admin::diagnostics,
        crate::admin::genesis,
        crate::admin::restart,
        crate::ws::handler,
        crate::peers::network_latency,
        crate::peers::debug_peers,
        crate::peers::nodes_add,
        crate::peers::nodes_remove,
        crate::pst::inspect,
        crate::pst::combine,
        crate::pst::finalize,
        crate::pst::broadcast,
        crate::consensus::validators,
        crate::consensus::state,
        crate::staking::info,
        crate::staking::validators,
        crate::staking::validator,
        crate::staking::validator_delegations,
        crate::staking::delegations_of,
        crate::staking::unbonding,
        crate::staking::nodes,
        crate::staking::account,
        crate::staking::epoch,
        crate::rewards::rewards,
    ),
    components(schemas(
        BroadcastRequest,
        BroadcastResponse,
        BatchBroadcastRequest,
        BatchBroadcastResponse,
        BatchResult,
        Problem,
        InputJson,
        OutputJson,
        LedgerPayoutJson,
        MultisigJson,
        AuthorityJson,
        TxJson,
        BlockJson,
        BftHeaderJson,
        BalanceJson,
        UtxoJson,
        UtxosJson,
        HistoryEntryJson,
        HistoryJson,
        BlockSyncJson,
        NodeStatusJson,
        P2pStatusJson,
        LastCommitJson,
        WorkerJson,
        WorkersJson,
        BlockSummaryJson,
        BlocksJson,
        SearchJson,
        TpsJson,
        StatsJson,
        FeeEstimateJson,
        PlannedInputJson,
        CreatedTxJson,
        crate::create_tx::CreateRequest,
        crate::pst::PstRequest,
        crate::pst::PstCombineRequest,
        crate::pst::PstInputJson,
        crate::pst::PstOutputJson,
        crate::pst::PstJson,
        crate::pst::FinalizedJson,
        crate::staking::StakingInfoJson,
        crate::staking::ValidatorJson,
        crate::staking::ValidatorsJson,
        crate::staking::DelegationJson,
        crate::staking::DelegationsJson,
        crate::staking::UnbondingJson,
        crate::staking::UnbondingsJson,
        crate::staking::NodeJson,
        crate::staking::NodesJson,
        crate::staking::AccountJson,
        crate::consensus::SetMemberJson,
        crate::consensus::ScheduledSetJson,
        crate::consensus::PendingChangeJson,
        crate::consensus::ValidatorSetsJson,
        crate::consensus::VoterJson,
        crate::consensus::ConsensusStateJson,
        crate::consensus::LockJson,
        crate::staking::EpochJson,
        crate::rewards::RewardShareJson,
        crate::rewards::SignedWorkJson,
        crate::rewards::RewardsJson,
    ))
)]
pub struct ApiDoc;

/// `GET /openapi.json`: this API's OpenAPI 3 document, for this node's
/// chain.
#[utoipa::path(get, path = "/openapi.json", tag = "docs", responses((status = 200, description = "OpenAPI 3 document", body = serde_json::Value)))]
pub(crate) async fn openapi_json(
    axum::extract::State(node): axum::extract::State<std::sync::Arc<Node>>,
) -> axum::Json<Value> {
    axum::Json(document(&node))
}

/// The Content-Security-Policy of `/docs` and its script and style: all
/// from the node itself, no inline script or style, no frames, no forms.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
connect-src 'self'; img-src 'self'; form-action 'none'; frame-ancestors 'none'; \
base-uri 'none'";

/// A static asset of the docs page with its content type and the page's
/// policy.
fn docs_asset(content_type: &'static str, body: &'static str) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_SECURITY_POLICY, DOCS_CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// `GET /docs`: an interactive page over the OpenAPI document (no external
/// assets: it works offline). Its script and style are files of their own
/// (`/docs.js`, `/docs.css`), so its policy allows no inline code.
#[utoipa::path(get, path = "/docs", tag = "docs", responses((status = 200, description = "HTML page", body = String, content_type = "text/html")))]
pub(crate) async fn docs_page() -> axum::response::Response {
    docs_asset(
        "text/html; charset=utf-8",
        include_str!("../assets/docs.html"),
    )
}

/// `GET /docs.js`: the script of `/docs`.
#[utoipa::path(get, path = "/docs.js", tag = "docs", responses((status = 200, description = "The script of /docs", body = String, content_type = "text/javascript")))]
pub(crate) async fn docs_script() -> axum::response::Response {
    docs_asset(
        "text/javascript; charset=utf-8",
        include_str!("../assets/docs.js"),
    )
}

/// `GET /docs.css`: the style sheet of `/docs`.
#[utoipa::path(get, path = "/docs.css", tag = "docs", responses((status = 200, description = "The style sheet of /docs", body = String, content_type = "text/css")))]
pub(crate) async fn docs_style() -> axum::response::Response {
    docs_asset(
        "text/css; charset=utf-8",
        include_str!("../assets/docs.css"),
    )
}

/// Responses any route can give, from the layers in front of every
/// handler: the rate limit (429), the work queue (503) and the request
/// timeout (408). Routes that read the chain store also answer 500 when it
/// fails.
struct CommonResponses;

/// Routes whose handlers read the chain store (a failure there is a 500).
const STORE_ROUTES: &[&str] = &[
    "/transactions/broadcast",
    "/transactions/broadcast/batch",
    "/transactions/create",
    "/transactions/{txid}",
    "/blocks",
    "/blocks/{id}",
    "/address/{address}/balance",
    "/address/{address}/utxos",
    "/address/{address}/transactions",
    "/search",
    "/stats",
    "/pst/broadcast",
];

fn problem_response(description: &str) -> RefOr<Response> {
    use utoipa::openapi::ContentBuilder;
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/problem+json",
                ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

/// Whether `path` is an admin route (behind [`crate::guard::require_admin`]).
fn is_admin(path: &str) -> bool {
    path.starts_with("/admin/") || path.starts_with("/debug/")
}

impl Modify for CommonResponses {
    fn modify(&self, doc: &mut OpenApi) {
        use utoipa::openapi::security::{
            ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
        };
        // Admin routes take an API key as X-API-Key or as a bearer token.
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "an admin API key (its SHA-256 configured on the node)",
            ))),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        let common = [
            (
                "429",
                "Past the client's rate limit (rate-limited); Retry-After says when to retry",
            ),
            (
                "503",
                "Too many requests waiting (overloaded; Retry-After: 1), or the mempool full (mempool-full)",
            ),
        ];
        for (path, item) in doc.paths.paths.iter_mut() {
            // Every route that takes a body reads at most MAX_BODY_BYTES.
            if let Some(op) = item.post.as_mut() {
                op.responses
                    .responses
                    .entry("413".to_string())
                    .or_insert_with(|| problem_response("The body is over 4 MiB (body-too-large)"));
            }
            let ops = [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                if is_admin(path) {
                    op.security = Some(vec![
                        SecurityRequirement::new("api_key", Vec::<String>::new()),
                        SecurityRequirement::new("bearer", Vec::<String>::new()),
                    ]);
                }
                op.responses
                    .responses
                    .entry("408".to_string())
                    .or_insert_with(|| {
                        problem_response(
                            "The request took longer than the server's timeout (timeout)",
                        )
                    });
                for (status, description) in common {
                    op.responses
                        .responses
                        .entry(status.to_string())
                        .or_insert_with(|| problem_response(description));
                }
                if STORE_ROUTES.contains(&path.as_str()) {
                    op.responses
                        .responses
                        .entry("500".to_string())
                        .or_insert_with(|| {
                            problem_response("The chain store failed (storage, internal)")
                        });
                }
            }
        }
    }
}

/// The bech32m data alphabet (BIP 173).
const BECH32_CHARS: &str = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// The shape of an address of the chain with prefix `hrp`, without anchors:
/// the prefix, `1`, and the data part of a key lock (33 bytes: 53
/// characters and a 6-character checksum) or of a multisig lock (35 bytes:
/// 56 and 6). Addresses are lower case (`docs/encoding.md`).
pub fn address_shape(hrp: &str) -> String {
    let mut prefix = String::new();
    for c in hrp.chars() {
        if c.is_ascii_alphanumeric() {
            prefix.push(c);
        } else {
            // Printable ASCII (a bech32 prefix); in a class nothing but
            // these four needs escaping.
            let escaped = if matches!(c, ']' | '\\' | '^' | '-') {
                format!("\\{c}")
            } else {
                c.to_string()
            };
            prefix.push_str(&format!("[{escaped}]"));
        }
    }
    format!("{prefix}1[{BECH32_CHARS}]{{59}}(?:[{BECH32_CHARS}]{{3}})?")
}

/// Pattern of an address of the chain with prefix `hrp`.
pub fn address_pattern(hrp: &str) -> String {
    format!("^{}$", address_shape(hrp))
}

/// Pattern of `GET /search?q=`: a height, a 64-hex hash or an address of
/// the chain, with ASCII blanks around it.
pub fn search_pattern(hrp: &str) -> String {
    format!(
        "^[ \\t\\n\\f\\r]*(?:[0-9]{{1,19}}|[0-9a-fA-F]{{64}}|{})[ \\t\\n\\f\\r]*$",
        address_shape(hrp)
    )
}

/// The document this node serves: [`ApiDoc`] with the chain's address
/// prefix in every address pattern, its minimum fee rate, and examples
/// taken from its genesis block (funded addresses, a real txid).
pub fn document(node: &Node) -> Value {
    let mut doc = serde_json::to_value(<ApiDoc as utoipa::OpenApi>::openapi())
        .expect("the document serializes");
    let hrp = &node.spec.address_hrp;
    let genesis = node.spec.genesis_block();
    let genesis_txid = genesis.txs.first().map(|t| t.txid().to_string());
    let funded: Vec<String> = genesis
        .txs
        .first()
        .map(|t| {
            t.outputs
                .iter()
                .map(|o| node.spec.address(o.lock).to_string())
                .collect()
        })
        .unwrap_or_default();
    let address = serde_json::json!({
        "type": "string",
        "pattern": address_pattern(hrp),
        "description": "bech32m address of this chain (lower case). A string of this shape whose \
                        checksum or payload is wrong is refused with 400 bad-address.",
    });
    let mut address_example = address.clone();
    if let Some(a) = funded.first() {
        address_example["example"] = Value::String(a.clone());
    }
    // Path parameters named `address`.
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for op in item.values_mut() {
                let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
                    continue;
                };
                for p in params {
                    match (p["name"].as_str(), p["in"].as_str()) {
                        (Some("address"), Some("path")) => p["schema"] = address_example.clone(),
                        (Some("q"), Some("query")) => {
                            p["schema"]["pattern"] = Value::String(search_pattern(hrp));
                        }
                        (Some("txid"), Some("path")) => {
                            if let Some(t) = &genesis_txid {
                                p["schema"]["example"] = Value::String(t.clone());
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    let create = &mut doc["components"]["schemas"]["CreateRequest"];
    create["properties"]["from"] = address_example.clone();
    create["properties"]["to"] = address.clone();
    if let Some(to) = funded.get(1).or(funded.first()) {
        create["properties"]["to"]["example"] = Value::String(to.clone());
    }
    create["properties"]["fee_rate"]["minimum"] = Value::from(node.spec.min_fee_rate);
    create["properties"]["amount"] = serde_json::json!({
        "description": "Amount paid: positive base units, or a decimal coin string (at most 8 decimals)",
        "oneOf": [
            { "type": "integer", "minimum": 1, "maximum": Amount::MAX.base() },
            { "type": "string", "pattern": crate::create_tx::COINS_PATTERN },
        ],
        "example": 100_000_000,
    });
    let hex = doc["components"]["schemas"]["PstRequest"]["properties"]["pst"].clone();
    doc["components"]["schemas"]["PstCombineRequest"]["properties"]["psts"]["items"] = hex;
    let tx_hex = doc["components"]["schemas"]["BroadcastRequest"]["properties"]["tx"].clone();
    let txs = &mut doc["components"]["schemas"]["BatchBroadcastRequest"]["properties"]["txs"];
    txs["items"] = tx_hex;
    txs["minItems"] = Value::from(1);
    txs["maxItems"] = Value::from(crate::submit::MAX_BATCH_TXS);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_shape_escapes_a_prefix_of_any_printable_characters() {
        assert_eq!(
            address_shape("lmx"),
            format!("lmx1[{BECH32_CHARS}]{{59}}(?:[{BECH32_CHARS}]{{3}})?")
        );
        assert!(address_shape("a-b]").starts_with("a[\\-]b[\\]]1"));
        assert!(address_shape("a.b").starts_with("a[.]b1"));
    }
}
