//! Capture file reading: classic pcap, pcapng and gzip-compressed forms of both.
//!
//! Read, at least: the pcap format (draft-ietf-opsawg-pcap) and the pcapng format
//! (draft-ietf-opsawg-pcapng), sections on the Section Header, Interface Description,
//! Enhanced/Simple Packet and Custom blocks.
//!
//! The reader pulls one record at a time, either straight from a byte slice (a
//! capture already in memory: nothing is copied) or from any [`Read`] source through a small
//! refillable buffer (stdin, a gzip stream). Memory use is one record, never the file.
//!
//! Record framing is done by the `pcap-file` crate; this module adds what tshark does on
//! top of it and that the crate leaves out: per-interface link types and timestamp
//! resolutions, `if_tsoffset`, section changes with a new byte order, the 256 KiB record
//! limit that tells a corrupt file from a large packet, and errors that carry the frame
//! number and the byte offset where reading stopped.

use std::io::{self, Read};

use pcap_file::pcap::PcapHeader;
use pcap_file::pcapng::RawBlock;
use pcap_file::{Endianness, PcapError};

/// Largest record tshark accepts before it calls a file corrupt (WTAP_MAX_PACKET_SIZE_STANDARD).
pub const MAX_RECORD_LEN: u32 = 262_144;

/// Interfaces one pcapng section may declare (interface ids are 32-bit, but no real
/// capture comes near this; the cap keeps memory bounded).
const MAX_INTERFACES: usize = 65_536;

