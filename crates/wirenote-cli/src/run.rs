//! Running a command: opening inputs, writing outputs atomically, mapping errors to exit codes.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use wirenote_core::capture::{CaptureError, CaptureReader};
use wirenote_core::dissect::Dissector;
use wirenote_export::{packet_sink, Format};

use crate::args::{AnnotateArgs, Cli, Command, FormatArg};

/// Exit code for a damaged capture whose readable frames were all written.
const EXIT_DAMAGED: u8 = 1;
/// Exit code for an unreadable input or an unwritable output.
const EXIT_FAILED: u8 = 2;

/// Runs the parsed command line and returns the process exit code.
pub fn main(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Annotate(args) => annotate(&args),
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

/// The input bytes: a memory map for regular files, a stream for stdin and the rest.
enum Input {
    Mapped(memmap2::Mmap),
    Empty,
    Stream(Box<dyn io::Read>),
}

fn open_input(path: &Path) -> anyhow::Result<Input> {
    if path == Path::new("-") {
        return Ok(Input::Stream(Box::new(io::stdin().lock())));
    }
    let file = File::open(path).with_context(|| format!("{}", path.display()))?;
    let meta = file
        .metadata()
        .with_context(|| format!("{}", path.display()))?;
    if !meta.is_file() {
        return Ok(Input::Stream(Box::new(file)));
    }
    if meta.len() == 0 {
        return Ok(Input::Empty);
    }
    // SAFETY: the map is read-only and private to this process. If another process
    // truncates the file while we read it, the kernel delivers SIGBUS; that is the
    // documented trade-off of mapping, accepted for regular files only.
    #[allow(unsafe_code)]
    let map =
        unsafe { memmap2::Mmap::map(&file) }.with_context(|| format!("{}", path.display()))?;
    Ok(Input::Mapped(map))
}

fn annotate(args: &AnnotateArgs) -> anyhow::Result<Outcome> {
    let input = open_input(&args.input)?;
    let name = args.input.display().to_string();
    let opened = match &input {
        Input::Mapped(map) => CaptureReader::from_slice(map),
        Input::Empty => CaptureReader::from_slice(&[]),
        Input::Stream(_) => {
            let Input::Stream(stream) = input else {
                unreachable_input()
            };
            return annotate_reader(CaptureReader::from_read(stream), &name, args);
        }
    };
    annotate_reader(opened, &name, args)
}

fn unreachable_input() -> ! {
    panic!("matched Input::Stream above")
}

fn annotate_reader(
    opened: Result<CaptureReader<'_>, CaptureError>,
    name: &str,
    args: &AnnotateArgs,
) -> anyhow::Result<Outcome> {
    let mut reader = opened.with_context(|| name.to_string())?;
    let format = match args.format {
        FormatArg::Csv => Format::Csv,
        FormatArg::Jsonl => Format::JsonLines,
    };
    let output = Output::create(args.output.as_deref())?;
    let mut dissector = Dissector::new();
    let mut damage = None;
    {
        let mut sink = packet_sink(format, output.writer());
        loop {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    let record = dissector.dissect(&frame);
                    sink.packet(&record)?;
                }
                Ok(None) => break,
                Err(err) if err.is_partial() => {
                    damage = Some(format!("{name}: {err}"));
                    break;
                }
                Err(err) => return Err(anyhow::Error::new(err).context(name.to_string())),
            }
        }
        sink.finish()?;
    }
    output.commit()?;
    Ok(match damage {
        Some(warning) => Outcome::Damaged(warning),
        None => Outcome::Clean,
    })
}

/// stdout, or a temporary file beside the target that is renamed over it on success.
enum Output {
    Stdout,
    File {
        temp: tempfile::NamedTempFile,
        target: PathBuf,
    },
}

impl Output {
    fn create(target: Option<&Path>) -> anyhow::Result<Output> {
        let Some(target) = target else {
            return Ok(Output::Stdout);
        };
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".wirenote-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        Ok(Output::File {
            temp,
            target: target.to_path_buf(),
        })
    }

    fn writer(&self) -> Box<dyn Write + '_> {
        match self {
            Output::Stdout => Box::new(io::stdout().lock()),
            Output::File { temp, .. } => Box::new(temp.as_file()),
        }
    }

    fn commit(self) -> anyhow::Result<()> {
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
