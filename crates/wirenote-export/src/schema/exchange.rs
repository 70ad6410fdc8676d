//! The per-exchange table (`wirenote http`): one row per HTTP request and its response,
//! Zeek http.log-like.

use wirenote_core::record::ExchangeRecord;

use super::cell::{table, Cell, Mirror};

const HTTP_LOG: &str = "http.log";

table! {
    /// The per-exchange columns, in output order.
    pub enum ExchangeColumn for ExchangeRecord {
        Stream = "stream", Integer, Mirror::Tshark(&["tcp.stream"]),
            "connection index, as in the per-packet rows",
            |r, _s| r.stream;
        Time = "time", Time, Mirror::Zeek(HTTP_LOG, &["ts"]),
            "when the request completed (the response, without a request)",
            |r, _s| r.time;
        TimeRel = "time_rel", Seconds, Mirror::None,
            "`time` as seconds since the capture's first frame",
            |r, _s| Cell::Since(r.time);
        TransDepth = "trans_depth", Integer, Mirror::Zeek(HTTP_LOG, &["trans_depth"]),
            "1-based position of the request in its connection (0: a response without request)",
            |r, _s| r.trans_depth;
        RequestFrame = "request_frame", Integer, Mirror::None,
            "frame where the request completed (where its head did, when its body never completed)",
            |r, _s| r.request_frame;
        ResponseFrame = "response_frame", Integer, Mirror::None,
            "frame where the response completed (where its head did, when its body never completed)",
            |r, _s| r.response_frame;
        Method = "method", Text, Mirror::Zeek(HTTP_LOG, &["method"]),
            "request method",
            |r, _s| r.method.as_deref();
        Host = "host", Text, Mirror::Zeek(HTTP_LOG, &["host"]),
            "the request's `Host` header",
            |r, _s| r.host.as_deref();
        Uri = "uri", Text, Mirror::Zeek(HTTP_LOG, &["uri"]),
            "request target",
            |r, _s| r.uri.as_deref();
        Version = "version", Text, Mirror::Zeek(HTTP_LOG, &["version"]),
            "HTTP version of the request (of the response when there is no request)",
            |r, _s| r.version.as_deref();
        Status = "status", Integer, Mirror::Zeek(HTTP_LOG, &["status_code"]),
            "response status code",
            |r, _s| r.status;
        Reason = "reason", Text, Mirror::Zeek(HTTP_LOG, &["status_msg"]),
            "response reason phrase",
            |r, _s| r.reason.as_deref();
        RequestBodyLen = "request_body_len", Integer, Mirror::Zeek(HTTP_LOG, &["request_body_len"]),
            "request body bytes",
            |r, _s| r.request_body_len;
        ResponseBodyLen = "response_body_len", Integer, Mirror::Zeek(HTTP_LOG, &["response_body_len"]),
            "response body bytes (de-chunked)",
            |r, _s| r.response_body_len;
        RequestBodyEnd = "request_body_end", Text, Mirror::None,
            "how the request's body ended: `complete`, or cut short by a `reset`, by the connection being `closed`, or `unfinished` when the capture ended first",
            |r, _s| r.request_body_end.as_str();
        ResponseBodyEnd = "response_body_end", Text, Mirror::None,
            "how the response's body ended (as `request_body_end`; empty without a response)",
            |r, _s| r.response_body_end.as_str();
        ContentType = "content_type", Text, Mirror::None,
            "the response's media type (its `Content-Type`)",
            |r, _s| r.content_type.as_deref();
        Conditional = "conditional", Boolean, Mirror::None,
            "the request carried `If-Modified-Since` or `If-None-Match`",
            |r, _s| r.conditional;
        Revalidated = "revalidated", Boolean, Mirror::None,
            "a `304` answered a conditional request",
            |r, _s| r.revalidated;
        Persistent = "persistent", Boolean, Mirror::None,
            "both sides' headers keep the connection open after this exchange",
            |r, _s| r.persistent;
        ConnectionAfter = "connection_after", Text, Mirror::None,
            "what followed on the connection: `reused` (another request), `closed`, or `open` at the end of the capture",
            |r, _s| r.connection_after;
        TimeToFirstByte = "time_to_first_byte", Seconds, Mirror::None,
            "request → first segment of the response",
            |r, _s| r.time_to_first_byte.map(Cell::Seconds);
        ResponseTime = "response_time", Seconds, Mirror::None,
            "request → response complete",
            |r, _s| r.response_time.map(Cell::Seconds);
    }
}
