//! A deterministic generator of realistic HTTP/1.1-over-TCP captures, for benchmarks.
//!
//! Two kinds of traffic, both Ethernet/IPv4 with MTU-sized (1460-byte) segments:
//!
//! * [`Kind::Short`]: many short connections, one request each with `Connection: close`,
//!   the server closing first (the lab's non-persistent case).
//! * [`Kind::KeepAlive`]: long keep-alive connections with 5–30 exchanges each, mixed small
//!   and large responses, and conditional requests answered `304 Not Modified`.
//!
//! Both sprinkle the anomalies a real capture has: retransmitted segments, out-of-order
//! segments, and connections aborted with RST. Several connections are interleaved. The
//! output depends only on the seed (ChaCha8), so every run of a benchmark reads the same
//! bytes.
//!
//! [`hostile`] writes the shapes an attacker or a broken peer sends instead (a SYN flood,
//! half-open connections, deep pipelining, a header line megabytes long), to measure
//! what they cost.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod hostile;
mod pcap;

use std::io::{self, Write};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use crate::pcap::{write_pcap, TcpFrame};
use crate::pcap::{write_record, MSS, PCAP_HEADER, TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN};
pub use hostile::{generate_hostile, generate_hostile_at, Shape, SYN_FLOOD_RATE};

/// Which traffic to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Many short `Connection: close` connections.
    Short,
    /// Long keep-alive connections with many exchanges.
    KeepAlive,
}

/// One side of a simulated connection.
#[derive(Debug, Clone, Copy)]
struct Side {
    ip: [u8; 4],
    port: u16,
    mac: [u8; 6],
    seq: u32,
}

/// A frame waiting to be written, with its connection-relative order.
struct Frame {
    data: Vec<u8>,
}

#[allow(clippy::too_many_arguments)]
fn frame(
    from: &Side,
    to: &Side,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    options: &[u8],
    payload: &[u8],
) -> Frame {
    let data = TcpFrame {
        macs: (from.mac, to.mac),
        ips: (from.ip, to.ip),
        ports: (from.port, to.port),
        seq,
        ack,
        flags,
        window,
        options,
        payload,
    }
    .build();
    Frame { data }
}

/// Builds the packets of one connection.
struct Conn {
    client: Side,
    server: Side,
    frames: Vec<Frame>,
}

impl Conn {
    fn new(rng: &mut ChaCha8Rng, index: u64) -> Conn {
        let client = Side {
            ip: [10, 0, (index >> 8) as u8, index as u8],
            port: 1024 + (index % 60000) as u16,
            mac: [2, 0, 0, 0, 0, 1],
            seq: rng.random(),
        };
        let server = Side {
            ip: [10, 1, 0, (index % 200) as u8 + 1],
            port: 80,
            mac: [2, 0, 0, 0, 0, 2],
            seq: rng.random(),
        };
        Conn {
            client,
            server,
            frames: Vec::new(),
        }
    }

    fn send(&mut self, from_client: bool, flags: u8, options: &[u8], payload: &[u8]) {
        let (from, to) = if from_client {
            (self.client, self.server)
        } else {
            (self.server, self.client)
        };
        self.frames.push(frame(
            &from, &to, from.seq, to.seq, flags, 502, options, payload,
        ));
        let advance = payload.len() as u32 + u32::from(flags & (TCP_SYN | TCP_FIN) != 0);
        if from_client {
            self.client.seq = self.client.seq.wrapping_add(advance);
        } else {
            self.server.seq = self.server.seq.wrapping_add(advance);
        }
    }

    fn handshake(&mut self) {
        // MSS 1460, NOP, NOP, SACK_PERM, NOP, WS 7: 12 bytes, a whole number of words.
        let syn_options = [2, 4, 0x05, 0xb4, 1, 1, 4, 2, 1, 3, 3, 7];
        let (from, to) = (self.client, self.server);
        self.frames.push(frame(
            &from,
            &to,
            from.seq,
            0,
            TCP_SYN,
            64240,
            &syn_options,
            &[],
        ));
        self.client.seq = self.client.seq.wrapping_add(1);
        self.send(false, TCP_SYN | TCP_ACK, &syn_options, &[]);
        self.send(true, TCP_ACK, &[], &[]);
    }

    /// A request, then a response of `body` bytes split into MSS segments, the client
    /// acknowledging every second one; anomalies with the given probabilities.
    fn exchange(
        &mut self,
        rng: &mut ChaCha8Rng,
        request: &[u8],
        head: &[u8],
        body: usize,
        retransmit: f64,
        reorder: f64,
    ) {
        self.send(true, TCP_PSH | TCP_ACK, &[], request);
        self.send(false, TCP_ACK, &[], &[]);
        let mut response = head.to_vec();
        response.extend(std::iter::repeat_n(b'x', body));
        let first = self.frames.len();
        let mut segments = 0;
        for chunk in response.chunks(MSS) {
            let flags = if chunk.len() < MSS {
                TCP_PSH | TCP_ACK
            } else {
                TCP_ACK
            };
            self.send(false, flags, &[], chunk);
            segments += 1;
            if rng.random_bool(retransmit) {
                let again = Frame {
                    data: self.frames[self.frames.len() - 1].data.clone(),
                };
                self.frames.push(again);
            }
            if segments % 2 == 0 {
                self.send(true, TCP_ACK, &[], &[]);
            }
        }
        if segments > 3 && rng.random_bool(reorder) {
            let at = first + 1 + rng.random_range(0..(self.frames.len() - first - 2));
            self.frames.swap(at, at + 1);
        }
        self.send(true, TCP_ACK, &[], &[]);
    }

