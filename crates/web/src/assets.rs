//! The style sheet, the live-update script and the icon, compiled into the
//! binary with `include_bytes!` (three small files: no embedding crate
//! needed) and served under `/static/`.

use axum::extract::rejection::PathRejection;
use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::PageError;

/// Where the style sheet is served.
pub const STYLE_PATH: &str = "/static/app.css";
/// Where the live-update script is served.
pub const SCRIPT_PATH: &str = "/static/live.js";
/// Where the icon is served.
pub const ICON_PATH: &str = "/static/icon.svg";

/// The embedded assets: name, content type, bytes.
const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "app.css",
        "text/css; charset=utf-8",
        include_bytes!("../assets/app.css"),
    ),
    (
        "live.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../assets/live.js"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_bytes!("../assets/icon.svg"),
    ),
];

/// `GET /static/{file}`.
pub async fn serve(p: Result<Path<String>, PathRejection>) -> Result<Response, PageError> {
    let name = crate::explorer::path_param(p)?;
    let (_, content_type, bytes) = ASSETS.iter().find(|(n, _, _)| *n == name).ok_or_else(|| {
        PageError::not_found(crate::i18n::t_args(
            "no-such-file",
            [("file", name.as_str().into())],
        ))
    })?;
    Ok((
        [
            (header::CONTENT_TYPE, *content_type),
            // An hour: assets change only with the binary.
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        *bytes,
    )
        .into_response())
}
