//! HTTP/1.x message heads and framing over a TCP byte stream.
//!
//! Read, at least: RFC 9112 §2–§7 (message format, framing: Content-Length, chunked,
//! close-delimited), RFC 9110 §6.4.1 (responses without content: HEAD, 1xx, 204, 304).
//!
//! Two jobs live here. [`parse_head`] reads a request or status line and its header
//! fields with `httparse`. [`dissect_stream`] decides, for the bytes of one direction that
//! TCP has delivered so far, which messages are complete and how many more bytes the next
//! one needs — the way Wireshark's HTTP dissector answers TCP's desegmentation questions,
//! so that the Info column (`GET / HTTP/1.1`, `[TCP segment of a reassembled PDU]`)
//! agrees with tshark.

use std::borrow::Cow;

use crate::record::Kind;

/// How many more bytes a message needs (Wireshark's `desegment_len`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// One more segment, whatever its size (headers or chunks incomplete).
    OneMoreSegment,
    /// Exactly this many more bytes (Content-Length body).
    Bytes(u32),
    /// Everything until the sender's FIN (a response delimited by closing).
    UntilFin,
}

/// What the HTTP side of a conversation remembers between messages (Wireshark's
/// `http_conv_t` fields that change framing or Info).
#[derive(Debug, Clone, Default)]
pub struct HttpConv {
    /// Method of the last request seen in the conversation (either direction).
    pub last_method: Option<String>,
    /// A request has been seen: later non-HTTP data is "Continuation".
    pub seen_request: bool,
    /// Where chunk walks of messages still growing stopped.
    chunk_hints: Vec<ChunkHint>,
    /// Only framing and message kinds are wanted (a first pass): no Info text, and
    /// messages carry no header facts or strings but the request method.
    pub lean: bool,
    /// Report a message whose head is whole but whose body is not yet
    /// ([`StreamResult::open_head`]): the exchange table counts a head seen as an
    /// exchange, whatever becomes of its body. Off while one is already reported.
    pub want_open_head: bool,
}

/// One complete message found in the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Request or response.
    pub kind: Kind,
    /// The first line, without its terminator.
    pub first_line: String,
    /// Method (requests).
    pub method: Option<String>,
    /// Request target (requests).
    pub uri: Option<String>,
    /// Status code (responses).
    pub status: Option<u16>,
    /// Media type of the body, lower-case, without parameters.
    pub content_type: Option<String>,
    /// Body bytes present (after de-chunking).
    pub body_len: u64,
    /// First bytes of the body (for image signatures).
    pub body_magic: [u8; 6],
    /// Protocol version (`HTTP/1.1`).
    pub version: String,
    /// Reason phrase (responses).
    pub reason: String,
    /// Header facts used for pairing notes and the exchange table.
    pub head: HeadFacts,
}

/// What the exchange logic needs from a message's header fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadFacts {
    /// `Host`.
    pub host: Option<String>,
    /// `Connection` (lower-case).
    pub connection: Option<String>,
    /// `If-Modified-Since` or `If-None-Match` present: a conditional request.
    pub conditional: bool,
    /// Which validators made it conditional (`If-Modified-Since`, `If-None-Match`, or
    /// both, `, `-separated), for the words that explain a revalidation.
    pub validators: Option<&'static str>,
    /// The head parsed cleanly with `httparse`.
    pub well_formed: bool,
}

impl Message {
    /// A message from its head (first line and header fields), with no body yet.
    fn from_head(head: &[u8], first_line: String, kind: Kind, status: Option<u16>) -> Message {
        let (version, reason, facts) = head_facts(head, &first_line, kind);
        let (method, uri) = request_target(kind, &first_line);
        Message {
            kind,
            first_line,
            method,
            uri,
            status,
            content_type: None,
            body_len: 0,
            body_magic: [0; 6],
            version,
            reason,
            head: facts,
        }
    }
    /// The message with its body's media type and length so far.
    fn with_body(mut self, content_type: Option<String>, body_len: u64) -> Message {
        self.content_type = content_type;
        self.body_len = body_len;
        self
    }

    /// Only what a first pass needs: the kind, the status and a request's method.
    fn bare(kind: Kind, status: Option<u16>, first_line: &[u8]) -> Message {
        let (method, _) = request_target(kind, &String::from_utf8_lossy(first_line));
        Message {
            kind,
            first_line: String::new(),
            method,
            uri: None,
            status,
            content_type: None,
            body_len: 0,
            body_magic: [0; 6],
            version: String::new(),
            reason: String::new(),
            head: HeadFacts::default(),
        }
    }

    /// A message from its head: with every text field, or, for a lean first pass, only
    /// what framing and pairing need (see [`HttpConv::lean`]).
    #[inline]
    fn new(
        lean: bool,
        head: &[u8],
        first_line: &[u8],
        line_text: String,
        kind: Kind,
        status: Option<u16>,
    ) -> Message {
        if lean {
            Message::bare(kind, status, first_line)
        } else {
            Message::from_head(head, line_text, kind, status)
        }
    }

    /// Whether this message asks for (or announces) the connection to stay open after it,
    /// by RFC 9112 §9.3: HTTP/1.1 persists unless `Connection: close`; HTTP/1.0 only with
    /// `Connection: keep-alive`.
    pub fn keeps_alive(&self) -> bool {
        let connection = self.head.connection.as_deref().unwrap_or("");
        let has = |token: &str| connection.split(',').any(|t| t.trim() == token);
        if self.version == "HTTP/1.0" {
            has("keep-alive")
        } else {
            !has("close")
        }
    }
}

