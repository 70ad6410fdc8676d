//! Progress on stderr, over the bytes a command reads: one bar for a whole batch (bytes/s,
//! ETA, files done and failed), or for one large capture. Shown only when stderr is a
//! terminal, so never in a pipe, a file or a CI log.
//!
//! The readers count what they read into an [`AtomicU64`] (one add per buffer refill, see
//! `input::Capture::counting`); a ticker thread turns the counts into the bar's position
//! four times a second, so the bar moves while a file is read, not only when it ends. A
//! capture read twice (two passes) counts each byte as half.

use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A single capture gets a bar from this size on (smaller ones take under a second).
pub(crate) const LARGE_INPUT: u64 = 100_000_000;

/// How often the bar is refreshed.
const TICK: Duration = Duration::from_millis(250);

/// Whether a bar may show: stderr is a terminal.
pub(crate) fn on_terminal() -> bool {
    io::stderr().is_terminal()
}

/// A progress bar over bytes read.
pub(crate) struct Progress {
    bar: ProgressBar,
    /// How often each input is read (its bytes count `1 / passes` each time).
    passes: u64,
    /// Input bytes of the files finished.
    finished: AtomicU64,
    /// Files in the batch (`None`: one capture, no file counts shown).
    files: Option<u64>,
    done: AtomicU64,
    failed: AtomicU64,
    /// The byte counters of the files being read, with each file's size.
    reading: Mutex<Vec<(Arc<AtomicU64>, u64)>>,
}

impl Progress {
    /// A bar over `total` input bytes, each read `passes` times; hidden unless `visible`.
    /// With `files`, the message counts files done and failed.
    pub(crate) fn new(visible: bool, total: u64, passes: u64, files: Option<u64>) -> Progress {
        let bar = if visible {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let template = if files.is_some() {
                "{elapsed_precise} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}"
            } else {
                "{elapsed_precise} {wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}"
            };
            bar.set_style(
                ProgressStyle::with_template(template)
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar
        } else {
            ProgressBar::hidden()
        };
        Progress {
            bar,
            passes: passes.max(1),
            finished: AtomicU64::new(0),
            files,
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            reading: Mutex::new(Vec::new()),
        }
    }

    /// A bar for one capture of `size` bytes read `passes` times, shown on a terminal
    /// when the capture is large.
    pub(crate) fn for_capture(size: u64, passes: u64) -> Progress {
        Progress::new(size >= LARGE_INPUT && on_terminal(), size, passes, None)
    }

    /// Starts counting a file of `size` bytes: its reader adds what it reads to the
    /// counter returned.
    pub(crate) fn start_file(&self, size: u64) -> Arc<AtomicU64> {
        let counter = Arc::new(AtomicU64::new(0));
        if let Ok(mut reading) = self.reading.lock() {
            reading.push((Arc::clone(&counter), size));
        }
        counter
    }

    /// The file counting into `counter` is done (read to its end or not).
    pub(crate) fn end_file(&self, counter: &Arc<AtomicU64>, failed: bool) {
        if let Ok(mut reading) = self.reading.lock() {
            if let Some(at) = reading.iter().position(|(c, _)| Arc::ptr_eq(c, counter)) {
                let (_, size) = reading.swap_remove(at);
                self.finished.fetch_add(size, Ordering::Relaxed);
            }
        }
        self.done.fetch_add(1, Ordering::Relaxed);
        if failed {
            self.failed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Input bytes done: the finished files, and the share read of the others.
    fn position(&self) -> u64 {
        let reading: u64 = self.reading.lock().map_or(0, |reading| {
            reading
                .iter()
                .map(|(c, size)| (c.load(Ordering::Relaxed) / self.passes).min(*size))
                .sum()
        });
        self.finished.load(Ordering::Relaxed) + reading
    }

    fn refresh(&self) {
        self.bar.set_position(self.position());
        if let Some(files) = self.files {
            let (done, failed) = (
                self.done.load(Ordering::Relaxed),
                self.failed.load(Ordering::Relaxed),
            );
            self.bar
                .set_message(format!("{done}/{files} files, {failed} failed"));
        }
    }

    /// Runs `work` while a ticker thread refreshes the bar; clears the bar after.
    pub(crate) fn run<R>(&self, work: impl FnOnce() -> R) -> R {
        if self.bar.is_hidden() {
            return work();
        }
        let stop = AtomicBool::new(false);
        let result = std::thread::scope(|scope| {
            let ticker = scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    self.refresh();
                    std::thread::park_timeout(TICK);
                }
            });
            let result = work();
            stop.store(true, Ordering::Relaxed);
            ticker.thread().unpark();
            result
        });
        self.bar.finish_and_clear();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_counts_finished_files_and_the_share_read_of_the_others() {
        let progress = Progress::new(false, 300, 2, Some(2));
        let a = progress.start_file(100);
        let b = progress.start_file(200);
        a.fetch_add(100, Ordering::Relaxed); // the first of two passes
        b.fetch_add(500, Ordering::Relaxed); // more than two passes' worth: capped
        assert_eq!(progress.position(), 50 + 200);
        progress.end_file(&a, true);
        assert_eq!(progress.position(), 100 + 200);
        assert_eq!(progress.failed.load(Ordering::Relaxed), 1);
    }
}
