//! Validators and conditional requests (RFC 9110 §8.8, §13).
//!
//! Two kinds of representation have validators here:
//!
//! * Embedded assets (the default logo): a strong `ETag` hashed from the content and a
//!   `Last-Modified` fixed at build time (`build.rs`), so both survive a restart of the
//!   server and a rebuild of the same source; [`evaluate`] answers their preconditions.
//! * Files of a `--static` folder, around `tower-http`'s `ServeDir` (which handles
//!   `Last-Modified` from the file's mtime, `If-Modified-Since`, `If-Unmodified-Since`,
//!   HEAD and Range itself): the strong entity tag is derived from the file's size and
//!   modification time, as nginx and Apache do (hashing would read every file on every
//!   request); it changes when the file is touched, which only costs one 200.
//!   `If-None-Match` takes precedence over `If-Modified-Since` (RFC 9110 §13.2.2): when
//!   it is present, `If-Modified-Since` is not passed on. The middleware also refuses a
//!   path that leaves the folder through a symlink (see [`StaticRoot::contains`]).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// The entity tag of a file with this size and modification time.
pub fn etag_for(len: u64, modified_nanos: u128) -> String {
    format!("\"{modified_nanos:x}-{len:x}\"")
}

/// The strong entity tag of content: its 64-bit FNV-1a hash. Computed at compile time for
/// embedded assets; stable across builds, platforms and Rust versions (unlike std's
/// `DefaultHasher`), so a rebuilt server still recognises a browser's cached copy.
pub const fn content_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

/// What a request's preconditions decide for a GET or HEAD (RFC 9110 §13.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precondition {
    /// Send the representation.
    Proceed,
    /// `304 Not Modified`: the client's copy is current.
    NotModified,
    /// `412 Precondition Failed` (`If-Match` or `If-Unmodified-Since` failed).
    Failed,
}

/// Evaluates the preconditions of a GET or HEAD on a representation with this strong
/// `etag` and `last_modified` (whole seconds), in RFC 9110 §13.2.2's order: `If-Match`,
/// else `If-Unmodified-Since`; then `If-None-Match`, else `If-Modified-Since`. A date
/// that does not parse is ignored, as §13.1.3 and §13.1.4 say.
pub fn evaluate(headers: &HeaderMap, etag: &str, last_modified: SystemTime) -> Precondition {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
    };
    let date = |name| text(name).and_then(|v| httpdate::parse_http_date(v).ok());
    if let Some(if_match) = text(header::IF_MATCH) {
        if !strong_match(if_match, etag) {
            return Precondition::Failed;
        }
    } else if date(header::IF_UNMODIFIED_SINCE).is_some_and(|since| last_modified > since) {
        return Precondition::Failed;
    }
    if let Some(if_none_match) = text(header::IF_NONE_MATCH) {
        if none_match(if_none_match, etag) {
            return Precondition::NotModified;
        }
    } else if date(header::IF_MODIFIED_SINCE).is_some_and(|since| last_modified <= since) {
        return Precondition::NotModified;
    }
    Precondition::Proceed
}

/// Whether an `If-Match` value matches `etag` (strong comparison, RFC 9110 §13.1.1).
fn strong_match(if_match: &str, etag: &str) -> bool {
    if_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || (!tag.starts_with("W/") && tag == etag))
}

/// `SystemTime` of whole seconds since the epoch.
pub fn from_epoch(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Whether an `If-None-Match` value matches `etag` (weak comparison, RFC 9110 §13.1.2).
fn none_match(if_none_match: &str, etag: &str) -> bool {
    let bare = etag.trim_start_matches("W/");
    if_none_match
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == bare)
}