/// Reads the header facts and version/reason of a complete head with `httparse`, falling
/// back to a lenient line split when the head is not strictly valid.
/// The validators seen so far with `name` added (each named once, in a fixed order).
fn with_validator(seen: Option<&'static str>, name: &'static str) -> &'static str {
    match seen {
        Some(already) if already != name => "If-Modified-Since, If-None-Match",
        _ => name,
    }
}

fn head_facts(head: &[u8], first_line: &str, kind: Kind) -> (String, String, HeadFacts) {
    let mut facts = HeadFacts::default();
    // Only the fields read here become text: converting every field's value was a fifth
    // of the cost of a message.
    let mut visit = |name: &str, value: &[u8]| {
        let text = || String::from_utf8_lossy(value);
        if name.eq_ignore_ascii_case("host") {
            facts.host = Some(text().trim().to_string());
        } else if name.eq_ignore_ascii_case("connection") {
            facts.connection = Some(text().trim().to_ascii_lowercase());
        } else if name.eq_ignore_ascii_case("if-modified-since") {
            facts.conditional = true;
            facts.validators = Some(with_validator(facts.validators, "If-Modified-Since"));
        } else if name.eq_ignore_ascii_case("if-none-match") {
            facts.conditional = true;
            facts.validators = Some(with_validator(facts.validators, "If-None-Match"));
        }
    };
    let mut fields = [httparse::EMPTY_HEADER; 96];
    // The version and reason httparse read, when it could read the head.
    let parsed: Option<(Option<u8>, Option<&str>)> = match kind {
        Kind::Request => {
            let mut req = httparse::Request::new(&mut fields);
            match req.parse(head) {
                Ok(httparse::Status::Complete(_)) => {
                    req.headers.iter().for_each(|h| visit(h.name, h.value));
                    Some((req.version, None))
                }
                _ => None,
            }
        }
        Kind::Response => {
            let mut res = httparse::Response::new(&mut fields);
            match res.parse(head) {
                Ok(httparse::Status::Complete(_)) => {
                    res.headers.iter().for_each(|h| visit(h.name, h.value));
                    Some((res.version, res.reason))
                }
                _ => None,
            }
        }
    };
    facts.well_formed = parsed.is_some();
    if parsed.is_none() {
        for line in String::from_utf8_lossy(head).lines().skip(1) {
            if let Some((name, value)) = line.split_once(':') {
                visit(name.trim(), value.as_bytes());
            }
        }
    }
    let (parsed_version, parsed_reason) = parsed.unwrap_or_default();
    let parsed_version = parsed_version.map(|minor| match minor {
        0 => "HTTP/1.0".to_string(),
        1 => "HTTP/1.1".to_string(),
        minor => format!("HTTP/1.{minor}"),
    });
    let parsed_version = match (parsed_version, parsed_reason) {
        (Some(version), Some(reason)) => return (version, reason.to_string(), facts),
        (version, _) => version,
    };
    // Version and reason from the first line when httparse could not read the head.
    let mut parts = first_line.trim_start_matches("M-").splitn(3, ' ');
    let (a, b, c) = (
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
        parts.next().unwrap_or(""),
    );
    let (line_version, line_reason) = match kind {
        Kind::Request => (c, ""),
        Kind::Response => {
            let _ = b;
            (a, c)
        }
    };
    (
        parsed_version.unwrap_or_else(|| line_version.to_string()),
        parsed_reason.unwrap_or(line_reason).to_string(),
        facts,
    )
}

/// The outcome of handing stream bytes to the HTTP dissector.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamResult {
    /// Complete messages, in order.
    pub messages: Vec<Message>,
    /// Text for the Info column (empty: leave TCP's).
    pub info: String,
    /// Whether the Protocol column becomes HTTP.
    pub is_http: bool,
    /// Where the incomplete message starts and what it needs.
    pub need: Option<(usize, Need)>,
    /// A head ran past the captured bytes (snap length): Wireshark reports what it read
    /// and appends `[Packet size limited during capture]`.
    pub cut_short: bool,
    /// The message that needs more: its head is whole and only its body is missing
    /// (`body_len` is what has arrived so far). Only when [`HttpConv::want_open_head`].
    pub open_head: Option<Message>,
}

/// Wireshark's `tvb_find_line_end` in desegment mode: returns (line length, offset of the
/// next line), or `None` when no complete line end is in `buf`.
fn find_line_end(buf: &[u8]) -> Option<(usize, usize)> {
    find_line_end_from(buf, 0)
}

/// [`find_line_end`] when `buf[..from]` is known to hold no `\r` or `\n`.
#[inline]
fn find_line_end_from(buf: &[u8], from: usize) -> Option<(usize, usize)> {
    let from = from.min(buf.len());
    // memchr's vectorised search: every head line of both passes goes through here.
    let pos = from + memchr::memchr2(b'\r', b'\n', &buf[from..])?;
    if buf[pos] == b'\r' {
        match buf.get(pos + 1) {
            None => None,
            Some(b'\n') => Some((pos, pos + 2)),
            Some(_) => Some((pos, pos + 1)),
        }
    } else {
        Some((pos, pos + 1))
    }
}

/// How far an earlier call got through the head of a message still growing, so that the
/// next call, on the same bytes and more, resumes there: scanning a head that arrives a
/// segment at a time is then linear in its length, not quadratic (a 5 MB request line
/// took 18 s when every segment rescanned it from the start).
///
/// It belongs to one pending PDU (the reassembly keeps it with the PDU's bytes, which
/// only ever grow at the end), and speaks of the message at the start of those bytes.
#[derive(Debug, Clone, Default)]
pub struct HeadHint {
    /// Where the message starts in the PDU (after a skipped empty line).
    start: usize,
    /// Bytes of the message known to hold no line end (first line incomplete), or, once
    /// the first line is whole, of the header line being scanned.
    line_free: usize,
    /// The first line's end (its length, and where the next line starts), once found.
    first_line: Option<(usize, usize)>,
    /// Start of the first header line not yet scanned; 0 while the first line is not whole.
    headers_at: usize,
    /// The head, read whole by an earlier call while the body was still to come.
    read: Option<Box<ReadHead>>,
}

