//! Running a command: opening inputs, writing outputs atomically, mapping errors to exit codes.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use wirenote_core::record::{ConnRecord, PacketRecord};
use wirenote_core::Conn;
use wirenote_core::{CaptureReader, Frame};
use wirenote_core::{CloseOnDrop, FactBoard};
use wirenote_core::{Dissector, PassOneFacts};
use wirenote_export::{
    annotation, explain_stream, AnnotatedPcapNg, Format, Language, LuaWriter, TableWriter,
};

use crate::args::{
    AnnotateArgs, AnnotateFormat, Cli, Command, ExplainArgs, FormatArg, LangArg, OutputArgs,
    ServeArgs,
};
use crate::pipe::with_writer_thread;
use wirenote_server::{Lang, PageInfo, ServerConfig};

/// Exit code for a damaged capture whose readable frames were all written.
const EXIT_DAMAGED: u8 = 1;
/// Exit code for an unreadable input or an unwritable output.
const EXIT_FAILED: u8 = 2;

/// Runs the parsed command line and returns the process exit code.
pub fn main(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Annotate(args) => annotate(&args),
        Command::Flows(args) => flows(&args),
        Command::Explain(args) => explain(&args),
        Command::Http(args) => http(&args),
        Command::Serve(args) => serve(&args),
        Command::Batch(args) => {
            return match crate::batch::batch(&args) {
                Ok(code) => code,
                Err(err) => {
                    eprintln!("wirenote: {}", one_line(&err));
                    ExitCode::from(EXIT_FAILED)
                }
            }
        }
    };
    match result {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Damaged(warning)) => {
            eprintln!("wirenote: warning: {warning}");
            ExitCode::from(EXIT_DAMAGED)
        }
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("wirenote: {}", one_line(&err));
            ExitCode::from(EXIT_FAILED)
        }
    }
}

/// How a run ended when it did not fail outright.
enum Outcome {
    Clean,
    /// The input was damaged; the message names file, last good frame and offset.
    Damaged(String),
}

fn one_line(err: &anyhow::Error) -> String {
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

/// A capture opened for reading, possibly more than once.
pub(crate) struct Capture {
    name: String,
    file: File,
    len: u64,
}

impl Capture {
    /// Opens a file, or stdin (spooled to an anonymous temporary file so that it can be
    /// read twice like a file).
    ///
    /// Captures are read through a small buffer rather than memory-mapped: a mapping
    /// counts every page it touched in the process's resident memory, which would make
    /// RSS grow with the capture; reading keeps it bounded by the open connections.
    pub(crate) fn open(path: &Path) -> anyhow::Result<Capture> {
        let name = path.display().to_string();
        let file = if path == Path::new("-") {
            let mut spool =
                tempfile::tempfile().context("cannot create a temporary file for stdin")?;
            io::copy(&mut io::stdin().lock(), &mut spool).context("reading stdin")?;
            spool
        } else {
            File::open(path).with_context(|| name.clone())?
        };
        let meta = file.metadata().with_context(|| name.clone())?;
        if meta.is_dir() {
            anyhow::bail!("{name}: is a directory");
        }
        Ok(Capture {
            name,
            file,
            len: meta.len(),
        })
    }

    /// Size of the (possibly compressed) capture in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Reads every frame, calling `each`; returns the damage warning if reading stopped
    /// early on a damaged capture.
    pub(crate) fn for_each_frame(
        &self,
        each: impl FnMut(&Frame<'_>) -> anyhow::Result<()>,
    ) -> anyhow::Result<Option<String>> {
        walk_frames(
            &self.name,
            ReadAt {
                file: &self.file,
                at: 0,
            },
            each,
        )
    }
}

/// Reads a file from the start at its own position, so that two passes can read one
/// file at once on two threads.
struct ReadAt<'a> {
    file: &'a File,
    at: u64,
}

impl io::Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(self.file, buf, self.at)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(self.file, buf, self.at)?;
        self.at += n as u64;
        Ok(n)
    }
}

