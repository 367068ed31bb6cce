//! The Luminex wallet: keys derived from a BIP 39 mnemonic, stored encrypted
//! under a passphrase (Argon2id + XChaCha20-Poly1305, file mode 0600), coin
//! selection and signing.
//!
//! Key `i` of a wallet is the ML-DSA key generated from the 32-byte seed
//! `tagged_hash("luminex/wallet/key", bip39_seed || scheme || i)`, so the
//! mnemonic alone recovers every key and address.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod multisig;
pub mod pst;

use std::collections::HashMap;
use std::path::Path;

use luminex_crypto::keystore::{self, EncryptedSecret, KeystoreError};
use luminex_crypto::SigningKey;
use luminex_ledger::ChainSpec;
use luminex_primitives::hash::Domain;
use luminex_primitives::{
    Amount, Encode, Lock, OutPoint, SchemeId, Signature, Transaction, TxKind, TxOut, Witness,
};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// A wallet operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WalletError {
    /// Reading or writing the wallet file failed.
    #[error("wallet file {path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        error: std::io::Error,
    },
    /// The wallet file is not valid.
    #[error("wallet file is malformed: {0}")]
    Malformed(String),
    /// A wallet of that name exists already.
    #[error("wallet {0} already exists")]
    Exists(String),
    /// Wrong passphrase or corrupted file.
    #[error(transparent)]
    Keystore(#[from] KeystoreError),
    /// The mnemonic is not a valid BIP 39 phrase.
    #[error("invalid mnemonic: {0}")]
    Mnemonic(String),
    /// The wallet is for another chain.
    #[error("wallet is for chain {found}, not {expected}")]
    WrongChain {
        /// Expected.
        expected: String,
        /// Found.
        found: String,
    },
    /// Not enough coins.
    #[error("insufficient funds: {available} available, {needed} needed (amount plus fee)")]
    InsufficientFunds {
        /// Spendable total.
        available: Amount,
        /// Needed.
        needed: Amount,
    },
    /// An amount is out of range.
    #[error("amount out of range")]
    Amount,
}

/// Where a wallet's keys come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum SecretKind {
    /// A BIP 39 mnemonic; many keys.
    Mnemonic,
    /// A well-known development key of the chain spec; one key.
    DevKey {
        /// Its index.
        index: u32,
    },
}

/// The on-disk wallet: public data in clear, the secret encrypted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletFile {
    /// Format version (1).
    pub version: u32,
    /// Chain name.
    pub chain: String,
    /// Signature scheme of its keys.
    pub scheme: SchemeId,
    /// What the secret is.
    pub secret: SecretKind,
    /// The encrypted mnemonic phrase or dev key seed.
    pub encrypted: EncryptedSecret,
    /// Addresses derived so far, index order.
    pub addresses: Vec<String>,
}

/// An unlocked wallet.
pub struct Wallet {
    /// The file contents.
    pub file: WalletFile,
    keys: Vec<SigningKey>,
    master: Zeroizing<Vec<u8>>,
}

fn derive(master: &[u8], kind: SecretKind, scheme: SchemeId, index: u32) -> SigningKey {
    match kind {
        SecretKind::DevKey { index } => {
            SigningKey::from_seed(scheme, &ChainSpec::dev_key_seed(index))
        }
        SecretKind::Mnemonic => {
            let mut h = Domain("luminex/wallet/key").hasher();
            h.update(master);
            h.update(&[scheme.tag()]);
            h.update(&index.to_le_bytes());
            SigningKey::from_seed(scheme, &h.finish().0)
        }
    }
}

/// The lock that pays `key`.
pub fn lock_of(key: &SigningKey) -> Lock {
    key.public_key().lock()
}

impl Wallet {
    /// A new wallet with a fresh 24-word mnemonic; returns it with the phrase
    /// (show it to the user once).
    pub fn create(
        spec: &ChainSpec,
        scheme: SchemeId,
        passphrase: &str,
    ) -> (Wallet, Zeroizing<String>) {
        let mut entropy = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(entropy.as_mut());
        let m = bip39::Mnemonic::from_entropy(entropy.as_ref())
            .expect("32 bytes is a valid entropy length");
        let phrase = Zeroizing::new(m.to_string());
        let w = Wallet::restore(spec, scheme, &phrase, passphrase)
            .expect("a generated mnemonic is valid");
        (w, phrase)
    }

