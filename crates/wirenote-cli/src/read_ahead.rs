//! Reading a capture file ahead of its pass, on a thread of its own.
//!
//! Copying the file out of the page cache (`pread`) was a sixth of a first pass's time
//! and a tenth of a second pass's on real traffic (perf), and while the first pass of
//! `annotate` runs, the second core has nothing else to do. A reader thread per pass
//! copies the file into a few recycled blocks and hands them over in order; the pass
//! parses its records in place in them ([`wirenote_core::capture::BlockSource`]), so the
//! bytes are copied once. Memory stays fixed: [`BLOCKS`] blocks of [`BLOCK_BYTES`] (and
//! their headroom) per pass, whatever the capture's size.
//!
//! The pass sees the same bytes, the same end, and a read error where the file gave it,
//! after every byte before it.

use std::fs::File;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};

use wirenote_core::capture::{Block, BlockSource, BLOCK_HEADROOM};

/// Bytes a block holds: large enough that a hand-over is rare (one per 256 KiB), small
/// enough that the blocks in flight are a small part of the memory a pass holds.
const BLOCK_BYTES: usize = 256 * 1024;

/// Blocks in flight between the reader and its pass (and so the most it reads ahead).
const BLOCKS: usize = 2;

/// The pass's end of a read-ahead: the blocks the reader sends, in order.
pub(crate) struct ReadAhead<'a> {
    full: Receiver<io::Result<Block>>,
    empty: SyncSender<Block>,
    counter: Option<&'a AtomicU64>,
}

/// Runs `consume` on the blocks of `file` from its start, read ahead on a scoped thread;
/// the thread ends when `consume` returns (whether or not it read to the end) or at the
/// end of the file.
pub(crate) fn with_read_ahead<R>(
    file: &File,
    counter: Option<&AtomicU64>,
    consume: impl FnOnce(ReadAhead<'_>) -> R,
) -> R {
    let (full_tx, full) = sync_channel(BLOCKS);
    let (empty, empty_rx) = sync_channel(BLOCKS + 2);
    std::thread::scope(|scope| {
        let spawned = std::thread::Builder::new()
            .name("wirenote-read".into())
            .spawn_scoped(scope, move || read_blocks(file, &full_tx, &empty_rx));
        if let Err(err) = spawned {
            // No thread to read with: the pass sees it as a read error, at offset 0.
            let (tx, rx) = sync_channel(1);
            let _ = tx.send(Err(err));
            return consume(ReadAhead {
                full: rx,
                empty,
                counter,
            });
        }
        // `consume` drops the blocks' receiver when it returns, which ends the thread.
        consume(ReadAhead {
            full,
            empty,
            counter,
        })
    })
}

/// The reader thread: fills blocks (recycled ones first) after their headroom and sends
/// them in file order, until the end of the file, a read error (sent, then it stops), or
/// until the pass hangs up.
fn read_blocks(file: &File, full: &SyncSender<io::Result<Block>>, empty: &Receiver<Block>) {
    let mut at = 0u64;
    loop {
        let mut buf = match empty.try_recv() {
            Ok(block) => block.buf,
            Err(TryRecvError::Empty) => Vec::with_capacity(BLOCK_HEADROOM + BLOCK_BYTES),
            Err(TryRecvError::Disconnected) => return,
        };
        buf.resize(BLOCK_HEADROOM + BLOCK_BYTES, 0);
        let mut filled = BLOCK_HEADROOM;
        let mut failed = None;
        while filled < buf.len() {
            match read_at(file, &mut buf[filled..], at) {
                Ok(0) => break,
                Ok(n) => {
                    filled += n;
                    at += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let end = filled < buf.len();
        buf.truncate(filled);
        let block = Block {
            buf,
            start: BLOCK_HEADROOM,
        };
        if filled > BLOCK_HEADROOM && full.send(Ok(block)).is_err() {
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

impl BlockSource for ReadAhead<'_> {
    fn next_block(&mut self) -> io::Result<Option<Block>> {
        let block = match self.full.recv() {
            Ok(block) => block?,
            // The reader is done: the end of the file.
            Err(_) => return Ok(None),
        };
        if let Some(counter) = self.counter {
            counter.fetch_add((block.buf.len() - block.start) as u64, Ordering::Relaxed);
        }
        Ok(Some(block))
    }

    fn recycle(&mut self, block: Block) {
        // A reader that has stopped wants no more blocks back; nor one grown for a long
        // record (it would keep the memory).
        if block.buf.capacity() <= BLOCK_HEADROOM + BLOCK_BYTES {
            let _ = self.empty.try_send(block);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_of(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    /// Every byte the blocks hold, in order, recycling each.
    fn drain(mut blocks: ReadAhead<'_>) -> Vec<u8> {
        let mut out = Vec::new();
        while let Some(block) = blocks.next_block().unwrap() {
            assert_eq!(block.start, BLOCK_HEADROOM, "room before every block");
            out.extend_from_slice(&block.buf[block.start..]);
            blocks.recycle(block);
        }
        out
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
            let read = with_read_ahead(&file, Some(&counter), drain);
            assert!(read == bytes, "{len} bytes");
            assert_eq!(counter.load(Ordering::Relaxed), len as u64);
        }
    }

    #[test]
    fn a_pass_that_stops_early_ends_the_reader() {
        // More blocks than are ever in flight: the reader must not wait for ever.
        let file = file_of(&vec![1u8; (BLOCKS + 3) * BLOCK_BYTES]);
        let first = with_read_ahead(&file, None, |mut blocks| {
            let block = blocks.next_block().unwrap().unwrap();
            block.buf[block.start]
        });
        assert_eq!(first, 1);
    }
}
