//! `wirenote http`: one row per HTTP exchange.

use wirenote_core::{Pass, Sink};
use wirenote_export::{ExchangeParquet, ExchangeTable, Format, Sheets, Workbook};

use crate::args::{FormatArg, OutputArgs};
use crate::exit::Exit;
use crate::input::Capture;
use crate::output::Output;
use crate::passes::drive;
use crate::progress::Progress;
use crate::tables::{check_parquet, resolve_format, table_options, workbook_info, TableName};

pub(crate) fn run(args: &OutputArgs) -> anyhow::Result<Exit> {
    let format = resolve_format(args.format, args.output.as_deref(), FormatArg::Csv)?;
    if format == FormatArg::Parquet {
        check_parquet(&args.tables)?;
    }
    let options = table_options(&args.tables, &[TableName::Http], format == FormatArg::Csv)?;
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
    let mut table: Box<dyn Sink + Send + '_> = match format {
        FormatArg::Csv => Box::new(ExchangeTable::with_options(
            Format::Csv,
            &options,
            output.writer(),
        )),
        FormatArg::Jsonl => Box::new(ExchangeTable::with_options(
            Format::JsonLines,
            &options,
            output.writer(),
        )),
        FormatArg::Xlsx => Box::new(Workbook::new(
            output.writer(),
            Sheets {
                packets: false,
                connections: false,
                exchanges: true,
            },
            &options,
            info,
        )?),
        FormatArg::Parquet => Box::new(ExchangeParquet::new(output.writer(), None)?),
    };
    let damage = progress.run(|| {
        drive(
            &capture.name,
            &mut |each| capture.for_each_frame(each),
            Pass::Single,
            &mut table,
        )
    })?;
    drop(table);
    output.commit()?;
    Ok(Exit::from_damage(damage))
}
