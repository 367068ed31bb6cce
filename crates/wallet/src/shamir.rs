//! Shamir backups of the recovery secret: `t` of `n` shares, each a list of
//! BIP 39 words a person can copy by hand (`docs/wallet.md`, "Shamir
//! backups").
//!
//! The secret shared is the mnemonic's entropy (16 to 32 bytes), split byte
//! by byte over GF(256) by the `blahaj` crate: any `t` shares give it back,
//! fewer give no information about it. Each share carries what recovery
//! needs to refuse a bad set rather than make a wrong wallet:
//!
//! - the format version, a random backup id shared by the shares of one
//!   backup (shares of two backups never mix), the threshold, the share's
//!   index and the secret's length;
//! - a 32-bit digest of the secret, checked after recovery, so that shares
//!   that slipped past the id check still cannot give a wrong wallet;
//! - a 33-bit checksum over all of that, so that a mistyped word is found
//!   in the share it is in.

use std::collections::BTreeMap;

use blahaj::{Share, Sharks};
use luminex_primitives::hash::Domain;
use rand::RngCore;
use zeroize::Zeroizing;

/// Format version of the shares this build writes and reads.
pub const SHARE_VERSION: u8 = 1;

/// Bytes before the share's value: version, id (2), threshold, index,
/// secret length, digest (4).
const HEADER: usize = 10;
/// Words of checksum at the end of a share.
const CHECKSUM_WORDS: usize = 3;
const CHECKSUM: Domain = Domain("luminex/wallet/shamir/checksum");
const DIGEST: Domain = Domain("luminex/wallet/shamir/digest");

/// Splitting or recovering a backup failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShamirError {
    /// The threshold and share count are not `2 <= t <= n <= 255`.
    #[error("a backup needs 2 <= threshold <= shares <= 255 (got {threshold} of {shares})")]
    Parameters {
        /// Threshold asked for.
        threshold: usize,
        /// Shares asked for.
        shares: usize,
    },
    /// The secret is not a BIP 39 entropy length (16 to 32 bytes, a
    /// multiple of 4).
    #[error("a secret of {0} bytes cannot be shared (16 to 32, a multiple of 4)")]
    SecretLength(usize),
    /// A word is not in the BIP 39 English word list.
    #[error("word {position} ({word:?}) is not in the word list")]
    UnknownWord {
        /// Its position, from 1.
        position: usize,
        /// The word as written.
        word: String,
    },
    /// The share has a number of words no share has.
    #[error("the share has {found} words; a share has {}, one length per length of recovery phrase: a word is missing or extra", share_lengths())]
    WordCountUnknown {
        /// Words found.
        found: usize,
    },
    /// The share has too few or too many words.
    #[error("the share has {found} words; a share of this backup has {expected}: a word is missing or extra")]
    WordCount {
        /// Words found.
        found: usize,
        /// Words its header calls for.
        expected: usize,
    },
    /// The share's checksum does not match its words.
    #[error("the share's checksum does not match: a word is mistyped")]
    Checksum,
    /// The share is of a format version this build does not know.
    #[error("share format version {0} is not supported")]
    Version(u8),
    /// The share's fields are out of range.
    #[error("the share is malformed: {0}")]
    Malformed(&'static str),
    /// Fewer distinct shares than the threshold.
    #[error(
        "{have} of the {need} shares needed: recovery needs {need} different shares of the backup"
    )]
    NotEnoughShares {
        /// Distinct shares given.
        have: usize,
        /// The threshold.
        need: usize,
    },
    /// The shares come from different backups.
    #[error("the shares are from different backups (backup ids {0:04x} and {1:04x})")]
    DifferentBackups(u16, u16),
    /// Two different shares claim the same index.
    #[error("two different shares have index {0}")]
    ConflictingShares(u8),
    /// The recovered secret does not match the backup's digest.
    #[error("the shares do not recover the backed-up secret: they are not all of one backup")]
    Digest,
}

