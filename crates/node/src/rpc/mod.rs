//! Bitcoin Core-compatible JSON-RPC for mining software and tools.
//!
//! Methods are a `jsonrpsee` [`RpcModule`], grouped by what they work on:
//! [`chain`] (blocks, transactions, the UTXO set, indexes; their JSON
//! shapes in [`shapes`]), [`mempool`],
//! [`network`] (peers, uptime, stop), [`mining`] (proof of work only),
//! [`util`] (addresses), [`verdicts`] (`invalidateblock`,
//! `reconsiderblock`) and [`help`]; [`transport`] is an axum handler on its
//! own port so authentication follows Bitcoin Core: HTTP Basic with the
//! cookie in `<data-dir>/<chain>/.cookie` (`__cookie__:<hex>`, rewritten at
//! every start) or a configured `rpcuser`/`rpcpassword`; anything else gets
//! 401. JSON-RPC 1.0 requests (as `bitcoin-cli` and miners send) and batches
//! are accepted. Error codes are Bitcoin Core's. Differences from Bitcoin are
//! in `docs/rpc.md`.

pub mod chain;
pub mod help;
pub mod mempool;
pub mod mining;
pub mod network;
pub mod shapes;
pub mod stats;
pub mod transport;
pub mod util;
pub mod verdicts;

use std::sync::Arc;

use jsonrpsee::types::ErrorObjectOwned;
use jsonrpsee::RpcModule;
use luminex_primitives::{Hash, Lock};
use serde_json::Value;

use luminex_service::Node;

pub use transport::{overloaded, router, write_cookie, CookieFile, RpcAuth, RpcLimits, RpcServer};

/// Bitcoin Core's RPC error codes used here.
pub mod codes {
    /// RPC_MISC_ERROR.
    pub const MISC: i32 = -1;
    /// RPC_TYPE_ERROR.
    pub const TYPE: i32 = -3;
    /// RPC_INVALID_ADDRESS_OR_KEY (also "not found").
    pub const NOT_FOUND: i32 = -5;
    /// RPC_INVALID_PARAMETER.
    pub const INVALID_PARAMETER: i32 = -8;
    /// RPC_DATABASE_ERROR.
    pub const DATABASE: i32 = -20;
    /// RPC_DESERIALIZATION_ERROR.
    pub const DESERIALIZATION: i32 = -22;
    /// RPC_VERIFY_ERROR.
    pub const VERIFY: i32 = -25;
    /// RPC_VERIFY_REJECTED.
    pub const VERIFY_REJECTED: i32 = -26;
    /// RPC_VERIFY_ALREADY_IN_CHAIN.
    pub const ALREADY_IN_CHAIN: i32 = -27;
    /// JSON-RPC 2.0's internal error (RPC_INTERNAL_ERROR).
    pub const INTERNAL: i32 = -32603;
}

pub(crate) fn err(code: i32, msg: impl Into<String>) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(code, msg.into(), None::<()>)
}

pub(crate) type RpcResult = Result<Value, ErrorObjectOwned>;

/// What the RPC methods work on.
pub struct RpcContext {
    /// The node.
    pub node: Arc<Node>,
    /// Where `getblocktemplate` coinbases pay.
    pub miner_lock: Option<Lock>,
    /// The next `getblocktemplate` extranonce: each template's coinbase
    /// carries a different one, so two miners working from templates of the
    /// same tip never search the same space.
    pub template_extranonce: std::sync::atomic::AtomicU64,
    /// The node has left its initial block download: as Bitcoin Core's
    /// `initialblockdownload`, once false it stays false.
    pub left_ibd: std::sync::atomic::AtomicBool,
    /// Woken by `stop`: the node shuts down as on SIGTERM (none in tests
    /// of the methods alone, where `stop` is refused).
    pub stop: Option<Arc<tokio::sync::Notify>>,
}

impl RpcContext {
    /// A context whose template extranonces start at a random value (a
    /// restarted node does not hand out its earlier coinbases again).
    pub fn new(node: Arc<Node>, miner_lock: Option<Lock>) -> RpcContext {
        RpcContext {
            node,
            miner_lock,
            template_extranonce: std::sync::atomic::AtomicU64::new(rand::random()),
            left_ibd: std::sync::atomic::AtomicBool::new(false),
            stop: None,
        }
    }

