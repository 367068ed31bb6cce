//! Serving HTTP with connection discipline: every listener of the node (the
//! REST API and the JSON-RPC) goes through [`serve`], which bounds what one
//! client, or many, can hold.
//!
//! - **Connections**: at most [`ConnectionLimits::max_connections`] open at
//!   once and [`ConnectionLimits::max_per_client`] from one client: an IPv4
//!   address, or an IPv6 /64 ([`client_of`]; one host commonly holds a
//!   whole /64, as the peer-to-peer layer's groups assume too). A
//!   connection past the per-client cap is closed at once. When the whole
//!   table is full, a newcomer evicts an idle connection (no request in
//!   progress, or a WebSocket) of the public network ([`group_of`]: an IPv4
//!   /16, an IPv6 /32) holding the most connections, if that network holds
//!   more than the newcomer's would; failing that, of the address holding the most, if it holds more than the
//!   newcomer's would; otherwise the newcomer is closed. So one address, or
//!   a crowd of addresses from one network opening connections they never
//!   use (a WebSocket each, say), cannot lock out a client that sends
//!   requests (Bitcoin Core evicts inbound peers the same way: never the
//!   rare ones, grouped by network), while clients of local and private
//!   networks (a container network, a LAN) are only ever weighed one
//!   address at a time.
//! - **Upgrades**: a WebSocket keeps its connection's place until it
//!   closes ([`HeldConnection`]); eviction and shutdown close it too.
//! - **Timeouts**: a connection must send a request's headers within
//!   [`ConnectionLimits::header_timeout`] of opening or of its last response
//!   (hyper starts the same clock when it waits for the next request, so this
//!   is also the keep-alive idle timeout), and its body within
//!   [`ConnectionLimits::body_timeout`].
//! - **Work queue**: at most [`ConnectionLimits::workers`] requests are
//!   handled at once and [`ConnectionLimits::work_queue`] more wait; past
//!   that, the answer is `503` at once (Bitcoin Core's `-rpcthreads` and
//!   `-rpcworkqueue`).
//!
//! Each listener reports its figures in `/metrics` under its name
//! (`luminex_http_connections{listener}` and the counters beside it).
//!
//! The accept loop is written here rather than taken from `axum::serve`,
//! which has no header timeout, no connection cap and no eviction; the HTTP
//! itself is hyper's.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use luminex_service::metrics::{
    ListenerLabels, ListenerLimitLabels, ListenerRefusalLabels, Metrics,
};
use parking_lot::Mutex;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

/// Limits of one listener.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// Connections open at once from one IP address.
    pub max_per_client: usize,
    /// Longest wait for a request's headers (and between requests).
    pub header_timeout: Duration,
    /// Longest wait for a request's body.
    pub body_timeout: Duration,
    /// Requests handled at once.
    pub workers: usize,
    /// Requests waiting for a worker; more are answered 503.
    pub work_queue: usize,
}

impl Default for ConnectionLimits {
    /// The REST API's defaults.
    fn default() -> Self {
        ConnectionLimits {
            max_connections: 1024,
            max_per_client: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            workers: 64,
            work_queue: 512,
        }
    }
}

impl ConnectionLimits {
    /// The JSON-RPC's defaults: Bitcoin Core's 16 workers and a queue of 64,
    /// its 30-second server timeout for bodies (a 32 MiB `submitblock` on a
    /// slow link).
    pub fn rpc() -> Self {
        ConnectionLimits {
            max_connections: 256,
            max_per_client: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            workers: 16,
            work_queue: 64,
        }
    }

    /// Checks that every figure is usable.
    pub fn check(&self) -> Result<(), String> {
        if self.max_connections == 0 || self.max_per_client == 0 || self.workers == 0 {
            return Err("connections, connections per client and workers must be positive".into());
        }
        if self.header_timeout.is_zero() || self.body_timeout.is_zero() {
            return Err("header and body timeouts must be positive".into());
        }
        // Deadlines are instants: past this they would overflow the
        // clock's range and fail every connection.
        if self.header_timeout > MAX_TIMEOUT || self.body_timeout > MAX_TIMEOUT {
            return Err(format!(
                "header and body timeouts must be at most {} s (a day)",
                MAX_TIMEOUT.as_secs()
            ));
        }
        if self.workers > Semaphore::MAX_PERMITS || self.work_queue > Semaphore::MAX_PERMITS {
            return Err("too many workers".into());
        }
        Ok(())
    }
}

