//! Scheme-tagged public keys and signatures (crypto agility, DESIGN.md §3.4).
//! This crate only carries the bytes; `luminex-crypto` verifies them.

use std::fmt;

use crate::codec::{put_bytes, Decode, DecodeError, Encode, Reader, Sink};

/// A signature scheme, as tagged on every key, signature and address.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum SchemeId {
    /// ML-DSA-44 (FIPS 204, security category 2).
    MlDsa44 = 1,
    /// ML-DSA-65 (FIPS 204, security category 3).
    MlDsa65 = 2,
    /// ML-DSA-87 (FIPS 204, security category 5).
    MlDsa87 = 3,
}

/// Longest public key of any scheme; bounds decoding.
pub const MAX_PUBLIC_KEY_LEN: u64 = 4096;
/// Longest signature of any scheme; bounds decoding.
pub const MAX_SIGNATURE_LEN: u64 = 8192;

impl SchemeId {
    /// Every scheme this build knows.
    pub const ALL: [SchemeId; 3] = [SchemeId::MlDsa44, SchemeId::MlDsa65, SchemeId::MlDsa87];

    /// The tag byte.
    pub fn tag(self) -> u8 {
        self as u8
    }

    /// The scheme for a tag byte.
    pub fn from_tag(tag: u8) -> Option<SchemeId> {
        match tag {
            1 => Some(SchemeId::MlDsa44),
            2 => Some(SchemeId::MlDsa65),
            3 => Some(SchemeId::MlDsa87),
            _ => None,
        }
    }

    /// Public key length in bytes (FIPS 204 Table 2).
    pub fn public_key_len(self) -> usize {
        match self {
            SchemeId::MlDsa44 => 1312,
            SchemeId::MlDsa65 => 1952,
            SchemeId::MlDsa87 => 2592,
        }
    }

    /// Signature length in bytes (FIPS 204 Table 2).
    pub fn signature_len(self) -> usize {
        match self {
            SchemeId::MlDsa44 => 2420,
            SchemeId::MlDsa65 => 3309,
            SchemeId::MlDsa87 => 4627,
        }
    }

    /// The name used in chain specs and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            SchemeId::MlDsa44 => "ml-dsa-44",
            SchemeId::MlDsa65 => "ml-dsa-65",
            SchemeId::MlDsa87 => "ml-dsa-87",
        }
    }
}

impl fmt::Display for SchemeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A scheme name that is not known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown signature scheme {0:?} (known: ml-dsa-44, ml-dsa-65, ml-dsa-87)")]
pub struct UnknownScheme(pub String);

impl std::str::FromStr for SchemeId {
    type Err = UnknownScheme;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SchemeId::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| UnknownScheme(s.to_string()))
    }
}

impl serde::Serialize for SchemeId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for SchemeId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl Encode for SchemeId {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&[self.tag()]);
    }
}

impl Decode for SchemeId {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let tag = r.u8("scheme")?;
        SchemeId::from_tag(tag).ok_or(DecodeError::UnknownTag {
            field: "scheme",
            tag: tag.into(),
        })
    }
}

/// A public key with its scheme tag. Its length is checked against the scheme
/// by context-free validation, not by the codec, so that a wrong length is a
/// validation error with its own reason.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PublicKey {
    /// The scheme.
    pub scheme: SchemeId,
    /// The encoded key.
    pub bytes: Vec<u8>,
}

/// A signature with its scheme tag.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Signature {
    /// The scheme.
    pub scheme: SchemeId,
    /// The encoded signature.
    pub bytes: Vec<u8>,
}

impl PublicKey {
    /// The hash an address commits to: tagged hash of (scheme, key bytes).
    pub fn key_hash(&self) -> crate::Hash {
        let mut h = crate::hash::KEY_HASH.hasher();
        h.update(&[self.scheme.tag()]);
        h.update(&self.bytes);
        h.finish()
    }
}

impl PublicKey {
    /// The lock that pays to this key.
    pub fn lock(&self) -> crate::Lock {
        crate::Lock::Key {
            scheme: self.scheme,
            key_hash: self.key_hash(),
        }
    }
}

impl Encode for PublicKey {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.scheme.encode_to(s);
        put_bytes(s, &self.bytes);
    }
}

impl Decode for PublicKey {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let scheme = SchemeId::decode(r)?;
        let bytes = r.bytes("public key", MAX_PUBLIC_KEY_LEN)?.to_vec();
        Ok(PublicKey { scheme, bytes })
    }
}

impl Encode for Signature {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        self.scheme.encode_to(s);
        put_bytes(s, &self.bytes);
    }
}

impl Decode for Signature {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let scheme = SchemeId::decode(r)?;
        let bytes = r.bytes("signature", MAX_SIGNATURE_LEN)?.to_vec();
        Ok(Signature { scheme, bytes })
    }
}
