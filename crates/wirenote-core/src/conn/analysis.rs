//! TCP sequence analysis: Wireshark's `tcp.analysis.*` flags, computed as Wireshark 4.0's
//! `tcp_analyze_sequence_number()` computes them, so that the flags and the Info prefixes
//! (`[TCP Retransmission] …`) agree with tshark.
//!
//! Read, at least: RFC 9293 §3.10.7.4 (segment acceptability), RFC 5681 §2 (duplicate
//! ACKs, fast retransmit), RFC 9293 §3.8.6.1 (zero-window probing), RFC 1122 §4.2.3.6
//! (keep-alives). Wireshark's heuristics refine these; the comments name each check.
//!
//! All comparisons use raw (not relative) sequence numbers and the raw, unscaled window,
//! exactly as Wireshark does; only "window full" uses the peer's scaled window.

use crate::conn::window::WindowScale;
use crate::wire::seq::SeqNumber;
use crate::wire::tcp::TcpFlags;

/// What the analysis needs of a segment.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    /// Raw sequence number.
    pub seq: SeqNumber,
    /// Raw acknowledgment number (used even when the ACK flag is clear, as Wireshark does).
    pub ack: SeqNumber,
    /// Flag bits.
    pub flags: TcpFlags,
    /// Payload length.
    pub len: u32,
    /// Raw window field.
    pub raw_window: u16,
    /// Capture time in nanoseconds since the epoch.
    pub time_ns: i128,
    /// Frame number.
    pub frame: u64,
}

/// Per-direction analysis state (Wireshark's `tcp_flow_t` fields used by the analysis).
#[derive(Debug, Clone)]
pub struct FlowAnalysis {
    next_seq: SeqNumber,
    next_seq_time: i128,
    last_ack: SeqNumber,
    last_ack_time: i128,
    max_seq_to_be_acked: SeqNumber,
    /// Raw window of the last segment; `u32::MAX` before any.
    window: u32,
    /// Duplicate-ACK counter; -1 after an ACK of unseen data (Wireshark's sentinel).
    dup_ack_count: i32,
    last_non_dup_ack: u64,
    last_segment_flags: Flags,
    /// True from this side's SYN until its first pure ACK: its window is not scaled yet.
    is_first_ack: bool,
}

impl Default for FlowAnalysis {
    fn default() -> Self {
        FlowAnalysis {
            next_seq: SeqNumber(0),
            next_seq_time: 0,
            last_ack: SeqNumber(0),
            last_ack_time: 0,
            max_seq_to_be_acked: SeqNumber(0),
            window: u32::MAX,
            dup_ack_count: 0,
            last_non_dup_ack: 0,
            last_segment_flags: Flags::empty(),
            is_first_ack: false,
        }
    }
}

impl FlowAnalysis {
    /// Next expected sequence number (raw), 0 before any data or SYN/FIN.
    pub fn next_seq(&self) -> SeqNumber {
        self.next_seq
    }
}

/// Per-connection timing used by the out-of-order test.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnTiming {
    /// Time of the most recent pure SYN.
    last_syn_time: Option<i128>,
    /// SYN → first pure ACK (Wireshark's `ts_first_rtt`); 0 while unknown, and, as in
    /// Wireshark, a zero measurement counts as unknown.
    first_rtt_ns: i128,
}

/// A set of `tcp.analysis` flags.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Flags(u32);

