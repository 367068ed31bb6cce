//! Encrypted export and import of one key (`wallet export-key --encrypted`,
//! `wallet import-key`), to move a single address to another wallet
//! without its recovery phrase (`docs/wallet.md`, "Key files").
//!
//! The file is JSON: the chain, scheme and address in clear, and the key's
//! 32-byte seed encrypted under a passphrase exactly as wallet files
//! encrypt their secret (Argon2id, XChaCha20-Poly1305: `luminex_crypto::
//! keystore`). Any change to the encrypted part fails authentication; a
//! change to the clear part is found because the decrypted key no longer
//! makes the address the file names.

use luminex_crypto::keystore::{self, EncryptedSecret, KeystoreError};
use luminex_crypto::SigningKey;
use luminex_ledger::ChainSpec;
use luminex_primitives::SchemeId;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{lock_of, Wallet, WalletError};

/// The `format` field of a key file.
pub const KEY_FILE_FORMAT: &str = "luminex-key";
/// The key file version this build writes and reads.
pub const KEY_FILE_VERSION: u32 = 1;

/// Reading a key file failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Not JSON of a key file.
    #[error("not a luminex key file: {0}")]
    Malformed(String),
    /// A version this build does not read.
    #[error("key file version {0} is not supported")]
    Version(u32),
    /// The key is for another chain.
    #[error("the key file is for chain {found}, not {expected}")]
    WrongChain {
        /// The chain in use.
        expected: String,
        /// The file's.
        found: String,
    },
    /// A wrong passphrase, or the encrypted part was changed (the two
    /// cannot be told apart, by design of authenticated encryption).
    #[error("wrong passphrase, or the key file's encrypted part was changed")]
    Decrypt,
    /// The file's clear part was changed: the key it holds does not make
    /// the address (or scheme) it names.
    #[error("the key file was changed: its key does not make the address it names")]
    Tampered,
    /// The encryption parameters are not ones this build accepts.
    #[error("unsupported key file encryption: {0}")]
    Unsupported(String),
}

/// An encrypted key file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFile {
    /// Always [`KEY_FILE_FORMAT`].
    pub format: String,
    /// [`KEY_FILE_VERSION`].
    pub version: u32,
    /// The chain the address is on.
    pub chain: String,
    /// The key's signature scheme.
    pub scheme: SchemeId,
    /// The key's address.
    pub address: String,
    /// The key's 32-byte seed, encrypted.
    pub encrypted: EncryptedSecret,
}

impl KeyFile {
    /// Encrypts the key of `seed` under `passphrase`.
    pub fn seal(spec: &ChainSpec, scheme: SchemeId, seed: &[u8; 32], passphrase: &str) -> KeyFile {
        let key = SigningKey::from_seed(scheme, seed);
        KeyFile {
            format: KEY_FILE_FORMAT.into(),
            version: KEY_FILE_VERSION,
            chain: spec.name.clone(),
            scheme,
            address: spec.address(lock_of(&key)).to_string(),
            encrypted: keystore::encrypt(passphrase, seed),
        }
    }

    /// Parses a key file's bytes.
    pub fn from_json(bytes: &[u8]) -> Result<KeyFile, KeyFileError> {
        let f: KeyFile =
            serde_json::from_slice(bytes).map_err(|e| KeyFileError::Malformed(e.to_string()))?;
        if f.format != KEY_FILE_FORMAT {
            return Err(KeyFileError::Malformed(format!("format {:?}", f.format)));
        }
        if f.version != KEY_FILE_VERSION {
            return Err(KeyFileError::Version(f.version));
        }
        Ok(f)
    }

    /// The file as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a key file serialises")
    }

    /// Decrypts the key's seed and checks it against the clear fields.
    pub fn open(
        &self,
        spec: &ChainSpec,
        passphrase: &str,
    ) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
        if self.chain != spec.name {
            return Err(KeyFileError::WrongChain {
                expected: spec.name.clone(),
                found: self.chain.clone(),
            });
        }
        let secret = keystore::decrypt(passphrase, &self.encrypted).map_err(|e| match e {
            KeystoreError::Unsupported(m) => KeyFileError::Unsupported(m),
            _ => KeyFileError::Decrypt,
        })?;
        let seed: [u8; 32] = secret
            .as_slice()
            .try_into()
            .map_err(|_| KeyFileError::Tampered)?;
        let seed = Zeroizing::new(seed);
        let key = SigningKey::from_seed(self.scheme, &seed);
        if spec.address(lock_of(&key)).to_string() != self.address {
            return Err(KeyFileError::Tampered);
        }
        Ok(seed)
    }
}

