//! Tunnel headers: what a tunnel is called, the stack of them a packet came through, and
//! zero-copy readings of each header that say where the inner packet starts and what it is.
//!
//! Read, at least: RFC 3032 (MPLS label stack) and RFC 4385 / BCP 128 (the first nibble
//! after it), IEEE 802.1ah (PBB I-TAG), IEEE 802.1Qbh (VN-Tag), RFC 2784 and RFC 2890
//! (GRE, key and sequence), RFC 2637 §4.1 (PPTP's enhanced GRE), RFC 8086 (GRE-in-UDP),
//! draft-foschiano-erspan (ERSPAN II/III), RFC 7348 (VXLAN), draft-ietf-nvo3-vxlan-gpe,
//! RFC 8926 (Geneve), 3GPP TS 29.281 §5 (GTP-U and its extension headers), RFC 4380 §5.1
//! (Teredo indicators), draft-massar-v6ops-ayiya (AYIYA). Where a choice is Wireshark's
//! (which UDP ports, what follows an MPLS stack), the function says so: the rows must
//! number streams as tshark does.
//!
//! Every function here takes the bytes after the outer header's dispatch (an EtherType, an
//! IP protocol, a UDP port) and returns a [`Step`]: the inner layer and where it starts.
//! `None` means "not this tunnel, or too short": the caller keeps the outer row, as tshark
//! keeps a header it cannot follow. Nothing here can panic on input bytes.

use std::fmt;

/// One encapsulation a packet was taken out of. The names are the `tunnel` column's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encapsulation {
    /// An MPLS label stack (EtherType 0x8847/0x8848, or GRE carrying one).
    #[default]
    Mpls,
    /// IEEE 802.1ah Provider Backbone Bridging (I-TAG, EtherType 0x88e7).
    Pbb,
    /// Cisco VN-Tag (EtherType 0x8926).
    VnTag,
    /// Cisco FabricPath (MAC-in-MAC, EtherType 0x8903 in its FP tag).
    FabricPath,
    /// GRE (IP protocol 47).
    Gre,
    /// GRE in UDP (port 4754).
    GreInUdp,
    /// ERSPAN type I, II or III (inside GRE).
    Erspan,
    /// VXLAN (UDP 4789).
    Vxlan,
    /// VXLAN-GPE (UDP 4790).
    VxlanGpe,
    /// Geneve (UDP 6081).
    Geneve,
    /// GTPv1-U (UDP 2152).
    GtpU,
    /// Teredo (UDP 3544).
    Teredo,
    /// AYIYA (UDP 5072).
    Ayiya,
    /// IPv4 carried in IP (protocol 4).
    IpInIp,
    /// IPv6 carried in IP (protocol 41: 6in4, 6to4, ISATAP, and IPv6 in IPv6).
    Ipv6InIp,
}

impl Encapsulation {
    /// The name the `tunnel` column gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            Encapsulation::Mpls => "MPLS",
            Encapsulation::Pbb => "PBB",
            Encapsulation::VnTag => "VN-Tag",
            Encapsulation::FabricPath => "FabricPath",
            Encapsulation::Gre => "GRE",
            Encapsulation::GreInUdp => "GRE-in-UDP",
            Encapsulation::Erspan => "ERSPAN",
            Encapsulation::Vxlan => "VXLAN",
            Encapsulation::VxlanGpe => "VXLAN-GPE",
            Encapsulation::Geneve => "Geneve",
            Encapsulation::GtpU => "GTP-U",
            Encapsulation::Teredo => "Teredo",
            Encapsulation::Ayiya => "AYIYA",
            Encapsulation::IpInIp => "IP-in-IP",
            Encapsulation::Ipv6InIp => "IPv6-in-IP",
        }
    }
}

/// The encapsulations a packet came through, outermost first. Bounded: a frame nested
/// deeper than [`Tunnels::MAX`] is not followed further (hostile nesting must cost a fixed
/// amount of work per frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tunnels {
    kinds: [Encapsulation; Tunnels::MAX],
    len: u8,
}

