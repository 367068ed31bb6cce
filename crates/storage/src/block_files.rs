//! Append-only files for block transactions (ADR 0054), beside the fjall
//! database: the transactions of a large batch are written once, as one
//! contiguous append, and the database keeps only a small reference to
//! each. In fjall they went through its journal, its memtable and then a
//! blob file — written twice and copied three times — which was most of
//! the store's cost per transfer (BENCHMARKS.md, "Block files").
//!
//! Bitcoin Core's `blk*.dat` files are the model: numbered files of up to
//! [`MAX_FILE_BYTES`], never rewritten; a reorganisation leaves what it
//! disconnected where it is. The files are written before the database
//! batch that refers to them and synced before it is committed, so a
//! reference in the database always points at durable bytes, whatever the
//! batch's own durability; bytes a crash left after the last reference
//! are never read and later appends go after them.
//!
//! Written by hand: what is needed is an append, a positioned read and a
//! checksum, and a general log or blob-store crate would bring its own
//! recovery and format on top of fjall's.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use rustix::fs::{Mode, OFlags};

use crate::kv::StoreError;

/// A file is closed for appends once it holds this much (Core's size).
pub const MAX_FILE_BYTES: u64 = 128 << 20;

/// Appends start at, and are padded to, a multiple of this many bytes (what
/// `O_DIRECT` asks of offsets, lengths and buffers).
pub const ALIGN: u64 = 4096;

/// Where a value lives in the block files: file number, offset, length
/// and the CRC-32 of its bytes. Encoded in [`BlobRef::LEN`] bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlobRef {
    file: u32,
    offset: u64,
    len: u32,
    crc: u32,
}

impl BlobRef {
    /// Encoded length.
    pub(crate) const LEN: usize = 20;

    pub(crate) fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0; Self::LEN];
        out[..4].copy_from_slice(&self.file.to_le_bytes());
        out[4..12].copy_from_slice(&self.offset.to_le_bytes());
        out[12..16].copy_from_slice(&self.len.to_le_bytes());
        out[16..].copy_from_slice(&self.crc.to_le_bytes());
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<BlobRef, StoreError> {
        let bytes: &[u8; Self::LEN] = bytes.try_into().map_err(|_| {
            StoreError::Damaged(format!(
                "block file reference of {} bytes, not {}",
                bytes.len(),
                Self::LEN
            ))
        })?;
        let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
        Ok(BlobRef {
            file: u32_at(0),
            offset: u64::from_le_bytes(bytes[4..12].try_into().expect("8 bytes")),
            len: u32_at(12),
            crc: u32_at(16),
        })
    }
}

/// The file being appended to.
struct Writer {
    number: u32,
    file: File,
    /// Where the file ends (the next append starts here, rounded up).
    len: u64,
    /// Whether `file` bypasses the page cache (`O_DIRECT`).
    direct: bool,
    /// The staging buffer of the last append, reused by the next (see
    /// [`KEPT_BUFFER_BYTES`]).
    buf: Vec<u8>,
}

/// An append's staging buffer up to this size is kept for the next one.
/// A fresh buffer per block cost a page fault and a zeroing per 4 KiB page
/// of every block — 6 % of a BFT validator's CPU at 3,500 tx/s, most of it
/// in the kernel (on this project's VMs a fresh page is also a fault in the
/// host); one kept buffer costs at most this much memory.
const KEPT_BUFFER_BYTES: usize = 64 << 20;

/// The numbered block files in one directory.
pub(crate) struct BlockFiles {
    dir: PathBuf,
    max_file_bytes: u64,
    writer: Mutex<Writer>,
    readers: RwLock<HashMap<u32, Arc<File>>>,
    /// Bytes in all files (for `disk_space`).
    total: AtomicU64,
}

fn io(what: &str, path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Engine(format!("block file {}: {what}: {e}", path.display()))
}

impl BlockFiles {
    /// Opens the files in `dir` (creating it), appending after the end of
    /// the highest-numbered one.
    pub(crate) fn open(dir: &Path) -> Result<BlockFiles, StoreError> {
        BlockFiles::open_with(dir, MAX_FILE_BYTES, true)
    }

