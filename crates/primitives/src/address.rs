//! Output locks and their bech32m address form.
//!
//! An address is bech32m (BIP 350) with a per-chain human-readable prefix
//! (`lmx`, `lmxdev`, …) over 33 bytes: the scheme tag and the key hash
//! (DESIGN.md §3.4). The prefix keeps coins of one chain from being sent to an
//! address meant for another.

use std::fmt;

use bech32::{Bech32m, Hrp};

use crate::codec::{Decode, DecodeError, Encode, Reader, Sink};
use crate::keys::SchemeId;
use crate::Hash;

/// The condition to spend an output.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Lock {
    /// Spendable by a signature of the key whose hash (under `scheme`) is
    /// `key_hash`.
    Key {
        /// The scheme the key must use.
        scheme: SchemeId,
        /// [`crate::PublicKey::key_hash`] of the key.
        key_hash: Hash,
    },
}

impl Lock {
    /// The 33-byte payload of the lock's address (scheme tag, key hash).
    pub fn address_payload(&self) -> [u8; 33] {
        match self {
            Lock::Key { scheme, key_hash } => {
                let mut p = [0u8; 33];
                p[0] = scheme.tag();
                p[1..].copy_from_slice(&key_hash.0);
                p
            }
        }
    }

    /// A 32-byte key for indexes by address.
    pub fn index_key(&self) -> Hash {
        crate::hash::KEY_HASH.hash(&self.address_payload())
    }
}

impl Encode for Lock {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        match self {
            Lock::Key { scheme, key_hash } => {
                s.put(&[0]);
                scheme.encode_to(s);
                key_hash.encode_to(s);
            }
        }
    }
}

impl Decode for Lock {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match r.u8("lock")? {
            0 => Ok(Lock::Key {
                scheme: SchemeId::decode(r)?,
                key_hash: Hash::decode(r)?,
            }),
            tag => Err(DecodeError::UnknownTag {
                field: "lock",
                tag: tag.into(),
            }),
        }
    }
}

/// An address: a lock shown for one chain.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct Address {
    /// The chain's human-readable prefix.
    pub hrp: String,
    /// What the address pays to.
    pub lock: Lock,
}

/// Why a string is not an address of the expected chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Not valid bech32m.
    #[error("not a bech32m address: {0}")]
    Encoding(String),
    /// Valid bech32m but for another chain.
    #[error("address prefix {found:?} is not this chain's {expected:?}")]
    WrongChain {
        /// Prefix expected.
        expected: String,
        /// Prefix found.
        found: String,
    },
    /// The payload is not a scheme tag and a 32-byte key hash.
    #[error("address payload is malformed")]
    Payload,
}

impl Address {
    /// Parses an address and checks it belongs to the chain with prefix `hrp`.
    pub fn parse(s: &str, hrp: &str) -> Result<Address, AddressError> {
        let (found, data) = bech32::decode(s).map_err(|e| AddressError::Encoding(e.to_string()))?;
        // bech32::decode accepts both bech32 and bech32m; only bech32m is ours.
        let re = bech32::encode::<Bech32m>(found, &data)
            .map_err(|e| AddressError::Encoding(e.to_string()))?;
        if !re.eq_ignore_ascii_case(s) {
            return Err(AddressError::Encoding("checksum is not bech32m".into()));
        }
        if found.as_str() != hrp {
            return Err(AddressError::WrongChain {
                expected: hrp.into(),
                found: found.to_string(),
            });
        }
        if data.len() != 33 {
            return Err(AddressError::Payload);
        }
        let scheme = SchemeId::from_tag(data[0]).ok_or(AddressError::Payload)?;
        let key_hash = Hash::from_slice(&data[1..]).ok_or(AddressError::Payload)?;
        Ok(Address {
            hrp: hrp.into(),
            lock: Lock::Key { scheme, key_hash },
        })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Hrp::parse(&self.hrp) {
            Ok(hrp) => match bech32::encode::<Bech32m>(hrp, &self.lock.address_payload()) {
                Ok(s) => f.write_str(&s),
                Err(_) => Err(fmt::Error),
            },
            Err(_) => Err(fmt::Error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_round_trip_and_chain_check() {
        let lock = Lock::Key {
            scheme: SchemeId::MlDsa65,
            key_hash: Hash([7u8; 32]),
        };
        let a = Address {
            hrp: "lmx".into(),
            lock,
        };
        let s = a.to_string();
        assert!(s.starts_with("lmx1"));
        assert_eq!(Address::parse(&s, "lmx").unwrap(), a);
        assert!(matches!(
            Address::parse(&s, "lmxdev"),
            Err(AddressError::WrongChain { .. })
        ));
        let mut bad = s.clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'q' { b'p' } else { b'q' };
        assert!(Address::parse(std::str::from_utf8(&bad).unwrap(), "lmx").is_err());
        assert!(Address::parse("garbage", "lmx").is_err());
    }
}
