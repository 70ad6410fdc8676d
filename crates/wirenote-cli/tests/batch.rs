//! `wirenote batch`: summary and error isolation on the corpus (broken files included),
//! determinism across `-j`, sharding, skipping up-to-date outputs, and no partial output
//! after an interruption.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{corpus, workspace};

fn batch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_wirenote"))
        .arg("batch")
        .args(args)
        .output()
        .unwrap()
}

/// Every file below `dir` (relative path → bytes).
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().to_path_buf(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn corpus_batch_summary_determinism_and_shards() {
    let Some(corpus) = corpus() else { return };
    let work = tempfile::tempdir().unwrap();
    let input = corpus.to_str().unwrap();
    let one = work.path().join("j1");
    let four = work.path().join("j4");
    let out = batch(&[input, "-o", one.to_str().unwrap(), "-j", "1", "--quiet"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a failed input makes the run fail"
    );
    let out4 = batch(&[input, "-o", four.to_str().unwrap(), "-j", "4", "--quiet"]);
    assert_eq!(out4.status.code(), Some(2));
    let t1 = tree(&one);
    assert_eq!(t1, tree(&four), "-j 1 and -j 4 give byte-identical outputs");

    let summary = String::from_utf8(t1[Path::new("batch-summary.csv")].clone()).unwrap();
    let rows: Vec<Vec<String>> = csv::Reader::from_reader(summary.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let captures = std::fs::read_dir(&corpus).unwrap().filter(|e| {
        let p = e.as_ref().unwrap().path();
        p.is_file() && p.extension().is_some_and(|x| x != "md")
    });
    assert_eq!(
        rows.iter().filter(|r| r[1] != "not-a-capture").count(),
        captures.count(),
        "one row per capture (found by content)"
    );
    let files = walkdir::WalkDir::new(&corpus)
        .into_iter()
        .filter(|e| e.as_ref().unwrap().file_type().is_file())
        .count();
    assert_eq!(rows.len(), files, "every file met has a row");
    let sources = rows.iter().find(|r| r[0].ends_with("SOURCES.md")).unwrap();
    assert_eq!(sources[1], "not-a-capture");
    assert_eq!(
        sources[6], "SOURCES.md",
        "named relative to the folder argument"
    );
    let status = |name: &str| {
        rows.iter()
            .find(|r| r[0].ends_with(name))
            .map(|r| r[1].clone())
            .unwrap()
    };
    assert_eq!(status("pcap-invalid-version-1.pcap"), "failed");
    assert_eq!(status("shb-option-too-long.pcapng"), "failed");
    assert_eq!(status("truncated_dns_2.pcap"), "warning");
    assert_eq!(status("get.pcap"), "ok");
    let get = rows.iter().find(|r| r[0].ends_with("/get.pcap")).unwrap();
    assert_eq!(
        (get[2].as_str(), get[3].as_str(), get[4].as_str()),
        ("14", "1", "1")
    );
    let failed = rows
        .iter()
        .find(|r| r[0].ends_with("pcap-invalid-version-1.pcap"))
        .unwrap();
    assert!(failed[5].contains("pcap version 1.4 unsupported"));
    // The others completed although three inputs failed.
    assert!(t1.keys().any(|k| k.ends_with("get.pcap.packets.csv")));
    assert!(t1
        .keys()
        .any(|k| k.ends_with("http-500-head.pcap.flows.csv")));
    assert!(!t1
        .keys()
        .any(|k| k.to_string_lossy().contains("pcap-invalid-version-1.pcap.")));

    // Shards 0/3, 1/3, 2/3 together produce exactly the unsharded outputs.
    let sharded = work.path().join("sharded");
    let mut summaries = Vec::new();
    for i in 0..3 {
        let out = batch(&[
            input,
            "-o",
            sharded.to_str().unwrap(),
            "--shard",
            &format!("{i}/3"),
            "--quiet",
            "--force",
        ]);
        assert!(out.status.code().is_some_and(|c| c <= 2));
        summaries.push(
            std::fs::read_to_string(sharded.join("batch-summary.csv"))
                .unwrap()
                .lines()
                .count()
                - 1,
        );
    }
    assert_eq!(
        summaries.iter().sum::<usize>(),
        rows.len(),
        "the shards partition the inputs"
    );
    let mut s = tree(&sharded);
    let mut u = t1.clone();
    s.remove(Path::new("batch-summary.csv"));
    u.remove(Path::new("batch-summary.csv"));
    assert_eq!(s, u);
}

#[test]
fn up_to_date_outputs_are_skipped_unless_forced() {
    let work = tempfile::tempdir().unwrap();
    let input = workspace().join("fixtures/lab-5000.pcap");
    let out = work.path().join("out");
    let run = |extra: &[&str]| {
        let mut args = vec![
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--quiet",
        ];
        args.extend_from_slice(extra);
        let result = batch(&args);
        assert_eq!(result.status.code(), Some(0));
        std::fs::read_to_string(out.join("batch-summary.csv")).unwrap()
    };
    assert!(run(&[]).contains(",ok,39,3,4,"));
    assert!(
        run(&[]).contains(",skipped,39,3,4,"),
        "a skipped row keeps its counts"
    );
    assert!(
        run(&[]).contains(",skipped,39,3,4,"),
        "and keeps them again"
    );
    assert!(run(&["--force"]).contains(",ok,39,3,4,"));
}

/// A large capture made of the lab fixture repeated with shifted ports.
fn large_capture(path: &Path, copies: u32) {
    let lab = std::fs::read(workspace().join("fixtures/lab-5000.pcap")).unwrap();
    let mut out = lab[..24].to_vec();
    let mut records = Vec::new();
    let mut at = 24;
    while at + 16 <= lab.len() {
        let len = u32::from_le_bytes(lab[at + 8..at + 12].try_into().unwrap()) as usize;
        records.push(lab[at..at + 16 + len].to_vec());
        at += 16 + len;
    }
    for copy in 0..copies {
        for record in &records {
            let mut r = record.clone();
            // Shift the client port (Ethernet 14 + IPv4 20: ports at 34..38) and the time.
            let port_shift = (copy % 20000) as u16;
            for offset in [16 + 34, 16 + 36] {
                let port = u16::from_be_bytes([r[offset], r[offset + 1]]);
                if port != 5000 {
                    r[offset..offset + 2]
                        .copy_from_slice(&port.wrapping_add(port_shift).to_be_bytes());
                }
            }
            let secs = u32::from_le_bytes(r[0..4].try_into().unwrap()) + copy;
            r[0..4].copy_from_slice(&secs.to_le_bytes());
            out.extend_from_slice(&r);
        }
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn interrupted_run_leaves_no_partial_output() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("big.pcap");
    large_capture(&input, 40_000);
    let out = work.path().join("out");
    let mut child = Command::new(env!("CARGO_BIN_EXE_wirenote"))
        .args([
            "batch",
            input.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--quiet",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the run is writing (a temporary output exists), then interrupt it.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let writing = out.is_dir()
            && tree(&out).keys().any(|k| {
                k.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".wirenote-")
            });
        if writing || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(130),
        "the run was interrupted, not finished"
    );
    let left = tree(&out);
    assert!(
        left.is_empty(),
        "nothing left behind: {:?}",
        left.keys().collect::<Vec<_>>()
    );
}

#[test]
fn lua_format_writes_plugin_metadata_beside_csv_tables() {
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let fixtures = workspace().join("fixtures");
    let result = batch(&[
        fixtures.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--format",
        "lua",
        "--quiet",
    ]);
    assert_eq!(result.status.code(), Some(0));
    let files: Vec<String> = tree(&out)
        .keys()
        .map(|k| k.to_string_lossy().into_owned())
        .collect();
    for capture in ["lab-5000.pcap", "lab-chromium.pcap"] {
        let meta = files
            .iter()
            .find(|f| f.ends_with(&format!("{capture}.wirenote.lua")))
            .expect("metadata");
        let text = std::fs::read_to_string(out.join(meta)).unwrap();
        assert!(text.contains(&format!("capture = \"{capture}\"")) && text.contains("streams = {"));
        assert!(files
            .iter()
            .any(|f| f.ends_with(&format!("{capture}.flows.csv"))));
        assert!(files
            .iter()
            .any(|f| f.ends_with(&format!("{capture}.http.csv"))));
    }
}

/// The summary's rows by `capture` (the relative path): (status, packets, error).
fn summary_rows(out: &Path) -> BTreeMap<String, (String, String, String)> {
    let text = std::fs::read_to_string(out.join("batch-summary.csv")).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "path",
            "status",
            "packets",
            "connections",
            "http_exchanges",
            "error",
            "capture",
            "bytes"
        ]
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                r[6].to_owned(),
                (r[1].to_owned(), r[2].to_owned(), r[5].to_owned()),
            )
        })
        .collect()
}

