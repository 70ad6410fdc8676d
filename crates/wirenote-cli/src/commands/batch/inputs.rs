//! Every file a batch meets, what becomes of it, and where its outputs go.
//!
//! - A file named on the command line (or matched by a pattern) is processed, whatever
//!   it holds: if it is not a capture it is a `failed` row with the reason.
//! - Inside a folder (searched recursively, symbolic links followed, loops detected) a
//!   file is processed when it starts with a capture magic (pcap, pcapng, gzip) or has a
//!   capture-like name (`.pcap`, `.pcapng`, `.cap`, `.ntar`, `.gz`): a damaged or empty
//!   one is then a `failed` row. Every other file is a `not-a-capture` row, and so is a
//!   link that leads back to one of its own folders (not followed). A folder that cannot
//!   be read, or a broken link, is a `failed` row.
//!
//! An input's relative path (`rel`) names its outputs and is what `--shard` hashes: the
//! path inside the folder argument it was found under; for files named directly (or by
//! a pattern), the path as given (`./` dropped, `..` written `__`), or, for absolute
//! paths, the path below the longest common folder of all absolute inputs named so.

use std::collections::HashSet;
use std::fs;
use std::hash::Hasher;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use anyhow::Context;

use crate::args::AnnotateFormat;

/// What a batch does with a file it met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum What {
    /// Process it (it may still fail: then a `failed` row says why).
    Capture,
    /// A file inside a folder that is not a capture (the reason): counted, not processed.
    NotCapture(String),
    /// Could not even be looked at (unreadable folder, broken link): a `failed` row.
    Failed(String),
}

/// One file a batch met.
#[derive(Debug, Clone)]
pub(super) struct Input {
    pub(super) path: PathBuf,
    /// Output name stem, relative to the output folder (see the module docs).
    pub(super) rel: PathBuf,
    pub(super) what: What,
}

impl Input {
    /// `rel` with `/` between its parts, as the summary and the Parquet `capture` column
    /// spell it on every system.
    pub(super) fn capture_name(&self) -> String {
        let parts: Vec<String> = self
            .rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        parts.join("/")
    }
}

/// Gzip, pcap (both byte orders, µs and ns) and pcapng magic numbers.
fn is_capture_magic(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
        || matches!(
            head,
            [0xa1, 0xb2, 0xc3, 0xd4, ..]
                | [0xd4, 0xc3, 0xb2, 0xa1, ..]
                | [0xa1, 0xb2, 0x3c, 0x4d, ..]
                | [0x4d, 0x3c, 0xb2, 0xa1, ..]
                | [0x0a, 0x0d, 0x0d, 0x0a, ..]
        )
}

/// Names a capture usually has (compared without case).
const CAPTURE_EXTENSIONS: &[&str] = &["pcap", "pcapng", "cap", "ntar", "gz"];

fn has_capture_name(path: &Path) -> bool {
    path.extension()
        .and_then(|x| x.to_str())
        .is_some_and(|x| CAPTURE_EXTENSIONS.iter().any(|c| x.eq_ignore_ascii_case(c)))
}

/// What to do with a regular file found inside a folder.
fn classify(path: &Path) -> What {
    let mut head = Vec::with_capacity(4);
    let read = fs::File::open(path).and_then(|f| f.take(4).read_to_end(&mut head));
    if read.is_err() || is_capture_magic(&head) || has_capture_name(path) {
        // Unreadable, or a capture by content or by name: processing tells what is wrong.
        return What::Capture;
    }
    let reason = if head.is_empty() {
        "not a capture (empty file)".to_owned()
    } else {
        let bytes: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "not a capture (no pcap, pcapng or gzip magic; first bytes: {})",
            bytes.join(" ")
        )
    };
    What::NotCapture(reason)
}

/// A path made safe to use below the output folder: `.` and a leading `/` dropped, `..`
/// written `__`.
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

/// Where a file was found.
enum Origin {
    /// Inside this folder argument.
    Under(PathBuf),
    /// Named (or matched by a pattern), or inside a folder a pattern matched.
    Named,
}

/// A file met, before its relative path is known.
struct Met {
    path: PathBuf,
    origin: Origin,
    what: What,
}

/// Every file below `dir`, links followed (a link back to an ancestor is reported, not
/// followed).
fn walk(dir: &Path, origin: impl Fn() -> Origin, met: &mut Vec<Met>) {
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        let (path, what) = match entry {
            Ok(entry) if entry.file_type().is_dir() => continue,
            Ok(entry) if entry.file_type().is_file() => {
                (entry.path().to_path_buf(), classify(entry.path()))
            }
            Ok(entry) => (
                entry.path().to_path_buf(),
                What::NotCapture("not a capture (not a regular file)".into()),
            ),
            Err(err) => {
                let path = err.path().unwrap_or(dir).to_path_buf();
                let what = match err.loop_ancestor() {
                    Some(ancestor) => What::NotCapture(format!(
                        "a link back to its own folder {} (not followed)",
                        ancestor.display()
                    )),
                    None => What::Failed(format!("{}: {err}", path.display())),
                };
                (path, what)
            }
        };
        met.push(Met {
            path,
            origin: origin(),
            what,
        });
    }
}

