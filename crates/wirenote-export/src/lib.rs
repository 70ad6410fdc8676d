//! wirenote-export: writes [`PacketRecord`]s as CSV or JSON Lines.
//!
//! The column set and order are the per-packet contract documented in the README; CSV
//! and JSON Lines use the same keys. Writers are push sinks: the caller feeds one record
//! at a time and nothing is buffered beyond the writer's I/O buffer.
//!
//! ```
//! use wirenote_export::{Format, TableWriter, CONN_COLUMNS};
//!
//! let mut out = Vec::new();
//! let mut table = TableWriter::connections(Format::Csv, &mut out);
//! table.finish().unwrap();
//! drop(table);
//! assert_eq!(String::from_utf8(out).unwrap().trim_end(), CONN_COLUMNS.join(","));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::{self, Write};

use serde::Serialize;
use wirenote_core::record::Kind;
use wirenote_core::record::{ConnRecord, ExchangeRecord, HttpRecord, PacketRecord};
use wirenote_core::wire::tcp;

mod explain;
mod lua;
mod packet_csv;
mod pcapng;
mod sinks;

use packet_csv::PacketCsv;

pub use explain::{explain_stream, Language};
pub use lua::{LuaWriter, LUA_FORMAT_VERSION};
pub use pcapng::{annotation, AnnotatedPcapNg};
pub use sinks::{AnnotatedCopy, ConnTable, ExchangeTable, LuaMetadata, PacketTable};

/// Per-packet columns, in order.
#[rustfmt::skip]
pub const PACKET_COLUMNS: &[&str] = &[
    "frame", "time", "src", "dst", "sport", "dport", "stream", "flags", "seq", "ack", "seq_raw",
    "ack_raw", "len", "win", "frame_len", "protocol", "info", "cap_len", "malformed", "dir", "role",
    "client_state", "server_state", "analysis", "completeness", "http", "method", "uri", "version",
    "status", "reason", "content_type", "request_in", "response_in", "http_time", "http_note",
];

/// Per-exchange columns (`wirenote http`), in order.
#[rustfmt::skip]
pub const EXCHANGE_COLUMNS: &[&str] = &[
    "stream", "trans_depth", "request_frame", "response_frame", "method", "host", "uri", "version",
    "status", "reason", "request_body_len", "response_body_len", "content_type", "conditional",
    "revalidated", "persistent", "connection_after", "time_to_first_byte", "response_time",
];

/// Per-connection columns, in order.
#[rustfmt::skip]
pub const CONN_COLUMNS: &[&str] = &[
    "stream", "client", "server", "first_time", "last_time", "duration", "irtt", "syn_to_synack",
    "synack_to_ack", "packets_c2s", "packets_s2c", "bytes_c2s", "bytes_s2c", "conn_state", "history",
    "closed_by", "client_final", "server_final", "completeness", "retransmissions", "midstream",
];

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

/// The packet row as exported: one field per column, empty/null where absent.
#[derive(Debug, Serialize)]
struct PacketRow<'a> {
    frame: u64,
    time: Option<String>,
    src: Option<String>,
    dst: Option<String>,
    sport: Option<u16>,
    dport: Option<u16>,
    stream: Option<u64>,
    flags: Option<String>,
    seq: Option<u32>,
    ack: Option<u32>,
    seq_raw: Option<u32>,
    ack_raw: Option<u32>,
    len: Option<u32>,
    win: Option<u32>,
    frame_len: u32,
    protocol: &'a str,
    info: &'a str,
    cap_len: u32,
    malformed: Option<&'a str>,
    dir: Option<&'static str>,
    role: Option<&'static str>,
    client_state: Option<&'static str>,
    server_state: Option<&'static str>,
    analysis: Option<String>,
    completeness: Option<u8>,
    http: Option<String>,
    method: Option<String>,
    uri: Option<String>,
    version: Option<String>,
    status: Option<String>,
    reason: Option<String>,
    content_type: Option<String>,
    request_in: Option<String>,
    response_in: Option<String>,
    http_time: Option<String>,
    http_note: Option<String>,
}

/// Joins one value per HTTP message with commas (as `tshark -T fields` does); `None`
/// when no message has a value.
fn join_http<T: ToString>(
    records: &[HttpRecord],
    value: impl Fn(&HttpRecord) -> Option<T>,
) -> Option<String> {
    let values: Vec<Option<String>> = records
        .iter()
        .map(|r| value(r).map(|v| v.to_string()))
        .collect();
    if values.iter().all(Option::is_none) {
        return None;
    }
    Some(
        values
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect::<Vec<_>>()
            .join(","),
    )
}

