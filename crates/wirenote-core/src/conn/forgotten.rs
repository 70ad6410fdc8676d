//! What is kept of a forgotten connection, so that its 4-tuple coming back gets the stream
//! number tshark gives it.
//!
//! Wireshark never forgets a conversation: a segment on a known 4-tuple joins its stream,
//! unless it is a pure SYN with a new ISN (port reuse: a new stream). So a forgotten
//! connection leaves a [`Record`] of 16 bytes (24 with its key): its stream, which endpoint
//! came first, both sides' relative zero and window scale, and its completeness so far. A
//! returning segment is then numbered, made relative and scaled as tshark would; what the
//! record does not keep (sequence analysis, the lifecycle, the counters of the flows table)
//! starts again. A stream numbered past `u32::MAX` leaves no record (a capture of more than
//! four billion connections: its tuples, back, start new streams).
//!
//! Records are keyed by a 64-bit hash of the 4-tuple under the tracker's per-process
//! random key (two tuples of one capture collide with a chance of about n / 2^64), and
//! those of the earliest streams are dropped first when the tracker's memory budget says
//! so: a quarter of them at a time, so that the pass over the table that finds them
//! costs O(1) per record, amortised, and no list of the order is kept.
//!
//! The table is split in [`SHARDS`] by bits of the hash: a hash table doubles when it
//! grows, and while it copies, the old buckets and the new are both held. One table of
//! two million records would hold 150 MiB for that moment; a shard holds a sixteenth.
//!
//! Only a single pass or a first pass keeps a table. A second pass asks its first pass
//! for the record taken back at a frame ([`Memory::FirstPass`]): both passes forget the
//! same connections at the same frames, so the first pass's table is the second's.

use std::collections::HashMap;
use std::hash::BuildHasher;

use crate::conn::expiry::Key;
use crate::conn::window::WindowScale;
use crate::wire::seq::SeqNumber;

/// A forgotten connection's facts (16 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record {
    stream: u32,
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
    /// its sides in key order; none past stream `u32::MAX` (see the module's text).
    pub(crate) fn new(
        stream: u64,
        first_is_low: bool,
        sides: [Side; 2],
        completeness: u8,
    ) -> Option<Record> {
        let stream = u32::try_from(stream).ok()?;
        let mut known = u8::from(first_is_low) << 2;
        let mut bases = [0; 2];
        for (i, side) in sides.iter().enumerate() {
            if let Some(base) = side.base_seq {
                bases[i] = base.0;
                known |= 1 << i;
            }
        }
        Some(Record {
            stream,
            bases,
            known,
            completeness,
            scales: [
                pack_scale(sides[0].win_scale),
                pack_scale(sides[1].win_scale),
            ],
        })
    }

    /// The connection's stream.
    pub(crate) fn stream(&self) -> u64 {
        u64::from(self.stream)
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

/// How many tables the records are split in (see the module's text).
pub(crate) const SHARDS: usize = 16;

/// Forgotten connections by hashed key.
#[derive(Debug, Default)]
pub(crate) struct Forgotten {
    /// By bits 32–35 of the hash: the table uses the low bits for its buckets and the top
    /// seven for its tags.
    shards: [HashMap<u64, Record, NoHash>; SHARDS],
    len: usize,
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

#[inline]
fn shard_of(hash: u64) -> usize {
    (hash >> 32) as usize % SHARDS
}

impl Forgotten {
    pub(crate) fn hash(state: &impl BuildHasher, key: &Key) -> u64 {
        state.hash_one(key)
    }

    pub(crate) fn insert(&mut self, hash: u64, record: Record) {
        if self.shards[shard_of(hash)].insert(hash, record).is_none() {
            self.len += 1;
        }
    }

    /// Takes the record of `hash`, if one is kept.
    #[inline]
    pub(crate) fn take(&mut self, hash: u64) -> Option<Record> {
        if self.len == 0 {
            return None;
        }
        let record = self.shards[shard_of(hash)].remove(&hash)?;
        self.len -= 1;
        Some(record)
    }

    /// Records kept.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Drops the records of the earliest quarter of the streams kept (at least one
    /// record while any is kept); returns how many.
    pub(crate) fn drop_oldest(&mut self) -> u64 {
        let streams = self
            .shards
            .iter()
            .flat_map(|s| s.values().map(|r| r.stream));
        let (Some(first), Some(last)) = (streams.clone().min(), streams.max()) else {
            return 0;
        };
        let keep_from = first + (last - first) / 4 + 1;
        let before = self.len;
        for shard in &mut self.shards {
            shard.retain(|_, r| r.stream >= keep_from);
        }
        self.len = self.shards.iter().map(HashMap::len).sum();
        (before - self.len) as u64
    }

    /// Bytes held (approximately: what the records cost, see [`RECORD_COST`]).
    pub(crate) fn bytes(&self) -> usize {
        self.len * RECORD_COST
    }

    pub(crate) fn clear(&mut self) {
        self.shards.iter_mut().for_each(HashMap::clear);
        self.len = 0;
    }
}

/// A second pass's question to its first: the record taken back at `frame` for `key`,
/// if the first pass took one there.
pub(crate) type Ask = Box<dyn FnMut(u64, &Key) -> Option<Record> + Send>;

/// A record a first pass took back, for its second pass: at which frame, for which key.
pub(crate) type Taken = (u64, Key, Record);

/// Where a tracker's records of forgotten connections are.
#[expect(clippy::large_enum_variant, reason = "one per tracker, never moved")]
pub(crate) enum Memory {
    /// In its own table: a single pass, or a first pass, which also lists each record it
    /// takes back (`taken`) for its second pass.
    Here {
        table: Forgotten,
        taken: Option<Vec<Taken>>,
    },
    /// With the first pass (a second pass): `ask` gets the record its first pass took
    /// back at a frame. `at_most` bounds how many records the first pass holds (those
    /// forgotten less those taken back; the budget drops more there), so that nothing is
    /// asked while none can be.
    FirstPass { ask: Ask, at_most: usize },
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Memory::Here { table, .. } => write!(f, "Here({} records)", table.len()),
            Memory::FirstPass { at_most, .. } => write!(f, "FirstPass(at most {at_most})"),
        }
    }
}

