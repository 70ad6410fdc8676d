//! TCP connection tracking: stream numbers, relative sequence numbers and window scaling,
//! computed the way Wireshark's TCP dissector does so that `stream`, `seq`, `ack` and `win`
//! equal tshark's `tcp.stream`, `tcp.seq`, `tcp.ack` and `tcp.window_size`.
//!
//! Read, at least: RFC 9293 §3.4 (sequence numbers), RFC 7323 §2 (window scale).
//!
//! Wireshark's rules, restated:
//! - A conversation is the unordered pair of (address, port) endpoints; VLAN tags are ignored.
//! - A pure SYN whose sequence number differs from the base of its side starts a new
//!   stream on the same ports ("port reuse"); a SYN-ACK with a new sequence number only
//!   rebases its side. Nothing else (FIN, RST, time) ends a stream.
//! - The base (relative zero) of a side is its SYN's sequence number; when the first segment
//!   seen from a side is not a SYN, the base is its sequence number minus one. The first
//!   ACK seen from a side also fixes the other side's base to `ack - 1` if it is not known.
//! - A WS option sets its sender's shift; a SYN without one turns scaling off for both
//!   sides, and a SYN-ACK turns it off for itself if the SYN had none. Windows of SYN
//!   segments are never scaled; with no SYN seen they are shown unscaled.

use std::collections::hash_map::Entry;
use std::collections::HashMap;

use crate::conn::analysis::{self, Analysis, ConnTiming, Flags, Segment};
use crate::conn::attempt::Attempt;
use crate::conn::expiry::{Key, Queued, Queues, Quiet, Timeouts};
use crate::conn::flow::{Endpoint, Flow};
use crate::conn::forgotten::{self, Ask, Memory, Record, Taken};
use crate::conn::lifecycle::{
    client_of_first_packet, Lifecycle, Role, SegmentEvent, Side, TcpState, Transition,
};
use crate::conn::summary::{completeness, ConnSummary};
use crate::conn::window::WindowScale;
use crate::conn::zeek::{ZeekConn, ZeekSegment};
use crate::wire::seq::SeqNumber;
use crate::wire::tcp::{self, TcpFlags};
use crate::wire::tunnel::Tunnels;

/// One TCP connection (one `tcp.stream`).
#[derive(Debug, Clone)]
pub struct Conn {
    /// Stream index, numbered in order of first appearance from 0.
    pub stream: u64,
    /// The endpoint that sent the first packet seen ("A").
    pub first: Endpoint,
    /// The other endpoint.
    pub second: Endpoint,
    /// Direction from `first` to `second`.
    pub forward: Flow,
    /// Direction from `second` to `first`.
    pub reverse: Flow,
    /// Handshake timing for the out-of-order heuristic.
    timing: ConnTiming,
    /// Whether `first` is the client.
    pub first_is_client: bool,
    /// Roles and endpoint states.
    pub lifecycle: Lifecycle,
    /// Counters and Zeek-style state for the flows table.
    pub summary: ConnSummary,
    /// Whether this stream reused the ports of an earlier one.
    pub reused_ports: bool,
    /// The tunnels its first segment came through.
    pub tunnel: Tunnels,
    /// Whether a segment other than a SYN from `first` has been seen (else the
    /// connection is an attempt, under the attempt timeout).
    past_syn: bool,
    /// The expiry queues holding an entry for it ([`Quiet::bit`]s).
    queued: u8,
}

impl Conn {
    fn new(
        stream: u64,
        first: Endpoint,
        second: Endpoint,
        seg: &SegmentInput<'_>,
        reused: bool,
        zeek: bool,
    ) -> Conn {
        let opening = client_of_first_packet(seg.flags, first.port, second.port);
        Conn {
            stream,
            first,
            second,
            forward: Flow::default(),
            reverse: Flow::default(),
            timing: ConnTiming::default(),
            first_is_client: opening.sender == Side::Client,
            lifecycle: Lifecycle::new(opening.midstream),
            summary: ConnSummary::new(seg.time_ns, seg.flags, first.port, second.port, zeek),
            reused_ports: reused,
            tunnel: seg.tunnel,
            past_syn: !is_pure_syn(seg.flags),
            queued: 0,
        }
    }

    /// The connection a forgotten `record` describes, recalled by `seg` on `key`: its
    /// stream, endpoints, relative zeros, window scales and completeness as they were;
    /// everything else starts again.
    fn recalled(record: &Record, key: Key, seg: &SegmentInput<'_>, zeek: bool) -> Conn {
        let (first, second, first_side) = if record.first_is_low() {
            (key.0, key.1, 0)
        } else {
            (key.1, key.0, 1)
        };
        let mut conn = Conn::new(record.stream(), first, second, seg, false, zeek);
        let opening = client_of_first_packet(seg.flags, seg.src.port, seg.dst.port);
        conn.first_is_client = (opening.sender == Side::Client) == (seg.src == first);
        for (flow, i) in [
            (&mut conn.forward, first_side),
            (&mut conn.reverse, 1 - first_side),
        ] {
            let side = record.side(i);
            flow.base_seq = side.base_seq;
            flow.win_scale = side.win_scale;
        }
        conn.summary.completeness = record.completeness;
        conn.past_syn = true;
        conn
    }

    /// The connection an attempt stands for: its one segment fed to a new connection,
    /// as it was when it arrived.
    fn from_attempt(attempt: &Attempt, key: &Key, zeek: bool) -> Conn {
        let (src, dst) = attempt.endpoints(key);
        let (options, len) = attempt.options();
        let seg = SegmentInput {
            src,
            dst,
            seq: attempt.seq,
            ack: attempt.ack,
            flags: attempt.flags(),
            window: attempt.window,
            len: 0,
            options: &options[..len],
            time_ns: attempt.time_ns,
            frame: attempt.frame,
            tunnel: attempt.tunnel,
        };
        let mut conn = Conn::new(attempt.stream, src, dst, &seg, false, zeek);
        apply(&mut conn, &seg, true, false, false);
        conn.queued = Quiet::Attempt.bit();
        conn
    }

