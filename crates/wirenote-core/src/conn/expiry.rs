//! When a connection is forgotten: Zeek's three kinds of timeout, and the queues that
//! find expired connections in O(1) amortised per frame.
//!
//! Zeek forgets a connection attempt that got no answer (`tcp_attempt_delay`), an
//! established one that fell silent (`tcp_inactivity_timeout`), and a closed one after a
//! short linger (`tcp_close_delay`). wirenote does the same, for memory only: Wireshark
//! never forgets a conversation, so the defaults are long enough that no capture of the
//! corpus meets a forgotten connection again, except the attempt timeout, which is what
//! keeps a SYN flood's memory flat (a forgotten tuple that comes back keeps its stream
//! number: the tracker keeps a record of it in `conn::forgotten`).
//!
//! Each kind has a FIFO of `(connection, last seen)` entries in the order they were
//! queued. A connection is queued when it is created and when it changes kind, never per
//! packet: a packet only moves the connection's own `last_time`. The head of a queue is
//! the oldest entry; when it looks expired, the connection's real `last_time` decides:
//! expired, it is forgotten; touched since, the entry goes to the back with the new time
//! (so each re-queue stands for at least one packet, which makes the work per frame O(1)
//! amortised); gone or of another kind, the entry is dropped. A queue is never walked
//! past its first live, unexpired entry.

use std::collections::VecDeque;

use crate::conn::flow::Endpoint;

/// A nanosecond of capture time is the unit of every timeout.
const SECOND_NS: i128 = 1_000_000_000;

/// A closed connection lingers this long by default (capture time).
pub const CLOSED_LINGER_NS: i128 = 30 * SECOND_NS;

/// How long each kind of connection may stay quiet before it is forgotten.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// A connection that never got past its first side's SYNs (no answer, no other
    /// segment): Zeek's `tcp_attempt_delay` is 5 s.
    pub attempt_ns: i128,
    /// Any other open connection (Zeek's `tcp_inactivity_timeout` is 5 min; the corpus
    /// has connections quiet for almost two minutes that must stay one stream).
    pub idle_ns: i128,
    /// A connection both sides closed, or that was reset (Zeek's `tcp_close_delay`).
    pub linger_ns: i128,
}

impl Default for Timeouts {
    /// 5 s for an attempt (Zeek's), 1 hour for an idle connection, 30 s for a closed
    /// one: no output of the corpus or the fixtures changes with them.
    fn default() -> Self {
        Timeouts {
            attempt_ns: 5 * SECOND_NS,
            idle_ns: 3600 * SECOND_NS,
            linger_ns: CLOSED_LINGER_NS,
        }
    }
}

impl Timeouts {
    /// The timeout of a connection of `kind`.
    pub fn of(&self, kind: Quiet) -> i128 {
        match kind {
            Quiet::Attempt => self.attempt_ns,
            Quiet::Idle => self.idle_ns,
            Quiet::Closed => self.linger_ns,
        }
    }
}

/// Which timeout a connection is under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quiet {
    /// Only SYNs from the side that opened it.
    Attempt,
    /// Open, past its SYN.
    Idle,
    /// Both sides closed, or reset.
    Closed,
}

impl Quiet {
    /// Every kind, in queue order.
    pub const ALL: [Quiet; 3] = [Quiet::Attempt, Quiet::Idle, Quiet::Closed];

    /// The kind's bit in a connection's set of queues it has an entry in.
    #[inline]
    pub(crate) fn bit(self) -> u8 {
        1 << self as u8
    }
}

/// The key a connection is held under (its two endpoints in order).
pub(crate) type Key = (Endpoint, Endpoint);

/// One queued connection: which, and when it was last seen when queued.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Queued {
    pub(crate) key: Key,
    /// The stream, to tell the connection from a later one on the same key.
    pub(crate) stream: u64,
    pub(crate) since: i128,
}

/// How far from the back of a queue [`Queues::retract`] looks.
const RETRACT_REACH: usize = 8;

/// The three queues, and a count of the entries looked at (for the tests that show the
/// work is bounded).
#[derive(Debug, Default)]
pub(crate) struct Queues {
    queues: [VecDeque<Queued>; 3],
    pub(crate) visited: u64,
    /// The earliest time any queue's head is due, while the heads stay as they were
    /// (`None` once one may have changed): a frame with nothing due, as most are, then
    /// asks one comparison instead of three queues (`Tracker::evict` took 135
    /// instructions a frame on real traffic, 68 with it).
    due_at: Option<i128>,
}

impl Queues {
    #[inline]
    pub(crate) fn push(&mut self, kind: Quiet, entry: Queued) {
        let queue = &mut self.queues[kind as usize];
        if queue.is_empty() {
            // A new head.
            self.due_at = None;
        }
        queue.push_back(entry);
    }

