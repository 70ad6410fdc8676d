//! Every output as a [`Sink`] for wirenote-core's drive loop: the per-packet table, the
//! Lua metadata, the annotated pcapng copy, the connection and exchange tables.

use std::collections::BTreeMap;
use std::io::{self, Write};

use wirenote_core::record::{ConnRecord, ExchangeRecord, PacketRecord};
use wirenote_core::{Frame, Sink, Wants};

use crate::{annotation, AnnotatedPcapNg, Format, LuaWriter, Streams, TableOptions, TableWriter};

/// One row per packet, as CSV or JSON Lines.
pub struct PacketTable<W: Write> {
    table: TableWriter<W>,
    streams: Streams,
}

impl<W: Write> PacketTable<W> {
    /// A packet table in `format` on `out`.
    pub fn new(format: Format, out: W) -> Self {
        Self::with_options(format, &TableOptions::default(), out)
    }

    /// A packet table in `format` on `out`, with these columns, rows and CSV style.
    pub fn with_options(format: Format, options: &TableOptions, out: W) -> Self {
        PacketTable {
            table: TableWriter::packets_of(format, options.packets.clone(), out)
                .with_csv_style(options.csv),
            streams: options.streams.clone(),
        }
    }
}

impl<W: Write> Sink for PacketTable<W> {
    #[inline]
    fn packet(&mut self, frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()> {
        self.table.origin(frame.timestamp);
        if !self.streams.keeps(row.tcp.as_ref().map(|t| t.stream)) {
            return Ok(());
        }
        self.table.packet(row)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.table.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        self.table.finish()
    }
}

/// The Wireshark plugin's metadata: frames as they come, connections at the end.
pub struct LuaMetadata<W: Write> {
    lua: Option<LuaWriter<W>>,
    conns: Vec<ConnRecord>,
}

impl<W: Write> LuaMetadata<W> {
    /// Starts the metadata of the capture called `capture` (its preamble is written now).
    pub fn new(out: W, capture: &str) -> io::Result<Self> {
        Ok(LuaMetadata {
            lua: Some(LuaWriter::new(out, capture)?),
            conns: Vec::new(),
        })
    }

    fn writer(&mut self) -> io::Result<&mut LuaWriter<W>> {
        self.lua
            .as_mut()
            .ok_or_else(|| io::Error::other("Lua metadata already finished"))
    }
}

impl<W: Write> Sink for LuaMetadata<W> {
    fn wants(&self) -> Wants {
        Wants {
            connections: true,
            exchanges: false,
            ignores_rows: false,
        }
    }

