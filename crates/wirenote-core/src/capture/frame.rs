//! What a capture holds, format-independent: frames, their timestamps, and what a parse
//! step of either format reports to the reader.

use crate::capture::options::OptionWalk;

/// The container format of a capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Classic libpcap format.
    Pcap,
    /// pcapng.
    PcapNg,
}

/// A point in time as the capture recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Timestamp {
    /// Seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second: `0..1_000_000_000`, except that an out-of-range
    /// fraction from a nanosecond pcap record is kept as tshark keeps it.
    pub nanos: u32,
}

impl Timestamp {
    /// Seconds as a float, for durations and differences (loses precision past µs).
    pub fn as_f64(self) -> f64 {
        self.secs as f64 + f64::from(self.nanos) * 1e-9
    }

    /// Nanoseconds since the epoch.
    pub fn as_nanos(self) -> i128 {
        i128::from(self.secs) * 1_000_000_000 + i128::from(self.nanos)
    }

    /// The timestamp `nanos` nanoseconds after the epoch (the inverse of
    /// [`Timestamp::as_nanos`] for an in-range fraction).
    pub fn from_nanos(nanos: i128) -> Timestamp {
        Timestamp {
            secs: nanos.div_euclid(1_000_000_000) as i64,
            nanos: nanos.rem_euclid(1_000_000_000) as u32,
        }
    }

    /// `self - earlier` in seconds.
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        // In i128 nanoseconds: pcapng seconds may span the whole i64 range.
        (self.as_nanos() - earlier.as_nanos()) as f64 * 1e-9
    }

    /// Builds a timestamp from a count of `units` where one unit is `10^-exp10` or
    /// `2^-exp2` seconds (pcapng `if_tsresol`), plus a whole-second offset.
    pub(super) fn from_units(raw: u64, resol: u8, offset_secs: i64) -> Timestamp {
        let (secs, nanos) = if resol & 0x80 == 0 {
            let exp = u32::from(resol);
            if exp <= 9 {
                let per_sec = 10u64.pow(exp);
                let frac = raw % per_sec;
                (raw / per_sec, frac * 10u64.pow(9 - exp))
            } else {
                let per_sec = 10u128.pow(exp.min(38));
                let raw = u128::from(raw);
                let frac = raw % per_sec;
                (
                    (raw / per_sec) as u64,
                    (frac * 1_000_000_000 / per_sec) as u64,
                )
            }
        } else {
            let exp = u32::from(resol & 0x7f).min(63);
            let per_sec = 1u128 << exp;
            let raw = u128::from(raw);
            let frac = raw % per_sec;
            (
                (raw / per_sec) as u64,
                (frac * 1_000_000_000 / per_sec) as u64,
            )
        };
        Timestamp {
            secs: (secs as i64).wrapping_add(offset_secs),
            nanos: nanos as u32,
        }
    }
}

impl std::fmt::Display for Timestamp {
    /// `secs.nnnnnnnnn`, as tshark prints `frame.time_epoch`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:09}", self.secs, self.nanos)
    }
}

/// What a frame holds. tshark numbers pcapng custom blocks as frames too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// A captured packet (pcap record, pcapng EPB/SPB/PB).
    Packet,
    /// A pcapng custom block (`copyable` = block type 0x0BAD rather than 0x40000BAD).
    CustomBlock {
        /// Private Enterprise Number of the block's owner.
        pen: u32,
        /// Whether the block may be copied to a new file.
        copyable: bool,
    },
}

