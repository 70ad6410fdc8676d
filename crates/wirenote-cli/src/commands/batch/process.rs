//! One capture of a batch: two passes, three outputs.

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use wirenote_core::record::{ConnRecord, ExchangeRecord, PacketRecord};
use wirenote_core::{Frame, Sink, Wants};
use wirenote_export::{ConnParquet, ConnTable, ExchangeParquet, ExchangeTable, Format};

use super::inputs::Input;
use crate::args::AnnotateFormat;
use crate::input::Capture;
use crate::output::Output;
use crate::passes::{two_passes, EachFrame};
use crate::sink::packet_sink;

/// Counters for one capture.
#[derive(Default)]
pub(super) struct Counts {
    pub(super) packets: u64,
    pub(super) connections: u64,
    pub(super) exchanges: u64,
}

/// Counts the rows of a capture's three tables, whatever their format.
#[derive(Default)]
struct RowCount(Counts);

impl Sink for RowCount {
    fn wants(&self) -> Wants {
        Wants {
            connections: true,
            exchanges: true,
        }
    }

    fn packet(&mut self, _frame: &Frame<'_>, _row: &PacketRecord) -> io::Result<()> {
        self.0.packets += 1;
        Ok(())
    }

    fn connections(&mut self, conns: &[ConnRecord]) -> io::Result<()> {
        self.0.connections += conns.len() as u64;
        Ok(())
    }

    fn exchanges(&mut self, exchanges: &[ExchangeRecord]) -> io::Result<()> {
        self.0.exchanges += exchanges.len() as u64;
        Ok(())
    }
}

/// The two tables beside the per-packet output, in `format`; a Parquet dataset's rows
/// are labelled with the capture's relative path.
type Tables<'a> = (Box<dyn Sink + Send + 'a>, Box<dyn Sink + Send + 'a>);

fn tables<'a>(
    format: AnnotateFormat,
    flows: Box<dyn io::Write + Send + 'a>,
    http: Box<dyn io::Write + Send + 'a>,
    capture: &str,
) -> io::Result<Tables<'a>> {
    Ok(match format {
        AnnotateFormat::Parquet => (
            Box::new(ConnParquet::new(flows, Some(capture))?),
            Box::new(ExchangeParquet::new(http, Some(capture))?),
        ),
        AnnotateFormat::Jsonl => (
            Box::new(ConnTable::new(Format::JsonLines, flows)),
            Box::new(ExchangeTable::new(Format::JsonLines, http)),
        ),
        AnnotateFormat::Csv | AnnotateFormat::Lua => (
            Box::new(ConnTable::new(Format::Csv, flows)),
            Box::new(ExchangeTable::new(Format::Csv, http)),
        ),
    })
}

/// Processes one capture into its three outputs, committed only if the whole capture
/// was read (or read as far as it is readable) and the run was not interrupted.
pub(super) fn process(
    input: &Input,
    outputs: &[PathBuf; 3],
    format: AnnotateFormat,
    stop: &AtomicBool,
    read: Arc<AtomicU64>,
) -> anyhow::Result<(Counts, Option<String>)> {
    let capture = Capture::open(&input.path)?.counting(read);
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
    let name = input
        .path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let mut packets: Box<dyn Sink + Send + '_> = match format {
        AnnotateFormat::Parquet => Box::new(wirenote_export::PacketParquet::new(
            packets_out.writer(),
            Some(&input.capture_name()),
        )?),
        _ => packet_sink(format, packets_out.writer(), &name)?,
    };
    let (mut flows, mut http) = tables(
        format,
        flows_out.writer(),
        http_out.writer(),
        &input.capture_name(),
    )?;
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
        let mut sinks: Vec<&mut dyn Sink> = vec![&mut *packets, &mut *flows, &mut *http, &mut rows];
        two_passes(&mut walk, &mut sinks)?
    };
    let counts = rows.0;
    drop((packets, flows, http));
    if stop.load(Ordering::Relaxed) {
        anyhow::bail!("interrupted");
    }
    packets_out.commit()?;
    flows_out.commit()?;
    http_out.commit()?;
    Ok((counts, damage))
}
