//! Property tests: no input makes wirenote panic, connection state stays bounded, and
//! the TCP lifecycle keeps its invariants (see `lifecycle_properties` below).
//!
//! Failing cases are persisted to `proptest-regressions/properties.txt` under the crate
//! (set explicitly with `FileFailurePersistence::Direct`, a path relative to the crate
//! root where `cargo test` runs: the default would put a `.proptest-regressions` file
//! beside this one). The file is committed; its cases are replayed before new ones.

mod gen;

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use wirenote_bench::TcpFrame;
use wirenote_core::conn::lifecycle::{Role, TcpState};
use wirenote_core::pipeline::dissect::CLOSED_LINGER_NS;
use wirenote_core::record::TcpRecord;
use wirenote_core::{CaptureError, CaptureReader, Dissector, Frame, Timestamp};

/// A pcap header (little-endian, µs, Ethernet) followed by `body`.
fn pcap_with(body: &[u8]) -> Vec<u8> {
    let mut out = vec![
        0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];
    out.extend_from_slice(body);
    out
}

/// An Ethernet/IPv4/TCP frame between two fixed hosts.
#[allow(clippy::too_many_arguments)]
fn tcp_frame(
    sport: u16,
    dport: u16,
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    payload: &[u8],
    forward: bool,
) -> Vec<u8> {
    let (ips, ports) = if forward {
        (([10, 0, 0, 1], [10, 0, 0, 2]), (sport, dport))
    } else {
        (([10, 0, 0, 2], [10, 0, 0, 1]), (dport, sport))
    };
    TcpFrame {
        ips,
        ports,
        seq,
        ack,
        flags,
        window,
        payload,
        ..TcpFrame::default()
    }
    .build()
}

fn frame(number: u64, secs: i64, data: &[u8]) -> Frame<'_> {
    Frame::packet(number, Some(Timestamp { secs, nanos: 0 }), 1, data)
}

fn read_all(file: &[u8]) {
    if let Ok(mut reader) = CaptureReader::from_slice(file) {
        let mut dissector = Dissector::new();
        // Bounded: a record is at least 16 bytes, so 512 iterations cover any body here.
        for _ in 0..512 {
            match reader.next_frame() {
                Ok(Some(frame)) => {
                    dissector.dissect(&frame);
                }
                _ => break,
            }
        }
    }
}

/// `cases` cases per test, failures saved to the committed regressions file.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "proptest-regressions/properties.txt",
        ))),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Any bytes after a valid pcap header: frames or an error, never a panic.
    #[test]
    fn reader_never_panics(body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let file = pcap_with(&body);
        read_all(&file);
    }

    /// Any blocks after a valid pcapng section header, in either byte order.
    #[test]
    fn pcapng_reader_never_panics(body in proptest::collection::vec(any::<u8>(), 0..2048), big in any::<bool>()) {
        let mut file = if big {
            vec![0x0a, 0x0d, 0x0d, 0x0a, 0, 0, 0, 28, 0x1a, 0x2b, 0x3c, 0x4d, 0, 1, 0, 0]
        } else {
            vec![0x0a, 0x0d, 0x0d, 0x0a, 28, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0]
        };
        file.extend_from_slice(&[0xff; 8]);
        file.extend_from_slice(if big { &[0, 0, 0, 28] } else { &[28, 0, 0, 0] });
        // An interface description block (Ethernet) so that packet blocks can be read.
        let idb: [u8; 20] = if big {
            [0, 0, 0, 1, 0, 0, 0, 20, 0, 1, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 20]
        } else {
            [1, 0, 0, 0, 20, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0, 0, 20, 0, 0, 0]
        };
        file.extend_from_slice(&idb);
        file.extend_from_slice(&body);
        read_all(&file);
    }

    /// Any bytes as a frame of any supported link type: a row, never a panic.
    #[test]
    fn dissector_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256), link in prop::sample::select(vec![0u32, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147])) {
        let mut dissector = Dissector::new();
        let mut f = frame(1, 0, &data);
        f.link_type = link;
        let row = dissector.dissect(&f);
        prop_assert_eq!(row.frame, 1);
    }
}

