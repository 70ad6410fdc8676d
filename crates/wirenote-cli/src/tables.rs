//! What the table flags mean, checked before any work starts: the format (named by
//! `--format` or by `-o`'s extension, never both differently), the columns (`-e`), the
//! connections (`--stream`) and the CSV style.

use std::path::Path;

use anyhow::{bail, Context};
use clap::ValueEnum;
use wirenote_export::schema::{ConnColumn, ExchangeColumn, PacketColumn, Selection, Table};
use wirenote_export::{CsvStyle, Streams, TableOptions, WorkbookInfo, EXCEL_MAX_ROWS};

use crate::args::{TableFlags, VERSION};

/// Rows per sheet of a workbook, for tests only: they check the split on small captures.
const ROWS_PER_SHEET_VAR: &str = "WIRENOTE_TEST_XLSX_ROWS_PER_SHEET";

/// The format `output`'s extension names (`csv`, `jsonl`, `lua`, `xlsx`, `parquet`), if any.
fn format_of_extension(output: &Path) -> anyhow::Result<Option<&'static str>> {
    let ext = output
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    Ok(match ext.as_deref() {
        Some("csv") => Some("csv"),
        Some("jsonl" | "ndjson") => Some("jsonl"),
        Some("lua") => Some("lua"),
        Some("xlsx") => Some("xlsx"),
        Some("parquet") => Some("parquet"),
        _ => None,
    })
}

/// The format to write: `given`, or the one `-o`'s extension names, or `default`. A
/// `--format` that contradicts the extension is an error naming both; so is an extension
/// naming a format the command does not write.
pub(crate) fn resolve_format<F: ValueEnum + Copy + PartialEq>(
    given: Option<F>,
    output: Option<&Path>,
    default: F,
) -> anyhow::Result<F> {
    let name = |f: F| {
        f.to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_owned())
    };
    let inferred = match output {
        Some(path) => match format_of_extension(path)? {
            Some(ext) => Some(F::from_str(ext, true).map_err(|_| {
                anyhow::anyhow!(
                    "-o {}: this command cannot write {ext} (it writes {})",
                    path.display(),
                    F::value_variants()
                        .iter()
                        .map(|f| name(*f))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?),
            None => None,
        },
        None => None,
    };
    match (given, inferred) {
        (Some(given), Some(inferred)) if given != inferred => bail!(
            "--format {} contradicts -o {} (which names {})",
            name(given),
            output.map_or_else(String::new, |p| p.display().to_string()),
            name(inferred)
        ),
        (Some(given), _) => Ok(given),
        (None, Some(inferred)) => Ok(inferred),
        (None, None) => Ok(default),
    }
}

/// A table an output holds, as `-e TABLE.COLUMN` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TableName {
    Packets,
    Flows,
    Http,
}

impl TableName {
    fn as_str(self) -> &'static str {
        match self {
            TableName::Packets => "packets",
            TableName::Flows => "flows",
            TableName::Http => "http",
        }
    }

    fn parse(name: &str) -> Option<TableName> {
        [TableName::Packets, TableName::Flows, TableName::Http]
            .into_iter()
            .find(|t| t.as_str() == name)
    }

    fn columns(self) -> Vec<&'static str> {
        fn names<T: Table>() -> Vec<&'static str> {
            T::ALL.iter().map(|c| c.name()).collect()
        }
        match self {
            TableName::Packets => names::<PacketColumn>(),
            TableName::Flows => names::<ConnColumn>(),
            TableName::Http => names::<ExchangeColumn>(),
        }
    }
}

/// `-e` names in order, per table.
#[derive(Default)]
struct Chosen {
    packets: Vec<PacketColumn>,
    flows: Vec<ConnColumn>,
    http: Vec<ExchangeColumn>,
}

impl Chosen {
    /// Adds `column` to `table` if it has it.
    fn add(&mut self, table: TableName, column: &str) -> bool {
        match table {
            TableName::Packets => PacketColumn::from_name(column).map(|c| self.packets.push(c)),
            TableName::Flows => ConnColumn::from_name(column).map(|c| self.flows.push(c)),
            TableName::Http => ExchangeColumn::from_name(column).map(|c| self.http.push(c)),
        }
        .is_some()
    }
}

fn selection<T: Table>(chosen: Vec<T>) -> Selection<T> {
    if chosen.is_empty() {
        Selection::All
    } else {
        Selection::Only(chosen)
    }
}

