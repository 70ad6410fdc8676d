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
        rows.len(),
        captures.count(),
        "one row per capture (found by content)"
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
    assert!(run(&[]).contains(",skipped,"));
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
