//! The per-frame pipeline: link → tunnels → IP (with defragmentation) → TCP → tracker → row
//! (`decap` finds the innermost IP packet).
//!
//! [`Dissector::dissect`] never panics and never drops a frame: whatever cannot be decoded
//! becomes a row whose `protocol` is `malformed` with a reason.

use std::collections::HashMap;
use std::sync::Arc;

use crate::app::exchange::ConnEnd;
use crate::app::reassembly::{AppPass, Columns, ConnApp, PayloadSegment};
use crate::capture::{Frame, FrameKind, Timestamp};
use crate::conn::expiry::Timeouts;
pub use crate::conn::expiry::CLOSED_LINGER_NS;
use crate::conn::flow::Endpoint;
use crate::conn::lifecycle::TcpState;
use crate::conn::tracker::{
    Conn, Ended, SegmentInput, SegmentResult, Shed, Tracker, DEFAULT_MAX_BYTES,
};
use crate::pipeline::decap::{self, mark_malformed, protocol_name};
use crate::pipeline::pass::{Pass, Passing};
use crate::record::Kind;
use crate::record::{ExchangeRecord, InfoSummary, PacketRecord, TcpRecord};
use crate::wire::ip::{self, Defragmenter, IpPacket};
use crate::wire::seq::SeqNumber;
use crate::wire::tcp::{self, TcpFlags};

/// Turns frames into [`PacketRecord`]s, keeping the state that needs (connections, IP
/// fragments). Memory grows with open connections, not with frames.
#[derive(Debug)]
pub struct Dissector {
    tracker: Tracker,
    defrag: Defragmenter,
    /// HTTP state by stream, boxed: a table keeps up to twice as many buckets as
    /// entries, and an inline `ConnApp` would make each spare bucket its full size.
    apps: HashMap<u64, Box<ConnApp>, ahash::RandomState>,
    /// Which pass this is, and what it has told or fetched from the other.
    passing: Passing,
    /// Whether HTTP exchanges ([`Dissector::take_exchanges`]) carry their text.
    exchanges_kept: Exchanges,
    /// The last frame dissected.
    last_frame: u64,
    /// Connections finished since the last [`Dissector::take_finished`] (made whole
    /// there, not here: see [`Ended`]).
    finished: Vec<Ended>,
    /// HTTP exchanges whose outcome is known, not yet taken.
    exchanges: Vec<ExchangeRecord>,
    /// Capture time of the previous TCP frame that had one.
    last_frame_ns: Option<i128>,
    /// A TCP frame without a timestamp has been seen and no frame with one yet.
    untimed: bool,
    /// The idle timeout, which also bounds a clock jump that moves the expiry clock.
    idle_ns: i128,
    /// Nobody reads the rows' text (see [`Dissector::leave_rows_bare`]).
    bare_rows: bool,
    /// Whether payloads go to the application layer (HTTP): not for a single pass whose
    /// rows are bare and whose exchanges nobody wants.
    app_layer: bool,
}

/// How much a dissector may remember: when connections are forgotten, and the bytes
/// their state may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The timeouts of each kind of connection.
    pub timeouts: Timeouts,
    /// Bytes of connection state (live and forgotten) past which the oldest quiet
    /// connections are forgotten first.
    pub max_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeouts: Timeouts::default(),
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// What the HTTP exchanges a dissector hands out ([`Dissector::take_exchanges`]) carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Exchanges {
    /// Frames, status and flags, and their text (method, host, URI…): the `http` table.
    #[default]
    Full,
    /// Frames, status and flags only: enough for the rows, and no strings copied for
    /// every message.
    Framed,
}

/// The longest list of ended connections [`Dissector::drop_finished`] keeps for reuse.
const KEPT_FINISHED: usize = 64;

/// Bytes the HTTP state of one connection costs, as the memory budget counts it: the
/// state itself (boxed) and, measured on half-open connections with one request each
/// (peak RSS per connection less the TCP state's: 559 bytes with 368 of state, from
/// 200,000 and 400,000 connections), about half as much again on the heap.
pub const APP_COST: usize = 3 * std::mem::size_of::<ConnApp>() / 2;

impl Default for Dissector {
    fn default() -> Self {
        Dissector::for_pass_with(Pass::Single, Exchanges::Full, Limits::default())
    }
}

