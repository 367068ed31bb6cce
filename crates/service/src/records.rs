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
    write_each(path, items.into_iter().map(|item| Ok(Borrowed(item))))
}

/// A record encoded through a reference.
struct Borrowed<'a, T>(&'a T);

impl<T: Encode> Encode for Borrowed<'_, T> {
    fn encode_to<S: luminex_primitives::codec::Sink>(&self, s: &mut S) {
        self.0.encode_to(s)
    }
}

/// [`write()`] for records made one at a time, each of which may fail to be
/// made: only one is held in memory at once (a chain's export is larger
/// than memory). On the first error nothing is written to `path` and the
/// temporary file is removed.
pub fn write_each<T: Encode>(
    path: &Path,
    items: impl IntoIterator<Item = std::io::Result<T>>,
) -> std::io::Result<usize> {
    let tmp = path.with_extension("tmp");
    let written = (|| {
        let mut n = 0;
        let mut w = BufWriter::new(std::fs::File::create(&tmp)?);
        for item in items {
            let bytes = item?.encode();
            let len = u32::try_from(bytes.len()).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "record over 4 GiB")
            })?;
            w.write_all(&len.to_le_bytes())?;
            w.write_all(&bytes)?;
            n += 1;
        }
        w.flush()?;
        w.get_ref().sync_all()?;
        Ok(n)
    })();
    match written {
        Ok(n) => {
            std::fs::rename(&tmp, path)?;
            Ok(n)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
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
        // The end of the file is the end of the records only between two
        // records: a file that ends inside a length or a record was cut
        // short (a copy interrupted, a full disk), and says so.
        let mut len = [0u8; 4];
        let mut got = 0;
        while got < len.len() {
            match self.inner.read(&mut len[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Some(Err(e)),
            }
        }
        match got {
            0 => return None,
            4 => {}
            _ => {
                return Some(Err(cut_short(format!(
                    "{got} of a record length's 4 bytes"
                ))))
            }
        }
        let len = u32::from_le_bytes(len) as usize;
        if len > self.max {
            return Some(Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("record of {len} bytes exceeds the {}-byte limit", self.max),
            )));
        }
        let mut buf = vec![0u8; len];
        Some(self.inner.read_exact(&mut buf).map(|()| buf).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                cut_short(format!("part of a record of {len} bytes"))
            } else {
                e
            }
        }))
    }
}

/// The error of a file that ends inside a record, after `what`.
fn cut_short(what: String) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("the file ends after {what}: it was cut short"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(bytes: &[u8]) -> Vec<std::io::Result<Vec<u8>>> {
        Reader {
            inner: BufReader::new(bytes),
            max: 1 << 20,
        }
        .collect()
    }

    #[test]
    fn a_file_cut_inside_a_record_is_an_error_not_an_end() {
        let mut file = Vec::new();
        for r in [&b"abc"[..], b"de"] {
            file.extend_from_slice(&(r.len() as u32).to_le_bytes());
            file.extend_from_slice(r);
        }
        let whole = read_all(&file);
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[1].as_ref().unwrap(), b"de");
        assert!(read_all(&[]).is_empty());
        // Cut inside the second length, and inside the second record.
        for cut in [8, 9, 10, 12] {
            let got = read_all(&file[..cut]);
            assert_eq!(got.len(), 2, "cut at {cut}");
            assert_eq!(got[0].as_ref().unwrap(), b"abc");
            let e = got[1].as_ref().unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
            assert!(e.to_string().contains("cut short"), "{e}");
        }
        // A three-byte file is no records file at all.
        assert!(read_all(&file[..3])[0].is_err());
    }

    #[test]
    fn a_record_that_cannot_be_made_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chain.blocks");
        let hashes = [
            luminex_primitives::Hash([1; 32]),
            luminex_primitives::Hash([2; 32]),
        ];
        assert_eq!(write(&path, &hashes).unwrap(), 2);
        let before = std::fs::read(&path).unwrap();
        assert_eq!(before.len(), 2 * (4 + 32));
        // The second record fails: the file already there stays as it
        // was, and no temporary file is left behind.
        let items = [
            Ok(luminex_primitives::Hash([3; 32])),
            Err(std::io::Error::other("block 2 unreadable")),
            Ok(luminex_primitives::Hash([4; 32])),
        ];
        let e = write_each(&path, items).unwrap_err();
        assert!(e.to_string().contains("block 2 unreadable"), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), before);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["chain.blocks"]);
    }
}