/// Many short connections, each closed: memory follows open connections, not the capture.
#[test]
fn closed_connections_are_evicted() {
    let mut dissector = Dissector::new();
    let mut number = 0;
    let mut finished = 0;
    let step = (CLOSED_LINGER_NS / 1_000_000_000 / 10) as i64;
    for c in 0..3000u32 {
        let sport = 1024 + (c % 60000) as u16;
        let t = i64::from(c) * step;
        let isn = c.wrapping_mul(7919);
        for (forward, seq, ack, flags) in [
            (true, isn, 0, 0x02),
            (false, 5000, isn + 1, 0x12),
            (true, isn + 1, 5001, 0x10),
            (true, isn + 1, 5001, 0x11),
            (false, 5001, isn + 2, 0x11),
            (true, isn + 2, 5002, 0x10),
        ] {
            number += 1;
            let bytes = tcp_frame(sport, 80, seq, ack, flags, 1000, &[], forward);
            dissector.dissect(&frame(number, t, &bytes));
        }
        finished += dissector.take_finished().len();
        assert!(
            dissector.tracker().open_connections() <= 64,
            "open {} at connection {c}",
            dissector.tracker().open_connections()
        );
    }
    finished += dissector.finish().len();
    assert_eq!(finished, 3000);
}

/// A single frame stamped far in the future (a clock glitch) must not evict the live
/// connections: the next packet of a connection keeps its stream number.
#[test]
fn a_clock_glitch_does_not_evict_live_connections() {
    let mut dissector = Dissector::new();
    let mut number = 0;
    let mut feed = |dissector: &mut Dissector, bytes: Vec<u8>, secs: i64| {
        number += 1;
        dissector
            .dissect(&frame(number, secs, &bytes))
            .tcp
            .expect("TCP")
            .stream
    };
    assert_eq!(
        feed(
            &mut dissector,
            tcp_frame(40000, 80, 1, 0, 0x02, 1000, &[], true),
            100
        ),
        0
    );
    assert_eq!(
        feed(
            &mut dissector,
            tcp_frame(40000, 80, 9, 2, 0x12, 1000, &[], false),
            100
        ),
        0
    );
    // Another host's packet stamped 80 years later.
    assert_eq!(
        feed(
            &mut dissector,
            tcp_frame(50000, 443, 5, 0, 0x02, 1000, &[], true),
            2_600_000_000
        ),
        1
    );
    for i in 0..20_000 {
        feed(
            &mut dissector,
            tcp_frame(40000, 80, 2 + i, 10, 0x10, 1000, &[], true),
            101,
        );
    }
    assert_eq!(
        feed(
            &mut dissector,
            tcp_frame(40000, 80, 30_000, 10, 0x18, 1000, b"x", true),
            101
        ),
        0
    );
}

/// The TCP rows of a capture, in frame order.
fn tcp_rows(pcap: &[u8]) -> Vec<TcpRecord> {
    let mut reader = CaptureReader::from_slice(pcap).expect("a generated capture opens");
    let mut dissector = Dissector::new();
    let mut rows = Vec::new();
    while let Some(frame) = reader.next_frame().expect("a generated capture reads") {
        let record = dissector.dissect(&frame);
        rows.push(record.tcp.expect("every generated frame is TCP"));
    }
    rows
}

/// RFC 9293 Figure 5 as a directed acyclic graph, with CLOSED split into where a side
/// starts and where it ends. A state "moves forward" when the new one is reachable from
/// the old one. Besides the figure's edges: any state → CLOSED (a reset, §3.5.2), and
/// CLOSE-WAIT → CLOSING (the observer's simultaneous close: a side that sends its FIN
/// before acknowledging the peer's crossing FIN).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Node {
    Start,
    State(TcpState),
    End,
}

fn edges(node: Node) -> Vec<Node> {
    use TcpState::*;
    let s = Node::State;
    let mut next = match node {
        Node::Start => vec![s(Listen), s(SynSent)],
        Node::End => return Vec::new(),
        Node::State(state) => match state {
            Listen => vec![s(SynReceived), s(SynSent)],
            SynSent => vec![s(SynReceived), s(Established)],
            SynReceived => vec![s(Established), s(FinWait1)],
            Established => vec![s(FinWait1), s(CloseWait)],
            FinWait1 => vec![s(FinWait2), s(Closing), s(TimeWait)],
            FinWait2 => vec![s(TimeWait)],
            CloseWait => vec![s(LastAck), s(Closing)],
            Closing => vec![s(TimeWait)],
            LastAck | TimeWait | Closed => vec![],
        },
    };
    next.push(Node::End);
    next
}

