//! The Wireshark integration, tested with real tshark on every route: the Lua plugin shows
//! exactly wirenote's annotations as filterable fields, from the annotated pcapng's packet
//! comments alone or from a metadata file; metadata made for another capture is refused
//! before anything is labelled; no metadata is silence; broken metadata is one message and
//! one expert info; the plugin installed and also given with `-X` works; the annotated
//! pcapng keeps every packet byte-identical; hostile strings load safely.
//!
//! Every tshark runs with a private, empty `HOME` (and XDG folders inside it), so a
//! plugin or preferences the user installed cannot change an outcome; a test that wants
//! the plugin installed puts it there. Without tshark these tests say so loudly and are
//! skipped; with `CI=true` they fail.

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

/// A private, empty home for tshark (Wireshark 4.0 on Linux finds personal plugins in
/// `$HOME/.local/lib/wireshark/plugins` and preferences in `$XDG_CONFIG_HOME/wireshark`).
fn private_home() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// The same home with the plugin installed in it, as a user installs it.
fn home_with_plugin_installed() -> tempfile::TempDir {
    let home = private_home();
    let folder = home.path().join(".local/lib/wireshark/plugins");
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(plugin(), folder.join("wirenote.lua")).unwrap();
    home
}

/// tshark with `home` as its whole environment of user settings.
fn tshark_command(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("tshark");
    command
        .args(args)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("WIRESHARK_CONFIG_DIR")
        .env_remove("WIRENOTE_METADATA");
    command
}

/// Runs tshark in `home`; returns its standard output and standard error.
fn tshark_output(home: &Path, args: &[&str]) -> (String, String) {
    let out = tshark_command(home, args).output().expect("tshark runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 2),
        "tshark {args:?}: {stderr}"
    );
    assert!(!stderr.contains("Lua: Error"), "Lua error: {stderr}");
    (String::from_utf8(out.stdout).unwrap(), stderr)
}

/// Runs tshark in a private home and returns its output, asserting that the plugin said
/// nothing.
fn tshark(args: &[&str]) -> String {
    let home = private_home();
    tshark_in(home.path(), args)
}

/// Runs tshark in `home` and returns its output, asserting that the plugin said nothing.
fn tshark_in(home: &Path, args: &[&str]) -> String {
    let (out, stderr) = tshark_output(home, args);
    assert!(
        !stderr.contains("wirenote: "),
        "plugin complained: {stderr}"
    );
    out
}

/// The plugin's lines on standard error.
fn plugin_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("wirenote: "))
        .collect()
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

/// The arguments that print the plugin's per-packet fields after `frame.number`.
fn field_args() -> Vec<String> {
    let mut args: Vec<String> = ["-T", "fields", "-e", "frame.number"]
        .map(String::from)
        .to_vec();
    for f in FIELDS {
        args.push("-e".into());
        args.push(format!("wirenote.{f}"));
    }
    args
}

/// tshark's `-T fields` output of [`field_args`] equals our CSV on every frame, and the
/// filter `wirenote.role == "teardown-fin1"` selects exactly the CSV's frames.
fn assert_plugin_shows_the_csv(name: &str, home: &Path, read: &[&str], csv: &Path) {
    let mut args: Vec<String> = read.iter().map(|a| a.to_string()).collect();
    args.extend(field_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tshark_in(home, &args);
    let (want, fin1) = csv_fields(csv);
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
    let mut args: Vec<&str> = read.to_vec();
    args.extend([
        "-Y",
        "wirenote.role == \"teardown-fin1\"",
        "-T",
        "fields",
        "-e",
        "frame.number",
    ]);
    let filtered = tshark_in(home, &args);
    let got: Vec<String> = filtered.lines().map(str::to_string).collect();
    assert_eq!(got, fin1, "{name}: wirenote.role == \"teardown-fin1\"");
}

#[test]
fn plugin_fields_equal_the_csv_for_every_frame() {
    if !require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = private_home();
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
        let read = ["-r", cap, "-X", &script, "-X", &script_arg];
        assert_plugin_shows_the_csv(&name, home.path(), &read, &csv);
    }
}

