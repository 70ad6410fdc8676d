//! Property tests: no input makes wirenote panic, and connection state stays bounded.

use proptest::prelude::*;
use wirenote_bench::TcpFrame;
use wirenote_core::{pipeline::dissect::CLOSED_LINGER_NS, Dissector};
use wirenote_core::{CaptureReader, Frame, FrameKind, Timestamp};

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
    Frame {
        number,
        timestamp: Some(Timestamp { secs, nanos: 0 }),
        link_type: 1,
        interface_id: 0,
        orig_len: data.len() as u32,
        data,
        kind: FrameKind::Packet,
        offset: 0,
        raw_time: None,
        section: 0,
        snaplen: 65535,
        options: &[],
        options_big_endian: false,
    }
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

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

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

    /// Arbitrary segment sequences on one connection: no panic, sane relative numbers.
    #[test]
    fn tracker_never_panics_on_arbitrary_segments(
        segments in proptest::collection::vec(
            (any::<bool>(), any::<u32>(), any::<u32>(), 0u8..64, any::<u16>(), proptest::collection::vec(any::<u8>(), 0..40)),
            1..64,
        )
    ) {
        let mut dissector = Dissector::new();
        for (i, (forward, seq, ack, flags, window, payload)) in segments.iter().enumerate() {
            let bytes = tcp_frame(40000, 80, *seq, *ack, *flags, *window, payload, *forward);
            let row = dissector.dissect(&frame(i as u64 + 1, i as i64, &bytes));
            let tcp = row.tcp.expect("a TCP row");
            prop_assert!(tcp.role.is_some() && tcp.client_state.is_some());
        }
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