fn reachable(from: Node, to: Node) -> bool {
    let mut stack = edges(from);
    while let Some(n) = stack.pop() {
        if n == to {
            return true;
        }
        stack.extend(edges(n));
    }
    false
}

/// Where `state` sits, given where the side was before: CLOSED is the start until the side
/// has been anywhere else.
fn node(state: TcpState, before: Node) -> Node {
    match (state, before) {
        (TcpState::Closed, Node::Start) => Node::Start,
        (TcpState::Closed, _) => Node::End,
        (state, _) => Node::State(state),
    }
}

/// Checks that, per stream, both sides' states only move forward.
fn assert_states_move_forward(rows: &[TcpRecord]) -> Result<(), TestCaseError> {
    let mut at: HashMap<u64, [Node; 2]> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        let states = [row.client_state.unwrap(), row.server_state.unwrap()];
        let before = at.entry(row.stream).or_insert([Node::Start; 2]);
        for side in 0..2 {
            let now = node(states[side], before[side]);
            prop_assert!(
                now == before[side] || before[side] == Node::Start || reachable(before[side], now),
                "frame {}: side {} moved back from {:?} to {:?}",
                i + 1,
                side,
                before[side],
                now
            );
            before[side] = now;
        }
    }
    Ok(())
}

/// Checks that, per stream, from its first RST on both sides show CLOSED.
fn assert_reset_is_final(rows: &[TcpRecord]) -> Result<(), TestCaseError> {
    let mut reset: HashMap<u64, usize> = HashMap::new();
    for (i, row) in rows.iter().enumerate() {
        if row.role == Some(Role::Rst) {
            reset.entry(row.stream).or_insert(i + 1);
        }
        if let Some(at) = reset.get(&row.stream) {
            prop_assert_eq!(
                (row.client_state, row.server_state),
                (Some(TcpState::Closed), Some(TcpState::Closed)),
                "frame {} of stream {}, reset at frame {}",
                i + 1,
                row.stream,
                at
            );
        }
    }
    Ok(())
}

/// Checks that every segment with SYN set has relative sequence number 0.
fn assert_syn_seq_is_zero(rows: &[TcpRecord]) -> Result<(), TestCaseError> {
    for (i, row) in rows.iter().enumerate() {
        if row.flags & u16::from(gen::SYN) != 0 {
            prop_assert_eq!(row.relative_seq, 0, "frame {}", i + 1);
        }
    }
    Ok(())
}

/// The error a capture cut `cut` bytes into its records should end with: `None` at a record
/// boundary, else the truncation of the record the cut falls in.
fn expected_end(
    record_starts: &[usize],
    file_len: usize,
    cut: usize,
) -> Option<(u64, u64, usize, usize)> {
    let n = record_starts
        .iter()
        .take_while(|&&start| start < cut)
        .count();
    let (start, end) = match (n.checked_sub(1), record_starts.get(n)) {
        (None, _) => return None,
        (Some(last), next) => (record_starts[last], next.copied().unwrap_or(file_len)),
    };
    if cut == end {
        return None;
    }
    let have = cut - start;
    let need = if have < 16 { 16 } else { end - start };
    Some(((n - 1) as u64, start as u64, have, need))
}