/// A larger pcapng block than this is treated as corruption rather than buffered.
const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const PCAPNG_SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const PCAPNG_CUSTOM_COPY: u32 = 0x0000_0BAD;
const PCAPNG_CUSTOM_NOCOPY: u32 = 0x4000_0BAD;
const PCAPNG_EPB: u32 = 6;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_PB: u32 = 2;
const PCAPNG_IDB: u32 = 1;

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

    /// `self - earlier` in seconds.
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        // In i128 nanoseconds: pcapng seconds may span the whole i64 range.
        (self.as_nanos() - earlier.as_nanos()) as f64 * 1e-9
    }

    /// Builds a timestamp from a count of `units` where one unit is `10^-exp10` or
    /// `2^-exp2` seconds (pcapng `if_tsresol`), plus a whole-second offset.
    fn from_units(raw: u64, resol: u8, offset_secs: i64) -> Timestamp {
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

/// Why reading a capture stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// The data starts with neither a pcap nor a pcapng magic number.
    #[error("not a pcap or pcapng capture (first bytes: {found})")]
    UnknownFormat {
        /// Hex of the first bytes found.
        found: String,
    },
    /// The file header declares a version we (and tshark) do not read.
    #[error("{format} version {major}.{minor} unsupported")]
    UnsupportedVersion {
        /// `pcap` or `pcapng`.
        format: &'static str,
        /// Major version.
        major: u16,
        /// Minor version.
        minor: u16,
    },
    /// The file header (pcapng: first section header block) is unreadable.
    #[error("damaged or corrupt file header: {reason}")]
    InvalidHeader {
        /// What is wrong with it.
        reason: String,
    },
    /// The file ends in the middle of a record.
    #[error("cut short in the middle of a packet after frame {last_frame} (record at byte offset {offset}, {have} of {need} bytes present)")]
    Truncated {
        /// Last frame read completely (0 if none).
        last_frame: u64,
        /// Byte offset where the partial record starts.
        offset: u64,
        /// Bytes present.
        have: usize,
        /// Bytes the record header announced, when known (else the header size).
        need: usize,
    },
    /// A record whose header makes no sense.
    #[error("damaged or corrupt after frame {last_frame} at byte offset {offset}: {reason}")]
    Corrupt {
        /// Last frame read completely (0 if none).
        last_frame: u64,
        /// Byte offset of the bad record.
        offset: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// Reading the source failed.
    #[error("read error after frame {last_frame} at byte offset {offset}")]
    Io {
        /// Last frame read completely.
        last_frame: u64,
        /// Byte offset reached.
        offset: u64,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
}

impl CaptureError {
    /// True when frames may have been read before this error (the file is partly readable).
    pub fn is_partial(&self) -> bool {
        matches!(
            self,
            CaptureError::Truncated { .. } | CaptureError::Corrupt { .. } | CaptureError::Io { .. }
        )
    }
}

/// Where the bytes come from.
enum Source<'s> {
    /// The whole capture in memory: records are borrowed in place.
    Slice { data: &'s [u8], pos: usize },
    /// A stream read through a buffer that holds at least one record.
    Stream {
        reader: Box<dyn Read + 's>,
        buf: Vec<u8>,
        start: usize,
        end: usize,
        eof: bool,
    },
}

impl<'s> Source<'s> {
    fn available(&self) -> &[u8] {
        match self {
            Source::Slice { data, pos } => &data[*pos..],
            Source::Stream {
                buf, start, end, ..
            } => &buf[*start..*end],
        }
    }

    fn advance(&mut self, n: usize) {
        match self {
            Source::Slice { pos, .. } => *pos += n,
            Source::Stream { start, .. } => *start += n,
        }
    }

    /// Makes at least `want` bytes available if the source has them. Returns false at EOF.
    fn fill(&mut self, want: usize) -> io::Result<bool> {
        match self {
            Source::Slice { .. } => Ok(false),
            Source::Stream {
                reader,
                buf,
                start,
                end,
                eof,
            } => {
                if *eof {
                    return Ok(false);
                }
                if *start > 0 {
                    buf.copy_within(*start..*end, 0);
                    *end -= *start;
                    *start = 0;
                }
                let target = want.max(*end + 64 * 1024);
                if buf.len() < target {
                    buf.resize(target, 0);
                }
                let before = *end;
                while *end < want.max(before + 1) {
                    match reader.read(&mut buf[*end..]) {
                        Ok(0) => {
                            *eof = true;
                            break;
                        }
                        Ok(n) => *end += n,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                Ok(*end > before)
            }
        }
    }
}

/// Per-interface facts needed to read packets of a pcapng section.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: u32,
    snaplen: u32,
    tsresol: u8,
    tsoffset: i64,
}

/// What is known of the current pcapng section.
#[derive(Debug, Default)]
struct PcapNgSection {
    big: bool,
    interfaces: Vec<Interface>,
    /// Sections seen so far (the current one's index is `seen - 1`).
    seen: u32,
    index: u32,
}

enum Parser {
    Pcap { header: PcapHeader, link_type: u32 },
    PcapNg(PcapNgSection),
}

/// A pull reader over a capture. Call [`CaptureReader::next_frame`] until it returns `None`.
pub struct CaptureReader<'s> {
    source: Source<'s>,
    parser: Parser,
    format: Format,
    frames: u64,
    offset: u64,
}

/// What one parse step found, as offsets into the available bytes so the borrow of the
/// source can be taken once, after the bookkeeping.
struct Found {
    consumed: usize,
    data: std::ops::Range<usize>,
    timestamp: Option<Timestamp>,
    link_type: u32,
    interface_id: u32,
    orig_len: u32,
    kind: FrameKind,
    raw_time: Option<RawTime>,
    section: u32,
    snaplen: u32,
    options: std::ops::Range<usize>,
    big_endian: bool,
}

enum Step {
    Frame(Found),
    Skip(usize),
    NeedMore(usize),
}

impl<'s> CaptureReader<'s> {
    /// Reads a capture held in memory. A gzip-compressed
    /// capture is decompressed as a stream.
    pub fn from_slice(data: &'s [u8]) -> Result<Self, CaptureError> {
        if data.starts_with(&GZIP_MAGIC) {
            return Self::stream(Box::new(flate2::read::MultiGzDecoder::new(data)));
        }
        Self::open(Source::Slice { data, pos: 0 })
    }

    /// Reads a capture from a stream (stdin, a socket, a decompressor). gzip is detected by
    /// its magic number and decompressed on the fly.
    pub fn from_read<R: Read + 's>(reader: R) -> Result<Self, CaptureError> {
        Self::from_boxed(Box::new(reader))
    }

    /// `from_read` without generics, so that a gzip layer does not nest types forever.
    fn from_boxed(mut reader: Box<dyn Read + 's>) -> Result<Self, CaptureError> {
        // Peek at the first two bytes, then put them back in front of the stream.
        let mut magic = [0u8; 2];
        let mut have = 0;
        while have < magic.len() {
            match reader.read(&mut magic[have..]) {
                Ok(0) => break,
                Ok(n) => have += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(CaptureError::Io {
                        last_frame: 0,
                        offset: 0,
                        source,
                    })
                }
            }
        }
        let stream = io::Cursor::new(magic[..have].to_vec()).chain(reader);
        if magic[..have] == GZIP_MAGIC {
            // One layer only, as wiretap does: a gzip inside the gzip is not a capture
            // (and unwrapping layers without end would let a small file exhaust memory
            // and the stack).
            return Self::stream(Box::new(flate2::read::MultiGzDecoder::new(stream)));
        }
        Self::stream(Box::new(stream))
    }

    fn stream(reader: Box<dyn Read + 's>) -> Result<Self, CaptureError> {
        Self::open(Source::Stream {
            reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            eof: false,
        })
    }

    fn open(mut source: Source<'s>) -> Result<Self, CaptureError> {
        fill_to(&mut source, 24, 0)?;
        let head = source.available();
        if head.starts_with(&PCAPNG_SHB) {
            // The first section header is read by the block loop like any later one, but a
            // bad one means the file is not readable at all.
            let mut reader = CaptureReader {
                source,
                parser: Parser::PcapNg(PcapNgSection::default()),
                format: Format::PcapNg,
                frames: 0,
                offset: 0,
            };
            reader.read_first_section_header()?;
            return Ok(reader);
        }
        match PcapHeader::from_slice(head) {
            Ok((_, header)) => {
                if header.version_major != 2 {
                    return Err(CaptureError::UnsupportedVersion {
                        format: "pcap",
                        major: header.version_major,
                        minor: header.version_minor,
                    });
                }
                let raw_link = match header.endianness {
                    Endianness::Big => u32::from_be_bytes([head[20], head[21], head[22], head[23]]),
                    Endianness::Little => {
                        u32::from_le_bytes([head[20], head[21], head[22], head[23]])
                    }
                };
                // The upper bits carry FCS length and flags (LT_FCS_LENGTH); the type is below.
                let link_type = raw_link & 0x03FF_FFFF;
                source.advance(24);
                Ok(CaptureReader {
                    source,
                    parser: Parser::Pcap { header, link_type },
                    format: Format::Pcap,
                    frames: 0,
                    offset: 24,
                })
            }
            Err(_) => Err(CaptureError::UnknownFormat {
                found: hex_prefix(head),
            }),
        }
    }

    fn read_first_section_header(&mut self) -> Result<(), CaptureError> {
        let Parser::PcapNg(section) = &mut self.parser else {
            return Ok(());
        };
        loop {
            let step = step_pcapng(self.source.available(), section, 0, 0);
            match step {
                Ok(Step::Skip(n)) => {
                    self.source.advance(n);
                    self.offset += n as u64;
                    return Ok(());
                }
                Ok(Step::NeedMore(want)) => {
                    let have = self.source.available().len();
                    let grew = self.source.fill(want).map_err(|source| CaptureError::Io {
                        last_frame: 0,
                        offset: 0,
                        source,
                    })?;
                    if !grew {
                        return Err(CaptureError::InvalidHeader {
                            reason: format!(
                                "pcapng: section header needs {want} bytes, file has {have}"
                            ),
                        });
                    }
                }
                Ok(Step::Frame(_)) => return Ok(()),
                Err(CaptureError::Corrupt { reason, .. }) => {
                    return Err(CaptureError::InvalidHeader { reason })
                }
                Err(other) => return Err(other),
            }
        }
    }

    /// The container format.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Number of frames returned so far.
    pub fn frames_read(&self) -> u64 {
        self.frames
    }

    /// Byte offset of the next record (in the decompressed stream for gzip input).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Returns the next frame, `None` at a clean end of file, or the error that stopped
    /// reading (after which the reader must not be used again).
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>, CaptureError> {
        let found = loop {
            let step = match &mut self.parser {
                Parser::Pcap { header, link_type } => step_pcap(
                    self.source.available(),
                    header,
                    *link_type,
                    self.frames,
                    self.offset,
                )?,
                Parser::PcapNg(section) => {
                    step_pcapng(self.source.available(), section, self.frames, self.offset)?
                }
            };
            match step {
                Step::Frame(found) => break found,
                Step::Skip(n) => {
                    self.source.advance(n);
                    self.offset += n as u64;
                }
                Step::NeedMore(want) => {
                    let have = self.source.available().len();
                    let grew = self.source.fill(want).map_err(|source| CaptureError::Io {
                        last_frame: self.frames,
                        offset: self.offset,
                        source,
                    })?;
                    if !grew {
                        if have == 0 {
                            return Ok(None);
                        }
                        return Err(CaptureError::Truncated {
                            last_frame: self.frames,
                            offset: self.offset,
                            have,
                            need: want,
                        });
                    }
                }
            }
        };
        self.frames += 1;
        let offset = self.offset;
        self.offset += found.consumed as u64;
        // Advance past the record, then borrow its bytes: a stream buffer keeps them until
        // the next refill, which needs `&mut self` and so cannot overlap this frame.
        let (base, bytes): (usize, &[u8]) = match &mut self.source {
            Source::Slice { data, pos } => {
                let base = *pos;
                *pos += found.consumed;
                (base, data)
            }
            Source::Stream { buf, start, .. } => {
                let base = *start;
                *start += found.consumed;
                (base, buf)
            }
        };
        Ok(Some(Frame {
            number: self.frames,
            timestamp: found.timestamp,
            link_type: found.link_type,
            interface_id: found.interface_id,
            orig_len: found.orig_len,
            data: &bytes[base + found.data.start..base + found.data.end],
            kind: found.kind,
            offset,
            raw_time: found.raw_time,
            section: found.section,
            snaplen: found.snaplen,
            options: &bytes[base + found.options.start..base + found.options.end],
            options_big_endian: found.big_endian,
        }))
    }
}

