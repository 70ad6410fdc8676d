//! What is kept of a forgotten connection, so that its 4-tuple coming back gets the stream
//! number tshark gives it.
//!
//! Wireshark never forgets a conversation: a segment on a known 4-tuple joins its stream,
//! unless it is a pure SYN with a new ISN (port reuse: a new stream). So a forgotten
//! connection leaves a [`Record`] of 24 bytes (32 with its key): its stream, which endpoint came first, both
//! sides' relative zero and window scale, and its completeness so far. A returning segment
//! is then numbered, made relative and scaled as tshark would; what the record does not
//! keep (sequence analysis, the lifecycle, the counters of the flows table) starts again.
//!
//! Records are keyed by a 64-bit hash of the 4-tuple under the tracker's per-process
//! random key (two tuples of one capture collide with a chance of about n / 2^64), and
//! those of the earliest streams are dropped first when the tracker's memory budget says
//! so: a quarter of them at a time, so that the pass over the table that finds them
//! costs O(1) per record, amortised, and no list of the order is kept.

use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::conn::expiry::Key;
use crate::conn::window::WindowScale;
use crate::wire::seq::SeqNumber;

/// A forgotten connection's facts (24 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) stream: u64,
    /// Relative zero of the key's first and second endpoint.
    bases: [u32; 2],
    /// Bit 0, 1: `bases[0]`, `bases[1]` known; bit 2: the key's first endpoint sent the
    /// connection's first segment.
    known: u8,
    pub(crate) completeness: u8,
    scales: [u8; 2],
}

const SCALE_UNKNOWN: u8 = 0xff;
const SCALE_NOT_USED: u8 = 0xfe;

fn pack_scale(scale: WindowScale) -> u8 {
    match scale {
        WindowScale::Unknown => SCALE_UNKNOWN,
        WindowScale::NotUsed => SCALE_NOT_USED,
        WindowScale::Shift(s) => s,
    }
}

fn unpack_scale(raw: u8) -> WindowScale {
    match raw {
        SCALE_UNKNOWN => WindowScale::Unknown,
        SCALE_NOT_USED => WindowScale::NotUsed,
        s => WindowScale::Shift(s),
    }
}

/// One side of a forgotten connection, as the tracker restores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Side {
    pub(crate) base_seq: Option<SeqNumber>,
    pub(crate) win_scale: WindowScale,
}

impl Record {
    /// The record of a connection whose key's first endpoint `first_is_low` says, with
    /// its sides in key order.
    pub(crate) fn new(
        stream: u64,
        first_is_low: bool,
        sides: [Side; 2],
        completeness: u8,
    ) -> Record {
        let mut known = u8::from(first_is_low) << 2;
        let mut bases = [0; 2];
        for (i, side) in sides.iter().enumerate() {
            if let Some(base) = side.base_seq {
                bases[i] = base.0;
                known |= 1 << i;
            }
        }
        Record {
            stream,
            bases,
            known,
            completeness,
            scales: [
                pack_scale(sides[0].win_scale),
                pack_scale(sides[1].win_scale),
            ],
        }
    }

    /// Whether the key's first endpoint sent the connection's first segment.
    pub(crate) fn first_is_low(&self) -> bool {
        self.known & 4 != 0
    }

    /// Side `i` (0: the key's first endpoint).
    pub(crate) fn side(&self, i: usize) -> Side {
        Side {
            base_seq: (self.known & (1 << i) != 0).then_some(SeqNumber(self.bases[i])),
            win_scale: unpack_scale(self.scales[i]),
        }
    }
}

/// Forgotten connections by hashed key.
#[derive(Debug, Default)]
pub(crate) struct Forgotten {
    records: HashMap<u64, Record, NoHash>,
}

/// The keys are hashes already.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NoHash;

impl BuildHasher for NoHash {
    type Hasher = NoHasher;
    fn build_hasher(&self) -> NoHasher {
        NoHasher(0)
    }
}

/// Passes a `u64` through.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NoHasher(u64);

impl std::hash::Hasher for NoHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// Bytes one record costs, with its share of the table's spare buckets.
pub const RECORD_COST: usize = std::mem::size_of::<(u64, Record)>() * 8 / 7 + 1;

impl Forgotten {
    pub(crate) fn hash(state: &impl BuildHasher, key: &Key) -> u64 {
        state.hash_one(key)
    }

    pub(crate) fn insert(&mut self, hash: u64, record: Record) {
        self.records.insert(hash, record);
    }

    /// Takes the record of `hash`, if one is kept.
    pub(crate) fn take(&mut self, hash: u64) -> Option<Record> {
        self.records.remove(&hash)
    }

    /// Records kept.
    pub(crate) fn len(&self) -> usize {
        self.records.len()
    }

    /// Drops the records of the earliest quarter of the streams kept (at least one
    /// record while any is kept); returns how many.
    pub(crate) fn drop_oldest(&mut self) -> u64 {
        let streams = self.records.values().map(|r| r.stream);
        let (Some(first), Some(last)) = (streams.clone().min(), streams.max()) else {
            return 0;
        };
        let keep_from = first + (last - first) / 4 + 1;
        let before = self.records.len();
        self.records.retain(|_, r| r.stream >= keep_from);
        (before - self.records.len()) as u64
    }

    /// Bytes held (approximately: what the records cost, see [`RECORD_COST`]).
    pub(crate) fn bytes(&self) -> usize {
        self.records.len() * RECORD_COST
    }

    pub(crate) fn clear(&mut self) {
        self.records.clear();
    }
}
