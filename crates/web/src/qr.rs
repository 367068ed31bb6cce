//! QR codes as inline SVG (the `qrcode` crate), so an address page needs no
//! image request and no script to show one.

use qrcode::render::svg;
use qrcode::QrCode;

/// `text` as an SVG QR code labelled `label` for screen readers; `None` if
/// it is too long for a QR code.
pub fn svg(text: &str, label: &str) -> Option<String> {
    let code = QrCode::new(text.as_bytes()).ok()?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(180, 180)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline SVG in HTML: drop the XML declaration, name the image.
    let start = image.find("<svg")?;
    let escaped = label
        .replace('&', "&amp;")
        .replace('"', "&quot;")
        .replace('<', "&lt;");
    Some(format!(
        "<svg role=\"img\" aria-label=\"{escaped}\"{}",
        &image[start + 4..]
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_address_fits_and_is_labelled() {
        let s = super::svg(
            "lmxdev1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
            "QR \"x\"",
        )
        .unwrap();
        assert!(s.starts_with("<svg role=\"img\" aria-label=\"QR &quot;x&quot;\""));
        assert!(s.contains("<path") || s.contains("<rect"));
        assert!(super::svg(&"x".repeat(5000), "too long").is_none());
    }
}
