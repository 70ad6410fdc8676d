//! Zeek's view of one TCP connection: its two endpoint states, its `history` letters and
//! its `conn_state`, restated from Zeek's sources so that the flows table's `conn_state`
//! and `history` are the ones Zeek's conn.log writes for the same packets.
//!
//! Read, at least (Zeek commit a13de64, 9.1.0-dev, the one `../shared/zeek/` was made
//! from): `src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc` (`Process`,
//! `update_history`, `update_window`, `update_last_seq`, the `Update*State` functions),
//! `src/analyzer/protocol/tcp/TCP_Endpoint.cc` (`CheckHistory`, the scaled letters),
//! `TCP_Reassembler.cc` and `src/Reassem.cc` (`AckReceived`, `Undelivered`, `Gap`),
//! `src/Conn.cc` (`FlipRoles`), `src/packet_analysis/protocol/tcp/TCP.cc`
//! (`WantConnection`) and `scripts/base/protocols/conn/main.zeek` (`conn_state()`).
//!
//! This is a model of Zeek, not of TCP: it is kept apart from [`super::lifecycle`], whose
//! RFC 9293 states give the per-packet roles tshark-style. Zeek's endpoint states are its
//! own (a side that was never seen opening is `Partial`, a FIN makes it `Closed` at once),
//! and they are what `conn_state()` reads.
//!
//! The endpoints are held by position: `0` sent the connection's first packet. Zeek's
//! originator starts as that sender and changes each time Zeek flips the connection
//! (history `^`): at creation, when the first packet is not a pure SYN and comes from a
//! likely server port ([`likely_server_port`]); when a connection that began with a
//! SYN-ACK (history exactly `H`) sees its first pure ACK or data (`^h`); and when the
//! SYN-ACK came before the SYN it answers. Letters already written keep their case, as in
//! Zeek.
//!
//! What is not modelled: checksums (`c`/`C`: wirenote does not validate them; run Zeek
//! with `-C` to compare), the application analyzers' `x`/`X`, and sequence numbers more
//! than 2^31 from a side's start (Zeek counts wraps; here each relative number is a
//! signed 32-bit distance).

use crate::wire::tcp::TcpFlags;

/// One endpoint's state as Zeek's TCP analyzer keeps it (`TCP_ENDPOINT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EndpointState {
    /// Nothing seen from it yet.
    #[default]
    Inactive,
    /// It sent a SYN.
    SynSent,
    /// It sent a SYN-ACK as the originator.
    SynAckSent,
    /// It sent something without having been seen opening.
    Partial,
    /// Its handshake was seen.
    Established,
    /// It sent a FIN.
    Closed,
    /// It sent a RST.
    Reset,
}

/// Zeek's ports that make a connection that starts mid-stream or with a SYN-ACK flip
/// (`likely_server_ports`): the server ports every protocol analyzer that Zeek loads by
/// default (`base/protocols/*/main.zeek`, `Analyzer::register_for_ports`) adds, that is,
/// what a full (not `-b`) Zeek run uses. A bare run with fewer scripts has fewer.
pub const LIKELY_SERVER_PORTS: &[u16] = &[
    21, 22, 25, 53, 79, 80, 81, 88, 135, 139, 143, 389, 443, 445, 465, 502, 514, 563, 585, 587,
    614, 631, 636, 989, 990, 992, 993, 995, 1080, 1434, 1883, 2811, 3128, 3268, 3306, 3389, 5222,
    5223, 5269, 5432, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888, 20000,
];

/// Whether `port` is one of [`LIKELY_SERVER_PORTS`].
pub fn likely_server_port(port: u16) -> bool {
    LIKELY_SERVER_PORTS.binary_search(&port).is_ok()
}

/// Zeek's `WantConnection` guess for a connection's first packet: whether the receiver,
/// not the sender, is the originator.
pub fn flips_at_creation(flags: TcpFlags, sender_port: u16, receiver_port: u16) -> bool {
    let syn = flags.contains(TcpFlags::SYN);
    let pure_syn = syn && !flags.contains(TcpFlags::ACK);
    if pure_syn || !likely_server_port(sender_port) {
        return false;
    }
    if likely_server_port(receiver_port) {
        // Both plausible: flip only off a SYN-ACK (stealth scans) and toward the lower port.
        !syn && sender_port < receiver_port
    } else {
        true
    }
}

