//! Bounded memory (issue #19): each kind of timeout, forgotten 4-tuples that come back
//! with their stream, the memory budget, and that expiry only looks at what is due.

use wirenote_bench::TcpFrame;
use wirenote_core::record::PacketRecord;
use wirenote_core::{Dissector, Exchanges, Frame, Limits, Pass, Shed, Timeouts, Timestamp};

const SECOND: i128 = 1_000_000_000;

/// A frame from client `host` (10.1.x.y), port `sport`, to 10.0.0.2:80 (or back).
fn segment(host: u32, sport: u16, seq: u32, ack: u32, flags: u8, forward: bool) -> Vec<u8> {
    let client = [10, 1, (host >> 8) as u8, host as u8];
    let (ips, ports) = if forward {
        ((client, [10, 0, 0, 2]), (sport, 80))
    } else {
        (([10, 0, 0, 2], client), (80, sport))
    };
    TcpFrame {
        ips,
        ports,
        seq,
        ack,
        flags,
        window: 1000,
        ..TcpFrame::default()
    }
    .build()
}

/// Feeds frames, numbering them, at times in milliseconds.
struct Feed {
    dissector: Dissector,
    number: u64,
    /// Streams of the connections forgotten so far, in order.
    forgotten: Vec<u64>,
}

impl Feed {
    fn new(limits: Limits) -> Feed {
        Feed {
            dissector: Dissector::for_pass_with(Pass::Single, Exchanges::Framed, limits),
            number: 0,
            forgotten: Vec::new(),
        }
    }

    fn at(&mut self, ms: i64, data: &[u8]) -> PacketRecord {
        self.number += 1;
        let row = self.dissector.dissect(&frame_at(self.number, ms, data));
        let ended = self.dissector.take_finished();
        self.forgotten.extend(ended.iter().map(|c| c.stream));
        row
    }

    fn stream(&mut self, ms: i64, data: &[u8]) -> u64 {
        self.at(ms, data).tcp.expect("a TCP row").stream
    }
}

fn limits(attempt: i128, idle: i128, linger: i128) -> Limits {
    Limits {
        timeouts: Timeouts {
            attempt_ns: attempt * SECOND,
            idle_ns: idle * SECOND,
            linger_ns: linger * SECOND,
        },
        ..Limits::default()
    }
}

/// The handshake of client `host`, from `ms` on, one millisecond apart.
fn handshake(feed: &mut Feed, host: u32, ms: i64) -> u64 {
    let stream = feed.stream(ms, &segment(host, 1000, 100, 0, 0x02, true));
    feed.at(ms + 1, &segment(host, 1000, 500, 101, 0x12, false));
    feed.at(ms + 2, &segment(host, 1000, 101, 501, 0x10, true));
    stream
}

#[test]
fn an_unanswered_syn_is_forgotten_after_the_attempt_timeout() {
    let mut feed = Feed::new(Limits::default());
    assert_eq!(feed.stream(0, &segment(1, 1000, 100, 0, 0x02, true)), 0);
    feed.at(4_900, &segment(2, 1000, 100, 0, 0x02, true));
    assert!(feed.forgotten.is_empty(), "not before 5 s");
    feed.at(5_100, &segment(3, 1000, 100, 0, 0x02, true));
    assert_eq!(feed.forgotten, [0]);
    assert_eq!(feed.dissector.tracker().open_connections(), 2);
}

#[test]
fn an_answered_connection_is_under_the_idle_timeout_not_the_attempt_one() {
    let mut feed = Feed::new(limits(5, 60, 30));
    assert_eq!(handshake(&mut feed, 1, 0), 0);
    feed.at(59_000, &segment(2, 1000, 100, 0, 0x02, true));
    assert!(
        feed.forgotten.is_empty(),
        "an established connection idles 60 s here"
    );
    feed.at(60_100, &segment(2, 1000, 100, 0, 0x02, true));
    assert_eq!(feed.forgotten, [0]);
}

