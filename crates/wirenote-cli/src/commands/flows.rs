//! `wirenote flows`: one row per TCP connection, in stream order.

use wirenote_core::Dissector;
use wirenote_export::TableWriter;

use crate::args::OutputArgs;
use crate::exit::Exit;
use crate::input::Capture;
use crate::output::Output;
use crate::sink::InOrder;

pub(crate) fn run(args: &OutputArgs) -> anyhow::Result<Exit> {
    let capture = Capture::open(args.input.path())?;
    let output = Output::create(args.output.as_deref())?;
    let mut dissector = Dissector::new();
    let damage = {
        let mut table = TableWriter::connections(args.format.table_format(), output.writer());
        let mut order = InOrder::default();
        let damage = capture.for_each_frame(|frame| {
            dissector.dissect(frame);
            order.push(dissector.take_finished(), &mut table)?;
            Ok(())
        })?;
        order.push(dissector.finish(), &mut table)?;
        table.finish()?;
        damage
    };
    output.commit()?;
    Ok(Exit::from_damage(damage))
}
