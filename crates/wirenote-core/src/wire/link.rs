//! Link layers: find the network-layer packet inside a frame.
//!
//! Read, at least: the tcpdump.org LINKTYPE list (Ethernet 1, NULL 0, LOOP 108, RAW 101/12/14,
//! IPV4 228, IPV6 229, LINUX_SLL 113, LINUX_SLL2 276, IEEE802_5 6, FDDI 10, IEEE802_11 105,
//! IEEE802_11_RADIOTAP 127), IEEE 802.1Q for VLAN tags, IEEE 802.2 with RFC 1042 for
//! LLC/SNAP, and IEEE 802.11 §9.2 for the data frame header (and §9.3.2.2 for A-MSDU).
//!
//! Only the framing is decoded here; IP and below are handed to `etherparse`.

/// LINKTYPE_* values wirenote decodes.
pub mod linktype {
    /// BSD loopback, address family in host byte order.
    pub const NULL: u32 = 0;
    /// Ethernet II.
    pub const ETHERNET: u32 = 1;
    /// Raw IP (one of the historical numbers).
    pub const RAW_12: u32 = 12;
    /// Raw IP (one of the historical numbers).
    pub const RAW_14: u32 = 14;
    /// Raw IP.
    pub const RAW: u32 = 101;
    /// OpenBSD loopback, address family in network byte order.
    pub const LOOP: u32 = 108;
    /// Linux "cooked" capture v1.
    pub const LINUX_SLL: u32 = 113;
    /// Raw IPv4.
    pub const IPV4: u32 = 228;
    /// Raw IPv6.
    pub const IPV6: u32 = 229;
    /// Linux "cooked" capture v2.
    pub const LINUX_SLL2: u32 = 276;
    /// IEEE 802.5 Token Ring.
    pub const TOKEN_RING: u32 = 6;
    /// FDDI.
    pub const FDDI: u32 = 10;
    /// IEEE 802.11 without radio header.
    pub const IEEE802_11: u32 = 105;
    /// IEEE 802.11 after a radiotap header.
    pub const IEEE802_11_RADIOTAP: u32 = 127;
}

/// EtherType values wirenote looks at.
pub mod ethertype {
    /// IPv4.
    pub const IPV4: u16 = 0x0800;
    /// ARP.
    pub const ARP: u16 = 0x0806;
    /// IPv6.
    pub const IPV6: u16 = 0x86dd;
    /// 802.1Q customer VLAN tag.
    pub const VLAN: u16 = 0x8100;
    /// 802.1ad service VLAN tag (QinQ).
    pub const QINQ: u16 = 0x88a8;
    /// PPP carrying something other than IP (after PPPoE).
    pub const PPP: u16 = 0x880b;
    /// PPPoE session stage (RFC 2516).
    pub const PPPOE_SESSION: u16 = 0x8864;
    /// Pre-standard QinQ tag.
    pub const QINQ_OLD: u16 = 0x9100;
}

/// The network layer found inside a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetworkPayload<'a> {
    /// EtherType of `bytes` (IPv4/IPv6 for loopback and raw link types).
    pub ethertype: u16,
    /// The bytes after all link headers and VLAN tags.
    pub bytes: &'a [u8],
    /// VLAN IDs, outermost first (at most the first four are kept).
    pub vlan_ids: [u16; 4],
    /// How many VLAN tags were stripped.
    pub vlan_count: u8,
}

/// Why the link layer could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkError {
    /// The frame is shorter than the link header.
    Truncated {
        /// Link layer name.
        layer: &'static str,
        /// Bytes the header needs.
        required_len: usize,
        /// Bytes present.
        len: usize,
    },
    /// A link type wirenote does not decode.
    Unsupported(u32),
    /// The loopback header names an address family that is not IP.
    UnknownFamily(u32),
}

impl std::fmt::Display for LinkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkError::Truncated {
                layer,
                required_len,
                len,
            } => write!(
                f,
                "{layer} header needs {required_len} bytes, frame has {len}"
            ),
            LinkError::Unsupported(t) => write!(f, "link type {t} not decoded"),
            LinkError::UnknownFamily(af) => write!(f, "loopback address family {af} is not IP"),
        }
    }
}

fn need(layer: &'static str, bytes: &[u8], required_len: usize) -> Result<(), LinkError> {
    if bytes.len() < required_len {
        return Err(LinkError::Truncated {
            layer,
            required_len,
            len: bytes.len(),
        });
    }
    Ok(())
}

