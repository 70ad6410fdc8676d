//! Helpers shared by the CLI's integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_path_buf()
}

/// Whether `CI=true`: then skipping is not allowed.
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The public capture corpus beside the workspace; `None` (said loudly) when absent,
/// a failure under `CI=true`.
pub fn corpus() -> Option<PathBuf> {
    let dir = workspace().parent().unwrap().join("shared/captures");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(!in_ci(), "CI=true but ../shared/captures is missing");
    eprintln!("SKIPPED: ../shared/captures not found");
    None
}

/// Whether `tool` is on the PATH, without a word.
pub fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether `tool` is installed; when not, says the test is skipped (a failure under
/// `CI=true`, where `.ci/run` installs it).
pub fn require(tool: &str) -> bool {
    if on_path(tool) {
        return true;
    }
    assert!(!in_ci(), "CI=true but {tool} is not installed");
    eprintln!("SKIPPED: {tool} not found; this test did not run");
    false
}
