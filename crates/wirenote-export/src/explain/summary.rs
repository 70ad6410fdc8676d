//! A connection record in words: Zeek's `conn_state` and `history` explained (the
//! phrases follow the conn.log documentation on docs.zeek.org), who closed it and the
//! final states. Whatever value the record carries is explained; the values themselves
//! are `conn::summary`'s.

use wirenote_core::record::ConnRecord;

use super::wording::Wording;

/// `SF` → "normal establishment and termination".
pub(crate) fn conn_state(words: &Wording, state: &str) -> String {
    let key = format!("conn_state.{state}");
    if words.has(&key) {
        words.say(&key, &[])
    } else {
        state.to_string()
    }
}

/// `ShADadFf` → one phrase per distinct letter, in order of first appearance (upper
/// case: the originator, our client; lower case: the responder, our server).
pub(crate) fn history(words: &Wording, history: &str) -> String {
    let mut seen: Vec<(char, usize)> = Vec::new();
    for letter in history.chars() {
        match seen.iter_mut().find(|(l, _)| *l == letter) {
            Some((_, count)) => *count += 1,
            None => seen.push((letter, 1)),
        }
    }
    let items: Vec<String> = seen
        .iter()
        .map(|&(letter, count)| {
            let item = history_letter(words, letter);
            if count > 1 {
                words.say(
                    "history.repeat",
                    &[("item", &item), ("count", &count.to_string())],
                )
            } else {
                item
            }
        })
        .collect();
    words.clauses(&items)
}

fn history_letter(words: &Wording, letter: char) -> String {
    let shown = letter.to_string();
    let key = format!("history.{}", letter.to_ascii_lowercase());
    if !words.has(&key) {
        return words.say("history.unknown", &[("letter", &shown)]);
    }
    let what = words.word(&key);
    if !letter.is_ascii_alphabetic() {
        return words.say("history.item-nocase", &[("letter", &shown), ("what", what)]);
    }
    let side = if letter.is_ascii_uppercase() {
        words.word("side.client")
    } else {
        words.word("side.server")
    };
    words.say(
        "history.item",
        &[("letter", &shown), ("what", what), ("side", side)],
    )
}

/// The lines that close a story: the state, the history, who closed and how it ended.
pub(crate) fn lines(words: &Wording, conn: &ConnRecord) -> Vec<String> {
    let state = conn.conn_state.as_str();
    let closed_key = format!("closed_by.{}", conn.closed_by);
    let closed_by = if words.has(&closed_key) {
        words.say(&closed_key, &[])
    } else {
        conn.closed_by.to_string()
    };
    vec![
        words.say(
            "summary.state",
            &[
                ("conn_state", state),
                ("meaning", &conn_state(words, state)),
            ],
        ),
        words.say(
            "summary.history",
            &[
                ("history", &conn.history),
                ("meaning", &history(words, &conn.history)),
            ],
        ),
        words.say(
            "summary.closed",
            &[
                ("closed_by", &closed_by),
                ("client_final", &words.state(conn.client_final)),
                ("server_final", &words.state(conn.server_final)),
            ],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::wording::Language;

    #[test]
    fn every_zeek_state_and_letter_is_explained_in_both_languages() {
        for lang in [Language::En, Language::Zh] {
            let words = Wording::load(lang);
            for state in [
                "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH",
                "SHR", "OTH",
            ] {
                assert_ne!(conn_state(&words, state), state, "{lang:?} {state}");
            }
            for letter in "shadfrcgtwiqx^".chars() {
                assert!(words.has(&format!("history.{letter}")), "{lang:?} {letter}");
            }
        }
    }

    #[test]
    fn history_letters_say_which_side() {
        let en = Wording::load(Language::En);
        assert_eq!(
            history(&en, "ShAaT^"),
            "S = a SYN without the ACK bit from the client; h = a SYN-ACK (handshake) from \
             the server; A = a pure ACK from the client; a = a pure ACK from the server; \
             T = a packet with retransmitted payload from the client; ^ = the connection's \
             direction was flipped by Zeek's heuristic"
        );
        let zh = Wording::load(Language::Zh);
        assert_eq!(
            history(&zh, "Ss"),
            "S = 客户端一方：不带 ACK 的 SYN；s = 服务器一方：不带 ACK 的 SYN"
        );
        assert_eq!(
            history(&en, "TT"),
            "T = a packet with retransmitted payload from the client (letter repeated 2 times)"
        );
    }
}