    /// Which timeout the connection is under.
    #[inline]
    pub fn quiet_kind(&self) -> Quiet {
        if self.is_closed() {
            Quiet::Closed
        } else if self.past_syn {
            Quiet::Idle
        } else {
            Quiet::Attempt
        }
    }

    /// The entry to queue the connection with, if it has none in its kind's queue yet
    /// (it is then marked as having one).
    #[inline]
    fn queue_entry(&mut self, key: Key) -> Option<(Quiet, Queued)> {
        let kind = self.quiet_kind();
        if self.queued & kind.bit() != 0 {
            return None;
        }
        self.queued |= kind.bit();
        let entry = Queued {
            key,
            stream: self.stream,
            since: self.summary.last_time,
        };
        Some((kind, entry))
    }

    /// What is kept once it is forgotten (nothing past stream `u32::MAX`).
    fn record(&self, key: &Key) -> Option<Record> {
        let first_is_low = self.first == key.0;
        let side = |flow: &Flow| forgotten::Side {
            base_seq: flow.base_seq,
            win_scale: flow.win_scale,
        };
        let (low, high) = if first_is_low {
            (&self.forward, &self.reverse)
        } else {
            (&self.reverse, &self.forward)
        };
        Record::new(
            self.stream,
            first_is_low,
            [side(low), side(high)],
            self.summary.completeness,
        )
    }

    /// The client endpoint.
    pub fn client(&self) -> Endpoint {
        if self.first_is_client {
            self.first
        } else {
            self.second
        }
    }

    /// The server endpoint.
    pub fn server(&self) -> Endpoint {
        if self.first_is_client {
            self.second
        } else {
            self.first
        }
    }

    /// Whether both sides are done: closed, in TIME_WAIT, or reset.
    pub fn is_closed(&self) -> bool {
        let done = |s: TcpState| matches!(s, TcpState::Closed | TcpState::TimeWait);
        (done(self.lifecycle.state(Side::Client)) && done(self.lifecycle.state(Side::Server)))
            || self.summary.first_rst.is_some()
    }
}

/// What the tracker says about one segment.
#[derive(Debug, Clone, Copy)]
pub struct SegmentResult {
    /// Stream index.
    pub stream: u64,
    /// Relative sequence number.
    pub seq: u32,
    /// Relative acknowledgment number (0 when the ACK flag is clear).
    pub ack: u32,
    /// Window after scaling.
    pub window: u32,
    /// True if the segment travels from the conversation's first endpoint.
    pub from_first: bool,
    /// Base of the acknowledged direction, to make SACK edges relative.
    pub ack_base: Option<u32>,
    /// Sequence-analysis findings.
    pub analysis: Analysis,
    /// True if the client sent the segment.
    pub from_client: bool,
    /// Role and endpoint states after the segment.
    pub transition: Transition,
    /// `tcp.completeness` as single-pass tshark shows it on this frame (the value before
    /// the frame); the final value is in the connection summary.
    pub completeness_before: u8,
}

/// The parts of a TCP segment the tracker needs.
#[derive(Debug, Clone, Copy)]
pub struct SegmentInput<'a> {
    /// Source endpoint.
    pub src: Endpoint,
    /// Destination endpoint.
    pub dst: Endpoint,
    /// Raw sequence number.
    pub seq: u32,
    /// Raw acknowledgment number.
    pub ack: u32,
    /// Flag bits.
    pub flags: TcpFlags,
    /// Raw window.
    pub window: u16,
    /// TCP payload length (from the IP header).
    pub len: u32,
    /// Option bytes.
    pub options: &'a [u8],
    /// Capture time in nanoseconds since the epoch (for retransmission timing).
    pub time_ns: i128,
    /// Frame number.
    pub frame: u64,
    /// The tunnels the segment came through (a connection keeps its first segment's).
    pub tunnel: Tunnels,
}

/// What a segment on a key with no live connection found of a forgotten one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recall {
    /// No record: a new connection.
    Nothing,
    /// A record, and the segment is a pure SYN with a new ISN: a new stream (port reuse).
    Reused,
    /// The connection is back, live again.
    Back,
}

#[inline]
fn is_pure_syn(flags: TcpFlags) -> bool {
    flags & (TcpFlags::SYN | TcpFlags::ACK) == TcpFlags::SYN
}

fn conversation_key(a: Endpoint, b: Endpoint) -> (Endpoint, Endpoint) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Tracks every TCP conversation of a capture.
#[derive(Debug)]
pub struct Tracker {
    /// aHash: fast, and keyed per process so that a crafted capture cannot force collisions.
    /// Connections are boxed: a hash table keeps up to twice as many buckets as entries
    /// (more after churn leaves tombstones), and an inline `Conn` would make each spare
    /// bucket cost its full size.
    conns: HashMap<Key, Slot, ahash::RandomState>,
    /// How many slots hold an [`Attempt`].
    attempts: usize,
    next_stream: u64,
    /// Connections displaced by port reuse, waiting to be collected.
    replaced: Vec<Ended>,
    /// See [`Tracker::set_time_floor`].
    time_floor: i128,
    timeouts: Timeouts,
    queues: Queues,
    /// Records of forgotten connections (see [`forgotten::Memory`]).
    forgotten: Memory,
    /// Keys forgotten records are filed under (random per process, like the map's).
    hasher: ahash::RandomState,
    /// Bytes of connection state past which the oldest are forgotten: live connections
    /// may take three quarters of it, records of forgotten ones the rest.
    max_bytes: usize,
    /// Connections forgotten early, and records dropped, for the memory budget.
    shed: Shed,
    /// Whether connections keep Zeek's state (see [`Tracker::leave_out_zeek`]).
    zeek: bool,
}