impl Default for Memory {
    fn default() -> Self {
        Memory::Here {
            table: Forgotten::default(),
            taken: None,
        }
    }
}

impl Memory {
    /// Keeps the record of a connection forgotten on `key`.
    #[inline]
    pub(crate) fn keep(&mut self, state: &impl BuildHasher, key: &Key, record: Option<Record>) {
        match self {
            Memory::Here { table, .. } => {
                if let Some(record) = record {
                    table.insert(Forgotten::hash(state, key), record);
                }
            }
            Memory::FirstPass { at_most, .. } => *at_most += 1,
        }
    }

    /// Takes back the record of `key`, met again at `frame` with no live connection.
    #[inline]
    pub(crate) fn take(
        &mut self,
        state: &impl BuildHasher,
        key: &Key,
        frame: u64,
    ) -> Option<Record> {
        match self {
            Memory::Here { table, taken } => {
                if table.len() == 0 {
                    return None;
                }
                let record = table.take(Forgotten::hash(state, key))?;
                if let Some(taken) = taken {
                    taken.push((frame, *key, record));
                }
                Some(record)
            }
            Memory::FirstPass { ask, at_most } => {
                if *at_most == 0 {
                    return None;
                }
                let record = ask(frame, key)?;
                *at_most -= 1;
                Some(record)
            }
        }
    }

    /// The records taken back since the last call (a first pass's; none elsewhere).
    pub(crate) fn take_taken(&mut self) -> Vec<Taken> {
        match self {
            Memory::Here {
                taken: Some(taken), ..
            } => std::mem::take(taken),
            _ => Vec::new(),
        }
    }

    /// Whether [`Memory::take_taken`] would return any.
    #[inline]
    pub(crate) fn has_taken(&self) -> bool {
        matches!(self, Memory::Here { taken: Some(taken), .. } if !taken.is_empty())
    }

    /// The table, where this tracker keeps one.
    pub(crate) fn table(&mut self) -> Option<&mut Forgotten> {
        match self {
            Memory::Here { table, .. } => Some(table),
            Memory::FirstPass { .. } => None,
        }
    }

    /// Records held here.
    pub(crate) fn len(&self) -> usize {
        match self {
            Memory::Here { table, .. } => table.len(),
            Memory::FirstPass { .. } => 0,
        }
    }

    /// Bytes held here.
    pub(crate) fn bytes(&self) -> usize {
        match self {
            Memory::Here { table, .. } => table.bytes(),
            Memory::FirstPass { .. } => 0,
        }
    }

    /// The capture is over: nothing is kept or asked any more.
    pub(crate) fn clear(&mut self) {
        match self {
            Memory::Here { table, .. } => table.clear(),
            Memory::FirstPass { at_most, .. } => *at_most = 0,
        }
    }
}
