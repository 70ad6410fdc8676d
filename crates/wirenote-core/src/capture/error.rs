//! Why reading a capture stopped, and the reasons a record is called corrupt.
//!
//! Every error names where reading stopped (last good frame, byte offset) and keeps the
//! `io::Error` it came from, so that a caller can tell a truncated file from a damaged
//! one and a damaged one from a failing disk.

use std::io;

use pcap_file::PcapError;

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
    /// True when the capture itself is damaged (cut short or corrupt) after frames that
    /// were read: every readable frame is there, and the run is "damaged", not failed.
    /// A read error ([`CaptureError::Io`]: a failing disk, a broken gzip stream) is no
    /// damage of the capture's records but a failure to read it, whatever came before.
    pub fn is_partial(&self) -> bool {
        matches!(
            self,
            CaptureError::Truncated { .. } | CaptureError::Corrupt { .. }
        )
    }
}

/// A corrupt-record error at `offset`, after `last_frame`.
pub(super) fn corrupt(last_frame: u64, offset: u64, reason: String) -> CaptureError {
    CaptureError::Corrupt {
        last_frame,
        offset,
        reason,
    }
}

/// The first bytes of an unknown file, in hex, for the error message.
pub(super) fn hex_prefix(bytes: &[u8]) -> String {
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

/// `pcap-file`'s framing error in words tshark would use.
pub(super) fn describe_pcap_error(e: &PcapError) -> String {
    match e {
        PcapError::IncompleteBuffer => "a field runs past the end of its block".to_string(),
        PcapError::InvalidField(what) => (*what).to_string(),
        other => other.to_string(),
    }
}
