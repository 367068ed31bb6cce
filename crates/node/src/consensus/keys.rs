//! A validator's key file, and its write-ahead record of what it signed
//! at its current height (restored when it restarts at that height).

use std::path::{Path, PathBuf};

use anyhow::Context;
use luminex_consensus::bft::SignedState;
use luminex_crypto::SigningKey;
use luminex_primitives::codec::{Decode, Encode};

/// The write-ahead record of what this validator signed at its current
/// height: replaced atomically (temporary file, fsync, rename, fsync of
/// the directory) before each new signature leaves the node.
pub struct SignedStateFile {
    path: PathBuf,
    /// A second place every record is also written to (the chain
    /// directory's copy of a record kept beside the key).
    copy: Option<PathBuf>,
}

impl SignedStateFile {
    /// Where the record is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The record at `path`.
    pub fn new(path: PathBuf) -> SignedStateFile {
        SignedStateFile { path, copy: None }
    }

    /// The recorded state; `None` when there is none yet. A record that
    /// does not decode is an error: starting without it could sign a
    /// conflicting vote.
    pub fn load(&self) -> anyhow::Result<Option<SignedState>> {
        match std::fs::read(&self.path) {
            Ok(bytes) => SignedState::decode_all(&bytes)
                .map(Some)
                .with_context(|| {
                    format!(
                        "{} does not hold a signed-state record (remove it only if this key never validated at the current height)",
                        self.path.display()
                    )
                }),
            // Nothing there (a directory on the way that is a file is as
            // good as missing).
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", self.path.display())),
        }
    }

    /// Records `state` durably (and in the copy, if any).
    pub fn save(&self, state: &SignedState) -> std::io::Result<()> {
        Self::save_at(&self.path, state)?;
        if let Some(copy) = &self.copy {
            Self::save_at(copy, state)?;
        }
        Ok(())
    }

    fn save_at(path: &Path, state: &SignedState) -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, &state.encode())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, path)?;
        // A bare file name's directory is the current one ("" opens nothing).
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    }
}

/// Where a validator's signed-state records are: beside its key file when
/// it has one (`<key file>.<chain>.signed`, one per chain the key
/// validates; ADR 0062), so a chain directory wiped to sync again, or a
/// database restored from an older copy, keeps the record of what the key
/// signed; and in the chain directory (`signed_state.dat`, where every
/// record was kept before, and the only place for a development key).
pub struct SignedStateFiles {
    /// Where records are written (and, beside a key, also to the chain
    /// directory's copy: a key moved without its record, or reached by
    /// another path, still finds its current height's record there).
    pub primary: SignedStateFile,
    /// Another place also read: the chain directory's record of a node
    /// that kept it there, or, when the key's directory cannot be written,
    /// the record an earlier run wrote beside the key.
    pub legacy: Option<SignedStateFile>,
}

impl SignedStateFiles {
    /// The records of the key in `key_file` (or of a development key, when
    /// `None`) on the chain of `genesis` kept in `chain_dir`.
    pub fn new(
        key_file: Option<&Path>,
        chain_dir: &Path,
        genesis: &luminex_primitives::Hash,
    ) -> Self {
        let in_chain_dir = SignedStateFile::new(chain_dir.join("signed_state.dat"));
        match key_file {
            Some(k) => {
                // The key's own path, however it was named (a link, a
                // relative path): one key, one record.
                let k = std::fs::canonicalize(k).unwrap_or_else(|_| k.to_path_buf());
                let mut name = k.file_name().unwrap_or_default().to_os_string();
                name.push(format!(".{}.signed", &genesis.to_string()[..16]));
                SignedStateFiles {
                    primary: SignedStateFile {
                        path: k.with_file_name(name),
                        copy: Some(in_chain_dir.path.clone()),
                    },
                    legacy: Some(in_chain_dir),
                }
            }
            None => SignedStateFiles {
                primary: in_chain_dir,
                legacy: None,
            },
        }
    }

    /// Falls back to the chain directory when the key's directory cannot
    /// be written (a key mounted read-only), saying so: the record must be
    /// writable, or the validator could sign nothing. The record beside the
    /// key is still read (an earlier run may have written it). The probe
    /// writes, syncs and renames a file as a record is.
    pub fn writable(self) -> Self {
        let Some(legacy) = self.legacy else {
            return self;
        };
        let probe = SignedStateFile::new(self.primary.path.with_extension("probe"));
        let beside_key = SignedStateFile::new(self.primary.path.clone());
        match probe.save(&SignedState::default()) {
            Ok(()) => {
                let _ = std::fs::remove_file(&probe.path);
                SignedStateFiles {
                    primary: self.primary,
                    legacy: Some(legacy),
                }
            }
            Err(e) => {
                tracing::warn!(
                    record = %self.primary.path.display(),
                    error = %e,
                    fallback = %legacy.path.display(),
                    "cannot write the signed-state record beside the validator key; keeping it in the chain directory (wiping that directory then loses it: never wipe it while this key validates)"
                );
                SignedStateFiles {
                    primary: legacy,
                    legacy: Some(beside_key),
                }
            }
        }
    }