/// A whole head whose body is still to come, as the call that read it left it: the call
/// that completes the body takes it instead of reading the head again (a response's head
/// was read twice, its message built twice: a twentieth of a second pass).
#[derive(Debug, Clone)]
struct ReadHead {
    framing: Framing,
    /// Where the body starts in the message.
    body_start: usize,
    /// The message of the head, for a pass that writes text (a lean one builds its bare
    /// message when the body completes).
    message: Option<Message>,
}

impl HeadHint {
    /// The end of the first line of the message `rest`, looked for from where the last
    /// call stopped.
    #[inline]
    fn first_line_end(&mut self, rest: &[u8]) -> Option<(usize, usize)> {
        if self.first_line.is_none() {
            self.first_line = find_line_end_from(rest, self.line_free);
            if self.first_line.is_none() {
                self.line_free = line_free_len(rest);
            }
        }
        self.first_line
    }

    /// The framing of the head of the message `rest` and where its body starts, as an
    /// earlier call kept them or scanned from `headers_at` on; `None` while the head is
    /// not whole.
    fn head(&mut self, rest: &[u8], headers_at: usize) -> Option<(Framing, usize)> {
        match self.read.as_deref() {
            Some(read) => Some((read.framing.clone(), read.body_start)),
            None => scan_headers(rest, headers_at, self),
        }
    }

    /// Keeps a whole head whose body is still to come, with the message `build` makes of
    /// it (built once, by the first call that keeps it); returns that message.
    fn keep_head(
        &mut self,
        framing: &Framing,
        body_start: usize,
        build: Option<impl FnOnce() -> Message>,
    ) -> Option<&Message> {
        let read = self.read.get_or_insert_with(|| {
            Box::new(ReadHead {
                framing: framing.clone(),
                body_start,
                message: build.map(|build| build()),
            })
        });
        read.message.as_ref()
    }

    /// The kept head's message, for the read that completes its body.
    fn take_message(&mut self) -> Option<Message> {
        self.read.take().and_then(|read| read.message)
    }

    fn for_message(&mut self, start: usize) -> &mut HeadHint {
        if self.start != start {
            *self = HeadHint {
                start,
                ..HeadHint::default()
            };
        }
        self
    }
}

/// Where no line end can be in `buf` (all of it, or all but a final `\r` that may be
/// followed by `\n`).
fn line_free_len(buf: &[u8]) -> usize {
    buf.len() - usize::from(buf.last() == Some(&b'\r'))
}

const METHODS: &[&str] = &[
    "GET",
    "PUT",
    "COPY",
    "HEAD",
    "LOCK",
    "MOVE",
    "POLL",
    "POST",
    "BCOPY",
    "BMOVE",
    "MKCOL",
    "TRACE",
    "PATCH",
    "LABEL",
    "MERGE",
    "DELETE",
    "SEARCH",
    "UNLOCK",
    "REPORT",
    "UPDATE",
    "NOTIFY",
    "BDELETE",
    "CONNECT",
    "OPTIONS",
    "CHECKIN",
    "PROPFIND",
    "CHECKOUT",
    "CCM_POST",
    "SUBSCRIBE",
    "PROPPATCH",
    "BPROPFIND",
    "BPROPPATCH",
    "UNCHECKOUT",
    "MKACTIVITY",
    "MKWORKSPACE",
    "RPC_CONNECT",
    "RPC_IN_DATA",
    "UNSUBSCRIBE",
    "RPC_OUT_DATA",
    "VERSION-CONTROL",
    "BASELINE-CONTROL",
    "SSTP_DUPLEX_POST",
];

/// Whether a first line starts an HTTP request or response (Wireshark's method list).
pub fn classify_line(line: &[u8]) -> Option<Kind> {
    let line = line.strip_prefix(b"M-").unwrap_or(line);
    if line.starts_with(b"HTTP/") || line.starts_with(b"ICY") {
        return Some(Kind::Response);
    }
    let token_end = line.iter().position(|&b| b == b' ').unwrap_or(line.len());
    let token = &line[..token_end];
    METHODS
        .iter()
        .any(|m| m.as_bytes() == token)
        .then_some(Kind::Request)
}

/// The framing-relevant header fields of a message head.
#[derive(Debug, Default, Clone)]
struct Framing {
    content_length: Option<u64>,
    chunked: bool,
    content_type: Option<String>,
}

/// Scans header lines from `buf[start..]`. Returns the framing and the offset just past
/// the empty line, or `None` when the head is not complete yet (then `hint` says where to
/// resume on the same bytes and more). Resuming, the head's end is looked for from where
/// the last call stopped, and its fields are read once it is whole.
fn scan_headers(buf: &[u8], start: usize, hint: &mut HeadHint) -> Option<(Framing, usize)> {
    if hint.headers_at != 0 && hint.headers_at >= start {
        let mut at = hint.headers_at;
        let mut free = at.max(hint.line_free);
        loop {
            let Some((len, next)) = find_line_end_from(&buf[at..], free - at) else {
                hint.headers_at = at;
                hint.line_free = at + line_free_len(&buf[at..]);
                return None;
            };
            if len == 0 {
                break;
            }
            at += next;
            free = at;
        }
    }
    match read_header_fields(buf, start) {
        Ok(head) => Some(head),
        Err(incomplete_line) => {
            hint.headers_at = incomplete_line;
            hint.line_free = incomplete_line + line_free_len(&buf[incomplete_line..]);
            None
        }
    }
}

