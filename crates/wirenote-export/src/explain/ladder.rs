//! The ladder (sequence) diagram as a model, before any drawing: one row per packet (an
//! arrow between the client's and the server's lifelines) or per compressed idle gap,
//! the states each side enters, the handshake and teardown brackets with their numbered
//! steps, and the lines under the diagram. `svg` lays it out and draws it.

use wirenote_core::record::{ConnRecord, HttpRecord, Kind, PacketRecord};
use wirenote_core::Timestamp;

use super::facts::{self, Caching, Facts, Step};
use super::summary;
use super::text;
use super::wording::Wording;

/// Most arrows one diagram draws; past it the diagram (and `explain` on stderr) says how
/// many packets it left out, and shows the first ones.
pub const MAX_ARROWS: usize = 500;

/// Idle time between two packets past which the gap is drawn as a fixed-height break
/// labelled with its length, not to scale.
pub const GAP_SECONDS: f64 = 1.0;

/// The diagram's content.
pub(crate) struct Model {
    /// The line above the diagram.
    pub(crate) title: String,
    /// The lifelines' heads (client, server): role and address.
    pub(crate) heads: [String; 2],
    /// The states the two sides start in (client, server).
    pub(crate) initial: [String; 2],
    /// Arrows and breaks, top to bottom.
    pub(crate) rows: Vec<Row>,
    /// The handshake and the teardown: which rows they span.
    pub(crate) brackets: Vec<Bracket>,
    /// The lines under the diagram (the connection record in words).
    pub(crate) footer: Vec<String>,
    /// Packets of the stream the diagram leaves out (past [`MAX_ARROWS`]).
    pub(crate) omitted: usize,
}

/// One row of the diagram.
pub(crate) enum Row {
    /// A packet.
    Arrow(Arrow),
    /// An idle gap, compressed (its label says how long).
    Gap(String),
    /// The packets left out past the limit.
    Limit(String),
}

/// A packet as an arrow.
pub(crate) struct Arrow {
    /// `frame.number`.
    pub(crate) frame: u64,
    /// Seconds since the connection's first packet.
    pub(crate) time: String,
    /// Which way it goes.
    pub(crate) from_client: bool,
    /// Flags and relative numbers: `[SYN] seq=0 ack=0 len=0`.
    pub(crate) segment: String,
    /// The HTTP messages it completes: `GET /`, `304 revalidated`.
    pub(crate) messages: Vec<String>,
    /// Its analysis flags in words, if any (drawn as a warning).
    pub(crate) warning: Option<String>,
    /// The state each side enters with it (client, server).
    pub(crate) marks: [Option<String>; 2],
    /// Its handshake or teardown step in words.
    pub(crate) step: Option<String>,
}

/// Rows `first..=last` form the handshake or the teardown.
pub(crate) struct Bracket {
    pub(crate) first: usize,
    pub(crate) last: usize,
    pub(crate) label: String,
}

/// Which bracket a step belongs to.
fn bracket_of(step: Step) -> usize {
    match step {
        Step::Handshake(_) => 0,
        Step::Teardown(_) | Step::TeardownCombined => 1,
    }
}

