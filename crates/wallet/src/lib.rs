//! The Luminex wallet: keys derived from a BIP 39 mnemonic, stored encrypted
//! under a passphrase (Argon2id + XChaCha20-Poly1305, file mode 0600), coin
//! selection and signing.
//!
//! Every key is the ML-DSA key generated from a 32-byte seed hashed from
//! the BIP 39 seed, the scheme, the account, the chain (receive or change)
//! and the index (`docs/wallet.md`), so the mnemonic alone recovers every
//! key; [`recovery`] finds which addresses were used with a gap limit.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod keyfile;
pub mod lock;
pub mod multipart;
pub mod multisig;
pub mod pst;
pub mod recovery;
pub mod request;
pub mod select;
pub mod shamir;
pub mod watch;

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
    #[error("insufficient funds: {available} available, {needed} needed (amount plus fee; coins worth less than the fee of spending them are not counted)")]
    InsufficientFunds {
        /// Spendable total.
        available: Amount,
        /// Needed.
        needed: Amount,
    },
    /// An amount is out of range.
    #[error("amount out of range")]
    Amount,
    /// A watch-only wallet holds no secret: it cannot sign.
    #[error("this is a watch-only wallet: it holds no keys, so it can neither sign nor derive new addresses (do that in the full wallet, then export its watch list again)")]
    WatchOnly,
    /// The wallet's keys do not come from a recovery phrase (a dev-key or
    /// watch-only wallet).
    #[error("this wallet has no recovery phrase to back up")]
    NoRecoveryPhrase,
    /// A Shamir backup could not be made or recovered.
    #[error(transparent)]
    Shamir(#[from] shamir::ShamirError),
    /// An encrypted key file could not be read.
    #[error(transparent)]
    KeyFile(#[from] keyfile::KeyFileError),
    /// A payment spends an output that none of the wallet's keys locks.
    #[error("an input of the payment is not this wallet's to spend")]
    NotOurs,
    /// The payment would spend so many coins that its transaction is
    /// past the chain's size limit: nodes refuse it unread.
    #[error("this payment needs more coins than one transaction can spend: {inputs} coins already make {size} bytes, over the chain's limit of {max} bytes: send less at once, or first send smaller amounts to yourself to merge coins")]
    TooLarge {
        /// Coins spent.
        inputs: usize,
        /// The signed transaction's size in bytes.
        size: usize,
        /// The chain's `max_tx_bytes`.
        max: usize,
    },
    /// A fee rate past [`MAX_FEE_RATE`]: a typo would pay most of a
    /// payment away (Bitcoin Core's `-maxtxfee` guards the same).
    #[error("a fee rate of {0} base units per byte is past the most a wallet pays, {max}", max = MAX_FEE_RATE)]
    FeeRateTooHigh(u64),
}

/// The highest fee rate (base units per byte) the wallet pays, on the
/// command line and in the browser: a mistyped rate is refused, not paid.
pub const MAX_FEE_RATE: u64 = 1_000_000;

/// The most one transaction pays in fees unless told otherwise, in coins
/// (the command line's `--max-fee` default; the browser wallet's ceiling):
/// as Bitcoin Core's `-maxtxfee`, whatever the fee rate, so a mistyped rate
/// or a very large transaction is refused rather than paid. A payment of
/// a few coins at the chain's minimum rate pays a few thousandths of it.
pub const DEFAULT_MAX_FEE: &str = "0.1";

/// [`DEFAULT_MAX_FEE`] as an amount.
pub fn default_max_fee() -> luminex_primitives::Amount {
    DEFAULT_MAX_FEE.parse().expect("a valid amount")
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
    /// Public keys only (`watch`): balances, history and unsigned
    /// payments, never a signature.
    WatchOnly,
    /// One key imported from an encrypted key file (`import-key`): the
    /// encrypted secret is its 32-byte key seed.
    Imported,
}

/// The wallet file version written by this build: 2 derives receive and
/// change keys on separate chains. Version 1 (one chain of keys, change to
/// the first address) is still read.
pub const WALLET_VERSION: u32 = 2;

/// Fewest characters of a passphrase chosen for a new wallet or key file
/// (the command line and the browser wallet alike): an empty or one-letter
/// passphrase would make the encryption a formality.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// The two chains of keys of an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyChain {
    /// Addresses given out to be paid.
    Receive = 0,
    /// Addresses a payment sends its change to.
    Change = 1,
}