/// The framing header fields of the head at `buf[start..]`, and the offset just past its
/// empty line; or, when the head is not whole yet, where its incomplete line starts.
fn read_header_fields(buf: &[u8], start: usize) -> Result<(Framing, usize), usize> {
    let mut framing = Framing::default();
    let mut at = start;
    loop {
        let Some((len, next)) = find_line_end(&buf[at..]) else {
            return Err(at);
        };
        let line = &buf[at..at + len];
        at += next;
        if len == 0 {
            return Ok((framing, at));
        }
        let lower_prefix =
            |p: &str| line.len() >= p.len() && line[..p.len()].eq_ignore_ascii_case(p.as_bytes());
        if lower_prefix("content-length:") {
            let value = String::from_utf8_lossy(&line[15..]);
            // Wireshark accepts a whole, non-negative 32-bit number only.
            if let Ok(n) = value.trim().parse::<i32>() {
                if n >= 0 {
                    framing.content_length = Some(n as u64);
                }
            }
        } else if lower_prefix("content-type:") {
            let value = String::from_utf8_lossy(&line[13..]);
            let media = value
                .trim_start_matches(' ')
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            framing.content_type = Some(media);
        } else if lower_prefix("transfer-encoding:") {
            let value = &line[18..];
            let value = value
                .iter()
                .position(|b| *b != b' ' && *b != b'\t')
                .map_or(&value[value.len()..], |i| &value[i..]);
            if value.len() >= 7 && value[..7].eq_ignore_ascii_case(b"chunked") {
                framing.chunked = true;
            }
        }
    }
}

/// Outcome of walking a chunked body.
enum Chunks {
    /// Complete: (offset just past the body, de-chunked length).
    Done(usize, u64),
    /// More bytes needed.
    Incomplete,
    /// Not a valid chunk-size line: Wireshark stops reassembling and takes what it has.
    Invalid,
}

/// Walks chunks from `buf[start..]` (RFC 9112 §7.1), as `req_resp_hdrs_do_reassembly` does.
fn walk_chunks(buf: &[u8], start: usize, hint: &mut Option<ChunkHint>) -> Chunks {
    // Resume after the chunks an earlier call already walked (TCP hands us the same,
    // grown message again for every segment of a chunked body).
    let (mut at, mut body) = match hint {
        Some(h) if h.body_start == start && h.resume <= buf.len() => (h.resume, h.body),
        _ => (start, 0),
    };
    loop {
        if at >= buf.len() {
            return Chunks::Incomplete;
        }
        // Wireshark measures what remains from the start of the chunk-size line.
        let remaining_from_line = (buf.len() - at) as u64;
        let Some((len, next)) = find_line_end(&buf[at..]) else {
            return Chunks::Incomplete;
        };
        let line = &buf[at..at + len];
        let digits: Vec<u8> = line
            .iter()
            .copied()
            .skip_while(|b| *b == b' ')
            .take_while(|b| b.is_ascii_hexdigit())
            .collect();
        if digits.is_empty() {
            return Chunks::Invalid;
        }
        let Ok(size) = u64::from_str_radix(std::str::from_utf8(&digits).unwrap_or("0"), 16) else {
            return Chunks::Invalid;
        };
        if size > 1 << 31 {
            return Chunks::Invalid;
        }
        let data_start = at + next;
        if size == 0 {
            // Last chunk: one more line (the end of the trailer, simplified to one line).
            let Some((_, next)) = find_line_end(&buf[data_start.min(buf.len())..]) else {
                return Chunks::Incomplete;
            };
            return Chunks::Done(data_start + next, body);
        }
        if remaining_from_line > size {
            at = data_start + size as usize + 2;
            body += size;
            if at <= buf.len() {
                if let Some(h) = hint.as_mut() {
                    h.resume = at;
                    h.body = body;
                }
            }
        } else {
            return Chunks::Incomplete;
        }
    }
}

/// Where a chunk walk stopped, to resume on the same message when it has grown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ChunkHint {
    /// Hash of the message head: which message this is.
    head_hash: u64,
    body_start: usize,
    resume: usize,
    body: u64,
}

