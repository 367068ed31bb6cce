//! Connection discipline of `serve`, in process: the per-client cap, the
//! eviction of idle connections when the table is full, the header timeout,
//! the work queue's 503 and graceful shutdown. Each test waits on events
//! (a closed socket, a handler that started), never on sleeps.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use luminex_api::serve::{serve, ConnectionLimits};
use luminex_service::metrics::{ListenerLabels, ListenerRefusalLabels, Metrics};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::Notify;

/// A deadline only a broken server misses.
const GENEROUS: Duration = Duration::from_secs(30);

fn limits() -> ConnectionLimits {
    ConnectionLimits {
        max_connections: 4,
        max_per_client: 2,
        header_timeout: Duration::from_secs(60),
        body_timeout: Duration::from_secs(60),
        workers: 4,
        work_queue: 4,
    }
}

struct Server {
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    stop: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

async fn start(app: Router, limits: ConnectionLimits) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let metrics = Arc::new(Metrics::new());
    let stop = Arc::new(Notify::new());
    let s = stop.clone();
    let task = tokio::spawn(serve(
        listener,
        app,
        "rest",
        limits,
        metrics.clone(),
        luminex_api::overloaded,
        async move { s.notified().await },
    ));
    Server {
        addr,
        metrics,
        stop,
        task,
    }
}

fn hello() -> Router {
    Router::new().route("/", get(|| async { "hello" }))
}

/// A connection from `source` (any 127/8 address) to `to`.
async fn connect_from(source: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let s = TcpSocket::new_v4().unwrap();
    s.bind(SocketAddr::new(IpAddr::V4(source), 0)).unwrap();
    s.connect(to).await.unwrap()
}

/// Sends one request on `c` and returns the whole response text.
async fn request(c: &mut TcpStream, path: &str) -> String {
    c.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(GENEROUS, c.read_to_end(&mut out))
        .await
        .expect("a response")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits until the server closes `c` (a read returns end of file or an
/// error) without it having sent anything.
async fn closed_by_server(c: &mut TcpStream) {
    let mut buf = [0u8; 64];
    let n = tokio::time::timeout(GENEROUS, c.read(&mut buf))
        .await
        .expect("the server closes the connection");
    assert!(matches!(n, Ok(0) | Err(_)), "unexpected bytes: {n:?}");
}

fn refused(m: &Metrics, reason: &str) -> u64 {
    m.http_connections_refused
        .get_or_create(&ListenerRefusalLabels {
            listener: "rest".into(),
            reason: reason.into(),
        })
        .get()
}

#[tokio::test]
async fn a_client_past_its_cap_is_closed_and_others_still_served() {
    let s = start(hello(), limits()).await;
    let a = Ipv4Addr::new(127, 0, 0, 2);
    let _held = [connect_from(a, s.addr).await, connect_from(a, s.addr).await];
    let mut third = connect_from(a, s.addr).await;
    closed_by_server(&mut third).await;
    let mut other = connect_from(Ipv4Addr::new(127, 0, 0, 3), s.addr).await;
    assert!(request(&mut other, "/").await.ends_with("hello"));
    assert_eq!(refused(&s.metrics, "per-client"), 1);
}

#[tokio::test]
async fn a_full_table_evicts_an_idle_connection_of_the_busiest_address() {
    let s = start(hello(), limits()).await;
    // Four addresses with one idle connection each fill the table: a
    // newcomer is closed, as evicting one of them would not be fairer.
    let mut crowd = Vec::new();
    for last in [2, 3, 4, 5] {
        crowd.push(connect_from(Ipv4Addr::new(127, 0, 0, last), s.addr).await);
    }
    let mut turned_away = connect_from(Ipv4Addr::new(127, 0, 0, 6), s.addr).await;
    closed_by_server(&mut turned_away).await;
    assert_eq!(refused(&s.metrics, "full"), 1);
    // One address holding the whole table loses its oldest idle
    // connection to a newcomer.
    drop(crowd);
    let limits = ConnectionLimits {
        max_per_client: 3,
        max_connections: 3,
        ..limits()
    };
    let s = start(hello(), limits).await;
    let crowd_ip = Ipv4Addr::new(127, 0, 0, 12);
    let mut crowd = Vec::new();
    for _ in 0..3 {
        crowd.push(connect_from(crowd_ip, s.addr).await);
    }
    let mut newcomer = connect_from(Ipv4Addr::new(127, 0, 0, 13), s.addr).await;
    assert!(request(&mut newcomer, "/").await.ends_with("hello"));
    // The oldest of the crowd was closed for it.
    closed_by_server(&mut crowd[0]).await;
    assert_eq!(refused(&s.metrics, "evicted"), 1);
}

#[tokio::test]
async fn a_connection_that_sends_no_headers_is_closed() {
    let limits = ConnectionLimits {
        header_timeout: Duration::from_secs(1),
        ..limits()
    };
    let s = start(hello(), limits).await;
    let mut idle = connect_from(Ipv4Addr::new(127, 0, 0, 7), s.addr).await;
    // Half a request line, then nothing.
    idle.write_all(b"GET / HT").await.unwrap();
    let mut rest = Vec::new();
    tokio::time::timeout(GENEROUS, idle.read_to_end(&mut rest))
        .await
        .expect("the server closes the connection")
        .ok();
    // hyper may answer 408 before closing; it never answers 200.
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
}

#[tokio::test]
async fn a_full_work_queue_answers_503() {
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (st, rel) = (started.clone(), release.clone());
    let app = Router::new().route(
        "/slow",
        get(move || {
            let (st, rel) = (st.clone(), rel.clone());
            async move {
                st.notify_one();
                rel.notified().await;
                "done"
            }
        }),
    );
    let limits = ConnectionLimits {
        workers: 1,
        work_queue: 0,
        ..limits()
    };
    let s = start(app, limits).await;
    let addr = s.addr;
    let slow = tokio::spawn(async move {
        let mut c = connect_from(Ipv4Addr::new(127, 0, 0, 8), addr).await;
        request(&mut c, "/slow").await
    });
    started.notified().await;
    let mut c = connect_from(Ipv4Addr::new(127, 0, 0, 9), s.addr).await;
    let busy = request(&mut c, "/slow").await;
    assert!(busy.starts_with("HTTP/1.1 503"), "{busy}");
    assert!(busy.to_ascii_lowercase().contains("retry-after: 1"));
    release.notify_one();
    assert!(slow.await.unwrap().ends_with("done"));
    assert_eq!(
        s.metrics
            .http_requests_shed
            .get_or_create(&ListenerLabels {
                listener: "rest".into()
            })
            .get(),
        1
    );
}

#[tokio::test]
async fn shutdown_stops_accepting_and_closes_idle_connections() {
    let s = start(hello(), limits()).await;
    let mut idle = connect_from(Ipv4Addr::new(127, 0, 0, 10), s.addr).await;
    let mut served = connect_from(Ipv4Addr::new(127, 0, 0, 11), s.addr).await;
    assert!(request(&mut served, "/").await.ends_with("hello"));
    s.stop.notify_one();
    closed_by_server(&mut idle).await;
    tokio::time::timeout(GENEROUS, s.task)
        .await
        .expect("serve returns")
        .unwrap();
    assert!(TcpStream::connect(s.addr).await.is_err());
}
