//! Owned rows, built once per frame for export.

use std::net::{IpAddr, SocketAddr};

use crate::capture::Timestamp;
use crate::conn::analysis::Analysis;
use crate::conn::lifecycle::{Role, Side, TcpState};
use crate::conn::summary::ConnState;
use crate::conn::tracker::Conn;
use crate::wire::tcp::{self, TcpFlags};
use crate::wire::tunnel::Tunnels;

/// Request or response: what an HTTP message is (a record's fact, so that the HTTP
/// dissector above depends on the records and not the other way round).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A request line (`GET / HTTP/1.1`).
    Request,
    /// A status line (`HTTP/1.1 200 OK`).
    Response,
}

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

impl TcpRecord {
    /// Which side sent the segment.
    pub fn direction(&self) -> Direction {
        if self.from_client {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }
}

/// Which side sent a segment. Its export spelling (`c2s`, `s2c`) is written here only, so
/// every output (tables, Lua metadata, pcapng comments) spells it the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client → server (`c2s`); the client is the side that sent the first SYN.
    ClientToServer,
    /// Server → client (`s2c`).
    ServerToClient,
}

impl Direction {
    /// The export spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ClientToServer => "c2s",
            Direction::ServerToClient => "s2c",
        }
    }
}

impl std::fmt::Display for Direction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row per frame.
#[derive(Debug, Clone, Default, PartialEq)]
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
    pub protocol: &'static str,
    /// Wireshark's Info column (see [`PacketRecord::info_summary`]).
    pub info: String,
    /// TCP's own summary, which belongs in `info` but is not written there yet (see
    /// [`InfoSummary`]); [`PacketRecord::render_info`] writes it.
    pub info_summary: Option<InfoSummary>,
    /// Why the frame could not be dissected, when `protocol` is `malformed`.
    pub malformed: Option<String>,
    /// HTTP messages completed in this frame.
    pub http: Vec<HttpRecord>,
    /// The tunnels the frame's innermost IP packet came through, outermost first.
    pub tunnel: Tunnels,
}

/// TCP's own summary in Info (`3048 → 80 [SYN] Seq=0 Ack=1 Win=64240 Len=0 MSS=1460 …`),
/// kept as the few facts it is made of: formatting it was a sixth of a second pass's time
/// on real traffic, and a row written on another thread (`annotate`'s writer) has it
/// formatted there, by [`PacketRecord::render_info`]. The rest of the row's fields
/// (ports, flags, relative numbers, window, length) are the row's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InfoSummary {
    /// Where in `info` the summary goes: after the analysis prefix, before what an
    /// application appended after it (a reassembly suffix or error).
    pub at: usize,
    /// `tcp.urgent_pointer`, shown with URG.
    pub urgent: u16,
    /// The SACK blocks' relative zero (`tcp.options.sack_le` is relative to it).
    pub sack_base: Option<u32>,
    /// The option bytes captured (at most 40).
    options: [u8; 40],
    options_len: u8,
}

impl InfoSummary {
    /// The summary of a segment whose captured option bytes are `options`.
    pub fn new(at: usize, urgent: u16, sack_base: Option<u32>, options: &[u8]) -> InfoSummary {
        let mut held = [0u8; 40];
        let len = options.len().min(40);
        held[..len].copy_from_slice(&options[..len]);
        InfoSummary {
            at,
            urgent,
            sack_base,
            options: held,
            options_len: len as u8,
        }
    }

