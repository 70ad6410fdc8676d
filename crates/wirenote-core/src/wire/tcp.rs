//! A zero-copy view of a TCP header and its options.
//!
//! Read, at least: RFC 9293 §3.1 (header format), RFC 7323 (window scale, timestamps),
//! RFC 2018 (SACK), RFC 3540/9768 (the AE bit, formerly NS).

mod field {
    pub type Field = std::ops::Range<usize>;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    pub const FLAGS: Field = 12..14;
    pub const WIN_SIZE: Field = 14..16;
    pub const URGENT: Field = 18..20;
    pub const OPTIONS_START: usize = 20;
}

/// The minimum TCP header length.
pub const HEADER_LEN: usize = field::OPTIONS_START;

/// The flag bits of a TCP header, as they sit in the low 12 bits of bytes 12..14.
///
/// A `Copy` newtype rather than a bare `u16` so that a flag test reads as what it asks
/// (`flags.contains(TcpFlags::SYN)`) and a flag set cannot be mixed up with a port or a
/// window. It costs nothing: every operation is a mask on the same `u16`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct TcpFlags(u16);

impl TcpFlags {
    /// FIN.
    pub const FIN: TcpFlags = TcpFlags(0x001);
    /// SYN.
    pub const SYN: TcpFlags = TcpFlags(0x002);
    /// RST.
    pub const RST: TcpFlags = TcpFlags(0x004);
    /// PSH.
    pub const PSH: TcpFlags = TcpFlags(0x008);
    /// ACK.
    pub const ACK: TcpFlags = TcpFlags(0x010);
    /// URG.
    pub const URG: TcpFlags = TcpFlags(0x020);
    /// ECE.
    pub const ECE: TcpFlags = TcpFlags(0x040);
    /// CWR.
    pub const CWR: TcpFlags = TcpFlags(0x080);
    /// AE (accurate ECN, RFC 9768); the bit RFC 3540 called NS.
    pub const AE: TcpFlags = TcpFlags(0x100);
    /// NS (ECN nonce, RFC 3540, historic): the same bit as [`TcpFlags::AE`].
    pub const NS: TcpFlags = TcpFlags::AE;
    /// The three reserved bits.
    pub const RESERVED: TcpFlags = TcpFlags(0xe00);

    /// No flag set.
    #[inline]
    pub const fn empty() -> TcpFlags {
        TcpFlags(0)
    }

    /// The flags of raw bits (as a record or a header stores them); every bit is kept.
    #[inline]
    pub const fn from_bits(bits: u16) -> TcpFlags {
        TcpFlags(bits)
    }

    /// The raw bits.
    #[inline]
    pub const fn bits(self) -> u16 {
        self.0
    }

    /// Whether every flag of `other` is set.
    #[inline]
    pub const fn contains(self, other: TcpFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any flag of `other` is set.
    #[inline]
    pub const fn intersects(self, other: TcpFlags) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether no flag is set.
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The flags set in either (usable in `const` items, where `|` is not).
    #[inline]
    pub const fn union(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 | other.0)
    }

    /// The flags set in both: `flags & (SYN | ACK) == SYN` asks "SYN without ACK".
    #[inline]
    pub const fn intersection(self, other: TcpFlags) -> TcpFlags {
        TcpFlags(self.0 & other.0)
    }
}

impl std::ops::BitOr for TcpFlags {
    type Output = TcpFlags;
    #[inline]
    fn bitor(self, other: TcpFlags) -> TcpFlags {
        self.union(other)
    }
}

impl std::ops::BitOrAssign for TcpFlags {
    #[inline]
    fn bitor_assign(&mut self, other: TcpFlags) {
        self.0 |= other.0;
    }
}

impl std::ops::BitAnd for TcpFlags {
    type Output = TcpFlags;
    #[inline]
    fn bitand(self, other: TcpFlags) -> TcpFlags {
        self.intersection(other)
    }
}

impl std::fmt::LowerHex for TcpFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::LowerHex::fmt(&self.0, f)
    }
}

/// Why a TCP header could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderError {
    /// Fewer than 20 bytes were captured.
    Truncated {
        /// Bytes present.
        len: usize,
    },
    /// The data offset is below 5 words (tshark: "Bogus TCP header length").
    BogusHeaderLength {
        /// The header length the data offset gives, in bytes.
        header_len: usize,
    },
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderError::Truncated { len } => {
                write!(f, "TCP header needs 20 bytes, {len} captured")
            }
            HeaderError::BogusHeaderLength { header_len } => {
                write!(
                    f,
                    "bogus TCP header length ({header_len}, must be at least 20)"
                )
            }
        }
    }
}