/// Zeek's per-letter masks (`HIST_*`); the responder's are shifted 16 bits up.
mod mask {
    pub const SYN: u32 = 0x1;
    pub const FIN: u32 = 0x2;
    pub const RST: u32 = 0x4;
    pub const FIN_RST: u32 = 0x8;
    pub const DATA: u32 = 0x10;
    pub const ACK: u32 = 0x20;
    pub const MULTI_FLAG: u32 = 0x40;
}

/// A letter Zeek logs logarithmically (`ScaledHistoryEntry`): at the 1st, 10th, 100th…
/// event of its kind from one endpoint.
#[derive(Debug, Clone, Copy)]
struct Scaled {
    count: u32,
    threshold: u32,
}

impl Default for Scaled {
    fn default() -> Scaled {
        Scaled {
            count: 0,
            threshold: 1,
        }
    }
}

impl Scaled {
    /// Counts one event; true when it is one that writes the letter.
    fn hit(&mut self) -> bool {
        self.count = self.count.wrapping_add(1);
        if self.count != self.threshold {
            return false;
        }
        let next = self.threshold.wrapping_mul(10);
        if next <= self.threshold {
            // Zeek's wrap-around guard: keep the threshold, count again from zero.
            self.count = 0;
        } else {
            self.threshold = next;
        }
        true
    }
}

/// Most out-of-order blocks one side keeps waiting for a hole to fill; past it, new ones
/// are dropped (a later gap may then be counted where Zeek counts none).
const MAX_BLOCKS: usize = 64;

/// The part of Zeek's TCP reassembler that decides content gaps (`g`/`G`): which
/// relative sequence numbers of one side were seen, and up to where they were delivered
/// or given up as a gap.
#[derive(Debug, Clone)]
struct Reassembly {
    /// Everything below was delivered or reported missing (`last_reassem_seq`).
    delivered: u64,
    /// Acknowledged by the peer (`trim_seq`).
    trimmed: u64,
    /// Data seen above `delivered`, sorted, disjoint, as `[start, end)`.
    blocks: Vec<(u64, u64)>,
}

impl Default for Reassembly {
    fn default() -> Reassembly {
        // TCP_Reassembler starts at relative sequence number 1 (after the SYN).
        Reassembly {
            delivered: 1,
            trimmed: 1,
            blocks: Vec::new(),
        }
    }
}

impl Reassembly {
    /// `Reassembler::NewBlock`: data `[seq, seq + len)` seen.
    fn new_block(&mut self, seq: u64, len: u64) {
        let end = seq + len;
        if len == 0 || end <= self.trimmed {
            return;
        }
        let start = seq.max(self.trimmed);
        if start <= self.delivered {
            self.delivered = self.delivered.max(end);
            self.deliver_contiguous();
            return;
        }
        let at = self.blocks.partition_point(|b| b.1 < start);
        let mut merged = (start, end);
        while at < self.blocks.len() && self.blocks[at].0 <= merged.1 {
            let b = self.blocks.remove(at);
            merged = (merged.0.min(b.0), merged.1.max(b.1));
        }
        if self.blocks.len() < MAX_BLOCKS {
            self.blocks.insert(at, merged);
        }
    }

    /// Delivers the blocks that now touch `delivered` (`BlockInserted`).
    fn deliver_contiguous(&mut self) {
        while let Some(&(start, end)) = self.blocks.first() {
            if start > self.delivered {
                break;
            }
            self.delivered = self.delivered.max(end);
            self.blocks.remove(0);
        }
    }

    /// `TCP_Reassembler::AckReceived` then `DataBlockList::Trim`: the peer acknowledged up
    /// to `ack`. Returns how many gaps (`Gap` calls) it revealed.
    fn ack_received(&mut self, ack: u64, fin_seq: Option<u64>, partial: bool) -> u32 {
        let ack = match fin_seq {
            // An ACK of the FIN acknowledges its sequence number, which carries no data.
            Some(fin) if ack >= fin => fin.saturating_sub(1),
            _ => ack,
        };
        if ack <= self.trimmed {
            return 0;
        }
        let mut gaps = 0;
        if ack > self.delivered && !(ack <= 2 && partial) {
            // `Undelivered`: holes below `ack` are gaps, then the blocks after them deliver.
            while let Some(&(start, end)) = self.blocks.first() {
                if start >= ack {
                    break;
                }
                gaps += 1;
                self.delivered = end;
                self.blocks.remove(0);
                self.deliver_contiguous();
            }
            if ack > self.delivered {
                gaps += 1;
                self.delivered = ack;
            }
        }
        self.blocks.retain(|b| b.1 > ack);
        self.trimmed = ack;
        gaps
    }
}