/// One frame of a capture: metadata plus the captured bytes, borrowed from the reader.
#[derive(Debug, Clone)]
pub struct Frame<'a> {
    /// 1-based frame number, as `frame.number`.
    pub number: u64,
    /// Capture time; `None` where the format has none (pcapng Simple Packet Block).
    pub timestamp: Option<Timestamp>,
    /// Link-layer type (LINKTYPE_* value, FCS bits masked off).
    pub link_type: u32,
    /// pcapng interface index (0 for classic pcap).
    pub interface_id: u32,
    /// Length of the packet on the wire (`frame.len`).
    pub orig_len: u32,
    /// Captured bytes (`frame.cap_len` = `data.len()`).
    pub data: &'a [u8],
    /// Packet or other record.
    pub kind: FrameKind,
    /// Byte offset of the record in the (decompressed) capture.
    pub offset: u64,
    /// The timestamp as the file stores it, for writing it back unchanged.
    pub raw_time: Option<RawTime>,
    /// pcapng section index (0 for classic pcap); interface ids restart per section.
    pub section: u32,
    /// Snap length of the interface.
    pub snaplen: u32,
    /// Raw pcapng options of the packet block (empty for classic pcap).
    pub options: &'a [u8],
    /// Byte order of `options`.
    pub options_big_endian: bool,
}

/// A timestamp in the file's own units: `units` of `10^-n` (or `2^-n` with the high bit of
/// `resolution` set, as pcapng's `if_tsresol`) seconds, plus `offset_secs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawTime {
    /// Count of time units.
    pub units: u64,
    /// pcapng `if_tsresol` encoding of the unit.
    pub resolution: u8,
    /// pcapng `if_tsoffset`, seconds.
    pub offset_secs: i64,
}

impl<'a> Frame<'a> {
    /// Packet `number` of a classic pcap at `timestamp`: `data` whole (not cut by a snap
    /// length), no options. What tests, benchmarks and fuzz targets feed a dissector.
    pub fn packet(
        number: u64,
        timestamp: Option<Timestamp>,
        link_type: u32,
        data: &'a [u8],
    ) -> Frame<'a> {
        Frame {
            number,
            timestamp,
            link_type,
            interface_id: 0,
            orig_len: data.len() as u32,
            data,
            kind: FrameKind::Packet,
            offset: 0,
            raw_time: None,
            section: 0,
            snaplen: 65535,
            options: &[],
            options_big_endian: false,
        }
    }

    /// The packet's comments (pcapng `opt_comment`). Like Wireshark, a comment ends at a
    /// NUL byte if it has one; invalid UTF-8 is replaced.
    pub fn comments(&self) -> impl Iterator<Item = std::borrow::Cow<'a, str>> + 'a {
        OptionWalk::new(self.options, self.options_big_endian)
            .filter(|(code, _)| *code == 1)
            .map(|(_, value)| {
                let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
                String::from_utf8_lossy(&value[..end])
            })
    }
}

/// What one parse step found, as offsets into the available bytes so the borrow of the
/// source can be taken once, after the bookkeeping.
pub(super) struct Found {
    pub(super) consumed: usize,
    pub(super) data: std::ops::Range<usize>,
    pub(super) timestamp: Option<Timestamp>,
    pub(super) link_type: u32,
    pub(super) interface_id: u32,
    pub(super) orig_len: u32,
    pub(super) kind: FrameKind,
    pub(super) raw_time: Option<RawTime>,
    pub(super) section: u32,
    pub(super) snaplen: u32,
    pub(super) options: std::ops::Range<usize>,
    pub(super) big_endian: bool,
}

pub(super) enum Step {
    /// A frame (packet or custom block).
    Frame(Found),
    /// A block that is no frame (section or interface header, unknown type): skip it.
    Skip(usize),
    /// The record is not all there: this many bytes are needed.
    NeedMore(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_across_the_whole_i64_range() {
        let late = Timestamp {
            secs: i64::MAX,
            nanos: 0,
        };
        let early = Timestamp { secs: -1, nanos: 0 };
        assert!(late.seconds_since(early) > 9.2e18);
    }

    #[test]
    fn pcapng_resolutions() {
        assert_eq!(
            Timestamp::from_units(1_500_000, 6, 0).to_string(),
            "1.500000000"
        );
        assert_eq!(
            Timestamp::from_units(1_500_000_001, 9, 0).to_string(),
            "1.500000001"
        );
        assert_eq!(
            Timestamp::from_units(3 << 20 | 1 << 19, 0x80 | 20, 10).to_string(),
            "13.500000000"
        );
    }
}
