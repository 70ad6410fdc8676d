//! pcapng blocks (draft-ietf-opsawg-pcapng): section headers (which may switch byte
//! order), interface descriptions (link type, snap length, `if_tsresol`, `if_tsoffset`),
//! enhanced, simple and obsolete packet blocks, and custom blocks, which tshark numbers
//! as frames too.

use pcap_file::pcapng::RawBlock;
use pcap_file::PcapError;

use crate::capture::error::{corrupt, describe_pcap_error, CaptureError};
use crate::capture::frame::{Found, FrameKind, RawTime, Step, Timestamp};
use crate::capture::options::{check_shb_options, OptionWalk};

/// Interfaces one pcapng section may declare (interface ids are 32-bit, but no real
/// capture comes near this; the cap keeps memory bounded).
const MAX_INTERFACES: usize = 65_536;

/// A larger pcapng block than this is treated as corruption rather than buffered.
const MAX_BLOCK_LEN: u32 = 16 * 1024 * 1024;

/// The first bytes of a section header block (its type, the same in either byte order).
pub(super) const PCAPNG_SHB: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
const PCAPNG_CUSTOM_COPY: u32 = 0x0000_0BAD;
const PCAPNG_CUSTOM_NOCOPY: u32 = 0x4000_0BAD;
const PCAPNG_EPB: u32 = 6;
const PCAPNG_SPB: u32 = 3;
const PCAPNG_PB: u32 = 2;
const PCAPNG_IDB: u32 = 1;

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
pub(super) struct PcapNgSection {
    big: bool,
    interfaces: Vec<Interface>,
    /// Sections seen so far (the current one's index is `seen - 1`).
    seen: u32,
    index: u32,
}

/// pcap-file takes its byte orders from `byteorder_slice`; named here once.
mod byteorder_be {
    pub use byteorder_slice::BigEndian as Big;
    pub use byteorder_slice::LittleEndian as Little;
}

#[inline]
fn read32(big: bool, b: &[u8]) -> u32 {
    if big {
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    } else {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

#[inline]
fn read16(big: bool, b: &[u8]) -> u16 {
    if big {
        u16::from_be_bytes([b[0], b[1]])
    } else {
        u16::from_le_bytes([b[0], b[1]])
    }
}

/// One framed block: its body and where it sits, for the per-type parsers and their
/// errors.
struct Block<'b> {
    body: &'b [u8],
    consumed: usize,
    big: bool,
    frames: u64,
    offset: u64,
}

impl Block<'_> {
    fn bad(&self, what: &str) -> CaptureError {
        corrupt(self.frames, self.offset, format!("pcapng: {what}"))
    }
}

/// One block at the start of `avail` (`frames` read so far, at byte `offset`): checks
/// its length, frames it with `pcap-file`, then hands it to the parser for its type.
pub(super) fn step_pcapng(
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
    let block_len = read32(big, &avail[4..8]);
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
        check_section_header(avail, block_len, big, frames, offset)?;
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
    let block = Block {
        body: &raw.body,
        consumed: avail.len() - rem.len(),
        big,
        frames,
        offset,
    };
    match raw.type_ {
        0x0A0D_0D0A => {
            section.interfaces.clear();
            section.index = section.seen;
            section.seen += 1;
            Ok(Step::Skip(block.consumed))
        }
        PCAPNG_IDB => {
            let iface = interface_description(&block)?;
            if section.interfaces.len() >= MAX_INTERFACES {
                return Err(block.bad(&format!(
                    "more than {MAX_INTERFACES} interfaces in one section"
                )));
            }
            section.interfaces.push(iface);
            Ok(Step::Skip(block.consumed))
        }
        PCAPNG_EPB | PCAPNG_PB => packet_block(&block, raw.type_ == PCAPNG_EPB, section),
        PCAPNG_SPB => simple_packet_block(&block, section),
        PCAPNG_CUSTOM_COPY | PCAPNG_CUSTOM_NOCOPY => Ok(custom_block(
            &block,
            raw.type_ == PCAPNG_CUSTOM_COPY,
            section,
        )),
        _ => Ok(Step::Skip(block.consumed)),
    }
}

