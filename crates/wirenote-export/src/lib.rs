//! wirenote-export: writes [`PacketRecord`]s as CSV or JSON Lines.
//!
//! Every table's columns — names, order, types, meaning, the tshark or Zeek field each
//! mirrors — are defined once, in [`schema`]; the README's column tables are generated
//! from it, and every writer here (CSV, JSON Lines, Lua metadata, pcapng comments) takes
//! its columns and cells from it. Writers are push sinks: the caller feeds one record at a
//! time and nothing is buffered beyond the writer's I/O buffer.
//!
//! ```
//! use wirenote_export::schema::{ConnColumn, Table};
//! use wirenote_export::{Format, TableWriter};
//!
//! let mut out = Vec::new();
//! let mut table = TableWriter::connections(Format::Csv, &mut out);
//! table.finish().unwrap();
//! drop(table);
//! let header: Vec<&str> = ConnColumn::ALL.iter().map(|c| c.name()).collect();
//! assert_eq!(String::from_utf8(out).unwrap().trim_end(), header.join(","));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use std::collections::BTreeSet;
use std::io::{self, Write};

use wirenote_core::capture::Timestamp;
use wirenote_core::record::{ConnRecord, ExchangeRecord, PacketRecord};

mod csv_writer;
mod explain;
mod json_lines;
mod lua;
pub mod parquet;
mod pcapng;
pub mod schema;
mod sinks;
mod xlsx;

use csv_writer::CsvWriter;
use json_lines::JsonLines;
use schema::{ConnColumn, ExchangeColumn, PacketColumn, Selection, Table};

pub use explain::{
    explain_stream, ladder_svg, report_html, Ladder, Language, ReportInput, GAP_SECONDS,
    MAX_ARROWS, MAX_LADDERS,
};
pub use lua::{LuaWriter, LUA_FORMAT_VERSION};
pub use parquet::{
    split_packet_parquet, ConnParquet, ExchangeParquet, PacketParquet, PacketParquetRows,
    ParquetEncoder, ParquetTable,
};
pub use pcapng::{annotation, AnnotatedPcapNg};
pub use sinks::{AnnotatedCopy, ConnTable, ExchangeTable, LuaMetadata, PacketTable};
pub use xlsx::{Sheets, Workbook, WorkbookInfo, EXCEL_MAX_ROWS};

/// The size of the blocks the text writers (CSV, JSON lines, Lua) hand to their output:
/// large enough that each write is a large one, and what a buffer in front of the output
/// may be at most for those blocks to pass through it without a copy.
pub const WRITE_BLOCK: usize = 64 * 1024;

/// How a CSV is written (see the CSV writer's documentation).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CsvStyle {
    /// Write text cells that look like formulas as they are, without the leading `'`
    /// (for tools that compare with tshark's text; never for a file a person opens).
    pub verbatim: bool,
    /// For Excel opened by double-click: a UTF-8 byte-order mark and CRLF line ends.
    pub excel: bool,
}

/// Which rows the tables keep: all, or those of some connections (`--stream`). Frame
/// numbers and `time_rel` keep their values: the rows left out are only not written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Streams(Option<BTreeSet<u64>>);

impl Streams {
    /// Every row.
    pub fn all() -> Streams {
        Streams(None)
    }

    /// The rows of these connections (`tcp.stream`); packet rows that are not TCP go.
    pub fn only(streams: impl IntoIterator<Item = u64>) -> Streams {
        Streams(Some(streams.into_iter().collect()))
    }

    /// Whether a row of connection `stream` (`None`: not TCP) is written.
    #[inline]
    pub fn keeps(&self, stream: Option<u64>) -> bool {
        match &self.0 {
            None => true,
            Some(set) => stream.is_some_and(|s| set.contains(&s)),
        }
    }
}

/// What the tables of one output are made of: their columns, their rows, the CSV style.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableOptions {
    /// The per-packet table's columns.
    pub packets: Selection<PacketColumn>,
    /// The per-connection table's columns.
    pub connections: Selection<ConnColumn>,
    /// The per-exchange table's columns.
    pub exchanges: Selection<ExchangeColumn>,
    /// The rows kept.
    pub streams: Streams,
    /// How a CSV is written.
    pub csv: CsvStyle,
}