    /// Writes the summary of the segment `tcp` describes to `info`, as tshark's Info:
    /// `sport → dport [FLAGS] Seq=… Ack=… Win=… Len=… options`. Numbers go through
    /// `itoa`: this runs once per TCP frame and `core::fmt` showed in profiles.
    pub fn write(&self, info: &mut String, tcp: &TcpRecord) {
        let mut num = itoa::Buffer::new();
        // The record keeps the raw bits (its shape is the export's).
        let flags = TcpFlags::from_bits(tcp.flags);
        info.push_str(num.format(tcp.source_port));
        info.push_str(" → ");
        info.push_str(num.format(tcp.destination_port));
        info.push_str(" [");
        tcp::write_flag_names(info, flags);
        info.push_str("] Seq=");
        info.push_str(num.format(tcp.relative_seq));
        if flags.contains(TcpFlags::ACK) {
            info.push_str(" Ack=");
            info.push_str(num.format(tcp.relative_ack));
        }
        info.push_str(" Win=");
        info.push_str(num.format(tcp.window));
        if flags.contains(TcpFlags::URG) {
            info.push_str(" Urg=");
            info.push_str(num.format(self.urgent));
        }
        info.push_str(" Len=");
        info.push_str(num.format(tcp.len));
        let options = &self.options[..usize::from(self.options_len)];
        tcp::write_option_summary(info, options, self.sack_base);
    }
}

impl PacketRecord {
    /// Writes TCP's summary into `info` where it belongs, if it is still pending (see
    /// [`InfoSummary`]). Every sink sees rows rendered: the driver renders them, unless
    /// its sink renders them itself on its own thread ([`crate::Sink::renders_info`]).
    pub fn render_info(&mut self) {
        let (Some(summary), Some(tcp)) = (self.info_summary.take(), self.tcp.as_ref()) else {
            return;
        };
        let end = self.info.len();
        let at = summary.at.min(end);
        summary.write(&mut self.info, tcp);
        if at < end {
            // What was appended after the summary's place (a reassembly suffix, on most
            // frames inside a PDU) moves behind it, in place.
            let mut bytes = std::mem::take(&mut self.info).into_bytes();
            let written = bytes.len() - end;
            bytes[at..].rotate_right(written);
            // `at` and `end` are character boundaries, so the bytes are still UTF-8.
            self.info = String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        }
    }
}

/// One row per TCP connection (the `wirenote flows` table).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnRecord {
    /// `tcp.stream`.
    pub stream: u64,
    /// Client address and port.
    pub client: SocketAddr,
    /// Server address and port.
    pub server: SocketAddr,
    /// First packet time.
    pub first_time: Timestamp,
    /// Last packet time.
    pub last_time: Timestamp,
    /// SYN → handshake ACK (Wireshark's iRTT), seconds.
    pub irtt: Option<f64>,
    /// SYN → SYN-ACK, seconds.
    pub syn_to_synack: Option<f64>,
    /// SYN-ACK → handshake ACK, seconds.
    pub synack_to_ack: Option<f64>,
    /// Packets client → server.
    pub packets_c2s: u64,
    /// Packets server → client.
    pub packets_s2c: u64,
    /// Payload bytes client → server.
    pub bytes_c2s: u64,
    /// Payload bytes server → client.
    pub bytes_s2c: u64,
    /// Zeek `conn_state`.
    pub conn_state: ConnState,
    /// Zeek `history` letters: upper case for Zeek's originator, `zeek_orig`.
    pub history: String,
    /// The side Zeek takes as the originator (its `id.orig_h`): usually the client; the
    /// other side when Zeek flipped the connection (`^`) or, mid-stream, guessed otherwise.
    pub zeek_orig: Side,
    /// Who closed: `client`, `server`, `both` (crossing FINs), `rst`, `none`.
    pub closed_by: &'static str,
    /// Client's last state.
    pub client_final: TcpState,
    /// Server's last state.
    pub server_final: TcpState,
    /// Final `tcp.completeness`.
    pub completeness: u8,
    /// Segments flagged as retransmissions.
    pub retransmissions: u64,
    /// The capture started after this connection opened.
    pub midstream: bool,
    /// The tunnels the connection's first packet came through, outermost first.
    pub tunnel: Tunnels,
}

fn timestamp_from_ns(ns: i128) -> Timestamp {
    Timestamp {
        secs: ns.div_euclid(1_000_000_000) as i64,
        nanos: ns.rem_euclid(1_000_000_000) as u32,
    }
}

