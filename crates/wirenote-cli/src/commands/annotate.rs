//! `wirenote annotate`: one row per frame, in two passes at once (the first on its own
//! thread, the second following it) or in one, with the rows written on a third thread.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use wirenote_core::{CloseOnDrop, Discard, FactBoard, Limits, Pass, Sink};

use crate::memory;
use wirenote_export::{split_packet_parquet, AnnotatedCopy, TableOptions, WorkbookInfo};

use crate::args::{AnnotateArgs, AnnotateFormat};
use crate::exit::Exit;
use crate::input::{stdin_delivery, walk_frames, Capture};
use crate::output::Output;
use crate::passes::{drive, EachFrame, Walk};
use crate::pipe::{with_encoder_thread, with_writer_thread, Delivery};
use crate::progress::Progress;
use crate::sink::packet_sink;
use crate::tables::{
    check_lua, check_parquet, resolve_format, table_options, workbook_info, TableName,
};

/// An `annotate` run, checked before any work starts.
struct Config {
    input: PathBuf,
    format: AnnotateFormat,
    options: TableOptions,
    info: WorkbookInfo,
    output: Option<PathBuf>,
    pcapng_out: Option<PathBuf>,
    single_pass: bool,
    /// Each pass's: two passes at once share the budget.
    limits: Limits,
}

