//! Hostile traffic: the shapes a flood, a scanner or a broken peer sends, to measure what
//! each costs wirenote beside tshark (issue #19, `bench/run.sh`'s hostile section).
//!
//! * [`Shape::SynFlood`]: SYNs from spoofed sources (a new address and port each) to
//!   one server, never answered: each is a connection the tracker must hold or forget.
//! * [`Shape::HalfOpen`]: connections that complete the handshake and send one request,
//!   and are never answered or closed: state that no FIN or RST ever releases.
//! * [`Shape::Pipelined`]: one connection carrying requests back to back, many per
//!   segment and split across segments, each batch answered by its responses: the
//!   exchange pairing holds a queue per connection.
//! * [`Shape::LongHeader`]: one request whose header line is megabytes long, in
//!   MSS-sized segments: the head scan must stay linear in its length.
//!
//! All are Ethernet/IPv4, written frame by frame (a capture of millions of frames is never
//! held in memory), and depend only on the seed (ChaCha8): the same arguments give the
//! same bytes.

use std::io::{self, Write};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::pcap::{write_record, TcpFrame, MSS, PCAP_HEADER, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN};

/// Which hostile traffic to generate; see the module's documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `amount` SYNs, each from a new source, none answered.
    SynFlood,
    /// `amount` connections: SYN, SYN-ACK, ACK and one request each, never closed.
    HalfOpen,
    /// One connection with `amount` pipelined GET requests and their responses.
    Pipelined,
    /// One request whose header line is `amount` bytes long.
    LongHeader,
}

impl Shape {
    /// The size the targets speak of: 2M SYNs, 200k half-open connections, 1M
    /// pipelined requests, a 5 MiB header line.
    pub fn default_amount(self) -> u64 {
        match self {
            Shape::SynFlood => 2_000_000,
            Shape::HalfOpen => 200_000,
            Shape::Pipelined => 1_000_000,
            Shape::LongHeader => 5 << 20,
        }
    }
}

/// One end of a generated connection.
#[derive(Debug, Clone, Copy)]
struct Peer {
    ip: [u8; 4],
    port: u16,
    mac: [u8; 6],
    /// The next sequence number this end sends.
    seq: u32,
}

const SERVER_MAC: [u8; 6] = [2, 0, 0, 0, 0, 2];
const CLIENT_MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
/// MSS 1460, NOP, NOP, SACK_PERM, NOP, WS 7 (the normal traffic's SYN options).
const SYN_OPTIONS: [u8; 12] = [2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7];

/// The pcap being written: the clock, the frame count, the random source.
struct Writer<'a, W: Write> {
    out: &'a mut W,
    rng: ChaCha8Rng,
    time_us: u64,
    frames: u64,
}

impl<W: Write> Writer<'_, W> {
    /// Writes `payload` from `from` to `to` (acknowledging what `to` has sent), `gap` µs
    /// after the last frame, and advances `from`'s sequence number.
    fn send(
        &mut self,
        from: &mut Peer,
        to: &Peer,
        flags: u8,
        payload: &[u8],
        gap: u64,
    ) -> io::Result<()> {
        let syn = flags & TCP_SYN != 0;
        let frame = TcpFrame {
            macs: (from.mac, to.mac),
            ips: (from.ip, to.ip),
            ports: (from.port, to.port),
            seq: from.seq,
            ack: if flags & TCP_ACK != 0 { to.seq } else { 0 },
            flags,
            window: if syn { 64240 } else { 502 },
            options: if syn { &SYN_OPTIONS } else { &[] },
            payload,
        };
        self.time_us += gap;
        write_record(self.out, self.time_us, &frame.build())?;
        self.frames += 1;
        let advance = payload.len() as u32 + u32::from(flags & (TCP_SYN | TCP_FIN) != 0);
        from.seq = from.seq.wrapping_add(advance);
        Ok(())
    }

    /// A few to a few hundred µs: frames of one host, not a burst of identical gaps.
    fn gap(&mut self) -> u64 {
        self.rng.random_range(5..300)
    }

    /// `bytes` in MSS-sized segments from `from`, `to` acknowledging every second one.
    fn stream(&mut self, from: &mut Peer, to: &mut Peer, bytes: &[u8]) -> io::Result<()> {
        let mut chunks = bytes.chunks(MSS).peekable();
        let mut n = 0;
        while let Some(chunk) = chunks.next() {
            let last = chunks.peek().is_none();
            let flags = if last { TCP_PSH | TCP_ACK } else { TCP_ACK };
            let gap = self.gap();
            self.send(from, to, flags, chunk, gap)?;
            n += 1;
            if n % 2 == 0 || last {
                let gap = self.gap();
                self.send(to, from, TCP_ACK, &[], gap)?;
            }
        }
        Ok(())
    }

    /// SYN, SYN-ACK, ACK between a new client and server.
    fn handshake(&mut self, client: &mut Peer, server: &mut Peer) -> io::Result<()> {
        let gap = self.gap();
        self.send(client, server, TCP_SYN, &[], gap)?;
        let gap = self.gap();
        self.send(server, client, TCP_SYN | TCP_ACK, &[], gap)?;
        let gap = self.gap();
        self.send(client, server, TCP_ACK, &[], gap)
    }

    /// FIN from `first`, ACK, FIN, ACK.
    fn close(&mut self, first: &mut Peer, second: &mut Peer) -> io::Result<()> {
        for (from, to, flags) in [
            (true, false, TCP_FIN | TCP_ACK),
            (false, true, TCP_ACK),
            (false, true, TCP_FIN | TCP_ACK),
            (true, false, TCP_ACK),
        ] {
            let gap = self.gap();
            match (from, to) {
                (true, _) => self.send(first, second, flags, &[], gap)?,
                _ => self.send(second, first, flags, &[], gap)?,
            }
        }
        Ok(())
    }
}

