//! wirenote-server: the lab's page server, so that the lab can be reproduced and captured
//! end to end.
//!
//! `GET /` serves a small UTF-8 page (major, student ID, name and a logo); `/static/…`
//! serves a folder (by default, an embedded NEVER GIVE UP logo) with real HTTP caching
//! semantics: `Last-Modified`, `ETag`, `Cache-Control: no-cache` (so that a reload
//! revalidates), `If-Modified-Since` / `If-None-Match` → `304 Not Modified`, HEAD and
//! Range (from `tower-http`'s `ServeDir`, which also keeps every path inside the folder).
//! HTTP/1.1 keep-alive by default, `Connection: close` honoured, and an option to close
//! after every response to show non-persistent connections in a capture.
//!
//! Hardening: request heads larger than [`ServerConfig::max_header_bytes`] get `431`; a
//! client that does not send its head within [`ServerConfig::header_read_timeout`] is
//! disconnected; at most [`ServerConfig::max_connections`] connections are served at once
//! (more wait in the accept queue).
//!
//! Read, at least: RFC 9110 §8.8 (validators), §13 (conditional requests), RFC 9111 §5.2
//! (`Cache-Control`), RFC 9112 §9 (persistence).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod page;
mod serve;
mod validators;

pub use page::{Lang, PageInfo};
pub use serve::{run, serve, Peer, ServerConfig};

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
    /// Folder served under `/static/`.
    pub static_dir: PathBuf,
    /// Add `Connection: close` to every response (non-persistent connections).
    pub close_after_response: bool,
}

/// The application: `GET /` and `/static/…`, with validators, access log and the
/// persistence policy. Tests call it with `oneshot`, without a socket.
///
/// ```
/// use axum::body::Body;
/// use axum::http::{Request, StatusCode};
/// use tower::ServiceExt;
/// use wirenote_server::{app, AppConfig, PageInfo};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let dir = std::env::temp_dir();
/// let router = app(&AppConfig { page: PageInfo::default(), static_dir: dir, close_after_response: false });
/// let response = router.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), StatusCode::OK);
/// # });
/// ```
pub fn app(cfg: &AppConfig) -> Router {
    let page = cfg.page.clone();
    let statics = Router::new()
        .fallback_service(ServeDir::new(&cfg.static_dir).append_index_html_on_directories(false))
        .layer(axum::middleware::from_fn(
            validators::etag_and_cache_control,
        ))
        .layer(axum::Extension(validators::StaticRoot(
            cfg.static_dir.clone(),
        )));
    let close = cfg.close_after_response;
    Router::new()
        .route("/", get(move || page::render(page.clone())))
        .nest("/static", statics)
        .layer(axum::middleware::from_fn(move |req, next| {
            serve::access_log(req, next, close)
        }))
}
