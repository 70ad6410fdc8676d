//! Serving on a socket: the accept loop, connection limits, timeouts, access log and
//! graceful shutdown.
//!
//! Slow clients cannot starve others: a connection costs a task and a descriptor, not one
//! of a few slots; what a slow one holds is bounded in time (first byte within 5 s, the
//! whole head within 10 s) and the limit (4096) is far above what the lab or `wrk -c512`
//! needs; the accept loop never waits.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::{app, AppConfig, PageInfo};

/// Everything `wirenote serve` can be told.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (default 127.0.0.1:5000, as in the lab).
    pub bind: SocketAddr,
    /// The page's content.
    pub page: PageInfo,
    /// Folder served under `/static/`; `None` serves the embedded logo as
    /// `/static/img/logo.jpg`.
    pub static_dir: Option<PathBuf>,
    /// Close the connection after every response.
    pub close_after_response: bool,
    /// A new connection must send its first byte within this time (default 5 s): a client
    /// that connects and says nothing holds a slot no longer than that.
    pub first_byte_timeout: Duration,
    /// Every request head must be complete within this time of the server starting to
    /// read it (default 10 s; hyper's `header_read_timeout`, a total deadline however
    /// slowly the bytes come). On a kept-alive connection the clock starts when the
    /// previous response is sent, so an idle keep-alive connection is closed after it.
    pub header_read_timeout: Duration,
    /// Largest request head accepted; larger ones get `431`.
    pub max_header_bytes: usize,
    /// Connections open at once (default 4096); one over it is accepted and closed at
    /// once, never left waiting in the accept queue. The timeouts bound what a slow client
    /// holds, so a few hundred of them leave room for everyone else.
    pub max_connections: usize,
    /// Write an access-log line per request to stderr.
    pub access_log: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 5000)),
            page: PageInfo::default(),
            static_dir: None,
            close_after_response: false,
            first_byte_timeout: Duration::from_secs(5),
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_connections: 4096,
            access_log: true,
        }
    }
}

/// File descriptors kept free of connections: the listener, the standard streams, the
/// static files being read and the runtime's own.
const FD_RESERVE: u64 = 64;

/// Raises the soft limit on open files towards the hard limit, far enough for `wanted`
/// connections plus `FD_RESERVE`, and returns the soft limit now in force (`None` where
/// it cannot be read). Each connection is a descriptor, and a soft limit of 1024 (a
/// common default) would otherwise make `accept` fail below the connection limit; the
/// hard limit is the administrator's, and is never exceeded.
pub fn raise_fd_limit(wanted: usize) -> Option<u64> {
    #[cfg(unix)]
    {
        use nix::sys::resource::{getrlimit, setrlimit, Resource};
        let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).ok()?;
        let target = (wanted as u64).saturating_add(FD_RESERVE).min(hard);
        if target > soft && setrlimit(Resource::RLIMIT_NOFILE, target, hard).is_ok() {
            return Some(target);
        }
        Some(soft)
    }
    #[cfg(not(unix))]
    {
        let _ = wanted;
        None
    }
}

