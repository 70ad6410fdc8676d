//! `wirenote batch`: many captures in parallel, with progress, per-file error isolation,
//! atomic outputs, skipping of up-to-date outputs, and deterministic sharding.
//!
//! Each input gets `<rel>.packets.<ext>`, `<rel>.flows.<ext>` and `<rel>.http.<ext>` under
//! the output folder, where `<rel>` is the input's path as given (made relative: a leading
//! `/` is dropped and `..` becomes `__`), or, for inputs found inside a folder argument,
//! that folder's path followed by the path inside it. Two `a.pcap` in different folders
//! therefore never collide.

mod inputs;
mod process;
mod summary;

use std::fs;
use std::io::{self, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;

use crate::args::{AnnotateFormat, BatchArgs};
use crate::exit::{one_line, Exit};
use crate::output::TEMP_PREFIX;
use crate::tables::{check_lua, table_options, TableName};
use inputs::{expand, output_paths, parse_shard, shard_of, up_to_date, Input};
use summary::SummaryRow;
use wirenote_export::TableOptions;

/// A batch, validated before any capture is opened.
struct Config {
    inputs: Vec<Input>,
    outdir: PathBuf,
    jobs: usize,
    format: AnnotateFormat,
    options: TableOptions,
    force: bool,
    quiet: bool,
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
        if args.format == AnnotateFormat::Lua {
            check_lua(&args.tables)?;
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
            force: args.force,
            quiet: args.quiet,
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

/// A progress bar over the bytes of all inputs (hidden when quiet or not on a terminal).
fn progress_bar(config: &Config) -> indicatif::ProgressBar {
    if config.quiet || !io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let total_bytes: u64 = config
        .inputs
        .iter()
        .filter_map(|i| fs::metadata(&i.path).ok())
        .map(|m| m.len())
        .sum();
    let bar = indicatif::ProgressBar::new(total_bytes);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar
}

/// Processes every input on a pool of `config.jobs` threads; one summary row each, in
/// input order.
fn process_all(config: &Config, stop: &AtomicBool) -> anyhow::Result<Vec<SummaryRow>> {
    let bar = progress_bar(config);
    let files_done = AtomicU64::new(0);
    let bytes_done = AtomicU64::new(0);
    let file_count = config.inputs.len();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.jobs)
        .build()
        .context("cannot start worker threads")?;
    let rows = pool.install(|| {
        config
            .inputs
            .par_iter()
            .map(|input| {
                let row = process_one(config, input, stop, &bytes_done);
                let done = files_done.fetch_add(1, Ordering::Relaxed) + 1;
                bar.set_position(bytes_done.load(Ordering::Relaxed));
                bar.set_message(format!("{done}/{file_count} files"));
                row
            })
            .collect()
    });
    bar.finish_and_clear();
    Ok(rows)
}

/// One input's summary row: skipped, interrupted, processed, or failed.
fn process_one(
    config: &Config,
    input: &Input,
    stop: &AtomicBool,
    bytes_done: &AtomicU64,
) -> SummaryRow {
    let outputs = output_paths(&config.outdir, input, config.format);
    let path = input.path.display().to_string();
    if stop.load(Ordering::Relaxed) {
        return SummaryRow::uncounted(path, "interrupted", String::new());
    }
    if !config.force && up_to_date(&input.path, &outputs) {
        return SummaryRow::uncounted(path, "skipped", String::new());
    }
    match process::process(
        input,
        &outputs,
        config.format,
        &config.options,
        stop,
        bytes_done,
    ) {
        Ok((counts, damage)) => SummaryRow {
            path,
            status: if damage.is_some() { "warning" } else { "ok" },
            packets: Some(counts.packets),
            connections: Some(counts.connections),
            http_exchanges: Some(counts.exchanges),
            error: damage.unwrap_or_default(),
        },
        Err(_) if stop.load(Ordering::Relaxed) => {
            SummaryRow::uncounted(path, "interrupted", String::new())
        }
        Err(err) => SummaryRow::uncounted(path, "failed", one_line(&err)),
    }
}
