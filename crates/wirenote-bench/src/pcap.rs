//! Classic pcap records and Ethernet/IPv4/TCP frames, built byte by byte: what every
//! generator here writes, and what the tests use to build small captures of their own.

use std::io::{self, Write};

/// The maximum segment size every generated connection uses (an Ethernet MTU).
pub(crate) const MSS: usize = 1460;
/// TCP flag bits.
pub(crate) const TCP_SYN: u8 = 0x02;
pub(crate) const TCP_ACK: u8 = 0x10;
pub(crate) const TCP_PSH: u8 = 0x08;
pub(crate) const TCP_FIN: u8 = 0x01;
pub(crate) const TCP_RST: u8 = 0x04;

/// An Ethernet/IPv4/TCP frame, built field by field (checksums left zero: Wireshark
/// does not verify them by default). Shared by the generator and the tests.
#[derive(Debug, Clone, Default)]
pub struct TcpFrame<'a> {
    /// Source and destination MAC addresses.
    pub macs: ([u8; 6], [u8; 6]),
    /// Source and destination IPv4 addresses.
    pub ips: ([u8; 4], [u8; 4]),
    /// Source and destination ports.
    pub ports: (u16, u16),
    /// Raw sequence number.
    pub seq: u32,
    /// Raw acknowledgment number.
    pub ack: u32,
    /// TCP flag byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10).
    pub flags: u8,
    /// Raw window.
    pub window: u16,
    /// TCP options (a whole number of 32-bit words).
    pub options: &'a [u8],
    /// Payload.
    pub payload: &'a [u8],
}

impl TcpFrame<'_> {
    /// The frame's bytes.
    pub fn build(&self) -> Vec<u8> {
        let tcp_len = 20 + self.options.len();
        let total = 20 + tcp_len + self.payload.len();
        let mut f = Vec::with_capacity(14 + total);
        f.extend_from_slice(&self.macs.1);
        f.extend_from_slice(&self.macs.0);
        f.extend_from_slice(&[0x08, 0x00]);
        f.extend_from_slice(&[
            0x45,
            0,
            (total >> 8) as u8,
            total as u8,
            0,
            0,
            0x40,
            0,
            64,
            6,
            0,
            0,
        ]);
        f.extend_from_slice(&self.ips.0);
        f.extend_from_slice(&self.ips.1);
        f.extend_from_slice(&self.ports.0.to_be_bytes());
        f.extend_from_slice(&self.ports.1.to_be_bytes());
        f.extend_from_slice(&self.seq.to_be_bytes());
        f.extend_from_slice(&self.ack.to_be_bytes());
        f.extend_from_slice(&[((tcp_len / 4) as u8) << 4, self.flags]);
        f.extend_from_slice(&self.window.to_be_bytes());
        f.extend_from_slice(&[0, 0, 0, 0]);
        f.extend_from_slice(self.options);
        f.extend_from_slice(self.payload);
        f
    }
}

/// Writes a classic pcap (little-endian, µs, Ethernet) of `(time in µs, frame)` records.
pub fn write_pcap<'f>(
    out: &mut impl Write,
    frames: impl IntoIterator<Item = (u64, &'f [u8])>,
) -> io::Result<()> {
    out.write_all(&PCAP_HEADER)?;
    for (time_us, data) in frames {
        write_record(out, time_us, data)?;
    }
    Ok(())
}

/// A classic pcap file header: little-endian, µs timestamps, snap length 65535, Ethernet.
pub(crate) const PCAP_HEADER: [u8; 24] = [
    0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
];

/// One pcap record: the frame whole (captured length = wire length).
pub(crate) fn write_record(out: &mut impl Write, time_us: u64, data: &[u8]) -> io::Result<()> {
    let len = data.len() as u32;
    out.write_all(&((time_us / 1_000_000) as u32).to_le_bytes())?;
    out.write_all(&((time_us % 1_000_000) as u32).to_le_bytes())?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(data)
}