/// One endpoint as Zeek's `TCP_Endpoint` keeps it, for what history and state need.
#[derive(Debug, Clone, Default)]
struct Endpoint {
    state: EndpointState,
    prev_state: EndpointState,
    /// Raw sequence numbers: the start (the SYN's, or one before the first seen), the
    /// highest one past a segment, and the highest the peer acknowledged.
    start_seq: u32,
    last_seq: u32,
    ack_seq: u32,
    fin_count: u32,
    /// Relative sequence number just past the last FIN.
    fin_seq: i64,
    /// Relative sequence numbers of the last SYN, FIN (its end) and RST.
    last_syn: i64,
    last_fin: i64,
    last_rst: i64,
    retransmits: Scaled,
    zero_windows: Scaled,
    gaps: Scaled,
    reassembly: Reassembly,
}

fn seq_delta(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// More than this far from the last sequence number, a SYN's or RST's is not believed.
const TOO_LARGE_SEQ_DELTA: i32 = 1_048_576;

impl Endpoint {
    fn set_state(&mut self, state: EndpointState) {
        if state != self.state {
            self.prev_state = self.state;
            self.state = state;
        }
    }

    fn init_seqs(&mut self, start: u32, last: u32) {
        self.start_seq = start;
        self.ack_seq = start;
        self.last_seq = last;
    }

    /// `init_endpoint`: sequence numbers from a side's first packet, or a new SYN.
    fn init(&mut self, flags: TcpFlags, seq: u32, seq_past: u32) {
        let syn = flags.contains(TcpFlags::SYN);
        match self.state {
            EndpointState::Inactive if syn => self.init_seqs(seq, seq_past),
            // A partial connection numbers as though a SYN had come just before.
            EndpointState::Inactive => self.init_seqs(seq.wrapping_sub(1), seq),
            EndpointState::SynSent | EndpointState::SynAckSent if syn && seq != self.start_seq => {
                self.init_seqs(seq, seq_past)
            }
            EndpointState::Established | EndpointState::Partial if syn => {
                self.init_seqs(seq, seq_past)
            }
            EndpointState::Reset if syn && self.prev_state == EndpointState::Inactive => {
                self.init_seqs(seq, seq_past)
            }
            _ => {}
        }
    }

    fn relative(&self, seq: u32) -> i64 {
        i64::from(seq_delta(seq, self.start_seq))
    }

    /// `update_last_seq`: advances the highest sequence number; true when the segment
    /// carries payload at or below it (a retransmission, `t`).
    fn update_last_seq(&mut self, seq_past: u32, flags: TcpFlags, len: u32) -> bool {
        let delta = seq_delta(seq_past, self.last_seq);
        let synrst = flags.intersects(TcpFlags::SYN | TcpFlags::RST);
        if synrst && !(-TOO_LARGE_SEQ_DELTA..=TOO_LARGE_SEQ_DELTA).contains(&delta) {
            false
        } else if flags.contains(TcpFlags::FIN) && self.last_seq == self.start_seq.wrapping_add(1) {
            self.last_seq = seq_past;
            false
        } else if self.state == EndpointState::Reset {
            false
        } else if delta > 0 {
            self.last_seq = seq_past;
            false
        } else {
            len > 0
        }
    }

    /// Zeek's `Size()`: bytes sent, from the sequence numbers (for `REJ`).
    fn size(&self, peer_state: EndpointState) -> u64 {
        let acked = seq_delta(self.ack_seq, self.start_seq);
        let no_data_acked = acked == 0 || acked == 1;
        if self.prev_state == EndpointState::SynSent
            && self.state == EndpointState::Reset
            && peer_state == EndpointState::Inactive
            && !no_data_acked
        {
            return 0;
        }
        let last = seq_delta(self.last_seq, self.start_seq);
        // Neither the SYN nor a FIN is a byte sent.
        let size = u64::from(last.max(acked).max(0).unsigned_abs()).saturating_sub(1);
        if self.fin_count > 0 {
            size.saturating_sub(1)
        } else {
            size
        }
    }
}

/// The longest history kept. Zeek has no bound, but `s h f r` repeat at every new
/// sequence number, so a crafted capture (a RST flood on one 4-tuple) could otherwise make
/// one connection's memory grow with its packets; no real connection comes near it.
pub const MAX_HISTORY: usize = 256;

/// What [`ZeekConn::on_segment`] needs of one segment.
#[derive(Debug, Clone, Copy)]
pub struct ZeekSegment {
    /// Sent by the connection's first sender (position 0).
    pub from_first: bool,
    /// Flag bits.
    pub flags: TcpFlags,
    /// Raw sequence number.
    pub seq: u32,
    /// Raw acknowledgment number.
    pub ack: u32,
    /// Payload length.
    pub len: u32,
    /// Raw window.
    pub window: u16,
}

/// Zeek's state of one connection.
#[derive(Debug, Clone, Default)]
pub struct ZeekConn {
    ends: [Endpoint; 2],
    /// Position of Zeek's originator.
    orig: usize,
    history: String,
    /// Letters written once (`hist_seen`), originator's in the low 16 bits.
    seen: u32,
    /// Zeek's `is_partial`, which only matters for a gap at the very start.
    partial: bool,
    /// Whether the originator / responder (by role, swapped on a flip) sent a packet.
    first_packet_seen: [bool; 2],
}

impl ZeekConn {
    /// A connection whose first packet has these flags and ports.
    pub fn new(first_flags: TcpFlags, sender_port: u16, receiver_port: u16) -> ZeekConn {
        let mut conn = ZeekConn::default();
        if flips_at_creation(first_flags, sender_port, receiver_port) {
            conn.flip();
        }
        conn
    }

    /// Zeek's `history`.
    pub fn history(&self) -> &str {
        &self.history
    }

    /// Whether Zeek's originator is the sender of the connection's first packet.
    pub fn orig_is_first(&self) -> bool {
        self.orig == 0
    }

    /// The state of the endpoint at `position` (0: the first packet's sender).
    pub fn endpoint_state(&self, position: usize) -> EndpointState {
        self.ends[position & 1].state
    }

    /// `Connection::FlipRoles`: the other endpoint becomes the originator.
    fn flip(&mut self) {
        self.orig ^= 1;
        self.first_packet_seen.swap(0, 1);
        self.partial = false;
        self.push('^');
    }

    /// Appends a letter, up to [`MAX_HISTORY`].
    fn push(&mut self, letter: char) {
        if self.history.len() < MAX_HISTORY {
            self.history.push(letter);
        }
    }

    fn is_orig(&self, position: usize) -> bool {
        position == self.orig
    }

    fn add_letter(&mut self, position: usize, upper: char) {
        let c = if self.is_orig(position) {
            upper
        } else {
            upper.to_ascii_lowercase()
        };
        self.push(c);
    }

    /// `TCP_Endpoint::CheckHistory`: writes the letter the first time; true if it had
    /// been written before. A pure ACK or data on a connection whose history is exactly
    /// `H` (it began with a SYN-ACK) first flips it, making the history `^h`.
    fn check_letter(&mut self, position: usize, bit: u32, upper: char) -> bool {
        if (upper == 'A' || upper == 'D') && self.history == "H" {
            self.flip();
            self.history = String::from("^h");
            self.first_packet_seen[0] = true;
        }
        let bit = if self.is_orig(position) {
            bit
        } else {
            bit << 16
        };
        if self.seen & bit != 0 {
            return true;
        }
        self.seen |= bit;
        self.add_letter(position, upper);
        false
    }

    /// `update_history`: the flag letters of one segment.
    fn update_history(&mut self, at: usize, flags: TcpFlags, rel_seq: i64, len: u32) {
        let (syn, fin, rst) = (
            flags.contains(TcpFlags::SYN),
            flags.contains(TcpFlags::FIN),
            flags.contains(TcpFlags::RST),
        );
        match u8::from(syn) + u8::from(fin) + u8::from(rst) {
            0 if len > 0 => {
                self.check_letter(at, mask::DATA, 'D');
            }
            0 if flags.contains(TcpFlags::ACK) => {
                self.check_letter(at, mask::ACK, 'A');
            }
            0 => {}
            1 if syn => {
                let code = if flags.contains(TcpFlags::ACK) {
                    'H'
                } else {
                    'S'
                };
                if self.check_letter(at, mask::SYN, code) && rel_seq != self.ends[at].last_syn {
                    self.add_letter(at, code);
                }
                self.ends[at].last_syn = rel_seq;
            }
            1 if fin => {
                // A FIN's number is the one after its data.
                let end = rel_seq + i64::from(len);
                if self.check_letter(at, mask::FIN, 'F') && end != self.ends[at].last_fin {
                    self.add_letter(at, 'F');
                }
                self.ends[at].last_fin = end;
            }
            1 => {
                if self.check_letter(at, mask::RST, 'R') && rel_seq != self.ends[at].last_rst {
                    self.add_letter(at, 'R');
                }
                self.ends[at].last_rst = rel_seq;
            }
            _ if fin && rst => {
                self.check_letter(at, mask::FIN_RST, 'I');
            }
            _ => {
                self.check_letter(at, mask::MULTI_FLAG, 'Q');
            }
        }
    }

    /// A scaled letter (`t`, `w`, `g`) for the endpoint at `at`, if this event writes one.
    fn scaled(&mut self, at: usize, hit: bool, upper: char) {
        if hit {
            self.add_letter(at, upper);
        }
    }

    /// `SetPartialStatus`.
    fn set_partial_status(&mut self, at: usize, flags: TcpFlags) {
        let syn = flags.contains(TcpFlags::SYN);
        if self.is_orig(at) {
            if !self.first_packet_seen[0] {
                self.partial = !syn || flags.contains(TcpFlags::ACK);
            }
        } else if !self.first_packet_seen[1] && !self.partial {
            self.partial = !syn;
        }
    }

    /// Zeek's `TCPSessionAdapter::Process` for one segment, in its order: flag letters,
    /// zero window, acknowledgment, retransmission, state machine, content gaps.
    pub fn on_segment(&mut self, seg: &ZeekSegment) {
        let at = usize::from(!seg.from_first);
        let peer = at ^ 1;
        // Zeek passes `is_orig` on as it was before a flip inside this packet.
        let is_orig = self.is_orig(at);
        let flags = seg.flags;
        self.set_partial_status(at, flags);
        let mut seg_len = seg.len;
        if flags.contains(TcpFlags::SYN) {
            seg_len += 1;
        }
        if flags.contains(TcpFlags::FIN) {
            seg_len += 1;
        }
        if flags.contains(TcpFlags::RST) {
            seg_len -= seg.len;
        }
        let seq_past = seg.seq.wrapping_add(seg_len);
        self.ends[at].init(flags, seg.seq, seq_past);
        let rel_seq = self.ends[at].relative(seg.seq);
        let underflow = rel_seq < 0;
        self.update_history(at, flags, rel_seq, seg.len);
        let zero_window = seg.window == 0
            && !flags.contains(TcpFlags::RST)
            && self.ends[peer].state != EndpointState::Closed
            && self.ends[at].state != EndpointState::Reset;
        if zero_window {
            let hit = self.ends[at].zero_windows.hit();
            self.scaled(at, hit, 'W');
        }
        if flags.contains(TcpFlags::FIN) {
            self.ends[at].fin_count += 1;
            self.ends[at].fin_seq = rel_seq + i64::from(seg_len);
        }
        let rel_ack = self.acknowledge(peer, flags, seg.ack);
        let retransmitted = self.ends[at].update_last_seq(seq_past, flags, seg.len);
        if retransmitted {
            let hit = self.ends[at].retransmits.hit();
            self.scaled(at, hit, 'T');
        }
        self.update_state(at, is_orig, flags, seg.len);
        if let Some(rel_ack) = rel_ack {
            self.ack_received(peer, rel_ack);
        }
        if seg.len > 0 && !flags.contains(TcpFlags::RST) && !underflow {
            let rel_data = if flags.contains(TcpFlags::SYN) {
                rel_seq + 1
            } else {
                rel_seq
            };
            let end = &mut self.ends[at];
            let acked = end.relative(end.ack_seq);
            data_sent(&mut end.reassembly, rel_data, i64::from(seg.len), acked);
        }
        self.first_packet_seen[usize::from(!is_orig)] = true;
    }

    /// The acknowledgment's effect on the peer: its sequence numbers begin here if it was
    /// never seen (`init_peer`), else its acknowledged number advances. Returns the
    /// relative acknowledgment number, if the ACK flag is set.
    fn acknowledge(&mut self, peer: usize, flags: TcpFlags, ack: u32) -> Option<u64> {
        if !flags.contains(TcpFlags::ACK) {
            return None;
        }
        let p = &mut self.ends[peer];
        if p.state == EndpointState::Inactive {
            let start = ack.wrapping_sub(1);
            p.init_seqs(start, start);
            return Some(1);
        }
        let rel = p.relative(ack);
        if rel < 0 {
            return Some(0);
        }
        if !flags.contains(TcpFlags::RST) {
            let delta = seq_delta(ack, p.ack_seq);
            // An ACK of 0 far ahead is more likely broken than a wrap onto 0.
            if delta > 0 && !(ack == 0 && delta > TOO_LARGE_SEQ_DELTA) {
                p.ack_seq = ack;
            }
        }
        Some(rel.unsigned_abs())
    }

    /// The peer's reassembler learns the acknowledgment; gaps count only while both sides
    /// are established or closing after being established (`established_or_cleanly_closing`).
    fn ack_received(&mut self, owner: usize, rel_ack: u64) {
        let end = &mut self.ends[owner];
        let fin = (end.fin_count > 0).then_some(end.fin_seq.max(0).unsigned_abs());
        let gaps = end.reassembly.ack_received(rel_ack, fin, self.partial);
        let clean = |e: &Endpoint| {
            e.state == EndpointState::Established
                || (e.state == EndpointState::Closed && e.prev_state == EndpointState::Established)
        };
        if !(clean(&self.ends[owner]) && clean(&self.ends[owner ^ 1])) {
            return;
        }
        for _ in 0..gaps {
            let hit = self.ends[owner].gaps.hit();
            self.scaled(owner, hit, 'G');
        }
    }

    /// `UpdateStateMachine`: the sender's state after the segment, by its state before.
    fn update_state(&mut self, at: usize, is_orig: bool, flags: TcpFlags, len: u32) {
        use EndpointState as E;
        let peer = at ^ 1;
        let (fin, rst) = (flags.contains(TcpFlags::FIN), flags.contains(TcpFlags::RST));
        match self.ends[at].state {
            E::Inactive => self.update_inactive(at, is_orig, flags, len),
            E::SynSent | E::SynAckSent => {
                if fin {
                    self.ends[at].set_state(E::Closed);
                }
                if rst {
                    self.ends[at].set_state(E::Reset);
                }
            }
            E::Established | E::Partial => {
                if flags.contains(TcpFlags::SYN)
                    && !flags.contains(TcpFlags::ACK)
                    && self.ends[at].state == E::Partial
                    && self.ends[peer].state == E::Inactive
                {
                    self.ends[at].set_state(E::SynSent);
                }
                if fin && !rst {
                    self.ends[at].set_state(E::Closed);
                    let p = &mut self.ends[peer];
                    if p.state == E::Reset && p.prev_state == E::Closed {
                        // The peer's FIN then RST was a normal close after all.
                        p.set_state(E::Closed);
                    }
                }
                if rst {
                    self.ends[at].set_state(E::Reset);
                }
            }
            // After a FIN exchange a RST changes nothing: both FINs then a RST stays SF.
            E::Closed if rst && self.ends[peer].state != E::Closed => {
                self.ends[at].set_state(E::Reset);
            }
            E::Closed | E::Reset => {}
        }
    }

    /// `UpdateInactiveState`: the first packet seen from a side.
    fn update_inactive(&mut self, at: usize, is_orig: bool, flags: TcpFlags, len: u32) {
        use EndpointState as E;
        let peer = at ^ 1;
        let (syn, ack) = (flags.contains(TcpFlags::SYN), flags.contains(TcpFlags::ACK));
        if syn && is_orig {
            self.ends[at].set_state(if ack { E::SynAckSent } else { E::SynSent });
        } else if syn {
            // A SYN from the responder after the originator's SYN-ACK: the two were seen
            // in reverse order, so Zeek flips and establishes the originator's side.
            let reversed = !ack && self.ends[peer].state == E::SynAckSent;
            if reversed {
                self.flip();
                self.ends[peer].set_state(E::Established);
                self.first_packet_seen[0] = true;
            }
            if self.ends[peer].state == E::SynSent {
                self.ends[peer].set_state(E::Established);
            }
            self.ends[at].set_state(E::Established);
        }
        if flags.contains(TcpFlags::FIN) {
            self.ends[at].set_state(E::Closed);
        }
        if flags.contains(TcpFlags::RST) {
            self.ends[at].set_state(E::Reset);
        }
        if self.ends[at].state != E::Inactive {
            return;
        }
        let orig_state = self.ends[self.orig].state;
        if !is_orig && len == 0 && orig_state == E::SynSent {
            // An ACK of the SYN before the SYN-ACK (some stacks do): not a partial side.
        } else if ack && self.ends[peer].state == E::Established {
            // A SYN-ACK then this ACK: the SYN was missed, the connection is established.
            self.ends[at].set_state(E::Established);
            self.partial = false;
            self.first_packet_seen[usize::from(!is_orig)] = true;
        } else {
            self.ends[at].set_state(E::Partial);
        }
    }

    /// Zeek's `conn_state()` from the two endpoint states (and, for `REJ` and `RSTOS0`,
    /// the sizes and the history).
    pub fn conn_state(&self) -> ConnState {
        use EndpointState as E;
        let (o, r) = (&self.ends[self.orig], &self.ends[self.orig ^ 1]);
        let (os, rs) = (o.state, r.state);
        let inactive = |s: E| matches!(s, E::Inactive | E::Partial);
        match (os, rs) {
            (_, E::Reset) => {
                let sizes_zero = o.size(rs) == 0 && r.size(os) == 0;
                if matches!(os, E::SynSent | E::SynAckSent) || (os == E::Reset && sizes_zero) {
                    ConnState::Rej
                } else if inactive(os) {
                    ConnState::Rstrh
                } else {
                    ConnState::Rstr
                }
            }
            (E::Reset, _) if inactive(rs) && syn_then_rst(&self.history) => ConnState::Rstos0,
            (E::Reset, _) if inactive(rs) => ConnState::Oth,
            (E::Reset, _) => ConnState::Rsto,
            (E::Closed, E::Closed) => ConnState::SF,
            (E::Closed, _) if inactive(rs) => ConnState::Sh,
            (E::Closed, _) => ConnState::S2,
            (_, E::Closed) if inactive(os) => ConnState::Shr,
            (_, E::Closed) => ConnState::S3,
            (E::SynSent, E::Inactive) => ConnState::S0,
            (E::Established, E::Established) => ConnState::S1,
            _ => ConnState::Oth,
        }
    }
}

/// Zeek's `/\^?S[^HAFGIQ]*R.*/` on the history (it matches the whole string).
fn syn_then_rst(history: &str) -> bool {
    let rest = history.strip_prefix('^').unwrap_or(history);
    let Some(rest) = rest.strip_prefix('S') else {
        return false;
    };
    for c in rest.chars() {
        match c {
            'R' => return true,
            'H' | 'A' | 'F' | 'G' | 'I' | 'Q' => return false,
            _ => {}
        }
    }
    false
}

/// `TCP_Reassembler::DataSent`: data the peer already acknowledged is dropped.
fn data_sent(reassembly: &mut Reassembly, seq: i64, len: i64, acked: i64) {
    let (mut seq, end) = (seq, seq + len);
    if seq < acked {
        if end <= acked {
            return;
        }
        seq = acked;
    }
    if seq >= 0 {
        reassembly.new_block(seq.unsigned_abs(), (end - seq).unsigned_abs());
    }
}

/// Zeek's connection states (`conn_state` in conn.log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnState {
    /// Connection attempt seen, no reply.
    S0,
    /// Connection established, not terminated.
    S1,
    /// Normal establishment and termination.
    SF,
    /// Connection attempt rejected.
    Rej,
    /// Established, close attempt by originator seen (no reply from responder).
    S2,
    /// Established, close attempt by responder seen (no reply from originator).
    S3,
    /// Established, originator aborted (sent a RST).
    Rsto,
    /// Responder sent a RST.
    Rstr,
    /// Originator sent a SYN followed by a RST, never saw a SYN-ACK.
    Rstos0,
    /// Responder sent a SYN-ACK followed by a RST, never saw a SYN.
    Rstrh,
    /// Originator sent a SYN followed by a FIN, never saw a SYN-ACK.
    Sh,
    /// Responder sent a SYN-ACK followed by a FIN, never saw a SYN.
    Shr,
    /// No SYN seen, just midstream traffic.
    Oth,
}

