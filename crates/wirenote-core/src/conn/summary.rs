//! Per-connection summary: the facts of the `wirenote flows` table (Zeek conn.log-like).
//!
//! `conn_state` and `history` are Zeek's, from the model in [`crate::conn::zeek`];
//! `completeness` is Wireshark's `tcp.completeness` bitmask; `retransmissions` counts
//! Wireshark's retransmission flags (Zeek's `t` is its own rule).

use crate::conn::analysis::Flags;
use crate::conn::lifecycle::Side;
use crate::conn::zeek::{ZeekConn, ZeekSegment};
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

pub use crate::conn::zeek::ConnState;

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
    /// Zeek's endpoint states and history letters, if the tracker keeps them (boxed:
    /// only connection records read them, and inline they were a third of a connection).
    pub zeek: Option<Box<ZeekConn>>,
    /// Segments flagged as retransmissions (any kind).
    pub retransmissions: u64,
    /// Wireshark's `tcp.completeness` after the last packet.
    pub completeness: u8,
    /// Who sent the first RST.
    pub first_rst: Option<Side>,
}

impl ConnSummary {
    /// Starts a summary at the connection's first packet, which has these flags and
    /// ports (Zeek picks its originator from them), with Zeek's state if `zeek`.
    pub fn new(
        time: i128,
        first_flags: TcpFlags,
        sender_port: u16,
        receiver_port: u16,
        zeek: bool,
    ) -> Self {
        ConnSummary {
            first_time: time,
            last_time: time,
            zeek: zeek.then(|| Box::new(ZeekConn::new(first_flags, sender_port, receiver_port))),
            ..ConnSummary::default()
        }
    }

    /// Records one segment sent by `side`.
    pub fn on_segment(&mut self, side: Side, seg: &ZeekSegment, analysis: Flags, time: i128) {
        let i = side_index(side);
        self.last_time = self.last_time.max(time);
        self.packets[i] += 1;
        self.bytes[i] += u64::from(seg.len);
        let syn = seg.flags.contains(TcpFlags::SYN);
        let ack = seg.flags.contains(TcpFlags::ACK);
        if syn && !ack && side == Side::Client && self.syn_time.is_none() {
            self.syn_time = Some(time);
        }
        if syn && ack && self.syn_ack_time.is_none() {
            self.syn_ack_time = Some(time);
        }
        if seg.flags.contains(TcpFlags::RST) {
            self.first_rst.get_or_insert(side);
        }
        let retransmission = analysis.contains(Flags::RETRANSMISSION)
            || analysis.contains(Flags::FAST_RETRANSMISSION)
            || analysis.contains(Flags::SPURIOUS_RETRANSMISSION);
        if retransmission {
            self.retransmissions += 1;
        }
        if let Some(zeek) = &mut self.zeek {
            zeek.on_segment(seg);
        }
    }

    /// Zeek's `conn_state`, if the tracker kept Zeek's state.
    pub fn conn_state(&self) -> Option<ConnState> {
        self.zeek.as_ref().map(|zeek| zeek.conn_state())
    }
}

fn side_index(side: Side) -> usize {
    match side {
        Side::Client => 0,
        Side::Server => 1,
    }
}