/// The longest common folder of `paths`' parents (all absolute).
fn common_folder<'p>(paths: impl Iterator<Item = &'p Path>) -> Option<PathBuf> {
    let mut common: Option<Vec<Component<'p>>> = None;
    for path in paths {
        let parent: Vec<Component<'p>> = path.parent().unwrap_or(path).components().collect();
        common = Some(match common {
            None => parent,
            Some(c) => c
                .into_iter()
                .zip(parent)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a)
                .collect(),
        });
    }
    common.map(|c| c.into_iter().collect())
}

/// Expands files, folders and glob patterns into every file met, sorted by relative
/// path; an error if two inputs would write the same outputs.
pub(super) fn expand(args: &[String]) -> anyhow::Result<Vec<Input>> {
    let mut met = Vec::new();
    for arg in args {
        let path = PathBuf::from(arg);
        if path.is_dir() {
            walk(&path, || Origin::Under(path.clone()), &mut met);
            continue;
        }
        if path.exists() || !arg.contains(['*', '?', '[']) {
            // A file named explicitly is processed even if it is not a capture: it is
            // then reported as failed, not silently ignored.
            met.push(Met {
                path,
                origin: Origin::Named,
                what: What::Capture,
            });
            continue;
        }
        let matches: Vec<PathBuf> = glob::glob(arg)
            .with_context(|| format!("bad pattern {arg}"))?
            .filter_map(Result::ok)
            .collect();
        if matches.is_empty() {
            met.push(Met {
                path,
                origin: Origin::Named,
                what: What::Failed(format!("{arg}: no file matches this pattern")),
            });
        }
        for path in matches {
            if path.is_dir() {
                walk(&path, || Origin::Named, &mut met);
            } else {
                met.push(Met {
                    path,
                    origin: Origin::Named,
                    what: What::Capture,
                });
            }
        }
    }
    let absolute_root = common_folder(
        met.iter()
            .filter(|m| matches!(m.origin, Origin::Named) && m.path.is_absolute())
            .map(|m| m.path.as_path()),
    );
    let mut seen = HashSet::new();
    let mut inputs: Vec<Input> = met
        .into_iter()
        .filter(|m| seen.insert(m.path.clone()))
        .map(|m| {
            let rel = match &m.origin {
                Origin::Under(folder) => {
                    relative_name(m.path.strip_prefix(folder).unwrap_or(&m.path))
                }
                Origin::Named => match &absolute_root {
                    Some(root) if m.path.is_absolute() => {
                        relative_name(m.path.strip_prefix(root).unwrap_or(&m.path))
                    }
                    _ => relative_name(&m.path),
                },
            };
            Input {
                path: m.path,
                rel,
                what: m.what,
            }
        })
        .collect();
    inputs.sort_by(|a, b| a.rel.cmp(&b.rel).then_with(|| a.path.cmp(&b.path)));
    check_collisions(&inputs)?;
    Ok(inputs)
}

/// Two inputs whose outputs would have the same names: an error before any work starts.
fn check_collisions(inputs: &[Input]) -> anyhow::Result<()> {
    let written: Vec<&Input> = inputs.iter().filter(|i| i.what == What::Capture).collect();
    for pair in written.windows(2) {
        if pair[0].rel == pair[1].rel {
            anyhow::bail!(
                "{} and {} would both write the outputs named {} (pass their folders separately, to separate -o folders, or name the files)",
                pair[0].path.display(),
                pair[1].path.display(),
                pair[0].capture_name()
            );
        }
    }
    Ok(())
}

/// Stable across runs, machines and Rust versions (FNV-1a of the relative path that
/// names the outputs).
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
        // One dataset per table: OUTDIR/packets/<rel>.parquet, flows/…, http/….
        AnnotateFormat::Parquet => ["packets", "flows", "http"]
            .map(|table| {
                let mut name = outdir.join(table).join(&input.rel).into_os_string();
                name.push(".parquet");
                PathBuf::from(name)
            })
            .to_vec(),
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
    fn absolute_inputs_are_named_below_their_common_folder() {
        let paths = [
            Path::new("/data/labs/a/x.pcap"),
            Path::new("/data/labs/b/y.pcap"),
        ];
        assert_eq!(
            common_folder(paths.into_iter()),
            Some(PathBuf::from("/data/labs"))
        );
        assert_eq!(
            common_folder([Path::new("/data/x.pcap")].into_iter()),
            Some(PathBuf::from("/data"))
        );
    }

    #[test]
    fn capture_names_and_magics() {
        assert!(has_capture_name(Path::new("a/b.PCAP")));
        assert!(has_capture_name(Path::new("b.pcapng.gz")));
        assert!(!has_capture_name(Path::new("notes.txt")));
        assert!(is_capture_magic(&[0x0a, 0x0d, 0x0d, 0x0a, 0, 0]));
        assert!(!is_capture_magic(b"hell"));
        assert!(!is_capture_magic(b""));
    }

    #[test]
    fn shards_are_stable() {
        let input = Input {
            path: PathBuf::from("x"),
            rel: PathBuf::from("captures/a.pcap"),
            what: What::Capture,
        };
        assert_eq!(shard_of(&input, 1), 0);
        assert_eq!(shard_of(&input, 7), shard_of(&input, 7));
        assert!(parse_shard("3/3").is_err());
        assert_eq!(parse_shard("1/3").unwrap(), (1, 3));
    }
}