impl ConnState {
    /// Zeek's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnState::S0 => "S0",
            ConnState::S1 => "S1",
            ConnState::SF => "SF",
            ConnState::Rej => "REJ",
            ConnState::S2 => "S2",
            ConnState::S3 => "S3",
            ConnState::Rsto => "RSTO",
            ConnState::Rstr => "RSTR",
            ConnState::Rstos0 => "RSTOS0",
            ConnState::Rstrh => "RSTRH",
            ConnState::Sh => "SH",
            ConnState::Shr => "SHR",
            ConnState::Oth => "OTH",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn likely_server_ports_are_sorted_for_the_binary_search() {
        assert!(LIKELY_SERVER_PORTS.windows(2).all(|w| w[0] < w[1]));
        assert!(likely_server_port(80) && likely_server_port(20000));
        assert!(!likely_server_port(110) && !likely_server_port(40000));
    }

    #[test]
    fn flips_at_creation_as_want_connection() {
        let (syn, ack) = (TcpFlags::SYN, TcpFlags::ACK);
        // A pure SYN never flips; from a server port to a client port anything else does.
        assert!(!flips_at_creation(syn, 80, 40000));
        assert!(flips_at_creation(ack, 80, 40000));
        assert!(flips_at_creation(syn | ack, 80, 40000));
        assert!(!flips_at_creation(ack, 40000, 80));
        // Both server ports: only a non-SYN toward the higher port.
        assert!(flips_at_creation(ack, 80, 443));
        assert!(!flips_at_creation(ack, 443, 80));
        assert!(!flips_at_creation(syn | ack, 80, 443));
    }

