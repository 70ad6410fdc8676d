//! The ladder model laid out and drawn as one self-contained SVG: no external fonts,
//! scripts, images or URLs (a generic font list with CJK-capable system fonts, so Chinese
//! labels render wherever such a font is installed); every label is a `<text>`, so it
//! can be selected and searched; every string from the capture is escaped.
//!
//! Widths are estimated (a CJK glyph ≈ 1 em, any other ≈ 0.6 em; see `markup`), and the
//! columns are sized from the longest label in each, so labels do not overlap.

use std::fmt::Write as _;

use wirenote_core::record::{ConnRecord, PacketRecord};

use super::ladder::{Arrow, Model, Row};
use super::markup::{escape, width, wrap};
use super::wording::{Language, Wording};

/// A ladder diagram, drawn.
#[derive(Debug, Clone)]
pub struct Ladder {
    /// The SVG document (UTF-8, no XML declaration needed).
    pub svg: String,
    /// Arrows drawn (one per packet, at most [`crate::MAX_ARROWS`]).
    pub arrows: usize,
    /// Packets of the stream left out past the limit.
    pub omitted: usize,
}

const FONT: f64 = 12.0;
const SMALL: f64 = 11.0;
const LINE: f64 = 15.0;
const MARGIN: f64 = 12.0;
/// How far an arrow drops from its sender to its receiver.
const SLOPE: f64 = 8.0;
/// Height of a compressed gap (or of the limit's notice).
const BREAK: f64 = 30.0;
/// Where the first row starts, under the title, the heads and the initial states.
const ROWS_TOP: f64 = 80.0;

/// The fonts, generic last: Latin first, then CJK-capable system fonts.
const FONTS: &str = "'DejaVu Sans', 'Noto Sans CJK SC', 'Source Han Sans SC', \
                     'WenQuanYi Micro Hei', 'Microsoft YaHei', 'PingFang SC', sans-serif";

/// Draws the ladder diagram of one connection (`packets`: all of one stream, in order).
pub fn ladder_svg(packets: &[PacketRecord], conn: Option<&ConnRecord>, lang: Language) -> Ladder {
    let words = Wording::load(lang);
    let model = Model::build(&words, packets, conn);
    let layout = Layout::of(&model);
    let mut svg = String::new();
    let arrows = model
        .rows
        .iter()
        .filter(|r| matches!(r, Row::Arrow(_)))
        .count();
    head(&mut svg, &model, &layout, lang);
    for (i, row) in model.rows.iter().enumerate() {
        let (top, height) = layout.rows[i];
        lifelines(&mut svg, &layout, top, height, matches!(row, Row::Arrow(_)));
        match row {
            Row::Arrow(arrow) => draw_arrow(&mut svg, &layout, arrow, top),
            Row::Gap(label) => notice(&mut svg, &layout, label, top, "wn-gap"),
            Row::Limit(label) => notice(&mut svg, &layout, label, top, "wn-limit"),
        }
    }
    brackets(&mut svg, &model, &layout);
    footer(&mut svg, &layout);
    svg.push_str("</svg>\n");
    Ladder {
        svg,
        arrows,
        omitted: model.omitted,
    }
}

/// Where everything goes.
struct Layout {
    client_x: f64,
    server_x: f64,
    /// x of the bracket line (the step labels start 8 px right of it).
    bracket_x: f64,
    width: f64,
    height: f64,
    /// (top, height) of each row.
    rows: Vec<(f64, f64)>,
    /// The footer, wrapped, and where its first line goes.
    footer: Vec<String>,
    footer_top: f64,
}

/// Lines of text above an arrow: the segment, its HTTP messages, its warning.
fn label_lines(arrow: &Arrow) -> Vec<&str> {
    let mut lines = vec![arrow.segment.as_str()];
    lines.extend(arrow.messages.iter().map(String::as_str));
    lines.extend(arrow.warning.as_deref());
    lines
}

fn row_height(row: &Row) -> f64 {
    match row {
        Row::Arrow(arrow) => label_lines(arrow).len() as f64 * LINE + 4.0 + SLOPE + 12.0,
        Row::Gap(_) | Row::Limit(_) => BREAK,
    }
}

