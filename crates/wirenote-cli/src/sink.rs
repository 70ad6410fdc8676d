//! The per-packet sink a format names: a table, or Lua metadata for the Wireshark plugin.

use std::io::{self, Write};

use wirenote_core::{Sink, Wants};
use wirenote_export::{Format, LuaMetadata, PacketParquet, PacketTable};

use crate::args::AnnotateFormat;

impl AnnotateFormat {
    /// What the per-packet sink of this format wants besides rows (Lua metadata also
    /// describes the connections).
    pub(crate) fn wants(self) -> Wants {
        Wants {
            connections: self == AnnotateFormat::Lua,
            exchanges: false,
        }
    }
}

/// The per-packet sink for `format` on `out`; `capture_name` labels Lua metadata.
pub(crate) fn packet_sink<'a>(
    format: AnnotateFormat,
    out: Box<dyn Write + Send + 'a>,
    capture_name: &str,
) -> io::Result<Box<dyn Sink + Send + 'a>> {
    Ok(match format {
        AnnotateFormat::Csv => Box::new(PacketTable::new(Format::Csv, out)),
        AnnotateFormat::Jsonl => Box::new(PacketTable::new(Format::JsonLines, out)),
        AnnotateFormat::Lua => Box::new(LuaMetadata::new(out, capture_name)?),
        AnnotateFormat::Parquet => Box::new(PacketParquet::new(out, None)?),
    })
}
