//! `wirenote http`: one row per HTTP exchange.

use wirenote_core::Dissector;
use wirenote_export::TableWriter;

use crate::args::OutputArgs;
use crate::exit::Exit;
use crate::input::Capture;
use crate::output::Output;

pub(crate) fn run(args: &OutputArgs) -> anyhow::Result<Exit> {
    let capture = Capture::open(args.input.path())?;
    let output = Output::create(args.output.as_deref())?;
    let mut dissector = Dissector::new();
    let damage = {
        let mut table = TableWriter::exchanges(args.format.table_format(), output.writer());
        let damage = capture.for_each_frame(|frame| {
            dissector.dissect(frame);
            dissector.take_finished();
            for exchange in dissector.take_exchanges() {
                table.exchange(&exchange)?;
            }
            Ok(())
        })?;
        dissector.finish();
        for exchange in dissector.take_exchanges() {
            table.exchange(&exchange)?;
        }
        table.finish()?;
        damage
    };
    output.commit()?;
    Ok(Exit::from_damage(damage))
}