fn be16(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

/// Strips the link header of `link_type` and returns the network-layer bytes.
pub fn network_payload(link_type: u32, frame: &[u8]) -> Result<NetworkPayload<'_>, LinkError> {
    match link_type {
        linktype::ETHERNET => ethernet(frame),
        linktype::NULL | linktype::LOOP => {
            need("Loopback", frame, 4)?;
            let word = [frame[0], frame[1], frame[2], frame[3]];
            let family = if link_type == linktype::LOOP {
                u32::from_be_bytes(word)
            } else if frame[0] == 0 && frame[1] == 0 {
                // Host byte order of the writer: a big-endian value has its small number last.
                u32::from_be_bytes(word)
            } else {
                u32::from_le_bytes(word)
            };
            let ethertype = match family {
                2 => ethertype::IPV4,
                10 | 24 | 28 | 30 => ethertype::IPV6,
                other => return Err(LinkError::UnknownFamily(other)),
            };
            Ok(plain(ethertype, &frame[4..]))
        }
        linktype::RAW | linktype::RAW_12 | linktype::RAW_14 => {
            need("Raw IP", frame, 1)?;
            let ethertype = if frame[0] >> 4 == 6 {
                ethertype::IPV6
            } else {
                ethertype::IPV4
            };
            Ok(plain(ethertype, frame))
        }
        linktype::IPV4 => Ok(plain(ethertype::IPV4, frame)),
        linktype::IPV6 => Ok(plain(ethertype::IPV6, frame)),
        linktype::LINUX_SLL => {
            need("Linux cooked", frame, 16)?;
            strip_vlans(be16(frame, 14), &frame[16..])
        }
        linktype::LINUX_SLL2 => {
            need("Linux cooked v2", frame, 20)?;
            strip_vlans(be16(frame, 0), &frame[20..])
        }
        linktype::FDDI => {
            // Frame control, then destination and source addresses; LLC follows.
            need("FDDI", frame, 13)?;
            Ok(llc(&frame[13..]))
        }
        linktype::TOKEN_RING => {
            // Access and frame control, addresses, then source routing when the source
            // address has its route bit, as long as its first byte's low five bits say.
            need("Token Ring", frame, 14)?;
            let route = if frame[8] & 0x80 != 0 {
                need("Token Ring", frame, 15)?;
                usize::from(frame[14] & 0x1f)
            } else {
                0
            };
            need("Token Ring", frame, 14 + route)?;
            Ok(llc(&frame[14 + route..]))
        }
        linktype::IEEE802_11 => wlan(frame),
        linktype::IEEE802_11_RADIOTAP => {
            need("radiotap", frame, 4)?;
            let len = usize::from(u16::from_le_bytes([frame[2], frame[3]]));
            need("radiotap", frame, len)?;
            wlan(&frame[len..])
        }
        other => Err(LinkError::Unsupported(other)),
    }
}

/// An Ethernet frame (without FCS) inside a tunnel, or a frame of link type 1: the
/// EtherType after any VLAN tags, or, for an IEEE 802.3 length field, the EtherType of
/// its LLC/SNAP header when it has one.
pub fn ethernet(frame: &[u8]) -> Result<NetworkPayload<'_>, LinkError> {
    need("Ethernet", frame, 14)?;
    let ethertype = be16(frame, 12);
    if ethertype <= 1500 {
        let snap = llc(&frame[14..]);
        if snap.ethertype != 0 {
            return Ok(snap);
        }
    }
    strip_vlans(ethertype, &frame[14..])
}

/// IEEE 802.2 LLC with an RFC 1042 SNAP header (`aa aa 03`, OUI 0 or 0x0000f8, EtherType)
/// and what follows; EtherType 0 (nothing wirenote follows) for any other LLC.
pub fn llc(bytes: &[u8]) -> NetworkPayload<'_> {
    match bytes {
        [0xaa, 0xaa, 0x03, 0, 0, 0 | 0xf8, t0, t1, rest @ ..] => {
            plain(u16::from_be_bytes([*t0, *t1]), rest)
        }
        _ => plain(0, bytes),
    }
}

