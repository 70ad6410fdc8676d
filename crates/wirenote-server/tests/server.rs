//! The page server: `oneshot` requests on the router, then a real socket on 127.0.0.1:0
//! for keep-alive, close, 431, slow clients and the connection limit.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;
use wirenote_server::{app, AppConfig, Lang, PageInfo, ServerConfig, DEFAULT_LOGO};

fn static_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("img")).unwrap();
    std::fs::write(dir.path().join("img/logo.jpg"), DEFAULT_LOGO).unwrap();
    dir
}

fn config(dir: &tempfile::TempDir, lang: Lang) -> AppConfig {
    AppConfig {
        page: PageInfo {
            lang,
            ..PageInfo::default()
        },
        static_dir: dir.path().to_path_buf(),
        close_after_response: false,
    }
}

async fn get(
    app: &axum::Router,
    uri: &str,
    headers: &[(header::HeaderName, &str)],
) -> axum::http::Response<Body> {
    let mut req = Request::get(uri);
    for (name, value) in headers {
        req = req.header(name, *value);
    }
    app.clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
}

async fn body(response: axum::http::Response<Body>) -> Vec<u8> {
    response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec()
}

#[tokio::test]
async fn page_in_english_and_chinese() {
    let dir = static_dir();
    let response = get(&app(&config(&dir, Lang::En)), "/", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    let text = String::from_utf8(body(response).await).unwrap();
    assert!(text.contains("Major: Computer Science and Technology"));
    assert!(text.contains("Student ID: 0000000"));
    assert!(text.contains("<img id=\"logo\" src=\"/static/img/logo.jpg\""));
    let text =
        String::from_utf8(body(get(&app(&config(&dir, Lang::Zh)), "/", &[]).await).await).unwrap();
    assert!(
        text.contains("专业: 计算机科学与技术")
            && text.contains("学号: 0000000")
            && text.contains("姓名: 学生")
    );
}

#[tokio::test]
async fn logo_with_validators_and_both_kinds_of_304() {
    let dir = static_dir();
    let app = app(&config(&dir, Lang::En));
    let first = get(&app, "/static/img/logo.jpg", &[]).await;
    assert_eq!(first.status(), StatusCode::OK);
    let headers = first.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "image/jpeg");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    let etag = headers[header::ETAG].to_str().unwrap().to_string();
    let modified = headers[header::LAST_MODIFIED].to_str().unwrap().to_string();
    assert_eq!(body(first).await, DEFAULT_LOGO);

    let by_date = get(
        &app,
        "/static/img/logo.jpg",
        &[(header::IF_MODIFIED_SINCE, &modified)],
    )
    .await;
    assert_eq!(by_date.status(), StatusCode::NOT_MODIFIED);
    assert!(body(by_date).await.is_empty());

    let by_tag = get(
        &app,
        "/static/img/logo.jpg",
        &[(header::IF_NONE_MATCH, &etag)],
    )
    .await;
    assert_eq!(by_tag.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(by_tag.headers()[header::ETAG], etag.as_str());
    assert!(body(by_tag).await.is_empty());

    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.2.2).
    let stale_tag = get(
        &app,
        "/static/img/logo.jpg",
        &[
            (header::IF_NONE_MATCH, "\"other\""),
            (header::IF_MODIFIED_SINCE, &modified),
        ],
    )
    .await;
    assert_eq!(stale_tag.status(), StatusCode::OK);

    let head = app
        .clone()
        .oneshot(
            Request::head("/static/img/logo.jpg")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()[header::CONTENT_LENGTH],
        DEFAULT_LOGO.len().to_string().as_str()
    );
    assert!(body(head).await.is_empty());

    let range = get(
        &app,
        "/static/img/logo.jpg",
        &[(header::RANGE, "bytes=0-3")],
    )
    .await;
    assert_eq!(range.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(body(range).await, &DEFAULT_LOGO[..4]);
}

#[tokio::test]
async fn traversal_never_escapes_the_static_folder() {
    let root = tempfile::tempdir().unwrap();
    let statics = root.path().join("static");
    std::fs::create_dir_all(statics.join("img")).unwrap();
    std::fs::write(root.path().join("secret.txt"), "top secret").unwrap();
    let app = app(&AppConfig {
        page: PageInfo::default(),
        static_dir: statics,
        close_after_response: false,
    });
    for uri in [
        "/static/../secret.txt",
        "/static/%2e%2e/secret.txt",
        "/static/%2E%2E/secret.txt",
        "/static/..%2fsecret.txt",
        "/static/..%5csecret.txt",
        "/static/img/../../secret.txt",
        "/static/%252e%252e/secret.txt",
        "/static//etc/passwd",
        "/static/../../../../etc/passwd",
    ] {
        let response = get(&app, uri, &[]).await;
        let status = response.status();
        let bytes = body(response).await;
        assert!(status.is_client_error(), "{uri}: {status}");
        assert!(
            !String::from_utf8_lossy(&bytes).contains("top secret"),
            "{uri}"
        );
        assert!(!String::from_utf8_lossy(&bytes).contains("root:"), "{uri}");
    }
}

#[tokio::test]
async fn close_option_marks_every_response() {
    let dir = static_dir();
    let mut cfg = config(&dir, Lang::En);
    cfg.close_after_response = true;
    let response = get(&app(&cfg), "/", &[]).await;
    assert_eq!(response.headers()[header::CONNECTION], "close");
}

/// Starts the server on 127.0.0.1:0; returns its address and a stop handle.
async fn start(
    cfg: ServerConfig,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        wirenote_server::serve(listener, cfg, async {
            let _ = stopped.await;
        })
        .await
        .unwrap();
    });
    (addr, stop, task)
}