impl Tunnels {
    /// Most encapsulations followed in one frame.
    pub const MAX: usize = 8;

    /// Adds the next inner encapsulation; `false` when the stack is full.
    pub fn push(&mut self, kind: Encapsulation) -> bool {
        let Some(slot) = self.kinds.get_mut(usize::from(self.len)) else {
            return false;
        };
        *slot = kind;
        self.len += 1;
        true
    }

    /// The encapsulations, outermost first.
    pub fn as_slice(&self) -> &[Encapsulation] {
        &self.kinds[..usize::from(self.len)]
    }

    /// Whether the packet came through no tunnel.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl fmt::Display for Tunnels {
    /// The `tunnel` column: names joined with `/`, outermost first (`GRE-in-UDP/GRE`
    /// reads as frame.protocols does, left to right); empty for none.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, kind) in self.as_slice().iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            f.write_str(kind.as_str())?;
        }
        Ok(())
    }
}

/// What the bytes after a tunnel header are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// The payload of this EtherType (IPv4, IPv6, MPLS…).
    Ethertype(u16),
    /// An Ethernet frame (without FCS).
    Ethernet,
    /// An IP packet, its version in the first nibble.
    Ip,
    /// An IEEE 802.11 frame without FCS (Aruba's GRE).
    Wlan,
    /// An ERSPAN header of this type (1, 2 or 3), then Ethernet.
    Erspan(u8),
}

/// A tunnel header read: the encapsulation, what follows, and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// The encapsulation this header is (pushed on the row's [`Tunnels`]).
    pub kind: Encapsulation,
    /// What follows it.
    pub next: Next,
    /// Offset of the inner layer in the bytes given.
    pub offset: usize,
}

fn be16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

fn byte(bytes: &[u8], at: usize) -> Option<u8> {
    bytes.get(at).copied()
}

/// EtherTypes (and GRE protocol types) the tunnels dispatch on.
pub mod ethertype {
    /// MPLS unicast.
    pub const MPLS: u16 = 0x8847;
    /// MPLS multicast.
    pub const MPLS_MULTICAST: u16 = 0x8848;
    /// IEEE 802.1ah I-TAG.
    pub const PBB: u16 = 0x88e7;
    /// Cisco VN-Tag.
    pub const VNTAG: u16 = 0x8926;
    /// Cisco FabricPath (Wireshark's `ETHERTYPE_DCE`).
    pub const FABRICPATH: u16 = 0x8903;
    /// Transparent Ethernet bridging (GRE, Geneve).
    pub const ETHERNET_BRIDGING: u16 = 0x6558;
    /// ERSPAN type II (type I when GRE has no sequence number).
    pub const ERSPAN_2: u16 = 0x88be;
    /// ERSPAN type III.
    pub const ERSPAN_3: u16 = 0x22eb;
    /// PPP (PPTP's enhanced GRE).
    pub const PPP: u16 = 0x880b;
}

/// An MPLS label stack (RFC 3032): labels up to the bottom-of-stack bit, then what
/// Wireshark's packet-mpls.c guesses from the first nibble (BCP 128): 4 IPv4, 6 IPv6,
/// 0 an Ethernet pseudowire ([`pseudowire_ethernet`]); anything else (1 is an associated
/// channel) is not followed.
pub fn mpls(bytes: &[u8]) -> Option<Step> {
    let mut offset = 0;
    loop {
        let bottom = byte(bytes, offset + 2)? & 0x01 != 0;
        offset += 4;
        if bottom {
            break;
        }
    }
    let next = match byte(bytes, offset)? >> 4 {
        4 | 6 => Next::Ip,
        0 => {
            return pseudowire_ethernet(&bytes[offset..]).map(|skip| Step {
                kind: Encapsulation::Mpls,
                next: Next::Ethernet,
                offset: offset + skip,
            })
        }
        _ => return None,
    };
    Some(Step {
        kind: Encapsulation::Mpls,
        next,
        offset,
    })
}