/// One share of a backup.
#[derive(Clone, PartialEq, Eq)]
pub struct ShamirShare {
    /// The backup's random id, the same in each of its shares.
    pub id: u16,
    /// Shares needed to recover.
    pub threshold: u8,
    /// The share's index, 1 to 255 (its point on the polynomials).
    pub index: u8,
    digest: [u8; 4],
    value: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for ShamirShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The value stays out of logs.
        f.debug_struct("ShamirShare")
            .field("id", &self.id)
            .field("threshold", &self.threshold)
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

fn digest(id: u16, secret: &[u8]) -> [u8; 4] {
    let mut h = DIGEST.hasher();
    h.update(&id.to_be_bytes());
    h.update(secret);
    let d = h.finish().0;
    [d[0], d[1], d[2], d[3]]
}

fn check_secret_len(len: usize) -> Result<(), ShamirError> {
    if (16..=32).contains(&len) && len.is_multiple_of(4) {
        Ok(())
    } else {
        Err(ShamirError::SecretLength(len))
    }
}

/// The 33 bits of checksum of `payload`, as three 11-bit words.
fn checksum_words(payload: &[u8]) -> [u16; CHECKSUM_WORDS] {
    let h = CHECKSUM.hash(payload).0;
    let bits = u64::from_be_bytes([h[0], h[1], h[2], h[3], h[4], 0, 0, 0]) >> 31;
    [
        ((bits >> 22) & 0x7ff) as u16,
        ((bits >> 11) & 0x7ff) as u16,
        (bits & 0x7ff) as u16,
    ]
}

/// Words (11 bits each) of `bytes`, zero-padded to a whole word.
fn to_11_bits(bytes: &[u8]) -> Vec<u16> {
    let mut out = Vec::with_capacity((bytes.len() * 8).div_ceil(11));
    let (mut acc, mut n) = (0u32, 0u32);
    for &b in bytes {
        acc = (acc << 8) | u32::from(b);
        n += 8;
        while n >= 11 {
            n -= 11;
            out.push(((acc >> n) & 0x7ff) as u16);
        }
    }
    if n > 0 {
        out.push(((acc << (11 - n)) & 0x7ff) as u16);
    }
    out
}

/// Bytes of 11-bit `words`; the bits left over (fewer than 8) must be zero.
fn from_11_bits(words: &[u16]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(words.len() * 11 / 8);
    let (mut acc, mut n) = (0u32, 0u32);
    for &w in words {
        acc = (acc << 11) | u32::from(w);
        n += 11;
        while n >= 8 {
            n -= 8;
            out.push((acc >> n) as u8);
        }
        acc &= (1 << n) - 1;
    }
    (acc == 0).then_some(out)
}

/// The index in the English BIP 39 list of a word as a person wrote it: any
/// case, and a unique prefix of four letters or more is enough.
fn word_index(word: &str) -> Option<u16> {
    let lang = bip39::Language::English;
    let w = word.to_lowercase();
    if let Some(i) = lang.find_word(&w) {
        return Some(i);
    }
    if w.chars().count() < 4 {
        return None;
    }
    match lang.words_by_prefix(&w) {
        [only] => lang.find_word(only),
        _ => None,
    }
}

impl ShamirShare {
    fn payload(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(HEADER + self.value.len());
        p.push(SHARE_VERSION);
        p.extend_from_slice(&self.id.to_be_bytes());
        p.push(self.threshold);
        p.push(self.index);
        p.push(self.value.len() as u8);
        p.extend_from_slice(&self.digest);
        p.extend_from_slice(&self.value);
        p
    }

    /// The share as words of the English BIP 39 list, checksum last.
    pub fn to_words(&self) -> Vec<&'static str> {
        let payload = Zeroizing::new(self.payload());
        let list = bip39::Language::English.word_list();
        to_11_bits(&payload)
            .into_iter()
            .chain(checksum_words(&payload))
            .map(|i| list[usize::from(i)])
            .collect()
    }

    /// The words joined by spaces.
    pub fn to_phrase(&self) -> Zeroizing<String> {
        Zeroizing::new(self.to_words().join(" "))
    }