/// The client an address counts as for connection and rate limits: an
/// IPv4 address itself (an IPv4-mapped IPv6 address as its IPv4 address),
/// an IPv6 address as its /64. A host given a /64 (the usual assignment)
/// could otherwise open connections from as many addresses as it likes.
pub fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let mut o = v6.octets();
                o[8..].fill(0);
                IpAddr::V6(o.into())
            }
        },
    }
}

/// The network group a client's connections are weighed by when the table
/// is full: its IPv4 /16 or IPv6 /32 (the groups of the peer-to-peer layer
/// and of Bitcoin Core's inbound eviction; one operator commonly holds a
/// whole /16 or /32, so many addresses of it are still one crowd), or
/// `None` for an address that is not public — loopback, private,
/// shared (100.64/10), link-local, unique-local — whose clients (a
/// container network, a LAN, the node's own host) are weighed one address
/// at a time, so no outsider can evict them as a crowd.
pub fn group_of(client: IpAddr) -> Option<IpAddr> {
    match client {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let shared = o[0] == 100 && (64..128).contains(&o[1]);
            if v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || shared
            {
                return None;
            }
            Some(IpAddr::V4([o[0], o[1], 0, 0].into()))
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments()[0];
            let unique_local = seg & 0xfe00 == 0xfc00;
            let link_local = seg & 0xffc0 == 0xfe80;
            if v6.is_loopback() || v6.is_unspecified() || unique_local || link_local {
                return None;
            }
            let mut o = v6.octets();
            o[4..].fill(0);
            Some(IpAddr::V6(o.into()))
        }
    }
}

/// Longest header or body timeout a listener takes.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 60 * 60);

/// One open connection in the table.
struct Slot {
    ip: IpAddr,
    /// Requests in progress on it.
    busy: Arc<AtomicUsize>,
    /// Closes it (and a WebSocket upgraded from it).
    evict: watch::Sender<bool>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    /// Open connections by id (ids grow, so the smallest is the oldest).
    slots: std::collections::BTreeMap<u64, Slot>,
    per_ip: HashMap<IpAddr, usize>,
}

/// Why a connection was closed on arrival.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    PerClient,
    Full,
}

impl Refusal {
    fn label(self) -> &'static str {
        match self {
            Refusal::PerClient => "per-client",
            Refusal::Full => "full",
        }
    }
}

impl Table {
    /// Admits a connection from `ip`, evicting one if the table is full and
    /// a fairer victim exists. Returns its id, its busy counter and the
    /// receiver that tells it to close, plus whether one was evicted.
    #[allow(clippy::type_complexity)]
    fn admit(
        &mut self,
        ip: IpAddr,
        limits: &ConnectionLimits,
    ) -> Result<(u64, Arc<AtomicUsize>, watch::Receiver<bool>, bool), Refusal> {
        let mine = self.per_ip.get(&ip).copied().unwrap_or(0);
        if mine >= limits.max_per_client {
            return Err(Refusal::PerClient);
        }
        let mut evicted = false;
        if self.slots.len() >= limits.max_connections {
            let Some(id) = self.victim(ip, mine) else {
                return Err(Refusal::Full);
            };
            self.remove(id);
            evicted = true;
        }
        let id = self.next_id;
        self.next_id += 1;
        let busy = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = watch::channel(false);
        self.slots.insert(
            id,
            Slot {
                ip,
                busy: busy.clone(),
                evict: tx,
            },
        );
        *self.per_ip.entry(ip).or_default() += 1;
        Ok((id, busy, rx, evicted))
    }

