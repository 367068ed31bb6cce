//! Payloads too big for one QR code (public keys, signatures, partially
//! signed transactions) as an animated sequence of frames, and the decoder
//! that puts them back together (`docs/wallet.md`, "QR codes").
//!
//! One QR code holds at most 2,953 bytes; an ML-DSA-65 public key is 1,952
//! and a signature 3,309, and a code that size is hard to scan from a
//! screen. So a payload is cut into frames of a few hundred characters,
//! shown one after the other (as BC-UR's multi-part URs are), each a text:
//!
//! ```text
//! LMX1/<part>/<total>/<id>/<data>
//! ```
//!
//! - `LMX1`: the format and its version;
//! - `part`: 1 to `total`, decimal; `total`: the number of frames;
//! - `id`: 8 hex digits, the first 4 bytes of
//!   `H_"luminex/qr/multipart"(payload)`: it names the sequence (a frame of
//!   another payload has another id) and checks the reassembled payload;
//! - `data`: the payload in RFC 4648 base32 without padding, cut into
//!   `total` pieces of equal length (the last may be shorter).
//!
//! Every character is in QR's alphanumeric set (digits, capitals, `/`), so
//! a frame is encoded at 5.5 bits a character rather than 8. A decoder
//! takes frames in any order, ignores a frame it already has, refuses
//! frames of another sequence and a second, different frame for the same
//! part, and refuses a reassembled payload whose hash is not the id.
//! Nothing here draws a code: the CLI and the web pages do.

use std::collections::BTreeMap;

use data_encoding::BASE32_NOPAD;
use luminex_primitives::hash::Domain;

/// The frame prefix: format and version.
pub const PREFIX: &str = "LMX1";
/// Base32 characters of payload per frame by default (a QR code of
/// version 11 at the lowest error correction level, 61 modules a side).
pub const DEFAULT_FRAME_CHARS: usize = 300;
/// The most frames a decoder accepts for one sequence.
pub const MAX_FRAMES: u32 = 10_000;

const ID: Domain = Domain("luminex/qr/multipart");

/// A frame or sequence was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The text is not a frame of this format.
    #[error("not a {PREFIX} frame: {0}")]
    NotAFrame(&'static str),
    /// The frame belongs to another sequence than the frames before it.
    #[error("the frame is of another sequence ({found}, not {expected})")]
    OtherSequence {
        /// The sequence being read, `id/total`.
        expected: String,
        /// The frame's.
        found: String,
    },
    /// Two different frames claim the same part.
    #[error("two different frames for part {0}: one is corrupt")]
    Conflict(u32),
    /// Not every part has arrived.
    #[error("{have} of {total} frames read")]
    Incomplete {
        /// Parts read.
        have: u32,
        /// Parts in the sequence.
        total: u32,
    },
    /// The reassembled payload does not match the sequence's id.
    #[error("the frames reassemble to a corrupt payload")]
    Corrupt,
}

fn sequence_id(payload: &[u8]) -> String {
    hex::encode_upper(&ID.hash(payload).0[..4])
}

/// Cuts `payload` into frames of at most `chars` base32 characters of data
/// each (at least one frame, even for an empty payload).
pub fn encode(payload: &[u8], chars: usize) -> Vec<String> {
    let data = BASE32_NOPAD.encode(payload);
    let chars = chars.max(1);
    let pieces: Vec<&str> = if data.is_empty() {
        vec![""]
    } else {
        // Base32 is ASCII: cutting at any byte is cutting at a character.
        data.as_bytes()
            .chunks(chars)
            .map(|c| std::str::from_utf8(c).expect("base32 is ASCII"))
            .collect()
    };
    let id = sequence_id(payload);
    let total = pieces.len();
    pieces
        .iter()
        .enumerate()
        .map(|(i, d)| format!("{PREFIX}/{}/{total}/{id}/{d}", i + 1))
        .collect()
}

/// One frame, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Frame {
    part: u32,
    total: u32,
    id: String,
    data: String,
}

