//! pcapng options: the (code, length, value) lists that end packet and header blocks.
//!
//! A leaf of its own because both the frame (its comments) and the pcapng block parser
//! walk them.

/// Walks pcapng options (code, value); stops at opt_endofopt or at the first option that
/// does not fit.
pub(super) struct OptionWalk<'a> {
    bytes: &'a [u8],
    big: bool,
}

impl<'a> OptionWalk<'a> {
    pub(super) fn new(bytes: &'a [u8], big: bool) -> Self {
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
pub(super) fn check_shb_options(mut bytes: &[u8], big: bool) -> Result<(), u16> {
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