    /// Recovers a wallet from its mnemonic.
    pub fn restore(
        spec: &ChainSpec,
        scheme: SchemeId,
        phrase: &str,
        passphrase: &str,
    ) -> Result<Wallet, WalletError> {
        let m = bip39::Mnemonic::parse_normalized(phrase.trim())
            .map_err(|e| WalletError::Mnemonic(e.to_string()))?;
        let master = Zeroizing::new(m.to_seed("").to_vec());
        let file = WalletFile {
            version: 1,
            chain: spec.name.clone(),
            scheme,
            secret: SecretKind::Mnemonic,
            encrypted: keystore::encrypt(passphrase, phrase.trim().as_bytes()),
            addresses: vec![],
        };
        let mut w = Wallet {
            file,
            keys: vec![],
            master,
        };
        w.new_address(spec);
        Ok(w)
    }

    /// A wallet holding development key `index` of the spec.
    pub fn dev_key(spec: &ChainSpec, index: u32, passphrase: &str) -> Wallet {
        let seed = ChainSpec::dev_key_seed(index);
        let file = WalletFile {
            version: 1,
            chain: spec.name.clone(),
            scheme: spec.default_scheme,
            secret: SecretKind::DevKey { index },
            encrypted: keystore::encrypt(passphrase, &seed),
            addresses: vec![],
        };
        let mut w = Wallet {
            file,
            keys: vec![],
            master: Zeroizing::new(seed.to_vec()),
        };
        w.new_address(spec);
        w
    }

    /// Reads and decrypts a wallet file.
    pub fn load(path: &Path, spec: &ChainSpec, passphrase: &str) -> Result<Wallet, WalletError> {
        let file = WalletFile::read(path, spec)?;
        let secret = keystore::decrypt(passphrase, &file.encrypted)?;
        let master = match file.secret {
            SecretKind::Mnemonic => {
                let phrase = std::str::from_utf8(&secret)
                    .map_err(|_| WalletError::Malformed("secret".into()))?;
                let m = bip39::Mnemonic::parse_normalized(phrase)
                    .map_err(|e| WalletError::Mnemonic(e.to_string()))?;
                Zeroizing::new(m.to_seed("").to_vec())
            }
            SecretKind::DevKey { .. } => secret,
        };
        let keys = (0..file.addresses.len() as u32)
            .map(|i| derive(&master, file.secret, file.scheme, i))
            .collect();
        Ok(Wallet { file, keys, master })
    }

    /// Derives the next key and returns its address (a dev-key wallet has
    /// only one).
    pub fn new_address(&mut self, spec: &ChainSpec) -> String {
        if matches!(self.file.secret, SecretKind::DevKey { .. }) && !self.keys.is_empty() {
            return self.file.addresses[0].clone();
        }
        let i = self.keys.len() as u32;
        let key = derive(&self.master, self.file.secret, self.file.scheme, i);
        let addr = spec.address(lock_of(&key)).to_string();
        self.keys.push(key);
        self.file.addresses.push(addr.clone());
        addr
    }

