//! Where rows go: the per-packet sink (a table, or Lua metadata) and connection rows in
//! stream order.

use std::collections::BTreeMap;
use std::io::{self, Write};

use wirenote_core::record::ConnRecord;
use wirenote_core::Conn;
use wirenote_export::{Format, LuaWriter, TableWriter};

use crate::args::AnnotateFormat;

/// Where per-packet rows go: a table, or Lua metadata for the Wireshark plugin (which
/// also needs the connections' summaries, written at the end).
pub(crate) enum RowSink<'a> {
    Table(TableWriter<Box<dyn Write + Send + 'a>>),
    Lua(LuaWriter<Box<dyn Write + Send + 'a>>, Vec<ConnRecord>),
}

impl<'a> RowSink<'a> {
    /// A sink for `format`; `capture_name` labels Lua metadata.
    pub(crate) fn new(
        format: AnnotateFormat,
        out: Box<dyn Write + Send + 'a>,
        capture_name: &str,
    ) -> io::Result<Self> {
        Ok(match format {
            AnnotateFormat::Csv => RowSink::Table(TableWriter::packets(Format::Csv, out)),
            AnnotateFormat::Jsonl => RowSink::Table(TableWriter::packets(Format::JsonLines, out)),
            AnnotateFormat::Lua => RowSink::Lua(LuaWriter::new(out, capture_name)?, Vec::new()),
        })
    }

    pub(crate) fn packet(
        &mut self,
        record: &wirenote_core::record::PacketRecord,
    ) -> io::Result<()> {
        match self {
            RowSink::Table(table) => table.packet(record),
            RowSink::Lua(lua, _) => lua.packet(record),
        }
    }

    /// Connections that ended (only Lua metadata keeps them).
    pub(crate) fn connections(&mut self, conns: &[Conn]) {
        if let RowSink::Lua(_, kept) = self {
            kept.extend(conns.iter().map(ConnRecord::from_conn));
        }
    }

    /// Hands the rows so far to the output.
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match self {
            RowSink::Table(table) => table.flush(),
            RowSink::Lua(lua, _) => lua.flush(),
        }
    }

    pub(crate) fn finish(self) -> io::Result<()> {
        match self {
            RowSink::Table(mut table) => table.finish(),
            RowSink::Lua(lua, mut conns) => lua.finish(&mut conns),
        }
    }
}

/// Emits connection rows in stream order although connections end in any order: a row
/// waits until every lower stream has been written.
#[derive(Default)]
pub(crate) struct InOrder {
    next: u64,
    waiting: BTreeMap<u64, ConnRecord>,
}

impl InOrder {
    /// Queues finished connections and writes every row whose turn has come; returns how
    /// many rows were written.
    pub(crate) fn push<W: Write>(
        &mut self,
        conns: Vec<Conn>,
        table: &mut TableWriter<W>,
    ) -> io::Result<u64> {
        for conn in conns {
            self.waiting
                .insert(conn.stream, ConnRecord::from_conn(&conn));
        }
        let mut written = 0;
        while let Some(record) = self.waiting.remove(&self.next) {
            table.connection(&record)?;
            self.next += 1;
            written += 1;
        }
        Ok(written)
    }
}
