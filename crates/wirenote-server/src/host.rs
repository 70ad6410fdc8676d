//! The `Host` rule of RFC 9112 §3.2: "A server MUST respond with a 400 (Bad Request)
//! status code to any HTTP/1.1 request message that lacks a Host header field and to any
//! request message that contains more than one Host header field line or a Host header
//! field with an invalid field value." HTTP/1.0 requests may omit it (§3.2 makes it a
//! MUST for 1.1 only), and an empty value is valid (a target without an authority).
//! hyper leaves this to the application.

use std::str::FromStr;

use axum::body::Body;
use axum::extract::Request;
use axum::http::uri::Authority;
use axum::http::{header, HeaderMap, StatusCode, Version};
use axum::middleware::Next;
use axum::response::Response;

/// Whether a request of this version with these headers breaks the rule.
pub fn is_bad(version: Version, headers: &HeaderMap) -> bool {
    let mut hosts = headers.get_all(header::HOST).iter();
    match (hosts.next(), hosts.next()) {
        (None, _) => version == Version::HTTP_11,
        (Some(_), Some(_)) => true,
        (Some(value), None) => !valid(value.as_bytes()),
    }
}

/// `uri-host [ ":" port ]` (RFC 9110 §7.2), or empty; no user information.
fn valid(value: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    if text.is_empty() {
        return true;
    }
    // `Authority` also takes user information and any text after a colon; `Host` has
    // neither.
    if text.contains('@') || Authority::from_str(text).is_err() {
        return false;
    }
    let port = if text.starts_with('[') {
        text.split_once(']').map_or("", |(_, rest)| rest)
    } else {
        text.rsplit_once(':').map_or("", |(_, port)| port)
    };
    port.trim_start_matches(':')
        .bytes()
        .all(|b| b.is_ascii_digit())
}

/// Middleware: `400 Bad Request` for a request that breaks the rule, and the connection
/// closed after it (the framing of what follows cannot be trusted either).
pub async fn require_host(req: Request, next: Next) -> Response {
    if is_bad(req.version(), req.headers()) {
        let mut response = Response::new(Body::from("missing, repeated or invalid Host header\n"));
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response.headers_mut().insert(
            header::CONNECTION,
            axum::http::HeaderValue::from_static("close"),
        );
        return response;
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(hosts: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for host in hosts {
            map.append(header::HOST, host.parse().unwrap());
        }
        map
    }

    #[test]
    fn host_rule() {
        let ok = [
            (Version::HTTP_11, &["127.0.0.1:5000"][..]),
            (Version::HTTP_11, &["example.org"][..]),
            (Version::HTTP_11, &["[::1]:5000"][..]),
            (Version::HTTP_11, &[""][..]),
            (Version::HTTP_10, &[][..]),
            (Version::HTTP_10, &["x"][..]),
        ];
        for (version, hosts) in ok {
            assert!(!is_bad(version, &headers(hosts)), "{version:?} {hosts:?}");
        }
        let bad = [
            (Version::HTTP_11, &[][..]),
            (Version::HTTP_11, &["a", "b"][..]),
            (Version::HTTP_10, &["a", "a"][..]),
            (Version::HTTP_11, &["user@host"][..]),
            (Version::HTTP_11, &["a b"][..]),
            (Version::HTTP_11, &["host:port"][..]),
        ];
        for (version, hosts) in bad {
            assert!(is_bad(version, &headers(hosts)), "{version:?} {hosts:?}");
        }
    }
}