/// An Ethernet pseudowire after an MPLS stack: with a 4-byte control word (RFC 4448 §3)
/// or without. Wireshark decides by whether both MAC addresses have a vendor it knows
/// (its OUI database); wirenote has none, so it reads the control word unless the bytes
/// make sense only without it (an IP or VLAN EtherType at offset 12, and none at 16).
/// Returns how many bytes to skip before the Ethernet header.
fn pseudowire_ethernet(bytes: &[u8]) -> Option<usize> {
    let plausible = |at: usize| {
        be16(bytes, at).is_some_and(|t| matches!(t, 0x0800 | 0x86dd | 0x8100 | 0x88a8 | 0x8847))
    };
    if plausible(12) && !plausible(16) {
        return Some(0);
    }
    (bytes.len() >= 4 + 14).then_some(4)
}

/// PBB (IEEE 802.1ah): the 4-byte I-TAG (priority, drop eligibility, I-SID), then the
/// customer's Ethernet frame.
pub fn pbb(bytes: &[u8]) -> Option<Step> {
    (bytes.len() >= 4 + 14).then_some(Step {
        kind: Encapsulation::Pbb,
        next: Next::Ethernet,
        offset: 4,
    })
}

/// VN-Tag: 4 bytes (direction, pointer, virtual interfaces), then an EtherType.
pub fn vntag(bytes: &[u8]) -> Option<Step> {
    Some(Step {
        kind: Encapsulation::VnTag,
        next: Next::Ethertype(be16(bytes, 4)?),
        offset: 6,
    })
}

/// Cisco FabricPath, as Wireshark's heuristic (on by default) finds it before the
/// Ethernet dissector: EtherType 0x8903 where an Ethernet frame has its type (a 16-byte
/// header: switch addresses and the FP tag), or after one 802.1Q/802.1ad tag (20 bytes).
/// The customer's Ethernet frame follows. `bytes` is the whole outer frame.
pub fn fabricpath(bytes: &[u8]) -> Option<Step> {
    let offset = match be16(bytes, 12)? {
        ethertype::FABRICPATH => 16,
        0x8100 | 0x88a8 if be16(bytes, 16)? == ethertype::FABRICPATH => 20,
        _ => return None,
    };
    (bytes.len() >= offset + 14).then_some(Step {
        kind: Encapsulation::FabricPath,
        next: Next::Ethernet,
        offset,
    })
}

/// GRE (RFC 2784, RFC 2890; version 1 is PPTP's, RFC 2637 §4.1): the optional checksum,
/// key, sequence and acknowledgment words, then the protocol type. Followed: IPv4, IPv6,
/// transparent Ethernet bridging, MPLS, ERSPAN, Aruba's 802.11 (0x8200–0x8370 in steps of
/// 0x10, as Wireshark registers them) and PPP carrying IP. Source routing (the R bit,
/// deprecated by RFC 2784) is not followed.
pub fn gre(bytes: &[u8], kind: Encapsulation) -> Option<Step> {
    let flags = be16(bytes, 0)?;
    let protocol = be16(bytes, 2)?;
    let version = flags & 0x0007;
    if flags & 0x4000 != 0 || version > 1 {
        return None;
    }
    let mut offset = 4;
    for (bit, words) in [(0x8000, 4), (0x2000, 4), (0x1000, 4)] {
        if flags & bit != 0 {
            offset += words;
        }
    }
    if version == 1 && flags & 0x0080 != 0 {
        offset += 4;
    }
    let sequenced = flags & 0x1000 != 0;
    let next = match protocol {
        0x0800 | 0x86dd | ethertype::MPLS | ethertype::MPLS_MULTICAST => Next::Ethertype(protocol),
        ethertype::ETHERNET_BRIDGING => Next::Ethernet,
        ethertype::ERSPAN_2 => Next::Erspan(if sequenced { 2 } else { 1 }),
        ethertype::ERSPAN_3 => Next::Erspan(3),
        0x8200..=0x8370 if protocol & 0x000f == 0 => Next::Wlan,
        ethertype::PPP => {
            let (ethertype, skip) = ppp(bytes.get(offset..)?)?;
            return Some(Step {
                kind,
                next: Next::Ethertype(ethertype),
                offset: offset + skip,
            });
        }
        _ => return None,
    };
    (bytes.len() > offset).then_some(Step { kind, next, offset })
}