    /// The idle connection a newcomer from `ip` (holding `mine` already)
    /// evicts from a full table, in one pass over it: one of the public
    /// network group holding the most connections, if that group holds
    /// more than the newcomer's would; else one of the address holding the
    /// most, if it holds more than the newcomer's would. Within a group,
    /// the address holding the most goes first; the oldest connection
    /// first. (A threshold on a group's share was tried and dropped: it let
    /// a few networks of just under the share each fill the table for good.)
    fn victim(&self, ip: IpAddr, mine: usize) -> Option<u64> {
        use std::cmp::Reverse;
        // Per group: connections, and its best idle victim (most held by
        // its address, then oldest). Per address: its oldest idle one.
        type Best = Option<(Reverse<usize>, u64)>;
        let mut groups: HashMap<IpAddr, (usize, Best)> = HashMap::new();
        let mut oldest_idle: HashMap<IpAddr, u64> = HashMap::new();
        for (id, s) in &self.slots {
            let idle = s.busy.load(Ordering::Acquire) == 0;
            if idle {
                oldest_idle.entry(s.ip).or_insert(*id);
            }
            let Some(group) = group_of(s.ip) else {
                continue;
            };
            let g = groups.entry(group).or_default();
            g.0 += 1;
            if idle {
                let key = (Reverse(self.per_ip.get(&s.ip).copied().unwrap_or(0)), *id);
                if g.1.is_none_or(|best| key < best) {
                    g.1 = Some(key);
                }
            }
        }
        let mine_group = match group_of(ip) {
            Some(g) => groups.get(&g).map_or(0, |g| g.0),
            None => mine,
        };
        let by_group = groups
            .values()
            .filter(|(n, _)| *n > mine_group + 1)
            .filter_map(|(n, idle)| idle.map(|(_, id)| (*n, Reverse(id))))
            .max()
            .map(|(_, Reverse(id))| id);
        by_group.or_else(|| {
            self.per_ip
                .iter()
                .filter(|(_, n)| **n > mine + 1)
                .filter_map(|(a, n)| oldest_idle.get(a).map(|id| (*n, Reverse(*id))))
                .max()
                .map(|(_, Reverse(id))| id)
        })
    }

    /// Forgets connection `id` (closing it if it is still open).
    fn remove(&mut self, id: u64) {
        if let Some(slot) = self.slots.remove(&id) {
            if let Some(n) = self.per_ip.get_mut(&slot.ip) {
                *n -= 1;
                if *n == 0 {
                    self.per_ip.remove(&slot.ip);
                }
            }
            let _ = slot.evict.send(true);
        }
    }
}

/// The bounded work queue in front of a router.
struct WorkQueue {
    /// Permits for requests handled or waiting.
    admitted: Arc<Semaphore>,
    /// Permits for requests handled.
    workers: Semaphore,
    overloaded: fn() -> Response,
    metrics: Arc<Metrics>,
    labels: ListenerLabels,
}

async fn work_queue(State(q): State<Arc<WorkQueue>>, req: Request, next: Next) -> Response {
    let Ok(_admitted) = q.admitted.clone().try_acquire_owned() else {
        q.metrics.http_requests_shed.get_or_create(&q.labels).inc();
        return (q.overloaded)();
    };
    let Ok(_worker) = q.workers.acquire().await else {
        // The semaphore is never closed.
        return (q.overloaded)();
    };
    let in_flight = q
        .metrics
        .http_requests_in_flight
        .get_or_create(&q.labels)
        .clone();
    in_flight.inc();
    let r = next.run(req).await;
    in_flight.dec();
    r
}

