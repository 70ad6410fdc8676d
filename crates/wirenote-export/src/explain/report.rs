//! One self-contained HTML page for a capture: the connections table (sortable, Zeek
//! state and history explained in words), the HTTP exchanges, and each connection's
//! ladder diagram, inline, folded in a `<details>` (collapsed by default).
//!
//! It works offline from a `file://` URL: no external stylesheet, font, script or image,
//! and a Content-Security-Policy that forbids loading any. The small inline script only
//! sorts the tables; without JavaScript the page shows everything, unsorted.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use wirenote_core::record::{ConnRecord, ExchangeRecord, PacketRecord};

use super::markup::escape;
use super::summary;
use super::svg::ladder_svg;
use super::wording::{Language, Wording};

/// Most connections whose ladders one report draws (every connection is in the table).
pub const MAX_LADDERS: usize = 100;

/// What a report shows.
pub struct ReportInput<'a> {
    /// The capture's name as the user gave it.
    pub capture: &'a str,
    /// Every connection, in stream order.
    pub connections: &'a [ConnRecord],
    /// Every HTTP exchange.
    pub exchanges: &'a [ExchangeRecord],
    /// The packets of the connections to draw (at most [`MAX_LADDERS`], each at most
    /// [`crate::MAX_ARROWS`] packets), by stream.
    pub packets: &'a BTreeMap<u64, Vec<PacketRecord>>,
    /// Packets in the capture.
    pub total_packets: u64,
    /// Whether the ladders start unfolded (`explain --format html`: one connection).
    pub open: bool,
    /// The page's language.
    pub lang: Language,
}