/// The on-disk wallet: public data in clear, the secret encrypted.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletFile {
    /// Format version (1 or 2).
    pub version: u32,
    /// Chain name.
    pub chain: String,
    /// Signature scheme of its keys.
    pub scheme: SchemeId,
    /// What the secret is.
    pub secret: SecretKind,
    /// The encrypted mnemonic phrase or dev key seed; none in a
    /// watch-only wallet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<EncryptedSecret>,
    /// A watch-only wallet's public keys (exported, hex): those of
    /// `addresses`, then those of `change`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_keys: Vec<String>,
    /// Account number (version 2).
    #[serde(default)]
    pub account: u32,
    /// Receive addresses derived so far, index order.
    pub addresses: Vec<String>,
    /// Change addresses derived so far, index order (version 2).
    #[serde(default)]
    pub change: Vec<String>,
}

/// An unlocked wallet.
pub struct Wallet {
    /// The file contents.
    pub file: WalletFile,
    keys: Vec<SigningKey>,
    change_keys: Vec<SigningKey>,
    master: Zeroizing<Vec<u8>>,
}

/// The seed of key `index` on `chain` of `account` for `scheme`, from the
/// BIP 39 seed: `H_"luminex/wallet/key/v2"(seed ‖ scheme ‖ account u32 ‖
/// chain u8 ‖ index u32)` (`docs/wallet.md`).
pub fn key_seed(
    bip39_seed: &[u8],
    scheme: SchemeId,
    account: u32,
    chain: KeyChain,
    index: u32,
) -> [u8; 32] {
    let mut h = Domain("luminex/wallet/key/v2").hasher();
    h.update(bip39_seed);
    h.update(&[scheme.tag()]);
    h.update(&account.to_le_bytes());
    h.update(&[chain as u8]);
    h.update(&index.to_le_bytes());
    h.finish().0
}

/// The 32-byte seed of key `index` on `chain` of the wallet.
fn seed_of(master: &[u8], file: &WalletFile, chain: KeyChain, index: u32) -> Zeroizing<[u8; 32]> {
    let scheme = file.scheme;
    Zeroizing::new(match file.secret {
        SecretKind::DevKey { index } => ChainSpec::dev_key_seed(index),
        // One key: the master is its seed (checked 32 bytes by `load`).
        SecretKind::Imported => {
            let mut seed = [0u8; 32];
            seed.copy_from_slice(&master[..32]);
            seed
        }
        // Version 1: one chain of keys.
        SecretKind::Mnemonic if file.version == 1 => {
            let mut h = Domain("luminex/wallet/key").hasher();
            h.update(master);
            h.update(&[scheme.tag()]);
            h.update(&index.to_le_bytes());
            h.finish().0
        }
        // (A watch-only file has no master: `load` refuses it before any
        // key is derived.)
        SecretKind::Mnemonic | SecretKind::WatchOnly => {
            key_seed(master, scheme, file.account, chain, index)
        }
    })
}