#[test]
fn a_closed_connection_lingers_then_is_forgotten() {
    let mut feed = Feed::new(limits(5, 3600, 10));
    handshake(&mut feed, 1, 0);
    feed.at(10, &segment(1, 1000, 101, 501, 0x11, true));
    feed.at(11, &segment(1, 1000, 501, 102, 0x11, false));
    feed.at(12, &segment(1, 1000, 102, 502, 0x10, true));
    feed.at(9_000, &segment(2, 1000, 100, 0, 0x02, true));
    assert!(feed.forgotten.is_empty());
    feed.at(10_100, &segment(3, 1000, 100, 0, 0x02, true));
    assert_eq!(
        feed.forgotten,
        [0],
        "the closed one, not the attempt of 9 s"
    );
}

#[test]
fn a_forgotten_tuple_keeps_its_stream_and_a_new_isn_on_it_is_port_reuse() {
    let mut feed = Feed::new(Limits::default());
    assert_eq!(feed.stream(0, &segment(1, 1000, 100, 0, 0x02, true)), 0);
    assert_eq!(feed.stream(100, &segment(2, 1000, 100, 0, 0x02, true)), 1);
    // Both forgotten at 6 s; stream 2 is new.
    assert_eq!(feed.stream(6_000, &segment(3, 1000, 100, 0, 0x02, true)), 2);
    assert_eq!(feed.forgotten, [0, 1]);
    // The first client retries its SYN (same ISN): still stream 0, a retransmission.
    let retry = feed.at(7_000, &segment(1, 1000, 100, 0, 0x02, true));
    let tcp = retry.tcp.unwrap();
    assert_eq!((tcp.stream, tcp.relative_seq), (0, 0));
    // The second opens anew (another ISN): a new stream, flagged as port reuse, as tshark.
    let reuse = feed.at(7_100, &segment(2, 1000, 9999, 0, 0x02, true));
    let tcp = reuse.tcp.unwrap();
    assert_eq!(tcp.stream, 3);
    assert!(
        reuse.info.contains("[TCP Port numbers reused]"),
        "{}",
        reuse.info
    );
    // An answer on the first: relative numbers as if it had never been forgotten.
    let answer = feed.at(7_200, &segment(1, 1000, 500, 101, 0x12, false));
    let tcp = answer.tcp.unwrap();
    assert_eq!((tcp.stream, tcp.relative_seq, tcp.relative_ack), (0, 0, 1));
    assert_eq!(feed.stream(7_300, &segment(4, 1000, 100, 0, 0x02, true)), 4);
}

#[test]
fn the_memory_budget_forgets_the_oldest_first_and_counts_them() {
    let max_bytes = 1 << 20;
    let mut feed = Feed::new(Limits {
        max_bytes,
        ..limits(3600, 3600, 3600)
    });
    let mut first_forgotten = None;
    for host in 0..20_000u32 {
        let stream = feed.stream(i64::from(host), &segment(host, 1000, 100, 0, 0x02, true));
        assert_eq!(stream, u64::from(host), "streams stay tshark's");
        if first_forgotten.is_none() && !feed.forgotten.is_empty() {
            first_forgotten = Some(feed.forgotten.clone());
        }
        assert!(feed.dissector.tracker().state_bytes() <= max_bytes);
    }
    let shed = feed.dissector.shed();
    assert!(shed.connections > 10_000, "{shed:?}");
    assert_eq!(shed.connections as usize, feed.forgotten.len());
    let first = first_forgotten.unwrap();
    assert_eq!(
        first,
        (0..first.len() as u64).collect::<Vec<_>>(),
        "oldest first"
    );
}

#[test]
fn expiry_looks_only_at_what_is_due() {
    let mut feed = Feed::new(limits(5, 600, 30));
    // 5,000 connections established at once, then one busy connection for 10,000 frames:
    // no work for the 5,000 quiet ones until they are due.
    for host in 0..5_000u32 {
        handshake(&mut feed, host, 0);
    }
    let before = feed.dissector.tracker().expiry_visits();
    for i in 0..10_000u32 {
        let seq = 101 + i;
        feed.at(
            10 + i64::from(i) * 50,
            &segment(0, 1000, seq, 501, 0x10, true),
        );
    }
    // The busy one is looked at about once per idle timeout, and no quiet one at all: an
    // entry is pushed when a connection changes kind, never per packet, and the entry
    // each had in the attempt queue was taken back when its SYN was answered.
    let visits = feed.dissector.tracker().expiry_visits() - before;
    assert!(
        visits <= 4,
        "{visits} visits in 500 s of one busy connection"
    );
    assert!(feed.forgotten.is_empty());
    // Once they are due, each quiet one is visited once and forgotten.
    feed.at(700_000, &segment(0, 1000, 20_000, 501, 0x10, true));
    let visits = feed.dissector.tracker().expiry_visits() - before;
    assert_eq!(feed.forgotten.len(), 4_999);
    assert!(visits <= 4_999 + 8, "{visits}");
}