/// Client `index` of many: its own address (11.0.0.0/8, then 12.0.0.0/8 …) and port.
fn client(index: u64, seq: u32) -> Peer {
    Peer {
        ip: [
            11 + (index >> 24) as u8,
            (index >> 16) as u8,
            (index >> 8) as u8,
            index as u8,
        ],
        port: 1024 + (index % 60_000) as u16,
        mac: CLIENT_MAC,
        seq,
    }
}

fn server(seq: u32) -> Peer {
    Peer {
        ip: [10, 0, 0, 2],
        port: 80,
        mac: SERVER_MAC,
        seq,
    }
}

/// SYNs a second in a flood by default: issue #19's 2,000,000 SYNs in 60 s of capture.
pub const SYN_FLOOD_RATE: u64 = 33_333;

/// Writes a classic pcap (µs, Ethernet) of the `shape`, sized by `amount` (see [`Shape`]);
/// returns the number of frames written. A SYN flood comes at [`SYN_FLOOD_RATE`].
pub fn generate_hostile(
    shape: Shape,
    amount: u64,
    seed: u64,
    out: &mut impl Write,
) -> io::Result<u64> {
    generate_hostile_at(shape, amount, seed, SYN_FLOOD_RATE, out)
}

/// [`generate_hostile`], a SYN flood coming at `syn_rate` SYNs a second (at most one a
/// microsecond, the capture's resolution).
pub fn generate_hostile_at(
    shape: Shape,
    amount: u64,
    seed: u64,
    syn_rate: u64,
    out: &mut impl Write,
) -> io::Result<u64> {
    out.write_all(&PCAP_HEADER)?;
    let mut w = Writer {
        out,
        rng: ChaCha8Rng::seed_from_u64(seed),
        time_us: 1_795_000_000 * 1_000_000,
        frames: 0,
    };
    match shape {
        Shape::SynFlood => syn_flood(&mut w, amount, (1_000_000 / syn_rate.max(1)).max(1))?,
        Shape::HalfOpen => half_open(&mut w, amount)?,
        Shape::Pipelined => pipelined(&mut w, amount)?,
        Shape::LongHeader => long_header(&mut w, amount)?,
    }
    w.out.flush()?;
    Ok(w.frames)
}

/// `count` SYNs, `gap_us` apart (30 µs by default: 33,333 a second, a modest flood): the
/// whole flood lies well inside any idle timeout, so nothing may be forgotten for being
/// old, and an attempt timeout of 5 s holds about 167,000 SYNs at once.
fn syn_flood(w: &mut Writer<impl Write>, count: u64, gap_us: u64) -> io::Result<()> {
    let victim = server(0);
    for i in 0..count {
        let mut from = client(i, w.rng.random());
        w.send(&mut from, &victim, TCP_SYN, &[], gap_us)?;
    }
    Ok(())
}

/// `count` connections, one after another: handshake and one request, then silence.
fn half_open(w: &mut Writer<impl Write>, count: u64) -> io::Result<()> {
    for i in 0..count {
        let mut c = client(i, w.rng.random());
        let mut s = server(w.rng.random());
        w.handshake(&mut c, &mut s)?;
        let request = format!("GET /half/{i} HTTP/1.1\r\nHost: lab.example\r\n\r\n");
        let gap = w.gap();
        w.send(&mut c, &s, TCP_PSH | TCP_ACK, request.as_bytes(), gap)?;
    }
    Ok(())
}

/// One connection: batches of 1–64 requests written back to back (so requests share
/// segments and straddle their boundaries), each batch answered by its responses (bodies
/// of 0–400 bytes), then closed by the client.
fn pipelined(w: &mut Writer<impl Write>, count: u64) -> io::Result<()> {
    let mut c = client(0, w.rng.random());
    let mut s = server(w.rng.random());
    w.handshake(&mut c, &mut s)?;
    let mut requests = Vec::new();
    let mut responses = Vec::new();
    let mut sent = 0;
    while sent < count {
        let batch = w.rng.random_range(1..=64).min(count - sent);
        requests.clear();
        responses.clear();
        for n in sent..sent + batch {
            write!(
                requests,
                "GET /pipe/{n} HTTP/1.1\r\nHost: lab.example\r\nUser-Agent: wirenote-gen\r\n\r\n"
            )?;
            let body = w.rng.random_range(0..400);
            write!(
                responses,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {body}\r\n\r\n"
            )?;
            responses.extend(std::iter::repeat_n(b'p', body));
        }
        w.stream(&mut c, &mut s, &requests)?;
        w.stream(&mut s, &mut c, &responses)?;
        sent += batch;
    }
    w.close(&mut c, &mut s)
}