fn derive(master: &[u8], file: &WalletFile, chain: KeyChain, index: u32) -> SigningKey {
    SigningKey::from_seed(file.scheme, &seed_of(master, file, chain, index))
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

    /// Recovers a wallet from its mnemonic, read as [`normalize_phrase`]
    /// writes it (any case, any whitespace between and around words).
    pub fn restore(
        spec: &ChainSpec,
        scheme: SchemeId,
        phrase: &str,
        passphrase: &str,
    ) -> Result<Wallet, WalletError> {
        let phrase = normalize_phrase(phrase);
        let phrase = phrase.as_str();
        let m = bip39::Mnemonic::parse_normalized(phrase).map_err(mnemonic_error)?;
        let master = Zeroizing::new(m.to_seed("").to_vec());
        let file = WalletFile {
            version: WALLET_VERSION,
            chain: spec.name.clone(),
            scheme,
            secret: SecretKind::Mnemonic,
            encrypted: Some(keystore::encrypt(passphrase, phrase.as_bytes())),
            public_keys: vec![],
            account: 0,
            addresses: vec![],
            change: vec![],
        };
        let mut w = Wallet {
            file,
            keys: vec![],
            change_keys: vec![],
            master,
        };
        w.new_address(spec);
        Ok(w)
    }

    /// A wallet holding the one key of `seed` (an imported key file).
    pub fn single_key(
        spec: &ChainSpec,
        scheme: SchemeId,
        seed: &[u8; 32],
        passphrase: &str,
    ) -> Wallet {
        Wallet::of_one_seed(spec, scheme, SecretKind::Imported, seed, passphrase)
    }

    /// A wallet whose master secret is `seed` itself (a development key or
    /// an imported one), with its first address derived.
    fn of_one_seed(
        spec: &ChainSpec,
        scheme: SchemeId,
        secret: SecretKind,
        seed: &[u8; 32],
        passphrase: &str,
    ) -> Wallet {
        let file = WalletFile {
            version: WALLET_VERSION,
            chain: spec.name.clone(),
            scheme,
            secret,
            encrypted: Some(keystore::encrypt(passphrase, seed)),
            public_keys: vec![],
            account: 0,
            addresses: vec![],
            change: vec![],
        };
        let mut w = Wallet {
            file,
            keys: vec![],
            change_keys: vec![],
            master: Zeroizing::new(seed.to_vec()),
        };
        w.new_address(spec);
        w
    }

    /// The seed of receive key `index`, for an encrypted key export; `None`
    /// past the keys derived so far.
    pub fn receive_key_seed(&self, index: usize) -> Option<Zeroizing<[u8; 32]>> {
        (index < self.keys.len())
            .then(|| seed_of(&self.master, &self.file, KeyChain::Receive, index as u32))
    }

    /// A wallet holding development key `index` of the spec.
    pub fn dev_key(spec: &ChainSpec, index: u32, passphrase: &str) -> Wallet {
        let seed = ChainSpec::dev_key_seed(index);
        Wallet::of_one_seed(
            spec,
            spec.default_scheme,
            SecretKind::DevKey { index },
            &seed,
            passphrase,
        )
    }

    /// Reads and decrypts a wallet file.
    pub fn load(path: &Path, spec: &ChainSpec, passphrase: &str) -> Result<Wallet, WalletError> {
        let file = WalletFile::read(path, spec)?;
        let Some(encrypted) = &file.encrypted else {
            return Err(WalletError::WatchOnly);
        };
        let secret = keystore::decrypt(passphrase, encrypted)?;
        let master = match file.secret {
            SecretKind::Mnemonic => {
                let phrase = std::str::from_utf8(&secret)
                    .map_err(|_| WalletError::Malformed("secret".into()))?;
                let m = bip39::Mnemonic::parse_normalized(phrase).map_err(mnemonic_error)?;
                Zeroizing::new(m.to_seed("").to_vec())
            }
            SecretKind::DevKey { .. } => secret,
            SecretKind::Imported if secret.len() == 32 => secret,
            SecretKind::Imported => return Err(WalletError::Malformed("key seed".into())),
            SecretKind::WatchOnly => return Err(WalletError::WatchOnly),
        };
        if file.version != 1 && file.version != WALLET_VERSION {
            return Err(WalletError::Malformed(format!("version {}", file.version)));
        }
        let keys: Vec<SigningKey> = (0..file.addresses.len() as u32)
            .map(|i| derive(&master, &file, KeyChain::Receive, i))
            .collect();
        let change_keys: Vec<SigningKey> = (0..file.change.len() as u32)
            .map(|i| derive(&master, &file, KeyChain::Change, i))
            .collect();
        // The keys must make the addresses the file lists.
        let derived = keys
            .iter()
            .chain(&change_keys)
            .map(|k| spec.address(lock_of(k)).to_string());
        if !derived.eq(file.addresses.iter().chain(&file.change).cloned()) {
            return Err(WalletError::Malformed(
                "the keys do not make the addresses the file lists".into(),
            ));
        }
        // Every wallet is written with its first address; without one the
        // wallet has no key to send change to.
        if keys.is_empty() {
            return Err(WalletError::Malformed(
                "the file lists no receive address".into(),
            ));
        }
        Ok(Wallet {
            file,
            keys,
            change_keys,
            master,
        })
    }

    /// Whether keys come from a mnemonic on separate receive and change
    /// chains (a version-2 mnemonic wallet): only such a wallet has
    /// addresses past those it keeps to look for.
    pub fn has_chains(&self) -> bool {
        self.file.has_chains()
    }

    /// The address of key `index` on `chain`, without keeping it.
    pub fn address_at(&self, spec: &ChainSpec, chain: KeyChain, index: u32) -> String {
        spec.address(lock_of(&derive(&self.master, &self.file, chain, index)))
            .to_string()
    }

    /// Derives the next receive key and returns its address (a dev-key
    /// wallet has only one).
    pub fn new_address(&mut self, spec: &ChainSpec) -> String {
        if matches!(
            self.file.secret,
            SecretKind::DevKey { .. } | SecretKind::Imported
        ) && !self.keys.is_empty()
        {
            return self.file.addresses[0].clone();
        }
        let i = self.keys.len() as u32;
        let key = derive(&self.master, &self.file, KeyChain::Receive, i);
        let addr = spec.address(lock_of(&key)).to_string();
        self.keys.push(key);
        self.file.addresses.push(addr.clone());
        addr
    }

    /// A change lock never used before: the next change key (version 2),
    /// or the first address of a dev-key or version-1 wallet (which have
    /// no change chain).
    pub fn next_change(&mut self, spec: &ChainSpec) -> Lock {
        if !self.has_chains() {
            return lock_of(&self.keys[0]);
        }
        let i = self.change_keys.len() as u32;
        let key = derive(&self.master, &self.file, KeyChain::Change, i);
        let lock = lock_of(&key);
        self.change_keys.push(key);
        self.file.change.push(spec.address(lock).to_string());
        lock
    }

    /// Derives keys until the wallet has `receive` receive and `change`
    /// change addresses (it never forgets one).
    pub fn extend_to(&mut self, spec: &ChainSpec, receive: u32, change: u32) {
        while (self.keys.len() as u32) < receive {
            self.new_address(spec);
        }
        while self.has_chains() && (self.change_keys.len() as u32) < change {
            self.next_change(spec);
        }
    }

    /// The receive keys, index order.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The change keys, index order.
    pub fn change_keys(&self) -> &[SigningKey] {
        &self.change_keys
    }

    /// Every key with its address: receive keys, then change keys.
    pub fn all_keys(&self) -> Vec<(&SigningKey, &str)> {
        self.keys
            .iter()
            .zip(&self.file.addresses)
            .chain(self.change_keys.iter().zip(&self.file.change))
            .map(|(k, a)| (k, a.as_str()))
            .collect()
    }

    /// Writes the wallet file with mode 0600; `create_new` refuses to
    /// overwrite an existing wallet.
    pub fn save(&self, path: &Path, create_new: bool) -> Result<(), WalletError> {
        self.file.save(path, create_new)
    }

    /// The lock [`Wallet::next_change`] would return, without deriving it
    /// for keeps: a payment can be planned and shown before it is signed.
    pub fn peek_change(&self) -> Lock {
        if !self.has_chains() {
            return lock_of(&self.keys[0]);
        }
        let i = self.change_keys.len() as u32;
        lock_of(&derive(&self.master, &self.file, KeyChain::Change, i))
    }

    /// Signs a plan made over this wallet's coins exactly as planned: each
    /// input by the key of the lock it spends. The plan's change lock should
    /// be [`Wallet::peek_change`]'s; call [`Wallet::next_change`] once the
    /// payment is accepted, and save, so that the change address is kept.
    pub fn sign_plan(&self, plan: PaymentPlan) -> Result<Transaction, WalletError> {
        let keys: HashMap<Lock, &SigningKey> = self
            .keys
            .iter()
            .chain(&self.change_keys)
            .map(|k| (lock_of(k), k))
            .collect();
        if plan.spent.iter().any(|o| !keys.contains_key(&o.lock)) {
            return Err(WalletError::NotOurs);
        }
        Ok(sign_with(&keys, plan))
    }

    /// Builds and signs a payment of `amount` to `to` from `coins` (outputs
    /// of this wallet), paying `fee_rate` base units per byte and sending
    /// change to a fresh change address ([`Wallet::next_change`]; save the
    /// wallet afterwards so that it is remembered).
    pub fn pay(
        &mut self,
        spec: &ChainSpec,
        coins: &[(OutPoint, TxOut)],
        to: Lock,
        amount: Amount,
        fee_rate: u64,
    ) -> Result<Transaction, WalletError> {
        let change = self.next_change(spec);
        let keys: HashMap<Lock, &SigningKey> = self
            .keys
            .iter()
            .chain(&self.change_keys)
            .map(|k| (lock_of(k), k))
            .collect();
        let built = build_payment(spec, &keys, coins, to, amount, change, fee_rate);
        // A payment without change (the whole balance sent), or none at
        // all, leaves the change address unused: it is given back, so
        // unused change addresses do not pile up past a restore's gap.
        if !built
            .as_ref()
            .is_ok_and(|tx| tx.outputs.iter().any(|o| o.lock == change))
        {
            self.forget_change(change);
        }
        built
    }

    /// Gives back the newest change address, `change`, if it is still the
    /// newest: a payment that would have used it was not made (refused by
    /// the node, or never built). A wallet without key chains (one key)
    /// has nothing to give back.
    pub fn forget_change(&mut self, change: Lock) {
        if self.has_chains()
            && self
                .change_keys
                .last()
                .is_some_and(|k| lock_of(k) == change)
        {
            self.change_keys.pop();
            self.file.change.pop();
        }
    }
}

