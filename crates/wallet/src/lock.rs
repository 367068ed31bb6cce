//! One command at a time per wallet file.
//!
//! A command reads a wallet file, changes it (a new address, the next
//! change address, a new wallet) and writes it back: two at once would
//! both take the same "fresh" change address, or one would overwrite what
//! the other wrote (a new wallet whose phrase was shown replaced by
//! another's). Each holds an exclusive lock on `<wallet file>.lock` while
//! it runs, as Bitcoin Core holds its wallet directory's lock; the
//! operating system releases it when the process ends, however it ends.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use crate::WalletError;

/// An exclusive lock on a wallet file, held until dropped.
#[derive(Debug)]
pub struct WalletLock {
    _file: File,
}

/// The lock file of the wallet file `path`.
pub fn lock_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".lock");
    path.with_file_name(name)
}

impl WalletLock {
    /// Locks the wallet file `path` (which need not exist yet), waiting for
    /// another holder to finish; `waiting` is called once if it must wait.
    pub fn acquire(path: &Path, waiting: impl FnOnce()) -> Result<WalletLock, WalletError> {
        let (file, io) = open(path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                waiting();
                file.lock().map_err(io)?;
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        Ok(WalletLock { _file: file })
    }

    /// Locks the wallet file `path` if no one holds it; `None` if someone
    /// does.
    pub fn try_acquire(path: &Path) -> Result<Option<WalletLock>, WalletError> {
        let (file, io) = open(path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(WalletLock { _file: file })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

/// The lock file of wallet `path`, opened (created with its directory if
/// needed), and the error maker naming it.
fn open(path: &Path) -> Result<(File, impl Fn(std::io::Error) -> WalletError), WalletError> {
    let lock = lock_path(path);
    let name = lock.display().to_string();
    let io = move |error| WalletError::Io {
        path: name.clone(),
        error,
    };
    if let Some(dir) = lock.parent() {
        std::fs::create_dir_all(dir).map_err(&io)?;
    }
    let file = match OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock)
    {
        Ok(f) => f,
        // A user who may read the wallets but not write there locks an
        // existing lock file through a read-only descriptor (the lock is
        // on the file, not the descriptor's mode).
        Err(e) => OpenOptions::new()
            .read(true)
            .open(&lock)
            .map_err(|_| io(e))?,
    };
    Ok((file, io))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wallets").join("w.json");
        let held = WalletLock::acquire(&path, || panic!("free at first")).unwrap();
        assert!(lock_path(&path).ends_with("wallets/w.json.lock"));
        assert!(WalletLock::try_acquire(&path).unwrap().is_none());
        // Another thread waits until the first lets go.
        let waited = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (w, p) = (waited.clone(), path.clone());
        let t = std::thread::spawn(move || {
            WalletLock::acquire(&p, || w.store(true, std::sync::atomic::Ordering::SeqCst)).unwrap()
        });
        // It reports waiting before it gets the lock: wait for that (no
        // fixed sleep), then release.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while !waited.load(std::sync::atomic::Ordering::SeqCst) {
            assert!(std::time::Instant::now() < deadline, "never waited");
            std::thread::yield_now();
        }
        drop(held);
        let second = t.join().unwrap();
        assert!(WalletLock::try_acquire(&path).unwrap().is_none());
        drop(second);
        assert!(WalletLock::try_acquire(&path).unwrap().is_some());
    }
}
