//! TCP payload reassembly for application messages, following Wireshark's in-order
//! `desegment_tcp()` (4.0, out-of-order reassembly off) so that frames inside a message
//! carry `[TCP segment of a reassembled PDU]` exactly where tshark prints it, and the
//! message is reported on the frame where it completes.
//!
//! Read, at least: RFC 9293 §3.10.7.4 (in-order delivery) and Wireshark's
//! "TCP Reassembly" section of the User's Guide (desegmentation).
//!
//! Memory is bounded: one multi-segment PDU (MSP) per direction, holding at most
//! [`MAX_PDU_BYTES`]; a message that would need more is not reassembled (its frames keep
//! plain TCP Info), which is also what Wireshark does past its own 1 MiB first-PDU limit.

use std::collections::VecDeque;

use crate::app::exchange::{Exchanges, SeenMessage};
use crate::app::http::{self, HeadHint, HttpConv, Message, Need};
use crate::conn::analysis::Flags;
use crate::wire::seq::SeqNumber;
use crate::wire::tcp::TcpFlags;

/// Largest gap (bytes not yet received) a segment may leave ahead of the data held.
const MAX_HOLE: usize = 64 * 1024;
/// Most out-of-order pieces held for one PDU.
const MAX_ISLANDS: usize = 64;

/// Largest PDU we buffer (Wireshark refuses to start an MSP longer than 1 MiB too).
pub const MAX_PDU_BYTES: usize = 4 * 1024 * 1024;
const FIRST_PDU_LIMIT: u32 = 1024 * 1024;
const SUFFIX: &str = "[TCP segment of a reassembled PDU]";

/// TCP ports Wireshark 4.0 hands to HTTP by default (`TCP_DEFAULT_RANGE`).
const HTTP_PORTS: &[u16] = &[80, 3128, 3132, 5985, 8080, 8088, 11371, 1900, 2869, 2710];

/// Well-known ports that Wireshark gives to another dissector before any heuristic runs
/// (SSH, Telnet, SMTP, DNS, POP3, IMAP, TLS and its variants, SMB, PPTP, MySQL,
/// PostgreSQL, X11): wirenote does not dissect those protocols, and does not try its
/// HTTP heuristic there either, so that such connections stay plain TCP as in tshark's
/// HTTP fields.
#[rustfmt::skip]
const OTHER_PROTOCOL_PORTS: &[u16] = &[
    21, 22, 23, 25, 53, 110, 139, 143, 443, 445, 465, 587, 636, 853, 993, 995, 1723, 3306, 5432,
    6000, 6001, 6002, 6003, 6004, 6005, 6006, 6007, 6008, 6009, 6010, 6011, 6012, 6013, 6014, 6015,
];

/// A message being reassembled across segments.
#[derive(Debug, Clone)]
struct Msp {
    seq: SeqNumber,
    next_pdu: SeqNumber,
    /// Wireshark's MSP_FLAGS_REASSEMBLE_ENTIRE_SEGMENT: take whole segments (one more).
    entire_segment: bool,
    data: Vec<u8>,
    /// The PDU's length once it is known (a Content-Length body), if it may be kept.
    expected: Option<usize>,
    /// The PDU's bytes are not kept, only how far they reach: it is longer than
    /// [`MAX_PDU_BYTES`], so it will be given up before it completes, and nothing will
    /// ever read them (a 5 MB download was 4 MiB copied for nothing, in each pass).
    unread_len: Option<usize>,
    /// Bytes from `seq` received without a hole.
    contiguous: usize,
    /// Received ranges beyond `contiguous` (holes waiting to be filled), sorted, disjoint.
    islands: Vec<(usize, usize)>,
    /// A segment reaching `next_pdu` arrived: once the holes fill, the PDU is whole.
    seen_last: bool,
    complete: bool,
    /// Time of the first segment of this PDU.
    first_time: i128,
    /// How far the subdissector got through this PDU's head on earlier calls.
    hint: HeadHint,
}

impl Msp {
    fn new(seq: SeqNumber, next_pdu: SeqNumber, bytes: &[u8]) -> Msp {
        Msp {
            seq,
            next_pdu,
            entire_segment: false,
            data: bytes.to_vec(),
            expected: None,
            unread_len: None,
            contiguous: bytes.len(),
            islands: Vec::new(),
            seen_last: false,
            complete: false,
            first_time: 0,
            hint: HeadHint::default(),
        }
    }

