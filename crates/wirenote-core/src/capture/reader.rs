//! The pull reader: one record at a time from a byte slice (borrowed in place), from any
//! `Read` through a small refillable buffer, or from blocks of the file read elsewhere
//! ([`BlockSource`], borrowed in place too). Memory use is one record (or one block),
//! never the file.

use std::io::{self, Read};

use pcap_file::pcap::PcapHeader;
use pcap_file::Endianness;

use crate::capture::error::{hex_prefix, CaptureError};
use crate::capture::frame::{Format, Frame, Step};
use crate::capture::gzip;
use crate::capture::pcap::step_pcap;
use crate::capture::pcapng::{step_pcapng, PcapNgSection, PCAPNG_SHB};

/// Room a [`Block`] leaves before its bytes, where the reader puts the start of a record
/// that the block before it cut: a record longer than this (rare: snap lengths are
/// 262,144 bytes at most) is put together by copying instead.
pub const BLOCK_HEADROOM: usize = 64 * 1024;

/// A block of a capture file's bytes, `buf[start..]`, with room before `start` (see
/// [`BLOCK_HEADROOM`]).
#[derive(Debug, Default)]
pub struct Block {
    /// The buffer.
    pub buf: Vec<u8>,
    /// Where the block's bytes start in `buf`.
    pub start: usize,
}

/// Consecutive blocks of a capture file, read elsewhere (say, ahead on another thread):
/// the reader parses records in place in them, so that the file's bytes are copied once,
/// out of the page cache, and not again into a buffer of the reader's.
pub trait BlockSource {
    /// The next block, `None` at the end of the file, or the error that stopped reading
    /// there (every byte before it has been delivered).
    fn next_block(&mut self) -> io::Result<Option<Block>>;
    /// Hands back a block the reader is done with, for reuse.
    fn recycle(&mut self, block: Block);
}

/// A capture in memory, handed out in blocks of `size` bytes with `headroom` bytes
/// (of a filler no record has) before each: how the tests and the `capture` fuzz target
/// check that a file read in blocks of any size yields what the whole file yields.
#[derive(Debug)]
pub struct SliceBlocks<'a> {
    rest: &'a [u8],
    size: usize,
    headroom: usize,
}

impl<'a> SliceBlocks<'a> {
    /// `data` in blocks of `size` bytes (at least one).
    pub fn new(data: &'a [u8], size: usize, headroom: usize) -> Self {
        SliceBlocks {
            rest: data,
            size: size.max(1),
            headroom,
        }
    }
}

impl BlockSource for SliceBlocks<'_> {
    fn next_block(&mut self) -> io::Result<Option<Block>> {
        if self.rest.is_empty() {
            return Ok(None);
        }
        let (bytes, rest) = self.rest.split_at(self.size.min(self.rest.len()));
        self.rest = rest;
        let mut buf = vec![0xee; self.headroom];
        buf.extend_from_slice(bytes);
        let start = self.headroom;
        Ok(Some(Block { buf, start }))
    }

    fn recycle(&mut self, _block: Block) {}
}

/// Where the bytes come from.
enum Source<'s> {
    /// The whole capture in memory: records are borrowed in place.
    Slice { data: &'s [u8], pos: usize },
    /// Blocks read elsewhere: records are borrowed in place, a record cut by the end of a
    /// block is finished in the next block's headroom. The bytes are `buf[start..]`.
    Blocks {
        blocks: Box<dyn BlockSource + 's>,
        buf: Vec<u8>,
        start: usize,
        eof: bool,
    },
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
            Source::Blocks { buf, start, .. } => &buf[*start..],
            Source::Stream {
                buf, start, end, ..
            } => &buf[*start..*end],
        }
    }

    fn advance(&mut self, n: usize) {
        match self {
            Source::Slice { pos, .. } => *pos += n,
            Source::Blocks { start, .. } | Source::Stream { start, .. } => *start += n,
        }
    }

    /// Makes at least `want` bytes available if the source has them. Returns false at EOF.
    fn fill(&mut self, want: usize) -> io::Result<bool> {
        match self {
            Source::Slice { .. } => Ok(false),
            Source::Blocks {
                blocks,
                buf,
                start,
                eof,
            } => {
                let before = buf.len() - *start;
                while !*eof && buf.len() - *start < want.max(before + 1) {
                    match blocks.next_block()? {
                        None => *eof = true,
                        Some(next) => join_block(blocks.as_mut(), buf, start, next),
                    }
                }
                Ok(buf.len() - *start > before)
            }
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
                        // A compressed capture cut short ("incomplete deflate stream") is
                        // a truncated capture: its data simply ends here.
                        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                            *eof = true;
                            break;
                        }
                        Err(e) => return Err(e),
                    }
                }
                Ok(*end > before)
            }
        }
    }
}

