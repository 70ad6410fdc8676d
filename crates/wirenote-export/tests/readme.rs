//! The README's column tables (packets, `wirenote http`, `wirenote flows`) are generated
//! from the schema: this test fails when the README and the schema disagree, and
//! `WIRENOTE_BLESS=1 cargo test -p wirenote-export --test readme` rewrites them.

use std::path::PathBuf;

use wirenote_export::schema::{markdown, ConnColumn, ExchangeColumn, PacketColumn};

/// Generates one table's Markdown.
type Generate = fn() -> String;

/// Each table's marker name in the README, and its generated text.
const TABLES: [(&str, Generate); 3] = [
    ("packets", markdown::<PacketColumn>),
    ("http", markdown::<ExchangeColumn>),
    ("flows", markdown::<ConnColumn>),
];

const END: &str = "<!-- /columns -->\n";

/// `text` with every table between its markers replaced by the generated one.
fn regenerate(text: &str) -> String {
    let mut out = text.to_owned();
    for (name, table) in TABLES {
        let begin = format!("<!-- columns:{name}:");
        let start = out
            .find(&begin)
            .unwrap_or_else(|| panic!("README.md has no `{begin} … -->` marker"));
        let body = start + out[start..].find("-->\n").expect("marker ends with -->") + 4;
        let end = body
            + out[body..]
                .find(END)
                .unwrap_or_else(|| panic!("README.md: no {END:?} after {begin:?}"));
        out.replace_range(body..end, &table());
    }
    out
}

#[test]
fn readme_column_tables_are_the_schemas() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let text = std::fs::read_to_string(&path).unwrap();
    let expected = regenerate(&text);
    if expected == text {
        return;
    }
    if std::env::var_os("WIRENOTE_BLESS").is_some() {
        std::fs::write(&path, expected).unwrap();
        return;
    }
    let first = text
        .lines()
        .zip(expected.lines())
        .position(|(a, b)| a != b)
        .unwrap_or(0);
    panic!(
        "README.md's column tables differ from the schema from line {} on:\n  README: {}\n  schema: {}\n\
         (WIRENOTE_BLESS=1 cargo test -p wirenote-export --test readme rewrites them)",
        first + 1,
        text.lines().nth(first).unwrap_or(""),
        expected.lines().nth(first).unwrap_or(""),
    );
}

#[test]
fn a_stale_table_is_caught() {
    let text = "a\n<!-- columns:packets: x -->\n| old |\n<!-- /columns -->\n\
                <!-- columns:http: x -->\n<!-- /columns -->\n\
                <!-- columns:flows: x -->\n<!-- /columns -->\n";
    let fixed = regenerate(text);
    assert_ne!(fixed, text);
    assert!(fixed.contains("| `frame` | integer | frame number, from 1 | `frame.number` |\n"));
    assert_eq!(regenerate(&fixed), fixed);
}