/// A connection as the tracker holds it: whole, or as its one SYN.
#[derive(Debug)]
enum Slot {
    Conn(Box<Conn>),
    Attempt(Box<Attempt>),
}

impl Slot {
    fn quiet_kind(&self) -> Quiet {
        match self {
            Slot::Conn(conn) => conn.quiet_kind(),
            Slot::Attempt(_) => Quiet::Attempt,
        }
    }

    fn stream(&self) -> u64 {
        match self {
            Slot::Conn(conn) => conn.stream,
            Slot::Attempt(attempt) => attempt.stream,
        }
    }

    fn last_time(&self) -> i128 {
        match self {
            Slot::Conn(conn) => conn.summary.last_time,
            Slot::Attempt(attempt) => attempt.time_ns,
        }
    }

    /// Its `tcp.completeness` so far. An attempt's one segment is a pure SYN that made
    /// the connection, which sets `SYN_SENT` alone (what [`Conn::from_attempt`] would
    /// compute, without building the connection).
    fn completeness(&self) -> u8 {
        match self {
            Slot::Conn(conn) => conn.summary.completeness,
            Slot::Attempt(_) => completeness::SYN_SENT,
        }
    }

    /// The connection, made whole in place if it was an attempt (one fewer then).
    fn whole(&mut self, key: &Key, attempts: &mut usize, zeek: bool) -> &mut Conn {
        if let Slot::Attempt(attempt) = self {
            *attempts -= 1;
            let conn = Conn::from_attempt(attempt, key, zeek);
            *self = Slot::Conn(Box::new(conn));
        }
        match self {
            Slot::Conn(conn) => conn,
            Slot::Attempt(_) => self.whole(key, attempts, zeek),
        }
    }

    /// The whole connection (an attempt's rebuilt from its segment).
    fn into_conn(self, key: &Key, zeek: bool) -> Conn {
        match self {
            Slot::Conn(conn) => *conn,
            Slot::Attempt(attempt) => Conn::from_attempt(&attempt, key, zeek),
        }
    }

    /// What it leaves once forgotten. An attempt's record is read off its one SYN, as
    /// [`Conn::from_attempt`]'s connection would give it, without making that connection
    /// (a kilobyte, for every SYN of a flood).
    fn record(&self, key: &Key) -> Option<Record> {
        let attempt = match self {
            Slot::Conn(conn) => return conn.record(key),
            Slot::Attempt(attempt) => attempt,
        };
        // The SYN's side: its ISN, and its window scale or none used (`learn_bases`,
        // `learn_window_scale`); the other side has sent nothing, and is not known to
        // use none until its SYN-ACK says so.
        let (sender_scale, other_scale) = match attempt.window_scale() {
            Some(shift) => (WindowScale::Shift(shift.min(14)), WindowScale::Unknown),
            None => (WindowScale::NotUsed, WindowScale::NotUsed),
        };
        let sender = forgotten::Side {
            base_seq: Some(SeqNumber(attempt.seq)),
            win_scale: sender_scale,
        };
        let other = forgotten::Side {
            base_seq: None,
            win_scale: other_scale,
        };
        let sides = if attempt.from_low {
            [sender, other]
        } else {
            [other, sender]
        };
        Record::new(attempt.stream, attempt.from_low, sides, self.completeness())
    }
}

/// A connection the tracker forgot (expired, shed, or displaced by port reuse), as it was
/// held: made a whole [`Conn`] only when one is wanted, for a table of connections. A
/// pass that writes none needs its stream and completeness only, and an attempt's
/// connection, built and dropped unread for every SYN of a flood, was a seventh of such a
/// pass's time (perf).
#[derive(Debug)]
pub struct Ended {
    key: Key,
    slot: Slot,
    zeek: bool,
}

impl Ended {
    /// Its `tcp.stream`.
    #[inline]
    pub fn stream(&self) -> u64 {
        self.slot.stream()
    }

    /// Its final `tcp.completeness`.
    #[inline]
    pub fn completeness(&self) -> u8 {
        self.slot.completeness()
    }

    /// The connection, if it was held whole (not as its one SYN).
    pub fn whole(&self) -> Option<&Conn> {
        match &self.slot {
            Slot::Conn(conn) => Some(conn),
            Slot::Attempt(_) => None,
        }
    }

    /// The connection.
    pub fn into_conn(self) -> Conn {
        self.slot.into_conn(&self.key, self.zeek)
    }
}

/// The attempt `seg`, a pure SYN that made stream `stream` on `key`, leaves.
fn attempt_of(seg: &SegmentInput<'_>, key: &Key, stream: u64) -> Attempt {
    let window_scale = tcp::Options::new(seg.options)
        .filter_map(|option| match option {
            tcp::TcpOption::WindowScale(s) => Some(s),
            _ => None,
        })
        .last();
    Attempt::new(
        stream,
        key.0 == seg.src,
        (seg.seq, seg.ack, seg.flags, seg.window),
        window_scale,
        seg.time_ns,
        seg.frame,
        seg.tunnel,
    )
}

/// What the memory budget cost (see [`Tracker::shed`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shed {
    /// Connections forgotten before their timeout.
    pub connections: u64,
    /// Records of forgotten connections dropped (their tuples, back, start new streams).
    pub records: u64,
}

/// The default memory budget of a tracker: 1 GiB.
pub const DEFAULT_MAX_BYTES: usize = 1 << 30;

/// Bytes a connection costs besides its own: its slot in the map (with the table's
/// spare buckets), one expiry entry and the allocator's overhead.
const SLOT_COST: usize =
    std::mem::size_of::<(Key, Slot)>() * 8 / 7 + 1 + std::mem::size_of::<Queued>() + 16;

