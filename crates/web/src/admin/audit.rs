//! The audit log: one JSON line per admin action (who, what, on what, when,
//! outcome), appended to a file in the chain's data directory and synced to
//! disk before the action's page is shown, so it survives a crash or a
//! restart. Refused attempts are recorded too.
//!
//! The file is rotated by size, as logrotate would do it: past
//! [`MAX_BYTES`] it becomes `<name>.1` (the older ones shift to `.2`, … and
//! the oldest past [`KEEP`] is deleted) before the next entry starts a new
//! file, so the log never grows without bound and the audit page never
//! reads more than a few files of bounded size.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Entries the audit page shows at once (a page; older ones on the next).
pub const SHOWN: usize = 500;
/// Size past which the log file is rotated (bytes).
pub const MAX_BYTES: u64 = 8 << 20;
/// Rotated files kept besides the current one.
pub const KEEP: usize = 4;

/// One admin action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Seconds since the Unix epoch.
    pub time: u64,
    /// Who: `operator key 1a2b3c4d`, `viewer key …`, or `not logged in`.
    pub who: String,
    /// What: `login`, `logout`, `disconnect peer`, `ban peer`,
    /// `remove transaction`.
    pub action: String,
    /// On what: a peer id, a txid, a role (empty when nothing).
    pub subject: String,
    /// `done`, or `refused: …` / `failed: …` with the reason.
    pub outcome: String,
}

/// Longest subject kept in an entry (bytes); a longer one (an address a
/// form sent, say) is cut with `…`, so one request cannot write megabytes.
pub const MAX_SUBJECT: usize = 256;

impl Entry {
    /// An entry stamped now (the subject cut at [`MAX_SUBJECT`] bytes).
    pub fn now(who: &str, action: &str, subject: &str, outcome: &str) -> Entry {
        let subject = if subject.len() > MAX_SUBJECT {
            let mut end = MAX_SUBJECT;
            while !subject.is_char_boundary(end) {
                end -= 1;
            }
            format!("{}…", &subject[..end])
        } else {
            subject.to_string()
        };
        Entry {
            time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs(),
            who: who.into(),
            action: action.into(),
            subject,
            outcome: outcome.into(),
        }
    }

    /// The time as an HTTP date (`Thu, 03 Dec 2026 06:30:00 GMT`).
    pub fn when(&self) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(self.time))
    }
}

/// The append-only audit file and its rotated predecessors.
pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    keep: usize,
    // Appends (and rotations) one at a time, so lines never interleave.
    lock: Mutex<()>,
}

impl AuditLog {
    /// The log kept in `path` (created on the first entry), rotated past
    /// [`MAX_BYTES`] keeping [`KEEP`] old files.
    pub fn new(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog::with_rotation(path, MAX_BYTES, KEEP)
    }

    /// The log kept in `path`, rotated once it holds more than `max_bytes`,
    /// keeping `keep` rotated files (`keep` 0: the old file is deleted).
    pub fn with_rotation(path: impl Into<PathBuf>, max_bytes: u64, keep: usize) -> AuditLog {
        AuditLog {
            path: path.into(),
            max_bytes,
            keep,
            lock: Mutex::new(()),
        }
    }

    /// The `n`th rotated file (`n` ≥ 1); the current file for 0.
    fn rotated(&self, n: usize) -> PathBuf {
        if n == 0 {
            return self.path.clone();
        }
        let mut name = self.path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        PathBuf::from(name)
    }

