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
}

impl SignedStateFile {
    /// The record at `path`.
    pub fn new(path: PathBuf) -> SignedStateFile {
        SignedStateFile { path }
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
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", self.path.display())),
        }
    }

    /// Records `state` durably.
    pub fn save(&self, state: &SignedState) -> std::io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        {
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, &state.encode())?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
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