fn fill_to(source: &mut Source<'_>, want: usize, offset: u64) -> Result<(), CaptureError> {
    while source.available().len() < want {
        let grew = source.fill(want).map_err(|e| CaptureError::Io {
            last_frame: 0,
            offset,
            source: e,
        })?;
        if !grew {
            break;
        }
    }
    Ok(())
}

fn hex_prefix(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "empty file".to_string();
    }
    bytes
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn check_shb_version(block: &[u8], last_frame: u64, offset: u64) -> Result<(), CaptureError> {
    let magic = &block[8..12];
    let big = magic == [0x1a, 0x2b, 0x3c, 0x4d];
    if !big && magic != [0x4d, 0x3c, 0x2b, 0x1a] {
        return Err(corrupt(
            last_frame,
            offset,
            "section header has a bad byte-order magic".into(),
        ));
    }
    let read16 = |b: &[u8]| {
        if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        }
    };
    let (major, minor) = (read16(&block[12..14]), read16(&block[14..16]));
    if major != 1 {
        return Err(CaptureError::UnsupportedVersion {
            format: "pcapng",
            major,
            minor,
        });
    }
    Ok(())
}

fn corrupt(last_frame: u64, offset: u64, reason: String) -> CaptureError {
    CaptureError::Corrupt {
        last_frame,
        offset,
        reason,
    }
}