/// Width of a bold label (about a tenth wider than regular).
fn bold(text: &str, size: f64) -> f64 {
    width(text, size) * 1.1
}

impl Layout {
    fn of(model: &Model) -> Layout {
        let arrows = || {
            model.rows.iter().filter_map(|r| match r {
                Row::Arrow(a) => Some(a),
                _ => None,
            })
        };
        let widest = |texts: &mut dyn Iterator<Item = f64>| texts.fold(0.0, f64::max);
        let left = widest(&mut arrows().map(|a| width(&frame_label(a), SMALL)));
        let state = |side: usize| {
            widest(
                &mut arrows()
                    .filter_map(|a| a.marks[side].as_deref())
                    .chain([model.initial[side].as_str()])
                    .map(|s| bold(s, SMALL)),
            )
        };
        let heads = model.heads.each_ref().map(|h| bold(h, FONT) + 16.0);
        let labels = widest(&mut arrows().flat_map(label_lines).map(|l| width(l, FONT)));
        let notices = widest(&mut model.rows.iter().filter_map(|r| match r {
            Row::Gap(l) | Row::Limit(l) => Some(width(l, FONT)),
            Row::Arrow(_) => None,
        }));
        let span = (labels + 40.0)
            .max(notices + 40.0)
            .max((heads[0] + heads[1]) / 2.0 + 24.0)
            .max(300.0);
        let client_x = (MARGIN + left + 14.0 + state(0) + 10.0).max(MARGIN + heads[0] / 2.0);
        let server_x = client_x + span;
        let steps = widest(
            &mut arrows()
                .filter_map(|a| a.step.as_deref())
                .map(|s| width(s, SMALL))
                .chain(model.brackets.iter().map(|b| bold(&b.label, SMALL))),
        );
        let bracket_x = server_x + 10.0 + state(1) + 16.0;
        let right = if model.brackets.is_empty() {
            server_x + 10.0 + state(1)
        } else {
            bracket_x + 8.0 + steps
        };
        let title = bold(&model.title, 14.0) + 2.0 * MARGIN;
        let width = (right + MARGIN)
            .max(server_x + heads[1] / 2.0 + MARGIN)
            .max(title)
            .ceil();
        let mut rows = Vec::with_capacity(model.rows.len());
        let mut y = ROWS_TOP;
        for row in &model.rows {
            let h = row_height(row);
            rows.push((y, h));
            y += h;
        }
        let footer: Vec<String> = model
            .footer
            .iter()
            .flat_map(|line| wrap(line, FONT, width - 2.0 * MARGIN))
            .collect();
        let footer_top = y + 20.0;
        let height = (footer_top + footer.len() as f64 * LINE + MARGIN).ceil();
        Layout {
            client_x,
            server_x,
            bracket_x,
            width,
            height,
            rows,
            footer,
            footer_top,
        }
    }
}

fn frame_label(arrow: &Arrow) -> String {
    format!("#{}  {}", arrow.frame, arrow.time)
}

