//! An annotated copy of a capture as pcapng: every packet's bytes unchanged, with a
//! packet comment (`opt_comment`) carrying wirenote's annotation, so that plain Wireshark
//! shows it as `frame.comment` without any plugin. Comments already in the input are
//! kept, before ours.
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
use std::io::Write;
use std::time::Duration;

use pcap_file::pcapng::blocks::enhanced_packet::{EnhancedPacketBlock, EnhancedPacketOption};
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::PcapNgWriter;
use pcap_file::{DataLink, PcapError};
use wirenote_core::record::PacketRecord;
use wirenote_core::{Frame, FrameKind};

use crate::schema::{Cell, PacketColumn, Table};

/// Writes the annotated copy, one frame at a time.
pub struct AnnotatedPcapNg<W: std::io::Write> {
    writer: PcapNgWriter<W>,
    /// (input section, input interface, resolution, offset) → output interface.
    interfaces: HashMap<(u32, u32, u8, i64), u32>,
}

fn io_error(e: PcapError) -> std::io::Error {
    match e {
        PcapError::IoError(e) => e,
        other => std::io::Error::other(other.to_string()),
    }
}

/// The labelled columns a TCP packet's comment starts with (`stream=3 dir=c2s …`).
const COMMENT_FIELDS: [(&str, PacketColumn); 5] = [
    ("stream", PacketColumn::Stream),
    ("dir", PacketColumn::Dir),
    ("role", PacketColumn::Role),
    ("client", PacketColumn::ClientState),
    ("server", PacketColumn::ServerState),
];

/// The comment wirenote puts on a packet: the columns above, then the analysis flags and
/// each HTTP message's note where there are any.
pub fn annotation(record: &PacketRecord) -> String {
    if record.tcp.is_none() {
        return format!("wirenote: {} (not TCP)", record.protocol);
    }
    let mut scratch = String::new();
    let mut text = String::from("wirenote:");
    for (label, column) in COMMENT_FIELDS {
        let _ = write!(text, " {label}={}", column.cell(record, &mut scratch));
    }
    if let Cell::Text(analysis) = PacketColumn::Analysis.cell(record, &mut scratch) {
        if !analysis.is_empty() {
            text.push_str(" analysis=");
            text.push_str(analysis);
        }
    }
    for http in &record.http {
        if !http.note.is_empty() {
            text.push_str(" http=");
            text.push_str(&http.note);
        }
    }
    text
}

impl<W: Write> AnnotatedPcapNg<W> {
    /// Starts the file (section header).
    pub fn new(out: W) -> std::io::Result<Self> {
        Ok(AnnotatedPcapNg {
            writer: PcapNgWriter::new(out).map_err(io_error)?,
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
        let mut options: Vec<EnhancedPacketOption<'_>> = frame
            .comments()
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

    /// Flushes the file.
    pub fn finish(self) -> std::io::Result<()> {
        let mut inner = self.writer.into_inner();
        inner.flush()
    }
}
