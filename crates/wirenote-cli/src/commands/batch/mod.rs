//! `wirenote batch`: many captures in parallel, every file met accounted for, with
//! byte-level progress, per-file error isolation, atomic outputs, skipping of up-to-date
//! outputs, and deterministic sharding.
//!
//! Each capture gets `<rel>.packets.<ext>`, `<rel>.flows.<ext>` and `<rel>.http.<ext>`
//! under the output folder (with Parquet, `packets/<rel>.parquet`, `flows/…` and
//! `http/…`: one dataset per table), where `<rel>` is its path relative to the folder
//! argument it was found under, or, when named directly, as given (see [`inputs`]). Two
//! inputs that would write the same outputs are an error before any work starts.

mod inputs;
mod process;
mod summary;

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;

use crate::args::{AnnotateFormat, BatchArgs};
use crate::exit::{one_line, Exit};
use crate::output::TEMP_PREFIX;
use crate::progress::{on_terminal, Progress};
use inputs::{expand, output_paths, parse_shard, shard_of, up_to_date, Input, What};
use summary::{Earlier, SummaryRow};
use wirenote_core::Limits;
use wirenote_export::TableOptions;

use crate::tables::{check_lua, check_parquet, table_options, TableName};

/// A batch, validated before any capture is opened.
struct Config {
    inputs: Vec<Input>,
    outdir: PathBuf,
    jobs: usize,
    format: AnnotateFormat,
    options: TableOptions,
    /// Each capture's two passes run one after the other: each has the whole budget.
    limits: Limits,
    force: bool,
    quiet: bool,
    /// What the last run's summary said of each capture (for the rows of skipped ones).
    earlier: HashMap<String, Earlier>,
}

impl Config {
    /// Expands the inputs (files, folders, patterns; the shard's share of them) and checks
    /// every option.
    fn from_args(args: &BatchArgs) -> anyhow::Result<Config> {
        let shard = args.shard.as_deref().map(parse_shard).transpose()?;
        let mut inputs = expand(&args.all_inputs())?;
        if let Some((i, n)) = shard {
            inputs.retain(|input| shard_of(input, n) == i);
        }
        match args.format {
            AnnotateFormat::Lua => check_lua(&args.tables)?,
            AnnotateFormat::Parquet => check_parquet(&args.tables)?,
            _ => {}
        }
        let options = table_options(
            &args.tables,
            &[TableName::Packets, TableName::Flows, TableName::Http],
            matches!(args.format, AnnotateFormat::Csv | AnnotateFormat::Lua),
        )?;
        Ok(Config {
            inputs,
            outdir: args.output.clone(),
            jobs: args.jobs.unwrap_or(0),
            format: args.format,
            options,
            limits: crate::memory::limits(&args.tables.memory, 1)?,
            force: args.force,
            quiet: args.quiet,
            earlier: summary::earlier(&args.output),
        })
    }
}

/// Removes temporary files an earlier, killed run left in the output folder.
fn remove_stale_temporaries(outdir: &Path) {
    for entry in walkdir::WalkDir::new(outdir)
        .into_iter()
        .filter_map(Result::ok)
    {
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && name.starts_with(TEMP_PREFIX) && name.ends_with(".tmp") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Runs `wirenote batch`.
pub(crate) fn run(args: &BatchArgs) -> anyhow::Result<Exit> {
    let started = Instant::now();
    let config = Config::from_args(args)?;
    fs::create_dir_all(&config.outdir).with_context(|| config.outdir.display().to_string())?;
    remove_stale_temporaries(&config.outdir);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // Ctrl-C / SIGTERM: finish no more outputs; temporary files are removed as the
        // workers unwind, so no partial output is left.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let rows = process_all(&config, &stop)?;
    let interrupted = stop.load(Ordering::Relaxed);
    if !interrupted {
        summary::write_summary(&config.outdir, &rows, config.options.csv)?;
    }
    Ok(summary::report(&rows, interrupted, config.quiet, started))
}

/// Processes every input on a pool of `config.jobs` threads, under one progress bar over
/// the bytes of all captures; one summary row each, in input order.
fn process_all(config: &Config, stop: &AtomicBool) -> anyhow::Result<Vec<SummaryRow>> {
    let sizes: Vec<Option<u64>> = config
        .inputs
        .iter()
        .map(|i| fs::metadata(&i.path).ok().map(|m| m.len()))
        .collect();
    let captures: Vec<u64> = config
        .inputs
        .iter()
        .zip(&sizes)
        .filter(|(i, _)| i.what == What::Capture)
        .map(|(_, size)| size.unwrap_or(0))
        .collect();
    // Each capture is read twice (two passes), so each byte read counts half.
    let progress = Progress::new(
        !config.quiet && on_terminal(),
        captures.iter().sum(),
        2,
        Some(captures.len() as u64),
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.jobs)
        .build()
        .context("cannot start worker threads")?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if pool.current_num_threads() >= cores {
        // The jobs keep every core busy: no core is left for reader threads.
        crate::input::read_on_the_pass_thread();
    }
    let rows = progress.run(|| {
        pool.install(|| {
            config
                .inputs
                .par_iter()
                .zip(&sizes)
                .map(|(input, size)| process_one(config, input, *size, stop, &progress))
                .collect()
        })
    });
    Ok(rows)
}

/// One input's summary row: not a capture, skipped, interrupted, processed, or failed.
fn process_one(
    config: &Config,
    input: &Input,
    size: Option<u64>,
    stop: &AtomicBool,
    progress: &Progress,
) -> SummaryRow {
    let path = input.path.display().to_string();
    let capture = input.capture_name();
    let uncounted = |status, error| SummaryRow {
        bytes: size,
        ..SummaryRow::uncounted(path.clone(), capture.clone(), status, error)
    };
    match &input.what {
        What::Capture => {}
        What::NotCapture(reason) => return uncounted("not-a-capture", reason.clone()),
        What::Failed(reason) => return uncounted("failed", reason.clone()),
    }
    let outputs = output_paths(&config.outdir, input, config.format);
    if stop.load(Ordering::Relaxed) {
        return uncounted("interrupted", String::new());
    }
    let read = progress.start_file(size.unwrap_or(0));
    if !config.force && up_to_date(&input.path, &outputs) {
        progress.end_file(&read, false);
        let earlier = config.earlier.get(&capture).cloned().unwrap_or_default();
        return SummaryRow {
            packets: earlier.packets,
            connections: earlier.connections,
            http_exchanges: earlier.http_exchanges,
            error: earlier.error,
            ..uncounted("skipped", String::new())
        };
    }
    let result = process::process(
        input,
        &outputs,
        config.format,
        &config.options,
        config.limits,
        stop,
        Arc::clone(&read),
    );
    progress.end_file(&read, result.is_err());
    match result {
        Ok((counts, damage)) => SummaryRow {
            status: if damage.is_some() { "warning" } else { "ok" },
            packets: Some(counts.packets),
            connections: Some(counts.connections),
            http_exchanges: Some(counts.exchanges),
            error: damage.unwrap_or_default(),
            ..uncounted("ok", String::new())
        },
        Err(_) if stop.load(Ordering::Relaxed) => uncounted("interrupted", String::new()),
        Err(err) => uncounted("failed", one_line(&err)),
    }
}