fn describe_pcap_error(e: &PcapError) -> String {
    match e {
        PcapError::IncompleteBuffer => "a field runs past the end of its block".to_string(),
        PcapError::InvalidField(what) => (*what).to_string(),
        other => other.to_string(),
    }
}

fn step_pcap(
    avail: &[u8],
    header: &PcapHeader,
    link_type: u32,
    frames: u64,
    offset: u64,
) -> Result<Step, CaptureError> {
    if avail.len() < 16 {
        return Ok(Step::NeedMore(16));
    }
    let read32 = |b: &[u8]| match header.endianness {
        Endianness::Big => u32::from_be_bytes([b[0], b[1], b[2], b[3]]),
        Endianness::Little => u32::from_le_bytes([b[0], b[1], b[2], b[3]]),
    };
    let (mut incl_len, mut orig_len) = (read32(&avail[8..12]), read32(&avail[12..16]));
    // Files of pcap versions before 2.3 may have the two lengths swapped (libpcap's
    // "maybe swapped" rule, as wiretap applies it): a captured length above the original
    // length is taken as a swap. Version 2.3 always swapped them.
    let swapped = match header.version_minor {
        0..=2 => incl_len > orig_len,
        3 => true,
        _ => false,
    };
    if swapped {
        std::mem::swap(&mut incl_len, &mut orig_len);
    }
    if incl_len > MAX_RECORD_LEN {
        return Err(corrupt(
            frames,
            offset,
            format!(
                "pcap: File has {incl_len}-byte packet, bigger than maximum of {MAX_RECORD_LEN}"
            ),
        ));
    }
    if avail.len() < 16 + incl_len as usize {
        return Ok(Step::NeedMore(16 + incl_len as usize));
    }
    let (ts_sec, ts_frac) = (read32(&avail[0..4]), read32(&avail[4..8]));
    let timestamp = match header.ts_resolution {
        // tshark keeps an out-of-range fraction as it is (and prints it with ten digits);
        // so do we, for nanosecond files where it fits.
        pcap_file::TsResolution::NanoSecond => Timestamp {
            secs: i64::from(ts_sec),
            nanos: ts_frac,
        },
        pcap_file::TsResolution::MicroSecond => {
            let nanos = u64::from(ts_frac) * 1000;
            Timestamp {
                secs: i64::from(ts_sec) + (nanos / 1_000_000_000) as i64,
                nanos: (nanos % 1_000_000_000) as u32,
            }
        }
    };
    let (resolution, per_sec) = match header.ts_resolution {
        pcap_file::TsResolution::NanoSecond => (9, 1_000_000_000),
        pcap_file::TsResolution::MicroSecond => (6, 1_000_000),
    };
    Ok(Step::Frame(Found {
        consumed: 16 + incl_len as usize,
        data: 16..16 + incl_len as usize,
        timestamp: Some(timestamp),
        link_type,
        interface_id: 0,
        orig_len,
        kind: FrameKind::Packet,
        raw_time: Some(RawTime {
            units: u64::from(ts_sec) * per_sec + u64::from(ts_frac),
            resolution,
            offset_secs: 0,
        }),
        section: 0,
        snaplen: header.snaplen,
        options: 0..0,
        big_endian: header.endianness == Endianness::Big,
    }))
}

