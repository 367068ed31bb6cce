//! Files of length-prefixed records: a 4-byte little-endian length, then
//! that many bytes (a canonical encoding). Used for block files
//! (`luminex chain export`/`import`) and the saved mempool.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;

use luminex_primitives::Encode;

/// Writes `items` to `path` atomically (a temporary file renamed into place).
pub fn write<'a, T: Encode + 'a>(
    path: &Path,
    items: impl IntoIterator<Item = &'a T>,
) -> std::io::Result<usize> {
    let tmp = path.with_extension("tmp");
    let mut n = 0;
    {
        let mut w = BufWriter::new(std::fs::File::create(&tmp)?);
        for item in items {
            let bytes = item.encode();
            let len = u32::try_from(bytes.len()).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "record over 4 GiB")
            })?;
            w.write_all(&len.to_le_bytes())?;
            w.write_all(&bytes)?;
            n += 1;
        }
        w.flush()?;
        w.get_ref().sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(n)
}

/// Reads records one at a time, refusing any longer than `max` bytes.
pub struct Reader<R> {
    inner: BufReader<R>,
    max: usize,
}

impl Reader<std::fs::File> {
    /// Opens a record file.
    pub fn open(path: &Path, max: usize) -> std::io::Result<Self> {
        Ok(Reader {
            inner: BufReader::new(std::fs::File::open(path)?),
            max,
        })
    }
}

impl<R: Read> Iterator for Reader<R> {
    type Item = std::io::Result<Vec<u8>>;

    fn next(&mut self) -> Option<Self::Item> {
        let mut len = [0u8; 4];
        match self.inner.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return None,
            Err(e) => return Some(Err(e)),
        }
        let len = u32::from_le_bytes(len) as usize;
        if len > self.max {
            return Some(Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("record of {len} bytes exceeds the {}-byte limit", self.max),
            )));
        }
        let mut buf = vec![0u8; len];
        Some(self.inner.read_exact(&mut buf).map(|()| buf))
    }
}
