//! `wirenote explain`: a connection's story, one line per packet, in the words of the lab
//! report. All wording lives in `explain.tsv` (one column per language), so a translation
//! is a data change, not a code change.

use std::collections::HashMap;
use std::io::{self, Write};

use wirenote_core::conn::lifecycle::TcpState;
use wirenote_core::record::{ConnRecord, PacketRecord, TcpRecord};
use wirenote_core::wire::tcp;
use wirenote_core::Timestamp;

const WORDING: &str = include_str!("explain.tsv");

/// Languages of the wording table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// English.
    En,
    /// Simplified Chinese (the lab's language).
    Zh,
}

impl Language {
    fn column(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Zh => "zh",
        }
    }
}

/// The wording table for one language.
struct Wording {
    phrases: HashMap<&'static str, &'static str>,
}

impl Wording {
    fn load(lang: Language) -> Wording {
        let mut lines = WORDING.lines();
        let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
        let column = header.iter().position(|h| *h == lang.column()).unwrap_or(1);
        let phrases = lines
            .filter_map(|line| {
                let cells: Vec<&'static str> = line.split('\t').collect();
                Some((*cells.first()?, *cells.get(column).or(cells.get(1))?))
            })
            .collect();
        Wording { phrases }
    }

    /// The phrase for `key` with `{name}` placeholders filled in.
    fn say(&self, key: &str, values: &[(&str, &str)]) -> String {
        let mut text = self.phrases.get(key).copied().unwrap_or(key).to_string();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

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
    let mut story = Story {
        client: words.say("side.client", &[]),
        server: words.say("side.server", &[]),
        words,
        first_time: packets.first().and_then(|p| p.time),
        previous: (TcpState::Closed, TcpState::Listen),
    };
    for (i, packet) in packets.iter().enumerate() {
        if let Some(line) = story.line(i, packet) {
            writeln!(out, "{line}")?;
        }
    }
    if let Some(conn) = conn {
        writeln!(out, "{}", summary(&story.words, conn))?;
    }
    Ok(())
}

/// The line that opens a story: which stream, who is client and server.
fn header(words: &Wording, conn: &ConnRecord) -> String {
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

/// The line that closes a story: how the connection ended.
fn summary(words: &Wording, conn: &ConnRecord) -> String {
    words.say(
        "summary",
        &[
            ("conn_state", conn.conn_state.as_str()),
            ("closed_by", conn.closed_by),
            ("client_final", conn.client_final.as_str()),
            ("server_final", conn.server_final.as_str()),
        ],
    )
}

/// The story so far: the words, and the states the last packet left both ends in (a
/// line tells only the changes).
struct Story {
    words: Wording,
    client: String,
    server: String,
    first_time: Option<Timestamp>,
    previous: (TcpState, TcpState),
}

impl Story {
    /// The line for the `i`-th packet of the stream (`None` for a frame without TCP).
    fn line(&mut self, i: usize, packet: &PacketRecord) -> Option<String> {
        let t = packet.tcp.as_ref()?;
        let role = t.role.map(|r| r.as_str()).unwrap_or("data");
        let states = (
            t.client_state.unwrap_or(TcpState::Closed),
            t.server_state.unwrap_or(TcpState::Closed),
        );
        if i == 0 && role == "midstream" {
            self.previous = states;
        }
        let line = self.sentence(packet, t, role, states);
        self.previous = states;
        let elapsed = match (packet.time, self.first_time) {
            (Some(now), Some(start)) => format!("{:>10.6}", now.seconds_since(start)),
            _ => format!("{:>10}", ""),
        };
        let states = self.words.say(
            "states",
            &[("client", states.0.as_str()), ("server", states.1.as_str())],
        );
        Some(format!(
            "#{:<6} {elapsed}  [{}] seq={} ack={} len={}  {role}: {line}  | {states}",
            packet.frame,
            tcp::flag_names(tcp::TcpFlags::from_bits(t.flags)),
            t.relative_seq,
            t.relative_ack,
            t.len,
        ))
    }

    /// What the packet does, in words: its role, the states it changes, its HTTP message
    /// and its analysis flags.
    fn sentence(
        &self,
        packet: &PacketRecord,
        t: &TcpRecord,
        role: &str,
        states: (TcpState, TcpState),
    ) -> String {
        let words = &self.words;
        let (from, to) = if t.from_client {
            (self.client.as_str(), self.server.as_str())
        } else {
            (self.server.as_str(), self.client.as_str())
        };
        let len = t.len.to_string();
        let ack = t.relative_ack.to_string();
        let mut line = words.say(
            &format!("role.{role}"),
            &[("from", from), ("to", to), ("len", &len), ("ack", &ack)],
        );
        for (side_word, before, after) in [
            (&self.client, self.previous.0, states.0),
            (&self.server, self.previous.1, states.1),
        ] {
            if before != after {
                line.push_str("; ");
                line.push_str(
                    &words.say("enters", &[("side", side_word), ("state", after.as_str())]),
                );
            }
        }
        if packet.protocol == "HTTP" {
            line.push_str(". ");
            line.push_str(&words.say("http", &[("info", packet.info.trim_end())]));
        }
        let analysis = t.analysis.names();
        if !analysis.is_empty() {
            line.push_str(". ");
            line.push_str(&words.say("analysis", &[("analysis", &analysis)]));
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key() {
        let mut lines = WORDING.lines();
        let columns = lines.next().unwrap().split('\t').count();
        for line in lines {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells.len(), columns, "row {line:?}");
            assert!(cells.iter().all(|c| !c.is_empty()), "row {line:?}");
        }
        let zh = Wording::load(Language::Zh);
        assert_eq!(
            zh.say("enters", &[("side", "客户端"), ("state", "TIME_WAIT")]),
            "客户端进入 TIME_WAIT 状态"
        );
    }
}