/// Bytes a connection's Zeek state costs (boxed): the state and its allocation.
const ZEEK_COST: usize = std::mem::size_of::<ZeekConn>() + 16;

/// Bytes one live connection costs, all told, counted with its Zeek state whether the
/// tracker keeps it or not (see [`Tracker::leave_out_zeek`]).
pub const CONN_COST: usize = std::mem::size_of::<Conn>() + SLOT_COST + ZEEK_COST;

/// Bytes one connection that has seen only a SYN costs, all told.
pub const ATTEMPT_COST: usize = std::mem::size_of::<Attempt>() + SLOT_COST;

impl Default for Tracker {
    fn default() -> Self {
        Tracker::with_limits(Timeouts::default(), DEFAULT_MAX_BYTES)
    }
}

impl Tracker {
    /// A tracker with no connections.
    pub fn new() -> Self {
        Self::default()
    }

    /// A tracker that forgets connections after `timeouts`, and the oldest ones first
    /// once their state would take more than `max_bytes`.
    pub fn with_limits(timeouts: Timeouts, max_bytes: usize) -> Self {
        Tracker {
            conns: HashMap::default(),
            attempts: 0,
            next_stream: 0,
            replaced: Vec::new(),
            time_floor: 0,
            timeouts,
            queues: Queues::default(),
            forgotten: Memory::default(),
            hasher: ahash::RandomState::new(),
            max_bytes,
            shed: Shed::default(),
            zeek: true,
        }
    }

    /// Connections from now on keep no Zeek state (endpoint states, history): for a
    /// pass that hands out no connection records, the only readers of it. It was a third
    /// of each connection's memory and a tenth of its work per segment. A record made of
    /// such a connection has no `conn_state` and an empty history. The memory budget
    /// counts a connection as if it kept it, so that two passes of a pair, one with it
    /// and one without, forget the same connections at the same frames.
    pub fn leave_out_zeek(&mut self) {
        self.zeek = false;
    }

    /// Makes this the tracker of a first pass: it lists the records of forgotten
    /// connections it takes back, for [`Tracker::take_taken`].
    pub(crate) fn list_taken(&mut self) {
        if let Memory::Here { taken, .. } = &mut self.forgotten {
            *taken = Some(Vec::new());
        }
    }

    /// Makes this the tracker of a second pass: it keeps no records of forgotten
    /// connections, and `ask`s its first pass for the one taken back at a frame.
    pub(crate) fn follow(&mut self, ask: Ask) {
        self.forgotten = Memory::FirstPass { ask, at_most: 0 };
    }

    /// The records a first pass's tracker took back since the last call.
    pub(crate) fn take_taken(&mut self) -> Vec<Taken> {
        self.forgotten.take_taken()
    }

    /// Whether records were taken back since the last [`Tracker::take_taken`].
    #[inline]
    pub(crate) fn has_taken(&self) -> bool {
        self.forgotten.has_taken()
    }

    /// What the memory budget has cost so far.
    pub fn shed(&self) -> Shed {
        self.shed
    }

    /// Records of forgotten connections kept.
    pub fn forgotten_records(&self) -> usize {
        self.forgotten.len()
    }

    /// Expiry-queue entries looked at so far (the tests bound it by the frames seen).
    pub fn expiry_visits(&self) -> u64 {
        self.queues.visited
    }

    /// Bytes of connection state held, as the budget counts them.
    pub fn state_bytes(&self) -> usize {
        self.live_bytes() + self.forgotten.bytes()
    }

    /// Bytes of live connections, as the budget counts them: the same in both passes of
    /// a pair (a second pass keeps no records), so that they shed the same connections.
    fn live_bytes(&self) -> usize {
        (self.conns.len() - self.attempts) * CONN_COST + self.attempts * ATTEMPT_COST
    }

    /// The share of the budget live connections may take.
    fn live_budget(&self) -> usize {
        self.max_bytes - self.max_bytes / 4
    }

