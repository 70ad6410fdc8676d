//! `wirenote explain`: the story of one connection, as text, a ladder diagram (SVG) or
//! an HTML page. The wording and drawing are `wirenote_export`'s; this only collects the
//! stream's records and writes the chosen view.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use wirenote_core::record::{ConnRecord, ExchangeRecord, PacketRecord};
use wirenote_core::{Frame, Pass, Sink, Wants};
use wirenote_export::{
    explain_stream, ladder_svg, report_html, Language, ReportInput, MAX_ARROWS, MAX_LADDERS,
};

use crate::args::{ExplainArgs, ExplainFormat, LangArg};
use crate::exit::Exit;
use crate::input::Capture;
use crate::output::Output;
use crate::passes::drive;

/// Which packets a [`Collected`] keeps.
#[derive(Debug, Clone, Copy)]
pub(super) enum Keep {
    /// Every packet of one stream.
    Stream(u64),
    /// The first [`MAX_ARROWS`] packets of each of the first [`MAX_LADDERS`] streams
    /// (memory bounded whatever the capture's size; the ladders say what they left out).
    Ladders,
}

/// The records a view needs: packets (as `keep` says), connections and exchanges.
pub(super) struct Collected {
    keep: Keep,
    pub(super) packets: BTreeMap<u64, Vec<PacketRecord>>,
    pub(super) connections: Vec<ConnRecord>,
    pub(super) exchanges: Vec<ExchangeRecord>,
    pub(super) total_packets: u64,
}

impl Collected {
    pub(super) fn new(keep: Keep) -> Collected {
        Collected {
            keep,
            packets: BTreeMap::new(),
            connections: Vec::new(),
            exchanges: Vec::new(),
            total_packets: 0,
        }
    }

    fn wanted(&self, stream: u64) -> bool {
        match self.keep {
            Keep::Stream(wanted) => stream == wanted,
            Keep::Ladders => stream < MAX_LADDERS as u64,
        }
    }

    /// Drives `capture` into the collection; returns the damage warning, if any.
    pub(super) fn drive(&mut self, capture: &Capture) -> anyhow::Result<Option<String>> {
        let damage = drive(
            &capture.name,
            &mut |each| capture.for_each_frame(each),
            Pass::Single,
            wirenote_core::Limits::default(),
            self,
        )?;
        self.connections.sort_by_key(|c| c.stream);
        Ok(damage)
    }
}

impl Sink for Collected {
    fn wants(&self) -> Wants {
        Wants {
            connections: true,
            exchanges: true,
            ignores_rows: false,
        }
    }

    fn packet(&mut self, _frame: &Frame<'_>, row: &PacketRecord) -> io::Result<()> {
        self.total_packets += 1;
        let Some(stream) = row.tcp.as_ref().map(|t| t.stream) else {
            return Ok(());
        };
        if self.wanted(stream) {
            let kept = self.packets.entry(stream).or_default();
            if matches!(self.keep, Keep::Stream(_)) || kept.len() < MAX_ARROWS {
                kept.push(row.clone());
            }
        }
        Ok(())
    }

    fn connections(&mut self, conns: &[ConnRecord]) -> io::Result<()> {
        let keep = self.keep;
        self.connections.extend(
            conns
                .iter()
                .filter(|c| !matches!(keep, Keep::Stream(s) if s != c.stream))
                .cloned(),
        );
        Ok(())
    }

    fn exchanges(&mut self, exchanges: &[ExchangeRecord]) -> io::Result<()> {
        let keep = self.keep;
        self.exchanges.extend(
            exchanges
                .iter()
                .filter(|e| !matches!(keep, Keep::Stream(s) if s != e.stream))
                .cloned(),
        );
        Ok(())
    }
}

pub(super) fn language(lang: LangArg) -> Language {
    match lang {
        LangArg::En => Language::En,
        LangArg::Zh => Language::Zh,
    }
}

/// The format `--format` names, else `-o`'s extension's, else text.
fn format(args: &ExplainArgs) -> ExplainFormat {
    let extension = args
        .output
        .as_deref()
        .and_then(Path::extension)
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    args.format.unwrap_or(match extension.as_deref() {
        Some("svg") => ExplainFormat::Svg,
        Some("html" | "htm") => ExplainFormat::Html,
        _ => ExplainFormat::Text,
    })
}

/// Writes `write`'s output to `-o` (atomically) or stdout.
pub(super) fn write_output(
    target: Option<&Path>,
    write: &mut dyn FnMut(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let output = Output::create(target)?;
    {
        // The text is written a line at a time: buffered, not a system call per line.
        let mut out = io::BufWriter::new(output.writer());
        write(&mut out)?;
        out.flush()?;
    }
    output.commit()?;
    Ok(())
}

pub(crate) fn run(args: &ExplainArgs) -> anyhow::Result<Exit> {
    let capture = Capture::open(args.input.path())?;
    let mut story = Collected::new(Keep::Stream(args.stream));
    let damage = story.drive(&capture)?;
    let Some(packets) = story.packets.get(&args.stream) else {
        anyhow::bail!("{}: no TCP stream {}", capture.name, args.stream);
    };
    let lang = language(args.lang);
    let conn = story.connections.first();
    match format(args) {
        ExplainFormat::Text => write_output(args.output.as_deref(), &mut |out| {
            explain_stream(packets, conn, lang, out)
        })?,
        ExplainFormat::Svg => {
            let ladder = ladder_svg(packets, conn, lang);
            warn_omitted(args.stream, ladder.omitted);
            write_output(args.output.as_deref(), &mut |out| {
                out.write_all(ladder.svg.as_bytes())
            })?
        }
        ExplainFormat::Html => {
            warn_omitted(args.stream, packets.len().saturating_sub(MAX_ARROWS));
            let page = report_html(&ReportInput {
                capture: &capture.name,
                connections: &story.connections,
                exchanges: &story.exchanges,
                packets: &story.packets,
                total_packets: story.total_packets,
                open: true,
                lang,
            });
            write_output(args.output.as_deref(), &mut |out| {
                out.write_all(page.as_bytes())
            })?
        }
    }
    Ok(Exit::from_damage(damage))
}

/// Says on stderr that a ladder left packets out.
pub(super) fn warn_omitted(stream: u64, omitted: usize) {
    if omitted > 0 {
        eprintln!(
            "wirenote: warning: stream {stream}: the ladder shows the first {MAX_ARROWS} packets; {omitted} more are not drawn"
        );
    }
}
