//! Sets `WIRENOTE_VERSION` for `--version`: the crate's version and, when built inside a
//! git checkout with git on the PATH, the commit (`0.1.0 (ab12cd34ef56)`). A build from a
//! source archive without `.git` says the version alone.
use std::path::PathBuf;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_owned())
}

fn main() {
    let version = env!("CARGO_PKG_VERSION");
    let full = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(commit) => format!("{version} ({commit})"),
        None => version.to_owned(),
    };
    println!("cargo:rustc-env=WIRENOTE_VERSION={full}");
    // Rebuild when HEAD moves: HEAD itself (a checkout) and the ref it names (a commit).
    if let Some(dir) = git(&["rev-parse", "--git-dir"]).map(PathBuf::from) {
        println!("cargo:rerun-if-changed={}", dir.join("HEAD").display());
        if let Some(head_ref) = git(&["symbolic-ref", "-q", "HEAD"]) {
            if let Some(common) = git(&["rev-parse", "--git-common-dir"]).map(PathBuf::from) {
                println!(
                    "cargo:rerun-if-changed={}",
                    common.join(&head_ref).display()
                );
                println!(
                    "cargo:rerun-if-changed={}",
                    common.join("packed-refs").display()
                );
            }
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
