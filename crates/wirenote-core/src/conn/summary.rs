//! Per-connection summary: the facts of the `wirenote flows` table (Zeek conn.log-like).
//!
//! `conn_state` and `history` follow Zeek's conn.log meanings (see Zeek's documentation of
//! `Conn::Info`); `completeness` is Wireshark's `tcp.completeness` bitmask.

use crate::conn::analysis::Flags;
use crate::conn::lifecycle::Side;
use crate::wire::tcp::TcpFlags;

/// `tcp.completeness` bits.
pub mod completeness {
    /// SYN sent.
    pub const SYN_SENT: u8 = 0x01;
    /// SYN-ACK sent.
    pub const SYN_ACK: u8 = 0x02;
    /// A pure ACK without data.
    pub const ACK: u8 = 0x04;
    /// Data.
    pub const DATA: u8 = 0x08;
    /// FIN (with ACK).
    pub const FIN: u8 = 0x10;
    /// RST.
    pub const RST: u8 = 0x20;
}

/// Zeek's connection states.
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

/// What one side did, as far as the connection state needs it.
#[derive(Debug, Clone, Copy, Default)]
struct SideSeen {
    syn: bool,
    syn_ack: bool,
    fin: bool,
    rst: bool,
    /// History letters already written for this side (bit per letter).
    letters: u16,
}

/// Running facts about one connection.
#[derive(Debug, Clone, Default)]
pub struct ConnSummary {
    /// First and last packet times (ns).
    pub first_time: i128,
    /// Last packet time (ns).
    pub last_time: i128,
    /// Time of the client's first SYN.
    pub syn_time: Option<i128>,
    /// Time of the server's first SYN-ACK.
    pub syn_ack_time: Option<i128>,
    /// Time of the handshake-completing ACK.
    pub ack_time: Option<i128>,
    /// Packets sent by the client and by the server.
    pub packets: [u64; 2],
    /// Payload bytes sent by the client and by the server.
    pub bytes: [u64; 2],
    /// Zeek history letters (client upper-case, server lower-case).
    pub history: String,
    /// Segments flagged as retransmissions (any kind).
    pub retransmissions: u64,
    /// Wireshark's `tcp.completeness` after the last packet.
    pub completeness: u8,
    /// Who sent the first RST.
    pub first_rst: Option<Side>,
    seen: [SideSeen; 2],
}

const LETTERS: &[(u16, char)] = &[
    (1 << 0, 's'),
    (1 << 1, 'h'),
    (1 << 2, 'a'),
    (1 << 3, 'd'),
    (1 << 4, 'f'),
    (1 << 5, 'r'),
    (1 << 6, 't'),
    (1 << 7, 'w'),
];

impl ConnSummary {
    /// Starts a summary at the connection's first packet.
    pub fn new(time: i128) -> ConnSummary {
        ConnSummary {
            first_time: time,
            last_time: time,
            ..ConnSummary::default()
        }
    }

    fn letter(&mut self, side: Side, bit: u16) {
        let seen = &mut self.seen[side_index(side)];
        if seen.letters & bit != 0 {
            return;
        }
        seen.letters |= bit;
        if let Some((_, c)) = LETTERS.iter().find(|(b, _)| *b == bit) {
            self.history.push(if side == Side::Client {
                c.to_ascii_uppercase()
            } else {
                *c
            });
        }
    }

    /// Records one segment sent by `side`.
    pub fn on_segment(
        &mut self,
        side: Side,
        tcp_flags: TcpFlags,
        len: u32,
        raw_window: u16,
        analysis: Flags,
        time: i128,
    ) {
        let i = side_index(side);
        self.last_time = self.last_time.max(time);
        self.packets[i] += 1;
        self.bytes[i] += u64::from(len);
        let syn = tcp_flags.contains(TcpFlags::SYN);
        let ack = tcp_flags.contains(TcpFlags::ACK);
        if syn && !ack {
            self.seen[i].syn = true;
            self.letter(side, 1 << 0);
            if side == Side::Client && self.syn_time.is_none() {
                self.syn_time = Some(time);
            }
        }
        if syn && ack {
            self.seen[i].syn_ack = true;
            self.letter(side, 1 << 1);
            if self.syn_ack_time.is_none() {
                self.syn_ack_time = Some(time);
            }
        }
        // Zeek's 'A' is a pure ACK: no SYN, FIN, RST or payload.
        if ack && len == 0 && !tcp_flags.intersects(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) {
            self.letter(side, 1 << 2);
        }
        if len > 0 {
            self.letter(side, 1 << 3);
        }
        if tcp_flags.contains(TcpFlags::FIN) {
            self.seen[i].fin = true;
            self.letter(side, 1 << 4);
        }
        if tcp_flags.contains(TcpFlags::RST) {
            self.seen[i].rst = true;
            self.letter(side, 1 << 5);
            self.first_rst.get_or_insert(side);
        }
        let retransmission = analysis.contains(Flags::RETRANSMISSION)
            || analysis.contains(Flags::FAST_RETRANSMISSION)
            || analysis.contains(Flags::SPURIOUS_RETRANSMISSION);
        if retransmission {
            self.retransmissions += 1;
            self.letter(side, 1 << 6);
        }
        if raw_window == 0 && !tcp_flags.intersects(TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) {
            self.letter(side, 1 << 7);
        }
    }

    /// Zeek's `conn_state` from what each side sent.
    pub fn conn_state(&self) -> ConnState {
        let (o, r) = (self.seen[0], self.seen[1]);
        match (o.syn, r.syn_ack) {
            (true, false) => {
                if o.rst {
                    ConnState::Rstos0
                } else if r.rst {
                    ConnState::Rej
                } else if o.fin {
                    ConnState::Sh
                } else {
                    ConnState::S0
                }
            }
            (false, true) => {
                if r.rst {
                    ConnState::Rstrh
                } else if r.fin {
                    ConnState::Shr
                } else {
                    ConnState::Oth
                }
            }
            (true, true) => {
                if o.rst || r.rst {
                    match self.first_rst {
                        Some(Side::Client) => ConnState::Rsto,
                        _ => ConnState::Rstr,
                    }
                } else {
                    match (o.fin, r.fin) {
                        (true, true) => ConnState::SF,
                        (true, false) => ConnState::S2,
                        (false, true) => ConnState::S3,
                        (false, false) => ConnState::S1,
                    }
                }
            }
            (false, false) => ConnState::Oth,
        }
    }
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}
