//! Command-line arguments (clap derive).

use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

/// `--version`: the crate's version and, when built from a git checkout, the commit
/// (set by `build.rs`).
pub const VERSION: &str = env!("WIRENOTE_VERSION");

/// Turn packet captures into annotated, explainable records of TCP connections.
#[derive(Debug, Parser)]
#[command(name = "wirenote", version = VERSION, about, after_help = EXIT_CODES)]
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
    #[command(after_help = ANNOTATE_EXAMPLES)]
    Annotate(AnnotateArgs),
    /// One row per TCP connection: endpoints, timing, counters, Zeek-style state and
    /// history, who closed it, final states.
    #[command(after_help = FLOWS_EXAMPLES)]
    Flows(OutputArgs),
    /// The story of one connection, packet by packet, as the lab report tells it.
    #[command(after_help = EXPLAIN_EXAMPLES)]
    Explain(ExplainArgs),
    /// One self-contained HTML page for a capture: the connections (sortable, Zeek state
    /// and history in words), the HTTP exchanges, and each connection's ladder diagram.
    #[command(after_help = REPORT_EXAMPLES)]
    Report(ReportArgs),
    /// One row per HTTP exchange (Zeek http.log-like): request and response frames,
    /// method, host, URI, status, sizes, conditional/revalidated, persistence, timing.
    #[command(after_help = HTTP_EXAMPLES)]
    Http(OutputArgs),
    /// Process many captures in parallel: per-packet, per-connection and HTTP tables for
    /// each, a batch-summary.csv, and a non-zero exit if any input failed.
    #[command(after_help = BATCH_EXAMPLES)]
    Batch(BatchArgs),
    /// Serve the lab page (and its logo, with Last-Modified/ETag and 304 revalidation) on
    /// 127.0.0.1:5000, so the lab can be reproduced and captured.
    #[command(after_help = SERVE_EXAMPLES)]
    Serve(ServeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command into a folder.
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
}

const ANNOTATE_EXAMPLES: &str = "Examples:
  wirenote annotate fixtures/lab-5000.pcap                 rows as CSV on stdout
  wirenote annotate -r lab.pcapng -o lab.csv               tshark's -r works too
  wirenote annotate lab.pcap -f lua -o lab.pcap.wirenote.lua   metadata for the Wireshark plugin
  wirenote annotate lab.pcap -o lab.xlsx                   a workbook: packets, connections, HTTP
  wirenote annotate lab.pcap --excel -o lab.csv            a CSV Excel opens right by double-click
  wirenote annotate lab.pcap -e frame,time_rel,info --stream 0,2   chosen columns and connections
  wirenote annotate lab.pcap --pcapng-out lab.annotated.pcapng -o lab.csv
  sudo tcpdump -U -i lo -w - port 5000 | wirenote annotate --single-pass -   live rows";

const FLOWS_EXAMPLES: &str = "Examples:
  wirenote flows fixtures/lab-5000.pcap                    one row per connection
  wirenote flows -r big.pcap.gz -f jsonl -o flows.jsonl";

const HTTP_EXAMPLES: &str = "Examples:
  wirenote http fixtures/lab-5000.pcap                     one row per request/response
  wirenote http -r web.pcapng -o http.csv
  wirenote http web.pcap -o http.xlsx -e time,host,uri,status";

const EXPLAIN_EXAMPLES: &str = "Examples:
  wirenote explain fixtures/lab-5000.pcap --stream 0       the first connection's story
  wirenote explain -r lab.pcap --stream 2 --lang zh        in Chinese
  wirenote explain lab.pcap --stream 0 -o stream0.svg      the ladder diagram (SVG)
  wirenote explain lab.pcap --stream 1 -f html --lang zh   an HTML page with the ladder, on stdout";

const REPORT_EXAMPLES: &str = "Examples:
  wirenote report fixtures/lab-5000.pcap -o report.html    every connection, exchange and ladder
  wirenote report lab.pcap --lang zh -o report.zh.html     in Chinese";

const BATCH_EXAMPLES: &str = "Examples:
  wirenote batch captures/ -o out/                         every capture under captures/
  wirenote batch 'labs/**/*.pcap' -o out/ -j 2 -f jsonl
  wirenote batch captures/ -o out/ --shard 0/4             the first of four array jobs";

const SERVE_EXAMPLES: &str = "Examples:
  wirenote serve                                           the lab page on 127.0.0.1:5000
  wirenote serve --lang zh --name 张三 --student-id 2024001 --major 计算机科学
  wirenote serve --close --static fixtures/lab-site/static";

