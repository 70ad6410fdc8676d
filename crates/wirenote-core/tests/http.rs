//! HTTP exchanges: the lab sequence (200, then 304 on revalidation), pipelining,
//! `100 Continue`, HEAD, chunked bodies, a response over hundreds of segments with
//! retransmissions, and IPv6 — on our lab capture and the public corpus.

mod corpus;

use corpus::Corpus;
use wirenote_core::record::{BodyEnd, ConnRecord, ExchangeRecord, PacketRecord};
use wirenote_core::CaptureReader;
use wirenote_core::{Dissector, Exchanges, Pass};

fn run(bytes: &[u8]) -> (Vec<PacketRecord>, Vec<ExchangeRecord>) {
    let mut reader = CaptureReader::from_slice(bytes).expect("capture opens");
    let mut dissector = Dissector::new();
    let mut rows = Vec::new();
    let mut exchanges = Vec::new();
    while let Ok(Some(frame)) = reader.next_frame() {
        rows.push(dissector.dissect(&frame));
        exchanges.extend(dissector.take_exchanges());
    }
    dissector.finish();
    exchanges.extend(dissector.take_exchanges());
    exchanges.sort_by_key(|e| (e.stream, e.trans_depth));
    (rows, exchanges)
}

/// (stream, depth, request frame, response frame, method, uri, status, revalidated, persistent, after)
type Row<'a> = (
    u64,
    u64,
    Option<u64>,
    Option<u64>,
    Option<&'a str>,
    Option<&'a str>,
    Option<u16>,
    bool,
    bool,
    &'a str,
);

fn summary(exchanges: &[ExchangeRecord]) -> Vec<Row<'_>> {
    exchanges
        .iter()
        .map(|e| {
            (
                e.stream,
                e.trans_depth,
                e.request_frame,
                e.response_frame,
                e.method.as_deref(),
                e.uri.as_deref(),
                e.status,
                e.revalidated,
                e.persistent,
                e.connection_after,
            )
        })
        .collect()
}

#[test]
fn lab_page_logo_and_revalidation() {
    let (rows, exchanges) = run(&Corpus::fixtures().read_capture("lab-5000.pcap"));
    assert_eq!(
        summary(&exchanges),
        vec![
            (
                0,
                1,
                Some(4),
                Some(8),
                Some("GET"),
                Some("/"),
                Some(200),
                false,
                true,
                "reused"
            ),
            (
                0,
                2,
                Some(10),
                Some(13),
                Some("GET"),
                Some("/static/img/logo.jpg"),
                Some(200),
                false,
                true,
                "closed"
            ),
            (
                1,
                1,
                Some(21),
                Some(23),
                Some("GET"),
                Some("/static/img/logo.jpg"),
                Some(304),
                true,
                true,
                "closed"
            ),
            (
                2,
                1,
                Some(31),
                Some(35),
                Some("GET"),
                Some("/"),
                Some(200),
                false,
                false,
                "closed"
            ),
        ]
    );
    assert_eq!(exchanges[0].content_type.as_deref(), Some("text/html"));
    assert!(exchanges[2].conditional);
    // Per-packet notes: the conditional request and its revalidating 304.
    let note = |frame: usize| rows[frame - 1].http[0].note.clone();
    assert_eq!(note(21), "conditional;keep-alive");
    assert_eq!(note(23), "revalidated;persistent");
    assert_eq!(note(31), "close");
    assert_eq!(rows[22].http[0].request_in, Some(21));
    assert_eq!(rows[22].info, "HTTP/1.1 304 Not Modified ");
}