/// `text` as a CSV cell a spreadsheet will not run: with a leading `'` when it looks like
/// a formula (see [`CsvStyle::verbatim`]), as it is otherwise.
pub fn neutralise(text: &str) -> std::borrow::Cow<'_, str> {
    if csv_writer::looks_like_formula(text.as_bytes()) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

enum Encoder<W: Write> {
    Csv(CsvWriter<W>),
    Json(JsonLines<W>),
}

impl<W: Write> Encoder<W> {
    fn header<T: Table>(&mut self, columns: &Selection<T>) -> io::Result<()> {
        match self {
            Encoder::Csv(writer) => writer.header(columns.columns()),
            Encoder::Json(_) => Ok(()),
        }
    }

    #[inline]
    fn row<T: Table>(&mut self, columns: &Selection<T>, record: &T::Record) -> io::Result<()> {
        match self {
            Encoder::Csv(writer) => writer.row(columns, record),
            Encoder::Json(writer) => writer.row(columns, record),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Csv(writer) => writer.flush(),
            Encoder::Json(writer) => writer.flush(),
        }
    }

    fn set_origin(&mut self, origin: Timestamp) {
        match self {
            Encoder::Csv(writer) => writer.set_origin(origin),
            Encoder::Json(writer) => writer.set_origin(origin),
        }
    }
}

/// Which table a writer writes, with its columns in order.
enum Columns {
    Packets(Selection<PacketColumn>),
    Exchanges(Selection<ExchangeColumn>),
    Connections(Selection<ConnColumn>),
}

/// Writes rows of one table (packets, exchanges or connections) as CSV or JSON Lines.
/// Rows are pushed one at a time; nothing is buffered beyond the I/O buffer.
pub struct TableWriter<W: Write> {
    encoder: Encoder<W>,
    columns: Columns,
    header_written: bool,
    origin_set: bool,
}

fn wrong_table(expected: &str) -> io::Error {
    io::Error::other(format!("not a table of {expected}"))
}

impl<W: Write> TableWriter<W> {
    fn new(format: Format, columns: Columns, out: W) -> Self {
        let encoder = match format {
            Format::Csv => Encoder::Csv(CsvWriter::new(out)),
            Format::JsonLines => Encoder::Json(JsonLines::new(out)),
        };
        TableWriter {
            encoder,
            columns,
            header_written: false,
            origin_set: false,
        }
    }

    /// How a CSV is written (no effect on JSON Lines).
    pub fn with_csv_style(mut self, style: CsvStyle) -> Self {
        if let Encoder::Csv(writer) = &mut self.encoder {
            writer.set_style(style);
        }
        self
    }

    /// The first frame's time, which `time_rel` counts from: the first call sets it,
    /// later ones change nothing (a sink calls it with every frame's time).
    #[inline]
    pub fn origin(&mut self, time: Option<Timestamp>) {
        if !self.origin_set {
            if let Some(time) = time {
                self.origin_set = true;
                self.encoder.set_origin(time);
            }
        }
    }

    /// A writer for per-packet rows.
    pub fn packets(format: Format, out: W) -> Self {
        Self::packets_of(format, Selection::All, out)
    }

    /// A writer for per-exchange rows.
    pub fn exchanges(format: Format, out: W) -> Self {
        Self::exchanges_of(format, Selection::All, out)
    }

    /// A writer for per-connection rows.
    pub fn connections(format: Format, out: W) -> Self {
        Self::connections_of(format, Selection::All, out)
    }

    /// A writer for these columns of per-packet rows.
    pub fn packets_of(format: Format, columns: Selection<PacketColumn>, out: W) -> Self {
        Self::new(format, Columns::Packets(columns), out)
    }

    /// A writer for these columns of per-exchange rows.
    pub fn exchanges_of(format: Format, columns: Selection<ExchangeColumn>, out: W) -> Self {
        Self::new(format, Columns::Exchanges(columns), out)
    }

    /// A writer for these columns of per-connection rows.
    pub fn connections_of(format: Format, columns: Selection<ConnColumn>, out: W) -> Self {
        Self::new(format, Columns::Connections(columns), out)
    }