/// The issue's first route: the annotated pcapng alone, with the plugin and nothing else
/// (no metadata file, no preference, no argument), gives the same fields and filters as
/// the metadata; single-pass and two-pass alike.
#[test]
fn annotated_pcapng_alone_gives_the_plugin_its_fields() {
    if !require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = private_home();
    for capture in captures() {
        let name = capture.file_name().unwrap().to_string_lossy().into_owned();
        let copy = dir.path().join(format!("{name}.annotated.pcapng"));
        let csv = dir.path().join(format!("{name}.csv"));
        wirenote(&[
            "annotate",
            capture.to_str().unwrap(),
            "-o",
            csv.to_str().unwrap(),
            "--pcapng-out",
            copy.to_str().unwrap(),
        ]);
        let script = format!("lua_script:{}", plugin().display());
        let read = ["-r", copy.to_str().unwrap(), "-X", &script];
        assert_plugin_shows_the_csv(&name, home.path(), &read, &csv);
        let two_pass = ["-2", "-r", copy.to_str().unwrap(), "-X", &script];
        assert_plugin_shows_the_csv(&name, home.path(), &two_pass, &csv);
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

/// The lab's capture's metadata beside another capture (the issue: the lab's metadata
/// beside `web.pcap` labelled a `[RST, ACK]` frame `handshake-synack`) is refused on the
/// first frame: no field on any frame, one line saying why, one expert info on frame 1.
#[test]
fn metadata_made_for_another_capture_is_refused_before_anything_is_labelled() {
    if !require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = private_home();
    let mut others = vec![workspace().join("fixtures/lab-chromium.pcap")];
    if let Some(corpus) = common::corpus() {
        others.push(corpus.join("web.pcap"));
    }
    for other in others {
        let name = other.file_name().unwrap().to_string_lossy().into_owned();
        let cap = dir.path().join(&name);
        std::fs::copy(&other, &cap).unwrap();
        // The lab's metadata, under the name the plugin looks for beside `cap`.
        let meta = dir.path().join(format!("{name}.wirenote.lua"));
        let lab = workspace().join("fixtures/lab-5000.pcap");
        wirenote(&[
            "annotate",
            lab.to_str().unwrap(),
            "--format",
            "lua",
            "-o",
            meta.to_str().unwrap(),
        ]);
        let script = format!("lua_script:{}", plugin().display());
        for two_pass in [false, true] {
            let mut args = vec!["-r", cap.to_str().unwrap(), "-X", &script];
            if two_pass {
                args.insert(0, "-2");
            }
            args.extend([
                "-T",
                "fields",
                "-e",
                "frame.number",
                "-e",
                "wirenote.role",
                "-e",
                "wirenote.not_applied.expert",
            ]);
            let (out, stderr) = tshark_output(home.path(), &args);
            let lines = plugin_lines(&stderr);
            assert_eq!(lines.len(), 1, "{name}: one line: {stderr}");
            assert!(
                lines[0].contains("metadata not applied: it describes another capture")
                    && lines[0].contains("made for lab-5000.pcap")
                    && lines[0].contains("frame 1 is "),
                "{name}: says why: {}",
                lines[0]
            );
            let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
            assert!(rows.len() > 1, "{name}: every frame still dissected");
            for row in &rows {
                assert_eq!(row[1], "", "{name} frame {}: labelled: {row:?}", row[0]);
                let expert = !row[2].is_empty();
                assert_eq!(expert, row[0] == "1", "{name}: expert info on frame 1 only");
            }
        }
    }
}

/// Metadata for a shorter capture whose first frames are the same: single-pass tshark
/// has labelled the frames the metadata describes when the frame past its count shows the
/// mismatch (the limit of checking as frames come); that frame carries the message, and a
/// two-pass run (as Wireshark redissects) labels nothing.
#[test]
fn metadata_for_fewer_frames_is_refused_at_the_frame_past_its_count() {
    if !require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = private_home();
    let short = dir.path().join("short.pcap");
    let long = dir.path().join("long.pcap");
    synthetic_capture(&short, "/", false);
    synthetic_capture(&long, "/", true);
    let meta = dir.path().join("short.wirenote.lua");
    wirenote(&[
        "annotate",
        short.to_str().unwrap(),
        "--format",
        "lua",
        "-o",
        meta.to_str().unwrap(),
    ]);
    let script = format!("lua_script:{}", plugin().display());
    let script_arg = format!("lua_script1:{}", meta.display());
    let fields = [
        "-T",
        "fields",
        "-e",
        "frame.number",
        "-e",
        "wirenote.role",
        "-e",
        "wirenote.not_applied.expert",
    ];
    let mut single = vec![
        "-r",
        long.to_str().unwrap(),
        "-X",
        &script,
        "-X",
        &script_arg,
    ];
    single.extend(fields);
    let (out, stderr) = tshark_output(home.path(), &single);
    let lines = plugin_lines(&stderr);
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].contains("more than the 4 frames"), "{}", lines[0]);
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0], "1\thandshake-syn\t");
    assert!(rows[4].starts_with("5\t\t"), "{}", rows[4]);
    assert!(rows[4].len() > "5\t\t".len(), "the expert info on frame 5");

    let mut two = vec!["-2"];
    two.extend(single.iter().copied());
    let (out, _) = tshark_output(home.path(), &two);
    assert!(
        out.lines().all(|l| l.split('\t').nth(1) == Some("")),
        "two-pass labels nothing: {out}"
    );
}

