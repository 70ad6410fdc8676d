//! Shared proptest generators for the TCP property tests: well-formed conversations
//! (handshake, data, one of the RFC 9293 §3.6 closes or a reset), with the capture
//! starting late, retransmitted segments, several connections interleaved and ports
//! reused; and the pcap bytes for them, built with `wirenote-bench`'s `TcpFrame` and
//! `write_pcap`.
#![allow(dead_code)]

use proptest::prelude::*;
use wirenote_bench::{write_pcap, TcpFrame};

pub const FIN: u8 = 0x01;
pub const SYN: u8 = 0x02;
pub const RST: u8 = 0x04;
pub const PSH: u8 = 0x08;
pub const ACK: u8 = 0x10;

/// One segment of a conversation, before it becomes a frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    /// Sent by the client (the side that sends the SYN).
    pub from_client: bool,
    /// TCP flag byte.
    pub flags: u8,
    /// Raw sequence number.
    pub seq: u32,
    /// Raw acknowledgment number.
    pub ack: u32,
    /// Payload length.
    pub len: usize,
}

/// How a conversation ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The capture ends while the connection is open.
    None,
    /// FIN, ACK, FIN, ACK; `client_first` says who closes first (§3.6 case 1).
    FourWay { client_first: bool },
    /// FIN, FIN-ACK (acknowledging the first FIN), ACK.
    ThreeWay { client_first: bool },
    /// Both FINs cross, then both ACKs (§3.6 case 3).
    Simultaneous,
    /// FIN, ACK, then data from the other side before its FIN (half-close).
    HalfClose { client_first: bool },
    /// A RST from one side, then a few stray segments from both.
    Reset { from_client: bool },
}

fn close() -> impl Strategy<Value = Ending> {
    prop_oneof![
        Just(Ending::None),
        any::<bool>().prop_map(|client_first| Ending::FourWay { client_first }),
        any::<bool>().prop_map(|client_first| Ending::ThreeWay { client_first }),
        Just(Ending::Simultaneous),
        any::<bool>().prop_map(|client_first| Ending::HalfClose { client_first }),
        any::<bool>().prop_map(|from_client| Ending::Reset { from_client }),
    ]
}

/// Sequence numbers of both directions while a script is written.
struct Writer {
    segs: Vec<Seg>,
    next: [u32; 2],
}

impl Writer {
    fn idx(from_client: bool) -> usize {
        usize::from(!from_client)
    }
    /// Appends a segment from one side, acknowledging all the other side sent.
    fn send(&mut self, from_client: bool, flags: u8, len: usize) {
        let (me, peer) = (Self::idx(from_client), Self::idx(!from_client));
        let ack = if flags & ACK != 0 { self.next[peer] } else { 0 };
        self.segs.push(Seg {
            from_client,
            flags,
            seq: self.next[me],
            ack,
            len,
        });
        let used = len as u32 + u32::from(flags & (SYN | FIN) != 0);
        self.next[me] = self.next[me].wrapping_add(used);
    }
    /// Appends a FIN that does not acknowledge the other side's FIN sent just before it.
    fn crossing_fin(&mut self, from_client: bool) {
        let (me, peer) = (Self::idx(from_client), Self::idx(!from_client));
        self.segs.push(Seg {
            from_client,
            flags: FIN | ACK,
            seq: self.next[me],
            ack: self.next[peer].wrapping_sub(1),
            len: 0,
        });
        self.next[me] = self.next[me].wrapping_add(1);
    }
}

/// A well-formed conversation: a 3-way handshake (maybe with the SYN sent twice, maybe
/// refused), some data, and one of the closes.
pub fn conversation() -> impl Strategy<Value = Vec<Seg>> {
    (
        any::<u32>(),
        any::<u32>(),
        any::<bool>(),
        0u8..8,
        proptest::collection::vec((any::<bool>(), 1usize..600), 0..6),
        close(),
    )
        .prop_map(|(cisn, sisn, syn_twice, refuse, data, close)| {
            let mut w = Writer {
                segs: Vec::new(),
                next: [cisn, sisn],
            };
            w.send(true, SYN, 0);
            if syn_twice {
                let syn = w.segs[0].clone();
                w.segs.push(syn);
            }
            if refuse == 0 {
                // A refused SYN: RST-ACK from the server (§3.10.7.1).
                w.send(false, RST | ACK, 0);
                return w.segs;
            }
            w.send(false, SYN | ACK, 0);
            w.send(true, ACK, 0);
            for (from_client, len) in data {
                w.send(from_client, PSH | ACK, len);
            }
            finish(&mut w, close);
            w.segs
        })
}

fn finish(w: &mut Writer, close: Ending) {
    match close {
        Ending::None => {}
        Ending::FourWay { client_first: c } => {
            w.send(c, FIN | ACK, 0);
            w.send(!c, ACK, 0);
            w.send(!c, FIN | ACK, 0);
            w.send(c, ACK, 0);
        }
        Ending::ThreeWay { client_first: c } => {
            w.send(c, FIN | ACK, 0);
            w.send(!c, FIN | ACK, 0);
            w.send(c, ACK, 0);
        }
        Ending::Simultaneous => {
            w.send(true, FIN | ACK, 0);
            w.crossing_fin(false);
            w.send(true, ACK, 0);
            w.send(false, ACK, 0);
        }
        Ending::HalfClose { client_first: c } => {
            w.send(c, FIN | ACK, 0);
            w.send(!c, ACK, 0);
            w.send(!c, PSH | ACK, 100);
            w.send(c, ACK, 0);
            w.send(!c, FIN | ACK, 0);
            w.send(c, ACK, 0);
        }
        Ending::Reset { from_client } => {
            w.send(from_client, RST | ACK, 0);
            w.send(!from_client, PSH | ACK, 10);
            w.send(from_client, FIN | ACK, 0);
            w.send(!from_client, ACK, 0);
        }
    }
}

