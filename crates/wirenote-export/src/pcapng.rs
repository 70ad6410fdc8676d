//! An annotated copy of a capture as pcapng: every packet's bytes unchanged, with a
//! packet comment (`opt_comment`) carrying wirenote's annotation, so that plain Wireshark
//! shows it as `frame.comment` and the plugin (`plugins/wirenote.lua`) turns it into its
//! `wirenote.*` fields with no metadata file. Comments already in the input are kept,
//! before ours (an earlier wirenote annotation is replaced).
//!
//! Read, at least: the pcapng draft (draft-ietf-opsawg-pcapng), §4.2 (IDB: `if_tsresol`,
//! `if_tsoffset`) and §4.3 (EPB, `opt_comment`). Blocks are written by `pcap-file`.
//!
//! Interfaces are re-declared as the input declared them (link type, snap length,
//! timestamp resolution and offset), one section for the whole file; timestamps are
//! written in the input's own units, so they are kept exactly. Not carried over: pcapng
//! custom blocks (not packets), other packet options, name-resolution and statistics
//! blocks; a Simple Packet Block (no timestamp) becomes an EPB with time 0.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::time::Duration;

use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, PcapError};
use wirenote_core::record::PacketRecord;
use wirenote_core::{Frame, FrameKind};

use crate::lua::http_first_lines;
use crate::schema::{PacketColumn, Table};

/// Writes the annotated copy, one frame at a time.
pub struct AnnotatedPcapNg<W: std::io::Write> {
    /// Buffered: pcap-file writes a block in several small pieces, and the output is
    /// usually a file (each piece a system call otherwise). [`AnnotatedPcapNg::finish`]
    /// flushes it and reports a failure; dropping it unfinished loses the tail.
    writer: PcapNgWriter<BufWriter<W>>,
    /// (input section, input interface, resolution, offset) → output interface.
    interfaces: HashMap<(u32, u32, u8, i64), u32>,
}

fn io_error(e: PcapError) -> std::io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

/// The comment's version tag: a comment is wirenote's when it starts with this.
pub const COMMENT_TAG: &str = "wirenote/";

/// The comment grammar's version (the number after [`COMMENT_TAG`]).
pub const COMMENT_VERSION: u32 = 1;

/// The per-packet columns a TCP packet's comment carries, keyed by their schema names
/// (which are the plugin's field names without `wirenote.`); empty cells are left out.
const COMMENT_COLUMNS: [PacketColumn; 8] = [
    PacketColumn::Stream,
    PacketColumn::Dir,
    PacketColumn::Role,
    PacketColumn::ClientState,
    PacketColumn::ServerState,
    PacketColumn::Analysis,
    PacketColumn::Completeness,
    PacketColumn::HttpNote,
];

/// Appends ` key=value`, the value bare when it has no space, quote, backslash or control
/// character, quoted otherwise (`"` and `\` escaped as `\"` and `\\`, control
/// characters as `\xHH`; other UTF-8 kept as it is, so a person can read it).
fn push_pair(text: &mut String, key: &str, value: &str) {
    text.push(' ');
    text.push_str(key);
    text.push('=');
    let bare = !value.is_empty()
        && !value
            .chars()
            .any(|c| c == ' ' || c == '"' || c == '\\' || c.is_control());
    if bare {
        text.push_str(value);
        return;
    }
    text.push('"');
    for c in value.chars() {
        match c {
            '"' => text.push_str("\\\""),
            '\\' => text.push_str("\\\\"),
            c if c.is_control() => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    let _ = write!(text, "\\x{b:02x}");
                }
            }
            c => text.push(c),
        }
    }
    text.push('"');
}

/// The comment wirenote puts on a packet, in the grammar the plugin reads (README,
/// "Wireshark"): `wirenote/1` and then `key=value` pairs separated by one space —
/// `wirenote/1 stream=0 dir=c2s role=handshake-syn client_state=SYN_SENT
/// server_state=LISTEN completeness=31`, with `analysis`, `http_note` and `http` (the
/// frame's HTTP messages as their first lines read) where not empty. A frame that is not
/// TCP carries only `protocol` (and `malformed`, why it could not be dissected).
pub fn annotation(record: &PacketRecord) -> String {
    let mut scratch = String::new();
    let mut cell_text = String::new();
    let mut text = format!("{COMMENT_TAG}{COMMENT_VERSION}");
    if record.tcp.is_none() {
        push_pair(&mut text, "protocol", record.protocol);
        if let Some(why) = &record.malformed {
            push_pair(&mut text, "malformed", why);
        }
        return text;
    }
    for column in COMMENT_COLUMNS {
        cell_text.clear();
        let _ = write!(cell_text, "{}", column.cell(record, &mut scratch));
        if !cell_text.is_empty() {
            push_pair(&mut text, column.name(), &cell_text);
        }
    }
    let http = http_first_lines(record);
    if !http.is_empty() {
        push_pair(&mut text, "http", &http);
    }
    text
}

