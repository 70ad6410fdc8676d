//! IPv4 and IPv6: addresses, the transport payload, and IPv4 fragment reassembly.
//!
//! Read, at least: RFC 791 §3.2 (fragmentation and reassembly), RFC 8200 §4 (extension
//! headers). Header parsing is `etherparse`'s lax slicer; this module adds the lengths
//! tshark uses (the announced length, not the captured one) and bounded reassembly.

use std::collections::VecDeque;
use std::net::IpAddr;

use etherparse::{LaxIpSlice, LenSource};

/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;

/// IPv4 fragmentation facts of a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    /// Identification field.
    pub id: u16,
    /// Offset of this fragment's data in bytes.
    pub offset: u32,
    /// More-fragments flag.
    pub more: bool,
}

/// The parts of an IP packet wirenote uses.
#[derive(Debug, Clone, Copy)]
pub struct IpPacket<'a> {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
    /// Transport protocol number (after IPv6 extension headers).
    pub protocol: u8,
    /// Captured transport bytes (may be shorter than announced).
    pub payload: &'a [u8],
    /// Transport length the IP header announces (tshark derives `tcp.len` from it).
    pub announced_len: u32,
    /// Present when this IPv4 packet is a fragment (MF set or offset non-zero).
    pub fragment: Option<Fragment>,
}

/// Parses an IPv4 or IPv6 packet. `Err` carries a reason for a malformed row.
pub fn parse(bytes: &[u8]) -> Result<IpPacket<'_>, String> {
    let (slice, _ext_err) = LaxIpSlice::from_slice(bytes).map_err(|e| format!("IP: {e}"))?;
    match slice {
        LaxIpSlice::Ipv4(v4) => {
            let header = v4.header();
            let payload = v4.payload();
            let header_len = usize::from(header.ihl()) * 4;
            let announced = match payload.len_source {
                // total_len 0 (TSO) or larger than captured: tshark falls back to what it has.
                LenSource::Slice if header.total_len() == 0 => payload.payload.len(),
                _ => usize::from(header.total_len()).saturating_sub(header_len),
            };
            let fragment = (header.more_fragments() || header.fragments_offset().value() != 0)
                .then(|| Fragment {
                    id: header.identification(),
                    offset: u32::from(header.fragments_offset().value()) * 8,
                    more: header.more_fragments(),
                });
            Ok(IpPacket {
                src: IpAddr::V4(header.source_addr()),
                dst: IpAddr::V4(header.destination_addr()),
                protocol: payload.ip_number.0,
                payload: payload.payload,
                announced_len: announced as u32,
                fragment,
            })
        }
        LaxIpSlice::Ipv6(v6) => {
            let header = v6.header();
            let payload = v6.payload();
            let ext_len = v6.extensions().slice().len();
            let announced = if header.payload_length() == 0 {
                payload.payload.len()
            } else {
                usize::from(header.payload_length()).saturating_sub(ext_len)
            };
            Ok(IpPacket {
                src: IpAddr::V6(header.source_addr()),
                dst: IpAddr::V6(header.destination_addr()),
                protocol: payload.ip_number.0,
                payload: payload.payload,
                announced_len: announced as u32,
                fragment: None,
            })
        }
    }
}

/// Reassembles IPv4 fragments, with bounded memory: at most [`Defragmenter::MAX_PENDING`]
/// datagrams in progress (the oldest is dropped first) and 64 KiB each.
#[derive(Debug, Default)]
pub struct Defragmenter {
    pending: VecDeque<Pending>,
}

#[derive(Debug)]
struct Pending {
    key: (IpAddr, IpAddr, u8, u16),
    data: Vec<u8>,
    /// Byte ranges received, unsorted and possibly overlapping.
    ranges: Vec<(u32, u32)>,
    total: Option<u32>,
}

/// What the defragmenter made of a fragment.
#[derive(Debug, PartialEq, Eq)]
pub enum Defragmented {
    /// More fragments are needed.
    Incomplete,
    /// This fragment completed the datagram: the whole transport payload.
    Complete(Vec<u8>),
}

impl Defragmenter {
    /// Most datagrams held at once.
    pub const MAX_PENDING: usize = 64;
    const MAX_DATAGRAM: u32 = 65_535;
    /// Fragments held per datagram (a 64 KiB datagram in 8-byte pieces would need 8192;
    /// real ones use a handful). Bounds the work of the coverage check.
    const MAX_FRAGMENTS: usize = 256;

