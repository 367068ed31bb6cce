//! Signature schemes: sign/verify, tamper rejection, and agreement between
//! the key-generation library (libcrux) and the verification library (PQClean).

use luminex_crypto::{scheme, verify, SigningKey, VerifyError, CONTEXT};
use luminex_primitives::{Hash, SchemeId};
use pqcrypto_traits::sign::{DetachedSignature as _, PublicKey as _, SecretKey as _};

fn msg() -> Hash {
    Hash([42u8; 32])
}

#[test]
fn every_scheme_signs_and_verifies_with_exact_sizes() {
    for id in SchemeId::ALL {
        let k = SigningKey::from_seed(id, &[1u8; 32]);
        assert_eq!(k.public_key().bytes.len(), id.public_key_len());
        let sig = k.sign(&msg());
        assert_eq!(sig.bytes.len(), id.signature_len());
        verify(k.public_key(), &msg(), &sig).unwrap();
    }
}

#[test]
fn seed_derivation_is_deterministic_and_seed_sensitive() {
    for id in SchemeId::ALL {
        let a = SigningKey::from_seed(id, &[9u8; 32]);
        let b = SigningKey::from_seed(id, &[9u8; 32]);
        let c = SigningKey::from_seed(id, &[8u8; 32]);
        assert_eq!(a.public_key(), b.public_key());
        assert_eq!(a.secret_bytes(), b.secret_bytes());
        assert_ne!(a.public_key(), c.public_key());
    }
}

/// Any one-byte change to the message or the signature fails verification.
#[test]
fn one_byte_changes_fail() {
    for id in SchemeId::ALL {
        let k = SigningKey::from_seed(id, &[2u8; 32]);
        let sig = k.sign(&msg());
        let step = 97; // a spread of positions, every scheme's size covered
        for i in (0..sig.bytes.len())
            .step_by(step)
            .chain([sig.bytes.len() - 1])
        {
            let mut bad = sig.clone();
            bad.bytes[i] ^= 0x01;
            assert!(
                verify(k.public_key(), &msg(), &bad).is_err(),
                "{id} sig byte {i}"
            );
        }
        for i in 0..32 {
            let mut m = msg();
            m.0[i] ^= 0x80;
            assert_eq!(verify(k.public_key(), &m, &sig), Err(VerifyError::Invalid));
        }
        let mut short = sig.clone();
        short.bytes.pop();
        assert!(matches!(
            verify(k.public_key(), &msg(), &short),
            Err(VerifyError::SignatureLength(_))
        ));
        let other = SigningKey::from_seed(id, &[3u8; 32]);
        assert_eq!(
            verify(other.public_key(), &msg(), &sig),
            Err(VerifyError::Invalid)
        );
    }
}

#[test]
fn scheme_tags_must_match() {
    let k = SigningKey::from_seed(SchemeId::MlDsa65, &[4u8; 32]);
    let mut sig = k.sign(&msg());
    sig.scheme = SchemeId::MlDsa87;
    assert!(matches!(
        verify(k.public_key(), &msg(), &sig),
        Err(VerifyError::SchemeMismatch { .. })
    ));
}

macro_rules! agree {
    ($name:ident, $pq:ident, $lc:ident, $id:expr) => {
        /// libcrux's expanded secret key loads into PQClean byte for byte, and
        /// each library verifies the other's signatures.
        #[test]
        fn $name() {
            let seed = [0x5au8; 32];
            let kp = libcrux_ml_dsa::$lc::generate_key_pair(seed);
            let sk = pqcrypto_mldsa::$pq::SecretKey::from_bytes(kp.signing_key.as_slice()).unwrap();
            assert_eq!(sk.as_bytes(), kp.signing_key.as_slice());
            let pk =
                pqcrypto_mldsa::$pq::PublicKey::from_bytes(kp.verification_key.as_slice()).unwrap();
            assert_eq!(pk.as_bytes(), kp.verification_key.as_slice());
            let m = b"agreement";
            // PQClean signs, libcrux verifies.
            let s1 = pqcrypto_mldsa::$pq::detached_sign_ctx(m, CONTEXT, &sk);
            let s1_lc = libcrux_ml_dsa::MLDSASignature::new(s1.as_bytes().try_into().unwrap());
            libcrux_ml_dsa::$lc::verify(&kp.verification_key, m, CONTEXT, &s1_lc).unwrap();
            // libcrux signs (deterministically), PQClean verifies.
            let s2 = libcrux_ml_dsa::$lc::sign(&kp.signing_key, m, CONTEXT, [0u8; 32]).unwrap();
            let s2_pq = pqcrypto_mldsa::$pq::DetachedSignature::from_bytes(s2.as_slice()).unwrap();
            pqcrypto_mldsa::$pq::verify_detached_signature_ctx(&s2_pq, m, CONTEXT, &pk).unwrap();
            // Our scheme wrapper derives exactly libcrux's key.
            let (wpk, wsk) = scheme($id).keypair_from_seed(&seed);
            assert_eq!(wpk, kp.verification_key.as_slice());
            assert_eq!(wsk.as_slice(), kp.signing_key.as_slice());
        }
    };
}

agree!(
    ml_dsa_44_implementations_agree,
    mldsa44,
    ml_dsa_44,
    SchemeId::MlDsa44
);
agree!(
    ml_dsa_65_implementations_agree,
    mldsa65,
    ml_dsa_65,
    SchemeId::MlDsa65
);
agree!(
    ml_dsa_87_implementations_agree,
    mldsa87,
    ml_dsa_87,
    SchemeId::MlDsa87
);
