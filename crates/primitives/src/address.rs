//! Output locks and their bech32m address form.
//!
//! An address is bech32m (BIP 350) with a per-chain human-readable prefix
//! (`lmx`, `lmxdev`, …) over the lock's payload: for a key lock 33 bytes, the
//! scheme tag and the key hash (DESIGN.md §3.4); for a multisig lock 35
//! bytes, a zero byte (never a scheme tag), the threshold, the key count and
//! the key-set root. The prefix keeps coins of one chain from being sent to
//! an address meant for another.

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
    /// Spendable by signatures of `threshold` distinct keys of a set of
    /// `keys` keys whose key hashes are the leaves of a Merkle tree with root
    /// `root` ([`crate::multisig`]). Valid only with
    /// `1 <= threshold <= keys`.
    Multisig {
        /// How many keys must sign (`m`).
        threshold: u8,
        /// How many keys the set has (`n`).
        keys: u8,
        /// [`crate::multisig::key_set_root`] of the set.
        root: Hash,
    },
}

/// Address payload length of a key lock.
pub const KEY_PAYLOAD_LEN: usize = 33;
/// Address payload length of a multisig lock.
pub const MULTISIG_PAYLOAD_LEN: usize = 35;

impl Lock {
    /// The payload of the lock's address: scheme tag and key hash (33
    /// bytes), or 0, threshold, key count and key-set root (35 bytes).
    pub fn address_payload(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(MULTISIG_PAYLOAD_LEN);
        match self {
            Lock::Key { scheme, key_hash } => {
                p.push(scheme.tag());
                p.extend_from_slice(&key_hash.0);
            }
            Lock::Multisig {
                threshold,
                keys,
                root,
            } => {
                p.extend_from_slice(&[0, *threshold, *keys]);
                p.extend_from_slice(&root.0);
            }
        }
        p
    }

    /// The lock an address payload stands for.
    pub fn from_address_payload(data: &[u8]) -> Option<Lock> {
        match data.len() {
            KEY_PAYLOAD_LEN => Some(Lock::Key {
                scheme: SchemeId::from_tag(data[0])?,
                key_hash: Hash::from_slice(&data[1..])?,
            }),
            MULTISIG_PAYLOAD_LEN if data[0] == 0 => {
                if !crate::multisig::threshold_ok(data[1].into(), data[2].into()) {
                    return None;
                }
                Some(Lock::Multisig {
                    threshold: data[1],
                    keys: data[2],
                    root: Hash::from_slice(&data[3..])?,
                })
            }
            _ => None,
        }
    }

    /// The lock's kind as shown by the APIs: the scheme name of a key lock
    /// (`ml-dsa-65`), `multisig` for a multisig lock.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Lock::Key { scheme, .. } => scheme.name(),
            Lock::Multisig { .. } => "multisig",
        }
    }

    /// The scheme of a key lock; `None` for a multisig lock (its keys'
    /// schemes are behind the root).
    pub fn scheme(&self) -> Option<SchemeId> {
        match self {
            Lock::Key { scheme, .. } => Some(*scheme),
            Lock::Multisig { .. } => None,
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
            Lock::Multisig {
                threshold,
                keys,
                root,
            } => {
                s.put(&[1, *threshold, *keys]);
                root.encode_to(s);
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
            1 => {
                let threshold = r.u8("multisig threshold")?;
                let keys = r.u8("multisig key count")?;
                if !crate::multisig::threshold_ok(threshold.into(), keys.into()) {
                    return Err(DecodeError::OutOfRange {
                        field: "multisig threshold",
                    });
                }
                Ok(Lock::Multisig {
                    threshold,
                    keys,
                    root: Hash::decode(r)?,
                })
            }
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
    /// The payload is not a scheme tag and a 32-byte key hash, nor a valid
    /// multisig payload.
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
        // All upper case is the same address (BIP 173: for QR codes);
        // mixed case was refused by the decoder.
        if !found.as_str().eq_ignore_ascii_case(hrp) {
            return Err(AddressError::WrongChain {
                expected: hrp.into(),
                found: found.to_string(),
            });
        }
        let lock = Lock::from_address_payload(&data).ok_or(AddressError::Payload)?;
        Ok(Address {
            hrp: hrp.into(),
            lock,
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
        // Upper case is the same address; mixed case is refused.
        assert_eq!(Address::parse(&s.to_ascii_uppercase(), "lmx").unwrap(), a);
        let mut mixed = s.clone();
        mixed.replace_range(0..1, "L");
        assert!(matches!(
            Address::parse(&mixed, "lmx"),
            Err(AddressError::Encoding(_))
        ));
    }

    #[test]
    fn multisig_address_round_trip_and_bad_threshold() {
        let lock = Lock::Multisig {
            threshold: 7,
            keys: 10,
            root: Hash([9u8; 32]),
        };
        let a = Address {
            hrp: "lmx".into(),
            lock,
        };
        assert_eq!(Address::parse(&a.to_string(), "lmx").unwrap(), a);
        assert_eq!(lock.address_payload().len(), MULTISIG_PAYLOAD_LEN);
        for (m, n) in [(0, 3), (4, 3), (0, 0)] {
            let bad = Address {
                hrp: "lmx".into(),
                lock: Lock::Multisig {
                    threshold: m,
                    keys: n,
                    root: Hash([9u8; 32]),
                },
            };
            assert_eq!(
                Address::parse(&bad.to_string(), "lmx"),
                Err(AddressError::Payload)
            );
        }
    }
}
