//! Command-line arguments (clap derive) and their validated form.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Turn packet captures into annotated, explainable records of TCP connections.
#[derive(Debug, Parser)]
#[command(name = "wirenote", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes: 0 success; 1 capture damaged (every readable frame written, warning on stderr); 2 input unreadable or not a capture, or output not writable.";

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write one row per frame: addresses, stream, relative seq/ack, flags, Info.
    Annotate(AnnotateArgs),
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line, same keys as the CSV header.
    Jsonl,
}

/// `wirenote annotate`.
#[derive(Debug, clap::Args)]
pub struct AnnotateArgs {
    /// Capture file (pcap, pcapng, optionally gzip-compressed); `-` reads stdin.
    pub input: PathBuf,
    /// Write here instead of stdout (atomically: a temporary file renamed when complete).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = FormatArg::Csv)]
    pub format: FormatArg,
}
