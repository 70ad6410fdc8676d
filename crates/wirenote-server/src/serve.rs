//! Serving on a socket: the accept loop, connection limits, timeouts, access log and
//! graceful shutdown.

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
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::validators::StaticRoot;
use crate::{app, AppConfig, PageInfo, DEFAULT_LOGO};

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
    /// A client must send a complete request head within this time.
    pub header_read_timeout: Duration,
    /// Largest request head accepted; larger ones get `431`.
    pub max_header_bytes: usize,
    /// Connections served at once.
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
            header_read_timeout: Duration::from_secs(10),
            max_header_bytes: 16 * 1024,
            max_connections: 256,
            access_log: true,
        }
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
pub async fn serve(
    listener: TcpListener,
    cfg: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<()> {
    // The embedded logo is written to a private temporary folder and served from there,
    // so that it takes the same, ServeDir-based path as any static folder.
    let embedded;
    let static_dir = match &cfg.static_dir {
        Some(dir) => dir.clone(),
        None => {
            embedded = tempfile::tempdir()?;
            let img = embedded.path().join("img");
            std::fs::create_dir_all(&img)?;
            std::fs::write(img.join("logo.jpg"), DEFAULT_LOGO)?;
            embedded.path().to_path_buf()
        }
    };
    let router = app(&AppConfig {
        page: cfg.page.clone(),
        static_dir: static_dir.clone(),
        close_after_response: cfg.close_after_response,
    });
    let limit = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&limit).acquire_owned() => permit.map_err(io::Error::other)?,
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of descriptors and the like: keep serving the others.
                Err(_) => continue,
            },
            () = &mut shutdown => break,
        };
        // A streamed file body follows its head in a second write; without TCP_NODELAY,
        // Nagle's algorithm holds it for the client's (delayed) ACK: 40 ms a response.
        let _ = stream.set_nodelay(true);
        let root = StaticRoot(static_dir.clone());
        let quiet = !cfg.access_log;
        let service =
            router
                .clone()
                .map_request(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(Peer(peer));
                    req.extensions_mut().insert(root.clone());
                    if quiet {
                        req.extensions_mut().insert(QuietLog);
                    }
                    req
                });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .keep_alive(true)
            .header_read_timeout(cfg.header_read_timeout)
            .max_buf_size(cfg.max_header_bytes.max(8192));
        let connection =
            builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(permit);
        });
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(5), graceful.shutdown()).await;
    Ok(())
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
