//! Which pass a dissector runs, and what a pass learns from or tells the other.
//!
//! Two columns need the future: a connection's final `tcp.completeness` and a request's
//! `response_in`. tshark answers them with two passes (`-2`); so does wirenote. A
//! [`Pass::First`] learns them and publishes each on a [`FactBoard`] as soon as it is
//! settled; a [`Pass::Second`] shows them, reading the board. The two passes may run one
//! after the other (`batch`: the board is complete before the second pass starts) or at
//! once on two threads (`annotate`: the second pass waits on a connection's first frame
//! only until the first pass has settled it). Either way the rows are the same.

use std::sync::Arc;

use crate::conn::forgotten::Taken;
use crate::conn::tracker::{next_completeness, SegmentInput};
use crate::pipeline::board::FactBoard;

/// Which pass a dissector runs.
#[derive(Debug, Clone, Default)]
pub enum Pass {
    /// One pass, as tshark without `-2`: rows show the values known so far.
    #[default]
    Single,
    /// The first of two passes: it formats no Info text and keeps no HTTP text (nobody
    /// reads its rows), and publishes to the board what only the future knows.
    First(Arc<FactBoard>),
    /// The second of two passes: rows show the first pass's final values, read from the
    /// board (waiting, per connection, until the first pass has settled it).
    Second(Arc<FactBoard>),
}

/// A connection whose final completeness has not been fetched from the board yet.
const NOT_FETCHED: u8 = 0xff;

/// A pass's dealings with its board: what a first pass has not published yet, what a
/// second pass has fetched.
#[derive(Debug, Default)]
pub(crate) struct Passing {
    pass: Pass,
    /// First pass: settled connections not yet published.
    unpublished: Vec<(u64, u8)>,
    /// First pass: request/response pairs not yet published.
    unpublished_pairs: Vec<(u64, u64)>,
    /// First pass: records of forgotten connections taken back, not yet published.
    unpublished_taken: Vec<Taken>,
    /// First pass: the frame it has published through.
    published_through: u64,
    /// Second pass: each connection's value once fetched ([`NOT_FETCHED`] before).
    shown: Vec<u8>,
    /// Second pass: the first pass ended without settling a connection met here (it
    /// failed), so that row would show running values, not final ones.
    lost: bool,
}

impl Passing {
    pub(crate) fn new(pass: Pass) -> Passing {
        Passing {
            pass,
            ..Passing::default()
        }
    }

    /// A first pass: rows nobody reads.
    #[inline]
    pub(crate) fn is_first(&self) -> bool {
        matches!(self.pass, Pass::First(_))
    }

    /// A second pass: rows show the future.
    #[inline]
    pub(crate) fn is_second(&self) -> bool {
        matches!(self.pass, Pass::Second(_))
    }

    /// Whether a second pass lost its first pass (see [`Passing::lost`]).
    pub(crate) fn lost_the_first_pass(&self) -> bool {
        self.lost
    }

    /// Whether the pass should stop before `frame`: a second pass that reached the end
    /// its first pass reached (a capture still being written may have grown since), or a
    /// first pass that nobody follows any more.
    pub(crate) fn should_stop_before(&self, frame: u64) -> bool {
        match &self.pass {
            Pass::Single => false,
            Pass::First(board) => board.is_abandoned(),
            Pass::Second(board) => board.is_past_end(frame),
        }
    }

    /// A first pass learns a connection's final completeness (others learn nothing: it
    /// would be memory growing with the capture that nobody reads).
    #[inline]
    pub(crate) fn learn_completeness(&mut self, stream: u64, value: u8) {
        if self.is_first() {
            self.unpublished.push((stream, value));
        }
    }

    /// A first pass learns request/response pairs.
    #[inline]
    pub(crate) fn learn_pairs(&mut self, pairs: Vec<(u64, u64)>) {
        if self.is_first() && !pairs.is_empty() {
            self.unpublished_pairs.extend(pairs);
        }
    }

    /// A first pass learns the records of forgotten connections its tracker took back.
    #[inline]
    pub(crate) fn learn_taken(&mut self, taken: Vec<Taken>) {
        if self.is_first() && !taken.is_empty() {
            self.unpublished_taken.extend(taken);
        }
    }

    /// Publishes, after `frame`, settled connections (their pairs are all learned by
    /// then) and records taken back, or when many pairs wait, or every 4,096 frames (a
    /// follower asking about a record waits for the frame): the board's lock is taken
    /// rarely.
    pub(crate) fn publish_if_due(&mut self, frame: u64) {
        if !self.unpublished.is_empty()
            || !self.unpublished_taken.is_empty()
            || self.unpublished_pairs.len() >= 4096
            || frame >= self.published_through + 4096
        {
            self.publish(frame);
        }
    }

    fn publish(&mut self, frame: u64) {
        if let Pass::First(board) = &self.pass {
            let taken = std::mem::take(&mut self.unpublished_taken);
            board.publish_through(&self.unpublished, &self.unpublished_pairs, taken, frame);
            self.unpublished.clear();
            self.unpublished_pairs.clear();
            self.published_through = frame;
        }
    }

    /// Ends a first pass that read to `last_frame`: everything is published, the board
    /// closed.
    pub(crate) fn end(&mut self, last_frame: u64) {
        self.publish(last_frame);
        if let Pass::First(board) = &self.pass {
            board.finish_at(last_frame);
            board.close();
        }
    }

    /// The completeness `tshark -2` shows: its second pass starts each conversation from
    /// the first pass's final value and keeps adding bits (never treating the first
    /// packet as new), showing the value before each frame. `None` outside a second
    /// pass, or when the first pass was lost.
    #[inline]
    pub(crate) fn completeness_before(
        &mut self,
        stream: u64,
        input: &SegmentInput<'_>,
    ) -> Option<u8> {
        let Pass::Second(board) = &self.pass else {
            return None;
        };
        let i = stream as usize;
        if self.shown.len() <= i {
            self.shown.resize(i + 1, NOT_FETCHED);
        }
        if self.shown[i] == NOT_FETCHED {
            match board.completeness(stream) {
                Some(value) => self.shown[i] = value,
                None => {
                    self.lost = true;
                    return None;
                }
            }
        }
        let before = self.shown[i];
        self.shown[i] = next_completeness(before, false, false, input);
        Some(before)
    }

    /// The response frame of a request completed in `frame`, from the first pass.
    #[inline]
    pub(crate) fn response_for(&mut self, frame: u64) -> Option<u64> {
        match &self.pass {
            Pass::Second(board) => board.take_response(frame),
            _ => None,
        }
    }
}
