//! Command-line arguments (clap derive).

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
    /// One row per frame: addresses, stream, relative seq/ack, flags, Info, role, both
    /// endpoints' TCP states, analysis flags, completeness.
    Annotate(AnnotateArgs),
    /// One row per TCP connection: endpoints, timing, counters, Zeek-style state and
    /// history, who closed it, final states.
    Flows(OutputArgs),
    /// The story of one connection, packet by packet, as the lab report tells it.
    Explain(ExplainArgs),
    /// One row per HTTP exchange (Zeek http.log-like): request and response frames,
    /// method, host, URI, status, sizes, conditional/revalidated, persistence, timing.
    Http(OutputArgs),
    /// Process many captures in parallel: per-packet, per-connection and HTTP tables for
    /// each, a batch-summary.csv, and a non-zero exit if any input failed.
    Batch(BatchArgs),
    /// Serve the lab page (and its logo, with Last-Modified/ETag and 304 revalidation) on
    /// 127.0.0.1:5000, so the lab can be reproduced and captured.
    Serve(ServeArgs),
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line, same keys as the CSV header.
    Jsonl,
}

/// Language of `explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LangArg {
    /// English.
    En,
    /// Simplified Chinese.
    Zh,
}

/// Input and output of a table-writing command.
#[derive(Debug, clap::Args)]
pub struct OutputArgs {
    /// Capture file (pcap, pcapng, optionally gzip-compressed); `-` reads stdin.
    pub input: PathBuf,
    /// Write here instead of stdout (atomically: a temporary file renamed when complete).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = FormatArg::Csv)]
    pub format: FormatArg,
}

/// `wirenote annotate`.
#[derive(Debug, clap::Args)]
pub struct AnnotateArgs {
    /// Capture file (pcap, pcapng, optionally gzip-compressed); `-` reads stdin.
    pub input: PathBuf,
    /// Write here instead of stdout (atomically: a temporary file renamed when complete).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format: a table (`csv`, `jsonl`) or metadata for the Wireshark plugin (`lua`).
    #[arg(short, long, value_enum, default_value_t = AnnotateFormat::Csv)]
    pub format: AnnotateFormat,
    /// Also write a pcapng copy of the capture with every packet's annotation as its
    /// comment (`frame.comment` in Wireshark).
    #[arg(long, value_name = "OUT.pcapng")]
    pub pcapng_out: Option<PathBuf>,
    /// Read the capture once, as tshark does without `-2`: a request's `response_in` stays
    /// empty and `completeness` is the value so far. Faster, and stdin streams through
    /// without being spooled (say, from `tcpdump -w -`).
    #[arg(long)]
    pub single_pass: bool,
}

/// What `annotate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnnotateFormat {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line, same keys as the CSV header.
    Jsonl,
    /// A Lua table for plugins/wirenote.lua (name it CAPTURE.wirenote.lua).
    Lua,
}

/// `wirenote explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// Capture file; `-` reads stdin.
    pub input: PathBuf,
    /// The connection to explain (`tcp.stream`).
    #[arg(long)]
    pub stream: u64,
    /// Language of the explanation.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
}

/// `wirenote batch`.
#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// Capture files, folders (searched recursively; captures recognised by content, not
    /// extension) or glob patterns.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Output folder; outputs are named after each input's path.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Captures processed at once (default: one per core).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Format: tables as `csv` or `jsonl`; with `lua`, the per-packet output is the
    /// Wireshark plugin's metadata (`<path>.wirenote.lua`) and the other tables are CSV.
    #[arg(short, long, value_enum, default_value_t = AnnotateFormat::Csv)]
    pub format: AnnotateFormat,
    /// Redo inputs whose outputs are newer than the input (skipped otherwise).
    #[arg(long)]
    pub force: bool,
    /// Process only shard i of n (stable hash of each input's name), e.g. `--shard 0/4`
    /// in the first of four array jobs.
    #[arg(long, value_name = "i/n")]
    pub shard: Option<String>,
    /// No progress bar and no summary on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// `wirenote serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:5000")]
    pub bind: std::net::SocketAddr,
    /// TOML file with `major`, `student_id`, `name`, `lang` (flags override it).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// The student's major.
    #[arg(long)]
    pub major: Option<String>,
    /// The student ID.
    #[arg(long)]
    pub student_id: Option<String>,
    /// The student's name.
    #[arg(long)]
    pub name: Option<String>,
    /// Label language of the page.
    #[arg(long, value_enum)]
    pub lang: Option<LangArg>,
    /// Folder served under /static/ (default: the embedded logo at /static/img/logo.jpg).
    #[arg(long = "static", value_name = "DIR")]
    pub static_dir: Option<PathBuf>,
    /// Close the connection after every response (non-persistent HTTP).
    #[arg(long)]
    pub close: bool,
    /// Seconds a client has to send its request head.
    #[arg(long, default_value_t = 10)]
    pub header_timeout: u64,
    /// Connections served at once.
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,
    /// No access log on stderr.
    #[arg(long)]
    pub quiet: bool,
}