    /// Reserves room for the whole PDU once its length is known, so that a large body is
    /// copied once rather than again at every reallocation: up to Wireshark's first-PDU
    /// limit now, the rest once the bytes get there (a length claimed is not a length
    /// sent). A PDU longer than the cap keeps no bytes at all, unless a FIN may end it
    /// early (`fin_ends_pdus`: the direction delimits a PDU by its FIN).
    fn expect_whole(&mut self, fin_ends_pdus: bool) {
        let total = self.next_pdu.diff(self.seq).max(0) as usize;
        if total > MAX_PDU_BYTES && !fin_ends_pdus {
            self.unread_len = Some(self.len());
            self.data = Vec::new();
            self.expected = None;
            return;
        }
        self.expected = Some(total);
        let now = total.min(FIRST_PDU_LIMIT as usize);
        self.data.reserve(now.saturating_sub(self.data.len()));
    }

    /// How far the bytes received reach (holes included).
    fn len(&self) -> usize {
        self.unread_len.unwrap_or(self.data.len())
    }

    /// Whether every byte up to the end of the data has arrived.
    fn whole(&self) -> bool {
        self.contiguous == self.len()
    }

    /// Adds bytes at `seq`; returns false if the PDU would outgrow the cap, leave a hole
    /// larger than [`MAX_HOLE`] (a few bytes far ahead must not cost megabytes), or
    /// scatter into more than [`MAX_ISLANDS`] pieces.
    fn insert(&mut self, seq: SeqNumber, bytes: &[u8]) -> bool {
        let at = seq.diff(self.seq).max(0) as usize;
        let end = at + bytes.len();
        if end > MAX_PDU_BYTES || at > self.len() + MAX_HOLE {
            return false;
        }
        let held = self.data.len();
        if let Some(reach) = &mut self.unread_len {
            *reach = (*reach).max(end);
        } else if at >= held {
            // In-order data (the common case) is appended, not zero-filled and then copied.
            if let Some(total) = self.expected.filter(|_| end > self.data.capacity()) {
                self.data.reserve_exact(total.max(end) - held);
            }
            self.data.resize(at, 0);
            self.data.extend_from_slice(bytes);
        } else {
            let overlap = (held - at).min(bytes.len());
            if self.data[at..at + overlap] != bytes[..overlap] {
                // Other bytes where some were: what an earlier call read of them (line
                // ends, a whole head) no longer holds, and the next call reads afresh,
                // as Wireshark reads every reassembled buffer.
                self.hint = HeadHint::default();
            }
            self.data[at..at + overlap].copy_from_slice(&bytes[..overlap]);
            self.data.extend_from_slice(&bytes[overlap..]);
        }
        if at <= self.contiguous {
            self.contiguous = self.contiguous.max(end);
        } else {
            self.islands.push((at, end));
            self.islands.sort_unstable();
            // Coalesce pieces that touch or overlap: a run of segments after one lost
            // segment stays a single island.
            let mut merged: Vec<(usize, usize)> = Vec::with_capacity(self.islands.len());
            for &(start, stop) in &self.islands {
                match merged.last_mut() {
                    Some(last) if start <= last.1 => last.1 = last.1.max(stop),
                    _ => merged.push((start, stop)),
                }
            }
            self.islands = merged;
            if self.islands.len() > MAX_ISLANDS {
                return false;
            }
        }
        // A filled hole joins the islands that now touch the contiguous part.
        while let Some(&(start, stop)) = self.islands.first() {
            if start > self.contiguous {
                break;
            }
            self.contiguous = self.contiguous.max(stop);
            self.islands.remove(0);
        }
        true
    }
}

/// A PDU already reassembled: kept (without its bytes) so that a late segment falling
/// inside it is reported as Wireshark reports it.
#[derive(Debug, Clone, Copy)]
struct DoneMsp {
    seq: SeqNumber,
    next_pdu: SeqNumber,
    len: usize,
}

/// How many reassembled PDUs per direction are remembered for that.
const DONE_HISTORY: usize = 16;

/// Reassembly state of one direction.
#[derive(Debug, Clone, Default)]
pub struct DirectionState {
    /// Boxed: most connections never have one, or long after their last one, and inline
    /// it was over a third of every HTTP connection's state.
    msp: Option<Box<Msp>>,
    done: VecDeque<DoneMsp>,
    until_fin: bool,
    fin_seen: bool,
}

impl DirectionState {
    /// Makes `msp` the direction's pending PDU, in the box of the last one if there is.
    #[inline]
    fn set_msp(&mut self, msp: Msp) {
        match &mut self.msp {
            Some(held) => **held = msp,
            None => self.msp = Some(Box::new(msp)),
        }
    }
}

/// Application state of one connection.
#[derive(Debug, Clone, Default)]
pub struct ConnApp {
    /// Whether HTTP dissects this connection (port or heuristic); `None` until decided.
    http: Option<bool>,
    conv: HttpConv,
    directions: [DirectionState; 2],
    /// Request/response pairing.
    pub exchanges: Exchanges,
    /// A second pass: Wireshark revisits a dissected frame with its reassemblies already
    /// known, and calls the subdissector only on a PDU that completes in that frame.
    revisiting: bool,
    /// Per direction: a message whose head was reported as seen has not completed yet.
    head_open: [bool; 2],
}