    #[test]
    fn scaled_letters_at_powers_of_ten() {
        let mut scaled = Scaled::default();
        let hits: Vec<u32> = (1..=1000).filter(|_| scaled.hit()).collect();
        assert_eq!(hits, [1, 10, 100, 1000]);
    }

    #[test]
    fn syn_then_rst_is_zeeks_rstos0_pattern() {
        // Zeek patterns are case-sensitive: only the originator's letters stop the match.
        for yes in ["SR", "^SR", "SsR", "STR", "SRf", "SrR", "ShR"] {
            assert!(syn_then_rst(yes), "{yes}");
        }
        for no in ["R", "sR", "SAR", "SHR", "SFR", "SQR", "^^SR", "S"] {
            assert!(!syn_then_rst(no), "{no}");
        }
    }

    #[test]
    fn the_history_is_bounded() {
        let mut conn = ZeekConn::new(TcpFlags::SYN, 40000, 80);
        for i in 0..10_000u32 {
            conn.on_segment(&ZeekSegment {
                from_first: true,
                flags: TcpFlags::RST,
                seq: i * 7,
                ack: 0,
                len: 0,
                window: 0,
            });
        }
        assert_eq!(conn.history().len(), MAX_HISTORY);
    }

    #[test]
    fn a_gap_is_counted_once_per_hole() {
        let mut r = Reassembly::default();
        r.new_block(1, 10);
        r.new_block(21, 10);
        r.new_block(41, 10);
        // Holes 11..21 and 31..41 below the ACK, then nothing missing up to 51.
        assert_eq!(r.ack_received(51, None, false), 2);
        assert_eq!(r.ack_received(51, None, false), 0);
        // The ACK of a FIN acknowledges no data byte.
        r.new_block(51, 5);
        assert_eq!(r.ack_received(57, Some(57), false), 0);
    }
}