    fn close(&mut self, rng: &mut ChaCha8Rng, server_first: bool, reset: f64) {
        if rng.random_bool(reset) {
            self.send(true, TCP_RST | TCP_ACK, &[], &[]);
            return;
        }
        let first = server_first;
        self.send(!first, TCP_FIN | TCP_ACK, &[], &[]);
        self.send(first, TCP_ACK, &[], &[]);
        self.send(first, TCP_FIN | TCP_ACK, &[], &[]);
        self.send(!first, TCP_ACK, &[], &[]);
    }
}

fn response_head(status: &str, length: usize, close: bool) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\nServer: wirenote-gen\r\nContent-Type: text/html\r\nContent-Length: {length}\r\nLast-Modified: Sun, 01 Nov 2026 08:00:00 GMT\r\n{}\r\n",
        if close { "Connection: close\r\n" } else { "" }
    )
    .into_bytes()
}

fn short_conn(rng: &mut ChaCha8Rng, index: u64) -> Conn {
    let mut c = Conn::new(rng, index);
    c.handshake();
    let body = rng.random_range(200..12_000);
    let request = format!("GET /page/{index} HTTP/1.1\r\nHost: lab.example\r\nUser-Agent: wirenote-gen\r\nConnection: close\r\n\r\n");
    c.exchange(
        rng,
        request.as_bytes(),
        &response_head("200 OK", body, true),
        body,
        0.01,
        0.01,
    );
    c.close(rng, true, 0.02);
    c
}

fn keepalive_conn(rng: &mut ChaCha8Rng, index: u64) -> Conn {
    let mut c = Conn::new(rng, index);
    c.handshake();
    let exchanges = rng.random_range(5..30);
    for n in 0..exchanges {
        let conditional = rng.random_bool(0.25);
        let large = rng.random_bool(0.15);
        let request = format!(
            "GET /asset/{index}/{n} HTTP/1.1\r\nHost: lab.example\r\nUser-Agent: wirenote-gen\r\n{}\r\n",
            if conditional { "If-Modified-Since: Sun, 01 Nov 2026 08:00:00 GMT\r\n" } else { "" }
        );
        if conditional {
            let head = b"HTTP/1.1 304 Not Modified\r\nServer: wirenote-gen\r\nLast-Modified: Sun, 01 Nov 2026 08:00:00 GMT\r\n\r\n";
            c.exchange(rng, request.as_bytes(), head, 0, 0.0, 0.0);
        } else {
            let body = if large {
                rng.random_range(50_000..500_000)
            } else {
                rng.random_range(500..5_000)
            };
            c.exchange(
                rng,
                request.as_bytes(),
                &response_head("200 OK", body, false),
                body,
                0.005,
                0.01,
            );
        }
    }
    c.close(rng, false, 0.05);
    c
}

/// Writes a classic pcap (µs, Ethernet) of about `target_bytes` to `out`; returns the
/// number of frames written.
pub fn generate(kind: Kind, target_bytes: u64, seed: u64, out: &mut impl Write) -> io::Result<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    out.write_all(&PCAP_HEADER)?;
    let mut written = 24u64;
    let mut frames = 0u64;
    let mut time_us: u64 = 1_795_000_000 * 1_000_000;
    let mut index = 0u64;
    // Interleave a few connections at a time, round robin, as a busy client would.
    const CONCURRENT: usize = 8;
    while written < target_bytes {
        let batch: Vec<Conn> = (0..CONCURRENT)
            .map(|_| {
                index += 1;
                match kind {
                    Kind::Short => short_conn(&mut rng, index),
                    Kind::KeepAlive => keepalive_conn(&mut rng, index),
                }
            })
            .collect();
        let mut cursors = vec![0usize; batch.len()];
        loop {
            let mut any = false;
            for (conn, cursor) in batch.iter().zip(cursors.iter_mut()) {
                // Two frames per turn keeps request/response bursts together.
                for _ in 0..2 {
                    let Some(f) = conn.frames.get(*cursor) else {
                        break;
                    };
                    *cursor += 1;
                    any = true;
                    time_us += rng.random_range(5..400);
                    write_record(out, time_us, &f.data)?;
                    written += 16 + f.data.len() as u64;
                    frames += 1;
                }
            }
            if !any {
                break;
            }
        }
    }
    out.flush()?;
    Ok(frames)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_for_a_seed() {
        let mut a = Vec::new();
        let mut b = Vec::new();
        generate(Kind::KeepAlive, 200_000, 7, &mut a).unwrap();
        generate(Kind::KeepAlive, 200_000, 7, &mut b).unwrap();
        assert_eq!(a, b);
        let mut c = Vec::new();
        generate(Kind::KeepAlive, 200_000, 8, &mut c).unwrap();
        assert_ne!(a, c);
        assert!(a.len() >= 200_000);
    }
}
