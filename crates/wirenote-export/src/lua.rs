//! Lua metadata for the Wireshark plugin (`plugins/wirenote.lua`).
//!
//! The file is one Lua chunk that only returns a table constructor: no function calls, no
//! globals, every string written as a quoted literal with every byte outside printable
//! ASCII, and `"` and `\`, escaped as `\ddd` or `\"`/`\\` — so no capture content (a URI
//! with quotes, `]]`, newlines, NULs) can end a string early or inject code. The plugin
//! loads it with an empty environment.
//!
//! The fields are the schema's columns ([`crate::schema`]), spelled as the tables spell
//! them (an empty cell as `""`, integers bare), plus `http`: the frame's HTTP messages as
//! their first lines read, which no table has.
//!
//! The metadata is bound to its capture by `identity`: the total frame count and, for the
//! first [`IDENTITY_FRAMES`] frames that have a timestamp, the frame number, the time
//! (seconds and nanoseconds, exactly as tshark reads them) and both lengths. The plugin
//! compares these with each of those frames as it dissects them, starting with the first,
//! so single-pass tshark refuses metadata made for another capture before it labels
//! anything; a capture with more frames than `identity.frames` is refused on the frame
//! past the count.
//!
//! Layout (version 2; version 1 had no `identity`):
//!
//! ```lua
//! return {
//!   wirenote = 2,
//!   capture = "lab-5000.pcap",
//!   fields = {"stream","dir","role","client_state","server_state","analysis","completeness","http_note","http"},
//!   frames = { {0,"c2s","handshake-syn","SYN_SENT","LISTEN","",31,"",""}, false, ... },  -- index = frame number
//!   stream_fields = {"conn_state","closed_by","history","client","server","client_final","server_final"},
//!   streams = { {"SF","client","ShADadFf","127.0.0.1:50176","127.0.0.1:5000","TIME_WAIT","CLOSED"}, ... },  -- index = stream + 1
//!   identity_fields = {"frame","secs","nsecs","len","cap_len"},
//!   identity = { frames = 39, first = { {1,1795605018,278445000,74,74}, ... } },
//! }
//! ```

use std::io::{self, Write};

use wirenote_core::record::{ConnRecord, PacketRecord};

use crate::schema::{Cell, ConnColumn, PacketColumn, Table};

/// Metadata format version.
pub const LUA_FORMAT_VERSION: u32 = 2;

/// How many frames (the first ones with a timestamp) the metadata's `identity` describes.
pub const IDENTITY_FRAMES: usize = 8;

/// What `identity` records of one frame: number, seconds, nanoseconds, `frame.len`,
/// `frame.cap_len`.
type IdentityFrame = (u64, i64, u32, u32, u32);

/// A field of a frame's entry.
#[derive(Clone, Copy)]
enum FrameField {
    /// A per-packet column.
    Column(PacketColumn),
    /// The frame's HTTP messages as their first lines read (`GET /`, `200 OK`), `, `-joined.
    HttpFirstLines,
}

/// The fields of a frame's entry, in order (the plugin reads them by position).
const FRAME_FIELDS: [FrameField; 9] = [
    FrameField::Column(PacketColumn::Stream),
    FrameField::Column(PacketColumn::Dir),
    FrameField::Column(PacketColumn::Role),
    FrameField::Column(PacketColumn::ClientState),
    FrameField::Column(PacketColumn::ServerState),
    FrameField::Column(PacketColumn::Analysis),
    FrameField::Column(PacketColumn::Completeness),
    FrameField::Column(PacketColumn::HttpNote),
    FrameField::HttpFirstLines,
];

/// The fields of a connection's entry, in order.
const STREAM_FIELDS: [ConnColumn; 7] = [
    ConnColumn::ConnState,
    ConnColumn::ClosedBy,
    ConnColumn::History,
    ConnColumn::Client,
    ConnColumn::Server,
    ConnColumn::ClientFinal,
    ConnColumn::ServerFinal,
];

impl FrameField {
    fn name(self) -> &'static str {
        match self {
            FrameField::Column(column) => column.name(),
            FrameField::HttpFirstLines => "http",
        }
    }
}

/// Writes `names` as a Lua list of strings: `{"a","b"}`.
fn lua_names(out: &mut impl Write, names: impl Iterator<Item = &'static str>) -> io::Result<()> {
    out.write_all(b"{")?;
    for (i, name) in names.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        lua_string(out, name)?;
    }
    out.write_all(b"}")
}

/// Writes one cell as a Lua value: integers and booleans bare, every other cell (an empty
/// one too) as a string.
fn lua_cell(out: &mut impl Write, cell: Cell<'_>, text: &mut String) -> io::Result<()> {
    match cell {
        Cell::UInt(v) => write!(out, "{v}"),
        Cell::Bool(v) => write!(out, "{v}"),
        Cell::Text(v) | Cell::Word(v) => lua_string(out, v),
        other => {
            use std::fmt::Write as _;
            text.clear();
            let _ = write!(text, "{other}");
            lua_string(out, text)
        }
    }
}