/// Reads every frame of the capture in `input`, calling `each`; returns the damage
/// warning if reading stopped early on a damaged capture.
pub(crate) fn walk_frames(
    name: &str,
    input: impl io::Read,
    mut each: impl FnMut(&Frame<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<Option<String>> {
    let mut reader = CaptureReader::from_read(input).with_context(|| name.to_owned())?;
    loop {
        match reader.next_frame() {
            Ok(Some(frame)) => match each(&frame) {
                Err(err) if err.is::<StopReading>() => return Ok(None),
                other => other?,
            },
            Ok(None) => return Ok(None),
            Err(err) if err.is_partial() => return Ok(Some(format!("{name}: {err}"))),
            Err(err) => return Err(anyhow::Error::new(err).context(name.to_owned())),
        }
    }
}

fn outcome(damage: Option<String>) -> Outcome {
    match damage {
        Some(warning) => Outcome::Damaged(warning),
        None => Outcome::Clean,
    }
}

fn format_of(arg: FormatArg) -> Format {
    match arg {
        FormatArg::Csv => Format::Csv,
        FormatArg::Jsonl => Format::JsonLines,
    }
}

/// Pass 1: what only the end of the capture knows (each connection's final completeness,
/// each request's response frame).
pub(crate) fn first_pass(capture: &Capture) -> anyhow::Result<PassOneFacts> {
    let mut dissector = Dissector::first_pass();
    capture.for_each_frame(|frame| {
        dissector.dissect(frame);
        dissector.take_finished();
        dissector.take_exchanges();
        Ok(())
    })?;
    Ok(dissector.into_facts())
}

/// Where per-packet rows go: a table, or Lua metadata for the Wireshark plugin (which
/// also needs the connections' summaries, written at the end).
pub(crate) enum RowSink<'a> {
    Table(TableWriter<Box<dyn Write + Send + 'a>>),
    Lua(LuaWriter<Box<dyn Write + Send + 'a>>, Vec<ConnRecord>),
}

impl<'a> RowSink<'a> {
    /// A sink for `format`; `capture_name` labels Lua metadata.
    pub(crate) fn new(
        format: AnnotateFormat,
        out: Box<dyn Write + Send + 'a>,
        capture_name: &str,
    ) -> io::Result<Self> {
        Ok(match format {
            AnnotateFormat::Csv => RowSink::Table(TableWriter::packets(Format::Csv, out)),
            AnnotateFormat::Jsonl => RowSink::Table(TableWriter::packets(Format::JsonLines, out)),
            AnnotateFormat::Lua => RowSink::Lua(LuaWriter::new(out, capture_name)?, Vec::new()),
        })
    }

    pub(crate) fn packet(
        &mut self,
        record: &wirenote_core::record::PacketRecord,
    ) -> io::Result<()> {
        match self {
            RowSink::Table(table) => table.packet(record),
            RowSink::Lua(lua, _) => lua.packet(record),
        }
    }

    /// Connections that ended (only Lua metadata keeps them).
    pub(crate) fn connections(&mut self, conns: &[Conn]) {
        if let RowSink::Lua(_, kept) = self {
            kept.extend(conns.iter().map(ConnRecord::from_conn));
        }
    }

    pub(crate) fn finish(self) -> io::Result<()> {
        match self {
            RowSink::Table(mut table) => table.finish(),
            RowSink::Lua(lua, mut conns) => lua.finish(&mut conns),
        }
    }
}

fn annotate(args: &AnnotateArgs) -> anyhow::Result<Outcome> {
    let name = args.input.file_name().map_or_else(
        || args.input.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    if args.single_pass && args.input == Path::new("-") {
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
        )?;
        return finish_annotate(output, pcapng, damage);
    }
    let capture = Capture::open(&args.input)?;
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

/// Ends a walk over frames early, as if the capture ended there.
#[derive(Debug)]
pub(crate) struct StopReading;

impl std::fmt::Display for StopReading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped reading")
    }
}

impl std::error::Error for StopReading {}

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
) -> anyhow::Result<Option<String>> {
    let make_sink = || RowSink::new(args.format, output.writer(), name);
    let mut copy = match pcapng {
        Some(out) => Some(AnnotatedPcapNg::new(out.writer())?),
        None => None,
    };
    let keeps_connections = args.format == AnnotateFormat::Lua;
    let damage = with_writer_thread(make_sink, keeps_connections, |pipe| {
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
            Ok(())
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
) -> anyhow::Result<Outcome> {
    output.commit()?;
    if let Some(out) = pcapng {
        out.commit()?;
    }
    Ok(outcome(damage))
}

/// Emits connection rows in stream order although connections end in any order: a row
/// waits until every lower stream has been written.
#[derive(Default)]
pub(crate) struct InOrder {
    next: u64,
    waiting: BTreeMap<u64, ConnRecord>,
}

impl InOrder {
    /// Queues finished connections and writes every row whose turn has come; returns how
    /// many rows were written.
    pub(crate) fn push<W: Write>(
        &mut self,
        conns: Vec<Conn>,
        table: &mut TableWriter<W>,
    ) -> io::Result<u64> {
        for conn in conns {
            self.waiting
                .insert(conn.stream, ConnRecord::from_conn(&conn));
        }
        let mut written = 0;
        while let Some(record) = self.waiting.remove(&self.next) {
            table.connection(&record)?;
            self.next += 1;
            written += 1;
        }
        Ok(written)
    }
}

fn flows(args: &OutputArgs) -> anyhow::Result<Outcome> {
    let capture = Capture::open(&args.input)?;
    let output = Output::create(args.output.as_deref())?;
    let mut dissector = Dissector::new();
    let damage = {
        let mut table = TableWriter::connections(format_of(args.format), output.writer());
        let mut order = InOrder::default();
        let damage = capture.for_each_frame(|frame| {
            dissector.dissect(frame);
            order.push(dissector.take_finished(), &mut table)?;
            Ok(())
        })?;
        order.push(dissector.finish(), &mut table)?;
        table.finish()?;
        damage
    };
    output.commit()?;
    Ok(outcome(damage))
}

fn http(args: &OutputArgs) -> anyhow::Result<Outcome> {
    let capture = Capture::open(&args.input)?;
    let output = Output::create(args.output.as_deref())?;
    let mut dissector = Dissector::new();
    let damage = {
        let mut table = TableWriter::exchanges(format_of(args.format), output.writer());
        let damage = capture.for_each_frame(|frame| {
            dissector.dissect(frame);
            dissector.take_finished();
            for exchange in dissector.take_exchanges() {
                table.exchange(&exchange)?;
            }
            Ok(())
        })?;
        dissector.finish();
        for exchange in dissector.take_exchanges() {
            table.exchange(&exchange)?;
        }
        table.finish()?;
        damage
    };
    output.commit()?;
    Ok(outcome(damage))
}

fn serve(args: &ServeArgs) -> anyhow::Result<Outcome> {
    let mut page = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
            PageInfo::from_toml(&text).with_context(|| path.display().to_string())?
        }
        None => PageInfo::default(),
    };
    if let Some(major) = &args.major {
        page.major = major.clone();
    }
    if let Some(id) = &args.student_id {
        page.student_id = id.clone();
    }
    if let Some(name) = &args.name {
        page.name = name.clone();
    }
    if let Some(lang) = args.lang {
        page.lang = match lang {
            LangArg::En => Lang::En,
            LangArg::Zh => Lang::Zh,
        };
    }
    if let Some(dir) = &args.static_dir {
        anyhow::ensure!(dir.is_dir(), "{}: not a folder", dir.display());
    }
    let config = ServerConfig {
        bind: args.bind,
        page,
        static_dir: args.static_dir.clone(),
        close_after_response: args.close,
        header_read_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
        max_connections: args.max_connections.max(1),
        access_log: !args.quiet,
        ..ServerConfig::default()
    };
    wirenote_server::run(config).with_context(|| format!("serving on {}", args.bind))?;
    Ok(Outcome::Clean)
}

fn explain(args: &ExplainArgs) -> anyhow::Result<Outcome> {
    let capture = Capture::open(&args.input)?;
    let mut dissector = Dissector::new();
    let mut packets: Vec<PacketRecord> = Vec::new();
    let mut conn = None;
    let keep = |conns: Vec<Conn>, conn: &mut Option<ConnRecord>| {
        if let Some(found) = conns.iter().find(|c| c.stream == args.stream) {
            *conn = Some(ConnRecord::from_conn(found));
        }
    };
    let damage = capture.for_each_frame(|frame| {
        let record = dissector.dissect(frame);
        if record.tcp.as_ref().is_some_and(|t| t.stream == args.stream) {
            packets.push(record);
        }
        keep(dissector.take_finished(), &mut conn);
        Ok(())
    })?;
    keep(dissector.finish(), &mut conn);
    if packets.is_empty() {
        anyhow::bail!("{}: no TCP stream {}", capture.name, args.stream);
    }
    let lang = match args.lang {
        LangArg::En => Language::En,
        LangArg::Zh => Language::Zh,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    explain_stream(&packets, conn.as_ref(), lang, &mut out)?;
    out.flush()?;
    Ok(outcome(damage))
}

/// Temporary files are named `.wirenote-XXXXXX.tmp` beside their target.
pub(crate) const TEMP_PREFIX: &str = ".wirenote-";

/// stdout, or a temporary file beside the target that is renamed over it on success.
pub(crate) enum Output {
    Stdout,
    File {
        temp: tempfile::NamedTempFile,
        target: PathBuf,
    },
}

impl Output {
    pub(crate) fn create(target: Option<&Path>) -> anyhow::Result<Output> {
        let Some(target) = target else {
            return Ok(Output::Stdout);
        };
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(TEMP_PREFIX)
            .suffix(".tmp")
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        Ok(Output::File {
            temp,
            target: target.to_path_buf(),
        })
    }

    pub(crate) fn writer(&self) -> Box<dyn Write + Send + '_> {
        match self {
            // stdout is line-buffered; large blocks let it write whole lines at once.
            Output::Stdout => Box::new(io::BufWriter::with_capacity(1 << 18, io::stdout())),
            Output::File { temp, .. } => Box::new(temp.as_file()),
        }
    }

    pub(crate) fn commit(self) -> anyhow::Result<()> {
        match self {
            Output::Stdout => Ok(()),
            Output::File { temp, target } => {
                temp.as_file().sync_all().ok();
                temp.persist(&target)
                    .with_context(|| format!("cannot write {}", target.display()))?;
                Ok(())
            }
        }
    }
}
