//! QR codes for `luminex wallet`: an address or payment request as one code
//! drawn in the terminal, and payloads too big for one code (keys,
//! partially signed transactions) as the frames of
//! `luminex_wallet::multipart`, drawn one after the other or written as SVG
//! files for a screen to cycle through.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use luminex_wallet::multipart;
use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};

/// `--qr` and `--qr-dir` of commands that write a large payload.
#[derive(Debug, Clone, Default, Args)]
pub struct QrArgs {
    /// Also show the result as a sequence of QR frames in the terminal
    /// (`LMX1/part/total/id/data`, docs/wallet.md).
    #[arg(long)]
    pub qr: bool,
    /// Write the QR frames as numbered SVG files (and their texts as
    /// frames.txt) to this directory.
    #[arg(long, value_name = "DIR")]
    pub qr_dir: Option<PathBuf>,
}

/// `text` as a QR code of Unicode half blocks, light modules drawn (for a
/// dark terminal), with its quiet zone.
pub fn terminal(text: &str) -> anyhow::Result<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::L)
        .context("too long for one QR code")?;
    Ok(code
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .build())
}

impl QrArgs {
    /// Shows or writes `payload` as frames, as asked.
    pub fn show(&self, payload: &[u8]) -> anyhow::Result<()> {
        if !self.qr && self.qr_dir.is_none() {
            return Ok(());
        }
        let frames = multipart::encode(payload, multipart::DEFAULT_FRAME_CHARS);
        let total = frames.len();
        if self.qr {
            for (i, f) in frames.iter().enumerate() {
                println!("QR frame {} of {total}:", i + 1);
                println!("{}", terminal(f)?);
                println!("{f}");
            }
        }
        if let Some(dir) = &self.qr_dir {
            write_svgs(dir, &frames)?;
            println!("{total} QR frame(s) in {}", dir.display());
        }
        Ok(())
    }
}

fn write_svgs(dir: &Path, frames: &[String]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let total = frames.len();
    let width = total.to_string().len();
    for (i, f) in frames.iter().enumerate() {
        let label = format!("QR frame {} of {total}", i + 1);
        let svg = luminex_web::qr::svg(f, &label).context("a frame fits in one QR code")?;
        let path = dir.join(format!("frame-{:0width$}-of-{total}.svg", i + 1));
        std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
    }
    let list = dir.join("frames.txt");
    std::fs::write(&list, frames.join("\n") + "\n")
        .with_context(|| format!("writing {}", list.display()))
}