    /// The keys.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// Writes the wallet file with mode 0600; `create_new` refuses to
    /// overwrite an existing wallet.
    pub fn save(&self, path: &Path, create_new: bool) -> Result<(), WalletError> {
        let io = |error| WalletError::Io {
            path: path.display().to_string(),
            error,
        };
        if create_new && path.exists() {
            return Err(WalletError::Exists(path.display().to_string()));
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let json = serde_json::to_vec_pretty(&self.file)
            .map_err(|e| WalletError::Malformed(e.to_string()))?;
        let tmp = path.with_extension("json.tmp");
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        {
            use std::io::Write;
            let mut f = opts.open(&tmp).map_err(io)?;
            f.write_all(&json).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Builds and signs a payment of `amount` to `to` from `coins` (outputs
    /// of this wallet), paying `fee_rate` base units per byte and returning
    /// change to the wallet's first address.
    pub fn pay(
        &self,
        spec: &ChainSpec,
        coins: &[(OutPoint, TxOut)],
        to: Lock,
        amount: Amount,
        fee_rate: u64,
    ) -> Result<Transaction, WalletError> {
        let keys: HashMap<Lock, &SigningKey> = self.keys.iter().map(|k| (lock_of(k), k)).collect();
        let change = lock_of(&self.keys[0]);
        build_payment(spec, &keys, coins, to, amount, change, fee_rate)
    }
}

impl WalletFile {
    /// Reads a wallet file (no passphrase needed) and checks its chain.
    pub fn read(path: &Path, spec: &ChainSpec) -> Result<WalletFile, WalletError> {
        let bytes = std::fs::read(path).map_err(|error| WalletError::Io {
            path: path.display().to_string(),
            error,
        })?;
        let file: WalletFile =
            serde_json::from_slice(&bytes).map_err(|e| WalletError::Malformed(e.to_string()))?;
        if file.chain != spec.name {
            return Err(WalletError::WrongChain {
                expected: spec.name.clone(),
                found: file.chain,
            });
        }
        Ok(file)
    }
}

/// The size of `tx` once input `i` carries the witness `placeholder`
/// makes for the lock of `spent[i]`.
fn signed_size(tx: &Transaction, spent: &[TxOut], placeholder: &dyn Fn(&Lock) -> Witness) -> usize {
    let mut t = tx.clone();
    t.witnesses = spent.iter().map(|o| placeholder(&o.lock)).collect();
    t.encoded_len()
}

/// An unsigned payment: the transaction without witnesses and the outputs
/// its inputs spend (needed to compute the message to sign).
#[derive(Debug, Clone)]
pub struct PaymentPlan {
    /// The transaction, witnesses empty.
    pub tx: Transaction,
    /// The outputs spent, in input order.
    pub spent: Vec<TxOut>,
    /// The fee it pays.
    pub fee: Amount,
    /// The chain's genesis hash, part of the signed message.
    pub genesis: luminex_primitives::Hash,
}

impl PaymentPlan {
    /// The message every witness must sign.
    pub fn signature_message(&self) -> luminex_primitives::Hash {
        self.tx
            .signature_message(&self.genesis, &self.spent)
            .expect("a plan has one spent output per input")
    }
}

/// Selects coins largest first (among those `spendable` accepts) and builds
/// the unsigned payment of `amount` to `to` with change to `change`, paying
/// `fee_rate` base units per byte of the signed size (keys and signatures of
/// `change`'s scheme).
///
/// With non-empty `data`, the payment is a version-2 transaction carrying
/// it, and its bytes are paid for too.
#[allow(clippy::too_many_arguments)]
pub fn plan_payment(
    spec: &ChainSpec,
    coins: &[(OutPoint, TxOut)],
    spendable: impl Fn(&Lock) -> bool,
    to: Lock,
    amount: Amount,
    change: Lock,
    fee_rate: u64,
    data: Vec<u8>,
) -> Result<PaymentPlan, WalletError> {
    // Sized as if every input were spent by one key of the change's scheme:
    // a wallet's coins and change share its keys' scheme.
    let scheme = change.scheme().unwrap_or(spec.default_scheme);
    plan_payment_with(
        spec,
        coins,
        spendable,
        to,
        amount,
        change,
        fee_rate,
        data,
        &|_| Witness::placeholder(scheme),
    )
}

/// [`plan_payment`] with the fee computed on the witnesses `placeholder`
/// makes for each spent lock (a multisig policy's largest witness, say).
#[allow(clippy::too_many_arguments)]
pub fn plan_payment_with(
    spec: &ChainSpec,
    coins: &[(OutPoint, TxOut)],
    spendable: impl Fn(&Lock) -> bool,
    to: Lock,
    amount: Amount,
    change: Lock,
    fee_rate: u64,
    data: Vec<u8>,
    placeholder: &dyn Fn(&Lock) -> Witness,
) -> Result<PaymentPlan, WalletError> {
    let mut sorted: Vec<&(OutPoint, TxOut)> =
        coins.iter().filter(|(_, o)| spendable(&o.lock)).collect();
    sorted.sort_by(|a, b| b.1.amount.cmp(&a.1.amount).then(a.0.cmp(&b.0)));
    let available =
        Amount::sum(sorted.iter().map(|(_, o)| o.amount)).map_err(|_| WalletError::Amount)?;
    let mut tx = Transaction {
        version: if data.is_empty() { 1 } else { 2 },
        chain_id: spec.chain_id,
        kind: TxKind::Transfer,
        inputs: vec![],
        outputs: vec![
            TxOut { amount, lock: to },
            TxOut {
                amount,
                lock: change,
            },
        ],
        expiry_height: 0,
        witnesses: vec![],
        data,
    };
    let mut total = Amount::ZERO;
    let mut spent = Vec::new();
    let fee_of = |tx: &Transaction, spent: &[TxOut]| {
        Amount::from_base(fee_rate.saturating_mul(signed_size(tx, spent, placeholder) as u64))
            .ok_or(WalletError::Amount)
    };
    for (op, out) in sorted {
        tx.inputs.push(*op);
        spent.push(*out);
        total = total
            .checked_add(out.amount)
            .map_err(|_| WalletError::Amount)?;
        let fee = fee_of(&tx, &spent)?;
        let needed = amount.checked_add(fee).map_err(|_| WalletError::Amount)?;
        if total >= needed {
            let rest = total.checked_sub(needed).map_err(|_| WalletError::Amount)?;
            if rest == Amount::ZERO {
                tx.outputs.pop();
            } else {
                tx.outputs[1].amount = rest;
            }
            let fee = total
                .checked_sub(tx.output_total().map_err(|_| WalletError::Amount)?)
                .map_err(|_| WalletError::Amount)?;
            return Ok(PaymentPlan {
                tx,
                spent,
                fee,
                genesis: spec.genesis_hash(),
            });
        }
    }
    let fee = fee_of(&tx, &spent)?;
    Err(WalletError::InsufficientFunds {
        available,
        needed: amount.checked_add(fee).unwrap_or(Amount::MAX),
    })
}

/// Selects coins largest first, builds the payment with change, and signs
/// each input with the key of its lock.
pub fn build_payment(
    spec: &ChainSpec,
    keys: &HashMap<Lock, &SigningKey>,
    coins: &[(OutPoint, TxOut)],
    to: Lock,
    amount: Amount,
    change: Lock,
    fee_rate: u64,
) -> Result<Transaction, WalletError> {
    let plan = plan_payment(
        spec,
        coins,
        |l| keys.contains_key(l),
        to,
        amount,
        change,
        fee_rate,
        Vec::new(),
    )?;
    let msg = plan.signature_message();
    let mut sigs: HashMap<Lock, Signature> = HashMap::new();
    let mut tx = plan.tx;
    tx.witnesses = plan
        .spent
        .iter()
        .map(|o| {
            let key = keys[&o.lock];
            let sig = sigs.entry(o.lock).or_insert_with(|| key.sign(&msg)).clone();
            Witness::Key {
                public_key: key.public_key().clone(),
                signature: sig,
            }
        })
        .collect();
    Ok(tx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_ledger::testkit::TestChain;

    #[test]
    fn mnemonic_restores_the_same_keys_and_file_is_private() {
        let spec = ChainSpec::preset("dev").unwrap();
        let (mut w, phrase) = Wallet::create(&spec, SchemeId::MlDsa65, "pw");
        w.new_address(&spec);
        let r = Wallet::restore(&spec, SchemeId::MlDsa65, &phrase, "other").unwrap();
        assert_eq!(r.file.addresses[0], w.file.addresses[0]);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.json");
        w.save(&path, true).unwrap();
        assert!(matches!(w.save(&path, true), Err(WalletError::Exists(_))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            !text.contains(phrase.as_str()),
            "the mnemonic is never stored in clear"
        );
        let l = Wallet::load(&path, &spec, "pw").unwrap();
        assert_eq!(l.file.addresses, w.file.addresses);
        assert_eq!(l.keys()[1].public_key(), w.keys()[1].public_key());
        assert!(matches!(
            Wallet::load(&path, &spec, "bad"),
            Err(WalletError::Keystore(_))
        ));
        assert!(matches!(
            Wallet::restore(&spec, SchemeId::MlDsa65, "not a phrase", "x"),
            Err(WalletError::Mnemonic(_))
        ));
    }

    #[test]
    fn payments_select_coins_pay_fees_and_validate() {
        let mut chain = TestChain::dev();
        let spec = chain.spec.clone();
        let dev = Wallet::dev_key(&spec, 0, "pw");
        let (alice, _) = Wallet::create(&spec, SchemeId::MlDsa44, "pw");
        let coins: Vec<(OutPoint, TxOut)> = chain
            .coins_of(&lock_of(&dev.keys()[0]))
            .into_iter()
            .map(|(o, c)| (o, c.output))
            .collect();
        let amount = Amount::from_coins(100).unwrap();
        let tx = dev
            .pay(
                &spec,
                &coins,
                lock_of(&alice.keys()[0]),
                amount,
                spec.min_fee_rate,
            )
            .unwrap();
        chain.mine(vec![tx]).unwrap();
        let acoins: Vec<(OutPoint, TxOut)> = chain
            .coins_of(&lock_of(&alice.keys()[0]))
            .into_iter()
            .map(|(o, c)| (o, c.output))
            .collect();
        assert_eq!(acoins.len(), 1);
        assert_eq!(acoins[0].1.amount, amount);
        let too_much = alice.pay(&spec, &acoins, lock_of(&dev.keys()[0]), amount, 1);
        assert!(matches!(
            too_much,
            Err(WalletError::InsufficientFunds { .. })
        ));
        let back = alice
            .pay(
                &spec,
                &acoins,
                lock_of(&dev.keys()[0]),
                Amount::from_coins(40).unwrap(),
                1,
            )
            .unwrap();
        chain.mine(vec![back]).unwrap();
    }
}
