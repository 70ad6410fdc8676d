//! `wirenote report`: one self-contained HTML page for a capture.

use wirenote_export::{report_html, ReportInput, MAX_ARROWS, MAX_LADDERS};

use super::explain::{language, warn_omitted, write_output, Collected, Keep};
use crate::args::ReportArgs;
use crate::exit::Exit;
use crate::input::Capture;

pub(crate) fn run(args: &ReportArgs) -> anyhow::Result<Exit> {
    let capture = Capture::open(args.input.path())?;
    let mut collected = Collected::new(Keep::Ladders);
    let damage = collected.drive(&capture)?;
    for conn in &collected.connections {
        let total = (conn.packets_c2s + conn.packets_s2c) as usize;
        if conn.stream < MAX_LADDERS as u64 {
            warn_omitted(conn.stream, total.saturating_sub(MAX_ARROWS));
        }
    }
    if collected.connections.len() > MAX_LADDERS {
        eprintln!(
            "wirenote: warning: the report draws the ladders of the first {MAX_LADDERS} connections; {} more are in its table only",
            collected.connections.len() - MAX_LADDERS
        );
    }
    let page = report_html(&ReportInput {
        capture: &capture.name,
        connections: &collected.connections,
        exchanges: &collected.exchanges,
        packets: &collected.packets,
        total_packets: collected.total_packets,
        open: false,
        lang: language(args.lang),
    });
    write_output(args.output.as_deref(), &mut |out| {
        out.write_all(page.as_bytes())
    })?;
    Ok(Exit::from_damage(damage))
}