macro_rules! analysis_flags {
    ($( $(#[$doc:meta])* $name:ident = $bit:expr, $field:literal; )*) => {
        impl Flags {
            $( $(#[$doc])* pub const $name: Flags = Flags(1 << $bit); )*
            /// Every flag with its tshark field name (`tcp.analysis.<name>`), in bit order.
            pub const ALL: &'static [(Flags, &'static str)] = &[ $( (Flags::$name, $field), )* ];
        }
    };
}

analysis_flags! {
    /// `tcp.analysis.retransmission`.
    RETRANSMISSION = 0, "retransmission";
    /// `tcp.analysis.fast_retransmission`.
    FAST_RETRANSMISSION = 1, "fast_retransmission";
    /// `tcp.analysis.spurious_retransmission`.
    SPURIOUS_RETRANSMISSION = 2, "spurious_retransmission";
    /// `tcp.analysis.out_of_order`.
    OUT_OF_ORDER = 3, "out_of_order";
    /// `tcp.analysis.lost_segment` (previous segment not captured).
    LOST_SEGMENT = 4, "lost_segment";
    /// `tcp.analysis.ack_lost_segment` (ACKed unseen segment).
    ACK_LOST_SEGMENT = 5, "ack_lost_segment";
    /// `tcp.analysis.window_update`.
    WINDOW_UPDATE = 6, "window_update";
    /// `tcp.analysis.window_full`.
    WINDOW_FULL = 7, "window_full";
    /// `tcp.analysis.keep_alive`.
    KEEP_ALIVE = 8, "keep_alive";
    /// `tcp.analysis.keep_alive_ack`.
    KEEP_ALIVE_ACK = 9, "keep_alive_ack";
    /// `tcp.analysis.duplicate_ack`.
    DUPLICATE_ACK = 10, "duplicate_ack";
    /// `tcp.analysis.zero_window`.
    ZERO_WINDOW = 11, "zero_window";
    /// `tcp.analysis.zero_window_probe`.
    ZERO_WINDOW_PROBE = 12, "zero_window_probe";
    /// `tcp.analysis.zero_window_probe_ack`.
    ZERO_WINDOW_PROBE_ACK = 13, "zero_window_probe_ack";
    /// `tcp.analysis.reused_ports`.
    REUSED_PORTS = 14, "reused_ports";
}

impl Flags {
    /// No flags.
    pub const fn empty() -> Flags {
        Flags(0)
    }
    /// Whether every flag of `other` is set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0 && other.0 != 0
    }
    /// Whether no flag is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// Sets the flags of `other`.
    pub fn insert(&mut self, other: Flags) {
        self.0 |= other.0;
    }
    /// Flags on which Wireshark does not hand the payload to the application dissector
    /// (`tcp_no_subdissector_on_error`, and keep-alives go to the data dissector).
    pub fn withholds_payload(self) -> bool {
        self.0 & (Flags::RETRANSMISSION.0 | Flags::OUT_OF_ORDER.0 | Flags::KEEP_ALIVE.0) != 0
    }
}

/// Analysis findings for one segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Analysis {
    /// The flags set on this segment.
    pub flags: Flags,
    /// For a duplicate ACK: its number in the run (`#n`).
    pub dup_ack_num: u32,
    /// For a duplicate ACK: the frame of the original ACK.
    pub dup_ack_frame: u64,
}