/// A section header's version and options, checked before `pcap-file` frames the block
/// (it would accept what tshark rejects).
fn check_section_header(
    avail: &[u8],
    block_len: u32,
    big: bool,
    frames: u64,
    offset: u64,
) -> Result<(), CaptureError> {
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
    Ok(())
}

/// An interface description block: link type, snap length, and the `if_tsresol` and
/// `if_tsoffset` options that every later packet's timestamp needs.
fn interface_description(block: &Block<'_>) -> Result<Interface, CaptureError> {
    let (body, big) = (block.body, block.big);
    if body.len() < 8 {
        return Err(block.bad("interface description block too short"));
    }
    let mut iface = Interface {
        link_type: u32::from(read16(big, &body[0..2])),
        snaplen: read32(big, &body[4..8]),
        tsresol: 6,
        tsoffset: 0,
    };
    for (code, value) in OptionWalk::new(&body[8..], big) {
        match (code, value.len()) {
            (9, 1) => iface.tsresol = value[0],
            (14, 8) => {
                let hi = read32(big, &value[0..4]);
                let lo = read32(big, &value[4..8]);
                iface.tsoffset = if big {
                    ((u64::from(hi) << 32) | u64::from(lo)) as i64
                } else {
                    ((u64::from(lo) << 32) | u64::from(hi)) as i64
                };
            }
            _ => {}
        }
    }
    Ok(iface)
}

/// An enhanced packet block (`enhanced`) or an obsolete packet block: interface,
/// timestamp, lengths, data and options.
fn packet_block(
    block: &Block<'_>,
    enhanced: bool,
    section: &PcapNgSection,
) -> Result<Step, CaptureError> {
    let (body, big, consumed) = (block.body, block.big, block.consumed);
    if body.len() < 20 {
        return Err(block.bad("packet block too short"));
    }
    let interface_id = if enhanced {
        read32(big, &body[0..4])
    } else {
        u32::from(read16(big, &body[0..2]))
    };
    let raw_ts = (u64::from(read32(big, &body[4..8])) << 32) | u64::from(read32(big, &body[8..12]));
    let cap_len = read32(big, &body[12..16]);
    let orig_len = read32(big, &body[16..20]);
    if cap_len as usize > body.len() - 20 {
        return Err(block.bad(&format!("captured length {cap_len} runs past its block")));
    }
    let Some(iface) = section.interfaces.get(interface_id as usize).copied() else {
        return Err(block.bad(&format!(
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

/// A simple packet block: no timestamp, always the first interface, captured length
/// from the original length and the snap length.
fn simple_packet_block(block: &Block<'_>, section: &PcapNgSection) -> Result<Step, CaptureError> {
    let body = block.body;
    if body.len() < 4 {
        return Err(block.bad("simple packet block too short"));
    }
    let Some(iface) = section.interfaces.first().copied() else {
        return Err(block.bad("simple packet before any interface description"));
    };
    let orig_len = read32(block.big, &body[0..4]);
    let room = (body.len() - 4) as u32;
    let cap_len = match iface.snaplen {
        0 => orig_len.min(room),
        snap => orig_len.min(snap).min(room),
    };
    Ok(Step::Frame(Found {
        consumed: block.consumed,
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
        big_endian: block.big,
    }))
}

/// A custom block, a frame of its own for tshark: its PEN and data.
fn custom_block(block: &Block<'_>, copyable: bool, section: &PcapNgSection) -> Step {
    let body = block.body;
    let pen = if body.len() >= 4 {
        read32(block.big, &body[..4])
    } else {
        0
    };
    // tshark's frame length for a custom block is its data after the PEN.
    let data_len = body.len().saturating_sub(4);
    Step::Frame(Found {
        consumed: block.consumed,
        data: 12..12 + data_len,
        timestamp: None,
        link_type: u32::MAX,
        interface_id: 0,
        orig_len: data_len as u32,
        kind: FrameKind::CustomBlock { pen, copyable },
        raw_time: None,
        section: section.index,
        snaplen: 0,
        options: 0..0,
        big_endian: block.big,
    })
}

/// A section header's byte-order magic and version (only 1.x is read, as by tshark).
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