    /// Number of conversations currently held.
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Looks up the connection a result refers to (none for a connection that has seen
    /// only its SYN: it is kept as that segment).
    pub fn conn(&self, a: Endpoint, b: Endpoint) -> Option<&Conn> {
        match self.conns.get(&conversation_key(a, b))? {
            Slot::Conn(conn) => Some(conn),
            Slot::Attempt(_) => None,
        }
    }

    /// Feeds one segment and returns its stream, relative numbers and analysis.
    pub fn on_segment(&mut self, seg: &SegmentInput<'_>) -> SegmentResult {
        let key = conversation_key(seg.src, seg.dst);
        if !is_pure_syn(seg.flags) {
            // Most segments: a known conversation, and no SYN to test for port reuse. What
            // the general path below does for them, with one hash lookup instead of two.
            if let Some(slot) = self.conns.get_mut(&key) {
                let conn = slot.whole(&key, &mut self.attempts, self.zeek);
                let result = apply(conn, seg, false, false, false);
                queue_after_segment(&mut self.queues, conn, key);
                return result;
            }
        }
        // From here: a pure SYN (which may reuse the ports of a live connection), or a
        // segment of a conversation that has no live connection (new, or forgotten).
        let (reused, syn_retry) = if self.conns.contains_key(&key) {
            self.syn_on_known_ports(&key, seg)
        } else {
            match self.recall(key, seg) {
                Recall::Reused => (true, false),
                Recall::Back => self.syn_on_known_ports(&key, seg),
                Recall::Nothing => (false, false),
            }
        };
        if !reused && is_pure_syn(seg.flags) && seg.len == 0 {
            if let Entry::Vacant(vacant) = self.conns.entry(key) {
                let stream = self.next_stream;
                self.next_stream += 1;
                let mut conn = Conn::new(stream, seg.src, seg.dst, seg, false, self.zeek);
                let result = apply(&mut conn, seg, true, false, false);
                // One SYN and nothing else: kept as that segment (see `conn::attempt`).
                let kind = conn.quiet_kind();
                conn.queued = kind.bit();
                let slot = if kind == Quiet::Attempt {
                    self.attempts += 1;
                    Slot::Attempt(Box::new(attempt_of(seg, &key, stream)))
                } else {
                    Slot::Conn(Box::new(conn))
                };
                vacant.insert(slot);
                let since = seg.time_ns;
                self.queues.push(kind, Queued { key, stream, since });
                return result;
            }
        }
        let (conn, is_new, queues) = self.conn_for(key, seg, reused);
        let result = apply(conn, seg, is_new, reused, syn_retry);
        queue_after_segment(queues, conn, key);
        result
    }

    /// The stream of a segment whose TCP header is bogus (longer than its IP payload):
    /// like Wireshark, find or make its conversation, and change nothing else.
    pub fn stream_only(&mut self, seg: &SegmentInput<'_>) -> u64 {
        let key = conversation_key(seg.src, seg.dst);
        if !self.conns.contains_key(&key) {
            self.recall(key, seg);
        }
        let (conn, _, queues) = self.conn_for(key, seg, false);
        queue_after_segment(queues, conn, key);
        conn.stream
    }

    /// A segment on a key with no live connection whose connection was forgotten: the
    /// connection comes back (stream, relative zeros, scales, completeness), unless the
    /// segment is a pure SYN with a new ISN, which starts a new stream for port reuse as
    /// it would have on the live connection.
    fn recall(&mut self, key: Key, seg: &SegmentInput<'_>) -> Recall {
        let Some(record) = self.forgotten.take(&self.hasher, &key, seg.frame) else {
            return Recall::Nothing;
        };
        let side = record.side(usize::from(key.0 != seg.src));
        if is_pure_syn(seg.flags) && side.base_seq.is_some_and(|base| base.0 != seg.seq) {
            return Recall::Reused;
        }
        let conn = Conn::recalled(&record, key, seg, self.zeek);
        self.conns.insert(key, Slot::Conn(Box::new(conn)));
        Recall::Back
    }

    /// For a pure SYN on a known conversation: `(reused, syn_retry)`. A SYN with a new ISN
    /// on known ports starts a new stream (port reuse); the same ISN again is a SYN
    /// retransmission. Both are false for any other segment.
    #[inline]
    fn syn_on_known_ports(
        &self,
        key: &(Endpoint, Endpoint),
        seg: &SegmentInput<'_>,
    ) -> (bool, bool) {
        if !is_pure_syn(seg.flags) {
            return (false, false);
        }
        let base = match self.conns.get(key) {
            None => return (false, false),
            Some(Slot::Conn(conn)) if conn.first == seg.src => conn.forward.base_seq,
            Some(Slot::Conn(conn)) => conn.reverse.base_seq,
            // The SYN set its sender's base; the other side has none yet.
            Some(Slot::Attempt(attempt)) => {
                let sender = attempt.endpoints(key).0;
                (sender == seg.src).then_some(SeqNumber(attempt.seq))
            }
        };
        match base {
            Some(base) => {
                let reused = base.0 != seg.seq;
                (reused, !reused)
            }
            None => (false, false),
        }
    }

    /// The connection `seg` belongs to, and whether it was just created: a new
    /// conversation, or a new stream replacing a reused one (the old one waits in
    /// `replaced` to be collected). One hash lookup either way. The expiry queues come
    /// with it (a borrow apart from the connections'), to queue it after the segment.
    #[inline]
    fn conn_for(
        &mut self,
        key: (Endpoint, Endpoint),
        seg: &SegmentInput<'_>,
        reused: bool,
    ) -> (&mut Conn, bool, &mut Queues) {
        let queues = &mut self.queues;
        let attempts = &mut self.attempts;
        let zeek = self.zeek;
        match self.conns.entry(key) {
            Entry::Occupied(entry) if !reused => {
                (entry.into_mut().whole(&key, attempts, zeek), false, queues)
            }
            entry => {
                let conn = Box::new(Conn::new(
                    self.next_stream,
                    seg.src,
                    seg.dst,
                    seg,
                    reused,
                    zeek,
                ));
                self.next_stream += 1;
                let slot = match entry {
                    Entry::Occupied(mut e) => {
                        let old = e.insert(Slot::Conn(conn));
                        if matches!(old, Slot::Attempt(_)) {
                            *attempts -= 1;
                        }
                        self.replaced.push(Ended {
                            key,
                            slot: old,
                            zeek,
                        });
                        e.into_mut()
                    }
                    Entry::Vacant(e) => e.insert(Slot::Conn(conn)),
                };
                (slot.whole(&key, attempts, zeek), true, queues)
            }
        }
    }
}

/// Queues `conn` after a segment, under the kind it is now if it has no entry there
/// yet. A connection that just left the attempt kind (its SYN answered) takes its
/// attempt entry back if that is still near the queue's end: found there later, the
/// entry would cost a lookup of a connection long out of the cache, only to be dropped.
#[inline]
fn queue_after_segment(queues: &mut Queues, conn: &mut Conn, key: Key) {
    let attempt = Quiet::Attempt.bit();
    if conn.queued & attempt != 0
        && conn.quiet_kind() != Quiet::Attempt
        && queues.retract(Quiet::Attempt, &key, conn.stream)
    {
        conn.queued &= !attempt;
    }
    if let Some((kind, entry)) = conn.queue_entry(key) {
        queues.push(kind, entry);
    }
}

/// A SYN-ACK with a new ISN: Wireshark rebases its side, keeping the stream, and flags
/// the segment as reused ports. Returns whether it did.
#[inline]
fn rebase_on_new_syn_ack(fwd: &mut Flow, seg: &SegmentInput<'_>) -> bool {
    if !seg.flags.contains(TcpFlags::SYN | TcpFlags::ACK) {
        return false;
    }
    match fwd.base_seq {
        Some(base) if base.0 != seg.seq => {
            fwd.base_seq = Some(SeqNumber(seg.seq));
            true
        }
        _ => false,
    }
}

/// Window scale: any WS option sets the sender's shift; a SYN then checks that both sides
/// offered it (Wireshark's `verify_tcp_window_scaling`).
#[inline]
fn learn_window_scale(fwd: &mut Flow, rev: &mut Flow, seg: &SegmentInput<'_>) {
    for option in tcp::Options::new(seg.options) {
        if let tcp::TcpOption::WindowScale(s) = option {
            fwd.win_scale = WindowScale::Shift(s.min(14));
        }
    }
    if seg.flags.contains(TcpFlags::SYN) {
        let syn_ack = seg.flags.contains(TcpFlags::SYN | TcpFlags::ACK);
        if fwd.win_scale == WindowScale::Unknown {
            fwd.win_scale = WindowScale::NotUsed;
            rev.win_scale = WindowScale::NotUsed;
        } else if syn_ack && rev.win_scale == WindowScale::NotUsed {
            fwd.win_scale = WindowScale::NotUsed;
        }
    }
}

/// Relative zero of each side: a SYN's sequence number, else the first one seen minus
/// one; the first ACK also fixes the other side's base to `ack - 1` if it is unknown.
#[inline]
fn learn_bases(fwd: &mut Flow, rev: &mut Flow, seg: &SegmentInput<'_>) {
    if fwd.base_seq.is_none() {
        let syn = seg.flags.contains(TcpFlags::SYN);
        fwd.base_seq = Some(SeqNumber(if syn {
            seg.seq
        } else {
            seg.seq.wrapping_sub(1)
        }));
    }
    if seg.flags.contains(TcpFlags::ACK) && rev.base_seq.is_none() {
        rev.base_seq = Some(SeqNumber(seg.ack.wrapping_sub(1)));
    }
}

/// One segment on its connection: bases, window scale, analysis, lifecycle, summary.
/// `is_new` when the segment created the connection, `reused` when that was port reuse,
/// `syn_retry` for a SYN repeating its side's ISN.
fn apply(
    conn: &mut Conn,
    seg: &SegmentInput<'_>,
    is_new: bool,
    reused: bool,
    syn_retry: bool,
) -> SegmentResult {
    let from_first = conn.first == seg.src;
    let stream = conn.stream;
    let (fwd, rev) = if from_first {
        (&mut conn.forward, &mut conn.reverse)
    } else {
        (&mut conn.reverse, &mut conn.forward)
    };
    let mut analysis_flags = Flags::empty();
    if reused {
        analysis_flags.insert(Flags::REUSED_PORTS);
    }
    if rebase_on_new_syn_ack(fwd, seg) {
        analysis_flags.insert(Flags::REUSED_PORTS);
    }
    learn_window_scale(fwd, rev, seg);
    learn_bases(fwd, rev, seg);

    let segment = Segment {
        seq: SeqNumber(seg.seq),
        ack: SeqNumber(seg.ack),
        flags: seg.flags,
        len: seg.len,
        raw_window: seg.window,
        time_ns: seg.time_ns,
        frame: seg.frame,
    };
    let mut analysis = analysis::analyze(
        &mut fwd.analysis,
        &mut rev.analysis,
        rev.win_scale,
        &mut conn.timing,
        &segment,
        syn_retry,
    );
    analysis.flags.insert(analysis_flags);

    let window = match fwd.win_scale {
        WindowScale::Shift(s) if !seg.flags.contains(TcpFlags::SYN) => u32::from(seg.window) << s,
        _ => u32::from(seg.window),
    };
    let fwd_base = fwd.base_seq.unwrap_or_default();
    let rev_base = rev.base_seq;
    let rel_seq = seg.seq.wrapping_sub(fwd_base.0);
    // Without the ACK flag tshark shows the raw acknowledgment field.
    let rel_ack = match (seg.flags.contains(TcpFlags::ACK), rev_base) {
        (true, Some(base)) => seg.ack.wrapping_sub(base.0),
        _ => seg.ack,
    };
    let from_client = from_first == conn.first_is_client;
    let (transition, completeness_before) =
        conn.follow_segment(from_client, from_first, seg, is_new, reused, analysis.flags);
    conn.past_syn |= !(from_first && is_pure_syn(seg.flags));
    SegmentResult {
        stream,
        seq: rel_seq,
        ack: rel_ack,
        window,
        from_first,
        ack_base: rev_base.map(|b| b.0),
        analysis,
        from_client,
        transition,
        completeness_before,
    }
}

impl Conn {
    /// Feeds the segment to the lifecycle and the summary, after the analysis (whose
    /// flags the summary counts). Returns the transition and `tcp.completeness` as it
    /// was before this segment.
    #[inline]
    fn follow_segment(
        &mut self,
        from_client: bool,
        from_first: bool,
        seg: &SegmentInput<'_>,
        is_new: bool,
        reused: bool,
        analysis: Flags,
    ) -> (Transition, u8) {
        let side = if from_client {
            Side::Client
        } else {
            Side::Server
        };
        let transition = self.lifecycle.on_segment(&SegmentEvent {
            from: side,
            flags: seg.flags,
            seq: SeqNumber(seg.seq),
            ack: SeqNumber(seg.ack),
            len: seg.len,
        });
        let completeness_before = match (is_new, reused) {
            (true, true) => completeness::SYN_SENT,
            (true, false) => 0,
            (false, _) => self.summary.completeness,
        };
        self.summary.completeness =
            next_completeness(completeness_before, is_new && !reused, reused, seg);
        let zeek_segment = ZeekSegment {
            from_first,
            flags: seg.flags,
            seq: seg.seq,
            ack: seg.ack,
            len: seg.len,
            window: seg.window,
        };
        self.summary
            .on_segment(side, &zeek_segment, analysis, seg.time_ns);
        let handshake_ack = matches!(transition.role, Role::HandshakeAck | Role::HandshakeAckData);
        if handshake_ack && self.summary.ack_time.is_none() {
            self.summary.ack_time = Some(seg.time_ns);
        }
        (transition, completeness_before)
    }
}

/// Wireshark's `conversation_completeness` update for one segment.
pub(crate) fn next_completeness(
    before: u8,
    brand_new: bool,
    reused: bool,
    seg: &SegmentInput<'_>,
) -> u8 {
    let syn_ack = seg.flags & (TcpFlags::SYN | TcpFlags::ACK);
    let mut c = if brand_new {
        0
    } else if reused {
        completeness::SYN_SENT
    } else {
        before
    };
    if brand_new {
        if syn_ack == TcpFlags::SYN {
            c |= completeness::SYN_SENT;
            if seg.len > 0 {
                c |= completeness::DATA;
            }
        }
        return c;
    }
    if syn_ack == TcpFlags::SYN | TcpFlags::ACK {
        c |= completeness::SYN_ACK;
    }
    if syn_ack == TcpFlags::ACK {
        c |= if seg.len > 0 {
            completeness::DATA
        } else {
            completeness::ACK
        };
    }
    if seg.flags.contains(TcpFlags::FIN | TcpFlags::ACK) {
        c |= completeness::FIN;
    }
    if seg.flags.contains(TcpFlags::RST) {
        c |= completeness::RST;
    }
    c
}

impl Tracker {
    /// Connections last seen before `floor_ns` count as seen then: frames without a
    /// timestamp (pcapng Simple Packet Blocks) come before the capture's clock is known,
    /// and must not make their connections look idle since the epoch.
    pub fn set_time_floor(&mut self, floor_ns: i128) {
        self.time_floor = floor_ns;
        self.queues.forget_due();
    }

