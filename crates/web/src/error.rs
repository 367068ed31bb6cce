//! Errors of the pages: an HTML page with the status and a clear message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use luminex_storage::StoreError;
use maud::html;

use crate::i18n::t;
use crate::layout;

/// Why a page could not be shown. Rendered as an HTML page carrying the
/// message, with the search box to try again. The message is written in the
/// request's language by whoever makes the error ([`crate::i18n::t`]); the
/// title is a catalog key, looked up when the page is rendered.
#[derive(Debug)]
pub struct PageError {
    status: StatusCode,
    title: &'static str,
    message: String,
}

impl PageError {
    /// 400: the request itself is malformed.
    pub fn bad_request(message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::BAD_REQUEST,
            title: "error-bad-request",
            message: message.into(),
        }
    }

    /// 404: well-formed, but nothing of that name is known.
    pub fn not_found(message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::NOT_FOUND,
            title: "error-not-found",
            message: message.into(),
        }
    }

    /// 408: the request took longer than the server's limit.
    pub fn timeout() -> PageError {
        PageError {
            status: StatusCode::REQUEST_TIMEOUT,
            title: "error-timeout",
            message: t("error-timeout-message"),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The title's catalog key.
    pub fn title(&self) -> &'static str {
        self.title
    }

    /// The message, in the request's language.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> PageError {
        match e {
            // The operator turned the index off: said so, not logged.
            StoreError::IndexOff { option, .. } => PageError {
                status: StatusCode::NOT_IMPLEMENTED,
                title: "error-index-off",
                message: format!("{} ({option})", t("error-index-off-message")),
            },
            _ => {
                tracing::error!(error = %e, "storage error serving a page");
                PageError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    title: "error-storage",
                    message: t("error-storage-message"),
                }
            }
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let title = t(self.title);
        let body = layout::page(
            &title,
            layout::Live::None,
            html! {
                section.problem role="alert" {
                    h1 { (title) }
                    p.message { (self.message) }
                    p { a href="/" { (t("back-to-explorer")) } }
                }
            },
        );
        (self.status, body).into_response()
    }
}

/// What a page says of a form the framework could not read (its
/// rejection's status), in the pages' words.
pub(crate) fn form_refusal(status: axum::http::StatusCode) -> String {
    match status {
        axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE => crate::i18n::t("error-form-type"),
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => crate::i18n::t("error-form-too-large"),
        _ => crate::i18n::t("error-form-bad"),
    }
}
