//! The per-packet table (`wirenote annotate`): one row per frame.

use std::fmt::Write as _;

use wirenote_core::record::Kind;
use wirenote_core::record::{HttpRecord, PacketRecord, TcpRecord};
use wirenote_core::wire::tcp;

use super::cell::{table, tunnel, Cell, Mirror};

/// The cell of a TCP column: empty on frames that are not TCP.
#[inline]
fn tcp<'a>(r: &'a PacketRecord, value: impl FnOnce(&'a TcpRecord) -> Cell<'a>) -> Cell<'a> {
    r.tcp.as_ref().map_or(Cell::Null, value)
}

/// One value per HTTP message completed in the frame, joined with commas (as `tshark -T
/// fields` joins them); empty when no message has a value. Inlined for its first test:
/// most frames complete no message, and eleven columns ask.
#[inline(always)]
fn per_message<'a>(
    r: &'a PacketRecord,
    scratch: &'a mut String,
    value: fn(&HttpRecord) -> Cell<'_>,
) -> Cell<'a> {
    if r.http.is_empty() {
        return Cell::Null;
    }
    joined(r, scratch, value)
}

/// [`per_message`] for a frame that completed at least one message. The join of one
/// message's text is that text, borrowed, and of its number the number's digits (a frame
/// completes one message far more often than two, and nine of the eleven columns are
/// text or numbers).
fn joined<'a>(
    r: &'a PacketRecord,
    scratch: &'a mut String,
    value: fn(&HttpRecord) -> Cell<'_>,
) -> Cell<'a> {
    scratch.clear();
    if let [message] = r.http.as_slice() {
        match value(message) {
            text @ Cell::Text(_) => return text,
            Cell::UInt(n) => {
                scratch.push_str(itoa::Buffer::new().format(n));
                return Cell::Text(scratch);
            }
            _ => {}
        }
    }
    let mut any = false;
    for (i, message) in r.http.iter().enumerate() {
        if i > 0 {
            scratch.push(',');
        }
        let cell = value(message);
        any |= cell != Cell::Null;
        let _ = write!(scratch, "{cell}");
    }
    if any {
        Cell::Text(scratch)
    } else {
        Cell::Null
    }
}

