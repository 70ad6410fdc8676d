//! Lua metadata for the Wireshark plugin (`plugins/wirenote.lua`).
//!
//! The file is one Lua chunk that only returns a table constructor: no function calls, no
//! globals, every string written as a quoted literal with every byte outside printable
//! ASCII, and `"` and `\`, escaped as `\ddd` or `\"`/`\\` — so no capture content (a URI
//! with quotes, `]]`, newlines, NULs) can end a string early or inject code. The plugin
//! loads it with an empty environment.
//!
//! Layout (version 1):
//!
//! ```lua
//! return {
//!   wirenote = 1,
//!   capture = "lab-5000.pcap",
//!   fields = {"stream","dir","role","client_state","server_state","analysis","completeness","http_note","http"},
//!   frames = { {0,"c2s","handshake-syn","SYN_SENT","LISTEN","",31,"",""}, false, ... },  -- index = frame number
//!   stream_fields = {"conn_state","closed_by","history","client","server","client_final","server_final"},
//!   streams = { {"SF","client","ShADadFf","127.0.0.1:50176","127.0.0.1:5000","TIME_WAIT","CLOSED"}, ... },  -- index = stream + 1
//! }
//! ```

use std::io::{self, Write};

use wirenote_core::record::{ConnRecord, PacketRecord};

/// Metadata format version.
pub const LUA_FORMAT_VERSION: u32 = 1;

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
}

impl<W: Write> LuaWriter<W> {
    /// Starts the chunk for the capture called `capture`.
    pub fn new(out: W, capture: &str) -> io::Result<Self> {
        let mut out = io::BufWriter::with_capacity(64 * 1024, out);
        writeln!(
            out,
            "-- wirenote metadata: data only, loaded by plugins/wirenote.lua"
        )?;
        writeln!(out, "return {{")?;
        writeln!(out, "wirenote = {LUA_FORMAT_VERSION},")?;
        out.write_all(b"capture = ")?;
        lua_string(&mut out, capture)?;
        writeln!(out, ",")?;
        writeln!(
            out,
            "fields = {{\"stream\",\"dir\",\"role\",\"client_state\",\"server_state\",\"analysis\",\"completeness\",\"http_note\",\"http\"}},"
        )?;
        writeln!(out, "frames = {{")?;
        Ok(LuaWriter { out, next_frame: 1 })
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
        let Some(t) = &record.tcp else {
            return self.out.write_all(b"false,\n");
        };
        write!(self.out, "{{{},", t.stream)?;
        let note: Vec<&str> = record.http.iter().map(|h| h.note.as_str()).collect();
        let strings = [
            if t.from_client { "c2s" } else { "s2c" },
            t.role.map_or("", |r| r.as_str()),
            t.client_state.map_or("", |s| s.as_str()),
            t.server_state.map_or("", |s| s.as_str()),
        ];
        for s in strings {
            lua_string(&mut self.out, s)?;
            self.out.write_all(b",")?;
        }
        lua_string(&mut self.out, &t.analysis.names())?;
        write!(self.out, ",{},", t.completeness)?;
        lua_string(&mut self.out, &note.join(","))?;
        self.out.write_all(b",")?;
        // The HTTP messages of the frame, as their first lines would read.
        let http: Vec<String> = record
            .http
            .iter()
            .map(|h| match (&h.method, &h.uri, h.status) {
                (Some(method), Some(uri), _) => format!("{method} {uri}"),
                (_, _, Some(status)) => format!("{status} {}", h.reason.as_deref().unwrap_or("")),
                _ => String::new(),
            })
            .collect();
        lua_string(&mut self.out, &http.join(", "))?;
        self.out.write_all(b"},\n")
    }

    /// Ends the frames and writes the connection summaries (in stream order).
    pub fn finish(mut self, conns: &mut [ConnRecord]) -> io::Result<()> {
        writeln!(self.out, "}},")?;
        writeln!(
            self.out,
            "stream_fields = {{\"conn_state\",\"closed_by\",\"history\",\"client\",\"server\",\"client_final\",\"server_final\"}},"
        )?;
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
            for s in [
                c.conn_state.as_str(),
                c.closed_by,
                &c.history,
                &c.client.to_string(),
                &c.server.to_string(),
                c.client_final.as_str(),
                c.server_final.as_str(),
            ] {
                lua_string(&mut self.out, s)?;
                self.out.write_all(b",")?;
            }
            self.out.write_all(b"},\n")?;
        }
        writeln!(self.out, "}},")?;
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
