//! HTTP request/response pairing, two ways.
//!
//! * **As tshark pairs them** (`request_in` / `response_in` columns): Wireshark 4.0 keeps
//!   one list of transactions per TCP conversation; a request appends one; a response
//!   fills the last one if it has no response yet, else appends one of its own. A frame
//!   carrying several messages shows, for each of them, the transaction of the last one.
//!   This mis-pairs pipelined requests (SOURCES.md notes it); the columns reproduce it so
//!   that they filter and compare like tshark's.
//! * **As HTTP pairs them** (the `wirenote http` exchange table): responses answer
//!   requests in order (RFC 9112 §9.3.2), interim 1xx responses do not consume a request,
//!   so pipelining and `100 Continue` pair correctly.
//!
//! Memory per connection is bounded: the tshark-style state is one transaction, and at
//! most [`MAX_PENDING`] unanswered requests are queued for the exchange table (a client
//! that pipelines more gets the excess reported without a response).
//!
//! Read, at least: RFC 9112 §9.3 (persistence), RFC 9110 §13.1.3–13.1.4 (conditional
//! requests), §15.4.5 (304 Not Modified).

use std::collections::VecDeque;

use crate::app::http::Message;
use crate::capture::Timestamp;
use crate::record::Kind;
use crate::record::{BodyEnd, ExchangeRecord, HttpRecord};

/// How a connection ended, for the exchanges still on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnEnd {
    /// Still open when the capture ended (or when it was forgotten, idle).
    Open,
    /// Both sides closed.
    Closed,
    /// Reset.
    Reset,
}

impl ConnEnd {
    /// What became of a body still arriving when the connection ended so.
    fn body_end(self) -> BodyEnd {
        match self {
            ConnEnd::Open => BodyEnd::Unfinished,
            ConnEnd::Closed => BodyEnd::Closed,
            ConnEnd::Reset => BodyEnd::Reset,
        }
    }
}

/// Most unanswered requests queued per connection for the exchange table.
pub const MAX_PENDING: usize = 64;

/// The last transaction, as Wireshark's `req_res_tail`.
#[derive(Debug, Clone, Copy)]
struct Transaction {
    request_frame: u64,
    request_time: i128,
    response_frame: u64,
}

/// A request waiting for its response in the exchange table.
#[derive(Debug, Clone)]
struct Pending {
    depth: u64,
    frame: u64,
    time: i128,
    /// What the per-packet notes need of the request.
    conditional: bool,
    keeps_alive: bool,
    /// The request itself, for the exchange table's text columns (`None` when only
    /// per-packet rows are wanted: see [`Exchanges::rows_only`]). Boxed: a request waits
    /// here on every connection awaiting its answer (200,000 of them in a half-open
    /// flood), and an inline message would make each slot of the queue its full size.
    message: Option<Box<Message>>,
    /// Only its head has arrived so far.
    open: bool,
    /// Its body bytes so far (kept also when `message` is not).
    arrived: u64,
}

/// One complete message, where and when it was seen.
#[derive(Debug, Clone)]
pub struct SeenMessage {
    /// The message.
    pub message: Message,
    /// Frame where it completed (where tshark reports it).
    pub frame: u64,
    /// Time of that frame.
    pub time: i128,
    /// Time of the first segment carrying it.
    pub first_byte_time: i128,
    /// The connection direction it travelled in (0: the connection's first).
    pub direction: usize,
    /// Only the head is whole: the body is still arriving (and may never complete).
    /// Such a message counts in the exchange table only, never in the per-packet rows,
    /// where tshark reports a message on the frame that completes it.
    pub head_only: bool,
}

/// Pairing state of one connection.
#[derive(Debug, Clone, Default)]
pub struct Exchanges {
    tail: Option<Transaction>,
    pending: VecDeque<Pending>,
    /// Answered exchanges waiting to learn whether the connection was reused.
    answered: Vec<ExchangeRecord>,
    /// Exchanges whose outcome is known, ready to be taken.
    done: Vec<ExchangeRecord>,
    depth: u64,
    /// Transactions completed (tshark-style) and not yet taken.
    paired: Vec<(u64, u64)>,
    /// `trans_depth` of the request whose head arrived and whose body has not.
    open_request: Option<u64>,
    /// A response whose head arrived and whose body has not (boxed: it is rare, and a
    /// message inline would be most of every connection's pairing state).
    open_response: Option<Box<SeenMessage>>,
    /// Only per-packet rows are wanted: exchanges keep what their notes need (frames,
    /// conditional, persistence) but no text, so that no strings are copied for a table
    /// nobody reads.
    pub rows_only: bool,
}

