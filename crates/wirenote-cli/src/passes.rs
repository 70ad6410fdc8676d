//! One pass over a capture's frames into a sink, and two passes one after the other:
//! what every command runs (`annotate` also runs two at once, see `commands::annotate`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use wirenote_core::{Discard, DriveError, Driver, FactBoard, Frame, Limits, Pass, Sink, Step};

use crate::input::StopReading;

/// What a walk calls for each frame.
pub(crate) type EachFrame<'e> = &'e mut dyn FnMut(&Frame<'_>) -> anyhow::Result<()>;

/// A walk over a capture's frames (`Capture::for_each_frame`, or stdin's): calls the
/// closure on each, and returns the damage warning if reading stopped on damage.
pub(crate) type Walk<'w> = &'w mut dyn FnMut(
    &mut dyn FnMut(&Frame<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<Option<String>>;

/// Whether the process ends after this command's one capture (see [`leave_state_to_exit`]).
static STATE_LEFT_TO_EXIT: AtomicBool = AtomicBool::new(false);

/// For a command that reads one capture and exits (`annotate`, `flows`, `http`): a
/// finished pass's connection state is left for the process's exit to release, not
/// freed connection by connection. Freeing 200,000 half-open connections' state took a
/// fifth of such a run (with glibc's malloc, coalescing the free chunks); the memory is
/// the peak the run already reached. `batch` and `serve`, which go on, never set it.
pub(crate) fn leave_state_to_exit() {
    STATE_LEFT_TO_EXIT.store(true, Ordering::Relaxed);
}

/// Drives every frame `walk` yields through a dissector for `pass` into `sink`, then
/// finishes the sink under `limits`. Returns the damage warning, if any. A pass whose
/// rows are read says once, at the end, if the memory budget made it forget connections
/// early (a first pass forgets the same ones and says nothing).
pub(crate) fn drive(
    name: &str,
    walk: Walk<'_>,
    pass: Pass,
    limits: Limits,
    sink: &mut dyn Sink,
) -> anyhow::Result<Option<String>> {
    let warns = !matches!(pass, Pass::First(_));
    let mut driver = Driver::with_limits(pass, sink, limits);
    let damage = walk(&mut |frame| match driver.frame(frame, sink) {
        Ok(Step::Continue) => Ok(()),
        Ok(Step::Stop) => Err(StopReading.into()),
        Err(err) => Err(drive_error(err)),
    })?;
    driver.finish(sink)?;
    if let Some(warning) = crate::memory::warning(name, driver.shed(), &limits).filter(|_| warns) {
        eprintln!("{warning}");
    }
    // Giving up on a run of malformed frames is damage too: every row so far is written.
    let damage = damage.or_else(|| driver.gave_up().map(|why| format!("{name}: {why}")));
    // A first pass's state is freed here, on its own thread: it closed its board as it
    // finished, and the second pass goes on meanwhile.
    if warns && STATE_LEFT_TO_EXIT.load(Ordering::Relaxed) {
        std::mem::forget(driver);
    }
    Ok(damage)
}

/// A drive error for the CLI: a sink's I/O error as itself (so that a broken pipe is
/// seen as one and its message is not repeated).
fn drive_error(err: DriveError) -> anyhow::Error {
    match err {
        DriveError::Sink(io) => io.into(),
        other => other.into(),
    }
}

/// A first pass over the frames `walk` yields, then a second into `sink`, one after the
/// other (as `batch` runs a capture; `annotate` runs them at once).
pub(crate) fn two_passes(
    name: &str,
    walk: Walk<'_>,
    limits: Limits,
    sink: &mut dyn Sink,
) -> anyhow::Result<Option<String>> {
    let board = Arc::new(FactBoard::new());
    drive(
        name,
        walk,
        Pass::First(Arc::clone(&board)),
        limits,
        &mut Discard,
    )?;
    drive(name, walk, Pass::Second(board), limits, sink)
}
