//! Reading a capture file ahead of its pass, on a thread of its own.
//!
//! Copying the file out of the page cache (`pread`) was a sixth of a first pass's time
//! and a tenth of a second pass's on real traffic (perf), and while the first pass of
//! `annotate` runs, the second core has nothing else to do. A reader thread per pass
//! copies the file into a few recycled blocks and hands them over in order; the pass
//! takes its bytes from blocks still warm in the shared cache. Memory stays fixed:
//! [`BLOCKS`] blocks of [`BLOCK_BYTES`] per pass, whatever the capture's size.
//!
//! The pass sees an ordinary `io::Read`: the same bytes, the same end, and a read error
//! where the file gave it, after every byte before it.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};

/// Bytes a block holds: large enough that a hand-over is rare (one per 512 KiB).
const BLOCK_BYTES: usize = 512 * 1024;

/// Blocks in flight between the reader and its pass (and so the most it reads ahead).
const BLOCKS: usize = 4;

/// The pass's end of a read-ahead: an `io::Read` over the blocks the reader sends.
pub(crate) struct ReadAhead<'a> {
    full: Receiver<io::Result<Vec<u8>>>,
    empty: SyncSender<Vec<u8>>,
    block: Vec<u8>,
    at: usize,
    counter: Option<&'a AtomicU64>,
}

/// Runs `consume` on a reader of `file` from its start, with the file read ahead on a
/// scoped thread; the thread ends when `consume` returns (whether or not it read to the
/// end) or at the end of the file.
pub(crate) fn with_read_ahead<R>(
    file: &File,
    counter: Option<&AtomicU64>,
    consume: impl FnOnce(ReadAhead<'_>) -> R,
) -> R {
    let (full_tx, full) = sync_channel(BLOCKS);
    let (empty, empty_rx) = sync_channel(BLOCKS + 1);
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("wirenote-read".into())
            .spawn_scoped(scope, move || read_blocks(file, &full_tx, &empty_rx));
        if let Err(err) = spawned {
            // No thread to read with: the reader reports it as a read error, at offset 0.
            let (tx, rx) = sync_channel(1);
            let _ = tx.send(Err(err));
            return consume(ReadAhead::new(rx, empty, counter));
        }
        // `consume` drops the reader when it returns, which ends the thread.
        consume(ReadAhead::new(full, empty, counter))
    })
}

/// The reader thread: fills blocks (recycled ones first) and sends them in file order,
/// until the end of the file, a read error (sent, then it stops), or until the pass
/// hangs up.
fn read_blocks(file: &File, full: &SyncSender<io::Result<Vec<u8>>>, empty: &Receiver<Vec<u8>>) {
    let mut at = 0u64;
    loop {
        let mut block = match empty.try_recv() {
            Ok(block) => block,
            Err(TryRecvError::Empty) => Vec::with_capacity(BLOCK_BYTES),
            Err(TryRecvError::Disconnected) => return,
        };
        block.resize(BLOCK_BYTES, 0);
        let mut filled = 0;
        let mut failed = None;
        while filled < BLOCK_BYTES {
            match read_at(file, &mut block[filled..], at + filled as u64) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        block.truncate(filled);
        at += filled as u64;
        let end = filled < BLOCK_BYTES;
        if filled > 0 && full.send(Ok(block)).is_err() {
            return;
        }
        if let Some(err) = failed {
            let _ = full.send(Err(err));
            return;
        }
        if end {
            return;
        }
    }
}

fn read_at(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    #[cfg(unix)]
    return std::os::unix::fs::FileExt::read_at(file, buf, at);
    #[cfg(windows)]
    return std::os::windows::fs::FileExt::seek_read(file, buf, at);
}

impl<'a> ReadAhead<'a> {
    fn new(
        full: Receiver<io::Result<Vec<u8>>>,
        empty: SyncSender<Vec<u8>>,
        counter: Option<&'a AtomicU64>,
    ) -> ReadAhead<'a> {
        ReadAhead {
            full,
            empty,
            block: Vec::new(),
            at: 0,
            counter,
        }
    }
}

impl io::Read for ReadAhead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.at == self.block.len() {
            let next = match self.full.recv() {
                Ok(next) => next?,
                // The reader is done: the end of the file.
                Err(_) => return Ok(0),
            };
            let used = std::mem::replace(&mut self.block, next);
            // A reader that has stopped wants no more blocks back.
            let _ = self.empty.try_send(used);
            self.at = 0;
        }
        let n = buf.len().min(self.block.len() - self.at);
        buf[..n].copy_from_slice(&self.block[self.at..self.at + n]);
        self.at += n;
        if let Some(counter) = self.counter {
            counter.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn file_of(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    #[test]
    fn yields_the_file_whole_in_order() {
        // Sizes around the block's: empty, one byte, a block less and more one, blocks.
        for len in [
            0,
            1,
            BLOCK_BYTES - 1,
            BLOCK_BYTES,
            BLOCK_BYTES + 1,
            3 * BLOCK_BYTES + 7,
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let file = file_of(&bytes);
            let counter = AtomicU64::new(0);
            let read = with_read_ahead(&file, Some(&counter), |mut r| {
                let mut out = Vec::new();
                r.read_to_end(&mut out).unwrap();
                out
            });
            assert!(read == bytes, "{len} bytes");
            assert_eq!(counter.load(Ordering::Relaxed), len as u64);
        }
    }

    #[test]
    fn a_pass_that_stops_early_ends_the_reader() {
        // More blocks than are ever in flight: the reader must not wait for ever.
        let file = file_of(&vec![1u8; (BLOCKS + 3) * BLOCK_BYTES]);
        let first = with_read_ahead(&file, None, |mut r| {
            let mut byte = [0u8; 1];
            r.read_exact(&mut byte).unwrap();
            byte[0]
        });
        assert_eq!(first, 1);
    }
}
