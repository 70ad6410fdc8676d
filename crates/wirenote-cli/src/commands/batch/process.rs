//! One capture of a batch: two passes, three tables (or one workbook).

use std::fs;
use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use wirenote_core::record::{ConnRecord, ExchangeRecord, PacketRecord};
use wirenote_core::{Frame, Limits, Sink, Wants};
use wirenote_export::{
    ConnParquet, ConnTable, ExchangeParquet, ExchangeTable, Format, PacketParquet, TableOptions,
    Workbook,
};

use super::inputs::Input;
use crate::args::AnnotateFormat;
use crate::input::Capture;
use crate::output::Output;
use crate::passes::{two_passes, EachFrame};
use crate::sink::{packet_sink, ALL_SHEETS};
use crate::tables::workbook_info;

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
            ignores_rows: false,
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
    options: &TableOptions,
    flows: Box<dyn io::Write + Send + 'a>,
    http: Box<dyn io::Write + Send + 'a>,
    capture: &str,
) -> io::Result<Tables<'a>> {
    let text = match format {
        AnnotateFormat::Parquet => {
            return Ok((
                Box::new(ConnParquet::new(flows, Some(capture))?),
                Box::new(ExchangeParquet::new(http, Some(capture))?),
            ))
        }
        AnnotateFormat::Jsonl => Format::JsonLines,
        _ => Format::Csv,
    };
    Ok((
        Box::new(ConnTable::with_options(text, options, flows)),
        Box::new(ExchangeTable::with_options(text, options, http)),
    ))
}

/// Processes one capture into its outputs (three tables, or one workbook of all three),
/// committed only if the whole capture was read (or read as far as it is readable) and
/// the run was not interrupted.
pub(super) fn process(
    input: &Input,
    outputs: &[PathBuf],
    format: AnnotateFormat,
    options: &TableOptions,
    limits: Limits,
    stop: &AtomicBool,
    read: Arc<AtomicU64>,
) -> anyhow::Result<(Counts, Option<String>)> {
    let capture = Capture::open(&input.path)?.counting(read);
    for output in outputs {
        if let Some(parent) = output.parent() {
            fs::create_dir_all(parent).with_context(|| parent.display().to_string())?;
        }
    }
    let outs = outputs
        .iter()
        .map(|path| Output::create(Some(path)))
        .collect::<io::Result<Vec<Output>>>()?;
    let name = input
        .path
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    let info = workbook_info(&name)?;
    let mut sinks: Vec<Box<dyn Sink + Send + '_>> = match format {
        AnnotateFormat::Xlsx => vec![Box::new(Workbook::new(
            outs[0].writer(),
            ALL_SHEETS,
            options,
            info,
        )?)],
        AnnotateFormat::Parquet => {
            let capture = input.capture_name();
            let packets = PacketParquet::new(outs[0].writer(), Some(&capture))?;
            let (flows, http) = tables(
                format,
                options,
                outs[1].writer(),
                outs[2].writer(),
                &capture,
            )?;
            vec![Box::new(packets), flows, http]
        }
        _ => {
            let packets = packet_sink(format, options, outs[0].writer(), &info)?;
            let (flows, http) = tables(
                format,
                options,
                outs[1].writer(),
                outs[2].writer(),
                &input.capture_name(),
            )?;
            vec![packets, flows, http]
        }
    };
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
        let mut all: Vec<&mut dyn Sink> = sinks
            .iter_mut()
            .map(|s| &mut **s as &mut dyn Sink)
            .collect();
        all.push(&mut rows);
        two_passes(&capture.name, &mut walk, limits, &mut all)?
    };
    let counts = rows.0;
    drop(sinks);
    if stop.load(Ordering::Relaxed) {
        anyhow::bail!("interrupted");
    }
    for out in outs {
        out.commit()?;
    }
    Ok((counts, damage))
}