/// Which pass the application layer serves; the Info column differs between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppPass {
    /// One pass, as tshark without `-2`: Info is what the subdissector said as it went.
    Single,
    /// A first pass: only what the second needs (see [`HttpConv::lean`]).
    First,
    /// A second pass, as `tshark -2` and Wireshark's packet list: a frame inside a PDU
    /// that completes later shows TCP's own summary.
    Second,
}

/// The Protocol and Info columns as Wireshark's column code builds them.
///
/// TCP's own summary may be pending rather than written (see
/// [`crate::record::InfoSummary`]): it then stands, unwritten, at the end of the analysis
/// prefix, and everything here treats it as there.
#[derive(Debug, Clone)]
pub struct Columns {
    /// Protocol column.
    pub protocol: &'static str,
    /// Info column, without TCP's summary while that is pending.
    pub info: String,
    fence: usize,
    protocol_locked: bool,
    /// TCP's summary stands, unwritten, at `summary_at` in `info`.
    summary_pending: bool,
    summary_at: usize,
    /// The fence was moved past the pending summary: an application's Info follows it.
    fence_past_summary: bool,
}

impl Columns {
    /// Starts from TCP's own summary, whose first `fence` bytes (the analysis prefix)
    /// stay whatever an application writes.
    pub fn new(tcp_info: String, fence: usize) -> Columns {
        Columns {
            protocol: "TCP",
            info: tcp_info,
            fence,
            protocol_locked: false,
            summary_pending: false,
            summary_at: 0,
            fence_past_summary: false,
        }
    }

    /// Starts from the analysis prefix, with TCP's summary pending after it.
    pub fn with_pending_summary(prefix: String) -> Columns {
        let at = prefix.len();
        Columns {
            summary_pending: true,
            summary_at: at,
            ..Columns::new(prefix, at)
        }
    }

    /// Where TCP's pending summary goes in `info`; `None` if it was replaced, or written.
    pub fn pending_summary(&self) -> Option<usize> {
        self.summary_pending.then_some(self.summary_at)
    }

    fn set_info(&mut self, text: &str) {
        // Truncating at the fence drops the summary too, unless the fence lies past it.
        if !self.fence_past_summary {
            self.summary_pending = false;
        }
        self.info.truncate(self.fence);
        self.info.push_str(text);
    }

    /// Fences what Info holds now: a later PDU's text follows it.
    fn fence_here(&mut self) {
        self.fence = self.info.len();
        self.fence_past_summary |= self.summary_pending;
    }

    fn set_protocol(&mut self, protocol: &'static str) {
        if !self.protocol_locked {
            self.protocol = protocol;
        }
    }

    fn append_error(&mut self, message: &str) {
        self.info.push_str("[Reassembly error, protocol TCP: ");
        self.info.push_str(message);
        self.info.push(']');
    }

    fn append_suffix(&mut self) {
        if !self.info.is_empty() || self.summary_pending {
            self.info.push(' ');
        }
        self.info.push_str(SUFFIX);
    }
}

/// The segment facts reassembly needs.
#[derive(Debug, Clone, Copy)]
pub struct PayloadSegment<'a> {
    /// Raw sequence number.
    pub seq: SeqNumber,
    /// Flag bits.
    pub flags: TcpFlags,
    /// Captured payload.
    pub payload: &'a [u8],
    /// Payload length from the IP header.
    pub len: u32,
    /// Analysis flags of the segment.
    pub analysis: Flags,
    /// Source and destination ports (for the port-based HTTP decision).
    pub ports: (u16, u16),
    /// 0 for the connection's first direction, 1 for the other.
    pub direction: usize,
    /// Frame number.
    pub frame: u64,
    /// Capture time, ns.
    pub time_ns: i128,
}

fn looks_like_http(payload: &[u8]) -> bool {
    // Wireshark's dissect_http_heur_tcp: a first line ending in "HTTP/1.x" or starting with it.
    let Some(end) = payload.iter().position(|&b| b == b'\r' || b == b'\n') else {
        return false;
    };
    if end == 8 {
        return false;
    }
    let line = &payload[..end];
    let tail_ok = end >= 8 && line[end - 8..end - 1].eq_ignore_ascii_case(b"HTTP/1.");
    tail_ok || (line.len() >= 7 && line[..7].eq_ignore_ascii_case(b"HTTP/1."))
}

impl DirectionState {
    fn remember(&mut self, done: DoneMsp) {
        if self.done.len() == DONE_HISTORY {
            self.done.pop_front();
        }
        self.done.push_back(done);
    }