impl WalletFile {
    /// Whether the file's keys come from a mnemonic on separate receive
    /// and change chains (version 2): told without the passphrase, as
    /// [`Wallet::has_chains`] once it is open.
    pub fn has_chains(&self) -> bool {
        self.secret == SecretKind::Mnemonic && self.version >= 2
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
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| WalletError::Malformed(e.to_string()))?;
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
        std::fs::rename(&tmp, path).map_err(io)?;
        // The rename is durable once the directory is: without this, a
        // power loss could bring back the file as it was before (a change
        // address forgotten after its payment left; a new wallet whose
        // phrase was shown, gone).
        #[cfg(unix)]
        {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            std::fs::File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(io)?;
        }
        Ok(())
    }

    /// Decrypts the recovery phrase of a mnemonic wallet (for a backup).
    pub fn recovery_phrase(&self, passphrase: &str) -> Result<Zeroizing<String>, WalletError> {
        let (SecretKind::Mnemonic, Some(encrypted)) = (self.secret, &self.encrypted) else {
            return Err(WalletError::NoRecoveryPhrase);
        };
        let secret = keystore::decrypt(passphrase, encrypted)?;
        let phrase =
            std::str::from_utf8(&secret).map_err(|_| WalletError::Malformed("secret".into()))?;
        Ok(Zeroizing::new(phrase.to_string()))
    }

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

