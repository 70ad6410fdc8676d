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
mod sink;
mod tables;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    commands::run(args::Cli::parse())
}
