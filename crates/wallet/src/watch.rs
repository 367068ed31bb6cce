//! Watch-only wallets: the public keys of a wallet, without its secret.
//!
//! ML-DSA has no public derivation (no xpub), so a watch-only wallet is an
//! exported list of public keys: the receive and change keys the full
//! wallet had derived when it exported them. It shows balances and
//! history, builds unsigned payments (partially signed transactions for
//! the full wallet to sign), and can never sign. It cannot derive new
//! addresses: its payments' change goes back to its first receive address,
//! and addresses the full wallet derives later need a new export.

use luminex_ledger::ChainSpec;
use luminex_primitives::PublicKey;
use serde::{Deserialize, Serialize};

use crate::multisig::{export_key, import_key};
use crate::{SecretKind, Wallet, WalletError, WalletFile, WALLET_VERSION};

/// The export file (JSON) of `wallet export-watch`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WatchExport {
    /// Format version (1).
    pub version: u32,
    /// Chain name.
    pub chain: String,
    /// Exported receive keys, index order.
    pub receive: Vec<String>,
    /// Exported change keys, index order.
    pub change: Vec<String>,
}

impl Wallet {
    /// The public keys of every address derived so far.
    pub fn export_watch(&self, spec: &ChainSpec) -> WatchExport {
        WatchExport {
            version: 1,
            chain: spec.name.clone(),
            receive: self
                .keys()
                .iter()
                .map(|k| export_key(k.public_key()))
                .collect(),
            change: self
                .change_keys()
                .iter()
                .map(|k| export_key(k.public_key()))
                .collect(),
        }
    }
}

impl WalletFile {
    /// A watch-only wallet file from an export, for the chain of `spec`.
    pub fn watch_only(spec: &ChainSpec, e: &WatchExport) -> Result<WalletFile, WalletError> {
        if e.version != 1 {
            return Err(WalletError::Malformed(format!(
                "export version {}",
                e.version
            )));
        }
        if e.chain != spec.name {
            return Err(WalletError::WrongChain {
                expected: spec.name.clone(),
                found: e.chain.clone(),
            });
        }
        let parse = |v: &[String]| -> Result<Vec<PublicKey>, WalletError> {
            v.iter()
                .map(|k| import_key(k).map_err(|err| WalletError::Malformed(err.to_string())))
                .collect()
        };
        let (receive, change) = (parse(&e.receive)?, parse(&e.change)?);
        let Some(first) = receive.first() else {
            return Err(WalletError::Malformed("the export has no keys".into()));
        };
        let scheme = first.scheme;
        if receive.iter().chain(&change).any(|k| k.scheme != scheme) {
            return Err(WalletError::Malformed("keys of several schemes".into()));
        }
        let address = |k: &PublicKey| spec.address(k.lock()).to_string();
        Ok(WalletFile {
            version: WALLET_VERSION,
            chain: spec.name.clone(),
            scheme,
            secret: SecretKind::WatchOnly,
            encrypted: None,
            public_keys: e.receive.iter().chain(&e.change).cloned().collect(),
            account: 0,
            addresses: receive.iter().map(address).collect(),
            change: change.iter().map(address).collect(),
        })
    }

    /// The public key of each address (receive, then change) of a
    /// watch-only file.
    pub fn watched_keys(&self) -> Result<Vec<PublicKey>, WalletError> {
        self.public_keys
            .iter()
            .map(|k| import_key(k).map_err(|e| WalletError::Malformed(e.to_string())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_primitives::SchemeId;

    #[test]
    fn a_watch_only_wallet_has_the_addresses_and_no_secret() {
        let spec = ChainSpec::preset("dev").unwrap();
        let (mut w, _) = Wallet::create(&spec, SchemeId::MlDsa44, "pw");
        w.new_address(&spec);
        w.next_change(&spec);
        let e = w.export_watch(&spec);
        let f = WalletFile::watch_only(&spec, &e).unwrap();
        assert_eq!(f.addresses, w.file.addresses);
        assert_eq!(f.change, w.file.change);
        assert_eq!(
            f.watched_keys().unwrap()[2],
            *w.change_keys()[0].public_key()
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("watch.json");
        std::fs::write(&path, serde_json::to_vec(&f).unwrap()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("encrypted"));
        assert_eq!(
            WalletFile::read(&path, &spec).unwrap().addresses,
            f.addresses
        );
        assert!(matches!(
            Wallet::load(&path, &spec, "pw"),
            Err(WalletError::WatchOnly)
        ));
        let mut other = e.clone();
        other.chain = "qbtc".into();
        assert!(matches!(
            WalletFile::watch_only(&spec, &other),
            Err(WalletError::WrongChain { .. })
        ));
    }
}