    /// Removes, in stream order, the connections whose timeout has expired
    /// as of capture time `now_ns` (see [`crate::conn::expiry`]), then, while the state
    /// held is over the memory budget, the oldest quiet ones. Each leaves a record that
    /// gives its 4-tuple back its stream should it return. Memory then follows the number
    /// of open connections, not the length of the capture, and the work is O(1) per
    /// frame, amortised: only queue heads that are due are looked at.
    ///
    /// `app_bytes` is what the layers above keep for the open connections (HTTP state):
    /// the budget counts it, and takes each connection forgotten for it to free its share.
    ///
    /// The connections are appended to `out` (a list the caller keeps, so that a frame
    /// that forgets one, as every frame of a SYN flood does, allocates no list for it).
    pub fn evict(&mut self, now_ns: i128, app_bytes: usize, out: &mut Vec<Ended>) {
        let before = out.len();
        if self
            .queues
            .may_be_due(now_ns, &self.timeouts, self.time_floor)
        {
            for kind in Quiet::ALL {
                let timeout = self.timeouts.of(kind);
                while let Some(entry) = self.queues.pop_due(kind, now_ns, timeout, self.time_floor)
                {
                    if let Some(conn) = self.settle(kind, entry, Some((now_ns, timeout))) {
                        out.push(conn);
                    }
                }
            }
        } else {
            debug_assert!(Quiet::ALL.into_iter().all(|kind| self
                .queues
                .peek_due(kind, now_ns, self.timeouts.of(kind), self.time_floor)
                .is_none()));
        }
        if self.live_bytes() + app_bytes > self.live_budget() {
            self.shed_to_budget(out, app_bytes);
        }
        if self.forgotten.bytes() > self.max_bytes / 4 {
            self.drop_records();
        }
        out[before..].sort_by_key(Ended::stream);
    }