    /// The latest record of either place (the higher height; at one height
    /// the primary's, which is written last).
    pub fn load(&self) -> anyhow::Result<Option<SignedState>> {
        let primary = self.primary.load()?;
        let legacy = match &self.legacy {
            Some(l) => l.load()?,
            None => None,
        };
        Ok(match (primary, legacy) {
            (Some(p), Some(l)) if l.height > p.height => Some(l),
            // (Records of one key on one chain: the later height is the
            // newer record.)
            (Some(p), _) => Some(p),
            (None, l) => l,
        })
    }
}

/// Reads a validator key file: the hex of a 32-byte seed.
pub fn read_validator_key(
    path: &Path,
    spec: &luminex_ledger::ChainSpec,
) -> anyhow::Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the validator key {}", path.display()))?;
    let bytes = hex::decode(text.trim()).with_context(|| format!("{}: not hex", path.display()))?;
    let seed: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        anyhow::anyhow!("{}: {} bytes, a seed has 32", path.display(), b.len())
    })?;
    Ok(SigningKey::from_seed(spec.default_scheme, &seed))
}

/// Writes a validator key file (mode 0600).
pub fn write_validator_key(path: &Path, seed: &[u8; 32]) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    std::io::Write::write_all(
        &mut opts.open(path)?,
        format!("{}\n", hex::encode(seed)).as_bytes(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use luminex_primitives::Hash;

    fn state(height: u64) -> SignedState {
        SignedState {
            height,
            ..SignedState::default()
        }
    }

    /// A key file's record is beside it, named for the chain; the later of
    /// it and a chain directory's record is restored; a development key's
    /// record is in the chain directory.
    #[test]
    fn the_record_is_kept_beside_the_key_and_the_later_one_wins() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("validator.key");
        let chain_dir = dir.path().join("chain");
        std::fs::create_dir(&chain_dir).unwrap();
        let genesis = Hash([0xab; 32]);
        let files = SignedStateFiles::new(Some(&key), &chain_dir, &genesis).writable();
        assert_eq!(
            files.primary.path(),
            dir.path().join("validator.key.abababababababab.signed")
        );
        assert!(files.load().unwrap().is_none());
        // A node that kept its record in the chain directory.
        SignedStateFile::new(chain_dir.join("signed_state.dat"))
            .save(&state(7))
            .unwrap();
        assert_eq!(files.load().unwrap().unwrap().height, 7);
        files.primary.save(&state(9)).unwrap();
        assert_eq!(files.load().unwrap().unwrap().height, 9);
        // The chain directory wiped: the record beside the key stays.
        std::fs::remove_dir_all(&chain_dir).unwrap();
        assert_eq!(files.load().unwrap().unwrap().height, 9);
        // Another chain's record is another file.
        let other = SignedStateFiles::new(Some(&key), &chain_dir, &Hash([1; 32]));
        assert!(other.load().unwrap().is_none());
        let dev = SignedStateFiles::new(None, &chain_dir, &genesis);
        assert_eq!(dev.primary.path(), chain_dir.join("signed_state.dat"));
    }

    /// Every record is also written to the chain directory: a key moved
    /// without its record (or reached through a link) still finds the
    /// record of its current height there; a link and the file it names
    /// share one record.
    #[cfg(unix)]
    #[test]
    fn a_moved_or_linked_key_still_finds_its_record() {
        let dir = tempfile::tempdir().unwrap();
        let chain_dir = dir.path().join("chain");
        std::fs::create_dir(&chain_dir).unwrap();
        let key = dir.path().join("validator.key");
        std::fs::write(&key, "00").unwrap();
        let genesis = Hash([0xcd; 32]);
        let files = SignedStateFiles::new(Some(&key), &chain_dir, &genesis).writable();
        files.primary.save(&state(12)).unwrap();
        assert_eq!(
            SignedStateFile::new(chain_dir.join("signed_state.dat"))
                .load()
                .unwrap()
                .unwrap()
                .height,
            12
        );
        // Moved alone to another directory.
        let moved = dir.path().join("elsewhere");
        std::fs::create_dir(&moved).unwrap();
        std::fs::rename(&key, moved.join("validator.key")).unwrap();
        let after_move =
            SignedStateFiles::new(Some(&moved.join("validator.key")), &chain_dir, &genesis);
        assert_eq!(after_move.load().unwrap().unwrap().height, 12);
        // A link to it names the same record as the file itself.
        let link = dir.path().join("link.key");
        std::os::unix::fs::symlink(moved.join("validator.key"), &link).unwrap();
        let by_link = SignedStateFiles::new(Some(&link), &chain_dir, &genesis);
        assert_eq!(by_link.primary.path(), after_move.primary.path());
    }

    /// A key whose directory cannot be written (here: its "directory" is
    /// a file) keeps its record in the chain directory, so it still signs.
    #[test]
    fn an_unwritable_key_directory_keeps_the_record_in_the_chain_directory() {
        let dir = tempfile::tempdir().unwrap();
        let not_a_dir = dir.path().join("keys");
        std::fs::write(&not_a_dir, b"a file").unwrap();
        let chain_dir = dir.path().join("chain");
        std::fs::create_dir(&chain_dir).unwrap();
        let files = SignedStateFiles::new(Some(&not_a_dir.join("v.key")), &chain_dir, &Hash::ZERO)
            .writable();
        assert_eq!(files.primary.path(), chain_dir.join("signed_state.dat"));
        files.primary.save(&state(3)).unwrap();
        assert_eq!(files.load().unwrap().unwrap().height, 3);
    }
}