    /// Wireshark's lookup of the PDU a segment at `seq` belongs to: one starting exactly at
    /// `seq`, else the one with the greatest start before it. `Err` is a finished PDU.
    fn lookup(&self, seq: SeqNumber, exact: bool) -> Option<Result<(), DoneMsp>> {
        let pending = self.msp.as_ref().filter(|m| !m.complete).map(|m| m.seq);
        let mut best: Option<(SeqNumber, Result<(), DoneMsp>)> = None;
        let mut consider = |start: SeqNumber, item: Result<(), DoneMsp>| {
            let fits = if exact { start == seq } else { start.lt(seq) };
            if fits && best.is_none_or(|(b, _)| start.ge(b)) {
                best = Some((start, item));
            }
        };
        for done in &self.done {
            consider(done.seq, Err(*done));
        }
        if let Some(start) = pending {
            consider(start, Ok(()));
        }
        best.map(|(_, item)| item)
    }
}

impl ConnApp {
    /// Application state for a new connection in `pass`; `rows_only` when no exchange
    /// table is wanted (see [`Exchanges::rows_only`]).
    pub fn new(pass: AppPass, rows_only: bool) -> ConnApp {
        let mut app = ConnApp::default();
        app.conv.lean = pass == AppPass::First;
        app.revisiting = pass == AppPass::Second;
        app.exchanges.rows_only = rows_only;
        app
    }

    fn is_http(&mut self, seg: &PayloadSegment<'_>, bytes: &[u8]) -> bool {
        match self.http {
            Some(decided) => decided,
            None => {
                let (a, b) = seg.ports;
                // Port first (lower port, then higher), then the heuristic, as Wireshark tries them.
                let by_port = HTTP_PORTS.contains(&a.min(b)) || HTTP_PORTS.contains(&a.max(b));
                let other = OTHER_PROTOCOL_PORTS.contains(&a) || OTHER_PROTOCOL_PORTS.contains(&b);
                let decided = by_port || (!other && looks_like_http(bytes));
                if decided {
                    self.http = Some(true);
                }
                decided
            }
        }
    }

    /// Runs the "subdissector" on `bytes`: HTTP if this connection is HTTP.
    #[allow(clippy::too_many_arguments)]
    fn call_subdissector(
        &mut self,
        seg: &PayloadSegment<'_>,
        bytes: &[u8],
        hint: &mut HeadHint,
        can_desegment: bool,
        first_time: i128,
        columns: &mut Columns,
        messages: &mut Vec<SeenMessage>,
    ) -> Option<(usize, Need)> {
        if !self.is_http(seg, bytes) {
            return None;
        }
        let end_of_stream = seg.flags.contains(TcpFlags::FIN);
        self.conv.want_open_head = !self.head_open[seg.direction];
        let result =
            http::dissect_stream(bytes, &mut self.conv, can_desegment, end_of_stream, hint);
        // Nothing consumed, more wanted: this PDU completes in a later frame (or never).
        // Revisiting, Wireshark finds it among the first pass's reassemblies and does not
        // call the subdissector here, so the frame keeps TCP's columns.
        let revisited_away = self.revisiting && matches!(result.need, Some((0, _)));
        if !revisited_away {
            if !result.info.is_empty() {
                columns.set_info(&result.info);
            }
            if result.is_http {
                columns.set_protocol("HTTP");
            }
            if result.cut_short {
                columns
                    .info
                    .push_str("[Packet size limited during capture]");
            }
        }
        if !result.messages.is_empty() {
            self.head_open[seg.direction] = false;
        }
        let open = result.open_head.map(|head| (head, true));
        self.head_open[seg.direction] |= open.is_some();
        let completed = result.messages.into_iter().map(|m| (m, false));
        messages.extend(
            completed
                .chain(open)
                .map(|(message, head_only): (Message, bool)| SeenMessage {
                    message,
                    frame: seg.frame,
                    time: seg.time_ns,
                    first_byte_time: first_time,
                    direction: seg.direction,
                    head_only,
                }),
        );
        result.need
    }

    /// Handles the payload of one segment: updates Protocol/Info and returns completed
    /// messages. Mirrors Wireshark's `dissect_tcp` FIN handling and `desegment_tcp`.
    pub fn on_payload(
        &mut self,
        seg: &PayloadSegment<'_>,
        columns: &mut Columns,
    ) -> Vec<SeenMessage> {
        let mut messages = Vec::new();
        let again = [
            Flags::RETRANSMISSION,
            Flags::SPURIOUS_RETRANSMISSION,
            Flags::KEEP_ALIVE,
        ];
        if self.head_open[seg.direction] && !again.iter().any(|f| seg.analysis.contains(*f)) {
            // Body bytes of a message reported by its head (new data, late or not): the
            // exchange table says how much of the body came, whether or not it completes.
            self.exchanges
                .more_body(seg.direction, seg.payload.len() as u64);
        }
        let fully_captured = seg.payload.len() as u32 >= seg.len;
        if fully_captured && self.complete_on_fin(seg, columns, &mut messages) {
            return messages;
        }
        if seg.payload.is_empty() || seg.flags.contains(TcpFlags::RST) {
            return messages;
        }
        if !fully_captured {
            // No desegmentation on a snap-length-cut segment.
            if !seg.analysis.withholds_payload() {
                self.call_subdissector(
                    seg,
                    seg.payload,
                    &mut HeadHint::default(),
                    false,
                    seg.time_ns,
                    columns,
                    &mut messages,
                );
            }
            return messages;
        }
        self.desegment(seg, columns, &mut messages);
        messages
    }