    /// The memory budget's share for live connections: the oldest quiet ones are
    /// forgotten until their state is 1/16 under it (so that the next one shed is not a
    /// frame away).
    fn shed_to_budget(&mut self, out: &mut Vec<Ended>, mut app_bytes: usize) {
        let share = app_bytes / self.conns.len().max(1);
        let target = self.live_budget() - self.live_budget() / 16;
        while self.live_bytes() + app_bytes > target {
            let Some((kind, entry)) = self.queues.pop_oldest() else {
                break;
            };
            if let Some(conn) = self.settle(kind, entry, None) {
                self.shed.connections += 1;
                app_bytes = app_bytes.saturating_sub(share);
                out.push(conn);
            }
        }
    }

    /// Records beyond a quarter of the budget: the earliest streams' go (in a first
    /// pass, its second pass then finds none either).
    fn drop_records(&mut self) {
        let quarter = self.max_bytes / 4;
        let Some(table) = self.forgotten.table() else {
            return;
        };
        while table.bytes() > quarter {
            match table.drop_oldest() {
                0 => break,
                dropped => self.shed.records += dropped,
            }
        }
    }

    /// A queue entry of `kind` taken off its queue: its connection is forgotten if it
    /// expired (`due` is `(now, timeout)`; `None` forgets it regardless), queued again if
    /// it was seen since, or left alone if it is gone or now of another kind.
    fn settle(&mut self, kind: Quiet, entry: Queued, due: Option<(i128, i128)>) -> Option<Ended> {
        // One lookup: the entry is kept, queued again, or removed through it.
        let Entry::Occupied(mut occupied) = self.conns.entry(entry.key) else {
            return None;
        };
        let slot = occupied.get_mut();
        if slot.stream() != entry.stream {
            return None;
        }
        let floor = self.time_floor;
        let expired =
            due.is_none_or(|(now_ns, timeout)| now_ns - slot.last_time().max(floor) > timeout);
        let current = slot.quiet_kind();
        if let Slot::Conn(conn) = slot {
            conn.queued &= !kind.bit();
            if current != kind || !expired {
                if let Some((kind, entry)) = conn.queue_entry(entry.key) {
                    self.queues.push(kind, entry);
                }
                return None;
            }
        } else if !expired {
            let since = slot.last_time();
            self.queues.push(Quiet::Attempt, Queued { since, ..entry });
            return None;
        }
        let slot = occupied.remove();
        if matches!(slot, Slot::Attempt(_)) {
            self.attempts -= 1;
        }
        self.forgotten
            .keep(&self.hasher, &entry.key, slot.record(&entry.key));
        Some(Ended {
            key: entry.key,
            slot,
            zeek: self.zeek,
        })
    }

