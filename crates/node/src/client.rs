//! A small client of the node's REST API for the command-line tools.

use serde::de::DeserializeOwned;

use luminex_api::types::Problem;

/// A request to the node failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The node could not be reached.
    #[error("cannot reach the node at {url}: {error} (is `luminex node` running?)")]
    Unreachable {
        /// The URL.
        url: String,
        /// Why.
        error: reqwest::Error,
    },
    /// The node answered with a problem.
    #[error("{} ({}, HTTP {})", .0.detail, .0.code, .0.status)]
    Problem(Problem),
    /// The answer was not understood.
    #[error("unexpected answer from the node: {0}")]
    Decode(String),
}

/// A client for one node.
#[derive(Clone)]
pub struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    /// A client for the node at `base` (`http://127.0.0.1:8645`).
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_string(),
            http: reqwest::Client::new(),
        }
    }

    async fn finish<T: DeserializeOwned>(
        &self,
        url: &str,
        r: Result<reqwest::Response, reqwest::Error>,
    ) -> Result<T, ClientError> {
        let resp = r.map_err(|error| ClientError::Unreachable {
            url: url.into(),
            error,
        })?;
        let status = resp.status();
        let bytes = resp
            .bytes()
            .await
            .map_err(|error| ClientError::Unreachable {
                url: url.into(),
                error,
            })?;
        if !status.is_success() {
            return Err(match serde_json::from_slice::<Problem>(&bytes) {
                Ok(p) => ClientError::Problem(p),
                Err(_) => ClientError::Decode(format!(
                    "HTTP {status}: {}",
                    String::from_utf8_lossy(&bytes)
                )),
            });
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Decode(e.to_string()))
    }

    /// `GET path`.
    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let r = self.http.get(&url).send().await;
        self.finish(&url, r).await
    }

    /// `POST path` with raw bytes.
    pub async fn post_bytes<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Vec<u8>,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base);
        let r = self
            .http
            .post(&url)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .await;
        self.finish(&url, r).await
    }
}