fn seconds(ns: i128) -> f64 {
    ns as f64 * 1e-9
}

impl Exchanges {
    /// Pairs the messages completed in one frame; returns their per-packet records and,
    /// for the frame's last transaction if it is a request, its frame (whose
    /// `response_in` only a later frame can tell). The records take the messages' text
    /// (moved, not copied: the messages are done with).
    pub fn on_frame(&mut self, stream: u64, seen: Vec<SeenMessage>) -> Vec<HttpRecord> {
        let mut frame_tail = None;
        for item in &seen {
            if !item.head_only {
                self.track_transaction(item);
                frame_tail = self.tail;
            }
            self.exchange_table(stream, item);
        }
        let Some(tail) = frame_tail else {
            return Vec::new();
        };
        seen.into_iter()
            .filter(|item| !item.head_only)
            .map(|item| {
                let m = item.message;
                let conditional_answered = m.kind == Kind::Response
                    && m.status == Some(304)
                    && self.last_answered_conditional(item.frame);
                let mut note = Vec::new();
                match m.kind {
                    Kind::Request => {
                        if m.head.conditional {
                            note.push("conditional");
                        }
                        note.push(if m.keeps_alive() {
                            "keep-alive"
                        } else {
                            "close"
                        });
                    }
                    Kind::Response => {
                        if conditional_answered {
                            note.push("revalidated");
                        }
                        note.push(
                            if m.keeps_alive() && self.last_request_kept_alive(item.frame) {
                                "persistent"
                            } else {
                                "close"
                            },
                        );
                    }
                }
                HttpRecord {
                    kind: m.kind,
                    method: m.method,
                    uri: m.uri,
                    version: m.version,
                    status: m.status,
                    reason: (m.kind == Kind::Response).then_some(m.reason),
                    content_type: m.content_type,
                    request_in: (m.kind == Kind::Response && tail.request_frame != 0)
                        .then_some(tail.request_frame),
                    response_in: (m.kind == Kind::Request && tail.response_frame != 0)
                        .then_some(tail.response_frame),
                    time_since_request: (m.kind == Kind::Response && tail.request_frame != 0)
                        .then(|| seconds(item.time - tail.request_time)),
                    note: note.join(";"),
                    validators: m.head.validators,
                }
            })
            .collect()
    }

    /// [`Exchanges::on_frame`] for a row nobody reads: the transaction list and the
    /// exchange table move as they would, and no per-packet records are built.
    pub fn on_frame_unshown(&mut self, stream: u64, seen: &[SeenMessage]) {
        for item in seen {
            if !item.head_only {
                self.track_transaction(item);
            }
            self.exchange_table(stream, item);
        }
    }

    /// Only tshark's transaction list, for a first pass that needs nothing but the
    /// `(request, response)` pairs ([`Exchanges::take_paired`]): no per-packet records, no
    /// exchange table.
    pub fn pair_only(&mut self, seen: &[SeenMessage]) {
        for item in seen.iter().filter(|item| !item.head_only) {
            self.track_transaction(item);
        }
    }

    /// Advances tshark's transaction list by one message.
    fn track_transaction(&mut self, item: &SeenMessage) {
        match item.message.kind {
            Kind::Request => {
                self.tail = Some(Transaction {
                    request_frame: item.frame,
                    request_time: item.time,
                    response_frame: 0,
                });
            }
            Kind::Response => match self.tail.as_mut() {
                Some(t) if t.response_frame == 0 => {
                    t.response_frame = item.frame;
                    if t.request_frame != 0 {
                        self.paired.push((t.request_frame, item.frame));
                    }
                }
                _ => {
                    self.tail = Some(Transaction {
                        request_frame: 0,
                        request_time: 0,
                        response_frame: item.frame,
                    })
                }
            },
        }
    }

    /// `(request frame, response frame)` of the transactions completed since the last
    /// call: the facts a second pass needs for `response_in`.
    pub fn take_paired(&mut self) -> Vec<(u64, u64)> {
        std::mem::take(&mut self.paired)
    }