    /// A FIN ends a close-delimited PDU: reassemble it now, as Wireshark does. Returns
    /// whether the FIN completed one (the segment has then been dissected).
    fn complete_on_fin(
        &mut self,
        seg: &PayloadSegment<'_>,
        columns: &mut Columns,
        messages: &mut Vec<SeenMessage>,
    ) -> bool {
        let state = &mut self.directions[seg.direction];
        if !seg.flags.contains(TcpFlags::FIN) || !state.until_fin || state.fin_seen {
            return false;
        }
        state.fin_seen = true;
        let mut complete = None;
        let mut first_time = seg.time_ns;
        if let Some(msp) = state.msp.as_mut() {
            first_time = msp.first_time;
            if msp.seq.le(seg.seq.wrapping_add(u32::MAX))
                && !msp.complete
                && msp.insert(seg.seq, seg.payload)
                && msp.whole()
            {
                msp.complete = true;
                complete = Some(std::mem::take(&mut msp.data));
            }
        }
        let Some(data) = complete else {
            return false;
        };
        self.call_subdissector(
            seg,
            &data,
            &mut HeadHint::default(),
            false,
            first_time,
            columns,
            messages,
        );
        true
    }

    /// Wireshark's `desegment_tcp` loop over a fully captured payload: each turn takes the
    /// PDU at `walk.seq`, either continuing a pending one or starting at this segment,
    /// and goes round again while another PDU follows in the same segment.
    fn desegment(
        &mut self,
        seg: &PayloadSegment<'_>,
        columns: &mut Columns,
        messages: &mut Vec<SeenMessage>,
    ) {
        let seq = if seg.flags.contains(TcpFlags::SYN) {
            seg.seq.wrapping_add(1)
        } else {
            seg.seq
        };
        let mut walk = Walk {
            seq,
            next_seq: seq.wrapping_add(seg.payload.len() as u32),
            offset: 0,
            first_pdu: true,
            msp_touched: false,
        };
        loop {
            let Some(in_msp) = self.locate(seg, &walk, columns) else {
                return;
            };
            let (called, need, another_pdu_follows) = if in_msp {
                match self.add_to_msp(seg, &mut walk, columns, messages) {
                    PduStep::Stop => return,
                    PduStep::Again => continue,
                    PduStep::Dissected {
                        called,
                        another_pdu_follows,
                    } => (called, None, another_pdu_follows),
                }
            } else {
                let mut need = None;
                if !seg.analysis.withholds_payload() {
                    let payload = &seg.payload[walk.offset..];
                    let mut hint = HeadHint::default();
                    need = self.call_subdissector(
                        seg,
                        payload,
                        &mut hint,
                        true,
                        seg.time_ns,
                        columns,
                        messages,
                    );
                    if let Some((doff, n)) = need {
                        self.start_msp(seg, &mut walk, doff, n, hint);
                    }
                }
                (true, need, 0)
            };
            if !called || need.is_some() {
                let doff = need.map_or(0, |(d, _)| d);
                if doff == 0 {
                    columns.set_protocol("TCP");
                    if walk.first_pdu {
                        columns.append_suffix();
                    }
                }
            }
            if another_pdu_follows > 0 {
                columns.fence_here();
                columns.protocol_locked = true;
                walk.first_pdu = false;
                walk.offset += another_pdu_follows as usize;
                walk.seq = walk.seq.wrapping_add(another_pdu_follows);
                if walk.offset < seg.payload.len() {
                    continue;
                }
            }
            return;
        }
    }