/// The document's opening, styles, title, lifeline heads and initial states.
fn head(svg: &mut String, model: &Model, layout: &Layout, lang: Language) {
    let (w, h) = (layout.width, layout.height);
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"wn-ladder\" xml:lang=\"{lang}\" \
         width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\">\n\
         <title>{title}</title>\n\
         <style>\n\
         .wn-ladder text {{ font-family: {FONTS}; font-size: {FONT}px; fill: #222; }}\n\
         .wn-ladder .wn-title {{ font-size: 14px; font-weight: bold; }}\n\
         .wn-ladder .wn-head {{ font-weight: bold; }}\n\
         .wn-ladder .wn-small {{ font-size: {SMALL}px; fill: #666; }}\n\
         .wn-ladder .wn-state {{ font-size: {SMALL}px; font-weight: bold; fill: #6a1b9a; }}\n\
         .wn-ladder .wn-step {{ font-size: {SMALL}px; fill: #8a4b00; }}\n\
         .wn-ladder .wn-bracket-label {{ font-size: {SMALL}px; font-weight: bold; fill: #8a4b00; }}\n\
         .wn-ladder .wn-warning {{ fill: #c0392b; font-weight: bold; }}\n\
         .wn-ladder .wn-gap text {{ fill: #555; font-style: italic; }}\n\
         .wn-ladder .wn-limit text {{ fill: #c0392b; font-weight: bold; }}\n\
         .wn-ladder .wn-life {{ stroke: #999; stroke-width: 1.5; }}\n\
         .wn-ladder .wn-life-gap {{ stroke: #999; stroke-width: 1.5; stroke-dasharray: 2 4; }}\n\
         .wn-ladder .wn-c2s line {{ stroke: #1f5fa8; stroke-width: 1.5; }}\n\
         .wn-ladder .wn-c2s polygon {{ fill: #1f5fa8; }}\n\
         .wn-ladder .wn-s2c line {{ stroke: #2d7d46; stroke-width: 1.5; }}\n\
         .wn-ladder .wn-s2c polygon {{ fill: #2d7d46; }}\n\
         .wn-ladder .wn-flagged line {{ stroke: #c0392b; stroke-dasharray: 6 3; }}\n\
         .wn-ladder .wn-flagged polygon {{ fill: #c0392b; }}\n\
         .wn-ladder .wn-bracket {{ stroke: #8a4b00; stroke-width: 1.5; fill: none; }}\n\
         </style>\n\
         <rect width=\"{w}\" height=\"{h}\" fill=\"#fff\"/>\n\
         <text class=\"wn-title\" x=\"{MARGIN}\" y=\"22\">{title}</text>\n",
        lang = lang.tag(),
        title = escape(&model.title),
    );
    for (i, x) in [layout.client_x, layout.server_x].into_iter().enumerate() {
        let head = &model.heads[i];
        let box_w = bold(head, FONT) + 16.0;
        let _ = writeln!(
            svg,
            "<rect x=\"{:.1}\" y=\"32\" width=\"{box_w:.1}\" height=\"22\" rx=\"3\" fill=\"#eef2f7\" stroke=\"#556\"/>\
             <text class=\"wn-head\" x=\"{x:.1}\" y=\"47\" text-anchor=\"middle\">{}</text>",
            x - box_w / 2.0,
            escape(head),
        );
        lifeline_segment(svg, x, 54.0, ROWS_TOP, "wn-life");
        state_mark(svg, layout, i, &model.initial[i], 70.0);
    }
}

fn lifeline_segment(svg: &mut String, x: f64, from: f64, to: f64, class: &str) {
    let _ = writeln!(
        svg,
        "<line class=\"{class}\" x1=\"{x:.1}\" y1=\"{from:.1}\" x2=\"{x:.1}\" y2=\"{to:.1}\"/>"
    );
}

fn lifelines(svg: &mut String, layout: &Layout, top: f64, height: f64, solid: bool) {
    let class = if solid { "wn-life" } else { "wn-life-gap" };
    for x in [layout.client_x, layout.server_x] {
        lifeline_segment(svg, x, top, top + height, class);
    }
}

/// A state written on a side's lifeline (outside the arrows: left of the client's, right
/// of the server's), with a dot where it changes.
fn state_mark(svg: &mut String, layout: &Layout, side: usize, state: &str, y: f64) {
    if state.is_empty() {
        return;
    }
    let (x, anchor, text_x) = if side == 0 {
        (layout.client_x, "end", layout.client_x - 8.0)
    } else {
        (layout.server_x, "start", layout.server_x + 8.0)
    };
    let _ = writeln!(
        svg,
        "<circle cx=\"{x:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"#6a1b9a\"/>\
         <text class=\"wn-state\" x=\"{text_x:.1}\" y=\"{y:.1}\" text-anchor=\"{anchor}\">{}</text>",
        y - 4.0,
        escape(state)
    );
}

