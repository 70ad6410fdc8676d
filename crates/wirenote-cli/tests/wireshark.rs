//! The Wireshark integration, tested with real tshark: the Lua plugin shows exactly
//! wirenote's annotations as filterable fields, the annotated pcapng carries them as
//! packet comments with every packet byte-identical, and hostile strings load safely.
//!
//! Without tshark these tests say so loudly and are skipped; with `CI=true` they fail.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{require, workspace};
use wirenote_bench::{write_pcap, TcpFrame};

fn plugin() -> PathBuf {
    workspace().join("plugins/wirenote.lua")
}

fn wirenote(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_wirenote"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "wirenote {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn tshark(args: &[&str]) -> String {
    let out = Command::new("tshark")
        .args(args)
        .output()
        .expect("tshark runs");
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 2),
        "tshark {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Lua: Error"), "Lua error: {stderr}");
    assert!(
        !stderr.contains("wirenote: "),
        "plugin complained: {stderr}"
    );
    String::from_utf8(out.stdout).unwrap()
}

const FIELDS: &[&str] = &[
    "stream",
    "dir",
    "role",
    "client_state",
    "server_state",
    "analysis",
    "completeness",
];

/// Our CSV, as frame → the plugin's fields.
fn csv_fields(csv_path: &Path) -> (HashMap<String, Vec<String>>, Vec<String>) {
    let mut reader = csv::Reader::from_path(csv_path).unwrap();
    let header = reader.headers().unwrap().clone();
    let index: Vec<usize> = FIELDS
        .iter()
        .map(|f| header.iter().position(|h| h == *f).unwrap())
        .collect();
    let role = header.iter().position(|h| h == "role").unwrap();
    let mut rows = HashMap::new();
    let mut fin1 = Vec::new();
    for r in reader.records() {
        let r = r.unwrap();
        if r[role].is_empty() {
            continue;
        }
        if &r[role] == "teardown-fin1" {
            fin1.push(r[0].to_string());
        }
        rows.insert(
            r[0].to_string(),
            index.iter().map(|i| r[*i].to_string()).collect(),
        );
    }
    (rows, fin1)
}

fn captures() -> Vec<PathBuf> {
    let mut list = vec![workspace().join("fixtures/lab-5000.pcap")];
    if let Some(corpus) = common::corpus() {
        for name in [
            "get.pcap",
            "web.pcap",
            "http-500-head.pcap",
            "wireshark-retrans.pcap",
            "four_ipv6_http_streams.pcap",
            "pcapng-example.pcapng",
        ] {
            list.push(corpus.join(name));
        }
    }
    list
}

#[test]
fn plugin_fields_equal_the_csv_for_every_frame() {
    if !require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for capture in captures() {
        let name = capture.file_name().unwrap().to_string_lossy().into_owned();
        let meta = dir.path().join(format!("{name}.wirenote.lua"));
        let csv = dir.path().join(format!("{name}.csv"));
        let cap = capture.to_str().unwrap();
        wirenote(&[
            "annotate",
            cap,
            "--format",
            "lua",
            "-o",
            meta.to_str().unwrap(),
        ]);
        wirenote(&["annotate", cap, "-o", csv.to_str().unwrap()]);
        let script = format!("lua_script:{}", plugin().display());
        let script_arg = format!("lua_script1:{}", meta.display());
        let mut args = vec![
            "-r",
            cap,
            "-X",
            &script,
            "-X",
            &script_arg,
            "-T",
            "fields",
            "-e",
            "frame.number",
        ];
        let field_names: Vec<String> = FIELDS.iter().map(|f| format!("wirenote.{f}")).collect();
        for f in &field_names {
            args.push("-e");
            args.push(f);
        }
        let out = tshark(&args);
        let (want, fin1) = csv_fields(&csv);
        let mut seen = 0;
        for line in out.lines() {
            let cells: Vec<&str> = line.split('\t').collect();
            let frame = cells[0].to_string();
            match want.get(&frame) {
                Some(expected) => {
                    seen += 1;
                    assert_eq!(&cells[1..], expected.as_slice(), "{name} frame {frame}");
                }
                None => assert!(
                    cells[1..].iter().all(|c| c.is_empty()),
                    "{name} frame {frame}: fields on a non-TCP frame"
                ),
            }
        }
        assert_eq!(seen, want.len(), "{name}: every annotated frame shown");

        // A display filter on the plugin's field selects exactly the CSV's frames.
        let filtered = tshark(&[
            "-r",
            cap,
            "-X",
            &script,
            "-X",
            &script_arg,
            "-Y",
            "wirenote.role == \"teardown-fin1\"",
            "-T",
            "fields",
            "-e",
            "frame.number",
        ]);
        let got: Vec<String> = filtered.lines().map(str::to_string).collect();
        assert_eq!(got, fin1, "{name}: wirenote.role == \"teardown-fin1\"");
    }
}

#[test]
fn metadata_is_found_next_to_the_capture() {
    if !require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("lab.pcap");
    std::fs::copy(workspace().join("fixtures/lab-5000.pcap"), &cap).unwrap();
    let meta = dir.path().join("lab.pcap.wirenote.lua");
    wirenote(&[
        "annotate",
        cap.to_str().unwrap(),
        "--format",
        "lua",
        "-o",
        meta.to_str().unwrap(),
    ]);
    let script = format!("lua_script:{}", plugin().display());
    let out = tshark(&[
        "-r",
        cap.to_str().unwrap(),
        "-X",
        &script,
        "-Y",
        "wirenote.server_state == \"TIME_WAIT\"",
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "wirenote.conn_state",
    ]);
    assert_eq!(
        out, "39\tSF\n",
        "the server is in TIME_WAIT only after the last ACK of stream 2"
    );
}

