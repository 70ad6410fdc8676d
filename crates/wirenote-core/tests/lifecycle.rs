//! Golden files for the lifecycle columns (role, both states, analysis) and the flows
//! table, on the captures that exercise each case: handshake and 4-way close (get, web),
//! refused SYN (web stream 0), simultaneous close (http-500-head), half-close
//! (http-11-request-then-cruft), split handshake (split-handshake-4whs), mid-stream start
//! (get_nosyn), retransmissions and zero windows (wireshark-retrans, 206_example_b), a SYN
//! scan (synscan), and our own lab capture.
//!
//! The expected files in `tests/golden/` were produced by wirenote and checked by hand
//! against the packets (see the notes at the top of each file). `WIRENOTE_BLESS=1`
//! rewrites them; review the diff before committing.

mod corpus;

use std::fmt::Write as _;
use std::path::PathBuf;

use corpus::Corpus;
use wirenote_core::record::ConnRecord;
use wirenote_core::CaptureReader;
use wirenote_core::Dissector;

const CORPUS_CASES: &[&str] = &[
    "get.pcap",
    "web.pcap",
    "http-500-head.pcap",
    "http-11-request-then-cruft.pcap",
    "split-handshake-4whs.pcap",
    "get_nosyn.pcap",
    "wireshark-retrans.pcap",
    "206_example_b.pcap",
    "synscan.pcap",
    "qi_internet_SYNACK_curl_jsonip.pcap",
    "one_http_stream_rst.pcap",
];

/// Renders the lifecycle view of a capture: one line per TCP frame, then one per connection.
fn render(bytes: &[u8]) -> String {
    let mut reader = CaptureReader::from_slice(bytes).expect("capture opens");
    let mut dissector = Dissector::new();
    let mut out = String::from("frame,stream,dir,flags,role,client_state,server_state,analysis\n");
    let mut conns = Vec::new();
    while let Ok(Some(frame)) = reader.next_frame() {
        let record = dissector.dissect(&frame);
        conns.extend(dissector.take_finished());
        let Some(t) = record.tcp else { continue };
        let _ = writeln!(
            out,
            "{},{},{},{:03x},{},{},{},{}",
            record.frame,
            t.stream,
            if t.from_client { "c2s" } else { "s2c" },
            t.flags,
            t.role.map_or("", |r| r.as_str()),
            t.client_state.map_or("", |s| s.as_str()),
            t.server_state.map_or("", |s| s.as_str()),
            t.analysis.names()
        );
    }
    conns.extend(dissector.finish());
    conns.sort_by_key(|c| c.stream);
    out.push_str("stream,client,server,conn_state,history,closed_by,client_final,server_final,completeness,retransmissions,midstream\n");
    for conn in &conns {
        let r = ConnRecord::from_conn(conn);
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
            r.stream,
            r.client,
            r.server,
            r.conn_state.as_str(),
            r.history,
            r.closed_by,
            r.client_final,
            r.server_final,
            r.completeness,
            r.retransmissions,
            r.midstream
        );
    }
    out
}

fn golden_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(format!("{name}.lifecycle.csv"))
}

fn check(name: &str, bytes: &[u8]) -> Option<String> {
    let got = render(bytes);
    let path = golden_path(name);
    if std::env::var_os("WIRENOTE_BLESS").is_some() {
        std::fs::write(&path, &got).expect("write golden");
        return None;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if got == want {
        return None;
    }
    let diff: Vec<String> = got
        .lines()
        .zip(want.lines())
        .filter(|(g, w)| g != w)
        .take(5)
        .map(|(g, w)| format!("  ours: {g}\n  want: {w}"))
        .collect();
    Some(format!(
        "{name}: {} lines vs {} expected\n{}",
        got.lines().count(),
        want.lines().count(),
        diff.join("\n")
    ))
}

#[test]
fn lab_fixture_lifecycle_is_stable() {
    let fixtures = Corpus::fixtures();
    let bytes = fixtures.read_capture("lab-5000.pcap");
    if let Some(diff) = check("lab-5000.pcap", &bytes) {
        panic!("{diff}");
    }
}

#[test]
fn corpus_lifecycle_is_stable() {
    let Some(corpus) = Corpus::locate() else {
        return;
    };
    let failures: Vec<String> = CORPUS_CASES
        .iter()
        .filter_map(|name| check(name, &corpus.read_capture(name)))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
