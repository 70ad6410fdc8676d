//! The `wirenote` binary: thin glue between arguments, files and the library crates.
//!
//! Exit codes (also in `--help` and the README):
//! - 0: success (also when the reader of stdout went away: broken pipe);
//! - 1: the capture is damaged (truncated or corrupt) — every readable frame was written,
//!   and a warning names the file, the last good frame and the byte offset;
//! - 2: the input cannot be read as a capture at all (missing, not a capture, unsupported
//!   version), or the output could not be written; no output file is left half-written
//!   (standard output gets nothing when the capture is unreadable from the start).
//!   `batch`: 2 if any input failed, 1 if some were damaged, 130 if interrupted.

mod args;
mod batch;
mod output;
mod pipe;
mod run;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    run::main(args::Cli::parse())
}