/// An IEEE 802.11 data frame (without FCS): the header (24 bytes, 30 with four
/// addresses, 2 more for QoS and 4 more for HT control), then LLC/SNAP. Of an A-MSDU only
/// the first subframe is read: the row model is one packet per frame. Management, control,
/// null and protected frames give EtherType 0.
pub fn wlan(frame: &[u8]) -> Result<NetworkPayload<'_>, LinkError> {
    need("802.11", frame, 24)?;
    let (control, flags) = (frame[0], frame[1]);
    let subtype = control >> 4;
    if (control >> 2) & 0x03 != 2 || subtype & 0x04 != 0 || flags & 0x40 != 0 {
        return Ok(plain(0, &frame[24..]));
    }
    let mut len = if flags & 0x03 == 0x03 { 30 } else { 24 };
    let qos = subtype & 0x08 != 0;
    let amsdu = qos && frame.get(len).is_some_and(|q| q & 0x80 != 0);
    if qos {
        len += if flags & 0x80 != 0 { 6 } else { 2 };
    }
    need("802.11", frame, len)?;
    let body = &frame[len..];
    if !amsdu {
        return Ok(llc(body));
    }
    // Subframe: destination, source, length, then that many bytes of LLC/SNAP and payload.
    need("A-MSDU subframe", body, 14)?;
    let sub_len = usize::from(be16(body, 12));
    let end = (14 + sub_len).min(body.len());
    Ok(llc(&body[14..end]))
}

fn plain(ethertype: u16, bytes: &[u8]) -> NetworkPayload<'_> {
    NetworkPayload {
        ethertype,
        bytes,
        vlan_ids: [0; 4],
        vlan_count: 0,
    }
}

/// The network layer after `ethertype` when it is a VLAN tag or PPPoE (inside a tunnel:
/// a VN-Tag followed by 802.1Q, say): the tags and PPPoE removed as after Ethernet.
pub fn after_ethertype(ethertype: u16, bytes: &[u8]) -> Result<NetworkPayload<'_>, LinkError> {
    strip_vlans(ethertype, bytes)
}

/// Removes any number of 802.1Q / 802.1ad tags (tshark ignores them for `tcp.stream`).
fn strip_vlans(mut ethertype: u16, mut bytes: &[u8]) -> Result<NetworkPayload<'_>, LinkError> {
    let mut out = plain(ethertype, bytes);
    loop {
        if ethertype == ethertype::PPPOE_SESSION {
            // RFC 2516 §4: 6-byte PPPoE header, then the 2-byte PPP protocol (RFC 1661).
            need("PPPoE", bytes, 8)?;
            ethertype = match be16(bytes, 6) {
                0x0021 => ethertype::IPV4,
                0x0057 => ethertype::IPV6,
                _ => ethertype::PPP,
            };
            bytes = &bytes[8..];
            continue;
        }
        if !matches!(
            ethertype,
            ethertype::VLAN | ethertype::QINQ | ethertype::QINQ_OLD
        ) {
            break;
        }
        need("802.1Q", bytes, 4)?;
        if (out.vlan_count as usize) < out.vlan_ids.len() {
            out.vlan_ids[out.vlan_count as usize] = be16(bytes, 0) & 0x0fff;
        }
        out.vlan_count = out.vlan_count.saturating_add(1);
        ethertype = be16(bytes, 2);
        bytes = &bytes[4..];
    }
    out.ethertype = ethertype;
    out.bytes = bytes;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ethernet_with_two_vlan_tags() {
        let mut frame = vec![0u8; 12];
        frame.extend_from_slice(&[
            0x88, 0xa8, 0x03, 0xab, 0x81, 0x00, 0x02, 0xe8, 0x08, 0x00, 0x45,
        ]);
        let p = network_payload(linktype::ETHERNET, &frame).unwrap();
        assert_eq!(p.ethertype, ethertype::IPV4);
        assert_eq!(p.bytes, &[0x45]);
        assert_eq!((p.vlan_count, p.vlan_ids[0], p.vlan_ids[1]), (2, 939, 744));
    }

    #[test]
    fn null_loopback_either_byte_order() {
        assert_eq!(
            network_payload(0, &[2, 0, 0, 0, 0x45]).unwrap().ethertype,
            ethertype::IPV4
        );
        assert_eq!(
            network_payload(0, &[0, 0, 0, 30, 0x60]).unwrap().ethertype,
            ethertype::IPV6
        );
        assert_eq!(
            network_payload(108, &[0, 0, 0, 2, 0x45]).unwrap().ethertype,
            ethertype::IPV4
        );
        assert_eq!(
            network_payload(0, &[7, 0, 0, 0]),
            Err(LinkError::UnknownFamily(7))
        );
    }

    #[test]
    fn truncated_headers_are_errors() {
        for len in 0..14 {
            assert!(matches!(
                network_payload(linktype::ETHERNET, &vec![0; len]),
                Err(LinkError::Truncated {
                    required_len: 14,
                    ..
                })
            ));
        }
        assert!(network_payload(linktype::LINUX_SLL2, &[0; 19]).is_err());
        assert_eq!(
            network_payload(147, &[0; 40]),
            Err(LinkError::Unsupported(147))
        );
    }
}