    /// The same context, whose `stop` wakes `stop`.
    pub fn with_stop(mut self, stop: Arc<tokio::sync::Notify>) -> RpcContext {
        self.stop = Some(stop);
        self
    }
}

/// Bitcoin Core's error for a required parameter not given (or `null`):
/// -1, "missing required parameter NAME". Every method answers a missing
/// parameter with it.
pub(crate) fn missing(name: &str) -> ErrorObjectOwned {
    err(codes::MISC, format!("missing required parameter {name}"))
}

/// Bitcoin Core's error for a parameter of another JSON type than the
/// method takes (-3).
pub(crate) fn wrong_type(name: &str, v: &Value, expected: &str) -> ErrorObjectOwned {
    err(
        codes::TYPE,
        format!("{name}: JSON value {v} is not of expected type {expected}"),
    )
}

/// A required string parameter at `i`: missing is -1 ([`missing`]),
/// another JSON type -3 ([`wrong_type`]).
pub(crate) fn req_str<'a>(
    p: &'a [Value],
    i: usize,
    name: &str,
) -> Result<&'a str, ErrorObjectOwned> {
    match p.get(i) {
        None | Some(Value::Null) => Err(missing(name)),
        Some(Value::String(s)) => Ok(s),
        Some(v) => Err(wrong_type(name, v, "string")),
    }
}

/// A required hash parameter: missing is -1, another JSON type -3, a
/// string that is not 64 hex digits -8.
pub(crate) fn param_hash(v: Option<Value>, what: &str) -> Result<Hash, ErrorObjectOwned> {
    match v {
        Some(Value::String(s)) => s.parse().map_err(|_| {
            err(
                codes::INVALID_PARAMETER,
                format!("{what} must be a 64-character hexadecimal string"),
            )
        }),
        None | Some(Value::Null) => Err(missing(what)),
        // A value of another JSON type is Core's type error (-3), not a
        // bad string (-8).
        Some(other) => Err(wrong_type(what, &other, "string")),
    }
}

/// A method's parameters by position, from a call that gave them by
/// position (at most `names.len()`) or by name (each one of `names`), as
/// Bitcoin Core takes them: too many, or an unknown name, is an error
/// rather than ignored; a parameter not given is `Null`, which methods
/// read as absent. A name may have aliases, as Core writes them
/// (`verbosity|verbose`); one parameter given under two of them is an
/// error.
pub(crate) fn positional(
    p: &jsonrpsee::types::Params,
    names: &[&str],
) -> Result<Vec<Value>, ErrorObjectOwned> {
    let raw = match p.as_str() {
        None => Value::Null,
        Some(s) => serde_json::from_str(s)
            .map_err(|e| err(codes::INVALID_PARAMETER, format!("params: {e}")))?,
    };
    match raw {
        Value::Null => Ok(Vec::new()),
        Value::Array(a) if a.len() <= names.len() => Ok(a),
        Value::Array(a) => Err(err(
            codes::MISC,
            format!(
                "too many parameters: {} given, this method takes at most {}{}",
                a.len(),
                names.len(),
                match names.is_empty() {
                    true => String::new(),
                    false => format!(" ({})", names.join(", ")),
                }
            ),
        )),
        Value::Object(o) => {
            let mut out = Vec::new();
            let mut given = vec![false; names.len()];
            for (k, v) in o {
                let i = names
                    .iter()
                    .position(|n| n.split('|').any(|a| a == k))
                    .ok_or_else(|| {
                        err(
                            codes::INVALID_PARAMETER,
                            format!("unknown named parameter {k}"),
                        )
                    })?;
                if std::mem::replace(&mut given[i], true) {
                    return Err(err(
                        codes::INVALID_PARAMETER,
                        format!("Parameter {} specified more than once", names[i]),
                    ));
                }
                if out.len() <= i {
                    out.resize(i + 1, Value::Null);
                }
                out[i] = v;
            }
            Ok(out)
        }
        _ => Err(err(
            codes::INVALID_PARAMETER,
            "params must be an array or an object",
        )),
    }
}

