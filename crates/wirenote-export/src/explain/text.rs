//! The story as text: one line per packet, then what the connection record says.

use std::io::{self, Write};

use wirenote_core::record::{ConnRecord, HttpRecord, Kind, PacketRecord, TcpRecord};
use wirenote_core::wire::tcp;
use wirenote_core::Timestamp;

use super::facts::{self, Caching, Facts, PacketFacts};
use super::summary;
use super::wording::{Language, Wording};

/// Writes the story of one connection: its packets (all of one stream, in order) and its
/// summary.
pub fn explain_stream(
    packets: &[PacketRecord],
    conn: Option<&ConnRecord>,
    lang: Language,
    out: &mut dyn Write,
) -> io::Result<()> {
    let words = Wording::load(lang);
    if let Some(conn) = conn {
        writeln!(out, "{}", header(&words, conn))?;
    }
    let first_time = packets.first().and_then(|p| p.time);
    let mut facts = Facts::default();
    for packet in packets {
        let Some(t) = packet.tcp.as_ref() else {
            continue;
        };
        let f = facts.next(packet.frame, t, &packet.http);
        writeln!(out, "{}", line(&words, packet, t, &f, first_time))?;
    }
    if let Some(conn) = conn {
        for line in summary::lines(&words, conn) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// The line that opens a story: which stream, who is client and server.
pub(crate) fn header(words: &Wording, conn: &ConnRecord) -> String {
    let stream = conn.stream.to_string();
    let (client, server) = (conn.client.to_string(), conn.server.to_string());
    words.say(
        "header",
        &[
            ("stream", &stream),
            ("client", &client),
            ("server", &server),
        ],
    )
}

/// The flags and relative numbers of a segment: `[SYN] seq=0 ack=0 len=0`.
pub(crate) fn segment(words: &Wording, t: &TcpRecord) -> String {
    let fields = words.say(
        "fields",
        &[
            ("seq", &t.relative_seq.to_string()),
            ("ack", &t.relative_ack.to_string()),
            ("len", &t.len.to_string()),
        ],
    );
    format!(
        "[{}] {fields}",
        tcp::flag_names(tcp::TcpFlags::from_bits(t.flags))
    )
}

fn line(
    words: &Wording,
    packet: &PacketRecord,
    t: &TcpRecord,
    f: &PacketFacts,
    first_time: Option<Timestamp>,
) -> String {
    let elapsed = match (packet.time, first_time) {
        (Some(now), Some(start)) => format!("{:>10.6}", now.seconds_since(start)),
        _ => format!("{:>10}", ""),
    };
    let states = words.say(
        "states",
        &[
            ("client", f.states.0.as_str()),
            ("server", f.states.1.as_str()),
        ],
    );
    let told = words.say(
        "labelled",
        &[
            ("label", words.word(&format!("rolename.{}", f.role))),
            ("text", &sentence(words, packet, t, f)),
        ],
    );
    format!(
        "#{:<6} {elapsed}  {}  {told}  | {states}",
        packet.frame,
        segment(words, t)
    )
}

/// What the packet does, in words: its step, the states it changes, its HTTP messages
/// and its analysis flags.
fn sentence(words: &Wording, packet: &PacketRecord, t: &TcpRecord, f: &PacketFacts) -> String {
    let (client, server) = (words.word("side.client"), words.word("side.server"));
    let (from, to) = if t.from_client {
        (client, server)
    } else {
        (server, client)
    };
    let mut first = words.say(
        &format!("role.{}", f.doing),
        &[
            ("from", from),
            ("to", to),
            ("len", &t.len.to_string()),
            ("ack", &t.relative_ack.to_string()),
        ],
    );
    if let Some(step) = f.step {
        first.push_str(&words.say("step.attach", &[("step", &step.words(words))]));
    }
    let mut clauses = vec![first];
    for (side, entered) in [(client, f.entered[0]), (server, f.entered[1])] {
        if let Some(state) = entered {
            clauses.push(words.say("enters", &[("side", side), ("state", &words.state(state))]));
        }
    }
    let mut sentences = vec![words.clauses(&clauses)];
    for (m, caching) in packet.http.iter().zip(&f.caching) {
        sentences.push(http(words, m, *caching));
    }
    let analysis = facts::analysis(words, t);
    if !analysis.is_empty() {
        sentences.push(words.say("analysis", &[("analysis", &words.list(&analysis))]));
    }
    sentences.join(words.word("sep.sentence"))
}

/// An HTTP message in words, with what it says about caching.
pub(crate) fn http(words: &Wording, m: &HttpRecord, caching: Caching) -> String {
    let mut info = facts::http_label(m);
    let key = match m.kind {
        Kind::Request => {
            info = format!("{info} {}", m.version);
            "http.request"
        }
        Kind::Response => {
            info = format!("{} {info}", m.version);
            if let Some(kind) = &m.content_type {
                info.push_str(&words.say("paren", &[("text", kind)]));
            }
            "http.response"
        }
    };
    let message = words.say(key, &[("info", &info)]);
    match caching_words(words, caching) {
        Some(caching) => words.clauses(&[message, caching]),
        None => message,
    }
}

/// The caching clause of a message, if it has one.
pub(crate) fn caching_words(words: &Wording, caching: Caching) -> Option<String> {
    let unknown = || words.say("http.validators-unknown", &[]);
    match caching {
        Caching::Plain => None,
        Caching::Conditional(validators) => Some(words.say(
            "http.conditional",
            &[(
                "validators",
                &validators.map_or_else(unknown, str::to_string),
            )],
        )),
        Caching::Revalidated(request, validators) => Some(words.say(
            "http.revalidated",
            &[
                (
                    "request",
                    &request.map_or_else(|| "?".into(), |r| r.to_string()),
                ),
                (
                    "validators",
                    &validators.map_or_else(unknown, str::to_string),
                ),
            ],
        )),
        Caching::NotModified => Some(words.say("http.not-modified", &[])),
    }
}