impl Model {
    /// The model of one connection's diagram (`packets`: all of one stream, in order).
    pub(crate) fn build(
        words: &Wording,
        packets: &[PacketRecord],
        conn: Option<&ConnRecord>,
    ) -> Model {
        let tcp_packets: Vec<&PacketRecord> = packets.iter().filter(|p| p.tcp.is_some()).collect();
        let (client, server) = endpoints(conn, &tcp_packets);
        let side = |key: &str, address: &str| format!("{} {address}", words.word(key));
        let mut model = Model {
            title: words.say(
                "ladder.title",
                &[
                    ("stream", &stream_of(conn, &tcp_packets)),
                    ("client", &client),
                    ("server", &server),
                ],
            ),
            heads: [side("side.client", &client), side("side.server", &server)],
            initial: [String::new(), String::new()],
            rows: Vec::new(),
            brackets: Vec::new(),
            footer: conn.map(|c| summary::lines(words, c)).unwrap_or_default(),
            omitted: total_packets(conn, tcp_packets.len()).saturating_sub(MAX_ARROWS),
        };
        let mut facts = Facts::default();
        let mut spans: [Option<(usize, usize, bool)>; 2] = [None, None];
        let start = tcp_packets.first().and_then(|p| p.time);
        let mut previous: Option<Timestamp> = None;
        for packet in tcp_packets.iter().take(MAX_ARROWS) {
            let Some(t) = packet.tcp.as_ref() else {
                continue;
            };
            let f = facts.next(packet.frame, t, &packet.http);
            if model.rows.is_empty() {
                model.initial = [f.before.0, f.before.1].map(|s| s.as_str().to_string());
            }
            if let (Some(now), Some(then)) = (packet.time, previous) {
                let idle = now.seconds_since(then);
                if idle > GAP_SECONDS {
                    model.rows.push(Row::Gap(
                        words.say("gap", &[("seconds", &format!("{idle:.1}"))]),
                    ));
                }
            }
            previous = packet.time.or(previous);
            if let Some(step) = f.step {
                let span = &mut spans[bracket_of(step)];
                let row = model.rows.len();
                let combined = step == Step::TeardownCombined;
                *span = Some(match *span {
                    None => (row, row, combined),
                    Some((first, _, was)) => (first, row, was || combined),
                });
            }
            let analysis = facts::analysis(words, t);
            model.rows.push(Row::Arrow(Arrow {
                frame: packet.frame,
                time: match (packet.time, start) {
                    (Some(now), Some(start)) => format!("{:.6}", now.seconds_since(start)),
                    _ => String::new(),
                },
                from_client: t.from_client,
                segment: text::segment(words, t),
                messages: packet
                    .http
                    .iter()
                    .zip(&f.caching)
                    .map(|(m, caching)| message_label(words, m, *caching))
                    .collect(),
                warning: (!analysis.is_empty())
                    .then(|| words.say("label.analysis", &[("analysis", &words.list(&analysis))])),
                marks: f.entered.map(|s| s.map(|s| s.as_str().to_string())),
                step: f.step.map(|s| s.words(words)),
            }));
        }
        if model.omitted > 0 {
            let (more, limit) = (model.omitted.to_string(), MAX_ARROWS.to_string());
            model.rows.push(Row::Limit(
                words.say("limit", &[("more", &more), ("limit", &limit)]),
            ));
        }
        for (i, span) in spans.into_iter().enumerate() {
            if let Some((first, last, combined)) = span {
                let key = match (i, combined) {
                    (0, _) => "bracket.handshake",
                    (_, false) => "bracket.teardown",
                    (_, true) => "bracket.teardown-combined",
                };
                model.brackets.push(Bracket {
                    first,
                    last,
                    label: words.say(key, &[]),
                });
            }
        }
        model
    }
}

/// The stream's packets: those given, or the connection record's count when the caller
/// kept only the first [`MAX_ARROWS`] (as `report` does, to bound its memory).
fn total_packets(conn: Option<&ConnRecord>, given: usize) -> usize {
    match conn {
        Some(c) if given >= MAX_ARROWS => given.max((c.packets_c2s + c.packets_s2c) as usize),
        _ => given,
    }
}

/// Client and server addresses: from the connection record, else from the first packet.
fn endpoints(conn: Option<&ConnRecord>, packets: &[&PacketRecord]) -> (String, String) {
    if let Some(conn) = conn {
        return (conn.client.to_string(), conn.server.to_string());
    }
    let Some(first) = packets.first() else {
        return (String::new(), String::new());
    };
    let t = first.tcp.as_ref();
    let address = |ip: Option<std::net::IpAddr>, port: Option<u16>| match (ip, port) {
        (Some(std::net::IpAddr::V6(ip)), Some(port)) => format!("[{ip}]:{port}"),
        (Some(ip), Some(port)) => format!("{ip}:{port}"),
        _ => String::new(),
    };
    let source = address(first.src, t.map(|t| t.source_port));
    let destination = address(first.dst, t.map(|t| t.destination_port));
    if t.is_some_and(|t| t.from_client) {
        (source, destination)
    } else {
        (destination, source)
    }
}

fn stream_of(conn: Option<&ConnRecord>, packets: &[&PacketRecord]) -> String {
    conn.map(|c| c.stream)
        .or_else(|| {
            packets
                .first()
                .and_then(|p| p.tcp.as_ref())
                .map(|t| t.stream)
        })
        .map(|s| s.to_string())
        .unwrap_or_default()
}

/// An HTTP message's label on its arrow: `GET /`, `200 OK (text/html)`, a conditional
/// request with its validators, `304 revalidated`.
fn message_label(words: &Wording, m: &HttpRecord, caching: Caching) -> String {
    let label = facts::http_label(m);
    match (m.kind, caching) {
        (Kind::Request, Caching::Conditional(validators)) => words.say(
            "label.conditional",
            &[
                ("request", &label),
                (
                    "validators",
                    &validators
                        .map_or_else(|| words.say("http.validators-unknown", &[]), str::to_string),
                ),
            ],
        ),
        (Kind::Response, Caching::Revalidated(..)) => {
            let status = m.status.map(|s| s.to_string()).unwrap_or_default();
            words.say("label.revalidated", &[("status", &status)])
        }
        (Kind::Response, _) => match &m.content_type {
            Some(kind) => format!("{label}{}", words.say("paren", &[("text", kind)])),
            None => label,
        },
        (Kind::Request, _) => label,
    }
}