/// Who asked: the peer address, put in request extensions by the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// Access log and persistence policy, around every request.
pub async fn access_log(req: Request, next: Next, close_after_response: bool) -> Response {
    let started = Instant::now();
    let peer = req
        .extensions()
        .get::<Peer>()
        .map(|p| p.0.to_string())
        .unwrap_or_else(|| "-".into());
    let method = req.method().clone();
    let uri = req.uri().clone();
    let version = req.version();
    let quiet = req.extensions().get::<QuietLog>().is_some();
    let mut response = next.run(req).await;
    if close_after_response {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    if !quiet {
        let length = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("-")
            .to_string();
        eprintln!(
            "{peer} \"{method} {uri} {version:?}\" {} {length} {:.3}ms",
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    response
}

/// Marker: do not log this request (access log turned off).
#[derive(Debug, Clone, Copy)]
struct QuietLog;

/// Serves on `listener` until `shutdown` completes, then lets open requests finish (up to
/// 5 s).
///
/// The accept loop never waits for a slot: a connection over
/// [`ServerConfig::max_connections`] is closed as soon as it is accepted. (It used to wait
/// for one of 256 slots before accepting, so 300 clients sending one header byte a second
/// held every slot until their 10 s header timeout, and a normal visitor waited ~8 s.)
pub async fn serve(
    listener: TcpListener,
    cfg: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    let limit = connection_limit(cfg.max_connections);
    let slots = Arc::new(Semaphore::new(limit));
    let router = app(&AppConfig {
        page: cfg.page.clone(),
        static_dir: cfg.static_dir.clone(),
        close_after_response: cfg.close_after_response,
    });
    let cfg = Arc::new(cfg);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // Tells connections still waiting for their first byte (not yet hyper's, so not
    // reached by `graceful`) to give up.
    let (stopping, stopped) = tokio::sync::watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut refused = Refusals::default();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or memory: the pending connection stays in the
                    // queue, so retrying at once would spin; pause a moment.
                    if is_resource_error(&error) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            refused.note(limit, cfg.access_log);
            drop(stream);
            continue;
        };
        let connection = Connection {
            cfg: Arc::clone(&cfg),
            router: router.clone(),
            peer,
            stopped: stopped.clone(),
        };
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            connection.run(stream, watcher).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    Ok(())
}

/// The connection limit in force: the one asked for, within the descriptors this process
/// may open (raised by [`raise_fd_limit`] when needed).
fn connection_limit(wanted: usize) -> usize {
    let wanted = wanted.max(1);
    match raise_fd_limit(wanted) {
        Some(soft) => {
            let room = usize::try_from(soft.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX);
            if room < wanted {
                eprintln!(
                    "wirenote: serving at most {} connections (open-file limit {soft})",
                    room.max(1)
                );
            }
            wanted.min(room).max(1)
        }
        None => wanted,
    }
}

fn is_resource_error(error: &io::Error) -> bool {
    // EMFILE, ENFILE, ENOBUFS, ENOMEM on Linux and the BSDs alike.
    matches!(error.raw_os_error(), Some(23 | 24 | 55 | 105 | 12))
}

/// Connections refused at the limit, reported once per second at most.
#[derive(Default)]
struct Refusals {
    since: Option<Instant>,
    count: u64,
}

impl Refusals {
    fn note(&mut self, limit: usize, log: bool) {
        self.count += 1;
        if log
            && self
                .since
                .is_none_or(|t| t.elapsed() >= Duration::from_secs(1))
        {
            eprintln!(
                "wirenote: {limit} connections open: closed {} new one(s)",
                self.count
            );
            self.since = Some(Instant::now());
            self.count = 0;
        }
    }
}

/// One accepted connection and what serving it needs.
struct Connection {
    cfg: Arc<ServerConfig>,
    router: axum::Router,
    peer: SocketAddr,
    stopped: tokio::sync::watch::Receiver<bool>,
}

impl Connection {
    async fn run(mut self, stream: TcpStream, watcher: hyper_util::server::graceful::Watcher) {
        // The first byte, before hyper gets the connection (hyper's own deadline then
        // bounds the whole head). A peer that connects and is silent is dropped here, and
        // at shutdown.
        let mut byte = [0u8; 1];
        let first = tokio::time::timeout(self.cfg.first_byte_timeout, stream.peek(&mut byte));
        tokio::select! {
            peeked = first => match peeked {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            },
            _ = self.stopped.wait_for(|stopping| *stopping) => return,
        }
        // A streamed file body follows its head in a second write; without TCP_NODELAY,
        // Nagle's algorithm holds it for the client's (delayed) ACK: 40 ms a response.
        let _ = stream.set_nodelay(true);
        let peer = self.peer;
        let quiet = !self.cfg.access_log;
        let service =
            self.router
                .map_request(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(Peer(peer));
                    if quiet {
                        req.extensions_mut().insert(QuietLog);
                    }
                    req
                });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .keep_alive(true)
            .header_read_timeout(self.cfg.header_read_timeout)
            .max_buf_size(self.cfg.max_header_bytes.max(8192));
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let _ = watcher.watch(connection).await;
    }
}

/// Binds, serves until Ctrl-C or SIGTERM, and shuts down gracefully.
pub fn run(cfg: ServerConfig) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(cfg.bind).await?;
        eprintln!(
            "wirenote: serving http://{} (Ctrl-C to stop)",
            listener.local_addr()?
        );
        serve(listener, cfg, shutdown_signal()).await
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
