//! One capture of a batch: two passes, three outputs.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Context;
use wirenote_core::record::PacketRecord;
use wirenote_core::{Frame, Sink};
use wirenote_export::{ConnTable, ExchangeTable, Format};

use super::inputs::Input;
use crate::args::AnnotateFormat;
use crate::input::Capture;
use crate::output::Output;
use crate::passes::{two_passes, EachFrame};
use crate::sink::packet_sink;

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

/// Processes one capture into its three outputs, committed only if the whole capture
/// was read (or read as far as it is readable) and the run was not interrupted.
pub(super) fn process(
    input: &Input,
    outputs: &[PathBuf; 3],
    format: AnnotateFormat,
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
    let [packets_out, flows_out, http_out] = [
        Output::create(Some(&outputs[0]))?,
        Output::create(Some(&outputs[1]))?,
        Output::create(Some(&outputs[2]))?,
    ];
    let table_format = match format {
        AnnotateFormat::Jsonl => Format::JsonLines,
        AnnotateFormat::Csv | AnnotateFormat::Lua => Format::Csv,
    };
    let name = input
        .path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut packets = packet_sink(format, packets_out.writer(), &name)?;
    let mut flows = ConnTable::new(table_format, flows_out.writer());
    let mut http = ExchangeTable::new(table_format, http_out.writer());
    let mut rows = RowCount::default();
    let mut walk = |each: EachFrame<'_>| {
        capture.for_each_frame(|frame| {
            if stop.load(Ordering::Relaxed) {
                anyhow::bail!("interrupted");
            }
            each(frame)
        })
    };
    let damage = {
        let mut sinks: Vec<&mut dyn Sink> = vec![&mut *packets, &mut flows, &mut http, &mut rows];
        two_passes(&capture.name, &mut walk, &mut sinks)?
    };
    let counts = Counts {
        packets: rows.0,
        connections: flows.written(),
        exchanges: http.written(),
    };
    drop((packets, flows, http));
    if stop.load(Ordering::Relaxed) {
        anyhow::bail!("interrupted");
    }
    packets_out.commit()?;
    flows_out.commit()?;
    http_out.commit()?;
    bytes_done.fetch_add(size, Ordering::Relaxed);
    Ok((counts, damage))
}