impl<'a> PacketRow<'a> {
    fn new(r: &'a PacketRecord) -> Self {
        let t = r.tcp.as_ref();
        PacketRow {
            frame: r.frame,
            time: r.time.map(|t| t.to_string()),
            src: r.src.map(|a| a.to_string()),
            dst: r.dst.map(|a| a.to_string()),
            sport: t.map(|t| t.source_port),
            dport: t.map(|t| t.destination_port),
            stream: t.map(|t| t.stream),
            flags: t.map(|t| tcp::flag_names(tcp::TcpFlags::from_bits(t.flags))),
            seq: t.map(|t| t.relative_seq),
            ack: t.map(|t| t.relative_ack),
            seq_raw: t.map(|t| t.raw_seq),
            ack_raw: t.map(|t| t.raw_ack),
            len: t.map(|t| t.len),
            win: t.map(|t| t.window),
            frame_len: r.frame_len,
            protocol: r.protocol,
            info: &r.info,
            cap_len: r.cap_len,
            malformed: r.malformed.as_deref(),
            dir: t.map(|t| if t.from_client { "c2s" } else { "s2c" }),
            role: t.and_then(|t| t.role).map(|r| r.as_str()),
            client_state: t.and_then(|t| t.client_state).map(|s| s.as_str()),
            server_state: t.and_then(|t| t.server_state).map(|s| s.as_str()),
            analysis: t.map(|t| t.analysis.names()),
            completeness: t.map(|t| t.completeness),
            http: join_http(&r.http, |h| {
                Some(match h.kind {
                    Kind::Request => "request",
                    Kind::Response => "response",
                })
            }),
            method: join_http(&r.http, |h| h.method.clone()),
            uri: join_http(&r.http, |h| h.uri.clone()),
            version: join_http(&r.http, |h| Some(h.version.clone())),
            status: join_http(&r.http, |h| h.status),
            reason: join_http(&r.http, |h| h.reason.clone()),
            content_type: join_http(&r.http, |h| h.content_type.clone()),
            request_in: join_http(&r.http, |h| h.request_in),
            response_in: join_http(&r.http, |h| h.response_in),
            http_time: join_http(&r.http, |h| h.time_since_request.map(seconds)),
            http_note: join_http(&r.http, |h| Some(h.note.clone())),
        }
    }
}

/// The connection row as exported.
#[derive(Debug, Serialize)]
struct ConnRow {
    stream: u64,
    client: String,
    server: String,
    first_time: String,
    last_time: String,
    duration: String,
    irtt: Option<String>,
    syn_to_synack: Option<String>,
    synack_to_ack: Option<String>,
    packets_c2s: u64,
    packets_s2c: u64,
    bytes_c2s: u64,
    bytes_s2c: u64,
    conn_state: &'static str,
    history: String,
    closed_by: &'static str,
    client_final: &'static str,
    server_final: &'static str,
    completeness: u8,
    retransmissions: u64,
    midstream: bool,
}

fn seconds(value: f64) -> String {
    format!("{value:.9}")
}

impl ConnRow {
    fn new(r: &ConnRecord) -> ConnRow {
        ConnRow {
            stream: r.stream,
            client: r.client.to_string(),
            server: r.server.to_string(),
            first_time: r.first_time.to_string(),
            last_time: r.last_time.to_string(),
            duration: seconds(r.duration()),
            irtt: r.irtt.map(seconds),
            syn_to_synack: r.syn_to_synack.map(seconds),
            synack_to_ack: r.synack_to_ack.map(seconds),
            packets_c2s: r.packets_c2s,
            packets_s2c: r.packets_s2c,
            bytes_c2s: r.bytes_c2s,
            bytes_s2c: r.bytes_s2c,
            conn_state: r.conn_state.as_str(),
            history: r.history.clone(),
            closed_by: r.closed_by,
            client_final: r.client_final.as_str(),
            server_final: r.server_final.as_str(),
            completeness: r.completeness,
            retransmissions: r.retransmissions,
            midstream: r.midstream,
        }
    }
}

/// The exchange row as exported.
#[derive(Debug, Serialize)]
struct ExchangeRow<'a> {
    stream: u64,
    trans_depth: u64,
    request_frame: Option<u64>,
    response_frame: Option<u64>,
    method: Option<&'a str>,
    host: Option<&'a str>,
    uri: Option<&'a str>,
    version: Option<&'a str>,
    status: Option<u16>,
    reason: Option<&'a str>,
    request_body_len: u64,
    response_body_len: u64,
    content_type: Option<&'a str>,
    conditional: bool,
    revalidated: bool,
    persistent: bool,
    connection_after: &'static str,
    time_to_first_byte: Option<String>,
    response_time: Option<String>,
}