    /// Where the PDU at `walk.seq` stands: `Some(true)` if it continues the pending PDU,
    /// `Some(false)` if it starts here, `None` if the segment is done with: a
    /// retransmission (of a PDU's first segment or flagged by the analysis), or bytes
    /// added to a finished reassembly (reported as Wireshark's ReassemblyError).
    #[inline]
    fn locate(&self, seg: &PayloadSegment<'_>, walk: &Walk, columns: &mut Columns) -> Option<bool> {
        let (seq, next_seq) = (walk.seq, walk.next_seq);
        let state = &self.directions[seg.direction];
        // A retransmitted first segment of a PDU (not one made by this frame).
        let exact = state.lookup(seq, true);
        let exact_next = match exact {
            Some(Ok(())) => state.msp.as_ref().map(|m| m.next_pdu),
            Some(Err(done)) => Some(done.next_pdu),
            None => None,
        };
        if let Some(next_pdu) = exact_next {
            if !walk.msp_touched && next_seq.le(next_pdu) {
                return None;
            }
        }
        if seg.analysis.contains(Flags::SPURIOUS_RETRANSMISSION)
            || seg.analysis.contains(Flags::RETRANSMISSION)
        {
            return None;
        }
        let found = exact.or_else(|| state.lookup(seq, false));
        if let Some(Err(done)) = found {
            if done.next_pdu.gt(seq) {
                // Adding to a finished reassembly: Wireshark throws ReassemblyError.
                let frag_offset = seq.diff(done.seq).max(0) as usize;
                columns.append_error(if frag_offset >= done.len {
                    "New fragment past old data limits"
                } else {
                    "New fragment overlaps old data (retransmission?)"
                });
                return None;
            }
        }
        Some(
            matches!(found, Some(Ok(())))
                && state
                    .msp
                    .as_ref()
                    .is_some_and(|m| !m.complete && m.seq.le(seq) && m.next_pdu.gt(seq)),
        )
    }

    /// Adds this segment's bytes to the pending PDU they continue. When that makes the PDU
    /// whole, hands it to the subdissector; what the subdissector did not consume stays
    /// pending, and the walk goes on after it if the segment has more.
    fn add_to_msp(
        &mut self,
        seg: &PayloadSegment<'_>,
        walk: &mut Walk,
        columns: &mut Columns,
        messages: &mut Vec<SeenMessage>,
    ) -> PduStep {
        let (seq, next_seq) = (walk.seq, walk.next_seq);
        let payload = &seg.payload[walk.offset..];
        let state = &mut self.directions[seg.direction];
        let Some(msp) = state.msp.as_mut() else {
            return PduStep::Stop;
        };
        walk.msp_touched = true;
        let len = if msp.entire_segment {
            payload.len()
        } else {
            (next_seq.diff(seq) as usize).min(msp.next_pdu.diff(seq) as usize)
        };
        if !msp.insert(seq, &payload[..len]) {
            // Beyond our cap: give up on this PDU (its frames show plain TCP Info).
            state.msp = None;
            return PduStep::Stop;
        }
        let more = next_seq.lt(msp.next_pdu);
        // As Wireshark's fragment_add: whole once the last piece has been seen and
        // every hole is filled, whichever segment fills the last one.
        msp.seen_last |= !more;
        let reassembled = msp.seen_last && msp.whole();
        if reassembled && msp.entire_segment {
            msp.entire_segment = false;
            if msp.next_pdu.lt(next_seq) {
                msp.next_pdu = next_seq;
            }
        }
        let mut another_pdu_follows = 0;
        if msp.next_pdu.lt(next_seq) && msp.next_pdu.ge(seq) && len > 0 {
            another_pdu_follows = msp.next_pdu.diff(seq) as u32;
        }
        if !reassembled {
            return PduStep::Dissected {
                called: false,
                another_pdu_follows,
            };
        }
        msp.complete = true;
        let mut data = std::mem::take(&mut msp.data);
        let mut hint = std::mem::take(&mut msp.hint);
        let head = MspHead {
            seq: msp.seq,
            next_pdu: msp.next_pdu,
            first_time: msp.first_time,
        };
        let need = self.call_subdissector(
            seg,
            &data,
            &mut hint,
            true,
            head.first_time,
            columns,
            messages,
        );
        let state = &mut self.directions[seg.direction];
        if need.is_none_or(|(doff, _)| doff > 0) {
            state.remember(DoneMsp {
                seq: head.seq,
                next_pdu: head.next_pdu,
                len: data.len(),
            });
        }
        let Some((doff, n)) = need else {
            return PduStep::Dissected {
                called: true,
                another_pdu_follows,
            };
        };
        walk.msp_touched = true;
        let mut pending = head.pending_after(&mut data, doff, seq, seg.time_ns);
        if doff == 0 {
            // The same bytes, waiting for more: the head's scan resumes where it stopped.
            pending.hint = hint;
        }
        let until_fin = pending.extend_for(n, seq, payload.len(), len, state.until_fin);
        state.until_fin |= until_fin;
        state.set_msp(pending);
        walk.offset += len;
        walk.seq = seq.wrapping_add(len as u32);
        if walk.offset < seg.payload.len() {
            return PduStep::Again;
        }
        // Wireshark leaves the loop here without the suffix step.
        if doff == 0 {
            columns.set_protocol("TCP");
            if walk.first_pdu {
                columns.append_suffix();
            }
        }
        PduStep::Stop
    }