const STYLE: &str =
    "body { font-family: 'DejaVu Sans', 'Noto Sans CJK SC', 'WenQuanYi Micro Hei', \
'Microsoft YaHei', 'PingFang SC', sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #eef2f7; cursor: pointer; white-space: nowrap; }
th[aria-sort=ascending]::after { content: ' \\25B2'; }
th[aria-sort=descending]::after { content: ' \\25BC'; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.explain { color: #555; font-size: 12px; display: block; max-width: 42em; }
details { margin: 0.4em 0; border: 1px solid #ddd; padding: 0.3em 0.6em; }
summary { cursor: pointer; font-weight: bold; }
.ladder { overflow-x: auto; }
code { background: #f4f4f4; padding: 0 2px; }";

const SCRIPT: &str = "(function () {
  function sort(table, column, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var up = th.getAttribute('aria-sort') !== 'ascending';
    var heads = table.tHead.rows[0].cells;
    for (var i = 0; i < heads.length; i++) { heads[i].removeAttribute('aria-sort'); }
    th.setAttribute('aria-sort', up ? 'ascending' : 'descending');
    var numeric = th.getAttribute('data-type') === 'number';
    function key(row) {
      var cell = row.cells[column];
      return cell.getAttribute('data-sort') || cell.textContent;
    }
    rows.sort(function (a, b) {
      var c = numeric ? parseFloat(key(a)) - parseFloat(key(b)) : key(a).localeCompare(key(b));
      return up ? c : -c;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }
  var tables = document.querySelectorAll('table.sortable');
  for (var t = 0; t < tables.length; t++) {
    (function (table) {
      var heads = table.tHead.rows[0].cells;
      for (var c = 0; c < heads.length; c++) {
        (function (th, column) {
          th.tabIndex = 0;
          th.addEventListener('click', function () { sort(table, column, th); });
          th.addEventListener('keydown', function (e) {
            if (e.key === 'Enter') { sort(table, column, th); }
          });
        })(heads[c], c);
      }
    })(tables[t]);
  }
})();";

/// The report page.
pub fn report_html(input: &ReportInput<'_>) -> String {
    let words = Wording::load(input.lang);
    let title = words.say("report.title", &[("capture", input.capture)]);
    let mut page = String::new();
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>\n{STYLE}\n</style>\n</head>\n<body>\n<h1>{}</h1>\n<p>{}</p>\n",
        input.lang.tag(),
        escape(&title),
        escape(&title),
        escape(&words.say(
            "report.intro",
            &[
                ("connections", &input.connections.len().to_string()),
                ("exchanges", &input.exchanges.len().to_string()),
                ("packets", &input.total_packets.to_string()),
            ]
        )),
    );
    connections(&mut page, &words, input.connections);
    exchanges(&mut page, &words, input.exchanges);
    ladders(&mut page, &words, input);
    let _ = write!(page, "<script>\n{SCRIPT}\n</script>\n</body>\n</html>\n");
    page
}

/// A header row; `numeric` columns sort as numbers.
fn table_head(page: &mut String, words: &Wording, id: &str, columns: &[(&str, bool)]) {
    let _ = write!(page, "<table class=\"sortable\" id=\"{id}\">\n<thead><tr>");
    for (key, numeric) in columns {
        let kind = if *numeric {
            " data-type=\"number\""
        } else {
            ""
        };
        let _ = write!(page, "<th{kind}>{}</th>", escape(words.word(key)));
    }
    page.push_str("</tr></thead>\n<tbody>\n");
}

fn cell(page: &mut String, text: &str) {
    let _ = write!(page, "<td>{}</td>", escape(text));
}

fn number(page: &mut String, text: &str) {
    let _ = write!(page, "<td class=\"num\">{}</td>", escape(text));
}

/// A code value with its meaning in words under it (sorted by the code).
fn explained(page: &mut String, code: &str, meaning: &str) {
    let _ = write!(
        page,
        "<td data-sort=\"{0}\"><code>{0}</code><span class=\"explain\">{1}</span></td>",
        escape(code),
        escape(meaning)
    );
}

fn connections(page: &mut String, words: &Wording, conns: &[ConnRecord]) {
    let _ = writeln!(
        page,
        "<h2>{}</h2>",
        escape(words.word("report.connections"))
    );
    let columns = [
        ("col.stream", true),
        ("col.client", false),
        ("col.server", false),
        ("col.duration", true),
        ("col.packets", true),
        ("col.bytes", true),
        ("col.conn_state", false),
        ("col.history", false),
        ("col.closed_by", false),
        ("col.final", false),
    ];
    table_head(page, words, "connections", &columns);
    for conn in conns {
        let _ = write!(
            page,
            "<tr id=\"conn-{0}\"><td class=\"num\"><a href=\"#stream-{0}\">{0}</a></td>",
            conn.stream
        );
        cell(page, &conn.client.to_string());
        cell(page, &conn.server.to_string());
        number(page, &format!("{:.6}", conn.duration()));
        number(page, &(conn.packets_c2s + conn.packets_s2c).to_string());
        number(page, &(conn.bytes_c2s + conn.bytes_s2c).to_string());
        let state = conn.conn_state.as_str();
        explained(page, state, &summary::conn_state(words, state));
        explained(page, &conn.history, &summary::history(words, &conn.history));
        let closed_key = format!("closed_by.{}", conn.closed_by);
        cell(page, &words.say(&closed_key, &[]));
        cell(
            page,
            &format!("{} / {}", conn.client_final, conn.server_final),
        );
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n");
}

fn exchanges(page: &mut String, words: &Wording, exchanges: &[ExchangeRecord]) {
    let _ = writeln!(page, "<h2>{}</h2>", escape(words.word("report.exchanges")));
    let columns = [
        ("col.stream", true),
        ("col.time", true),
        ("col.frames", false),
        ("col.request", false),
        ("col.host", false),
        ("col.response", false),
        ("col.type", false),
        ("col.note", false),
    ];
    table_head(page, words, "exchanges", &columns);
    let frame = |f: Option<u64>| f.map_or_else(|| "?".to_string(), |f| f.to_string());
    for e in exchanges {
        let _ = write!(
            page,
            "<tr><td class=\"num\"><a href=\"#stream-{0}\">{0}</a></td>",
            e.stream
        );
        number(
            page,
            &e.response_time
                .map(|t| format!("{t:.6}"))
                .unwrap_or_default(),
        );
        cell(
            page,
            &format!("{} → {}", frame(e.request_frame), frame(e.response_frame)),
        );
        let request = [e.method.as_deref(), e.uri.as_deref(), e.version.as_deref()];
        cell(
            page,
            &request.into_iter().flatten().collect::<Vec<_>>().join(" "),
        );
        cell(page, e.host.as_deref().unwrap_or(""));
        let status = e.status.map(|s| s.to_string()).unwrap_or_default();
        cell(
            page,
            format!("{status} {}", e.reason.as_deref().unwrap_or("")).trim(),
        );
        cell(page, e.content_type.as_deref().unwrap_or(""));
        let mut notes = Vec::new();
        if e.conditional {
            notes.push(words.say("note.conditional", &[]));
        }
        if e.revalidated {
            notes.push(words.say("note.revalidated", &[]));
        }
        cell(page, &words.clauses(&notes));
        page.push_str("</tr>\n");
    }
    page.push_str("</tbody>\n</table>\n");
}

fn ladders(page: &mut String, words: &Wording, input: &ReportInput<'_>) {
    let _ = writeln!(page, "<h2>{}</h2>", escape(words.word("report.ladders")));
    let drawable = input.connections.len().max(input.packets.len());
    if drawable > MAX_LADDERS {
        let (limit, more) = (
            MAX_LADDERS.to_string(),
            (drawable - MAX_LADDERS).to_string(),
        );
        let _ = writeln!(
            page,
            "<p>{}</p>",
            escape(&words.say(
                "report.ladders-limit",
                &[("limit", &limit), ("more", &more)]
            ))
        );
    }
    for (stream, packets) in input.packets.iter().take(MAX_LADDERS) {
        let conn = input.connections.iter().find(|c| c.stream == *stream);
        let ladder = ladder_svg(packets, conn, input.lang);
        let open = if input.open { " open" } else { "" };
        let title = match conn {
            Some(conn) => super::text::header(words, conn),
            None => words.say(
                "ladder.title",
                &[
                    ("stream", &stream.to_string()),
                    ("client", ""),
                    ("server", ""),
                ],
            ),
        };
        let state = conn
            .map(|c| format!(" — {} {}", c.conn_state.as_str(), c.history))
            .unwrap_or_default();
        let _ = write!(
            page,
            "<details id=\"stream-{stream}\"{open}><summary>{}{}</summary>\n<div class=\"ladder\">\n{}</div>\n</details>\n",
            escape(&title),
            escape(&state),
            ladder.svg
        );
    }
}
