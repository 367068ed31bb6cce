//! Request guards of the REST API: per-client rate limits (`governor`'s
//! GCRA), tighter for expensive routes, and admin API keys.
//!
//! Rate limits key on the client IP. Loopback clients are exempt by default:
//! local wallets, tools and the load generator are the operator's own.
//! Admin keys are configured as SHA-256 hashes (never the keys), compared in
//! constant time; a request without a key gets 401, a wrong key 403.

use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};

use crate::ApiError;

/// Rate limits per client IP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// Sustained requests per second on ordinary routes.
    pub per_second: u32,
    /// Burst on ordinary routes.
    pub burst: u32,
    /// Sustained requests per second on expensive routes.
    pub expensive_per_second: u32,
    /// Burst on expensive routes.
    pub expensive_burst: u32,
    /// Whether loopback clients are exempt.
    pub exempt_loopback: bool,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            per_second: 200,
            burst: 400,
            expensive_per_second: 5,
            expensive_burst: 10,
            exempt_loopback: true,
        }
    }
}

/// Routes that scan many rows (or all coins), or verify up to a thousand
/// signatures in one request: the tighter limit.
const EXPENSIVE: &[&str] = &[
    "/transactions/broadcast/batch",
    "/stats",
    "/search",
    "/blocks",
    "/address/{address}/transactions",
];

/// Rate limiter state shared by all requests.
pub struct RateLimits {
    config: RateLimitConfig,
    general: DefaultKeyedRateLimiter<IpAddr>,
    expensive: DefaultKeyedRateLimiter<IpAddr>,
}

fn quota(per_second: u32, burst: u32) -> Quota {
    let nz = |n: u32| NonZeroU32::new(n.max(1)).expect("at least one");
    Quota::per_second(nz(per_second)).allow_burst(nz(burst))
}

impl RateLimits {
    /// Limiters for `config`.
    pub fn new(config: RateLimitConfig) -> RateLimits {
        RateLimits {
            general: RateLimiter::keyed(quota(config.per_second, config.burst)),
            expensive: RateLimiter::keyed(quota(
                config.expensive_per_second,
                config.expensive_burst,
            )),
            config,
        }
    }
}

/// Middleware: 429 with `Retry-After` past a client's limit.
pub async fn rate_limit(
    State(limits): State<Arc<RateLimits>>,
    req: Request,
    next: Next,
) -> Response {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
        .unwrap_or(IpAddr::from([0, 0, 0, 0]));
    if limits.config.exempt_loopback && ip.is_loopback() {
        return next.run(req).await;
    }
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let limiter = if EXPENSIVE.contains(&route.as_str()) {
        &limits.expensive
    } else {
        &limits.general
    };
    match limiter.check_key(&crate::serve::client_of(ip)) {
        Ok(()) => next.run(req).await,
        Err(not_until) => {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
            let mut resp = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!("too many requests; retry in {secs} s"),
            )
            .into_response();
            if let Ok(v) = HeaderValue::from_str(&secs.max(1).to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
            resp
        }
    }
}

/// SHA-256 of an admin key, as configured.
pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// Configured admin key hashes.
#[derive(Debug, Clone, Default)]
pub struct AdminKeys(pub Vec<[u8; 32]>);

impl AdminKeys {
    /// Parses hex SHA-256 hashes.
    pub fn from_hex(hashes: &[String]) -> Result<AdminKeys, String> {
        hashes
            .iter()
            .map(|h| {
                hex::decode(h.trim())
                    .ok()
                    .and_then(|b| <[u8; 32]>::try_from(b).ok())
                    .ok_or_else(|| format!("admin key hash {h:?} is not 64 hex characters"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(AdminKeys)
    }

    fn allows(&self, key: &str) -> bool {
        let h = hash_key(key);
        // Check every configured hash without an early exit.
        self.0.iter().fold(false, |ok, k| {
            ok | (k.iter().zip(&h).fold(0u8, |a, (x, y)| a | (x ^ y)) == 0)
        })
    }
}

fn presented_key(headers: &HeaderMap) -> Option<String> {
    if let Some(v) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        return Some(v.to_string());
    }
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
}

/// Middleware for admin routes: 401 without a key, 403 with a wrong one.
pub async fn require_admin(
    State(keys): State<Arc<AdminKeys>>,
    req: Request,
    next: Next,
) -> Response {
    match presented_key(req.headers()) {
        None => ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "an admin API key is required (X-API-Key or Authorization: Bearer)",
        )
        .into_response(),
        Some(k) if keys.allows(&k) => next.run(req).await,
        Some(_) => ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "the API key is not valid",
        )
        .into_response(),
    }
}
