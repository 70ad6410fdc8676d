//! `ETag` and `Cache-Control` for static files, around `tower-http`'s `ServeDir` (which
//! handles `Last-Modified`, `If-Modified-Since`, HEAD and Range itself).
//!
//! The entity tag is strong and derived from the file's size and modification time (as
//! nginx and Apache do). `If-None-Match` takes precedence over `If-Modified-Since` (RFC
//! 9110 §13.2.2): when it is present, `If-Modified-Since` is not passed on.

use std::time::UNIX_EPOCH;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;

/// The entity tag of a file with this size and modification time.
pub fn etag_for(len: u64, modified_nanos: u128) -> String {
    format!("\"{modified_nanos:x}-{len:x}\"")
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
    let file = req
        .extensions()
        .get::<StaticRoot>()
        .map(|root| root.resolve(req.uri().path()));
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

/// The folder `/static` serves, put in request extensions so the middleware can find the
/// file `ServeDir` served (only used after `ServeDir` accepted the path).
#[derive(Debug, Clone)]
pub struct StaticRoot(pub std::path::PathBuf);

impl StaticRoot {
    fn resolve(&self, uri_path: &str) -> Option<std::path::PathBuf> {
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
        let root = StaticRoot("/srv/static".into());
        assert_eq!(
            root.resolve("/img/logo.jpg"),
            Some("/srv/static/img/logo.jpg".into())
        );
        assert_eq!(root.resolve("/img/%2e%2e/x"), None);
        assert_eq!(root.resolve("/../etc/passwd"), None);
    }
}