impl Dissector {
    /// A single-pass dissector with no state whose exchanges carry their text.
    pub fn new() -> Self {
        Self::default()
    }

    /// A dissector for `pass` (see [`Pass`]) whose exchanges carry what `exchanges`
    /// says. A first pass keeps no text whatever `exchanges` says: nobody reads it.
    pub fn for_pass(pass: Pass, exchanges: Exchanges) -> Self {
        Dissector::for_pass_with(pass, exchanges, Limits::default())
    }

    /// [`Dissector::for_pass`] with `limits` on what it remembers. Both passes of a pair
    /// must have the same limits: they forget the same connections at the same frames.
    pub fn for_pass_with(pass: Pass, exchanges: Exchanges, limits: Limits) -> Self {
        let mut tracker = Tracker::with_limits(limits.timeouts, limits.max_bytes);
        match &pass {
            Pass::Single => {}
            Pass::First(_) => tracker.list_taken(),
            Pass::Second(board) => {
                let board = Arc::clone(board);
                tracker.follow(Box::new(move |frame, key| board.take_back(frame, key)));
            }
        }
        Dissector {
            tracker,
            defrag: Defragmenter::default(),
            apps: HashMap::default(),
            passing: Passing::new(pass),
            exchanges_kept: exchanges,
            last_frame: 0,
            finished: Vec::new(),
            exchanges: Vec::new(),
            last_frame_ns: None,
            untimed: false,
            idle_ns: limits.timeouts.idle_ns,
            bare_rows: false,
            app_layer: true,
        }
    }

    /// For a sink that reads nothing of the rows but their frames (a connection or
    /// exchange table): rows get no Info text and no HTTP records, which nobody would
    /// read (a fifth of `flows`' time went to them). A single pass that is not asked for
    /// exchanges (`exchanges_wanted`) skips HTTP altogether: nothing it would learn
    /// reaches a row or a connection record. Only the memory budget counted its state;
    /// without it, a connection table under a flood forgets fewer connections early.
    /// A first pass is lean already, and keeps its HTTP state for the pairs.
    pub fn leave_rows_bare(&mut self, exchanges_wanted: bool) {
        if self.passing.is_first() {
            return;
        }
        self.bare_rows = true;
        self.app_layer = exchanges_wanted || self.passing.is_second();
    }

    /// For a pass that hands out no connection records: connections keep no Zeek
    /// state (see [`Tracker::leave_out_zeek`]); a connection from
    /// [`Dissector::finish`] or [`Dissector::take_finished`] then has none either.
    pub fn leave_out_zeek(&mut self) {
        self.tracker.leave_out_zeek();
    }

    /// Whether rows get their Info text (not in a first pass, nor for a bare row).
    #[inline]
    fn writes_text(&self) -> bool {
        !self.passing.is_first() && !self.bare_rows
    }

    /// What the memory budget has cost so far (connections forgotten early).
    pub fn shed(&self) -> Shed {
        self.tracker.shed()
    }

    /// Whether the pass should stop before `frame`: a second pass at the end its first
    /// pass reached, or a first pass nobody follows any more.
    pub fn should_stop_before(&self, frame: u64) -> bool {
        self.passing.should_stop_before(frame)
    }

    /// Whether the first pass this one follows ended without settling a connection met
    /// here: it failed, and rows from this frame on lack their final values.
    pub fn lost_the_first_pass(&self) -> bool {
        self.passing.lost_the_first_pass()
    }

    /// Learns the final completeness of every connection still known (end of a first
    /// pass), changing nothing: the state is freed when the dissector is dropped, after
    /// the board is closed, while the second pass goes on (freeing 200,000 half-open
    /// connections first made the second pass wait a tenth of the run for it).
    fn settle_all(&mut self) {
        for ended in std::mem::take(&mut self.finished) {
            self.passing
                .learn_completeness(ended.stream(), ended.completeness());
        }
        let passing = &mut self.passing;
        self.tracker
            .each_completeness(|stream, value| passing.learn_completeness(stream, value));
    }

