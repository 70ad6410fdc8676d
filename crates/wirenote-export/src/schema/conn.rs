//! The per-connection table (`wirenote flows`): one row per TCP connection, Zeek
//! conn.log-like.

use wirenote_core::conn::lifecycle::Side;
use wirenote_core::record::ConnRecord;

use super::cell::{table, tunnel, Cell, Mirror};

const CONN_LOG: &str = "conn.log";

table! {
    /// The per-connection columns, in output order.
    pub enum ConnColumn for ConnRecord {
        Stream = "stream", Integer, Mirror::Tshark(&["tcp.stream"]),
            "connection index, as in the per-packet rows",
            |r, _s| r.stream;
        Client = "client", Address, Mirror::Zeek(CONN_LOG, &["id.orig_h", "id.orig_p"]),
            "client `address:port` (the side that sent the first SYN)",
            |r, _s| r.client;
        Server = "server", Address, Mirror::Zeek(CONN_LOG, &["id.resp_h", "id.resp_p"]),
            "server `address:port`",
            |r, _s| r.server;
        FirstTime = "first_time", Time, Mirror::Zeek(CONN_LOG, &["ts"]),
            "time of the first packet",
            |r, _s| r.first_time;
        TimeRel = "time_rel", Seconds, Mirror::None,
            "`first_time` as seconds since the capture's first frame",
            |r, _s| Cell::Since(r.first_time);
        LastTime = "last_time", Time, Mirror::None,
            "time of the last packet",
            |r, _s| r.last_time;
        Duration = "duration", Seconds, Mirror::Zeek(CONN_LOG, &["duration"]),
            "first to last packet",
            |r, _s| Cell::Seconds(r.duration());
        Irtt = "irtt", Seconds, Mirror::Tshark(&["tcp.analysis.initial_rtt"]),
            "SYN → handshake ACK, as Wireshark's iRTT",
            |r, _s| r.irtt.map(Cell::Seconds);
        SynToSynack = "syn_to_synack", Seconds, Mirror::None,
            "SYN → SYN-ACK",
            |r, _s| r.syn_to_synack.map(Cell::Seconds);
        SynackToAck = "synack_to_ack", Seconds, Mirror::None,
            "SYN-ACK → handshake ACK",
            |r, _s| r.synack_to_ack.map(Cell::Seconds);
        PacketsC2s = "packets_c2s", Integer, Mirror::Zeek(CONN_LOG, &["orig_pkts"]),
            "packets client → server",
            |r, _s| r.packets_c2s;
        PacketsS2c = "packets_s2c", Integer, Mirror::Zeek(CONN_LOG, &["resp_pkts"]),
            "packets server → client",
            |r, _s| r.packets_s2c;
        BytesC2s = "bytes_c2s", Integer, Mirror::Zeek(CONN_LOG, &["orig_bytes"]),
            "payload bytes client → server",
            |r, _s| r.bytes_c2s;
        BytesS2c = "bytes_s2c", Integer, Mirror::Zeek(CONN_LOG, &["resp_bytes"]),
            "payload bytes server → client",
            |r, _s| r.bytes_s2c;
        ConnState = "conn_state", Text, Mirror::Zeek(CONN_LOG, &["conn_state"]),
            "Zeek's connection state: `S0`, `S1`, `SF`, `REJ`, `S2`, `S3`, `RSTO`, `RSTR`, `RSTOS0`, `RSTRH`, `SH`, `SHR`, `OTH`",
            |r, _s| r.conn_state.as_str();
        History = "history", Text, Mirror::Zeek(CONN_LOG, &["history"]),
            "Zeek's history, as Zeek writes it: letters in the order they happened, upper case for Zeek's originator (`zeek_orig`); `^` where Zeek flipped the roles; `a d i q` once a side, `s h f r` again only at a new sequence number, `t w g` at the 1st, 10th, 100th… time",
            |r, _s| r.history.as_str();
        ZeekOrig = "zeek_orig", Text, Mirror::Zeek(CONN_LOG, &["id.orig_h"]),
            "`client` or `server`: the side Zeek takes as the originator, whose letters in `history` are upper case (the client, unless Zeek flipped the connection or guessed otherwise mid-stream)",
            |r, _s| match r.zeek_orig {
                Side::Client => "client",
                Side::Server => "server",
            };
        ClosedBy = "closed_by", Text, Mirror::None,
            "who closed: `client`, `server`, `both` (crossing FINs), `rst`, `none`",
            |r, _s| r.closed_by;
        ClientFinal = "client_final", Text, Mirror::None,
            "the client's last RFC 9293 state",
            |r, _s| r.client_final.as_str();
        ServerFinal = "server_final", Text, Mirror::None,
            "the server's last RFC 9293 state",
            |r, _s| r.server_final.as_str();
        Completeness = "completeness", Integer, Mirror::Tshark(&["tcp.completeness"]),
            "the final completeness bitmask, as in the per-packet rows",
            |r, _s| r.completeness;
        Retransmissions = "retransmissions", Integer, Mirror::None,
            "segments flagged as retransmissions",
            |r, _s| r.retransmissions;
        Midstream = "midstream", Boolean, Mirror::None,
            "the capture started after the connection opened",
            |r, _s| r.midstream;
        Tunnel = "tunnel", Text, Mirror::None,
            "the tunnels the connection's first packet was taken out of, as in the per-packet rows",
            |r, s| tunnel(&r.tunnel, s);
    }
}