/// The frame's HTTP messages as their first lines would read.
pub(crate) fn http_first_lines(record: &PacketRecord) -> String {
    let lines: Vec<String> = record
        .http
        .iter()
        .map(|h| match (&h.method, &h.uri, h.status) {
            (Some(method), Some(uri), _) => format!("{method} {uri}"),
            (_, _, Some(status)) => format!("{status} {}", h.reason.as_deref().unwrap_or("")),
            _ => String::new(),
        })
        .collect();
    lines.join(", ")
}

/// Writes `s` as a Lua string literal that is safe whatever the bytes.
fn lua_string(out: &mut impl Write, s: &str) -> io::Result<()> {
    out.write_all(b"\"")?;
    for &b in s.as_bytes() {
        match b {
            b'"' => out.write_all(b"\\\"")?,
            b'\\' => out.write_all(b"\\\\")?,
            0x20..=0x7e => out.write_all(&[b])?,
            other => write!(out, "\\{other:03}")?,
        }
    }
    out.write_all(b"\"")
}

/// Streams per-packet metadata as a Lua table; connections are written at the end.
pub struct LuaWriter<W: Write> {
    out: io::BufWriter<W>,
    next_frame: u64,
    /// The first frames, as `identity` records them.
    identity: Vec<IdentityFrame>,
    /// The cells' scratch string (see [`Table::cell`]).
    scratch: String,
    /// Where a cell that is not text is spelled before it is quoted.
    text: String,
}

impl<W: Write> LuaWriter<W> {
    /// Starts the chunk for the capture called `capture`.
    pub fn new(out: W, capture: &str) -> io::Result<Self> {
        let mut out = io::BufWriter::with_capacity(crate::WRITE_BLOCK, out);
        writeln!(
            out,
            "-- wirenote metadata: data only, loaded by plugins/wirenote.lua"
        )?;
        writeln!(out, "return {{")?;
        writeln!(out, "wirenote = {LUA_FORMAT_VERSION},")?;
        out.write_all(b"capture = ")?;
        lua_string(&mut out, capture)?;
        writeln!(out, ",")?;
        out.write_all(b"fields = ")?;
        lua_names(&mut out, FRAME_FIELDS.iter().map(|f| f.name()))?;
        writeln!(out, ",")?;
        writeln!(out, "frames = {{")?;
        Ok(LuaWriter {
            out,
            next_frame: 1,
            identity: Vec::with_capacity(IDENTITY_FRAMES),
            scratch: String::new(),
            text: String::new(),
        })
    }

    /// Hands what was written so far to the output.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Adds one frame (frames must come in order).
    pub fn packet(&mut self, record: &PacketRecord) -> io::Result<()> {
        // Frames are positional: fill any gap so that index = frame number.
        while self.next_frame < record.frame {
            self.out.write_all(b"false,\n")?;
            self.next_frame += 1;
        }
        self.next_frame = record.frame + 1;
        if let Some(time) = record.time {
            if self.identity.len() < IDENTITY_FRAMES {
                self.identity.push((
                    record.frame,
                    time.secs,
                    time.nanos,
                    record.frame_len,
                    record.cap_len,
                ));
            }
        }
        if record.tcp.is_none() {
            return self.out.write_all(b"false,\n");
        }
        self.out.write_all(b"{")?;
        for (i, field) in FRAME_FIELDS.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b",")?;
            }
            match *field {
                FrameField::Column(column) => {
                    let cell = column.cell(record, &mut self.scratch);
                    lua_cell(&mut self.out, cell, &mut self.text)?;
                }
                FrameField::HttpFirstLines => lua_string(&mut self.out, &http_first_lines(record))?,
            }
        }
        self.out.write_all(b"},\n")
    }

    /// Ends the frames and writes the connection summaries (in stream order).
    pub fn finish(mut self, conns: &mut [ConnRecord]) -> io::Result<()> {
        writeln!(self.out, "}},")?;
        self.out.write_all(b"stream_fields = ")?;
        lua_names(&mut self.out, STREAM_FIELDS.iter().map(|c| c.name()))?;
        writeln!(self.out, ",")?;
        writeln!(self.out, "streams = {{")?;
        conns.sort_by_key(|c| c.stream);
        let mut next = 0;
        for c in conns.iter() {
            while next < c.stream {
                self.out.write_all(b"false,\n")?;
                next += 1;
            }
            next = c.stream + 1;
            self.out.write_all(b"{")?;
            for column in STREAM_FIELDS {
                let cell = column.cell(c, &mut self.scratch);
                lua_cell(&mut self.out, cell, &mut self.text)?;
                self.out.write_all(b",")?;
            }
            self.out.write_all(b"},\n")?;
        }
        writeln!(self.out, "}},")?;
        writeln!(
            self.out,
            "identity_fields = {{\"frame\",\"secs\",\"nsecs\",\"len\",\"cap_len\"}},"
        )?;
        write!(
            self.out,
            "identity = {{ frames = {}, first = {{ ",
            self.next_frame - 1
        )?;
        for (frame, secs, nanos, len, cap_len) in &self.identity {
            write!(self.out, "{{{frame},{secs},{nanos},{len},{cap_len}}},")?;
        }
        writeln!(self.out, " }} }},")?;
        writeln!(self.out, "}}")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_strings_are_escaped() {
        let mut out = Vec::new();
        lua_string(&mut out, "a\"]]\\\n\0é").unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"a\\\"]]\\\\\\010\\000\\195\\169\""
        );
    }
}