/// The folder: a capture, a damaged and an empty one, a note, a symlinked
/// capture in a subfolder, and a symlink back to the folder itself.
#[cfg(unix)]
fn messy_folder(dir: &Path) {
    let lab = workspace().join("fixtures/lab-5000.pcap");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    std::fs::copy(&lab, dir.join("lab.pcap")).unwrap();
    std::fs::write(dir.join("broken.pcap"), b"this is no capture").unwrap();
    std::fs::write(dir.join("empty.pcap"), b"").unwrap();
    std::fs::write(dir.join("notes.txt"), b"lab notes").unwrap();
    std::os::unix::fs::symlink(&lab, dir.join("sub/linked.pcap")).unwrap();
    std::os::unix::fs::symlink(dir, dir.join("sub/loop")).unwrap();
}

// Issue "Batch at scale": files in a folder that fail to open, and symlinked captures,
// appeared nowhere.
#[cfg(unix)]
#[test]
fn every_file_in_a_folder_is_accounted_for() {
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("in");
    messy_folder(&input);
    let out = work.path().join("out");
    let result = batch(&[input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert_eq!(result.status.code(), Some(2), "two inputs failed");
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("6 files: 2 ok, 0 with warnings, 2 failed, 0 skipped, 2 not captures"),
        "{stderr}"
    );
    let rows = summary_rows(&out);
    let status = |capture: &str| rows[capture].0.as_str();
    assert_eq!(status("lab.pcap"), "ok");
    assert_eq!(status("sub/linked.pcap"), "ok", "symlinks are followed");
    assert_eq!(rows["sub/linked.pcap"].1, "39");
    assert_eq!(status("broken.pcap"), "failed");
    assert!(rows["broken.pcap"]
        .2
        .contains("not a pcap or pcapng capture"));
    assert_eq!(status("empty.pcap"), "failed");
    assert!(!rows["empty.pcap"].2.is_empty());
    assert_eq!(status("notes.txt"), "not-a-capture");
    assert_eq!(status("sub/loop"), "not-a-capture");
    assert!(rows["sub/loop"].2.contains("not followed"));
    assert_eq!(rows.len(), 6);
    // Outputs mirror the path inside the folder argument.
    assert!(out.join("lab.pcap.packets.csv").is_file());
    assert!(out.join("sub/linked.pcap.http.csv").is_file());
}

#[test]
fn output_paths_are_relative_to_the_folder_or_the_common_folder() {
    let work = tempfile::tempdir().unwrap();
    let lab = workspace().join("fixtures/lab-5000.pcap");
    for dir in ["data/a", "data/b"] {
        std::fs::create_dir_all(work.path().join(dir)).unwrap();
        std::fs::copy(&lab, work.path().join(dir).join("x.pcap")).unwrap();
    }
    let out = work.path().join("out");
    let absolute = |rel: &str| work.path().join(rel).to_str().unwrap().to_owned();
    // Absolute files: below their longest common folder (`data`).
    let result = batch(&[
        &absolute("data/a/x.pcap"),
        &absolute("data/b/x.pcap"),
        "-o",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(result.status.code(), Some(0));
    let names: Vec<String> = tree(&out)
        .keys()
        .map(|k| k.to_string_lossy().into_owned())
        .collect();
    assert!(
        names.contains(&"a/x.pcap.packets.csv".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"b/x.pcap.flows.csv".to_owned()),
        "{names:?}"
    );
    // Relative files and patterns keep their path relative to the current folder.
    let out2 = work.path().join("out2");
    let result = Command::new(env!("CARGO_BIN_EXE_wirenote"))
        .current_dir(work.path())
        .args(["batch", "data/*/x.pcap", "-o", "out2", "--quiet"])
        .output()
        .unwrap();
    assert_eq!(result.status.code(), Some(0));
    assert!(out2.join("data/a/x.pcap.packets.csv").is_file());
    assert!(out2.join("data/b/x.pcap.packets.csv").is_file());
    // Two folder arguments whose files have the same relative path: an error before any
    // work starts.
    let out3 = work.path().join("out3");
    let result = batch(&[
        &absolute("data/a"),
        &absolute("data/b"),
        "-o",
        out3.to_str().unwrap(),
    ]);
    assert_eq!(result.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&result.stderr);
    assert!(
        stderr.contains("would both write the outputs named x.pcap"),
        "{stderr}"
    );
    assert!(!out3.exists(), "nothing was written");
}

#[test]
fn parquet_batch_writes_one_dataset_per_table() {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("out");
    let fixtures = workspace().join("fixtures");
    let result = batch(&[
        fixtures.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--format",
        "parquet",
        "--quiet",
    ]);
    assert_eq!(result.status.code(), Some(0));
    let rows = |table: &str, capture: &str| {
        let file = std::fs::File::open(out.join(table).join(format!("{capture}.parquet"))).unwrap();
        let reader = SerializedFileReader::new(file).unwrap();
        let meta = reader.metadata().file_metadata();
        assert_eq!(meta.schema_descr().column(0).name(), "capture");
        meta.num_rows()
    };
    assert_eq!(rows("packets", "lab-5000.pcap"), 39);
    assert_eq!(rows("flows", "lab-5000.pcap"), 3);
    assert_eq!(rows("http", "lab-5000.pcap"), 4);
    assert!(rows("packets", "lab-chromium.pcap") > 0);
}

// Issue "Batch at scale": the progress bar moved only when a file finished. On a terminal
// it shows bytes, rate and files; in a pipe nothing.
#[test]
fn progress_shows_on_a_terminal_only() {
    if !common::require("script") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let input = work.path().join("big.pcap");
    large_capture(&input, 3_000);
    let out = work.path().join("out");
    let command = format!(
        "{} batch {} -o {}",
        env!("CARGO_BIN_EXE_wirenote"),
        input.display(),
        out.display()
    );
    // `script` runs the command on a pseudo-terminal and copies what it shows.
    let shown = Command::new("script")
        .args(["-qfec", &command, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .unwrap();
    let screen = String::from_utf8_lossy(&shown.stdout);
    assert!(screen.contains("0/1 files, 0 failed"), "{screen}");
    assert!(screen.contains("ETA"), "{screen}");
    let piped = batch(&[
        input.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
        "--force",
    ]);
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(
        !stderr.contains("ETA") && !stderr.contains('\r'),
        "{stderr}"
    );
}
