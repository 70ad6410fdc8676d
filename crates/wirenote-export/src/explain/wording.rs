//! The wording table (`explain.tsv`): every phrase `explain` and `report` print, one row
//! per phrase and one column per language, so that a fact is worded in one place and a
//! translation is a data change, not a code change.

use std::collections::HashMap;

use wirenote_core::conn::lifecycle::TcpState;

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

    /// The `lang` attribute of an SVG or HTML document in this language.
    pub fn tag(self) -> &'static str {
        match self {
            Language::En => "en",
            Language::Zh => "zh-Hans",
        }
    }
}

/// The wording table for one language.
pub(crate) struct Wording {
    phrases: HashMap<&'static str, &'static str>,
}

impl Wording {
    pub(crate) fn load(lang: Language) -> Wording {
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

    /// The phrase for `key` with `{name}` placeholders filled in (the key itself when the
    /// table lacks it, which the tests below rule out for every key the code uses).
    pub(crate) fn say(&self, key: &str, values: &[(&str, &str)]) -> String {
        let mut text = self.phrases.get(key).copied().unwrap_or(key).to_string();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// A phrase without placeholders.
    pub(crate) fn word(&self, key: &str) -> &'static str {
        self.phrases.get(key).copied().unwrap_or("")
    }

    /// Whether the table has a phrase for `key`.
    pub(crate) fn has(&self, key: &str) -> bool {
        self.phrases.contains_key(key)
    }

    /// A TCP state in words (`ESTABLISHED（连接已建立）` in Chinese).
    pub(crate) fn state(&self, state: TcpState) -> String {
        self.say(&format!("state.{}", state.as_str()), &[])
    }

    /// `parts` joined with the language's clause separator (`; ` or `；`).
    pub(crate) fn clauses<S: AsRef<str>>(&self, parts: &[S]) -> String {
        join(parts, self.word("sep.clause"))
    }

    /// `parts` joined with the language's list separator (`, ` or `、`).
    pub(crate) fn list<S: AsRef<str>>(&self, parts: &[S]) -> String {
        join(parts, self.word("sep.list"))
    }
}

fn join<S: AsRef<str>>(parts: &[S], separator: &str) -> String {
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.push_str(separator);
        }
        out.push_str(part.as_ref());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key() {
        let mut lines = WORDING.lines();
        let columns = lines.next().unwrap().split('\t').count();
        let mut keys = std::collections::HashSet::new();
        for line in lines {
            let cells: Vec<&str> = line.split('\t').collect();
            assert_eq!(cells.len(), columns, "row {line:?}");
            assert!(cells.iter().all(|c| !c.is_empty()), "row {line:?}");
            assert!(keys.insert(cells[0]), "key {:?} twice", cells[0]);
        }
        let zh = Wording::load(Language::Zh);
        assert_eq!(
            zh.say(
                "enters",
                &[("side", "客户端"), ("state", &zh.state(TcpState::TimeWait))]
            ),
            "客户端进入 TIME_WAIT（时间等待）状态"
        );
    }

    #[test]
    fn english_has_no_chinese_and_chinese_no_ascii_separators() {
        let (en, zh) = (Wording::load(Language::En), Wording::load(Language::Zh));
        for (key, phrase) in &en.phrases {
            assert!(
                phrase.chars().all(|c| (c as u32) < 0x2E80),
                "en {key}: {phrase}"
            );
        }
        for (key, phrase) in &zh.phrases {
            if key.starts_with("sep.") || *key == "paren" || *key == "labelled" {
                assert!(!phrase.is_ascii(), "zh {key}: {phrase:?}");
            }
            let mut words = phrase.to_string();
            for placeholder in ["{client}", "{server}", "{client_final}", "{server_final}"] {
                words = words.replace(placeholder, "");
            }
            for english in ["client", "server", "; ", ". "] {
                assert!(!words.contains(english), "zh {key}: {phrase}");
            }
        }
    }
}