/// A read-only view of a TCP header over captured bytes. After [`Header::new_checked`]
/// no accessor can panic.
#[derive(Debug, Clone, Copy)]
pub struct Header<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Header<T> {
    /// Checks that the fixed header is present and the data offset is sane.
    pub fn new_checked(buffer: T) -> Result<Self, HeaderError> {
        let len = buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(HeaderError::Truncated { len });
        }
        let header = Header { buffer };
        if header.header_len() < HEADER_LEN {
            return Err(HeaderError::BogusHeaderLength {
                header_len: header.header_len(),
            });
        }
        Ok(header)
    }

    fn u16_at(&self, f: field::Field) -> u16 {
        let b = &self.buffer.as_ref()[f];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn u32_at(&self, f: field::Field) -> u32 {
        let b = &self.buffer.as_ref()[f];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    /// Source port.
    pub fn source_port(&self) -> u16 {
        self.u16_at(field::SRC_PORT)
    }
    /// Destination port.
    pub fn destination_port(&self) -> u16 {
        self.u16_at(field::DST_PORT)
    }
    /// Raw sequence number.
    pub fn seq_number(&self) -> u32 {
        self.u32_at(field::SEQ_NUM)
    }
    /// Raw acknowledgment number.
    pub fn ack_number(&self) -> u32 {
        self.u32_at(field::ACK_NUM)
    }
    /// Header length in bytes, from the data offset.
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[12] >> 4) * 4
    }
    /// The 12 flag bits.
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.u16_at(field::FLAGS) & 0x0fff)
    }
    /// Raw window field (before scaling).
    pub fn window(&self) -> u16 {
        self.u16_at(field::WIN_SIZE)
    }
    /// Urgent pointer.
    pub fn urgent_pointer(&self) -> u16 {
        self.u16_at(field::URGENT)
    }
    /// Option bytes that were captured (may be cut short by the snap length).
    pub fn options(&self) -> &[u8] {
        let bytes = self.buffer.as_ref();
        let end = self.header_len().min(bytes.len());
        &bytes[field::OPTIONS_START..end]
    }
    /// Whether the whole header (with options) was captured.
    pub fn is_complete(&self) -> bool {
        self.buffer.as_ref().len() >= self.header_len()
    }
    /// Captured payload bytes after the header.
    pub fn payload(&self) -> &[u8] {
        let bytes = self.buffer.as_ref();
        &bytes[self.header_len().min(bytes.len())..]
    }
}

/// One TCP option, as far as wirenote reads them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption<'a> {
    /// End of option list.
    End,
    /// No-operation padding.
    Nop,
    /// Maximum segment size.
    Mss(u16),
    /// Window scale shift count.
    WindowScale(u8),
    /// SACK permitted.
    SackPermitted,
    /// SACK blocks (left, right edges), raw sequence numbers.
    Sack(&'a [u8]),
    /// Timestamps: value and echo reply.
    Timestamps(u32, u32),
    /// Any other kind, with its data.
    Unknown(u8, &'a [u8]),
    /// An option whose length runs past the header, or is below 2.
    Malformed(u8),
}

/// Iterates over TCP options; stops after End or a malformed option.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    bytes: &'a [u8],
    done: bool,
}

impl<'a> Options<'a> {
    /// Walks the given option bytes.
    pub fn new(bytes: &'a [u8]) -> Self {
        Options { bytes, done: false }
    }
}

impl<'a> Iterator for Options<'a> {
    type Item = TcpOption<'a>;

    fn next(&mut self) -> Option<TcpOption<'a>> {
        if self.done || self.bytes.is_empty() {
            return None;
        }
        let kind = self.bytes[0];
        match kind {
            0 => {
                self.done = true;
                return Some(TcpOption::End);
            }
            1 => {
                self.bytes = &self.bytes[1..];
                return Some(TcpOption::Nop);
            }
            _ => {}
        }
        let len = match self.bytes.get(1) {
            Some(&len) if len >= 2 && usize::from(len) <= self.bytes.len() => usize::from(len),
            _ => {
                self.done = true;
                return Some(TcpOption::Malformed(kind));
            }
        };
        let data = &self.bytes[2..len];
        self.bytes = &self.bytes[len..];
        let option = match (kind, data.len()) {
            (2, 2) => TcpOption::Mss(u16::from_be_bytes([data[0], data[1]])),
            (3, 1) => TcpOption::WindowScale(data[0]),
            (4, 0) => TcpOption::SackPermitted,
            (5, n) if n % 8 == 0 => TcpOption::Sack(data),
            (8, 8) => TcpOption::Timestamps(
                u32::from_be_bytes([data[0], data[1], data[2], data[3]]),
                u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
            ),
            (2..=5 | 8, _) => {
                self.done = true;
                TcpOption::Malformed(kind)
            }
            _ => TcpOption::Unknown(kind, data),
        };
        Some(option)
    }
}

