//! How a command ended, as an exit status and a message on stderr.
//!
//! The statuses (also in `--help` and the README):
//! - 0: success (also when the reader of stdout went away: broken pipe);
//! - 1: the capture is damaged (truncated or corrupt) — every readable frame was written,
//!   and a warning names the file, the last good frame and the byte offset;
//! - 2: the input cannot be read as a capture at all (missing, not a capture, unsupported
//!   version), or the output could not be written; no output file is left half-written
//!   (standard output gets nothing when the capture is unreadable from the start).
//!   `batch`: 2 if any input failed, 1 if some were damaged;
//! - 130: `batch` was interrupted (128 + SIGINT, as shells report it).

use std::io;
use std::process::ExitCode;

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exit {
    /// Everything was read and written.
    Clean,
    /// The input was damaged; the message names file, last good frame and offset. Every
    /// readable frame was written.
    Damaged(String),
    /// Some inputs failed (`batch`; each is reported in its summary).
    SomeFailed,
    /// Some inputs were damaged (`batch`).
    SomeDamaged,
    /// Interrupted by a signal (`batch`): no partial output was left.
    Interrupted,
}

impl Exit {
    /// `Clean`, or `Damaged` with the reader's warning.
    pub(crate) fn from_damage(damage: Option<String>) -> Exit {
        match damage {
            Some(warning) => Exit::Damaged(warning),
            None => Exit::Clean,
        }
    }

    fn code(&self) -> u8 {
        match self {
            Exit::Clean => 0,
            Exit::Damaged(_) | Exit::SomeDamaged => 1,
            Exit::SomeFailed => FAILED,
            Exit::Interrupted => 130,
        }
    }
}

/// The status of a run that failed outright: unreadable input, unwritable output.
const FAILED: u8 = 2;

/// Reports how a command ended on stderr and turns it into the process's exit status.
pub(crate) fn report(result: anyhow::Result<Exit>) -> ExitCode {
    match result {
        Ok(exit) => {
            if let Exit::Damaged(warning) = &exit {
                eprintln!("wirenote: warning: {warning}");
            }
            ExitCode::from(exit.code())
        }
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("wirenote: {}", one_line(&err));
            ExitCode::from(FAILED)
        }
    }
}

/// An error and its causes on one line, outermost first.
pub(crate) fn one_line(err: &anyhow::Error) -> String {
    err.chain()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(": ")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
    })
}
