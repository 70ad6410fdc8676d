//! Findings of a code review, each checked against what Wireshark does: a TCP header
//! longer than its IP packet, and pcapng frames without a timestamp among frames with one.

mod gen;

use std::process::Command;

use gen::{frame_bytes, Seg, ACK, PSH, SYN};
use wirenote_core::record::PacketRecord;
use wirenote_core::{CaptureReader, Dissector};

fn rows(bytes: &[u8]) -> Vec<PacketRecord> {
    let mut reader = CaptureReader::from_slice(bytes).expect("capture opens");
    let mut dissector = Dissector::new();
    let mut rows = Vec::new();
    while let Ok(Some(frame)) = reader.next_frame() {
        rows.push(dissector.dissect(&frame));
    }
    rows
}

fn seg(from_client: bool, flags: u8, seq: u32, ack: u32, len: usize) -> Seg {
    Seg {
        from_client,
        flags,
        seq,
        ack,
        len,
    }
}

/// The frame with its TCP data offset set to 15 words (60 bytes) in a 20-byte segment.
fn bogus_header(mut frame: Vec<u8>) -> Vec<u8> {
    frame[14 + 20 + 12] = 15 << 4;
    frame
}

/// A bogus header length takes the conversation's stream number (tshark finds or makes
/// the conversation first) but moves no analysis state: the real SYN that follows is
/// the connection's first, not a retransmission.
#[test]
fn bogus_tcp_header_takes_a_stream_and_changes_nothing() {
    let frames = [
        bogus_header(frame_bytes(1111, &seg(true, SYN, 100, 0, 0))),
        frame_bytes(2222, &seg(true, SYN, 200, 0, 0)),
        frame_bytes(1111, &seg(true, SYN, 100, 0, 0)),
    ];
    let mut bytes = Vec::new();
    wirenote_bench::write_pcap(
        &mut bytes,
        frames
            .iter()
            .enumerate()
            .map(|(i, f)| (1_000_000 + i as u64, f.as_slice())),
    )
    .unwrap();
    let rows = rows(&bytes);
    let summary: Vec<_> = rows
        .iter()
        .map(|r| {
            let t = r.tcp.as_ref().unwrap();
            (
                t.stream,
                t.relative_seq,
                r.info.as_str(),
                r.malformed.is_some(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                0,
                100,
                "1111 → 80 [SYN] Seq=100 Win=1000[Malformed Packet]",
                true
            ),
            (1, 0, "2222 → 80 [SYN] Seq=0 Win=1000 Len=0", false),
            (0, 0, "1111 → 80 [SYN] Seq=0 Win=1000 Len=0", false),
        ]
    );
    assert!(rows[2].tcp.as_ref().unwrap().analysis.flags.is_empty());
    // The same with tshark itself, where it is installed.
    if !wirenote_testkit::require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bogus.pcap");
    std::fs::write(&path, &bytes).unwrap();
    let out = Command::new("tshark")
        .args(["-r", path.to_str().unwrap(), "-T", "fields"])
        .args(["-e", "tcp.stream", "-e", "tcp.seq", "-e", "_ws.col.Info"])
        .output()
        .unwrap();
    let theirs = String::from_utf8(out.stdout).unwrap();
    let ours: String = summary
        .iter()
        .map(|(stream, seq, info, _)| format!("{stream}\t{seq}\t{info}\n"))
        .collect();
    assert_eq!(ours, theirs);
}

/// A pcapng block of `kind` with `body`, padded, both lengths written.
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let padded = body.len().div_ceil(4) * 4;
    let total = (12 + padded) as u32;
    let mut out = Vec::new();
    out.extend_from_slice(&kind.to_le_bytes());
    out.extend_from_slice(&total.to_le_bytes());
    out.extend_from_slice(body);
    out.resize(8 + padded, 0);
    out.extend_from_slice(&total.to_le_bytes());
    out
}