/// pcap-file takes its byte orders from `byteorder_slice`; named here once.
mod byteorder_be {
    pub use byteorder_slice::BigEndian as Big;
    pub use byteorder_slice::LittleEndian as Little;
}

fn step_pcapng(
    avail: &[u8],
    section: &mut PcapNgSection,
    frames: u64,
    offset: u64,
) -> Result<Step, CaptureError> {
    if avail.len() < 12 {
        return Ok(Step::NeedMore(12));
    }
    let is_shb = avail.starts_with(&PCAPNG_SHB);
    if is_shb {
        // A new section may switch byte order; its magic says which.
        section.big = avail[8..12] == [0x1a, 0x2b, 0x3c, 0x4d];
    }
    let big = section.big;
    let read32 = |b: &[u8]| {
        if big {
            u32::from_be_bytes([b[0], b[1], b[2], b[3]])
        } else {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        }
    };
    let read16 = |b: &[u8]| {
        if big {
            u16::from_be_bytes([b[0], b[1]])
        } else {
            u16::from_le_bytes([b[0], b[1]])
        }
    };
    let block_len = read32(&avail[4..8]);
    if block_len > MAX_BLOCK_LEN {
        return Err(corrupt(
            frames,
            offset,
            format!("pcapng: block of {block_len} bytes, bigger than maximum of {MAX_BLOCK_LEN}"),
        ));
    }
    if block_len >= 12 && avail.len() < block_len as usize {
        return Ok(Step::NeedMore(block_len as usize));
    }
    if is_shb && avail.len() < 16 {
        return Ok(Step::NeedMore(16));
    }
    if is_shb {
        let block = &avail[..(block_len as usize).max(16).min(avail.len())];
        check_shb_version(block, frames, offset)?;
        if block.len() > 28 {
            check_shb_options(&block[24..block.len() - 4], big).map_err(|len| {
                corrupt(
                    frames,
                    offset,
                    format!("pcapng: Not enough data to handle option of length {len}"),
                )
            })?;
        }
    }
    let framed = if big {
        RawBlock::from_slice::<byteorder_be::Big>(avail)
    } else {
        RawBlock::from_slice::<byteorder_be::Little>(avail)
    };
    let (rem, raw) = match framed {
        Ok(ok) => ok,
        Err(PcapError::IncompleteBuffer) => return Ok(Step::NeedMore(block_len.max(12) as usize)),
        Err(e) => {
            return Err(corrupt(
                frames,
                offset,
                format!("pcapng: {}", describe_pcap_error(&e)),
            ))
        }
    };
    let consumed = avail.len() - rem.len();
    let body: &[u8] = &raw.body;
    let bad = |what: &str| corrupt(frames, offset, format!("pcapng: {what}"));
    match raw.type_ {
        0x0A0D_0D0A => {
            section.interfaces.clear();
            section.index = section.seen;
            section.seen += 1;
            Ok(Step::Skip(consumed))
        }
        PCAPNG_IDB => {
            if body.len() < 8 {
                return Err(bad("interface description block too short"));
            }
            let mut iface = Interface {
                link_type: u32::from(read16(&body[0..2])),
                snaplen: read32(&body[4..8]),
                tsresol: 6,
                tsoffset: 0,
            };
            for (code, value) in OptionWalk::new(&body[8..], big) {
                match (code, value.len()) {
                    (9, 1) => iface.tsresol = value[0],
                    (14, 8) => {
                        let hi = read32(&value[0..4]);
                        let lo = read32(&value[4..8]);
                        iface.tsoffset = if big {
                            ((u64::from(hi) << 32) | u64::from(lo)) as i64
                        } else {
                            ((u64::from(lo) << 32) | u64::from(hi)) as i64
                        };
                    }
                    _ => {}
                }
            }
            if section.interfaces.len() >= MAX_INTERFACES {
                return Err(bad(&format!(
                    "more than {MAX_INTERFACES} interfaces in one section"
                )));
            }
            section.interfaces.push(iface);
            Ok(Step::Skip(consumed))
        }
        PCAPNG_EPB | PCAPNG_PB => {
            if body.len() < 20 {
                return Err(bad("packet block too short"));
            }
            let interface_id = if raw.type_ == PCAPNG_EPB {
                read32(&body[0..4])
            } else {
                u32::from(read16(&body[0..2]))
            };
            let raw_ts = (u64::from(read32(&body[4..8])) << 32) | u64::from(read32(&body[8..12]));
            let cap_len = read32(&body[12..16]);
            let orig_len = read32(&body[16..20]);
            if cap_len as usize > body.len() - 20 {
                return Err(bad(&format!(
                    "captured length {cap_len} runs past its block"
                )));
            }
            let Some(iface) = section.interfaces.get(interface_id as usize).copied() else {
                return Err(bad(&format!(
                    "packet on interface {interface_id}, which was not described"
                )));
            };
            // Options follow the data, padded to 32 bits, up to the trailing length.
            let options_start = (28 + cap_len as usize + 3) & !3;
            let options_end = consumed.saturating_sub(4).max(options_start);
            Ok(Step::Frame(Found {
                consumed,
                data: 28..28 + cap_len as usize,
                timestamp: Some(Timestamp::from_units(raw_ts, iface.tsresol, iface.tsoffset)),
                link_type: iface.link_type,
                interface_id,
                orig_len,
                kind: FrameKind::Packet,
                raw_time: Some(RawTime {
                    units: raw_ts,
                    resolution: iface.tsresol,
                    offset_secs: iface.tsoffset,
                }),
                section: section.index,
                snaplen: iface.snaplen,
                options: options_start.min(consumed)..options_end.min(consumed),
                big_endian: big,
            }))
        }
        PCAPNG_SPB => {
            if body.len() < 4 {
                return Err(bad("simple packet block too short"));
            }
            let Some(iface) = section.interfaces.first().copied() else {
                return Err(bad("simple packet before any interface description"));
            };
            let orig_len = read32(&body[0..4]);
            let room = (body.len() - 4) as u32;
            let cap_len = match iface.snaplen {
                0 => orig_len.min(room),
                snap => orig_len.min(snap).min(room),
            };
            Ok(Step::Frame(Found {
                consumed,
                data: 12..12 + cap_len as usize,
                timestamp: None,
                link_type: iface.link_type,
                interface_id: 0,
                orig_len,
                kind: FrameKind::Packet,
                raw_time: None,
                section: section.index,
                snaplen: iface.snaplen,
                options: 0..0,
                big_endian: big,
            }))
        }
        PCAPNG_CUSTOM_COPY | PCAPNG_CUSTOM_NOCOPY => {
            let pen = if body.len() >= 4 {
                read32(&body[..4])
            } else {
                0
            };
            // tshark's frame length for a custom block is its data after the PEN.
            let data_len = body.len().saturating_sub(4);
            Ok(Step::Frame(Found {
                consumed,
                data: 12..12 + data_len,
                timestamp: None,
                link_type: u32::MAX,
                interface_id: 0,
                orig_len: data_len as u32,
                kind: FrameKind::CustomBlock {
                    pen,
                    copyable: raw.type_ == PCAPNG_CUSTOM_COPY,
                },
                raw_time: None,
                section: section.index,
                snaplen: 0,
                options: 0..0,
                big_endian: big,
            }))
        }
        _ => Ok(Step::Skip(consumed)),
    }
}