/// A capture with no annotations (no comment, no metadata anywhere) gets nothing from the
/// plugin: no field, no expert info, not a word.
#[test]
fn no_metadata_is_silent() {
    if !require("tshark") {
        return;
    }
    let home = private_home();
    let dir = tempfile::tempdir().unwrap();
    let cap = dir.path().join("lab.pcap");
    std::fs::copy(workspace().join("fixtures/lab-5000.pcap"), &cap).unwrap();
    let script = format!("lua_script:{}", plugin().display());
    let (out, stderr) = tshark_output(
        home.path(),
        &["-r", cap.to_str().unwrap(), "-X", &script, "-Y", "wirenote"],
    );
    assert_eq!(out, "", "no frame has a wirenote item");
    assert!(!stderr.contains("wirenote"), "{stderr}");
    let (out, stderr) = tshark_output(home.path(), &["-r", cap.to_str().unwrap(), "-X", &script]);
    assert_eq!(out.lines().count(), 39, "every frame dissected");
    assert!(!stderr.contains("wirenote"), "{stderr}");
}

/// Broken metadata (not a wirenote table, an older format without the capture's
/// identity, a named file that does not exist): one line, one expert info on frame 1,
/// nothing labelled, every frame dissected.
#[test]
fn broken_metadata_is_one_message_and_one_expert_info() {
    if !require("tshark") {
        return;
    }
    let home = private_home();
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.wirenote.lua");
    std::fs::write(&bad, "return { wirenote = 2, frames = \"nope\" }").unwrap();
    let old = dir.path().join("old.wirenote.lua");
    std::fs::write(
        &old,
        "return { wirenote = 1, capture = \"x.pcap\", frames = {} }",
    )
    .unwrap();
    let cap = workspace().join("fixtures/lab-5000.pcap");
    let cases = [
        (bad, "malformed metadata"),
        (old, "is format 1, this plugin reads format 2"),
        (dir.path().join("absent.wirenote.lua"), "does not exist"),
    ];
    for (meta, why) in cases {
        let (out, stderr) = tshark_output(
            home.path(),
            &[
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
                "wirenote.not_applied.expert",
            ],
        );
        let lines = plugin_lines(&stderr);
        assert_eq!(lines.len(), 1, "one message, not one per frame: {stderr}");
        assert!(lines[0].contains(why), "{why}: {}", lines[0]);
        let rows: Vec<Vec<&str>> = out.lines().map(|l| l.split('\t').collect()).collect();
        assert_eq!(rows.len(), 39, "every frame still dissected");
        for row in &rows {
            assert_eq!(row[1], "", "nothing labelled");
            assert_eq!(
                !row[2].is_empty(),
                row[0] == "1",
                "expert info on frame 1 only"
            );
        }
    }
}

/// The plugin installed in the personal plugins folder and also given with `-X` (as the
/// README's tshark lines do), or given twice: one registration, the script argument
/// reaches it, no error ("there cannot be two protocols with the same description" before).
#[test]
fn plugin_installed_and_given_with_x_works() {
    if !require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let lab = workspace().join("fixtures/lab-5000.pcap");
    let meta = dir.path().join("lab.wirenote.lua");
    let csv = dir.path().join("lab.csv");
    let copy = dir.path().join("lab.annotated.pcapng");
    let lab_str = lab.to_str().unwrap();
    wirenote(&[
        "annotate",
        lab_str,
        "--format",
        "lua",
        "-o",
        meta.to_str().unwrap(),
    ]);
    wirenote(&[
        "annotate",
        lab_str,
        "-o",
        csv.to_str().unwrap(),
        "--pcapng-out",
        copy.to_str().unwrap(),
    ]);
    let script = format!("lua_script:{}", plugin().display());
    let script_arg = format!("lua_script1:{}", meta.display());
    let installed = home_with_plugin_installed();
    let clean = private_home();
    let routes: [(&str, &Path, Vec<&str>); 4] = [
        (
            "installed and -X with metadata",
            installed.path(),
            vec!["-r", lab_str, "-X", &script, "-X", &script_arg],
        ),
        (
            "-X twice with metadata",
            clean.path(),
            vec![
                "-r",
                lab_str,
                "-X",
                &script,
                "-X",
                &script,
                "-X",
                &script_arg,
            ],
        ),
        (
            "installed, annotated pcapng",
            installed.path(),
            vec!["-r", copy.to_str().unwrap()],
        ),
        (
            "installed and -X, annotated pcapng",
            installed.path(),
            vec!["-r", copy.to_str().unwrap(), "-X", &script],
        ),
    ];
    for (route, home, read) in routes {
        assert_plugin_shows_the_csv(route, home, &read, &csv);
    }
}