    /// [`BlockFiles::open`] with files closed at `max_file_bytes`, and
    /// with writes through the page cache unless `direct`.
    fn open_with(dir: &Path, max_file_bytes: u64, direct: bool) -> Result<BlockFiles, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| io("creating", dir, e))?;
        let mut highest = 0;
        let mut total = 0;
        let mut found = std::collections::BTreeSet::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io("listing", dir, e))? {
            let entry = entry.map_err(|e| io("listing", dir, e))?;
            let name = entry.file_name();
            if let Some(n) = name.to_str().and_then(file_number) {
                highest = highest.max(n);
                found.insert(n);
                total += entry.metadata().map_err(|e| io("reading", dir, e))?.len();
            }
        }
        // Files are numbered from 0 without gaps: one missing below the
        // highest was deleted, and the blocks it held cannot be read.
        if let Some(gap) = (0..highest).find(|n| !found.contains(n)) {
            let path = Self::path(dir, gap);
            return Err(io(
                "missing",
                &path,
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "the blocks it held cannot be read; restore it or sync the chain again",
                ),
            ));
        }
        let writer = Self::open_writer(dir, highest, direct)?;
        Ok(BlockFiles {
            dir: dir.to_path_buf(),
            max_file_bytes,
            writer: Mutex::new(writer),
            readers: RwLock::new(HashMap::new()),
            total: AtomicU64::new(total),
        })
    }

    fn path(dir: &Path, number: u32) -> PathBuf {
        dir.join(format!("blk{number:05}.dat"))
    }

    fn open_writer(dir: &Path, number: u32, direct: bool) -> Result<Writer, StoreError> {
        let path = Self::path(dir, number);
        let opened = if direct {
            // Writes that skip the page cache (see `append`); a file system
            // that refuses them (tmpfs) gets buffered writes.
            rustix::fs::open(
                &path,
                OFlags::WRONLY | OFlags::CREATE | OFlags::CLOEXEC | OFlags::DIRECT,
                Mode::from_raw_mode(0o644),
            )
            .ok()
            .map(File::from)
        } else {
            None
        };
        let (file, direct) = match opened {
            Some(f) => (f, true),
            None => (
                OpenOptions::new()
                    .create(true)
                    .write(true)
                    .truncate(false)
                    .open(&path)
                    .map_err(|e| io("opening", &path, e))?,
                false,
            ),
        };
        let len = file.metadata().map_err(|e| io("reading", &path, e))?.len();
        Ok(Writer {
            number,
            file,
            len,
            direct,
            buf: Vec::new(),
        })
    }

    /// Appends `values` as one write and syncs it, returning where each
    /// went. When this returns the bytes are durable.
    ///
    /// The write bypasses the page cache (`O_DIRECT`), so each append
    /// starts at a multiple of [`ALIGN`] and is padded to one: a block's
    /// bytes are written once and rarely read again soon (recent blocks
    /// are kept in memory), and copying them into the page cache cost more
    /// than the rest of the commit — on this project's VMs, whose host
    /// backs fresh guest pages lazily, ~10x a plain copy (BENCHMARKS.md,
    /// "Block files").
    pub(crate) fn append(&self, values: &[&[u8]]) -> Result<Vec<BlobRef>, StoreError> {
        let mut w = self.writer.lock();
        if w.len >= self.max_file_bytes {
            // The full file was synced by the append that filled it.
            let direct = w.direct;
            let buf = std::mem::take(&mut w.buf);
            *w = Self::open_writer(&self.dir, w.number + 1, direct)?;
            w.buf = buf;
        }
        let align = if w.direct { ALIGN } else { 1 };
        let start = w.len.div_ceil(align) * align;
        let size: usize = values.iter().map(|v| v.len()).sum();
        let padded = size.div_ceil(align as usize) * align as usize;
        // A buffer whose start is aligned in memory too, as O_DIRECT needs:
        // the kept one (grown when too small), or one of its own for an
        // append larger than what is kept.
        let w: &mut Writer = &mut w;
        let need = padded + align as usize;
        let mut own;
        let backing = if need > KEPT_BUFFER_BYTES {
            own = vec![0u8; need];
            &mut own
        } else {
            if w.buf.len() < need {
                w.buf = vec![0u8; need];
            }
            &mut w.buf
        };
        let skew = backing.as_ptr().align_offset(align as usize);
        let buf = &mut backing[skew..skew + padded];
        let mut at = 0;
        let mut refs = Vec::with_capacity(values.len());
        for v in values {
            let len = u32::try_from(v.len())
                .map_err(|_| StoreError::Engine(format!("value of {} bytes", v.len())))?;
            refs.push(BlobRef {
                file: w.number,
                offset: start + at as u64,
                len,
                crc: crc32fast::hash(v),
            });
            buf[at..at + v.len()].copy_from_slice(v);
            at += v.len();
        }
        // The padding is written as zeros, not as a former block's bytes.
        buf[at..].fill(0);
        let path = Self::path(&self.dir, w.number);
        if let Err(e) = w.file.write_all_at(buf, start) {
            // Part of it may be written: count the file's real length, so
            // the next append goes after it.
            if let Ok(m) = w.file.metadata() {
                w.len = m.len().max(w.len);
            }
            return Err(io("writing", &path, e));
        }
        let end = start + padded as u64;
        self.total.fetch_add(end - w.len, Ordering::Relaxed);
        w.len = end;
        w.file.sync_data().map_err(|e| io("syncing", &path, e))?;
        Ok(refs)
    }

    /// The bytes `r` refers to, checked against its CRC.
    pub(crate) fn read(&self, r: &BlobRef) -> Result<Vec<u8>, StoreError> {
        let file = self.reader(r.file)?;
        let mut out = vec![0; r.len as usize];
        let path = || Self::path(&self.dir, r.file);
        file.read_exact_at(&mut out, r.offset)
            .map_err(|e| io(&format!("reading {r:?}"), &path(), e))?;
        if crc32fast::hash(&out) != r.crc {
            return Err(StoreError::Damaged(format!(
                "block file {}: checksum mismatch at offset {} ({} bytes)",
                path().display(),
                r.offset,
                r.len
            )));
        }
        Ok(out)
    }

    fn reader(&self, number: u32) -> Result<Arc<File>, StoreError> {
        if let Some(f) = self.readers.read().get(&number) {
            return Ok(f.clone());
        }
        let path = Self::path(&self.dir, number);
        let file = Arc::new(File::open(&path).map_err(|e| io("opening", &path, e))?);
        self.readers.write().insert(number, file.clone());
        Ok(file)
    }

    /// Bytes in all the files.
    pub(crate) fn disk_space(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }
}

