//! Where frames come from: a capture file (read as often as a command needs, from two
//! threads at once if need be), or standard input.

use std::fs::File;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use wirenote_core::{CaptureError, CaptureReader, Frame};

use crate::pipe::Delivery;
use crate::read_ahead::with_read_ahead;

/// Whether passes read their capture ahead on a thread of their own (see
/// [`crate::read_ahead`]); see [`read_on_the_pass_thread`].
static READ_AHEAD: AtomicBool = AtomicBool::new(true);

/// For a command that keeps every core busy with captures of its own (`batch` with as
/// many jobs as cores): each pass reads its file on its own thread. A reader thread uses
/// a core that is idle otherwise; where none is, it only adds hand-overs (`batch -j2` on
/// two cores took 10 % more CPU with it, and 5 % longer).
pub(crate) fn read_on_the_pass_thread() {
    READ_AHEAD.store(false, Ordering::Relaxed);
}

/// A capture opened for reading, possibly more than once.
pub(crate) struct Capture {
    pub(crate) name: String,
    file: File,
    len: u64,
    /// Where the readers count the bytes they read (for a progress bar).
    counter: Option<Arc<AtomicU64>>,
}

impl Capture {
    /// Opens a file, or stdin (spooled to an anonymous temporary file so that it can be
    /// read twice like a file).
    ///
    /// Captures are read, ahead of each pass into a few recycled blocks
    /// (`crate::read_ahead`), rather than memory-mapped: a mapping counts every page it
    /// touched in the process's resident memory, which would make RSS grow with the
    /// capture; reading keeps it bounded by the open connections.
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
            counter: None,
        })
    }

    /// The same capture, its readers adding every byte they read to `counter`.
    pub(crate) fn counting(self, counter: Arc<AtomicU64>) -> Capture {
        Capture {
            counter: Some(counter),
            ..self
        }
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
        let counter = self.counter.as_deref();
        if !READ_AHEAD.load(Ordering::Relaxed) {
            let file = ReadAt {
                file: &self.file,
                at: 0,
                counter,
            };
            return walk_frames(&self.name, file, each);
        }
        with_read_ahead(&self.file, counter, |blocks| {
            let reader = CaptureReader::from_blocks(blocks);
            walk_reader(&self.name, reader, each)
        })
    }
}

/// Reads a file from the start at its own position, so that two passes can read one
/// file at once on two threads.
struct ReadAt<'a> {
    file: &'a File,
    at: u64,
    counter: Option<&'a AtomicU64>,
}

impl io::Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        let n = std::os::unix::fs::FileExt::read_at(self.file, buf, self.at)?;
        #[cfg(windows)]
        let n = std::os::windows::fs::FileExt::seek_read(self.file, buf, self.at)?;
        self.at += n as u64;
        if let Some(counter) = self.counter {
            counter.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Reads every frame of the capture in `input`, calling `each`; returns the damage
/// warning if reading stopped early on a damaged capture.
pub(crate) fn walk_frames(
    name: &str,
    input: impl io::Read,
    each: impl FnMut(&Frame<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<Option<String>> {
    walk_reader(name, CaptureReader::from_read(input), each)
}

/// [`walk_frames`] over a reader already opened (or the error that opening it gave).
fn walk_reader(
    name: &str,
    reader: Result<CaptureReader<'_>, CaptureError>,
    mut each: impl FnMut(&Frame<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<Option<String>> {
    let mut reader = reader.with_context(|| name.to_owned())?;
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

/// Ends a walk over frames early, as if the capture ended there.
#[derive(Debug)]
pub(crate) struct StopReading;

impl std::fmt::Display for StopReading {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stopped reading")
    }
}

impl std::error::Error for StopReading {}

/// Rows from standard input go out as their packets arrive, unless stdin is a plain file
/// (`< capture.pcap`), which is read as fast as a file.
pub(crate) fn stdin_delivery() -> Delivery {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        let plain_file = io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .map(File::from)
            .and_then(|file| file.metadata())
            .is_ok_and(|meta| meta.is_file());
        if plain_file {
            return Delivery::Batched;
        }
    }
    Delivery::Live
}