/// A four-frame capture (handshake, then an HTTP request for `uri`), with a fifth frame
/// (the server's ACK) when `ack` is set.
fn synthetic_capture(path: &Path, uri: &str, ack: bool) {
    let request = format!("GET {uri} HTTP/1.1\r\nHost: x\r\n\r\n");
    let request_end = 101 + request.len() as u32;
    let mut segs: Vec<(bool, u32, u32, u8, &[u8])> = vec![
        (true, 100, 0, 0x02, b""),
        (false, 500, 101, 0x12, b""),
        (true, 101, 501, 0x10, b""),
        (true, 101, 501, 0x18, request.as_bytes()),
    ];
    if ack {
        segs.push((false, 501, request_end, 0x10, b""));
    }
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

/// A request target with quotes, `]]`, backslashes, a control byte, spaces-free but
/// every escape the two formats have, in a capture whose name has the same characters:
/// every byte arrives intact through the metadata and through the packet comment.
#[test]
fn hostile_strings_load_without_error() {
    if !require("tshark") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let home = private_home();
    let uri = "/a\"]]--[[\\x\u{1}]]=]\"end\\x41é";
    let cap = dir.path().join("evil\"]]name.pcap");
    synthetic_capture(&cap, uri, false);
    let meta = dir.path().join("meta.wirenote.lua");
    let copy = dir.path().join("evil.annotated.pcapng");
    wirenote(&[
        "annotate",
        cap.to_str().unwrap(),
        "--format",
        "lua",
        "-o",
        meta.to_str().unwrap(),
    ]);
    wirenote(&[
        "annotate",
        cap.to_str().unwrap(),
        "-o",
        dir.path().join("evil.csv").to_str().unwrap(),
        "--pcapng-out",
        copy.to_str().unwrap(),
    ]);
    let script = format!("lua_script:{}", plugin().display());
    let script_arg = format!("lua_script1:{}", meta.display());
    let with_metadata = [
        "-r",
        cap.to_str().unwrap(),
        "-X",
        &script,
        "-X",
        &script_arg,
    ];
    let with_comments = ["-r", copy.to_str().unwrap(), "-X", &script];
    for read in [&with_metadata[..], &with_comments[..]] {
        let mut args = read.to_vec();
        args.extend([
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "wirenote.role",
            "-e",
            "wirenote.http",
        ]);
        let out = tshark_in(home.path(), &args);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{read:?}");
        assert_eq!(lines[0], "1\thandshake-syn\t");
        // Every byte arrives intact.
        assert_eq!(lines[3], format!("4\tdata\tGET {uri}"), "{read:?}");
    }
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
            let at = comment.find("wirenote/1 ");
            assert!(at.is_some(), "{name} frame {frame}: {comment}");
            let ours = &comment[at.unwrap()..];
            match want.get(frame) {
                Some(fields) => assert!(
                    ours.starts_with(&format!(
                        "wirenote/1 stream={} dir={} role={} client_state={} server_state={}",
                        fields[0], fields[1], fields[2], fields[3], fields[4]
                    )),
                    "{name} frame {frame}: {comment}"
                ),
                None => assert!(
                    ours.starts_with("wirenote/1 protocol="),
                    "{name} frame {frame}: {comment}"
                ),
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
                    assert!(ours.contains(&format!("{theirs},wirenote/1 ")), "{ours}")
                })
                .count();
            assert!(kept >= 100, "{kept} input comments kept");
        }
        // Annotating the annotated copy replaces our comment instead of adding a second.
        let again = dir.path().join(format!("{name}.again.pcapng"));
        wirenote(&[
            "annotate",
            out.to_str().unwrap(),
            "-o",
            dir.path().join("again.csv").to_str().unwrap(),
            "--pcapng-out",
            again.to_str().unwrap(),
        ]);
        let comments_again = tshark(&[
            "-r",
            again.to_str().unwrap(),
            "-T",
            "fields",
            "-e",
            "frame.number",
            "-e",
            "frame.comment",
        ]);
        assert_eq!(comments_again, comments, "{name}: re-annotated");
    }
}
