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