    /// A PDU the subdissector could not finish in this segment (`need` more from `doff`
    /// on): start reassembling it, unless it would exceed Wireshark's first-PDU limit.
    ///
    /// `hint` is what the subdissector learned of the bytes from `walk.offset`: it goes
    /// with the PDU when the PDU starts there (`doff` 0), as the same bytes.
    fn start_msp(
        &mut self,
        seg: &PayloadSegment<'_>,
        walk: &mut Walk,
        doff: usize,
        n: Need,
        hint: HeadHint,
    ) {
        let next_seq = walk.next_seq;
        let deseg_seq = walk.seq.wrapping_add(doff as u32);
        if next_seq.diff(deseg_seq) as u32 > FIRST_PDU_LIMIT {
            return;
        }
        let state = &mut self.directions[seg.direction];
        let mut msp = Msp::new(deseg_seq, next_seq, &seg.payload[walk.offset + doff..]);
        msp.first_time = seg.time_ns;
        if doff == 0 {
            msp.hint = hint;
        }
        match n {
            Need::OneMoreSegment => {
                msp.next_pdu = next_seq.wrapping_add(1);
                msp.entire_segment = true;
            }
            Need::UntilFin => {
                state.until_fin = true;
                msp.next_pdu = next_seq.wrapping_add(0x4000_0000);
            }
            Need::Bytes(bytes) => {
                msp.next_pdu = next_seq.wrapping_add(bytes);
                msp.expect_whole(state.until_fin);
            }
        }
        state.set_msp(msp);
        walk.msp_touched = true;
    }
}

/// Where the walk over one segment's payload stands (the locals of Wireshark's loop).
#[derive(Debug, Clone, Copy)]
struct Walk {
    /// Sequence number of the PDU being looked at.
    seq: SeqNumber,
    /// Sequence number just past this segment's payload.
    next_seq: SeqNumber,
    /// Offset of `seq` in the payload.
    offset: usize,
    /// No PDU has ended earlier in this segment (the suffix goes only on the first).
    first_pdu: bool,
    /// This segment has already added to or started a pending PDU, so it is no
    /// retransmission of that PDU's first segment.
    msp_touched: bool,
}

/// What adding to a pending PDU leaves the walk to do.
#[derive(Debug, Clone, Copy)]
enum PduStep {
    /// Nothing more in this segment.
    Stop,
    /// Go round again at the walk's new offset.
    Again,
    /// Carry on with the end-of-turn steps (suffix, another PDU in the segment).
    Dissected {
        /// The subdissector ran.
        called: bool,
        /// Bytes of this segment that belong to the PDU just finished.
        another_pdu_follows: u32,
    },
}

/// What is kept of a reassembled PDU once its bytes are handed to the subdissector.
#[derive(Debug, Clone, Copy)]
struct MspHead {
    seq: SeqNumber,
    next_pdu: SeqNumber,
    first_time: i128,
}

impl MspHead {
    /// The pending PDU after the subdissector consumed `doff` bytes of the reassembled
    /// `data` and asked for more: all of it again when it consumed nothing (or the cut
    /// lies before this segment), else the tail from `doff`, which starts now.
    #[inline]
    fn pending_after(self, data: &mut Vec<u8>, doff: usize, seq: SeqNumber, now: i128) -> Msp {
        if doff == 0 || self.seq.wrapping_add(doff as u32).le(seq) {
            let contiguous = data.len();
            let mut m = Msp::new(self.seq, self.next_pdu, &[]);
            m.data = std::mem::take(data);
            m.contiguous = contiguous;
            m.first_time = self.first_time;
            m
        } else {
            let new_seq = self.seq.wrapping_add(doff as u32);
            let mut m = Msp::new(new_seq, new_seq.wrapping_add(1), &data[doff..]);
            m.first_time = now;
            m
        }
    }
}