    fn last_answered_conditional(&self, response_frame: u64) -> bool {
        self.answered
            .iter()
            .chain(self.done.iter())
            .rev()
            .find(|e| e.response_frame == Some(response_frame))
            .is_some_and(|e| e.conditional)
    }

    fn last_request_kept_alive(&self, response_frame: u64) -> bool {
        self.answered
            .iter()
            .chain(self.done.iter())
            .rev()
            .find(|e| e.response_frame == Some(response_frame))
            .is_none_or(|e| e.request_keeps_alive)
    }

    /// The exchange table: FIFO pairing, interim responses skipped. A head seen is an
    /// exchange: a request whose body never completes still takes its place in the
    /// queue (a server may answer it early, `413` say), and a response whose body never
    /// completes still answers it, when the connection ends.
    fn exchange_table(&mut self, stream: u64, item: &SeenMessage) {
        let m = &item.message;
        match m.kind {
            Kind::Request if !item.head_only && self.complete_open_request(item) => {}
            Kind::Response if item.head_only => {
                if !m.status.is_some_and(|s| (100..200).contains(&s)) {
                    self.open_response = Some(Box::new(item.clone()));
                }
            }
            Kind::Request => {
                // A new request: the connection was reused after every answered exchange.
                for mut e in self.answered.drain(..) {
                    e.connection_after = "reused";
                    if e.request_body_end == BodyEnd::Arriving {
                        e.request_body_end = BodyEnd::Unfinished;
                    }
                    self.done.push(e);
                }
                self.depth += 1;
                if self.pending.len() == MAX_PENDING {
                    if let Some(dropped) = self.pending.pop_front() {
                        self.done
                            .push(record(stream, Some(&dropped), None, self.rows_only));
                    }
                }
                if item.head_only {
                    self.open_request = Some(self.depth);
                }
                if self.pending.capacity() == 0 {
                    // Most connections never have more than one request waiting: a queue
                    // grown as usual would hold room for four on every one.
                    self.pending.reserve_exact(1);
                }
                self.pending.push_back(Pending {
                    depth: self.depth,
                    frame: item.frame,
                    time: item.time,
                    conditional: m.head.conditional,
                    keeps_alive: m.keeps_alive(),
                    message: (!self.rows_only).then(|| Box::new(m.clone())),
                    open: item.head_only,
                    arrived: m.body_len,
                });
            }
            Kind::Response if m.status.is_some_and(|s| (100..200).contains(&s)) => {}
            Kind::Response => {
                self.open_response = None;
                let request = self.pending.pop_front();
                let rec = record(stream, request.as_ref(), Some(item), self.rows_only);
                self.answered.push(rec);
            }
        }
    }

    /// `bytes` more arrived in `direction` while a message there has only its head.
    pub fn more_body(&mut self, direction: usize, bytes: u64) {
        if let Some(response) = self.open_response.as_mut() {
            if response.direction == direction {
                response.message.body_len += bytes;
                return;
            }
        }
        let Some(depth) = self.open_request else {
            return;
        };
        if let Some(p) = self.pending.iter_mut().find(|p| p.depth == depth) {
            if let Some(kept) = p.message.as_mut() {
                kept.body_len += bytes;
            }
            p.arrived += bytes;
        } else if let Some(e) = self
            .answered
            .iter_mut()
            .rev()
            .find(|e| e.trans_depth == depth)
        {
            e.request_body_len += bytes;
        }
    }

    /// A request completes whose head was already queued: the queued exchange (still
    /// waiting, or already answered) gets its completion. Returns false when no head of
    /// it was queued.
    fn complete_open_request(&mut self, item: &SeenMessage) -> bool {
        let Some(depth) = self.open_request.take() else {
            return false;
        };
        let m = &item.message;
        if let Some(p) = self.pending.iter_mut().find(|p| p.depth == depth) {
            p.frame = item.frame;
            p.time = item.time;
            p.open = false;
            p.arrived = m.body_len;
            if let Some(kept) = p.message.as_mut() {
                kept.body_len = m.body_len;
            }
            return true;
        }
        let answered = self.answered.iter_mut().chain(self.done.iter_mut());
        if let Some(e) = answered.rev().find(|e| e.trans_depth == depth) {
            e.request_frame = Some(item.frame);
            e.request_body_len = m.body_len;
            e.request_body_end = BodyEnd::Complete;
            return true;
        }
        false
    }

