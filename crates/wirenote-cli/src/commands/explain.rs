//! `wirenote explain`: the story of one connection.

use std::io::{self, Write};

use wirenote_core::record::{ConnRecord, PacketRecord};
use wirenote_core::Conn;
use wirenote_core::Dissector;
use wirenote_export::{explain_stream, Language};

use crate::args::{ExplainArgs, LangArg};
use crate::exit::Exit;
use crate::input::Capture;

pub(crate) fn run(args: &ExplainArgs) -> anyhow::Result<Exit> {
    let capture = Capture::open(args.input.path())?;
    let mut dissector = Dissector::new();
    let mut packets: Vec<PacketRecord> = Vec::new();
    let mut conn = None;
    let keep = |conns: Vec<Conn>, conn: &mut Option<ConnRecord>| {
        if let Some(found) = conns.iter().find(|c| c.stream == args.stream) {
            *conn = Some(ConnRecord::from_conn(found));
        }
    };
    let damage = capture.for_each_frame(|frame| {
        let record = dissector.dissect(frame);
        if record.tcp.as_ref().is_some_and(|t| t.stream == args.stream) {
            packets.push(record);
        }
        keep(dissector.take_finished(), &mut conn);
        Ok(())
    })?;
    keep(dissector.finish(), &mut conn);
    if packets.is_empty() {
        anyhow::bail!("{}: no TCP stream {}", capture.name, args.stream);
    }
    let lang = match args.lang {
        LangArg::En => Language::En,
        LangArg::Zh => Language::Zh,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    explain_stream(&packets, conn.as_ref(), lang, &mut out)?;
    out.flush()?;
    Ok(Exit::from_damage(damage))
}