    /// Reads a share from its words (separated by any whitespace; any case;
    /// a unique prefix of at least four letters stands for a word), checking
    /// its checksum.
    pub fn from_words(text: &str) -> Result<ShamirShare, ShamirError> {
        let words = text
            .split_whitespace()
            .enumerate()
            .map(|(i, w)| {
                word_index(w).ok_or_else(|| ShamirError::UnknownWord {
                    position: i + 1,
                    word: w.to_string(),
                })
            })
            .collect::<Result<Vec<u16>, _>>()?;
        // Shares come in a few lengths (one per secret length): a count
        // that is none of them is a word missing or extra, which would
        // otherwise shift every later bit and read as a mistyped word.
        // Which length was meant is not known here: the nearest valid one
        // is often not the backup's (30 words of a 34-word share are
        // nearest 31), so every length is named.
        if !(16..=32)
            .step_by(4)
            .map(share_words)
            .any(|n| n == words.len())
        {
            return Err(ShamirError::WordCountUnknown { found: words.len() });
        }
        // The header's first word holds the version and the id's first bits;
        // read the length from the header to know how many words to expect.
        let (body, sum) = words.split_at(words.len() - CHECKSUM_WORDS);
        let bytes = Zeroizing::new(from_11_bits(body).ok_or(ShamirError::Checksum)?);
        if bytes.len() < HEADER {
            return Err(ShamirError::WordCount {
                found: words.len(),
                expected: share_words(16),
            });
        }
        if bytes[0] != SHARE_VERSION {
            // A mistyped first word changes the version: say so when the
            // checksum fails too.
            return Err(if checksum_words(&bytes) != sum {
                ShamirError::Checksum
            } else {
                ShamirError::Version(bytes[0])
            });
        }
        let len = usize::from(bytes[5]);
        let expected = share_words(len);
        if words.len() != expected || bytes.len() != HEADER + len {
            return Err(if check_secret_len(len).is_err() {
                ShamirError::Checksum
            } else {
                ShamirError::WordCount {
                    found: words.len(),
                    expected,
                }
            });
        }
        if checksum_words(&bytes) != sum {
            return Err(ShamirError::Checksum);
        }
        check_secret_len(len).map_err(|_| ShamirError::Malformed("secret length"))?;
        let (threshold, index) = (bytes[3], bytes[4]);
        if threshold < 2 {
            return Err(ShamirError::Malformed("threshold below 2"));
        }
        if index == 0 {
            return Err(ShamirError::Malformed("index 0"));
        }
        Ok(ShamirShare {
            id: u16::from_be_bytes([bytes[1], bytes[2]]),
            threshold,
            index,
            digest: [bytes[6], bytes[7], bytes[8], bytes[9]],
            value: Zeroizing::new(bytes[HEADER..].to_vec()),
        })
    }
}

/// The word counts shares have, written for a person: "22, 25, 28, 31 or
/// 34".
fn share_lengths() -> String {
    let n: Vec<String> = (16..=32)
        .step_by(4)
        .map(|l| share_words(l).to_string())
        .collect();
    match n.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => n.join(""),
    }
}

/// Words in a share of a secret of `len` bytes: 22 for 16 bytes (a
/// 12-word phrase), 34 for 32 bytes (24 words).
pub fn share_words(len: usize) -> usize {
    ((HEADER + len) * 8).div_ceil(11) + CHECKSUM_WORDS
}

/// Splits `secret` (16 to 32 bytes, a multiple of 4) into `shares` shares,
/// any `threshold` of which recover it, under a fresh random backup id.
pub fn split(
    secret: &[u8],
    threshold: usize,
    shares: usize,
) -> Result<Vec<ShamirShare>, ShamirError> {
    check_secret_len(secret.len())?;
    if threshold < 2 || threshold > shares || shares > 255 {
        return Err(ShamirError::Parameters { threshold, shares });
    }
    let id = (rand::rngs::OsRng.next_u32() & 0xffff) as u16;
    let digest = digest(id, secret);
    let t = threshold as u8;
    Ok(Sharks(t)
        .dealer(secret)
        .take(shares)
        .map(|s| {
            let bytes = Zeroizing::new(Vec::from(&s));
            ShamirShare {
                id,
                threshold: t,
                index: bytes[0],
                digest,
                value: Zeroizing::new(bytes[1..].to_vec()),
            }
        })
        .collect())
}

/// Recovers the secret from shares of one backup: at least its threshold of
/// distinct shares (a share given twice counts once), all with the same id
/// and threshold, and the result must match the backup's digest.
pub fn combine(shares: &[ShamirShare]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    let Some(first) = shares.first() else {
        return Err(ShamirError::NotEnoughShares { have: 0, need: 2 });
    };
    let mut distinct: BTreeMap<u8, &ShamirShare> = BTreeMap::new();
    for s in shares {
        if s.id != first.id || s.threshold != first.threshold || s.digest != first.digest {
            return Err(ShamirError::DifferentBackups(first.id, s.id));
        }
        if s.value.len() != first.value.len() {
            return Err(ShamirError::DifferentBackups(first.id, s.id));
        }
        match distinct.get(&s.index) {
            Some(other) if *other != s => return Err(ShamirError::ConflictingShares(s.index)),
            _ => {
                distinct.insert(s.index, s);
            }
        }
    }
    let need = usize::from(first.threshold);
    if distinct.len() < need {
        return Err(ShamirError::NotEnoughShares {
            have: distinct.len(),
            need,
        });
    }
    let points: Vec<Share> = distinct
        .values()
        .map(|s| {
            let mut bytes = Zeroizing::new(Vec::with_capacity(1 + s.value.len()));
            bytes.push(s.index);
            bytes.extend_from_slice(&s.value);
            Share::try_from(bytes.as_slice()).expect("a share has an index and a value")
        })
        .collect();
    let secret = Zeroizing::new(Sharks(first.threshold).recover(&points).map_err(|_| {
        ShamirError::NotEnoughShares {
            have: distinct.len(),
            need,
        }
    })?);
    if digest(first.id, &secret) != first.digest {
        return Err(ShamirError::Digest);
    }
    Ok(secret)
}