#[test]
fn missing_or_malformed_metadata_is_reported_and_wireshark_keeps_working() {
    if !require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wirenote.lua");
    std::fs::write(&bad, "return { wirenote = 1, frames = \"nope\" }").unwrap();
    let cap = workspace().join("fixtures/lab-5000.pcap");
    for meta in [bad.clone(), dir.path().join("absent.wirenote.lua")] {
        let out = Command::new("tshark")
            .args([
                "-r",
                cap.to_str().unwrap(),
                "-X",
                &format!("lua_script:{}", plugin().display()),
                "-X",
                &format!("lua_script1:{}", meta.display()),
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("wirenote: "), "a clear message: {stderr}");
        assert_eq!(
            stderr.matches("wirenote: ").count(),
            1,
            "one message, not one per frame: {stderr}"
        );
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).lines().count(),
            39,
            "every frame still dissected"
        );
    }
}

/// A capture with an HTTP request whose target holds quotes, `]]`, backslashes and a
/// control byte, saved under a name with the same characters.
fn hostile_capture(path: &Path, uri: &str) {
    let request = format!("GET {uri} HTTP/1.1\r\nHost: x\r\n\r\n");
    let segs: [(bool, u32, u32, u8, &[u8]); 4] = [
        (true, 100, 0, 0x02, b""),
        (false, 500, 101, 0x12, b""),
        (true, 101, 501, 0x10, b""),
        (true, 101, 501, 0x18, request.as_bytes()),
    ];
    let frames: Vec<Vec<u8>> = segs
        .iter()
        .map(|&(forward, seq, ack, flags, payload)| {
            let (ips, ports) = if forward {
                (([10, 0, 0, 1], [10, 0, 0, 2]), (40000, 80))
            } else {
                (([10, 0, 0, 2], [10, 0, 0, 1]), (80, 40000))
            };
            TcpFrame {
                ips,
                ports,
                seq,
                ack,
                flags,
                window: 0xffff,
                payload,
                ..TcpFrame::default()
            }
            .build()
        })
        .collect();
    let mut file = Vec::new();
    let times = (0u64..).map(|i| (1_700_000_000 + i) * 1_000_000);
    write_pcap(&mut file, times.zip(frames.iter().map(Vec::as_slice))).unwrap();
    std::fs::write(path, file).unwrap();
}

#[test]
fn hostile_strings_load_without_error() {
    if !require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let uri = "/a\"]]--[[\\x\u{1}]]=]\"end";
    let cap = dir.path().join("evil\"]]name.pcap");
    hostile_capture(&cap, uri);
    let meta = dir.path().join("meta.wirenote.lua");
    wirenote(&[
        "annotate",
        cap.to_str().unwrap(),
        "--format",
        "lua",
        "-o",
        meta.to_str().unwrap(),
    ]);
    let out = tshark(&[
        "-r",
        cap.to_str().unwrap(),
        "-X",
        &format!("lua_script:{}", plugin().display()),
        "-X",
        &format!("lua_script1:{}", meta.display()),
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "wirenote.role",
        "-e",
        "wirenote.http",
    ]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0], "1\thandshake-syn\t");
    // Every byte arrives intact.
    assert_eq!(lines[3], format!("4\tdata\tGET {uri}"));
}

#[test]
fn annotated_pcapng_keeps_bytes_and_carries_comments() {
    if !require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for capture in captures() {
        let name = capture.file_name().unwrap().to_string_lossy().into_owned();
        let cap = capture.to_str().unwrap();
        let out = dir.path().join(format!("{name}.annotated.pcapng"));
        let csv = dir.path().join(format!("{name}.csv"));
        wirenote(&[
            "annotate",
            cap,
            "-o",
            csv.to_str().unwrap(),
            "--pcapng-out",
            out.to_str().unwrap(),
        ]);
        let frames = |file: &str| {
            tshark(&[
                "-r",
                file,
                "-T",
                "fields",
                "-e",
                "frame.number",
                "-e",
                "frame.time_epoch",
                "-e",
                "frame.len",
                "-e",
                "frame.cap_len",
            ])
        };
        let original = frames(cap);
        let copy = frames(out.to_str().unwrap());
        let custom_blocks =
            name.ends_with(".pcapng") && original.lines().count() != copy.lines().count();
        assert!(!custom_blocks, "{name}: frame count changed");
        assert_eq!(copy, original, "{name}: numbers, times and lengths kept");
        let hex_in = tshark(&["-r", cap, "-x"]);
        let hex_out = tshark(&["-r", out.to_str().unwrap(), "-x"]);
        assert_eq!(hex_out, hex_in, "{name}: every packet byte-identical");
        let comments = tshark(&[
            "-r",
            out.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.comment",
        ]);
        let (want, _) = csv_fields(&csv);
        for line in comments.lines() {
            let (frame, comment) = line.split_once('\t').unwrap();
            assert!(
                comment.contains("wirenote: "),
                "{name} frame {frame}: {comment}"
            );
            if let Some(fields) = want.get(frame) {
                assert!(
                    comment.contains(&format!(
                        "role={} client={} server={}",
                        fields[2], fields[3], fields[4]
                    )),
                    "{name} frame {frame}: {comment}"
                );
            }
        }
        if name == "pcapng-example.pcapng" {
            // The input's own comments are kept, before ours.
            let input = tshark(&["-r", cap, "-T", "fields", "-e", "frame.comment"]);
            let kept = input
                .lines()
                .zip(comments.lines())
                .filter(|(theirs, _)| !theirs.is_empty())
                .inspect(|(theirs, ours)| {
                    assert!(ours.contains(&format!("{theirs},wirenote: ")), "{ours}")
                })
                .count();
            assert!(kept >= 100, "{kept} input comments kept");
        }
    }
}
