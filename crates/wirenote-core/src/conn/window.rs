//! Window scaling as Wireshark tracks it per side (RFC 7323 §2).
//!
//! A leaf of its own because both the tracker (which learns the shift from SYNs) and the
//! sequence analysis (which needs the peer's shift for "window full") read it; neither
//! has to know the other for it.

/// Window-scale knowledge of one side, as Wireshark keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowScale {
    /// No SYN seen yet: windows are shown unscaled.
    Unknown,
    /// The handshake showed scaling is not in use.
    NotUsed,
    /// Shift count offered in this side's SYN.
    Shift(u8),
}

impl WindowScale {
    /// The shift to apply to a window of a non-SYN segment (0 unless a shift is in use).
    #[inline]
    pub fn shift(self) -> u32 {
        match self {
            WindowScale::Shift(s) => u32::from(s),
            _ => 0,
        }
    }
}