impl Msp {
    /// Sets where a kept-pending PDU ends for what the subdissector needs (`n`), given
    /// the segment at `seq` with `payload_len` bytes of which `len` went into the PDU.
    /// Returns whether the PDU now runs until the FIN.
    #[inline]
    fn extend_for(
        &mut self,
        n: Need,
        seq: SeqNumber,
        payload_len: usize,
        len: usize,
        fin_ends_pdus: bool,
    ) -> bool {
        match n {
            Need::OneMoreSegment => {
                let reach = seq.wrapping_add(payload_len as u32);
                let base = if reach.gt(self.next_pdu) {
                    reach
                } else {
                    self.next_pdu
                };
                self.next_pdu = base.wrapping_add(1);
                self.entire_segment = true;
                false
            }
            Need::UntilFin => {
                self.next_pdu = self.seq.wrapping_add(0x4000_0000);
                true
            }
            Need::Bytes(bytes) => {
                if seq.wrapping_add(len as u32).ge(self.next_pdu) {
                    self.next_pdu = seq.wrapping_add(len as u32).wrapping_add(bytes);
                } else {
                    self.next_pdu = self.next_pdu.wrapping_add(bytes);
                }
                self.expect_whole(fin_ends_pdus);
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that replace others inside a pending head (an overlapping segment that
    /// says something else) make the next read start afresh, not from what the head said
    /// before.
    #[test]
    fn other_bytes_over_a_read_head_are_read_afresh() {
        let first = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nab";
        let mut msp = Msp::new(SeqNumber(0), SeqNumber(first.len() as u32), first);
        let read = |msp: &mut Msp, hint: Option<&mut HeadHint>| {
            let mut fresh = HeadHint::default();
            let hint = hint.unwrap_or(&mut fresh);
            http::dissect_stream(
                &msp.data.clone(),
                &mut HttpConv::default(),
                true,
                false,
                hint,
            )
        };
        let mut hint = std::mem::take(&mut msp.hint);
        assert!(
            read(&mut msp, Some(&mut hint)).need.is_some(),
            "7 body bytes to come"
        );
        msp.hint = hint;
        // The same bytes again: what was read still holds.
        let again = first[20..].to_vec();
        assert!(msp.insert(SeqNumber(20), &again));
        // Content-Length 3 where it said 9: the message is now whole.
        let at = first.iter().position(|&b| b == b'9').unwrap();
        assert!(msp.insert(SeqNumber(at as u32), b"3\r\n\r\nabc"));
        let mut hint = std::mem::take(&mut msp.hint);
        let kept = read(&mut msp, Some(&mut hint));
        assert_eq!(kept, read(&mut msp, None));
        assert_eq!(kept.need, None);
    }

    #[test]
    fn a_byte_far_ahead_does_not_grow_the_buffer() {
        let mut msp = Msp::new(
            SeqNumber(1000),
            SeqNumber(1000 + 4_000_000),
            b"POST / HTTP/1.1\r\n",
        );
        assert!(
            !msp.insert(SeqNumber(1000 + 3_999_999), b"x"),
            "refused, not a 4 MB zero fill"
        );
        assert!(msp.data.len() < 1024);
    }

    #[test]
    fn a_pdu_longer_than_the_cap_keeps_no_bytes_and_is_given_up_at_it() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5242880\r\n\r\n";
        let total = head.len() as u32 + 5_242_880;
        let mut msp = Msp::new(SeqNumber(0), SeqNumber(total), head);
        msp.expect_whole(false);
        let segment = [7u8; 1448];
        let mut seq = head.len() as u32;
        while msp.insert(SeqNumber(seq), &segment) {
            assert!(msp.data.is_empty() && msp.whole());
            seq += segment.len() as u32;
        }
        assert!(
            seq as usize + segment.len() > MAX_PDU_BYTES,
            "given up at the cap only"
        );
        // Where a FIN may end the PDU early, its bytes may be read: they are kept.
        let mut msp = Msp::new(SeqNumber(0), SeqNumber(total), head);
        msp.expect_whole(true);
        assert!(msp.insert(SeqNumber(head.len() as u32), &segment));
        assert_eq!(msp.data.len(), head.len() + segment.len());
    }

    #[test]
    fn a_known_length_past_the_first_reservation_is_reserved_once() {
        let total = 3 * 1024 * 1024;
        let mut msp = Msp::new(SeqNumber(0), SeqNumber(total as u32), &[1; 1000]);
        msp.expect_whole(false);
        let segment = [2u8; 1448];
        let mut seq = 1000u32;
        let mut capacities = vec![msp.data.capacity()];
        while (seq as usize) < total {
            let n = segment.len().min(total - seq as usize);
            assert!(msp.insert(SeqNumber(seq), &segment[..n]));
            seq += n as u32;
            if capacities.last() != Some(&msp.data.capacity()) {
                capacities.push(msp.data.capacity());
            }
        }
        assert!(msp.whole() && msp.data.len() == total);
        assert_eq!(
            capacities,
            [FIRST_PDU_LIMIT as usize, total],
            "one reallocation"
        );
    }

    #[test]
    fn the_segment_filling_the_last_hole_completes_the_pdu() {
        let mut msp = Msp::new(SeqNumber(0), SeqNumber(30), b"0123456789");
        assert!(msp.insert(SeqNumber(20), b"abcdefghij"));
        assert!(!msp.whole());
        assert!(msp.insert(SeqNumber(10), b"ABCDEFGHIJ"));
        assert!(msp.whole());
        assert_eq!(msp.data, b"0123456789ABCDEFGHIJabcdefghij");
    }

    #[test]
    fn a_run_after_a_lost_segment_is_one_island() {
        let mut msp = Msp::new(SeqNumber(0), SeqNumber(1_000_000), &[0; 100]);
        for i in 0..500u32 {
            assert!(
                msp.insert(SeqNumber(200 + i * 100), &[1; 100]),
                "segment {i}"
            );
        }
        assert_eq!(msp.islands.len(), 1);
    }
}
