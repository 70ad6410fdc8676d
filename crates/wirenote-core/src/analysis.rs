//! TCP sequence analysis: Wireshark's `tcp.analysis.*` flags.
//!
//! Placeholder state until the full analysis lands; see `analyze`.

use crate::conn::Flow;
use crate::seq::SeqNumber;

/// What the analysis needs of a segment.
#[derive(Debug, Clone, Copy)]
pub struct Segment {
    /// Raw sequence number.
    pub seq: SeqNumber,
    /// Raw acknowledgment number.
    pub ack: SeqNumber,
    /// Flag bits.
    pub flags: u16,
    /// Payload length.
    pub len: u32,
    /// Scaled window.
    pub window: u32,
    /// Raw window field.
    pub raw_window: u16,
    /// Capture time, seconds.
    pub time: f64,
    /// Frame number.
    pub frame: u64,
}

/// Per-direction analysis state.
#[derive(Debug, Clone, Default)]
pub struct FlowAnalysis {}

/// Analysis findings for one segment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Analysis {
    /// The SYN reuses the ports of an earlier connection.
    pub reused_ports: bool,
}

/// Updates both directions' state with `seg` (sent on `fwd`) and returns the findings.
pub fn analyze(_fwd: &mut Flow, _rev: &mut Flow, _seg: &Segment, reused: bool) -> Analysis {
    Analysis {
        reused_ports: reused,
    }
}

impl Analysis {
    /// Writes the bracketed prefixes tshark puts before the TCP summary in Info.
    pub fn write_info_prefix(&self, _out: &mut String) {}
}
