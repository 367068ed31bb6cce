//! Utilities: `validateaddress`, in Bitcoin Core's shape.

use jsonrpsee::RpcModule;
use serde_json::{json, Value};

use super::{reg, req_str, RpcContext};
use luminex_service::Node;

/// `validateaddress`: whether `s` is an address of this chain that coins
/// can be sent to and spent from. An address of another chain, a damaged
/// one, or one of a signature scheme this chain does not allow (coins sent
/// there could never be spent) is `isvalid: false` with an `error`.
fn validate(node: &Node, s: &str) -> Value {
    let invalid = |error: String| json!({ "isvalid": false, "error": error });
    let address = match node.spec.parse_address(s) {
        Ok(a) => a,
        Err(e) => return invalid(e.to_string()),
    };
    if let Some(scheme) = address.lock.scheme() {
        if !node.spec.allows(scheme) {
            return invalid(format!(
                "{} keys are not allowed on {}: coins sent there could never be spent",
                scheme.name(),
                node.spec.name
            ));
        }
    }
    json!({
        "isvalid": true,
        "address": address.to_string(),
        "type": address.lock.kind_name(),
        "isscript": false,
        "iswitness": false,
        "ismultisig": address.lock.scheme().is_none(),
    })
}

/// Registers the utilities.
pub(super) fn register(m: &mut RpcModule<RpcContext>) {
    reg(m, "validateaddress", &["address"], |c, p| {
        Ok(validate(&c.node, req_str(&p, 0, "address")?))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_ledger::ChainSpec;
    use luminex_primitives::{Hash, Lock, SchemeId};

    /// A dev address is valid on `dev` and of the key's scheme; the same
    /// key's address on `qbtc`, a damaged one and one of a scheme the chain
    /// does not allow are not, each with the reason.
    #[test]
    fn addresses_of_this_chain_only_and_of_allowed_schemes() {
        let node = luminex_service::testkit::memory_node();
        let key = node.spec.dev_key(0).unwrap();
        let own = node.spec.address(key.public_key().lock()).to_string();
        let v = validate(&node, &own);
        assert_eq!(v["isvalid"], true, "{v}");
        assert_eq!(v["address"], own);
        assert_eq!(v["ismultisig"], false);
        let qbtc = ChainSpec::preset("qbtc").unwrap();
        let other = qbtc.address(key.public_key().lock()).to_string();
        let v = validate(&node, &other);
        assert_eq!(v["isvalid"], false, "{v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
        let mut damaged = own.clone();
        let last = damaged.pop().unwrap();
        damaged.push(if last == 'q' { 'p' } else { 'q' });
        assert_eq!(validate(&node, &damaged)["isvalid"], false);
        // A chain that allows only its dev keys' scheme.
        let mut spec = node.spec.clone();
        let own_scheme = key.public_key().scheme;
        spec.allowed_schemes = vec![own_scheme];
        spec.default_scheme = own_scheme;
        let narrow = luminex_service::testkit::memory_node_for(spec);
        let scheme = [SchemeId::MlDsa44, SchemeId::MlDsa65, SchemeId::MlDsa87]
            .into_iter()
            .find(|s| *s != own_scheme)
            .unwrap();
        let lock = Lock::Key {
            scheme,
            key_hash: Hash([3; 32]),
        };
        let v = validate(&narrow, &narrow.spec.address(lock).to_string());
        assert_eq!(v["isvalid"], false, "{v}");
        assert!(v["error"].as_str().unwrap().contains("not allowed"), "{v}");
        assert_eq!(validate(&narrow, &own)["isvalid"], true);
    }
}