    /// Writes the header first (ours, not the encoder's, so that an empty table still has
    /// one).
    fn ensure_header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            match &self.columns {
                Columns::Packets(columns) => self.encoder.header(columns)?,
                Columns::Exchanges(columns) => self.encoder.header(columns)?,
                Columns::Connections(columns) => self.encoder.header(columns)?,
            }
        }
        Ok(())
    }

    /// Writes one packet row.
    #[inline]
    pub fn packet(&mut self, record: &PacketRecord) -> io::Result<()> {
        self.ensure_header()?;
        match &self.columns {
            Columns::Packets(columns) => self.encoder.row(columns, record),
            _ => Err(wrong_table("packets")),
        }
    }

    /// Writes one exchange row.
    pub fn exchange(&mut self, record: &ExchangeRecord) -> io::Result<()> {
        self.ensure_header()?;
        match &self.columns {
            Columns::Exchanges(columns) => self.encoder.row(columns, record),
            _ => Err(wrong_table("HTTP exchanges")),
        }
    }

    /// Writes one connection row.
    pub fn connection(&mut self, record: &ConnRecord) -> io::Result<()> {
        self.ensure_header()?;
        match &self.columns {
            Columns::Connections(columns) => self.encoder.row(columns, record),
            _ => Err(wrong_table("connections")),
        }
    }

    /// Writes the header if no row was written, and flushes.
    pub fn finish(&mut self) -> io::Result<()> {
        self.flush()
    }

    /// Hands every row written so far to the output and flushes it (a live capture's rows
    /// should not wait in a buffer for the next packet).
    pub fn flush(&mut self) -> io::Result<()> {
        self.ensure_header()?;
        self.encoder.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use schema::Cell;
    use wirenote_core::conn::lifecycle::{Role, Side, TcpState};
    use wirenote_core::conn::summary::ConnState;
    use wirenote_core::record::Kind;
    use wirenote_core::record::{BodyEnd, HttpRecord, TcpRecord};
    use wirenote_core::wire::tcp;

    /// The reference CSV encoder: the `csv` crate, each cell spelled by its `Display`.
    fn reference_csv<T: Table>(records: &[T::Record]) -> String {
        let mut csv = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::new());
        csv.write_record(T::ALL.iter().map(|c| c.name())).unwrap();
        for record in records {
            let mut scratch = String::new();
            let cells: Vec<String> = T::ALL
                .iter()
                .map(|c| match c.cell(record, &mut scratch) {
                    Cell::Since(t) => {
                        let mut text = String::new();
                        schema::write_elapsed(&mut text, Cell::since_nanos(t, Some(ORIGIN)))
                            .unwrap();
                        text
                    }
                    other => other.to_string(),
                })
                .collect();
            csv.write_record(&cells).unwrap();
        }
        String::from_utf8(csv.into_inner().unwrap()).unwrap()
    }

    /// The first frame's time in these tests.
    const ORIGIN: Timestamp = Timestamp {
        secs: 1700000000,
        nanos: 0,
    };

    /// An output the test keeps a handle on.
    #[derive(Clone, Default)]
    struct Shared(std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().write(buf)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// What `new`'s writer writes of `records`, each written by `write`.
    fn table_text<R>(
        format: Format,
        records: &[R],
        new: fn(Format, Shared) -> TableWriter<Shared>,
        write: fn(&mut TableWriter<Shared>, &R) -> io::Result<()>,
    ) -> String {
        let out = Shared::default();
        let mut table = new(format, out.clone());
        table.origin(Some(ORIGIN));
        table.origin(Some(Timestamp::default()));
        for record in records {
            write(&mut table, record).unwrap();
        }
        table.finish().unwrap();
        let bytes = out.0.borrow().clone();
        String::from_utf8(bytes).unwrap()
    }

    fn packets_text(format: Format, records: &[PacketRecord]) -> String {
        table_text(format, records, TableWriter::packets, TableWriter::packet)
    }

    #[test]
    fn csv_fast_path_equals_reference() {
        let packets = packet_records();
        assert_eq!(
            packets_text(Format::Csv, &packets),
            reference_csv::<PacketColumn>(&packets)
        );
        let conns = [conn_record()];
        assert_eq!(
            table_text(
                Format::Csv,
                &conns,
                TableWriter::connections,
                TableWriter::connection
            ),
            reference_csv::<ConnColumn>(&conns)
        );
        let exchanges = exchange_records();
        assert_eq!(
            table_text(
                Format::Csv,
                &exchanges,
                TableWriter::exchanges,
                TableWriter::exchange
            ),
            reference_csv::<ExchangeColumn>(&exchanges)
        );
    }

    #[test]
    fn empty_csv_table_still_has_its_header() {
        let mut out = Vec::new();
        let mut sink = TableWriter::connections(Format::Csv, &mut out);
        sink.finish().unwrap();
        drop(sink);
        let header: Vec<&str> = ConnColumn::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(String::from_utf8(out).unwrap().trim_end(), header.join(","));
    }

    #[test]
    fn a_row_goes_only_to_its_table() {
        let mut out = Vec::new();
        let mut sink = TableWriter::connections(Format::Csv, &mut out);
        assert!(sink.packet(&syn()).is_err());
    }

    pub(crate) fn syn() -> PacketRecord {
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
            info_summary: None,
            malformed: None,
            http: Vec::new(),
            tunnel: Default::default(),
        }
    }

    fn not_modified() -> HttpRecord {
        HttpRecord {
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
            validators: None,
        }
    }

    /// Records that reach every kind of cell: TCP and not, HTTP (pipelined too), IPv6,
    /// text that must be quoted, an out-of-range pcap fraction, negative time.
    pub(crate) fn packet_records() -> Vec<PacketRecord> {
        let mut with_http = syn();
        with_http.http.push(not_modified());
        let mut pipelined = syn();
        pipelined.tcp.as_mut().unwrap().from_client = false;
        pipelined.tcp.as_mut().unwrap().flags = (tcp::TcpFlags::PSH | tcp::TcpFlags::ACK).bits();
        pipelined.http.push(HttpRecord {
            kind: Kind::Request,
            method: Some("GET".into()),
            uri: Some("/a,b".into()),
            version: "HTTP/1.1".into(),
            status: None,
            reason: None,
            content_type: None,
            request_in: None,
            response_in: Some(4),
            time_since_request: None,
            note: "keep-alive".into(),
            validators: None,
        });
        pipelined.http.push(not_modified());
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
        let mut out_of_range = syn();
        out_of_range.time = Some(Timestamp {
            secs: 3,
            nanos: 1_500_000_000,
        });
        vec![syn(), with_http, pipelined, bare, odd, out_of_range]
    }

    pub(crate) fn conn_record() -> ConnRecord {
        ConnRecord {
            stream: 3,
            client: "127.0.0.1:50176".parse().unwrap(),
            server: "[2001:db8::1]:5000".parse().unwrap(),
            first_time: Timestamp {
                secs: 1700000000,
                nanos: 5,
            },
            last_time: Timestamp {
                secs: 1700000001,
                nanos: 0,
            },
            irtt: Some(0.000125),
            syn_to_synack: Some(0.0001),
            synack_to_ack: None,
            packets_c2s: 10,
            packets_s2c: 8,
            bytes_c2s: 420,
            bytes_s2c: 9000,
            conn_state: ConnState::SF,
            history: "ShADadFf".into(),
            zeek_orig: Side::Client,
            closed_by: "server",
            client_final: TcpState::Closed,
            server_final: TcpState::TimeWait,
            completeness: 31,
            retransmissions: 0,
            midstream: false,
            tunnel: {
                let mut t = wirenote_core::wire::tunnel::Tunnels::default();
                t.push(wirenote_core::wire::tunnel::Encapsulation::GreInUdp);
                t.push(wirenote_core::wire::tunnel::Encapsulation::Gre);
                t
            },
        }
    }

    pub(crate) fn exchange_records() -> Vec<ExchangeRecord> {
        let revalidated = ExchangeRecord {
            stream: 1,
            time: Timestamp {
                secs: 1700000000,
                nanos: 123_456_789,
            },
            trans_depth: 2,
            request_frame: Some(21),
            response_frame: Some(23),
            method: Some("GET".into()),
            host: Some("127.0.0.1:5000".into()),
            uri: Some("/static/img/logo.jpg?a=\"1\",2".into()),
            version: Some("HTTP/1.1".into()),
            status: Some(304),
            reason: Some("Not Modified".into()),
            request_body_len: 0,
            response_body_len: 0,
            request_body_end: BodyEnd::Complete,
            response_body_end: BodyEnd::Complete,
            content_type: None,
            conditional: true,
            revalidated: true,
            persistent: true,
            request_keeps_alive: true,
            time_to_first_byte: Some(0.0006),
            response_time: Some(0.000643),
            connection_after: "reused",
        };
        let orphan = ExchangeRecord {
            trans_depth: 0,
            request_frame: None,
            method: None,
            host: None,
            uri: None,
            conditional: false,
            revalidated: false,
            persistent: false,
            time_to_first_byte: None,
            response_time: None,
            connection_after: "open",
            ..revalidated.clone()
        };
        vec![revalidated, orphan]
    }

    #[test]
    fn csv_header_and_row() {
        let text = packets_text(Format::Csv, &[syn()]);
        let mut lines = text.lines();
        let header: Vec<&str> = PacketColumn::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(lines.next().unwrap(), header.join(","));
        assert_eq!(
            lines.next().unwrap(),
            "1,1700000000.000000005,0.000000005,127.0.0.1,127.0.0.1,18508,5000,0,SYN,0,0,77,0,0,65535,74,TCP,18508 → 5000 [SYN] Seq=0 Win=65535 Len=0,74,,c2s,handshake-syn,SYN_SENT,LISTEN,,0,,,,,,,,,,,,"
        );
    }

    /// Pins which values are JSON numbers, strings and `null`.
    #[test]
    fn jsonl_rows_are_typed() {
        let mut with_http = syn();
        with_http.http.push(not_modified());
        assert_eq!(
            packets_text(Format::JsonLines, &[with_http]),
            concat!(
                r#"{"frame":1,"time":"1700000000.000000005","time_rel":5e-9,"#,
                r#""src":"127.0.0.1","dst":"127.0.0.1","#,
                r#""sport":18508,"dport":5000,"stream":0,"flags":"SYN","seq":0,"ack":0,"seq_raw":77,"#,
                r#""ack_raw":0,"len":0,"win":65535,"frame_len":74,"protocol":"TCP","#,
                r#""info":"18508 → 5000 [SYN] Seq=0 Win=65535 Len=0","cap_len":74,"malformed":null,"#,
                r#""dir":"c2s","role":"handshake-syn","client_state":"SYN_SENT","#,
                r#""server_state":"LISTEN","analysis":null,"completeness":0,"http":"response","#,
                r#""method":null,"uri":null,"version":"HTTP/1.1","status":"304","#,
                r#""reason":"Not Modified","content_type":null,"request_in":"21","response_in":null,"#,
                r#""http_time":"0.000643000","http_note":"revalidated;persistent","tunnel":null}"#,
                "\n"
            )
        );
        let conns = [conn_record()];
        assert_eq!(
            table_text(
                Format::JsonLines,
                &conns,
                TableWriter::connections,
                TableWriter::connection
            ),
            concat!(
                r#"{"stream":3,"client":"127.0.0.1:50176","server":"[2001:db8::1]:5000","#,
                r#""first_time":"1700000000.000000005","time_rel":5e-9,"#,
                r#""last_time":"1700000001.000000000","#,
                r#""duration":0.999999995,"irtt":0.000125,"syn_to_synack":0.0001,"#,
                r#""synack_to_ack":null,"packets_c2s":10,"packets_s2c":8,"bytes_c2s":420,"#,
                r#""bytes_s2c":9000,"conn_state":"SF","history":"ShADadFf","zeek_orig":"client","#,
                r#""closed_by":"server","#,
                r#""client_final":"CLOSED","server_final":"TIME_WAIT","completeness":31,"#,
                r#""retransmissions":0,"midstream":false,"tunnel":"GRE-in-UDP/GRE"}"#,
                "\n"
            )
        );
    }

    #[test]
    fn jsonl_keys_are_the_columns() {
        for record in packet_records() {
            let text = packets_text(Format::JsonLines, &[record]);
            let value: serde_json::Value = serde_json::from_str(&text).unwrap();
            let mut keys: Vec<&str> = value
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            let mut expected: Vec<&str> = PacketColumn::ALL.iter().map(|c| c.name()).collect();
            keys.sort_unstable();
            expected.sort_unstable();
            assert_eq!(keys, expected);
        }
    }
}
