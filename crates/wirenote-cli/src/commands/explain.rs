//! `wirenote explain`: the story of one connection.

use std::io::{self, Write};

use wirenote_core::record::{ConnRecord, PacketRecord};
use wirenote_core::{Frame, Pass, Sink, Wants};
use wirenote_export::{explain_stream, Language};

use crate::args::{ExplainArgs, LangArg};
use crate::exit::Exit;
use crate::input::Capture;
use crate::passes::drive;

/// Keeps the rows and the summary of one stream.
struct OneStream {
    stream: u64,
    packets: Vec<PacketRecord>,
    conn: Option<ConnRecord>,
}

impl Sink for OneStream {
    fn wants(&self) -> Wants {
        Wants {
            connections: true,
            exchanges: false,
        }
    }

    fn packet(&mut self, _frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()> {
        if row.tcp.as_ref().is_some_and(|t| t.stream == self.stream) {
            self.packets.push(row.clone());
        }
        Ok(())
    }

    fn connections(&mut self, conns: &[ConnRecord]) -> io::Result<()> {
        if let Some(found) = conns.iter().find(|c| c.stream == self.stream) {
            self.conn = Some(found.clone());
        }
        Ok(())
    }
}

pub(crate) fn run(args: &ExplainArgs) -> anyhow::Result<Exit> {
    let capture = Capture::open(args.input.path())?;
    let mut story = OneStream {
        stream: args.stream,
        packets: Vec::new(),
        conn: None,
    };
    let damage = drive(
        &capture.name,
        &mut |each| capture.for_each_frame(each),
        Pass::Single,
        &mut story,
    )?;
    if story.packets.is_empty() {
        anyhow::bail!("{}: no TCP stream {}", capture.name, args.stream);
    }
    let lang = match args.lang {
        LangArg::En => Language::En,
        LangArg::Zh => Language::Zh,
    };
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    explain_stream(&story.packets, story.conn.as_ref(), lang, &mut out)?;
    out.flush()?;
    Ok(Exit::from_damage(damage))
}
