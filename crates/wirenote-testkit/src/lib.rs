//! Test support shared by wirenote's test suites: finding the public capture corpus and
//! the tools a test needs, and saying out loud what was skipped.
//!
//! Skipping follows three rules, the same in every crate:
//! - a group of tests whose input is absent (the corpus beside a fresh clone, tshark on a
//!   new machine) passes and prints one `wirenote-tests: skipped: …` line that a passing
//!   `cargo test` shows (written to the process's stderr, past libtest's capture, which
//!   only catches the `print!` macros);
//! - under `CI=true` an absent input fails the test instead: CI installs everything;
//! - `WIRENOTE_NO_CORPUS=1` skips the corpus even under `CI=true`, so that CI can also walk
//!   the fresh-clone path (`.ci/run` runs the suite a second time with it).
#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The variable that skips the corpus tests even under `CI=true`.
pub const NO_CORPUS: &str = "WIRENOTE_NO_CORPUS";
/// The variable that points at a corpus elsewhere than `../shared/captures`.
pub const CORPUS_DIR: &str = "WIRENOTE_CORPUS";

/// The workspace root (this crate sits in `crates/wirenote-testkit`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the testkit sits in crates/")
        .to_path_buf()
}

/// The project's own fixtures (captures we recorded, with tshark output beside them).
pub fn fixtures() -> PathBuf {
    workspace().join("fixtures")
}

/// Whether `CI=true`: then an absent input is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn flag_set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The public capture corpus (a folder with `reference/` inside): `$WIRENOTE_CORPUS`, or
/// `../shared/captures` beside the workspace. `None`, said once per test process, when it
/// is absent or `WIRENOTE_NO_CORPUS=1`; a panic when it is absent under `CI=true`.
pub fn corpus_dir() -> Option<PathBuf> {
    if flag_set(NO_CORPUS) {
        skipped("the public-corpus tests", &format!("{NO_CORPUS} is set"));
        return None;
    }
    let candidates = [
        std::env::var_os(CORPUS_DIR).map(PathBuf::from),
        workspace().parent().map(|p| p.join("shared/captures")),
    ];
    if let Some(dir) = candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("reference").is_dir())
    {
        return Some(dir);
    }
    assert!(
        !in_ci(),
        "CI=true but the capture corpus ../shared/captures was not found (set {NO_CORPUS}=1 to skip it)"
    );
    skipped(
        "the public-corpus tests",
        "../shared/captures not found beside the workspace",
    );
    None
}

/// The variable that points at the Zeek reference set elsewhere than `../shared/zeek`.
pub const ZEEK_DIR: &str = "WIRENOTE_ZEEK";

/// The Zeek reference set (a folder with `traces/` and `baselines/` inside): `$WIRENOTE_ZEEK`,
/// or `../shared/zeek` beside the workspace. Absent, or switched off with
/// `WIRENOTE_NO_CORPUS=1`, it is `None` and said once, as [`corpus_dir`] says it (a panic
/// under `CI=true`).
pub fn zeek_dir() -> Option<PathBuf> {
    if flag_set(NO_CORPUS) {
        skipped("the Zeek-trace tests", &format!("{NO_CORPUS} is set"));
        return None;
    }
    let candidates = [
        std::env::var_os(ZEEK_DIR).map(PathBuf::from),
        workspace().parent().map(|p| p.join("shared/zeek")),
    ];
    if let Some(dir) = candidates
        .into_iter()
        .flatten()
        .find(|dir| dir.join("traces").is_dir())
    {
        return Some(dir);
    }
    assert!(
        !in_ci(),
        "CI=true but the Zeek traces ../shared/zeek were not found (set {NO_CORPUS}=1 to skip them)"
    );
    skipped(
        "the Zeek-trace tests",
        "../shared/zeek not found beside the workspace",
    );
    None
}

/// Whether `tool` is on the PATH, without a word.
pub fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether `tool` is installed; when not, says the tests that need it are skipped (a
/// failure under `CI=true`, where `.ci/run` installs it).
pub fn require(tool: &str) -> bool {
    if on_path(tool) {
        return true;
    }
    assert!(!in_ci(), "CI=true but {tool} is not installed");
    skipped(
        &format!("the tests that run {tool}"),
        &format!("{tool} not found"),
    );
    false
}

/// Says once per test process, in a line a passing run shows, that `what` did not run.
pub fn skipped(what: &str, why: &str) {
    static SAID: Mutex<Option<HashSet<String>>> = Mutex::new(None);
    let mut said = SAID.lock().unwrap_or_else(|e| e.into_inner());
    if said
        .get_or_insert_with(HashSet::new)
        .insert(what.to_owned())
    {
        let exe = std::env::current_exe().ok();
        let suite = exe
            .as_deref()
            .and_then(Path::file_stem)
            .map(|s| s.to_string_lossy().into_owned())
            .map(|s| s.rsplit_once('-').map_or(s.clone(), |(n, _)| n.to_owned()))
            .unwrap_or_default();
        // Straight to the process's stderr: libtest captures only the print! macros.
        let _ = writeln!(
            std::io::stderr(),
            "wirenote-tests: skipped: {what} in `{suite}` ({why})"
        );
    }
}
