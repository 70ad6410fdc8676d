//! wirenote-server: the lab's page server, so that the lab can be reproduced and captured
//! end to end.
//!
//! `GET /` serves a small UTF-8 page (major, student ID, name and a logo); `/static/…`
//! serves a folder, or by default an embedded NEVER GIVE UP logo, with real HTTP caching
//! semantics: `Last-Modified`, `ETag`, `Cache-Control: no-cache` (so that a reload
//! revalidates), `If-Modified-Since` / `If-None-Match` → `304 Not Modified`, HEAD, and
//! Range for folders (`tower-http`'s `ServeDir`, which keeps `..` out; symlinks leaving
//! the folder are refused in `validators`). The embedded logo's validators come from
//! its content and the build (`embedded.rs`), so they survive a restart. HTTP/1.1 keep-alive
//! by default, `Connection: close` honoured, and an option to close after every response
//! to show non-persistent connections in a capture. HTTP/1.1 requests need exactly one
//! valid `Host` (`host.rs`).
//!
//! Hardening (`serve.rs`): request heads larger than [`ServerConfig::max_header_bytes`] get
//! `431`; a new connection must send a byte within [`ServerConfig::first_byte_timeout`]
//! and every request head (the next one on a kept-alive connection too) must be complete
//! within [`ServerConfig::header_read_timeout`]; [`ServerConfig::max_connections`] is far
//! above what slow clients can hold in that time, and the accept loop never waits for a
//! slot: a connection over the limit is closed at once.
//!
//! Read, at least: RFC 9110 §8.8 (validators), §13 (conditional requests), RFC 9111 §5.2
//! (`Cache-Control`), RFC 9112 §3.2 (`Host`), §9 (persistence).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod embedded;
mod host;
mod page;
mod serve;
mod validators;

pub use page::{Lang, PageInfo};
pub use serve::{raise_fd_limit, run, serve, Peer, ServerConfig};

use std::path::PathBuf;

use axum::routing::get;
use axum::Router;
use tower_http::services::ServeDir;

/// The embedded default logo (see `assets/README.md`).
pub const DEFAULT_LOGO: &[u8] = include_bytes!("../assets/logo.jpg");

/// What the router serves.
#[derive(Debug, Clone)]
pub struct AppConfig {
    /// The page's content.
    pub page: PageInfo,
    /// Folder served under `/static/`; `None` serves the embedded logo as
    /// `/static/img/logo.jpg`.
    pub static_dir: Option<PathBuf>,
    /// Add `Connection: close` to every response (non-persistent connections).
    pub close_after_response: bool,
}

/// The application: `GET /` and `/static/…`, with validators, the `Host` rule, access log
/// and the persistence policy. Tests call it with `oneshot`, without a socket.
///
/// ```
/// use axum::body::Body;
/// use axum::http::{Request, StatusCode};
/// use tower::ServiceExt;
/// use wirenote_server::{app, AppConfig, PageInfo};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let router = app(&AppConfig { page: PageInfo::default(), static_dir: None, close_after_response: false });
/// let request = Request::get("/").header("host", "127.0.0.1").body(Body::empty()).unwrap();
/// let response = router.oneshot(request).await.unwrap();
/// assert_eq!(response.status(), StatusCode::OK);
/// # });
/// ```
pub fn app(cfg: &AppConfig) -> Router {
    let page = cfg.page.clone();
    let statics = match &cfg.static_dir {
        Some(dir) => Router::new()
            .fallback_service(ServeDir::new(dir).append_index_html_on_directories(false))
            .layer(axum::middleware::from_fn(
                validators::etag_and_cache_control,
            ))
            .layer(axum::Extension(validators::StaticRoot::new(dir))),
        None => {
            let logo = embedded::logo();
            Router::new().route(
                "/img/logo.jpg",
                get(move |headers: axum::http::HeaderMap| async move { logo.respond(&headers) }),
            )
        }
    };
    let close = cfg.close_after_response;
    Router::new()
        .route("/", get(move || page::render(page.clone())))
        .nest("/static", statics)
        .layer(axum::middleware::from_fn(host::require_host))
        .layer(axum::middleware::from_fn(move |req, next| {
            serve::access_log(req, next, close)
        }))
}