    /// Adds a fragment of `packet`; returns the payload when the datagram is whole.
    pub fn add(&mut self, packet: &IpPacket<'_>) -> Defragmented {
        let Some(frag) = packet.fragment else {
            return Defragmented::Complete(packet.payload.to_vec());
        };
        let key = (packet.src, packet.dst, packet.protocol, frag.id);
        let index = match self.pending.iter().position(|p| p.key == key) {
            Some(i) => i,
            None => {
                if self.pending.len() == Self::MAX_PENDING {
                    self.pending.pop_front();
                }
                self.pending.push_back(Pending {
                    key,
                    data: Vec::new(),
                    ranges: Vec::new(),
                    total: None,
                });
                self.pending.len() - 1
            }
        };
        let entry = &mut self.pending[index];
        let len = (packet.announced_len as usize).min(packet.payload.len()) as u32;
        let start = frag.offset;
        let end = start.saturating_add(len).min(Self::MAX_DATAGRAM);
        if end > start {
            if entry.data.len() < end as usize {
                entry.data.resize(end as usize, 0);
            }
            entry.data[start as usize..end as usize]
                .copy_from_slice(&packet.payload[..(end - start) as usize]);
            entry.ranges.push((start, end));
            if entry.ranges.len() > Self::MAX_FRAGMENTS {
                // Far more pieces than any real datagram: stop holding this one.
                self.pending.remove(index);
                return Defragmented::Incomplete;
            }
        }
        if !frag.more {
            entry.total = Some(end);
        }
        if let Some(total) = entry.total {
            if covers(&mut entry.ranges, total) {
                let mut done = self
                    .pending
                    .remove(index)
                    .map(|p| p.data)
                    .unwrap_or_default();
                done.truncate(total as usize);
                return Defragmented::Complete(done);
            }
        }
        Defragmented::Incomplete
    }
}

fn covers(ranges: &mut [(u32, u32)], total: u32) -> bool {
    ranges.sort_unstable();
    let mut reached = 0;
    for &(start, end) in ranges.iter() {
        if start > reached {
            return false;
        }
        reached = reached.max(end);
    }
    reached >= total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frag(offset: u32, more: bool, payload: &[u8]) -> IpPacket<'_> {
        IpPacket {
            src: "10.0.0.1".parse().unwrap(),
            dst: "10.0.0.2".parse().unwrap(),
            protocol: PROTO_TCP,
            payload,
            announced_len: payload.len() as u32,
            fragment: Some(Fragment {
                id: 7,
                offset,
                more,
            }),
        }
    }

    #[test]
    fn reassembles_out_of_order_fragments() {
        let mut d = Defragmenter::default();
        assert_eq!(d.add(&frag(8, false, &[9, 10])), Defragmented::Incomplete);
        assert_eq!(
            d.add(&frag(0, true, &[1, 2, 3, 4, 5, 6, 7, 8])),
            Defragmented::Complete(vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        );
        assert!(d.pending.is_empty());
    }

    #[test]
    fn pending_datagrams_are_bounded() {
        let mut d = Defragmenter::default();
        for id in 0..1000u16 {
            let mut p = frag(0, true, &[0; 8]);
            p.fragment = Some(Fragment {
                id,
                offset: 0,
                more: true,
            });
            d.add(&p);
        }
        assert_eq!(d.pending.len(), Defragmenter::MAX_PENDING);
    }

    #[test]
    fn endless_fragments_of_one_datagram_are_dropped() {
        let mut d = Defragmenter::default();
        assert_eq!(d.add(&frag(800, false, &[0; 8])), Defragmented::Incomplete);
        for _ in 0..10_000 {
            assert_eq!(d.add(&frag(8, true, &[0; 8])), Defragmented::Incomplete);
        }
        assert!(d
            .pending
            .iter()
            .all(|p| p.ranges.len() <= Defragmenter::MAX_FRAGMENTS + 1));
    }

    #[test]
    fn parses_ipv4_with_announced_length() {
        // IPv4, total length 60 but only 24 bytes captured: TCP announced = 40.
        let mut bytes = vec![
            0x45, 0, 0, 60, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
        ];
        bytes.extend_from_slice(&[0; 4]);
        let p = parse(&bytes).unwrap();
        assert_eq!(
            (p.protocol, p.announced_len, p.payload.len()),
            (PROTO_TCP, 40, 4)
        );
        assert_eq!(p.fragment, None);
        assert!(parse(&bytes[..10]).is_err());
    }
}
