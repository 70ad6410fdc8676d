//! Sets `WIRENOTE_ASSETS_EPOCH`: the Unix time the embedded assets (`assets/`) last changed,
//! which becomes the embedded logo's `Last-Modified`. It must not be the server's start
//! time (a restart between a load and a reload would turn the lab's 304 into a 200) nor the
//! wall clock at build time (two builds of one commit would differ), so, in order:
//!
//! 1. `SOURCE_DATE_EPOCH` when set (the reproducible-builds convention);
//! 2. the date of the last commit that touched `assets/`, when built in a git checkout with
//!    git on the PATH and `assets/` has no uncommitted change;
//! 3. the newest modification time of a file in `assets/` (a source archive keeps it).
use std::path::Path;
use std::process::Command;
use std::time::UNIX_EPOCH;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    out.status.success().then(|| text.trim().to_owned())
}

fn committed_date(assets: &str) -> Option<u64> {
    let dirty = git(&["status", "--porcelain", "--", assets])?;
    if !dirty.is_empty() {
        return None;
    }
    git(&["log", "-1", "--format=%ct", "--", assets])?
        .parse()
        .ok()
}

fn newest_mtime(dir: &Path) -> Option<u64> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|entry| entry.ok()?.metadata().ok()?.modified().ok())
        .filter_map(|time| time.duration_since(UNIX_EPOCH).ok())
        .map(|since| since.as_secs())
        .max()
}

fn main() {
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .or_else(|| committed_date("assets"))
        .or_else(|| newest_mtime(Path::new("assets")))
        .unwrap_or(0);
    println!("cargo:rustc-env=WIRENOTE_ASSETS_EPOCH={epoch}");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-changed=assets");
    println!("cargo:rerun-if-changed=build.rs");
}
