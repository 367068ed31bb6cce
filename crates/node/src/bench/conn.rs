//! One HTTP/1.1 connection to a node, held by one of the load generator's
//! clients for the whole run.
//!
//! The REST API admits [`crate::bench::MAX_CLIENTS_PER_NODE`] + 1
//! connections from one address and closes any past that at once. A pooled
//! HTTP client shared by the submitters (reqwest, hyper-util's pool) does not
//! keep to a count: when a request finds no idle connection it starts a new
//! one *and* keeps waiting for an idle one, takes whichever comes first, and
//! keeps the other in the pool. Under load the pool grows past the cap, the
//! node closes the surplus on arrival, and the request that goes out on it
//! fails ("cannot reach the node"). Each client here owns exactly one
//! connection instead, opened again only once the previous one has closed,
//! so the generator never holds more connections than it has clients.

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{header, Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use serde::de::DeserializeOwned;

use luminex_api::types::Problem;

/// A request on a [`Conn`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnError {
    /// The URL is not `http://host[:port]`.
    #[error("bad node URL {0:?}: expected http://host:port")]
    BadUrl(String),
    /// No connection could be opened.
    #[error("cannot reach the node at {addr}: {error} (is `luminex node` running?)")]
    Connect {
        /// host:port.
        addr: String,
        /// Why.
        error: std::io::Error,
    },
    /// The connection failed while the request was sent or answered.
    #[error("the connection to {addr} failed: {error}")]
    Http {
        /// host:port.
        addr: String,
        /// Why.
        error: hyper::Error,
    },
    /// The node answered with a problem.
    #[error("{} ({}, HTTP {})", .0.detail, .0.code, .0.status)]
    Problem(Problem),
    /// The answer was not understood.
    #[error("unexpected answer from the node: {0}")]
    Decode(String),
}

/// One client's connection to one node.
pub struct Conn {
    /// host:port to connect to.
    addr: String,
    /// The `Host` header.
    host: String,
    /// The open connection, if any.
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// A client of the node at `url` (`http://127.0.0.1:8645`); connects on
    /// the first request.
    pub fn new(url: &str) -> Result<Conn, ConnError> {
        let bad = || ConnError::BadUrl(url.to_string());
        let uri: Uri = url.trim_end_matches('/').parse().map_err(|_| bad())?;
        if uri.scheme_str() != Some("http") {
            return Err(bad());
        }
        let authority = uri.authority().ok_or_else(bad)?;
        let port = authority.port_u16().unwrap_or(80);
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        let addr = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        Ok(Conn {
            addr,
            host: authority.as_str().to_string(),
            sender: None,
        })
    }

    /// The open connection, or a new one if there is none or it has closed
    /// (the node closes connections idle past its header timeout).
    async fn ready(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, ConnError> {
        if let Some(s) = &mut self.sender {
            if !s.is_closed() && s.ready().await.is_ok() {
                return Ok(self.sender.as_mut().expect("just checked"));
            }
        }
        self.sender = None;
        let stream = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|error| ConnError::Connect {
                addr: self.addr.clone(),
                error,
            })?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| ConnError::Http {
                addr: self.addr.clone(),
                error,
            })?;
        tokio::spawn(async move {
            // Ends when the node or this side closes the connection; the
            // next request opens another.
            let _ = conn.await;
        });
        Ok(self.sender.insert(sender))
    }

    async fn request<T: DeserializeOwned>(
        &mut self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, ConnError> {
        let mut req = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.host);
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/octet-stream");
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| ConnError::Decode(e.to_string()))?;
        let addr = self.addr.clone();
        let failed = |error| ConnError::Http {
            addr: addr.clone(),
            error,
        };
        let sender = self.ready().await?;
        let result = match sender.send_request(req).await {
            Ok(resp) => {
                let status = resp.status();
                resp.into_body()
                    .collect()
                    .await
                    .map(|b| (status, b.to_bytes()))
                    .map_err(failed)
            }
            Err(e) => Err(failed(e)),
        };
        let (status, bytes) = match result {
            Ok(r) => r,
            Err(e) => {
                self.sender = None;
                return Err(e);
            }
        };
        decode(status, &bytes)
    }

    /// `GET path`, the answer decoded from JSON.
    pub async fn get<T: DeserializeOwned>(&mut self, path: &str) -> Result<T, ConnError> {
        self.request(Method::GET, path, None).await
    }

    /// `POST path` with raw bytes, the answer decoded from JSON.
    pub async fn post_bytes<T: DeserializeOwned>(
        &mut self,
        path: &str,
        body: Vec<u8>,
    ) -> Result<T, ConnError> {
        self.request(Method::POST, path, Some(body)).await
    }
}

/// The answer `bytes` with `status`: the JSON value, or the problem.
fn decode<T: DeserializeOwned>(status: StatusCode, bytes: &[u8]) -> Result<T, ConnError> {
    if !status.is_success() {
        return Err(match serde_json::from_slice::<Problem>(bytes) {
            Ok(p) => ConnError::Problem(p),
            Err(_) => {
                ConnError::Decode(format!("HTTP {status}: {}", String::from_utf8_lossy(bytes)))
            }
        });
    }
    serde_json::from_slice(bytes).map_err(|e| ConnError::Decode(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let c = Conn::new("http://127.0.0.1:8700/").unwrap();
        assert_eq!(
            (c.addr.as_str(), c.host.as_str()),
            ("127.0.0.1:8700", "127.0.0.1:8700")
        );
        let c = Conn::new("http://localhost").unwrap();
        assert_eq!(c.addr, "localhost:80");
        let c = Conn::new("http://[::1]:8645").unwrap();
        assert_eq!(c.addr, "[::1]:8645");
        assert!(matches!(
            Conn::new("https://example.org"),
            Err(ConnError::BadUrl(_))
        ));
        assert!(matches!(Conn::new("not a url"), Err(ConnError::BadUrl(_))));
    }

    /// 64 clients sending requests back to back as fast as they can open
    /// 64 connections, no more, and a problem answer is read as one.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_connection_per_client() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(
                        |req: Request<hyper::body::Incoming>| async move {
                            let (status, body) = if req.uri().path() == "/refuse" {
                                (
                                    StatusCode::CONFLICT,
                                    r#"{"type":"about:blank","title":"Conflict","status":409,"detail":"no","code":"already-known"}"#,
                                )
                            } else {
                                (StatusCode::OK, r#"{"ok":true}"#)
                            };
                            let mut resp = hyper::Response::new(Full::new(Bytes::from_static(
                                body.as_bytes(),
                            )));
                            *resp.status_mut() = status;
                            Ok::<_, std::convert::Infallible>(resp)
                        },
                    );
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        let clients: Vec<_> = (0..64)
            .map(|_| {
                let url = url.clone();
                tokio::spawn(async move {
                    let mut c = Conn::new(&url).unwrap();
                    for _ in 0..50 {
                        let v: serde_json::Value = c
                            .post_bytes("/transactions/broadcast", vec![7; 5_000])
                            .await
                            .unwrap();
                        assert_eq!(v["ok"], true);
                    }
                    let e = c.get::<serde_json::Value>("/refuse").await.unwrap_err();
                    assert!(
                        matches!(e, ConnError::Problem(ref p) if p.status == 409),
                        "{e}"
                    );
                })
            })
            .collect();
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(accepted.load(Ordering::SeqCst), 64);
    }
}
