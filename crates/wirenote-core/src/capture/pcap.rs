//! Classic pcap records (draft-ietf-opsawg-pcap): a 16-byte header, then the bytes.

use pcap_file::pcap::PcapHeader;
use pcap_file::Endianness;

use crate::capture::error::{corrupt, CaptureError};
use crate::capture::frame::{Found, FrameKind, RawTime, Step, Timestamp};

/// Largest record tshark accepts before it calls a file corrupt (WTAP_MAX_PACKET_SIZE_STANDARD).
pub const MAX_RECORD_LEN: u32 = 262_144;

/// One record at the start of `avail` (`frames` read so far, at byte `offset`).
pub(super) fn step_pcap(
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