fn seconds_between(from: Option<i128>, to: Option<i128>) -> Option<f64> {
    Some((to? - from?) as f64 * 1e-9)
}

impl ConnRecord {
    /// Summarises a tracked connection.
    pub fn from_conn(conn: &Conn) -> ConnRecord {
        let s = &conn.summary;
        let life = &conn.lifecycle;
        let (client_final, server_final) = (life.state(Side::Client), life.state(Side::Server));
        let closed_by = if s.first_rst.is_some() {
            "rst"
        } else {
            match life.first_fin() {
                None => "none",
                Some(_)
                    if client_final == TcpState::Closing || server_final == TcpState::Closing =>
                {
                    "both"
                }
                Some(_)
                    if client_final == TcpState::TimeWait && server_final == TcpState::TimeWait =>
                {
                    "both"
                }
                Some(Side::Client) => "client",
                Some(Side::Server) => "server",
            }
        };
        let addr = |e: crate::conn::flow::Endpoint| SocketAddr::new(e.addr, e.port);
        ConnRecord {
            stream: conn.stream,
            client: addr(conn.client()),
            server: addr(conn.server()),
            first_time: timestamp_from_ns(s.first_time),
            last_time: timestamp_from_ns(s.last_time),
            irtt: seconds_between(s.syn_time, s.ack_time),
            syn_to_synack: seconds_between(s.syn_time, s.syn_ack_time),
            synack_to_ack: seconds_between(s.syn_ack_time, s.ack_time),
            packets_c2s: s.packets[0],
            packets_s2c: s.packets[1],
            bytes_c2s: s.bytes[0],
            bytes_s2c: s.bytes[1],
            // A tracker told to leave Zeek's state out (a pass that makes no records)
            // would give `OTH` and no history: no record is made of its connections.
            conn_state: s.conn_state().unwrap_or(ConnState::Oth),
            history: s.zeek.as_ref().map_or("", |z| z.history()).to_owned(),
            zeek_orig: if s.zeek.as_ref().is_none_or(|z| z.orig_is_first()) == conn.first_is_client
            {
                Side::Client
            } else {
                Side::Server
            },
            closed_by,
            client_final,
            server_final,
            completeness: s.completeness,
            retransmissions: s.retransmissions,
            midstream: life.started_midstream(),
            tunnel: conn.tunnel,
        }
    }

    /// Duration from first to last packet, seconds.
    pub fn duration(&self) -> f64 {
        self.last_time.seconds_since(self.first_time)
    }
}

/// The HTTP part of a row: one per message completed in the frame.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpRecord {
    /// Request or response.
    pub kind: Kind,
    /// `http.request.method`.
    pub method: Option<String>,
    /// `http.request.uri`.
    pub uri: Option<String>,
    /// `http.request.version` / `http.response.version`.
    pub version: String,
    /// `http.response.code`.
    pub status: Option<u16>,
    /// `http.response.phrase`.
    pub reason: Option<String>,
    /// Media type of the body.
    pub content_type: Option<String>,
    /// `http.request_in` (responses), as `tshark -2` pairs.
    pub request_in: Option<u64>,
    /// `http.response_in` (requests), as `tshark -2` pairs.
    pub response_in: Option<u64>,
    /// `http.time`: seconds since the request (responses).
    pub time_since_request: Option<f64>,
    /// `conditional`, `revalidated`, `keep-alive`/`close` (requests), `persistent`/`close`
    /// (responses), `;`-separated.
    pub note: String,
    /// The validators that made a request conditional (`If-Modified-Since`,
    /// `If-None-Match`), for explanations; not a column.
    pub validators: Option<&'static str>,
}

/// How a message's body ended: whole, or cut by what happened to the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BodyEnd {
    /// No message (an exchange without a response).
    #[default]
    None,
    /// The body is whole (an empty body is whole too).
    Complete,
    /// Still arriving (only until the exchange is final).
    Arriving,
    /// The connection was reset before the body was whole.
    Reset,
    /// The connection closed before the body was whole.
    Closed,
    /// The capture ended (or the connection was forgotten, idle) before the body was whole.
    Unfinished,
}

