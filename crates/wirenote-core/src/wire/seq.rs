//! Sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4).

use std::cmp::Ordering;

/// A TCP sequence number. Comparisons wrap: `a < b` means `b` is ahead of `a` by less than 2^31.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// `self + n`, wrapping.
    pub fn wrapping_add(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n))
    }

    /// Signed distance from `other` to `self`.
    pub fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// `self > other` in sequence space (tshark's GT_SEQ).
    pub fn gt(self, other: SeqNumber) -> bool {
        self.diff(other) > 0
    }

    /// `self >= other` in sequence space (tshark's GE_SEQ).
    pub fn ge(self, other: SeqNumber) -> bool {
        self.diff(other) >= 0
    }

    /// `self < other` in sequence space (tshark's LT_SEQ).
    pub fn lt(self, other: SeqNumber) -> bool {
        self.diff(other) < 0
    }

    /// `self <= other` in sequence space (tshark's LE_SEQ).
    pub fn le(self, other: SeqNumber) -> bool {
        self.diff(other) <= 0
    }
}

impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.diff(*other).cmp(&0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comparisons_wrap() {
        let near_max = SeqNumber(u32::MAX - 10);
        let wrapped = near_max.wrapping_add(20);
        assert_eq!(wrapped, SeqNumber(9));
        assert!(wrapped.gt(near_max));
        assert!(near_max.lt(wrapped));
        assert!(wrapped > near_max);
        assert_eq!(wrapped.diff(near_max), 20);
        assert!(SeqNumber(5).ge(SeqNumber(5)) && SeqNumber(5).le(SeqNumber(5)));
    }
}
