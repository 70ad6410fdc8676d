//! What `flows` and `http` share: one table of a capture, in the format the flags name.

use std::io::{self, Write};

use wirenote_core::{Pass, Sink};
use wirenote_export::{Format, Sheets, TableOptions, Workbook};

use crate::args::{FormatArg, OutputArgs};
use crate::exit::Exit;
use crate::input::Capture;
use crate::output::Output;
use crate::passes::drive;
use crate::progress::Progress;
use crate::tables::{check_parquet, resolve_format, table_options, workbook_info, TableName};

/// A boxed sink writing into one output.
pub(crate) type BoxedSink<'a> = Box<dyn Sink + Send + 'a>;
type Out<'a> = Box<dyn Write + Send + 'a>;

/// The table a command writes, and how each format builds it.
pub(crate) struct OneTable {
    /// Its name for `-e TABLE.COLUMN`.
    pub(crate) name: TableName,
    /// Its sheet in a workbook.
    pub(crate) sheets: Sheets,
    /// As CSV or JSON Lines.
    pub(crate) text: for<'a> fn(Format, &TableOptions, Out<'a>) -> BoxedSink<'a>,
    /// As Parquet.
    pub(crate) parquet: for<'a> fn(Out<'a>) -> io::Result<BoxedSink<'a>>,
}

/// Writes `table` of the capture `args` names, in the format the flags (or `-o`) name.
pub(crate) fn run(args: &OutputArgs, table: &OneTable) -> anyhow::Result<Exit> {
    let format = resolve_format(args.format, args.output.as_deref(), FormatArg::Csv)?;
    if format == FormatArg::Parquet {
        check_parquet(&args.tables)?;
    }
    let options = table_options(&args.tables, &[table.name], format == FormatArg::Csv)?;
    let limits = crate::memory::limits(&args.tables.memory, 1)?;
    let path = args.input.path();
    let info = workbook_info(&path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    ))?;
    let capture = Capture::open(path)?;
    let progress = Progress::for_capture(capture.len(), 1);
    let size = capture.len();
    let capture = capture.counting(progress.start_file(size));
    let output = Output::create(args.output.as_deref())?;
    let mut sink: BoxedSink<'_> = match format {
        FormatArg::Csv => (table.text)(Format::Csv, &options, output.writer()),
        FormatArg::Jsonl => (table.text)(Format::JsonLines, &options, output.writer()),
        FormatArg::Xlsx => Box::new(Workbook::new(
            output.writer(),
            table.sheets,
            &options,
            info,
        )?),
        FormatArg::Parquet => (table.parquet)(output.writer())?,
    };
    let damage = progress.run(|| {
        drive(
            &capture.name,
            &mut |each| capture.for_each_frame(each),
            Pass::Single,
            limits,
            &mut sink,
        )
    })?;
    drop(sink);
    output.commit()?;
    Ok(Exit::from_damage(damage))
}