/// An optional boolean parameter at `i`: absent or `null` is `None`; a
/// value of another type is a type error, as in Bitcoin Core (a string
/// "yes" is not read as true).
pub(crate) fn opt_bool(
    p: &[Value],
    i: usize,
    name: &str,
) -> Result<Option<bool>, ErrorObjectOwned> {
    match p.get(i) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(v) => Err(wrong_type(name, v, "bool")),
    }
}

/// A required non-negative integer parameter at `i`, with Bitcoin Core's
/// errors: missing is -1, another JSON type or a fraction a type error
/// (-3), a negative number out of range (-8).
pub(crate) fn req_u64(p: &[Value], i: usize, name: &str) -> Result<u64, ErrorObjectOwned> {
    match p.get(i) {
        None | Some(Value::Null) => Err(missing(name)),
        Some(Value::Number(n)) => match (n.as_u64(), n.as_i64()) {
            (Some(v), _) => Ok(v),
            (None, Some(_)) => Err(err(
                codes::INVALID_PARAMETER,
                format!("{name} out of range: {n}"),
            )),
            (None, None) => Err(wrong_type(name, &Value::Number(n.clone()), "integer")),
        },
        Some(v) => Err(wrong_type(name, v, "number")),
    }
}

/// An amount in coins as Bitcoin Core's `ValueFromAmount` writes it: a
/// JSON number with exactly 8 decimals (`0.00000001`,
/// `249999899.99994593`), never rounded. Amounts above 2^53 base units
/// (the `dev` preset's) do not survive an `f64`, and a `Value` holds no
/// other kind of fraction, so the amount travels as a marked string that
/// [`exact`] writes out as the number when the answer is serialised.
///
/// Not serde_json's `arbitrary_precision`: with it, numbers inside
/// `#[serde(untagged)]` and `flatten` types no longer deserialize (they
/// arrive as a private map), and features unify across the workspace:
/// jsonrpsee's request ids and the REST API would read numbers through it.
pub(crate) fn coins(base: u64) -> Value {
    coins_wide(u128::from(base))
}

/// [`coins`] of a sum that may exceed a `u64` (a total of many amounts).
pub(crate) fn coins_wide(base: u128) -> Value {
    Value::String(format!(
        "{}{}.{:08}",
        amount_marker(),
        base / 100_000_000,
        base % 100_000_000
    ))
}

/// The prefix that marks an amount's string in a method's answer: random
/// per process, so no string a caller sends can pass for one.
fn amount_marker() -> &'static str {
    static MARKER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    MARKER.get_or_init(|| format!("\u{1}amount-{:016x}:", rand::random::<u64>()))
}

/// The number text of an amount [`coins`] marked, if `s` is one.
fn amount_text(s: &str) -> Option<&str> {
    s.strip_prefix(amount_marker())
}

/// A method's answer serialised with its amounts as exact numbers.
struct Exact<'a>(&'a Value);

impl serde::Serialize for Exact<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        match self.0 {
            Value::String(t) => match amount_text(t) {
                Some(n) => serde_json::value::RawValue::from_string(n.to_string())
                    .map_err(S::Error::custom)?
                    .serialize(s),
                None => s.serialize_str(t),
            },
            Value::Array(a) => s.collect_seq(a.iter().map(Exact)),
            Value::Object(o) => s.collect_map(o.iter().map(|(k, v)| (k, Exact(v)))),
            v => v.serialize(s),
        }
    }
}

/// `v` as the JSON text of the answer, amounts ([`coins`]) exact.
pub(crate) fn exact(v: &Value) -> Result<Box<serde_json::value::RawValue>, ErrorObjectOwned> {
    serde_json::value::to_raw_value(&Exact(v)).map_err(|e| err(codes::INTERNAL, e.to_string()))
}

/// Registers a blocking method (it runs on tokio's blocking pool) taking
/// the parameters `names`, by position or by name ([`positional`]).
pub(crate) fn reg(
    m: &mut RpcModule<RpcContext>,
    name: &'static str,
    names: &'static [&'static str],
    f: fn(&RpcContext, Vec<Value>) -> RpcResult,
) {
    m.register_blocking_method(name, move |p, ctx, _| {
        exact(&f(&ctx, positional(&p, names)?)?)
    })
    .expect("method names are unique");
}

