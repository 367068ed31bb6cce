//! The audit log: one JSON line per admin action (who, what, on what, when,
//! outcome), appended to a file in the chain's data directory and synced to
//! disk before the action's page is shown, so it survives a crash or a
//! restart. Refused attempts are recorded too.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Entries the audit page shows at most (the newest).
pub const SHOWN: usize = 500;

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

impl Entry {
    /// An entry stamped now.
    pub fn now(who: &str, action: &str, subject: &str, outcome: &str) -> Entry {
        Entry {
            time: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs(),
            who: who.into(),
            action: action.into(),
            subject: subject.into(),
            outcome: outcome.into(),
        }
    }

    /// The time as an HTTP date (`Thu, 03 Dec 2026 06:30:00 GMT`).
    pub fn when(&self) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(self.time))
    }
}

/// The append-only audit file.
pub struct AuditLog {
    path: PathBuf,
    // Appends one at a time, so lines never interleave.
    lock: Mutex<()>,
}

impl AuditLog {
    /// The log kept in `path` (created on the first entry).
    pub fn new(path: impl Into<PathBuf>) -> AuditLog {
        AuditLog {
            path: path.into(),
            lock: Mutex::new(()),
        }
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

    /// The newest `max` entries, newest first. Lines that do not parse (a
    /// torn last line after a crash) are skipped.
    pub fn recent(&self, max: usize) -> std::io::Result<Vec<Entry>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        };
        Ok(text
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str(l).ok())
            .take(max)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
