//! wirenote-export: writes [`PacketRecord`]s as CSV or JSON Lines.
//!
//! The column set and order are the per-packet contract documented in the README; CSV
//! and JSON Lines use the same keys. Writers are push sinks: the caller feeds one record
//! at a time and nothing is buffered beyond the writer's I/O buffer.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::io::{self, Write};

use serde::Serialize;
use wirenote_core::record::PacketRecord;
use wirenote_core::tcp;

/// Per-packet columns, in order.
pub const PACKET_COLUMNS: &[&str] = &[
    "frame",
    "time",
    "src",
    "dst",
    "sport",
    "dport",
    "stream",
    "flags",
    "seq",
    "ack",
    "seq_raw",
    "ack_raw",
    "len",
    "win",
    "frame_len",
    "protocol",
    "info",
    "cap_len",
    "malformed",
];

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

/// A destination for rows.
pub trait Sink {
    /// Writes one packet row.
    fn packet(&mut self, record: &PacketRecord) -> io::Result<()>;
    /// Flushes everything; call once at the end.
    fn finish(&mut self) -> io::Result<()>;
}

/// Builds the sink for `format` over `out`.
pub fn packet_sink<'w, W: Write + 'w>(format: Format, out: W) -> Box<dyn Sink + 'w> {
    match format {
        Format::Csv => Box::new(CsvSink::new(out)),
        Format::JsonLines => Box::new(JsonLinesSink::new(out)),
    }
}

/// The row as exported: one field per column, empty/null where absent.
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
            flags: t.map(|t| tcp::flag_names(t.flags)),
            seq: t.map(|t| t.relative_seq),
            ack: t.map(|t| t.relative_ack),
            seq_raw: t.map(|t| t.raw_seq),
            ack_raw: t.map(|t| t.raw_ack),
            len: t.map(|t| t.len),
            win: t.map(|t| t.window),
            frame_len: r.frame_len,
            protocol: &r.protocol,
            info: &r.info,
            cap_len: r.cap_len,
            malformed: r.malformed.as_deref(),
        }
    }
}

/// CSV with a header row.
pub struct CsvSink<W: Write> {
    writer: csv::Writer<W>,
    header_written: bool,
}

impl<W: Write> CsvSink<W> {
    fn ensure_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            self.writer
                .write_record(PACKET_COLUMNS)
                .map_err(csv_error)?;
        }
        Ok(())
    }
}

impl<W: Write> CsvSink<W> {
    /// A CSV sink over `out`.
    pub fn new(out: W) -> Self {
        // The header is written up front so that a capture with no frames still yields a
        // valid table.
        let writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(out);
        CsvSink {
            writer,
            header_written: false,
        }
    }
}

fn csv_error(e: csv::Error) -> io::Error {
    match e.into_kind() {
        csv::ErrorKind::Io(e) => e,
        other => io::Error::other(format!("{other:?}")),
    }
}

impl<W: Write> Sink for CsvSink<W> {
    fn packet(&mut self, record: &PacketRecord) -> io::Result<()> {
        self.ensure_header()?;
        self.writer
            .serialize(PacketRow::new(record))
            .map_err(csv_error)
    }

    fn finish(&mut self) -> io::Result<()> {
        self.ensure_header()?;
        self.writer.flush()
    }
}

/// JSON Lines: one object per row, keys as the CSV header.
pub struct JsonLinesSink<W: Write> {
    out: io::BufWriter<W>,
}

impl<W: Write> JsonLinesSink<W> {
    /// A JSON Lines sink over `out`.
    pub fn new(out: W) -> Self {
        JsonLinesSink {
            out: io::BufWriter::with_capacity(64 * 1024, out),
        }
    }
}

impl<W: Write> Sink for JsonLinesSink<W> {
    fn packet(&mut self, record: &PacketRecord) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, &PacketRow::new(record))?;
        self.out.write_all(b"\n")
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wirenote_core::capture::Timestamp;
    use wirenote_core::record::TcpRecord;

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
                flags: tcp::flags::SYN,
                raw_seq: 77,
                len: 0,
                window: 65535,
                ..TcpRecord::default()
            }),
            frame_len: 74,
            cap_len: 74,
            protocol: "TCP".into(),
            info: "18508 → 5000 [SYN] Seq=0 Win=65535 Len=0".into(),
            malformed: None,
        }
    }

    #[test]
    fn csv_header_and_row() {
        let mut out = Vec::new();
        let mut sink = CsvSink::new(&mut out);
        sink.packet(&syn()).unwrap();
        sink.finish().unwrap();
        drop(sink);
        let text = String::from_utf8(out).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next().unwrap(), PACKET_COLUMNS.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "1,1700000000.000000005,127.0.0.1,127.0.0.1,18508,5000,0,SYN,0,0,77,0,0,65535,74,TCP,18508 → 5000 [SYN] Seq=0 Win=65535 Len=0,74,"
        );
    }

    #[test]
    fn jsonl_uses_the_same_keys() {
        let mut out = Vec::new();
        let mut sink = JsonLinesSink::new(&mut out);
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
    }
}