/// The number in a file name `blkNNNNN.dat`.
fn file_number(name: &str) -> Option<u32> {
    name.strip_prefix("blk")?.strip_suffix(".dat")?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Both ways of writing: through the page cache, and around it where
    /// the file system allows (it falls back otherwise).
    const MODES: [bool; 2] = [false, true];

    #[test]
    fn appends_read_back_across_reopen_and_after_a_torn_tail() {
        for direct in MODES {
            let dir = tempfile::tempdir().unwrap();
            let files = BlockFiles::open_with(dir.path(), MAX_FILE_BYTES, direct).unwrap();
            let refs = files.append(&[b"first", b"", b"third value"]).unwrap();
            assert_eq!(files.read(&refs[0]).unwrap(), b"first");
            assert_eq!(files.read(&refs[1]).unwrap(), b"");
            assert_eq!(files.read(&refs[2]).unwrap(), b"third value");
            drop(files);
            // A crash mid-append left bytes no reference points at.
            let path = BlockFiles::path(dir.path(), 0);
            let mut f = OpenOptions::new().append(true).open(&path).unwrap();
            f.write_all(b"torn").unwrap();
            drop(f);
            let torn_end = std::fs::metadata(&path).unwrap().len();
            let files = BlockFiles::open_with(dir.path(), MAX_FILE_BYTES, direct).unwrap();
            let more = files.append(&[b"after", b"and more"]).unwrap();
            assert!(more[0].offset >= torn_end, "{more:?} overwrites the tail");
            assert_eq!(more[1].offset, more[0].offset + 5);
            assert_eq!(files.read(&refs[2]).unwrap(), b"third value");
            assert_eq!(files.read(&more[0]).unwrap(), b"after");
            assert_eq!(files.read(&more[1]).unwrap(), b"and more");
            assert_eq!(
                files.disk_space(),
                std::fs::metadata(&path).unwrap().len(),
                "direct: {direct}"
            );
            let decoded = BlobRef::decode(&more[0].encode()).unwrap();
            assert_eq!(decoded, more[0]);
            assert!(BlobRef::decode(&[0; 19]).is_err());
        }
    }

    #[test]
    fn a_changed_byte_or_a_missing_file_is_an_error_not_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let files = BlockFiles::open(dir.path()).unwrap();
        let r = files.append(&[b"value"]).unwrap()[0];
        drop(files);
        let path = BlockFiles::path(dir.path(), 0);
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[r.offset as usize + 1] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();
        let files = BlockFiles::open(dir.path()).unwrap();
        let err = files.read(&r).unwrap_err().to_string();
        assert!(err.contains("checksum mismatch"), "{err}");
        let beyond = BlobRef {
            offset: 1 << 20,
            ..r
        };
        assert!(files.read(&beyond).is_err());
        let elsewhere = BlobRef { file: 7, ..r };
        assert!(files.read(&elsewhere).is_err());
    }

    #[test]
    fn a_full_file_is_followed_by_the_next_number() {
        for direct in MODES {
            let dir = tempfile::tempdir().unwrap();
            let files = BlockFiles::open_with(dir.path(), 1000, direct).unwrap();
            let big = vec![7u8; 1000];
            let first = files.append(&[&big]).unwrap()[0];
            let second = files.append(&[b"next"]).unwrap()[0];
            assert_eq!((first.file, second.file, second.offset), (0, 1, 0));
            drop(files);
            let files = BlockFiles::open_with(dir.path(), 1000, direct).unwrap();
            let third = files.append(&[b"again"]).unwrap()[0];
            // Padded to 4 KiB, the second file is full too when direct.
            assert_eq!(third.file, if direct { 2 } else { 1 });
            assert_eq!(files.read(&second).unwrap(), b"next");
            assert_eq!(files.read(&third).unwrap(), b"again");
            assert_eq!(files.read(&first).unwrap(), big);
            drop(files);
            // A file below the highest deleted: refused at open.
            std::fs::remove_file(BlockFiles::path(dir.path(), 0)).unwrap();
            let err = BlockFiles::open_with(dir.path(), 1000, direct)
                .err()
                .expect("a gap in the numbers is refused")
                .to_string();
            assert!(err.contains("blk00000.dat: missing"), "{err}");
        }
    }

    #[test]
    fn the_kept_buffer_leaves_no_former_bytes_behind() {
        for direct in MODES {
            let dir = tempfile::tempdir().unwrap();
            let files = BlockFiles::open_with(dir.path(), MAX_FILE_BYTES, direct).unwrap();
            let big = vec![0xAA; 3 * ALIGN as usize + 100];
            let first = files.append(&[&big]).unwrap()[0];
            let small = files.append(&[b"small", b"er"]).unwrap();
            // A third append larger than the buffer kept grows it.
            let bigger = vec![0x55; 5 * ALIGN as usize];
            let third = files.append(&[&bigger]).unwrap()[0];
            assert_eq!(files.read(&first).unwrap(), big);
            assert_eq!(files.read(&small[0]).unwrap(), b"small");
            assert_eq!(files.read(&small[1]).unwrap(), b"er");
            assert_eq!(files.read(&third).unwrap(), bigger);
            // What pads the small append to the alignment is zeros, not the
            // big append's bytes still in the buffer.
            let bytes = std::fs::read(BlockFiles::path(dir.path(), 0)).unwrap();
            let end = (small[1].offset + u64::from(small[1].len)) as usize;
            assert!(
                bytes[end..third.offset as usize].iter().all(|b| *b == 0),
                "direct: {direct}"
            );
            if direct {
                assert_eq!(third.offset % ALIGN, 0);
                assert!(third.offset as usize > end, "the small append is padded");
            }
        }
    }
}
