//! What a batch tells at the end: `batch-summary.csv`, a line per failed or damaged input
//! on stderr, the totals, and the exit status.
//!
//! `batch-summary.csv` has one row per file the batch met, in the order of `capture`:
//! `path` (as found), `status` (`ok`, `warning`, `failed`, `skipped`, `not-a-capture`),
//! `packets`, `connections`, `http_exchanges`, `error` (the reason for `failed`,
//! `warning` and `not-a-capture`), `capture` (the relative path naming the outputs, as
//! the Parquet datasets' `capture` column holds it) and `bytes` (the file's size). A
//! `skipped` row keeps the counts (and any warning) of the run that wrote its outputs,
//! read from the `batch-summary.csv` that run left.

use std::collections::HashMap;
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
    pub(super) capture: String,
    pub(super) bytes: Option<u64>,
}

impl SummaryRow {
    /// A row for an input that produced no counts (failed, interrupted, not a capture).
    pub(super) fn uncounted(
        path: String,
        capture: String,
        status: &'static str,
        error: String,
    ) -> SummaryRow {
        SummaryRow {
            path,
            status,
            packets: None,
            connections: None,
            http_exchanges: None,
            error,
            capture,
            bytes: None,
        }
    }
}

/// What an earlier run's summary said of a capture (by `capture`): its counts and warning.
#[derive(Debug, Clone, Default)]
pub(super) struct Earlier {
    pub(super) packets: Option<u64>,
    pub(super) connections: Option<u64>,
    pub(super) http_exchanges: Option<u64>,
    pub(super) error: String,
}

/// The counts in `outdir/batch-summary.csv`, if an earlier run left one.
pub(super) fn earlier(outdir: &Path) -> HashMap<String, Earlier> {
    let Ok(mut reader) = csv::Reader::from_path(outdir.join("batch-summary.csv")) else {
        return HashMap::new();
    };
    let Ok(headers) = reader.headers().cloned() else {
        return HashMap::new();
    };
    let at = |name: &str| headers.iter().position(|h| h == name);
    let (Some(capture), Some(status)) = (at("capture"), at("status")) else {
        return HashMap::new();
    };
    let (packets, connections, exchanges, error) = (
        at("packets"),
        at("connections"),
        at("http_exchanges"),
        at("error"),
    );
    let number = |record: &csv::StringRecord, column: Option<usize>| {
        column
            .and_then(|c| record.get(c))
            .and_then(|v| v.parse().ok())
    };
    reader
        .records()
        .filter_map(Result::ok)
        .filter(|r| matches!(r.get(status), Some("ok" | "warning" | "skipped")))
        .filter_map(|r| {
            let earlier = Earlier {
                packets: number(&r, packets),
                connections: number(&r, connections),
                http_exchanges: number(&r, exchanges),
                error: error.and_then(|c| r.get(c)).unwrap_or_default().to_owned(),
            };
            Some((r.get(capture)?.to_owned(), earlier))
        })
        .collect()
}

/// Writes `batch-summary.csv` into `outdir` (not after an interruption: the summary of an
/// interrupted run would list inputs it never reached as if they had been looked at).
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
                // File names and errors that look like formulas get a leading `'`.
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
    let (ok, warnings, failed, skipped, other) = (
        count("ok"),
        count("warning"),
        count("failed"),
        count("skipped"),
        count("not-a-capture"),
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
            "wirenote: {} files: {ok} ok, {warnings} with warnings, {failed} failed, {skipped} skipped, {other} not captures (listed in batch-summary.csv); {packets} packets, {connections} connections in {:.2} s",
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