/// PPP in enhanced GRE (RFC 1661 §2, RFC 1662 §3.1): an optional `ff 03` address and
/// control, then a one- or two-byte protocol. Only IP is followed.
fn ppp(bytes: &[u8]) -> Option<(u16, usize)> {
    let mut offset = if be16(bytes, 0)? == 0xff03 { 2 } else { 0 };
    let first = byte(bytes, offset)?;
    let protocol = if first & 0x01 != 0 {
        offset += 1;
        u16::from(first)
    } else {
        let p = be16(bytes, offset)?;
        offset += 2;
        p
    };
    match protocol {
        0x0021 => Some((0x0800, offset)),
        0x0057 => Some((0x86dd, offset)),
        _ => None,
    }
}

/// ERSPAN's own header before the mirrored Ethernet frame: none for type I, 8 bytes for
/// type II, 12 for type III plus the 8-byte platform subheader when its O bit is set.
pub fn erspan(bytes: &[u8], version: u8) -> Option<Step> {
    let offset = match version {
        1 => 0,
        2 => 8,
        _ => 12 + if byte(bytes, 11)? & 0x01 != 0 { 8 } else { 0 },
    };
    (bytes.len() >= offset + 14).then_some(Step {
        kind: Encapsulation::Erspan,
        next: Next::Ethernet,
        offset,
    })
}

/// The UDP ports whose payload tshark dissects as a tunnel by default (`tshark -G
/// decodes`: udp.port 4789 vxlan, 4790 vxlan_gpe, 6081 geneve, 2152 gtp, 3544 teredo,
/// 5072 ayiya, 4754 gre, 6635 mpls: RFC 7510's MPLS-in-UDP, named `MPLS`). As Wireshark's
/// UDP does, the lower port is tried first.
/// `bytes` is the UDP header and its payload.
pub fn udp(bytes: &[u8]) -> Option<Step> {
    let (source, destination) = (be16(bytes, 0)?, be16(bytes, 2)?);
    let length = usize::from(be16(bytes, 4)?);
    let end = if length >= 8 {
        length.min(bytes.len())
    } else {
        bytes.len()
    };
    let payload = bytes.get(8..end)?;
    let (low, high) = (source.min(destination), source.max(destination));
    let step = udp_port(low, payload).or_else(|| udp_port(high, payload))?;
    Some(Step {
        offset: step.offset + 8,
        ..step
    })
}

fn udp_port(port: u16, payload: &[u8]) -> Option<Step> {
    match port {
        4789 => vxlan(payload),
        4790 => vxlan_gpe(payload),
        6081 => geneve(payload),
        2152 => gtp_u(payload),
        3544 => teredo(payload),
        5072 => ayiya(payload),
        4754 => gre(payload, Encapsulation::GreInUdp),
        6635 => mpls(payload),
        _ => None,
    }
}

/// VXLAN (RFC 7348 §5): 8 bytes, then Ethernet. Wireshark does not insist on the I flag.
pub fn vxlan(bytes: &[u8]) -> Option<Step> {
    (bytes.len() >= 8 + 14).then_some(Step {
        kind: Encapsulation::Vxlan,
        next: Next::Ethernet,
        offset: 8,
    })
}

/// VXLAN-GPE: 8 bytes whose fourth is the next protocol (1 IPv4, 2 IPv6, 3 Ethernet,
/// 5 MPLS; 4, NSH, is not followed).
pub fn vxlan_gpe(bytes: &[u8]) -> Option<Step> {
    let next = match byte(bytes, 3)? {
        1 | 2 => Next::Ip,
        3 => Next::Ethernet,
        5 => Next::Ethertype(ethertype::MPLS),
        _ => return None,
    };
    (bytes.len() > 8).then_some(Step {
        kind: Encapsulation::VxlanGpe,
        next,
        offset: 8,
    })
}

