//! One capture of a batch: two passes, three outputs.

use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Context;
use wirenote_core::Dissector;
use wirenote_export::{Format, TableWriter};

use super::inputs::Input;
use crate::args::AnnotateFormat;
use crate::input::Capture;
use crate::output::Output;
use crate::passes::first_pass;
use crate::sink::{InOrder, RowSink};

/// Counters for one capture.
pub(super) struct Counts {
    pub(super) packets: u64,
    pub(super) connections: u64,
    pub(super) exchanges: u64,
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
    let facts = first_pass(&capture)?;
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
    let mut dissector = Dissector::second_pass(facts);
    let mut counts = Counts {
        packets: 0,
        connections: 0,
        exchanges: 0,
    };
    let damage = {
        let table_format = match format {
            AnnotateFormat::Jsonl => Format::JsonLines,
            AnnotateFormat::Csv | AnnotateFormat::Lua => Format::Csv,
        };
        let name = input
            .path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let mut packets = RowSink::new(format, packets_out.writer(), &name)?;
        let mut flows = TableWriter::connections(table_format, flows_out.writer());
        let mut http = TableWriter::exchanges(table_format, http_out.writer());
        let mut order = InOrder::default();
        let mut conns_written = 0;
        let damage = capture.for_each_frame(|frame| {
            if stop.load(Ordering::Relaxed) {
                anyhow::bail!("interrupted");
            }
            packets.packet(&dissector.dissect(frame))?;
            counts.packets += 1;
            let finished = dissector.take_finished();
            packets.connections(&finished);
            conns_written += order.push(finished, &mut flows)?;
            for exchange in dissector.take_exchanges() {
                http.exchange(&exchange)?;
                counts.exchanges += 1;
            }
            Ok(())
        })?;
        let finished = dissector.finish();
        packets.connections(&finished);
        conns_written += order.push(finished, &mut flows)?;
        for exchange in dissector.take_exchanges() {
            http.exchange(&exchange)?;
            counts.exchanges += 1;
        }
        counts.connections = conns_written;
        packets.finish()?;
        flows.finish()?;
        http.finish()?;
        damage
    };
    if stop.load(Ordering::Relaxed) {
        anyhow::bail!("interrupted");
    }
    packets_out.commit()?;
    flows_out.commit()?;
    http_out.commit()?;
    bytes_done.fetch_add(size, Ordering::Relaxed);
    Ok((counts, damage))
}