    /// The connection tracker (for per-connection summaries).
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Connections that ended (evicted after closing or idling, or displaced by port
    /// reuse) since the last call, in stream order.
    pub fn take_finished(&mut self) -> Vec<Conn> {
        self.learn_finished();
        if self.finished.is_empty() {
            // Most frames end none: no list is made for them.
            return Vec::new();
        }
        self.finished.drain(..).map(Ended::into_conn).collect()
    }

    /// [`Dissector::take_finished`] for a caller that wants no connections: they are
    /// dropped, and their list is kept for the next ones (a SYN flood forgets one on
    /// nearly every frame), unless a burst made it long (it would hold its memory).
    pub fn drop_finished(&mut self) {
        self.learn_finished();
        if self.finished.capacity() > KEPT_FINISHED {
            self.finished = Vec::new();
        } else {
            self.finished.clear();
        }
    }

    /// Puts the connections that ended in stream order, and learns what a first pass
    /// publishes of them.
    #[inline]
    fn learn_finished(&mut self) {
        if self.finished.is_empty() && !self.tracker.has_taken() {
            // Most frames end no connection: only the board may be due.
            self.passing.publish_if_due(self.last_frame);
            return;
        }
        self.finished.sort_by_key(Ended::stream);
        for ended in &self.finished {
            self.passing
                .learn_completeness(ended.stream(), ended.completeness());
        }
        self.passing.learn_taken(self.tracker.take_taken());
        self.passing.publish_if_due(self.last_frame);
    }

    /// HTTP exchanges whose outcome is known since the last call.
    pub fn take_exchanges(&mut self) -> Vec<ExchangeRecord> {
        std::mem::take(&mut self.exchanges)
    }

    /// Ends the capture: every remaining connection, in stream order (their HTTP exchanges
    /// become final too). A first pass instead settles them one at a time, publishes the
    /// last facts and closes its board, and returns none.
    pub fn finish(&mut self) -> Vec<Conn> {
        let mut out = Vec::new();
        self.finish_with(|conn| out.push(conn));
        out
    }

    /// Ends the capture for a caller that wants neither the remaining connections nor
    /// their HTTP exchanges (the rows of `annotate`): they are not rebuilt one by one in
    /// stream order to be handed over (that was a fifth of the time of a capture ending
    /// with 200,000 half-open connections), only left with the dissector, for its drop
    /// (or the process's exit) to release. A first pass still settles and publishes them.
    pub fn finish_unwanted(&mut self) {
        if self.passing.is_first() {
            self.finish_with(drop);
            return;
        }
        self.finished.clear();
        self.exchanges.clear();
    }

    /// [`Dissector::finish`], handing the connections to `each` one at a time, in stream
    /// order: no list of them all is made (at the end of a SYN flood it would be most of
    /// the memory).
    pub fn finish_with(&mut self, mut each: impl FnMut(Conn)) {
        if self.passing.is_first() {
            self.passing.learn_taken(self.tracker.take_taken());
            self.settle_all();
            self.passing.end(self.last_frame);
            return;
        }
        let mut early = std::mem::take(&mut self.finished);
        early.sort_by_key(Ended::stream);
        let mut early = early.into_iter().map(Ended::into_conn).peekable();
        let (apps, exchanges) = (&mut self.apps, &mut self.exchanges);
        let mut hand_over = |conn: Conn| {
            close_app(apps, exchanges, conn.stream, Some(&conn));
            each(conn);
        };
        self.tracker.drain_in_order(|conn| {
            while let Some(before) = early.next_if(|e| e.stream < conn.stream) {
                hand_over(before);
            }
            hand_over(conn);
        });
        early.for_each(&mut hand_over);
        let mut rest: Vec<(u64, Box<ConnApp>)> = self.apps.drain().collect();
        rest.sort_by_key(|(stream, _)| *stream);
        for (stream, mut app) in rest {
            self.exchanges
                .extend(app.exchanges.finish(stream, ConnEnd::Open));
        }
    }

    fn close_app(&mut self, ended: &Ended) {
        close_app(
            &mut self.apps,
            &mut self.exchanges,
            ended.stream(),
            ended.whole(),
        );
    }

    /// The time a TCP frame counts at for connection tracking: its own, or for a frame
    /// without one (a pcapng Simple Packet Block) that of the last frame that had one,
    /// so that the capture's clock never runs back to the epoch. Connections seen before
    /// any frame had a time count as seen when the first one does.
    fn tracking_time(&mut self, stamp: Option<Timestamp>) -> i128 {
        match (stamp.map(Timestamp::as_nanos), self.last_frame_ns) {
            (Some(now), _) => {
                if std::mem::take(&mut self.untimed) {
                    self.tracker.set_time_floor(now);
                }
                now
            }
            (None, Some(last)) => last,
            (None, None) => {
                self.untimed = true;
                0
            }
        }
    }

    /// Forgets the connections whose timeout expired (see [`crate::conn::expiry`]): on
    /// every TCP frame, at O(1) amortised cost.
    fn sweep(&mut self, now_ns: i128) {
        // A clock glitch (one frame stamped far in the future) must not make every
        // connection look idle: a jump larger than the idle timeout since the previous
        // frame does not move the expiry clock.
        let Some(previous) = self.last_frame_ns.replace(now_ns) else {
            return;
        };
        if now_ns - previous > self.idle_ns {
            return;
        }
        let before = self.finished.len();
        self.tracker
            .evict(now_ns, self.apps.len() * APP_COST, &mut self.finished);
        for ended in &self.finished[before..] {
            close_app(
                &mut self.apps,
                &mut self.exchanges,
                ended.stream(),
                ended.whole(),
            );
        }
    }

    /// Dissects one frame into a row.
    pub fn dissect(&mut self, frame: &Frame<'_>) -> PacketRecord {
        let mut row = PacketRecord::default();
        self.dissect_into(frame, &mut row);
        row.render_info();
        row
    }

    /// Dissects one frame into `row`, overwriting every field in place and reusing its
    /// buffers: a caller that recycles rows allocates nothing per frame for the Info text,
    /// and no row is built elsewhere and moved in (two copies of it a frame, a twentieth
    /// of a first pass). TCP's summary may be left pending in the row
    /// ([`PacketRecord::render_info`] writes it).
    pub fn dissect_into(&mut self, frame: &Frame<'_>, row: &mut PacketRecord) {
        start_row(row, frame);
        self.dissect_with(frame, row);
    }

    /// The pipeline for one frame, layer by layer; each layer that cannot go on leaves
    /// the row as far as it got (or marks it malformed) and returns.
    fn dissect_with(&mut self, frame: &Frame<'_>, record: &mut PacketRecord) {
        self.last_frame = frame.number;
        if let FrameKind::CustomBlock { pen, copyable } = frame.kind {
            record.protocol = "PCAPNG";
            let copy = if copyable {
                "will be copied"
            } else {
                "will not be copied"
            };
            record.info = format!("Custom Block: PEN = {pen}, {copy}");
            return;
        }
        let Some(reached) = decap::reach(frame, &mut self.defrag, record) else {
            return;
        };
        let (payload, announced_len) = (&reached.payload[..], reached.announced_len);
        let packet = IpPacket {
            src: reached.src,
            dst: reached.dst,
            protocol: reached.protocol,
            payload,
            announced_len,
            fragment: None,
        };
        if packet.protocol != ip::PROTO_TCP {
            record.protocol = protocol_name(packet.protocol);
            return;
        }
        self.dissect_tcp(frame, &packet, payload, announced_len, record);
    }

    /// TCP: the header, the tracker, the Info text, then the application layer.
    fn dissect_tcp(
        &mut self,
        frame: &Frame<'_>,
        packet: &IpPacket<'_>,
        payload: &[u8],
        announced_len: u32,
        record: &mut PacketRecord,
    ) {
        let header = match tcp::Header::new_checked(payload) {
            Ok(h) => h,
            Err(e) => return mark_malformed(record, e.to_string()),
        };
        let header_len = header.header_len() as u32;
        let len = announced_len.saturating_sub(header_len);
        let input = SegmentInput {
            src: Endpoint {
                addr: packet.src,
                port: header.source_port(),
            },
            dst: Endpoint {
                addr: packet.dst,
                port: header.destination_port(),
            },
            seq: header.seq_number(),
            ack: header.ack_number(),
            flags: header.flags(),
            window: header.window(),
            len,
            options: header.options(),
            time_ns: self.tracking_time(frame.timestamp),
            frame: frame.number,
            tunnel: record.tunnel,
        };
        if header_len > announced_len {
            // Wireshark finds (or makes) the conversation, so the segment takes a stream
            // number, and stops at the short segment before any analysis state moves.
            let stream = self.tracker.stream_only(&input);
            record.tcp = Some(bogus_tcp_record(&input, stream));
            if self.writes_text() {
                write_bogus_tcp_info(&mut record.info, &input);
            }
            return mark_malformed(
                record,
                format!("TCP header length {header_len} exceeds IP payload length {announced_len}"),
            );
        }
        let (result, tcp) = self.track(&input);
        let mut info = std::mem::take(&mut record.info);
        // TCP's summary is left pending: whoever writes the row formats it.
        let mut columns = if self.writes_text() {
            tcp.analysis.write_info_prefix(&mut info);
            Columns::with_pending_summary(info)
        } else {
            Columns::new(info, 0)
        };
        let payload = header.payload();
        let payload = &payload[..payload.len().min(len as usize)];
        if self.app_layer && (!payload.is_empty() || input.flags.contains(TcpFlags::FIN)) {
            let segment = PayloadSegment {
                seq: SeqNumber(input.seq),
                flags: input.flags,
                payload,
                len,
                analysis: result.analysis.flags,
                ports: (input.src.port, input.dst.port),
                direction: usize::from(!result.from_first),
                frame: frame.number,
                time_ns: input.time_ns,
            };
            self.application(&segment, result.stream, &mut columns, record);
        }
        self.release_if_closed(result.stream, &tcp);
        record.protocol = columns.protocol;
        record.info_summary = columns.pending_summary().map(|at| {
            InfoSummary::new(
                at,
                header.urgent_pointer(),
                result.ack_base,
                header.options(),
            )
        });
        record.info = columns.info;
        if (frame.data.len() as u32) < frame.orig_len
            && !header.is_complete()
            && !record
                .info
                .ends_with("[Packet size limited during capture]")
        {
            record.info.push_str("[Packet size limited during capture]");
        }
        if self.bare_rows {
            // What HTTP wrote there: nobody reads it either.
            record.info.clear();
            record.info_summary = None;
        }
        record.tcp = Some(tcp);
    }

    /// Feeds the segment to the tracker (collecting connections it displaced, sweeping
    /// idle ones) and builds the TCP part of the row from what it says.
    #[inline]
    fn track(&mut self, input: &SegmentInput<'_>) -> (SegmentResult, TcpRecord) {
        let result = self.tracker.on_segment(input);
        for displaced in self.tracker.take_replaced() {
            self.close_app(&displaced);
            self.finished.push(displaced);
        }
        self.sweep(input.time_ns);
        let tcp = TcpRecord {
            source_port: input.src.port,
            destination_port: input.dst.port,
            stream: result.stream,
            flags: input.flags.bits(),
            relative_seq: result.seq,
            relative_ack: result.ack,
            raw_seq: input.seq,
            raw_ack: input.ack,
            len: input.len,
            window: result.window,
            analysis: result.analysis,
            from_client: result.from_client,
            role: Some(result.transition.role),
            client_state: Some(result.transition.client),
            server_state: Some(result.transition.server),
            completeness: self
                .passing
                .completeness_before(result.stream, input)
                .unwrap_or(result.completeness_before),
        };
        (result, tcp)
    }

    /// The application layer for a segment with payload (or a FIN): reassembly and HTTP,
    /// then pairing. A first pass keeps only the pairs a second pass shows as
    /// `response_in`; otherwise the row gets its HTTP records, with `response_in` from the
    /// future when a first pass told it.
    fn application(
        &mut self,
        segment: &PayloadSegment<'_>,
        stream: u64,
        columns: &mut Columns,
        record: &mut PacketRecord,
    ) {
        let lean = self.passing.is_first();
        let pass = if lean {
            AppPass::First
        } else if self.passing.is_second() {
            AppPass::Second
        } else {
            AppPass::Single
        };
        let rows_only = self.exchanges_kept == Exchanges::Framed;
        let app = self
            .apps
            .entry(stream)
            .or_insert_with(|| Box::new(ConnApp::new(pass, rows_only)));
        let seen = app.on_payload(segment, columns);
        if seen.is_empty() {
            return;
        }
        if lean {
            app.exchanges.pair_only(&seen);
            let paired = app.exchanges.take_paired();
            self.passing.learn_pairs(paired);
            return;
        }
        if self.bare_rows {
            app.exchanges.on_frame_unshown(stream, &seen);
        } else {
            record.http = app.exchanges.on_frame(stream, seen);
        }
        let paired = app.exchanges.take_paired();
        self.exchanges.extend(app.exchanges.take_done());
        self.passing.learn_pairs(paired);
        if self.passing.is_second() {
            let future = self.passing.response_for(segment.frame);
            for http in record.http.iter_mut() {
                if http.kind == Kind::Request && http.response_in.is_none() {
                    http.response_in = future;
                }
            }
        }
    }

    /// A connection that both sides have closed (or that was reset) needs no HTTP state
    /// any more: its exchanges are final now, and only the small TCP state lingers for
    /// late segments.
    #[inline]
    fn release_if_closed(&mut self, stream: u64, tcp: &TcpRecord) {
        let done =
            |state: Option<TcpState>| matches!(state, Some(TcpState::Closed | TcpState::TimeWait));
        if done(tcp.client_state) && done(tcp.server_state) {
            if let Some(mut app) = self.apps.remove(&stream) {
                let end = if TcpFlags::from_bits(tcp.flags).contains(TcpFlags::RST) {
                    ConnEnd::Reset
                } else {
                    ConnEnd::Closed
                };
                self.exchanges.extend(app.exchanges.finish(stream, end));
            }
        }
    }
}

/// A connection that ended: its HTTP exchanges are final now, with how it ended.
fn close_app(
    apps: &mut HashMap<u64, Box<ConnApp>, ahash::RandomState>,
    exchanges: &mut Vec<ExchangeRecord>,
    stream: u64,
    conn: Option<&Conn>,
) {
    if let Some(mut app) = apps.remove(&stream) {
        // A connection held as its one SYN has no payload, and so no app, but would be
        // open.
        let end = match conn {
            Some(conn) if conn.summary.first_rst.is_some() => ConnEnd::Reset,
            Some(conn) if conn.is_closed() => ConnEnd::Closed,
            _ => ConnEnd::Open,
        };
        exchanges.extend(app.exchanges.finish(stream, end));
    }
}

/// The TCP columns of a segment whose header claims more bytes than the IP packet
/// holds: what tshark shows of it (ports, stream, raw numbers; no analysis, no role).
fn bogus_tcp_record(input: &SegmentInput<'_>, stream: u64) -> TcpRecord {
    TcpRecord {
        source_port: input.src.port,
        destination_port: input.dst.port,
        stream,
        flags: input.flags.bits(),
        relative_seq: input.seq,
        relative_ack: input.ack,
        raw_seq: input.seq,
        raw_ack: input.ack,
        window: u32::from(input.window),
        ..TcpRecord::default()
    }
}

/// Makes `row` the start of `frame`'s row, in place: the frame's own facts, every other
/// field empty, the Info and HTTP buffers kept for reuse. Every field is named, so that a
/// field added to the row must be reset here too.
fn start_row(row: &mut PacketRecord, frame: &Frame<'_>) {
    let PacketRecord {
        frame: number,
        time,
        src,
        dst,
        tcp,
        frame_len,
        cap_len,
        protocol,
        info,
        info_summary,
        malformed,
        http,
        tunnel,
    } = row;
    *number = frame.number;
    *time = frame.timestamp;
    *src = None;
    *dst = None;
    *tcp = None;
    *frame_len = frame.orig_len;
    *cap_len = frame.data.len() as u32;
    *protocol = "";
    info.clear();
    *info_summary = None;
    *malformed = None;
    http.clear();
    *tunnel = Default::default();
}

/// tshark's Info for such a segment: the summary as far as it got, then its exception.
fn write_bogus_tcp_info(info: &mut String, input: &SegmentInput<'_>) {
    use std::fmt::Write as _;
    let _ = write!(info, "{} → {} [", input.src.port, input.dst.port);
    tcp::write_flag_names(info, input.flags);
    let _ = write!(info, "] Seq={}", input.seq);
    if input.flags.contains(TcpFlags::ACK) {
        let _ = write!(info, " Ack={}", input.ack);
    }
    let _ = write!(info, " Win={}[Malformed Packet]", input.window);
}
