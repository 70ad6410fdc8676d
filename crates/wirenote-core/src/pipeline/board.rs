//! A first pass that runs ahead on another thread, and a second pass that follows it.
//!
//! Two columns need the future: a connection's final `tcp.completeness` and a request's
//! `response_in`. Both are settled for a connection once the first pass has forgotten it
//! (closed and lingered, idle, displaced by port reuse, or the capture ended): no later
//! frame can belong to it. So instead of waiting for the whole first pass, the second
//! pass waits, on each connection's first frame, only until the first pass has settled
//! that connection. On captures of many short connections the passes then overlap;
//! where connections live until the end, the second pass waits for the end, as it
//! would without the board.
//!
//! The first pass publishes in batches (when connections were settled, or every 4,096
//! frames), so the lock is taken rarely on its side, and once per connection and per
//! request on the follower's side.
//!
//! The board also carries the records of forgotten connections the first pass took back
//! (a 4-tuple that returned after its connection was forgotten): a second pass keeps no
//! records of its own (see `conn::forgotten`), and asks, on a segment of a 4-tuple with no
//! live connection once connections have been forgotten, whether the first pass took one
//! back at that frame, waiting until the first pass has published that far.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};

use crate::conn::expiry::Key;
use crate::conn::forgotten::{Record, Taken};

/// Marks a settled completeness value (values use the low six bits).
const SETTLED: u8 = 0x80;

/// Facts published by a first pass for a second pass that follows it.
#[derive(Debug)]
pub struct FactBoard {
    state: Mutex<Board>,
    changed: Condvar,
    /// The follower gave up (say, its output failed): the first pass may stop.
    abandoned: AtomicBool,
    /// The last frame the first pass read, once it has finished ([`NOT_YET`] before).
    last_frame: AtomicU64,
}

const NOT_YET: u64 = u64::MAX;

impl Default for FactBoard {
    fn default() -> Self {
        FactBoard {
            state: Mutex::default(),
            changed: Condvar::default(),
            abandoned: AtomicBool::default(),
            last_frame: AtomicU64::new(NOT_YET),
        }
    }
}

#[derive(Debug, Default)]
struct Board {
    /// Final completeness by stream, with [`SETTLED`] set once known.
    completeness: Vec<u8>,
    /// Response frame by request frame; taken (removed) by the follower.
    response_in: HashMap<u64, u64>,
    /// Records of forgotten connections the first pass took back, by frame and key;
    /// taken (removed) by the follower.
    taken: HashMap<(u64, Key), Record>,
    /// The first pass has published everything up to this frame.
    through: u64,
    /// The first pass is over (finished or failed): nothing more will be published.
    over: bool,
}

impl FactBoard {
    /// An empty board.
    pub fn new() -> FactBoard {
        FactBoard::default()
    }

    fn lock(&self) -> MutexGuard<'_, Board> {
        // A panicking first pass leaves facts that are still consistent: keep going.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Publishes settled connections and the request/response pairs learned so far.
    #[cfg(test)]
    pub(crate) fn publish(&self, settled: &[(u64, u8)], pairs: &[(u64, u64)]) {
        self.publish_through(settled, pairs, Vec::new(), 0);
    }

    /// [`FactBoard::publish`], with the records taken back, everything learned up to
    /// frame `through`.
    pub(crate) fn publish_through(
        &self,
        settled: &[(u64, u8)],
        pairs: &[(u64, u64)],
        taken: Vec<Taken>,
        through: u64,
    ) {
        let mut board = self.lock();
        board.through = board.through.max(through);
        board.taken.extend(
            taken
                .into_iter()
                .map(|(frame, key, record)| ((frame, key), record)),
        );
        for &(stream, value) in settled {
            let i = stream as usize;
            if board.completeness.len() <= i {
                board.completeness.resize(i + 1, 0);
            }
            board.completeness[i] = value | SETTLED;
        }
        for &(request, response) in pairs {
            // The earliest response, as a second pass over the sorted pairs would find.
            board
                .response_in
                .entry(request)
                .and_modify(|r| *r = (*r).min(response))
                .or_insert(response);
        }
        drop(board);
        self.changed.notify_all();
    }

    /// Ends publishing: followers stop waiting. Called when the first pass finishes, and
    /// also when it fails (then the follower's unsettled values fall back to running
    /// ones, and the caller reports the first pass's error).
    pub fn close(&self) {
        self.lock().over = true;
        self.changed.notify_all();
    }

    /// Records where a first pass that read to its end stopped: a follower must not go
    /// further (a capture still being written may have grown since).
    pub(crate) fn finish_at(&self, last_frame: u64) {
        self.last_frame.store(last_frame, Ordering::Release);
    }

    /// Whether `frame` lies beyond the end the first pass reached, once it has finished.
    pub fn is_past_end(&self, frame: u64) -> bool {
        let last = self.last_frame.load(Ordering::Acquire);
        last != NOT_YET && frame > last
    }

    /// Tells the first pass that nobody follows any more.
    pub fn abandon(&self) {
        self.abandoned.store(true, Ordering::Relaxed);
    }

    /// Whether the follower gave up; a first pass checks this to stop early.
    pub fn is_abandoned(&self) -> bool {
        self.abandoned.load(Ordering::Relaxed)
    }

    /// The final completeness of `stream`, waiting until the first pass settles it;
    /// `None` if the first pass ended without settling it.
    pub(crate) fn completeness(&self, stream: u64) -> Option<u8> {
        let mut board = self.lock();
        loop {
            let value = board
                .completeness
                .get(stream as usize)
                .copied()
                .unwrap_or(0);
            if value & SETTLED != 0 {
                return Some(value & !SETTLED);
            }
            if board.over {
                return None;
            }
            board = self.changed.wait(board).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// The record of a forgotten connection the first pass took back at `frame` for
    /// `key`, waiting until the first pass has published that far; `None` if it took
    /// none (or ended before it got there).
    pub(crate) fn take_back(&self, frame: u64, key: &Key) -> Option<Record> {
        let mut board = self.lock();
        while board.through < frame && !board.over {
            board = self.changed.wait(board).unwrap_or_else(|e| e.into_inner());
        }
        board.taken.remove(&(frame, *key))
    }

    /// The response frame of the request completed in `frame`. Only asked once the
    /// request's connection is settled, so the answer is final.
    pub(crate) fn take_response(&self, frame: u64) -> Option<u64> {
        self.lock().response_in.remove(&frame)
    }
}

/// Closes the board when dropped, so that a first pass that returns early (an error, a
/// panic) never leaves its follower waiting.
#[derive(Debug)]
pub struct CloseOnDrop<'a>(pub &'a FactBoard);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        self.0.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_follower_waits_until_the_stream_is_settled() {
        let board = Arc::new(FactBoard::new());
        let follower = {
            let board = Arc::clone(&board);
            std::thread::spawn(move || (board.completeness(3), board.take_response(10)))
        };
        board.publish(&[(1, 31)], &[(10, 12), (10, 11)]);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert!(!follower.is_finished(), "stream 3 is not settled yet");
        board.publish(&[(3, 0)], &[]);
        assert_eq!(follower.join().unwrap(), (Some(0), Some(11)));
        assert_eq!(board.take_response(10), None, "taken once");
    }

    #[test]
    fn closing_releases_a_follower() {
        let board = Arc::new(FactBoard::new());
        let follower = {
            let board = Arc::clone(&board);
            std::thread::spawn(move || board.completeness(7))
        };
        drop(CloseOnDrop(&board));
        assert_eq!(follower.join().unwrap(), None);
    }
}