impl BodyEnd {
    /// The spelling in tables: empty for [`BodyEnd::None`].
    pub fn as_str(self) -> &'static str {
        match self {
            BodyEnd::None => "",
            BodyEnd::Complete => "complete",
            BodyEnd::Arriving | BodyEnd::Unfinished => "unfinished",
            BodyEnd::Reset => "reset",
            BodyEnd::Closed => "closed",
        }
    }
}

/// One HTTP exchange (the `wirenote http` table, Zeek http.log-like).
#[derive(Debug, Clone, PartialEq)]
pub struct ExchangeRecord {
    /// `tcp.stream`.
    pub stream: u64,
    /// When the request completed (the response, when there is no request).
    pub time: Timestamp,
    /// 1-based position of the request in its connection (0: response without request).
    pub trans_depth: u64,
    /// Frame where the request completed.
    pub request_frame: Option<u64>,
    /// Frame where the response completed.
    pub response_frame: Option<u64>,
    /// Method.
    pub method: Option<String>,
    /// `Host` header.
    pub host: Option<String>,
    /// Request target.
    pub uri: Option<String>,
    /// Version of the request (of the response when there is no request).
    pub version: Option<String>,
    /// Status code.
    pub status: Option<u16>,
    /// Reason phrase.
    pub reason: Option<String>,
    /// Request body bytes.
    pub request_body_len: u64,
    /// Response body bytes (de-chunked).
    pub response_body_len: u64,
    /// How the request's body ended.
    pub request_body_end: BodyEnd,
    /// How the response's body ended ([`BodyEnd::None`] without a response).
    pub response_body_end: BodyEnd,
    /// Response media type.
    pub content_type: Option<String>,
    /// The request carried `If-Modified-Since` or `If-None-Match`.
    pub conditional: bool,
    /// A 304 answered a conditional request.
    pub revalidated: bool,
    /// Both sides' headers keep the connection open after this exchange.
    pub persistent: bool,
    /// The request's headers asked to keep the connection open.
    pub request_keeps_alive: bool,
    /// Request → first segment of the response, seconds.
    pub time_to_first_byte: Option<f64>,
    /// Request → response complete, seconds.
    pub response_time: Option<f64>,
    /// What happened next on the connection: `reused` (another request), `closed`, `open`.
    pub connection_after: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(info: &str, at: usize, options: &[u8]) -> PacketRecord {
        PacketRecord {
            tcp: Some(TcpRecord {
                source_port: 80,
                destination_port: 3048,
                flags: (TcpFlags::SYN | TcpFlags::ACK).bits(),
                relative_ack: 1,
                window: 65160,
                ..TcpRecord::default()
            }),
            info: info.into(),
            info_summary: Some(InfoSummary::new(at, 0, None, options)),
            ..PacketRecord::default()
        }
    }

    #[test]
    fn the_summary_goes_between_the_prefix_and_what_followed_it() {
        // MSS 1460, then SACK permitted.
        let options = [2, 4, 0x05, 0xb4, 4, 2];
        let summary = "80 → 3048 [SYN, ACK] Seq=0 Ack=1 Win=65160 Len=0 MSS=1460 SACK_PERM";
        for (info, at, want) in [
            ("", 0, summary.to_string()),
            (
                "[TCP Port numbers reused] ",
                26,
                format!("[TCP Port numbers reused] {summary}"),
            ),
            (
                "[TCP Retransmission]  [TCP segment of a reassembled PDU]",
                21,
                format!("[TCP Retransmission] {summary} [TCP segment of a reassembled PDU]"),
            ),
        ] {
            let mut record = row(info, at, &options);
            record.render_info();
            assert_eq!(record.info, want);
            assert_eq!(record.info_summary, None);
            // Rendering twice writes it once.
            record.render_info();
            assert_eq!(record.info, want);
        }
    }
}