const COMPLETIONS_EXAMPLES: &str = "Examples:
  wirenote completions bash > ~/.local/share/bash-completion/completions/wirenote
  wirenote completions zsh > \"${fpath[1]}/_wirenote\"
  wirenote completions fish > ~/.config/fish/completions/wirenote.fish";

const MAN_EXAMPLES: &str = "Examples:
  wirenote man | man -l -                                  read it now
  wirenote man --dir ~/.local/share/man/man1               wirenote.1, wirenote-annotate.1, …";

/// The capture a command reads: positional, or tshark's `-r FILE`.
#[derive(Debug, clap::Args)]
pub struct CaptureArg {
    /// Capture file (pcap, pcapng, optionally gzip-compressed); `-` reads stdin.
    #[arg(
        value_name = "CAPTURE",
        required_unless_present = "read_file",
        conflicts_with = "read_file"
    )]
    capture: Option<PathBuf>,
    /// The capture, as tshark spells it (`-r FILE`).
    #[arg(short = 'r', long = "read-file", value_name = "CAPTURE")]
    read_file: Option<PathBuf>,
}

impl CaptureArg {
    /// The capture's path (`-` for stdin); clap makes sure one of the two is given.
    pub fn path(&self) -> &Path {
        self.capture
            .as_deref()
            .or(self.read_file.as_deref())
            .unwrap_or(Path::new("-"))
    }
}

/// `wirenote completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `wirenote man`.
#[derive(Debug, clap::Args)]
pub struct ManArgs {
    /// Write `wirenote.1` and one `wirenote-COMMAND.1` per command into this folder
    /// instead of printing the main page.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Output format of `flows` and `http`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line, same keys as the CSV header.
    Jsonl,
    /// An Excel workbook: the table's sheet and an About sheet.
    Xlsx,
    /// Apache Parquet: typed columns, zstd.
    Parquet,
}

/// How the tables of a command are written: their columns, their rows, the CSV style.
#[derive(Debug, Clone, clap::Args)]
pub struct TableFlags {
    /// Columns to write, in this order, as tshark's `-e` (repeatable; a comma list works
    /// too). Where an output has several tables, a bare name applies to each table that
    /// has it and `TABLE.COLUMN` (`packets.stream`, `flows.stream`, `http.uri`) to one; a
    /// table none of the names applies to keeps all its columns.
    #[arg(
        short = 'e',
        long = "columns",
        value_name = "COLUMN",
        value_delimiter = ','
    )]
    pub columns: Vec<String>,
    /// Keep only the rows of these connections (`tcp.stream`, comma-separated or
    /// repeated); frame numbers and `time_rel` keep their values.
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub stream: Vec<u64>,
    /// CSV for Excel opened by double-click: UTF-8 with a byte-order mark, CRLF line ends.
    #[arg(long)]
    pub excel: bool,
    /// CSV: write text that looks like a formula (`=…`, `+…`, `-…`, `@…`) as the capture
    /// has it, without the leading `'` that keeps a spreadsheet from running it (for
    /// tools that compare with tshark's text; never for a file a person opens).
    #[arg(long)]
    pub verbatim: bool,
    #[command(flatten)]
    pub memory: MemoryFlags,
}

/// When connections are forgotten, and how much memory their state may take. Wireshark
/// never forgets one; wirenote must, for memory, and a forgotten 4-tuple that comes back
/// keeps its stream number (see the README's "Memory" section for what else restarts).
#[derive(Debug, Clone, clap::Args)]
pub struct MemoryFlags {
    /// Forget a connection that got no further than its SYNs after this many seconds
    /// of capture time without a packet (Zeek's `tcp_attempt_delay`).
    #[arg(long, value_name = "SECONDS", default_value = "5")]
    pub attempt_timeout: f64,
    /// Forget any other open connection after this many seconds without a packet.
    #[arg(long, value_name = "SECONDS", default_value = "3600")]
    pub idle_timeout: f64,
    /// Forget a closed (or reset) connection this many seconds after its last packet.
    #[arg(long, value_name = "SECONDS", default_value = "30")]
    pub close_linger: f64,
    /// Memory for connection state (`512MiB`, `2GiB`, `1000000000`); past it the oldest
    /// quiet connections are forgotten first, with one warning saying how many. Two
    /// passes at once share it.
    #[arg(long, value_name = "BYTES", default_value = "1GiB")]
    pub max_memory: String,
}

