//! `wirenote explain`: a connection's story, one line per packet, in the words of the lab
//! report. All wording lives in `explain.tsv` (one column per language), so a translation
//! is a data change, not a code change.

use std::collections::HashMap;
use std::io::{self, Write};

use wirenote_core::conn::lifecycle::TcpState;
use wirenote_core::record::{ConnRecord, PacketRecord};
use wirenote_core::wire::tcp;

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
    let client_word = words.say("side.client", &[]);
    let server_word = words.say("side.server", &[]);
    if let Some(conn) = conn {
        let stream = conn.stream.to_string();
        let (client, server) = (conn.client.to_string(), conn.server.to_string());
        writeln!(
            out,
            "{}",
            words.say(
                "header",
                &[
                    ("stream", &stream),
                    ("client", &client),
                    ("server", &server)
                ]
            )
        )?;
    }
    let first_time = packets.first().and_then(|p| p.time);
    let mut previous = (TcpState::Closed, TcpState::Listen);
    for (i, packet) in packets.iter().enumerate() {
        let Some(t) = packet.tcp.as_ref() else {
            continue;
        };
        let (from, to) = if t.from_client {
            (client_word.as_str(), server_word.as_str())
        } else {
            (server_word.as_str(), client_word.as_str())
        };
        let role = t.role.map(|r| r.as_str()).unwrap_or("data");
        let len = t.len.to_string();
        let ack = t.relative_ack.to_string();
        let mut line = words.say(
            &format!("role.{role}"),
            &[("from", from), ("to", to), ("len", &len), ("ack", &ack)],
        );
        let (client_state, server_state) = (
            t.client_state.unwrap_or(TcpState::Closed),
            t.server_state.unwrap_or(TcpState::Closed),
        );
        if i == 0 && role == "midstream" {
            previous = (client_state, server_state);
        }
        for (side_word, before, after) in [
            (&client_word, previous.0, client_state),
            (&server_word, previous.1, server_state),
        ] {
            if before != after {
                line.push_str("; ");
                line.push_str(
                    &words.say("enters", &[("side", side_word), ("state", after.as_str())]),
                );
            }
        }
        previous = (client_state, server_state);
        if packet.protocol == "HTTP" {
            line.push_str(". ");
            line.push_str(&words.say("http", &[("info", packet.info.trim_end())]));
        }
        let analysis = t.analysis.names();
        if !analysis.is_empty() {
            line.push_str(". ");
            line.push_str(&words.say("analysis", &[("analysis", &analysis)]));
        }
        let elapsed = match (packet.time, first_time) {
            (Some(now), Some(start)) => format!("{:>10.6}", now.seconds_since(start)),
            _ => format!("{:>10}", ""),
        };
        let states = words.say(
            "states",
            &[
                ("client", client_state.as_str()),
                ("server", server_state.as_str()),
            ],
        );
        writeln!(
            out,
            "#{:<6} {elapsed}  [{}] seq={} ack={} len={}  {role}: {line}  | {states}",
            packet.frame,
            tcp::flag_names(tcp::TcpFlags::from_bits(t.flags)),
            t.relative_seq,
            t.relative_ack,
            t.len,
        )?;
    }
    if let Some(conn) = conn {
        writeln!(
            out,
            "{}",
            words.say(
                "summary",
                &[
                    ("conn_state", conn.conn_state.as_str()),
                    ("closed_by", conn.closed_by),
                    ("client_final", conn.client_final.as_str()),
                    ("server_final", conn.server_final.as_str()),
                ],
            )
        )?;
    }
    Ok(())
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