/// Splits a BIP 39 phrase's entropy into shares.
pub fn split_mnemonic(
    phrase: &str,
    threshold: usize,
    shares: usize,
) -> Result<Vec<ShamirShare>, crate::WalletError> {
    let m = bip39::Mnemonic::parse_normalized(phrase.trim())
        .map_err(|e| crate::WalletError::Mnemonic(e.to_string()))?;
    let entropy = Zeroizing::new(m.to_entropy());
    Ok(split(&entropy, threshold, shares)?)
}

/// Recovers a BIP 39 phrase from shares made by [`split_mnemonic`].
pub fn recover_mnemonic(shares: &[ShamirShare]) -> Result<Zeroizing<String>, crate::WalletError> {
    let entropy = combine(shares)?;
    let m = bip39::Mnemonic::from_entropy(&entropy)
        .map_err(|e| crate::WalletError::Mnemonic(e.to_string()))?;
    Ok(Zeroizing::new(m.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phrase24() -> String {
        let (_, p) = crate::Wallet::create(
            &luminex_ledger::ChainSpec::preset("dev").unwrap(),
            luminex_primitives::SchemeId::MlDsa65,
            "pw",
        );
        p.to_string()
    }

    fn reread(s: &ShamirShare) -> ShamirShare {
        ShamirShare::from_words(&s.to_phrase()).unwrap()
    }

    #[test]
    fn three_of_five_recover_the_mnemonic_and_two_do_not() {
        let phrase = phrase24();
        let shares: Vec<ShamirShare> = split_mnemonic(&phrase, 3, 5)
            .unwrap()
            .iter()
            .map(reread)
            .collect();
        assert_eq!(shares.len(), 5);
        for s in &shares {
            assert_eq!(s.to_words().len(), 34);
            assert_eq!((s.threshold, s.id), (3, shares[0].id));
        }
        for pick in [[0, 1, 2], [0, 2, 4], [4, 3, 1], [1, 2, 3]] {
            let some: Vec<ShamirShare> = pick.iter().map(|&i| shares[i].clone()).collect();
            assert_eq!(recover_mnemonic(&some).unwrap().as_str(), phrase);
        }
        assert_eq!(recover_mnemonic(&shares).unwrap().as_str(), phrase);
        let two = [shares[0].clone(), shares[3].clone()];
        assert!(matches!(
            recover_mnemonic(&two),
            Err(crate::WalletError::Shamir(ShamirError::NotEnoughShares {
                have: 2,
                need: 3
            }))
        ));
        // A share given twice counts once.
        let dup = [shares[0].clone(), shares[3].clone(), shares[0].clone()];
        assert!(matches!(
            combine(&dup),
            Err(ShamirError::NotEnoughShares { have: 2, need: 3 })
        ));
    }

    #[test]
    fn a_twelve_word_phrase_makes_shorter_shares() {
        let entropy = [7u8; 16];
        let phrase = bip39::Mnemonic::from_entropy(&entropy).unwrap().to_string();
        let shares = split_mnemonic(&phrase, 2, 3).unwrap();
        assert_eq!(shares[0].to_words().len(), 22);
        let two = [reread(&shares[2]), reread(&shares[0])];
        assert_eq!(recover_mnemonic(&two).unwrap().as_str(), phrase);
    }

    #[test]
    fn a_mistyped_word_is_detected() {
        let shares = split(&[42u8; 32], 2, 3).unwrap();
        let words = shares[1].to_words();
        let list = bip39::Language::English.word_list();
        for pos in 0..words.len() {
            // Each word replaced by its neighbour in the list.
            let mut typo = words.clone();
            let i = list.iter().position(|w| *w == words[pos]).unwrap();
            typo[pos] = list[(i + 1) % 2048];
            let e = ShamirShare::from_words(&typo.join(" ")).unwrap_err();
            assert!(
                matches!(
                    e,
                    ShamirError::Checksum
                        | ShamirError::WordCount { .. }
                        | ShamirError::WordCountUnknown { .. }
                ),
                "word {pos}: {e:?}"
            );
        }
        // Two words swapped.
        let mut swapped = words.clone();
        let j = (1..words.len()).find(|&j| words[j] != words[0]).unwrap();
        swapped.swap(0, j);
        assert!(ShamirShare::from_words(&swapped.join(" ")).is_err());
        // A word left out, a word not in the list.
        let short = words[1..].join(" ");
        assert!(matches!(
            ShamirShare::from_words(&short),
            Err(ShamirError::WordCountUnknown { found }) if found + 1 == words.len()
        ));
        // Four words short of a 34-word share is nearest a 31-word one: the
        // error names every length rather than a wrong one.
        let e = ShamirShare::from_words(&words[4..].join(" ")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "the share has 30 words; a share has 22, 25, 28, 31 or 34, one length per length of recovery phrase: a word is missing or extra"
        );
        for pos in [5, words.len() - 1] {
            let mut missing = words.clone();
            missing.remove(pos);
            let e = ShamirShare::from_words(&missing.join(" ")).unwrap_err();
            assert!(e.to_string().contains("a word is missing"), "{e}");
        }
        let mut odd = words.clone();
        odd[5] = "luminex";
        assert_eq!(
            ShamirShare::from_words(&odd.join(" ")),
            Err(ShamirError::UnknownWord {
                position: 6,
                word: "luminex".into()
            })
        );
        // Any case and four-letter prefixes are read as the words.
        let loose: Vec<String> = words
            .iter()
            .map(|w| w.chars().take(4).collect::<String>().to_uppercase())
            .collect();
        assert_eq!(
            ShamirShare::from_words(&loose.join("\n")).unwrap(),
            shares[1]
        );
    }

    #[test]
    fn shares_of_different_backups_do_not_mix() {
        let secret = [9u8; 32];
        let a = split(&secret, 2, 3).unwrap();
        let mut b = split(&secret, 2, 3).unwrap();
        if b[0].id == a[0].id {
            // One chance in 65,536: make the ids differ for this test.
            for s in &mut b {
                s.id = a[0].id ^ 1;
                s.digest = digest(s.id, &secret);
            }
        }
        assert!(matches!(
            combine(&[a[0].clone(), b[1].clone()]),
            Err(ShamirError::DifferentBackups(..))
        ));
        // Even under the same id (forced here), the digest refuses the mix.
        let mut forged = b[1].clone();
        forged.id = a[0].id;
        forged.digest = a[0].digest;
        assert_eq!(combine(&[a[0].clone(), forged]), Err(ShamirError::Digest));
        // Same index, different value.
        let mut clash = a[1].clone();
        clash.index = a[0].index;
        assert_eq!(
            combine(&[a[0].clone(), clash, a[2].clone()]),
            Err(ShamirError::ConflictingShares(a[0].index))
        );
        assert_eq!(
            combine(&[a[2].clone(), a[0].clone()]).unwrap().as_slice(),
            &secret
        );
    }

    #[test]
    fn parameters_are_checked() {
        for (t, n) in [(1, 3), (4, 3), (2, 256), (0, 0)] {
            assert_eq!(
                split(&[0u8; 16], t, n).unwrap_err(),
                ShamirError::Parameters {
                    threshold: t,
                    shares: n
                }
            );
        }
        assert_eq!(
            split(&[0u8; 15], 2, 3).unwrap_err(),
            ShamirError::SecretLength(15)
        );
        assert_eq!(split(&[0u8; 20], 255, 255).unwrap().len(), 255);
    }

    /// The bit packing round-trips and pads with zeros.
    #[test]
    fn eleven_bit_words_round_trip() {
        for len in [1usize, 10, 26, 42] {
            let bytes: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(37)).collect();
            let words = to_11_bits(&bytes);
            assert_eq!(words.len(), (len * 8).div_ceil(11));
            let back = from_11_bits(&words).unwrap();
            assert_eq!(&back[..len], &bytes[..]);
            assert!(back[len..].iter().all(|&b| b == 0));
        }
    }
}