impl Default for MemoryFlags {
    /// The flags' defaults, as clap fills them in.
    fn default() -> Self {
        MemoryFlags {
            attempt_timeout: 5.0,
            idle_timeout: 3600.0,
            close_linger: 30.0,
            max_memory: "1GiB".into(),
        }
    }
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
    #[command(flatten)]
    pub input: CaptureArg,
    /// Write here instead of stdout (atomically: a temporary file renamed when complete).
    /// The extension names the format (`.csv`, `.jsonl`, `.xlsx`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format (default: from `-o`'s extension, else csv).
    #[arg(short, long, value_enum)]
    pub format: Option<FormatArg>,
    #[command(flatten)]
    pub tables: TableFlags,
}

/// `wirenote annotate`.
#[derive(Debug, clap::Args)]
pub struct AnnotateArgs {
    #[command(flatten)]
    pub input: CaptureArg,
    /// Write here instead of stdout (atomically: a temporary file renamed when complete).
    /// The extension names the format (`.csv`, `.jsonl`, `.lua`, `.xlsx`).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Output format: a table (`csv`, `jsonl`), metadata for the Wireshark plugin (`lua`),
    /// or a workbook of packets, connections and HTTP exchanges (`xlsx`). Default: from
    /// `-o`'s extension, else csv.
    #[arg(short, long, value_enum)]
    pub format: Option<AnnotateFormat>,
    #[command(flatten)]
    pub tables: TableFlags,
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
    /// An Excel workbook: packets, connections, HTTP exchanges and an About sheet.
    Xlsx,
    /// Apache Parquet: typed columns, zstd (`batch`: one dataset per table).
    Parquet,
}

/// `wirenote explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    #[command(flatten)]
    pub input: CaptureArg,
    /// The connection to explain (`tcp.stream`).
    #[arg(long)]
    pub stream: u64,
    /// Language of the explanation.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
    /// What to write: the story as text, the ladder diagram as SVG, or an HTML page with
    /// the connection's table rows and its ladder. Default: from `-o`'s extension, else
    /// text.
    #[arg(short, long, value_enum)]
    pub format: Option<ExplainFormat>,
    /// Write here instead of stdout (atomically: a temporary file renamed when complete).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
}

/// What `explain` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExplainFormat {
    /// One line per packet, then the connection in words.
    Text,
    /// A ladder (sequence) diagram: one self-contained SVG.
    Svg,
    /// A self-contained HTML page: the connection, its HTTP exchanges and its ladder.
    Html,
}

/// `wirenote report`.
#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub input: CaptureArg,
    /// Write here instead of stdout (atomically: a temporary file renamed when complete).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Language of the page.
    #[arg(long, value_enum, default_value_t = LangArg::En)]
    pub lang: LangArg,
}

/// `wirenote batch`.
#[derive(Debug, clap::Args)]
pub struct BatchArgs {
    /// Capture files, folders (searched recursively; captures recognised by content, not
    /// extension) or glob patterns.
    #[arg(value_name = "INPUT", required_unless_present = "read_file")]
    pub inputs: Vec<String>,
    /// A capture, as tshark spells it (`-r FILE`); may be repeated.
    #[arg(short = 'r', long = "read-file", value_name = "CAPTURE")]
    pub read_file: Vec<String>,
    /// Output folder; outputs are named after each input's path.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Captures processed at once (default: one per core).
    #[arg(short, long)]
    pub jobs: Option<usize>,
    /// Format: tables as `csv` or `jsonl`; with `lua`, the per-packet output is the
    /// Wireshark plugin's metadata (`<path>.wirenote.lua`) and the other tables are CSV;
    /// with `xlsx`, one workbook per capture (`<path>.xlsx`) holds all three tables.
    /// with `parquet`, one dataset per table (`packets/`, `flows/`, `http/`).
    #[arg(short, long, value_enum, default_value_t = AnnotateFormat::Csv)]
    pub format: AnnotateFormat,
    #[command(flatten)]
    pub tables: TableFlags,
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

impl BatchArgs {
    /// Every input named: positional ones, then the `-r` ones.
    pub fn all_inputs(&self) -> Vec<String> {
        self.inputs.iter().chain(&self.read_file).cloned().collect()
    }
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
    /// Seconds a new connection has to send its first byte.
    #[arg(long, default_value_t = 5)]
    pub first_byte_timeout: u64,
    /// Seconds a client has to send a whole request head (an idle keep-alive connection
    /// is closed after it too).
    #[arg(long, default_value_t = 10)]
    pub header_timeout: u64,
    /// Connections open at once; one more is accepted and closed at once.
    #[arg(long, default_value_t = 4096)]
    pub max_connections: usize,
    /// No access log on stderr.
    #[arg(long)]
    pub quiet: bool,
}
