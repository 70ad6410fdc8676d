//! `wirenote batch`: many captures in parallel, with progress, per-file error isolation,
//! atomic outputs, skipping of up-to-date outputs, and deterministic sharding.
//!
//! Each input gets `<rel>.packets.<ext>`, `<rel>.flows.<ext>` and `<rel>.http.<ext>` under
//! the output folder, where `<rel>` is the input's path as given (made relative: a leading
//! `/` is dropped and `..` becomes `__`), or, for inputs found inside a folder argument,
//! that folder's path followed by the path inside it. Two `a.pcap` in different folders
//! therefore never collide.

use std::fs;
use std::hash::Hasher;
use std::io::{self, IsTerminal};
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;
use serde::Serialize;
use wirenote_core::Dissector;
use wirenote_export::{Format, TableWriter};

use crate::args::{AnnotateFormat, BatchArgs};
use crate::run::{first_pass, Capture, InOrder, Output, RowSink, TEMP_PREFIX};

/// Exit code when the run was interrupted (128 + SIGINT, as shells report it).
const EXIT_INTERRUPTED: u8 = 130;

/// One input to process.
#[derive(Debug, Clone)]
struct Input {
    path: PathBuf,
    /// Output name stem, relative to the output folder.
    rel: PathBuf,
}

/// What happened to one input.
#[derive(Debug, Clone, Serialize)]
struct SummaryRow {
    path: String,
    status: &'static str,
    packets: Option<u64>,
    connections: Option<u64>,
    http_exchanges: Option<u64>,
    error: String,
}

