//! `wirenote flows`: one row per TCP connection, in stream order.

use wirenote_core::{Pass, Sink};
use wirenote_export::{ConnParquet, ConnTable};

use crate::args::{is_parquet_path, FormatArg, OutputArgs};
use crate::exit::Exit;
use crate::input::Capture;
use crate::output::Output;
use crate::passes::drive;
use crate::progress::Progress;

pub(crate) fn run(args: &OutputArgs) -> anyhow::Result<Exit> {
    let capture = Capture::open(args.input.path())?;
    let progress = Progress::for_capture(capture.len(), 1);
    let size = capture.len();
    let capture = capture.counting(progress.start_file(size));
    let output = Output::create(args.output.as_deref())?;
    // `-o FILE.parquet` chooses Parquet unless another format is given.
    let format = match args.format {
        FormatArg::Csv if is_parquet_path(args.output.as_deref()) => FormatArg::Parquet,
        other => other,
    };
    let mut table: Box<dyn Sink + Send + '_> = match format.table_format() {
        Some(format) => Box::new(ConnTable::new(format, output.writer())),
        None => Box::new(ConnParquet::new(output.writer(), None)?),
    };
    let damage = progress.run(|| {
        drive(
            &mut |each| capture.for_each_frame(each),
            Pass::Single,
            &mut table,
        )
    })?;
    drop(table);
    output.commit()?;
    Ok(Exit::from_damage(damage))
}