fn parse(text: &str) -> Result<Frame, FrameError> {
    let text = text.trim().to_ascii_uppercase();
    let mut fields = text.splitn(5, '/');
    if fields.next() != Some(PREFIX) {
        return Err(FrameError::NotAFrame("no LMX1 prefix"));
    }
    let mut number = |what| {
        fields
            .next()
            .and_then(|f| f.parse::<u32>().ok())
            .ok_or(FrameError::NotAFrame(what))
    };
    let part = number("part number")?;
    let total = number("frame count")?;
    if total == 0 || total > MAX_FRAMES || part == 0 || part > total {
        return Err(FrameError::NotAFrame("part out of range"));
    }
    let id = fields.next().ok_or(FrameError::NotAFrame("no id"))?;
    if id.len() != 8 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(FrameError::NotAFrame("id is not 8 hex digits"));
    }
    let data = fields.next().ok_or(FrameError::NotAFrame("no data"))?;
    if !data
        .bytes()
        .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    {
        return Err(FrameError::NotAFrame("data is not base32"));
    }
    Ok(Frame {
        part,
        total,
        id: id.to_string(),
        data: data.to_string(),
    })
}

/// What a frame added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// A new part.
    Added {
        /// Parts read so far.
        have: u32,
        /// Parts in the sequence.
        total: u32,
    },
    /// A part read before (a looping animation shows each part again).
    Duplicate {
        /// Parts read so far.
        have: u32,
        /// Parts in the sequence.
        total: u32,
    },
}

/// Reassembles a sequence from frames in any order.
#[derive(Debug, Clone, Default)]
pub struct Decoder {
    sequence: Option<(String, u32)>,
    parts: BTreeMap<u32, String>,
}

impl Decoder {
    /// A decoder that has read nothing.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Reads one frame. The first frame fixes the sequence; frames of
    /// another sequence are refused and change nothing.
    pub fn receive(&mut self, text: &str) -> Result<Progress, FrameError> {
        let f = parse(text)?;
        if let Some((id, total)) = &self.sequence {
            if *id != f.id || *total != f.total {
                return Err(FrameError::OtherSequence {
                    expected: format!("{id}/{total}"),
                    found: format!("{}/{}", f.id, f.total),
                });
            }
        }
        let total = f.total;
        self.sequence.get_or_insert((f.id, f.total));
        let duplicate = match self.parts.get(&f.part) {
            Some(d) if *d == f.data => true,
            Some(_) => return Err(FrameError::Conflict(f.part)),
            None => {
                self.parts.insert(f.part, f.data);
                false
            }
        };
        let have = self.parts.len() as u32;
        Ok(if duplicate {
            Progress::Duplicate { have, total }
        } else {
            Progress::Added { have, total }
        })
    }

    /// Whether every part has been read.
    pub fn is_complete(&self) -> bool {
        self.sequence
            .as_ref()
            .is_some_and(|(_, total)| self.parts.len() as u32 == *total)
    }

    /// The payload, once every part is read and it matches the id.
    pub fn payload(&self) -> Result<Vec<u8>, FrameError> {
        let Some((id, total)) = &self.sequence else {
            return Err(FrameError::Incomplete { have: 0, total: 0 });
        };
        if !self.is_complete() {
            return Err(FrameError::Incomplete {
                have: self.parts.len() as u32,
                total: *total,
            });
        }
        let data: String = self.parts.values().map(String::as_str).collect();
        let payload = BASE32_NOPAD
            .decode(data.as_bytes())
            .map_err(|_| FrameError::Corrupt)?;
        if sequence_id(&payload) != *id {
            return Err(FrameError::Corrupt);
        }
        Ok(payload)
    }
}