proptest! {
    #![proptest_config(config(256))]

    /// After a RST both sides are CLOSED for the rest of that stream, whatever follows
    /// (a new connection on the same ports is a new stream: its own lifecycle).
    #[test]
    fn reset_is_final(segs in gen::arbitrary_segments(), conv in gen::captured_conversation()) {
        assert_reset_is_final(&tcp_rows(&gen::pcap_one(&segs)))?;
        assert_reset_is_final(&tcp_rows(&gen::pcap_one(&conv)))?;
    }

    /// A SYN or SYN-ACK always has relative sequence number 0: its side's base is its ISN
    /// (a SYN with a new ISN starts a new stream, a SYN-ACK with one rebases its side).
    #[test]
    fn syn_relative_seq_is_zero(segs in gen::arbitrary_segments(), convs in gen::interleaved()) {
        assert_syn_seq_is_zero(&tcp_rows(&gen::pcap_one(&segs)))?;
        assert_syn_seq_is_zero(&tcp_rows(&gen::pcap(&convs)))?;
    }

    /// In a well-formed conversation (whichever close, started late or not, with
    /// retransmissions) each side's state only moves forward along RFC 9293 Figure 5.
    #[test]
    fn states_move_forward(conv in gen::captured_conversation()) {
        assert_states_move_forward(&tcp_rows(&gen::pcap_one(&conv)))?;
    }

    /// The same on several interleaved conversations, some reusing ports.
    #[test]
    fn states_move_forward_per_stream(convs in gen::interleaved()) {
        let rows = tcp_rows(&gen::pcap(&convs));
        assert_states_move_forward(&rows)?;
        assert_reset_is_final(&rows)?;
    }

    /// Stream numbers are dense and first appear in increasing order (0, 1, 2, …), one per
    /// conversation: a SYN with a new ISN on reused ports starts the next number.
    #[test]
    fn streams_are_dense_and_in_order(convs in gen::interleaved()) {
        let rows = tcp_rows(&gen::pcap(&convs));
        let mut next = 0;
        for (i, row) in rows.iter().enumerate() {
            prop_assert!(row.stream <= next, "frame {}: stream {} before {}", i + 1, row.stream, next);
            if row.stream == next {
                next += 1;
            }
        }
        prop_assert_eq!(next as usize, gen::conversations_in(&convs));
    }

    /// Every prefix of a capture reads exactly the frames that end before the cut, then
    /// ends cleanly at a record boundary or with `CaptureError::Truncated` naming the last
    /// good frame, the partial record's offset and its bytes; a cut inside the 24-byte file
    /// header is `UnknownFormat` naming the first bytes.
    #[test]
    fn every_prefix_reads_the_frames_before_the_cut(conv in gen::captured_conversation()) {
        let file = gen::pcap_one(&conv);
        let mut starts = Vec::new();
        let mut at = 24;
        while at < file.len() {
            starts.push(at);
            let caplen = u32::from_le_bytes(file[at + 8..at + 12].try_into().unwrap()) as usize;
            at += 16 + caplen;
        }
        let full: Vec<Vec<u8>> = {
            let mut reader = CaptureReader::from_slice(&file).unwrap();
            std::iter::from_fn(|| reader.next_frame().unwrap().map(|f| f.data.to_vec())).collect()
        };
        prop_assert_eq!(full.len(), starts.len());
        for cut in 0..=file.len() {
            let bytes = &file[..cut];
            let mut reader = match CaptureReader::from_slice(bytes) {
                Ok(reader) => reader,
                Err(CaptureError::UnknownFormat { found }) if cut < 24 => {
                    let want = if cut == 0 { "empty file".to_string() } else {
                        bytes.iter().take(4).map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ")
                    };
                    prop_assert_eq!(found, want);
                    continue;
                }
                Err(e) => return Err(TestCaseError::fail(format!("cut {cut}: {e}"))),
            };
            prop_assert!(cut >= 24);
            let mut got = 0;
            let end = loop {
                match reader.next_frame() {
                    Ok(Some(frame)) => {
                        prop_assert_eq!(frame.number, got as u64 + 1);
                        prop_assert_eq!(frame.data, &full[got][..], "cut {}", cut);
                        got += 1;
                    }
                    Ok(None) => break None,
                    Err(CaptureError::Truncated { last_frame, offset, have, need }) => {
                        break Some((last_frame, offset, have, need))
                    }
                    Err(e) => return Err(TestCaseError::fail(format!("cut {cut}: {e}"))),
                }
            };
            let whole = starts.iter().enumerate().filter(|(i, &s)| s + 16 + full[*i].len() <= cut).count();
            prop_assert_eq!(got, whole, "cut {}", cut);
            prop_assert_eq!(end, expected_end(&starts, file.len(), cut), "cut {}", cut);
        }
    }
}