    /// The connection ended (or the capture did) as `end` says: every exchange is
    /// final, and a body still arriving was cut there.
    pub fn finish(&mut self, stream: u64, end: ConnEnd) -> Vec<ExchangeRecord> {
        let outcome = if end == ConnEnd::Open {
            "open"
        } else {
            "closed"
        };
        let cut = end.body_end();
        // The response still arriving answers the first request waiting.
        if let Some(response) = self.open_response.take() {
            let request = self.pending.pop_front();
            let mut rec = record(stream, request.as_ref(), Some(&response), self.rows_only);
            rec.response_body_end = cut;
            self.answered.push(rec);
        }
        let mut out = std::mem::take(&mut self.done);
        for mut e in self.answered.drain(..) {
            e.connection_after = outcome;
            out.push(e);
        }
        for p in self.pending.drain(..) {
            let mut e = record_request_only(stream, &p);
            e.connection_after = outcome;
            out.push(e);
        }
        for e in out.iter_mut() {
            if e.request_body_end == BodyEnd::Arriving {
                e.request_body_end = cut;
            }
        }
        out
    }

    /// Exchanges whose outcome is already known.
    pub fn take_done(&mut self) -> Vec<ExchangeRecord> {
        std::mem::take(&mut self.done)
    }
}

fn record_request_only(stream: u64, p: &Pending) -> ExchangeRecord {
    let m = p.message.as_ref();
    ExchangeRecord {
        stream,
        time: Timestamp::from_nanos(p.time),
        trans_depth: p.depth,
        request_frame: Some(p.frame),
        response_frame: None,
        method: m.and_then(|m| m.method.clone()),
        host: m.and_then(|m| m.head.host.clone()),
        uri: m.and_then(|m| m.uri.clone()),
        version: m.map(|m| m.version.clone()),
        status: None,
        reason: None,
        request_body_len: p.arrived,
        response_body_len: 0,
        request_body_end: if p.open {
            BodyEnd::Arriving
        } else {
            BodyEnd::Complete
        },
        response_body_end: BodyEnd::None,
        content_type: None,
        conditional: p.conditional,
        revalidated: false,
        persistent: false,
        request_keeps_alive: p.keeps_alive,
        time_to_first_byte: None,
        response_time: None,
        connection_after: "open",
    }
}

fn record(
    stream: u64,
    request: Option<&Pending>,
    response: Option<&SeenMessage>,
    rows_only: bool,
) -> ExchangeRecord {
    let mut e = match request {
        Some(p) => record_request_only(stream, p),
        None => ExchangeRecord {
            stream,
            time: Timestamp::from_nanos(response.map_or(0, |r| r.time)),
            trans_depth: 0,
            request_frame: None,
            response_frame: None,
            method: None,
            host: None,
            uri: None,
            version: None,
            status: None,
            reason: None,
            request_body_len: 0,
            response_body_len: 0,
            request_body_end: BodyEnd::None,
            response_body_end: BodyEnd::None,
            content_type: None,
            conditional: false,
            revalidated: false,
            persistent: false,
            request_keeps_alive: true,
            time_to_first_byte: None,
            response_time: None,
            connection_after: "open",
        },
    };
    if let Some(r) = response {
        let m = &r.message;
        e.response_frame = Some(r.frame);
        e.status = m.status;
        if !rows_only {
            e.reason = Some(m.reason.clone());
            if e.version.is_none() {
                e.version = Some(m.version.clone());
            }
            e.content_type = m.content_type.clone();
        }
        e.response_body_len = m.body_len;
        e.response_body_end = if r.head_only {
            BodyEnd::Arriving
        } else {
            BodyEnd::Complete
        };
        e.revalidated = m.status == Some(304) && e.conditional;
        e.persistent = m.keeps_alive() && e.request_keeps_alive;
        if let Some(p) = request {
            e.time_to_first_byte = Some(seconds(r.first_byte_time - p.time));
            // A response that never completed has no completion time.
            e.response_time = (!r.head_only).then(|| seconds(r.time - p.time));
        }
    }
    e
}
