//! Encryption of secrets at rest under a passphrase: Argon2id derives a key,
//! XChaCha20-Poly1305 encrypts and authenticates. A wrong passphrase or any
//! change to the stored bytes fails authentication.

use argon2::{Algorithm, Argon2, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// An encrypted secret with everything needed to decrypt it but the
/// passphrase. Serialised as JSON in wallet files.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct EncryptedSecret {
    /// Always `"argon2id"`.
    pub kdf: String,
    /// Argon2 memory cost in KiB.
    pub m_cost: u32,
    /// Argon2 iterations.
    pub t_cost: u32,
    /// Argon2 lanes.
    pub p_cost: u32,
    /// Salt, hex.
    pub salt: String,
    /// Always `"xchacha20poly1305"`.
    pub cipher: String,
    /// Nonce, hex.
    pub nonce: String,
    /// Ciphertext with tag, hex.
    pub ciphertext: String,
}

/// Encryption or decryption failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// Wrong passphrase or tampered data (indistinguishable by design).
    #[error("wrong passphrase or corrupted keystore")]
    Decrypt,
    /// The stored parameters are not ones this build can use.
    #[error("unsupported keystore parameters: {0}")]
    Unsupported(String),
}

/// Argon2id cost: 19 MiB, 2 passes, 1 lane (OWASP's recommended minimum).
const M_COST: u32 = 19 * 1024;
const T_COST: u32 = 2;
const P_COST: u32 = 1;

fn derive_key(
    pass: &[u8],
    salt: &[u8],
    m: u32,
    t: u32,
    p: u32,
) -> Result<Zeroizing<[u8; 32]>, KeystoreError> {
    let params =
        Params::new(m, t, p, Some(32)).map_err(|e| KeystoreError::Unsupported(e.to_string()))?;
    let mut key = Zeroizing::new([0u8; 32]);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(pass, salt, key.as_mut())
        .map_err(|e| KeystoreError::Unsupported(e.to_string()))?;
    Ok(key)
}

/// A passphrase in Unicode's compatibility decomposition (NFKD), as BIP 39
/// normalises passphrases: "café" typed with a composed é and with e plus
/// a combining accent (another keyboard or system) is the same key.
fn normalized(passphrase: &str) -> Zeroizing<String> {
    use unicode_normalization::UnicodeNormalization;
    Zeroizing::new(passphrase.nfkd().collect())
}

/// Encrypts `plaintext` under `passphrase` (normalised, NFKD) with fresh
/// salt and nonce.
pub fn encrypt(passphrase: &str, plaintext: &[u8]) -> EncryptedSecret {
    let passphrase = normalized(passphrase);
    let mut salt = [0u8; 16];
    let mut nonce = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let key = derive_key(passphrase.as_bytes(), &salt, M_COST, T_COST, P_COST)
        .expect("the built-in Argon2 parameters are valid");
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    let ciphertext = cipher
        .encrypt(XNonce::from_slice(&nonce), plaintext)
        .expect("XChaCha20-Poly1305 encryption of an in-memory buffer cannot fail");
    EncryptedSecret {
        kdf: "argon2id".into(),
        m_cost: M_COST,
        t_cost: T_COST,
        p_cost: P_COST,
        salt: hex::encode(salt),
        cipher: "xchacha20poly1305".into(),
        nonce: hex::encode(nonce),
        ciphertext: hex::encode(ciphertext),
    }
}

/// Decrypts a secret; fails on a wrong passphrase or any tampering. The
/// passphrase is tried normalised (NFKD, as [`encrypt`] uses it), then, if
/// that differs and fails, as given: files written before passphrases
/// were normalised still open.
pub fn decrypt(passphrase: &str, e: &EncryptedSecret) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    let nfkd = normalized(passphrase);
    match decrypt_with(nfkd.as_bytes(), e) {
        Err(KeystoreError::Decrypt) if nfkd.as_str() != passphrase => {
            decrypt_with(passphrase.as_bytes(), e)
        }
        r => r,
    }
}

fn decrypt_with(
    passphrase: &[u8],
    e: &EncryptedSecret,
) -> Result<Zeroizing<Vec<u8>>, KeystoreError> {
    if e.kdf != "argon2id" || e.cipher != "xchacha20poly1305" {
        return Err(KeystoreError::Unsupported(format!(
            "{}/{}",
            e.kdf, e.cipher
        )));
    }
    // Refuse absurd costs from a crafted file rather than exhausting memory.
    if e.m_cost > 4 * 1024 * 1024 || e.t_cost > 64 || e.p_cost > 16 {
        return Err(KeystoreError::Unsupported("argon2 cost too high".into()));
    }
    let salt = hex::decode(&e.salt).map_err(|_| KeystoreError::Decrypt)?;
    let nonce = hex::decode(&e.nonce).map_err(|_| KeystoreError::Decrypt)?;
    let ct = hex::decode(&e.ciphertext).map_err(|_| KeystoreError::Decrypt)?;
    if nonce.len() != 24 {
        return Err(KeystoreError::Decrypt);
    }
    let key = derive_key(passphrase, &salt, e.m_cost, e.t_cost, e.p_cost)?;
    let cipher = XChaCha20Poly1305::new(key.as_ref().into());
    cipher
        .decrypt(XNonce::from_slice(&nonce), ct.as_slice())
        .map(Zeroizing::new)
        .map_err(|_| KeystoreError::Decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The same passphrase typed composed (NFC) or decomposed (NFD) opens
    /// what either wrote; a file encrypted under the passphrase exactly as
    /// typed, before normalisation, still opens.
    #[test]
    fn passphrases_are_compared_after_normalisation() {
        let composed = "caf\u{e9}-passphrase";
        let decomposed = "cafe\u{301}-passphrase";
        let e = encrypt(composed, b"seed");
        assert_eq!(decrypt(decomposed, &e).unwrap().as_slice(), b"seed");
        let e = encrypt(decomposed, b"seed");
        assert_eq!(decrypt(composed, &e).unwrap().as_slice(), b"seed");
        // Written before: the key derived from the composed bytes as given.
        let mut old = encrypt("unused", b"seed");
        let salt = hex::decode(&old.salt).unwrap();
        let nonce = hex::decode(&old.nonce).unwrap();
        let key = derive_key(composed.as_bytes(), &salt, M_COST, T_COST, P_COST).unwrap();
        let ct = XChaCha20Poly1305::new(key.as_ref().into())
            .encrypt(XNonce::from_slice(&nonce), &b"seed"[..])
            .unwrap();
        old.ciphertext = hex::encode(ct);
        assert_eq!(decrypt(composed, &old).unwrap().as_slice(), b"seed");
        assert_eq!(decrypt("caf-passphrase", &old), Err(KeystoreError::Decrypt));
    }

    #[test]
    fn round_trip_wrong_passphrase_and_tamper() {
        let e = encrypt("correct horse", b"seed bytes");
        assert_eq!(
            decrypt("correct horse", &e).unwrap().as_slice(),
            b"seed bytes"
        );
        assert_eq!(decrypt("wrong", &e), Err(KeystoreError::Decrypt));
        let mut t = e.clone();
        let mut ct = hex::decode(&t.ciphertext).unwrap();
        ct[0] ^= 1;
        t.ciphertext = hex::encode(ct);
        assert_eq!(decrypt("correct horse", &t), Err(KeystoreError::Decrypt));
    }
}
