//! Bounded memory (issue #19) through the binary: a forgotten 4-tuple that comes back
//! gets tshark's stream number (tshark run live on a generated capture), the flags, and
//! the memory budget's one warning.

use std::path::Path;
use std::process::{Command, Output};

use wirenote_bench::{write_pcap, TcpFrame};
use wirenote_testkit::require;

fn wirenote(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wirenote"))
        .args(args)
        .output()
        .expect("wirenote runs")
}

/// A segment of client 10.1.0.`host`:`sport` → 10.0.0.2:80 (or back).
fn segment(host: u8, sport: u16, seq: u32, ack: u32, flags: u8, forward: bool) -> Vec<u8> {
    let client = [10, 1, 0, host];
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

/// Unanswered SYNs forgotten after the 5-second attempt timeout, then their 4-tuples
/// again: a retry with the same ISN (tshark: the same stream), a SYN with a new ISN
/// (tshark: port reuse, a new stream), an answered connection on a forgotten tuple, and
/// new tuples between them.
fn returning_tuples(path: &Path) {
    let s = 1_000_000u64;
    let frames: Vec<(u64, Vec<u8>)> = vec![
        (0, segment(1, 1000, 100, 0, 0x02, true)),
        (s / 10, segment(2, 1000, 200, 0, 0x02, true)),
        (2 * s / 10, segment(3, 1000, 300, 0, 0x02, true)),
        (10 * s, segment(4, 1000, 400, 0, 0x02, true)),
        (11 * s, segment(1, 1000, 100, 0, 0x02, true)),
        (11 * s + 1, segment(2, 1000, 7777, 0, 0x02, true)),
        (11 * s + 2, segment(3, 1000, 300, 0, 0x02, true)),
        (11 * s + 3, segment(3, 1000, 900, 301, 0x12, false)),
        (11 * s + 4, segment(3, 1000, 301, 901, 0x10, true)),
        (11 * s + 5, segment(5, 1000, 500, 0, 0x02, true)),
        (30 * s, segment(2, 1000, 7778, 0, 0x10, true)),
        (30 * s + 1, segment(6, 1000, 600, 0, 0x02, true)),
    ];
    let mut out = std::fs::File::create(path).unwrap();
    write_pcap(&mut out, frames.iter().map(|(t, f)| (*t, f.as_slice()))).unwrap();
}

#[test]
fn a_forgotten_tuple_that_comes_back_gets_tsharks_stream() {
    if !require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let cap = dir.join("returning.pcap");
    returning_tuples(&cap);
    let cap = cap.to_str().unwrap();
    let tshark = Command::new("tshark")
        .args(["-n", "-r", cap, "-T", "fields", "-E", "separator=,"])
        .args([
            "-e",
            "frame.number",
            "-e",
            "tcp.stream",
            "-e",
            "tcp.seq",
            "-e",
            "tcp.ack",
        ])
        .output()
        .expect("tshark runs");
    assert!(tshark.status.success());
    let ours = wirenote(&["annotate", cap, "-e", "frame,stream,seq,ack"]);
    assert!(
        ours.status.success(),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    let ours = String::from_utf8(ours.stdout).unwrap();
    let ours: Vec<&str> = ours.lines().skip(1).collect();
    let theirs = String::from_utf8(tshark.stdout).unwrap();
    let theirs: Vec<String> = theirs
        .lines()
        .map(|l| {
            // tshark leaves tcp.ack empty without the ACK flag; we show the raw field.
            let f: Vec<&str> = l.split(',').collect();
            format!("{},{},{}", f[0], f[1], f[2])
        })
        .collect();
    let ours_no_ack: Vec<String> = ours
        .iter()
        .map(|l| l.rsplit_once(',').unwrap().0.to_owned())
        .collect();
    assert_eq!(ours_no_ack, theirs);
    // And the ACKs where tshark shows one.
    for (line, t) in ours
        .iter()
        .zip(String::from_utf8_lossy(&tshark_acks(cap)).lines())
    {
        if !t.is_empty() {
            assert!(line.ends_with(&format!(",{t}")), "{line} vs tshark ack {t}");
        }
    }
}

fn tshark_acks(cap: &str) -> Vec<u8> {
    Command::new("tshark")
        .args(["-n", "-r", cap, "-T", "fields", "-e", "tcp.ack"])
        .output()
        .expect("tshark runs")
        .stdout
}

#[test]
fn the_timeout_flags_change_what_is_forgotten() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let cap = dir.join("flags.pcap");
    returning_tuples(&cap);
    let cap = cap.to_str().unwrap();
    let flows = |extra: &[&str]| {
        let mut args = vec!["flows", cap, "-e", "stream,packets_c2s"];
        args.extend_from_slice(extra);
        let out = wirenote(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    // One row per stream either way; forgotten at 5 s, stream 0's row is its first SYN
    // alone (its retry came back as a second part, see the README), kept for 100 s both.
    let default = flows(&[]);
    let kept = flows(&["--attempt-timeout", "100"]);
    assert_eq!(default.lines().count(), 8, "{default}");
    assert_eq!(kept.lines().count(), 8, "{kept}");
    assert_eq!(default.lines().nth(1), Some("0,1"));
    assert_eq!(kept.lines().nth(1), Some("0,2"));
    let bad = wirenote(&["flows", cap, "--max-memory", "12 parsecs"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--max-memory"));
    let bad = wirenote(&["flows", cap, "--idle-timeout", "-1"]);
    assert!(!bad.status.success());
}

#[test]
fn the_memory_budget_says_once_how_many_it_forgot() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let cap = dir.join("many.pcap");
    let frames: Vec<(u64, Vec<u8>)> = (0..20_000u32)
        .map(|i| {
            let host = [10, 2, (i >> 8) as u8, i as u8];
            let frame = TcpFrame {
                ips: (host, [10, 0, 0, 2]),
                ports: (1000, 80),
                seq: i,
                flags: 0x02,
                window: 1000,
                ..TcpFrame::default()
            }
            .build();
            (u64::from(i), frame)
        })
        .collect();
    let mut out = std::fs::File::create(&cap).unwrap();
    write_pcap(&mut out, frames.iter().map(|(t, f)| (*t, f.as_slice()))).unwrap();
    drop(out);
    let cap = cap.to_str().unwrap();
    let out = wirenote(&["annotate", cap, "--max-memory", "4MiB", "-e", "stream"]);
    assert!(out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("memory budget"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("connections forgotten before their timeout"),
        "{stderr}"
    );
    // Streams stay dense and in order: each SYN is a new stream whatever was forgotten.
    let stdout = String::from_utf8(out.stdout).unwrap();
    let streams: Vec<u64> = stdout.lines().skip(1).map(|l| l.parse().unwrap()).collect();
    assert_eq!(streams, (0..20_000).collect::<Vec<u64>>());
    let quiet = wirenote(&["annotate", cap, "-e", "stream"]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("memory budget"));
}