/// Positional parameters from a JSON array, for tests calling methods.
#[cfg(test)]
pub(crate) fn params_of(v: Value) -> jsonrpsee::core::params::ArrayParams {
    let mut p = jsonrpsee::core::params::ArrayParams::new();
    for x in v.as_array().expect("an array of parameters") {
        p.insert(x.clone()).expect("a JSON value serialises");
    }
    p
}

/// The RPC methods over `ctx`.
pub fn module(ctx: RpcContext) -> RpcModule<RpcContext> {
    let mut m = RpcModule::new(ctx);
    chain::register(&mut m);
    mempool::register(&mut m);
    mining::register(&mut m);
    network::register(&mut m);
    stats::register(&mut m);
    util::register(&mut m);
    verdicts::register(&mut m);
    help::register(&mut m);
    m
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Every method with a required parameter answers it missing with
    /// Core's -1 "missing required parameter NAME" and a value of the wrong
    /// JSON type with -3 naming it, as docs/rpc.md says; none with its own
    /// -8 or -22 (those are for values of the right type that are invalid).
    #[tokio::test]
    async fn missing_and_mistyped_parameters_get_cores_codes() {
        let node = luminex_service::testkit::memory_node();
        let m = module(RpcContext::new(node, None));
        let hash = Hash::ZERO.to_string();
        // (method, parameters before the one tested, its name, a value of
        // the wrong type)
        let cases: &[(&str, Value, &str, Value)] = &[
            ("getblock", json!([]), "blockhash", json!(5)),
            ("getblockheader", json!([]), "blockhash", json!(5)),
            ("getrawtransaction", json!([]), "txid", json!(5)),
            ("getmempoolentry", json!([]), "txid", json!(5)),
            ("getmempoolancestors", json!([]), "txid", json!(5)),
            ("getmempooldescendants", json!([]), "txid", json!(5)),
            ("gettxout", json!([]), "txid", json!(5)),
            ("gettxout", json!([hash]), "n", json!("x")),
            ("invalidateblock", json!([]), "blockhash", json!(5)),
            ("reconsiderblock", json!([]), "blockhash", json!(5)),
            ("submitblock", json!([]), "hexdata", json!(5)),
            ("sendrawtransaction", json!([]), "hexstring", json!(5)),
            ("decoderawtransaction", json!([]), "hexstring", json!(5)),
            ("testmempoolaccept", json!([]), "rawtxs", json!(5)),
            ("getblockhash", json!([]), "height", json!("x")),
            ("getblockstats", json!([]), "hash_or_height", json!(true)),
            ("validateaddress", json!([]), "address", json!(5)),
            ("estimatesmartfee", json!([]), "conf_target", json!("six")),
            ("generatetoaddress", json!([]), "nblocks", json!("x")),
            ("generatetoaddress", json!([1]), "address", json!(5)),
        ];
        for (method, before, name, wrong) in cases {
            let error_of = |r: Result<Value, jsonrpsee::core::server::MethodsError>| match r {
                Err(jsonrpsee::core::server::MethodsError::JsonRpc(e)) => e,
                other => panic!("{method}: not a JSON-RPC error: {other:?}"),
            };
            let given = before.as_array().unwrap();
            for absent in [None, Some(Value::Null)] {
                let mut p = given.clone();
                p.extend(absent.clone());
                let e = error_of(m.call(method, params_of(Value::Array(p))).await);
                assert_eq!(e.code(), codes::MISC, "{method} without {name}: {e:?}");
                assert_eq!(
                    e.message(),
                    format!("missing required parameter {name}"),
                    "{method} {absent:?}"
                );
            }
            let mut p = given.clone();
            p.push(wrong.clone());
            let e = error_of(m.call(method, params_of(Value::Array(p))).await);
            assert_eq!(
                e.code(),
                codes::TYPE,
                "{method} with {name} = {wrong}: {e:?}"
            );
            assert!(e.message().contains(name), "{method}: {e:?}");
        }
    }
}