impl Wallet {
    /// Receive key `index` as a key file encrypted under `passphrase`.
    pub fn export_key_file(
        &self,
        spec: &ChainSpec,
        index: usize,
        passphrase: &str,
    ) -> Result<KeyFile, WalletError> {
        let seed = self
            .receive_key_seed(index)
            .ok_or_else(|| WalletError::Malformed(format!("no receive key {index}")))?;
        Ok(KeyFile::seal(spec, self.file.scheme, &seed, passphrase))
    }

    /// A new wallet holding the key of `file` (opened with
    /// `file_passphrase`), encrypted under `wallet_passphrase`.
    pub fn import_key_file(
        spec: &ChainSpec,
        file: &KeyFile,
        file_passphrase: &str,
        wallet_passphrase: &str,
    ) -> Result<Wallet, WalletError> {
        let seed = file.open(spec, file_passphrase)?;
        Ok(Wallet::single_key(
            spec,
            file.scheme,
            &seed,
            wallet_passphrase,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ChainSpec {
        ChainSpec::preset("dev").unwrap()
    }

    #[test]
    fn a_key_moves_to_a_new_wallet_that_signs_with_it() {
        let spec = spec();
        let (mut w, _) = Wallet::create(&spec, SchemeId::MlDsa65, "pw");
        w.new_address(&spec);
        let f = w.export_key_file(&spec, 1, "move it").unwrap();
        assert_eq!(f.address, w.file.addresses[1]);
        let text = f.to_json();
        let seed_hex = hex::encode(*w.receive_key_seed(1).unwrap());
        assert!(!text.contains(&seed_hex), "the seed is never in clear");
        let back = KeyFile::from_json(text.as_bytes()).unwrap();
        let imported = Wallet::import_key_file(&spec, &back, "move it", "new pw").unwrap();
        assert_eq!(imported.file.addresses, vec![w.file.addresses[1].clone()]);
        assert_eq!(imported.keys()[0].public_key(), w.keys()[1].public_key());

        // It saves, loads, stays one key, and sends change to itself.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        imported.save(&path, true).unwrap();
        let mut l = Wallet::load(&path, &spec, "new pw").unwrap();
        assert_eq!(l.file.secret, crate::SecretKind::Imported);
        assert_eq!(l.new_address(&spec), w.file.addresses[1]);
        assert_eq!(l.next_change(&spec), lock_of(&w.keys()[1]));
        assert!(matches!(
            l.file.recovery_phrase("new pw"),
            Err(WalletError::NoRecoveryPhrase)
        ));
        assert!(w.export_key_file(&spec, 2, "x").is_err(), "not derived yet");
    }

    #[test]
    fn bad_passphrase_and_tampering_are_refused() {
        let spec = spec();
        let w = Wallet::dev_key(&spec, 0, "pw");
        let f = w.export_key_file(&spec, 0, "right").unwrap();
        assert_eq!(f.open(&spec, "wrong"), Err(KeyFileError::Decrypt));

        let mut ct = f.clone();
        let mut bytes = hex::decode(&ct.encrypted.ciphertext).unwrap();
        bytes[3] ^= 1;
        ct.encrypted.ciphertext = hex::encode(bytes);
        assert_eq!(ct.open(&spec, "right"), Err(KeyFileError::Decrypt));

        let other = Wallet::dev_key(&spec, 1, "pw");
        let mut addr = f.clone();
        addr.address = other.file.addresses[0].clone();
        assert_eq!(addr.open(&spec, "right"), Err(KeyFileError::Tampered));

        let mut scheme = f.clone();
        scheme.scheme = SchemeId::MlDsa44;
        assert_eq!(scheme.open(&spec, "right"), Err(KeyFileError::Tampered));

        let mut chain = f.clone();
        chain.chain = "qbtc".into();
        assert!(matches!(
            chain.open(&spec, "right"),
            Err(KeyFileError::WrongChain { .. })
        ));

        let mut json: serde_json::Value = serde_json::from_str(&f.to_json()).unwrap();
        json["version"] = 9.into();
        assert_eq!(
            KeyFile::from_json(json.to_string().as_bytes()),
            Err(KeyFileError::Version(9))
        );
        assert!(matches!(
            KeyFile::from_json(b"{\"format\":\"x\"}"),
            Err(KeyFileError::Malformed(_))
        ));
        assert_eq!(
            f.open(&spec, "right").unwrap().as_slice(),
            &ChainSpec::dev_key_seed(0)
        );
    }
}
