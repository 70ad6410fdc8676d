//! The `wirenote` binary: thin glue between arguments, files and the library crates.
//! Exit statuses are documented in `exit.rs` (also in `--help` and the README).
//!
//! Modules point one way: `commands` (one per command) use `input`, `output`, `sink`,
//! `pipe`, `passes`, `tables` and `exit`, which use only the library crates and `args`.

mod args;
mod commands;
mod exit;
mod input;
mod memory;
mod output;
mod passes;
mod pipe;
mod progress;
mod read_ahead;
mod sink;
mod tables;

use std::process::ExitCode;

use clap::Parser;

/// jemalloc, not glibc's malloc. wirenote allocates on three threads at once (two passes
/// and the writer), and glibc gives each thread after the first an arena that grows one
/// page at a time, an `mprotect` call for each: with 200,000 half-open connections that
/// was a fifth of a pass, and the peak RSS of the same run varied from 364 to 660 MiB as
/// the arenas fragmented. jemalloc grows in large extents and returns freed ones, so the
/// peaks are stable. mimalloc was tried first: on 300 MB captures its peak RSS was 74–93
/// MiB against glibc's 42 (the ceiling is 64).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    commands::run(args::Cli::parse())
}