    /// Shifts the files one place (`.{keep}` is dropped) and syncs the
    /// directory, so the renames survive a crash.
    fn rotate(&self) -> std::io::Result<()> {
        let last = self.rotated(self.keep.max(1));
        if self.keep == 0 {
            std::fs::remove_file(&self.path)?;
        } else {
            match std::fs::remove_file(&last) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            for n in (0..self.keep).rev() {
                match std::fs::rename(self.rotated(n), self.rotated(n + 1)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    }

    /// Where it is kept.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends an entry and syncs it to disk.
    pub fn append(&self, e: &Entry) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(e).map_err(std::io::Error::other)?;
        line.push(b'\n');
        let _g = self.lock.lock();
        match std::fs::metadata(&self.path) {
            Ok(m) if m.len() > self.max_bytes => self.rotate()?,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let mut opts = std::fs::OpenOptions::new();
        opts.read(true).append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&self.path)?;
        // After a crash in the middle of a line, start a new one: the torn
        // line is skipped on reading, this entry is not.
        let len = f.metadata()?.len();
        if len > 0 {
            use std::io::{Read, Seek, SeekFrom};
            let mut last = [0u8; 1];
            f.seek(SeekFrom::Start(len - 1))?;
            f.read_exact(&mut last)?;
            if last[0] != b'\n' {
                line.insert(0, b'\n');
            }
        }
        f.write_all(&line)?;
        f.sync_data()
    }

    /// Appends an entry; a failure is logged (the action has happened and
    /// its page says so either way) and reported as `false`.
    pub fn record(&self, e: &Entry) -> bool {
        match self.append(e) {
            Ok(()) => true,
            Err(err) => {
                tracing::error!(error = %err, path = %self.path.display(), "could not write the admin audit log");
                false
            }
        }
    }

    /// The newest `max` entries, newest first, from the current file and
    /// as many rotated ones as needed. Lines that do not parse (a torn
    /// last line after a crash) are skipped.
    pub fn recent(&self, max: usize) -> std::io::Result<Vec<Entry>> {
        self.page(0, max, |_| true).map(|(v, _)| v)
    }

    /// Entries that `keep` accepts, newest first, after skipping the
    /// newest `skip` of them: at most `max`, and whether more follow (the
    /// audit page's pages, and its filter of actions done).
    pub fn page(
        &self,
        skip: usize,
        max: usize,
        keep: impl Fn(&Entry) -> bool,
    ) -> std::io::Result<(Vec<Entry>, bool)> {
        let mut out = Vec::new();
        let mut skipped = 0;
        for n in 0..=self.keep {
            let text = match std::fs::read_to_string(self.rotated(n)) {
                Ok(t) => t,
                // A file not written yet, or rotated away meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            for e in text
                .lines()
                .rev()
                .filter_map(|l| serde_json::from_str::<Entry>(l).ok())
                .filter(|e| keep(e))
            {
                if skipped < skip {
                    skipped += 1;
                } else if out.len() < max {
                    out.push(e);
                } else {
                    return Ok((out, true));
                }
            }
        }
        Ok((out, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_go_back_through_every_file_and_filter() {
        let dir = tempfile::tempdir().unwrap();
        // Small files: the thirty entries span several of them.
        let log = AuditLog::with_rotation(dir.path().join("audit.log"), 600, 20);
        for i in 0..30u64 {
            let outcome = if i % 3 == 0 {
                "done"
            } else {
                "refused: bad key"
            };
            let mut e = Entry::now("operator key 1", "login", "", outcome);
            e.time = i;
            log.append(&e).unwrap();
        }
        assert!(log.rotated(3).exists());
        let times = |v: &[Entry]| v.iter().map(|e| e.time).collect::<Vec<_>>();
        let (first, more) = log.page(0, 4, |_| true).unwrap();
        assert_eq!((times(&first), more), (vec![29, 28, 27, 26], true));
        let (second, _) = log.page(4, 4, |_| true).unwrap();
        assert_eq!(times(&second), vec![25, 24, 23, 22]);
        let (last, more) = log.page(28, 4, |_| true).unwrap();
        assert_eq!((times(&last), more), (vec![1, 0], false));
        // Only what was done: refusals do not push it off a page.
        let (done, more) = log.page(0, 100, |e| e.outcome == "done").unwrap();
        assert_eq!(times(&done), vec![27, 24, 21, 18, 15, 12, 9, 6, 3, 0]);
        assert!(!more);
    }

    #[test]
    fn entries_survive_reopening_newest_first_and_torn_lines_are_skipped() {
        let dir = std::env::temp_dir().join(format!(
            "luminex-audit-{}",
            super::super::access::random_hex()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("admin-audit.log");
        let log = AuditLog::new(&p);
        assert!(log.recent(10).unwrap().is_empty());
        let a = Entry::now("operator key 00112233", "ban peer", "12D3KooW", "done");
        let b = Entry::now(
            "viewer key 44556677",
            "remove transaction",
            "ab",
            "refused: viewer key",
        );
        log.append(&a).unwrap();
        log.append(&b).unwrap();
        drop(log);
        // A crash in the middle of a line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"time\":1,\"who\"")
            .unwrap();
        let log = AuditLog::new(&p);
        assert_eq!(log.recent(10).unwrap(), vec![b.clone(), a.clone()]);
        assert_eq!(log.recent(1).unwrap(), vec![b.clone()]);
        let c = Entry::now("operator key 00112233", "logout", "", "done");
        log.append(&c).unwrap();
        assert_eq!(log.recent(10).unwrap(), vec![c, b, a]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_log_rotates_by_size_keeps_its_files_and_reads_across_them() {
        let dir = std::env::temp_dir().join(format!(
            "luminex-audit-{}",
            super::super::access::random_hex()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("admin-audit.log");
        let entry = |i: usize| Entry {
            time: i as u64,
            who: "operator key 00112233".into(),
            action: "ban peer".into(),
            subject: format!("peer {i}"),
            outcome: "done".into(),
        };
        let line = serde_json::to_vec(&entry(10)).unwrap().len() as u64 + 1;
        // Rotated once a file holds more than three lines; two kept.
        let log = AuditLog::with_rotation(&p, 3 * line, 2);
        for i in 10..30 {
            log.append(&entry(i)).unwrap();
        }
        let names: std::collections::BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            ["admin-audit.log", "admin-audit.log.1", "admin-audit.log.2"]
        );
        for n in 0..=2 {
            assert!(std::fs::metadata(log.rotated(n)).unwrap().len() <= 4 * line);
        }
        // Newest first across the files; what was rotated past the last
        // kept file is gone.
        let all = log.recent(100).unwrap();
        let times: Vec<u64> = all.iter().map(|e| e.time).collect();
        assert_eq!(times, (18..30).rev().collect::<Vec<u64>>());
        assert_eq!(log.recent(5).unwrap(), all[..5]);
        // Reopened (a restart), it goes on in the same files.
        let log = AuditLog::with_rotation(&p, 3 * line, 2);
        log.append(&entry(30)).unwrap();
        assert_eq!(log.recent(1).unwrap()[0].time, 30);
        // keep 0: the old file is dropped.
        let q = dir.join("other.log");
        let log = AuditLog::with_rotation(&q, line, 0);
        for i in 0..5 {
            log.append(&entry(i)).unwrap();
        }
        assert!(!dir.join("other.log.1").exists());
        // Rotated before the 3rd and the 5th entry: only the 5th is left.
        let left: Vec<u64> = log.recent(10).unwrap().iter().map(|e| e.time).collect();
        assert_eq!(left, vec![4]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