/// Geneve (RFC 8926 §3.4): 8 bytes plus the options (their length in 4-byte words in the
/// low six bits of the first byte), then the payload of the protocol type (an EtherType;
/// 0x6558 is Ethernet).
pub fn geneve(bytes: &[u8]) -> Option<Step> {
    let first = byte(bytes, 0)?;
    if first >> 6 != 0 {
        return None;
    }
    let offset = 8 + usize::from(first & 0x3f) * 4;
    let next = match be16(bytes, 2)? {
        ethertype::ETHERNET_BRIDGING => Next::Ethernet,
        other => Next::Ethertype(other),
    };
    (bytes.len() > offset).then_some(Step {
        kind: Encapsulation::Geneve,
        next,
        offset,
    })
}

/// GTPv1-U (3GPP TS 29.281 §5.1): 8 bytes; when any of the E, S or PN flags is set, 4 more
/// (sequence, N-PDU number, next extension type), then extension headers, each as long as
/// its first byte says in 4-byte units with the next type in its last byte. Only a T-PDU
/// (message type 255) carries a user packet: IP, as Wireshark's default guesses it.
pub fn gtp_u(bytes: &[u8]) -> Option<Step> {
    let flags = byte(bytes, 0)?;
    if flags >> 5 != 1 || flags & 0x10 == 0 || byte(bytes, 1)? != 0xff {
        return None;
    }
    let mut offset = 8;
    if flags & 0x07 != 0 {
        let mut next_type = byte(bytes, 11)?;
        offset = 12;
        if flags & 0x04 != 0 {
            // Each extension header is at least 4 bytes: the loop ends with the bytes.
            while next_type != 0 {
                let units = usize::from(byte(bytes, offset)?);
                if units == 0 {
                    return None;
                }
                offset += units * 4;
                next_type = byte(bytes, offset - 1)?;
            }
        }
    }
    matches!(byte(bytes, offset)? >> 4, 4 | 6).then_some(Step {
        kind: Encapsulation::GtpU,
        next: Next::Ip,
        offset,
    })
}

/// Teredo (RFC 4380 §5.1.1): an optional authentication indicator (type 1: client
/// identifier and authentication value of the lengths it gives, an 8-byte nonce and a
/// confirmation byte), an optional origin indicator (type 0, 8 bytes), then IPv6.
pub fn teredo(bytes: &[u8]) -> Option<Step> {
    let mut offset = 0;
    if be16(bytes, 0)? == 1 {
        let id_len = usize::from(byte(bytes, 2)?);
        let auth_len = usize::from(byte(bytes, 3)?);
        offset = 4 + id_len + auth_len + 9;
    }
    if be16(bytes, offset)? == 0 {
        offset += 8;
    }
    (byte(bytes, offset)? >> 4 == 6 && bytes.len() >= offset + 40).then_some(Step {
        kind: Encapsulation::Teredo,
        next: Next::Ip,
        offset,
    })
}

/// AYIYA: 8 bytes (identity length and type, signature length and hash, authentication
/// and opcode, next header, epoch time), the identity (2^length bytes), the signature
/// (4-byte words), then the payload. Only opcode 1 (forward) with IPv4 or IPv6 inside.
pub fn ayiya(bytes: &[u8]) -> Option<Step> {
    let identity = 1usize << (byte(bytes, 0)? >> 4);
    let signature = usize::from(byte(bytes, 1)? >> 4) * 4;
    let opcode = byte(bytes, 2)? & 0x0f;
    let next_header = byte(bytes, 3)?;
    let offset = 8 + identity + signature;
    (opcode == 1 && matches!(next_header, 4 | 41) && bytes.len() > offset).then_some(Step {
        kind: Encapsulation::Ayiya,
        next: Next::Ip,
        offset,
    })
}

