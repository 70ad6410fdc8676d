//! Where a command's output goes: standard output, or a file written atomically.
//!
//! A file is written under a temporary name beside its target and renamed over it when
//! complete, so a failed or interrupted run never leaves a half-written file under the
//! name the user gave. Every error names that name (or "standard output"), never the
//! hidden temporary file, and a new file gets the permissions a shell redirection would
//! give it (0666 less the umask).
//!
//! Nothing is left behind either: the temporary files a run has open are removed when it
//! is interrupted (SIGINT, SIGTERM, SIGHUP: [`remove_temporaries_on_signal`]), and one
//! killed outright (`kill -9`) leaves a file named `.wirenote-NAME.PID.XXXXXX.tmp`, which
//! the next run writing NAME removes once process PID is gone.

use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Temporary files are named `.wirenote-NAME.PID.XXXXXX.tmp` beside their target NAME.
pub(crate) const TEMP_PREFIX: &str = ".wirenote-";

/// The temporary files this process has open, for the signal handler to remove.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// On SIGINT, SIGTERM or SIGHUP: removes every temporary file still open and exits with
/// 130, as a shell reports an interrupted command. (`batch` installs its own handler,
/// which stops the workers; their temporary files go as they unwind.)
pub(crate) fn remove_temporaries_on_signal() {
    let _ = ctrlc::set_handler(|| {
        for path in live().drain(..) {
            let _ = std::fs::remove_file(path);
        }
        std::process::exit(130);
    });
}

/// A temporary file's place in [`LIVE`], given up when it is renamed or dropped.
pub(crate) struct Registered(PathBuf);

impl Registered {
    fn new(path: &Path) -> Registered {
        live().push(path.to_path_buf());
        Registered(path.to_path_buf())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        live().retain(|p| p != &self.0);
    }
}

/// The prefix of `target`'s temporary files: `.wirenote-NAME.`.
fn temp_prefix(target: &Path) -> String {
    let name = target
        .file_name()
        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
    format!("{TEMP_PREFIX}{name}.")
}

/// Removes `target`'s temporary files whose process is gone (a run killed with
/// `kill -9`). Where a process's liveness cannot be told (no `/proc`), files stay.
fn remove_stale(dir: &Path, target: &Path) {
    let prefix = temp_prefix(target);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else {
            continue;
        };
        let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
        let gone = pid.is_some_and(|pid| {
            Path::new("/proc/self").exists() && !Path::new(&format!("/proc/{pid}")).exists()
        });
        if gone && name.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// stdout, a temporary file beside the target that is renamed over it on success, or a
/// target that is no regular file, written in place.
pub(crate) enum Output {
    Stdout,
    File {
        temp: tempfile::NamedTempFile,
        target: PathBuf,
        /// The target as the user wrote it, for messages.
        shown: Arc<str>,
        /// Until renamed, the signal handler removes it.
        _registered: Registered,
    },
    /// Something that is not a regular file (`/dev/null`, a FIFO, a terminal): written
    /// in place, as a shell's `>` would. Renaming a file over it would replace the
    /// device itself.
    Special {
        file: std::fs::File,
        shown: Arc<str>,
    },
}

/// The name an error about `target` shows: the path as given.
fn shown(target: Option<&Path>) -> Arc<str> {
    match target {
        Some(path) => path.display().to_string().into(),
        None => "standard output".into(),
    }
}

/// An error about an output, naming it as the user did: `cannot write out.csv: …`.
fn output_error(shown: &str, err: io::Error) -> io::Error {
    io::Error::new(
        err.kind(),
        OutputError {
            shown: shown.into(),
            source: err,
        },
    )
}

#[derive(Debug)]
struct OutputError {
    shown: Box<str>,
    source: io::Error,
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot write {}: {}", self.shown, self.source)
    }
}

impl std::error::Error for OutputError {}