fn draw_arrow(svg: &mut String, layout: &Layout, arrow: &Arrow, top: f64) {
    let lines = label_lines(arrow);
    let y1 = top + lines.len() as f64 * LINE + 4.0;
    let y2 = y1 + SLOPE;
    let (x1, x2) = if arrow.from_client {
        (layout.client_x, layout.server_x)
    } else {
        (layout.server_x, layout.client_x)
    };
    let class = match (arrow.from_client, arrow.warning.is_some()) {
        (true, false) => "wn-arrow wn-c2s",
        (false, false) => "wn-arrow wn-s2c",
        (true, true) => "wn-arrow wn-c2s wn-flagged",
        (false, true) => "wn-arrow wn-s2c wn-flagged",
    };
    let _ = writeln!(svg, "<g class=\"{class}\" data-frame=\"{}\">", arrow.frame);
    let _ = writeln!(
        svg,
        "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\"/>{}",
        arrowhead(x1, y1, x2, y2)
    );
    let middle = (layout.client_x + layout.server_x) / 2.0;
    for (i, line) in lines.iter().enumerate() {
        let class = if Some(*line) == arrow.warning.as_deref() {
            " class=\"wn-warning\""
        } else {
            ""
        };
        let _ = writeln!(
            svg,
            "<text{class} x=\"{middle:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            top + (i + 1) as f64 * LINE - 2.0,
            escape(line)
        );
    }
    let _ = writeln!(
        svg,
        "<text class=\"wn-small\" x=\"{MARGIN}\" y=\"{:.1}\">{}</text>",
        y2 + 4.0,
        escape(&frame_label(arrow))
    );
    for side in 0..2 {
        if let Some(state) = &arrow.marks[side] {
            let sender = (side == 0) == arrow.from_client;
            state_mark(svg, layout, side, state, if sender { y1 } else { y2 } + 8.0);
        }
    }
    if let Some(step) = &arrow.step {
        let _ = writeln!(
            svg,
            "<text class=\"wn-step\" x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            layout.bracket_x + 8.0,
            (y1 + y2) / 2.0 + 4.0,
            escape(step)
        );
    }
    svg.push_str("</g>\n");
}

/// The arrowhead at (x2, y2), pointing along the arrow (a polygon: no marker, so no
/// `url(#…)` reference).
fn arrowhead(x1: f64, y1: f64, x2: f64, y2: f64) -> String {
    let (dx, dy) = (x2 - x1, y2 - y1);
    let length = (dx * dx + dy * dy).sqrt().max(1.0);
    let (ux, uy) = (dx / length, dy / length);
    let (bx, by) = (x2 - 9.0 * ux, y2 - 9.0 * uy);
    format!(
        "<polygon points=\"{x2:.1},{y2:.1} {:.1},{:.1} {:.1},{:.1}\"/>",
        bx - 4.0 * uy,
        by + 4.0 * ux,
        bx + 4.0 * uy,
        by - 4.0 * ux
    )
}

/// A compressed gap or the limit's notice, centred between the lifelines.
fn notice(svg: &mut String, layout: &Layout, label: &str, top: f64, class: &str) {
    let _ = writeln!(
        svg,
        "<g class=\"{class}\"><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
        (layout.client_x + layout.server_x) / 2.0,
        top + BREAK / 2.0 + 4.0,
        escape(label)
    );
}

fn brackets(svg: &mut String, model: &Model, layout: &Layout) {
    let x = layout.bracket_x;
    for bracket in &model.brackets {
        let (Some(&(first_top, _)), Some(&(last_top, last_h))) = (
            layout.rows.get(bracket.first),
            layout.rows.get(bracket.last),
        ) else {
            continue;
        };
        let (from, to) = (first_top + 10.0, last_top + last_h - 6.0);
        let _ = writeln!(
            svg,
            "<g class=\"wn-brackets\"><path class=\"wn-bracket\" d=\"M {:.1} {from:.1} H {x:.1} V {to:.1} H {:.1}\"/>\
             <text class=\"wn-bracket-label\" x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            x - 6.0,
            x - 6.0,
            x + 8.0,
            from + 4.0,
            escape(&bracket.label)
        );
    }
}

fn footer(svg: &mut String, layout: &Layout) {
    for (i, line) in layout.footer.iter().enumerate() {
        let _ = writeln!(
            svg,
            "<text class=\"wn-footer\" x=\"{MARGIN}\" y=\"{:.1}\">{}</text>",
            layout.footer_top + i as f64 * LINE,
            escape(line)
        );
    }
}