impl Config {
    fn from_args(args: &AnnotateArgs) -> anyhow::Result<Config> {
        let input = args.input.path().to_path_buf();
        let name = input.file_name().map_or_else(
            || input.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let format = resolve_format(args.format, args.output.as_deref(), AnnotateFormat::Csv)?;
        let tables: &[TableName] = match format {
            AnnotateFormat::Xlsx => &[TableName::Packets, TableName::Flows, TableName::Http],
            _ => &[TableName::Packets],
        };
        if format == AnnotateFormat::Lua {
            check_lua(&args.tables)?;
        }
        if format == AnnotateFormat::Parquet {
            check_parquet(&args.tables)?;
        }
        let options = table_options(&args.tables, tables, format == AnnotateFormat::Csv)?;
        Ok(Config {
            // The capture's file name labels Lua metadata and the About sheet.
            info: workbook_info(&name)?,
            input,
            format,
            options,
            output: args.output.clone(),
            pcapng_out: args.pcapng_out.clone(),
            single_pass: args.single_pass,
            limits: memory::limits(&args.tables.memory, if args.single_pass { 1 } else { 2 })?,
        })
    }

    /// The rows' output and the annotated pcapng copy's, if asked for.
    fn outputs(&self) -> anyhow::Result<(Output, Option<Output>)> {
        let output = Output::create(self.output.as_deref())?;
        let pcapng = self
            .pcapng_out
            .as_deref()
            .map(|p| Output::create(Some(p)))
            .transpose()?;
        Ok((output, pcapng))
    }
}

pub(crate) fn run(args: &AnnotateArgs) -> anyhow::Result<Exit> {
    let config = Config::from_args(args)?;
    if config.single_pass && config.input == Path::new("-") {
        // Nothing to read twice: stdin streams straight through, as from a live capture.
        let (output, pcapng) = config.outputs()?;
        let stdin = io::stdin();
        let mut walk = |each: EachFrame<'_>| walk_frames("<stdin>", stdin.lock(), each);
        let damage = annotate(
            &config,
            "<stdin>",
            &mut walk,
            Pass::Single,
            &output,
            pcapng.as_ref(),
            stdin_delivery(),
        )?;
        return finish(output, pcapng, damage);
    }
    let capture = Capture::open(&config.input)?;
    let passes = if config.single_pass { 1 } else { 2 };
    let progress = Progress::for_capture(capture.len(), passes);
    let size = capture.len();
    let capture = capture.counting(progress.start_file(size));
    let (output, pcapng) = config.outputs()?;
    let damage = progress.run(|| annotate_file(&config, &capture, &output, pcapng.as_ref()))?;
    finish(output, pcapng, damage)
}

/// Annotates a capture file, in one pass or two at once.
fn annotate_file(
    config: &Config,
    capture: &Capture,
    output: &Output,
    pcapng: Option<&Output>,
) -> anyhow::Result<Option<String>> {
    if config.single_pass {
        let mut walk = |each: EachFrame<'_>| capture.for_each_frame(each);
        annotate(
            config,
            &capture.name,
            &mut walk,
            Pass::Single,
            output,
            pcapng,
            Delivery::Batched,
        )
    } else {
        two_passes_at_once(config, capture, output, pcapng)
    }
}

/// The first pass runs ahead on its own thread; the second follows it (see
/// `wirenote_core::pipeline::board`) while a third writes the rows.
fn two_passes_at_once(
    config: &Config,
    capture: &Capture,
    output: &Output,
    pcapng: Option<&Output>,
) -> anyhow::Result<Option<String>> {
    let board = Arc::new(FactBoard::new());
    let (first, second) = std::thread::scope(|scope| {
        let first = std::thread::Builder::new()
            .name("wirenote-pass1".into())
            .spawn_scoped(scope, || {
                let _close = CloseOnDrop(&board);
                let mut walk = |each: EachFrame<'_>| capture.for_each_frame(each);
                drive(
                    &capture.name,
                    &mut walk,
                    Pass::First(Arc::clone(&board)),
                    config.limits,
                    &mut Discard,
                )
            })
            .context("cannot start the first pass")?;
        let mut walk = |each: EachFrame<'_>| capture.for_each_frame(each);
        let second = annotate(
            config,
            &capture.name,
            &mut walk,
            Pass::Second(Arc::clone(&board)),
            output,
            pcapng,
            Delivery::Batched,
        );
        if second.is_err() {
            // Say, the output failed: the first pass need not read to the end.
            board.abandon();
        }
        let first: anyhow::Result<Option<String>> = first
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the first pass panicked")));
        anyhow::Ok((first, second))
    })?;
    // Both passes read the same frames, the second stopping where the first did: the
    // first pass's error or damage is the one to report.
    let first_damage = first?;
    let second_damage = second?;
    Ok(first_damage.or(second_damage))
}

/// Drives every frame `walk` yields (from `source`, which messages name) through a
/// dissector for `pass`: the rows go to the format's sink on a writer thread (Parquet's
/// are gathered here and encoded there), the annotated pcapng copy (which needs the
/// frames' bytes) is written on this one.
fn annotate(
    config: &Config,
    source: &str,
    walk: Walk<'_>,
    pass: Pass,
    output: &Output,
    pcapng: Option<&Output>,
    delivery: Delivery,
) -> anyhow::Result<Option<String>> {
    let mut copy = pcapng
        .map(|out| AnnotatedCopy::new(out.writer()))
        .transpose()?;
    let produce = |rows: &mut dyn Sink| {
        // The rows' sink last: it may take the rows (see `Sink::take_row`).
        let mut sinks: Vec<&mut dyn Sink> = Vec::with_capacity(2);
        if let Some(copy) = copy.as_mut() {
            sinks.push(copy);
        }
        sinks.push(rows);
        drive(source, walk, pass, config.limits, &mut sinks)
    };
    if config.format == AnnotateFormat::Parquet {
        let (rows, encoder) = split_packet_parquet(output.writer(), None);
        return with_encoder_thread(rows, encoder, produce);
    }
    let make_sink = || {
        packet_sink(
            config.format,
            &config.options,
            output.writer(),
            &config.info,
        )
    };
    with_writer_thread(make_sink, config.format.wants(), delivery, |pipe| {
        produce(pipe)
    })
}

fn finish(output: Output, pcapng: Option<Output>, damage: Option<String>) -> anyhow::Result<Exit> {
    output.commit()?;
    if let Some(out) = pcapng {
        out.commit()?;
    }
    Ok(Exit::from_damage(damage))
}