/// IP carried in IP: protocol 4 (IPv4) or 41 (IPv6).
pub fn ip_in_ip(protocol: u8) -> Option<Step> {
    let kind = match protocol {
        4 => Encapsulation::IpInIp,
        41 => Encapsulation::Ipv6InIp,
        _ => return None,
    };
    Some(Step {
        kind,
        next: Next::Ip,
        offset: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mpls_stack_then_the_first_nibble() {
        // Two labels, the second with the bottom-of-stack bit, then IPv4.
        let bytes = [0, 0x10, 0x00, 0x40, 0, 0x20, 0x01, 0x40, 0x45, 0];
        let step = mpls(&bytes).unwrap();
        assert_eq!((step.next, step.offset), (Next::Ip, 8));
        // An associated channel (first nibble 1) is not followed.
        assert_eq!(mpls(&[0, 0x10, 0x01, 0x40, 0x10, 0]), None);
        // Truncated stacks are `None`, never a panic.
        for len in 0..bytes.len() - 1 {
            let _ = mpls(&bytes[..len]);
        }
        assert_eq!(mpls(&bytes[..8]), None);
    }

    #[test]
    fn gre_options_move_the_payload() {
        // Key and sequence present (RFC 2890), IPv4 inside.
        let bytes = [0x30, 0, 0x08, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0x45];
        let step = gre(&bytes, Encapsulation::Gre).unwrap();
        assert_eq!((step.next, step.offset), (Next::Ethertype(0x0800), 12));
        // Aruba WLAN and ERSPAN II (sequenced).
        assert_eq!(
            gre(&[0, 0, 0x82, 0x40, 0x88], Encapsulation::Gre).map(|s| s.next),
            Some(Next::Wlan)
        );
        assert_eq!(
            gre(&[0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10], Encapsulation::Gre).map(|s| s.next),
            Some(Next::Erspan(2))
        );
        // PPTP's GRE carrying PPP LCP is not followed; carrying IP it is.
        let pptp = [
            0x30, 0x01, 0x88, 0x0b, 0, 4, 0, 1, 0, 0, 0, 1, 0xff, 0x03, 0xc0, 0x21,
        ];
        assert_eq!(gre(&pptp, Encapsulation::Gre), None);
        let mut ip = pptp;
        ip[14..].copy_from_slice(&[0x00, 0x21]);
        let mut ip = ip.to_vec();
        ip.push(0x45);
        assert_eq!(
            gre(&ip, Encapsulation::Gre).map(|s| (s.next, s.offset)),
            Some((Next::Ethertype(0x0800), 16))
        );
        assert_eq!(gre(&bytes[..3], Encapsulation::Gre), None);
    }

    #[test]
    fn gtp_u_extension_headers_are_skipped() {
        // E flag, next type 0x85 (PDU session container, 1 unit), then IPv4.
        let mut bytes = vec![0x34, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x85, 1, 0, 0, 0];
        bytes.push(0x45);
        let step = gtp_u(&bytes).unwrap();
        assert_eq!(step.offset, 16);
        // A zero-length extension would never end: refused.
        bytes[12] = 0;
        assert_eq!(gtp_u(&bytes), None);
    }

    #[test]
    fn udp_ports_pick_the_tunnel() {
        let mut bytes = vec![0xc3, 0x50, 0x12, 0xb5, 0, 30, 0, 0];
        bytes.extend_from_slice(&[0x08, 0, 0, 0, 0, 0, 1, 0]);
        bytes.extend_from_slice(&[0; 14]);
        let step = udp(&bytes).unwrap();
        assert_eq!(
            (step.kind, step.next, step.offset),
            (Encapsulation::Vxlan, Next::Ethernet, 16)
        );
        bytes[2..4].copy_from_slice(&53u16.to_be_bytes());
        assert_eq!(udp(&bytes), None);
    }

    #[test]
    fn the_stack_is_bounded_and_joined() {
        let mut t = Tunnels::default();
        assert_eq!(t.to_string(), "");
        assert!(t.push(Encapsulation::GreInUdp));
        assert!(t.push(Encapsulation::Gre));
        assert_eq!(t.to_string(), "GRE-in-UDP/GRE");
        for _ in 2..Tunnels::MAX {
            assert!(t.push(Encapsulation::Mpls));
        }
        assert!(!t.push(Encapsulation::Mpls));
        assert_eq!(t.as_slice().len(), Tunnels::MAX);
    }
}