/// Makes `next` the buffer, with what is left of `buf` from `start` put in front of its
/// bytes: in its headroom if it fits, else by copying it after what is left.
fn join_block(blocks: &mut dyn BlockSource, buf: &mut Vec<u8>, start: &mut usize, next: Block) {
    let rest = buf.len() - *start;
    if rest <= next.start {
        let mut next = next;
        let front = next.start - rest;
        next.buf[front..next.start].copy_from_slice(&buf[*start..]);
        let done = std::mem::replace(buf, next.buf);
        *start = front;
        blocks.recycle(Block {
            buf: done,
            start: 0,
        });
    } else {
        buf.drain(..*start);
        buf.extend_from_slice(&next.buf[next.start..]);
        *start = 0;
        blocks.recycle(next);
    }
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

impl<'s> CaptureReader<'s> {
    /// Reads a capture held in memory. A gzip-compressed
    /// capture is decompressed as a stream.
    pub fn from_slice(data: &'s [u8]) -> Result<Self, CaptureError> {
        if gzip::is_gzip(data) {
            return Self::stream(gzip::decoder(data));
        }
        Self::open(Source::Slice { data, pos: 0 })
    }

    /// Reads a capture from a stream (stdin, a socket, a decompressor). gzip is detected by
    /// its magic number and decompressed on the fly.
    pub fn from_read<R: Read + 's>(reader: R) -> Result<Self, CaptureError> {
        Self::from_boxed(Box::new(reader))
    }

    /// Reads a capture from blocks of its file (see [`BlockSource`]). A gzip-compressed
    /// capture is decompressed as a stream, reading the blocks through a buffer.
    pub fn from_blocks(mut blocks: impl BlockSource + 's) -> Result<Self, CaptureError> {
        let io_error = |source| CaptureError::Io {
            last_frame: 0,
            offset: 0,
            source,
        };
        let first = blocks.next_block().map_err(io_error)?;
        let (first, eof) = match first {
            Some(block) => (block, false),
            None => (Block::default(), true),
        };
        // A compressed capture, or a first block too short to tell, goes as a stream.
        let head = &first.buf[first.start..];
        if gzip::is_gzip(head) || (!eof && head.len() < 2) {
            return Self::from_boxed(Box::new(BlockReader {
                blocks,
                block: first,
            }));
        }
        Self::open(Source::Blocks {
            blocks: Box::new(blocks),
            buf: first.buf,
            start: first.start,
            eof,
        })
    }

    /// `from_read` without generics, so that a gzip layer does not nest types forever.
    fn from_boxed(reader: Box<dyn Read + 's>) -> Result<Self, CaptureError> {
        let stream = gzip::unwrap_one_layer(reader).map_err(|source| CaptureError::Io {
            last_frame: 0,
            offset: 0,
            source,
        })?;
        Self::stream(stream)
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
            Source::Blocks { buf, start, .. } | Source::Stream { buf, start, .. } => {
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

/// Blocks read as a stream (for a compressed capture, which is decoded from a `Read`).
struct BlockReader<B> {
    blocks: B,
    /// The block being read, from `start` on.
    block: Block,
}

impl<B: BlockSource> Read for BlockReader<B> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.block.start == self.block.buf.len() {
            match self.blocks.next_block()? {
                Some(next) => {
                    let done = std::mem::replace(&mut self.block, next);
                    self.blocks.recycle(done);
                }
                None => return Ok(0),
            }
        }
        let bytes = &self.block.buf[self.block.start..];
        let n = out.len().min(bytes.len());
        out[..n].copy_from_slice(&bytes[..n]);
        self.block.start += n;
        Ok(n)
    }
}

/// Reads until `want` bytes are available or the source ends.
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::error::CaptureError;

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

    /// Every frame (number, offset, bytes) and how reading ended.
    fn frames_of(mut reader: CaptureReader<'_>) -> (Vec<(u64, u64, Vec<u8>)>, String) {
        let mut frames = Vec::new();
        loop {
            match reader.next_frame() {
                Ok(Some(f)) => frames.push((f.number, f.offset, f.data.to_vec())),
                Ok(None) => return (frames, "end".into()),
                Err(e) => return (frames, e.to_string()),
            }
        }
    }

    #[test]
    fn blocks_of_any_size_read_as_the_whole_file() {
        let big = vec![7u8; BLOCK_HEADROOM + 5_000];
        let file = pcap_le(&[
            (&[1, 2, 3], 3),
            (&big, 80_000),
            (&[4; 1514], 1514),
            (&[5], 60),
        ]);
        for cut_at in [file.len(), file.len() - 1, file.len() - 10, 30, 10] {
            let file = &file[..cut_at];
            let whole = match CaptureReader::from_slice(file) {
                Ok(reader) => frames_of(reader),
                Err(e) => (Vec::new(), e.to_string()),
            };
            for size in [1, 7, 100, 4096, BLOCK_HEADROOM + 1, 1 << 20] {
                for headroom in [0, 16, BLOCK_HEADROOM] {
                    let cut = SliceBlocks::new(file, size, headroom);
                    let read = match CaptureReader::from_blocks(cut) {
                        Ok(reader) => frames_of(reader),
                        Err(e) => (Vec::new(), e.to_string()),
                    };
                    assert!(
                        read == whole,
                        "{cut_at} bytes in blocks of {size}, {headroom} room"
                    );
                }
            }
        }
        // A compressed capture is decoded from its blocks as from its file.
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(&file).unwrap();
        let gz = encoder.finish().unwrap();
        let whole = frames_of(CaptureReader::from_slice(&gz).unwrap());
        for size in [1, 100, 1 << 20] {
            let cut = SliceBlocks::new(&gz, size, 16);
            assert!(frames_of(CaptureReader::from_blocks(cut).unwrap()) == whole);
        }
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
}
