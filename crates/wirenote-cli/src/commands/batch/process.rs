//! One capture of a batch: two passes, three outputs.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Context;
use wirenote_core::record::PacketRecord;
use wirenote_core::{Frame, Sink};
use wirenote_export::{ConnTable, ExchangeTable, Format, TableOptions, Workbook};

use super::inputs::Input;
use crate::args::AnnotateFormat;
use crate::input::Capture;
use crate::output::Output;
use crate::passes::{two_passes, EachFrame};
use crate::sink::{packet_sink, ALL_SHEETS};
use crate::tables::workbook_info;

/// Counters for one capture.
pub(super) struct Counts {
    pub(super) packets: u64,
    pub(super) connections: u64,
    pub(super) exchanges: u64,
}

/// Counts the rows of a capture.
#[derive(Default)]
struct RowCount(u64);

impl Sink for RowCount {
    fn packet(&mut self, _frame: &Frame<'_>, _row: &PacketRecord) -> io::Result<()> {
        self.0 += 1;
        Ok(())
    }
}

/// Processes one capture into its outputs (three tables, or one workbook), committed only
/// if the whole capture was read (or read as far as it is readable) and the run was not
/// interrupted.
pub(super) fn process(
    input: &Input,
    outputs: &[PathBuf],
    format: AnnotateFormat,
    options: &TableOptions,
    stop: &AtomicBool,
    bytes_done: &AtomicU64,
) -> anyhow::Result<(Counts, Option<String>)> {
    let capture = Capture::open(&input.path)?;
    let size = capture.len();
    for output in outputs {
        if let Some(parent) = output.parent() {
            fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
        }
    }
    let outs = outputs
        .iter()
        .map(|path| Output::create(Some(path)))
        .collect::<std::io::Result<Vec<Output>>>()?;
    let name = input
        .path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let info = workbook_info(&name)?;
    let mut rows = RowCount::default();
    let mut walk = |each: EachFrame<'_>| {
        capture.for_each_frame(|frame| {
            if stop.load(Ordering::Relaxed) {
                anyhow::bail!("interrupted");
            }
            each(frame)
        })
    };
    let (damage, connections, exchanges) = if format == AnnotateFormat::Xlsx {
        let mut book = Workbook::new(outs[0].writer(), ALL_SHEETS, options, info)?;
        let damage = {
            let mut sinks: Vec<&mut dyn Sink> = vec![&mut book, &mut rows];
            two_passes(&capture.name, &mut walk, &mut sinks)?
        };
        (damage, book.connections_written(), book.exchanges_written())
    } else {
        let table_format = match format {
            AnnotateFormat::Jsonl => Format::JsonLines,
            _ => Format::Csv,
        };
        let mut packets = packet_sink(format, options, outs[0].writer(), &info)?;
        let mut flows = ConnTable::with_options(table_format, options, outs[1].writer());
        let mut http = ExchangeTable::with_options(table_format, options, outs[2].writer());
        let damage = {
            let mut sinks: Vec<&mut dyn Sink> =
                vec![&mut *packets, &mut flows, &mut http, &mut rows];
            two_passes(&capture.name, &mut walk, &mut sinks)?
        };
        (damage, flows.written(), http.written())
    };
    let counts = Counts {
        packets: rows.0,
        connections,
        exchanges,
    };
    if stop.load(Ordering::Relaxed) {
        anyhow::bail!("interrupted");
    }
    for out in outs {
        out.commit()?;
    }
    bytes_done.fetch_add(size, Ordering::Relaxed);
    Ok((counts, damage))
}
