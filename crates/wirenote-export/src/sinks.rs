//! Every output as a [`Sink`] for wirenote-core's drive loop: the per-packet table, the
//! Lua metadata, the annotated pcapng copy, the connection and exchange tables.

use std::collections::BTreeMap;
use std::io::{self, Write};

use wirenote_core::record::{ConnRecord, ExchangeRecord, PacketRecord};
use wirenote_core::{Frame, Sink, Wants};

use crate::{annotation, AnnotatedPcapNg, Format, LuaWriter, TableWriter};

/// One row per packet, as CSV or JSON Lines.
pub struct PacketTable<W: Write> {
    table: TableWriter<W>,
}

impl<W: Write> PacketTable<W> {
    /// A packet table in `format` on `out`.
    pub fn new(format: Format, out: W) -> Self {
        PacketTable {
            table: TableWriter::packets(format, out),
        }
    }
}

impl<W: Write> Sink for PacketTable<W> {
    fn packet(&mut self, _frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()> {
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
    next: u64,
    waiting: BTreeMap<u64, ConnRecord>,
}

impl<W: Write> ConnTable<W> {
    /// A connection table in `format` on `out`.
    pub fn new(format: Format, out: W) -> Self {
        ConnTable {
            table: TableWriter::connections(format, out),
            next: 0,
            waiting: BTreeMap::new(),
        }
    }

    /// Rows written so far.
    pub fn written(&self) -> u64 {
        self.next
    }
}

impl<W: Write> Sink for ConnTable<W> {
    fn wants(&self) -> Wants {
        Wants {
            connections: true,
            exchanges: false,
        }
    }

    fn packet(&mut self, _frame: &Frame<'_>, _row: &PacketRecord) -> io::Result<()> {
        Ok(())
    }

    fn connections(&mut self, conns: &[ConnRecord]) -> io::Result<()> {
        for conn in conns {
            self.waiting.insert(conn.stream, conn.clone());
        }
        while let Some(record) = self.waiting.remove(&self.next) {
            self.table.connection(&record)?;
            self.next += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.table.finish()
    }
}

/// One row per HTTP exchange.
pub struct ExchangeTable<W: Write> {
    table: TableWriter<W>,
    written: u64,
}

impl<W: Write> ExchangeTable<W> {
    /// An exchange table in `format` on `out`.
    pub fn new(format: Format, out: W) -> Self {
        ExchangeTable {
            table: TableWriter::exchanges(format, out),
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
        }
    }

    fn packet(&mut self, _frame: &Frame<'_>, _row: &PacketRecord) -> io::Result<()> {
        Ok(())
    }

    fn exchanges(&mut self, exchanges: &[ExchangeRecord]) -> io::Result<()> {
        for exchange in exchanges {
            self.table.exchange(exchange)?;
            self.written += 1;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.table.finish()
    }
}