/// Middleware for `/static`: computes the ETag of the file `ServeDir` answered with,
/// turns a 200 into a 304 when `If-None-Match` matches, and marks responses
/// `Cache-Control: no-cache` (cache, but revalidate before every use — which is what
/// makes a browser reload show `304 Not Modified`).
pub async fn etag_and_cache_control(mut req: Request, next: Next) -> Response {
    let if_none_match = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if if_none_match.is_some() {
        req.headers_mut().remove(header::IF_MODIFIED_SINCE);
    }
    let is_get_or_head = matches!(*req.method(), Method::GET | Method::HEAD);
    let file = req.extensions().get::<StaticRoot>().map(|root| {
        root.resolve(req.uri().path())
            .filter(|path| root.contains(path))
    });
    if let Some(None) = file {
        return not_found();
    }
    let mut response = next.run(req).await;
    let status = response.status();
    if !(status == StatusCode::OK
        || status == StatusCode::NOT_MODIFIED
        || status == StatusCode::PARTIAL_CONTENT)
    {
        return response;
    }
    let etag = file.flatten().and_then(|path| {
        let meta = std::fs::metadata(path).ok()?;
        let modified = meta
            .modified()
            .ok()?
            .duration_since(UNIX_EPOCH)
            .ok()?
            .as_nanos();
        Some(etag_for(meta.len(), modified))
    });
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    let Some(etag) = etag else {
        return response;
    };
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(header::ETAG, value);
    }
    if is_get_or_head
        && status == StatusCode::OK
        && if_none_match.is_some_and(|v| none_match(&v, &etag))
    {
        let mut not_modified = Response::new(Body::empty());
        *not_modified.status_mut() = StatusCode::NOT_MODIFIED;
        for name in [
            header::ETAG,
            header::LAST_MODIFIED,
            header::CACHE_CONTROL,
            header::DATE,
        ] {
            if let Some(value) = response.headers().get(&name) {
                not_modified.headers_mut().insert(name, value.clone());
            }
        }
        return not_modified;
    }
    response
}

fn not_found() -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NOT_FOUND;
    response
}

/// The folder `/static` serves, canonical (symlinks in its own path resolved), put in
/// request extensions so the middleware can check and find the file `ServeDir` serves.
#[derive(Debug, Clone)]
pub struct StaticRoot(PathBuf);

impl StaticRoot {
    /// The folder `dir`, canonicalized when it exists.
    pub fn new(dir: &Path) -> StaticRoot {
        StaticRoot(std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()))
    }

    /// Whether `path` (under the root, from [`StaticRoot::resolve`]) stays inside the
    /// folder once its symlinks are resolved. `ServeDir` follows symlinks, so a link inside
    /// the folder to `/etc` would otherwise be served: such a path is answered 404, the
    /// answer for any file the folder does not have (403 would confirm that it exists).
    /// Links that stay inside the folder are served. A path that does not exist is left to
    /// `ServeDir` (404). The check and `ServeDir`'s open are two steps: someone who can
    /// swap a link inside the folder in between could still win the race, but that person
    /// can already write the folder being served.
    fn contains(&self, path: &Path) -> bool {
        match std::fs::canonicalize(path) {
            Ok(real) => real.starts_with(&self.0),
            Err(_) => true,
        }
    }

    fn resolve(&self, uri_path: &str) -> Option<PathBuf> {
        let decoded = percent_decode(uri_path)?;
        let mut path = self.0.clone();
        for part in decoded.split('/') {
            match part {
                "" | "." => {}
                ".." => return None,
                part if part.contains('\\') => return None,
                part => path.push(part),
            }
        }
        Some(path)
    }
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_comparison() {
        let tag = etag_for(1159, 0x1234);
        assert_eq!(tag, "\"1234-487\"");
        assert!(none_match("\"1234-487\"", &tag));
        assert!(none_match("\"x\", W/\"1234-487\"", &tag));
        assert!(none_match("*", &tag));
        assert!(!none_match("\"1234-488\"", &tag));
    }

    #[test]
    fn resolve_refuses_parent_components() {
        let root = StaticRoot::new(Path::new("/srv/static"));
        assert_eq!(
            root.resolve("/img/logo.jpg"),
            Some("/srv/static/img/logo.jpg".into())
        );
        assert_eq!(root.resolve("/img/%2e%2e/x"), None);
        assert_eq!(root.resolve("/../etc/passwd"), None);
    }
}