impl<W: Write> AnnotatedPcapNg<W> {
    /// Starts the file (section header).
    pub fn new(out: W) -> std::io::Result<Self> {
        Ok(AnnotatedPcapNg {
            writer: PcapNgWriter::new(BufWriter::with_capacity(1 << 18, out)).map_err(io_error)?,
            interfaces: HashMap::new(),
        })
    }

    /// Writes `frame` with `comment` appended to its own comments. Non-packet frames
    /// (pcapng custom blocks) are skipped.
    pub fn packet(&mut self, frame: &Frame<'_>, comment: &str) -> std::io::Result<()> {
        if frame.kind != FrameKind::Packet {
            return Ok(());
        }
        let (units, resolution, offset) = match frame.raw_time {
            Some(t) => (t.units, t.resolution, t.offset_secs),
            None => (0, 6, 0),
        };
        let key = (frame.section, frame.interface_id, resolution, offset);
        let next = self.interfaces.len() as u32;
        let interface_id = match self.interfaces.get(&key) {
            Some(id) => *id,
            None => {
                let mut options = vec![InterfaceDescriptionOption::IfTsResol(resolution)];
                if offset != 0 {
                    options.push(InterfaceDescriptionOption::IfTsOffset(offset as u64));
                }
                let idb = InterfaceDescriptionBlock {
                    linktype: DataLink::from(frame.link_type),
                    snaplen: frame.snaplen,
                    options,
                };
                self.writer.write_pcapng_block(idb).map_err(io_error)?;
                self.interfaces.insert(key, next);
                next
            }
        };
        // The input's own comments are kept, except an earlier wirenote annotation (the
        // input is itself an annotated copy): this one replaces it.
        let mut options: Vec<EnhancedPacketOption<'_>> = frame
            .comments()
            .filter(|c| !c.starts_with(COMMENT_TAG))
            .map(EnhancedPacketOption::Comment)
            .collect();
        options.push(EnhancedPacketOption::Comment(Cow::Borrowed(comment)));
        let epb = EnhancedPacketBlock {
            interface_id,
            // pcap-file writes this Duration's nanosecond count as the raw 64-bit
            // timestamp; the interface's if_tsresol gives those units their meaning, so the
            // input's own units are passed through unchanged.
            timestamp: Duration::from_nanos(units),
            original_len: frame.orig_len,
            data: Cow::Borrowed(frame.data),
            options,
        };
        self.writer.write_pcapng_block(epb).map_err(io_error)?;
        Ok(())
    }

    /// Writes out what is buffered and flushes the output, reporting a failure.
    pub fn finish(self) -> std::io::Result<()> {
        let mut out = self
            .writer
            .into_inner()
            .into_inner()
            .map_err(|e| e.into_error())?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(value: &str) -> String {
        let mut text = String::new();
        push_pair(&mut text, "k", value);
        text
    }

    #[test]
    fn plain_values_are_bare() {
        assert_eq!(pair("handshake-syn"), " k=handshake-syn");
        assert_eq!(pair("conditional;keep-alive"), " k=conditional;keep-alive");
        assert_eq!(pair("a=b"), " k=a=b");
    }

    #[test]
    fn other_values_are_quoted_and_escaped() {
        assert_eq!(pair(""), " k=\"\"");
        assert_eq!(pair("GET /"), " k=\"GET /\"");
        assert_eq!(pair("a\"b\\c"), " k=\"a\\\"b\\\\c\"");
        assert_eq!(pair("\n\u{1}\u{85}"), " k=\"\\x0a\\x01\\xc2\\x85\"");
        // Other UTF-8 stays readable.
        assert_eq!(pair("/张三"), " k=/张三");
    }

    #[test]
    fn a_frame_that_is_not_tcp_names_its_protocol() {
        let record = PacketRecord {
            frame: 1,
            protocol: "malformed",
            malformed: Some("IPv4 header truncated".into()),
            ..PacketRecord::default()
        };
        assert_eq!(
            annotation(&record),
            "wirenote/1 protocol=malformed malformed=\"IPv4 header truncated\""
        );
    }
}
