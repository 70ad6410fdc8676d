//! What a batch tells at the end: `batch-summary.csv`, a line per failed or damaged input
//! on stderr, the totals, and the exit status.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use std::io::Write;

use wirenote_export::{neutralise, CsvStyle};

use crate::exit::Exit;
use crate::output::Output;

/// What happened to one input.
#[derive(Debug, Clone, Serialize)]
pub(super) struct SummaryRow {
    pub(super) path: String,
    pub(super) status: &'static str,
    pub(super) packets: Option<u64>,
    pub(super) connections: Option<u64>,
    pub(super) http_exchanges: Option<u64>,
    pub(super) error: String,
}

impl SummaryRow {
    /// A row for an input that produced no counts (skipped, failed, interrupted).
    pub(super) fn uncounted(path: String, status: &'static str, error: String) -> SummaryRow {
        SummaryRow {
            path,
            status,
            packets: None,
            connections: None,
            http_exchanges: None,
            error,
        }
    }
}

/// Writes `batch-summary.csv` into `outdir` (not after an interruption: the summary of an
/// interrupted run would list inputs it never reached as if they had been looked at).
/// File names and errors that look like formulas get a leading `'` unless `style` says
/// verbatim; `--excel` gives it a byte-order mark and CRLF line ends too.
pub(super) fn write_summary(
    outdir: &Path,
    rows: &[SummaryRow],
    style: CsvStyle,
) -> anyhow::Result<()> {
    let out = Output::create(Some(&outdir.join("batch-summary.csv")))?;
    {
        let mut sink = out.writer();
        if style.excel {
            sink.write_all("\u{feff}".as_bytes())?;
        }
        let mut writer = csv::WriterBuilder::new()
            .terminator(if style.excel {
                csv::Terminator::CRLF
            } else {
                csv::Terminator::Any(b'\n')
            })
            .from_writer(sink);
        for row in rows {
            let mut row = row.clone();
            if !style.verbatim {
                row.path = neutralise(&row.path).into_owned();
                row.error = neutralise(&row.error).into_owned();
            }
            writer.serialize(row)?;
        }
        writer.flush()?;
    }
    out.commit()?;
    Ok(())
}

/// Tells on stderr what happened (unless `quiet`) and returns the exit status.
pub(super) fn report(
    rows: &[SummaryRow],
    interrupted: bool,
    quiet: bool,
    started: Instant,
) -> Exit {
    let count = |status: &str| rows.iter().filter(|r| r.status == status).count();
    let (ok, warnings, failed, skipped) = (
        count("ok"),
        count("warning"),
        count("failed"),
        count("skipped"),
    );
    if !quiet {
        let packets: u64 = rows.iter().filter_map(|r| r.packets).sum();
        let connections: u64 = rows.iter().filter_map(|r| r.connections).sum();
        for row in rows
            .iter()
            .filter(|r| r.status == "failed" || r.status == "warning")
        {
            // The error names the file already.
            eprintln!("wirenote: {}: {}", row.status, row.error);
        }
        eprintln!(
            "wirenote: {} files: {ok} ok, {warnings} with warnings, {failed} failed, {skipped} skipped; {packets} packets, {connections} connections in {:.2} s",
            rows.len(),
            started.elapsed().as_secs_f64()
        );
    }
    if interrupted {
        eprintln!("wirenote: interrupted; no partial output was left");
        Exit::Interrupted
    } else if failed > 0 {
        Exit::SomeFailed
    } else if warnings > 0 {
        Exit::SomeDamaged
    } else {
        Exit::Clean
    }
}