#[test]
fn corpus_exchanges() {
    let Some(corpus) = Corpus::locate() else {
        return;
    };
    // Pipelining: responses answer requests in order (tshark pairs the first 200 with the POST).
    let (_, ex) = run(&corpus.read_capture("suricata-filestore-dont-input.pcap"));
    let pairs: Vec<_> = ex
        .iter()
        .map(|e| (e.request_frame, e.response_frame, e.method.as_deref()))
        .collect();
    assert_eq!(
        pairs,
        vec![
            (Some(4), Some(13), Some("GET")),
            (Some(6), Some(15), Some("POST"))
        ]
    );

    // 100 Continue is interim: the POST is answered by the final 200.
    let (rows, ex) = run(&corpus.read_capture("100-continue.pcap"));
    assert_eq!(
        summary(&ex),
        vec![(
            0,
            1,
            Some(10),
            Some(63),
            Some("POST"),
            Some("/"),
            Some(200),
            false,
            false,
            "closed"
        )]
    );
    assert_eq!(rows[5].http[0].status, Some(100));
    assert_eq!(ex[0].request_body_len, 2001);

    // HEAD: the 301's Content-Length announces no body on the wire.
    let (_, ex) = run(&corpus.read_capture("http_head.pcapng.gz"));
    assert_eq!(
        (
            ex[0].method.as_deref(),
            ex[0].status,
            ex[0].response_body_len
        ),
        (Some("HEAD"), Some(301), 0)
    );

    // Chunked: hundreds of segments, de-chunked length, reported on the last frame.
    let (rows, ex) = run(&corpus.read_capture("sll.pcap"));
    assert_eq!(
        (ex[1].request_frame, ex[1].response_frame, ex[1].status),
        (Some(39), Some(510), Some(200))
    );
    assert_eq!(rows[509].info, "HTTP/1.1 200 OK  (text/html)");

    // A 206 over hundreds of segments with retransmissions and out-of-order segments.
    let (_, ex) = run(&corpus.read_capture("206_example_b.pcap"));
    assert_eq!(
        (ex[0].request_frame, ex[0].response_frame, ex[0].status),
        (Some(4), Some(1213), Some(206))
    );
    assert_eq!(ex[0].response_body_len, 206024);

    // IPv6: four connections, two of them keep-alive with interleaved requests.
    let (_, ex) = run(&corpus.read_capture("four_ipv6_http_streams.pcap"));
    assert_eq!(ex.len(), 9);
    assert_eq!(ex.iter().filter(|e| e.stream == 1).count(), 4);
    assert!(ex.iter().all(|e| e.status == Some(200)));
}

/// A dissector that keeps no exchange text (`rows_only`, as `annotate` uses) makes the
/// same rows, HTTP notes included, on every capture, and its exchanges keep the frames
/// and flags.
#[test]
fn rows_only_makes_the_same_rows() {
    let mut http_rows = 0;
    for (name, bytes) in Corpus::every_capture() {
        let (rows, exchanges) = run(&bytes);
        let mut reader = CaptureReader::from_slice(&bytes).unwrap();
        let mut lean = Dissector::for_pass(Pass::Single, Exchanges::Framed);
        let mut lean_exchanges = Vec::new();
        for want in &rows {
            let frame = reader.next_frame().unwrap().unwrap();
            assert_eq!(&lean.dissect(&frame), want, "{name}");
            lean_exchanges.extend(lean.take_exchanges());
            http_rows += usize::from(!want.http.is_empty());
        }
        lean.finish();
        lean_exchanges.extend(lean.take_exchanges());
        lean_exchanges.sort_by_key(|e| (e.stream, e.trans_depth));
        let frames_and_flags = |e: &ExchangeRecord| {
            (
                e.stream,
                e.request_frame,
                e.response_frame,
                e.status,
                e.revalidated,
                e.persistent,
                e.connection_after,
            )
        };
        assert_eq!(
            lean_exchanges
                .iter()
                .map(frames_and_flags)
                .collect::<Vec<_>>(),
            exchanges.iter().map(frames_and_flags).collect::<Vec<_>>(),
            "{name}"
        );
        assert!(lean_exchanges
            .iter()
            .all(|e| e.uri.is_none() && e.host.is_none()));
    }
    // Our fixtures alone have 20 HTTP rows; the public corpus, when present, hundreds.
    let least = if Corpus::locate().is_some() { 100 } else { 20 };
    assert!(http_rows >= least, "{http_rows} HTTP rows compared");
}

/// Everything a dissector hands out on one capture: rows, connection records (as they
/// end and at the end) and exchanges in order. With `bare`, rows are left bare
/// ([`Dissector::leave_rows_bare`]), exchanges wanted or not.
fn everything(
    bytes: &[u8],
    bare: Option<bool>,
) -> (Vec<PacketRecord>, Vec<ConnRecord>, Vec<ExchangeRecord>) {
    let mut reader = CaptureReader::from_slice(bytes).unwrap();
    let mut dissector = Dissector::new();
    if let Some(exchanges_wanted) = bare {
        dissector.leave_rows_bare(exchanges_wanted);
    }
    let (mut rows, mut conns, mut exchanges) = (Vec::new(), Vec::new(), Vec::new());
    while let Ok(Some(frame)) = reader.next_frame() {
        rows.push(dissector.dissect(&frame));
        conns.extend(dissector.take_finished().iter().map(ConnRecord::from_conn));
        exchanges.extend(dissector.take_exchanges());
    }
    conns.extend(dissector.finish().iter().map(ConnRecord::from_conn));
    exchanges.extend(dissector.take_exchanges());
    exchanges.sort_by_key(|e| (e.stream, e.trans_depth));
    (rows, conns, exchanges)
}

