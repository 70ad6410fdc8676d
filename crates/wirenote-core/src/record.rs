//! Owned rows, built once per frame for export.

use std::net::IpAddr;

use crate::analysis::Analysis;
use crate::capture::Timestamp;
use crate::lifecycle::{Role, TcpState};

/// The TCP part of a row. Field meanings follow tshark's `tcp.*` fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TcpRecord {
    /// `tcp.srcport`.
    pub source_port: u16,
    /// `tcp.dstport`.
    pub destination_port: u16,
    /// `tcp.stream`.
    pub stream: u64,
    /// Flag bits (`tcp.flags`).
    pub flags: u16,
    /// `tcp.seq` (relative).
    pub relative_seq: u32,
    /// `tcp.ack` (relative; 0 without the ACK flag).
    pub relative_ack: u32,
    /// `tcp.seq_raw`.
    pub raw_seq: u32,
    /// `tcp.ack_raw`.
    pub raw_ack: u32,
    /// `tcp.len`.
    pub len: u32,
    /// `tcp.window_size` (scaled).
    pub window: u32,
    /// `tcp.analysis.*`.
    pub analysis: Analysis,
    /// True if the client sent the segment (`c2s`), false for `s2c`.
    pub from_client: bool,
    /// The packet's role in the connection lifecycle.
    pub role: Option<Role>,
    /// Client state after the packet.
    pub client_state: Option<TcpState>,
    /// Server state after the packet.
    pub server_state: Option<TcpState>,
    /// `tcp.completeness`: the connection's final value when known (two-pass), else the
    /// value before this frame (as single-pass tshark shows it).
    pub completeness: u8,
}

/// One row per frame.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PacketRecord {
    /// `frame.number`.
    pub frame: u64,
    /// `frame.time_epoch` (absent for pcapng simple packets and custom blocks).
    pub time: Option<Timestamp>,
    /// Source IP address.
    pub src: Option<IpAddr>,
    /// Destination IP address.
    pub dst: Option<IpAddr>,
    /// TCP fields, for TCP frames.
    pub tcp: Option<TcpRecord>,
    /// `frame.len`.
    pub frame_len: u32,
    /// `frame.cap_len`.
    pub cap_len: u32,
    /// Wireshark's Protocol column (or `malformed`).
    pub protocol: String,
    /// Wireshark's Info column.
    pub info: String,
    /// Why the frame could not be dissected, when `protocol` is `malformed`.
    pub malformed: Option<String>,
}