/// The flag names tshark prints between brackets in Info, e.g. `SYN, ACK`.
pub fn flag_names(flags: TcpFlags) -> String {
    let mut out = String::with_capacity(16);
    write_flag_names(&mut out, flags);
    out
}

/// Appends [`flag_names`] to `out` (no allocation on the per-packet path).
pub fn write_flag_names(out: &mut String, flags: TcpFlags) {
    match common_flag_names(flags) {
        Some(names) => out.push_str(names),
        None => spell_flag_names(out, flags),
    }
}

/// [`flag_names`] of the combinations nearly every segment carries, without the loop;
/// `None` for the others.
#[inline]
pub fn common_flag_names(flags: TcpFlags) -> Option<&'static str> {
    const PSH_ACK: TcpFlags = TcpFlags::PSH.union(TcpFlags::ACK);
    const SYN_ACK: TcpFlags = TcpFlags::SYN.union(TcpFlags::ACK);
    const FIN_ACK: TcpFlags = TcpFlags::FIN.union(TcpFlags::ACK);
    const FIN_PSH_ACK: TcpFlags = TcpFlags::FIN.union(PSH_ACK);
    const RST_ACK: TcpFlags = TcpFlags::RST.union(TcpFlags::ACK);
    match flags {
        TcpFlags::ACK => Some("ACK"),
        PSH_ACK => Some("PSH, ACK"),
        TcpFlags::SYN => Some("SYN"),
        SYN_ACK => Some("SYN, ACK"),
        FIN_ACK => Some("FIN, ACK"),
        FIN_PSH_ACK => Some("FIN, PSH, ACK"),
        RST_ACK => Some("RST, ACK"),
        TcpFlags::RST => Some("RST"),
        _ => None,
    }
}

/// The general case of [`write_flag_names`]: every set bit, in tshark's order.
fn spell_flag_names(out: &mut String, flags: TcpFlags) {
    const NAMES: [(TcpFlags, &str); 9] = [
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::ACK, "ACK"),
        (TcpFlags::URG, "URG"),
        (TcpFlags::ECE, "ECE"),
        (TcpFlags::CWR, "CWR"),
        (TcpFlags::AE, "AE"),
    ];
    let start = out.len();
    for (bit, name) in NAMES {
        if flags.intersects(bit) {
            if out.len() > start {
                out.push_str(", ");
            }
            out.push_str(name);
        }
    }
    if flags.intersects(TcpFlags::RESERVED) {
        if out.len() > start {
            out.push_str(", ");
        }
        out.push_str("Reserved");
    }
    if out.len() == start {
        out.push_str("<None>");
    }
}