/// 64-bit FNV-1a of a message head, to recognise the same message on the next call
/// (a fixed, tiny hash: a collision only costs a walk from the start).
fn head_hash(head: &[u8]) -> u64 {
    head.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Runs `walk_chunks` with the hint kept in `conv` for this message head.
fn walk_chunks_cached(conv: &mut HttpConv, rest: &[u8], body_start: usize) -> Chunks {
    let hash = head_hash(&rest[..body_start]);
    let slot = conv
        .chunk_hints
        .iter()
        .position(|h| h.head_hash == hash && h.body_start == body_start);
    let mut hint = Some(slot.map_or(
        ChunkHint {
            head_hash: hash,
            body_start,
            resume: body_start,
            body: 0,
        },
        |i| conv.chunk_hints.remove(i),
    ));
    let result = walk_chunks(rest, body_start, &mut hint);
    if let (Chunks::Incomplete, Some(h)) = (&result, hint) {
        // At most two messages (one per direction) are being walked at a time.
        if conv.chunk_hints.len() == 2 {
            conv.chunk_hints.remove(0);
        }
        conv.chunk_hints.push(h);
    }
    result
}

/// Dissects the bytes of one direction as Wireshark's HTTP dissector would when TCP hands
/// it `buf` (a segment, or a reassembled PDU). `can_desegment` is false when the segment
/// was cut by the snap length; `end_of_stream` when it carries FIN.
///
/// `hint` belongs to the pending PDU `buf` is (see [`HeadHint`]); a fresh one for a
/// segment dissected on its own.
pub fn dissect_stream(
    buf: &[u8],
    conv: &mut HttpConv,
    can_desegment: bool,
    end_of_stream: bool,
    hint: &mut HeadHint,
) -> StreamResult {
    let mut result = StreamResult::default();
    let mut offset = 0usize;
    let mut spare = HeadHint::default();
    while offset < buf.len() {
        // The hint speaks of the message at the start of the PDU only.
        let hint = if offset == 0 { &mut *hint } else { &mut spare };
        let at = Walking {
            start: offset,
            can_desegment,
            end_of_stream,
        };
        match dissect_message(buf, at, conv, &mut result, hint) {
            Some(len) if len > 0 => offset += len,
            _ => break,
        }
    }
    result
}

/// Where a message is looked for, and what the segment allows.
#[derive(Debug, Clone, Copy)]
struct Walking {
    start: usize,
    can_desegment: bool,
    end_of_stream: bool,
}

/// One message at `buf[start..]`. Returns the bytes consumed, or `None` to stop (need more
/// data, or not HTTP).
fn dissect_message(
    buf: &[u8],
    at: Walking,
    conv: &mut HttpConv,
    result: &mut StreamResult,
    hint: &mut HeadHint,
) -> Option<usize> {
    let (start, can_desegment, end_of_stream) = (at.start, at.can_desegment, at.end_of_stream);
    let mut offset = start;
    if buf.len() - offset > 3 && buf[offset..].starts_with(b"\r\n") {
        offset += 2;
    }
    let seen_http = conv.seen_request;
    let first = buf[offset];
    if !(0x20..0x7f).contains(&first) {
        if seen_http {
            result.is_http = true;
            result.info = "Continuation".into();
        }
        return None;
    }
    let rest = &buf[offset..];
    let hint = hint.for_message(offset);
    let (first_len, first_next) = match hint.first_line_end(rest) {
        Some(found) => found,
        None => {
            if can_desegment {
                result.need = Some((offset, Need::OneMoreSegment));
                return None;
            }
            (rest.len(), rest.len())
        }
    };
    let first_line = &rest[..first_len];
    let kind = classify_line(first_line);
    let Some(kind) = kind else {
        if seen_http {
            result.is_http = true;
            result.info.push_str("Continuation");
        }
        // Not a message start: the rest is taken as data.
        return Some(buf.len() - start);
    };
    let line_text = first_line_text(conv.lean, first_line, &mut result.info);
    result.is_http = true;
    let status = (kind == Kind::Response)
        .then(|| parse_status(first_line))
        .flatten();
    let no_body =
        kind == Kind::Response && response_has_no_body(status, conv.last_method.as_deref());
    let try_body = !end_of_stream && !no_body;
    let Some((framing, body_start)) = hint.head(rest, first_next) else {
        if can_desegment {
            result.need = Some((offset, Need::OneMoreSegment));
            return None;
        }
        // The capture cut the head: report the first line, as Wireshark does before its
        // exception stops the dissection.
        result.cut_short = true;
        let message = Message::new(conv.lean, rest, first_line, line_text, kind, status);
        result.messages.push(message);
        return None;
    };
    let available = (rest.len() - body_start) as u64;
    if try_body && can_desegment {
        if let Some(need) = body_need(conv, rest, body_start, &framing, kind, available) {
            result.need = Some((offset, need));
            let head = &rest[..body_start];
            let build = || Message::new(false, head, first_line, line_text, kind, status);
            let kept = hint.keep_head(&framing, body_start, (!conv.lean).then_some(build));
            if let (true, Some(message)) = (conv.want_open_head, kept) {
                result.open_head = Some(message.clone().with_body(framing.content_type, available));
            }
            return None;
        }
    }
    // The message is complete (or can be no more complete): account for it.
    let (body_len, consumed_body) =
        body_extent(conv, rest, body_start, &framing, kind, status, available);
    let body_magic = first_six(&rest[body_start..]);
    if body_len > 0 && !conv.lean {
        let media = framing.content_type.as_deref().unwrap_or_default();
        result.info += &media_suffix(media, &body_magic, body_len);
    }
    let head = &rest[..body_start];
    let message = hint
        .take_message()
        .unwrap_or_else(|| Message::new(conv.lean, head, first_line, line_text, kind, status));
    let mut message = message.with_body(framing.content_type, body_len);
    if kind == Kind::Request {
        conv.last_method = message.method.clone();
        conv.seen_request = true;
    }
    message.body_magic = body_magic;
    result.messages.push(message);
    Some(offset - start + body_start + consumed_body as usize)
}

/// The first line as text, which Info shows (followed by a space, as Wireshark writes
/// it); nothing for a lean first pass, which writes no Info.
fn first_line_text(lean: bool, first_line: &[u8], info: &mut String) -> String {
    if lean {
        return String::new();
    }
    let text = String::from_utf8_lossy(first_line).into_owned();
    info.push_str(&text);
    info.push(' ');
    text
}

/// Whether a response has no body whatever its headers say (RFC 9110 §6.4.1): an answer
/// to HEAD, a 2xx to CONNECT (or SSTP), a 1xx, 204 or 304.
#[inline]
fn response_has_no_body(status: Option<u16>, method: Option<&str>) -> bool {
    let code = status.unwrap_or(0);
    method == Some("HEAD")
        || (code / 100 == 2 && matches!(method, Some("CONNECT") | Some("SSTP_DUPLEX_POST")))
        || code / 100 == 1
        || code == 204
        || code == 304
}

/// What more the body needs before the message is complete, as Wireshark's
/// `req_resp_hdrs_do_reassembly` decides it: the rest of a chunked body (one more segment
/// at a time), the missing Content-Length bytes, or, for a response with neither, all
/// until FIN. `None`: the body is complete.
#[inline]
fn body_need(
    conv: &mut HttpConv,
    rest: &[u8],
    body_start: usize,
    framing: &Framing,
    kind: Kind,
    available: u64,
) -> Option<Need> {
    if framing.chunked {
        match walk_chunks_cached(conv, rest, body_start) {
            Chunks::Incomplete => Some(Need::OneMoreSegment),
            Chunks::Done(..) | Chunks::Invalid => None,
        }
    } else if let Some(length) = framing.content_length {
        (available < length).then(|| Need::Bytes((length - available) as u32))
    } else if kind == Kind::Response {
        Some(Need::UntilFin)
    } else {
        None
    }
}

/// `(body length, bytes consumed after the head)` of a complete message whose head ends
/// at `body_start` of `rest`: Content-Length (as far as captured), no body (requests
/// without one, 1xx, 204, 304), a de-chunked body, or everything that is there.
#[inline]
fn body_extent(
    conv: &mut HttpConv,
    rest: &[u8],
    body_start: usize,
    framing: &Framing,
    kind: Kind,
    status: Option<u16>,
    available: u64,
) -> (u64, u64) {
    if let (Some(length), false) = (framing.content_length, framing.chunked) {
        let len = length.min(available);
        return (len, len);
    }
    match kind {
        Kind::Request if !framing.chunked => (0, 0),
        Kind::Response
            if matches!(status.unwrap_or(0) / 100, 1)
                || matches!(status, Some(204) | Some(304)) =>
        {
            (0, 0)
        }
        _ if framing.chunked => match walk_chunks_cached(conv, rest, body_start) {
            Chunks::Done(end, dechunked) => (dechunked, (end - body_start) as u64),
            _ => (available, available),
        },
        _ => (available, available),
    }
}

/// The first six bytes of the body, zero-padded: enough for the media sniffing of Info.
#[inline]
fn first_six(body: &[u8]) -> [u8; 6] {
    let mut magic = [0u8; 6];
    let len = body.len().min(6);
    magic[..len].copy_from_slice(&body[..len]);
    magic
}

/// Method and target of a request line.
fn request_target(kind: Kind, line: &str) -> (Option<String>, Option<String>) {
    if kind != Kind::Request {
        return (None, None);
    }
    let mut parts = line.trim_start_matches("M-").splitn(3, ' ');
    (
        parts.next().map(str::to_string),
        parts.next().map(str::to_string),
    )
}

fn parse_status(line: &[u8]) -> Option<u16> {
    let text = std::str::from_utf8(line).ok()?;
    let code = text.split(' ').nth(1)?;
    code.get(..3)?.parse().ok()
}

/// Media types whose Wireshark 4.0 dissector names the type in Info: the line-based text
/// dissector (`packet-text-media.c`) and the URL-encoded form dissector. Every other type
/// goes to a dissector that writes something else (XML, multipart, OCSP…) or to none
/// (`application/octet-stream`), and Info keeps what HTTP wrote.
const NAMED_IN_INFO: &[&str] = &[
    "text/plain",
    "text/richtext",
    "text/enriched",
    "text/parameters",
    "text/html",
    "text/xml-external-parsed-entity",
    "text/css",
    "application/xml-external-parsed-entity",
    "text/javascript",
    "application/x-javascript",
    "application/x-tia-p25-issi",
    "application/x-tia-p25-sndcp",
    "application/x-ns-proxy-autoconfig",
    "text/vnd.sun.j2me.app-descriptor",
    "application/vnd.poc.refer-to",
    "application/vnd.drm.message",
    "application/x-wms-logplaystats",
    "application/x-rtsp-udp-packetpair",
    "application/x-www-form-urlencoded",
];

/// What Wireshark's media-type dissectors add to Info after a message with a body of
/// `body_len` bytes starting with `magic`.
fn media_suffix(media: &str, magic: &[u8; 6], body_len: u64) -> Cow<'static, str> {
    match media {
        "image/jpeg" | "image/jpg" | "image/pjpeg" => " (JPEG JFIF image)".into(),
        "image/png" => " (PNG)".into(),
        "image/gif" => match &magic[..6] {
            b"GIF87a" | b"GIF89a" => format!(" ({})", String::from_utf8_lossy(&magic[..6])).into(),
            _ => " (GIF)".into(),
        },
        "application/json" => ", JavaScript Object Notation (application/json)".into(),
        // The text dissector hands a body that starts like an XML declaration to XML.
        _ if body_len > 38 && magic[..5].eq_ignore_ascii_case(b"<?xml") => "".into(),
        named if NAMED_IN_INFO.contains(&named) => format!(" ({named})").into(),
        _ => "".into(),
    }
}

