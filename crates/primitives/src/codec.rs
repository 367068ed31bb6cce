//! The canonical binary codec.
//!
//! Written by hand rather than through a serde format because consensus needs
//! properties no general-purpose format gives together: exactly one encoding
//! per value (minimal variable-length integers, no trailing bytes), a bound on
//! every length field checked *before* allocating, and range checks on values
//! such as amounts and enum tags. The format is specified, with test vectors,
//! in `docs/encoding.md`.
//!
//! Integers are little-endian. Lengths and counts use Bitcoin's CompactSize
//! encoding, which must be minimal.

/// Why a byte string is not the canonical encoding of a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the value did.
    #[error("unexpected end of input reading {0}")]
    UnexpectedEnd(&'static str),
    /// Bytes remained after a complete value.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A CompactSize used more bytes than its value needs.
    #[error("non-minimal length encoding")]
    NonMinimalLength,
    /// A length or count exceeds the bound for its field.
    #[error("{field}: length {len} exceeds the limit {max}")]
    TooLong {
        /// The field being decoded.
        field: &'static str,
        /// The encoded length.
        len: u64,
        /// The largest allowed.
        max: u64,
    },
    /// A value is outside its allowed range.
    #[error("{field}: value out of range")]
    OutOfRange {
        /// The field being decoded.
        field: &'static str,
    },
    /// An enum tag that names no variant.
    #[error("{field}: unknown tag {tag}")]
    UnknownTag {
        /// The field being decoded.
        field: &'static str,
        /// The tag found.
        tag: u64,
    },
}

/// Where encoded bytes go: a buffer, a hasher or a byte counter.
pub trait Sink {
    /// Appends bytes.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A sink that only counts bytes, for sizes without allocation.
#[derive(Default)]
pub struct Counter(pub usize);

impl Sink for Counter {
    fn put(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

/// A value with a canonical binary encoding.
pub trait Encode {
    /// Writes the encoding to a sink.
    fn encode_to<S: Sink>(&self, s: &mut S);

    /// The encoding as a new vector.
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.encoded_len());
        self.encode_to(&mut v);
        v
    }

    /// The length of the encoding in bytes.
    fn encoded_len(&self) -> usize {
        let mut c = Counter::default();
        self.encode_to(&mut c);
        c.0
    }
}

/// A value that can be decoded from its canonical encoding.
pub trait Decode: Sized {
    /// Reads one value from the reader.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;

    /// Decodes a value that must span `bytes` exactly.
    fn decode_all(bytes: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        let v = Self::decode(&mut r)?;
        r.finish()?;
        Ok(v)
    }
}

/// A cursor over input bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    /// A reader over `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Fails unless every byte was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.buf.len()))
        }
    }

    /// Takes `n` bytes.
    pub fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.buf.len() < n {
            return Err(DecodeError::UnexpectedEnd(what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    /// Takes a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// The next byte, without consuming it.
    pub fn peek_u8(&self, what: &'static str) -> Result<u8, DecodeError> {
        self.buf
            .first()
            .copied()
            .ok_or(DecodeError::UnexpectedEnd(what))
    }

    /// Reads a `u8`.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(what)?[0])
    }
    /// Reads a little-endian `u16`.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }
    /// Reads a little-endian `u32`.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    /// Reads a little-endian `u64`.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }

    /// Reads a minimal CompactSize no larger than `max`.
    pub fn length(&mut self, what: &'static str, max: u64) -> Result<usize, DecodeError> {
        let first = self.u8(what)?;
        let (value, min) = match first {
            0xfd => (u64::from(self.u16(what)?), 0xfd),
            0xfe => (u64::from(self.u32(what)?), 0x1_0000),
            0xff => (self.u64(what)?, 0x1_0000_0000),
            n => (u64::from(n), 0),
        };
        if value < min {
            return Err(DecodeError::NonMinimalLength);
        }
        if value > max {
            return Err(DecodeError::TooLong {
                field: what,
                len: value,
                max,
            });
        }
        usize::try_from(value).map_err(|_| DecodeError::OutOfRange { field: what })
    }

    /// Reads length-prefixed bytes of at most `max` bytes.
    pub fn bytes(&mut self, what: &'static str, max: u64) -> Result<&'a [u8], DecodeError> {
        let n = self.length(what, max)?;
        self.take(n, what)
    }

    /// Reads a count-prefixed sequence of at most `max` items.
    ///
    /// The vector grows as items decode instead of reserving `count` up front,
    /// so a lying count cannot make us allocate memory the input cannot fill.
    pub fn seq<T>(
        &mut self,
        what: &'static str,
        max: u64,
        mut item: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let n = self.length(what, max)?;
        let mut v = Vec::with_capacity(n.min(self.remaining()).min(1024));
        for _ in 0..n {
            v.push(item(self)?);
        }
        Ok(v)
    }
}

/// Writes a CompactSize length.
pub fn put_length<S: Sink>(s: &mut S, n: usize) {
    let n = n as u64;
    if n < 0xfd {
        s.put(&[n as u8]);
    } else if n <= 0xffff {
        s.put(&[0xfd]);
        s.put(&(n as u16).to_le_bytes());
    } else if n <= 0xffff_ffff {
        s.put(&[0xfe]);
        s.put(&(n as u32).to_le_bytes());
    } else {
        s.put(&[0xff]);
        s.put(&n.to_le_bytes());
    }
}

/// Writes length-prefixed bytes.
pub fn put_bytes<S: Sink>(s: &mut S, bytes: &[u8]) {
    put_length(s, bytes.len());
    s.put(bytes);
}

/// Writes a count-prefixed sequence.
pub fn put_seq<S: Sink, T: Encode>(s: &mut S, items: &[T]) {
    put_length(s, items.len());
    for i in items {
        i.encode_to(s);
    }
}

impl Encode for crate::Hash {
    fn encode_to<S: Sink>(&self, s: &mut S) {
        s.put(&self.0);
    }
}

impl Decode for crate::Hash {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(crate::Hash(r.array("hash")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_size_minimal() {
        for n in [
            0usize,
            1,
            0xfc,
            0xfd,
            0xffff,
            0x10000,
            0xffff_ffff,
            0x1_0000_0000,
        ] {
            let mut v = Vec::new();
            put_length(&mut v, n);
            let mut r = Reader::new(&v);
            assert_eq!(r.length("n", u64::MAX).unwrap(), n);
            r.finish().unwrap();
        }
        // 5 encoded with the 3-byte form is not canonical.
        let mut r = Reader::new(&[0xfd, 5, 0]);
        assert_eq!(r.length("n", 100), Err(DecodeError::NonMinimalLength));
        let mut r = Reader::new(&[0xfe, 0xff, 0xff, 0, 0]);
        assert_eq!(r.length("n", u64::MAX), Err(DecodeError::NonMinimalLength));
        let mut r = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        assert_eq!(r.length("n", u64::MAX), Err(DecodeError::NonMinimalLength));
    }

    #[test]
    fn length_bound_checked_before_reading() {
        let mut r = Reader::new(&[0xfe, 0, 0, 0, 1]);
        assert!(matches!(
            r.bytes("payload", 1000),
            Err(DecodeError::TooLong { .. })
        ));
    }
}
