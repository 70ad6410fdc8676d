//! The per-packet sink a format names: a table, Lua metadata for the Wireshark plugin, or
//! a workbook of every table.

use std::io::{self, Write};

use wirenote_core::{Sink, Wants};
use wirenote_export::{
    Format, LuaMetadata, PacketParquet, PacketTable, Sheets, TableOptions, Workbook, WorkbookInfo,
};

use crate::args::AnnotateFormat;

/// Every table: what an `annotate` workbook holds.
pub(crate) const ALL_SHEETS: Sheets = Sheets {
    packets: true,
    connections: true,
    exchanges: true,
};

impl AnnotateFormat {
    /// What the per-packet sink of this format wants besides rows (Lua metadata also
    /// describes the connections; a workbook holds every table).
    pub(crate) fn wants(self) -> Wants {
        Wants {
            connections: matches!(self, AnnotateFormat::Lua | AnnotateFormat::Xlsx),
            exchanges: self == AnnotateFormat::Xlsx,
            ignores_rows: false,
        }
    }
}

/// The per-packet sink for `format` on `out`; `capture_name` labels Lua metadata and the
/// workbook's About sheet.
pub(crate) fn packet_sink<'a>(
    format: AnnotateFormat,
    options: &TableOptions,
    out: Box<dyn Write + Send + 'a>,
    info: &WorkbookInfo,
) -> io::Result<Box<dyn Sink + Send + 'a>> {
    Ok(match format {
        AnnotateFormat::Csv => Box::new(PacketTable::with_options(Format::Csv, options, out)),
        AnnotateFormat::Jsonl => {
            Box::new(PacketTable::with_options(Format::JsonLines, options, out))
        }
        AnnotateFormat::Lua => Box::new(LuaMetadata::new(out, &info.capture)?),
        AnnotateFormat::Xlsx => Box::new(Workbook::new(out, ALL_SHEETS, options, info.clone())?),
        AnnotateFormat::Parquet => Box::new(PacketParquet::new(out, None)?),
    })
}