impl Analysis {
    /// Writes the bracketed prefixes tshark puts before the TCP summary in Info. Wireshark
    /// prepends each in a fixed order, so the last one it adds is shown first.
    pub fn write_info_prefix(&self, out: &mut String) {
        let f = self.flags;
        let mut parts: Vec<String> = Vec::new();
        let mut add = |flag: Flags, text: &str| {
            if f.contains(flag) {
                parts.push(text.to_string());
            }
        };
        add(Flags::REUSED_PORTS, "[TCP Port numbers reused] ");
        add(Flags::RETRANSMISSION, "[TCP Retransmission] ");
        add(Flags::FAST_RETRANSMISSION, "[TCP Fast Retransmission] ");
        add(
            Flags::SPURIOUS_RETRANSMISSION,
            "[TCP Spurious Retransmission] ",
        );
        add(Flags::OUT_OF_ORDER, "[TCP Out-Of-Order] ");
        add(Flags::LOST_SEGMENT, "[TCP Previous segment not captured] ");
        add(Flags::ACK_LOST_SEGMENT, "[TCP ACKed unseen segment] ");
        add(Flags::WINDOW_UPDATE, "[TCP Window Update] ");
        add(Flags::WINDOW_FULL, "[TCP Window Full] ");
        add(Flags::KEEP_ALIVE, "[TCP Keep-Alive] ");
        add(Flags::KEEP_ALIVE_ACK, "[TCP Keep-Alive ACK] ");
        if f.contains(Flags::DUPLICATE_ACK) {
            parts.push(format!(
                "[TCP Dup ACK {}#{}] ",
                self.dup_ack_frame, self.dup_ack_num
            ));
        }
        let mut add = |flag: Flags, text: &str| {
            if f.contains(flag) {
                parts.push(text.to_string());
            }
        };
        add(Flags::ZERO_WINDOW_PROBE, "[TCP ZeroWindowProbe] ");
        add(Flags::ZERO_WINDOW, "[TCP ZeroWindow] ");
        add(Flags::ZERO_WINDOW_PROBE_ACK, "[TCP ZeroWindowProbeAck] ");
        for part in parts.iter().rev() {
            out.push_str(part);
        }
    }

    /// Whether tshark's field `tcp.analysis.<name>` is present on this segment. Wireshark
    /// adds `retransmission` to fast and spurious retransmissions too.
    pub fn has_field(&self, flag: Flags) -> bool {
        self.flags.contains(flag)
            || (flag == Flags::RETRANSMISSION
                && (self.flags.contains(Flags::FAST_RETRANSMISSION)
                    || self.flags.contains(Flags::SPURIOUS_RETRANSMISSION)))
    }

    /// The present `tcp.analysis.*` fields as a `;`-separated list of names
    /// (`duplicate_ack` carries its number: `duplicate_ack:2`).
    pub fn names(&self) -> String {
        let mut out = String::new();
        for (flag, name) in Flags::ALL {
            if self.has_field(*flag) {
                if !out.is_empty() {
                    out.push(';');
                }
                out.push_str(name);
                if *flag == Flags::DUPLICATE_ACK {
                    out.push_str(&format!(":{}", self.dup_ack_num));
                }
            }
        }
        out
    }
}

/// Analyses `seg`, sent on the direction whose state is `fa` (the reverse direction's is
/// `ra`, and `rev_scale` its window scale), updating both directions' state. `syn_retry`
/// marks a SYN repeating the ISN of the flow's earlier SYN.
///
/// It takes the two analysis states rather than whole flows so that this module needs
/// nothing from the tracker that owns them. The steps run in Wireshark's order, and each
/// step sees the flags the earlier ones set.
pub fn analyze(
    fa: &mut FlowAnalysis,
    ra: &mut FlowAnalysis,
    rev_scale: WindowScale,
    timing: &mut ConnTiming,
    seg: &Segment,
    syn_retry: bool,
) -> Analysis {
    let mut out = Analysis::default();
    if syn_retry {
        // A SYN with the same ISN: rewind so it is seen as a retransmission.
        fa.next_seq = fa.max_seq_to_be_acked;
    }
    check_window_and_acks(fa, ra, rev_scale, seg, &mut out);
    if seg.ack != fa.last_ack {
        fa.last_non_dup_ack = seg.frame;
        fa.dup_ack_count = 0;
    }
    check_acked_unseen(ra, seg, &mut out.flags);
    check_retransmission(fa, ra, timing, seg, &mut out.flags);
    record_segment(fa, seg, out.flags);
    after_analysis(fa, timing, seg);
    out
}

/// Whether a segment carries SYN, FIN or RST: Wireshark's window and keep-alive tests
/// skip those.
#[inline]
fn is_control(seg: &Segment) -> bool {
    const CONTROL: TcpFlags = TcpFlags::SYN.union(TcpFlags::FIN).union(TcpFlags::RST);
    seg.flags.intersects(CONTROL)
}

