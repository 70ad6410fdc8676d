//! Shared harness for tests that read the public capture corpus in `../shared/captures/`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

/// The corpus folder and its tshark reference outputs.
pub struct Corpus {
    pub dir: PathBuf,
    /// Where `NAME.tshark.tsv` files live (`reference/` for the public corpus, the same
    /// folder for our own fixtures).
    pub reference_dir: PathBuf,
}

impl Corpus {
    /// The public corpus, or `None` when it is absent or switched off (said in a line a
    /// passing run shows; a failure under `CI=true`: see `wirenote_testkit::corpus_dir`).
    pub fn locate() -> Option<Corpus> {
        wirenote_testkit::corpus_dir().map(|dir| Corpus {
            reference_dir: dir.join("reference"),
            dir,
        })
    }

    /// The project's own fixtures (captures we recorded, with tshark output beside them).
    pub fn fixtures() -> Corpus {
        let dir = wirenote_testkit::fixtures();
        Corpus {
            reference_dir: dir.clone(),
            dir,
        }
    }

    /// Every readable capture, as `(name, bytes)`: our fixtures, then the public corpus
    /// when it is there.
    pub fn every_capture() -> Vec<(String, Vec<u8>)> {
        let mut corpora = vec![Corpus::fixtures()];
        corpora.extend(Corpus::locate());
        corpora
            .iter()
            .flat_map(|corpus| {
                corpus.readable_captures().into_iter().map(|name| {
                    let bytes = corpus.read_capture(&name);
                    (name, bytes)
                })
            })
            .collect()
    }

    /// Captures whose reference output has a header row (tshark could open them).
    pub fn readable_captures(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .expect("corpus dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| {
                let reference = self.reference_dir.join(format!("{name}.tshark.tsv"));
                std::fs::metadata(&reference).is_ok_and(|m| m.len() > 0)
            })
            .collect();
        names.sort();
        names
    }

    /// The capture's bytes.
    pub fn read_capture(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.dir.join(name)).expect("capture readable")
    }
}

/// One tshark reference table.
pub struct Reference {
    pub rows: Vec<Row>,
}

/// One reference row, with columns renamed to wirenote's names.
pub struct Row {
    cells: HashMap<&'static str, String>,
}

impl Row {
    /// A row with no cells.
    pub fn empty() -> Row {
        Row {
            cells: HashMap::new(),
        }
    }

    /// The cell for a wirenote column name (empty when absent).
    pub fn get(&self, column: &str) -> String {
        self.cells.get(column).cloned().unwrap_or_default()
    }
}

/// tshark field → wirenote column.
const FIELDS: &[(&str, &str)] = &[
    ("frame.number", "frame"),
    ("frame.time_epoch", "time"),
    ("frame.len", "frame_len"),
    ("frame.cap_len", "cap_len"),
    ("tcp.srcport", "sport"),
    ("tcp.dstport", "dport"),
    ("tcp.stream", "stream"),
    ("tcp.seq", "seq"),
    ("tcp.ack", "ack"),
    ("tcp.len", "len"),
    ("tcp.analysis.flags", "analysis"),
    ("tcp.completeness", "completeness"),
    ("http.request.method", "method"),
    ("http.request.uri", "uri"),
    ("http.response.code", "status"),
    ("http.request_in", "request_in"),
    ("http.response_in", "response_in"),
    ("_ws.col.Protocol", "protocol"),
    ("_ws.col.Info", "info"),
    ("tcp.analysis.retransmission", "a.retransmission"),
    ("tcp.analysis.out_of_order", "a.out_of_order"),
    ("tcp.analysis.duplicate_ack", "a.duplicate_ack"),
    ("tcp.analysis.duplicate_ack_num", "a.duplicate_ack_num"),
    ("tcp.analysis.zero_window", "a.zero_window"),
    ("tcp.analysis.keep_alive", "a.keep_alive"),
    ("tcp.analysis.lost_segment", "a.lost_segment"),
    ("tcp.analysis.ack_lost_segment", "a.ack_lost_segment"),
    (
        "tcp.analysis.spurious_retransmission",
        "a.spurious_retransmission",
    ),
    ("tcp.analysis.fast_retransmission", "a.fast_retransmission"),
];

/// `tcp.flags.str` (12 characters, bit 11 first) → flag bits as three hex digits.
fn flags_from_str(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() != 12 {
        return String::new();
    }
    let mut bits = 0u16;
    for (i, c) in chars.iter().enumerate() {
        if *c != '·' {
            bits |= 1 << (11 - i);
        }
    }
    format!("{bits:03x}")
}

impl Reference {
    /// Like [`Reference::load`], but an absent file gives an empty table.
    pub fn load_optional(corpus: &Corpus, name: &str, kind: &str) -> Reference {
        if corpus
            .reference_dir
            .join(format!("{name}.{kind}.tsv"))
            .is_file()
        {
            Self::load(corpus, name, kind)
        } else {
            Reference { rows: Vec::new() }
        }
    }

    /// Loads `reference/NAME.KIND.tsv` (`KIND` = `tshark`, `tshark-2pass`, `tshark-extra`).
    pub fn load(corpus: &Corpus, name: &str, kind: &str) -> Reference {
        let path = corpus.reference_dir.join(format!("{name}.{kind}.tsv"));
        let text = std::fs::read_to_string(&path).expect("reference readable");
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let rows = lines
            .map(|line| {
                let values: Vec<&str> = line.split('\t').collect();
                let field = |name: &str| {
                    header
                        .iter()
                        .position(|h| *h == name)
                        .and_then(|i| values.get(i))
                        .map(|v| v.to_string())
                        .unwrap_or_default()
                };
                let mut cells = HashMap::new();
                for (tshark, ours) in FIELDS {
                    cells.insert(*ours, field(tshark));
                }
                let src = [field("ip.src"), field("ipv6.src")].concat();
                let dst = [field("ip.dst"), field("ipv6.dst")].concat();
                cells.insert("src", src);
                cells.insert("dst", dst);
                cells.insert("flags", flags_from_str(&field("tcp.flags.str")));
                Row { cells }
            })
            .collect();
        Reference { rows }
    }
}