/// One request whose `X-Long` header line is `bytes` long (its name, value and CRLF), in
/// MSS-sized segments made as they are written; the server answers 431 and closes.
fn long_header(w: &mut Writer<impl Write>, bytes: u64) -> io::Result<()> {
    let mut c = client(0, w.rng.random());
    let mut s = server(w.rng.random());
    w.handshake(&mut c, &mut s)?;
    let head = b"GET /long HTTP/1.1\r\nHost: lab.example\r\nX-Long: ";
    // The line's value fills what its name and CRLF leave of `bytes`.
    let value = bytes.saturating_sub(b"X-Long: \r\n".len() as u64);
    let tail = b"\r\n\r\n";
    let total = head.len() as u64 + value + tail.len() as u64;
    let mut segment = Vec::with_capacity(MSS);
    let mut at = 0u64;
    let mut n = 0;
    while at < total {
        segment.clear();
        while segment.len() < MSS && at < total {
            segment.push(if at < head.len() as u64 {
                head[at as usize]
            } else if at < head.len() as u64 + value {
                b'a' + w.rng.random_range(0..26u8)
            } else {
                tail[(at - head.len() as u64 - value) as usize]
            });
            at += 1;
        }
        let flags = if at == total {
            TCP_PSH | TCP_ACK
        } else {
            TCP_ACK
        };
        let gap = w.gap();
        w.send(&mut c, &s, flags, &segment, gap)?;
        n += 1;
        if n % 2 == 0 || at == total {
            let gap = w.gap();
            w.send(&mut s, &c, TCP_ACK, &[], gap)?;
        }
    }
    let response = b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let gap = w.gap();
    w.send(&mut s, &c, TCP_PSH | TCP_ACK, response, gap)?;
    w.close(&mut s, &mut c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(shape: Shape, amount: u64, seed: u64) -> (Vec<u8>, u64) {
        let mut out = Vec::new();
        let frames = generate_hostile(shape, amount, seed, &mut out).unwrap();
        (out, frames)
    }

    /// The TCP payloads of the client's and of the server's frames, each in order.
    fn streams(pcap: &[u8]) -> (Vec<u8>, Vec<u8>) {
        let (mut client, mut server) = (Vec::new(), Vec::new());
        let mut at = 24;
        while at < pcap.len() {
            let len = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
            let frame = &pcap[at + 16..at + 16 + len];
            let payload = &frame[34 + usize::from(frame[46] >> 4) * 4..];
            if frame[34..36] == 80u16.to_be_bytes() {
                server.extend_from_slice(payload);
            } else {
                client.extend_from_slice(payload);
            }
            at += 16 + len;
        }
        (client, server)
    }

    #[test]
    fn deterministic_for_a_seed() {
        for (shape, amount) in [
            (Shape::SynFlood, 1000),
            (Shape::HalfOpen, 300),
            (Shape::Pipelined, 500),
            (Shape::LongHeader, 100_000),
        ] {
            let a = bytes(shape, amount, 7);
            assert_eq!(a, bytes(shape, amount, 7), "{shape:?}");
            assert_ne!(a.0, bytes(shape, amount, 8).0, "{shape:?}");
        }
    }

    #[test]
    fn sized_by_the_amount() {
        assert_eq!(bytes(Shape::SynFlood, 1000, 1).1, 1000);
        assert_eq!(bytes(Shape::HalfOpen, 300, 1).1, 1200);
        let (pipe, _) = bytes(Shape::Pipelined, 500, 1);
        let (requests, responses) = streams(&pipe);
        let text = String::from_utf8_lossy(&requests);
        assert_eq!(text.matches("GET /pipe/").count(), 500);
        assert!(text.ends_with(
            "GET /pipe/499 HTTP/1.1\r\nHost: lab.example\r\nUser-Agent: wirenote-gen\r\n\r\n"
        ));
        let text = String::from_utf8_lossy(&responses);
        assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 500);
    }

    #[test]
    fn the_long_line_is_as_long_as_asked() {
        let (pcap, frames) = bytes(Shape::LongHeader, 100_000, 1);
        // 1460-byte segments: at least 69 of them, and the handshake.
        assert!(frames >= 69 + 3);
        let (request, _) = streams(&pcap);
        let line_start = request.windows(8).position(|w| w == b"X-Long: ").unwrap();
        let line_len = request[line_start..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .unwrap();
        assert_eq!(line_len + 2, 100_000);
        assert!(request.ends_with(b"\r\n\r\n"));
    }
}