/// Walks pcapng options (code, value); stops at opt_endofopt or at the first option that
/// does not fit.
struct OptionWalk<'a> {
    bytes: &'a [u8],
    big: bool,
}

impl<'a> OptionWalk<'a> {
    fn new(bytes: &'a [u8], big: bool) -> Self {
        OptionWalk { bytes, big }
    }
}

impl<'a> Iterator for OptionWalk<'a> {
    type Item = (u16, &'a [u8]);

    fn next(&mut self) -> Option<(u16, &'a [u8])> {
        if self.bytes.len() < 4 {
            return None;
        }
        let (code, len) = if self.big {
            (
                u16::from_be_bytes([self.bytes[0], self.bytes[1]]),
                u16::from_be_bytes([self.bytes[2], self.bytes[3]]),
            )
        } else {
            (
                u16::from_le_bytes([self.bytes[0], self.bytes[1]]),
                u16::from_le_bytes([self.bytes[2], self.bytes[3]]),
            )
        };
        let len = usize::from(len);
        if code == 0 || 4 + len > self.bytes.len() {
            return None;
        }
        let value = &self.bytes[4..4 + len];
        let padded = (4 + len + 3) & !3;
        self.bytes = &self.bytes[padded.min(self.bytes.len())..];
        Some((code, value))
    }
}

/// Checks that every SHB option fits in the block; `Err(len)` names the one that does not.
fn check_shb_options(mut bytes: &[u8], big: bool) -> Result<(), u16> {
    while bytes.len() >= 4 {
        let (code, len) = if big {
            (
                u16::from_be_bytes([bytes[0], bytes[1]]),
                u16::from_be_bytes([bytes[2], bytes[3]]),
            )
        } else {
            (
                u16::from_le_bytes([bytes[0], bytes[1]]),
                u16::from_le_bytes([bytes[2], bytes[3]]),
            )
        };
        if code == 0 {
            return Ok(());
        }
        let padded = (4 + usize::from(len) + 3) & !3;
        if usize::from(len) + 4 > bytes.len() {
            return Err(len);
        }
        bytes = &bytes[padded.min(bytes.len())..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pcap_le(records: &[(&[u8], u32)]) -> Vec<u8> {
        let mut out = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0];
        out.extend_from_slice(&[0; 8]);
        out.extend_from_slice(&65535u32.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        for (i, (data, orig)) in records.iter().enumerate() {
            out.extend_from_slice(&(1_000 + i as u32).to_le_bytes());
            out.extend_from_slice(&250_000u32.to_le_bytes());
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(&orig.to_le_bytes());
            out.extend_from_slice(data);
        }
        out
    }

    #[test]
    fn reads_pcap_records_from_slice_and_stream() {
        let file = pcap_le(&[(&[1, 2, 3], 3), (&[4, 5], 60)]);
        for mut reader in [
            CaptureReader::from_slice(&file).unwrap(),
            CaptureReader::from_read(&file[..]).unwrap(),
        ] {
            let f1 = reader.next_frame().unwrap().unwrap();
            assert_eq!(
                (f1.number, f1.data, f1.orig_len, f1.link_type),
                (1, &[1u8, 2, 3][..], 3, 1)
            );
            assert_eq!(f1.timestamp.unwrap().to_string(), "1000.250000000");
            let f2 = reader.next_frame().unwrap().unwrap();
            assert_eq!(
                (f2.number, f2.data, f2.orig_len, f2.offset),
                (2, &[4u8, 5][..], 60, 43)
            );
            assert!(reader.next_frame().unwrap().is_none());
        }
    }

    #[test]
    fn truncated_record_names_last_frame_and_offset() {
        let file = pcap_le(&[(&[1, 2, 3], 3), (&[4, 5, 6, 7], 4)]);
        let cut = &file[..file.len() - 2];
        let mut reader = CaptureReader::from_slice(cut).unwrap();
        assert!(reader.next_frame().unwrap().is_some());
        match reader.next_frame() {
            Err(CaptureError::Truncated {
                last_frame,
                offset,
                have,
                need,
            }) => assert_eq!((last_frame, offset, have, need), (1, 43, 18, 20)),
            other => panic!("expected truncation, got {other:?}"),
        }
    }

    #[test]
    fn unknown_magic_is_reported_in_hex() {
        let err = CaptureReader::from_slice(b"hello world, this is not a capture")
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "not a pcap or pcapng capture (first bytes: 68 65 6c 6c)"
        );
    }

    #[test]
    fn every_prefix_of_a_capture_errors_or_ends_without_panic() {
        let file = pcap_le(&[(&[1, 2, 3], 3), (&[4, 5, 6, 7], 4)]);
        for cut in 0..file.len() {
            if let Ok(mut reader) = CaptureReader::from_slice(&file[..cut]) {
                for _ in 0..4 {
                    match reader.next_frame() {
                        Ok(Some(_)) => {}
                        _ => break,
                    }
                }
            }
        }
    }

    /// Found by the `capture` fuzz target: a section header block cut before its version
    /// field (13 bytes) made a slice bound panic.
    #[test]
    fn regression_fuzz_short_section_header() {
        let bytes = [0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 0, 1, 0, 0, 0x0a];
        assert!(CaptureReader::from_slice(&bytes).is_err());
        for cut in 0..bytes.len() {
            let _ = CaptureReader::from_slice(&bytes[..cut]);
        }
    }

    #[test]
    fn only_one_gzip_layer_is_unwrapped() {
        use std::io::Write;
        let file = pcap_le(&[(&[1, 2, 3], 3)]);
        let gzip = |bytes: &[u8]| {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            encoder.write_all(bytes).unwrap();
            encoder.finish().unwrap()
        };
        let once = gzip(&file);
        let mut reader = CaptureReader::from_slice(&once).unwrap();
        assert_eq!(reader.next_frame().unwrap().unwrap().data, &[1, 2, 3]);
        let twice = gzip(&once);
        assert!(matches!(
            CaptureReader::from_slice(&twice),
            Err(CaptureError::UnknownFormat { .. })
        ));
        assert!(matches!(
            CaptureReader::from_read(&twice[..]),
            Err(CaptureError::UnknownFormat { .. })
        ));
    }

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