    /// Whether some queue's head may be due at `now_ns` under `timeouts` and the time
    /// floor `floor_ns` ([`Queues::pop_due`]'s test for each head, remembered while the
    /// heads do not change). The caller says when the floor changes
    /// ([`Queues::forget_due`]).
    #[inline]
    pub(crate) fn may_be_due(&mut self, now_ns: i128, timeouts: &Timeouts, floor_ns: i128) -> bool {
        let due_at = *self.due_at.get_or_insert_with(|| {
            Quiet::ALL
                .into_iter()
                .filter_map(|kind| {
                    let front = self.queues[kind as usize].front()?;
                    Some(front.since.max(floor_ns).saturating_add(timeouts.of(kind)))
                })
                .min()
                .unwrap_or(i128::MAX)
        });
        now_ns > due_at
    }

    /// Forgets the remembered due time (the time floor changed).
    pub(crate) fn forget_due(&mut self) {
        self.due_at = None;
    }

    /// The oldest entry of `kind`, if it was queued at least `timeout_ns` before `now_ns`
    /// (times before `floor_ns` count as `floor_ns`): the only kind of entry that can be
    /// expired. It is removed; the caller forgets its connection or queues it again.
    #[inline]
    pub(crate) fn pop_due(
        &mut self,
        kind: Quiet,
        now_ns: i128,
        timeout_ns: i128,
        floor_ns: i128,
    ) -> Option<Queued> {
        self.peek_due(kind, now_ns, timeout_ns, floor_ns)?;
        self.visited += 1;
        self.due_at = None;
        self.queues[kind as usize].pop_front()
    }

    /// The entry [`Queues::pop_due`] would remove, left in place.
    #[inline]
    pub(crate) fn peek_due(
        &self,
        kind: Quiet,
        now_ns: i128,
        timeout_ns: i128,
        floor_ns: i128,
    ) -> Option<&Queued> {
        let front = self.queues[kind as usize].front()?;
        (now_ns - front.since.max(floor_ns) > timeout_ns).then_some(front)
    }

    /// Removes the entry of `kind` for `stream` on `key` if it is among the last
    /// [`RETRACT_REACH`] queued, and says whether it did. A connection that leaves the
    /// attempt queue's kind (its SYN was answered) usually does so a few frames after it
    /// was queued: its entry, which would later cost a lookup of a connection long out
    /// of the cache only to be dropped, goes at once, at a bounded cost.
    pub(crate) fn retract(&mut self, kind: Quiet, key: &Key, stream: u64) -> bool {
        let queue = &mut self.queues[kind as usize];
        let len = queue.len();
        let reach = len.saturating_sub(RETRACT_REACH);
        match (reach..len)
            .rev()
            .find(|&i| queue[i].stream == stream && queue[i].key == *key)
        {
            Some(i) => {
                if i == 0 {
                    self.due_at = None;
                }
                queue.remove(i);
                true
            }
            None => false,
        }
    }

    /// The oldest entry of any kind (for the memory budget), removed.
    pub(crate) fn pop_oldest(&mut self) -> Option<(Quiet, Queued)> {
        let kind = Quiet::ALL
            .into_iter()
            .filter_map(|k| self.queues[k as usize].front().map(|e| (k, e.since)))
            .min_by_key(|&(_, since)| since)?
            .0;
        self.visited += 1;
        self.due_at = None;
        self.queues[kind as usize].pop_front().map(|e| (kind, e))
    }

    pub(crate) fn clear(&mut self) {
        for queue in &mut self.queues {
            queue.clear();
        }
        self.due_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn key(port: u16) -> Key {
        let at = |port| Endpoint {
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
        };
        (at(port), at(80))
    }

    /// Ten attempts queued, streams 0–9 on ports 1000–1009.
    fn queues() -> Queues {
        let mut queues = Queues::default();
        for stream in 0..10 {
            let entry = Queued {
                key: key(1000 + stream as u16),
                stream,
                since: 0,
            };
            queues.push(Quiet::Attempt, entry);
        }
        queues
    }

    fn streams(queues: &mut Queues) -> Vec<u64> {
        std::iter::from_fn(|| queues.pop_due(Quiet::Attempt, 10, 1, 0))
            .map(|e| e.stream)
            .collect()
    }

    #[test]
    fn an_entry_near_the_end_is_taken_back_and_the_order_kept() {
        let mut queues = queues();
        assert!(queues.retract(Quiet::Attempt, &key(1007), 7));
        assert!(queues.retract(Quiet::Attempt, &key(1009), 9));
        assert_eq!(streams(&mut queues), [0, 1, 2, 3, 4, 5, 6, 8]);
    }

    #[test]
    fn an_entry_is_taken_back_only_for_its_stream_and_key_and_within_reach() {
        let mut queues = queues();
        assert!(
            !queues.retract(Quiet::Attempt, &key(1009), 8),
            "other stream"
        );
        assert!(!queues.retract(Quiet::Attempt, &key(1008), 9), "other key");
        assert!(!queues.retract(Quiet::Idle, &key(1009), 9), "other queue");
        assert!(
            !queues.retract(Quiet::Attempt, &key(1001), 1),
            "out of reach"
        );
        assert_eq!(streams(&mut queues), (0..10).collect::<Vec<_>>());
    }
}