impl Output {
    /// Standard output (`None`) or an atomic file at `target`.
    pub(crate) fn create(target: Option<&Path>) -> io::Result<Output> {
        let Some(target) = target else {
            return Ok(Output::Stdout);
        };
        let shown = shown(Some(target));
        let special = std::fs::metadata(target).is_ok_and(|meta| !meta.is_file() && !meta.is_dir());
        if special {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(target)
                .map_err(|err| output_error(&shown, err))?;
            return Ok(Output::Special { file, shown });
        }
        // A symlink (`/dev/stdout` redirected to a file, a link in a lab folder) is written
        // through: the finished file is renamed over what it points to, not over the link.
        let is_link = std::fs::symlink_metadata(target).is_ok_and(|m| m.file_type().is_symlink());
        let resolved = if is_link {
            match std::fs::canonicalize(target) {
                Ok(path) => Some(path),
                // A dangling link: written through in place, never renamed over.
                Err(_) => {
                    let file = std::fs::OpenOptions::new()
                        .write(true)
                        .create(true)
                        .truncate(true)
                        .open(target)
                        .map_err(|err| output_error(&shown, err))?;
                    return Ok(Output::Special { file, shown });
                }
            }
        } else {
            None
        };
        let target = resolved.as_deref().unwrap_or(target);
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        remove_stale(dir, target);
        let prefix = format!("{}{}.", temp_prefix(target), std::process::id());
        let temp = temp_builder(&prefix)
            .tempfile_in(dir)
            .map_err(|err| output_error(&shown, without_temp_path(err)))?;
        Ok(Output::File {
            _registered: Registered::new(temp.path()),
            temp,
            target: target.to_path_buf(),
            shown,
        })
    }

    /// A writer whose errors name the output as the user gave it.
    pub(crate) fn writer(&self) -> Box<dyn Write + Send + '_> {
        match self {
            // stdout is line-buffered; large blocks let it write whole lines at once. The
            // table writers hand over blocks of `WRITE_BLOCK` or more, which a buffer of
            // that size passes straight through (a larger one copied all of the output).
            Output::Stdout => Box::new(Labelled {
                inner: io::BufWriter::with_capacity(wirenote_export::WRITE_BLOCK, io::stdout()),
                shown: shown(None),
            }),
            Output::File { temp, shown, .. } => Box::new(Labelled {
                inner: temp.as_file(),
                shown: Arc::clone(shown),
            }),
            Output::Special { file, shown } => Box::new(Labelled {
                inner: file,
                shown: Arc::clone(shown),
            }),
        }
    }

    /// Makes a file output durable and gives it its name.
    pub(crate) fn commit(self) -> io::Result<()> {
        match self {
            Output::Stdout | Output::Special { .. } => Ok(()),
            Output::File {
                temp,
                target,
                shown,
                ..
            } => {
                sync(temp.as_file()).map_err(|err| output_error(&shown, err))?;
                temp.persist(&target)
                    .map(drop)
                    .map_err(|err| output_error(&shown, err.error))
            }
        }
    }
}

/// tempfile's error with the hidden temporary path (`… at path ".wirenote-x.tmp"`) taken
/// off: the user never named that file. (tempfile keeps the cause private, so the path
/// comes off its message.)
fn without_temp_path(err: io::Error) -> io::Error {
    let text = err.to_string();
    match text.rsplit_once(" at path \"") {
        Some((cause, _)) => io::Error::new(err.kind(), cause.to_owned()),
        None => err,
    }
}

/// fsync, where the file system has it (some, such as a FUSE mount, say it does not).
fn sync(file: &File) -> io::Result<()> {
    match file.sync_all() {
        Err(err)
            if matches!(
                err.kind(),
                io::ErrorKind::Unsupported | io::ErrorKind::InvalidInput
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

/// A temporary-file builder whose file gets what `open(2)` gives a new file: 0666, less
/// the umask (tempfile's default, 0600, would hide outputs in a shared lab folder).
fn temp_builder(prefix: &str) -> tempfile::Builder<'_, 'static> {
    let mut builder = tempfile::Builder::new();
    builder.prefix(prefix).suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    builder
}

/// Labels the errors of `inner` with the output's name.
struct Labelled<W> {
    inner: W,
    shown: Arc<str>,
}

impl<W: Write> Write for Labelled<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner
            .write(buf)
            .map_err(|err| output_error(&self.shown, err))
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.inner
            .write_all(buf)
            .map_err(|err| output_error(&self.shown, err))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner
            .flush()
            .map_err(|err| output_error(&self.shown, err))
    }
}