impl<'a> ExchangeRow<'a> {
    fn new(e: &'a ExchangeRecord) -> Self {
        ExchangeRow {
            stream: e.stream,
            trans_depth: e.trans_depth,
            request_frame: e.request_frame,
            response_frame: e.response_frame,
            method: e.method.as_deref(),
            host: e.host.as_deref(),
            uri: e.uri.as_deref(),
            version: e.version.as_deref(),
            status: e.status,
            reason: e.reason.as_deref(),
            request_body_len: e.request_body_len,
            response_body_len: e.response_body_len,
            content_type: e.content_type.as_deref(),
            conditional: e.conditional,
            revalidated: e.revalidated,
            persistent: e.persistent,
            connection_after: e.connection_after,
            time_to_first_byte: e.time_to_first_byte.map(seconds),
            response_time: e.response_time.map(seconds),
        }
    }
}

enum Encoder<W: Write> {
    Csv(Box<csv::Writer<W>>),
    PacketCsv(PacketCsv<W>),
    Json(io::BufWriter<W>),
}

/// Writes rows of one table (packets or connections) as CSV or JSON Lines. Rows are
/// pushed one at a time; nothing is buffered beyond the I/O buffer.
pub struct TableWriter<W: Write> {
    encoder: Encoder<W>,
    columns: &'static [&'static str],
    header_written: bool,
}