/// Bare rows (a `flows` or `http` table's, nobody reads them) lose their Info text and
/// HTTP records and nothing else; the connection records are the same, and so are the
/// exchanges when they are wanted (none is made when they are not), on every capture.
#[test]
fn bare_rows_change_no_connection_or_exchange() {
    let mut compared = (0, 0);
    for (name, bytes) in Corpus::every_capture() {
        let (rows, conns, exchanges) = everything(&bytes, None);
        for exchanges_wanted in [true, false] {
            let (bare, bare_conns, bare_exchanges) = everything(&bytes, Some(exchanges_wanted));
            assert_eq!(bare_conns, conns, "{name}");
            let expected: &[ExchangeRecord] = if exchanges_wanted { &exchanges } else { &[] };
            assert_eq!(bare_exchanges, expected, "{name}");
            assert_eq!(bare.len(), rows.len(), "{name}");
            for (bare, full) in bare.iter().zip(&rows) {
                assert!(bare.http.is_empty(), "{name}");
                if full.tcp.is_some() && full.malformed.is_none() {
                    assert!(bare.info.is_empty(), "{name}: {}", bare.info);
                }
                let without_text = |row: &PacketRecord| PacketRecord {
                    info: String::new(),
                    http: Vec::new(),
                    protocol: "",
                    ..row.clone()
                };
                assert_eq!(without_text(bare), without_text(full), "{name}");
            }
        }
        compared = (compared.0 + conns.len(), compared.1 + exchanges.len());
    }
    let least = if Corpus::locate().is_some() {
        (2000, 100)
    } else {
        (5, 5)
    };
    assert!(
        compared.0 >= least.0 && compared.1 >= least.1,
        "{compared:?} connections and exchanges compared"
    );
}

/// One row per request head seen, on every capture of the corpus: each request and each
/// final response tshark reports (`tshark -2`) is in exactly one exchange, and the only
/// requests or responses tshark does not report are those whose body never completed.
#[test]
fn corpus_one_exchange_per_head() {
    let Some(corpus) = Corpus::locate() else {
        return;
    };
    let mut checked = 0;
    for capture in corpus.readable_captures() {
        let reference = corpus::Reference::load(&corpus, &capture, "tshark-2pass");
        let (_, ex) = run(&corpus.read_capture(&capture));
        let (mut requests, mut responses) = (Vec::new(), Vec::new());
        for row in &reference.rows {
            let frame: u64 = row.get("frame").parse().unwrap();
            requests.extend(
                row.get("method")
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(|_| frame),
            );
            responses.extend(
                row.get("status")
                    .split(',')
                    .filter(|s| !s.is_empty() && !s.starts_with('1'))
                    .map(|_| frame),
            );
        }
        let ours_requests: Vec<u64> = ex
            .iter()
            .filter(|e| e.request_body_end == BodyEnd::Complete)
            .filter_map(|e| e.request_frame)
            .collect();
        let ours_responses: Vec<u64> = ex
            .iter()
            .filter(|e| e.response_body_end == BodyEnd::Complete)
            .filter_map(|e| e.response_frame)
            .collect();
        let sorted = |mut v: Vec<u64>| {
            v.sort_unstable();
            v
        };
        assert_eq!(
            sorted(ours_requests),
            sorted(requests),
            "{capture}: request frames"
        );
        assert_eq!(
            sorted(ours_responses),
            sorted(responses),
            "{capture}: response frames"
        );
        checked += 1;
    }
    assert!(checked > 30);
    // The corpus's download cut by a reset: the 200 is paired with its GET, and the body
    // bytes are every new payload byte after its head (tshark: the server's payload less
    // retransmissions and the 159-byte head).
    let (_, ex) = run(&corpus.read_capture("TLPW1-tcp-174.56.47.59-10.3.11.101-tcp-80-49309.pcap"));
    assert_eq!(
        (ex[0].request_frame, ex[0].response_frame, ex[0].status),
        (Some(5), Some(7), Some(200))
    );
    assert_eq!(
        (ex[0].response_body_end, ex[0].response_body_len),
        (BodyEnd::Reset, 52161)
    );
}
