//! Assets compiled into the binary (the default logo), served from memory with validators
//! that do not depend on when the server started.
//!
//! The logo used to be written to a temporary folder at start-up and served from there:
//! its `Last-Modified` (and the mtime-based `ETag`) was the start time, so a server
//! restarted between a load and a reload answered the reload's conditional request with
//! 200 instead of the lab's 304. Here the entity tag is the content's hash (strong, RFC
//! 9110 §8.8.3) and `Last-Modified` the date the assets last changed in the source
//! (`build.rs`: `SOURCE_DATE_EPOCH`, else the last commit touching `assets/`).
//!
//! `Range` is ignored (RFC 9110 §14.2 allows it; no `Accept-Ranges` is sent): a 1 KiB logo
//! gains nothing from it. `--static` files keep `ServeDir`'s Range support.

use std::time::SystemTime;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;

use crate::validators::{content_hash, evaluate, from_epoch, Precondition};

/// When the embedded assets last changed (Unix seconds), set by `build.rs`.
const ASSETS_EPOCH: &str = env!("WIRENOTE_ASSETS_EPOCH");

/// One embedded file and its validators.
#[derive(Debug, Clone)]
pub struct Asset {
    bytes: &'static [u8],
    content_type: &'static str,
    etag: HeaderValue,
    last_modified: SystemTime,
    last_modified_text: HeaderValue,
}

impl Asset {
    /// An asset with its content hash computed at compile time by the caller.
    pub fn new(bytes: &'static [u8], hash: u64, content_type: &'static str) -> Asset {
        let last_modified = from_epoch(ASSETS_EPOCH.parse().unwrap_or(0));
        Asset {
            bytes,
            content_type,
            etag: HeaderValue::from_str(&format!("\"{hash:016x}\"")).expect("hex is a header"),
            last_modified,
            last_modified_text: HeaderValue::from_str(&httpdate::fmt_http_date(last_modified))
                .expect("an HTTP date is a header"),
        }
    }

    /// The entity tag sent for this asset.
    pub fn etag(&self) -> &str {
        self.etag.to_str().unwrap_or_default()
    }

    /// The answer to a GET or HEAD (axum drops the body of a HEAD response).
    pub fn respond(&self, request: &HeaderMap) -> Response {
        let (status, body) = match evaluate(request, self.etag(), self.last_modified) {
            Precondition::Proceed => (StatusCode::OK, Body::from(self.bytes)),
            Precondition::NotModified => (StatusCode::NOT_MODIFIED, Body::empty()),
            Precondition::Failed => (StatusCode::PRECONDITION_FAILED, Body::empty()),
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        if status != StatusCode::PRECONDITION_FAILED {
            headers.insert(header::ETAG, self.etag.clone());
            headers.insert(header::LAST_MODIFIED, self.last_modified_text.clone());
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        }
        if status == StatusCode::OK {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(self.content_type),
            );
            // Set here, not left to hyper, so that the access log shows the size (and a
            // HEAD response carries it).
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(self.bytes.len()));
        }
        response
    }
}

/// The default logo, `/static/img/logo.jpg` when no `--static` folder is given.
pub fn logo() -> Asset {
    const HASH: u64 = content_hash(crate::DEFAULT_LOGO);
    Asset::new(crate::DEFAULT_LOGO, HASH, "image/jpeg")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(headers: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn validators_are_the_content_and_the_build_date() {
        let logo = logo();
        assert_eq!(
            logo.etag(),
            format!("\"{:016x}\"", content_hash(crate::DEFAULT_LOGO))
        );
        // Two servers (a restart) give the same validators.
        assert_eq!(logo.etag(), super::logo().etag());
        assert_eq!(logo.last_modified, super::logo().last_modified);
        assert!(logo.last_modified > from_epoch(0), "{ASSETS_EPOCH}");
        assert!(logo.last_modified <= SystemTime::now());
    }

    #[test]
    fn preconditions_in_rfc_order() {
        let logo = logo();
        let date = logo.last_modified_text.to_str().unwrap().to_string();
        let earlier =
            httpdate::fmt_http_date(logo.last_modified - std::time::Duration::from_secs(1));
        let tag = logo.etag().to_string();
        let weak = format!("W/{tag}");
        let status = |h: &[(header::HeaderName, &str)]| logo.respond(&request(h)).status();
        assert_eq!(status(&[]), StatusCode::OK);
        assert_eq!(
            status(&[(header::IF_NONE_MATCH, &tag)]),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            status(&[(header::IF_NONE_MATCH, &weak)]),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            status(&[(header::IF_NONE_MATCH, "*")]),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            status(&[(header::IF_MODIFIED_SINCE, &date)]),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            status(&[(header::IF_MODIFIED_SINCE, &earlier)]),
            StatusCode::OK
        );
        assert_eq!(
            status(&[(header::IF_MODIFIED_SINCE, "yesterday")]),
            StatusCode::OK
        );
        // If-None-Match takes precedence: a stale tag is a 200 whatever the date says.
        assert_eq!(
            status(&[
                (header::IF_NONE_MATCH, "\"old\""),
                (header::IF_MODIFIED_SINCE, &date)
            ]),
            StatusCode::OK
        );
        assert_eq!(status(&[(header::IF_MATCH, &tag)]), StatusCode::OK);
        assert_eq!(
            status(&[(header::IF_MATCH, &weak)]),
            StatusCode::PRECONDITION_FAILED
        );
        assert_eq!(
            status(&[(header::IF_MATCH, "\"old\"")]),
            StatusCode::PRECONDITION_FAILED
        );
        assert_eq!(
            status(&[(header::IF_UNMODIFIED_SINCE, &earlier)]),
            StatusCode::PRECONDITION_FAILED
        );
        assert_eq!(
            status(&[(header::IF_UNMODIFIED_SINCE, &date)]),
            StatusCode::OK
        );
        let not_modified = logo.respond(&request(&[(header::IF_NONE_MATCH, &tag)]));
        assert_eq!(not_modified.headers()[header::ETAG], tag.as_str());
        assert_eq!(not_modified.headers()[header::LAST_MODIFIED], date.as_str());
        assert!(not_modified.headers().get(header::CONTENT_TYPE).is_none());
    }
}