/// Reassembles the payload of `frames` (any order, repeats allowed).
pub fn decode<'a>(frames: impl IntoIterator<Item = &'a str>) -> Result<Vec<u8>, FrameError> {
    let mut d = Decoder::new();
    for f in frames {
        d.receive(f)?;
    }
    d.payload()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pst::{InputPolicy, PartialTx};
    use crate::Wallet;
    use luminex_ledger::ChainSpec;
    use luminex_primitives::{Amount, Encode, OutPoint};

    fn spec() -> ChainSpec {
        ChainSpec::preset("dev").unwrap()
    }

    /// Frames reversed, every other one repeated.
    fn shuffled(frames: &[String]) -> Vec<&str> {
        let mut v: Vec<&str> = frames.iter().rev().map(String::as_str).collect();
        v.extend(frames.iter().step_by(2).map(String::as_str));
        v
    }

    #[test]
    fn an_address_is_one_frame() {
        let w = Wallet::dev_key(&spec(), 0, "pw");
        let addr = w.file.addresses[0].as_bytes();
        let frames = encode(addr, DEFAULT_FRAME_CHARS);
        assert_eq!(frames.len(), 1);
        assert!(frames[0].starts_with("LMX1/1/1/"));
        assert_eq!(decode(frames.iter().map(String::as_str)).unwrap(), addr);
    }

    #[test]
    fn an_ml_dsa_65_public_key_round_trips_in_any_order() {
        let w = Wallet::dev_key(&spec(), 0, "pw");
        let key = w.keys()[0].public_key().encode();
        assert!(key.len() > 1952);
        let frames = encode(&key, DEFAULT_FRAME_CHARS);
        assert_eq!(frames.len(), (key.len() * 8).div_ceil(5).div_ceil(300));
        for f in &frames {
            assert!(f.len() <= 300 + 24);
            // QR alphanumeric characters only.
            assert!(f
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase() || b == b'/'));
        }
        let mut d = Decoder::new();
        let mut dups = 0;
        for f in shuffled(&frames) {
            if let Progress::Duplicate { .. } = d.receive(f).unwrap() {
                dups += 1;
            }
        }
        assert_eq!(dups, frames.len().div_ceil(2));
        assert_eq!(d.payload().unwrap(), key);
    }

    fn a_pst() -> Vec<u8> {
        let spec = spec();
        let w = Wallet::dev_key(&spec, 0, "pw");
        let key = w.keys()[0].public_key().clone();
        let coin = luminex_primitives::TxOut {
            amount: Amount::from_coins(5).unwrap(),
            lock: key.lock(),
        };
        let coins = vec![(
            OutPoint {
                txid: luminex_primitives::Hash([7; 32]),
                vout: 0,
            },
            coin,
        )];
        let plan = crate::plan_payment(
            &spec,
            &coins,
            |_| true,
            key.lock(),
            Amount::from_coins(1).unwrap(),
            key.lock(),
            spec.min_fee_rate,
            Vec::new(),
        )
        .unwrap();
        let mut p =
            PartialTx::new(&spec, plan.tx, plan.spent, vec![InputPolicy::Key(key)]).unwrap();
        p.sign(&spec, w.keys().iter()).unwrap();
        p.to_bytes()
    }

    #[test]
    fn a_signed_pst_round_trips() {
        let pst = a_pst();
        assert!(pst.len() > 2953, "too big for one code: {}", pst.len());
        let frames = encode(&pst, DEFAULT_FRAME_CHARS);
        assert!(frames.len() > 10);
        let back = decode(shuffled(&frames)).unwrap();
        assert_eq!(back, pst);
        assert!(PartialTx::from_bytes(&back).is_ok());
        // Lower case (some scanners) reads the same.
        let lower: Vec<String> = frames.iter().map(|f| f.to_lowercase()).collect();
        assert_eq!(decode(lower.iter().map(String::as_str)).unwrap(), pst);
    }

    #[test]
    fn missing_foreign_and_corrupt_frames_are_refused() {
        let a = encode(&[1u8; 600], 100);
        let b = encode(&[2u8; 600], 100);
        assert_eq!(a.len(), b.len());
        let mut d = Decoder::new();
        d.receive(&a[0]).unwrap();
        assert!(matches!(
            d.receive(&b[1]),
            Err(FrameError::OtherSequence { .. })
        ));
        assert_eq!(
            d.payload(),
            Err(FrameError::Incomplete {
                have: 1,
                total: a.len() as u32
            })
        );
        assert!(!d.is_complete());

        // A frame whose data changed: a conflict with the good one, or a
        // corrupt payload when it is the only copy.
        let mut bad = a[2].clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
        let bad = String::from_utf8(bad).unwrap();
        d.receive(&a[2]).unwrap();
        assert_eq!(d.receive(&bad), Err(FrameError::Conflict(3)));
        let mut with_bad: Vec<&str> = a.iter().map(String::as_str).collect();
        with_bad[2] = &bad;
        assert_eq!(decode(with_bad), Err(FrameError::Corrupt));

        for junk in [
            "hello",
            "LMX1/0/3/00000000/AA",
            "LMX1/4/3/00000000/AA",
            "LMX1/1/3/0000/AA",
            "LMX1/1/3/00000000/A1",
            "LMX2/1/1/00000000/AA",
        ] {
            assert!(
                matches!(Decoder::new().receive(junk), Err(FrameError::NotAFrame(_))),
                "{junk}"
            );
        }
    }
}