/// A conversation as a capture shows it: maybe started late (a prefix missing), with
/// some segments retransmitted later (copies of segments the capture has).
pub fn captured_conversation() -> impl Strategy<Value = Vec<Seg>> {
    (
        conversation(),
        any::<prop::sample::Index>(),
        proptest::collection::vec(
            (any::<prop::sample::Index>(), any::<prop::sample::Index>()),
            0..4,
        ),
        any::<bool>(),
    )
        .prop_map(|(segs, cut, dups, late)| {
            let start = if late { cut.index(segs.len()) } else { 0 };
            let mut segs = segs[start..].to_vec();
            for (which, at) in dups {
                let i = which.index(segs.len());
                let j = i + 1 + at.index(segs.len() - i);
                let copy = segs[i].clone();
                segs.insert(j, copy);
            }
            segs
        })
}

/// Several conversations, each between its own client port and port 80 (some reusing an
/// earlier conversation's port after it, with new ISNs), interleaved. Returns the
/// conversations' segments tagged with their client port, in capture order.
pub fn interleaved() -> impl Strategy<Value = Vec<(u16, Seg)>> {
    (
        proptest::collection::vec((conversation(), 0u16..4), 1..5),
        proptest::collection::vec(any::<prop::sample::Index>(), 0..200),
    )
        .prop_map(|(convs, picks)| {
            // Conversations on the same port are queued one after the other.
            let mut queues: Vec<(u16, std::collections::VecDeque<Seg>)> = Vec::new();
            for (segs, port) in convs {
                let port = 40000 + port;
                match queues.iter_mut().find(|(p, _)| *p == port) {
                    Some((_, q)) => q.extend(segs),
                    None => queues.push((port, segs.into())),
                }
            }
            let mut out = Vec::new();
            let mut picks = picks.into_iter();
            while queues.iter().any(|(_, q)| !q.is_empty()) {
                let live: Vec<usize> = (0..queues.len())
                    .filter(|&i| !queues[i].1.is_empty())
                    .collect();
                let i = picks.next().map_or(live[0], |p| live[p.index(live.len())]);
                let (port, q) = &mut queues[i];
                out.extend(q.pop_front().map(|s| (*port, s)));
            }
            out
        })
}

/// Arbitrary segments on one pair of ports: any flags, numbers from a small range so that
/// they often match each other.
pub fn arbitrary_segments() -> impl Strategy<Value = Vec<Seg>> {
    proptest::collection::vec(
        (any::<bool>(), 0u8..64, 0u32..8, 0u32..8, 0usize..3).prop_map(
            |(from_client, flags, seq, ack, len)| Seg {
                from_client,
                flags,
                seq,
                ack,
                len,
            },
        ),
        1..48,
    )
}

/// The Ethernet frame for a segment between 10.0.0.1:`client_port` and 10.0.0.2:80.
pub fn frame_bytes(client_port: u16, seg: &Seg) -> Vec<u8> {
    let payload = vec![b'x'; seg.len];
    let client = ([10, 0, 0, 1], client_port);
    let server = ([10, 0, 0, 2], 80);
    let (src, dst) = if seg.from_client {
        (client, server)
    } else {
        (server, client)
    };
    TcpFrame {
        ips: (src.0, dst.0),
        ports: (src.1, dst.1),
        seq: seg.seq,
        ack: seg.ack,
        flags: seg.flags,
        window: 1000,
        payload: &payload,
        ..TcpFrame::default()
    }
    .build()
}

/// A pcap of the segments, one millisecond apart.
pub fn pcap(segs: &[(u16, Seg)]) -> Vec<u8> {
    let frames: Vec<Vec<u8>> = segs.iter().map(|(port, s)| frame_bytes(*port, s)).collect();
    let mut out = Vec::new();
    write_pcap(
        &mut out,
        frames
            .iter()
            .enumerate()
            .map(|(i, f)| (1_000_000 + i as u64 * 1000, f.as_slice())),
    )
    .expect("writing to a Vec cannot fail");
    out
}

/// `pcap` for one conversation on client port 40000.
pub fn pcap_one(segs: &[Seg]) -> Vec<u8> {
    let tagged: Vec<(u16, Seg)> = segs.iter().cloned().map(|s| (40000, s)).collect();
    pcap(&tagged)
}

/// How many conversations `interleaved` put in a capture: one per client SYN that opens a
/// conversation (the first segment of each, a SYN sent twice counting once).
pub fn conversations_in(segs: &[(u16, Seg)]) -> usize {
    let mut isn: std::collections::HashMap<u16, u32> = std::collections::HashMap::new();
    segs.iter()
        .filter(|(port, s)| s.flags == SYN && isn.insert(*port, s.seq) != Some(s.seq))
        .count()
}
