//! TCP connection tracking: stream numbers, relative sequence numbers and window scaling,
//! computed the way Wireshark's TCP dissector does so that `stream`, `seq`, `ack` and `win`
//! equal tshark's `tcp.stream`, `tcp.seq`, `tcp.ack` and `tcp.window_size`.
//!
//! Read, at least: RFC 9293 §3.4 (sequence numbers), RFC 7323 §2 (window scale).
//!
//! Wireshark's rules, restated:
//! - A conversation is the unordered pair of (address, port) endpoints; VLAN tags are ignored.
//! - A SYN whose sequence number differs from the base of the conversation's sender side,
//!   or a SYN-ACK that acknowledges a different ISN and carries a different sequence
//!   number, starts a new stream on the same ports ("port reuse").
//! - The base (relative zero) of a side is its SYN's sequence number; when the first segment
//!   seen from a side is not a SYN, the base is its sequence number minus one. The first
//!   ACK seen from a side also fixes the other side's base to `ack - 1` if it is not known.
//! - A side's window scale is known once both SYNs are seen; if only one side offered the
//!   option, neither side scales. Windows of SYN segments are never scaled.

use std::collections::HashMap;
use std::net::IpAddr;

use crate::analysis::{self, Analysis, FlowAnalysis, Segment};
use crate::seq::SeqNumber;
use crate::tcp::{self, flags};

/// A side of a connection: address and port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    /// IP address.
    pub addr: IpAddr,
    /// TCP port.
    pub port: u16,
}

/// Window-scale knowledge of one side, as Wireshark keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowScale {
    /// No SYN seen yet: windows are shown unscaled.
    Unknown,
    /// The handshake showed scaling is not in use.
    NotUsed,
    /// Shift count offered in this side's SYN.
    Shift(u8),
}

/// State of one direction of a connection.
#[derive(Debug, Clone)]
pub struct Flow {
    /// Relative-zero sequence number.
    pub base_seq: Option<SeqNumber>,
    /// Window scale.
    pub win_scale: WindowScale,
    /// Sequence-analysis state.
    pub analysis: FlowAnalysis,
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            base_seq: None,
            win_scale: WindowScale::Unknown,
            analysis: FlowAnalysis::default(),
        }
    }
}

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
    /// Whether the base sequence of `first` was set by a SYN.
    saw_syn: [bool; 2],
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
    pub flags: u16,
    /// Raw window.
    pub window: u16,
    /// TCP payload length (from the IP header).
    pub len: u32,
    /// Option bytes.
    pub options: &'a [u8],
    /// Capture time in seconds (for retransmission timing).
    pub time: f64,
    /// Frame number.
    pub frame: u64,
}

fn conversation_key(a: Endpoint, b: Endpoint) -> (Endpoint, Endpoint) {
    if a <= b {
        (a, b)
    } else {
        (b, a)
    }
}

/// Tracks every TCP conversation of a capture.
#[derive(Debug, Default)]
pub struct Tracker {
    conns: HashMap<(Endpoint, Endpoint), Conn>,
    next_stream: u64,
}

impl Tracker {
    /// A tracker with no connections.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of conversations currently held.
    pub fn open_connections(&self) -> usize {
        self.conns.len()
    }

    /// Looks up the connection a result refers to.
    pub fn conn(&self, a: Endpoint, b: Endpoint) -> Option<&Conn> {
        self.conns.get(&conversation_key(a, b))
    }

    /// Feeds one segment and returns its stream, relative numbers and analysis.
    pub fn on_segment(&mut self, seg: &SegmentInput<'_>) -> SegmentResult {
        let key = conversation_key(seg.src, seg.dst);
        let syn = seg.flags & flags::SYN != 0;
        let has_ack = seg.flags & flags::ACK != 0;
        let mut reused = false;
        if let Some(conn) = self.conns.get(&key) {
            let from_first = conn.first == seg.src;
            let (fwd, rev) = if from_first { (&conn.forward, &conn.reverse) } else { (&conn.reverse, &conn.forward) };
            if syn && !has_ack {
                // A new SYN with a different ISN: the ports are being reused.
                if let Some(base) = fwd.base_seq {
                    reused = base.0 != seg.seq;
                }
            } else if syn && has_ack {
                if let (Some(rev_base), Some(fwd_base)) = (rev.base_seq, fwd.base_seq) {
                    reused = seg.ack != rev_base.0.wrapping_add(1) && seg.seq != fwd_base.0;
                }
            }
        }
        if reused || !self.conns.contains_key(&key) {
            let conn = Conn {
                stream: self.next_stream,
                first: seg.src,
                second: seg.dst,
                forward: Flow::default(),
                reverse: Flow::default(),
                saw_syn: [false; 2],
            };
            self.next_stream += 1;
            self.conns.insert(key, conn);
        }
        let Some(conn) = self.conns.get_mut(&key) else {
            // Inserted just above when missing.
            return SegmentResult {
                stream: 0,
                seq: seg.seq,
                ack: seg.ack,
                window: u32::from(seg.window),
                from_first: true,
                ack_base: None,
                analysis: Analysis::default(),
            };
        };
        let from_first = conn.first == seg.src;
        let side = usize::from(!from_first);
        let stream = conn.stream;
        let (fwd, rev) = if from_first {
            (&mut conn.forward, &mut conn.reverse)
        } else {
            (&mut conn.reverse, &mut conn.forward)
        };

        if fwd.base_seq.is_none() {
            fwd.base_seq = Some(SeqNumber(if syn { seg.seq } else { seg.seq.wrapping_sub(1) }));
            conn.saw_syn[side] = syn;
        }
        if has_ack && rev.base_seq.is_none() {
            rev.base_seq = Some(SeqNumber(seg.ack.wrapping_sub(1)));
        }

        if syn {
            let mut shift = None;
            for option in tcp::Options::new(seg.options) {
                if let tcp::TcpOption::WindowScale(s) = option {
                    shift = Some(s.min(14));
                }
            }
            fwd.win_scale = match shift {
                Some(s) => WindowScale::Shift(s),
                None => WindowScale::NotUsed,
            };
            if has_ack {
                // SYN-ACK: scaling is on only if both sides offered it.
                let both = matches!(fwd.win_scale, WindowScale::Shift(_)) && matches!(rev.win_scale, WindowScale::Shift(_));
                if !both {
                    fwd.win_scale = WindowScale::NotUsed;
                    rev.win_scale = WindowScale::NotUsed;
                }
            }
        }
        let window = match fwd.win_scale {
            WindowScale::Shift(s) if !syn => u32::from(seg.window) << s,
            _ => u32::from(seg.window),
        };
        let fwd_base = fwd.base_seq.unwrap_or_default();
        let rev_base = rev.base_seq;
        let rel_seq = seg.seq.wrapping_sub(fwd_base.0);
        let rel_ack = match (has_ack, rev_base) {
            (true, Some(base)) => seg.ack.wrapping_sub(base.0),
            _ => 0,
        };
        let segment = Segment {
            seq: SeqNumber(seg.seq),
            ack: SeqNumber(seg.ack),
            flags: seg.flags,
            len: seg.len,
            window,
            raw_window: seg.window,
            time: seg.time,
            frame: seg.frame,
        };
        let analysis = analysis::analyze(fwd, rev, &segment, reused);
        SegmentResult {
            stream,
            seq: rel_seq,
            ack: rel_ack,
            window,
            from_first,
            ack_base: rev_base.map(|b| b.0),
            analysis,
        }
    }
}
