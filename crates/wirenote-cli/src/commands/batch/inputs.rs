//! Which captures a batch processes, and where their outputs go.

use std::fs;
use std::hash::Hasher;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use anyhow::Context;

use crate::args::AnnotateFormat;

/// One input to process.
#[derive(Debug, Clone)]
pub(super) struct Input {
    pub(super) path: PathBuf,
    /// Output name stem, relative to the output folder.
    pub(super) rel: PathBuf,
}

/// Gzip, pcap (both byte orders, µs and ns) and pcapng magic numbers.
fn looks_like_capture(path: &Path) -> bool {
    let mut head = [0u8; 4];
    let Ok(mut file) = fs::File::open(path) else {
        return false;
    };
    if file.read_exact(&mut head).is_err() {
        return false;
    }
    head[..2] == [0x1f, 0x8b]
        || matches!(
            head,
            [0xa1, 0xb2, 0xc3, 0xd4]
                | [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0x0a, 0x0d, 0x0d, 0x0a]
        )
}

/// A path as given, made safe to use below the output folder.
fn relative_name(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => out.push("__"),
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Expands files, folders (recursively, keeping files that are captures by content) and
/// glob patterns into a sorted, de-duplicated list.
pub(super) fn expand(args: &[String]) -> anyhow::Result<Vec<Input>> {
    let mut inputs = Vec::new();
    for arg in args {
        let path = PathBuf::from(arg);
        let paths: Vec<PathBuf> = if !path.exists() && arg.contains(['*', '?', '[']) {
            glob::glob(arg)
                .with_context(|| format!("bad pattern {arg}"))?
                .filter_map(Result::ok)
                .collect()
        } else {
            vec![path]
        };
        for path in paths {
            if path.is_dir() {
                for entry in walkdir::WalkDir::new(&path).sort_by_file_name() {
                    let entry = entry.with_context(|| path.display().to_string())?;
                    if entry.file_type().is_file() && looks_like_capture(entry.path()) {
                        inputs.push(Input {
                            rel: relative_name(entry.path()),
                            path: entry.path().to_path_buf(),
                        });
                    }
                }
            } else {
                // A file named explicitly is processed even if it is not a capture: it
                // is then reported as failed, not silently ignored.
                inputs.push(Input {
                    rel: relative_name(&path),
                    path,
                });
            }
        }
    }
    inputs.sort_by(|a, b| a.rel.cmp(&b.rel));
    inputs.dedup_by(|a, b| a.rel == b.rel);
    Ok(inputs)
}

/// Stable across runs, machines and Rust versions (FNV-1a of the output name).
pub(super) fn shard_of(input: &Input, count: u64) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(input.rel.to_string_lossy().as_bytes());
    hasher.finish() % count
}

pub(super) fn parse_shard(text: &str) -> anyhow::Result<(u64, u64)> {
    let (i, n) = text
        .split_once('/')
        .context("--shard takes i/n, e.g. 0/4")?;
    let (i, n): (u64, u64) = (
        i.parse().context("--shard i/n: i")?,
        n.parse().context("--shard i/n: n")?,
    );
    anyhow::ensure!(n > 0 && i < n, "--shard i/n needs 0 <= i < n");
    Ok((i, n))
}

/// The outputs of `input`: packets, flows and HTTP tables, or one workbook of all three.
pub(super) fn output_paths(outdir: &Path, input: &Input, format: AnnotateFormat) -> Vec<PathBuf> {
    let stem = outdir.join(&input.rel);
    let with = |suffix: &str| {
        let mut name = stem.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    match format {
        AnnotateFormat::Csv => vec![with(".packets.csv"), with(".flows.csv"), with(".http.csv")],
        AnnotateFormat::Jsonl => vec![
            with(".packets.jsonl"),
            with(".flows.jsonl"),
            with(".http.jsonl"),
        ],
        // The plugin finds CAPTURE.wirenote.lua next to a capture of the same name.
        AnnotateFormat::Lua => vec![with(".wirenote.lua"), with(".flows.csv"), with(".http.csv")],
        AnnotateFormat::Xlsx => vec![with(".xlsx")],
    }
}

pub(super) fn up_to_date(input: &Path, outputs: &[PathBuf]) -> bool {
    let Ok(input_time) = fs::metadata(input).and_then(|m| m.modified()) else {
        return false;
    };
    outputs.iter().all(|o| {
        fs::metadata(o)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t > input_time)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names_stay_below_the_output_folder() {
        assert_eq!(
            relative_name(Path::new("/data/a.pcap")),
            PathBuf::from("data/a.pcap")
        );
        assert_eq!(
            relative_name(Path::new("../x/./a.pcap")),
            PathBuf::from("__/x/a.pcap")
        );
    }

    #[test]
    fn shards_are_stable() {
        let input = Input {
            path: PathBuf::from("x"),
            rel: PathBuf::from("captures/a.pcap"),
        };
        assert_eq!(shard_of(&input, 1), 0);
        assert_eq!(shard_of(&input, 7), shard_of(&input, 7));
        assert!(parse_shard("3/3").is_err());
        assert_eq!(parse_shard("1/3").unwrap(), (1, 3));
    }
}