/// Frames of 1,500 clients that open, some answered and some closed, go quiet past the
/// attempt timeout, and come back: with the ISN of before (the record taken back), with a
/// new one (port reuse), or mid-connection; seeded, so every run is the same.
fn churn() -> Vec<(i64, Vec<u8>)> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % n
    };
    let mut frames = Vec::new();
    for round in 0..6i64 {
        let start = round * 8_000;
        for host in 0..1500u32 {
            let ms = start + i64::from(host);
            let isn = if next(3) == 0 {
                7_000 + round as u32
            } else {
                100
            };
            frames.push((ms, segment(host, 1000, isn, 0, 0x02, true)));
            match next(4) {
                0 => {}
                1 => frames.push((ms + 400, segment(host, 1000, 500, isn + 1, 0x12, false))),
                2 => frames.push((ms + 500, segment(host, 1000, isn + 1, 501, 0x10, true))),
                _ => frames.push((ms + 600, segment(host, 1000, 500, isn + 1, 0x14, false))),
            }
        }
    }
    frames.sort_by_key(|(ms, _)| *ms);
    frames
}

/// Frame `number`, Ethernet, at `ms` milliseconds.
fn frame_at(number: u64, ms: i64, data: &[u8]) -> Frame<'_> {
    let timestamp = Timestamp {
        secs: ms / 1000,
        nanos: (ms % 1000) as u32 * 1_000_000,
    };
    Frame::packet(number, Some(timestamp), 1, data)
}

/// Stream, relative seq and ack of every frame, through a dissector for `pass`, and what
/// the budget cost.
fn numbers(pass: Pass, limits: Limits, frames: &[(i64, Vec<u8>)]) -> (Vec<(u64, u32, u32)>, Shed) {
    let mut dissector = Dissector::for_pass_with(pass, Exchanges::Framed, limits);
    let mut out = Vec::new();
    for (i, (ms, data)) in frames.iter().enumerate() {
        let row = dissector.dissect(&frame_at(i as u64 + 1, *ms, data));
        dissector.take_finished();
        let tcp = row.tcp.expect("a TCP row");
        out.push((tcp.stream, tcp.relative_seq, tcp.relative_ack));
    }
    let shed = dissector.shed();
    dissector.finish();
    (out, shed)
}

/// A second pass keeps no records of forgotten connections: it asks its first pass,
/// running at once on another thread, for each one taken back. Its numbers are a single
/// pass's, with the default budget and with one so small that records are dropped.
#[test]
fn a_second_pass_takes_back_what_its_first_pass_took() {
    let frames = churn();
    for max_bytes in [Limits::default().max_bytes, 64 << 10] {
        let limits = Limits {
            max_bytes,
            ..limits(5, 3600, 2)
        };
        let (single, shed) = numbers(Pass::Single, limits, &frames);
        assert_eq!(shed.records > 0, max_bytes < 1 << 20, "{shed:?}");
        let board = std::sync::Arc::new(wirenote_core::FactBoard::new());
        let first = {
            let board = std::sync::Arc::clone(&board);
            let frames = frames.clone();
            std::thread::spawn(move || {
                let _close = wirenote_core::CloseOnDrop(&board);
                numbers(Pass::First(std::sync::Arc::clone(&board)), limits, &frames)
            })
        };
        let second = numbers(Pass::Second(board), limits, &frames);
        assert_eq!(first.join().unwrap().0, single, "budget {max_bytes}");
        assert_eq!(second.0, single, "budget {max_bytes}");
        let streams = single.iter().map(|n| n.0).max().unwrap() + 1;
        // Port reuse made new streams, records taken back kept theirs (under the small
        // budget, most answers find neither and start streams of their own).
        assert!(
            max_bytes < 1 << 20 || (3_000..7_500).contains(&streams),
            "both kinds of return: {streams} streams, budget {max_bytes}"
        );
    }
}