fn csv_error(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

impl<W: Write> TableWriter<W> {
    fn new(format: Format, columns: &'static [&'static str], out: W) -> Self {
        let encoder = match format {
            // The header is written by us, so that an empty table still has one.
            Format::Csv if columns == PACKET_COLUMNS => Encoder::PacketCsv(PacketCsv::new(out)),
            Format::Csv => Encoder::Csv(Box::new(
                csv::WriterBuilder::new()
                    .has_headers(false)
                    .buffer_capacity(1 << 16)
                    .from_writer(out),
            )),
            Format::JsonLines => Encoder::Json(io::BufWriter::with_capacity(64 * 1024, out)),
        };
        TableWriter {
            encoder,
            columns,
            header_written: false,
        }
    }

    /// A writer for per-packet rows.
    pub fn packets(format: Format, out: W) -> Self {
        Self::new(format, PACKET_COLUMNS, out)
    }

    /// A writer for per-exchange rows.
    pub fn exchanges(format: Format, out: W) -> Self {
        Self::new(format, EXCHANGE_COLUMNS, out)
    }

    /// A writer for per-connection rows.
    pub fn connections(format: Format, out: W) -> Self {
        Self::new(format, CONN_COLUMNS, out)
    }

    fn ensure_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            match &mut self.encoder {
                Encoder::Csv(writer) => writer.write_record(self.columns).map_err(csv_error)?,
                Encoder::PacketCsv(writer) => writer.header(self.columns)?,
                Encoder::Json(_) => {}
            }
        }
        Ok(())
    }

    fn write<S: Serialize>(&mut self, row: &S) -> io::Result<()> {
        self.ensure_header()?;
        match &mut self.encoder {
            Encoder::Csv(writer) => writer.serialize(row).map_err(csv_error),
            Encoder::PacketCsv(_) => Err(io::Error::other("not a packet row")),
            Encoder::Json(out) => {
                serde_json::to_writer(&mut *out, row)?;
                out.write_all(b"\n")
            }
        }
    }

    /// Writes one packet row.
    pub fn packet(&mut self, record: &PacketRecord) -> io::Result<()> {
        self.ensure_header()?;
        match &mut self.encoder {
            // The hot path: one row per frame, formatted straight into a byte buffer (the
            // same cells as the serde path, which `csv_fast_path_equals_serde` checks).
            Encoder::PacketCsv(writer) => writer.packet(record),
            _ => self.write(&PacketRow::new(record)),
        }
    }

    /// Writes one exchange row.
    pub fn exchange(&mut self, record: &ExchangeRecord) -> io::Result<()> {
        self.write(&ExchangeRow::new(record))
    }

    /// Writes one connection row.
    pub fn connection(&mut self, record: &ConnRecord) -> io::Result<()> {
        self.write(&ConnRow::new(record))
    }

    /// Writes the header if no row was written, and flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        self.flush()
    }

    /// Hands every row written so far to the output and flushes it (a live capture's rows
    /// should not wait in a buffer for the next packet).
    pub fn flush(&mut self) -> io::Result<()> {
        self.ensure_header()?;
        match &mut self.encoder {
            Encoder::Csv(writer) => writer.flush(),
            Encoder::PacketCsv(writer) => writer.flush(),
            Encoder::Json(out) => out.flush(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wirenote_core::conn::lifecycle::{Role, TcpState};
    use wirenote_core::record::TcpRecord;
    use wirenote_core::Timestamp;

    #[test]
    fn csv_fast_path_equals_serde() {
        let mut with_http = syn();
        with_http.http.push(wirenote_core::record::HttpRecord {
            kind: Kind::Response,
            method: None,
            uri: None,
            version: "HTTP/1.1".into(),
            status: Some(304),
            reason: Some("Not Modified".into()),
            content_type: None,
            request_in: Some(21),
            response_in: None,
            time_since_request: Some(0.000643),
            note: "revalidated;persistent".into(),
        });
        let bare = PacketRecord {
            frame: 9,
            protocol: "ARP",
            ..PacketRecord::default()
        };
        let mut odd = syn();
        odd.time = Some(Timestamp {
            secs: -2,
            nanos: 999_999_999,
        });
        odd.src = Some("2001:db8::1".parse().unwrap());
        odd.info = "say \"hi\", twice\r\n".into();
        odd.malformed = Some("cut, short".into());
        for record in [syn(), with_http, bare, odd] {
            let mut fast = Vec::new();
            let mut table = TableWriter::packets(Format::Csv, &mut fast);
            table.packet(&record).unwrap();
            table.finish().unwrap();
            drop(table);
            let mut slow = csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(Vec::new());
            slow.write_record(PACKET_COLUMNS).unwrap();
            slow.serialize(PacketRow::new(&record)).unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(slow.into_inner().unwrap()).unwrap()
            );
        }
    }

    #[test]
    fn empty_csv_table_still_has_its_header() {
        let mut out = Vec::new();
        let mut sink = TableWriter::connections(Format::Csv, &mut out);
        sink.finish().unwrap();
        drop(sink);
        assert_eq!(
            String::from_utf8(out).unwrap().trim_end(),
            CONN_COLUMNS.join(",")
        );
    }

    fn syn() -> PacketRecord {
        PacketRecord {
            frame: 1,
            time: Some(Timestamp {
                secs: 1700000000,
                nanos: 5,
            }),
            src: Some("127.0.0.1".parse().unwrap()),
            dst: Some("127.0.0.1".parse().unwrap()),
            tcp: Some(TcpRecord {
                source_port: 18508,
                destination_port: 5000,
                flags: tcp::TcpFlags::SYN.bits(),
                raw_seq: 77,
                len: 0,
                window: 65535,
                from_client: true,
                role: Some(Role::HandshakeSyn),
                client_state: Some(TcpState::SynSent),
                server_state: Some(TcpState::Listen),
                ..TcpRecord::default()
            }),
            frame_len: 74,
            cap_len: 74,
            protocol: "TCP",
            info: "18508 → 5000 [SYN] Seq=0 Win=65535 Len=0".into(),
            malformed: None,
            http: Vec::new(),
        }
    }

    #[test]
    fn csv_header_and_row() {
        let mut out = Vec::new();
        let mut sink = TableWriter::packets(Format::Csv, &mut out);
        sink.packet(&syn()).unwrap();
        sink.finish().unwrap();
        drop(sink);
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), PACKET_COLUMNS.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "1,1700000000.000000005,127.0.0.1,127.0.0.1,18508,5000,0,SYN,0,0,77,0,0,65535,74,TCP,18508 → 5000 [SYN] Seq=0 Win=65535 Len=0,74,,c2s,handshake-syn,SYN_SENT,LISTEN,,0,,,,,,,,,,,"
        );
    }

    #[test]
    fn jsonl_uses_the_same_keys() {
        let mut out = Vec::new();
        let mut sink = TableWriter::packets(Format::JsonLines, &mut out);
        sink.packet(&syn()).unwrap();
        sink.finish().unwrap();
        drop(sink);
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        let mut expected = PACKET_COLUMNS.to_vec();
        expected.sort_unstable();
        let mut keys_sorted = keys.clone();
        keys_sorted.sort_unstable();
        assert_eq!(keys_sorted, expected);
        assert_eq!(value["flags"], "SYN");
        assert_eq!(value["malformed"], serde_json::Value::Null);
        assert_eq!(value["role"], "handshake-syn");
    }
}