    /// Takes the connections that port reuse displaced since the last call.
    pub fn take_replaced(&mut self) -> Vec<Ended> {
        std::mem::take(&mut self.replaced)
    }

    /// Calls `each` with the stream and `tcp.completeness` of every connection held, in
    /// no particular order, changing nothing (the end of a first pass: its facts are
    /// published before its state is freed, so that the second pass need not wait for
    /// that).
    pub fn each_completeness(&self, mut each: impl FnMut(u64, u8)) {
        for slot in self.conns.values() {
            each(slot.stream(), slot.completeness());
        }
    }

    /// Removes every connection, handing each to `each` in stream order (end of
    /// capture), one at a time: only their order (a stream and a key each) is listed,
    /// never the connections themselves, which a connection kept small until now (an
    /// attempt) would multiply by four.
    pub fn drain_in_order(&mut self, mut each: impl FnMut(Conn)) {
        self.queues.clear();
        self.forgotten.clear();
        let mut order: Vec<(u64, Key)> = self.conns.iter().map(|(k, s)| (s.stream(), *k)).collect();
        order.sort_unstable_by_key(|&(stream, _)| stream);
        for (_, key) in order {
            if let Some(slot) = self.conns.remove(&key) {
                if matches!(slot, Slot::Attempt(_)) {
                    self.attempts -= 1;
                }
                each(slot.into_conn(&key, self.zeek));
            }
        }
        self.conns = HashMap::default();
    }

    /// Removes and returns every connection, in stream order (end of capture).
    pub fn drain(&mut self) -> Vec<Conn> {
        let zeek = self.zeek;
        self.queues.clear();
        self.forgotten.clear();
        self.attempts = 0;
        let mut out: Vec<Conn> = self
            .conns
            .drain()
            .map(|(key, slot)| slot.into_conn(&key, zeek))
            .collect();
        out.sort_by_key(|c| c.stream);
        out
    }
}

#[cfg(test)]
mod sizes {
    use super::*;
    use std::mem::size_of;

    /// Issue #19's budget: at most 512 bytes for a connection that has seen only a SYN,
    /// 1 KiB for an established one with nothing buffered, all told (the table's slot
    /// and spare buckets, the expiry entry, the allocator's overhead). Pinned so that a
    /// field added to `Conn` is a decision.
    #[test]
    fn a_connection_costs_what_the_readme_says() {
        assert_eq!(size_of::<Attempt>(), 64);
        assert_eq!(size_of::<Conn>(), 560);
        assert_eq!(size_of::<Record>(), 16);
        assert_eq!(ATTEMPT_COST, 209);
        assert_eq!(CONN_COST, 1001);
        const { assert!(ATTEMPT_COST <= 512 && CONN_COST <= 1024) };
        assert_eq!(forgotten::RECORD_COST, 28);
    }
}

#[cfg(test)]
mod end_of_first_pass {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn syn(port: u16, frame: u64) -> SegmentInput<'static> {
        let at = |port| Endpoint {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
        };
        SegmentInput {
            src: at(port),
            dst: at(80),
            seq: 1000,
            ack: 0,
            flags: TcpFlags::SYN,
            window: 64240,
            len: 0,
            options: &[3, 3, 7],
            time_ns: 0,
            frame,
            tunnel: Tunnels::default(),
        }
    }

    /// What a first pass publishes from a connection kept as its SYN equals what the
    /// connection rebuilt from it would say.
    #[test]
    fn an_attempt_has_the_completeness_of_its_rebuilt_connection() {
        let mut tracker = Tracker::new();
        tracker.on_segment(&syn(1000, 1));
        let mut seen = Vec::new();
        tracker.each_completeness(|stream, value| seen.push((stream, value)));
        let rebuilt: Vec<(u64, u8)> = tracker
            .drain()
            .iter()
            .map(|c| (c.stream, c.summary.completeness))
            .collect();
        assert_eq!(seen, [(0, completeness::SYN_SENT)]);
        assert_eq!(seen, rebuilt);
    }
}

#[cfg(test)]
mod attempt_records {
    use super::*;
    use proptest::prelude::*;
    use std::net::{IpAddr, Ipv4Addr};

    proptest! {
        /// A forgotten attempt leaves, read off its SYN, the record the connection
        /// `Conn::from_attempt` makes of it would leave.
        #[test]
        fn an_attempt_records_what_its_connection_would(
            stream in 0u64..(1 << 33),
            from_low in any::<bool>(),
            seq in any::<u32>(),
            ack in any::<u32>(),
            window in any::<u16>(),
            scale in proptest::option::of(any::<u8>()),
            ports in (1u16.., 1u16..),
        ) {
            let at = |port| Endpoint { addr: IpAddr::V4(Ipv4Addr::LOCALHOST), port };
            let key = conversation_key(at(ports.0), at(ports.1));
            let attempt = Attempt::new(
                stream,
                from_low,
                (seq, ack, TcpFlags::SYN, window),
                scale,
                1_000,
                7,
                Tunnels::default(),
            );
            let whole = Conn::from_attempt(&attempt, &key, false).record(&key);
            prop_assert_eq!(Slot::Attempt(Box::new(attempt)).record(&key), whole);
        }
    }
}