    fn packet(&mut self, _frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()> {
        self.writer()?.packet(row)
    }

    fn connections(&mut self, conns: &[ConnRecord]) -> io::Result<()> {
        self.conns.extend_from_slice(conns);
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer()?.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.lua.take() {
            Some(lua) => lua.finish(&mut self.conns),
            None => Ok(()),
        }
    }
}

/// A pcapng copy of the capture with every packet's annotation as its comment.
pub struct AnnotatedCopy<W: Write> {
    copy: Option<AnnotatedPcapNg<W>>,
}

impl<W: Write> AnnotatedCopy<W> {
    /// Starts the copy (its section header is written now).
    pub fn new(out: W) -> io::Result<Self> {
        Ok(AnnotatedCopy {
            copy: Some(AnnotatedPcapNg::new(out)?),
        })
    }
}

impl<W: Write> Sink for AnnotatedCopy<W> {
    fn packet(&mut self, frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()> {
        match self.copy.as_mut() {
            Some(copy) => copy.packet(frame, &annotation(row)),
            None => Err(io::Error::other("annotated pcapng already finished")),
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        match self.copy.take() {
            Some(copy) => copy.finish(),
            None => Ok(()),
        }
    }
}

/// One row per connection, in stream order although connections end in any order: a
/// row waits until every lower stream has been written.
pub struct ConnTable<W: Write> {
    table: TableWriter<W>,
    streams: Streams,
    order: StreamOrder,
    written: u64,
}

/// Puts connections, which end in any order, back in stream order: a connection waits
/// until every lower stream has gone out.
#[derive(Debug, Default)]
pub(crate) struct StreamOrder {
    next: u64,
    waiting: BTreeMap<u64, ConnRecord>,
}

impl StreamOrder {
    /// Takes `conns` and hands every connection now in order to `write`.
    pub(crate) fn push(
        &mut self,
        conns: &[ConnRecord],
        mut write: impl FnMut(&ConnRecord) -> io::Result<()>,
    ) -> io::Result<()> {
        for conn in conns {
            // A stream already written came back after it was forgotten: its row stays
            // the first part's (see the README's "Memory").
            if conn.stream >= self.next {
                self.waiting.insert(conn.stream, conn.clone());
            }
        }
        while let Some(record) = self.waiting.remove(&self.next) {
            write(&record)?;
            self.next += 1;
        }
        Ok(())
    }
}

impl<W: Write> ConnTable<W> {
    /// A connection table in `format` on `out`.
    pub fn new(format: Format, out: W) -> Self {
        Self::with_options(format, &TableOptions::default(), out)
    }

    /// A connection table in `format` on `out`, with these columns, rows and CSV style.
    pub fn with_options(format: Format, options: &TableOptions, out: W) -> Self {
        ConnTable {
            table: TableWriter::connections_of(format, options.connections.clone(), out)
                .with_csv_style(options.csv),
            streams: options.streams.clone(),
            order: StreamOrder::default(),
            written: 0,
        }
    }

    /// Rows written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

impl<W: Write> Sink for ConnTable<W> {
    fn wants(&self) -> Wants {
        Wants {
            connections: true,
            exchanges: false,
            ignores_rows: true,
        }
    }

    fn packet(&mut self, frame: &Frame<'_>, _row: &PacketRecord) -> io::Result<()> {
        self.table.origin(frame.timestamp);
        Ok(())
    }

    fn connections(&mut self, conns: &[ConnRecord]) -> io::Result<()> {
        let (table, streams, written) = (&mut self.table, &self.streams, &mut self.written);
        self.order.push(conns, |record| {
            if streams.keeps(Some(record.stream)) {
                table.connection(record)?;
                *written += 1;
            }
            Ok(())
        })
    }

    fn finish(&mut self) -> io::Result<()> {
        self.table.finish()
    }
}

/// One row per HTTP exchange.
pub struct ExchangeTable<W: Write> {
    table: TableWriter<W>,
    streams: Streams,
    written: u64,
}

impl<W: Write> ExchangeTable<W> {
    /// An exchange table in `format` on `out`.
    pub fn new(format: Format, out: W) -> Self {
        Self::with_options(format, &TableOptions::default(), out)
    }

    /// An exchange table in `format` on `out`, with these columns, rows and CSV style.
    pub fn with_options(format: Format, options: &TableOptions, out: W) -> Self {
        ExchangeTable {
            table: TableWriter::exchanges_of(format, options.exchanges.clone(), out)
                .with_csv_style(options.csv),
            streams: options.streams.clone(),
            written: 0,
        }
    }

    /// Rows written so far.
    pub fn written(&self) -> u64 {
        self.written
    }
}

impl<W: Write> Sink for ExchangeTable<W> {
    fn wants(&self) -> Wants {
        Wants {
            connections: false,
            exchanges: true,
            ignores_rows: true,
        }
    }

    fn packet(&mut self, frame: &Frame<'_>, _row: &PacketRecord) -> io::Result<()> {
        self.table.origin(frame.timestamp);
        Ok(())
    }

    fn exchanges(&mut self, exchanges: &[ExchangeRecord]) -> io::Result<()> {
        for exchange in exchanges {
            if self.streams.keeps(Some(exchange.stream)) {
                self.table.exchange(exchange)?;
                self.written += 1;
            }
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.table.finish()
    }
}
