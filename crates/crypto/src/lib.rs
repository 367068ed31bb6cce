//! Signature schemes for Luminex.
//!
//! Every key and signature carries a [`SchemeId`] tag (DESIGN.md §3.4); a
//! scheme is one implementation of [`SignatureScheme`]. ML-DSA (FIPS 204) is
//! implemented at all three security levels with two libraries:
//!
//! * **verify and sign** with `pqcrypto-mldsa` (PQClean, AVX2 chosen at run
//!   time), the fastest implementation that builds here;
//! * **key generation from a 32-byte seed** with `libcrux-ml-dsa`, because
//!   PQClean cannot derive a key from a seed. Its standard expanded secret key
//!   loads into PQClean byte for byte (tested in `tests/it`).
//!
//! All signatures use the FIPS 204 context string [`CONTEXT`], so a Luminex
//! signature can never be valid for another protocol that uses the same key.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod keystore;

use luminex_primitives::{Hash, PublicKey, SchemeId, Signature};
use pqcrypto_traits::sign::{DetachedSignature as _, PublicKey as _, SecretKey as _};
use zeroize::Zeroizing;

/// FIPS 204 context string of every Luminex signature.
pub const CONTEXT: &[u8] = b"luminex";

/// Why a signature did not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The key and the signature name different schemes.
    #[error("key scheme {key} does not match signature scheme {sig}")]
    SchemeMismatch {
        /// Scheme of the key.
        key: SchemeId,
        /// Scheme of the signature.
        sig: SchemeId,
    },
    /// The key has the wrong length for its scheme.
    #[error("public key length {0} is wrong for its scheme")]
    KeyLength(usize),
    /// The signature has the wrong length for its scheme.
    #[error("signature length {0} is wrong for its scheme")]
    SignatureLength(usize),
    /// The signature does not verify.
    #[error("invalid signature")]
    Invalid,
}

/// A key could not be built or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The secret key bytes have the wrong length.
    #[error("secret key has the wrong length for {0}")]
    SecretKeyLength(SchemeId),
}

/// A signature scheme: key generation from a seed, signing and verification
/// over raw bytes. Callers normally go through [`SigningKey`] and [`verify`],
/// which add and check the scheme tags.
pub trait SignatureScheme: Send + Sync {
    /// The scheme's tag.
    fn id(&self) -> SchemeId;
    /// Derives a key pair deterministically from a 32-byte seed (FIPS 204
    /// `ML-DSA.KeyGen_internal(ξ)`). Returns (public key, expanded secret key).
    fn keypair_from_seed(&self, seed: &[u8; 32]) -> (Vec<u8>, Zeroizing<Vec<u8>>);
    /// Signs `msg` with an expanded secret key.
    fn sign(&self, secret: &[u8], msg: &[u8]) -> Result<Vec<u8>, KeyError>;
    /// Verifies `sig` over `msg` with public key `pk`.
    fn verify(&self, pk: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), VerifyError>;
}

macro_rules! ml_dsa {
    ($name:ident, $id:expr, $pq:ident, $lc:ident, $doc:expr) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;

        impl SignatureScheme for $name {
            fn id(&self) -> SchemeId {
                $id
            }

            fn keypair_from_seed(&self, seed: &[u8; 32]) -> (Vec<u8>, Zeroizing<Vec<u8>>) {
                let kp = libcrux_ml_dsa::$lc::generate_key_pair(*seed);
                (
                    kp.verification_key.as_slice().to_vec(),
                    Zeroizing::new(kp.signing_key.as_slice().to_vec()),
                )
            }

            fn sign(&self, secret: &[u8], msg: &[u8]) -> Result<Vec<u8>, KeyError> {
                if secret.len() != pqcrypto_mldsa::$pq::secret_key_bytes() {
                    return Err(KeyError::SecretKeyLength($id));
                }
                let sk = pqcrypto_mldsa::$pq::SecretKey::from_bytes(secret)
                    .map_err(|_| KeyError::SecretKeyLength($id))?;
                let sig = pqcrypto_mldsa::$pq::detached_sign_ctx(msg, CONTEXT, &sk);
                Ok(sig.as_bytes().to_vec())
            }

            fn verify(&self, pk: &[u8], msg: &[u8], sig: &[u8]) -> Result<(), VerifyError> {
                // PQClean's from_bytes accepts short signatures: check exact sizes.
                if pk.len() != $id.public_key_len() {
                    return Err(VerifyError::KeyLength(pk.len()));
                }
                if sig.len() != $id.signature_len() {
                    return Err(VerifyError::SignatureLength(sig.len()));
                }
                let pk = pqcrypto_mldsa::$pq::PublicKey::from_bytes(pk)
                    .map_err(|_| VerifyError::KeyLength(pk.len()))?;
                let sig = pqcrypto_mldsa::$pq::DetachedSignature::from_bytes(sig)
                    .map_err(|_| VerifyError::SignatureLength(sig.len()))?;
                pqcrypto_mldsa::$pq::verify_detached_signature_ctx(&sig, msg, CONTEXT, &pk)
                    .map_err(|_| VerifyError::Invalid)
            }
        }
    };
}

ml_dsa!(
    MlDsa44,
    SchemeId::MlDsa44,
    mldsa44,
    ml_dsa_44,
    "ML-DSA-44 (FIPS 204)."
);
ml_dsa!(
    MlDsa65,
    SchemeId::MlDsa65,
    mldsa65,
    ml_dsa_65,
    "ML-DSA-65 (FIPS 204)."
);
ml_dsa!(
    MlDsa87,
    SchemeId::MlDsa87,
    mldsa87,
    ml_dsa_87,
    "ML-DSA-87 (FIPS 204)."
);

/// The implementation of a scheme.
pub fn scheme(id: SchemeId) -> &'static dyn SignatureScheme {
    match id {
        SchemeId::MlDsa44 => &MlDsa44,
        SchemeId::MlDsa65 => &MlDsa65,
        SchemeId::MlDsa87 => &MlDsa87,
    }
}

/// Verifies a tagged signature over a 32-byte message hash with a tagged key.
pub fn verify(pk: &PublicKey, msg: &Hash, sig: &Signature) -> Result<(), VerifyError> {
    if pk.scheme != sig.scheme {
        return Err(VerifyError::SchemeMismatch {
            key: pk.scheme,
            sig: sig.scheme,
        });
    }
    scheme(pk.scheme).verify(&pk.bytes, &msg.0, &sig.bytes)
}

/// A secret key with its public key, derived from a 32-byte seed.
#[derive(Clone)]
pub struct SigningKey {
    public: PublicKey,
    secret: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("scheme", &self.public.scheme)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Derives the key of `scheme` from `seed`; the same seed always gives the
    /// same key.
    pub fn from_seed(scheme_id: SchemeId, seed: &[u8; 32]) -> SigningKey {
        let (pk, secret) = scheme(scheme_id).keypair_from_seed(seed);
        SigningKey {
            public: PublicKey {
                scheme: scheme_id,
                bytes: pk,
            },
            secret,
        }
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// The expanded secret key bytes (FIPS 204 encoding).
    pub fn secret_bytes(&self) -> &[u8] {
        &self.secret
    }

    /// Signs a 32-byte message hash.
    pub fn sign(&self, msg: &Hash) -> Signature {
        let bytes = scheme(self.public.scheme)
            .sign(&self.secret, &msg.0)
            .expect("a SigningKey always holds a secret key of its scheme's length");
        Signature {
            scheme: self.public.scheme,
            bytes,
        }
    }
}