impl SummaryRow {
    /// A row for an input that produced no counts (skipped, failed, interrupted).
    fn uncounted(path: String, status: &'static str, error: String) -> SummaryRow {
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

/// Gzip, pcap (both byte orders, µs and ns) and pcapng magic numbers.
fn looks_like_capture(path: &Path) -> bool {
    let mut head = [0u8; 4];
    let Ok(mut file) = fs::File::open(path) else {
        return false;
    };
    use std::io::Read;
    if file.read_exact(&mut head).is_err() {
        return false;
    }
    head[..2] == [0x1f, 0x8b]
        || matches!(
            head,
            [0xa1, 0xb2, 0xc3, 0xd4]
                | [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0x0a, 0x0d, 0x0d, 0x0a]
        )
}

/// A path as given, made safe to use below the output folder.
fn relative_name(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => out.push("__"),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Expands files, folders (recursively, keeping files that are captures by content) and
/// glob patterns into a sorted, de-duplicated list.
fn expand(args: &[String]) -> anyhow::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for arg in args {
        let path = PathBuf::from(arg);
        let paths: Vec<PathBuf> = if !path.exists() && arg.contains(['*', '?', '[']) {
            glob::glob(arg)
                .with_context(|| format!("bad pattern {arg}"))?
                .filter_map(Result::ok)
                .collect()
        } else {
            vec![path]
        };
        for path in paths {
            if path.is_dir() {
                for entry in walkdir::WalkDir::new(&path).sort_by_file_name() {
                    let entry = entry.with_context(|| path.display().to_string())?;
                    if entry.file_type().is_file() && looks_like_capture(entry.path()) {
                        inputs.push(Input {
                            rel: relative_name(entry.path()),
                            path: entry.path().to_path_buf(),
                        });
                    }
                }
            } else {
                // A file named explicitly is processed even if it is not a capture: it
                // is then reported as failed, not silently ignored.
                inputs.push(Input {
                    rel: relative_name(&path),
                    path,
                });
            }
        }
    }
    inputs.sort_by(|a, b| a.rel.cmp(&b.rel));
    inputs.dedup_by(|a, b| a.rel == b.rel);
    Ok(inputs)
}

/// Stable across runs, machines and Rust versions (FNV-1a of the output name).
fn shard_of(input: &Input, count: u64) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(input.rel.to_string_lossy().as_bytes());
    hasher.finish() % count
}

fn parse_shard(text: &str) -> anyhow::Result<(u64, u64)> {
    let (i, n) = text
        .split_once('/')
        .context("--shard takes i/n, e.g. 0/4")?;
    let (i, n): (u64, u64) = (
        i.parse().context("--shard i/n: i")?,
        n.parse().context("--shard i/n: n")?,
    );
    anyhow::ensure!(n > 0 && i < n, "--shard i/n needs 0 <= i < n");
    Ok((i, n))
}

fn output_paths(outdir: &Path, input: &Input, format: AnnotateFormat) -> [PathBuf; 3] {
    let stem = outdir.join(&input.rel);
    let with = |suffix: &str| {
        let mut name = stem.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    match format {
        AnnotateFormat::Csv => [with(".packets.csv"), with(".flows.csv"), with(".http.csv")],
        AnnotateFormat::Jsonl => [
            with(".packets.jsonl"),
            with(".flows.jsonl"),
            with(".http.jsonl"),
        ],
        // The plugin finds CAPTURE.wirenote.lua next to a capture of the same name.
        AnnotateFormat::Lua => [with(".wirenote.lua"), with(".flows.csv"), with(".http.csv")],
    }
}

fn up_to_date(input: &Path, outputs: &[PathBuf]) -> bool {
    let Ok(input_time) = fs::metadata(input).and_then(|m| m.modified()) else {
        return false;
    };
    outputs.iter().all(|o| {
        fs::metadata(o)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t > input_time)
    })
}

/// Counters for one capture.
struct Counts {
    packets: u64,
    connections: u64,
    exchanges: u64,
}

/// Processes one capture into its three outputs, committed only if the whole capture
/// was read (or read as far as it is readable) and the run was not interrupted.
fn process(
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
pub fn batch(args: &BatchArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let format = args.format;
    let mut inputs = expand(&args.inputs)?;
    if let Some(shard) = &args.shard {
        let (i, n) = parse_shard(shard)?;
        inputs.retain(|input| shard_of(input, n) == i);
    }
    fs::create_dir_all(&args.output).with_context(|| args.output.display().to_string())?;
    remove_stale_temporaries(&args.output);

    let stop = Arc::new(AtomicBool::new(false));
    {
        let stop = Arc::clone(&stop);
        // Ctrl-C / SIGTERM: finish no more outputs; temporary files are removed as the
        // workers unwind, so no partial output is left.
        let _ = ctrlc::set_handler(move || stop.store(true, Ordering::SeqCst));
    }
    let total_bytes: u64 = inputs
        .iter()
        .filter_map(|i| fs::metadata(&i.path).ok())
        .map(|m| m.len())
        .sum();
    let show_progress = !args.quiet && io::stderr().is_terminal();
    let bar = if show_progress {
        let bar = indicatif::ProgressBar::new(total_bytes);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let files_done = AtomicU64::new(0);
    let bytes_done = AtomicU64::new(0);
    let file_count = inputs.len();

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()
        .context("cannot start worker threads")?;
    let rows: Vec<SummaryRow> = pool.install(|| {
        inputs
            .par_iter()
            .map(|input| {
                let outputs = output_paths(&args.output, input, format);
                let path = input.path.display().to_string();
                let row = if stop.load(Ordering::Relaxed) {
                    SummaryRow::uncounted(path, "interrupted", String::new())
                } else if !args.force && up_to_date(&input.path, &outputs) {
                    SummaryRow::uncounted(path, "skipped", String::new())
                } else {
                    match process(input, &outputs, format, &stop, &bytes_done) {
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
                        Err(err) => {
                            let message = err
                                .chain()
                                .map(|e| e.to_string())
                                .collect::<Vec<_>>()
                                .join(": ");
                            SummaryRow::uncounted(path, "failed", message)
                        }
                    }
                };
                let done = files_done.fetch_add(1, Ordering::Relaxed) + 1;
                bar.set_position(bytes_done.load(Ordering::Relaxed));
                bar.set_message(format!("{done}/{file_count} files"));
                row
            })
            .collect()
    });
    bar.finish_and_clear();

    let interrupted = stop.load(Ordering::Relaxed);
    let count = |status: &str| rows.iter().filter(|r| r.status == status).count();
    let (ok, warnings, failed, skipped) = (
        count("ok"),
        count("warning"),
        count("failed"),
        count("skipped"),
    );
    let packets: u64 = rows.iter().filter_map(|r| r.packets).sum();
    let connections: u64 = rows.iter().filter_map(|r| r.connections).sum();
    if !interrupted {
        let summary = args.output.join("batch-summary.csv");
        let out = Output::create(Some(&summary))?;
        {
            let mut writer = csv::Writer::from_writer(out.writer());
            for row in &rows {
                writer.serialize(row)?;
            }
            writer.flush()?;
        }
        out.commit()?;
    }
    if !args.quiet {
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
    Ok(if interrupted {
        eprintln!("wirenote: interrupted; no partial output was left");
        ExitCode::from(EXIT_INTERRUPTED)
    } else if failed > 0 {
        ExitCode::from(2)
    } else if warnings > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names_stay_below_the_output_folder() {
        assert_eq!(
            relative_name(Path::new("/data/a.pcap")),
            PathBuf::from("data/a.pcap")
        );
        assert_eq!(
            relative_name(Path::new("../x/./a.pcap")),
            PathBuf::from("__/x/a.pcap")
        );
    }

    #[test]
    fn shards_are_stable() {
        let input = Input {
            path: PathBuf::from("x"),
            rel: PathBuf::from("captures/a.pcap"),
        };
        assert_eq!(shard_of(&input, 1), 0);
        assert_eq!(shard_of(&input, 7), shard_of(&input, 7));
        assert!(parse_shard("3/3").is_err());
        assert_eq!(parse_shard("1/3").unwrap(), (1, 3));
    }
}
