//! `wirenote annotate`: one row per frame, in two passes (the first on its own thread)
//! or one, with the rows written on another thread.

use std::io;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use wirenote_core::Dissector;
use wirenote_core::Frame;
use wirenote_core::{CloseOnDrop, FactBoard};
use wirenote_export::{annotation, AnnotatedPcapNg};

use crate::args::{AnnotateArgs, AnnotateFormat};
use crate::exit::Exit;
use crate::input::{stdin_delivery, walk_frames, Capture, StopReading};
use crate::output::Output;
use crate::pipe::{with_writer_thread, Delivery};
use crate::sink::RowSink;

pub(crate) fn run(args: &AnnotateArgs) -> anyhow::Result<Exit> {
    let name = args.input.path().file_name().map_or_else(
        || args.input.path().display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    if args.single_pass && args.input.path() == Path::new("-") {
        // Nothing to read twice: stdin streams straight through, as from a live capture.
        let (output, pcapng) = annotate_outputs(args)?;
        let stdin = io::stdin();
        let damage = annotate_frames(
            args,
            &name,
            Dissector::new().rows_only(),
            |each| walk_frames("<stdin>", stdin.lock(), each),
            &output,
            pcapng.as_ref(),
            None,
            stdin_delivery(),
        )?;
        return finish_annotate(output, pcapng, damage);
    }
    let capture = Capture::open(args.input.path())?;
    let (output, pcapng) = annotate_outputs(args)?;
    let walk =
        |each: &mut dyn FnMut(&Frame<'_>) -> anyhow::Result<()>| capture.for_each_frame(each);
    if args.single_pass {
        let damage = annotate_frames(
            args,
            &name,
            Dissector::new().rows_only(),
            walk,
            &output,
            pcapng.as_ref(),
            None,
            Delivery::Batched,
        )?;
        return finish_annotate(output, pcapng, damage);
    }
    // The first pass runs ahead on its own thread; the second follows it (see
    // wirenote_core::board) while a third writes the rows.
    let board = Arc::new(FactBoard::new());
    let (first, second) = std::thread::scope(|scope| {
        let first = std::thread::Builder::new()
            .name("wirenote-pass1".into())
            .spawn_scoped(scope, || {
                let _close = CloseOnDrop(&board);
                let mut dissector = Dissector::first_pass_publishing(Arc::clone(&board));
                let damage = capture.for_each_frame(|frame| {
                    if board.is_abandoned() {
                        // Nobody follows any more (the second pass failed): stop here.
                        anyhow::bail!(StopReading);
                    }
                    dissector.dissect(frame);
                    dissector.take_finished();
                    dissector.take_exchanges();
                    Ok(())
                })?;
                dissector.publish_end();
                Ok(damage)
            })
            .context("cannot start the first pass")?;
        let follower = Dissector::second_pass_following(Arc::clone(&board)).rows_only();
        let second = annotate_frames(
            args,
            &name,
            follower,
            walk,
            &output,
            pcapng.as_ref(),
            Some(&board),
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
    finish_annotate(output, pcapng, first_damage.or(second_damage))
}

/// The rows' output and the annotated pcapng copy's, if asked for.
fn annotate_outputs(args: &AnnotateArgs) -> anyhow::Result<(Output, Option<Output>)> {
    let output = Output::create(args.output.as_deref())?;
    let pcapng = args
        .pcapng_out
        .as_deref()
        .map(|p| Output::create(Some(p)))
        .transpose()?;
    Ok((output, pcapng))
}

/// Dissects every frame `walk` yields into rows, written on a second thread. With a
/// `board`, the dissector follows a first pass: it stops where the first pass stopped,
/// and fails if the first pass failed before settling what a row needs.
#[allow(clippy::too_many_arguments)]
fn annotate_frames(
    args: &AnnotateArgs,
    name: &str,
    mut dissector: Dissector,
    walk: impl FnOnce(
        &mut dyn FnMut(&Frame<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Option<String>>,
    output: &Output,
    pcapng: Option<&Output>,
    board: Option<&FactBoard>,
    delivery: Delivery,
) -> anyhow::Result<Option<String>> {
    let make_sink = || RowSink::new(args.format, output.writer(), name);
    let mut copy = match pcapng {
        Some(out) => Some(AnnotatedPcapNg::new(out.writer())?),
        None => None,
    };
    let keeps_connections = args.format == AnnotateFormat::Lua;
    let damage = with_writer_thread(make_sink, keeps_connections, delivery, |pipe| {
        let damage = walk(&mut |frame| {
            if board.is_some_and(|b| b.is_past_end(frame.number)) {
                anyhow::bail!(StopReading);
            }
            let record = pipe.slot()?;
            dissector.dissect_into(frame, record);
            if dissector.lost_the_first_pass() {
                // Its error is the one reported; no row with running values goes out.
                anyhow::bail!("the first pass stopped early");
            }
            if let Some(copy) = copy.as_mut() {
                copy.packet(frame, &annotation(record))?;
            }
            pipe.connections(dissector.take_finished());
            dissector.take_exchanges();
            pipe.frame_done()
        })?;
        pipe.connections(dissector.finish());
        Ok(damage)
    })?;
    if let Some(copy) = copy {
        copy.finish()?;
    }
    Ok(damage)
}

fn finish_annotate(
    output: Output,
    pcapng: Option<Output>,
    damage: Option<String>,
) -> anyhow::Result<Exit> {
    output.commit()?;
    if let Some(out) = pcapng {
        out.commit()?;
    }
    Ok(Exit::from_damage(damage))
}