/// A parsed message head (request or status line plus header fields), for the HTTP
/// columns. Uses `httparse`; `None` when the bytes are not a complete, valid head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    /// Request or response.
    pub kind: Kind,
    /// Header fields, names as sent.
    pub headers: Vec<(String, String)>,
}

/// Parses a complete head with `httparse`.
pub fn parse_head(bytes: &[u8]) -> Option<Head> {
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let kind = classify_line(bytes)?;
    let headers = match kind {
        Kind::Request => {
            let mut req = httparse::Request::new(&mut fields);
            match req.parse(bytes) {
                Ok(httparse::Status::Complete(_)) => req.headers.to_vec(),
                _ => return None,
            }
        }
        Kind::Response => {
            let mut res = httparse::Response::new(&mut fields);
            match res.parse(bytes) {
                Ok(httparse::Status::Complete(_)) => res.headers.to_vec(),
                _ => return None,
            }
        }
    };
    Some(Head {
        kind,
        headers: headers
            .iter()
            .map(|h| {
                (
                    h.name.to_string(),
                    String::from_utf8_lossy(h.value).into_owned(),
                )
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// A message whose bytes arrive in pieces, read each time with the hint its
        /// pending PDU keeps (the head read once, its message built once), ends as a
        /// fresh read of all its bytes ends: the same messages, Info and need, with or
        /// without text, whichever heads, bodies and cuts.
        #[test]
        fn a_kept_head_reads_as_a_fresh_one(
            response in any::<bool>(),
            body_len in 0usize..3000,
            chunked in any::<bool>(),
            cuts in prop::collection::vec(1usize..400, 0..6),
            lean in any::<bool>(),
            want_open_head in any::<bool>(),
        ) {
            let body = vec![b'x'; body_len];
            let mut bytes = if response {
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nServer: t\r\n".to_vec()
            } else {
                b"POST /up HTTP/1.1\r\nHost: h\r\nIf-Modified-Since: x\r\n".to_vec()
            };
            if chunked {
                bytes.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
                bytes.extend_from_slice(format!("{body_len:x}\r\n").as_bytes());
                bytes.extend_from_slice(&body);
                bytes.extend_from_slice(b"\r\n0\r\n\r\n");
            } else {
                bytes.extend_from_slice(format!("Content-Length: {body_len}\r\n\r\n").as_bytes());
                bytes.extend_from_slice(&body);
            }
            let conv = || HttpConv { lean, want_open_head, ..HttpConv::default() };
            let mut kept = HeadHint::default();
            let mut kept_conv = conv();
            let mut at = 0;
            for cut in cuts {
                at = (at + cut).min(bytes.len());
                let piece = &bytes[..at];
                let mut fresh_conv = conv();
                let with_kept = dissect_stream(piece, &mut kept_conv, true, false, &mut kept);
                let fresh = dissect_stream(piece, &mut fresh_conv, true, false, &mut HeadHint::default());
                prop_assert_eq!(&with_kept, &fresh);
                if with_kept.need.is_none() {
                    return Ok(());
                }
            }
            let with_kept = dissect_stream(&bytes, &mut kept_conv, true, false, &mut kept);
            let fresh = dissect_stream(&bytes, &mut conv(), true, false, &mut HeadHint::default());
            prop_assert_eq!(with_kept, fresh);
        }
    }

    #[test]
    fn request_then_response_with_body() {
        let mut conv = HttpConv::default();
        let r = dissect_stream(
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            &mut conv,
            true,
            false,
            &mut HeadHint::default(),
        );
        assert_eq!(r.info, "GET / HTTP/1.1 ");
        assert_eq!(r.messages[0].uri.as_deref(), Some("/"));
        assert_eq!(r.need, None);
        let resp = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 5\r\n\r\nhello";
        let r = dissect_stream(resp, &mut conv, true, false, &mut HeadHint::default());
        assert_eq!(r.info, "HTTP/1.1 200 OK  (text/html)");
        assert_eq!(r.messages[0].body_len, 5);
    }

    /// Only types whose Wireshark dissector names them in Info get `(type)`.
    #[test]
    fn media_type_in_info_only_where_wireshark_writes_it() {
        let info = |media: &str, body: &str| {
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {media}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let mut conv = HttpConv::default();
            dissect_stream(
                resp.as_bytes(),
                &mut conv,
                true,
                false,
                &mut HeadHint::default(),
            )
            .info
        };
        assert_eq!(
            info("application/octet-stream", "\0\x01"),
            "HTTP/1.1 200 OK "
        );
        assert_eq!(info("text/xml", "<a/>"), "HTTP/1.1 200 OK ");
        assert_eq!(info("text/plain", "hi"), "HTTP/1.1 200 OK  (text/plain)");
        assert_eq!(
            info("TEXT/CSS; charset=x", "a{}"),
            "HTTP/1.1 200 OK  (text/css)"
        );
        // Line-based text that is really XML goes to the XML dissector.
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?><a/>"#;
        assert_eq!(info("text/html", xml), "HTTP/1.1 200 OK ");
    }

    /// A first pass's lean dissection frames every stream exactly as the full one does:
    /// the same needs, message kinds, statuses and methods (HEAD matters to framing).
    #[test]
    fn lean_frames_like_full() {
        let streams: [&[&[u8]]; 4] = [
            &[
                b"HEAD / HTTP/1.1\r\n\r\n",
                b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
            ],
            &[
                b"POST /x HTTP/1.1\r\nContent-Length: 4\r\n\r\nab",
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
            ],
            &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"],
            &[
                b"GET /a HTTP/1.0\r\n\r\nGET /b HTTP/1.0\r\nHost",
                b"\x00\x01 binary",
            ],
        ];
        for stream in streams {
            let (mut full, mut lean) = (HttpConv::default(), HttpConv::default());
            lean.lean = true;
            for (i, segment) in stream.iter().enumerate() {
                let fin = i + 1 == stream.len();
                let a = dissect_stream(segment, &mut full, true, fin, &mut HeadHint::default());
                let b = dissect_stream(segment, &mut lean, true, fin, &mut HeadHint::default());
                assert_eq!(a.need, b.need);
                assert_eq!(a.is_http, b.is_http);
                let facts = |r: &StreamResult| -> Vec<_> {
                    r.messages
                        .iter()
                        .map(|m| (m.kind, m.status, m.method.clone()))
                        .collect()
                };
                assert_eq!(facts(&a), facts(&b));
                assert!(
                    b.info.is_empty() || b.info == "Continuation",
                    "{:?}",
                    b.info
                );
            }
            assert_eq!(full.last_method, lean.last_method);
        }
    }

    #[test]
    fn incomplete_body_asks_for_exact_bytes() {
        let mut conv = HttpConv::default();
        let r = dissect_stream(
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
            &mut conv,
            true,
            false,
            &mut HeadHint::default(),
        );
        assert_eq!(r.need, Some((0, Need::Bytes(7))));
        assert_eq!(r.info, "HTTP/1.1 200 OK ");
    }

    #[test]
    fn chunked_needs_one_more_segment_until_last_chunk() {
        let mut conv = HttpConv::default();
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n";
        let r = dissect_stream(head, &mut conv, true, false, &mut HeadHint::default());
        assert_eq!(r.need, Some((0, Need::OneMoreSegment)));
        let mut full = head.to_vec();
        full.extend_from_slice(b"0\r\n\r\n");
        let r = dissect_stream(&full, &mut conv, true, false, &mut HeadHint::default());
        assert_eq!(r.need, None);
        assert_eq!(r.messages[0].body_len, 5);
    }

    #[test]
    fn revalidation_304_has_no_body_and_head_response_neither() {
        let mut conv = HttpConv::default();
        dissect_stream(
            b"HEAD / HTTP/1.1\r\n\r\n",
            &mut conv,
            true,
            false,
            &mut HeadHint::default(),
        );
        let r = dissect_stream(
            b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n",
            &mut conv,
            true,
            false,
            &mut HeadHint::default(),
        );
        assert_eq!(r.need, None);
        let r = dissect_stream(
            b"HTTP/1.1 304 Not Modified\r\n\r\n",
            &mut conv,
            true,
            false,
            &mut HeadHint::default(),
        );
        assert_eq!(r.messages[0].status, Some(304));
    }

    #[test]
    fn pipelined_requests_concatenate_info() {
        let mut conv = HttpConv::default();
        let r = dissect_stream(
            b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n",
            &mut conv,
            true,
            false,
            &mut HeadHint::default(),
        );
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.info, "GET /a HTTP/1.1 GET /b HTTP/1.1 ");
    }

    #[test]
    fn close_delimited_response_waits_for_fin() {
        let mut conv = HttpConv::default();
        let r = dissect_stream(
            b"HTTP/1.0 200 OK\r\n\r\nabc",
            &mut conv,
            true,
            false,
            &mut HeadHint::default(),
        );
        assert_eq!(r.need, Some((0, Need::UntilFin)));
        let r = dissect_stream(
            b"HTTP/1.0 200 OK\r\n\r\nabc",
            &mut conv,
            true,
            true,
            &mut HeadHint::default(),
        );
        assert_eq!((r.need, r.messages[0].body_len), (None, 3));
    }

    #[test]
    fn parse_head_with_httparse() {
        let head = parse_head(b"GET /logo.jpg HTTP/1.1\r\nIf-Modified-Since: x\r\n\r\n").unwrap();
        assert_eq!(head.kind, Kind::Request);
        assert_eq!(
            head.headers[0],
            ("If-Modified-Since".to_string(), "x".to_string())
        );
        assert!(parse_head(b"GET / HTTP/1.1\r\nHost").is_none());
    }

    #[test]
    fn chunk_walks_resume_and_agree_with_a_fresh_walk() {
        let mut message = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        let mut conv = HttpConv::default();
        for _ in 0..2000 {
            message.extend_from_slice(b"1\r\nx\r\n");
            let r = dissect_stream(&message, &mut conv, true, false, &mut HeadHint::default());
            assert_eq!(r.need, Some((0, Need::OneMoreSegment)));
        }
        message.extend_from_slice(b"0\r\n\r\n");
        let resumed = dissect_stream(&message, &mut conv, true, false, &mut HeadHint::default());
        let fresh = dissect_stream(
            &message,
            &mut HttpConv::default(),
            true,
            false,
            &mut HeadHint::default(),
        );
        assert_eq!(resumed.messages, fresh.messages);
        assert_eq!(resumed.messages[0].body_len, 2000);
    }

    #[test]
    fn every_prefix_is_safe() {
        let full = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
        for cut in 1..full.len() {
            let mut conv = HttpConv::default();
            let _ = dissect_stream(
                &full[..cut],
                &mut conv,
                true,
                false,
                &mut HeadHint::default(),
            );
            let _ = dissect_stream(
                &full[..cut],
                &mut conv,
                false,
                true,
                &mut HeadHint::default(),
            );
        }
    }

    /// A head that grows a few bytes at a time, scanned with the hint its pending PDU
    /// keeps, gives at every length what a fresh scan of those bytes gives.
    #[test]
    fn a_resumed_head_scan_equals_a_fresh_one() {
        let message: &[u8] =
            b"\r\nPOST /upload?x=1 HTTP/1.1\r\nHost: lab\r\nX-Long: aaaaaaaaaaaaaaaa\r\n\
Content-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello";
        for step in [1, 2, 3, 7, 16] {
            let mut hint = HeadHint::default();
            let mut kept = HttpConv::default();
            let mut len = 0;
            while len < message.len() {
                len = (len + step).min(message.len());
                let prefix = &message[..len];
                let resumed = dissect_stream(prefix, &mut kept.clone(), true, false, &mut hint);
                let fresh = dissect_stream(
                    prefix,
                    &mut kept.clone(),
                    true,
                    false,
                    &mut HeadHint::default(),
                );
                assert_eq!(
                    format!("{resumed:?}"),
                    format!("{fresh:?}"),
                    "step {step}, {len} bytes"
                );
                if resumed.need.is_none() {
                    kept = HttpConv::default();
                }
            }
        }
    }
}