/// The first block of Wireshark's checks, about the forward direction's window and
/// acknowledgments: zero window (and its probe and probe ACK), lost segment, keep-alive
/// (and its ACK), window update, window full and duplicate ACK. A probe, a keep-alive ACK
/// or a probe ACK ends the block, as Wireshark's `goto finished_fwd` does.
fn check_window_and_acks(
    fa: &mut FlowAnalysis,
    ra: &FlowAnalysis,
    rev_scale: WindowScale,
    seg: &Segment,
    out: &mut Analysis,
) {
    let f = &mut out.flags;
    let (seq, ack, len, window) = (seg.seq, seg.ack, seg.len, u32::from(seg.raw_window));
    let control = is_control(seg);
    // Zero-window probe: one byte at the next sequence number into a closed window.
    if len == 1 && seq == fa.next_seq && ra.window == 0 {
        f.insert(Flags::ZERO_WINDOW_PROBE);
        return;
    }
    if window == 0 && !control {
        f.insert(Flags::ZERO_WINDOW);
    }
    // A gap: this segment starts beyond what we expected next.
    if fa.next_seq.0 != 0 && seq.gt(fa.next_seq) && !seg.flags.contains(TcpFlags::RST) {
        f.insert(Flags::LOST_SEGMENT);
    }
    // Keep-alive: zero or one byte at next_seq - 1.
    if len <= 1 && seq == fa.next_seq.wrapping_add(u32::MAX) && !control {
        f.insert(Flags::KEEP_ALIVE);
    }
    let same_state = seq == fa.next_seq && ack == fa.last_ack && !control;
    if len == 0 && window != 0 && window != fa.window && same_state {
        f.insert(Flags::WINDOW_UPDATE);
    }
    // Window full: this segment fills the peer's advertised window exactly.
    if len > 0 && rev_scale != WindowScale::Unknown && !control {
        let shift = if ra.is_first_ack {
            0
        } else {
            rev_scale.shift()
        };
        let limit = ra.last_ack.wrapping_add(ra.window.wrapping_shl(shift));
        if seq.wrapping_add(len) == limit {
            f.insert(Flags::WINDOW_FULL);
        }
    }
    let repeats = len == 0 && window == fa.window && same_state;
    if repeats && window != 0 && ra.last_segment_flags.contains(Flags::KEEP_ALIVE) {
        f.insert(Flags::KEEP_ALIVE_ACK);
        return;
    }
    if repeats && window == 0 && ra.last_segment_flags.contains(Flags::ZERO_WINDOW_PROBE) {
        f.insert(Flags::ZERO_WINDOW_PROBE_ACK);
        return;
    }
    if repeats && window != 0 {
        fa.dup_ack_count = if fa.dup_ack_count == -1 {
            1
        } else {
            fa.dup_ack_count + 1
        };
        f.insert(Flags::DUPLICATE_ACK);
        out.dup_ack_num = fa.dup_ack_count.max(0) as u32;
        out.dup_ack_frame = fa.last_non_dup_ack;
    }
}

/// ACKed unseen segment: the ACK covers data of the reverse direction (`ra`) that this
/// capture never showed.
fn check_acked_unseen(ra: &mut FlowAnalysis, seg: &Segment, f: &mut Flags) {
    if ra.max_seq_to_be_acked.0 != 0
        && seg.ack.gt(ra.max_seq_to_be_acked)
        && seg.flags.contains(TcpFlags::ACK)
    {
        if ra.max_seq_to_be_acked.lt(ra.next_seq) {
            ra.max_seq_to_be_acked = ra.next_seq;
            f.insert(Flags::ACK_LOST_SEGMENT);
        } else {
            if ra.dup_ack_count == 0 {
                f.insert(Flags::ACK_LOST_SEGMENT);
            }
            ra.dup_ack_count = -1;
        }
    }
}