fn quiet() -> ServerConfig {
    ServerConfig {
        access_log: false,
        ..ServerConfig::default()
    }
}

/// Reads one response (head and a Content-Length body) from `stream`.
async fn read_response(stream: &mut TcpStream) -> String {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let text = String::from_utf8_lossy(&buf).to_string();
        if let Some(end) = text.find("\r\n\r\n") {
            let length = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(|v| v.trim().parse::<usize>().unwrap())
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return String::from_utf8_lossy(&buf[..end + 4 + length]).to_string();
            }
        }
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut chunk))
            .await
            .expect("response in time")
            .unwrap();
        if n == 0 {
            return String::from_utf8_lossy(&buf).to_string();
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test]
async fn keep_alive_reuses_one_connection_and_close_is_honoured() {
    let (addr, stop, task) = start(quiet()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let first = read_response(&mut stream).await;
    assert!(first.starts_with("HTTP/1.1 200 OK"), "{first}");
    stream
        .write_all(b"GET /static/img/logo.jpg HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let second = read_response(&mut stream).await;
    assert!(
        second.starts_with("HTTP/1.1 200 OK")
            && second.to_ascii_lowercase().contains("connection: close"),
        "{second}"
    );
    // The server closed the connection after the response that asked for it.
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n, 0);
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn oversized_head_gets_431() {
    let (addr, stop, task) = start(quiet()).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let big = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(64 * 1024)
    );
    let _ = stream.write_all(big.as_bytes()).await;
    let response = read_response(&mut stream).await;
    assert!(response.starts_with("HTTP/1.1 431"), "{response}");
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn slow_client_is_disconnected() {
    let cfg = ServerConfig {
        header_read_timeout: Duration::from_millis(500),
        ..quiet()
    };
    let (addr, stop, task) = start(cfg).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the server hung up on the slow client");
    assert!(!String::from_utf8_lossy(&rest).contains("200 OK"));
    stop.send(()).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn connections_are_bounded() {
    let cfg = ServerConfig {
        max_connections: 1,
        ..quiet()
    };
    let (addr, stop, task) = start(cfg).await;
    let mut first = TcpStream::connect(addr).await.unwrap();
    first
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(read_response(&mut first).await.starts_with("HTTP/1.1 200"));
    // While the first (keep-alive) connection is open, a second one is not served.
    let mut second = TcpStream::connect(addr).await.unwrap();
    second
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut chunk = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), second.read(&mut chunk))
            .await
            .is_err()
    );
    // Once it closes, the waiting connection is served.
    drop(first);
    assert!(read_response(&mut second).await.starts_with("HTTP/1.1 200"));
    stop.send(()).unwrap();
    task.await.unwrap();
}
