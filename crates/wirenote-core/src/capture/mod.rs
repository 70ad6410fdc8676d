//! Capture file reading: classic pcap, pcapng and gzip-compressed forms of both.
//!
//! Read, at least: the pcap format (draft-ietf-opsawg-pcap) and the pcapng format
//! (draft-ietf-opsawg-pcapng), sections on the Section Header, Interface Description,
//! Enhanced/Simple Packet and Custom blocks.
//!
//! The reader pulls one record at a time, either straight from a byte slice (a
//! capture already in memory: nothing is copied) or from any [`Read`](std::io::Read) source through a small
//! refillable buffer (stdin, a gzip stream). Memory use is one record, never the file.
//!
//! Record framing is done by the `pcap-file` crate; this module adds what tshark does on
//! top of it and that the crate leaves out: per-interface link types and timestamp
//! resolutions, `if_tsoffset`, section changes with a new byte order, the 256 KiB record
//! limit that tells a corrupt file from a large packet, and errors that carry the frame
//! number and the byte offset where reading stopped.

mod error;
mod frame;
mod gzip;
mod options;
mod pcap;
mod pcapng;
mod reader;

pub use error::CaptureError;
pub use frame::{Format, Frame, FrameKind, RawTime, Timestamp};
pub use pcap::MAX_RECORD_LEN;
pub use reader::{Block, BlockSource, CaptureReader, SliceBlocks, BLOCK_HEADROOM};