fn pcapng(frames: &[(Option<u64>, Vec<u8>)]) -> Vec<u8> {
    let mut shb = Vec::new();
    shb.extend_from_slice(&0x1A2B_3C4Du32.to_le_bytes());
    shb.extend_from_slice(&1u16.to_le_bytes());
    shb.extend_from_slice(&0u16.to_le_bytes());
    shb.extend_from_slice(&(-1i64).to_le_bytes());
    let mut out = block(0x0A0D_0D0A, &shb);
    let mut idb = Vec::new();
    idb.extend_from_slice(&1u16.to_le_bytes()); // Ethernet
    idb.extend_from_slice(&0u16.to_le_bytes());
    idb.extend_from_slice(&65535u32.to_le_bytes());
    out.extend(block(1, &idb));
    for (micros, data) in frames {
        let mut body = Vec::new();
        match micros {
            Some(t) => {
                body.extend_from_slice(&0u32.to_le_bytes());
                body.extend_from_slice(&((t >> 32) as u32).to_le_bytes());
                body.extend_from_slice(&(*t as u32).to_le_bytes());
                body.extend_from_slice(&(data.len() as u32).to_le_bytes());
                body.extend_from_slice(&(data.len() as u32).to_le_bytes());
                body.extend_from_slice(data);
                out.extend(block(6, &body));
            }
            None => {
                body.extend_from_slice(&(data.len() as u32).to_le_bytes());
                body.extend_from_slice(data);
                out.extend(block(3, &body));
            }
        }
    }
    out
}

/// Simple Packet Blocks carry no time. Before any frame has one, and between frames that
/// do, they must not make the capture's clock jump back to the epoch: that made every
/// connection look idle for decades at the next timed frame, forgotten, and renumbered.
#[test]
fn frames_without_time_do_not_evict_connections() {
    let hour_and_more = 3_700_000_000u64; // µs
    let base = 1_700_000_000_000_000u64;
    let conv = [
        seg(true, SYN, 1000, 0, 0),
        seg(false, SYN | ACK, 5000, 1001, 0),
        seg(true, ACK, 1001, 5001, 0),
        seg(true, PSH | ACK, 1001, 5001, 10),
        seg(false, ACK, 5001, 1011, 0),
    ];
    // Untimed first, timed later; and timed, untimed, timed.
    for times in [
        [None, None, Some(base), None, Some(base + 1000)],
        [Some(base), None, None, Some(base + 2000), None],
    ] {
        let mut frames: Vec<(Option<u64>, Vec<u8>)> = conv
            .iter()
            .zip(times)
            .map(|(s, t)| (t, frame_bytes(40000, s)))
            .collect();
        // Many frames of another connection, so that sweeps run, then the first again,
        // still within the idle timeout of its last timed frame.
        for i in 0..20_000u32 {
            let s = seg(true, ACK, 7000 + i, 9000, 0);
            frames.push((None, frame_bytes(40001, &s)));
        }
        // A timed frame of a third connection runs a sweep; then the first again.
        frames.push((
            Some(base + hour_and_more / 2),
            frame_bytes(40002, &seg(true, SYN, 1, 0, 0)),
        ));
        frames.push((None, frame_bytes(40000, &seg(true, ACK, 1011, 5001, 0))));
        frames.push((None, frame_bytes(40001, &seg(true, ACK, 90_000, 9000, 0))));
        let rows = rows(&pcapng(&frames));
        let streams_of = |port: u16| {
            let mut streams: Vec<u64> = rows
                .iter()
                .filter_map(|r| r.tcp.as_ref())
                .filter(|t| t.source_port == port || t.destination_port == port)
                .map(|t| t.stream)
                .collect();
            streams.dedup();
            streams
        };
        assert_eq!(streams_of(40000), vec![0], "{times:?}");
        assert_eq!(streams_of(40001), vec![1], "{times:?}");
    }
}
