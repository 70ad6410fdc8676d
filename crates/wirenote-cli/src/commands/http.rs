//! `wirenote http`: one row per HTTP exchange.

use wirenote_core::Pass;
use wirenote_export::ExchangeTable;

use crate::args::OutputArgs;
use crate::exit::Exit;
use crate::input::Capture;
use crate::output::Output;
use crate::passes::drive;

pub(crate) fn run(args: &OutputArgs) -> anyhow::Result<Exit> {
    let capture = Capture::open(args.input.path())?;
    let output = Output::create(args.output.as_deref())?;
    let mut table = ExchangeTable::new(args.format.table_format(), output.writer());
    let damage = drive(
        &capture.name,
        &mut |each| capture.for_each_frame(each),
        Pass::Single,
        &mut table,
    )?;
    drop(table);
    output.commit()?;
    Ok(Exit::from_damage(damage))
}