/// The retransmission family (spurious, fast, out-of-order, plain), tested in
/// Wireshark's order on segments that occupy sequence space; the first that matches wins.
fn check_retransmission(
    fa: &FlowAnalysis,
    ra: &FlowAnalysis,
    timing: &ConnTiming,
    seg: &Segment,
    f: &mut Flags,
) {
    let (seq, len) = (seg.seq, seg.len);
    let syn_or_fin = seg.flags.intersects(TcpFlags::SYN | TcpFlags::FIN);
    if !(len > 0 || syn_or_fin) {
        return;
    }
    let mut seq_not_advanced = fa.next_seq.0 != 0 && seq.lt(fa.next_seq);
    if f.contains(Flags::KEEP_ALIVE) {
        return;
    }
    if len > 1 && fa.next_seq.wrapping_add(u32::MAX) == seq {
        seq_not_advanced = false;
    }
    if len > 0 && ra.last_ack.0 != 0 && seq.wrapping_add(len).le(ra.last_ack) {
        f.insert(Flags::SPURIOUS_RETRANSMISSION);
        return;
    }
    let since_ack = seg.time_ns - ra.last_ack_time;
    if seq_not_advanced && ra.dup_ack_count >= 2 && ra.last_ack == seq && since_ack < 20_000_000 {
        f.insert(Flags::FAST_RETRANSMISSION);
        return;
    }
    let since_next = seg.time_ns - fa.next_seq_time;
    let threshold = if timing.first_rtt_ns == 0 {
        3_000_000
    } else {
        timing.first_rtt_ns
    };
    let expected_next = seq.wrapping_add(len).wrapping_add(u32::from(syn_or_fin));
    if seq_not_advanced && since_next < threshold && fa.next_seq != expected_next {
        f.insert(Flags::OUT_OF_ORDER);
        return;
    }
    if seq_not_advanced {
        f.insert(Flags::RETRANSMISSION);
    }
}

/// Records the segment in the forward direction's state (next expected sequence number,
/// highest sequence to be acknowledged, window, last ACK) once its flags are known.
fn record_segment(fa: &mut FlowAnalysis, seg: &Segment, flags: Flags) {
    let (seq, len) = (seg.seq, seg.len);
    let syn_or_fin = seg.flags.intersects(TcpFlags::SYN | TcpFlags::FIN);
    // Wireshark adds the SYN/FIN octet only when it records the segment; kept as it is.
    let mut next = seq.wrapping_add(len);
    if len > 0 || syn_or_fin {
        next = next.wrapping_add(u32::from(syn_or_fin));
    }
    let probe = flags.contains(Flags::ZERO_WINDOW_PROBE);
    if (next.gt(fa.next_seq) || fa.next_seq.0 == 0) && !probe {
        fa.next_seq = next;
        fa.next_seq_time = seg.time_ns;
    }
    if (seq == fa.max_seq_to_be_acked || fa.max_seq_to_be_acked.0 == 0) && !probe {
        fa.max_seq_to_be_acked = fa.next_seq;
    }
    fa.window = u32::from(seg.raw_window);
    fa.last_ack = seg.ack;
    fa.last_ack_time = seg.time_ns;
    fa.last_segment_flags = flags;
}

/// After the analysis, as Wireshark orders it: RTT bookkeeping and first-ACK marking.
fn after_analysis(fa: &mut FlowAnalysis, timing: &mut ConnTiming, seg: &Segment) {
    let syn_ack = seg.flags & (TcpFlags::SYN | TcpFlags::ACK);
    if syn_ack == TcpFlags::SYN {
        timing.last_syn_time = Some(seg.time_ns);
    }
    if seg.flags.contains(TcpFlags::SYN) {
        fa.is_first_ack = true;
    }
    if syn_ack == TcpFlags::ACK {
        if timing.first_rtt_ns == 0 {
            if let Some(syn) = timing.last_syn_time {
                timing.first_rtt_ns = seg.time_ns - syn;
            }
        }
        fa.is_first_ack = false;
    }
}