table! {
    /// The per-packet columns, in output order.
    pub enum PacketColumn for PacketRecord {
        Frame = "frame", Integer, Mirror::Tshark(&["frame.number"]),
            "frame number, from 1",
            |r, _s| r.frame;
        Time = "time", Time, Mirror::Tshark(&["frame.time_epoch"]),
            "capture time, epoch seconds with 9 decimals",
            |r, _s| r.time;
        TimeRel = "time_rel", Seconds, Mirror::Tshark(&["frame.time_relative"]),
            "seconds since the first frame, 9 decimals (Wireshark's default Time column)",
            |r, _s| r.time.map(Cell::Since);
        Src = "src", Address, Mirror::Tshark(&["ip.src", "ipv6.src"]),
            "source IP address",
            |r, _s| r.src;
        Dst = "dst", Address, Mirror::Tshark(&["ip.dst", "ipv6.dst"]),
            "destination IP address",
            |r, _s| r.dst;
        Sport = "sport", Integer, Mirror::Tshark(&["tcp.srcport"]),
            "TCP source port",
            |r, _s| tcp(r, |t| t.source_port.into());
        Dport = "dport", Integer, Mirror::Tshark(&["tcp.dstport"]),
            "TCP destination port",
            |r, _s| tcp(r, |t| t.destination_port.into());
        Stream = "stream", Integer, Mirror::Tshark(&["tcp.stream"]),
            "connection index, numbered as Wireshark numbers them (port reuse included)",
            |r, _s| tcp(r, |t| t.stream.into());
        Flags = "flags", Text, Mirror::Tshark(&["tcp.flags"]),
            "flag names as Info prints them, e.g. `SYN, ACK`",
            |r, s| tcp(r, move |t| {
                let flags = tcp::TcpFlags::from_bits(t.flags);
                if let Some(names) = tcp::common_flag_names(flags) {
                    return Cell::Text(names);
                }
                s.clear();
                tcp::write_flag_names(s, flags);
                Cell::Text(s)
            });
        Seq = "seq", Integer, Mirror::Tshark(&["tcp.seq"]),
            "relative sequence number",
            |r, _s| tcp(r, |t| t.relative_seq.into());
        Ack = "ack", Integer, Mirror::Tshark(&["tcp.ack"]),
            "relative acknowledgment number (0 without the ACK flag)",
            |r, _s| tcp(r, |t| t.relative_ack.into());
        SeqRaw = "seq_raw", Integer, Mirror::Tshark(&["tcp.seq_raw"]),
            "the sequence number on the wire",
            |r, _s| tcp(r, |t| t.raw_seq.into());
        AckRaw = "ack_raw", Integer, Mirror::Tshark(&["tcp.ack_raw"]),
            "the acknowledgment number on the wire",
            |r, _s| tcp(r, |t| t.raw_ack.into());
        Len = "len", Integer, Mirror::Tshark(&["tcp.len"]),
            "TCP payload length (from the IP header, even when the capture cut the packet)",
            |r, _s| tcp(r, |t| t.len.into());
        Win = "win", Integer, Mirror::Tshark(&["tcp.window_size"]),
            "window after scaling",
            |r, _s| tcp(r, |t| t.window.into());
        FrameLen = "frame_len", Integer, Mirror::Tshark(&["frame.len"]),
            "bytes on the wire",
            |r, _s| r.frame_len;
        Protocol = "protocol", Text, Mirror::Tshark(&["_ws.col.Protocol"]),
            "Wireshark's Protocol column for TCP frames (`TCP`, `HTTP`), a short name otherwise, or `malformed`",
            |r, _s| Cell::Word(r.protocol);
        Info = "info", Text, Mirror::Tshark(&["_ws.col.Info"]),
            "Wireshark's Info column for TCP and HTTP frames",
            |r, _s| r.info.as_str();
        CapLen = "cap_len", Integer, Mirror::Tshark(&["frame.cap_len"]),
            "bytes captured",
            |r, _s| r.cap_len;
        Malformed = "malformed", Text, Mirror::None,
            "why the frame could not be dissected (empty otherwise)",
            |r, _s| r.malformed.as_deref();
        Dir = "dir", Text, Mirror::None,
            "`c2s` (client → server) or `s2c`; the client is the side that sent the first SYN",
            |r, _s| tcp(r, |t| Cell::Word(t.direction().as_str()));
        Role = "role", Text, Mirror::None,
            "the packet's place in the lifecycle: `handshake-syn`, `handshake-synack`, `handshake-ack`, `handshake-ack+data`, `syn-retry`, `data`, `ack`, `teardown-fin1`, `teardown-ack1`, `teardown-ack1+data`, `teardown-fin2`, `teardown-ack2`, `fin-retry`, `rst`, `midstream`",
            |r, _s| tcp(r, |t| t.role.map_or(Cell::Null, |x| Cell::Word(x.as_str())));
        ClientState = "client_state", Text, Mirror::None,
            "the client's RFC 9293 state after the packet (rules below)",
            |r, _s| tcp(r, |t| t.client_state.map_or(Cell::Null, |x| Cell::Word(x.as_str())));
        ServerState = "server_state", Text, Mirror::None,
            "the server's RFC 9293 state after the packet (rules below)",
            |r, _s| tcp(r, |t| t.server_state.map_or(Cell::Null, |x| Cell::Word(x.as_str())));
        Analysis = "analysis", Text, Mirror::Tshark(&["tcp.analysis.flags"]),
            "Wireshark's `tcp.analysis.*` fields present, `;`-separated (`retransmission`, `fast_retransmission`, `spurious_retransmission`, `out_of_order`, `lost_segment`, `ack_lost_segment`, `window_update`, `window_full`, `keep_alive`, `keep_alive_ack`, `duplicate_ack:N`, `zero_window`, `zero_window_probe`, `zero_window_probe_ack`, `reused_ports`)",
            |r, s| tcp(r, move |t| {
                if t.analysis.flags.is_empty() {
                    Cell::Text("")
                } else {
                    s.clear();
                    s.push_str(&t.analysis.names());
                    Cell::Text(s)
                }
            });
        Completeness = "completeness", Integer, Mirror::Tshark(&["tcp.completeness"]),
            "the connection's completeness bitmask (1 SYN, 2 SYN-ACK, 4 ACK, 8 data, 16 FIN, 32 RST), its final value on every frame as `tshark -2` prints it (with `--single-pass`, the value so far, as tshark prints it)",
            |r, _s| tcp(r, |t| t.completeness.into());
        Http = "http", Text, Mirror::None,
            "`request` or `response`, per HTTP message completed in the frame",
            |r, s| per_message(r, s, |h| match h.kind {
                Kind::Request => Cell::Text("request"),
                Kind::Response => Cell::Text("response"),
            });
        Method = "method", Text, Mirror::Tshark(&["http.request.method"]),
            "request method",
            |r, s| per_message(r, s, |h| h.method.as_deref().into());
        Uri = "uri", Text, Mirror::Tshark(&["http.request.uri"]),
            "request target",
            |r, s| per_message(r, s, |h| h.uri.as_deref().into());
        Version = "version", Text, Mirror::Tshark(&["http.request.version", "http.response.version"]),
            "HTTP version of the message",
            |r, s| per_message(r, s, |h| h.version.as_str().into());
        Status = "status", Text, Mirror::Tshark(&["http.response.code"]),
            "response status code",
            |r, s| per_message(r, s, |h| h.status.into());
        Reason = "reason", Text, Mirror::Tshark(&["http.response.phrase"]),
            "response reason phrase",
            |r, s| per_message(r, s, |h| h.reason.as_deref().into());
        ContentType = "content_type", Text, Mirror::Tshark(&["http.content_type"]),
            "media type of the body",
            |r, s| per_message(r, s, |h| h.content_type.as_deref().into());
        RequestIn = "request_in", Text, Mirror::Tshark(&["http.request_in"]),
            "on a response, the frame of its request, paired exactly as `tshark -2` pairs them",
            |r, s| per_message(r, s, |h| h.request_in.into());
        ResponseIn = "response_in", Text, Mirror::Tshark(&["http.response_in"]),
            "on a request, the frame of its response, paired as `tshark -2` pairs them (empty with `--single-pass`)",
            |r, s| per_message(r, s, |h| h.response_in.into());
        HttpTime = "http_time", Text, Mirror::Tshark(&["http.time"]),
            "on a response, seconds since its request",
            |r, s| per_message(r, s, |h| h.time_since_request.map(Cell::Seconds).into());
        HttpNote = "http_note", Text, Mirror::None,
            "`conditional`, `revalidated`, `keep-alive`/`close` (requests), `persistent`/`close` (responses), `;`-separated (rules below)",
            |r, s| per_message(r, s, |h| h.note.as_str().into());
        Tunnel = "tunnel", Text, Mirror::None,
            "the tunnels the packet was taken out of, outermost first, joined with `/` (`GRE`, `VXLAN`, `GRE-in-UDP/GRE`, `MPLS`…; list below); empty when none",
            |r, s| tunnel(&r.tunnel, s);
    }
}