/// The list of valid names for an error message.
fn valid_names(tables: &[TableName]) -> String {
    tables
        .iter()
        .map(|t| format!("{}: {}", t.as_str(), t.columns().join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The tables' options from the flags, for an output holding `tables`.
pub(crate) fn table_options(
    flags: &TableFlags,
    tables: &[TableName],
    csv: bool,
) -> anyhow::Result<TableOptions> {
    let mut chosen = Chosen::default();
    for item in flags
        .columns
        .iter()
        .map(|c| c.trim())
        .filter(|c| !c.is_empty())
    {
        let qualified = item
            .split_once('.')
            .and_then(|(table, column)| TableName::parse(table).map(|t| (t, column)));
        match qualified {
            Some((table, column)) => {
                if !tables.contains(&table) {
                    bail!(
                        "-e {item}: this output has no {} table (it has {})",
                        table.as_str(),
                        tables
                            .iter()
                            .map(|t| t.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                }
                if !chosen.add(table, column) {
                    bail!(
                        "-e {item}: no such column; valid columns are {}",
                        valid_names(&[table])
                    );
                }
            }
            None => {
                let mut found = false;
                for &table in tables {
                    found |= chosen.add(table, item);
                }
                if !found {
                    bail!(
                        "-e {item}: no such column; valid columns are {}",
                        valid_names(tables)
                    );
                }
            }
        }
    }
    if !csv && (flags.excel || flags.verbatim) {
        bail!("--excel and --verbatim are for CSV output (JSON Lines and xlsx keep text as it is, never as formulas)");
    }
    Ok(TableOptions {
        packets: selection(chosen.packets),
        connections: selection(chosen.flows),
        exchanges: selection(chosen.http),
        streams: if flags.stream.is_empty() {
            Streams::all()
        } else {
            Streams::only(flags.stream.iter().copied())
        },
        csv: CsvStyle {
            verbatim: flags.verbatim,
            excel: flags.excel,
        },
    })
}

/// Lua metadata has fixed fields and every frame: no `-e` or `--stream`.
pub(crate) fn check_lua(flags: &TableFlags) -> anyhow::Result<()> {
    if !flags.columns.is_empty() || !flags.stream.is_empty() {
        bail!(
            "-e and --stream do not apply to lua metadata (the plugin needs every frame and field)"
        );
    }
    Ok(())
}

/// Parquet takes every column and row: `-e` and `--stream` are not implemented for it
/// yet (select in the query that reads the dataset).
pub(crate) fn check_parquet(flags: &TableFlags) -> anyhow::Result<()> {
    if !flags.columns.is_empty() || !flags.stream.is_empty() {
        bail!(
            "-e and --stream do not apply to parquet yet (every column and row is written; select in the query that reads it)"
        );
    }
    Ok(())
}

/// What a workbook's About sheet says about the capture `capture`.
pub(crate) fn workbook_info(capture: &str) -> anyhow::Result<WorkbookInfo> {
    let rows_per_sheet = match std::env::var(ROWS_PER_SHEET_VAR) {
        Ok(text) => text
            .parse()
            .with_context(|| format!("{ROWS_PER_SHEET_VAR}={text}"))?,
        Err(_) => EXCEL_MAX_ROWS,
    };
    Ok(WorkbookInfo {
        capture: capture.to_owned(),
        version: VERSION.to_owned(),
        rows_per_sheet,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{AnnotateFormat, FormatArg};

    fn flags(columns: &[&str]) -> TableFlags {
        TableFlags {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            stream: Vec::new(),
            excel: false,
            verbatim: false,
            memory: crate::args::MemoryFlags::default(),
        }
    }

    #[test]
    fn the_extension_names_the_format() {
        let o = |p: &str| Some(Path::new(p).to_owned());
        let annotate = |given, out: Option<std::path::PathBuf>| {
            resolve_format(given, out.as_deref(), AnnotateFormat::Csv)
        };
        assert_eq!(annotate(None, o("x.jsonl")).unwrap(), AnnotateFormat::Jsonl);
        assert_eq!(
            annotate(None, o("c.pcap.wirenote.lua")).unwrap(),
            AnnotateFormat::Lua
        );
        assert_eq!(annotate(None, o("x.XLSX")).unwrap(), AnnotateFormat::Xlsx);
        assert_eq!(annotate(None, o("x.txt")).unwrap(), AnnotateFormat::Csv);
        assert_eq!(annotate(None, None).unwrap(), AnnotateFormat::Csv);
        assert_eq!(
            annotate(Some(AnnotateFormat::Jsonl), o("x.txt")).unwrap(),
            AnnotateFormat::Jsonl
        );
        let err = annotate(Some(AnnotateFormat::Csv), o("x.xlsx")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "--format csv contradicts -o x.xlsx (which names xlsx)"
        );
        assert_eq!(
            annotate(None, o("x.parquet")).unwrap(),
            AnnotateFormat::Parquet
        );
        let err = resolve_format(None, Some(Path::new("f.lua")), FormatArg::Csv).unwrap_err();
        assert!(err.to_string().contains("cannot write lua"), "{err}");
    }

    #[test]
    fn columns_apply_to_the_tables_that_have_them() {
        let all = [TableName::Packets, TableName::Flows, TableName::Http];
        let o = table_options(&flags(&["stream", "packets.info", "http.uri"]), &all, true).unwrap();
        assert_eq!(
            o.packets,
            Selection::Only(vec![PacketColumn::Stream, PacketColumn::Info])
        );
        assert_eq!(o.connections, Selection::Only(vec![ConnColumn::Stream]));
        assert_eq!(
            o.exchanges,
            Selection::Only(vec![ExchangeColumn::Stream, ExchangeColumn::Uri])
        );
        let o = table_options(&flags(&["packets.frame"]), &all, true).unwrap();
        assert_eq!(o.connections, Selection::All, "no name for it: all columns");
        let err = table_options(&flags(&["nope"]), &[TableName::Flows], true).unwrap_err();
        assert!(
            err.to_string()
                .contains("valid columns are flows: stream, client"),
            "{err}"
        );
        let err = table_options(&flags(&["http.uri"]), &[TableName::Packets], true).unwrap_err();
        assert!(err.to_string().contains("no http table"), "{err}");
        assert!(table_options(&flags(&["flows.info"]), &all, true).is_err());
    }
}
