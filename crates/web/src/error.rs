//! Errors of the pages: an HTML page with the status and a clear message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use luminex_storage::StoreError;
use maud::html;

use crate::layout;

/// Why a page could not be shown. Rendered as an HTML page carrying the
/// message, with the search box to try again.
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
            title: "Bad request",
            message: message.into(),
        }
    }

    /// 404: well-formed, but nothing of that name is known.
    pub fn not_found(message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::NOT_FOUND,
            title: "Not found",
            message: message.into(),
        }
    }

    /// The status code.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> PageError {
        tracing::error!(error = %e, "storage error serving a page");
        PageError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Storage error",
            message: "the node could not read its database; see its log".into(),
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = layout::page(
            self.title,
            layout::Live::None,
            html! {
                section.problem role="alert" {
                    h1 { (self.title) }
                    p.message { (self.message) }
                    p { a href="/" { "Back to the explorer" } }
                }
            },
        );
        (self.status, body).into_response()
    }
}