/// Serves `app` on `listener` under `limits` until `shutdown` resolves, then
/// stops accepting and lets open requests finish. `name` labels the
/// listener's metrics; `overloaded` is the answer when the work queue is
/// full. The router sees the client's address as [`ConnectInfo`].
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    name: &'static str,
    limits: ConnectionLimits,
    metrics: Arc<Metrics>,
    overloaded: fn() -> Response,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let labels = ListenerLabels {
        listener: name.into(),
    };
    let queue = Arc::new(WorkQueue {
        admitted: Arc::new(Semaphore::new(limits.workers + limits.work_queue)),
        workers: Semaphore::new(limits.workers),
        overloaded,
        metrics: metrics.clone(),
        labels: labels.clone(),
    });
    let app = app
        .layer(axum::middleware::from_fn_with_state(queue, work_queue))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.body_timeout,
        ));
    for (limit, value) in [
        ("max_connections", limits.max_connections as i64),
        ("max_per_client", limits.max_per_client as i64),
        (
            "header_timeout_seconds",
            limits.header_timeout.as_secs() as i64,
        ),
        ("body_timeout_seconds", limits.body_timeout.as_secs() as i64),
        ("workers", limits.workers as i64),
        ("work_queue", limits.work_queue as i64),
    ] {
        metrics
            .http_limits
            .get_or_create(&ListenerLimitLabels {
                listener: name.into(),
                limit: limit.into(),
            })
            .set(value);
    }
    let table = Arc::new(Mutex::new(Table::default()));
    let open = metrics.http_connections.get_or_create(&labels).clone();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let closed = Arc::new(tokio::sync::Notify::new());
    loop {
        let (stream, remote) = tokio::select! {
            _ = &mut shutdown => break,
            r = listener.accept() => match r {
                Ok(a) => a,
                Err(e) => {
                    // Out of descriptors or a connection reset before
                    // accept: nothing to serve; wait a little so a full
                    // descriptor table is not spun on.
                    metrics.http_accept_errors.get_or_create(&labels).inc();
                    tracing::warn!(listener = name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let admitted = table.lock().admit(client_of(remote.ip()), &limits);
        let (id, busy, evicted_rx, evicted) = match admitted {
            Ok(a) => a,
            Err(why) => {
                metrics
                    .http_connections_refused
                    .get_or_create(&ListenerRefusalLabels {
                        listener: name.into(),
                        reason: why.label().into(),
                    })
                    .inc();
                drop(stream);
                continue;
            }
        };
        if evicted {
            metrics
                .http_connections_refused
                .get_or_create(&ListenerRefusalLabels {
                    listener: name.into(),
                    reason: "evicted".into(),
                })
                .inc();
        } else {
            open.inc();
        }
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let table = table.clone();
        let mut stop = stop_rx.clone();
        let header_timeout = limits.header_timeout;
        let open = open.clone();
        let closed = closed.clone();
        let slot = Arc::new(SlotGuard {
            table,
            id,
            open,
            closed,
        });
        let held = HeldConnection {
            _slot: slot.clone(),
            evicted: evicted_rx.clone(),
            stop: stop.clone(),
        };
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |mut req: hyper::Request<_>| {
                req.extensions_mut()
                    .insert(ConnectInfo::<SocketAddr>(remote));
                req.extensions_mut().insert(held.clone());
                let app = app.clone();
                let busy = BusyGuard::new(busy.clone());
                async move {
                    let r = app.oneshot(req.map(axum::body::Body::new)).await;
                    drop(busy);
                    r
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades();
            let mut conn = std::pin::pin!(conn);
            let mut evicted_rx = evicted_rx;
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = wait_true(&mut evicted_rx) => {}
                _ = wait_true(&mut stop) => {
                    conn.as_mut().graceful_shutdown();
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = wait_true(&mut evicted_rx) => {}
                    }
                }
            }
            // The slot is freed when the last holder lets go: this task,
            // or a WebSocket upgraded from the connection.
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Open requests finish (idle connections close at once); a request
    // that outlives the grace period is left to the runtime's shutdown.
    let drained = async {
        loop {
            let notified = closed.notified();
            if table.lock().slots.is_empty() {
                return;
            }
            notified.await;
        }
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, drained).await.is_err() {
        tracing::warn!(listener = name, "requests still open at shutdown");
    }
}

/// Resolves once `rx` holds `true` (or its sender is gone).
async fn wait_true(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|v| *v).await;
}

/// A connection's place in the table, freed when dropped.
struct SlotGuard {
    table: Arc<Mutex<Table>>,
    id: u64,
    open: prometheus_client::metrics::gauge::Gauge,
    closed: Arc<tokio::sync::Notify>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        {
            let mut t = self.table.lock();
            if t.slots.contains_key(&self.id) {
                t.remove(self.id);
                self.open.dec();
            }
        }
        self.closed.notify_one();
    }
}

/// The connection a request came on, in the request's extensions: a
/// handler that upgrades it (a WebSocket) keeps this for as long as the
/// upgraded connection lives, so it keeps its place in the connection
/// table (the per-client and total caps count it, and eviction can pick
/// it) and closes when the connection is evicted or the listener stops.
#[derive(Clone)]
pub struct HeldConnection {
    _slot: Arc<SlotGuard>,
    evicted: watch::Receiver<bool>,
    stop: watch::Receiver<bool>,
}

impl HeldConnection {
    /// Resolves when the connection is evicted or the listener stops.
    pub async fn ended(&mut self) {
        tokio::select! {
            _ = wait_true(&mut self.evicted) => {}
            _ = wait_true(&mut self.stop) => {}
        }
    }
}

/// How long a stopping listener waits for open requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Marks a connection busy while a request is handled.
struct BusyGuard(Arc<AtomicUsize>);

impl BusyGuard {
    fn new(n: Arc<AtomicUsize>) -> BusyGuard {
        n.fetch_add(1, Ordering::AcqRel);
        BusyGuard(n)
    }
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_its_64_and_ipv4_is_itself() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_of(ip("203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(client_of(ip("::ffff:203.0.113.7")), ip("203.0.113.7"));
        assert_eq!(client_of(ip("2001:db8:1:2:aaaa::1")), ip("2001:db8:1:2::"));
        assert_eq!(
            client_of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff")),
            client_of(ip("2001:db8:1:2::9"))
        );
        assert_ne!(
            client_of(ip("2001:db8:1:3::1")),
            client_of(ip("2001:db8:1:2::1"))
        );
        assert_eq!(client_of(ip("::1")), ip("::"));
    }

    /// Addresses of one /64 share the per-client cap; another /64 does not.
    #[test]
    fn one_64_shares_the_per_client_cap() {
        let limits = ConnectionLimits {
            max_per_client: 2,
            ..ConnectionLimits::default()
        };
        let mut table = Table::default();
        let ip = |s: &str| client_of(s.parse::<IpAddr>().unwrap());
        assert!(table.admit(ip("2001:db8::1"), &limits).is_ok());
        assert!(table.admit(ip("2001:db8::2"), &limits).is_ok());
        assert_eq!(
            table.admit(ip("2001:db8::3:4"), &limits).err(),
            Some(Refusal::PerClient)
        );
        assert!(table.admit(ip("2001:db8:0:1::1"), &limits).is_ok());
    }

    #[test]
    fn groups_are_a_public_ipv4_16_and_ipv6_32() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(group_of(ip("203.0.113.7")), Some(ip("203.0.0.0")));
        assert_eq!(group_of(ip("203.0.1.7")), group_of(ip("203.0.250.1")));
        assert_ne!(group_of(ip("203.1.1.7")), group_of(ip("203.0.1.7")));
        assert_eq!(group_of(ip("2001:db8:1:2::")), Some(ip("2001:db8::")));
        assert_ne!(group_of(ip("2001:db9::")), group_of(ip("2001:db8::")));
        // Not public: weighed one address at a time.
        for local in [
            "127.0.0.1",
            "10.1.2.3",
            "172.17.0.5",
            "192.168.1.9",
            "100.64.0.1",
            "169.254.1.1",
            "::1",
            "fd00::1",
            "fe80::1",
        ] {
            assert_eq!(group_of(ip(local)), None, "{local}");
        }
    }

    /// A full table of one connection per address: a crowd of addresses
    /// from one public /16 (a WebSocket each, say) gives way to a newcomer
    /// from elsewhere, oldest first; addresses from as many /16s do not,
    /// nor does the crowd to one of its own, nor a private network's
    /// clients; busy connections never do.
    #[test]
    fn a_crowd_from_one_network_gives_way_when_the_table_is_full() {
        let limits = ConnectionLimits {
            max_connections: 8,
            ..ConnectionLimits::default()
        };
        let ip = |s: String| client_of(s.parse::<IpAddr>().unwrap());
        let mut table = Table::default();
        let crowd: Vec<u64> = (0..8)
            .map(|i| table.admit(ip(format!("45.1.{i}.9")), &limits).unwrap().0)
            .collect();
        // One of the crowd itself: no group holds more than its own would.
        assert_eq!(
            table.admit(ip("45.1.200.1".into()), &limits).err(),
            Some(Refusal::Full)
        );
        let (_, _, _, evicted) = table.admit(ip("192.0.2.1".into()), &limits).unwrap();
        assert!(evicted);
        assert!(!table.slots.contains_key(&crowd[0]), "the oldest left");
        assert_eq!(table.slots.len(), 8);

        // A private network's clients (a container network): each its own.
        let mut table = Table::default();
        for i in 0..8 {
            table.admit(ip(format!("172.17.0.{i}")), &limits).unwrap();
        }
        assert_eq!(
            table.admit(ip("192.0.2.1".into()), &limits).err(),
            Some(Refusal::Full)
        );

        // Eight /16s, one address each: no fairer victim.
        let mut table = Table::default();
        for i in 0..8 {
            table.admit(ip(format!("45.{i}.0.9")), &limits).unwrap();
        }
        assert_eq!(
            table.admit(ip("192.0.2.1".into()), &limits).err(),
            Some(Refusal::Full)
        );

        // The crowd busy: nothing idle to evict.
        let mut table = Table::default();
        let busy: Vec<Arc<AtomicUsize>> = (0..8)
            .map(|i| table.admit(ip(format!("45.1.{i}.9")), &limits).unwrap().1)
            .collect();
        for b in &busy {
            b.store(1, Ordering::Release);
        }
        assert_eq!(
            table.admit(ip("192.0.2.1".into()), &limits).err(),
            Some(Refusal::Full)
        );
        busy[5].store(0, Ordering::Release);
        assert!(table.admit(ip("192.0.2.1".into()), &limits).is_ok());
    }

    /// A full table held by a few public networks, each from many
    /// addresses of one connection, gives way to a newcomer from another:
    /// the network holding the most first.
    #[test]
    fn the_network_holding_the_most_gives_way_first() {
        let limits = ConnectionLimits {
            max_connections: 64,
            ..ConnectionLimits::default()
        };
        let ip = |s: String| client_of(s.parse::<IpAddr>().unwrap());
        let mut table = Table::default();
        let mut ids = Vec::new();
        for (net, n) in [(45, 20), (46, 23), (47, 21)] {
            for i in 0..n {
                ids.push((
                    net,
                    table
                        .admit(ip(format!("{net}.1.{i}.9")), &limits)
                        .unwrap()
                        .0,
                ));
            }
        }
        let (_, _, _, evicted) = table.admit(ip("192.0.2.1".into()), &limits).unwrap();
        assert!(evicted);
        let gone: Vec<i32> = ids
            .iter()
            .filter(|(_, id)| !table.slots.contains_key(id))
            .map(|(net, _)| *net)
            .collect();
        assert_eq!(gone, vec![46]);
    }

    /// One address holding most of a full table still gives way to a
    /// newcomer of its own /16 (the address rule, after the group's).
    #[test]
    fn a_heavy_address_gives_way_to_its_own_network() {
        let limits = ConnectionLimits {
            max_connections: 8,
            ..ConnectionLimits::default()
        };
        let ip = |s: &str| client_of(s.parse::<IpAddr>().unwrap());
        let mut table = Table::default();
        for _ in 0..6 {
            table.admit(ip("10.1.0.1"), &limits).unwrap();
        }
        table.admit(ip("192.0.2.1"), &limits).unwrap();
        table.admit(ip("198.51.100.1"), &limits).unwrap();
        let (_, _, _, evicted) = table.admit(ip("10.1.0.2"), &limits).unwrap();
        assert!(evicted);
        assert_eq!(table.per_ip.get(&ip("10.1.0.1")), Some(&5));
    }
}