/// Where a payment's change goes: to `fresh`, a change address never used
/// before — but on a chain where only accounts that exist receive coins
/// (`almagill`: an account is created by a `create-account` transaction)
/// a fresh address does not exist, so change goes back to `spent_first`,
/// the address of the largest coin spent, which does. (A wallet's caller
/// gives the fresh address back when the payment has no output to it.)
pub fn change_on(spec: &ChainSpec, fresh: Lock, spent_first: Option<Lock>) -> Lock {
    match spent_first {
        Some(lock) if spec.requires_account_creation() => lock,
        _ => fresh,
    }
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
    if fee_rate > MAX_FEE_RATE {
        return Err(WalletError::FeeRateTooHigh(fee_rate));
    }
    let mut sorted: Vec<&(OutPoint, TxOut)> =
        coins.iter().filter(|(_, o)| spendable(&o.lock)).collect();
    sorted.sort_by(|a, b| b.1.amount.cmp(&a.1.amount).then(a.0.cmp(&b.0)));
    let change = change_on(spec, change, sorted.first().map(|(_, o)| o.lock));
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
    let exact = |chosen: &[&(OutPoint, TxOut)]| {
        let mut t = tx.clone();
        t.inputs = chosen.iter().map(|c| c.0).collect();
        let spent: Vec<TxOut> = chosen.iter().map(|c| c.1).collect();
        signed_size(&t, &spent, placeholder)
    };
    let chosen = select::largest_first(
        &sorted,
        amount,
        fee_rate,
        spec.max_tx_bytes,
        &|o| placeholder(&o.lock).encoded_len(),
        &exact,
    )
    .map_err(|e| match e {
        select::SelectError::Insufficient { available, needed } => {
            WalletError::InsufficientFunds { available, needed }
        }
        select::SelectError::TooLarge { inputs, size, max } => {
            WalletError::TooLarge { inputs, size, max }
        }
        select::SelectError::Amount => WalletError::Amount,
    })?;
    tx.inputs = chosen.coins.iter().map(|c| c.0).collect();
    let spent: Vec<TxOut> = chosen.coins.iter().map(|c| c.1).collect();
    let needed = amount
        .checked_add(chosen.fee)
        .map_err(|_| WalletError::Amount)?;
    let rest = chosen
        .total
        .checked_sub(needed)
        .map_err(|_| WalletError::Amount)?;
    if rest == Amount::ZERO {
        tx.outputs.pop();
    } else {
        tx.outputs[1].amount = rest;
    }
    let fee = chosen
        .total
        .checked_sub(tx.output_total().map_err(|_| WalletError::Amount)?)
        .map_err(|_| WalletError::Amount)?;
    Ok(PaymentPlan {
        tx,
        spent,
        fee,
        genesis: spec.genesis_hash(),
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
    Ok(sign_with(keys, plan))
}

/// Signs each input of `plan` with the key of its lock (every lock must be
/// among `keys`); one signature per distinct lock.
fn sign_with(keys: &HashMap<Lock, &SigningKey>, plan: PaymentPlan) -> Transaction {
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
    tx
}

/// A recovery phrase (or one word of it) as typed, the way the word list
/// writes it: lower case, the words separated by single spaces, nothing
/// around them. Restoring and the word check after creating a wallet both
/// read what is typed through this.
pub fn normalize_phrase(typed: &str) -> Zeroizing<String> {
    let lower = Zeroizing::new(typed.to_lowercase());
    let mut out = Zeroizing::new(String::with_capacity(lower.len()));
    for word in lower.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// A recovery phrase's error, with words counted from 1 as the user counts
/// them (the parser counts from 0: "word 23" was the 24th).
fn mnemonic_error(e: bip39::Error) -> WalletError {
    WalletError::Mnemonic(match e {
        bip39::Error::UnknownWord(i) => format!("word {} is not in the word list", i + 1),
        e => e.to_string(),
    })
}

#[cfg(test)]
mod tests;