/// Appends the option summaries tshark puts at the end of Info (`MSS=1460 WS=128 …`).
/// `sack_base` is subtracted from SACK edges to make them relative, as tshark does.
/// Numbers go through `itoa`, as in the rest of Info: `core::fmt` here was two thirds of
/// the cost of a frame's Info text (timestamps are on nearly every segment).
pub fn write_option_summary(out: &mut String, options: &[u8], sack_base: Option<u32>) {
    let mut num = itoa::Buffer::new();
    let mut field = |out: &mut String, name: &str, value: u32| {
        out.push_str(name);
        out.push_str(num.format(value));
    };
    for option in Options::new(options) {
        match option {
            TcpOption::Mss(mss) => field(out, " MSS=", u32::from(mss)),
            TcpOption::WindowScale(shift) => field(out, " WS=", 1u32 << shift.min(14)),
            TcpOption::SackPermitted => out.push_str(" SACK_PERM"),
            TcpOption::Timestamps(value, echo) => {
                field(out, " TSval=", value);
                field(out, " TSecr=", echo);
            }
            TcpOption::Sack(edges) => {
                for pair in edges.chunks_exact(8) {
                    let left = u32::from_be_bytes([pair[0], pair[1], pair[2], pair[3]]);
                    let right = u32::from_be_bytes([pair[4], pair[5], pair[6], pair[7]]);
                    let base = sack_base.unwrap_or(0);
                    field(out, " SLE=", left.wrapping_sub(base));
                    field(out, " SRE=", right.wrapping_sub(base));
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SYN from the lab: 18508 → 5000, MSS 65495, SACK_PERM, TS, NOP, WS 8.
    const SYN: [u8; 40] = [
        0x48, 0x4c, 0x13, 0x88, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, 0xa0, 0x02, 0xff, 0xd7, 0, 0,
        0, 0, 2, 4, 0xff, 0xd7, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 8,
    ];

    #[test]
    fn deconstruct_syn() {
        let h = Header::new_checked(&SYN[..]).unwrap();
        assert_eq!((h.source_port(), h.destination_port()), (18508, 5000));
        assert_eq!(h.seq_number(), 0x1234_5678);
        assert_eq!(h.header_len(), 40);
        assert_eq!(h.flags(), TcpFlags::SYN);
        assert_eq!(h.window(), 65495);
        assert!(h.payload().is_empty());
        let opts: Vec<_> = Options::new(h.options()).collect();
        assert_eq!(
            opts,
            vec![
                TcpOption::Mss(65495),
                TcpOption::SackPermitted,
                TcpOption::Timestamps(1, 0),
                TcpOption::Nop,
                TcpOption::WindowScale(8)
            ]
        );
        let mut info = String::new();
        write_option_summary(&mut info, h.options(), None);
        assert_eq!(info, " MSS=65495 SACK_PERM TSval=1 TSecr=0 WS=256");
    }

    #[test]
    fn truncated_and_impossible_lengths() {
        for len in 0..HEADER_LEN {
            assert_eq!(
                Header::new_checked(&SYN[..len]).err(),
                Some(HeaderError::Truncated { len })
            );
        }
        let mut bogus = SYN;
        bogus[12] = 0x40;
        assert_eq!(
            Header::new_checked(&bogus[..]).err(),
            Some(HeaderError::BogusHeaderLength { header_len: 16 })
        );
        // Options cut by the snap length are still readable as far as captured.
        let h = Header::new_checked(&SYN[..24]).unwrap();
        assert!(!h.is_complete());
        assert_eq!(
            Options::new(h.options()).next(),
            Some(TcpOption::Mss(65495))
        );
    }

    #[test]
    fn common_flag_spellings_equal_the_general_rule() {
        for bits in 0..0x1000u16 {
            let (mut fast, mut slow) = (String::new(), String::new());
            write_flag_names(&mut fast, TcpFlags::from_bits(bits));
            spell_flag_names(&mut slow, TcpFlags::from_bits(bits));
            assert_eq!(fast, slow, "flags {bits:#05x}");
        }
    }

    #[test]
    fn flag_name_order_matches_tshark() {
        assert_eq!(flag_names(TcpFlags::SYN | TcpFlags::ACK), "SYN, ACK");
        assert_eq!(
            flag_names(TcpFlags::FIN | TcpFlags::PSH | TcpFlags::ACK),
            "FIN, PSH, ACK"
        );
        assert_eq!(
            flag_names(TcpFlags::ACK | TcpFlags::URG | TcpFlags::NS | TcpFlags::from_bits(0x200)),
            "ACK, URG, AE, Reserved"
        );
        assert_eq!(flag_names(TcpFlags::empty()), "<None>");
    }

    #[test]
    fn flag_sets_test_like_the_masks_they_replace() {
        let syn_ack = TcpFlags::SYN | TcpFlags::ACK;
        assert!(syn_ack.contains(TcpFlags::SYN) && syn_ack.contains(syn_ack));
        assert!(!syn_ack.contains(TcpFlags::SYN | TcpFlags::FIN));
        assert!(syn_ack.intersects(TcpFlags::SYN | TcpFlags::FIN));
        assert!(!syn_ack.intersects(TcpFlags::FIN | TcpFlags::RST));
        assert_eq!(syn_ack & (TcpFlags::SYN | TcpFlags::FIN), TcpFlags::SYN);
        assert_eq!(TcpFlags::NS, TcpFlags::AE);
        assert!(TcpFlags::empty().is_empty());
        assert_eq!(format!("{:#x}", syn_ack), "0x12");
        // The header view drops the data-offset nibble, keeps the reserved bits.
        let mut bytes = SYN;
        bytes[12] = 0xae;
        let h = Header::new_checked(&bytes[..]).unwrap();
        assert_eq!(h.flags(), TcpFlags::from_bits(0xe02));
    }

    #[test]
    fn malformed_option_stops_iteration() {
        let opts: Vec<_> = Options::new(&[2, 9, 0, 0]).collect();
        assert_eq!(opts, vec![TcpOption::Malformed(2)]);
        let opts: Vec<_> = Options::new(&[1, 1, 0, 5]).collect();
        assert_eq!(opts, vec![TcpOption::Nop, TcpOption::Nop, TcpOption::End]);
    }
}
