//! Helpers shared by the CLI's integration tests (the skipping rules are
//! `wirenote_testkit`'s: one visible line per skipped group, a failure under `CI=true`).
#![allow(dead_code)]

use std::path::PathBuf;

#[allow(unused_imports)]
pub use wirenote_testkit::{on_path, require, skipped, workspace};

/// The public capture corpus beside the workspace, or `None` (said in a line a passing
/// run shows; a failure under `CI=true`).
pub fn corpus() -> Option<PathBuf> {
    wirenote_testkit::corpus_dir()
}

/// A loopback capture by tcpdump of one TCP port, for the tests that record real traffic.
pub struct Tcpdump {
    child: std::process::Child,
    stderr: std::process::ChildStderr,
}

impl Tcpdump {
    /// Starts capturing `tcp port {port}` on `lo` into `path` (every packet written at
    /// once, with a 32 MiB kernel buffer: loopback segments are up to 64 KiB, and a busy
    /// machine left the default 2 MiB to overflow), and returns when tcpdump says it is
    /// listening (10 s at most).
    pub fn start(path: &std::path::Path, port: u16) -> Tcpdump {
        use std::io::Read;
        use std::process::{Command, Stdio};
        use std::time::{Duration, Instant};
        let mut child = Command::new("tcpdump")
            .args([
                "-i",
                "lo",
                "--immediate-mode",
                "-U",
                "-B",
                "32768",
                "-s",
                "0",
                "-w",
            ])
            .arg(path)
            .arg(format!("tcp port {port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let mut seen = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(10);
        while !String::from_utf8_lossy(&seen).contains("listening on") && Instant::now() < deadline
        {
            let mut byte = [0u8; 1];
            if stderr.read(&mut byte).unwrap_or(0) == 0 {
                break;
            }
            seen.push(byte[0]);
        }
        Tcpdump { child, stderr }
    }

    /// Gives the last packets `settle` to be written, stops the capture (SIGINT, so the
    /// file is complete) and returns what tcpdump said after it started.
    pub fn stop(mut self, settle: std::time::Duration) -> String {
        use std::io::Read;
        std::thread::sleep(settle);
        std::process::Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        let _ = self.child.wait();
        let mut rest = String::new();
        let _ = self.stderr.read_to_string(&mut rest);
        rest
    }
}

/// The "N packets dropped by kernel" of tcpdump's summary (0 when it says none).
pub fn dropped_by_kernel(summary: &str) -> u64 {
    summary
        .lines()
        .find(|l| l.contains("dropped by kernel"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

impl Drop for Tcpdump {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
